"""Hosts with more than one interface (a VPN tunnel beside the NIC) and connect's local
``address``: every classification carries the interface of its local address."""

from __future__ import annotations

from pathlib import Path

from tests.core._scen import run, scenario
from wfptui.core.scenario import HostSpec, InterfaceSpec
from wfptui.core.trace import ClassifyRecord

ROOT = Path(__file__).resolve().parents[2]
TUNNEL_LUID = 0x0035000001000000

TEXT = f'''
name = "two interfaces"
[[host]]
name = "laptop"
address = ["192.168.1.10", "10.66.66.2"]
app = [ {{ name = "b", path = 'C:\\b.exe' }} ]
interface = [ {{ index = 12, type = 71 }}, {{ index = 31, type = 53, luid = {TUNNEL_LUID}, address = "10.66.66.2" }} ]
[[host]]
name = "srv"
address = ["203.0.113.5", "10.66.66.1"]
[[step]]
host = "srv"
do = "listen"
port = 443
address = "0.0.0.0"
[[step]]
host = "laptop"
do = "connect"
app = "b"
to = "203.0.113.5:443"
socket = "nic"
[[step]]
host = "laptop"
do = "connect"
app = "b"
to = "10.66.66.1:443"
address = "10.66.66.2"
socket = "tun"
'''


def _fields(r: ClassifyRecord) -> tuple[object, ...]:
    f = r.fields
    return f["IP_LOCAL_ADDRESS"], f["IP_LOCAL_INTERFACE"], f["INTERFACE_INDEX"], f["INTERFACE_TYPE"]


def test_each_local_address_classifies_with_its_interface() -> None:
    result = run(TEXT)
    laptop = [r for r in result.records if isinstance(r, ClassifyRecord) and r.host == "laptop"
              and r.layer in ("ALE_AUTH_CONNECT_V4", "OUTBOUND_TRANSPORT_V4", "INBOUND_TRANSPORT_V4")]
    nic = (71 << 48) | (12 << 24)
    seen = {(r.layer, r.flow, _fields(r)) for r in laptop}
    assert ("ALE_AUTH_CONNECT_V4", 1, ("192.168.1.10", nic, 12, 71)) in seen
    assert ("ALE_AUTH_CONNECT_V4", 3, ("10.66.66.2", TUNNEL_LUID, 31, 53)) in seen
    # both directions of the tunnel flow (connect, SYN, SYN-ACK, ACK) are on the tunnel interface
    tun = [_fields(r) for r in laptop if r.flow == 3]
    assert len(tun) == 4 and set(tun) == {("10.66.66.2", TUNNEL_LUID, 31, 53)}
    # a host with one interface: every address is on it (the default interface, index 2)
    srv = {r.fields["INTERFACE_INDEX"] for r in result.records if isinstance(r, ClassifyRecord)
           and r.host == "srv" and "INTERFACE_INDEX" in r.fields}
    assert srv == {2}


def test_connect_with_an_address_binds_it_explicitly() -> None:
    result = run(TEXT)
    binds = [r for r in result.records if isinstance(r, ClassifyRecord) and r.host == "laptop"
             and r.layer == "ALE_RESOURCE_ASSIGNMENT_V4"]
    implicit, explicit = binds
    assert explicit.fields["IP_LOCAL_ADDRESS"] == "10.66.66.2"
    # IS_WILDCARD_BIND is set for the port-0 bind ("ALE Layers"; docs/decisions-engine.md),
    # but the local address is given, so it is not FWP_EMPTY as the implicit bind's is
    assert explicit.fields["FLAGS"] & 0x8 == 0x8
    assert implicit.fields.get("IP_LOCAL_ADDRESS") is None


def test_a_local_address_of_another_family_fails_the_connect() -> None:
    text = TEXT.replace('address = ["192.168.1.10", "10.66.66.2"]', 'address = ["192.168.1.10", "10.66.66.2", "fd00::2"]')
    text = text.replace('address = "10.66.66.2"\nsocket = "tun"', 'address = "fd00::2"\nsocket = "tun"')
    events = [(r.event, r.detail) for r in run(text).records if getattr(r, "kind", "") == "stack"
              and getattr(r, "host", "") == "laptop" and r.event == "connect-failed"]  # type: ignore[union-attr]
    assert len(events) == 1 and "WSAEAFNOSUPPORT" in events[0][1]


def test_interfaces_survive_the_host_dict_round_trip() -> None:
    host = scenario(TEXT).host("laptop")
    assert host is not None and len(host.more_interfaces) == 1
    assert host.more_interfaces[0].addresses == ("10.66.66.2",)
    assert HostSpec.from_dict(host.to_dict()).more_interfaces == host.more_interfaces
    # a one-interface host's dict has no new keys (recordings of such hosts are unchanged)
    plain = HostSpec("h", interface=InterfaceSpec(index=7))
    assert "more_interfaces" not in plain.to_dict() and "addresses" not in plain.to_dict()["interface"]
