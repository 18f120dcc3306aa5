"""``wfptui replay REC.wfpr [--policy HOST=FILE]... [--check] [--update] [--format text|jsonl|json]``.

Re-drives a recording's inputs through the engine (spec §2, §6): the scenario is rebuilt
from the recording's header, each host gets the policy embedded in the recording (or the
one given with ``--policy HOST=FILE``), and the recorded inputs (the executed steps) run
again with ``run_scenario``. Nothing but the file is needed.

* no flag: print the new trace in ``--format`` (default text); exit 0, or 1 when an
  expectation of the scenario failed (as ``wfptui run``);
* ``--check``: compare the new trace with the recorded one (``core.diff``: aligned by host
  and packet) and print the differences; exit 1 when they differ, 0 when they are the same
  (``--format json`` prints the diff as JSON);
* ``--update``: rewrite the recording (atomically) with the new trace and the policies
  used; with ``--check`` the differences are printed first and the exit code is 0.

Several recordings replay one after the other (``--update`` and ``--format json`` take
one); ``--junit OUT.xml`` writes one testsuite per recording (spec §8).

Bad input (unreadable, truncated or corrupted recording, bad ``--policy``) → one message on
stderr, exit 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from wfptui.io.errors import Diagnostic, InputError
from wfptui.io.heap import long_lived, paused


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("recording", metavar="REC", nargs="+",
                        help="recording (.wfpr; '-' = standard input); several: one JUnit testsuite each")
    parser.add_argument("--policy", action="append", default=[], metavar="HOST=FILE",
                        help="replace HOST's recorded policy with a policy file (repeatable)")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the new trace differs from the recorded one (prints the differences)")
    parser.add_argument("--update", action="store_true", help="rewrite the recording with the new trace")
    parser.add_argument("--format", choices=("text", "jsonl", "json"), default="text",
                        help="output format (default text)")
    parser.add_argument("--junit", metavar="OUT.xml",
                        help="write a JUnit XML report: the expectations and, with --check, the trace comparison")
    parser.add_argument("--coverage", action="store_true",
                        help="report every filter's hit count and the filters no traffic reached (docs/decisions.md)")


def parse_policy_overrides(items: list[str], hosts: list[str]) -> dict[str, Any]:
    """``HOST=FILE`` arguments → host → Policy (InputError on a bad argument or file)."""
    from wfptui.io.policy_file import load_policy

    out: dict[str, Any] = {}
    for item in items:
        host, sep, path = item.partition("=")
        if not sep or not host or not path:
            raise InputError([Diagnostic("", 0, 0, f"--policy {item!r}: expected HOST=FILE")])
        if hosts and host not in hosts:
            raise InputError([Diagnostic("", 0, 0, f"--policy {item!r}: no host {host!r} in the recording "
                                                   f"(hosts: {', '.join(hosts)})")])
        out[host] = load_policy(path)
    return out


def replay(rec: Any, policies: dict[str, Any]) -> Any:
    """Run the recording's inputs again with ``policies``; returns the engine's RunResult."""
    from wfptui.core.engine import run_scenario

    scenario = rec.scenario
    if scenario is None or isinstance(scenario, dict):
        raise InputError([Diagnostic(rec.path, 0, 0, "the recording holds no scenario to replay")])
    if rec.inputs:
        scenario = dataclasses.replace(scenario, steps=tuple(rec.inputs))
    from wfptui.io.progress import Progress

    # A bar on a terminal for big replays (spec §2); silent when piped.
    with Progress(total=len(scenario.steps), label="replay") as bar:
        try:
            return run_scenario(scenario, policies=policies,
                                progress=(lambda done, _total: bar.update(done)) if bar.enabled else None)
        except (ValueError, KeyError, TypeError) as exc:  # the engine refused an input of the file
            raise InputError([Diagnostic(rec.path, 0, 0, f"cannot replay: {exc}")]) from None


def records_like(recorded: Iterable[Any], result: Any) -> list[Any]:
    """The new trace in the shape of the recorded one (with the expect records if it had them)."""
    if any(getattr(r, "kind", None) == "expect" for r in recorded):
        return list(result.all_records)
    return list(result.records)


def _has_expects(records: Any) -> bool:
    """Whether a recording's trace holds an expect record, by the reader's index API when it
    has one (no record built), else record by record."""
    kinds = getattr(records, "iter_groups", None)
    if callable(kinds):
        return any(kind == "expect" for kind, _ in kinds())
    return any(getattr(r, "kind", None) == "expect" for r in records)


def run(args: argparse.Namespace) -> int:
    from wfptui.io.stdio import check_output
    from wfptui.io.trace_output import JunitSuite, write_junit

    files: list[str] = list(args.recording)
    junit = getattr(args, "junit", None)
    try:
        if len(files) > 1 and args.update:
            raise InputError([Diagnostic("--update", 0, 0, "takes one recording")])
        if args.update and files == ["-"]:
            raise InputError([Diagnostic("--update", 0, 0, "rewrites a recording file; standard input is none")])
        if len(files) > 1 and args.format == "json":
            raise InputError([Diagnostic("--format", 0, 0, "json holds one recording; use jsonl for several")])
        if files.count("-") > 1:
            raise InputError([Diagnostic("-", 0, 0, "standard input can be read once")])
        if junit:
            check_output(junit, [*files, *(p.partition("=")[2] for p in args.policy)], "--junit")
    except InputError as exc:
        for diag in exc.diagnostics:
            print(diag, file=sys.stderr)
        return 2
    suites: list[JunitSuite] = []
    code = 0
    for path in files:
        start = time.monotonic()
        try:
            with long_lived() as keep:
                one, tests = _replay_one(path, args, keep)
        except InputError as exc:
            for diag in exc.diagnostics:
                print(diag, file=sys.stderr)
            suites.append(JunitSuite(path, path, time=time.monotonic() - start,
                                     error="; ".join(str(d) for d in exc.diagnostics)))
            code = 2
            continue
        name, expects = tests
        suites.append(JunitSuite(name, path, expects, time.monotonic() - start))
        if one and code == 0:
            code = one
    if junit:
        try:
            write_junit(junit, suites)
        except InputError as exc:
            for diag in exc.diagnostics:
                print(diag, file=sys.stderr)
            return 2
    return code


def _replay_one(path: str, args: argparse.Namespace, keep: Callable[[], None]) -> tuple[int, tuple[str, list[Any]]]:
    """Replay one recording as the options say; (exit code, (suite name, JUnit tests)).
    ``keep``: called once the recording is read and replayed (``io.heap.long_lived``)."""
    from wfptui.core.diff import diff_traces
    from wfptui.core.trace import ExpectRecord
    from wfptui.io.recording import read_recording, write_recording
    from wfptui.io.trace_output import write_trace

    rec = read_recording(path)
    hosts = [h.name for h in getattr(rec.scenario, "hosts", ())]
    policies = dict(rec.policies)
    policies.update(parse_policy_overrides(args.policy, hosts))
    if not args.update:  # only --update writes the scenario's data and source again
        rec.drop_scenario_data()
    result = replay(rec, policies)
    keep()  # the recording and the new trace live to the end: no collection walks them again
    name = str(getattr(rec.scenario, "name", "") or path)
    tests: list[Any] = list(result.expects)
    code = 0
    if args.check:
        # streamed: the recording's records as keys against the new trace's rows, records
        # built once per distinct pair; diffed from the first difference on (core/diff.py).
        # The collector is off: comparing makes millions of short-lived, acyclic keys.
        with paused():
            d = diff_traces(rec.records, result.records)
            # The new trace holds no expect record, so any of the recording's is "only in A".
            with_expects = any(r.get("kind") == "expect" for _, r in d.only_a)
            if with_expects:  # rare (an old recording): compare with the expect records too
                d = diff_traces(rec.records, itertools.chain(result.records, result.expects))
    else:
        with_expects = _has_expects(rec.records)
    # the new trace in the shape of the recorded one: with its expect records if it had them
    more = result.expects if with_expects else ()
    n_new = len(result.records) + len(more)
    if args.check:
        if args.format == "json":
            from wfptui.io.jsonout import dump_document

            dump_document("wfptui-diff", d.to_json(), sys.stdout)
        else:
            sys.stdout.write(d.to_text(f"{path} (recorded)", "replay"))
        code = 0 if d.same else 1
        # The trace check is a testcase of its own, numbered after the trace's records.
        tests.append(ExpectRecord(n_new + 1, d.same, {"trace": "same as recorded"}, n_new,
                                  d.summary() if d.same else (d.first.message if d.first else d.summary())))
    if args.update:
        write_recording(path, scenario=rec.scenario, policies=policies, inputs=result.inputs,
                        records=itertools.chain(result.records, more) if more else result.records,
                        source=rec.scenario_source)
        print(f"updated {path} ({n_new} records)", file=sys.stderr)
        return 0, (name, tests)
    if not args.check:
        write = write_trace
        if args.coverage:  # stderr (text), a last line (jsonl) or a "coverage" object (json)
            from wfptui.commands.lint import with_coverage

            write = with_coverage(write_trace, result, policies)
        # the Trace itself: its rows are encoded once each (io/trace_output.py)
        write(result.records, args.format, sys.stdout, more=more)
        code = 0 if result.ok else 1
    elif args.coverage:  # the output is the diff: coverage goes to stderr
        from wfptui.core.lint import coverage, coverage_text

        sys.stderr.write(coverage_text(coverage(result, policies)))
    return code, (name, tests)
