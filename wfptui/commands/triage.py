"""``wfptui triage CAPTURE [--policy P] [--what-if P2] [--format text|json|jsonl]`` (spec §9).

"Which filter dropped this, and would my change fix it?" CAPTURE is a ``netsh wfp capture``
wfpdiag.xml, a ``netsh wfp show netevents`` netevents.xml, Security audit events 5152–5159
(wevtutil or Event Viewer XML), or a ``.wfpr`` imported from one of them. Each event is
classified at its layer against the policy (``core.triage``), compared with what the machine
did, and grouped into cases.

The policy: the capture's own filters (wfpdiag.xml carries them), or ``--policy P`` (a policy
``.toml`` or a netsh filters/state XML dump), which overrides them with a note on stderr.
A netevents or audit file without ``--policy`` is bad input.

Exit codes: 0 nothing differs (with ``--what-if``: nothing regressed); 1 a case differs
(with ``--what-if``: a case permitted today is blocked under P2); 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any, TextIO

# The core (standard library only) at module level: these are called once per case or
# event, and the command module is imported only when `wfptui triage` runs.
from wfptui.core.builtins import get_sublayer
from wfptui.core.cases import change, endpoints
from wfptui.core.triage import ICMP_PROTOCOLS, capture_sublayer
from wfptui.io.jsonout import wide

if TYPE_CHECKING:
    from wfptui.core.cases import Case, TriageResult
    from wfptui.core.evidence import Observation
    from wfptui.core.model import Policy
    from wfptui.core.triage import EventVerdict, Simulated

FORMAT = "wfptui-triage"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("capture", metavar="CAPTURE",
                        help="wfpdiag.xml, netevents.xml, audit events XML, or a .wfpr imported from one")
    parser.add_argument("--policy", metavar="P", help="policy .toml or netsh filters/state XML (overrides the capture's)")
    parser.add_argument("--what-if", dest="what_if", metavar="P2",
                        help="a changed policy: which cases it fixes and which it breaks (exit 1 on a regression)")
    parser.add_argument("--format", choices=("text", "json", "jsonl"), default="text", help="output format (default text)")


def load_evidence(path: str, policy_path: str | None) -> tuple[list[Observation], Policy, list[str]]:
    """The events and the policy to judge them by (InputError on bad input)."""
    from wfptui.io.errors import Diagnostic, InputError
    from wfptui.io.policy_source import load_policy_any

    notes: list[str] = []
    if path.lower().endswith(".wfpr"):
        from wfptui.io.evidence.recording import observations_from_recording
        from wfptui.io.recording import read_recording

        observations, policy, rec_notes = observations_from_recording(read_recording(path))
        notes.extend(rec_notes)
        if policy_path is not None:
            notes.append(f"policy: {policy_path} (instead of the recording's)")
            policy = load_policy_any(policy_path)
        return observations, policy, notes
    from wfptui.io.evidence import read_evidence

    ev = read_evidence(path)
    notes.extend(ev.notes)
    if policy_path is not None:
        if ev.policy is not None:
            notes.append(f"policy: {policy_path} (instead of the capture's own {len(ev.policy.filters)} filters)")
        return ev.observations, load_policy_any(policy_path), notes
    if ev.policy is None:
        raise InputError([Diagnostic(path, 0, 0, f"a {ev.kind} file carries no filters: give the policy the "
                                                 "machine had with --policy (a policy .toml or a `netsh wfp show "
                                                 "state` / `show filters` XML dump)")])
    return ev.observations, ev.policy.policy, notes


# ----------------------------------------------------------------------------- JSON shape


def _filter_fields(f: Any) -> dict[str, Any]:
    if f is None:
        return {"filter": None, "name": None}
    return {"filter": f.key, "name": f.name or None}


def _sublayer_name(key: str | None) -> str | None:
    if key is None:
        return None
    b = get_sublayer(key)
    return f"FWPM_SUBLAYER_{b.name}" if b is not None else key


def _simulated(s: Simulated | None) -> dict[str, Any] | None:
    if s is None:
        return None
    f = s.filter
    return {"action": s.action, "filter_id": wide("filter_id", f.filter_id if f is not None else None),
            **_filter_fields(f),
            "sublayer": _sublayer_name(f.sublayer) if f is not None else None,
            "unknown_fields": list(s.unknown_fields), "assumed": list(s.assumed)}


def _observed(ev: EventVerdict) -> dict[str, Any]:
    o = ev.obs
    sublayer = None
    for t in o.terminating:
        if t.filter_id == o.filter_id:
            sublayer = capture_sublayer(t.sublayer)
            break
    if sublayer is None and ev.observed_filter is not None:
        sublayer = _sublayer_name(ev.observed_filter.sublayer)
    return {"action": o.action, "filter_id": wide("filter_id", o.filter_id), **_filter_fields(ev.observed_filter),
            "sublayer": sublayer, "matched_by": ev.matched_by}


def event_fields(ev: EventVerdict, what_if: bool) -> dict[str, Any]:
    """The fields a case (and a jsonl line) shows for one event (spec §9), 64-bit values
    already as strings (``jsonout.wide``): the writers need no ``wide_to_str`` pass per case
    (a test holds the streamed document equal to ``document()``, which applies it)."""
    o = ev.obs
    local, remote = endpoints(ev)
    layer = ev.layer
    d: dict[str, Any] = {
        "type": o.type,
        "direction": ev.direction, "protocol": o.protocol,
        "layer": "FWPM_LAYER_" + layer.name if layer is not None else None,
        "layer_id": o.layer_id, "local": local, "remote": remote,
    }
    if o.protocol in ICMP_PROTOCOLS:
        d["icmp_type"] = o.icmp_type if o.icmp_type is not None else o.local_port
        d["icmp_code"] = o.icmp_code if o.icmp_code is not None else o.remote_port
    d.update({"app": o.app_id, "user": o.user_id, "package": o.package_sid,
              "observed": _observed(ev), "simulated": _simulated(ev.sim),
              "what_if": _simulated(ev.what_if) if what_if else None, "verdict": ev.verdict})
    return d


def case_json(c: Case, what_if: bool) -> dict[str, Any]:
    rep = c.representative
    fields = event_fields(rep, what_if)
    return {"count": len(c.events), "first": c.first.obs.time, "last": c.last.obs.time, **fields}


def document(result: TriageResult, notes: list[str]) -> dict[str, Any]:
    """The whole JSON document as one object (``write_json`` writes the same, streamed)."""
    from wfptui.io.jsonout import document as json_document

    body = {"summary": result.summary(), "notes": notes,
            "cases": [case_json(c, result.what_if) for c in result.cases]}
    return json_document(FORMAT, body)


def write_json(result: TriageResult, notes: list[str], out: TextIO) -> None:
    """The JSON document (spec §9), one case per line: a capture can hold tens of thousands
    of cases, so each is encoded and written on its own (C encoder, no document-sized
    string in memory), and a case's line is easy to grep and diff."""
    from wfptui.io.jsonout import document as json_document
    from wfptui.io.jsonout import needs_ascii

    ascii_only = needs_ascii(out)
    head = json.dumps(json_document(FORMAT, {"summary": result.summary(), "notes": notes, "cases": []}),
                      ensure_ascii=ascii_only, indent=1)
    tail = '"cases": []\n}'
    assert head.endswith(tail)  # "cases" is the document's last key
    if not result.cases:
        out.write(head + "\n")
        return
    out.write(head[: -len("[]\n}")] + "[\n")
    last = len(result.cases) - 1
    for i, c in enumerate(result.cases):
        out.write("  " + json.dumps(case_json(c, result.what_if), ensure_ascii=ascii_only)
                  + (",\n" if i < last else "\n"))
    out.write(" ]\n}\n")


# ----------------------------------------------------------------------------- text


def _act(s: Simulated | None) -> str:
    if s is None:
        return "-"
    if s.action is None:
        return "?"
    return s.action + (f" {s.filter.key}" if s.filter is not None else "")


def write_text(result: TriageResult, notes: list[str], out: TextIO) -> None:
    for n in notes:
        out.write(f"note: {n}\n")
    s = result.summary()
    rows = []
    for i, c in enumerate(result.cases, 1):
        rep = c.representative
        d = event_fields(rep, result.what_if)
        obs = d["observed"]
        observed = f"{obs['action'] or rep.obs.type}" + (f" {obs['filter'] or obs['filter_id']}" if obs["filter_id"] else "")
        where = f"{d['direction'] or '?'} {d['layer'][len('FWPM_LAYER_'):] if d['layer'] else rep.obs.type}"
        ends = f"{d['local'] or '?'} -> {d['remote'] or '-'}"
        line = f"{i:>3}. {c.verdict.upper():<13} x{len(c.events):<5} {where}  proto {d['protocol']}  {ends}\n"
        line += f"      app {d['app'] or '-'}\n"
        line += f"      observed  {observed}\n      simulated {_act(rep.sim)}"
        if rep.sim is not None and rep.sim.unknown_fields:
            line += f"  (unknown: {', '.join(rep.sim.unknown_fields)})"
        if rep.sim is not None and rep.sim.assumed:
            line += "  (assumed: the token holds no group the evidence does not show)"
        line += "\n"
        if result.what_if:
            ch = change(rep)
            line += f"      what-if   {_act(rep.what_if)}" + (f"  [{ch}]" if ch else "") + "\n"
        rows.append(line)
    out.write("".join(rows))
    parts = [f"{s['events']} events in {s['cases']} cases; {s['checked']} checked: "
             f"{s['agree']} agree, {s['other_filter']} other filter, {s['differ']} differ; "
             f"{s['unknown']} unknown, {s['not_simulated']} not simulated"]
    if result.what_if:
        parts.append(f"what-if: {s['fixed']} fixed, {s['regressed']} regressed")
    out.write("; ".join(parts) + "\n")


def write_jsonl(result: TriageResult, out: TextIO) -> None:
    from wfptui.io.jsonout import header_line, needs_ascii

    ascii_only = needs_ascii(out)
    out.write(json.dumps(header_line(FORMAT), ensure_ascii=ascii_only) + "\n")
    for ev, ci in zip(result.events, result.case_of, strict=True):  # a line at a time: bounded memory
        d = {"event": ev.obs.index, "time": ev.obs.time, **event_fields(ev, result.what_if), "case": ci}
        out.write(json.dumps(d, ensure_ascii=ascii_only) + "\n")


def exit_code(result: TriageResult) -> int:
    s = result.summary()
    if result.what_if:
        return 1 if s["regressed"] else 0
    return 1 if s["differ"] else 0


def run(args: argparse.Namespace) -> int:
    import gc

    # A capture is hundreds of thousands of small objects that live to the end (events,
    # verdicts) and make no reference cycles: the cyclic collector would only walk them
    # again and again (~10% of the run). Reference counting still frees what dies.
    gc.disable()
    try:
        return _run(args)
    finally:
        gc.enable()


def _run(args: argparse.Namespace) -> int:
    from wfptui.core.cases import triage
    from wfptui.core.triage import Simulator
    from wfptui.io.errors import InputError
    from wfptui.io.policy_source import load_policy_any

    try:
        observations, policy, notes = load_evidence(args.capture, args.policy)
        what_if = Simulator(load_policy_any(args.what_if)) if args.what_if else None
    except InputError as exc:
        for diag in exc.diagnostics:
            print(diag, file=sys.stderr)
        return 2
    result = triage(observations, Simulator(policy), what_if)
    if args.format == "json":
        for n in notes:
            print(f"note: {n}", file=sys.stderr)
        write_json(result, notes, sys.stdout)
    elif args.format == "jsonl":
        for n in notes:
            print(f"note: {n}", file=sys.stderr)
        write_jsonl(result, sys.stdout)
    else:
        write_text(result, notes, sys.stdout)
    return exit_code(result)
