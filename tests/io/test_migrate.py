"""The migration ladder: every historical format version loads, through every upgrade step."""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import msgpack
import pytest

from tests.io.recording_samples import sample_inputs, synthetic_records
from wfptui.core.trace import TraceRecord
from wfptui.io import migrate
from wfptui.io.recording import CURRENT_FORMAT_VERSION, RecordingError, decode_recording, read_recording

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "recordings"
SCENARIO = {"name": "fixture", "hosts": [{"name": "client", "addresses": ["10.0.0.1"]},
                                         {"name": "server", "addresses": ["10.0.0.2"]}]}


def encode_v1(scenario: dict[str, Any], policies: dict[str, str], inputs: Iterable[dict[str, Any]],
              records: Iterable[TraceRecord]) -> bytes:
    """Format 1 as the first draft wrote it: maps, no tables, no checksum."""
    out = io.BytesIO()
    out.write(msgpack.packb({"format": "wfptui-recording", "format_version": 1, "app_version": "0.0.1",
                             "created_at": "2026-11-26T12:00:00Z", "scenario": scenario, "policies": policies}))
    n = 0
    for step in inputs:
        out.write(msgpack.packb({"input": step}))
        n += 1
    for rec in records:
        out.write(msgpack.packb({"record": rec.to_dict()}))
        n += 1
    out.write(msgpack.packb({"end": n}))
    return out.getvalue()


def test_every_version_has_a_fixture() -> None:
    for version in range(1, CURRENT_FORMAT_VERSION + 1):
        assert (FIXTURES / f"v{version}.wfpr").is_file(), f"no fixture for format version {version}"


#: Fixtures holding the synthetic trace (versions 1-2); v3.wfpr is a capture (below).
SYNTHETIC_VERSIONS = (1, 2)
#: The doc fixture v3.wfpr was imported from (`wfptui import` with the capture's own filters).
V3_CAPTURE = Path(__file__).resolve().parents[1] / "data" / "evidence" / "wfpdiag-case-5.xml"


@pytest.mark.parametrize("version", SYNTHETIC_VERSIONS)
def test_fixture_loads(version: int) -> None:
    rec = read_recording(FIXTURES / f"v{version}.wfpr")
    assert rec.format_version == version
    assert rec.header["format_version"] == CURRENT_FORMAT_VERSION
    assert rec.scenario is not None and rec.scenario.name == "fixture"
    assert len(rec.records) == 201 and len(rec.inputs) == 2
    assert [r.to_dict() for r in rec.records] == [r.to_dict() for r in synthetic_records(200, seed=11)]


def test_v3_fixture_loads() -> None:
    """Format 3: observe inputs (a step with its event) and the observed record (tag 6)."""
    from wfptui.core.evidence import Observation
    from wfptui.core.trace import ClassifyRecord, ObservedRecord

    rec = read_recording(FIXTURES / "v3.wfpr")
    assert rec.format_version == 3
    assert [s.do for s in rec.inputs] == ["observe"]
    obs = Observation.from_dict(rec.inputs[0].event)
    assert (obs.index, obs.type, obs.filter_id, obs.layer_id) == (1, "CLASSIFY_DROP", 121180, 48)
    cl, ob = list(rec.records)
    assert isinstance(cl, ClassifyRecord) and isinstance(ob, ObservedRecord)
    assert (cl.host, cl.layer, cl.packet, cl.op, cl.direction, cl.action, cl.filter, cl.filter_id) == (
        "captured", "ALE_AUTH_CONNECT_V4", "SYN", "connect", "outbound", "block",
        "block-outbound-default-rule-121180", 121180)
    assert ob.to_dict() == {"kind": "observed", "seq": 2, "t": 0.0, "host": "captured", "event": 1,
                            "type": "CLASSIFY_DROP", "action": "block", "filter_id": 121180,
                            "matched_by": "id", "verdict": "agree", "unknown_fields": []}


def test_v2_to_v3_is_frozen() -> None:
    """The 2 -> 3 rung rewrites the header's version only: the body objects pass through
    as they are (the same objects), so it can never depend on today's encoder."""
    body = [(8, {"index": 0, "do": "wait"}), (15, 1, 0)]
    header = {"format": "wfptui-recording", "format_version": 2, "clock": "t_us"}
    new, objs = migrate.upgrade_2_to_3(header, body)
    assert new == {**header, "format_version": 3} and header["format_version"] == 2
    assert objs is body


def test_v1_upgrade_equals_v2() -> None:
    recs = synthetic_records(400, seed=5)
    v1 = decode_recording(encode_v1(SCENARIO, {}, sample_inputs(), recs))
    assert [r.to_dict() for r in v1.records] == [r.to_dict() for r in recs]  # v1 kept t to 6 places
    assert v1.header["scenario"]["data"] == SCENARIO
    assert v1.header["created"] == "2026-11-26T12:00:00Z"


def test_truncated_v1_is_reported() -> None:
    data = encode_v1(SCENARIO, {}, [], synthetic_records(50))
    with pytest.raises(RecordingError, match="truncated after"):
        decode_recording(data[:-3])


def test_ladder_runs_every_step_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """A synthetic future: pretend format 3 exists, and upgrade a v1 body to it through v2."""
    calls: list[int] = []
    real = migrate.UPGRADES[1]

    def one_to_two(header: dict[str, Any], body: Iterable[Any]) -> tuple[dict[str, Any], Iterable[Any]]:
        calls.append(1)
        return real(header, body)

    def two_to_three(header: dict[str, Any], body: Iterable[Any]) -> tuple[dict[str, Any], Iterable[Any]]:
        calls.append(2)
        new = dict(header, renamed=header.get("clock"))
        return new, ((o[0], *o[1:]) for o in body)

    monkeypatch.setattr(migrate, "UPGRADES", {1: one_to_two, 2: two_to_three})
    header = {"format": "wfptui-recording", "format_version": 1, "scenario": SCENARIO, "policies": {}}
    body = [{"input": {"index": 0, "do": "wait"}}, {"end": 1}]
    new, objs = migrate.upgrade(header, body, target=3)
    assert calls == [1, 2]
    assert new["format_version"] == 3 and new["renamed"] == "t_us"
    assert list(objs)[-1][1] == 1
    with pytest.raises(ValueError, match="no upgrade from recording format 3"):
        migrate.upgrade(dict(new), [], target=4)


def test_v3_to_v4_is_frozen() -> None:
    """The 3 -> 4 rung rewrites the header's version only (a format-3 header's steps, in
    full, are a valid format-4 header): the body objects pass through as they are."""
    body = [(8, {"index": 0, "do": "wait"}), (15, 1, 0)]
    header = {"format": "wfptui-recording", "format_version": 3, "clock": "t_us"}
    new, objs = migrate.upgrade_3_to_4(header, body)
    assert new == {**header, "format_version": 4} and header["format_version"] == 3
    assert objs is body


def test_header_only_rungs_upgrade_the_header_alone() -> None:
    """From 2 or 3 every rung leaves the body as it is, so the reader takes the current
    format's path for it; from 1 the body is re-encoded, so there is no header-only way."""
    for version in (2, 3):
        header = {"format": "wfptui-recording", "format_version": version, "clock": "t_us"}
        assert migrate.upgrade_header(header, target=4) == {**header, "format_version": 4}
    assert migrate.upgrade_header({"format_version": 1, "scenario": None}, target=4) is None


def test_v4_fixture_loads() -> None:
    """Format 4: the capture of the v3 fixture, its observe step in the header's compact form."""
    rec = read_recording(FIXTURES / "v4.wfpr")
    old = read_recording(FIXTURES / "v3.wfpr")
    assert (rec.format_version, old.format_version) == (4, 3)
    assert [s.to_dict() for s in rec.inputs] == [s.to_dict() for s in old.inputs]
    assert [r.to_dict() for r in rec.records] == [r.to_dict() for r in old.records]
    (step,) = rec.header["scenario"]["data"]["steps"]
    assert "raw" in step and None not in step.values() and "packets" not in step


def _write_fixtures() -> None:  # pragma: no cover - run by hand when a format version is added
    """Writes the fixture of the CURRENT version only: older ones are frozen files
    (v1 and v2 were written by this function's earlier versions, synthetic_records(200, seed=11);
    v3 by this one in format 3, created 2026-12-04T12:00:00Z)."""
    from wfptui.io.evidence.recording import DEFAULT_HOST, record_capture
    from wfptui.io.recording import encode_recording

    run = record_capture(str(V3_CAPTURE))
    FIXTURES.mkdir(parents=True, exist_ok=True)
    (FIXTURES / f"v{CURRENT_FORMAT_VERSION}.wfpr").write_bytes(encode_recording(
        scenario=run.scenario, policies={DEFAULT_HOST: run.policy}, inputs=run.result.inputs,
        records=run.result.records, created="2026-12-05T12:00:00Z"))


if __name__ == "__main__":  # pragma: no cover
    _write_fixtures()


def test_an_older_body_read_by_the_current_pass_keeps_its_checks() -> None:
    """A format-3 file's body is read by the current format's pass (header-only rungs): its
    CRC, count and trailing-data checks are still made, on the file's own bytes."""
    data = (FIXTURES / "v3.wfpr").read_bytes()
    rec = decode_recording(data)
    assert rec.format_version == 3 and len(rec.records) == 2
    unpacker = msgpack.Unpacker(io.BytesIO(data), raw=False)
    unpacker.skip()
    body = unpacker.tell()
    flipped = bytearray(data)
    # the first trace record's time (nil, 0xc0) becomes 0: same shape, other bytes
    at = data.index(b"\xc0", body)
    flipped[at] = 0x00
    with pytest.raises(RecordingError, match="checksum mismatch"):
        decode_recording(bytes(flipped))
    with pytest.raises(RecordingError, match="bytes of unexpected data after the end record"):
        decode_recording(data + b"\x01")
