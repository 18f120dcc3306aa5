"""Declared callouts with rules (issue 15, "callouts that behave"): the first rule whose
conditions hold decides what the callout returns, else its default; the compiled classifier,
its caches and the naive reference agree, and the notes say which rule decided."""

from __future__ import annotations

from collections.abc import Sequence

from wfptui.core.arbitration import CompiledPolicy, classify_naive, compile_policy, evaluate_filter
from wfptui.core.datatypes import DataType
from wfptui.core.model import (
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
    Sublayer,
    Value,
)

LAYER = "ALE_AUTH_CONNECT_V4"
A = ActionType
NET = 0x0A010000  # 10.1.0.0


def port(n: int) -> Condition:
    return Condition("IP_REMOTE_PORT", MatchType.FWP_MATCH_EQUAL, n, DataType.FWP_UINT16)


def net(addr: int, prefix: int) -> Condition:
    return Condition("IP_REMOTE_ADDRESS", MatchType.FWP_MATCH_EQUAL, AddrMask(addr, prefix, 32),
                     DataType.FWP_V4_ADDR_MASK)


GUARD = Callout("proxy-guard", returns="continue", rules=(
    CalloutRule((port(443), net(NET, 16)), "block", True),
    CalloutRule((port(80), port(8080)), "absorb"),
    CalloutRule((), "permit"),  # no conditions: always holds
))


def pol(filters: Sequence[Filter], callouts: Sequence[Callout] = (GUARD,)) -> Policy:
    return Policy(
        sublayers={"UNIVERSAL": Sublayer("UNIVERSAL", 0x8000), "upper": Sublayer("upper", 200),
                   "lower": Sublayer("lower", 100)},
        callouts={c.key: c for c in callouts}, filters=tuple(filters))


def co_filter(key: str = "guard", sublayer: str = "upper", callout: str = "proxy-guard",
              action: ActionType = A.FWP_ACTION_CALLOUT_TERMINATING, flags: int = 0, fid: int = 1) -> Filter:
    return Filter(key=key, layer=LAYER, action=action, sublayer=sublayer, callout=callout, flags=flags,
                  filter_id=fid, effective_weight=10)


def both(p: Policy, values: dict[str, Value]) -> ClassifyResult:
    naive = classify_naive(p, LAYER, values)
    for cp in (CompiledPolicy(p), CompiledPolicy(p, cache=False)):
        fast = cp.classify(LAYER, values)
        assert fast == naive
    return naive


def notes(r: ClassifyResult) -> list[str]:
    return [fe.note for sr in r.sublayers for fe in sr.evaluated]


def test_first_matching_rule_decides_and_note_names_it() -> None:
    p = pol([co_filter()])
    r = both(p, {"IP_REMOTE_PORT": 443, "IP_REMOTE_ADDRESS": NET + 5})
    assert (r.action, r.hard, r.silent, r.filter.key if r.filter else None) == ("block", True, False, "guard")
    assert notes(r) == ["callout 'proxy-guard' rule 1 (IP_REMOTE_PORT = 443 and IP_REMOTE_ADDRESS = 10.1.0.0/16): "
                        "block, hard"]
    # the same port to another network: rule 3 (no conditions) permits, soft
    r = both(p, {"IP_REMOTE_PORT": 443, "IP_REMOTE_ADDRESS": 0x0B000001})
    assert (r.action, r.hard) == ("permit", False)
    assert notes(r) == ["callout 'proxy-guard' rule 3 (no conditions): permit, soft"]


def test_absorb_is_a_silent_block() -> None:
    r = both(pol([co_filter()]), {"IP_REMOTE_PORT": 8080, "IP_REMOTE_ADDRESS": NET})
    assert (r.action, r.hard, r.silent) == ("block", False, True)
    assert notes(r) == ["callout 'proxy-guard' rule 2 (IP_REMOTE_PORT = 80 or IP_REMOTE_PORT = 8080): absorb, soft "
                        "(FWPS_CLASSIFY_OUT_FLAG_ABSORB: dropped silently, no net event or audit)"]


def test_default_applies_when_no_rule_holds() -> None:
    co = Callout("c", returns="block", hard=True, rules=(CalloutRule((port(22),), "permit"),))
    r = both(pol([co_filter(callout="c")], [co]), {"IP_REMOTE_PORT": 23})
    assert (r.action, r.hard) == ("block", True)
    assert notes(r) == ["callout 'c' default (no rule matched): block, hard"]
    # the rule inherits the callout's hard unless it says otherwise
    r = both(pol([co_filter(callout="c")], [co]), {"IP_REMOTE_PORT": 22})
    assert (r.action, r.hard) == ("permit", True)


def test_rule_continue_passes_to_the_next_filter_of_the_sublayer() -> None:
    co = Callout("c", returns="permit", rules=(CalloutRule((port(22),), "continue"),))
    static = Filter(key="below", layer=LAYER, action=A.FWP_ACTION_BLOCK, sublayer="upper", filter_id=2,
                    effective_weight=1)
    p = pol([co_filter(callout="c"), static], [co])
    r = both(p, {"IP_REMOTE_PORT": 22})
    assert (r.action, r.filter.key if r.filter else None) == ("block", "below")
    r = both(p, {"IP_REMOTE_PORT": 23})
    assert (r.action, r.filter.key if r.filter else None) == ("permit", "guard")
    assert r.sublayers[0].unreached == (static,)


def test_hard_rule_permit_beats_lower_static_block() -> None:
    co = Callout("c", rules=(CalloutRule((port(443),), "permit", True),))
    block = Filter(key="deny", layer=LAYER, action=A.FWP_ACTION_BLOCK, sublayer="lower", filter_id=2)
    p = pol([co_filter(callout="c"), block], [co])
    r = both(p, {"IP_REMOTE_PORT": 443})
    assert (r.action, r.hard, r.filter.key if r.filter else None) == ("permit", True, "guard")
    assert [sr.effect for sr in r.sublayers] == ["decided", "kept"]
    soft = Callout("c", rules=(CalloutRule((port(443),), "permit"),))
    r = both(pol([co_filter(callout="c"), block], [soft]), {"IP_REMOTE_PORT": 443})
    assert (r.action, r.filter.key if r.filter else None) == ("block", "deny")


def test_rule_block_vetoes_a_hard_permit_above() -> None:
    hp = Filter(key="hp", layer=LAYER, action=A.FWP_ACTION_PERMIT, sublayer="upper", filter_id=2,
                flags=int(FilterFlag.CLEAR_ACTION_RIGHT))
    r = both(pol([hp, co_filter(sublayer="lower")]), {"IP_REMOTE_PORT": 443, "IP_REMOTE_ADDRESS": NET})
    assert (r.action, r.veto, r.hard) == ("block", True, True)


def test_inspection_rule_block_is_continue_and_unregistered_ignores_rules() -> None:
    r = both(pol([co_filter(action=A.FWP_ACTION_CALLOUT_INSPECTION)]), {"IP_REMOTE_PORT": 443, "IP_REMOTE_ADDRESS": NET})
    assert r.action == "none"
    assert notes(r)[0].endswith("block under an inspection action: treated as continue")
    gone = Callout("proxy-guard", returns="unregistered", rules=GUARD.rules)
    r = both(pol([co_filter()], [gone]), {"IP_REMOTE_PORT": 8080})
    assert (r.action, r.hard) == ("block", True)
    assert notes(r) == ["callout 'proxy-guard' unregistered: treated as a static block, hard"]


def test_static_view_without_values_is_the_default() -> None:
    out = evaluate_filter(co_filter(), {"proxy-guard": GUARD})
    assert (out.outcome, out.note) == ("continue", "callout 'proxy-guard' default (rules decide per packet): continue")


def test_packet_cache_keys_on_the_rule_fields() -> None:
    """A field only a rule tests is part of the packet key: two packets that differ only
    there are told apart, and repeated packets come from the cache."""
    p = pol([co_filter()])
    cp = compile_policy(p)
    assert set(cp.layer(LAYER).relevant_fields) == {"IP_REMOTE_PORT", "IP_REMOTE_ADDRESS"}
    a = cp.classify(LAYER, {"IP_REMOTE_PORT": 443, "IP_REMOTE_ADDRESS": NET})
    b = cp.classify(LAYER, {"IP_REMOTE_PORT": 443, "IP_REMOTE_ADDRESS": 0x0B000001})
    assert (a.action, b.action) == ("block", "permit")
    assert cp.classify(LAYER, {"IP_REMOTE_PORT": 443, "IP_REMOTE_ADDRESS": NET}) is a
    assert cp.classify(LAYER, {"IP_REMOTE_PORT": 443, "IP_REMOTE_ADDRESS": 0x0B000001}) is b


def test_static_callouts_keep_their_notes() -> None:
    co = Callout("s", returns="block", silent=True)
    r = both(pol([co_filter(callout="s")], [co]), {})
    assert notes(r) == ["callout 's' returned block: soft, silent drop"]


def test_lint_does_not_read_a_rule_callout_as_always_terminating() -> None:
    """A rule callout's default is not what every packet gets: no shadowing is claimed."""
    from wfptui.core.lint import lint

    co = Callout("c", returns="block", rules=(CalloutRule((port(22),), "continue"),))
    later = Filter(key="later", layer=LAYER, action=A.FWP_ACTION_PERMIT, sublayer="upper", filter_id=2,
                   effective_weight=1)
    assert [f.kind for f in lint(pol([co_filter(callout="c"), later], [co]))] == []
    static = Callout("c", returns="block")
    assert [f.kind for f in lint(pol([co_filter(callout="c"), later], [static]))] == ["shadowed"]
