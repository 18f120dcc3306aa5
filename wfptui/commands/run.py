"""``wfptui run SCENARIO``: run a scenario headless and print the trace (spec §2, §4, §5).

Options: ``--policy HOST=FILE`` (repeatable; replaces that host's policy), ``--record
OUT.wfpr`` (save a recording), ``--format text|jsonl|json`` (stdout; default text),
``--junit OUT.xml`` (Jenkins' junit-10.xsd: one testsuite per SCENARIO, one testcase per
expect, written on every outcome: a file that cannot be run gives one error testcase).
SCENARIO ``builtin`` runs the built-in scenario; ``-`` reads it from standard input;
several SCENARIOs run one after the other (not with ``--record`` or ``--format json``).
An output path that cannot be written, or that names an input, is bad input (spec §8).

Exit codes: 0 every expectation holds; 1 an expectation failed (each failure on
stderr); 2 bad input in any file (diagnostics ``file:line:col: message`` on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wfptui.io.errors import Diagnostic, InputError
from wfptui.io.heap import long_lived


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", metavar="SCENARIO", nargs="+",
                        help="scenario .toml (or 'builtin'; '-' = standard input); several: one JUnit testsuite each")
    parser.add_argument("--policy", action="append", default=[], metavar="HOST=FILE",
                        help="use FILE as HOST's policy (repeatable)")
    parser.add_argument("--record", metavar="OUT.wfpr", help="save the run as a recording")
    parser.add_argument("--format", choices=("text", "jsonl", "json"), default="text", help="trace format")
    parser.add_argument("--junit", metavar="OUT.xml", help="write a JUnit XML report of the expectations")
    parser.add_argument("--coverage", action="store_true",
                        help="report every filter's hit count and the filters no traffic reached (docs/decisions.md)")


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
        if file != "-" and not path.exists():  # `-`: standard input (spec §8)
            diags.append(Diagnostic(file, 0, 0, f"policy file for host {host!r} not found"))
        out[host] = path
    if diags:
        raise InputError(diags)
    return out


_MSGPACK_MAP_FIRST = frozenset([*range(0x80, 0x90), 0xDE, 0xDF])


def _refuse_recording(path: str) -> None:
    """A recording given to ``run`` is a clear error that points at ``replay``."""
    from wfptui.io.stdio import open_regular

    if path == "-":
        return
    try:
        with open_regular(path, "scenario file") as fh:  # never blocks on a FIFO
            first = fh.read(1)
    except (OSError, InputError):
        return  # the loader reports it
    if path.lower().endswith(".wfpr") or (first and first[0] in _MSGPACK_MAP_FIRST):
        raise InputError([Diagnostic(path, 0, 0, f"this is a recording, not a scenario: replay it with "
                                                 f"`wfptui replay {path}`")])


def _load(path: str, overrides: dict[str, Path]) -> tuple[Any, dict[str, Any]]:
    """(scenario, host -> policy overrides for the builtin) of one SCENARIO argument."""
    from wfptui.io.scenario_file import load_builtin_scenario, load_scenario

    if path == "builtin":
        scenario = load_builtin_scenario()
        if not overrides:
            return scenario, {}
        from wfptui.io.policy_file import load_policy

        names = {h.name for h in scenario.hosts}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise InputError([Diagnostic("--policy", 0, 0, f"unknown host {unknown[0]!r}")])
        return scenario, {h: load_policy(p) for h, p in overrides.items()}
    if path != "-" and not os.path.exists(path):
        raise InputError([Diagnostic(path, 0, 0, "scenario file not found")])
    _refuse_recording(path)
    return load_scenario(path, dict(overrides)), {}


def _print(exc: InputError) -> str:
    for d in exc.diagnostics:
        print(d, file=sys.stderr)
    return "; ".join(str(d) for d in exc.diagnostics)


def run(args: argparse.Namespace) -> int:
    from wfptui.io.stdio import check_output
    from wfptui.io.trace_output import JunitSuite, write_junit

    files: list[str] = list(args.scenario)
    try:
        if len(files) > 1 and args.record:
            raise InputError([Diagnostic("--record", 0, 0, "takes one scenario (one recording per run)")])
        if len(files) > 1 and args.format == "json":
            raise InputError([Diagnostic("--format", 0, 0, "json holds one scenario; use jsonl for several")])
        if files.count("-") + [p.partition("=")[2] for p in args.policy].count("-") > 1:
            raise InputError([Diagnostic("-", 0, 0, "standard input can be read once")])
        policy_files = [p.partition("=")[2] for p in args.policy]
        inputs = [f for f in files if f != "builtin"] + policy_files
        if args.junit:
            check_output(args.junit, inputs, "--junit")
        if args.record:
            check_output(args.record, inputs, "--record")
            if args.record == "-" and files:
                raise InputError([Diagnostic("--record", 0, 0, "a recording on standard output would mix "
                                                               "with the trace; give a file")])
        overrides = _overrides(list(args.policy))
    except InputError as exc:
        message = _print(exc)
        if args.junit and not (args.junit != "-" and any(d.file == args.junit for d in exc.diagnostics)):
            _write_junit_safely(args.junit, [JunitSuite(f, f, error=message) for f in files])
        return 2
    suites: list[JunitSuite] = []
    code = 0
    for path in files:
        start = time.monotonic()
        try:
            with long_lived() as keep:
                result = _run_one(path, overrides, args, keep)
        except InputError as exc:
            suites.append(JunitSuite(path, path, time=time.monotonic() - start, error=_print(exc)))
            code = 2
            continue
        scenario, res = result
        suites.append(JunitSuite(scenario.name, path, res.expects, time.monotonic() - start))
        failed = [e for e in res.expects if not e.ok]
        for e in failed:
            print(f"{path}: expectation failed: {e.message}", file=sys.stderr)
        if failed and code == 0:
            code = 1
    if args.junit:
        try:
            write_junit(args.junit, suites)
        except InputError as exc:
            _print(exc)
            return 2
    return code


def _write_junit_safely(path: str, suites: list[Any]) -> None:
    from wfptui.io.trace_output import write_junit

    try:
        write_junit(path, suites)
    except InputError as exc:
        _print(exc)


def _run_one(path: str, overrides: dict[str, Path], args: argparse.Namespace,
             keep: Callable[[], None]) -> tuple[Any, Any]:
    """Run one scenario, print its trace and save the recording; InputError on bad input.
    ``keep``: called once the scenario has run (``io.heap.long_lived``)."""
    from wfptui.core.engine import run_scenario
    from wfptui.io.progress import Progress
    from wfptui.io.trace_output import write_trace

    scenario, policies = _load(path, overrides)
    # A bar on a terminal for long runs (spec §2); silent when stdout is piped.
    with Progress(total=len(scenario.steps), label="run") as bar:
        result = run_scenario(scenario, policies or None,
                              progress=(lambda done, _total: bar.update(done)) if bar.enabled else None)
    keep()  # the scenario and its trace live to the end: no collection walks them again
    out = sys.stdout
    write = write_trace
    if args.coverage:  # stderr (text), a last line (jsonl) or a "coverage" object (json)
        from wfptui.commands.lint import with_coverage

        write = with_coverage(write_trace, result, {h.name: policies.get(h.name, h.policy) for h in scenario.hosts})
    try:
        # the trace itself (its rows are encoded once each, io/trace_output.py), then the expectations
        write(result.records, args.format, out, scenario=scenario.name, ok=result.ok, more=result.expects)
        out.flush()
    except BrokenPipeError:
        # The reader left (`| head`): the run still counts, and --junit / --record are still
        # written. Standard output goes to devnull so the exit flush cannot fail (the
        # recipe of Python's signal documentation, "Note on SIGPIPE").
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    if args.record:
        from wfptui.io.recording import write_recording

        host_policies = {h.name: policies.get(h.name, h.policy) for h in scenario.hosts}
        try:
            write_recording(args.record, scenario=scenario, policies=host_policies, inputs=result.inputs,
                            records=result.records)
        except OSError as exc:
            raise InputError([Diagnostic(args.record, 0, 0, f"cannot write recording: {exc.strerror or exc}")]
                             ) from None
    return scenario, result
