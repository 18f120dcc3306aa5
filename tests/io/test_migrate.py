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


@pytest.mark.parametrize("version", range(1, CURRENT_FORMAT_VERSION + 1))
def test_fixture_loads(version: int) -> None:
    rec = read_recording(FIXTURES / f"v{version}.wfpr")
    assert rec.format_version == version
    assert rec.header["format_version"] == CURRENT_FORMAT_VERSION
    assert rec.scenario is not None and rec.scenario.name == "fixture"
    assert len(rec.records) == 201 and len(rec.inputs) == 2
    assert [r.to_dict() for r in rec.records] == [r.to_dict() for r in synthetic_records(200, seed=11)]


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


def _write_fixtures() -> None:  # pragma: no cover - run by hand when a format version is added
    from wfptui.io.recording import encode_recording

    recs = synthetic_records(200, seed=11)
    FIXTURES.mkdir(parents=True, exist_ok=True)
    (FIXTURES / "v1.wfpr").write_bytes(encode_v1(SCENARIO, {}, sample_inputs(), recs))
    (FIXTURES / "v2.wfpr").write_bytes(encode_recording(scenario=SCENARIO, policies={}, inputs=sample_inputs(),
                                                        records=recs, created="2026-11-26T12:00:00Z"))


if __name__ == "__main__":  # pragma: no cover
    _write_fixtures()
