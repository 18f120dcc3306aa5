"""A tiny progress bar on stderr for long work (spec §2: "Long work (big imports, big
replays) shows a progress bar on a terminal and stays quiet when stdout is not a terminal").

Standard library only. The bar draws only when both stderr and stdout are terminals (so
``wfptui import x.xml -o p.toml 2>log`` and piped runs stay silent), at most ~10 times a
second, and erases itself when done::

    with Progress(total=size, label="import") as bar:
        for chunk in chunks:
            ...
            bar.advance(len(chunk))

``Progress(enabled=False)`` (or a non-terminal stream) turns every call into a no-op.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TextIO

__all__ = ["Progress", "is_terminal"]


def is_terminal(stream: TextIO | None) -> bool:
    """Whether ``stream`` is an interactive terminal (False for None, files, pipes, closed streams)."""
    if stream is None:
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class Progress:
    """A one-line ``label [#####-----]  42%`` bar, redrawn in place on ``stream``.

    ``enabled=None`` (the default) means "when stdout and the stream are terminals";
    True forces drawing (tests), False silences it. ``delay``: seconds before the first
    draw (short work then shows no bar at all).
    """

    def __init__(
        self,
        total: int,
        label: str = "",
        *,
        stream: TextIO | None = None,
        enabled: bool | None = None,
        width: int = 30,
        min_interval: float = 0.1,
        delay: float = 0.0,
    ) -> None:
        self.total = max(int(total), 0)
        self.label = label
        self.stream: TextIO | None = stream if stream is not None else sys.stderr
        if enabled is None:
            enabled = is_terminal(self.stream) and is_terminal(sys.stdout)
        self.enabled = enabled
        self.width = max(width, 1)
        self.min_interval = min_interval
        #: Draw nothing during the first ``delay`` seconds: work that ends sooner shows no bar.
        self._quiet_until = time.monotonic() + delay if delay > 0 else 0.0
        self.done = 0
        self._last_draw = 0.0
        self._drawn = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def advance(self, n: int = 1) -> None:
        """Count ``n`` more units of work done; redraw if enough time passed."""
        self.update(self.done + n)

    def update(self, done: int) -> None:
        """Set the units of work done so far; redraw if enough time passed."""
        self.done = min(max(done, 0), self.total) if self.total else max(done, 0)
        if not self.enabled:
            return
        now = time.monotonic()
        if now < self._quiet_until:
            return
        if self._drawn and now - self._last_draw < self.min_interval and self.done < self.total:
            return
        self._last_draw = now
        self._draw()

    def render(self) -> str:
        """The bar as text (no carriage return)."""
        frac = (self.done / self.total) if self.total else 0.0
        filled = int(frac * self.width)
        bar = "#" * filled + "-" * (self.width - filled)
        label = f"{self.label} " if self.label else ""
        return f"{label}[{bar}] {int(frac * 100):3d}%"

    def _draw(self) -> None:
        if self.stream is None:
            return
        try:
            self.stream.write("\r" + self.render())
            self.stream.flush()
            self._drawn = True
        except (OSError, ValueError):
            self.enabled = False

    def close(self) -> None:
        """Erase the bar (if one was drawn) so later output starts on a clean line."""
        if self.enabled and self._drawn and self.stream is not None:
            try:
                self.stream.write("\r" + " " * len(self.render()) + "\r")
                self.stream.flush()
            except (OSError, ValueError):
                pass
        self._drawn = False
