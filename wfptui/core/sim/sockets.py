"""Socket operations common to TCP and UDP: bind, ``bind`` and ``close`` steps
(wfp-model.md §2.2, §2.3, §2.11; docs/decisions-engine.md "Close", "Wildcard binds").
"""

from __future__ import annotations

from wfptui.core.events import layer_family
from wfptui.core.layers import Layer
from wfptui.core.redirect import LOCAL, endpoint_text
from wfptui.core.scenario import Step
from wfptui.core.sim.api import Stack, family
from wfptui.core.sim.endpoint import Ctx
from wfptui.core.sim.objects import LATENCY, TCP, UDP, Host, Sock, v4_mapped
from wfptui.core.values import parse_address

__all__ = ["Sockets"]

#: Rows of core.sim.sequences by protocol number.
PROTO_NAME = {TCP: "tcp", UDP: "udp"}


class Sockets:
    """Binds, ``bind``/``close`` steps."""

    def __init__(self, net: Stack) -> None:
        self.net = net

    def local_bind(self, host: Host, step: Step) -> tuple[int, int | None, bool] | None:
        """(bits, local address or None for wildcard, wildcard) of a listen/bind step. A
        dual-stack socket is IPv6: ``::`` (the default) or an IPv4-mapped address."""
        if step.dual_stack:
            v, b = parse_address(step.address) if step.address is not None else (0, 128)
            return 128, v, v == 0
        if step.address is not None:
            v, b = parse_address(step.address)
            return b, v, v == 0
        if not host.addrs:
            return None
        v, b = host.addrs[0]
        return b, v, False

    def bind(self, host: Host, sock: Sock, proto: int, port: int) -> bool:
        """The ``bind`` row: BIND_REDIRECT → RESOURCE_ASSIGNMENT (explicit or implicit bind, §2.11)."""
        net = self.net
        bits = sock.ale_bits  # a dual-stack socket binds at V6, its port taken in both families
        families = sock.port_families()
        any_port = port == 0
        if any_port:
            port = host.alloc_port(proto, bits, 32 if sock.dual else None)
        elif any((proto, b, port) in host.ports for b in families):
            net.stack(host, "bind-failed", f"port {port} in use (WSAEADDRINUSE)", socket=sock.name)
            return False
        sock.lport = port
        # The pages disagree on IS_WILDCARD_BIND: "ALE Layers" (learn.microsoft.com/windows/win32/fwp/
        # ale-layers) sets it for a port-0 bind, "Filtering Condition Flags" (.../fwp/filtering-
        # condition-flags-) for a wildcard local address. Both statements hold here: the flag is
        # set for either. An unspecified local address (implicit bind, 0.0.0.0, ::) is FWP_EMPTY
        # at RESOURCE_ASSIGNMENT and AUTH_LISTEN ("ALE Layers"). docs/decisions-engine.md.
        laddr = sock.laddr
        if laddr is not None and sock.dual and sock.bits == 32:
            laddr = v4_mapped(laddr)  # a dual-stack socket connecting to IPv4 binds ::ffff:a.b.c.d
        ctx = Ctx(host, bits, proto, None if sock.wildcard else laddr, port, None, None,
                  sock.app, False, wildcard=sock.wildcard or any_port, implicit=sock.implicit)
        sock.bind_ctx = ctx
        key = (PROTO_NAME[proto], "bind", None)
        first = host.stage(bits, key)
        if host.bind_redirects and first.layers and layer_family(first.layers[0].name) == "ALE_BIND_REDIRECT":
            outcome = self._bind_redirected(host, sock, ctx, bits, key, any_port)
            if outcome is None:
                return False  # redirected to an address the host lacks (recorded)
            blocked, ctx = outcome
        else:
            blocked = net.walk(host, ctx, first, None, "bind", None, None, None)
        if blocked is None or family(blocked) == "ALE_RESOURCE_ASSIGNMENT":
            sock.ra_indicated = True  # released at close even when blocked (ale-endpoint-lifetime-management)
        if blocked is not None:
            net.stack(host, "bind-failed", f"blocked at {family(blocked)} (WSAEACCES)", socket=sock.name)
            return False
        port = sock.lport  # a bind redirect may have moved it
        sock.assigned = True
        if sock.kind != "tcp":  # listeners and UDP endpoints: what a policy change reclassifies
            host.bound[sock] = None
        for b in families:
            host.ports.add((proto, b, port))
        return True

    def _bind_redirected(self, host: Host, sock: Sock, ctx: Ctx, bits: int, key: tuple[str, str, None],
                         any_port: bool) -> tuple[Layer | None, Ctx] | None:
        """A bind on a host where a callout redirects binds (core.redirect): ALE_BIND_REDIRECT on
        its own; if a callout rewrote the local end ("Changes at bind layers affect all
        connections that are using that socket"), RESOURCE_ASSIGNMENT and everything after see
        the new address (and port). None: the bind failed (recorded)."""
        net = self.net
        redirect_stage, rest = host.stage_split(bits, key)
        blocked = net.walk(host, ctx, redirect_stage, None, "bind", None, None, None)
        red = net.redirected
        if blocked is None and red is not None and red.kind == LOCAL:
            if red.bits != bits or not host.owns(bits, red.addr):
                net.stack(host, "bind-failed", f"callout {red.callout!r} redirected the bind to an address the host "
                          "does not have (WSAEADDRNOTAVAIL)", socket=sock.name)
                return None
            old = f"*:{sock.lport}" if ctx.laddr is None else endpoint_text(ctx.laddr, bits, sock.lport)
            new_port = sock.lport if red.port is None else red.port
            net.stack(host, "bind-redirected",
                      f"{old} -> {endpoint_text(red.addr, bits, new_port)} by callout {red.callout!r} "
                      f"rule {red.rule} (FWPS_BIND_REQUEST0, FwpsApplyModifiedLayerData0)", socket=sock.name,
                      callout=red.callout)
            sock.laddr, sock.wildcard, sock.lport = red.addr, False, new_port
            ctx = Ctx(host, bits, ctx.proto, red.addr, new_port, None, None, sock.app, False,
                      wildcard=any_port and red.port is None, implicit=sock.implicit)
            sock.bind_ctx = ctx
        if blocked is None:
            blocked = net.walk(host, ctx, rest, None, "bind", None, None, None)
        return blocked, ctx

    def do_bind(self, step: Step) -> None:
        net = self.net
        host = net.host_of(step)
        proto = TCP if step.proto == "tcp" else UDP
        where = self.local_bind(host, step)
        if where is None:
            net.stack(host, "bind-failed", "host has no address")
            return
        bits, laddr, wildcard = where
        sock = Sock(step.socket, host, "udp" if proto == UDP else "tcp", net.app(host, step.app), bits)
        sock.laddr, sock.wildcard, sock.dual = laddr, wildcard, step.dual_stack
        net.name_sock(sock)
        if not self.bind(host, sock, proto, step.port or 0):
            sock.state = "failed"
            return
        sock.state = "bound"
        if proto == UDP:
            for b in sock.port_families():  # a dual-stack socket receives IPv4 datagrams too
                host.udp.setdefault((b, sock.lport), []).append(sock)
        net.stack(host, "bound", f"{'UDP' if proto == UDP else 'TCP'} port {sock.lport}", socket=sock.name,
                  port=sock.lport)

    def do_close(self, step: Step) -> None:
        net = self.net
        sock = net.sock_of(step)
        if sock is None:
            host = net.hosts[step.host] if step.host in net.hosts else next(iter(net.hosts.values()))
            net.stack(host, "close-failed", f"socket {step.socket!r} does not exist (yet)")
            return
        self.close(sock)

    def close(self, sock: Sock) -> None:
        """The ``closure`` row (per authorized connection / per endpoint / per listener) then
        the ``release`` row (per resource assignment), Win7+ (§2.11). No FIN is classified."""
        net = self.net
        host = sock.host
        if sock.state == "closed":
            net.stack(host, "close", "socket already closed", socket=sock.name)
            return
        proto = UDP if sock.kind == "udp" else TCP
        flow = sock.flow
        ctx = flow.ctx if flow is not None else sock.bind_ctx
        fid = None if flow is None else flow.id
        if flow is None and sock.auth is not None:  # AUTH_CONNECT indicated but blocked: no flow
            ctx, fid = sock.auth
        # "ALE Endpoint Lifetime Management" (learn.microsoft.com/windows-hardware/drivers/network/
        # ale-endpoint-lifetime-management): a closure for every AUTH_CONNECT / RECV_ACCEPT
        # indication of a TCP connection, for each TCP listen socket and each non-TCP endpoint;
        # a release for every RESOURCE_ASSIGNMENT indication — whatever happened in between
        # (blocked, refused, reset, reauthorization blocked). A listen blocked at AUTH_LISTEN
        # never was a listen socket and a UDP bind blocked at RESOURCE_ASSIGNMENT never an
        # endpoint: release only (docs/decisions-engine.md).
        endpoint = (sock.authorized or (sock.kind == "tcp-listen" and sock.state in ("listening", "revoked"))
                    or (sock.kind == "udp" and sock.assigned))
        abits = sock.ale_bits
        if ctx is not None and endpoint:
            net.walk(host, ctx, host.stage(abits, (PROTO_NAME[proto], "closure", None)), None, "close", None,
                     None, fid)
        if sock.ra_indicated and sock.bind_ctx is not None:
            net.walk(host, sock.bind_ctx, host.stage(abits, (PROTO_NAME[proto], "release", None)), None,
                     "close", None, None, fid)
        if sock.assigned:
            for b in sock.port_families():
                host.ports.discard((proto, b, sock.lport))
        prev = sock.state
        sock.state = "closed"
        host.bound.pop(sock, None)
        if sock.timer is not None:
            sock.timer.cancel()  # a pending SYN retransmission dies with the socket
        if sock.kind == "tcp-listen":
            for b in sock.port_families():
                lst = host.listeners.get((b, sock.lport), [])
                if sock in lst:
                    lst.remove(sock)
        elif sock.kind == "udp":
            for b in sock.port_families():
                lst = host.udp.get((b, sock.lport), [])
                if sock in lst:
                    lst.remove(sock)
            for f in list(sock.flows.values()):
                net.flows.drop(f, "socket closed")
        else:
            if sock.conn_key is not None:
                host.conns.pop(sock.conn_key, None)
            if flow is not None:
                net.flows.drop(flow, "socket closed")
            if prev == "established" and sock.raddr is not None:
                peer = net.owner.get((sock.raddr, sock.bits))
                if peer is not None:
                    net.clock.call_later(LATENCY, self._peer_closed, peer, sock)
        net.stack(host, "closed", f"{sock.kind} socket closed (termination is indicated at no layer)",
                  fid, socket=sock.name)

    def _peer_closed(self, peer: Host, sock: Sock) -> None:
        assert sock.raddr is not None and sock.rport is not None and sock.laddr is not None
        other = peer.conns.get((sock.bits, sock.raddr, sock.rport, sock.laddr, sock.lport))
        if other is not None and other.state == "established":
            other.state = "peer-closed"
            self.net.stack(peer, "peer-closed", "FIN received (not indicated at any layer)",
                           None if other.flow is None else other.flow.id, socket=other.name)
