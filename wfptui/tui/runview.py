"""What the TUI shows of one run: records, per-host layer order and counts, flips.

Built off the UI thread (a run or a big recording is indexed in a worker), then
handed to the widgets, which only index into it: no per-record widgets, so a
million records cost one list.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from wfptui.core.trace import ClassifyRecord, ObservedRecord, PolicyRecord, TraceRecord
from wfptui.tui.render import is_discard_layer, partner_of


@dataclass
class LayerCounts:
    """Permits, blocks and discards seen at one layer of one host."""

    permit: int = 0
    block: int = 0
    discard: int = 0
    flipped: int = 0


@dataclass
class RunView:
    """Records plus the indexes the panes and the timeline need."""

    records: Sequence[TraceRecord]
    hosts: list[str]
    layer_order: dict[str, list[str]]
    results: Mapping[int, Any] = field(default_factory=dict)  # seq -> ClassifyResult
    counts: dict[str, dict[str, LayerCounts]] = field(default_factory=dict)
    flipped: set[int] = field(default_factory=set)  # record indexes whose verdict flipped
    block_rows: list[int] = field(default_factory=list)  # record indexes of blocks (for `b`)
    policy_rows: list[int] = field(default_factory=list)  # record indexes of policy changes (for `p`)
    ok: bool | None = None
    indexed: bool = True  # False: counts, layer order, blocks and policy rows still to come
    inputs: list[Any] | None = None  # an engine run's steps in the order they ran (live changes included)
    # A capture (``observe`` steps): the timeline shows one line per event, its ``observed``
    # record, beside the classification just before it (its "partner": render.partner_of).
    observed_rows: list[int] = field(default_factory=list)  # record indexes of observed records
    partners: dict[int, int] = field(default_factory=dict)  # observed index -> its classify index
    sim_unknown: set[int] = field(default_factory=set)  # observed indexes whose simulated action is unknown
    judge: Any = None  # event number -> core.triage.EventVerdict (the inspector's detail), when known

    @property
    def is_capture(self) -> bool:
        return bool(self.observed_rows)

    @property
    def base_rows(self) -> list[int] | None:
        """The rows the timeline shows without a filter (None: every record)."""
        return self.observed_rows or None

    @property
    def flip_count(self) -> int:
        """How many verdicts flipped (a capture: how many events)."""
        if self.is_capture:
            return sum(1 for i in self.flipped if i in self.partners)
        return len(self.flipped)

    def partner(self, index: int) -> TraceRecord:
        """The record the panes light for record ``index``: an observed event's classification."""
        j = self.partners.get(index)
        return self.records[j] if j is not None else self.records[index]

    def capture_counts(self) -> Counter[str]:
        """How many events have each verdict (agree, differ ...)."""
        out: Counter[str] = Counter()
        for i in self.observed_rows:
            r = self.records[i]
            if isinstance(r, ObservedRecord):
                out[r.verdict] += 1
        return out

    def _pair_observed(self) -> None:
        """Find the observed records and their classifications; blocks are events either side blocked."""
        records = self.records
        observed: list[int] = []
        partners: dict[int, int] = {}
        for i in range(len(records)):
            r = records[i]
            if isinstance(r, ObservedRecord):
                observed.append(i)
                if partner_of(records, i) is not None:
                    partners[i] = i - 1
        if not observed:
            return
        self.observed_rows, self.partners = observed, partners
        blocks = []
        for i in observed:
            r = records[i]
            j = partners.get(i)
            sim = records[j] if j is not None else None
            if (isinstance(r, ObservedRecord) and r.action == "block") or (
                    isinstance(sim, ClassifyRecord) and sim.action == "block"):
                blocks.append(i)
        self.block_rows = blocks

    @classmethod
    def unindexed(cls, records: Sequence[TraceRecord], hosts: Sequence[str]) -> RunView:
        """A view that shows ``records`` at once; :meth:`build` fills in the indexes later."""
        return cls(records=records, hosts=list(hosts), layer_order={h: [] for h in hosts}, indexed=False)

    @classmethod
    def build(
        cls,
        records: Sequence[TraceRecord],
        hosts: Sequence[str] = (),
        layer_order: Mapping[str, Sequence[str]] | None = None,
        results: Mapping[int, Any] | None = None,
        ok: bool | None = None,
    ) -> RunView:
        """Index ``records`` once: counts, layer order (when not given), blocks, policy changes."""
        host_list = list(hosts)
        order = {h: list(v) for h, v in (layer_order or {}).items()}
        seen: dict[str, dict[str, None]] = {}
        counts: dict[str, dict[str, LayerCounts]] = {}
        blocks: list[int] = []
        policies: list[int] = []
        for i, r in enumerate(records):
            if isinstance(r, ClassifyRecord):
                per_host = counts.get(r.host)
                if per_host is None:
                    per_host = counts[r.host] = {}
                    seen[r.host] = {}
                c = per_host.get(r.layer)
                if c is None:
                    c = per_host[r.layer] = LayerCounts()
                    seen[r.host][r.layer] = None
                if r.action == "block":
                    blocks.append(i)
                    if is_discard_layer(r.layer):
                        c.discard += 1
                    else:
                        c.block += 1
                elif is_discard_layer(r.layer):
                    c.discard += 1
                else:
                    c.permit += 1
            elif isinstance(r, PolicyRecord):
                policies.append(i)
        for h, layers in seen.items():
            if h not in host_list:
                host_list.append(h)
            listed = order.setdefault(h, [])
            listed.extend(layer for layer in layers if layer not in listed)
        for h in host_list:
            order.setdefault(h, [])
        view = cls(records=records, hosts=host_list, layer_order=order, results=dict(results or {}),
                   counts=counts, block_rows=blocks, policy_rows=policies, ok=ok)
        view._pair_observed()
        return view

    @classmethod
    def build_lazy(cls, records: Any, hosts: Sequence[str] = ()) -> RunView:
        """:meth:`build` for a recording's lazily decoded records, without decoding them all.

        ``records`` is an ``io.recording.LazyRecords``: its index API gives each record's
        kind and, for a classification, a *group* shared by the classifications that agree
        on everything but time, flow and field values (host, layer, action ...). One record
        per group is asked for its host, layer and action; the rest are counted by group.
        Same result as :meth:`build`.
        """
        first: dict[Any, tuple[str, str, str]] = {}  # group -> (host, layer, action)
        tally: Counter[Any] = Counter()
        blocks: list[int] = []
        policies: list[int] = []
        kinds: set[str] = set()
        for i, (kind, group) in enumerate(records.iter_groups()):
            kinds.add(kind)
            if kind == "classify":
                rep = first.get(group)
                if rep is None:
                    rep = first[group] = (records.host(i), records.layer(i), records.action(i))
                tally[group] += 1
                if rep[2] == "block":
                    blocks.append(i)
            elif kind == "policy":
                policies.append(i)
        host_list = list(hosts)
        order: dict[str, list[str]] = {}
        counts: dict[str, dict[str, LayerCounts]] = {}
        for group, (host, layer, action) in first.items():  # insertion order = order of first appearance
            if host not in host_list:
                host_list.append(host)
            layers = order.setdefault(host, [])
            if layer not in layers:
                layers.append(layer)
            c = counts.setdefault(host, {}).setdefault(layer, LayerCounts())
            n = tally[group]
            if is_discard_layer(layer):
                c.discard += n
            elif action == "block":
                c.block += n
            else:
                c.permit += n
        for h in host_list:
            order.setdefault(h, [])
        view = cls(records=records, hosts=host_list, layer_order=order, counts=counts,
                   block_rows=blocks, policy_rows=policies)
        if "observed" in kinds:
            view._pair_observed()
        return view

    def mark_flips(self, flipped: set[int]) -> None:
        """Remember which records flipped and count them per layer."""
        self.flipped = flipped
        for per_host in self.counts.values():
            for c in per_host.values():
                c.flipped = 0
        for i in flipped:
            r = self.records[i]
            if isinstance(r, ClassifyRecord):
                self.counts.setdefault(r.host, {}).setdefault(r.layer, LayerCounts()).flipped += 1
        # an event of a capture flipped when its classification did
        self.flipped |= {o for o, c in self.partners.items() if c in flipped}

    def result_for(self, record: TraceRecord) -> Any:
        """The full ClassifyResult of a classification, when the run kept it."""
        return self.results.get(getattr(record, "seq", -1))


def _classify_key(r: ClassifyRecord) -> tuple[Any, ...]:
    from wfptui.core.diff import record_identity  # one identity with `wfptui diff` (docs/decisions-engine.md)

    return record_identity(r)


def find_flips(old: Sequence[TraceRecord], new: Sequence[TraceRecord]) -> set[int]:
    """Indexes into ``new`` of classifications whose verdict differs from ``old``'s.

    Classifications are paired as ``wfptui diff`` pairs them (``core.diff.record_identity``:
    host, layer, packet, op, direction, reauth and the 5-tuple, not the flow id) and by
    occurrence; a classification that only exists in ``new`` counts as flipped
    when it blocks (new traffic stopped by the change shows up too).
    """
    before: dict[tuple[Any, ...], list[str]] = {}
    for r in old:
        if isinstance(r, ClassifyRecord):
            before.setdefault(_classify_key(r), []).append(r.action)
    seen: Counter[tuple[Any, ...]] = Counter()
    flipped: set[int] = set()
    for i, r in enumerate(new):
        if not isinstance(r, ClassifyRecord):
            continue
        key = _classify_key(r)
        n = seen[key]
        seen[key] += 1
        earlier = before.get(key)
        if earlier is None or n >= len(earlier):
            if r.action == "block" and old:
                flipped.add(i)
        elif (earlier[n] == "block") != (r.action == "block"):
            flipped.add(i)
    return flipped
