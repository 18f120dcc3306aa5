"""Reclassification of existing binds and listeners (issue 15 item 4; docs/decisions-engine.md
"Reclassification (issue 15)").

A policy change at ALE_RESOURCE_ASSIGNMENT / ALE_AUTH_LISTEN classifies the host's existing
listeners and UDP binds again, at the change, with FWP_CONDITION_FLAG_IS_RECLASSIFY (0x20000,
Windows 7 and later, "Filtering Condition Flags"); a block revokes the endpoint. Vista has no
IS_RECLASSIFY: nothing is reclassified there.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.core._scen import classify, run, scenario, seq, stack_events, two_hosts
from wfptui.core.engine import RunResult, drive, run_network, run_scenario
from wfptui.core.fields import ConditionFlag
from wfptui.core.sim import Network
from wfptui.core.trace import ClassifyRecord, NetEventRecord, PolicyRecord, StackRecord
from wfptui.io.scenario_file import load_scenario

ROOT = Path(__file__).resolve().parents[2]

_LISTEN = '''
[[step]]
do = "listen"
host = "server"
app = "web"
port = 80
address = "{addr}"
socket = "srv"

[[step]]
do = "connect"
host = "client"
app = "browser"
to = "{to}"
socket = "c1"
'''

_BLOCK_LISTEN = '''
[[step]]
do = "policy"
host = "server"
add = [ {{ key = "no-listen", layer = "ALE_AUTH_LISTEN_V{v}", action = "block" }} ]

[[step]]
do = "send"
socket = "c1"
bytes = 100

[[step]]
do = "connect"
host = "client"
app = "browser"
to = "{to}"
socket = "c2"
'''


def test_flag_value() -> None:
    assert ConditionFlag.IS_RECLASSIFY == 0x20000


@pytest.mark.parametrize(("to", "v"), [("server:80", 4), ("[fd00::2]:80", 6)])
def test_blocked_listener_is_revoked_at_the_change(to: str, v: int) -> None:
    r = run(two_hosts(_LISTEN.format(to=to, addr="10.0.0.2" if v == 4 else "fd00::2") + _BLOCK_LISTEN.format(v=v, to=to)))
    pol = next(x for x in r.records if isinstance(x, PolicyRecord))
    after = [x for x in r.records if x.seq > pol.seq and x.host == "server"]
    # at the change, before any packet: the summary, the listen again (IS_RECLASSIFY), its
    # discard twin, the revocation
    assert isinstance(after[0], StackRecord) and after[0].event == "endpoints-reclassified"
    assert after[0].data == {"sockets": ["srv"]}
    rec = [x for x in after[1:5] if isinstance(x, ClassifyRecord)]
    assert [(x.layer, x.op, x.reauth, x.action, x.filter) for x in rec] == [
        (f"ALE_AUTH_LISTEN_V{v}", "listen", True, "block", "no-listen"),
        (f"ALE_AUTH_LISTEN_V{v}_DISCARD", "listen", True, "none", None)]
    assert rec[0].fields["FLAGS"] == ConditionFlag.IS_RECLASSIFY
    assert rec[0].fields["IP_LOCAL_PORT"] == 80
    drops = [x for x in after if isinstance(x, NetEventRecord)]
    assert drops[0].data["reauthReason"] == 0  # a reclassification is not a flow reauthorization
    revoked = [x for x in after if isinstance(x, StackRecord) and x.event == "endpoint-revoked"]
    assert [x.detail for x in revoked] == [
        f"reclassification blocked at ALE_AUTH_LISTEN_V{v}: new connections are refused; accepted connections stay"]
    # the accepted connection stays (its flow is authorized at RECV_ACCEPT, unchanged) ...
    assert stack_events(r, "server").count("data-delivered") == 1
    assert not classify(r, host="server", layer=f"ALE_AUTH_RECV_ACCEPT_V{v}", reauth=True)
    # ... a new one finds no listener: RST, refused
    assert "no-listener" in stack_events(r, "server")
    assert "connection-refused" in stack_events(r, "client")


def test_permitted_reclassification_keeps_listening() -> None:
    steps = _LISTEN.format(to="server:80", addr="10.0.0.2") + '''
[[step]]
do = "policy"
host = "server"
add = [ { key = "other-port", layer = "ALE_AUTH_LISTEN_V4", action = "block", condition = [ { field = "IP_LOCAL_PORT", match = "equal", value = 81 } ] } ]

[[step]]
do = "connect"
host = "client"
app = "browser"
to = "server:80"
socket = "c2"
'''
    r = run(two_hosts(steps))
    rec = classify(r, host="server", layer="ALE_AUTH_LISTEN_V4", reauth=True)
    assert [(x.action, x.filter, x.fields["FLAGS"]) for x in rec] == [("none", None, 0x20000)]
    assert stack_events(r, "server").count("listen-completed") == 2
    assert "endpoint-revoked" not in stack_events(r, "server")


def test_resource_assignment_change_reclassifies_binds_not_connections() -> None:
    """A change at RESOURCE_ASSIGNMENT reclassifies the listener (bind, then listen only if
    its AUTH_LISTEN changed too) and the UDP socket; the client's connected TCP socket (an
    implicit bind) is not reclassified (its traffic is governed by flow reauthorization)."""
    steps = _LISTEN.format(to="server:80", addr="10.0.0.2") + '''
[[step]]
do = "bind"
host = "server"
proto = "udp"
app = "web"
port = 53
socket = "u"

[[step]]
do = "policy"
host = "server"
add = [ { key = "no-udp", layer = "ALE_RESOURCE_ASSIGNMENT_V4", action = "block", condition = [ { field = "IP_PROTOCOL", match = "equal", value = 17 } ] } ]

[[step]]
do = "policy"
host = "client"
add = [ { key = "client-ra", layer = "ALE_RESOURCE_ASSIGNMENT_V4", action = "permit" } ]

[[step]]
do = "send"
socket = "u"
to = "client:9"
'''
    r = run(two_hosts(steps))
    pol = next(x for x in r.records if isinstance(x, PolicyRecord))
    assert seq(r, "server", start=pol.seq) == [
        "ALE_RESOURCE_ASSIGNMENT_V4 bind reauth",
        "ALE_RESOURCE_ASSIGNMENT_V4 bind reauth", "ALE_RESOURCE_ASSIGNMENT_V4_DISCARD bind reauth"]
    ra = classify(r, host="server", layer="ALE_RESOURCE_ASSIGNMENT_V4", reauth=True)
    assert [(x.action, x.filter, x.fields["IP_PROTOCOL"]) for x in ra] == [("none", None, 6), ("block", "no-udp", 17)]
    assert stack_events(r, "server")[-3:] == ["endpoints-reclassified", "endpoint-revoked", "send-failed"]
    # the client has no listener or UDP socket: nothing to reclassify
    assert not classify(r, host="client", reauth=True)
    assert "endpoints-reclassified" not in stack_events(r, "client")


def test_vista_reclassifies_nothing() -> None:
    text = two_hosts(_LISTEN.format(to="server:80", addr="10.0.0.2") + _BLOCK_LISTEN.format(v=4, to="server:80"), windows="vista")
    r = run(text)
    assert not classify(r, reauth=True)
    assert "endpoints-reclassified" not in stack_events(r)
    assert stack_events(r, "server").count("listen-completed") == 2


def test_closed_and_revoked_endpoints_are_not_reclassified() -> None:
    steps = _LISTEN.format(to="server:80", addr="10.0.0.2") + _BLOCK_LISTEN.format(v=4, to="server:80") + '''
[[step]]
do = "policy"
host = "server"
add = [ { key = "again", layer = "ALE_AUTH_LISTEN_V4", action = "permit", weight = 15 } ]

[[step]]
do = "close"
host = "server"
socket = "srv"
'''
    r = run(two_hosts(steps))
    assert len(classify(r, host="server", layer="ALE_AUTH_LISTEN_V4", reauth=True)) == 1
    # a revoked listener was a listen socket: its close indicates closure and release
    assert seq(r, "server")[-2:] == ["ALE_ENDPOINT_CLOSURE_V4 close", "ALE_RESOURCE_RELEASE_V4 close"]


def test_dual_stack_listener_reclassifies_at_v6() -> None:
    steps = '''
[[step]]
do = "listen"
host = "server"
app = "web"
port = 80
dual_stack = true
socket = "srv"

[[step]]
do = "policy"
host = "server"
add = [ { key = "v4-listen", layer = "ALE_AUTH_LISTEN_V4", action = "block" } ]

[[step]]
do = "policy"
host = "server"
add = [ { key = "v6-listen", layer = "ALE_AUTH_LISTEN_V6", action = "block" } ]
'''
    r = run(two_hosts(steps))
    rec = classify(r, host="server", reauth=True)
    assert [(x.layer, x.action, x.filter) for x in rec] == [
        ("ALE_AUTH_LISTEN_V6", "block", "v6-listen"), ("ALE_AUTH_LISTEN_V6_DISCARD", "none", None)]


def test_scenario_file_expectations_pass() -> None:
    r = run_scenario(load_scenario(ROOT / "scenarios" / "reclassify-listen.toml"))
    assert r.ok and len(r.expects) == 11


_RANDOM_LAYERS = ["ALE_AUTH_RECV_ACCEPT", "ALE_AUTH_CONNECT", "ALE_AUTH_LISTEN", "ALE_RESOURCE_ASSIGNMENT", "STREAM"]


def _step(**keys: object) -> str:
    return "[[step]]\n" + "\n".join(
        f"{k} = " + (f'"{v}"' if isinstance(v, str) and not v.startswith("[") else str(v).lower()
                     if isinstance(v, bool) else str(v)) for k, v in keys.items()) + "\n"


@st.composite
def _scenarios(draw: st.DrawFn) -> str:
    """Listeners (dual-stack or not), UDP binds, connects (dual-stack or not), sends, policy
    changes at the ALE layers (V4 and V6: reauthorization and reclassification), closes."""
    steps = [_step(do="listen", host="server", app="web", port=80, socket="l", dual_stack=draw(st.booleans())),
             _step(do="bind", host="server", proto="udp", app="web", port=53, socket="u",
                   dual_stack=draw(st.booleans()))]
    socks: list[str] = []
    for k in range(draw(st.integers(1, 10))):
        op = draw(st.sampled_from(["connect", "send", "policy", "policy", "close", "udp"]))
        if op == "connect" or not socks:
            steps.append(_step(do="connect", host="client", app="browser", to="server:80", socket=f"c{k}",
                               dual_stack=draw(st.booleans())))
            socks.append(f"c{k}")
        elif op == "send":
            steps.append(_step(do="send", socket=draw(st.sampled_from(socks)), bytes=100))
        elif op == "udp":
            steps.append(_step(do="send", socket="u", to="client:9"))
        elif op == "close":
            steps.append(_step(do="close", socket=draw(st.sampled_from([*socks, "l"]))))
        else:
            layer = draw(st.sampled_from(_RANDOM_LAYERS)) + draw(st.sampled_from(["_V4", "_V6"]))
            add = (f'[ {{ key = "p{k}", layer = "{layer}", action = "{draw(st.sampled_from(["permit", "block"]))}", '
                   f'weight = {draw(st.integers(0, 15))} }} ]')
            steps.append(_step(do="policy", host=draw(st.sampled_from(["client", "server"])), add=add))
    return two_hosts("\n".join(steps), windows=draw(st.sampled_from(["win11", "win7", "vista"])))


def _run_general(text: str, *, general: bool) -> RunResult:
    sc = scenario(text)
    net = Network(sc)
    if general:
        net.capture = []  # no row reuse: every classification taken again
    return drive(run_network(net, sc))


@settings(max_examples=60, deadline=None)
@given(_scenarios())
def test_memoized_rows_equal_the_general_path(text: str) -> None:
    """Dual-stack walks and reclassifications keep the row memo exact (test_trace_rows.py)."""
    fast, general = _run_general(text, general=False), _run_general(text, general=True)
    assert [r.to_dict() for r in fast.records] == [r.to_dict() for r in general.records]
    flags = [r.fields.get("FLAGS", 0) for r in fast.records if isinstance(r, ClassifyRecord) and r.reauth]
    for r in fast.records:  # IS_RECLASSIFY only on reclassified binds / listens, never on Vista
        if isinstance(r, ClassifyRecord) and isinstance(r.fields.get("FLAGS"), int):
            reclass = bool(r.fields["FLAGS"] & 0x20000)
            assert reclass == (r.reauth and ("RESOURCE_ASSIGNMENT" in r.layer or "AUTH_LISTEN" in r.layer))
    assert all(isinstance(f, int) for f in flags)

