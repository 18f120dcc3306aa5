"""Filter arbitration: one classification at one layer (wfp-model.md §3.3–§3.6).

Rules, as implemented (both classifiers below implement exactly these):

Inside a sublayer (§3.3)
    The enabled filters of the layer and sublayer whose conditions match (core.match,
    §4.1) are evaluated by effective weight, highest first. The first one that returns
    permit or block ends the sublayer; continue, inspection and skipped filters pass on.
    Matching filters after it are *unreached*. Equal effective weights are ordered by
    ``filter_id`` ascending, then ``key`` (Windows leaves the order unspecified, §3.2/Q5),
    and the matching filters involved are flagged ``tie=True``. Disabled filters
    (FilterFlag.DISABLED) do not exist for the engine (§3.7).

What a filter returns (§3.1, §3.4)
    * static BLOCK: block, hard. Static PERMIT: permit, soft unless CLEAR_ACTION_RIGHT.
      Static CONTINUE (or NONE): continue.
    * callout actions run ``policy.callouts[filter.callout]``, whose classifyFn returns
      ``Callout.returns`` -- or, for a callout with ``rules`` (issue 15), the action of its
      first rule whose conditions hold for the packet (core.match semantics, same-field
      conditions always ORed: the callout's own code), else ``returns`` (its default).
      ``absorb`` is a block with FWPS_CLASSIFY_OUT_FLAG_ABSORB: silent. A callout permit
      is soft unless the filter has CLEAR_ACTION_RIGHT or the rule (else the callout) is
      declared ``hard``; a callout block is soft unless the rule (else the callout) is
      ``hard``. CALLOUT_INSPECTION never terminates: a permit/block from its callout is
      treated as continue (and the note says so). The note names the rule that decided
      (``callout 'c' rule 1 (IP_REMOTE_PORT = 443): block, hard``) or the default.
    * an unregistered callout (``returns == "unregistered"`` or a key missing from
      ``policy.callouts``): CALLOUT_TERMINATING/UNKNOWN filters act as a static BLOCK
      (hard), or as a static PERMIT with PERMIT_IF_CALLOUT_UNREGISTERED; CALLOUT_INSPECTION
      filters are *skipped* (D-UNREG).

Across sublayers (§3.4, §3.6)
    Every sublayer that has filters at the layer is evaluated, highest weight first;
    equal sublayer weights are ordered by sublayer key (Q5). A sublayer's decision
    enters the layer's decision with one ``effect``:

    * ``decided``: the first decision of the layer.
    * ``overrode``: the current decision was soft (FWPS_RIGHT_ACTION_WRITE set) and this
      sublayer replaced it — with the other action, or with the same action made hard.
    * ``kept``: the current decision stands: it is hard and this sublayer could not change
      it, or this sublayer agreed with it (same action, not harder). When two soft
      decisions agree, the first one stays the deciding filter.
    * ``veto``: the current decision is a hard permit and this sublayer's terminating filter
      is a *callout* that returned block: the traffic is blocked, ``veto=True`` (the
      engine logs audit 5153). A block from an unregistered callout is a static block
      and cannot veto.
    * ``none``: the sublayer decided nothing.

    A vetoed block is hard (the write right stays cleared). If no sublayer decides, the
    result is action ``none``: the engine permits (§3.5). ``silent`` is set when the
    standing block came from a callout declared ``silent`` (§2.4).

``ClassifyResult.sublayers`` lists every sublayer that has at least one enabled filter
at the layer (built-in sublayers without filters there do nothing and are omitted);
``terminating`` lists each deciding sublayer's terminating filter in sublayer order
(terminatingFiltersInfo, D-QUAR).

Two classifiers give identical results:

* :func:`classify_naive` — a straightforward scan of every filter, the reference;
* :func:`compile_policy` → :class:`CompiledPolicy` — per layer, compiled once per policy
  version (lazily, on the layer's first packet): filters in evaluation order (sublayer
  rank, then filter order), filter i of n being bit n-1-i of a Python int (``core.decision.bit``:
  the first filter is the highest bit, found in constant time). **Decide fast**: per
  referenced field, a table from the packet's value to the bitmask of the filters whose
  conditions on that field hold (or that have none) — integer values (ports, protocol,
  addresses, profiles) by bisection over the interval ends of EQUAL/RANGE/comparison/
  address-mask conditions, other values (app ids, SIDs, tokens, flags) by running the
  field's compiled tests (``core.match.compile_group``) once per distinct value, memoised.
  The AND over the fields is the matched set; the highest terminating bit of it is the
  first sublayer's terminating filter, and the rest of that sublayer is skipped with one
  AND, so arbitration walks only the deciding filters (``decide_mask``). **Explain
  lazily**: ``ClassifyResult.sublayers`` (every matching filter's FilterEval, ties,
  unreached filters, effects) is built by ``_arbitrate`` when first read — the same code
  whatever path decided, and a test holds decision == explanation's decision.
  Per-filter outcomes, FilterEval and Terminating objects are built once.

  Filters whose callout has rules are the only ones decided per packet (``choices``: the
  rule each matched one takes); every other filter keeps its precomputed outcome.
  Flow-aware callouts (issue 15, ``core.flowctx``: conditional on flow, flow contexts, byte
  counts, reinjection) also read the flow's state: without a flow (``classify``, ``explain``,
  triage) a conditional callout is skipped and a ``when_flow_context`` rule never holds;
  ``classify_flow`` decides with the flow (uncached when such a filter matched) and reports
  what the callouts did to it. Their outcome variants (rule x context label x within/past the
  byte count, not called, own clone) are built on first use.

  Three *exact* memo caches per layer (results are immutable and a pure function of
  their inputs, so a hit returns exactly what a recomputation would):

  1. the tuple of the packet's values of the fields the layer's filters, and the rules of
     their callouts, reference → ClassifyResult (no other field can change the result);
  2. the matched set (bitmask) → ClassifyResult (arbitration depends on nothing else) --
     not used when a rule callout's filter matched (its outcome depends on the packet);
  3. a sublayer's matched filters, the rules chosen among them, and its effect → SublayerResult.

  Each is bounded (cleared when full). ``compile_policy(policy, cache=False)`` turns
  them off. Policies are treated as immutable: a change is a new Policy (a new
  ``version``), hence a new CompiledPolicy.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Final

from wfptui.core.decision import FieldMask, bit, field_masks, positions
from wfptui.core.flowctx import REINJECT, FlowState, flow_aware
from wfptui.core.match import compile_conditions, filter_matches
from wfptui.core.model import (
    BLOCK,
    EMPTY,
    NONE,
    PERMIT,
    Callout,
    ClassifyResult,
    Filter,
    FilterEval,
    FilterFlag,
    Policy,
    Sublayer,
    SublayerResult,
    Terminating,
    Value,
)
from wfptui.core.outcome import (
    FilterOutcome,
    callout_outcome,
    evaluate_filter,
    injected_by_self,
    not_called,
    rule_choice,
    rule_text,
)
from wfptui.core.pend import IS_REAUTHORIZE, PEND, Pend
from wfptui.core.redirect import CONNECT, IS_PROXY_CONNECTION, REDIRECT, Redirect

if TYPE_CHECKING:
    from wfptui.core.layers import Layer

__all__ = [
    "CompiledLayer",
    "FlowEffect",
    "CompiledPolicy",
    "FieldMask",
    "FilterOutcome",
    "UnknownSublayerError",
    "callout_outcome",
    "classify_naive",
    "compile_policy",
    "evaluate_filter",
    "filter_order",
    "positions",
    "rule_choice",
    "rule_text",
    "sublayer_order",
]

# Plain ints: IntFlag arithmetic builds a new enum member on every ``&``.
_DISABLED = int(FilterFlag.DISABLED)


#: Effects of a sublayer on the layer's decision (see the module docstring).
DECIDED, OVERRODE, KEPT, VETO = "decided", "overrode", "kept", "veto"

#: What a flow-aware callout did to the flow during a classification (issue 15), for the
#: simulator to apply: ("associate", by callout, for callout, label) at ALE_FLOW_ESTABLISHED;
#: ("bytes", callout, rule number, permit_bytes, then, past the limit) at STREAM.
FlowEffect = tuple[object, ...]

#: Cache bounds: cleared when full (cheaper than LRU bookkeeping on the hot path).
PACKET_CACHE_MAX = 1 << 16
MATCHSET_CACHE_MAX = 1 << 14
#: Each memo is judged every MEMO_PROBE lookups: it pays when at least 1 in MEMO_MIN_HITS hit.
#: A memo that never hits (a scan or a capture: every packet new) is pure cost: a matched set's
#: hash is as long as the set (~0.6 µs at a 20,000-filter layer, twice per miss), and every kept
#: result is walked by the garbage collector (~2 µs a classification at 20,000 filters). So while
#: the packet cache does not pay it keeps only its keys (``None`` values: what would have hit),
#: and comes back as soon as packets repeat; the matched-set memo rests for MEMO_REST
#: classifications, then is tried again.
MEMO_PROBE, MEMO_MIN_HITS, MEMO_REST = 4096, 4, 1 << 16

#: ``dict.get`` default: a key not in the packet cache (a kept key's value is None).
_ABSENT: Final = object()


class _Payoff:
    """Whether a memo pays: its lookups and hits since it was last judged; a negative
    ``seen`` counts the classifications left while it rests."""

    __slots__ = ("hits", "pays", "seen")

    def __init__(self) -> None:
        self.seen = self.hits = 0
        self.pays = True

    def judge(self) -> bool:
        """Called when ``seen`` reaches MEMO_PROBE: whether the memo pays (counting again)."""
        self.pays = self.hits * MEMO_MIN_HITS >= self.seen
        self.seen = self.hits = 0
        return self.pays


# ----------------------------------------------------------------------------- ordering


def sublayer_order(sl: Sublayer) -> tuple[int, str]:
    """Sort key: weight descending, then key (equal weights, Q5)."""
    return (-sl.weight, sl.key)


def filter_order(f: Filter) -> tuple[int, int, str]:
    """Sort key: effective weight descending, then filter id, then key (ties, §3.2)."""
    return (-f.effective_weight, f.filter_id, f.key)


def _resolve_layer(layer: Layer | str) -> Layer:
    if isinstance(layer, str):
        from wfptui.core.layers import get_layer

        return get_layer(layer)
    return layer


class UnknownSublayerError(ValueError):
    """A filter names a sublayer the policy does not define (loaders normally catch this)."""

    def __init__(self, flt: Filter):
        self.filter = flt
        super().__init__(f"filter {flt.key!r} names sublayer {flt.sublayer!r}, which the policy does not define")


def _sublayer_of(policy: Policy, f: Filter) -> Sublayer:
    sl = policy.sublayers.get(f.sublayer)
    if sl is None:
        raise UnknownSublayerError(f)
    return sl


# ----------------------------------------------------------------------------- combining


class _Decision:
    """The layer's running decision while sublayers are walked (§3.6)."""

    __slots__ = ("absorbed", "action", "filter", "hard", "pended", "redirect", "silent", "sublayer", "veto")

    def __init__(self) -> None:
        self.action: str | None = None
        self.hard = False  # True = FWPS_RIGHT_ACTION_WRITE cleared
        self.filter: Filter | None = None
        self.sublayer: Sublayer | None = None
        self.veto = False
        self.silent = False
        self.absorbed = False
        self.pended: Pend | None = None
        self.redirect: Redirect | None = None

    def offer(self, sl: Sublayer, f: Filter, out: FilterOutcome) -> str:
        """A sublayer's terminating filter offers its decision; return its effect."""
        if out.redirect is not None:
            # the callout applied its change whatever the layer decides; a later (lower) one
            # applies its change on top (core.redirect)
            self.redirect = out.redirect
        if self.action is None:
            effect = DECIDED
        elif not self.hard:
            if out.outcome == self.action and not out.hard:
                return KEPT  # agreeing soft decisions: the first one stays
            effect = OVERRODE
        elif self.action == PERMIT and out.outcome == BLOCK and out.can_veto:
            self.action, self.filter, self.sublayer = BLOCK, f, sl
            self.hard, self.veto, self.silent, self.absorbed = True, True, out.silent, out.absorb
            self.pended = out.pend
            return VETO
        else:
            return KEPT
        self.action, self.filter, self.sublayer = out.outcome, f, sl
        self.hard, self.silent = out.hard, out.silent and out.outcome == BLOCK
        self.absorbed = out.absorb and out.outcome == BLOCK
        self.pended = out.pend if out.outcome == BLOCK else None
        return effect

    def result(self, layer: Layer,
               sublayers: tuple[SublayerResult, ...] | Callable[[], tuple[SublayerResult, ...]],
               terminating: tuple[Terminating, ...]) -> ClassifyResult:
        if self.action is None:
            return ClassifyResult(layer, NONE, None, None, False, False, False, sublayers, terminating)
        return ClassifyResult(layer, self.action, self.filter, self.sublayer, self.hard, self.veto,
                              self.silent, sublayers, terminating, self.absorbed, self.pended,
                              self.redirect if self.action != BLOCK else None)


class _Explain:
    """The explanation of one decision, built when ``ClassifyResult.sublayers`` is first read:
    one object (a lambda and its closure cells were five, each kept by the packet cache and
    walked by the garbage collector, which cost more than the decision at 20,000 filters)."""

    __slots__ = ("layer", "matched", "over")

    def __init__(self, layer: CompiledLayer, matched: int, over: Mapping[int, int] | None) -> None:
        self.layer, self.matched, self.over = layer, matched, over

    def __call__(self) -> tuple[SublayerResult, ...]:
        cl = self.layer
        return cl._arbitrate(positions(self.matched, len(cl.filters)), self.over).sublayers


def _ties(weights: Sequence[int]) -> list[bool]:
    """For weights in sorted order: does each equal a neighbour's?"""
    n = len(weights)
    return [
        (i > 0 and weights[i - 1] == w) or (i + 1 < n and weights[i + 1] == w)
        for i, w in enumerate(weights)
    ]


# ----------------------------------------------------------------------------- naive


def classify_naive(policy: Policy, layer: Layer | str, values: Mapping[str, Value],
                   ored: bool = True) -> ClassifyResult:
    """Reference classifier: scan every filter of the layer, as §3.6 spells it out
    (``ored``: core.match.same_field_ored of the host's Windows)."""
    lay = _resolve_layer(layer)
    by_sublayer: dict[str, list[Filter]] = {}
    for f in policy.filters:
        if f.layer == lay.name and not f.flags & _DISABLED:
            by_sublayer.setdefault(f.sublayer, []).append(f)
    sublayers = sorted(
        (_sublayer_of(policy, fs[0]) for fs in by_sublayer.values()), key=sublayer_order
    )
    decision = _Decision()
    results: list[SublayerResult] = []
    terminating: list[Terminating] = []
    for sl in sublayers:
        matching = [f for f in sorted(by_sublayer[sl.key], key=filter_order) if filter_matches(f, values, ored)]
        ties = _ties([f.effective_weight for f in matching])
        evaluated: list[FilterEval] = []
        deciding: FilterEval | None = None
        unreached: tuple[Filter, ...] = ()
        effect = NONE
        for i, f in enumerate(matching):
            out = evaluate_filter(f, policy.callouts, values)
            fe = FilterEval(f, out.outcome, out.hard, out.note, ties[i])
            evaluated.append(fe)
            if out.outcome in (PERMIT, BLOCK):
                deciding, unreached = fe, tuple(matching[i + 1:])
                effect = decision.offer(sl, f, out)
                terminating.append(Terminating(f.key, f.filter_id, sl.key, out.outcome, out.hard))
                break
        results.append(SublayerResult(
            sl, tuple(evaluated), unreached,
            deciding.outcome if deciding else NONE, deciding.hard if deciding else False,
            deciding, effect,
        ))
    return decision.result(lay, tuple(results), tuple(terminating))


# ----------------------------------------------------------------------------- compiled


class CompiledLayer:
    """One layer's filters, ordered and indexed once per policy version."""

    def __init__(self, policy: Policy, layer: Layer, filters: Iterable[Filter], cache: bool = True,
                 ored: bool = True):
        self.layer = layer
        #: Same-field conditions ORed (Windows 7+) or all ANDed (Vista): core.match.same_field_ored.
        self.ored = ored
        by_sublayer: dict[str, list[Filter]] = {}
        for f in filters:
            by_sublayer.setdefault(f.sublayer, []).append(f)
        self.sublayers: tuple[Sublayer, ...] = tuple(sorted(
            (_sublayer_of(policy, fs[0]) for fs in by_sublayer.values()), key=sublayer_order
        ))
        # Positions 0..n-1 = evaluation order (sublayer rank, then filter order), so a
        # sorted candidate list is already in evaluation order.
        order: list[Filter] = []
        f_sl: list[int] = []
        for rank, sl in enumerate(self.sublayers):
            for f in sorted(by_sublayer[sl.key], key=filter_order):
                order.append(f)
                f_sl.append(rank)
        self.filters: tuple[Filter, ...] = tuple(order)
        self._f_sl = f_sl
        self._f_weight = [f.effective_weight for f in order]
        self._f_out = [evaluate_filter(f, policy.callouts) for f in order]
        # Filters whose callout has rules (issue 15): their outcome depends on the packet.
        # Per position: the compiled rule tests, and per choice (rule i, or the default last)
        # the outcome, both FilterEval tie variants and the Terminating entry, built once.
        self._dyn: dict[int, tuple[tuple[Callable[[Mapping[str, Value]], bool], ...],
                                   list[FilterOutcome], list[tuple[FilterEval, FilterEval]],
                                   list[Terminating]]] = {}
        rule_fields: dict[str, None] = {}
        #: Filters whose callout depends on a flow's state (issue 15: flow context, byte
        #: counts): per position the callout, its outcome variants by key (kind, rule,
        #: context label) -> index into the ``_dyn`` lists (built on first use), and back.
        self._flowinfo: dict[int, tuple[Callout, dict[tuple[object, ...], int], dict[int, tuple[object, ...]]]] = {}
        self._established = layer.name in ("ALE_FLOW_ESTABLISHED_V4", "ALE_FLOW_ESTABLISHED_V6")
        #: Filters whose callout has rules a FLAGS bit changes: rule index -> (the bit, the index
        #: of the rule's outcome when the bit is set).
        self._flag_variants: dict[int, dict[int, tuple[int, int]]] = {}
        for p, f in enumerate(order):
            co = policy.callouts.get(f.callout or "") if f.action.is_callout else None
            if co is None or co.returns == "unregistered" or not (co.rules or flow_aware(co)):
                continue
            if flow_aware(co):
                self._flowinfo[p] = (co, {}, {})
            outs = [callout_outcome(f, co, i) for i in range(len(co.rules) + 1)]
            # Rules whose answer a FLAGS bit changes, one more outcome each, chosen by FLAGS
            # (``choices``): a pend rule answers its ``then`` in the reauthorization that completes
            # it (IS_REAUTHORIZE, core.pend); a connect redirect leaves a proxied connection as it
            # is (IS_PROXY_CONNECTION, core.redirect).
            variants: dict[int, tuple[int, int]] = {}
            for i, r in enumerate(co.rules):
                if r.action == PEND:
                    variants[i] = (IS_REAUTHORIZE, len(outs))
                    outs.append(callout_outcome(f, co, i, reauth=True))
                elif r.action == REDIRECT and r.target is not None and r.target.kind == CONNECT:
                    variants[i] = (IS_PROXY_CONNECTION, len(outs))
                    outs.append(callout_outcome(f, co, i, proxied=True))
            if variants:
                self._flag_variants[p] = variants
                rule_fields["FLAGS"] = None
            self._dyn[p] = (
                tuple(compile_conditions(r.conditions) for r in co.rules),
                outs,
                [(FilterEval(f, o.outcome, o.hard, o.note, False), FilterEval(f, o.outcome, o.hard, o.note, True))
                 for o in outs],
                [Terminating(f.key, f.filter_id, self.sublayers[f_sl[p]].key, o.outcome, o.hard) for o in outs],
            )
            for r in co.rules:
                for c in r.conditions:
                    rule_fields[c.field] = None
        n = len(order)
        self._dyn_bits = sum(bit(p, n) for p in self._dyn)
        #: The filters whose outcome depends on the flow (a subset of the rule callouts').
        self._flow_bits = sum(bit(p, n) for p in self._flowinfo)
        self._f_terminates = [o.outcome in (PERMIT, BLOCK) and p not in self._dyn for p, o in enumerate(self._f_out)]
        # FilterEval objects are immutable: build both tie variants once.
        self._f_eval = [
            (FilterEval(f, o.outcome, o.hard, o.note, False), FilterEval(f, o.outcome, o.hard, o.note, True))
            for f, o in zip(order, self._f_out, strict=True)
        ]
        self._f_term = [
            Terminating(f.key, f.filter_id, self.sublayers[s].key, o.outcome, o.hard)
            for f, s, o in zip(order, f_sl, self._f_out, strict=True)
        ]
        self._empty_results = tuple(SublayerResult(sl, (), (), NONE, False, None, NONE) for sl in self.sublayers)
        fields: dict[str, None] = {}
        for f in order:
            for c in f.conditions:
                fields[c.field] = None
        fields.update(rule_fields)
        #: The fields any filter here, or any rule of their callouts, looks at: nothing else
        #: can change a result.
        self.relevant_fields: tuple[str, ...] = tuple(fields)
        self._key_of: Callable[[Mapping[str, Value]], object]
        if len(fields) >= 2:
            self._key_of = itemgetter(*fields)
        else:
            self._key_of = lambda values: tuple(map(values.__getitem__, self.relevant_fields))
        # Position one past each sublayer's last filter, to split matches by sublayer.
        self._sl_end = [bisect_right(f_sl, rank) for rank in range(len(self.sublayers))]
        self._cache_on = cache
        self._packet_cache: dict[object, ClassifyResult | None] = {}  # None: a key kept, see _Payoff
        self._matchset_cache: dict[int, ClassifyResult] = {}
        #: Whether the packet cache and the matched-set memo pay (``_Payoff``).
        self._packet_payoff = _Payoff()
        self._memo_payoff = _Payoff()
        self._sublayer_cache: dict[tuple[object, ...], SublayerResult] = {}
        self._none_result = ClassifyResult(layer, NONE, None, None, False, False, False, self._empty_results, ())
        self._term_bits = sum(bit(p, n) for p, t in enumerate(self._f_terminates) if t)
        #: The filters that may end a sublayer: static terminators and rule callouts.
        self._may_end = self._term_bits | self._dyn_bits
        #: Per sublayer rank: the bits of the filters after the sublayer's last one (one AND skips
        #: the rest of it): positions >= end are bits < n - end.
        self._sl_after = [(1 << (n - end)) - 1 for end in self._sl_end]
        self._masks: tuple[int, tuple[FieldMask, ...]] | None = None

    # -- decision-only path (issue 14) --------------------------------------

    def mask_tables(self) -> tuple[int, tuple[FieldMask, ...]]:
        """(every filter's bit, each referenced field's mask table), built on first use."""
        t = self._masks
        if t is None:
            t = self._masks = field_masks(self.filters, self.ored)
        return t

    def match_mask(self, values: Mapping[str, Value]) -> int:
        """The matching filters as a bitmask (``core.decision.bit``: the first filter is the highest bit)."""
        m, tables = self._masks if self._masks is not None else self.mask_tables()
        get = values.get
        for t in tables:
            v = get(t.field, EMPTY)
            bounds = t.bounds
            if bounds is not None and type(v) is int:
                m &= t.segs[bisect_right(bounds, v)]
            else:
                m &= t.mask(v)
            if not m:
                break
        return m

    def choices(self, matched: int, values: Mapping[str, Value] | None, flow: FlowState | None = None,
                nbytes: int = 0, direction: int | None = None, injected: str | None = None) -> dict[int, int]:
        """For each matched filter whose callout has rules: which rule decides (its index, or
        the number of rules: the default), by ``values`` (None: no values, every field
        FWP_EMPTY). Empty when no such filter matched. A flow-aware callout's choice also
        reads ``flow`` (its context label, its byte count in ``direction`` with this
        segment's ``nbytes``; None: no flow) and ``injected`` (the callout whose reinjected clone
        this is), and indexes an outcome variant (``_variant``)."""
        dyn = matched & self._dyn_bits
        if not dyn:
            return {}
        vals: Mapping[str, Value] = {} if values is None else values
        out: dict[int, int] = {}
        flowing = dyn & self._flow_bits
        for p in positions(dyn, len(self.filters)):
            tests = self._dyn[p][0]
            if flowing and p in self._flowinfo:
                out[p] = self._flow_choice(p, tests, vals, flow, nbytes, direction, injected)
            else:
                i = next((i for i, t in enumerate(tests) if t(vals)), len(tests))
                fv = self._flag_variants.get(p)
                if fv is not None and i in fv:
                    flags = vals.get("FLAGS")
                    flag, j = fv[i]
                    if type(flags) is int and flags & flag:
                        i = j
                out[p] = i
        return out

    def _flow_choice(self, p: int, tests: Sequence[Callable[[Mapping[str, Value]], bool]],
                     vals: Mapping[str, Value], flow: FlowState | None, nbytes: int, direction: int | None,
                     injected: str | None = None) -> int:
        """A flow-aware callout's choice (issue 15; core.flowctx): not called when
        FWP_CALLOUT_FLAG_CONDITIONAL_ON_FLOW and the flow has no context for it; else its
        first rule that holds -- ``when_flow_context`` against the flow's label, a
        ``permit_bytes`` rule within or past its count -- else its default."""
        co = self._flowinfo[p][0]
        if injected is not None and injected == co.key:
            return self._variant(p, ("self",))  # FwpsQueryPacketInjectionState0 first
        label = None if flow is None else flow.contexts.get(co.key)
        if co.conditional_on_flow and label is None:
            return self._variant(p, ("skip",))
        if not co.rules:
            return self._variant(p, ("static", 0, label))
        for i, rule in enumerate(co.rules):
            if rule.when_flow_context is not None and rule.when_flow_context != label:
                continue
            if not tests[i](vals):
                continue
            if rule.permit_bytes is not None:
                used = 0 if flow is None or direction is None else flow.counts.get((co.key, direction), 0)
                return self._variant(p, ("over" if used + nbytes > rule.permit_bytes else "within", i, label))
            return self._variant(p, ("rule", i, label))
        return self._variant(p, ("default", len(co.rules), label))

    def _variant(self, p: int, key: tuple[object, ...]) -> int:
        """The index of outcome variant ``key`` of flow-aware filter ``p`` in its ``_dyn``
        lists, built (outcome, both FilterEval tie variants, Terminating) on first use."""
        co, index, keys = self._flowinfo[p]
        i = index.get(key)
        if i is not None:
            return i
        f = self.filters[p]
        kind = key[0]
        if kind == "skip":
            o = not_called(f, co)
        elif kind == "self":
            o = injected_by_self(f, co)
        else:
            label = key[2]
            assert label is None or isinstance(label, str)
            choice = key[1]
            assert isinstance(choice, int)
            stream = kind if kind in ("within", "over") else None
            o = callout_outcome(f, co, None if kind == "static" else choice, label=label, stream=stream)
        _tests, outs, evals, terms = self._dyn[p]
        i = len(outs)
        outs.append(o)
        evals.append((FilterEval(f, o.outcome, o.hard, o.note, False), FilterEval(f, o.outcome, o.hard, o.note, True)))
        terms.append(Terminating(f.key, f.filter_id, self.sublayers[self._f_sl[p]].key, o.outcome, o.hard))
        index[key] = i
        keys[i] = key
        return i

    def classify_flow(self, values: Mapping[str, Value], flow: FlowState | None, nbytes: int,
                      direction: int | None, injected: str | None = None,
                      ) -> tuple[ClassifyResult, tuple[FlowEffect, ...]]:
        """Classify one packet of a flow (issue 15): as ``classify`` when no flow-aware
        callout's filter matched (cached); otherwise decided with the flow's state, uncached,
        with what the callouts did to the flow (``FlowEffect``s: associations at
        ALE_FLOW_ESTABLISHED, byte counts at STREAM, a reinjection) for the simulator to apply.
        ``injected``: the callout whose reinjected clone this packet is."""
        matched = self.match_mask(values)
        if not matched & self._flow_bits:
            return self.classify(values), ()
        over = self.choices(matched, values, flow, nbytes, direction, injected)
        effects: list[FlowEffect] = []
        for p in positions(matched & self._flow_bits, len(self.filters)):
            co, _index, keys = self._flowinfo[p]
            key = keys[over[p]]
            kind, i = key[0], key[1] if len(key) > 1 else None
            if kind in ("skip", "self") or not isinstance(i, int):
                continue
            if kind == "static" or i >= len(co.rules):
                if co.returns == REINJECT:
                    effects.append(("reinject", co.key, self.filters[p].key))
                continue
            rule = co.rules[i]
            if rule.action == REINJECT and kind == "rule":
                effects.append(("reinject", co.key, self.filters[p].key))
            if rule.flow_context is not None and self._established:
                effects.append(("associate", co.key, rule.flow_context_callout or co.key, rule.flow_context))
            if kind in ("within", "over"):
                effects.append(("bytes", co.key, i + 1, rule.permit_bytes, rule.then or "block", kind == "over"))
        return self._decide(matched, over), tuple(effects)

    def _out(self, p: int, over: Mapping[int, int] | None) -> FilterOutcome:
        if over is not None and p in over:
            return self._dyn[p][1][over[p]]
        return self._f_out[p]

    def decide_mask(self, matched: int, values: Mapping[str, Value] | None = None) -> ClassifyResult:
        """Arbitrate the filters of ``matched`` (a bitmask, see ``match_mask``): only the
        terminating filters are walked, one per deciding sublayer; every sublayer's detail is
        built when ``ClassifyResult.sublayers`` is first read, by ``_arbitrate`` — the same
        code as before, so the explanation cannot drift from the decision. ``values``: the
        packet, read only by the rules of matched callouts (issue 15; see ``choices``)."""
        if not matched:
            return self._none_result
        return self._decide(matched, self.choices(matched, values) if matched & self._dyn_bits else None)

    def _decide(self, matched: int, over: dict[int, int] | None) -> ClassifyResult:
        """``decide_mask`` with the rules already chosen (``choices``)."""
        if not matched:
            return self._none_result
        t = matched & self._may_end
        f_sl, after, f_out, filters, sls, f_term = (
            self._f_sl, self._sl_after, self._f_out, self.filters, self.sublayers, self._f_term)
        decision = _Decision()
        terminating: list[Terminating] = []
        n = len(filters)
        while t:
            top = t.bit_length() - 1  # highest bit: the first terminating filter left
            p = n - 1 - top
            if over is not None and p in over:
                out = self._dyn[p][1][over[p]]
                if out.outcome not in (PERMIT, BLOCK):
                    t ^= 1 << top  # this packet's rule (or default) did not terminate
                    continue
                term = self._dyn[p][3][over[p]]
            else:
                out, term = f_out[p], f_term[p]
            rank = f_sl[p]
            decision.offer(sls[rank], filters[p], out)
            terminating.append(term)
            t &= after[rank]  # the rest of this sublayer is unreached
        return decision.result(self.layer, _Explain(self, matched, over), tuple(terminating))

    # -- classify ------------------------------------------------------------

    def classify(self, values: Mapping[str, Value]) -> ClassifyResult:
        """Classify one packet (see CompiledPolicy.classify)."""
        if not self._cache_on:
            return self.decide_mask(self.match_mask(values), values)
        try:
            key: object = self._key_of(values)  # C-level itemgetter: the hot path
        except KeyError:  # some field absent (= EMPTY): None marks it in the key
            key = tuple(map(values.get, self.relevant_fields))
        cache = self._packet_cache
        try:
            hit = cache.get(key, _ABSENT)
        except TypeError:  # an unhashable value: classify without the cache
            return self.decide_mask(self.match_mask(values), values)
        pay = self._packet_payoff
        pay.seen += 1
        if hit is not _ABSENT:
            pay.hits += 1
            if isinstance(hit, ClassifyResult):
                return hit
            # None: a key kept while the cache did not pay; it would have hit
        result = self._memoised(self.match_mask(values), values)
        if pay.seen >= MEMO_PROBE:
            was = pay.pays
            if pay.judge() != was:
                cache.clear()  # results dropped when it stops paying, keys when it pays again
        if len(cache) >= PACKET_CACHE_MAX:
            cache.clear()
        cache[key] = result if pay.pays else None
        return result

    def _memoised(self, matched: int, values: Mapping[str, Value]) -> ClassifyResult:
        """``decide_mask`` through the matched-set memo while it pays."""
        if matched & self._dyn_bits:
            # A rule callout matched: the result depends on more than the matched set, so the
            # matched-set memo is not used (the packet key holds the rules' fields).
            return self.decide_mask(matched, values)
        pay = self._memo_payoff
        pay.seen += 1
        if pay.seen <= 0:  # the memo rests
            return self.decide_mask(matched)
        memo = self._matchset_cache.get(matched)
        if memo is None:
            memo = self.decide_mask(matched)
            if pay.seen >= MEMO_PROBE and not pay.judge():
                pay.seen = -MEMO_REST
                self._matchset_cache.clear()
                return memo
            if len(self._matchset_cache) >= MATCHSET_CACHE_MAX:
                self._matchset_cache.clear()
            self._matchset_cache[matched] = memo
        else:
            pay.hits += 1
        return memo

    def decide(self, matched: tuple[int, ...], values: Mapping[str, Value] | None = None) -> ClassifyResult:
        """Arbitrate a given set of matched positions (ascending: evaluation order), eagerly:
        the full explanation, as ``decide_mask`` builds it lazily (the tests hold the two
        equal). ``values`` is read only by the rules of matched rule callouts (``choices``)."""
        n = len(self.filters)
        mask = sum(bit(p, n) for p in matched)
        return self._arbitrate(matched, self.choices(mask, values) if mask & self._dyn_bits else None)

    def clear_cache(self) -> None:
        """Forget every memoised result (they stay valid; this only frees memory)."""
        self._packet_cache.clear()
        self._matchset_cache.clear()
        self._sublayer_cache.clear()

    def _arbitrate(self, matched: tuple[int, ...], over: Mapping[int, int] | None = None) -> ClassifyResult:
        """§3.3/§3.4 over the matched positions (already in evaluation order); ``over``: the
        rule chosen for each matched rule-callout filter (``choices``)."""
        if not matched:
            return self._none_result
        f_sl, f_terminates, sl_end = self._f_sl, self._f_terminates, self._sl_end
        memo = self._sublayer_cache if self._cache_on else None
        results = list(self._empty_results)
        terminating: list[Terminating] = []
        decision = _Decision()
        n = len(matched)
        i = 0
        while i < n:
            rank = f_sl[matched[i]]
            j = bisect_left(matched, sl_end[rank], i)  # matched[i:j] = this sublayer's matches
            k = i
            while k < j and not (f_terminates[matched[k]] or (
                    over is not None and matched[k] in over
                    and self._dyn[matched[k]][1][over[matched[k]]].outcome in (PERMIT, BLOCK))):
                k += 1
            if k == j:
                effect = NONE
            else:
                p = matched[k]
                effect = decision.offer(self.sublayers[rank], self.filters[p], self._out(p, over))
                terminating.append(self._dyn[p][3][over[p]] if over is not None and p in over else self._f_term[p])
            group = matched[i:j]
            # The rules chosen inside this group are part of what its result depends on.
            chosen = () if over is None else tuple((q, over[q]) for q in group if q in over)
            if memo is None:
                results[rank] = self._sublayer_result(rank, group, k - i, effect, over)
            else:
                # A sublayer's result depends only on its matched filters (and their rules) and its effect.
                mkey: tuple[object, ...] = (group, effect) if not chosen else (group, effect, chosen)
                sr = memo.get(mkey)
                if sr is None:
                    sr = self._sublayer_result(rank, group, k - i, effect, over)
                    if len(memo) >= MATCHSET_CACHE_MAX:
                        memo.clear()
                    memo[mkey] = sr
                results[rank] = sr
            i = j
        return decision.result(self.layer, tuple(results), tuple(terminating))

    def _sublayer_result(self, rank: int, group: tuple[int, ...], end: int, effect: str,
                         over: Mapping[int, int] | None = None) -> SublayerResult:
        """One sublayer's result: ``group`` are its matched positions, ``group[end]`` (if
        any) the filter that ended it; ``over``: the rules chosen (``choices``)."""
        f_w, f_eval = self._f_weight, self._f_eval
        last = min(end, len(group) - 1)
        evaluated: list[FilterEval] = []
        for q in range(last + 1):
            p = group[q]
            w = f_w[p]
            # tie: a neighbouring *matching* filter of this sublayer has the same weight
            tie = (q > 0 and f_w[group[q - 1]] == w) or (q + 1 < len(group) and f_w[group[q + 1]] == w)
            if over is not None and p in over:
                evaluated.append(self._dyn[p][2][over[p]][tie])
            else:
                evaluated.append(f_eval[p][tie])
        sl = self.sublayers[rank]
        if end == len(group):
            return SublayerResult(sl, tuple(evaluated), (), NONE, False, None, NONE)
        out = self._out(group[end], over)
        unreached = tuple(map(self.filters.__getitem__, group[end + 1:]))
        return SublayerResult(sl, tuple(evaluated), unreached, out.outcome, out.hard, evaluated[-1], effect)


class CompiledPolicy:
    """A policy version compiled for fast classification; layers compile on first use."""

    def __init__(self, policy: Policy, cache: bool = True, ored: bool = True):
        self.policy = policy
        self.version = policy.version
        self._cache = cache
        self.ored = ored  # core.match.same_field_ored(host's Windows)
        self._by_layer: dict[str, list[Filter]] = {}
        for f in policy.filters:
            if not f.flags & _DISABLED:
                self._by_layer.setdefault(f.layer, []).append(f)
        # Validate sublayer references up front, not at the first packet.
        for f in policy.filters:
            _sublayer_of(policy, f)
        self._layers: dict[str, CompiledLayer] = {}
        self._aliases: dict[str, CompiledLayer] = {}

    def layer(self, layer: Layer | str) -> CompiledLayer:
        """The compiled form of one layer (by Layer or any name get_layer accepts)."""
        if isinstance(layer, str):
            found = self._aliases.get(layer)
            if found is not None:
                return found
        lay = _resolve_layer(layer)
        compiled = self._layers.get(lay.name)
        if compiled is None:
            compiled = CompiledLayer(self.policy, lay, self._by_layer.get(lay.name, ()), self._cache, self.ored)
            self._layers[lay.name] = compiled
        if isinstance(layer, str):
            self._aliases[layer] = compiled
        return compiled

    def classify(self, layer: Layer | str, values: Mapping[str, Value]) -> ClassifyResult:
        """Classify one packet at one layer: the final action and every sublayer's part in it."""
        # Layer objects hash all their fields: look them up by name.
        compiled = self._aliases.get(layer) if isinstance(layer, str) else self._layers.get(layer.name)
        if compiled is None:
            compiled = self.layer(layer)
        # The steady state inlined: a packet-cache hit (the cache is empty when disabled).
        try:
            hit = compiled._packet_cache.get(compiled._key_of(values))
        except (KeyError, TypeError):  # a field absent or unhashable: the full path
            hit = None
        if hit is None:
            return compiled.classify(values)
        pay = compiled._packet_payoff  # a hit: the cache pays (counted as CompiledLayer.classify does)
        pay.seen += 1
        pay.hits += 1
        return hit


_COMPILED: dict[tuple[int, int, bool, bool], tuple[Policy, CompiledPolicy]] = {}


def compile_policy(policy: Policy, cache: bool = True, ored: bool = True) -> CompiledPolicy:
    """Compile ``policy`` (memoised per policy object and version; the last few are kept).
    ``ored``: same-field conditions ORed (Windows 7+) or ANDed (Vista), core.match.same_field_ored."""
    key = (id(policy), policy.version, cache, ored)
    hit = _COMPILED.get(key)
    if hit is not None and hit[0] is policy:
        return hit[1]
    compiled = CompiledPolicy(policy, cache, ored)
    if len(_COMPILED) >= 8:
        _COMPILED.pop(next(iter(_COMPILED)))
    _COMPILED[key] = (policy, compiled)
    return compiled

