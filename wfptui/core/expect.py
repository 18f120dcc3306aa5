"""Checking ``[[expect]]`` entries against a trace (spec §4).

An expect holds when some classification record matches every key it gives (host,
layer in any spelling, packet, op, reauth, action, filter); ``count = N`` asks for
exactly N matching records (``count = 0``: it never happens). ``action = "permit"`` also
matches ``none`` (nothing decided: the engine permits, §3.5). Packet names compare
case-insensitively. When an expect fails, the message says what was expected and the
nearest record seen: at the expected layer when there is one there, else anywhere; the
one matching the most keys, the first in the trace on a tie, named by its ``seq``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wfptui.core.layers import UnknownNameError, get_layer
from wfptui.core.scenario import Expect
from wfptui.core.trace import ClassifyRecord, ExpectRecord, TraceRecord

_KEYS = ("host", "layer", "packet", "op", "reauth", "action", "filter")


def canonical_layer(text: str) -> str:
    """Short layer name for any spelling (unknown names are upper-cased and kept)."""
    try:
        return get_layer(text).name
    except (UnknownNameError, KeyError, ValueError):
        name = text.strip().upper()
        for prefix in ("FWPM_LAYER_", "FWPS_LAYER_"):
            name = name.removeprefix(prefix)
        return name


def _wanted(e: Expect) -> dict[str, Any]:
    w: dict[str, Any] = {}
    if e.host is not None:
        w["host"] = e.host
    if e.layer is not None:
        w["layer"] = canonical_layer(e.layer)
    if e.packet is not None:
        w["packet"] = e.packet.upper()
    if e.op is not None:
        w["op"] = e.op.lower()
    if e.reauth is not None:
        w["reauth"] = bool(e.reauth)
    if e.action is not None:
        w["action"] = e.action.lower()
    if e.filter is not None:
        w["filter"] = e.filter
    return w


def _key_ok(key: str, want: Any, rec: ClassifyRecord) -> bool:
    if key == "host":
        return bool(rec.host == want)
    if key == "layer":
        return bool(rec.layer == want)
    if key == "packet":
        return bool((rec.packet or "").upper() == want)
    if key == "op":
        return bool((rec.op or "") == want)
    if key == "reauth":
        return bool(rec.reauth == want)
    if key == "action":
        return bool(rec.action == want or (want == "permit" and rec.action == "none"))
    if key == "filter":
        return bool(rec.filter == want)
    return False


def _describe(rec: ClassifyRecord) -> str:
    what = rec.packet if rec.packet is not None else (rec.op or "-")
    return (f"#{rec.seq} {rec.host} {rec.layer} {what}{' reauth' if rec.reauth else ''} "
            f"{rec.action}{' by ' + rec.filter if rec.filter else ''}")


def _expect_text(want: dict[str, Any], count: int | None) -> str:
    parts = [f"{k}={v}" for k, v in want.items()]
    if count is not None:
        parts.append(f"count={count}")
    return " ".join(parts) if parts else "(any classification)"


def check_expects(expects: Sequence[Expect], records: Sequence[TraceRecord], first_seq: int) -> list[ExpectRecord]:
    """One ExpectRecord per entry, numbered from ``first_seq``."""
    classify = [r for r in records if isinstance(r, ClassifyRecord)]
    out: list[ExpectRecord] = []
    for i, e in enumerate(expects):
        want = _wanted(e)
        matched = 0
        best: ClassifyRecord | None = None
        best_score: tuple[bool, int] = (False, -1)
        layer = want.get("layer")
        for rec in classify:
            hits = sum(1 for k, v in want.items() if _key_ok(k, v, rec))
            if hits == len(want):
                matched += 1
                continue
            # The nearest record is at the layer the user named when there is one there:
            # a same-layer record missing two keys is what they meant, not a record
            # elsewhere that happens to share more keys.
            score = (layer is not None and rec.layer == layer, hits)
            if score > best_score:
                best, best_score = rec, score
        text = _expect_text(want, e.count)
        if e.count is None:
            ok = matched >= 1
        else:
            ok = matched == e.count
        if ok:
            msg = f"ok: {text} ({matched} matching)"
        elif matched == 0:
            near = f"; nearest: {_describe(best)}" if best is not None else "; no classification at all"
            msg = f"expected {text}, but no classification matched{near}"
        else:
            msg = f"expected {text}, but {matched} classifications matched"
        keys = e.keys()
        out.append(ExpectRecord(first_seq + i, ok, keys, matched, msg))
    return out
