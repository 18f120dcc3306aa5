"""Pilot tests of the TUI: every key and flow, on a real engine run of a small scenario."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.command import CommandPalette
from textual.pilot import Pilot
from textual.widgets import Input, Static

from tests.tui.conftest import SERVER_POLICY, SERVER_POLICY_BAD, SERVER_POLICY_BLOCK, make_source
from wfptui.core.trace import ClassifyRecord, PolicyRecord
from wfptui.tui.app import WfpApp
from wfptui.tui.backend import Source
from wfptui.tui.screens.dialogs import ConfirmModal, PathModal
from wfptui.tui.screens.diff import DiffScreen
from wfptui.tui.screens.editor import EditorScreen
from wfptui.tui.screens.help import HelpScreen
from wfptui.tui.widgets.host_pane import HostPane
from wfptui.tui.widgets.inspector import Inspector
from wfptui.tui.widgets.policy_editor import PolicyEditor
from wfptui.tui.widgets.timeline import Timeline

SIZE = (160, 45)


async def until(pilot: Pilot, cond: Callable[[], object], limit: float = 10.0) -> None:
    deadline = time.monotonic() + limit
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        await pilot.pause(0.02)


async def started(app: WfpApp, pilot: Pilot) -> None:
    await until(pilot, lambda: app.view is not None)
    await pilot.pause()


def accept_block(app: WfpApp) -> list[ClassifyRecord]:
    """The server's ALE_AUTH_RECV_ACCEPT_V4 blocks in the current run."""
    return [r for r in app.records() if isinstance(r, ClassifyRecord) and r.host == "server"
            and r.layer == "ALE_AUTH_RECV_ACCEPT_V4" and r.action == "block"]


def replace_save(path: Path, text: str) -> None:
    """Save like vim does: write a temp file in the folder, then rename it over the target."""
    tmp = path.with_name(f".{path.name}.swp-new")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


async def open_editor(app: WfpApp, pilot: Pilot, *keys: str) -> EditorScreen:
    """Press ``keys`` then ``e``; the policy editor screen, once it is up."""
    await pilot.press(*keys, "e")
    await until(pilot, lambda: isinstance(app.screen, EditorScreen))
    screen = app.screen
    assert isinstance(screen, EditorScreen)
    return screen


def timeline(app: WfpApp) -> Timeline:
    return app.main.timeline


def status(app: WfpApp) -> str:
    return str(app.main.query_one("#status", Static).render())


# ------------------------------------------------------------------ screens and panes


async def test_one_pane_per_host_in_traversal_order(source: Source) -> None:
    app = WfpApp(source, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        panes = {p.host: p for p in app.main.query(HostPane)}
        assert set(panes) == {"client", "server"}
        assert app.view is not None
        assert panes["server"].layer_names == app.view.layer_order["server"]
        assert "ALE_AUTH_RECV_ACCEPT_V4" in panes["server"].layer_names
        counts = panes["server"].counts["ALE_AUTH_RECV_ACCEPT_V4"]
        assert counts.permit == 2 and counts.block == 0
        rendered = str(panes["server"].render())
        assert "✔" in rendered and "✖" in rendered


async def test_selected_event_lights_its_layer(source: Source) -> None:
    app = WfpApp(source, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        tl = timeline(app)
        target = next(i for i, r in enumerate(app.records()) if isinstance(r, ClassifyRecord)
                      and r.layer == "ALE_AUTH_RECV_ACCEPT_V4")
        tl.move_to(target - 1)
        await pilot.press("n")
        assert tl.current_index == target
        server = app.main.pane("server")
        client = app.main.pane("client")
        assert server is not None and client is not None
        assert server.active is not None and server.active.layer == "ALE_AUTH_RECV_ACCEPT_V4"
        assert client.active is None
        assert "▶ ALE_AUTH_RECV_ACCEPT_V4" in str(server.render())
        assert "✔ permit" in str(server.render())


# ------------------------------------------------------------------------- transport


async def test_step_keys(source: Source) -> None:
    app = WfpApp(source, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        tl = timeline(app)
        assert tl.cursor == 0
        for key, expected in (("right", 1), ("n", 2), ("full_stop", 3), ("left", 2), ("comma", 1)):
            await pilot.press(key)
            assert tl.cursor == expected, key
        await pilot.press("end")
        assert tl.at_end
        await pilot.press("home")
        assert tl.cursor == 0
        await pilot.press("G")
        assert tl.at_end
        await pilot.press("g")
        assert tl.cursor == 0
        await pilot.press("down", "down", "up")
        assert tl.cursor == 1
        assert "event 2/" in status(app)
        await pilot.press("j", "j", "k")
        assert tl.cursor == 2
        await pilot.press("pagedown")
        page = tl.cursor
        assert page > 10
        await pilot.press("pageup")
        assert tl.cursor == 2


async def test_play_pause_and_speed(source: Source) -> None:
    app = WfpApp(source, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        main = app.main
        speed = main.speed_index
        await pilot.press("plus")
        assert main.speed_index == speed + 1
        await pilot.press("minus", "minus")
        assert main.speed_index == speed - 1
        await pilot.press("plus", "plus", "plus", "plus")  # 20 events/s
        await pilot.press("space")
        assert main.playing and "▶ playing" in status(app)
        await until(pilot, lambda: timeline(app).cursor >= 2)
        await pilot.press("space")
        assert not main.playing and "⏸ paused" in status(app)
        stopped_at = timeline(app).cursor
        await pilot.pause(0.2)
        assert timeline(app).cursor == stopped_at


async def test_next_block_and_next_policy_change(tmp_path: Path) -> None:
    app = WfpApp(make_source(tmp_path, SERVER_POLICY_BLOCK), watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await pilot.press("b")
        record = app.records()[timeline(app).current_index or 0]
        assert isinstance(record, ClassifyRecord) and record.action == "block"
        await pilot.press("g", "p")  # this scenario has no policy change: the cursor stays
        assert timeline(app).cursor == 0


async def test_filter_query_live_validation_and_apply(source: Source) -> None:
    app = WfpApp(source, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        assert not app.main.query("#filter")  # mounted on the first `/`
        await pilot.press("slash")
        box = app.main.query_one("#filter", Input)
        assert box.has_focus
        await pilot.press(*"colour:red")
        await pilot.pause()
        assert box.has_class("-invalid")
        assert "unknown key" in str(app.main.query_one("#filter-help", Static).render())
        await pilot.press("enter")  # refused: the timeline is not filtered
        assert len(timeline(app).rows) == len(app.records())
        box.value = ""
        await pilot.press(*"host:server layer:recv verdict:permit packet:syn")
        await pilot.pause()
        assert not box.has_class("-invalid")
        await pilot.press("enter")
        await pilot.pause()
        rows = list(timeline(app).rows)
        assert rows, "the filter keeps the SYN permits at ALE_AUTH_RECV_ACCEPT_V4"
        for i in rows:
            r = app.records()[i]
            assert isinstance(r, ClassifyRecord) and r.host == "server" and "RECV" in r.layer
            assert r.packet == "SYN" and r.action == "permit"
        assert "filter: host:server" in status(app)
        await pilot.press("escape")  # clears the filter
        await pilot.pause()
        assert len(timeline(app).rows) == len(app.records())


# ------------------------------------------------------------------------- inspector


async def test_inspector_explains_the_decision(source: Source) -> None:
    app = WfpApp(source, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        target = next(i for i, r in enumerate(app.records()) if isinstance(r, ClassifyRecord)
                      and r.filter == "allow-web")
        timeline(app).move_to(target)
        await pilot.pause()
        text = app.main.query_one(Inspector).plain
        assert "Decision  ✔ permit" in text
        # core.explain's sentence, the one explain prints (issue 13 item 3: written once)
        assert "PERMIT by filter 'allow-web' in sublayer 'corp' (soft permit; no lower sublayer blocked)" in text
        assert "corp (weight 0x8000)" in text
        assert "server-policy.toml:" in text and "◀ ended it" in text
        assert "IP_LOCAL_PORT" in text and "80" in text


async def test_inspector_wraps_to_its_width_and_keeps_its_scrollbar(source: Source) -> None:
    """The scrollbar is always there, so a short and a long event wrap to the same width."""
    app = WfpApp(source, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        inspector = app.main.query_one(Inspector)
        records = app.records()
        short = next(i for i, r in enumerate(records) if not isinstance(r, ClassifyRecord))
        long = next(i for i, r in enumerate(records) if isinstance(r, ClassifyRecord) and r.filter == "allow-web")
        for index in (short, long):
            timeline(app).move_to(index)
            await pilot.pause()
            assert inspector.show_vertical_scrollbar and not inspector.show_horizontal_scrollbar
            assert inspector.virtual_size.width == inspector.scrollable_content_region.width
            # the text's height, or the widget's when the text fits (no layout for each short event)
            assert len(inspector._lines) > 0
            assert inspector.virtual_size.height == max(len(inspector._lines),
                                                        inspector.scrollable_content_region.height)
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert inspector.virtual_size.width == inspector.scrollable_content_region.width


# ----------------------------------------------------------------------- live reload


async def test_external_write_and_rename_save_flips_a_verdict(source: Source) -> None:
    app = WfpApp(source)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        assert not accept_block(app)
        await pilot.pause(0.3)  # let the folder watch start
        server_file = app.host_policies["server"].path
        assert server_file is not None
        replace_save(server_file, SERVER_POLICY_BLOCK)
        await until(pilot, lambda: accept_block(app))
        await pilot.pause()
        assert app.view is not None and app.view.flipped
        flipped = [app.records()[i] for i in app.view.flipped]
        assert all(isinstance(r, ClassifyRecord) and r.action == "block" for r in flipped)
        pane = app.main.pane("server")
        assert pane is not None and "Δ" in str(pane.render())
        assert "flipped" in status(app)
        # a second rename-save is seen too (the folder watch does not go deaf)
        replace_save(server_file, SERVER_POLICY)
        await until(pilot, lambda: not accept_block(app))


async def test_invalid_save_keeps_the_last_good_policy_and_shows_the_error(source: Source) -> None:
    app = WfpApp(source)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        before = [r.action for r in app.records() if isinstance(r, ClassifyRecord)]
        await pilot.pause(0.3)
        server_file = app.host_policies["server"].path
        assert server_file is not None
        replace_save(server_file, SERVER_POLICY_BAD)
        banner = app.main.query_one("#banner", Static)
        await until(pilot, lambda: banner.has_class("-visible"))
        text = str(banner.render())
        assert "server-policy.toml:" in text and "keeping the last good policy" in text
        hp = app.host_policies["server"]
        assert hp.diagnostics and hp.diagnostics[0].line > 0
        assert hp.disk_text == SERVER_POLICY_BAD  # the text is kept (the editor shows it)
        await pilot.pause(0.3)
        assert [r.action for r in app.records() if isinstance(r, ClassifyRecord)] == before
        # the editor opens on the bad text with the line marked
        await open_editor(app, pilot)
        editor = app.screen.query_one("#edit-server", PolicyEditor)
        assert editor.text == SERVER_POLICY_BAD
        assert editor.error_lines == {d.line - 1 for d in hp.diagnostics}


async def test_save_reruns_from_the_start_and_a_applies_at_the_cursor(source: Source) -> None:
    app = WfpApp(source)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await pilot.pause(0.3)
        records = app.records()
        # put the cursor after the first connection's data: the second connect is still to come
        probe = next(i for i, r in enumerate(records) if getattr(r, "event", "") == "probe-sent")
        timeline(app).move_to(probe)
        await pilot.pause()
        cursor_t = records[probe].t
        server_file = app.host_policies["server"].path
        assert server_file is not None
        replace_save(server_file, SERVER_POLICY_BLOCK)
        # the one rule: a save re-runs from the start, wherever the cursor is
        await until(pilot, lambda: accept_block(app))
        await pilot.pause()
        assert not [r for r in app.records() if isinstance(r, PolicyRecord)]
        first_block = accept_block(app)[0]
        assert first_block.t < cursor_t  # the first connection is blocked too: from the start
        assert "policy saved: re-ran from the start" in status(app)
        assert app.view is not None and app.view.flip_count > 0
        assert f"{app.view.flip_count} verdict" in status(app)
        # `a`: the same change applied at the cursor instead; live flows reauthorize
        # (the cursor on the last event at or before the old cursor's time)
        timeline(app).move_to(timeline(app).row_of(max(
            i for i, r in enumerate(app.records()) if getattr(r, "t", 1e9) <= cursor_t)))
        await pilot.pause()
        at = app.records()[timeline(app).current_index or 0]
        seq, cursor_t = getattr(at, "seq", None), getattr(at, "t", -1.0)
        await pilot.press("a")
        await until(pilot, lambda: any(isinstance(r, PolicyRecord) for r in app.records()))
        await pilot.pause()
        assert f"applied at event #{seq}: live flows reauthorize" in status(app)
        new = app.records()
        changes = [r for r in new if isinstance(r, PolicyRecord)]
        assert len(changes) == 1 and changes[0].host == "server" and "no-web" in changes[0].added
        assert abs(changes[0].t - cursor_t) < 1e-6
        # traffic before the change kept its verdicts; the cursor sits on the change
        assert all(r.action != "block" for r in new[: new.index(changes[0])] if isinstance(r, ClassifyRecord))
        assert timeline(app).current_index == new.index(changes[0])
        # `p` finds the policy change from the start; `b` then the first block after it
        await pilot.press("g", "p")
        assert timeline(app).current_index == new.index(changes[0])
        await pilot.press("b")
        blocked = new[timeline(app).current_index or 0]
        assert isinstance(blocked, ClassifyRecord) and blocked.action == "block" and blocked.filter == "no-web"


# ---------------------------------------------------------------------------- editor


async def test_editor_marks_errors_as_you_type_and_saves_atomically(source: Source) -> None:
    app = WfpApp(source)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        screen = await open_editor(app, pilot, "g")
        await pilot.pause()
        editor = screen.current_editor()
        assert editor is not None and editor.host == "server" and editor.has_focus
        editor.move_cursor(editor.document.end)
        await pilot.press(*'\n[[filter]]\nkey = "x"\nlayer = "NOPE"\n')
        await until(pilot, lambda: app.host_policies["server"].diagnostics)
        diag = app.host_policies["server"].diagnostics[0]
        assert diag.line > 0
        assert diag.line - 1 in editor.error_lines
        assert "line" in str(screen.query_one("#diag-server", Static).render())
        assert app.host_policies["server"].dirty
        # fix it: replace the whole text with a valid policy that blocks the web server
        editor.load_text(SERVER_POLICY_BLOCK)
        app.host_policies["server"].buffer = SERVER_POLICY_BLOCK
        await pilot.press("ctrl+s")
        path = app.host_policies["server"].path
        assert path is not None
        await until(pilot, lambda: path.read_text() == SERVER_POLICY_BLOCK)
        await until(pilot, lambda: accept_block(app))
        assert not app.host_policies["server"].dirty
        assert not editor.error_lines
        assert not list(path.parent.glob(".*.tmp")), "the atomic save leaves no temp file"
        await pilot.press("escape")
        assert app.screen is app.main


async def test_editor_switches_between_hosts(source: Source) -> None:
    app = WfpApp(source)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        screen = await open_editor(app, pilot, "g")
        hosts = list(app.host_policies)
        first = screen.current_editor()
        assert first is not None
        start = hosts.index(first.host)
        await pilot.press("f6")
        await pilot.pause()
        second = screen.current_editor()
        assert second is not None and second.host == hosts[(start + 1) % len(hosts)] and second.has_focus
        await pilot.press("shift+f6")
        await pilot.pause()
        back = screen.current_editor()
        assert back is not None and back.host == first.host


async def test_revert_throws_away_unsaved_edits(source: Source) -> None:
    app = WfpApp(source, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await open_editor(app, pilot)
        await pilot.pause()
        await pilot.press(*"# scratch")
        host = app.screen.current_editor().host  # type: ignore[attr-defined]
        assert app.host_policies[host].dirty
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert not app.host_policies[host].dirty
        assert app.screen.current_editor().text == app.host_policies[host].disk_text  # type: ignore[attr-defined]


async def test_rerun_key_runs_again_from_the_start(source: Source) -> None:
    app = WfpApp(source, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        first = app.view
        await pilot.press("r")
        await until(pilot, lambda: app.view is not first)
        assert app.view is not None and first is not None
        assert [r.to_dict() for r in app.records()] == [r.to_dict() for r in first.records]
        assert not app.view.flipped


async def test_quit_asks_when_an_edit_is_unsaved(source: Source) -> None:
    app = WfpApp(source, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await open_editor(app, pilot)
        await pilot.press(*"# typed")
        await pilot.press("escape")
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("n")  # keep editing: nothing is lost
        await pilot.pause()
        assert app.is_running and app.host_policies["client"].dirty or app.host_policies["server"].dirty
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("y")
        await pilot.pause()
    assert app.return_value == 0


async def test_quit_without_edits_quits_at_once(source: Source) -> None:
    app = WfpApp(source, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_value == 0


# -------------------------------------------------------------------- conventions


async def test_help_lists_every_key(source: Source) -> None:
    app = WfpApp(source, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        screen = app.screen
        assert isinstance(screen, HelpScreen)
        does = " ".join(d for _w, _k, d in screen.rows)
        keys = {k for _w, k, _d in screen.rows}
        for word in ("Play/Pause", "Step", "Back", "Faster", "Slower", "Start", "End", "Next block",
                     "Next policy", "Filter", "Quit", "Help", "Edit policy", "Theme", "Open",
                     "Save rec", "Diff", "Save", "Revert", "Command palette"):
            assert word in does, word
        for key in ("space", "right / n / .", "left / ,", "+ / =", "-", "home / g", "end / G", "b", "p", "/",
                    "q", "?", "e", "t", "o", "w", "d", "ctrl+s", "ctrl+p"):
            assert key in keys, key
        await pilot.press("escape")
        assert app.screen is app.main


async def test_theme_toggle(source: Source) -> None:
    app = WfpApp(source, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        assert app.theme == "textual-dark"
        await pilot.press("t")
        assert app.theme == "textual-light"
        await pilot.press("t")
        assert app.theme == "textual-dark"


async def test_command_palette_has_every_action(source: Source) -> None:
    app = WfpApp(source, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        titles = {c.title for c in app.get_system_commands(app.main)}
        for title in ("Play / pause", "Step forward", "Step back", "Faster", "Slower", "Jump to start",
                      "Jump to end", "Next block", "Next policy change", "Filter timeline", "Edit policy",
                      "Save recording", "Open file", "Diff recordings", "Toggle dark/light", "Help"):
            assert title in titles
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"jump to end")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: timeline(app).at_end)


async def test_mouse_click_selects_an_event(source: Source) -> None:
    app = WfpApp(source, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await pilot.click(Timeline, offset=(5, 3))
        assert timeline(app).cursor == 3


# ------------------------------------------------------------------------ recordings


async def test_save_open_and_diff_recordings(tmp_path: Path) -> None:
    rec_a = tmp_path / "a.wfpr"
    app = WfpApp(make_source(tmp_path), watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, PathModal))
        app.screen.query_one(Input).value = str(rec_a)
        await pilot.press("enter")
        await until(pilot, rec_a.exists)
    # the same scenario under the blocking policy, diffed against the recording
    other = tmp_path / "other"
    other.mkdir()
    app = WfpApp(make_source(other, SERVER_POLICY_BLOCK), watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, PathModal))
        app.screen.query_one(Input).value = str(rec_a)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DiffScreen))
        screen = app.screen
        assert isinstance(screen, DiffScreen)
        await pilot.pause()
        left, right = screen.query_one("#diff-left", Timeline), screen.query_one("#diff-right", Timeline)
        assert screen.comparison.index_a is not None
        assert left.current_index == screen.comparison.index_a
        assert right.current_index == screen.right_index
        first = left.records[left.current_index]
        assert isinstance(first, ClassifyRecord) and first.action == "block"
        await pilot.press("n")
        assert left.cursor > (screen.left_index or 0)
        await pilot.press("g")  # back to the first divergence
        assert left.current_index == screen.left_index
        await pilot.press("down")  # both sides move together
        assert left.cursor == (screen.left_index or 0) + 1
        await pilot.press("escape")
        assert app.screen is app.main
        # open the recording in place of the scenario
        await pilot.press("o")
        await until(pilot, lambda: isinstance(app.screen, PathModal))
        app.screen.query_one(Input).value = str(rec_a)
        await pilot.press("enter")
        await until(pilot, lambda: app.source.kind == "recording" and app.view is not None)
        await pilot.pause()
        assert not accept_block(app)
        assert app.screen is app.main and len(timeline(app).rows) == len(app.records())


# ------------------------------------------------------------------------- command


def test_bad_file_exits_2_before_the_tui(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from wfptui.commands import tui

    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[[host]]\nname = 3\n', encoding="utf-8")
    args = type("Args", (), {"file": bad, "no_watch": True})()
    assert tui.run(args) == 2  # type: ignore[arg-type]
    err = capsys.readouterr().err
    assert "bad.toml:" in err and "Traceback" not in err
    missing = tmp_path / "missing.wfpr"
    args = type("Args", (), {"file": missing, "no_watch": True})()
    assert tui.run(args) == 2  # type: ignore[arg-type]
    assert "missing.wfpr" in capsys.readouterr().err
    broken = tmp_path / "broken.wfpr"
    broken.write_bytes(b"\x81\xa6format\xa3bad")
    args = type("Args", (), {"file": broken, "no_watch": True})()
    assert tui.run(args) == 2  # type: ignore[arg-type]
    assert "broken.wfpr" in capsys.readouterr().err


async def test_a_recording_opens_with_full_details(tmp_path: Path) -> None:
    from wfptui.io.recording import write_recording
    from wfptui.tui.backend import Backend
    from wfptui.tui.runview import RunView

    src = make_source(tmp_path, SERVER_POLICY_BLOCK)
    run = Backend().run(src.scenario, src.policies)
    path = tmp_path / "blocked.wfpr"
    write_recording(path, scenario=src.scenario, policies=src.policies,
                    inputs=[s.to_dict() for s in src.scenario.steps], records=run.records)
    app = WfpApp(Backend().open(path), watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.view, RunView) and app.view.indexed)
        assert app.source.kind == "recording"
        await until(pilot, lambda: app.view is not None and app.view.results)
        await pilot.press("b")
        text = app.main.query_one(Inspector).plain
        assert "Decision  ✖ block" in text and "no-web" in text and "◀ ended it" in text


async def test_key_bar_shows_the_screen_keys_and_clicks_run_them(source: Source) -> None:
    from wfptui.tui.widgets.key_bar import KeyBar

    app = WfpApp(source, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        bar = app.main.query_one(KeyBar)
        text = str(bar.render())
        for words in ("space", "Play/Pause", "Step", "Next block", "Filter", "Quit", "Help", "palette"):
            assert words in text
        start = next(s for s, _e, action, _n in bar._spans if action == "step(1)")
        await pilot.click(KeyBar, offset=(start + 1, 0))
        assert timeline(app).cursor == 1


async def test_a_session_with_a_live_change_saves_a_recording_that_replays(tmp_path: Path) -> None:
    from wfptui.core.diff import diff_traces
    from wfptui.core.engine import run_scenario
    from wfptui.io.recording import read_recording

    app = WfpApp(make_source(tmp_path))
    rec = tmp_path / "live.wfpr"
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await pilot.pause(0.3)
        probe = next(i for i, r in enumerate(app.records()) if getattr(r, "event", "") == "probe-sent")
        timeline(app).move_to(probe)
        await pilot.pause()
        server_file = app.host_policies["server"].path
        assert server_file is not None
        replace_save(server_file, SERVER_POLICY_BLOCK)
        await until(pilot, lambda: accept_block(app))
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, PathModal))
        app.screen.query_one(Input).value = str(rec)
        await pilot.press("enter")
        await until(pilot, rec.exists)
        shown = list(app.records())
    recording = read_recording(rec)
    replayed = run_scenario(recording.scenario, recording.policies).records
    assert diff_traces(shown, replayed).same
