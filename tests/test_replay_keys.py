"""``replay --check`` compares the recording's records as keys with the new trace's rows.

``core.diff.diff_traces(recording.records, trace)`` takes the keyed path (the reader's
``iter_keyed``: no record built for the common prefix but once per distinct (row, key)
pair) when A is a recording's trace and B a ``core.trace.Trace``. It must say exactly what
the whole semantic diff says (``_diff_rest(0, ...)`` of the built records): the same
``same``, the same text and JSON, on random engine runs whose recorded trace is left alone
or changed anywhere (a verdict, a field, a flow, a time, a time within the trace's rounding,
a record removed, inserted or replaced). A corrupted record is still refused even when an
equal-looking one came before it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.core.test_diff_prefix import HOWS, _edit, _whole
from tests.core.test_trace_rows import _run, _scenarios
from wfptui.core.diff import KeyedRecords, diff_traces
from wfptui.core.trace import Trace, TraceRecord
from wfptui.io.recording import LazyRecords, RecordingError, decode_recording, encode_recording

SCENARIO = {"name": "keys", "hosts": []}


def _recorded(records: list[TraceRecord]) -> LazyRecords:
    """``records`` written as a recording and read back (the reader's lazy trace)."""
    rec = decode_recording(encode_recording(scenario=SCENARIO, policies={}, inputs=[], records=records,
                                            created="2026-12-04T00:00:00Z"))
    assert isinstance(rec.records, LazyRecords)
    return rec.records


def _near(records: list[TraceRecord], i: int) -> list[TraceRecord]:
    """Record i a nanosecond later: different objects, the same ``to_dict()`` (t at µs)."""
    out = list(records)
    rec: Any = out[i]
    if hasattr(rec, "t"):
        out[i] = dataclasses.replace(rec, t=rec.t + 1e-9)
    return out


def _check_agrees(recorded: list[TraceRecord], trace: Trace) -> None:
    lazy = _recorded(recorded)
    assert isinstance(lazy, KeyedRecords)
    d = diff_traces(lazy, trace)
    ref = _whole(list(lazy), list(trace))
    assert d == ref
    assert d.same == ref.same
    assert d.to_text("rec", "replay") == ref.to_text("rec", "replay")
    assert d.to_json() == ref.to_json()


@settings(max_examples=40, deadline=None)
@given(_scenarios(), st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.sampled_from([*HOWS, "near"])),
                              max_size=3))
def test_key_comparison_agrees_with_the_whole_diff(text: str, edits: list[tuple[float, str]]) -> None:
    trace = _run(text, general=False).records
    assert isinstance(trace, Trace)
    records = list(trace)
    recorded = list(records)
    for where, how in edits:
        if not recorded:
            break
        i = int(where * len(recorded))
        recorded = _near(recorded, i) if how == "near" else _edit(recorded, i, how)
    _check_agrees(recorded, trace)
    if not edits:
        assert diff_traces(_recorded(recorded), trace).same


@settings(max_examples=40, deadline=None)
@given(_scenarios(), st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.sampled_from([*HOWS, "near"])),
                              max_size=3), st.integers(0, 2000))
def test_two_recordings_compared_by_keys_agree_with_the_whole_diff(
        text: str, edits: list[tuple[float, str]], seed: int) -> None:
    """``wfptui diff`` of two recordings: both sides keyed (``_keys_prefix``); the same
    result as the whole diff, both ways, for engine traces and synthetic ones (every
    record kind, seq records, expectations)."""
    from tests.io.recording_samples import synthetic_records

    for records in (list(_run(text, general=False).records), synthetic_records(120, seed=seed, flows=4)):
        edited = list(records)
        for where, how in edits:
            if not edited:
                break
            i = int(where * len(edited))
            edited = _near(edited, i) if how == "near" else _edit(edited, i, how)
        a, b = _recorded(edited), _recorded(records)
        for x, y in ((a, b), (b, a), (b, _recorded(records))):
            d = diff_traces(x, y)
            ref = _whole(list(x), list(y))
            assert d == ref
            assert d.to_text() == ref.to_text() and d.to_json() == ref.to_json()
        assert diff_traces(b, _recorded(records)).same


@pytest.mark.parametrize("how", HOWS)
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_a_difference_at_the_first_a_middle_and_the_last_record(where: str, how: str) -> None:
    from wfptui.core.engine import run_scenario
    from wfptui.io.scenario_file import load_builtin_scenario

    trace = run_scenario(load_builtin_scenario()).records
    assert isinstance(trace, Trace)
    records = list(trace)
    i = {"first": 0, "middle": len(records) // 2, "last": len(records) - 1}[where]
    _check_agrees(_edit(records, i, how), trace)
    _check_agrees(_near(records, i), trace)
    _check_agrees(records[:i], trace)
    _check_agrees(records + [records[i]], trace)


def test_a_corrupted_record_is_refused_after_an_equal_looking_one() -> None:
    """The key of a classification holds its ids as exact ints: the same ids written as a
    float (1.0 == 1 in Python) are another key, so the record is built, and refused, as
    reading the whole trace refuses it."""
    from wfptui.core.engine import run_scenario
    from wfptui.io.scenario_file import load_builtin_scenario

    trace = run_scenario(load_builtin_scenario()).records
    assert isinstance(trace, Trace)
    good = _recorded(list(trace))
    raws: list[Any] = list(good._raws)
    # the last classification whose (row) repeats an earlier one's key
    seen: dict[Any, int] = {}
    target = None
    for i, (key, _seq, _t, raw) in enumerate(good.iter_keyed()):
        if type(key) is tuple and len(key) == 4 and raw[0] == 0:
            if key in seen:
                target = i
            seen[key] = i
    assert target is not None
    raw = raws[target]
    raws[target] = (raw[0], raw[1], float(raw[2]), *raw[3:])
    bad = LazyRecords(raws, good._tables, [], "bad.wfpr")
    with pytest.raises(RecordingError, match=f"corrupted at trace record {target}"):
        list(bad)
    with pytest.raises(RecordingError, match=f"corrupted at trace record {target}"):
        diff_traces(bad, trace)
    with pytest.raises(RecordingError, match=f"corrupted at trace record {target}"):
        diff_traces(bad, _recorded(list(trace)))
    with pytest.raises(RecordingError, match=f"corrupted at trace record {target}"):
        diff_traces(_recorded(list(trace)), bad)
