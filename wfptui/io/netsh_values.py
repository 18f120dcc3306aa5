"""Values of a netsh XML dump (wfp-model.md §5.7): integers, addresses, masks, ranges, blobs,
SIDs, security descriptors, weights, filter flags and whole conditions.

:class:`ValueReader` holds an import's diagnostics (warnings and errors, each at its
element's line and column) and reads every value element; ``io.netsh_dump`` builds the
policy structure on top of it. A malformed value raises :class:`BadValue` (→ an error);
a well-formed construct the importer does not understand raises :class:`Unsupported`
(→ a warning, the filter is not imported). Every condition is checked to survive the
policy file: written by ``io.policy_writer.condition_toml`` (the one writer's rule) and
read back by ``core.values.parse_value`` to the same value and type.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from wfptui.core.datatypes import DataType
from wfptui.core.model import (
    EMPTY,
    AddrMask,
    Blob,
    Condition,
    FilterFlag,
    MatchType,
    Range,
    SecurityDescriptor,
    SourceLoc,
    Value,
    Weight,
)
from wfptui.io.errors import Diagnostic
from wfptui.io.safe_xml import XmlNode

__all__ = ["BadValue", "Unsupported", "ValueReader", "ident_of", "norm_guid", "parse_int", "slug"]

# ----------------------------------------------------------------------------- helpers

_SLUG_RE = re.compile(r"[^a-z0-9]+")
_GUID_RE = re.compile(r"^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$")
HEX_RE = re.compile(r"^(?:[0-9a-fA-F]{2})*$")


def slug(text: str, limit: int = 48) -> str:
    """``"Port Scanning Prevention Filter"`` → ``"port-scanning-prevention-filter"``."""
    s = _SLUG_RE.sub("-", text.lower()).strip("-")
    if len(s) > limit:
        s = s[:limit].rstrip("-")
    return s


def norm_guid(text: str) -> str | None:
    """Lower-case GUID without braces, or None when ``text`` is not a GUID."""
    m = _GUID_RE.match(text.strip())
    return m.group(1).lower() if m else None


def ident_of(text: str) -> str:
    """A key as printed: GUIDs normalised (lower case, no braces), names unchanged."""
    g = norm_guid(text)
    return g if g is not None else text.strip()


_INT_TYPES: dict[str, tuple[DataType, int, bool]] = {
    "uint8": (DataType.FWP_UINT8, 8, False),
    "uint16": (DataType.FWP_UINT16, 16, False),
    "uint32": (DataType.FWP_UINT32, 32, False),
    "uint64": (DataType.FWP_UINT64, 64, False),
    "int8": (DataType.FWP_INT8, 8, True),
    "int16": (DataType.FWP_INT16, 16, True),
    "int32": (DataType.FWP_INT32, 32, True),
    "int64": (DataType.FWP_INT64, 64, True),
}

#: FWP_DATA_TYPE name → the element netsh prints the value in.
_TYPE_ELEMENT: dict[str, str] = {
    "FWP_UINT8": "uint8",
    "FWP_UINT16": "uint16",
    "FWP_UINT32": "uint32",
    "FWP_UINT64": "uint64",
    "FWP_INT8": "int8",
    "FWP_INT16": "int16",
    "FWP_INT32": "int32",
    "FWP_INT64": "int64",
    "FWP_BYTE_ARRAY16_TYPE": "byteArray16",
    "FWP_BYTE_ARRAY6_TYPE": "byteArray6",
    "FWP_BYTE_BLOB_TYPE": "byteBlob",
    "FWP_SID": "sid",
    "FWP_SECURITY_DESCRIPTOR_TYPE": "sd",
    "FWP_UNICODE_STRING_TYPE": "unicodeString",
    "FWP_V4_ADDR_MASK": "v4AddrMask",
    "FWP_V6_ADDR_MASK": "v6AddrMask",
    "FWP_RANGE_TYPE": "rangeValue",
}

#: Fields whose byte blob is an application id: the value is the NT path string (§4.2).

_APP_ID_FIELDS = frozenset({"ALE_APP_ID", "ALE_ORIGINAL_APP_ID"})

#: Filter flags netsh prints that the model has no bit for and that do not change
#: classification (written as a comment, counted in the header).
_UNMODELLED_FILTER_FLAGS = frozenset({"HAS_FILTER_ORIGIN"})


class BadValue(Exception):
    """A malformed value inside an otherwise well-formed element (→ error diagnostic)."""

    def __init__(self, node: XmlNode, message: str) -> None:
        super().__init__(message)
        self.node = node
        self.message = message


class Unsupported(Exception):
    """A well-formed construct the importer does not understand (→ warning, filter dropped)."""

    def __init__(self, node: XmlNode, message: str) -> None:
        super().__init__(message)
        self.node = node
        self.message = message


def parse_int(node: XmlNode, text: str, bits: int, signed: bool = False) -> int:
    t = text.strip()
    if len(t.lstrip("+-").lower().removeprefix("0x").lstrip("0")) > 24:
        # Longer than any 64-bit value in any base: refused before int() (quadratic, and
        # Python's 4300-digit limit would give a confusing message).
        raise BadValue(node, f"<{node.tag}>: a number of {len(t)} characters is out of range for a "
                         f"{bits}-bit integer")
    try:
        if t.lower().startswith(("0x", "-0x")):
            v = int(t, 16)
        else:
            if not t or not (t.isdigit() or (t[0] in "+-" and t[1:].isdigit())):
                raise ValueError(t)
            v = int(t, 10)
    except ValueError:
        raise BadValue(node, f"<{node.tag}>: {text.strip()!r} is not an integer") from None
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if not lo <= v <= hi:
        raise BadValue(node, f"<{node.tag}>: {v} is out of range for a {bits}-bit {'signed' if signed else 'unsigned'} integer")
    return v


def parse_ipv4(node: XmlNode, text: str) -> int:
    parts = text.strip().split(".")
    if len(parts) == 4 and all(p.isdigit() and len(p) <= 3 and (p == "0" or p[0] != "0") for p in parts):
        a, b, c, d = (int(p) for p in parts)
        if a < 256 and b < 256 and c < 256 and d < 256:
            return (a << 24) | (b << 16) | (c << 8) | d
    try:
        return int(ipaddress.IPv4Address(text.strip()))
    except ValueError:
        raise BadValue(node, f"<{node.tag}>: {text.strip()!r} is not an IPv4 address") from None


def parse_ipv6(node: XmlNode, text: str) -> int:
    t = text.strip()
    try:
        return int(ipaddress.IPv6Address(t))
    except ValueError:
        compact = t.replace(" ", "").replace("-", "").replace(":", "")
        if len(compact) == 32 and HEX_RE.match(compact):
            return int(compact, 16)
        raise BadValue(node, f"<{node.tag}>: {t!r} is not an IPv6 address") from None


def parse_uint32_or_ipv4(node: XmlNode, text: str) -> int:
    """netsh prints IPv4 addresses dotted inside ``<uint32>`` (§5.7)."""
    t = text.strip()
    if "." in t:
        return parse_ipv4(node, t)
    return parse_int(node, t, 32)


def mask_prefix(node: XmlNode, mask: int) -> int:
    prefix = bin(mask).count("1")
    if mask != ((0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF):
        raise BadValue(node, f"<{node.tag}>: mask {ipaddress.IPv4Address(mask)} is not a contiguous prefix")
    return prefix


class ValueReader:
    """An import's diagnostics and the readers of value elements (module docstring)."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.warnings: list[Diagnostic] = []
        self.errors: list[Diagnostic] = []
        self.unmodelled_flags: dict[str, int] = {}
        self.cond_notes: list[str] = []  # notes of the filter being read
        self.writable_memo: dict[tuple[Any, ...], tuple[Value, str | None]] = {}
        self.sddl_memo: dict[str, Value] = {}

    # -- diagnostics

    def warn(self, node: XmlNode, message: str) -> None:
        self.warnings.append(Diagnostic(self.filename, node.line, node.col, message))

    def error(self, node: XmlNode, message: str) -> None:
        self.errors.append(Diagnostic(self.filename, node.line, node.col, message))

    def check_children(self, node: XmlNode, known: frozenset[str], where: str) -> None:
        for c in node.children:
            if c.tag not in known:
                self.warn(c, f"unknown element <{c.tag}> in {where} ignored")

    def check_count(self, node: XmlNode) -> None:
        """A list's ``numItems`` must match its ``<item>`` children (a cut or edited dump)."""
        declared = node.attrs.get("numItems")
        if declared is None:
            return
        actual = sum(1 for c in node.children if c.tag == "item")
        if not declared.isdigit() or int(declared) != actual:
            self.warn(node, f"<{node.tag} numItems=\"{declared}\"> holds {actual} items")

    def check_leaf(self, node: XmlNode, where: str) -> None:
        for c in node.children:
            self.warn(c, f"unknown element <{c.tag}> inside <{node.tag}> of {where} ignored")

    # -- values

    def read_weight(self, w: XmlNode, where: str) -> Weight:
        self.check_children(w, frozenset({"type", "uint8", "uint64"}), "weight")
        t = (w.child_text("type") or "").upper()
        if t == "FWP_EMPTY" or (not t and not w.children):
            return Weight(DataType.FWP_EMPTY)
        if t == "FWP_UINT8":
            v = w.child("uint8")
            if v is None:
                raise BadValue(w, f"{where}: FWP_UINT8 weight without <uint8>")
            n = parse_int(v, v.text, 8)
            if n > 15:
                raise BadValue(v, f"{where}: FWP_UINT8 weight {n} is not a weight range 0..15")
            return Weight(DataType.FWP_UINT8, n)
        if t == "FWP_UINT64":
            v = w.child("uint64")
            if v is None:
                raise BadValue(w, f"{where}: FWP_UINT64 weight without <uint64>")
            return Weight(DataType.FWP_UINT64, parse_int(v, v.text, 64))
        raise Unsupported(w, f"{where}: unknown weight type {t!r}")

    def read_filter_flag(self, f: XmlNode, where: str, notes: list[str]) -> int:
        text = f.text.strip()
        name = text.upper().removeprefix("FWPM_FILTER_FLAG_")
        if name in FilterFlag.__members__:
            return int(FilterFlag[name])
        if name in _UNMODELLED_FILTER_FLAGS:
            self.unmodelled_flags[text] = self.unmodelled_flags.get(text, 0) + 1
            notes.append(f"flag {text} (no effect on classification) not written")
            return 0
        if re.fullmatch(r"(0x)?[0-9a-fA-F]{1,8}", text):
            value = int(text, 16)
            known = 0
            for m in FilterFlag:
                known |= int(m)
            if value & ~known:
                self.warn(f, f"{where}: flag bits {value & ~known:#x} have no FWPM_FILTER_FLAG_ name: ignored")
            return value & known
        self.warn(f, f"{where}: unknown filter flag {text!r} ignored")
        notes.append(f"unknown flag {text} not written")
        return 0

    def read_condition(self, ci: XmlNode, layer: Any, where: str) -> Condition:
        from wfptui.core.fields import get_field

        self.check_children(ci, frozenset({"fieldKey", "matchType", "conditionValue"}), "a condition")
        fk = ci.child_text("fieldKey")
        if not fk:
            raise BadValue(ci, f"{where}: condition without <fieldKey>")
        try:
            fdef = get_field(fk)
        except KeyError:
            raise Unsupported(ci.child("fieldKey") or ci, f"{where}: unknown condition field {fk!r}") from None
        fname = fdef.name
        if layer.field(fname) is None:
            raise Unsupported(ci, f"{where}: condition field {fname} is not available at layer {layer.name}")
        mt = (ci.child_text("matchType") or "").upper()
        try:
            match = MatchType[mt if mt.startswith("FWP_MATCH_") else "FWP_MATCH_" + mt]
        except KeyError:
            raise Unsupported(ci.child("matchType") or ci, f"{where}: unknown match type {mt!r}") from None
        cv = ci.child("conditionValue")
        if cv is None:
            raise BadValue(ci, f"{where}: condition on {fname} without <conditionValue>")
        value, dtype = self.read_value(cv, fname, where)
        value, note = self.check_writable(ci, fname, layer, match, value, dtype, where)
        if note is not None:
            self.cond_notes.append(note)
        return Condition(fname, match, value, dtype, SourceLoc(self.filename, ci.line, ci.col))

    def check_writable(
        self, node: XmlNode, fname: str, layer: Any, match: MatchType, value: Value, dtype: DataType, where: str
    ) -> tuple[Value, str | None]:
        """The condition must survive policy file → loader unchanged (§3): written as the one
        writer writes it (``io.policy_writer.condition_toml``), it must read back by
        ``core.values.parse_value`` to the same value and type. Returns the value to keep and
        an optional note for the filter's comment.

        The writer's one fallback -- an allow-only security descriptor whose SDDL the loader
        refuses is written as the SIDs it grants FWP_ACTRL_MATCH_FILTER to (the same access
        check, §4.2) -- reads back as the descriptor those SIDs make: that one is kept.
        """
        memo_key = (fname, layer.name, match, value, dtype)
        hit = self.writable_memo.get(memo_key)
        if hit is not None:
            return hit
        result = self._check_writable(node, fname, layer, match, value, dtype, where)
        self.writable_memo[memo_key] = result
        return result

    def _check_writable(
        self, node: XmlNode, fname: str, layer: Any, match: MatchType, value: Value, dtype: DataType, where: str
    ) -> tuple[Value, str | None]:
        from wfptui.core.values import parse_value
        from wfptui.io.policy_writer import condition_toml

        try:
            raw = condition_toml(fname, layer, match, value, dtype)
            back = parse_value(fname, layer, match, raw)
        except (ValueError, KeyError) as e:
            raise Unsupported(
                node, f"{where}: condition {fname} {match.short} {dtype.name} cannot be written to a policy file: {e}"
            ) from None
        if back == (value, dtype):
            return value, None
        if isinstance(value, SecurityDescriptor) and isinstance(raw, list) and back[1] == dtype:
            note = (
                f"{fname}: the SDDL ({len(value.sddl)} characters) is longer than the policy loader accepts; "
                f"written as the {len(raw)} SIDs it grants (same access check, §4.2)"
            )
            return back[0], note
        raise Unsupported(
            node,
            f"{where}: condition {fname} {match.short} {dtype.name} would read back as {back[1].name} "
            "(the policy file cannot express it)",
        )

    def read_value(self, cv: XmlNode, fname: str, where: str, in_range: bool = False) -> tuple[Value, DataType]:
        """``<conditionValue>`` / ``<valueLow>`` / ``<valueHigh>``: ``{type, <value element>}``."""
        tname = (cv.child_text("type") or "").upper()
        vals = [c for c in cv.children if c.tag != "type"]
        if tname == "FWP_EMPTY":
            for extra in vals:
                self.warn(extra, f"{where}: unexpected <{extra.tag}> in an FWP_EMPTY value ignored")
            return EMPTY, DataType.FWP_EMPTY
        if not vals:
            raise BadValue(cv, f"{where}: {fname}: value of type {tname or '?'} without a value element")
        v = vals[0]
        for extra in vals[1:]:
            self.warn(extra, f"{where}: extra element <{extra.tag}> in a condition value ignored")
        expected = _TYPE_ELEMENT.get(tname)
        if expected is None:
            raise Unsupported(cv, f"{where}: {fname}: value type {tname or '(none)'} is not supported")
        if v.tag != expected:
            raise Unsupported(v, f"{where}: {fname}: element <{v.tag}> for a value of type {tname} is not understood")
        tag = v.tag
        if tag in _INT_TYPES:
            self.check_leaf(v, where)
            dtype, bits, signed = _INT_TYPES[tag]
            if tag == "uint32":
                return parse_uint32_or_ipv4(v, v.text), dtype
            return parse_int(v, v.text, bits, signed), dtype
        if tag == "byteArray16":
            self.check_leaf(v, where)
            return parse_ipv6(v, v.text), DataType.FWP_BYTE_ARRAY16_TYPE
        if tag == "byteArray6":
            self.check_leaf(v, where)
            t = v.text.strip().replace("-", "").replace(":", "")
            if len(t) != 12 or not HEX_RE.match(t):
                raise BadValue(v, f"{where}: {v.text.strip()!r} is not a 6-byte MAC address")
            return int(t, 16), DataType.FWP_BYTE_ARRAY6_TYPE
        if tag == "sid":
            self.check_leaf(v, where)
            t = v.text.strip()
            from wfptui.core.sddl import canonical_sid

            try:
                return canonical_sid(t), DataType.FWP_SID
            except ValueError as e:
                raise BadValue(v, f"{where}: {e}") from None
        if tag == "sd":
            self.check_leaf(v, where)
            from wfptui.core.sddl import parse_sddl

            t = v.text.strip()
            cached = self.sddl_memo.get(t)
            if cached is not None:
                return cached, DataType.FWP_SECURITY_DESCRIPTOR_TYPE
            try:
                sd = parse_sddl(t)
                self.sddl_memo[t] = sd
                return sd, DataType.FWP_SECURITY_DESCRIPTOR_TYPE
            except (ValueError, KeyError) as e:
                raise BadValue(v, f"{where}: bad SDDL {t!r}: {e}") from None
        if tag == "unicodeString":
            self.check_leaf(v, where)
            return v.text, DataType.FWP_UNICODE_STRING_TYPE
        if tag == "byteBlob":
            return self.read_blob(v, fname, where), DataType.FWP_BYTE_BLOB_TYPE
        if tag == "v4AddrMask":
            self.check_children(v, frozenset({"addr", "mask"}), "v4AddrMask")
            a, m = v.child("addr"), v.child("mask")
            if a is None or m is None:
                raise BadValue(v, f"{where}: <v4AddrMask> needs <addr> and <mask>")
            addr = parse_uint32_or_ipv4(a, a.text)
            prefix = mask_prefix(m, parse_uint32_or_ipv4(m, m.text))
            return AddrMask(addr, prefix, 32), DataType.FWP_V4_ADDR_MASK
        if tag == "v6AddrMask":
            self.check_children(v, frozenset({"addr", "prefixLength"}), "v6AddrMask")
            a, pl = v.child("addr"), v.child("prefixLength")
            if a is None or pl is None:
                raise BadValue(v, f"{where}: <v6AddrMask> needs <addr> and <prefixLength>")
            prefix = parse_int(pl, pl.text, 8)
            if prefix > 128:
                raise BadValue(pl, f"{where}: IPv6 prefix length {prefix} > 128")
            return AddrMask(parse_ipv6(a, a.text), prefix, 128), DataType.FWP_V6_ADDR_MASK
        if tag == "rangeValue":
            if in_range:
                raise BadValue(v, f"{where}: a range inside a range")
            self.check_children(v, frozenset({"valueLow", "valueHigh"}), "rangeValue")
            lo_n, hi_n = v.child("valueLow"), v.child("valueHigh")
            if lo_n is None or hi_n is None:
                raise BadValue(v, f"{where}: <rangeValue> needs <valueLow> and <valueHigh>")
            lo, lo_t = self.read_value(lo_n, fname, where, in_range=True)
            hi, hi_t = self.read_value(hi_n, fname, where, in_range=True)
            if lo_t != hi_t:
                raise BadValue(v, f"{where}: range bounds of different types ({lo_t.name}, {hi_t.name})")
            return Range(lo, hi), DataType.FWP_RANGE_TYPE
        raise Unsupported(v, f"{where}: value element <{tag}> is not understood")  # pragma: no cover

    def read_blob(self, v: XmlNode, fname: str, where: str) -> Value:
        self.check_children(v, frozenset({"data", "asString"}), "byteBlob")
        data_hex = (v.child_text("data") or "").replace(" ", "")
        as_string = v.child_text("asString")
        if not HEX_RE.match(data_hex):
            raise BadValue(v.child("data") or v, f"{where}: byteBlob data is not hex")
        raw = bytes.fromhex(data_hex)
        decoded: str | None = None
        if len(raw) % 2 == 0:
            try:
                decoded = raw.decode("utf-16-le").rstrip("\x00")
            except UnicodeDecodeError:
                decoded = None
        if fname in _APP_ID_FIELDS:
            text = as_string if as_string else decoded
            if text is None:
                raise BadValue(v, f"{where}: {fname} blob is neither a UTF-16 path nor has <asString>")
            if decoded is not None and as_string and decoded.lower() != as_string.lower():
                self.warn(v, f"{where}: {fname} <asString> differs from its <data>; <asString> is used")
            return self.app_id(v, text, where)
        if decoded is not None and decoded.isprintable() and decoded and (as_string is None or as_string == decoded):
            return decoded
        return Blob(raw)

    def app_id(self, node: XmlNode, text: str, where: str) -> str:
        from wfptui.core.values import normalize_app_id

        try:
            return normalize_app_id(text)
        except ValueError as e:
            raise Unsupported(node, f"{where}: application id {text!r}: {e}") from None
