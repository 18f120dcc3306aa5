"""``wfptui lint``: findings that hold for every packet (issue 12 item 7; wfp-model.md §3, §4).

Every finding names the filters involved and says why in WFP terms. A finding is only
reported when it holds for *every* packet under the classifier's own rules
(``core.match`` for conditions, ``core.arbitration`` for order and outcomes); where a
condition cannot be compared exactly the linter stays silent rather than guess.

Kinds
    ``shadowed``
        A filter that is never evaluated: a filter ordered before it in the same layer
        and sublayer (``arbitration.filter_order``: effective weight, then filter id)
        always terminates (``arbitration.evaluate_filter`` says permit or block, and its
        callout's behaviour is not *assumed*) and its conditions cover the filter's
        (every packet matching the later filter matches the earlier one).
    ``duplicate``
        Filters with the same layer, sublayer, conditions (as sets), action, callout,
        arbitration flags and effective weight.
    ``overridden``
        A block that cannot veto (a static block, or an unregistered callout's) in a
        sublayer evaluated after (``arbitration.sublayer_order``) a sublayer holding a hard
        permit whose conditions cover the block's, where every filter ordered before that
        permit in its sublayer terminates hard or not at all: whenever the block matches,
        the decision is already hard when its sublayer is reached (§3.4), so the block
        never decides.
    ``never-holds``
        A field group (conditions on one field, ORed, §4.1) that no value of the field's
        type satisfies: an empty range, a comparison outside the type's range, flags
        outside it, ``FLAGS_ANY_SET 0``.
    ``unregistered-callout``
        Filters whose callout is not defined or is declared ``unregistered`` (D-UNREG:
        terminating/unknown act as a static block, or a permit with
        PERMIT_IF_CALLOUT_UNREGISTERED; inspection filters are ignored).

Coverage of one field group by another is exact for: single values (checked with
``match.condition_matches`` itself), integer ranges, address masks and comparisons
(intervals clipped to the field's type), NOT_EQUAL on integers and masks, FLAGS_* against
FLAGS_*, EQUAL_CASE_INSENSITIVE and PREFIX (a suffix test) against their own kind, and any
condition that appears identically in both groups. Anything else (security descriptors,
SIDs, tokens, other match types) is *inexact*: a filter whose coverage would depend on it
is not reported. A filter with no condition on a field is covered on that field only by a
filter that has no condition on it either (an absent field is FWP_EMPTY, §4.1).

Pairwise checks are bucketed: a covering filter is indexed by one field whose group is
a set of single values, and a filter only looks up one value it accepts per field, plus
the filters that have no such field. Sub-quadratic for real policies.

Coverage counts (``coverage``) come from a run's classification results.

Layout: the cover reasoning (pieces, field groups, ``covers``, ``never_holds``, the bucket
index) is in :mod:`wfptui.core.lint_cover`; this module turns it into findings and reports.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from wfptui.core.arbitration import evaluate_filter, filter_order, sublayer_order
from wfptui.core.lint_cover import CoverIndex, FilterInfo, Interval, covers, info_covers, never_holds
from wfptui.core.model import (
    BLOCK,
    PERMIT,
    ActionType,
    ClassifyResult,
    Filter,
    FilterFlag,
    Policy,
    Sublayer,
)

__all__ = [
    "KINDS",
    "Coverage",
    "Finding",
    "FilterCount",
    "coverage",
    "coverage_json",
    "coverage_text",
    "covers",
    "lint",
    "never_holds",
]

#: Finding kinds, in report order.
SHADOWED, DUPLICATE, OVERRIDDEN, NEVER_HOLDS, UNREGISTERED = (
    "shadowed", "duplicate", "overridden", "never-holds", "unregistered-callout")
KINDS = (SHADOWED, DUPLICATE, OVERRIDDEN, NEVER_HOLDS, UNREGISTERED)

#: Flags that change what a filter returns (§3.7): part of a duplicate's identity.
_ARBITRATION_FLAGS = int(FilterFlag.CLEAR_ACTION_RIGHT | FilterFlag.PERMIT_IF_CALLOUT_UNREGISTERED)


@dataclass(frozen=True)
class Finding:
    """One finding: ``filters[0]`` is the filter it is about; the rest are involved."""

    kind: str
    layer: str
    sublayer: str | None
    filters: tuple[Filter, ...]
    roles: tuple[str, ...]  # one per filter: "shadowed", "shadowing", "duplicate", ...
    reason: str


# ----------------------------------------------------------------------------- words


def _w(x: int) -> str:
    return f"0x{x:016x}"


def _who(f: Filter) -> str:
    return f"'{f.key}' (filterId {f.filter_id}, effective weight {_w(f.effective_weight)})"


def _conds_text(f: Filter) -> str:
    if not f.conditions:
        return "no conditions (matches every packet)"
    from wfptui.core.values import format_value

    parts = []
    for c in f.conditions:
        try:
            val = format_value(c.value, c.dtype, c.field)
        except (KeyError, ValueError):
            val = repr(c.value)
        parts.append(f"{c.field} {c.match.short} {val}")
    return "; ".join(parts)


def _sl_text(sl: Sublayer) -> str:
    return f"sublayer {sl.key} (weight {sl.weight})"


# ----------------------------------------------------------------------------- lint


def _assumed(f: Filter, policy: Policy) -> bool:
    """The filter's outcome is not known for every packet: it rests on an assumed callout
    behaviour (imports), or on a callout's rules (decided per packet, issue 15)."""
    if not f.action.is_callout:
        return False
    c = policy.callouts.get(f.callout or "")
    return c is not None and (c.assumed or bool(c.rules)) and c.returns != "unregistered"


_BOOTTIME = int(FilterFlag.BOOTTIME)


def _boot_note(f: Filter, other: Filter) -> str:
    """A boot-time filter acts before BFE has added the other one: say so (docs/decisions.md)."""
    if f.flags & _BOOTTIME and not other.flags & _BOOTTIME:
        return (f" Note: '{f.key}' has FWPM_FILTER_FLAG_BOOTTIME: it is enforced while the system boots, "
                f"before BFE adds '{other.key}' (boot-time objects are removed once BFE finishes initializing, "
                f"FwpmProviderAdd0 remarks); the finding holds for the policy as loaded.")
    return ""


def _dup_key(f: Filter) -> tuple[object, ...]:
    return (f.layer, f.sublayer, frozenset(f.conditions), f.action, f.callout,
            f.flags & _ARBITRATION_FLAGS, f.effective_weight)


def lint(policy: Policy) -> list[Finding]:
    """Every finding on ``policy`` (disabled filters do not exist for the engine, §3.7)."""
    findings: list[Finding] = []
    live = [f for f in policy.filters if not f.disabled]
    doms: dict[tuple[str, str], Interval] = {}
    infos = {id(f): FilterInfo(f, doms) for f in live}

    # never-holds
    for f in live:
        info = infos[id(f)]
        if info.never:
            fields = ", ".join(info.never)
            findings.append(Finding(
                NEVER_HOLDS, f.layer, f.sublayer, (f,), ("never-holds",),
                f"filter {_who(f)} can never match: no value of {fields} satisfies its condition(s) on that field "
                f"(conditions on one field are ORed): {_conds_text(f)}"))

    # unregistered callouts, one finding per callout
    by_callout: dict[str, list[Filter]] = {}
    for f in live:
        if f.action.is_callout:
            c = policy.callouts.get(f.callout or "")
            if c is None or c.returns == "unregistered":
                by_callout.setdefault(f.callout or "", []).append(f)
    for key, fs in by_callout.items():
        why = "is not defined" if policy.callouts.get(key) is None else "is declared unregistered"
        effects = "; ".join(f"{_who(f)} at {f.layer}: {evaluate_filter(f, policy.callouts).note}" for f in fs)
        findings.append(Finding(
            UNREGISTERED, fs[0].layer, fs[0].sublayer, tuple(fs), ("callout filter",) * len(fs),
            f"callout {key!r} {why}; filters calling it act as D-UNREG says (CALLOUT_TERMINATING/UNKNOWN: "
            f"a static block, or a permit with PERMIT_IF_CALLOUT_UNREGISTERED; CALLOUT_INSPECTION: ignored): "
            f"{effects}"))

    # duplicates
    dups: dict[tuple[object, ...], list[Filter]] = {}
    for f in live:
        dups.setdefault(_dup_key(f), []).append(f)
    dup_of: dict[int, int] = {}
    for group in dups.values():
        if len(group) < 2:
            continue
        group.sort(key=filter_order)
        for f in group:
            dup_of[id(f)] = id(group[0])
        first = group[0]
        sl = policy.sublayers.get(first.sublayer)
        out = evaluate_filter(first, policy.callouts)
        if out.outcome in (PERMIT, BLOCK) and not _assumed(first, policy):
            effect = (f"the first in evaluation order (filterId {first.filter_id}, equal weights ordered by "
                      f"filterId) always terminates ({out.note}), so the others are never evaluated")
        else:
            effect = "the later ones are redundant (the same filter evaluated again)"
        findings.append(Finding(
            DUPLICATE, first.layer, first.sublayer, tuple(group), ("duplicate",) * len(group),
            f"{len(group)} filters at {first.layer} in "
            f"{_sl_text(sl) if sl else 'sublayer ' + first.sublayer} have the same conditions, action "
            f"({first.action.short}), effective weight {_w(first.effective_weight)} and flags; {effect}. "
            f"Conditions: {_conds_text(first)}"))

    # per layer: sublayers in evaluation order, filters in evaluation order
    by_layer: dict[str, dict[str, list[Filter]]] = {}
    for f in live:
        if f.sublayer in policy.sublayers and not infos[id(f)].never:
            by_layer.setdefault(f.layer, {}).setdefault(f.sublayer, []).append(f)
    for layer, by_sl in by_layer.items():
        sls = sorted((policy.sublayers[k] for k in by_sl), key=sublayer_order)
        rank = {sl.key: i for i, sl in enumerate(sls)}
        outcomes = {}
        for fs in by_sl.values():
            fs.sort(key=filter_order)
            for i, f in enumerate(fs):
                infos[id(f)].pos = i
                outcomes[id(f)] = evaluate_filter(f, policy.callouts)
        # shadowed
        for sl in sls:
            fs = by_sl[sl.key]
            term = [infos[id(f)] for f in fs
                    if outcomes[id(f)].outcome in (PERMIT, BLOCK) and not _assumed(f, policy)]
            if not term:
                continue
            index = CoverIndex(term)
            for f in fs:
                info = infos[id(f)]
                for g in index.candidates(info):
                    if g.pos >= info.pos:
                        break
                    if dup_of.get(id(g.f), -1) == dup_of.get(id(f), -2):
                        continue  # reported as duplicates
                    if info_covers(g, info):
                        gf = g.f
                        tie = (" (equal effective weights: ordered by filterId, as the simulator does; "
                               "Windows leaves ties unspecified)") if gf.effective_weight == f.effective_weight else ""
                        findings.append(Finding(
                            SHADOWED, layer, sl.key, (f, gf), ("shadowed", "shadowing"),
                            f"filter {_who(f)} is never evaluated: in {_sl_text(sl)} at {layer}, {_who(gf)} "
                            f"comes first{tie}, always terminates ({outcomes[id(gf)].note}) and matches every "
                            f"packet it matches. Shadowing conditions: {_conds_text(gf)}. "
                            f"Shadowed conditions: {_conds_text(f)}.{_boot_note(f, gf)}"))
                        break
        # overridden blocks
        hard: list[FilterInfo] = []
        for sl in sls:
            for f in by_sl[sl.key]:
                out = outcomes[id(f)]
                if _assumed(f, policy) or (out.outcome in (PERMIT, BLOCK) and not out.hard):
                    break  # from here on the sublayer's decision may be soft
                if out.outcome == PERMIT and out.hard:
                    hard.append(infos[id(f)])
        if not hard:
            continue
        index = CoverIndex(hard)
        for sl in sls:
            for f in by_sl[sl.key]:
                out = outcomes[id(f)]
                if out.outcome != BLOCK or out.can_veto:
                    continue
                info = infos[id(f)]
                for p in index.candidates(info):
                    psl = policy.sublayers[p.f.sublayer]
                    if rank[psl.key] >= rank[sl.key] or not info_covers(p, info):
                        continue
                    pf = p.f
                    tie = (" (equal sublayer weights: ordered by key, as the simulator does; Windows leaves "
                           "the order unspecified)") if psl.weight == sl.weight else ""
                    findings.append(Finding(
                        OVERRIDDEN, layer, sl.key, (f, pf), ("overridden", "hard permit"),
                        f"block {_who(f)} in {_sl_text(sl)} never decides: {_who(pf)}, a hard permit "
                        f"({outcomes[id(pf)].note}) in {_sl_text(psl)} evaluated first at {layer}{tie}, matches "
                        f"every packet it matches, and every filter before it there terminates hard or not at "
                        f"all, so the decision is hard when {sl.key} is reached; a "
                        f"{'static block' if f.action == ActionType.FWP_ACTION_BLOCK else 'block of an unregistered callout'}"
                        f" cannot veto a hard decision. Permit conditions: {_conds_text(pf)}. Block conditions: "
                        f"{_conds_text(f)}.{_boot_note(f, pf)}"))
                    break
    order = {k: i for i, k in enumerate(KINDS)}
    findings.sort(key=lambda x: (order[x.kind], x.layer, filter_order(x.filters[0])))
    return findings


# ----------------------------------------------------------------------------- coverage


class _RunLike(Protocol):
    @property
    def records(self) -> Sequence[object]: ...

    @property
    def results(self) -> Mapping[int, ClassifyResult]: ...


@dataclass
class FilterCount:
    """How often one filter took part in a run's classifications."""

    host: str
    filter: Filter
    decided: int = 0  # the layer's decision was this filter's
    terminated: int = 0  # it ended its sublayer (terminatingFiltersInfo)
    matched: int = 0  # its conditions held (evaluated or unreached)


@dataclass
class Coverage:
    """Per host, every filter's counts, in policy order; ``unreached`` = never matched."""

    counts: list[FilterCount] = field(default_factory=list)
    classifications: int = 0

    @property
    def unreached(self) -> list[FilterCount]:
        return [c for c in self.counts if c.matched == 0]


def coverage(run: _RunLike, policies: Mapping[str, Policy]) -> Coverage:
    """Hit counts from a run (``core.engine.RunResult``) for the filters of ``policies``
    (host → policy at the start of the run; filters added during the run that matched
    are counted too). Disabled filters are left out (they do not exist for the engine)."""
    per_result: Counter[tuple[str, int]] = Counter()
    results: dict[int, ClassifyResult] = {}
    total = 0
    for rec in run.records:
        if getattr(rec, "kind", None) != "classify":
            continue
        seq = getattr(rec, "seq", 0)
        res = run.results.get(seq)
        if res is None:
            continue
        total += 1
        results[id(res)] = res
        per_result[(str(getattr(rec, "host", "")), id(res))] += 1
    table: dict[tuple[str, str], FilterCount] = {}
    for host, pol in policies.items():
        for f in pol.filters:
            if not f.disabled:
                table[(host, f.key)] = FilterCount(host, f)

    def row(host: str, f: Filter) -> FilterCount:
        c = table.get((host, f.key))
        if c is None:
            c = table[(host, f.key)] = FilterCount(host, f)
        return c

    for (host, rid), n in per_result.items():
        res = results[rid]
        if res.filter is not None:
            row(host, res.filter).decided += n
        for sr in res.sublayers:
            for fe in sr.evaluated:
                row(host, fe.filter).matched += n
            for f in sr.unreached:
                row(host, f).matched += n
            if sr.deciding is not None:
                row(host, sr.deciding.filter).terminated += n
    return Coverage(list(table.values()), total)


def coverage_json(cov: Coverage) -> dict[str, Any]:
    """JSON-able coverage: every filter's counts, then the filters no traffic reached."""

    def one(c: FilterCount) -> dict[str, Any]:
        f = c.filter
        return {"host": c.host, "filter": f.key, "filter_id": f.filter_id, "layer": "FWPM_LAYER_" + f.layer,
                "sublayer": f.sublayer, "decided": c.decided, "terminated": c.terminated, "matched": c.matched}

    return {"classifications": cov.classifications, "filters": [one(c) for c in cov.counts],
            "unreached": [{"host": c.host, "filter": c.filter.key, "filter_id": c.filter.filter_id}
                          for c in cov.unreached]}


def coverage_text(cov: Coverage) -> str:
    """Coverage for people: a table per host, then the filters no traffic reached."""
    reached = len(cov.counts) - len(cov.unreached)
    lines = [f"coverage: {cov.classifications} classifications; {reached} of {len(cov.counts)} filters "
             f"matched some traffic, {len(cov.unreached)} never reached"]
    host = None
    for c in cov.counts:
        if c.host != host:
            host = c.host
            lines.append(f"  host {host}:  decided terminated  matched  filter")
        f = c.filter
        lines.append(f"  {'':{len(host) + 6}}{c.decided:>8} {c.terminated:>10} {c.matched:>8}  {f.key} "
                     f"(filterId {f.filter_id}, FWPM_LAYER_{f.layer}, sublayer {f.sublayer})")
    if cov.unreached:
        lines.append("  never reached: " + ", ".join(f"{c.host}/{c.filter.key}" for c in cov.unreached))
    return "\n".join(lines) + "\n"
