"""End-to-end engine throughput vs classify-only (benchmarks/README.md, "## replay").

A generated scenario: one client opens 1,000 TCP connections to a server (10 listening
ports) and sends 100,000 data segments in total (100 per connection); the server's policy
has 1,000 filters spread over the layers the traffic crosses (AUTH_RECV_ACCEPT, the
transport, IP packet and stream layers), most of them not matching. Reported (CPU
seconds of this process, best of ``--repeat`` rounds; each round times every figure
once, in turn, so the figures of a round share the machine's load):

* end to end: classifications per second of ``run_network`` — stack, flows, virtual
  clock, arbitration, the whole trace stored (``core.trace.Trace``: compact rows, from
  which any record is built when read). Everything ``wfptui run`` does before printing.
  The result is released after the clock stops;
* classify only, memo-cached: ``CompiledLayer.classify`` on exactly the same (layer,
  values) pairs, in the same order, captured during the run, on the run's compiled layers
  with their memo caches warm — a repeated packet is one key build and one dict lookup;
* classify only, uncached: the same pairs on ``compile_policy(policy, cache=False)`` —
  the real matching and arbitration cost of every packet;
* end to end + every record built: end to end, then every record object built from its
  row (what a reader of the whole trace — printing, a recording — pays on top).

Target: end to end >= 0.5 x classify only.  Usage: ``python benchmarks/replay.py
[--connections N] [--packets N] [--filters N] [--repeat N]``.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from wfptui.core.arbitration import CompiledLayer, compile_policy  # noqa: E402
from wfptui.core.engine import drive, run_network  # noqa: E402
from wfptui.core.model import Value  # noqa: E402
from wfptui.core.scenario import AppSpec, HostSpec, Scenario, Step  # noqa: E402
from wfptui.core.sim import Network  # noqa: E402
from wfptui.core.trace import ClassifyRecord  # noqa: E402
from wfptui.io.policy_file import parse_policy  # noqa: E402

PORTS = [8000 + i for i in range(10)]
LAYERS = ["INBOUND_IPPACKET_V4", "INBOUND_TRANSPORT_V4", "STREAM_V4", "OUTBOUND_TRANSPORT_V4",
          "OUTBOUND_IPPACKET_V4", "ALE_AUTH_RECV_ACCEPT_V4", "ALE_FLOW_ESTABLISHED_V4"]


def policy_text(n: int) -> str:
    out = []
    for i in range(n):
        layer = LAYERS[i % len(LAYERS)]
        port_field = "IP_LOCAL_PORT"
        if layer.endswith("IPPACKET_V4"):
            cond = f'{{ field = "IP_REMOTE_ADDRESS", value = "172.{16 + i % 16}.{i % 256}.0/24" }}'
        elif i % 10 == 0:
            cond = f'{{ field = "{port_field}", value = {PORTS[i % len(PORTS)]} }}'
        else:
            cond = f'{{ field = "{port_field}", match = "range", value = [{20000 + i * 3}, {20001 + i * 3}] }}'
        action = "permit" if i % 10 == 0 else "block"
        out.append(f'[[filter]]\nkey = "f{i}"\nlayer = "{layer}"\naction = "{action}"\nweight = {i % 16}\n'
                   f"condition = [ {cond} ]\n")
    return "\n".join(out)


def make_scenario(connections: int, packets: int, filters: int) -> Scenario:
    policy = parse_policy(policy_text(filters), "<bench>")
    client = HostSpec("client", addresses=("10.0.0.1",), apps=(AppSpec("app", "C:\\app.exe"),))
    server = HostSpec("server", addresses=("10.0.0.2",), policy=policy, apps=(AppSpec("srv", "C:\\srv.exe"),))
    steps: list[Step] = []
    for i, port in enumerate(PORTS):
        steps.append(Step(index=len(steps), do="listen", host="server", app="srv", port=port, socket=f"l{i}"))
    for c in range(connections):
        steps.append(Step(index=len(steps), do="connect", host="client", app="app",
                          to=f"10.0.0.2:{PORTS[c % len(PORTS)]}", socket=f"c{c}"))
    per = packets // connections
    for c in range(connections):
        steps.append(Step(index=len(steps), do="send", socket=f"c{c}", bytes=per * 100, packets=per))
    return Scenario("replay-bench", (client, server), tuple(steps))


def _cpu(fn: Callable[[], object]) -> float:
    """CPU seconds of one call, the GC paused (as during a run); the result is released
    after the clock stops."""
    gc.collect()
    gc.disable()
    try:
        t0 = time.process_time()
        keep = fn()
        spent = time.process_time() - t0
        del keep
    finally:
        gc.enable()
    return spent


def _rounds(fns: list[Callable[[], object]], repeat: int) -> list[list[float]]:
    """``repeat`` rounds, each timing every fn once, in turn: the figures of one round
    share the machine's load of that moment (this machine is shared and noisy)."""
    out: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            out[i].append(_cpu(fn))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--packets", type=int, default=100_000)
    ap.add_argument("--filters", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5,
                    help="rounds (each times every figure once, in turn); the best of each is reported")
    args = ap.parse_args()
    sc = make_scenario(args.connections, args.packets, args.filters)

    # Times are CPU seconds of this process (time.process_time): the figures stay
    # comparable on a busy machine; the best of --repeat runs is reported for each.
    net = Network(sc)
    capture: list[tuple[CompiledLayer, dict[str, Value]]] = []
    net.capture = capture
    result = drive(run_network(net, sc))
    n = sum(1 for r in result.records if isinstance(r, ClassifyRecord))
    assert n == len(capture)
    n_records = len(result.records)
    del result

    # classify only without the arbitration's memo caches: the real matching cost
    uncached = {}
    for host in net.hosts.values():
        plain = compile_policy(host.policy, cache=False)
        for cl in host._cl.values():
            uncached[id(cl)] = plain.layer(cl.layer)

    def end_to_end() -> object:
        # as users get it: a fresh network, no capture hook; the compiled policy and its
        # memo caches are shared with the capture run, as in a TUI re-run
        return drive(run_network(Network(sc), sc))

    def classify_cached() -> None:
        # the same (layer, values) pairs, same order, same compiled layers (memo warm)
        for cl, values in capture:
            cl.classify(values)

    def classify_uncached() -> None:
        for cl, values in capture:
            uncached[id(cl)].classify(values)

    def materialize() -> object:
        # end to end, then every record built as an object (what printing the trace reads)
        result = drive(run_network(Network(sc), sc))
        for _ in result.records:
            pass
        return result

    e2e_t, only_t, cold_t, mat_t = _rounds([end_to_end, classify_cached, classify_uncached, materialize],
                                           args.repeat)
    e2e, only, cold, mat = min(e2e_t), min(only_t), min(cold_t), min(mat_t)
    ratios = sorted(o / e for e, o in zip(e2e_t, only_t, strict=True))
    rate_e2e, rate_only, rate_cold, rate_mat = n / e2e, n / only, n / cold, n / mat
    print(f"scenario: {args.connections} connections, {args.packets} data packets, {args.filters} filters")
    print(f"classifications: {n}  records: {n_records}  (best of {args.repeat} runs per figure)")
    print(f"end to end:                      {rate_e2e:12,.0f} classifications/s ({e2e:.2f} s CPU)")
    print(f"classify only, memo-cached:      {rate_only:12,.0f} classifications/s ({only:.2f} s CPU)")
    print(f"classify only, uncached:         {rate_cold:12,.0f} classifications/s ({cold:.2f} s CPU)")
    print(f"end to end + every record built: {rate_mat:12,.0f} classifications/s ({mat:.2f} s CPU)")
    print(f"ratio end to end / classify only, memo-cached: {rate_e2e / rate_only:.2f} (target >= 0.50; "
          f"per round: median {ratios[len(ratios) // 2]:.2f}, range {ratios[0]:.2f}-{ratios[-1]:.2f})")
    print(f"ratio end to end / classify only, uncached:    {rate_e2e / rate_cold:.2f}")
    print(f"ratio end to end + records built / classify only, memo-cached: {rate_mat / rate_only:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
