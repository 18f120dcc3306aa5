"""Formatting of condition and packet values: readable text, JSON and TOML forms.

``format_value`` / ``json_value`` / ``toml_value`` are described in ``wfptui.core.values``
(which re-exports them; import them from there).

This module reads no files and imports only the standard library and ``wfptui.core``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wfptui.core.datatypes import DataType
from wfptui.core.fields import (
    FLAG_ENUMS,
    IP_PROTOCOL_NAMES,
    get_field,
)
from wfptui.core.model import (
    EMPTY,
    AddrMask,
    Blob,
    Range,
    SecurityDescriptor,
    Token,
    Value,
)
from wfptui.core.value_scalars import ValueParseError, format_address, format_mac

if TYPE_CHECKING:
    from wfptui.core.layers import Layer


__all__ = [
    "format_value",
    "json_value",
    "toml_value",
]

D = DataType



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
            return format_mac(value)
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
            return format_mac(value)
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
            return format_mac(value)
        if value > _INT64_MAX or value < -_INT64_MAX - 1:
            return hex(value) if value >= 0 else str(value)
        return value
    raise ValueParseError(f"cannot write {value!r} as TOML")
