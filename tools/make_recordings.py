"""``make recordings``: run every scenario in scenarios/ and save recordings/<name>.wfpr.

The committed recordings are replayed with ``replay --check`` by
``tests/test_recordings_check.py``, so they pin the engine's behaviour: **regenerate them
(``make recordings``) whenever trace semantics change on purpose** (a new field in a
classification, a different layer order, a new stack event ...), and review the diff
(``wfptui diff old.wfpr new.wfpr``) before committing. A change of the recording *format*
needs no regeneration (old formats load through the migration ladder), but regenerating
keeps the samples current.

What is run: every ``scenarios/*.toml`` that is a scenario (policy-only files, such as
``scenarios/policies/*``, are skipped). ``scenarios/win11/`` (the real Windows 11 policy of
990 filters; seconds per scenario) is included only with ``--all``. Files are written
atomically and reproducibly (a fixed ``created`` time), so an unchanged engine rewrites
identical bytes.

Also made: one recording per capture in ``CAPTURES`` (``wfptui import CAPTURE -o
recordings/capture-<name>.wfpr [--policy P]``: the capture's events as ``observe`` steps).

Usage: ``python tools/make_recordings.py [--all] [--out recordings] [SCENARIO.toml ...]``
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from collections.abc import Callable
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: Committed samples carry this creation time so regenerating them is reproducible.
CREATED = "2026-01-01T00:00:00Z"


def is_scenario(path: Path) -> bool:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    return "host" in doc


def scenario_files(root: Path, include_win11: bool) -> list[Path]:
    files = sorted(p for p in root.glob("*.toml") if is_scenario(p))
    if include_win11:
        files += sorted(p for p in (root / "win11").glob("*.toml") if is_scenario(p))
    return files


#: Captures made into sample recordings: (capture, policy or None = the capture's own filters).
CAPTURES: tuple[tuple[str, str | None], ...] = (
    ("tests/data/evidence/netevents-case-7-8.xml", "tests/data/evidence/filters-case-7-8.xml"),
)


def make_capture_recording(capture: Path, policy: Path | None, out_dir: Path) -> tuple[Path, int, int, int]:
    """Import one capture as ``wfptui import`` does and save it (same return as make_recording)."""
    from wfptui.commands.lint import load as load_policy_any
    from wfptui.io.evidence.recording import DEFAULT_HOST, record_capture
    from wfptui.io.recording import write_recording

    pol = load_policy_any(str(policy)) if policy is not None else None
    run = record_capture(str(capture), pol, policy_name=None if policy is None else policy.name)
    out = out_dir / f"capture-{capture.stem}.wfpr"
    write_recording(out, scenario=run.scenario, policies={DEFAULT_HOST: run.policy}, inputs=run.result.inputs,
                    records=run.result.records, created=CREATED)
    n_classify = sum(1 for r in run.result.records if r.kind == "classify")
    return out, len(run.result.records), n_classify, out.stat().st_size


def make_recording(path: Path, out_dir: Path) -> tuple[Path, int, int, int]:
    """Run one scenario and save it; returns (file, records, classification records, bytes)."""
    from wfptui.core.engine import run_scenario
    from wfptui.io.recording import write_recording
    from wfptui.io.scenario_file import load_scenario

    scenario = load_scenario(path)
    result = run_scenario(scenario)
    name = path.stem if path.parent.name != "win11" else f"win11-{path.stem}"
    out = out_dir / f"{name}.wfpr"
    write_recording(out, scenario=scenario, policies={h.name: h.policy for h in scenario.hosts},
                    inputs=result.inputs, records=result.records, created=CREATED)
    n_classify = sum(1 for r in result.records if r.kind == "classify")
    return out, len(result.records), n_classify, out.stat().st_size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", type=Path, help="scenario files (default: scenarios/*.toml)")
    parser.add_argument("--all", action="store_true", help="include scenarios/win11/ (slow)")
    parser.add_argument("--out", type=Path, default=ROOT / "recordings", help="output folder (default recordings/)")
    args = parser.parse_args(argv)
    files = args.scenarios or scenario_files(ROOT / "scenarios", args.all)
    args.out.mkdir(parents=True, exist_ok=True)
    total_bytes = total_classify = 0
    jobs: list[Callable[[], tuple[Path, int, int, int]]] = [partial(make_recording, path, args.out) for path in files]
    if not args.scenarios:
        jobs += [partial(make_capture_recording, ROOT / c, None if p is None else ROOT / p, args.out)
                 for c, p in CAPTURES]
    for job in jobs:
        out, n, ncl, size = job()
        total_bytes += size
        total_classify += ncl
        print(f"{out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}: {n} records "
              f"({ncl} classifications), {size} bytes")
    if total_classify:
        print(f"{len(jobs)} recordings, {total_bytes / total_classify:.1f} bytes per classification record "
              "(whole files, headers included)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
