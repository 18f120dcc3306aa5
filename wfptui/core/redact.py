"""Consistent redaction of addresses, app paths, user SIDs and host names (``wfptui redact``).

A :class:`Redactor` works in two passes over everything a recording holds (scenario,
policies, inputs, trace records): :meth:`Redactor.collect_json` / :meth:`collect_policy`
see every value first, :meth:`Redactor.build` fixes the stand-ins, then
:meth:`Redactor.json`, :meth:`policy` and :meth:`text` rewrite. The same input always
becomes the same stand-in, and the stand-ins keep what filters can test, so the redacted
recording replays to the redacted trace (``replay --check`` passes):

* **IPv4** addresses map into 192.0.2.0/24, 198.18.0.0/15 or 10.0.0.0/8 (the smallest that
  fits), **IPv6** into 2001:db8::/32. The map is *order- and prefix-preserving* for the
  addresses and masks present: every mask (``10.0.0.0/8`` in a filter) becomes a mask that
  contains exactly the images of the addresses it contained, and ranges and comparisons
  keep their order. Loopback, unspecified, multicast, broadcast and link-local addresses
  stay as they are. Built by laying out the laminar tree of masks and addresses in order
  (each mask an aligned power-of-two block), then checked (:class:`RedactError` when a
  filter's meaning could not be kept).
* **SIDs**: domain/user SIDs ``S-1-5-21-a-b-c-RID`` become ``S-1-5-21-1-2-N-RID'`` (one N
  per domain, RIDs below 1000 — Administrator, Domain Admins — kept, others renumbered
  from 1001). Well-known SIDs (``S-1-5-18``, ``S-1-1-0`` ...) and the engine's default
  user SID stay.
* **App paths**: each path component is replaced consistently and case-insensitively
  (``dir1``, ``dir2`` ..., the file ``app1.exe`` keeping its extension) and the volume is
  kept, so ``C:\\Program Files\\Browser\\browser.exe`` → ``C:\\dir1\\dir2\\app1.exe`` and its
  app id ``\\device\\harddiskvolume3\\program files\\browser\\browser.exe`` →
  ``\\device\\harddiskvolume3\\dir1\\dir2\\app1.exe`` (prefix matches still hold).
* **AppContainer package SIDs** ``S-1-15-2-a-b-c-d-e-f-g`` become ``S-1-15-2-1-1-1-1-1-1-N``
  (one N per package); capability SIDs ``S-1-15-3-...`` and other well-known SIDs stay.
* **Captured events** (the ``event`` of an ``observe`` step, ``Observation.to_dict()``):
  :meth:`Redactor.collect_event` / :meth:`Redactor.event` — its addresses (integers, by
  ``ip_version``) through the same address maps, app id, user and package SIDs, effective
  name and ``extra`` text as everywhere else, and the machine name (``System/Computer``)
  → ``computer1`` ...; WFP's own names (layers, sublayers, types) are not personal.
* **Host names** → ``host1``, ``host2`` ... in scenario order: in host fields, ``to =
  "server:80"``, and wherever else they appear bounded by a non-alphanumeric character
  (socket names ``client-sock``, keys, free text); case-sensitive, so WFP's upper-case names
  stay. Values of enumeration keys (``do``, ``layer``, ``windows`` ...) are never touched.
* **Any spelling**: IPv4 with leading zeros or with ``-``/``_`` inside identifiers
  (``allow-10-0-0-5`` → ``allow-192-0-2-1``), IPv6 in any case or expansion; SIDs in any case,
  Azure AD SIDs ``S-1-12-1-a-b-c-d`` → ``S-1-12-1-1-1-1-N``; UNC (``\\\\server\\share``),
  ``//server/share``, ``C:/x`` and paths inside free text; a user name seen in
  ``C:\\Users\\NAME`` is replaced (by its path stand-in) wherever else it appears.
* **Policies**: filter, sublayer and callout keys and names, descriptions and condition
  values, the conditions and redirect targets of a declared callout's rules included (built-in sublayers and
  callouts keep their keys and names).
* The **trace is not rewritten** here: ``wfptui redact`` regenerates it by replaying the
  redacted inputs (commands/redact.py), since the engine's own text may quote host names.

Limits (documented in docs/recording-format.md): a mask containing both kept and moved
addresses (e.g. ``0.0.0.0/1``) cannot be preserved and is refused; IPv6 addresses spelled
with ``-`` inside identifiers are not recognized; MAC addresses are not changed.

The address maps (:class:`AddressMap`, :class:`RedactError`) live in core/redact_addr.py and are
re-exported here.

Pure: standard library and ``wfptui.core`` only, no I/O; mypy --strict.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from wfptui.core.datatypes import DataType
from wfptui.core.model import (
    AddrMask,
    Callout,
    Condition,
    Filter,
    Policy,
    Range,
    SecurityDescriptor,
    Token,
    Value,
)
from wfptui.core.redact_addr import AddressMap, RedactError, v4_int, v6_parts
from wfptui.core.redirect import Target
from wfptui.core.scenario import DEFAULT_USER_SID
from wfptui.core.sddl import parse_sddl
from wfptui.core.sim import DEFAULT_APP, PING_APP
from wfptui.core.values import ValueParseError, normalize_app_id

__all__ = ["RedactError", "Redactor", "AddressMap"]

JsonDict = dict[str, Any]

#: SIDs that are not personal: the engine's default user.
DEFAULT_KEEP_SIDS = frozenset({DEFAULT_USER_SID})
#: App paths that are not personal: the apps the engine uses when a step names none.
DEFAULT_KEEP_PATHS = frozenset({DEFAULT_APP.path, PING_APP.path})

_PKG_RE = re.compile(r"S-1-15-2-(\d+(?:-\d+){6})(?![\d-])", re.IGNORECASE)
#: ``extra`` keys of a captured event whose value is a machine name.
_MACHINE_KEYS = ("Computer", "WorkstationName")
_SID_RE = re.compile(r"S-1-5-21-(\d+)-(\d+)-(\d+)(?:-(\d+))?(?![\d-])", re.IGNORECASE)
#: Azure AD (Entra ID) user and group SIDs: S-1-12-1- and four numbers.
_AAD_RE = re.compile(r"S-1-12-1-(\d+-\d+-\d+-\d+)(?![\d-])", re.IGNORECASE)
#: An IPv4 address spelled with ``-`` or ``_`` inside an identifier (``allow-10-0-0-5``); not
#: next to another number of the same spelling (SIDs are numbers joined by dashes).
_V4_ID_RE = re.compile(r"(?<![\d.])(?<!\d[-_])(?<![Ss]-)(\d{1,3})([-_])(\d{1,3})\2(\d{1,3})\2(\d{1,3})(?!\d|[-_.]\d)")
#: A path inside free text: drive, UNC (``\\server\share``), ``\device\...`` or forward
#: slashes (``//server/share``, ``C:/...``); components end at white space or a quote.
_TEXT_PATH_RE = re.compile(r"(?<![\w\\/])(?P<vol>[A-Za-z]:(?=[\\/])|\\\\|//|\\device(?=\\))"
                           r"(?P<rest>[\\/]?(?:%s(?: %s)*[\\/])*%s)" % ((r"[^\\/\s'\"<>|,;]+",) * 3),
                           re.IGNORECASE)
#: A user profile folder in a path: the user name is also replaced wherever else it appears.
_USER_DIR_RE = re.compile(r"[\\/]Users[\\/]([^\\/\s'\"]+)", re.IGNORECASE)
_V4_RE = re.compile(r"(?<![\w.])(\d{1,3}(?:\.\d{1,3}){3})(?:/(\d{1,2}))?(?![\w.])")
#: An IPv6 candidate: a maximal run of hex digits, colons and dots with two colons or more,
#: an optional /prefix; "addr:port" (as in "to fd00::1:49153") is split in ``v6_parts``.
_V6_RE = re.compile(r"(?<![\w:.])([0-9A-Fa-f]*:[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*)(?:/(\d{1,3}))?(?![\w:.])")
#: A whole-string UNC or forward-slash path (``\\\\server\\share\\x``, ``//server/x``, ``C:/x``).
_UNC_RE = re.compile(r"^(?P<vol>\\\\|//|[A-Za-z]:(?=/))(?P<rest>[^\\/].*)$")
_ADDR_RE = re.compile(f"(?P<v6>{_V6_RE.pattern})|(?P<v4>{_V4_RE.pattern})")
_PATH_RE = re.compile(r"^(?P<vol>[A-Za-z]:|\\device\\[^\\]+|\\\\\?\\[A-Za-z]:|%[A-Za-z_]+%)(?P<rest>(?:\\[^\\]+)+)$",
                      re.IGNORECASE)

#: Address fields of conditions (FWP_UINT32 = IPv4, FWP_BYTE_ARRAY16_TYPE = IPv6, or a mask).
_ADDRESS_FIELDS = frozenset({
    "IP_LOCAL_ADDRESS", "IP_REMOTE_ADDRESS", "IP_SOURCE_ADDRESS", "IP_DESTINATION_ADDRESS",
    "EMBEDDED_REMOTE_ADDRESS", "IP_LOCAL_ADDRESS_V4", "IP_LOCAL_ADDRESS_V6", "IP_REMOTE_ADDRESS_V4",
    "IP_REMOTE_ADDRESS_V6", "IP_NEXTHOP_ADDRESS",
})
#: JSON keys whose string values are host names.
_HOST_KEYS = frozenset({"host", "hosts"})
#: JSON keys whose string values are WFP's or the engine's words (never host names).
_ENUM_KEYS = frozenset({"do", "proto", "layer", "action", "packet", "op", "kind", "field", "match", "type",
                        "format", "clock", "windows", "tunnel_type", "sublayer_type", "returns"})


def _mapped_mask(v: AddrMask) -> bool:
    """An IPv6 network inside ::ffff:0:0/96 (IPv4-mapped addresses)."""
    return v.bits == 128 and v.prefix >= 96 and v.addr >> 32 == 0xFFFF


def _norm(path: str) -> str:
    try:
        return normalize_app_id(path)
    except ValueParseError:
        return path.lower()


class Redactor:
    """Two-pass consistent redaction (module docstring). ``hosts``: the scenario's host names."""

    def __init__(self, hosts: Iterable[str] = (), keep_sids: Iterable[str] = DEFAULT_KEEP_SIDS,
                 keep_paths: Iterable[str] = DEFAULT_KEEP_PATHS) -> None:
        self.v4 = AddressMap(32, [(0xC0000200, 24), (0xC6120000, 15), (0x0A000000, 8)])
        self.v6 = AddressMap(128, [(0x20010DB8 << 96, 32)])
        self.hosts: dict[str, str] = {}
        for h in hosts:
            self.add_host(h)
        self.keep_sids = frozenset(keep_sids)
        self.keep_paths = frozenset(_norm(p) for p in keep_paths)
        self._domains: dict[tuple[str, str, str], int] = {}
        self._rids: dict[tuple[int, str], int] = {}
        self._components: dict[str, str] = {}
        self._ndirs = 0
        self._napps = 0
        self._host_re: re.Pattern[str] | None = None
        self._packages: dict[str, int] = {}
        self._aad: dict[str, int] = {}
        self._users: set[str] = set()
        self._user_re: re.Pattern[str] | None = None
        self._machines: dict[str, str] = {}
        self.built = False

    # ------------------------------------------------------------------ collecting
    def add_host(self, name: str) -> None:
        if name and name not in self.hosts:
            self.hosts[name] = f"host{len(self.hosts) + 1}"

    def collect_text(self, s: str) -> None:
        for m in _USER_DIR_RE.finditer(s):
            if m.group(1).lower() not in ("public", "default", "all users"):
                self._users.add(m.group(1).lower())
        for m in _V4_ID_RE.finditer(s):
            self._collect_v4(".".join(m.group(1, 3, 4, 5)), None)
        for m in _V4_RE.finditer(s):
            self._collect_v4(m.group(1), m.group(2))
        for m in _V6_RE.finditer(s):
            self._collect_v6(m.group(1), m.group(2))

    def _collect_v4(self, text: str, prefix: str | None) -> None:
        a = v4_int(text)
        if a is None:
            return
        if prefix is None:
            self.v4.add_point(a)
        elif int(prefix) <= 32:
            self.v4.add_mask(a, int(prefix))

    def _collect_v6(self, text: str, prefix: str | None) -> None:
        parts = v6_parts(text, prefix)
        if parts is None:
            return
        ip, _port = parts
        if ip.ipv4_mapped is not None:
            self.v4.add_point(int(ip.ipv4_mapped))
        if prefix is None:
            self.v6.add_point(int(ip))
        elif int(prefix) <= 128:
            self.v6.add_mask(int(ip), int(prefix))

    def collect_json(self, obj: Any) -> None:
        if isinstance(obj, str):
            self.collect_text(obj)
        elif isinstance(obj, Mapping):
            for v in obj.values():
                self.collect_json(v)
        elif isinstance(obj, (list, tuple)):
            for v in obj:
                self.collect_json(v)

    def collect_policy(self, policy: Policy) -> None:
        for f in policy.filters:
            self.collect_text(f.name)
            self.collect_text(f.description)
            for c in f.conditions:
                self._collect_value(c, c.value)
        for co in policy.callouts.values():  # a declared callout's rules test values too (issue 15)
            for rule in co.rules:
                for c in rule.conditions:
                    self._collect_value(c, c.value)
                if rule.target is not None:  # a redirect's address (core.redirect): the same map
                    (self.v4 if rule.target.bits == 32 else self.v6).add_point(rule.target.addr)

    def _collect_value(self, c: Condition, v: Value) -> None:
        if isinstance(v, AddrMask) and _mapped_mask(v):  # ::ffff:a.b.c.d/n: the IPv4 address's map
            self.v4.add_mask(v.addr & 0xFFFFFFFF, v.prefix - 96)
        elif isinstance(v, AddrMask):
            (self.v4 if v.bits == 32 else self.v6).add_mask(v.addr, v.prefix)
        elif isinstance(v, Range):
            self._collect_value(c, v.low)
            self._collect_value(c, v.high)
        elif isinstance(v, int) and not isinstance(v, bool) and c.field in _ADDRESS_FIELDS:
            if c.dtype == DataType.FWP_UINT32 or v < 1 << 32 and c.dtype != DataType.FWP_BYTE_ARRAY16_TYPE:
                self.v4.add_point(v)
            elif v >> 32 == 0xFFFF:  # IPv4-mapped (a dual-stack socket's peer): as its IPv4 address
                self.v4.add_point(v & 0xFFFFFFFF)
            else:
                self.v6.add_point(v)
        elif isinstance(v, str):
            self.collect_text(v)

    def build(self) -> None:
        """Fix every stand-in (after collecting everything)."""
        self.v4.build()
        self.v6.build()
        self.v4.check()
        self.v6.check()
        if self.hosts:
            names = sorted(self.hosts, key=len, reverse=True)
            # Also inside identifiers ("client-sock", "allow_server"): bounded by anything but a
            # letter or digit. Case-sensitive, so WFP's upper-case names are never touched.
            self._host_re = re.compile(r"(?<![A-Za-z0-9])(" + "|".join(re.escape(n) for n in names)
                                       + r")(?![A-Za-z0-9])")
        if self._users:
            self._user_re = re.compile(r"(?<![A-Za-z0-9])(" + "|".join(
                re.escape(n) for n in sorted(self._users, key=len, reverse=True)) + r")(?![A-Za-z0-9])",
                re.IGNORECASE)
        self.built = True

    # ------------------------------------------------------------------ rewriting
    def host(self, name: str) -> str:
        return self.hosts.get(name, name)

    def sid(self, sid: str) -> str:
        return _AAD_RE.sub(self._aad_sub, _PKG_RE.sub(self._pkg_sub, _SID_RE.sub(self._sid_sub, sid)))

    def _aad_sub(self, m: re.Match[str]) -> str:
        k = self._aad.setdefault(m.group(1), len(self._aad) + 1)
        return f"S-1-12-1-1-1-1-{k}"

    def _pkg_sub(self, m: re.Match[str]) -> str:
        k = self._packages.setdefault(m.group(1), len(self._packages) + 1)
        return f"S-1-15-2-1-1-1-1-1-1-{k}"

    def _sid_sub(self, m: re.Match[str]) -> str:
        if m.group(0).upper() in self.keep_sids:
            return m.group(0).upper()
        dom = (m.group(1), m.group(2), m.group(3))
        k = self._domains.setdefault(dom, len(self._domains) + 1)
        out = f"S-1-5-21-1-2-{k + 2}"
        rid = m.group(4)
        if rid is None:
            return out
        if int(rid) < 1000:
            return f"{out}-{rid}"
        n = self._rids.setdefault((k, rid), 1001 + sum(1 for key in self._rids if key[0] == k))
        return f"{out}-{n}"

    def path(self, path: str) -> str:
        """An app path (DOS, NT device or env-var form) with every component replaced."""
        m = _PATH_RE.match(path.strip()) or _UNC_RE.match(path.strip())
        if m is None or _norm(path) in self.keep_paths:
            return path
        return self._path_parts(m.group("vol"), m.group("rest"))

    def _path_parts(self, vol: str, rest: str) -> str:
        """``vol`` kept (a UNC or ``//`` prefix's server is a component), each part of ``rest`` replaced."""
        pieces = re.split(r"([\\/])", rest)  # separators kept as they were
        names = [i for i, p in enumerate(pieces) if p and p not in "\\/"]
        for n, i in enumerate(names):
            pieces[i] = self._component(pieces[i], last=n == len(names) - 1)
        return vol + "".join(pieces)

    def _text_path_sub(self, m: re.Match[str]) -> str:
        if _norm(m.group(0)) in self.keep_paths:
            return m.group(0)
        vol = m.group("vol")
        if vol.lower() == "\\device":  # \device\harddiskvolume3\...: the volume stays
            dev, _, rest = m.group("rest").lstrip("\\/").partition("\\")
            return f"{vol}\\{dev}" + (self._path_parts("\\", rest) if rest else "")
        return self._path_parts(vol, m.group("rest"))

    def _component(self, part: str, last: bool) -> str:
        key = part.lower()
        got = self._components.get(key)
        if got is None:
            stem, dot, ext = part.rpartition(".")
            if last and dot and stem and 1 <= len(ext) <= 4 and ext.isalnum():
                self._napps += 1
                got = f"app{self._napps}.{ext.lower()}"
            else:
                self._ndirs += 1
                got = f"dir{self._ndirs}"
            self._components[key] = got
        return got

    def _addr_sub(self, m: re.Match[str]) -> str:
        if m.group("v6") is not None:
            m6 = _V6_RE.fullmatch(m.group(0))
            return self._v6_sub(m6) if m6 is not None else m.group(0)
        m4 = _V4_RE.fullmatch(m.group(0))
        return self._v4_sub(m4) if m4 is not None else m.group(0)

    def _v4_id_sub(self, m: re.Match[str]) -> str:
        a = v4_int(".".join(m.group(1, 3, 4, 5)))
        if a is None:
            return m.group(0)
        return str(ipaddress.IPv4Address(self.v4.addr(a))).replace(".", m.group(2))

    def _v4_sub(self, m: re.Match[str]) -> str:
        a = v4_int(m.group(1))
        if a is None:
            return m.group(0)
        if m.group(2) is None:
            return str(ipaddress.IPv4Address(self.v4.addr(a)))
        net, prefix = self.v4.mask(a, int(m.group(2)))
        return f"{ipaddress.IPv4Address(net)}/{prefix}"

    def _v6_sub(self, m: re.Match[str]) -> str:
        parts = v6_parts(m.group(1), m.group(2))
        if parts is None:
            return m.group(0)
        ip, port = parts
        if ip.ipv4_mapped is not None:
            return "::ffff:" + str(ipaddress.IPv4Address(self.v4.addr(int(ip.ipv4_mapped)))) + port
        if m.group(2) is None:
            return str(ipaddress.IPv6Address(self.v6.addr(int(ip)))) + port
        net, prefix = self.v6.mask(int(ip), int(m.group(2)))
        return f"{ipaddress.IPv6Address(net)}/{prefix}"

    def text(self, s: str, *, hosts: bool = False) -> str:
        """Addresses, SIDs and (whole-string) paths in ``s``; host names as words if ``hosts``."""
        if not self.built:
            raise RuntimeError("Redactor.build() first")
        p = self.path(s)
        if p != s:
            return p
        s = _TEXT_PATH_RE.sub(self._text_path_sub, s)
        s = self.sid(s)
        s = _ADDR_RE.sub(self._addr_sub, s)  # one pass: a stand-in is never rewritten again
        s = _V4_ID_RE.sub(self._v4_id_sub, s)
        if hosts and self._host_re is not None:
            s = self._host_re.sub(lambda m: self.hosts[m.group(1)], s)
        if self._user_re is not None:  # a user name (from C:\Users\NAME) outside a path: its path stand-in
            s = self._user_re.sub(lambda m: self._component(m.group(1), last=False), s)
        return s

    def json(self, obj: Any, key: str | None = None) -> Any:
        """JSON-like data with every string rewritten (host names where the key says so)."""
        if isinstance(obj, str):
            if key in _HOST_KEYS:
                return self.host(obj)
            if key == "to":
                if obj in self.hosts:
                    return self.hosts[obj]
                host, sep, port = obj.rpartition(":")
                if sep and host in self.hosts:
                    return f"{self.hosts[host]}:{port}"
            return self.text(obj, hosts=key not in _ENUM_KEYS)
        if isinstance(obj, Mapping):
            return {k: self.json(v, k) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self.json(v, key) for v in obj]
        if isinstance(obj, tuple):
            return tuple(self.json(v, key) for v in obj)
        return obj

    # ------------------------------------------------------------------ captured events
    def collect_event(self, ev: Mapping[str, Any]) -> None:
        """See an ``observe`` step's event (``Observation.to_dict()``) before :meth:`build`."""
        self.collect_json(ev)
        amap = self.v4 if ev.get("ip_version") == 4 else self.v6 if ev.get("ip_version") == 6 else None
        for key in ("local_addr", "remote_addr"):
            v = ev.get(key)
            if amap is not None and isinstance(v, str) and v.isdigit():
                amap.add_point(int(v))

    def event(self, ev: Mapping[str, Any]) -> JsonDict:
        """An ``observe`` step's event, redacted consistently with everything else."""
        out: JsonDict = self.json(dict(ev))
        amap = self.v4 if ev.get("ip_version") == 4 else self.v6 if ev.get("ip_version") == 6 else None
        for key in ("local_addr", "remote_addr"):
            v = ev.get(key)
            if amap is not None and isinstance(v, str) and v.isdigit():
                out[key] = str(amap.addr(int(v)))
        extra = out.get("extra")
        if isinstance(extra, list):
            out["extra"] = [[p[0], self._machine(p[1])] if isinstance(p, list) and len(p) == 2
                            and isinstance(p[0], str) and isinstance(p[1], str)
                            and p[0].rpartition("/")[2] in _MACHINE_KEYS else p for p in extra]
        return out

    def _machine(self, name: str) -> str:
        got = self._machines.get(name.lower())
        if got is None:
            got = self._machines[name.lower()] = f"computer{len(self._machines) + 1}"
        return got

    def scenario_dict(self, d: Mapping[str, Any]) -> JsonDict:
        """A ``Scenario.to_dict()`` rewritten; the scenario's source text is dropped."""
        out: JsonDict = self.json(dict(d))
        if "source" in out:
            out["source"] = None
        for h in out.get("hosts") or []:
            if isinstance(h, dict) and "policy_file" in h:
                h["policy_file"] = None
        return out

    def policy(self, policy: Policy) -> Policy:
        """A policy with keys, names, descriptions and conditions (addresses, app ids, SIDs) rewritten.

        Built-in sublayers and callouts (WFP's own) keep their keys and names.
        """
        filters = tuple(self.filter(f) for f in policy.filters)
        sublayers = {self.key(k): v if v.builtin else replace(v, key=self.key(v.key), name=self.key(v.name))
                     for k, v in policy.sublayers.items()}
        callouts = {self.key(k): self.callout(v) for k, v in policy.callouts.items()}
        return replace(policy, filters=filters, sublayers=sublayers, callouts=callouts, source=None)

    def callout(self, co: Callout) -> Callout:
        """A callout with its key and name (built-in: kept) and its rules' conditions rewritten."""
        rules = tuple(replace(r, conditions=self.conditions(r.conditions), target=self.target(r.target))
                      for r in co.rules)
        if co.builtin:
            return replace(co, rules=rules) if co.rules else co
        return replace(co, key=self.key(co.key), name=self.key(co.name), rules=rules)

    def target(self, t: Target | None) -> Target | None:
        """A redirect rule's address through the address maps (its port kept)."""
        if t is None:
            return None
        return Target(t.kind, (self.v4 if t.bits == 32 else self.v6).addr(t.addr), t.bits, t.port)

    def conditions(self, conds: tuple[Condition, ...]) -> tuple[Condition, ...]:
        return tuple(replace(c, value=self._value(c, c.value)) for c in conds)

    def key(self, s: str) -> str:
        """A key or name: addresses (in any spelling), SIDs, paths and host names in it rewritten."""
        return self.text(s, hosts=True)

    def filter(self, f: Filter) -> Filter:
        return replace(f, conditions=self.conditions(f.conditions), key=self.key(f.key), name=self.key(f.name),
                       description=self.key(f.description), sublayer=self.key(f.sublayer),
                       provider=None if f.provider is None else self.key(f.provider),
                       callout=None if f.callout is None else self.key(f.callout))

    def _value(self, c: Condition, v: Value) -> Value:
        if isinstance(v, AddrMask) and _mapped_mask(v):
            net, prefix = self.v4.mask(v.addr & 0xFFFFFFFF, v.prefix - 96)
            return AddrMask(0xFFFF << 32 | net, prefix + 96, 128)
        if isinstance(v, AddrMask):
            amap = self.v4 if v.bits == 32 else self.v6
            net, prefix = amap.mask(v.addr, v.prefix)
            return AddrMask(net, prefix, v.bits)
        if isinstance(v, Range):
            return Range(self._value(c, v.low), self._value(c, v.high))
        if isinstance(v, int) and not isinstance(v, bool) and c.field in _ADDRESS_FIELDS:
            if c.dtype == DataType.FWP_UINT32 or v < 1 << 32 and c.dtype != DataType.FWP_BYTE_ARRAY16_TYPE:
                return self.v4.addr(v)
            if v >> 32 == 0xFFFF:  # IPv4-mapped: the same map as the IPv4 address (as text() does)
                return 0xFFFF << 32 | self.v4.addr(v & 0xFFFFFFFF)
            return self.v6.addr(v)
        if isinstance(v, str):
            return self.text(v, hosts=True)
        if isinstance(v, Token):
            return Token(self.sid(v.user), frozenset(self.sid(g) for g in v.groups))
        if isinstance(v, SecurityDescriptor):
            new = self.sid(v.sddl)
            if new == v.sddl:
                return v
            return parse_sddl(new)
        return v

