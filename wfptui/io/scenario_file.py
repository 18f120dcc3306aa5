"""Scenario files (TOML) → :class:`~wfptui.core.scenario.Scenario` (spec §4).

Top level: ``name``, ``[[host]]``, ``[[step]]``, ``[[expect]]``.

* ``[[host]]``: ``name`` (required, unique), ``windows`` (vista | win7 | win8 | win8.1 |
  win10 | win11; default win11), ``address`` (one address or a list), ``policy`` (a path
  relative to the scenario file, or an inline ``[host.policy]`` table; absent = no
  filters), ``app`` (list of ``{ name, path, user }``), ``interface`` (``{ index, type,
  profile_id, luid, tunnel_type, quarantine_epoch }``, or a list of such tables for a host
  with more interfaces — a VPN tunnel beside its NIC: each further one names its host
  ``address``es; the first carries the rest).
* ``[[step]]``: ``do`` (listen | bind | connect | send | close | probe | ping | policy |
  wait), ``host``, ``app``, ``proto`` (tcp | udp), ``port``, ``socket``, ``address`` (listen,
  bind; connect: the local address to bind first, so the interface it is on), ``to``
  (``"host:port"``, ``"10.0.0.2:80"``, ``"[fd00::2]:80"``), ``bytes``, ``at`` (seconds),
  ``add`` (filter tables, as in a policy file), ``remove`` (filter keys); extensions:
  ``packets`` (segments/datagrams per send), ``count`` (echo requests per ping),
  ``seconds`` (wait), ``dual_stack`` (listen, bind, connect: an IPv6 socket with IPV6_V6ONLY
  = 0; its ``address`` is ``::`` (the default) or ``::ffff:a.b.c.d``).
* ``[[expect]]``: ``host``, ``layer``, ``packet``, ``op``, ``reauth``, ``action``,
  ``filter``, ``count``.

Every problem is reported with ``file:line:col`` (io.tomlpos) and all are raised together
as one :class:`~wfptui.io.errors.InputError`: unknown keys, unknown step kinds, hosts,
apps or sockets, a socket used before a step creates it, bad addresses and ports, an
address of a family the host does not have, policy files that do not load.

API: ``load_scenario(path, policy_overrides=None) -> Scenario``,
``parse_scenario(text, filename, base_dir=None, policy_overrides=None) -> Scenario``,
``load_builtin_scenario() -> Scenario`` (``wfptui/data/builtin.toml``),
``scenario_from_dict(d, policies) -> Scenario`` (for recordings: binds the filter parser).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from wfptui.core.datatypes import WinVersion
from wfptui.core.fields import field_since
from wfptui.core.layers import UnknownNameError, get_layer
from wfptui.core.model import Filter, Policy
from wfptui.core.scenario import (
    OBSERVE,
    STEP_KINDS,
    AppSpec,
    Expect,
    HostSpec,
    InterfaceSpec,
    Scenario,
    Step,
    apply_change,
    empty_policy,
)
from wfptui.core.sim import is_loopback_address, resolve_target
from wfptui.core.values import ValueParseError, normalize_app_id, parse_address
from wfptui.io.errors import Diagnostic, DiagnosticCollector, InputError
from wfptui.io.policy_file import load_policy, parse_filter_tables, policy_from_tables
from wfptui.io.tomlpos import KeyPath, TomlLocator, parse_toml

_TOP_KEYS = ("name", "host", "step", "expect")
_HOST_KEYS = ("name", "windows", "address", "policy", "app", "interface")
_APP_KEYS = ("name", "path", "user")
_IFACE_KEYS = ("index", "type", "profile_id", "luid", "tunnel_type", "quarantine_epoch")
#: The largest time (seconds) a step may name: ~11.6 days of simulated time, far more than a
#: scenario needs, and small enough that times add up exactly in a float.
MAX_SECONDS = 1_000_000

_STEP_KEYS = ("do", "host", "app", "proto", "port", "socket", "address", "to", "bytes", "at", "add", "remove",
              "packets", "count", "seconds", "dual_stack", "redirect_records", "callout")
_EXPECT_KEYS = ("host", "layer", "packet", "op", "reauth", "action", "filter", "count")
_PACKETS = ("SYN", "SYN-ACK", "ACK", "DATA", "RST", "DATAGRAM", "ICMP-ERROR", "ICMP")
_OPS = ("bind", "listen", "connect", "close")
_ACTIONS = ("permit", "block", "none")
#: Keys each step kind may use (besides do, host, at).
_STEP_ALLOWED: dict[str, tuple[str, ...]] = {
    "listen": ("app", "proto", "port", "socket", "address", "dual_stack"),
    "bind": ("app", "proto", "port", "socket", "address", "dual_stack"),
    "connect": ("app", "proto", "port", "socket", "to", "address", "dual_stack", "redirect_records"),
    "send": ("socket", "bytes", "to", "packets"),
    "close": ("socket",),
    "probe": ("proto", "to", "bytes"),
    "ping": ("app", "to", "count"),
    "policy": ("add", "remove"),
    "wait": ("seconds",),
    "complete": ("callout",),
}
_NEEDS_HOST = ("listen", "bind", "connect", "probe", "ping", "policy", "complete")
#: The ranges of a step's ``bytes`` and ``packets`` (both paths of ``_Loader.load_steps``).
_BYTES_RANGE = (0, 1 << 31)
_PACKETS_RANGE = (1, 10_000_000)
#: The keys a ``send`` or ``close`` step may have and still take ``_Loader.plain_step`` (a
#: big scenario is mostly these: 164,000 of them in a 1M-classification benchmark).
_PLAIN_KEYS = {do: frozenset(("do", "host", *_STEP_ALLOWED[do])) - {"to"} for do in ("send", "close")}


def _dual_address(v: int, bits: int) -> bool:
    """The local address a dual-stack (AF_INET6, IPV6_V6ONLY = 0) socket may bind in this
    simulator: ``::`` or an IPv4-mapped address (docs/decisions-engine.md "Dual-stack sockets")."""
    return bits == 128 and (v == 0 or v >> 32 == 0xFFFF)


def _hint(word: str, choices: tuple[str, ...] | list[str]) -> str:
    import difflib  # only when a name is wrong: not on the start-up path
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


class _Loader:
    def __init__(self, text: str, filename: str, base_dir: Path | None,
                 overrides: Mapping[str, str | os.PathLike[str]] | None) -> None:
        self.text = text
        self.filename = filename
        self.base_dir = base_dir
        self.overrides = dict(overrides or {})
        self.diags = DiagnosticCollector()
        self.doc: dict[str, Any] = {}
        self.loc: TomlLocator | None = None

    # -- diagnostics ----------------------------------------------------------------
    def err(self, path: KeyPath, message: str, value: bool = False) -> None:
        assert self.loc is not None
        line, col = self.loc.locate_value(path) if value else self.loc.locate(path)
        self.diags.add(self.filename, line, col, message)

    def check_keys(self, table: Mapping[str, Any], allowed: tuple[str, ...], path: KeyPath, what: str) -> None:
        for k in table:
            if k not in allowed:
                self.err((*path, k), f"unknown key {k!r} in {what}{_hint(k, allowed)}")

    def get_str(self, table: Mapping[str, Any], key: str, path: KeyPath) -> str | None:
        v = table.get(key)
        if v is None:
            return None
        if not isinstance(v, str):
            self.err((*path, key), f"{key} must be a string, not {type(v).__name__}", value=True)
            return None
        return v

    def get_int(self, table: Mapping[str, Any], key: str, path: KeyPath, lo: int, hi: int) -> int | None:
        v = table.get(key)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int):
            self.err((*path, key), f"{key} must be an integer, not {v!r}", value=True)
            return None
        if not lo <= v <= hi:
            self.err((*path, key), f"{key} {v} out of range {lo}..{hi}", value=True)
            return None
        return v

    def get_dual(self, table: Mapping[str, Any], path: KeyPath) -> bool:
        """``dual_stack``: true or false (default false)."""
        v = table.get("dual_stack", False)
        if not isinstance(v, bool):
            self.err((*path, "dual_stack"), f"dual_stack must be true or false, not {v!r}", value=True)
            return False
        return v

    def get_num(self, table: Mapping[str, Any], key: str, path: KeyPath) -> float | None:
        v = table.get(key)
        if v is None:
            return None
        # `not 0 <= v <= MAX` also refuses nan; inf and 1e14 are out of range (issue 12).
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= MAX_SECONDS:
            self.err((*path, key), f"{key} must be a number of seconds from 0 to {MAX_SECONDS:g}, not {v!r}",
                     value=True)
            return None
        return float(v)

    def tables(self, key: str) -> list[tuple[KeyPath, dict[str, Any]]]:
        raw = self.doc.get(key, [])
        if isinstance(raw, dict):
            raw = [raw]
        if not isinstance(raw, list):
            self.err((key,), f"{key} must be an array of tables ([[{key}]])")
            return []
        out: list[tuple[KeyPath, dict[str, Any]]] = []
        for i, t in enumerate(raw):
            if not isinstance(t, dict):
                self.err((key, i), f"each {key} must be a table")
                continue
            out.append(((key, i), t))
        return out

    # -- load -------------------------------------------------------------------------
    def load(self) -> Scenario:
        if self.text.startswith("\ufeff"):
            self.text = self.text[1:]
        self.doc, self.loc = parse_toml(self.text, self.filename)
        if "host" not in self.doc and any(k in self.doc for k in ("filter", "sublayer", "callout")):
            raise InputError([Diagnostic(self.filename, 1, 1, "this is a policy file, not a scenario "
                                         "(a scenario has [[host]] tables; see spec §4)")])
        self.check_keys(self.doc, _TOP_KEYS, (), "a scenario")
        name = self.get_str(self.doc, "name", ())
        if name is None:
            name = Path(self.filename).stem if self.filename else "scenario"
        hosts = self.load_hosts()
        if not hosts and not self.diags:
            self.diags.add(self.filename, 1, 1, "a scenario needs at least one [[host]]")
        for hname in self.overrides:
            if hname not in {h.name for h in hosts}:
                self.diags.add(self.filename, 0, 0,
                               f"--policy names unknown host {hname!r}{_hint(hname, [h.name for h in hosts])}")
        steps = self.load_steps(hosts)
        expects = self.load_expects(hosts)
        self.diags.raise_if_any()
        return Scenario(name=name, hosts=tuple(hosts), steps=tuple(steps), expects=tuple(expects),
                        source=self.text)

    def load_hosts(self) -> list[HostSpec]:
        hosts: list[HostSpec] = []
        seen: set[str] = set()
        for path, t in self.tables("host"):
            self.check_keys(t, _HOST_KEYS, path, "a [[host]]")
            name = self.get_str(t, "name", path)
            if name is None:
                self.err(path, "a [[host]] needs a name")
                continue
            if name in seen:
                self.err((*path, "name"), f"host {name!r} is defined twice", value=True)
            seen.add(name)
            windows = WinVersion.WIN11
            wtext = self.get_str(t, "windows", path)
            if wtext is not None:
                try:
                    windows = WinVersion.parse(wtext)
                except ValueError as exc:
                    self.err((*path, "windows"), str(exc), value=True)
            addrs = self.load_addresses(t, path)
            policy, policy_file = self.load_host_policy(name, t, path)
            self.check_field_versions(policy.filters, windows, name)
            apps = self.load_apps(t, path)
            ifaces = self.load_interfaces(t, path, addrs)
            hosts.append(HostSpec(name=name, windows=windows, addresses=tuple(addrs), policy=policy,
                                  policy_file=policy_file, apps=tuple(apps), interface=ifaces[0],
                                  more_interfaces=tuple(ifaces[1:])))
        return hosts

    def load_addresses(self, t: Mapping[str, Any], path: KeyPath) -> list[str]:
        raw = t.get("address", [])
        items: list[tuple[KeyPath, object]]
        if isinstance(raw, str):
            items = [((*path, "address"), raw)]
        elif isinstance(raw, list):
            items = [((*path, "address", i), a) for i, a in enumerate(raw)]
        else:
            self.err((*path, "address"), "address must be a string or a list of strings", value=True)
            return []
        out = []
        for p, a in items:
            if not isinstance(a, str):
                self.err(p, f"bad address {a!r}: expected a string", value=True)
                continue
            try:
                v, bits = parse_address(a)
            except ValueError:
                self.err(p, f"bad address {a!r}", value=True)
                continue
            if v == 0:
                self.err(p, f"a host address cannot be the wildcard {a!r}", value=True)
                continue
            out.append(a)
        return out

    def check_field_versions(self, filters: Sequence[Filter], windows: WinVersion, host: str) -> None:
        """A condition on a field newer than the host's Windows cannot be added there
        (FwpmFilterAdd refuses an unknown condition field; versions: core.fields.FIELD_SINCE,
        from "Filtering Condition Identifiers"), nor a filter at a layer newer than it (the
        redirect, resource-release and endpoint-closure layers are Windows 7+: core.layers
        ``since``; FwpmFilterAdd answers FWP_E_LAYER_NOT_FOUND)."""
        for f in filters:
            layer = get_layer(f.layer)
            if layer.since > windows:
                loc = f.loc
                file, line, col = (loc.file, loc.line, loc.col) if loc is not None else (self.filename, 0, 0)
                self.diags.add(file, line, col,
                               f"filter {f.key!r}: layer {layer.name} does not exist on {windows.label} "
                               f"(host {host!r}); it is available from {layer.since.label} on")
            for c in f.conditions:
                since = field_since(c.field)
                if since > windows:
                    loc = c.loc
                    file, line, col = (loc.file, loc.line, loc.col) if loc is not None else (self.filename, 0, 0)
                    self.diags.add(file, line, col,
                                   f"filter {f.key!r}: field {c.field} does not exist on {windows.label} "
                                   f"(host {host!r}); it is available from {since.label} on")

    def load_host_policy(self, name: str, t: Mapping[str, Any], path: KeyPath) -> tuple[Policy, str | None]:
        override = self.overrides.get(name)
        if override is not None:
            return load_policy(override), os.fspath(override)
        raw = t.get("policy")
        if raw is None:
            return empty_policy(), None
        if isinstance(raw, dict):
            try:
                return policy_from_tables(raw, self.filename, self.loc, (*path, "policy")), None
            except InputError as exc:
                self.diags.extend(exc.diagnostics)
                return empty_policy(), None
        if not isinstance(raw, str):
            self.err((*path, "policy"), "policy must be a file name or a table", value=True)
            return empty_policy(), None
        file = Path(raw)
        if not file.is_absolute() and self.base_dir is not None:
            file = self.base_dir / file
        if not file.exists():
            self.err((*path, "policy"), f"policy file {raw!r} not found (looked at {file})", value=True)
            return empty_policy(), None
        try:
            return load_policy(file), raw
        except InputError as exc:
            for d in exc.diagnostics:
                if d.line == 0:  # the whole file (unreadable, a FIFO, too big): name the scenario's place
                    self.err((*path, "policy"), f"policy file {raw!r}: {d.message}", value=True)
                else:
                    self.diags.extend([d])
            return empty_policy(), raw

    def load_apps(self, t: Mapping[str, Any], path: KeyPath) -> list[AppSpec]:
        raw = t.get("app", [])
        if isinstance(raw, dict):
            raw = [raw]
        if not isinstance(raw, list):
            self.err((*path, "app"), "app must be a list of { name, path, user } tables", value=True)
            return []
        apps: list[AppSpec] = []
        for i, a in enumerate(raw):
            p = (*path, "app", i)
            if not isinstance(a, dict):
                self.err(p, "each app must be a { name, path, user } table")
                continue
            self.check_keys(a, _APP_KEYS, p, "an app")
            name = self.get_str(a, "name", p)
            apath = self.get_str(a, "path", p)
            user = self.get_str(a, "user", p)
            if name is None or apath is None:
                self.err(p, "an app needs a name and a path")
                continue
            try:  # the engine normalizes it at run time; refuse here, so validate agrees with run
                normalize_app_id(apath)
            except ValueParseError as exc:  # kept below, so steps naming it give no second message
                self.err((*p, "path"), str(exc), value=True)
            if any(x.name == name for x in apps):
                self.err((*p, "name"), f"app {name!r} is defined twice on this host", value=True)
            if user is not None and not user.upper().startswith("S-1-"):
                self.err((*p, "user"), f"user must be a SID like S-1-5-21-..., not {user!r}", value=True)
                user = None
            apps.append(AppSpec(name=name, path=apath) if user is None else AppSpec(name=name, path=apath,
                                                                                      user=user.upper()))
        return apps

    def load_interfaces(self, t: Mapping[str, Any], path: KeyPath, addrs: list[str]) -> list[InterfaceSpec]:
        """``interface``: one table (the host's interface), or a list of them (a host with a
        VPN tunnel beside its NIC ...): the first carries every address no other one names
        in its ``address``; each further one names its addresses."""
        raw = t.get("interface")
        if raw is None:
            return [InterfaceSpec()]
        p = (*path, "interface")
        if isinstance(raw, dict):
            return [self.load_interface(raw, p, addrs, first=True)]
        if not isinstance(raw, list) or not raw:
            self.err(p, "interface must be a table { index, type, profile_id, luid, tunnel_type, "
                     "quarantine_epoch } or a non-empty list of them", value=True)
            return [InterfaceSpec()]
        out = [self.load_interface(item, (*p, i), addrs, first=i == 0) for i, item in enumerate(raw)]
        claimed: dict[tuple[int, int], int] = {}
        indexes: dict[int, int] = {}
        for i, iface in enumerate(out):
            if iface.index in indexes:
                self.err((*p, i), f"interface index {iface.index} is used twice (interfaces {indexes[iface.index] + 1} "
                         f"and {i + 1}): give each interface its own `index`")
            indexes.setdefault(iface.index, i)
            for a in iface.addresses:
                key = parse_address(a)
                if key in claimed:
                    self.err((*p, i, "address"), f"address {a} is on two interfaces", value=True)
                claimed[key] = i
        return out

    def load_interface(self, raw: object, p: KeyPath, addrs: list[str], *, first: bool) -> InterfaceSpec:
        if not isinstance(raw, dict):
            self.err(p, "interface must be a table { index, type, profile_id, luid, tunnel_type, quarantine_epoch }", value=True)
            return InterfaceSpec()
        self.check_keys(raw, (*_IFACE_KEYS, "address"), p, "interface")
        own: list[str] = []
        if "address" in raw:
            known = {}
            for a in addrs:
                with contextlib.suppress(ValueError):
                    known[parse_address(a)] = a
            items = raw["address"] if isinstance(raw["address"], list) else [raw["address"]]
            for j, a in enumerate(items):
                ap = (*p, "address", j) if isinstance(raw["address"], list) else (*p, "address")
                try:
                    key = parse_address(a) if isinstance(a, str) else None
                except ValueError:
                    key = None
                if key is None:
                    self.err(ap, f"bad address {a!r}", value=True)
                elif key not in known:
                    self.err(ap, f"{a} is not one of the host's addresses ({', '.join(addrs) or 'none'})", value=True)
                else:
                    own.append(known[key])
        elif not first:
            self.err(p, "a further interface needs `address`: the host addresses on it (the first interface "
                     "carries the others)")
        d = InterfaceSpec()
        index = self.get_int(raw, "index", p, 0, 0xFFFFFFFF)
        itype = self.get_int(raw, "type", p, 0, 0xFFFF)
        prof = self.get_int(raw, "profile_id", p, 0, 0xFFFFFFFF)
        luid = self.get_int(raw, "luid", p, 0, (1 << 64) - 1)
        tunnel = self.get_int(raw, "tunnel_type", p, 0, 0xFFFFFFFF)
        epoch = self.get_int(raw, "quarantine_epoch", p, 0, (1 << 64) - 1)
        return InterfaceSpec(index=d.index if index is None else index, type=d.type if itype is None else itype,
                             profile_id=d.profile_id if prof is None else prof, luid=luid,
                             tunnel_type=d.tunnel_type if tunnel is None else tunnel, quarantine_epoch=epoch,
                             addresses=tuple(own))

    # -- steps --------------------------------------------------------------------------
    @staticmethod
    def plain_step(index: int, t: dict[str, Any], sockets: Mapping[str, tuple[str, str, str]],
                   by_name: Mapping[str, HostSpec]) -> Step | None:
        """The common ``send`` / ``close`` step — a known socket, no ``to``, values of the
        right types within their ranges — with nothing to say about it; None for any other
        step, which the general path of :meth:`load_steps` then reads (and words every
        problem of). The same Step that path makes (tests/io/test_scenario_plain_steps.py)."""
        do = t.get("do")
        if type(do) is not str:
            return None
        allowed = _PLAIN_KEYS.get(do)
        if allowed is None or not allowed.issuperset(t):
            return None
        sock = t.get("socket")
        known = sockets.get(sock) if type(sock) is str else None
        if known is None:
            return None
        host = t.get("host")
        if host is not None and (type(host) is not str or host not in by_name or known[0] != host):
            return None
        nbytes = t.get("bytes")
        if nbytes is not None and (type(nbytes) is not int or not _BYTES_RANGE[0] <= nbytes <= _BYTES_RANGE[1]):
            return None
        packets = t.get("packets", 1)
        if type(packets) is not int or not _PACKETS_RANGE[0] <= packets <= _PACKETS_RANGE[1]:
            return None
        return Step(index=index, do=do, host=host, socket=sock, bytes=nbytes, packets=packets, raw=dict(t))

    def load_steps(self, hosts: list[HostSpec]) -> list[Step]:
        by_name = {h.name: h for h in hosts}
        addr_map = {h.name: [parse_address(a) for a in h.addresses] for h in hosts}
        policies = {h.name: h.policy for h in hosts}
        sockets: dict[str, tuple[str, str, str]] = {}  # name -> (host, kind, proto)
        steps: list[Step] = []
        for path, t in self.tables("step"):
            index = int(path[1])
            step = self.plain_step(index, t, sockets, by_name)
            if step is not None:
                steps.append(step)
                continue
            do = self.get_str(t, "do", path)
            if do is None:
                self.err(path, f"a [[step]] needs `do` (one of {', '.join(STEP_KINDS)})")
                continue
            if do == OBSERVE:
                self.err((*path, "do"), f"step {index + 1}: `observe` steps come only from captures "
                         "(`wfptui import CAPTURE -o OUT.wfpr`), not from scenario files", value=True)
                continue
            if do not in STEP_KINDS:
                self.err((*path, "do"), f"unknown step kind {do!r}{_hint(do, STEP_KINDS)}; expected one of "
                         f"{', '.join(STEP_KINDS)}", value=True)
                continue
            self.check_keys(t, ("do", "host", "at", *_STEP_ALLOWED[do]), path, f"a {do!r} step")
            host_name = self.get_str(t, "host", path)
            host = by_name.get(host_name) if host_name is not None else None
            if host_name is not None and host is None:
                self.err((*path, "host"), f"unknown host {host_name!r}{_hint(host_name, list(by_name))}", value=True)
            elif host_name is None and do in _NEEDS_HOST:
                self.err(path, f"a {do!r} step needs `host`")
            at = self.get_num(t, "at", path)
            app = self.get_str(t, "app", path)
            if app is not None and host is not None and host.app(app) is None:
                self.err((*path, "app"), f"host {host.name!r} has no app {app!r}"
                         f"{_hint(app, [a.name for a in host.apps])}", value=True)
            proto = self.get_str(t, "proto", path)
            if proto is not None:
                proto = proto.lower()
                if proto not in ("tcp", "udp"):
                    self.err((*path, "proto"), f"proto must be tcp or udp, not {proto!r}", value=True)
                    proto = None
            port = self.get_int(t, "port", path, 0, 65535)
            sock = self.get_str(t, "socket", path)
            dual = self.get_dual(t, path)
            mapped_local = False  # a dual-stack socket bound to ::ffff:a.b.c.d: IPv4 only
            address = self.get_str(t, "address", path)
            if address is not None:
                try:
                    v, bits = parse_address(address)
                    if dual and not _dual_address(v, bits):
                        self.err((*path, "address"), f"a dual_stack socket is an IPv6 socket: its address is '::' "
                                 f"or an IPv4-mapped address (::ffff:a.b.c.d), not {address!r}", value=True)
                        v, bits = 0, 128
                    elif dual and v != 0:
                        v, bits = v & 0xFFFFFFFF, 32  # ::ffff:a.b.c.d is the host's a.b.c.d
                        mapped_local = True
                    # 127.0.0.0/8 and ::1 exist on every host, listed or not (decisions-engine.md).
                    if host is not None and v != 0 and (v, bits) not in addr_map[host.name] \
                            and not is_loopback_address(v, bits):
                        self.err((*path, "address"), f"host {host.name!r} has no address {address!r}", value=True)
                except ValueError:
                    self.err((*path, "address"), f"bad address {address!r}", value=True)
            elif do in ("listen", "bind") and host is not None and not host.addresses:
                self.err(path, f"host {host.name!r} has no address to {do} on")
            to = self.get_str(t, "to", path)
            if to is not None:
                try:
                    raddr, bits, rport = resolve_target(to, addr_map)
                    if dual and bits == 128 and raddr >> 32 == 0xFFFF:
                        raddr, bits = raddr & 0xFFFFFFFF, 32  # the IPv4 peer of a mapped address
                    if host is not None and do in ("connect", "probe", "ping") \
                            and not is_loopback_address(raddr, bits) \
                            and not any(b == bits for _, b in addr_map[host.name]):
                        self.err((*path, "to"), f"host {host.name!r} has no IPv{4 if bits == 32 else 6} address "
                                 f"to reach {to!r} from", value=True)
                    if mapped_local and bits == 128 and do == "connect":
                        self.err((*path, "to"), f"a dual_stack socket bound to {address!r} reaches IPv4 peers only, "
                                 f"not {to!r}", value=True)
                    if do in ("connect", "probe") and rport == 0:
                        self.err((*path, "to"), f"{to!r} needs a port (\"host:port\")", value=True)
                except ValueError as exc:
                    self.err((*path, "to"), str(exc), value=True)
            elif do in ("probe", "ping") or (do == "connect" and "redirect_records" not in t):
                self.err(path, f"a {do!r} step needs `to`")
            callout = self.get_str(t, "callout", path)
            if do == "complete":
                if callout is None:
                    self.err(path, "a 'complete' step needs `callout`: the callout whose pended classifications "
                             "complete (FwpsCompleteOperation0)")
                elif host is not None and callout not in policies[host.name].callouts:
                    self.err((*path, "callout"), f"host {host.name!r} has no callout {callout!r}"
                             f"{_hint(callout, list(policies[host.name].callouts))}", value=True)
            records = self.get_str(t, "redirect_records", path)
            if records is not None:
                base, hash_, n = records.partition("#")
                known = sockets.get(base)
                if known is not None and not hash_ and known[1] == "listen":
                    self.err((*path, "redirect_records"), f"socket {records!r} is the proxy's listener: name the "
                             f"connection it accepted, {records + '#1'!r}", value=True)
                elif known is None or (hash_ and (known[1] != "listen" or not n.isdecimal() or int(n) < 1)):
                    self.err((*path, "redirect_records"), f"redirect_records names the accepted socket of a proxy "
                             f"(\"listener#1\"), and no earlier step creates {records!r}"
                             f"{_hint(base, list(sockets))}", value=True)
                elif host is not None and known[0] != host.name:
                    self.err((*path, "redirect_records"), f"socket {records!r} belongs to host {known[0]!r}: "
                             "redirect records are set on a socket of the same host", value=True)
            nbytes = self.get_int(t, "bytes", path, *_BYTES_RANGE)
            packets = self.get_int(t, "packets", path, *_PACKETS_RANGE)
            count = self.get_int(t, "count", path, 1, 1_000_000)
            seconds = self.get_num(t, "seconds", path)
            if do == "wait" and seconds is None and at is None:
                self.err(path, "a 'wait' step needs `seconds` (or `at`)")
            # sockets: created by listen/bind/connect, used by send/close
            if do in ("listen", "bind", "connect"):
                if sock is not None:
                    if sock in sockets:
                        self.err((*path, "socket"), f"socket {sock!r} is already defined", value=True)
                    elif "#" in sock:
                        self.err((*path, "socket"), f"socket names cannot contain '#': {sock!r}", value=True)
                    else:
                        kind = "listen" if (do == "listen" and proto != "udp") else do
                        sockets[sock] = (host_name or "", kind, proto or ("udp" if do == "bind" else "tcp"))
            elif do in ("send", "close"):
                if sock is None:
                    self.err(path, f"a {do!r} step needs `socket`")
                else:
                    base, hash_, n = sock.partition("#")
                    known = sockets.get(base)
                    if known is None or (hash_ and (known[1] != "listen" or not n.isdecimal() or int(n) < 1)):
                        self.err((*path, "socket"), f"unknown socket {sock!r}: no earlier listen/bind/connect "
                                 f"step creates it{_hint(base, list(sockets))}", value=True)
                    elif host is not None and known[0] != host.name:
                        self.err((*path, "host"), f"socket {sock!r} belongs to host {known[0]!r}", value=True)
                    elif do == "send" and known[2] == "udp" and known[1] == "bind" and to is None:
                        pass  # a reply: goes to the last peer (docs/decisions-engine.md)
            add: tuple[Filter, ...] = ()
            remove: tuple[str, ...] = ()
            if do == "policy":
                raw_add = t.get("add", [])
                if not isinstance(raw_add, list) or not all(isinstance(x, dict) for x in raw_add):
                    self.err((*path, "add"), "add must be a list of filter tables", value=True)
                    raw_add = []
                raw_remove = t.get("remove", [])
                if isinstance(raw_remove, str):
                    raw_remove = [raw_remove]
                if not isinstance(raw_remove, list) or not all(isinstance(x, str) for x in raw_remove):
                    self.err((*path, "remove"), "remove must be a list of filter keys", value=True)
                    raw_remove = []
                if not raw_add and not raw_remove:
                    self.err(path, "a 'policy' step needs `add` and/or `remove`")
                if host is not None:
                    try:
                        add = parse_filter_tables(raw_add, policies[host.name], self.filename, locator=self.loc,
                                                  path_prefix=(*path, "add"))
                        self.check_field_versions(add, host.windows, host.name)
                    except InputError as exc:
                        self.diags.extend(exc.diagnostics)
                    known_keys = {f.key for f in policies[host.name].filters}
                    for i, key in enumerate(raw_remove):
                        if key not in known_keys:
                            p: KeyPath = (*path, "remove", i) if isinstance(t.get("remove"), list) \
                                else (*path, "remove")
                            self.err(p, f"host {host.name!r} has no filter {key!r} to remove"
                                     f"{_hint(key, sorted(known_keys))}", value=True)
                    remove = tuple(raw_remove)
                    policies[host.name] = apply_change(policies[host.name], add, remove)
            steps.append(Step(index=index, do=do, host=host_name, at=at, app=app, proto=proto, port=port,
                              socket=sock, address=address, to=to, bytes=nbytes,
                              packets=1 if packets is None else packets, count=1 if count is None else count,
                              seconds=seconds, add=add, remove=remove, raw=dict(t), dual_stack=dual,
                              redirect_records=records, callout=callout))
        return steps

    def load_expects(self, hosts: list[HostSpec]) -> list[Expect]:
        names = [h.name for h in hosts]
        out: list[Expect] = []
        for path, t in self.tables("expect"):
            self.check_keys(t, _EXPECT_KEYS, path, "an [[expect]]")
            host = self.get_str(t, "host", path)
            if host is not None and host not in names:
                self.err((*path, "host"), f"unknown host {host!r}{_hint(host, names)}", value=True)
            layer = self.get_str(t, "layer", path)
            if layer is not None:
                try:
                    get_layer(layer)
                except (UnknownNameError, KeyError, ValueError) as exc:
                    self.err((*path, "layer"), str(exc) if isinstance(exc, UnknownNameError)
                             else f"unknown layer {layer!r}", value=True)
            packet = self.get_str(t, "packet", path)
            if packet is not None and packet.upper() not in _PACKETS:
                self.err((*path, "packet"), f"packet must be one of {', '.join(_PACKETS)}, not {packet!r}", value=True)
            op = self.get_str(t, "op", path)
            if op is not None and op.lower() not in _OPS:
                self.err((*path, "op"), f"op must be one of {', '.join(_OPS)}, not {op!r}", value=True)
            action = self.get_str(t, "action", path)
            if action is not None and action.lower() not in _ACTIONS:
                self.err((*path, "action"), f"action must be permit, block or none, not {action!r}", value=True)
            reauth = t.get("reauth")
            if reauth is not None and not isinstance(reauth, bool):
                self.err((*path, "reauth"), "reauth must be true or false", value=True)
                reauth = None
            flt = self.get_str(t, "filter", path)
            count = self.get_int(t, "count", path, 0, 1 << 40)
            out.append(Expect(host=host, layer=layer, packet=packet, op=op, reauth=reauth, action=action,
                              filter=flt, count=count, raw=dict(t)))
        return out


def parse_scenario(text: str, filename: str, base_dir: Path | None = None,
                   policy_overrides: Mapping[str, str | os.PathLike[str]] | None = None) -> Scenario:
    """Parse scenario TOML text (policy files relative to ``base_dir``)."""
    return _Loader(text, filename, base_dir, policy_overrides).load()


def load_scenario(path: str | os.PathLike[str],
                  policy_overrides: Mapping[str, str | os.PathLike[str]] | None = None) -> Scenario:
    """Read and parse a scenario file; ``policy_overrides`` maps host → policy file
    (``run --policy HOST=FILE``)."""
    from wfptui.io.stdio import display_name, is_stdin, read_input

    arg = os.fspath(path)
    data = read_input(arg, "scenario file")  # `-` = standard input (spec §8)
    name = display_name(arg)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError([Diagnostic(name, line, 0, "scenario file is not UTF-8 text")]) from None
    return parse_scenario(text, name, Path(".") if is_stdin(arg) else Path(name).parent, policy_overrides)


def load_builtin_scenario() -> Scenario:
    """The built-in default scenario (``wfptui/data/builtin.toml``; inline policies)."""
    from importlib import resources  # here: it imports tempfile, shutil, zipfile...

    text = resources.files("wfptui.data").joinpath("builtin.toml").read_text(encoding="utf-8")
    return parse_scenario(text, "<builtin>/builtin.toml", None)


def is_scenario_text(doc: Mapping[str, Any]) -> bool:
    """A parsed TOML document is a scenario (has hosts), not a policy."""
    return "host" in doc


def scenario_from_dict(d: Mapping[str, Any], policies: Mapping[str, Policy] | None = None) -> Scenario:
    """``Scenario.from_dict`` with the policy-file filter parser bound (recordings)."""
    return Scenario.from_dict(d, policies, parse_filter_tables)
