"""A capture in the TUI (issue 11 item 7): observed beside simulated, disagreements marked,
the policy written beside the capture as TOML and watched, so an edit re-triages live.

The captures are the UWP troubleshooting page's (tests/data/evidence/README.md), copied to
a temporary folder first: opening one writes its policy file beside it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from textual.widgets import Static

from tests.tui.test_app import SIZE, replace_save, started, until
from wfptui.cli import main as cli_main
from wfptui.core.trace import ObservedRecord
from wfptui.io.errors import InputError
from wfptui.tui.app import WfpApp
from wfptui.tui.backend import Backend, Source
from wfptui.tui.widgets.host_pane import HostPane
from wfptui.tui.widgets.inspector import Inspector
from wfptui.tui.widgets.timeline import CAPTURE_HEADER

DATA = Path(__file__).resolve().parents[1] / "data" / "evidence"


def copy(tmp: Path, *names: str) -> list[Path]:
    out = []
    for name in names:
        shutil.copy(DATA / name, tmp / name)
        out.append(tmp / name)
    return out


def case_7_8(tmp: Path) -> Source:
    capture, policy = copy(tmp, "netevents-case-7-8.xml", "filters-case-7-8.xml")
    return Backend().open(capture, policy)


def lines(app: WfpApp) -> list[str]:
    tl = app.main.timeline
    return [tl.line_text(i) for i in tl.rows]


def observed(app: WfpApp) -> list[ObservedRecord]:
    return [r for r in app.records() if isinstance(r, ObservedRecord)]


def status(app: WfpApp) -> str:
    return str(app.main.query_one("#status", Static).render())


def without_filter(toml: str, key: str) -> str:
    """The policy TOML without the ``[[filter]]`` whose key is ``key``."""
    start = toml.index(f'[[filter]]\nkey = "{key}"')
    end = toml.find("[[filter]]", start + 1)
    return toml[:start] + (toml[end:] if end >= 0 else "")


# ------------------------------------------------------------------ opening


def test_xml_policy_is_written_beside_the_capture(tmp_path: Path) -> None:
    source = case_7_8(tmp_path)
    target = tmp_path / "filters-case-7-8.policy.toml"
    assert source.kind == "capture"
    assert target.exists() and 'key = "block-outbound-default-rule-206064"' in target.read_text(encoding="utf-8")
    assert any("policy written to" in n and "filters-case-7-8.policy.toml" in n for n in source.notes)
    assert source.scenario.hosts[0].policy_file == str(target)
    assert [s.do for s in source.scenario.steps] == ["observe", "observe"]


def test_an_existing_identical_file_is_used_and_a_different_one_is_the_users_edit(tmp_path: Path) -> None:
    (capture,) = copy(tmp_path, "wfpdiag-case-2.xml")
    first = Backend().open(capture)
    target = tmp_path / "wfpdiag-case-2.policy.toml"
    text = target.read_text(encoding="utf-8")
    again = Backend().open(capture)
    assert any(n == "policy: " + str(target) or n.endswith("wfpdiag-case-2.policy.toml") for n in again.notes)
    assert target.read_text(encoding="utf-8") == text
    edited = text.replace('action = "block"', 'action = "permit"')
    target.write_text(edited, encoding="utf-8")
    third = Backend().open(capture)
    assert target.read_text(encoding="utf-8") == edited  # never overwritten
    assert any("exists and differs" in n and "edited policy" in n for n in third.notes)
    assert third.policies["captured"].filters[0].action.name == "FWP_ACTION_PERMIT"
    assert first.policies["captured"].filters[0].action.name == "FWP_ACTION_BLOCK"


def test_a_toml_policy_is_watched_where_it_is(tmp_path: Path) -> None:
    capture, policy = copy(tmp_path, "netevents-case-7-8.xml", "filters-case-7-8.xml")
    toml = tmp_path / "mine.toml"
    Backend().open(capture, policy)  # writes filters-case-7-8.policy.toml
    shutil.copy(tmp_path / "filters-case-7-8.policy.toml", toml)
    source = Backend().open(capture, toml)
    assert source.scenario.hosts[0].policy_file == str(toml.resolve())


def test_netevents_without_a_policy_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (capture,) = copy(tmp_path, "netevents-case-7-8.xml")
    with pytest.raises(InputError, match="--policy"):
        Backend().open(capture)
    assert cli_main([str(capture)]) == 2
    err = capsys.readouterr().err
    assert "netevents-case-7-8.xml" in err and "--policy" in err and "Traceback" not in err


def test_policy_for_a_scenario_is_bad_input(tmp_path: Path) -> None:
    scenario = tmp_path / "s.toml"
    scenario.write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="--policy is for captures"):
        Backend().open(scenario, tmp_path / "p.toml")


# ------------------------------------------------------------------ the screen


async def test_timeline_shows_observed_beside_simulated(tmp_path: Path) -> None:
    app = WfpApp(case_7_8(tmp_path), watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        assert app.view is not None and app.view.is_capture
        header = app.main.query_one("#timeline-header", Static)
        assert str(header.render()) == CAPTURE_HEADER
        shown = lines(app)
        assert len(shown) == 2  # one line per event, not per record
        drop, allow = shown
        assert "ALE_AUTH_CONNECT_V4" in drop and "SYN out" in drop
        assert "✖ block   ✖ block   = agree" in drop
        assert "obs #206064 by id · sim block-outbound-default-rule-206064" in drop
        assert "✔ permit  ✔ permit  = agree" in allow
        assert "obs #208757 by id · sim internetclient-default-rule-208757" in allow
        assert "2 events · 2 agree" in str(app.main.query_one("#timeline-box").border_subtitle)
        assert "policy filters-case-7-8.policy.toml" in status(app) or "filters-case-7-8.policy.toml" in status(app)
        pane = app.main.pane("captured")
        assert isinstance(pane, HostPane) and pane.active is not None  # the event's layer is lit
        assert pane.active.layer == "ALE_AUTH_CONNECT_V4"


async def test_inspector_shows_observed_simulated_verdict_and_arbitration(tmp_path: Path) -> None:
    app = WfpApp(case_7_8(tmp_path), watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await pilot.press("down")
        await pilot.pause()
        text = app.main.query_one(Inspector).plain
        assert "captured · ALE_AUTH_CONNECT_V4 · event 2 (CLASSIFY_ALLOW)" in text
        assert "Verdict    = agree" in text
        assert ("Observed   ✔ permit  filter id 208757 = internetclient-default-rule-208757 "
                '"InternetClient Default Rule"') in text
        assert "(matched by id)" in text
        assert "Simulated  ✔ permit  by internetclient-default-rule-208757" in text
        assert "Unknown    none that matter" in text
        assert "Sublayers (evaluation order)" in text and "◀ ended it" in text
        assert "ALE_PACKAGE_ID" in text  # the packet fields of the simulated classification


async def test_an_edited_filter_re_triages_live_and_marks_the_difference(tmp_path: Path) -> None:
    source = case_7_8(tmp_path)
    target = tmp_path / "filters-case-7-8.policy.toml"
    app = WfpApp(source)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await pilot.pause(0.3)  # let the folder watch start
        toml = target.read_text(encoding="utf-8")
        # the drop's filter permits now: the drop turns into an allow, unlike the capture
        replace_save(target, toml.replace('action = "block"', 'action = "permit"'))
        await until(pilot, lambda: observed(app)[0].verdict == "differ")
        await pilot.pause()
        drop = lines(app)[0]
        assert drop.startswith("Δ")  # flipped by the edit
        assert "✖ block   ✔ permit  ≠ DIFFER" in drop
        assert "1 differ · 1 agree" in str(app.main.query_one("#timeline-box").border_subtitle)
        assert f"re-triaged with {target}: 1 event flipped" in status(app)
        text = app.main.query_one(Inspector).plain
        assert "Verdict    ≠ DIFFER" in text and "Simulated  ✔ permit" in text
        # the filter removed: nothing blocks (FWP_ACTION_NONE permits); the observed filter is
        # no longer in the policy, so core.triage calls the verdict unknown
        replace_save(target, without_filter(toml, "block-outbound-default-rule-206064"))
        await until(pilot, lambda: observed(app)[0].verdict == "unknown")
        await pilot.pause()
        drop = lines(app)[0]
        assert "✖ block   ○ none    ? UNKNOWN" in drop
        assert "obs #206064 (not in the policy) · sim (no match)" in drop
        await pilot.press("slash")
        await pilot.pause()
        await pilot.press(*"verdict:unknown", "enter")
        await pilot.pause()
        assert len(app.main.timeline.rows) == 1


async def test_wfpdiag_capture_opens_on_its_own_filters(tmp_path: Path) -> None:
    (capture,) = copy(tmp_path, "wfpdiag-case-2.xml")
    app = WfpApp(Backend().open(capture), watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        (line,) = lines(app)
        assert "ALE_AUTH_CONNECT_V6" in line and "✖ block   ✖ block   = agree" in line
        assert (tmp_path / "wfpdiag-case-2.policy.toml").exists()
        assert "wfpdiag-case-2.policy.toml" in status(app)


async def test_a_recording_imported_from_a_capture_shows_the_same_lines(tmp_path: Path) -> None:
    capture, policy = copy(tmp_path, "netevents-case-7-8.xml", "filters-case-7-8.xml")
    out = tmp_path / "c.wfpr"
    assert cli_main(["import", str(capture), "--policy", str(policy), "-o", str(out)]) == 0
    app = WfpApp(Backend().open(out), watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await until(pilot, lambda: app.view is not None and app.view.is_capture)
        await pilot.pause()
        drop, allow = lines(app)
        assert "✖ block   ✖ block   = agree" in drop and "✔ permit  ✔ permit  = agree" in allow
        assert "Verdict    = agree" in app.main.query_one(Inspector).plain


async def test_an_unknown_simulated_action_reads_question_mark_and_names_the_field(tmp_path: Path) -> None:
    """A block on IP_LOCAL_INTERFACE (no capture carries it) above the permit: the allowed
    event's simulated action is unknown; the dropped one stays a block whose filter is unknown."""
    capture, policy = copy(tmp_path, "netevents-case-7-8.xml", "filters-case-7-8.xml")
    Backend().open(capture, policy)
    mine = tmp_path / "mine.toml"
    mine.write_text((tmp_path / "filters-case-7-8.policy.toml").read_text(encoding="utf-8") + """
[[filter]]
key = "block-vpn-interface"
layer = "ALE_AUTH_CONNECT_V4"
sublayer = "MPSSVC_WSH"
effective_weight = "0x0000007000000000"
action = "block"
condition = [ { field = "IP_LOCAL_INTERFACE", match = "equal", value = 42 } ]
""", encoding="utf-8")
    app = WfpApp(Backend().open(capture, mine), watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        drop, allow = lines(app)
        assert drop.startswith("?") and "✖ block   ✖ block   ? UNKNOWN" in drop
        assert allow.startswith("?") and "✔ permit  ? unknown ? UNKNOWN" in allow
        assert "unknown: IP_LOCAL_INTERFACE" in allow
        await pilot.press("down")
        await pilot.pause()
        text = app.main.query_one(Inspector).plain
        assert "Simulated  ? unknown" in text
        assert "Unknown    IP_LOCAL_INTERFACE — not in the evidence" in text
        assert "(the world where unknown conditions do not match)" in text
