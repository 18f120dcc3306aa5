"""Wildcard binds and received ICMP errors, where Microsoft's pages disagree with each
other (decisions in docs/decisions-engine.md, "Wildcard binds" and "ICMP errors"):

* IS_WILDCARD_BIND at RESOURCE_ASSIGNMENT for a port-0 bind ("ALE Layers") *and* for a
  wildcard local address ("Filtering Condition Flags");
* an unspecified local address is FWP_EMPTY at RESOURCE_ASSIGNMENT and AUTH_LISTEN;
* a received ICMP error: INBOUND_IPPACKET then INBOUND_ICMP_ERROR, no INBOUND_TRANSPORT; a
  sent one: OUTBOUND_ICMP_ERROR, OUTBOUND_TRANSPORT, OUTBOUND_IPPACKET ("UDP Packet Flows").
"""

from __future__ import annotations

import pytest

from tests.core._scen import classify, run, seq, stack_events, two_hosts

F_WILDCARD = 0x8


def _listen(address: str | None, port: int | None, do: str = "listen") -> str:
    return "\n".join(filter(None, [
        "[[step]]", 'host = "server"', f'do = "{do}"', 'socket = "srv"',
        None if address is None else f'address = "{address}"', None if port is None else f"port = {port}",
    ])) + "\n"


@pytest.mark.parametrize(("address", "port", "empty", "flag"), [
    ("0.0.0.0", 80, True, True),     # wildcard address
    ("10.0.0.2", 80, False, False),  # both given
    ("10.0.0.2", None, False, True),  # port 0
    (None, 80, False, False),        # no address: the host's first one (spec §4)
])
def test_listen_local_address_and_wildcard_flag(address: str | None, port: int | None, empty: bool,
                                                flag: bool) -> None:
    res = run(two_hosts(_listen(address, port)))
    assert seq(res, "server") == ["ALE_BIND_REDIRECT_V4 bind", "ALE_RESOURCE_ASSIGNMENT_V4 bind",
                                  "ALE_AUTH_LISTEN_V4 listen"]
    ra = classify(res, host="server", layer="ALE_RESOURCE_ASSIGNMENT_V4")[0]
    listen = classify(res, host="server", layer="ALE_AUTH_LISTEN_V4")[0]
    for rec in (ra, listen):
        assert (rec.fields.get("IP_LOCAL_ADDRESS") is None) == empty  # FWP_EMPTY
    assert bool(ra.fields["FLAGS"] & F_WILDCARD) == flag
    assert listen.fields["FLAGS"] & F_WILDCARD == 0  # a RESOURCE_ASSIGNMENT flag


def test_wildcard_listener_accepts() -> None:
    res = run(two_hosts(_listen("0.0.0.0", 80) + '''
[[step]]
host = "client"
do = "connect"
to = "server:80"
socket = "c1"
'''))
    assert "listen-completed" in stack_events(res, "server")
    rec = classify(res, host="server", layer="ALE_AUTH_RECV_ACCEPT_V4")[0]
    assert rec.fields["IP_LOCAL_ADDRESS"] == "10.0.0.2"  # the connection has the real address


def test_udp_bind_without_port_is_a_wildcard_bind() -> None:
    res = run(two_hosts(_listen("10.0.0.2", None, do="bind")))
    ra = classify(res, host="server", layer="ALE_RESOURCE_ASSIGNMENT_V4")[0]
    assert ra.fields["IP_LOCAL_ADDRESS"] == "10.0.0.2" and ra.fields["FLAGS"] == F_WILDCARD
    assert ra.fields["IP_LOCAL_PORT"] == 49152


def test_icmp_error_sent_through_transport_received_without() -> None:
    res = run(two_hosts('''
[[step]]
host = "client"
do = "bind"
port = 5000
socket = "u"
[[step]]
do = "send"
socket = "u"
to = "server:53"
bytes = 10
'''))
    assert seq(res, "server") == [
        "INBOUND_IPPACKET_V4 DATAGRAM", "INBOUND_IPPACKET_V4_DISCARD DATAGRAM",
        "OUTBOUND_ICMP_ERROR_V4 ICMP-ERROR", "OUTBOUND_TRANSPORT_V4 ICMP-ERROR", "OUTBOUND_IPPACKET_V4 ICMP-ERROR",
    ]
    assert seq(res, "client")[-2:] == ["INBOUND_IPPACKET_V4 ICMP-ERROR", "INBOUND_ICMP_ERROR_V4 ICMP-ERROR"]
    err = classify(res, host="client", layer="INBOUND_ICMP_ERROR_V4")[0]
    assert (err.fields["EMBEDDED_PROTOCOL"], err.fields["EMBEDDED_LOCAL_PORT"], err.fields["EMBEDDED_REMOTE_PORT"]) \
        == (17, 5000, 53)


def test_explain_shows_the_choice_at_the_layers_it_concerns() -> None:
    from wfptui.core.arbitration import compile_policy
    from wfptui.core.explain import explain_text, model_note
    from wfptui.core.scenario import empty_policy

    for layer in ("ALE_RESOURCE_ASSIGNMENT_V4", "ALE_AUTH_LISTEN_V6", "INBOUND_ICMP_ERROR_V4_DISCARD",
                  "OUTBOUND_ICMP_ERROR_V6"):
        assert model_note(layer) is not None
    assert model_note("ALE_AUTH_CONNECT_V4") is None
    text = explain_text(compile_policy(empty_policy()).classify("ALE_RESOURCE_ASSIGNMENT_V4", {}), {})
    assert "IS_WILDCARD_BIND is set for a port-0 bind and for a wildcard local address" in text
