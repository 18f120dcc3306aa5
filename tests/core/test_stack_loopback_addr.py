"""Loopback addresses exist on every host (127.0.0.0/8, ::1) without being listed:
traffic to them never leaves the host, and sockets on them are on the software-loopback
interface (index 1, IF_TYPE_SOFTWARE_LOOPBACK = 24) with IS_LOOPBACK where the layer
carries that flag (decisions-engine.md, "Loopback")."""

from __future__ import annotations

import pytest

from tests.core._scen import classify, run, seq, stack_events

TEXT = '''
name = "lo"
[[host]]
name = "box"
address = ["10.0.0.5"]
app = [ {{ name = "web", path = 'C:\\srv\\web.exe' }} ]

[[host]]
name = "other"
address = ["10.0.0.6"]

[[step]]
host = "box"
do = "listen"
app = "web"
port = 8080
address = "{lo}"
socket = "srv"

[[step]]
host = "{client}"
do = "connect"
to = "{to}"
socket = "c1"
'''


@pytest.mark.parametrize(("ver", "lo", "to"), [(4, "127.0.0.1", "127.0.0.1:8080"), (6, "::1", "[::1]:8080")])
def test_connect_to_unlisted_loopback_address(ver: int, lo: str, to: str) -> None:
    res = run(TEXT.format(lo=lo, client="box", to=to))
    assert seq(res, "box") == [f"{n}_V{ver} {w}" for n, w in [
        ("ALE_BIND_REDIRECT", "bind"), ("ALE_RESOURCE_ASSIGNMENT", "bind"), ("ALE_AUTH_LISTEN", "listen"),
        ("ALE_BIND_REDIRECT", "bind"), ("ALE_RESOURCE_ASSIGNMENT", "bind"), ("ALE_CONNECT_REDIRECT", "connect"),
        ("ALE_AUTH_CONNECT", "connect"), ("OUTBOUND_TRANSPORT", "SYN"), ("OUTBOUND_IPPACKET", "SYN"),
        ("INBOUND_IPPACKET", "SYN"), ("INBOUND_TRANSPORT", "SYN"), ("ALE_AUTH_RECV_ACCEPT", "SYN"),
        ("OUTBOUND_TRANSPORT", "SYN-ACK"), ("OUTBOUND_IPPACKET", "SYN-ACK"),
        ("INBOUND_IPPACKET", "SYN-ACK"), ("INBOUND_TRANSPORT", "SYN-ACK"), ("ALE_FLOW_ESTABLISHED", "ACK"),
        ("OUTBOUND_TRANSPORT", "ACK"), ("OUTBOUND_IPPACKET", "ACK"),
        ("INBOUND_IPPACKET", "ACK"), ("INBOUND_TRANSPORT", "ACK"), ("ALE_FLOW_ESTABLISHED", "ACK"),
    ]]
    assert "listen-completed" in stack_events(res, "box")
    v = f"_V{ver}"
    # the listener bound to loopback: software-loopback interface (no IS_LOOPBACK at bind layers)
    ra = classify(res, host="box", layer="ALE_RESOURCE_ASSIGNMENT" + v)[0]
    assert ra.fields["INTERFACE_TYPE"] == 24 and ra.fields["IP_LOCAL_INTERFACE"] == 24 << 48 | 1 << 24
    for layer in ("ALE_AUTH_CONNECT", "ALE_AUTH_RECV_ACCEPT", "INBOUND_TRANSPORT", "ALE_FLOW_ESTABLISHED"):
        for rec in classify(res, host="box", layer=layer + v):
            assert rec.fields["FLAGS"] & 0x1, layer  # IS_LOOPBACK
            assert rec.fields["INTERFACE_TYPE"] == 24, layer


def test_other_hosts_loopback_is_its_own() -> None:
    """127.0.0.1 from another host is that host's loopback: nothing reaches ``box``."""
    res = run(TEXT.format(lo="127.0.0.1", client="other", to="127.0.0.1:8080"))
    assert seq(res, "box") == ["ALE_BIND_REDIRECT_V4 bind", "ALE_RESOURCE_ASSIGNMENT_V4 bind",
                               "ALE_AUTH_LISTEN_V4 listen"]
    assert "INBOUND_TRANSPORT_V4_DISCARD SYN" in seq(res, "other")
    assert "connection-refused" in stack_events(res, "other")
    assert "packet-lost" not in stack_events(res)
