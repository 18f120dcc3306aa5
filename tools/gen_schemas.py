"""Generate the JSON Schemas in ``schemas/`` (draft 2020-12) for wfptui's files and outputs.

    .venv/bin/python tools/gen_schemas.py          # (re)write schemas/*.schema.json
    .venv/bin/python tools/gen_schemas.py --check  # exit 1 if a committed schema is stale

The policy and scenario schemas take their layer, field, match, action and flag names from
the catalogue (``wfptui.core.layers`` / ``core.fields`` / ``core.model``) and their keys from
the loaders (``io.policy_file`` / ``io.scenario_file``), so they cannot drift; the loaders stay
the judge of validity (the schemas are for editors: completion and early hints). Output
schemas are permissive where records grow (``additionalProperties`` is allowed) and strict on
the keys consumers rely on. ``tests/test_schemas.py`` checks they are current.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wfptui.core.fields import CONDITION_FIELDS, FIELD_ALIASES  # noqa: E402
from wfptui.core.flowctx import REINJECT, THEN_ACTIONS  # noqa: E402
from wfptui.core.layers import LAYERS  # noqa: E402
from wfptui.core.model import ActionType, FilterFlag, MatchType  # noqa: E402
from wfptui.core.pend import PEND, PEND_THEN  # noqa: E402
from wfptui.core.redirect import REDIRECT  # noqa: E402
from wfptui.io import policy_file, scenario_file  # noqa: E402

BASE = "https://wfptui.invalid/schemas/"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
OUT = ROOT / "schemas"


def _names(short: list[str], prefix: str) -> list[str]:
    """Every accepted spelling: short and full, upper and lower case (the loaders accept any
    case; listing both common cases keeps editor completion useful)."""
    out: list[str] = []
    for s in short:
        for n in (s, prefix + s):
            for v in (n.upper(), n.lower()):
                if v not in out:
                    out.append(v)
    return out


def _doc(name: str, title: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"$schema": DRAFT, "$id": BASE + name, "title": title, **body}


STR64 = {"type": "string", "pattern": "^[0-9]+$", "description": "a 64-bit WFP value, as a decimal string"}
NSTR64 = {"anyOf": [STR64, {"type": "null"}]}
NUM = {"type": "number"}
NSTR = {"type": ["string", "null"]}
ANY_VALUE: dict[str, Any] = {}


def policy_schema() -> dict[str, Any]:
    layers = _names([layer.name for layer in LAYERS], "FWPM_LAYER_")
    fields = _names([*CONDITION_FIELDS, *FIELD_ALIASES], "FWPM_CONDITION_")
    matches = _names([m.name.removeprefix("FWP_MATCH_") for m in MatchType], "FWP_MATCH_")
    actions = _names([a.name.removeprefix("FWP_ACTION_") for a in ActionType
                      if a.name not in ("FWP_ACTION_NONE", "FWP_ACTION_NONE_NO_MATCH")], "FWP_ACTION_")
    flags = _names([f.name for f in FilterFlag if f.name], "FWPM_FILTER_FLAG_")
    key = {"type": "string", "minLength": 1}
    weight = {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string"},
                        {"type": "object", "properties": {"uint64": {"type": ["string", "integer"]}}}]}
    condition = {"type": "object", "additionalProperties": False, "required": ["field"],  # match: default equal
                 "properties": {"field": {"enum": fields}, "match": {"enum": matches}, "value": ANY_VALUE}}
    props: dict[str, Any] = {k: ANY_VALUE for k in policy_file.FILTER_KEYS}
    props.update({"key": key, "name": {"type": "string"}, "description": {"type": "string"},
                  "layer": {"enum": layers}, "sublayer": {"type": "string"}, "weight": weight,
                  "action": {"enum": actions}, "callout": {"type": "string"},
                  "flags": {"type": "array", "items": {"enum": flags}},
                  "condition": {"type": "array", "items": {"$ref": "#/$defs/condition"}}})
    filt = {"type": "object", "additionalProperties": False, "properties": props}
    sub = {"type": "object", "additionalProperties": False,
           "properties": {k: ANY_VALUE for k in policy_file.SUBLAYER_KEYS} | {"key": key}}
    label = {"type": "string", "minLength": 1}
    # issue 15: an action, or a byte count (permit the first N bytes, then `then`)
    rule = {"type": "object", "additionalProperties": False,
            "oneOf": [{"required": ["action"]}, {"required": ["permit_bytes"]}],
            "properties": {k: ANY_VALUE for k in policy_file.RULE_KEYS}
            | {"condition": {"type": "array", "items": {"$ref": "#/$defs/condition"}},
               "action": {"enum": [*policy_file.RULE_ACTIONS, REINJECT, PEND, REDIRECT]}, "hard": {"type": "boolean"},
               "description": {"type": "string"}, "flow_context": label, "flow_context_callout": label,
               "when_flow_context": label, "permit_bytes": {"type": "integer", "minimum": 0},
               # then: a permit_bytes rule's (block, drop_connection) or a pend rule's (permit, block)
               "then": {"enum": list(dict.fromkeys([*THEN_ACTIONS, *PEND_THEN]))},
               "complete_after": {"type": "number", "minimum": 0, "maximum": 86400},
               # a redirect rule's target (core.redirect): the new remote end / local end
               "to": {"type": "string", "description": "ALE_CONNECT_REDIRECT: new remote address:port"},
               "local": {"type": "string", "description": "ALE_BIND_REDIRECT: new local address[:port]"}}}
    call = {"type": "object", "additionalProperties": False,
            "properties": {k: ANY_VALUE for k in policy_file.CALLOUT_KEYS}
            | {"key": key, "returns": {"enum": list(policy_file.CALLOUT_RETURNS)},
               "default": {"enum": list(policy_file.RULE_ACTIONS)},
               "rule": {"type": "array", "items": {"$ref": "#/$defs/rule"}},
               "hard": {"type": "boolean"}, "conditional_on_flow": {"type": "boolean"}}}
    return _doc("policy.schema.json", "wfptui policy file (TOML, spec §3)", {
        "type": "object", "additionalProperties": False,
        "properties": {"sublayer": {"type": "array", "items": sub}, "callout": {"type": "array", "items": call},
                       "filter": {"type": "array", "items": {"$ref": "#/$defs/filter"}}},
        "$defs": {"filter": filt, "condition": condition, "rule": rule}})


def scenario_schema() -> dict[str, Any]:
    layers = _names([layer.name for layer in LAYERS], "FWPM_LAYER_")
    seconds = {"type": "number", "minimum": 0, "maximum": scenario_file.MAX_SECONDS}
    iface = {"type": "object", "additionalProperties": False,
             "properties": {k: ANY_VALUE for k in (*scenario_file._IFACE_KEYS, "address")}}
    app = {"type": "object", "additionalProperties": False, "required": ["name", "path"],
           "properties": {"name": {"type": "string"}, "path": {"type": "string"}, "user": {"type": "string"}}}
    host = {"type": "object", "additionalProperties": False, "required": ["name"], "properties": {
        "name": {"type": "string"}, "windows": {"enum": ["vista", "win7", "win8", "win10", "win11"]},
        "address": {"type": "array", "items": {"type": "string"}},
        "policy": {"anyOf": [{"type": "string"}, {"$ref": "policy.schema.json"}]},
        "app": {"type": "array", "items": app},
        "interface": {"anyOf": [iface, {"type": "array", "items": iface}]}}}
    step_props: dict[str, Any] = {k: ANY_VALUE for k in scenario_file._STEP_KEYS}
    step_props.update({"do": {"enum": list(scenario_file._STEP_ALLOWED)}, "at": seconds, "seconds": seconds,
                       "proto": {"enum": ["tcp", "udp"]}, "port": {"type": "integer", "minimum": 0, "maximum": 65535},
                       "bytes": {"type": "integer", "minimum": 0}, "dual_stack": {"type": "boolean"},
                       "redirect_records": {"type": "string"}, "callout": {"type": "string"},
                       "add": {"type": "array", "items": {"$ref": "policy.schema.json#/$defs/filter"}}})
    expect_props: dict[str, Any] = {k: ANY_VALUE for k in scenario_file._EXPECT_KEYS}
    expect_props.update({"layer": {"enum": layers}, "packet": {"enum": list(scenario_file._PACKETS)},
                         "op": {"enum": list(scenario_file._OPS)}, "action": {"enum": list(scenario_file._ACTIONS)},
                         "reauth": {"type": "boolean"}, "count": {"type": "integer", "minimum": 0}})
    return _doc("scenario.schema.json", "wfptui scenario file (TOML, spec §4)", {
        "type": "object", "additionalProperties": False, "properties": {
            "name": {"type": "string"}, "host": {"type": "array", "items": host},
            "step": {"type": "array", "items": {"type": "object", "additionalProperties": False,
                                                 "required": ["do"], "properties": step_props}},
            "expect": {"type": "array", "items": {"type": "object", "additionalProperties": False,
                                                   "properties": expect_props}}}})


def _rec(kind: str, required: list[str], props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": ["kind", *required],
            "properties": {"kind": {"const": kind}, **props}}


def trace_schema() -> dict[str, Any]:
    common = {"seq": {"type": "integer", "minimum": 0}, "t": NUM, "host": {"type": "string"}}
    kinds = {
        "header": _rec("header", ["format", "version"], {"format": {"const": "wfptui-trace"},
                                                          "version": {"type": "integer"}}),
        "classify": _rec("classify", ["seq", "t", "host", "layer", "action"], {
            **common, "layer": {"type": "string"}, "layer_id": {"type": "integer"},
            "action": {"enum": ["permit", "block", "none"]}, "filter": NSTR, "filter_id": NSTR64,
            "terminating": {"type": "array"}, "veto": {"type": "boolean"}, "fields": {"type": "object"}}),
        "stack": _rec("stack", ["seq", "t", "host", "event"], {**common, "event": {"type": "string"}}),
        "net_event": _rec("net_event", ["seq", "t", "host", "type"], {**common, "type": {"type": "string"},
                                                                       "filter_id": NSTR64}),
        "audit": _rec("audit", ["seq", "t", "host", "event_id"], {**common, "event_id": {"type": "integer"},
                                                                   "filter_id": NSTR64}),
        "policy": _rec("policy", [], common),
        "expect": _rec("expect", ["ok"], {"seq": common["seq"], "ok": {"type": "boolean"}}),
        "coverage": _rec("coverage", [], {}),
        "observed": _rec("observed", ["seq", "t", "host"], {
            **common, "event": ANY_VALUE, "type": ANY_VALUE, "action": NSTR, "filter_id": NSTR64,
            "matched_by": {"enum": ["id", "key", "name", None]}, "verdict": NSTR,
            "unknown_fields": {"type": "array", "items": {"type": "string"}}}),
    }
    return _doc("trace.schema.json", "wfptui trace: one record (jsonl line) or the json document (spec §5)", {
        "anyOf": [{"$ref": "#/$defs/record"},
                  {"type": "array", "items": {"$ref": "#/$defs/record"}},
                  {"type": "object", "required": ["records"],
                   "properties": {"records": {"type": "array", "items": {"$ref": "#/$defs/record"}}}}],
        "$defs": {"record": {"oneOf": [{"$ref": f"#/$defs/{k}"} for k in kinds]}, **kinds}})


def _header(fmt: str) -> dict[str, Any]:
    return {"format": {"const": fmt}, "version": {"type": "integer"}, "app_version": {"type": "string"}}


def explain_schema() -> dict[str, Any]:
    # --layer: the arbitration at the top level; --event: the event's fields, "explain" nested.
    near = {"type": "array", "description": "filters that failed on exactly one field (issue 16)",
            "items": {"type": "object", "required": ["filter", "sublayer", "field", "wants", "got"],
                      "properties": {k: {"type": "string"} for k in ("filter", "sublayer", "field", "wants", "got")}}}
    return _doc("explain.schema.json", "wfptui explain --format json", {
        "type": "object", "required": ["format", "version", "layer"],
        "properties": {**_header("wfptui-explain"), "action": {"enum": ["permit", "block", "none"]},
                       "filter": NSTR, "filter_id": NSTR64, "layer": {"type": "string"},
                       "layer_id": {"type": "integer"}, "terminating": {"type": "array"}, "near_misses": near,
                       "explain": {"type": ["object", "null"], "properties": {"near_misses": near}}}})


def diff_schema() -> dict[str, Any]:
    return _doc("diff.schema.json", "wfptui diff --format json", {
        "type": "object", "required": ["format", "version"], "properties": _header("wfptui-diff")})


def lint_schema() -> dict[str, Any]:
    finding = {"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string"}}}
    return _doc("lint.schema.json", "wfptui lint --format json", {
        "type": "object", "required": ["format", "version", "summary", "findings"],
        "properties": {**_header("wfptui-lint"), "policy": {"type": "string"}, "filters": {"type": "integer"},
                       "summary": {"type": "object", "additionalProperties": {"type": "integer"}},
                       "findings": {"type": "array", "items": finding}}})


def triage_schema() -> dict[str, Any]:
    decision_props: dict[str, Any] = {
        "action": {"enum": ["permit", "block", "none", "continue", None]}, "filter_id": NSTR64,
        "filter": NSTR, "name": NSTR, "sublayer": NSTR,
        "unknown_fields": {"type": "array", "items": {"type": "string"}}}
    decision = {"type": ["object", "null"], "required": ["action", "filter_id"], "properties": decision_props}
    observed = {**decision, "properties": {**decision_props, "matched_by": {"enum": ["id", "key", "name", None]}}}
    verdicts = ["agree", "other_filter", "differ", "unknown", "not_simulated"]
    case = {"type": "object", "required": ["layer", "observed", "simulated", "verdict"], "properties": {
        "count": {"type": "integer", "minimum": 1}, "first": NSTR, "last": NSTR,
        "direction": {"enum": ["inbound", "outbound", None]}, "protocol": {"type": ["integer", "null"]},
        "layer": NSTR, "layer_id": {"type": ["integer", "null"]}, "local": NSTR, "remote": NSTR,
        "app": NSTR, "user": NSTR, "package": NSTR, "observed": observed, "simulated": decision,
        "what_if": decision, "verdict": {"enum": verdicts}, "time": NSTR, "case": {"type": "integer"}}}
    counters = ["events", "cases", "checked", "agree", "other_filter", "differ", "unknown", "not_simulated"]
    summary = {"type": "object", "required": counters,
               "properties": {k: {"type": "integer", "minimum": 0} for k in [*counters, "fixed", "regressed"]}}
    return _doc("triage.schema.json", "wfptui triage --format json (spec §9), or one jsonl line", {
        "anyOf": [{"type": "object", "required": ["format", "version", "summary", "cases"],
                   "properties": {**_header("wfptui-triage"), "summary": summary,
                                  "cases": {"type": "array", "items": case}}},
                  {"type": "object", "required": ["kind", "format", "version"],  # the jsonl header line
                   "properties": {"kind": {"const": "header"}, **_header("wfptui-triage")}},
                  {**case, "required": ["layer", "verdict", "case"]}]})


SCHEMAS = {
    "policy.schema.json": policy_schema, "scenario.schema.json": scenario_schema,
    "trace.schema.json": trace_schema, "explain.schema.json": explain_schema, "diff.schema.json": diff_schema,
    "lint.schema.json": lint_schema, "triage.schema.json": triage_schema,
}


def render(name: str) -> str:
    return json.dumps(SCHEMAS[name](), indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    OUT.mkdir(exist_ok=True)
    for name in SCHEMAS:
        text = render(name)
        path = OUT / name
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print("stale schemas (run tools/gen_schemas.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
