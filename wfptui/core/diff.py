"""Semantic diff of two traces (``wfptui diff``, ``wfptui replay --check``).

Records are aligned by *what happened*, never by byte or index:

* a classification is identified by ``(host, layer, packet, op, direction, reauth,
  5-tuple)`` — the 5-tuple being the ``IP_LOCAL_ADDRESS``, ``IP_REMOTE_ADDRESS``,
  ``IP_LOCAL_PORT``, ``IP_REMOTE_PORT``, ``IP_PROTOCOL`` (and ICMP type/code) fields
  when the layer has them — plus the occurrence number of that identity (the 3rd DATA
  segment of that connection at that layer on that host). Flow ids, ``seq`` and ``t``
  are not part of the identity: one extra event early on must not misalign the rest.
* stack events by ``(host, event, detail)``, net events by ``(host, type, layer_id,
  direction)``, audit events by ``(host, event_id, layer_id)``, policy changes by
  ``(host, added, removed)``, expectations by their keys — each plus its occurrence.

Aligned pairs are compared on everything except ``seq``, ``t`` and ``flow``. The result
(:class:`TraceDiff`) lists the first divergence, the layers whose verdict changed, the
filters that decided differently, the other changed records and the events present on
one side only. When all of that is empty but the two traces are still not identical
(order, timing, flow numbering), ``TraceDiff.same`` is still False and ``first`` points
at the first record that differs, so ``replay --check`` stays exact.

Two runs of one scenario are almost always identical, so the traces are first streamed
and compared record by record, cheaply (``==`` on the record objects, which is what the
``to_dict()`` forms are made from; the forms only where the objects differ; a
``core.trace.Trace`` by its rows; a recording's trace by its keys, :class:`KeyedRecords`,
building a record pair once per distinct pair of row or key), and the semantic diff runs
from the first record that differs on. That is exact: up to there both traces hold the same records in the same order,
so they pair up with each other, change nothing and count the same occurrences of every
identity on both sides, and pairing the rest by (identity, occurrence within the rest) is
pairing it by (identity, occurrence) (tests/core/test_diff_prefix.py checks both ways agree).

:func:`record_identity` is also the TUI's "the same classification" when it marks the
verdicts a policy edit flipped (docs/decisions-engine.md, "One identity for a flip").

Pure: standard library only, no I/O. Renders to text (:meth:`TraceDiff.to_text`) and to
JSON-able data (:meth:`TraceDiff.to_json`); both name records by their ``seq`` in the trace
(``A#17``, ``"seq_a": 17``), never by a list index, and hold no Python reprs (values are
shown as JSON).
"""

from __future__ import annotations

import dataclasses
import json
import operator
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import compress
from operator import ne
from typing import Any, Protocol, runtime_checkable

from wfptui.core.trace import ClassifyRecord, Trace

JsonDict = dict[str, Any]

__all__ = ["Change", "Divergence", "FilterChange", "KeyedRecords", "TraceDiff", "VerdictChange", "describe", "diff_traces",
           "identity", "record_identity"]

#: Packet identity fields (when the layer has them).
IDENTITY_FIELDS = ("IP_LOCAL_ADDRESS", "IP_REMOTE_ADDRESS", "IP_LOCAL_PORT", "IP_REMOTE_PORT",
                   "IP_PROTOCOL", "ICMP_TYPE", "ICMP_CODE")
#: Compared attributes that do not make two aligned records different events.
MINOR = frozenset({"seq", "t", "flow", "kind"})
DECISION = ("action", "filter", "filter_id", "sublayer", "veto", "terminating")


def _as_dict(rec: Any) -> JsonDict:
    if isinstance(rec, Mapping):
        return dict(rec)
    to_dict = getattr(rec, "to_dict", None)
    if callable(to_dict):
        d = to_dict()
        if isinstance(d, dict):
            return d
    raise TypeError(f"not a trace record: {rec!r}")


def _hashable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _hashable(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    return value


def seq_of(d: Mapping[str, Any], index: int) -> int:
    """The record's ``seq`` as in the trace (``index + 1`` for a record without one): every
    output names records by seq, never by a 0-based index."""
    seq = d.get("seq")
    return seq if type(seq) is int else index + 1


def show(value: Any) -> str:
    """A value as JSON text (``["allow-web"]``, ``null``), a string as itself: no Python reprs."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=False, default=str)


def _names(items: Any) -> str:
    return ", ".join(str(x) for x in items or []) or "nothing"


def _layer(d: Mapping[str, Any]) -> str:
    return str(d.get("layer", "")).removeprefix("FWPM_LAYER_")


def identity(d: Mapping[str, Any]) -> tuple[Any, ...]:
    """The alignment identity of a record (without the occurrence number)."""
    kind = d.get("kind")
    host = d.get("host")
    if kind == "classify":
        fields = d.get("fields") or {}
        five = tuple(_hashable(fields.get(k)) for k in IDENTITY_FIELDS)
        return (kind, host, _layer(d), d.get("packet"), d.get("op"), d.get("direction"), bool(d.get("reauth")),
                five)
    if kind == "stack":
        return (kind, host, d.get("event"), d.get("detail"))
    if kind == "net_event":
        return (kind, host, d.get("type"), d.get("layer_id"), d.get("direction"))
    if kind == "audit":
        return (kind, host, d.get("event_id"), d.get("layer_id"))
    if kind == "policy":
        return (kind, host, _hashable(d.get("added")), _hashable(d.get("removed")))
    if kind == "expect":
        return (kind, _hashable(d.get("expect")))
    if kind == "observed":  # a captured event: the same event pairs up, its verdict may change
        return (kind, host, d.get("event"), d.get("type"))
    return (kind, host, _hashable({k: v for k, v in d.items() if k not in MINOR}))


def record_identity(rec: Any) -> tuple[Any, ...]:
    """:func:`identity` of a record object (or of its ``to_dict()`` form): equal for "the
    same event" in two runs of one scenario, whatever its verdict; with the occurrence
    number, what ``diff`` pairs and what the TUI compares to mark a flipped verdict. A
    classification's is built from the object directly (no ``to_dict()``)."""
    if type(rec) is ClassifyRecord:
        fields = rec.fields
        return ("classify", rec.host, rec.layer, rec.packet, rec.op, rec.direction, bool(rec.reauth),
                tuple(_hashable(fields.get(k)) for k in IDENTITY_FIELDS))
    return identity(_as_dict(rec))


def describe(d: Mapping[str, Any]) -> str:
    """A one-line description of a record: who, where, what."""
    kind = d.get("kind")
    host = d.get("host", "")
    if kind == "classify":
        what = d.get("packet") or d.get("op") or "?"
        direction = f" {d['direction']}" if d.get("direction") else ""
        reauth = " reauth" if d.get("reauth") else ""
        return f"{host} FWPM_LAYER_{_layer(d)} {what}{direction}{reauth}: {verdict(d)}"
    if kind == "stack":
        detail = f" ({d['detail']})" if d.get("detail") else ""
        return f"{host} stack {d.get('event')}{detail}"
    if kind == "net_event":
        return f"{host} net event {d.get('type')} layer {d.get('layer_id')} filter {d.get('filter_id')}"
    if kind == "audit":
        return f"{host} audit {d.get('event_id')} layer {d.get('layer_id')} filter {d.get('filter_id')}"
    if kind == "policy":
        return f"{host} policy change: added {_names(d.get('added'))}; removed {_names(d.get('removed'))}"
    if kind == "expect":
        keys = " ".join(f"{k}={show(v)}" for k, v in (d.get("expect") or {}).items()) or "(any)"
        return f"expect {keys}: {'ok' if d.get('ok') else 'FAILED'} ({d.get('message')})"
    if kind == "observed":
        return (f"{host} observed event #{d.get('event')} {d.get('type')} ({d.get('action')} by filter id "
                f"{d.get('filter_id')}): {d.get('verdict')}")
    return f"{host} {kind}"


def verdict(d: Mapping[str, Any]) -> str:
    """``block by no-web``, ``permit by allow-web``, ``none (no filter decided)``."""
    action = d.get("action")
    filt = d.get("filter")
    if filt:
        veto = " (veto)" if d.get("veto") else ""
        return f"{action} by {filt}{veto}"
    return f"{action} (no filter decided)" if action == "none" else f"{action} (no filter)"


@dataclass(frozen=True)
class Divergence:
    """The first place the traces part ways: list indices into A and B (-1 = none on that
    side; for callers that hold the lists) and the records' ``seq`` (None = none), which is
    what every output shows."""

    index_a: int
    index_b: int
    message: str
    seq_a: int | None = None
    seq_b: int | None = None

    def to_json(self) -> JsonDict:
        return {"seq_a": self.seq_a, "seq_b": self.seq_b, "message": self.message}


@dataclass(frozen=True)
class Change:
    """Two aligned records that differ; ``attrs`` names the differing attributes."""

    index_a: int
    index_b: int
    a: JsonDict
    b: JsonDict
    attrs: tuple[str, ...]

    def text(self) -> str:
        parts = []
        for attr in self.attrs:
            if attr == "fields":
                fa, fb = self.a.get("fields") or {}, self.b.get("fields") or {}
                for k in sorted(set(fa) | set(fb)):
                    if fa.get(k, "∅") != fb.get(k, "∅"):
                        parts.append(f"{k} {show(fa.get(k, '∅'))} -> {show(fb.get(k, '∅'))}")
            elif attr == "terminating":
                parts.append("terminating " + _terms(self.a) + " -> " + _terms(self.b))
            else:
                parts.append(f"{attr} {show(self.a.get(attr))} -> {show(self.b.get(attr))}")
        return "; ".join(parts)

    @property
    def seq_a(self) -> int:
        return seq_of(self.a, self.index_a)

    @property
    def seq_b(self) -> int:
        return seq_of(self.b, self.index_b)

    def to_json(self) -> JsonDict:
        return {"seq_a": self.seq_a, "seq_b": self.seq_b, "what": describe(self.a),
                "attrs": list(self.attrs), "a": {k: self.a.get(k) for k in self.attrs},
                "b": {k: self.b.get(k) for k in self.attrs}}


def _terms(d: Mapping[str, Any]) -> str:
    items = d.get("terminating") or []
    return "[" + ", ".join(f"{t.get('sublayer')}:{t.get('filter')}={t.get('action')}" for t in items) + "]"


@dataclass(frozen=True)
class VerdictChange:
    """A layer whose decision changed, for ``count`` aligned classifications (``first_a`` /
    ``first_b``: the ``seq`` of the first one in A and in B)."""

    host: str
    layer: str
    action_a: str
    filter_a: str | None
    action_b: str
    filter_b: str | None
    count: int
    packets: tuple[str, ...]
    first_a: int
    first_b: int

    def text(self) -> str:
        fa = f" by {self.filter_a}" if self.filter_a else ""
        fb = f" by {self.filter_b}" if self.filter_b else ""
        pk = ", ".join(self.packets)
        return (f"{self.host} FWPM_LAYER_{self.layer}: {self.action_a}{fa} -> {self.action_b}{fb}"
                f"  ({self.count}x: {pk}; first A#{self.first_a} B#{self.first_b})")

    def to_json(self) -> JsonDict:
        return {"host": self.host, "layer": "FWPM_LAYER_" + self.layer, "a": {"action": self.action_a,
                "filter": self.filter_a}, "b": {"action": self.action_b, "filter": self.filter_b},
                "count": self.count, "packets": list(self.packets), "first_a": self.first_a,
                "first_b": self.first_b}


@dataclass(frozen=True)
class FilterChange:
    """A filter that decided differently: how many aligned classifications it decided in A and B."""

    host: str
    filter: str
    decided_a: int
    decided_b: int
    layers: tuple[str, ...]

    def text(self) -> str:
        layers = ", ".join("FWPM_LAYER_" + x for x in self.layers)
        return f"{self.host} {self.filter}: decided {self.decided_a} in A, {self.decided_b} in B  ({layers})"

    def to_json(self) -> JsonDict:
        return {"host": self.host, "filter": self.filter, "decided_a": self.decided_a,
                "decided_b": self.decided_b, "layers": ["FWPM_LAYER_" + x for x in self.layers]}


@dataclass(frozen=True)
class TraceDiff:
    """The semantic difference between trace A and trace B."""

    len_a: int
    len_b: int
    first: Divergence | None
    verdicts: tuple[VerdictChange, ...] = ()
    filters: tuple[FilterChange, ...] = ()
    changes: tuple[Change, ...] = ()
    only_a: tuple[tuple[int, JsonDict], ...] = ()
    only_b: tuple[tuple[int, JsonDict], ...] = ()
    minor_only: bool = False  # only order / timing / flow numbering differ
    limit: int = field(default=50, compare=False)

    @property
    def same(self) -> bool:
        return self.first is None

    def summary(self) -> str:
        if self.same:
            return f"traces are the same ({self.len_a} records)"
        if self.minor_only:
            return "traces differ only in order, timing or flow numbering"
        return (f"traces differ: {len(self.changes)} changed, {len(self.only_a)} only in A, "
                f"{len(self.only_b)} only in B ({self.len_a} vs {self.len_b} records)")

    def to_text(self, name_a: str = "A", name_b: str = "B") -> str:
        lines = [self.summary()]
        if self.same:
            return lines[0] + "\n"
        if name_a != "A" or name_b != "B":
            lines.append(f"A = {name_a}\nB = {name_b}")
        assert self.first is not None
        lines.append(f"first divergence: {self.first.message}")
        if self.verdicts:
            lines.append("verdict changes by layer:")
            lines += [f"  {v.text()}" for v in self.verdicts[: self.limit]]
            lines += _more(len(self.verdicts), self.limit)
        if self.filters:
            lines.append("filters that decided differently:")
            lines += [f"  {f.text()}" for f in self.filters[: self.limit]]
            lines += _more(len(self.filters), self.limit)
        other = [c for c in self.changes if not _verdict_attrs(c.attrs)]
        if other:
            lines.append("other changed records:")
            lines += [f"  A#{c.seq_a} B#{c.seq_b} {describe(c.a)}: {c.text()}" for c in other[: self.limit]]
            lines += _more(len(other), self.limit)
        for label, items in (("only in A", self.only_a), ("only in B", self.only_b)):
            if items:
                side = label[-1]
                lines.append(f"{label}:")
                lines += [f"  {side}#{seq_of(d, i)} {describe(d)}" for i, d in items[: self.limit]]
                lines += _more(len(items), self.limit)
        return "\n".join(lines) + "\n"

    def to_json(self) -> JsonDict:
        return {
            "same": self.same,
            "summary": self.summary(),
            "records": {"a": self.len_a, "b": self.len_b},
            "first_divergence": self.first.to_json() if self.first else None,
            "verdict_changes": [v.to_json() for v in self.verdicts],
            "filters": [f.to_json() for f in self.filters],
            "changes": [c.to_json() for c in self.changes],
            "only_a": [{"seq": seq_of(d, i), "what": describe(d), "record": d} for i, d in self.only_a],
            "only_b": [{"seq": seq_of(d, i), "what": describe(d), "record": d} for i, d in self.only_b],
            "minor_only": self.minor_only,
        }


def _more(n: int, limit: int) -> list[str]:
    return [f"  ... and {n - limit} more"] if n > limit else []


def _verdict_attrs(attrs: Sequence[str]) -> bool:
    return "action" in attrs or "filter" in attrs


def _keyed(records: Sequence[JsonDict]) -> list[tuple[Any, ...]]:
    seen: dict[tuple[Any, ...], int] = defaultdict(int)
    keys = []
    for d in records:
        ident = identity(d)
        n = seen[ident]
        seen[ident] = n + 1
        keys.append((ident, n))
    return keys


def _differing(a: JsonDict, b: JsonDict) -> tuple[str, ...]:
    attrs = []
    for k in list(a) + [k for k in b if k not in a]:
        if k in MINOR:
            continue
        if _hashable(a.get(k)) != _hashable(b.get(k)):
            attrs.append(k)
    return tuple(attrs)


_END = object()


def _same(x: Any, y: Any) -> bool:
    """Whether two records (or ``to_dict()`` forms) have the same ``to_dict()`` form: equal
    record objects do (the form is made from the fields ``==`` compares), and only when
    they are not are the forms built (a timing difference within rounding, a record
    against its dict)."""
    return x is y or x == y or _as_dict(x) == _as_dict(y)


def diff_traces(a: Iterable[Any], b: Iterable[Any], *, limit: int = 50) -> TraceDiff:
    """Compare trace A with trace B (records or their ``to_dict()`` forms; any iterables,
    each read once, front to back: the common prefix is compared and dropped as it streams,
    only the records from the first difference on are kept). When B is a
    ``core.trace.Trace`` its rows are compared without building their records; when A
    also gives keys (:class:`KeyedRecords`, a recording's trace), neither side's records
    are built for the common prefix but once per distinct (row, key) pair; when both give
    keys (two recordings), once per distinct pair of keys."""
    if isinstance(b, Trace) and isinstance(a, KeyedRecords):
        k, x, ia, ib = _keyed_prefix(a, b)
        y = next(ib, _END)
    elif isinstance(a, KeyedRecords) and isinstance(b, KeyedRecords):
        k, x, ia, y, ib = _keys_prefix(a, b)
    elif isinstance(b, Trace):
        ia = iter(a)
        k, x, ib = _rows_prefix(ia, b)
        y = next(ib, _END)
    else:
        ia = iter(a)
        ib = iter(b)
        k = 0  # records before index k are the same on both sides
        while True:
            x = next(ia, _END)
            y = next(ib, _END)
            if x is _END or y is _END or not _same(x, y):
                break
            k += 1
    da = [] if x is _END else [_as_dict(x), *(_as_dict(r) for r in ia)]
    db = [] if y is _END else [_as_dict(y), *(_as_dict(r) for r in ib)]
    return _diff_rest(k, da, db, limit)


_RESTS: dict[Any, Callable[[Any], Any]] = {}


def _rest_of(cls: Any) -> Callable[[Any], Any]:
    """A getter of every field of record class ``cls`` but ``seq`` and ``t``, as a tuple."""
    got = _RESTS.get(cls)
    if got is None:
        names = [f.name for f in dataclasses.fields(cls) if f.name not in ("seq", "t")]
        got = _RESTS[cls] = operator.attrgetter(*names) if len(names) > 1 else (lambda r: (getattr(r, names[0]),))
    return got


def _rows_prefix(ia: Iterator[Any], b: Trace) -> tuple[int, Any, Iterator[Any]]:
    """Compare records of A with the records of the Trace B until they differ: (how many
    are the same, A's first record not the same or _END, B's records from that one on).

    A row builds record i as ``row[0](row, i + 1, times[i])``: the same record but for seq
    and t at every use of the row. So a row's record is built once; then an A record is
    the same as row i's when it is of that class, has seq i + 1 and time ``times[i]``, and
    equals it in every other field (what ``==`` of the built record would find). Anything
    else (an object in B, a dict in A, a mismatch) is compared the general way."""
    items, times = b.items, b.times
    seen: dict[int, tuple[Any, Callable[[Any], Any], Any]] = {}  # id(row) -> (class, getter, the rest)
    k = 0
    x: Any = _END
    for k, item in enumerate(items):  # noqa: B007 - k is the result
        x = next(ia, _END)
        if x is _END:
            break
        if type(item) is tuple:
            known = seen.get(id(item))
            if known is None:
                built = item[0](item, k + 1, times[k])
                rest = _rest_of(type(built))
                known = seen[id(item)] = (type(built), rest, rest(built))
            cls, rest, fields = known
            if type(x) is cls and x.seq == k + 1 and x.t == times[k] and rest(x) == fields:
                continue
            y = item[0](item, k + 1, times[k])
        else:
            y = item
        if not _same(x, y):
            return k, x, _from(b, k)
    else:
        k = len(items)
        x = next(ia, _END)
    return k, x, _from(b, k)


@runtime_checkable
class KeyedRecords(Protocol):
    """A trace that gives each record as a key without building it (a recording's,
    ``io.recording.LazyRecords``): :meth:`iter_key_chunks` yields ``(keys, seqs, times,
    raws)`` (parallel sequences, a chunk of records in order), equal keys meaning records
    equal apart from ``seq`` and ``t``; :meth:`record` builds record ``index`` from its
    ``raw``, ``seq`` and ``t``. Optionally ``same_row(key, row)``: whether the record of
    ``key`` is the one a ``Trace`` row builds but for seq and t, told without building
    either (True only when building both would say so; False where it cannot tell)."""

    def iter_key_chunks(self) -> Iterator[tuple[Sequence[Hashable], Sequence[int], Sequence[float | None],
                                                Sequence[Any]]]: ...

    def record(self, index: int, raw: Any, seq: int, t: float | None) -> Any: ...


def _keyed_prefix(a: KeyedRecords, b: Trace) -> tuple[int, Any, Iterator[Any], Iterator[Any]]:
    """Compare the keyed records of A with the records of the Trace B until they differ:
    (how many are the same, A's first record not the same or _END, A's records after
    that one, B's records from that one on).

    Record k of A is the same as row k of B when its seq and t are k + 1 and ``times[k]``
    and its key is one already found to stand for a record equal to that row's but for seq
    and t (``memo``: id(row) -> key; rows are shared by the packets of a flow, keys by their
    recorded records). A chunk whose seqs and times all agree is compared with list
    comparisons, and only its records whose key is not yet known for their row are verified,
    each once: by A's ``same_row`` where it can tell (the values both records would be built
    from), else by building both and comparing them but for seq and t. Otherwise record by
    record: both records are built and compared the general way (``_same``). So the
    comparison is the one of the built records, each distinct pair compared once."""
    items, times = b.items, b.times
    n = len(items)
    memo: dict[int, Hashable] = {}
    known = memo.get
    build = a.record
    same_row: Callable[[Hashable, Any], bool] = getattr(a, "same_row", None) or (lambda _key, _row: False)

    def verified(j0: int, key: Hashable, seq: int, t: float | None, raw: Any) -> bool:
        """Whether record ``j0`` (A's key, seq, t and raw) is row ``j0``'s record but for seq
        and t, remembering it when it is."""
        item = items[j0]
        if type(item) is not tuple:
            return False
        if known(id(item)) == key or same_row(key, item):
            memo[id(item)] = key
            return True
        x = build(j0, raw, seq, t)
        y = item[0](item, j0 + 1, times[j0])
        if type(x) is type(y):
            rest = _rest_of(type(x))
            if rest(x) == rest(y):
                memo[id(item)] = key
                return True
        return False

    chunks = a.iter_key_chunks()
    k = 0
    for keys, seqs, ts, raws in chunks:
        m = len(keys)
        if k + m <= n and seqs == range(k + 1, k + m + 1) and ts == times[k:k + m]:
            got = list(map(known, map(id, items[k:k + m])))
            if got == keys or all(verified(k + j, keys[j], seqs[j], ts[j], raws[j])
                                  for j in compress(range(m), map(ne, got, keys))):
                k += m
                continue
        for j in range(m):
            key, seq, t, raw = keys[j], seqs[j], ts[j], raws[j]
            if k == n:  # A is longer
                return k, build(k, raw, seq, t), _built(a, keys, seqs, ts, raws, j + 1, chunks, k + 1), iter(())
            item = items[k]
            tk = times[k]
            if seq == k + 1 and t == tk and (known(id(item)) == key or verified(k, key, seq, t, raw)):
                k += 1
                continue
            x = build(k, raw, seq, t)
            y = item[0](item, k + 1, tk) if type(item) is tuple else item
            if type(item) is tuple and type(x) is type(y):
                rest = _rest_of(type(x))
                if rest(x) == rest(y):
                    memo[id(item)] = key
                    if seq == k + 1 and t == tk:  # then x == y
                        k += 1
                        continue
            if not _same(x, y):
                return k, x, _built(a, keys, seqs, ts, raws, j + 1, chunks, k + 1), _from(b, k)
            k += 1
    return k, _END, iter(()), _from(b, k)


def _keys_prefix(a: KeyedRecords, b: KeyedRecords) -> tuple[int, Any, Iterator[Any], Any, Iterator[Any]]:
    """:func:`_keyed_prefix` for two keyed traces (``wfptui diff`` of two recordings): (how
    many are the same, A's first record not the same or _END, A's records after it, B's
    first record not the same or _END, B's records after it). Both give chunks of the same
    size, so chunk i of each covers the same records. A pair is the same without building
    it when seqs and times are equal (and times valid) and A's key is one verified to build
    the record B's key builds but for seq and t (``memo``: A's key -> B's key)."""
    memo: dict[Hashable, Hashable] = {}
    known = memo.get
    ca, cb = a.iter_key_chunks(), b.iter_key_chunks()
    none: tuple[Sequence[Any], Sequence[int], Sequence[Any], Sequence[Any]] = ((), (), (), ())
    k = 0
    while True:
        keys_a, seqs_a, ts_a, raws_a = next(ca, none)
        keys_b, seqs_b, ts_b, raws_b = next(cb, none)
        if not keys_a and not keys_b:
            return k, _END, iter(()), _END, iter(())
        if (len(keys_a) == len(keys_b) and seqs_a == seqs_b and ts_a == ts_b and None not in ts_a
                and [known(key) for key in keys_a] == keys_b):
            k += len(keys_a)
            continue
        for j in range(max(len(keys_a), len(keys_b))):
            if j >= len(keys_a) or j >= len(keys_b):  # one side ends here
                x = a.record(k, raws_a[j], seqs_a[j], ts_a[j]) if j < len(keys_a) else _END
                y = b.record(k, raws_b[j], seqs_b[j], ts_b[j]) if j < len(keys_b) else _END
            else:
                sa, ta = seqs_a[j], ts_a[j]
                same_place = sa == seqs_b[j] and ta == ts_b[j] and ta is not None
                if same_place and known(keys_a[j]) == keys_b[j]:
                    k += 1
                    continue
                x = a.record(k, raws_a[j], sa, ta)
                y = b.record(k, raws_b[j], seqs_b[j], ts_b[j])
                if type(x) is type(y):
                    rest = _rest_of(type(x))
                    if rest(x) == rest(y):
                        memo[keys_a[j]] = keys_b[j]
                        if same_place:  # then x == y
                            k += 1
                            continue
                if _same(x, y):
                    k += 1
                    continue
            return (k, x, _built(a, keys_a, seqs_a, ts_a, raws_a, j + 1, ca, k + 1),
                    y, _built(b, keys_b, seqs_b, ts_b, raws_b, j + 1, cb, k + 1))


def _built(a: KeyedRecords, keys: Sequence[Any], seqs: Sequence[int], ts: Sequence[float | None],
           raws: Sequence[Any], j: int, chunks: Iterator[Any], index: int) -> Iterator[Any]:
    """The records of A not compared yet: the current chunk's from its ``j``-th on (record
    ``index``), then every further chunk's."""
    for i in range(j, len(keys)):
        yield a.record(index, raws[i], seqs[i], ts[i])
        index += 1
    for _keys, seqs2, ts2, raws2 in chunks:
        for seq, t, raw in zip(seqs2, ts2, raws2, strict=True):
            yield a.record(index, raw, seq, t)
            index += 1


def _from(b: Trace, k: int) -> Iterator[Any]:
    """B's records from index k on."""
    for i in range(k, len(b)):
        yield b[i]


def _diff_rest(k: int, da: list[JsonDict], db: list[JsonDict], limit: int) -> TraceDiff:
    """The semantic diff of two traces whose first ``k`` records are the same, given the
    rest of each (``da[i]`` is record ``k + i``); every index and seq shown is the whole
    trace's."""
    ka = _keyed(da)
    kb = _keyed(db)
    index_b = {key: j for j, key in enumerate(kb)}
    matched_b: set[int] = set()
    changes: list[Change] = []
    only_a: list[tuple[int, JsonDict]] = []
    for i, key in enumerate(ka):
        j = index_b.get(key)
        if j is None:
            only_a.append((k + i, da[i]))
            continue
        matched_b.add(j)
        attrs = _differing(da[i], db[j])
        if attrs:
            changes.append(Change(k + i, k + j, da[i], db[j], attrs))
    only_b = [(k + j, db[j]) for j in range(len(db)) if j not in matched_b]

    verdicts = _verdict_changes(changes)
    filters = _filter_changes(changes)
    first = _first(changes, only_a, only_b)
    minor_only = False
    if first is None and da != db:
        minor_only = True
        first = _first_exact(da, db, k)
    return TraceDiff(len_a=k + len(da), len_b=k + len(db), first=first, verdicts=verdicts, filters=filters,
                     changes=tuple(changes), only_a=tuple(only_a), only_b=tuple(only_b), minor_only=minor_only,
                     limit=limit)


def _first(changes: list[Change], only_a: list[tuple[int, JsonDict]],
           only_b: list[tuple[int, JsonDict]]) -> Divergence | None:
    candidates: list[tuple[int, int, Divergence]] = []
    if changes:
        c = changes[0]
        candidates.append((min(c.index_a, c.index_b), 0,
                           Divergence(c.index_a, c.index_b, f"A#{c.seq_a} B#{c.seq_b} {describe(c.a)}"
                                      f" | in B: {c.text()}", c.seq_a, c.seq_b)))
    if only_a:
        i, d = only_a[0]
        sa = seq_of(d, i)
        candidates.append((i, 1, Divergence(i, -1, f"A#{sa} only in A: {describe(d)}", sa, None)))
    if only_b:
        j, d = only_b[0]
        sb = seq_of(d, j)
        candidates.append((j, 2, Divergence(-1, j, f"B#{sb} only in B: {describe(d)}", None, sb)))
    if not candidates:
        return None
    return min(candidates, key=lambda c: (c[0], c[1]))[2]


def _first_exact(da: list[JsonDict], db: list[JsonDict], k: int = 0) -> Divergence:
    """The first record that differs (``da[i]`` being record ``k + i``)."""
    for i, (x, y) in enumerate(zip(da, db, strict=False), k):
        if x != y:
            attrs = [key for key in list(x) + [key for key in y if key not in x] if x.get(key) != y.get(key)]
            what = ", ".join(f"{key} {show(x.get(key))} -> {show(y.get(key))}" for key in attrs[:4])
            sa, sb = seq_of(x, i), seq_of(y, i)
            return Divergence(i, i, f"A#{sa} B#{sb} {describe(x)}: {what}", sa, sb)
    n = min(len(da), len(db))
    if len(da) > n:
        sa = seq_of(da[n], k + n)
        return Divergence(k + n, -1, f"A#{sa} only in A: {describe(da[n])}", sa, None)
    sb = seq_of(db[n], k + n)
    return Divergence(-1, k + n, f"B#{sb} only in B: {describe(db[n])}", None, sb)


def _verdict_changes(changes: list[Change]) -> tuple[VerdictChange, ...]:
    groups: dict[tuple[Any, ...], list[Change]] = {}
    for c in changes:
        if c.a.get("kind") != "classify" or not _verdict_attrs(c.attrs):
            continue
        key = (c.a.get("host"), _layer(c.a), c.a.get("action"), c.a.get("filter"), c.b.get("action"),
               c.b.get("filter"))
        groups.setdefault(key, []).append(c)
    out = []
    for (host, layer, aa, fa, ab, fb), items in groups.items():
        packets = tuple(dict.fromkeys(str(c.a.get("packet") or c.a.get("op")) for c in items))
        out.append(VerdictChange(str(host), layer, str(aa), fa, str(ab), fb, len(items), packets,
                                 items[0].seq_a, items[0].seq_b))
    return tuple(out)


def _filter_changes(changes: list[Change]) -> tuple[FilterChange, ...]:
    counts: dict[tuple[str, str], list[int]] = {}
    layers: dict[tuple[str, str], dict[str, None]] = {}
    for c in changes:
        if c.a.get("kind") != "classify" or not any(x in c.attrs for x in DECISION):
            continue
        host = str(c.a.get("host"))
        fa, fb = c.a.get("filter"), c.b.get("filter")
        involved: dict[str, None] = {}
        if fa != fb or c.a.get("action") != c.b.get("action"):
            for f in (fa, fb):
                if f:
                    involved[str(f)] = None
        ta = {(t.get("filter"), t.get("action")) for t in c.a.get("terminating") or []}
        tb = {(t.get("filter"), t.get("action")) for t in c.b.get("terminating") or []}
        for f, _act in ta ^ tb:
            if f:
                involved[str(f)] = None
        for f in involved:
            entry = counts.setdefault((host, f), [0, 0])
            entry[0] += fa == f
            entry[1] += fb == f
            layers.setdefault((host, f), {})[_layer(c.a)] = None
    return tuple(FilterChange(h, f, n[0], n[1], tuple(layers[(h, f)])) for (h, f), n in counts.items())
