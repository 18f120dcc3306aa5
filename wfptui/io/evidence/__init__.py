"""Readers of real WFP evidence (spec §9, issue 11): captures and audit events → observations.

Three shapes, told apart by content (:func:`sniff_evidence`):

* ``wfpdiag`` — ``netsh wfp capture`` ``wfpdiag.xml``: ``<wfpdiag>`` holding ``<netEvent>``
  elements (anywhere under the root) and the filters in effect (``<filters>``,
  ``<providers>``, or a ``<wfpstate>``), which become :attr:`Evidence.policy` through
  ``io.netsh_xml.import_tree``;
* ``netevents`` — ``netsh wfp show netevents`` ``netevents.xml``: ``<item>`` children of
  ``<netEvents>`` (bare ``<netEvent>`` elements are accepted too);
* ``audit`` — Security audit events 5152–5159: ``wevtutil qe Security /f:xml`` output
  (``<Event>`` elements one after another with no root: the reader wraps them in a virtual
  root) or Event Viewer's "Save as XML" ``<Events>`` file. ``.evtx`` is not read.

Streaming: expat with handlers that build a small tree for one event at a time, convert it
(``netevent.read_netevent`` / ``audit.read_audit``) and drop it, so memory is the
observations plus one event; files up to :data:`MAX_CAPTURE_BYTES` are read in
:data:`CHUNK` pieces. The same refusals as ``wfptui import`` (``netsh_xml.harden_parser``:
no DOCTYPE, entities or external entities). A file that ends inside an element is a
*truncated* capture: the events read so far are kept, ``truncated`` is set and ``notes``
say so. An unreadable field raises :class:`~wfptui.io.errors.InputError` naming
``file:line:col`` and the field. UTF-16 files (with a BOM) are transcoded on the fly.
"""

from __future__ import annotations

import codecs
import os
import xml.parsers.expat
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from wfptui.core.evidence import Observation
from wfptui.io.errors import Diagnostic, InputError
from wfptui.io.evidence.audit import read_audit
from wfptui.io.evidence.fields import FieldError
from wfptui.io.evidence.netevent import read_netevent
from wfptui.io.netsh_xml import MAX_DEPTH, ImportResult, XmlNode, XmlRefused, harden_parser, import_tree
from wfptui.io.progress import Progress
from wfptui.io.stdio import open_regular

__all__ = [
    "CHUNK",
    "MAX_CAPTURE_BYTES",
    "Evidence",
    "parse_evidence",
    "read_evidence",
    "sniff_evidence",
]

#: Captures larger than this are refused before reading.
MAX_CAPTURE_BYTES = 2 * 1024 * 1024 * 1024
#: Bytes handed to expat per call.
CHUNK = 1 << 20
#: Bytes :func:`sniff_evidence` reads to find the root element.
SNIFF_BYTES = 1 << 16
_WRAP = "wfptui-evidence"


@dataclass
class Evidence:
    """What a reader found in one file (see the module docstring)."""

    path: str
    kind: str  # "wfpdiag" | "netevents" | "audit"
    observations: list[Observation]
    policy: ImportResult | None
    notes: list[str]
    truncated: bool
    type_counts: dict[str, int] = field(default_factory=dict)


# ----------------------------------------------------------------------------- sniffing


def _bom_encoding(head: bytes) -> str | None:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def _decode_head(head: bytes) -> str:
    enc = _bom_encoding(head)
    if enc:
        return head.decode("utf-16", errors="ignore")
    return head.decode("utf-8", errors="ignore")


def _first_element(text: str) -> str | None:
    """Name of the first element in ``text``, skipping the XML declaration, PIs, comments."""
    i = 0
    n = len(text)
    while i < n:
        j = text.find("<", i)
        if j < 0 or j + 1 >= n:
            return None
        c = text[j + 1]
        if c == "?":
            k = text.find("?>", j)
            if k < 0:
                return None
            i = k + 2
        elif text.startswith("<!--", j):
            k = text.find("-->", j)
            if k < 0:
                return None
            i = k + 3
        elif c == "!":
            return "!DOCTYPE"
        else:
            k = j + 1
            while k < n and (text[k].isalnum() or text[k] in "_-.:"):
                k += 1
            return text[j + 1 : k] or None
    return None


def _has_net_events(path: str | None, data: bytes | None, utf16: bool) -> bool:
    """Whether a ``<wfpdiag>`` file holds net events (a plain byte search, chunk by chunk)."""
    needles = [b"<netEvent"]
    if utf16:
        needles = ["<netEvent".encode("utf-16-le"), "<netEvent".encode("utf-16-be")]
    if data is not None:
        return any(nd in data for nd in needles)
    assert path is not None
    keep = 32
    tail = b""
    with open_regular(path, "capture") as fh:
        while True:
            chunk = fh.read(CHUNK)
            if not chunk:
                return False
            buf = tail + chunk
            if any(nd in buf for nd in needles):
                return True
            tail = buf[-keep:]


def _classify(root: str | None, path: str | None, data: bytes | None, head: bytes) -> str | None:
    if root in ("Event", "Events"):
        return "audit"
    if root == "netEvents":
        return "netevents"
    if root == "wfpdiag":
        return "wfpdiag" if _has_net_events(path, data, _bom_encoding(head) is not None) else None
    return None


def _looks_like(root: str | None, head: bytes) -> str:
    if root == "wfpdiag":
        return "a `netsh wfp show filters` dump (policy, no net events)"
    if root == "wfpstate":
        return "a `netsh wfp show state` dump (policy, no net events)"
    if root == "!DOCTYPE":
        return "an XML file with a DOCTYPE (refused)"
    if root is not None:
        return f"an XML file whose root element is <{root}>"
    if not head.strip():
        return "an empty file"
    return "not XML (no element found)"


def sniff_evidence(path: str | os.PathLike[str]) -> str | None:
    """``"wfpdiag"`` / ``"netevents"`` / ``"audit"``, or None when the file is not evidence
    (a filters/state dump, a TOML file, unreadable). Reads the start of the file only; for
    a ``<wfpdiag>`` root it also byte-searches the file for ``<netEvent`` (a filters dump and
    a capture share that root)."""
    name = os.fspath(path)
    try:
        with open_regular(name, "capture") as fh:  # a FIFO or /dev/zero must not block
            head = fh.read(SNIFF_BYTES)
        return _classify(_first_element(_decode_head(head)), name, None, head)
    except (OSError, InputError):
        return None


# ----------------------------------------------------------------------------- streaming


class _Reader:
    """Expat handlers: build a tree for one event (or the capture's policy part) at a time."""

    def __init__(self, parser: Any, filename: str, exact: bool = True) -> None:
        self.p = parser
        self.filename = filename
        #: False: the elements inside a net event get no line:col (expat is asked for the
        #: event's own position only: two lookups less per element, ~5% of a read). Those
        #: positions only ever appear in an error message, so any error in that mode raises
        #: _Inexact and the caller reads the file again with them (``read_evidence``).
        self.exact = exact
        self.path: list[str] = []
        self.build: list[XmlNode] = []
        self.building: str | None = None  # "netevent" | "audit" | "policy"
        self.observations: list[Observation] = []
        self.policy_parts: list[XmlNode] = []
        self.notes: list[str] = []
        self.type_counts: dict[str, int] = {}
        self.root: str | None = None
        self.max_build = MAX_DEPTH
        self.texts: list[str] = []  # character data of the open elements of the event
        self.marks: list[int] = []  # per open element: where its text starts in ``texts``
        parser.buffer_text = True
        self._outside()
        harden_parser(parser, self.where)

    # Two sets of handlers: outside an event only the path is tracked and character data is
    # not even delivered; inside one (or the capture's policy part) the small tree grows.
    def _outside(self) -> None:
        p = self.p
        p.StartElementHandler = self.start
        p.EndElementHandler = self.end
        p.CharacterDataHandler = None

    def _inside(self) -> None:
        """Handlers for one event's subtree. They are closures over the lists they grow (made
        per event, so the depth bound is a constant): a capture is millions of elements, and
        local names cost less than attributes on the hot path."""
        p = self.p
        build, marks, texts = self.build, self.marks, self.texts
        max_build = self.max_build
        node_of = XmlNode

        def start_in(tag: str, attrs: dict[str, str]) -> None:
            if len(build) >= max_build:
                raise XmlRefused(f"elements nested deeper than {MAX_DEPTH} levels: refused", *self.where())
            node = node_of(tag, p.CurrentLineNumber, p.CurrentColumnNumber + 1, attrs)
            build[-1].children.append(node)
            build.append(node)
            marks.append(len(texts))

        def start_in_fast(tag: str, attrs: dict[str, str]) -> None:  # start_in without line:col
            if len(build) >= max_build:
                raise XmlRefused(f"elements nested deeper than {MAX_DEPTH} levels: refused", *self.where())
            node = node_of(tag, 0, 0, attrs)
            build[-1].children.append(node)
            build.append(node)
            marks.append(len(texts))

        def end_in(tag: str) -> None:
            node = build.pop()
            mark = marks.pop()
            n = len(texts)
            if n > mark:
                # The pieces since this element started, less its children's (each child
                # removed its own when it ended): its own text, as XmlNode.text holds it.
                node.text = texts[mark] if n == mark + 1 else "".join(texts[mark:])
                del texts[mark:]
            if not build:
                self.finish(node)

        p.StartElementHandler = start_in if self.exact or self.building != "netevent" else start_in_fast
        p.EndElementHandler = end_in
        # Text goes straight into a list (a C method: no Python frame per piece).
        p.CharacterDataHandler = texts.append

    def where(self) -> tuple[int, int]:
        return int(self.p.CurrentLineNumber), int(self.p.CurrentColumnNumber) + 1

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        path = self.path
        if len(path) >= MAX_DEPTH:
            raise XmlRefused(f"elements nested deeper than {MAX_DEPTH} levels: refused", *self.where())
        what = None
        if tag == "netEvent" or (tag == "item" and path and path[-1] == "netEvents"):
            what = "netevent"
        elif tag == "Event":
            what = "audit"
        elif self.root == "wfpdiag" and ((len(path) == 1 and tag in ("filters", "providers")) or tag == "wfpstate"):
            what = "policy"
        if what is not None:
            self.building = what
            self.max_build = MAX_DEPTH - len(path)
            p = self.p
            self.build.append(XmlNode(tag, p.CurrentLineNumber, p.CurrentColumnNumber + 1, attrs))
            self.texts.clear()
            self.marks.append(0)
            self._inside()
            return
        if not path and self.root is None:
            self.root = tag
        elif len(path) == 1 and path[0] == _WRAP and self.root == _WRAP:
            self.root = tag  # the first real element inside the virtual root
        path.append(tag)

    def end(self, tag: str) -> None:
        self.path.pop()

    def finish(self, node: XmlNode) -> None:
        """An event's (or the policy part's) element has ended: convert it."""
        self._outside()
        what, self.building = self.building, None
        if what == "policy":
            self.policy_parts.append(node)
            return
        index = len(self.observations) + 1
        if not self.exact and what == "netevent":
            try:
                obs = read_netevent(node, index, self.notes)
            except (FieldError, ValueError, KeyError, IndexError, OverflowError, UnicodeError):
                raise _Inexact from None  # read again with every position, for the message
            self.add(obs)
            return
        try:
            obs = read_netevent(node, index, self.notes) if what == "netevent" else read_audit(node, index)
        except FieldError as e:
            raise InputError(Diagnostic(self.filename, e.node.line, e.node.col, f"cannot read {e.field}: {e.message}")) from None
        except (ValueError, KeyError, IndexError, OverflowError, UnicodeError) as e:
            raise InputError(Diagnostic(self.filename, node.line, node.col, f"cannot read this event: {e}")) from None
        self.add(obs)

    def add(self, obs: Observation) -> None:
        self.observations.append(obs)
        counts = self.type_counts
        counts[obs.type] = counts.get(obs.type, 0) + 1


class _Inexact(Exception):
    """An event could not be read while positions were not kept: read again with them."""


def _transcode(chunks: Iterator[bytes], utf16: bool) -> Iterator[bytes]:
    if not utf16:
        yield from chunks
        return
    dec = codecs.getincrementaldecoder("utf-16")(errors="strict")
    for c in chunks:
        yield dec.decode(c).encode("utf-8")
    yield dec.decode(b"", final=True).encode("utf-8")


def _split_decl(first: bytes) -> tuple[bytes, bytes]:
    """(XML declaration incl. BOM, rest) of the first UTF-8 chunk."""
    i = 3 if first.startswith(codecs.BOM_UTF8) else 0
    j = i
    while j < len(first) and first[j : j + 1] in b" \t\r\n":
        j += 1
    if first.startswith(b"<?xml", j):
        k = first.find(b"?>", j)
        if k >= 0:
            return first[: k + 2], first[k + 2 :]
    return first[:i], first[i:]


def _run(chunks: Iterator[bytes], filename: str, kind_hint: str, utf16: bool,
         progress: Progress | None, exact: bool = True) -> tuple[_Reader, bool, str | None]:
    """Parse; returns (reader, truncated, where the truncation was noticed). With ``exact``
    False it may raise _Inexact (see _Reader.exact)."""
    p = xml.parsers.expat.ParserCreate(encoding="utf-8") if utf16 else xml.parsers.expat.ParserCreate()
    r = _Reader(p, filename, exact)
    wrap = kind_hint == "audit"
    stream = _transcode(chunks, utf16)
    first = True
    try:
        for c in stream:
            if first and wrap:
                decl, rest = _split_decl(c)
                c = decl + f"<{_WRAP}>".encode() + rest
                r.root = _WRAP
            first = False
            p.Parse(c, False)
            if progress is not None:
                progress.advance(len(c))
    except XmlRefused as e:
        raise InputError(Diagnostic(filename, e.line, e.col, e.message)) from None
    except xml.parsers.expat.ExpatError as e:
        msg = xml.parsers.expat.errors.messages.get(e.code, str(e)) if e.code else str(e)
        raise InputError(Diagnostic(filename, e.lineno or 0, (e.offset or 0) + 1, f"malformed XML: {msg}")) from None
    except (LookupError, UnicodeError) as e:
        raise InputError(Diagnostic(filename, int(p.CurrentLineNumber or 1), 0, f"cannot decode the file: {e}")) from None
    # The end of the file: any error here means it stopped inside an element.
    try:
        p.Parse(f"</{_WRAP}>".encode() if wrap and not first else b"", True)
    except XmlRefused as e:
        raise InputError(Diagnostic(filename, e.line, e.col, e.message)) from None
    except xml.parsers.expat.ExpatError as e:
        if r.root is None:
            raise InputError(Diagnostic(filename, e.lineno or 1, 1, "no XML element found")) from None
        return r, True, f"line {e.lineno}"
    return r, False, None


def _evidence(r: _Reader, filename: str, kind: str, truncated: bool, where: str | None) -> Evidence:
    notes = list(dict.fromkeys(r.notes))
    if truncated:
        notes.insert(0, f"the file ends inside an element ({where}): truncated; the {len(r.observations)} "
                        "events read before that are kept, the one being read is not")
    unsim: dict[str, int] = {}
    for o in r.observations:
        if not o.simulated:
            unsim[o.type] = unsim.get(o.type, 0) + 1
    for t, n in sorted(unsim.items()):
        notes.append(f"{n} {t} event(s) kept but not simulated (no layer classification)")
    policy: ImportResult | None = None
    if r.policy_parts:
        state = next((n for n in r.policy_parts if n.tag == "wfpstate"), None)
        if state is not None:
            policy = import_tree(state, [], filename)
        else:
            root = XmlNode("wfpdiag", r.policy_parts[0].line, r.policy_parts[0].col)
            root.children = [n for n in r.policy_parts if n.tag in ("filters", "providers")]
            if root.child("filters") is not None:
                policy = import_tree(root, [], filename)
        if policy is not None:
            notes.append(f"policy: {len(policy.filters)} of {policy.xml_filters} filters imported from the capture")
    r.policy_parts.clear()
    return Evidence(path=filename, kind=kind, observations=r.observations, policy=policy, notes=notes,
                    truncated=truncated, type_counts=dict(r.type_counts))


def _not_evidence(filename: str, root: str | None, head: bytes) -> InputError:
    return InputError(Diagnostic(filename, 0, 0, f"not WFP evidence (a netsh wfp capture wfpdiag.xml, "
                                 f"netevents.xml or audit events 5152-5159): this looks like {_looks_like(root, head)}"))


def _chunks_of(data: bytes) -> Iterator[bytes]:
    for i in range(0, len(data), CHUNK):
        yield data[i : i + CHUNK]


def parse_evidence(data: bytes, filename: str = "") -> Evidence:
    """Read evidence given as bytes (tests, stdin). Raises :class:`InputError`."""
    head = data[:SNIFF_BYTES]
    root = _first_element(_decode_head(head))
    kind = _classify(root, None, data, head)
    if kind is None:
        raise _not_evidence(filename, root, head)
    utf16 = _bom_encoding(head) is not None
    try:
        r, truncated, where = _run(_chunks_of(data), filename, kind, utf16, None, exact=False)
    except _Inexact:
        r, truncated, where = _run(_chunks_of(data), filename, kind, utf16, None)
    return _evidence(r, filename, kind, truncated, where)


def read_evidence(path: str | os.PathLike[str], progress: bool | None = None) -> Evidence:
    """Read an evidence file (``progress``: None = a bar when on a terminal)."""
    name = os.fspath(path)
    try:
        size = os.stat(name).st_size
        if size > MAX_CAPTURE_BYTES:
            raise InputError(Diagnostic(name, 0, 0, f"file is {size} bytes; captures over "
                                        f"{MAX_CAPTURE_BYTES} bytes are refused"))
        with open_regular(name, "capture") as fh:
            head = fh.read(SNIFF_BYTES)
            root = _first_element(_decode_head(head))
            kind = _classify(root, name, None, head)
            if kind is None:
                raise _not_evidence(name, root, head)
            fh.seek(0)

            def chunks() -> Iterator[bytes]:
                while True:
                    c = fh.read(CHUNK)
                    if not c:
                        return
                    yield c

            utf16 = _bom_encoding(head) is not None
            try:
                with Progress(size, label=f"read {os.path.basename(name)}", enabled=progress) as bar:
                    r, truncated, where = _run(chunks(), name, kind, utf16, bar, exact=False)
            except _Inexact:  # an event that cannot be read: again, keeping every position
                fh.seek(0)
                with Progress(size, label=f"read {os.path.basename(name)}", enabled=progress) as bar:
                    r, truncated, where = _run(chunks(), name, kind, utf16, bar)
    except OSError as e:
        raise InputError(Diagnostic(name, 0, 0, f"cannot read: {e.strerror or e}")) from None
    return _evidence(r, name, kind, truncated, where)
