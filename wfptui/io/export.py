"""Render a recording for reading or pasting: Mermaid sequence diagrams, JSON lines, text.

Mermaid (``wfptui export REC --format mermaid``): a ``sequenceDiagram`` with one
participant lane per host (plus ``network`` for addresses no host owns). Each packet
that crosses the wire is one message from the sender to the receiver, annotated with the
layers it crossed on each side; a packet that some layer blocked is drawn with a ``-x``
arrow and a ``Note over <host>: BLOCK at <layer> by <filter>`` (a packet the stack dropped
and indicated at a ``_DISCARD`` layer also gets ``-x`` and a "dropped" note). Socket operations
(bind / listen / connect / close classifications), stack events, policy changes and
expectation results are notes over their host.

Which host is the other end of a packet is found from the packet's ``IP_REMOTE_ADDRESS``
and the hosts' addresses in the header (no engine needed). Consecutive classification
records of the same packet word between the same two hosts form one message: outbound
layers on the sender, then inbound layers on the receiver.

Text is escaped for Mermaid: ``#``, ``;``, ``:`` and the HTML specials become entity
codes (``#35;``, ``#59;``, ``#58;`` ...), so the diagram renders in a GitHub issue.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from wfptui.core.trace import (
    ClassifyRecord,
    ExpectRecord,
    ObservedRecord,
    PolicyRecord,
    StackRecord,
    TraceRecord,
)

__all__ = ["FORMATS", "export", "mermaid_escape", "to_mermaid"]

FORMATS = ("mermaid", "jsonl", "json", "text")
NETWORK = "network"

_ESCAPES = {"#": "#35;", ";": "#59;", ":": "#58;", "<": "#lt;", ">": "#gt;", '"': "#quot;",
            "%": "#37;", "{": "#123;", "}": "#125;", "\n": " ", "\r": " ", "\t": " "}


def mermaid_escape(text: str) -> str:
    """Text safe inside a Mermaid message or note (entity codes for characters Mermaid chokes on)."""
    return "".join(_ESCAPES.get(ch, ch) for ch in str(text))


def _ident(name: str, used: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_]", "_", name) or "host"
    if base[0].isdigit():
        base = "h_" + base
    if base.lower() in ("end", "participant", "actor", "note", "loop", "alt", "opt", "par", "rect", "box"):
        base = "h_" + base
    ident = base
    n = 2
    while ident in used:
        ident = f"{base}_{n}"
        n += 1
    used.add(ident)
    return ident


@dataclass
class _Packet:
    src: str
    dst: str
    packet: str
    sides: dict[str, list[ClassifyRecord]] = field(default_factory=dict)
    inbound_seen: bool = False

    def add(self, rec: ClassifyRecord) -> None:
        self.sides.setdefault(rec.host, []).append(rec)
        if rec.direction == "inbound":
            self.inbound_seen = True

    @property
    def blocks(self) -> list[ClassifyRecord]:
        return [r for recs in self.sides.values() for r in recs if r.action == "block"]

    @property
    def discarded(self) -> list[ClassifyRecord]:
        """Discard-layer indications not caused by a block here (the stack dropped the packet)."""
        return [r for recs in self.sides.values() for r in recs
                if r.layer.endswith("_DISCARD") and r.action != "block"]


@dataclass
class _Note:
    hosts: tuple[str, ...]
    text: str


def _address_owner(hosts: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    owner: dict[str, str] = {}
    for h in hosts:
        for a in h.get("addresses") or []:
            owner[str(a).split("/")[0].lower()] = str(h.get("name"))
    return owner


def _block_note(rec: ClassifyRecord) -> str:
    by = f" by {rec.filter}" if rec.filter else ""
    reauth = " (reauth)" if rec.reauth else ""
    return f"BLOCK at {rec.layer}{by}{reauth}"


def to_mermaid(records: Iterable[TraceRecord], hosts: Sequence[Mapping[str, Any]] = (),
               title: str | None = None) -> str:
    """A Mermaid ``sequenceDiagram`` of a trace (see the module docstring)."""
    owner = _address_owner(hosts)
    host_names = [str(h.get("name")) for h in hosts if h.get("name") is not None]
    events: list[_Packet | _Note] = []
    current: _Packet | None = None

    def peer(rec: ClassifyRecord) -> str:
        addr = rec.fields.get("IP_REMOTE_ADDRESS")
        if isinstance(addr, str):
            return owner.get(addr.split("%")[0].lower(), NETWORK)
        return NETWORK

    for rec in records:
        if isinstance(rec, ClassifyRecord):
            if rec.host not in host_names:
                host_names.append(rec.host)
            if rec.packet is None:
                current = None
                op = rec.op or "classify"
                text = f"{op} at {rec.layer}" + (" (reauth)" if rec.reauth else "")
                last = events[-1] if events else None
                if (isinstance(last, _Note) and last.hosts == (rec.host,) and last.text.startswith(op + " at ")
                        and rec.action != "block" and "BLOCK" not in last.text):
                    last.text += f", {rec.layer}"
                else:
                    events.append(_Note((rec.host,), text))
                if rec.action == "block":
                    events.append(_Note((rec.host,), _block_note(rec)))
                continue
            if rec.direction == "inbound":
                src, dst = peer(rec), rec.host
            else:
                src, dst = rec.host, peer(rec)
            if (current is None or (current.src, current.dst, current.packet) != (src, dst, rec.packet)
                    or (rec.direction != "inbound" and current.inbound_seen)
                    or any(r.layer == rec.layer for r in current.sides.get(rec.host, ()))):
                current = _Packet(src, dst, rec.packet)
                events.append(current)
            current.add(rec)
        elif isinstance(rec, StackRecord):
            # a stack event does not end the packet being drawn (e.g. "connected" between the
            # ACK's ALE_FLOW_ESTABLISHED and transport classifications)
            detail = f" ({rec.detail})" if rec.detail else ""
            events.append(_Note((rec.host,), f"{rec.event}{detail}"))
        elif isinstance(rec, PolicyRecord):
            current = None
            parts = [f"+{a}" for a in rec.added] + [f"-{r}" for r in rec.removed]
            events.append(_Note((rec.host,), "policy change " + " ".join(parts)))
        elif isinstance(rec, ExpectRecord):
            current = None
            status = "ok" if rec.ok else "FAILED"
            keys = " ".join(f"{k}={v}" for k, v in rec.expect.items() if k != "raw" and v is not None)
            events.append(_Note((), f"expect {keys} {status}"))
        elif isinstance(rec, ObservedRecord):
            current = None  # a captured event: its classification is drawn alone
            events.append(_Note((rec.host,), f"observed {rec.type} #{rec.event}: {rec.verdict}"))
        # net events and audit events repeat what the blocks already show

    used: set[str] = set()
    ids: dict[str, str] = {}
    names = list(host_names)
    if any(isinstance(e, _Packet) and NETWORK in (e.src, e.dst) for e in events):
        names.append(NETWORK)
    lines = ["sequenceDiagram"]
    if title:  # a comment: `title` inside sequenceDiagram is not understood by every Mermaid version
        lines.append(f"    %% {mermaid_escape(title)}")
    addr_of = {str(h.get("name")): [str(a) for a in h.get("addresses") or []] for h in hosts}
    for name in names:
        ids[name] = _ident(name, used)
        label = name + (f" {' '.join(addr_of[name])}" if addr_of.get(name) else "")
        lines.append(f"    participant {ids[name]} as {mermaid_escape(label)}")
    span = (ids[names[0]], ids[names[-1]]) if names else ("network", "network")
    for e in events:
        if isinstance(e, _Note):
            if e.hosts:
                lines.append(f"    Note over {ids[e.hosts[0]]}: {mermaid_escape(e.text)}")
            else:
                over = span[0] if span[0] == span[1] else f"{span[0]},{span[1]}"
                lines.append(f"    Note over {over}: {mermaid_escape(e.text)}")
            continue
        blocks = e.blocks
        dropped = [] if blocks else e.discarded
        arrow = "-x" if blocks or dropped else "->>"
        parts = [mermaid_escape(e.packet)]
        for host in (e.src, e.dst):
            recs = e.sides.get(host)
            if recs:
                layers = ", ".join(r.layer + (" (reauth)" if r.reauth else "") for r in recs)
                parts.append(f"{mermaid_escape(host)}{mermaid_escape(':')} {mermaid_escape(layers)}")
        for host, recs in e.sides.items():
            if host not in (e.src, e.dst):
                parts.append(f"{mermaid_escape(host)}{mermaid_escape(':')} "
                             f"{mermaid_escape(', '.join(r.layer for r in recs))}")
        lines.append(f"    {ids[e.src]}{arrow}{ids[e.dst]}: {'<br/>'.join(parts)}")
        for b in blocks:
            lines.append(f"    Note over {ids[b.host]}: {mermaid_escape(_block_note(b))}")
        if dropped:
            d = dropped[0]
            lines.append(f"    Note over {ids[d.host]}: {mermaid_escape('dropped, indicated at ' + d.layer)}")
    return "\n".join(lines) + "\n"


def export(records: Sequence[TraceRecord], fmt: str, out: TextIO, *, hosts: Sequence[Mapping[str, Any]] = (),
           title: str | None = None) -> None:
    """Write ``records`` to ``out`` as ``mermaid``, ``jsonl``, ``json`` or ``text``."""
    if fmt == "mermaid":
        out.write(to_mermaid(records, hosts, title))
        return
    from wfptui.io.trace_output import write_trace

    write_trace(list(records), fmt, out)
