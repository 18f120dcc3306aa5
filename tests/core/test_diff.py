"""Semantic trace diff: alignment by host and packet identity, not by index."""

from __future__ import annotations

from dataclasses import replace

from tests.io.recording_samples import synthetic_records
from wfptui.core.diff import diff_traces
from wfptui.core.model import Terminating
from wfptui.core.trace import ClassifyRecord, StackRecord


def _c(seq: int, packet: str, action: str = "permit", filt: str | None = None, *, port: int = 80,
       layer: str = "ALE_AUTH_RECV_ACCEPT_V4", flow: int = 1, t: float = 0.0) -> ClassifyRecord:
    term = (Terminating(filt, 7, "corp", action, True),) if filt else ()
    return ClassifyRecord(seq=seq, t=t, host="server", layer=layer, layer_id=44, packet=packet, op=None,
                          direction="inbound", flow=flow, reauth=False, action=action, filter=filt,
                          filter_id=7 if filt else None, sublayer="corp" if filt else None, terminating=term,
                          veto=False, fields={"IP_LOCAL_PORT": port, "IP_REMOTE_ADDRESS": "10.0.0.1"})


def test_identical_traces() -> None:
    recs = synthetic_records(500)
    d = diff_traces(recs, list(recs))
    assert d.same and d.first is None
    assert "same" in d.to_text()
    assert d.to_json()["same"] is True


def test_verdict_change_names_layer_and_filter() -> None:
    a = [_c(0, "SYN"), _c(1, "DATA")]
    b = [_c(0, "SYN", "block", "no-web"), _c(1, "DATA")]
    d = diff_traces(a, b)
    assert not d.same
    assert len(d.verdicts) == 1
    v = d.verdicts[0]
    assert (v.host, v.layer, v.action_a, v.action_b, v.filter_b) == (
        "server", "ALE_AUTH_RECV_ACCEPT_V4", "permit", "block", "no-web")
    assert [f.filter for f in d.filters] == ["no-web"]
    text = d.to_text()
    assert "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4" in text and "no-web" in text
    assert "first divergence: A#0 B#0" in text
    j = d.to_json()
    assert j["verdict_changes"][0]["b"] == {"action": "block", "filter": "no-web"}
    assert j["filters"][0]["decided_b"] == 1


def test_alignment_survives_insertions_and_flow_renumbering() -> None:
    a = [_c(0, "SYN", port=80), _c(1, "SYN", port=81), _c(2, "DATA", port=81)]
    extra = StackRecord(seq=1, t=0.0, host="server", event="rst-sent", flow=9)
    b = [_c(0, "SYN", port=80, flow=5), extra, _c(2, "SYN", port=81, flow=6), _c(3, "DATA", port=81, flow=6)]
    d = diff_traces(a, b)
    assert not d.same
    assert d.changes == ()
    assert [i for i, _ in d.only_b] == [1]
    assert d.first is not None and d.first.index_b == 1 and "rst-sent" in d.first.message
    assert "only in B" in d.to_text()


def test_occurrences_of_the_same_packet_are_paired_in_order() -> None:
    a = [_c(0, "DATA"), _c(1, "DATA"), _c(2, "DATA")]
    b = [_c(0, "DATA"), _c(1, "DATA", "block", "x")]
    d = diff_traces(a, b)
    assert [c.index_a for c in d.changes] == [1]
    assert [i for i, _ in d.only_a] == [2]


def test_timing_only_difference_is_still_a_difference() -> None:
    a = [_c(0, "SYN"), _c(1, "DATA")]
    b = [_c(0, "SYN"), replace(_c(1, "DATA"), t=0.5)]
    d = diff_traces(a, b)
    assert not d.same and d.minor_only
    assert d.first is not None and d.first.index_a == 1
    assert "order, timing" in d.to_text()


def test_field_change_is_reported() -> None:
    a = [_c(0, "SYN")]
    b0 = _c(0, "SYN")
    b = [replace(b0, fields={**b0.fields, "FLAGS": 4})]
    d = diff_traces(a, b)
    assert [c.attrs for c in d.changes] == [("fields",)]
    assert "FLAGS" in d.to_text() and d.verdicts == ()


def test_accepts_dicts() -> None:
    a = [r.to_dict() for r in synthetic_records(50)]
    assert diff_traces(a, synthetic_records(50)).same
