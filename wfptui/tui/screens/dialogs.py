"""Small modal dialogs: yes/no confirmation and a one-line path prompt with completion.

The path prompt completes like a shell (issue 16 item 8): tab completes the last path
typed (a diff takes two) to the longest common prefix of the folder's entries, adding
the separator after a folder; the suggestion shows greyed as you type. ``~`` is the home
folder; on Windows ``\\`` and ``/`` both separate, and a completion keeps the one typed.
"""

from __future__ import annotations

import os
from typing import ClassVar, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Button, Input, Label

ResultType = TypeVar("ResultType")


class Dialog(ModalScreen[ResultType]):
    """A modal screen centred over the dimmed screen below; its box is ``.dialog-box``."""

    # Here, not in app.tcss: parsed when a dialog is first opened, not before the first frame.
    DEFAULT_CSS = """
    Dialog {
        align: center middle;
        background: $background 60%;
    }
    Dialog .dialog-box {
        width: 70;
        height: auto;
        border: thick $accent;
        background: $surface;
        padding: 1 2;
    }
    Dialog .dialog-question {
        width: 100%;
        margin-bottom: 1;
    }
    Dialog .dialog-hint {
        color: $text-muted;
    }
    Dialog .dialog-buttons {
        height: auto;
        align: center middle;
    }
    Dialog .dialog-buttons Button {
        margin: 0 2;
    }
    """


class ConfirmModal(Dialog[bool]):
    """Ask a yes/no question; dismisses with True for yes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str, yes: str = "Yes", no: str = "No") -> None:
        super().__init__()
        self.question = question
        self.yes = yes
        self.no = no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label(self.question, classes="dialog-question")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.yes} (y)", variant="error", id="yes")
                yield Button(f"{self.no} (n)", variant="primary", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


def complete_path(text: str, windows: bool | None = None) -> str | None:
    """``text`` with its last path (after the last space) completed, or None when nothing
    completes it further. One entry: its whole name (a folder's with a separator after);
    several: their longest common prefix."""
    windows = os.name == "nt" if windows is None else windows
    head, _space, token = text.rpartition(" ")
    prefix = f"{head} " if _space else ""
    seps = ("\\", "/") if windows else ("/",)
    cut = max(token.rfind(sep) for sep in seps)
    folder_text, stem = token[: cut + 1], token[cut + 1:]
    folder = os.path.expanduser(folder_text) if folder_text else "."
    try:
        with os.scandir(folder) as entries:
            names = sorted((e.name, e.is_dir()) for e in entries if e.name.startswith(stem)
                           and (stem.startswith(".") or not e.name.startswith(".")))
    except OSError:
        return None
    if not names:
        return None
    sep = "\\" if windows and "/" not in token else "/"
    if len(names) == 1:
        name, is_dir = names[0]
        done = f"{prefix}{folder_text}{name}{sep if is_dir else ''}"
    else:
        done = f"{prefix}{folder_text}{os.path.commonprefix([n for n, _d in names])}"
    return done if done != text else None


class PathSuggester(Suggester):
    """Greys in :func:`complete_path`'s completion as the user types (right or tab takes it)."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        return complete_path(value)


class PathModal(Dialog[str | None]):
    """Ask for a file path (or two, for a diff); dismisses with the text or None. Tab completes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("tab", "complete", "Complete the path", priority=True),
    ]

    def __init__(self, prompt: str, value: str = "", placeholder: str = "") -> None:
        super().__init__()
        self.prompt = prompt
        self.value = value
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label(self.prompt, classes="dialog-question")
            yield Input(self.value, placeholder=self.placeholder, id="path-input", suggester=PathSuggester())
            yield Label("tab: complete · enter: ok · escape: cancel", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        self.dismiss(text or None)

    def action_complete(self) -> None:
        """Tab: complete the last path in the box (:func:`complete_path`)."""
        box = self.query_one(Input)
        done = complete_path(box.value)
        if done is not None:
            box.value = done
            box.cursor_position = len(done)

    def action_cancel(self) -> None:
        self.dismiss(None)
