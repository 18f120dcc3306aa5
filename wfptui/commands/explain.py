"""``wfptui explain --policy FILE --layer LAYER FIELD=VALUE... [--format text|json]`` (spec §2).

Classifies one synthetic packet at one layer with the policy and prints the arbitration
step by step, like a packet tracer (``wfptui.core.explain``). Fields not given are
FWP_EMPTY. Values use the policy-file spellings (``core.values``): ``IP_PROTOCOL=tcp``,
``IP_REMOTE_ADDRESS=10.0.0.5``, ``FLAGS=is_loopback|is_reauthorize``,
``ALE_APP_ID='C:\\app.exe'``, ``ALE_USER_ID=S-1-5-21-1-2-3-1001,S-1-5-32-545`` (user, groups).

Exit codes: 0 classified (whatever the decision); 2 bad input — an unknown layer or
field, a bad value, an unreadable or invalid policy — with one message per problem
(``file:line:col: message`` for the policy, ``explain: argument N 'FIELD=VALUE': ...``
for arguments).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wfptui.core.layers import Layer
    from wfptui.core.model import Value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", metavar="FILE",
                        help="policy file (TOML; with --event also a netsh filters/state XML dump)")
    parser.add_argument("--layer", metavar="LAYER",
                        help="layer to classify at, e.g. ALE_AUTH_RECV_ACCEPT_V4")
    parser.add_argument("--event", metavar="CAPTURE",
                        help="explain an observed event instead: wfpdiag.xml, netevents.xml, audit XML or .wfpr")
    parser.add_argument("--index", type=int, metavar="N",
                        help="with --event: the N-th event of the file, from 1 (default: the first drop)")
    parser.add_argument("values", nargs="*", metavar="FIELD=VALUE",
                        help="packet values, e.g. IP_LOCAL_PORT=80 IP_PROTOCOL=tcp (others are FWP_EMPTY)")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")


def _error(message: str) -> int:
    print(f"explain: {message}", file=sys.stderr)
    return 2


def parse_values(layer: Layer, items: list[str]) -> dict[str, Value]:
    """FIELD=VALUE arguments → packet values; ValueError with the message to print."""
    from wfptui.core.fields import UnknownNameError
    from wfptui.core.values import field_type, parse_value

    values: dict[str, Value] = {}
    for n, item in enumerate(items, 1):
        where = f"argument {n} {item!r}"
        fld, sep, raw = item.partition("=")
        fld = fld.strip()
        if not sep or not fld:
            raise ValueError(f"{where}: expected FIELD=VALUE")
        try:
            name = field_type(fld, layer)[0]
            if layer.field(name) is None:
                raise ValueError(f"field {name} is not classified at layer {layer.name}")
            if name in values:
                raise ValueError(f"field {name} is given twice")
            value, _dtype = parse_value(name, layer, None, raw.strip())
        except UnknownNameError as exc:
            raise ValueError(f"{where}: {exc}") from None
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        values[name] = value
    return values


def run_event(args: argparse.Namespace) -> int:
    """``--event CAPTURE [--index N]``: one observed event's classification at its layer, with
    the observed verdict beside it and the fields the evidence lacks named (spec §9)."""
    from wfptui.commands.triage import event_fields, load_evidence
    from wfptui.core.cases import first_drop
    from wfptui.core.explain import explain, explain_json, observed_near_misses, render_text
    from wfptui.core.triage import Simulator, evidence_held, judge
    from wfptui.io.errors import InputError
    from wfptui.io.jsonout import document, needs_ascii

    if args.layer or args.values:
        return _error("--event takes no --layer or FIELD=VALUE (the event gives them)")
    try:
        observations, policy, notes = load_evidence(args.event, args.policy)
    except InputError as exc:
        for diag in exc.diagnostics:
            print(diag, file=sys.stderr)
        return 2
    if not observations:
        return _error(f"{args.event}: holds no events")
    index = args.index if args.index is not None else first_drop(observations)
    if not 1 <= index <= len(observations):
        return _error(f"--index {index}: {args.event} holds events 1..{len(observations)}")
    ev = judge(observations[index - 1], Simulator(policy))
    fields = event_fields(ev, False)
    sim = ev.sim
    near = observed_near_misses(sim, policy) if sim is not None else None  # issue 16 item 6
    if args.format == "json":
        body = {"event": index, "time": ev.obs.time, **fields, "notes": notes,
                "unknown": sorted(sim.unknown) if sim is not None else None,
                "explain": explain_json(sim.result, sim.values, near, evidence_held(ev.obs)) if sim is not None
                else None}
        sys.stdout.write(json.dumps(document("wfptui-explain", body), ensure_ascii=needs_ascii(sys.stdout),
                                    indent=2) + "\n")
        return 0
    out = [f"Event {index} of {len(observations)} in {args.event} (line {ev.obs.line}): {ev.obs.type}"
           + (f" at {ev.obs.time}" if ev.obs.time else "")]
    out += [f"note: {n}" for n in notes]
    obs = fields["observed"]
    out.append(f"Observed:  {obs['action'] or 'not a classification'}"
               + (f" by filter id {obs['filter_id']}" if obs["filter_id"] is not None else "")
               + (f" = {obs['filter']} (found by {obs['matched_by']})" if obs["filter"] else
                  (" (not in the policy)" if obs["filter_id"] is not None else "")))
    if sim is None:
        out.append("Simulated: not simulated (no layer classification in this event)")
        sys.stdout.write("\n".join(out) + "\n")
        return 0
    simulated = fields["simulated"]
    out.append(f"Simulated: {simulated['action'] or 'unknown (the two worlds differ)'}"
               + (f" by {simulated['filter']}" if simulated["filter"] else ""))
    out.append(f"Verdict:   {ev.verdict}")
    if sim.unknown_fields:
        out.append("The decision hangs on fields the evidence lacks: " + ", ".join(sim.unknown_fields))
    out.append("Not in the evidence (unknown, not empty): " + (", ".join(sorted(sim.unknown)) or "nothing"))
    out.append("")
    text = render_text(explain(sim.result, sim.values, near, evidence_held(ev.obs)),
                       others="(the fields above are the evidence's; the others are unknown: conditions on them "
                              "are taken as not matching here)")
    sys.stdout.write("\n".join(out) + "\n" + text)
    return 0


def run(args: argparse.Namespace) -> int:
    if args.event is not None:
        return run_event(args)
    if args.policy is None or args.layer is None:
        return _error("give --policy FILE and --layer LAYER (or --event CAPTURE)")
    return run_packet(args)


def run_packet(args: argparse.Namespace) -> int:
    from wfptui.core.arbitration import UnknownSublayerError, compile_policy
    from wfptui.core.explain import explain_json, explain_text, near_misses
    from wfptui.core.fields import UnknownNameError
    from wfptui.core.layers import get_layer
    from wfptui.io.errors import InputError
    from wfptui.io.policy_file import load_policy

    try:
        layer = get_layer(args.layer)
    except UnknownNameError as exc:
        return _error(f"--layer: {exc}")
    try:
        values = parse_values(layer, list(args.values))
    except ValueError as exc:
        return _error(str(exc))
    try:
        policy = load_policy(args.policy)
    except InputError as exc:
        for diag in exc.diagnostics:
            print(diag, file=sys.stderr)
        return 2
    except OSError as exc:
        return _error(f"{args.policy}: cannot read the policy: {exc.strerror or exc}")
    try:
        compiled = compile_policy(policy)
        result = compiled.classify(layer, values)
    except UnknownSublayerError as exc:  # the loader normally reports this itself
        where = str(exc.filter.loc) if exc.filter.loc else str(args.policy)
        print(f"{where}: {exc}", file=sys.stderr)
        return 2
    near = near_misses(policy, layer, values, compiled.ored)  # issue 16 item 6
    if args.format == "json":
        from wfptui.io.jsonout import document, needs_ascii

        sys.stdout.write(json.dumps(document("wfptui-explain", explain_json(result, values, near)),
                                    ensure_ascii=needs_ascii(sys.stdout), indent=2) + "\n")
    else:
        sys.stdout.write(explain_text(result, values, near))
    return 0
