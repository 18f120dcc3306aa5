"""Start-up and lifetime switches of the TUI: the cyclic garbage collector is paused until the
first frame; the app leaves when its terminal is gone.

Starting the TUI allocates a few hundred thousand long-lived objects (Textual's and
wfptui's modules, the stylesheet, the widgets, the run); the collector would walk them
again and again on the way to the first frame (~100 ms of the start-up on a 2-core
machine). ``wfptui [FILE]`` pauses it before anything is imported and the app resumes
it once the first frame is on screen (or when the app ends, whichever comes first).
This module imports only the standard library.
"""

from __future__ import annotations

import gc
import os
import sys

_paused = False


def pause_gc() -> None:
    """Pause the cyclic collector (a no-op when it is already off: it stays as it was)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume_gc() -> None:
    """Re-enable the collector if :func:`pause_gc` turned it off; idempotent."""
    global _paused
    if _paused:
        _paused = False
        gc.enable()


def terminal_gone() -> bool:
    """True when the app's terminal has gone away (POSIX: standard input is no longer a tty,
    as after the terminal window or tmux was closed). Textual's input loop keeps spinning on
    a hung-up pty when no SIGHUP reaches the process (under ``make run`` make holds it), so the
    app checks this now and then and exits (``WfpApp.on_mount``)."""
    if os.name == "nt" or sys.__stdin__ is None:
        return False
    try:
        return not os.isatty(sys.__stdin__.fileno())
    except (OSError, ValueError):
        return True

