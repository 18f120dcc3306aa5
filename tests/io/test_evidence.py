"""Readers of real WFP evidence (io.evidence): doc fixtures, both shapes, audits, bad input."""

from __future__ import annotations

import contextlib
import ipaddress
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wfptui.core.values import normalize_app_id
from wfptui.io.errors import InputError
from wfptui.io.evidence import parse_evidence, read_evidence, sniff_evidence
from wfptui.io.evidence.fields import parse_time
from wfptui.io.evidence.netevent import decode_app_id
from wfptui.io.netsh_xml import XmlNode

DATA = Path(__file__).resolve().parents[1] / "data"
EV = DATA / "evidence"
UWP_APP = ("\\device\\harddiskvolume1\\program files\\windowsapps\\af692bff-6779-424f-870e-f6e59c502349"
           "_1.1.{v}.0_x64__5c037jar5839r\\uwpsocketclient.exe")
PKG = "S-1-15-2-4163697451-3176919390-1155390458-2883473650-3020241727-522149888-4067122936"
ALL_CAPS = ("S-1-15-3-1", "S-1-15-3-2", "S-1-15-3-3")


def ip(text: str) -> int:
    return int(ipaddress.ip_address(text))


def test_case_1_wfpdiag_allow_with_its_filter() -> None:
    e = read_evidence(EV / "wfpdiag-case-1.xml", progress=False)
    assert (e.kind, e.truncated, e.type_counts) == ("wfpdiag", False, {"CLASSIFY_ALLOW": 1})
    (o,) = e.observations
    assert (o.index, o.source, o.type, o.action) == (1, "netevent", "CLASSIFY_ALLOW", "permit")
    assert (o.time, o.time_ns) == ("2020-05-21T17:25:59.070Z", 1590081959070000000)
    assert (o.ip_version, o.protocol) == (6, 6)
    assert o.local_addr == ip("2001:4898:30:3:256c:e5ba:12f3:beb1")
    assert o.remote_addr == ip("2620:1ec:c11::200")
    assert (o.local_port, o.remote_port, o.scope_id) == (52127, 443, 0)
    assert (o.app_id, o.app_id_from) == (UWP_APP.format(v=10), "data")
    assert o.user_id == "S-1-5-21-2993214446-1947230185-131795049-1000"
    assert o.package_sid == PKG
    assert o.capabilities == ALL_CAPS
    assert (o.layer_id, o.filter_id, o.direction) == (50, 125918, None)
    assert (o.reauth_reason, o.original_profile, o.current_profile) == (0, 1, 1)
    assert o.flags == 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20 | 0x40 | 0x100 | 0x400
    assert [(t.filter_id, t.sublayer, t.action) for t in o.terminating] == [
        (125918, "FWPP_SUBLAYER_INTERNAL_FIREWALL_WSH", "FWP_ACTION_PERMIT"),
        (121167, "FWPP_SUBLAYER_INTERNAL_FIREWALL_WF", "FWP_ACTION_PERMIT"),
    ]
    assert o.simulated
    assert e.policy is not None
    assert [f.key for f in e.policy.filters] == ["internetclient-default-rule-125918"]


def test_cases_7_8_netevents_items() -> None:
    e = read_evidence(EV / "netevents-case-7-8.xml", progress=False)
    assert (e.kind, e.policy, e.type_counts) == ("netevents", None, {"CLASSIFY_DROP": 1, "CLASSIFY_ALLOW": 1})
    drop, allow = e.observations
    assert (drop.index, drop.type, drop.action, drop.direction) == (1, "CLASSIFY_DROP", "block", "outbound")
    assert (drop.local_addr, drop.remote_addr) == (ip("10.195.36.30"), ip("204.79.197.200"))
    assert (drop.local_port, drop.remote_port, drop.ip_version) == (57062, 443, 4)
    assert (drop.layer_id, drop.filter_id, drop.is_loopback) == (48, 206064, False)
    assert drop.capabilities == ()
    assert drop.app_id == UWP_APP.format(v=12)
    assert [t.filter_id for t in drop.terminating] == [206064, 206049]
    assert ("classifyDrop/vSwitchSourcePort", "0") in drop.extra
    assert (allow.action, allow.filter_id, allow.capabilities) == ("permit", 208757, ALL_CAPS)
    assert allow.time == "2020-05-04T18:49:55.101Z"


@pytest.mark.parametrize("name", ["audit-5156-wevtutil.xml", "audit-5156-eventviewer.xml"])
def test_audit_5156_both_shapes(name: str) -> None:
    e = read_evidence(EV / name, progress=False)
    assert e.kind == "audit"
    o = e.observations[0]
    assert (o.source, o.type, o.action, o.direction) == ("audit", "5156", "permit", "inbound")
    # Source is the local end (event-5156.md): the listener's port 3333.
    assert (o.local_addr, o.local_port) == (ip("10.0.0.10"), 3333)
    assert (o.remote_addr, o.remote_port) == (ip("10.0.0.100"), 49278)
    assert (o.protocol, o.filter_id, o.layer_id, o.ip_version) == (6, 70201, 44, 4)
    assert (o.app_id, o.app_id_from) == ("\\device\\harddiskvolume2\\documents\\listener.exe", "Application")
    assert (o.time, o.time_ns) == ("2015-09-22T05:24:22.622090200Z", 1442899462622090200)
    assert ("ProcessID", "4556") in o.extra and ("LayerName", "%%14610") in o.extra


def test_sniff() -> None:
    assert sniff_evidence(EV / "wfpdiag-case-1.xml") == "wfpdiag"
    assert sniff_evidence(EV / "netevents-case-7-8.xml") == "netevents"
    assert sniff_evidence(EV / "audit-5156-wevtutil.xml") == "audit"
    assert sniff_evidence(DATA / "wfp" / "filters-win11.xml") is None
    assert sniff_evidence(DATA / "wfp" / "wfpstate-win11.xml") is None
    assert sniff_evidence(EV / "README.md") is None


def test_a_filters_dump_is_not_evidence() -> None:
    with pytest.raises(InputError, match="show filters` dump"):
        read_evidence(DATA / "wfp" / "filters-win11.xml", progress=False)
    with pytest.raises(InputError, match="not WFP evidence"):
        parse_evidence(b"[policy]\nx = 1\n", "p.toml")


def test_truncated_capture_keeps_events_read() -> None:
    data = (EV / "netevents-case-7-8.xml").read_bytes()
    cut = data[: data.index(b"<timeStamp>2020-05-04T18:49")]
    e = parse_evidence(cut, "cut.xml")
    assert e.truncated and len(e.observations) == 1 and "truncated" in e.notes[0]


@pytest.mark.parametrize("doc", [
    b'<!DOCTYPE x [<!ENTITY a "b">]><netEvents/>',
    b'<?xml version="1.0"?>\n<!DOCTYPE netEvents SYSTEM "http://x/y.dtd"><netEvents/>',
])
def test_hostile_xml_refused(doc: bytes) -> None:
    with pytest.raises(InputError):
        parse_evidence(doc, "h.xml")


def test_hostile_entity_in_events_refused() -> None:
    doc = b'<Event><System><EventID>5156</EventID></System></Event>\n<!DOCTYPE x [<!ENTITY a "b">]>'
    with pytest.raises(InputError, match="refused|malformed"):
        parse_evidence(doc, "h.xml")


def test_unreadable_field_names_line_and_field() -> None:
    data = (EV / "netevents-case-7-8.xml").read_bytes().replace(b"<localPort>57062<", b"<localPort>99999<")
    with pytest.raises(InputError) as ei:
        parse_evidence(data, "bad.xml")
    d = ei.value.first
    assert (d.file, d.line) == ("bad.xml", 21) and "header/localPort" in d.message


def test_app_id_from_as_string_when_data_is_not_one_string() -> None:
    assert decode_app_id("41004200", "A.B.") == ("AB", "asString")  # no NUL terminator
    assert decode_app_id("410000004200000000", "x") == ("x", "asString")  # NUL inside
    assert decode_app_id("410042000000", None) == ("AB", "data")


# ----------------------------------------------------------------------------- properties

_ITEM = (
    "<item><header><timeStamp>2021-01-02T03:04:05.{ms:03d}Z</timeStamp><ipVersion>FWP_IP_VERSION_V4</ipVersion>"
    "<ipProtocol>{proto}</ipProtocol><localAddrV4>{la}</localAddrV4><remoteAddrV4>{ra}</remoteAddrV4>"
    "<localPort>{lp}</localPort><remotePort>{rp}</remotePort><appId><data>{data}</data></appId></header>"
    "<type>FWPM_NET_EVENT_TYPE_CLASSIFY_DROP</type><classifyDrop><filterId>{fid}</filterId>"
    "<layerId>{layer}</layerId><msFwpDirection>MS_FWP_DIRECTION_IN</msFwpDirection></classifyDrop></item>"
)


@given(
    ms=st.integers(0, 999), proto=st.integers(0, 255), la=st.integers(0, 2**32 - 1), ra=st.integers(0, 2**32 - 1),
    lp=st.integers(0, 65535), rp=st.integers(0, 65535), fid=st.integers(1, 2**64 - 1), layer=st.integers(0, 98),
    name=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7e, exclude_characters="<>&"), min_size=1),
)
def test_generated_events_round_trip(ms: int, proto: int, la: int, ra: int, lp: int, rp: int, fid: int,
                                     layer: int, name: str) -> None:
    data = ("\\device\\" + name + "\0").encode("utf-16-le").hex()
    doc = "<netEvents>" + _ITEM.format(ms=ms, proto=proto, la=ipaddress.IPv4Address(la),
                                       ra=ipaddress.IPv4Address(ra), lp=lp, rp=rp, data=data, fid=fid,
                                       layer=layer) + "</netEvents>"
    (o,) = parse_evidence(doc.encode(), "g.xml").observations
    assert (o.protocol, o.local_addr, o.remote_addr, o.local_port, o.remote_port) == (proto, la, ra, lp, rp)
    assert (o.filter_id, o.layer_id, o.direction, o.action) == (fid, layer, "inbound", "block")
    assert o.app_id == normalize_app_id("\\device\\" + name) and o.app_id_from == "data"
    assert o.time == f"2021-01-02T03:04:05.{ms:03d}Z"


_SAMPLES = [(EV / n).read_bytes() for n in ("wfpdiag-case-1.xml", "netevents-case-7-8.xml", "audit-5156-wevtutil.xml")]


@given(st.sampled_from(_SAMPLES), st.integers(0, 10**6), st.binary(max_size=8), st.integers(0, 10**6))
def test_mutated_documents_raise_only_input_error(doc: bytes, cut: int, junk: bytes, at: int) -> None:
    for variant in (doc[: cut % (len(doc) + 1)], doc[: at % len(doc)] + junk + doc[at % len(doc) :]):
        with contextlib.suppress(InputError):
            parse_evidence(variant, "m.xml")


@given(st.binary(max_size=300))
def test_random_bytes_raise_only_input_error(data: bytes) -> None:
    with contextlib.suppress(InputError):
        parse_evidence(data, "r.xml")


# ----------------------------------------------------------------------------- more doc fixtures

@pytest.mark.parametrize(("case", "ver", "v6", "local", "remote", "lport", "rport", "fid", "layer", "caps", "policy"), [
    (2, 4, True, "2001:4898:1a:1045:8469:3351:e6e2:543", "2620:1ec:c11::200", 63187, 443, 68893, 50, (),
     ["block-outbound-default-rule-68893"]),
    (3, 5, True, "2001:4898:1a:1045:9c65:7805:dd4a:cc4b", "2620:1ec:c11::200", 64086, 443, 68893, 50, ("S-1-15-3-3",),
     ["block-outbound-default-rule-68893"]),
    (4, 11, False, "10.216.117.17", "10.50.50.50", 52998, 53, 121180, 48, ("S-1-15-3-1", "S-1-15-3-2"),
     ["block-outbound-default-rule-121180"]),
    (5, 13, False, "10.216.117.17", "10.1.1.1", 52956, 53, 121180, 48, ("S-1-15-3-3",),
     ["block-outbound-default-rule-121180", "privatenetwork-outbound-default-rule-129656",
      "privatenetwork-outbound-default-rule-129657", "privatenetwork-outbound-default-rule-129658"]),
])
def test_uwp_cases_2_to_5(case: int, ver: int, v6: bool, local: str, remote: str, lport: int, rport: int,
                          fid: int, layer: int, caps: tuple[str, ...], policy: list[str]) -> None:
    e = read_evidence(EV / f"wfpdiag-case-{case}.xml", progress=False)
    (o,) = e.observations
    assert (o.type, o.action, o.direction, o.ip_version) == ("CLASSIFY_DROP", "block", "outbound", 6 if v6 else 4)
    assert (o.local_addr, o.remote_addr, o.local_port, o.remote_port) == (ip(local), ip(remote), lport, rport)
    assert (o.filter_id, o.layer_id, o.capabilities, o.package_sid) == (fid, layer, caps, PKG)
    assert (o.app_id, o.app_id_from) == (UWP_APP.format(v=ver), "data")
    assert o.terminating[0].filter_id == fid and o.terminating[0].action == "FWP_ACTION_BLOCK"
    assert e.policy is not None and [f.key for f in e.policy.filters] == policy


def test_quarantine_event_hand_edited_data_falls_back_to_as_string() -> None:
    e = read_evidence(EV / "wfpdiag-quarantine.xml", progress=False)
    (o,) = e.observations
    # the doc's <data> decodes to "\dem32\svchost.exe", not an absolute path: asString is used
    assert (o.app_id, o.app_id_from) == ("\\device\\harddiskvolume1\\windows\\system32\\svchost.exe", "asString")
    assert ("header/appId/unusable", "data: \\dem32\\svchost.exe") in o.extra
    assert (o.protocol, o.local_addr, o.remote_addr) == (17, ip("255.255.255.255"), ip("10.195.33.252"))
    assert (o.local_port, o.remote_port, o.user_id, o.package_sid) == (21, 61706, "S-1-5-19", "S-1-0-0")
    assert (o.filter_id, o.layer_id, o.filter_origin, o.interface_index) == (66241, 44, "Quarantine Default", 5)
    assert [(t.filter_id, t.sublayer) for t in o.terminating] == [
        (66241, "FWPP_SUBLAYER_INTERNAL_FIREWALL_QUARANTINE"), (74045, "FWPP_SUBLAYER_INTERNAL_FIREWALL_WSH"),
        (73602, "FWPP_SUBLAYER_INTERNAL_FIREWALL_WF")]
    assert e.policy is None


@pytest.mark.parametrize(("name", "first_line"), [("audit-samples-wevtutil.xml", 1), ("audit-samples-eventviewer.xml", 3)])
def test_audit_samples_5152_5156_5157_5158_5154(name: str, first_line: int) -> None:
    e = read_evidence(EV / name, progress=False)
    assert e.type_counts == {"5152": 1, "5156": 1, "5157": 1, "5158": 1, "5154": 1}
    a, b, c, d, listen = e.observations
    assert [o.line for o in e.observations] == [first_line + i for i in range(5)]
    assert (listen.action, listen.local_addr, listen.local_port, listen.layer_id, listen.filter_id) == (
        "permit", 0, 4444, 40, None)
    # 5152's sample puts the peer in Source; the page's field description (Source = local) rules.
    assert (a.action, a.local_addr, a.local_port, a.remote_addr, a.remote_port, a.filter_id) == (
        "block", ip("10.0.0.100"), 49278, ip("10.0.0.10"), 3333, None)
    assert (b.action, b.filter_id, b.layer_id) == ("permit", 70201, 44)
    assert (c.action, c.local_port, c.remote_port, c.filter_id, c.direction) == ("block", 3333, 49218, 110398, "inbound")
    assert (d.action, d.local_addr, d.local_port, d.remote_addr, d.layer_id, d.direction) == (
        "permit", 0, 3333, None, 36, None)
    assert ("ProcessId", "4556") in d.extra


def test_capability_and_ipsec_events_are_kept_not_simulated() -> None:
    doc = (b"<netEvents><item><header><timeStamp>2024-01-01T00:00:00Z</timeStamp></header>"
           b"<type>FWPM_NET_EVENT_TYPE_CAPABILITY_DROP</type><capabilityDrop><networkCapabilityId>"
           b"FWPM_APPC_NETWORK_CAPABILITY_INTERNET_CLIENT</networkCapabilityId><filterId>7</filterId>"
           b"<isLoopback>false</isLoopback></capabilityDrop></item>"
           b"<item><header/><type>FWPM_NET_EVENT_TYPE_IPSEC_KERNEL_DROP</type><ipsecDrop><failureStatus>1"
           b"</failureStatus></ipsecDrop></item></netEvents>")
    e = parse_evidence(doc, "c.xml")
    assert e.type_counts == {"CAPABILITY_DROP": 1, "IPSEC_KERNEL_DROP": 1}
    cap, ipsec = e.observations
    assert (cap.action, cap.simulated, cap.filter_id, cap.time) == (None, False, 7, "2024-01-01T00:00:00Z")
    assert ("capabilityDrop/networkCapabilityId", "FWPM_APPC_NETWORK_CAPABILITY_INTERNET_CLIENT") in cap.extra
    assert ipsec.action is None and ("ipsecDrop/failureStatus", "1") in ipsec.extra
    assert any("CAPABILITY_DROP" in n and "not simulated" in n for n in e.notes)


def test_bare_net_events_bom_and_declaration_variants(tmp_path: Path) -> None:
    item = (EV / "netevents-case-7-8.xml").read_bytes()
    body = item[item.index(b"<item>") : item.index(b"</item>\n<item>\n    <header>") + len(b"</item>")]
    bare = b"<netEvents>" + body.replace(b"<item>\n<header>", b"<netEvent>\n<header>", 1)[:-7] + b"</netEvent></netEvents>"
    (o,) = parse_evidence(b"\xef\xbb\xbf" + bare, "bare.xml").observations
    assert (o.filter_id, o.local_port) == (206064, 57062)
    audit = (EV / "audit-5156-wevtutil.xml").read_bytes()
    for variant, lines in ((b'<?xml version="1.0" encoding="utf-8"?>\n' + audit, [2, 3]),
                           (b"\xef\xbb\xbf" + audit, [1, 2]),
                           ("\ufeff".encode("utf-16-le") + audit.decode().encode("utf-16-le"), [1, 2])):
        e = parse_evidence(variant, "a.xml")
        assert e.kind == "audit" and [o.line for o in e.observations] == lines


def test_missing_file_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        read_evidence(tmp_path / "nope.xml", progress=False)
    (tmp_path / "empty.xml").write_bytes(b"")
    with pytest.raises(InputError, match="empty file"):
        read_evidence(tmp_path / "empty.xml", progress=False)
    assert sniff_evidence(tmp_path / "nope.xml") is None


def test_truncated_audit_stream_keeps_whole_events() -> None:
    data = (EV / "audit-samples-wevtutil.xml").read_bytes()
    e = parse_evidence(data[: data.index(b"<EventID>5158")], "cut.xml")
    assert e.truncated and [o.type for o in e.observations] == ["5152", "5156", "5157"]


def test_bad_audit_field_names_field() -> None:
    data = (EV / "audit-5156-wevtutil.xml").read_bytes().replace(b">10.0.0.100<", b">10.0.0.999<", 1)
    with pytest.raises(InputError) as ei:
        parse_evidence(data, "bad.xml")
    assert ei.value.first.line == 1 and "EventData/DestAddress" in ei.value.first.message


@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1)), st.integers(1, 9))
def test_times_round_trip_at_their_precision(dt: datetime, digits: int) -> None:
    frac = f"{dt.microsecond:06d}000"[:digits]
    text = dt.strftime("%Y-%m-%dT%H:%M:%S") + "." + frac + "Z"
    node = XmlNode("timeStamp", 1, 1)
    out, ns = parse_time(node, "header/timeStamp", text)
    whole = int(dt.replace(microsecond=0, tzinfo=UTC).timestamp())
    assert (out, ns) == (text, whole * 1_000_000_000 + int(frac.ljust(9, "0")))


@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1)),
       st.sampled_from(["", ".5", ".123456789", ".1234567890", ". 1", ".x", "+01:00", " ", ".١٢"]),
       st.sampled_from(["Z", "+02:00", ""]))
def test_times_seen_before_read_as_the_first_time(dt: datetime, rest: str, zone: str) -> None:
    """The per-second memo gives exactly what the full reading gives (or the same error)."""
    import wfptui.io.evidence.fields as fields_mod

    node = XmlNode("timeStamp", 1, 1)
    text = dt.strftime("%Y-%m-%dT%H:%M:%S") + rest + zone

    def read() -> object:
        try:
            return parse_time(node, "t", text)
        except Exception as e:  # noqa: BLE001 - the same error either way
            return type(e).__name__

    fields_mod._SECOND.clear()
    cold = read()
    parse_time(node, "t", dt.strftime("%Y-%m-%dT%H:%M:%SZ"))  # this second is now memoised
    assert read() == cold


def test_a_bad_net_event_field_is_named_at_its_line_and_column(tmp_path: Path) -> None:
    """Events are first read without inner positions (faster); a field that cannot be read
    is still reported at its element's exact line:col (the file is read again with them)."""
    data = (EV / "netevents-case-7-8.xml").read_bytes()
    at = data.index(b"<ipProtocol>")
    bad = data[:at] + data[at:].replace(b">6<", b">six<", 1)
    line = bad[:at].count(b"\n") + 1
    col = at - bad.rfind(b"\n", 0, at)
    (tmp_path / "bad.xml").write_bytes(bad)
    for read in (lambda: parse_evidence(bad, "bad.xml"), lambda: read_evidence(tmp_path / "bad.xml")):
        with pytest.raises(InputError) as ei:
            read()
        assert (ei.value.first.line, ei.value.first.col) == (line, col)
        assert "header/ipProtocol" in ei.value.first.message


def test_impossible_date_is_an_input_error() -> None:
    data = (EV / "netevents-case-7-8.xml").read_bytes().replace(b"2020-05-04T22:04", b"2020-02-30T22:04")
    with pytest.raises(InputError, match="header/timeStamp"):
        parse_evidence(data, "d.xml")
