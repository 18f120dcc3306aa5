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

Speed (issue 14): a ``core.trace.Trace`` is written from its rows, each distinct row
encoded once and glued around each record's seq and time (:class:`_RowCache`), a chunk of
lines laid out at a time with no Python step per record; in jsonl and json a classification
is composed of its where, flow, decision and fields texts (one line's layout or the
document's indented one, ``_Shape``), its fields from cached entry texts. The json document
is streamed, by ``io.jsonout.indented``
(the standard library's indenting encoder is pure Python). The bytes are exactly the plain
way's (tests/io/test_trace_output_rows.py for engine traces, tests/io/test_trace_jsonl_rows.py
for hand-made rows with unusual values).
orjson was weighed and not taken: it writes neither the ``", "`` / ``": "`` separators nor
indent 1 nor ``\\uXXXX`` escapes, so the output would change.

``write_junit(path, suites)``: JUnit XML (Jenkins' junit-10.xsd): one ``<testsuite>`` per
file, one ``<testcase>`` per expect, an error testcase for a file that could not be run.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, compress, repeat
from operator import is_, is_not, sub
from typing import Any, TextIO

from wfptui.core.trace import (
    AuditRecord,
    ClassifyRecord,
    ExpectRecord,
    NetEventRecord,
    ObservedRecord,
    PolicyRecord,
    StackRecord,
    Trace,
    TraceRecord,
    classify_row,
    stack_row,
)
from wfptui.io.jsonout import document, header_line, indented, needs_ascii, wide_to_str

FORMATS = ("text", "jsonl", "json")
TRACE_FORMAT = "wfptui-trace"

_SYMBOL = {"permit": "✓ permit", "block": "✗ block", "none": "· none"}


#: json.dumps(d, ensure_ascii=..., separators=(", ", ": ")), the encoder made once (json.dumps
#: builds one per call when given arguments).
_ENCODE = {ascii_only: json.JSONEncoder(ensure_ascii=ascii_only, separators=(", ", ": ")).encode
           for ascii_only in (False, True)}


def _dumps(d: object, ascii_only: bool = False) -> str:
    return _ENCODE[ascii_only](d)


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
                ok: bool | None = None, more: Iterable[TraceRecord] = ()) -> None:
    """Write ``records`` and then ``more`` (the expect records, say) to ``out`` as ``text``,
    ``jsonl`` or ``json``. For ``json``, ``ok`` defaults to "every expect record passed".

    ``records`` may be a ``core.trace.Trace``: its rows are then encoded once per distinct
    row, not once per record (see :class:`_RowCache`); the bytes are the same."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown trace format {fmt!r} (expected {', '.join(FORMATS)})")
    if fmt == "json":
        _write_json(records, more, out, scenario, ok)
        return
    ascii_only = needs_ascii(out)
    write = out.write
    if fmt == "jsonl":
        write(_dumps(header_line(TRACE_FORMAT), ascii_only))
        write("\n")
        cache = _RowCache("jsonl", ascii_only)
    else:
        cache = _RowCache("text", ascii_only)
    # lines are joined in chunks (each line ends in "\n"): one write per record costs more
    # than encoding it
    for chunk in cache.pieces(records, more, "\n"):
        write("".join(chunk))


def _number(v: object) -> str:
    """A number as ``json.dumps`` writes it (``float.__repr__`` for a finite float)."""
    if type(v) is float and math.isfinite(v):
        return repr(v)
    if type(v) is int:
        return int.__repr__(v)
    return json.dumps(v)


_NOT_SEEN = ("", "", "")
#: ``_RowCache._cut_row`` of a record written in full (its first part None).
_WHOLE: tuple[str | None, str, str] = (None, "", "")
#: What ``_RowCache.decisions`` holds for a decision whose words did not check out.
_NEVER = "never"
_FIELDS_KEY = '"fields": '


@dataclass(frozen=True)
class _Shape:
    """How a record's text lays out its entries in jsonl (one line) and json (indent 1, an
    item of the document's ``records``), so the classification parts (``_RowCache``) are
    composed the same way for both: ``open``/``close`` around the record's entries, ``sep``
    between them, and the fields object's own ``entries_open``/``entry_sep``/``entries_close``."""

    open: str
    close: str
    sep: str
    entries_open: str
    entry_sep: str
    entries_close: str

    @property
    def fields_at(self) -> str:
        """What comes before the fields value in the text of ``{"fields": ...}``."""
        return self.open + _FIELDS_KEY


_SHAPES = {"jsonl": _Shape("{", "}", ", ", "{", ", ", "}"),
           "json": _Shape("{\n   ", "\n  }", ",\n   ", "{\n    ", ",\n    ", "\n   }")}

#: Value types whose text is a function of (type, value): not a float (-0.0 == 0.0).
_CACHED = frozenset({str, int, bool, type(None)})
#: A usual fields dict: str keys, values of types no two of which hold equal values.
_ALL_STR = frozenset({str}).issuperset
_PLAIN_VALUES = frozenset({str, int, type(None)}).issuperset
_CHUNK = 2048  # lines per write


def _decision_key(out: Any) -> tuple[Any, ...]:
    """What an outcome's line says from action to veto, as a key: with the values' types
    (True == 1 == 1.0, and each is written apart), and the terminating filters' repr (which
    shows the types of their values too)."""
    key = (out.action, out.filter, out.filter_id, out.sublayer, out.veto)
    terminating = out.terminating
    return (*key, *map(type, key), terminating if terminating == () else repr(terminating))


class _RowCache:
    """Encodes the records of a trace, once per distinct row of a ``core.trace.Trace``.

    A row (a shared tuple: every steady packet of a flow appends the same rows) builds its
    record as ``row[0](row, seq, t)``: the record, and so its line, is the same for every
    use of the row but for ``seq`` and ``t``. Each row's line is cut once into the parts
    around those two (``"seq"`` and ``"t"`` being the 2nd and 3rd keys of every record's
    ``to_dict()``; the text line starts with the time), kept by the row's identity (the
    rows live as long as the trace), and glued around each record's own. A row whose line
    does not have that shape is encoded in full each time. Records that are objects (not
    rows), and ``more``, are encoded in full. No line is made as a string of its own: the
    pieces (the row's parts, the seq, the time) are joined a chunk of lines at a time.

    A classification's line after its time (jsonl; in json its indented item) is its
    where's words (host .. direction: a trace has a few), its flow and reauth, and its
    outcome's tail: the words of its decision (action .. veto: a few) and its fields (one
    per outcome). So only the fields are encoded per outcome; the first outcome of each
    decision is cut from its full line and the decision's words are checked against it (a
    decision whose words do not give that line is never composed)."""

    def __init__(self, fmt: str, ascii_only: bool) -> None:
        self.fmt = fmt
        self.ascii_only = ascii_only
        #: jsonl and json: how a record's entries are laid out (``_SHAPES``)
        self.shape = _SHAPES["json" if fmt == "json" else "jsonl"]
        #: jsonl, json: a classification row's line after its ``"reauth"`` -- action, filter, ...,
        #: fields: the bulk of it -- is a function of the row's ``Outcome`` alone (one per
        #: endpoint view, shared by that view's rows: SYN, ACK, DATA ...), so it is encoded
        #: once per outcome and the rows of one view differ only in their few own words.
        self.tails: dict[int, str] = {}
        self.classify_before = ""
        #: jsonl, json: the words of a where (host .. direction) and of a decision (action .. the
        #: "fields" key), by their values: a trace has a few of each, its outcomes many.
        self.wheres: dict[tuple[Any, ...], str] = {}
        self.decisions: dict[tuple[Any, ...], str] = {}
        #: jsonl, json: a row's flow and reauth words by their values and types (``_head``), and a
        #: usual fields entry's text by the entry (``_fields_text``).
        self.owns: dict[tuple[Any, ...], str] = {}
        self.entries: dict[tuple[str, Any], str] = {}

    def full(self, rec: TraceRecord) -> str:
        """A record's whole line (jsonl, text) or item of the json document's ``records``."""
        return text_line(rec) if self.fmt == "text" else self._encode(wide_to_str(rec.to_dict()))

    def cut(self, rec: TraceRecord) -> tuple[str, str, str] | None:
        """(before seq, after t) of a row's line (None: not cut, encode in full)."""
        seq, t = getattr(rec, "seq", None), getattr(rec, "t", None)
        if type(seq) is not int or type(t) is not float:
            return None
        if self.fmt == "text":
            line = text_line(rec)
            head = f"{t:10.6f}"
            return ("", line[len(head):], "") if line.startswith(head) else None
        d = wide_to_str(rec.to_dict())
        if list(d)[:3] != ["kind", "seq", "t"] or d["seq"] != seq:
            return None
        line = self._encode(d)
        shape = self.shape
        before = f'{shape.open}"kind": {json.dumps(d["kind"], ensure_ascii=self.ascii_only)}{shape.sep}"seq": '
        middle = f"{self.before_t}{_number(round(t, 6))}"
        if not line.startswith(before + str(seq) + middle):
            return None
        return before, line[len(before) + len(str(seq)) + len(middle):], ""

    def _head(self, row: tuple[Any, ...]) -> str:
        """A classification row's own words, as its jsonl line (or json item) has them after
        ``"t"``: the words of its where (host ... direction; few: kept) and of its flow and
        reauth."""
        _, out, host, packet, op, direction, flow, reauth = row
        wkey = (host, out.layer, out.layer_id, packet, op, direction)
        wkey = (*wkey, *map(type, wkey))  # (True == 1 == 1.0: each is written apart)
        where = self.wheres.get(wkey)
        if where is None:
            d = {"host": host, "layer": "FWPM_LAYER_" + out.layer, "layer_id": out.layer_id, "packet": packet,
                 "op": op, "direction": direction}
            where = self.wheres[wkey] = self.shape.sep + self._inner(d)
        key = (type(flow), flow, type(reauth), reauth)  # (types: 1, 1.0 and True are equal)
        own = self.owns.get(key)
        if own is None:
            own = self.shape.sep + self._inner({"flow": flow, "reauth": reauth})
            if type(flow) in _CACHED and type(reauth) in _CACHED:  # (a float: -0.0 == 0.0)
                self.owns[key] = own
        return f"{where}{own}"

    def _encode(self, d: Any) -> str:
        """``d`` as this format writes a record: one line (jsonl) or an item of the json
        document's ``records`` (indent 1, two levels deep: every line after the first
        indented by two more spaces)."""
        return _dumps(d, self.ascii_only) if self.fmt == "jsonl" else indented(d, self.ascii_only, 2)

    def _inner(self, d: dict[str, Any]) -> str:
        """A record's entries ``d``, as the record's text has them: :meth:`_encode` without
        the braces."""
        shape = self.shape
        return self._encode(d)[len(shape.open):-len(shape.close)]

    def _fields_text(self, fields: Any) -> str:
        """``fields`` as ``json.dumps(wide_to_str(...))`` writes a classification's. The
        usual dict (str keys; str, int or None values, no two of which types are equal) is
        an object of its entries' texts (``"KEY": value``, 64-bit values as strings), each
        made once per (key, value): a trace has a few thousand, its outcomes many. Any other
        is encoded whole."""
        shape = self.shape
        if type(fields) is not dict or not (_ALL_STR(map(type, fields)) and _PLAIN_VALUES(map(type, fields.values()))):
            return self._encode(wide_to_str({"fields": fields}))[len(shape.fields_at):-len(shape.close)]
        if not fields:
            return "{}"
        found: list[Any] = list(map(self.entries.get, fields.items()))  # (an entry is its own key)
        if None in found:
            items = list(fields.items())
            for i in compress(range(len(found)), map(is_, found, repeat(None))):
                found[i] = self.entries[items[i]] = self._entry_text(*items[i])
        return shape.entries_open + shape.entry_sep.join(found) + shape.entries_close

    def _entry_text(self, k: Any, v: Any) -> str:
        """``"KEY": value`` as a classification's fields hold it, encoded the plain way."""
        shape = self.shape
        text = self._encode(wide_to_str({"fields": {k: v}}))
        return text[len(shape.fields_at) + len(shape.entries_open):-len(shape.entries_close) - len(shape.close)]

    def _tail(self, out: Any) -> str | None:
        """An outcome's tail from the words of its decision (few: kept, once a full cut has
        confirmed them) and of its fields; None while its decision's are unknown."""
        decision = self.decisions.get(_decision_key(out))
        if decision is None or decision is _NEVER:
            return None
        return f"{decision}{self._fields_text(out.fields)}{self.shape.close}"

    def _decision_words(self, rec: ClassifyRecord) -> str:
        """``, "action": ... "veto": V, "fields": `` of a classification's line: its
        ``to_dict()``'s keys from action up to fields, encoded as the whole line is."""
        d = rec.to_dict()
        keys = list(d)
        part = {k: d[k] for k in keys[keys.index("action"):keys.index("fields")]}
        sep = self.shape.sep
        return f"{sep}{self._inner(wide_to_str(part))}{sep}{_FIELDS_KEY}"

    def cut_classify(self, row: tuple[Any, ...], seq: int, t: float) -> tuple[str, str, str] | None:
        """``cut`` of a classification row (jsonl, json): its own words, then its outcome's tail
        (``tails``, one string shared by the view's rows). The first row of each decision
        is cut in full and checked against the words it is made of; later outcomes of that
        decision are composed of them."""
        out = row[1]
        tail = self.tails.get(id(out))
        if tail is None and self.classify_before:
            tail = self._tail(out)
            if tail is not None:
                self.tails[id(out)] = tail
        if tail is not None:
            return self.classify_before, self._head(row), tail
        rec = classify_row(row, seq, t)
        cut = self.cut(rec)
        if cut is not None:
            head = self._head(row)
            if cut[1].startswith(head):
                tail = cut[1][len(head):]
                dkey = _decision_key(out)
                words = self._decision_words(rec)
                self.classify_before = cut[0]
                self.tails[id(out)] = tail
                if dkey not in self.decisions:
                    self.decisions[dkey] = words
                    if self._tail(out) != tail:  # not made of those words after all: never compose
                        self.decisions[dkey] = _NEVER
                return cut[0], head, tail
        return cut

    def pieces(self, records: Iterable[TraceRecord], more: Iterable[TraceRecord], end: str) -> Iterator[list[str]]:
        """The lines (items) of ``records`` then ``more``, each followed by ``end``, as lists
        of pieces (up to ``_CHUNK`` lines each) to be joined: a record's line is never made
        as a string of its own, its row's parts are written around its seq and time."""
        full = self.full
        out: list[str] = []
        add = out.append
        size = _CHUNK * 6
        if isinstance(records, Trace):
            yield from self._trace_pieces(records, end)
        else:
            for rec in records:
                add(full(rec))
                add(end)
                if len(out) >= size:
                    yield out
                    out = []
                    add = out.append
        for rec in more:
            add(full(rec))
            add(end)
        if out:
            yield out

    def _trace_pieces(self, trace: Trace, end: str) -> Iterator[list[str]]:
        """:meth:`pieces` of a ``core.trace.Trace``, ``_CHUNK`` records at a time, with no
        Python step per record: each distinct row is cut once (``parts``, by the row's
        identity: the rows live as long as the trace), then a chunk's pieces -- for each
        record its row's parts around its seq and time (jsonl, json: before, seq, time, the
        row's two rest parts, ``end``; text: time, the two rest parts, ``end``) -- are laid
        side by side with slice assignments. A record that is an object, or whose row could
        not be cut, is written in full where it comes."""
        items, times = trace.items, trace.times
        # id(row) -> (before seq, after t, the rest), or _WHOLE: the rest is one string per
        # outcome, shared by its rows (each line's end is a piece of its own: a copy of every
        # rest with the end would be ~35 MB at 1M classifications)
        parts: dict[int, tuple[str | None, str, str]] = {}
        text = self.fmt == "text"
        width = 4 if text else 6
        full = self.full
        for a in range(0, len(items), _CHUNK):
            chunk = items[a:a + _CHUNK]
            n = len(chunk)
            ids = list(map(id, chunk))
            found = list(map(parts.get, ids, repeat(_NOT_SEEN)))
            for k in compress(range(n), map(is_, found, repeat(_NOT_SEEN))):  # rows not cut yet
                got = parts.get(ids[k])
                if got is None:
                    got = parts[ids[k]] = self._cut_row(chunk[k], a + k + 1, times[a + k])
                found[k] = got
            flat: list[Any] = list(chain.from_iterable(found))  # (a None: written in full, below)
            pieces: list[Any] = [end] * (width * n)
            if text:
                pieces[0::4] = self._time_texts(times[a:a + n])
                pieces[1::4] = flat[1::3]
                pieces[2::4] = flat[2::3]
            else:
                pieces[0::6] = flat[0::3]
                pieces[1::6] = map(str, range(a + 1, a + n + 1))
                pieces[2::6] = self._time_texts(times[a:a + n])
                pieces[3::6] = flat[1::3]
                pieces[4::6] = flat[2::3]
            for k in compress(range(n), map(is_, flat[0::3], repeat(None))):  # written in full
                item = chunk[k]
                line = full(item[0](item, a + k + 1, times[a + k]) if type(item) is tuple else item)
                # (the end last: the json writer drops the last line's end, the comma)
                pieces[width * k:width * (k + 1)] = [*[""] * (width - 2), line, end]
            yield pieces

    def _cut_row(self, item: Any, seq: int, t: float) -> tuple[str | None, str, str]:
        """A row's parts (:meth:`cut_classify`, :meth:`cut`), or ``_WHOLE`` (an object, or a
        row whose line is not cut: written in full)."""
        if type(item) is not tuple:
            return _WHOLE
        if item[0] is classify_row and self.fmt != "text":
            cut = self.cut_classify(item, seq, t)
        else:
            cut = self.cut(item[0](item, seq, t))
        return _WHOLE if cut is None else cut

    def _time_texts(self, times: list[float]) -> list[str]:
        """Each record's time as its line has it (text: ``f"{t:10.6f}"``; jsonl, json: the
        separator and ``_number(round(t, 6))``). The records of one packet share its time,
        the same float object: each run of one object is written once."""
        n = len(times)
        if not n:
            return []
        starts = [0, *compress(range(1, n), map(is_not, times[1:], times[:-1]))]
        runs = map(times.__getitem__, starts)
        if self.fmt == "text":
            texts: Iterable[str] = map(format, runs, repeat("10.6f"))
        else:
            sep = self.before_t
            texts = [sep + _number(round(t, 6)) for t in runs]
        return list(chain.from_iterable(map(repeat, texts, map(sub, [*starts[1:], n], starts))))

    @property
    def before_t(self) -> str:
        """What comes between the seq and the time (jsonl, json)."""
        return f'{self.shape.sep}"t": '


def _write_json(records: Iterable[TraceRecord], more: Iterable[TraceRecord], out: TextIO, scenario: str,
                ok: bool | None) -> None:
    """The json document, as ``dump_document`` writes it (indent 1), the records streamed."""
    ascii_only = needs_ascii(out)
    if not isinstance(records, (Trace, Sequence)):
        records = list(records)  # read twice: for "ok" and to write them
    if not isinstance(more, Sequence):
        more = list(more)
    if ok is None:
        ok = all(r.ok for r in _objects(records, more) if isinstance(r, ExpectRecord))
    head = document(TRACE_FORMAT, {"scenario": scenario})
    out.write(indented(head, ascii_only, 0)[:-2])  # the keys before "records", without "\n}"
    out.write(',\n "records": [')
    cache = _RowCache("json", ascii_only)
    comma = ",\n  "
    held: list[str] | None = None  # a chunk is written when the next comes: the last loses its comma
    for chunk in cache.pieces(records, more, comma):
        out.write("\n  " if held is None else "".join(held))
        held = chunk
    if held is not None:  # every line's last piece is the comma
        held.pop()
        out.write("".join(held))
    out.write("]" if held is None else "\n ]")
    out.write(f',\n "ok": {json.dumps(ok)}\n}}\n')


def _objects(records: Iterable[TraceRecord], more: Iterable[TraceRecord]) -> Iterator[Any]:
    """The records of ``records`` and ``more`` that may be expect records: a Trace's rows
    of classifications and stack events are not built."""
    if isinstance(records, Trace):
        for i, item in enumerate(records.items):
            if type(item) is not tuple:
                yield item
            elif item[0] is not classify_row and item[0] is not stack_row:
                yield records[i]
    else:
        yield from records
    yield from more


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
    from xml.sax.saxutils import quoteattr  # here: it imports urllib and email (~50 ms at start-up)

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
    from xml.sax.saxutils import escape

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
