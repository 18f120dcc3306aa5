"""``wfptui import FILE.xml -o POLICY.toml`` (spec §2): ``netsh wfp show filters`` or
``netsh wfp show state`` XML → policy file (spec §3), via :mod:`wfptui.io.netsh_xml`
(wfp-model.md §5.7); the text is written by the one policy writer,
``io.policy_writer.dump_policy``.

* Which of the two formats it is, is detected from the root element.
* Warnings (unknown elements, value types, flags; filters that could not be imported)
  are printed on stderr as ``file:line:col: warning: ...`` and counted in the summary;
  ``--strict`` turns any warning into exit 2.
* Every condition is written in a form the policy loader reads back to the same value and
  type (the importer checks each one with ``core.values``), so the file validates;
  ``--check`` also runs the whole policy loader (``io.policy_file.parse_policy``) on the
  text before anything is written (about 0.1 s more for 1,000 filters; benchmarks/README.md
  ``## load``). The write is atomic (``io.atomic``): a failed import never leaves a
  half-written or invalid file behind.
* A progress bar is drawn on stderr for big files when on a terminal (``io.progress``).

A capture (``wfpdiag.xml``, ``netevents.xml``, audit events; sniffed by content with
``io.evidence.sniff_evidence``) becomes a **recording** instead (issue 11 item 5):
``wfptui import CAPTURE -o OUT.wfpr [--policy P] [--host NAME]`` runs the capture's events
as ``observe`` steps (``io.evidence.recording``) and writes the run. The policy is the
capture's own filters or ``--policy P``; a netevents or audit file needs ``--policy``.

Exit codes: 0 imported, 2 bad input (malformed/hostile XML, unreadable file, ``--strict``
with warnings) — one message per problem naming file:line:col.
"""

from __future__ import annotations

import argparse
import sys

from wfptui.io.errors import Diagnostic, InputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE.xml",
                        help="`netsh wfp show filters` or `netsh wfp show state` output (-> policy), or a capture: "
                             "wfpdiag.xml, netevents.xml, audit events XML (-> recording, -o OUT.wfpr)")
    parser.add_argument(
        "-o", "--output", metavar="POLICY.toml",
        help="policy file to write (default or '-': print it on stdout); for a capture the .wfpr recording "
             "to write; never FILE.xml itself"
    )
    parser.add_argument("--policy", metavar="P",
                        help="captures: the policy the machine had (policy .toml or netsh filters/state XML)")
    parser.add_argument("--host", metavar="NAME", default="captured",
                        help="captures: the name of the captured machine in the recording (default: captured)")
    parser.add_argument("--strict", action="store_true", help="exit 2 if anything was reported as a warning")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the count of warnings, not each one")
    parser.add_argument("--no-progress", action="store_true", help="never draw the progress bar")
    parser.add_argument(
        "--check", action="store_true", help="run the policy loader on the result before writing it (slower)"
    )


def _warning_text(d: Diagnostic) -> str:
    where = d.file
    if d.line > 0:
        where += f":{d.line}"
        if d.col > 0:
            where += f":{d.col}"
    return f"{where}: warning: {d.message}"


def _import_capture(args: argparse.Namespace) -> int:
    """A capture → a recording of ``observe`` steps (InputError on bad input)."""
    from wfptui.core.trace import ObservedRecord
    from wfptui.io.evidence.recording import record_capture
    from wfptui.io.policy_source import load_policy_any
    from wfptui.io.recording import write_recording
    from wfptui.io.stdio import check_output

    if not args.output or args.output == "-" or not args.output.endswith(".wfpr"):
        raise InputError([Diagnostic(args.file, 0, 0, "a capture becomes a recording: give -o OUT.wfpr")])
    check_output(args.output, [args.file] + ([args.policy] if args.policy else []))
    policy = load_policy_any(args.policy) if args.policy else None
    run = record_capture(args.file, policy, policy_name=args.policy, host=args.host)
    for note in run.notes:
        print(f"{args.file}: note: {note}", file=sys.stderr)
    write_recording(args.output, scenario=run.scenario, policies={args.host: run.policy},
                    inputs=run.result.inputs, records=run.result.records)
    verdicts: dict[str, int] = {}
    for r in run.result.records:
        if isinstance(r, ObservedRecord):
            verdicts[r.verdict] = verdicts.get(r.verdict, 0) + 1
    counts = ", ".join(f"{n} {v}" for v, n in sorted(verdicts.items()))
    print(f"{args.file}: {run.evidence.kind} capture: {len(run.evidence.observations)} events ({counts}) "
          f"-> {args.output}", file=sys.stderr)
    return 0


def run(args: argparse.Namespace) -> int:
    from wfptui.io.evidence import sniff_evidence
    from wfptui.io.netsh_xml import import_netsh, parse_netsh
    from wfptui.io.policy_writer import dump_policy
    from wfptui.io.stdio import STDIN_NAME, check_output, read_input

    if args.file != "-" and sniff_evidence(args.file) is not None:
        try:
            return _import_capture(args)
        except InputError as e:
            for d in e.diagnostics:
                print(d, file=sys.stderr)
            return 2

    try:
        if args.output:
            check_output(args.output, [args.file])
        if args.file == "-":  # standard input (spec §8)
            result = parse_netsh(read_input("-"), STDIN_NAME)
        else:
            result = import_netsh(args.file, progress=False if args.no_progress else None)
    except InputError as e:
        for d in e.diagnostics:
            print(d, file=sys.stderr)
        return 2
    if not args.quiet:
        for w in result.warnings:
            print(_warning_text(w), file=sys.stderr)
    # the one policy writer, with the import's header comment and per-object notes
    text = dump_policy(result.policy, header_comment="\n".join(result.header), notes=result.notes)
    if args.check:
        # The import must never produce a file that `validate` rejects (spec §2, §3).
        from wfptui.io.policy_file import parse_policy

        try:
            parse_policy(text, args.output or "<stdout>")
        except InputError as e:  # pragma: no cover - a bug in the importer, not in the input
            print(f"{args.file}: internal error: the imported policy does not validate:", file=sys.stderr)
            for d in e.diagnostics[:20]:
                print(f"  {d}", file=sys.stderr)
            return 2
    if args.output and args.output != "-":
        from wfptui.io.stdio import write_output

        try:
            write_output(args.output, text.encode("utf-8"))
        except InputError as e:
            for d in e.diagnostics:
                print(d, file=sys.stderr)
            return 2
    else:
        sys.stdout.write(text)
    n_warn = len(result.warnings)
    summary = (
        f"{args.file}: `netsh wfp show {result.kind}` dump: imported {len(result.filters)} of "
        f"{result.xml_filters} filters"
    )
    own_co = [result.policy.callouts[k] for k in result.own_callouts]
    unreg = sum(c.returns == "unregistered" for c in own_co)
    summary += (
        f", {len(result.own_sublayers)} sublayers, {len(own_co)} callouts "
        f"({sum(c.assumed for c in own_co)} assumed, {unreg} unregistered)"
    )
    summary += f"; {n_warn} warning{'s' if n_warn != 1 else ''}"
    if args.output:
        summary += f" -> {args.output}"
    print(summary, file=sys.stderr)
    if args.strict and n_warn:
        print(f"{args.file}: --strict: {n_warn} warnings", file=sys.stderr)
        return 2
    return 0
