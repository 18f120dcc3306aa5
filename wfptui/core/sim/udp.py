"""UDP (wfp-model.md §2.3; docs/decisions-engine.md "Layer sequences").

The first datagram to or from a new remote is authorized (``udp connect-redirect``, ``udp
connect``, ``udp established`` outbound; ``udp receive``, ``udp accept``, ``udp
established`` inbound), later ones only cross the data rows; flows idle out (60 s). A
datagram without a socket: ``udp no-listener``, then an ICMP port unreachable (``udp
port-unreachable``) unless blocked at the discard layer (stealth).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wfptui.core.pend import Pend
from wfptui.core.redirect import CONNECT, Redirect, endpoint_text
from wfptui.core.sim.api import Stack, family
from wfptui.core.sim.clock import Timer
from wfptui.core.sim.endpoint import Ctx
from wfptui.core.sim.objects import (
    ICMP4,
    ICMP6,
    INBOUND,
    OUTBOUND,
    REASON_CLASSIFY_COMPLETION,
    UDP,
    Host,
    Pkt,
    Sock,
    is_v4_mapped,
    v4_mapped,
)
from wfptui.core.values import format_address

if TYPE_CHECKING:
    from wfptui.core.sim.flows import Flow
    from wfptui.core.sim.sequences import Stage

__all__ = ["Udp"]

OUT, IN = "outbound", "inbound"


class Udp:
    """Datagrams sent and received."""

    def __init__(self, net: Stack) -> None:
        self.net = net
        #: First sends whose ALE_AUTH_CONNECT a callout pended (core.pend): (socket, remote) -> timer.
        self._pended: dict[tuple[int, tuple[int, int]], Timer | None] = {}

    def send(self, sock: Sock, raddr: int, rport: int, nbytes: int) -> None:
        net = self.net
        host = sock.host
        bits = sock.bits
        v4 = sock.dual and is_v4_mapped(raddr, bits)
        if v4:  # a dual-stack socket sending to ::ffff:a.b.c.d: IPv4 on the wire
            raddr, bits = raddr & 0xFFFFFFFF, 32
        key = (raddr, rport)
        flow = sock.flows.get(key)
        if flow is None and (id(sock), key) in self._pended:
            net.stack(host, "datagram-dropped", "the flow's ALE_AUTH_CONNECT is pended (FwpsPendOperation0)",
                      socket=sock.name)
            return
        if flow is None:
            loopback = host.owns(bits, raddr)
            own = sock.laddr if (sock.laddr and not sock.wildcard) else None
            if v4 and own is not None:
                own &= 0xFFFFFFFF
            laddr = own if own is not None else (raddr if loopback else host.local_addr(bits))
            assert laddr is not None
            ctx = Ctx(host, bits, UDP, laddr, sock.lport, raddr, rport, sock.app, loopback)
            if v4:
                ctx.mapped()  # V6 ALE layers with ::ffff:a.b.c.d (Traversal.walk)
            if net.walk(host, ctx, host.stage(bits, ("udp", "connect-redirect", OUT)), "DATAGRAM", None, OUT,
                        OUTBOUND, None) is not None:
                net.stack(host, "datagram-dropped", "blocked at ALE_CONNECT_REDIRECT", socket=sock.name)
                return
            red = net.redirected
            if red is not None and red.kind == CONNECT:
                moved = self._redirect(sock, ctx, red, own is not None)
                if moved is None:
                    return
                ctx = moved
            fid = net.flows.new_id()
            stage = host.stage(bits, ("udp", "connect", OUT))
            if net.walk(host, ctx, stage, "DATAGRAM", None, OUT, OUTBOUND, fid) is not None:
                pend = net.pended
                if pend is not None:
                    net.stack(host, "datagram-pended",
                              f"callout {pend.callout!r} rule {pend.rule} pended ALE_AUTH_CONNECT "
                              f"(FwpsPendOperation0); it completes {pend.when()}", fid, socket=sock.name,
                              callout=pend.callout)
                    self._pended[(id(sock), key)] = net.pend_later(host, pend, self._pend_done, sock, ctx, stage,
                                                                   fid, key, pend)
                    return
                net.stack(host, "datagram-dropped", "blocked at ALE_AUTH_CONNECT", fid, socket=sock.name)
                return
            flow = self._establish(sock, ctx, stage, fid, key)
            if flow is None:
                return
        elif flow.needs_reauth and not net.flows.reauthorize(flow, "DATAGRAM", OUT, OUTBOUND):
            net.stack(host, "datagram-dropped", "reauthorization blocked", flow.id, socket=sock.name)
            return
        flow.last = net.clock.now
        ctx = flow.ctx
        path = flow.out_path
        if path is None:
            path = flow.out_path = ctx.path(host.stage(bits, ("udp", "data", OUT)), "DATAGRAM", None, OUT, OUTBOUND,
                                            flow.id, False)
        blocked = net.cross(host, ctx, path)
        if blocked is not None:
            if family(blocked) == "DATAGRAM_DATA":
                net.stack(host, "datagram-dropped", "blocked at DATAGRAM_DATA", flow.id)
            else:
                net.stack(host, "packet-dropped", f"DATAGRAM blocked at {family(blocked)}", flow.id)
            return
        assert ctx.laddr is not None and ctx.raddr is not None and ctx.rport is not None
        # the flow's remote end: the one the app addressed, or where a callout redirected it
        net.wire(host, Pkt(UDP, bits, ctx.laddr, ctx.raddr, sock.lport, ctx.rport, "DATAGRAM", nbytes))

    def _redirect(self, sock: Sock, ctx: Ctx, red: Redirect, explicit: bool) -> Ctx | None:
        """A callout at ALE_CONNECT_REDIRECT rewrote the remote end of this UDP flow (the first
        send to a remote; "Using Bind or Connect Redirection": TCP and UDP): the flow, keyed by
        the remote the app addressed, goes to the new one. None: not modelled (another family)."""
        net = self.net
        host = sock.host
        assert ctx.raddr is not None and ctx.rport is not None and red.port is not None
        old = endpoint_text(ctx.raddr, ctx.bits, ctx.rport)
        if red.bits != ctx.bits:
            net.stack(host, "datagram-dropped", f"callout {red.callout!r} redirected {old} to another address family "
                      "(not modelled)", socket=sock.name)
            return None
        net.stack(host, "datagram-redirected", f"{old} -> {endpoint_text(red.addr, red.bits, red.port)} by callout "
                  f"{red.callout!r} rule {red.rule} (FwpsApplyModifiedLayerData0)", socket=sock.name,
                  callout=red.callout)
        return ctx.redirected_to(red.addr, red.port, explicit)

    def _establish(self, sock: Sock, ctx: Ctx, stage: Stage, fid: int, key: tuple[int, int]) -> Flow | None:
        """ALE_AUTH_CONNECT authorized the first send: the flow and its FLOW_ESTABLISHED."""
        net = self.net
        host = sock.host
        sock.authorized = True
        flow = net.flows.add(fid, host, UDP, stage, OUT, ctx, sock, key, idle=True)
        sock.flows[key] = flow
        if net.walk(host, ctx, host.stage(ctx.bits, ("udp", "established", OUT)), "DATAGRAM", None, OUT, OUTBOUND,
                    fid) is not None:
            net.flows.drop(flow, "blocked at ALE_FLOW_ESTABLISHED")
            return None
        return flow

    def _pend_done(self, sock: Sock, ctx: Ctx, stage: Stage, fid: int, key: tuple[int, int], pend: Pend) -> None:
        """FwpsCompleteOperation0: the first send's ALE_AUTH_CONNECT authorized again with
        IS_REAUTHORIZE; "non-TCP connections just create state entries. Any pended packet data
        is flushed from memory ..., so an application will have to retransmit those packets"."""
        net = self.net
        host = sock.host
        self._pended.pop((id(sock), key), None)
        if sock.state == "closed":
            return
        net.stack(host, "pend-completed",
                  f"callout {pend.callout!r} completed the pended ALE_AUTH_CONNECT (FwpsCompleteOperation0): "
                  "authorized again with IS_REAUTHORIZE", fid, socket=sock.name, callout=pend.callout)
        if net.walk(host, ctx, stage, "DATAGRAM", None, OUT, OUTBOUND, fid, REASON_CLASSIFY_COMPLETION) is not None:
            net.stack(host, "datagram-dropped", "blocked at ALE_AUTH_CONNECT when the pended classification "
                      "completed", fid, socket=sock.name)
            return
        if self._establish(sock, ctx, stage, fid, key) is not None:
            net.stack(host, "datagram-flushed", "the pended datagram was not sent (FwpsCompleteOperation0: pended "
                      "data is flushed); the flow exists, the application sends again", fid, socket=sock.name)

    def find(self, host: Host, bits: int, addr: int, port: int) -> Sock | None:
        """The UDP socket bound to (addr, port), a wildcard bind included."""
        for s in host.udp.get((bits, port), ()):
            if s.wildcard or s.laddr == (v4_mapped(addr) if s.dual and bits == 32 else addr):
                return s
        return None

    def receive(self, host: Host, pkt: Pkt, loopback: bool) -> None:
        net = self.net
        bits = pkt.bits
        sock = self.find(host, bits, pkt.dst, pkt.dport)
        flow = sock.flows.get((pkt.src, pkt.sport)) if sock is not None else None
        if flow is not None:
            ctx = flow.ctx
        else:
            ctx = Ctx(host, bits, pkt.proto, pkt.dst, pkt.dport, pkt.src, pkt.sport,
                      None if sock is None else sock.app, loopback)
            if sock is not None and sock.dual and bits == 32:
                ctx.mapped()  # IPv4 to a dual-stack socket: V6 ALE layers, ::ffff:a.b.c.d
        if sock is None:
            self._unreachable(host, pkt, ctx, loopback)
            return
        fid = None if flow is None else flow.id
        if net.walk(host, ctx, host.stage(bits, ("udp", "receive", IN)), "DATAGRAM", None, IN, INBOUND,
                    fid) is not None:
            return
        def new_flow(nfid: int, stage: Stage) -> Flow:
            assert sock is not None
            sock.authorized = True
            made = net.flows.add(nfid, host, UDP, stage, IN, ctx, sock, (pkt.src, pkt.sport), idle=True)
            sock.flows[(pkt.src, pkt.sport)] = made
            return made

        flow = net.flows.admit_inbound(host, ctx, "udp", "DATAGRAM", flow, new_flow, "datagram-dropped",
                                       "blocked at ALE_AUTH_RECV_ACCEPT")
        if flow is None:
            return
        # recvfrom() on a dual-stack socket names an IPv4 peer ::ffff:a.b.c.d (Winsock "Dual-Stack Sockets")
        sock.last_peer = (v4_mapped(pkt.src) if sock.dual and bits == 32 else pkt.src, pkt.sport)
        net.stack(host, "datagram-delivered", "", flow.id, bytes=pkt.nbytes, socket=sock.name)

    def _unreachable(self, host: Host, pkt: Pkt, ctx: Ctx, loopback: bool) -> None:
        """§2.3: the ``udp no-listener`` row, then ICMP port unreachable out unless blocked."""
        net = self.net
        blocked = net.walk(host, ctx, host.stage(pkt.bits, ("udp", "no-listener", IN)), "DATAGRAM", None, IN,
                           INBOUND, None, stack_discard=True)
        if blocked is not None and not blocked.is_discard:
            return  # dropped at INBOUND_IPPACKET
        net.stack(host, "no-listener", f"datagram to UDP port {pkt.dport}: no socket", port=pkt.dport)
        if blocked is not None:
            net.stack(host, "icmp-error-suppressed", "blocked at INBOUND_IPPACKET_DISCARD (stealth)")
            return
        v4 = pkt.bits == 32
        itype, icode = (3, 3) if v4 else (1, 4)  # port unreachable (ICMPv4 3/3, ICMPv6 1/4)
        proto = ICMP4 if v4 else ICMP6
        ectx = Ctx(host, pkt.bits, proto, pkt.dst, itype, pkt.src, icode, None, loopback)
        blocked = net.walk(host, ectx, host.stage(pkt.bits, ("udp", "port-unreachable", OUT)), "ICMP-ERROR", None,
                           OUT, OUTBOUND, None)
        if blocked is not None:
            if family(blocked) == "OUTBOUND_ICMP_ERROR":
                net.stack(host, "icmp-error-suppressed", "blocked at OUTBOUND_ICMP_ERROR")
            else:
                net.stack(host, "packet-dropped", f"ICMP-ERROR blocked at {family(blocked)}")
            return
        err = Pkt(proto, pkt.bits, pkt.dst, pkt.src, itype, icode, "ICMP-ERROR", icmp_type=itype, icmp_code=icode,
                  embedded=(UDP, pkt.src, pkt.sport, pkt.dst, pkt.dport))
        net.wire(host, err)
        net.stack(host, "icmp-error-sent", f"port unreachable (type {itype} code {icode}) to "
                  f"{format_address(pkt.src, pkt.bits)}")
