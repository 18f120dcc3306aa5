"""Classification throughput: the compiled (indexed) classifier vs the naive scan.

Run from the repository root::

    python benchmarks/classify.py            # ~1 CPU s per number (best of 3 runs)
    python benchmarks/classify.py --quick    # ~0.2 CPU s per number
    python benchmarks/classify.py --no-write # print only, leave benchmarks/README.md alone

Synthetic policies of 10, 100, 1,000 and 5,000 filters (seeded, so every run uses the
same ones): ALE_AUTH_RECV_ACCEPT_V4 and ALE_AUTH_CONNECT_V4 filters over three custom
sublayers plus UNIVERSAL/MPSSVC_WSH/MPSSVC_WF, with local/remote ports (EQUAL, OR-ed
EQUALs, RANGE), protocol, remote address masks (/8 .. /32), app ids, FLAGS, callouts of
every kind, catch-all filters; weights from ``core.weights``. Modes, all on the same
machine in the same run:

* ``naive``    — ``classify_naive``: every filter of the layer, every time.
* ``indexed``  — ``CompiledPolicy(policy, cache=False)``: dispatch index + compiled
                  matchers, full arbitration and result objects every time.
* ``cold``     — the default ``compile_policy(policy)`` on a stream of packets that are
                  all *distinct* (the packet cache never hits; the matched-set memo may).
* ``warm``     — the default classifier on a fixed mix of 1,000 packets, repeated (the
                  steady state of a simulation: the packet cache hits).

Each mode is checked against the naive result on a sample before it is timed. Results
go to the ``## classify`` section of ``benchmarks/README.md`` (other sections are left
as they are).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wfptui.core.arbitration import CompiledPolicy, classify_naive, compile_policy  # noqa: E402
from wfptui.core.datatypes import DataType  # noqa: E402
from wfptui.core.model import (  # noqa: E402
    ActionType,
    AddrMask,
    Callout,
    Condition,
    Filter,
    FilterFlag,
    MatchType,
    Policy,
    Range,
    Sublayer,
    Value,
    Weight,
)
from wfptui.core.weights import effective_weight  # noqa: E402

RECV, CONNECT = "ALE_AUTH_RECV_ACCEPT_V4", "ALE_AUTH_CONNECT_V4"
LAYERS = (RECV, CONNECT)
SIZES = (10, 100, 1_000, 5_000)
A, M, D = ActionType, MatchType, DataType
APPS = [f"\\device\\harddiskvolume3\\program files\\app{i}\\app{i}.exe" for i in range(200)]
SERVICE_PORTS = [22, 25, 53, 80, 88, 135, 139, 389, 443, 445, 1433, 3306, 3389, 5985, 8080, 8443]
SUBNETS = [0x0A000000, 0xAC100000, 0xC0A80000, 0x64400000, 0x08080800, 0x01010100]

SUBLAYERS = [
    Sublayer("vendor-vpn", 0xFFFF),
    Sublayer("corp", 0x8001),
    Sublayer("edr", 0x4000),
    Sublayer("UNIVERSAL", 0x8000, builtin=True),
    Sublayer("MPSSVC_WSH", 3, builtin=True),
    Sublayer("MPSSVC_WF", 2, builtin=True),
]
CALLOUTS = [
    Callout("ids", returns="continue"),
    Callout("av-scan", returns="block"),
    Callout("vpn-allow", returns="permit", hard=True),
    Callout("stale", returns="unregistered"),
    Callout("silent-drop", returns="block", silent=True),
]


def _eq(fld: str, value: Value, dtype: DataType) -> Condition:
    return Condition(fld, M.FWP_MATCH_EQUAL, value, dtype)


def _random_conditions(rng: random.Random, layer: str) -> list[Condition]:
    port_field = "IP_LOCAL_PORT" if layer == RECV else "IP_REMOTE_PORT"
    proto = _eq("IP_PROTOCOL", rng.choice([6, 6, 6, 17]), D.FWP_UINT8)
    kind = rng.random()
    if kind < 0.40:  # a service port (sometimes an unusual one) and a protocol
        port = rng.choice(SERVICE_PORTS) if rng.random() < 0.3 else rng.randrange(1024, 60000)
        return [_eq(port_field, port, D.FWP_UINT16), proto]
    if kind < 0.55:  # an application, sometimes with a remote port
        conds = [_eq("ALE_APP_ID", rng.choice(APPS), D.FWP_BYTE_BLOB_TYPE)]
        if rng.random() < 0.5:
            conds.append(_eq("IP_REMOTE_PORT", rng.choice(SERVICE_PORTS), D.FWP_UINT16))
        return conds
    if kind < 0.70:  # a remote network
        prefix = rng.choice([8, 16, 24, 24, 32])
        base = rng.choice(SUBNETS) | rng.randrange(0, 1 << 16)
        shift = 32 - prefix
        mask = AddrMask((base >> shift) << shift, prefix, 32)
        return [Condition("IP_REMOTE_ADDRESS", M.FWP_MATCH_EQUAL, mask, D.FWP_V4_ADDR_MASK), proto]
    if kind < 0.80:  # a port range
        lo = rng.randrange(1024, 60000)
        return [Condition(port_field, M.FWP_MATCH_RANGE, Range(lo, lo + rng.randrange(1, 500)), D.FWP_RANGE_TYPE),
                proto]
    if kind < 0.88:  # several ports ORed
        ports = rng.sample(SERVICE_PORTS, 3)
        return [_eq(port_field, p, D.FWP_UINT16) for p in ports] + [proto]
    if kind < 0.95:  # flags
        return [Condition("FLAGS", rng.choice([M.FWP_MATCH_FLAGS_NONE_SET, M.FWP_MATCH_FLAGS_ANY_SET]),
                          rng.choice([1, 2, 4]), D.FWP_UINT32), proto]
    return [proto]


def make_policy(n: int, seed: int = 1) -> Policy:
    rng = random.Random(seed * 1_000_003 + n)
    filters: list[Filter] = []
    custom = [s.key for s in SUBLAYERS]
    for i in range(n):
        layer = LAYERS[i % 2]
        conds = _random_conditions(rng, layer)
        r = rng.random()
        callout = None
        flags = 0
        if r < 0.55:
            action = A.FWP_ACTION_PERMIT
            if rng.random() < 0.1:
                flags = FilterFlag.CLEAR_ACTION_RIGHT
        elif r < 0.92:
            action = A.FWP_ACTION_BLOCK
        elif r < 0.95:
            action, callout = A.FWP_ACTION_CALLOUT_INSPECTION, "ids"
        else:
            action = A.FWP_ACTION_CALLOUT_UNKNOWN
            callout = rng.choice(["av-scan", "vpn-allow", "stale", "silent-drop"])
        weight = Weight(D.FWP_UINT8, rng.randrange(16)) if rng.random() < 0.7 else Weight(D.FWP_EMPTY)
        filters.append(Filter(
            key=f"f{i}", layer=layer, action=action, sublayer=rng.choice(custom), weight=weight,
            effective_weight=effective_weight(weight, conds), conditions=tuple(conds), flags=int(flags),
            callout=callout, filter_id=70_000 + i,
        ))
    # Catch-alls, as every real default-deny product installs (§3.5).
    for j, layer in enumerate(LAYERS):
        filters.append(Filter(key=f"default-block-{j}", layer=layer, action=A.FWP_ACTION_BLOCK,
                              sublayer="corp", filter_id=69_000 + j))
    return Policy({s.key: s for s in SUBLAYERS}, {c.key: c for c in CALLOUTS}, tuple(filters))


def make_packet(rng: random.Random, unique: int | None = None) -> tuple[str, dict[str, Value]]:
    layer = rng.choice(LAYERS)
    service = rng.choice(SERVICE_PORTS)
    ephemeral = 49152 + (unique % 16384 if unique is not None else rng.randrange(16384))
    subnet = rng.choice(SUBNETS)
    host = (unique // 16384) if unique is not None else rng.randrange(1 << 16)
    values: dict[str, Value] = {
        "IP_PROTOCOL": rng.choice([6, 6, 17]),
        "IP_LOCAL_ADDRESS": 0x0A000001,
        "IP_REMOTE_ADDRESS": subnet | (host & 0xFFFF),
        "IP_LOCAL_PORT": service if layer == RECV else ephemeral,
        "IP_REMOTE_PORT": ephemeral if layer == RECV else service,
        "ALE_APP_ID": rng.choice(APPS) if rng.random() < 0.8 else "system",
        "FLAGS": rng.choice([0, 0, 0, 1]),
        "INTERFACE_INDEX": 7,
    }
    return layer, values


Packet = tuple[str, Mapping[str, Value]]


def _rate(classify: Callable[[str, Mapping[str, Value]], object], packets: Sequence[Packet],
          budget: float, repeat: bool) -> float:
    done = 0
    start = time.process_time()
    deadline = start + budget
    step = 256 if not repeat else len(packets)
    i = 0
    while True:
        batch = packets[i:i + step] if not repeat else packets
        if not batch:
            break
        for layer, values in batch:
            classify(layer, values)
        done += len(batch)
        i += step
        if time.process_time() >= deadline:
            break
    return done / (time.process_time() - start)


def rate(classify: Callable[[str, Mapping[str, Value]], object], packets: Sequence[Packet],
         budget: float, trials: int = 3) -> float:
    """Classifications per CPU second: the best of ``trials`` runs of ``budget / trials`` CPU
    seconds each, cycling through ``packets`` (best-of, as timeit does: the machine may be shared)."""
    return max(_rate(classify, packets, budget / trials, True) for _ in range(trials))


def rate_distinct(classify: Callable[[str, Mapping[str, Value]], object], packets: Sequence[Packet],
                  budget: float, trials: int = 3) -> float:
    """Like ``rate``, but no packet is ever classified twice (cold): each trial takes its own
    slice of ``packets`` and stops at its budget or the slice's end."""
    size = len(packets) // trials
    return max(_rate(classify, packets[t * size:(t + 1) * size], budget / trials, False) for t in range(trials))


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    text = f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()} ({platform.system()})"
    if hasattr(os, "getloadavg"):  # a shared machine skews numbers: say how busy it was
        text += f", load average {os.getloadavg()[0]:.1f} at the end of the run"
    return text


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="short measurements (~0.2 s each)")
    ap.add_argument("--no-write", action="store_true", help="do not update benchmarks/README.md")
    args = ap.parse_args(argv)
    budget = 0.2 if args.quick else 1.0
    rng = random.Random(42)
    mix: list[Packet] = [make_packet(rng) for _ in range(1_000)]
    cold_n = 60_000 if args.quick else 250_000
    cold: list[Packet] = [make_packet(rng, unique=i) for i in range(cold_n)]
    rows = []
    for n in SIZES:
        pol = make_policy(n)
        t0 = time.process_time()
        indexed = CompiledPolicy(pol, cache=False)
        for layer in LAYERS:
            indexed.layer(layer)
        compile_ms = (time.process_time() - t0) * 1000
        default = compile_policy(pol)
        # Correctness first: every mode agrees with the reference on a sample.
        for layer, values in mix[:200]:
            ref = classify_naive(pol, layer, values)
            assert indexed.classify(layer, values) == ref
            assert default.classify(layer, values) == ref
        default.layer(RECV).clear_cache()
        default.layer(CONNECT).clear_cache()

        def naive(layer: str, values: Mapping[str, Value], pol: Policy = pol) -> object:
            return classify_naive(pol, layer, values)

        r_naive = rate(naive, mix[: max(10, min(1000, 5_000 // n))], budget)
        r_indexed = rate(indexed.classify, mix, budget)
        r_cold = rate_distinct(default.classify, cold, budget)
        for layer in LAYERS:  # warm = the working set of the mix only, not the cold stream's leftovers
            default.layer(layer).clear_cache()
        for layer, values in mix:  # one untimed pass fills the caches
            default.classify(layer, values)
        r_warm = rate(default.classify, mix, budget)
        stats = indexed.layer(RECV).index_stats
        rows.append((n, compile_ms, r_naive, r_indexed, r_cold, r_warm))
        print(f"{n:>6} filters: compile {compile_ms:7.1f} ms | naive {r_naive:>10,.0f}/s | "
              f"indexed {r_indexed:>10,.0f}/s ({r_indexed / r_naive:6.1f}x) | cold {r_cold:>10,.0f}/s "
              f"({r_cold / r_naive:6.1f}x) | warm {r_warm:>10,.0f}/s ({r_warm / r_naive:7.1f}x) | "
              f"RECV wildcard {stats['wildcard']}/{stats['filters']}", flush=True)
    if not args.no_write:
        write_readme(rows, budget)
    return 0


def write_readme(rows: Sequence[tuple[int, float, float, float, float, float]], budget: float) -> None:
    lines = [
        "## classify",
        "",
        "`python benchmarks/classify.py [--quick]` — classifications per second of one synthetic packet at",
        "one ALE layer (`ALE_AUTH_RECV_ACCEPT_V4` / `ALE_AUTH_CONNECT_V4`, half the filters each), full",
        "`ClassifyResult` with every sublayer's detail. Modes: **naive** = `classify_naive` (reference",
        "scan); **indexed** = `CompiledPolicy(policy, cache=False)` (dispatch index + compiled matchers,",
        "no memo); **cold** = default `compile_policy(policy)` on a stream of all-distinct packets (the",
        "packet cache never hits; the exact matched-set memo may); **warm** = default classifier on a fixed",
        "mix of 1,000 packets, repeated (packet cache hits; cleared first, so it holds only the mix).",
        "Ratios are against naive on the same machine, same run. Compile = building the index for both",
        "layers. Every mode is checked against naive on 200 packets before it is timed.",
        "",
        "Memo caches (`core/arbitration.py`; exact, because a result is immutable and a pure function of",
        "its inputs): per compiled layer, (1) the tuple of the packet's values of the fields that layer's",
        "filters reference → `ClassifyResult` (65,536 entries), (2) the set of matched filters →",
        "`ClassifyResult` (16,384), (3) a sublayer's matched filters + its effect → `SublayerResult`",
        "(16,384); each is cleared when full. `compile_policy(policy, cache=False)` turns them all off",
        "(the **indexed** column). Times are CPU seconds of this process (`time.process_time`), as the",
        "machine is shared with other test runs; the load average is recorded all the same.",
        "",
        f"Machine: {machine()}; best of 3 runs of {budget / 3:.2g} CPU s per number; {time.strftime('%Y-%m-%d', time.gmtime())}.",
        "",
        "| filters | compile ms | naive /s | indexed /s | × naive | cold /s | × naive | warm /s | × naive |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, cms, rn, ri, rc, rw in rows:
        lines.append(f"| {n:,} | {cms:,.1f} | {rn:,.0f} | {ri:,.0f} | {ri / rn:,.1f} | {rc:,.0f} | {rc / rn:,.1f} "
                     f"| {rw:,.0f} | {rw / rn:,.1f} |")
    lines.append("")
    section = "\n".join(lines) + "\n"
    path = ROOT / "benchmarks" / "README.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n\nScripts anyone can run; each has a section.\n"
    pattern = re.compile(r"^## classify\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)
    print(f"updated {path.relative_to(ROOT)}")


if __name__ == "__main__":
    raise SystemExit(main())
