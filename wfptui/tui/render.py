"""Plain-text pieces of the TUI: verdict symbols and words, one-line record summaries.

No Textual here: widgets turn these into styled strips. Every verdict has a symbol
*and* a word, so nothing depends on colour alone (spec §7).
"""

from __future__ import annotations

from collections.abc import Sequence

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

#: verdict key -> (symbol, word). The key doubles as the style name (``timeline--<key>``,
#: or the one ``Timeline.STYLE_ALIASES`` draws it like).
VERDICTS: dict[str, tuple[str, str]] = {
    "permit": ("✔", "permit"),
    "block": ("✖", "block"),
    "discard": ("⇣", "discard"),
    "none": ("○", "none"),
    "reauth": ("↻", "reauth"),
    "policy": ("⚙", "policy"),
    "stack": ("·", "stack"),
    "net": ("≡", "net"),
    "audit": ("§", "audit"),
    "pass": ("✔", "pass"),
    "fail": ("✖", "FAIL"),
}
#: Marks a record whose verdict changed in the last re-run.
FLIP_MARK = "Δ"

#: A captured event's verdict (``core.triage``) -> (mark, word, style key). A disagreement
#: reads in capitals with its own mark, so it never depends on colour (spec §7).
CAPTURE_VERDICTS: dict[str, tuple[str, str, str]] = {
    "agree": ("=", "agree", "agree"),
    "other_filter": ("≈", "OTHER FILTER", "other_filter"),
    "differ": ("≠", "DIFFER", "differ"),
    "unknown": ("?", "UNKNOWN", "unknown"),
    "not_simulated": ("·", "not simulated", "not_simulated"),
}


def capture_verdict(verdict: str) -> tuple[str, str, str]:
    """``(mark, word, style key)`` of a captured event's verdict."""
    return CAPTURE_VERDICTS.get(verdict, ("?", verdict.upper(), "unknown"))


def partner_of(records: Sequence[TraceRecord], index: int) -> ClassifyRecord | None:
    """The simulated classification of the ``observed`` record at ``index`` (the engine's
    ``observe`` step writes it just before, on the same host at the same time), or None."""
    record = records[index]
    if not isinstance(record, ObservedRecord) or index == 0:
        return None
    prev = records[index - 1]
    if isinstance(prev, ClassifyRecord) and prev.host == record.host and prev.t == record.t:
        return prev
    return None


def observed_action(record: ObservedRecord) -> tuple[str, str, str]:
    """``(style key, word, symbol)`` of what the captured machine did."""
    if record.action in ("permit", "block"):
        symbol, word = VERDICTS[record.action]
        return record.action, word, symbol
    symbol, _word = VERDICTS["net"]
    return "net", "event", symbol


def simulated_action(partner: ClassifyRecord | None, unknown: bool) -> tuple[str, str, str]:
    """``(style key, word, symbol)`` of the simulated action (``unknown``: the two worlds differ)."""
    if partner is None:
        return "none", "n/a", "-"
    if unknown:
        return "unknown", "unknown", "?"
    return verdict_of(partner)


def observed_detail(record: ObservedRecord, partner: ClassifyRecord | None) -> str:
    """The filters either side, and the unknown fields."""
    parts = []
    if record.filter_id is not None:
        how = f" by {record.matched_by}" if record.matched_by else " (not in the policy)"
        parts.append(f"obs #{record.filter_id}{how}")
    if partner is not None:
        parts.append(f"sim {partner.filter or '(no match)'}")
    if record.unknown_fields:
        parts.append("unknown: " + ", ".join(record.unknown_fields))
    return " · ".join(parts)


def is_discard_layer(layer: str) -> bool:
    """The ``*_DISCARD`` layers classify traffic that is being dropped."""
    return layer.endswith("_DISCARD")


def verdict_of(record: TraceRecord) -> tuple[str, str, str]:
    """``(style key, word, symbol)`` for a record's verdict column."""
    if isinstance(record, ClassifyRecord):
        if is_discard_layer(record.layer):
            key = "discard"
        elif record.action in ("permit", "block"):
            key = record.action
        else:
            key = "none"
    elif isinstance(record, PolicyRecord):
        key = "policy"
    elif isinstance(record, StackRecord):
        key = "stack"
    elif isinstance(record, NetEventRecord):
        key = "net"
    elif isinstance(record, AuditRecord):
        key = "audit"
    elif isinstance(record, ExpectRecord):
        key = "pass" if record.ok else "fail"
    elif isinstance(record, ObservedRecord):
        key = observed_action(record)[0]
    else:  # pragma: no cover - every record kind is listed above
        key = "stack"
    symbol, word = VERDICTS[key]
    return key, word, symbol


def where_of(record: TraceRecord) -> str:
    """The layer column: the layer, or what kind of event this is."""
    if isinstance(record, ClassifyRecord):
        return record.layer
    if isinstance(record, PolicyRecord):
        return "POLICY CHANGE"
    if isinstance(record, NetEventRecord):
        return f"net event (layer {record.layer_id})"
    if isinstance(record, AuditRecord):
        return f"audit (layer {record.layer_id})"
    if isinstance(record, ExpectRecord):
        return "expect"
    if isinstance(record, ObservedRecord):
        return f"observed {record.type}"
    return "stack"


def what_of(record: TraceRecord) -> str:
    """The packet column: packet or socket operation, or the event's name."""
    if isinstance(record, ClassifyRecord):
        what = record.packet or record.op or "-"
        if record.direction:
            what += " in" if record.direction == "inbound" else " out"
        return what
    if isinstance(record, StackRecord):
        return record.event
    if isinstance(record, PolicyRecord):
        return " ".join([*(f"+{k}" for k in record.added), *(f"-{k}" for k in record.removed)]) or "(none)"
    if isinstance(record, NetEventRecord):
        return record.type
    if isinstance(record, AuditRecord):
        return str(record.event_id)
    if isinstance(record, ExpectRecord):
        return "ok" if record.ok else "failed"
    if isinstance(record, ObservedRecord):
        return f"event {record.event}"
    return ""


def detail_of(record: TraceRecord) -> str:
    """The last column: deciding filter, or a detail."""
    if isinstance(record, ClassifyRecord):
        if record.filter:
            return record.filter
        if is_discard_layer(record.layer):
            return "(dropped packet)"
        return "(undecided → permit)" if record.action == "none" else ""
    if isinstance(record, StackRecord):
        return record.detail
    if isinstance(record, NetEventRecord | AuditRecord):
        return f"filter_id {record.filter_id}" if record.filter_id is not None else ""
    if isinstance(record, ExpectRecord):
        return record.message
    if isinstance(record, PolicyRecord) and record.reauth_layers:
        return "reauth " + ", ".join(record.reauth_layers)
    if isinstance(record, ObservedRecord):
        mark, word, _key = capture_verdict(record.verdict)
        return f"{mark} {word} " + observed_detail(record, None)
    return ""


def record_text(record: TraceRecord) -> str:
    """One plain line for searching and for tests."""
    _key, word, symbol = verdict_of(record)
    host = getattr(record, "host", "")
    reauth = " ↻ reauth" if isinstance(record, ClassifyRecord) and record.reauth else ""
    return f"{host} {where_of(record)} {what_of(record)}{reauth} {symbol} {word} {detail_of(record)}"
