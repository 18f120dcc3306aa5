"""Recordings (``.wfpr``): write and read a run as a stream of standard msgpack objects.

The format is described in full in ``docs/recording-format.md``; in short (format 2):

* The file is a plain sequence of msgpack objects, first byte to last; any msgpack
  library reads it (no ext types, no pickles). The first object is the **header map**::

      {"format": "wfptui-recording", "format_version": 2, "app_version": "0.1.0",
       "created": "2026-11-26T13:40:00Z", "clock": "t_us",
       "scenario": {"data": Scenario.to_dict(), "source": <scenario TOML text or nil>},
       "policies": {host: policy TOML text (dump_policy)}, "hosts": [{"name", "addresses"}]}

* Then one **array** per record, the first element an integer kind tag. Trace records
  (kinds 0–5), inputs (8: the executed ``Step``, as ``Step.to_dict()``), and small
  *define* records (10–13) that add a string/value, a "where" tuple, a "decision" tuple
  or a ``fields`` dict to a table the first time it is used, so writing streams and a
  classification record is a handful of small integers::

      [0, t, where_id, flow, decision_id, fields_id]       # classify

* The last object is the **end record** ``[15, count, crc32]``: ``count`` event
  records (inputs + trace records) and the CRC-32 of every byte before the end record.

Reading is bounded (per-object buffer, array/map/str/bin lengths, no ext types, nesting
depth) and every problem becomes one :class:`RecordingError` (an ``InputError``, so the
CLI prints it and exits 2). Trace records are decoded **lazily**: reading makes one pass
that ``skip()``s over each trace record, noting only where it starts, and decodes the
define, input and end records (and checks count and CRC); :class:`LazyRecords` decodes a
record and builds its ``ClassifyRecord`` (etc.) when it is indexed, or streams them when
iterated. Reading a million records thus costs about what msgpack decoding alone costs,
and memory stays close to the file size. Older format versions are upgraded through
``wfptui.io.migrate`` (and read object by object).
"""

from __future__ import annotations

import bisect
import datetime as _dt
import gc
import io
import math
import os
import zlib
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, overload

import msgpack

from wfptui import __version__
from wfptui.core.model import Terminating
from wfptui.core.trace import (
    AuditRecord,
    ClassifyRecord,
    ExpectRecord,
    NetEventRecord,
    ObservedRecord,
    PolicyRecord,
    StackRecord,
    TraceRecord,
)
from wfptui.io.atomic import atomic_writer
from wfptui.io.errors import Diagnostic, InputError

__all__ = [
    "CURRENT_FORMAT_VERSION",
    "FORMAT_NAME",
    "LazyRecords",
    "Recording",
    "RecordingError",
    "RecordingWriter",
    "decode_recording",
    "encode_recording",
    "read_recording",
    "write_recording",
]

FORMAT_NAME = "wfptui-recording"
#: Bump on every change of what is written (and add an upgrade to io/migrate.py).
CURRENT_FORMAT_VERSION = 3

# Record kind tags (format 2). Trace records are < K_TRACE_LIMIT: the reader's hot path.
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
_MISSING = object()
_SCALARS = frozenset({str, int, float, bool, type(None), bytes})

#: The seq of the first trace record when no seq record says otherwise.
FIRST_SEQ = 1

#: Format 2's built-in atom table: atom ids 0..len-1 are these values, so the well-known words
#: (field names, layer names, packet words, actions ...) cost nothing in a file. Frozen with
#: the format version: never edit; a new format version may append (and add an upgrade).
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

#: Limits for untrusted input.
MAX_OBJECT_BYTES = 64 * 1024 * 1024  # one msgpack object (the header holds the policies)
MAX_ARRAY_LEN = 1 << 20
MAX_MAP_LEN = 1 << 16
MAX_DEPTH = 48
READ_SIZE = 1 << 20


class RecordingError(InputError):
    """A file that cannot be read as a recording. ``partial``: what could be read, if anything."""

    def __init__(self, message: str, file: str = "", partial: Recording | None = None) -> None:
        super().__init__(Diagnostic(file, 0, 0, message))
        self.message = message
        self.file = file
        self.partial = partial


# ----------------------------------------------------------------------------- values


def _freeze(value: Any) -> Any:
    """A hashable key for a msgpack-able value; 1, 1.0 and True stay distinct."""
    t = type(value)
    if t is list or t is tuple:
        return (list, tuple(_freeze(v) for v in value))
    if t is dict:
        return (dict, tuple((k, _freeze(v)) for k, v in value.items()))
    return (t, value)


def _thaw(value: Any, depth: int = 0) -> Any:
    """Decoded msgpack (tuples, dicts) back to JSON-like data (lists, dicts); checks nesting."""
    if depth > MAX_DEPTH:
        raise ValueError("nested too deeply")
    t = type(value)
    if t is tuple or t is list:
        return [_thaw(v, depth + 1) for v in value]
    if t is dict:
        return {k: _thaw(v, depth + 1) for k, v in value.items()}
    if t in (str, int, float, bool, bytes) or value is None:
        return value
    raise ValueError(f"unexpected value of type {t.__name__}")


def _plain(value: Any) -> Any:
    """JSON-like data for packing: tuples → lists, enums → their value, objects → to_dict()."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, (str, bytes, float)):
        return value
    if isinstance(value, int):
        return int(value)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return _plain(to_dict())
    return str(value)


#: Step keys left out of an input record when they hold these values (Step.from_dict's defaults).
_STEP_DEFAULTS: dict[str, Any] = {"packets": 1, "count": 1, "add": [], "remove": [], "raw": {}}


def _compact_step(d: Any) -> Any:
    """A step's ``to_dict()`` without None values and defaults (``Step.from_dict`` restores them)."""
    if not isinstance(d, dict):
        return d
    return {k: v for k, v in d.items()
            if v is not None and not (k in _STEP_DEFAULTS and v == _STEP_DEFAULTS[k])}


# ----------------------------------------------------------------------------- encoder


class _Encoder:
    """Turns inputs and trace records into format-2 wire tuples, interning as it goes.

    ``encode_*`` return the list of objects to write (define records first).
    """

    def __init__(self) -> None:
        self.atoms: dict[Any, int] = {_freeze(v): i for i, v in enumerate(STATIC_ATOMS)}
        self.wheres: dict[tuple[Any, ...], int] = {}
        self.decisions: dict[tuple[Any, ...], int] = {}
        self.fields: dict[tuple[Any, ...], int] = {}
        self.field_frozen: list[dict[str, Any]] = []
        self.recent: list[int] = []
        self.steps: dict[Any, int] = {}
        self.fast_fields: dict[Any, int] = {}
        self.decisions_fast: dict[Any, int] = {}
        self.last_fields: dict[tuple[str, str], int] = {}
        self.next_seq = FIRST_SEQ
        self.tick = 0
        self.prev_t: float | None = 0.0
        self.count = 0

    def t(self, t: float) -> int | float | None:
        """Time on the wire: nil when it equals the previous record's time exactly; else the
        delta in whole microseconds from the previous record when that is exact; else the
        absolute float seconds (which also resets the microsecond base)."""
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
        key = _freeze(value)
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
            flat.append(self.atom(_plain(v), out))
        return flat

    def _seq(self, seq: int, out: list[Any]) -> None:
        if seq != self.next_seq:
            out.append((K_SEQ, seq))
        self.next_seq = seq + 1

    def _fval(self, v: Any, out: list[Any]) -> Any:
        """A fields value on the wire: small non-negative ints, None, booleans and floats as
        themselves; anything else (strings, big or negative ints, lists) as ``-(atom + 1)``."""
        tv = type(v)
        if (tv is int and 0 <= v < 65536) or v is None or tv is bool or tv is float:
            return v
        return -self.atom(v, out) - 1

    def _fields(self, host: str, layer: str, fields: Mapping[str, Any], out: list[Any]) -> int:
        try:  # fast path: a dict seen before (the types keep 1, 1.0 and True apart)
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
        values = {str(k): _plain(v) for k, v in fields.items()}
        frozen = {k: _freeze(v) for k, v in values.items()}
        key = tuple(frozen.items())
        ref = self.fields.get(key)
        if ref is not None:
            self.last_fields[(host, layer)] = ref
            self.last_fields[("", layer)] = ref
            return ref
        # The cheapest base among: this host+layer's last dict, this layer's last dict on any
        # host, and the last few dicts defined.
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
                continue  # applying the delta would change the key order
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

    def set_steps(self, steps: Any) -> None:
        """The scenario's steps (from the header): inputs equal to one are written as its index."""
        if isinstance(steps, list):
            for i, d in enumerate(steps):
                self.steps.setdefault(_freeze(_compact_step(_plain(d))), i)

    def encode_input(self, step: Any) -> list[Any]:
        self.count += 1
        data = _compact_step(_plain(step if isinstance(step, dict) else step.to_dict()))
        index = self.steps.get(_freeze(data))
        return [(K_INPUT, data if index is None else index)]

    def encode_record(self, rec: TraceRecord) -> list[Any]:
        out: list[Any] = []
        self.count += 1
        self._seq(rec.seq, out)
        if isinstance(rec, ClassifyRecord):
            wkey = (rec.host, rec.layer, rec.layer_id, rec.packet, rec.op, rec.direction, bool(rec.reauth))
            w = self.wheres.get(wkey)
            if w is None:
                w = len(self.wheres)
                self.wheres[wkey] = w
                out.append((K_DEF_WHERE, self.atom(rec.host, out), self.atom(rec.layer, out), rec.layer_id,
                            self.atom(rec.packet, out), self.atom(rec.op, out),
                            self.atom(rec.direction, out), bool(rec.reauth)))
            dfast = (rec.action, rec.filter, rec.filter_id, rec.sublayer, rec.veto, rec.terminating)
            d = self.decisions_fast.get(dfast)
            if d is None:
                terms = tuple((t.filter, t.filter_id, t.sublayer, t.action, bool(t.hard)) for t in rec.terminating)
                dkey = (rec.action, rec.filter, rec.filter_id, rec.sublayer, bool(rec.veto), terms)
                d = self.decisions.get(dkey)
                if d is None:
                    d = len(self.decisions)
                    self.decisions[dkey] = d
                    flat: list[Any] = []
                    for t in terms:
                        flat += [self.atom(t[0], out), t[1], self.atom(t[2], out), self.atom(t[3], out), t[4]]
                    out.append((K_DEF_DECISION, self.atom(rec.action, out), self.atom(rec.filter, out),
                                rec.filter_id, self.atom(rec.sublayer, out), bool(rec.veto), *flat))
                self.decisions_fast[dfast] = d
            f = self._fields(rec.host, rec.layer, rec.fields, out)
            out.append((K_CLASSIFY, self.t(rec.t), w, rec.flow, d, f))
        elif isinstance(rec, StackRecord):
            flat_data = self._data(rec.data, out)
            out.append((K_STACK, self.t(rec.t), self.atom(rec.host, out), self.atom(rec.event, out), rec.flow,
                        self.atom(rec.detail, out), *flat_data))
        elif isinstance(rec, NetEventRecord):
            flat_data = self._data(rec.data, out)
            out.append((K_NET_EVENT, self.t(rec.t), self.atom(rec.host, out), self.atom(rec.type, out),
                        rec.filter_id, rec.layer_id, self.atom(rec.direction, out), rec.flow, *flat_data))
        elif isinstance(rec, AuditRecord):
            flat_data = self._data(rec.data, out)
            out.append((K_AUDIT, self.t(rec.t), self.atom(rec.host, out), rec.event_id, rec.filter_id,
                        rec.layer_id, rec.flow, *flat_data))
        elif isinstance(rec, PolicyRecord):
            out.append((K_POLICY, self.t(rec.t), self.atom(rec.host, out),
                        [self.atom(a, out) for a in rec.added], [self.atom(r, out) for r in rec.removed],
                        [self.atom(r, out) for r in rec.reauth_layers]))
        elif isinstance(rec, ObservedRecord):
            out.append((K_OBSERVED, self.t(rec.t), self.atom(rec.host, out), rec.event, self.atom(rec.type, out),
                        self.atom(rec.action, out), rec.filter_id, self.atom(rec.matched_by, out),
                        self.atom(rec.verdict, out), [self.atom(u, out) for u in rec.unknown_fields]))
        elif isinstance(rec, ExpectRecord):
            out.append((K_EXPECT, bool(rec.ok), _plain(rec.expect), rec.matched, rec.message))
        else:  # pragma: no cover - TraceRecord is a closed union
            raise TypeError(f"not a trace record: {rec!r}")
        return out


# ----------------------------------------------------------------------------- header


def _scenario_dict(scenario: Any) -> Any:
    if scenario is None or isinstance(scenario, dict):
        return _plain(scenario)
    return _plain(scenario.to_dict())


def _scenario_source(scenario: Any) -> str | None:
    for attr in ("source_text", "source"):
        value = getattr(scenario, attr, None)
        if isinstance(value, str) and "\n" in value:
            return value
    path = getattr(scenario, "path", None)
    if isinstance(path, (str, os.PathLike)):
        try:
            return Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
    return None


def _source_or_none(data: Any, source: str | None) -> str | None:
    """The scenario text, unless ``Scenario.to_dict()`` already holds it (no second copy)."""
    if isinstance(data, dict) and data.get("source") == source:
        return None
    return source


def _hosts(scenario_data: Any) -> list[dict[str, Any]]:
    hosts: list[dict[str, Any]] = []
    items = scenario_data.get("hosts", scenario_data.get("host", [])) if isinstance(scenario_data, dict) else []
    for h in items or []:
        if isinstance(h, dict) and isinstance(h.get("name"), str):
            addrs = h.get("address", h.get("addresses", []))
            if isinstance(addrs, str):
                addrs = [addrs]
            hosts.append({"name": h["name"], "addresses": [str(a) for a in addrs or []]})
    return hosts


def _policy_text(policy: Any) -> str:
    if isinstance(policy, str):
        return policy
    from wfptui.io.policy_file import dump_policy

    return str(dump_policy(policy))


def make_header(*, scenario: Any, policies: Mapping[str, Any], source: str | None = None,
                created: str | None = None) -> dict[str, Any]:
    """The format-2 header map for a recording of ``scenario`` run with ``policies``."""
    data = _scenario_dict(scenario)
    if created is None:
        created = _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return {
        "format": FORMAT_NAME,
        "format_version": CURRENT_FORMAT_VERSION,
        "app_version": __version__,
        "created": created,
        "clock": "t_us",
        "scenario": {"data": data, "source": _source_or_none(data, source if source is not None
                                                             else _scenario_source(scenario))},
        "policies": {str(h): _policy_text(p) for h, p in policies.items()},
        "hosts": _hosts(data),
    }


# ----------------------------------------------------------------------------- writer


class RecordingWriter:
    """Streams a recording into ``out`` (a binary file): header, records, end record.

    ``write_recording`` wraps this in an atomic save; a live recorder can use it on an
    ``atomic_writer`` and call :meth:`close` when done.
    """

    def __init__(self, out: BinaryIO, header: Mapping[str, Any]) -> None:
        self._out = out
        self._packer = msgpack.Packer(use_bin_type=True, autoreset=False)
        self._enc = _Encoder()
        scen = header.get("scenario")
        if isinstance(scen, dict) and isinstance(scen.get("data"), dict):
            self._enc.set_steps(scen["data"].get("steps"))
        self._crc = 0
        self._closed = False
        self._packer.pack(dict(header))
        self._flush(force=True)

    def _flush(self, force: bool = False) -> None:
        buf = self._packer.getbuffer()
        if force or len(buf) >= 1 << 16:
            self._crc = zlib.crc32(buf, self._crc)
            self._out.write(buf)
            del buf
            self._packer.reset()

    def _write(self, objs: list[Any]) -> None:
        pack = self._packer.pack
        for o in objs:
            pack(o)
        self._flush()

    def add_input(self, step: Any) -> None:
        self._write(self._enc.encode_input(step))

    def add_record(self, record: TraceRecord) -> None:
        self._write(self._enc.encode_record(record))

    def add_records(self, records: Iterable[TraceRecord]) -> None:
        enc = self._enc.encode_record
        pack = self._packer.pack
        for i, rec in enumerate(records):
            for o in enc(rec):
                pack(o)
            if i & 1023 == 1023:
                self._flush()
        self._flush()

    @property
    def count(self) -> int:
        return self._enc.count

    def close(self) -> None:
        """Write the end record (count and CRC-32 of everything before it) and flush."""
        if self._closed:
            return
        self._flush(force=True)
        self._packer.pack((K_END, self._enc.count, self._crc))
        self._flush(force=True)
        self._out.flush()
        self._closed = True


def write_recording(path: str | os.PathLike[str], *, scenario: Any, policies: Mapping[str, Any],
                    inputs: Iterable[Any], records: Iterable[TraceRecord], source: str | None = None,
                    created: str | None = None) -> None:
    """Save a run as a recording at ``path``, atomically (io/atomic.py); ``-`` = stdout.

    ``scenario``: the ``Scenario`` (or its ``to_dict()``); ``policies``: host → ``Policy``
    (or policy TOML text); ``inputs``: the executed steps (``RunResult.inputs``);
    ``records``: the trace (``RunResult.records``). ``source``: the scenario's TOML text
    (default: taken from the scenario object when it carries it).
    """
    if os.fspath(path) == "-":  # standard output, as bytes (spec §8)
        from wfptui.io.stdio import write_output

        write_output("-", encode_recording(scenario=scenario, policies=policies, inputs=inputs, records=records,
                                           source=source, created=created))
        return
    header = make_header(scenario=scenario, policies=policies, source=source, created=created)
    with atomic_writer(path) as f:
        buffered = io.BufferedWriter(_NoClose(f), buffer_size=1 << 20)
        writer = RecordingWriter(buffered, header)
        for step in inputs:
            writer.add_input(step)
        writer.add_records(records)
        writer.close()
        buffered.flush()


class _NoClose(io.RawIOBase):
    """A raw stream over ``f`` that leaves ``f`` open (so BufferedWriter can wrap it)."""

    def __init__(self, f: BinaryIO) -> None:
        self._f = f

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self._f.write(b)
        return len(b)

    def close(self) -> None:  # noqa: D401 - keep the underlying file open
        self.flush()


def encode_recording(*, scenario: Any, policies: Mapping[str, Any], inputs: Iterable[Any],
                     records: Iterable[TraceRecord], source: str | None = None,
                     created: str | None = None) -> bytes:
    """The bytes ``write_recording`` would write (tests, in-memory use)."""
    out = io.BytesIO()
    writer = RecordingWriter(out, make_header(scenario=scenario, policies=policies, source=source,
                                              created=created))
    for step in inputs:
        writer.add_input(step)
    writer.add_records(records)
    writer.close()
    return out.getvalue()


# ----------------------------------------------------------------------------- reader


class _Tables:
    """The interning tables a reader builds from define records."""

    __slots__ = ("atoms", "wheres", "decisions", "fields_raw", "_fields", "_mutable")

    def __init__(self) -> None:
        self.atoms: list[Any] = list(STATIC_ATOMS)
        self.wheres: list[tuple[Any, ...]] = []
        self.decisions: list[tuple[Any, ...]] = []
        self.fields_raw: list[tuple[Any, ...]] = []  # DEF_FIELDS records, resolved on demand
        self._fields: dict[int, dict[str, Any]] = {}
        self._mutable: dict[int, bool] = {}

    def fields(self, index: int) -> dict[str, Any]:
        """A private copy of fields dict ``index`` (resolving its chain of bases once)."""
        if index < 0:
            raise ValueError(f"bad fields reference {index}")
        got = self._fields.get(index)
        if got is None:
            got = self._resolve(index)
        if self._mutable[index]:
            return {k: _thaw(v) for k, v in got.items()}
        return got.copy()

    def _resolve(self, index: int) -> dict[str, Any]:
        chain: list[int] = []
        i: Any = index
        while i is not None and i not in self._fields:
            if type(i) is not int or not 0 <= i < len(self.fields_raw) or len(chain) > len(self.fields_raw):
                raise ValueError(f"bad fields reference {i}")
            chain.append(i)
            i = self.fields_raw[i][1]
            if i is not None and (type(i) is not int or i >= chain[-1]):
                raise ValueError("a fields record refers to a later one")
        for j in reversed(chain):
            raw = self.fields_raw[j]
            base = raw[1]
            values = {} if base is None else dict(self._fields[base])
            _apply_fields(values, raw, self.atoms)
            self._fields[j] = values
            self._mutable[j] = any(type(v) in (list, dict) for v in values.values())
        return self._fields[index]


def _str_or_none(v: Any) -> str | None:
    if v is None or type(v) is str:
        return v
    raise ValueError(f"expected a string, got {type(v).__name__}")


def _int_or_none(v: Any) -> int | None:
    if v is None or (type(v) is int):
        return v
    raise ValueError(f"expected an integer, got {type(v).__name__}")


def _t(v: float | None) -> float:
    if v is None:
        raise ValueError("bad time")
    return v


class _Clock:
    """Absolute times of trace records, computed in order as far as needed (§1.3 of the format)."""

    __slots__ = ("times", "tick", "prev")

    def __init__(self) -> None:
        self.times: list[float | None] = []  # None where a record has no valid time
        self.tick = 0
        self.prev: float | None = 0.0

    def step(self, raw: Any) -> None:
        try:
            v: Any = raw[1] if raw[0] != K_EXPECT else False
        except (TypeError, IndexError, KeyError):
            v = False
        tv = type(v)
        if v is None:
            self.times.append(self.prev)
        elif tv is int:
            self.tick += v
            self.prev = self.tick / 1_000_000
            self.times.append(self.prev)
        elif tv is float and math.isfinite(v) and abs(v) < 1e15:
            self.tick = round(v * 1_000_000)
            self.prev = v
            self.times.append(v)
        else:
            self.times.append(None)


def _define(tables: _Tables, o: tuple[Any, ...]) -> None:
    """Apply one define record (raises ValueError/IndexError/TypeError on bad input)."""
    kind = o[0]
    atoms = tables.atoms
    if kind == K_DEF_ATOM:
        if len(o) != 2:
            raise ValueError("bad atom definition")
        atoms.append(_thaw(o[1]))
    elif kind == K_DEF_WHERE:
        _k, host, layer, layer_id, packet, op, direction, reauth = o
        tables.wheres.append((
            _str(atoms[host]), _str(atoms[layer]), _int(layer_id), _str_or_none(atoms[packet]),
            _str_or_none(atoms[op]), _str_or_none(atoms[direction]), _bool(reauth)))
    elif kind == K_DEF_DECISION:
        _k, action, filt, filter_id, sublayer, veto, *flat = o
        if len(flat) % 5:
            raise ValueError("bad terminating list")
        terms = tuple(
            Terminating(filter=_str(atoms[flat[i]]), filter_id=_int(flat[i + 1]),
                        sublayer=_str(atoms[flat[i + 2]]), action=_str(atoms[flat[i + 3]]),
                        hard=_bool(flat[i + 4]))
            for i in range(0, len(flat), 5)
        )
        tables.decisions.append((_str(atoms[action]), _str_or_none(atoms[filt]), _int_or_none(filter_id),
                                 _str_or_none(atoms[sublayer]), terms, _bool(veto)))
    elif kind == K_DEF_FIELDS:
        tables.fields_raw.append(o)
    else:
        raise ValueError(f"unknown record kind {kind!r}")


def _apply_fields(values: dict[str, Any], raw: tuple[Any, ...], atoms: list[Any]) -> None:
    """Apply one DEF_FIELDS record's changes to ``values`` (ValueError etc. on bad input)."""
    fl = raw[2:]
    i = 0
    n = len(fl)
    while i < n:
        ref = fl[i]
        if type(ref) is not int:
            raise ValueError("bad field reference")
        if ref < 0:
            del values[_str(atoms[-ref - 1])]
            i += 1
        else:
            if i + 1 >= n:
                raise ValueError("field without a value")
            v = fl[i + 1]
            tv = type(v)
            if tv is int:
                if v < 0:
                    v = atoms[-v - 1]
            elif not (v is None or tv is bool or tv is float):
                raise ValueError("bad field value")
            values[_str(atoms[ref])] = v
            i += 2


def _nonneg(v: Any) -> int:
    if type(v) is not int or v < 0:
        raise ValueError(f"bad reference {v!r}")
    return v


def _str(v: Any) -> str:
    if type(v) is not str:
        raise ValueError(f"expected a string, got {type(v).__name__}")
    return v


def _int(v: Any) -> int:
    if type(v) is not int:
        raise ValueError(f"expected an integer, got {type(v).__name__}")
    return v


def _bool(v: Any) -> bool:
    if type(v) is not bool:
        raise ValueError(f"expected a boolean, got {type(v).__name__}")
    return v


def _flat_data(atoms: list[Any], flat: Sequence[Any]) -> dict[str, Any]:
    if len(flat) % 2:
        raise ValueError("odd data list")
    return {_str(atoms[_nonneg(flat[i])]): atoms[_nonneg(flat[i + 1])] for i in range(0, len(flat), 2)}


def _copy(v: Any) -> Any:
    """A private copy of a table value (fields/data values may be lists or dicts)."""
    if type(v) in (list, dict):
        return _thaw(v)
    return v


def _materialize(raw: Any, seq: int, t: float | None, tables: _Tables) -> TraceRecord:
    """Build the trace record for one raw format-2 tuple (ValueError etc. on bad input)."""
    if type(raw) is not tuple:
        raise ValueError("record is not an array")
    kind = raw[0]
    atoms = tables.atoms
    if kind == K_CLASSIFY:
        _k, _t0, w, flow, d, f = raw
        if w < 0 or d < 0 or (flow is not None and type(flow) is not int) or t is None:
            raise ValueError("bad classification record")
        host, layer, layer_id, packet, op, direction, reauth = tables.wheres[w]
        action, filt, filter_id, sublayer, terms, veto = tables.decisions[d]
        return ClassifyRecord(seq, t, host, layer, layer_id, packet, op, direction, flow,
                              reauth, action, filt, filter_id, sublayer, terms, veto, tables.fields(f))
    if kind == K_STACK:
        _k, _t0, host, event, flow, detail, *flat = raw
        return StackRecord(seq=seq, t=_t(t), host=_str(atoms[_nonneg(host)]), event=_str(atoms[_nonneg(event)]),
                           flow=_int_or_none(flow), detail=_str(atoms[_nonneg(detail)]),
                           data={k: _copy(v) for k, v in _flat_data(atoms, flat).items()})
    if kind == K_NET_EVENT:
        _k, _t0, host, typ, filter_id, layer_id, direction, flow, *flat = raw
        return NetEventRecord(seq=seq, t=_t(t), host=_str(atoms[_nonneg(host)]), type=_str(atoms[_nonneg(typ)]),
                              filter_id=_int_or_none(filter_id), layer_id=_int(layer_id),
                              direction=_str(atoms[_nonneg(direction)]), flow=_int_or_none(flow),
                              data={k: _copy(v) for k, v in _flat_data(atoms, flat).items()})
    if kind == K_AUDIT:
        _k, _t0, host, event_id, filter_id, layer_id, flow, *flat = raw
        return AuditRecord(seq=seq, t=_t(t), host=_str(atoms[_nonneg(host)]), event_id=_int(event_id),
                           filter_id=_int_or_none(filter_id), layer_id=_int(layer_id), flow=_int_or_none(flow),
                           data={k: _copy(v) for k, v in _flat_data(atoms, flat).items()})
    if kind == K_POLICY:
        _k, _t0, host, added, removed, reauth_layers = raw
        return PolicyRecord(seq=seq, t=_t(t), host=_str(atoms[_nonneg(host)]),
                            added=tuple(_str(atoms[_nonneg(a)]) for a in added),
                            removed=tuple(_str(atoms[_nonneg(r)]) for r in removed),
                            reauth_layers=tuple(_str(atoms[_nonneg(r)]) for r in reauth_layers))
    if kind == K_OBSERVED:
        _k, _t0, host, event, typ, action, filter_id, matched_by, verdict, unknown = raw
        if type(unknown) is not tuple:
            raise ValueError("bad observed record")
        return ObservedRecord(seq=seq, t=_t(t), host=_str(atoms[_nonneg(host)]), event=_int(event),
                              type=_str(atoms[_nonneg(typ)]), action=_str_or_none(atoms[_nonneg(action)]),
                              filter_id=_int_or_none(filter_id),
                              matched_by=_str_or_none(atoms[_nonneg(matched_by)]),
                              verdict=_str(atoms[_nonneg(verdict)]),
                              unknown_fields=tuple(_str(atoms[_nonneg(u)]) for u in unknown))
    if kind == K_EXPECT:
        _k, ok, expect, matched, message = raw
        exp = _thaw(expect)
        if type(exp) is not dict:
            raise ValueError("expect is not a map")
        return ExpectRecord(seq=seq, ok=_bool(ok), expect=exp, matched=_int(matched), message=_str(message))
    raise ValueError(f"unknown record kind {kind!r}")


class LazyRecords(Sequence[TraceRecord]):
    """The trace records of a recording, built from the raw wire tuples when indexed.

    Indexing or iterating builds fresh record objects each time (nothing is cached), so
    hold on to ``list(records)`` when you need them repeatedly. A malformed record raises
    :class:`RecordingError` ("corrupted at record N") when it is built.
    """

    def __init__(self, raws: Sequence[Any], tables: _Tables, seq_marks: list[tuple[int, int]],
                 file: str) -> None:
        self._raws = raws
        self._tables = tables
        self._mark_idx = [i for i, _ in seq_marks]
        self._mark_seq = [s for _, s in seq_marks]
        self._file = file
        self._clock = _Clock()

    def __len__(self) -> int:
        return len(self._raws)

    def seq_of(self, index: int) -> int:
        m = bisect.bisect_right(self._mark_idx, index) - 1
        if m < 0:
            return index + FIRST_SEQ
        return self._mark_seq[m] + index - self._mark_idx[m]

    def _build(self, index: int) -> TraceRecord:
        try:
            raw = self._raws[index]
            clock = self._clock
            n = len(clock.times)
            if index >= n:  # times are deltas: compute them in order up to here (once)
                for j in range(n, index):
                    clock.step(self._raws[j])
                clock.step(raw)
            return _materialize(raw, self.seq_of(index), clock.times[index], self._tables)
        except _DECODE_ERRORS as exc:
            raise RecordingError(f"corrupted at trace record {index}: {_why(exc)}", self._file) from None

    @overload
    def __getitem__(self, index: int) -> TraceRecord: ...

    @overload
    def __getitem__(self, index: slice) -> list[TraceRecord]: ...

    def __getitem__(self, index: int | slice) -> TraceRecord | list[TraceRecord]:
        if isinstance(index, slice):
            return [self._build(i) for i in range(*index.indices(len(self._raws)))]
        if index < 0:
            index += len(self._raws)
        if not 0 <= index < len(self._raws):
            raise IndexError("record index out of range")
        return self._build(index)

    def __iter__(self) -> Iterator[TraceRecord]:
        if not isinstance(self._raws, _OffsetRaws) or self._clock.times:
            for i in range(len(self._raws)):
                yield self._build(i)
            return
        # one sequential pass: decode with a streaming unpacker, compute times on the way
        clock = self._clock
        i = 0
        try:
            for raw in self._raws:
                if i == len(clock.times):
                    clock.step(raw)
                yield _materialize(raw, self.seq_of(i), clock.times[i], self._tables)
                i += 1
        except _DECODE_ERRORS as exc:
            raise RecordingError(f"corrupted at trace record {i}: {_why(exc)}", self._file) from None

    def raw(self, index: int) -> Any:
        """The raw wire tuple of record ``index`` (kind tag first; docs/recording-format.md §1.2).

        Decodes that one record from the file's bytes; to visit them all, :meth:`iter_raw`
        is much faster."""
        return self._raws[index]

    def iter_raw(self) -> Iterator[Any]:
        """Every raw wire tuple in order, decoded by one streaming unpacker."""
        return iter(self._raws)


@dataclass
class Recording:
    """A recording as read: the header, what it needs to replay, and the trace."""

    header: dict[str, Any]
    scenario: Any  # wfptui.core.scenario.Scenario (None when the header has no scenario)
    policies: dict[str, Any]  # host -> Policy
    inputs: list[Any]  # executed steps (Step)
    records: Sequence[TraceRecord]
    count: int  # event records (inputs + trace records)
    path: str = ""
    format_version: int = CURRENT_FORMAT_VERSION  # the version of the file as read (before migration)
    policy_texts: dict[str, str] = field(default_factory=dict)

    @property
    def scenario_data(self) -> Any:
        scen = self.header.get("scenario")
        return scen.get("data") if isinstance(scen, dict) else None

    @property
    def scenario_source(self) -> str | None:
        scen = self.header.get("scenario")
        src = scen.get("source") if isinstance(scen, dict) else None
        if src is None and isinstance(self.scenario_data, dict):
            src = self.scenario_data.get("source")
        return src if isinstance(src, str) else None


def _why(exc: BaseException) -> str:
    name = type(exc).__name__
    text = str(exc)
    if isinstance(exc, msgpack.BufferFull):
        return "an object is larger than the reader allows"
    if isinstance(exc, msgpack.StackError):
        return "nested too deeply"
    if isinstance(exc, (ValueError, TypeError)) and "unpack(b) received extra data" in text:
        return "extra data"
    if isinstance(exc, (IndexError, KeyError)):
        return "reference to something not defined"
    return f"{text or name}"


def _unpacker(f: BinaryIO) -> msgpack.Unpacker:
    return msgpack.Unpacker(
        f, read_size=READ_SIZE, use_list=False, raw=False, strict_map_key=True,
        max_buffer_size=MAX_OBJECT_BYTES, max_str_len=MAX_OBJECT_BYTES, max_bin_len=MAX_OBJECT_BYTES,
        max_array_len=MAX_ARRAY_LEN, max_map_len=MAX_MAP_LEN, max_ext_len=0,
    )


_DECODE_ERRORS = (ValueError, TypeError, IndexError, KeyError, UnicodeDecodeError, AttributeError,
                  RecursionError, msgpack.UnpackException, OverflowError)


#: The largest recording read (about 100 M classifications at the compact encoding).
MAX_RECORDING_BYTES = 2 * 1024 * 1024 * 1024


def read_recording(path: str | os.PathLike[str]) -> Recording:
    """Read a ``.wfpr`` file. Raises :class:`RecordingError` (exit 2 in the CLI) on any problem."""
    from wfptui.io.stdio import is_stdin, read_input

    name = str(path)
    try:
        # Regular files only, capped: /dev/zero or a FIFO must not hang a command (spec §8).
        data = read_input(name, "recording", limit=MAX_RECORDING_BYTES)
    except InputError as exc:
        raise RecordingError(exc.diagnostics[0].message, name) from None
    return decode_recording(data, "<stdin>" if is_stdin(name) else name)


def decode_recording(data: bytes, name: str = "<recording>") -> Recording:
    """Decode the bytes of a recording (see :func:`read_recording`)."""
    size = len(data)
    stream = io.BytesIO(data)
    unpacker = _unpacker(stream)
    # 1. The header.
    try:
        header = unpacker.unpack()
    except msgpack.OutOfData:
        if FORMAT_NAME.encode() in data[:256]:
            raise RecordingError("truncated after 0 records (inside the header)", name) from None
        raise RecordingError("not a wfptui recording", name) from None
    except _DECODE_ERRORS:
        raise RecordingError("not a wfptui recording", name) from None
    if type(header) is not dict or header.get("format") != FORMAT_NAME:
        raise RecordingError("not a wfptui recording", name)
    version = header.get("format_version")
    if type(version) is not int or version < 1:
        raise RecordingError(f"corrupted header: bad format_version {version!r}", name)
    if version > CURRENT_FORMAT_VERSION:
        raise RecordingError(
            f"made by a newer format version ({version} > {CURRENT_FORMAT_VERSION}); upgrade wfptui", name)
    try:
        header = _thaw(header)
    except (ValueError, RecursionError) as exc:
        raise RecordingError(f"corrupted header: {exc}", name) from None
    header_end = unpacker.tell()
    if version == CURRENT_FORMAT_VERSION:
        return _read_current(header, unpacker, data, size, header_end, name)
    from wfptui.io.migrate import upgrade

    try:
        header, body = upgrade(header, unpacker)
    except (ValueError, KeyError, TypeError) as exc:
        raise RecordingError(f"cannot upgrade format version {version}: {exc}", name) from None
    return _read_body(header, body, unpacker, data, size, header_end, name, version)


class _OffsetRaws(Sequence[Any]):
    """The raw trace records of a current-format file, kept as where they start in the file
    and decoded (msgpack, arrays as tuples) when indexed. A record ends where the next
    object starts: the next trace record, or the next other record (``others``, sorted,
    ending with the end of the last object read)."""

    def __init__(self, data: bytes, starts: array[int], others: list[int]) -> None:
        self._data = data
        self._starts = starts
        self._others = others

    def __len__(self) -> int:
        return len(self._starts)

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        starts = self._starts
        start = starts[index]
        end = starts[index + 1] if index + 1 < len(starts) else len(self._data)
        j = bisect.bisect_right(self._others, start)
        if j < len(self._others) and self._others[j] < end:
            end = self._others[j]
        return _unpack_slice(self._data, start, end)

    def __iter__(self) -> Iterator[Any]:
        """Every raw record in order, with one streaming unpacker (faster than indexing)."""
        if not self._starts:
            return
        first = self._starts[0]
        unpacker = msgpack.Unpacker(io.BytesIO(memoryview(self._data)[first:self._others[-1]]),
                                    read_size=READ_SIZE, use_list=False, raw=False, strict_map_key=True,
                                    max_buffer_size=MAX_OBJECT_BYTES, max_ext_len=0)
        n = len(self._starts)
        for o in unpacker:
            # the read pass decoded every other record: those have kind tags >= K_TRACE_LIMIT
            if o[0] < K_TRACE_LIMIT:
                yield o
                n -= 1
                if not n:
                    return


def _unpack_slice(data: bytes, start: int, end: int) -> Any:
    return msgpack.unpackb(data[start:end], use_list=False, raw=False, strict_map_key=True, max_ext_len=0)


def _read_current(header: dict[str, Any], unpacker: msgpack.Unpacker, data: bytes, size: int,
                  header_end: int, name: str) -> Recording:
    """The reader's fast path for the current format: one pass that skips over each trace
    record (noting where it starts) and decodes only the define, input and end records."""
    tables = _Tables()
    starts = array("q")
    add = starts.append
    others: list[int] = []
    inputs_raw: list[Any] = []
    seq_marks: list[tuple[int, int]] = []
    end: Any = None
    error: str | None = None
    skip = unpacker.skip
    unpack = unpacker.unpack
    tell = unpacker.tell
    limit = K_TRACE_LIMIT
    off = header_end
    while True:
        try:
            b0 = data[off]
            # the common case: a fixarray (1..15 elements) whose kind is a positive fixint < 8:
            # note where it starts and skip it (it is decoded when the record is built)
            if 0x90 < b0 < 0xA0 and data[off + 1] < limit:
                skip()
                add(off)
                off = tell()
                continue
            o = unpack()
        except (msgpack.OutOfData, IndexError):  # end of the data
            break
        except _DECODE_ERRORS as exc:
            error = _why(exc)
            break
        try:
            kind = o[0]
            if kind < limit:
                add(off)
                off = tell()
                continue
            others.append(off)
            if kind == K_DEF_FIELDS:
                tables.fields_raw.append(o)
            elif kind == K_INPUT:
                if len(o) != 2:
                    raise ValueError("bad input record")
                inputs_raw.append(_input(o[1], header))
            elif kind == K_SEQ:
                seq_marks.append((len(starts), _int(o[1])))
            elif kind == K_END:
                end = o
                break
            else:
                _define(tables, o)
        except _DECODE_ERRORS as exc:
            error = _why(exc)
            break
        off = tell()
    others.append(off)
    raws = _OffsetRaws(data, starts, others)
    n_events = len(raws) + len(inputs_raw)
    if error is None and end is not None:
        error = _check_end(end, n_events, tell(), size, data, off, CURRENT_FORMAT_VERSION)
    return _finish(header, raws, tables, seq_marks, inputs_raw, end, error, n_events, name,
                   CURRENT_FORMAT_VERSION)


def _read_body(header: dict[str, Any], body: Iterable[Any], unpacker: msgpack.Unpacker, data: bytes,
               size: int, header_end: int, name: str, version: int) -> Recording:
    tables = _Tables()
    raws: list[Any] = []
    inputs_raw: list[Any] = []
    seq_marks: list[tuple[int, int]] = []
    end: tuple[Any, ...] | None = None
    error: str | None = None
    append = raws.append
    fields_append = tables.fields_raw.append
    atoms_append = tables.atoms.append
    gc_was_enabled = gc.isenabled()
    gc.disable()  # the raw tuples hold no cycles; GC passes over a million of them cost more than decoding
    try:
        it = iter(body)
        while True:
            try:
                for o in it:
                    kind = o[0]
                    if kind < K_TRACE_LIMIT:
                        append(o)
                        continue
                    if kind == K_DEF_FIELDS:
                        fields_append(o)
                        continue
                    if kind == K_DEF_ATOM:
                        if len(o) != 2:
                            raise ValueError("bad atom definition")
                        v = o[1]
                        atoms_append(v if type(v) in _SCALARS else _thaw(v))
                        continue
                    if kind == K_INPUT:
                        if len(o) != 2:
                            raise ValueError("bad input record")
                        inputs_raw.append(_input(o[1], header))
                    elif kind == K_SEQ:
                        seq_marks.append((len(raws), _int(o[1])))
                    elif kind == K_END:
                        end = o
                        break
                    else:
                        _define(tables, o)
                break
            except msgpack.OutOfData:
                break
            except _DECODE_ERRORS as exc:
                error = _why(exc)
                break
    finally:
        if gc_was_enabled:
            gc.enable()
    n_events = len(raws) + len(inputs_raw)
    if error is None and end is not None:
        end_offset = unpacker.tell() - len(msgpack.packb(end))
        error = _check_end(end, n_events, unpacker.tell(), size, data, end_offset, version)
    return _finish(header, raws, tables, seq_marks, inputs_raw, end, error, n_events, name, version)


def _finish(header: dict[str, Any], raws: Sequence[Any], tables: _Tables, seq_marks: list[tuple[int, int]],
            inputs_raw: list[Any], end: Any, error: str | None, n_events: int, name: str,
            version: int) -> Recording:
    if error is not None or end is None:
        partial = _partial(header, raws, tables, seq_marks, inputs_raw, name, version)
        if error is not None:
            n = len(partial.records) + len(partial.inputs)
            raise RecordingError(f"corrupted at record {n_events}: {error} (the {n} records read before can "
                                 "still be shown)", name, partial)
        n = partial.count
        raise RecordingError(f"truncated after {n} records (the {n} records read can still be shown)",
                             name, partial)
    scenario, policies, texts = _scenario_and_policies(header, name)
    inputs = _inputs(inputs_raw, name, policies)
    records = LazyRecords(raws, tables, seq_marks, name)
    return Recording(header=header, scenario=scenario, policies=policies, inputs=inputs, records=records,
                     count=n_events, path=name, format_version=version, policy_texts=texts)


def _input(value: Any, header: dict[str, Any]) -> Any:
    """An input record's step: the map itself, or the index of a step of the header's scenario."""
    if type(value) is int:
        scen = header.get("scenario")
        data = scen.get("data") if isinstance(scen, dict) else None
        steps = data.get("steps") if isinstance(data, dict) else None
        if not isinstance(steps, list) or not 0 <= value < len(steps):
            raise ValueError(f"input refers to step {value}, which the scenario does not have")
        return steps[value]
    return _thaw(value)


def _check_end(end: tuple[Any, ...], n_events: int, tell: int, size: int, data: bytes, end_offset: int,
               version: int) -> str | None:
    if len(end) != 3 or type(end[1]) is not int:
        return "bad end record"
    if end[1] != n_events:
        return f"the end record counts {end[1]} records but {n_events} were read"
    if tell != size:
        return f"{size - tell} bytes of unexpected data after the end record"
    crc = end[2]
    if crc is not None and version >= 2:
        if type(crc) is not int:
            return "bad checksum in the end record"
        if zlib.crc32(memoryview(data)[:end_offset]) != crc:
            return "checksum mismatch (the file was altered or damaged)"
    return None


def _partial(header: dict[str, Any], raws: Sequence[Any], tables: _Tables, seq_marks: list[tuple[int, int]],
             inputs_raw: list[Any], name: str, version: int) -> Recording:
    """What can be shown of a damaged file: every record up to the first bad one."""
    lazy = LazyRecords(raws, tables, seq_marks, name)
    good: list[TraceRecord] = []
    for i in range(len(raws)):
        try:
            good.append(lazy[i])
        except RecordingError:
            break
    try:
        scenario, policies, texts = _scenario_and_policies(header, name)
    except RecordingError:
        scenario, policies, texts = None, {}, {}
    try:
        inputs = _inputs(inputs_raw, name, policies)
    except RecordingError:
        inputs = []
    return Recording(header=header, scenario=scenario, policies=policies, inputs=inputs, records=good,
                     count=len(good) + len(inputs), path=name, format_version=version, policy_texts=texts)


def _filter_parser() -> Any:
    try:
        from wfptui.io.policy_file import parse_filter_tables
    except ImportError:  # pragma: no cover - before the policy module exists
        return None
    return parse_filter_tables


def _inputs(inputs_raw: list[Any], name: str, policies: Mapping[str, Any] | None = None) -> list[Any]:
    if not inputs_raw:
        return []
    try:
        from wfptui.core.scenario import Step
    except ImportError:  # pragma: no cover - before the scenario model exists
        return inputs_raw
    parser = _filter_parser()
    pols = policies or {}
    out = []
    for i, d in enumerate(inputs_raw):
        try:
            if not isinstance(d, dict):
                raise ValueError("not a map")
            out.append(Step.from_dict(d, pols.get(str(d.get("host"))), parser))
        except InputError as exc:
            raise RecordingError(f"corrupted input record {i}: {exc}", name) from None
        except Exception as exc:  # noqa: BLE001 - any problem in the step is a corrupted input
            raise RecordingError(f"corrupted input record {i}: {exc}", name) from None
    return out


def _scenario_and_policies(header: dict[str, Any], name: str) -> tuple[Any, dict[str, Any], dict[str, str]]:
    texts_raw = header.get("policies") or {}
    if not isinstance(texts_raw, dict):
        raise RecordingError("corrupted header: policies is not a map", name)
    texts: dict[str, str] = {}
    policies: dict[str, Any] = {}
    for host, text in texts_raw.items():
        if not isinstance(text, str):
            raise RecordingError(f"corrupted header: policy of host {host!r} is not text", name)
        texts[host] = text
        try:
            from wfptui.io.policy_file import parse_policy
        except ImportError:  # pragma: no cover
            policies[host] = text
            continue
        try:
            policies[host] = parse_policy(text, f"{name}[policy {host}]")
        except InputError as exc:
            raise RecordingError(f"embedded policy of host {host!r}: {exc}", name) from None
        except Exception as exc:  # noqa: BLE001
            raise RecordingError(f"embedded policy of host {host!r}: {exc}", name) from None
    scen = header.get("scenario")
    data = scen.get("data") if isinstance(scen, dict) else None
    scenario: Any = None
    if data is not None:
        try:
            from wfptui.core.scenario import Scenario
        except ImportError:  # pragma: no cover
            scenario = data
        else:
            try:
                if not isinstance(data, dict):
                    raise ValueError("not a map")
                scenario = Scenario.from_dict(data, policies=policies, filter_parser=_filter_parser())
            except Exception as exc:  # noqa: BLE001
                raise RecordingError(f"corrupted header: bad scenario: {exc}", name) from None
    return scenario, policies, texts
