"""Per-host policy state the app keeps: file, last good policy, editor buffer, errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from wfptui.core.model import Policy
from wfptui.io.errors import Diagnostic


@dataclass
class HostPolicy:
    """One host's policy as the TUI tracks it.

    ``good`` is the policy the engine runs (the last one that parsed). ``disk_text``
    is the file's text as last read or saved; ``buffer`` is the editor's text when
    the user has typed (None: untouched). Unsaved = the buffer differs from the file.
    """

    host: str
    good: Policy
    path: Path | None = None
    disk_text: str | None = None
    applied_text: str | None = None  # text of ``good`` (None: from the scenario, not a file)
    buffer: str | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def dirty(self) -> bool:
        """The editor holds text that is not on disk."""
        return self.buffer is not None and self.buffer != (self.disk_text or "")

    @property
    def label(self) -> str:
        return self.path.name if self.path else "inline policy"

    @property
    def filename(self) -> str:
        return str(self.path) if self.path else f"<{self.host} policy>"

    def editor_text(self) -> str:
        """What the editor shows: the user's buffer, else the file."""
        if self.buffer is not None:
            return self.buffer
        return self.disk_text or ""
