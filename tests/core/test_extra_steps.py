"""Extra steps (the TUI's live policy changes): run at their time ``at``, wherever the
scenario is (core/engine.py docstring), and ``RunResult.inputs`` replays them exactly."""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from tests.core._scen import scenario, two_hosts
from wfptui.core.engine import RunResult, run_scenario
from wfptui.core.model import ActionType, Filter
from wfptui.core.scenario import Scenario, Step
from wfptui.core.trace import ClassifyRecord, PolicyRecord

_TEXT = two_hosts('''
[[step]]
host = "server"
do = "listen"
app = "web"
port = 80
socket = "srv"
[[step]]
host = "client"
do = "connect"
app = "browser"
to = "server:80"
socket = "c1"
[[step]]
do = "send"
socket = "c1"
bytes = 5000
packets = 50
[[step]]
do = "send"
socket = "c1"
bytes = 1000
packets = 10
''')


def _block_stream(at: float | None, index: int = 100) -> Step:
    f = Filter(key="no-stream", layer="STREAM_V4", action=ActionType.FWP_ACTION_BLOCK, filter_id=900)
    return Step(index=index, do="policy", host="server", at=at, add=(f,))


def _stream(result: RunResult) -> list[ClassifyRecord]:
    return [r for r in result.records
            if isinstance(r, ClassifyRecord) and r.host == "server" and r.layer == "STREAM_V4"]


def test_a_change_in_the_middle_of_a_send_applies_from_its_time_on() -> None:
    sc = scenario(_TEXT)
    base = _stream(run_scenario(sc))
    assert len(base) == 60 and all(r.action == "none" for r in base)
    at = base[20].t  # the 21st segment's arrival: the change comes after it, mid-send
    result = run_scenario(sc, extra_steps=[_block_stream(at)])
    stream = _stream(result)
    assert [r.action for r in stream] == ["none"] * 21 + ["block"] * 39
    assert all(r.t <= at for r in stream[:21]) and all(r.t > at for r in stream[21:])
    policy = [r for r in result.records if isinstance(r, PolicyRecord)]
    assert len(policy) == 1 and policy[0].t == at and policy[0].added == ("no-stream",)
    # in the trace it sits between the last record at or before `at` and the first after
    i = result.records.index(policy[0])
    assert result.records[i - 1].t <= at < result.records[i + 1].t  # type: ignore[union-attr]
    # inputs: the change runs after the first send (the step under way at `at`)
    assert [s.do for s in result.inputs] == ["listen", "connect", "send", "policy", "send"]


def test_a_change_without_at_runs_after_the_scenario() -> None:
    result = run_scenario(scenario(_TEXT), extra_steps=[_block_stream(None)])
    assert [s.do for s in result.inputs] == ["listen", "connect", "send", "send", "policy"]
    assert all(r.action == "none" for r in _stream(result))


def test_a_change_after_the_run_went_quiet_moves_the_clock() -> None:
    result = run_scenario(scenario(_TEXT), extra_steps=[_block_stream(30.0)])
    last = result.records[-1]
    assert isinstance(last, PolicyRecord) and last.t == 30.0


def test_changes_at_the_same_time_keep_their_order() -> None:
    sc = scenario(_TEXT)
    at = _stream(run_scenario(sc))[5].t
    permit = Step(index=101, do="policy", host="server", at=at, remove=("no-stream",))
    result = run_scenario(sc, extra_steps=[_block_stream(at), permit])
    policy = [r for r in result.records if isinstance(r, PolicyRecord)]
    assert [(p.added, p.removed) for p in policy] == [(("no-stream",), ()), ((), ("no-stream",))]
    assert all(r.action == "none" for r in _stream(result))


def _replayed(sc: Scenario, result: RunResult) -> RunResult:
    return run_scenario(dataclasses.replace(sc, steps=tuple(result.inputs)))


@given(st.lists(st.tuples(st.floats(0.0, 0.01, allow_nan=False), st.booleans()), max_size=4))
def test_inputs_replay_the_same_trace(changes: list[tuple[float, bool]]) -> None:
    sc = scenario(_TEXT)
    extra = []
    for i, (at, block) in enumerate(changes):
        step = _block_stream(round(at, 6), 100 + i)
        extra.append(step if block else dataclasses.replace(step, add=(), remove=("no-stream",)))
    result = run_scenario(sc, extra_steps=extra)
    assert len(result.inputs) == len(sc.steps) + len(extra)
    assert [r.to_dict() for r in _replayed(sc, result).records] == [r.to_dict() for r in result.records]
