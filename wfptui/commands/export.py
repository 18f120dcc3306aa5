"""``wfptui export REC [--format mermaid|jsonl|json|text] [-o OUT]``: render a recording.

``mermaid`` (the default) is a ``sequenceDiagram`` to paste into a GitHub issue (one lane
per host, a message per packet annotated with the layers it crossed, ``-x`` arrows and
``BLOCK at <layer> by <filter>`` notes for blocked packets; see ``wfptui.io.export``);
``jsonl``/``json``/``text`` are the trace formats of ``wfptui run``. Output goes to stdout,
or atomically to ``-o OUT`` (``-`` = stdout; REC ``-`` = stdin). Exit 0, or 2 on a bad
recording or an output path that cannot be written (or is REC itself).
"""

from __future__ import annotations

import argparse
import io
import sys

from wfptui.io.errors import InputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("recording", metavar="REC", help="recording (.wfpr)")
    parser.add_argument("--format", choices=("mermaid", "jsonl", "json", "text"), default="mermaid",
                        help="output format (default mermaid)")
    parser.add_argument("-o", "--output", metavar="OUT", help="write to OUT instead of stdout (atomic)")


def run(args: argparse.Namespace) -> int:
    from wfptui.io.export import export
    from wfptui.io.recording import read_recording
    from wfptui.io.stdio import check_output, write_output

    try:
        if args.output:
            check_output(args.output, [args.recording])
        rec = read_recording(args.recording)
        records = list(rec.records)
        title = getattr(rec.scenario, "name", None)
        buf = io.StringIO()
        export(records, args.format, buf, hosts=rec.header.get("hosts") or (), title=title)
        if args.output and args.output != "-":
            write_output(args.output, buf.getvalue().encode("utf-8"))
        else:
            sys.stdout.write(buf.getvalue())
    except InputError as exc:
        for diag in exc.diagnostics:
            print(diag, file=sys.stderr)
        return 2
    return 0
