"""The ``?`` screen: every key of every screen, read from the bindings themselves."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from wfptui.tui.query import FIELD_HELP
from wfptui.tui.query import HELP as QUERY_HELP
from wfptui.tui.screens.dialogs import Dialog


def _key_label(keys: str) -> str:
    names = {"space": "space", "full_stop": ".", "comma": ",", "plus": "+", "minus": "-",
             "equals_sign": "=", "slash": "/", "question_mark": "?", "escape": "esc",
             "left_square_bracket": "[", "right_square_bracket": "]"}
    return " / ".join(names.get(k, k) for k in keys.split(","))


def binding_rows(sections: list[tuple[str, list[BindingType]]]) -> list[tuple[str, str, str]]:
    """(where, keys, what it does) for every binding of every section."""
    return [(where, _key_label(b.key), b.description or b.action)
            for where, bindings in sections for b in bindings if isinstance(b, Binding)]


def bindings_table(rows: list[tuple[str, str, str]]) -> Table:
    """A table of (where, key, what it does)."""
    table = Table(box=None, show_header=True, header_style="bold", expand=False, pad_edge=False)
    table.add_column("where", style="dim", no_wrap=True)
    table.add_column("key", style="bold", no_wrap=True)
    table.add_column("does")
    for row in rows:
        table.add_row(*row)
    return table


class HelpScreen(Dialog[None]):
    """Lists every key; any of escape, q or ? closes it."""

    DEFAULT_CSS = """
    #help-box {
        width: 90%;
        height: 90%;
        border: thick $accent;
        background: $surface;
        padding: 0 1;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, sections: list[tuple[str, list[BindingType]]]) -> None:
        super().__init__()
        self.rows = binding_rows(sections)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = "wfptui keys"
            yield Static(bindings_table(self.rows))
            yield Static(Text.assemble(("\nTimeline filter  ", "bold"), QUERY_HELP,
                                       ("\nField queries  ", "bold"), FIELD_HELP,
                                       ("\nVerdicts  ", "bold"),
                                       "✔ permit  ✖ block  ⇣ discard  ○ none (nothing matched: permit)  "
                                       "↻ reauthorization  Δ flipped by the last policy change  ⚙ policy change",
                                       ("\nSaving a policy  ", "bold"),
                                       "re-runs the scenario from its start and marks every flipped verdict; "
                                       "a applies the last saved change at the cursor instead (live flows "
                                       "reauthorize). The status bar says which happened."))

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
