"""The scenario model (spec §4): hosts, their apps and policies, steps and expectations.

Plain frozen data, built by ``io.scenario_file`` from TOML or by ``from_dict`` from a
recording. ``to_dict()`` / ``from_dict()`` round-trip exactly. Policies are *not*
rendered by ``to_dict`` (the core cannot call the policy writer in ``io``); a recording
stores each host's policy next to the scenario (``io.policy_file.dump_policy``) and
hands them back to ``Scenario.from_dict(d, policies=...)``. Filters added by ``policy``
steps are kept as the raw tables the user wrote (``Step.raw["add"]``) and re-parsed on
``from_dict`` by the ``filter_parser`` the caller passes (``io.scenario_file`` binds
``io.policy_file.parse_filter_table``), so the scenario carries no file paths that
replay would need.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from wfptui.core.builtins import BUILTIN_CALLOUTS, BUILTIN_SUBLAYERS
from wfptui.core.datatypes import WinVersion
from wfptui.core.model import Callout, Filter, Policy, Sublayer

JsonDict = dict[str, Any]

#: Step kinds of spec §4.
STEP_KINDS = ("listen", "bind", "connect", "send", "close", "probe", "ping", "policy", "wait", "complete")

#: A step kind that only ``wfptui import CAPTURE`` makes (one observed event; scenario files
#: may not use it): its ``event`` is ``Observation.to_dict()``.
OBSERVE = "observe"

#: The user SID of an app that names none (a plain local user, documented in
#: docs/decisions-engine.md).
DEFAULT_USER_SID = "S-1-5-21-1000-1000-1000-1001"

#: Parses the raw filter tables of a ``policy`` step against a host's policy.
FilterParser = Callable[[Sequence[JsonDict], Policy, str], tuple[Filter, ...]]


def apply_change(policy: Policy, add: Sequence[Filter], remove: Sequence[str]) -> Policy:
    """The policy after a ``policy`` step: ``remove`` keys deleted, ``add`` filters added
    (an added key replaces an existing filter with that key)."""
    gone = set(remove) | {f.key for f in add}
    kept = tuple(f for f in policy.filters if f.key not in gone)
    return policy.replace_filters(kept + tuple(add))


def empty_policy() -> Policy:
    """A policy without filters: only the built-in sublayers and callouts (core.builtins),
    built exactly as ``io.policy_file`` builds them for an empty policy file."""
    sublayers = {b.name: Sublayer(key=b.name, weight=b.weight, guid=b.guid, name=b.fwpm_name, builtin=True)
                 for b in BUILTIN_SUBLAYERS}
    callouts = {b.name: Callout(key=b.name, returns=b.returns, hard=b.hard, silent=b.silent, guid=b.guid,
                                name=b.fwpm_name, builtin=True)
                for b in BUILTIN_CALLOUTS}
    return Policy(sublayers=sublayers, callouts=callouts, filters=())


@dataclass(frozen=True, slots=True)
class AppSpec:
    """An application on a host: its image path (→ ALE_APP_ID) and user SID (→ ALE_USER_ID)."""

    name: str
    path: str
    user: str = DEFAULT_USER_SID

    def to_dict(self) -> JsonDict:
        return {"name": self.name, "path": self.path, "user": self.user}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AppSpec:
        return cls(name=str(d["name"]), path=str(d["path"]), user=str(d.get("user", DEFAULT_USER_SID)))


@dataclass(frozen=True, slots=True)
class InterfaceSpec:
    """A network interface of a host (fills INTERFACE_INDEX, INTERFACE_TYPE, ... fields).

    Defaults: index 2 (index 1 is Windows' loopback pseudo-interface), type 6
    (IF_TYPE_ETHERNET_CSMACD), profile 1 (NlincPublic), tunnel type 0 (none), LUID built
    as Windows builds NET_LUID: ``type << 48 | index << 24``. ``addresses``: the host
    addresses on this interface (a host's further interfaces, e.g. a VPN tunnel, name
    theirs; the first interface carries every address no other one names).
    """

    index: int = 2
    type: int = 6
    profile_id: int = 1
    luid: int | None = None
    tunnel_type: int = 0
    #: INTERFACE_QUARANTINE_EPOCH. Windows Firewall's "Interface Un-quarantine filter" permits
    #: per (LUID, epoch); without it the "Quarantine Default Inbound Block" decides (§5.5).
    #: None = not declared: the field is FWP_EMPTY.
    quarantine_epoch: int | None = None
    addresses: tuple[str, ...] = ()

    @property
    def net_luid(self) -> int:
        return self.luid if self.luid is not None else (self.type << 48) | (self.index << 24)

    def to_dict(self) -> JsonDict:
        d: JsonDict = {"index": self.index, "type": self.type, "profile_id": self.profile_id,
                       "luid": self.luid, "tunnel_type": self.tunnel_type,
                       "quarantine_epoch": self.quarantine_epoch}
        if self.addresses:  # only then: a one-interface host's dict is as it always was
            d["addresses"] = list(self.addresses)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> InterfaceSpec:
        """From :meth:`to_dict`'s form (a recording); ValueError names a value out of range
        (the same ranges as a scenario file: UINT32, and UINT16 for the type, UINT64 for
        the LUID and the epoch)."""
        luid = d.get("luid")
        epoch = d.get("quarantine_epoch")
        return cls(index=_uint(d, "index", 2, 32), type=_uint(d, "type", 6, 16),
                   profile_id=_uint(d, "profile_id", 1, 32),
                   luid=None if luid is None else _uint(d, "luid", 0, 64), tunnel_type=_uint(d, "tunnel_type", 0, 32),
                   quarantine_epoch=None if epoch is None else _uint(d, "quarantine_epoch", 0, 64),
                   addresses=tuple(str(a) for a in d.get("addresses", ())))


def _uint(d: Mapping[str, Any], key: str, default: int, bits: int) -> int:
    raw = d.get(key, default)
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ValueError(f"interface {key} must be an integer, not {raw!r}")
    if not 0 <= raw < 1 << bits:
        raise ValueError(f"interface {key} {raw} is out of range 0..{(1 << bits) - 1}")
    return raw


#: Windows' loopback pseudo-interface: index 1, IF_TYPE_SOFTWARE_LOOPBACK (24).
LOOPBACK_INTERFACE = InterfaceSpec(index=1, type=24, profile_id=1, luid=None, tunnel_type=0)


@dataclass(frozen=True)
class HostSpec:
    """One simulated Windows machine."""

    name: str
    windows: WinVersion = WinVersion.WIN11
    addresses: tuple[str, ...] = ()
    policy: Policy = field(default_factory=empty_policy)
    policy_file: str | None = None  # where it was loaded from (display only; replay never reads it)
    apps: tuple[AppSpec, ...] = ()
    interface: InterfaceSpec = InterfaceSpec()
    #: Further interfaces (each names its ``addresses``), e.g. a VPN tunnel beside the NIC.
    more_interfaces: tuple[InterfaceSpec, ...] = ()

    def app(self, name: str) -> AppSpec | None:
        for a in self.apps:
            if a.name == name:
                return a
        return None

    def to_dict(self) -> JsonDict:
        return {"name": self.name, "windows": self.windows.label, "addresses": list(self.addresses),
                "policy_file": self.policy_file, "apps": [a.to_dict() for a in self.apps],
                "interface": self.interface.to_dict(),
                **({"more_interfaces": [i.to_dict() for i in self.more_interfaces]} if self.more_interfaces else {})}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], policy: Policy | None = None) -> HostSpec:
        return cls(name=str(d["name"]), windows=WinVersion.parse(str(d.get("windows", "win11"))),
                   addresses=tuple(str(a) for a in d.get("addresses", ())),
                   policy=policy if policy is not None else empty_policy(),
                   policy_file=d.get("policy_file"),
                   apps=tuple(AppSpec.from_dict(a) for a in d.get("apps", ())),
                   interface=InterfaceSpec.from_dict(d.get("interface") or {}),
                   more_interfaces=tuple(InterfaceSpec.from_dict(i) for i in d.get("more_interfaces") or ()))


@dataclass(slots=True)
class Step:
    """One ``[[step]]`` (spec §4). ``raw`` is the table as written (JSON-able).

    Immutable by convention, not ``frozen``: a frozen dataclass sets each of its 20 fields
    through ``object.__setattr__``, and a 1M-classification replay builds 164,010 steps
    (3.5 → 1.6 µs each; benchmarks/README.md "cli"). Nothing hashes a step.

    Keys beyond spec §4 (documented in docs/decisions-engine.md): ``packets`` (segments
    or datagrams per ``send``, default 1), ``count`` (echo requests per ``ping``),
    ``seconds`` (``wait``), ``remove`` (filter keys a ``policy`` step deletes),
    ``dual_stack`` (listen / bind / connect on a dual-stack IPv6 socket).
    """

    index: int
    do: str
    host: str | None = None
    at: float | None = None
    app: str | None = None
    proto: str | None = None
    port: int | None = None
    socket: str | None = None
    address: str | None = None
    to: str | None = None
    bytes: int | None = None
    packets: int = 1
    count: int = 1
    seconds: float | None = None
    add: tuple[Filter, ...] = ()
    remove: tuple[str, ...] = ()
    raw: JsonDict = field(default_factory=dict, compare=False)
    #: ``observe`` steps only: the observed event (``core.evidence.Observation.to_dict()``).
    event: JsonDict | None = None
    #: listen / bind / connect: an AF_INET6 socket with IPV6_V6ONLY = 0 (a dual-stack socket:
    #: its IPv4 traffic is classified at the V6 ALE layers with IPv4-mapped addresses;
    #: docs/decisions-engine.md "Dual-stack sockets").
    dual_stack: bool = False
    #: connect: the accepted socket whose redirect records (SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS)
    #: this connection carries (SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS): a local proxy's outbound
    #: connection; without ``to`` it goes to the original destination (docs/decisions-engine.md
    #: "Connection and bind redirection").
    redirect_records: str | None = None
    #: complete: the callout whose pended classifications on the host complete now
    #: (FwpsCompleteOperation0; docs/decisions-engine.md "Pended classifications").
    callout: str | None = None

    _KEYS = ("index", "do", "host", "at", "app", "proto", "port", "socket", "address", "to", "bytes",
             "packets", "count", "seconds", "event")

    def to_dict(self) -> JsonDict:
        d: JsonDict = dict(zip(self._KEYS, _STEP_VALUES(self), strict=True))
        d["add"] = self._add_tables()
        d["remove"] = list(self.remove)
        d["raw"] = self.raw
        if self.dual_stack:  # only when set: recordings of other scenarios stay byte-identical
            d["dual_stack"] = True
        if self.redirect_records is not None:
            d["redirect_records"] = self.redirect_records
        if self.callout is not None:
            d["callout"] = self.callout
        return d

    def _add_tables(self) -> list[JsonDict]:
        """The raw ``add`` tables, each pinned to the filter id it was given at load time,
        so re-parsing them against any policy (a recording's inputs) gives the same ids."""
        if not self.add:
            return []
        raw = self.raw.get("add", ())
        tables = [dict(t) for t in raw] if isinstance(raw, list) else []
        if len(tables) != len(self.add):
            return tables
        for table, f in zip(tables, self.add, strict=True):
            if "id" not in table and "filter_id" not in table:
                table["id"] = f.filter_id
        return tables

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], policy: Policy | None = None,
                  filter_parser: FilterParser | None = None, *, raw_implied: bool = False) -> Step:
        """The step of a :meth:`to_dict` map. Keys left out take their defaults (None, 1 for
        ``packets`` and ``count``, empty ``add``, ``remove`` and ``raw``), except that with
        ``raw_implied`` a map without ``raw`` has :func:`implied_raw` as its raw table (the
        compact form of a recording header's steps, format 4: docs/recording-format.md §1.1)."""
        # The common cases, a step that adds no filters and has no time, event or flags, as
        # ``to_dict`` wrote it or in a header's compact form: its values taken as they are,
        # with the checks the general path makes (a recording's header holds one per step:
        # 164k at 1M classifications).
        if raw_implied and type(d) is dict and "raw" not in d and _COMPACT_KEYS.issuperset(d):
            (index, do, host, at, app, proto, port, socket, address, to, nbytes, packets, count,
             seconds, event) = _COMPACT(_COMPACT_TEMPLATE | d)
            if (type(index) is int and type(do) is str and at is None and seconds is None and event is None
                    and type(packets) is int and type(count) is int):
                return cls(index, do, host, None, app, proto, port, socket, address, to, nbytes, packets,
                           count, None, (), (), implied_raw(d))
        if type(d) is dict and len(d) == _PLAIN_SIZE:
            try:
                (index, do, host, at, app, proto, port, socket, address, to, nbytes, packets, count,
                 seconds, event, add_, remove, raw) = _PLAIN(d)
            except KeyError:
                pass
            else:
                if (type(index) is int and type(do) is str and at is None and seconds is None and event is None
                        and type(packets) is int and type(count) is int and not add_ and not remove
                        and type(raw) is dict and type(add_) in _EMPTY_OK and type(remove) in _EMPTY_OK):
                    return cls(index, do, host, None, app, proto, port, socket, address, to, nbytes, packets,
                               count, None, (), (), dict(raw))
        add: tuple[Filter, ...] = ()
        tables = d.get("add") or []
        if tables:
            if filter_parser is None:
                raise ValueError(f"step {d.get('index')}: a filter parser is needed to rebuild added filters")
            add = filter_parser(tables, policy if policy is not None else empty_policy(), "<recording>")
        at = d.get("at")
        seconds = d.get("seconds")
        return cls(index=int(d["index"]), do=str(d["do"]), host=d.get("host"),
                   at=None if at is None else float(at), app=d.get("app"), proto=d.get("proto"),
                   port=d.get("port"), socket=d.get("socket"), address=d.get("address"), to=d.get("to"),
                   bytes=d.get("bytes"), packets=int(d.get("packets", 1)), count=int(d.get("count", 1)),
                   seconds=None if seconds is None else float(seconds), add=add,
                   remove=tuple(d.get("remove", ())),
                   raw=dict(d.get("raw", {}) if "raw" in d or not raw_implied else implied_raw(d)),
                   event=_event(d.get("event")), dual_stack=d.get("dual_stack") is True,
                   redirect_records=_str_or_none(d.get("redirect_records")),
                   callout=_str_or_none(d.get("callout")))


_STEP_VALUES = operator.attrgetter(*Step._KEYS)
#: ``Step.from_dict``'s common case: exactly the keys ``Step.to_dict`` writes for a step
#: without dual_stack / redirect_records / callout, in the order of the positional fields.
_PLAIN = operator.itemgetter(*Step._KEYS, "add", "remove", "raw")
_PLAIN_SIZE = len(Step._KEYS) + 3
_EMPTY_OK = frozenset({list, tuple})
#: The compact form's common case: only keys of ``Step._KEYS``, the others at their defaults.
_COMPACT = operator.itemgetter(*Step._KEYS)
_COMPACT_KEYS = frozenset(Step._KEYS)
_COMPACT_TEMPLATE: JsonDict = {**dict.fromkeys(Step._KEYS), "packets": 1, "count": 1}


def implied_raw(d: Mapping[str, Any]) -> JsonDict:
    """The ``raw`` table a step map without one stands for in a recording header's compact
    form (format 4): the map's own entries but ``index``, in its order. The writer leaves
    ``raw`` out only where it is exactly this (``io.recording.values.header_step``)."""
    raw = dict(d)  # (a copy without the one key: cheaper than a comprehension, same order)
    raw.pop("index", None)
    return raw


def _str_or_none(v: Any) -> str | None:
    if v is None:
        return None
    if not isinstance(v, str):
        raise ValueError("step redirect_records is not a string")
    return v


def _event(v: Any) -> JsonDict | None:
    if v is None:
        return None
    if not isinstance(v, dict):
        raise ValueError("step event is not a map")
    return dict(v)


@dataclass(frozen=True)
class Expect:
    """One ``[[expect]]``: keys left None are not checked (spec §4)."""

    host: str | None = None
    layer: str | None = None
    packet: str | None = None
    op: str | None = None
    reauth: bool | None = None
    action: str | None = None
    filter: str | None = None
    count: int | None = None
    raw: JsonDict = field(default_factory=dict, compare=False)

    _KEYS = ("host", "layer", "packet", "op", "reauth", "action", "filter", "count")

    def keys(self) -> JsonDict:
        """The keys this entry gave, as written."""
        return {k: getattr(self, k) for k in self._KEYS if getattr(self, k) is not None}

    def to_dict(self) -> JsonDict:
        d: JsonDict = {k: getattr(self, k) for k in self._KEYS}
        d["raw"] = self.raw
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Expect:
        return cls(host=d.get("host"), layer=d.get("layer"), packet=d.get("packet"), op=d.get("op"),
                   reauth=d.get("reauth"), action=d.get("action"), filter=d.get("filter"),
                   count=d.get("count"), raw=dict(d.get("raw", {})))


@dataclass(frozen=True)
class Scenario:
    """A whole scenario: hosts, steps run in order, expectations checked after the run."""

    name: str
    hosts: tuple[HostSpec, ...]
    steps: tuple[Step, ...] = ()
    expects: tuple[Expect, ...] = ()
    source: str | None = None

    def host(self, name: str) -> HostSpec | None:
        for h in self.hosts:
            if h.name == name:
                return h
        return None

    def to_dict(self) -> JsonDict:
        """JSON-able form without the policies (see the module docstring)."""
        return {"name": self.name, "source": self.source, "hosts": [h.to_dict() for h in self.hosts],
                "steps": [s.to_dict() for s in self.steps], "expects": [e.to_dict() for e in self.expects]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], policies: Mapping[str, Policy] | None = None,
                  filter_parser: FilterParser | None = None, *, raw_implied: bool = False) -> Scenario:
        """The scenario of a :meth:`to_dict` map (``raw_implied``: its steps may be in a
        recording header's compact form, :meth:`Step.from_dict`)."""
        pols = dict(policies or {})
        hosts = tuple(HostSpec.from_dict(h, pols.get(str(h["name"]))) for h in d.get("hosts", ()))
        # Added filters are parsed against the host's policy as it is at that step, so
        # their ids come out as when the scenario file was loaded.
        by_name = {h.name: h.policy for h in hosts}
        steps_l: list[Step] = []
        for sd in d.get("steps", ()):
            # the host's policy matters only to a step that adds filters or changes it
            host = str(sd.get("host")) if sd.get("add") or sd.get("do") == "policy" else ""
            step = Step.from_dict(sd, by_name.get(host), filter_parser, raw_implied=raw_implied)
            if step.do == "policy" and host in by_name:
                by_name[host] = apply_change(by_name[host], step.add, step.remove)
            steps_l.append(step)
        steps = tuple(steps_l)
        return cls(name=str(d["name"]), hosts=hosts, steps=steps,
                   expects=tuple(Expect.from_dict(e) for e in d.get("expects", ())),
                   source=d.get("source"))
