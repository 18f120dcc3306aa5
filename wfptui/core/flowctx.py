"""What the filter engine keeps with one data flow for callouts (issue 15): the contexts
callouts associated with it and, for stream inspection by byte count, the bytes each
callout has seen per direction. docs/decisions-engine.md "Flow context and stream
inspection (issue 15)".

Microsoft's pages this follows:

* "Associating Context with a Data Flow"
  (learn.microsoft.com/windows-hardware/drivers/network/associating-context-with-a-data-flow):
  a classifyFn calls FwpsFlowAssociateContext0 with the flow handle
  (FWPS_METADATA_FIELD_FLOW_HANDLE); the filter engine hands the context back to the
  callout's classifyFn as ``flowContext`` for that flow.
* FwpsFlowAssociateContext0 (learn.microsoft.com/windows-hardware/drivers/ddi/fwpsk/nf-fwpsk-fwpsflowassociatecontext0):
  one context per callout and flow; a second association without FwpsFlowRemoveContext0
  returns STATUS_OBJECT_NAME_EXISTS.
* FWPS_CALLOUT0 (learn.microsoft.com/windows-hardware/drivers/ddi/fwpsk/ns-fwpsk-fwps_callout0_):
  FWP_CALLOUT_FLAG_CONDITIONAL_ON_FLOW -- "the filter engine calls the callout driver's
  classifyFn0 callout function only if there is a context associated with the data flow".
* flowDeleteFn (.../nc-fwpsk-fwps_callout_flow_delete_notify_fn0): called when the flow
  terminates, "only if the callout driver associated a context with the data flow"; the
  context is removed by the filter engine.
* FWPS_STREAM_CALLOUT_IO_PACKET0 (.../ns-fwpsk-fwps_stream_callout_io_packet0_):
  countBytesEnforced, FWPS_STREAM_ACTION_DROP_CONNECTION (only with FWP_ACTION_CALLOUT_UNKNOWN).

The core keeps no files and no simulator state here: ``core.sim`` owns one ``FlowState``
per flow that has one; ``core.arbitration`` reads it to choose a flow-aware callout's rule.
"""

from __future__ import annotations

from wfptui.core.model import Callout, Policy

__all__ = ["DROP_CONNECTION", "FLOW_LAYER_FAMILIES", "REINJECT", "REINJECT_FAMILIES", "STREAM_FAMILIES",
           "THEN_ACTIONS", "FlowState",
           "flow_aware", "flow_layer_ids"]

#: ``then`` of a ``permit_bytes`` rule: FWP_ACTION_BLOCK of the data, or
#: FWPS_STREAM_ACTION_DROP_CONNECTION.
DROP_CONNECTION = "drop_connection"
THEN_ACTIONS = ("block", DROP_CONNECTION)
#: A rule action: clone the packet, absorb the original (FWP_ACTION_BLOCK with
#: FWPS_CLASSIFY_OUT_FLAG_ABSORB, FWPS_RIGHT_ACTION_WRITE cleared) and inject the clone back
#: (FwpsInjectTransportSendAsync0 / ...ReceiveAsync0); the clone is classified again and the
#: callout, seeing FWPS_PACKET_INJECTED_BY_SELF, permits it.
REINJECT = "reinject"
#: Where the transport injection functions take a clone back: the layers whose callouts get
#: the endpoint handle and send parameters (FwpsInjectTransportSendAsync0 remarks) and their
#: inbound twins.
REINJECT_FAMILIES = frozenset({"INBOUND_TRANSPORT", "OUTBOUND_TRANSPORT", "DATAGRAM_DATA"})

#: Layer families whose classifications carry FWPS_METADATA_FIELD_FLOW_HANDLE ("Metadata
#: fields at each filtering layer", learn.microsoft.com/windows-hardware/drivers/network/
#: metadata-fields-at-each-filtering-layer), discard twins included: where a flow's context
#: can reach a callout.
FLOW_LAYER_FAMILIES = frozenset({
    "INBOUND_TRANSPORT", "OUTBOUND_TRANSPORT", "STREAM", "DATAGRAM_DATA", "STREAM_PACKET",
    "ALE_AUTH_CONNECT", "ALE_AUTH_RECV_ACCEPT", "ALE_FLOW_ESTABLISHED",
})
#: Where stream data (FWPS_STREAM_CALLOUT_IO_PACKET0) is classified: byte counts.
STREAM_FAMILIES = frozenset({"STREAM"})


def flow_aware(callout: Callout) -> bool:
    """Does the callout's behaviour depend on a flow's state (a context, a byte count), or
    change it (an association)?"""
    if callout.conditional_on_flow:
        return True
    return any(r.flow_context is not None or r.when_flow_context is not None or r.permit_bytes is not None
               or r.action == REINJECT for r in callout.rules)


def flow_layer_ids(policy: Policy) -> frozenset[int] | None:
    """The run-time ids of the layers where some enabled filter's callout is flow-aware: the
    only classifications that read a flow's state (None: none -- the simulator's fast path)."""
    from wfptui.core.layers import get_layer
    from wfptui.core.model import FilterFlag

    ids: set[int] = set()
    aware = {k for k, c in policy.callouts.items() if flow_aware(c)}
    if not aware:
        return None
    for f in policy.filters:
        if f.callout in aware and f.action.is_callout and not f.flags & FilterFlag.DISABLED:
            ids.add(get_layer(f.layer).layer_id)
    return frozenset(ids) if ids else None


class FlowState:
    """One flow's callout state: ``contexts`` (callout key -> context label, as
    FwpsFlowAssociateContext0 left it), ``counts`` ((callout key, FWP_DIRECTION) -> stream
    bytes the callout's byte-count rule has seen), ``dropped`` (set when a callout asked for
    FWPS_STREAM_ACTION_DROP_CONNECTION: the words of the stack record)."""

    __slots__ = ("contexts", "counts", "dropped")

    def __init__(self) -> None:
        self.contexts: dict[str, str] = {}
        self.counts: dict[tuple[str, int], int] = {}
        self.dropped: str | None = None
