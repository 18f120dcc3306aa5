"""Pended classifications (issue 15; core.pend; docs/decisions-engine.md "Pended
classifications"): a callout rule pends ALE_AUTH_CONNECT / ALE_AUTH_RECV_ACCEPT
(FwpsPendOperation0: a hard, absorbed block -- no discard layer, no net event, no audit) and
the completion (FwpsCompleteOperation0) authorizes the connection again with IS_REAUTHORIZE
(reason CLASSIFY_COMPLETION), where the rule answers ``then``."""

from __future__ import annotations

from pathlib import Path

from wfptui.core.engine import run_scenario
from wfptui.core.explain import explain_text
from wfptui.core.trace import ClassifyRecord, StackRecord, TraceRecord
from wfptui.io.scenario_file import load_scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "callout-pend.toml"


def rows(records: list[TraceRecord], host: str) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    for r in records:
        if r.host != host:
            continue
        if isinstance(r, ClassifyRecord):
            out.append((r.t, r.layer, r.packet or r.op, r.action, r.filter, r.reauth, r.fields.get("FLAGS"),
                        r.fields.get("REAUTHORIZE_REASON")))
        elif isinstance(r, StackRecord):
            out.append((r.t, r.event))
        else:
            out.append((r.kind,))
    return out


BIND = [("ALE_BIND_REDIRECT_V4", "bind", "none", None, False, 8, None),
        ("ALE_RESOURCE_ASSIGNMENT_V4", "bind", "none", None, False, 8, None),
        ("ALE_CONNECT_REDIRECT_V4", "connect", "none", None, False, 0, None)]


def at(t: float, rows_: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    return [(t, *r) for r in rows_]


def test_connects_pended_then_permitted_or_blocked() -> None:
    res = run_scenario(load_scenario(SCENARIO))
    assert res.ok
    laptop = rows(res.records, "laptop")
    assert laptop[:11] == [
        *at(0.0, BIND),
        # the initial authorization: pended (a hard, absorbed block: no event, no discard layer)
        (0.0, "ALE_AUTH_CONNECT_V4", "connect", "block", "approve-connect", False, 0, 0),
        (0.0, "connect-pended"),
        # FwpsCompleteOperation0 after 0.25 s: classified again with IS_REAUTHORIZE, reason CLASSIFY_COMPLETION
        (0.25, "pend-completed"),
        (0.25, "ALE_AUTH_CONNECT_V4", "connect", "permit", "approve-connect", True, 4, 0x10),
        ("net_event",), ("audit",),
        (0.25, "flow-created"),
        (0.25, "OUTBOUND_TRANSPORT_V4", "SYN", "none", None, False, 0, None),  # only now the SYN
    ]
    refused = laptop[laptop.index((0.252, "connect-pended")) - 1:][:8]
    assert refused == [
        (0.252, "ALE_AUTH_CONNECT_V4", "connect", "block", "approve-connect", False, 0, 0),
        (0.252, "connect-pended"),
        (0.752, "pend-completed"),
        (0.752, "ALE_AUTH_CONNECT_V4", "connect", "block", "approve-connect", True, 4, 0x10),
        ("net_event",), ("audit",),  # the completing block is an ordinary one: logged, discard layer
        (0.752, "ALE_AUTH_CONNECT_V4_DISCARD", "connect", "none", None, True, 4, 0x10),
        (0.752, "connect-failed"),
    ]
    # the refused socket still indicates closure and release when it closes (endpoint lifetime)
    close = laptop.index((2.2535, "closed"))
    assert laptop[close - 2:close + 1] == [(2.2535, "ALE_ENDPOINT_CLOSURE_V4", "close", "none", None, False, 0, None),
                                           (2.2535, "ALE_RESOURCE_RELEASE_V4", "close", "none", None, False, 0, None),
                                           (2.2535, "closed")]


def test_a_pend_without_delay_completes_on_a_complete_step() -> None:
    res = run_scenario(load_scenario(SCENARIO))
    laptop = rows(res.records, "laptop")
    start = laptop.index((2.2535, "connect-pended"))
    assert laptop[start - 1:start + 6] == [
        (2.2535, "ALE_AUTH_CONNECT_V4", "connect", "block", "approve-connect", False, 0, 0),
        (2.2535, "connect-pended"),
        # nothing until the `complete` step, 2 s later (the wait): then the reauthorization
        (4.2535, "pend-completed"),
        (4.2535, "ALE_AUTH_CONNECT_V4", "connect", "permit", "approve-connect", True, 4, 0x10),
        ("net_event",), ("audit",),
        (4.2535, "flow-created"),
    ]
    pended = next(r for r in res.records if isinstance(r, StackRecord) and r.t == 2.2535 and r.event == "connect-pended")
    assert pended.detail.endswith("it completes on a `complete` step")


def test_a_complete_step_without_pended_work_says_so(tmp_path: Path) -> None:
    path = tmp_path / "u.toml"
    path.write_text(UDP.replace("complete_after = 0.3\n", "") + '''[[step]]
host = "laptop"
do = "complete"
callout = "ask"
[[step]]
host = "laptop"
do = "complete"
callout = "ask"
''')
    res = run_scenario(load_scenario(path))
    events = [r.event for r in res.records if isinstance(r, StackRecord) and r.host == "laptop"]
    assert events == ["connected", "datagram-pended", "datagram-dropped", "pend-completed", "flow-created",
                      "datagram-flushed", "complete-failed"]


def test_accept_pended_holds_the_syn_and_drops_its_retransmission() -> None:
    res = run_scenario(load_scenario(SCENARIO))
    server = rows(res.records, "server")
    start = server.index((0.7525, "accept-pended")) - 3
    assert server[start:start + 14] == [
        (0.7525, "INBOUND_IPPACKET_V4", "SYN", "none", None, False, 0, None),
        (0.7525, "INBOUND_TRANSPORT_V4", "SYN", "none", None, False, 0, None),
        (0.7525, "ALE_AUTH_RECV_ACCEPT_V4", "SYN", "block", "approve-accept", False, 0, 0),
        (0.7525, "accept-pended"),
        # the client's SYN retransmission (RTO 1 s) meets the pended connection: not classified again
        (1.7525, "INBOUND_IPPACKET_V4", "SYN", "none", None, False, 0, None),
        (1.7525, "INBOUND_TRANSPORT_V4", "SYN", "none", None, False, 0, None),
        (1.7525, "packet-dropped"),
        # the callout reinjects its clone and completes: authorized again, then the SYN-ACK
        (2.2525, "pend-completed"),
        (2.2525, "ALE_AUTH_RECV_ACCEPT_V4", "SYN", "permit", "approve-accept", True, 4, 0x10),
        ("net_event",), ("audit",),
        (2.2525, "flow-created"),
        (2.2525, "OUTBOUND_TRANSPORT_V4", "SYN-ACK", "none", None, False, 0, None),
        (2.2525, "OUTBOUND_IPPACKET_V4", "SYN-ACK", "none", None, False, 0, None),
    ]
    assert (2.253, "connected") in rows(res.records, "laptop")


def test_explain_names_the_pending_rule_and_its_answer() -> None:
    res = run_scenario(load_scenario(SCENARIO))
    texts = [explain_text(res.results[r.seq], {}) for r in res.records
             if isinstance(r, ClassifyRecord) and r.host == "laptop" and r.layer == "ALE_AUTH_CONNECT_V4"
             and r.filter is not None]
    assert ("=> block (callout 'approver' rule 1 (IP_REMOTE_PORT = 443 and pend 0.25 s, then permit): pend "
            "(FwpsPendOperation0: FWP_ACTION_BLOCK with FWPS_CLASSIFY_OUT_FLAG_ABSORB, hard); completes after "
            "0.25 s with permit)") in texts[0]
    assert ("=> permit (callout 'approver' rule 1 (IP_REMOTE_PORT = 443 and pend 0.25 s, then permit): the pended "
            "classification completed (FwpsCompleteOperation0; IS_REAUTHORIZE, cannot pend again): permit, soft)"
            ) in texts[1]
    assert "rule 2 (IP_REMOTE_PORT = 8080 and pend 0.5 s, then block)" in texts[3]
    assert texts[0].rstrip().endswith("(hard block; lower sublayers cannot override; pended (FwpsPendOperation0): "
                                      "absorbed, no discard layer, no net event, no audit; completed later with a "
                                      "reauthorization)")


UDP = """\
name = "udp pend"
[[host]]
name = "laptop"
address = ["192.168.1.10"]
app = [ { name = "dns", path = 'C:\\\\dns.exe' } ]
[host.policy]
[[host.policy.callout]]
key = "ask"
default = "continue"
[[host.policy.callout.rule]]
condition = [{ field = "IP_REMOTE_PORT", value = 53 }]
action = "pend"
complete_after = 0.3
[[host.policy.filter]]
key = "ask-connect"
layer = "ALE_AUTH_CONNECT_V4"
action = "callout_terminating"
callout = "ask"
[[host]]
name = "dns"
address = ["10.0.0.53"]
app = [ { name = "srv", path = 'C:\\\\srv.exe' } ]
[[step]]
host = "dns"
do = "bind"
proto = "udp"
app = "srv"
port = 53
[[step]]
host = "laptop"
do = "connect"
proto = "udp"
app = "dns"
to = "dns:53"
socket = "q"
[[step]]
host = "laptop"
do = "send"
socket = "q"
bytes = 40
[[step]]
host = "laptop"
do = "send"
socket = "q"
bytes = 40
"""


def test_udp_first_send_pended_creates_the_flow_and_flushes_the_datagram(tmp_path: Path) -> None:
    """FwpsCompleteOperation0: "non-TCP connections just create state entries. Any pended packet
    data is flushed" -- the application sends again, on the flow the completion created."""
    path = tmp_path / "u.toml"
    path.write_text(UDP)
    res = run_scenario(load_scenario(path))
    laptop = [r for r in rows(res.records, "laptop") if len(r) > 2 and r[1] in (
        "ALE_AUTH_CONNECT_V4", "ALE_FLOW_ESTABLISHED_V4", "DATAGRAM_DATA_V4") or len(r) == 2]
    assert laptop == [
        (0.0, "connected"),
        (0.0, "ALE_AUTH_CONNECT_V4", "DATAGRAM", "block", "ask-connect", False, 0, 0),
        (0.0, "datagram-pended"),
        (0.3, "pend-completed"),
        (0.3, "ALE_AUTH_CONNECT_V4", "DATAGRAM", "permit", "ask-connect", True, 4, 0x10),
        (0.3, "flow-created"),
        (0.3, "ALE_FLOW_ESTABLISHED_V4", "DATAGRAM", "none", None, False, 0, None),
        (0.3, "datagram-flushed"),
        (0.3, "DATAGRAM_DATA_V4", "DATAGRAM", "none", None, False, 0, None),  # the second send, on the flow
    ]
    server = [r for r in rows(res.records, "dns") if len(r) == 2]
    assert server[-1] == (0.3005, "datagram-delivered") and sum(r[1] == "datagram-delivered" for r in server) == 1


def _close_while_pended() -> str:
    return UDP.replace("complete_after = 0.3", "complete_after = 5").replace('''[[step]]
host = "laptop"
do = "send"
socket = "q"
bytes = 40
[[step]]
host = "laptop"
do = "send"
socket = "q"
bytes = 40
''', '''[[step]]
host = "laptop"
do = "send"
socket = "q"
bytes = 40
[[step]]
host = "laptop"
do = "send"
socket = "q"
bytes = 40
at = 1.0
''')


def test_udp_sends_while_pended_are_dropped_unclassified(tmp_path: Path) -> None:
    path = tmp_path / "u.toml"
    path.write_text(_close_while_pended())
    res = run_scenario(load_scenario(path))
    laptop = [r for r in rows(res.records, "laptop") if len(r) == 2 or (len(r) > 2 and r[1] == "ALE_AUTH_CONNECT_V4")]
    assert laptop[:4] == [
        (0.0, "connected"),
        (0.0, "ALE_AUTH_CONNECT_V4", "DATAGRAM", "block", "ask-connect", False, 0, 0),
        (0.0, "datagram-pended"),
        (1.0, "datagram-dropped"),  # the second send, 1 s later: not classified again
    ]
    dropped = next(r for r in res.records if isinstance(r, StackRecord) and r.event == "datagram-dropped")
    assert dropped.detail == "the flow's ALE_AUTH_CONNECT is pended (FwpsPendOperation0)"
    assert (5.0, "pend-completed") in laptop


def test_a_tcp_connect_closed_while_pended_never_sends_its_syn(tmp_path: Path) -> None:
    text = SCENARIO.read_text().replace("complete_after = 0.25", "complete_after = 5")
    path = tmp_path / "s.toml"
    policies = tmp_path / "policies"
    policies.mkdir()
    for p in (ROOT / "scenarios" / "policies").glob("*approver.toml"):
        (policies / p.name).write_text(p.read_text().replace("complete_after = 0.25", "complete_after = 5"))
    # close the pended HTTPS socket right away (at 0.1 s), before its completion
    path.write_text(text.replace('''[[step]]
host = "laptop"
do = "send"
socket = "https"
bytes = 200''', '''[[step]]
host = "laptop"
do = "close"
socket = "https"
at = 0.1'''))
    res = run_scenario(load_scenario(path))
    laptop = rows(res.records, "laptop")
    start = laptop.index((0.0, "connect-pended"))
    assert laptop[start:start + 4] == [
        (0.0, "connect-pended"),
        # closure (an AUTH_CONNECT was indicated) and release, then nothing of this connect again
        (0.1, "ALE_ENDPOINT_CLOSURE_V4", "close", "none", None, False, 0, None),
        (0.1, "ALE_RESOURCE_RELEASE_V4", "close", "none", None, False, 0, None),
        (0.1, "closed"),
    ]
    # the completion timer finds the socket closed: no completion, no reauthorization, no SYN
    assert not any(r[0] >= 5.0 for r in laptop if len(r) > 1 and isinstance(r[0], float))
