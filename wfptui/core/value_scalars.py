"""Scalar value parsing for ``wfptui.core.values``: addresses, app ids, integers, SIDs, tokens.

The per-type parsers ``parse_value`` dispatches to, and the helpers they share
(``field_type``, range checks, error wording). ``wfptui.core.values`` documents the accepted
spellings and re-exports the public names here; import them from there.

This module reads no files and imports only the standard library and ``wfptui.core``.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING

from wfptui.core import sddl
from wfptui.core.datatypes import INT_BITS, UINT_BITS, DataType
from wfptui.core.fields import (
    FLAG_ENUMS,
    IP_PROTOCOLS,
    UnknownNameError,
    get_field,
    parse_flag,
)
from wfptui.core.model import (
    AddrMask,
    Blob,
    MatchType,
    SecurityDescriptor,
    Token,
    Value,
)

if TYPE_CHECKING:
    from wfptui.core.layers import Layer


__all__ = [
    "APP_ID_FIELDS",
    "FLAG_MATCHES",
    "ORDER_MATCHES",
    "SORTABLE",
    "STRING_TYPES",
    "TOKEN_TYPES",
    "ValueParseError",
    "check_family",
    "check_int",
    "describe",
    "expect_str",
    "field_type",
    "format_address",
    "format_mac",
    "int_text",
    "normalize_app_id",
    "parse_addr",
    "parse_address",
    "parse_ba16",
    "parse_blob_hex",
    "parse_mac",
    "parse_network",
    "parse_sd",
    "parse_sid_value",
    "parse_string",
    "parse_token",
    "parse_uint",
    "short",
]

D = DataType
M = MatchType


class ValueParseError(ValueError):
    """A value that does not fit its field, type or match type."""


#: Blob fields that hold an application id (lower-cased NT path; §4.2).
APP_ID_FIELDS = frozenset({"ALE_APP_ID", "ALE_ORIGINAL_APP_ID"})
#: Fields whose values are tokens (conditions: security descriptors).
TOKEN_TYPES = frozenset({D.FWP_TOKEN_INFORMATION_TYPE, D.FWP_TOKEN_ACCESS_INFORMATION_TYPE})
STRING_TYPES = frozenset({D.FWP_BYTE_BLOB_TYPE, D.FWP_UNICODE_STRING_TYPE})
SORTABLE = frozenset(
    {*UINT_BITS, *INT_BITS, D.FWP_BYTE_ARRAY16_TYPE, D.FWP_BYTE_BLOB_TYPE, D.FWP_UNICODE_STRING_TYPE}
)
ORDER_MATCHES = frozenset(
    {M.FWP_MATCH_GREATER, M.FWP_MATCH_LESS, M.FWP_MATCH_GREATER_OR_EQUAL, M.FWP_MATCH_LESS_OR_EQUAL}
)
FLAG_MATCHES = frozenset({M.FWP_MATCH_FLAGS_ALL_SET, M.FWP_MATCH_FLAGS_ANY_SET, M.FWP_MATCH_FLAGS_NONE_SET})
_MAX_TEXT = 1 << 16  # longest accepted string value (Windows paths stop at 32767)

_DIRECTIONS = {"outbound": 0, "inbound": 1, "out": 0, "in": 1}


# ----------------------------------------------------------------------------- addresses


def parse_address(text: str) -> tuple[int, int]:
    """``"10.0.0.1"`` → (0x0A000001, 32); ``"fd00::1"`` → (int, 128). ValueParseError otherwise."""
    t = text.strip()
    if t.startswith("[") and t.endswith("]"):
        t = t[1:-1]
    if "%" in t:
        raise ValueParseError(f"address {text!r} has a zone id; write the address alone")
    try:
        addr = ipaddress.ip_address(t)
    except ValueError:
        raise ValueParseError(f"not an IP address: {text!r}") from None
    return int(addr), addr.max_prefixlen


def parse_network(text: str) -> AddrMask:
    """``"10.0.0.0/8"`` → AddrMask(addr, 8, 32); host bits are kept as written."""
    t = text.strip()
    addr_text, _, plen_text = t.partition("/")
    value, bits = parse_address(addr_text)
    if not plen_text.strip().isdigit():
        raise ValueParseError(f"bad prefix length in {text!r}")
    prefix = int(plen_text)
    if prefix > bits:
        raise ValueParseError(
            f"prefix length /{prefix} is too long for an IPv{4 if bits == 32 else 6} address in {text!r}"
        )
    return AddrMask(addr=value, prefix=prefix, bits=bits)


def format_address(value: int, bits: int) -> str:
    """Dotted IPv4 (bits 32) or compressed IPv6 (bits 128) text; an IPv4-mapped IPv6 address
    (::ffff:0:0/96, RFC 4291 §2.5.5.2) as ``::ffff:10.0.0.2``, as Windows writes it (Python
    before 3.13 writes ``::ffff:a00:2``)."""
    if bits == 32:
        return str(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    value &= (1 << 128) - 1
    if value >> 32 == 0xFFFF:
        return "::ffff:" + str(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    return str(ipaddress.IPv6Address(value))


def format_mac(value: int) -> str:
    return "-".join(f"{(value >> (8 * (5 - k))) & 0xFF:02x}" for k in range(6))


def parse_mac(text: str) -> int:
    t = text.strip()
    parts = re.split(r"[-:]", t)
    if len(parts) != 6 or not all(re.fullmatch(r"[0-9A-Fa-f]{1,2}", p) for p in parts):
        raise ValueParseError(f"not a MAC address: {text!r} (expected 00-11-22-33-44-55)")
    v = 0
    for p in parts:
        v = (v << 8) | int(p, 16)
    return v


# ----------------------------------------------------------------------------- app ids

_ENV = {
    "%SYSTEMROOT%": "C:\\Windows",
    "%WINDIR%": "C:\\Windows",
    "%PROGRAMFILES%": "C:\\Program Files",
    "%PROGRAMFILES(X86)%": "C:\\Program Files (x86)",
    "%PROGRAMDATA%": "C:\\ProgramData",
    "%SYSTEMDRIVE%": "C:",
}
_ENV_RE = re.compile(r"^%[A-Za-z0-9_()]+%")


def normalize_app_id(path: str) -> str:
    """The app id WFP compares for ``path`` (FwpmGetAppIdFromFileName0; module docstring).

    Idempotent: ``normalize_app_id(normalize_app_id(p)) == normalize_app_id(p)``.
    """
    p = path.strip()
    if not p:
        raise ValueParseError("empty application path")
    if p.lower() == "system":
        return "System"
    p = p.replace("/", "\\")

    def env(m: re.Match[str]) -> str:
        v = _ENV.get(m.group(0).upper())
        if v is None:
            raise ValueParseError(f"unknown environment variable {m.group(0)} in application path {path!r}")
        return v

    if p.startswith("%"):  # %SystemRoot%\x.exe, as Windows Firewall rules write them
        p = _ENV_RE.sub(env, p, count=1)
    for prefix in ("\\\\?\\", "\\??\\", "\\\\.\\"):
        if p.startswith(prefix):
            p = p[len(prefix) :]
            break
    low = p.lower()
    if low.startswith("unc\\"):
        return "\\device\\mup\\" + low[4:]
    if low.startswith("\\device\\"):
        return low
    if low.startswith("\\\\"):
        return "\\device\\mup\\" + low[2:]
    m = re.match(r"^([a-z]):(\\.*)?$", low)
    if m:
        volume = ord(m.group(1)) - ord("a") + 1
        rest = m.group(2) or "\\"
        return f"\\device\\harddiskvolume{volume}{rest}"
    raise ValueParseError(
        f"application path {path!r} is not absolute (write C:\\dir\\app.exe, \\device\\harddiskvolume3\\..., or System)"
    )


# ----------------------------------------------------------------------------- helpers


def field_type(field: str, layer: Layer | None) -> tuple[str, DataType, str, bool]:
    """(canonical field name, dtype, kind, exact) of ``field`` at ``layer``.

    ``exact`` is False when the type comes from the catalogue (no layer, or the layer
    lacks the field): address fields then accept both families.
    """
    cf = get_field(field)
    if layer is not None:
        lf = layer.field(cf.name)
        if lf is not None:
            return cf.name, lf.dtype, lf.kind, True
    return cf.name, cf.dtype, cf.kind, False


def _type_name(dtype: DataType) -> str:
    return dtype.name


def _uint_range(dtype: DataType) -> tuple[int, int]:
    if dtype in UINT_BITS:
        return 0, (1 << UINT_BITS[dtype]) - 1
    bits = INT_BITS[dtype]
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def check_int(value: int, dtype: DataType) -> int:
    lo, hi = _uint_range(dtype)
    if not lo <= value <= hi:
        raise ValueParseError(f"value {value} does not fit {_type_name(dtype)} ({lo}..{hi})")
    return value


def int_text(text: str) -> int | None:
    """``"80"``, ``"0x50"``, ``"-5"``, ``"0b101"``, ``"1_000"`` as an int; None if not a number."""
    t = text.strip()
    if not t or len(t) > 200:
        return None
    try:
        return int(t, 0)
    except ValueError:
        pass
    if re.fullmatch(r"[+-]?0*[0-9]+", t):  # int(…, 0) rejects leading zeros ("080")
        return int(t, 10)
    return None


def short(text: str) -> str:
    t = repr(text)
    return t if len(t) <= 80 else t[:77] + "...'"


def expect_str(raw: object, what: str) -> str:
    if isinstance(raw, str):
        if len(raw) > _MAX_TEXT:
            raise ValueParseError(f"{what} is too long ({len(raw)} characters)")
        return raw
    raise ValueParseError(f"expected {what}, got {describe(raw)}")


def describe(raw: object) -> str:
    if isinstance(raw, bool):
        return f"the boolean {str(raw).lower()}"
    if isinstance(raw, int):
        return f"the integer {raw}"
    if isinstance(raw, str):
        return f"the string {short(raw)}"
    if isinstance(raw, list | tuple):
        return f"a list of {len(raw)}"
    if isinstance(raw, dict):
        return "a table"
    return type(raw).__name__


# ----------------------------------------------------------------------------- scalar parsers


def parse_uint(name: str, dtype: DataType, kind: str, raw: object) -> int:
    """An unsigned/signed integer field value (no addresses)."""
    if isinstance(raw, bool):
        raise ValueParseError(f"{name} takes a number, not {describe(raw)}")
    flag_field = name in FLAG_ENUMS or kind == "flags"
    if isinstance(raw, int):
        return check_int(raw, dtype)
    if isinstance(raw, list | tuple) and flag_field:
        if not raw:
            raise ValueParseError(f"{name}: empty list of flags")
        v = 0
        for item in raw:
            v |= parse_uint(name, dtype, kind, item)
        return check_int(v, dtype)
    if isinstance(raw, str):
        if len(raw) > _MAX_TEXT:
            raise ValueParseError(f"{name}: value is too long")
        n = int_text(raw)
        if n is not None:
            return check_int(n, dtype)
        t = raw.strip().lower()
        if name == "IP_PROTOCOL":
            proto = t.removeprefix("ipproto_")
            if proto in IP_PROTOCOLS:
                return IP_PROTOCOLS[proto]
            raise ValueParseError(
                f"unknown protocol {short(raw)} for IP_PROTOCOL (tcp, udp, icmp, icmpv6 ... or a number)"
            )
        if name == "DIRECTION":
            d = t.removeprefix("fwp_direction_")
            if d in _DIRECTIONS:
                return _DIRECTIONS[d]
            raise ValueParseError(f"unknown direction {short(raw)} (inbound, outbound, 0 or 1)")
        if name in FLAG_ENUMS:
            try:
                return check_int(parse_flag(name, raw), dtype)
            except UnknownNameError as exc:
                raise ValueParseError(f"{name}: {exc}") from None
            except ValueError as exc:
                raise ValueParseError(f"{name}: {exc}") from None
        raise ValueParseError(f"{name} takes a number ({_type_name(dtype)}), not {describe(raw)}")
    raise ValueParseError(f"{name} takes a number ({_type_name(dtype)}), not {describe(raw)}")


def parse_addr(
    name: str, dtype: DataType, exact: bool, raw: object, allow_mask: bool
) -> tuple[Value, DataType]:
    """An address field value: int, address text, or (allow_mask) CIDR."""
    want_bits: int | None = (32 if dtype == D.FWP_UINT32 else 128) if exact else None
    if isinstance(raw, bool):
        raise ValueParseError(f"{name} takes an address, not {describe(raw)}")
    if isinstance(raw, int):
        bits = want_bits or (32 if 0 <= raw <= 0xFFFFFFFF else 128)
        if not 0 <= raw < (1 << bits):
            raise ValueParseError(f"value {raw} is not an IPv{4 if bits == 32 else 6} address")
        return raw, (D.FWP_UINT32 if bits == 32 else D.FWP_BYTE_ARRAY16_TYPE)
    text = expect_str(raw, f"an address for {name}")
    n = int_text(text)
    if n is not None and not re.fullmatch(r"\s*\d+\.\d+.*", text):
        return parse_addr(name, dtype, exact, n, allow_mask)
    if "/" in text:
        if not allow_mask:
            raise ValueParseError(f"an address mask {short(text)} is not allowed here (write one address)")
        mask = parse_network(text)
        check_family(name, want_bits, mask.bits, text)
        return mask, mask.dtype
    value, bits = parse_address(text)
    check_family(name, want_bits, bits, text)
    return value, (D.FWP_UINT32 if bits == 32 else D.FWP_BYTE_ARRAY16_TYPE)


def check_family(name: str, want: int | None, got: int, text: str) -> None:
    if want is not None and want != got:
        fam, other = ("IPv4", "IPv6") if want == 32 else ("IPv6", "IPv4")
        # A single IPv4 address at a V6 layer is also how a dual-stack socket's IPv4 peer is
        # written wrong: its V6 ALE layers carry ::ffff:a.b.c.d (docs/decisions-engine.md).
        mapped = (f", or ::ffff:{text.strip()} for the IPv4 traffic of a dual-stack socket"
                  if got == 32 and "/" not in text else "")
        raise ValueParseError(
            f"{name} is an {fam} address at this layer; {short(text)} is an {other} address"
            f" (use the _V{4 if got == 32 else 6} layer{mapped})"
        )


def parse_ba16(name: str, raw: object) -> int:
    if isinstance(raw, bool):
        raise ValueParseError(f"{name} takes 16 bytes, not {describe(raw)}")
    if isinstance(raw, int):
        if not 0 <= raw < (1 << 128):
            raise ValueParseError(f"value {raw} does not fit FWP_BYTE_ARRAY16_TYPE")
        return raw
    text = expect_str(raw, f"16 bytes for {name}")
    n = int_text(text)
    if n is not None:
        return parse_ba16(name, n)
    try:
        return int.from_bytes(uuid.UUID(text.strip()).bytes_le, "big")
    except ValueError:
        pass
    try:
        v, bits = parse_address(text)
        if bits == 128:
            return v
    except ValueParseError:
        pass
    raise ValueParseError(
        f"{name} takes 16 bytes (a number, 0x..., a GUID or an IPv6 address), not {short(text)}"
    )


def parse_sid_value(name: str, raw: object) -> str:
    text = expect_str(raw, f"a SID for {name}")
    try:
        return sddl.parse_sid(text)
    except sddl.SddlError as exc:
        raise ValueParseError(f"{name}: {exc}") from None


def _looks_like_sddl(text: str) -> bool:
    return bool(re.match(r"^\s*[OGDS]:", text, re.IGNORECASE)) and not re.match(r"^\s*S-1", text, re.I)


def parse_sd(name: str, raw: object) -> SecurityDescriptor:
    if isinstance(raw, list | tuple):
        if not raw:
            raise ValueParseError(f"{name}: empty list of SIDs")
        sids = [parse_sid_value(name, s) for s in raw]
        return sddl.sd_granting(sids)
    text = expect_str(raw, f"an SDDL string or a SID for {name}")
    try:
        if _looks_like_sddl(text):
            return sddl.parse_sddl(text)
        return sddl.sd_granting([sddl.parse_sid(text)])
    except sddl.SddlError as exc:
        raise ValueParseError(f"{name}: {exc}") from None


def parse_token(name: str, raw: object) -> Token:
    if isinstance(raw, Token):
        return raw
    if isinstance(raw, Mapping):
        user = raw.get("user")
        groups = raw.get("groups", [])
        extra = set(raw) - {"user", "groups"}
        if extra or user is None or not isinstance(groups, list | tuple):
            raise ValueParseError(f"{name}: a token table has user = SID and optional groups = [SID, ...]")
        return Token(parse_sid_value(name, user), frozenset(parse_sid_value(name, g) for g in groups))
    if isinstance(raw, list | tuple):
        if not raw:
            raise ValueParseError(f"{name}: empty token (give the user SID first)")
        sids = [parse_sid_value(name, s) for s in raw]
        return Token(sids[0], frozenset(sids[1:]))
    text = expect_str(raw, f"a user SID for {name}")
    parts = [p for p in re.split(r"[,|\s]+", text) if p]
    if len(parts) > 1:
        return parse_token(name, parts)
    return Token(parse_sid_value(name, text))


def parse_blob_hex(name: str, raw: object) -> Blob:
    text = expect_str(raw, f"hex bytes for {name}")
    t = re.sub(r"[\s:-]", "", text).removeprefix("0x")
    try:
        return Blob(bytes.fromhex(t))
    except ValueError:
        raise ValueParseError(f"{name}: not hex bytes: {short(text)}") from None


def parse_string(name: str, dtype: DataType, raw: object, match: MatchType | None) -> str:
    text = expect_str(raw, f"a string for {name}")
    if name in APP_ID_FIELDS:
        if match in (M.FWP_MATCH_PREFIX, M.FWP_MATCH_NOT_PREFIX) and not re.match(
            r"^([A-Za-z]:|\\\\|\\device\\|%)", text.replace("/", "\\"), re.IGNORECASE
        ):
            # a suffix test ("\\browser.exe"): the tail of an app id, lower-cased
            return text.strip().replace("/", "\\").lower()
        return normalize_app_id(text)
    return text
