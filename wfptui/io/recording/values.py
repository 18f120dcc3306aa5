"""Value helpers shared by the recording writer and reader: hashing, thawing, type checks.

``freeze`` makes a hashable key for interning (1, 1.0 and True stay distinct); ``thaw``
turns decoded msgpack (tuples) back into JSON-like data with a nesting limit; ``plain``
turns Python objects into packable data; the ``as_*`` checks raise ValueError on a wrong
type (a corrupted record).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from itertools import compress
from operator import not_
from typing import Any

from wfptui.core.scenario import implied_raw

#: Deepest nesting of a converted value (header, atoms, inputs, expect maps).
MAX_DEPTH = 48
#: Types a decoded atom can have as itself (anything else goes through ``thaw``).
SCALARS = frozenset({str, int, float, bool, type(None), bytes})
MISSING = object()
_CONTAINERS = frozenset({list, dict})
_ALL_SCALARS = SCALARS.issuperset
#: Whether every type an iterable gives is exactly int / dict (``all_ints(map(type, xs))``:
#: checked in C; a bool is not an int here).
all_ints = frozenset({int}).issuperset
all_dicts = frozenset({dict}).issuperset
_TYPES = partial(map, type)

def freeze(value: Any) -> Any:
    """A hashable key for a msgpack-able value; 1, 1.0 and True stay distinct."""
    t = type(value)
    if t is list or t is tuple:
        return (list, tuple(freeze(v) for v in value))
    if t is dict:
        return (dict, tuple((k, freeze(v)) for k, v in value.items()))
    return (t, value)


def thaw(value: Any, depth: int = 0) -> Any:
    """Decoded msgpack (tuples, dicts) back to JSON-like data (lists, dicts); checks nesting."""
    if depth > MAX_DEPTH:
        raise ValueError("nested too deeply")
    t = type(value)
    if depth < MAX_DEPTH:  # a scalar child is itself (no call per value: headers hold ~20 per step)
        if t is tuple or t is list:
            return [v if type(v) in SCALARS else thaw(v, depth + 1) for v in value]
        if t is dict:
            return {k: v if type(v) in SCALARS else thaw(v, depth + 1) for k, v in value.items()}
    elif t is tuple or t is list:  # at the limit: a child of any kind is too deep
        return [thaw(v, depth + 1) for v in value]
    elif t is dict:
        return {k: thaw(v, depth + 1) for k, v in value.items()}
    if t in SCALARS:
        return value
    raise ValueError(f"unexpected value of type {t.__name__}")


def checked(value: Any, depth: int = 0) -> Any:
    """``value`` decoded with lists (msgpack ``use_list=True``) is already what :func:`thaw`
    would make of it: check it as :func:`thaw` does (nesting, types), without copying."""
    if depth > MAX_DEPTH:
        raise ValueError("nested too deeply")
    t = type(value)
    if t is list or t is dict:
        children = value if t is list else value.values()
        if depth >= MAX_DEPTH:  # at the limit any child is too deep
            for v in children:
                checked(v, depth + 1)
            return value
        if _ALL_SCALARS(map(type, children)):  # (checked in C: a step's raw map, a filter's table)
            return value
        if t is list and depth + 1 < MAX_DEPTH and all_dicts(map(type, value)):
            # a list of maps (a header's steps): the maps of scalars found in C, the rest checked
            plain_maps = map(_ALL_SCALARS, map(_TYPES, map(dict.values, value)))
            for v in compress(value, map(not_, plain_maps)):
                checked(v, depth + 1)
            return value
        for v in children:  # below the limit a scalar or an empty list or map is fine
            if type(v) not in SCALARS and (v or type(v) not in _CONTAINERS):
                checked(v, depth + 1)
    elif t not in SCALARS:
        raise ValueError(f"unexpected value of type {t.__name__}")
    return value


def plain(value: Any) -> Any:
    """JSON-like data for packing: tuples → lists, enums → their value, objects → to_dict()."""
    t = type(value)
    if t in SCALARS:  # (exact types: an enum or a subclass goes the long way below)
        return value
    if t is dict:  # scalar values without a call each (a header holds ~20 per step)
        return {k if type(k) is str else str(k): v if type(v) in SCALARS else plain(v) for k, v in value.items()}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [v if type(v) in SCALARS else plain(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, (str, bytes, float)):
        return value
    if isinstance(value, int):
        return int(value)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return plain(to_dict())
    return str(value)


#: Step keys left out of an input record when they hold these values (Step.from_dict's defaults).
STEP_DEFAULTS: dict[str, Any] = {"packets": 1, "count": 1, "add": [], "remove": [], "raw": {}}


def compact_step(d: Any) -> Any:
    """A step's ``to_dict()`` without None values and defaults (``Step.from_dict`` restores them)."""
    if not isinstance(d, dict):
        return d
    return {k: v for k, v in d.items()
            if v is not None and not (k in STEP_DEFAULTS and v == STEP_DEFAULTS[k])}


def header_step(d: Any) -> Any:
    """A step's ``to_dict()`` (its :func:`plain` form) as a format-4 header holds it
    (docs/recording-format.md §1.1): :func:`compact_step`, and ``raw`` left out where it is
    exactly the table the rest implies (``core.scenario.implied_raw``: same keys in the same
    order, same values of the same types), written, even empty, everywhere else. A step as
    a scenario file wrote it (``do``, ``socket``, ``bytes``) is then its values and its index
    alone: a 1M-classification recording's 164,010 steps decode ~6x faster."""
    if not isinstance(d, dict):
        return d
    out = compact_step(d)
    out.pop("raw", None)
    raw = d.get("raw", {})
    if freeze(raw) != freeze(implied_raw(out)):
        out["raw"] = raw
    return out



# ----------------------------------------------------------------------------- type checks


def as_str(v: Any) -> str:
    if type(v) is not str:
        raise ValueError(f"expected a string, got {type(v).__name__}")
    return v


def as_int(v: Any) -> int:
    if type(v) is not int:
        raise ValueError(f"expected an integer, got {type(v).__name__}")
    return v


def as_bool(v: Any) -> bool:
    if type(v) is not bool:
        raise ValueError(f"expected a boolean, got {type(v).__name__}")
    return v


def str_or_none(v: Any) -> str | None:
    if v is None or type(v) is str:
        return v
    raise ValueError(f"expected a string, got {type(v).__name__}")


def int_or_none(v: Any) -> int | None:
    if v is None or (type(v) is int):
        return v
    raise ValueError(f"expected an integer, got {type(v).__name__}")


def nonneg(v: Any) -> int:
    """An atom or table reference: a non-negative int."""
    if type(v) is not int or v < 0:
        raise ValueError(f"bad reference {v!r}")
    return v


def time_of(v: float | None) -> float:
    if v is None:
        raise ValueError("bad time")
    return v


def flat_data(atoms: Sequence[Any], flat: Sequence[Any]) -> dict[str, Any]:
    """A record's flattened ``k1, v1, k2, v2 ...`` atom references as a dict."""
    if len(flat) % 2:
        raise ValueError("odd data list")
    return {as_str(atoms[nonneg(flat[i])]): atoms[nonneg(flat[i + 1])] for i in range(0, len(flat), 2)}


def copy_value(v: Any) -> Any:
    """A private copy of a table value (fields/data values may be lists or dicts)."""
    if type(v) in (list, dict):
        return thaw(v)
    return v
