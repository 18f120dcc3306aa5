"""The compact trace (core.trace.Trace) and the engine's steady-state paths.

The engine reuses a walk's trace rows while the policy stays (the memo of
``core.sim.traverse.Traversal.cross``). A benchmark capture hook turns that reuse off, so
every packet then takes the classifications: random scenarios must give the same trace, record
for record, both ways. Also: record i has seq i + 1, reads build equal records each
time, and ``results`` answers for exactly the classification records.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.core._scen import scenario, two_hosts
from wfptui.core.engine import RunResult, drive, run_network, run_scenario
from wfptui.core.model import ClassifyResult
from wfptui.core.sim import Network
from wfptui.core.trace import ClassifyRecord, StackRecord, Trace, TraceResults
from wfptui.io.scenario_file import load_builtin_scenario

_LAYERS = ["ALE_AUTH_CONNECT", "ALE_AUTH_RECV_ACCEPT", "ALE_FLOW_ESTABLISHED", "STREAM", "INBOUND_TRANSPORT",
           "OUTBOUND_TRANSPORT", "INBOUND_IPPACKET", "OUTBOUND_IPPACKET"]


def _step(**keys: object) -> str:
    """A ``[[step]]`` table; string values quoted, others (numbers, inline TOML) as given."""
    lines = [f"{k} = " + (f'"{v}"' if isinstance(v, str) and not v.startswith("[") else str(v))
             for k, v in keys.items()]
    return "[[step]]\n" + "\n".join(lines) + "\n"


@st.composite
def _scenarios(draw: st.DrawFn) -> str:
    """Two hosts, a listener, connections, sends of varying sizes and counts, policy
    changes at data and ALE layers (reauthorization), closes, waits."""
    steps = [_step(do="listen", host="server", app="web", port=80, socket="l")]
    socks: list[str] = []
    for k in range(draw(st.integers(1, 12))):
        op = draw(st.sampled_from(["connect", "send", "send", "send", "close", "policy", "wait"]))
        if op == "connect" or not socks:
            port = draw(st.sampled_from([80, 80, 81]))
            steps.append(_step(do="connect", host="client", app="browser", to=f"server:{port}", socket=f"c{k}"))
            socks.append(f"c{k}")
        elif op == "send":
            steps.append(_step(do="send", socket=draw(st.sampled_from(socks)),
                               bytes=draw(st.sampled_from([100, 300, 300])), packets=draw(st.integers(1, 4))))
        elif op == "close":
            steps.append(_step(do="close", socket=draw(st.sampled_from(socks))))
        elif op == "policy":
            layer = draw(st.sampled_from(_LAYERS))
            action = draw(st.sampled_from(["permit", "block"]))
            add = (f'[ {{ key = "p{k}", layer = "{layer}_V4", action = "{action}", '
                   f'weight = {draw(st.integers(0, 15))} }} ]')
            steps.append(_step(do="policy", host=draw(st.sampled_from(["client", "server"])), add=add))
        else:
            steps.append(_step(do="wait", seconds=1))
    return two_hosts("\n".join(steps))


#: A client whose callouts redirect (port 81 -> 10.0.0.2:80), pend (port 80, completed after 0.2 s
#: with a permit) and absorb (port 82) -- issue 15 -- over the same random steps.
_CALLOUT_CLIENT = """
[host.policy]
[[host.policy.callout]]
key = "redir"
default = "continue"
[[host.policy.callout.rule]]
condition = [{ field = "IP_REMOTE_PORT", value = 81 }]
action = "redirect"
to = "10.0.0.2:80"
[[host.policy.callout]]
key = "ask"
default = "continue"
[[host.policy.callout.rule]]
condition = [{ field = "IP_REMOTE_PORT", value = 80 }]
action = "pend"
complete_after = 0.2
[[host.policy.callout.rule]]
condition = [{ field = "IP_REMOTE_PORT", value = 82 }]
action = "absorb"
[[host.policy.filter]]
key = "redir"
layer = "ALE_CONNECT_REDIRECT_V4"
action = "callout_terminating"
callout = "redir"
[[host.policy.filter]]
key = "ask"
layer = "ALE_AUTH_CONNECT_V4"
action = "callout_terminating"
callout = "ask"
"""


@st.composite
def _callout_scenarios(draw: st.DrawFn) -> str:
    """Random connects to ports 80-82, sends, closes and policy changes on the callout client."""
    steps = [_step(do="listen", host="server", app="web", port=80, socket="l")]
    socks: list[str] = []
    for k in range(draw(st.integers(1, 10))):
        op = draw(st.sampled_from(["connect", "connect", "send", "close", "policy", "wait"]))
        if op == "connect" or not socks:
            port = draw(st.sampled_from([80, 81, 82]))
            steps.append(_step(do="connect", host="client", app="browser", to=f"server:{port}", socket=f"c{k}"))
            socks.append(f"c{k}")
        elif op == "send":
            steps.append(_step(do="send", socket=draw(st.sampled_from(socks)), bytes=100))
        elif op == "close":
            steps.append(_step(do="close", socket=draw(st.sampled_from(socks))))
        elif op == "policy":
            layer = draw(st.sampled_from(_LAYERS))
            add = f'[ {{ key = "p{k}", layer = "{layer}_V4", action = "{draw(st.sampled_from(["permit", "block"]))}" }} ]'
            steps.append(_step(do="policy", host=draw(st.sampled_from(["client", "server"])), add=add))
        else:
            steps.append(_step(do="wait", seconds=1))
    return two_hosts("\n".join(steps), client_policy=_CALLOUT_CLIENT)


@given(_callout_scenarios())
def test_callout_effects_equal_on_both_paths(text: str) -> None:
    """Redirects, pends and absorbs (issue 15) give the same trace with and without row reuse."""
    fast, general = _run(text, general=False), _run(text, general=True)
    assert [r.to_dict() for r in fast.records] == [r.to_dict() for r in general.records]


def _run(text: str, *, general: bool) -> RunResult:
    sc = scenario(text)
    net = Network(sc)
    if general:
        net.capture = []  # the benchmark hook: no row reuse, every packet on the general path
    return drive(run_network(net, sc))


@given(_scenarios())
def test_steady_state_rows_equal_the_general_path(text: str) -> None:
    fast, general = _run(text, general=False), _run(text, general=True)
    assert [r.to_dict() for r in fast.records] == [r.to_dict() for r in general.records]
    assert dict(fast.results) == dict(general.results)


def test_record_i_has_seq_i_plus_1_and_reads_are_equal() -> None:
    result = run_scenario(load_builtin_scenario())
    records = result.records
    assert isinstance(records, Trace)
    for i, record in enumerate(records):
        assert record.seq == i + 1
        assert records[i] == record and records[i - len(records)] == record
    assert records[2:5] == list(records)[2:5]
    assert records == list(records)


def test_results_answer_for_classifications_only() -> None:
    result = run_scenario(load_builtin_scenario())
    results = result.results
    assert isinstance(results, TraceResults)
    classify_seqs = [r.seq for r in result.records if isinstance(r, ClassifyRecord)]
    assert list(results) == classify_seqs and len(results) == len(classify_seqs)
    for r in result.records:
        if isinstance(r, ClassifyRecord):
            res = results[r.seq]
            assert isinstance(res, ClassifyResult) and res.action == r.action
        else:
            assert results.get(r.seq) is None
    assert results.get(0) is None and results.get(len(result.records) + 1) is None


def test_a_shared_stack_row_gives_independent_records() -> None:
    """Steady data segments share one data-delivered row; each record gets its own data."""
    text = two_hosts(_step(do="listen", host="server", app="web", port=80, socket="l")
                     + _step(do="connect", host="client", app="browser", to="server:80", socket="c")
                     + _step(do="send", socket="c", bytes=400, packets=4))
    delivered = [r for r in _run(text, general=False).records
                 if isinstance(r, StackRecord) and r.event == "data-delivered"]
    assert len(delivered) == 4 and len({r.t for r in delivered}) == 4
    delivered[0].data["bytes"] = 0
    assert [r.data["bytes"] for r in delivered[1:]] == [100, 100, 100]
