"""The app's file actions: save the session as a recording, open a file, diff recordings,
and the one question before work is lost (unsaved policy edits).

A base class of :class:`wfptui.tui.app.WfpApp` (which owns the session state it reads:
the source, the view, the policies); split from it so that each module stays short.
Workers read and write the files and post messages; the app's handlers show the result
(``SourceOpened`` is handled by the app, which starts the session over).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from textual import on, work
from textual.app import App

from wfptui.core.model import Policy
from wfptui.io.errors import InputError
from wfptui.tui.backend import Backend, Source
from wfptui.tui.messages import ActionFailed, DiffReady, RecordingSaved, SourceOpened
from wfptui.tui.runview import RunView
from wfptui.tui.state import HostPolicy


class FileActions(App[int]):
    """Open, save-as-recording and diff (keys o, w, d) and :meth:`confirm_discard`."""

    # The session state, owned by WfpApp.
    source: Source
    view: RunView | None
    backend: Backend
    base_policies: dict[str, Policy]
    host_policies: dict[str, HostPolicy]

    # --------------------------------------------------------- recordings

    def action_save_recording(self) -> None:
        from wfptui.tui.screens.dialogs import PathModal

        default = (self.source.path.with_suffix(".wfpr").name if self.source.path else "session.wfpr")

        def chosen(answer: str | None) -> None:
            if answer and self.view is not None:
                self._save_recording(Path(answer).expanduser(), self.view)

        self.push_screen(PathModal("Save this session as a recording", default), chosen)

    @work(thread=True, group="recording", exit_on_error=False, description="save a recording")
    def _save_recording(self, path: Path, view: RunView) -> None:
        try:
            # The policies at the start, and live changes as the policy steps they were, in
            # the order the engine ran them (those inputs replay to the same trace).
            scenario = self.source.scenario
            if view.inputs is not None:
                scenario = replace(scenario, steps=tuple(view.inputs))
            self.backend.write_recording(path, scenario, self.base_policies, list(scenario.steps), view.records)
        except (OSError, InputError, ValueError) as exc:
            self.post_message(ActionFailed(f"save {path.name}", str(exc)))
            return
        self.post_message(RecordingSaved(path))

    @on(RecordingSaved)
    def _recording_saved(self, message: RecordingSaved) -> None:
        self.notify(f"Saved recording {message.path}", timeout=3)

    def action_open(self) -> None:
        from wfptui.tui.screens.dialogs import PathModal

        def chosen(answer: str | None) -> None:
            if answer:
                self._open(Path(answer).expanduser())

        self.confirm_discard(lambda: self.push_screen(
            PathModal("Open a scenario (.toml) or recording (.wfpr)", placeholder="path"), chosen))

    @work(thread=True, exclusive=True, group="open", exit_on_error=False, description="open a file")
    def _open(self, path: Path) -> None:
        try:
            source = self.backend.open(path)
            view = (self.backend.recording_view(source.recording) if source.kind == "recording"
                    else self.backend.run(source.scenario, source.policies))
        except (OSError, InputError, ValueError) as exc:
            self.post_message(ActionFailed(f"open {path.name}", str(exc)))
            return
        self.post_message(SourceOpened(source, view))

    def action_diff(self) -> None:
        from wfptui.tui.screens.dialogs import PathModal

        def chosen(answer: str | None) -> None:
            if answer:
                self._diff([Path(p).expanduser() for p in answer.split()])

        self.push_screen(PathModal("Diff this session against a recording (or give two: A.wfpr B.wfpr)",
                                   placeholder="other.wfpr"), chosen)

    @work(thread=True, exclusive=True, group="diff", exit_on_error=False, description="diff recordings")
    def _diff(self, paths: list[Path]) -> None:
        try:
            if len(paths) >= 2:
                a, b = (self.backend.read_recording(p) for p in paths[:2])
                left, right = self.backend.recording_view(a), self.backend.recording_view(b)
                left_label, right_label = paths[0].name, paths[1].name
            else:
                if self.view is None:
                    raise ValueError("nothing to diff yet: the run has not finished")
                left, left_label = self.view, f"this session ({self.source.label})"
                right = self.backend.recording_view(self.backend.read_recording(paths[0]))
                right_label = paths[0].name
            comparison = self.backend.diff(left.records, right.records)
        except (OSError, InputError, ValueError) as exc:
            self.post_message(ActionFailed("diff", str(exc)))
            return
        self.post_message(DiffReady(left_label, left, right_label, right, comparison))

    @on(DiffReady)
    def _diff_ready(self, m: DiffReady) -> None:
        from wfptui.tui.screens.diff import DiffScreen

        self.push_screen(DiffScreen(m.left_label, m.left, m.right_label, m.right, m.comparison))


    @property
    def unsaved(self) -> list[HostPolicy]:
        return [hp for hp in self.host_policies.values() if hp.dirty]

    def confirm_discard(self, then: Callable[[], object]) -> None:
        """Run ``then`` now, or after the user agrees to drop unsaved policy edits."""
        unsaved = self.unsaved
        if not unsaved:
            then()
            return
        from wfptui.tui.screens.dialogs import ConfirmModal

        names = ", ".join(hp.label for hp in unsaved)

        def answered(yes: bool | None) -> None:
            if yes:
                then()

        self.push_screen(ConfirmModal(f"Unsaved changes in {names}. Discard them?", "Discard", "Keep editing"),
                         answered)
