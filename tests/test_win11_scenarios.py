"""Scenarios against the real Windows 11 policy (scenarios/win11/, imported from
filters-win11.xml; wfp-model.md §2.4, §3.4, §4.5, §5.5), plus direct classifications of the
same cases (an un-quarantined interface, non-AppContainer loopback), so the expectations are
what Windows does both through the engine and at the classifier."""

from __future__ import annotations

from pathlib import Path

import pytest

from wfptui.core.arbitration import CompiledPolicy, compile_policy
from wfptui.core.engine import run_scenario
from wfptui.core.model import ClassifyResult, Token, Value
from wfptui.io.policy_file import load_policy
from wfptui.io.scenario_file import load_scenario, parse_scenario

WIN11 = Path(__file__).resolve().parents[1] / "scenarios" / "win11"
SCENARIOS = sorted(p for p in WIN11.glob("*.toml") if not p.name.endswith("-policy.toml"))

USER = Token("S-1-5-21-1000-1000-1000-1001", frozenset({"S-1-1-0", "S-1-5-11", "S-1-5-32-545"}))
APP = "\\device\\harddiskvolume3\\srv\\web.exe"
ETHERNET_LUID = 0x0006008007000000  # the dump's Ethernet (IF_TYPE 6, NetLuidIndex 0x8007): un-quarantine filter 98450
ETHERNET_EPOCH = 10000034
F_LOOPBACK = 0x1
F_NON_APPCONTAINER_LOOPBACK = 0x800000


@pytest.fixture(scope="module")
def policy() -> CompiledPolicy:
    return compile_policy(load_policy(WIN11 / "win11-policy.toml"))


def _inbound(profile: int = 1, **extra: Value) -> dict[str, Value]:
    v: dict[str, Value] = {
        "ALE_APP_ID": APP, "ALE_USER_ID": USER, "ALE_PACKAGE_ID": "S-1-0-0", "IP_PROTOCOL": 6,
        "IP_LOCAL_ADDRESS": 0x0A000002, "IP_REMOTE_ADDRESS": 0x0A000001, "IP_LOCAL_PORT": 8080,
        "IP_REMOTE_PORT": 50000, "FLAGS": 0, "ORIGINAL_PROFILE_ID": profile, "CURRENT_PROFILE_ID": profile,
        "IP_ARRIVAL_INTERFACE": ETHERNET_LUID, "ARRIVAL_INTERFACE_TYPE": 6, "ARRIVAL_TUNNEL_TYPE": 0,
        "INTERFACE_TYPE": 6, "TUNNEL_TYPE": 0, "IP_LOCAL_ADDRESS_TYPE": 1, "ALE_SIO_FIREWALL_SYSTEM_PORT": 0,
    }
    v.update(extra)
    return v


def _terminating(r: ClassifyResult) -> list[tuple[str, str]]:
    return [(t.filter, t.action) for t in r.terminating]


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario_expectations_hold(path: Path) -> None:
    result = run_scenario(load_scenario(path))
    failed = [e.message for e in result.expects if not e.ok]
    assert result.expects and not failed, failed


def test_there_are_scenarios() -> None:
    assert {p.stem for p in SCENARIOS} >= {
        "udp-probe-stealth", "tcp-inbound-default-block", "tcp-outbound-default-permit", "loopback",
    }


# ----------------------------------------------------------------------------- inbound default block


@pytest.mark.parametrize(("profile", "query_user"), [(1, "query-user-130197"), (2, "query-user-130185"),
                                                      (3, "query-user-130205")])
def test_unquarantined_interface_query_user_decides(policy: CompiledPolicy, profile: int, query_user: str) -> None:
    """On the dump's own Ethernet at its current quarantine epoch, the Interface Un-Quarantine
    filter soft-permits in MPSSVC_QUARANTINE and Windows Firewall's Query User block (hard) in
    MPSSVC_WF decides: per profile at weight 8 (public 1, private 2), the catch-all at weight 3
    otherwise (the domain profile has no per-profile copy)."""
    r = policy.classify("ALE_AUTH_RECV_ACCEPT_V4", _inbound(profile, INTERFACE_QUARANTINE_EPOCH=ETHERNET_EPOCH))
    assert r.action == "block" and r.filter is not None and r.filter.key == query_user
    assert _terminating(r) == [("interface-un-quarantine-filter-98450", "permit"), (query_user, "block")]


def test_quarantined_interface_quarantine_block_decides(policy: CompiledPolicy) -> None:
    """Without a matching un-quarantine filter (new NIC, or an epoch the policy has not
    un-quarantined), the Quarantine Default Inbound Block in the higher sublayer decides (D-QUAR)."""
    for extra in ({}, {"INTERFACE_QUARANTINE_EPOCH": ETHERNET_EPOCH + 1}):
        r = policy.classify("ALE_AUTH_RECV_ACCEPT_V4", _inbound(1, **extra))
        assert r.filter is not None and r.filter.key == "quarantine-default-inbound-block-66241"
        assert _terminating(r) == [("quarantine-default-inbound-block-66241", "block"), ("query-user-130197", "block")]


def test_allow_rule_needs_unquarantined_interface(policy: CompiledPolicy) -> None:
    """A WF allow rule (weight 9 > Query User 8) admits traffic only once the interface is out
    of quarantine: the quarantine sublayer's hard block would otherwise stand."""
    allowed = next(
        f for f in load_policy(WIN11 / "win11-policy.toml").filters
        if f.layer == "ALE_AUTH_RECV_ACCEPT_V4" and f.sublayer == "MPSSVC_WF" and f.action.short == "permit"
        and f.weight.value == 9 and {c.field for c in f.conditions} == {"ALE_APP_ID", "IP_PROTOCOL", "IP_LOCAL_PORT",
                                                                         "ORIGINAL_PROFILE_ID", "CURRENT_PROFILE_ID"}
    )
    values = {c.field: c.value for c in allowed.conditions}
    pkt = _inbound(int(values["ORIGINAL_PROFILE_ID"]), **values)  # type: ignore[arg-type]
    open_ = policy.classify("ALE_AUTH_RECV_ACCEPT_V4", dict(pkt, INTERFACE_QUARANTINE_EPOCH=ETHERNET_EPOCH))
    assert open_.action == "permit"
    quarantined = policy.classify("ALE_AUTH_RECV_ACCEPT_V4", pkt)
    assert quarantined.action == "block" and quarantined.filter is not None
    assert quarantined.filter.key == "quarantine-default-inbound-block-66241"


# ----------------------------------------------------------------------------- loopback


def test_non_appcontainer_loopback_accept_permitted(policy: CompiledPolicy) -> None:
    r = policy.classify("ALE_AUTH_RECV_ACCEPT_V4", _inbound(1, FLAGS=F_LOOPBACK | F_NON_APPCONTAINER_LOOPBACK,
                                                           IP_REMOTE_ADDRESS=0x7F000001, IP_LOCAL_ADDRESS=0x7F000001))
    assert r.action == "permit" and r.filter is not None and r.filter.key == "appcontainerloopback-67101"
    # ... and without the flag, AppContainerLoopback 67113 (loopback + "Everyone") blocks.
    r = policy.classify("ALE_AUTH_RECV_ACCEPT_V4", _inbound(1, FLAGS=F_LOOPBACK))
    assert r.action == "block" and r.filter is not None and r.filter.key == "appcontainerloopback-67113"


def test_loopback_accept_in_a_scenario() -> None:
    # The engine sets IS_NON_APPCONTAINER_LOOPBACK on Win8+ loopback: 67101 permits the accept.
    result = run_scenario(parse_scenario((WIN11 / "loopback.toml").read_text(encoding="utf-8"),
                                         str(WIN11 / "loopback.toml"), base_dir=WIN11))
    accept = [r for r in result.records if getattr(r, "layer", "") == "ALE_AUTH_RECV_ACCEPT_V4"]
    assert [(r.action, r.filter) for r in accept] == [("permit", "appcontainerloopback-67101")]
    assert accept[0].fields["FLAGS"] == 0x800001
    assert all(e.ok for e in result.expects), [e.message for e in result.expects if not e.ok]


# ----------------------------------------------------------------------------- ICMP errors


@pytest.mark.parametrize(("code", "profile", "key", "action"), [
    (3, 1, "port-scanning-prevention-filter-131063", "block"),   # port unreachable, public
    (1, 2, "port-scanning-prevention-filter-131058", "block"),   # host unreachable, private
    (13, 0, "port-scanning-prevention-filter-131070", "block"),  # unknown profile: ranges 5..12, 14..255 + 0..3
    (4, 1, "default-outbound-130210", "permit"),                 # fragmentation needed: PMTU discovery works
    (3, 3, "port-scanning-prevention-filter-131053", "permit"),  # domain: weight-8 permit twin
])
def test_outbound_icmp_error(policy: CompiledPolicy, code: int, profile: int, key: str, action: str) -> None:
    values: dict[str, Value] = {"IP_LOCAL_PORT": 3, "IP_REMOTE_PORT": code, "FLAGS": 0,
                                "NEXTHOP_INTERFACE_PROFILE_ID": profile}
    r = policy.classify("OUTBOUND_ICMP_ERROR_V4", values)
    if code == 13 and profile == 0:
        # Code 13 ("communication administratively prohibited") is in none of the block ranges.
        assert r.filter is not None and r.filter.key != key and r.action == "permit"
        return
    assert r.action == action and r.filter is not None and r.filter.key == key


def test_interface_quarantine_epoch_reaches_the_classifier() -> None:
    """`interface = { luid, quarantine_epoch }` in a scenario fills INTERFACE_QUARANTINE_EPOCH
    and the LUID fields, so the dump's un-quarantine filter permits and Query User decides."""
    for name, deciding in (("tcp-inbound-default-block.toml", "query-user-130197"),
                           ("tcp-inbound-quarantined.toml", "quarantine-default-inbound-block-66241")):
        result = run_scenario(parse_scenario((WIN11 / name).read_text(encoding="utf-8"), str(WIN11 / name),
                                             base_dir=WIN11))
        accept = [r for r in result.records if getattr(r, "layer", "") == "ALE_AUTH_RECV_ACCEPT_V4"]
        assert [r.filter for r in accept] == [deciding] * 3
        assert all(e.ok for e in result.expects), [e.message for e in result.expects if not e.ok]
    first = accept[0]
    assert "INTERFACE_QUARANTINE_EPOCH" not in first.fields or first.fields["INTERFACE_QUARANTINE_EPOCH"] is None
