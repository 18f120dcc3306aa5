"""The recording layout module and the reader's index API (``LazyRecords.kind/host/layer/
action/group/iter_groups``): same answers as the built records, for real and synthetic
recordings and on hostile bytes (only RecordingError comes out)."""

from __future__ import annotations

import ast
import contextlib
import io
import zlib
from functools import lru_cache
from pathlib import Path

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.io.recording_samples import RECORDINGS, real_recording_bytes, sample_inputs, synthetic_records
from wfptui.core.trace import ClassifyRecord, TraceRecord
from wfptui.io.recording import LazyRecords, RecordingError, decode_recording, encode_recording, layout

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = {"name": "synthetic", "hosts": [{"name": "client", "addresses": ["10.0.0.1"]},
                                           {"name": "server", "addresses": ["10.0.0.2"]}]}


def _encode(records: list[TraceRecord]) -> bytes:
    return encode_recording(scenario=SCENARIO, policies={}, inputs=sample_inputs(), records=records,
                            created="2026-01-01T00:00:00Z")


def _group_key(r: TraceRecord) -> tuple[object, ...] | None:
    """What a classification's group stands for: everything but seq, t, flow and fields."""
    if not isinstance(r, ClassifyRecord):
        return None
    return (r.host, r.layer, r.layer_id, r.packet, r.op, r.direction, r.reauth, r.action, r.filter,
            r.filter_id, r.sublayer, r.terminating, r.veto)


def _check_index(records: LazyRecords) -> None:
    built = list(records)
    groups = list(records.iter_groups())
    assert len(groups) == len(built)
    by_group: dict[object, object] = {}
    by_key: dict[object, object] = {}
    for i, r in enumerate(built):
        assert records.kind(i) == r.kind
        assert groups[i] == (r.kind, records.group(i))
        assert records.host(i) == getattr(r, "host", None)
        assert records.layer(i) == (r.layer if isinstance(r, ClassifyRecord) else None)
        assert records.action(i) == (r.action if r.kind in ("classify", "observed") else None)  # type: ignore[union-attr]
        key, group = _group_key(r), records.group(i)
        assert (key is None) == (group is None)
        if key is not None:
            assert by_group.setdefault(group, key) == key  # one group: one key
            assert by_key.setdefault(key, group) == group  # one key: one group


def _committed() -> list[Path]:
    return sorted(RECORDINGS.glob("*.wfpr")) + sorted((ROOT / "tests" / "data" / "recordings").glob("*.wfpr"))


@pytest.mark.parametrize("path", _committed(), ids=lambda p: p.name)
def test_index_api_agrees_with_built_records(path: Path) -> None:
    rec = decode_recording(path.read_bytes(), str(path))
    assert isinstance(rec.records, LazyRecords)
    _check_index(rec.records)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 400))
def test_index_api_on_synthetic_traces(seed: int, n: int) -> None:
    rec = decode_recording(_encode(synthetic_records(n, seed=seed)))
    assert isinstance(rec.records, LazyRecords)
    _check_index(rec.records)


def test_index_api_negative_indexes_and_range() -> None:
    records = decode_recording(_encode(synthetic_records(20, seed=3))).records
    assert isinstance(records, LazyRecords)
    assert records.kind(-1) == records[-1].kind == "expect"
    assert records.host(-1) is None and records.group(-1) is None
    with pytest.raises(IndexError):
        records.kind(len(records))


def _with_body(*objs: object) -> bytes:
    header = msgpack.packb({"format": "wfptui-recording", "format_version": layout.CURRENT_FORMAT_VERSION,
                            "scenario": {"data": None, "source": None}, "policies": {}, "hosts": []})
    body = header + b"".join(msgpack.packb(o) for o in objs)
    n = sum(1 for o in objs if isinstance(o, list) and o and isinstance(o[0], int) and o[0] < 9)
    return bytes(body + msgpack.packb([layout.K_END, n, zlib.crc32(body)]))


@pytest.mark.parametrize("bad", [
    [layout.K_CLASSIFY, 0, 99, None, 0, 0],  # no such where
    [layout.K_CLASSIFY, 0, -1, None, -1, 0],  # negative references
    [layout.K_CLASSIFY, 0, 0],  # too short
    [layout.K_STACK, 0, 9999, 0, None, 0],  # no such atom
    [7, 1],  # no such kind
])
def test_index_api_reports_bad_records(bad: list[object]) -> None:
    rec = decode_recording(_with_body(bad))
    records = rec.records
    assert isinstance(records, LazyRecords) and len(records) == 1
    asks = (records.host, records.layer, records.action) if bad[0] != layout.K_STACK else (records.host,)
    for ask in asks:
        with pytest.raises(RecordingError, match="corrupted at trace record 0"):
            ask(0)
    with pytest.raises(RecordingError, match="corrupted at trace record 0"):
        records[0]


@lru_cache(maxsize=1)
def _sample() -> bytes:
    return real_recording_bytes() or _encode(synthetic_records(200))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_index_api_on_damaged_files_raises_only_recording_error(data: st.DataObject) -> None:
    sample = bytearray(_sample())
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(sample) - 1))
        sample[pos] = data.draw(st.integers(0, 255))
    try:
        rec = decode_recording(bytes(sample))
    except RecordingError:
        return
    records = rec.records
    assert isinstance(records, LazyRecords)
    with contextlib.suppress(RecordingError):
        list(records.iter_groups())
    for i in range(len(records)):
        for ask in (records.kind, records.host, records.layer, records.action, records.group):
            with contextlib.suppress(RecordingError):
                ask(i)


# ----------------------------------------------------------------------------- layout


def test_every_written_record_follows_its_layout() -> None:
    data = _encode(synthetic_records(500, seed=2))
    objs = list(msgpack.Unpacker(io.BytesIO(data), raw=False))[1:]
    seen = set()
    for o in objs:
        lay = layout.LAYOUTS[o[0]]
        seen.add(lay.name)
        assert len(o) == lay.size or (lay.tail is not None and len(o) > lay.size), (lay.name, o)
    assert {"classify", "stack", "net_event", "audit", "policy", "expect", "input", "define atom",
            "define where", "define decision", "define fields", "end"} <= seen


def test_layouts() -> None:
    assert layout.CLASSIFY.at("where") == 2 and layout.CLASSIFY.at("decision") == 4
    assert layout.CLASSIFY.getter("where", "decision")((0, 1.0, 7, None, 9, 3)) == (7, 9)
    assert sorted(layout.LAYOUTS) == sorted({lay.tag for lay in layout.LAYOUTS.values()})
    assert set(layout.TRACE_KINDS.values()) == {"classify", "stack", "net_event", "audit", "policy", "expect",
                                                "observed"}
    assert layout.STATIC_ATOMS[:4] == (None, True, False, "") and len(layout.STATIC_ATOMS) == 297


def test_nothing_outside_the_package_reads_the_layout() -> None:
    """Record tags and positions stay inside wfptui/io/recording/ (issue 13)."""
    package = ROOT / "wfptui" / "io" / "recording"
    offenders = []
    for path in sorted((ROOT / "wfptui").rglob("*.py")):
        if package in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("wfptui.io.recording"):
                names = [a.name for a in node.names]
                if node.module != "wfptui.io.recording" or any(n.startswith("K_") or n == "layout" for n in names):
                    offenders.append(f"{path.relative_to(ROOT)}: from {node.module} import {', '.join(names)}")
            if isinstance(node, ast.Attribute) and node.attr in ("raw", "iter_raw") and isinstance(
                    node.value, ast.Attribute) and node.value.attr == "records":
                offenders.append(f"{path.relative_to(ROOT)}: .records.{node.attr}")
    assert offenders == []
