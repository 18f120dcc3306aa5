"""Trace records: what a run produced, in the order the engine produced it (spec §5).

Each record is frozen data with ``to_dict()`` giving the JSON object of the trace
(``{"kind": ...}``); ``record_from_dict`` is its inverse. Field values inside
``fields`` are already rendered to JSON-able form (numbers, address strings, flag
numbers) so a record means the same after a round trip through any format.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any, Union

from wfptui.core.model import Terminating

JsonDict = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ClassifyRecord:
    """One classification at one layer on one host."""

    seq: int
    t: float  # virtual seconds since the start of the run
    host: str
    layer: str  # short layer name; the trace prints FWPM_LAYER_<layer>
    layer_id: int
    packet: str | None  # SYN, SYN-ACK, ACK, DATA, RST, DATAGRAM, ICMP-ERROR, ICMP, or None
    op: str | None  # bind, listen, connect, close (socket operations), else None
    direction: str | None  # inbound | outbound | None (socket operations without one)
    flow: int | None
    reauth: bool
    action: str  # permit | block | none
    filter: str | None
    filter_id: int | None
    sublayer: str | None
    terminating: tuple[Terminating, ...]
    veto: bool
    fields: JsonDict = dc_field(default_factory=dict)
    kind: str = dc_field(default="classify", init=False)

    def to_dict(self) -> JsonDict:
        return {
            "kind": "classify",
            "seq": self.seq,
            "t": round(self.t, 6),
            "host": self.host,
            "layer": "FWPM_LAYER_" + self.layer,
            "layer_id": self.layer_id,
            "packet": self.packet,
            "op": self.op,
            "direction": self.direction,
            "flow": self.flow,
            "reauth": self.reauth,
            "action": self.action,
            "filter": self.filter,
            "filter_id": self.filter_id,
            "sublayer": self.sublayer,
            "terminating": [
                {"filter": t.filter, "filter_id": t.filter_id, "sublayer": t.sublayer,
                 "action": t.action, "hard": t.hard}
                for t in self.terminating
            ],
            "veto": self.veto,
            "fields": self.fields,
        }


@dataclass(frozen=True, slots=True)
class StackRecord:
    """What the simulated TCP/IP stack did (RST sent, data delivered, flow created ...)."""

    seq: int
    t: float
    host: str
    event: str  # e.g. rst-sent, icmp-error-sent, data-delivered, listen-completed,
    #             flow-created, flow-torn-down, connection-refused, connect-failed, ...
    flow: int | None = None
    detail: str = ""
    data: JsonDict = dc_field(default_factory=dict)
    kind: str = dc_field(default="stack", init=False)

    def to_dict(self) -> JsonDict:
        return {"kind": "stack", "seq": self.seq, "t": round(self.t, 6), "host": self.host,
                "event": self.event, "flow": self.flow, "detail": self.detail, **self.data}


@dataclass(frozen=True, slots=True)
class NetEventRecord:
    """A WFP net event as Windows logs it (FWPM_NET_EVENT_TYPE_CLASSIFY_DROP / _ALLOW, §5.7)."""

    seq: int
    t: float
    host: str
    type: str  # CLASSIFY_DROP | CLASSIFY_ALLOW
    filter_id: int | None
    layer_id: int
    direction: str  # MS_FWP_DIRECTION_IN | MS_FWP_DIRECTION_OUT
    flow: int | None = None
    data: JsonDict = dc_field(default_factory=dict)  # addresses, ports, protocol, reauthReason, isLoopback ...
    kind: str = dc_field(default="net_event", init=False)

    def to_dict(self) -> JsonDict:
        return {"kind": "net_event", "seq": self.seq, "t": round(self.t, 6), "host": self.host,
                "type": self.type, "filter_id": self.filter_id, "layer_id": self.layer_id,
                "direction": self.direction, "flow": self.flow, **self.data}


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """A Windows Security audit event (5031, 5152–5159, §6)."""

    seq: int
    t: float
    host: str
    event_id: int
    filter_id: int | None
    layer_id: int
    flow: int | None = None
    data: JsonDict = dc_field(default_factory=dict)  # Application, Direction, SourceAddress ... as in the event
    kind: str = dc_field(default="audit", init=False)

    def to_dict(self) -> JsonDict:
        return {"kind": "audit", "seq": self.seq, "t": round(self.t, 6), "host": self.host,
                "event_id": self.event_id, "filter_id": self.filter_id, "layer_id": self.layer_id,
                "flow": self.flow, **self.data}


@dataclass(frozen=True, slots=True)
class PolicyRecord:
    """A policy change applied during the run (filters added / removed on a host)."""

    seq: int
    t: float
    host: str
    added: tuple[str, ...]
    removed: tuple[str, ...]
    reauth_layers: tuple[str, ...] = ()  # ALE layers whose live flows were marked for reauthorization
    kind: str = dc_field(default="policy", init=False)

    def to_dict(self) -> JsonDict:
        return {"kind": "policy", "seq": self.seq, "t": round(self.t, 6), "host": self.host,
                "added": list(self.added), "removed": list(self.removed),
                "reauth_layers": list(self.reauth_layers)}


@dataclass(frozen=True, slots=True)
class ExpectRecord:
    """The outcome of one ``[[expect]]`` entry, checked after the run."""

    seq: int
    ok: bool
    expect: JsonDict  # the keys the entry gave
    matched: int  # how many classification records matched
    message: str
    kind: str = dc_field(default="expect", init=False)

    def to_dict(self) -> JsonDict:
        return {"kind": "expect", "seq": self.seq, "ok": self.ok, "expect": self.expect,
                "matched": self.matched, "message": self.message}


TraceRecord = Union[ClassifyRecord, StackRecord, NetEventRecord, AuditRecord, PolicyRecord, ExpectRecord]


def _terminating(items: list[JsonDict]) -> tuple[Terminating, ...]:
    return tuple(
        Terminating(filter=i["filter"], filter_id=i.get("filter_id", 0), sublayer=i["sublayer"],
                    action=i["action"], hard=bool(i["hard"]))
        for i in items
    )


def record_from_dict(d: JsonDict) -> TraceRecord:
    """Rebuild a record from its ``to_dict()`` form. Raises KeyError/ValueError on bad input."""
    kind = d["kind"]
    rest = {k: v for k, v in d.items() if k != "kind"}
    if kind == "classify":
        return ClassifyRecord(
            seq=rest["seq"], t=rest["t"], host=rest["host"],
            layer=str(rest["layer"]).removeprefix("FWPM_LAYER_"), layer_id=rest["layer_id"],
            packet=rest["packet"], op=rest["op"], direction=rest["direction"], flow=rest["flow"],
            reauth=rest["reauth"], action=rest["action"], filter=rest["filter"],
            filter_id=rest["filter_id"], sublayer=rest["sublayer"],
            terminating=_terminating(rest["terminating"]), veto=rest["veto"],
            fields=dict(rest["fields"]),
        )
    common = ("seq", "t", "host")
    if kind == "stack":
        known = {*common, "event", "flow", "detail"}
        return StackRecord(seq=rest["seq"], t=rest["t"], host=rest["host"], event=rest["event"],
                           flow=rest.get("flow"), detail=rest.get("detail", ""),
                           data={k: v for k, v in rest.items() if k not in known})
    if kind == "net_event":
        known = {*common, "type", "filter_id", "layer_id", "direction", "flow"}
        return NetEventRecord(seq=rest["seq"], t=rest["t"], host=rest["host"], type=rest["type"],
                              filter_id=rest["filter_id"], layer_id=rest["layer_id"],
                              direction=rest["direction"], flow=rest.get("flow"),
                              data={k: v for k, v in rest.items() if k not in known})
    if kind == "audit":
        known = {*common, "event_id", "filter_id", "layer_id", "flow"}
        return AuditRecord(seq=rest["seq"], t=rest["t"], host=rest["host"], event_id=rest["event_id"],
                           filter_id=rest["filter_id"], layer_id=rest["layer_id"], flow=rest.get("flow"),
                           data={k: v for k, v in rest.items() if k not in known})
    if kind == "policy":
        return PolicyRecord(seq=rest["seq"], t=rest["t"], host=rest["host"],
                            added=tuple(rest["added"]), removed=tuple(rest["removed"]),
                            reauth_layers=tuple(rest.get("reauth_layers", ())))
    if kind == "expect":
        return ExpectRecord(seq=rest["seq"], ok=rest["ok"], expect=dict(rest["expect"]),
                            matched=rest["matched"], message=rest["message"])
    raise ValueError(f"unknown trace record kind {kind!r}")
