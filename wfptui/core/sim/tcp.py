"""TCP (wfp-model.md §2.2, table §2.12; docs/decisions-engine.md "Layer sequences").

Passive open (``tcp bind``, ``tcp listen``); active open (implicit bind, ``tcp
connect-redirect``, ``tcp connect``, the SYN); the server's SYN (``tcp receive``, ``tcp
accept``, SYN-ACK); the client's SYN-ACK (``tcp receive``, ``tcp established`` outbound,
ACK); the server's ACK (``tcp receive``, ``tcp established`` inbound); data (``tcp data``
each way); a segment without a connection (``tcp no-listener``, RST unless blocked at the
discard layer: stealth, §2.4). SYNs are retransmitted (TcpMaxConnectRetransmissions = 2).
"""

from __future__ import annotations

from wfptui.core.datatypes import WinVersion
from wfptui.core.pend import Pend
from wfptui.core.redirect import CONNECT, Redirect, endpoint_text
from wfptui.core.scenario import Step
from wfptui.core.sim.api import Stack, family
from wfptui.core.sim.endpoint import Ctx
from wfptui.core.sim.objects import (
    INBOUND,
    MAX_SYN_RETRANSMITS,
    OUTBOUND,
    REASON_CLASSIFY_COMPLETION,
    TCP,
    UDP,
    Host,
    Pkt,
    Sock,
    is_v4_mapped,
    v4_mapped,
)
from wfptui.core.sim.sequences import Stage
from wfptui.core.sim.sockets import Sockets
from wfptui.core.values import format_address, parse_address

__all__ = ["Tcp"]

OUT, IN = "outbound", "inbound"


class Tcp:
    """``listen`` and ``connect`` steps, segments sent and received."""

    def __init__(self, net: Stack, sockets: Sockets) -> None:
        self.net = net
        self.sockets = sockets

    # -- steps ---------------------------------------------------------------------
    def do_listen(self, step: Step) -> None:
        net = self.net
        host = net.host_of(step)
        if (step.proto or "tcp") != "tcp":
            self.sockets.do_bind(step)
            return
        where = self.sockets.local_bind(host, step)
        if where is None:
            net.stack(host, "listen-failed", "host has no address")
            return
        bits, laddr, wildcard = where
        sock = Sock(step.socket, host, "tcp-listen", net.app(host, step.app), bits)
        sock.laddr, sock.wildcard, sock.dual = laddr, wildcard, step.dual_stack
        net.name_sock(sock)
        if not self.sockets.bind(host, sock, TCP, step.port or 0):
            sock.state = "failed"
            return
        assert sock.bind_ctx is not None
        if net.walk(host, sock.bind_ctx, host.stage(bits, ("tcp", "listen", None)), None, "listen", None, None,
                    None) is not None:
            net.stack(host, "listen-failed", "blocked at ALE_AUTH_LISTEN (WSAEACCES)", socket=sock.name)
            sock.state = "failed"
            return
        sock.state = "listening"
        for b in sock.port_families():  # a dual-stack listener accepts IPv4 connections too
            host.listeners.setdefault((b, sock.lport), []).append(sock)
        net.stack(host, "listening", f"TCP port {sock.lport}", socket=sock.name, port=sock.lport)

    def do_connect(self, step: Step) -> None:
        """``connect``: TCP's active open; for UDP only a bind and the default remote (§2.3)."""
        net = self.net
        host = net.host_of(step)
        record = None
        if step.redirect_records is not None:  # a local proxy's outbound connection (core.redirect)
            src = net.sock_named(step.redirect_records)
            record = None if src is None else src.redirect_record
            if record is None:
                net.stack(host, "connect-failed", f"socket {step.redirect_records!r} carries no redirect records "
                          "(SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS: it is not a redirected connection)")
                return
        if step.to is not None:
            raddr, bits, rport = net.resolve(step.to)
        else:  # the original destination, from the redirect context (SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT)
            assert record is not None
            _, raddr, bits, rport = record
        proto = UDP if step.proto == "udp" else TCP
        dual = step.dual_stack
        if dual and is_v4_mapped(raddr, bits):  # connect(::ffff:a.b.c.d): IPv4 on the wire
            raddr, bits = raddr & 0xFFFFFFFF, 32
        loopback = host.owns(bits, raddr)
        explicit = False
        if step.address is not None:  # bind() to this local address first, then connect()
            lv, lbits = parse_address(step.address)
            if dual and bits == 32 and (lv == 0 or is_v4_mapped(lv, lbits)):
                lv, lbits = lv & 0xFFFFFFFF, 32  # "::" or ::ffff:a.b.c.d: the IPv4 side of the socket
            if lbits != bits:
                net.stack(host, "connect-failed", f"local address {step.address} is not of the family of "
                          f"{format_address(raddr, bits)} (WSAEAFNOSUPPORT)")
                return
            laddr: int | None = None if lv == 0 else lv
            explicit = laddr is not None
            if laddr is None:
                laddr = raddr if loopback else host.local_addr(bits)
        else:
            laddr = raddr if loopback else host.local_addr(bits)
        if laddr is None:
            net.stack(host, "connect-failed", "no local address of that family (WSAENETUNREACH)")
            return
        udp_dual = dual and proto == UDP  # a UDP socket stays IPv6: its IPv4 peers are mapped addresses
        sock = Sock(step.socket, host, "udp" if proto == UDP else "tcp", net.app(host, step.app),
                    128 if udp_dual else bits)
        sock.laddr, sock.wildcard, sock.implicit = laddr, not explicit, not explicit
        if udp_dual and bits == 32:
            sock.laddr = v4_mapped(laddr)
        sock.dual = dual
        net.name_sock(sock)
        if not self.sockets.bind(host, sock, proto, step.port or 0):
            sock.state = "failed"
            return
        if not sock.wildcard and sock.laddr is not None and sock.laddr != laddr and not udp_dual:
            laddr = sock.laddr  # a callout redirected the bind (core.redirect): the connection leaves from there
        if proto == UDP:
            # connect() on UDP only fixes the default remote; ALE runs at the first send (§2.3).
            sock.state = "bound"
            sock.default_remote = (v4_mapped(raddr) if udp_dual and bits == 32 else raddr, rport)
            for b in sock.port_families():
                host.udp.setdefault((b, sock.lport), []).append(sock)
            net.stack(host, "connected", "UDP default remote set (no packet)", socket=sock.name)
            return
        ctx = Ctx(host, bits, TCP, laddr, sock.lport, raddr, rport, sock.app, loopback)
        if record is not None:
            ctx.proxied = True  # SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS: IS_PROXY_CONNECTION (Win8+)
            sock.redirect_record = record
        if dual and bits == 32:
            ctx.mapped()  # its ALE layers are V6 with ::ffff:a.b.c.d (Traversal.walk)
        sock.raddr, sock.rport = raddr, rport
        if net.walk(host, ctx, host.stage(bits, ("tcp", "connect-redirect", OUT)), None, "connect", OUT, None,
                    None) is not None:
            self._connect_failed(sock, "blocked at ALE_CONNECT_REDIRECT (WSAEACCES)")
            return
        red = net.redirected
        if red is not None and red.kind == CONNECT:
            moved = self._redirect(sock, ctx, red, explicit)
            if moved is None:
                return
            ctx = moved
        fid = net.flows.new_id()
        # An AUTH_CONNECT indication, permitted or not: ENDPOINT_CLOSURE at close (Win7+).
        sock.authorized = True
        sock.auth = (ctx, fid)
        stage = host.stage(bits, ("tcp", "connect", OUT))
        if net.walk(host, ctx, stage, None, "connect", OUT, OUTBOUND, fid) is not None:
            pend = net.pended
            if pend is not None:
                self._pend_connect(sock, ctx, stage, fid, pend)
                return
            self._connect_failed(sock, "blocked at ALE_AUTH_CONNECT (WSAEACCES)")
            return
        self._open(sock, ctx, stage, fid)

    def _redirect(self, sock: Sock, ctx: Ctx, red: Redirect, explicit: bool) -> Ctx | None:
        """A callout at ALE_CONNECT_REDIRECT rewrote the remote end ("Using Bind or Connect
        Redirection": "Changes at connect layers affect only the flow being connected"): the
        rest of the connection -- ALE_AUTH_CONNECT with IS_CONNECTION_REDIRECTED, the packets --
        uses the new tuple; the original destination is kept as the redirect record and context a
        local proxy reads. None: the connect failed."""
        net = self.net
        host = sock.host
        assert sock.raddr is not None and sock.rport is not None and red.port is not None
        old = endpoint_text(sock.raddr, ctx.bits, sock.rport)
        if red.bits != ctx.bits:
            self._connect_failed(sock, f"callout {red.callout!r} redirected {old} to an IPv{4 if red.bits == 32 else 6} "
                                 "address (another address family: not modelled)")
            return None
        net.stack(host, "connect-redirected",
                  f"{old} -> {endpoint_text(red.addr, red.bits, red.port)} by callout {red.callout!r} rule {red.rule} "
                  "(FwpsApplyModifiedLayerData0); the redirect record keeps the original destination",
                  socket=sock.name, callout=red.callout)
        sock.redirect_record = (red.callout, sock.raddr, ctx.bits, sock.rport)
        new = ctx.redirected_to(red.addr, red.port, explicit)
        sock.laddr, sock.raddr, sock.rport = new.laddr, red.addr, red.port
        return new

    def _open(self, sock: Sock, ctx: Ctx, stage: Stage, fid: int) -> None:
        """The connect authorized: the connection, its flow, the SYN."""
        net = self.net
        host = sock.host
        assert sock.raddr is not None and sock.rport is not None and sock.laddr is not None
        key = (ctx.bits, sock.laddr, sock.lport, sock.raddr, sock.rport)
        sock.conn_key = key
        host.conns[key] = sock
        sock.flow = net.flows.add(fid, host, TCP, stage, OUT, ctx, sock, key, idle=False)
        sock.state = "syn-sent"
        self._send_syn(sock)

    # -- a pended connect (core.pend) -----------------------------------------------------
    def _pend_connect(self, sock: Sock, ctx: Ctx, stage: Stage, fid: int, pend: Pend) -> None:
        """A callout pended ALE_AUTH_CONNECT (FwpsPendOperation0): no SYN yet; the callout
        completes it ``pend.after`` seconds later (FwpsCompleteOperation0)."""
        net = self.net
        sock.state = "pended"
        net.stack(sock.host, "connect-pended",
                  f"callout {pend.callout!r} rule {pend.rule} pended ALE_AUTH_CONNECT (FwpsPendOperation0); "
                  f"it completes {pend.when()}", fid, socket=sock.name, callout=pend.callout)
        sock.timer = net.pend_later(sock.host, pend, self._pend_done, sock, ctx, stage, fid, pend)

    def _pend_done(self, sock: Sock, ctx: Ctx, stage: Stage, fid: int, pend: Pend) -> None:
        """FwpsCompleteOperation0: "Pended connections are authenticated again" -- ALE_AUTH_CONNECT
        classified again with IS_REAUTHORIZE (reason CLASSIFY_COMPLETION); TCP, if allowed,
        goes on with the handshake."""
        if sock.state != "pended":  # closed meanwhile
            return
        net = self.net
        host = sock.host
        net.stack(host, "pend-completed",
                  f"callout {pend.callout!r} completed the pended ALE_AUTH_CONNECT (FwpsCompleteOperation0): "
                  "authorized again with IS_REAUTHORIZE", fid, socket=sock.name, callout=pend.callout)
        if net.walk(host, ctx, stage, None, "connect", OUT, OUTBOUND, fid, REASON_CLASSIFY_COMPLETION) is not None:
            self._connect_failed(sock, "blocked at ALE_AUTH_CONNECT when the pended classification completed "
                                 "(WSAEACCES)")
            return
        self._open(sock, ctx, stage, fid)

    def _connect_failed(self, sock: Sock, detail: str) -> None:
        sock.state = "failed"
        self.net.stack(sock.host, "connect-failed", detail, None if sock.flow is None else sock.flow.id,
                       socket=sock.name)

    # -- SYN retransmission -----------------------------------------------------------
    def _rto(self, host: Host) -> float:
        return 3.0 if host.windows <= WinVersion.WIN7 else 1.0

    def _send_syn(self, sock: Sock) -> None:
        host = sock.host
        flow = sock.flow
        assert flow is not None
        self.net.out_packet(host, flow.ctx, sock.segment("SYN"), flow.id)
        tries = sock.syn_tries
        sock.timer = self.net.clock.timer(self._rto(host) * (2 ** tries), self._syn_timer, sock, tries)

    def _syn_timer(self, sock: Sock, tries: int) -> None:
        if sock.state != "syn-sent" or sock.syn_tries != tries:
            return
        if tries < MAX_SYN_RETRANSMITS:
            sock.syn_tries += 1
            self.net.stack(sock.host, "syn-retransmit", f"no answer; SYN retransmission {tries + 1}",
                           None if sock.flow is None else sock.flow.id, socket=sock.name)
            self._send_syn(sock)
            return
        self.net.flows.abort_conn(sock, "connect-failed", "no answer to SYN: connection timed out (WSAETIMEDOUT)")

    # -- data -------------------------------------------------------------------------
    def send(self, sock: Sock, nbytes: int) -> None:
        """One data segment: the ``tcp data`` outbound row, then the wire."""
        net = self.net
        host = sock.host
        flow = sock.flow
        if sock.state != "established" or flow is None or not flow.alive:
            net.stack(host, "send-failed", f"connection is {sock.state}", socket=sock.name)
            return
        if flow.needs_reauth and not net.flows.reauthorize(flow, "DATA", OUT, OUTBOUND):
            net.stack(host, "send-failed", "connection aborted", flow.id, socket=sock.name)
            return
        path = flow.out_path
        if path is None:
            path = flow.out_path = flow.ctx.path(host.stage(sock.bits, ("tcp", "data", OUT)), "DATA", None, OUT,
                                                 OUTBOUND, flow.id, False)
        if host.flow_layers is None:  # no callout reads flows here (the usual case): the plain crossing
            blocked = net.cross(host, flow.ctx, path)
        else:
            blocked = net.cross(host, flow.ctx, path, False, None, nbytes)
            if flow.state is not None and flow.state.dropped is not None:  # FWPS_STREAM_ACTION_DROP_CONNECTION
                net.stack(host, "data-dropped", "blocked at STREAM", flow.id, bytes=nbytes)
                net.flows.stream_dropped(flow)
                return
        if blocked is None:
            pkt = sock.data_pkt  # packets are immutable: a segment of the same size is reused
            if pkt is None or pkt.nbytes != nbytes:
                pkt = sock.data_pkt = sock.segment("DATA", nbytes)
            net.wire(host, pkt)
        elif family(blocked) == "STREAM":
            net.stack(host, "data-dropped", "blocked at STREAM", flow.id, bytes=nbytes)
        else:
            net.stack(host, "packet-dropped", f"DATA blocked at {family(blocked)}", flow.id)

    # -- inbound ----------------------------------------------------------------------
    def receive(self, host: Host, pkt: Pkt, loopback: bool) -> None:
        """A segment arrives at ``host``."""
        net = self.net
        conn = host.conns.get(pkt.ckey)
        if conn is None or conn.flow is None:
            self._stray(host, pkt, loopback)
            return
        flow = conn.flow
        fid = flow.id
        ctx = flow.ctx
        kind = pkt.kind
        if kind == "DATA" and not flow.needs_reauth:
            path = flow.in_path
            if path is None:
                path = flow.in_path = ctx.path(host.stage(pkt.bits, ("tcp", "data", IN)), "DATA", None, IN, INBOUND,
                                               fid, False)
            delivered = flow.delivered
            if delivered is None or delivered[0] != pkt.nbytes:
                delivered = flow.delivered = (pkt.nbytes, net.stack_row(host, "data-delivered", "", fid,
                                                                        bytes=pkt.nbytes))
            if host.flow_layers is None:
                blocked = net.cross(host, ctx, path, False, delivered[1])  # then data-delivered
            else:
                blocked = net.cross(host, ctx, path, False, delivered[1], pkt.nbytes)
                if flow.state is not None and flow.state.dropped is not None:  # FWPS_STREAM_ACTION_DROP_CONNECTION
                    if blocked is not None:
                        net.stack(host, "data-dropped", "blocked at STREAM", fid, bytes=pkt.nbytes)
                    net.flows.stream_dropped(flow)
                    return
            if blocked is not None and family(blocked) == "STREAM":
                net.stack(host, "data-dropped", "blocked at STREAM", fid, bytes=pkt.nbytes)
            return
        if net.walk(host, ctx, host.stage(pkt.bits, ("tcp", "receive", IN)), kind, None, IN, INBOUND,
                    fid) is not None:
            return
        if flow.needs_reauth and kind != "RST" and not net.flows.reauthorize(flow, kind, IN, INBOUND):
            return
        if kind == "RST":
            if conn.state == "syn-sent":
                net.flows.abort_conn(conn, "connection-refused", "RST received (WSAECONNREFUSED)")
            else:
                net.flows.abort_conn(conn, "connection-reset", "RST received (WSAECONNRESET)")
        elif kind == "SYN":
            if conn.state == "syn-rcvd":  # a retransmitted SYN: answer again, no ALE (flow exists)
                net.out_packet(host, ctx, conn.segment("SYN-ACK"), fid)
        elif kind == "SYN-ACK":
            if conn.state != "syn-sent":
                return
            # Client: FLOW_ESTABLISHED after the SYN-ACK, before its ACK (§2.2).
            if net.walk(host, ctx, host.stage(pkt.bits, ("tcp", "established", OUT)), "ACK", None, OUT, OUTBOUND,
                        fid) is not None:
                net.flows.abort_conn(conn, "connect-failed", "blocked at ALE_FLOW_ESTABLISHED (WSAECONNABORTED)")
                return
            conn.state = "established"
            if conn.timer is not None:
                conn.timer.cancel()
            net.stack(host, "connected", "three-way handshake complete", fid, socket=conn.name)
            net.out_packet(host, ctx, conn.segment("ACK"), fid)
        elif kind == "ACK":
            if conn.state != "syn-rcvd":
                return
            if net.walk(host, ctx, host.stage(pkt.bits, ("tcp", "established", IN)), "ACK", None, IN, INBOUND,
                        fid) is not None:
                net.flows.abort_conn(conn, "accept-failed", "blocked at ALE_FLOW_ESTABLISHED")
                return
            conn.state = "established"
            lst = conn.listener
            if lst is not None:
                lst.accepted.append(conn)
                conn.name = f"{lst.name}#{len(lst.accepted)}" if lst.name else None
            net.stack(host, "listen-completed", "connection ready for accept()", fid, socket=conn.name)
        elif kind == "DATA":  # after a reauthorization: the rest of the receiver's row (§2.2)
            if net.walk(host, ctx, host.stage(pkt.bits, ("tcp", "stream", IN)), "DATA", None, IN, INBOUND,
                        fid, nbytes=pkt.nbytes) is not None:
                net.stack(host, "data-dropped", "blocked at STREAM", fid, bytes=pkt.nbytes)
                net.flows.stream_dropped(flow)
                return
            net.stack(host, "data-delivered", "", fid, bytes=pkt.nbytes)

    def _find_listener(self, host: Host, bits: int, addr: int, port: int) -> Sock | None:
        for s in host.listeners.get((bits, port), ()):
            if s.wildcard or s.laddr == (v4_mapped(addr) if s.dual and bits == 32 else addr):
                return s
        return None

    def _stray(self, host: Host, pkt: Pkt, loopback: bool) -> None:
        """A segment without a connection: a new SYN, a probe's answer, or no listener."""
        net = self.net
        kind = pkt.kind
        bits = pkt.bits
        ctx = Ctx(host, bits, pkt.proto, pkt.dst, pkt.dport, pkt.src, pkt.sport, None, loopback)
        receive = host.stage(bits, ("tcp", "receive", IN))
        listener = self._find_listener(host, bits, pkt.dst, pkt.dport) if kind == "SYN" else None
        if listener is None:
            if kind in ("SYN-ACK", "RST") and (pkt.proto, bits, pkt.src, pkt.sport, pkt.dport) in {
                    (TCP, k[1], k[2], k[3], k[4]) for k in host.probes}:
                if net.walk(host, ctx, receive, kind, None, IN, INBOUND, None) is not None:
                    return
                if kind == "RST":
                    net.probes.answer(host, pkt, "closed (RST)")
                else:
                    net.probes.answer(host, pkt, "open (SYN-ACK)")
                    net.out_packet(host, ctx, Pkt(TCP, bits, pkt.dst, pkt.src, pkt.dport, pkt.sport, "RST"), None)
                return
            self._no_listener(host, pkt, ctx)
            return
        blocked = net.walk(host, ctx, receive, kind, None, IN, INBOUND, None)
        if blocked is not None:
            if family(blocked) == "INBOUND_TRANSPORT":
                net.stack(host, "packet-dropped", "SYN blocked at INBOUND_TRANSPORT; the client retransmits")
            return
        key = (bits, pkt.dst, pkt.dport, pkt.src, pkt.sport)
        if key in host.pended_accepts:  # decided: the pended connection exists; its SYN is not classified again
            net.stack(host, "packet-dropped", "SYN retransmission: the connection's ALE_AUTH_RECV_ACCEPT is pended")
            return
        app = listener.app
        cctx = Ctx(host, bits, TCP, pkt.dst, pkt.dport, pkt.src, pkt.sport, app, loopback)
        if listener.dual and bits == 32:
            cctx.mapped()  # IPv4 to a dual-stack listener: V6 ALE layers, ::ffff:a.b.c.d
        fid = net.flows.new_id()
        stage = host.stage(bits, ("tcp", "accept", IN))
        if net.walk(host, cctx, stage, "SYN", None, IN, INBOUND, fid) is not None:
            pend = net.pended
            if pend is not None:
                net.stack(host, "accept-pended",
                          f"callout {pend.callout!r} rule {pend.rule} pended ALE_AUTH_RECV_ACCEPT (FwpsPendOperation0) "
                          f"and holds a clone of the SYN; it completes {pend.when()}", fid,
                          callout=pend.callout)
                host.pended_accepts[key] = net.pend_later(host, pend, self._accept_done, listener, pkt, cctx,
                                                          stage, fid, pend)
                return
            net.stack(host, "connection-blocked",
                      "SYN dropped at ALE_AUTH_RECV_ACCEPT (no RST); the client retransmits, then times out", fid)
            return
        self._accept(listener, pkt, cctx, stage, fid)

    def _accept_done(self, listener: Sock, pkt: Pkt, cctx: Ctx, stage: Stage, fid: int, pend: Pend) -> None:
        """FwpsCompleteOperation0 for a pended accept: the callout reinjects the SYN it cloned
        ("To complete a connection that was previously pended at the
        FWPS_LAYER_ALE_AUTH_RECV_ACCEPT_Xxx layer, the callout driver must reinject the packet
        that was cloned at that layer") and the connection is authorized again with
        IS_REAUTHORIZE (reason CLASSIFY_COMPLETION)."""
        net = self.net
        host = cctx.host
        host.pended_accepts.pop((pkt.bits, pkt.dst, pkt.dport, pkt.src, pkt.sport), None)
        net.stack(host, "pend-completed",
                  f"callout {pend.callout!r} completed the pended ALE_AUTH_RECV_ACCEPT (FwpsCompleteOperation0) and "
                  "reinjected the SYN: authorized again with IS_REAUTHORIZE", fid, callout=pend.callout)
        if listener.state != "listening":
            net.stack(host, "connection-refused", "the listener closed while the accept was pended", fid)
            return
        if net.walk(host, cctx, stage, "SYN", None, IN, INBOUND, fid, REASON_CLASSIFY_COMPLETION) is not None:
            net.stack(host, "connection-blocked", "SYN dropped at ALE_AUTH_RECV_ACCEPT when the pended "
                      "classification completed (no RST); the client retransmits, then times out", fid)
            return
        self._accept(listener, pkt, cctx, stage, fid)

    def _accept(self, listener: Sock, pkt: Pkt, cctx: Ctx, stage: Stage, fid: int) -> None:
        """The SYN authorized: the server's connection, its flow, the SYN-ACK."""
        net = self.net
        host = cctx.host
        bits = pkt.bits
        app = listener.app
        conn = Sock(None, host, "tcp", app, bits)
        conn.laddr, conn.lport, conn.raddr, conn.rport = pkt.dst, pkt.dport, pkt.src, pkt.sport
        conn.listener = listener
        conn.authorized = True
        conn.state = "syn-rcvd"
        key = (bits, pkt.dst, pkt.dport, pkt.src, pkt.sport)
        conn.conn_key = key
        host.conns[key] = conn
        conn.flow = net.flows.add(fid, host, TCP, stage, IN, cctx, conn, key, idle=False)
        client = host.conns.get((bits, pkt.src, pkt.sport, pkt.dst, pkt.dport))
        if client is not None and client.flow is not None and client.flow.ctx.redirected:
            # a local proxy's accepted socket: SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS / _CONTEXT
            conn.redirect_record = client.redirect_record
        net.out_packet(host, cctx, Pkt(TCP, bits, pkt.dst, pkt.src, pkt.dport, pkt.sport, "SYN-ACK"), fid)

    def _no_listener(self, host: Host, pkt: Pkt, ctx: Ctx) -> None:
        """§2.2: the ``tcp no-listener`` row (INBOUND_TRANSPORT_DISCARD with the no-listener
        error); a RST unless blocked there."""
        net = self.net
        blocked = net.walk(host, ctx, host.stage(pkt.bits, ("tcp", "no-listener", IN)), pkt.kind, None, IN,
                           INBOUND, None, stack_discard=True)
        if blocked is not None and not blocked.is_discard:
            return  # dropped at INBOUND_IPPACKET
        what = "no listener" if pkt.kind == "SYN" else "no connection"
        net.stack(host, "no-listener", f"{pkt.kind} to port {pkt.dport}: {what} (STATUS_PORT_UNREACHABLE)",
                  port=pkt.dport)
        if pkt.kind == "RST":
            return  # never answer a RST
        if blocked is not None:
            net.stack(host, "rst-suppressed", "blocked at INBOUND_TRANSPORT_DISCARD: no RST (stealth)")
            return
        rst = Pkt(TCP, pkt.bits, pkt.dst, pkt.src, pkt.dport, pkt.sport, "RST", probe=pkt.probe)
        if net.out_packet(host, ctx, rst, None):
            net.stack(host, "rst-sent", f"to {format_address(pkt.src, pkt.bits)}:{pkt.sport}")
