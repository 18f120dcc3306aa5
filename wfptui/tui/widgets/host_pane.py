"""One host's pane: the layers its traffic crosses, in traversal order, with counts.

Each row shows the layer, its permits (✔), blocks (✖), discards (⇣) and verdicts
flipped by the last policy change (Δ). The layer of the selected event is lit, with
the event's verdict in symbol and word. Names are shortened by ``tui.names`` (one
table, whole words); when the pane is narrow the counts go first (tighter, then gone)
so the names stay readable. Focused, up/down choose a layer and enter (or a click on
a layer) posts :class:`HostPane.LayerChosen`: the screen filters the timeline to it.
"""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widget import Widget

from wfptui.core.trace import ClassifyRecord, TraceRecord
from wfptui.tui.names import layer_forms, short_layer
from wfptui.tui.render import verdict_of
from wfptui.tui.runview import LayerCounts


class HostPane(Widget, can_focus=True):
    """Layers of one host; set ``layers``/``counts`` with :meth:`show` and the selection with :meth:`light`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "layer(-1)", "Layer up", show=False),
        Binding("down,j", "layer(1)", "Layer down", show=False),
        Binding("enter", "choose", "Filter to layer", show=False),  # in ?: the footer keeps q and ?
    ]
    """
    | Key | Action |
    | :- | :- |
    | up / down | Choose a layer (the pane has the focus). |
    | enter | Filter the timeline to this host and layer (a click on a layer too). |
    """

    class LayerChosen(Message):
        """Enter or a click on a layer (``on_host_pane_layer_chosen``)."""

        def __init__(self, pane: HostPane, host: str, layer: str) -> None:
            super().__init__()
            self.pane = pane
            self.host = host
            self.layer = layer

        @property
        def control(self) -> HostPane:
            return self.pane

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "host-pane--active", "host-pane--permit", "host-pane--block", "host-pane--discard",
        "host-pane--flip", "host-pane--dim", "host-pane--none",
    }

    def __init__(self, host: str, *, id: str | None = None, active: bool = False) -> None:
        """``active``: starts lit (``-active``), as :meth:`light` would light it."""
        # Lit from the start when the first selected event is on this host: setting the
        # class after mounting restyles the pane once more before the first frame.
        super().__init__(id=id, classes="host-pane -active" if active else "host-pane")
        self.host = host
        self.border_title = host
        self.layer_names: list[str] = []
        self.counts: dict[str, LayerCounts] = {}
        self.active: ClassifyRecord | None = None
        self.pending = False
        self.layer_cursor = 0  # the layer enter chooses (shown while the pane has the focus)

    def show(self, layer_names: list[str], counts: dict[str, LayerCounts], pending: bool = False) -> None:
        """Show this host's layers (traversal order) and their counts (``pending``: still counting)."""
        self.layer_names = layer_names
        self.counts = counts
        self.pending = pending
        self.layer_cursor = min(self.layer_cursor, max(0, len(layer_names) - 1))
        total = sum(c.permit + c.block + c.discard for c in counts.values())
        blocks = sum(c.block for c in counts.values())
        self.border_subtitle = f"{len(layer_names)} layers · {total} classified · {blocks} blocked"
        self.refresh(layout=True)

    def light(self, record: TraceRecord | None) -> None:
        """Light the layer of ``record`` when it is a classification on this host."""
        active = record if isinstance(record, ClassifyRecord) and record.host == self.host else None
        if active is not self.active:
            self.active = active
            self.set_class(active is not None, "-active")
            self.refresh()

    def action_layer(self, delta: int) -> None:
        if self.layer_names:
            self.layer_cursor = max(0, min(len(self.layer_names) - 1, self.layer_cursor + delta))
            self.refresh()

    def action_choose(self) -> None:
        if self.layer_names:
            self.post_message(self.LayerChosen(self, self.host, self.layer_names[self.layer_cursor]))

    def on_click(self, event: events.Click) -> None:
        row = event.y - self.gutter.top + int(self.scroll_offset.y)
        if 0 <= row < len(self.layer_names):
            self.layer_cursor = row
            self.refresh()
            self.post_message(self.LayerChosen(self, self.host, self.layer_names[row]))

    def on_focus(self, _event: events.Focus) -> None:
        if self.active is not None and self.active.layer in self.layer_names:
            self.layer_cursor = self.layer_names.index(self.active.layer)
        self.refresh()

    def on_blur(self, _event: events.Blur) -> None:
        self.refresh()

    def get_content_height(self, container, viewport, width: int) -> int:  # type: ignore[no-untyped-def]
        return max(1, len(self.layer_names))

    def render(self) -> Text:
        style = self.get_component_rich_style
        out = Text(no_wrap=True, overflow="ellipsis")
        if not self.layer_names:
            out.append("indexing the trace…" if self.pending else "(no traffic on this host)",
                       style("host-pane--dim"))
            return out
        counts = [self.counts.get(layer, LayerCounts()) for layer in self.layer_names]
        digits = max(1, *(len(str(max(c.permit, c.block))) for c in counts))
        any_discard = any(c.discard for c in counts)
        any_flip = any(c.flipped for c in counts)
        width = self.content_size.width
        shortest = max(len(layer_forms(n)[-1]) for n in self.layer_names)
        longest = max(len(n) for n in self.layer_names)
        # counts: padded, tight, or none, the widest that leaves every name its shortest form
        pad = 1
        for pad in (1, 0, -1):
            cell = digits + 2 + pad
            span = 2 if pad < 0 else 2 * cell + (cell if any_discard else 0)  # no counts: the lit symbol
            tail_width = span + (5 if any_flip and pad >= 0 else 0)
            if width - 2 - tail_width >= min(shortest, longest):
                break
        name_width = max(6, min(longest, width - 2 - tail_width))
        dim = style("host-pane--dim")
        sep = " " if pad > 0 else ""
        chooser = self.has_focus
        for i, (layer, c) in enumerate(zip(self.layer_names, counts, strict=True)):
            if i:
                out.append("\n")
            is_active = self.active is not None and self.active.layer == layer
            name = short_layer(layer, name_width)
            line = Text(no_wrap=True)
            line.append("▶ " if is_active else ("› " if chooser and i == self.layer_cursor else "  "))
            line.append(name.ljust(name_width), Style(reverse=True) if chooser and i == self.layer_cursor
                        else "")
            if is_active and self.active is not None:
                key, word, symbol = verdict_of(self.active)
                if pad < 0:  # no room for counts: the symbol still tells the verdict
                    tail = f" {symbol}"
                else:
                    tail = f" {symbol} {word}" + (" ↻" if self.active.reauth else "")
                    if len(tail) > span:  # tight counts: the symbol alone, never a cut word
                        tail = f" {symbol}" + (" ↻" if self.active.reauth else "")
                line.append(tail.ljust(span), style(f"host-pane--{key}"))
            elif pad >= 0:
                line.append(f" ✔{c.permit:>{digits}}{sep}", style("host-pane--permit") if c.permit else dim)
                line.append(f" ✖{c.block:>{digits}}{sep}", style("host-pane--block") if c.block else dim)
            if any_discard and not is_active and pad >= 0:
                line.append(f" ⇣{c.discard:>{digits}}{sep}", style("host-pane--discard") if c.discard
                            else dim)
            if c.flipped and pad >= 0:
                line.append(f" Δ{c.flipped:<3}", style("host-pane--flip"))
            if is_active:
                lit = style("host-pane--active")
                line.stylize(Style(bgcolor=lit.bgcolor, bold=True))
            out.append_text(line)
        return out
