"""Condition semantics: does a classified value satisfy a filter condition (wfp-model.md §4.1, §4.2).

Two entry points with identical semantics:

* :func:`condition_matches` / :func:`filter_matches` — the readable reference, used by
  ``arbitration.classify_naive`` and by explanations;
* :func:`compile_group` / :func:`compile_filter` — closures specialised once per filter
  by match type and value kind, used by the compiled (indexed) classifier.

Rules (§4.1, §4.2):

* Conditions combine as AND across fields and OR within one field, whatever their order
  (Q12: grouped regardless of adjacency, as BFE effectively sorts them) — from Windows 7 on;
  a Vista host ANDs every condition (``same_field_ored``, FWPM_FILTER0). Zero conditions
  match everything. A field missing from the classified values is FWP_EMPTY.
* An FWP_EMPTY classified value matches only ``EQUAL`` with an FWP_EMPTY condition value;
  every other condition on that field fails (D-REAUTH). A non-empty value never equals an
  EMPTY condition value, and is ``NOT_EQUAL`` to it.
* No implicit conversion: comparing values of different kinds (an int with a string ...)
  is false for every match type, ``NOT_EQUAL`` included.
* ``EQUAL``/``NOT_EQUAL`` with an address mask test CIDR containment; with a
  security descriptor they run ``sddl.access_check(sd, token, FWP_ACTRL_MATCH_FILTER)``
  (granted = EQUAL); with an FWP_SID condition they compare SID strings case-insensitively
  (a Token value matches when the SID is its user or one of its groups); with a range
  they test inclusive membership.
* ``GREATER``/``LESS``/``..._OR_EQUAL``/``RANGE`` compare sortable values of one kind
  (integers, strings, blobs); range bounds are inclusive.
* ``FLAGS_ALL_SET``/``FLAGS_ANY_SET``/``FLAGS_NONE_SET`` act on integers.
* ``EQUAL_CASE_INSENSITIVE`` compares strings ignoring case.
* ``PREFIX``/``NOT_PREFIX`` are, as in Windows, *suffix* tests on strings (and blobs).
* ``FWP_MATCH_TYPE_MAX`` (a sentinel, not a match type) never matches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from wfptui.core.datatypes import DataType, WinVersion
from wfptui.core.model import (
    EMPTY,
    FWP_ACTRL_MATCH_FILTER,
    AddrMask,
    Blob,
    Condition,
    Filter,
    MatchType,
    Range,
    SecurityDescriptor,
    Token,
    Value,
)

#: A compiled test of one classified value.
ValueTest = Callable[[Value], bool]
#: A compiled test of a whole packet (the classified values by field name).
PacketTest = Callable[[Mapping[str, Value]], bool]

M = MatchType


def _access_check(sd: SecurityDescriptor, token: Token) -> bool:
    # Imported late: sddl is a sibling module and only SD conditions need it.
    from wfptui.core.sddl import access_check

    return bool(access_check(sd, token, FWP_ACTRL_MATCH_FILTER))


def _kind(value: object) -> type | None:
    """The comparable kind of a value: int, str or bytes (blobs); None = not sortable."""
    if isinstance(value, int):
        return int
    if isinstance(value, str):
        return str
    if isinstance(value, Blob):
        return bytes
    return None


def _sortable(value: object) -> Any:
    """The Python value to order by (blobs compare as bytes)."""
    return value.data if isinstance(value, Blob) else value


def _is_sid(cond: Condition) -> bool:
    return cond.dtype == DataType.FWP_SID and isinstance(cond.value, str)


def _sid_equal(sid: str, value: Value) -> bool | None:
    """SID comparison; None when the value is not SID-like (kind mismatch)."""
    s = sid.upper()
    if isinstance(value, str):
        return value.upper() == s
    if isinstance(value, Token):
        return any(x.upper() == s for x in value.sids)
    return None


def _equal(cond: Condition, value: Value) -> bool | None:
    """EQUAL semantics; None = the kinds are not comparable (false for EQUAL and NOT_EQUAL)."""
    cv = cond.value
    if isinstance(cv, AddrMask):
        return cv.contains(value) if isinstance(value, int) else None
    if isinstance(cv, SecurityDescriptor):
        return _access_check(cv, value) if isinstance(value, Token) else None
    if isinstance(cv, Range):
        return _in_range(cv, value)
    if _is_sid(cond):
        assert isinstance(cv, str)
        return _sid_equal(cv, value)
    if cv is EMPTY:
        return False  # value is not EMPTY here (handled by the caller)
    k = _kind(cv)
    if k is None:  # Token as a condition value: plain structural equality
        return cv == value
    if _kind(value) is not k:
        return None
    return bool(cv == value)


def _in_range(rng: Range, value: Value) -> bool | None:
    k = _kind(value)
    if k is None or _kind(rng.low) is not k or _kind(rng.high) is not k:
        return None
    v = _sortable(value)
    return bool(_sortable(rng.low) <= v <= _sortable(rng.high))


def condition_matches(cond: Condition, value: Value) -> bool:
    """Whether one classified ``value`` satisfies ``cond`` (§4.2). The reference semantics."""
    m = cond.match
    if value is EMPTY:
        return m == M.FWP_MATCH_EQUAL and cond.value is EMPTY
    if m == M.FWP_MATCH_EQUAL:
        return _equal(cond, value) is True
    if m == M.FWP_MATCH_NOT_EQUAL:
        if cond.value is EMPTY:
            return True  # any known value differs from "unknown"
        return _equal(cond, value) is False
    if m == M.FWP_MATCH_RANGE:
        return isinstance(cond.value, Range) and _in_range(cond.value, value) is True
    if m in (M.FWP_MATCH_GREATER, M.FWP_MATCH_LESS, M.FWP_MATCH_GREATER_OR_EQUAL, M.FWP_MATCH_LESS_OR_EQUAL):
        k = _kind(value)
        if k is None or _kind(cond.value) is not k:
            return False
        v, c = _sortable(value), _sortable(cond.value)
        if m == M.FWP_MATCH_GREATER:
            return bool(v > c)
        if m == M.FWP_MATCH_LESS:
            return bool(v < c)
        if m == M.FWP_MATCH_GREATER_OR_EQUAL:
            return bool(v >= c)
        return bool(v <= c)
    if m in (M.FWP_MATCH_FLAGS_ALL_SET, M.FWP_MATCH_FLAGS_ANY_SET, M.FWP_MATCH_FLAGS_NONE_SET):
        if not isinstance(value, int) or not isinstance(cond.value, int):
            return False
        masked = value & cond.value
        if m == M.FWP_MATCH_FLAGS_ALL_SET:
            return masked == cond.value
        if m == M.FWP_MATCH_FLAGS_ANY_SET:
            return masked != 0
        return masked == 0
    if m == M.FWP_MATCH_EQUAL_CASE_INSENSITIVE:
        if isinstance(value, str) and isinstance(cond.value, str):
            return value.casefold() == cond.value.casefold()
        return False
    if m in (M.FWP_MATCH_PREFIX, M.FWP_MATCH_NOT_PREFIX):
        # Windows' "prefix" is a suffix test (§4.2).
        if isinstance(value, str) and isinstance(cond.value, str):
            ends = value.endswith(cond.value)
        elif isinstance(value, Blob) and isinstance(cond.value, Blob):
            ends = value.data.endswith(cond.value.data)
        else:
            return False
        return ends if m == M.FWP_MATCH_PREFIX else not ends
    return False  # FWP_MATCH_TYPE_MAX: not a match type


#: FWPM_FILTER0 remarks (learn.microsoft.com/windows/win32/api/fwpmtypes/ns-fwpmtypes-fwpm_filter0):
#: "For Windows 7 and Windows Server 2008 R2 and later, consecutive conditions with the same
#: fieldKey are logically ORed"; before (Vista / Server 2008) every condition is ANDed.
SAME_FIELD_OR_SINCE = WinVersion.WIN7


def same_field_ored(windows: WinVersion) -> bool:
    """Whether a host of ``windows`` ORs conditions on one field (else ANDs all)."""
    return windows >= SAME_FIELD_OR_SINCE


def condition_groups(conditions: Iterable[Condition], ored: bool = True) -> list[tuple[str, list[Condition]]]:
    """The groups that must all hold, each ORing its conditions: by field when ``ored``
    (Windows 7+), else one group per condition (Vista: everything ANDed)."""
    if ored:
        return list(group_conditions(conditions).items())
    return [(c.field, [c]) for c in conditions]


def group_conditions(conditions: Iterable[Condition]) -> dict[str, list[Condition]]:
    """Conditions by field, in first-appearance order (§4.1: OR within a field)."""
    groups: dict[str, list[Condition]] = {}
    for c in conditions:
        groups.setdefault(c.field, []).append(c)
    return groups


def filter_matches(flt: Filter, values: Mapping[str, Value], ored: bool = True) -> bool:
    """AND across fields, OR within a field (``ored``; else AND of all); zero conditions
    match everything (§4.1)."""
    return conditions_match(flt.conditions, values, ored)


def conditions_match(conditions: Iterable[Condition], values: Mapping[str, Value], ored: bool = True) -> bool:
    """:func:`filter_matches` of a bare condition list (a declared callout's rule, issue 15)."""
    for fld, conds in condition_groups(conditions, ored):
        value = values.get(fld, EMPTY)
        if not any(condition_matches(c, value) for c in conds):
            return False
    return True


# ----------------------------------------------------------------------------- compiled


def _compile_one(cond: Condition) -> ValueTest:
    """A closure equivalent to ``condition_matches(cond, value)``, specialised for the common cases."""
    m, cv = cond.match, cond.value
    # Plain integers (ports, protocol, exact IPv4/IPv6 addresses, flags...): the hot path.
    if type(cv) is int:
        if m == M.FWP_MATCH_EQUAL:
            # No other Value kind (EMPTY, str, Blob, AddrMask, Token...) compares equal to an int.
            return lambda v: v == cv
        if m == M.FWP_MATCH_NOT_EQUAL:
            return lambda v: isinstance(v, int) and v != cv
        if m == M.FWP_MATCH_GREATER:
            return lambda v: isinstance(v, int) and v > cv
        if m == M.FWP_MATCH_LESS:
            return lambda v: isinstance(v, int) and v < cv
        if m == M.FWP_MATCH_GREATER_OR_EQUAL:
            return lambda v: isinstance(v, int) and v >= cv
        if m == M.FWP_MATCH_LESS_OR_EQUAL:
            return lambda v: isinstance(v, int) and v <= cv
        if m == M.FWP_MATCH_FLAGS_ALL_SET:
            return lambda v: isinstance(v, int) and v & cv == cv
        if m == M.FWP_MATCH_FLAGS_ANY_SET:
            return lambda v: isinstance(v, int) and v & cv != 0
        if m == M.FWP_MATCH_FLAGS_NONE_SET:
            return lambda v: isinstance(v, int) and v & cv == 0
    elif isinstance(cv, AddrMask) and m in (M.FWP_MATCH_EQUAL, M.FWP_MATCH_NOT_EQUAL):
        shift, key = cv.bits - cv.prefix, cv.addr >> (cv.bits - cv.prefix)
        if m == M.FWP_MATCH_EQUAL:
            return lambda v: isinstance(v, int) and v >> shift == key
        return lambda v: isinstance(v, int) and v >> shift != key
    elif (
        isinstance(cv, Range)
        and type(cv.low) is int
        and type(cv.high) is int
        and m in (M.FWP_MATCH_RANGE, M.FWP_MATCH_EQUAL)
    ):
        lo, hi = cv.low, cv.high
        return lambda v: isinstance(v, int) and lo <= v <= hi
    elif isinstance(cv, str) and not _is_sid(cond):
        if m == M.FWP_MATCH_EQUAL:
            return lambda v: v == cv
        if m == M.FWP_MATCH_PREFIX:
            return lambda v: isinstance(v, str) and v.endswith(cv)
        if m == M.FWP_MATCH_NOT_PREFIX:
            return lambda v: isinstance(v, str) and not v.endswith(cv)
        if m == M.FWP_MATCH_EQUAL_CASE_INSENSITIVE:
            folded = cv.casefold()
            return lambda v: isinstance(v, str) and v.casefold() == folded
    # Everything else (SIDs, security descriptors, blobs, EMPTY, bools...): the reference.
    return lambda v: condition_matches(cond, v)


def compile_group(conds: Iterable[Condition]) -> ValueTest:
    """One field's conditions ORed into a single value test."""
    conds = list(conds)
    if all(c.match == M.FWP_MATCH_EQUAL and type(c.value) is int for c in conds) and len(conds) > 1:
        allowed = frozenset(c.value for c in conds)
        return lambda v: v in allowed  # every Value is hashable; only ints equal ints
    tests = [_compile_one(c) for c in conds]
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        t1, t2 = tests
        return lambda v: t1(v) or t2(v)
    return lambda v: any(t(v) for t in tests)


def compile_filter(flt: Filter, skip_field: str | None = None, ored: bool = True) -> PacketTest:
    """A closure equivalent to ``filter_matches(flt, values, ored)``.

    ``skip_field`` leaves out one field group that the caller already proved true
    (the field the dispatch index looked the filter up by; only with ``ored``, where a
    field has one group).
    """
    return compile_conditions(flt.conditions, skip_field, ored)


def compile_conditions(conditions: Iterable[Condition], skip_field: str | None = None,
                       ored: bool = True) -> PacketTest:
    """:func:`compile_filter` of a bare condition list (a declared callout's rule, issue 15)."""
    groups = [
        (fld, compile_group(conds))
        for fld, conds in condition_groups(conditions, ored)
        if fld != skip_field or not ored
    ]
    empty = EMPTY
    if not groups:
        return lambda values: True
    if len(groups) == 1:
        (f1, g1), = groups
        return lambda values: g1(values.get(f1, empty))
    if len(groups) == 2:
        (f1, g1), (f2, g2) = groups
        return lambda values: g1(values.get(f1, empty)) and g2(values.get(f2, empty))
    if len(groups) == 3:
        (f1, g1), (f2, g2), (f3, g3) = groups
        return lambda values: (
            g1(values.get(f1, empty)) and g2(values.get(f2, empty)) and g3(values.get(f3, empty))
        )
    return lambda values: all(g(values.get(f, empty)) for f, g in groups)
