"""The wfptui Textual app: session state, workers, and the handlers that mutate state.

Workers compute (engine runs, file reads and writes, the folder watcher) and post
messages (``tui.messages``); the handlers here own every state change and hand data
down to the screens. Policy files are watched through ``io.watch`` (folders, not
files, so editors' write-and-rename saves are seen). A valid change always re-runs the
scenario from its start and marks every flipped verdict, wherever the cursor is; the
separate action ``a`` ("apply at the cursor") turns the last saved change into a policy
change at the cursor's virtual time instead, so live flows reauthorize from there. The
status bar says which happened. An invalid change keeps the last good policy and shows
the error at its line.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import events, on, work
from textual.app import ScreenStackError, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from wfptui.core.datatypes import WinVersion
from wfptui.core.model import Policy
from wfptui.core.scenario import Step
from wfptui.core.trace import PolicyRecord, TraceRecord
from wfptui.io.errors import Diagnostic, InputError
from wfptui.tui.backend import Backend, Source, env_flag, policy_change_step, policy_path
from wfptui.tui.file_actions import FileActions
from wfptui.tui.keyhold import KeyHold
from wfptui.tui.messages import (
    ActionFailed,
    DetailsReady,
    PolicyFilesChanged,
    PolicyLoaded,
    PolicyTextRead,
    RunFailed,
    RunFinished,
    SourceOpened,
)
from wfptui.tui.runview import RunView, find_flips
from wfptui.tui.screens.main import MainScreen
from wfptui.tui.settings import load_theme, save_theme
from wfptui.tui.startup import resume_gc, terminal_gone
from wfptui.tui.state import HostPolicy

if TYPE_CHECKING:  # opened on demand: imported when first needed, not at start-up
    from wfptui.tui.screens.editor import EditorScreen

#: Set to make the app report the first frame that shows a run, then exit (benchmarks);
#: ``ui``: the very first frame, before the run is on screen.
BENCH_ENV = "WFPTUI_BENCH_EXIT_AFTER_FIRST_FRAME"

DARK, LIGHT = "textual-dark", "textual-light"
#: Recordings up to this many records are re-driven in the background for the inspector.
REDRIVE_LIMIT = 50_000
#: Seconds after mount at which the garbage collector runs again even if no run was shown.
STARTUP_GRACE = 2.0


class WfpApp(FileActions):
    """wfptui: host panes, timeline, inspector, policy editor, recordings."""

    CSS_PATH = "tcss/app.tcss"
    TITLE = "wfptui"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help"),
        Binding("e", "edit", "Edit policy"),
        Binding("t", "toggle_theme", "Theme"),
        Binding("o", "open", "Open", show=False),
        Binding("w", "save_recording", "Save rec", show=False),
        Binding("d", "diff", "Diff", show=False),
        Binding("r", "rerun", "Re-run", show=False),
        Binding("a", "apply_at_cursor", "Apply at cursor", show=False),
    ]
    """
    | Key | Action |
    | :- | :- |
    | q | Quit (asks first when a policy has unsaved edits). |
    | ? | Every key. |
    | e | Edit the policies (opens on the selected event's host). |
    | t | Dark / light theme (every theme: ctrl+p, Theme; the choice is remembered). |
    | o | Open a scenario or recording. |
    | w | Save this session as a recording. |
    | d | Diff this session against a recording (or two recordings). |
    | r | Re-run the scenario from the start. |
    | a | Apply the last saved policy change at the cursor instead of from the start (live flows reauthorize). |
    | ctrl+p | Command palette (every action). |
    """

    def __init__(self, source: Source, *, backend: Backend | None = None, watch: bool = True,
                 view: RunView | None = None) -> None:
        super().__init__()
        # before mount: a later change would restyle every widget. The theme chosen last
        # time (tui.settings: the user's config folder), else dark.
        saved = load_theme()
        self._saved_theme = saved if saved in self.available_themes else DARK
        self.theme = self._saved_theme
        self.source = source
        self.backend = backend or Backend()
        self.watch_enabled = watch
        self._preloaded = view
        if view is None and source.kind == "recording":  # the records at once; indexed in a thread
            view = RunView.unindexed(source.recording.records, [h.name for h in source.scenario.hosts])
        self.view: RunView | None = view
        self.host_policies: dict[str, HostPolicy] = {}
        self.base_policies: dict[str, Policy] = {}
        self.live_steps: list[Step] = []
        #: The last saved change, until ``a`` applies it at the cursor: (host, the policy
        #: before it, base policies and live steps before it re-ran from the start).
        self.pending_change: tuple[str, Policy, dict[str, Policy], list[Step]] | None = None
        self._run_id = 0
        self._applied_seq: object = "?"  # the event "apply at the cursor" applied at (status bar)
        self.bench = env_flag(BENCH_ENV)
        self.bench_ui_only = os.environ.get(BENCH_ENV, "") == "ui"
        # A run given here is on the main screen from its first frame.
        self._init_policies()
        self._start_failed = False  # the first run failed: keys are not held for it any more
        self.keys = KeyHold(self, self._keys_ready)
        self.main = MainScreen([h.name for h in source.scenario.hosts], view, windows=self._windows(),
                               policies=self.base_policies)

    # ------------------------------------------------------------ start-up

    def _init_policies(self) -> None:
        scenario = self.source.scenario
        self.host_policies = {}
        for spec in scenario.hosts:
            policy = self.source.policies.get(spec.name, spec.policy)
            base = self.source.path.parent if self.source.path is not None else None
            path = policy_path(scenario, spec.name, base) if self.source.kind != "recording" else None
            self.host_policies[spec.name] = HostPolicy(spec.name, policy, path)
        self.base_policies = {h: hp.good for h, hp in self.host_policies.items()}
        self.live_steps = []
        self.pending_change = None

    def _windows(self) -> dict[str, WinVersion]:
        """Each host's Windows version (the screens are handed it)."""
        return {h.name: h.windows for h in self.source.scenario.hosts}

    def _keys_ready(self) -> bool:
        """Keys typed while the app opens wait for its first run on screen (issue 16 item 7)."""
        try:
            screen = self.screen
        except ScreenStackError:  # no screen yet: the app is starting
            return False
        return screen is not self.main or self.main.ready or self._start_failed

    async def on_event(self, event: events.Event) -> None:
        """Keys go through :class:`~wfptui.tui.keyhold.KeyHold` first: none is lost or misrouted."""
        if isinstance(event, events.Key) and not event.is_forwarded and self.keys.take(event):
            return
        await super().on_event(event)

    def get_default_screen(self) -> MainScreen:
        # The main screen is the bottom of the stack: no empty default screen to build,
        # style, lay out and resize first (~50 ms of the start-up).
        return self.main

    async def on_mount(self) -> None:
        if self.view is None:
            self.start_run("start")  # the engine runs while the main screen is built
        self.sub_title = self.source.label
        self._capture_note()
        if self.bench_ui_only:  # the first frame, before the run is on screen
            self.bench = False
            self.call_after_refresh(self._bench_exit)
        if self.view is not None:
            self._after_show()  # the main screen showed it as it mounted
            if self._preloaded is None:  # a recording: counted and indexed in a thread,
                # started after the first frame (it would compete with it for the GIL)
                self.call_after_refresh(self._index_recording, self.source)
        self._read_policy_texts()
        self.call_after_refresh(self.start_watching)  # importing watchfiles: after the first frame
        self.set_timer(STARTUP_GRACE, self._startup_over)  # in case no run ever shows
        if not self.is_headless and not terminal_gone():  # see tui.startup.terminal_gone
            self.set_interval(2.0, self._exit_without_terminal)

    def _exit_without_terminal(self) -> None:
        if terminal_gone():
            self.exit(return_code=1)

    def _capture_note(self) -> None:
        """A capture: the status bar says where its policy file is; the notes pop up once."""
        if self.source.kind != "capture":
            return
        from wfptui.io.capture_session import shown

        paths = [shown(hp.path) for hp in self.host_policies.values() if hp.path is not None]
        self.main.status_note = (f"policy {paths[0]} (edit to re-triage)" if paths
                                 else "policy not watched (no file)")
        for note in self.source.notes:
            self.notify(note, timeout=6)

    def _startup_over(self) -> None:
        """The first frame is on screen: the garbage collector runs again (see tui.startup)."""
        resume_gc()

    @work(thread=True, exclusive=True, group="read-policies", exit_on_error=False,
          description="read the policy files")
    def _read_policy_texts(self) -> None:
        for host, hp in list(self.host_policies.items()):
            if hp.path is not None:
                try:
                    text = self.backend.read_text(hp.path)
                except OSError:
                    continue
                self.post_message(PolicyTextRead(host, hp.path, text))

    @on(PolicyTextRead)
    def _policy_text_read(self, message: PolicyTextRead) -> None:
        hp = self.host_policies.get(message.host)
        if hp is not None and hp.path == message.path and hp.disk_text is None:
            hp.disk_text = message.text
            hp.applied_text = message.text

    def start_watching(self) -> None:
        """(Re)start the folder watcher on every host's policy file."""
        paths = {hp.path for hp in self.host_policies.values() if hp.path is not None}
        if self.watch_enabled and paths:
            self._monitor_policy_files(sorted(paths))

    @work(exclusive=True, group="policy-watcher", exit_on_error=False, description="watch policy files")
    async def _monitor_policy_files(self, paths: list[Path]) -> None:
        from wfptui.io.watch import watch_files

        async for changed in watch_files(paths):
            self.post_message(PolicyFilesChanged(changed))

    # ---------------------------------------------------------------- runs

    def start_run(self, reason: str, cursor_t: float | None = None, changed: tuple[str, ...] = ()) -> None:
        """Run the scenario with the base policies plus live policy steps, in a worker."""
        old = self.view.records if self.view is not None else ()
        self._run_id += 1
        self._run_engine(self.source.scenario, dict(self.base_policies), list(self.live_steps),
                         reason, cursor_t, old, changed, self._run_id)

    @work(thread=True, exclusive=True, group="engine", exit_on_error=False, description="run the engine")
    def _run_engine(self, scenario, policies, steps, reason, cursor_t, old, changed, run_id) -> None:  # type: ignore[no-untyped-def]
        try:
            view = self.backend.run(scenario, policies, steps)
        except InputError as exc:
            self.post_message(RunFailed(str(exc)))
            return
        except Exception as exc:  # noqa: BLE001 - an engine bug is shown, the old run stays
            self.post_message(RunFailed(f"engine error: {type(exc).__name__}: {exc}"))
            return
        if old and reason != "start":
            view.mark_flips(find_flips(old, view.records))
        self.post_message(RunFinished(view, reason, cursor_t, changed, run_id))

    @work(thread=True, exclusive=True, group="engine", exit_on_error=False, description="index a recording")
    def _index_recording(self, source: Source) -> None:
        run_id = self._run_id
        view = self.backend.recording_view(source.recording)
        self.post_message(RunFinished(view, "indexed", run_id=run_id))
        # The inspector's full arbitration: re-drive the recording's inputs; when the trace
        # comes out the same, its per-classification results belong to the recording.
        if source.scenario.steps and len(view.records) <= REDRIVE_LIMIT:
            try:
                rerun = self.backend.run(source.scenario, source.policies)
                same = self.backend.diff(view.records, rerun.records).index_a is None
            except Exception:  # noqa: BLE001 - details are a bonus; the recording is shown anyway
                return
            if same:
                self.post_message(DetailsReady(dict(rerun.results), run_id))

    @on(DetailsReady)
    def _details_ready(self, message: DetailsReady) -> None:
        if message.run_id == self._run_id and self.view is not None:
            self.view.results = message.results
            self.main.refresh_inspector()

    @on(RunFinished)
    def _run_finished(self, message: RunFinished) -> None:
        if message.run_id != self._run_id:
            return  # a newer run has started since: its result will follow
        self._show(message.view, message.reason, message.cursor_t, message.changed_hosts)

    def _show(self, view: RunView, reason: str, cursor_t: float | None = None,
              changed: Sequence[str] = ()) -> None:
        main = self.main
        cursor = 0
        if self.view is not None and reason in ("reload", "live"):
            cursor = self._cursor_after_rerun(view, reason, cursor_t, changed)
        elif reason == "indexed":
            cursor = main.current_index or 0
        self.view = view
        main.show_run(view, cursor, self.base_policies)
        self.keys.release()  # keys typed while it ran act now
        if reason in ("reload", "live"):
            names = ", ".join(self.host_policies[h].label for h in changed if h in self.host_policies)
            flips = view.flip_count
            flipped = f"{flips} verdict{'s' * (flips != 1)} flipped"
            if reason == "live":
                how = f"applied at event #{self._applied_seq}: live flows reauthorize"
            else:
                how = f"policy saved: re-ran from the start, {flipped}"
            main.status_note = f"{how} ({names})"
            if self.source.kind == "capture":
                from wfptui.io.capture_session import shown

                paths = [shown(p) for h in changed if h in self.host_policies
                         and (p := self.host_policies[h].path) is not None]
                main.status_note = (f"re-triaged with {', '.join(paths) or names}: "
                                    f"{flips} event{'s' * (flips != 1)} flipped")
            self.notify(f"{names}: {how}" + (f"; {flipped}" if reason == "live" else ""), timeout=4)
        self._after_show()

    def _after_show(self) -> None:
        if self.bench:
            self.bench = False
            self.call_after_refresh(self._bench_exit)
        self.call_after_refresh(self._startup_over)

    def _cursor_after_rerun(self, view: RunView, reason: str, cursor_t: float | None,
                            changed: Sequence[str]) -> int:
        if reason == "live" and cursor_t is not None:
            for i in view.policy_rows:
                r = view.records[i]
                if isinstance(r, PolicyRecord) and r.t >= cursor_t - 1e-9 and r.host in changed:
                    return i
        if self.main.at_end:
            return max(0, len(view.records) - 1)
        if cursor_t is None:
            return 0
        for i, r in enumerate(view.records):
            t = getattr(r, "t", None)
            if t is not None and t >= cursor_t:
                return i
        return max(0, len(view.records) - 1)

    def _bench_exit(self) -> None:
        print(f"WFPTUI_FIRST_FRAME {time.time():.6f} records={len(self.view.records) if self.view else 0}"
              f" cpu={time.process_time():.6f}", file=sys.__stderr__, flush=True)
        self.exit(0)

    @on(RunFailed)
    def _run_failed(self, message: RunFailed) -> None:
        self._startup_over()
        self._start_failed = True
        self.keys.release()
        self.main.set_banner(f"✖ run failed: {message.error}")
        self.notify(message.error, title="run failed", severity="error", timeout=6)

    # ------------------------------------------------------- live reload

    @on(PolicyFilesChanged)
    def _files_changed(self, message: PolicyFilesChanged) -> None:
        for host, hp in self.host_policies.items():
            if hp.path is not None and hp.path in message.paths:
                self._load_policy(host, hp.path)

    @work(thread=True, group="policy-load", exit_on_error=False, description="reload a policy file")
    def _load_policy(self, host: str, path: Path) -> None:
        try:
            text = self.backend.read_text(path)
        except OSError:
            return  # gone for a moment (mid-save): the next event brings it back
        self.post_message(self._parse(host, text, str(path), "disk"))

    def _parse(self, host: str, text: str, filename: str, origin: str) -> PolicyLoaded:
        try:
            policy = self.backend.parse_policy(text, filename)
        except InputError as exc:
            return PolicyLoaded(host, text, None, list(exc.diagnostics), origin)
        except Exception as exc:  # noqa: BLE001 - a parser bug must not stop live reload
            return PolicyLoaded(host, text, None, [Diagnostic(filename, 0, 0, f"internal error: {exc}")], origin)
        return PolicyLoaded(host, text, policy, [], origin)

    @on(PolicyLoaded)
    def _policy_loaded(self, message: PolicyLoaded) -> None:
        hp = self.host_policies.get(message.host)
        if hp is None:
            return
        external = message.origin == "disk"
        if not external:  # saved from the editor
            hp.disk_text = message.text
            if hp.buffer == message.text:
                hp.buffer = None
            self.notify(f"Saved {hp.label}" + ("" if message.policy else " (with errors: not applied)"),
                        timeout=3)
        else:
            if hp.dirty and message.text != hp.disk_text:
                self.notify(f"{hp.label} changed on disk; your unsaved edits are kept in the editor.",
                            severity="warning", timeout=5)
            hp.disk_text = message.text
        if not hp.dirty or not external:
            hp.diagnostics = list(message.diagnostics)
            self._refresh_editor(message.host)
        if message.policy is None:
            first = message.diagnostics[0] if message.diagnostics else Diagnostic(hp.filename, 0, 0, "invalid")
            self.main.set_banner(f"✖ {first} — keeping the last good policy of {message.host}")
            self.notify(str(first), title=f"{hp.label}: not applied", severity="error", timeout=6)
            return
        self.main.set_banner("")
        if message.text == hp.applied_text:
            return
        self.apply_policy(message.host, message.policy, message.text)

    def apply_policy(self, host: str, policy: Policy, text: str | None) -> None:
        """Make ``policy`` the host's running policy and re-run the scenario from its start.

        The one rule, wherever the cursor is: a saved policy runs from the start.
        :meth:`action_apply_at_cursor` applies the same change at the cursor instead.
        """
        hp = self.host_policies[host]
        old = hp.good
        hp.good = policy
        hp.applied_text = text
        self.pending_change = (host, old, dict(self.base_policies), list(self.live_steps))
        self.base_policies[host] = policy
        self.live_steps = [s for s in self.live_steps if s.host != host]
        self.start_run("reload", self.main.cursor_record_t, (host,))

    def action_apply_at_cursor(self) -> None:
        """Apply the last saved policy change at the cursor's time: live flows reauthorize.

        Undoes the from-the-start re-run of that save and adds a ``policy`` step at the
        cursor's virtual time (``backend.policy_change_step``) to the live steps before it.
        """
        if self.source.kind == "capture":
            self.notify("A capture is re-triaged whole: nothing to apply at the cursor.", timeout=3)
            return
        if self.pending_change is None:
            self.notify("Nothing to apply at the cursor: save a policy change first.", timeout=3)
            return
        host, old, base, steps = self.pending_change
        cursor_t = self.main.cursor_record_t
        if cursor_t is None:
            self.notify("No event under the cursor to apply at.", timeout=3)
            return
        new = self.host_policies[host].good
        index = len(self.source.scenario.steps) + len(steps) + 1
        step = policy_change_step(host, cursor_t, old, new, index)
        if step is None:
            self.notify("This change (sublayers or callouts) cannot apply at the cursor: "
                        "it stays applied from the start.", severity="warning", timeout=4)
            return
        self.pending_change = None
        index_now = self.main.current_index
        if self.view is not None and index_now is not None:
            self._applied_seq = getattr(self.view.records[index_now], "seq", index_now)
        self.base_policies = base
        self.live_steps = [*steps, step]
        self.start_run("live", cursor_t, (host,))

    def _refresh_editor(self, host: str) -> None:
        from wfptui.tui.screens.editor import EditorScreen

        for screen in self.screen_stack:
            if isinstance(screen, EditorScreen):
                screen.reload_from_app(host)

    # ------------------------------------------------------------- editor

    def action_edit(self) -> None:
        from wfptui.tui.screens.editor import EditorScreen

        for hp in self.host_policies.values():
            if hp.disk_text is None and hp.path is None:
                try:
                    hp.disk_text = self.backend.dump_policy(hp.good)
                except Exception:  # noqa: BLE001 - no writer: start from an empty file
                    hp.disk_text = ""
                hp.applied_text = hp.disk_text
        host = self.main.selected_host() or next(iter(self.host_policies), None)
        self.push_screen(EditorScreen(self.host_policies, self.backend.parse_policy, host))

    def on_editor_screen_save_requested(self, message: EditorScreen.SaveRequested) -> None:
        """The editor's ``ctrl+s``."""
        self.save_policy(message.host, message.text)

    def save_policy(self, host: str, text: str) -> None:
        """Save the editor's text for ``host`` atomically (asking where when it has no file)."""
        from wfptui.tui.screens.dialogs import PathModal

        hp = self.host_policies[host]
        if hp.path is None:
            def chosen(answer: str | None) -> None:
                if answer:
                    hp.path = Path(answer).expanduser().resolve()
                    self._save_policy(host, hp.path, text)
                    self.start_watching()

            self.push_screen(PathModal(f"Save {host}'s policy as", f"{host}-policy.toml"), chosen)
            return
        self._save_policy(host, hp.path, text)

    @work(thread=True, group="policy-save", exit_on_error=False, description="save a policy file")
    def _save_policy(self, host: str, path: Path, text: str) -> None:
        try:
            self.backend.write_text(path, text)
        except OSError as exc:
            self.post_message(ActionFailed(f"save {path.name}", str(exc)))
            return
        self.post_message(self._parse(host, text, str(path), "editor"))

    # ------------------------------------------------------ open a file

    @on(SourceOpened)
    async def _source_opened(self, message: SourceOpened) -> None:
        self.source = message.source
        self._init_policies()
        self.view = None
        self._start_failed = False  # keys wait for this file's run (tui.keyhold)
        self._run_id += 1  # results of runs of the previous file are dropped
        while len(self.screen_stack) > 1:
            await self.pop_screen()
        # The main screen is the base of the stack (it cannot be switched): it starts over.
        await self.main.load([h.name for h in self.source.scenario.hosts], self._windows())
        self.sub_title = self.source.label
        if message.view is not None:
            self._show(message.view, "open")
        self._capture_note()
        self.main.update_status()
        self._read_policy_texts()
        self.start_watching()
        self.notify(f"Opened {self.source.label}", timeout=3)

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        """One place for workers that raised: tell the user, keep running."""
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            self.notify(f"{type(error).__name__}: {error}", title=f"{event.worker.description} failed",
                        severity="error", timeout=8)

    @on(ActionFailed)
    def _action_failed(self, message: ActionFailed) -> None:
        self.notify(message.error, title=f"{message.what} failed", severity="error", timeout=6)

    # ------------------------------------------------------------- misc

    def action_rerun(self) -> None:
        self.live_steps = []
        self.pending_change = None
        self.base_policies = {h: hp.good for h, hp in self.host_policies.items()}
        self.start_run("reload" if self.view is not None else "start", None, ())

    def action_toggle_theme(self) -> None:
        self.theme = LIGHT if self.current_theme.dark else DARK

    def watch_theme(self, theme: str) -> None:
        """Any theme change (``t``, the palette's theme picker): editors follow; remembered."""
        from wfptui.tui.screens.editor import EditorScreen

        for screen in self.screen_stack:
            if isinstance(screen, EditorScreen):
                screen.match_theme()
        if theme != self._saved_theme:
            self._saved_theme = theme
            self._save_theme(theme)

    @work(thread=True, exclusive=True, group="settings", exit_on_error=False, description="save the theme")
    def _save_theme(self, theme: str) -> None:
        try:
            save_theme(theme)
        except OSError as exc:
            self.post_message(ActionFailed("remember the theme", str(exc)))

    def action_help(self) -> None:
        from wfptui.tui.screens.diff import DiffScreen
        from wfptui.tui.screens.editor import EditorScreen
        from wfptui.tui.screens.help import HelpScreen
        from wfptui.tui.widgets.host_pane import HostPane
        from wfptui.tui.widgets.timeline import Timeline

        self.push_screen(HelpScreen([
            ("app", [*self.BINDINGS, Binding("ctrl+p", "command_palette", "Command palette (every action)")]),
            ("main", MainScreen.BINDINGS), ("timeline", Timeline.BINDINGS),
            ("host pane", HostPane.BINDINGS),
            ("editor", EditorScreen.BINDINGS), ("diff", DiffScreen.BINDINGS),
        ]))

    async def action_quit(self) -> None:
        self.confirm_discard(lambda: self.exit(0))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:  # type: ignore[type-arg]
        yield from super().get_system_commands(screen)
        main_actions = [
            ("Play / pause", "Start or stop playback (space)", "toggle_play"),
            ("Step forward", "Next event (→ n .)", "step(1)"),
            ("Step back", "Previous event (← ,)", "step(-1)"),
            ("Faster", "Speed up playback (+)", "speed(1)"),
            ("Slower", "Slow down playback (-)", "speed(-1)"),
            ("Jump to start", "First event (home g)", "jump_start"),
            ("Jump to end", "Last event (end G)", "jump_end"),
            ("Next block", "Next blocked classification (b)", "next_block"),
            ("Next policy change", "Next policy change (p)", "next_policy"),
            ("Filter timeline", "host: layer: verdict: filter: packet: (/)", "filter"),
            ("Zoom pane", "The focused pane fills the screen, or back (z)", "maximize_pane"),
            ("Clear filter", "Show every event (escape)", "clear_filter"),
        ]
        for title, help_text, action in main_actions:
            yield SystemCommand(title, help_text, partial(self._main_action, action))
        app_actions = [
            ("Edit policy", "Open the policy editor (e)", self.action_edit),
            ("Save recording", "Save this session as a .wfpr recording (w)", self.action_save_recording),
            ("Open file", "Open a scenario or recording (o)", self.action_open),
            ("Diff recordings", "Diff against a recording, first divergence selected (d)", self.action_diff),
            ("Re-run scenario", "Run again from the start (r)", self.action_rerun),
            ("Apply at cursor", "Apply the last saved policy change at the cursor; live flows reauthorize (a)",
             self.action_apply_at_cursor),
            ("Toggle dark/light", "Switch theme (t); remembered, like the Theme picker's choice",
             self.action_toggle_theme),
            ("Help", "Every key (?)", self.action_help),
        ]
        for title, help_text, callback in app_actions:
            yield SystemCommand(title, help_text, callback)

    def _main_action(self, action: str) -> None:
        if self.screen is not self.main:
            return
        self.call_later(self.main.run_action, action)

    def records(self) -> Sequence[TraceRecord]:
        """The records on screen (tests and benchmarks)."""
        return self.view.records if self.view is not None else ()
