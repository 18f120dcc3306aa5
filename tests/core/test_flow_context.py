"""Flow context and stream inspection by byte count (issue 15): a callout associates a context
with a flow at ALE_FLOW_ESTABLISHED; a FWP_CALLOUT_FLAG_CONDITIONAL_ON_FLOW callout is called
only on flows carrying its context; a ``permit_bytes`` rule counts a flow's stream per
direction. The two scenarios' exact layer sequences, verdicts, deciding filters and stack
records, and the arbitration on its own (with and without a flow)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from wfptui.core.arbitration import classify_naive, compile_policy
from wfptui.core.datatypes import DataType
from wfptui.core.engine import run_scenario
from wfptui.core.flowctx import FlowState, flow_layer_ids
from wfptui.core.layers import get_layer
from wfptui.core.model import (
    ActionType,
    Callout,
    CalloutRule,
    Condition,
    Filter,
    MatchType,
    Policy,
    Sublayer,
)
from wfptui.core.trace import ClassifyRecord, StackRecord
from wfptui.io.scenario_file import load_scenario

ROOT = Path(__file__).resolve().parents[2]
A = ActionType


def _run(name: str) -> Any:
    res = run_scenario(load_scenario(ROOT / "scenarios" / name))
    assert res.ok
    return res


def _rows(res: Any, host: str) -> list[tuple[Any, ...]]:
    """Classifications (layer, packet/op, direction, action, filter, flow) and stack records
    (event, detail, flow) of one host, in trace order."""
    out: list[tuple[Any, ...]] = []
    for r in res.records:
        if isinstance(r, ClassifyRecord) and r.host == host:
            out.append((r.layer, r.packet or r.op, r.direction, r.action, r.filter, r.flow))
        elif isinstance(r, StackRecord) and r.host == host:
            out.append((r.event, r.detail, r.flow))
    return out


def _between(rows: list[tuple[Any, ...]], first: tuple[Any, ...], n: int) -> list[tuple[Any, ...]]:
    i = rows.index(first)
    return rows[i:i + n]


# ----------------------------------------------------------------------------- scenario A

def test_flow_context_scenario_sequences_and_records() -> None:
    rows = _rows(_run("callout-flow-context.toml"), "laptop")
    # FLOW_ESTABLISHED of the port-80 flow: the tagger associates "http" for upload-guard.
    est = ("ALE_FLOW_ESTABLISHED_V4", "ACK", "outbound", "none", None, 1)
    assert _between(rows, est, 3) == [
        est,
        ("flow-context-associated", "callout 'flow-tagger' associated context 'http' with flow 1 for callout "
         "'upload-guard' (FwpsFlowAssociateContext0)", 1),
        ("connected", "three-way handshake complete", 1),
    ]
    # The port-8080 flow (3) gets no context.
    assert ("ALE_FLOW_ESTABLISHED_V4", "ACK", "outbound", "none", None, 3) in rows
    assert [r for r in rows if r[0] == "flow-context-associated"] == [rows[rows.index(est) + 1]]
    # Upload on the tagged flow: rule 1 of the conditional callout blocks at STREAM.
    up = ("STREAM_V4", "DATA", "outbound", "block", "guard-stream", 1)
    assert _between(rows, up, 3) == [
        up, ("STREAM_V4_DISCARD", "DATA", "outbound", "none", None, 1), ("data-dropped", "blocked at STREAM", 1)]
    # Download on it: the callout's default permits.
    down = ("STREAM_V4", "DATA", "inbound", "permit", "guard-stream", 1)
    assert _between(rows, ("INBOUND_IPPACKET_V4", "DATA", "inbound", "none", None, 1), 4) == [
        ("INBOUND_IPPACKET_V4", "DATA", "inbound", "none", None, 1),
        ("INBOUND_TRANSPORT_V4", "DATA", "inbound", "none", None, 1), down, ("data-delivered", "", 1)]
    # The untagged flow: the guard's filter is skipped, nothing decides, the data goes out.
    assert _between(rows, ("STREAM_V4", "DATA", "outbound", "none", None, 3), 3) == [
        ("STREAM_V4", "DATA", "outbound", "none", None, 3),
        ("OUTBOUND_TRANSPORT_V4", "DATA", "outbound", "none", None, 3),
        ("OUTBOUND_IPPACKET_V4", "DATA", "outbound", "none", None, 3)]
    # Close: flowDeleteFn after the flow is torn down.
    assert rows[-3:] == [
        ("flow-torn-down", "socket closed", 1),
        ("flow-context-removed", "flowDeleteFn: callout 'upload-guard', context 'http' removed (the flow ended)", 1),
        ("closed", "tcp socket closed (termination is indicated at no layer)", 1),
    ]


def test_flow_context_notes_name_the_context() -> None:
    res = _run("callout-flow-context.toml")
    notes = []
    for r in res.records:
        if isinstance(r, ClassifyRecord) and r.host == "laptop" and r.layer == "STREAM_V4":
            result = res.results[r.seq]
            notes += [fe.note for sl in result.sublayers for fe in sl.evaluated]
    assert notes == [
        "callout 'upload-guard' rule 1 (DIRECTION = outbound and flow context = 'http') [flow context 'http']: "
        "block, soft",
        "callout 'upload-guard' default (no rule matched) [flow context 'http']: permit, soft",
        "callout 'upload-guard' not called: FWP_CALLOUT_FLAG_CONDITIONAL_ON_FLOW and the flow carries no context "
        "for it",
    ]


# ----------------------------------------------------------------------------- scenario B

def test_stream_bytes_scenario_counts_blocks_and_drops() -> None:
    rows = _rows(_run("callout-stream-bytes.toml"), "laptop")
    stream = [r for r in rows if r[0] in ("STREAM_V4", "stream-bytes", "data-dropped", "connection-dropped",
                                          "flow-context-removed", "send-failed", "data-delivered")]
    assert stream == [
        ("STREAM_V4", "DATA", "outbound", "permit", "meter-stream", 1),
        ("stream-bytes", "callout 'meter' rule 1: 400 of 1000 bytes outbound", 1),
        ("STREAM_V4", "DATA", "outbound", "permit", "meter-stream", 1),
        ("stream-bytes", "callout 'meter' rule 1: 800 of 1000 bytes outbound", 1),
        ("STREAM_V4", "DATA", "outbound", "block", "meter-stream", 1),
        ("stream-bytes", "callout 'meter' rule 1: 1200 of 1000 bytes outbound: past the limit, block", 1),
        ("data-dropped", "blocked at STREAM", 1),
        ("STREAM_V4", "DATA", "inbound", "permit", "meter-stream", 1),
        ("stream-bytes", "callout 'meter' rule 1: 300 of 1000 bytes inbound", 1),
        ("data-delivered", "", 1),
        ("STREAM_V4", "DATA", "outbound", "permit", "meter-stream", 3),
        ("stream-bytes", "callout 'meter' rule 2: 400 of 1000 bytes outbound", 3),
        ("STREAM_V4", "DATA", "outbound", "permit", "meter-stream", 3),
        ("stream-bytes", "callout 'meter' rule 2: 800 of 1000 bytes outbound", 3),
        ("STREAM_V4", "DATA", "outbound", "block", "meter-stream", 3),
        ("stream-bytes", "callout 'meter' rule 2: 1200 of 1000 bytes outbound: past the limit, drop_connection", 3),
        ("data-dropped", "blocked at STREAM", 3),
        ("flow-context-removed", "flowDeleteFn: callout 'meter', context 'quota-drop' removed (the flow ended)", 3),
        ("connection-dropped", "callout 'meter' rule 2: FWPS_STREAM_ACTION_DROP_CONNECTION past 1000 bytes", 3),
        ("send-failed", "connection is aborted", None),
    ]
    # The server's next segment finds no connection: INBOUND_TRANSPORT_DISCARD, then a RST.
    i = rows.index(("INBOUND_TRANSPORT_V4_DISCARD", "DATA", "inbound", "none", None, None))
    assert rows[i + 2:i + 5] == [
        ("OUTBOUND_TRANSPORT_V4", "RST", "outbound", "none", None, None),
        ("OUTBOUND_IPPACKET_V4", "RST", "outbound", "none", None, None),
        ("rst-sent", "to 192.168.1.20:81", None),
    ]
    server = _rows(_run("callout-stream-bytes.toml"), "server")
    assert server[-1] == ("connection-reset", "RST received (WSAECONNRESET)", 4)


# ----------------------------------------------------------------------------- arbitration

PORT80 = Condition("IP_REMOTE_PORT", MatchType.FWP_MATCH_EQUAL, 80, DataType.FWP_UINT16)
METER = Callout("meter", returns="continue", conditional_on_flow=True, rules=(
    CalloutRule((PORT80,), "permit", when_flow_context="web", permit_bytes=100, then="block"),
    CalloutRule((), "block", when_flow_context="other"),
))
PLAIN = Callout("plain", returns="block")


def _policy() -> Policy:
    filters = (
        Filter(key="meter", layer="STREAM_V4", action=A.FWP_ACTION_CALLOUT_UNKNOWN, sublayer="UNIVERSAL",
               callout="meter", filter_id=1, effective_weight=10),
        Filter(key="plain", layer="STREAM_V4", action=A.FWP_ACTION_CALLOUT_TERMINATING, sublayer="UNIVERSAL",
               callout="plain", filter_id=2, effective_weight=5),  # reached when meter does not decide
    )
    return Policy(sublayers={"UNIVERSAL": Sublayer("UNIVERSAL", 0x8000)},
                  callouts={"meter": METER, "plain": PLAIN}, filters=filters)


def test_classify_flow_conditional_label_and_bytes() -> None:
    cl = compile_policy(_policy()).layer("STREAM_V4")
    values = {"IP_REMOTE_PORT": 80}
    # No flow / no context: the conditional callout is skipped; the plain one blocks.
    for flow in (None, FlowState()):
        res, effects = cl.classify_flow(values, flow, 60, 0)
        assert (res.action, res.filter.key if res.filter else None, effects) == ("block", "plain", ())
    st = FlowState()
    st.contexts["meter"] = "web"
    res, effects = cl.classify_flow(values, st, 60, 0)
    assert (res.action, res.filter.key if res.filter else None) == ("permit", "meter")
    assert effects == (("bytes", "meter", 1, 100, "block", False),)
    st.counts[("meter", 0)] = 60
    res, effects = cl.classify_flow(values, st, 60, 0)  # 120 > 100: past the count
    assert (res.action, res.filter.key if res.filter else None) == ("block", "meter")
    assert effects == (("bytes", "meter", 1, 100, "block", True),)
    res, _ = cl.classify_flow(values, st, 60, 1)  # the other direction counts on its own
    assert res.action == "permit"
    st.contexts["meter"] = "other"
    res, effects = cl.classify_flow(values, st, 60, 0)
    assert (res.action, res.filter.key if res.filter else None, effects) == ("block", "meter", ())


def test_without_a_flow_compiled_and_naive_agree() -> None:
    p = _policy()
    values = {"IP_REMOTE_PORT": 80}
    compiled = compile_policy(p).classify("STREAM_V4", values)
    naive = classify_naive(p, "STREAM_V4", values)
    assert (compiled.action, compiled.filter, compiled.terminating) == (naive.action, naive.filter,
                                                                       naive.terminating)
    assert [fe.note for sl in compiled.sublayers for fe in sl.evaluated] == \
        [fe.note for sl in naive.sublayers for fe in sl.evaluated]


def test_flow_layer_ids_only_where_a_flow_aware_callout_is_used() -> None:
    assert flow_layer_ids(_policy()) == frozenset({get_layer("STREAM_V4").layer_id})
    assert flow_layer_ids(Policy(sublayers={}, callouts={"plain": PLAIN}, filters=())) is None


# ----------------------------------------------------------------------------- inject-after-absorb

def test_reinject_scenario_absorb_reinject_permit() -> None:
    res = _run("callout-reinject.toml")
    rows = _rows(res, "laptop")
    i = rows.index(("DATAGRAM_DATA_V4", "DATAGRAM", "outbound", "none", None, 1))
    assert rows[i:i + 5] == [
        ("DATAGRAM_DATA_V4", "DATAGRAM", "outbound", "none", None, 1),
        ("OUTBOUND_TRANSPORT_V4", "DATAGRAM", "outbound", "block", "dpi-transport", 1),
        ("packet-reinjected", "callout 'dns-dpi' absorbed the DATAGRAM and injected a clone back "
         "(FwpsInjectTransportSendAsync0); the clone is classified again at OUTBOUND_TRANSPORT_V4", 1),
        ("OUTBOUND_TRANSPORT_V4", "DATAGRAM", "outbound", "permit", "dpi-transport", 1),
        ("OUTBOUND_IPPACKET_V4", "DATAGRAM", "outbound", "none", None, 1),
    ]
    # The other datagram: the callout continues, one classification, nothing absorbed.
    assert ("OUTBOUND_TRANSPORT_V4", "DATAGRAM", "outbound", "none", None, 3) in rows
    assert sum(1 for r in rows if r[0] == "packet-reinjected") == 1
    # The absorb is silent: no net event, no audit on the laptop.
    kinds = {type(r).__name__ for r in res.records if getattr(r, "host", None) == "laptop"}
    assert kinds == {"ClassifyRecord", "StackRecord"}
    notes = [fe.note for r in res.records if isinstance(r, ClassifyRecord) and r.filter == "dpi-transport"
             for sl in res.results[r.seq].sublayers for fe in sl.evaluated]
    assert notes == [
        "callout 'dns-dpi' rule 1 (IP_REMOTE_PORT = 53): reinject: the packet is absorbed (FWP_ACTION_BLOCK, "
        "FWPS_CLASSIFY_OUT_FLAG_ABSORB, FWPS_RIGHT_ACTION_WRITE cleared) and a clone injected back, hard",
        "callout 'dns-dpi': its own clone (FwpsQueryPacketInjectionState0 = FWPS_PACKET_INJECTED_BY_SELF): "
        "permit, soft",
    ]
    dns = _rows(res, "dns")
    assert [r for r in dns if r[0] == "datagram-delivered"] == [("datagram-delivered", "", 2),
                                                                 ("datagram-delivered", "", 4)]


# ----------------------------------------------------------------------------- UDP, policy change, idle

UDP = '''
name = "udp flow context"
[[host]]
name = "a"
address = ["10.0.0.1"]
[host.policy]
callout = [
  { key = "tag", default = "continue", rule = [ { action = "continue", flow_context = "dns",
    flow_context_callout = "dgram" } ] },
  { key = "dgram", default = "block", conditional_on_flow = true },
]
filter = [ { key = "tag-flow", layer = "ALE_FLOW_ESTABLISHED_V4", action = "callout_inspection",
             callout = "tag" } ]
[[host]]
name = "b"
address = ["10.0.0.2"]
[[step]]
host = "b"
do = "bind"
port = 53
[[step]]
host = "a"
do = "bind"
socket = "q"
[[step]]
host = "a"
do = "send"
socket = "q"
to = "b:53"
[[step]]
host = "a"
do = "policy"
add = [ { key = "dgram-data", layer = "DATAGRAM_DATA_V4", action = "callout_terminating", callout = "dgram" } ]
[[step]]
host = "a"
do = "send"
socket = "q"
to = "b:53"
[[step]]
host = "a"
do = "wait"
seconds = 61
'''


def test_udp_context_seen_after_a_policy_change_and_removed_at_idle_timeout() -> None:
    from wfptui.io.scenario_file import parse_scenario

    res = run_scenario(parse_scenario(UDP, "udp.toml", ROOT / "scenarios"))
    rows = _rows(res, "a")
    data = [r for r in rows if r[0] == "DATAGRAM_DATA_V4"]
    # Before the policy step no filter reads the flow; after it, the tagged flow's datagram
    # reaches the conditional callout, which blocks (its static returns).
    assert data == [("DATAGRAM_DATA_V4", "DATAGRAM", "outbound", "none", None, 1),
                    ("DATAGRAM_DATA_V4", "DATAGRAM", "outbound", "block", "dgram-data", 1)]
    assert ("flow-context-associated", "callout 'tag' associated context 'dns' with flow 1 for callout 'dgram' "
            "(FwpsFlowAssociateContext0)", 1) in rows
    assert rows[-2:] == [
        ("flow-idle-timeout", "no traffic for 60 s", 1),
        ("flow-context-removed", "flowDeleteFn: callout 'dgram', context 'dns' removed (the flow ended)", 1),
    ]
    note = [fe.note for r in res.records if isinstance(r, ClassifyRecord) and r.filter == "dgram-data"
            for sl in res.results[r.seq].sublayers for fe in sl.evaluated]
    assert note == ["callout 'dgram' [flow context 'dns'] returned block: soft"]


# ----------------------------------------------------------------------------- compiled == naive

@st.composite
def flow_policies(draw: st.DrawFn) -> Policy:
    """Random STREAM_V4 policies of flow-aware and plain callouts and static filters."""
    callouts: list[Callout] = []
    for i in range(draw(st.integers(1, 3))):
        rules = []
        for _ in range(draw(st.integers(0, 3))):
            conds = tuple(Condition("IP_REMOTE_PORT", MatchType.FWP_MATCH_EQUAL, draw(st.sampled_from([80, 443])),
                                    DataType.FWP_UINT16) for _ in range(draw(st.integers(0, 1))))
            if draw(st.booleans()):
                rules.append(CalloutRule(conds, "permit", draw(st.sampled_from([None, True])),
                                         permit_bytes=draw(st.integers(0, 50)), then="block",
                                         when_flow_context=draw(st.sampled_from([None, "x"]))))
            else:
                rules.append(CalloutRule(conds, draw(st.sampled_from(["permit", "block", "continue", "absorb"])),
                                         when_flow_context=draw(st.sampled_from([None, None, "x"]))))
        callouts.append(Callout(f"c{i}", returns=draw(st.sampled_from(["permit", "block", "continue"])),
                                conditional_on_flow=draw(st.booleans()), rules=tuple(rules)))
    filters = []
    for j in range(draw(st.integers(1, 5))):
        if draw(st.booleans()):
            filters.append(Filter(key=f"f{j}", layer="STREAM_V4", action=A.FWP_ACTION_CALLOUT_UNKNOWN,
                                  sublayer=draw(st.sampled_from(["UNIVERSAL", "low"])),
                                  callout=draw(st.sampled_from([c.key for c in callouts])), filter_id=j + 1,
                                  effective_weight=draw(st.integers(0, 3))))
        else:
            filters.append(Filter(key=f"f{j}", layer="STREAM_V4", action=draw(st.sampled_from(
                [A.FWP_ACTION_PERMIT, A.FWP_ACTION_BLOCK])), sublayer="low", filter_id=j + 1,
                effective_weight=draw(st.integers(0, 3))))
    return Policy(sublayers={"UNIVERSAL": Sublayer("UNIVERSAL", 0x8000), "low": Sublayer("low", 1)},
                  callouts={c.key: c for c in callouts}, filters=tuple(filters))


@settings(max_examples=150)
@given(flow_policies(), st.sampled_from([80, 443, 8080]))
def test_no_flow_compiled_equals_naive(p: Policy, port: int) -> None:
    values = {"IP_REMOTE_PORT": port}
    got = compile_policy(p).classify("STREAM_V4", values)
    ref = classify_naive(p, "STREAM_V4", values)
    assert (got.action, got.filter, got.terminating, got.veto) == (ref.action, ref.filter, ref.terminating, ref.veto)
    assert [(fe.filter.key, fe.outcome, fe.note) for sl in got.sublayers for fe in sl.evaluated] == \
        [(fe.filter.key, fe.outcome, fe.note) for sl in ref.sublayers for fe in sl.evaluated]
    # a flow without state decides as no flow at all
    res, _ = compile_policy(p).layer("STREAM_V4").classify_flow(values, FlowState(), 0, 0)
    assert (res.action, res.filter, res.terminating) == (got.action, got.filter, got.terminating)
