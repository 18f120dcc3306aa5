"""The policy editor screen: one tab per host, errors marked at their line as you type.

Typing validates after a short pause (the parse is the real policy parser); the
diagnostics list sits under the editor and each bad line is marked in the gutter.
``ctrl+s`` posts :class:`EditorScreen.SaveRequested` and the app saves atomically. The
screen is handed its data (the app's per-host :class:`~wfptui.tui.state.HostPolicy`
objects, whose buffers outlive the screen, and the parser) and never reaches up into
the app, so leaving the screen loses nothing and the screen does not import the app.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Static, TabbedContent, TabPane, TextArea

from wfptui.core.model import Policy
from wfptui.io.errors import Diagnostic, InputError
from wfptui.tui.state import HostPolicy
from wfptui.tui.widgets.key_bar import KeyBar
from wfptui.tui.widgets.policy_editor import PolicyEditor, toml_highlighting

#: Seconds of quiet typing before the text is validated.
VALIDATE_DELAY = 0.25


class EditorScreen(Screen[None]):
    """Policy editors, one tab per host."""

    # Here, not in app.tcss: parsed when the editor is first opened, not before the first frame.
    # ($primary 40%: app.tcss's $pane-border.)
    DEFAULT_CSS = """
    #editor-tabs {
        height: 1fr;
    }
    .diagnostics {
        height: auto;
        max-height: 8;
        padding: 0 1;
        color: $success;
        border-top: solid $primary 40%;
    }
    .diagnostics.-error {
        color: $error;
        text-style: bold;
    }
    #editor-hint {
        height: 1;
        color: $text-muted;
        padding: 0 1;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("escape", "close", "Back", priority=True),
        Binding("ctrl+r", "revert", "Revert to file"),
        Binding("ctrl+pagedown,f6", "next_host", "Next host", priority=True),
        Binding("ctrl+pageup,shift+f6", "previous_host", "Previous host", priority=True),
    ]
    """
    | Key | Action |
    | :- | :- |
    | ctrl+s | Save this host's policy (atomic) and apply it. |
    | ctrl+r | Throw away unsaved edits: reload the file. |
    | ctrl+pagedown / f6 | The next host's policy. |
    | ctrl+pageup / shift+f6 | The previous host's policy. |
    | escape | Back to the main screen (edits are kept). |
    """

    class SaveRequested(Message):
        """``ctrl+s``: save ``text`` as ``host``'s policy (the app writes it and applies it)."""

        def __init__(self, host: str, text: str) -> None:
            super().__init__()
            self.host = host
            self.text = text

    def __init__(self, host_policies: Mapping[str, HostPolicy], parse: Callable[[str, str], Policy],
                 host: str | None = None) -> None:
        """``host_policies``: the app's per-host state (buffers and diagnostics are kept there);
        ``parse(text, filename)``: the policy parser (raises InputError); ``host``: the tab to open."""
        super().__init__()
        self.host_policies = host_policies
        self.parse = parse
        self.initial_host = host
        self._validate_timers: dict[str, Timer] = {}

    def compose(self) -> ComposeResult:
        policies = self.host_policies
        with TabbedContent(id="editor-tabs", initial=f"tab-{self.initial_host}" if self.initial_host else ""):
            for host, hp in policies.items():
                with TabPane(f"{host}: {hp.label}", id=f"tab-{host}"):
                    yield PolicyEditor(hp.editor_text(), host, id=f"edit-{host}")
                    yield Static("", id=f"diag-{host}", classes="diagnostics")
        hint = "" if toml_highlighting() else " · TOML highlighting off (needs textual[syntax])"
        yield Static(f"ctrl+s save · ctrl+r revert · f6 / ctrl+pagedown next host · escape back{hint}", id="editor-hint", markup=False)
        yield KeyBar()

    def on_mount(self) -> None:
        self.match_theme()
        for host in self.host_policies:
            self.show_diagnostics(host)
        editor = self.current_editor()
        if editor is not None:
            self.set_focus(editor)  # at once: keys typed as the screen opened are held for it

    @property
    def keys_ready(self) -> bool:
        """The current host's editor has the focus: held keys are typed there (tui.keyhold)."""
        try:
            editor = self.current_editor() if self.is_mounted else None
            if editor is None or self.focused is not editor:
                return False
            self.query_one(TabbedContent).get_tab(f"tab-{editor.host}")  # its tab is mounted too
        except (NoMatches, ValueError):
            return False
        return True

    def match_theme(self) -> None:
        """Light editors under a light app theme, dark ones under a dark theme."""
        dark = self.app.current_theme.dark
        for editor in self.query(PolicyEditor):
            editor.theme = "vscode_dark" if dark else "github_light"

    def current_editor(self) -> PolicyEditor | None:
        tabs = self.query_one(TabbedContent)
        active = tabs.active
        if not active:
            return None
        return self.query_one(f"#edit-{active.removeprefix('tab-')}", PolicyEditor)

    def _cycle(self, step: int) -> None:
        tabs = self.query_one(TabbedContent)
        ids = [f"tab-{host}" for host in self.host_policies]
        if not ids:
            return
        current = ids.index(tabs.active) if tabs.active in ids else 0
        tabs.active = ids[(current + step) % len(ids)]

    def action_next_host(self) -> None:
        self._cycle(1)

    def action_previous_host(self) -> None:
        self._cycle(-1)

    @on(TabbedContent.TabActivated)
    def _tab(self, _event: TabbedContent.TabActivated) -> None:
        editor = self.current_editor()
        if editor is not None:
            editor.focus()

    @on(TextArea.Changed)
    def _changed(self, event: TextArea.Changed) -> None:
        editor = event.text_area
        if not isinstance(editor, PolicyEditor):
            return
        hp = self.host_policies[editor.host]
        if editor.text == hp.editor_text():
            return
        hp.buffer = editor.text
        self._update_title(editor.host)
        timer = self._validate_timers.get(editor.host)
        if timer is not None:
            timer.stop()
        self._validate_timers[editor.host] = self.set_timer(VALIDATE_DELAY, lambda: self.validate(editor.host))

    def validate(self, host: str) -> list[Diagnostic]:
        """Parse the buffer now and mark what is wrong."""
        hp = self.host_policies[host]
        try:
            self.parse(hp.editor_text(), hp.filename)
        except InputError as exc:
            hp.diagnostics = list(exc.diagnostics)
        except Exception as exc:  # noqa: BLE001 - a parser bug must not kill the editor
            hp.diagnostics = [Diagnostic(hp.filename, 0, 0, f"internal error: {exc}")]
        else:
            hp.diagnostics = []
        self.show_diagnostics(host)
        return hp.diagnostics

    def show_diagnostics(self, host: str) -> None:
        """Mark the host's current diagnostics in its editor and list them below."""
        hp = self.host_policies.get(host)
        if hp is None:
            return
        try:
            editor = self.query_one(f"#edit-{host}", PolicyEditor)
        except NoMatches:
            return
        editor.mark_errors({d.line - 1 for d in hp.diagnostics if d.line > 0})
        box = self.query_one(f"#diag-{host}", Static)
        if hp.diagnostics:
            box.update("\n".join(f"✖ line {d.line}:{d.col}  {d.message}" if d.line else f"✖ {d.message}"
                                 for d in hp.diagnostics))
            box.add_class("-error")
        else:
            box.update("✔ valid policy")
            box.remove_class("-error")
        self._update_title(host)

    def _update_title(self, host: str) -> None:
        hp = self.host_policies[host]
        tabs = self.query_one(TabbedContent)
        mark = " ●" if hp.dirty else ""
        err = " ✖" if hp.diagnostics else ""
        tab = tabs.get_tab(f"tab-{host}")
        tab.label = f"{host}: {hp.label}{mark}{err}"

    def reload_from_app(self, host: str) -> None:
        """The app replaced the host's text (file changed on disk, no unsaved edits)."""
        hp = self.host_policies[host]
        editor = self.query_one(f"#edit-{host}", PolicyEditor)
        if editor.text != hp.editor_text():
            editor.load_text(hp.editor_text())
        self.show_diagnostics(host)

    def action_save(self) -> None:
        editor = self.current_editor()
        if editor is not None:
            self.validate(editor.host)
            self.post_message(self.SaveRequested(editor.host, editor.text))

    def action_revert(self) -> None:
        editor = self.current_editor()
        if editor is None:
            return
        hp = self.host_policies[editor.host]
        hp.buffer = None
        editor.load_text(hp.editor_text())
        self.validate(editor.host)

    def action_close(self) -> None:
        self.app.pop_screen()
