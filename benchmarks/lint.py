"""``wfptui lint`` speed on the real Windows 11 policy (issue 12 item 7: under 2 s end to end).

Run from the repository root::

    python benchmarks/lint.py          # 7 runs each
    python benchmarks/lint.py --runs 3

* **end to end**: ``python -m wfptui lint POLICY --format json`` as a subprocess (interpreter
  start, import, load, lint, JSON out), for ``scenarios/win11/win11-policy.toml`` (990
  filters) and, the two netsh XML dumps (tests/data/wfp) it came from.
* **lint only**: ``core.lint.lint`` on the loaded policy, in process.

Best and median of the runs (the machine is shared). Results are printed as the Markdown
rows of the ``## lint`` section of ``benchmarks/README.md`` (copy them there by hand).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT / "tests" / "data" / "wfp"
INPUTS = [ROOT / "scenarios" / "win11" / "win11-policy.toml", DATA / "filters-win11.xml", DATA / "wfpstate-win11.xml"]


def end_to_end(path: Path, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "wfptui", "lint", str(path), "--format", "json"],
                           capture_output=True, cwd=ROOT, check=False)
        out.append(time.perf_counter() - t)
        if r.returncode not in (0, 1):
            raise SystemExit(f"lint {path} failed: {r.stderr.decode(errors='replace')}")
    return out


def lint_only(path: Path, runs: int) -> tuple[list[float], int, int]:
    from wfptui.commands.lint import load
    from wfptui.core.lint import lint

    policy = load(str(path))
    out = []
    n = 0
    for _ in range(runs):
        t = time.perf_counter()
        n = len(lint(policy))
        out.append(time.perf_counter() - t)
    return out, len(policy.filters), n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    print("| policy | filters | findings | wfptui lint s | lint only ms |")
    print("|---|---:|---:|---:|---:|")
    for path in INPUTS:
        if not path.exists():
            continue
        e2e = end_to_end(path, args.runs)
        core, filters, findings = lint_only(path, args.runs)
        print(f"| {path.name} | {filters:,} | {findings} | {min(e2e):.3f} ({statistics.median(e2e):.3f}) "
              f"| {1000 * min(core):.0f} ({1000 * statistics.median(core):.0f}) |")


if __name__ == "__main__":
    main()
