"""JSON output shared by every command (spec §8): a format header and 64-bit values as strings.

* Every JSON document starts with ``"format"`` and ``"version"`` (:func:`document`);
  JSON lines start with a header line ``{"kind": "header", "format": ..., "version": N,
  "app_version": ...}`` (:func:`header_line`).
* Every value of a 64-bit WFP type (``FWP_UINT64`` / ``FWP_INT64``: filter ids, weights,
  LUIDs) is written as a JSON string, whatever its size, so that JavaScript readers (whose
  numbers are doubles) never round it (:func:`wide_to_str`). Which values those are is
  decided by their *type*: by key for the trace's own keys (``filter_id`` is a UINT64 in
  ``FWPM_FILTER0``; ``FilterRTID`` in the 5152–5159 audit events), and by the condition
  field's data type (``wfptui.core.fields``) inside a classification's ``fields``.

Non-ASCII text is written as is to UTF-8 streams and as ``\\uXXXX`` escapes to any other
(a cp1252 redirect), so JSON never loses a character to a code page (:func:`needs_ascii`).

Format names and versions: ``wfptui-trace`` (run/replay/export ``--format json|jsonl``),
``wfptui-diff`` (``diff``/``replay --check`` ``--format json``). Bump a version when a
consumer would have to change.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Mapping
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import Any, TextIO

from wfptui import __version__
from wfptui.core.datatypes import DataType

#: format name -> current version (see the module docstring).
VERSIONS: dict[str, int] = {"wfptui-trace": 2, "wfptui-diff": 2, "wfptui-explain": 1, "wfptui-triage": 1}

#: Keys whose value is always of a 64-bit WFP type wherever they appear.
#: filter_id: FWPM_FILTER0.filterId (UINT64); FilterRTID: the audit events' filter run-time id;
#: weight / effective_weight: FWPM_FILTER0.effectiveWeight (FWP_UINT64); *luid: NET_LUID.
WIDE_KEYS = frozenset({"filter_id", "filter_id_a", "filter_id_b", "FilterRTID", "filterId",
                       "effective_weight", "effectiveWeight", "luid", "interface_luid"})

_WIDE_TYPES = (DataType.FWP_UINT64, DataType.FWP_INT64)


@functools.cache
def wide(key: str, value: Any) -> Any:
    """``value`` as it is written under ``key``: a string when the key is a 64-bit WFP value
    (``WIDE_KEYS``; ``wide_to_str`` applies the same rule to whole documents)."""
    return str(value) if type(value) is int and key in WIDE_KEYS else value


@functools.cache
def _wide_names() -> frozenset[str]:
    """The condition fields of a 64-bit type (built on first use: the catalogue is imported late)."""
    from wfptui.core.fields import CONDITION_FIELDS

    return frozenset(name for name, f in CONDITION_FIELDS.items() if f.dtype in _WIDE_TYPES)



def _str_int(v: Any) -> Any:
    return str(v) if type(v) is int else v


#: Values wide_to_str returns as they are (ints are looked at by key).
_LEAVES = frozenset({str, float, bool, type(None)})


def _wide_fields(fields: Mapping[Any, Any]) -> dict[Any, Any]:
    """A classification's ``fields`` with the values of 64-bit fields as strings."""
    out = dict(fields)
    wide_names = _wide_names()
    for fk, fv in out.items():
        tv = type(fv)
        if tv is int:
            if fk in wide_names:
                out[fk] = str(fv)
        elif tv not in _LEAVES:
            out[fk] = _str_int(fv) if fk in wide_names else wide_to_str(fv)
    return out


def wide_to_str(value: Any) -> Any:
    """A copy of ``value`` (JSON-able data) with every 64-bit WFP value as a string."""
    tv = type(value)
    if tv is dict or (tv not in _LEAVES and tv is not int and isinstance(value, Mapping)):
        out: dict[str, Any] = {}
        for k, v in value.items():
            tv = type(v)
            if tv is int:
                out[k] = str(v) if k in WIDE_KEYS else v
            elif tv in _LEAVES:  # the common leaves, fast
                out[k] = v
            elif k == "fields" and isinstance(v, Mapping):
                out[k] = _wide_fields(v)
            else:
                out[k] = wide_to_str(v)
        return out
    if isinstance(value, (list, tuple)):
        return [wide_to_str(v) for v in value]
    return value


def header(fmt: str) -> dict[str, Any]:
    """``{"format": fmt, "version": N, "app_version": ...}``: the first keys of every JSON output."""
    return {"format": fmt, "version": VERSIONS[fmt], "app_version": __version__}


def header_line(fmt: str) -> dict[str, Any]:
    """The first line of a JSON lines output."""
    return {"kind": "header", **header(fmt)}


def document(fmt: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON document: the header keys first, then ``body`` with 64-bit values as strings."""
    return {**header(fmt), **wide_to_str(body)}


def needs_ascii(out: TextIO) -> bool:
    """True when ``out`` encodes in something other than UTF-8 (a Windows code page): JSON is
    then written with ``\\uXXXX`` escapes, so no character is lost (spec §8)."""
    import codecs

    encoding = getattr(out, "encoding", None)
    if not isinstance(encoding, str):
        return False
    try:
        return codecs.lookup(encoding).name not in ("utf-8", "utf-8-sig")
    except LookupError:
        return True


class _Unusual(Exception):
    """A value :func:`indented` leaves to ``json.dumps``."""


def _indent(value: Any, enc: Callable[[str], str], nl: str, parts: list[str]) -> None:
    """Append ``value`` as ``json.dumps(indent=1)`` writes it at the nesting of ``nl``
    (newline plus that many spaces) to ``parts``. Only the plain JSON types; anything else
    raises _Unusual."""
    tv = type(value)
    if tv is str:
        parts.append(enc(value))
    elif tv is int:
        parts.append(int.__repr__(value))
    elif tv is dict:
        if not value:
            parts.append("{}")
            return
        inner = nl + " "
        sep = "{" + inner
        for k, v in value.items():
            if type(k) is not str:
                raise _Unusual
            parts.append(sep)
            parts.append(enc(k))
            parts.append(": ")
            _indent(v, enc, inner, parts)
            sep = "," + inner
        parts.append(nl + "}")
    elif tv is list or tv is tuple:
        if not value:
            parts.append("[]")
            return
        inner = nl + " "
        sep = "[" + inner
        for v in value:
            parts.append(sep)
            _indent(v, enc, inner, parts)
            sep = "," + inner
        parts.append(nl + "]")
    elif value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif tv is float and math.isfinite(value):
        parts.append(float.__repr__(value))
    else:  # NaN, infinities, subclasses, anything json.dumps would call default for
        raise _Unusual


def indented(value: Any, ascii_only: bool = False, level: int = 0) -> str:
    """``json.dumps(value, ensure_ascii=ascii_only, indent=1)`` (what the JSON documents
    are), as if nested ``level`` deep in one: every line after the first indented by
    ``level`` more spaces. The same text, made ~2x faster than the standard library's
    pure-Python indenting encoder for plain JSON data (tests/io/test_trace_output_rows.py);
    anything unusual goes to ``json.dumps`` itself."""
    parts: list[str] = []
    try:
        _indent(value, encode_basestring_ascii if ascii_only else encode_basestring, "\n" + " " * level, parts)
    except (_Unusual, RecursionError):
        text = json.dumps(value, ensure_ascii=ascii_only, indent=1)
        return text.replace("\n", "\n" + " " * level) if level else text  # JSON text has no other raw newline
    return "".join(parts)


def dump_document(fmt: str, body: Mapping[str, Any], out: TextIO) -> None:
    """Write :func:`document` to ``out`` (indent 1, a final newline)."""
    out.write(indented(document(fmt, body), needs_ascii(out)))
    out.write("\n")
