"""Captures become recordings (issue 11 item 5): `wfptui import CAPTURE -o OUT.wfpr`, then
`replay --check`, `export`, `triage` and `redact` on the recording, through the real entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EVIDENCE = ROOT / "tests" / "data" / "evidence"
FILTERS_7_8 = EVIDENCE / "filters-case-7-8.xml"

#: capture -> (policy or None, [(layer, packet, op, action, filter, filter_id), (event, type, action,
#: filter_id, matched_by, verdict)] per event). Every capture with its own (or its matching)
#: filters agrees with the simulation.
CASES: dict[str, tuple[Path | None, list[tuple[tuple[object, ...], tuple[object, ...]]]]] = {
    "wfpdiag-case-1.xml": (None, [
        (("FWPM_LAYER_ALE_AUTH_CONNECT_V6", "SYN", "connect", "permit", "internetclient-default-rule-125918",
          "125918"), (1, "CLASSIFY_ALLOW", "permit", "125918", "id", "agree"))]),
    "wfpdiag-case-2.xml": (None, [
        (("FWPM_LAYER_ALE_AUTH_CONNECT_V6", "SYN", "connect", "block", "block-outbound-default-rule-68893", "68893"),
         (1, "CLASSIFY_DROP", "block", "68893", "id", "agree"))]),
    "wfpdiag-case-3.xml": (None, [
        (("FWPM_LAYER_ALE_AUTH_CONNECT_V6", "SYN", "connect", "block", "block-outbound-default-rule-68893", "68893"),
         (1, "CLASSIFY_DROP", "block", "68893", "id", "agree"))]),
    "wfpdiag-case-4.xml": (None, [
        (("FWPM_LAYER_ALE_AUTH_CONNECT_V4", "SYN", "connect", "block", "block-outbound-default-rule-121180",
          "121180"), (1, "CLASSIFY_DROP", "block", "121180", "id", "agree"))]),
    "wfpdiag-case-5.xml": (None, [
        (("FWPM_LAYER_ALE_AUTH_CONNECT_V4", "SYN", "connect", "block", "block-outbound-default-rule-121180",
          "121180"), (1, "CLASSIFY_DROP", "block", "121180", "id", "agree"))]),
    "netevents-case-7-8.xml": (FILTERS_7_8, [
        (("FWPM_LAYER_ALE_AUTH_CONNECT_V4", "SYN", "connect", "block", "block-outbound-default-rule-206064",
          "206064"), (1, "CLASSIFY_DROP", "block", "206064", "id", "agree")),
        (("FWPM_LAYER_ALE_AUTH_CONNECT_V4", "SYN", "connect", "permit", "internetclient-default-rule-208757",
          "208757"), (2, "CLASSIFY_ALLOW", "permit", "208757", "id", "agree"))]),
}


def wfptui(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wfptui", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ}, check=False, timeout=120, encoding="utf-8")


def imported(name: str, tmp_path: Path) -> tuple[Path, Path | None]:
    policy, _ = CASES[name]
    out = tmp_path / (Path(name).stem + ".wfpr")
    r = wfptui("import", EVIDENCE / name, "-o", out, *(("--policy", policy) if policy else ()))
    assert r.returncode == 0, r.stderr
    assert f"-> {out}" in r.stderr
    return out, policy


def records(path: Path) -> list[dict[str, object]]:
    r = wfptui("export", path, "--format", "jsonl")
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in r.stdout.splitlines()[1:]]


def triage_json(capture: Path, policy: Path | None) -> dict[str, object]:
    r = wfptui("triage", capture, "--format", "json", *(("--policy", policy) if policy else ()))
    assert r.returncode in (0, 1), r.stderr
    doc: dict[str, object] = json.loads(r.stdout)
    doc.pop("created", None)
    doc.pop("notes", None)  # the reader's notes about the file ("1 of 1 filters imported") are not recorded
    return doc


@pytest.mark.parametrize("name", sorted(CASES))
def test_import_replay_export_triage(name: str, tmp_path: Path) -> None:
    out, policy = imported(name, tmp_path)
    r = wfptui("replay", out, "--check")
    assert r.returncode == 0, r.stdout + r.stderr
    got = records(out)
    want = CASES[name][1]
    assert len(got) == 2 * len(want)
    for (cl, ob), (wcl, wob) in zip(zip(got[::2], got[1::2], strict=True), want, strict=True):
        assert cl["kind"] == "classify" and cl["host"] == "captured" and cl["direction"] == "outbound"
        assert (cl["layer"], cl["packet"], cl["op"], cl["action"], cl["filter"], cl["filter_id"]) == wcl
        assert ob["kind"] == "observed" and ob["seq"] == cl["seq"] + 1  # type: ignore[operator]
        assert (ob["event"], ob["type"], ob["action"], ob["filter_id"], ob["matched_by"], ob["verdict"]) == wob
    # triage of the recording = triage of the capture itself
    assert triage_json(out, None) == triage_json(EVIDENCE / name, policy)
    assert wfptui("validate", out).returncode == 0


@pytest.mark.parametrize("name", ["netevents-case-7-8.xml", "wfpdiag-case-3.xml"])
def test_redacted_recording_replays_and_triages_the_same(name: str, tmp_path: Path) -> None:
    out, _policy = imported(name, tmp_path)
    red = tmp_path / "redacted.wfpr"
    r = wfptui("redact", out, "-o", red)
    assert r.returncode == 0, r.stderr
    assert wfptui("replay", red, "--check").returncode == 0
    data = red.read_bytes()
    original = records(out)
    for needle in (b"S-1-5-21-1578316205", b"S-1-5-21-2788718703", b"uwpsocketclient", b"windowsapps",
                   b"S-1-15-2-4163697451", b"10.195.36.30", b"204.79.197.200", b"2620:1ec"):
        assert needle not in data
    assert b"S-1-15-3-3" in data or name != "wfpdiag-case-3.xml"  # capability SIDs are kept
    new = records(red)
    assert [(d["kind"], d.get("layer"), d.get("action"), d.get("filter"), d.get("verdict")) for d in new] == \
        [(d["kind"], d.get("layer"), d.get("action"), d.get("filter"), d.get("verdict")) for d in original]
    before, after = triage_json(out, None), triage_json(red, None)
    assert before["summary"] == after["summary"]
    assert [c["verdict"] for c in before["cases"]] == [c["verdict"] for c in after["cases"]]  # type: ignore[attr-defined]


def test_replay_with_another_policy_shows_changed_verdicts(tmp_path: Path) -> None:
    out, _ = imported("netevents-case-7-8.xml", tmp_path)
    empty = tmp_path / "empty.toml"
    empty.write_text("", encoding="utf-8")
    r = wfptui("replay", out, "--check", "--policy", f"captured={empty}")
    assert r.returncode == 1
    assert "observed event #1 CLASSIFY_DROP" in r.stdout and "verdict agree -> unknown" in r.stdout


def test_not_simulated_and_unknown_verdicts(tmp_path: Path) -> None:
    empty = tmp_path / "empty.toml"
    empty.write_text("", encoding="utf-8")
    out = tmp_path / "audit.wfpr"
    r = wfptui("import", EVIDENCE / "audit-samples-wevtutil.xml", "--policy", empty, "-o", out)
    assert r.returncode == 0, r.stderr
    assert "5 events (2 agree, 1 differ, 2 unknown)" in r.stderr
    assert wfptui("replay", out, "--check").returncode == 0
    obs = [d for d in records(out) if d["kind"] == "observed"]
    assert [(d["type"], d["verdict"]) for d in obs] == [
        ("5152", "differ"), ("5156", "unknown"), ("5157", "unknown"), ("5158", "agree"), ("5154", "agree")]


@pytest.mark.parametrize("name", ["netevents-case-7-8.xml", "audit-5156-wevtutil.xml", "wfpdiag-quarantine.xml"])
def test_capture_without_filters_needs_policy(name: str, tmp_path: Path) -> None:
    r = wfptui("import", EVIDENCE / name, "-o", tmp_path / "x.wfpr")
    assert r.returncode == 2
    assert "carries no filters" in r.stderr and "--policy" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "x.wfpr").exists()


def test_capture_needs_a_wfpr_output(tmp_path: Path) -> None:
    r = wfptui("import", EVIDENCE / "wfpdiag-case-1.xml", "-o", tmp_path / "x.toml")
    assert r.returncode == 2 and "give -o OUT.wfpr" in r.stderr


def test_policy_over_the_captures_own_filters_is_noted(tmp_path: Path) -> None:
    r = wfptui("import", EVIDENCE / "wfpdiag-case-5.xml", "--policy", FILTERS_7_8, "-o", tmp_path / "x.wfpr")
    assert r.returncode == 0, r.stderr
    assert "instead of the capture's own 4 filters" in r.stderr


def test_bad_policy_is_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[[filter]]\nlayer = 3\n", encoding="utf-8")
    r = wfptui("import", EVIDENCE / "netevents-case-7-8.xml", "--policy", bad, "-o", tmp_path / "x.wfpr")
    assert r.returncode == 2 and "bad.toml" in r.stderr and "Traceback" not in r.stderr


def test_observe_steps_are_refused_in_scenario_files(tmp_path: Path) -> None:
    scen = tmp_path / "s.toml"
    scen.write_text('[[host]]\nname = "a"\n\n[[step]]\ndo = "observe"\nhost = "a"\n', encoding="utf-8")
    r = wfptui("validate", scen)
    assert r.returncode == 2
    assert "step 1: `observe` steps come only from captures" in r.stderr
