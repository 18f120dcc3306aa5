"""The network: hosts, the wire between them, the step table (wfp-model.md §2).

``Network`` is the ``core.sim.api.Stack`` the protocol modules are handed: the run's
clock and trace and the one traversal (``core.sim.traverse``), the hosts and their
addresses, the wire (a packet's delivery is a clock event one latency later), and the
steps, dispatched through ``steps`` (step kind → handler). Decisions where the docs are
silent: docs/decisions-engine.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from wfptui.core.model import Policy
from wfptui.core.pend import Pend
from wfptui.core.scenario import AppSpec, Scenario, Step
from wfptui.core.sim.api import family
from wfptui.core.sim.clock import Timer
from wfptui.core.sim.endpoint import Ctx
from wfptui.core.sim.flows import Flows
from wfptui.core.sim.icmp import Icmp
from wfptui.core.sim.objects import (
    DEFAULT_APP,
    LATENCY,
    LOOPBACK_LATENCY,
    OUTBOUND,
    PACKET_GAP,
    TCP,
    UDP,
    Host,
    Pkt,
    Sock,
    is_loopback_address,
    v4_mapped,
)
from wfptui.core.sim.probe import Probes
from wfptui.core.sim.sockets import Sockets
from wfptui.core.sim.tcp import Tcp
from wfptui.core.sim.traverse import Traversal
from wfptui.core.sim.udp import Udp
from wfptui.core.trace import ClassifyRecord, ObservedRecord, TraceRecord
from wfptui.core.values import format_address, json_value, parse_address

__all__ = ["Network", "observe_packet_op", "resolve_target"]


class Network(Traversal):
    """All hosts, the wire between them, the trace, and the step interpreter."""

    def __init__(self, scenario: Scenario, policies: Mapping[str, Policy] | None = None) -> None:
        super().__init__()
        self.scenario = scenario
        self._simulators: dict[str, tuple[Any, Any]] = {}  # host -> (policy token, core.triage.Simulator)
        self.hosts: dict[str, Host] = {}
        self.owner: dict[tuple[int, int], Host] = {}
        self.sockets: dict[str, Sock] = {}
        self._resolved: dict[str, tuple[int, int, int]] = {}
        self.flows = Flows(self)
        self.probes = Probes(self)
        self.udp = Udp(self)
        self.icmp = Icmp(self, self.udp)
        self.socket_ops = Sockets(self)
        self.tcp = Tcp(self, self.socket_ops)
        #: Step kind → handler (``wait`` is the engine's: it moves the clock).
        self.steps: dict[str, Callable[[Step], None]] = {
            "listen": self.tcp.do_listen,
            "bind": self.socket_ops.do_bind,
            "connect": self.tcp.do_connect,
            "send": self.do_send,
            "close": self.socket_ops.do_close,
            "probe": self.probes.do_probe,
            "ping": self.icmp.do_ping,
            "policy": self.do_policy,
            "wait": self.do_wait,
            "complete": self.do_complete,
            "observe": self.do_observe,
        }
        overrides = dict(policies or {})
        for spec in scenario.hosts:
            host = Host(spec, overrides.get(spec.name, spec.policy))
            self.hosts[spec.name] = host
            self.layer_order[spec.name] = []
            for v, b in host.addrs:
                self.owner.setdefault((v, b), host)

    # -- what protocols use ----------------------------------------------------------
    def record(self, record: TraceRecord) -> None:
        self.records.append(record)

    def host_of(self, step: Step) -> Host:
        if step.host is None or step.host not in self.hosts:
            raise ValueError(f"step {step.index}: unknown host {step.host!r}")
        return self.hosts[step.host]

    def app(self, host: Host, name: str | None, default: AppSpec = DEFAULT_APP) -> AppSpec:
        if name is None:
            return host.spec.apps[0] if host.spec.apps else default
        app = host.spec.app(name)
        if app is None:
            raise ValueError(f"host {host.name}: unknown app {name!r}")
        return app

    def resolve(self, to: str) -> tuple[int, int, int]:
        """``"host:port"``, ``"10.0.0.2:80"``, ``"[fd00::2]:80"`` (port optional) → (addr, bits, port)."""
        hit = self._resolved.get(to)
        if hit is None:  # hosts and their addresses are fixed for the run
            hit = self._resolved[to] = resolve_target(to, {n: h.addrs for n, h in self.hosts.items()})
        return hit

    def name_sock(self, sock: Sock) -> None:
        if sock.name is not None:
            self.sockets[sock.name] = sock

    def sock_of(self, step: Step) -> Sock | None:
        """The step's socket: a name, or ``LISTENER#n`` (the n-th accepted connection)."""
        return self.sock_named(step.socket)

    def sock_named(self, name: str | None) -> Sock | None:
        """The socket called ``name``, or ``LISTENER#n`` (the n-th accepted connection)."""
        if name is None or name not in self.sockets:
            if name is not None and "#" in name:
                base, _, n = name.partition("#")
                lst = self.sockets.get(base)
                if lst is not None and n.isdigit() and 0 < int(n) <= len(lst.accepted):
                    return lst.accepted[int(n) - 1]
            return None
        return self.sockets[name]

    # -- the wire ----------------------------------------------------------------------
    def out_packet(self, host: Host, ctx: Ctx, pkt: Pkt, flow: int | None) -> bool:
        """The ``ip send`` row (OUTBOUND_TRANSPORT → OUTBOUND_IPPACKET), then the wire."""
        kind = pkt.kind
        blocked = self.walk(host, ctx, host.stage(pkt.bits, ("ip", "send", "outbound")), kind, None, "outbound",
                            OUTBOUND, flow)
        if blocked is not None:
            self.stack(host, "packet-dropped", f"{kind} blocked at {family(blocked)}", flow)
            return False
        self.wire(host, pkt)
        return True

    def wire(self, host: Host, pkt: Pkt) -> None:
        """Put ``pkt`` (sent by ``host``) on the wire: its delivery is an event one
        latency later. The hop (delay, handler, arguments) is kept on the packet: a
        reused DATA segment goes the same way every time (hosts never change address)."""
        hop = pkt.hop
        if hop is None:
            # Loopback never leaves the host, whoever lists the address.
            dest = host if is_loopback_address(pkt.dst, pkt.bits) else self.owner.get((pkt.dst, pkt.bits))
            if dest is None:
                self.stack(host, "packet-lost", f"no host has {format_address(pkt.dst, pkt.bits)}")
                return
            loopback = dest is host
            delay = LOOPBACK_LATENCY if loopback else LATENCY
            if pkt.proto == TCP:  # deliver(dest, pkt, host) dispatches there
                hop = pkt.hop = (delay, self.tcp.receive, (dest, pkt, loopback))
            else:
                hop = pkt.hop = (delay, self.deliver, (dest, pkt, host))
        self.clock.post(hop)

    def deliver(self, host: Host, pkt: Pkt, sender: Host) -> None:
        loopback = sender is host
        if pkt.proto == TCP:
            self.tcp.receive(host, pkt, loopback)
        elif pkt.proto == UDP:
            self.udp.receive(host, pkt, loopback)
        elif pkt.kind == "ICMP-ERROR":
            self.icmp.receive_error(host, pkt, loopback)
        else:
            self.icmp.receive_echo(host, pkt, loopback)

    # -- steps -------------------------------------------------------------------------
    def execute(self, step: Step) -> None:
        handler = self.steps.get(step.do)
        if handler is None:
            raise ValueError(f"unknown step kind {step.do!r}")
        handler(step)

    def do_send(self, step: Step) -> None:
        """``packets`` segments / datagrams, ``PACKET_GAP`` apart, on a connection or a UDP socket."""
        sock = self.sock_of(step)
        if sock is None:
            host = self.hosts[step.host] if step.host in self.hosts else next(iter(self.hosts.values()))
            self.stack(host, "send-failed", f"socket {step.socket!r} does not exist (yet)")
            return
        if sock.state == "revoked" and sock.kind == "udp":
            self.stack(sock.host, "send-failed", "the socket's bind was revoked by a reclassification",
                       socket=sock.name)
            return
        if sock.kind == "tcp-listen":
            if not sock.accepted:
                self.stack(sock.host, "send-failed", "no accepted connection on this listening socket",
                           socket=sock.name)
                return
            sock = sock.accepted[-1]
        n = max(1, step.packets)
        nbytes = step.bytes if step.bytes is not None else 100
        per = max(1, nbytes // n)
        if sock.kind == "tcp":
            self.clock.call_series(n, PACKET_GAP, self.tcp.send, (sock, per))
            return
        dest: tuple[int, int, int] | None = None
        if step.to is not None:
            dest = self.resolve(step.to)
        elif sock.default_remote is not None:
            dest = (sock.default_remote[0], sock.bits, sock.default_remote[1])
        elif sock.last_peer is not None:
            dest = (sock.last_peer[0], sock.bits, sock.last_peer[1])
        if dest is None:
            self.stack(sock.host, "send-failed", "no destination (give `to`)", socket=sock.name)
            return
        raddr = dest[0]
        if sock.dual and dest[1] == 32:  # a dual-stack socket names an IPv4 peer ::ffff:a.b.c.d
            raddr = v4_mapped(raddr)
        self.clock.call_series(n, PACKET_GAP, self.udp.send, (sock, raddr, dest[2], per))

    def do_policy(self, step: Step) -> None:
        self.flows.change_policy(self.host_of(step), step.add, step.remove)

    def do_wait(self, step: Step) -> None:
        """Handled by the engine (it advances the clock); nothing to do here."""

    def pend_later(self, host: Host, pend: Pend, fn: Callable[..., None], *args: Any) -> Timer | None:
        """Schedule the completion of a pended classification (core.pend): after ``pend.after``
        seconds (an activity timer, returned), or -- ``after`` None -- when a ``complete`` step
        names its callout on ``host``."""
        if pend.after is not None:
            return self.clock.timer(pend.after, fn, *args)
        host.pended_ops.append((pend.callout, fn, args))
        return None

    def do_complete(self, step: Step) -> None:
        """``complete``: the callout calls FwpsCompleteOperation0 for every classification of its
        pended on the host, in the order they were pended."""
        host = self.host_of(step)
        mine = [op for op in host.pended_ops if op[0] == step.callout]
        if not mine:
            self.stack(host, "complete-failed", f"no classification pended by callout {step.callout!r}")
            return
        host.pended_ops[:] = [op for op in host.pended_ops if op[0] != step.callout]
        for _, fn, args in mine:
            fn(*args)

    def do_observe(self, step: Step) -> None:
        """One captured event (``wfptui import CAPTURE``): its simulated verdict at its layer
        (``core.triage``: the unknown-field rule included) as a classification record, then
        an ``observed`` record comparing it with what the capture says. Events that are not
        a layer classification give only the ``observed`` record (``not_simulated``)."""
        from wfptui.core.evidence import Observation  # noqa: PLC0415 - core.triage imports core.sim
        from wfptui.core.triage import Simulator, judge  # noqa: PLC0415

        host = self.host_of(step)
        obs = Observation.from_dict(step.event)
        cached = self._simulators.get(host.name)
        if cached is None or cached[0] is not host.policy_token:
            cached = (host.policy_token, Simulator(host.policy))
            self._simulators[host.name] = cached
        ev = judge(obs, cached[1])
        sim, layer = ev.sim, ev.layer
        if sim is not None and layer is not None:
            res = sim.result
            f = res.filter
            rendered = {lf.name: json_value(sim.values[lf.name], lf.dtype, lf.name)
                        for lf in layer.fields if lf.name in sim.values}
            packet, op = observe_packet_op(layer.name, obs.protocol)
            self.records.append(ClassifyRecord(
                self.seq + 1, self.clock.now, host.name, layer.name, layer.layer_id, packet, op, ev.direction,
                None, bool(obs.reauth_reason), res.action, None if f is None else f.key,
                None if f is None else f.filter_id, None if res.sublayer is None else res.sublayer.key,
                res.terminating, res.veto, rendered))
        self.records.append(ObservedRecord(
            self.seq + 1, self.clock.now, host.name, obs.index, obs.type, obs.action, obs.filter_id,
            ev.matched_by, ev.verdict, () if sim is None else sim.unknown_fields))


# ----------------------------------------------------------------------------- targets


def resolve_target(to: str, hosts: Mapping[str, list[tuple[int, int]]]) -> tuple[int, int, int]:
    """``"host:port"`` / ``"host"`` (the host's first address), ``"10.0.0.2:80"``,
    ``"[fd00::2]:80"``, ``"fd00::2"`` → (address, bits, port); port 0 when absent.
    Raises ValueError with a readable message."""
    text = to.strip()
    port = 0
    if text.startswith("["):
        addr_text, sep, rest = text[1:].partition("]")
        if not sep:
            raise ValueError(f"bad address {to!r}: missing ']'")
        if rest:
            if not rest.startswith(":") or not rest[1:].isdigit():
                raise ValueError(f"bad port in {to!r}")
            port = int(rest[1:])
    elif text.count(":") == 1:
        addr_text, _, p = text.partition(":")
        if not p.isdigit():
            raise ValueError(f"bad port in {to!r}")
        port = int(p)
    else:
        addr_text = text
    if port > 65535:
        raise ValueError(f"port {port} out of range in {to!r}")
    if addr_text in hosts:
        addrs = hosts[addr_text]
        if not addrs:
            raise ValueError(f"host {addr_text!r} has no address")
        v, b = addrs[0]
        return v, b, port
    try:
        v, b = parse_address(addr_text)
    except ValueError as exc:
        raise ValueError(f"bad address {addr_text!r} in {to!r}: not a host name or an IP address ({exc})") from None
    return v, b, port


#: ALE layers where the observed classification is a connection's first packet or a socket
#: operation (docs/decisions-engine.md, "observe steps").
_OBSERVE_OPS = {"ALE_AUTH_CONNECT": "connect", "ALE_AUTH_LISTEN": "listen", "ALE_RESOURCE_ASSIGNMENT": "bind",
                "ALE_BIND_REDIRECT": "bind", "ALE_CONNECT_REDIRECT": "connect"}


def observe_packet_op(layer: str, protocol: int | None) -> tuple[str | None, str | None]:
    """The (packet word, op) an ``observe`` step's classification record carries.

    A capture gives no packet, only its layer and protocol: the ALE authorization layers
    classify a TCP connection's SYN; UDP is a DATAGRAM and ICMP/ICMPv6 an ICMP packet
    anywhere; a TCP packet at a transport or IP layer is not named (None); socket
    operations (listen, bind) have no packet."""
    base = layer.removesuffix("_V4").removesuffix("_V6").removesuffix("_DISCARD")
    op = _OBSERVE_OPS.get(base)
    if base in ("ALE_AUTH_LISTEN", "ALE_RESOURCE_ASSIGNMENT", "ALE_BIND_REDIRECT", "ALE_RESOURCE_RELEASE"):
        return None, op
    if protocol == 17:
        return "DATAGRAM", op
    if protocol in (1, 58):
        return "ICMP", op
    if protocol == 6 and base.startswith("ALE_"):
        return "SYN", op
    return None, op
