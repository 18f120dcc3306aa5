"""Import ``netsh wfp show filters`` / ``netsh wfp show state`` XML (wfp-model.md §5.7).

Two shapes are recognised and told apart by their root element:

* ``<wfpdiag><filters><item>…`` — ``netsh wfp show filters`` (kind ``"filters"``);
* ``<wfpstate>…<layers><item>{layer, callouts, filters}…<subLayers>…</wfpstate>`` —
  ``netsh wfp show state`` (kind ``"state"``), which carries a second root element
  ``<firewallState>`` after ``</wfpstate>`` (§5.7): that element is accepted, parsed for
  well-formedness and ignored (dynamic keyword addresses are not filter policy).

Every filter keeps its filterKey (``guid``), filterId, name, description, provider, layer,
sublayer, weight, real ``effectiveWeight`` (§3.2), flags (§3.7), conditions (every value
type of §5.7: integers, IPv4 addresses printed dotted in ``uint32``, ``byteArray16``
IPv6, ``v4AddrMask`` / ``v6AddrMask``, ``rangeValue``, ``byteBlob`` with its
``asString``, ``sid``, ``sd`` as SDDL, ``byteArray6``, ``unicodeString``) and its action
with the callout it calls. A state dump adds its sublayers with their weights and the
callouts registered per layer.

API: :func:`import_netsh` (a file) / :func:`parse_netsh` (bytes) → :class:`ImportResult`
(the :class:`~wfptui.core.model.Policy`, with the built-ins, plus warnings, counts and
comment notes); :func:`policy_toml` → the policy file text (spec §3); :func:`read_xml` is
the safe reader on its own.

Decisions (here and in the generated file's comments):

* **Keys.** A filter's policy key is ``<slug of its name>-<filterId>`` (e.g.
  ``query-user-130205``): readable, unique in a dump, and the filterId is what net events
  and audits report. The filterKey GUID is kept in ``guid``; the real ``effectiveWeight``
  in ``effective_weight``; the filterId in ``id``.
* **Callouts (§3.4, §2.4).** Built-in callouts that ``core.builtins`` models (the
  transport silent-drop callouts, the edge-traversal ones …) keep their built-in
  behaviour. Every other callout becomes a ``[[callout]]`` keyed by its GUID with
  ``returns = "continue"``, ``assumed = true`` and a comment saying so: the simulator
  cannot know what a driver's classifyFn does, and ``continue`` makes its filters act as
  if they were absent, so the static filters decide. The user edits it to permit/block.
* **Unregistered callouts.** A ``show filters`` dump says nothing about registration, so
  every callout is assumed registered (and the comment says so). In a ``show state`` dump
  a callout is registered when some layer's ``<callouts>`` list has it *with*
  ``FWPM_CALLOUT_FLAG_REGISTERED``; a callout listed without that flag, or referenced by a
  filter but absent from every list, is written as ``returns = "unregistered"`` with a
  comment (§3.4: CALLOUT_TERMINATING/UNKNOWN filters then block, or permit with
  PERMIT_IF_CALLOUT_UNREGISTERED; inspection filters are ignored). A built-in callout that
  the dump shows unregistered is overridden the same way.
* **Sublayers.** Built-in sublayers are referred to by their short names; a state dump's
  other sublayers become ``[[sublayer]]`` entries keyed by their GUID with their real
  weight (a built-in whose dumped weight differs from the model is overridden). A ``show
  filters`` dump has no sublayer weights: unknown sublayers get weight 0 (evaluated last)
  and an "ASSUMED" comment.
* **Round trip.** Each condition is written with ``core.values.toml_value`` and read back
  with ``core.values.parse_value``; it must come back as the same value and FWP type, else
  the filter is not imported (warning). One fallback: an allow-only security descriptor
  whose SDDL is longer than the policy loader accepts (``core.values`` bounds string
  values; the Windows Service Hardening default blocks reach ~4,300 characters) is written
  as the list of SIDs it grants — the same access check (§4.2). ``FWPM_FILTER_FLAG_HAS_FILTER_ORIGIN`` (no public value, no effect on
  classification) is not written; the header and the filter's comment say so.

Safety: the XML is parsed by expat with handlers that *refuse* any DOCTYPE, entity
declaration or external entity (so no billion laughs, no XXE), files over
:data:`MAX_BYTES` are refused before reading, nesting is bounded (:data:`MAX_DEPTH`).
Malformed XML or malformed values raise :class:`InputError` naming ``file:line:col``.
Anything well-formed that the importer does not understand (an unknown element, value
type, flag or match type) is reported as a *warning* with its line — never silently
dropped.
"""

from __future__ import annotations

import ipaddress
import os
import re
import sys
import xml.parsers.expat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from wfptui.core.datatypes import DataType
from wfptui.core.model import (
    EMPTY,
    ActionType,
    AddrMask,
    Blob,
    Callout,
    Condition,
    Filter,
    FilterFlag,
    MatchType,
    Policy,
    Range,
    SourceLoc,
    Sublayer,
    Value,
    Weight,
)
from wfptui.io.errors import Diagnostic, InputError
from wfptui.io.policy_file import toml_literal, toml_str
from wfptui.io.progress import Progress

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "ImportResult",
    "XmlNode",
    "XmlRefused",
    "harden_parser",
    "import_netsh",
    "import_tree",
    "parse_netsh",
    "policy_toml",
    "read_xml",
    "slug",
]

#: Files larger than this are refused before they are read.
MAX_BYTES = 256 * 1024 * 1024
#: At most one element per this many bytes of input (plus :data:`_ELEMENT_SLACK`), so the
#: parsed tree stays within ~10x the file (measured: ~9.5x for `<a/>` runs; real dumps have
#: one element per ~43 bytes).
BYTES_PER_ELEMENT = 30
_ELEMENT_SLACK = 4096
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
    builder = _TreeBuilder(p, max_elements=len(data) // BYTES_PER_ELEMENT + _ELEMENT_SLACK)
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


# ----------------------------------------------------------------------------- result


@dataclass
class ImportResult:
    """What :func:`import_netsh` produced.

    ``policy`` is exactly what ``io.policy_file`` loads from :func:`policy_toml`'s text:
    the filters, the built-in sublayers and callouts (``builtin=True``) and the dump's own
    (``own_sublayers`` / ``own_callouts``: written to the file, built-in overrides
    included). ``kind`` is ``"filters"`` or ``"state"``. ``xml_filters`` counts the filter
    items in the XML; ``dropped`` lists ``(where, reason)`` for filters that could not be
    imported (each also has a warning). ``notes`` maps a filter / sublayer / callout key to
    comment lines; ``header`` is the file's header comment; ``raw_values`` the TOML form of
    each filter's conditions.
    """

    policy: Policy
    kind: str
    source: str
    xml_filters: int
    warnings: list[Diagnostic]
    dropped: list[tuple[str, str]]
    notes: dict[str, list[str]]
    header: list[str]
    registered_callouts: frozenset[str] | None = None  # state dumps: GUIDs/names registered
    raw_values: dict[str, list[object]] = field(default_factory=dict)  # filter key -> condition TOML values
    #: keys of the sublayers / callouts the dump itself defines or changes (written to the file)
    own_sublayers: tuple[str, ...] = ()
    own_callouts: tuple[str, ...] = ()

    @property
    def filters(self) -> tuple[Filter, ...]:
        return self.policy.filters


# ----------------------------------------------------------------------------- helpers

_SLUG_RE = re.compile(r"[^a-z0-9]+")
_GUID_RE = re.compile(r"^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$")
_HEX_RE = re.compile(r"^(?:[0-9a-fA-F]{2})*$")


def slug(text: str, limit: int = 48) -> str:
    """``"Port Scanning Prevention Filter"`` → ``"port-scanning-prevention-filter"``."""
    s = _SLUG_RE.sub("-", text.lower()).strip("-")
    if len(s) > limit:
        s = s[:limit].rstrip("-")
    return s


def norm_guid(text: str) -> str | None:
    """Lower-case GUID without braces, or None when ``text`` is not a GUID."""
    m = _GUID_RE.match(text.strip())
    return m.group(1).lower() if m else None


def _ident(text: str) -> str:
    """A key as printed: GUIDs normalised (lower case, no braces), names unchanged."""
    g = norm_guid(text)
    return g if g is not None else text.strip()


_INT_TYPES: dict[str, tuple[DataType, int, bool]] = {
    "uint8": (DataType.FWP_UINT8, 8, False),
    "uint16": (DataType.FWP_UINT16, 16, False),
    "uint32": (DataType.FWP_UINT32, 32, False),
    "uint64": (DataType.FWP_UINT64, 64, False),
    "int8": (DataType.FWP_INT8, 8, True),
    "int16": (DataType.FWP_INT16, 16, True),
    "int32": (DataType.FWP_INT32, 32, True),
    "int64": (DataType.FWP_INT64, 64, True),
}

#: FWP_DATA_TYPE name → the element netsh prints the value in.
_TYPE_ELEMENT: dict[str, str] = {
    "FWP_UINT8": "uint8",
    "FWP_UINT16": "uint16",
    "FWP_UINT32": "uint32",
    "FWP_UINT64": "uint64",
    "FWP_INT8": "int8",
    "FWP_INT16": "int16",
    "FWP_INT32": "int32",
    "FWP_INT64": "int64",
    "FWP_BYTE_ARRAY16_TYPE": "byteArray16",
    "FWP_BYTE_ARRAY6_TYPE": "byteArray6",
    "FWP_BYTE_BLOB_TYPE": "byteBlob",
    "FWP_SID": "sid",
    "FWP_SECURITY_DESCRIPTOR_TYPE": "sd",
    "FWP_UNICODE_STRING_TYPE": "unicodeString",
    "FWP_V4_ADDR_MASK": "v4AddrMask",
    "FWP_V6_ADDR_MASK": "v6AddrMask",
    "FWP_RANGE_TYPE": "rangeValue",
}

#: Fields whose byte blob is an application id: the value is the NT path string (§4.2).
_APP_ID_FIELDS = frozenset({"ALE_APP_ID", "ALE_ORIGINAL_APP_ID"})

#: Filter flags netsh prints that the model has no bit for and that do not change
#: classification (written as a comment, counted in the header).
_UNMODELLED_FILTER_FLAGS = frozenset({"HAS_FILTER_ORIGIN"})

#: Children of elements the importer reads; anything else is reported.
_FILTER_CHILDREN = frozenset(
    {
        "filterKey",
        "displayData",
        "flags",
        "providerKey",
        "providerData",
        "layerKey",
        "subLayerKey",
        "weight",
        "filterCondition",
        "action",
        "rawContext",
        "providerContextKey",
        "reserved",
        "filterId",
        "effectiveWeight",
    }
)
_CALLOUT_CHILDREN = frozenset(
    {
        "calloutKey",
        "displayData",
        "flags",
        "providerKey",
        "providerData",
        "applicableLayer",
        "calloutId",
        "providerContextKey",
    }
)
_SUBLAYER_CHILDREN = frozenset({"subLayerKey", "displayData", "flags", "providerKey", "providerData", "weight"})
_LAYER_ITEM_CHILDREN = frozenset({"layer", "callouts", "filters"})
_LAYER_CHILDREN = frozenset(
    {"layerKey", "displayData", "flags", "field", "defaultSubLayerKey", "layerId"}
)
_PROVIDER_CHILDREN = frozenset({"providerKey", "displayData", "flags", "providerData", "serviceName"})
#: ``<wfpstate>`` sections that are not filter policy: known, read no further.
_STATE_IGNORED = frozenset(
    {
        "timeStamp",
        "sessions",
        "providerContexts",
        "subscriptions",
        "ipsecSaContexts",
        "aleConnectedEndpoints",
        "ipsecStatistics",
    }
)
_STATE_READ = frozenset({"layers", "subLayers", "providers"})
#: ``<wfpdiag>`` sections of ``show filters`` (and of ``wfpdiag.xml``) not read.
_WFPDIAG_IGNORED = frozenset({"netEvents", "wfpstate", "timeStamp"})
_WFPDIAG_READ = frozenset({"filters", "providers"})


class _Bad(Exception):
    """A malformed value inside an otherwise well-formed element (→ error diagnostic)."""

    def __init__(self, node: XmlNode, message: str) -> None:
        super().__init__(message)
        self.node = node
        self.message = message


class _Unsupported(Exception):
    """A well-formed construct the importer does not understand (→ warning, filter dropped)."""

    def __init__(self, node: XmlNode, message: str) -> None:
        super().__init__(message)
        self.node = node
        self.message = message


def _parse_int(node: XmlNode, text: str, bits: int, signed: bool = False) -> int:
    t = text.strip()
    if len(t.lstrip("+-").lower().removeprefix("0x").lstrip("0")) > 24:
        # Longer than any 64-bit value in any base: refused before int() (quadratic, and
        # Python's 4300-digit limit would give a confusing message).
        raise _Bad(node, f"<{node.tag}>: a number of {len(t)} characters is out of range for a "
                         f"{bits}-bit integer")
    try:
        if t.lower().startswith(("0x", "-0x")):
            v = int(t, 16)
        else:
            if not t or not (t.isdigit() or (t[0] in "+-" and t[1:].isdigit())):
                raise ValueError(t)
            v = int(t, 10)
    except ValueError:
        raise _Bad(node, f"<{node.tag}>: {text.strip()!r} is not an integer") from None
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if not lo <= v <= hi:
        raise _Bad(node, f"<{node.tag}>: {v} is out of range for a {bits}-bit {'signed' if signed else 'unsigned'} integer")
    return v


def _parse_ipv4(node: XmlNode, text: str) -> int:
    parts = text.strip().split(".")
    if len(parts) == 4 and all(p.isdigit() and len(p) <= 3 and (p == "0" or p[0] != "0") for p in parts):
        a, b, c, d = (int(p) for p in parts)
        if a < 256 and b < 256 and c < 256 and d < 256:
            return (a << 24) | (b << 16) | (c << 8) | d
    try:
        return int(ipaddress.IPv4Address(text.strip()))
    except ValueError:
        raise _Bad(node, f"<{node.tag}>: {text.strip()!r} is not an IPv4 address") from None


def _parse_ipv6(node: XmlNode, text: str) -> int:
    t = text.strip()
    try:
        return int(ipaddress.IPv6Address(t))
    except ValueError:
        compact = t.replace(" ", "").replace("-", "").replace(":", "")
        if len(compact) == 32 and _HEX_RE.match(compact):
            return int(compact, 16)
        raise _Bad(node, f"<{node.tag}>: {t!r} is not an IPv6 address") from None


def _parse_uint32_or_ipv4(node: XmlNode, text: str) -> int:
    """netsh prints IPv4 addresses dotted inside ``<uint32>`` (§5.7)."""
    t = text.strip()
    if "." in t:
        return _parse_ipv4(node, t)
    return _parse_int(node, t, 32)


def _mask_prefix(node: XmlNode, mask: int) -> int:
    prefix = bin(mask).count("1")
    if mask != ((0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF):
        raise _Bad(node, f"<{node.tag}>: mask {ipaddress.IPv4Address(mask)} is not a contiguous prefix")
    return prefix


# ----------------------------------------------------------------------------- importer


class _Importer:
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.warnings: list[Diagnostic] = []
        self.errors: list[Diagnostic] = []
        self.dropped: list[tuple[str, str]] = []
        self.notes: dict[str, list[str]] = {}
        self.sublayers: dict[str, Sublayer] = {}  # non-built-in, by key
        self.callouts: dict[str, Callout] = {}  # non-built-in, by key
        self.callout_names: dict[str, str] = {}  # guid/name -> display name (state)
        self.callout_layers: dict[str, set[str]] = {}
        self.registered: set[str] | None = None  # state: callout idents with REGISTERED
        self.listed: dict[str, None] | None = None  # state: callout idents listed at all (ordered)
        self.sublayer_info: dict[str, tuple[int, str, XmlNode]] = {}  # state: ident -> (weight, name, node)
        self.unmodelled_flags: dict[str, int] = {}
        self.builtin_callouts_used: dict[str, int] = {}
        self.keys: set[str] = set()
        self.cond_notes: list[str] = []  # notes of the filter being read
        self.writable_memo: dict[tuple[Any, ...], tuple[Value, object, str | None]] = {}
        self.raw_values: dict[str, list[object]] = {}  # filter key -> TOML value of each condition
        self.cond_raw: list[object] = []  # ... of the filter being read
        self.sddl_memo: dict[str, Value] = {}

    # -- diagnostics

    def warn(self, node: XmlNode, message: str) -> None:
        self.warnings.append(Diagnostic(self.filename, node.line, node.col, message))

    def error(self, node: XmlNode, message: str) -> None:
        self.errors.append(Diagnostic(self.filename, node.line, node.col, message))

    def check_children(self, node: XmlNode, known: frozenset[str], where: str) -> None:
        for c in node.children:
            if c.tag not in known:
                self.warn(c, f"unknown element <{c.tag}> in {where} ignored")

    def check_count(self, node: XmlNode) -> None:
        """A list's ``numItems`` must match its ``<item>`` children (a cut or edited dump)."""
        declared = node.attrs.get("numItems")
        if declared is None:
            return
        actual = sum(1 for c in node.children if c.tag == "item")
        if not declared.isdigit() or int(declared) != actual:
            self.warn(node, f"<{node.tag} numItems=\"{declared}\"> holds {actual} items")

    def check_leaf(self, node: XmlNode, where: str) -> None:
        for c in node.children:
            self.warn(c, f"unknown element <{c.tag}> inside <{node.tag}> of {where} ignored")

    # -- top level

    def run(self, root: XmlNode, trailing: list[XmlNode]) -> tuple[str, list[tuple[XmlNode, str | None]]]:
        """Returns the kind and the filter items (with the layer of their state section)."""
        items: list[tuple[XmlNode, str | None]] = []
        if root.tag == "wfpdiag":
            kind = "filters"
            filters = root.child("filters")
            if filters is None:
                raise InputError(
                    Diagnostic(
                        self.filename,
                        root.line,
                        root.col,
                        "<wfpdiag> has no <filters>: not `netsh wfp show filters` output "
                        "(netevents / wfpdiag captures are not policy)",
                    )
                )
            for sec in root.children:
                if sec.tag == "providers":
                    self.read_providers(sec)
                elif sec.tag not in _WFPDIAG_READ and sec.tag not in _WFPDIAG_IGNORED:
                    self.warn(sec, f"unknown element <{sec.tag}> in <wfpdiag> ignored")
                elif sec.tag in _WFPDIAG_IGNORED:
                    self.warn(sec, f"<{sec.tag}> in <wfpdiag> is not filter policy: ignored")
            self.check_count(filters)
            for it in filters.children:
                if it.tag != "item":
                    self.warn(it, f"unknown element <{it.tag}> in <filters> ignored")
                    continue
                items.append((it, None))
        elif root.tag == "wfpstate":
            kind = "state"
            self.registered = set()
            self.listed = {}
            layers = root.child("layers")
            if layers is None:
                raise InputError(
                    Diagnostic(self.filename, root.line, root.col, "<wfpstate> has no <layers>: no filters to import")
                )
            for sec in root.children:
                if sec.tag in _STATE_IGNORED:
                    continue
                if sec.tag == "subLayers":
                    self.read_state_sublayers(sec)
                elif sec.tag == "providers":
                    self.read_providers(sec)
                elif sec.tag not in _STATE_READ:
                    self.warn(sec, f"unknown element <{sec.tag}> in <wfpstate> ignored")
            self.check_count(layers)
            for li in layers.children:
                if li.tag != "item":
                    self.warn(li, f"unknown element <{li.tag}> in <layers> ignored")
                    continue
                items.extend(self.read_state_layer(li))
            self.declare_state_objects()
            for t in trailing:
                for c in t.children:
                    if c.tag != "dynamicKeywordAddresses":
                        self.warn(c, f"unknown element <{c.tag}> in <firewallState> ignored")
                    elif c.children:
                        self.warn(c, "dynamic keyword addresses are not modelled: ignored")
        else:
            raise InputError(
                Diagnostic(
                    self.filename,
                    root.line,
                    root.col,
                    f"root element <{root.tag}> is neither <wfpdiag> (`netsh wfp show filters`) "
                    "nor <wfpstate> (`netsh wfp show state`)",
                )
            )
        return kind, items

    def read_providers(self, sec: XmlNode) -> None:
        for it in sec.children:
            if it.tag != "item":
                self.warn(it, f"unknown element <{it.tag}> in <providers> ignored")
                continue
            self.check_children(it, _PROVIDER_CHILDREN, "a provider")

    def read_state_sublayers(self, sec: XmlNode) -> None:
        self.check_count(sec)
        for it in sec.children:
            if it.tag != "item":
                self.warn(it, f"unknown element <{it.tag}> in <subLayers> ignored")
                continue
            self.check_children(it, _SUBLAYER_CHILDREN, "a sublayer")
            key = it.child_text("subLayerKey")
            wt = it.child("weight")
            if not key or wt is None:
                self.error(it, "sublayer item without <subLayerKey> or <weight>")
                continue
            try:
                weight = _parse_int(wt, wt.text, 16)
            except _Bad as b:
                self.error(b.node, b.message)
                continue
            dd = it.child("displayData")
            name = (dd.child_text("name") or "") if dd is not None else ""
            self.sublayer_info[_ident(key)] = (weight, name, it)

    def read_state_layer(self, li: XmlNode) -> list[tuple[XmlNode, str | None]]:
        self.check_children(li, _LAYER_ITEM_CHILDREN, "a layer item")
        layer = li.child("layer")
        layer_key = None
        if layer is not None:
            self.check_children(layer, _LAYER_CHILDREN, "a layer")
            layer_key = layer.child_text("layerKey")
        callouts = li.child("callouts")
        if callouts is not None:
            self.check_count(callouts)
            for c in callouts.children:
                if c.tag != "item":
                    self.warn(c, f"unknown element <{c.tag}> in <callouts> ignored")
                    continue
                self.check_children(c, _CALLOUT_CHILDREN, "a callout")
                ck = c.child_text("calloutKey")
                if not ck:
                    self.error(c, "callout item without <calloutKey>")
                    continue
                ident = _ident(ck)
                assert self.listed is not None and self.registered is not None
                self.listed[ident] = None
                flags = c.child("flags")
                flag_names = [f.text.strip() for f in flags.children] if flags is not None else []
                if "FWPM_CALLOUT_FLAG_REGISTERED" in flag_names:
                    self.registered.add(ident)
                dd = c.child("displayData")
                if dd is not None:
                    self.callout_names[ident] = dd.child_text("name") or ""
                if layer_key:
                    self.callout_layers.setdefault(ident, set()).add(layer_key)
        out: list[tuple[XmlNode, str | None]] = []
        filters = li.child("filters")
        if filters is not None:
            self.check_count(filters)
            for it in filters.children:
                if it.tag != "item":
                    self.warn(it, f"unknown element <{it.tag}> in <filters> ignored")
                    continue
                out.append((it, layer_key))
        return out

    # -- sublayers and callouts

    def declare_state_objects(self) -> None:
        """A state dump's own sublayers (with weights) and every callout its layers list.

        Built-ins are only written when the dump disagrees with the built-in model: another
        sublayer weight, or a callout that is not registered."""
        from wfptui.core.builtins import get_callout, get_sublayer

        for ident, (weight, name, node) in self.sublayer_info.items():
            b = get_sublayer(ident)
            if b is not None:
                if weight != b.weight:
                    self.sublayers[b.name] = Sublayer(
                        key=b.name, weight=weight, guid=b.guid, name=b.fwpm_name, builtin=True
                    )
                    self.notes[b.name] = [
                        f"the state dump gives built-in sublayer {b.name} weight {weight} (the built-in model says {b.weight})"
                    ]
                continue
            self.sublayers[ident] = Sublayer(
                key=ident, weight=weight, guid=norm_guid(ident), name=name,
                loc=SourceLoc(self.filename, node.line, node.col),
            )
            self.notes[ident] = [f"from the state dump: weight {weight}"]
        assert self.listed is not None and self.registered is not None
        for ident in self.listed:
            bc = get_callout(ident)
            if bc is not None:
                if ident not in self.registered:
                    self._unregistered_builtin(bc.name, ident)
                continue
            self._new_callout(ident)

    def _unregistered_builtin(self, name: str, ident: str) -> None:
        from wfptui.io.policy_file import builtin_objects

        if name in self.callouts:
            return
        base = builtin_objects()[1][name]
        self.callouts[name] = Callout(
            key=name, returns="unregistered", hard=base.hard, silent=base.silent, guid=base.guid,
            name=base.name, builtin=True,
        )
        self.notes[name] = [
            f"built-in callout {name} is UNREGISTERED in the state dump ({self._why_unregistered(ident)}):",
            "its terminating/unknown filters block (or permit with permit_if_callout_unregistered), "
            "its inspection filters are ignored (§3.4)",
        ]

    def _why_unregistered(self, ident: str) -> str:
        assert self.listed is not None
        if ident in self.listed:
            return "listed without FWPM_CALLOUT_FLAG_REGISTERED"
        return "absent from every layer's <callouts> list"

    def _new_callout(self, ident: str) -> str:
        if ident in self.callouts:
            return ident
        name = self.callout_names.get(ident, "")
        registered = self.registered is None or ident in self.registered
        if registered:
            self.callouts[ident] = Callout(key=ident, returns="continue", guid=norm_guid(ident), name=name, assumed=True)
            self.notes[ident] = [
                "ASSUMED behaviour: the simulator cannot know what this callout's classifyFn does;",
                "\"continue\" makes its filters act as if absent. Edit returns = permit | block | continue.",
            ]
            if self.registered is None:
                self.notes[ident].append("registration unknown (`show filters` dump): assumed registered")
            else:
                layers = sorted(self.callout_layers.get(ident, ()))
                if layers:
                    self.notes[ident].append("registered at " + ", ".join(layers))
        else:
            self.callouts[ident] = Callout(
                key=ident, returns="unregistered", guid=norm_guid(ident), name=name, assumed=False
            )
            self.notes[ident] = [
                f"UNREGISTERED in the state dump ({self._why_unregistered(ident)}): its terminating/unknown",
                "filters block (or permit with permit_if_callout_unregistered); its inspection filters are ignored (§3.4)",
            ]
        return ident

    def sublayer_key(self, node: XmlNode, text: str) -> str:
        from wfptui.core.builtins import get_sublayer

        ident = _ident(text)
        if not ident or ident == "00000000-0000-0000-0000-000000000000":
            return "UNIVERSAL"  # §3.1: an all-zero subLayerKey means the layer's default sublayer
        b = get_sublayer(ident)
        if b is not None:
            return b.name
        if ident in self.sublayers:
            return ident
        self.sublayers[ident] = Sublayer(key=ident, weight=0, guid=norm_guid(ident), name="")
        if self.registered is None:
            why = "a `show filters` dump has no sublayer weights"
        else:
            why = "this sublayer is not listed in the dump's <subLayers>"
        self.notes[ident] = [
            f"ASSUMED weight 0 (evaluated last): {why}; edit it, or import `netsh wfp show state` for the real weight"
        ]
        return ident

    def callout_key(self, node: XmlNode, text: str) -> str:
        from wfptui.core.builtins import get_callout

        ident = _ident(text)
        b = get_callout(ident)
        if b is not None:
            self.builtin_callouts_used[b.name] = self.builtin_callouts_used.get(b.name, 0) + 1
            if self.registered is not None and ident not in self.registered:
                self._unregistered_builtin(b.name, ident)
            return b.name
        return self._new_callout(ident)

    def unique_key(self, base: str) -> str:
        key = base
        n = 2
        while key in self.keys:
            key = f"{base}-{n}"
            n += 1
        self.keys.add(key)
        return key

    def read_filter(self, it: XmlNode, section_layer: str | None) -> Filter | None:
        self.check_children(it, _FILTER_CHILDREN, "a filter")
        fkey_text = it.child_text("filterKey") or ""
        dd = it.child("displayData")
        name = description = ""
        if dd is not None:
            self.check_children(dd, frozenset({"name", "description"}), "displayData")
            n, d = dd.child("name"), dd.child("description")
            name = n.text if n is not None else ""
            description = d.text if d is not None else ""
        fid_node = it.child("filterId")
        filter_id = 0
        if fid_node is not None:
            filter_id = _parse_int(fid_node, fid_node.text, 64)
        guid = norm_guid(fkey_text)
        base = slug(name) or "filter"
        if filter_id:
            base = f"{base}-{filter_id}"
        elif guid is not None:
            base = f"{base}-{guid[:8]}"
        key = self.unique_key(base)
        where = f"filter {key}"

        # layer
        layer_text = it.child_text("layerKey") or section_layer
        if not layer_text:
            raise _Bad(it, f"{where}: no <layerKey>")
        from wfptui.core.layers import get_layer

        try:
            layer = get_layer(layer_text)
        except KeyError:
            raise _Unsupported(it.child("layerKey") or it, f"{where}: unknown layer {layer_text!r}") from None
        if section_layer and it.child_text("layerKey") and _ident(section_layer) != _ident(layer_text):
            self.warn(it, f"{where}: layerKey {layer_text} differs from its <layers> section {section_layer}")

        # sublayer
        sl_node = it.child("subLayerKey")
        sublayer = self.sublayer_key(sl_node or it, sl_node.text if sl_node is not None else "")

        # weight and effective weight
        weight = Weight(DataType.FWP_EMPTY)
        w = it.child("weight")
        if w is not None:
            weight = self.read_weight(w, where)
        eff: int | None = None  # None: computed below, once the conditions are known
        ew = it.child("effectiveWeight")
        if ew is not None:
            self.check_children(ew, frozenset({"type", "uint64"}), "effectiveWeight")
            v = ew.child("uint64")
            if v is not None:
                eff = _parse_int(v, v.text, 64)
            else:
                raise _Bad(ew, f"{where}: <effectiveWeight> without <uint64>")
        else:
            self.warn(it, f"{where}: no <effectiveWeight>; computed from the weight (core.weights, approximate)")

        # flags
        flags = 0
        fl = it.child("flags")
        flag_notes: list[str] = []
        if fl is not None:
            self.check_count(fl)
            for f in fl.children:
                if f.tag != "item":
                    self.warn(f, f"unknown element <{f.tag}> in <flags> of {where} ignored")
                    continue
                flags |= self.read_filter_flag(f, where, flag_notes)

        # provider
        provider = None
        pk = it.child_text("providerKey")
        if pk:
            provider = _ident(pk)
        pd = it.child("providerData")
        if pd is not None:
            self.check_children(pd, frozenset({"data", "asString"}), "providerData")

        # conditions
        conds: list[Condition] = []
        self.cond_notes = []
        self.cond_raw = []
        fc = it.child("filterCondition")
        if fc is not None:
            self.check_count(fc)
            for ci in fc.children:
                if ci.tag != "item":
                    self.warn(ci, f"unknown element <{ci.tag}> in <filterCondition> of {where} ignored")
                    continue
                conds.append(self.read_condition(ci, layer, where))

        # action
        act = it.child("action")
        if act is None:
            raise _Bad(it, f"{where}: no <action>")
        self.check_children(act, frozenset({"type", "filterType", "calloutKey"}), "action")
        at = act.child_text("type") or ""
        try:
            action = ActionType[at.upper()] if at.upper().startswith("FWP_ACTION_") else ActionType["FWP_ACTION_" + at.upper()]
        except KeyError:
            raise _Unsupported(act.child("type") or act, f"{where}: unknown action type {at!r}") from None
        callout = None
        ft_text = act.child_text("filterType") or act.child_text("calloutKey") or ""
        if action.is_callout:
            if not ft_text:
                raise _Bad(act, f"{where}: callout action {at} without a callout (<filterType>)")
            callout = self.callout_key(act, ft_text)
        elif ft_text:
            self.notes.setdefault(key, []).append(f"action filterType {ft_text} (not a callout action) not modelled")
            self.warn(act, f"{where}: filterType {ft_text} on a {at} action ignored")

        if eff is None:
            from wfptui.core.weights import effective_weight

            eff = effective_weight(weight, conds)
        self.raw_values[key] = self.cond_raw
        if flag_notes or self.cond_notes:
            self.notes.setdefault(key, []).extend(flag_notes + self.cond_notes)
        return Filter(
            key=key,
            layer=layer.name,
            action=action,
            sublayer=sublayer,
            weight=weight,
            effective_weight=eff,
            conditions=tuple(conds),
            flags=flags,
            callout=callout,
            filter_id=filter_id,
            name=name,
            description=description,
            provider=provider,
            guid=guid,
            loc=SourceLoc(self.filename, it.line, it.col),
        )

    def read_weight(self, w: XmlNode, where: str) -> Weight:
        self.check_children(w, frozenset({"type", "uint8", "uint64"}), "weight")
        t = (w.child_text("type") or "").upper()
        if t == "FWP_EMPTY" or (not t and not w.children):
            return Weight(DataType.FWP_EMPTY)
        if t == "FWP_UINT8":
            v = w.child("uint8")
            if v is None:
                raise _Bad(w, f"{where}: FWP_UINT8 weight without <uint8>")
            n = _parse_int(v, v.text, 8)
            if n > 15:
                raise _Bad(v, f"{where}: FWP_UINT8 weight {n} is not a weight range 0..15")
            return Weight(DataType.FWP_UINT8, n)
        if t == "FWP_UINT64":
            v = w.child("uint64")
            if v is None:
                raise _Bad(w, f"{where}: FWP_UINT64 weight without <uint64>")
            return Weight(DataType.FWP_UINT64, _parse_int(v, v.text, 64))
        raise _Unsupported(w, f"{where}: unknown weight type {t!r}")

    def read_filter_flag(self, f: XmlNode, where: str, notes: list[str]) -> int:
        text = f.text.strip()
        name = text.upper().removeprefix("FWPM_FILTER_FLAG_")
        if name in FilterFlag.__members__:
            return int(FilterFlag[name])
        if name in _UNMODELLED_FILTER_FLAGS:
            self.unmodelled_flags[text] = self.unmodelled_flags.get(text, 0) + 1
            notes.append(f"flag {text} (no effect on classification) not written")
            return 0
        if re.fullmatch(r"(0x)?[0-9a-fA-F]{1,8}", text):
            value = int(text, 16)
            known = 0
            for m in FilterFlag:
                known |= int(m)
            if value & ~known:
                self.warn(f, f"{where}: flag bits {value & ~known:#x} have no FWPM_FILTER_FLAG_ name: ignored")
            return value & known
        self.warn(f, f"{where}: unknown filter flag {text!r} ignored")
        notes.append(f"unknown flag {text} not written")
        return 0

    def read_condition(self, ci: XmlNode, layer: Any, where: str) -> Condition:
        from wfptui.core.fields import get_field

        self.check_children(ci, frozenset({"fieldKey", "matchType", "conditionValue"}), "a condition")
        fk = ci.child_text("fieldKey")
        if not fk:
            raise _Bad(ci, f"{where}: condition without <fieldKey>")
        try:
            fdef = get_field(fk)
        except KeyError:
            raise _Unsupported(ci.child("fieldKey") or ci, f"{where}: unknown condition field {fk!r}") from None
        fname = fdef.name
        if layer.field(fname) is None:
            raise _Unsupported(ci, f"{where}: condition field {fname} is not available at layer {layer.name}")
        mt = (ci.child_text("matchType") or "").upper()
        try:
            match = MatchType[mt if mt.startswith("FWP_MATCH_") else "FWP_MATCH_" + mt]
        except KeyError:
            raise _Unsupported(ci.child("matchType") or ci, f"{where}: unknown match type {mt!r}") from None
        cv = ci.child("conditionValue")
        if cv is None:
            raise _Bad(ci, f"{where}: condition on {fname} without <conditionValue>")
        value, dtype = self.read_value(cv, fname, where)
        value, raw, note = self.check_writable(ci, fname, layer, match, value, dtype, where)
        self.cond_raw.append(raw)
        if note is not None:
            self.cond_notes.append(note)
        return Condition(fname, match, value, dtype, SourceLoc(self.filename, ci.line, ci.col))

    def check_writable(
        self, node: XmlNode, fname: str, layer: Any, match: MatchType, value: Value, dtype: DataType, where: str
    ) -> tuple[Value, object, str | None]:
        """The condition must survive policy file → loader unchanged (§3): it is written with
        ``values.toml_value`` and must read back by ``values.parse_value`` to the same value
        and type. Returns the value to keep, its TOML form and an optional note for the filter's comment.

        One fallback: an allow-only security descriptor whose SDDL is longer than the
        loader accepts is written as the list of SIDs it grants FWP_ACTRL_MATCH_FILTER
        to — the same access check (§4.2), a shorter SDDL text.
        """
        memo_key = (fname, layer.name, match, value, dtype)
        hit = self.writable_memo.get(memo_key)
        if hit is not None:
            return hit
        result = self._check_writable(node, fname, layer, match, value, dtype, where)
        self.writable_memo[memo_key] = result
        return result

    def _check_writable(
        self, node: XmlNode, fname: str, layer: Any, match: MatchType, value: Value, dtype: DataType, where: str
    ) -> tuple[Value, object, str | None]:
        from wfptui.core.values import parse_value, toml_value

        try:
            raw = toml_value(value, dtype, fname, layer)
            back = parse_value(fname, layer, match, raw)
        except (ValueError, KeyError) as e:
            alt = self._sd_as_sid_list(fname, layer, match, value, dtype)
            if alt is not None:
                return alt
            raise _Unsupported(
                node, f"{where}: condition {fname} {match.short} {dtype.name} cannot be written to a policy file: {e}"
            ) from None
        if back != (value, dtype):
            raise _Unsupported(
                node,
                f"{where}: condition {fname} {match.short} {dtype.name} would read back as {back[1].name} "
                "(the policy file cannot express it)",
            )
        return value, raw, None

    @staticmethod
    def _sd_as_sid_list(
        fname: str, layer: Any, match: MatchType, value: Value, dtype: DataType
    ) -> tuple[Value, object, str] | None:
        from wfptui.core.model import FWP_ACTRL_MATCH_FILTER, SecurityDescriptor
        from wfptui.core.values import parse_value

        if not isinstance(value, SecurityDescriptor) or value.dacl is None:
            return None
        if not value.dacl or not all(a.allow for a in value.dacl):
            return None
        sids = list(dict.fromkeys(a.sid for a in value.dacl if a.mask & FWP_ACTRL_MATCH_FILTER))
        if not sids:
            return None
        try:
            back, bdt = parse_value(fname, layer, match, sids)
        except (ValueError, KeyError):
            return None
        if bdt != dtype:
            return None
        note = (
            f"{fname}: the SDDL ({len(value.sddl)} characters) is longer than the policy loader accepts; "
            f"written as the {len(sids)} SIDs it grants (same access check, §4.2)"
        )
        return back, sids, note

    def read_value(self, cv: XmlNode, fname: str, where: str, in_range: bool = False) -> tuple[Value, DataType]:
        """``<conditionValue>`` / ``<valueLow>`` / ``<valueHigh>``: ``{type, <value element>}``."""
        tname = (cv.child_text("type") or "").upper()
        vals = [c for c in cv.children if c.tag != "type"]
        if tname == "FWP_EMPTY":
            for extra in vals:
                self.warn(extra, f"{where}: unexpected <{extra.tag}> in an FWP_EMPTY value ignored")
            return EMPTY, DataType.FWP_EMPTY
        if not vals:
            raise _Bad(cv, f"{where}: {fname}: value of type {tname or '?'} without a value element")
        v = vals[0]
        for extra in vals[1:]:
            self.warn(extra, f"{where}: extra element <{extra.tag}> in a condition value ignored")
        expected = _TYPE_ELEMENT.get(tname)
        if expected is None:
            raise _Unsupported(cv, f"{where}: {fname}: value type {tname or '(none)'} is not supported")
        if v.tag != expected:
            raise _Unsupported(v, f"{where}: {fname}: element <{v.tag}> for a value of type {tname} is not understood")
        tag = v.tag
        if tag in _INT_TYPES:
            self.check_leaf(v, where)
            dtype, bits, signed = _INT_TYPES[tag]
            if tag == "uint32":
                return _parse_uint32_or_ipv4(v, v.text), dtype
            return _parse_int(v, v.text, bits, signed), dtype
        if tag == "byteArray16":
            self.check_leaf(v, where)
            return _parse_ipv6(v, v.text), DataType.FWP_BYTE_ARRAY16_TYPE
        if tag == "byteArray6":
            self.check_leaf(v, where)
            t = v.text.strip().replace("-", "").replace(":", "")
            if len(t) != 12 or not _HEX_RE.match(t):
                raise _Bad(v, f"{where}: {v.text.strip()!r} is not a 6-byte MAC address")
            return int(t, 16), DataType.FWP_BYTE_ARRAY6_TYPE
        if tag == "sid":
            self.check_leaf(v, where)
            t = v.text.strip()
            from wfptui.core.sddl import canonical_sid

            try:
                return canonical_sid(t), DataType.FWP_SID
            except ValueError as e:
                raise _Bad(v, f"{where}: {e}") from None
        if tag == "sd":
            self.check_leaf(v, where)
            from wfptui.core.sddl import parse_sddl

            t = v.text.strip()
            cached = self.sddl_memo.get(t)
            if cached is not None:
                return cached, DataType.FWP_SECURITY_DESCRIPTOR_TYPE
            try:
                sd = parse_sddl(t)
                self.sddl_memo[t] = sd
                return sd, DataType.FWP_SECURITY_DESCRIPTOR_TYPE
            except (ValueError, KeyError) as e:
                raise _Bad(v, f"{where}: bad SDDL {t!r}: {e}") from None
        if tag == "unicodeString":
            self.check_leaf(v, where)
            return v.text, DataType.FWP_UNICODE_STRING_TYPE
        if tag == "byteBlob":
            return self.read_blob(v, fname, where), DataType.FWP_BYTE_BLOB_TYPE
        if tag == "v4AddrMask":
            self.check_children(v, frozenset({"addr", "mask"}), "v4AddrMask")
            a, m = v.child("addr"), v.child("mask")
            if a is None or m is None:
                raise _Bad(v, f"{where}: <v4AddrMask> needs <addr> and <mask>")
            addr = _parse_uint32_or_ipv4(a, a.text)
            prefix = _mask_prefix(m, _parse_uint32_or_ipv4(m, m.text))
            return AddrMask(addr, prefix, 32), DataType.FWP_V4_ADDR_MASK
        if tag == "v6AddrMask":
            self.check_children(v, frozenset({"addr", "prefixLength"}), "v6AddrMask")
            a, pl = v.child("addr"), v.child("prefixLength")
            if a is None or pl is None:
                raise _Bad(v, f"{where}: <v6AddrMask> needs <addr> and <prefixLength>")
            prefix = _parse_int(pl, pl.text, 8)
            if prefix > 128:
                raise _Bad(pl, f"{where}: IPv6 prefix length {prefix} > 128")
            return AddrMask(_parse_ipv6(a, a.text), prefix, 128), DataType.FWP_V6_ADDR_MASK
        if tag == "rangeValue":
            if in_range:
                raise _Bad(v, f"{where}: a range inside a range")
            self.check_children(v, frozenset({"valueLow", "valueHigh"}), "rangeValue")
            lo_n, hi_n = v.child("valueLow"), v.child("valueHigh")
            if lo_n is None or hi_n is None:
                raise _Bad(v, f"{where}: <rangeValue> needs <valueLow> and <valueHigh>")
            lo, lo_t = self.read_value(lo_n, fname, where, in_range=True)
            hi, hi_t = self.read_value(hi_n, fname, where, in_range=True)
            if lo_t != hi_t:
                raise _Bad(v, f"{where}: range bounds of different types ({lo_t.name}, {hi_t.name})")
            return Range(lo, hi), DataType.FWP_RANGE_TYPE
        raise _Unsupported(v, f"{where}: value element <{tag}> is not understood")  # pragma: no cover

    def read_blob(self, v: XmlNode, fname: str, where: str) -> Value:
        self.check_children(v, frozenset({"data", "asString"}), "byteBlob")
        data_hex = (v.child_text("data") or "").replace(" ", "")
        as_string = v.child_text("asString")
        if not _HEX_RE.match(data_hex):
            raise _Bad(v.child("data") or v, f"{where}: byteBlob data is not hex")
        raw = bytes.fromhex(data_hex)
        decoded: str | None = None
        if len(raw) % 2 == 0:
            try:
                decoded = raw.decode("utf-16-le").rstrip("\x00")
            except UnicodeDecodeError:
                decoded = None
        if fname in _APP_ID_FIELDS:
            text = as_string if as_string else decoded
            if text is None:
                raise _Bad(v, f"{where}: {fname} blob is neither a UTF-16 path nor has <asString>")
            if decoded is not None and as_string and decoded.lower() != as_string.lower():
                self.warn(v, f"{where}: {fname} <asString> differs from its <data>; <asString> is used")
            return self.app_id(v, text, where)
        if decoded is not None and decoded.isprintable() and decoded and (as_string is None or as_string == decoded):
            return decoded
        return Blob(raw)

    def app_id(self, node: XmlNode, text: str, where: str) -> str:
        from wfptui.core.values import normalize_app_id

        try:
            return normalize_app_id(text)
        except ValueError as e:
            raise _Unsupported(node, f"{where}: application id {text!r}: {e}") from None


def _finish(imp: _Importer, kind: str, source: str, xml_count: int, filters: list[Filter]) -> ImportResult:
    header = [
        f"Imported by `wfptui import` from {os.path.basename(source) or source}"
        f" (`netsh wfp show {'filters' if kind == 'filters' else 'state'}` output).",
        f"{len(filters)} of {xml_count} filters imported"
        + (f"; {len(imp.dropped)} not imported (see warnings)." if imp.dropped else "."),
        "Effective weights are Windows' own (effective_weight); keys are <name>-<filterId>,",
        "with the filterKey GUID in `guid`.",
    ]
    if imp.callouts:
        assumed = sum(1 for c in imp.callouts.values() if c.assumed)
        unreg = sum(1 for c in imp.callouts.values() if c.returns == "unregistered")
        header.append(
            f"Callouts: {assumed} with ASSUMED behaviour (returns = \"continue\"), {unreg} unregistered;"
            " review the [[callout]] tables."
        )
    if imp.builtin_callouts_used:
        header.append(
            "Built-in callouts modelled by the simulator: " + ", ".join(sorted(imp.builtin_callouts_used)) + "."
        )
    for flag, n in sorted(imp.unmodelled_flags.items()):
        header.append(f"{flag} on {n} filters is not written (no effect on classification).")
    if imp.warnings:
        header.append(f"{len(imp.warnings)} warnings were reported on import.")
    from wfptui.io.policy_file import builtin_objects

    sublayers, callouts = builtin_objects()
    sublayers.update(imp.sublayers)
    callouts.update(imp.callouts)
    policy = Policy(sublayers=sublayers, callouts=callouts, filters=tuple(filters), source=source)
    return ImportResult(
        policy=policy,
        kind=kind,
        source=source,
        xml_filters=xml_count,
        warnings=imp.warnings,
        dropped=imp.dropped,
        notes=imp.notes,
        header=header,
        registered_callouts=frozenset(imp.registered) if imp.registered is not None else None,
        raw_values=imp.raw_values,
        own_sublayers=tuple(imp.sublayers),
        own_callouts=tuple(imp.callouts),
    )


def parse_netsh(data: bytes, filename: str = "", progress: Progress | None = None) -> ImportResult:
    """Import netsh XML given as bytes. Raises :class:`InputError` for bad input.

    ``progress`` advances by the bytes parsed, then over whatever of its ``total`` is left
    while the filters are converted."""
    root, trailing = read_xml(data, filename, progress)
    return import_tree(root, trailing, filename, progress)


def import_tree(
    root: XmlNode, trailing: list[XmlNode], filename: str = "", progress: Progress | None = None
) -> ImportResult:
    """Import an already-read ``<wfpdiag>`` / ``<wfpstate>`` tree (``io.evidence`` hands the
    filters part of a ``wfpdiag.xml`` capture here). Raises :class:`InputError`."""
    imp = _Importer(filename)
    kind, items = imp.run(root, trailing)
    filters: list[Filter] = []
    # filterId -> line of its first filter: WFP ids are unique, and the policy loader refuses a
    # repeated one, so a repeated id (a hand-edited or concatenated dump) keeps the first filter
    # and warns naming both, rather than writing a file `validate` rejects (issue 12).
    first_line: dict[int, int] = {}
    half = progress.total - progress.done if progress is not None else 0
    for i, (it, section_layer) in enumerate(items):
        if progress is not None and i % 32 == 0:
            progress.update(progress.total - half + half * i // max(len(items), 1))
        try:
            f = imp.read_filter(it, section_layer)
        except _Bad as b:
            imp.error(b.node, b.message)
            continue
        except _Unsupported as u:
            imp.warn(u.node, u.message + "; filter not imported")
            imp.dropped.append((f"line {it.line}", u.message))
            continue
        except (ValueError, KeyError, IndexError) as e:  # a value no reader above anticipated
            imp.error(it, f"cannot read this filter: {e}")
            continue
        if f is not None and f.filter_id and f.filter_id in first_line:
            msg = (f"filter {f.key}: filterId {f.filter_id} repeats the filter at line "
                   f"{first_line[f.filter_id]}; this one is not imported")
            imp.warn(it, msg)
            imp.dropped.append((f"line {it.line}", msg))
            continue
        if f is not None:
            if f.filter_id:
                first_line[f.filter_id] = it.line
            filters.append(f)
    if progress is not None:
        progress.update(progress.total)
    if imp.errors:
        raise InputError(sorted(imp.errors, key=lambda d: (d.line, d.col)))
    return _finish(imp, kind, filename, len(items), filters)


def import_netsh(path: str | os.PathLike[str], progress: bool | None = None) -> ImportResult:
    """Read and import a netsh XML file (``progress``: None = bar when on a terminal)."""
    name = os.fspath(path)
    try:
        size = os.stat(name).st_size
    except OSError as e:
        raise InputError(Diagnostic(name, 0, 0, f"cannot read: {e.strerror or e}")) from None
    if size > MAX_BYTES:
        raise InputError(
            Diagnostic(name, 0, 0, f"file is {size} bytes; files over {MAX_BYTES} bytes are refused")
        )
    from wfptui.io.stdio import open_regular  # a FIFO or /dev/zero must not hang (issue 12)

    try:
        with open_regular(name, "netsh XML") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as e:
        raise InputError(Diagnostic(name, 0, 0, f"cannot read: {e.strerror or e}")) from None
    # First half of the bar: parsing the bytes; second half: converting the filters.
    with Progress(2 * len(data), label=f"import {os.path.basename(name)}", enabled=progress) as bar:
        return parse_netsh(data, name, bar)



# ----------------------------------------------------------------------------- policy file text

# One TOML writer for every policy file: io.policy_file's (the importer adds only comments).
toml_inline = toml_literal


def _comment(lines: Iterable[str], indent: str = "") -> list[str]:
    out = []
    for line in lines:
        for part in line.splitlines() or [""]:
            out.append(f"{indent}# {part}".rstrip())
    return out


def _filter_flag_names(flags: int) -> list[str]:
    names = []
    for m in FilterFlag:
        if m.value and flags & m.value and m.name is not None:
            names.append(m.name.lower())
    return names


def policy_toml(result: ImportResult) -> str:
    """The policy file (spec §3) for an import: header comment, the dump's own sublayers and
    callouts (assumed behaviour commented), then every filter with its notes.

    Condition values are written with ``core.values.toml_value`` (what the policy loader reads
    back to the same value and type; the importer checked each one).
    """
    from wfptui.core.layers import get_layer
    from wfptui.core.values import toml_value

    out: list[str] = _comment(result.header)
    out.append("")
    pol = result.policy
    own_sublayers = [pol.sublayers[k] for k in result.own_sublayers]
    own_callouts = [pol.callouts[k] for k in result.own_callouts]
    for sl in own_sublayers:
        out.extend(_comment(result.notes.get(sl.key, [])))
        out.append("[[sublayer]]")
        out.append(f"key = {toml_str(sl.key)}")
        if sl.name and not sl.builtin:
            out.append(f"name = {toml_str(sl.name)}")
        out.append(f"weight = {sl.weight}")
        out.append("")
    for c in own_callouts:
        out.extend(_comment(result.notes.get(c.key, [])))
        out.append("[[callout]]")
        out.append(f"key = {toml_str(c.key)}")
        if c.name and not c.builtin:
            out.append(f"name = {toml_str(c.name)}")
        out.append(f"returns = {toml_str(c.returns)}")
        if c.assumed:
            out.append("assumed = true")
        out.append("")
    for f in pol.filters:
        layer = get_layer(f.layer)
        out.extend(_comment(result.notes.get(f.key, [])))
        out.append("[[filter]]")
        out.append(f"key = {toml_str(f.key)}")
        if f.name:
            out.append(f"name = {toml_str(f.name)}")
        if f.description:
            out.append(f"description = {toml_str(f.description)}")
        out.append(f"layer = {toml_str(f.layer)}")
        out.append(f"sublayer = {toml_str(f.sublayer)}")
        if f.weight.type == DataType.FWP_UINT8:
            out.append(f"weight = {f.weight.value}")
        elif f.weight.type == DataType.FWP_UINT64 and f.weight.value is not None:
            out.append(f'weight = {{ uint64 = "{f.weight.value:#x}" }}')
        out.append(f'effective_weight = "{f.effective_weight:#018x}"')
        out.append(f"action = {toml_str(f.action.short)}")
        if f.callout is not None:
            out.append(f"callout = {toml_str(f.callout)}")
        names = _filter_flag_names(f.flags)
        if names:
            out.append(f"flags = {toml_inline(names)}")
        if f.filter_id:
            out.append(f"id = {f.filter_id}")
        if f.provider:
            out.append(f"provider = {toml_str(f.provider)}")
        if f.guid:
            out.append(f"guid = {toml_str(f.guid)}")
        if f.conditions:
            raws = result.raw_values.get(f.key)
            out.append("condition = [")
            for i, cond in enumerate(f.conditions):
                raw = raws[i] if raws is not None and i < len(raws) else toml_value(cond.value, cond.dtype, cond.field, layer)
                out.append(
                    f"  {{ field = {toml_str(cond.field)}, match = {toml_str(cond.match.short)}, "
                    f"value = {toml_inline(raw)} }},"
                )
            out.append("]")
        out.append("")
    return "\n".join(out)
