"""ALE flows and reauthorization (wfp-model.md §2.5, §2.6; docs/decisions-engine.md
"ALE flows and reauthorization").

A flow is authorized once (AUTH_CONNECT outbound, AUTH_RECV_ACCEPT inbound), then carries
both directions. Flow ids are global to the run and allocated when an authorization is
attempted. UDP and ICMP flows idle out after 60 s (a background timer). A policy change at
an AUTH layer marks the host's flows authorized there; their next packet, either
direction, walks the authorizing stage again with IS_REAUTHORIZE; a block tears the flow
down (and aborts a TCP connection).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wfptui.core.datatypes import WinVersion
from wfptui.core.events import layer_family
from wfptui.core.flowctx import FlowState
from wfptui.core.layers import Layer
from wfptui.core.model import Filter
from wfptui.core.scenario import apply_change
from wfptui.core.sim.api import Stack
from wfptui.core.sim.endpoint import Ctx, Path
from wfptui.core.sim.objects import (
    ICMP4,
    ICMP6,
    IDLE_TIMEOUT,
    INBOUND,
    OUTBOUND,
    REAUTH_FAMILIES,
    RECLASSIFY_FAMILIES,
    TCP,
    Host,
    Sock,
)
from wfptui.core.sim.sequences import IN, Stage
from wfptui.core.trace import PolicyRecord

__all__ = ["Flow", "Flows"]


class Flow:
    """An ALE flow on one host (§2.6): authorized once, then carries both directions."""

    __slots__ = ("id", "host", "proto", "auth_stage", "auth_layer", "origin", "ctx", "reply_ctx", "needs_reauth",
                 "alive", "last", "sock", "key", "out_path", "in_path", "delivered", "state")

    def __init__(self, fid: int, host: Host, proto: int, auth_stage: Stage, origin: str, ctx: Ctx,
                 sock: Sock | None, key: Any) -> None:
        self.id = fid
        self.host = host
        self.proto = proto
        self.auth_stage = auth_stage  # the stage that authorized it: reauthorization walks it again
        self.auth_layer: Layer = auth_stage.layers[0]
        self.origin = origin  # "outbound" (AUTH_CONNECT) | "inbound" (AUTH_RECV_ACCEPT)
        self.ctx = ctx
        self.reply_ctx: Ctx | None = None
        self.needs_reauth = False
        self.alive = True
        self.last = 0.0
        self.sock = sock
        self.key = key
        #: The flow's data walks (sent, received), kept for the memo (``Traversal.cross``).
        self.out_path: Path | None = None
        self.in_path: Path | None = None
        #: (segment size, its data-delivered stack row): rows are shared, records copy.
        self.delivered: tuple[int, tuple[Any, ...]] | None = None
        #: What callouts keep with the flow (issue 15: contexts, stream byte counts), or None.
        self.state: FlowState | None = None

    @property
    def origin_dir(self) -> int:
        return OUTBOUND if self.origin == "outbound" else INBOUND


class Flows:
    """The run's flows: ids, creation, idle timeout, teardown, reauthorization."""

    def __init__(self, net: Stack) -> None:
        self.net = net
        self.ids = 0

    def new_id(self) -> int:
        self.ids += 1
        return self.ids

    def add(self, fid: int, host: Host, proto: int, auth_stage: Stage, origin: str, ctx: Ctx,
            sock: Sock | None, key: Any, idle: bool) -> Flow:
        net = self.net
        if ctx.ale is not None:  # a dual-stack socket's IPv4 flow is authorized at V6 (Traversal.walk)
            auth_stage = host.stage(128, auth_stage.key)
        flow = Flow(fid, host, proto, auth_stage, origin, ctx, sock, key)
        flow.last = net.clock.now
        host.flows[fid] = flow
        net.stack(host, "flow-created", f"{origin} flow authorized at {flow.auth_layer.name}", fid)
        if idle:
            net.clock.call_at(flow.last + IDLE_TIMEOUT, self._idle_check, flow, activity=False)
        return flow

    def _idle_check(self, flow: Flow) -> None:
        if not flow.alive:
            return
        due = flow.last + IDLE_TIMEOUT
        if self.net.clock.now + 1e-9 >= due:
            self.net.stack(flow.host, "flow-idle-timeout", f"no traffic for {IDLE_TIMEOUT:g} s", flow.id)
            self.drop(flow, None)
        else:
            self.net.clock.call_at(due, self._idle_check, flow, activity=False)

    def drop(self, flow: Flow, reason: str | None) -> None:
        if not flow.alive:
            return
        flow.alive = False
        host = flow.host
        host.flows.pop(flow.id, None)
        if flow.proto in (ICMP4, ICMP6):
            host.icmp_flows.pop(flow.key, None)
        elif flow.sock is not None and flow.proto != TCP:
            flow.sock.flows.pop(flow.key, None)
        if reason is not None:
            self.net.stack(host, "flow-torn-down", reason, flow.id)
        state = flow.state
        if state is not None:
            # flowDeleteFn (learn.microsoft.com/windows-hardware/drivers/ddi/fwpsk/
            # nc-fwpsk-fwps_callout_flow_delete_notify_fn0): called for each callout that
            # associated a context; the filter engine removes the context.
            for callout, label in sorted(state.contexts.items()):
                self.net.stack(host, "flow-context-removed",
                               f"flowDeleteFn: callout {callout!r}, context {label!r} removed (the flow ended)",
                               flow.id, callout=callout, context=label)
            state.contexts.clear()

    def stream_dropped(self, flow: Flow) -> bool:
        """After a STREAM classification: did a callout ask for
        FWPS_STREAM_ACTION_DROP_CONNECTION (issue 15)? Then the connection is aborted here."""
        state = flow.state
        if state is None or state.dropped is None:
            return False
        why, state.dropped = state.dropped, None
        sock = flow.sock
        if sock is not None and sock.kind == "tcp":
            self.abort_conn(sock, "connection-dropped", why)
        else:
            self.drop(flow, why)
        return True

    def reauthorize(self, flow: Flow, packet: str, direction: str, dir_int: int) -> bool:
        """§2.5: the packet walks the stage that authorized the flow, IS_REAUTHORIZE set."""
        flow.needs_reauth = False
        if self.net.walk(flow.host, flow.ctx, flow.auth_stage, packet, None, direction, dir_int, flow.id,
                         True) is None:
            return True
        self.drop(flow, f"reauthorization blocked at {flow.auth_layer.name}")
        sock = flow.sock
        if sock is not None and sock.kind == "tcp":
            self.abort_conn(sock, "connection-aborted", "the flow was torn down (reauthorization blocked)")
        return False

    def admit_inbound(self, host: Host, ctx: Ctx, proto: str, packet: str, flow: Flow | None,
                      new_flow: Callable[[int, Stage], Flow], dropped: str, refused: str) -> Flow | None:
        """An inbound datagram of a non-TCP flow past the transport layer ("UDP Packet Flows",
        §2.3 steps 3-5; ICMP echo as UDP, §2.4): a new flow is authorized at
        ALE_AUTH_RECV_ACCEPT (``new_flow`` creates and registers it) and indicated at
        ALE_FLOW_ESTABLISHED; a live flow is reauthorized if policy changed (§2.5); then the
        datagram crosses DATAGRAM_DATA. The flow, or None when the datagram stops here
        (``dropped``: the stack event saying so; ``refused``: its detail at RECV_ACCEPT)."""
        net = self.net
        bits = ctx.bits
        if flow is None:
            nfid = self.new_id()
            stage = host.stage(bits, (proto, "accept", IN))
            if net.walk(host, ctx, stage, packet, None, IN, INBOUND, nfid) is not None:
                net.stack(host, dropped, refused, nfid)
                return None
            flow = new_flow(nfid, stage)
            if net.walk(host, ctx, host.stage(bits, (proto, "established", IN)), packet, None, IN, INBOUND,
                        nfid) is not None:
                self.drop(flow, "blocked at ALE_FLOW_ESTABLISHED")
                return None
        elif flow.needs_reauth and not self.reauthorize(flow, packet, IN, INBOUND):
            return None
        flow.last = net.clock.now
        if net.walk(host, ctx, host.stage(bits, (proto, "data", IN)), packet, None, IN, INBOUND,
                    flow.id) is not None:
            net.stack(host, dropped, "blocked at DATAGRAM_DATA", flow.id)
            return None
        return flow

    def abort_conn(self, sock: Sock, event: str, detail: str) -> None:
        """A TCP connection ends without close: its flow goes, the app still owns the socket."""
        sock.state = "aborted"  # the app still owns the socket: its close indicates the ALE release/closure
        if sock.timer is not None:
            sock.timer.cancel()
        if sock.conn_key is not None:
            sock.host.conns.pop(sock.conn_key, None)
        if sock.flow is not None and sock.flow.alive:
            self.drop(sock.flow, detail)
        self.net.stack(sock.host, event, detail, None if sock.flow is None else sock.flow.id, socket=sock.name)

    def change_policy(self, host: Host, add: tuple[Filter, ...], remove: tuple[str, ...]) -> None:
        """Apply a policy change; flows authorized at a changed AUTH layer are marked (§2.5)."""
        net = self.net
        old = host.policy
        removing = set(remove)
        removed = [f for f in old.filters if f.key in removing]
        host.set_policy(apply_change(old, add, remove))
        changed = sorted({f.layer for f in add} | {f.layer for f in removed})
        reauth_layers = [name for name in changed
                         if layer_family(name) in REAUTH_FAMILIES and not name.endswith("_DISCARD")]
        marked: list[int] = []
        for fid in sorted(host.flows):
            flow = host.flows[fid]
            if flow.auth_layer.name in reauth_layers:
                flow.needs_reauth = True
                marked.append(fid)
        net.record(PolicyRecord(net.seq + 1, net.clock.now, host.name, tuple(f.key for f in add),
                                tuple(f.key for f in removed), tuple(reauth_layers)))
        missing = sorted(removing - {f.key for f in removed})
        if missing:
            net.stack(host, "policy-warning", f"no filter with key {', '.join(missing)} to remove")
        if marked:
            net.stack(host, "flows-marked-for-reauthorization",
                      f"{len(marked)} flow(s): next packet is reauthorized", flows=marked)
        reclass = [name for name in changed
                   if layer_family(name) in RECLASSIFY_FAMILIES and not name.endswith("_DISCARD")]
        if reclass:
            self.reclassify(host, frozenset(reclass))

    def reclassify(self, host: Host, layers: frozenset[str]) -> None:
        """A policy change at ALE_RESOURCE_ASSIGNMENT / ALE_AUTH_LISTEN reclassifies, at once,
        the host's existing binds (listeners and UDP endpoints) and listeners at the changed
        layer, with FWP_CONDITION_FLAG_IS_RECLASSIFY ("Filtering Condition Flags",
        learn.microsoft.com/windows/win32/fwp/filtering-condition-flags- : "the filter engine is
        reclassifying an earlier bind or listen request", Windows 7 and later). A block revokes
        the endpoint: a listener accepts no new connection, a UDP socket receives and sends no
        more; connections already accepted are flows, governed by reauthorization, and stay.
        What Windows does after such a block is not documented: docs/decisions-engine.md
        "Reclassification". Vista has no IS_RECLASSIFY: nothing is reclassified there."""
        net = self.net
        if host.windows < WinVersion.WIN7:
            return
        todo: list[tuple[Sock, list[tuple[Stage, str]]]] = []
        for sock in host.bound:
            if sock.state not in ("listening", "bound") or sock.bind_ctx is None:
                continue
            proto = "udp" if sock.kind == "udp" else "tcp"
            walks = [(stage, op) for stage, op in (
                (host.stage(sock.ale_bits, (proto, "reclassify", None)), "bind"),
                (host.stage(sock.ale_bits, ("tcp", "listen", None)) if sock.kind == "tcp-listen" else None, "listen"))
                if stage is not None and stage.layers[0].name in layers]
            if walks:
                todo.append((sock, walks))
        if not todo:
            return
        net.stack(host, "endpoints-reclassified", f"{len(todo)} bind/listen endpoint(s) reclassified now, "
                  "with IS_RECLASSIFY", sockets=[sock.name or f"port {sock.lport}" for sock, _ in todo])
        for sock, walks in todo:
            assert sock.bind_ctx is not None
            for stage, op in walks:  # the bind, then the listen (a blocked bind is not listened again)
                blocked = net.walk(host, sock.bind_ctx, stage, None, op, None, None, None, True)
                if blocked is not None:
                    self._revoke(sock, blocked)
                    break

    def _revoke(self, sock: Sock, blocked: Layer) -> None:
        """A reclassification blocked ``sock``: it leaves the demultiplexing tables (the app
        still owns it and its port; its close indicates closure and release as usual)."""
        host = sock.host
        sock.state = "revoked"
        table = host.listeners if sock.kind == "tcp-listen" else host.udp
        for b in sock.port_families():
            lst = table.get((b, sock.lport), [])
            if sock in lst:
                lst.remove(sock)
        if sock.kind == "udp":
            for f in list(sock.flows.values()):
                self.drop(f, "endpoint revoked by reclassification")
            what = "the socket receives and sends nothing more"
        else:
            what = "new connections are refused; accepted connections stay"
        self.net.stack(host, "endpoint-revoked", f"reclassification blocked at {blocked.name}: {what}",
                       socket=sock.name)
