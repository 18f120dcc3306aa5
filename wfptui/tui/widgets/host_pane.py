"""One host's pane: the layers its traffic crosses, in traversal order, with counts.

Each row shows the layer, its permits (✔), blocks (✖), discards (⇣) and verdicts
flipped by the last policy change (Δ). The layer of the selected event is lit, with
the event's verdict in symbol and word.
"""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from wfptui.core.trace import ClassifyRecord, TraceRecord
from wfptui.tui.render import verdict_of
from wfptui.tui.runview import LayerCounts


def _shorten(name: str, width: int) -> str:
    """Fit a layer name in ``width``, keeping both ends (``…_V4_DISCARD`` must stay visible)."""
    if len(name) <= width:
        return name
    head = (width - 1) // 2
    return name[:head] + "…" + name[len(name) - (width - 1 - head):]


class HostPane(Widget):
    """Layers of one host; set ``layers``/``counts`` with :meth:`show` and the selection with :meth:`light`."""

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

    def show(self, layer_names: list[str], counts: dict[str, LayerCounts], pending: bool = False) -> None:
        """Show this host's layers (traversal order) and their counts (``pending``: still counting)."""
        self.layer_names = layer_names
        self.counts = counts
        self.pending = pending
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
        tail_width = 2 * (digits + 3) + (digits + 3 if any_discard else 0) + (5 if any_flip else 0)
        name_width = max(8, min(max(len(n) for n in self.layer_names), self.content_size.width - 2 - tail_width))
        dim = style("host-pane--dim")
        for i, (layer, c) in enumerate(zip(self.layer_names, counts, strict=True)):
            if i:
                out.append("\n")
            is_active = self.active is not None and self.active.layer == layer
            name = _shorten(layer, name_width)
            line = Text(no_wrap=True)
            line.append("▶ " if is_active else "  ")
            line.append(name.ljust(name_width))
            if is_active and self.active is not None:
                key, word, symbol = verdict_of(self.active)
                tail = f" {symbol} {word}" + (" ↻" if self.active.reauth else "")
                span = 2 * (digits + 3) + (digits + 3 if any_discard else 0)
                line.append(tail.ljust(span), style(f"host-pane--{key}"))
            else:
                line.append(f" ✔{c.permit:>{digits}} ", style("host-pane--permit") if c.permit else dim)
                line.append(f" ✖{c.block:>{digits}} ", style("host-pane--block") if c.block else dim)
            if any_discard and not is_active:
                line.append(f" ⇣{c.discard:>{digits}} ", style("host-pane--discard") if c.discard
                            else dim)
            if c.flipped:
                line.append(f" Δ{c.flipped:<3}", style("host-pane--flip"))
            if is_active:
                lit = style("host-pane--active")
                line.stylize(Style(bgcolor=lit.bgcolor, bold=True))
            out.append_text(line)
        return out
