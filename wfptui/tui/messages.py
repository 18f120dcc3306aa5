"""Messages that carry worker results to the app's handlers (workers never touch widgets)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textual.message import Message

from wfptui.core.model import Policy
from wfptui.io.errors import Diagnostic
from wfptui.tui.runview import RunView


@dataclass
class RunFinished(Message):
    """The engine finished a run (``reason``: start, reload, live, open)."""

    view: RunView
    reason: str
    cursor_t: float | None = None  # keep the cursor at this virtual time
    changed_hosts: tuple[str, ...] = ()
    run_id: int = 0  # results of runs older than the latest are dropped


@dataclass
class DetailsReady(Message):
    """Full arbitration results (seq -> ClassifyResult) for the records on screen."""

    results: dict[int, Any]
    run_id: int


@dataclass
class RunFailed(Message):
    """The engine raised: the previous run stays on screen."""

    error: str


@dataclass
class PolicyFilesChanged(Message):
    """The watcher saw saves of these policy files."""

    paths: set[Path]


@dataclass
class PolicyTextRead(Message):
    """A host's policy file as it is on disk at start-up (what the editor opens on)."""

    host: str
    path: Path
    text: str


@dataclass
class PolicyLoaded(Message):
    """A policy text was read and parsed (``policy`` None: ``diagnostics`` say why)."""

    host: str
    text: str
    policy: Policy | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    origin: str = "disk"  # disk | editor


@dataclass
class RecordingSaved(Message):
    path: Path


@dataclass
class SourceOpened(Message):
    """A file was opened from inside the TUI (``source``: backend.Source)."""

    source: Any
    view: RunView | None


@dataclass
class DiffReady(Message):
    """Two traces to show side by side."""

    left_label: str
    left: RunView
    right_label: str
    right: RunView
    comparison: Any  # backend.TraceComparison


@dataclass
class ActionFailed(Message):
    """A file action (open, save, diff) failed with a message for the user."""

    what: str
    error: str
