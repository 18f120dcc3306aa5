"""A capture at 80×24 keeps its verdict columns; a captured event's near misses (issue 16).

The captures are the UWP troubleshooting page's (tests/data/evidence/README.md), copied
to a temporary folder first: opening one writes its policy file beside it.
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from tests.tui.test_app import started
from tests.tui.test_capture import case_7_8, copy, lines
from wfptui.tui.app import WfpApp
from wfptui.tui.backend import Backend
from wfptui.tui.widgets.inspector import Inspector
from wfptui.tui.widgets.timeline import capture_narrow_columns


def test_narrow_capture_columns_drop_the_host_before_the_verdicts() -> None:
    assert capture_narrow_columns(90, 1, 8) == (3, 7, 15)  # room for the host
    seq, host, layer = capture_narrow_columns(51, 1, 8)
    assert (seq, host) == (3, 0) and 10 <= layer <= 15
    # the verdict columns never go: the layer stops at its shortest table form
    assert capture_narrow_columns(30, 5, 8)[2] == 10


async def test_capture_at_80x24_keeps_observed_simulated_and_verdict(tmp_path: Path) -> None:
    app = WfpApp(case_7_8(tmp_path), watch=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        tl = app.main.timeline
        assert tl.capture_narrow is not None
        header = str(app.main.query_one("#timeline-header", Static).render())
        assert "observed" in header and "simulat." in header and "verdict" in header and "t (s)" not in header
        drop, allow = lines(app)
        assert drop.startswith("   2 CONNECT_V4 ")  # the table's short form, a whole word
        assert "✖ block  ✖ block  = agree   obs #206064" in drop
        assert "✔ permit ✔ permit = agree   obs #208757" in allow
        width = tl.scrollable_content_region.width
        for line in (drop, allow):
            # everything up to the filters fits; only the filters are cropped
            assert len(line.split(" obs #")[0]) <= width
        # seen on the screen, not only in the line text
        assert "✖ block  ✖ block  = agree" in "".join(s.text for s in tl.render_line(0))


async def test_capture_at_160x45_keeps_the_full_columns(tmp_path: Path) -> None:
    app = WfpApp(case_7_8(tmp_path), watch=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await started(app, pilot)
        assert app.main.timeline.capture_narrow is None
        assert "t (s)" in str(app.main.query_one("#timeline-header", Static).render())


async def test_a_captured_event_lists_its_near_misses(tmp_path: Path) -> None:
    """A permit of the wrong remote port beside the capture's filters: a near miss of the
    dropped event, on IP_REMOTE_PORT, with the value the capture shows."""
    capture, policy = copy(tmp_path, "netevents-case-7-8.xml", "filters-case-7-8.xml")
    Backend().open(capture, policy)
    mine = tmp_path / "mine.toml"
    mine.write_text((tmp_path / "filters-case-7-8.policy.toml").read_text(encoding="utf-8") + """
[[filter]]
key = "allow-8443"
layer = "ALE_AUTH_CONNECT_V4"
sublayer = "MPSSVC_WSH"
action = "permit"
condition = [ { field = "IP_REMOTE_PORT", match = "equal", value = 8443 } ]
""", encoding="utf-8")
    app = WfpApp(Backend().open(capture, mine), watch=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await started(app, pilot)
        record = app.main.view.records[app.main.timeline.current_index] if app.main.view else None
        port = app.main.view.judge(record).sim.values["IP_REMOTE_PORT"]  # type: ignore[union-attr]
        text = app.main.query_one(Inspector).plain
        assert "Near misses (failed on exactly one field)" in text
        assert f"allow-8443: IP_REMOTE_PORT is {port}, filter wants 8443  [sublayer 'MPSSVC_WSH']" in text
        # ALE_USER_ID is settled from the user evidence, not a value: never "is FWP_EMPTY"
        assert "ALE_USER_ID is FWP_EMPTY" not in text
