"""Redaction: consistent stand-ins that keep what filters can test."""

from __future__ import annotations

import ipaddress

import pytest

from wfptui.core.datatypes import DataType
from wfptui.core.model import (
    ActionType,
    AddrMask,
    Callout,
    CalloutRule,
    Condition,
    Filter,
    MatchType,
    Policy,
    Range,
)
from wfptui.core.redact import RedactError, Redactor


def _built(*texts: str, hosts: tuple[str, ...] = ("client", "server"), policy: Policy | None = None) -> Redactor:
    r = Redactor(hosts=hosts)
    for t in texts:
        r.collect_json(t)
    if policy is not None:
        r.collect_policy(policy)
    r.build()
    return r


def _v4(s: str) -> int:
    return int(ipaddress.IPv4Address(s))


def test_ipv4_consistent_documentation_range_and_special_addresses_kept() -> None:
    r = _built("10.0.0.1", "10.0.0.2", "8.8.8.8", "127.0.0.1", "0.0.0.0", "255.255.255.255", "224.0.0.1")
    a = r.text("10.0.0.1")
    assert a == r.text("10.0.0.1") and a != r.text("10.0.0.2")
    for s in ("10.0.0.1", "10.0.0.2", "8.8.8.8"):
        assert ipaddress.IPv4Address(r.text(s)) in ipaddress.IPv4Network("192.0.2.0/24")
    for s in ("127.0.0.1", "0.0.0.0", "255.255.255.255", "224.0.0.1"):
        assert r.text(s) == s
    assert r.text("to 10.0.0.1:49153") == f"to {a}:49153"


def test_masks_ranges_and_order_are_preserved() -> None:
    points = ["10.0.0.1", "10.0.0.2", "10.1.0.9", "172.16.5.5", "8.8.8.8", "10.0.0.200"]
    masks = ["10.0.0.0/8", "10.0.0.0/24", "172.16.0.0/12", "10.0.0.128/25"]
    r = _built(*points, *masks)
    images = {p: _v4(r.text(p)) for p in points}
    assert sorted(points, key=_v4) == sorted(points, key=lambda p: images[p])  # order kept
    for m in masks:
        net = ipaddress.IPv4Network(m)
        new = ipaddress.IPv4Network(r.text(m))
        for p in points:
            assert (ipaddress.IPv4Address(p) in net) == (ipaddress.IPv4Address(images[p]) in new), (m, p)


def test_policy_conditions_are_rewritten_consistently() -> None:
    cond = (
        Condition("IP_REMOTE_ADDRESS", MatchType.FWP_MATCH_EQUAL, AddrMask(_v4("10.0.0.0"), 8, 32),
                  DataType.FWP_V4_ADDR_MASK),
        Condition("IP_LOCAL_ADDRESS", MatchType.FWP_MATCH_RANGE, Range(_v4("10.0.0.1"), _v4("10.0.0.9")),
                  DataType.FWP_RANGE_TYPE),
        Condition("ALE_APP_ID", MatchType.FWP_MATCH_EQUAL, "\\device\\harddiskvolume3\\srv\\web.exe",
                  DataType.FWP_BYTE_BLOB_TYPE),
    )
    pol = Policy(sublayers={}, callouts={}, filters=(Filter("f", "ALE_AUTH_RECV_ACCEPT_V4",
                                                            ActionType.FWP_ACTION_BLOCK, conditions=cond,
                                                            name="block 10.0.0.5 for server"),))
    r = _built("10.0.0.5", "C:\\srv\\web.exe", policy=pol)
    new = r.policy(pol).filters[0]
    mask, rng, app = (c.value for c in new.conditions)
    assert isinstance(mask, AddrMask) and isinstance(rng, Range)
    five = _v4(r.text("10.0.0.5"))
    assert mask.contains(five)
    assert isinstance(rng.low, int) and isinstance(rng.high, int) and rng.low <= five <= rng.high
    assert app == r.text("\\device\\harddiskvolume3\\srv\\web.exe")
    assert r.text("C:\\srv\\web.exe") == "C:\\dir1\\app1.exe"
    assert app == "\\device\\harddiskvolume3\\dir1\\app1.exe"
    assert new.name == f"block {r.text('10.0.0.5')} for host2"


def test_callout_rules_are_redacted_with_the_same_maps() -> None:
    """A declared callout's rules (issue 15) test addresses too: they move with the filters'."""
    rule = CalloutRule((Condition("IP_REMOTE_ADDRESS", MatchType.FWP_MATCH_EQUAL, AddrMask(_v4("10.1.0.0"), 16, 32),
                                  DataType.FWP_V4_ADDR_MASK),), "block", hard=True)
    pol = Policy(sublayers={}, callouts={"guard-10-1-0-9": Callout("guard-10-1-0-9", "permit", rules=(rule,))},
                 filters=())
    r = _built("10.1.0.9", policy=pol)
    (key, co), = r.policy(pol).callouts.items()
    assert key == co.key == f"guard-{r.text('10-1-0-9')}"
    (cond,) = co.rules[0].conditions
    assert isinstance(cond.value, AddrMask) and cond.value.contains(_v4(r.text("10.1.0.9")))
    assert not cond.value.contains(_v4("10.1.0.9")) and (co.rules[0].action, co.rules[0].hard) == ("block", True)


def test_paths_keep_prefix_relations_and_case_insensitivity() -> None:
    r = _built()
    a = r.path("C:\\Program Files\\Browser\\browser.exe")
    b = r.path("\\device\\harddiskvolume3\\program files\\browser\\browser.exe")
    c = r.path("C:\\Program Files\\Other\\x.dll")
    assert a == "C:\\dir1\\dir2\\app1.exe"
    assert b == "\\device\\harddiskvolume3\\dir1\\dir2\\app1.exe"
    assert c.startswith("C:\\dir1\\") and c.endswith(".dll")
    assert r.path("C:\\Windows\\System32\\PING.EXE") == "C:\\Windows\\System32\\PING.EXE"  # engine default
    assert r.path("System") == "System"


def test_sids() -> None:
    r = _built()
    assert r.sid("S-1-5-18") == "S-1-5-18"
    assert r.sid("S-1-5-32-544") == "S-1-5-32-544"
    u1 = r.sid("S-1-5-21-111-222-333-1105")
    assert u1 == "S-1-5-21-1-2-3-1001"
    assert r.sid("S-1-5-21-111-222-333-500") == "S-1-5-21-1-2-3-500"
    assert r.sid("S-1-5-21-111-222-333-1105") == u1
    assert r.sid("S-1-5-21-9-9-9-1105") == "S-1-5-21-1-2-4-1001"
    assert r.sid("S-1-5-21-1000-1000-1000-1001") == "S-1-5-21-1000-1000-1000-1001"  # engine default
    assert r.text("O:SYD:(A;;CC;;;S-1-5-21-111-222-333-1105)") == f"O:SYD:(A;;CC;;;{u1})"


def test_ipv6() -> None:
    r = _built("fd00::1", "fd00::2", "fd00::/64", "::1", "fe80::1")
    a = r.text("fd00::1")
    assert ipaddress.IPv6Address(a) in ipaddress.IPv6Network("2001:db8::/32")
    assert r.text("::1") == "::1" and r.text("fe80::1") == "fe80::1"
    assert ipaddress.IPv6Address(a) in ipaddress.IPv6Network(r.text("fd00::/64"))
    assert r.text("to fd00::1:49153") == f"to {a}:49153"
    assert r.text("[fd00::2]:80") == f"[{r.text('fd00::2')}]:80"
    assert r.text("13:48:10") == "13:48:10"


def test_hosts_in_json() -> None:
    r = _built(hosts=("client", "server"))
    d = {"host": "server", "to": "server:80", "detail": "client talks to server", "layer": "serverless",
         "steps": [{"to": "client"}]}
    assert r.json(d) == {"host": "host2", "to": "host2:80", "detail": "host1 talks to host2",
                         "layer": "serverless", "steps": [{"to": "host1"}]}


def test_unpreservable_mask_is_refused() -> None:
    with pytest.raises(RedactError, match="mask"):
        _built("10.0.0.1", "127.0.0.1", "0.0.0.0/1")


def test_text_before_build_is_an_error() -> None:
    with pytest.raises(RuntimeError):
        Redactor().text("10.0.0.1")
