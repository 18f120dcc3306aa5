"""`wfptui triage` and `wfptui explain --event` through the real entry point (spec §9)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EVIDENCE = ROOT / "tests" / "data" / "evidence"
CASE_7_8 = EVIDENCE / "netevents-case-7-8.xml"
FILTERS_7_8 = EVIDENCE / "filters-case-7-8.xml"


def wfptui(*args: object, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "wfptui", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env=full_env, check=False, timeout=120,
                          encoding=(env or {}).get("PYTHONIOENCODING", "utf-8"))


def test_json_is_the_spec_shape() -> None:
    r = wfptui("triage", EVIDENCE / "wfpdiag-case-2.xml", "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["format"], doc["version"]) == ("wfptui-triage", 1)
    assert doc["summary"] == {"events": 1, "cases": 1, "checked": 1, "differ": 0, "unknown": 0, "other_filter": 0,
                              "agree": 1, "not_simulated": 0}
    (case,) = doc["cases"]
    assert set(case) >= {"count", "first", "last", "direction", "protocol", "layer", "layer_id", "local", "remote",
                         "app", "user", "package", "observed", "simulated", "what_if", "verdict"}
    assert case["count"] == 1 and case["direction"] == "outbound" and case["protocol"] == 6
    assert case["layer"] == "FWPM_LAYER_ALE_AUTH_CONNECT_V6" and case["layer_id"] == 50
    assert case["remote"] == "[2620:1ec:c11::200]:443"  # the service port; the ephemeral local port is dropped
    assert case["observed"] == {"action": "block", "filter_id": "68893", "filter": "block-outbound-default-rule-68893",
                                "name": "Block Outbound Default Rule", "sublayer": "FWPM_SUBLAYER_MPSSVC_WSH",
                                "matched_by": "id"}
    assert case["simulated"]["action"] == "block" and case["simulated"]["filter_id"] == "68893"
    assert case["simulated"]["unknown_fields"] == []
    assert case["what_if"] is None and case["verdict"] == "agree"


def test_jsonl_gives_each_events_verdict() -> None:
    r = wfptui("triage", CASE_7_8, "--policy", FILTERS_7_8, "--format", "jsonl")
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert lines[0] == {"kind": "header", "format": "wfptui-triage", "version": 1, "app_version": lines[0]["app_version"]}
    got = [(x["event"], x["observed"]["action"], x["simulated"]["action"], x["simulated"]["filter"], x["verdict"])
           for x in lines[1:]]
    assert got == [(1, "block", "block", "block-outbound-default-rule-206064", "agree"),
                   (2, "permit", "permit", "internetclient-default-rule-208757", "agree")]
    assert sorted(x["case"] for x in lines[1:]) == [0, 1]


def test_differ_exits_1_and_lists_differences_first(tmp_path: Path) -> None:
    # A policy in which the Block Outbound Default Rule (id 206064) no longer matches the
    # app: case 7's drop is now simulated as allowed.
    policy = tmp_path / "p.toml"
    policy.write_text('[[filter]]\nkey = "allow-all"\nlayer = "ALE_AUTH_CONNECT_V4"\naction = "permit"\n'
                      '[[filter]]\nkey = "narrow-block"\nlayer = "ALE_AUTH_CONNECT_V4"\naction = "block"\n'
                      'filter_id = 206064\nweight = 15\n'
                      'condition = [ { field = "IP_REMOTE_PORT", match = "equal", value = 1 } ]\n',
                      encoding="utf-8")
    r = wfptui("triage", CASE_7_8, "--policy", policy, "--format", "json")
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    assert [c["verdict"] for c in doc["cases"]] == ["differ", "unknown"]
    assert doc["cases"][0]["observed"]["matched_by"] == "id"
    assert doc["cases"][0]["observed"]["filter"] == "narrow-block"
    assert doc["cases"][0]["simulated"]["filter"] == "allow-all"
    assert doc["cases"][1]["observed"]["matched_by"] is None  # 208757 is not in this policy
    r = wfptui("triage", CASE_7_8, "--policy", policy)
    assert r.returncode == 1
    assert r.stdout.splitlines()[0].split()[1] == "DIFFER"
    assert "2 events in 2 cases; 1 checked" in r.stdout


def test_what_if_exit_code_is_about_regressions(tmp_path: Path) -> None:
    fix = tmp_path / "fix.toml"
    fix.write_text('[[filter]]\nkey = "allow-all"\nlayer = "ALE_AUTH_CONNECT_V4"\naction = "permit"\n', encoding="utf-8")
    r = wfptui("triage", CASE_7_8, "--policy", FILTERS_7_8, "--what-if", fix, "--format", "json")
    assert r.returncode == 0, r.stderr  # the drop becomes an allow: a fix, not a failure
    doc = json.loads(r.stdout)
    assert doc["summary"]["fixed"] == 1 and doc["summary"]["regressed"] == 0
    assert all(c["what_if"]["action"] == "permit" for c in doc["cases"])
    breaks = tmp_path / "break.toml"
    breaks.write_text('[[filter]]\nkey = "no-443"\nlayer = "ALE_AUTH_CONNECT_V4"\naction = "block"\n'
                      'condition = [ { field = "IP_REMOTE_PORT", match = "equal", value = 443 } ]\n', encoding="utf-8")
    r = wfptui("triage", CASE_7_8, "--policy", FILTERS_7_8, "--what-if", breaks)
    assert r.returncode == 1
    assert "1 regressed" in r.stdout and "[regressed]" in r.stdout


@pytest.mark.parametrize("args", [
    [CASE_7_8],  # netevents carry no filters
    [EVIDENCE / "no-such.xml"],
    [FILTERS_7_8],  # a filters dump is not evidence
    [CASE_7_8, "--policy", EVIDENCE / "no-such.toml"],
])
def test_bad_input_exits_2_with_one_message(args: list[object]) -> None:
    r = wfptui("triage", *args)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and r.stderr.strip()


def test_text_in_cp1252() -> None:
    r = wfptui("triage", CASE_7_8, "--policy", FILTERS_7_8, env={"PYTHONIOENCODING": "cp1252"})
    assert r.returncode == 0, r.stderr
    assert "2 events in 2 cases; 2 checked: 2 agree" in r.stdout


def test_explain_event_shows_observed_and_unknown_fields() -> None:
    r = wfptui("explain", "--event", CASE_7_8, "--policy", FILTERS_7_8)
    assert r.returncode == 0, r.stderr
    assert "Event 1 of 2" in r.stdout  # the default is the first drop
    assert "Observed:  block by filter id 206064 = block-outbound-default-rule-206064 (found by id)" in r.stdout
    assert "Simulated: block by block-outbound-default-rule-206064" in r.stdout
    assert "Not in the evidence (unknown, not empty):" in r.stdout and "IP_LOCAL_INTERFACE" in r.stdout
    assert "Layer: ALE_AUTH_CONNECT_V4 (layer id 48)" in r.stdout
    r = wfptui("explain", "--event", CASE_7_8, "--policy", FILTERS_7_8, "--index", "2", "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["format"] == "wfptui-explain" and doc["event"] == 2
    assert doc["verdict"] == "agree" and doc["explain"]["action"] == "permit"
    assert doc["explain"]["filter"] == "internetclient-default-rule-208757"
    r = wfptui("explain", "--event", CASE_7_8, "--policy", FILTERS_7_8, "--index", "3")
    assert r.returncode == 2 and "1..2" in r.stderr


def test_streamed_json_is_the_whole_document_one_case_per_line() -> None:
    """`--format json` streams the cases (one per line); it is the same JSON value as the
    document built at once (commands.triage.document)."""
    import io

    from wfptui.commands.triage import document, load_evidence, write_json
    from wfptui.core.cases import triage
    from wfptui.core.triage import Simulator

    observations, policy, notes = load_evidence(str(CASE_7_8), str(FILTERS_7_8))
    result = triage(observations, Simulator(policy))
    out = io.StringIO()
    write_json(result, notes, out)
    text = out.getvalue()
    assert json.loads(text) == json.loads(json.dumps(document(result, notes)))
    lines = text.splitlines()
    start = lines.index(' "cases": [')
    assert lines[-2:] == [" ]", "}"] and len(lines[start + 1:-2]) == len(result.cases) == 2
    assert all(line.startswith("  {") for line in lines[start + 1:-2])


def test_explain_event_lists_near_misses_on_fields_the_evidence_gives() -> None:
    """Issue 16 item 6 for captured events: the filters that failed on exactly one field the
    evidence shows (unknown fields neither fail nor hold), in text and JSON."""
    case5 = EVIDENCE / "wfpdiag-case-5.xml"
    r = wfptui("explain", "--event", case5)
    assert r.returncode == 0, r.stderr
    near = r.stdout.split("Near misses (filters at this layer that failed on exactly one field):\n", 1)[1]
    assert near.startswith("  privatenetwork-outbound-default-rule-129656: IP_REMOTE_ADDRESS is 10.1.1.1, "
                           "filter wants 1.1.1.1  [sublayer 'MPSSVC_WSH']\n")
    r = wfptui("explain", "--event", case5, "--format", "json")
    misses = json.loads(r.stdout)["explain"]["near_misses"]
    assert {m["field"] for m in misses} == {"IP_REMOTE_ADDRESS"} and len(misses) >= 3
    assert misses[0]["filter"] == "privatenetwork-outbound-default-rule-129656" and misses[0]["got"] == "10.1.1.1"


def test_explain_event_marks_user_conditions_by_the_evidence_token() -> None:
    """An ALE_USER_ID condition is decided by triage's access check of the event's token
    (core.triage.user_matches), not by the packet values (which carry no token): a filter the
    event matched shows it held, in text and JSON."""
    case1 = EVIDENCE / "wfpdiag-case-1.xml"
    r = wfptui("explain", "--event", case1)
    assert r.returncode == 0, r.stderr
    assert "      [x] ALE_USER_ID equal O:LSD:(A;;CC;;;S-1-15-3-1)(A;;CC;;;WD)(A;;CC;;;AN)\n" in r.stdout
    assert "[ ] ALE_USER_ID" not in r.stdout
    r = wfptui("explain", "--event", case1, "--format", "json")
    conds = [c for sl in json.loads(r.stdout)["explain"]["sublayers"] for f in sl["filters"]
             for c in f["conditions"] if c["field"] == "ALE_USER_ID"]
    assert conds and all(c["matched"] for c in conds)
