"""``wfptui redact REC -o OUT``: replace addresses, app paths, user SIDs and host names, for sharing.

Everything in the recording is rewritten consistently (``wfptui.core.redact``): the
scenario (its source text is dropped), each host's embedded policy (filter conditions on
addresses, app ids, SIDs), the inputs and the trace. The result is written atomically and
then verified: it is replayed and its trace compared with the redacted trace (as
``replay --check`` would); if they differ the differences are printed and the exit code is 1
(the file is still written, so it can be inspected). ``--no-verify`` skips the replay.

Exit 0 ok, 1 the redacted file does not replay to its own trace, 2 bad input or a recording
that cannot be redacted without changing what a filter decides.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from wfptui.io.errors import Diagnostic, InputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("recording", metavar="REC", help="recording (.wfpr; '-' = standard input)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT",
                        help="redacted recording to write ('-' = standard output, as bytes); never REC itself")
    parser.add_argument("--no-verify", action="store_true", help="do not replay the result to check it")


def redact_recording(rec: Any) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]], list[Any]]:
    """(scenario dict, host → Policy, input dicts, trace records) of ``rec``, redacted."""
    from wfptui.core.redact import Redactor
    from wfptui.core.trace import record_from_dict

    scenario = rec.scenario
    if scenario is None or isinstance(scenario, dict):
        raise InputError([Diagnostic(rec.path, 0, 0, "the recording holds no scenario")])
    r = Redactor(hosts=[h.name for h in scenario.hosts])
    scen_d = scenario.to_dict()
    inputs = [s if isinstance(s, dict) else s.to_dict() for s in rec.inputs]
    records = [x.to_dict() for x in rec.records]
    for d in (*scen_d.get("steps", ()), *inputs):  # observe steps (captures): their events
        if isinstance(d.get("event"), dict):
            r.collect_event(d["event"])
    r.collect_json(scen_d)
    r.collect_json(inputs)
    r.collect_json(records)
    for p in rec.policies.values():
        r.collect_policy(p)
    r.build()
    new_policies = {r.host(h): r.policy(p) for h, p in rec.policies.items()}
    new_records = [record_from_dict(r.json(d)) for d in records]
    new_scen = r.scenario_dict(scen_d)
    new_inputs = [r.json(d) for d in inputs]
    for old, new in ((scen_d.get("steps", ()), new_scen.get("steps", ())), (inputs, new_inputs)):
        for o, n in zip(old, new, strict=True):
            if isinstance(o.get("event"), dict):
                n["event"] = r.event(o["event"])
    return new_scen, new_policies, new_inputs, new_records


def run(args: argparse.Namespace) -> int:
    from wfptui.core.redact import RedactError
    from wfptui.io.recording import decode_recording, encode_recording, read_recording, write_recording
    from wfptui.io.stdio import check_output, write_output

    try:
        check_output(args.output, [args.recording])
        rec = read_recording(args.recording)
        try:
            scen, policies, inputs, records = redact_recording(rec)
        except RedactError as exc:
            raise InputError([Diagnostic(args.recording, 0, 0, f"cannot redact: {exc}")]) from None
        if args.output == "-":  # bytes on standard output (spec §8)
            data = encode_recording(scenario=scen, policies=policies, inputs=inputs, records=records)
            write_output("-", data)
        else:
            try:
                write_recording(args.output, scenario=scen, policies=policies, inputs=inputs, records=records)
            except OSError as exc:
                raise InputError([Diagnostic(args.output, 0, 0, f"cannot write: {exc.strerror or exc}")]) from None
    except InputError as exc:
        for diag in exc.diagnostics:
            print(diag, file=sys.stderr)
        return 2
    print(f"wrote {args.output} ({len(records)} records)", file=sys.stderr)
    if args.no_verify:
        return 0
    from wfptui.commands.replay import records_like, replay
    from wfptui.core.diff import diff_traces

    try:
        out = decode_recording(data, "<stdout>") if args.output == "-" else read_recording(args.output)
        recorded = list(out.records)
        result = replay(out, dict(out.policies))
    except InputError as exc:
        for diag in exc.diagnostics:
            print(diag, file=sys.stderr)
        return 1
    d = diff_traces(recorded, records_like(recorded, result))
    if not d.same:
        print(f"{args.output}: the redacted recording does not replay to its own trace:", file=sys.stderr)
        sys.stderr.write(d.to_text())
        return 1
    return 0
