"""``wfptui import FILE.xml -o POLICY.toml`` (spec §2): ``netsh wfp show filters`` or
``netsh wfp show state`` XML → policy file (spec §3), via :mod:`wfptui.io.netsh_xml`
(wfp-model.md §5.7).

* Which of the two formats it is, is detected from the root element.
* Warnings (unknown elements, value types, flags; filters that could not be imported)
  are printed on stderr as ``file:line:col: warning: ...`` and counted in the summary;
  ``--strict`` turns any warning into exit 2.
* Every condition is written in a form the policy loader reads back to the same value and
  type (the importer checks each one with ``core.values``), so the file validates;
  ``--check`` also runs the whole policy loader (``io.policy_file.parse_policy``) on the
  text before anything is written (about 1 s more for 1,000 filters). The write is atomic
  (``io.atomic``): a failed import never leaves a half-written or invalid file behind.
* A progress bar is drawn on stderr for big files when on a terminal (``io.progress``).

Exit codes: 0 imported, 2 bad input (malformed/hostile XML, unreadable file, ``--strict``
with warnings) — one message per problem naming file:line:col.
"""

from __future__ import annotations

import argparse
import sys

from wfptui.io.errors import Diagnostic, InputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE.xml", help="`netsh wfp show filters` or `netsh wfp show state` output")
    parser.add_argument(
        "-o", "--output", metavar="POLICY.toml", help="policy file to write (default: print it on stdout)"
    )
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


def run(args: argparse.Namespace) -> int:
    from wfptui.io.netsh_xml import import_netsh, policy_toml

    try:
        result = import_netsh(args.file, progress=False if args.no_progress else None)
    except InputError as e:
        for d in e.diagnostics:
            print(d, file=sys.stderr)
        return 2
    if not args.quiet:
        for w in result.warnings:
            print(_warning_text(w), file=sys.stderr)
    text = policy_toml(result)
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
    if args.output:
        from wfptui.io.atomic import atomic_write_text

        try:
            atomic_write_text(args.output, text)
        except OSError as e:
            print(f"{args.output}: cannot write: {e.strerror or e}", file=sys.stderr)
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
