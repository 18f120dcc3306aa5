"""Dual-stack sockets (issue 15 item 3; docs/decisions-engine.md "Dual-stack sockets").

An AF_INET6 socket with IPV6_V6ONLY = 0 (``dual_stack = true``): its IPv4 traffic is
classified at the V6 ALE layers with IPv4-mapped addresses (::ffff:a.b.c.d), its packet
layers (IPPACKET, TRANSPORT, STREAM, DATAGRAM_DATA) stay V4 ("Application Layer
Enforcement (ALE)" note; wfp-model.md §1.3, Q10). Layer sequences, values, verdicts,
deciding filters and stack records are asserted exactly.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.core._scen import classify, run, seq, stack_events, two_hosts
from wfptui.core.engine import run_scenario
from wfptui.core.sim.objects import v4_mapped
from wfptui.core.trace import ClassifyRecord, StackRecord
from wfptui.core.values import format_address, parse_address
from wfptui.io.scenario_file import load_scenario

ROOT = Path(__file__).resolve().parents[2]

_LISTEN_DUAL = '''
[[step]]
do = "listen"
host = "server"
app = "web"
port = 8080
dual_stack = true
socket = "srv"

[[step]]
do = "connect"
host = "client"
app = "browser"
to = "server:8080"
socket = "c"

[[step]]
do = "send"
socket = "c"
bytes = 100
'''

_MAPPED_POLICY = '''
[host.policy]
[[host.policy.filter]]
key = "v4-filter"
layer = "ALE_AUTH_RECV_ACCEPT_V4"
action = "block"
condition = [ { field = "IP_LOCAL_PORT", match = "equal", value = 8080 } ]

[[host.policy.filter]]
key = "mapped"
layer = "ALE_AUTH_RECV_ACCEPT_V6"
action = "permit"
condition = [ { field = "IP_REMOTE_ADDRESS", match = "equal", value = "::ffff:10.0.0.1" } ]
'''


def test_mapped_addresses_are_written_as_windows_writes_them() -> None:
    v, bits = parse_address("::ffff:10.0.0.2")
    assert (v, bits) == (v4_mapped(0x0A000002), 128)
    assert format_address(v, bits) == "::ffff:10.0.0.2"
    assert format_address(0xFFFF, 128) == "::ffff"  # not a mapped address
    assert format_address(0x0A000002, 32) == "10.0.0.2"


def test_server_sequence_v6_ale_v4_packets() -> None:
    r = run(two_hosts(_LISTEN_DUAL, server_policy=_MAPPED_POLICY))
    assert seq(r, "server") == [
        "ALE_BIND_REDIRECT_V6 bind", "ALE_RESOURCE_ASSIGNMENT_V6 bind", "ALE_AUTH_LISTEN_V6 listen",
        "INBOUND_IPPACKET_V4 SYN", "INBOUND_TRANSPORT_V4 SYN", "ALE_AUTH_RECV_ACCEPT_V6 SYN",
        "OUTBOUND_TRANSPORT_V4 SYN-ACK", "OUTBOUND_IPPACKET_V4 SYN-ACK",
        "INBOUND_IPPACKET_V4 ACK", "INBOUND_TRANSPORT_V4 ACK", "ALE_FLOW_ESTABLISHED_V6 ACK",
        "INBOUND_IPPACKET_V4 DATA", "INBOUND_TRANSPORT_V4 DATA", "STREAM_V4 DATA",
    ]
    # the client is an ordinary IPv4 socket: V4 everywhere
    assert all(name.split()[0].endswith("_V4") for name in seq(r, "client"))
    accept = classify(r, host="server", layer="ALE_AUTH_RECV_ACCEPT_V6")
    assert len(accept) == 1
    a = accept[0]
    # the IPv4 filter at V4 is never consulted; the filter on the mapped address decides
    assert (a.action, a.filter) == ("permit", "mapped")
    assert a.fields["IP_LOCAL_ADDRESS"] == "::ffff:10.0.0.2"
    assert a.fields["IP_REMOTE_ADDRESS"] == "::ffff:10.0.0.1"
    assert a.fields["IP_LOCAL_PORT"] == 8080
    assert not classify(r, host="server", filter="v4-filter")
    trans = classify(r, host="server", layer="INBOUND_TRANSPORT_V4", packet="SYN")[0]
    assert trans.fields["IP_LOCAL_ADDRESS"] == "10.0.0.2"
    assert trans.fields["IP_REMOTE_ADDRESS"] == "10.0.0.1"
    # the wildcard dual-stack bind: V6, unspecified local address (FWP_EMPTY), IS_WILDCARD_BIND
    ra = classify(r, host="server", layer="ALE_RESOURCE_ASSIGNMENT_V6")[0]
    assert ra.fields["IP_LOCAL_ADDRESS"] is None
    assert ra.fields["FLAGS"] == 0x8
    flows = [x.detail for x in r.records if isinstance(x, StackRecord) and x.event == "flow-created"]
    assert flows == ["outbound flow authorized at ALE_AUTH_CONNECT_V4",
                     "inbound flow authorized at ALE_AUTH_RECV_ACCEPT_V6"]
    assert stack_events(r, "server") == ["listening", "flow-created", "listen-completed", "data-delivered"]


def test_v6_only_listener_does_not_hear_ipv4() -> None:
    """Without ``dual_stack`` an IPv6 socket on ``::`` is IPv6-only (the Windows default):
    the IPv4 SYN finds no listener."""
    text = two_hosts(_LISTEN_DUAL.replace("dual_stack = true", 'address = "::"'))
    r = run(text)
    assert "no-listener" in stack_events(r, "server")
    assert not classify(r, host="server", packet="SYN", layer="ALE_AUTH_RECV_ACCEPT_V6")


def test_ipv4_filters_miss_the_dual_stack_socket() -> None:
    """The classic mistake: a block at ALE_AUTH_RECV_ACCEPT_V4 does not stop an IPv4 client
    of a dual-stack listener; the same block at V6 on the mapped address does."""
    v4_block = '''
[host.policy]
[[host.policy.filter]]
key = "block-v4"
layer = "ALE_AUTH_RECV_ACCEPT_V4"
action = "block"
condition = [ { field = "IP_REMOTE_ADDRESS", match = "equal", value = "10.0.0.1" } ]
'''
    r = run(two_hosts(_LISTEN_DUAL, server_policy=v4_block))
    assert "data-delivered" in stack_events(r, "server")
    v6_block = v4_block.replace("_V4", "_V6").replace('"10.0.0.1"', '"::ffff:10.0.0.1"')
    r = run(two_hosts(_LISTEN_DUAL, server_policy=v6_block))
    blocked = classify(r, host="server", layer="ALE_AUTH_RECV_ACCEPT_V6", packet="SYN")
    assert [(b.action, b.filter) for b in blocked] == [("block", "block-v4")] * 3  # SYN + 2 retransmissions
    assert stack_events(r, "server").count("connection-blocked") == 3
    assert "data-delivered" not in stack_events(r, "server")


def test_dual_stack_client_connects_to_ipv4() -> None:
    steps = '''
[[step]]
do = "listen"
host = "server"
app = "web"
port = 80
socket = "srv"

[[step]]
do = "connect"
host = "client"
app = "browser"
to = "[::ffff:10.0.0.2]:80"
dual_stack = true
socket = "c"

[[step]]
do = "close"
host = "client"
socket = "c"
'''
    r = run(two_hosts(steps))
    assert seq(r, "client") == [
        "ALE_BIND_REDIRECT_V6 bind", "ALE_RESOURCE_ASSIGNMENT_V6 bind", "ALE_CONNECT_REDIRECT_V6 connect",
        "ALE_AUTH_CONNECT_V6 connect", "OUTBOUND_TRANSPORT_V4 SYN", "OUTBOUND_IPPACKET_V4 SYN",
        "INBOUND_IPPACKET_V4 SYN-ACK", "INBOUND_TRANSPORT_V4 SYN-ACK", "ALE_FLOW_ESTABLISHED_V6 ACK",
        "OUTBOUND_TRANSPORT_V4 ACK", "OUTBOUND_IPPACKET_V4 ACK",
        "ALE_ENDPOINT_CLOSURE_V6 close", "ALE_RESOURCE_RELEASE_V6 close",
    ]
    conn = classify(r, host="client", layer="ALE_AUTH_CONNECT_V6")[0]
    assert conn.fields["IP_REMOTE_ADDRESS"] == "::ffff:10.0.0.2"
    assert conn.fields["IP_LOCAL_ADDRESS"] == "::ffff:10.0.0.1"
    closure = classify(r, host="client", layer="ALE_ENDPOINT_CLOSURE_V6")[0]
    assert closure.fields["IP_REMOTE_ADDRESS"] == "::ffff:10.0.0.2"
    # the server is an IPv4 socket: V4 everywhere
    assert all(name.split()[0].endswith("_V4") for name in seq(r, "server"))


def test_dual_stack_port_is_taken_in_both_families() -> None:
    steps = _LISTEN_DUAL + '''
[[step]]
do = "listen"
host = "server"
app = "web"
port = 8080
socket = "v4"
'''
    r = run(two_hosts(steps))
    failed = [x for x in r.records if isinstance(x, StackRecord) and x.event == "bind-failed"]
    assert [f.detail for f in failed] == ["port 8080 in use (WSAEADDRINUSE)"]


def test_dual_stack_udp_receives_and_answers_over_ipv4() -> None:
    steps = '''
[[step]]
do = "bind"
host = "server"
proto = "udp"
app = "web"
port = 53
dual_stack = true
socket = "u"

[[step]]
do = "connect"
host = "client"
proto = "udp"
app = "browser"
to = "server:53"
socket = "q"

[[step]]
do = "send"
socket = "q"

[[step]]
do = "send"
socket = "u"
'''
    r = run(two_hosts(steps))
    assert seq(r, "server") == [
        "ALE_BIND_REDIRECT_V6 bind", "ALE_RESOURCE_ASSIGNMENT_V6 bind",
        "INBOUND_IPPACKET_V4 DATAGRAM", "INBOUND_TRANSPORT_V4 DATAGRAM", "ALE_AUTH_RECV_ACCEPT_V6 DATAGRAM",
        "ALE_FLOW_ESTABLISHED_V6 DATAGRAM", "DATAGRAM_DATA_V4 DATAGRAM",
        "DATAGRAM_DATA_V4 DATAGRAM", "OUTBOUND_TRANSPORT_V4 DATAGRAM", "OUTBOUND_IPPACKET_V4 DATAGRAM",
    ]
    acc = classify(r, host="server", layer="ALE_AUTH_RECV_ACCEPT_V6")[0]
    assert acc.fields["IP_REMOTE_ADDRESS"] == "::ffff:10.0.0.1"
    out = classify(r, host="server", layer="OUTBOUND_IPPACKET_V4")[0]
    assert out.fields["IP_REMOTE_ADDRESS"] == "10.0.0.1"
    assert stack_events(r, "client").count("datagram-delivered") == 1


def test_dual_stack_flow_reauthorizes_at_v6() -> None:
    """A policy change at ALE_AUTH_RECV_ACCEPT_V6 reauthorizes the dual-stack socket's IPv4
    flow (authorized there); one at V4 does not."""
    steps = _LISTEN_DUAL + '''
[[step]]
do = "policy"
host = "server"
add = [ { key = "v4", layer = "ALE_AUTH_RECV_ACCEPT_V4", action = "block" } ]

[[step]]
do = "send"
socket = "c"
bytes = 100

[[step]]
do = "policy"
host = "server"
add = [ { key = "v6", layer = "ALE_AUTH_RECV_ACCEPT_V6", action = "block" } ]

[[step]]
do = "send"
socket = "c"
bytes = 100
'''
    r = run(two_hosts(steps))
    re = [x for x in r.records if isinstance(x, ClassifyRecord) and x.reauth]
    assert [(x.layer, x.packet, x.action, x.filter) for x in re] == [
        ("ALE_AUTH_RECV_ACCEPT_V6", "DATA", "block", "v6"), ("ALE_AUTH_RECV_ACCEPT_V6_DISCARD", "DATA", "none", None)]
    assert re[0].fields["IP_REMOTE_ADDRESS"] == "::ffff:10.0.0.1"
    assert re[0].fields["FLAGS"] == 0x4  # IS_REAUTHORIZE
    assert stack_events(r, "server").count("data-delivered") == 2


@pytest.mark.parametrize("windows", ["vista", "win7"])
def test_dual_stack_on_older_windows(windows: str) -> None:
    r = run(two_hosts(_LISTEN_DUAL, windows=windows))
    layers = [s.split()[0] for s in seq(r, "server")]
    assert "ALE_AUTH_RECV_ACCEPT_V6" in layers and "ALE_AUTH_LISTEN_V6" in layers
    assert ("ALE_BIND_REDIRECT_V6" in layers) == (windows != "vista")
    assert not any(name.startswith("ALE_") and name.endswith("_V4") for name in layers)


def test_scenario_file_expectations_pass() -> None:
    r = run_scenario(load_scenario(ROOT / "scenarios" / "dual-stack.toml"))
    assert r.ok and len(r.expects) == 13


def test_listener_on_a_mapped_address_hears_only_that_ipv4_address() -> None:
    policy = '''
[host.policy]
[[host.policy.filter]]
key = "mapped-net"
layer = "ALE_AUTH_RECV_ACCEPT_V6"
action = "permit"
condition = [ { field = "IP_REMOTE_ADDRESS", match = "equal", value = "::ffff:10.0.0.0/104" } ]
'''
    steps = _LISTEN_DUAL.replace("dual_stack = true", 'dual_stack = true\naddress = "::ffff:10.0.0.2"') + '''
[[step]]
do = "connect"
host = "client"
app = "browser"
to = "[fd00::2]:8080"
socket = "c6"
'''
    r = run(two_hosts(steps, server_policy=policy))
    ra = classify(r, host="server", layer="ALE_RESOURCE_ASSIGNMENT_V6")[0]
    assert (ra.fields["IP_LOCAL_ADDRESS"], ra.fields["FLAGS"]) == ("::ffff:10.0.0.2", 0)
    acc = classify(r, host="server", layer="ALE_AUTH_RECV_ACCEPT_V6", packet="SYN")
    # the IPv4 client matches the mapped network; the IPv6 client finds no listener
    assert [(a.fields["IP_REMOTE_ADDRESS"], a.action, a.filter) for a in acc] == [
        ("::ffff:10.0.0.1", "permit", "mapped-net")]
    assert stack_events(r, "server").count("no-listener") == 1
