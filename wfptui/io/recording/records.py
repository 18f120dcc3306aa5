"""A recording as read: :class:`Recording`, its lazily built trace (:class:`LazyRecords`)
and :class:`RecordingError`.

:class:`LazyRecords` is a ``Sequence[TraceRecord]`` that builds a record from its raw
msgpack array when indexed, plus an **index API** that answers questions about record
``i`` without building it — :meth:`~LazyRecords.kind`, :meth:`~LazyRecords.host`,
:meth:`~LazyRecords.layer`, :meth:`~LazyRecords.action`, :meth:`~LazyRecords.group` and
the streaming :meth:`~LazyRecords.iter_groups` — so no code outside this package needs
to know the record layout.
"""

from __future__ import annotations

import bisect
import io
from array import array
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import accumulate, chain, compress, islice, repeat
from operator import gt, itemgetter, not_, truediv
from typing import Any, overload

import msgpack

from wfptui.core.trace import TraceRecord, classify_row, stack_row
from wfptui.core.trace import stack_values as row_stack_values
from wfptui.io.errors import Diagnostic, InputError
from wfptui.io.recording import layout as L
from wfptui.io.recording.layout import (
    CURRENT_FORMAT_VERSION,
    FIRST_SEQ,
    K_CLASSIFY,
    K_EXPECT,
    K_STACK,
    K_TRACE_LIMIT,
    TRACE_KINDS,
)
from wfptui.io.recording.tables import (
    DECISION_ACTION,
    WHERE_HOST,
    WHERE_LAYER,
    Clock,
    Decision,
    Tables,
    Where,
    materialize,
    stack_values,
)
from wfptui.io.recording.values import all_ints, as_str, freeze, nonneg, str_or_none

__all__ = ["DECODE_ERRORS", "LazyRecords", "OffsetRaws", "Recording", "RecordingError", "why"]

#: Limits for untrusted input.
MAX_OBJECT_BYTES = 64 * 1024 * 1024  # one msgpack object (the header holds the policies)
MAX_ARRAY_LEN = 1 << 20
MAX_MAP_LEN = 1 << 16
READ_SIZE = 1 << 20

#: What decoding a hostile file can raise (each becomes one RecordingError).
DECODE_ERRORS = (ValueError, TypeError, IndexError, KeyError, UnicodeDecodeError, AttributeError,
                 RecursionError, msgpack.UnpackException, OverflowError)


class RecordingError(InputError):
    """A file that cannot be read as a recording. ``partial``: what could be read, if anything."""

    def __init__(self, message: str, file: str = "", partial: Recording | None = None) -> None:
        super().__init__(Diagnostic(file, 0, 0, message))
        self.message = message
        self.file = file
        self.partial = partial


def why(exc: BaseException) -> str:
    """The problem a decoding exception stands for, in words."""
    name = type(exc).__name__
    text = str(exc)
    if isinstance(exc, msgpack.BufferFull):
        return "an object is larger than the reader allows"
    if isinstance(exc, msgpack.StackError):
        return "nested too deeply"
    if isinstance(exc, (ValueError, TypeError)) and "unpack(b) received extra data" in text:
        return "extra data"
    if isinstance(exc, (IndexError, KeyError)):
        return "reference to something not defined"
    return f"{text or name}"


_HOST_AT = {lay.tag: lay.at("host") for lay in L.LAYOUTS.values() if lay.tag < K_TRACE_LIMIT and "host" in lay.fields}
_WHERE_AT = L.CLASSIFY.at("where")
_DECISION_AT = L.CLASSIFY.at("decision")
_OBSERVED_ACTION_AT = L.OBSERVED.at("action")
_CLASSIFY_SIZE = L.CLASSIFY.size
_FLAT = frozenset({int, type(None)})
#: A record's values after its time (the time is the first field of every kind that has one).
_AFTER_T = L.T_AT + 1
if L.T_AT != 1:  # pragma: no cover - iter_keyed's keys cut the record around the time
    raise ImportError("recording layout: iter_keyed expects the time right after the tag")


_KIND = itemgetter(0)
_TIME = itemgetter(L.T_AT)
_REST = itemgetter(slice(_AFTER_T, None))
_ALL_TUPLES = frozenset({tuple}).issuperset
_ALL_FLAT = _FLAT.issuperset
_NONE_IS_ZERO = {None: 0}.get  # map(_NONE_IS_ZERO, ts, ts): None -> 0, an int -> itself
_UNSEEN = object()  # (a fields reference not in LazyRecords._fields_seen)
_US = 1_000_000  # (an int: tick / _US is Clock's own division, exact to the last bit)
#: The length of a classification's values after its time.
_CLASSIFY_REST = frozenset({_CLASSIFY_SIZE - _AFTER_T}).issuperset


def _keys_bulk(raws: list[Any], clock: Clock) -> tuple[list[Hashable], list[float | None]] | None:
    """``LazyRecords._keys_each`` of a common chunk with C-level passes instead of a Python
    step per record; None (the clock untouched) where the chunk is not common: the clock
    not in its plain state (``prev == tick / 1e6``: no absolute float time just before), a
    record that is not a tuple, an expectation, a kind or a time that is not an int (a time
    may be None), a value after the time that is not an int or None, a classification not
    of length 6. Then each record's key is its values after the time (a classification's)
    or ``(kind, those values)`` (the others'); its time is the accumulated microsecond deltas
    over 1e6, as ``Clock.next`` computes them."""
    if clock.prev != clock.tick / _US or not _ALL_TUPLES(map(type, raws)):
        return None
    try:
        kinds = list(map(_KIND, raws))
        deltas = list(map(_TIME, raws))
    except IndexError:  # a record of its kind alone
        return None
    if not all_ints(map(type, kinds)) or K_EXPECT in kinds or not _FLAT.issuperset(map(type, deltas)):
        return None
    rests = list(map(_REST, raws))
    if not _ALL_FLAT(map(type, chain.from_iterable(rests))):
        return None
    if not _CLASSIFY_REST(map(len, compress(rests, map(not_, kinds)))):
        return None
    try:
        ticks: list[int] = list(accumulate(map(_NONE_IS_ZERO, deltas, deltas), initial=clock.tick))
        times: list[float | None] = list(map(truediv, islice(ticks, 1, None), repeat(_US)))
    except OverflowError:  # a time beyond a float: the record by record way names the record
        return None
    keys: list[Hashable] = rests  # (the same list: the others' keys are set below)
    for j in compress(range(len(kinds)), kinds):  # the records that are not classifications
        keys[j] = (kinds[j], rests[j])
    if times:
        clock.tick = ticks[-1]
        clock.prev = times[-1]
    return keys, times


class LazyRecords(Sequence[TraceRecord]):
    """The trace records of a recording, built from the raw records when indexed.

    Indexing or iterating builds fresh record objects each time (nothing is cached), so
    hold on to ``list(records)`` when you need them repeatedly. A malformed record raises
    :class:`RecordingError` ("corrupted at trace record N") when it is built or asked about.
    """

    def __init__(self, raws: Sequence[Any], tables: Tables, seq_marks: list[tuple[int, int]],
                 file: str) -> None:
        self._raws = raws
        self._tables = tables
        self._mark_idx = [i for i, _ in seq_marks]
        self._mark_seq = [s for _, s in seq_marks]
        self._file = file
        self._clock = Clock()
        #: fields reference -> a dict found equal to its fields (``_same_classify``), for one
        #: comparison: emptied when a key stream starts (:meth:`iter_key_chunks`)
        self._fields_seen: dict[int, Any] = {}

    def __len__(self) -> int:
        return len(self._raws)

    def seq_of(self, index: int) -> int:
        m = bisect.bisect_right(self._mark_idx, index) - 1
        if m < 0:
            return index + FIRST_SEQ
        return self._mark_seq[m] + index - self._mark_idx[m]

    def _error(self, index: int, exc: BaseException) -> RecordingError:
        return RecordingError(f"corrupted at trace record {index}: {why(exc)}", self._file)

    def _build(self, index: int) -> TraceRecord:
        try:
            raw = self._raws[index]
            clock = self._clock
            n = len(clock.times)
            if index >= n:  # times are deltas: compute them in order up to here (once)
                for j in range(n, index):
                    clock.step(self._raws[j])
                clock.step(raw)
            return materialize(raw, self.seq_of(index), clock.times[index], self._tables)
        except DECODE_ERRORS as exc:
            raise self._error(index, exc) from None

    @overload
    def __getitem__(self, index: int) -> TraceRecord: ...

    @overload
    def __getitem__(self, index: slice) -> list[TraceRecord]: ...

    def __getitem__(self, index: int | slice) -> TraceRecord | list[TraceRecord]:
        if isinstance(index, slice):
            return [self._build(i) for i in range(*index.indices(len(self._raws)))]
        return self._build(self._index(index))

    def _index(self, index: int) -> int:
        if index < 0:
            index += len(self._raws)
        if not 0 <= index < len(self._raws):
            raise IndexError("record index out of range")
        return index

    def __iter__(self) -> Iterator[TraceRecord]:
        if not isinstance(self._raws, OffsetRaws) or self._clock.times:
            for i in range(len(self._raws)):
                yield self._build(i)
            return
        # one sequential pass: decode with a streaming unpacker, compute times on the way
        clock = self._clock
        i = 0
        try:
            for raw in self._raws:
                if i == len(clock.times):
                    clock.step(raw)
                yield materialize(raw, self.seq_of(i), clock.times[i], self._tables)
                i += 1
        except DECODE_ERRORS as exc:
            raise self._error(i, exc) from None

    # ------------------------------------------------------------------ keys
    # What ``replay --check`` compares (core/diff.py): record i as a key, without building it.

    def iter_keyed(self) -> Iterator[tuple[Hashable, int, float | None, Any]]:
        """``(key, seq, t, raw)`` of every record in order, with one streaming decode and no
        record built. ``key`` is the record's wire values after its time, exactly (types
        included: 1, 1.0 and True differ): **equal keys mean records equal apart from seq
        and time** (a record is a pure function of them and the tables); records from the
        same interned where/decision/fields/atoms have equal keys, so a trace's repeats do.
        A classification's key is its ``(where, flow, decision, fields)`` ids.
        ``t`` is None where the record has no valid time. ``raw`` is for :meth:`record`."""
        for keys, seqs, times, raws in self.iter_key_chunks():
            yield from zip(keys, seqs, times, raws, strict=True)

    def iter_key_chunks(self, size: int = 1024) -> Iterator[
            tuple[list[Hashable], Sequence[int], list[float | None], list[Any]]]:
        """:meth:`iter_keyed` by chunks of up to ``size`` records: ``(keys, seqs, times,
        raws)``, four parallel sequences (``seqs`` a ``range`` where no seq record
        intervenes), so a caller can compare a whole chunk at once."""
        clock = Clock()  # a streaming clock of its own: no times kept
        # a new comparison: forget the last one's fields dicts (no dead trace's kept alive)
        self._fields_seen = {}
        marks = self._mark_idx
        seq_of = self.seq_of
        i = 0  # records in the chunks given so far
        for raws in self._raw_chunks(size):
            keys, times = self._keys(raws, clock, i)
            yield keys, self._seqs(i, len(raws), marks, seq_of), times, raws
            i += len(raws)

    def _raw_chunks(self, size: int) -> Iterator[list[Any]]:
        """The raw records ``size`` at a time; a record that cannot be decoded raises the
        reader's error naming it."""
        raws = self._raws
        if not isinstance(raws, OffsetRaws):
            for j in range(0, len(raws), size):
                yield list(raws[j:j + size])
            return
        for j in range(0, len(raws), size):
            try:
                chunk = raws.chunk(j, size)
            except DECODE_ERRORS:  # one by one: the record that cannot be decoded is named
                chunk = []
                for jj in range(j, min(j + size, len(raws))):
                    try:
                        chunk.append(raws[jj])
                    except DECODE_ERRORS as exc:
                        raise self._error(jj, exc) from None
            yield chunk

    def _keys(self, raws: list[Any], clock: Clock, i: int) -> tuple[list[Hashable], list[float | None]]:
        """Keys and times of a chunk (its records start at index ``i``): :func:`_keys_bulk`
        where it can, else record by record (:meth:`_keys_each`, which names a bad record)."""
        got = _keys_bulk(raws, clock)
        return got if got is not None else self._keys_each(raws, clock, i)

    def _keys_each(self, raws: list[Any], clock: Clock, i: int) -> tuple[list[Hashable], list[float | None]]:
        """:meth:`_keys` record by record: the definition :func:`_keys_bulk` keeps to."""
        step = clock.next
        keys: list[Hashable] = []
        times: list[float | None] = []
        j = 0
        try:
            for j, raw in enumerate(raws):  # noqa: B007 - j names a bad record
                times.append(step(raw))
                kind = raw[0]
                # the common case: a classification of four ints or None after its time (None
                # where an id belongs cannot be built: such a key is never found equal to a row's)
                if (kind == K_CLASSIFY and type(kind) is int and type(raw) is tuple and len(raw) == _CLASSIFY_SIZE
                        and _FLAT.issuperset(map(type, raw[_AFTER_T:]))):
                    keys.append(raw[_AFTER_T:])
                elif type(kind) is not int or kind == K_EXPECT:  # (an expectation has no time: all of it)
                    keys.append(freeze(raw))
                else:
                    rest = raw[_AFTER_T:]
                    # only ints and None (a stack event's atom ids ...): equal is exact as they are;
                    # else typed values (freeze keeps 1, 1.0 and True apart). Both are 2-tuples, one
                    # starting with the int kind, the other with a type: never equal to each other
                    # or to a classification's 4-tuple.
                    keys.append((kind, rest) if _FLAT.issuperset(map(type, rest)) else freeze(raw[:1] + rest))
        except DECODE_ERRORS as exc:
            raise self._error(i + j, exc) from None
        return keys, times

    @staticmethod
    def _seqs(start: int, n: int, marks: list[int], seq_of: Any) -> Sequence[int]:
        """The seqs of records ``start`` .. ``start + n - 1``: consecutive (a range) unless a
        seq record renumbers one after the first."""
        if not marks:
            return range(start + FIRST_SEQ, start + FIRST_SEQ + n)
        if bisect.bisect_right(marks, start) == bisect.bisect_right(marks, start + n - 1):
            first: int = seq_of(start)
            return range(first, first + n)
        return [seq_of(j) for j in range(start, start + n)]

    def same_row(self, key: Hashable, row: Any) -> bool:
        """Whether the record of ``key`` (a classification's or a stack event's, from
        :meth:`iter_key_chunks`) is the one the ``core.trace.Trace`` row ``row`` builds but
        for seq and t: the values both would be built from, compared without building either
        (``core.diff``). False where it cannot tell (another kind, a bad reference): the
        caller builds both."""
        if type(row) is not tuple or type(key) is not tuple:
            return False
        try:
            if row[0] is classify_row and len(key) == 4:
                return self._same_classify(key, row)
            if row[0] is stack_row and len(key) == 2 and key[0] == K_STACK and type(key[1]) is tuple:
                # a stack key is (kind, the values after the time): the raw record but its time
                return stack_values((K_STACK, None, *key[1]), self._tables, view=True) == row_stack_values(row)
        except DECODE_ERRORS:
            return False
        return False

    def _same_classify(self, key: tuple[Any, ...], row: tuple[Any, ...]) -> bool:
        """:meth:`same_row` of a classification: ``tables.classify_values(*key)`` equals
        ``core.trace.classify_values(row)`` (the definition, tests/io/test_recording_keys.py),
        compared part by part: the where and decision tuples as the tables hold them, then the
        fields dict -- the costly part -- skipped where this fields reference was already
        found equal to this very dict (the rows of an outcome share it: ``_fields_seen`` keeps
        the dict, so its identity stands for its contents while the memo lives)."""
        w, flow, d, f = key
        if w < 0 or d < 0 or (flow is not None and type(flow) is not int):
            raise ValueError("bad classification record")
        _, out, host, packet, op, direction, row_flow, reauth = row
        layer, layer_id, action, filt, filter_id, sublayer, terminating, veto, fields, _ = out
        tables = self._tables
        if (flow != row_flow or tables.wheres[w] != (host, layer, layer_id, packet, op, direction, reauth)
                or tables.decisions[d] != (action, filt, filter_id, sublayer, terminating, veto)):
            return False
        if self._fields_seen.get(f, _UNSEEN) is fields:
            return True
        if tables.fields_view(f) != fields:
            return False
        self._fields_seen[f] = fields
        return True

    def record(self, index: int, raw: Any, seq: int, t: float | None) -> TraceRecord:
        """Build record ``index`` from what :meth:`iter_keyed` gave for it."""
        try:
            return materialize(raw, seq, t, self._tables)
        except DECODE_ERRORS as exc:
            raise self._error(index, exc) from None

    # ------------------------------------------------------------------ index API
    # Answers about record i without building it (one small decode, no time, no fields).

    def _raw(self, index: int) -> tuple[Any, ...]:
        raw = self._raws[index]
        if type(raw) is not tuple or not raw:
            raise ValueError("record is not an array")
        if raw[0] not in TRACE_KINDS:
            raise ValueError(f"unknown record kind {raw[0]!r}")
        return raw

    def _where(self, raw: tuple[Any, ...]) -> Where:
        return self._tables.wheres[nonneg(raw[_WHERE_AT])]

    def _decision(self, raw: tuple[Any, ...]) -> Decision:
        return self._tables.decisions[nonneg(raw[_DECISION_AT])]

    def kind(self, index: int) -> str:
        """Record ``index``'s kind, as ``TraceRecord.kind`` says it (``classify``, ``stack`` ...)."""
        index = self._index(index)
        try:
            return TRACE_KINDS[self._raw(index)[0]]
        except DECODE_ERRORS as exc:
            raise self._error(index, exc) from None

    def host(self, index: int) -> str | None:
        """The host of record ``index`` (None for an expectation)."""
        index = self._index(index)
        try:
            raw = self._raw(index)
            if raw[0] == K_CLASSIFY:
                return self._where(raw)[WHERE_HOST]
            at = _HOST_AT.get(raw[0])
            return None if at is None else as_str(self._tables.atoms[nonneg(raw[at])])
        except DECODE_ERRORS as exc:
            raise self._error(index, exc) from None

    def layer(self, index: int) -> str | None:
        """The layer of classification ``index`` (None for other records)."""
        index = self._index(index)
        try:
            raw = self._raw(index)
            return self._where(raw)[WHERE_LAYER] if raw[0] == K_CLASSIFY else None
        except DECODE_ERRORS as exc:
            raise self._error(index, exc) from None

    def action(self, index: int) -> str | None:
        """What classification ``index`` decided, or what observed event ``index`` says the
        machine did (None for other records)."""
        index = self._index(index)
        try:
            raw = self._raw(index)
            if raw[0] == K_CLASSIFY:
                return self._decision(raw)[DECISION_ACTION]
            if raw[0] == L.K_OBSERVED:
                return str_or_none(self._tables.atoms[nonneg(raw[_OBSERVED_ACTION_AT])])
            return None
        except DECODE_ERRORS as exc:
            raise self._error(index, exc) from None

    def group(self, index: int) -> Hashable | None:
        """For a classification, a key shared by exactly the classifications that agree on
        everything but seq, time, flow and field values (host, layer, packet, op, direction,
        reauth, action, filter, sublayer, terminating filters, veto); None for other records."""
        index = self._index(index)
        try:
            raw = self._raw(index)
            return (raw[_WHERE_AT], raw[_DECISION_AT]) if raw[0] == K_CLASSIFY else None
        except DECODE_ERRORS as exc:
            raise self._error(index, exc) from None

    def iter_groups(self) -> Iterator[tuple[str, Hashable | None]]:
        """``(kind(i), group(i))`` for every record in order, with one streaming decode
        (several times faster than asking record by record)."""
        i = 0
        try:
            for raw in self._raws:
                kind = raw[0]
                if kind == K_CLASSIFY:
                    yield "classify", (raw[_WHERE_AT], raw[_DECISION_AT])
                else:
                    yield TRACE_KINDS[kind], None
                i += 1
        except DECODE_ERRORS as exc:
            raise self._error(i, exc) from None


@dataclass
class Recording:
    """A recording as read: the header, what it needs to replay, and the trace."""

    header: dict[str, Any]
    scenario: Any  # wfptui.core.scenario.Scenario (None when the header has no scenario)
    policies: dict[str, Any]  # host -> Policy
    inputs: list[Any]  # executed steps (Step)
    records: Sequence[TraceRecord]
    count: int  # event records (inputs + trace records)
    path: str = ""
    format_version: int = CURRENT_FORMAT_VERSION  # the version of the file as read (before migration)
    policy_texts: dict[str, str] = field(default_factory=dict)

    def drop_scenario_data(self) -> None:
        """Forget the header's scenario as data (its steps as maps, its source text) once
        :attr:`scenario` and :attr:`inputs` are built from it: for a long recording it is
        the largest thing held (``replay --check`` of 1M classifications: ~120 MiB of its
        peak). :attr:`scenario_data` and :attr:`scenario_source` are None afterwards."""
        self.header = {k: v for k, v in self.header.items() if k != "scenario"}

    @property
    def scenario_data(self) -> Any:
        scen = self.header.get("scenario")
        return scen.get("data") if isinstance(scen, dict) else None

    @property
    def scenario_source(self) -> str | None:
        scen = self.header.get("scenario")
        src = scen.get("source") if isinstance(scen, dict) else None
        if src is None and isinstance(self.scenario_data, dict):
            src = self.scenario_data.get("source")
        return src if isinstance(src, str) else None


class OffsetRaws(Sequence[Any]):
    """The raw trace records of a current-format file, kept as where they start in the file
    and decoded (msgpack, arrays as tuples) when indexed. A record ends where the next
    object starts: the next trace record, or the next other record (``others``, sorted,
    ending with the end of the last object read)."""

    def __init__(self, data: bytes, starts: array[int], others: list[int]) -> None:
        self._data = data
        self._starts = starts
        self._others = others

    def __len__(self) -> int:
        return len(self._starts)

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return msgpack.unpackb(self._data[self._starts[index]:self._end(index)], use_list=False, raw=False,
                               strict_map_key=True, max_ext_len=0)

    def _end(self, index: int) -> int:
        """Where record ``index`` ends: where the next object starts."""
        starts = self._starts
        end = starts[index + 1] if index + 1 < len(starts) else len(self._data)
        j = bisect.bisect_right(self._others, starts[index])
        if j < len(self._others) and self._others[j] < end:
            end = self._others[j]
        return end

    def chunk(self, start: int, size: int) -> list[Any]:
        """Records ``start`` .. ``start + size - 1`` (fewer at the end), decoded by one
        unpacker over their bytes (the other records between them are dropped)."""
        last = min(start + size, len(self._starts)) - 1
        if last < start:
            return []
        unpacker = msgpack.Unpacker(use_list=False, raw=False, strict_map_key=True,
                                    max_buffer_size=MAX_OBJECT_BYTES, max_ext_len=0)
        unpacker.feed(memoryview(self._data)[self._starts[start]:self._end(last)])
        out = list(unpacker)
        if len(out) != last - start + 1:
            # other records lie between (inputs, definitions: the read pass decoded them, and
            # their kind tags are >= K_TRACE_LIMIT): dropped, in C
            out = list(compress(out, map(gt, repeat(K_TRACE_LIMIT), map(_KIND, out))))
        if len(out) != last - start + 1:  # pragma: no cover - the read pass noted every one
            raise ValueError("a record is not where the read pass found it")
        return out

    def __iter__(self) -> Iterator[Any]:
        """Every raw record in order, with one streaming unpacker (faster than indexing)."""
        if not self._starts:
            return
        first = self._starts[0]
        unpacker = msgpack.Unpacker(io.BytesIO(memoryview(self._data)[first:self._others[-1]]),
                                    read_size=READ_SIZE, use_list=False, raw=False, strict_map_key=True,
                                    max_buffer_size=MAX_OBJECT_BYTES, max_ext_len=0)
        n = len(self._starts)
        for o in unpacker:
            # the read pass decoded every other record: those have kind tags >= K_TRACE_LIMIT
            if o[0] < K_TRACE_LIMIT:
                yield o
                n -= 1
                if not n:
                    return
