"""Messages that carry worker results to the app's handlers (workers never touch widgets).

Plain classes rather than dataclasses: these are created at start-up, and building ten
dataclasses (code generated and compiled at import) cost ~6 ms of it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from wfptui.core.model import Policy
    from wfptui.io.errors import Diagnostic
    from wfptui.tui.runview import RunView


class RunFinished(Message):
    """The engine finished a run (``reason``: start, reload, live, open)."""

    def __init__(self, view: RunView, reason: str, cursor_t: float | None = None,
                 changed_hosts: tuple[str, ...] = (), run_id: int = 0) -> None:
        super().__init__()
        self.view = view
        self.reason = reason
        self.cursor_t = cursor_t  # keep the cursor at this virtual time
        self.changed_hosts = changed_hosts
        self.run_id = run_id  # results of runs older than the latest are dropped


class DetailsReady(Message):
    """Full arbitration results (seq -> ClassifyResult) for the records on screen."""

    def __init__(self, results: dict[int, Any], run_id: int) -> None:
        super().__init__()
        self.results = results
        self.run_id = run_id


class RunFailed(Message):
    """The engine raised: the previous run stays on screen."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class PolicyFilesChanged(Message):
    """The watcher saw saves of these policy files."""

    def __init__(self, paths: set[Path]) -> None:
        super().__init__()
        self.paths = paths


class PolicyTextRead(Message):
    """A host's policy file as it is on disk at start-up (what the editor opens on)."""

    def __init__(self, host: str, path: Path, text: str) -> None:
        super().__init__()
        self.host = host
        self.path = path
        self.text = text


class PolicyLoaded(Message):
    """A policy text was read and parsed (``policy`` None: ``diagnostics`` say why)."""

    def __init__(self, host: str, text: str, policy: Policy | None,
                 diagnostics: list[Diagnostic] | None = None, origin: str = "disk") -> None:
        super().__init__()
        self.host = host
        self.text = text
        self.policy = policy
        self.diagnostics: list[Diagnostic] = [] if diagnostics is None else diagnostics
        self.origin = origin  # disk | editor


class RecordingSaved(Message):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path


class SourceOpened(Message):
    """A file was opened from inside the TUI (``source``: backend.Source)."""

    def __init__(self, source: Any, view: RunView | None) -> None:
        super().__init__()
        self.source = source
        self.view = view


class DiffReady(Message):
    """Two traces to show side by side."""

    def __init__(self, left_label: str, left: RunView, right_label: str, right: RunView,
                 comparison: Any) -> None:
        super().__init__()
        self.left_label = left_label
        self.left = left
        self.right_label = right_label
        self.right = right
        self.comparison = comparison  # backend.TraceComparison


class ActionFailed(Message):
    """A file action (open, save, diff) failed with a message for the user."""

    def __init__(self, what: str, error: str) -> None:
        super().__init__()
        self.what = what
        self.error = error
