"""``wfptui run SCENARIO``: run a scenario headless and print the trace (spec §2, §4, §5).

Options: ``--policy HOST=FILE`` (repeatable; replaces that host's policy), ``--record
OUT.wfpr`` (save a recording), ``--format text|jsonl|json`` (stdout; default text),
``--junit OUT.xml`` (one testcase per expect). SCENARIO ``builtin`` runs the
built-in scenario.

Exit codes: 0 every expectation holds; 1 an expectation failed (each failure on
stderr); 2 bad input (diagnostics ``file:line:col: message`` on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from wfptui.io.errors import Diagnostic, InputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", metavar="SCENARIO", help="scenario .toml (or 'builtin')")
    parser.add_argument("--policy", action="append", default=[], metavar="HOST=FILE",
                        help="use FILE as HOST's policy (repeatable)")
    parser.add_argument("--record", metavar="OUT.wfpr", help="save the run as a recording")
    parser.add_argument("--format", choices=("text", "jsonl", "json"), default="text", help="trace format")
    parser.add_argument("--junit", metavar="OUT.xml", help="write a JUnit XML report of the expectations")


def _overrides(items: list[str]) -> dict[str, Path]:
    out: dict[str, Path] = {}
    diags = []
    for item in items:
        host, sep, file = item.partition("=")
        if not sep or not host or not file:
            diags.append(Diagnostic("--policy", 0, 0, f"expected HOST=FILE, got {item!r}"))
            continue
        if host in out:
            diags.append(Diagnostic("--policy", 0, 0, f"host {host!r} given twice"))
        path = Path(file)
        if not path.exists():
            diags.append(Diagnostic(file, 0, 0, f"policy file for host {host!r} not found"))
        out[host] = path
    if diags:
        raise InputError(diags)
    return out


def run(args: argparse.Namespace) -> int:
    from wfptui.core.engine import run_scenario
    from wfptui.io.scenario_file import load_builtin_scenario, load_scenario
    from wfptui.io.trace_output import write_junit, write_trace

    try:
        overrides = _overrides(list(args.policy))
        if args.scenario == "builtin":
            if overrides:
                from wfptui.io.policy_file import load_policy

                scenario = load_builtin_scenario()
                names = {h.name for h in scenario.hosts}
                unknown = sorted(set(overrides) - names)
                if unknown:
                    raise InputError([Diagnostic("--policy", 0, 0, f"unknown host {unknown[0]!r}")])
                policies = {h: load_policy(p) for h, p in overrides.items()}
            else:
                scenario, policies = load_builtin_scenario(), {}
        else:
            if not os.path.exists(args.scenario):
                raise InputError([Diagnostic(args.scenario, 0, 0, "scenario file not found")])
            scenario = load_scenario(args.scenario, dict(overrides))
            policies = {}
    except InputError as exc:
        for d in exc.diagnostics:
            print(d, file=sys.stderr)
        return 2
    from wfptui.io.progress import Progress

    # A bar on a terminal for long runs (spec §2); silent when stdout is piped.
    with Progress(total=len(scenario.steps), label="run") as bar:
        result = run_scenario(scenario, policies or None, progress=lambda done, _total: bar.update(done))
    out = sys.stdout
    write_trace(result.all_records, args.format, out, scenario=scenario.name, ok=result.ok)
    out.flush()
    if args.junit:
        write_junit(args.junit, scenario.name, result.expects)
    if args.record:
        try:
            from wfptui.io.recording import write_recording
        except ImportError:
            print(f"{args.record}: recordings not available (wfptui.io.recording missing)", file=sys.stderr)
            return 2
        host_policies = {h.name: policies.get(h.name, h.policy) for h in scenario.hosts}
        try:
            write_recording(args.record, scenario=scenario, policies=host_policies, inputs=result.inputs,
                            records=result.records)
        except OSError as exc:
            print(f"{args.record}: cannot write recording: {exc.strerror or exc}", file=sys.stderr)
            return 2
    failed = [e for e in result.expects if not e.ok]
    for e in failed:
        print(f"{args.scenario}: expectation failed: {e.message}", file=sys.stderr)
    return 1 if failed else 0
