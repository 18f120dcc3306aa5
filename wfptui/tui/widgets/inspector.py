"""The inspector: everything about the selected event.

For a classification: the packet's fields, each sublayer in evaluation order with
its matching filters (and the policy file line of each), which filter ended it, the
final decision and why (hard or soft, veto, nothing matched). Other events show
their own fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import PurePath
from typing import Any

from rich.text import Text
from textual import events
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from wfptui.core.datatypes import WinVersion
from wfptui.core.explain import (
    Decision,
    NearMiss,
    explain,
    near_miss_lines,
    near_misses,
    observed_near_misses,
)
from wfptui.core.model import Policy
from wfptui.core.trace import ClassifyRecord, ObservedRecord, TraceRecord
from wfptui.tui.render import (
    VERDICTS,
    capture_verdict,
    observed_action,
    simulated_action,
    verdict_of,
    what_of,
)

_OUTCOME = {"permit": ("✔", "green"), "block": ("✖", "red"), "continue": ("→", "cyan"),
            "skipped": ("·", "bright_black")}


def _loc(obj: Any) -> str:
    """`` file:line`` of where a filter was written (file name only), or ""."""
    loc = getattr(obj, "loc", None)
    if loc is None:
        return ""
    return f"  {PurePath(loc.file).name}:{loc.line}"


def _value(v: Any) -> str:
    if v is None:
        return "FWP_EMPTY"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return str(v)


def field_text(name: str, v: Any) -> str:
    """A trace field as a WFP engineer reads it: flag names, protocol and direction names,
    FWP_EMPTY for unknown values (§2.5)."""
    from wfptui.core.fields import FLAG_ENUMS, IP_PROTOCOL_NAMES, Direction

    if isinstance(v, int) and not isinstance(v, bool):
        enum = FLAG_ENUMS.get(name)
        if enum is not None:
            if v == 0:
                return "0"
            names = [m.name for m in enum if m.value and (v & m.value) == m.value and m.name]
            return f"{v:#x} ({'|'.join(n for n in names if n)})" if names else f"{v:#x}"
        if name in ("IP_PROTOCOL", "EMBEDDED_PROTOCOL") and v in IP_PROTOCOL_NAMES:
            return f"{v} ({IP_PROTOCOL_NAMES[v].upper()})"
        if name == "DIRECTION" and v in (0, 1):
            return f"{v} (FWP_DIRECTION_{Direction(v).name})"
        if name in ("IP_LOCAL_INTERFACE", "IP_ARRIVAL_INTERFACE", "IP_NEXTHOP_INTERFACE") and v > 0xFFFF:
            return f"{v:#018x}"
    return _value(v)


def decision_of(record: ClassifyRecord, result: Any) -> Decision:
    """The decision to explain: from the full arbitration when kept (``result``: its
    ClassifyResult), else from the recorded verdict (core.explain writes the sentence)."""
    from wfptui.core.model import ClassifyResult

    if isinstance(result, ClassifyResult):
        return Decision.of(result)
    if record.action not in ("permit", "block") or not record.filter or not record.sublayer:
        return Decision("none")
    hard = any(t.hard for t in record.terminating if t.filter == record.filter)
    return Decision(record.action, f"'{record.filter}'", record.sublayer, hard, record.veto)


def why(record: ClassifyRecord, result: Any) -> str:
    """One sentence: why the decision stood (core.explain's :meth:`Decision.sentence`)."""
    return decision_of(record, result).sentence()


def _filter_words(f: Any) -> str:
    if f is None:
        return ""
    return f"{f.key}" + (f" \"{f.name}\"" if getattr(f, "name", None) else "") + _loc(f)


def inspect_observed(record: ObservedRecord, verdict: Any, partner: ClassifyRecord | None,
                     flipped: bool = False, near: Sequence[NearMiss] | None = None) -> Text:
    """A captured event: observed, simulated, the verdict and the unknown fields; then the
    simulated classification as for any other (``verdict``: its core.triage.EventVerdict, if
    known; ``near``: the simulated classification's near misses, :func:`observed_near_misses`)."""
    out = Text()
    sim = getattr(verdict, "sim", None)
    obs = getattr(verdict, "obs", None)
    where = partner.layer if partner is not None else record.type
    out.append(f"{record.host} · {where} · event {record.event} ({record.type})\n", "bold")
    line = f"seq {record.seq}  t={record.t:.6f}s"
    if obs is not None and obs.time:
        line += f"  {obs.time}"
    out.append(line + "\n", "dim")
    if flipped:
        out.append("Δ simulated verdict flipped by the last policy change\n", "bold yellow")
    mark, word, _key = capture_verdict(record.verdict)
    style = {"agree": "bold green", "differ": "bold red"}.get(record.verdict, "bold yellow")
    out.append("\nVerdict    ", "bold")
    out.append(f"{mark} {word}\n", style)
    okey, oword, osym = observed_action(record)
    out.append("Observed   ", "bold")
    out.append(f"{osym} {oword}", {"permit": "green", "block": "red"}.get(okey, ""))
    if record.filter_id is not None:
        out.append(f"  filter id {record.filter_id}")
        observed = getattr(verdict, "observed_filter", None)
        if observed is not None:
            out.append(f" = {_filter_words(observed)}")
        out.append(f"  (matched by {record.matched_by})" if record.matched_by else "  (not in the policy)", "dim")
    elif record.action is not None:
        out.append("  no filter named", "dim")
    out.append("\n")
    unknown_action = sim is not None and sim.action is None
    skey, sword, ssym = simulated_action(partner, unknown_action)
    out.append("Simulated  ", "bold")
    out.append(f"{ssym} {sword}", {"permit": "green", "block": "red"}.get(skey, ""))
    if sim is not None and sim.filter is not None:
        out.append(f"  by {_filter_words(sim.filter)}")
    elif sim is not None and sim.action is not None and sim.result.filter is not None:
        out.append("  deciding filter unknown (another one decides in the other world)", "dim")
    elif partner is not None and partner.filter and sim is None:
        out.append(f"  by {partner.filter}")
    out.append("\n")
    fields = record.unknown_fields
    out.append("Unknown    ", "bold")
    if fields:
        out.append(", ".join(fields) + " — not in the evidence; the answer turns on them\n", "yellow")
    else:
        out.append("none that matter\n", "dim")
    if sim is not None and sim.assumed:
        out.append("Assumed    ", "bold")
        out.append("the token holds no group the evidence does not show (" + ", ".join(sim.assumed) + ")\n", "dim")
    if partner is not None:
        out.append("\nSimulated classification", "bold underline")
        if sim is not None and sim.action is None:
            out.append("  (the world where unknown conditions do not match)", "dim")
        out.append("\n")
        out.append_text(inspect_text(partner, sim.result if sim is not None else None, near=near))
    return out


def inspect_text(record: TraceRecord | None, result: Any = None, flipped: bool = False,
                 partner: ClassifyRecord | None = None, near: Sequence[NearMiss] | None = None) -> Text:
    """The inspector's contents for ``record`` (``result``: its ClassifyResult, if kept; for a
    captured event its core.triage.EventVerdict, and ``partner`` its simulated classification;
    ``near``: its core.explain.near_misses, shown under the arbitration when given)."""
    out = Text()
    if record is None:
        out.append("No event selected.", "dim")
        return out
    if isinstance(record, ObservedRecord):
        return inspect_observed(record, result, partner, flipped, near)
    key, word, symbol = verdict_of(record)
    if not isinstance(record, ClassifyRecord):
        out.append(f"{record.kind} event", "bold")
        out.append(f"  {symbol} {word}\n\n")
        for k, v in record.to_dict().items():
            if k != "kind":
                out.append(f"{k:<14}", "dim")
                out.append(f"{_value(v)}\n")
        return out

    out.append(f"{record.host} · {record.layer}\n", "bold")
    out.append(f"seq {record.seq}  t={record.t:.6f}s  {what_of(record)}  flow {record.flow if record.flow is not None else '—'}", "dim")
    if record.reauth:  # at RESOURCE_ASSIGNMENT / AUTH_LISTEN: a bind or listen reclassified (IS_RECLASSIFY)
        reclass = record.layer.startswith(("ALE_RESOURCE_ASSIGNMENT", "ALE_AUTH_LISTEN"))
        out.append("  ↻ reclassification (IS_RECLASSIFY)" if reclass else "  ↻ reauthorization", "cyan")
    out.append("\n")
    if flipped:
        out.append("Δ verdict flipped by the last policy change\n", "bold yellow")

    out.append("\nDecision  ", "bold")
    style = {"permit": "bold green", "block": "bold red", "discard": "bold yellow"}.get(key, "bold")
    out.append(f"{symbol} {word}", style)
    if key == "discard":
        sym, w = VERDICTS[record.action if record.action in ("permit", "block") else "none"]
        out.append(f" (classified {sym} {w})")
    out.append("\n")
    out.append("Why       ", "bold")
    out.append(why(record, result) + "\n")
    if record.terminating:
        out.append("Terminating  ", "bold")
        out.append(", ".join(f"{t.filter}@{t.sublayer}={t.action}{' hard' if t.hard else ''}"
                             for t in record.terminating) + "\n")

    out.append("\nSublayers (evaluation order)\n", "bold underline")
    if result is None:
        out.append("  (full arbitration not kept for this event — recorded verdicts only)\n", "dim")
    elif not result.sublayers:
        out.append("  no filter at this layer matched\n", "dim")
    else:
        for step in explain(result).sublayers:  # core.explain's model, as explain renders it
            sub = step.result
            s = sub.sublayer
            sub_style = {"permit": "green", "block": "red"}.get(sub.action, "dim")
            out.append(f"  {s.key}", "bold")
            out.append(f" (weight {s.weight:#06x})", "dim")
            out.append(f" → {sub.action}{' hard' if sub.hard else ''}", sub_style)
            out.append(f"  [{sub.effect}]\n", "dim")
            for fs in step.filters:
                ev = fs.eval
                sym, color = _OUTCOME.get(ev.outcome, ("?", ""))
                ended = fs.ends
                out.append(f"    {sym} ", color)
                out.append(ev.filter.label, "bold" if ended else "")
                out.append(f"  {ev.outcome}{' hard' if ev.hard else ''}", color)
                out.append(f"  w={ev.filter.effective_weight:#x}", "dim")
                if ev.tie:
                    out.append("  (tie)", "yellow")
                out.append(_loc(ev.filter), "cyan")
                if ended:
                    out.append("  ◀ ended it", "bold")
                out.append("\n")
                if ev.note:
                    out.append(f"        {ev.note}\n", "dim")
            for f in sub.unreached:
                out.append(f"    · {f.label}  not evaluated", "dim")
                out.append(_loc(f) + "\n", "cyan")

    if near is not None:  # issue 16 item 6: "why didn't my permit match?"
        out.append("\nNear misses (failed on exactly one field)\n", "bold underline")
        if not near:
            out.append("  none\n", "dim")
        for line in near_miss_lines(near):
            out.append(f"  {line}\n", "dim" if line.startswith("...") else "")

    out.append("\nPacket fields\n", "bold underline")
    if not record.fields:
        out.append("  (none)\n", "dim")
    width = min(30, max((len(n) for n in record.fields), default=0)) + 1
    for name, value in record.fields.items():
        out.append(f"  {name:<{width}}", "dim")
        out.append(f"{field_text(name, value)}\n")
    return out


def record_near_misses(record: ClassifyRecord, policy: Policy, ored: bool = True) -> list[NearMiss]:
    """``core.explain.near_misses`` of a recorded classification against ``policy`` (the one in
    force when it was classified; ``ored``: core.match.same_field_ored of the host's Windows),
    its recorded field values read back as the classifier saw them (core.values)."""
    from wfptui.core.layers import get_layer
    from wfptui.core.values import parse_packet_value

    layer = get_layer(record.layer)
    values = {name: parse_packet_value(name, layer, raw)[0]
              for name, raw in record.fields.items() if raw is not None}
    return near_misses(policy, layer, values, ored)


def near_misses_at(record: TraceRecord | None, result: Any, records: Sequence[TraceRecord],
                   policy_rows: Sequence[int], index: int, policies: Mapping[str, Policy],
                   windows: Mapping[str, WinVersion]) -> list[NearMiss] | None:
    """The near misses of the classification at ``index``, or None when they cannot be known:
    not a classification with its arbitration kept, or a policy change on its host before it
    (``policy_rows``: the view's indexes of policy changes; ``policies``: each host's policy
    at the start of the run). A captured event (``result``: its core.triage.EventVerdict) has
    the near misses of its simulated classification (:func:`observed_near_misses`)."""
    from wfptui.core.match import same_field_ored
    from wfptui.core.model import ClassifyResult

    observed = isinstance(record, ObservedRecord) and getattr(result, "sim", None) is not None
    if not observed and (not isinstance(record, ClassifyRecord) or not isinstance(result, ClassifyResult)):
        return None
    assert isinstance(record, ClassifyRecord | ObservedRecord)
    policy = policies.get(record.host)
    if policy is None or any(i < index and getattr(records[i], "host", None) == record.host
                             for i in policy_rows):
        return None
    ored = same_field_ored(windows.get(record.host, WinVersion.WIN11))
    if observed:
        return observed_near_misses(result.sim, policy, ored)
    assert isinstance(record, ClassifyRecord)
    try:
        return record_near_misses(record, policy, ored)
    except (KeyError, ValueError):  # a recorded value the catalogue cannot read back
        return None


class Inspector(ScrollView, can_focus=True):
    """Scrollable details of the selected event; set with :meth:`show`.

    A Line API widget: a new event re-renders the text into strips and sets the virtual
    size, which stays the widget's own height while the text fits (then stepping lays
    nothing out again: see :meth:`_fit_virtual_size`). Its vertical scrollbar is always there and it never scrolls sideways (the text
    wraps), so the text's length never changes the screen's layout, nor the width the
    text is wrapped to.
    """

    DEFAULT_CSS = """
    Inspector {
        overflow-y: scroll;
        overflow-x: hidden;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.text = Text()
        self._lines: list[Strip] = []
        self._width = 0  # the width the text was laid out at (0: not yet)

    def show(self, record: TraceRecord | None, result: Any = None, flipped: bool = False,
             partner: ClassifyRecord | None = None, near: Sequence[NearMiss] | None = None) -> None:
        self.text = inspect_text(record, result, flipped, partner, near)
        self._lines = []
        self._width = 0
        self.scroll_to(y=0, animate=False, immediate=True)
        if self.outer_size.width:  # else: wrapped once the layout gives it a size (on_resize)
            self._layout_text(self._text_width(self.outer_size))
        self.refresh()

    @property
    def plain(self) -> str:
        """The shown text without styles (tests)."""
        return self.text.plain

    def _text_width(self, size: Size) -> int:
        """The width the text wraps to in a widget of (outer) ``size``: less border, padding and scrollbar."""
        styles = self.styles
        return max(10, size.width - styles.gutter.width - styles.scrollbar_size_vertical)

    def _layout_text(self, width: int) -> None:
        console = self.app.console
        options = console.options.update_width(width)
        self._lines = [Strip(line) for line in console.render_lines(self.text, options, pad=False)]
        self._width = width
        self._fit_virtual_size()

    def _fit_virtual_size(self) -> None:
        # The Line API's way: the scroll range (and the scrollbar's thumb) follow the virtual
        # size. A change of it lays the screen out again (~8 ms a step): a text that fits
        # keeps the widget's own height, so stepping through short events changes nothing.
        height = max(len(self._lines), self.scrollable_content_region.height)
        self.virtual_size = Size(self._width, height)

    def on_resize(self, _event: events.Resize) -> None:
        # The text wraps to the widget's width: wrapped again when the layout changes it.
        width = self._text_width(self.outer_size)
        if self.outer_size.width and width != self._width:
            self._layout_text(width)
        elif self._width:
            self._fit_virtual_size()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        row = int(self.scroll_offset.y) + y
        base = self.rich_style
        if row >= len(self._lines):
            return Strip.blank(width, base)
        return self._lines[row].apply_style(base).crop_extend(0, width, base)
