"""Trace output at I/O speed gives the same bytes (io/trace_output.py, io/jsonout.py).

A ``Trace``'s rows are encoded once per distinct row and glued around each record's seq
and time; the json document is written by a faster indenting encoder and streamed. Every
byte must be what the plain way gives: ``json.dumps`` of each record's ``to_dict()``
(64-bit values as strings), ``json.dumps(indent=1)`` of the whole document, ``text_line``
of each record — for random scenarios (blocks, policy changes, reauthorization), with
expect records after the trace, on UTF-8 and on a code page (``\\uXXXX`` escapes).
"""

from __future__ import annotations

import io
import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.core._scen import scenario
from tests.core.test_trace_rows import _scenarios
from wfptui.core.engine import RunResult, run_scenario
from wfptui.core.trace import ExpectRecord, StackRecord, Trace, TraceRecord
from wfptui.io.jsonout import document, header_line, indented, wide_to_str
from wfptui.io.scenario_file import load_builtin_scenario
from wfptui.io.trace_output import TRACE_FORMAT, text_line, write_trace


def _plain(records: list[TraceRecord], fmt: str, ascii_only: bool, scenario_name: str = "",
           ok: bool | None = None) -> str:
    """The output as the writer made it before rows were cached (the reference)."""
    if fmt == "jsonl":
        lines = [json.dumps(header_line(TRACE_FORMAT), ensure_ascii=ascii_only, separators=(", ", ": "))]
        lines += [json.dumps(wide_to_str(r.to_dict()), ensure_ascii=ascii_only, separators=(", ", ": "))
                  for r in records]
        return "\n".join(lines) + "\n"
    if fmt == "json":
        if ok is None:
            ok = all(r.ok for r in records if isinstance(r, ExpectRecord))
        doc = document(TRACE_FORMAT, {"scenario": scenario_name, "records": [r.to_dict() for r in records],
                                      "ok": ok})
        return json.dumps(doc, ensure_ascii=ascii_only, indent=1) + "\n"
    return "".join(text_line(r) + "\n" for r in records)


class _CodePage(io.StringIO):
    """A cp1252 stream: JSON is written with \\uXXXX escapes."""

    encoding = "cp1252"


def _written(records: Any, fmt: str, ascii_only: bool, **kw: Any) -> str:
    out: io.StringIO = _CodePage() if ascii_only else io.StringIO()
    write_trace(records, fmt, out, **kw)
    return out.getvalue()


def _check(result: RunResult, name: str = "s") -> None:
    assert isinstance(result.records, Trace)
    everything = list(result.all_records)
    for fmt in ("jsonl", "json", "text"):
        for ascii_only in (False, True):
            want = _plain(everything, fmt, ascii_only, name, result.ok)
            got = _written(result.records, fmt, ascii_only, scenario=name, ok=result.ok, more=result.expects)
            assert got == want, (fmt, ascii_only)
            # records as objects (a recording's, a list) take the plain path: the same bytes
            assert _written(everything, fmt, ascii_only, scenario=name, ok=result.ok) == want


@settings(max_examples=25, deadline=None)
@given(_scenarios())
def test_rows_encode_to_the_same_bytes_as_records(text: str) -> None:
    _check(run_scenario(scenario(text)))


def test_builtin_scenario_with_expects_and_non_ascii_names() -> None:
    result = run_scenario(load_builtin_scenario())
    assert result.expects
    _check(result, "héllo ☃")


def test_a_trace_of_objects_and_a_generator() -> None:
    recs: list[TraceRecord] = [StackRecord(seq=1, t=0.5, host="hôte", event="rst-sent", flow=None),
                               StackRecord(seq=2, t=float("nan"), host="h", event="x", flow=3, data={"a": [1]}),
                               ExpectRecord(seq=3, ok=False, expect={"host": "h"}, matched=0, message="no")]
    for fmt in ("jsonl", "json", "text"):
        want = _plain(recs, fmt, False)
        assert _written(Trace(recs), fmt, False) == want
        assert _written(iter(recs), fmt, False) == want
    assert _written([], "json", False) == _plain([], "json", False)
    assert json.loads(_written([], "json", False))["records"] == []


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=25)


@given(_json, st.booleans(), st.integers(0, 3))
def test_indented_is_json_dumps_indent_1(value: Any, ascii_only: bool, level: int) -> None:
    want = json.dumps(value, ensure_ascii=ascii_only, indent=1).replace("\n", "\n" + " " * level)
    assert indented(value, ascii_only, level) == want


def test_indented_leaves_unusual_values_to_json() -> None:
    class Word(str):
        pass

    value = {"a": [math.inf, -math.inf], 1: Word("x"), "b": {"c": ()}}
    assert indented(value, False, 1) == json.dumps(value, indent=1).replace("\n", "\n ")


def test_a_decision_whose_words_do_not_check_out_is_never_composed(monkeypatch: Any) -> None:
    """The first line of each decision is cut in full and its decision's words are checked
    against it; words that do not give that line are never used (every outcome of that
    decision is then cut from its full line): the bytes stay the same."""
    from wfptui.io import trace_output

    result = run_scenario(load_builtin_scenario())
    calls: list[str] = []

    def wrong(self: Any, rec: Any) -> str:
        calls.append(rec.action)
        return ', "action": "nonsense", "fields": '

    monkeypatch.setattr(trace_output._RowCache, "_decision_words", wrong)
    for fmt in ("jsonl", "json"):
        calls.clear()
        want = _plain(list(result.all_records), fmt, False, "s", result.ok)
        assert _written(result.records, fmt, False, scenario="s", ok=result.ok, more=result.expects) == want
        assert calls  # the check ran


def test_classifications_are_composed_in_both_json_formats() -> None:
    """jsonl and json compose a classification from its parts (no full encoding per row):
    on the built-in scenario every decision's words check out against its first full line
    and later rows of an outcome share its tail."""
    from wfptui.io import trace_output

    result = run_scenario(load_builtin_scenario())
    for fmt in ("jsonl", "json"):
        cache = trace_output._RowCache(fmt, False)
        for _ in cache.pieces(result.records, (), "\n"):
            pass
        assert cache.decisions and trace_output._NEVER not in cache.decisions.values(), fmt
        assert len(cache.tails) > len(cache.decisions), fmt  # outcomes composed, not only cut
