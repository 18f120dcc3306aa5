"""netsh XML import speed, and classification speed against the real Windows 11 policy.

Run from the repository root::

    python benchmarks/import.py            # ~1 s per classification measurement
    python benchmarks/import.py --quick    # ~0.2 s per measurement
    python benchmarks/import.py --no-write # print only, leave benchmarks/README.md alone

* **import**: ``io.netsh_xml.import_netsh`` (safe expat parse + conversion, wfp-model.md
  §5.7) of ``filters-win11.xml`` (2.3 MB, 990 filters) and ``wfpstate-win11.xml`` (3.4 MB,
  1,050 filters), then ``policy_toml`` (the policy file text) -- together what ``wfptui
  import`` does -- and ``parse_policy`` of that text (the extra check of ``wfptui import
  --check``). Best of 5 runs (the machine is shared), median shown too.
* **classify**: the imported 990-filter policy, classified by ``compile_policy`` on a
  realistic mix of packets at the layers Windows Firewall fills (ALE_AUTH_RECV_ACCEPT_V4/V6,
  ALE_AUTH_CONNECT_V4/V6, ALE_AUTH_LISTEN_V4, ALE_RESOURCE_ASSIGNMENT_V4,
  OUTBOUND_ICMP_ERROR_V4): app ids taken from the policy's own rules plus unknown apps,
  profiles 1-3, user tokens (a user, LocalService, a hardened service), loopback or not.
  Same modes as ``benchmarks/classify.py`` (indexed = no memo; cold = all-distinct packets;
  warm = a fixed mix of 1,000 packets, repeated), beside the synthetic 1,000-filter policy
  of ``benchmarks/classify.py`` measured in the same run. Every mode is checked against
  ``classify_naive`` on a sample first.

Targets (issue 6): import under 1.5 s; real-policy classification at least 300,000/s (warm).
Results go to the ``## import`` section of ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import re
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wfptui.core.arbitration import CompiledPolicy, classify_naive, compile_policy  # noqa: E402
from wfptui.core.layers import get_layer  # noqa: E402
from wfptui.core.model import EMPTY, Policy, SecurityDescriptor, Token, Value  # noqa: E402
from wfptui.io.netsh_xml import import_netsh, policy_toml  # noqa: E402
from wfptui.io.policy_file import parse_policy  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "wfp"
DUMPS = ("filters-win11.xml", "wfpstate-win11.xml")
Packet = tuple[str, Mapping[str, Value]]

_spec = importlib.util.spec_from_file_location("bench_classify", ROOT / "benchmarks" / "classify.py")
assert _spec is not None and _spec.loader is not None
classify_bench: Any = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(classify_bench)

USER = Token("S-1-5-21-1000-1000-1000-1001", frozenset({"S-1-1-0", "S-1-5-11", "S-1-5-32-545"}))
LOCAL_SERVICE = Token("S-1-5-19", frozenset({"S-1-1-0", "S-1-5-11"}))
REAL_LAYERS = (
    "ALE_AUTH_RECV_ACCEPT_V4", "ALE_AUTH_RECV_ACCEPT_V6", "ALE_AUTH_CONNECT_V4", "ALE_AUTH_CONNECT_V6",
    "ALE_AUTH_LISTEN_V4", "ALE_RESOURCE_ASSIGNMENT_V4", "OUTBOUND_ICMP_ERROR_V4",
)
LAYER_WEIGHTS = (30, 10, 30, 10, 5, 5, 10)


# ----------------------------------------------------------------------------- import


def time_import(path: Path, runs: int) -> dict[str, float]:
    parse, write, check = [], [], []
    n = 0
    for _ in range(runs):
        t0 = time.perf_counter()
        result = import_netsh(path, progress=False)
        t1 = time.perf_counter()
        text = policy_toml(result)
        t2 = time.perf_counter()
        policy = parse_policy(text, "bench.toml")
        t3 = time.perf_counter()
        assert len(policy.filters) == len(result.filters) == result.xml_filters
        n = len(result.filters)
        parse.append(t1 - t0)
        write.append(t2 - t1)
        check.append(t3 - t2)
    total = [a + b + c for a, b, c in zip(parse, write, check, strict=True)]
    command = [a + b for a, b in zip(parse, write, strict=True)]
    return {
        "command": min(command), "command_median": statistics.median(command),
        "filters": n, "mb": path.stat().st_size / 1e6,
        "import": min(parse), "toml": min(write), "check": min(check), "total": min(total),
        "total_median": statistics.median(total), "import_median": statistics.median(parse),
    }


# ----------------------------------------------------------------------------- real packets


def _policy_values(policy: Policy) -> dict[str, list[Value]]:
    """Condition values the policy itself uses, by field (so packets hit real rules)."""
    seen: dict[str, list[Value]] = {}
    for f in policy.filters:
        for c in f.conditions:
            if isinstance(c.value, int | str) and not isinstance(c.value, bool):
                seen.setdefault(c.field, []).append(c.value)
    return {k: sorted(set(v), key=str) for k, v in seen.items()}


def _service_token(policy: Policy) -> Token:
    for f in policy.filters:
        for c in f.conditions:
            if c.field == "ALE_USER_ID" and isinstance(c.value, SecurityDescriptor) and c.value.dacl:
                for ace in c.value.dacl:
                    if ace.sid.startswith("S-1-5-80-"):
                        return Token(ace.sid, frozenset({"S-1-1-0", "S-1-5-11", "S-1-5-6"}))
    return LOCAL_SERVICE


def make_real_packet(rng: random.Random, pv: dict[str, list[Value]], svc: Token, unique: int | None = None) -> Packet:
    """One packet with *every* field of its layer, as Windows passes incomingValues: the
    fields a host does not know (quarantine epoch, tunnel fields ...) are FWP_EMPTY."""
    layer, values = _real_values(rng, pv, svc, unique)
    full: dict[str, Value] = dict.fromkeys(get_layer(layer).field_names, EMPTY)
    full.update((k, v) for k, v in values.items() if k in full)
    return layer, full


def _real_values(rng: random.Random, pv: dict[str, list[Value]], svc: Token, unique: int | None) -> Packet:
    layer = rng.choices(REAL_LAYERS, LAYER_WEIGHTS)[0]
    v6 = layer.endswith("_V6")
    profile = rng.choice([1, 1, 1, 2, 3])
    loop = rng.random() < 0.1
    ephemeral = 49152 + (unique % 16384 if unique is not None else rng.randrange(16384))
    host = (unique // 16384) if unique is not None else rng.randrange(1 << 16)
    if layer == "OUTBOUND_ICMP_ERROR_V4":
        return layer, {"IP_LOCAL_PORT": 3, "IP_REMOTE_PORT": rng.choice([0, 1, 3, 3, 3, 4, 10, 13]),
                       "FLAGS": 1 if loop else 0, "NEXTHOP_INTERFACE_PROFILE_ID": profile,
                       "IP_LOCAL_ADDRESS": 0x0A000002, "IP_REMOTE_ADDRESS": 0x0A000000 | (host & 0xFFFF)}
    apps = pv.get("ALE_APP_ID", ["System"])
    app = rng.choice(apps) if rng.random() < 0.7 else f"\\device\\harddiskvolume3\\apps\\app{rng.randrange(50)}.exe"
    local_ports = [p for p in pv.get("IP_LOCAL_PORT", [80]) if isinstance(p, int)]
    inbound = "RECV_ACCEPT" in layer or "LISTEN" in layer or "RESOURCE" in layer
    service = rng.choice(local_ports) if rng.random() < 0.6 else rng.choice([80, 443, 8080, 3389, 5000])
    values: dict[str, Value] = {
        "ALE_APP_ID": app,
        "ALE_USER_ID": rng.choice([USER, USER, USER, LOCAL_SERVICE, svc]),
        "ALE_PACKAGE_ID": "S-1-0-0" if rng.random() < 0.95 else "S-1-15-2-1",
        "IP_PROTOCOL": rng.choice([6, 6, 17]),
        "IP_LOCAL_ADDRESS": (0xFD00 << 112 | 2) if v6 else 0x0A000002,
        "IP_REMOTE_ADDRESS": ((0xFD00 << 112) | host) if v6 else (0xC0A80000 | (host & 0xFFFF)),
        "IP_LOCAL_PORT": service if inbound else ephemeral,
        "IP_REMOTE_PORT": ephemeral if inbound else rng.choice([53, 80, 443, 445, 3389]),
        "FLAGS": (0x800001 if loop else 0),
        "ORIGINAL_PROFILE_ID": profile, "CURRENT_PROFILE_ID": profile, "LOCAL_INTERFACE_PROFILE_ID": profile,
        "INTERFACE_TYPE": 6, "TUNNEL_TYPE": 0, "ARRIVAL_INTERFACE_TYPE": 6, "ARRIVAL_TUNNEL_TYPE": 0,
        "NEXTHOP_INTERFACE_TYPE": 6, "NEXTHOP_TUNNEL_TYPE": 0, "IP_LOCAL_ADDRESS_TYPE": 1,
        "ALE_SIO_FIREWALL_SYSTEM_PORT": 0, "COMPARTMENT_ID": 1,
    }
    return layer, values


# ----------------------------------------------------------------------------- classification


def rate(classify: Callable[[str, Mapping[str, Value]], object], packets: Sequence[Packet], budget: float,
         repeat: bool = True) -> float:
    """Classifications per second over ``budget`` seconds, cycling through ``packets``."""
    done = 0
    start = time.perf_counter()
    while True:
        for layer, values in packets:
            classify(layer, values)
        done += len(packets)
        now = time.perf_counter()
        if now - start >= budget or not repeat:
            return done / (now - start)


def rate_once(classify: Callable[[str, Mapping[str, Value]], object], packets: Sequence[Packet],
              budget: float) -> float:
    """Like ``rate``, but every packet at most once (cold caches)."""
    done = 0
    start = time.perf_counter()
    for i in range(0, len(packets), 256):
        for layer, values in packets[i:i + 256]:
            classify(layer, values)
        done += len(packets[i:i + 256])
        if time.perf_counter() - start >= budget:
            break
    return done / (time.perf_counter() - start)


def measure(pol: Policy, mix: Sequence[Packet], cold: Sequence[Packet], budget: float) -> dict[str, float]:
    indexed = CompiledPolicy(pol, cache=False)
    default = compile_policy(pol)
    t0 = time.perf_counter()
    for layer in {layer for layer, _ in mix}:
        CompiledPolicy(pol, cache=False).layer(layer)
    compile_ms = (time.perf_counter() - t0) * 1000
    for layer, values in mix[:300]:
        ref = classify_naive(pol, layer, values)
        assert indexed.classify(layer, values) == ref, (layer, values)
        assert default.classify(layer, values) == ref, (layer, values)
    for layer in {layer for layer, _ in mix}:
        default.layer(layer).clear_cache()

    def naive(layer: str, values: Mapping[str, Value]) -> object:
        return classify_naive(pol, layer, values)

    r_naive = rate(naive, mix[:100], budget)
    r_indexed = rate(indexed.classify, mix, budget)
    r_cold = rate_once(default.classify, cold, budget)
    rate(default.classify, mix, 0.0, repeat=False)  # one untimed pass fills the caches
    r_warm = rate(default.classify, mix, budget)
    return {"filters": len(pol.filters), "compile_ms": compile_ms, "naive": r_naive, "indexed": r_indexed,
            "cold": r_cold, "warm": r_warm}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="short measurements (~0.2 s each)")
    ap.add_argument("--no-write", action="store_true", help="do not update benchmarks/README.md")
    args = ap.parse_args(argv)
    budget = 0.2 if args.quick else 1.0
    runs = 3 if args.quick else 5

    imports = {}
    for name in DUMPS:
        r = time_import(DATA / name, runs)
        imports[name] = r
        print(f"{name}: {r['mb']:.1f} MB, {r['filters']:.0f} filters: import {r['import']:.3f} s "
              f"(median {r['import_median']:.3f}), toml {r['toml']:.3f} s, wfptui import {r['command']:.3f} s "
              f"(median {r['command_median']:.3f}), check {r['check']:.3f} s, with --check {r['total']:.3f} s",
              flush=True)

    real = import_netsh(DATA / DUMPS[0], progress=False).policy
    pv = _policy_values(real)
    svc = _service_token(real)
    rng = random.Random(42)
    cold_n = 60_000 if args.quick else 250_000
    real_mix = [make_real_packet(rng, pv, svc) for _ in range(1_000)]
    real_cold = [make_real_packet(rng, pv, svc, unique=i) for i in range(cold_n)]
    rows = [("real Win11 (filters-win11.xml)", measure(real, real_mix, real_cold, budget))]

    rng = random.Random(42)
    syn_mix = [classify_bench.make_packet(rng) for _ in range(1_000)]
    syn_cold = [classify_bench.make_packet(rng, unique=i) for i in range(cold_n)]
    rows.append(("synthetic (benchmarks/classify.py)", measure(classify_bench.make_policy(1_000), syn_mix, syn_cold,
                                                              budget)))
    for label, m in rows:
        print(f"{label:>36}: {m['filters']:,.0f} filters | naive {m['naive']:>9,.0f}/s | indexed "
              f"{m['indexed']:>9,.0f}/s | cold {m['cold']:>9,.0f}/s | warm {m['warm']:>9,.0f}/s", flush=True)
    if not args.no_write:
        write_readme(imports, rows, budget, runs)
    return 0


def write_readme(imports: dict[str, dict[str, float]], rows: Sequence[tuple[str, dict[str, float]]],
                 budget: float, runs: int) -> None:
    lines = [
        "## import",
        "",
        "`python benchmarks/import.py [--quick]` — `wfptui import` of the real Windows 11 dumps, and",
        "classification against the imported 990-filter policy beside the synthetic 1,000-filter policy",
        "of `benchmarks/classify.py`, same run. **import** = safe expat parse + conversion",
        "(`io.netsh_xml.import_netsh`); **toml** = writing the policy file text; **wfptui import** =",
        "the two together (what the command does); **check** = `parse_policy` of that text, the extra",
        f"step of `wfptui import --check`. Best of {runs} runs (median in brackets).",
        "Classification modes as in `## classify` (warm = a fixed mix of 1,000 packets, repeated; cold =",
        "all-distinct packets); the real mix spans ALE_AUTH_RECV_ACCEPT/CONNECT v4+v6, AUTH_LISTEN,",
        "RESOURCE_ASSIGNMENT and OUTBOUND_ICMP_ERROR with app ids from the policy's own rules, profiles 1-3,",
        "user / LocalService / service-SID tokens. Targets: import < 1.5 s, real warm >= 300,000/s.",
        "",
        f"Machine: {classify_bench.machine()}; {budget:g} s per classification measurement; "
        f"{time.strftime('%Y-%m-%d', time.gmtime())}.",
        "",
        "| dump | MB | filters | import s | toml s | wfptui import s | check s | with --check s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in imports.items():
        lines.append(f"| {name} | {r['mb']:.1f} | {r['filters']:,.0f} | {r['import']:.3f} ({r['import_median']:.3f}) "
                     f"| {r['toml']:.3f} | {r['command']:.3f} ({r['command_median']:.3f}) | {r['check']:.3f} "
                     f"| {r['total']:.3f} ({r['total_median']:.3f}) |")
    lines += [
        "",
        "| policy | filters | naive /s | indexed /s | cold /s | warm /s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, m in rows:
        lines.append(f"| {label} | {m['filters']:,.0f} | {m['naive']:,.0f} | {m['indexed']:,.0f} | {m['cold']:,.0f} "
                     f"| {m['warm']:,.0f} |")
    lines.append("")
    section = "\n".join(lines) + "\n"
    path = ROOT / "benchmarks" / "README.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n\nScripts anyone can run; each has a section.\n"
    pattern = re.compile(r"^## import\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)
    print(f"updated {path.relative_to(ROOT)}")


if __name__ == "__main__":
    raise SystemExit(main())
