"""The one traversal: a walk of a layer sequence, its classifications, records, events
and the row memo (wfp-model.md §2.7, §6).

``Traversal.walk`` crosses the layers of one stage (a row of ``core.sim.sequences``) in
order, for one endpoint and packet, and stops at the first block after classifying the
same packet at the blocking layer's discard twin. It is the only place the simulator
classifies (``_refresh``: ``CompiledLayer.classify``), appends classification rows and
emits net events and audits.

The memo (benchmarks/README.md, "## replay"): a ``Path`` (one walk's views and record
arguments) keeps the rows of its last crossing that had no block, no event and no
benchmark capture, with the host's policy generation. While the policy stays, the next
crossing appends the same rows (each classification is a pure function of values and
policy; a record's seq and time come from its place in the trace). A policy change
(``Host.policy_token``) sends the next crossing through the classifications again.

Flow-aware callouts (issue 15: flow contexts, stream byte counts, reinjection;
``core.flowctx``) break the purity at the layers where they are used
(``Host.flow_layers``): there each crossing is classified with the flow's state
(``CompiledLayer.classify_flow``) and never memoized; what the callouts did follows the
classification row as stack records (``_flow_effects``, ``_reinject``). A host whose
policy has none (``flow_layers`` None) crosses exactly as before.
"""

from __future__ import annotations

from typing import Any

from wfptui.core.arbitration import CompiledLayer, FlowEffect
from wfptui.core.events import (
    audit_data,
    audit_ids,
    direction_word,
    layer_family,
    net_event_data,
    net_event_type,
)
from wfptui.core.flowctx import DROP_CONNECTION, FlowState
from wfptui.core.layers import Layer
from wfptui.core.model import BLOCK, ClassifyResult, Value
from wfptui.core.pend import Pend
from wfptui.core.redirect import Redirect
from wfptui.core.sim.clock import VirtualClock
from wfptui.core.sim.endpoint import Ctx, Path, View
from wfptui.core.sim.objects import (
    EVENT_PERMIT_FAMILIES,
    EVENT_PERMIT_IDS,
    INBOUND,
    REAUTH_FAMILIES,
    Host,
    reauth_reason,
)
from wfptui.core.sim.sequences import Stage
from wfptui.core.trace import (
    AuditRecord,
    NetEventRecord,
    Outcome,
    Trace,
    TraceResults,
    classify_row,
    stack_row,
)

__all__ = ["Traversal"]


class Traversal:
    """The run's clock and trace, and the walk of layer sequences over them."""

    def __init__(self) -> None:
        self.clock = VirtualClock()
        self.records = Trace()
        self.results = TraceResults(self.records)
        #: The trace's storage (core.trace.Trace): rows and record times, appended in step.
        self._items = self.records.items
        self._times = self.records.times
        self.layer_order: dict[str, list[str]] = {}
        #: Benchmark hook: when a list, every classification appends (compiled layer, values)
        #: and no crossing is memoized (every packet takes the classifications).
        self.capture: list[tuple[CompiledLayer, dict[str, Value]]] | None = None
        #: The pend (core.pend) behind the last block a walk met, or None: read by a protocol right
        #: after a walk that blocked (an ALE authorization a callout suspended).
        self.pended: Pend | None = None
        #: The redirect (core.redirect) a callout applied in the last walk, or None.
        self.redirected: Redirect | None = None

    @property
    def seq(self) -> int:
        """The seq of the last record (record i has seq i + 1)."""
        return len(self._items)

    def stack(self, host: Host, event: str, detail: str = "", flow: int | None = None, **data: Any) -> None:
        """A stack record (what the simulated TCP/IP stack did)."""
        self._items.append((stack_row, host.name, event, detail, flow, data))
        self._times.append(self.clock.now)

    @staticmethod
    def stack_row(host: Host, event: str, detail: str = "", flow: int | None = None,
                  **data: Any) -> tuple[Any, ...]:
        """The row ``stack`` would append, to append later (``cross``'s ``then``): rows are
        shared, each record built from one copies ``data``."""
        return (stack_row, host.name, event, detail, flow, data)

    def walk(self, host: Host, ctx: Ctx, stage: Stage, packet: str | None, op: str | None, direction: str | None,
             dir_int: int | None, flow: int | None, reauth: bool | int = False, stack_discard: bool = False,
             nbytes: int = 0) -> Layer | None:
        """Cross ``stage``'s layers with ``ctx``; the layer that blocked, or None.

        ``dir_int`` is the DIRECTION value the classifications carry (None: the field is
        not set); ``stack_discard``: the stack itself discards (no listener, §2.7 — the
        events of a discard layer differ); ``nbytes``: the stream data's size (byte counts).

        IPv4 traffic of a dual-stack socket: ``ctx`` is its IPv4 endpoint and ``ctx.ale`` the
        same endpoint with IPv4-mapped addresses; an ALE row is walked at V6 with the latter
        ("Application Layer Enforcement (ALE)", learn.microsoft.com/windows/win32/fwp/
        application-layer-enforcement--ale- : "classifications at the IPv4 ALE layer may not
        occur ... create filters at the V6 layer using the IPv6-mapped address"), the packet
        rows at V4 (docs/decisions-engine.md "Dual-stack sockets")."""
        ale = ctx.ale
        if ale is not None and stage.ale:
            ctx = ale
            stage = host.stage(128, stage.key)
        self.redirected = None
        return self.cross(host, ctx, ctx.path(stage, packet, op, direction, dir_int, flow, reauth), stack_discard,
                          None, nbytes)

    def cross(self, host: Host, ctx: Ctx, path: Path, stack_discard: bool = False,
              then: tuple[Any, ...] | None = None, nbytes: int = 0) -> Layer | None:
        """``walk`` along a kept ``Path`` (the memo; see the module docstring). ``then``: a
        stack row (``stack_row``) to append after the crossing when nothing blocked.

        On a flow, a layer where some callout reads the flow's state (``Host.flow_layers``,
        issue 15) is classified afresh with it and never memoized; what the callouts did
        (an association, a byte count) follows its row as stack records."""
        token = host.policy_token
        if path.token is token:
            self._items.extend(path.rows)
            if then is None:
                self._times.extend([self.clock.now] * path.n)
            else:
                self._items.append(then)
                self._times.extend([self.clock.now] * (path.n + 1))
            return None
        now = self.clock.now
        items = self._items
        times = self._times
        hname = host.name
        packet, op, direction, flow, reauth = path.packet, path.op, path.direction, path.flow, path.reauth
        capture = self.capture
        built: list[tuple[Any, ...]] = []
        quiet = capture is None  # no events on the way (and no benchmark capture): rows reusable
        fl = host.flow_layers
        for view in path.views:
            effects: tuple[FlowEffect, ...] = ()
            if fl is not None and view.lid in fl:
                quiet = False
                effects = self._refresh_flow(host, view, flow, path.dir_int, nbytes)
            elif view.token is not token:
                self._refresh(host, view)
            if capture is not None:
                assert view.cl is not None
                capture.append((view.cl, view.values))
            row = (classify_row, view.out, hname, packet, op, direction, flow, reauth is not False)
            res = view.res
            if res is not None and res.redirected is not None:  # a callout rewrote the tuple: not memoized
                self.redirected = res.redirected
                quiet = False
            items.append(row)
            times.append(now)
            built.append(row)
            if view.events:
                quiet = False
                assert res is not None
                self._events(host, view.layer, ctx, res, direction, flow, reauth, stack_discard)
            if effects:
                self._flow_effects(host, flow, effects, direction, path.dir_int, nbytes)
                if view.action == BLOCK and self._reinject(host, ctx, view, path, effects, stack_discard, nbytes):
                    continue  # the callout's clone passed this layer: on to the next one
            if view.action == BLOCK:
                self.pended = None if view.res is None else view.res.pended
                # An absorbed packet "will not hit any of the WFP discard layers" ("Types of
                # Callouts", learn.microsoft.com/windows-hardware/drivers/network/types-of-callouts)
                twin = None if view.res is not None and view.res.absorbed else host.twin(view.layer)
                if twin is not None:  # §2.7: the same packet at the discard twin, then stop
                    self.walk(host, ctx, twin, packet, op, direction, path.dir_int, flow, reauth, False, nbytes)
                return view.layer
        if quiet:
            path.token, path.rows, path.n = token, tuple(built), len(built)
        if then is not None:
            items.append(then)
            times.append(now)
        return None

    def _refresh(self, host: Host, view: View) -> None:
        """Classify ``view`` under the host's current policy and keep the result: the
        simulator's only call of the arbitration."""
        layer = view.layer
        lid = view.lid
        cl = host._cl.get(lid)
        if cl is None:
            cl = host.cl(layer)
        self._keep(host, view, cl, cl.classify(view.values))

    def _refresh_flow(self, host: Host, view: View, fid: int | None, dir_int: int | None,
                      nbytes: int, injected: str | None = None) -> tuple[FlowEffect, ...]:
        """Classify ``view`` on flow ``fid`` (None: no flow) with the flow's callout state
        (issue 15); ``injected``: the callout whose reinjected clone this is. Kept for this
        crossing only (``token`` None: the next plain crossing classifies again)."""
        cl = host._cl.get(view.lid)
        if cl is None:
            cl = host.cl(view.layer)
        flow = None if fid is None else host.flows.get(fid)
        res, effects = cl.classify_flow(view.values, None if flow is None else flow.state, nbytes, dir_int,
                                        injected)
        self._keep(host, view, cl, res)
        view.token = None
        return effects

    def _reinject(self, host: Host, ctx: Ctx, view: View, path: Path, effects: tuple[FlowEffect, ...],
                  stack_discard: bool, nbytes: int) -> bool:
        """Inject-after-absorb (issue 15): when the standing block is a callout's ``reinject``
        (absorb, FWPS_RIGHT_ACTION_WRITE cleared, clone injected back), the clone is classified
        again at the same layer -- "the injected packet can be indicated to the callout driver
        again" (FwpsInjectTransportSendAsync0 remarks) -- where the callout permits its own
        injection. True: the clone passed; the walk goes on. An absorbed packet reaches no
        discard layer ("Types of Callouts")."""
        res = view.res
        f = None if res is None else res.filter
        by = next((str(e[1]) for e in effects if e[0] == "reinject" and f is not None and e[2] == f.key), None)
        if by is None:
            return False
        inbound = path.dir_int == INBOUND
        fn = "FwpsInjectTransportReceiveAsync0" if inbound else "FwpsInjectTransportSendAsync0"
        flow = path.flow
        self.stack(host, "packet-reinjected", f"callout {by!r} absorbed the {path.packet or 'packet'} and injected "
                   f"a clone back ({fn}); the clone is classified again at {view.name}", flow, callout=by)
        more = self._refresh_flow(host, view, flow, path.dir_int, nbytes, injected=by)
        self._items.append((classify_row, view.out, host.name, path.packet, path.op, path.direction, flow,
                            path.reauth is not False))
        self._times.append(self.clock.now)
        if view.events:
            res2 = view.res
            assert res2 is not None
            self._events(host, view.layer, ctx, res2, path.direction, flow, path.reauth, stack_discard)
        if more:
            self._flow_effects(host, flow, more, path.direction, path.dir_int, nbytes)
        return view.action != BLOCK

    def _flow_effects(self, host: Host, fid: int | None, effects: tuple[FlowEffect, ...], direction: str | None,
                      dir_int: int | None, nbytes: int) -> None:
        """Apply what flow-aware callouts did (core.arbitration ``FlowEffect``) and say so:
        FwpsFlowAssociateContext0 (one context per callout and flow; another one is refused
        with STATUS_OBJECT_NAME_EXISTS, learn.microsoft.com/windows-hardware/drivers/ddi/
        fwpsk/nf-fwpsk-fwpsflowassociatecontext0), and a byte-count rule's count of the
        flow's stream in this direction (FWPS_STREAM_CALLOUT_IO_PACKET0 countBytesEnforced)."""
        flow = None if fid is None else host.flows.get(fid)
        state = None if flow is None else flow.state
        for e in effects:
            if e[0] == "reinject" or flow is None:
                continue  # a reinjection is the traversal's (``_reinject``); the rest needs a flow
            if state is None:
                state = flow.state = FlowState()
            if e[0] == "associate":
                by, target, label = str(e[1]), str(e[2]), str(e[3])
                have = state.contexts.get(target)
                if have is None:
                    state.contexts[target] = label
                    self.stack(host, "flow-context-associated",
                               f"callout {by!r} associated context {label!r} with flow {fid} for callout {target!r} "
                               f"(FwpsFlowAssociateContext0)", fid, callout=target, context=label)
                else:
                    self.stack(host, "flow-context-exists",
                               f"callout {by!r}: flow {fid} already carries context {have!r} for callout {target!r} "
                               f"(STATUS_OBJECT_NAME_EXISTS)", fid, callout=target, context=have)
                continue
            key, rule_no, limit, then, over = str(e[1]), e[2], e[3], str(e[4]), bool(e[5])
            k = (key, 0 if dir_int is None else dir_int)
            total = state.counts.get(k, 0) + nbytes
            state.counts[k] = total
            past = ""
            if over:
                past = f": past the limit, {then}"
                if then == DROP_CONNECTION and state.dropped is None:
                    state.dropped = (f"callout {key!r} rule {rule_no}: FWPS_STREAM_ACTION_DROP_CONNECTION "
                                     f"past {limit} bytes")
            way = f" {direction}" if direction else ""
            self.stack(host, "stream-bytes", f"callout {key!r} rule {rule_no}: {total} of {limit} bytes{way}{past}",
                       fid, callout=key, bytes=nbytes, total=total, limit=limit)

    def _keep(self, host: Host, view: View, cl: CompiledLayer, res: ClassifyResult) -> None:
        """Keep classification ``res`` of ``view`` (the record's copies, events, layer order)."""
        layer = view.layer
        lid = view.lid
        f = res.filter
        sl = res.sublayer
        view.token = host.policy_token
        view.cl = cl
        view.res = res
        view.action = res.action
        view.out = Outcome(view.name, lid, res.action, None if f is None else f.key, None if f is None else f.filter_id,
                           None if sl is None else sl.key, res.terminating, res.veto, view.rendered, res)
        # Events only for blocks and for filter-decided permits at the ALE layers that
        # audit them (checked by layer id: no string work on the per-packet path).
        view.events = res.action == BLOCK or (f is not None and lid in EVENT_PERMIT_IDS)
        if lid not in host.seen:  # the first classification at this layer on this host
            host.seen.add(lid)
            self.layer_order[host.name].append(layer.name)

    def _events(self, host: Host, layer: Layer, ctx: Ctx, res: ClassifyResult, direction: str | None,
                flow: int | None, reauth: bool | int, stack_discard: bool) -> None:
        fam = layer_family(layer.name)
        if res.action != BLOCK and fam not in EVENT_PERMIT_FAMILIES:
            return
        fid = None if res.filter is None else res.filter.filter_id
        ne = net_event_type(fam, res, is_discard=layer.is_discard, stack_discard=stack_discard, windows=host.windows)
        if ne is not None:
            self.records.append(NetEventRecord(self.seq + 1, self.clock.now, host.name, ne, fid, layer.layer_id,
                                               direction_word(direction, fam), flow,
                                               net_event_data(ctx.info, reauth_reason(reauth) if fam in REAUTH_FAMILIES else 0)))
        for eid in audit_ids(fam, res, is_discard=layer.is_discard, stack_discard=stack_discard):
            self.records.append(AuditRecord(self.seq + 1, self.clock.now, host.name, eid, fid, layer.layer_id, flow,
                                            audit_data(eid, fam, layer.layer_id, direction, ctx.info, fid)))
