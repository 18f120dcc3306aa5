"""The JSON Schemas in ``schemas/`` (issue 12 item 3): current with the catalogue, and every
output of every scenario (run / explain / diff / lint / triage through the real entry point)
and every policy and scenario file in the repository valid against them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import tomli as tomllib  # TOML 1.1, as the loaders read it

jsonschema = pytest.importorskip("jsonschema")
referencing = pytest.importorskip("referencing")

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"
SC = ROOT / "scenarios"
SCENARIOS = sorted(p for p in SC.rglob("*.toml") if "policies" not in p.parts and p.name != "win11-policy.toml")
POLICIES = sorted([*(SC / "policies").glob("*.toml"), *SC.glob("win11/win11-policy.toml")])
EVIDENCE = sorted((ROOT / "tests" / "data" / "evidence").glob("*.xml"))


@cache
def validator(name: str) -> Any:
    resources = []
    for p in SCHEMAS.glob("*.schema.json"):
        doc = json.loads(p.read_text(encoding="utf-8"))
        resources.append((doc["$id"], referencing.Resource.from_contents(doc)))
    registry = referencing.Registry().with_resources(resources)
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, registry=registry)


def check(name: str, doc: Any) -> None:
    errors = sorted(validator(name).iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message[:300]}" for e in errors[:5]]


def wfptui(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ}
    env.pop("WFPTUI_HEADLESS", None)
    return subprocess.run([sys.executable, "-m", "wfptui", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=120, encoding="utf-8")


def test_committed_schemas_are_current() -> None:
    p = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_schemas.py"), "--check"], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_policy_files_valid(path: Path) -> None:
    check("policy.schema.json", tomllib.loads(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_scenario_files_valid(path: Path) -> None:
    check("scenario.schema.json", tomllib.loads(path.read_text(encoding="utf-8")))


def test_policy_schema_rejects_unknown_names() -> None:
    doc = {"filter": [{"key": "f", "layer": "ALE_AUTH_NOPE_V4", "action": "block",
                       "condition": [{"field": "IP_NOPE", "match": "equal", "value": 1}]}]}
    assert len(list(validator("policy.schema.json").iter_errors(doc))) >= 2


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_run_outputs_valid(path: Path) -> None:
    rel = str(path.relative_to(ROOT))
    p = wfptui("run", rel, "--format", "jsonl")
    assert p.returncode in (0, 1), p.stderr
    lines = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    assert lines and lines[0]["kind"] == "header"
    for rec in lines:
        check("trace.schema.json", rec)
    p = wfptui("run", rel, "--format", "json")
    assert p.returncode in (0, 1), p.stderr
    check("trace.schema.json", json.loads(p.stdout))


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_lint_and_explain_outputs_valid(path: Path) -> None:
    rel = str(path.relative_to(ROOT))
    p = wfptui("lint", rel, "--format", "json")
    assert p.returncode in (0, 1), p.stderr
    check("lint.schema.json", json.loads(p.stdout))
    for layer in ("ALE_AUTH_RECV_ACCEPT_V4", "ALE_AUTH_CONNECT_V4"):
        p = wfptui("explain", "--policy", rel, "--layer", layer, "--format", "json", "IP_LOCAL_PORT=80",
                   "IP_PROTOCOL=tcp")
        assert p.returncode in (0, 1), p.stderr
        doc = json.loads(p.stdout)
        assert (doc["format"], doc["version"]) == ("wfptui-explain", 1)
        assert doc["filter_id"] is None or isinstance(doc["filter_id"], str)  # spec §8: 64-bit as strings
        check("explain.schema.json", doc)


def test_diff_outputs_valid() -> None:
    recs = sorted((ROOT / "recordings").glob("*.wfpr"))
    assert len(recs) >= 2
    for a, b in zip(recs, [*recs[1:], recs[0]], strict=True):
        p = wfptui("diff", "--format", "json", str(a.relative_to(ROOT)), str(b.relative_to(ROOT)))
        assert p.returncode in (0, 1), p.stderr
        check("diff.schema.json", json.loads(p.stdout))
    p = wfptui("diff", "--format", "json", str(recs[0].relative_to(ROOT)), str(recs[0].relative_to(ROOT)))
    assert p.returncode == 0, p.stderr
    check("diff.schema.json", json.loads(p.stdout))


SPEC9 = {"format": "wfptui-triage", "version": 1,
         "summary": {"events": 12, "cases": 3, "checked": 3, "agree": 2, "other_filter": 0,
                     "differ": 1, "unknown": 0, "not_simulated": 0},
         "cases": [
             {"count": 10, "first": "2026-03-02T08:15:04.120Z", "last": "2026-03-02T08:19:40.002Z",
              "direction": "inbound", "protocol": 6, "layer": "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4",
              "layer_id": 44, "local": "10.0.0.5:445", "remote": "10.7.1.20",
              "app": "system", "user": "S-1-5-18", "package": "S-1-0-0",
              "observed": {"action": "block", "filter_id": "71204", "filter": "k", "name": "n",
                           "sublayer": "FWPM_SUBLAYER_MPSSVC_WF", "matched_by": "id"},
              "simulated": {"action": "block", "filter_id": "71204", "filter": "k", "name": "n",
                            "sublayer": "FWPM_SUBLAYER_MPSSVC_WF", "unknown_fields": []},
              "what_if": None, "verdict": "agree"}]}


def test_triage_schema_on_the_spec_example() -> None:
    check("triage.schema.json", SPEC9)
    bad = json.loads(json.dumps(SPEC9))
    bad["cases"][0]["verdict"] = "maybe"
    assert list(validator("triage.schema.json").iter_errors(bad))


#: The policy each evidence file is judged by when it carries none of its own.
_POLICY_FOR = {"netevents-case-7-8.xml": "tests/data/evidence/filters-case-7-8.xml"}


@pytest.mark.parametrize("path", [p for p in EVIDENCE if not p.name.startswith("filters-")], ids=lambda p: p.name)
def test_triage_outputs_valid(path: Path) -> None:
    rel = str(path.relative_to(ROOT))
    args = ["triage", rel]
    if "wfpdiag-case" not in path.name:  # no filters of its own (or none that cover the events)
        args += ["--policy", _POLICY_FOR.get(path.name, "tests/data/wfp/filters-win11.xml")]
    p = wfptui(*args, "--format", "json")
    assert p.returncode in (0, 1), p.stderr
    check("triage.schema.json", json.loads(p.stdout))
    p = wfptui(*args, "--format", "jsonl")
    assert p.returncode in (0, 1), p.stderr
    for line in p.stdout.splitlines():
        check("triage.schema.json", json.loads(line))


def test_explain_event_output_valid() -> None:
    ev = ROOT / "tests" / "data" / "evidence"
    p = wfptui("explain", "--event", str(ev / "netevents-case-7-8.xml"), "--policy",
               str(ev / "filters-case-7-8.xml"), "--format", "json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    check("explain.schema.json", doc)
    check("explain.schema.json", doc["explain"] | {"format": "wfptui-explain", "version": 1,
                                                   "layer": doc["layer"]})


def test_explain_near_misses_are_described() -> None:
    """`near_misses` (explain --layer and --event) has its shape in the schema: a real list
    validates, and one with a field missing does not."""
    ev = ROOT / "tests" / "data" / "evidence"
    p = wfptui("explain", "--event", str(ev / "wfpdiag-case-5.xml"), "--format", "json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["explain"]["near_misses"]
    check("explain.schema.json", doc)
    broken = json.loads(p.stdout)
    del broken["explain"]["near_misses"][0]["got"]
    with pytest.raises(AssertionError, match="'got' is a required property"):
        check("explain.schema.json", broken)
