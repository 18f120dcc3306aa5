"""The TUI's pure parts: the filter language, run indexing, flips, live policy steps."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.tui.conftest import SERVER_POLICY_BLOCK, make_source
from wfptui.core.trace import ClassifyRecord, PolicyRecord
from wfptui.io.policy_file import parse_policy
from wfptui.io.recording import read_recording, write_recording
from wfptui.tui.backend import Backend, policy_change_step
from wfptui.tui.query import QueryError, filter_indexes, parse_query
from wfptui.tui.render import record_text, verdict_of
from wfptui.tui.runview import RunView, find_flips


@pytest.fixture
def view(tmp_path: Path) -> RunView:
    src = make_source(tmp_path, SERVER_POLICY_BLOCK)
    return Backend().run(src.scenario, src.policies)


def test_query_errors_name_the_column() -> None:
    with pytest.raises(QueryError) as err:
        parse_query("host:server colour:red", ["client", "server"])
    assert err.value.col == 13 and "unknown key" in str(err.value)
    with pytest.raises(QueryError):
        parse_query("host:nobody", ["client", "server"])
    with pytest.raises(QueryError):
        parse_query("verdict:maybe")
    with pytest.raises(QueryError):
        parse_query("flow:x")
    with pytest.raises(QueryError):
        parse_query("layer:")
    assert not parse_query("   ")


def test_query_terms_and_alternatives(view: RunView) -> None:
    q = parse_query("host:server layer:recv verdict:block filter:no-web packet:syn", view.hosts)
    rows = filter_indexes(view.records, q, set())
    assert rows
    for i in rows:
        r = view.records[i]
        assert isinstance(r, ClassifyRecord)
        assert (r.host, r.action, r.filter, r.packet) == ("server", "block", "no-web", "SYN")
    both = filter_indexes(view.records, parse_query("host:client host:server kind:classify"), set())
    assert len(both) == sum(isinstance(r, ClassifyRecord) for r in view.records)
    negated = filter_indexes(view.records, parse_query("-kind:classify"), set())
    assert all(not isinstance(view.records[i], ClassifyRecord) for i in negated)
    words = filter_indexes(view.records, parse_query("rst-sent"), set())
    assert words and all("rst-sent" in record_text(view.records[i]) for i in words)
    flipped = filter_indexes(view.records, parse_query("verdict:flipped"), {rows[0]})
    assert flipped == [rows[0]]


def test_verdicts_have_symbol_and_word(view: RunView) -> None:
    seen = {verdict_of(r)[1:] for r in view.records}
    assert {("block", "✖"), ("discard", "⇣"), ("none", "○")} <= seen


def test_index_counts_and_layer_order(view: RunView) -> None:
    assert view.hosts == ["client", "server"]
    assert view.layer_order["server"][0] == "ALE_BIND_REDIRECT_V4"
    accept = view.counts["server"]["ALE_AUTH_RECV_ACCEPT_V4"]
    assert accept.block >= 2 and accept.permit == 0
    assert all(view.records[i].action == "block" for i in view.block_rows)  # type: ignore[union-attr]


def test_lazy_index_of_a_recording_equals_the_full_one(tmp_path: Path, view: RunView) -> None:
    src = make_source(tmp_path, SERVER_POLICY_BLOCK)
    path = tmp_path / "r.wfpr"
    write_recording(path, scenario=src.scenario, policies=src.policies, inputs=[], records=view.records)
    rec = read_recording(path)
    fast = RunView.build_lazy(rec.records, ["client", "server"])
    full = RunView.build(list(rec.records), ["client", "server"])
    assert fast.counts == full.counts
    assert fast.layer_order == full.layer_order
    assert fast.block_rows == full.block_rows and fast.policy_rows == full.policy_rows


def test_flips_pair_classifications(tmp_path: Path, view: RunView) -> None:
    other = tmp_path / "permit"
    other.mkdir()
    permit_src = make_source(other)
    permitted = Backend().run(permit_src.scenario, permit_src.policies)
    flips = find_flips(permitted.records, view.records)
    assert flips
    assert all(view.records[i].action == "block" for i in flips)  # type: ignore[union-attr]
    assert find_flips(view.records, view.records) == set()


def test_live_step_lands_at_its_time(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    backend = Backend()
    before = backend.run(src.scenario, src.policies)
    probe = next(r for r in before.records if getattr(r, "event", "") == "probe-sent")
    new = parse_policy(SERVER_POLICY_BLOCK, "server-policy.toml")
    step = policy_change_step("server", probe.t, src.policies["server"], new, 99)
    assert step is not None and step.remove == () and [f.key for f in step.add] == ["no-web"]
    after = backend.run(src.scenario, src.policies, [step])
    change = next(r for r in after.records if isinstance(r, PolicyRecord))
    assert abs(change.t - probe.t) < 1e-9
    cut = after.records.index(change)
    assert not any(isinstance(r, ClassifyRecord) and r.action == "block" for r in after.records[:cut])
    assert any(isinstance(r, ClassifyRecord) and r.action == "block" for r in after.records[cut:])


def test_sublayer_changes_need_a_full_rerun() -> None:
    old = parse_policy("", "a.toml")
    new = parse_policy('[[sublayer]]\nkey = "x"\nweight = 1\n', "a.toml")
    assert policy_change_step("h", 0.0, old, new, 1) is None


def test_field_queries(view: RunView) -> None:
    """Issue 16 item 5: FIELD=VALUE, port:, addresses and CIDRs, app:, user:."""
    classify = [i for i, r in enumerate(view.records) if isinstance(r, ClassifyRecord)]

    def rows(text: str) -> list[int]:
        return filter_indexes(view.records, parse_query(text, view.hosts), set())

    def fields(i: int) -> dict[str, object]:
        r = view.records[i]
        assert isinstance(r, ClassifyRecord)
        return r.fields

    port80 = rows("IP_LOCAL_PORT=80")
    assert port80 and all(fields(i).get("IP_LOCAL_PORT") == 80 for i in port80)
    assert rows("FWPM_CONDITION_IP_LOCAL_PORT=0x50") == port80  # WFP spelling, hex
    assert rows("ip_local_port=80") == port80
    either = rows("port:80")
    assert set(port80) <= set(either)
    assert all(80 in (fields(i).get("IP_LOCAL_PORT"), fields(i).get("IP_REMOTE_PORT")) for i in either)
    assert rows("port:1") == []
    tcp = rows("IP_PROTOCOL=tcp")
    assert tcp and tcp == rows("IP_PROTOCOL=6")
    assert rows("IP_LOCAL_PORT=80 IP_LOCAL_PORT=1") == port80  # same field: alternatives
    assert rows("IP_LOCAL_PORT=80 -IP_LOCAL_PORT=80") == []  # different: all must hold
    addr = rows("10.0.0.2")
    assert addr and all("10.0.0.2" in (fields(i).get("IP_LOCAL_ADDRESS"), fields(i).get("IP_REMOTE_ADDRESS"))
                        for i in addr)
    assert set(addr) <= set(rows("10.0.0.0/8")) and rows("192.168.0.0/16") == []
    assert rows("IP_REMOTE_ADDRESS=10.0.0.0/24") and rows("fe80::/10") == []
    web = rows("app:WEB.EXE")
    assert web and all("web.exe" in str(fields(i)["ALE_APP_ID"]) for i in web)
    user = rows("user:S-1-5-21-1000-1000-1000-1001")
    assert user and all(fields(i)["ALE_USER_ID"] == "S-1-5-21-1000-1000-1000-1001" for i in user)
    assert rows("user:S-1-5-18") == []
    blocked80 = rows("port:80 verdict:block filter:no-web")
    assert blocked80 and all(i in either for i in blocked80)
    assert set(rows("-10.0.0.2")) == set(range(len(view.records))) - set(addr)
    assert set(classify) >= set(either)


def test_field_query_errors() -> None:
    with pytest.raises(QueryError) as err:
        parse_query("host:a IP_LOCAL_PROT=80")
    assert err.value.col == 8 and "IP_LOCAL_PROT" in str(err.value)
    with pytest.raises(QueryError):
        parse_query("IP_LOCAL_PORT=")
    with pytest.raises(QueryError):
        parse_query("port:http")
    assert parse_query("2001:db8::/32").terms[0].key == "addr"


@given(st.text(alphabet=st.sampled_from("ab:=-./ 019fAPORT_LOCAL:IP"), max_size=40))
def test_parse_query_never_crashes(text: str) -> None:
    """Any text either parses or raises QueryError with a column inside it."""
    try:
        q = parse_query(text)
    except QueryError as err:
        assert 1 <= err.col <= len(text)
    else:
        filter_indexes([], q, set())
