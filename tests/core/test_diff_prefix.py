"""``diff_traces`` compares the common prefix cheaply and diffs from the first difference on.

The result must be exactly what the whole semantic diff gives (``_diff_rest(0, ...)`` is
that whole diff, record 0 on): a difference placed at the first, a middle or the last
record is found, named by the same seq, with the same text and JSON, whatever its kind
(a verdict, a field, a time, a record removed or inserted). Through the real commands:
tests/test_cli_check.py.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.io.recording_samples import synthetic_records
from wfptui.core.diff import _diff_rest, diff_traces, identity, record_identity
from wfptui.core.trace import ClassifyRecord, StackRecord, TraceRecord

BASE = synthetic_records(60, seed=7)


def _whole(a: list[Any], b: list[Any]) -> Any:
    """The whole semantic diff (no prefix skipped): the reference."""
    da = [r if isinstance(r, dict) else r.to_dict() for r in a]
    db = [r if isinstance(r, dict) else r.to_dict() for r in b]
    return _diff_rest(0, da, db, 50)


def _changed(rec: TraceRecord, how: str) -> TraceRecord:
    if isinstance(rec, ClassifyRecord):
        if how == "verdict":
            return dataclasses.replace(rec, action="block" if rec.action != "block" else "permit", filter="x")
        if how == "field":
            return dataclasses.replace(rec, fields={**rec.fields, "FLAGS": 99})
        if how == "flow":
            return dataclasses.replace(rec, flow=(rec.flow or 0) + 1000)
    if how == "time" and hasattr(rec, "t"):
        return dataclasses.replace(rec, t=rec.t + 0.5)  # type: ignore[call-arg]
    return StackRecord(seq=rec.seq, t=getattr(rec, "t", 0.0), host="server", event="rst-sent", flow=None)


def _edit(records: list[TraceRecord], where: int, how: str) -> list[TraceRecord]:
    out = list(records)
    if how == "remove":
        del out[where]
    elif how == "insert":
        out.insert(where, StackRecord(seq=where + 1, t=0.0, host="client", event="flow-created", flow=7))
    else:
        out[where] = _changed(out[where], how)
    return out


def _stream(records: list[Any]) -> Iterator[Any]:
    yield from records  # a one-pass iterable: the diff must read each side once


HOWS = ["verdict", "field", "flow", "time", "remove", "insert", "other"]


@pytest.mark.parametrize("how", HOWS)
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_a_difference_is_found_at_the_first_a_middle_and_the_last_record(where: str, how: str) -> None:
    i = {"first": 0, "middle": len(BASE) // 2, "last": len(BASE) - 1}[where]
    b = _edit(BASE, i, how)
    d = diff_traces(_stream(BASE), _stream(b))
    assert not d.same
    ref = _whole(BASE, b)
    assert d == ref
    assert d.to_text("A", "B") == ref.to_text("A", "B")
    assert d.to_json() == ref.to_json()
    assert d.first is not None
    assert i in (d.first.index_a, d.first.index_b)
    # and the other way round
    back = diff_traces(b, BASE)
    assert back == _whole(b, BASE) and not back.same


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(BASE) - 1), st.sampled_from(HOWS)), min_size=0, max_size=3),
       st.booleans())
def test_prefix_skipping_gives_the_whole_diff(edits: list[tuple[int, str]], as_dicts: bool) -> None:
    b = list(BASE)
    for where, how in edits:
        b = _edit(b, min(where, len(b) - 1), how)
    a: list[Any] = [r.to_dict() for r in BASE] if as_dicts else BASE
    d = diff_traces(a, b)
    ref = _whole(a, b)
    assert d == ref
    assert d.to_text() == ref.to_text()
    assert json.dumps(d.to_json()) == json.dumps(ref.to_json())
    assert d.same == (b == BASE)


def test_lengths_and_empty_traces() -> None:
    assert diff_traces([], []).same
    d = diff_traces(BASE, [])
    assert d == _whole(BASE, []) and (d.len_a, d.len_b) == (len(BASE), 0)
    d = diff_traces(BASE[:10], BASE)
    assert d == _whole(BASE[:10], BASE)
    assert d.first is not None and d.first.index_b == 10 and d.first.seq_b == BASE[10].seq


def test_record_identity_is_identity_of_the_dict() -> None:
    for r in BASE:
        assert record_identity(r) == identity(r.to_dict())
    assert record_identity(BASE[0].to_dict()) == identity(BASE[0].to_dict())


def _engine_trace() -> Any:
    from wfptui.core.engine import run_scenario
    from wfptui.io.scenario_file import load_builtin_scenario

    return run_scenario(load_builtin_scenario()).records


@pytest.mark.parametrize("how", HOWS)
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_a_trace_is_compared_by_its_rows(where: str, how: str) -> None:
    """B a ``core.trace.Trace`` (as ``replay --check`` passes the new trace): its rows are
    compared without building their records; the result is the whole diff's."""
    trace = _engine_trace()
    records = list(trace)
    assert diff_traces(_stream(records), trace).same
    i = {"first": 0, "middle": len(records) // 2, "last": len(records) - 1}[where]
    a = _edit(records, i, how)
    d = diff_traces(_stream(a), trace)
    ref = _whole(a, records)
    assert d == ref and not d.same
    assert d.to_text() == ref.to_text() and d.to_json() == ref.to_json()
    # a record equal only in its to_dict() form (a time within rounding) is the same
    near = list(records)
    near[i] = dataclasses.replace(near[i], t=near[i].t + 1e-9)  # type: ignore[call-arg]
    assert diff_traces(near, trace).same
    assert diff_traces(records[:i], trace) == _whole(records[:i], records)
    assert diff_traces(records + [records[0]], trace) == _whole(records + [records[0]], records)
