"""Issue 16 item 7: keys typed in a burst are neither lost nor misrouted.

A burst is every key event posted at once (``App.post_message``), with no pause between
them, as a fast typist, a paste or keys typed while the app is still opening deliver
them: Pilot's ``press`` waits for the app to be idle after each key, which hides the
problem.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from textual import events
from textual.app import App
from textual.pilot import Pilot

from tests.tui.conftest import make_source
from tests.tui.test_app import SIZE, started, until
from wfptui.core.trace import ClassifyRecord
from wfptui.tui.app import WfpApp
from wfptui.tui.backend import Backend
from wfptui.tui.screens.editor import EditorScreen
from wfptui.tui.widgets.policy_editor import PolicyEditor

_NAMES = {"/": "slash", ":": "colon", " ": "space", ".": "full_stop", ",": "comma", "=": "equals_sign",
          "\n": "enter", "#": "number_sign", "-": "minus", '"': "quotation_mark"}


def burst(app: App[object], *keys: str) -> None:
    """Post every key at once: single characters as typed, longer names as named keys."""
    for key in keys:
        if len(key) == 1:
            name = key if key.isalnum() else _NAMES[key]
            event = events.Key(name, key if key != "\n" else "\r")
        else:
            event = events.Key(key, None)
        app.post_message(event)


class SlowBackend(Backend):
    """The engine waits until the test has typed its keys: they arrive before the run shows."""

    def __init__(self) -> None:
        super().__init__()
        self.go = threading.Event()

    def run(self, *args: Any, **kwargs: Any) -> Any:
        self.go.wait(10)
        return super().run(*args, **kwargs)


async def test_keys_typed_while_the_app_opens_act_once_the_run_is_shown(tmp_path: Path) -> None:
    backend = SlowBackend()
    app = WfpApp(make_source(tmp_path), backend=backend, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        assert app.view is None  # the engine is still running: nothing to step through yet
        burst(app, "n", "n", "n", "n", "comma")
        await pilot.pause(0.1)
        backend.go.set()
        await started(app, pilot)
        await until(pilot, lambda: app.main.timeline.cursor == 3)
        await pilot.pause(0.1)
        assert app.main.timeline.cursor == 3  # four steps, one back: in order, each once


async def test_jumps_and_a_filter_typed_while_the_app_opens_land_in_order(tmp_path: Path) -> None:
    backend = SlowBackend()
    app = WfpApp(make_source(tmp_path), backend=backend, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        burst(app, "G", "comma", "comma", *"/host:server", "enter")
        backend.go.set()
        await started(app, pilot)
        await until(pilot, lambda: app.main.query_text == "host:server")
        records = app.records()
        last = max(i for i, r in enumerate(records) if getattr(r, "host", None) == "server")
        # the cursor went to the end, two back, then stayed on (or after) that record when filtered
        assert app.main.timeline.current_index is not None and app.main.timeline.current_index <= last


async def test_a_filter_typed_in_one_burst_reaches_the_filter_box(tmp_path: Path) -> None:
    app = WfpApp(make_source(tmp_path), watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        before = app.main.timeline.cursor
        burst(app, *"/host:server verdict:permit", "enter")  # e, o, t, v, n would be shortcuts
        await until(pilot, lambda: app.main.query_text == "host:server verdict:permit")
        await pilot.pause()
        shown = [app.records()[i] for i in app.main.timeline.rows]
        assert shown and all(isinstance(r, ClassifyRecord) and r.host == "server" and r.action == "permit"
                             for r in shown)
        assert app.main.timeline.cursor == 0 and before == 0  # "n" took no step on the way


async def test_text_typed_as_the_editor_opens_lands_in_the_editor(tmp_path: Path) -> None:
    app = WfpApp(make_source(tmp_path), watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        burst(app, "e", *"# 42 notes")
        await until(pilot, lambda: isinstance(app.screen, EditorScreen))
        screen = app.screen
        assert isinstance(screen, EditorScreen)
        await until(pilot, lambda: "# 42 notes" in getattr(screen.current_editor(), "text", ""))
        editor = screen.current_editor()
        assert isinstance(editor, PolicyEditor) and editor.text.startswith("# 42 notes")
        assert app.main.timeline.cursor == 0  # "n" did not step the main screen


async def test_pilot_press_is_not_a_burst(tmp_path: Path) -> None:
    """The tests above post keys themselves: Pilot's press lets the app settle after each key."""
    app = WfpApp(make_source(tmp_path), watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await pilot.press("n")
        assert isinstance(pilot, Pilot) and app.main.timeline.cursor == 1
