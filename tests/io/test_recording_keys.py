"""The reader's keyed iteration (``LazyRecords.iter_keyed`` / ``record``), which ``replay
--check`` compares with the new trace's rows (tests/test_replay_keys.py).

For every record: ``(key, seq, t, raw)`` with the seq and time the built record has,
``record(i, raw, seq, t)`` equal to ``records[i]``; equal keys only for records equal
apart from seq and time, and (the writer interning every value once) records equal apart
from seq and time have equal keys; keys are exact about types (1, 1.0 and True differ).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.core.test_trace_rows import _run, _scenarios
from tests.io.recording_samples import synthetic_records
from wfptui.core.trace import Trace, TraceRecord
from wfptui.io.recording import LazyRecords, decode_recording, encode_recording
from wfptui.io.recording.tables import Tables

SCENARIO = {"name": "keys", "hosts": []}


def _but_seq_and_t(rec: TraceRecord) -> dict[str, Any]:
    return {k: v for k, v in rec.to_dict().items() if k not in ("seq", "t")}


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 300), st.integers(1, 6))
def test_keys_seq_and_times_are_those_of_the_records(seed: int, n: int, flows: int) -> None:
    records = synthetic_records(n, seed=seed, flows=flows)
    lazy = decode_recording(encode_recording(scenario=SCENARIO, policies={}, inputs=[], records=records)).records
    assert isinstance(lazy, LazyRecords)
    built = list(lazy)
    assert built == records
    by_key: dict[Any, dict[str, Any]] = {}
    keys = []
    for i, (key, seq, t, raw) in enumerate(lazy.iter_keyed()):
        rec = built[i]
        assert lazy.record(i, raw, seq, t) == rec
        assert seq == rec.seq
        assert t == getattr(rec, "t", None)
        hash(key)
        form = _but_seq_and_t(rec)
        assert by_key.setdefault(key, form) == form  # equal keys: equal records but seq and t
        keys.append((key, form))
    assert len(keys) == len(records)
    # and the writer interns: records equal but for seq and t have equal keys
    by_form: dict[str, Any] = {}
    for key, form in keys:
        assert by_form.setdefault(repr(sorted(form.items())), key) == key


def test_keys_are_exact_about_types() -> None:
    """A where id 1, True or 1.0 (equal in Python) gives three keys; so does a stack
    event's atom id; a classification's key never equals another kind's."""
    raws: list[Any] = [(0, 0, 1, None, 0, 0), (0, None, True, None, 0, 0), (0, None, 1.0, None, 0, 0),
                       (0, None, 1, 1, 0, 0), (1, None, 4, 5, None, 6), (1, None, 4, 5, None, True),
                       (1, None, 4, 5, None, 6.0), (2, None, 1, None, 0, 0)]
    lazy = LazyRecords(raws, Tables(), [], "x.wfpr")
    keys = [key for key, _seq, _t, _raw in lazy.iter_keyed()]
    assert len(keys) == len(raws)
    for i, a in enumerate(keys):
        for j, b in enumerate(keys):
            assert (a == b) == (i == j), (raws[i], raws[j])
    # the time is not part of the key, the seq and t come beside it
    same = LazyRecords([(0, 0, 1, None, 0, 0), (0, 7, 1, None, 0, 0)], Tables(), [(0, 5)], "x.wfpr")
    (k0, s0, t0, _), (k1, s1, t1, _) = same.iter_keyed()
    assert k0 == k1 and (s0, s1) == (5, 6) and (t0, t1) == (0.0, 7e-6)


_JSONISH = st.recursive(st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False) | st.text(max_size=3)
                        | st.binary(max_size=3),
                        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
                        max_leaves=20)


def _nest(value: Any, depth: int) -> Any:
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


@given(_JSONISH, st.integers(0, 60))
def test_the_header_check_is_thaws(value: Any, depth: int) -> None:
    """The header is decoded with lists and checked in place (``values.checked``): the
    same data and the same refusals as decoding with tuples and thawing."""
    import msgpack

    from wfptui.io.recording.values import checked, thaw

    packed = msgpack.packb(_nest(value, depth))
    as_lists = msgpack.unpackb(packed, use_list=True, raw=False, strict_map_key=False)
    as_tuples = msgpack.unpackb(packed, use_list=False, raw=False, strict_map_key=False)
    try:
        want = thaw(as_tuples)
    except ValueError as exc:
        with pytest.raises(ValueError, match=str(exc)):
            checked(as_lists)
        return
    assert checked(as_lists) == want


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_same_row_is_what_building_both_records_says(data: st.DataObject) -> None:
    """``LazyRecords.same_row(key, row)`` (``replay --check`` verifying a row without building
    its records) says True exactly when the recorded record of ``key`` and the record of the
    engine's ``row`` are equal but for seq and t — for every pair of a recorded key and a
    row of a random engine run, in place or not, classification or stack event rows."""
    trace = _run(data.draw(_scenarios()), general=False).records
    assert isinstance(trace, Trace)
    lazy = decode_recording(encode_recording(scenario=SCENARIO, policies={}, inputs=[], records=list(trace),
                                             created="2026-12-05T00:00:00Z")).records
    assert isinstance(lazy, LazyRecords)
    keyed = list(lazy.iter_keyed())
    rows = [item for item in trace.items if type(item) is tuple]
    if not keyed or not rows:
        return
    for _ in range(40):
        i = data.draw(st.integers(0, len(keyed) - 1))
        row = rows[data.draw(st.integers(0, len(rows) - 1))] if data.draw(st.booleans()) else trace.items[i]
        if type(row) is not tuple:
            continue
        key, seq, t, raw = keyed[i]
        said = lazy.same_row(key, row)
        built = _but_seq_and_t(lazy.record(i, raw, seq, t))
        theirs = _but_seq_and_t(row[0](row, seq, t if t is not None else 0.0))
        assert said == (built == theirs)


def _offset_records(blobs: list[bytes]) -> LazyRecords:
    """A lazy trace over raw record bytes, as the reader's read pass would note them."""
    from array import array

    from wfptui.io.recording.records import OffsetRaws

    starts = array("q")
    data = b""
    for blob in blobs:
        starts.append(len(data))
        data += blob
    return LazyRecords(OffsetRaws(data, starts, [len(data)]), Tables(), [], "x.wfpr")


def test_a_record_that_cannot_be_decoded_is_named_in_the_key_stream() -> None:
    """Chunks are decoded whole; when one fails, its records are decoded one by one so the
    error names the record (here: a string that is not UTF-8 inside record 2)."""
    import msgpack

    from wfptui.io.recording import RecordingError

    good = msgpack.packb([0, 0, 1, None, 0, 0])
    bad = b"\x96\x00\x00\xa1\xff\xc0\x00\x00"  # [0, 0, "\xff" (not UTF-8), None, 0, 0]
    lazy = _offset_records([good, good, bad, good])
    with pytest.raises(RecordingError, match="corrupted at trace record 2"):
        list(lazy.iter_key_chunks(size=1024))


def test_a_chunk_larger_than_one_object_may_be_is_read_record_by_record(monkeypatch: pytest.MonkeyPatch) -> None:
    """The limit on one object's bytes also bounds a chunk's buffer: a chunk over it is
    read record by record, with the same keys and times."""
    import msgpack

    from wfptui.io.recording import records as R

    blobs = [msgpack.packb([0, 5, i, None, 0, 0]) for i in range(40)]
    want = list(_offset_records(blobs).iter_keyed())
    monkeypatch.setattr(R, "MAX_OBJECT_BYTES", 64)
    got = list(_offset_records(blobs).iter_keyed())
    assert [(k, s, t) for k, s, t, _ in got] == [(k, s, t) for k, s, t, _ in want]
    assert [k for k, *_ in got] == [(i, None, 0, 0) for i in range(40)]


def test_a_comparisons_fields_memo_ends_with_it() -> None:
    """``same_row`` remembers the fields dicts it found equal, for one comparison: a new key
    stream (the next comparison, say the TUI's against a re-run) starts without them, so a
    recording kept open keeps no dead trace's dicts alive."""
    from wfptui.core.engine import run_scenario
    from wfptui.io.scenario_file import load_builtin_scenario

    trace = run_scenario(load_builtin_scenario()).records
    assert isinstance(trace, Trace)
    lazy = decode_recording(encode_recording(scenario=SCENARIO, policies={}, inputs=[], records=list(trace),
                                             created="2026-12-05T00:00:00Z")).records
    assert isinstance(lazy, LazyRecords)
    pairs = [(key, item) for (key, _s, _t, _r), item in zip(lazy.iter_keyed(), trace.items, strict=True)
             if type(item) is tuple]
    assert all(lazy.same_row(key, row) for key, row in pairs)
    assert lazy._fields_seen  # remembered within the comparison
    next(lazy.iter_key_chunks())
    assert lazy._fields_seen == {}
