"""``wfptui lint POLICY [--format text|json]``: findings that hold for every packet (``core.lint``).

POLICY is a policy ``.toml`` file or a ``netsh wfp show filters`` / ``show state`` XML dump
(imported as ``wfptui import`` would; recognised by its first non-blank character ``<``),
or ``-`` for standard input. Findings: shadowed filters, duplicates, blocks a hard permit
in a higher sublayer always overrides, conditions that never hold, unregistered callouts
(docs/decisions.md, "lint").

``--format json`` prints one document: ``{"format": "wfptui-lint", "version": 1, "policy",
"filters", "summary": {kind: count, "total"}, "app_version", "findings": [{"kind", "layer", "sublayer",
"filters": [{"role", "key", "name", "filter_id", "effective_weight", "sublayer", "action"}],
"reason"}]}``; filter ids and weights (64-bit) are strings.

Exit codes: 0 no finding; 1 findings; 2 bad input (one message naming the file and place).

:func:`with_coverage` serves ``wfptui run/replay --coverage`` (``core.lint.coverage``).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from wfptui.core.lint import Finding
    from wfptui.core.model import Policy

#: JSON document format name and version.
FORMAT, VERSION = "wfptui-lint", 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("policy", metavar="POLICY", help="policy .toml, or netsh filters/state XML ('-' = stdin)")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")


def load(path: str) -> Policy:
    """A policy file or a netsh XML dump (``wfptui.io.policy_source.load_policy_any``)."""
    from wfptui.io.policy_source import load_policy_any

    return load_policy_any(path)


def finding_json(x: Finding) -> dict[str, Any]:
    """One finding as JSON (``report_json`` turns the 64-bit values into strings)."""
    return {
        "kind": x.kind,
        "layer": "FWPM_LAYER_" + x.layer,
        "sublayer": x.sublayer,
        "filters": [
            {"role": role, "key": f.key, "name": f.name or None, "filter_id": f.filter_id,
             "effective_weight": f.effective_weight, "sublayer": f.sublayer, "action": f.action.short}
            for f, role in zip(x.filters, x.roles, strict=True)
        ],
        "reason": x.reason,
    }


def report_json(name: str, policy: Policy, findings: list[Finding]) -> dict[str, Any]:
    from wfptui.core.lint import KINDS

    summary: dict[str, int] = {k: 0 for k in KINDS}
    for x in findings:
        summary[x.kind] += 1
    summary["total"] = len(findings)
    from wfptui import __version__
    from wfptui.io.jsonout import wide_to_str

    body = {"policy": name, "filters": len(policy.filters), "summary": summary,
            "findings": [finding_json(x) for x in findings]}
    return {"format": FORMAT, "version": VERSION, "app_version": __version__, **wide_to_str(body)}


def report_text(name: str, policy: Policy, findings: list[Finding]) -> str:
    from wfptui.core.lint import KINDS

    if not findings:
        return f"{name}: {len(policy.filters)} filters, no findings\n"
    counts = {k: sum(1 for x in findings if x.kind == k) for k in KINDS}
    parts = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
    lines = [f"{name}: {len(findings)} finding(s) in {len(policy.filters)} filters ({parts})", ""]
    for x in findings:
        where = f"FWPM_LAYER_{x.layer}" + (f", sublayer {x.sublayer}" if x.sublayer else "")
        lines.append(f"[{x.kind}] {where}")
        for f, role in zip(x.filters, x.roles, strict=True):
            lines.append(f"  {role}: {f.label} (filterId {f.filter_id}, effective weight "
                         f"0x{f.effective_weight:016x}, {f.action.short})")
        lines.append(f"  why: {x.reason}")
        lines.append("")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from wfptui.core.lint import lint
    from wfptui.io.errors import InputError

    try:
        policy = load(args.policy)
    except InputError as exc:
        for diag in exc.diagnostics:
            print(diag, file=sys.stderr)
        return 2
    findings = lint(policy)
    from wfptui.io.stdio import display_name

    name = display_name(args.policy)
    if args.format == "json":
        json.dump(report_json(name, policy, findings), sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(report_text(name, policy, findings))
    return 1 if findings else 0


# ----------------------------------------------------------------------------- run/replay --coverage

#: ``write_trace(records, fmt, out, **kw)`` of ``io.trace_output``.
TraceWriter = Callable[..., None]


def with_coverage(write: TraceWriter, result: Any, policies: Mapping[str, Policy]) -> TraceWriter:
    """``write`` (a trace writer) that also reports ``core.lint.coverage`` of the run:
    text → the coverage table on stderr after the trace; jsonl → a last line ``{"kind":
    "coverage", ...}``; json → a ``"coverage"`` object in the document."""
    from wfptui.core.lint import coverage, coverage_json, coverage_text
    from wfptui.io.jsonout import needs_ascii, wide_to_str

    cov = coverage(result, policies)

    def wrapped(records: Any, fmt: str, out: TextIO, **kw: Any) -> None:
        if fmt == "json":
            buf = io.StringIO()
            write(records, fmt, buf, **kw)
            doc = json.loads(buf.getvalue())
            doc["coverage"] = wide_to_str(coverage_json(cov))
            out.write(json.dumps(doc, ensure_ascii=needs_ascii(out), indent=1))
            out.write("\n")
            return
        write(records, fmt, out, **kw)
        if fmt == "jsonl":
            out.write(json.dumps({"kind": "coverage", **wide_to_str(coverage_json(cov))},
                                 ensure_ascii=needs_ascii(out)))
            out.write("\n")
        else:
            out.flush()
            sys.stderr.write(coverage_text(cov))

    return wrapped
