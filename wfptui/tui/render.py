"""Plain-text pieces of the TUI: verdict symbols and words, one-line record summaries.

No Textual here: widgets turn these into styled strips. Every verdict has a symbol
*and* a word, so nothing depends on colour alone (spec §7).
"""

from __future__ import annotations

from wfptui.core.trace import (
    AuditRecord,
    ClassifyRecord,
    ExpectRecord,
    NetEventRecord,
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
    return ""


def detail_of(record: TraceRecord) -> str:
    """The last column: deciding filter, or a detail."""
    if isinstance(record, ClassifyRecord):
        if record.filter:
            return record.filter
        if is_discard_layer(record.layer):
            return "(dropped packet)"
        return "(no match → permit)" if record.action == "none" else ""
    if isinstance(record, StackRecord):
        return record.detail
    if isinstance(record, NetEventRecord | AuditRecord):
        return f"filter_id {record.filter_id}" if record.filter_id is not None else ""
    if isinstance(record, ExpectRecord):
        return record.message
    if isinstance(record, PolicyRecord) and record.reauth_layers:
        return "reauth " + ", ".join(record.reauth_layers)
    return ""


def record_text(record: TraceRecord) -> str:
    """One plain line for searching and for tests."""
    _key, word, symbol = verdict_of(record)
    host = getattr(record, "host", "")
    reauth = " ↻ reauth" if isinstance(record, ClassifyRecord) and record.reauth else ""
    return f"{host} {where_of(record)} {what_of(record)}{reauth} {symbol} {word} {detail_of(record)}"
