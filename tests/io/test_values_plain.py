"""``values.plain`` (what the recording writer packs) with its fast paths for exact dicts,
lists and scalars gives what the plain recursive definition gives, for any data: enums,
subclasses, tuples, objects with ``to_dict``, non-string keys."""

from __future__ import annotations

import enum
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from wfptui.io.recording.values import plain


class Color(enum.IntEnum):
    RED = 1


class Word(str):
    pass


class Thing:
    def to_dict(self) -> dict[str, Any]:
        return {"a": (1, Color.RED)}


def _reference(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _reference(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_reference(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, (str, bytes, float)):
        return value
    if isinstance(value, int):
        return int(value)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return _reference(to_dict())
    return str(value)


leaves = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=4)
          | st.binary(max_size=3) | st.just(Color.RED) | st.builds(Word, st.text(max_size=3)) | st.builds(Thing)
          | st.just(object))
data = st.recursive(leaves, lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner)
                    | st.dictionaries(st.text(max_size=3) | st.integers(0, 3), inner, max_size=3), max_leaves=20)


@given(data)
def test_plain_is_its_definition(value: Any) -> None:
    got, want = plain(value), _reference(value)
    assert got == want
    assert repr(got) == repr(want)  # the same types too (an IntEnum becomes an int)
