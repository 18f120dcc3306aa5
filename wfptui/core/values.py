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

Layout: this module holds ``parse_value`` and the typed/range/match checks; the per-type
scalar parsers, addresses and app ids are in :mod:`wfptui.core.value_scalars`, the
formatting in :mod:`wfptui.core.value_format`. Import every public name from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from wfptui.core import sddl
from wfptui.core.datatypes import INT_BITS, UINT_BITS, DataType
from wfptui.core.fields import FLAG_ENUMS
from wfptui.core.model import EMPTY, Blob, MatchType, Range, Value
from wfptui.core.value_format import format_value, json_value, toml_value
from wfptui.core.value_scalars import (
    APP_ID_FIELDS,
    FLAG_MATCHES,
    ORDER_MATCHES,
    SORTABLE,
    STRING_TYPES,
    TOKEN_TYPES,
    ValueParseError,
    check_family,
    check_int,
    describe,
    expect_str,
    field_type,
    format_address,
    int_text,
    normalize_app_id,
    parse_addr,
    parse_address,
    parse_ba16,
    parse_blob_hex,
    parse_mac,
    parse_network,
    parse_sd,
    parse_sid_value,
    parse_string,
    parse_token,
    parse_uint,
    short,
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
            v, _ = parse_addr(name, dtype, True, raw, allow_mask=False)
            return v, t
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            raise ValueParseError(f"{t.name} takes a number, not {describe(raw)}")
        if isinstance(raw, str):
            n = int_text(raw)
            if n is None:
                raise ValueParseError(f"{t.name} takes a number, not {short(raw)}")
            raw = n
        return check_int(raw, t), t
    if t == D.FWP_BYTE_ARRAY16_TYPE:
        if dtype != t and not (kind == "ip_address" and not exact):
            raise mismatch
        if kind == "ip_address":
            v, vt = parse_addr(name, D.FWP_BYTE_ARRAY16_TYPE, True, raw, allow_mask=False)
            return v, vt
        return parse_ba16(name, raw), t
    if t == D.FWP_BYTE_ARRAY6_TYPE:
        if dtype != t:
            raise mismatch
        if isinstance(raw, int) and not isinstance(raw, bool):
            if not 0 <= raw < (1 << 48):
                raise ValueParseError(f"value {raw} does not fit FWP_BYTE_ARRAY6_TYPE")
            return raw, t
        return parse_mac(expect_str(raw, "a MAC address")), t
    if t in (D.FWP_V4_ADDR_MASK, D.FWP_V6_ADDR_MASK):
        if kind != "ip_address":
            raise mismatch
        bits = 32 if t == D.FWP_V4_ADDR_MASK else 128
        mask = parse_network(expect_str(raw, f"an address mask for {name}"))
        if mask.bits != bits:
            raise ValueParseError(f"{short(str(raw))} is not an IPv{4 if bits == 32 else 6} address mask")
        if exact:
            check_family(name, 32 if dtype == D.FWP_UINT32 else 128, bits, str(raw))
        return mask, t
    if t == D.FWP_BYTE_BLOB_TYPE:
        if dtype not in STRING_TYPES:
            raise mismatch
        return parse_blob_hex(name, raw), D.FWP_BYTE_BLOB_TYPE
    if t == D.FWP_UNICODE_STRING_TYPE:
        if dtype not in STRING_TYPES:
            raise mismatch
        return parse_string(name, dtype, raw, None), D.FWP_UNICODE_STRING_TYPE
    if t == D.FWP_SID:
        if dtype == D.FWP_SID:
            return parse_sid_value(name, raw), D.FWP_SID
        if dtype in TOKEN_TYPES:
            if match is None:
                return parse_token(name, raw), dtype
            return parse_sd(name, raw), D.FWP_SECURITY_DESCRIPTOR_TYPE
        raise mismatch
    # security descriptor
    if dtype not in TOKEN_TYPES or match is None:
        raise mismatch
    text = expect_str(raw, f"an SDDL string for {name}")
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
        return parse_token(name, raw), dtype
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
        return parse_addr(name, dtype, exact, raw, allow_mask)
    if dtype in UINT_BITS or dtype in INT_BITS:
        return parse_uint(name, dtype, kind, raw), dtype
    if dtype == D.FWP_BYTE_ARRAY16_TYPE:
        return parse_ba16(name, raw), dtype
    if dtype == D.FWP_BYTE_ARRAY6_TYPE:
        if isinstance(raw, int):
            if not 0 <= raw < (1 << 48):
                raise ValueParseError(f"value {raw} does not fit FWP_BYTE_ARRAY6_TYPE")
            return raw, dtype
        return parse_mac(expect_str(raw, f"a MAC address for {name}")), dtype
    if dtype in STRING_TYPES:
        return parse_string(name, dtype, raw, match), dtype
    if dtype == D.FWP_SID:
        return parse_sid_value(name, raw), dtype
    if dtype in TOKEN_TYPES:
        if match is None:
            return parse_token(name, raw), dtype
        return parse_sd(name, raw), D.FWP_SECURITY_DESCRIPTOR_TYPE
    raise ValueParseError(f"{name} has type {dtype.name}, which the simulator cannot parse values for")


def _parse_range(name: str, dtype: DataType, kind: str, exact: bool, raw: object) -> tuple[Value, DataType]:
    if not isinstance(raw, list | tuple) or len(raw) != 2:
        raise ValueParseError(f'match = "range" needs [low, high], not {describe(raw)}')
    low, ldt = _parse_single(name, dtype, kind, exact, M.FWP_MATCH_RANGE, raw[0], allow_mask=False)
    high, hdt = _parse_single(name, dtype, kind, exact, M.FWP_MATCH_RANGE, raw[1], allow_mask=False)
    if ldt != hdt:
        raise ValueParseError(f"range bounds have different types ({ldt.name}, {hdt.name})")
    if ldt not in SORTABLE:
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
    if match in FLAG_MATCHES:
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
        if vdtype not in STRING_TYPES:
            raise ValueParseError(
                f"match {match.short} only works on strings and blobs; {name} values are {vdtype.name}"
            )
        return
    if match == M.FWP_MATCH_RANGE:
        if vdtype != D.FWP_RANGE_TYPE:
            raise ValueParseError(f'match = "range" needs [low, high], not a single {vdtype.name} value')
        return
    if match == M.FWP_MATCH_NOT_EQUAL:
        if vdtype in SORTABLE or vdtype in (
            D.FWP_SID,
            D.FWP_SECURITY_DESCRIPTOR_TYPE,
            D.FWP_V4_ADDR_MASK,
            D.FWP_V6_ADDR_MASK,
            D.FWP_BYTE_ARRAY6_TYPE,
        ):
            return
        raise bad
    if match in ORDER_MATCHES:
        if vdtype not in SORTABLE:
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
