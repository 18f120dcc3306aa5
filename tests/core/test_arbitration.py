"""Arbitration (wfp-model.md §3.3–§3.6): worked examples, every rule, and the compiled
classifier agreeing with the naive reference scan on random policies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wfptui.core.arbitration import (
    CompiledPolicy,
    classify_naive,
    compile_policy,
    evaluate_filter,
)
from wfptui.core.datatypes import DataType
from wfptui.core.decision import bit, positions
from wfptui.core.layers import get_layer
from wfptui.core.match import filter_matches
from wfptui.core.model import (
    CALLOUT_ACTIONS,
    EMPTY,
    ActionType,
    AddrMask,
    Callout,
    CalloutRule,
    ClassifyResult,
    Condition,
    Filter,
    FilterFlag,
    MatchType,
    Policy,
    Range,
    Sublayer,
    Value,
)
from wfptui.core.redirect import Target

LAYER = "ALE_AUTH_RECV_ACCEPT_V4"
A = ActionType
M = MatchType
BUILTIN = {
    "UNIVERSAL": Sublayer("UNIVERSAL", 0x8000, builtin=True),
    "MPSSVC_WF": Sublayer("MPSSVC_WF", 2, builtin=True),
    "MPSSVC_WSH": Sublayer("MPSSVC_WSH", 3, builtin=True),
    "MPSSVC_QUARANTINE": Sublayer("MPSSVC_QUARANTINE", 4, builtin=True),
    "INSPECTION": Sublayer("INSPECTION", 0, builtin=True),
}


def cond(fld: str, match: MatchType, value: Value, dtype: DataType = DataType.FWP_UINT16) -> Condition:
    return Condition(fld, match, value, dtype)


def port(p: int) -> Condition:
    return cond("IP_LOCAL_PORT", M.FWP_MATCH_EQUAL, p)


def flt(key: str, action: ActionType, sublayer: str = "UNIVERSAL", weight: int = 0, fid: int = 0,
        conditions: Sequence[Condition] = (), flags: int = 0, callout: str | None = None,
        layer: str = LAYER) -> Filter:
    return Filter(key=key, layer=layer, action=action, sublayer=sublayer, effective_weight=weight,
                  conditions=tuple(conditions), flags=flags, callout=callout, filter_id=fid)


def policy(filters: Sequence[Filter], sublayers: Sequence[Sublayer] = (),
           callouts: Sequence[Callout] = ()) -> Policy:
    sls = dict(BUILTIN)
    sls.update({s.key: s for s in sublayers})
    return Policy(sublayers=sls, callouts={c.key: c for c in callouts}, filters=tuple(filters))


def both(pol: Policy, values: Mapping[str, Value], layer: str = LAYER) -> ClassifyResult:
    """Classify with both classifiers, check they agree exactly, return the result."""
    naive = classify_naive(pol, layer, values)
    fast = compile_policy(pol).classify(layer, values)
    assert fast == naive
    assert CompiledPolicy(pol, cache=False).classify(layer, values) == naive
    return naive


def summary(r: ClassifyResult) -> tuple[object, ...]:
    return (r.action, r.filter.key if r.filter else None, r.hard, r.veto,
            [(t.filter, t.sublayer, t.action, t.hard) for t in r.terminating])


# ----------------------------------------------------------------------------- §3.6 worked examples


def test_uwp_drop_wsh_block_beats_wf_permit() -> None:
    # D-UWP: WSH (weight 3) static block, WF (weight 2) permit -> dropped by the WSH filter.
    pol = policy([
        flt("wf-allow", A.FWP_ACTION_PERMIT, "MPSSVC_WF", fid=73602),
        flt("wsh-block", A.FWP_ACTION_BLOCK, "MPSSVC_WSH", fid=74045),
    ])
    r = both(pol, {"IP_LOCAL_PORT": 80})
    assert summary(r) == ("block", "wsh-block", True, False,
                          [("wsh-block", "MPSSVC_WSH", "block", True), ("wf-allow", "MPSSVC_WF", "permit", False)])
    assert r.sublayer is not None and r.sublayer.key == "MPSSVC_WSH"
    assert [(s.sublayer.key, s.effect) for s in r.sublayers] == [("MPSSVC_WSH", "decided"), ("MPSSVC_WF", "kept")]
    assert r.layer.layer_id == 44


def test_uwp_all_sublayers_permit_allows() -> None:
    pol = policy([
        flt("wf-allow", A.FWP_ACTION_PERMIT, "MPSSVC_WF", fid=2),
        flt("wsh-allow", A.FWP_ACTION_PERMIT, "MPSSVC_WSH", fid=1),
    ])
    r = both(pol, {})
    assert summary(r)[:4] == ("permit", "wsh-allow", False, False)
    # Two soft permits agree: the first stays the deciding filter.
    assert [s.effect for s in r.sublayers] == ["decided", "kept"]


def test_quarantine_drop_three_sublayers() -> None:
    # D-QUAR: classifyDrop.filterId = 66241, terminatingFiltersInfo lists all three in order.
    pol = policy([
        flt("wf", A.FWP_ACTION_BLOCK, "MPSSVC_WF", fid=73602),
        flt("quarantine", A.FWP_ACTION_BLOCK, "MPSSVC_QUARANTINE", fid=66241),
        flt("wsh", A.FWP_ACTION_BLOCK, "MPSSVC_WSH", fid=74045),
    ])
    r = both(pol, {"IP_PROTOCOL": 6})
    assert r.action == "block" and r.filter is not None and r.filter.filter_id == 66241
    assert [(t.filter_id, t.sublayer, t.action) for t in r.terminating] == [
        (66241, "MPSSVC_QUARANTINE", "block"), (74045, "MPSSVC_WSH", "block"), (73602, "MPSSVC_WF", "block")]
    assert [s.effect for s in r.sublayers] == ["decided", "kept", "kept"]


def simplewall_689(lower_action: ActionType, callout: Callout | None = None) -> Policy:
    other = Sublayer("other-vendor", 0xFFF0)
    simplewall = Sublayer("simplewall", 0x8001)
    return policy(
        [
            flt("vendor-allow", A.FWP_ACTION_PERMIT, "other-vendor", fid=10, flags=FilterFlag.CLEAR_ACTION_RIGHT),
            flt("sw-block", lower_action, "simplewall", fid=20, conditions=[port(443)],
                callout=callout.key if callout else None),
        ],
        sublayers=[other, simplewall],
        callouts=[callout] if callout else [],
    )


def test_simplewall_689_hard_permit_beats_lower_static_block() -> None:
    r = both(simplewall_689(A.FWP_ACTION_BLOCK), {"IP_LOCAL_PORT": 443})
    assert summary(r) == ("permit", "vendor-allow", True, False,
                          [("vendor-allow", "other-vendor", "permit", True), ("sw-block", "simplewall", "block", True)])
    assert [s.effect for s in r.sublayers] == ["decided", "kept"]


def test_simplewall_689_callout_block_vetoes_hard_permit() -> None:
    co = Callout("sw-callout", returns="block")
    r = both(simplewall_689(A.FWP_ACTION_CALLOUT_TERMINATING, co), {"IP_LOCAL_PORT": 443})
    assert summary(r) == ("block", "sw-block", True, True,
                          [("vendor-allow", "other-vendor", "permit", True), ("sw-block", "simplewall", "block", False)])
    assert [s.effect for s in r.sublayers] == ["decided", "veto"]
    assert r.sublayer is not None and r.sublayer.key == "simplewall"


def test_simplewall_689_fix_top_weight_sublayer_blocks() -> None:
    pol = simplewall_689(A.FWP_ACTION_BLOCK)
    sls = dict(pol.sublayers)
    sls["simplewall"] = Sublayer("simplewall", 0xFFFF)
    r = both(Policy(sls, pol.callouts, pol.filters), {"IP_LOCAL_PORT": 443})
    assert summary(r)[:4] == ("block", "sw-block", True, False)


# ----------------------------------------------------------------------------- inside a sublayer


def test_first_permit_or_block_ends_sublayer_and_rest_unreached() -> None:
    pol = policy([
        flt("c", A.FWP_ACTION_CONTINUE, weight=30, fid=1),
        flt("p", A.FWP_ACTION_PERMIT, weight=20, fid=2),
        flt("b", A.FWP_ACTION_BLOCK, weight=10, fid=3),
        flt("nomatch", A.FWP_ACTION_BLOCK, weight=40, fid=4, conditions=[port(1)]),
    ])
    r = both(pol, {"IP_LOCAL_PORT": 80})
    (sl,) = r.sublayers
    assert [(e.filter.key, e.outcome) for e in sl.evaluated] == [("c", "continue"), ("p", "permit")]
    assert [f.key for f in sl.unreached] == ["b"]
    assert sl.deciding is not None and sl.deciding.filter.key == "p"
    assert (sl.action, sl.hard, sl.effect) == ("permit", False, "decided")
    assert summary(r)[:3] == ("permit", "p", False)


def test_weight_order_highest_first() -> None:
    pol = policy([
        flt("low-permit", A.FWP_ACTION_PERMIT, weight=1, fid=1),
        flt("high-block", A.FWP_ACTION_BLOCK, weight=2**64 - 1, fid=2),
    ])
    assert both(pol, {}).filter.key == "high-block"  # type: ignore[union-attr]


def test_equal_weights_tie_break_by_filter_id_and_flagged() -> None:
    pol = policy([
        flt("b", A.FWP_ACTION_BLOCK, weight=5, fid=9),
        flt("a", A.FWP_ACTION_PERMIT, weight=5, fid=3),
        flt("solo", A.FWP_ACTION_CONTINUE, weight=7, fid=1),
    ])
    r = both(pol, {})
    (sl,) = r.sublayers
    assert [(e.filter.key, e.tie) for e in sl.evaluated] == [("solo", False), ("a", True)]
    assert [f.key for f in sl.unreached] == ["b"]
    assert r.filter is not None and r.filter.key == "a"


def test_equal_weights_same_id_tie_break_by_key() -> None:
    pol = policy([flt("zz", A.FWP_ACTION_BLOCK, weight=5), flt("aa", A.FWP_ACTION_PERMIT, weight=5)])
    assert both(pol, {}).filter.key == "aa"  # type: ignore[union-attr]


def test_tie_flag_ignores_non_matching_filters() -> None:
    pol = policy([flt("a", A.FWP_ACTION_PERMIT, weight=5, fid=1),
                  flt("b", A.FWP_ACTION_BLOCK, weight=5, fid=2, conditions=[port(1)])])
    r = both(pol, {"IP_LOCAL_PORT": 2})
    assert [e.tie for e in r.sublayers[0].evaluated] == [False]


def test_equal_weight_sublayers_ordered_by_key() -> None:
    s1, s2 = Sublayer("beta", 100), Sublayer("alpha", 100)
    pol = policy([flt("in-beta", A.FWP_ACTION_BLOCK, "beta", fid=1),
                  flt("in-alpha", A.FWP_ACTION_BLOCK, "alpha", fid=2)], sublayers=[s1, s2])
    r = both(pol, {})
    assert [s.sublayer.key for s in r.sublayers] == ["alpha", "beta"]
    assert r.filter is not None and r.filter.key == "in-alpha"


def test_disabled_filters_are_absent() -> None:
    pol = policy([flt("off", A.FWP_ACTION_BLOCK, weight=9, fid=1, flags=FilterFlag.DISABLED),
                  flt("on", A.FWP_ACTION_PERMIT, weight=1, fid=2)])
    r = both(pol, {})
    assert r.filter is not None and r.filter.key == "on"
    assert [e.filter.key for e in r.sublayers[0].evaluated] == ["on"]
    only_disabled = policy([flt("off", A.FWP_ACTION_BLOCK, flags=FilterFlag.DISABLED)])
    r = both(only_disabled, {})
    assert (r.action, r.sublayers) == ("none", ())


def test_nothing_decided_is_action_none() -> None:
    pol = policy([flt("c", A.FWP_ACTION_CONTINUE, fid=1), flt("b", A.FWP_ACTION_BLOCK, fid=2, conditions=[port(1)])])
    r = both(pol, {"IP_LOCAL_PORT": 2})
    assert (r.action, r.filter, r.sublayer, r.hard, r.veto, r.terminating) == ("none", None, None, False, False, ())
    assert r.permitted and not r.blocked
    assert [(s.action, s.effect, s.deciding) for s in r.sublayers] == [("none", "none", None)]


def test_empty_policy_and_other_layer_filters() -> None:
    pol = policy([flt("elsewhere", A.FWP_ACTION_BLOCK, layer="ALE_AUTH_CONNECT_V4")])
    r = both(pol, {})
    assert (r.action, r.sublayers) == ("none", ())
    assert both(pol, {}, "ALE_AUTH_CONNECT_V4").action == "block"


def test_unknown_sublayer_is_an_error() -> None:
    pol = policy([flt("x", A.FWP_ACTION_BLOCK, "nope")])
    with pytest.raises(ValueError, match="nope"):
        classify_naive(pol, LAYER, {})
    with pytest.raises(ValueError, match="nope"):
        CompiledPolicy(pol)


# ----------------------------------------------------------------------------- hardness and override


def two_sublayers(upper: Filter, lower: Filter, callouts: Sequence[Callout] = ()) -> Policy:
    return policy([upper, lower], sublayers=[Sublayer("upper", 200), Sublayer("lower", 100)], callouts=callouts)


def test_soft_permit_overridden_by_lower_block() -> None:
    r = both(two_sublayers(flt("p", A.FWP_ACTION_PERMIT, "upper", fid=1), flt("b", A.FWP_ACTION_BLOCK, "lower", fid=2)), {})
    assert summary(r)[:4] == ("block", "b", True, False)
    assert [s.effect for s in r.sublayers] == ["decided", "overrode"]


def test_hard_permit_not_overridden_by_static_block() -> None:
    up = flt("p", A.FWP_ACTION_PERMIT, "upper", fid=1, flags=FilterFlag.CLEAR_ACTION_RIGHT)
    r = both(two_sublayers(up, flt("b", A.FWP_ACTION_BLOCK, "lower", fid=2)), {})
    assert summary(r)[:4] == ("permit", "p", True, False)
    assert [s.effect for s in r.sublayers] == ["decided", "kept"]


def test_static_block_hard_cannot_be_permitted_below() -> None:
    low = flt("p", A.FWP_ACTION_PERMIT, "lower", fid=2, flags=FilterFlag.CLEAR_ACTION_RIGHT)
    r = both(two_sublayers(flt("b", A.FWP_ACTION_BLOCK, "upper", fid=1), low), {})
    assert summary(r)[:4] == ("block", "b", True, False)


def test_soft_callout_block_can_be_permitted_below() -> None:
    co = Callout("co", returns="block")
    up = flt("cb", A.FWP_ACTION_CALLOUT_TERMINATING, "upper", fid=1, callout="co")
    r = both(two_sublayers(up, flt("p", A.FWP_ACTION_PERMIT, "lower", fid=2), [co]), {})
    assert summary(r)[:4] == ("permit", "p", False, False)
    assert [(s.action, s.hard, s.effect) for s in r.sublayers] == [("block", False, "decided"), ("permit", False, "overrode")]


def test_hard_callout_block_cannot_be_permitted_below() -> None:
    co = Callout("co", returns="block", hard=True)
    up = flt("cb", A.FWP_ACTION_CALLOUT_UNKNOWN, "upper", fid=1, callout="co")
    r = both(two_sublayers(up, flt("p", A.FWP_ACTION_PERMIT, "lower", fid=2), [co]), {})
    assert summary(r)[:4] == ("block", "cb", True, False)


def test_callout_permit_soft_hard_variants() -> None:
    soft = Callout("soft", returns="permit")
    hard = Callout("hard", returns="permit", hard=True)
    low = flt("b", A.FWP_ACTION_BLOCK, "lower", fid=2)
    r = both(two_sublayers(flt("c", A.FWP_ACTION_CALLOUT_TERMINATING, "upper", fid=1, callout="soft"), low, [soft]), {})
    assert summary(r)[:3] == ("block", "b", True)
    r = both(two_sublayers(flt("c", A.FWP_ACTION_CALLOUT_TERMINATING, "upper", fid=1, callout="hard"), low, [hard]), {})
    assert summary(r)[:3] == ("permit", "c", True)
    up = flt("c", A.FWP_ACTION_CALLOUT_TERMINATING, "upper", fid=1, callout="soft", flags=FilterFlag.CLEAR_ACTION_RIGHT)
    r = both(two_sublayers(up, low, [soft]), {})
    assert summary(r)[:3] == ("permit", "c", True)


def test_soft_permit_made_hard_below_overrides() -> None:
    low = flt("hp", A.FWP_ACTION_PERMIT, "lower", fid=2, flags=FilterFlag.CLEAR_ACTION_RIGHT)
    r = both(two_sublayers(flt("sp", A.FWP_ACTION_PERMIT, "upper", fid=1), low), {})
    assert summary(r)[:3] == ("permit", "hp", True)
    assert [s.effect for s in r.sublayers] == ["decided", "overrode"]


def test_veto_then_lower_sublayers_keep_block() -> None:
    co = Callout("co", returns="block", silent=True)
    pol = policy(
        [flt("hp", A.FWP_ACTION_PERMIT, "a", fid=1, flags=FilterFlag.CLEAR_ACTION_RIGHT),
         flt("veto", A.FWP_ACTION_CALLOUT_TERMINATING, "b", fid=2, callout="co"),
         flt("p", A.FWP_ACTION_PERMIT, "c", fid=3, flags=FilterFlag.CLEAR_ACTION_RIGHT)],
        sublayers=[Sublayer("a", 30), Sublayer("b", 20), Sublayer("c", 10)], callouts=[co])
    r = both(pol, {})
    assert (r.action, r.filter.key if r.filter else None, r.hard, r.veto, r.silent) == ("block", "veto", True, True, True)
    assert [s.effect for s in r.sublayers] == ["decided", "veto", "kept"]


def test_callout_block_against_hard_block_is_not_a_veto() -> None:
    co = Callout("co", returns="block")
    r = both(two_sublayers(flt("b", A.FWP_ACTION_BLOCK, "upper", fid=1),
                           flt("cb", A.FWP_ACTION_CALLOUT_TERMINATING, "lower", fid=2, callout="co"), [co]), {})
    assert summary(r)[:4] == ("block", "b", True, False)
    assert r.sublayers[1].effect == "kept"


def test_silent_flag_only_when_silent_block_stands() -> None:
    co = Callout("drop", returns="block", silent=True)
    one = policy([flt("s", A.FWP_ACTION_CALLOUT_TERMINATING, fid=1, callout="drop")], callouts=[co])
    r = both(one, {})
    assert (r.action, r.silent, r.hard) == ("block", True, False)
    overridden = two_sublayers(flt("s", A.FWP_ACTION_CALLOUT_TERMINATING, "upper", fid=1, callout="drop"),
                               flt("p", A.FWP_ACTION_PERMIT, "lower", fid=2), [co])
    r = both(overridden, {})
    assert (r.action, r.silent) == ("permit", False)


# ----------------------------------------------------------------------------- callouts


@pytest.mark.parametrize(
    ("action", "returns", "outcome"),
    [
        (A.FWP_ACTION_CALLOUT_TERMINATING, "permit", "permit"),
        (A.FWP_ACTION_CALLOUT_TERMINATING, "block", "block"),
        (A.FWP_ACTION_CALLOUT_UNKNOWN, "permit", "permit"),
        (A.FWP_ACTION_CALLOUT_UNKNOWN, "block", "block"),
        (A.FWP_ACTION_CALLOUT_UNKNOWN, "continue", "continue"),
        (A.FWP_ACTION_CALLOUT_INSPECTION, "continue", "continue"),
        (A.FWP_ACTION_CALLOUT_INSPECTION, "block", "continue"),
        (A.FWP_ACTION_CALLOUT_INSPECTION, "permit", "continue"),
    ],
)
def test_callout_returns(action: ActionType, returns: str, outcome: str) -> None:
    co = Callout("co", returns=returns)
    pol = policy([flt("c", action, fid=1, callout="co"), flt("fallback", A.FWP_ACTION_CONTINUE, fid=2)], callouts=[co])
    r = both(pol, {})
    first = r.sublayers[0].evaluated[0]
    assert first.outcome == outcome
    assert r.action == (outcome if outcome != "continue" else "none")


def test_inspection_block_note_says_treated_as_continue() -> None:
    co = Callout("insp", returns="block")
    out = evaluate_filter(flt("c", A.FWP_ACTION_CALLOUT_INSPECTION, callout="insp"), {"insp": co})
    assert out.outcome == "continue"
    assert "treated as continue" in out.note and "inspection" in out.note


@pytest.mark.parametrize("missing", [True, False])
def test_unregistered_callout_blocks_hard(missing: bool) -> None:
    callouts = [] if missing else [Callout("gone", returns="unregistered")]
    pol = two_sublayers(flt("u", A.FWP_ACTION_CALLOUT_TERMINATING, "upper", fid=1, callout="gone"),
                        flt("p", A.FWP_ACTION_PERMIT, "lower", fid=2, flags=FilterFlag.CLEAR_ACTION_RIGHT), callouts)
    r = both(pol, {})
    assert summary(r)[:4] == ("block", "u", True, False)
    assert "gone" in r.sublayers[0].evaluated[0].note


def test_unregistered_callout_block_is_not_a_veto() -> None:
    pol = two_sublayers(flt("hp", A.FWP_ACTION_PERMIT, "upper", fid=1, flags=FilterFlag.CLEAR_ACTION_RIGHT),
                        flt("u", A.FWP_ACTION_CALLOUT_UNKNOWN, "lower", fid=2, callout="gone"))
    r = both(pol, {})
    assert summary(r)[:4] == ("permit", "hp", True, False)


def test_unregistered_callout_permit_if_flag() -> None:
    co = Callout("gone", returns="unregistered")
    pol = two_sublayers(
        flt("u", A.FWP_ACTION_CALLOUT_UNKNOWN, "upper", fid=1, callout="gone",
            flags=FilterFlag.PERMIT_IF_CALLOUT_UNREGISTERED),
        flt("b", A.FWP_ACTION_BLOCK, "lower", fid=2), [co])
    r = both(pol, {})
    assert summary(r)[:3] == ("block", "b", True)  # the permit is soft
    assert r.sublayers[0].evaluated[0].outcome == "permit"


def test_unregistered_inspection_callout_skipped() -> None:
    co = Callout("gone", returns="unregistered")
    pol = policy([flt("i", A.FWP_ACTION_CALLOUT_INSPECTION, weight=9, fid=1, callout="gone"),
                  flt("p", A.FWP_ACTION_PERMIT, weight=1, fid=2)], callouts=[co])
    r = both(pol, {})
    assert [(e.filter.key, e.outcome) for e in r.sublayers[0].evaluated] == [("i", "skipped"), ("p", "permit")]
    assert r.filter is not None and r.filter.key == "p"


# ----------------------------------------------------------------------------- conditions in context


def test_conditions_and_across_or_within_any_order() -> None:
    conds = [port(80), cond("IP_PROTOCOL", M.FWP_MATCH_EQUAL, 6, DataType.FWP_UINT8), port(443)]
    pol = policy([flt("web", A.FWP_ACTION_BLOCK, fid=1, conditions=conds)])
    assert both(pol, {"IP_LOCAL_PORT": 443, "IP_PROTOCOL": 6}).action == "block"
    assert both(pol, {"IP_LOCAL_PORT": 80, "IP_PROTOCOL": 6}).action == "block"
    assert both(pol, {"IP_LOCAL_PORT": 80, "IP_PROTOCOL": 17}).action == "none"
    assert both(pol, {"IP_LOCAL_PORT": 22, "IP_PROTOCOL": 6}).action == "none"
    assert both(pol, {"IP_PROTOCOL": 6}).action == "none"  # missing field = EMPTY


def test_address_mask_index_and_match() -> None:
    net = cond("IP_REMOTE_ADDRESS", M.FWP_MATCH_EQUAL, AddrMask(0x0A000000, 8, 32), DataType.FWP_V4_ADDR_MASK)
    host = cond("IP_REMOTE_ADDRESS", M.FWP_MATCH_EQUAL, AddrMask(0x0A000001, 32, 32), DataType.FWP_V4_ADDR_MASK)
    pol = policy([flt("net", A.FWP_ACTION_BLOCK, weight=1, fid=1, conditions=[net]),
                  flt("host", A.FWP_ACTION_PERMIT, weight=2, fid=2, conditions=[host])])
    assert both(pol, {"IP_REMOTE_ADDRESS": 0x0A000001}).filter.key == "host"  # type: ignore[union-attr]
    assert both(pol, {"IP_REMOTE_ADDRESS": 0x0A000002}).filter.key == "net"  # type: ignore[union-attr]
    assert both(pol, {"IP_REMOTE_ADDRESS": 0x0B000001}).action == "none"
    every, tables = compile_policy(pol).layer(LAYER).mask_tables()
    (table,) = tables
    assert every == 0b11 and table.field == "IP_REMOTE_ADDRESS" and table.free == 0
    # address masks are intervals: looked up by bisection, both filters' ends as bounds
    assert table.bounds == [0x0A000000, 0x0A000001, 0x0A000002, 0x0B000000]
    # the first filter is the highest bit (core.decision.bit): bit 1 = "host" (weight 2), bit 0 = "net"
    assert table.segs == [0, 0b01, 0b11, 0b01, 0]


def test_masks_for_wide_ranges_and_catch_all_filters() -> None:
    pol = policy([
        flt("range", A.FWP_ACTION_BLOCK, weight=3, fid=1,
            conditions=[cond("IP_LOCAL_PORT", M.FWP_MATCH_RANGE, Range(1000, 60000), DataType.FWP_RANGE_TYPE)]),
        flt("eq", A.FWP_ACTION_PERMIT, weight=2, fid=2, conditions=[port(1500)]),
        flt("all", A.FWP_ACTION_CONTINUE, weight=1, fid=3),
    ])
    cl = compile_policy(pol).layer(LAYER)
    assert [t.field for t in cl.mask_tables()[1]] == ["IP_LOCAL_PORT"]
    assert cl.mask_tables()[1][0].free == 0b001  # the catch-all (last) is in every value's mask
    assert both(pol, {"IP_LOCAL_PORT": 1500}).filter.key == "range"  # type: ignore[union-attr]
    r = both(pol, {"IP_LOCAL_PORT": 60001})
    assert r.action == "none" and [e.filter.key for e in r.sublayers[0].evaluated] == ["all"]


def test_ranges_and_equal_ored_on_one_field() -> None:
    rng = cond("IP_LOCAL_PORT", M.FWP_MATCH_RANGE, Range(135, 139), DataType.FWP_RANGE_TYPE)
    pol = policy([flt("netbios", A.FWP_ACTION_BLOCK, weight=2, fid=1, conditions=[rng, port(445)]),
                  flt("all", A.FWP_ACTION_PERMIT, weight=1, fid=2)])
    for p, expected in [(134, "all"), (135, "netbios"), (139, "netbios"), (140, "all"), (445, "netbios")]:
        assert both(pol, {"IP_LOCAL_PORT": p}).filter.key == expected  # type: ignore[union-attr]


def test_classify_accepts_layer_object_and_any_spelling() -> None:
    pol = policy([flt("b", A.FWP_ACTION_BLOCK, fid=1)])
    cp = compile_policy(pol)
    a = cp.classify(get_layer(LAYER), {})
    b = cp.classify("FWPM_LAYER_" + LAYER, {})
    c = classify_naive(pol, get_layer(LAYER), {})
    assert a == b == c and a.layer.name == LAYER


def test_same_inputs_same_result_and_cache_is_exact() -> None:
    pol = policy([flt("b", A.FWP_ACTION_BLOCK, fid=1, conditions=[port(80)]),
                  flt("p", A.FWP_ACTION_PERMIT, fid=2)])
    cp = compile_policy(pol)
    first = cp.classify(LAYER, {"IP_LOCAL_PORT": 80, "IRRELEVANT": 1})
    assert cp.classify(LAYER, {"IP_LOCAL_PORT": 80}) is first  # packet cache hit
    assert cp.classify(LAYER, {"IP_LOCAL_PORT": 81}).filter.key == "p"  # type: ignore[union-attr]
    assert compile_policy(pol) is cp
    assert compile_policy(pol.replace_filters(pol.filters[:1])) is not cp


# ----------------------------------------------------------------------------- compiled == naive

_FIELDS = {
    "IP_PROTOCOL": DataType.FWP_UINT8,
    "IP_LOCAL_PORT": DataType.FWP_UINT16,
    "IP_REMOTE_PORT": DataType.FWP_UINT16,
    "IP_REMOTE_ADDRESS": DataType.FWP_UINT32,
    "FLAGS": DataType.FWP_UINT32,
    "ALE_APP_ID": DataType.FWP_BYTE_BLOB_TYPE,
    "ALE_PACKAGE_ID": DataType.FWP_SID,
}
_APPS = ["\\device\\a\\x.exe", "\\device\\b\\y.exe", "system"]
_SIDS = ["S-1-0-0", "S-1-15-2-1", "s-1-15-2-1"]

small_int = st.integers(0, 6)
addr = st.sampled_from([0x0A000001, 0x0A000102, 0x0B000001, 0xC0A80001])


@st.composite
def conditions(draw: st.DrawFn) -> Condition:
    fld = draw(st.sampled_from(sorted(_FIELDS)))
    dtype = _FIELDS[fld]
    if fld == "ALE_APP_ID":
        match = draw(st.sampled_from([M.FWP_MATCH_EQUAL, M.FWP_MATCH_NOT_EQUAL, M.FWP_MATCH_PREFIX,
                                      M.FWP_MATCH_NOT_PREFIX, M.FWP_MATCH_EQUAL_CASE_INSENSITIVE,
                                      M.FWP_MATCH_GREATER, M.FWP_MATCH_LESS_OR_EQUAL]))
        value: Value = draw(st.sampled_from([*_APPS, "x.exe", "\\DEVICE\\A\\X.EXE"]))
        return Condition(fld, match, value, dtype)
    if fld == "ALE_PACKAGE_ID":
        match = draw(st.sampled_from([M.FWP_MATCH_EQUAL, M.FWP_MATCH_NOT_EQUAL]))
        return Condition(fld, match, draw(st.sampled_from(_SIDS)), dtype)
    if fld == "IP_REMOTE_ADDRESS":
        kind = draw(st.sampled_from(["mask", "exact", "range", "ne"]))
        if kind == "mask":
            prefix = draw(st.sampled_from([0, 8, 16, 24, 32]))
            return Condition(fld, M.FWP_MATCH_EQUAL, AddrMask(draw(addr), prefix, 32), DataType.FWP_V4_ADDR_MASK)
        if kind == "exact":
            return Condition(fld, M.FWP_MATCH_EQUAL, draw(addr), dtype)
        if kind == "ne":
            return Condition(fld, M.FWP_MATCH_NOT_EQUAL, AddrMask(draw(addr), 8, 32), DataType.FWP_V4_ADDR_MASK)
        lo, hi = sorted([draw(addr), draw(addr)])
        return Condition(fld, M.FWP_MATCH_RANGE, Range(lo, hi), DataType.FWP_RANGE_TYPE)
    match = draw(st.sampled_from([m for m in M if m != M.FWP_MATCH_TYPE_MAX]))
    if match == M.FWP_MATCH_RANGE:
        lo, hi = sorted([draw(small_int), draw(small_int)])
        return Condition(fld, match, Range(lo, hi), DataType.FWP_RANGE_TYPE)
    return Condition(fld, match, draw(small_int), dtype)


_ACTIONS = [A.FWP_ACTION_BLOCK, A.FWP_ACTION_PERMIT, A.FWP_ACTION_CONTINUE, A.FWP_ACTION_CALLOUT_TERMINATING,
            A.FWP_ACTION_CALLOUT_INSPECTION, A.FWP_ACTION_CALLOUT_UNKNOWN]
_CALLOUTS = [
    Callout("c-permit", returns="permit"), Callout("c-block", returns="block"),
    Callout("c-continue", returns="continue"), Callout("c-unreg", returns="unregistered"),
    Callout("c-hard-permit", returns="permit", hard=True), Callout("c-hard-block", returns="block", hard=True),
    Callout("c-silent", returns="block", silent=True),
]
_SUBLAYERS = [Sublayer("s1", 300), Sublayer("s2", 200), Sublayer("s2b", 200), Sublayer("s3", 100)]


@st.composite
def rule_callouts(draw: st.DrawFn, key: str) -> Callout:
    """A declared callout with rules (issue 15): conditions as filters', any action."""
    rules = []
    for _ in range(draw(st.integers(0, 3))):
        action = draw(st.sampled_from([*CALLOUT_ACTIONS, "pend", "redirect"]))
        pend: dict[str, object] = {}
        if action == "pend":
            pend = {"complete_after": 0.5, "then": draw(st.sampled_from(["permit", "block"]))}
        elif action == "redirect":  # a proxied packet (FLAGS IS_PROXY_CONNECTION) is not redirected again
            pend = {"target": Target(draw(st.sampled_from(["connect", "local"])), 0x7F000001, 32, 8080)}
        rules.append(CalloutRule(tuple(draw(st.lists(conditions(), max_size=3))), action,
                                 draw(st.sampled_from([None, True, False])), **pend))  # type: ignore[arg-type]
    return Callout(key, returns=draw(st.sampled_from([*CALLOUT_ACTIONS, "unregistered"])),
                   hard=draw(st.booleans()), silent=draw(st.booleans()), rules=tuple(rules))


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    n = draw(st.integers(0, 14))
    filters = []
    callouts = [*_CALLOUTS, draw(rule_callouts("r-a")), draw(rule_callouts("r-b"))]
    for i in range(n):
        action = draw(st.sampled_from(_ACTIONS))
        keys = [c.key for c in callouts] + ["c-missing", "r-a", "r-b"]  # rule callouts twice as likely
        callout = draw(st.sampled_from(keys)) if action.is_callout else None
        flags = draw(st.sampled_from([0, FilterFlag.CLEAR_ACTION_RIGHT, FilterFlag.PERMIT_IF_CALLOUT_UNREGISTERED,
                                      FilterFlag.DISABLED, FilterFlag.CLEAR_ACTION_RIGHT | FilterFlag.DISABLED]))
        filters.append(Filter(
            key=f"f{i}", layer=draw(st.sampled_from([LAYER, LAYER, LAYER, "ALE_AUTH_CONNECT_V4"])),
            action=action, sublayer=draw(st.sampled_from([s.key for s in _SUBLAYERS] + ["UNIVERSAL"])),
            effective_weight=draw(st.sampled_from([0, 1, 2, 2, 5, 2**60, 2**64 - 1])),
            conditions=tuple(draw(st.lists(conditions(), max_size=4))), flags=int(flags), callout=callout,
            filter_id=draw(st.integers(0, 5)),
        ))
    return policy(filters, sublayers=_SUBLAYERS, callouts=callouts)


@st.composite
def packets(draw: st.DrawFn) -> dict[str, Value]:
    values: dict[str, Value] = {}
    for fld in _FIELDS:
        if draw(st.booleans()):
            continue  # missing = EMPTY
        if fld == "ALE_APP_ID":
            values[fld] = draw(st.sampled_from(_APPS))
        elif fld == "ALE_PACKAGE_ID":
            values[fld] = draw(st.sampled_from(_SIDS))
        elif fld == "IP_REMOTE_ADDRESS":
            values[fld] = draw(addr)
        elif fld == "FLAGS":  # IS_REAUTHORIZE (pend rules), IS_PROXY_CONNECTION (redirect rules) among them
            values[fld] = draw(st.sampled_from([0, 1, 2, 4, 5, 0x200000, 0x200004]))
        else:
            values[fld] = draw(small_int)
    return values


@given(policies(), st.lists(packets(), min_size=1, max_size=4))
def test_compiled_agrees_with_naive(pol: Policy, pkts: list[dict[str, Value]]) -> None:
    cached = CompiledPolicy(pol)
    uncached = CompiledPolicy(pol, cache=False)
    for values in pkts * 2:  # twice: the second round is served from the caches
        naive = classify_naive(pol, LAYER, values)
        for fast in (cached.classify(LAYER, values), uncached.classify(LAYER, values)):
            assert fast.action == naive.action
            assert fast.filter == naive.filter
            assert (fast.veto, fast.hard, fast.silent) == (naive.veto, naive.hard, naive.silent)
            assert fast.terminating == naive.terminating
            assert fast.sublayers == naive.sublayers
            assert fast == naive


@given(policies(), st.lists(packets(), min_size=1, max_size=4))
def test_vista_ands_same_field_compiled_agrees_with_naive(pol: Policy, pkts: list[dict[str, Value]]) -> None:
    compiled = CompiledPolicy(pol, cache=False, ored=False)
    for values in pkts:
        assert compiled.classify(LAYER, values) == classify_naive(pol, LAYER, values, ored=False)


@given(policies(), st.lists(packets(), min_size=1, max_size=4))
def test_decision_equals_explanations_decision(pol: Policy, pkts: list[dict[str, Value]]) -> None:
    """The decision-only path (bitmasks, deciding filters only) and the full arbitration of
    the same matched set (every sublayer's detail) decide the same (issue 14)."""
    cl = CompiledPolicy(pol, cache=False).layer(LAYER)
    for values in pkts:
        mask = cl.match_mask(values)
        assert positions(mask, len(cl.filters)) == tuple(
            i for i, f in enumerate(cl.filters) if filter_matches(f, values))
        fast, full = cl.decide_mask(mask, values), cl.decide(positions(mask, len(cl.filters)), values)
        assert (fast.action, fast.filter, fast.sublayer, fast.hard, fast.veto, fast.silent, fast.terminating) == (
            full.action, full.filter, full.sublayer, full.hard, full.veto, full.silent, full.terminating)
        assert fast.sublayers == full.sublayers


_INT_MATCHES = [M.FWP_MATCH_EQUAL, M.FWP_MATCH_NOT_EQUAL, M.FWP_MATCH_GREATER, M.FWP_MATCH_LESS,
                M.FWP_MATCH_GREATER_OR_EQUAL, M.FWP_MATCH_LESS_OR_EQUAL, M.FWP_MATCH_RANGE]
_ints = st.integers(-3, 300) | st.sampled_from([0, 2**32 - 1, 2**32, 2**128 - 1, -(2**70)])


@st.composite
def int_conditions(draw: st.DrawFn) -> Condition:
    kind = draw(st.sampled_from(["int", "mask", "range", "empty"]))
    if kind == "mask":
        bits = draw(st.sampled_from([32, 128]))
        return Condition("IP_REMOTE_ADDRESS", draw(st.sampled_from([M.FWP_MATCH_EQUAL, M.FWP_MATCH_NOT_EQUAL])),
                         AddrMask(draw(st.integers(0, 2**bits - 1)), draw(st.integers(0, bits)), bits),
                         DataType.FWP_V4_ADDR_MASK)
    if kind == "range":
        return Condition("IP_REMOTE_ADDRESS", draw(st.sampled_from([M.FWP_MATCH_RANGE, M.FWP_MATCH_EQUAL])),
                         Range(draw(_ints), draw(_ints)), DataType.FWP_RANGE_TYPE)
    if kind == "empty":
        return Condition("IP_REMOTE_ADDRESS", draw(st.sampled_from([M.FWP_MATCH_EQUAL, M.FWP_MATCH_NOT_EQUAL])),
                         EMPTY, DataType.FWP_EMPTY)
    return Condition("IP_REMOTE_ADDRESS", draw(st.sampled_from(_INT_MATCHES[:-1])), draw(_ints), DataType.FWP_UINT32)


@given(st.lists(st.lists(int_conditions(), min_size=1, max_size=4), min_size=1, max_size=8),
       st.lists(_ints | st.integers(0, 2**128 - 1), min_size=1, max_size=20))
def test_interval_tables_equal_the_conditions(groups: list[list[Condition]], values: list[int]) -> None:
    """The bisection over interval ends gives, for every integer, the filters whose ORed
    conditions on the field hold by core.match's reference semantics."""
    pol = policy([flt(f"f{i}", A.FWP_ACTION_BLOCK, fid=i, conditions=g) for i, g in enumerate(groups)])
    cl = CompiledPolicy(pol, cache=False).layer(LAYER)
    (table,) = cl.mask_tables()[1]
    assert table.bounds is not None
    for v in values + [b for b in table.bounds[:20]] + [b - 1 for b in table.bounds[:20]]:
        expected = sum(bit(p, len(cl.filters)) for p, f in enumerate(cl.filters)
                       if filter_matches(f, {"IP_REMOTE_ADDRESS": v}))
        assert table.mask(v) == expected, v


def test_a_field_too_big_for_an_interval_table_uses_its_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past FieldMask.TABLE_BYTES_MAX a field keeps no interval table (bounded compile memory)
    and decides the same through its tests."""
    from wfptui.core.decision import FieldMask

    monkeypatch.setattr(FieldMask, "TABLE_BYTES_MAX", 0)
    conds = [[cond("IP_REMOTE_ADDRESS", M.FWP_MATCH_EQUAL, AddrMask(0x0A000000, 8, 32), DataType.FWP_V4_ADDR_MASK)],
             [cond("IP_REMOTE_ADDRESS", M.FWP_MATCH_RANGE, Range(5, 10), DataType.FWP_RANGE_TYPE)]]
    pol = policy([flt(f"f{i}", A.FWP_ACTION_BLOCK, fid=i, conditions=c) for i, c in enumerate(conds)])
    cl = CompiledPolicy(pol, cache=False).layer(LAYER)
    (table,) = cl.mask_tables()[1]
    assert table.bounds is None
    for v in (0, 5, 10, 11, 0x0A000001, 0x0B000000):
        assert table.mask(v) == sum(bit(p, len(cl.filters)) for p, f in enumerate(cl.filters)
                                    if filter_matches(f, {"IP_REMOTE_ADDRESS": v}))


def test_matched_set_memo_rests_when_it_does_not_pay_and_comes_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """A memo that never hits is switched off for a while (arbitration.MEMO_REST), then tried
    again; whatever its state, every result equals the reference scan's."""
    from wfptui.core import arbitration

    monkeypatch.setattr(arbitration, "MEMO_PROBE", 8)
    monkeypatch.setattr(arbitration, "MEMO_REST", 5)
    pol = policy([flt(f"p{i}", A.FWP_ACTION_BLOCK if i % 3 else A.FWP_ACTION_PERMIT, weight=i, fid=i + 1,
                      conditions=[port(1000 + i)]) for i in range(40)]
                 + [flt("all", A.FWP_ACTION_PERMIT, weight=0, fid=99)])
    cl = compile_policy(pol).layer(LAYER)
    states = []
    for v in list(range(1000, 1040)) + [1000, 1001] * 20:  # all distinct, then repeats
        r = cl.classify({"IP_LOCAL_PORT": v, "IP_REMOTE_PORT": v})
        ref = classify_naive(pol, LAYER, {"IP_LOCAL_PORT": v, "IP_REMOTE_PORT": v})
        assert (r.action, r.filter, r.terminating) == (ref.action, ref.filter, ref.terminating)
        states.append(cl._memo_payoff.seen < 0)
    first = states.index(True)  # rested during the scan ...
    assert first < 40 and not all(states[first:40])  # ... and was tried again


def test_packet_cache_keeps_only_keys_while_it_does_not_pay(monkeypatch: pytest.MonkeyPatch) -> None:
    """A scan (every packet new) turns the packet cache to keeping keys only; packets that
    repeat turn it back; every result equals the reference scan's either way."""
    from wfptui.core import arbitration

    monkeypatch.setattr(arbitration, "MEMO_PROBE", 8)
    pol = policy([flt(f"p{i}", A.FWP_ACTION_BLOCK if i % 3 else A.FWP_ACTION_PERMIT, weight=i, fid=i + 1,
                      conditions=[port(1000 + i)]) for i in range(40)])
    cp = compile_policy(pol)
    cl = cp.layer(LAYER)
    pays = []
    for i, v in enumerate(list(range(1000, 1040)) + [1000, 1001] * 20):  # all distinct, then repeats
        # both entry points: the policy's (inlined cache hit) and the layer's
        r = cp.classify(LAYER, {"IP_LOCAL_PORT": v}) if i % 2 else cl.classify({"IP_LOCAL_PORT": v})
        ref = classify_naive(pol, LAYER, {"IP_LOCAL_PORT": v})
        assert (r.action, r.filter, r.terminating) == (ref.action, ref.filter, ref.terminating)
        pays.append(cl._packet_payoff.pays)
    assert not all(pays[:40]) and pays[-1]
