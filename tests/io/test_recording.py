"""Recordings: round trip, compactness, every kind of damage reported as one clear error."""

from __future__ import annotations

import io
import zlib

import msgpack
import ormsgpack
import pytest

from tests.io.recording_samples import real_recording_bytes, sample_inputs, synthetic_records
from wfptui.core.model import Terminating
from wfptui.core.trace import ClassifyRecord, StackRecord
from wfptui.io import recording as R
from wfptui.io.errors import InputError
from wfptui.io.recording import (
    RecordingError,
    decode_recording,
    encode_recording,
    read_recording,
    write_recording,
)

SCENARIO = {"name": "synthetic", "hosts": [{"name": "client", "addresses": ["10.0.0.1"]},
                                           {"name": "server", "addresses": ["10.0.0.2"]}]}


def _encode(records, inputs=()) -> bytes:  # type: ignore[no-untyped-def]
    return encode_recording(scenario=SCENARIO, policies={}, inputs=list(inputs), records=records,
                            created="2026-01-01T00:00:00Z")


@pytest.fixture(scope="module")
def sample() -> bytes:
    return _encode(synthetic_records(3000), sample_inputs())


def test_round_trip_synthetic(tmp_path) -> None:  # type: ignore[no-untyped-def]
    recs = synthetic_records(5000)
    path = tmp_path / "x.wfpr"
    write_recording(path, scenario=SCENARIO, policies={}, inputs=sample_inputs(), records=recs)
    rec = read_recording(path)
    assert list(rec.records) == recs
    assert [r.to_dict() for r in rec.records] == [r.to_dict() for r in recs]
    assert rec.count == len(recs) + 2
    assert len(rec.inputs) == 2 and rec.inputs[1].to == "server:80"
    assert rec.header["format"] == "wfptui-recording"
    assert rec.header["format_version"] == R.CURRENT_FORMAT_VERSION
    assert rec.scenario.name == "synthetic"
    assert [h["name"] for h in rec.header["hosts"]] == ["client", "server"]
    assert rec.records[-1] == recs[-1] and rec.records[10:12] == recs[10:12]
    assert not list(tmp_path.glob(".*.tmp"))


def test_seq_gaps_times_and_field_changes_survive() -> None:
    base = dict(layer="INBOUND_TRANSPORT_V4", layer_id=12, packet="DATA", op=None, direction="inbound",
                reauth=False, action="none", filter=None, filter_id=None, sublayer=None, terminating=(),
                veto=False)
    recs = [
        ClassifyRecord(seq=5, t=0.1 + 0.2, host="a", flow=1, fields={"X": 1, "Y": "s", "Z": [1, 2]}, **base),
        ClassifyRecord(seq=9, t=1e-9, host="a", flow=None, fields={"Y": "s", "X": 1}, **base),  # order change
        ClassifyRecord(seq=10, t=2.5, host="a", flow=2, fields={"Y": "t"}, **base),  # removal
        ClassifyRecord(seq=11, t=2.5, host="a", flow=2, fields={"Y": "t", "W": True, "V": 1.0, "U": 1}, **base),
        StackRecord(seq=3, t=3.0, host="b", event="rst-sent", flow=None, detail="", data={"k": {"n": [1]}}),
    ]
    recs.append(ClassifyRecord(seq=4, t=3.0, host="a", flow=3, fields={"X": 1, "Y": "s", "Z": [1, 2]},
                               **{**base, "action": "block", "filter": "f",
                                  "terminating": (Terminating("f", 7, "s", "block", False),)}))
    back = list(decode_recording(_encode(recs)).records)
    assert back == recs
    assert [type(v) for v in back[3].fields.values()] == [str, bool, float, int]
    assert list(back[1].fields) == ["Y", "X"]
    back[0].fields["Z"].append(3)  # records do not share mutable state
    assert decode_recording(_encode(recs)).records[5].fields["Z"] == [1, 2]


def test_bytes_per_classification_record() -> None:
    recs = synthetic_records(20000)
    data = _encode(recs)
    unpacker = msgpack.Unpacker(io.BytesIO(data), raw=False)
    unpacker.unpack()
    header_len = unpacker.tell()
    per = (len(data) - header_len) / len(recs)
    assert per <= 40, per


def test_plain_msgpack_reads_it(sample: bytes) -> None:
    objs = list(msgpack.Unpacker(io.BytesIO(sample), raw=False))
    assert objs[0]["format"] == "wfptui-recording"
    assert all(isinstance(o, list) and isinstance(o[0], int) for o in objs[1:])
    assert objs[-1][0] == R.K_END and objs[-1][1] == 3000 + 1 + 2


@pytest.mark.parametrize("which", ["synthetic", "real"])
def test_ormsgpack_decodes_the_same_objects(sample: bytes, which: str) -> None:
    if which == "real":
        real = real_recording_bytes()
        if real is None:
            pytest.skip("no committed recording")
        sample = real
    unpacker = msgpack.Unpacker(io.BytesIO(sample), raw=False)
    start = 0
    n = 0
    for obj in unpacker:
        end = unpacker.tell()
        assert ormsgpack.unpackb(sample[start:end]) == obj
        start = end
        n += 1
    assert start == len(sample) and n > 30


def test_input_error_subclass() -> None:
    assert issubclass(RecordingError, InputError)


@pytest.mark.parametrize("data", [b"", b"hello world\n", b"\x00\x01\x02", msgpack.packb([1, 2]),
                                  msgpack.packb({"format": "other"}), b"# toml\nname = 'x'\n",
                                  b"\xc1\xc1\xc1"])
def test_not_a_recording(data: bytes) -> None:
    with pytest.raises(RecordingError, match="not a wfptui recording"):
        decode_recording(data)


def test_newer_version_refused(sample: bytes) -> None:
    unpacker = msgpack.Unpacker(io.BytesIO(sample), raw=False)
    header = unpacker.unpack()
    header["format_version"] = R.CURRENT_FORMAT_VERSION + 5
    data = msgpack.packb(header) + sample[unpacker.tell():]
    with pytest.raises(RecordingError, match=rf"newer format version \({R.CURRENT_FORMAT_VERSION + 5} > "
                                             rf"{R.CURRENT_FORMAT_VERSION}\); upgrade wfptui"):
        decode_recording(data)


def test_truncated_keeps_what_was_read(sample: bytes) -> None:
    full = decode_recording(sample)
    for cut in (len(sample) - 1, len(sample) - 3, len(sample) // 2, 2000):
        with pytest.raises(RecordingError, match=r"truncated after (\d+) records") as info:
            decode_recording(sample[:cut])
        partial = info.value.partial
        assert partial is not None
        n = len(partial.records)
        assert list(partial.records) == list(full.records[:n])
        assert f"truncated after {partial.count} records" in str(info.value)


def test_truncated_inside_header(sample: bytes) -> None:
    with pytest.raises(RecordingError, match="truncated after 0 records"):
        decode_recording(sample[:40])


def test_trailing_garbage_bad_count_and_checksum(sample: bytes) -> None:
    with pytest.raises(RecordingError, match="corrupted at record .*after the end record"):
        decode_recording(sample + b"\x01")
    objs = list(msgpack.Unpacker(io.BytesIO(sample), raw=False))
    body = b"".join(msgpack.packb(o) for o in objs[:-1])
    bad_count = body + msgpack.packb([R.K_END, objs[-1][1] + 1, zlib.crc32(body)])
    with pytest.raises(RecordingError, match="counts"):
        decode_recording(bad_count)
    # one value changed inside a record, still valid msgpack: caught by the checksum
    flipped = bytearray(sample)
    pos = len(sample) // 2
    flipped[pos] ^= 0x01
    with pytest.raises(RecordingError, match="corrupted at record"):
        decode_recording(bytes(flipped))


def test_ext_types_and_deep_nesting_refused(sample: bytes) -> None:
    unpacker = msgpack.Unpacker(io.BytesIO(sample), raw=False)
    header = msgpack.packb(unpacker.unpack())
    with pytest.raises(RecordingError, match="corrupted"):
        decode_recording(header + msgpack.packb(msgpack.ExtType(1, b"x")))
    deep: object = 1
    for _ in range(200):
        deep = [deep]
    with pytest.raises(RecordingError, match="corrupted"):
        decode_recording(header + msgpack.packb([R.K_DEF_ATOM, deep]) + msgpack.packb([R.K_END, 0, None]))


def test_huge_length_claims_are_bounded(sample: bytes) -> None:
    unpacker = msgpack.Unpacker(io.BytesIO(sample), raw=False)
    header = msgpack.packb(unpacker.unpack())
    for claim in (b"\xdd\xff\xff\xff\xff", b"\xdf\xff\xff\xff\xff", b"\xdb\xff\xff\xff\xff",
                  b"\xc6\x7f\xff\xff\xff"):
        with pytest.raises(RecordingError):
            decode_recording(header + claim + b"\x00" * 16)


def test_bad_references_are_corruption_not_crashes(sample: bytes) -> None:
    unpacker = msgpack.Unpacker(io.BytesIO(sample), raw=False)
    header = msgpack.packb(unpacker.unpack())
    for bad in ([R.K_CLASSIFY, 0, 99, None, 0, 0], [R.K_STACK, 0, 5], [7, 1], [R.K_DEF_WHERE, 1],
                [R.K_DEF_FIELDS, 3], [R.K_SEQ, "x"], ["x"], 5):
        body = header + msgpack.packb(bad)
        data = body + msgpack.packb([R.K_END, 1, zlib.crc32(body)])
        with pytest.raises(RecordingError, match="corrupted"):
            rec = decode_recording(data)
            list(rec.records)


def test_unreadable_path(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RecordingError, match="cannot read"):
        read_recording(tmp_path / "missing.wfpr")


@pytest.mark.parametrize(("key", "value", "problem"), [
    ("luid", -1, "interface luid -1 is out of range 0..18446744073709551615"),
    ("index", 1 << 32, "interface index 4294967296 is out of range 0..4294967295"),
    ("type", 70000, "interface type 70000 is out of range 0..65535"),
    ("quarantine_epoch", "7", "interface quarantine_epoch must be an integer, not '7'"),
    ("tunnel_type", True, "interface tunnel_type must be an integer, not True"),
])
def test_interface_values_out_of_range_are_a_bad_header(key: str, value: object, problem: str) -> None:
    """A hostile header's interface values get the scenario file's ranges: refused, not run."""
    hosts = [{"name": "client", "addresses": ["10.0.0.1"], "interface": {"index": 2, key: value}}]
    data = encode_recording(scenario={"name": "hostile", "hosts": hosts}, policies={}, inputs=[],
                            records=synthetic_records(3), created="2026-01-01T00:00:00Z")
    with pytest.raises(RecordingError, match=f"bad scenario: {problem}"):
        decode_recording(data)
