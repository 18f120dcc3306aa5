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
from textual.binding import Binding
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
        self._shown: list[tuple[Binding, Any, bool]] | None = None  # the keys of the last render

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[Any]) -> None:
        # Only when the bar would read differently: Textual signals after every focus
        # change, the first one included, and a redraw then is one more frame at start-up.
        if self.is_attached and screen is self.screen and self._keys() != self._shown:
            self.refresh()

    def _keys(self) -> list[tuple[Binding, Any, bool]]:
        """(binding, node, is the palette's) for each key on the bar, in order; the palette's last."""
        keys: list[tuple[Binding, Any, bool]] = []
        seen: set[str] = set()
        active = self.screen.active_bindings
        palette_key = self.app.COMMAND_PALETTE_BINDING
        for key, (node, binding, enabled, _tooltip) in active.items():
            if key == palette_key or not binding.show or not enabled or binding.action in seen:
                continue
            seen.add(binding.action)
            keys.append((binding, node, False))
        if self.app.ENABLE_COMMAND_PALETTE and palette_key in active:
            node, binding, _enabled, _tooltip = active[palette_key]
            keys.append((binding, node, True))
        return keys

    def render(self) -> Text:
        keys = self._keys()
        out, spans = self._line(keys, compact=False)
        if out.cell_len > self.size.width > 0:  # narrow (80 columns): no padding, every key stays
            out, spans = self._line(keys, compact=True)
        self._spans = spans
        self._shown = keys
        return out

    def _line(self, keys: list[tuple[Binding, Any, bool]],
              compact: bool) -> tuple[Text, list[tuple[int, int, str, Any]]]:
        out = Text(no_wrap=True, overflow="ellipsis")
        spans: list[tuple[int, int, str, Any]] = []
        pad = "" if compact else " "
        for binding, node, palette in keys:
            if palette and not compact:
                out.append("  ")
            start = out.cell_len
            out.append(f"{pad}{self.app.get_key_display(binding)}{pad}", style="bold reverse")
            out.append(f" {'palette' if palette else binding.description} ")
            spans.append((start, out.cell_len, binding.action, node))
        return out, spans

    async def on_click(self, event: events.Click) -> None:
        for start, end, action, node in self._spans:
            if start <= event.x < end:
                await self.app.run_action(action, node)
                return
