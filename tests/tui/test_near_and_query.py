"""Issue 16 items 5 and 6 in the TUI: field queries typed in the filter box and listed in
``?``; the inspector's "Near misses" section."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from textual.widgets import Input

from tests.tui.conftest import SERVER_POLICY, SERVER_POLICY_BLOCK, make_source
from tests.tui.test_app import SIZE, started, status, timeline, until
from wfptui.core.arbitration import compile_policy
from wfptui.core.explain import near_misses
from wfptui.core.trace import ClassifyRecord
from wfptui.tui.app import WfpApp
from wfptui.tui.backend import Source
from wfptui.tui.screens.help import HelpScreen
from wfptui.tui.widgets.inspector import Inspector, inspect_text


async def test_typing_a_field_query_filters_the_timeline(source: Source) -> None:
    app = WfpApp(source, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await pilot.press("slash")
        box = app.main.query_one("#filter", Input)
        await pilot.press(*"IP_LOCAL_PORT=80 10.0.0.0/8 verdict:permit")
        await pilot.pause()
        assert not box.has_class("-invalid")
        await pilot.press("enter")
        await pilot.pause()
        rows = list(timeline(app).rows)
        assert rows
        for i in rows:
            r = app.records()[i]
            assert isinstance(r, ClassifyRecord) and r.action == "permit" and r.fields["IP_LOCAL_PORT"] == 80
        assert "filter: IP_LOCAL_PORT=80" in status(app)


async def test_help_lists_field_queries(source: Source) -> None:
    app = WfpApp(source, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = " ".join(str(w.render()) for w in app.screen.query("Static"))
        for word in ("IP_LOCAL_PORT=8080", "port:8080", "10.0.0.0/8", "app:chrome", "user:S-1-5-18",
                     "filter:NAME", "verdict:block"):
            assert word in text, word


def test_inspector_lists_near_misses(source: Source) -> None:
    from wfptui.core.layers import get_layer

    policy = source.policies["server"]
    layer = get_layer("ALE_AUTH_RECV_ACCEPT_V4")
    values = {"IP_LOCAL_PORT": 81, "IP_PROTOCOL": 6}
    result = compile_policy(policy).classify(layer, values)
    near = near_misses(policy, layer, values)
    assert [n.filter.key for n in near] == ["allow-web"]
    record = ClassifyRecord(1, 0.0, "server", layer.name, layer.layer_id, "SYN", None, "inbound", 1, False,
                            result.action, None, None, None, (), False, {"IP_LOCAL_PORT": 81})
    text = inspect_text(record, result, near=near).plain
    assert "Near misses (failed on exactly one field)\n" in text
    assert f"  {near[0].text()}  [sublayer '{near[0].sublayer}']\n" in text
    assert "allow-web: IP_LOCAL_PORT is 81, filter wants 80" in text
    assert text.index("Sublayers (evaluation order)") < text.index("Near misses") < text.index("Packet fields")
    assert "Near misses" not in inspect_text(record, result).plain  # not computed: no section


def test_near_misses_of_a_recorded_classification(tmp_path: Path) -> None:
    """The inspector reads a trace record's fields back and finds the same near misses as
    the core does on the values the engine classified."""
    from wfptui.core.layers import get_layer
    from wfptui.tui.backend import Backend
    from wfptui.tui.widgets.inspector import record_near_misses

    src = make_source(tmp_path, SERVER_POLICY_BLOCK)
    view = Backend().run(src.scenario, src.policies)
    policy = src.policies["server"]
    record = next(r for r in view.records if isinstance(r, ClassifyRecord) and r.host == "server"
                  and r.layer == "ALE_AUTH_RECV_ACCEPT_V4" and r.filter == "no-web")
    assert record_near_misses(record, policy) == []  # port 80: allow-web and no-web both match
    moved = replace(record, fields={**record.fields, "IP_LOCAL_PORT": 81})
    near = record_near_misses(moved, policy)
    assert [n.text() for n in near] == ["no-web: IP_LOCAL_PORT is 81, filter wants 80",
                                        "allow-web: IP_LOCAL_PORT is 81, filter wants 80"]
    assert near == near_misses(policy, get_layer(record.layer), {"IP_LOCAL_PORT": 81})


NEAR_POLICY = SERVER_POLICY + """
[[filter]]
key = "allow-81"
layer = "ALE_AUTH_RECV_ACCEPT_V4"
sublayer = "corp"
action = "permit"
condition = [ { field = "IP_LOCAL_PORT", match = "equal", value = 81 } ]

[[filter]]
key = "udp-81"
layer = "ALE_AUTH_RECV_ACCEPT_V4"
sublayer = "corp"
action = "permit"
condition = [ { field = "IP_LOCAL_PORT", value = 81 }, { field = "IP_PROTOCOL", value = "udp" } ]
"""


async def test_inspector_shows_near_misses(tmp_path: Path) -> None:
    app = WfpApp(make_source(tmp_path, NEAR_POLICY), watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        target = next(i for i, r in enumerate(app.records()) if isinstance(r, ClassifyRecord)
                      and r.filter == "allow-web")
        timeline(app).move_to(target)
        await pilot.pause()
        text = app.main.query_one(Inspector).plain
        assert ("Near misses (failed on exactly one field)\n"
                "  allow-81: IP_LOCAL_PORT is 80, filter wants 81  [sublayer 'corp']\n") in text
        assert "udp-81:" not in text  # fails on two fields
