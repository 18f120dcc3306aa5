"""Condition-cover reasoning for ``wfptui.core.lint``: which filters' conditions cover others'.

``covers(higher, lower)`` says whether every packet matching ``lower`` matches ``higher``;
``never_holds(f)`` lists the field groups of ``f`` no value satisfies. The rules (what is
exact, what is *inexact* and makes the linter stay silent, how pairwise checks are
bucketed) are described in ``wfptui.core.lint``, which re-exports both names.

This module reads no files and imports only the standard library and ``wfptui.core``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from typing import Any

from wfptui.core.datatypes import UINT_BITS, DataType
from wfptui.core.match import condition_matches, group_conditions
from wfptui.core.model import (
    EMPTY,
    AddrMask,
    Blob,
    Condition,
    Filter,
    MatchType,
    Range,
    Value,
)

__all__ = ["CoverIndex", "FilterInfo", "Interval", "covers", "info_covers", "never_holds"]

M = MatchType

#: Integer intervals up to this size are checked value by value (exact for any condition).
_ENUMERATE_MAX = 256


# ----------------------------------------------------------------------------- pieces
#
# A condition becomes a list of *pieces* whose union is exactly the set of values it
# accepts (within the field's type), or None when that cannot be said exactly.

Interval = tuple[int | None, int | None]  # inclusive; None = unbounded
Piece = tuple[str, Any]  # ("point", v) | ("ivl", (lo, hi)) | ("all", a) | ("none", a) | ("ci", s) | ("sfx", s)


def _domain(layer: str, fld: str) -> Interval:
    """The values of an unsigned field (addresses included); unbounded when not an integer."""
    from wfptui.core.layers import get_layer

    try:
        lf = get_layer(layer).field(fld)
    except KeyError:
        return (None, None)
    if lf is None:
        return (None, None)
    bits = UINT_BITS.get(lf.dtype) or (128 if lf.dtype == DataType.FWP_BYTE_ARRAY16_TYPE else None)
    return (0, (1 << bits) - 1) if bits else (None, None)


def _clip(lo: int | None, hi: int | None, dom: Interval) -> Interval | None:
    dlo, dhi = dom
    if dlo is not None and (lo is None or lo < dlo):
        lo = dlo
    if dhi is not None and (hi is None or hi > dhi):
        hi = dhi
    if lo is not None and hi is not None and lo > hi:
        return None
    return (lo, hi)


def _mask_span(m: AddrMask) -> tuple[int, int]:
    shift = m.bits - m.prefix
    base = (m.addr >> shift) << shift
    return base, base + (1 << shift) - 1


def _is_int(v: object) -> bool:
    return type(v) is int


def _pieces(c: Condition, dom: Interval) -> list[Piece] | None:
    """The condition as exact pieces within ``dom`` ([] = never holds), or None (inexact)."""
    m, v = c.match, c.value
    ivls: list[tuple[int | None, int | None]] = []
    if m == M.FWP_MATCH_EQUAL:
        if v is EMPTY or isinstance(v, Blob) or (isinstance(v, str) and c.dtype != DataType.FWP_SID):
            return [("point", v)]
        if _is_int(v):
            assert isinstance(v, int)
            return [("point", v)] if _clip(v, v, dom) else []
        if isinstance(v, AddrMask):
            ivls.append(_mask_span(v))
        elif isinstance(v, Range) and isinstance(v.low, int) and isinstance(v.high, int):
            ivls.append((v.low, v.high))
        else:
            return None
    elif m == M.FWP_MATCH_RANGE:
        if not (isinstance(v, Range) and isinstance(v.low, int) and isinstance(v.high, int)):
            return None
        low, high = v.low, v.high
        ivls.append((low, high))
    elif m in (M.FWP_MATCH_GREATER, M.FWP_MATCH_LESS, M.FWP_MATCH_GREATER_OR_EQUAL, M.FWP_MATCH_LESS_OR_EQUAL):
        if not _is_int(v):
            return None
        assert isinstance(v, int)
        ivls.append({M.FWP_MATCH_GREATER: (v + 1, None), M.FWP_MATCH_LESS: (None, v - 1),
                     M.FWP_MATCH_GREATER_OR_EQUAL: (v, None), M.FWP_MATCH_LESS_OR_EQUAL: (None, v)}[m])
    elif m == M.FWP_MATCH_NOT_EQUAL:
        if _is_int(v):
            assert isinstance(v, int)
            ivls += [(None, v - 1), (v + 1, None)]
        elif isinstance(v, AddrMask):
            lo, hi = _mask_span(v)
            ivls += [(None, lo - 1), (hi + 1, None)]
        else:
            return None
    elif m in (M.FWP_MATCH_FLAGS_ALL_SET, M.FWP_MATCH_FLAGS_ANY_SET, M.FWP_MATCH_FLAGS_NONE_SET):
        if not _is_int(v):
            return None
        assert isinstance(v, int)
        if v < 0:
            return None
        dmax = dom[1]
        if v == 0:  # ALL_SET 0 / NONE_SET 0 hold for every integer; ANY_SET 0 for none
            return [] if m == M.FWP_MATCH_FLAGS_ANY_SET else [("ivl", dom)]
        if m == M.FWP_MATCH_FLAGS_NONE_SET:
            return [("none", v)]
        if dmax is not None and dom[0] == 0:
            v_in: int = v & dmax
            if m == M.FWP_MATCH_FLAGS_ALL_SET and v_in != v:
                return []  # a bit the type cannot hold must be set
            v = v_in
        if m == M.FWP_MATCH_FLAGS_ALL_SET:
            return [("all", v)]
        return [("all", 1 << i) for i in range(v.bit_length()) if v >> i & 1]  # ANY_SET: one bit of v
    elif m == M.FWP_MATCH_EQUAL_CASE_INSENSITIVE:
        return [("ci", v.casefold())] if isinstance(v, str) else []
    elif m == M.FWP_MATCH_PREFIX:
        return [("sfx", v)] if isinstance(v, str | Blob) else []
    elif m == M.FWP_MATCH_TYPE_MAX:
        return []  # not a match type: never matches (core.match)
    else:
        return None
    out: list[Piece] = []
    for a, b in ivls:
        if a is not None and b is not None and a > b:
            continue
        clipped = _clip(a, b, dom)
        if clipped is not None:
            out.append(("ivl", clipped))
    return out


def _rep(p: Piece) -> Hashable:
    """One value the piece accepts (the bucket key to look up)."""
    kind, v = p
    if kind == "ivl":
        lo, hi = v
        return lo if lo is not None else hi if hi is not None else 0
    if kind == "none":
        return 0
    rep: Hashable = v
    return rep  # point, all, ci, sfx: the value itself is accepted


class _Group:
    """One field group of one filter, analysed once."""

    __slots__ = ("conds", "condset", "dom", "exact", "never", "pieces", "points", "_union")

    def __init__(self, conds: list[Condition], dom: Interval) -> None:
        self.conds = conds
        self.condset = frozenset(conds)
        self.dom = dom
        #: per condition: its pieces, or None (inexact)
        self.pieces: list[list[Piece] | None] = [_pieces(c, dom) for c in conds]
        self.exact = all(p is not None for p in self.pieces)
        self.never = self.exact and not any(self.pieces)
        pts: list[Hashable] = []
        for ps in self.pieces:
            if ps is None or any(k != "point" for k, _ in ps):
                pts = []
                break
            pts += [v for _, v in ps]
        #: the group is exactly these single values (for the index), or empty
        self.points: tuple[Hashable, ...] = tuple(dict.fromkeys(pts))
        self._union: list[Interval] | None = None

    def accepts(self, v: Value) -> bool:
        """The classifier's own answer for one value (§4.1: OR within the field)."""
        return any(condition_matches(c, v) for c in self.conds)

    def union(self) -> list[Interval]:
        """Merged integer intervals this group surely accepts (an under-approximation)."""
        if self._union is None:
            ivls: list[Interval] = []
            for ps in self.pieces:
                for kind, v in ps or ():
                    if kind == "point" and _is_int(v):
                        ivls.append((v, v))
                    elif kind == "ivl":
                        ivls.append(v)
            ivls.sort(key=lambda iv: -(1 << 200) if iv[0] is None else iv[0])
            merged: list[Interval] = []
            for lo, hi in ivls:
                if merged:
                    plo, phi = merged[-1]
                    if phi is None or lo is None or lo <= phi + 1:
                        merged[-1] = (plo, None if phi is None or hi is None else max(phi, hi))
                        continue
                merged.append((lo, hi))
            self._union = merged
        return self._union

    def covers_interval(self, lo: int | None, hi: int | None) -> bool:
        if lo is not None and hi is not None and hi - lo < _ENUMERATE_MAX:
            return all(self.accepts(x) for x in range(lo, hi + 1))
        for ulo, uhi in self.union():
            if (ulo is None or (lo is not None and ulo <= lo)) and (uhi is None or (hi is not None and hi <= uhi)):
                return True
        return False

    def covers_piece(self, p: Piece) -> bool:
        kind, v = p
        if kind == "point":
            return self.accepts(v)
        if kind == "ivl":
            lo, hi = v
            return self.covers_interval(lo, hi)
        if kind in ("all", "none") and self.covers_interval(*self.dom):
            return True  # flags pieces hold only integers of the field's type
        for c in self.conds:
            cv = c.value
            if kind == "all" and _is_int(cv) and isinstance(v, int):
                assert isinstance(cv, int)
                if c.match == M.FWP_MATCH_FLAGS_ALL_SET and cv & ~v == 0:
                    return True
                if c.match == M.FWP_MATCH_FLAGS_ANY_SET and cv & v:
                    return True
            elif kind == "none" and isinstance(cv, int) and isinstance(v, int):
                if c.match == M.FWP_MATCH_FLAGS_NONE_SET and cv & ~v == 0:
                    return True
            elif kind == "ci" and c.match == M.FWP_MATCH_EQUAL_CASE_INSENSITIVE and isinstance(cv, str):
                if cv.casefold() == v:
                    return True
            elif kind == "sfx" and c.match == M.FWP_MATCH_PREFIX:
                if isinstance(v, str) and isinstance(cv, str) and v.endswith(cv):
                    return True
                if isinstance(v, Blob) and isinstance(cv, Blob) and v.data.endswith(cv.data):
                    return True
        return False

    def covers(self, other: _Group) -> bool:
        """Every value ``other`` accepts, this group accepts (exactly proven, else False)."""
        for c, ps in zip(other.conds, other.pieces, strict=True):
            if c in self.condset:
                continue  # the same condition: the same values
            if ps is None:
                return False  # inexact: stay silent
            if not all(self.covers_piece(p) for p in ps):
                return False
        return True

    def reps(self) -> list[Hashable]:
        """Values this group accepts, one per proven piece (for index look-ups)."""
        out: list[Hashable] = []
        for ps in self.pieces:
            if ps is None:
                continue
            out += [_rep(p) for p in ps]
        return out


class FilterInfo:
    """One filter, analysed once."""

    __slots__ = ("f", "groups", "pos", "never")

    def __init__(self, f: Filter, doms: dict[tuple[str, str], Interval]) -> None:
        self.f = f
        self.pos = 0
        self.groups: dict[str, _Group] = {}
        for fld, conds in group_conditions(f.conditions).items():
            key = (f.layer, fld)
            dom = doms.get(key)
            if dom is None:
                dom = doms[key] = _domain(f.layer, fld)
            self.groups[fld] = _Group(conds, dom)
        self.never = [fld for fld, g in self.groups.items() if g.never]


def info_covers(hi: FilterInfo, lo: FilterInfo) -> bool:
    """Whether ``hi``'s conditions cover ``lo``'s on every field ``hi`` has a condition on."""
    for fld, hg in hi.groups.items():
        lg = lo.groups.get(fld)
        if lg is None or not hg.covers(lg):
            return False
    return True


def covers(higher: Filter, lower: Filter) -> bool:
    """Whether every packet that matches ``lower`` matches ``higher`` (proven exactly;
    False when unknown). Both filters must be at the same layer."""
    doms: dict[tuple[str, str], Interval] = {}
    return info_covers(FilterInfo(higher, doms), FilterInfo(lower, doms))


def never_holds(f: Filter) -> list[str]:
    """The fields of ``f`` whose conditions no value of the field's type satisfies."""
    return FilterInfo(f, {}).never


class CoverIndex:
    """Covering filters bucketed by one single-valued field group; the rest are wildcards."""

    def __init__(self, infos: Sequence[FilterInfo]) -> None:
        load: Counter[tuple[str, Hashable]] = Counter()
        for info in infos:
            for fld, g in info.groups.items():
                load.update((fld, p) for p in g.points)
        self.buckets: dict[tuple[str, Hashable], list[FilterInfo]] = {}
        self.wild: list[FilterInfo] = []
        for info in infos:
            opts = [(fld, g) for fld, g in info.groups.items() if g.points]
            if not opts:
                self.wild.append(info)
                continue
            fld, g = min(opts, key=lambda o: (max(load[(o[0], p)] for p in o[1].points), o[0]))
            for p in g.points:
                self.buckets.setdefault((fld, p), []).append(info)

    def candidates(self, info: FilterInfo) -> list[FilterInfo]:
        seen: dict[int, FilterInfo] = {id(x): x for x in self.wild}
        for fld, g in info.groups.items():
            reps = g.reps()
            if not reps:
                continue
            for x in self.buckets.get((fld, reps[0]), ()):
                seen[id(x)] = x
        return sorted(seen.values(), key=lambda x: x.pos)
