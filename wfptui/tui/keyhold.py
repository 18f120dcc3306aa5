"""Keys typed in a burst are neither lost nor misrouted (issue 16 item 7).

Textual hands each key to the widget focused when the app reads it, and runs a binding
when the key comes back up unhandled; a binding that opens a screen or a text box moves
the focus only later. So the keys of a burst typed right after ``/`` or ``e`` reach the
old widget (letters act as shortcuts), and keys typed while the app opens reach a
screen with nothing to act on. :class:`KeyHold` keeps such keys back and posts them
again, in order, once the target is ready: the app's first run is on screen, or the
screen or box a key opened has the focus (or :data:`HOLD_LIMIT` passed: nothing opened).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from textual import events
from textual.timer import Timer

#: Actions that open a screen or a text box: the keys after one wait for it.
OPENING_ACTIONS = frozenset({"filter", "edit", "open", "save_recording", "diff", "help", "command_palette"})
#: Keys never held: quitting works even while something is opening.
NEVER_HELD = frozenset({"ctrl+c", "ctrl+q"})
#: Seconds after an opening key at most: keys are released even when nothing opened.
HOLD_LIMIT = 2.0
#: Seconds between checks while keys are held.
POLL = 0.02


def _action_name(action: str) -> str:
    """``"app.focus_next"`` -> ``"focus_next"``; ``"step(1)"`` -> ``"step"``."""
    return action.split("(", 1)[0].rsplit(".", 1)[-1]


class KeyHold:
    """Holds keys for ``app`` while ``ready()`` is false or an opened target has no focus yet."""

    def __init__(self, app: Any, ready: Callable[[], bool]) -> None:
        self.app = app
        self.ready = ready
        self.held: list[events.Key] = []
        self._opened: Callable[[], bool] | None = None
        self._since = 0.0
        self._timer: Timer | None = None

    def take(self, event: events.Key) -> bool:
        """True: ``event`` is held and will be posted again; False: process it now."""
        if event.key in NEVER_HELD:
            return False
        if self.held or self.waiting():
            self.held.append(event)
            if self._timer is None:
                self._timer = self.app.set_interval(POLL, self.release, name="key-hold")
            return True
        if self._opens(event):
            self._watch_opening()
        return False

    def waiting(self) -> bool:
        """The keys' target is not ready yet."""
        if not self.ready():
            return True
        if self._opened is None:
            return False
        if self._opened() or time.monotonic() - self._since > HOLD_LIMIT:
            self._opened = None
            return False
        return True

    def release(self) -> None:
        """Post the held keys again, in order, when their target is ready."""
        if self.waiting():
            return
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        held, self.held = self.held, []
        for event in held:
            self.app.post_message(events.Key(event.key, event.character))

    def _opens(self, event: events.Key) -> bool:
        """``event``'s key runs a binding that opens something (not typed into a text box)."""
        focused = self.app.focused
        if focused is not None and focused.check_consume_key(event.key, event.character):
            return False  # an Input or TextArea takes it as text, not as a binding
        active = self.app.active_bindings.get(event.key)
        return active is not None and _action_name(active.binding.action) in OPENING_ACTIONS

    def _watch_opening(self) -> None:
        app = self.app
        old_screen, old_focus = app.screen, app.focused

        def opened() -> bool:
            screen = app.screen
            if screen is old_screen:
                return screen.focused is not None and screen.focused is not old_focus
            ready = getattr(screen, "keys_ready", None)  # a screen may say where keys go
            if ready is not None:
                return bool(ready)
            return bool(screen.is_mounted and (screen.focused is not None or not screen.focus_chain))

        self._opened = opened
        self._since = time.monotonic()
