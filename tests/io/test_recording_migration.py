"""Frozen migration rungs: each rung turns the checked-in files of version N into exactly
the bytes checked in under ``tests/data/recordings-migration/`` (made once, by the code
before the rungs were frozen: see the README there), and the ladder imports nothing from
the recording package."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.io.recording_samples import sample_inputs, synthetic_records
from tests.io.test_migrate import SCENARIO, encode_v1
from wfptui.io import migrate
from wfptui.io.migrate import format2
from wfptui.io.recording import CURRENT_FORMAT_VERSION, RecordingError, decode_recording, layout

DATA = Path(__file__).resolve().parents[1] / "data"
EXPECTED = DATA / "recordings-migration"


def _lists(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    return value


def migrated(data: bytes, target: int) -> bytes:
    """The header and body objects the ladder makes from ``data``, up to ``target``, packed."""
    unpacker = msgpack.Unpacker(io.BytesIO(data), use_list=False, raw=False, strict_map_key=True)
    header, body = migrate.upgrade(_lists(unpacker.unpack()), unpacker, target=target)
    packer = msgpack.Packer(use_bin_type=True)
    return bytes(packer.pack(header) + b"".join(packer.pack(o) for o in body))


@pytest.mark.parametrize(("source", "target", "expected"), [
    (DATA / "recordings" / "v1.wfpr", 2, "v1-to-v2.msgpack"),
    (DATA / "recordings" / "v2.wfpr", 3, "v2-to-v3.msgpack"),
    (DATA / "recordings" / "v1.wfpr", 3, "v1-to-v3.msgpack"),
    (EXPECTED / "v1-engine.wfpr", 2, "v1-engine-to-v2.msgpack"),
    (EXPECTED / "v1-engine.wfpr", 3, "v1-engine-to-v3.msgpack"),
    (DATA / "recordings" / "v3.wfpr", 4, "v3-to-v4.msgpack"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_rung_output_is_frozen(source: Path, target: int, expected: str) -> None:
    assert migrated(source.read_bytes(), target) == (EXPECTED / expected).read_bytes()


def test_migrated_files_read_as_their_version() -> None:
    """What the 1 -> 2 rung makes is a format-2 file (no checksum: format 1 had none)."""
    as_v2 = (EXPECTED / "v1-engine-to-v2.msgpack").read_bytes()
    rec = decode_recording(as_v2)
    assert rec.format_version == 2
    original = decode_recording((EXPECTED / "v1-engine.wfpr").read_bytes())
    assert original.format_version == 1
    assert [r.to_dict() for r in rec.records] == [r.to_dict() for r in original.records]
    assert [s.to_dict() for s in rec.inputs] == [s.to_dict() for s in original.inputs]


def test_ladder_covers_every_version() -> None:
    assert sorted(migrate.UPGRADES) == list(range(1, CURRENT_FORMAT_VERSION))


def test_format2_atoms_are_a_prefix_of_the_current_ones() -> None:
    """Built-in atoms only ever grow (a new format may append)."""
    assert layout.STATIC_ATOMS[:len(format2.STATIC_ATOMS)] == format2.STATIC_ATOMS


def test_migrate_does_not_import_the_recording_package() -> None:
    code = "import sys, wfptui.io.migrate; print(any(m.startswith('wfptui.io.recording') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "False"


def test_format1_never_held_observed_records() -> None:
    """Format 1 predates the observed record (format 3): the frozen rung refuses one."""
    body = [{"record": {"kind": "observed", "seq": 1, "t": 0.0, "host": "h", "event": 1, "type": "x",
                        "action": None, "filter_id": None, "matched_by": None, "verdict": "agree"}}]
    _, objs = migrate.upgrade_1_to_2({"format_version": 1, "scenario": None}, body)
    with pytest.raises(ValueError, match="unknown trace record kind 'observed'"):
        list(objs)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 300))
def test_format1_files_read_back_through_the_frozen_rungs(seed: int, n: int) -> None:
    records = synthetic_records(n, seed=seed)
    rec = decode_recording(encode_v1(SCENARIO, {}, sample_inputs(), records))
    assert rec.format_version == 1
    assert [r.to_dict() for r in rec.records] == [r.to_dict() for r in records]


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_damaged_format1_files_give_recording_errors(data: st.DataObject) -> None:
    sample = bytearray((DATA / "recordings" / "v1.wfpr").read_bytes()[:6000])
    for _ in range(data.draw(st.integers(1, 3))):
        sample[data.draw(st.integers(0, len(sample) - 1))] = data.draw(st.integers(0, 255))
    with pytest.raises(RecordingError):
        decode_recording(bytes(sample))  # cut at 6000 bytes: at best "truncated"
