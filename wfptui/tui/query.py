"""The timeline filter language: ``host:server layer:recv verdict:block filter:no-web packet:syn``.

Terms are separated by spaces; each is ``key:value``. Terms with different keys
must all hold; repeated keys are alternatives (``host:client host:server``). A
leading ``-`` negates a term. A bare word matches anywhere in the row's text.
Matching is case-insensitive; ``layer`` and ``filter`` match substrings, the
other keys whole words. :func:`parse_query` raises :class:`QueryError` with the
column of the bad term, so the input can be validated as the user types.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

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
        "packet:syn|ack|data|… kind:classify|stack|policy|net_event|audit op:connect|… flow:N  -term negates")


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
        if key == "flow" and not value.isdigit():
            raise QueryError(f"flow:{value} — expected a number", col)
        terms.append(Term(key, value, negate))
    return Query(tuple(terms), text)


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
