"""An endpoint's classifiable values, projected onto layers (``Ctx`` → ``View``), and the
memo of a walk (``Path``).

A ``Ctx`` is what one endpoint of a flow (or one stray packet) knows. ``Ctx.view``
projects it onto one layer's fields once, from a per-host plan that pre-renders every
value endpoints share; the ``View`` keeps its classification until the host's policy
changes (``Host.policy_token``). ``Ctx.path`` is the walk of one stage (a row of
``core.sim.sequences``) with fixed record arguments; ``Traversal.cross`` keeps the trace
rows of its last quiet crossing there (benchmarks/README.md, "## replay").
"""

from __future__ import annotations

from typing import Any

from wfptui.core.arbitration import CompiledLayer
from wfptui.core.datatypes import DataType, WinVersion
from wfptui.core.events import layer_family
from wfptui.core.fields import field_since
from wfptui.core.layers import Layer
from wfptui.core.model import EMPTY, ClassifyResult, Value
from wfptui.core.redirect import IS_CONNECTION_REDIRECTED, IS_PROXY_CONNECTION, PROXY_FAMILIES
from wfptui.core.scenario import LOOPBACK_INTERFACE, AppSpec, InterfaceSpec
from wfptui.core.sim.objects import (
    COMPARTMENT_DEFAULT,
    F_IMPLICIT_BIND,
    F_LOOPBACK,
    F_NON_APPCONTAINER_LOOPBACK,
    F_REAUTHORIZE,
    F_RECLASSIFY,
    F_WILDCARD_BIND,
    INBOUND,
    LOOPBACK_FAMILIES,
    NLAT_UNICAST,
    PACKAGE_ID_NONE,
    REAUTH_FAMILIES,
    RECLASSIFY_FAMILIES,
    Host,
    is_loopback_address,
    is_v4_mapped,
    reauth_reason,
    user_token,
    v4_mapped,
)
from wfptui.core.sim.sequences import Stage
from wfptui.core.trace import Outcome
from wfptui.core.values import format_address, json_value


class Ctx:
    """What one endpoint of a flow (or one stray packet) knows: the classifiable values.

    ``view`` projects it onto one layer's fields (layer.fields, nothing else; unknown →
    absent = FWP_EMPTY), cached per (layer, direction, reauth) — the per-packet path then
    costs one dict lookup.
    """

    __slots__ = ("host", "bits", "proto", "laddr", "lport", "raddr", "rport", "app", "loopback",
                 "wildcard", "implicit", "extra", "cache", "_info", "_dyn", "paths", "ale", "redirected", "proxied")

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
        self.cache: dict[tuple[int, int | None, bool | int], View] = {}
        self._info: dict[str, Any] | None = None
        self._dyn: dict[str, Value] | None = None
        #: The walks of this endpoint (``path``), by stage and record arguments.
        self.paths: dict[tuple[Any, ...], Path] = {}
        #: IPv4 traffic of a dual-stack socket: this endpoint as its V6 ALE layers see it
        #: (IPv4-mapped addresses); ``Traversal.walk`` uses it for ALE rows.
        self.ale: Ctx | None = None
        #: core.redirect: a connection a callout redirected (IS_CONNECTION_REDIRECTED at
        #: AUTH_CONNECT) / a proxy's connection carrying redirect records (IS_PROXY_CONNECTION, Win8+)
        self.redirected = False
        self.proxied = False

    def redirected_to(self, addr: int, port: int, explicit: bool) -> Ctx:
        """This endpoint after a connect redirect (core.redirect) to ``addr``:``port``: the
        remote rewritten, the local address following the route to it unless the app bound one
        (``explicit``), IS_CONNECTION_REDIRECTED set, mapped again for a dual-stack socket."""
        host = self.host
        loopback = host.owns(self.bits, addr)
        laddr = self.laddr if explicit else (addr if loopback else host.local_addr(self.bits))
        new = Ctx(host, self.bits, self.proto, laddr, self.lport, addr, port, self.app, loopback)
        new.redirected, new.proxied = True, self.proxied
        if self.ale is not None:
            new.mapped()
        return new

    def mapped(self) -> Ctx:
        """Set and return ``ale``: this IPv4 endpoint with IPv4-mapped IPv6 addresses."""
        m = Ctx(self.host, 128, self.proto, None if self.laddr is None else v4_mapped(self.laddr), self.lport,
                None if self.raddr is None else v4_mapped(self.raddr), self.rport, self.app, self.loopback,
                self.wildcard, self.implicit, self.extra)
        m.redirected, m.proxied = self.redirected, self.proxied
        self.ale = m
        return m

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

    def path(self, stage: Stage, packet: str | None, op: str | None, direction: str | None,
             dir_int: int | None, flow: int | None, reauth: bool | int) -> Path:
        """The walk of ``stage`` by this endpoint with these record arguments (kept)."""
        key = (stage, packet, op, direction, dir_int, flow, reauth)
        hit = self.paths.get(key)
        if hit is None:
            views = tuple(self.view(layer, dir_int, reauth) for layer in stage.layers)
            hit = self.paths[key] = Path(views, packet, op, direction, dir_int, flow, reauth)
        return hit

    def view(self, layer: Layer, direction: int | None, reauth: bool | int) -> View:
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
        laddr, bits = self.laddr, self.bits
        if laddr is not None and is_v4_mapped(laddr, bits):  # a dual-stack socket's IPv4 address
            laddr, bits = laddr & 0xFFFFFFFF, 32
        if self.loopback or (laddr is not None and is_loopback_address(laddr, bits)):
            return LOOPBACK_INTERFACE
        host = self.host
        if host.iface_of and laddr is not None:
            return host.iface_of.get((laddr, bits), host.iface)
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
                       reauth: bool | int) -> tuple[dict[str, Value], dict[str, Any]]:
        """``_build`` (same dicts, same order) from the host's plan for this kind of
        endpoint at this layer: the field names present and every value that is the same
        for all such endpoints (pre-rendered) are fixed; only the dynamic ones are filled in."""
        dyn = self._dyn
        if dyn is None:
            dyn = self._dynamic()
        pkey = (layer.layer_id, direction, reauth, self.loopback, self.wildcard, self.implicit, self.redirected,
                self.proxied,
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

    def _plan(self, layer: Layer, direction: int | None, reauth: bool | int) -> Plan:
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

    def _build(self, layer: Layer, direction: int | None, reauth: bool | int) -> tuple[dict[str, Value], dict[str, Any]]:
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
        if self.loopback and fam in LOOPBACK_FAMILIES:
            flags |= F_LOOPBACK
            if host.windows >= WinVersion.WIN8:
                flags |= F_NON_APPCONTAINER_LOOPBACK
        if reauth:  # a reclassified bind / listen (Win7+), else a reauthorized flow
            flags |= F_RECLASSIFY if fam in RECLASSIFY_FAMILIES else F_REAUTHORIZE
        if self.wildcard and fam in ("ALE_RESOURCE_ASSIGNMENT", "ALE_BIND_REDIRECT"):
            flags |= F_WILDCARD_BIND
        if self.implicit and fam == "ALE_RESOURCE_ASSIGNMENT" and host.windows == WinVersion.VISTA:
            flags |= F_IMPLICIT_BIND
        if self.redirected and fam == "ALE_AUTH_CONNECT":
            flags |= IS_CONNECTION_REDIRECTED
        if self.proxied and fam in PROXY_FAMILIES and host.windows >= WinVersion.WIN8:
            flags |= IS_PROXY_CONNECTION
        base["FLAGS"] = flags
        if fam in REAUTH_FAMILIES:
            base["REAUTHORIZE_REASON"] = reauth_reason(reauth)
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
Plan = tuple[tuple[str, ...], tuple[Value, ...], tuple[Any, ...], tuple[tuple[int, str, dict[Value, Any], DataType], ...]]


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
    """One walk: the views of a stage's layers for one endpoint, what its records say
    (packet, op, direction, flow, reauth), and the trace rows of its last quiet crossing
    under policy generation ``token`` (``Traversal.cross``: the memo)."""

    __slots__ = ("views", "packet", "op", "direction", "dir_int", "flow", "reauth", "token", "rows", "n")

    def __init__(self, views: tuple[View, ...], packet: str | None, op: str | None, direction: str | None,
                 dir_int: int | None, flow: int | None, reauth: bool | int) -> None:
        self.views = views
        self.packet = packet
        self.op = op
        self.direction = direction
        self.dir_int = dir_int  # the DIRECTION value the views carry (None: not set)
        self.flow = flow
        self.reauth = reauth
        self.token: object = None  # the host policy generation ``rows`` belong to
        self.rows: tuple[tuple[Any, ...], ...] = ()
        self.n = 0  # len(rows)
