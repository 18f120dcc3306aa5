"""Property tests for the timeline filter language: any input either parses or raises
QueryError with a column inside the text; a parsed query filters without errors."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from wfptui.core.engine import run_scenario
from wfptui.io.scenario_file import load_builtin_scenario
from wfptui.tui.query import QueryError, filter_indexes, parse_query

RECORDS = run_scenario(load_builtin_scenario()).records
WORDS = st.sampled_from(["host:", "layer:", "verdict:", "filter:", "packet:", "kind:", "flow:", "op:", "-",
                         "server", "client", "block", "permit", "syn", "recv", "12", "x:", ":", " "])


@given(st.one_of(st.text(max_size=60), st.lists(WORDS, max_size=8).map("".join)))
def test_any_query_parses_or_fails_with_a_column(text: str) -> None:
    try:
        query = parse_query(text, hosts=("client", "server"))
    except QueryError as exc:
        assert 1 <= exc.col <= len(text) + 1  # 1-based column of the bad term
        assert str(exc)
        return
    indexes = filter_indexes(RECORDS, query, set())
    assert all(0 <= i < len(RECORDS) for i in indexes)
