"""Effective filter weights (wfp-model.md §3.2).

The engine orders the filters of a sublayer by a UINT64 *effective weight*:

* ``FWP_UINT64`` — used unchanged (0 .. 2^64-1).
* ``FWP_UINT8`` 0..15 — a weight-range index: ``(index << 60) | auto_weight(conditions)``.
* ``FWP_EMPTY`` — ``auto_weight(conditions)``, i.e. weight range 0.

Windows' auto-weight (the low 60 bits) is undocumented and differs by layer and build
(§3.2, Q14); only "more conditions ⇒ more bits ⇒ evaluated first" is observed. This
module therefore uses its own *documented, approximate* specificity rule. The low 60
bits are four 8-bit counters, most significant first, so that they compare
lexicographically (each saturates at 255):

=========  ==========================================================================
bits       counter
=========  ==========================================================================
52..59     number of distinct condition fields (field groups, §4.1)
44..51     number of *exact* field groups: a single ``EQUAL`` condition whose value is
           one point — an integer, string, SID, blob, FWP_EMPTY, or a full-length
           address mask (/32, /128). Masks, ranges, comparisons, flags, prefixes,
           security descriptors and OR groups are not exact.
36..43     sum of the prefix lengths of ``EQUAL`` address-mask conditions (a /24 is more
           specific than a /8); with several masks ORed on one field, the shortest counts
28..35     255 minus the number of *extra* OR alternatives (conditions beyond one per
           field): a filter with fewer alternatives is more specific. Filters with no
           conditions get 0 here, so that their low bits are 0 as observed in dumps.
0..27      zero
=========  ==========================================================================

So: more fields first; then more exact fields; then narrower address masks; then fewer
OR alternatives. Ties stay ties (arbitration breaks them by filter id and flags them).
Imported filters carry Windows' real ``effectiveWeight``; loaders keep it and do not
call this module.
"""

from __future__ import annotations

from collections.abc import Iterable

from wfptui.core.datatypes import DataType
from wfptui.core.model import (
    EMPTY,
    FWPM_AUTO_WEIGHT_BITS,
    FWPM_AUTO_WEIGHT_MAX,
    FWPM_WEIGHT_RANGE_MAX,
    AddrMask,
    Blob,
    Condition,
    MatchType,
    Weight,
)

#: Largest UINT64.
UINT64_MAX = (1 << 64) - 1

_FIELDS_SHIFT = 52
_EXACT_SHIFT = 44
_PREFIX_SHIFT = 36
_ALTERNATIVES_SHIFT = 28
_COUNTER_MAX = 0xFF


def _sat(n: int) -> int:
    return min(max(n, 0), _COUNTER_MAX)


def _is_exact(cond: Condition) -> bool:
    """A single point: EQUAL with a scalar value or a full-length mask."""
    if cond.match != MatchType.FWP_MATCH_EQUAL:
        return False
    v = cond.value
    if isinstance(v, AddrMask):
        return v.prefix >= v.bits
    return isinstance(v, int | str | Blob) or v is EMPTY


def auto_weight(conditions: Iterable[Condition]) -> int:
    """The low 60 bits BFE would compute for FWP_EMPTY / FWP_UINT8 weights (rule above)."""
    groups: dict[str, list[Condition]] = {}
    for c in conditions:
        groups.setdefault(c.field, []).append(c)
    if not groups:
        return 0
    n_conditions = sum(len(g) for g in groups.values())
    exact = sum(1 for g in groups.values() if len(g) == 1 and _is_exact(g[0]))
    prefix_total = 0
    for g in groups.values():
        masks = [c.value for c in g if c.match == MatchType.FWP_MATCH_EQUAL and isinstance(c.value, AddrMask)]
        if masks and len(masks) == len(g):
            prefix_total += min(m.prefix for m in masks)  # an OR is only as narrow as its widest arm
    alternatives = n_conditions - len(groups)
    weight = (
        (_sat(len(groups)) << _FIELDS_SHIFT)
        | (_sat(exact) << _EXACT_SHIFT)
        | (_sat(prefix_total) << _PREFIX_SHIFT)
        | ((_COUNTER_MAX - _sat(alternatives)) << _ALTERNATIVES_SHIFT)
    )
    assert weight <= FWPM_AUTO_WEIGHT_MAX
    return weight


def effective_weight(weight: Weight, conditions: Iterable[Condition]) -> int:
    """The UINT64 the engine sorts by, for a filter added with ``weight`` (§3.2).

    Raises ValueError for an out-of-range UINT8 index or UINT64 value, or another type.
    """
    if weight.type == DataType.FWP_EMPTY:
        return auto_weight(conditions)
    if weight.type == DataType.FWP_UINT8:
        index = weight.value
        if index is None or not 0 <= index <= FWPM_WEIGHT_RANGE_MAX:
            raise ValueError(f"FWP_UINT8 weight must be a range index 0..{FWPM_WEIGHT_RANGE_MAX}, got {index}")
        return (index << FWPM_AUTO_WEIGHT_BITS) | auto_weight(conditions)
    if weight.type == DataType.FWP_UINT64:
        value = weight.value
        if value is None or not 0 <= value <= UINT64_MAX:
            raise ValueError(f"FWP_UINT64 weight must be 0..0x{UINT64_MAX:x}, got {value}")
        return value
    raise ValueError(f"a filter weight is FWP_EMPTY, FWP_UINT8 or FWP_UINT64, not {weight.type.name}")
