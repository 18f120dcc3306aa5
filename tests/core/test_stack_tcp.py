"""Exact per-host layer sequences of every TCP section of wfp-model.md §2.2 (and table
§2.12), for IPv4 and IPv6, Vista and Windows 7+, with the stealth and reauthorization
variants."""

from __future__ import annotations

import pytest

from tests.core._scen import classify, run, seq, stack_events, two_hosts, v
from wfptui.core.trace import AuditRecord, NetEventRecord

VERSIONS = [4, 6]
WINDOWS = ["vista", "win7", "win11"]

REDIRECT = ("ALE_BIND_REDIRECT", "ALE_CONNECT_REDIRECT", "ALE_ENDPOINT_CLOSURE", "ALE_RESOURCE_RELEASE")


def _drop_win7(names: list[str], windows: str) -> list[str]:
    if windows != "vista":
        return names
    return [n for n in names if not n.startswith(REDIRECT)]


def _to(ver: int, port: int) -> str:
    return f"server:{port}" if ver == 4 else f"[fd00::2]:{port}"


def _listen(ver: int, port: int = 80) -> str:
    addr = "10.0.0.2" if ver == 4 else "fd00::2"
    return f'''
[[step]]
host = "server"
do = "listen"
app = "web"
port = {port}
address = "{addr}"
socket = "srv"
'''


def _connect(ver: int, port: int = 80, sock: str = "c1") -> str:
    return f'''
[[step]]
host = "client"
do = "connect"
app = "browser"
to = "{_to(ver, port)}"
socket = "{sock}"
'''


SEND = '''
[[step]]
do = "send"
socket = "c1"
bytes = 100
'''


@pytest.mark.parametrize("windows", WINDOWS)
@pytest.mark.parametrize("ver", VERSIONS)
def test_connection_establishment(ver: int, windows: str) -> None:
    res = run(two_hosts(_listen(ver) + _connect(ver), windows=windows))
    assert seq(res, "server") == _drop_win7(v([
        # passive open
        "ALE_BIND_REDIRECT bind", "ALE_RESOURCE_ASSIGNMENT bind", "ALE_AUTH_LISTEN listen",
        # server receives SYN
        "INBOUND_IPPACKET SYN", "INBOUND_TRANSPORT SYN", "ALE_AUTH_RECV_ACCEPT SYN",
        "OUTBOUND_TRANSPORT SYN-ACK", "OUTBOUND_IPPACKET SYN-ACK",
        # server receives ACK
        "INBOUND_IPPACKET ACK", "INBOUND_TRANSPORT ACK", "ALE_FLOW_ESTABLISHED ACK",
    ], ver), windows)
    assert seq(res, "client") == _drop_win7(v([
        # active open
        "ALE_BIND_REDIRECT bind", "ALE_RESOURCE_ASSIGNMENT bind", "ALE_CONNECT_REDIRECT connect",
        "ALE_AUTH_CONNECT connect", "OUTBOUND_TRANSPORT SYN", "OUTBOUND_IPPACKET SYN",
        # client receives SYN-ACK: FLOW_ESTABLISHED before its ACK
        "INBOUND_IPPACKET SYN-ACK", "INBOUND_TRANSPORT SYN-ACK", "ALE_FLOW_ESTABLISHED ACK",
        "OUTBOUND_TRANSPORT ACK", "OUTBOUND_IPPACKET ACK",
    ], ver), windows)
    assert "listen-completed" in stack_events(res, "server")
    assert "connected" in stack_events(res, "client")


@pytest.mark.parametrize("windows", WINDOWS)
@pytest.mark.parametrize("ver", VERSIONS)
def test_data_transfer_and_close(ver: int, windows: str) -> None:
    steps = _listen(ver) + _connect(ver) + SEND + '''
[[step]]
do = "send"
socket = "srv"
bytes = 50
[[step]]
do = "close"
socket = "c1"
[[step]]
do = "close"
socket = "srv"
'''
    res = run(two_hosts(steps, windows=windows))
    client = seq(res, "client")
    server = seq(res, "server")
    i = client.index(f"STREAM_V{ver} DATA")
    assert client[i:] == _drop_win7(v([
        "STREAM DATA", "OUTBOUND_TRANSPORT DATA", "OUTBOUND_IPPACKET DATA",   # sender
        "INBOUND_IPPACKET DATA", "INBOUND_TRANSPORT DATA", "STREAM DATA",     # receiver (reply)
        "ALE_ENDPOINT_CLOSURE close", "ALE_RESOURCE_RELEASE close",           # close (Win7+)
    ], ver), windows)
    j = server.index(f"INBOUND_IPPACKET_V{ver} DATA")
    assert server[j:] == _drop_win7(v([
        "INBOUND_IPPACKET DATA", "INBOUND_TRANSPORT DATA", "STREAM DATA",
        "STREAM DATA", "OUTBOUND_TRANSPORT DATA", "OUTBOUND_IPPACKET DATA",
        # the listening socket: one closure per listener + the release of its bind
        "ALE_ENDPOINT_CLOSURE close", "ALE_RESOURCE_RELEASE close",
    ], ver), windows)
    assert stack_events(res, "server").count("data-delivered") == 1
    assert "peer-closed" in stack_events(res, "server")


@pytest.mark.parametrize("windows", WINDOWS)
@pytest.mark.parametrize("ver", VERSIONS)
def test_syn_to_port_without_listener(ver: int, windows: str) -> None:
    res = run(two_hosts(_connect(ver, 81), windows=windows))
    assert seq(res, "server") == v([
        "INBOUND_IPPACKET SYN", "INBOUND_TRANSPORT_DISCARD SYN", "OUTBOUND_TRANSPORT RST", "OUTBOUND_IPPACKET RST",
    ], ver)
    client = seq(res, "client")
    assert client[-2:] == v(["INBOUND_IPPACKET RST", "INBOUND_TRANSPORT RST"], ver)
    ev = stack_events(res)
    assert "rst-sent" in ev and "connection-refused" in ev


STEALTH = '''
[host.policy]
[[host.policy.filter]]
key = "stealth"
layer = "INBOUND_TRANSPORT_V{ver}_DISCARD"
action = "callout_terminating"
callout = "WFP_TRANSPORT_LAYER_V{ver}_SILENT_DROP"
condition = [ {{ field = "FLAGS", match = "flags_none_set", value = "is_loopback" }} ]
'''


@pytest.mark.parametrize("windows", WINDOWS)
@pytest.mark.parametrize("ver", VERSIONS)
def test_stealth_suppresses_rst_and_client_times_out(ver: int, windows: str) -> None:
    probe = f'''
[[step]]
host = "client"
do = "probe"
to = "{_to(ver, 445)}"
'''
    res = run(two_hosts(_connect(ver, 81) + probe, server_policy=STEALTH.format(ver=ver), windows=windows))
    server = seq(res, "server")
    # SYN + 2 retransmissions + the probe, each dropped silently at the discard layer
    assert server == v(["INBOUND_IPPACKET SYN", "INBOUND_TRANSPORT_DISCARD SYN"] * 4, ver)
    blocked = classify(res, host="server", layer=f"INBOUND_TRANSPORT_V{ver}_DISCARD")
    assert all(r.action == "block" and r.filter == "stealth" for r in blocked)
    ev = stack_events(res)
    assert ev.count("syn-retransmit") == 2
    assert "connect-failed" in ev and "probe-no-response" in ev and "rst-sent" not in ev
    # a silent-drop callout logs nothing
    assert not [r for r in res.records if isinstance(r, NetEventRecord | AuditRecord)]


def _policy_step(action: str, key: str, ver: int) -> str:
    return f'''
[[step]]
host = "server"
do = "policy"
add = [ {{ key = "{key}", layer = "ALE_AUTH_RECV_ACCEPT_V{ver}", action = "{action}", condition = [ {{ field = "IP_LOCAL_PORT", value = 80 }} ] }} ]
'''


@pytest.mark.parametrize("windows", WINDOWS)
@pytest.mark.parametrize("ver", VERSIONS)
def test_successful_reauthorization(ver: int, windows: str) -> None:
    res = run(two_hosts(_listen(ver) + _connect(ver) + _policy_step("permit", "ok", ver) + SEND, windows=windows))
    policy_seq = next(r.seq for r in res.records if r.kind == "policy")
    assert seq(res, "server", start=policy_seq) == v([
        "INBOUND_IPPACKET DATA", "INBOUND_TRANSPORT DATA", "ALE_AUTH_RECV_ACCEPT DATA reauth", "STREAM DATA",
    ], ver)
    rec = classify(res, host="server", reauth=True)[0]
    assert rec.fields["FLAGS"] & 0x4
    # REAUTHORIZE_REASON exists from Windows 7 (Filtering Condition Identifiers)
    assert rec.fields.get("REAUTHORIZE_REASON") == (None if windows == "vista" else 1)
    assert rec.action == "permit" and rec.filter == "ok"
    assert rec.direction == "inbound"
    # next packet: no reauthorization any more
    res2 = run(two_hosts(_listen(ver) + _connect(ver) + _policy_step("permit", "ok", ver) + SEND + SEND))
    assert len(classify(res2, host="server", reauth=True)) == 1


@pytest.mark.parametrize("windows", WINDOWS)
@pytest.mark.parametrize("ver", VERSIONS)
def test_failed_reauthorization(ver: int, windows: str) -> None:
    res = run(two_hosts(_listen(ver) + _connect(ver) + _policy_step("block", "no", ver) + SEND, windows=windows))
    policy_seq = next(r.seq for r in res.records if r.kind == "policy")
    server = seq(res, "server", start=policy_seq)
    assert server[:4] == v([
        "INBOUND_IPPACKET DATA", "INBOUND_TRANSPORT DATA", "ALE_AUTH_RECV_ACCEPT DATA reauth",
        "ALE_AUTH_RECV_ACCEPT_DISCARD DATA reauth",
    ], ver)
    assert "flow-torn-down" in stack_events(res, "server")
    audits = [r.event_id for r in res.records if isinstance(r, AuditRecord)]
    assert 5157 in audits


def test_outbound_packet_reauthorized_at_connect_before_stream() -> None:
    """A change at AUTH_CONNECT on the client: the client's next outbound packet is
    reauthorized at ALE_AUTH_CONNECT before STREAM (sender side, decisions doc)."""
    step = '''
[[step]]
host = "client"
do = "policy"
add = [ { key = "cli", layer = "ALE_AUTH_CONNECT_V4", action = "permit" } ]
'''
    res = run(two_hosts(_listen(4) + _connect(4) + step + SEND))
    policy_seq = next(r.seq for r in res.records if r.kind == "policy")
    assert seq(res, "client", start=policy_seq) == [
        "ALE_AUTH_CONNECT_V4 DATA reauth", "STREAM_V4 DATA", "OUTBOUND_TRANSPORT_V4 DATA", "OUTBOUND_IPPACKET_V4 DATA",
    ]
    rec = classify(res, host="client", reauth=True)[0]
    assert rec.direction == "outbound"
    assert rec.fields["IP_ARRIVAL_INTERFACE"] is None  # unknown for an outbound packet (§2.5)
    # the server's flow (authorized at RECV_ACCEPT) is not affected
    assert not classify(res, host="server", reauth=True)


def test_inbound_packet_reauthorized_at_connect() -> None:
    """Mixed direction (§2.5): the client's flow was authorized at AUTH_CONNECT; after a
    change there the next *inbound* packet is reauthorized at AUTH_CONNECT."""
    step = '''
[[step]]
host = "client"
do = "policy"
add = [ { key = "cli", layer = "ALE_AUTH_CONNECT_V4", action = "block", condition = [ { field = "IP_REMOTE_PORT", value = 80 } ] } ]
[[step]]
do = "send"
socket = "srv"
bytes = 10
'''
    res = run(two_hosts(_listen(4) + _connect(4) + step))
    policy_seq = next(r.seq for r in res.records if r.kind == "policy")
    assert seq(res, "client", start=policy_seq) == [
        "INBOUND_IPPACKET_V4 DATA", "INBOUND_TRANSPORT_V4 DATA", "ALE_AUTH_CONNECT_V4 DATA reauth",
        "ALE_AUTH_CONNECT_V4_DISCARD DATA reauth",
    ]
    rec = classify(res, host="client", reauth=True)[0]
    assert rec.direction == "inbound" and rec.fields["IP_NEXTHOP_INTERFACE"] is None


def test_connect_blocked_goes_to_discard_and_fails() -> None:
    pol = '''
[host.policy]
[[host.policy.filter]]
key = "no-out"
layer = "ALE_AUTH_CONNECT_V4"
action = "block"
'''
    res = run(two_hosts(_listen(4) + _connect(4), client_policy=pol))
    assert seq(res, "client") == [
        "ALE_BIND_REDIRECT_V4 bind", "ALE_RESOURCE_ASSIGNMENT_V4 bind", "ALE_CONNECT_REDIRECT_V4 connect",
        "ALE_AUTH_CONNECT_V4 connect", "ALE_AUTH_CONNECT_V4_DISCARD connect",
    ]
    assert "connect-failed" in stack_events(res, "client")
    ne = [r for r in res.records if isinstance(r, NetEventRecord)]
    assert [(n.type, n.layer_id, n.direction) for n in ne] == [("CLASSIFY_DROP", 48, "MS_FWP_DIRECTION_OUT")]
    assert ne[0].filter_id == 70001
    assert [r.event_id for r in res.records if isinstance(r, AuditRecord)][-1] == 5157


def test_recv_accept_block_drops_syn_silently_client_retransmits() -> None:
    pol = '''
[host.policy]
[[host.policy.filter]]
key = "Query User"
name = "Query User"
layer = "ALE_AUTH_RECV_ACCEPT_V4"
action = "block"
'''
    res = run(two_hosts(_listen(4) + _connect(4), server_policy=pol))
    server = seq(res, "server")
    assert server[3:8] == [
        "INBOUND_IPPACKET_V4 SYN", "INBOUND_TRANSPORT_V4 SYN", "ALE_AUTH_RECV_ACCEPT_V4 SYN",
        "ALE_AUTH_RECV_ACCEPT_V4_DISCARD SYN", "INBOUND_IPPACKET_V4 SYN",
    ]
    assert len(classify(res, host="server", layer="ALE_AUTH_RECV_ACCEPT_V4")) == 3
    audits = [r.event_id for r in res.records if isinstance(r, AuditRecord) and r.host == "server"]
    assert audits.count(5157) == 3 and audits.count(5031) == 3
    assert "connect-failed" in stack_events(res, "client")


def test_listen_and_bind_blocks() -> None:
    pol = '''
[host.policy]
[[host.policy.filter]]
key = "no-listen"
layer = "ALE_AUTH_LISTEN_V4"
action = "block"
'''
    res = run(two_hosts(_listen(4), server_policy=pol))
    assert seq(res, "server")[-2:] == ["ALE_AUTH_LISTEN_V4 listen", "ALE_AUTH_LISTEN_V4_DISCARD listen"]
    assert "listen-failed" in stack_events(res, "server")
    assert [r.event_id for r in res.records if isinstance(r, AuditRecord)] == [5155]
    pol2 = pol.replace("ALE_AUTH_LISTEN_V4", "ALE_RESOURCE_ASSIGNMENT_V4").replace("no-listen", "no-bind")
    res2 = run(two_hosts(_listen(4), server_policy=pol2))
    assert seq(res2, "server")[-2:] == ["ALE_RESOURCE_ASSIGNMENT_V4 bind", "ALE_RESOURCE_ASSIGNMENT_V4_DISCARD bind"]
    assert [r.event_id for r in res2.records if isinstance(r, AuditRecord)] == [5159]


def test_transport_block_drops_segment() -> None:
    pol = '''
[host.policy]
[[host.policy.filter]]
key = "no-data"
layer = "INBOUND_TRANSPORT_V4"
action = "block"
condition = [ { field = "IP_LOCAL_PORT", value = 80 } ]
'''
    res = run(two_hosts(_listen(4) + _connect(4), server_policy=pol))
    server = seq(res, "server")
    assert server[3:6] == ["INBOUND_IPPACKET_V4 SYN", "INBOUND_TRANSPORT_V4 SYN", "INBOUND_TRANSPORT_V4_DISCARD SYN"]
    assert [r.event_id for r in res.records if isinstance(r, AuditRecord) and r.host == "server"].count(5152) == 3


def test_loopback_flags_and_both_sides_on_one_host() -> None:
    text = '''
name = "lo"
[[host]]
name = "box"
address = ["10.0.0.5"]
app = [ { name = "web", path = 'C:\\srv\\web.exe' } ]
[[step]]
host = "box"
do = "listen"
port = 80
socket = "srv"
[[step]]
host = "box"
do = "connect"
to = "box:80"
socket = "c1"
'''
    res = run(text)
    assert seq(res, "box") == [
        "ALE_BIND_REDIRECT_V4 bind", "ALE_RESOURCE_ASSIGNMENT_V4 bind", "ALE_AUTH_LISTEN_V4 listen",
        "ALE_BIND_REDIRECT_V4 bind", "ALE_RESOURCE_ASSIGNMENT_V4 bind", "ALE_CONNECT_REDIRECT_V4 connect",
        "ALE_AUTH_CONNECT_V4 connect", "OUTBOUND_TRANSPORT_V4 SYN", "OUTBOUND_IPPACKET_V4 SYN",
        "INBOUND_IPPACKET_V4 SYN", "INBOUND_TRANSPORT_V4 SYN", "ALE_AUTH_RECV_ACCEPT_V4 SYN",
        "OUTBOUND_TRANSPORT_V4 SYN-ACK", "OUTBOUND_IPPACKET_V4 SYN-ACK",
        "INBOUND_IPPACKET_V4 SYN-ACK", "INBOUND_TRANSPORT_V4 SYN-ACK", "ALE_FLOW_ESTABLISHED_V4 ACK",
        "OUTBOUND_TRANSPORT_V4 ACK", "OUTBOUND_IPPACKET_V4 ACK",
        "INBOUND_IPPACKET_V4 ACK", "INBOUND_TRANSPORT_V4 ACK", "ALE_FLOW_ESTABLISHED_V4 ACK",
    ]
    for r in classify(res, host="box"):
        if r.packet is not None or r.layer == "ALE_AUTH_CONNECT_V4":
            assert r.fields["FLAGS"] & 0x1, r
            if "INTERFACE_INDEX" in r.fields:
                assert r.fields["INTERFACE_INDEX"] == 1 and r.fields["INTERFACE_TYPE"] == 24
        else:
            assert not r.fields.get("FLAGS", 0) & 0x1


def test_fields_filled_from_socket_app_user_host_interface() -> None:
    text = two_hosts(_listen(4) + _connect(4)).replace(
        'address = ["10.0.0.1", "fd00::1"]',
        'address = ["10.0.0.1", "fd00::1"]\ninterface = { index = 7, type = 71, profile_id = 2, tunnel_type = 0 }')
    res = run(text)
    conn = classify(res, host="client", layer="ALE_AUTH_CONNECT_V4")[0]
    f = conn.fields
    assert f["ALE_APP_ID"] == "\\device\\harddiskvolume3\\program files\\browser\\browser.exe" or \
        f["ALE_APP_ID"].endswith("\\program files\\browser\\browser.exe")
    assert f["ALE_USER_ID"].startswith("S-1-5-21-")
    assert f["IP_LOCAL_ADDRESS"] == "10.0.0.1" and f["IP_REMOTE_ADDRESS"] == "10.0.0.2"
    assert f["IP_REMOTE_PORT"] == 80 and f["IP_LOCAL_PORT"] >= 49152 and f["IP_PROTOCOL"] == 6
    assert f["INTERFACE_INDEX"] == 7 and f["INTERFACE_TYPE"] == 71 and f["CURRENT_PROFILE_ID"] == 2
    assert f["IP_LOCAL_INTERFACE"] == (71 << 48) | (7 << 24)
    assert f["ALE_PACKAGE_ID"] == "S-1-0-0" and f["COMPARTMENT_ID"] == 1 and f["IP_LOCAL_ADDRESS_TYPE"] == 1
    assert f["FLAGS"] == 0 and f["REAUTHORIZE_REASON"] == 0
    assert f["IP_ARRIVAL_INTERFACE"] is None  # outbound: arrival unknown
    # only the layer's own fields
    from wfptui.core.layers import get_layer
    for r in classify(res):
        assert set(r.fields) <= set(get_layer(r.layer).field_names)
    # implicit bind: no local address, wildcard flag
    ra = classify(res, host="client", layer="ALE_RESOURCE_ASSIGNMENT_V4")[0]
    assert ra.fields.get("IP_LOCAL_ADDRESS") is None and ra.fields["FLAGS"] == 0x8
    stream_dir = classify(res, host="server", layer="ALE_FLOW_ESTABLISHED_V4")[0].fields["DIRECTION"]
    assert stream_dir == 1


def test_vista_implicit_bind_flag() -> None:
    res = run(two_hosts(_listen(4) + _connect(4), windows="vista"))
    ra = classify(res, host="client", layer="ALE_RESOURCE_ASSIGNMENT_V4")[0]
    assert ra.fields["FLAGS"] == 0x8 | 0x200
