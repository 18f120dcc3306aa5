"""A classification's fields as the jsonl and json writers compose them from cached entry
texts (``_RowCache._fields_text``) are what encoding the whole dict writes, for any values: 64-bit
fields as strings, 1 / 1.0 / True / -0.0 apart, nested values, non-ASCII under both
encodings, in the dict's order; and a row's flow and reauth words likewise."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from wfptui.io.jsonout import indented, wide_to_str
from wfptui.io.trace_output import _FIELDS_KEY, _dumps, _RowCache

_KEYS = st.sampled_from(["IP_LOCAL_PORT", "IP_LOCAL_INTERFACE", "FLAGS", "ALE_APP_ID", "é", "luid",
                         "INTERFACE_QUARANTINE_EPOCH", "X"])
_SCALARS = st.one_of(st.integers(-(2**64), 2**64), st.sampled_from([0, 1, True, False, 1.0, -0.0, 0.0, None]),
                     st.text(max_size=4), st.floats(allow_nan=False))
_VALUES = st.recursive(_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                          st.dictionaries(_KEYS, inner, max_size=3)), max_leaves=6)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.dictionaries(_KEYS, _VALUES, max_size=6), min_size=1, max_size=4), st.booleans())
def test_fields_text_is_the_whole_dicts_encoding(dicts: list[dict[str, Any]], ascii_only: bool) -> None:
    cache = _RowCache("jsonl", ascii_only)  # one cache for all: entries met before are reused
    for fields in dicts:
        want = _dumps(wide_to_str({"fields": fields}), ascii_only)[len(_FIELDS_KEY) + 1:-1]
        assert cache._fields_text(fields) == want


@settings(max_examples=300, deadline=None)
@given(st.lists(st.dictionaries(_KEYS, _VALUES, max_size=6), min_size=1, max_size=4), st.booleans())
def test_fields_text_in_the_json_document_is_the_whole_dicts_encoding(dicts: list[dict[str, Any]],
                                                                     ascii_only: bool) -> None:
    """In the json document a record is an item of ``records``: indent 1, two levels deep
    (``io.jsonout.indented(..., 2)``), its fields one more."""
    cache = _RowCache("json", ascii_only)
    for fields in dicts:
        record = indented(wide_to_str({"fields": fields}), ascii_only, 2)
        want = record[len('{\n   "fields": '):-len("\n  }")]
        assert cache._fields_text(fields) == want


def test_equal_values_of_other_types_are_written_apart() -> None:
    cache = _RowCache("jsonl", False)
    for value, text in ((1, "1"), (True, "true"), (1.0, "1.0"), (0.0, "0.0"), (-0.0, "-0.0"), (0, "0"),
                        (False, "false"), (2**63, '"9223372036854775808"')):
        key = "IP_LOCAL_INTERFACE" if value == 2**63 else "X"
        assert cache._fields_text({key: value}) == f'{{"{key}": {text}}}'


def test_a_rows_flow_and_reauth_words_are_written_apart_by_type() -> None:
    from wfptui.core.trace import Outcome

    cache = _RowCache("jsonl", False)
    out = Outcome("ALE_AUTH_CONNECT_V4", 48, "permit", None, None, None, (), False, {}, None)  # type: ignore[arg-type]
    for flow, reauth, text in ((1, False, '"flow": 1, "reauth": false'), (True, False, '"flow": true, "reauth": false'),
                               (1.0, 0, '"flow": 1.0, "reauth": 0'), (None, True, '"flow": null, "reauth": true')):
        assert cache._head((None, out, "h", None, "connect", "outbound", flow, reauth)).endswith(", " + text)
        in_json = _RowCache("json", False)._head((None, out, "h", None, "connect", "outbound", flow, reauth))
        assert in_json.endswith(",\n   " + text.replace(", ", ",\n   "))
