"""What one matching filter returns (wfp-model.md §3.1, §3.4, D-UNREG), and the rules of
callouts that behave (issue 15): the per-filter half of arbitration (``core.arbitration``
combines the outcomes across a layer's sublayers).

A static action's outcome is a property of the filter alone; a callout's comes from its
declared behaviour (``Callout.returns``/``hard``/``silent``) or, when it declares rules, from
the first rule whose conditions hold on the packet (``rule_choice``), else its default.
"""

from __future__ import annotations

from collections.abc import Mapping

from wfptui.core.flowctx import DROP_CONNECTION, REINJECT
from wfptui.core.match import condition_groups, conditions_match
from wfptui.core.model import (
    BLOCK,
    CONTINUE,
    PERMIT,
    SKIPPED,
    ActionType,
    Callout,
    CalloutRule,
    Condition,
    Filter,
    FilterFlag,
    MatchType,
    Value,
)
from wfptui.core.pend import PEND, Pend, is_reauthorize
from wfptui.core.redirect import CONNECT, REDIRECT, Redirect, Target, endpoint_text, is_proxy_connection
from wfptui.core.values import format_value

__all__ = ["ABSORB", "FilterOutcome", "callout_outcome", "evaluate_filter", "injected_by_self", "not_called",
           "rule_choice", "rule_text"]

_A = ActionType
# Plain ints: IntFlag arithmetic builds a new enum member on every ``&``.
_CLEAR_ACTION_RIGHT = int(FilterFlag.CLEAR_ACTION_RIGHT)
_PERMIT_IF_CALLOUT_UNREGISTERED = int(FilterFlag.PERMIT_IF_CALLOUT_UNREGISTERED)

#: A callout's FWP_ACTION_BLOCK with FWPS_CLASSIFY_OUT_FLAG_ABSORB (issue 15; D-CLASSIFYOUT).
ABSORB = "absorb"


# ----------------------------------------------------------------------------- one filter


class FilterOutcome:
    """What one filter returns, independent of the packet (callout behaviour is static)."""

    __slots__ = ("absorb", "can_veto", "hard", "note", "outcome", "pend", "redirect", "silent")

    def __init__(self, outcome: str, hard: bool, note: str, can_veto: bool = False, silent: bool = False,
                 absorb: bool = False, pend: Pend | None = None, redirect: Redirect | None = None):
        self.outcome = outcome  # permit | block | continue | skipped
        self.hard = hard
        self.note = note
        self.can_veto = can_veto  # a callout returned block: may veto a hard permit
        self.silent = silent  # ... and that callout drops silently
        #: ... with FWPS_CLASSIFY_OUT_FLAG_ABSORB: the packet reaches no discard layer either
        self.absorb = absorb
        #: ... because the callout pended the classification (FwpsPendOperation0; core.pend)
        self.pend = pend
        #: a permit that rewrote the connection's remote or the socket's local end (core.redirect)
        self.redirect = redirect

    def __repr__(self) -> str:
        return f"FilterOutcome({self.outcome!r}, hard={self.hard}, note={self.note!r})"


def _hardness(hard: bool) -> str:
    return "hard" if hard else "soft"


def evaluate_filter(f: Filter, callouts: Mapping[str, Callout],
                    values: Mapping[str, Value] | None = None) -> FilterOutcome:
    """The action one matching filter returns (§3.1, §3.4, D-UNREG). A callout with rules
    (issue 15) decides by ``values``: its first rule whose conditions hold, else its default;
    without ``values`` (a static view, e.g. lint) its default."""
    clear = bool(f.flags & _CLEAR_ACTION_RIGHT)
    action = f.action
    if action == _A.FWP_ACTION_BLOCK:
        return FilterOutcome(BLOCK, True, "static block: hard")
    if action == _A.FWP_ACTION_PERMIT:
        return FilterOutcome(
            PERMIT, clear, "static permit with CLEAR_ACTION_RIGHT: hard" if clear else "static permit: soft"
        )
    if not action.is_callout:  # CONTINUE, NONE, NONE_NO_MATCH
        return FilterOutcome(CONTINUE, False, "continue" if action == _A.FWP_ACTION_CONTINUE else f"{action.short}: no decision")
    name = f.callout or ""
    callout = callouts.get(name)
    if callout is None or callout.returns == "unregistered":
        why = "not defined" if callout is None else "unregistered"
        if action == _A.FWP_ACTION_CALLOUT_INSPECTION:
            return FilterOutcome(SKIPPED, False, f"callout {name!r} {why}: inspection filter ignored")
        if f.flags & _PERMIT_IF_CALLOUT_UNREGISTERED:
            return FilterOutcome(
                PERMIT, clear,
                f"callout {name!r} {why}: permit (PERMIT_IF_CALLOUT_UNREGISTERED), {_hardness(clear)}",
            )
        return FilterOutcome(BLOCK, True, f"callout {name!r} {why}: treated as a static block, hard")
    if callout.conditional_on_flow and values is not None:
        return not_called(f, callout)  # a packet without a flow: no context (issue 15)
    if not callout.rules:
        return callout_outcome(f, callout, None)
    if values is None:
        return callout_outcome(f, callout, len(callout.rules), static_view=True)
    i = rule_choice(callout, values)
    # a byte-count rule without a flow: nothing counted yet, within its count (issue 15)
    within = i < len(callout.rules) and callout.rules[i].permit_bytes is not None
    flags = values.get("FLAGS")
    return callout_outcome(f, callout, i, stream="within" if within else None,
                           reauth=is_reauthorize(flags), proxied=is_proxy_connection(flags))


def injected_by_self(f: Filter, callout: Callout) -> FilterOutcome:
    """A callout's own reinjected clone, classified again: FwpsQueryPacketInjectionState0
    returns FWPS_PACKET_INJECTED_BY_SELF and the callout permits it
    (learn.microsoft.com/windows-hardware/drivers/ddi/fwpsk/nf-fwpsk-fwpsinjecttransportsendasync0:
    "permit packets that have the injection state ... FWPS_PACKET_INJECTED_BY_SELF")."""
    name = callout.key if f.callout is None else f.callout
    return FilterOutcome(PERMIT, False, f"callout {name!r}: its own clone (FwpsQueryPacketInjectionState0 = "
                                        f"FWPS_PACKET_INJECTED_BY_SELF): permit, soft")


def not_called(f: Filter, callout: Callout) -> FilterOutcome:
    """A FWP_CALLOUT_FLAG_CONDITIONAL_ON_FLOW callout on a flow without its context: the
    filter engine does not call its classifyFn (FWPS_CALLOUT0,
    learn.microsoft.com/windows-hardware/drivers/ddi/fwpsk/ns-fwpsk-fwps_callout0_): skipped."""
    name = callout.key if f.callout is None else f.callout
    return FilterOutcome(SKIPPED, False, f"callout {name!r} not called: FWP_CALLOUT_FLAG_CONDITIONAL_ON_FLOW "
                                         f"and the flow carries no context for it")


def rule_choice(callout: Callout, values: Mapping[str, Value]) -> int:
    """The index of the first rule of ``callout`` whose conditions hold for ``values``
    (``core.match``: ORed within a field, ANDed across fields -- the callout's own code,
    whatever the host's Windows), or ``len(callout.rules)``: the default applies."""
    for i, rule in enumerate(callout.rules):
        # Without a flow no rule that asks for a flow context holds (issue 15).
        if rule.when_flow_context is None and conditions_match(rule.conditions, values):
            return i
    return len(callout.rules)


def _condition_text(c: Condition) -> str:
    try:
        v = format_value(c.value, c.dtype, c.field)
    except (KeyError, ValueError):  # a field the catalogue does not know: plain repr
        v = repr(c.value)
    return f"{c.field} = {v}" if c.match == MatchType.FWP_MATCH_EQUAL else f"{c.field} {c.match.short} {v}"


def rule_text(rule: CalloutRule) -> str:
    """A rule's conditions in words: ``IP_REMOTE_PORT = 443 and IP_REMOTE_ADDRESS = 10.0.0.0/8``."""
    parts = [" or ".join(_condition_text(c) for c in conds) for _fld, conds in condition_groups(rule.conditions)]
    if rule.when_flow_context is not None:
        parts.append(f"flow context = {rule.when_flow_context!r}")
    if rule.permit_bytes is not None:
        parts.append(f"permit_bytes = {rule.permit_bytes}, then {rule.then or 'block'}")
    if rule.action == PEND:
        when = "until a complete step" if rule.complete_after is None else f"{rule.complete_after:g} s"
        parts.append(f"pend {when}, then {rule.then}")
    if rule.target is not None:
        parts.append(f"redirect {'to' if rule.target.kind == CONNECT else 'local'} {target_text(rule.target)}")
    text = " and ".join(parts) if parts else "no conditions"
    if rule.flow_context is not None:
        target = f" for callout {rule.flow_context_callout!r}" if rule.flow_context_callout else ""
        text += f"; associates flow context {rule.flow_context!r}{target}"
    return text


def target_text(t: Target) -> str:
    """``127.0.0.1:8080``, ``[::1]:8080``, ``10.8.0.2`` (a bind redirect of the address only)."""
    return endpoint_text(t.addr, t.bits, t.port)


def callout_outcome(f: Filter, callout: Callout, choice: int | None, static_view: bool = False, *,
                    label: str | None = None, stream: str | None = None, reauth: bool = False,
                    proxied: bool = False) -> FilterOutcome:
    """What a registered callout's classifyFn returns for filter ``f``: its static ``returns``
    (``choice`` None: a callout without rules), rule ``choice`` (0-based), or its default
    (``choice == len(callout.rules)``). ``label``: the flow context the callout was handed
    (named in the note); ``stream``: for a ``permit_bytes`` rule, ``within`` (permit) or
    ``over`` (its ``then``) the byte count (issue 15); ``reauth``: FLAGS has IS_REAUTHORIZE, so a
    ``pend`` rule cannot pend (STATUS_FWP_CANNOT_PEND) and answers its ``then`` (core.pend);
    ``proxied``: FLAGS has IS_PROXY_CONNECTION, so a connect ``redirect`` rule does not redirect
    again (core.redirect). Hardness (§3.4, D-CLASSIFYOUT): a permit is hard with
    the filter's CLEAR_ACTION_RIGHT or a hard rule/callout; a block (or absorb) is hard with a
    hard rule/callout; ``absorb`` is a block with FWPS_CLASSIFY_OUT_FLAG_ABSORB: silent, no net
    event or audit (learn.microsoft.com/windows-hardware/drivers/ddi/fwpstypes/ns-fwpstypes-fwps_classify_out0_,
    .../drivers/network/types-of-callouts)."""
    name = callout.key if f.callout is None else f.callout
    if choice is None:
        returns, hard_decl = callout.returns, callout.hard
        who, sep = f"callout {name!r}", " returned "
    elif choice >= len(callout.rules):
        returns, hard_decl = callout.returns, callout.hard
        why_default = "rules decide per packet" if static_view else "no rule matched"
        who, sep = f"callout {name!r} default ({why_default})", ": "
    else:
        rule = callout.rules[choice]
        returns = rule.action
        hard_decl = callout.hard if rule.hard is None else rule.hard
        who, sep = f"callout {name!r} rule {choice + 1} ({rule_text(rule)})", ": "
        if stream == "within":
            who += f", within the first {rule.permit_bytes} bytes"
        elif stream == "over":
            returns = BLOCK
            who += f", past the first {rule.permit_bytes} bytes"
            if rule.then == DROP_CONNECTION:
                sep = ": FWPS_STREAM_ACTION_DROP_CONNECTION (the connection is dropped), data "
        elif returns == PEND and reauth:
            # FwpsPendOperation0 fails in a reauthorization (STATUS_FWP_CANNOT_PEND): the
            # completing classification gets the rule's answer (core.pend)
            returns = rule.then or PERMIT
            sep = ": the pended classification completed (FwpsCompleteOperation0; IS_REAUTHORIZE, cannot pend again): "
    if label is not None:
        who += f" [flow context {label!r}]"
    clear = bool(f.flags & _CLEAR_ACTION_RIGHT)
    rules = choice is not None
    if f.action == _A.FWP_ACTION_CALLOUT_INSPECTION:
        if returns in (PERMIT, BLOCK, ABSORB, REINJECT, PEND, REDIRECT):
            return FilterOutcome(CONTINUE, False, f"{who}{sep}{returns} under an inspection action: treated as continue")
        return FilterOutcome(CONTINUE, False, f"{who}{sep}{returns}")
    if returns == PERMIT:
        hard = clear or hard_decl
        why = " (CLEAR_ACTION_RIGHT)" if clear else " (hard callout)" if hard_decl and not rules else ""
        return FilterOutcome(PERMIT, hard, f"{who}{sep}permit{', ' if rules else ': '}{_hardness(hard)}{why}")
    if returns == REDIRECT:
        assert choice is not None and choice < len(callout.rules)
        rule = callout.rules[choice]
        target = rule.target
        assert target is not None
        hard = clear or hard_decl
        if proxied and target.kind == CONNECT:
            # "Using Bind or Connect Redirection": FwpsQueryConnectionRedirectState0 "to prevent
            # infinite redirecting"; "If the connection is to a local proxy, your callout driver
            # should not attempt to redirect it" -- a proxied connection is let through as it is
            return FilterOutcome(PERMIT, hard, f"{who}{sep}the connection carries redirect records (IS_PROXY_CONNECTION, "
                                               f"FwpsQueryConnectionRedirectState0): not redirected again; permit, "
                                               f"{_hardness(hard)}")
        what = ("remote" if target.kind == CONNECT else "local") + f" -> {target_text(target)}"
        request = "FWPS_CONNECT_REQUEST0" if target.kind == CONNECT else "FWPS_BIND_REQUEST0"
        return FilterOutcome(PERMIT, hard, f"{who}{sep}redirect {what} ({request}, FwpsApplyModifiedLayerData0); "
                                           f"permit, {_hardness(hard)}",
                             redirect=Redirect(name, choice + 1, target.kind, target.addr, target.bits, target.port))
    if returns == PEND:
        # FwpsPendOperation0: FWP_ACTION_BLOCK with FWPS_CLASSIFY_OUT_FLAG_ABSORB; hard, as a
        # callout that suspends a classification must hold the action right (docs: "Pended
        # classifications").
        assert choice is not None and choice < len(callout.rules)
        rule = callout.rules[choice]
        pend = Pend(name, choice + 1, rule.complete_after, rule.then or PERMIT)
        note = (f"{who}{sep}pend (FwpsPendOperation0: FWP_ACTION_BLOCK with FWPS_CLASSIFY_OUT_FLAG_ABSORB, hard); "
                f"completes {pend.when()} with {pend.then}")
        return FilterOutcome(BLOCK, True, note, can_veto=True, silent=True, absorb=True, pend=pend)
    if returns == REINJECT:
        # "Types of Callouts" (learn.microsoft.com/windows-hardware/drivers/network/types-of-callouts):
        # clone, return FWP_ACTION_BLOCK with FWPS_CLASSIFY_OUT_FLAG_ABSORB after clearing
        # FWPS_RIGHT_ACTION_WRITE ("hard"-drop the original), inject the clone.
        note = (f"{who}{sep}reinject: the packet is absorbed (FWP_ACTION_BLOCK, FWPS_CLASSIFY_OUT_FLAG_ABSORB, "
                f"FWPS_RIGHT_ACTION_WRITE cleared) and a clone injected back, hard")
        return FilterOutcome(BLOCK, True, note, can_veto=True, silent=True, absorb=True)
    if returns in (BLOCK, ABSORB):
        absorb = returns == ABSORB
        silent = callout.silent or absorb
        extra = (" (FWPS_CLASSIFY_OUT_FLAG_ABSORB: dropped silently, no net event or audit)" if absorb
                 else ", silent drop" if silent else "")
        note = f"{who}{sep}{returns}{', ' if rules else ': '}{_hardness(hard_decl)}{extra}"
        return FilterOutcome(BLOCK, hard_decl, note, can_veto=True, silent=silent, absorb=absorb)
    return FilterOutcome(CONTINUE, False, f"{who}{sep}{returns}")
