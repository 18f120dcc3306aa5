"""Hypothesis: random bytes, truncations and bit flips of a real recording never crash the reader.

Only :class:`RecordingError` may come out (or a recording, when the damage is harmless);
never another exception, a hang or unbounded memory. Building the (lazy) records of a
recording that was read is part of reading it here.
"""

from __future__ import annotations

from functools import lru_cache

from hypothesis import given
from hypothesis import strategies as st

from tests.io.recording_samples import real_recording_bytes, sample_inputs, synthetic_records
from wfptui.io.recording import Recording, RecordingError, decode_recording, encode_recording


@lru_cache(maxsize=1)
def _sample() -> bytes:
    data = real_recording_bytes()
    if data:
        return data
    return encode_recording(scenario={"name": "s", "hosts": []}, policies={}, inputs=sample_inputs(),
                            records=synthetic_records(300), created="2026-01-01T00:00:00Z")


def _read(data: bytes) -> Recording | None:
    try:
        rec = decode_recording(data, "fuzz.wfpr")
    except RecordingError as exc:
        assert str(exc)
        if exc.partial is not None:
            for r in exc.partial.records:
                r.to_dict()
        return None
    for r in rec.records:
        r.to_dict()
    return rec


@given(st.binary(max_size=4096))
def test_random_bytes(data: bytes) -> None:
    _read(data)


@given(st.data())
def test_random_bytes_after_a_real_header(data: st.DataObject) -> None:
    sample = _sample()
    cut = data.draw(st.integers(1, min(len(sample), 4096)))
    tail = data.draw(st.binary(max_size=2048))
    _read(sample[:cut] + tail)


@given(st.data())
def test_truncations(data: st.DataObject) -> None:
    sample = _sample()
    cut = data.draw(st.integers(0, len(sample) - 1))
    try:
        decode_recording(sample[:cut])
    except RecordingError as exc:
        assert "truncated" in str(exc) or "not a wfptui recording" in str(exc) or "corrupted" in str(exc)
    else:
        raise AssertionError("a truncated recording was read as whole")


@given(st.data())
def test_bit_flips(data: st.DataObject) -> None:
    sample = bytearray(_sample())
    flips = data.draw(st.lists(st.integers(0, len(sample) * 8 - 1), min_size=1, max_size=8))
    for bit in flips:
        sample[bit // 8] ^= 1 << (bit % 8)
    _read(bytes(sample))


@given(st.data())
def test_byte_overwrites(data: st.DataObject) -> None:
    sample = bytearray(_sample())
    pos = data.draw(st.integers(0, len(sample) - 1))
    chunk = data.draw(st.binary(min_size=1, max_size=16))
    sample[pos:pos + len(chunk)] = chunk
    _read(bytes(sample))
