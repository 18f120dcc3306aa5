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
from collections.abc import Mapping
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
def _wide_field(name: str) -> bool:
    from wfptui.core.fields import CONDITION_FIELDS

    f = CONDITION_FIELDS.get(name)
    return f is not None and f.dtype in _WIDE_TYPES


def _str_int(v: Any) -> Any:
    return str(v) if type(v) is int else v


def wide_to_str(value: Any) -> Any:
    """A copy of ``value`` (JSON-able data) with every 64-bit WFP value as a string."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            tv = type(v)
            if tv is int:
                out[k] = str(v) if k in WIDE_KEYS else v
            elif tv is str or tv is float or tv is bool or v is None:  # the common leaves, fast
                out[k] = v
            elif k == "fields" and isinstance(v, Mapping):
                out[k] = {fk: (_str_int(fv) if _wide_field(str(fk)) else wide_to_str(fv)) for fk, fv in v.items()}
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


def dump_document(fmt: str, body: Mapping[str, Any], out: TextIO) -> None:
    """Write :func:`document` to ``out`` (indent 1, a final newline)."""
    out.write(json.dumps(document(fmt, body), ensure_ascii=needs_ascii(out), indent=1))
    out.write("\n")
