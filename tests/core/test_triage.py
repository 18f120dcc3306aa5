"""core.triage: the simulated verdict of an observed event, the comparison, the cases (spec §9)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.core.observations import make_observation
from wfptui.core.arbitration import compile_policy
from wfptui.core.cases import change, triage
from wfptui.core.evidence import Observation
from wfptui.core.layers import get_layer
from wfptui.core.triage import (
    AGREE,
    DIFFER,
    NOT_SIMULATED,
    OTHER_FILTER,
    UNKNOWN,
    Simulator,
    UserEvidence,
    capture_sublayer,
    judge,
    packet_of,
    user_matches,
)
from wfptui.io.evidence import read_evidence
from wfptui.io.netsh_xml import import_netsh
from wfptui.io.policy_file import parse_policy

EVIDENCE = Path(__file__).resolve().parents[1] / "data" / "evidence"
CONNECT_V4 = get_layer("ALE_AUTH_CONNECT_V4")
RECV_V4 = get_layer("ALE_AUTH_RECV_ACCEPT_V4")


def obs(**kw: object) -> Observation:
    return make_observation(**kw)


def policy(text: str) -> Simulator:
    return Simulator(parse_policy(text, "p.toml"))


BLOCK_443 = """
[[filter]]
key = "block-443"
layer = "ALE_AUTH_CONNECT_V4"
action = "block"
filter_id = 71204
condition = [ { field = "IP_REMOTE_PORT", match = "equal", value = 443 } ]
"""


# -- the packet ---------------------------------------------------------------------------


def test_packet_values_come_from_the_event_by_the_table() -> None:
    values, unknown = packet_of(obs(), CONNECT_V4)
    assert values["IP_PROTOCOL"] == 6
    assert values["IP_LOCAL_ADDRESS"] == 0x0A000005
    assert values["IP_REMOTE_ADDRESS"] == 0x0A07011E
    assert values["IP_LOCAL_PORT"] == 50000 and values["IP_REMOTE_PORT"] == 443
    assert values["ALE_APP_ID"] == "\\device\\harddiskvolume3\\app.exe"
    assert values["ALE_PACKAGE_ID"] == "S-1-0-0"
    assert values["CURRENT_PROFILE_ID"] == 1 and values["ORIGINAL_PROFILE_ID"] == 1
    assert values["FLAGS"] == 0
    # Not in the evidence: unknown, not FWP_EMPTY.
    assert {"IP_LOCAL_INTERFACE", "INTERFACE_TYPE", "COMPARTMENT_ID"} <= unknown
    assert "IP_LOCAL_INTERFACE" not in values
    assert "ALE_USER_ID" not in unknown and "ALE_USER_ID" not in values  # a token: see user_matches


def test_missing_header_values_are_unknown_and_the_kernel_is_system() -> None:
    values, unknown = packet_of(obs(app_id="system", local_port=None, is_loopback=None), CONNECT_V4)
    assert values["ALE_APP_ID"] == "System"
    assert "IP_LOCAL_PORT" in unknown
    assert values["FLAGS"] == 0  # not said, but derived: 10.7.1.30 is neither loopback nor the host itself
    _, unknown = packet_of(obs(remote_addr=None, is_loopback=None), CONNECT_V4)
    assert "FLAGS" in unknown and "IP_REMOTE_ADDRESS" in unknown
    values, _ = packet_of(obs(remote_addr=0x7F000001, is_loopback=None), CONNECT_V4)
    assert values["FLAGS"] == 0x1 | 0x800000


def test_loopback_sets_the_flags_windows_sets() -> None:
    values, _ = packet_of(obs(is_loopback=True, reauth_reason=1), CONNECT_V4)
    assert values["FLAGS"] == 0x1 | 0x4 | 0x800000  # IS_LOOPBACK, IS_REAUTHORIZE, non-AppContainer loopback


# -- two worlds ---------------------------------------------------------------------------


UNKNOWN_DECIDES = """
[[filter]]
key = "permit-ethernet"
layer = "ALE_AUTH_CONNECT_V4"
action = "permit"
weight = 12
condition = [ { field = "INTERFACE_TYPE", match = "equal", value = 6 } ]
""" + BLOCK_443


def test_an_unknown_field_that_decides_makes_the_verdict_unknown() -> None:
    sim = policy(UNKNOWN_DECIDES)
    s = sim.simulate(obs(remote_port=443))
    assert s is not None
    assert s.action is None
    assert s.unknown_fields == ("INTERFACE_TYPE",)
    assert s.result.action == "block" and s.result_t.action == "permit"
    assert judge(obs(remote_port=443), sim).verdict == UNKNOWN


def test_an_unknown_field_that_does_not_decide_changes_nothing() -> None:
    sim = policy(UNKNOWN_DECIDES.replace('action = "permit"', 'action = "block"', 1))
    s = sim.simulate(obs(remote_port=443))
    assert s is not None and s.action == "block"
    # both worlds block, but by different filters: the filter is unknown
    assert s.filter is None and s.unknown_fields == ("INTERFACE_TYPE",)
    s2 = sim.simulate(obs(remote_port=80))
    assert s2 is not None and s2.action is None  # block (T) vs nothing decided (F)


def test_known_fields_only_equals_the_classifier() -> None:
    sim = policy(BLOCK_443)
    s = sim.simulate(obs(filter_id=71204))
    assert s is not None and s.action == "block" and s.filter is not None and s.filter.key == "block-443"
    assert s.unknown_fields == ()


# -- AppContainer tokens (dual access check) ----------------------------------------------

SD_INTERNET = "O:LSD:(A;;CC;;;S-1-15-3-1)(A;;CC;;;WD)(A;;CC;;;AN)"
APP_PKG = "S-1-15-2-1-2-3-4-5-6-7"


def _user_cond(sddl: str) -> object:
    p = parse_policy(f"""
[[filter]]
key = "f"
layer = "ALE_AUTH_CONNECT_V4"
action = "permit"
condition = [ {{ field = "ALE_USER_ID", match = "equal", value = "{sddl}" }} ]
""", "p.toml")
    return p.filters[0].conditions[0]


@pytest.mark.parametrize(("package", "caps", "want"), [
    ("S-1-0-0", (), True),  # not an AppContainer: Everyone grants
    (APP_PKG, ("S-1-15-3-1",), True),  # both passes grant
    (APP_PKG, (), False),  # the AppContainer pass needs internetClient: Everyone does not count there
    (APP_PKG, ("S-1-15-3-3",), False),
    (APP_PKG, None, None),  # capabilities not in the evidence
    (None, (), None),  # not known whether it is an AppContainer
])
def test_appcontainer_tokens_are_checked_twice(package: str | None, caps: tuple[str, ...] | None,
                                               want: bool | None) -> None:
    cond = _user_cond(SD_INTERNET)
    assert user_matches(cond, UserEvidence("S-1-5-21-1-2-3-1001", package, caps)) is want  # type: ignore[arg-type]


def test_groups_the_evidence_cannot_show_are_assumed_not_held_and_said_so() -> None:
    service = "S-1-5-80-1-2-3-4-5"  # a service SID: held only by that service's process
    cond = _user_cond(f"D:(A;;CC;;;{service})")
    assumed: set[str] = set()
    assert user_matches(cond, UserEvidence("S-1-5-18", "S-1-0-0", ()), assumed) is False  # type: ignore[arg-type]
    assert assumed == {"ALE_USER_ID"}
    # LocalSystem's token holds Administrators, as the engine's own apps do (core.stack.user_token).
    admins = _user_cond("O:SYD:(A;;CC;;;BA)")
    assert user_matches(admins, UserEvidence("S-1-5-18", "S-1-0-0", ())) is True  # type: ignore[arg-type]
    assert user_matches(cond, UserEvidence(None, "S-1-0-0", ())) is None  # type: ignore[arg-type]


def test_uwp_doc_cases_agree_with_the_capture_filters() -> None:
    """Microsoft's "Troubleshooting UWP App Connectivity Issues" cases: every observed verdict
    and filter is what the simulation gives from the capture's own filters."""
    want = {
        "wfpdiag-case-1.xml": [("permit", 125918)],
        "wfpdiag-case-2.xml": [("block", 68893)],
        "wfpdiag-case-3.xml": [("block", 68893)],
        "wfpdiag-case-4.xml": [("block", 121180)],
        "wfpdiag-case-5.xml": [("block", 121180)],
    }
    for name, expected in want.items():
        ev = read_evidence(EVIDENCE / name)
        assert ev.policy is not None
        result = triage(ev.observations, Simulator(ev.policy.policy))
        got = [(e.sim.action, e.sim.filter.filter_id) for e in result.events if e.sim and e.sim.filter]
        assert got == expected, name
        assert [e.verdict for e in result.events] == [AGREE], name
        assert [e.matched_by for e in result.events] == ["id"], name


def test_uwp_case_7_drop_is_the_missing_internet_client_capability() -> None:
    ev = read_evidence(EVIDENCE / "netevents-case-7-8.xml")
    sim = Simulator(import_netsh(EVIDENCE / "filters-case-7-8.xml", progress=False).policy)
    drop, allow = ev.observations
    assert drop.capabilities == () and allow.capabilities is not None and "S-1-15-3-1" in allow.capabilities
    s_drop, s_allow = sim.simulate(drop), sim.simulate(allow)
    assert s_drop is not None and s_allow is not None
    assert (s_drop.action, s_drop.filter and s_drop.filter.filter_id) == ("block", 206064)
    assert (s_allow.action, s_allow.filter and s_allow.filter.filter_id) == ("permit", 208757)
    # The same event with the capability would have been permitted.
    fixed = sim.simulate(dataclasses.replace(drop, capabilities=("S-1-15-3-1",)))
    assert fixed is not None and fixed.action == "permit"


# -- compare -------------------------------------------------------------------------------


def test_verdicts() -> None:
    sim = policy(BLOCK_443)
    assert judge(obs(filter_id=71204), sim).verdict == AGREE
    assert judge(obs(action="permit", filter_id=None), sim).verdict == DIFFER
    assert judge(obs(filter_id=99999), sim).verdict == UNKNOWN  # observed filter not in the policy
    assert judge(obs(action=None, type="CAPABILITY_DROP"), sim).verdict == NOT_SIMULATED
    assert judge(obs(layer_id=None), sim).verdict == NOT_SIMULATED
    assert judge(obs(remote_port=80, action="permit"), sim).verdict == AGREE  # none counts as permit
    heavier = BLOCK_443.replace('"block-443"', '"block-443-b"').replace("71204", "71205")
    two = policy(BLOCK_443 + heavier.replace('action = "block"', 'action = "block"\nweight = 15'))
    assert judge(obs(filter_id=71204), two).verdict == OTHER_FILTER


def test_run_time_ids_resolve_only_at_the_events_layer() -> None:
    sim = policy(BLOCK_443.replace("ALE_AUTH_CONNECT_V4", "ALE_AUTH_RECV_ACCEPT_V4"))
    ev = judge(obs(filter_id=71204), sim)  # same id, another layer: ids are recycled across boots
    assert ev.observed_filter is None and ev.matched_by is None and ev.verdict == UNKNOWN
    named = judge(obs(filter_id=5, effective_name="Block 443", layer_id=RECV_V4.layer_id),
                  policy(BLOCK_443.replace("ALE_AUTH_CONNECT_V4", "ALE_AUTH_RECV_ACCEPT_V4")
                         .replace('key = "block-443"', 'key = "block-443"\nname = "Block 443"')))
    assert named.matched_by == "name"


def test_capture_sublayer_names_map_to_mpssvc() -> None:
    assert capture_sublayer("FWPP_SUBLAYER_INTERNAL_FIREWALL_WSH") == "FWPM_SUBLAYER_MPSSVC_WSH"
    assert capture_sublayer("FWPP_SUBLAYER_INTERNAL_FIREWALL_WF") == "FWPM_SUBLAYER_MPSSVC_WF"
    assert capture_sublayer("FWPP_SUBLAYER_INTERNAL_FIREWALL_QUARANTINE") == "FWPM_SUBLAYER_MPSSVC_QUARANTINE"
    assert capture_sublayer("{b3cdd441-af90-41ba-a745-7c6008ff2300}") == "{b3cdd441-af90-41ba-a745-7c6008ff2300}"


# -- cases ---------------------------------------------------------------------------------


def test_ephemeral_ports_are_not_part_of_the_case() -> None:
    sim = policy(BLOCK_443)
    events = [obs(index=1, local_port=50000, filter_id=71204, time_ns=3),
              obs(index=2, local_port=50001, filter_id=71204, time_ns=4),
              obs(index=3, remote_port=8443, action="block", time_ns=1),  # differs: nothing blocks 8443
              obs(index=4, remote_port=443, type="CAPABILITY_DROP", action=None, time_ns=0)]
    r = triage(events, sim)
    assert [c.verdict for c in r.cases] == [DIFFER, AGREE, NOT_SIMULATED]
    assert [len(c.events) for c in r.cases] == [1, 2, 1]
    assert r.case_of == [1, 1, 0, 2]
    assert r.summary() == {"events": 4, "cases": 3, "checked": 2, "differ": 1, "unknown": 0,
                           "other_filter": 0, "agree": 1, "not_simulated": 1}


def test_inbound_cases_key_on_the_local_port() -> None:
    sim = policy(BLOCK_443.replace("ALE_AUTH_CONNECT_V4", "ALE_AUTH_RECV_ACCEPT_V4")
                 .replace("IP_REMOTE_PORT", "IP_LOCAL_PORT"))
    a = obs(index=1, layer_id=RECV_V4.layer_id, local_port=443, remote_port=50000, direction="inbound", filter_id=71204)
    b = dataclasses.replace(a, index=2, remote_port=50001)
    r = triage([a, b], sim)
    assert len(r.cases) == 1 and r.cases[0].verdict == AGREE


def test_what_if_fixed_and_regressed() -> None:
    today = policy(BLOCK_443)
    after = policy(BLOCK_443.replace("443", "80"))
    r = triage([obs(index=1, filter_id=71204), obs(index=2, remote_port=80, action="permit")], today, after)
    changes = [change(c.representative) for c in r.cases]
    assert sorted(map(str, changes)) == ["fixed", "regressed"]
    s = r.summary()
    assert s["fixed"] == 1 and s["regressed"] == 1


# -- properties ----------------------------------------------------------------------------


PORTS = st.one_of(st.none(), st.integers(0, 65535))


@settings(max_examples=80)
@given(port=PORTS, lport=PORTS, proto=st.sampled_from([None, 6, 17, 1]), loop=st.sampled_from([None, False, True]),
       layer=st.sampled_from(["ALE_AUTH_CONNECT_V4", "ALE_AUTH_RECV_ACCEPT_V4", "ALE_RESOURCE_ASSIGNMENT_V4",
                              "INBOUND_TRANSPORT_V4"]),
       action=st.sampled_from([None, "permit", "block"]), fid=st.one_of(st.none(), st.integers(0, 2**64 - 1)),
       pkg=st.sampled_from([None, "S-1-0-0", APP_PKG]))
def test_random_events_never_crash_and_known_packets_equal_the_classifier(
        port: int | None, lport: int | None, proto: int | None, loop: bool | None, layer: str,
        action: str | None, fid: int | None, pkg: str | None) -> None:
    sim = policy(UNKNOWN_DECIDES)
    o = obs(remote_port=port, local_port=lport, protocol=proto, is_loopback=loop, layer_id=get_layer(layer).layer_id,
            action=action, filter_id=fid, package_sid=pkg)
    ev = judge(o, sim)
    assert ev.verdict in (AGREE, OTHER_FILTER, DIFFER, UNKNOWN, NOT_SIMULATED)
    s = ev.sim
    if s is None:
        return
    lay = get_layer(layer)
    values, unknown = packet_of(o, lay)
    touched = {c.field for f in sim.policy.filters if f.layer == lay.name for c in f.conditions}
    if not (touched & (unknown | {"ALE_USER_ID"})):
        plain = compile_policy(sim.policy).classify(lay, values)
        assert (s.action, s.filter) == (plain.action, plain.filter)


_ends = st.tuples(st.one_of(st.none(), st.integers(0, 2**128 - 1), st.sampled_from([0, 1, 2**32 + 1, 0x7F000001])),
                  st.sampled_from([None, 4, 6]), st.one_of(st.none(), st.sampled_from([0, 80, 443])),
                  st.sampled_from([None, 0, 3]))


@given(_ends, _ends)
def test_case_ends_group_exactly_as_their_text(a: tuple, b: tuple) -> None:  # type: ignore[type-arg]
    """Cases group on the unformatted ends (core.cases._end): equal exactly when the printed
    ends (core.cases._addr_text) are."""
    from wfptui.core.cases import _addr_text, _end

    assert (_end(*a) == _end(*b)) == (_addr_text(*a) == _addr_text(*b))
