"""``probe`` steps: a port scanner's raw packet (docs/decisions-engine.md "probe").

The prober has no socket and no ALE: only the ``ip send`` row; answers (RST, SYN-ACK,
ICMP error) are reported as ``probe-result``; no answer within 2 s: ``probe-no-response``.
"""

from __future__ import annotations

from wfptui.core.scenario import Step
from wfptui.core.sim.api import Stack
from wfptui.core.sim.endpoint import Ctx
from wfptui.core.sim.objects import PROBE_TIMEOUT, TCP, UDP, Host, Pkt

__all__ = ["Probes"]


class Probes:
    """Probes sent, their timers and their answers."""

    def __init__(self, net: Stack) -> None:
        self.net = net

    def do_probe(self, step: Step) -> None:
        net = self.net
        host = net.host_of(step)
        assert step.to is not None
        raddr, bits, rport = net.resolve(step.to)
        laddr = raddr if host.owns(bits, raddr) else host.local_addr(bits)
        if laddr is None:
            net.stack(host, "probe-failed", "no local address of that family")
            return
        proto = UDP if step.proto == "udp" else TCP
        sport = host.alloc_port(proto, bits)
        # A scanner crafts the packet itself (raw): no ALE, only the outbound packet layers.
        ctx = Ctx(host, bits, proto, laddr, sport, raddr, rport, None, host.owns(bits, raddr))
        pkt = Pkt(proto, bits, laddr, raddr, sport, rport, "SYN" if proto == TCP else "DATAGRAM",
                  0 if proto == TCP else (step.bytes or 0), probe=True)
        key = (proto, bits, raddr, rport, sport)
        host.probes[key] = net.clock.timer(PROBE_TIMEOUT, self._timer, host, key)
        net.stack(host, "probe-sent", f"{'SYN' if proto == TCP else 'datagram'} to port {rport}", port=rport)
        net.out_packet(host, ctx, pkt, None)

    def _timer(self, host: Host, key: tuple[int, int, int, int, int]) -> None:
        host.probes.pop(key, None)
        proto = key[0]
        what = "filtered (stealth or blocked)" if proto == TCP else "open|filtered"
        self.net.stack(host, "probe-no-response",
                       f"no response from port {key[3]}: {what}; a scanner would retransmit, then give up",
                       port=key[3])

    def answer(self, host: Host, pkt: Pkt, verdict: str) -> bool:
        """A response to one of this host's probes? Record it."""
        proto = TCP if pkt.proto == TCP else UDP
        if pkt.embedded is not None:
            _, _, sport, dst, dport = pkt.embedded
            key = (UDP, pkt.bits, dst, dport, sport)
        else:
            key = (proto, pkt.bits, pkt.src, pkt.sport, pkt.dport)
        if key not in host.probes:
            return False
        host.probes.pop(key).cancel()
        self.net.stack(host, "probe-result", f"port {key[3]} {verdict}", port=key[3])
        return True
