"""Packet-tracer explanations (spec §2 explain) of classifications built from model objects."""

from __future__ import annotations

import json

from wfptui.core.arbitration import compile_policy
from wfptui.core.datatypes import DataType
from wfptui.core.explain import explain_json, explain_text, final_sentence
from wfptui.core.model import (
    ActionType,
    AddrMask,
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

LAYER = "ALE_AUTH_RECV_ACCEPT_V4"
A = ActionType
M = MatchType
SUBLAYERS = {
    "corp": Sublayer("corp", 0x8000, name="Corporate"),
    "MPSSVC_WF": Sublayer("MPSSVC_WF", 2, builtin=True),
    "top": Sublayer("top", 0xFFFF),
}
PORT80 = Condition("IP_LOCAL_PORT", M.FWP_MATCH_EQUAL, 80, DataType.FWP_UINT16)
PORT443 = Condition("IP_LOCAL_PORT", M.FWP_MATCH_EQUAL, 443, DataType.FWP_UINT16)
NET10 = Condition("IP_REMOTE_ADDRESS", M.FWP_MATCH_EQUAL, AddrMask(0x0A000000, 8, 32), DataType.FWP_V4_ADDR_MASK)


def make(filters: list[Filter], callouts: list[Callout] | None = None) -> Policy:
    return Policy(dict(SUBLAYERS), {c.key: c for c in callouts or []}, tuple(filters))


def f(key: str, action: ActionType, sublayer: str, fid: int, weight: int = 0,
      conditions: tuple[Condition, ...] = (), **kw: object) -> Filter:
    return Filter(key=key, layer=LAYER, action=action, sublayer=sublayer, filter_id=fid,
                  effective_weight=weight, conditions=conditions, **kw)  # type: ignore[arg-type]


VALUES: dict[str, Value] = {"IP_LOCAL_PORT": 80, "IP_PROTOCOL": 6, "IP_REMOTE_ADDRESS": 0x0A000005}


def corp_policy() -> Policy:
    return make([
        f("no-web", A.FWP_ACTION_BLOCK, "corp", 70001, 10, (PORT80, PORT443, NET10), name="Block web"),
        f("allow-all", A.FWP_ACTION_PERMIT, "corp", 70002, 1),
        f("wf-allow", A.FWP_ACTION_PERMIT, "MPSSVC_WF", 70003),
        f("other-port", A.FWP_ACTION_BLOCK, "MPSSVC_WF", 70004, 5, (PORT443,)),
    ])


def test_text_hard_block() -> None:
    result = compile_policy(corp_policy()).classify(LAYER, VALUES)
    text = explain_text(result, VALUES)
    assert text.splitlines()[0] == "Layer: ALE_AUTH_RECV_ACCEPT_V4 (layer id 44)"
    assert "  IP_LOCAL_PORT     = 80" in text
    assert "  IP_REMOTE_ADDRESS = 10.0.0.5" in text
    assert "Phase 1: sublayer 'corp' (Corporate), weight 32768 (0x8000)" in text
    assert "Phase 2: sublayer 'MPSSVC_WF', weight 2 (0x0002)" in text
    assert "  filter 'no-web' (Block web) id 70001 (0x11171), weight 0x000000000000000a, action block" in text
    assert "      [x] IP_LOCAL_PORT equal 80" in text
    assert "      [ ] IP_LOCAL_PORT equal 443" in text
    assert "      [x] IP_REMOTE_ADDRESS equal 10.0.0.0/8" in text
    assert "      => block (static block: hard)  <- ends the sublayer" in text
    assert "  unreached: filter 'allow-all' id 70002 (0x11172)" in text
    assert "  Result: BLOCK (hard block) by filter 'no-web' (Block web)" in text
    assert "  Effect: decided: the first decision at this layer" in text
    assert "  Effect: kept: the block of 'no-web' (Block web) is hard; a lower sublayer cannot change it" in text
    assert "'other-port'" not in text  # not matching: not listed
    assert text.rstrip().endswith(
        "Final: BLOCK by filter 'no-web' (Block web) in sublayer 'corp' (hard block; lower sublayers cannot override)")


def test_json_shape_and_values() -> None:
    result = compile_policy(corp_policy()).classify(LAYER, VALUES)
    doc = explain_json(result, VALUES)
    json.dumps(doc)  # JSON-able
    assert {k: doc[k] for k in ("action", "filter", "filter_id", "sublayer", "hard", "veto", "layer", "layer_id")} == {
        "action": "block", "filter": "no-web", "filter_id": 70001, "sublayer": "corp", "hard": True,
        "veto": False, "layer": "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4", "layer_id": 44}
    assert doc["values"] == {"IP_LOCAL_PORT": 80, "IP_PROTOCOL": 6, "IP_REMOTE_ADDRESS": "10.0.0.5"}
    corp, wf = doc["sublayers"]
    assert (corp["sublayer"], corp["weight"], corp["action"], corp["hard"], corp["effect"]) == ("corp", 0x8000, "block", True, "decided")
    (nw,) = corp["filters"]
    assert (nw["filter"], nw["filter_id"], nw["action"], nw["outcome"], nw["effective_weight"], nw["tie"]) == (
        "no-web", 70001, "block", "block", 10, False)
    assert nw["conditions"][2] == {"field": "IP_REMOTE_ADDRESS", "match": "equal", "value": "10.0.0.0/8",
                                   "text": "10.0.0.0/8", "matched": True}
    assert [c["matched"] for c in nw["conditions"]] == [True, False, True]
    assert corp["unreached"] == [{"filter": "allow-all", "filter_id": 70002, "effective_weight": 1}]
    assert (wf["effect"], [x["filter"] for x in wf["filters"]]) == ("kept", ["wf-allow"])
    assert doc["terminating"] == [
        {"filter": "no-web", "filter_id": 70001, "sublayer": "corp", "action": "block", "hard": True},
        {"filter": "wf-allow", "filter_id": 70003, "sublayer": "MPSSVC_WF", "action": "permit", "hard": False},
    ]


def test_nothing_decided() -> None:
    pol = make([f("c", A.FWP_ACTION_CONTINUE, "corp", 1), f("b", A.FWP_ACTION_BLOCK, "corp", 2, 0, (PORT443,))])
    result = compile_policy(pol).classify(LAYER, VALUES)
    text = explain_text(result, VALUES)
    assert "  Result: NONE" in text and "  Effect: none: this sublayer decided nothing" in text
    assert text.rstrip().endswith("Final: nothing decided: permitted by default (action none)")
    doc = explain_json(result, VALUES)
    assert (doc["action"], doc["filter"], doc["filter_id"], doc["sublayer"]) == ("none", None, None, None)


def test_no_filters_at_layer() -> None:
    result = compile_policy(make([])).classify(LAYER, {})
    text = explain_text(result, {})
    assert "No filters at this layer." in text
    assert "(every other field is FWP_EMPTY)" in text
    assert explain_json(result, {})["sublayers"] == []


def test_veto_explanation() -> None:
    pol = make(
        [f("vendor", A.FWP_ACTION_PERMIT, "top", 1, flags=FilterFlag.CLEAR_ACTION_RIGHT),
         f("inspect", A.FWP_ACTION_CALLOUT_TERMINATING, "corp", 2, callout="ids")],
        [Callout("ids", returns="block")],
    )
    result = compile_policy(pol).classify(LAYER, VALUES)
    text = explain_text(result, VALUES)
    assert "action callout_terminating -> callout 'ids'" in text
    assert "=> block (callout 'ids' returned block: soft)" in text
    assert "Effect: veto: a callout block against the hard permit of 'vendor'" in text
    assert final_sentence(result) == (
        "Final: BLOCK by filter 'inspect' in sublayer 'corp' "
        "(veto: a callout block overrode the hard permit of filter 'vendor'; audit 5153)")
    doc = explain_json(result, VALUES)
    assert (doc["veto"], doc["action"], doc["filter"]) == (True, "block", "inspect")
    assert [s["effect"] for s in doc["sublayers"]] == ["decided", "veto"]


def test_soft_override_and_agreement_words() -> None:
    pol = make(
        [f("soft-block", A.FWP_ACTION_CALLOUT_TERMINATING, "top", 1, callout="co"),
         f("permit", A.FWP_ACTION_PERMIT, "corp", 2),
         f("permit-too", A.FWP_ACTION_PERMIT, "MPSSVC_WF", 3)],
        [Callout("co", returns="block", silent=True)],
    )
    result = compile_policy(pol).classify(LAYER, VALUES)
    text = explain_text(result, VALUES)
    assert "Effect: overrode the soft block of 'soft-block' (it was soft: FWPS_RIGHT_ACTION_WRITE was set)" in text
    assert "Effect: kept: agrees with the soft permit of 'permit', which stays the deciding filter" in text
    assert final_sentence(result) == (
        "Final: PERMIT by filter 'permit' in sublayer 'corp' (soft permit; no lower sublayer blocked)")


def test_silent_block_and_tie_words() -> None:
    pol = make(
        [f("drop", A.FWP_ACTION_CALLOUT_TERMINATING, "corp", 1, 5, callout="silent"),
         f("twin", A.FWP_ACTION_PERMIT, "corp", 2, 5)],
        [Callout("silent", returns="block", silent=True)],
    )
    result = compile_policy(pol).classify(LAYER, VALUES)
    assert final_sentence(result) == (
        "Final: BLOCK by filter 'drop' in sublayer 'corp' (soft block; no lower sublayer permitted; "
        "silent drop: no RST or ICMP error, no net event, no audit)")
    assert "tie: same weight as another matching filter (ordered by filter id)" in explain_text(result, VALUES)
    assert explain_json(result, VALUES)["sublayers"][0]["filters"][0]["tie"] is True


def test_hard_permit_sentence() -> None:
    pol = make([f("hp", A.FWP_ACTION_PERMIT, "corp", 1, flags=FilterFlag.CLEAR_ACTION_RIGHT)])
    result = compile_policy(pol).classify(LAYER, {})
    assert final_sentence(result).endswith("(hard permit; only a callout veto in a lower sublayer could block)")


# ----------------------------------------------------------------------------- near misses (issue 16 item 6)

from wfptui.core.explain import near_misses  # noqa: E402

PROTO17 = Condition("IP_PROTOCOL", M.FWP_MATCH_EQUAL, 17, DataType.FWP_UINT8)
PORT_RANGE = Condition("IP_LOCAL_PORT", M.FWP_MATCH_RANGE, Range(8000, 8100), DataType.FWP_RANGE_TYPE)


def near_policy() -> Policy:
    return make([
        f("allow-web", A.FWP_ACTION_PERMIT, "corp", 1, 5, (PORT80,)),  # one field off
        f("web-udp", A.FWP_ACTION_PERMIT, "corp", 2, 4, (PORT80, PROTO17)),  # two fields off
        f("tls-or-web", A.FWP_ACTION_PERMIT, "top", 3, 1, (PORT80, PORT443, PROTO17)),  # OR group + one off
        f("matches", A.FWP_ACTION_PERMIT, "corp", 4, 9, (NET10,)),  # matches: not a near miss
        f("tls", A.FWP_ACTION_PERMIT, "MPSSVC_WF", 5, 0, (PORT443,)),
        f("off", A.FWP_ACTION_PERMIT, "corp", 6, 0, (PORT443,), flags=FilterFlag.DISABLED),
    ])


def test_near_misses_one_field() -> None:
    values: dict[str, Value] = {"IP_LOCAL_PORT": 81, "IP_PROTOCOL": 17, "IP_REMOTE_ADDRESS": 0x0A000005}
    near = near_misses(near_policy(), LAYER, values)
    # sublayer order (top 0xFFFF, corp 0x8000, MPSSVC_WF 2), then weight; matching, disabled
    # and two-field misses are not listed
    assert [(n.filter.key, n.sublayer, n.field) for n in near] == [
        ("tls-or-web", "top", "IP_LOCAL_PORT"), ("allow-web", "corp", "IP_LOCAL_PORT"),
        ("web-udp", "corp", "IP_LOCAL_PORT"), ("tls", "MPSSVC_WF", "IP_LOCAL_PORT")]
    assert near[1].text() == "allow-web: IP_LOCAL_PORT is 81, filter wants 80"
    assert near[0].wants == "80 or 443"  # an ORed group on one field counts as one
    assert near[1].to_json() == {"filter": "allow-web", "sublayer": "corp", "field": "IP_LOCAL_PORT",
                                 "wants": "80", "got": "81"}


def test_near_misses_two_fields_not_listed() -> None:
    values: dict[str, Value] = {"IP_LOCAL_PORT": 81, "IP_PROTOCOL": 6, "IP_REMOTE_ADDRESS": 0x0A000005}
    keys = [n.filter.key for n in near_misses(near_policy(), LAYER, values)]
    assert keys == ["allow-web", "tls"]  # web-udp and tls-or-web miss on port and protocol


def test_near_misses_vista_ands_same_field() -> None:
    # Vista ANDs every condition: 80 AND 443 can never both hold, so tls-or-web misses on two groups
    values: dict[str, Value] = {"IP_LOCAL_PORT": 80, "IP_PROTOCOL": 6}
    assert [n.filter.key for n in near_misses(near_policy(), LAYER, values, ored=False)] == ["matches", "web-udp", "tls"]
    ored = [(n.filter.key, n.field) for n in near_misses(near_policy(), LAYER, values)]
    assert ored == [("tls-or-web", "IP_PROTOCOL"), ("matches", "IP_REMOTE_ADDRESS"),
                    ("web-udp", "IP_PROTOCOL"), ("tls", "IP_LOCAL_PORT")]


def test_near_misses_absent_field_and_range() -> None:
    pol = make([f("dev", A.FWP_ACTION_PERMIT, "corp", 1, 0, (PORT_RANGE,))])
    assert [n.text() for n in near_misses(pol, LAYER, {})] == ["dev: IP_LOCAL_PORT is FWP_EMPTY, filter wants range 8000..8100"]


def test_near_misses_in_text_and_json() -> None:
    values: dict[str, Value] = {"IP_LOCAL_PORT": 81, "IP_PROTOCOL": 6}
    pol = make([f(f"allow-{i}", A.FWP_ACTION_PERMIT, "corp", i, i, (PORT80,)) for i in range(1, 13)])
    result = compile_policy(pol).classify(LAYER, values)
    near = near_misses(pol, LAYER, values)
    text = explain_text(result, values, near)
    assert "Near misses (filters at this layer that failed on exactly one field):\n" \
           "  allow-12: IP_LOCAL_PORT is 81, filter wants 80  [sublayer 'corp']\n" in text
    assert "  ... and 2 more\n\nFinal: " in text
    doc = explain_json(result, values, near)
    assert len(doc["near_misses"]) == 12
    assert doc["near_misses"][0] == {"filter": "allow-12", "sublayer": "corp", "field": "IP_LOCAL_PORT",
                                     "wants": "80", "got": "81"}
    assert "near_misses" not in explain_json(result, values)
