"""The layer-sequence table (core.sim.sequences) is what the traversal walks.

The rows are data a reader holds against Microsoft's pages; these tests check that a run's
classifications are exactly the rows the table gives, in order (TCP and UDP, Windows 11
and Vista, IPv4 and IPv6), that the Vista rows are the default rows without the Windows 7
layers, and that every step kind has a handler in the step table.
"""

from __future__ import annotations

import pytest

from tests.core._scen import run, scenario, two_hosts
from wfptui.core.datatypes import WinVersion
from wfptui.core.events import layer_family
from wfptui.core.layers import get_layer
from wfptui.core.scenario import OBSERVE, STEP_KINDS
from wfptui.core.sim import ROWS, Network
from wfptui.core.sim.sequences import row_for, stages
from wfptui.core.trace import ClassifyRecord, StackRecord

OUT, IN = "outbound", "inbound"


def _row(protocol: str, event: str, direction: str | None, windows: str) -> tuple[str, ...]:
    return row_for((protocol, event, direction), WinVersion.parse(windows)).layers


def _layers(text: str, host: str, *, until: str | None = None, packet: str | None = None) -> list[str]:
    """Layer families of ``host``'s classifications, in order, up to the first stack record
    ``until`` on that host (packet: only those records, or socket operations)."""
    out = []
    for r in run(text).records:
        if isinstance(r, StackRecord) and r.host == host and r.event == until:
            break
        if isinstance(r, ClassifyRecord) and r.host == host and (packet is None or r.packet in (packet, None)):
            name = r.layer
            out.append(layer_family(name) + ("_DISCARD" if name.endswith("_DISCARD") else ""))
    return out


_CONNECT = '''
[[step]]
do = "listen"
host = "server"
app = "web"
port = 80
socket = "l"

[[step]]
do = "connect"
host = "client"
app = "browser"
to = "{to}"
socket = "c"
'''


@pytest.mark.parametrize("windows", ["win11", "win7", "vista"])
@pytest.mark.parametrize("to", ["server:80", "[fd00::2]:80"])
def test_the_client_first_syn_walks_the_table_rows(windows: str, to: str) -> None:
    """TCP active open (§2.2): bind, connect-redirect, connect, the SYN (ip send)."""
    want = [*_row("tcp", "bind", None, windows), *_row("tcp", "connect-redirect", OUT, windows),
            *_row("tcp", "connect", OUT, windows), *_row("ip", "send", OUT, windows)]
    got = _layers(two_hosts(_CONNECT.format(to=to), windows=windows), "client", packet="SYN")
    assert got == want
    if windows == "win11":  # the row as "TCP Packet Flows" lists it (§2.2, active open 1-6)
        assert got == ["ALE_BIND_REDIRECT", "ALE_RESOURCE_ASSIGNMENT", "ALE_CONNECT_REDIRECT", "ALE_AUTH_CONNECT",
                       "OUTBOUND_TRANSPORT", "OUTBOUND_IPPACKET"]
    else:
        assert ("ALE_CONNECT_REDIRECT" in got) == (windows != "vista")


@pytest.mark.parametrize("windows", ["win11", "vista"])
def test_the_server_syn_and_ack_walk_the_table_rows(windows: str) -> None:
    """Passive open, SYN received (receive, accept, SYN-ACK out), ACK received (receive, established)."""
    got = _layers(two_hosts(_CONNECT.format(to="server:80"), windows=windows), "server")
    want = [*_row("tcp", "bind", None, windows), *_row("tcp", "listen", None, windows),
            *_row("tcp", "receive", IN, windows), *_row("tcp", "accept", IN, windows),
            *_row("ip", "send", OUT, windows),
            *_row("tcp", "receive", IN, windows), *_row("tcp", "established", IN, windows)]
    assert got == want


def test_udp_to_a_closed_port_walks_the_no_listener_rows() -> None:
    """§2.3: IN_IPPACKET, IN_IPPACKET_DISCARD, then the ICMP error's OUT_ICMP_ERROR, OUT_TRANSPORT, OUT_IPPACKET."""
    steps = '''
[[step]]
do = "connect"
proto = "udp"
host = "client"
app = "browser"
to = "server:53"
socket = "u"

[[step]]
do = "send"
socket = "u"
'''
    got = _layers(two_hosts(steps), "server")
    assert got == [*_row("udp", "no-listener", IN, "win11"), *_row("udp", "port-unreachable", OUT, "win11")]
    assert got == ["INBOUND_IPPACKET", "INBOUND_IPPACKET_DISCARD", "OUTBOUND_ICMP_ERROR", "OUTBOUND_TRANSPORT",
                   "OUTBOUND_IPPACKET"]


def test_vista_rows_are_the_default_rows_without_win7_layers() -> None:
    keys = {(r.protocol, r.event, r.direction) for r in ROWS}
    for key in keys:
        default = row_for(key, WinVersion.WIN11).layers
        older = tuple(f for f in default if get_layer(f"{f.removesuffix('_DISCARD')}_V4").since <= WinVersion.VISTA)
        assert row_for(key, WinVersion.VISTA).layers == older, key


def test_every_row_resolves_on_every_version_and_ip_version() -> None:
    for windows in WinVersion:
        for bits in (32, 128):
            table = stages(windows, bits)
            assert len(table) == len({(r.protocol, r.event, r.direction) for r in ROWS})
            for stage in table.values():
                assert all(layer.ip_version == (4 if bits == 32 else 6) for layer in stage.layers)


def test_every_row_cites_its_source() -> None:
    assert all(r.source.strip() for r in ROWS)


def test_every_step_kind_has_a_handler() -> None:
    net = Network(scenario(two_hosts("")))
    assert set(net.steps) == {*STEP_KINDS, OBSERVE}
