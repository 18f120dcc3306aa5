"""Decision tables: which filters of a compiled layer a packet satisfies, as a bitmask
(issue 14, *decide fast*; the rules they implement are core.match's, wfp-model.md §4.1/§4.2).

Filter ``i`` of a layer's ``n`` (in evaluation order, ``core.arbitration.CompiledLayer``) is
bit ``n - 1 - i`` (``bit``): the first filter in evaluation order is the *highest* set bit, found by
``int.bit_length`` in constant time, where the lowest set bit (``m & -m``) costs a pass over the
whole mask — the difference between 100 and 20,000 filters (benchmarks/README.md, "classify").
For every field some filter tests, a :class:`FieldMask` maps the packet's value to the filters
whose conditions on that field hold — or that have none there — so the AND over the fields is
the matched set. Integer values (ports, protocol, addresses, profiles) are looked up by
bisection over the interval ends of the field's EQUAL / RANGE / comparison / address-mask
conditions; any other value (app ids, SIDs, tokens, flags tests) runs the field's compiled
tests once (``core.match.compile_group``) and is memoised. The tests in
tests/core/test_arbitration.py hold these tables to ``core.match.filter_matches`` on random
policies and packets.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

from wfptui.core.match import ValueTest, compile_group, condition_groups
from wfptui.core.model import EMPTY, AddrMask, Condition, Filter, MatchType, Range, Value

__all__ = ["FieldMask", "bit", "field_masks", "position", "positions"]


#: An integer interval, inclusive; None = unbounded on that side.
_Interval = tuple[int | None, int | None]


def _int_intervals(cond: Condition) -> list[_Interval] | None:
    """The integers ``cond`` holds for, as intervals, when that set is all ``cond`` means
    for an ``int`` value (the semantics of core.match for ints); None when it is not a
    set of intervals (flags tests, strings, SIDs...)."""
    m, cv = cond.match, cond.value
    if cv is EMPTY:  # an int is never EMPTY: EQUAL fails, NOT_EQUAL holds
        if m == MatchType.FWP_MATCH_EQUAL:
            return []
        return [(None, None)] if m == MatchType.FWP_MATCH_NOT_EQUAL else None
    if type(cv) is int:
        if m == MatchType.FWP_MATCH_EQUAL:
            return [(cv, cv)]
        if m == MatchType.FWP_MATCH_NOT_EQUAL:
            return [(None, cv - 1), (cv + 1, None)]
        if m == MatchType.FWP_MATCH_GREATER:
            return [(cv + 1, None)]
        if m == MatchType.FWP_MATCH_GREATER_OR_EQUAL:
            return [(cv, None)]
        if m == MatchType.FWP_MATCH_LESS:
            return [(None, cv - 1)]
        if m == MatchType.FWP_MATCH_LESS_OR_EQUAL:
            return [(None, cv)]
        return None
    if isinstance(cv, AddrMask) and m in (MatchType.FWP_MATCH_EQUAL, MatchType.FWP_MATCH_NOT_EQUAL):
        shift = cv.bits - cv.prefix
        lo, hi = (cv.addr >> shift) << shift, (((cv.addr >> shift) + 1) << shift) - 1
        if m == MatchType.FWP_MATCH_EQUAL:
            return [(lo, hi)]
        return [(None, lo - 1), (hi + 1, None)]
    if (isinstance(cv, Range) and type(cv.low) is int and type(cv.high) is int
            and m in (MatchType.FWP_MATCH_RANGE, MatchType.FWP_MATCH_EQUAL)):
        return [(cv.low, cv.high)] if cv.low <= cv.high else []
    return None


class FieldMask:
    """For one field of a compiled layer: value → bitmask of the filters (``bit``)
    whose conditions on this field hold for that value, or that have none (§4.1: each
    field is one ANDed group). A filter matches a packet when its bit survives the AND
    of every field's mask — the decision-only path (issue 14).

    Integer values on a field whose conditions are all intervals (EQUAL, RANGE, address
    masks, comparisons) are looked up by bisection over the interval ends; any other value
    runs the field's compiled tests once and is memoised (bounded)."""

    __slots__ = ("bounds", "field", "free", "memo", "segs", "tests")

    MEMO_MAX = 1 << 14
    #: The interval table holds one mask (one bit per filter at the layer) per interval end:
    #: past this many bytes a field is served by its tests and memo instead (a huge or
    #: hostile policy must not take gigabytes to compile).
    TABLE_BYTES_MAX = 64 << 20

    def __init__(self, fld: str, free: int, tests: list[tuple[int, ValueTest]],
                 intervals: list[tuple[int, list[_Interval]]] | None, width: int = 0) -> None:
        self.field = fld
        self.free = free  # filters without a condition on the field
        self.tests = tests
        self.memo: dict[object, int] = {}
        self.bounds: list[int] | None = None
        self.segs: list[int] = []
        if intervals is not None and 2 * sum(len(ivs) for _, ivs in intervals) * (width // 8 + 32) \
                <= self.TABLE_BYTES_MAX:
            self._sweep(intervals)

    def _sweep(self, intervals: list[tuple[int, list[_Interval]]]) -> None:
        # Per filter, merge its intervals (so that toggling its bit at each end is exact),
        # then sweep the ends in order.
        start = 0
        toggles: dict[int, int] = {}
        for bit, ivs in intervals:
            merged: list[list[int | None]] = []
            for lo, hi in sorted(ivs, key=lambda iv: (0, 0) if iv[0] is None else (1, iv[0])):
                if merged:
                    last_hi = merged[-1][1]
                    if last_hi is None or lo is None or lo <= last_hi + 1:
                        if last_hi is not None and (hi is None or hi > last_hi):
                            merged[-1][1] = hi
                        continue
                merged.append([lo, hi])
            for lo, hi in merged:
                if lo is None:
                    start |= bit
                else:
                    toggles[lo] = toggles.get(lo, 0) ^ bit
                if hi is not None:
                    toggles[hi + 1] = toggles.get(hi + 1, 0) ^ bit
        bounds = sorted(toggles)
        segs = [start | self.free]
        cur = start
        for b in bounds:
            cur ^= toggles[b]
            segs.append(cur | self.free)
        self.bounds, self.segs = bounds, segs

    def compute(self, v: Value) -> int:
        """The mask for ``v`` by running the tests (memoised)."""
        m = self.free
        for bit, test in self.tests:
            if test(v):
                m |= bit
        try:
            if len(self.memo) >= self.MEMO_MAX:
                self.memo.clear()
            self.memo[v] = m
        except TypeError:  # an unhashable value: not memoised
            pass
        return m

    def mask(self, v: Value) -> int:
        if self.bounds is not None and type(v) is int:
            return self.segs[bisect_right(self.bounds, v)]
        try:
            hit = self.memo.get(v)
        except TypeError:
            hit = None
        return hit if hit is not None else self.compute(v)


def _all_of(tests: list[ValueTest]) -> ValueTest:
    return lambda v: all(t(v) for t in tests)


def field_masks(order: Sequence[Filter], ored: bool) -> tuple[int, tuple[FieldMask, ...]]:
    """Every referenced field's mask table, most selective first (fewest free filters)."""
    every = (1 << len(order)) - 1
    per_field: dict[str, list[tuple[int, list[list[Condition]]]]] = {}
    for pos, f in enumerate(order):
        mine: dict[str, list[list[Condition]]] = {}
        for fld, conds in condition_groups(f.conditions, ored):
            mine.setdefault(fld, []).append(conds)
        for fld, groups in mine.items():
            per_field.setdefault(fld, []).append((bit(pos, len(order)), groups))
    tables: list[FieldMask] = []
    for fld, entries in per_field.items():
        constrained = 0
        tests: list[tuple[int, ValueTest]] = []
        intervals: list[tuple[int, list[_Interval]]] | None = [] if ored else None
        for fbit, groups in entries:
            constrained |= fbit
            if len(groups) == 1:
                tests.append((fbit, compile_group(groups[0])))
            else:  # Vista: every condition its own ANDed group
                tests.append((fbit, _all_of([compile_group(g) for g in groups])))
            if intervals is not None:
                ivs: list[_Interval] = []
                for c in groups[0]:
                    iv = _int_intervals(c)
                    if iv is None:
                        intervals = None
                        break
                    ivs.extend(iv)
                else:
                    intervals.append((fbit, ivs))
        tables.append(FieldMask(fld, every & ~constrained, tests, intervals, len(order)))
    tables.sort(key=lambda t: (t.free.bit_count(), t.field))
    return every, tuple(tables)


def bit(pos: int, n: int) -> int:
    """The bit of the filter at evaluation position ``pos`` of ``n`` (the first is the highest)."""
    return 1 << (n - 1 - pos)


def position(mask: int, n: int) -> int:
    """The evaluation position of ``mask``'s first filter (its highest set bit); ``mask`` != 0."""
    return n - mask.bit_length()


def positions(mask: int, n: int) -> tuple[int, ...]:
    """The filters of ``mask`` (a layer of ``n``) as positions, ascending: evaluation order."""
    out: list[int] = []
    while mask:
        top = mask.bit_length() - 1
        out.append(n - 1 - top)
        mask ^= 1 << top
    return tuple(out)
