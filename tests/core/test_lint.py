"""``core.lint``: each finding kind (positive and negative), the "silent when inexact" rule,
and properties: every reported finding holds for random packets under the classifier."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wfptui.core.arbitration import classify_naive, evaluate_filter, filter_order
from wfptui.core.datatypes import DataType
from wfptui.core.lint import (
    DUPLICATE,
    NEVER_HOLDS,
    OVERRIDDEN,
    SHADOWED,
    UNREGISTERED,
    Finding,
    covers,
    lint,
    never_holds,
)
from wfptui.core.match import filter_matches
from wfptui.core.model import (
    BLOCK,
    PERMIT,
    ActionType,
    AddrMask,
    Blob,
    Callout,
    Condition,
    Filter,
    FilterFlag,
    MatchType,
    Policy,
    Range,
    Sublayer,
    Value,
)
from wfptui.io.policy_file import parse_policy

LAYER = "ALE_AUTH_CONNECT_V4"
M = MatchType
A = ActionType


def policy(body: str) -> Policy:
    return parse_policy(body, "test.toml")


def flt(key: str, action: str = "block", conds: str = "", extra: str = "") -> str:
    return (f'[[filter]]\nkey = "{key}"\nlayer = "{LAYER}"\naction = "{action}"\n{extra}\n'
            f"condition = [{conds}]\n")


def kinds(p: Policy) -> list[tuple[str, tuple[str, ...]]]:
    return [(x.kind, tuple(f.key for f in x.filters)) for x in lint(p)]


PORT80 = '{ field = "IP_REMOTE_PORT", value = 80 }'
TCP = '{ field = "IP_PROTOCOL", value = "tcp" }'


# ----------------------------------------------------------------------------- shadowed


def test_shadowed_by_a_broader_filter_evaluated_first() -> None:
    p = policy(flt("all-tcp", "permit", TCP, "weight = 5") + flt("web", "block", f"{TCP}, {PORT80}", "weight = 1"))
    assert kinds(p) == [(SHADOWED, ("web", "all-tcp"))]
    reason = lint(p)[0].reason
    assert "0x5" in reason and "UNIVERSAL" in reason and "IP_PROTOCOL" in reason


def test_not_shadowed_when_the_broader_filter_comes_later_or_continues() -> None:
    later = policy(flt("all-tcp", "permit", TCP, "weight = 1") + flt("web", "block", f"{TCP}, {PORT80}", "weight = 5"))
    assert kinds(later) == []
    cont = policy(flt("all-tcp", "continue", TCP, "weight = 5") + flt("web", "block", f"{TCP}, {PORT80}", "weight = 1"))
    assert kinds(cont) == []


def test_not_shadowed_in_another_sublayer_or_when_narrower() -> None:
    other = policy('[[sublayer]]\nkey = "x"\nweight = 9\n'
                   + flt("all-tcp", "permit", TCP, 'weight = 5\nsublayer = "x"')
                   + flt("web", "block", f"{TCP}, {PORT80}", "weight = 1"))
    assert kinds(other) == []
    narrower = policy(flt("web", "permit", f"{TCP}, {PORT80}", "weight = 5") + flt("all-tcp", "block", TCP, "weight = 1"))
    assert kinds(narrower) == []


def test_shadowing_with_ranges_masks_or_groups_and_flags() -> None:
    hi = ('{ field = "IP_REMOTE_PORT", match = "range", value = [1, 1000] }, '
          '{ field = "IP_REMOTE_PORT", match = "range", value = [1001, 2000] }, '
          '{ field = "IP_REMOTE_ADDRESS", value = "10.0.0.0/8" }, '
          '{ field = "FLAGS", match = "flags_any_set", value = "is_loopback|is_reauthorize" }')
    lo = ('{ field = "IP_REMOTE_PORT", match = "range", value = [500, 1500] }, '
          '{ field = "IP_REMOTE_PORT", value = 80 }, '
          '{ field = "IP_REMOTE_ADDRESS", value = "10.1.0.0/16" }, '
          '{ field = "FLAGS", match = "flags_all_set", value = "is_loopback" }')
    p = policy(flt("hi", "permit", hi, "weight = 5") + flt("lo", "block", lo, "weight = 1"))
    assert kinds(p) == [(SHADOWED, ("lo", "hi"))]
    # one port outside the OR group: no longer covered
    p2 = policy(flt("hi", "permit", hi, "weight = 5")
                + flt("lo", "block", lo.replace("[500, 1500]", "[500, 2001]"), "weight = 1"))
    assert kinds(p2) == []


def test_shadowing_by_an_unregistered_callout_filter_is_a_block() -> None:
    p = policy('[[callout]]\nkey = "gone"\nreturns = "unregistered"\n'
               + flt("c", "callout_terminating", TCP, 'weight = 5\ncallout = "gone"')
               + flt("web", "permit", f"{TCP}, {PORT80}", "weight = 1"))
    assert (SHADOWED, ("web", "c")) in kinds(p)
    assert (UNREGISTERED, ("c",)) in kinds(p)


def test_assumed_callouts_never_shadow() -> None:
    p = policy('[[callout]]\nkey = "maybe"\nreturns = "permit"\nassumed = true\n'
               + flt("c", "callout_terminating", TCP, 'weight = 5\ncallout = "maybe"')
               + flt("web", "block", f"{TCP}, {PORT80}", "weight = 1"))
    assert kinds(p) == []


# ----------------------------------------------------------------------------- silent when inexact

SD_ALL = '{ field = "ALE_USER_ID", value = "O:LSD:(A;;CC;;;WD)" }'
SD_SYSTEM = '{ field = "ALE_USER_ID", value = "O:LSD:(A;;CC;;;SY)" }'


def test_identical_security_descriptors_compare_exactly() -> None:
    p = policy(flt("hi", "permit", SD_ALL, "weight = 5") + flt("lo", "block", f"{SD_ALL}, {PORT80}", "weight = 1"))
    assert kinds(p) == [(SHADOWED, ("lo", "hi"))]


def test_silent_when_coverage_needs_an_access_check() -> None:
    # Everyone does cover SYSTEM, but proving it needs SD semantics: stay silent.
    p = policy(flt("hi", "permit", SD_ALL, "weight = 5") + flt("lo", "block", SD_SYSTEM, "weight = 1"))
    assert kinds(p) == []


def test_a_field_the_lower_filter_leaves_open_is_never_covered() -> None:
    p = policy(flt("hi", "permit", '{ field = "IP_REMOTE_PORT", match = "range", value = [0, 65535] }', "weight = 5")
               + flt("lo", "block", TCP, "weight = 1"))
    assert kinds(p) == []  # an absent port (FWP_EMPTY) matches lo, not hi


# ----------------------------------------------------------------------------- duplicates


def test_duplicates_same_everything() -> None:
    p = policy(flt("a", "permit", f"{PORT80}, {TCP}") + flt("b", "permit", f"{TCP}, {PORT80}"))
    assert kinds(p) == [(DUPLICATE, ("a", "b"))]


def test_not_duplicates_when_action_or_weight_differs() -> None:
    assert kinds(policy(flt("a", "continue", PORT80) + flt("b", "block", PORT80))) == []
    assert kinds(policy(flt("a", "continue", PORT80, "weight = 2") + flt("b", "continue", PORT80, "weight = 3"))) == []


# ----------------------------------------------------------------------------- overridden


HARD = 'weight = 1\nflags = ["clear_action_right"]\nsublayer = "top"'
TOP = '[[sublayer]]\nkey = "top"\nweight = 0xf000\n[[sublayer]]\nkey = "low"\nweight = 1\n'


def test_block_overridden_by_a_hard_permit_in_a_higher_sublayer() -> None:
    p = policy(TOP + flt("hp", "permit", TCP, HARD) + flt("blk", "block", f"{TCP}, {PORT80}", 'sublayer = "low"'))
    assert kinds(p) == [(OVERRIDDEN, ("blk", "hp"))]
    assert "CLEAR_ACTION_RIGHT" in lint(p)[0].reason and "weight 61440" in lint(p)[0].reason


def test_not_overridden_when_soft_or_lower_or_a_callout_block() -> None:
    soft = policy(TOP + flt("hp", "permit", TCP, 'sublayer = "top"')
                  + flt("blk", "block", f"{TCP}, {PORT80}", 'sublayer = "low"'))
    assert kinds(soft) == []
    lower = policy(TOP + flt("hp", "permit", TCP, HARD.replace('"top"', '"low"'))
                   + flt("blk", "block", f"{TCP}, {PORT80}", 'sublayer = "top"'))
    assert kinds(lower) == []
    veto = policy(TOP + '[[callout]]\nkey = "v"\nreturns = "block"\n' + flt("hp", "permit", TCP, HARD)
                  + flt("blk", "callout_terminating", f"{TCP}, {PORT80}", 'sublayer = "low"\ncallout = "v"'))
    assert kinds(veto) == []  # a callout block can veto a hard permit


def test_not_overridden_when_a_soft_decision_may_come_first_in_that_sublayer() -> None:
    p = policy(TOP + flt("soft", "permit", PORT80, 'weight = 9\nsublayer = "top"') + flt("hp", "permit", TCP, HARD)
               + flt("blk", "block", f"{TCP}, {PORT80}", 'sublayer = "low"'))
    assert kinds(p) == []


# ----------------------------------------------------------------------------- never holds, callouts


def test_never_holds() -> None:
    p = policy(flt("gt", "block", '{ field = "IP_REMOTE_PORT", match = "greater", value = 65535 }')
               + flt("any0", "block", '{ field = "FLAGS", match = "flags_any_set", value = 0 }')
               + flt("ok", "block", '{ field = "IP_REMOTE_PORT", match = "greater", value = 65534 }'))
    assert kinds(p) == [(NEVER_HOLDS, ("gt",)), (NEVER_HOLDS, ("any0",))]


def test_never_holds_needs_every_or_arm_empty() -> None:
    p = policy(flt("gt", "block", '{ field = "IP_REMOTE_PORT", match = "greater", value = 65535 }, '
                                  '{ field = "IP_REMOTE_PORT", value = 7 }'))
    assert kinds(p) == []


def test_unregistered_and_undefined_callouts() -> None:
    p = policy('[[callout]]\nkey = "gone"\nreturns = "unregistered"\n'
               + flt("c1", "callout_inspection", TCP, 'callout = "gone"')
               + flt("c2", "callout_unknown", PORT80, 'callout = "gone"\nflags = ["permit_if_callout_unregistered"]'))
    (x,) = [x for x in lint(p) if x.kind == UNREGISTERED]
    assert [f.key for f in x.filters] == ["c1", "c2"]
    assert "inspection filter ignored" in x.reason and "PERMIT_IF_CALLOUT_UNREGISTERED" in x.reason
    # a Policy built in code may name a callout nobody defined
    f = Filter("x", LAYER, A.FWP_ACTION_CALLOUT_TERMINATING, callout="nowhere")
    q = Policy({"UNIVERSAL": Sublayer("UNIVERSAL", 0x8000)}, {}, (f,))
    assert [(y.kind, "not defined" in y.reason) for y in lint(q)] == [(UNREGISTERED, True)]
    ok = policy('[[callout]]\nkey = "here"\nreturns = "permit"\n' + flt("c", "callout_terminating", TCP,
                                                                       'callout = "here"'))
    assert kinds(ok) == []


def test_disabled_filters_are_ignored() -> None:
    p = policy(flt("a", "permit", PORT80) + flt("b", "permit", PORT80, 'flags = ["disabled"]'))
    assert kinds(p) == []


# ----------------------------------------------------------------------------- properties

U8, U16, U32 = DataType.FWP_UINT8, DataType.FWP_UINT16, DataType.FWP_UINT32
PORTS = st.sampled_from([0, 1, 2, 3, 80, 443, 65534, 65535])
ADDRS = st.sampled_from([0, 1, 0x0A000001, 0x0A0000FF, 0x0A010000, 0xFFFFFFFF])
FLAGBITS = st.sampled_from([0, 1, 2, 3, 4, 8, 0x1000])
APPS = st.sampled_from(["a.exe", "b.exe", "A.EXE", "\\x\\a.exe"])


def _cond(fld: str, draw: st.DrawFn) -> Condition:
    if fld == "IP_REMOTE_PORT":
        kind = draw(st.sampled_from(["eq", "range", "cmp", "ne"]))
        if kind == "eq":
            return Condition(fld, M.FWP_MATCH_EQUAL, draw(PORTS), U16)
        if kind == "range":
            lo, hi = sorted((draw(PORTS), draw(PORTS)))
            return Condition(fld, M.FWP_MATCH_RANGE, Range(lo, hi), DataType.FWP_RANGE_TYPE)
        if kind == "ne":
            return Condition(fld, M.FWP_MATCH_NOT_EQUAL, draw(PORTS), U16)
        m = draw(st.sampled_from([M.FWP_MATCH_GREATER, M.FWP_MATCH_LESS, M.FWP_MATCH_GREATER_OR_EQUAL,
                                  M.FWP_MATCH_LESS_OR_EQUAL]))
        return Condition(fld, m, draw(PORTS), U16)
    if fld == "IP_REMOTE_ADDRESS":
        if draw(st.booleans()):
            return Condition(fld, M.FWP_MATCH_EQUAL, draw(ADDRS), U32)
        m = draw(st.sampled_from([M.FWP_MATCH_EQUAL, M.FWP_MATCH_NOT_EQUAL]))
        return Condition(fld, m, AddrMask(draw(ADDRS), draw(st.sampled_from([0, 8, 16, 31, 32])), 32),
                         DataType.FWP_V4_ADDR_MASK)
    if fld == "FLAGS":
        m = draw(st.sampled_from([M.FWP_MATCH_FLAGS_ALL_SET, M.FWP_MATCH_FLAGS_ANY_SET, M.FWP_MATCH_FLAGS_NONE_SET]))
        return Condition(fld, m, draw(FLAGBITS), U32)
    if fld == "IP_PROTOCOL":
        return Condition(fld, M.FWP_MATCH_EQUAL, draw(st.sampled_from([6, 17])), U8)
    m = draw(st.sampled_from([M.FWP_MATCH_EQUAL, M.FWP_MATCH_EQUAL_CASE_INSENSITIVE, M.FWP_MATCH_PREFIX]))
    return Condition("ALE_APP_ID", m, draw(APPS), DataType.FWP_BYTE_BLOB_TYPE)


FIELDS = ["IP_REMOTE_PORT", "IP_REMOTE_ADDRESS", "FLAGS", "IP_PROTOCOL", "ALE_APP_ID"]


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    n = draw(st.integers(1, 7))
    filters = []
    for i in range(n):
        flds = draw(st.lists(st.sampled_from(FIELDS), max_size=3))
        conds = tuple(_cond(fld, draw) for fld in flds)
        action = draw(st.sampled_from([A.FWP_ACTION_PERMIT, A.FWP_ACTION_BLOCK, A.FWP_ACTION_CONTINUE,
                                       A.FWP_ACTION_CALLOUT_TERMINATING]))
        callout = draw(st.sampled_from(["cp", "cb", "cu", "ca"])) if action.is_callout else None
        flags = int(FilterFlag.CLEAR_ACTION_RIGHT) if draw(st.booleans()) else 0
        filters.append(Filter(f"f{i}", LAYER, action, sublayer=draw(st.sampled_from(["UNIVERSAL", "low"])),
                              effective_weight=draw(st.sampled_from([0, 1, 2, 1 << 63])), conditions=conds,
                              flags=flags, callout=callout, filter_id=70001 + i))
    return Policy(
        {"UNIVERSAL": Sublayer("UNIVERSAL", 0x8000), "low": Sublayer("low", 1)},
        {"cp": Callout("cp", "permit"), "cb": Callout("cb", "block"), "cu": Callout("cu", "unregistered"),
         "ca": Callout("ca", "permit", assumed=True)},
        tuple(filters))


@st.composite
def packets(draw: st.DrawFn) -> dict[str, Value]:
    values: dict[str, Value] = {}
    gens = {"IP_REMOTE_PORT": st.one_of(PORTS, st.integers(0, 65535)),
            "IP_REMOTE_ADDRESS": st.one_of(ADDRS, st.integers(0, 0xFFFFFFFF)),
            "FLAGS": st.one_of(FLAGBITS, st.integers(0, 0xFFFFFFFF)),
            "IP_PROTOCOL": st.sampled_from([6, 17, 1]), "ALE_APP_ID": APPS}
    for fld, gen in gens.items():
        if draw(st.integers(0, 5)):  # sometimes absent: FWP_EMPTY
            values[fld] = draw(gen)
    return values


def _holds(finding: Finding, p: Policy, pkt: dict[str, Value]) -> None:
    result = classify_naive(p, LAYER, pkt)
    evaluated = {fe.filter.key for sr in result.sublayers for fe in sr.evaluated}
    first = finding.filters[0]
    if finding.kind == SHADOWED:
        if filter_matches(first, pkt):
            assert filter_matches(finding.filters[1], pkt)
        assert first.key not in evaluated
        assert result.filter is None or result.filter.key != first.key
    elif finding.kind == NEVER_HOLDS:
        assert not filter_matches(first, pkt)
    elif finding.kind == OVERRIDDEN:
        if filter_matches(first, pkt):
            assert filter_matches(finding.filters[1], pkt)
        assert result.filter is None or result.filter.key != first.key
    elif finding.kind == DUPLICATE:
        assert len({filter_matches(f, pkt) for f in finding.filters}) == 1


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policies(), st.lists(packets(), min_size=1, max_size=25))
def test_every_finding_holds_for_random_packets(p: Policy, pkts: list[dict[str, Value]]) -> None:
    for finding in lint(p):
        for pkt in pkts:
            _holds(finding, p, pkt)


@settings(max_examples=300, deadline=None)
@given(policies(), st.lists(packets(), min_size=1, max_size=25))
def test_covers_is_sound(p: Policy, pkts: list[dict[str, Value]]) -> None:
    for hi in p.filters:
        for lo in p.filters:
            if hi is not lo and covers(hi, lo):
                for pkt in pkts:
                    assert not filter_matches(lo, pkt) or filter_matches(hi, pkt)
        if never_holds(hi):
            assert not any(filter_matches(hi, pkt) for pkt in pkts)


def _brute_shadowed(p: Policy) -> set[str]:
    """Every filter some earlier, always-terminating filter of its sublayer covers (all pairs)."""
    from wfptui.core.lint import _dup_key  # the duplicate identity, to leave duplicate pairs out

    out = set()
    live = [f for f in p.filters if not f.disabled and not never_holds(f)]
    for f in live:
        for g in live:
            if (g is f or g.layer != f.layer or g.sublayer != f.sublayer or filter_order(g) >= filter_order(f)
                    or _dup_key(g) == _dup_key(f)):
                continue
            out_g = evaluate_filter(g, p.callouts)
            c = p.callouts.get(g.callout or "")
            if out_g.outcome in (PERMIT, BLOCK) and not (c is not None and c.assumed) and covers(g, f):
                out.add(f.key)
    return out


@settings(max_examples=300, deadline=None)
@given(policies())
def test_bucketed_shadowing_finds_what_all_pairs_find(p: Policy) -> None:
    assert {x.filters[0].key for x in lint(p) if x.kind == SHADOWED} == _brute_shadowed(p)


def test_coverage_of_blobs_and_suffixes() -> None:
    a = Filter("a", LAYER, A.FWP_ACTION_BLOCK,
               conditions=(Condition("ALE_APP_ID", M.FWP_MATCH_PREFIX, "a.exe", DataType.FWP_BYTE_BLOB_TYPE),))
    b = Filter("b", LAYER, A.FWP_ACTION_BLOCK,
               conditions=(Condition("ALE_APP_ID", M.FWP_MATCH_PREFIX, "\\x\\a.exe", DataType.FWP_BYTE_BLOB_TYPE),))
    assert covers(a, b) and not covers(b, a)
    blob = Filter("c", LAYER, A.FWP_ACTION_BLOCK,
                  conditions=(Condition("ALE_APP_ID", M.FWP_MATCH_EQUAL, Blob(b"\x01"), DataType.FWP_BYTE_BLOB_TYPE),))
    assert covers(blob, blob) and not covers(a, blob)


# ----------------------------------------------------------------------------- coverage


def test_coverage_counts_a_run() -> None:
    from pathlib import Path

    from wfptui.core.engine import run_scenario
    from wfptui.core.lint import coverage, coverage_json, coverage_text
    from wfptui.io.scenario_file import load_scenario

    root = Path(__file__).resolve().parents[2]
    scenario = load_scenario(root / "scenarios" / "tcp-connect.toml")
    result = run_scenario(scenario)
    pols = {h.name: h.policy for h in scenario.hosts}
    cov = coverage(result, pols)
    classify = [r for r in result.records if r.kind == "classify"]
    assert cov.classifications == len(classify)
    by_key = {(c.host, c.filter.key): c for c in cov.counts}
    web = by_key[("server", "allow-web")]
    # allow-web decides the inbound SYN at ALE_AUTH_RECV_ACCEPT_V4 (the only one: one connection)
    decided = [r for r in classify if r.filter == "allow-web"]
    assert web.decided == len(decided) == 1 and web.terminated == 1 and web.matched == 1
    # block-inbound (weight 0) matched that packet too (never evaluated: allow-web ended the
    # sublayer first), so traffic reached it: matched, not "never reached".
    blk = by_key[("server", "block-inbound")]
    assert (blk.decided, blk.terminated, blk.matched) == (0, 0, 1)
    assert cov.unreached == []
    assert sum(c.decided for c in cov.counts) == sum(1 for r in classify if r.filter is not None)
    doc = coverage_json(cov)
    assert doc["classifications"] == len(classify) and doc["unreached"] == []
    assert "allow-web" in coverage_text(cov)


def test_coverage_lists_filters_no_traffic_reached() -> None:
    from wfptui.core.engine import RunResult
    from wfptui.core.lint import coverage

    p = policy(flt("never", "block", PORT80))
    empty = RunResult(records=[], results={}, expects=[], ok=True, hosts=["h"], layer_order={})
    cov = coverage(empty, {"h": p})
    assert [(c.host, c.filter.key) for c in cov.unreached] == [("h", "never")]
