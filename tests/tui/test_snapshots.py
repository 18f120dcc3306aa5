"""SVG snapshots of the main screen, the inspector, the editor with an error and the diff view.

Plain ``def`` tests (snap_compare runs its own event loop). Deterministic: fixed
terminal size, no animations, no cursor blink, no watcher, the run awaited before
the snapshot. Update with ``pytest tests/tui/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from tests.tui.conftest import SERVER_POLICY_BLOCK, make_source
from wfptui.core.trace import ClassifyRecord
from wfptui.tui.app import WfpApp
from wfptui.tui.screens.diff import DiffScreen
from wfptui.tui.screens.editor import EditorScreen
from wfptui.tui.widgets.policy_editor import PolicyEditor

SIZE = (150, 42)


async def _ready(pilot: Pilot[Any]) -> WfpApp:
    app = pilot.app
    assert isinstance(app, WfpApp)
    for _ in range(500):
        if app.view is not None:
            break
        await asyncio.sleep(0.01)
    await pilot.pause()
    return app


def _index(app: WfpApp, predicate: Any) -> int:
    return next(i for i, r in enumerate(app.records()) if predicate(r))


def test_main_screen(snap_compare: Any, tmp_path: Path) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        app = await _ready(pilot)
        app.main.timeline.move_to(_index(app, lambda r: getattr(r, "event", "") == "probe-sent") + 3)
        await pilot.pause()

    app = WfpApp(make_source(tmp_path), watch=False)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_inspector_on_a_block(snap_compare: Any, tmp_path: Path) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _ready(pilot)
        await pilot.press("b")
        await pilot.pause()

    app = WfpApp(make_source(tmp_path, SERVER_POLICY_BLOCK), watch=False)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_editor_with_an_error(snap_compare: Any, tmp_path: Path) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        app = await _ready(pilot)
        app.main.timeline.move_to(_index(app, lambda r: getattr(r, "host", "") == "server"
                                         and isinstance(r, ClassifyRecord)))
        await pilot.press("e")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, EditorScreen)
        editor = screen.query_one("#edit-server", PolicyEditor)
        editor.cursor_blink = False
        bad = editor.text + '\n[[filter]]\nkey = "typo"\nlayer = "ALE_AUTH_RECV_ACCEPT_V4"\naction = "blok"\n'
        editor.load_text(bad)
        app.host_policies["server"].buffer = bad
        screen.validate("server")
        editor.move_cursor((editor.document.line_count - 2, 0))
        await pilot.pause()

    app = WfpApp(make_source(tmp_path), watch=False)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_diff_view(snap_compare: Any, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()

    async def run_before(pilot: Pilot[Any]) -> None:
        app = await _ready(pilot)
        blocked = make_source(other, SERVER_POLICY_BLOCK)
        right = app.backend.run(blocked.scenario, blocked.policies)
        assert app.view is not None
        comparison = app.backend.diff(app.view.records, right.records)
        app.push_screen(DiffScreen("permit-web (A)", app.view, "no-web (B)", right, comparison))
        await pilot.pause()

    app = WfpApp(make_source(tmp_path), watch=False)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_capture_open(snap_compare: Any, tmp_path: Path, monkeypatch: Any) -> None:
    """A capture (the UWP page's cases 7-8 with their filters): observed beside simulated."""
    import shutil

    from wfptui.tui.backend import Backend

    data = Path(__file__).resolve().parents[1] / "data" / "evidence"
    for name in ("netevents-case-7-8.xml", "filters-case-7-8.xml"):
        shutil.copy(data / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)  # paths on screen are relative to the working folder

    async def run_before(pilot: Pilot[Any]) -> None:
        app = await _ready(pilot)
        app.clear_notifications()  # the notes' toasts fade on a timer
        await pilot.pause()

    source = Backend().open(Path("netevents-case-7-8.xml"), Path("filters-case-7-8.xml"))
    app = WfpApp(source, watch=False)
    assert snap_compare(app, terminal_size=(160, 45), run_before=run_before)


def test_main_screen_at_80x24(snap_compare: Any, tmp_path: Path) -> None:
    """Issue 16: at 80×24 the timeline keeps verdict and filter, names shorten by the table."""
    async def run_before(pilot: Pilot[Any]) -> None:
        app = await _ready(pilot)
        app.main.timeline.move_to(_index(app, lambda r: isinstance(r, ClassifyRecord)
                                         and r.layer == "ALE_AUTH_RECV_ACCEPT_V4" and r.filter))
        await pilot.pause()

    app = WfpApp(make_source(tmp_path), watch=False)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_capture_at_80x24(snap_compare: Any, tmp_path: Path, monkeypatch: Any) -> None:
    """Issue 16: a capture at 80×24 keeps observed, simulated and the verdict (mark and word)."""
    import shutil

    from wfptui.tui.backend import Backend

    data = Path(__file__).resolve().parents[1] / "data" / "evidence"
    for name in ("netevents-case-7-8.xml", "filters-case-7-8.xml"):
        shutil.copy(data / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)

    async def run_before(pilot: Pilot[Any]) -> None:
        app = await _ready(pilot)
        app.clear_notifications()
        await pilot.pause()

    source = Backend().open(Path("netevents-case-7-8.xml"), Path("filters-case-7-8.xml"))
    app = WfpApp(source, watch=False)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
