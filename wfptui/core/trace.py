"""Trace records: what a run produced, in the order the engine produced it (spec §5).

Each record is frozen data with ``to_dict()`` giving the JSON object of the trace
(``{"kind": ...}``); ``record_from_dict`` is its inverse. Field values inside
``fields`` are already rendered to JSON-able form (numbers, address strings, flag
numbers) so a record means the same after a round trip through any format.

A run's records are a ``Trace``: a read-only sequence in which record ``i`` has seq
``i + 1``. The engine stores classifications and stack events there as compact rows
(the outcome of a classification is shared by every packet of a flow while the policy
stays; see ``Trace``), and each read builds the real frozen record from its row.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any, NamedTuple, Union, overload

from wfptui.core.model import ClassifyResult, Terminating

JsonDict = dict[str, Any]


# The two record kinds a trace holds by the hundred thousand are plain slots dataclasses,
# immutable by convention (nothing assigns to a record): a frozen dataclass's __init__ sets
# each field through object.__setattr__, several times slower, and records are built on every
# read of a trace row.
@dataclass(slots=True)
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


@dataclass(slots=True)  # see ClassifyRecord
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


@dataclass(frozen=True, slots=True)
class ObservedRecord:
    """One event of a capture (an ``observe`` step), observed next to simulated.

    ``event`` is the event's 1-based index in the capture; ``action``/``filter_id`` are
    what the capture says; ``verdict`` is ``core.triage.compare``'s word (agree,
    other_filter, differ, unknown, not_simulated)."""

    seq: int
    t: float
    host: str
    event: int
    type: str
    action: str | None  # observed: permit | block | None
    filter_id: int | None  # observed run-time filter id
    matched_by: str | None  # id | key | name | None
    verdict: str
    unknown_fields: tuple[str, ...] = ()
    kind: str = dc_field(default="observed", init=False)

    def to_dict(self) -> JsonDict:
        return {"kind": "observed", "seq": self.seq, "t": round(self.t, 6), "host": self.host,
                "event": self.event, "type": self.type, "action": self.action, "filter_id": self.filter_id,
                "matched_by": self.matched_by, "verdict": self.verdict,
                "unknown_fields": list(self.unknown_fields)}


TraceRecord = Union[ClassifyRecord, StackRecord, NetEventRecord, AuditRecord, PolicyRecord, ExpectRecord,
                    ObservedRecord]


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
    if kind == "observed":
        return ObservedRecord(seq=rest["seq"], t=rest["t"], host=rest["host"], event=rest["event"],
                              type=rest["type"], action=rest["action"],
                              filter_id=None if rest["filter_id"] is None else int(rest["filter_id"]),
                              matched_by=rest["matched_by"], verdict=rest["verdict"],
                              unknown_fields=tuple(rest.get("unknown_fields", ())))
    if kind == "expect":
        return ExpectRecord(seq=rest["seq"], ok=rest["ok"], expect=dict(rest["expect"]),
                            matched=rest["matched"], message=rest["message"])
    raise ValueError(f"unknown trace record kind {kind!r}")


# ----------------------------------------------------------------------------- compact trace

class Outcome(NamedTuple):
    """What a classification decided, shared by every row of that (view, policy
    generation); built once per view and policy change (``core.sim``)."""

    layer: str  # short layer name
    layer_id: int
    action: str
    filter: str | None  # the deciding filter's key
    filter_id: int | None
    sublayer: str | None  # the deciding sublayer's key
    terminating: tuple[Terminating, ...]
    veto: bool
    fields: JsonDict  # rendered values
    result: ClassifyResult  # the full arbitration result


def classify_values(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """The values of a classify row's record after seq and t, in ``ClassifyRecord``'s order
    (what ``replay --check`` compares with a recorded classification's, core/diff.py)."""
    _, out, host, packet, op, direction, flow, reauth = row
    # Outcome's fields in declaration order (unpacking is cheaper than 9 attribute reads)
    layer, layer_id, action, filt, filter_id, sublayer, terminating, veto, fields, _ = out
    return (host, layer, layer_id, packet, op, direction, flow, reauth, action, filt, filter_id, sublayer,
            terminating, veto, fields)


def classify_row(row: tuple[Any, ...], seq: int, t: float) -> ClassifyRecord:
    """The ClassifyRecord of a row ``(classify_row, outcome, host, packet, op, direction,
    flow, reauth)`` (``outcome``: an ``Outcome``)."""
    return ClassifyRecord(seq, t, *classify_values(row))


def stack_values(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """The values of a stack row's record after seq and t, in ``StackRecord``'s order, its
    ``data`` the row's own dict (what ``replay --check`` compares, core/diff.py)."""
    _, host, event, detail, flow, data = row
    return (host, event, flow, detail, data)


def stack_row(row: tuple[Any, ...], seq: int, t: float) -> StackRecord:
    """The StackRecord of a row ``(stack_row, host, event, detail, flow, data)`` (``data``
    copied: a row may be shared by many records)."""
    host, event, flow, detail, data = stack_values(row)
    return StackRecord(seq, t, host, event, flow, detail, dict(data))


class Trace(Sequence[TraceRecord]):
    """A run's records in seq order; record ``i`` has seq ``i + 1``.

    ``items[i]`` is either a record object or a compact row — a tuple whose first
    element builds the record: ``row[0](row, i + 1, times[i])``. ``times[i]`` is the
    virtual time of record ``i``. Reads build a fresh (equal) record each time; the
    rows of a flow's steady packets are shared tuples, so the engine's per-packet cost
    is a list extend (benchmarks/README.md, "## replay"). Append-only while the engine
    runs; read-only after."""

    __slots__ = ("items", "times")

    def __init__(self, records: Sequence[TraceRecord] = ()) -> None:
        self.items: list[Any] = list(records)
        self.times: list[float] = [getattr(r, "t", 0.0) for r in records]

    def append(self, record: TraceRecord) -> None:
        """Append a record object (its seq must be ``len(self) + 1``)."""
        self.items.append(record)
        self.times.append(getattr(record, "t", 0.0))

    def __len__(self) -> int:
        return len(self.items)

    @overload
    def __getitem__(self, index: int) -> TraceRecord: ...

    @overload
    def __getitem__(self, index: slice) -> list[TraceRecord]: ...

    def __getitem__(self, index: int | slice) -> TraceRecord | list[TraceRecord]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self.items)))]
        item = self.items[index]
        if type(item) is tuple:
            if index < 0:
                index += len(self.items)
            record: TraceRecord = item[0](item, index + 1, self.times[index])
            return record
        rec: TraceRecord = item
        return rec

    def __iter__(self) -> Iterator[TraceRecord]:
        times = self.times
        for i, item in enumerate(self.items):
            yield item[0](item, i + 1, times[i]) if type(item) is tuple else item

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (Trace, list, tuple)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable while the run builds it

    def __repr__(self) -> str:
        return f"<Trace of {len(self.items)} records>"

    def result(self, seq: int) -> ClassifyResult | None:
        """The full arbitration result of classification record ``seq`` (None if the
        record is not a classification)."""
        if 1 <= seq <= len(self.items):
            item = self.items[seq - 1]
            if type(item) is tuple and item[0] is classify_row:
                out: Outcome = item[1]
                res: ClassifyResult = out.result
                return res
        return None


class TraceResults(Mapping[int, ClassifyResult]):
    """``RunResult.results``: classification seq → its full ClassifyResult, read from the
    trace's rows (no second per-classification structure while the engine runs)."""

    __slots__ = ("trace",)

    def __init__(self, trace: Trace) -> None:
        self.trace = trace

    def __getitem__(self, seq: int) -> ClassifyResult:
        res = self.trace.result(seq) if type(seq) is int else None
        if res is None:
            raise KeyError(seq)
        return res

    def __iter__(self) -> Iterator[int]:
        for i, item in enumerate(self.trace.items):
            if type(item) is tuple and item[0] is classify_row:
                yield i + 1

    def __len__(self) -> int:
        return sum(1 for item in self.trace.items if type(item) is tuple and item[0] is classify_row)
