"""Issue 16: the TUI at 80×24 (columns, short layer names, footer), keyboard focus and
zoom, a layer chosen in a host pane filters the timeline, and the short-name table."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from textual.widgets import Static

from tests.tui.conftest import make_source
from tests.tui.test_app import started, status, timeline, until
from wfptui.core.trace import ClassifyRecord
from wfptui.tui.app import WfpApp
from wfptui.tui.names import layer_forms, short_layer
from wfptui.tui.screens.help import HelpScreen
from wfptui.tui.widgets.host_pane import HostPane
from wfptui.tui.widgets.inspector import Inspector
from wfptui.tui.widgets.key_bar import KeyBar

SMALL = (80, 24)

# ------------------------------------------------------------------ the name table


def test_layer_names_shorten_by_the_table() -> None:
    assert layer_forms("FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4")[:3] == [
        "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4", "ALE_AUTH_RECV_ACCEPT_V4", "RECV_ACCEPT_V4"]
    assert short_layer("ALE_AUTH_RECV_ACCEPT_V4", 14) == "RECV_ACCEPT_V4"
    assert short_layer("INBOUND_TRANSPORT_V4", 15) == "IN_TRANSPORT_V4"
    assert short_layer("INBOUND_TRANSPORT_V4", 11) == "IN_TRANS_V4"
    assert short_layer("ALE_AUTH_RECV_ACCEPT_V4", 40) == "ALE_AUTH_RECV_ACCEPT_V4"
    # past the table: words dropped for an ellipsis, the last word kept
    assert short_layer("INBOUND_TRANSPORT_V4_DISCARD", 12) == "IN…V4_DISC"
    assert short_layer("ALE_AUTH_RECV_ACCEPT_V4", 8) == "RECV…V4"


_WORDS = st.sampled_from(["ALE", "AUTH", "RECV", "ACCEPT", "INBOUND", "TRANSPORT", "V4", "V6", "DISCARD",
                          "IPPACKET", "FLOW", "ESTABLISHED", "STREAM", "CONNECT", "REDIRECT", "X"])


@given(st.lists(_WORDS, min_size=1, max_size=7).map("_".join), st.integers(min_value=1, max_value=40))
def test_short_layer_fits_and_never_cuts_a_word(name: str, width: int) -> None:
    short = short_layer(name, width)
    assert len(short) <= width
    words = {w for form in layer_forms(name) for w in form.split("_")}
    for part in re.split(r"[_…]", short):
        assert part == "" or part in words, (name, width, short)


# ------------------------------------------------------------------ 80×24


async def test_80x24_keeps_verdict_and_filter_columns_and_whole_layer_words(tmp_path: Path) -> None:
    app = WfpApp(make_source(tmp_path), watch=False)
    async with app.run_test(size=SMALL) as pilot:
        await started(app, pilot)
        await pilot.press("b")  # nothing blocks here: stays; go to the RECV_ACCEPT permit instead
        records = app.records()
        accept = next(i for i, r in enumerate(records) if isinstance(r, ClassifyRecord)
                      and r.layer == "ALE_AUTH_RECV_ACCEPT_V4" and r.filter)
        timeline(app).move_to(timeline(app).row_of(accept))
        await pilot.pause()
        tl = timeline(app)
        assert tl.narrow is not None
        header = str(app.main.query_one("#timeline-header", Static).render())
        assert "verdict" in header and "filter" in header and "t (s)" not in header
        line = tl.line_text(accept)
        record = records[accept]
        assert isinstance(record, ClassifyRecord) and record.filter
        assert "RECV_ACCEPT_V4" in line and "✔ permit" in line and record.filter in line
        # the whole line fits the timeline's width (nothing pushed off to the right)
        assert len(line) <= tl.scrollable_content_region.width
        # host panes: every layer name is a table form or ends at a word with an ellipsis
        for pane in app.main.query(HostPane):
            text = str(pane.render())
            for layer, row in zip(pane.layer_names, text.splitlines(), strict=True):
                shown = row[2:].split(" ")[0]
                forms = layer_forms(layer)
                assert shown in forms or ("…" in shown and shown.split("…")[0] in forms[-1]), (layer, row)
        # the footer keeps the essential keys
        bar = str(app.main.query_one(KeyBar).render())
        for key in ("space", "Step", "Filter", "Zoom", "Quit", "? Help"):
            assert key in bar, bar


async def test_wide_layout_keeps_every_column(tmp_path: Path) -> None:
    app = WfpApp(make_source(tmp_path), watch=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await started(app, pilot)
        assert timeline(app).narrow is None
        assert "t (s)" in str(app.main.query_one("#timeline-header", Static).render())


# ------------------------------------------------------------------ keyboard


async def test_tab_reaches_every_pane_and_the_inspector_scrolls(tmp_path: Path) -> None:
    app = WfpApp(make_source(tmp_path), watch=False)
    async with app.run_test(size=SMALL) as pilot:
        await started(app, pilot)
        await pilot.press("b")
        main = app.main
        assert main.focused is timeline(app)
        seen = []
        for _ in range(4):
            await pilot.press("tab")
            seen.append(main.focused)
        inspector = main.query_one(Inspector)
        panes = list(main.query(HostPane))
        assert inspector in seen and all(p in seen for p in panes) and timeline(app) in seen
        await pilot.press("shift+tab")
        assert main.focused is seen[-2]
        # the inspector scrolls with the keyboard when focused
        inspector.focus()
        await pilot.pause()
        assert inspector.max_scroll_y > 0
        await pilot.press("pagedown")
        await pilot.pause()
        assert inspector.scroll_y > 0
        await pilot.press("pageup")
        await pilot.pause()
        assert inspector.scroll_y == 0
        await pilot.press("down")
        await pilot.pause()
        assert inspector.scroll_y == 1


async def test_z_zooms_the_focused_pane_and_escape_restores(tmp_path: Path) -> None:
    app = WfpApp(make_source(tmp_path), watch=False)
    async with app.run_test(size=SMALL) as pilot:
        await started(app, pilot)
        inspector = app.main.query_one(Inspector)
        inspector.focus()
        await pilot.press("z")
        assert app.main.maximized is inspector
        assert inspector.size.width >= 70
        await pilot.press("escape")
        assert app.main.maximized is None
        await pilot.press("z", "z")
        assert app.main.maximized is None


async def test_enter_or_click_on_a_layer_filters_the_timeline(tmp_path: Path) -> None:
    app = WfpApp(make_source(tmp_path), watch=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await started(app, pilot)
        pane = app.main.pane("server")
        assert pane is not None
        pane.focus()
        await pilot.pause()
        target = pane.layer_names.index("ALE_AUTH_RECV_ACCEPT_V4")
        pane.layer_cursor = 0
        await pilot.press(*(["down"] * target), "enter")
        await until(pilot, lambda: app.main.query_text)
        assert app.main.query_text.startswith("host:server layer:ALE_AUTH_RECV_ACCEPT_V4")
        rows = [app.records()[i] for i in timeline(app).rows]
        assert rows and all(isinstance(r, ClassifyRecord) and r.host == "server"
                            and r.layer == "ALE_AUTH_RECV_ACCEPT_V4" for r in rows)
        assert "filter: host:server" in status(app)
        # a click on another layer of the client pane
        await pilot.press("escape")
        client = app.main.pane("client")
        assert client is not None
        row = client.layer_names.index("ALE_AUTH_CONNECT_V4")
        await pilot.click(client, offset=(4, 1 + row))
        await until(pilot, lambda: "host:client" in app.main.query_text)
        rows = [app.records()[i] for i in timeline(app).rows]
        assert rows and all(isinstance(r, ClassifyRecord) and r.layer == "ALE_AUTH_CONNECT_V4" for r in rows)


async def test_help_lists_zoom_tab_apply_and_layer_keys(tmp_path: Path) -> None:
    app = WfpApp(make_source(tmp_path), watch=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await started(app, pilot)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        screen = app.screen
        assert isinstance(screen, HelpScreen)
        text = " ".join(" ".join(row) for row in screen.rows)
        for words in ("Zoom", "Next pane", "Apply at cursor", "Filter to layer"):
            assert words in text, words
        shown = " ".join(str(w.render()) for w in screen.query(Static))
        assert "re-runs the scenario from its start" in shown and "at the cursor" in shown
        await pilot.press("escape")
        titles = {c.title for c in app.get_system_commands(app.main)}
        assert {"Apply at cursor", "Zoom pane"} <= titles


async def test_apply_at_cursor_without_a_save_says_so(tmp_path: Path) -> None:
    app = WfpApp(make_source(tmp_path), watch=False)
    async with app.run_test(size=SMALL) as pilot:
        await started(app, pilot)
        before = list(app.records())
        await pilot.press("a")
        await pilot.pause()
        assert list(app.records()) == before and app.pending_change is None


async def test_brackets_move_the_split(tmp_path: Path) -> None:
    app = WfpApp(make_source(tmp_path), watch=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await started(app, pilot)
        inspector = app.main.query_one(Inspector)
        before = inspector.outer_size.width
        await pilot.press("left_square_bracket", "left_square_bracket")
        await pilot.pause()
        assert inspector.outer_size.width == before + 8
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert inspector.outer_size.width == before + 4
        for _ in range(40):
            await pilot.press("left_square_bracket")
        await pilot.pause()
        assert inspector.outer_size.width == 160 - 40
