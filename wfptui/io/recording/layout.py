"""The record layout of ``.wfpr`` recordings: the single source of tags and field order.

Every record is a msgpack array whose first element is its kind tag (docs/recording-format.md
§1.2). :data:`LAYOUTS` names the fields after the tag, in wire order, for every kind; the
writer builds records only through the builder functions below (called with keyword
arguments) and the reader finds fields through :meth:`Layout.at` / :meth:`Layout.getter`, so
the order lives here. Each builder is checked against its layout when this module is
imported; the reader's one direct unpacking (a classification, its hot path, in
``tables.py``) is checked against :data:`CLASSIFY` when that module is imported.

Format-specific constants that are frozen with a format version (the built-in atom table)
live here too. Older formats' layouts are not here: ``wfptui.io.migrate`` carries frozen
copies of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

FORMAT_NAME = "wfptui-recording"
#: Bump on every change of what is written (and add a frozen upgrade to io/migrate/).
CURRENT_FORMAT_VERSION = 4

# Record kind tags (format 2, and 6 from format 3). Trace records are < K_TRACE_LIMIT: the
# reader's hot path skips them by their first two bytes.
K_CLASSIFY = 0
K_STACK = 1
K_NET_EVENT = 2
K_AUDIT = 3
K_POLICY = 4
K_EXPECT = 5
K_OBSERVED = 6  # format 3
K_TRACE_LIMIT = 8
K_INPUT = 8
K_SEQ = 9
K_DEF_ATOM = 10
K_DEF_WHERE = 11
K_DEF_DECISION = 12
K_DEF_FIELDS = 13
K_END = 15

#: The seq of the first trace record when no seq record says otherwise.
FIRST_SEQ = 1


@dataclass(frozen=True)
class Layout:
    """One record kind: its tag, its name and its fields after the tag, in wire order.

    ``tail``: the name of a variable-length rest after the fixed fields (flattened data
    pairs, terminating filters, fields changes), or None when the record has exactly
    :attr:`size` elements."""

    tag: int
    name: str
    fields: tuple[str, ...]
    tail: str | None = None

    @property
    def size(self) -> int:
        """Elements of the fixed part, the tag included."""
        return 1 + len(self.fields)

    def at(self, name: str) -> int:
        """The array index of field ``name``."""
        return 1 + self.fields.index(name)

    def getter(self, *names: str) -> itemgetter[Any]:
        """An ``itemgetter`` of these fields: a tuple of them in the order asked (one name:
        the value itself)."""
        return itemgetter(*(self.at(n) for n in names))


# Trace records (``t``: the time, docs/recording-format.md §1.3; atoms are atom-table ids).
CLASSIFY = Layout(K_CLASSIFY, "classify", ("t", "where", "flow", "decision", "fields"))
STACK = Layout(K_STACK, "stack", ("t", "host", "event", "flow", "detail"), tail="data")
NET_EVENT = Layout(K_NET_EVENT, "net_event",
                   ("t", "host", "type", "filter_id", "layer_id", "direction", "flow"), tail="data")
AUDIT = Layout(K_AUDIT, "audit", ("t", "host", "event_id", "filter_id", "layer_id", "flow"), tail="data")
POLICY = Layout(K_POLICY, "policy", ("t", "host", "added", "removed", "reauth_layers"))
EXPECT = Layout(K_EXPECT, "expect", ("ok", "expect", "matched", "message"))
OBSERVED = Layout(K_OBSERVED, "observed", ("t", "host", "event", "type", "action", "filter_id", "matched_by",
                                          "verdict", "unknown_fields"))
# Other records.
INPUT = Layout(K_INPUT, "input", ("step",))
SEQ = Layout(K_SEQ, "seq", ("next_seq",))
DEF_ATOM = Layout(K_DEF_ATOM, "define atom", ("value",))
DEF_WHERE = Layout(K_DEF_WHERE, "define where", ("host", "layer", "layer_id", "packet", "op", "direction",
                                                  "reauth"))
DEF_DECISION = Layout(K_DEF_DECISION, "define decision", ("action", "filter", "filter_id", "sublayer", "veto"),
                      tail="terminating")
DEF_FIELDS = Layout(K_DEF_FIELDS, "define fields", ("base",), tail="changes")
END = Layout(K_END, "end", ("count", "crc32"))

#: One terminating filter in a decision's tail, in wire order.
TERMINATING = ("filter", "filter_id", "sublayer", "action", "hard")

LAYOUTS: dict[int, Layout] = {lay.tag: lay for lay in (
    CLASSIFY, STACK, NET_EVENT, AUDIT, POLICY, EXPECT, OBSERVED,
    INPUT, SEQ, DEF_ATOM, DEF_WHERE, DEF_DECISION, DEF_FIELDS, END)}
#: Trace record kind tag -> its ``TraceRecord.kind`` name.
TRACE_KINDS: dict[int, str] = {tag: lay.name for tag, lay in LAYOUTS.items() if tag < K_TRACE_LIMIT}
#: Where the time is in every trace record that has one (all but ``expect``).
T_AT = 1
assert all(lay.at("t") == T_AT for tag, lay in LAYOUTS.items() if "t" in lay.fields)


# ----------------------------------------------------------------------------- builders
# The writer makes records only through these (keyword arguments: the order is LAYOUTS').


def classify(*, t: Any, where: int, flow: Any, decision: int, fields: int) -> tuple[Any, ...]:
    return (K_CLASSIFY, t, where, flow, decision, fields)


def stack(*, t: Any, host: int, event: int, flow: Any, detail: int, data: list[int]) -> tuple[Any, ...]:
    return (K_STACK, t, host, event, flow, detail, *data)


def net_event(*, t: Any, host: int, type: int, filter_id: Any, layer_id: Any, direction: int, flow: Any,
              data: list[int]) -> tuple[Any, ...]:
    return (K_NET_EVENT, t, host, type, filter_id, layer_id, direction, flow, *data)


def audit(*, t: Any, host: int, event_id: Any, filter_id: Any, layer_id: Any, flow: Any,
          data: list[int]) -> tuple[Any, ...]:
    return (K_AUDIT, t, host, event_id, filter_id, layer_id, flow, *data)


def policy(*, t: Any, host: int, added: list[int], removed: list[int], reauth_layers: list[int]) -> tuple[Any, ...]:
    return (K_POLICY, t, host, added, removed, reauth_layers)


def expect(*, ok: bool, expect: Any, matched: Any, message: Any) -> tuple[Any, ...]:
    return (K_EXPECT, ok, expect, matched, message)


def observed(*, t: Any, host: int, event: Any, type: int, action: int, filter_id: Any, matched_by: int,
             verdict: int, unknown_fields: list[int]) -> tuple[Any, ...]:
    return (K_OBSERVED, t, host, event, type, action, filter_id, matched_by, verdict, unknown_fields)


def input_(*, step: Any) -> tuple[Any, ...]:
    return (K_INPUT, step)


def seq(*, next_seq: int) -> tuple[Any, ...]:
    return (K_SEQ, next_seq)


def def_atom(*, value: Any) -> tuple[Any, ...]:
    return (K_DEF_ATOM, value)


def def_where(*, host: int, layer: int, layer_id: Any, packet: int, op: int, direction: int,
              reauth: bool) -> tuple[Any, ...]:
    return (K_DEF_WHERE, host, layer, layer_id, packet, op, direction, reauth)


def def_decision(*, action: int, filter: int, filter_id: Any, sublayer: int, veto: bool,
                 terminating: list[Any]) -> tuple[Any, ...]:
    """``terminating``: the flattened (filter, filter_id, sublayer, action, hard) groups."""
    return (K_DEF_DECISION, action, filter, filter_id, sublayer, veto, *terminating)


def terminating(*, filter: int, filter_id: Any, sublayer: int, action: int, hard: bool) -> list[Any]:
    return [filter, filter_id, sublayer, action, hard]


def def_fields(*, base: int | None, changes: list[Any]) -> tuple[Any, ...]:
    return (K_DEF_FIELDS, base, *changes)


def end(*, count: int, crc32: int | None) -> tuple[Any, ...]:
    return (K_END, count, crc32)


BUILDERS: dict[int, Callable[..., tuple[Any, ...]]] = {K_CLASSIFY: classify, K_STACK: stack, K_NET_EVENT: net_event, K_AUDIT: audit, K_POLICY: policy,
            K_EXPECT: expect, K_OBSERVED: observed, K_INPUT: input_, K_SEQ: seq, K_DEF_ATOM: def_atom,
            K_DEF_WHERE: def_where, K_DEF_DECISION: def_decision, K_DEF_FIELDS: def_fields, K_END: end}


def _check_builders() -> None:
    """Each builder puts each field where its layout says (run once, at import)."""
    for tag, build in BUILDERS.items():
        lay = LAYOUTS[tag]
        names = {n: f"<{n}>" for n in lay.fields}
        tail = [f"<{lay.tail}>"] if lay.tail else None
        made = build(**names, **({lay.tail: tail} if lay.tail else {}))
        want = (tag, *names.values(), *(tail or ()))
        if made != want:  # pragma: no cover - a mistake in this module
            raise AssertionError(f"builder of {lay.name} does not follow its layout: {made!r}")
    if terminating(**{n: n for n in TERMINATING}) != list(TERMINATING):  # type: ignore[arg-type]
        raise AssertionError("terminating builder does not follow TERMINATING")  # pragma: no cover


_check_builders()


# ----------------------------------------------------------------------------- atoms

#: Format 2's built-in atom table: atom ids 0..len-1 are these values, so the well-known words
#: (field names, layer names, packet words, actions ...) cost nothing in a file. Frozen with
#: the format version: never edit; a new format version may append (and add an upgrade).
#: Format 3 added none. (The 1 -> 2 rung has its own copy: io/migrate/format2.py.)
_STATIC_WORDS = """
permit block none inbound outbound SYN SYN-ACK ACK DATA RST DATAGRAM ICMP-ERROR ICMP bind listen
connect close UNIVERSAL MS_FWP_DIRECTION_IN MS_FWP_DIRECTION_OUT CLASSIFY_DROP CLASSIFY_ALLOW
S-1-0-0 IP_LOCAL_ADDRESS IP_REMOTE_ADDRESS IP_LOCAL_ADDRESS_TYPE IP_LOCAL_INTERFACE INTERFACE_INDEX
SUB_INTERFACE_INDEX FLAGS INTERFACE_TYPE TUNNEL_TYPE COMPARTMENT_ID IP_SOURCE_ADDRESS
IP_DESTINATION_ADDRESS IP_DESTINATION_ADDRESS_TYPE IP_FORWARD_INTERFACE SOURCE_INTERFACE_INDEX
SOURCE_SUB_INTERFACE_INDEX DESTINATION_INTERFACE_INDEX DESTINATION_SUB_INTERFACE_INDEX
IP_PHYSICAL_ARRIVAL_INTERFACE ARRIVAL_INTERFACE_PROFILE_ID IP_PHYSICAL_NEXTHOP_INTERFACE
NEXTHOP_INTERFACE_PROFILE_ID IP_PROTOCOL IP_LOCAL_PORT IP_REMOTE_PORT CURRENT_PROFILE_ID
IPSEC_SECURITY_REALM_ID DIRECTION EMBEDDED_PROTOCOL EMBEDDED_REMOTE_ADDRESS
EMBEDDED_LOCAL_ADDRESS_TYPE EMBEDDED_LOCAL_PORT EMBEDDED_REMOTE_PORT IP_ARRIVAL_INTERFACE
ARRIVAL_INTERFACE_INDEX ARRIVAL_INTERFACE_TYPE ARRIVAL_TUNNEL_TYPE INTERFACE_QUARANTINE_EPOCH
ALE_APP_ID ALE_USER_ID ALE_PROMISCUOUS_MODE LOCAL_INTERFACE_PROFILE_ID ALE_SIO_FIREWALL_SYSTEM_PORT
ALE_PACKAGE_ID ALE_SECURITY_ATTRIBUTE_FQBN_VALUE RESERVED0 RESERVED1 ALE_PACKAGE_FAMILY_NAME
ALE_REMOTE_USER_ID ALE_REMOTE_MACHINE_ID ALE_NAP_CONTEXT NEXTHOP_SUB_INTERFACE_INDEX
IP_NEXTHOP_INTERFACE NEXTHOP_INTERFACE_TYPE NEXTHOP_TUNNEL_TYPE NEXTHOP_INTERFACE_INDEX
ORIGINAL_PROFILE_ID REAUTHORIZE_REASON ORIGINAL_ICMP_TYPE RESERVED2 RESERVED3 PEER_NAME
ALE_ORIGINAL_APP_ID ALE_EFFECTIVE_NAME INTERFACE_MAC_ADDRESS MAC_LOCAL_ADDRESS MAC_REMOTE_ADDRESS
MAC_LOCAL_ADDRESS_TYPE MAC_REMOTE_ADDRESS_TYPE ETHER_TYPE VLAN_ID NDIS_PORT L2_FLAGS NDIS_MEDIA_TYPE
NDIS_PHYSICAL_MEDIA_TYPE MAC_SOURCE_ADDRESS MAC_SOURCE_ADDRESS_TYPE MAC_DESTINATION_ADDRESS
MAC_DESTINATION_ADDRESS_TYPE VSWITCH_TENANT_NETWORK_ID VSWITCH_ID VSWITCH_NETWORK_TYPE
VSWITCH_SOURCE_INTERFACE_ID VSWITCH_SOURCE_INTERFACE_TYPE VSWITCH_SOURCE_VM_ID
VSWITCH_DESTINATION_INTERFACE_ID VSWITCH_DESTINATION_INTERFACE_TYPE VSWITCH_DESTINATION_VM_ID
IP_SOURCE_PORT IP_DESTINATION_PORT RESERVED4 RESERVED5 RESERVED6 RESERVED7 RESERVED8 RESERVED9
RESERVED10 RESERVED11 RESERVED12 RESERVED13 RESERVED14 RESERVED15 QM_MODE REMOTE_USER_TOKEN
RPC_IF_UUID RPC_IF_VERSION RPC_IF_FLAG DCOM_APP_ID IMAGE_NAME RPC_PROTOCOL RPC_AUTH_TYPE
RPC_AUTH_LEVEL SEC_ENCRYPT_ALGORITHM SEC_KEY_SIZE IP_LOCAL_ADDRESS_V4 IP_LOCAL_ADDRESS_V6 PIPE
IP_REMOTE_ADDRESS_V4 IP_REMOTE_ADDRESS_V6 RPC_OPNUM PROCESS_WITH_RPC_IF_UUID RPC_EP_VALUE
RPC_EP_FLAGS CLIENT_TOKEN RPC_SERVER_NAME RPC_SERVER_PORT RPC_PROXY_AUTH_TYPE CLIENT_CERT_KEY_LENGTH
CLIENT_CERT_OID REMOTE_ID AUTHENTICATION_TYPE KM_TYPE KM_MODE IPSEC_POLICY_KEY KM_AUTH_NAP_CONTEXT
ALE_REAUTH_REASON NET_EVENT_TYPE INBOUND_IPPACKET_V4 INBOUND_IPPACKET_V4_DISCARD INBOUND_IPPACKET_V6
INBOUND_IPPACKET_V6_DISCARD OUTBOUND_IPPACKET_V4 OUTBOUND_IPPACKET_V4_DISCARD OUTBOUND_IPPACKET_V6
OUTBOUND_IPPACKET_V6_DISCARD IPFORWARD_V4 IPFORWARD_V4_DISCARD IPFORWARD_V6 IPFORWARD_V6_DISCARD
INBOUND_TRANSPORT_V4 INBOUND_TRANSPORT_V4_DISCARD INBOUND_TRANSPORT_V6 INBOUND_TRANSPORT_V6_DISCARD
OUTBOUND_TRANSPORT_V4 OUTBOUND_TRANSPORT_V4_DISCARD OUTBOUND_TRANSPORT_V6
OUTBOUND_TRANSPORT_V6_DISCARD STREAM_V4 STREAM_V4_DISCARD STREAM_V6 STREAM_V6_DISCARD
DATAGRAM_DATA_V4 DATAGRAM_DATA_V4_DISCARD DATAGRAM_DATA_V6 DATAGRAM_DATA_V6_DISCARD
INBOUND_ICMP_ERROR_V4 INBOUND_ICMP_ERROR_V4_DISCARD INBOUND_ICMP_ERROR_V6
INBOUND_ICMP_ERROR_V6_DISCARD OUTBOUND_ICMP_ERROR_V4 OUTBOUND_ICMP_ERROR_V4_DISCARD
OUTBOUND_ICMP_ERROR_V6 OUTBOUND_ICMP_ERROR_V6_DISCARD ALE_RESOURCE_ASSIGNMENT_V4
ALE_RESOURCE_ASSIGNMENT_V4_DISCARD ALE_RESOURCE_ASSIGNMENT_V6 ALE_RESOURCE_ASSIGNMENT_V6_DISCARD
ALE_AUTH_LISTEN_V4 ALE_AUTH_LISTEN_V4_DISCARD ALE_AUTH_LISTEN_V6 ALE_AUTH_LISTEN_V6_DISCARD
ALE_AUTH_RECV_ACCEPT_V4 ALE_AUTH_RECV_ACCEPT_V4_DISCARD ALE_AUTH_RECV_ACCEPT_V6
ALE_AUTH_RECV_ACCEPT_V6_DISCARD ALE_AUTH_CONNECT_V4 ALE_AUTH_CONNECT_V4_DISCARD ALE_AUTH_CONNECT_V6
ALE_AUTH_CONNECT_V6_DISCARD ALE_FLOW_ESTABLISHED_V4 ALE_FLOW_ESTABLISHED_V4_DISCARD
ALE_FLOW_ESTABLISHED_V6 ALE_FLOW_ESTABLISHED_V6_DISCARD INBOUND_MAC_FRAME_ETHERNET
OUTBOUND_MAC_FRAME_ETHERNET INBOUND_MAC_FRAME_NATIVE OUTBOUND_MAC_FRAME_NATIVE
NAME_RESOLUTION_CACHE_V4 NAME_RESOLUTION_CACHE_V6 ALE_RESOURCE_RELEASE_V4 ALE_RESOURCE_RELEASE_V6
ALE_ENDPOINT_CLOSURE_V4 ALE_ENDPOINT_CLOSURE_V6 ALE_CONNECT_REDIRECT_V4 ALE_CONNECT_REDIRECT_V6
ALE_BIND_REDIRECT_V4 ALE_BIND_REDIRECT_V6 STREAM_PACKET_V4 STREAM_PACKET_V6 INGRESS_VSWITCH_ETHERNET
EGRESS_VSWITCH_ETHERNET INGRESS_VSWITCH_TRANSPORT_V4 INGRESS_VSWITCH_TRANSPORT_V6
EGRESS_VSWITCH_TRANSPORT_V4 EGRESS_VSWITCH_TRANSPORT_V6 INBOUND_TRANSPORT_FAST
OUTBOUND_TRANSPORT_FAST INBOUND_MAC_FRAME_NATIVE_FAST OUTBOUND_MAC_FRAME_NATIVE_FAST
INBOUND_RESERVED2 ALE_ACCEPT_REDIRECT_V4 ALE_ACCEPT_REDIRECT_V6
OUTBOUND_NETWORK_CONNECTION_POLICY_V4 OUTBOUND_NETWORK_CONNECTION_POLICY_V6 IPSEC_KM_DEMUX_V4
IPSEC_KM_DEMUX_V6 IPSEC_V4 IPSEC_V6 IKEEXT_V4 IKEEXT_V6 RPC_UM RPC_EPMAP RPC_EP_ADD RPC_PROXY_CONN
RPC_PROXY_IF KM_AUTHORIZATION localAddr remoteAddr localPort remotePort ipProtocol appId isLoopback
reauthReason Application Direction SourceAddress SourcePort DestAddress DestPort Protocol FilterRTID
LayerName LayerRTID socket port bytes flow-created flow-torn-down listening connected
listen-completed data-delivered rst-sent icmp-error-sent connection-refused connect-failed
probe-sent probe-result no-listener
"""
STATIC_ATOMS: tuple[Any, ...] = (None, True, False, "", *_STATIC_WORDS.split())
