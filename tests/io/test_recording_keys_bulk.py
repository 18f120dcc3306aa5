"""``replay --check``'s key stream computed a chunk at a time in C (``records._keys_bulk``)
gives exactly what the record-by-record definition (``LazyRecords._keys_each``) gives: the
same keys (types too: 1, 1.0 and True differ), the same times (None kept), the clock in the
same state after, and the same error naming the same record; or it declines and the chunk
takes the record-by-record way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wfptui.io.recording import RecordingError, read_recording
from wfptui.io.recording.records import LazyRecords, _keys_bulk
from wfptui.io.recording.tables import Clock, Tables
from wfptui.io.recording.values import freeze

RECORDINGS = Path(__file__).resolve().parents[2] / "recordings"
_INTS = st.one_of(st.integers(0, 200), st.integers(-(2**40), 2**64))
_VALUE = st.one_of(_INTS, _INTS, _INTS, st.none(), st.sampled_from([1.0, True, False, "x", (1, 2), float("nan")]))
_TIME = st.one_of(st.none(), st.none(), st.integers(0, 10**6), st.sampled_from([10**400, -5, 1.5, True, float("inf")]))
_KIND = st.one_of(st.sampled_from([0, 0, 0, 0, 1, 1, 2, 3, 4, 6]), st.sampled_from([5, 7, -1, True, "k", 1.0]))


@st.composite
def raw_records(draw: st.DrawFn) -> Any:
    kind = draw(_KIND)
    if draw(st.integers(0, 40)) == 0:
        return draw(st.sampled_from([(), [0, None, 1, 2, 3, 4], 7, None, (kind,)]))
    n = 4 if kind == 0 and draw(st.integers(0, 9)) else draw(st.integers(0, 8))
    return (kind, draw(_TIME), *draw(st.lists(_VALUE, min_size=n, max_size=n)))


@st.composite
def clocks(draw: st.DrawFn) -> tuple[int, float | None]:
    tick = draw(st.integers(0, 10**9))
    kind = draw(st.sampled_from(["plain", "plain", "float", "none"]))
    if kind == "plain":
        return tick, tick / 1_000_000
    return tick, (tick + 0.25) / 1_000_000 if kind == "float" else None


def _clock(state: tuple[int, float | None]) -> Clock:
    c = Clock()
    c.tick, c.prev = state
    return c


def _typed(keys: list[Any], times: list[Any], clock: Clock) -> Any:
    return ([freeze(k) for k in keys], [(type(t), t if t == t else "nan") for t in times],
            (clock.tick, type(clock.prev), clock.prev))


def _each(raws: list[Any], clock: Clock) -> Any:
    lazy = LazyRecords([], Tables(), [], "x.wfpr")
    try:
        keys, times = lazy._keys_each(raws, clock, 10)
    except RecordingError as exc:
        return ("error", exc.message)
    return _typed(keys, times, clock)


@settings(max_examples=400, deadline=None)
@given(st.lists(raw_records(), max_size=30), clocks())
def test_bulk_keys_are_the_record_by_record_ones(raws: list[Any], state: tuple[int, float | None]) -> None:
    want = _each(raws, _clock(state))
    clock = _clock(state)
    bulk = _keys_bulk(raws, clock)
    if bulk is None:  # declined: nothing of the clock touched
        assert (clock.tick, clock.prev) == state
    else:
        assert _typed(*bulk, clock) == want
    lazy = LazyRecords([], Tables(), [], "x.wfpr")
    try:
        keys, times = lazy._keys(raws, clock := _clock(state), 10)
        got = _typed(keys, times, clock)
    except RecordingError as exc:
        got = ("error", exc.message)
    assert got == want


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0, 0, 0, 1, 2]), st.one_of(st.none(), st.integers(0, 5000)),
                          st.lists(st.one_of(st.none(), _INTS), min_size=4, max_size=6)), max_size=40),
       st.integers(0, 10**9))
def test_common_chunks_take_the_bulk_way(rows: list[Any], tick: int) -> None:
    """Chunks of classifications (length 6) and other records of ints and None, times as
    deltas or None, the clock plain: computed in bulk (not declined), and equal."""
    raws = [(k, t, *(v[:4] if k == 0 else v)) for k, t, v in rows]
    state = (tick, tick / 1_000_000)
    clock = _clock(state)
    bulk = _keys_bulk(raws, clock)
    assert bulk is not None
    assert _typed(*bulk, clock) == _each(raws, _clock(state))


def test_the_sample_recordings_chunks_take_the_bulk_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine's recordings (recordings/*.wfpr): their chunks computed in bulk but where
    a chunk holds an expectation, with the keys and times of the record-by-record way."""
    from wfptui.io.recording import records as R

    declined: list[bool] = []
    real = R._keys_bulk

    def spy(raws: list[Any], clock: Clock) -> Any:
        got = real(raws, clock)
        declined.append(got is None)
        return got

    files = sorted(RECORDINGS.glob("*.wfpr"))
    assert len(files) > 10
    for path in files:
        lazy = read_recording(path).records
        assert isinstance(lazy, LazyRecords)
        monkeypatch.setattr(R, "_keys_bulk", spy)
        bulk = [(freeze(k), s, t) for k, s, t, _ in lazy.iter_keyed()]
        monkeypatch.setattr(R, "_keys_bulk", lambda raws, clock: None)
        each = [(freeze(k), s, t) for k, s, t, _ in lazy.iter_keyed()]
        assert bulk == each and len(bulk) == len(lazy)
    assert declined.count(False) > len(files) // 2
