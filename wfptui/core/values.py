"""Parse and format condition and packet values by FWP data type (wfp-model.md §4.2–§4.6, §5.7).

``parse_value(field, layer, match, raw) -> (Value, DataType)`` turns a value as written in
a policy or scenario file (TOML: int, str, list, table) or on the command line (str) into
the model's value and the FWP data type of that value. The field's type is the one the
layer classifies (``layer.field(name).dtype``: V6 layers carry FWP_BYTE_ARRAY16_TYPE
addresses); without a layer, or when the layer lacks the field (the policy loader reports
that separately), the catalogue type ``get_field(name).dtype`` is used and address fields
accept either family. Errors raise :class:`ValueParseError` (a ValueError) with a message
fit for ``file:line:col: message``; an unknown *field* raises ``UnknownNameError``.

Accepted spellings, by the field's type:

* unsigned integers (FWP_UINT8/16/32/64): TOML ints, ``"0x1F"`` / ``"80"`` strings (so
  UINT64 values >= 2**63 can be written), range-checked ("value 70000 does not fit
  FWP_UINT16 (0..65535)"). ``IP_PROTOCOL``: also ``tcp``, ``udp``, ``icmp``, ``icmpv6`` ...
  (``fields.IP_PROTOCOLS``). ``DIRECTION``: ``inbound``/``outbound`` (also
  ``FWP_DIRECTION_INBOUND``). Flags fields (``FLAGS``, ``REAUTHORIZE_REASON``,
  ``ALE_SIO_FIREWALL_SYSTEM_PORT``, ``L2_FLAGS``): flag names in any spelling
  (``is_loopback``, ``FWP_CONDITION_FLAG_IS_LOOPBACK``), numbers, a list of them (ORed)
  or ``"is_loopback|is_reauthorize"``.
* IPv4 address fields (FWP_UINT32, kind ip_address): ``"10.0.0.1"`` (→ int), an int, or
  a CIDR ``"10.0.0.0/8"`` (→ ``AddrMask``, dtype FWP_V4_ADDR_MASK). IPv6 address fields
  (FWP_BYTE_ARRAY16_TYPE): ``"fd00::1"`` (→ 128-bit int), ``"fd00::/8"`` (→ ``AddrMask``
  bits=128, FWP_V6_ADDR_MASK). The wrong family is an error.
* other FWP_BYTE_ARRAY16_TYPE fields: an int, ``"0x..."`` or a GUID (its 16 bytes in
  memory order). FWP_BYTE_ARRAY6_TYPE (MAC addresses): ``"00-11-22-33-44-55"`` or
  ``"00:11:22:..."`` or an int.
* FWP_BYTE_BLOB_TYPE: a string. ``ALE_APP_ID``/``ALE_ORIGINAL_APP_ID`` go through
  :func:`normalize_app_id`. FWP_UNICODE_STRING_TYPE: a string.
* FWP_SID (``ALE_PACKAGE_ID``): ``"S-1-..."`` (canonical upper-case ``S-``) or an SDDL
  alias (``AC``, ``SY`` ...).
* token fields (``ALE_USER_ID``, ``ALE_REMOTE_USER_ID``, ``ALE_REMOTE_MACHINE_ID``,
  ``ALE_PACKAGE_FAMILY_NAME``; FWP_TOKEN_[ACCESS_]INFORMATION_TYPE): a condition value is
  an SDDL string (``"O:LSD:(A;;CC;;;S-1-5-19)"``) → ``SecurityDescriptor``, dtype
  FWP_SECURITY_DESCRIPTOR_TYPE. Convenience: a bare SID (or alias), or a list of SIDs,
  means ``D:(A;;CC;;;sid)...`` -- "the condition is true for traffic of any of these".
  A *packet* value (``match=None``) is a SID → ``Token(user=sid)``, or a list
  ``[user, group...]``, or a table ``{user = "S-..", groups = [..]}``.
* ranges: ``match = "range"`` needs ``[low, high]``, each parsed as above, low <= high →
  ``Range``, dtype FWP_RANGE_TYPE. A 2-list with another match type is an error.
* FWP_EMPTY: the table ``{ empty = true }`` (a string like ``"empty"`` would be ambiguous
  for string fields), only with ``equal``; packet values also accept ``"FWP_EMPTY"``.
* explicit types, for any field: a one-key table ``{ uint16 = 80 }``, ``{ uint64 =
  "0xffffffffffffffff" }``, ``{ int32 = -1 }``, ``{ sid = "S-1-0-0" }``, ``{ sd = "D:..." }``,
  ``{ blob = "68656c6c6f" }`` (hex bytes → ``Blob``), ``{ string = "..." }``,
  ``{ byte_array16 = "fd00::1" }``, ``{ byte_array6 = "00-11-..." }``,
  ``{ v4_addr_mask = "10.0.0.0/8" }``, ``{ v6_addr_mask = "fd00::/8" }``,
  ``{ range = [low, high] }``, ``{ empty = true }`` (names may carry the ``FWP_`` prefix
  and ``_TYPE`` suffix). The type must be one the field compares with (§4.2: no implicit
  conversion).

Match types are checked against the value type (§4.2): FLAGS_* only on unsigned integers;
EQUAL_CASE_INSENSITIVE only on FWP_UNICODE_STRING_TYPE; PREFIX/NOT_PREFIX only on blobs
and strings; GREATER/LESS/..._OR_EQUAL/RANGE on sortable types (integers, BYTE_ARRAY16,
blobs, strings); NOT_EQUAL on sortable types, address masks, SIDs and SDs (Windows
Firewall uses ``ALE_PACKAGE_ID NOT_EQUAL S-1-0-0``); SDs only EQUAL/NOT_EQUAL; FWP_EMPTY
only EQUAL.

:func:`normalize_app_id` models FwpmGetAppIdFromFileName0 (§4.2): the lower-cased NT
device path. ``\\device\\...`` paths are lower-cased; a DOS path ``X:\\dir\\f.exe`` becomes
``\\device\\harddiskvolumeN\\dir\\f.exe`` with N = the letter's position in the alphabet
(A=1, B=2, **C=3** as on the real Windows 11 dumps, D=4 ...); ``\\\\?\\`` and ``\\??\\``
prefixes are dropped; UNC ``\\\\server\\share`` becomes ``\\device\\mup\\server\\share``;
``%SystemRoot%``/``%windir%``/``%ProgramFiles%``/``%ProgramFiles(x86)%``/
``%ProgramData%``/``%SystemDrive%`` at the start expand to their usual C: locations; ``/``
becomes ``\\``. The kernel's app id ``System`` stays exactly ``System`` (any case in). With
``prefix``/``not_prefix`` (Windows' *suffix* test) a value that is not an absolute path is
a tail such as ``\\browser.exe`` and is only lower-cased.

Formatting: :func:`format_value` (readable text: dotted/colon addresses, flag names,
``1024..65535``, ``10.0.0.0/8``, SDDL), :func:`json_value` (JSON-able: addresses as
strings, other ints as ints, ranges as ``[lo, hi]``, SDs as SDDL, tokens as the user SID,
EMPTY as null), :func:`toml_value` (what ``io.policy_file.dump_policy`` writes, read back
by ``parse_value`` to the same value and type). :func:`parse_address` /
:func:`format_address` convert addresses.
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
    IP_PROTOCOL_NAMES,
    IP_PROTOCOLS,
    UnknownNameError,
    get_field,
    parse_flag,
)
from wfptui.core.model import (
    EMPTY,
    AddrMask,
    Blob,
    MatchType,
    Range,
    SecurityDescriptor,
    Token,
    Value,
)

if TYPE_CHECKING:
    from wfptui.core.layers import Layer

__all__ = [
    "APP_ID_FIELDS",
    "TOKEN_TYPES",
    "ValueParseError",
    "field_type",
    "format_address",
    "format_value",
    "json_value",
    "normalize_app_id",
    "parse_address",
    "parse_network",
    "parse_packet_value",
    "parse_value",
    "toml_value",
]

D = DataType
M = MatchType


class ValueParseError(ValueError):
    """A value that does not fit its field, type or match type."""


#: Blob fields that hold an application id (lower-cased NT path; §4.2).
APP_ID_FIELDS = frozenset({"ALE_APP_ID", "ALE_ORIGINAL_APP_ID"})
#: Fields whose values are tokens (conditions: security descriptors).
TOKEN_TYPES = frozenset({D.FWP_TOKEN_INFORMATION_TYPE, D.FWP_TOKEN_ACCESS_INFORMATION_TYPE})
_STRING_TYPES = frozenset({D.FWP_BYTE_BLOB_TYPE, D.FWP_UNICODE_STRING_TYPE})
_SORTABLE = frozenset(
    {*UINT_BITS, *INT_BITS, D.FWP_BYTE_ARRAY16_TYPE, D.FWP_BYTE_BLOB_TYPE, D.FWP_UNICODE_STRING_TYPE}
)
_ORDER_MATCHES = frozenset(
    {M.FWP_MATCH_GREATER, M.FWP_MATCH_LESS, M.FWP_MATCH_GREATER_OR_EQUAL, M.FWP_MATCH_LESS_OR_EQUAL}
)
_FLAG_MATCHES = frozenset({M.FWP_MATCH_FLAGS_ALL_SET, M.FWP_MATCH_FLAGS_ANY_SET, M.FWP_MATCH_FLAGS_NONE_SET})
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
    """Dotted IPv4 (bits 32) or compressed IPv6 (bits 128) text."""
    if bits == 32:
        return str(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    return str(ipaddress.IPv6Address(value & ((1 << 128) - 1)))


def _format_mac(value: int) -> str:
    return "-".join(f"{(value >> (8 * (5 - k))) & 0xFF:02x}" for k in range(6))


def _parse_mac(text: str) -> int:
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


def _check_int(value: int, dtype: DataType) -> int:
    lo, hi = _uint_range(dtype)
    if not lo <= value <= hi:
        raise ValueParseError(f"value {value} does not fit {_type_name(dtype)} ({lo}..{hi})")
    return value


def _int_text(text: str) -> int | None:
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


def _short(text: str) -> str:
    t = repr(text)
    return t if len(t) <= 80 else t[:77] + "...'"


def _expect_str(raw: object, what: str) -> str:
    if isinstance(raw, str):
        if len(raw) > _MAX_TEXT:
            raise ValueParseError(f"{what} is too long ({len(raw)} characters)")
        return raw
    raise ValueParseError(f"expected {what}, got {_describe(raw)}")


def _describe(raw: object) -> str:
    if isinstance(raw, bool):
        return f"the boolean {str(raw).lower()}"
    if isinstance(raw, int):
        return f"the integer {raw}"
    if isinstance(raw, str):
        return f"the string {_short(raw)}"
    if isinstance(raw, list | tuple):
        return f"a list of {len(raw)}"
    if isinstance(raw, dict):
        return "a table"
    return type(raw).__name__


# ----------------------------------------------------------------------------- scalar parsers


def _parse_uint(name: str, dtype: DataType, kind: str, raw: object) -> int:
    """An unsigned/signed integer field value (no addresses)."""
    if isinstance(raw, bool):
        raise ValueParseError(f"{name} takes a number, not {_describe(raw)}")
    flag_field = name in FLAG_ENUMS or kind == "flags"
    if isinstance(raw, int):
        return _check_int(raw, dtype)
    if isinstance(raw, list | tuple) and flag_field:
        if not raw:
            raise ValueParseError(f"{name}: empty list of flags")
        v = 0
        for item in raw:
            v |= _parse_uint(name, dtype, kind, item)
        return _check_int(v, dtype)
    if isinstance(raw, str):
        if len(raw) > _MAX_TEXT:
            raise ValueParseError(f"{name}: value is too long")
        n = _int_text(raw)
        if n is not None:
            return _check_int(n, dtype)
        t = raw.strip().lower()
        if name == "IP_PROTOCOL":
            proto = t.removeprefix("ipproto_")
            if proto in IP_PROTOCOLS:
                return IP_PROTOCOLS[proto]
            raise ValueParseError(
                f"unknown protocol {_short(raw)} for IP_PROTOCOL (tcp, udp, icmp, icmpv6 ... or a number)"
            )
        if name == "DIRECTION":
            d = t.removeprefix("fwp_direction_")
            if d in _DIRECTIONS:
                return _DIRECTIONS[d]
            raise ValueParseError(f"unknown direction {_short(raw)} (inbound, outbound, 0 or 1)")
        if name in FLAG_ENUMS:
            try:
                return _check_int(parse_flag(name, raw), dtype)
            except UnknownNameError as exc:
                raise ValueParseError(f"{name}: {exc}") from None
            except ValueError as exc:
                raise ValueParseError(f"{name}: {exc}") from None
        raise ValueParseError(f"{name} takes a number ({_type_name(dtype)}), not {_describe(raw)}")
    raise ValueParseError(f"{name} takes a number ({_type_name(dtype)}), not {_describe(raw)}")


def _parse_addr(
    name: str, dtype: DataType, exact: bool, raw: object, allow_mask: bool
) -> tuple[Value, DataType]:
    """An address field value: int, address text, or (allow_mask) CIDR."""
    want_bits: int | None = (32 if dtype == D.FWP_UINT32 else 128) if exact else None
    if isinstance(raw, bool):
        raise ValueParseError(f"{name} takes an address, not {_describe(raw)}")
    if isinstance(raw, int):
        bits = want_bits or (32 if 0 <= raw <= 0xFFFFFFFF else 128)
        if not 0 <= raw < (1 << bits):
            raise ValueParseError(f"value {raw} is not an IPv{4 if bits == 32 else 6} address")
        return raw, (D.FWP_UINT32 if bits == 32 else D.FWP_BYTE_ARRAY16_TYPE)
    text = _expect_str(raw, f"an address for {name}")
    n = _int_text(text)
    if n is not None and not re.fullmatch(r"\s*\d+\.\d+.*", text):
        return _parse_addr(name, dtype, exact, n, allow_mask)
    if "/" in text:
        if not allow_mask:
            raise ValueParseError(f"an address mask {_short(text)} is not allowed here (write one address)")
        mask = parse_network(text)
        _check_family(name, want_bits, mask.bits, text)
        return mask, mask.dtype
    value, bits = parse_address(text)
    _check_family(name, want_bits, bits, text)
    return value, (D.FWP_UINT32 if bits == 32 else D.FWP_BYTE_ARRAY16_TYPE)


def _check_family(name: str, want: int | None, got: int, text: str) -> None:
    if want is not None and want != got:
        fam, other = ("IPv4", "IPv6") if want == 32 else ("IPv6", "IPv4")
        raise ValueParseError(
            f"{name} is an {fam} address at this layer; {_short(text)} is an {other} address"
            f" (use the _V{4 if got == 32 else 6} layer)"
        )


def _parse_ba16(name: str, raw: object) -> int:
    if isinstance(raw, bool):
        raise ValueParseError(f"{name} takes 16 bytes, not {_describe(raw)}")
    if isinstance(raw, int):
        if not 0 <= raw < (1 << 128):
            raise ValueParseError(f"value {raw} does not fit FWP_BYTE_ARRAY16_TYPE")
        return raw
    text = _expect_str(raw, f"16 bytes for {name}")
    n = _int_text(text)
    if n is not None:
        return _parse_ba16(name, n)
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
        f"{name} takes 16 bytes (a number, 0x..., a GUID or an IPv6 address), not {_short(text)}"
    )


def _parse_sid_value(name: str, raw: object) -> str:
    text = _expect_str(raw, f"a SID for {name}")
    try:
        return sddl.parse_sid(text)
    except sddl.SddlError as exc:
        raise ValueParseError(f"{name}: {exc}") from None


def _looks_like_sddl(text: str) -> bool:
    return bool(re.match(r"^\s*[OGDS]:", text, re.IGNORECASE)) and not re.match(r"^\s*S-1", text, re.I)


def _parse_sd(name: str, raw: object) -> SecurityDescriptor:
    if isinstance(raw, list | tuple):
        if not raw:
            raise ValueParseError(f"{name}: empty list of SIDs")
        sids = [_parse_sid_value(name, s) for s in raw]
        return sddl.sd_granting(sids)
    text = _expect_str(raw, f"an SDDL string or a SID for {name}")
    try:
        if _looks_like_sddl(text):
            return sddl.parse_sddl(text)
        return sddl.sd_granting([sddl.parse_sid(text)])
    except sddl.SddlError as exc:
        raise ValueParseError(f"{name}: {exc}") from None


def _parse_token(name: str, raw: object) -> Token:
    if isinstance(raw, Token):
        return raw
    if isinstance(raw, Mapping):
        user = raw.get("user")
        groups = raw.get("groups", [])
        extra = set(raw) - {"user", "groups"}
        if extra or user is None or not isinstance(groups, list | tuple):
            raise ValueParseError(f"{name}: a token table has user = SID and optional groups = [SID, ...]")
        return Token(_parse_sid_value(name, user), frozenset(_parse_sid_value(name, g) for g in groups))
    if isinstance(raw, list | tuple):
        if not raw:
            raise ValueParseError(f"{name}: empty token (give the user SID first)")
        sids = [_parse_sid_value(name, s) for s in raw]
        return Token(sids[0], frozenset(sids[1:]))
    text = _expect_str(raw, f"a user SID for {name}")
    parts = [p for p in re.split(r"[,|\s]+", text) if p]
    if len(parts) > 1:
        return _parse_token(name, parts)
    return Token(_parse_sid_value(name, text))


def _parse_blob_hex(name: str, raw: object) -> Blob:
    text = _expect_str(raw, f"hex bytes for {name}")
    t = re.sub(r"[\s:-]", "", text).removeprefix("0x")
    try:
        return Blob(bytes.fromhex(t))
    except ValueError:
        raise ValueParseError(f"{name}: not hex bytes: {_short(text)}") from None


def _parse_string(name: str, dtype: DataType, raw: object, match: MatchType | None) -> str:
    text = _expect_str(raw, f"a string for {name}")
    if name in APP_ID_FIELDS:
        if match in (M.FWP_MATCH_PREFIX, M.FWP_MATCH_NOT_PREFIX) and not re.match(
            r"^([A-Za-z]:|\\\\|\\device\\|%)", text.replace("/", "\\"), re.IGNORECASE
        ):
            # a suffix test ("\\browser.exe"): the tail of an app id, lower-cased
            return text.strip().replace("/", "\\").lower()
        return normalize_app_id(text)
    return text


# ----------------------------------------------------------------------------- typed tables

_TYPED: dict[str, DataType] = {
    "uint8": D.FWP_UINT8,
    "uint16": D.FWP_UINT16,
    "uint32": D.FWP_UINT32,
    "uint64": D.FWP_UINT64,
    "int8": D.FWP_INT8,
    "int16": D.FWP_INT16,
    "int32": D.FWP_INT32,
    "int64": D.FWP_INT64,
    "byte_array16": D.FWP_BYTE_ARRAY16_TYPE,
    "byte_array6": D.FWP_BYTE_ARRAY6_TYPE,
    "blob": D.FWP_BYTE_BLOB_TYPE,
    "byte_blob": D.FWP_BYTE_BLOB_TYPE,
    "string": D.FWP_UNICODE_STRING_TYPE,
    "unicode_string": D.FWP_UNICODE_STRING_TYPE,
    "sid": D.FWP_SID,
    "sd": D.FWP_SECURITY_DESCRIPTOR_TYPE,
    "security_descriptor": D.FWP_SECURITY_DESCRIPTOR_TYPE,
    "v4_addr_mask": D.FWP_V4_ADDR_MASK,
    "v6_addr_mask": D.FWP_V6_ADDR_MASK,
    "range": D.FWP_RANGE_TYPE,
    "empty": D.FWP_EMPTY,
}


def _typed_key(key: str) -> str:
    k = key.strip().lower().removeprefix("fwp_")
    k = k.removesuffix("_type")
    return k


def _parse_typed(
    name: str, dtype: DataType, kind: str, exact: bool, match: MatchType | None, key: str, raw: object
) -> tuple[Value, DataType]:
    k = _typed_key(key)
    if k not in _TYPED:
        known = ", ".join(sorted(_TYPED))
        raise ValueParseError(f"unknown value type {key!r} (one of {known})")
    t = _TYPED[k]
    mismatch = ValueParseError(f"a {t.name} value does not fit {name}, which is {dtype.name} here")
    if t == D.FWP_EMPTY:
        if raw is not True:
            raise ValueParseError("write FWP_EMPTY as { empty = true }")
        return EMPTY, D.FWP_EMPTY
    if t == D.FWP_RANGE_TYPE:
        if match is not None and match != M.FWP_MATCH_RANGE:
            raise ValueParseError(f'a range value needs match = "range", not {match.short}')
        return _parse_range(name, dtype, kind, exact, raw)
    if t in UINT_BITS or t in INT_BITS:
        if t != dtype:
            raise mismatch
        if kind == "ip_address" and isinstance(raw, str):
            v, _ = _parse_addr(name, dtype, True, raw, allow_mask=False)
            return v, t
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            raise ValueParseError(f"{t.name} takes a number, not {_describe(raw)}")
        if isinstance(raw, str):
            n = _int_text(raw)
            if n is None:
                raise ValueParseError(f"{t.name} takes a number, not {_short(raw)}")
            raw = n
        return _check_int(raw, t), t
    if t == D.FWP_BYTE_ARRAY16_TYPE:
        if dtype != t and not (kind == "ip_address" and not exact):
            raise mismatch
        if kind == "ip_address":
            v, vt = _parse_addr(name, D.FWP_BYTE_ARRAY16_TYPE, True, raw, allow_mask=False)
            return v, vt
        return _parse_ba16(name, raw), t
    if t == D.FWP_BYTE_ARRAY6_TYPE:
        if dtype != t:
            raise mismatch
        if isinstance(raw, int) and not isinstance(raw, bool):
            if not 0 <= raw < (1 << 48):
                raise ValueParseError(f"value {raw} does not fit FWP_BYTE_ARRAY6_TYPE")
            return raw, t
        return _parse_mac(_expect_str(raw, "a MAC address")), t
    if t in (D.FWP_V4_ADDR_MASK, D.FWP_V6_ADDR_MASK):
        if kind != "ip_address":
            raise mismatch
        bits = 32 if t == D.FWP_V4_ADDR_MASK else 128
        mask = parse_network(_expect_str(raw, f"an address mask for {name}"))
        if mask.bits != bits:
            raise ValueParseError(f"{_short(str(raw))} is not an IPv{4 if bits == 32 else 6} address mask")
        if exact:
            _check_family(name, 32 if dtype == D.FWP_UINT32 else 128, bits, str(raw))
        return mask, t
    if t == D.FWP_BYTE_BLOB_TYPE:
        if dtype not in _STRING_TYPES:
            raise mismatch
        return _parse_blob_hex(name, raw), D.FWP_BYTE_BLOB_TYPE
    if t == D.FWP_UNICODE_STRING_TYPE:
        if dtype not in _STRING_TYPES:
            raise mismatch
        return _parse_string(name, dtype, raw, None), D.FWP_UNICODE_STRING_TYPE
    if t == D.FWP_SID:
        if dtype == D.FWP_SID:
            return _parse_sid_value(name, raw), D.FWP_SID
        if dtype in TOKEN_TYPES:
            if match is None:
                return _parse_token(name, raw), dtype
            return _parse_sd(name, raw), D.FWP_SECURITY_DESCRIPTOR_TYPE
        raise mismatch
    # security descriptor
    if dtype not in TOKEN_TYPES or match is None:
        raise mismatch
    text = _expect_str(raw, f"an SDDL string for {name}")
    try:
        return sddl.parse_sddl(text), D.FWP_SECURITY_DESCRIPTOR_TYPE
    except sddl.SddlError as exc:
        raise ValueParseError(f"{name}: {exc}") from None


# ----------------------------------------------------------------------------- main entry


def _parse_single(
    name: str,
    dtype: DataType,
    kind: str,
    exact: bool,
    match: MatchType | None,
    raw: object,
    *,
    allow_mask: bool,
) -> tuple[Value, DataType]:
    """One value (not a range) of field ``name``."""
    if isinstance(raw, Mapping) and match is None and dtype in TOKEN_TYPES and "user" in raw:
        return _parse_token(name, raw), dtype
    if isinstance(raw, Mapping):
        if len(raw) != 1:
            raise ValueParseError(
                "a typed value is a table with one key, e.g. { uint16 = 80 }, { empty = true }"
            )
        ((key, inner),) = raw.items()
        if not isinstance(key, str):
            raise ValueParseError("a typed value's key must be a type name")
        return _parse_typed(name, dtype, kind, exact, match, key, inner)
    if isinstance(raw, bool):
        raise ValueParseError(f"{name} does not take a boolean ({str(raw).lower()})")
    if match is None and isinstance(raw, str) and raw.strip().upper() == "FWP_EMPTY":
        return EMPTY, D.FWP_EMPTY
    if kind == "ip_address" and dtype in (D.FWP_UINT32, D.FWP_BYTE_ARRAY16_TYPE):
        return _parse_addr(name, dtype, exact, raw, allow_mask)
    if dtype in UINT_BITS or dtype in INT_BITS:
        return _parse_uint(name, dtype, kind, raw), dtype
    if dtype == D.FWP_BYTE_ARRAY16_TYPE:
        return _parse_ba16(name, raw), dtype
    if dtype == D.FWP_BYTE_ARRAY6_TYPE:
        if isinstance(raw, int):
            if not 0 <= raw < (1 << 48):
                raise ValueParseError(f"value {raw} does not fit FWP_BYTE_ARRAY6_TYPE")
            return raw, dtype
        return _parse_mac(_expect_str(raw, f"a MAC address for {name}")), dtype
    if dtype in _STRING_TYPES:
        return _parse_string(name, dtype, raw, match), dtype
    if dtype == D.FWP_SID:
        return _parse_sid_value(name, raw), dtype
    if dtype in TOKEN_TYPES:
        if match is None:
            return _parse_token(name, raw), dtype
        return _parse_sd(name, raw), D.FWP_SECURITY_DESCRIPTOR_TYPE
    raise ValueParseError(f"{name} has type {dtype.name}, which the simulator cannot parse values for")


def _parse_range(name: str, dtype: DataType, kind: str, exact: bool, raw: object) -> tuple[Value, DataType]:
    if not isinstance(raw, list | tuple) or len(raw) != 2:
        raise ValueParseError(f'match = "range" needs [low, high], not {_describe(raw)}')
    low, ldt = _parse_single(name, dtype, kind, exact, M.FWP_MATCH_RANGE, raw[0], allow_mask=False)
    high, hdt = _parse_single(name, dtype, kind, exact, M.FWP_MATCH_RANGE, raw[1], allow_mask=False)
    if ldt != hdt:
        raise ValueParseError(f"range bounds have different types ({ldt.name}, {hdt.name})")
    if ldt not in _SORTABLE:
        raise ValueParseError(f'match = "range" needs a sortable type; {name} values are {ldt.name}')
    if isinstance(low, int) and isinstance(high, int):
        if low > high:
            raise ValueParseError(
                f"range low {format_value(low, ldt, name)} is above high {format_value(high, ldt, name)}"
            )
    elif isinstance(low, str) and isinstance(high, str):
        if low > high:
            raise ValueParseError(f"range low {low!r} is above high {high!r}")
    elif isinstance(low, Blob) and isinstance(high, Blob) and low.data > high.data:
        raise ValueParseError("range low is above high")
    return Range(low, high), D.FWP_RANGE_TYPE


def _check_match(name: str, match: MatchType, vdtype: DataType, value: Value) -> None:
    bad = ValueParseError(f"match {match.short} does not apply to {name} values of type {vdtype.name}")
    if vdtype == D.FWP_EMPTY:
        if match != M.FWP_MATCH_EQUAL:
            raise ValueParseError(f'an FWP_EMPTY value only works with match = "equal", not {match.short}')
        return
    if match == M.FWP_MATCH_EQUAL:
        return
    if match == M.FWP_MATCH_TYPE_MAX:
        raise ValueParseError("FWP_MATCH_TYPE_MAX is not a match type")
    if match in _FLAG_MATCHES:
        if vdtype not in UINT_BITS:
            raise ValueParseError(
                f"match {match.short} needs an unsigned integer; {name} values are {vdtype.name}"
            )
        return
    if match == M.FWP_MATCH_EQUAL_CASE_INSENSITIVE:
        if vdtype != D.FWP_UNICODE_STRING_TYPE:
            raise ValueParseError(
                f"match equal_case_insensitive only works on FWP_UNICODE_STRING_TYPE; {name} values are {vdtype.name}"
            )
        return
    if match in (M.FWP_MATCH_PREFIX, M.FWP_MATCH_NOT_PREFIX):
        if vdtype not in _STRING_TYPES:
            raise ValueParseError(
                f"match {match.short} only works on strings and blobs; {name} values are {vdtype.name}"
            )
        return
    if match == M.FWP_MATCH_RANGE:
        if vdtype != D.FWP_RANGE_TYPE:
            raise ValueParseError(f'match = "range" needs [low, high], not a single {vdtype.name} value')
        return
    if match == M.FWP_MATCH_NOT_EQUAL:
        if vdtype in _SORTABLE or vdtype in (
            D.FWP_SID,
            D.FWP_SECURITY_DESCRIPTOR_TYPE,
            D.FWP_V4_ADDR_MASK,
            D.FWP_V6_ADDR_MASK,
            D.FWP_BYTE_ARRAY6_TYPE,
        ):
            return
        raise bad
    if match in _ORDER_MATCHES:
        if vdtype not in _SORTABLE:
            raise ValueParseError(
                f"match {match.short} needs a sortable type; {name} values are {vdtype.name}"
            )
        return
    raise bad


def parse_value(
    field: str, layer: Layer | None, match: MatchType | None, raw: object
) -> tuple[Value, DataType]:
    """Parse ``raw`` as a value of ``field`` at ``layer`` (module docstring).

    ``match`` is the condition's match type, or None for a *packet* (classified) value:
    then token fields take SIDs (→ Token), ``"FWP_EMPTY"`` is EMPTY, and masks and
    ranges are refused. Returns (value, FWP data type of the value).
    """
    name, dtype, kind, exact = field_type(field, layer)
    if match is None:
        if (
            isinstance(raw, list | tuple)
            and dtype not in TOKEN_TYPES
            and not (name in FLAG_ENUMS or kind == "flags")
        ):
            raise ValueParseError(f"{name} takes one value, not a list")
        return _parse_single(name, dtype, kind, exact, None, raw, allow_mask=False)
    match = MatchType(match)
    if match == M.FWP_MATCH_RANGE:
        if isinstance(raw, Mapping):
            value, vdt = _parse_single(name, dtype, kind, exact, match, raw, allow_mask=False)
        else:
            value, vdt = _parse_range(name, dtype, kind, exact, raw)
    else:
        if isinstance(raw, list | tuple):
            flag_field = name in FLAG_ENUMS or kind == "flags"
            token_list = dtype in TOKEN_TYPES
            if not (flag_field or token_list):
                if len(raw) == 2:
                    raise ValueParseError(
                        f'[low, high] is a range: write match = "range" (match is {match.short})'
                    )
                raise ValueParseError(
                    f"{name} takes one value, not a list (write one condition per value: same-field conditions are ORed)"
                )
        value, vdt = _parse_single(
            name,
            dtype,
            kind,
            exact,
            match,
            raw,
            allow_mask=match in (M.FWP_MATCH_EQUAL, M.FWP_MATCH_NOT_EQUAL),
        )
    _check_match(name, match, vdt, value)
    return value, vdt


def parse_packet_value(field: str, layer: Layer | None, raw: object) -> tuple[Value, DataType]:
    """A classified (packet) value: ``parse_value(field, layer, None, raw)``."""
    return parse_value(field, layer, None, raw)


# ----------------------------------------------------------------------------- formatting


def _field_info(field: str | None) -> tuple[str | None, str | None, DataType | None]:
    if field is None:
        return None, None, None
    try:
        cf = get_field(field)
    except (KeyError, ValueError):
        return field, None, None
    return cf.name, cf.kind, cf.dtype


def _flag_names(name: str, value: int) -> str | None:
    enum = FLAG_ENUMS.get(name)
    if enum is None:
        return None
    if value == 0:
        return "0"
    names: list[str] = []
    rest = value
    for member in enum:
        mv = int(member)
        if mv and (value & mv) == mv and mv & (mv - 1) == 0:
            names.append(str(member.name))
            rest &= ~mv
    if rest:
        names.append(hex(rest))
    return "|".join(names)


def _addr_bits(value: int, dtype: DataType | None) -> int:
    if dtype == D.FWP_BYTE_ARRAY16_TYPE:
        return 128
    if dtype == D.FWP_UINT32:
        return 32
    return 32 if 0 <= value <= 0xFFFFFFFF else 128


def _bound_type(dtype: DataType | None, field: str | None, layer: Layer | None) -> DataType | None:
    """The type of a range's bounds: the field's type at ``layer`` when known."""
    if layer is not None and field is not None:
        try:
            lf = layer.field(get_field(field).name)
        except (KeyError, ValueError):
            lf = None
        if lf is not None:
            return lf.dtype
    return None if dtype == D.FWP_RANGE_TYPE else dtype


def format_value(
    value: Value, dtype: DataType | None = None, field: str | None = None, layer: Layer | None = None
) -> str:
    """Readable text for a value; ``dtype``/``field`` (and ``layer``, for the bounds of
    address ranges) tell addresses and flags apart."""
    name, kind, fdtype = _field_info(field)
    if value is EMPTY:
        return "FWP_EMPTY"
    if isinstance(value, AddrMask):
        return f"{format_address(value.addr, value.bits)}/{value.prefix}"
    if isinstance(value, Range):
        sub = _bound_type(dtype, field, layer)
        return f"{format_value(value.low, sub, field)}..{format_value(value.high, sub, field)}"
    if isinstance(value, SecurityDescriptor):
        return value.sddl
    if isinstance(value, Token):
        if value.groups:
            return value.user + " +" + ",".join(sorted(value.groups))
        return value.user
    if isinstance(value, Blob):
        return value.data.hex()
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        eff = dtype if dtype not in (None, D.FWP_RANGE_TYPE) else fdtype
        if kind == "ip_address" and eff in (D.FWP_UINT32, D.FWP_BYTE_ARRAY16_TYPE, None):
            return format_address(value, _addr_bits(value, dtype if dtype != D.FWP_RANGE_TYPE else None))
        if dtype is None and kind is None and fdtype is None and field is None:
            return str(value)
        if name is not None:
            flags = _flag_names(name, value)
            if flags is not None:
                return flags
            if name == "IP_PROTOCOL" and value in IP_PROTOCOL_NAMES:
                return IP_PROTOCOL_NAMES[value]
            if name == "DIRECTION" and value in (0, 1):
                return "outbound" if value == 0 else "inbound"
        if eff == D.FWP_BYTE_ARRAY6_TYPE:
            return _format_mac(value)
        if eff == D.FWP_BYTE_ARRAY16_TYPE:
            return f"0x{value:032x}"
        if value > 0xFFFFFFFF:
            return hex(value)
        return str(value)
    return repr(value)


def json_value(
    value: Value, dtype: DataType | None = None, field: str | None = None, layer: Layer | None = None
) -> object:
    """A JSON-able form: addresses as strings, ints as ints (flags too), ranges as
    ``[lo, hi]``, SDs as SDDL, tokens as the user SID, EMPTY as None."""
    name, kind, fdtype = _field_info(field)
    if value is EMPTY:
        return None
    if isinstance(value, AddrMask):
        return f"{format_address(value.addr, value.bits)}/{value.prefix}"
    if isinstance(value, Range):
        sub = _bound_type(dtype, field, layer)
        return [json_value(value.low, sub, field), json_value(value.high, sub, field)]
    if isinstance(value, SecurityDescriptor):
        return value.sddl
    if isinstance(value, Token):
        return value.user
    if isinstance(value, Blob):
        return value.data.hex()
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        eff = dtype if dtype not in (None, D.FWP_RANGE_TYPE) else fdtype
        if kind == "ip_address" and eff in (D.FWP_UINT32, D.FWP_BYTE_ARRAY16_TYPE, None):
            return format_address(value, _addr_bits(value, dtype if dtype != D.FWP_RANGE_TYPE else None))
        if eff == D.FWP_BYTE_ARRAY6_TYPE:
            return _format_mac(value)
        return value
    return repr(value)


_INT64_MAX = (1 << 63) - 1


def toml_value(value: Value, dtype: DataType, field: str, layer: Layer | None = None) -> object:
    """The TOML-able form ``dump_policy`` writes; ``parse_value`` reads it back exactly
    (given the same layer). Raises ValueParseError for values no spelling reproduces.
    """
    name, kind, fdtype = _field_info(field)
    if layer is not None and name is not None:
        lf = layer.field(name)
        if lf is not None:
            fdtype = lf.dtype
    if value is EMPTY:
        return {"empty": True}
    if isinstance(value, AddrMask):
        return f"{format_address(value.addr, value.bits)}/{value.prefix}"
    if isinstance(value, Range):
        sub = fdtype if fdtype is not None else D.FWP_UINT32
        if (
            kind == "ip_address"
            and isinstance(value.low, int)
            and isinstance(value.high, int)
            and (layer is None or layer.field(name or "") is None)
        ):
            sub = D.FWP_UINT32 if max(value.low, value.high) <= 0xFFFFFFFF else D.FWP_BYTE_ARRAY16_TYPE
        return [toml_value(value.low, sub, field, layer), toml_value(value.high, sub, field, layer)]
    if isinstance(value, SecurityDescriptor):
        return value.sddl
    if isinstance(value, Token):
        return [value.user, *sorted(value.groups)]
    if isinstance(value, Blob):
        return {"blob": value.data.hex()}
    if isinstance(value, str):
        if dtype == D.FWP_UNICODE_STRING_TYPE and fdtype != D.FWP_UNICODE_STRING_TYPE:
            return {"string": value}
        return value
    if isinstance(value, int):
        if kind == "ip_address" and dtype in (D.FWP_UINT32, D.FWP_BYTE_ARRAY16_TYPE):
            return format_address(value, 32 if dtype == D.FWP_UINT32 else 128)
        if name is not None:
            enum = FLAG_ENUMS.get(name)
            if enum is not None and value:
                text = _flag_names(name, value)
                if text is not None and "0x" not in text:
                    parts = text.split("|")
                    return parts[0].lower() if len(parts) == 1 else [p.lower() for p in parts]
            if name == "IP_PROTOCOL" and value in (1, 6, 17, 58):
                return IP_PROTOCOL_NAMES[value]
        if dtype == D.FWP_BYTE_ARRAY6_TYPE:
            return _format_mac(value)
        if value > _INT64_MAX or value < -_INT64_MAX - 1:
            return hex(value) if value >= 0 else str(value)
        return value
    raise ValueParseError(f"cannot write {value!r} as TOML")
