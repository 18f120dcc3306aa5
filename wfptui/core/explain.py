"""Packet-tracer rendering of one classification (spec §2 ``wfptui explain``; wfp-model.md §3.3–§3.6).

:func:`explain_text` prints, like Cisco ASA ``packet-tracer``, one *phase* per sublayer in
evaluation order (name, weight), each matching filter with its conditions (field, match,
value, and whether that condition held) and its effective weight, which filter ended the
sublayer, the sublayer's result and its effect on the layer's decision, then how the
final decision came about (hard/soft, veto, or nothing decided = permitted by default).
:func:`explain_json` gives the same as one JSON-able dict whose ``action`` and
``filter`` mean what they mean in the trace (spec §5).

Both take the ``ClassifyResult`` and the values that were classified; they never
classify themselves, so what is explained is exactly what the engine decided.

One model, three renderings (issue 13 item 3): :func:`explain` builds an
:class:`Explanation` (sublayers in evaluation order, each filter with its outcome and
conditions, each sublayer's effect, the :class:`Decision`, the near misses);
:func:`explain_text`, :func:`explain_json` and the TUI's inspector render it. The
hard/soft/veto sentence is written once, in :meth:`Decision.sentence`; the inspector
builds a :class:`Decision` from a recorded verdict when the full arbitration was not kept.
(``core.arbitration``'s per-filter notes are the classifier's own words and stay there.)
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wfptui.core.arbitration import filter_order, sublayer_order
from wfptui.core.layers import Layer, get_layer
from wfptui.core.match import condition_groups, condition_matches
from wfptui.core.model import (
    BLOCK,
    EMPTY,
    NONE,
    PERMIT,
    ClassifyResult,
    Condition,
    Filter,
    FilterEval,
    FilterFlag,
    MatchType,
    Policy,
    SublayerResult,
    Value,
)
from wfptui.core.values import format_value, json_value

if TYPE_CHECKING:
    from wfptui.core.triage import Simulated

__all__ = ["NEAR_MISS_LIMIT", "ConditionCheck", "Decision", "Explanation", "FilterStep", "NearMiss", "OTHERS_EMPTY",
           "SublayerStep",
           "explain", "explain_json", "explain_text", "final_sentence", "near_miss_lines", "near_misses",
           "observed_near_misses", "render_json",
           "render_text"]

#: How many near misses the text renderings (explain text, the inspector) show.
NEAR_MISS_LIMIT = 10


@dataclass(frozen=True)
class NearMiss:
    """A filter at the layer that failed on exactly one field (issue 16 item 6).

    ``wants`` is what the filter's condition group on ``field`` accepts (its conditions
    ORed, as text); ``got`` is the packet's value of that field, as text.
    """

    filter: Filter
    sublayer: str
    field: str
    wants: str
    got: str

    def text(self) -> str:
        """``allow-web: IP_LOCAL_PORT is 81, filter wants 80``."""
        return f"{self.filter.key}: {self.field} is {self.got}, filter wants {self.wants}"

    def to_json(self) -> dict[str, str]:
        return {"filter": self.filter.key, "sublayer": self.sublayer, "field": self.field,
                "wants": self.wants, "got": self.got}


def _wants(c: Condition) -> str:
    value = _fmt(c.value, c.dtype, c.field)
    return value if c.match == MatchType.FWP_MATCH_EQUAL else f"{c.match.short} {value}"


def near_misses(policy: Policy, layer: Layer | str, values: Mapping[str, Value],
                ored: bool = True, unknown: Collection[str] = ()) -> list[NearMiss]:
    """The enabled filters at ``layer`` that did not match ``values`` because of exactly one
    condition group (``core.match.condition_groups`` with the classifier's ``ored`` rule, so a
    group of ORed conditions on one field counts as one field), in evaluation order:
    sublayer weight descending, then filter weight descending (``core.arbitration``).

    ``unknown``: fields whose value is not known (a captured event's evidence lacks them);
    their conditions count neither as failed nor as held, so a filter is a near miss when
    exactly one group on a known field fails."""
    lay = get_layer(layer) if isinstance(layer, str) else layer
    found: list[tuple[tuple[int, str], tuple[int, int, str], NearMiss]] = []
    for f in policy.filters:
        if f.layer != lay.name or f.flags & FilterFlag.DISABLED:
            continue
        failed = [(fld, conds) for fld, conds in condition_groups(f.conditions, ored)
                  if fld not in unknown and not any(condition_matches(c, values.get(fld, EMPTY)) for c in conds)]
        if len(failed) != 1:
            continue
        fld, conds = failed[0]
        got = values.get(fld, EMPTY)
        field = lay.field(fld)
        got_text = "FWP_EMPTY" if got is EMPTY else _fmt(got, field.dtype if field is not None else None, fld)
        sl = policy.sublayers.get(f.sublayer)
        order = sublayer_order(sl) if sl is not None else (0, f.sublayer)
        found.append((order, filter_order(f),
                      NearMiss(f, f.sublayer, fld, " or ".join(_wants(c) for c in conds), got_text)))
    found.sort(key=lambda t: (t[0], t[1]))
    return [t[2] for t in found]


def observed_near_misses(sim: Simulated, policy: Policy, ored: bool = True) -> list[NearMiss]:
    """:func:`near_misses` of a captured event's simulated classification (``sim``: its
    ``core.triage.Simulated``) over the values the evidence gave: a field it does not give as a
    value (unknown, or ALE_USER_ID, which core.triage settles from the user evidence) neither
    fails nor holds, so a near miss failed on exactly one field the evidence shows. Used by
    ``explain --event`` and the TUI's inspector."""
    layer = sim.result.layer
    unknown = {lf.name for lf in layer.fields} - set(sim.values)
    return near_misses(policy, layer, sim.values, ored, unknown)


def near_miss_lines(near: Sequence[NearMiss], limit: int = NEAR_MISS_LIMIT) -> list[str]:
    """One line per near miss (at most ``limit``), then how many more there are."""
    lines = [f"{n.text()}  [sublayer '{n.sublayer}']" for n in near[:limit]]
    if len(near) > limit:
        lines.append(f"... and {len(near) - limit} more")
    return lines



def _dtype_of(result: ClassifyResult, fld: str) -> Any:
    lf = result.layer.field(fld)
    return lf.dtype if lf is not None else None


def _fmt(value: Value, dtype: Any, fld: str) -> str:
    try:
        return format_value(value, dtype, fld)
    except (KeyError, ValueError):  # a field the catalogue does not know: plain repr
        return repr(value)


def _json(value: Value, dtype: Any, fld: str) -> object:
    try:
        return json_value(value, dtype, fld)
    except (KeyError, ValueError):
        return repr(value)


def _label(f: Filter) -> str:
    return f"'{f.key}'" + (f" ({f.name})" if f.name and f.name != f.key else "")


def _weight(w: int) -> str:
    return f"0x{w:016x}"


def _action_words(action: str, hard: bool) -> str:
    return f"{'hard' if hard else 'soft'} {action}"


class _Walk:
    """Replays the layer's running decision over the sublayer results, for the words."""

    def __init__(self) -> None:
        self.action: str | None = None
        self.hard = False
        self.filter: Filter | None = None

    def effect_text(self, sr: SublayerResult) -> str:
        d = sr.deciding
        if sr.effect == "none" or d is None:
            return "none: this sublayer decided nothing"
        who = _label(self.filter) if self.filter else "(none)"
        prev = f"the {_action_words(self.action or '', self.hard)} of {who}"
        if sr.effect == "decided":
            text = "decided: the first decision at this layer"
        elif sr.effect == "overrode":
            text = f"overrode {prev} (it was soft: FWPS_RIGHT_ACTION_WRITE was set)"
        elif sr.effect == "veto":
            text = (f"veto: a callout block against {prev}; the traffic is blocked "
                    "and the conflict is audited (event 5153)")
        elif self.hard:
            text = f"kept: the {self.action} of {who} is hard; a lower sublayer cannot change it"
        else:
            text = f"kept: agrees with {prev}, which stays the deciding filter"
        if sr.effect in ("decided", "overrode"):
            self.action, self.hard, self.filter = sr.action, sr.hard, d.filter
        elif sr.effect == "veto":
            self.action, self.hard, self.filter = BLOCK, True, d.filter
        return text


@dataclass(frozen=True)
class Decision:
    """A classification's final decision and why it stood: the hard/soft/veto sentence.

    ``filter`` and ``vetoed`` are filter labels as explain prints them (``'key' (name)``);
    ``vetoed``: the hard permit a callout veto overrode, when known. Built from a
    ClassifyResult by :meth:`of`, or by a caller that has only a recorded verdict.
    """

    action: str  # permit | block | none
    filter: str | None = None
    sublayer: str | None = None
    hard: bool = False
    veto: bool = False
    silent: bool = False
    vetoed: str | None = None
    #: the block was absorbed (FWPS_CLASSIFY_OUT_FLAG_ABSORB): it also reaches no discard layer;
    #: ``pended``: ... because the callout pended the classification (core.pend)
    absorbed: bool = False
    pended: bool = False

    @classmethod
    def of(cls, result: ClassifyResult) -> Decision:
        if result.action == NONE or result.filter is None or result.sublayer is None:
            return cls(NONE)
        vetoed = None
        if result.veto:
            vetoed = next(
                (sr.deciding.filter for sr in result.sublayers
                 if sr.deciding is not None and sr.action == PERMIT and sr.hard
                 and sr.effect in ("decided", "overrode")),
                None,
            )
        return cls(result.action, _label(result.filter), result.sublayer.key, result.hard, result.veto,
                   result.silent, _label(vetoed) if vetoed is not None else None, result.absorbed,
                   result.pended is not None)

    @property
    def decided(self) -> bool:
        return self.action != NONE and self.filter is not None and self.sublayer is not None

    def reason(self) -> str:
        """Why the decision stood: hard or soft, a veto, a silent drop."""
        if not self.decided:
            return "nothing decided: permitted by default (action none)"
        if self.veto:
            target = f" of filter {self.vetoed}" if self.vetoed else ""
            why = f"veto: a callout block overrode the hard permit{target}; audit 5153"
        elif self.action == BLOCK:
            why = ("hard block; lower sublayers cannot override" if self.hard
                   else "soft block; no lower sublayer permitted")
        else:
            why = ("hard permit; only a callout veto in a lower sublayer could block" if self.hard
                   else "soft permit; no lower sublayer blocked")
        if self.pended and self.action == BLOCK:
            why += ("; pended (FwpsPendOperation0): absorbed, no discard layer, no net event, no audit; "
                    "completed later with a reauthorization")
        elif self.absorbed and self.action == BLOCK:
            why += "; absorbed (FWPS_CLASSIFY_OUT_FLAG_ABSORB): no discard layer, no net event, no audit"
        elif self.silent and self.action == BLOCK:
            why += "; silent drop: no RST or ICMP error, no net event, no audit"
        return why

    def sentence(self) -> str:
        """``BLOCK by filter 'x' in sublayer 'y' (hard block; lower sublayers cannot override)``."""
        if not self.decided:
            return self.reason()
        return f"{self.action.upper()} by filter {self.filter} in sublayer '{self.sublayer}' ({self.reason()})"


def final_sentence(result: ClassifyResult) -> str:
    """One sentence: the final decision and why it stood (:meth:`Decision.sentence`)."""
    return f"Final: {Decision.of(result).sentence()}"


@dataclass(frozen=True)
class ConditionCheck:
    """One condition of a filter against the classified values."""

    condition: Condition
    held: bool

    @property
    def text(self) -> str:
        """The condition's value as text (``core.values``)."""
        c = self.condition
        return _fmt(c.value, c.dtype, c.field)


@dataclass(frozen=True)
class FilterStep:
    """A filter evaluated in a sublayer: its outcome, conditions and whether it ended the sublayer."""

    eval: FilterEval
    conditions: tuple[ConditionCheck, ...]
    ends: bool

    @property
    def filter(self) -> Filter:
        return self.eval.filter


@dataclass(frozen=True)
class SublayerStep:
    """A sublayer in evaluation order: its filters, its result and its effect on the layer."""

    result: SublayerResult
    filters: tuple[FilterStep, ...]
    effect_text: str


@dataclass(frozen=True)
class Explanation:
    """One classification explained: what every rendering shows (module docstring)."""

    result: ClassifyResult
    values: Mapping[str, Value]
    sublayers: tuple[SublayerStep, ...]
    decision: Decision
    near: tuple[NearMiss, ...] | None = None


def explain(result: ClassifyResult, values: Mapping[str, Value] | None = None,
            near: Sequence[NearMiss] | None = None,
            held: Callable[[Condition], bool | None] | None = None) -> Explanation:
    """The model of ``result`` (``values``: what was classified; None: not known, so no
    condition checks; ``near``: :func:`near_misses`, when wanted). ``held``: how a condition
    was decided where the values do not say (a captured event's ALE_USER_ID, which triage
    decides by an access check of the evidence's token, ``core.triage.evidence_held``);
    None from it: by the values, as for every other condition."""
    walk = _Walk()
    steps = []

    def check(c: Condition) -> bool:
        assert values is not None
        h = held(c) if held is not None else None
        return condition_matches(c, values.get(c.field, EMPTY)) if h is None else h

    for sr in result.sublayers:
        filters = tuple(
            FilterStep(fe, () if values is None else tuple(
                ConditionCheck(c, check(c)) for c in fe.filter.conditions),
                fe is sr.deciding)
            for fe in sr.evaluated)
        steps.append(SublayerStep(sr, filters, walk.effect_text(sr)))
    return Explanation(result, values or {}, tuple(steps), Decision.of(result),
                       tuple(near) if near is not None else None)


def _filter_lines(step: FilterStep) -> list[str]:
    fe = step.eval
    f = fe.filter
    tie = ", tie: same weight as another matching filter (ordered by filter id)" if fe.tie else ""
    lines = [f"  filter {_label(f)} id {f.filter_id} ({f.filter_id:#x}), weight {_weight(f.effective_weight)}, "
             f"action {f.action.short}{' -> callout ' + repr(f.callout) if f.callout else ''}{tie}"]
    if not f.conditions:
        lines.append("      (no conditions: matches everything)")
    lines += [f"      [{'x' if c.held else ' '}] {c.condition.field} {c.condition.match.short} {c.text}"
              for c in step.conditions]
    marker = "  <- ends the sublayer" if step.ends else ""
    note = f" ({fe.note})" if fe.note else ""
    lines.append(f"      => {fe.outcome}{note}{marker}")
    return lines


#: Where Microsoft's pages disagree, the choice the simulator made, shown at the layers a
#: user meets it (docs/decisions-engine.md, "Wildcard binds" and "ICMP errors").
_MODEL_NOTES: dict[str, str] = {
    "ALE_RESOURCE_ASSIGNMENT": "Note (wfptui's reading, the docs disagree): IS_WILDCARD_BIND is set for a port-0 "
                               "bind and for a wildcard local address; an unspecified local address is FWP_EMPTY.",
    "ALE_AUTH_LISTEN": "Note (wfptui's reading of \"ALE Layers\"): a listener bound to no specific address "
                       "(0.0.0.0, ::) has IP_LOCAL_ADDRESS FWP_EMPTY here.",
    "INBOUND_ICMP_ERROR": "Note (wfptui's reading, the docs disagree): a received ICMP error crosses "
                          "INBOUND_IPPACKET and this layer, not INBOUND_TRANSPORT.",
    "OUTBOUND_ICMP_ERROR": "Note (\"UDP Packet Flows\"): a sent ICMP error crosses this layer, then "
                           "OUTBOUND_TRANSPORT and OUTBOUND_IPPACKET.",
}


def model_note(layer_name: str) -> str | None:
    """The simulator's documented choice for this layer, if any (``_MODEL_NOTES``)."""
    base = layer_name.removesuffix("_DISCARD")
    return _MODEL_NOTES.get(base[:-3] if base.endswith(("_V4", "_V6")) else base)


def explain_text(result: ClassifyResult, values: Mapping[str, Value],
                 near: Sequence[NearMiss] | None = None) -> str:
    """The packet-tracer text (module docstring); with ``near`` (:func:`near_misses`), a
    "Near misses" section just before the final sentence."""
    return render_text(explain(result, values, near))


#: What the text says of the fields not listed: they were classified as FWP_EMPTY.
OTHERS_EMPTY = "(every other field is FWP_EMPTY)"


def render_text(ex: Explanation, others: str = OTHERS_EMPTY) -> str:
    """:func:`explain_text` of a built :class:`Explanation`; ``others``: what is said of the
    fields not listed (a captured event's are unknown, not empty)."""
    result, values = ex.result, ex.values
    lay = result.layer
    out = [f"Layer: {lay.name} (layer id {lay.layer_id})", "Values classified:"]
    if values:
        width = max(len(k) for k in values)
        for k, v in values.items():
            out.append(f"  {k:<{width}} = {_fmt(v, _dtype_of(result, k), k)}")
    out.append(f"  {others}")
    note = model_note(lay.name)
    if note is not None:
        out.append(note)
    if not ex.sublayers:
        out.append("")
        out.append("No filters at this layer.")
    for phase, step in enumerate(ex.sublayers, 1):
        sr = step.result
        sl = sr.sublayer
        out.append("")
        out.append(f"Phase {phase}: sublayer '{sl.key}'{' (' + sl.name + ')' if sl.name and sl.name != sl.key else ''}"
                   f", weight {sl.weight} (0x{sl.weight:04x})")
        if not step.filters:
            out.append("  no matching filter")
        for fs in step.filters:
            out += _filter_lines(fs)
        for f in sr.unreached:
            out.append(f"  unreached: filter {_label(f)} id {f.filter_id} ({f.filter_id:#x}), weight {_weight(f.effective_weight)} "
                       f"(matches, but the sublayer had already decided)")
        if sr.deciding is None:
            out.append("  Result: NONE")
        else:
            out.append(f"  Result: {sr.action.upper()} ({_action_words(sr.action, sr.hard)}) "
                       f"by filter {_label(sr.deciding.filter)}")
        out.append(f"  Effect: {step.effect_text}")
    if result.terminating:
        out.append("")
        out.append("Terminating filters: " + ", ".join(
            f"{t.filter} ({t.sublayer}, {t.action}{', hard' if t.hard else ''})" for t in result.terminating))
    if ex.near is not None:  # before the final sentence, which stays the last line
        out.append("")
        out.append("Near misses (filters at this layer that failed on exactly one field):")
        out += [f"  {line}" for line in near_miss_lines(ex.near)] or ["  none"]
    out.append("")
    out.append(f"Final: {ex.decision.sentence()}")
    return "\n".join(out) + "\n"


def _filter_json(step: FilterStep) -> dict[str, Any]:
    fe = step.eval
    f = fe.filter
    return {
        "filter": f.key,
        "filter_id": f.filter_id,
        "name": f.name,
        "action": f.action.short,
        "callout": f.callout,
        "outcome": fe.outcome,
        "hard": fe.hard,
        "effective_weight": f.effective_weight,
        "tie": fe.tie,
        "note": fe.note,
        "conditions": [
            {"field": c.condition.field, "match": c.condition.match.short,
             "value": _json(c.condition.value, c.condition.dtype, c.condition.field),
             "text": c.text, "matched": c.held}
            for c in step.conditions
        ],
    }


def explain_json(result: ClassifyResult, values: Mapping[str, Value],
                 near: Sequence[NearMiss] | None = None,
                 held: Callable[[Condition], bool | None] | None = None) -> dict[str, Any]:
    """The same explanation as a JSON-able dict (``action``/``filter`` as in the trace, spec §5);
    with ``near``, every near miss as ``near_misses`` (not capped: a machine reads it);
    ``held`` as for :func:`explain`."""
    return render_json(explain(result, values, near, held))


def render_json(ex: Explanation) -> dict[str, Any]:
    """:func:`explain_json` of a built :class:`Explanation`."""
    result, values = ex.result, ex.values
    sublayers = []
    for step in ex.sublayers:
        sr = step.result
        sublayers.append({
            "sublayer": sr.sublayer.key,
            "weight": sr.sublayer.weight,
            "action": sr.action,
            "hard": sr.hard,
            "effect": sr.effect,
            "effect_text": step.effect_text,
            "deciding": sr.deciding.filter.key if sr.deciding else None,
            "filters": [_filter_json(fs) for fs in step.filters],
            "unreached": [
                {"filter": f.key, "filter_id": f.filter_id, "effective_weight": f.effective_weight}
                for f in sr.unreached
            ],
        })
    return {
        "action": result.action,
        "filter": result.filter.key if result.filter else None,
        "filter_id": result.filter.filter_id if result.filter else None,
        "sublayer": result.sublayer.key if result.sublayer else None,
        "hard": result.hard,
        "veto": result.veto,
        "silent": result.silent,
        "layer": result.layer.fwpm_name,
        "layer_id": result.layer.layer_id,
        "values": {k: _json(v, _dtype_of(result, k), k) for k, v in values.items()},
        "sublayers": sublayers,
        "terminating": [
            {"filter": t.filter, "filter_id": t.filter_id, "sublayer": t.sublayer, "action": t.action, "hard": t.hard}
            for t in result.terminating
        ],
        "explanation": f"Final: {ex.decision.sentence()}",
        **({"near_misses": [n.to_json() for n in ex.near]} if ex.near is not None else {}),
    }
