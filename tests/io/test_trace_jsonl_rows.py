"""JSON lines and the json document of a ``Trace`` built from shared parts
(io/trace_output.py ``_RowCache``: rows cut once, a classification composed of its where,
flow, decision and fields texts, lines laid out a chunk at a time) are exactly the plain
way's bytes for any rows: values of unusual types (a bool where an
int goes, an int where a bool goes, floats, None, nested or non-str keys, 64-bit fields),
stack data that shadows a record's own keys, shared rows and outcomes, records that are
objects among the rows, times that are 0.0 and -0.0, infinite or NaN, and traces longer
than a block.

The engine's own traces are checked in tests/io/test_trace_output_rows.py; these rows
are made by hand, to reach every way back to the plain encoding.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.io.test_trace_output_rows import _plain, _written
from wfptui.core.model import Terminating
from wfptui.core.trace import AuditRecord, Outcome, StackRecord, Trace, classify_row, stack_row
from wfptui.io import trace_output

#: An outcome's full arbitration result: the writer never reads it.
_NO_RESULT: Any = None

_text = st.sampled_from(["server", "client", "hôte", "☃", "a\"b\\c", "", "\x00\n"])
_opt_text = st.none() | _text
_field_names = st.sampled_from(["IP_LOCAL_PORT", "IP_LOCAL_INTERFACE", "ALE_APP_ID", "FLAGS", "ALE_USER_ID",
                                "filter_id", "x"])
#: The usual values: what the engine writes.
_fields = st.dictionaries(_field_names, st.integers(0, 2**64) | _text | st.none(), max_size=6)
_outcome = st.builds(Outcome, st.sampled_from(["ALE_AUTH_CONNECT_V4", "INBOUND_TRANSPORT_V6"]), st.integers(0, 2**16),
                     st.sampled_from(["permit", "block", "none"]), _opt_text, st.none() | st.integers(0, 2**64),
                     _opt_text, st.just(()), st.booleans(), _fields, st.just(_NO_RESULT))
_leaf = st.none() | st.booleans() | st.integers(-(2**65), 2**65) | _text | st.sampled_from([1.0, 0.5, -0.0])
_value = _leaf | st.lists(_leaf, max_size=2) | st.dictionaries(_field_names, _leaf, max_size=2)
#: Unusual values, one of which a row may get: (the place, a value).
_ODD_OUTCOME: list[tuple[str, Any]] = [
    ("layer_id", True), ("layer_id", False), ("layer_id", 1.0), ("action", None), ("action", 3), ("filter", 5),
    ("filter_id", True), ("filter_id", 1.0), ("filter_id", "1"), ("sublayer", 2), ("veto", 1), ("veto", 0),
    ("terminating", (Terminating("f", 2**63, "s", "block", True),)), ("terminating", []), ("fields", None),
    ("fields", {"x": True}), ("fields", {"IP_LOCAL_PORT": 1.0}), ("fields", {"FLAGS": [1, 2]}),
    ("fields", {"x": {"filter_id": 3, "luid": 2}}), ("fields", {1: 2}), ("fields", {"IP_LOCAL_INTERFACE": False})]
_ODD_ROW: list[tuple[int, Any]] = [(2, None), (2, 5), (3, 5), (4, 1), (5, 0.5), (6, True), (6, 1.0), (6, "1"),
                                   (7, 1), (7, 0), (7, None)]


@st.composite
def _classify(draw: st.DrawFn, outcomes: list[Outcome]) -> tuple[Any, ...]:
    """A classification row: the usual values, or one unusual."""
    out = draw(st.sampled_from(outcomes))
    row = [classify_row, out, draw(_text), draw(st.sampled_from(["SYN", "DATA", None])), draw(_opt_text),
           draw(st.sampled_from(["inbound", "outbound", None])), draw(st.none() | st.integers(0, 2**64)),
           draw(st.booleans())]
    odd = draw(st.integers(0, 2))
    if odd == 1:
        place, value = draw(st.sampled_from(_ODD_ROW))
        row[place] = value
    elif odd == 2:
        place, value = draw(st.sampled_from(_ODD_OUTCOME))
        if place == "fields" and isinstance(value, dict):
            value = {**out.fields, **value}
        row[1] = out._replace(**{place: value})
    return tuple(row)


_stack_data: st.SearchStrategy[dict[str, Any]] = st.dictionaries(
    st.sampled_from(["bytes", "host", "seq", "filter_id", "luid", "fields", "extra"]), _value, max_size=3) \
    | st.dictionaries(st.sampled_from(["bytes", "why", "filter_id", "luid"]), st.integers(0, 2**64) | _text | st.none(),
                      max_size=3)
_stack = st.tuples(st.just(stack_row), _text | st.sampled_from([None, 5]), _text, _text | st.just(5),
                   st.none() | st.integers(0, 2**64) | st.sampled_from([True, 1.0]), _stack_data | st.just({1: 2}))
_time = st.sampled_from([0.0, -0.0, 0.1, 0.25, 1e-7, 3.0000004, math.inf, math.nan, 1.5])


_PLAIN_ROWS = [(classify_row, Outcome("ALE_AUTH_CONNECT_V4", 48, "permit", "f", 70111, "s", (), False,
                                      {"IP_LOCAL_PORT": 80, "IP_LOCAL_INTERFACE": 2**60, "ALE_APP_ID": "é"}, _NO_RESULT),
                "client", None, "connect", "outbound", 4, False),
               (stack_row, "server", "data-delivered", "", 3, {"bytes": 100})]


@st.composite
def _trace(draw: st.DrawFn) -> Trace:
    outcomes = draw(st.lists(_outcome, min_size=1, max_size=4))
    rows = draw(st.lists(_classify(outcomes) | _stack, min_size=1, max_size=8))
    trace = Trace()
    times = [draw(_time) for _ in range(3)]  # shared float objects, as the engine's
    for row in _PLAIN_ROWS:  # the writer checks its first row of each kind against the plain way: usual ones
        trace.items.append(row)
        trace.times.append(0.25)
    for _ in range(draw(st.integers(1, 25))):
        kind = draw(st.integers(0, 9))
        t = times[draw(st.integers(0, 2))]
        if kind == 0:  # an object among the rows
            seq = len(trace.items) + 1
            rec: Any = draw(st.sampled_from([
                StackRecord(seq=seq, t=t, host="h", event="rst-sent", flow=None),
                AuditRecord(seq=seq, t=t, host="h", event_id=5157, filter_id=2**63, layer_id=44, data={"x": 1})]))
            trace.append(rec)
        else:
            trace.items.append(draw(st.sampled_from(rows)))
            trace.times.append(t)
    return trace


#: The formats whose classifications are composed of parts.
_COMPOSED = ("jsonl", "json")


@settings(max_examples=300, deadline=None)
@given(_trace(), st.sampled_from(_COMPOSED), st.booleans())
def test_any_rows_give_the_plain_bytes(trace: Trace, fmt: str, ascii_only: bool) -> None:
    assert _written(trace, fmt, ascii_only) == _plain(list(trace), fmt, ascii_only)


def test_a_trace_longer_than_a_block() -> None:
    outs = [Outcome("ALE_AUTH_CONNECT_V4", 48, "permit", "f", 2**63 + 5, "s", (), False,
                    {"IP_LOCAL_PORT": p, "IP_LOCAL_INTERFACE": 2**60, "ALE_APP_ID": "é"}, _NO_RESULT) for p in range(5)]
    rows: list[tuple[Any, ...]] = [(classify_row, out, "client", "DATA", None, "outbound", flow, False) for flow, out in enumerate(outs)]
    rows.append((stack_row, "server", "data-delivered", "", 3, {"bytes": 100, "luid": 7}))
    trace = Trace()
    times = [0.0, -0.0, 0.5, 0.75]
    n = 3 * trace_output._CHUNK + 7
    for i in range(n):
        if i % 1000 == 999:
            trace.append(StackRecord(seq=i + 1, t=times[i % 4], host="h", event="x"))
        else:
            trace.items.append(rows[i % len(rows)])
            trace.times.append(times[(i // 3) % 4])
    for fmt in _COMPOSED:
        for ascii_only in (False, True):
            assert _written(trace, fmt, ascii_only) == _plain(list(trace), fmt, ascii_only)


def test_times_that_are_not_all_floats_take_the_record_by_record_way() -> None:
    out = Outcome("ALE_AUTH_CONNECT_V4", 48, "permit", None, None, None, (), False, {}, _NO_RESULT)
    trace = Trace()
    for t in (0, 1, 1.0, True, 2.5):
        trace.items.append((classify_row, out, "h", None, "connect", None, None, False))
        trace.times.append(t)
    for fmt in _COMPOSED:
        assert _written(trace, fmt, False) == _plain(list(trace), fmt, False)


def test_each_unusual_value_in_turn() -> None:
    """Every unusual value of ``_ODD_OUTCOME`` and ``_ODD_ROW``, after usual rows of each kind
    (which the writer checks its shared parts against) and before a usual row with the same
    where and decision (which must not take the unusual one's texts)."""
    base: tuple[Any, ...] = _PLAIN_ROWS[0]
    out: Outcome = base[1]
    for place, value in _ODD_OUTCOME:
        if place == "fields" and isinstance(value, dict):
            value = {**out.fields, **value}
        odd = (*base[:1], out._replace(**{place: value}), *base[2:])
        _check_rows([odd, (*base[:1], out._replace(), *base[2:])])
    for index, value in _ODD_ROW:
        odd = (*base[:index], value, *base[index + 1:])
        usual = (*base[:1], out._replace(), *base[2:])
        _check_rows([odd, usual])
    for data in ({"host": "x"}, {1: 2}, {"bytes": True}, {"bytes": [1]}, {"filter_id": 2**63, "luid": 5, "x": None}):
        _check_rows([(stack_row, "server", "data-delivered", "", 3, data)])


def _check_rows(rows: list[tuple[Any, ...]]) -> None:
    trace = Trace()
    for row in [*_PLAIN_ROWS, *rows]:
        trace.items.append(row)
        trace.times.append(0.5)
    for fmt in _COMPOSED:
        for ascii_only in (False, True):
            assert _written(trace, fmt, ascii_only) == _plain(list(trace), fmt, ascii_only)


def test_equal_values_of_other_types_are_written_apart() -> None:
    """True == 1 == 1.0 (and hash alike), but JSON writes them apart: a where or a decision
    seen with one must not lend its words to a row with another."""
    base: tuple[Any, ...] = _PLAIN_ROWS[0]
    out: Outcome = base[1]
    for place, values in (("layer_id", (1, True, 1.0)), ("veto", (False, 0, 0.0)), ("filter_id", (1, True, 1.0))):
        _check_rows([(*base[:1], out._replace(**{place: v}), *base[2:]) for v in values])
    for index, values in ((3, (1, True, 1.0)), (4, (0, False)), (5, (1, True))):
        _check_rows([(*base[:index], v, *base[index + 1:]) for v in values])
