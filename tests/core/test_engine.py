"""The engine: determinism, RunResult, expectations, policies/extra steps, round trips."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
from pathlib import Path

from tests.core._scen import run, scenario, two_hosts
from wfptui.core.engine import RunResult, arun_scenario, run_scenario
from wfptui.core.model import ActionType, Filter
from wfptui.core.scenario import Scenario, Step
from wfptui.core.trace import ClassifyRecord, ExpectRecord, record_from_dict
from wfptui.io.scenario_file import load_builtin_scenario, load_scenario, scenario_from_dict
from wfptui.io.trace_output import write_trace

ROOT = Path(__file__).resolve().parents[2]


def _jsonl(result: RunResult) -> bytes:
    buf = io.StringIO()
    write_trace(result.all_records, "jsonl", buf)
    return buf.getvalue().encode()


def test_deterministic_same_process() -> None:
    sc = load_builtin_scenario()
    assert _jsonl(run_scenario(sc)) == _jsonl(run_scenario(sc))


def test_deterministic_across_processes() -> None:
    code = ("import sys; from wfptui.core.engine import run_scenario; "
            "from wfptui.io.scenario_file import load_scenario; from wfptui.io.trace_output import write_trace; "
            "r = run_scenario(load_scenario(sys.argv[1])); write_trace(r.all_records, 'jsonl', sys.stdout)")
    path = str(ROOT / "scenarios" / "tcp-reauth-block.toml")
    outs = [subprocess.run([sys.executable, "-c", code, path], capture_output=True, check=True, cwd=ROOT,
                           env={"PYTHONHASHSEED": str(seed), "PATH": "/usr/bin:/bin"}).stdout
            for seed in (1, 2)]
    assert outs[0] == outs[1]
    assert outs[0] == _jsonl(run_scenario(load_scenario(path)))


def test_run_result_fields() -> None:
    sc = load_builtin_scenario()
    res = run_scenario(sc)
    assert res.ok and res.hosts == ["client", "server"]
    assert all(e.ok for e in res.expects)
    seqs = [r.seq for r in res.all_records]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    for r in res.records:
        if isinstance(r, ClassifyRecord):
            assert res.results[r.seq].action == r.action
            assert record_from_dict(r.to_dict()) == r
    assert res.layer_order["server"][:3] == ["ALE_BIND_REDIRECT_V4", "ALE_RESOURCE_ASSIGNMENT_V4",
                                             "ALE_AUTH_LISTEN_V4"]
    assert [s.index for s in res.inputs] == [s.index for s in sc.steps]
    ts = [r.t for r in res.records if not isinstance(r, ExpectRecord)]
    assert ts == sorted(ts)


def test_async_api_inside_running_loop() -> None:
    sc = load_builtin_scenario()

    async def main() -> tuple[RunResult, RunResult]:
        a = await arun_scenario(sc)
        b = run_scenario(sc)  # the sync wrapper works inside a running loop too
        return a, b

    a, b = asyncio.run(main())
    assert _jsonl(a) == _jsonl(b)


def test_policy_override_and_extra_steps() -> None:
    sc = load_builtin_scenario()
    server = sc.host("server")
    assert server is not None
    block_all = server.policy.replace_filters((Filter(key="deny", layer="ALE_AUTH_LISTEN_V4",
                                                      action=ActionType.FWP_ACTION_BLOCK, filter_id=1),))
    res = run_scenario(sc, {"server": block_all})
    assert not res.ok
    listen = [r for r in res.records if isinstance(r, ClassifyRecord) and r.layer == "ALE_AUTH_LISTEN_V4"]
    assert listen[0].action == "block" and listen[0].filter == "deny"
    extra = Step(index=100, do="probe", host="client", to="server:9999")
    res2 = run_scenario(sc, extra_steps=[extra])
    assert res2.inputs[-1] == extra
    assert any(isinstance(r, ClassifyRecord) and r.fields.get("IP_LOCAL_PORT") == 9999 for r in res2.records)


def test_expect_semantics() -> None:
    text = two_hosts('''
[[step]]
host = "server"
do = "listen"
port = 80
socket = "srv"
[[step]]
host = "client"
do = "connect"
to = "server:80"
socket = "c1"
''', expects='''
[[expect]]
host = "server"
layer = "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4"
action = "permit"
[[expect]]
layer = "ale_auth_recv_accept_v4"
packet = "syn"
count = 1
[[expect]]
action = "block"
count = 0
[[expect]]
host = "server"
layer = "ALE_AUTH_RECV_ACCEPT_V4"
action = "block"
[[expect]]
layer = "STREAM_V4"
count = 2
''')
    res = run(text)
    assert [e.ok for e in res.expects] == [True, True, True, False, False]
    assert "nearest" in res.expects[3].message and "ALE_AUTH_RECV_ACCEPT_V4" in res.expects[3].message
    assert res.expects[4].matched == 0
    assert not res.ok


def test_scenario_round_trip() -> None:
    for path in [*sorted((ROOT / "scenarios").glob("*.toml")), None]:
        sc = load_builtin_scenario() if path is None else load_scenario(path)
        d = sc.to_dict()
        back = scenario_from_dict(d, {h.name: h.policy for h in sc.hosts})
        assert back == sc
        assert back.to_dict() == d
        # and the round-tripped scenario runs the same
        assert _jsonl(run_scenario(back)) == _jsonl(run_scenario(sc))


def test_steps_with_at_run_at_that_time() -> None:
    res = run(two_hosts('''
[[step]]
host = "client"
do = "ping"
to = "server"
at = 5
[[step]]
host = "client"
do = "probe"
to = "server:1"
at = 2.5
'''))
    first = [r for r in res.records if isinstance(r, ClassifyRecord)]
    assert first[0].t == 5.0
    assert isinstance(res, RunResult) and isinstance(scenario("name='x'\n[[host]]\nname='a'\n"), Scenario)


def test_step_round_trip_keeps_filter_ids_against_any_policy() -> None:
    """A recording re-parses each input step against the host's *initial* policy: the
    added filters must keep the ids they had when the scenario was loaded."""
    from wfptui.io.policy_file import parse_filter_tables

    sc = load_builtin_scenario()
    initial = {h.name: h.policy for h in sc.hosts}
    rebuilt = [Step.from_dict(s.to_dict(), initial.get(str(s.host)), parse_filter_tables) for s in sc.steps]
    assert rebuilt == list(sc.steps)
    ids = [f.filter_id for s in sc.steps for f in s.add]
    assert len(ids) == 2 and len(set(ids)) == 2


def test_progress_callback_counts_every_step() -> None:
    from wfptui.core.engine import run_scenario
    from wfptui.io.scenario_file import load_builtin_scenario

    scenario = load_builtin_scenario()
    calls: list[tuple[int, int]] = []
    result = run_scenario(scenario, progress=lambda done, total: calls.append((done, total)))
    n = len(scenario.steps)
    assert calls == [(i, n) for i in range(1, n + 1)]
    # the callback observes; it changes nothing
    assert [r.to_dict() for r in result.records] == [r.to_dict() for r in run_scenario(scenario).records]
