"""ALE endpoint lifetime after failures ("ALE Endpoint Lifetime Management",
learn.microsoft.com/windows-hardware/drivers/network/ale-endpoint-lifetime-management):
a RESOURCE_RELEASE for every RESOURCE_ASSIGNMENT indication and an ENDPOINT_CLOSURE for
every AUTH_CONNECT / RECV_ACCEPT indication of a TCP connection, whatever happened in
between — Windows 7 and later only (the layers do not exist on Vista)."""

from __future__ import annotations

import pytest

from tests.core._scen import classify, run, seq, stack_events, two_hosts
from wfptui.core.engine import RunResult

LISTEN = '''
[[step]]
host = "server"
do = "listen"
app = "web"
port = 80
address = "10.0.0.2"
socket = "srv"
'''
CONNECT = '''
[[step]]
host = "client"
do = "connect"
app = "browser"
to = "server:{port}"
socket = "c1"
'''
CLOSE = '''
[[step]]
host = "{host}"
do = "close"
socket = "{sock}"
'''


def _policy(key: str, layer: str) -> str:
    return f'''
[host.policy]
[[host.policy.filter]]
key = "{key}"
layer = "{layer}"
action = "block"
'''


def _after_last_step(res: RunResult, host: str) -> list[str]:
    """The host's classifications from its last ``close`` on."""
    names = seq(res, host)
    i = max(i for i, n in enumerate(names) if not n.endswith(" close")) + 1
    return names[i:]


@pytest.mark.parametrize("windows", ["win7", "win11"])
def test_connect_blocked_at_auth_connect_then_close(windows: str) -> None:
    res = run(two_hosts(LISTEN + CONNECT.format(port=80) + CLOSE.format(host="client", sock="c1"),
                        windows=windows, client_policy=_policy("no-out", "ALE_AUTH_CONNECT_V4")))
    assert seq(res, "client") == [
        "ALE_BIND_REDIRECT_V4 bind", "ALE_RESOURCE_ASSIGNMENT_V4 bind", "ALE_CONNECT_REDIRECT_V4 connect",
        "ALE_AUTH_CONNECT_V4 connect", "ALE_AUTH_CONNECT_V4_DISCARD connect",
        "ALE_ENDPOINT_CLOSURE_V4 close", "ALE_RESOURCE_RELEASE_V4 close",
    ]
    blocked = classify(res, host="client", layer="ALE_AUTH_CONNECT_V4")[0]
    closure = classify(res, host="client", layer="ALE_ENDPOINT_CLOSURE_V4")[0]
    assert blocked.action == "block" and closure.action != "block"
    assert closure.flow == blocked.flow  # the attempted flow's endpoint
    assert stack_events(res, "client")[-2:] == ["connect-failed", "closed"]


def test_connect_refused_by_rst_then_close() -> None:
    res = run(two_hosts(CONNECT.format(port=81) + CLOSE.format(host="client", sock="c1")))
    assert "connection-refused" in stack_events(res, "client")
    assert _after_last_step(res, "client") == ["ALE_ENDPOINT_CLOSURE_V4 close", "ALE_RESOURCE_RELEASE_V4 close"]


def test_reset_after_blocked_reauthorization_then_close_both_ends() -> None:
    steps = LISTEN + CONNECT.format(port=80) + '''
[[step]]
host = "server"
do = "policy"
add = [ { key = "no", layer = "ALE_AUTH_RECV_ACCEPT_V4", action = "block" } ]
[[step]]
do = "send"
socket = "c1"
bytes = 100
[[step]]
do = "send"
socket = "c1"
bytes = 100
''' + CLOSE.format(host="client", sock="c1") + CLOSE.format(host="server", sock="srv#1") + \
        CLOSE.format(host="server", sock="srv")
    res = run(two_hosts(steps))
    assert "connection-aborted" in stack_events(res, "server")
    assert "connection-reset" in stack_events(res, "client")
    assert _after_last_step(res, "client") == ["ALE_ENDPOINT_CLOSURE_V4 close", "ALE_RESOURCE_RELEASE_V4 close"]
    # The aborted accepted connection srv#1: a closure (RECV_ACCEPT indication, no
    # RESOURCE_ASSIGNMENT); the listener: a closure and a release.
    server = seq(res, "server")
    assert server.count("ALE_ENDPOINT_CLOSURE_V4 close") == 2
    assert server.count("ALE_RESOURCE_RELEASE_V4 close") == 1


@pytest.mark.parametrize("windows", ["win7", "win11"])
def test_listen_blocked_then_close_releases_only(windows: str) -> None:
    res = run(two_hosts(LISTEN + CLOSE.format(host="server", sock="srv"), windows=windows,
                        server_policy=_policy("no-listen", "ALE_AUTH_LISTEN_V4")))
    assert seq(res, "server") == [
        "ALE_BIND_REDIRECT_V4 bind", "ALE_RESOURCE_ASSIGNMENT_V4 bind", "ALE_AUTH_LISTEN_V4 listen",
        "ALE_AUTH_LISTEN_V4_DISCARD listen", "ALE_RESOURCE_RELEASE_V4 close",
    ]


def test_bind_blocked_at_resource_assignment_then_close_releases() -> None:
    res = run(two_hosts(LISTEN + CLOSE.format(host="server", sock="srv"),
                        server_policy=_policy("no-bind", "ALE_RESOURCE_ASSIGNMENT_V4")))
    assert seq(res, "server") == [
        "ALE_BIND_REDIRECT_V4 bind", "ALE_RESOURCE_ASSIGNMENT_V4 bind", "ALE_RESOURCE_ASSIGNMENT_V4_DISCARD bind",
        "ALE_RESOURCE_RELEASE_V4 close",
    ]


def test_vista_has_neither_layer() -> None:
    res = run(two_hosts(CONNECT.format(port=81) + CLOSE.format(host="client", sock="c1"), windows="vista"))
    assert not [n for n in seq(res, "client") if n.endswith(" close")]


def test_close_twice_is_reported_once() -> None:
    res = run(two_hosts(CONNECT.format(port=81) + CLOSE.format(host="client", sock="c1") * 2))
    assert seq(res, "client").count("ALE_RESOURCE_RELEASE_V4 close") == 1
    assert stack_events(res, "client")[-1] == "close"
