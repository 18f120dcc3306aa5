"""Benchmark: write and read a 1,000,000-record recording (``python benchmarks/recording.py``).

The trace is real engine output, tiled: a scenario with many TCP connections is run once,
then its records are repeated with shifted seq, time, flow ids and ephemeral ports until
there are N records. Measured, best of ``--repeat`` runs each, in the same process:

* **write**: ``write_recording`` (atomic save) — records/s, bytes per record and per
  classification record (body = everything after the header);
* **read**: ``read_recording`` — header, tables and every record's raw tuple (trace records
  are built lazily, see io/recording/reader.py) — records/s;
* **plain msgpack**: ``msgpack.Unpacker`` over the same file, iterating every object with no
  interpretation — the baseline; the read rate is reported as a percentage of it;
* **materialize**: building every ``TraceRecord`` object (``list(rec.records)``);
* **index**: the index API's streaming pass the TUI indexes a recording with
  (``rec.records.iter_groups()``: each record's kind and classification group, no record built).

Usage: ``python benchmarks/recording.py [-n 1000000] [--repeat 3] [--keep FILE]``
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import msgpack  # noqa: E402

from wfptui.core.trace import ClassifyRecord, TraceRecord  # noqa: E402

SCENARIO = """
name = "benchmark: many TCP connections"
[[host]]
name = "client"
address = ["10.0.0.1"]
app = [ { name = "browser", path = 'C:\\Program Files\\Browser\\browser.exe' } ]
[[host]]
name = "server"
address = ["10.0.0.2"]
app = [ { name = "web", path = 'C:\\srv\\web.exe' } ]
[[host.policy.filter]]
key = "allow-web"
layer = "ALE_AUTH_RECV_ACCEPT_V4"
action = "permit"
weight = 10
condition = [ { field = "IP_LOCAL_PORT", match = "equal", value = 80 } ]
[[host.policy.filter]]
key = "block-8080"
layer = "ALE_AUTH_RECV_ACCEPT_V4"
action = "block"
condition = [ { field = "IP_LOCAL_PORT", match = "equal", value = 8080 } ]
[[step]]
host = "server"
do = "listen"
app = "web"
port = 80
socket = "srv"
"""


def base_run(connections: int) -> tuple[object, object]:
    from wfptui.core.engine import run_scenario
    from wfptui.io.scenario_file import parse_scenario

    text = SCENARIO
    for i in range(connections):
        text += (f'\n[[step]]\nhost = "client"\ndo = "connect"\napp = "browser"\nto = "server:80"\n'
                 f'socket = "c{i}"\n\n[[step]]\ndo = "send"\nsocket = "c{i}"\nbytes = 12000\npackets = 8\n')
        if i % 10 == 9:
            text += '\n[[step]]\nhost = "client"\ndo = "probe"\nto = "server:8080"\n'
    scenario = parse_scenario(text, "benchmark.toml")
    return scenario, run_scenario(scenario)


def _port(v: object, k: int) -> object:
    if isinstance(v, int) and not isinstance(v, bool) and 49152 <= v < 65536:
        return 49152 + (v - 49152 + k * 37) % 16384
    return v


def tiled(records: list[TraceRecord], n: int) -> list[TraceRecord]:
    span_t = max((r.t for r in records if hasattr(r, "t")), default=0.0) + 0.001
    max_flow = max((getattr(r, "flow", None) or 0 for r in records), default=0) + 1
    out: list[TraceRecord] = []
    k = 0
    base = [r for r in records if r.kind != "expect"]
    while len(out) < n:
        for r in base:
            if len(out) >= n:
                break
            changes: dict[str, object] = {"seq": len(out) + 1, "t": round(r.t + k * span_t, 6)}  # type: ignore[union-attr]
            flow = getattr(r, "flow", None)
            if flow is not None:
                changes["flow"] = flow + k * max_flow
            if isinstance(r, ClassifyRecord) and k:
                changes["fields"] = {f: (_port(v, k) if "PORT" in f else v) for f, v in r.fields.items()}
            out.append(dataclasses.replace(r, **changes))  # type: ignore[arg-type]
        k += 1
    return out


def best(fn, repeat: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    times = []
    result = None
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
        if _ < repeat - 1:
            result = None
    return min(times), result


def main(argv: list[str] | None = None) -> int:
    from wfptui.io.recording import read_recording, write_recording

    parser = argparse.ArgumentParser(description="recording write/read benchmark")
    parser.add_argument("-n", type=int, default=1_000_000, help="records (default 1,000,000)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--connections", type=int, default=200, help="connections in the base run")
    parser.add_argument("--keep", type=Path, help="keep the recording at this path")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    scenario, result = base_run(args.connections)
    records = tiled(result.records, args.n)  # type: ignore[attr-defined]
    n_classify = sum(1 for r in records if r.kind == "classify")
    print(f"base run: {len(result.records)} records; tiled to {len(records)} "  # type: ignore[attr-defined]
          f"({n_classify} classifications) in {time.perf_counter() - t0:.1f} s")

    folder = tempfile.mkdtemp(prefix="wfptui-bench-")
    path = args.keep or Path(folder) / "bench.wfpr"
    policies = {h.name: h.policy for h in scenario.hosts}  # type: ignore[attr-defined]

    def write() -> None:
        write_recording(path, scenario=scenario, policies=policies, inputs=result.inputs,  # type: ignore[attr-defined]
                        records=records)

    t_write, _ = best(write, args.repeat)
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        unpacker = msgpack.Unpacker(f, raw=False)
        unpacker.unpack()
        header = unpacker.tell()
    body = size - header
    data = Path(path).read_bytes()

    def plain() -> int:
        n = 0
        with open(path, "rb") as f:
            for _obj in msgpack.Unpacker(f, raw=False, read_size=1 << 20):
                n += 1
        return n

    def read() -> object:
        return read_recording(path)

    # interleave the two so machine noise hits both alike
    t_plain = t_read = float("inf")
    n_objects = 0
    rec = None
    for _ in range(args.repeat):
        tp, n_objects = best(plain, 1)  # type: ignore[assignment]
        tr, rec = best(read, 1)
        t_plain, t_read = min(t_plain, tp), min(t_read, tr)
    assert rec is not None and len(rec.records) == len(records)  # type: ignore[attr-defined]
    t_mat, mats = best(lambda: list(rec.records), 1)  # type: ignore[attr-defined]
    t_index, _ = best(lambda: list(rec.records.iter_groups()), args.repeat)  # type: ignore[attr-defined]
    assert mats[-1] == records[-1] and mats[12345 % len(mats)] == records[12345 % len(records)]  # type: ignore[index]
    del data

    n = len(records)
    print(f"file: {size:,} bytes; header {header:,}; {body / n:.1f} bytes per record, "
          f"{body / n_classify:.1f} per classification record (body); {n_objects:,} msgpack objects")
    print(f"write:         {t_write:6.2f} s  {n / t_write:12,.0f} records/s")
    print(f"plain msgpack: {t_plain:6.2f} s  {n / t_plain:12,.0f} records/s  (Unpacker over the file, no interpretation)")
    print(f"read:          {t_read:6.2f} s  {n / t_read:12,.0f} records/s  = {100 * t_plain / t_read:.0f}% of plain msgpack")
    print(f"materialize:   {t_mat:6.2f} s  {n / t_mat:12,.0f} records/s  (every TraceRecord object built)")
    print(f"index:         {t_index:6.2f} s  {n / t_index:12,.0f} records/s  (records.iter_groups(), as the TUI indexes)")
    if not args.keep:
        os.unlink(path)
        os.rmdir(folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
