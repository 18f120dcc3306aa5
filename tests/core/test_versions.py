"""What exists on which Windows version: condition fields (Filtering Condition
Identifiers; core.fields.FIELD_SINCE), same-field OR grouping (FWPM_FILTER0, Windows 7+),
and net event types (FWPM_NET_EVENT_TYPE)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.core._scen import classify, run, scenario, seq, stack_events, two_hosts
from wfptui.core.arbitration import classify_naive, compile_policy
from wfptui.core.datatypes import WinVersion
from wfptui.core.fields import field_since
from wfptui.core.match import same_field_ored
from wfptui.core.trace import AuditRecord, NetEventRecord
from wfptui.io.errors import InputError

CONNECT = '''
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
'''


def test_field_since_table() -> None:
    assert field_since("IP_REMOTE_PORT") == WinVersion.VISTA
    assert field_since("ICMP_TYPE") == WinVersion.VISTA  # alias of IP_LOCAL_PORT
    assert field_since("CURRENT_PROFILE_ID") == WinVersion.WIN7
    assert field_since("REAUTHORIZE_REASON") == WinVersion.WIN7
    assert field_since("ALE_PACKAGE_ID") == WinVersion.WIN8
    assert field_since("ALE_ORIGINAL_APP_ID") == WinVersion.WIN8
    assert field_since("COMPARTMENT_ID") == WinVersion.WIN10


@pytest.mark.parametrize(("windows", "present", "absent"), [
    ("vista", {"ALE_APP_ID", "IP_REMOTE_PORT"},
     {"ALE_PACKAGE_ID", "ALE_ORIGINAL_APP_ID", "CURRENT_PROFILE_ID", "REAUTHORIZE_REASON", "COMPARTMENT_ID"}),
    ("win7", {"CURRENT_PROFILE_ID", "REAUTHORIZE_REASON"}, {"ALE_PACKAGE_ID", "COMPARTMENT_ID"}),
    ("win8", {"ALE_PACKAGE_ID", "ALE_ORIGINAL_APP_ID"}, {"COMPARTMENT_ID"}),
    ("win10", {"COMPARTMENT_ID", "ALE_PACKAGE_ID"}, set()),
])
def test_older_hosts_do_not_carry_newer_fields(windows: str, present: set[str], absent: set[str]) -> None:
    res = run(two_hosts(CONNECT, windows=windows))
    rec = classify(res, host="client", layer="ALE_AUTH_CONNECT_V4")[0]
    assert present <= set(rec.fields)
    assert not absent & set(rec.fields)


def test_filter_on_newer_field_is_refused_with_file_line_field_version() -> None:
    pol = '''
[host.policy]
[[host.policy.filter]]
key = "pkg"
layer = "ALE_AUTH_CONNECT_V4"
action = "block"
condition = [ { field = "ALE_PACKAGE_ID", value = "S-1-0-0" } ]
'''
    text = two_hosts(CONNECT, windows="win7", client_policy=pol)
    with pytest.raises(InputError) as exc:
        scenario(text)
    [d] = exc.value.diagnostics
    assert d.file == "test.toml" and d.line == text.splitlines().index(
        'condition = [ { field = "ALE_PACKAGE_ID", value = "S-1-0-0" } ]') + 1
    assert d.message == ("filter 'pkg': field ALE_PACKAGE_ID does not exist on win7 (host 'client'); "
                         "it is available from win8 on")
    scenario(two_hosts(CONNECT, windows="win8", client_policy=pol))  # loads there


def test_filter_at_a_newer_layer_is_refused_for_that_host() -> None:
    """The redirect, resource-release and endpoint-closure layers are Windows 7+ (core.layers
    ``since``): a Vista host's policy cannot hold a filter there (FWP_E_LAYER_NOT_FOUND)."""
    pol = '''
[host.policy]
[[host.policy.filter]]
key = "redir"
layer = "ALE_CONNECT_REDIRECT_V4"
action = "permit"
'''
    text = two_hosts(CONNECT, windows="vista", client_policy=pol)
    with pytest.raises(InputError) as exc:
        scenario(text)
    [d] = exc.value.diagnostics
    assert d.file == "test.toml" and d.line == text.splitlines().index("[[host.policy.filter]]") + 1
    assert d.message == ("filter 'redir': layer ALE_CONNECT_REDIRECT_V4 does not exist on vista (host 'client'); "
                         "it is available from win7 on")
    scenario(two_hosts(CONNECT, windows="win7", client_policy=pol))  # loads there


def test_policy_step_on_newer_field_is_refused() -> None:
    step = '''
[[step]]
host = "client"
do = "policy"
add = [ { key = "c", layer = "ALE_AUTH_CONNECT_V4", action = "block", condition = [ { field = "COMPARTMENT_ID", value = 1 } ] } ]
'''
    with pytest.raises(InputError) as exc:
        scenario(two_hosts(CONNECT + step, windows="win8"))
    assert "field COMPARTMENT_ID does not exist on win8 (host 'client'); it is available from win10 on" in \
        str(exc.value)


# -- OR grouping by version (FWPM_FILTER0) ------------------------------------------------

TWO_PORTS = '''
[host.policy]
[[host.policy.filter]]
key = "web-ports"
layer = "ALE_AUTH_CONNECT_V4"
action = "block"
condition = [ { field = "IP_REMOTE_PORT", value = 80 }, { field = "IP_REMOTE_PORT", value = 443 } ]
'''


def test_same_field_rule() -> None:
    assert not same_field_ored(WinVersion.VISTA)
    assert all(same_field_ored(w) for w in WinVersion if w >= WinVersion.WIN7)


@pytest.mark.parametrize(("windows", "blocked"), [("vista", False), ("win7", True), ("win11", True)])
def test_same_field_conditions_or_from_win7_and_on_vista(windows: str, blocked: bool) -> None:
    res = run(two_hosts(CONNECT, windows=windows, client_policy=TWO_PORTS))
    client = seq(res, "client")
    if blocked:
        assert client[-2:] == ["ALE_AUTH_CONNECT_V4 connect", "ALE_AUTH_CONNECT_V4_DISCARD connect"]
        assert "connect-failed" in stack_events(res, "client")
    else:  # port 80 AND port 443 never holds
        assert "ALE_AUTH_CONNECT_V4_DISCARD connect" not in client
        assert "connected" in stack_events(res, "client")


@pytest.mark.parametrize("ored", [True, False])
def test_compiled_and_naive_agree_on_grouping(ored: bool) -> None:
    sc = scenario(two_hosts(CONNECT, client_policy=TWO_PORTS))
    policy = sc.hosts[0].policy
    for port in (80, 443, 8080):
        values = {"IP_REMOTE_PORT": port}
        a = compile_policy(policy, cache=False, ored=ored).classify("ALE_AUTH_CONNECT_V4", values).action
        b = classify_naive(policy, "ALE_AUTH_CONNECT_V4", values, ored=ored).action
        assert a == b == ("block" if ored and port != 8080 else "none")


# -- net event types by version (FWPM_NET_EVENT_TYPE) -------------------------------------

PERMIT_OUT = '''
[host.policy]
[[host.policy.filter]]
key = "ok"
layer = "ALE_AUTH_CONNECT_V4"
action = "permit"
[[host.policy.filter]]
key = "no-443"
layer = "ALE_AUTH_CONNECT_V4"
action = "block"
weight = 15
condition = [ { field = "IP_REMOTE_PORT", value = 443 } ]
'''
CONNECT_443 = '''
[[step]]
host = "client"
do = "connect"
to = "server:443"
socket = "c2"
'''


@pytest.mark.parametrize(("windows", "types"), [
    ("vista", ["CLASSIFY_DROP"]), ("win7", ["CLASSIFY_DROP"]),
    ("win8", ["CLASSIFY_ALLOW", "CLASSIFY_DROP"]), ("win11", ["CLASSIFY_ALLOW", "CLASSIFY_DROP"]),
])
def test_classify_allow_net_events_from_windows_8(windows: str, types: list[str]) -> None:
    res = run(two_hosts(CONNECT + CONNECT_443, windows=windows, client_policy=PERMIT_OUT))
    assert [r.type for r in res.records if isinstance(r, NetEventRecord) and r.host == "client"] == types
    # the audits (5156 permitted, 5157 blocked) exist on every version
    assert [r.event_id for r in res.records if isinstance(r, AuditRecord) and r.host == "client"] == [5156, 5157]


@given(windows=st.sampled_from(list(WinVersion)),
       field=st.sampled_from(["ALE_PACKAGE_ID", "CURRENT_PROFILE_ID", "REAUTHORIZE_REASON", "COMPARTMENT_ID",
                              "ALE_ORIGINAL_APP_ID", "IP_REMOTE_PORT", "ORIGINAL_PROFILE_ID"]))
@settings(max_examples=60, deadline=None)
def test_policy_loads_exactly_when_the_host_has_the_field(windows: WinVersion, field: str) -> None:
    layer = "ALE_AUTH_CONNECT_V4" if field != "REAUTHORIZE_REASON" else "ALE_AUTH_RECV_ACCEPT_V4"
    value = '"S-1-0-0"' if field == "ALE_PACKAGE_ID" else ("'C:\\x.exe'" if field == "ALE_ORIGINAL_APP_ID" else "1")
    pol = f'''
[host.policy]
[[host.policy.filter]]
key = "f"
layer = "{layer}"
action = "block"
condition = [ {{ field = "{field}", value = {value} }} ]
'''
    text = two_hosts("", windows=windows.label, client_policy=pol)
    if field_since(field) <= windows:
        scenario(text)
    else:
        with pytest.raises(InputError) as exc:
            scenario(text)
        assert f"field {field} does not exist on {windows.label}" in str(exc.value)
