"""The footer: the keys of the focused screen, one line of text.

Textual's ``Footer`` builds a widget per key and rebuilds them whenever focus moves,
which cost about as much as the rest of the first frame; this bar renders the same
bindings (``Binding.show``, grouped by action, command palette last) as one line.
Clicking a key runs its action, so the mouse still works.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget


class KeyBar(Widget):
    """One line: ``key description`` for each shown binding of the screen."""

    DEFAULT_CSS = """
    KeyBar {
        height: 1;
        background: $footer-background;
        color: $footer-description-foreground;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._spans: list[tuple[int, int, str, Any]] = []  # start, end, action, node

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[Any]) -> None:
        if self.is_attached and screen is self.screen:
            self.refresh()

    def render(self) -> Text:
        out = Text(no_wrap=True, overflow="ellipsis")
        spans: list[tuple[int, int, str, Any]] = []
        seen: set[str] = set()
        active = self.screen.active_bindings
        palette_key = self.app.COMMAND_PALETTE_BINDING
        for key, (node, binding, enabled, _tooltip) in active.items():
            if key == palette_key or not binding.show or not enabled or binding.action in seen:
                continue
            seen.add(binding.action)
            start = out.cell_len
            out.append(f" {self.app.get_key_display(binding)} ", style="bold reverse")
            out.append(f" {binding.description} ")
            spans.append((start, out.cell_len, binding.action, node))
        if self.app.ENABLE_COMMAND_PALETTE and palette_key in active:
            node, binding, _enabled, _tooltip = active[palette_key]
            out.append("  ")
            start = out.cell_len
            out.append(f" {self.app.get_key_display(binding)} ", style="bold reverse")
            out.append(" palette ")
            spans.append((start, out.cell_len, binding.action, node))
        self._spans = spans
        return out

    async def on_click(self, event: events.Click) -> None:
        for start, end, action, node in self._spans:
            if start <= event.x < end:
                await self.app.run_action(action, node)
                return
