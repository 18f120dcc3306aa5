"""Which WFP layers each protocol event crosses, in order: one table of data (wfp-model.md §2).

Every classification the simulator makes walks one row of ``ROWS`` (``Traversal.walk``):
a tuple of layer families (``_V4`` / ``_V6`` is appended per socket), for one protocol
event and direction, and — where it differs — one Windows version. A row stops where the
stack acts between two layers (allocates a flow id, creates a flow, sends a record the
docs place there); Microsoft's sequences are the rows read one after the other:

* "TCP Packet Flows" (learn.microsoft.com/windows/win32/fwp/tcp-packet-flows, wfp-model.md
  §2.2, table §2.12), e.g. the client's active open = ``tcp bind``, ``tcp connect-redirect``,
  ``tcp connect``, ``ip send`` (the SYN);
* "UDP Packet Flows" (learn.microsoft.com/windows/win32/fwp/udp-packet-flows, §2.3);
* ICMP: §2.4 ("ALE Stateful Filtering", "ALE Layers"); the echo sequence is derived
  (docs/decisions-engine.md, "ICMP echo");
* close: "ALE Endpoint Lifetime Management" (learn.microsoft.com/windows-hardware/drivers/
  network/ale-endpoint-lifetime-management, §2.11).

A block at a layer classifies the same packet at the layer's discard twin and stops the
row (§2.7); that is the traversal's rule, not a row. The redirect, closure and release
layers are Windows 7 and later (§2.2 note, Q7): the ``vista`` rows leave them out.
"""

from __future__ import annotations

from typing import NamedTuple

from wfptui.core.datatypes import WinVersion
from wfptui.core.layers import Layer, get_layer

__all__ = ["ROWS", "Row", "Stage", "stages"]

OUT, IN = "outbound", "inbound"


class Row(NamedTuple):
    """One event's layers. ``windows`` None = every version without its own row."""

    protocol: str  # tcp | udp | icmp | ip (a packet of any protocol)
    event: str
    direction: str | None  # None: a socket operation
    layers: tuple[str, ...]
    source: str  # the Microsoft page / wfp-model.md section the row is read from
    windows: str | None = None


_BIND = ("ALE_BIND_REDIRECT", "ALE_RESOURCE_ASSIGNMENT")
_DATA_OUT = ("DATAGRAM_DATA", "OUTBOUND_TRANSPORT", "OUTBOUND_IPPACKET")

#: The layer sequences. Read a row against its source: same layers, same order.
ROWS: tuple[Row, ...] = (
    # --- any protocol
    Row("ip", "send", OUT, ("OUTBOUND_TRANSPORT", "OUTBOUND_IPPACKET"),
        "§2.1 (D-INSPECT): transport → IP packet; §2.2 SYN/SYN-ACK/ACK/RST 'OUTBOUND_TRANSPORT, OUTBOUND_IPPACKET'"),
    # --- TCP: TCP Packet Flows, §2.2 / §2.12
    Row("tcp", "bind", None, _BIND, "§2.2 passive/active open steps 1-2; §2.11"),
    Row("tcp", "bind", None, ("ALE_RESOURCE_ASSIGNMENT",), "§2.2: BIND_REDIRECT is Win7+", "vista"),
    Row("tcp", "listen", None, ("ALE_AUTH_LISTEN",), "§2.2 passive open step 3"),
    Row("tcp", "connect-redirect", OUT, ("ALE_CONNECT_REDIRECT",), "§2.2 active open step 3"),
    Row("tcp", "connect-redirect", OUT, (), "§2.2: CONNECT_REDIRECT is Win7+", "vista"),
    Row("tcp", "connect", OUT, ("ALE_AUTH_CONNECT",), "§2.2 active open step 4 (then the SYN: ip send)"),
    Row("tcp", "receive", IN, ("INBOUND_IPPACKET", "INBOUND_TRANSPORT"),
        "§2.2 server receives SYN 1-2, client receives SYN-ACK 1-2, server receives ACK 1-2"),
    Row("tcp", "accept", IN, ("ALE_AUTH_RECV_ACCEPT",), "§2.2 server receives SYN step 3 (then the SYN-ACK: ip send)"),
    Row("tcp", "established", OUT, ("ALE_FLOW_ESTABLISHED",),
        "§2.2 client receives SYN-ACK step 3, before its ACK (ip send)"),
    Row("tcp", "established", IN, ("ALE_FLOW_ESTABLISHED",), "§2.2 server receives ACK step 3"),
    Row("tcp", "data", OUT, ("STREAM", "OUTBOUND_TRANSPORT", "OUTBOUND_IPPACKET"), "§2.2 data transfer, sender"),
    Row("tcp", "data", IN, ("INBOUND_IPPACKET", "INBOUND_TRANSPORT", "STREAM"), "§2.2 data transfer, receiver"),
    Row("tcp", "stream", IN, ("STREAM",),
        "§2.2 successful reauthorization (receiver): tcp receive, the auth layer, then STREAM"),
    Row("tcp", "no-listener", IN, ("INBOUND_IPPACKET", "INBOUND_TRANSPORT_DISCARD"),
        "§2.2 SYN to a port with no listener 1-2 (then the RST: ip send)"),
    Row("tcp", "reclassify", None, ("ALE_RESOURCE_ASSIGNMENT",),
        "§4.5 IS_RECLASSIFY (Win7+): an earlier bind reclassified after a policy change (docs/decisions-engine.md "
        "'Reclassification'); a listen reclassifies on the 'tcp listen' row"),
    Row("tcp", "closure", None, ("ALE_ENDPOINT_CLOSURE",), "§2.11; ALE Endpoint Lifetime Management"),
    Row("tcp", "closure", None, (), "§2.11: ENDPOINT_CLOSURE is Win7+", "vista"),
    Row("tcp", "release", None, ("ALE_RESOURCE_RELEASE",), "§2.11; ALE Endpoint Lifetime Management"),
    Row("tcp", "release", None, (), "§2.11: RESOURCE_RELEASE is Win7+", "vista"),
    # --- UDP: UDP Packet Flows, §2.3
    Row("udp", "bind", None, _BIND, "§2.3 passive open; client active open steps 1-2"),
    Row("udp", "bind", None, ("ALE_RESOURCE_ASSIGNMENT",), "§2.3: BIND_REDIRECT is Win7+", "vista"),
    Row("udp", "connect-redirect", OUT, ("ALE_CONNECT_REDIRECT",), "§2.3 client first send step 3"),
    Row("udp", "connect-redirect", OUT, (), "§2.3: CONNECT_REDIRECT is Win7+", "vista"),
    Row("udp", "connect", OUT, ("ALE_AUTH_CONNECT",), "§2.3 client first send step 4"),
    Row("udp", "established", OUT, ("ALE_FLOW_ESTABLISHED",), "§2.3 client first send step 5"),
    Row("udp", "data", OUT, _DATA_OUT, "§2.3 client first send steps 6-8; later datagrams"),
    Row("udp", "receive", IN, ("INBOUND_IPPACKET", "INBOUND_TRANSPORT"), "§2.3 server first datagram steps 1-2"),
    Row("udp", "accept", IN, ("ALE_AUTH_RECV_ACCEPT",), "§2.3 server first datagram step 3"),
    Row("udp", "established", IN, ("ALE_FLOW_ESTABLISHED",), "§2.3 server first datagram step 4"),
    Row("udp", "data", IN, ("DATAGRAM_DATA",), "§2.3 server first datagram step 5; later datagrams"),
    Row("udp", "no-listener", IN, ("INBOUND_IPPACKET", "INBOUND_IPPACKET_DISCARD"),
        "§2.3 datagram to a port with no listener steps 1-2"),
    Row("udp", "port-unreachable", OUT, ("OUTBOUND_ICMP_ERROR", "OUTBOUND_TRANSPORT", "OUTBOUND_IPPACKET"),
        "§2.3 datagram to a port with no listener steps 3-5 (the ICMP error)"),
    Row("udp", "reclassify", None, ("ALE_RESOURCE_ASSIGNMENT",),
        "§4.5 IS_RECLASSIFY (Win7+): an earlier bind reclassified after a policy change"),
    Row("udp", "closure", None, ("ALE_ENDPOINT_CLOSURE",), "§2.11: one per non-TCP endpoint"),
    Row("udp", "closure", None, (), "§2.11: ENDPOINT_CLOSURE is Win7+", "vista"),
    Row("udp", "release", None, ("ALE_RESOURCE_RELEASE",), "§2.11"),
    Row("udp", "release", None, (), "§2.11: RESOURCE_RELEASE is Win7+", "vista"),
    # --- ICMP echo: §2.4 / §2.6 (authorized like a UDP flow; the sequence is derived,
    #     docs/decisions-engine.md "ICMP echo"); errors only at the ICMP error layers
    Row("icmp", "connect", OUT, ("ALE_AUTH_CONNECT",), "§2.4: echo authorized like a UDP flow (§2.3 step 4)"),
    Row("icmp", "established", OUT, ("ALE_FLOW_ESTABLISHED",), "§2.4, as §2.3 step 5"),
    Row("icmp", "data", OUT, ("DATAGRAM_DATA",), "§2.4, as §2.3 step 6 (then the request: ip send)"),
    Row("icmp", "reply", OUT, _DATA_OUT, "§2.6: the reply rides the request's flow, no ALE; as §2.3 later datagrams"),
    Row("icmp", "receive", IN, ("INBOUND_IPPACKET", "INBOUND_TRANSPORT"), "§2.4, as §2.3 steps 1-2"),
    Row("icmp", "accept", IN, ("ALE_AUTH_RECV_ACCEPT",), "§2.4, as §2.3 step 3"),
    Row("icmp", "established", IN, ("ALE_FLOW_ESTABLISHED",), "§2.4, as §2.3 step 4"),
    Row("icmp", "data", IN, ("DATAGRAM_DATA",), "§2.4, as §2.3 step 5"),
    Row("icmp", "error", IN, ("INBOUND_IPPACKET", "INBOUND_ICMP_ERROR"),
        "§2.4: errors only at the ICMP error layers (no INBOUND_TRANSPORT; docs/decisions-engine.md)"),
)

#: A row's key: (protocol, event, direction).
Key = tuple[str, str, str | None]


class Stage:
    """One row resolved for a Windows version and IP version: the layers a walk crosses.
    Hashed by identity (a key of the endpoints' path caches)."""

    __slots__ = ("key", "layers", "ale")

    def __init__(self, key: Key, layers: tuple[Layer, ...]) -> None:
        self.key = key
        self.layers = layers
        #: Only ALE layers (rows never mix them with packet layers): where a dual-stack
        #: socket's IPv4 traffic is classified at V6 (``Traversal.walk``).
        self.ale = bool(layers) and all(layer.name.startswith("ALE_") for layer in layers)

    def __repr__(self) -> str:
        return f"Stage({self.key!r}, {[layer.name for layer in self.layers]!r})"


def _layer(family: str, bits: int) -> Layer:
    v = 4 if bits == 32 else 6
    if family.endswith("_DISCARD"):
        return get_layer(f"{family.removesuffix('_DISCARD')}_V{v}_DISCARD")
    return get_layer(f"{family}_V{v}")


def row_for(key: Key, windows: WinVersion) -> Row:
    """The row of ``key`` on ``windows``: its own row if the version has one, else the default."""
    default: Row | None = None
    for row in ROWS:
        if (row.protocol, row.event, row.direction) == key:
            if row.windows is None:
                default = row
            elif WinVersion.parse(row.windows) == windows:
                return row
    if default is None:
        raise KeyError(f"no layer sequence for {key!r}")
    return default


_STAGES: dict[tuple[WinVersion, int], dict[Key, Stage]] = {}


def stages(windows: WinVersion, bits: int) -> dict[Key, Stage]:
    """Every row resolved for one Windows version and IP version (shared by all hosts)."""
    hit = _STAGES.get((windows, bits))
    if hit is None:
        hit = {}
        for row in ROWS:
            key = (row.protocol, row.event, row.direction)
            if key in hit:
                continue
            layers = tuple(_layer(f, bits) for f in row_for(key, windows).layers)
            for layer in layers:  # a row naming a layer the version lacks is a table bug
                if layer.since > windows:
                    raise ValueError(f"{key}: {layer.name} is newer than {windows.name}")
            hit[key] = Stage(key, layers)
        _STAGES[(windows, bits)] = hit
    return hit
