"""``wfptui diff A.wfpr B.wfpr [--format text|json]``: semantic diff of two recordings' traces.

Records are aligned by host and packet identity (``wfptui.core.diff``), not by byte or
index; records are named by their ``seq`` in the trace (``A#17``). ``-`` reads one of the
two from standard input. ``--format json`` starts with ``"format": "wfptui-diff"`` and its
``"version"`` (spec §8). Prints the first divergence, every layer whose verdict changed, the filters that
decided differently, other changed records and the events present on one side only.
Exit 0 when the traces are the same, 1 when they differ, 2 on bad input.
"""

from __future__ import annotations

import argparse
import sys

from wfptui.io.errors import Diagnostic, InputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("a", metavar="A", help="first recording (.wfpr)")
    parser.add_argument("b", metavar="B", help="second recording (.wfpr)")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")
    parser.add_argument("--limit", type=int, default=50, help="list at most this many items per section (text)")


def run(args: argparse.Namespace) -> int:
    from wfptui.core.diff import diff_traces
    from wfptui.io.heap import long_lived, paused
    from wfptui.io.recording import read_recording

    try:
        if args.a == "-" and args.b == "-":
            raise InputError([Diagnostic("-", 0, 0, "standard input can be read once")])
        with long_lived() as keep:
            a = read_recording(args.a)
            b = read_recording(args.b)
            keep()  # both recordings live to the end: no collection walks them again
            # streamed: compared record by record, diffed from the first difference on
            # (core/diff.py), the collector off (millions of short-lived, acyclic keys)
            with paused():
                d = diff_traces(a.records, b.records, limit=max(args.limit, 1))
    except InputError as exc:
        for diag in exc.diagnostics:
            print(diag, file=sys.stderr)
        return 2
    if args.format == "json":
        from wfptui.io.jsonout import dump_document

        dump_document("wfptui-diff", {"a": args.a, "b": args.b, **d.to_json()}, sys.stdout)
    else:
        sys.stdout.write(d.to_text(args.a, args.b))
    return 0 if d.same else 1
