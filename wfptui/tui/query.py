"""The timeline filter language: ``host:server layer:recv verdict:block filter:no-web packet:syn``.

Terms are separated by spaces; each is ``key:value``. Terms with different keys
must all hold; repeated keys are alternatives (``host:client host:server``). A
leading ``-`` negates a term. A bare word matches anywhere in the row's text.
Matching is case-insensitive; ``layer`` and ``filter`` match substrings, the
other keys whole words. :func:`parse_query` raises :class:`QueryError` with the
column of the bad term, so the input can be validated as the user types.

Field queries (issue 16 item 5) select classifications by the values they classified:
``IP_LOCAL_PORT=8080`` (any condition field, by its WFP name or alias; numbers in
decimal or hex, addresses by CIDR too, ``IP_PROTOCOL=tcp``), ``port:8080`` (local or
remote port), a bare address or CIDR (``10.0.0.5``, ``10.0.0.0/8``, ``fe80::/10``:
local or remote address), ``app:chrome`` (substring of ALE_APP_ID) and
``user:S-1-5-18`` (ALE_USER_ID). Repeated terms on the same field are alternatives.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from wfptui.core.fields import IP_PROTOCOL_NAMES, UnknownNameError, get_field
from wfptui.core.trace import ClassifyRecord, ObservedRecord, TraceRecord
from wfptui.tui.render import record_text, verdict_of

#: key -> accepted aliases
KEYS: dict[str, tuple[str, ...]] = {
    "host": ("host", "h"),
    "layer": ("layer", "l"),
    "verdict": ("verdict", "action", "v"),
    "filter": ("filter", "f"),
    "packet": ("packet", "pkt", "p"),
    "kind": ("kind", "k"),
    "flow": ("flow",),
    "op": ("op",),
    "port": ("port",),
    "app": ("app",),
    "user": ("user",),
}
_ALIASES = {alias: key for key, aliases in KEYS.items() for alias in aliases}

VERDICTS = ("permit", "block", "none", "discard", "reauth", "flipped",
            # a captured event's (core.triage)
            "agree", "other_filter", "differ", "unknown", "not_simulated")
PACKETS = ("syn", "syn-ack", "ack", "data", "rst", "datagram", "icmp-error", "icmp")
KINDS = ("classify", "stack", "policy", "net_event", "audit", "expect", "observed")
OPS = ("bind", "listen", "connect", "close")

#: Shown under the filter input.
HELP = ("host:NAME layer:TEXT verdict:permit|block|none|discard|reauth|flipped|differ|unknown filter:TEXT "
        "packet:syn|ack|data|… kind:classify|stack|policy|net_event|audit op:connect|… flow:N "
        "FIELD=VALUE port:N app:TEXT user:SID 10.0.0.0/8  -term negates")

#: The ``?`` screen's lines on field queries (issue 16 item 5).
FIELD_HELP = ("IP_LOCAL_PORT=8080 (any condition field by its WFP name; numbers, names such as "
              "IP_PROTOCOL=tcp, addresses or CIDRs)  port:8080 (local or remote)  10.0.0.5, 10.0.0.0/8, "
              "fe80::/10 (local or remote address)  app:chrome (part of ALE_APP_ID)  user:S-1-5-18 "
              "(ALE_USER_ID)  filter:NAME (deciding filter)  verdict:block|permit|none. Spaces mean AND; "
              "terms on the same key or field are alternatives.")

#: The fields a ``port:`` term and a bare address or CIDR look at.
PORT_FIELDS = ("IP_LOCAL_PORT", "IP_REMOTE_PORT")
ADDRESS_FIELDS = ("IP_LOCAL_ADDRESS", "IP_REMOTE_ADDRESS", "IP_SOURCE_ADDRESS", "IP_DESTINATION_ADDRESS")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _network(text: str) -> Network | None:
    """``text`` as an address or CIDR (v4 or v6), else None."""
    if not any(ch in text for ch in ".:") or not any(ch.isdigit() for ch in text):
        return None
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


class QueryError(ValueError):
    """A term the language does not accept; ``col`` is its 1-based column."""

    def __init__(self, message: str, col: int) -> None:
        super().__init__(message)
        self.col = col


@dataclass(frozen=True)
class Term:
    """One ``key:value`` (key ``text`` for bare words), maybe negated."""

    key: str
    value: str
    negate: bool = False


@dataclass(frozen=True)
class Query:
    """A parsed query. Empty = everything matches."""

    terms: tuple[Term, ...] = ()
    source: str = ""

    def __bool__(self) -> bool:
        return bool(self.terms)


def parse_query(text: str, hosts: Sequence[str] = ()) -> Query:
    """Parse ``text``; ``hosts`` (when given) are the only accepted ``host:`` values."""
    terms: list[Term] = []
    pos = 0
    for word in text.split(" "):
        col = pos + 1
        pos += len(word) + 1
        if not word:
            continue
        negate = word.startswith("-") and len(word) > 1
        body = word[1:] if negate else word
        if _network(body) is not None:  # before key:value, for v6 addresses
            terms.append(Term("addr", body.lower(), negate))
            continue
        if "=" in body and (":" not in body or body.index("=") < body.index(":")):
            terms.append(_field_term(body, negate, col))
            continue
        if ":" not in body:
            terms.append(Term("text", body.lower(), negate))
            continue
        raw_key, value = body.split(":", 1)
        key = _ALIASES.get(raw_key.lower())
        if key is None:
            raise QueryError(f"unknown key {raw_key!r} (expected {', '.join(KEYS)})", col)
        value = value.lower()
        if not value:
            raise QueryError(f"{key}: needs a value", col)
        allowed: Iterable[str] | None = {
            "verdict": VERDICTS, "packet": PACKETS, "kind": KINDS, "op": OPS,
            "host": [h.lower() for h in hosts] or None,
        }.get(key)
        if allowed is not None and value not in allowed:
            raise QueryError(f"{key}:{value} — expected one of {', '.join(allowed)}", col)
        if key in ("flow", "port") and _number(value) is None:
            raise QueryError(f"{key}:{value} — expected a number", col)
        terms.append(Term(key, value, negate))
    return Query(tuple(terms), text)


def _number(text: str) -> int | None:
    try:
        return int(text, 0)
    except ValueError:
        return None


def _field_term(body: str, negate: bool, col: int) -> Term:
    """``FIELD=VALUE``: the field by its WFP name (core.fields.get_field), the value as typed."""
    name, value = body.split("=", 1)
    try:
        fld = get_field(name).name
    except UnknownNameError as exc:
        raise QueryError(f"{name}: {exc}", col) from None
    if not value:
        raise QueryError(f"{fld}= needs a value", col)
    return Term("=" + fld, value.lower(), negate)


def _value_is(name: str, got: Any, want: str) -> bool:
    """Whether the recorded value ``got`` of field ``name`` is what ``want`` (lower-cased) says."""
    if got is None:
        return want in ("fwp_empty", "empty")
    if isinstance(got, bool):
        return want == str(got).lower()
    if isinstance(got, int):
        n = _number(want)
        if n is not None:
            return got == n
        return name in ("IP_PROTOCOL", "EMBEDDED_PROTOCOL") and IP_PROTOCOL_NAMES.get(got, "").lower() == want
    text = str(got).lower()
    net = _network(want)
    if net is not None:
        addr = _network(text)
        return addr is not None and addr.version == net.version and addr.subnet_of(net)  # type: ignore[arg-type]
    return text == want


def _fields_of(record: TraceRecord) -> dict[str, Any]:
    fields = getattr(record, "fields", None)
    return fields if isinstance(fields, dict) else {}


def _field_holds(term: Term, record: TraceRecord) -> bool:
    fields = _fields_of(record)
    if term.key.startswith("="):
        name = term.key[1:]
        return name in fields and _value_is(name, fields[name], term.value)
    if term.key == "port":
        return any(_value_is(n, fields[n], term.value) for n in PORT_FIELDS if n in fields)
    if term.key == "addr":
        return any(_value_is(n, fields[n], term.value) for n in ADDRESS_FIELDS if fields.get(n) is not None)
    if term.key == "app":
        return term.value in str(fields.get("ALE_APP_ID") or "").lower()
    if term.key == "user":
        return str(fields.get("ALE_USER_ID") or "").lower() == term.value
    return False


def _field(record: TraceRecord, key: str, flipped: bool) -> Iterable[str]:
    """The record's values for ``key``, lower-cased."""
    if key == "host":
        return (getattr(record, "host", "").lower(),)
    if key == "kind":
        return (record.kind,)
    if key == "flow":
        flow = getattr(record, "flow", None)
        return (str(flow),) if flow is not None else ()
    if isinstance(record, ObservedRecord) and key == "verdict":
        return tuple(w for w in (record.action, record.verdict, "flipped" if flipped else None) if w)
    if not isinstance(record, ClassifyRecord):
        if key == "verdict" and flipped:
            return ("flipped",)
        return ()
    if key == "layer":
        return (record.layer.lower(),)
    if key == "filter":
        return tuple(t.filter.lower() for t in record.terminating) + ((record.filter or "").lower(),)
    if key == "packet":
        return ((record.packet or "").lower(),)
    if key == "op":
        return ((record.op or "").lower(),)
    if key == "verdict":
        words = [record.action, verdict_of(record)[1]]
        if record.reauth:
            words.append("reauth")
        if flipped:
            words.append("flipped")
        return words
    return ()


def _term_holds(term: Term, record: TraceRecord, flipped: bool) -> bool:
    if term.key == "text":
        return term.value in record_text(record).lower()
    if term.key in ("port", "addr", "app", "user") or term.key.startswith("="):
        return _field_holds(term, record)
    values = _field(record, term.key, flipped)
    if term.key in ("layer", "filter"):
        return any(term.value in v for v in values if v)
    return term.value in values


def compile_query(query: Query) -> Callable[[TraceRecord, bool], bool]:
    """A predicate ``(record, flipped) -> bool`` for ``query``."""
    groups: dict[tuple[str, bool], list[Term]] = {}
    for term in query.terms:
        groups.setdefault((term.key, term.negate), []).append(term)

    def predicate(record: TraceRecord, flipped: bool) -> bool:
        for (_key, negate), terms in groups.items():
            hit = any(_term_holds(t, record, flipped) for t in terms)
            if hit == negate:
                return False
        return True

    return predicate


def filter_indexes(records: Sequence[TraceRecord], query: Query, flipped: set[int]) -> list[int]:
    """Indexes of the records that ``query`` keeps, in order."""
    predicate = compile_query(query)
    return [i for i, r in enumerate(records) if predicate(r, i in flipped)]
