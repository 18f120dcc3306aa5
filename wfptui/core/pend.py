"""Pended classifications (issue 15): a callout rule that pends an ALE authorization and
completes it later. docs/decisions-engine.md "Pended classifications (issue 15)".

Microsoft's pages this follows:

* FwpsPendOperation0 (learn.microsoft.com/windows-hardware/drivers/ddi/fwpsk/nf-fwpsk-fwpspendoperation0):
  "To be able to pend packet processing, the callout driver's classifyFn function should set
  the actionType member of the FWPS_CLASSIFY_OUT0 structure to FWP_ACTION_BLOCK and the Flags
  member to FWPS_CLASSIFY_OUT_FLAG_ABSORB"; "Only an initial Application Layer Enforcement
  (ALE) flow authorization can be postponed ... A call to FwpsPendOperation0 from the
  FWPM_LAYER_ALE_AUTH_CONNECT_Xxx or FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_Xxx filtering layers
  will fail if the FWP_CONDITION_FLAG_IS_REAUTHORIZE flag is set" (STATUS_FWP_CANNOT_PEND).
* FwpsCompleteOperation0 (.../nf-fwpsk-fwpscompleteoperation0): "Pended connections are
  authenticated again after the FwpsCompleteOperation0 function executes. TCP connections, if
  allowed, are created by completing the handshake operation, but non-TCP connections just
  create state entries. Any pended packet data is flushed from memory ..., so an application
  will have to retransmit those packets".
* "Types of Callouts" (.../drivers/network/types-of-callouts): an absorbed packet reaches no
  discard layer and causes no audit event.

So a ``pend`` rule answers the initial classification with a hard, absorbed block (the
classification is suspended: no discard layer, no net event, no audit) and tells the
simulator to complete it ``complete_after`` virtual seconds later; the completion classifies
the same layer again with FWP_CONDITION_FLAG_IS_REAUTHORIZE set, where the same rule, unable
to pend again, answers ``then`` (permit or block).
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["IS_REAUTHORIZE", "PEND", "PEND_FAMILIES", "PEND_THEN", "Pend", "is_reauthorize"]

#: The rule action.
PEND = "pend"
#: What the rule answers on the reauthorization that completes the pend.
PEND_THEN = ("permit", "block")
#: Where wfptui lets a rule pend: the connect and accept authorizations, the two layers whose
#: pending FwpsPendOperation0 / FwpsCompleteOperation0 describe end to end. (The page also
#: allows RESOURCE_ASSIGNMENT and AUTH_LISTEN; not modelled: docs/decisions-engine.md.)
PEND_FAMILIES = frozenset({"ALE_AUTH_CONNECT", "ALE_AUTH_RECV_ACCEPT"})
#: FWP_CONDITION_FLAG_IS_REAUTHORIZE (wfp-model.md §4.5).
IS_REAUTHORIZE = 0x4


class Pend(NamedTuple):
    """What a pending rule asked for: which callout and rule (1-based), when to complete
    (virtual seconds after the classification; None: on a ``complete`` step naming the
    callout) and the answer then."""

    callout: str
    rule: int
    after: float | None
    then: str

    def when(self) -> str:
        """``after 0.25 s`` / ``on a complete step``, for the trace and the explanation."""
        return "on a `complete` step" if self.after is None else f"after {self.after:g} s"


def is_reauthorize(flags: object) -> bool:
    """Is FWP_CONDITION_FLAG_IS_REAUTHORIZE set in a FLAGS value (absent or not an int: no)?"""
    return type(flags) is int and bool(flags & IS_REAUTHORIZE)
