"""The real commands, end to end, as a user runs them (benchmarks/README.md, "## cli").

Workloads: N connections x M sends (one 100-byte data segment each) from a client to a
server whose policy has the 1,000 filters of ``benchmarks/replay.py`` (its generator: over
the layers the traffic crosses, the blocks matching nothing), written as a scenario file and
a policy file; the recording is made once with ``wfptui run --record`` (not timed). Timed,
each as a subprocess (``python -m wfptui``, process start and imports included), stdout to a
file:

* ``run SCENARIO --format jsonl`` — load the scenario file, run, write every record;
* ``replay REC --check`` — read the recording, run its inputs again, compare the traces.

Reported per command: classifications per second of wall time and of CPU time (user + sys of
the child, from ``os.wait4``: the machine is shared, CPU time is the steadier figure), peak
memory (``ru_maxrss``), and the ratio to the engine's in-process rate on the same recording
(``run_scenario`` of the recording's inputs in this process, CPU time, best of at least three):
how much of the command is the engine. Beside it, the ratio to the engine with the collector
off, as the commands run it (``io.heap.long_lived``; ~0.2 s faster at 1M): the stricter
figure. Targets (issue 14): ``replay --check`` >= 200k/s at 100k with process start, >= 50 %
of the in-process rate at 1M; ``run --format jsonl`` >= 100k/s at 100k, >= 50 % at 1M; a 1M
replay within 500 MiB peak.

Usage: ``python benchmarks/cli.py [--sizes 10k,100k,1M] [--sends 40] [--repeat 3] [--keep DIR]
[--only run,check]`` (each command ``--repeat`` times, the best reported; ``--only check``
times ``replay --check`` alone).
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from replay import PORTS, policy_text  # noqa: E402

#: Classifications per connection with M sends, roughly (the handshake, then ~6.3 per segment).
_SIZES = {"10k": 40, "100k": 400, "1M": 4000}


def scenario_text(connections: int, sends: int) -> str:
    """N connections x M sends: listeners on the 10 ports, the connects, then the sends in
    rounds (every connection sends once per round)."""
    out = ['name = "cli benchmark"',
           '[[host]]\nname = "client"\naddress = ["10.0.0.1"]\napp = [ { name = "app", path = \'C:\\app.exe\' } ]',
           '[[host]]\nname = "server"\naddress = ["10.0.0.2"]\npolicy = "policy.toml"\n'
           "app = [ { name = \"srv\", path = 'C:\\srv.exe' } ]"]
    for i, port in enumerate(PORTS):
        out.append(f'[[step]]\nhost = "server"\ndo = "listen"\napp = "srv"\nport = {port}\nsocket = "l{i}"')
    for c in range(connections):
        out.append(f'[[step]]\nhost = "client"\ndo = "connect"\napp = "app"\n'
                   f'to = "10.0.0.2:{PORTS[c % len(PORTS)]}"\nsocket = "c{c}"')
    for _ in range(sends):
        for c in range(connections):
            out.append(f'[[step]]\ndo = "send"\nsocket = "c{c}"\nbytes = 100')
    return "\n".join(out) + "\n"


@dataclass
class Timed:
    wall: float
    cpu: float  # user + sys of the child
    maxrss_mib: float
    code: int


def wfptui(args: list[str], stdout: Path, write_bytecode: bool = False) -> Timed:
    """``python -m wfptui ARGS > stdout``, timed from before the fork to its exit.
    ``write_bytecode``: let Python write the ``__pycache__`` files (the warm-up)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if write_bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    with open(stdout, "wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "wfptui", *args], stdout=out, stderr=subprocess.PIPE,
                                cwd=ROOT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode not in (0, 1):
        raise SystemExit(f"wfptui {' '.join(args)} failed ({proc.returncode}):\n{err}")
    return Timed(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode)


def engine_rate(rec_path: Path, repeat: int) -> tuple[int, float, float]:
    """(classifications, best CPU seconds, best CPU seconds with the collector off) of the
    engine alone on the recording's inputs (what ``replay`` runs between reading and
    comparing), in a process of its own: a child's ``ru_maxrss`` starts from its parent's
    peak (Linux keeps the high-water mark across fork/vfork and exec), so this process must
    stay small for the children's peaks to be theirs. The first is the issue's "engine's
    in-process rate" (``run_scenario`` called as a program would, the collector on); the
    second is the engine as the commands run it (``io.heap.long_lived``: the collector off
    while the engine builds its trace), the stricter denominator, reported beside it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, __file__, "--engine-rate", str(rec_path), str(repeat)], cwd=ROOT,
                         env=env, check=True, capture_output=True, text=True).stdout.split()
    return int(out[0]), float(out[1]), float(out[2])


def _engine_rate_here(rec_path: Path, repeat: int) -> tuple[int, float, float]:
    """:func:`engine_rate`, in this process: ``repeat`` rounds, each the engine with the
    collector on, then off."""
    from wfptui.commands.replay import replay
    from wfptui.io.recording import read_recording

    rec = read_recording(rec_path)
    best = {True: float("inf"), False: float("inf")}
    n = 0
    for _ in range(repeat):
        for collector in (True, False):
            gc.collect()
            if not collector:
                gc.disable()
            t0 = time.process_time()
            result = replay(rec, dict(rec.policies))
            best[collector] = min(best[collector], time.process_time() - t0)
            gc.enable()
            n = n or len(result.results)  # the classification records, counted from the rows
            del result
    return n, best[True], best[False]


COMMANDS = {"run": "run --format jsonl", "check": "replay --check"}


def warm_up(d: Path) -> None:
    """Both commands once on a tiny workload, untimed, writing wfptui's bytecode cache even
    where ``PYTHONDONTWRITEBYTECODE`` is set (as any installed or once-run wfptui has it):
    else every timed run compiles the modules that have none, ~0.1 s."""
    d.mkdir(parents=True, exist_ok=True)
    (d / "policy.toml").write_text(policy_text(10), encoding="utf-8")
    (d / "scenario.toml").write_text(scenario_text(2, 2), encoding="utf-8")
    wfptui(["run", str(d / "scenario.toml"), "--record", str(d / "run.wfpr"), "--format", "jsonl"], d / "out.txt",
           write_bytecode=True)
    wfptui(["replay", str(d / "run.wfpr"), "--check"], d / "out.txt", write_bytecode=True)


def bench(size: str, sends: int, repeat: int, work: Path, only: list[str]) -> list[str]:
    connections = _SIZES[size] if sends == 40 else max(1, _SIZES[size] * 40 // sends)
    d = work / size
    d.mkdir(parents=True, exist_ok=True)
    (d / "policy.toml").write_text(policy_text(1000), encoding="utf-8")
    (d / "scenario.toml").write_text(scenario_text(connections, sends), encoding="utf-8")
    rec = d / "run.wfpr"
    wfptui(["run", str(d / "scenario.toml"), "--record", str(rec), "--format", "text"], d / "out.txt")
    n, engine_cpu, engine_off_cpu = engine_rate(rec, max(repeat, 3))
    engine = n / engine_cpu
    steps = len(PORTS) + connections * (sends + 1)
    print(f"\n{size}: {connections} connections x {sends} sends ({steps:,} steps), {n:,} classifications; "
          f"engine in-process {engine:,.0f}/s ({engine_cpu:.2f} s CPU); with the collector off, as the "
          f"commands run it, {n / engine_off_cpu:,.0f}/s ({engine_off_cpu:.2f} s)")
    rows = []
    for label, args in (("run --format jsonl", ["run", str(d / "scenario.toml"), "--format", "jsonl"]),
                        ("replay --check", ["replay", str(rec), "--check"])):
        if label not in [COMMANDS[c] for c in only]:
            continue
        runs = [wfptui(args, d / "out.txt") for _ in range(repeat)]
        if any(r.code for r in runs):
            raise SystemExit(f"{label}: exit {runs[0].code} ({(d / 'out.txt').read_text()[:500]})")
        wall = min(r.wall for r in runs)
        cpu = min(r.cpu for r in runs)
        rss = max(r.maxrss_mib for r in runs)
        print(f"  {label:<20} {n / wall:>10,.0f}/s wall ({wall:.2f} s)  {n / cpu:>10,.0f}/s CPU ({cpu:.2f} s)  "
              f"{n / cpu / engine:>5.0%} of the engine ({engine_off_cpu / cpu:.0%} of it with the collector off)  "
              f"peak {rss:,.0f} MiB")
        rows.append(f"| {label} | {size} | {n:,} | {n / wall:,.0f} | {n / cpu:,.0f} | {engine:,.0f} | "
                    f"{n / cpu / engine:.0%} | {engine_off_cpu / cpu:.0%} | {rss:,.0f} |")
    return rows


def main() -> int:
    if sys.argv[1:2] == ["--engine-rate"]:  # the child of engine_rate()
        n, cpu, cpu_off = _engine_rate_here(Path(sys.argv[2]), int(sys.argv[3]))
        print(n, repr(cpu), repr(cpu_off))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10k,100k,1M", help="comma-separated: 10k, 100k, 1M")
    ap.add_argument("--sends", type=int, default=40, help="sends per connection (M)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per command (the best reported)")
    ap.add_argument("--keep", metavar="DIR", help="keep the workloads and outputs in DIR")
    ap.add_argument("--only", default="run,check", help="comma-separated commands to time: run, check")
    args = ap.parse_args()
    only = [c.strip() for c in args.only.split(",") if c.strip()]
    if not only or any(c not in COMMANDS for c in only):
        ap.error(f"--only: expected some of {', '.join(COMMANDS)}")
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    bad = [s for s in sizes if s not in _SIZES]
    if bad:
        ap.error(f"unknown size {bad[0]!r} (expected {', '.join(_SIZES)})")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.keep) if args.keep else Path(tmp)
        warm_up(work / "warm-up")
        rows = []
        for size in sizes:
            rows += bench(size, args.sends, args.repeat, work, only)
    print("\n| command | size | classifications | /s wall | /s CPU | engine in-process /s (CPU) | "
          "CPU rate / engine | / engine, collector off | peak MiB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
