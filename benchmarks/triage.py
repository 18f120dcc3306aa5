"""Triage speed (issue 11): a generated capture against the 990-filter Windows 11 policy.

    python benchmarks/triage.py [--events 100000] [--kind wfpdiag|netevents] [--rounds 3]

Measures, on one capture made by ``tools/gen_capture.py`` (half the events distinct
connections), in interleaved rounds on the same machine:

* ``expat``: a pure expat pass over the file with empty Python handlers (the floor);
* ``triage``: ``wfptui triage FILE --format json`` end to end, cold, in a subprocess, with its
  peak resident memory;
* ``classify``: the classification part alone (``core.triage.judge`` of every event already
  read: simulated verdict, observed filter, comparison; CPU time), in events per second, and
  with the grouping into cases (``core.cases.triage``) for reference.

Targets: triage ≤ 3× expat; peak ≤ 500 MiB; classify ≥ 100,000 events/s. Results go in
benchmarks/README.md ("triage"). The machine is shared: best and median of the rounds.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import xml.parsers.expat
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def expat_pass(path: Path) -> float:
    t = time.perf_counter()
    p = xml.parsers.expat.ParserCreate()
    p.StartElementHandler = lambda name, attrs: None
    p.EndElementHandler = lambda name: None
    p.CharacterDataHandler = lambda data: None
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            p.Parse(chunk, False)
    p.Parse(b"", True)
    return time.perf_counter() - t


def triage_cli(path: Path, policy: Path | None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one cold ``wfptui triage`` run."""
    args = [sys.executable, "-m", "wfptui", "triage", str(path), "--format", "json"]
    if policy is not None:
        args += ["--policy", str(policy)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    r = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT, check=False)
    dt = time.perf_counter() - t
    if r.returncode not in (0, 1):
        raise SystemExit(f"triage failed ({r.returncode}): {r.stderr.decode()[-500:]}")
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    return dt, peak


def classify_rate(path: Path) -> tuple[float, float]:
    """(events/s of the classification alone, events/s of classification + grouping into cases).

    Classification = ``core.triage.judge`` of every event: the simulated verdict at its layer
    (both worlds of the unknown-field rule), the observed filter resolved, the comparison.
    Grouping = ``core.cases.triage`` (judging and grouping), for reference. The policy is
    compiled before the clock starts; the cyclic GC is off, as in the command."""
    import gc

    sys.path.insert(0, str(ROOT))
    from wfptui.core.cases import triage
    from wfptui.core.triage import Simulator, event_layer, judge
    from wfptui.io.evidence import read_evidence

    ev = read_evidence(path, progress=False)
    assert ev.policy is not None
    gc.disable()
    try:
        rates = []
        for whole in (False, True):
            sim = Simulator(ev.policy.policy)
            for layer in {event_layer(o) for o in ev.observations} - {None}:
                sim.compiled.layer(layer).mask_tables()
            t = time.process_time()
            if whole:
                triage(ev.observations, sim)
            else:
                for o in ev.observations:
                    judge(o, sim)
            rates.append(len(ev.observations) / (time.process_time() - t))
    finally:
        gc.enable()
    return rates[0], rates[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--kind", choices=("wfpdiag", "netevents"), default="wfpdiag")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cap = Path(tmp) / f"capture.{args.kind}.xml"
        subprocess.run([sys.executable, str(ROOT / "tools" / "gen_capture.py"), "--events", str(args.events),
                        "--out", str(cap), "--kind", args.kind, "--seed", "1"], check=True, cwd=ROOT)
        policy = None if args.kind == "wfpdiag" else ROOT / "tests" / "data" / "wfp" / "filters-win11.xml"
        size = cap.stat().st_size / 2**20
        floors, runs, peaks, rates, grouped = [], [], [], [], []
        for _ in range(args.rounds):
            floors.append(expat_pass(cap))
            dt, peak = triage_cli(cap, policy)
            runs.append(dt)
            peaks.append(peak)
            alone, with_cases = classify_rate(cap)
            rates.append(alone)
            grouped.append(with_cases)
        ratio = [r / f for r, f in zip(runs, floors, strict=True)]
        print(f"capture: {args.events} events, {size:.0f} MiB ({args.kind}); rounds: {args.rounds}")
        print("| measure | best | median | target |\n|---|---|---|---|")
        print(f"| expat pass, empty handlers | {min(floors):.2f} s | {statistics.median(floors):.2f} s | |")
        print(f"| `wfptui triage --format json` | {min(runs):.2f} s | {statistics.median(runs):.2f} s | |")
        print(f"| triage / expat | {min(ratio):.2f}x | {statistics.median(ratio):.2f}x | <= 3x |")
        print(f"| peak memory | {min(peaks):.0f} MiB | {statistics.median(peaks):.0f} MiB | <= 500 MiB |")
        print(f"| classification | {max(rates):,.0f} ev/s | {statistics.median(rates):,.0f} ev/s | >= 100,000 ev/s |")
        print(f"| classification + grouping into cases | {max(grouped):,.0f} ev/s | "
              f"{statistics.median(grouped):,.0f} ev/s | |")


if __name__ == "__main__":
    main()
