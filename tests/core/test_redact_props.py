"""Redaction properties (issue 12 item 6): prefix- and order-preserving address maps, and
every spelling of the secrets the CLI test (tests/test_cli_redact_all.py) cannot enumerate."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from wfptui.core.redact import Redactor

# Addresses redaction moves (not loopback, multicast, link-local, reserved, 0/8).
V4 = st.integers(0x01000000, 0xDFFFFFFF).filter(
    lambda a: a >> 24 != 127 and a >> 16 != 0xA9FE)
V6 = st.integers(0x2000 << 112, (0x4000 << 112) - 1)
# Clustered addresses too, so that masks hold several of them.
V4 = st.one_of(V4, st.builds(int.__add__, st.sampled_from([0x0A000000, 0x0A000100, 0xAC100000]), st.integers(0, 600)))
V6 = st.one_of(V6, st.builds(int.__add__, st.sampled_from([0x2001 << 112, 0xFD00 << 112]), st.integers(0, 1 << 20)))


def _check(bits: int, points: list[int], masks: list[tuple[int, int]]) -> None:
    fmt = ipaddress.IPv4Address if bits == 32 else ipaddress.IPv6Address
    r = Redactor()
    r.collect_json([str(fmt(p)) for p in points] + [f"{fmt(a)}/{n}" for a, n in masks])
    r.build()
    image = {p: int(fmt(r.text(str(fmt(p))))) for p in points}
    # Order is kept.
    assert sorted(points) == sorted(points, key=lambda p: image[p])
    assert len(set(image.values())) == len(set(points))
    for a, n in masks:
        new = ipaddress.ip_network(r.text(f"{fmt(a)}/{n}"))
        for p in points:
            for q in points:  # a and b share the prefix of length n before ⇔ after
                before = (p ^ a) >> (bits - n) == 0 and (q ^ a) >> (bits - n) == 0
                after = fmt(image[p]) in new and fmt(image[q]) in new
                assert before == after, (fmt(p), fmt(q), f"{fmt(a)}/{n}", new)


def _masks(points: list[int], addrs: st.SearchStrategy[int], low: int, bits: int) -> st.SearchStrategy[
        list[tuple[int, int]]]:
    """Masks around the points (so they contain some) or anywhere."""
    return st.lists(st.tuples(st.one_of(st.sampled_from(points), addrs), st.integers(low, bits)), max_size=5)


@settings(max_examples=150, deadline=None)
@given(st.data(), st.lists(V4, min_size=1, max_size=12))
def test_ipv4_map_keeps_prefixes_and_order(data: st.DataObject, points: list[int]) -> None:
    _check(32, points, data.draw(_masks(points, V4, 8, 32)))


@settings(max_examples=80, deadline=None)
@given(st.data(), st.lists(V6, min_size=1, max_size=10))
def test_ipv6_map_keeps_prefixes_and_order(data: st.DataObject, points: list[int]) -> None:
    _check(128, points, data.draw(_masks(points, V6, 16, 128)))


def _built(*texts: str, hosts: tuple[str, ...] = ()) -> Redactor:
    r = Redactor(hosts=hosts)
    r.collect_json(list(texts))
    r.build()
    return r


def test_ipv4_and_ipv6_in_any_spelling() -> None:
    r = _built("10.0.0.5", "allow-10-0-0-5", "allow_10_0_0_5", "010.000.000.005", "2001:0DB8:0:0:0:0:0:0001",
               "2001:db8::1")
    new = r.text("10.0.0.5")
    assert r.text("allow-10-0-0-5") == "allow-" + new.replace(".", "-")
    assert r.text("allow_10_0_0_5") == "allow_" + new.replace(".", "_")
    assert r.text("010.000.000.005") == new
    assert r.text("2001:0DB8:0:0:0:0:0:0001") == r.text("2001:db8::1")
    assert "10" not in r.text("allow-10-0-0-5 and 10.0.0.5").replace(new, "").replace(new.replace(".", "-"), "")


def test_sids_in_every_form_and_well_known_sids_kept() -> None:
    r = _built()
    aad = "S-1-12-1-1111111111-2222222222-3333333333-444444444"
    assert r.text(aad) == r.text(aad.lower()) != aad
    assert "1111111111" not in r.text(aad)
    assert r.text("s-1-5-21-111-222-333-1104") == r.text("S-1-5-21-111-222-333-1104")
    assert "111-222" not in r.text("s-1-5-21-111-222-333-1104")
    for keep in ("S-1-5-18", "S-1-0-0", "S-1-15-3-1", "S-1-5-32-544", "S-1-1-0"):
        assert r.text(f"O:LSD:(A;;CC;;;{keep})") == f"O:LSD:(A;;CC;;;{keep})"


def test_paths_of_every_form_and_user_names() -> None:
    r = _built("alice", hosts=("fileserver",))
    r2 = _built('C:\\Users\\alice\\x.exe', hosts=("fileserver",))
    for s in ("\\\\fileserver\\share\\docs\\a.txt", "//fileserver/share/docs", "C:/Users/alice/notes.txt",
              "\\device\\harddiskvolume3\\users\\alice\\tool.exe", "see C:\\Program Files\\Corp Tools\\t.exe now"):
        out = r2.text(s, hosts=True)
        for secret in ("fileserver", "share", "docs", "alice", "notes", "tool", "corp", "a.txt"):
            assert secret not in out.lower(), (s, out)
    assert r2.text("\\device\\harddiskvolume3\\x\\y.exe").startswith("\\device\\harddiskvolume3\\")
    assert "alice" not in r2.text("key-alice-rule").lower()  # a user name seen in a path, elsewhere
    assert r.text("fileserver-sock", hosts=True) == "host1-sock"
    assert r.text("FWPM_LAYER_ALE_AUTH_CONNECT_V4", hosts=True) == "FWPM_LAYER_ALE_AUTH_CONNECT_V4"


def test_mapped_and_bracketed_addresses_are_rewritten_once() -> None:
    r = _built("::ffff:10.0.0.5", "10.0.0.5", "[2001:db8::5]:443", "2001:DB8::5")
    new = r.text("10.0.0.5")
    assert r.text("::ffff:10.0.0.5") == f"::ffff:{new}"  # not mapped twice
    assert r.text("[2001:db8::5]:443") == f"[{r.text('2001:db8::5')}]:443"
    assert r.text("2001:DB8::5") == r.text("2001:db8::5")
    assert r.text("fe80::1%3") == "fe80::1%3"  # link-local stays
