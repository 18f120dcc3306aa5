"""Exact per-host layer sequences of UDP (wfp-model.md §2.3) and ICMP echo / errors
(§2.4, §2.6), IPv4 and IPv6, Vista and Windows 7+, stealth and reauthorization."""

from __future__ import annotations

import pytest

from tests.core._scen import classify, run, seq, stack_events, two_hosts, v
from wfptui.core.trace import StackRecord

VERSIONS = [4, 6]


def _vista(names: list[str], windows: str) -> list[str]:
    if windows != "vista":
        return names
    return [n for n in names if not n.startswith(("ALE_BIND_REDIRECT", "ALE_CONNECT_REDIRECT",
                                                   "ALE_ENDPOINT_CLOSURE", "ALE_RESOURCE_RELEASE"))]


def _dst(ver: int, port: int) -> str:
    return f"10.0.0.2:{port}" if ver == 4 else f"[fd00::2]:{port}"


def _udp(ver: int, port: int = 53, server: bool = True) -> str:
    srv_addr = "10.0.0.2" if ver == 4 else "fd00::2"
    cli_addr = "10.0.0.1" if ver == 4 else "fd00::1"
    text = ""
    if server:
        text += f'''
[[step]]
host = "server"
do = "bind"
proto = "udp"
app = "web"
port = 53
address = "{srv_addr}"
socket = "srv"
'''
    text += f'''
[[step]]
host = "client"
do = "bind"
proto = "udp"
app = "browser"
address = "{cli_addr}"
socket = "cli"

[[step]]
do = "send"
socket = "cli"
to = "{_dst(ver, port)}"
bytes = 40
'''
    return text


REPLY_AND_MORE = '''
[[step]]
do = "send"
socket = "srv"
bytes = 10

[[step]]
do = "send"
socket = "cli"
bytes = 40
'''


@pytest.mark.parametrize("windows", ["vista", "win7", "win11"])
@pytest.mark.parametrize("ver", VERSIONS)
def test_udp_first_send_first_receive_later_datagrams(ver: int, windows: str) -> None:
    res = run(two_hosts(_udp(ver) + REPLY_AND_MORE.replace('bytes = 40\n', f'bytes = 40\nto = "{_dst(ver, 53)}"\n'),
                        windows=windows))
    assert seq(res, "client") == _vista(v([
        "ALE_BIND_REDIRECT bind", "ALE_RESOURCE_ASSIGNMENT bind",
        # first send to a new remote
        "ALE_CONNECT_REDIRECT DATAGRAM", "ALE_AUTH_CONNECT DATAGRAM", "ALE_FLOW_ESTABLISHED DATAGRAM",
        "DATAGRAM_DATA DATAGRAM", "OUTBOUND_TRANSPORT DATAGRAM", "OUTBOUND_IPPACKET DATAGRAM",
        # the reply: same flow, no ALE
        "INBOUND_IPPACKET DATAGRAM", "INBOUND_TRANSPORT DATAGRAM", "DATAGRAM_DATA DATAGRAM",
        # a later datagram: no ALE
        "DATAGRAM_DATA DATAGRAM", "OUTBOUND_TRANSPORT DATAGRAM", "OUTBOUND_IPPACKET DATAGRAM",
    ], ver), windows)
    assert seq(res, "server") == _vista(v([
        "ALE_BIND_REDIRECT bind", "ALE_RESOURCE_ASSIGNMENT bind",
        # first receive
        "INBOUND_IPPACKET DATAGRAM", "INBOUND_TRANSPORT DATAGRAM", "ALE_AUTH_RECV_ACCEPT DATAGRAM",
        "ALE_FLOW_ESTABLISHED DATAGRAM", "DATAGRAM_DATA DATAGRAM",
        # the reply (to the last peer)
        "DATAGRAM_DATA DATAGRAM", "OUTBOUND_TRANSPORT DATAGRAM", "OUTBOUND_IPPACKET DATAGRAM",
        "INBOUND_IPPACKET DATAGRAM", "INBOUND_TRANSPORT DATAGRAM", "DATAGRAM_DATA DATAGRAM",
    ], ver), windows)
    dirs = [r.fields["DIRECTION"] for r in classify(res, host="server", layer=f"DATAGRAM_DATA_V{ver}")]
    assert dirs == [1, 0, 1]
    assert stack_events(res, "server").count("datagram-delivered") == 2


@pytest.mark.parametrize("windows", ["vista", "win7", "win11"])
@pytest.mark.parametrize("ver", VERSIONS)
def test_udp_no_listener_icmp_error(ver: int, windows: str) -> None:
    res = run(two_hosts(_udp(ver, 99, server=False), windows=windows))
    assert seq(res, "server") == v([
        "INBOUND_IPPACKET DATAGRAM", "INBOUND_IPPACKET_DISCARD DATAGRAM",
        "OUTBOUND_ICMP_ERROR ICMP-ERROR", "OUTBOUND_TRANSPORT ICMP-ERROR", "OUTBOUND_IPPACKET ICMP-ERROR",
    ], ver)
    assert seq(res, "client")[-2:] == v(["INBOUND_IPPACKET ICMP-ERROR", "INBOUND_ICMP_ERROR ICMP-ERROR"], ver)
    err = classify(res, host="server", layer=f"OUTBOUND_ICMP_ERROR_V{ver}")[0]
    assert (err.fields["IP_LOCAL_PORT"], err.fields["IP_REMOTE_PORT"]) == ((3, 3) if ver == 4 else (1, 4))
    inb = classify(res, host="client", layer=f"INBOUND_ICMP_ERROR_V{ver}")[0]
    assert inb.fields["EMBEDDED_PROTOCOL"] == 17 and inb.fields["EMBEDDED_REMOTE_PORT"] == 99
    tr = classify(res, host="server", layer=f"OUTBOUND_TRANSPORT_V{ver}")[0]
    assert tr.fields["IP_PROTOCOL"] == (1 if ver == 4 else 58)
    assert "port-unreachable" in stack_events(res, "client")


@pytest.mark.parametrize("ver", VERSIONS)
@pytest.mark.parametrize("layer", ["OUTBOUND_ICMP_ERROR", "INBOUND_IPPACKET_DISCARD"])
def test_udp_stealth(layer: str, ver: int) -> None:
    name = v([layer], ver)[0]
    pol = f'''
[host.policy]
[[host.policy.filter]]
key = "stealth"
layer = "{name}"
action = "block"
'''
    res = run(two_hosts(_udp(ver, 99, server=False), server_policy=pol))
    server = seq(res, "server")
    if layer == "OUTBOUND_ICMP_ERROR":
        assert server == v(["INBOUND_IPPACKET DATAGRAM", "INBOUND_IPPACKET_DISCARD DATAGRAM",
                            "OUTBOUND_ICMP_ERROR ICMP-ERROR", "OUTBOUND_ICMP_ERROR_DISCARD ICMP-ERROR"], ver)
    else:
        assert server == v(["INBOUND_IPPACKET DATAGRAM", "INBOUND_IPPACKET_DISCARD DATAGRAM"], ver)
    assert "icmp-error-suppressed" in stack_events(res, "server")
    assert not classify(res, host="client", packet="ICMP-ERROR")


def test_udp_idle_timeout_and_reauthorization() -> None:
    more = '''
[[step]]
do = "wait"
seconds = 61
[[step]]
do = "send"
socket = "cli"
to = "10.0.0.2:53"
[[step]]
host = "server"
do = "policy"
add = [ { key = "no-dns", layer = "ALE_AUTH_RECV_ACCEPT_V4", action = "block", condition = [ { field = "IP_LOCAL_PORT", value = 53 } ] } ]
[[step]]
do = "send"
socket = "cli"
to = "10.0.0.2:53"
[[step]]
do = "close"
socket = "cli"
'''
    res = run(two_hosts(_udp(4) + more))
    assert stack_events(res).count("flow-idle-timeout") == 2
    assert len(classify(res, host="client", layer="ALE_AUTH_CONNECT_V4")) == 2
    policy_seq = next(r.seq for r in res.records if r.kind == "policy")
    assert seq(res, "server", start=policy_seq) == [
        "INBOUND_IPPACKET_V4 DATAGRAM", "INBOUND_TRANSPORT_V4 DATAGRAM", "ALE_AUTH_RECV_ACCEPT_V4 DATAGRAM reauth",
        "ALE_AUTH_RECV_ACCEPT_V4_DISCARD DATAGRAM reauth",
    ]
    # the close: one closure per endpoint, one release per bind
    assert seq(res, "client")[-2:] == ["ALE_ENDPOINT_CLOSURE_V4 close", "ALE_RESOURCE_RELEASE_V4 close"]
    idle = [r for r in res.records if isinstance(r, StackRecord) and r.event == "flow-idle-timeout"]
    assert all(abs(r.t - 60.0) < 0.01 for r in idle)


@pytest.mark.parametrize("windows", ["vista", "win11"])
@pytest.mark.parametrize("ver", VERSIONS)
def test_udp_successful_reauth_sequence(ver: int, windows: str) -> None:
    more = f'''
[[step]]
host = "server"
do = "policy"
add = [ {{ key = "ok", layer = "ALE_AUTH_RECV_ACCEPT_V{ver}", action = "permit" }} ]
[[step]]
do = "send"
socket = "cli"
to = "{_dst(ver, 53)}"
'''
    res = run(two_hosts(_udp(ver) + more, windows=windows))
    policy_seq = next(r.seq for r in res.records if r.kind == "policy")
    assert seq(res, "server", start=policy_seq) == v([
        "INBOUND_IPPACKET DATAGRAM", "INBOUND_TRANSPORT DATAGRAM", "ALE_AUTH_RECV_ACCEPT DATAGRAM reauth",
        "DATAGRAM_DATA DATAGRAM",
    ], ver)


@pytest.mark.parametrize("ver", VERSIONS)
def test_ping(ver: int) -> None:
    to = "server" if ver == 4 else "fd00::2"
    res = run(two_hosts(f'''
[[step]]
host = "client"
do = "ping"
to = "{to}"
count = 2
'''))
    one_client = v([
        "ALE_AUTH_CONNECT ICMP", "ALE_FLOW_ESTABLISHED ICMP", "DATAGRAM_DATA ICMP", "OUTBOUND_TRANSPORT ICMP",
        "OUTBOUND_IPPACKET ICMP", "INBOUND_IPPACKET ICMP", "INBOUND_TRANSPORT ICMP", "DATAGRAM_DATA ICMP",
    ], ver)
    again_client = one_client[2:]
    assert seq(res, "client") == one_client + again_client
    one_server = v([
        "INBOUND_IPPACKET ICMP", "INBOUND_TRANSPORT ICMP", "ALE_AUTH_RECV_ACCEPT ICMP", "ALE_FLOW_ESTABLISHED ICMP",
        "DATAGRAM_DATA ICMP", "DATAGRAM_DATA ICMP", "OUTBOUND_TRANSPORT ICMP", "OUTBOUND_IPPACKET ICMP",
    ], ver)
    assert seq(res, "server") == one_server + one_server[:2] + one_server[4:]
    req = classify(res, host="client", layer=f"ALE_AUTH_CONNECT_V{ver}")[0]
    assert (req.fields["IP_LOCAL_PORT"], req.fields["IP_REMOTE_PORT"]) == ((8, 0) if ver == 4 else (128, 0))
    assert req.fields["IP_PROTOCOL"] == (1 if ver == 4 else 58)
    reply_in = classify(res, host="client", layer=f"DATAGRAM_DATA_V{ver}", direction="inbound")[0]
    assert reply_in.fields["IP_LOCAL_PORT"] == (0 if ver == 4 else 129)
    assert stack_events(res, "client").count("echo-reply-received") == 2


def test_ping_blocked_times_out() -> None:
    pol = '''
[host.policy]
[[host.policy.filter]]
key = "no-echo"
layer = "ALE_AUTH_RECV_ACCEPT_V4"
action = "block"
condition = [ { field = "ICMP_TYPE", value = 8 } ]
'''
    res = run(two_hosts('''
[[step]]
host = "client"
do = "ping"
to = "server"
''', server_policy=pol))
    assert seq(res, "server") == ["INBOUND_IPPACKET_V4 ICMP", "INBOUND_TRANSPORT_V4 ICMP",
                                  "ALE_AUTH_RECV_ACCEPT_V4 ICMP", "ALE_AUTH_RECV_ACCEPT_V4_DISCARD ICMP"]
    assert "ping-timeout" in stack_events(res, "client")
