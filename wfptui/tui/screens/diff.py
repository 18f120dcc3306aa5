"""Two traces side by side, with the first divergence selected in both.

Records that differ (core.diff: changed, or only on one side) are marked ≠. Each side
has its own cursor and inspector; ``n`` moves both to the next difference.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Static

from wfptui.tui.backend import TraceComparison
from wfptui.tui.runview import RunView
from wfptui.tui.widgets.inspector import Inspector
from wfptui.tui.widgets.key_bar import KeyBar
from wfptui.tui.widgets.timeline import HEADER_COMPACT, Timeline


class DiffScreen(Screen[None]):
    """Left and right trace; differing records marked ≠."""

    # Here, not in app.tcss: parsed when the screen is first opened, not before the first
    # frame. Scoped to this screen; the main screen's Timeline and Inspector rules apply too.
    # ($primary 40% and $accent: app.tcss's $pane-border and $pane-border-focus.)
    DEFAULT_CSS = """
    #diff-summary {
        height: auto;
        padding: 0 1;
        background: $warning 25%;
        text-style: bold;
    }
    .diff-header {
        height: 1;
        color: $text-muted;
        text-style: bold;
    }
    .diff-side Timeline {
        border: round $primary 40%;
        border-title-style: bold;
    }
    .diff-side Timeline:focus {
        border: round $accent;
    }
    .diff-inspector {
        height: 40%;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Back"),
        Binding("n,d", "next_diff", "Next difference"),
        Binding("down,j,right", "move(1)", "Down", show=False),
        Binding("up,k,left", "move(-1)", "Up", show=False),
        Binding("home,g", "first_diff", "First divergence"),
    ]
    """
    | Key | Action |
    | :- | :- |
    | n / d | Next differing record. |
    | home / g | Back to the first divergence. |
    | up / down | Move both cursors. |
    | escape / q | Back. |
    """

    def __init__(self, left_label: str, left: RunView, right_label: str, right: RunView,
                 comparison: TraceComparison) -> None:
        super().__init__()
        self.left_label, self.left, self.right_label, self.right = left_label, left, right_label, right
        self.comparison = comparison
        self.left_index, self.right_index = comparison.index_a, comparison.index_b
        # a record only on one side: the other side's cursor goes to the same place
        if self.right_index is None and self.left_index is not None:
            self.right_index = min(self.left_index, max(0, len(right.records) - 1))
        if self.left_index is None and self.right_index is not None:
            self.left_index = min(self.right_index, max(0, len(left.records) - 1))
        self.summary = comparison.summary

    def compose(self) -> ComposeResult:
        yield Static(f"≠ {self.summary}", id="diff-summary")
        with Horizontal(id="diff-panes"):
            with Vertical(classes="diff-side"):
                yield Static(HEADER_COMPACT, classes="diff-header")
                yield Timeline(id="diff-left", compact=True)
                yield Inspector(id="diff-left-inspector", classes="diff-inspector")
            with Vertical(classes="diff-side"):
                yield Static(HEADER_COMPACT, classes="diff-header")
                yield Timeline(id="diff-right", compact=True)
                yield Inspector(id="diff-right-inspector", classes="diff-inspector")
        yield KeyBar()

    def on_mount(self) -> None:
        c = self.comparison
        for side, view, label, index, marked in (
                ("left", self.left, self.left_label, self.left_index, c.marked_a),
                ("right", self.right, self.right_label, self.right_index, c.marked_b)):
            tl = self.query_one(f"#diff-{side}", Timeline)
            tl.border_title = label
            tl.border_subtitle = f"{len(view.records):,} events · {len(marked)} differ"
            tl.marked = set(marked)
            tl.set_data(view.records, None, set(), index if index is not None else 0)
        self.query_one("#diff-left", Timeline).focus()

    @on(Timeline.CursorMoved)
    def _moved(self, event: Timeline.CursorMoved) -> None:
        side = "left" if event.timeline.id == "diff-left" else "right"
        view = self.left if side == "left" else self.right
        record = view.records[event.index] if event.index is not None else None
        self.query_one(f"#diff-{side}-inspector", Inspector).show(
            record, view.result_for(record) if record is not None else None)

    def _pair(self) -> tuple[Timeline, Timeline]:
        return self.query_one("#diff-left", Timeline), self.query_one("#diff-right", Timeline)

    def action_move(self, delta: int) -> None:
        for tl in self._pair():
            tl.move_to(tl.cursor + delta)

    def action_step(self, delta: int) -> None:
        self.action_move(delta)

    def action_jump_start(self) -> None:
        self.action_move(-(1 << 40))

    def action_jump_end(self) -> None:
        self.action_move(1 << 40)

    def action_next_diff(self) -> None:
        moved = False
        for tl in self._pair():
            later = sorted(i for i in tl.marked if i > tl.cursor)
            if later:
                tl.move_to(later[0])
                moved = True
        if not moved:
            self.app.notify("No further difference.", timeout=2)

    def action_first_diff(self) -> None:
        left, right = self._pair()
        if self.left_index is not None:
            left.move_to(self.left_index)
        if self.right_index is not None:
            right.move_to(self.right_index)

    def action_close(self) -> None:
        self.app.pop_screen()
