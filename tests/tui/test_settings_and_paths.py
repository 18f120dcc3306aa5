"""Issue 16 item 8: the chosen theme survives a restart; tab completes paths in the prompts."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input

from tests.tui.conftest import make_source
from tests.tui.test_app import SIZE, started, until
from wfptui.tui.app import WfpApp
from wfptui.tui.screens.dialogs import PathModal, complete_path
from wfptui.tui.settings import config_dir, load_theme, save_theme, settings_path


def test_config_dir_per_platform(tmp_path: Path) -> None:
    assert config_dir({"WFPTUI_CONFIG_DIR": str(tmp_path)}, "linux") == tmp_path
    assert config_dir({"XDG_CONFIG_HOME": "/x/cfg"}, "linux") == Path("/x/cfg/wfptui")
    assert config_dir({"XDG_CONFIG_HOME": "relative"}, "linux") == Path.home() / ".config" / "wfptui"
    assert config_dir({}, "darwin") == Path.home() / ".config" / "wfptui"
    win = config_dir({"APPDATA": r"C:\Users\me\AppData\Roaming"}, "win32")
    assert win.name == "wfptui" and str(win).startswith(r"C:\Users\me\AppData\Roaming")


def test_theme_file_round_trip_and_bad_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WFPTUI_CONFIG_DIR", str(tmp_path / "new"))
    assert load_theme() is None  # no folder yet
    save_theme('odd "name"')
    assert load_theme() == 'odd "name"'
    settings_path().write_text("theme = [", encoding="utf-8")
    assert load_theme() is None  # unreadable: the default
    settings_path().write_bytes(b"\xff\xfe")
    assert load_theme() is None


async def test_the_chosen_theme_survives_a_restart(tmp_path: Path) -> None:
    app = WfpApp(make_source(tmp_path), watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        assert app.theme == "textual-dark"
        await pilot.press("t")
        await until(pilot, lambda: load_theme() == "textual-light")
    again = WfpApp(make_source(tmp_path), watch=False)
    async with again.run_test(size=SIZE) as pilot:
        await started(again, pilot)
        assert again.theme == "textual-light"
        again.theme = "nord"  # the command palette's theme picker sets it so
        await until(pilot, lambda: load_theme() == "nord")
    third = WfpApp(make_source(tmp_path), watch=False)
    assert third.theme == "nord"


def test_an_unknown_saved_theme_falls_back_to_dark(tmp_path: Path) -> None:
    save_theme("no-such-theme")
    assert WfpApp(make_source(tmp_path), watch=False).theme == "textual-dark"


def test_complete_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "tcp-connect.toml").write_text("", encoding="utf-8")
    (tmp_path / "scenarios" / "tcp-stealth.toml").write_text("", encoding="utf-8")
    (tmp_path / "session.wfpr").write_text("", encoding="utf-8")
    (tmp_path / ".hidden").write_text("", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert complete_path("sc", windows=False) == "scenarios/"  # a folder: the separator follows
    assert complete_path("scenarios/tcp", windows=False) == "scenarios/tcp-"  # the common prefix
    assert complete_path("scenarios/tcp-c", windows=False) == "scenarios/tcp-connect.toml"
    assert complete_path("scenarios/tcp-connect.toml", windows=False) is None  # nothing more
    assert complete_path("nothing", windows=False) is None
    assert complete_path("", windows=False) == "s"  # scenarios and session.wfpr: their common prefix
    assert complete_path(".h", windows=False) == ".hidden"  # hidden entries when asked for
    # a diff takes two paths: the last one completes
    assert complete_path("session.wfpr sess", windows=False) == "session.wfpr session.wfpr"
    assert complete_path(f"{tmp_path}/ses", windows=False) == f"{tmp_path}/session.wfpr"
    # Windows: "/" typed stays "/" (the backslash form needs a Windows file system)
    assert complete_path("sc", windows=True) == "scenarios\\"
    assert complete_path("scenarios/tcp-c", windows=True) == "scenarios/tcp-connect.toml"


async def test_tab_completes_in_the_open_prompt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "recording-one.wfpr").write_text("", encoding="utf-8")
    monkeypatch.chdir(folder)
    app = WfpApp(make_source(tmp_path), watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await pilot.press("o")
        await until(pilot, lambda: isinstance(app.screen, PathModal))
        await pilot.press(*"rec", "tab")
        box = app.screen.query_one(Input)
        assert box.value == "recording-one.wfpr"
        assert box.cursor_position == len(box.value)
