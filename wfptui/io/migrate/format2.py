"""Format 2 of ``.wfpr`` recordings as it was written, **frozen**: what the 1 -> 2 rung needs.

This is a copy, on purpose, of what ``wfptui.io.recording`` wrote when format 2 was
current (its built-in atom table, its tags and its encoder, as of the format-3 code that
still wrote format-2 bodies for everything but ``observe`` inputs and ``observed``
records). It must never change and never import the recording package: the 1 -> 2 rung
then produces the same format-2 objects forever, whatever later formats do to the
writer. ``tests/io/test_migrate.py`` checks its output byte for byte against
``tests/data/recordings-migration/``.

The encoder works on format 1's own record maps (``TraceRecord.to_dict()`` as format 1
wrote it: ``kind``, ``seq``, ``t``, ``host`` ...), read here the way format 1's reader did,
so no decoding of today's ``wfptui.core.trace`` is involved either.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Format 2's kind tags (docs/recording-format.md §1.2 as of format 2).
K_CLASSIFY = 0
K_STACK = 1
K_NET_EVENT = 2
K_AUDIT = 3
K_POLICY = 4
K_EXPECT = 5
K_INPUT = 8
K_SEQ = 9
K_DEF_ATOM = 10
K_DEF_WHERE = 11
K_DEF_DECISION = 12
K_DEF_FIELDS = 13
K_END = 15
FIRST_SEQ = 1
MAX_DEPTH = 48
_MISSING = object()

#: Format 2's built-in atom table, word for word.
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


def freeze(value: Any) -> Any:
    """A hashable key for a msgpack-able value; 1, 1.0 and True stay distinct."""
    t = type(value)
    if t is list or t is tuple:
        return (list, tuple(freeze(v) for v in value))
    if t is dict:
        return (dict, tuple((k, freeze(v)) for k, v in value.items()))
    return (t, value)


def thaw(value: Any, depth: int = 0) -> Any:
    """Decoded msgpack (tuples, dicts) back to JSON-like data (lists, dicts); checks nesting."""
    if depth > MAX_DEPTH:
        raise ValueError("nested too deeply")
    t = type(value)
    if t is tuple or t is list:
        return [thaw(v, depth + 1) for v in value]
    if t is dict:
        return {k: thaw(v, depth + 1) for k, v in value.items()}
    if t in (str, int, float, bool, bytes) or value is None:
        return value
    raise ValueError(f"unexpected value of type {t.__name__}")


def plain(value: Any) -> Any:
    """JSON-like data for packing: tuples -> lists, objects -> their ``to_dict()``."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, (str, bytes, float)):
        return value
    if isinstance(value, int):
        return int(value)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return plain(to_dict())
    return str(value)


#: Step keys left out of an input record when they hold these values.
STEP_DEFAULTS: dict[str, Any] = {"packets": 1, "count": 1, "add": [], "remove": [], "raw": {}}


def compact_step(d: Any) -> Any:
    """A step map without None values and defaults."""
    if not isinstance(d, dict):
        return d
    return {k: v for k, v in d.items()
            if v is not None and not (k in STEP_DEFAULTS and v == STEP_DEFAULTS[k])}


def hosts(scenario_data: Any) -> list[dict[str, Any]]:
    """The header's ``hosts`` list from the scenario map."""
    out: list[dict[str, Any]] = []
    items = scenario_data.get("hosts", scenario_data.get("host", [])) if isinstance(scenario_data, dict) else []
    for h in items or []:
        if isinstance(h, dict) and isinstance(h.get("name"), str):
            addrs = h.get("address", h.get("addresses", []))
            if isinstance(addrs, str):
                addrs = [addrs]
            out.append({"name": h["name"], "addresses": [str(a) for a in addrs or []]})
    return out


def _terminating(items: Any) -> tuple[tuple[Any, ...], ...]:
    """A classification map's ``terminating`` list as (filter, filter_id, sublayer, action, hard)."""
    return tuple((i["filter"], i.get("filter_id", 0), i["sublayer"], i["action"], bool(i["hard"]))
                 for i in items)


class Encoder:
    """Format 1 inputs and record maps -> format-2 wire tuples, interning as it goes.

    ``encode_*`` return the list of objects to write (define records first)."""

    def __init__(self) -> None:
        self.atoms: dict[Any, int] = {freeze(v): i for i, v in enumerate(STATIC_ATOMS)}
        self.wheres: dict[tuple[Any, ...], int] = {}
        self.decisions: dict[tuple[Any, ...], int] = {}
        self.fields: dict[tuple[Any, ...], int] = {}
        self.field_frozen: list[dict[str, Any]] = []
        self.recent: list[int] = []
        self.fast_fields: dict[Any, int] = {}
        self.decisions_fast: dict[Any, int] = {}
        self.last_fields: dict[tuple[str, str], int] = {}
        self.next_seq = FIRST_SEQ
        self.tick = 0
        self.prev_t: float | None = 0.0
        self.count = 0

    def t(self, t: float) -> int | float | None:
        """nil = the previous record's time; int = microseconds since it; float = seconds."""
        if t == self.prev_t and type(t) is type(self.prev_t):
            return None
        self.prev_t = t
        ticks = round(t * 1_000_000)
        delta = ticks - self.tick
        self.tick = ticks
        if ticks / 1_000_000 == t:
            return delta
        return float(t)

    def atom(self, value: Any, out: list[Any]) -> int:
        key = freeze(value)
        ref = self.atoms.get(key)
        if ref is None:
            ref = len(self.atoms)
            self.atoms[key] = ref
            out.append((K_DEF_ATOM, value))
        return ref

    def _data(self, data: Mapping[str, Any], out: list[Any]) -> list[int]:
        flat: list[int] = []
        for k, v in data.items():
            flat.append(self.atom(k, out))
            flat.append(self.atom(plain(v), out))
        return flat

    def _seq(self, seq: int, out: list[Any]) -> None:
        if seq != self.next_seq:
            out.append((K_SEQ, seq))
        self.next_seq = seq + 1

    def _fval(self, v: Any, out: list[Any]) -> Any:
        tv = type(v)
        if (tv is int and 0 <= v < 65536) or v is None or tv is bool or tv is float:
            return v
        return -self.atom(v, out) - 1

    def _fields(self, host: str, layer: str, fields: Mapping[str, Any], out: list[Any]) -> int:
        try:
            fast: Any = (tuple(fields.items()), tuple(map(type, fields.values())))
            ref = self.fast_fields.get(fast)
        except TypeError:  # unhashable values (lists ...)
            fast, ref = None, None
        if ref is not None:
            self.last_fields[(host, layer)] = ref
            self.last_fields[("", layer)] = ref
            return ref
        ref = self._fields_slow(host, layer, fields, out)
        if fast is not None:
            self.fast_fields[fast] = ref
        return ref

    def _fields_slow(self, host: str, layer: str, fields: Mapping[str, Any], out: list[Any]) -> int:
        values = {str(k): plain(v) for k, v in fields.items()}
        frozen = {k: freeze(v) for k, v in values.items()}
        key = tuple(frozen.items())
        ref = self.fields.get(key)
        if ref is not None:
            self.last_fields[(host, layer)] = ref
            self.last_fields[("", layer)] = ref
            return ref
        candidates = dict.fromkeys(
            c for c in (self.last_fields.get((host, layer)), self.last_fields.get(("", layer)),
                        *self.recent) if c is not None)
        best: int | None = None
        best_changes: list[str] = []
        best_removed: list[str] = []
        best_cost = len(values)
        for cand in candidates:
            base = self.field_frozen[cand]
            changes = [k for k, fv in frozen.items() if base.get(k, _MISSING) != fv]
            removed = [k for k in base if k not in frozen]
            cost = len(changes) + len(removed)
            if cost >= best_cost:
                continue
            order = [k for k in base if k in frozen] + [k for k in frozen if k not in base]
            if order != list(frozen):
                continue
            best, best_changes, best_removed, best_cost = cand, changes, removed, cost
        flat: list[Any] = []
        if best is None:
            for k, v in values.items():
                flat.append(self.atom(k, out))
                flat.append(self._fval(v, out))
        else:
            for k in best_changes:
                flat.append(self.atom(k, out))
                flat.append(self._fval(values[k], out))
            for k in best_removed:
                flat.append(-self.atom(k, out) - 1)
        ref = len(self.field_frozen)
        self.fields[key] = ref
        self.field_frozen.append(frozen)
        self.recent = [ref, *self.recent[:3]]
        self.last_fields[(host, layer)] = ref
        self.last_fields[("", layer)] = ref
        out.append((K_DEF_FIELDS, best, *flat))
        return ref

    def encode_input(self, step: Any) -> list[Any]:
        """A format-1 input (a step map): written in full (format 1 had no step indexes)."""
        self.count += 1
        data = compact_step(plain(step if isinstance(step, dict) else step.to_dict()))
        return [(K_INPUT, data)]

    def encode_record(self, d: Any) -> list[Any]:
        """A format-1 record map (``kind``, ``seq``, ``t`` ...) -> its format-2 objects."""
        kind = d["kind"]
        rest = {k: v for k, v in d.items() if k != "kind"}
        out: list[Any] = []
        if kind == "classify":
            self._classify(rest, out)
            return out
        common = ("seq", "t", "host")
        if kind == "stack":
            known = {*common, "event", "flow", "detail"}
            seq, t, host, event = rest["seq"], rest["t"], rest["host"], rest["event"]
            flow, detail = rest.get("flow"), rest.get("detail", "")
            data = {k: v for k, v in rest.items() if k not in known}
            self._start(seq, out)
            flat_data = self._data(data, out)
            out.append((K_STACK, self.t(t), self.atom(host, out), self.atom(event, out), flow,
                        self.atom(detail, out), *flat_data))
        elif kind == "net_event":
            known = {*common, "type", "filter_id", "layer_id", "direction", "flow"}
            seq, t, host, typ = rest["seq"], rest["t"], rest["host"], rest["type"]
            filter_id, layer_id, direction = rest["filter_id"], rest["layer_id"], rest["direction"]
            flow = rest.get("flow")
            data = {k: v for k, v in rest.items() if k not in known}
            self._start(seq, out)
            flat_data = self._data(data, out)
            out.append((K_NET_EVENT, self.t(t), self.atom(host, out), self.atom(typ, out),
                        filter_id, layer_id, self.atom(direction, out), flow, *flat_data))
        elif kind == "audit":
            known = {*common, "event_id", "filter_id", "layer_id", "flow"}
            seq, t, host, event_id = rest["seq"], rest["t"], rest["host"], rest["event_id"]
            filter_id, layer_id, flow = rest["filter_id"], rest["layer_id"], rest.get("flow")
            data = {k: v for k, v in rest.items() if k not in known}
            self._start(seq, out)
            flat_data = self._data(data, out)
            out.append((K_AUDIT, self.t(t), self.atom(host, out), event_id, filter_id,
                        layer_id, flow, *flat_data))
        elif kind == "policy":
            seq, t, host = rest["seq"], rest["t"], rest["host"]
            added, removed = tuple(rest["added"]), tuple(rest["removed"])
            reauth_layers = tuple(rest.get("reauth_layers", ()))
            self._start(seq, out)
            out.append((K_POLICY, self.t(t), self.atom(host, out),
                        [self.atom(a, out) for a in added], [self.atom(r, out) for r in removed],
                        [self.atom(r, out) for r in reauth_layers]))
        elif kind == "expect":
            seq, ok, expect = rest["seq"], rest["ok"], dict(rest["expect"])
            matched, message = rest["matched"], rest["message"]
            self._start(seq, out)
            out.append((K_EXPECT, bool(ok), plain(expect), matched, message))
        else:  # format 1 had no other kinds ("observed" came with format 3)
            raise ValueError(f"unknown trace record kind {kind!r}")
        return out

    def _start(self, seq: Any, out: list[Any]) -> None:
        self.count += 1
        self._seq(seq, out)

    def _classify(self, rest: dict[str, Any], out: list[Any]) -> None:
        seq, t, host = rest["seq"], rest["t"], rest["host"]
        layer, layer_id = str(rest["layer"]).removeprefix("FWPM_LAYER_"), rest["layer_id"]
        packet, op, direction, flow = rest["packet"], rest["op"], rest["direction"], rest["flow"]
        reauth, action, filt = rest["reauth"], rest["action"], rest["filter"]
        filter_id, sublayer = rest["filter_id"], rest["sublayer"]
        terms = _terminating(rest["terminating"])
        veto, fields = rest["veto"], dict(rest["fields"])
        self._start(seq, out)
        wkey = (host, layer, layer_id, packet, op, direction, bool(reauth))
        w = self.wheres.get(wkey)
        if w is None:
            w = len(self.wheres)
            self.wheres[wkey] = w
            out.append((K_DEF_WHERE, self.atom(host, out), self.atom(layer, out), layer_id,
                        self.atom(packet, out), self.atom(op, out),
                        self.atom(direction, out), bool(reauth)))
        dfast = (action, filt, filter_id, sublayer, veto, terms)
        dref = self.decisions_fast.get(dfast)
        if dref is None:
            dkey = (action, filt, filter_id, sublayer, bool(veto), terms)
            dref = self.decisions.get(dkey)
            if dref is None:
                dref = len(self.decisions)
                self.decisions[dkey] = dref
                flat: list[Any] = []
                for term in terms:
                    flat += [self.atom(term[0], out), term[1], self.atom(term[2], out), self.atom(term[3], out),
                             term[4]]
                out.append((K_DEF_DECISION, self.atom(action, out), self.atom(filt, out),
                            filter_id, self.atom(sublayer, out), bool(veto), *flat))
            self.decisions_fast[dfast] = dref
        f = self._fields(host, layer, fields, out)
        out.append((K_CLASSIFY, self.t(t), w, flow, dref, f))
