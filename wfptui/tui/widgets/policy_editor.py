"""The policy editor: a TOML TextArea whose gutter marks the lines with errors.

TOML highlighting needs tree-sitter and its TOML grammar (``textual[syntax]``); when
they are not installed the editor stays a plain-text editor.
"""

from __future__ import annotations

from functools import cache

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widgets import TextArea


@cache
def toml_highlighting() -> bool:
    """tree-sitter and its TOML grammar are installed (the packages ``textual[syntax]``
    brings; TextArea highlights TOML with them)."""
    from importlib.util import find_spec

    return find_spec("tree_sitter") is not None and find_spec("tree_sitter_toml") is not None


class PolicyEditor(TextArea):
    """Edits one host's policy file; :attr:`error_lines` (0-based) are marked in the gutter."""

    ERROR_STYLE = Style(color="white", bgcolor="red", bold=True)

    def __init__(self, text: str, host: str, *, id: str | None = None) -> None:
        super().__init__(
            text,
            language="toml" if toml_highlighting() else None,
            theme="vscode_dark",
            soft_wrap=False,
            tab_behavior="indent",
            show_line_numbers=True,
            id=id,
            classes="policy-editor",
        )
        self.host = host
        self.error_lines: set[int] = set()

    def mark_errors(self, lines: set[int]) -> None:
        """Mark these document lines (0-based) as wrong."""
        if lines != self.error_lines:
            self.error_lines = lines
            self.refresh()

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        line = int(self.scroll_offset.y) + y
        if line not in self.error_lines or not self.show_line_numbers:
            return strip
        gutter = self.gutter_width
        parts = list(strip.divide([gutter, strip.cell_length]))
        tail = parts[1] if len(parts) > 1 else Strip([])
        label = f"✖{line + 1}".rjust(max(1, gutter - 1)) + " "
        return Strip.join([Strip([Segment(label[:gutter].ljust(gutter), self.ERROR_STYLE)]), tail])
