"""One ``<netEvent>`` / ``<netEvents><item>`` element → :class:`Observation`.

The element layout is netsh's rendering of FWPM_NET_EVENT5 (MicrosoftDocs/win32
``desktop-src/FWP``: FWPM_NET_EVENT_HEADER3, FWPM_NET_EVENT_CLASSIFY_DROP2 / _ALLOW0,
FWPM_NET_EVENT_CAPABILITY_DROP0 / _ALLOW0) as shown in Microsoft's "Troubleshooting UWP
App Connectivity Issues in Windows Firewall" (windows-itpro-docs). Decisions
(docs/decisions.md, "Evidence readers"):

* **appId**: the ``<data>`` hex is UTF-16LE; it is used when it decodes to one whole
  NUL-terminated string (``app_id_from = "data"``); otherwise ``<asString>`` with netsh's
  separator dots removed (every other character is a dot standing for the UTF-16 high
  byte; ``app_id_from = "asString"``). Either way the path goes through
  ``core.values.normalize_app_id``; the kernel is ``system``.
* **capabilities**: FWP_CAPABILITIES_FLAG_* → capability SIDs by :data:`CAPABILITY_SIDS`
  (the well-known SIDs of the internetClient, internetClientServer and
  privateNetworkClientServer capabilities; the UWP doc's case 1 pairs the INTERNET_CLIENT
  flag with S-1-15-3-1). A flag outside the table is kept in ``extra`` and noted.
* Classification types (CLASSIFY_DROP, CLASSIFY_DROP_MAC → block, CLASSIFY_ALLOW →
  permit) carry ``action``; every other type (CAPABILITY_*, IPSEC_*, IKEEXT_*, ...) is
  kept with ``action = None`` (not simulated).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import fields as dataclass_fields
from typing import Any

from wfptui.core.evidence import OBS_BLOCK, OBS_PERMIT, SOURCE_NETEVENT, Observation, ObservedTerminating
from wfptui.io.evidence.fields import (
    FieldError,
    app_id,
    parse_addr,
    parse_bool,
    parse_sid,
    parse_time,
    parse_uint,
)
from wfptui.io.netsh_xml import XmlNode

#: FWP_CAPABILITIES_FLAG_* as netsh prints them → the capability SID the token holds.
CAPABILITY_SIDS: dict[str, str] = {
    "FWP_CAPABILITIES_FLAG_INTERNET_CLIENT": "S-1-15-3-1",
    "FWP_CAPABILITIES_FLAG_INTERNET_CLIENT_SERVER": "S-1-15-3-2",
    "FWP_CAPABILITIES_FLAG_PRIVATE_NETWORK": "S-1-15-3-3",
}

#: FWPM_NET_EVENT_FLAG_* (fwpmtypes.h) → bit.
NET_EVENT_FLAGS: dict[str, int] = {
    "FWPM_NET_EVENT_FLAG_IP_PROTOCOL_SET": 0x1,
    "FWPM_NET_EVENT_FLAG_LOCAL_ADDR_SET": 0x2,
    "FWPM_NET_EVENT_FLAG_REMOTE_ADDR_SET": 0x4,
    "FWPM_NET_EVENT_FLAG_LOCAL_PORT_SET": 0x8,
    "FWPM_NET_EVENT_FLAG_REMOTE_PORT_SET": 0x10,
    "FWPM_NET_EVENT_FLAG_APP_ID_SET": 0x20,
    "FWPM_NET_EVENT_FLAG_USER_ID_SET": 0x40,
    "FWPM_NET_EVENT_FLAG_SCOPE_ID_SET": 0x80,
    "FWPM_NET_EVENT_FLAG_IP_VERSION_SET": 0x100,
    "FWPM_NET_EVENT_FLAG_REAUTH_REASON_SET": 0x200,
    "FWPM_NET_EVENT_FLAG_PACKAGE_ID_SET": 0x400,
    "FWPM_NET_EVENT_FLAG_ENTERPRISE_ID_SET": 0x800,
    "FWPM_NET_EVENT_FLAG_POLICY_FLAGS_SET": 0x1000,
    "FWPM_NET_EVENT_FLAG_EFFECTIVE_NAME_SET": 0x2000,
}

_BLOCK_TYPES = frozenset({"CLASSIFY_DROP", "CLASSIFY_DROP_MAC"})
_PERMIT_TYPES = frozenset({"CLASSIFY_ALLOW"})
#: Type-block children read into Observation fields (the rest go to ``extra``).
_TYPE_READ = frozenset(
    {"filterId", "layerId", "reauthReason", "originalProfile", "currentProfile", "msFwpDirection", "isLoopback"}
)
_DIRECTIONS = {
    "MS_FWP_DIRECTION_IN": "inbound", "MS_FWP_DIRECTION_OUT": "outbound",
    "FWP_DIRECTION_INBOUND": "inbound", "FWP_DIRECTION_OUTBOUND": "outbound",
    "14592": "inbound", "14593": "outbound",  # 0x3900 / 0x3901
}


def app_id_candidates(data_hex: str | None, as_string: str | None) -> list[tuple[str, str]]:
    """The readings of an ``<appId>``, best first: ``(path, "data")`` when the hex is one whole
    NUL-terminated UTF-16 string, then ``(path, "asString")``."""
    out: list[tuple[str, str]] = []
    if data_hex:
        h = "".join(data_hex.split())
        try:
            raw = bytes.fromhex(h)
            text = raw.decode("utf-16-le") if len(raw) % 2 == 0 else None
        except (ValueError, UnicodeDecodeError):
            text = None
        # one whole NUL-terminated string: exactly one NUL, at the end, and something before it
        if text and text.endswith("\0") and "\0" not in text[:-1] and len(text) > 1:
            out.append((text[:-1], "data"))
    if as_string:
        # netsh prints each UTF-16 code unit as its low byte (or '.') then '.' for the high
        # byte: take a character, skip the dot after it. Line breaks a viewer inserted are
        # read as one space (the doc's samples wrap "program files" that way).
        s = re.sub(r"\s*\n\s*", " ", as_string.strip())
        chars: list[str] = []
        i = 0
        while i < len(s):
            chars.append(s[i])
            i += 2 if i + 1 < len(s) and s[i + 1] == "." else 1
        text = "".join(chars).rstrip(".")
        if text:
            out.append((text, "asString"))
    return out


def decode_app_id(data_hex: str | None, as_string: str | None) -> tuple[str | None, str | None]:
    """(path, "data" | "asString") from an ``<appId>``; (None, None) if neither is usable."""
    c = app_id_candidates(data_hex, as_string)
    return c[0] if c else (None, None)


#: (data, asString) -> (app id, how, unusable reading): captures repeat a few apps many times.
_APP_CACHE: dict[tuple[str | None, str | None], tuple[str | None, str | None, str]] = {}


def _read_app_id(node: XmlNode, data_hex: str | None, as_string: str | None) -> tuple[str | None, str | None, str]:
    """(app id, "data" | "asString", the reading that was not a path or ""). Raises
    :class:`FieldError` when no reading is a path WFP accepts."""
    cands = app_id_candidates(data_hex, None)  # the data reading first; asString only if needed
    unusable = ""
    for source in ("data", "asString"):
        if source == "asString":
            cands = app_id_candidates(None, as_string)
        for path, how in cands:
            try:
                return app_id(node, "header/appId", path), how, unusable
            except FieldError:
                if source == "asString" or not as_string:
                    raise
                # e.g. a hand-edited <data> that is not a path: use the asString reading
                unusable = f"{how}: {path}"
    return None, None, unusable


#: Readings memoised per distinct text (a capture repeats its peers and users).
_ADDRS: dict[tuple[str, int | None], tuple[int, int]] = {}
_SIDS: dict[str, str] = {}


class _Fields:
    """Mutable bag filled while walking one event."""

    def __init__(self) -> None:
        self.v: dict[str, object] = {}
        self.extra: list[tuple[str, str]] = []


def _flat_extra(node: XmlNode, prefix: str, out: list[tuple[str, str]]) -> None:
    """Keep an element nobody reads: its leaves as ``path = text`` (empty leaves dropped).

    Paths and short texts are shared between events (a capture repeats them on every event:
    one string each instead of one per event)."""
    key = (prefix, node.tag)
    path = _PATHS.get(key)
    if path is None:
        path = f"{prefix}/{node.tag}" if prefix else node.tag
        if len(_PATHS) < 4096:
            _PATHS[key] = path
    if node.children:
        for c in node.children:
            _flat_extra(c, path, out)
        return
    text = node.text.strip()
    if text:
        if len(text) <= 64:
            text = _TEXTS.setdefault(text, text) if len(_TEXTS) < 65536 else text
        out.append((path, text))


_PATHS: dict[tuple[str, str], str] = {}
_TEXTS: dict[str, str] = {}


def _flags(node: XmlNode, f: _Fields) -> None:
    if node.children:  # the item names, read once per distinct list (events repeat it)
        key = tuple([it.text for it in node.children])
        hit = _FLAG_LISTS.get(key)
        if hit is None:
            bits = 0
            unknown: list[tuple[str, str]] = []
            for it in node.children:
                name = it.text.strip()
                if name in NET_EVENT_FLAGS:
                    bits |= NET_EVENT_FLAGS[name]
                elif name:
                    unknown.append(("header/flags/item", name))
            hit = (bits, tuple(unknown))
            if len(_FLAG_LISTS) < 1024:
                _FLAG_LISTS[key] = hit
        f.extra.extend(hit[1])
        f.v["flags"] = hit[0]
        return
    f.v["flags"] = parse_uint(node, "header/flags", node.text, 32) if node.text.strip() else 0


#: A flags element's item texts -> (bits, the items without a known flag).
_FLAG_LISTS: dict[tuple[str, ...], tuple[int, tuple[tuple[str, str], ...]]] = {}


def _header(h: XmlNode, f: _Fields) -> None:
    v = f.v
    ver_text = h.child_text("ipVersion")
    if ver_text:
        if ver_text in ("FWP_IP_VERSION_V4", "4"):
            v["ip_version"] = 4
        elif ver_text in ("FWP_IP_VERSION_V6", "6"):
            v["ip_version"] = 6
        elif ver_text != "FWP_IP_VERSION_NONE":
            raise FieldError(h.child("ipVersion") or h, "header/ipVersion", f"unknown IP version {ver_text!r}")
    for c in h.children:
        tag = c.tag
        read = _HEADER_READERS.get(tag)
        if read is not None:
            read(c, c.text.strip(), f)
        elif tag.startswith(("localAddr", "remoteAddr")):
            _h_addr(c, c.text.strip(), f)
        else:
            _flat_extra(c, "header", f.extra)


# One reader per header element (a table, not a chain of comparisons: ~16 per event).

def _h_time(c: XmlNode, text: str, f: _Fields) -> None:
    if text:
        f.v["time"], f.v["time_ns"] = parse_time(c, "header/timeStamp", text)


def _h_flags(c: XmlNode, text: str, f: _Fields) -> None:
    _flags(c, f)


def _h_skip(c: XmlNode, text: str, f: _Fields) -> None:
    pass  # ipVersion: read before the loop


def _h_protocol(c: XmlNode, text: str, f: _Fields) -> None:
    if text:
        f.v["protocol"] = parse_uint(c, "header/ipProtocol", text, 8)


def _h_addr(c: XmlNode, text: str, f: _Fields) -> None:
    v = f.v
    tag = c.tag
    side = "local_addr" if tag.startswith("local") else "remote_addr"
    want = 6 if "V6" in tag else 4 if "V4" in tag else v.get("ip_version")
    if c.children:
        inner = c.child("byteArray16") or c.child("uint32")
        text = inner.text.strip() if inner is not None else text
    if text:
        version = want if isinstance(want, int) else None
        got = _ADDRS.get((text, version))
        if got is None:  # read once per distinct address (errors are not memoised)
            got = parse_addr(c, f"header/{tag}", text, version)
            if len(_ADDRS) >= 1 << 16:
                _ADDRS.clear()
            _ADDRS[(text, version)] = got
        ver, addr = got
        v[side] = addr
        v.setdefault("ip_version", ver)


def _h_local_port(c: XmlNode, text: str, f: _Fields) -> None:
    if text:
        f.v["local_port"] = parse_uint(c, "header/localPort", text, 16)


def _h_remote_port(c: XmlNode, text: str, f: _Fields) -> None:
    if text:
        f.v["remote_port"] = parse_uint(c, "header/remotePort", text, 16)


def _h_scope(c: XmlNode, text: str, f: _Fields) -> None:
    if text:
        f.v["scope_id"] = parse_uint(c, "header/scopeId", text, 32)


def _h_app(c: XmlNode, text: str, f: _Fields) -> None:
    data_hex, as_string = c.child_text("data"), c.child_text("asString")
    cache_key = (data_hex, as_string)
    hit = _APP_CACHE.get(cache_key)
    if hit is None:
        hit = _read_app_id(c, data_hex, as_string)
        if len(_APP_CACHE) < 4096:
            _APP_CACHE[cache_key] = hit
    if hit[0] is not None:
        f.v["app_id"], f.v["app_id_from"] = hit[0], hit[1]
    if hit[2]:
        f.extra.append(("header/appId/unusable", hit[2]))


def _sid(c: XmlNode, field: str, text: str) -> str:
    sid = _SIDS.get(text)
    if sid is None:  # read once per distinct SID (errors are not memoised)
        sid = parse_sid(c, field, text)
        if len(_SIDS) < 4096:
            _SIDS[text] = sid
    return sid


def _h_user(c: XmlNode, text: str, f: _Fields) -> None:
    if text:
        f.v["user_id"] = _sid(c, "header/userId", text)


def _h_package(c: XmlNode, text: str, f: _Fields) -> None:
    if text:
        f.v["package_sid"] = _sid(c, "header/packageSid", text)


def _h_name(c: XmlNode, text: str, f: _Fields) -> None:
    if text:
        f.v["effective_name"] = text


def _h_family(c: XmlNode, text: str, f: _Fields) -> None:
    if text in ("FWP_AF_INET", "FWP_AF_INET6"):
        f.v.setdefault("ip_version", 4 if text == "FWP_AF_INET" else 6)
    if text:
        f.extra.append(("header/addressFamily", _TEXTS.get(text, text)))


_HEADER_READERS: dict[str, Callable[[XmlNode, str, _Fields], None]] = {
    "timeStamp": _h_time, "flags": _h_flags, "ipVersion": _h_skip, "ipProtocol": _h_protocol,
    "localPort": _h_local_port, "remotePort": _h_remote_port, "scopeId": _h_scope, "appId": _h_app,
    "userId": _h_user, "packageSid": _h_package, "effectiveName": _h_name, "addressFamily": _h_family,
}


def _type_block(b: XmlNode, f: _Fields) -> None:
    v = f.v
    where = b.tag
    for c in b.children:
        text = c.text.strip()
        tag = c.tag
        if tag not in _TYPE_READ or not text:
            _flat_extra(c, where, f.extra)
            continue
        field = f"{where}/{tag}"
        if tag == "filterId":
            fid = parse_uint(c, field, text, 64)
            v["filter_id"] = fid or None
        elif tag == "layerId":
            v["layer_id"] = parse_uint(c, field, text, 16)
        elif tag == "reauthReason":
            v["reauth_reason"] = parse_uint(c, field, text, 32)
        elif tag == "originalProfile":
            v["original_profile"] = parse_uint(c, field, text, 32)
        elif tag == "currentProfile":
            v["current_profile"] = parse_uint(c, field, text, 32)
        elif tag == "msFwpDirection":
            d = _DIRECTIONS.get(text) or _DIRECTIONS.get(str(parse_uint(c, field, text, 32)))
            if d is None:
                raise FieldError(c, field, f"unknown direction {text!r}")
            v["direction"] = d
        elif tag == "isLoopback":
            v["is_loopback"] = parse_bool(c, field, text)


#: terminatingFiltersInfo items already read: (filterId text, subLayer, actionType) -> item.
_TERMS: dict[tuple[str, str, str], ObservedTerminating] = {}


def _internal(n: XmlNode, f: _Fields, notes: list[str]) -> None:
    v = f.v
    for c in n.children:
        tag = c.tag
        text = c.text.strip()
        if tag == "capabilities":
            sids: list[str] = []
            for it in c.children:
                name = it.text.strip()
                sid = CAPABILITY_SIDS.get(name)
                if sid is None:
                    if name:
                        f.extra.append(("internalFields/capabilities/item", name))
                        notes.append(f"capability {name} has no known SID: kept in extra, not in capabilities")
                elif sid not in sids:
                    sids.append(sid)
            v["capabilities"] = tuple(sids)
        elif tag == "terminatingFiltersInfo":
            terms: list[ObservedTerminating] = []
            for it in c.children:
                fid_node = it.child("filterId")
                if fid_node is None:
                    raise FieldError(it, "internalFields/terminatingFiltersInfo/item/filterId", "missing")
                key = (fid_node.text, it.child_text("subLayer") or "", it.child_text("actionType") or "")
                term = _TERMS.get(key)
                if term is None:  # one object per distinct item (immutable, shared)
                    fid = parse_uint(fid_node, "terminatingFiltersInfo/item/filterId", fid_node.text, 64)
                    term = ObservedTerminating(fid, key[1], key[2])
                    if len(_TERMS) >= 1 << 14:
                        _TERMS.clear()
                    _TERMS[key] = term
                terms.append(term)
            v["terminating"] = tuple(terms)
        elif tag == "filterOrigin":
            if text:
                v["filter_origin"] = text
        elif tag == "interfaceIndex":
            if text:
                v["interface_index"] = parse_uint(c, "internalFields/interfaceIndex", text, 32)
        else:
            _flat_extra(c, "internalFields", f.extra)


def read_netevent(node: XmlNode, index: int, notes: list[str]) -> Observation:
    """Convert one event element. Raises :class:`FieldError` for an unreadable field."""
    f = _Fields()
    etype: str | None = None
    for c in node.children:
        if c.tag == "header":
            _header(c, f)
        elif c.tag == "type":
            t = c.text.strip()
            if not t:
                raise FieldError(c, "type", "empty event type")
            etype = t.removeprefix("FWPM_NET_EVENT_TYPE_")
        elif c.tag == "internalFields":
            _internal(c, f, notes)
        elif c.children and c.tag not in ("header", "internalFields"):
            _type_block(c, f)
        else:
            _flat_extra(c, "", f.extra)
    if etype is None:
        raise FieldError(node, "type", "the event has no <type>")
    v = f.v
    action = OBS_BLOCK if etype in _BLOCK_TYPES else OBS_PERMIT if etype in _PERMIT_TYPES else None

    vals: dict[str, Any] = v  # the readers above typed each value
    get = vals.get
    # Positional, in Observation's field order (_OBSERVATION_ORDER below checks it): one call
    # per event, without a keyword dict.
    return Observation(
        index, SOURCE_NETEVENT, node.line, etype, get("time"), get("time_ns"), get("ip_version"),
        get("protocol"), get("local_addr"), get("remote_addr"), get("local_port"), get("remote_port"),
        get("scope_id"), get("app_id"), get("app_id_from"), get("user_id"), get("package_sid"),
        get("capabilities"), get("layer_id"), get("filter_id"), action, get("direction"),
        get("reauth_reason"), get("original_profile"), get("current_profile"), get("is_loopback"),
        get("interface_index"), get("filter_origin"), get("flags"), get("terminating") or (),
        get("effective_name"), None, None, tuple(f.extra),
    )


#: Observation's fields in the order read_netevent passes them.
_OBSERVATION_ORDER = (
    "index", "source", "line", "type", "time", "time_ns", "ip_version", "protocol", "local_addr",
    "remote_addr", "local_port", "remote_port", "scope_id", "app_id", "app_id_from", "user_id",
    "package_sid", "capabilities", "layer_id", "filter_id", "action", "direction", "reauth_reason",
    "original_profile", "current_profile", "is_loopback", "interface_index", "filter_origin", "flags",
    "terminating", "effective_name", "icmp_type", "icmp_code", "extra",
)
if tuple(f.name for f in dataclass_fields(Observation)) != _OBSERVATION_ORDER:  # pragma: no cover
    raise ImportError("core.evidence.Observation changed its fields: update read_netevent")
