"""Every scenario under scenarios/ (files with hosts; policy-only files are skipped) runs
and all its expectations hold; exact layer sequences for the key ones."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from wfptui.core.engine import run_scenario
from wfptui.core.trace import ClassifyRecord
from wfptui.io.scenario_file import load_builtin_scenario, load_scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"


def _scenario_files() -> list[Path]:
    out = []
    for p in sorted(SCENARIOS.rglob("*.toml")):
        try:
            doc = tomllib.loads(p.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            out.append(p)  # let the test report it
            continue
        if "host" in doc:
            out.append(p)
    return out


def _seq(path: str, host: str) -> list[str]:
    res = run_scenario(load_scenario(SCENARIOS / path))
    return [f"{r.layer} {r.packet or r.op}" for r in res.records if isinstance(r, ClassifyRecord) and r.host == host]


REQUIRED = ["tcp-connect", "tcp-no-listener", "tcp-stealth", "tcp-reauth-permit", "tcp-reauth-block",
            "udp-exchange", "udp-no-listener", "udp-stealth", "ipv6-tcp", "vista-host", "loopback", "ping",
            "three-hosts"]


def test_required_scenarios_exist() -> None:
    names = {p.stem for p in _scenario_files()}
    assert set(REQUIRED) <= names


@pytest.mark.parametrize("path", _scenario_files(), ids=lambda p: str(p.relative_to(SCENARIOS)))
def test_scenario_expectations_hold(path: Path) -> None:
    sc = load_scenario(path)
    res = run_scenario(sc)
    failed = [e.message for e in res.expects if not e.ok]
    assert not failed, failed
    if path.parent == SCENARIOS:
        assert sc.expects, "every scenario carries expectations"


def test_builtin_scenario_expectations_hold() -> None:
    res = run_scenario(load_builtin_scenario())
    assert res.ok, [e.message for e in res.expects if not e.ok]
    layers = {r.layer for r in res.records if isinstance(r, ClassifyRecord)}
    # every section of §2.2 shows up in one run
    assert {"ALE_AUTH_LISTEN_V4", "ALE_CONNECT_REDIRECT_V4", "ALE_AUTH_RECV_ACCEPT_V4", "ALE_FLOW_ESTABLISHED_V4",
            "STREAM_V4", "INBOUND_TRANSPORT_V4_DISCARD", "ALE_AUTH_RECV_ACCEPT_V4_DISCARD",
            "ALE_ENDPOINT_CLOSURE_V4", "ALE_RESOURCE_RELEASE_V4"} <= layers


def test_tcp_connect_sequences() -> None:
    assert _seq("tcp-connect.toml", "server")[:11] == [
        "ALE_BIND_REDIRECT_V4 bind", "ALE_RESOURCE_ASSIGNMENT_V4 bind", "ALE_AUTH_LISTEN_V4 listen",
        "INBOUND_IPPACKET_V4 SYN", "INBOUND_TRANSPORT_V4 SYN", "ALE_AUTH_RECV_ACCEPT_V4 SYN",
        "OUTBOUND_TRANSPORT_V4 SYN-ACK", "OUTBOUND_IPPACKET_V4 SYN-ACK",
        "INBOUND_IPPACKET_V4 ACK", "INBOUND_TRANSPORT_V4 ACK", "ALE_FLOW_ESTABLISHED_V4 ACK",
    ]


def test_tcp_no_listener_sequence() -> None:
    assert _seq("tcp-no-listener.toml", "server")[:4] == [
        "INBOUND_IPPACKET_V4 SYN", "INBOUND_TRANSPORT_V4_DISCARD SYN", "OUTBOUND_TRANSPORT_V4 RST",
        "OUTBOUND_IPPACKET_V4 RST",
    ]


def test_tcp_reauth_block_sequence() -> None:
    server = _seq("tcp-reauth-block.toml", "server")
    i = server.index("ALE_AUTH_RECV_ACCEPT_V4 DATA")
    assert server[i - 2:i + 2] == [
        "INBOUND_IPPACKET_V4 DATA", "INBOUND_TRANSPORT_V4 DATA", "ALE_AUTH_RECV_ACCEPT_V4 DATA",
        "ALE_AUTH_RECV_ACCEPT_V4_DISCARD DATA",
    ]


def test_udp_no_listener_sequence() -> None:
    assert _seq("udp-no-listener.toml", "server")[:5] == [
        "INBOUND_IPPACKET_V4 DATAGRAM", "INBOUND_IPPACKET_V4_DISCARD DATAGRAM", "OUTBOUND_ICMP_ERROR_V4 ICMP-ERROR",
        "OUTBOUND_TRANSPORT_V4 ICMP-ERROR", "OUTBOUND_IPPACKET_V4 ICMP-ERROR",
    ]


def test_ipv6_uses_v6_layers_only() -> None:
    assert all("_V6" in s for s in _seq("ipv6-tcp.toml", "client"))
