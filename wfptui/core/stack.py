"""The simulated TCP/IP stacks: hosts, sockets, ALE flows and layer traversal (wfp-model.md §2).

Every socket operation and packet is classified at each WFP layer it crosses, in
Windows' order, by the host's compiled policy:

* TCP (§2.2, table §2.12): passive open (BIND_REDIRECT, RESOURCE_ASSIGNMENT,
  AUTH_LISTEN); active open (implicit bind, CONNECT_REDIRECT, AUTH_CONNECT, SYN out);
  server SYN (IN_IPPACKET, IN_TRANSPORT, AUTH_RECV_ACCEPT, SYN-ACK out); client SYN-ACK
  (IN_IPPACKET, IN_TRANSPORT, FLOW_ESTABLISHED, ACK out); server ACK (IN_IPPACKET,
  IN_TRANSPORT, FLOW_ESTABLISHED); data (STREAM, OUT_TRANSPORT, OUT_IPPACKET /
  IN_IPPACKET, IN_TRANSPORT, STREAM); SYN with no listener (IN_IPPACKET,
  IN_TRANSPORT_DISCARD, RST out unless blocked there: stealth, §2.4); close
  (ENDPOINT_CLOSURE, RESOURCE_RELEASE, Win7+; termination itself is indicated nowhere).
* UDP (§2.3): bind; first send to a new remote (CONNECT_REDIRECT, AUTH_CONNECT,
  FLOW_ESTABLISHED, DATAGRAM_DATA, OUT_TRANSPORT, OUT_IPPACKET); first receive
  (IN_IPPACKET, IN_TRANSPORT, AUTH_RECV_ACCEPT, FLOW_ESTABLISHED, DATAGRAM_DATA); later
  datagrams skip ALE; no socket: IN_IPPACKET, IN_IPPACKET_DISCARD, ICMP error out
  (OUT_ICMP_ERROR, OUT_TRANSPORT, OUT_IPPACKET) unless blocked; flows idle out (60 s).
* ICMP echo (§2.4, §2.6, derived): an ALE flow keyed by type/code/id, classified like a
  UDP flow; the reply belongs to the same flow; type in IP_LOCAL_PORT, code in
  IP_REMOTE_PORT. ICMP errors only at the ICMP error layers.
* A block anywhere: the same packet/operation is classified at the twin discard layer
  (when one exists) and goes no further (§2.7).
* Reauthorization (§2.5): a policy change at AUTH_CONNECT / AUTH_RECV_ACCEPT marks the
  flows authorized at that layer; their next packet, either direction, is classified
  there with IS_REAUTHORIZE + POLICY_CHANGE before STREAM / DATAGRAM_DATA.

Decisions where the docs are silent are listed in docs/decisions-engine.md.

The per-packet path is lean (benchmarks/README.md, "## replay"); none of it changes a
trace byte:

* a ``Ctx`` projects onto a layer once (``View``: values, rendered fields), from a
  per-host plan that pre-renders every value endpoints share; the View keeps its
  classification until the host's policy changes (``Host.policy_token``);
* the trace (``core.trace.Trace``) holds compact rows, not record objects: a
  classification's row points at its View's outcome (``View.out``), and a record is
  built from its row when read;
* a TCP data segment crosses its three layers per host as one ``Path``; a crossing with
  no block and no event keeps its rows, so the flow's next segments (same policy
  generation, same size) append the same rows and take the same hop (``Pkt.hop``) —
  the general path runs again after any policy change; tests/core/test_trace_rows.py
  checks the two give the same trace. The clock runs events in batches and rounds times
  with ``round_us`` (bit-identical to ``round(t, 6)``).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping
from typing import Any

from wfptui.core.arbitration import CompiledLayer, CompiledPolicy, compile_policy
from wfptui.core.datatypes import DataType, WinVersion
from wfptui.core.events import (
    audit_data,
    audit_ids,
    direction_word,
    layer_family,
    net_event_data,
    net_event_type,
)
from wfptui.core.fields import field_since
from wfptui.core.layers import Layer, get_layer
from wfptui.core.match import same_field_ored
from wfptui.core.model import BLOCK, EMPTY, ClassifyResult, Filter, Policy, Token, Value
from wfptui.core.scenario import (
    LOOPBACK_INTERFACE,
    AppSpec,
    HostSpec,
    InterfaceSpec,
    Scenario,
    Step,
    apply_change,
)
from wfptui.core.trace import (
    AuditRecord,
    ClassifyRecord,
    NetEventRecord,
    ObservedRecord,
    Outcome,
    PolicyRecord,
    Trace,
    TraceResults,
    classify_row,
    stack_row,
)
from wfptui.core.values import format_address, json_value, normalize_app_id, parse_address

# ----------------------------------------------------------------------------- constants

TCP, UDP, ICMP4, ICMP6 = 6, 17, 1, 58

F_LOOPBACK = 0x1  # FWP_CONDITION_FLAG_IS_LOOPBACK (§4.5)
#: FWP_CONDITION_FLAG_IS_NON_APPCONTAINER_LOOPBACK (Win8+, §2.8): loopback between apps that are
#: not AppContainers. Every simulated app is unpackaged (ALE_PACKAGE_ID S-1-0-0), so Win8+
#: loopback carries this bit beside IS_LOOPBACK; Windows Firewall's AppContainer loopback
#: filters test it (FLAGS_ALL_SET 0x800000).
F_NON_APPCONTAINER_LOOPBACK = 0x800000
F_REAUTHORIZE = 0x4  # FWP_CONDITION_FLAG_IS_REAUTHORIZE
F_WILDCARD_BIND = 0x8  # FWP_CONDITION_FLAG_IS_WILDCARD_BIND
F_IMPLICIT_BIND = 0x200  # FWP_CONDITION_FLAG_IS_IMPLICIT_BIND (Vista only, §4.5)
REASON_POLICY_CHANGE = 0x1  # FWP_CONDITION_REAUTHORIZE_REASON_POLICY_CHANGE (§4.6)
OUTBOUND, INBOUND = 0, 1  # FWP_DIRECTION
NLAT_UNICAST = 1  # NL_ADDRESS_TYPE NlatUnicast
COMPARTMENT_DEFAULT = 1
PACKAGE_ID_NONE = "S-1-0-0"  # ALE_PACKAGE_ID of a non-packaged app

#: Virtual timing (seconds). One-way wire latency between hosts, and on loopback.
LATENCY = 0.0005
LOOPBACK_LATENCY = 0.00005
#: Spacing of consecutive segments/datagrams of one ``send``.
PACKET_GAP = 0.00001
#: Idle timeout of unicast UDP and ICMP flows (§2.6).
IDLE_TIMEOUT = 60.0
#: TCP SYN retransmissions (TcpMaxConnectRetransmissions = 2) and initial RTO: 3 s
#: before Windows 8, 1 s from Windows 8 on.
MAX_SYN_RETRANSMITS = 2
#: ping.exe's default timeout, and how long a probe waits for an answer.
PING_TIMEOUT = 4.0
PROBE_TIMEOUT = 2.0
EPHEMERAL_FIRST = 49152  # Windows dynamic port range 49152-65535 (§2.11, Q6)

#: Layer families where IS_LOOPBACK is set for loopback traffic (union of the SDK and
#: WDK lists, Q1), discard twins included.
_LOOPBACK_FAMILIES = frozenset({
    "INBOUND_IPPACKET", "OUTBOUND_IPPACKET", "INBOUND_TRANSPORT", "OUTBOUND_TRANSPORT", "STREAM",
    "DATAGRAM_DATA", "INBOUND_ICMP_ERROR", "OUTBOUND_ICMP_ERROR", "ALE_AUTH_RECV_ACCEPT",
    "ALE_AUTH_CONNECT", "ALE_FLOW_ESTABLISHED",
})
_EVENT_PERMIT_FAMILIES = frozenset({
    "ALE_RESOURCE_ASSIGNMENT", "ALE_AUTH_LISTEN", "ALE_AUTH_CONNECT", "ALE_AUTH_RECV_ACCEPT",
})
_REAUTH_FAMILIES = frozenset({"ALE_AUTH_CONNECT", "ALE_AUTH_RECV_ACCEPT"})
_EVENT_PERMIT_IDS = frozenset(get_layer(f"{fam}_V{v}").layer_id for fam in _EVENT_PERMIT_FAMILIES for v in (4, 6))

#: The app that answers ICMP echo requests: the kernel ("System", LocalSystem).
SYSTEM_APP = AppSpec(name="System", path="System", user="S-1-5-18")
#: The app a ``ping`` step uses when it names none.
PING_APP = AppSpec(name="ping", path="C:\\Windows\\System32\\PING.EXE")
#: The app of a ``connect``/``bind``/``listen`` step that names none.
DEFAULT_APP = AppSpec(name="app", path="C:\\Windows\\System32\\svchost.exe")

_GROUPS_USER = frozenset({"S-1-1-0", "S-1-5-11", "S-1-5-32-545"})  # Everyone, Authenticated Users, Users
_GROUPS_SYSTEM = frozenset({"S-1-1-0", "S-1-5-11", "S-1-5-32-544"})  # ... Administrators


def is_loopback_address(addr: int, bits: int) -> bool:
    """127.0.0.0/8 or ::1: present on every Windows host on the software-loopback interface
    (IF_TYPE_SOFTWARE_LOOPBACK, 24), whether or not a scenario lists it (RFC 1122 §3.2.1.3,
    RFC 4291 §2.5.3)."""
    return (addr >> 24) == 127 if bits == 32 else addr == 1


def user_token(sid: str) -> Token:
    """ALE_USER_ID: the app's user SID with the usual well-known groups."""
    return Token(user=sid, groups=_GROUPS_SYSTEM if sid == "S-1-5-18" else _GROUPS_USER)


# ----------------------------------------------------------------------------- virtual clock


class Timer:
    """A cancellable event handle; a cancelled activity timer stops counting at once."""

    __slots__ = ("clock", "activity", "cancelled")

    def __init__(self, clock: VirtualClock, activity: bool) -> None:
        self.clock = clock
        self.activity = activity
        self.cancelled = False

    def cancel(self) -> None:
        if not self.cancelled:
            self.cancelled = True
            if self.activity:
                self.clock.activity -= 1


class VirtualClock:
    """A virtual-time event queue. ``activity`` events keep a step "busy" (packets in
    flight, retransmission timers); background events (flow idle timers) do not."""

    def __init__(self) -> None:
        self.now = 0.0
        self._heap: list[tuple[float, int, Timer | None, bool, Callable[..., None], tuple[Any, ...]]] = []
        self._n = 0
        self.activity = 0

    def call_at(self, t: float, fn: Callable[..., None], *args: Any, activity: bool = True) -> None:
        self._n += 1
        heapq.heappush(self._heap, (max(t, self.now), self._n, None, activity, fn, args))
        if activity:
            self.activity += 1

    def call_later(self, dt: float, fn: Callable[..., None], *args: Any, activity: bool = True) -> None:
        self.call_at(self.now + dt, fn, *args, activity=activity)

    def call_series(self, n: int, gap: float, fn: Callable[..., None], args: tuple[Any, ...]) -> None:
        """``call_later(i * gap, fn, *args)`` for i in 0..n-1 (activity events)."""
        heap = self._heap
        push = heapq.heappush
        now = self.now
        k = self._n
        for i in range(n):
            k += 1
            push(heap, (now + i * gap, k, None, True, fn, args))
        self._n = k
        self.activity += n

    def timer(self, dt: float, fn: Callable[..., None], *args: Any) -> Timer:
        """An activity event that can be cancelled (retransmission and reply timeouts)."""
        handle = Timer(self, True)
        self._n += 1
        heapq.heappush(self._heap, (self.now + dt, self._n, handle, True, fn, args))
        self.activity += 1
        return handle

    def next_time(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def run_one(self) -> None:
        t, _, handle, activity, fn, args = heapq.heappop(self._heap)
        if handle is not None:
            if handle.cancelled:
                return
            handle.cancelled = True
        if activity:
            self.activity -= 1
        if t > self.now:
            self.now = round_us(t)  # µs resolution: times survive the trace's rounding exactly
        fn(*args)

    def run_active(self, limit: int) -> int:
        """``run_one`` while activity is pending, at most ``limit`` events; returns how
        many ran (one loop here instead of one call per event from the driver)."""
        heap = self._heap
        pop = heapq.heappop
        n = 0
        while self.activity > 0 and n < limit:
            n += 1
            t, _, handle, activity, fn, args = pop(heap)
            if handle is not None:
                if handle.cancelled:
                    continue
                handle.cancelled = True
            if activity:
                self.activity -= 1
            if t > self.now:
                # round_us(t), inlined
                x = t * 1e6
                k = round(x)
                self.now = k / 1e6 if (x < 1e12 and -0.4 < x - k < 0.4) else round(t, 6)
            fn(*args)
        return n

    def run_active_until(self, until: float, limit: int) -> int:
        """``run_active`` that also stops before the first event due after ``until``."""
        heap = self._heap
        n = 0
        while self.activity > 0 and n < limit and heap and heap[0][0] <= until:
            n += 1
            self.run_one()
        return n

    def run_due(self, until: float, limit: int) -> int:
        """``run_one`` for the events due at or before ``until``, at most ``limit``."""
        heap = self._heap
        pop = heapq.heappop
        n = 0
        while heap and heap[0][0] <= until and n < limit:
            n += 1
            t, _, handle, activity, fn, args = pop(heap)
            if handle is not None:
                if handle.cancelled:
                    continue
                handle.cancelled = True
            if activity:
                self.activity -= 1
            if t > self.now:
                self.now = round_us(t)
            fn(*args)
        return n


def round_us(t: float) -> float:
    """``round(t, 6)``, bit for bit, at a fraction of its cost (it formats and parses a
    decimal string). ``k / 1e6`` is the double nearest to k µs, as ``round`` returns;
    k = the nearest integer to t·10⁶ is the correctly rounded µs count unless t·10⁶ is
    within the multiplication's error (< 1.2e-4 below 10¹² µs) of a half — those few,
    and huge times, go to ``round``."""
    x = t * 1e6
    k = round(x)
    if x < 1e12 and -0.4 < x - k < 0.4:
        return k / 1e6
    return round(t, 6)


# ----------------------------------------------------------------------------- model objects

_ROLES = (
    ("bind_redirect", "ALE_BIND_REDIRECT"), ("resource", "ALE_RESOURCE_ASSIGNMENT"),
    ("listen", "ALE_AUTH_LISTEN"), ("recv_accept", "ALE_AUTH_RECV_ACCEPT"), ("connect", "ALE_AUTH_CONNECT"),
    ("flow_est", "ALE_FLOW_ESTABLISHED"), ("release", "ALE_RESOURCE_RELEASE"),
    ("closure", "ALE_ENDPOINT_CLOSURE"), ("connect_redirect", "ALE_CONNECT_REDIRECT"),
    ("in_ip", "INBOUND_IPPACKET"), ("out_ip", "OUTBOUND_IPPACKET"), ("in_tr", "INBOUND_TRANSPORT"),
    ("out_tr", "OUTBOUND_TRANSPORT"), ("stream", "STREAM"), ("dgram", "DATAGRAM_DATA"),
    ("in_icmp", "INBOUND_ICMP_ERROR"), ("out_icmp", "OUTBOUND_ICMP_ERROR"),
)


class LayerSet:
    """The layers of one IP version on one Windows version; None = the layer does not
    exist there (its ``since`` is newer than the host, e.g. redirect layers on Vista)."""

    bind_redirect: Layer | None
    resource: Layer | None
    listen: Layer | None
    recv_accept: Layer | None
    connect: Layer | None
    flow_est: Layer | None
    release: Layer | None
    closure: Layer | None
    connect_redirect: Layer | None
    in_ip: Layer | None
    out_ip: Layer | None
    in_tr: Layer | None
    out_tr: Layer | None
    stream: Layer | None
    dgram: Layer | None
    in_icmp: Layer | None
    out_icmp: Layer | None

    def __init__(self, version: int, windows: WinVersion) -> None:
        for role, base in _ROLES:
            layer = get_layer(f"{base}_V{version}")
            setattr(self, role, layer if layer.since <= windows else None)


class Ctx:
    """What one endpoint of a flow (or one stray packet) knows: the classifiable values.

    ``view`` projects it onto one layer's fields (layer.fields, nothing else; unknown →
    absent = FWP_EMPTY), cached per (layer, direction, reauth) — the per-packet path then
    costs one dict lookup.
    """

    __slots__ = ("host", "bits", "proto", "laddr", "lport", "raddr", "rport", "app", "loopback",
                 "wildcard", "implicit", "extra", "cache", "_info", "_dyn", "out_data", "in_data")

    def __init__(self, host: Host, bits: int, proto: int, laddr: int | None, lport: int | None,
                 raddr: int | None, rport: int | None, app: AppSpec | None, loopback: bool,
                 wildcard: bool = False, implicit: bool = False, extra: dict[str, Value] | None = None):
        self.host = host
        self.bits = bits
        self.proto = proto
        self.laddr = laddr
        self.lport = lport
        self.raddr = raddr
        self.rport = rport
        self.app = app
        self.loopback = loopback
        self.wildcard = wildcard
        self.implicit = implicit
        self.extra = extra
        self.cache: dict[tuple[int, int | None, bool], View] = {}
        self._info: dict[str, Any] | None = None
        self._dyn: dict[str, Value] | None = None
        #: A TCP data segment's views, sent (STREAM, OUT_TRANSPORT, OUT_IPPACKET) and
        #: received (IN_IPPACKET, IN_TRANSPORT, STREAM); built at the first segment.
        self.out_data: Path | None = None
        self.in_data: Path | None = None

    @property
    def info(self) -> dict[str, Any]:
        """The endpoint as net events and audits show it (built on first use)."""
        info = self._info
        if info is None:
            laddr, raddr, bits, app = self.laddr, self.raddr, self.bits, self.app
            info = self._info = {
                "local_address": None if laddr is None else format_address(laddr, bits),
                "remote_address": None if raddr is None else format_address(raddr, bits),
                "local_port": self.lport, "remote_port": self.rport, "protocol": self.proto,
                "app": None if app is None else self.host.app_id(app), "loopback": self.loopback,
            }
        return info

    def path(self, layers: tuple[Layer | None, ...], direction: int) -> tuple[View | None, ...]:
        """The views of ``layers`` (None where a layer does not exist), no reauth."""
        return tuple(None if layer is None else self.view(layer, direction, False) for layer in layers)

    def view(self, layer: Layer, direction: int | None, reauth: bool) -> View:
        key = (layer.layer_id, direction, reauth)
        hit = self.cache.get(key)
        if hit is None:
            if self.extra:
                values, rendered = self._build(layer, direction, reauth)
            else:
                values, rendered = self._build_planned(layer, direction, reauth)
            hit = View(layer, values, rendered)
            self.cache[key] = hit
        return hit

    def interface(self) -> InterfaceSpec:
        """The interface the endpoint's traffic uses: loopback's, the one its local address
        is on, else the host's first."""
        if self.loopback or (self.laddr is not None and is_loopback_address(self.laddr, self.bits)):
            return LOOPBACK_INTERFACE
        host = self.host
        if host.iface_of and self.laddr is not None:
            return host.iface_of.get((self.laddr, self.bits), host.iface)
        return host.iface

    def _dynamic(self) -> dict[str, Value]:
        """The values that differ between endpoints of one host (``_DYNAMIC_FIELDS``);
        exactly what ``_build`` puts into its ``base`` for them (absent = not known)."""
        dyn = self._dyn
        if dyn is None:
            dyn = self._dyn = {"IP_PROTOCOL": self.proto,
                               "IP_LOCAL_ADDRESS": EMPTY if self.laddr is None else self.laddr}
            if self.lport is not None:
                dyn["IP_LOCAL_PORT"] = self.lport
            if self.raddr is not None:
                dyn["IP_REMOTE_ADDRESS"] = self.raddr
                dyn["IP_DESTINATION_ADDRESS_TYPE"] = NLAT_UNICAST
            if self.rport is not None:
                dyn["IP_REMOTE_PORT"] = self.rport
            if self.app is not None:
                app_id = self.host.app_id(self.app)
                dyn["ALE_APP_ID"] = app_id
                dyn["ALE_ORIGINAL_APP_ID"] = app_id
                dyn["ALE_USER_ID"] = user_token(self.app.user)
                dyn["ALE_PACKAGE_ID"] = PACKAGE_ID_NONE
        return dyn

    def _build_planned(self, layer: Layer, direction: int | None,
                       reauth: bool) -> tuple[dict[str, Value], dict[str, Any]]:
        """``_build`` (same dicts, same order) from the host's plan for this kind of
        endpoint at this layer: the field names present and every value that is the same
        for all such endpoints (pre-rendered) are fixed; only the dynamic ones are filled in."""
        dyn = self._dyn
        if dyn is None:
            dyn = self._dynamic()
        pkey = (layer.layer_id, direction, reauth, self.loopback, self.wildcard, self.implicit,
                self.lport is not None, self.raddr is not None, self.rport is not None, self.app is not None,
                self.interface().index)
        plan = self.host.plans.get(pkey)
        if plan is None:
            plan = self.host.plans[pkey] = self._plan(layer, direction, reauth)
        names, const_vals, const_rvals, slots = plan
        vals = list(const_vals)
        rvals = list(const_rvals)
        for i, name, cache, dtype in slots:
            v = dyn[name]
            vals[i] = v
            r = cache.get(v, _MISSING)
            if r is _MISSING:
                r = json_value(v, dtype, name)
                if len(cache) < _RENDER_CACHE_MAX:
                    cache[v] = r
            rvals[i] = r
        return dict(zip(names, vals, strict=True)), dict(zip(names, rvals, strict=True))

    def _plan(self, layer: Layer, direction: int | None, reauth: bool) -> _Plan:
        """(field names present, values, rendered values, dynamic slots) for endpoints like
        this one at ``layer``: ``_build``'s output for this Ctx, with the dynamic fields'
        positions listed as (index, name, render cache, dtype) to be filled per endpoint."""
        values, rendered = self._build(layer, direction, reauth)
        names = tuple(values)
        slots: list[tuple[int, str, dict[Value, Any], DataType]] = []
        dtypes = {lf.name: lf.dtype for lf in layer.fields}
        for i, name in enumerate(names):
            if name in _DYNAMIC_FIELDS:
                key = (name, dtypes[name])
                cache = _RENDER_CACHES.get(key)
                if cache is None:
                    cache = _RENDER_CACHES[key] = {}
                slots.append((i, name, cache, key[1]))
        return names, tuple(values.values()), tuple(rendered.values()), tuple(slots)

    def _build(self, layer: Layer, direction: int | None, reauth: bool) -> tuple[dict[str, Value], dict[str, Any]]:
        host = self.host
        iface = self.interface()
        luid, idx, itype, tunnel, prof = iface.net_luid, iface.index, iface.type, iface.tunnel_type, iface.profile_id
        fam = layer_family(layer.name)
        base: dict[str, Value] = {
            "IP_PROTOCOL": self.proto,
            "IP_LOCAL_ADDRESS": EMPTY if self.laddr is None else self.laddr,
            "IP_LOCAL_ADDRESS_TYPE": NLAT_UNICAST,
            "IP_LOCAL_INTERFACE": luid, "INTERFACE_INDEX": idx, "SUB_INTERFACE_INDEX": idx,
            "INTERFACE_TYPE": itype, "TUNNEL_TYPE": tunnel, "COMPARTMENT_ID": COMPARTMENT_DEFAULT,
            "CURRENT_PROFILE_ID": prof, "ORIGINAL_PROFILE_ID": prof, "LOCAL_INTERFACE_PROFILE_ID": prof,
            "ALE_PROMISCUOUS_MODE": 0, "ALE_SIO_FIREWALL_SYSTEM_PORT": 0, "ALE_NAP_CONTEXT": 0,
        }
        if iface.quarantine_epoch is not None:
            base["INTERFACE_QUARANTINE_EPOCH"] = iface.quarantine_epoch
        if self.lport is not None:
            base["IP_LOCAL_PORT"] = self.lport
        if self.raddr is not None:
            base["IP_REMOTE_ADDRESS"] = self.raddr
            base["IP_DESTINATION_ADDRESS_TYPE"] = NLAT_UNICAST
        if self.rport is not None:
            base["IP_REMOTE_PORT"] = self.rport
        if self.app is not None:
            app_id = host.app_id(self.app)
            base["ALE_APP_ID"] = app_id
            base["ALE_ORIGINAL_APP_ID"] = app_id
            base["ALE_USER_ID"] = user_token(self.app.user)
            base["ALE_PACKAGE_ID"] = PACKAGE_ID_NONE
        flags = 0
        if self.loopback and fam in _LOOPBACK_FAMILIES:
            flags |= F_LOOPBACK
            if host.windows >= WinVersion.WIN8:
                flags |= F_NON_APPCONTAINER_LOOPBACK
        if reauth:
            flags |= F_REAUTHORIZE
        if self.wildcard and fam in ("ALE_RESOURCE_ASSIGNMENT", "ALE_BIND_REDIRECT"):
            flags |= F_WILDCARD_BIND
        if self.implicit and fam == "ALE_RESOURCE_ASSIGNMENT" and host.windows == WinVersion.VISTA:
            flags |= F_IMPLICIT_BIND
        base["FLAGS"] = flags
        if fam in _REAUTH_FAMILIES:
            base["REAUTHORIZE_REASON"] = REASON_POLICY_CHANGE if reauth else 0
        if direction is not None:
            base["DIRECTION"] = direction
            # §2.5: arrival fields are unknown (EMPTY) for an outbound packet, next-hop
            # fields for an inbound one.
            arrival: dict[str, Value] = {"IP_ARRIVAL_INTERFACE": luid, "ARRIVAL_INTERFACE_INDEX": idx,
                                         "ARRIVAL_INTERFACE_TYPE": itype, "ARRIVAL_TUNNEL_TYPE": tunnel,
                                         "ARRIVAL_INTERFACE_PROFILE_ID": prof}
            nexthop: dict[str, Value] = {"IP_NEXTHOP_INTERFACE": luid, "NEXTHOP_INTERFACE_INDEX": idx,
                                         "NEXTHOP_SUB_INTERFACE_INDEX": idx, "NEXTHOP_INTERFACE_TYPE": itype,
                                         "NEXTHOP_TUNNEL_TYPE": tunnel, "NEXTHOP_INTERFACE_PROFILE_ID": prof}
            known, unknown = (arrival, nexthop) if direction == INBOUND else (nexthop, arrival)
            base.update(known)
            base.update(dict.fromkeys(unknown, EMPTY))
        if self.extra:
            base.update(self.extra)
        values: dict[str, Value] = {}
        rendered: dict[str, Any] = {}
        windows = host.windows
        for lf in layer.fields:
            v = base.get(lf.name)
            if v is None:
                continue  # not known here: FWP_EMPTY (absent)
            if windows < WinVersion.WIN11 and field_since(lf.name) > windows:
                continue  # the field is newer than the host (Filtering Condition Identifiers)
            values[lf.name] = v
            rkey = (lf.name, lf.dtype, v)
            r = _RENDERED.get(rkey, _MISSING)
            if r is _MISSING:
                r = json_value(v, lf.dtype, lf.name)
                if len(_RENDERED) < 1 << 16:
                    _RENDERED[rkey] = r
            rendered[lf.name] = r
        return values, rendered


#: json_value results by (field, dtype, value): per-flow field dicts repeat values a lot.
_RENDERED: dict[tuple[str, Any, Value], Any] = {}
_MISSING = object()
#: Fields whose value is the endpoint's own (``Ctx._dynamic``); every other field's value
#: depends only on the host, the layer, direction, reauth and the Ctx's flags.
_DYNAMIC_FIELDS = frozenset({
    "IP_PROTOCOL", "IP_LOCAL_ADDRESS", "IP_LOCAL_PORT", "IP_REMOTE_ADDRESS", "IP_DESTINATION_ADDRESS_TYPE",
    "IP_REMOTE_PORT", "ALE_APP_ID", "ALE_ORIGINAL_APP_ID", "ALE_USER_ID", "ALE_PACKAGE_ID",
})
#: json_value results per (field, dtype), by value; each bounded (then computed each time).
_RENDER_CACHES: dict[tuple[str, DataType], dict[Value, Any]] = {}
_RENDER_CACHE_MAX = 1 << 14
#: Ctx._plan: field names, values, rendered values, dynamic slots (index, name, cache, dtype).
_Plan = tuple[tuple[str, ...], tuple[Value, ...], tuple[Any, ...], tuple[tuple[int, str, dict[Value, Any], DataType], ...]]


class View:
    """One ``Ctx`` projected onto one layer (and direction, reauth): the values to
    classify, their rendered trace form, and the last classification of them.

    The arbitration is a pure function of (compiled layer, values), so the result is
    kept with the host's policy generation (``Host.policy_token``) and reused until the
    policy changes: a packet on a known flow costs one dict lookup, not a classify.
    ``action`` ... ``veto`` are the record's copies of the result; ``events`` says
    whether the result produces net events / audits (blocks, filter-decided permits at
    the ALE layers that log them)."""

    __slots__ = ("layer", "name", "lid", "values", "rendered", "token", "cl", "res", "action", "out", "events")

    def __init__(self, layer: Layer, values: dict[str, Value], rendered: dict[str, Any]) -> None:
        self.layer = layer
        self.name = layer.name
        self.lid = layer.layer_id
        self.values = values
        self.rendered = rendered
        self.token: object = None
        self.cl: CompiledLayer | None = None
        self.res: ClassifyResult | None = None
        self.action = ""
        self.out: Outcome | None = None  # the trace rows' copy of the result (core.trace.Outcome)
        self.events = False


class Path:
    """The views one kind of packet crosses in a row on one endpoint of a flow (a TCP
    data segment's STREAM, OUT_TRANSPORT, OUT_IPPACKET sent, or IN_IPPACKET,
    IN_TRANSPORT, STREAM received), what its records say (packet, direction, flow), and
    the trace rows of its last quiet crossing under policy generation ``token``
    (``Network._run_path``)."""

    __slots__ = ("views", "packet", "direction", "dir_int", "flow", "token", "rows", "tail")

    def __init__(self, views: tuple[View | None, ...], packet: str, dir_int: int, flow: int | None) -> None:
        self.views = views
        self.packet = packet
        self.direction = "outbound" if dir_int == OUTBOUND else "inbound"
        self.dir_int = dir_int
        self.flow = flow
        self.token: object = None  # the host policy generation ``rows`` belong to
        self.rows: tuple[tuple[Any, ...], ...] = ()
        #: (segment size, its data-delivered row) after ``rows`` (received data paths).
        self.tail: tuple[int, tuple[Any, ...]] | None = None


class Flow:
    """An ALE flow on one host (§2.6): authorized once, then carries both directions."""

    __slots__ = ("id", "host", "proto", "auth_layer", "origin", "ctx", "reply_ctx", "needs_reauth",
                 "alive", "last", "sock", "key")

    def __init__(self, fid: int, host: Host, proto: int, auth_layer: Layer, origin: str, ctx: Ctx,
                 sock: Sock | None, key: Any) -> None:
        self.id = fid
        self.host = host
        self.proto = proto
        self.auth_layer = auth_layer
        self.origin = origin  # "outbound" (AUTH_CONNECT) | "inbound" (AUTH_RECV_ACCEPT)
        self.ctx = ctx
        self.reply_ctx: Ctx | None = None
        self.needs_reauth = False
        self.alive = True
        self.last = 0.0
        self.sock = sock
        self.key = key

    @property
    def origin_dir(self) -> int:
        return OUTBOUND if self.origin == "outbound" else INBOUND


class Sock:
    """A socket: a TCP listener, a TCP connection (connected or accepted) or a UDP socket."""

    __slots__ = ("name", "host", "kind", "app", "bits", "laddr", "lport", "wildcard", "implicit", "assigned",
                 "bind_ctx", "state", "flow", "raddr", "rport", "flows", "accepted", "last_peer",
                 "listener", "authorized", "syn_tries", "default_remote", "conn_key", "timer", "data_pkt",
                 "ra_indicated", "auth")

    def __init__(self, name: str | None, host: Host, kind: str, app: AppSpec, bits: int) -> None:
        self.name = name
        self.host = host
        self.kind = kind  # tcp-listen | tcp | udp
        self.app = app
        self.bits = bits
        self.laddr: int | None = None
        self.lport = 0
        self.wildcard = False
        self.implicit = False
        self.assigned = False  # RESOURCE_ASSIGNMENT permitted: RESOURCE_RELEASE on close
        self.bind_ctx: Ctx | None = None
        self.state = "new"
        self.flow: Flow | None = None
        self.raddr: int | None = None
        self.rport: int | None = None
        self.flows: dict[tuple[int, int], Flow] = {}
        self.accepted: list[Sock] = []
        self.last_peer: tuple[int, int] | None = None
        self.listener: Sock | None = None
        self.authorized = False  # an AUTH_CONNECT/RECV_ACCEPT indication: ENDPOINT_CLOSURE on close
        self.syn_tries = 0
        self.default_remote: tuple[int, int] | None = None
        self.conn_key: tuple[int, int, int, int, int] | None = None
        self.timer: Timer | None = None
        self.data_pkt: Pkt | None = None  # the last DATA segment sent (packets are immutable)
        #: ALE endpoint lifetime (ale-endpoint-lifetime-management, Win7+): RESOURCE_RELEASE
        #: answers every RESOURCE_ASSIGNMENT indication, permitted or blocked; ENDPOINT_CLOSURE
        #: every AUTH_CONNECT / RECV_ACCEPT indication of a TCP connection (``auth``: its
        #: endpoint and flow id), whatever happened in between.
        self.ra_indicated = False
        self.auth: tuple[Ctx, int] | None = None

    def segment(self, kind: str, nbytes: int = 0) -> Pkt:
        """A TCP segment from this connected socket's local end to its remote end."""
        assert self.laddr is not None and self.raddr is not None and self.rport is not None
        return Pkt(TCP, self.bits, self.laddr, self.raddr, self.lport, self.rport, kind, nbytes)


class Pkt:
    """A packet on the simulated wire."""

    __slots__ = ("proto", "bits", "src", "dst", "sport", "dport", "kind", "nbytes", "icmp_type", "icmp_code",
                 "ident", "probe", "embedded", "seq", "ckey", "hop")

    def __init__(self, proto: int, bits: int, src: int, dst: int, sport: int, dport: int, kind: str,
                 nbytes: int = 0, icmp_type: int = 0, icmp_code: int = 0, ident: int = 0,
                 probe: bool = False, embedded: tuple[int, int, int, int, int] | None = None, seq: int = 0):
        self.proto = proto
        self.bits = bits
        self.src = src
        self.dst = dst
        self.sport = sport
        self.dport = dport
        self.kind = kind  # SYN SYN-ACK ACK DATA RST DATAGRAM ICMP ICMP-ERROR
        self.nbytes = nbytes
        self.icmp_type = icmp_type
        self.icmp_code = icmp_code
        self.ident = ident
        self.probe = probe
        self.embedded = embedded  # (protocol, src, sport, dst, dport) of the quoted packet
        self.seq = seq
        #: The receiver's ``Host.conns`` key (a reused DATA segment looks it up often).
        self.ckey = (bits, dst, dport, src, sport)
        #: (delay, handler, args) of its delivery, set by ``Network.wire`` on first send.
        self.hop: tuple[float, Callable[..., None], tuple[Any, ...]] | None = None


class Host:
    """One simulated Windows machine and its stack state."""

    def __init__(self, net: Network, spec: HostSpec, policy: Policy) -> None:
        self.net = net
        self.spec = spec
        self.name = spec.name
        self.windows = spec.windows
        self.iface = spec.interface
        self.addrs: list[tuple[int, int]] = [parse_address(a) for a in spec.addresses]  # (value, bits)
        #: The interface of each local address that is not on the first one (a VPN tunnel ...).
        self.iface_of: dict[tuple[int, int], InterfaceSpec] = {
            parse_address(a): i for i in spec.more_interfaces for a in i.addresses}
        self.policy = policy
        self._compiled: CompiledPolicy = compile_policy(policy, ored=same_field_ored(spec.windows))
        self._cl: dict[int, CompiledLayer] = {}
        #: Identifies the policy generation: a new object at every policy change, so a
        #: View's cached classification is valid while its token is this one.
        self.policy_token = object()
        self.L4 = LayerSet(4, spec.windows)
        self.L6 = LayerSet(6, spec.windows)
        self._twins: dict[int, Layer | None] = {}
        self._app_ids: dict[str, str] = {}
        self.next_port = EPHEMERAL_FIRST
        self.next_icmp_id = 1
        self.ports: set[tuple[int, int, int]] = set()  # (proto, bits, port) in use
        self.listeners: dict[tuple[int, int], list[Sock]] = {}
        self.udp: dict[tuple[int, int], list[Sock]] = {}
        self.conns: dict[tuple[int, int, int, int, int], Sock] = {}
        self.icmp_flows: dict[tuple[str, int, int, int, int], Flow] = {}
        self.flows: dict[int, Flow] = {}
        self.probes: dict[tuple[int, int, int, int, int], Timer] = {}
        self.pings: dict[tuple[int, int], Timer] = {}
        self.seen: set[int] = set()  # layer ids crossed (for Network.layer_order)
        #: Ctx._plan results by (layer id, direction, reauth, loopback, wildcard, implicit,
        #: lport / raddr / rport / app known).
        self.plans: dict[tuple[int | None | bool, ...], _Plan] = {}

    # -- helpers ----------------------------------------------------------------
    def layers(self, bits: int) -> LayerSet:
        return self.L4 if bits == 32 else self.L6

    def app_id(self, app: AppSpec) -> str:
        hit = self._app_ids.get(app.path)
        if hit is None:
            hit = normalize_app_id(app.path)
            self._app_ids[app.path] = hit
        return hit

    def local_addr(self, bits: int) -> int | None:
        for v, b in self.addrs:
            if b == bits:
                return v
        return None

    def owns(self, bits: int, addr: int) -> bool:
        """A listed address, or loopback (which every host has, listed or not)."""
        return (addr, bits) in self.addrs or is_loopback_address(addr, bits)

    def cl(self, layer: Layer) -> CompiledLayer:
        c = self._cl.get(layer.layer_id)
        if c is None:
            c = self._compiled.layer(layer)
            self._cl[layer.layer_id] = c
        return c

    def twin(self, layer: Layer) -> Layer | None:
        if layer.layer_id not in self._twins:
            name = layer.discard_twin
            self._twins[layer.layer_id] = get_layer(name) if (name and not layer.is_discard) else None
        return self._twins[layer.layer_id]

    def set_policy(self, policy: Policy) -> None:
        self.policy = policy
        self._compiled = compile_policy(policy, ored=same_field_ored(self.windows))
        self._cl.clear()
        self.policy_token = object()

    def alloc_port(self, proto: int, bits: int) -> int:
        while (proto, bits, self.next_port) in self.ports:
            self.next_port += 1
        port = self.next_port
        self.next_port += 1
        return port


# ----------------------------------------------------------------------------- the network


class Network:
    """All hosts, the wire between them, the trace, and the step interpreter."""

    def __init__(self, scenario: Scenario, policies: Mapping[str, Policy] | None = None) -> None:
        self.scenario = scenario
        self.clock = VirtualClock()
        self.records = Trace()
        self._simulators = {}  # host -> (policy token, core.triage.Simulator) for observe steps
        self.results = TraceResults(self.records)
        #: The trace's storage (core.trace.Trace): rows and record times, appended in step.
        self._items = self.records.items
        self._times = self.records.times
        self.flow_ids = 0
        self.hosts: dict[str, Host] = {}
        self.owner: dict[tuple[int, int], Host] = {}
        self.layer_order: dict[str, list[str]] = {}
        self.sockets: dict[str, Sock] = {}
        #: Benchmark hook: when a list, every classification appends (compiled layer, values).
        self.capture: list[tuple[CompiledLayer, dict[str, Value]]] | None = None
        self._deliver = self.deliver
        self._in_tcp_m = self._in_tcp
        self._resolved: dict[str, tuple[int, int, int]] = {}
        overrides = dict(policies or {})
        for spec in scenario.hosts:
            host = Host(self, spec, overrides.get(spec.name, spec.policy))
            self.hosts[spec.name] = host
            self.layer_order[spec.name] = []
            for v, b in host.addrs:
                self.owner.setdefault((v, b), host)

    # -- records ------------------------------------------------------------------
    _simulators: dict[str, tuple[Any, Any]]

    @property
    def seq(self) -> int:
        """The seq of the last record (record i has seq i + 1)."""
        return len(self._items)

    def stack(self, host: Host, event: str, detail: str = "", flow: int | None = None, **data: Any) -> None:
        self._items.append((stack_row, host.name, event, detail, flow, data))
        self._times.append(self.clock.now)

    def _refresh(self, host: Host, view: View) -> None:
        """Classify ``view`` under the host's current policy and keep the result."""
        layer = view.layer
        lid = view.lid
        cl = host._cl.get(lid)
        if cl is None:
            cl = host.cl(layer)
        res = cl.classify(view.values)
        f = res.filter
        sl = res.sublayer
        view.token = host.policy_token
        view.cl = cl
        view.res = res
        view.action = res.action
        view.out = (view.name, lid, res.action, None if f is None else f.key, None if f is None else f.filter_id,
                    None if sl is None else sl.key, res.terminating, res.veto, view.rendered, res)
        # Events only for blocks and for filter-decided permits at the ALE layers that
        # audit them (checked by layer id: no string work on the per-packet path).
        view.events = res.action == BLOCK or (f is not None and lid in _EVENT_PERMIT_IDS)
        if lid not in host.seen:  # the first classification at this layer on this host
            host.seen.add(lid)
            self.layer_order[host.name].append(layer.name)

    def classify(self, host: Host, layer: Layer, ctx: Ctx, packet: str | None, op: str | None,
                 direction: str | None, dir_int: int | None, flow: int | None, reauth: bool = False,
                 stack_discard: bool = False) -> ClassifyResult:
        """One classification: arbitration, the trace record, events."""
        view = ctx.cache.get((layer.layer_id, dir_int, reauth))
        if view is None:
            view = ctx.view(layer, dir_int, reauth)
        if view.token is not host.policy_token:
            self._refresh(host, view)
        res = view.res
        assert res is not None
        if self.capture is not None:
            assert view.cl is not None
            self.capture.append((view.cl, view.values))
        self._items.append((classify_row, view.out, host.name, packet, op, direction, flow, reauth))
        self._times.append(self.clock.now)
        if view.events:
            self._events(host, layer, ctx, res, direction, flow, reauth, stack_discard)
        return res

    def _events(self, host: Host, layer: Layer, ctx: Ctx, res: ClassifyResult, direction: str | None,
                flow: int | None, reauth: bool, stack_discard: bool) -> None:
        fam = layer_family(layer.name)
        if res.action != BLOCK and fam not in _EVENT_PERMIT_FAMILIES:
            return
        fid = None if res.filter is None else res.filter.filter_id
        ne = net_event_type(fam, res, is_discard=layer.is_discard, stack_discard=stack_discard, windows=host.windows)
        if ne is not None:
            self.records.append(NetEventRecord(self.seq + 1, self.clock.now, host.name, ne, fid, layer.layer_id,
                                               direction_word(direction, fam), flow,
                                               net_event_data(ctx.info, reauth)))
        for eid in audit_ids(fam, res, is_discard=layer.is_discard, stack_discard=stack_discard):
            self.records.append(AuditRecord(self.seq + 1, self.clock.now, host.name, eid, fid, layer.layer_id, flow,
                                            audit_data(eid, fam, layer.layer_id, direction, ctx.info, fid)))

    def traverse(self, host: Host, layer: Layer | None, ctx: Ctx, packet: str | None, op: str | None,
                 direction: str | None, dir_int: int | None, flow: int | None, reauth: bool = False) -> bool:
        """Classify at ``layer``; on block classify at its discard twin and return False.

        ``classify`` inlined (the per-packet path: one call per classification, not two)."""
        if layer is None:
            return True  # the layer does not exist on this Windows version
        view = ctx.cache.get((layer.layer_id, dir_int, reauth))
        if view is None:
            view = ctx.view(layer, dir_int, reauth)
        if view.token is not host.policy_token:
            self._refresh(host, view)
        if self.capture is not None:
            assert view.cl is not None
            self.capture.append((view.cl, view.values))
        self._items.append((classify_row, view.out, host.name, packet, op, direction, flow, reauth))
        self._times.append(self.clock.now)
        action = view.action
        res = view.res
        assert res is not None
        if view.events:
            self._events(host, layer, ctx, res, direction, flow, reauth, False)
        if action != BLOCK:
            return True
        twin = host.twin(layer)
        if twin is not None:
            self.classify(host, twin, ctx, packet, op, direction, dir_int, flow, reauth)
        return False

    def _run_path(self, host: Host, ctx: Ctx, path: Path) -> int:
        """``traverse`` along ``path.views`` in order (no op, no reauth) until one blocks:
        the same records, events and discard-twin classification, in one call. Returns the
        index of the view that blocked, or -1.

        A crossing of every layer without a block or an event keeps its rows for the
        host's policy generation: the next packet on the path appends the same rows (each
        classification is a pure function of values and policy; a record's seq and time
        come from its place in the trace)."""
        token = host.policy_token
        if path.token is token:
            rows = path.rows
            n = len(rows)
            self._items.extend(rows)
            self._times.extend([self.clock.now] * n)
            return -1
        items = self._items
        times = self._times
        t = self.clock.now
        hname = host.name
        packet, direction, flow = path.packet, path.direction, path.flow
        capture = self.capture
        built: list[tuple[Any, ...]] = []
        quiet = capture is None  # no events on the way (and no benchmark capture): rows reusable
        for i, view in enumerate(path.views):
            if view is None:
                continue  # the layer does not exist on this Windows version
            if view.token is not token:
                self._refresh(host, view)
            if capture is not None:
                assert view.cl is not None
                capture.append((view.cl, view.values))
            row = (classify_row, view.out, hname, packet, None, direction, flow, False)
            items.append(row)
            times.append(t)
            built.append(row)
            if view.events:
                quiet = False
                res = view.res
                assert res is not None
                self._events(host, view.layer, ctx, res, direction, flow, False, False)
            if view.action == BLOCK:
                twin = host.twin(view.layer)
                if twin is not None:
                    self.classify(host, twin, ctx, packet, None, direction, path.dir_int, flow)
                return i
        if quiet:
            path.token, path.rows, path.tail = token, tuple(built), None
        return -1

    def out_packet(self, host: Host, L: LayerSet, ctx: Ctx, pkt: Pkt, flow: int | None) -> bool:
        """OUTBOUND_TRANSPORT → OUTBOUND_IPPACKET → the wire."""
        kind = pkt.kind
        if not self.traverse(host, L.out_tr, ctx, kind, None, "outbound", OUTBOUND, flow):
            self.stack(host, "packet-dropped", f"{kind} blocked at OUTBOUND_TRANSPORT", flow)
            return False
        if not self.traverse(host, L.out_ip, ctx, kind, None, "outbound", OUTBOUND, flow):
            self.stack(host, "packet-dropped", f"{kind} blocked at OUTBOUND_IPPACKET", flow)
            return False
        self.wire(host, pkt)
        return True

    def wire(self, host: Host, pkt: Pkt) -> None:
        """Put ``pkt`` (sent by ``host``) on the wire: its delivery is an event one
        latency later. The hop (delay, handler, arguments) is kept on the packet: a
        reused DATA segment goes the same way every time (hosts never change address)."""
        hop = pkt.hop
        if hop is None:
            # Loopback never leaves the host, whoever lists the address.
            dest = host if is_loopback_address(pkt.dst, pkt.bits) else self.owner.get((pkt.dst, pkt.bits))
            if dest is None:
                self.stack(host, "packet-lost", f"no host has {format_address(pkt.dst, pkt.bits)}")
                return
            loopback = dest is host
            delay = LOOPBACK_LATENCY if loopback else LATENCY
            if pkt.proto == TCP:  # deliver(dest, pkt, host) dispatches there
                hop = pkt.hop = (delay, self._in_tcp_m, (dest, pkt, loopback))
            else:
                hop = pkt.hop = (delay, self._deliver, (dest, pkt, host))
        # clock.call_later(delay, fn, *args), inlined
        clock = self.clock
        clock._n = n = clock._n + 1
        heapq.heappush(clock._heap, (clock.now + hop[0], n, None, True, hop[1], hop[2]))
        clock.activity += 1

    # -- flows ----------------------------------------------------------------------
    def new_flow_id(self) -> int:
        self.flow_ids += 1
        return self.flow_ids

    def add_flow(self, fid: int, host: Host, proto: int, auth_layer: Layer, origin: str, ctx: Ctx,
                 sock: Sock | None, key: Any, idle: bool) -> Flow:
        flow = Flow(fid, host, proto, auth_layer, origin, ctx, sock, key)
        flow.last = self.clock.now
        host.flows[fid] = flow
        self.stack(host, "flow-created", f"{origin} flow authorized at {auth_layer.name}", fid)
        if idle:
            self.clock.call_at(flow.last + IDLE_TIMEOUT, self._idle_check, flow, activity=False)
        return flow

    def _idle_check(self, flow: Flow) -> None:
        if not flow.alive:
            return
        due = flow.last + IDLE_TIMEOUT
        if self.clock.now + 1e-9 >= due:
            self.stack(flow.host, "flow-idle-timeout", f"no traffic for {IDLE_TIMEOUT:g} s", flow.id)
            self.drop_flow(flow, None)
        else:
            self.clock.call_at(due, self._idle_check, flow, activity=False)

    def drop_flow(self, flow: Flow, reason: str | None) -> None:
        if not flow.alive:
            return
        flow.alive = False
        host = flow.host
        host.flows.pop(flow.id, None)
        if flow.proto in (ICMP4, ICMP6):
            host.icmp_flows.pop(flow.key, None)
        elif flow.sock is not None and flow.proto != TCP:
            flow.sock.flows.pop(flow.key, None)
        if reason is not None:
            self.stack(host, "flow-torn-down", reason, flow.id)

    def reauthorize(self, flow: Flow, packet: str, direction: str, dir_int: int) -> bool:
        """§2.5: classify the packet at the layer that authorized the flow, IS_REAUTHORIZE set."""
        flow.needs_reauth = False
        host = flow.host
        res = self.classify(host, flow.auth_layer, flow.ctx, packet, None, direction, dir_int, flow.id, True)
        if res.action != BLOCK:
            return True
        twin = host.twin(flow.auth_layer)
        if twin is not None:
            self.classify(host, twin, flow.ctx, packet, None, direction, dir_int, flow.id, True)
        self.drop_flow(flow, f"reauthorization blocked at {flow.auth_layer.name}")
        sock = flow.sock
        if sock is not None and sock.kind == "tcp":
            self._abort_conn(sock, "connection-aborted", "the flow was torn down (reauthorization blocked)")
        return False

    def _abort_conn(self, sock: Sock, event: str, detail: str) -> None:
        sock.state = "aborted"  # the app still owns the socket: its close indicates the ALE release/closure
        if sock.timer is not None:
            sock.timer.cancel()
        if sock.conn_key is not None:
            sock.host.conns.pop(sock.conn_key, None)
        if sock.flow is not None and sock.flow.alive:
            self.drop_flow(sock.flow, detail)
        self.stack(sock.host, event, detail, None if sock.flow is None else sock.flow.id, socket=sock.name)

    # -- step interpreter ---------------------------------------------------------------
    def execute(self, step: Step) -> None:
        handler = getattr(self, "_do_" + step.do, None)
        if handler is None:
            raise ValueError(f"unknown step kind {step.do!r}")
        handler(step)

    def _host(self, step: Step) -> Host:
        if step.host is None or step.host not in self.hosts:
            raise ValueError(f"step {step.index}: unknown host {step.host!r}")
        return self.hosts[step.host]

    def _app(self, host: Host, name: str | None, default: AppSpec = DEFAULT_APP) -> AppSpec:
        if name is None:
            return host.spec.apps[0] if host.spec.apps else default
        app = host.spec.app(name)
        if app is None:
            raise ValueError(f"host {host.name}: unknown app {name!r}")
        return app

    def resolve(self, to: str, host: Host | None = None) -> tuple[int, int, int]:
        """``"host:port"``, ``"10.0.0.2:80"``, ``"[fd00::2]:80"`` (port optional) → (addr, bits, port)."""
        hit = self._resolved.get(to)
        if hit is None:  # hosts and their addresses are fixed for the run
            hit = self._resolved[to] = resolve_target(to, {n: h.addrs for n, h in self.hosts.items()})
        return hit

    def _local_bind(self, host: Host, step: Step, proto: int) -> tuple[int, int | None, bool] | None:
        """(bits, local address or None for wildcard, wildcard) of a listen/bind step."""
        if step.address is not None:
            v, b = parse_address(step.address)
            return b, v, v == 0
        if not host.addrs:
            return None
        v, b = host.addrs[0]
        return b, v, False

    def bind(self, host: Host, sock: Sock, proto: int, port: int, op: str = "bind") -> bool:
        """BIND_REDIRECT → RESOURCE_ASSIGNMENT (explicit or implicit bind, §2.11)."""
        bits = sock.bits
        any_port = port == 0
        if any_port:
            port = host.alloc_port(proto, bits)
        elif (proto, bits, port) in host.ports:
            self.stack(host, "bind-failed", f"port {port} in use (WSAEADDRINUSE)", socket=sock.name)
            return False
        sock.lport = port
        # The pages disagree on IS_WILDCARD_BIND: "ALE Layers" (learn.microsoft.com/windows/win32/fwp/
        # ale-layers) sets it for a port-0 bind, "Filtering Condition Flags" (.../fwp/filtering-
        # condition-flags-) for a wildcard local address. Both statements hold here: the flag is
        # set for either. An unspecified local address (implicit bind, 0.0.0.0, ::) is FWP_EMPTY
        # at RESOURCE_ASSIGNMENT and AUTH_LISTEN ("ALE Layers"). docs/decisions-engine.md.
        ctx = Ctx(host, bits, proto, None if sock.wildcard else sock.laddr, port, None, None,
                  sock.app, False, wildcard=sock.wildcard or any_port, implicit=sock.implicit)
        sock.bind_ctx = ctx
        L = host.layers(bits)
        if not self.traverse(host, L.bind_redirect, ctx, None, op, None, None, None):
            self.stack(host, "bind-failed", "blocked at ALE_BIND_REDIRECT (WSAEACCES)", socket=sock.name)
            return False
        sock.ra_indicated = True  # released at close even when blocked (ale-endpoint-lifetime-management)
        if not self.traverse(host, L.resource, ctx, None, op, None, None, None):
            self.stack(host, "bind-failed", "blocked at ALE_RESOURCE_ASSIGNMENT (WSAEACCES)", socket=sock.name)
            return False
        sock.assigned = True
        host.ports.add((proto, bits, port))
        return True

    def _do_listen(self, step: Step) -> None:
        host = self._host(step)
        proto = TCP if (step.proto or "tcp") == "tcp" else UDP
        if proto == UDP:
            self._do_bind(step)
            return
        where = self._local_bind(host, step, proto)
        if where is None:
            self.stack(host, "listen-failed", "host has no address")
            return
        bits, laddr, wildcard = where
        sock = Sock(step.socket, host, "tcp-listen", self._app(host, step.app), bits)
        sock.laddr, sock.wildcard = laddr, wildcard
        self._name(sock)
        if not self.bind(host, sock, TCP, step.port or 0):
            sock.state = "failed"
            return
        assert sock.bind_ctx is not None
        L = host.layers(bits)
        if not self.traverse(host, L.listen, sock.bind_ctx, None, "listen", None, None, None):
            self.stack(host, "listen-failed", "blocked at ALE_AUTH_LISTEN (WSAEACCES)", socket=sock.name)
            sock.state = "failed"
            return
        sock.state = "listening"
        host.listeners.setdefault((bits, sock.lport), []).append(sock)
        self.stack(host, "listening", f"TCP port {sock.lport}", socket=sock.name, port=sock.lport)

    def _do_bind(self, step: Step) -> None:
        host = self._host(step)
        proto = TCP if step.proto == "tcp" else UDP
        where = self._local_bind(host, step, proto)
        if where is None:
            self.stack(host, "bind-failed", "host has no address")
            return
        bits, laddr, wildcard = where
        sock = Sock(step.socket, host, "udp" if proto == UDP else "tcp", self._app(host, step.app), bits)
        sock.laddr, sock.wildcard = laddr, wildcard
        self._name(sock)
        if not self.bind(host, sock, proto, step.port or 0):
            sock.state = "failed"
            return
        sock.state = "bound"
        if proto == UDP:
            host.udp.setdefault((bits, sock.lport), []).append(sock)
        self.stack(host, "bound", f"{'UDP' if proto == UDP else 'TCP'} port {sock.lport}", socket=sock.name,
                   port=sock.lport)

    def _name(self, sock: Sock) -> None:
        if sock.name is not None:
            self.sockets[sock.name] = sock

    def _do_connect(self, step: Step) -> None:
        host = self._host(step)
        assert step.to is not None
        raddr, bits, rport = self.resolve(step.to)
        proto = UDP if step.proto == "udp" else TCP
        loopback = host.owns(bits, raddr)
        explicit = False
        if step.address is not None:  # bind() to this local address first, then connect()
            lv, lbits = parse_address(step.address)
            if lbits != bits:
                self.stack(host, "connect-failed", f"local address {step.address} is not of the family of "
                           f"{step.to} (WSAEAFNOSUPPORT)")
                return
            laddr: int | None = None if lv == 0 else lv
            explicit = laddr is not None
            if laddr is None:
                laddr = raddr if loopback else host.local_addr(bits)
        else:
            laddr = raddr if loopback else host.local_addr(bits)
        if laddr is None:
            self.stack(host, "connect-failed", "no local address of that family (WSAENETUNREACH)")
            return
        sock = Sock(step.socket, host, "udp" if proto == UDP else "tcp", self._app(host, step.app), bits)
        sock.laddr, sock.wildcard, sock.implicit = laddr, not explicit, not explicit
        self._name(sock)
        if not self.bind(host, sock, proto, step.port or 0):
            sock.state = "failed"
            return
        if proto == UDP:
            # connect() on UDP only fixes the default remote; ALE runs at the first send (§2.3).
            sock.state = "bound"
            sock.default_remote = (raddr, rport)
            host.udp.setdefault((bits, sock.lport), []).append(sock)
            self.stack(host, "connected", "UDP default remote set (no packet)", socket=sock.name)
            return
        L = host.layers(bits)
        ctx = Ctx(host, bits, TCP, laddr, sock.lport, raddr, rport, sock.app, loopback)
        sock.raddr, sock.rport = raddr, rport
        if not self.traverse(host, L.connect_redirect, ctx, None, "connect", "outbound", None, None):
            self._connect_failed(sock, "blocked at ALE_CONNECT_REDIRECT (WSAEACCES)")
            return
        fid = self.new_flow_id()
        assert L.connect is not None
        # An AUTH_CONNECT indication, permitted or not: ENDPOINT_CLOSURE at close (Win7+).
        sock.authorized = True
        sock.auth = (ctx, fid)
        if not self.traverse(host, L.connect, ctx, None, "connect", "outbound", OUTBOUND, fid):
            self._connect_failed(sock, "blocked at ALE_AUTH_CONNECT (WSAEACCES)")
            return
        key = (bits, laddr, sock.lport, raddr, rport)
        sock.conn_key = key
        host.conns[key] = sock
        sock.flow = self.add_flow(fid, host, TCP, L.connect, "outbound", ctx, sock, key, idle=False)
        sock.state = "syn-sent"
        self._send_syn(sock)

    def _connect_failed(self, sock: Sock, detail: str) -> None:
        sock.state = "failed"
        self.stack(sock.host, "connect-failed", detail, None if sock.flow is None else sock.flow.id,
                   socket=sock.name)

    def _rto(self, host: Host) -> float:
        return 3.0 if host.windows <= WinVersion.WIN7 else 1.0

    def _send_syn(self, sock: Sock) -> None:
        host = sock.host
        flow = sock.flow
        assert flow is not None
        self.out_packet(host, host.layers(sock.bits), flow.ctx, sock.segment("SYN"), flow.id)
        tries = sock.syn_tries
        sock.timer = self.clock.timer(self._rto(host) * (2 ** tries), self._syn_timer, sock, tries)

    def _syn_timer(self, sock: Sock, tries: int) -> None:
        if sock.state != "syn-sent" or sock.syn_tries != tries:
            return
        if tries < MAX_SYN_RETRANSMITS:
            sock.syn_tries += 1
            self.stack(sock.host, "syn-retransmit", f"no answer; SYN retransmission {tries + 1}",
                       None if sock.flow is None else sock.flow.id, socket=sock.name)
            self._send_syn(sock)
            return
        self._abort_conn(sock, "connect-failed", "no answer to SYN: connection timed out (WSAETIMEDOUT)")

    # -- send ----------------------------------------------------------------------
    def _sock(self, step: Step) -> Sock | None:
        name = step.socket
        if name is None or name not in self.sockets:
            if name is not None and "#" in name:
                base, _, n = name.partition("#")
                lst = self.sockets.get(base)
                if lst is not None and n.isdigit() and 0 < int(n) <= len(lst.accepted):
                    return lst.accepted[int(n) - 1]
            return None
        return self.sockets[name]

    def _do_send(self, step: Step) -> None:
        sock = self._sock(step)
        if sock is None:
            host = self.hosts[step.host] if step.host in self.hosts else next(iter(self.hosts.values()))
            self.stack(host, "send-failed", f"socket {step.socket!r} does not exist (yet)")
            return
        if sock.kind == "tcp-listen":
            if not sock.accepted:
                self.stack(sock.host, "send-failed", "no accepted connection on this listening socket",
                           socket=sock.name)
                return
            sock = sock.accepted[-1]
        n = max(1, step.packets)
        nbytes = step.bytes if step.bytes is not None else 100
        per = max(1, nbytes // n)
        if sock.kind == "tcp":
            self.clock.call_series(n, PACKET_GAP, self.send_tcp, (sock, per))
            return
        dest: tuple[int, int, int] | None = None
        if step.to is not None:
            dest = self.resolve(step.to)
        elif sock.default_remote is not None:
            dest = (sock.default_remote[0], sock.bits, sock.default_remote[1])
        elif sock.last_peer is not None:
            dest = (sock.last_peer[0], sock.bits, sock.last_peer[1])
        if dest is None:
            self.stack(sock.host, "send-failed", "no destination (give `to`)", socket=sock.name)
            return
        self.clock.call_series(n, PACKET_GAP, self.send_udp, (sock, dest[0], dest[2], per))

    def send_tcp(self, sock: Sock, nbytes: int) -> None:
        host = sock.host
        flow = sock.flow
        if sock.state == "established" and flow is not None and flow.alive and not flow.needs_reauth:
            path = flow.ctx.out_data
            pkt = sock.data_pkt
            if (path is not None and path.token is host.policy_token
                    and pkt is not None and pkt.nbytes == nbytes and pkt.hop is not None):
                # steady state: the rows of the last quiet crossing, then the same hop
                rows = path.rows
                self._items.extend(rows)
                clock = self.clock
                self._times.extend([clock.now] * len(rows))
                hop = pkt.hop
                clock._n = n = clock._n + 1
                heapq.heappush(clock._heap, (clock.now + hop[0], n, None, True, hop[1], hop[2]))
                clock.activity += 1
                return
        if sock.state != "established" or flow is None or not flow.alive:
            self.stack(host, "send-failed", f"connection is {sock.state}", socket=sock.name)
            return
        if flow.needs_reauth and not self.reauthorize(flow, "DATA", "outbound", OUTBOUND):
            self.stack(host, "send-failed", "connection aborted", flow.id, socket=sock.name)
            return
        fid = flow.id
        ctx = flow.ctx
        # STREAM, then out_packet's OUTBOUND_TRANSPORT and OUTBOUND_IPPACKET, as one path.
        path = ctx.out_data
        if path is None or path.flow != fid:
            L = host.layers(sock.bits)
            path = ctx.out_data = Path(ctx.path((L.stream, L.out_tr, L.out_ip), OUTBOUND), "DATA", OUTBOUND, fid)
        blocked = self._run_path(host, ctx, path)
        if blocked == 0:
            self.stack(host, "data-dropped", "blocked at STREAM", fid, bytes=nbytes)
        elif blocked == 1:
            self.stack(host, "packet-dropped", "DATA blocked at OUTBOUND_TRANSPORT", fid)
        elif blocked == 2:
            self.stack(host, "packet-dropped", "DATA blocked at OUTBOUND_IPPACKET", fid)
        else:
            pkt = sock.data_pkt
            if pkt is None or pkt.nbytes != nbytes:
                pkt = sock.data_pkt = sock.segment("DATA", nbytes)
            self.wire(host, pkt)

    def send_udp(self, sock: Sock, raddr: int, rport: int, nbytes: int) -> None:
        host = sock.host
        bits = sock.bits
        L = host.layers(bits)
        key = (raddr, rport)
        flow = sock.flows.get(key)
        if flow is None:
            loopback = host.owns(bits, raddr)
            laddr = sock.laddr if (sock.laddr and not sock.wildcard) else (raddr if loopback else host.local_addr(bits))
            assert laddr is not None
            ctx = Ctx(host, bits, UDP, laddr, sock.lport, raddr, rport, sock.app, loopback)
            if not self.traverse(host, L.connect_redirect, ctx, "DATAGRAM", None, "outbound", OUTBOUND, None):
                self.stack(host, "datagram-dropped", "blocked at ALE_CONNECT_REDIRECT", socket=sock.name)
                return
            fid = self.new_flow_id()
            assert L.connect is not None
            if not self.traverse(host, L.connect, ctx, "DATAGRAM", None, "outbound", OUTBOUND, fid):
                self.stack(host, "datagram-dropped", "blocked at ALE_AUTH_CONNECT", fid, socket=sock.name)
                return
            sock.authorized = True
            flow = self.add_flow(fid, host, UDP, L.connect, "outbound", ctx, sock, key, idle=True)
            sock.flows[key] = flow
            if not self.traverse(host, L.flow_est, ctx, "DATAGRAM", None, "outbound", OUTBOUND, fid):
                self.drop_flow(flow, "blocked at ALE_FLOW_ESTABLISHED")
                return
        elif flow.needs_reauth and not self.reauthorize(flow, "DATAGRAM", "outbound", OUTBOUND):
            self.stack(host, "datagram-dropped", "reauthorization blocked", flow.id, socket=sock.name)
            return
        flow.last = self.clock.now
        ctx = flow.ctx
        if not self.traverse(host, L.dgram, ctx, "DATAGRAM", None, "outbound", OUTBOUND, flow.id):
            self.stack(host, "datagram-dropped", "blocked at DATAGRAM_DATA", flow.id)
            return
        assert ctx.laddr is not None
        self.out_packet(host, L, ctx, Pkt(UDP, bits, ctx.laddr, raddr, sock.lport, rport, "DATAGRAM", nbytes),
                        flow.id)

    # -- close ----------------------------------------------------------------------
    def _do_close(self, step: Step) -> None:
        sock = self._sock(step)
        if sock is None:
            host = self.hosts[step.host] if step.host in self.hosts else next(iter(self.hosts.values()))
            self.stack(host, "close-failed", f"socket {step.socket!r} does not exist (yet)")
            return
        self.close(sock)

    def close(self, sock: Sock) -> None:
        """ENDPOINT_CLOSURE (per authorized connection / per endpoint / per listener) then
        RESOURCE_RELEASE (per resource assignment), Win7+ (§2.11). No FIN is classified."""
        host = sock.host
        if sock.state == "closed":
            self.stack(host, "close", "socket already closed", socket=sock.name)
            return
        L = host.layers(sock.bits)
        flow = sock.flow
        ctx = flow.ctx if flow is not None else sock.bind_ctx
        fid = None if flow is None else flow.id
        if flow is None and sock.auth is not None:  # AUTH_CONNECT indicated but blocked: no flow
            ctx, fid = sock.auth
        # "ALE Endpoint Lifetime Management" (learn.microsoft.com/windows-hardware/drivers/network/
        # ale-endpoint-lifetime-management): a closure for every AUTH_CONNECT / RECV_ACCEPT
        # indication of a TCP connection, for each TCP listen socket and each non-TCP endpoint;
        # a release for every RESOURCE_ASSIGNMENT indication — whatever happened in between
        # (blocked, refused, reset, reauthorization blocked). A listen blocked at AUTH_LISTEN
        # never was a listen socket and a UDP bind blocked at RESOURCE_ASSIGNMENT never an
        # endpoint: release only (docs/decisions-engine.md).
        endpoint = (sock.authorized or (sock.kind == "tcp-listen" and sock.state == "listening")
                    or (sock.kind == "udp" and sock.assigned))
        if ctx is not None and endpoint and L.closure is not None:
            self.classify(host, L.closure, ctx, None, "close", None, None, fid)
        if sock.ra_indicated and L.release is not None and sock.bind_ctx is not None:
            self.classify(host, L.release, sock.bind_ctx, None, "close", None, None, fid)
        if sock.assigned:
            proto = UDP if sock.kind == "udp" else TCP
            host.ports.discard((proto, sock.bits, sock.lport))
        prev = sock.state
        sock.state = "closed"
        if sock.timer is not None:
            sock.timer.cancel()  # a pending SYN retransmission dies with the socket
        if sock.kind == "tcp-listen":
            lst = host.listeners.get((sock.bits, sock.lport), [])
            if sock in lst:
                lst.remove(sock)
        elif sock.kind == "udp":
            lst = host.udp.get((sock.bits, sock.lport), [])
            if sock in lst:
                lst.remove(sock)
            for f in list(sock.flows.values()):
                self.drop_flow(f, "socket closed")
        else:
            if sock.conn_key is not None:
                host.conns.pop(sock.conn_key, None)
            if flow is not None:
                self.drop_flow(flow, "socket closed")
            if prev == "established" and sock.raddr is not None:
                peer = self.owner.get((sock.raddr, sock.bits))
                if peer is not None:
                    self.clock.call_later(LATENCY, self._peer_closed, peer, sock)
        self.stack(host, "closed", f"{sock.kind} socket closed (termination is indicated at no layer)",
                   fid, socket=sock.name)

    def _peer_closed(self, peer: Host, sock: Sock) -> None:
        assert sock.raddr is not None and sock.rport is not None and sock.laddr is not None
        other = peer.conns.get((sock.bits, sock.raddr, sock.rport, sock.laddr, sock.lport))
        if other is not None and other.state == "established":
            other.state = "peer-closed"
            self.stack(peer, "peer-closed", "FIN received (not indicated at any layer)",
                       None if other.flow is None else other.flow.id, socket=other.name)

    # -- probe / ping / policy / wait ---------------------------------------------------
    def _do_probe(self, step: Step) -> None:
        host = self._host(step)
        assert step.to is not None
        raddr, bits, rport = self.resolve(step.to)
        laddr = raddr if host.owns(bits, raddr) else host.local_addr(bits)
        if laddr is None:
            self.stack(host, "probe-failed", "no local address of that family")
            return
        proto = UDP if step.proto == "udp" else TCP
        sport = host.alloc_port(proto, bits)
        # A scanner crafts the packet itself (raw): no ALE, only the outbound packet layers.
        ctx = Ctx(host, bits, proto, laddr, sport, raddr, rport, None, host.owns(bits, raddr))
        pkt = Pkt(proto, bits, laddr, raddr, sport, rport, "SYN" if proto == TCP else "DATAGRAM",
                  0 if proto == TCP else (step.bytes or 0), probe=True)
        key = (proto, bits, raddr, rport, sport)
        host.probes[key] = self.clock.timer(PROBE_TIMEOUT, self._probe_timer, host, key)
        self.stack(host, "probe-sent", f"{'SYN' if proto == TCP else 'datagram'} to port {rport}", port=rport)
        self.out_packet(host, host.layers(bits), ctx, pkt, None)

    def _probe_timer(self, host: Host, key: tuple[int, int, int, int, int]) -> None:
        host.probes.pop(key, None)
        proto = key[0]
        what = "filtered (stealth or blocked)" if proto == TCP else "open|filtered"
        self.stack(host, "probe-no-response",
                   f"no response from port {key[3]}: {what}; a scanner would retransmit, then give up",
                   port=key[3])

    def _probe_answer(self, host: Host, pkt: Pkt, verdict: str) -> bool:
        """A response to one of this host's probes? Record it."""
        proto = TCP if pkt.proto == TCP else UDP
        if pkt.embedded is not None:
            _, _, sport, dst, dport = pkt.embedded
            key = (UDP, pkt.bits, dst, dport, sport)
        else:
            key = (proto, pkt.bits, pkt.src, pkt.sport, pkt.dport)
        if key not in host.probes:
            return False
        host.probes.pop(key).cancel()
        self.stack(host, "probe-result", f"port {key[3]} {verdict}", port=key[3])
        return True

    def _do_ping(self, step: Step) -> None:
        host = self._host(step)
        assert step.to is not None
        raddr, bits, _ = self.resolve(step.to)
        app = self._app(host, step.app, PING_APP) if step.app is not None else PING_APP
        ident = host.next_icmp_id
        host.next_icmp_id += 1
        for i in range(max(1, step.count)):
            self.clock.call_later(float(i), self.send_echo, host, app, bits, raddr, ident, i + 1)

    def send_echo(self, host: Host, app: AppSpec, bits: int, raddr: int, ident: int, seq: int) -> None:
        L = host.layers(bits)
        proto = ICMP4 if bits == 32 else ICMP6
        etype = 8 if bits == 32 else 128
        loopback = host.owns(bits, raddr)
        laddr = raddr if loopback else host.local_addr(bits)
        if laddr is None:
            self.stack(host, "ping-failed", "no local address of that family")
            return
        key = ("out", bits, laddr, raddr, ident)
        flow = host.icmp_flows.get(key)
        if flow is None:
            ctx = Ctx(host, bits, proto, laddr, etype, raddr, 0, app, loopback)
            fid = self.new_flow_id()
            assert L.connect is not None
            if not self.traverse(host, L.connect, ctx, "ICMP", None, "outbound", OUTBOUND, fid):
                self.stack(host, "ping-failed", "echo request blocked at ALE_AUTH_CONNECT (transmit failed)", fid)
                return
            flow = self.add_flow(fid, host, proto, L.connect, "outbound", ctx, None, key, idle=True)
            host.icmp_flows[key] = flow
            if not self.traverse(host, L.flow_est, ctx, "ICMP", None, "outbound", OUTBOUND, fid):
                self.drop_flow(flow, "blocked at ALE_FLOW_ESTABLISHED")
                return
        elif flow.needs_reauth and not self.reauthorize(flow, "ICMP", "outbound", OUTBOUND):
            self.stack(host, "ping-failed", "echo request: reauthorization blocked", flow.id)
            return
        flow.last = self.clock.now
        if not self.traverse(host, L.dgram, flow.ctx, "ICMP", None, "outbound", OUTBOUND, flow.id):
            self.stack(host, "ping-failed", "echo request blocked at DATAGRAM_DATA", flow.id)
            return
        pkt = Pkt(proto, bits, laddr, raddr, etype, 0, "ICMP", icmp_type=etype, ident=ident, seq=seq)
        host.pings[(ident, seq)] = self.clock.timer(PING_TIMEOUT, self._ping_timer, host, ident, seq, flow.id)
        self.stack(host, "echo-request-sent", f"id {ident} seq {seq}", flow.id)
        self.out_packet(host, L, flow.ctx, pkt, flow.id)

    def _ping_timer(self, host: Host, ident: int, seq: int, fid: int) -> None:
        host.pings.pop((ident, seq), None)
        self.stack(host, "ping-timeout", f"id {ident} seq {seq}: request timed out", fid)

    def _do_policy(self, step: Step) -> None:
        host = self._host(step)
        self.change_policy(host, step.add, step.remove)

    def change_policy(self, host: Host, add: tuple[Filter, ...], remove: tuple[str, ...]) -> None:
        """Apply a policy change; flows authorized at a changed AUTH layer are marked (§2.5)."""
        old = host.policy
        removing = set(remove)
        removed = [f for f in old.filters if f.key in removing]
        host.set_policy(apply_change(old, add, remove))
        changed = sorted({f.layer for f in add} | {f.layer for f in removed})
        reauth_layers = [name for name in changed
                         if layer_family(name) in _REAUTH_FAMILIES and not name.endswith("_DISCARD")]
        marked: list[int] = []
        for fid in sorted(host.flows):
            flow = host.flows[fid]
            if flow.auth_layer.name in reauth_layers:
                flow.needs_reauth = True
                marked.append(fid)
        self.records.append(PolicyRecord(self.seq + 1, self.clock.now, host.name, tuple(f.key for f in add),
                                         tuple(f.key for f in removed), tuple(reauth_layers)))
        missing = sorted(removing - {f.key for f in removed})
        if missing:
            self.stack(host, "policy-warning", f"no filter with key {', '.join(missing)} to remove")
        if marked:
            self.stack(host, "flows-marked-for-reauthorization",
                       f"{len(marked)} flow(s): next packet is reauthorized", flows=marked)

    def _do_wait(self, step: Step) -> None:
        """Handled by the engine (it advances the clock); nothing to do here."""

    def _do_observe(self, step: Step) -> None:
        """One captured event (``wfptui import CAPTURE``): its simulated verdict at its layer
        (``core.triage``: the unknown-field rule included) as a classification record, then
        an ``observed`` record comparing it with what the capture says. Events that are not
        a layer classification give only the ``observed`` record (``not_simulated``)."""
        from wfptui.core.evidence import Observation  # noqa: PLC0415 - core.triage imports this module
        from wfptui.core.triage import Simulator, judge  # noqa: PLC0415

        host = self._host(step)
        obs = Observation.from_dict(step.event)
        cached = self._simulators.get(host.name)
        if cached is None or cached[0] is not host.policy_token:
            cached = (host.policy_token, Simulator(host.policy))
            self._simulators[host.name] = cached
        ev = judge(obs, cached[1])
        sim, layer = ev.sim, ev.layer
        if sim is not None and layer is not None:
            res = sim.result
            f = res.filter
            rendered = {lf.name: json_value(sim.values[lf.name], lf.dtype, lf.name)
                        for lf in layer.fields if lf.name in sim.values}
            packet, op = observe_packet_op(layer.name, obs.protocol)
            self.records.append(ClassifyRecord(
                self.seq + 1, self.clock.now, host.name, layer.name, layer.layer_id, packet, op, ev.direction,
                None, bool(obs.reauth_reason), res.action, None if f is None else f.key,
                None if f is None else f.filter_id, None if res.sublayer is None else res.sublayer.key,
                res.terminating, res.veto, rendered))
        self.records.append(ObservedRecord(
            self.seq + 1, self.clock.now, host.name, obs.index, obs.type, obs.action, obs.filter_id,
            ev.matched_by, ev.verdict, () if sim is None else sim.unknown_fields))

    # -- inbound ---------------------------------------------------------------------
    def deliver(self, host: Host, pkt: Pkt, sender: Host) -> None:
        loopback = sender is host
        if pkt.proto == TCP:
            self._in_tcp(host, pkt, loopback)
        elif pkt.proto == UDP:
            self._in_udp(host, pkt, loopback)
        elif pkt.kind == "ICMP-ERROR":
            self._in_icmp_error(host, pkt, loopback)
        else:
            self._in_echo(host, pkt, loopback)

    def _pkt_ctx(self, host: Host, pkt: Pkt, loopback: bool, app: AppSpec | None = None) -> Ctx:
        return Ctx(host, pkt.bits, pkt.proto, pkt.dst, pkt.dport, pkt.src, pkt.sport, app, loopback)

    def _find_listener(self, host: Host, bits: int, addr: int, port: int) -> Sock | None:
        for s in host.listeners.get((bits, port), ()):
            if s.wildcard or s.laddr == addr:
                return s
        return None

    def _in_tcp(self, host: Host, pkt: Pkt, loopback: bool) -> None:
        conn = host.conns.get(pkt.ckey)
        kind = pkt.kind
        if conn is None or conn.flow is None:
            self._in_tcp_stray(host, host.layers(pkt.bits), pkt, loopback)
            return
        flow = conn.flow
        fid = flow.id
        ctx = flow.ctx
        if kind == "DATA" and not flow.needs_reauth:
            # IN_IPPACKET, IN_TRANSPORT, STREAM as one path (the general code below does the same).
            path = ctx.in_data
            if (path is not None and path.token is host.policy_token and path.tail is not None
                    and path.tail[0] == pkt.nbytes):
                # steady state: the rows of the last quiet crossing, then its data-delivered
                items = self._items
                rows = path.rows
                items.extend(rows)
                items.append(path.tail[1])
                self._times.extend([self.clock.now] * (len(rows) + 1))
                return
            if path is None or path.flow != fid:
                L = host.layers(pkt.bits)
                path = ctx.in_data = Path(ctx.path((L.in_ip, L.in_tr, L.stream), INBOUND), "DATA", INBOUND, fid)
            blocked = self._run_path(host, ctx, path)
            if blocked < 0:
                self.stack(host, "data-delivered", "", fid, bytes=pkt.nbytes)
                if path.token is host.policy_token:  # a quiet crossing: keep its delivery row too
                    path.tail = (pkt.nbytes, self._items[-1])
            elif blocked == 2:
                self.stack(host, "data-dropped", "blocked at STREAM", fid, bytes=pkt.nbytes)
            return
        L = host.layers(pkt.bits)
        if not self.traverse(host, L.in_ip, ctx, kind, None, "inbound", INBOUND, fid):
            return
        if not self.traverse(host, L.in_tr, ctx, kind, None, "inbound", INBOUND, fid):
            return
        if flow.needs_reauth and kind != "RST" and not self.reauthorize(flow, kind, "inbound", INBOUND):
            return
        if kind == "RST":
            if conn.state == "syn-sent":
                self._abort_conn(conn, "connection-refused", "RST received (WSAECONNREFUSED)")
            else:
                self._abort_conn(conn, "connection-reset", "RST received (WSAECONNRESET)")
        elif kind == "SYN":
            if conn.state == "syn-rcvd":  # a retransmitted SYN: answer again, no ALE (flow exists)
                self.out_packet(host, L, ctx, conn.segment("SYN-ACK"), fid)
        elif kind == "SYN-ACK":
            if conn.state != "syn-sent":
                return
            # Client: FLOW_ESTABLISHED after the SYN-ACK, before its ACK (§2.2).
            if not self.traverse(host, L.flow_est, ctx, "ACK", None, "outbound", OUTBOUND, fid):
                self._abort_conn(conn, "connect-failed", "blocked at ALE_FLOW_ESTABLISHED (WSAECONNABORTED)")
                return
            conn.state = "established"
            if conn.timer is not None:
                conn.timer.cancel()
            self.stack(host, "connected", "three-way handshake complete", fid, socket=conn.name)
            self.out_packet(host, L, ctx, conn.segment("ACK"), fid)
        elif kind == "ACK":
            if conn.state != "syn-rcvd":
                return
            if not self.traverse(host, L.flow_est, ctx, "ACK", None, "inbound", INBOUND, fid):
                self._abort_conn(conn, "accept-failed", "blocked at ALE_FLOW_ESTABLISHED")
                return
            conn.state = "established"
            lst = conn.listener
            if lst is not None:
                lst.accepted.append(conn)
                conn.name = f"{lst.name}#{len(lst.accepted)}" if lst.name else None
            self.stack(host, "listen-completed", "connection ready for accept()", fid, socket=conn.name)
        elif kind == "DATA":
            if not self.traverse(host, L.stream, ctx, "DATA", None, "inbound", INBOUND, fid):
                self.stack(host, "data-dropped", "blocked at STREAM", fid, bytes=pkt.nbytes)
                return
            self.stack(host, "data-delivered", "", fid, bytes=pkt.nbytes)

    def _in_tcp_stray(self, host: Host, L: LayerSet, pkt: Pkt, loopback: bool) -> None:
        """A segment without a connection: a new SYN, a probe's answer, or no listener."""
        kind = pkt.kind
        ctx = self._pkt_ctx(host, pkt, loopback)
        if not self.traverse(host, L.in_ip, ctx, kind, None, "inbound", INBOUND, None):
            return
        listener = self._find_listener(host, pkt.bits, pkt.dst, pkt.dport) if kind == "SYN" else None
        if listener is None:
            if kind in ("SYN-ACK", "RST") and (pkt.proto, pkt.bits, pkt.src, pkt.sport, pkt.dport) in {
                    (TCP, k[1], k[2], k[3], k[4]) for k in host.probes}:
                if not self.traverse(host, L.in_tr, ctx, kind, None, "inbound", INBOUND, None):
                    return
                if kind == "RST":
                    self._probe_answer(host, pkt, "closed (RST)")
                else:
                    self._probe_answer(host, pkt, "open (SYN-ACK)")
                    self.out_packet(host, L, ctx, Pkt(TCP, pkt.bits, pkt.dst, pkt.src, pkt.dport, pkt.sport, "RST"),
                                    None)
                return
            self._no_listener(host, L, pkt, ctx)
            return
        if not self.traverse(host, L.in_tr, ctx, kind, None, "inbound", INBOUND, None):
            self.stack(host, "packet-dropped", "SYN blocked at INBOUND_TRANSPORT; the client retransmits")
            return
        app = listener.app
        cctx = Ctx(host, pkt.bits, TCP, pkt.dst, pkt.dport, pkt.src, pkt.sport, app, loopback)
        fid = self.new_flow_id()
        assert L.recv_accept is not None
        if not self.traverse(host, L.recv_accept, cctx, "SYN", None, "inbound", INBOUND, fid):
            self.stack(host, "connection-blocked",
                       "SYN dropped at ALE_AUTH_RECV_ACCEPT (no RST); the client retransmits, then times out", fid)
            return
        conn = Sock(None, host, "tcp", app, pkt.bits)
        conn.laddr, conn.lport, conn.raddr, conn.rport = pkt.dst, pkt.dport, pkt.src, pkt.sport
        conn.listener = listener
        conn.authorized = True
        conn.state = "syn-rcvd"
        key = (pkt.bits, pkt.dst, pkt.dport, pkt.src, pkt.sport)
        conn.conn_key = key
        host.conns[key] = conn
        conn.flow = self.add_flow(fid, host, TCP, L.recv_accept, "inbound", cctx, conn, key, idle=False)
        self.out_packet(host, L, cctx, Pkt(TCP, pkt.bits, pkt.dst, pkt.src, pkt.dport, pkt.sport, "SYN-ACK"), fid)

    def _no_listener(self, host: Host, L: LayerSet, pkt: Pkt, ctx: Ctx) -> None:
        """§2.2: INBOUND_TRANSPORT_DISCARD with the no-listener error; RST unless blocked there."""
        twin = host.twin(L.in_tr) if L.in_tr is not None else None
        blocked = False
        if twin is not None:
            res = self.classify(host, twin, ctx, pkt.kind, None, "inbound", INBOUND, None, stack_discard=True)
            blocked = res.action == BLOCK
        what = "no listener" if pkt.kind == "SYN" else "no connection"
        self.stack(host, "no-listener", f"{pkt.kind} to port {pkt.dport}: {what} (STATUS_PORT_UNREACHABLE)",
                   port=pkt.dport)
        if pkt.kind == "RST":
            return  # never answer a RST
        if blocked:
            self.stack(host, "rst-suppressed", "blocked at INBOUND_TRANSPORT_DISCARD: no RST (stealth)")
            return
        rst = Pkt(TCP, pkt.bits, pkt.dst, pkt.src, pkt.dport, pkt.sport, "RST", probe=pkt.probe)
        if self.out_packet(host, L, ctx, rst, None):
            self.stack(host, "rst-sent", f"to {format_address(pkt.src, pkt.bits)}:{pkt.sport}")

    def _find_udp(self, host: Host, bits: int, addr: int, port: int) -> Sock | None:
        for s in host.udp.get((bits, port), ()):
            if s.wildcard or s.laddr == addr:
                return s
        return None

    def _in_udp(self, host: Host, pkt: Pkt, loopback: bool) -> None:
        L = host.layers(pkt.bits)
        sock = self._find_udp(host, pkt.bits, pkt.dst, pkt.dport)
        flow = sock.flows.get((pkt.src, pkt.sport)) if sock is not None else None
        if flow is not None:
            ctx = flow.ctx
        else:
            ctx = self._pkt_ctx(host, pkt, loopback, None if sock is None else sock.app)
        fid = None if flow is None else flow.id
        if not self.traverse(host, L.in_ip, ctx, "DATAGRAM", None, "inbound", INBOUND, fid):
            return
        if sock is None:
            self._udp_unreachable(host, L, pkt, ctx, loopback)
            return
        if not self.traverse(host, L.in_tr, ctx, "DATAGRAM", None, "inbound", INBOUND, fid):
            return
        if flow is None:
            nfid = self.new_flow_id()
            assert L.recv_accept is not None
            if not self.traverse(host, L.recv_accept, ctx, "DATAGRAM", None, "inbound", INBOUND, nfid):
                self.stack(host, "datagram-dropped", "blocked at ALE_AUTH_RECV_ACCEPT", nfid)
                return
            sock.authorized = True
            flow = self.add_flow(nfid, host, UDP, L.recv_accept, "inbound", ctx, sock, (pkt.src, pkt.sport),
                                 idle=True)
            sock.flows[(pkt.src, pkt.sport)] = flow
            if not self.traverse(host, L.flow_est, ctx, "DATAGRAM", None, "inbound", INBOUND, nfid):
                self.drop_flow(flow, "blocked at ALE_FLOW_ESTABLISHED")
                return
        elif flow.needs_reauth and not self.reauthorize(flow, "DATAGRAM", "inbound", INBOUND):
            return
        flow.last = self.clock.now
        if not self.traverse(host, L.dgram, ctx, "DATAGRAM", None, "inbound", INBOUND, flow.id):
            self.stack(host, "datagram-dropped", "blocked at DATAGRAM_DATA", flow.id)
            return
        sock.last_peer = (pkt.src, pkt.sport)
        self.stack(host, "datagram-delivered", "", flow.id, bytes=pkt.nbytes, socket=sock.name)

    def _udp_unreachable(self, host: Host, L: LayerSet, pkt: Pkt, ctx: Ctx, loopback: bool) -> None:
        """§2.3: INBOUND_IPPACKET_DISCARD, then ICMP port unreachable out unless blocked."""
        twin = host.twin(L.in_ip) if L.in_ip is not None else None
        blocked = False
        if twin is not None:
            res = self.classify(host, twin, ctx, "DATAGRAM", None, "inbound", INBOUND, None, stack_discard=True)
            blocked = res.action == BLOCK
        self.stack(host, "no-listener", f"datagram to UDP port {pkt.dport}: no socket", port=pkt.dport)
        if blocked:
            self.stack(host, "icmp-error-suppressed", "blocked at INBOUND_IPPACKET_DISCARD (stealth)")
            return
        v4 = pkt.bits == 32
        itype, icode = (3, 3) if v4 else (1, 4)  # port unreachable (ICMPv4 3/3, ICMPv6 1/4)
        proto = ICMP4 if v4 else ICMP6
        ectx = Ctx(host, pkt.bits, proto, pkt.dst, itype, pkt.src, icode, None, loopback)
        if not self.traverse(host, L.out_icmp, ectx, "ICMP-ERROR", None, "outbound", OUTBOUND, None):
            self.stack(host, "icmp-error-suppressed", "blocked at OUTBOUND_ICMP_ERROR")
            return
        err = Pkt(proto, pkt.bits, pkt.dst, pkt.src, itype, icode, "ICMP-ERROR", icmp_type=itype, icmp_code=icode,
                  embedded=(UDP, pkt.src, pkt.sport, pkt.dst, pkt.dport))
        if self.out_packet(host, L, ectx, err, None):
            self.stack(host, "icmp-error-sent", f"port unreachable (type {itype} code {icode}) to "
                       f"{format_address(pkt.src, pkt.bits)}")

    def _in_icmp_error(self, host: Host, pkt: Pkt, loopback: bool) -> None:
        L = host.layers(pkt.bits)
        assert pkt.embedded is not None
        eproto, esrc, esport, edst, edport = pkt.embedded
        extra: dict[str, Value] = {"EMBEDDED_PROTOCOL": eproto, "EMBEDDED_REMOTE_ADDRESS": edst,
                                   "EMBEDDED_LOCAL_PORT": esport, "EMBEDDED_REMOTE_PORT": edport,
                                   "EMBEDDED_LOCAL_ADDRESS_TYPE": NLAT_UNICAST}
        ctx = Ctx(host, pkt.bits, pkt.proto, pkt.dst, pkt.icmp_type, pkt.src, pkt.icmp_code, None, loopback,
                  extra=extra)
        if not self.traverse(host, L.in_ip, ctx, "ICMP-ERROR", None, "inbound", INBOUND, None):
            return
        if not self.traverse(host, L.in_icmp, ctx, "ICMP-ERROR", None, "inbound", INBOUND, None):
            return
        if self._probe_answer(host, pkt, "closed (ICMP port unreachable)"):
            return
        sock = self._find_udp(host, pkt.bits, esrc, esport)
        self.stack(host, "port-unreachable",
                   f"ICMP error for UDP {format_address(edst, pkt.bits)}:{edport}; the socket's next "
                   "receive fails (WSAECONNRESET)", socket=None if sock is None else sock.name)

    def _in_echo(self, host: Host, pkt: Pkt, loopback: bool) -> None:
        L = host.layers(pkt.bits)
        request = pkt.icmp_type in (8, 128)
        if request:
            key: tuple[str, int, int, int, int] = ("in", pkt.bits, pkt.dst, pkt.src, pkt.ident)
        else:
            key = ("out", pkt.bits, pkt.dst, pkt.src, pkt.ident)
        flow = host.icmp_flows.get(key)
        if flow is not None:
            if request:
                ctx = flow.ctx
            else:
                if flow.reply_ctx is None:
                    c = flow.ctx
                    flow.reply_ctx = Ctx(host, pkt.bits, pkt.proto, c.laddr, pkt.icmp_type, c.raddr, 0, c.app,
                                         loopback)
                ctx = flow.reply_ctx
        else:
            ctx = Ctx(host, pkt.bits, pkt.proto, pkt.dst, pkt.icmp_type, pkt.src, pkt.icmp_code,
                      SYSTEM_APP if request else None, loopback)
        fid = None if flow is None else flow.id
        if not self.traverse(host, L.in_ip, ctx, "ICMP", None, "inbound", INBOUND, fid):
            return
        if not self.traverse(host, L.in_tr, ctx, "ICMP", None, "inbound", INBOUND, fid):
            return
        if flow is None:
            if not request:
                self.stack(host, "packet-dropped", "echo reply without a flow")
                return
            nfid = self.new_flow_id()
            assert L.recv_accept is not None
            if not self.traverse(host, L.recv_accept, ctx, "ICMP", None, "inbound", INBOUND, nfid):
                self.stack(host, "echo-dropped", "echo request blocked at ALE_AUTH_RECV_ACCEPT: no reply", nfid)
                return
            flow = self.add_flow(nfid, host, pkt.proto, L.recv_accept, "inbound", ctx, None, key, idle=True)
            host.icmp_flows[key] = flow
            if not self.traverse(host, L.flow_est, ctx, "ICMP", None, "inbound", INBOUND, nfid):
                self.drop_flow(flow, "blocked at ALE_FLOW_ESTABLISHED")
                return
        elif flow.needs_reauth and not self.reauthorize(flow, "ICMP", "inbound", INBOUND):
            return
        flow.last = self.clock.now
        if not self.traverse(host, L.dgram, ctx, "ICMP", None, "inbound", INBOUND, flow.id):
            self.stack(host, "echo-dropped", "blocked at DATAGRAM_DATA", flow.id)
            return
        if not request:
            timer = host.pings.pop((pkt.ident, pkt.seq), None)
            if timer is not None:
                timer.cancel()
            self.stack(host, "echo-reply-received", f"id {pkt.ident} seq {pkt.seq}", flow.id)
            return
        self.stack(host, "echo-request-received", f"id {pkt.ident} seq {pkt.seq}", flow.id)
        # The echo reply belongs to the same flow: no ALE (§2.6).
        rtype = 0 if pkt.bits == 32 else 129
        if flow.reply_ctx is None:
            flow.reply_ctx = Ctx(host, pkt.bits, pkt.proto, pkt.dst, rtype, pkt.src, 0, SYSTEM_APP, loopback)
        rctx = flow.reply_ctx
        if flow.needs_reauth and not self.reauthorize(flow, "ICMP", "outbound", OUTBOUND):
            return
        if not self.traverse(host, L.dgram, rctx, "ICMP", None, "outbound", OUTBOUND, flow.id):
            return
        reply = Pkt(pkt.proto, pkt.bits, pkt.dst, pkt.src, rtype, 0, "ICMP", icmp_type=rtype, ident=pkt.ident,
                    seq=pkt.seq)
        self.out_packet(host, L, rctx, reply, flow.id)


# ----------------------------------------------------------------------------- targets


def resolve_target(to: str, hosts: Mapping[str, list[tuple[int, int]]]) -> tuple[int, int, int]:
    """``"host:port"`` / ``"host"`` (the host's first address), ``"10.0.0.2:80"``,
    ``"[fd00::2]:80"``, ``"fd00::2"`` → (address, bits, port); port 0 when absent.
    Raises ValueError with a readable message."""
    text = to.strip()
    port = 0
    if text.startswith("["):
        addr_text, sep, rest = text[1:].partition("]")
        if not sep:
            raise ValueError(f"bad address {to!r}: missing ']'")
        if rest:
            if not rest.startswith(":") or not rest[1:].isdigit():
                raise ValueError(f"bad port in {to!r}")
            port = int(rest[1:])
    elif text.count(":") == 1:
        addr_text, _, p = text.partition(":")
        if not p.isdigit():
            raise ValueError(f"bad port in {to!r}")
        port = int(p)
    else:
        addr_text = text
    if port > 65535:
        raise ValueError(f"port {port} out of range in {to!r}")
    if addr_text in hosts:
        addrs = hosts[addr_text]
        if not addrs:
            raise ValueError(f"host {addr_text!r} has no address")
        v, b = addrs[0]
        return v, b, port
    try:
        v, b = parse_address(addr_text)
    except ValueError as exc:
        raise ValueError(f"bad address {addr_text!r} in {to!r}: not a host name or an IP address ({exc})") from None
    return v, b, port


#: ALE layers where the observed classification is a connection's first packet or a socket
#: operation (docs/decisions-engine.md, "observe steps").
_OBSERVE_OPS = {"ALE_AUTH_CONNECT": "connect", "ALE_AUTH_LISTEN": "listen", "ALE_RESOURCE_ASSIGNMENT": "bind",
                "ALE_BIND_REDIRECT": "bind", "ALE_CONNECT_REDIRECT": "connect"}


def observe_packet_op(layer: str, protocol: int | None) -> tuple[str | None, str | None]:
    """The (packet word, op) an ``observe`` step's classification record carries.

    A capture gives no packet, only its layer and protocol: the ALE authorization layers
    classify a TCP connection's SYN; UDP is a DATAGRAM and ICMP/ICMPv6 an ICMP packet
    anywhere; a TCP packet at a transport or IP layer is not named (None); socket
    operations (listen, bind) have no packet."""
    base = layer.removesuffix("_V4").removesuffix("_V6").removesuffix("_DISCARD")
    op = _OBSERVE_OPS.get(base)
    if base in ("ALE_AUTH_LISTEN", "ALE_RESOURCE_ASSIGNMENT", "ALE_BIND_REDIRECT", "ALE_RESOURCE_RELEASE"):
        return None, op
    if protocol == 17:
        return "DATAGRAM", op
    if protocol in (1, 58):
        return "ICMP", op
    if protocol == 6 and base.startswith("ALE_"):
        return "SYN", op
    return None, op
