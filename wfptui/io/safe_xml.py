"""The safe XML reader for every Windows XML input (netsh dumps here; captures in ``io.evidence``).

Parsed by expat with handlers that *refuse* any DOCTYPE, entity declaration or external
entity (no billion laughs, no XXE: :func:`harden_parser`); files over :data:`MAX_BYTES` are
refused before reading; nesting is bounded (:data:`MAX_DEPTH`) and so is the number of
elements per byte (:data:`BYTES_PER_ELEMENT`), so the tree stays within ~10x the file.
Malformed XML raises :class:`~wfptui.io.errors.InputError` naming ``file:line:col``.

API: :func:`read_xml` (bytes → ``(root, trailing_roots)`` of :class:`XmlNode`),
:func:`harden_parser`, :class:`XmlNode`, :class:`XmlRefused`.
"""

from __future__ import annotations

import sys
import xml.parsers.expat
from collections.abc import Callable
from typing import Any

from wfptui.io.errors import Diagnostic, InputError
from wfptui.io.progress import Progress

__all__ = ["BYTES_PER_ELEMENT", "ELEMENT_SLACK", "MAX_BYTES", "MAX_DEPTH", "XmlNode", "XmlRefused",
           "harden_parser", "read_xml"]

#: Files larger than this are refused before they are read.
MAX_BYTES = 256 * 1024 * 1024
#: At most one element per this many bytes of input (plus :data:`ELEMENT_SLACK`), so the
#: parsed tree stays within ~10x the file (measured: ~9.5x for `<a/>` runs; real dumps have
#: one element per ~43 bytes).
BYTES_PER_ELEMENT = 30
ELEMENT_SLACK = 4096
#: Deepest element nesting accepted (real dumps nest 9 deep).
MAX_DEPTH = 64
#: Bytes handed to expat per call (progress granularity).
_CHUNK = 1 << 18


# ----------------------------------------------------------------------------- XML reading


class XmlNode:
    """One element: tag, 1-based line and column of its ``<``, attributes, children and text."""

    __slots__ = ("attrs", "children", "col", "line", "tag", "text")

    def __init__(self, tag: str, line: int, col: int, attrs: dict[str, str] | None = None) -> None:
        self.tag = tag
        self.line = line
        self.col = col
        self.attrs: dict[str, str] = attrs if attrs is not None else {}
        self.children: list[XmlNode] = []
        self.text = ""

    def __repr__(self) -> str:
        return f"<XmlNode {self.tag} at {self.line}:{self.col}, {len(self.children)} children>"

    def child(self, tag: str) -> XmlNode | None:
        """The first child element called ``tag``, or None."""
        for c in self.children:
            if c.tag == tag:
                return c
        return None

    def child_text(self, tag: str) -> str | None:
        """The stripped text of the first child ``tag`` (None if there is no such child)."""
        c = self.child(tag)
        return None if c is None else c.text.strip()


class XmlRefused(Exception):
    """Raised inside an expat handler to stop parsing: hostile or oversized input."""

    def __init__(self, message: str, line: int, col: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.col = col


class _TreeBuilder:
    """Expat handlers that build :class:`XmlNode` trees and refuse DTDs and entities."""

    def __init__(self, parser: Any, line_offset: int = 0, max_elements: int | None = None) -> None:
        self.p = parser
        self.line_offset = line_offset
        # Bounds memory: a node costs ~240 bytes, so millions of `<a/>` (4 bytes each) would
        # take ~60x the file; real netsh dumps have one element per ~43 bytes (issue 12).
        self.budget = max_elements if max_elements is not None else 1 << 62
        self.stack: list[XmlNode] = []
        self.roots: list[XmlNode] = []
        parser.buffer_text = True
        parser.StartElementHandler = self.start
        parser.EndElementHandler = self.end
        parser.CharacterDataHandler = self.chars
        harden_parser(parser, self._where)

    def _where(self) -> tuple[int, int]:
        return self.p.CurrentLineNumber + self.line_offset, self.p.CurrentColumnNumber + 1

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        stack = self.stack
        if len(stack) >= MAX_DEPTH:
            raise XmlRefused(f"elements nested deeper than {MAX_DEPTH} levels: refused", *self._where())
        self.budget -= 1 + 4 * len(attrs)  # an attribute costs about as much as a few elements
        if self.budget < 0:
            raise XmlRefused(
                f"more than one element per {BYTES_PER_ELEMENT} bytes: refused (netsh output has "
                "far fewer; this bounds memory)", *self._where())
        p = self.p
        # Interned: the few tag names repeat in every element (saves ~50 bytes a node).
        node = XmlNode(sys.intern(tag), p.CurrentLineNumber + self.line_offset, p.CurrentColumnNumber + 1, attrs)
        if stack:
            stack[-1].children.append(node)
        else:
            self.roots.append(node)
        stack.append(node)

    def end(self, tag: str) -> None:
        self.stack.pop()

    def chars(self, data: str) -> None:
        stack = self.stack
        if stack:
            node = stack[-1]
            node.text = node.text + data if node.text else data


def harden_parser(parser: Any, where: Callable[[], tuple[int, int]]) -> None:
    """Make an expat parser refuse DOCTYPEs, entity and notation declarations and external
    entities: each raises :class:`XmlRefused` at ``where()`` (line, col). The one safety
    rule for every XML reader (netsh dumps here, evidence in ``io.evidence``)."""

    def doctype(*_args: object) -> None:
        raise XmlRefused(
            "DOCTYPE declarations are refused (netsh output has none; a DTD can expand entities)", *where()
        )

    def entity(*_args: object) -> None:
        raise XmlRefused("ENTITY declarations are refused (entity expansion)", *where())

    def notation(*_args: object) -> None:
        raise XmlRefused("NOTATION declarations are refused", *where())

    def external_entity(*_args: object) -> int:
        raise XmlRefused("external entities are refused", *where())

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.UnparsedEntityDeclHandler = entity
    parser.NotationDeclHandler = notation
    parser.ExternalEntityRefHandler = external_entity
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)


def _expat_error(e: xml.parsers.expat.ExpatError, filename: str, line_offset: int = 0) -> InputError:
    msg = xml.parsers.expat.errors.messages.get(e.code, str(e)) if e.code else str(e)
    return InputError(Diagnostic(filename, (e.lineno or 0) + line_offset, (e.offset or 0) + 1, f"malformed XML: {msg}"))


def _parse_chunks(
    builder: _TreeBuilder, data: bytes, start: int, filename: str, progress: Progress | None
) -> int | None:
    """Feed ``data[start:]`` to expat. Returns None when the document ended cleanly, or the
    byte index of junk after the root element (where a second root element starts)."""
    p = builder.p
    pos = start
    n = len(data)
    try:
        while pos < n:
            end = min(pos + _CHUNK, n)
            p.Parse(data[pos:end], False)
            if progress is not None:
                progress.advance(end - pos)
            pos = end
        p.Parse(b"", True)
    except XmlRefused as r:
        raise InputError(Diagnostic(filename, r.line, r.col, r.message)) from None
    except xml.parsers.expat.ExpatError as e:
        junk = xml.parsers.expat.errors.codes[xml.parsers.expat.errors.XML_ERROR_JUNK_AFTER_DOC_ELEMENT]
        if e.code == junk and builder.roots and not builder.stack:
            return start + int(p.ErrorByteIndex)
        raise _expat_error(e, filename, builder.line_offset) from None
    except (LookupError, UnicodeError) as e:  # an unknown or lying encoding declaration
        line = int(p.CurrentLineNumber or 1) + builder.line_offset
        raise InputError(Diagnostic(filename, line, int(p.CurrentColumnNumber or 0) + 1,
                                    f"cannot decode the file: {e}")) from None
    except RecursionError:  # pragma: no cover - expat does not recurse; defensive
        raise InputError(Diagnostic(filename, 0, 0, "XML nested too deeply")) from None
    return None


def read_xml(
    data: bytes, filename: str = "", progress: Progress | None = None
) -> tuple[XmlNode, list[XmlNode]]:
    """Parse netsh XML safely: ``(root, trailing_roots)``.

    Only a ``<firewallState>`` element after a ``<wfpstate>`` root is accepted as a
    trailing root (§5.7); any other junk after the root element is malformed XML.
    Raises :class:`InputError` (with line and column) for malformed or hostile input.
    """
    if len(data) > MAX_BYTES:
        raise InputError(
            Diagnostic(filename, 0, 0, f"file is {len(data)} bytes; files over {MAX_BYTES} bytes are refused")
        )
    p = xml.parsers.expat.ParserCreate()
    builder = _TreeBuilder(p, max_elements=len(data) // BYTES_PER_ELEMENT + ELEMENT_SLACK)
    junk_at = _parse_chunks(builder, data, 0, filename, progress)
    if not builder.roots:
        raise InputError(Diagnostic(filename, 1, 1, "no XML element found"))
    root = builder.roots[0]
    trailing: list[XmlNode] = []
    while junk_at is not None:
        line = data.count(b"\n", 0, junk_at) + 1
        rest_start = junk_at
        if root.tag != "wfpstate":
            col = junk_at - (data.rfind(b"\n", 0, junk_at) + 1) + 1
            raise InputError(
                Diagnostic(filename, line, col, f"malformed XML: junk after the <{root.tag}> root element")
            )
        p2 = xml.parsers.expat.ParserCreate(encoding="utf-8")
        b2 = _TreeBuilder(p2, line_offset=line - 1, max_elements=max(builder.budget, 0))
        junk_at = _parse_chunks(b2, data, rest_start, filename, progress)
        for extra in b2.roots:
            if extra.tag != "firewallState":
                raise InputError(
                    Diagnostic(
                        filename,
                        extra.line,
                        extra.col,
                        f"malformed XML: unexpected second root element <{extra.tag}> "
                        "(only <firewallState> may follow </wfpstate>)",
                    )
                )
            trailing.append(extra)
        if junk_at is not None and junk_at <= rest_start:  # pragma: no cover - no progress
            raise InputError(Diagnostic(filename, line, 1, "malformed XML after </wfpstate>"))
    return root, trailing
