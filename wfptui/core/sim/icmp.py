"""ICMP: echo (``ping``) and received errors (wfp-model.md §2.4, §2.6; derived sequences in
docs/decisions-engine.md "ICMP echo" and "ICMP errors and the transport layer").

An echo is an ALE flow keyed by (addresses, type, code, id), authorized like a UDP flow;
the reply rides the same flow on both hosts (no ALE). Type in IP_LOCAL_PORT, code in
IP_REMOTE_PORT. A received ICMP error crosses only INBOUND_IPPACKET and the ICMP error layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wfptui.core.model import Value
from wfptui.core.scenario import AppSpec, Step
from wfptui.core.sim.api import Stack, family
from wfptui.core.sim.endpoint import Ctx
from wfptui.core.sim.objects import (
    ICMP4,
    ICMP6,
    INBOUND,
    NLAT_UNICAST,
    OUTBOUND,
    PING_APP,
    PING_TIMEOUT,
    SYSTEM_APP,
    Host,
    Pkt,
)
from wfptui.core.sim.udp import Udp
from wfptui.core.values import format_address

if TYPE_CHECKING:
    from wfptui.core.sim.flows import Flow
    from wfptui.core.sim.sequences import Stage

__all__ = ["Icmp"]

OUT, IN = "outbound", "inbound"


class Icmp:
    """``ping`` steps, echo requests and replies, received ICMP errors."""

    def __init__(self, net: Stack, udp: Udp) -> None:
        self.net = net
        self.udp = udp

    def do_ping(self, step: Step) -> None:
        net = self.net
        host = net.host_of(step)
        assert step.to is not None
        raddr, bits, _ = net.resolve(step.to)
        app = net.app(host, step.app, PING_APP) if step.app is not None else PING_APP
        ident = host.next_icmp_id
        host.next_icmp_id += 1
        for i in range(max(1, step.count)):
            net.clock.call_later(float(i), self.send_echo, host, app, bits, raddr, ident, i + 1)

    def send_echo(self, host: Host, app: AppSpec, bits: int, raddr: int, ident: int, seq: int) -> None:
        net = self.net
        proto = ICMP4 if bits == 32 else ICMP6
        etype = 8 if bits == 32 else 128
        loopback = host.owns(bits, raddr)
        laddr = raddr if loopback else host.local_addr(bits)
        if laddr is None:
            net.stack(host, "ping-failed", "no local address of that family")
            return
        key = ("out", bits, laddr, raddr, ident)
        flow = host.icmp_flows.get(key)
        if flow is None:
            ctx = Ctx(host, bits, proto, laddr, etype, raddr, 0, app, loopback)
            fid = net.flows.new_id()
            stage = host.stage(bits, ("icmp", "connect", OUT))
            if net.walk(host, ctx, stage, "ICMP", None, OUT, OUTBOUND, fid) is not None:
                net.stack(host, "ping-failed", "echo request blocked at ALE_AUTH_CONNECT (transmit failed)", fid)
                return
            flow = net.flows.add(fid, host, proto, stage, OUT, ctx, None, key, idle=True)
            host.icmp_flows[key] = flow
            if net.walk(host, ctx, host.stage(bits, ("icmp", "established", OUT)), "ICMP", None, OUT, OUTBOUND,
                        fid) is not None:
                net.flows.drop(flow, "blocked at ALE_FLOW_ESTABLISHED")
                return
        elif flow.needs_reauth and not net.flows.reauthorize(flow, "ICMP", OUT, OUTBOUND):
            net.stack(host, "ping-failed", "echo request: reauthorization blocked", flow.id)
            return
        flow.last = net.clock.now
        if net.walk(host, flow.ctx, host.stage(bits, ("icmp", "data", OUT)), "ICMP", None, OUT, OUTBOUND,
                    flow.id) is not None:
            net.stack(host, "ping-failed", "echo request blocked at DATAGRAM_DATA", flow.id)
            return
        pkt = Pkt(proto, bits, laddr, raddr, etype, 0, "ICMP", icmp_type=etype, ident=ident, seq=seq)
        host.pings[(ident, seq)] = net.clock.timer(PING_TIMEOUT, self._ping_timer, host, ident, seq, flow.id)
        net.stack(host, "echo-request-sent", f"id {ident} seq {seq}", flow.id)
        net.out_packet(host, flow.ctx, pkt, flow.id)

    def _ping_timer(self, host: Host, ident: int, seq: int, fid: int) -> None:
        host.pings.pop((ident, seq), None)
        self.net.stack(host, "ping-timeout", f"id {ident} seq {seq}: request timed out", fid)

    def receive_echo(self, host: Host, pkt: Pkt, loopback: bool) -> None:
        net = self.net
        bits = pkt.bits
        request = pkt.icmp_type in (8, 128)
        if request:
            key: tuple[str, int, int, int, int] = ("in", bits, pkt.dst, pkt.src, pkt.ident)
        else:
            key = ("out", bits, pkt.dst, pkt.src, pkt.ident)
        flow = host.icmp_flows.get(key)
        if flow is not None:
            if request:
                ctx = flow.ctx
            else:
                if flow.reply_ctx is None:
                    c = flow.ctx
                    flow.reply_ctx = Ctx(host, bits, pkt.proto, c.laddr, pkt.icmp_type, c.raddr, 0, c.app, loopback)
                ctx = flow.reply_ctx
        else:
            ctx = Ctx(host, bits, pkt.proto, pkt.dst, pkt.icmp_type, pkt.src, pkt.icmp_code,
                      SYSTEM_APP if request else None, loopback)
        fid = None if flow is None else flow.id
        if net.walk(host, ctx, host.stage(bits, ("icmp", "receive", IN)), "ICMP", None, IN, INBOUND,
                    fid) is not None:
            return
        if flow is None and not request:
            net.stack(host, "packet-dropped", "echo reply without a flow")
            return

        def new_flow(nfid: int, stage: Stage) -> Flow:
            made = net.flows.add(nfid, host, pkt.proto, stage, IN, ctx, None, key, idle=True)
            host.icmp_flows[key] = made
            return made

        flow = net.flows.admit_inbound(host, ctx, "icmp", "ICMP", flow, new_flow, "echo-dropped",
                                       "echo request blocked at ALE_AUTH_RECV_ACCEPT: no reply")
        if flow is None:
            return
        if not request:
            timer = host.pings.pop((pkt.ident, pkt.seq), None)
            if timer is not None:
                timer.cancel()
            net.stack(host, "echo-reply-received", f"id {pkt.ident} seq {pkt.seq}", flow.id)
            return
        net.stack(host, "echo-request-received", f"id {pkt.ident} seq {pkt.seq}", flow.id)
        # The echo reply belongs to the same flow: no ALE (§2.6).
        rtype = 0 if bits == 32 else 129
        if flow.reply_ctx is None:
            flow.reply_ctx = Ctx(host, bits, pkt.proto, pkt.dst, rtype, pkt.src, 0, SYSTEM_APP, loopback)
        rctx = flow.reply_ctx
        if flow.needs_reauth and not net.flows.reauthorize(flow, "ICMP", OUT, OUTBOUND):
            return
        blocked = net.walk(host, rctx, host.stage(bits, ("icmp", "reply", OUT)), "ICMP", None, OUT, OUTBOUND,
                           flow.id)
        if blocked is not None:
            if family(blocked) != "DATAGRAM_DATA":
                net.stack(host, "packet-dropped", f"ICMP blocked at {family(blocked)}", flow.id)
            return
        net.wire(host, Pkt(pkt.proto, bits, pkt.dst, pkt.src, rtype, 0, "ICMP", icmp_type=rtype, ident=pkt.ident,
                           seq=pkt.seq))

    def receive_error(self, host: Host, pkt: Pkt, loopback: bool) -> None:
        net = self.net
        assert pkt.embedded is not None
        eproto, esrc, esport, edst, edport = pkt.embedded
        extra: dict[str, Value] = {"EMBEDDED_PROTOCOL": eproto, "EMBEDDED_REMOTE_ADDRESS": edst,
                                   "EMBEDDED_LOCAL_PORT": esport, "EMBEDDED_REMOTE_PORT": edport,
                                   "EMBEDDED_LOCAL_ADDRESS_TYPE": NLAT_UNICAST}
        ctx = Ctx(host, pkt.bits, pkt.proto, pkt.dst, pkt.icmp_type, pkt.src, pkt.icmp_code, None, loopback,
                  extra=extra)
        if net.walk(host, ctx, host.stage(pkt.bits, ("icmp", "error", IN)), "ICMP-ERROR", None, IN, INBOUND,
                    None) is not None:
            return
        if net.probes.answer(host, pkt, "closed (ICMP port unreachable)"):
            return
        sock = self.udp.find(host, pkt.bits, esrc, esport)
        net.stack(host, "port-unreachable",
                  f"ICMP error for UDP {format_address(edst, pkt.bits)}:{edport}; the socket's next "
                  "receive fails (WSAECONNRESET)", socket=None if sock is None else sock.name)
