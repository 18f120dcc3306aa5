"""The reader's side of the format: interning tables, times, define records, building records.

A reader keeps the tables that define records fill (atoms, wheres, decisions, fields
dicts: docs/recording-format.md §1.2, §1.4) and turns one raw record (a decoded msgpack
array) into its ``TraceRecord`` with :func:`materialize`. Field positions come from
:mod:`wfptui.io.recording.layout`. Everything here raises ValueError, TypeError,
IndexError or KeyError on bad input; the callers turn that into a ``RecordingError``.
"""

from __future__ import annotations

import math
from typing import Any, Final

from wfptui.core.model import Terminating
from wfptui.core.trace import (
    AuditRecord,
    ClassifyRecord,
    ExpectRecord,
    NetEventRecord,
    ObservedRecord,
    PolicyRecord,
    StackRecord,
    TraceRecord,
)
from wfptui.io.recording import layout as L
from wfptui.io.recording.layout import (
    K_AUDIT,
    K_CLASSIFY,
    K_DEF_ATOM,
    K_DEF_DECISION,
    K_DEF_FIELDS,
    K_DEF_WHERE,
    K_EXPECT,
    K_NET_EVENT,
    K_OBSERVED,
    K_POLICY,
    K_STACK,
    STATIC_ATOMS,
    T_AT,
)
from wfptui.io.recording.values import (
    as_bool,
    as_int,
    as_str,
    copy_value,
    flat_data,
    int_or_none,
    nonneg,
    str_or_none,
    thaw,
    time_of,
)

__all__ = ["DECISION_ACTION", "WHERE_HOST", "WHERE_LAYER", "Clock", "Decision", "Tables", "Where",
           "classify_values", "define", "materialize"]


#: A decoded ``define where``: (host, layer, layer_id, packet, op, direction, reauth). Plain
#: tuples, not NamedTuples: unpacking an exact tuple is much faster in the record hot path.
Where = tuple[str, str, int, str | None, str | None, str | None, bool]
WHERE_HOST: Final = 0
WHERE_LAYER: Final = 1
#: A decoded ``define decision``: (action, filter, filter_id, sublayer, terminating, veto).
Decision = tuple[str, str | None, int | None, str | None, tuple[Terminating, ...], bool]
DECISION_ACTION: Final = 0


_BASE_AT = L.DEF_FIELDS.at("base")
#: What a fields value can be (docs/recording-format.md §1.4) but a list or a dict: shared as is.
_IMMUTABLE = frozenset({str, int, float, bool, type(None), bytes})


class Tables:
    """The interning tables a reader builds from define records."""

    __slots__ = ("atoms", "wheres", "decisions", "fields_raw", "_fields", "_mutable")

    def __init__(self) -> None:
        self.atoms: list[Any] = list(STATIC_ATOMS)
        self.wheres: list[Where] = []
        self.decisions: list[Decision] = []
        self.fields_raw: list[tuple[Any, ...]] = []  # DEF_FIELDS records, resolved on demand
        self._fields: dict[int, dict[str, Any]] = {}
        self._mutable: dict[int, bool] = {}

    def fields(self, index: int) -> dict[str, Any]:
        """A private copy of fields dict ``index`` (resolving its chain of bases once)."""
        view = self.fields_view(index)
        return view.copy() if view is self._fields[index] else view

    def fields_view(self, index: int) -> dict[str, Any]:
        """Fields dict ``index`` as :meth:`fields` gives it, to be read only: the table's own
        dict where its values are immutable (no copy; a comparison's use)."""
        if index < 0:
            raise ValueError(f"bad fields reference {index}")
        got = self._fields.get(index)
        if got is None:
            got = self._resolve(index)
        return {k: thaw(v) for k, v in got.items()} if self._mutable[index] else got

    def _resolve(self, index: int) -> dict[str, Any]:
        chain: list[int] = []
        i: Any = index
        while i is not None and i not in self._fields:
            if type(i) is not int or not 0 <= i < len(self.fields_raw) or len(chain) > len(self.fields_raw):
                raise ValueError(f"bad fields reference {i}")
            chain.append(i)
            i = self.fields_raw[i][_BASE_AT]
            if i is not None and (type(i) is not int or i >= chain[-1]):
                raise ValueError("a fields record refers to a later one")
        for j in reversed(chain):
            raw = self.fields_raw[j]
            base = raw[_BASE_AT]
            values = {} if base is None else dict(self._fields[base])
            _apply_fields(values, raw, self.atoms)
            self._fields[j] = values
            self._mutable[j] = not _IMMUTABLE.issuperset(map(type, values.values()))
        return self._fields[index]


class Clock:
    """Absolute times of trace records, computed in order as far as needed (§1.3 of the format)."""

    __slots__ = ("times", "tick", "prev")

    def __init__(self) -> None:
        self.times: list[float | None] = []  # None where a record has no valid time
        self.tick = 0
        self.prev: float | None = 0.0

    def step(self, raw: Any) -> None:
        """Append the time of the next record (``raw``) to :attr:`times`."""
        self.times.append(self.next(raw))

    def next(self, raw: Any) -> float | None:
        """The time of the next record (``raw``), None where it has no valid one; advances
        the clock without keeping the time (a streaming reader's use)."""
        try:
            v: Any = raw[T_AT] if raw[0] != K_EXPECT else False
        except (TypeError, IndexError, KeyError):
            v = False
        tv = type(v)
        if v is None:
            return self.prev
        if tv is int:
            self.tick += v
            self.prev = self.tick / 1_000_000
            return self.prev
        if tv is float and math.isfinite(v) and abs(v) < 1e15:
            self.tick = round(v * 1_000_000)
            self.prev = t = float(v)
            return t
        return None


_ATOM_AT = L.DEF_ATOM.at("value")
_WHERE = L.DEF_WHERE.getter(*L.DEF_WHERE.fields)
_DECISION = L.DEF_DECISION.getter(*L.DEF_DECISION.fields)
_TERM = len(L.TERMINATING)
_T_FILTER, _T_ID, _T_SUBLAYER, _T_ACTION, _T_HARD = (
    L.TERMINATING.index(n) for n in ("filter", "filter_id", "sublayer", "action", "hard"))


def define(tables: Tables, o: tuple[Any, ...]) -> None:
    """Apply one define record (raises ValueError/IndexError/TypeError on bad input)."""
    kind = o[0]
    atoms = tables.atoms
    if kind == K_DEF_ATOM:
        if len(o) != L.DEF_ATOM.size:
            raise ValueError("bad atom definition")
        atoms.append(thaw(o[_ATOM_AT]))
    elif kind == K_DEF_WHERE:
        if len(o) != L.DEF_WHERE.size:
            raise ValueError("bad where definition")
        host, layer, layer_id, packet, op, direction, reauth = _WHERE(o)
        tables.wheres.append((
            as_str(atoms[host]), as_str(atoms[layer]), as_int(layer_id), str_or_none(atoms[packet]),
            str_or_none(atoms[op]), str_or_none(atoms[direction]), as_bool(reauth)))
    elif kind == K_DEF_DECISION:
        if len(o) < L.DEF_DECISION.size:
            raise ValueError("bad decision definition")
        action, filt, filter_id, sublayer, veto = _DECISION(o)
        flat = o[L.DEF_DECISION.size:]
        if len(flat) % _TERM:
            raise ValueError("bad terminating list")
        terms = tuple(
            Terminating(filter=as_str(atoms[flat[i + _T_FILTER]]), filter_id=as_int(flat[i + _T_ID]),
                        sublayer=as_str(atoms[flat[i + _T_SUBLAYER]]), action=as_str(atoms[flat[i + _T_ACTION]]),
                        hard=as_bool(flat[i + _T_HARD]))
            for i in range(0, len(flat), _TERM)
        )
        tables.decisions.append((as_str(atoms[action]), str_or_none(atoms[filt]), int_or_none(filter_id),
                                 str_or_none(atoms[sublayer]), terms, as_bool(veto)))
    elif kind == K_DEF_FIELDS:
        tables.fields_raw.append(o)
    else:
        raise ValueError(f"unknown record kind {kind!r}")


def _apply_fields(values: dict[str, Any], raw: tuple[Any, ...], atoms: list[Any]) -> None:
    """Apply one DEF_FIELDS record's changes to ``values`` (ValueError etc. on bad input)."""
    fl = raw[L.DEF_FIELDS.size:]
    i = 0
    n = len(fl)
    while i < n:
        ref = fl[i]
        if type(ref) is not int:
            raise ValueError("bad field reference")
        if ref < 0:
            del values[as_str(atoms[-ref - 1])]
            i += 1
        else:
            if i + 1 >= n:
                raise ValueError("field without a value")
            v = fl[i + 1]
            tv = type(v)
            if tv is int:
                if v < 0:
                    v = atoms[-v - 1]
            elif not (v is None or tv is bool or tv is float):
                raise ValueError("bad field value")
            values[as_str(atoms[ref])] = v
            i += 2


# Field getters for materialize (the time comes from the Clock).
# materialize() unpacks a classification (most records) straight from the tuple, which is
# measurably faster than a getter: this pins the order it unpacks to the layout.
_CLASSIFY_ORDER = ("t", "where", "flow", "decision", "fields")
if L.CLASSIFY.fields != _CLASSIFY_ORDER:  # pragma: no cover - change materialize() with the layout
    raise ImportError("recording layout: materialize() does not follow CLASSIFY")
_STACK = L.STACK.getter("host", "event", "flow", "detail")
_NET = L.NET_EVENT.getter("host", "type", "filter_id", "layer_id", "direction", "flow")
_AUDIT = L.AUDIT.getter("host", "event_id", "filter_id", "layer_id", "flow")
_POLICY = L.POLICY.getter("host", "added", "removed", "reauth_layers")
_OBSERVED = L.OBSERVED.getter("host", "event", "type", "action", "filter_id", "matched_by", "verdict",
                              "unknown_fields")
_EXPECT = L.EXPECT.getter("ok", "expect", "matched", "message")
_SIZES = {lay.tag: lay.size for lay in L.LAYOUTS.values()}
_TAILED = frozenset(lay.tag for lay in L.LAYOUTS.values() if lay.tail)


def classify_values(w: Any, flow: Any, d: Any, f: Any, tables: Tables, *, view: bool = False) -> tuple[Any, ...]:
    """The values of a classification after seq and t, in ``ClassifyRecord``'s order, from
    its where, flow, decision and fields references (ValueError etc. on bad ones). ``view``:
    the fields dict is the table's own (:meth:`Tables.fields_view`), to compare, not keep."""
    if w < 0 or d < 0 or (flow is not None and type(flow) is not int):
        raise ValueError("bad classification record")
    host, layer, layer_id, packet, op, direction, reauth = tables.wheres[w]
    action, filt, filter_id, sublayer, terms, veto = tables.decisions[d]
    return (host, layer, layer_id, packet, op, direction, flow, reauth, action, filt, filter_id, sublayer, terms,
            veto, tables.fields_view(f) if view else tables.fields(f))


_STACK_SIZE = L.STACK.size


def stack_values(raw: Any, tables: Tables, *, view: bool = False) -> tuple[Any, ...]:
    """The values of a stack event after seq and t, in ``StackRecord``'s order, from its raw
    record (ValueError etc. on bad references). ``view``: the data values as the atom
    table holds them (to compare, not keep); else private copies."""
    atoms = tables.atoms
    host, event, flow, detail = _STACK(raw)
    data = flat_data(atoms, raw[_STACK_SIZE:])
    return (as_str(atoms[nonneg(host)]), as_str(atoms[nonneg(event)]), int_or_none(flow),
            as_str(atoms[nonneg(detail)]), data if view else {k: copy_value(v) for k, v in data.items()})


def materialize(raw: Any, seq: int, t: float | None, tables: Tables) -> TraceRecord:
    """Build the trace record for one raw tuple (ValueError etc. on bad input)."""
    if type(raw) is not tuple:
        raise ValueError("record is not an array")
    kind = raw[0]
    if kind == K_CLASSIFY:  # the common case first
        _k, _t, w, flow, d, f = raw  # the order _CLASSIFY_ORDER pins to the layout
        if t is None:
            raise ValueError("bad classification record")
        return ClassifyRecord(seq, t, *classify_values(w, flow, d, f, tables))
    size = _SIZES.get(kind) if type(kind) is int else None
    if size is None or kind >= L.K_TRACE_LIMIT:
        raise ValueError(f"unknown record kind {kind!r}")
    if len(raw) != size and not (kind in _TAILED and len(raw) > size):
        raise ValueError(f"bad {L.LAYOUTS[kind].name} record")
    atoms = tables.atoms
    if kind == K_STACK:
        return StackRecord(seq, time_of(t), *stack_values(raw, tables))
    if kind == K_NET_EVENT:
        host, typ, filter_id, layer_id, direction, flow = _NET(raw)
        return NetEventRecord(seq=seq, t=time_of(t), host=as_str(atoms[nonneg(host)]),
                              type=as_str(atoms[nonneg(typ)]), filter_id=int_or_none(filter_id),
                              layer_id=as_int(layer_id), direction=as_str(atoms[nonneg(direction)]),
                              flow=int_or_none(flow),
                              data={k: copy_value(v) for k, v in flat_data(atoms, raw[size:]).items()})
    if kind == K_AUDIT:
        host, event_id, filter_id, layer_id, flow = _AUDIT(raw)
        return AuditRecord(seq=seq, t=time_of(t), host=as_str(atoms[nonneg(host)]), event_id=as_int(event_id),
                           filter_id=int_or_none(filter_id), layer_id=as_int(layer_id), flow=int_or_none(flow),
                           data={k: copy_value(v) for k, v in flat_data(atoms, raw[size:]).items()})
    if kind == K_POLICY:
        host, added, removed, reauth_layers = _POLICY(raw)
        return PolicyRecord(seq=seq, t=time_of(t), host=as_str(atoms[nonneg(host)]),
                            added=tuple(as_str(atoms[nonneg(a)]) for a in added),
                            removed=tuple(as_str(atoms[nonneg(r)]) for r in removed),
                            reauth_layers=tuple(as_str(atoms[nonneg(r)]) for r in reauth_layers))
    if kind == K_OBSERVED:
        host, event, typ, action, filter_id, matched_by, verdict, unknown = _OBSERVED(raw)
        if type(unknown) is not tuple:
            raise ValueError("bad observed record")
        return ObservedRecord(seq=seq, t=time_of(t), host=as_str(atoms[nonneg(host)]), event=as_int(event),
                              type=as_str(atoms[nonneg(typ)]), action=str_or_none(atoms[nonneg(action)]),
                              filter_id=int_or_none(filter_id),
                              matched_by=str_or_none(atoms[nonneg(matched_by)]),
                              verdict=as_str(atoms[nonneg(verdict)]),
                              unknown_fields=tuple(as_str(atoms[nonneg(u)]) for u in unknown))
    if kind == K_EXPECT:
        ok, expect, matched, message = _EXPECT(raw)
        exp = thaw(expect)
        if type(exp) is not dict:
            raise ValueError("expect is not a map")
        return ExpectRecord(seq=seq, ok=as_bool(ok), expect=exp, matched=as_int(matched), message=as_str(message))
    raise ValueError(f"unknown record kind {kind!r}")  # pragma: no cover - every trace tag is above
