"""Writing traces: JSON lines, one JSON document, text for people, JUnit XML (spec §5).

* ``jsonl``: a header line (``{"kind": "header", "format": "wfptui-trace", "version": N,
  "app_version": ...}``, spec §8), then one ``record.to_dict()`` per line, keys in the record's order, separators
  ``", "`` and ``": "`` (as in the spec's example), non-ASCII as is on UTF-8 output and
  escaped on any other (``io.jsonout.needs_ascii``). Deterministic:
  the same records give the same bytes.
* ``json``: ``{"format", "version", "app_version", "scenario": name, "records": [...],
  "ok": bool}`` (indent 1).
* In both, every 64-bit WFP value (filter ids, LUIDs) is a JSON string (``io.jsonout``).
* ``text``: one line per record — time, host, layer, packet/op, direction, verdict word
  with a symbol (``✓ permit``, ``✗ block``, ``· none``), filter; stack, net event, audit,
  policy and expect records as readable lines.

``write_junit(path, suites)``: JUnit XML (Jenkins' junit-10.xsd): one ``<testsuite>`` per
file, one ``<testcase>`` per expect, an error testcase for a file that could not be run.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TextIO
from xml.sax.saxutils import escape, quoteattr

from wfptui.core.trace import (
    AuditRecord,
    ClassifyRecord,
    ExpectRecord,
    NetEventRecord,
    ObservedRecord,
    PolicyRecord,
    StackRecord,
    TraceRecord,
)
from wfptui.io.jsonout import dump_document, header_line, needs_ascii, wide_to_str

FORMATS = ("text", "jsonl", "json")
TRACE_FORMAT = "wfptui-trace"

_SYMBOL = {"permit": "✓ permit", "block": "✗ block", "none": "· none"}


def _dumps(d: object, ascii_only: bool = False) -> str:
    return json.dumps(d, ensure_ascii=ascii_only, separators=(", ", ": "))


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
    if isinstance(rec, ObservedRecord):
        unknown = f" unknown: {', '.join(rec.unknown_fields)}" if rec.unknown_fields else ""
        by = f" matched by {rec.matched_by}" if rec.matched_by else ""
        return (f"{rec.t:10.6f}  {rec.host:<10} observed #{rec.event} {rec.type} {rec.action or '-'} "
                f"filter_id={rec.filter_id}{by}: {rec.verdict}{unknown}")
    return str(rec)


def write_trace(records: Iterable[TraceRecord], fmt: str, out: TextIO, *, scenario: str = "",
                ok: bool | None = None) -> None:
    """Write ``records`` to ``out`` as ``text``, ``jsonl`` or ``json``. For ``json``,
    ``ok`` defaults to "every expect record passed"."""
    if fmt == "jsonl":
        ascii_only = needs_ascii(out)
        out.write(_dumps(header_line(TRACE_FORMAT), ascii_only))
        out.write("\n")
        for rec in records:
            out.write(_dumps(wide_to_str(rec.to_dict()), ascii_only))
            out.write("\n")
        return
    if fmt == "json":
        recs = list(records)
        if ok is None:
            ok = all(r.ok for r in recs if isinstance(r, ExpectRecord))
        dump_document(TRACE_FORMAT, {"scenario": scenario, "records": [r.to_dict() for r in recs], "ok": ok}, out)
        return
    if fmt == "text":
        for rec in records:
            out.write(text_line(rec))
            out.write("\n")
        return
    raise ValueError(f"unknown trace format {fmt!r} (expected {', '.join(FORMATS)})")


@dataclass(frozen=True)
class JunitSuite:
    """One ``<testsuite>``: the expectations of one scenario or recording.

    ``error``: the file could not be run (bad input); the suite then holds one error
    testcase naming the problem. ``time``: seconds the run took."""

    name: str
    file: str
    expects: Sequence[ExpectRecord] = ()
    time: float = 0.0
    error: str | None = None


# XML 1.0 allows only tab, LF, CR and U+0020.. (minus surrogates, U+FFFE, U+FFFF): anything
# else (a control character in a host name, say) would make the report unreadable.
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """``text`` with characters XML 1.0 cannot hold written as ``\\xNN`` / ``\\uNNNN``."""
    return _XML_BAD.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                        else f"\\u{ord(m.group()):04x}", text)


def _attr(text: str) -> str:
    return quoteattr(xml_text(text))


def _secs(t: float) -> str:
    return f"{max(t, 0.0):.3f}"  # matches junit-10.xsd's SUREFIRE_TIME


def expect_name(e: ExpectRecord) -> str:
    """The testcase name of an expectation: its trace ``seq`` and the keys it gave."""
    keys = " ".join(f"{k}={v}" for k, v in e.expect.items()) or "(any)"
    return f"expect #{e.seq} {keys}"


def junit_xml(suites: Sequence[JunitSuite]) -> str:
    """JUnit XML valid against Jenkins' junit-10.xsd: one testsuite per file, one testcase
    per expectation (or one error testcase for a file that could not be run)."""
    tests = failures = errors = 0
    total = 0.0
    body: list[str] = []
    for s in suites:
        if s.error is not None:
            n, nf, ne = 1, 0, 1
        else:
            n, nf, ne = len(s.expects), sum(1 for e in s.expects if not e.ok), 0
        tests, failures, errors, total = tests + n, failures + nf, errors + ne, total + s.time
        cls = _attr(s.name)
        body.append(f'  <testsuite name={cls} tests="{n}" failures="{nf}" errors="{ne}" skipped="0" '
                    f'time="{_secs(s.time)}" file={_attr(s.file)}>')
        if s.error is not None:
            body.append(f'    <testcase classname={cls} name={_attr("load " + s.file)} time="0.000">')
            body.append(f"      <error type=\"InputError\" message={_attr(s.error)}>{escape(xml_text(s.error))}"
                        "</error>")
            body.append("    </testcase>")
        for e in s.expects:
            name = _attr(expect_name(e))
            if e.ok:
                body.append(f'    <testcase classname={cls} name={name} time="0.000"/>')
            else:
                body.append(f'    <testcase classname={cls} name={name} time="0.000">')
                body.append(f'      <failure type="expectation" message={_attr(e.message)}>'
                            f"{escape(xml_text(e.message))}</failure>")
                body.append("    </testcase>")
        body.append("  </testsuite>")
    head = ['<?xml version="1.0" encoding="UTF-8"?>',
            f'<testsuites name="wfptui" tests="{tests}" failures="{failures}" errors="{errors}" '
            f'time="{_secs(total)}">']
    return "\n".join([*head, *body, "</testsuites>"]) + "\n"


def write_junit(path: str | os.PathLike[str], suites: Sequence[JunitSuite]) -> None:
    """Write the JUnit XML report to ``path`` (atomically; ``-`` = stdout); an unwritable
    path raises InputError."""
    from wfptui.io.stdio import write_output

    write_output(os.fspath(path), junit_xml(suites).encode("utf-8"))
