"""Writing traces: JSON lines, one JSON document, text for people, JUnit XML (spec §5).

* ``jsonl``: one ``record.to_dict()`` per line, keys in the record's order, separators
  ``", "`` and ``": "`` (as in the spec's example), ``ensure_ascii=False``. Deterministic:
  the same records give the same bytes.
* ``json``: ``{"scenario": name, "records": [...], "ok": bool}`` (indent 1).
* ``text``: one line per record — time, host, layer, packet/op, direction, verdict word
  with a symbol (``✓ permit``, ``✗ block``, ``· none``), filter; stack, net event, audit,
  policy and expect records as readable lines.

``write_junit(path, scenario, expect_records)``: one ``<testcase>`` per expect.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from typing import TextIO
from xml.sax.saxutils import escape, quoteattr

from wfptui.core.trace import (
    AuditRecord,
    ClassifyRecord,
    ExpectRecord,
    NetEventRecord,
    PolicyRecord,
    StackRecord,
    TraceRecord,
)

FORMATS = ("text", "jsonl", "json")

_SYMBOL = {"permit": "✓ permit", "block": "✗ block", "none": "· none"}


def _dumps(d: object) -> str:
    return json.dumps(d, ensure_ascii=False, separators=(", ", ": "))


def text_line(rec: TraceRecord) -> str:
    """One human-readable line for a record."""
    if isinstance(rec, ClassifyRecord):
        what = rec.packet if rec.packet is not None else (rec.op or "-")
        verdict = _SYMBOL.get(rec.action, rec.action)
        flt = f"  by {rec.filter}" if rec.filter else ""
        extra = ""
        if rec.reauth:
            extra += " [reauth]"
        if rec.veto:
            extra += " [veto]"
        if rec.layer.endswith("_DISCARD"):
            extra += " [discard]"
        flow = f" flow {rec.flow}" if rec.flow is not None else ""
        return (f"{rec.t:10.6f}  {rec.host:<10} {rec.layer:<34} {what:<10} {rec.direction or '':<8} "
                f"{verdict}{flt}{extra}{flow}")
    if isinstance(rec, StackRecord):
        flow = f" (flow {rec.flow})" if rec.flow is not None else ""
        detail = f": {rec.detail}" if rec.detail else ""
        return f"{rec.t:10.6f}  {rec.host:<10} stack: {rec.event}{detail}{flow}"
    if isinstance(rec, NetEventRecord):
        return (f"{rec.t:10.6f}  {rec.host:<10} net event {rec.type} filter_id={rec.filter_id} "
                f"layer_id={rec.layer_id} {rec.direction}")
    if isinstance(rec, AuditRecord):
        return (f"{rec.t:10.6f}  {rec.host:<10} audit {rec.event_id} filter_id={rec.filter_id} "
                f"layer_id={rec.layer_id}")
    if isinstance(rec, PolicyRecord):
        parts = []
        if rec.added:
            parts.append("added " + ", ".join(rec.added))
        if rec.removed:
            parts.append("removed " + ", ".join(rec.removed))
        if rec.reauth_layers:
            parts.append("reauthorize flows of " + ", ".join(rec.reauth_layers))
        return f"{rec.t:10.6f}  {rec.host:<10} policy: {'; '.join(parts) or 'no change'}"
    if isinstance(rec, ExpectRecord):
        return f"expect {'PASS' if rec.ok else 'FAIL'}: {rec.message}"
    return str(rec)


def write_trace(records: Iterable[TraceRecord], fmt: str, out: TextIO, *, scenario: str = "",
                ok: bool | None = None) -> None:
    """Write ``records`` to ``out`` as ``text``, ``jsonl`` or ``json``. For ``json``,
    ``ok`` defaults to "every expect record passed"."""
    if fmt == "jsonl":
        for rec in records:
            out.write(_dumps(rec.to_dict()))
            out.write("\n")
        return
    if fmt == "json":
        recs = list(records)
        if ok is None:
            ok = all(r.ok for r in recs if isinstance(r, ExpectRecord))
        doc = {"scenario": scenario, "records": [r.to_dict() for r in recs], "ok": ok}
        out.write(json.dumps(doc, ensure_ascii=False, indent=1))
        out.write("\n")
        return
    if fmt == "text":
        for rec in records:
            out.write(text_line(rec))
            out.write("\n")
        return
    raise ValueError(f"unknown trace format {fmt!r} (expected {', '.join(FORMATS)})")


def junit_xml(scenario: str, expects: Sequence[ExpectRecord]) -> str:
    """JUnit XML: one testsuite named after the scenario, one testcase per expect."""
    failures = sum(1 for e in expects if not e.ok)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<testsuites tests="{len(expects)}" failures="{failures}">',
             f'  <testsuite name={quoteattr(scenario)} tests="{len(expects)}" failures="{failures}">']
    for i, e in enumerate(expects):
        keys = " ".join(f"{k}={v}" for k, v in e.expect.items()) or "(any)"
        name = quoteattr(f"expect[{i}] {keys}")
        if e.ok:
            lines.append(f"    <testcase classname={quoteattr(scenario)} name={name}/>")
        else:
            lines.append(f"    <testcase classname={quoteattr(scenario)} name={name}>")
            lines.append(f"      <failure message={quoteattr(e.message)}>{escape(e.message)}</failure>")
            lines.append("    </testcase>")
    lines.append("  </testsuite>")
    lines.append("</testsuites>")
    return "\n".join(lines) + "\n"


def write_junit(path: str | os.PathLike[str], scenario: str, expect_records: Sequence[ExpectRecord]) -> None:
    """Write the JUnit XML report to ``path``."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(junit_xml(scenario, expect_records))
