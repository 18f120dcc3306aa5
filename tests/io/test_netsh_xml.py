"""netsh XML import (wfp-model.md §5.7): the safe reader, value types, callouts, sublayers,
keys, warnings and errors — on small synthetic dumps. Real dumps: test_netsh_xml_real.py."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wfptui.core.datatypes import DataType
from wfptui.core.model import (
    ActionType,
    AddrMask,
    Blob,
    FilterFlag,
    MatchType,
    Range,
    SecurityDescriptor,
    Token,
)
from wfptui.io import netsh_xml
from wfptui.io.errors import InputError
from wfptui.io.netsh_xml import parse_netsh, read_xml, slug

BOM = "\ufeff"
DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def cond(field: str, match: str, vtype: str, value_xml: str) -> str:
    return (
        f"<item><fieldKey>FWPM_CONDITION_{field}</fieldKey><matchType>FWP_MATCH_{match}</matchType>"
        f"<conditionValue><type>{vtype}</type>{value_xml}</conditionValue></item>"
    )


def filt(
    *,
    key: str = "{11111111-2222-3333-4444-555555555555}",
    name: str = "Test Filter",
    layer: str = "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4",
    sublayer: str = "FWPM_SUBLAYER_MPSSVC_WF",
    weight: str = "<type>FWP_UINT8</type><uint8>8</uint8>",
    conds: str = "",
    action: str = "FWP_ACTION_BLOCK",
    filter_type: str = "",
    flags: str = "",
    filter_id: int = 1000,
    eff: int = 0x8000000000000700,
    extra: str = "",
) -> str:
    ft = f"<filterType>{filter_type}</filterType>" if filter_type else "<filterType/>"
    fl = f'<flags numItems="{flags.count("<item>")}">{flags}</flags>' if flags else "<flags/>"
    fc = f"<filterCondition>{conds}</filterCondition>" if conds else "<filterCondition/>"
    return (
        f"<item><filterKey>{key}</filterKey><displayData><name>{name}</name><description/></displayData>"
        f"{fl}<providerKey>FWPM_PROVIDER_MPSSVC_WF</providerKey><providerData/>"
        f"<layerKey>{layer}</layerKey><subLayerKey>{sublayer}</subLayerKey><weight>{weight}</weight>{fc}"
        f"<action><type>{action}</type>{ft}</action><rawContext>0</rawContext><reserved/>"
        f"<filterId>{filter_id}</filterId><effectiveWeight><type>FWP_UINT64</type><uint64>{eff}</uint64>"
        f"</effectiveWeight>{extra}</item>"
    )


def filters_doc(*items: str, bom: bool = True) -> bytes:
    return ((BOM if bom else "") + DECL + "<wfpdiag>\n<filters>\n" + "\n".join(items) + "\n</filters>\n</wfpdiag>\n").encode()


def state_doc(
    layer_items: str, sublayers: str = "", trailing: str = "<firewallState>\n\t<dynamicKeywordAddresses/>\n</firewallState>\n"
) -> bytes:
    return (
        BOM + DECL + "<wfpstate>\n<timeStamp>2026-01-08T16:50:48.073Z</timeStamp>\n<sessions/>\n"
        f'<layers numItems="1">{layer_items}</layers>\n<providers/>\n<providerContexts/>\n'
        f"<subLayers>{sublayers}</subLayers>\n<subscriptions/>\n</wfpstate>\n" + trailing
    ).encode()


def layer_item(layer: str, callouts: str, filters: str) -> str:
    return (
        f"<item><layer><layerKey>{layer}</layerKey><displayData><name>x</name><description/></displayData>"
        f"<flags/><field/><defaultSubLayerKey>FWPM_SUBLAYER_UNIVERSAL</defaultSubLayerKey><layerId>44</layerId></layer>"
        f"<callouts>{callouts}</callouts><filters>{filters}</filters></item>"
    )


def callout_item(key: str, name: str = "Some callout", registered: bool = True) -> str:
    flags = '<flags numItems="1"><item>FWPM_CALLOUT_FLAG_REGISTERED</item></flags>' if registered else "<flags/>"
    return (
        f"<item><calloutKey>{key}</calloutKey><displayData><name>{name}</name><description/></displayData>"
        f"{flags}<providerKey/><providerData/><applicableLayer>FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4</applicableLayer>"
        "<calloutId>300</calloutId></item>"
    )


def one(data: bytes):  # type: ignore[no-untyped-def]
    res = parse_netsh(data, "t.xml")
    assert len(res.filters) == 1, res.warnings
    return res, res.filters[0]


# ----------------------------------------------------------------------------- shapes


def test_filters_dump_detected_and_fields_kept() -> None:
    res, f = one(filters_doc(filt(conds=cond("ORIGINAL_PROFILE_ID", "EQUAL", "FWP_UINT32", "<uint32>1</uint32>"))))
    assert res.kind == "filters"
    assert res.xml_filters == 1 and not res.dropped and not res.warnings
    assert f.key == "test-filter-1000"
    assert f.guid == "11111111-2222-3333-4444-555555555555"
    assert f.filter_id == 1000
    assert f.name == "Test Filter"
    assert f.layer == "ALE_AUTH_RECV_ACCEPT_V4"
    assert f.sublayer == "MPSSVC_WF"
    assert f.weight.type == DataType.FWP_UINT8 and f.weight.value == 8
    assert f.effective_weight == 0x8000000000000700
    assert f.action == ActionType.FWP_ACTION_BLOCK
    assert f.provider == "FWPM_PROVIDER_MPSSVC_WF"
    assert f.conditions[0].field == "ORIGINAL_PROFILE_ID"
    assert f.conditions[0].value == 1 and f.conditions[0].dtype == DataType.FWP_UINT32
    assert f.loc is not None and f.loc.line == 4


def test_without_bom_and_without_declaration() -> None:
    data = b"<wfpdiag><filters>" + filt().encode() + b"</filters></wfpdiag>"
    res = parse_netsh(data, "t.xml")
    assert len(res.filters) == 1


def test_state_dump_with_second_root_element() -> None:
    data = state_doc(layer_item("FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4", "", filt()))
    res = parse_netsh(data, "s.xml")
    assert res.kind == "state" and len(res.filters) == 1 and not res.warnings


def test_state_trailing_junk_other_than_firewall_state_is_malformed() -> None:
    data = state_doc(layer_item("FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4", "", filt()), trailing="<other/>\n")
    with pytest.raises(InputError) as ei:
        parse_netsh(data, "s.xml")
    assert "<other>" in str(ei.value) and ei.value.first.line > 1


def test_filters_dump_trailing_root_is_malformed() -> None:
    data = filters_doc(filt()) + b"<firewallState/>\n"
    with pytest.raises(InputError) as ei:
        parse_netsh(data, "t.xml")
    d = ei.value.first
    assert "junk after" in d.message and d.line == 7


def test_unknown_root_and_missing_filters() -> None:
    with pytest.raises(InputError, match="neither"):
        parse_netsh(b"<netEvents/>", "x.xml")
    with pytest.raises(InputError, match="no <filters>"):
        parse_netsh(b"<wfpdiag><netEvents/></wfpdiag>", "x.xml")


# ----------------------------------------------------------------------------- safety


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<wfpdiag><filters><item><filterKey>&lol3;</filterKey></item></filters></wfpdiag>
"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE foo [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<wfpdiag><filters><item><filterKey>&xxe;</filterKey></item></filters></wfpdiag>
"""

PARAM_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE foo [ <!ENTITY % ext SYSTEM "http://example.com/evil.dtd"> %ext; ]>
<wfpdiag/>
"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE wfpdiag SYSTEM "http://example.com/wfp.dtd">
<wfpdiag/>
"""


@pytest.mark.parametrize("doc", [BILLION_LAUGHS, XXE, PARAM_ENTITY, EXTERNAL_DTD], ids=["laughs", "xxe", "param", "dtd"])
def test_hostile_xml_refused_with_clear_error(doc: bytes) -> None:
    with pytest.raises(InputError) as ei:
        parse_netsh(doc, "evil.xml")
    d = ei.value.first
    assert d.file == "evil.xml" and d.line == 2
    assert "DOCTYPE" in d.message and "refused" in d.message


def test_undefined_entity_is_malformed_not_expanded() -> None:
    with pytest.raises(InputError, match="malformed XML: undefined entity"):
        parse_netsh(b"<wfpdiag><filters><item><filterKey>&ent;</filterKey></item></filters></wfpdiag>", "x.xml")


def test_size_limit(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = filters_doc(filt())
    from wfptui.io import netsh_import, safe_xml

    for module in (safe_xml, netsh_import):  # the reader's check and the file's size check
        monkeypatch.setattr(module, "MAX_BYTES", len(data) - 1)
    with pytest.raises(InputError, match="refused"):
        parse_netsh(data, "big.xml")
    p = tmp_path / "big.xml"
    p.write_bytes(data)
    with pytest.raises(InputError, match="refused"):
        netsh_xml.import_netsh(p, progress=False)


def test_depth_limit() -> None:
    deep = b"<wfpdiag>" + b"<a>" * 100 + b"</a>" * 100 + b"</wfpdiag>"
    with pytest.raises(InputError, match="nested deeper"):
        read_xml(deep, "deep.xml")


def test_malformed_xml_names_line_and_column() -> None:
    data = filters_doc(filt()).replace(b"</filterId>", b"</filterID>")
    with pytest.raises(InputError) as ei:
        parse_netsh(data, "bad.xml")
    d = ei.value.first
    assert d.file == "bad.xml" and d.line == 4 and d.col > 1
    assert "mismatched tag" in d.message


def test_missing_file() -> None:
    with pytest.raises(InputError, match="cannot read"):
        netsh_xml.import_netsh("/nonexistent/x.xml", progress=False)


# ----------------------------------------------------------------------------- value types


@pytest.mark.parametrize(
    ("field", "match", "vtype", "xml", "value", "dtype"),
    [
        ("IP_PROTOCOL", "EQUAL", "FWP_UINT8", "<uint8>6</uint8>", 6, DataType.FWP_UINT8),
        ("IP_LOCAL_PORT", "EQUAL", "FWP_UINT16", "<uint16>445</uint16>", 445, DataType.FWP_UINT16),
        ("FLAGS", "FLAGS_ALL_SET", "FWP_UINT32", "<uint32>1</uint32>", 1, DataType.FWP_UINT32),
        ("IP_LOCAL_INTERFACE", "EQUAL", "FWP_UINT64", "<uint64>18446744073709551615</uint64>", (1 << 64) - 1,
         DataType.FWP_UINT64),
        ("IP_REMOTE_ADDRESS", "EQUAL", "FWP_UINT32", "<uint32>10.1.2.3</uint32>", 0x0A010203, DataType.FWP_UINT32),
        ("IP_REMOTE_ADDRESS", "EQUAL", "FWP_V4_ADDR_MASK",
         "<v4AddrMask><addr>10.0.0.0</addr><mask>255.0.0.0</mask></v4AddrMask>", AddrMask(0x0A000000, 8, 32),
         DataType.FWP_V4_ADDR_MASK),
        ("ALE_PACKAGE_ID", "NOT_EQUAL", "FWP_SID", "<sid>S-1-0-0</sid>", "S-1-0-0", DataType.FWP_SID),
        ("IP_REMOTE_PORT", "RANGE", "FWP_RANGE_TYPE",
         "<rangeValue><valueLow><type>FWP_UINT16</type><uint16>1024</uint16></valueLow>"
         "<valueHigh><type>FWP_UINT16</type><uint16>65535</uint16></valueHigh></rangeValue>",
         Range(1024, 65535), DataType.FWP_RANGE_TYPE),
        ("IP_REMOTE_ADDRESS", "RANGE", "FWP_RANGE_TYPE",
         "<rangeValue><valueLow><type>FWP_UINT32</type><uint32>192.168.0.0</uint32></valueLow>"
         "<valueHigh><type>FWP_UINT32</type><uint32>192.168.255.255</uint32></valueHigh></rangeValue>",
         Range(0xC0A80000, 0xC0A8FFFF), DataType.FWP_RANGE_TYPE),
        ("ALE_APP_ID", "EQUAL", "FWP_BYTE_BLOB_TYPE",
         "<byteBlob><data>" + "\\device\\x.exe".encode("utf-16-le").hex() + "0000</data>"
         "<asString>\\device\\x.exe</asString></byteBlob>",
         "\\device\\x.exe", DataType.FWP_BYTE_BLOB_TYPE),
    ],
)
def test_v4_value_types(field: str, match: str, vtype: str, xml: str, value: object, dtype: DataType) -> None:
    _, f = one(filters_doc(filt(conds=cond(field, match, vtype, xml))))
    c = f.conditions[0]
    assert (c.field, c.match, c.value, c.dtype) == (field, MatchType["FWP_MATCH_" + match], value, dtype)


@pytest.mark.parametrize(
    ("field", "vtype", "xml", "value", "dtype"),
    [
        ("IP_REMOTE_ADDRESS", "FWP_BYTE_ARRAY16_TYPE", "<byteArray16>fe80::1</byteArray16>", (0xFE80 << 112) | 1,
         DataType.FWP_BYTE_ARRAY16_TYPE),
        ("IP_REMOTE_ADDRESS", "FWP_V6_ADDR_MASK",
         "<v6AddrMask><addr>fe80::</addr><prefixLength>10</prefixLength></v6AddrMask>",
         AddrMask(0xFE80 << 112, 10, 128), DataType.FWP_V6_ADDR_MASK),
    ],
)
def test_v6_value_types(field: str, vtype: str, xml: str, value: object, dtype: DataType) -> None:
    _, f = one(filters_doc(filt(layer="FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V6", conds=cond(field, "EQUAL", vtype, xml))))
    assert (f.conditions[0].value, f.conditions[0].dtype) == (value, dtype)


def test_security_descriptor_condition_is_parsed_sddl() -> None:
    _, f = one(filters_doc(filt(conds=cond("ALE_USER_ID", "EQUAL", "FWP_SECURITY_DESCRIPTOR_TYPE",
                                           "<sd>O:LSD:(A;;CC;;;LS)</sd>"))))
    v = f.conditions[0].value
    assert isinstance(v, SecurityDescriptor) and v.sddl == "O:LSD:(A;;CC;;;LS)"
    assert f.conditions[0].dtype == DataType.FWP_SECURITY_DESCRIPTOR_TYPE


def test_only_local_service_rule_classifies_by_token() -> None:
    """§4.2: an ALE_USER_ID SD condition is an access check of the traffic's token."""
    from wfptui.core.arbitration import compile_policy
    from wfptui.core.model import Policy

    xml = filters_doc(
        filt(name="Only LocalService", action="FWP_ACTION_PERMIT", sublayer="FWPM_SUBLAYER_UNIVERSAL",
             weight="<type>FWP_UINT8</type><uint8>15</uint8>", eff=0xF000000000000000, filter_id=1,
             conds=cond("ALE_USER_ID", "EQUAL", "FWP_SECURITY_DESCRIPTOR_TYPE", "<sd>O:SYG:SYD:(A;;CCRC;;;LS)</sd>")),
        filt(key="{21111111-2222-3333-4444-555555555555}", name="Block all", sublayer="FWPM_SUBLAYER_UNIVERSAL",
             weight="<type>FWP_UINT8</type><uint8>0</uint8>", eff=0, filter_id=2),
    )
    res = parse_netsh(xml, "ls.xml")
    policy = res.policy
    assert isinstance(policy, Policy)
    compiled = compile_policy(policy)
    ls = compiled.classify("ALE_AUTH_RECV_ACCEPT_V4", {"ALE_USER_ID": Token("S-1-5-19")})
    assert ls.action == "permit" and ls.filter is not None and ls.filter.key == "only-localservice-1"
    other = compiled.classify("ALE_AUTH_RECV_ACCEPT_V4", {"ALE_USER_ID": Token("S-1-5-21-1-2-3-1001")})
    assert other.action == "block" and other.filter is not None and other.filter.key == "block-all-2"
    # Group membership counts too: a token whose groups hold LocalService matches.
    grp = compiled.classify("ALE_AUTH_RECV_ACCEPT_V4", {"ALE_USER_ID": Token("S-1-5-80-1", frozenset({"S-1-5-19"}))})
    assert grp.action == "permit"


def test_non_string_blob_is_bytes() -> None:
    _, f = one(filters_doc(filt(layer="FWPM_LAYER_ALE_AUTH_CONNECT_V4", conds=cond(
        "ALE_SECURITY_ATTRIBUTE_FQBN_VALUE", "EQUAL", "FWP_BYTE_BLOB_TYPE",
        "<byteBlob><data>00ff10</data><asString>...</asString></byteBlob>"))))
    assert f.conditions[0].value == Blob(b"\x00\xff\x10")


def test_string_blob_other_than_app_id_is_text() -> None:
    _, f = one(filters_doc(filt(layer="FWPM_LAYER_ALE_AUTH_CONNECT_V4", conds=cond(
        "PEER_NAME", "EQUAL", "FWP_BYTE_BLOB_TYPE",
        "<byteBlob><data>" + "host.example".encode("utf-16-le").hex() + "0000</data>"
        "<asString>host.example</asString></byteBlob>"))))
    assert f.conditions[0].value == "host.example"


def test_mac_address_byte_array6() -> None:
    _, f = one(filters_doc(filt(layer="FWPM_LAYER_INBOUND_MAC_FRAME_ETHERNET", sublayer="FWPM_SUBLAYER_UNIVERSAL",
                                conds=cond("MAC_REMOTE_ADDRESS", "EQUAL", "FWP_BYTE_ARRAY6_TYPE",
                                           "<byteArray6>00-15-5d-01-02-03</byteArray6>"))))
    assert f.conditions[0].value == 0x00155D010203
    assert f.conditions[0].dtype == DataType.FWP_BYTE_ARRAY6_TYPE


def test_weights_empty_and_uint64() -> None:
    _, f = one(filters_doc(filt(weight="<type>FWP_EMPTY</type>", eff=0x4000000700)))
    assert f.weight.type == DataType.FWP_EMPTY and f.effective_weight == 0x4000000700
    _, f = one(filters_doc(filt(weight="<type>FWP_UINT64</type><uint64>18446744069414584322</uint64>",
                                eff=18446744069414584322)))
    assert f.weight.type == DataType.FWP_UINT64 and f.weight.value == 0xFFFFFFFF00000002


def test_flags() -> None:
    flags = ("<item>FWPM_FILTER_FLAG_PERSISTENT</item><item>FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT</item>"
             "<item>FWPM_FILTER_FLAG_HAS_FILTER_ORIGIN</item><item>FWPM_FILTER_FLAG_INDEXED</item>")
    res, f = one(filters_doc(filt(flags=flags)))
    assert f.flags == FilterFlag.PERSISTENT | FilterFlag.CLEAR_ACTION_RIGHT | FilterFlag.INDEXED
    assert not res.warnings  # HAS_FILTER_ORIGIN is known, noted in the header
    assert any("HAS_FILTER_ORIGIN" in h for h in res.header)


# ----------------------------------------------------------------------------- callouts / sublayers


def test_builtin_silent_drop_callout_keeps_builtin_behaviour() -> None:
    res, f = one(filters_doc(filt(layer="FWPM_LAYER_INBOUND_TRANSPORT_V4_DISCARD", action="FWP_ACTION_CALLOUT_TERMINATING",
                                  filter_type="FWPM_CALLOUT_WFP_TRANSPORT_LAYER_V4_SILENT_DROP")))
    assert f.callout == "WFP_TRANSPORT_LAYER_V4_SILENT_DROP"
    assert "WFP_TRANSPORT_LAYER_V4_SILENT_DROP" not in {c.key for c in res.policy.callouts.values() if not c.builtin}


def test_unknown_callout_assumed_continue_in_filters_dump() -> None:
    res, f = one(filters_doc(filt(action="FWP_ACTION_CALLOUT_UNKNOWN", filter_type="{aaaaaaaa-0000-0000-0000-000000000001}")))
    c = res.policy.callouts[f.callout or ""]
    assert f.callout == "aaaaaaaa-0000-0000-0000-000000000001"
    assert (c.returns, c.assumed, c.guid) == ("continue", True, "aaaaaaaa-0000-0000-0000-000000000001")
    assert any("ASSUMED" in line for line in res.notes[c.key])


def test_state_dump_unregistered_callouts() -> None:
    reg = "{aaaaaaaa-0000-0000-0000-000000000001}"
    flagless = "{aaaaaaaa-0000-0000-0000-000000000002}"
    absent = "{aaaaaaaa-0000-0000-0000-000000000003}"
    filters = "".join(
        filt(key=f"{{1111111{i}-2222-3333-4444-555555555555}}", filter_id=10 + i,
             action="FWP_ACTION_CALLOUT_TERMINATING", filter_type=ct)
        for i, ct in enumerate([reg, flagless, absent])
    )
    data = state_doc(layer_item("FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4",
                                callout_item(reg, "Registered one") + callout_item(flagless, "Flagless", registered=False),
                                filters))
    res = parse_netsh(data, "s.xml")
    cs = res.policy.callouts
    assert cs["aaaaaaaa-0000-0000-0000-000000000001"].returns == "continue"
    assert cs["aaaaaaaa-0000-0000-0000-000000000001"].name == "Registered one"
    assert cs["aaaaaaaa-0000-0000-0000-000000000002"].returns == "unregistered"
    assert cs["aaaaaaaa-0000-0000-0000-000000000003"].returns == "unregistered"
    assert any("without FWPM_CALLOUT_FLAG_REGISTERED" in n for n in res.notes["aaaaaaaa-0000-0000-0000-000000000002"])
    assert any("absent from every layer" in n for n in res.notes["aaaaaaaa-0000-0000-0000-000000000003"])
    # An unregistered callout's terminating filter blocks (§3.4, D-UNREG).
    from wfptui.core.arbitration import compile_policy

    r = compile_policy(res.policy).classify("ALE_AUTH_RECV_ACCEPT_V4", {})
    assert r.action == "block"


def test_state_sublayer_weights_and_unknown_sublayer_in_filters_dump() -> None:
    sl = ("<item><subLayerKey>{bbbbbbbb-0000-0000-0000-000000000001}</subLayerKey><displayData><name>Vendor</name>"
          "<description/></displayData><flags/><providerKey/><providerData/><weight>32770</weight></item>")
    f = filt(sublayer="{bbbbbbbb-0000-0000-0000-000000000001}")
    res = parse_netsh(state_doc(layer_item("FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4", "", f), sublayers=sl), "s.xml")
    s = res.policy.sublayers["bbbbbbbb-0000-0000-0000-000000000001"]
    assert (s.weight, s.name, s.guid) == (32770, "Vendor", "bbbbbbbb-0000-0000-0000-000000000001")
    res2 = parse_netsh(filters_doc(f), "t.xml")
    s2 = res2.policy.sublayers["bbbbbbbb-0000-0000-0000-000000000001"]
    assert s2.weight == 0 and any("ASSUMED weight 0" in n for n in res2.notes[s2.key])


# ----------------------------------------------------------------------------- keys


def test_keys_are_readable_and_unique() -> None:
    assert slug("Port Scanning Prevention Filter") == "port-scanning-prevention-filter"
    assert slug("@{Microsoft.Windows.Photos_2024.1}") == "microsoft-windows-photos-2024-1"
    res = parse_netsh(filters_doc(filt(filter_id=7), filt(filter_id=0),
                                  filt(key="{11111111-2222-3333-4444-555555555556}", filter_id=0),
                                  filt(name="", filter_id=0, key="{31111111-2222-3333-4444-555555555555}")), "t.xml")
    assert [f.key for f in res.filters] == ["test-filter-7", "test-filter-11111111", "test-filter-11111111-2",
                                            "filter-31111111"]


def test_repeated_filter_id_keeps_the_first_and_warns() -> None:
    """WFP filter ids are unique and the policy loader refuses a repeated one (issue 12)."""
    res = parse_netsh(filters_doc(filt(filter_id=7), filt(key="{21111111-2222-3333-4444-555555555555}", filter_id=7)),
                      "t.xml")
    assert [f.key for f in res.filters] == ["test-filter-7"]
    assert [(w.line, w.message) for w in res.warnings] == [
        (5, "filter test-filter-7-2: filterId 7 repeats the filter at line 4; this one is not imported")]


# ----------------------------------------------------------------------------- warnings / errors


def test_unknown_element_reported_with_line() -> None:
    res, _ = one(filters_doc(filt(extra="<newThing>1</newThing>")))
    assert len(res.warnings) == 1
    w = res.warnings[0]
    assert w.line == 4 and "unknown element <newThing>" in w.message


def test_unknown_value_type_drops_filter_with_warning() -> None:
    res = parse_netsh(filters_doc(filt(conds=cond("IP_LOCAL_PORT", "EQUAL", "FWP_DOUBLE", "<double>1.5</double>"))), "t.xml")
    assert not res.filters and len(res.dropped) == 1
    assert "FWP_DOUBLE" in res.warnings[0].message and "not imported" in res.warnings[0].message


def test_unknown_layer_and_field_and_flag_warn() -> None:
    res = parse_netsh(filters_doc(
        filt(layer="FWPM_LAYER_NOPE", filter_id=1),
        filt(key="{21111111-2222-3333-4444-555555555555}", filter_id=2,
             conds=cond("NOPE", "EQUAL", "FWP_UINT8", "<uint8>1</uint8>")),
        filt(key="{31111111-2222-3333-4444-555555555555}", filter_id=3, flags="<item>FWPM_FILTER_FLAG_NEW</item>"),
    ), "t.xml")
    assert [f.filter_id for f in res.filters] == [3]
    msgs = " | ".join(w.message for w in res.warnings)
    assert "unknown layer" in msgs and "unknown condition field" in msgs and "unknown filter flag" in msgs
    assert len(res.dropped) == 2


@pytest.mark.parametrize(
    "bad",
    [
        cond("IP_PROTOCOL", "EQUAL", "FWP_UINT8", "<uint8>300</uint8>"),
        cond("IP_PROTOCOL", "EQUAL", "FWP_UINT8", "<uint8>six</uint8>"),
        cond("IP_REMOTE_ADDRESS", "EQUAL", "FWP_UINT32", "<uint32>10.0.0.300</uint32>"),
        cond("IP_REMOTE_ADDRESS", "EQUAL", "FWP_V4_ADDR_MASK", "<v4AddrMask><addr>10.0.0.0</addr><mask>255.0.255.0</mask></v4AddrMask>"),
        cond("ALE_USER_ID", "EQUAL", "FWP_SECURITY_DESCRIPTOR_TYPE", "<sd>garbage(</sd>"),
        cond("ALE_PACKAGE_ID", "EQUAL", "FWP_SID", "<sid>X-1-0</sid>"),
        cond("IP_LOCAL_PORT", "EQUAL", "FWP_UINT16", ""),
    ],
)
def test_malformed_values_are_input_errors_with_line(bad: str) -> None:
    with pytest.raises(InputError) as ei:
        parse_netsh(filters_doc(filt(conds=bad)), "t.xml")
    assert ei.value.first.line == 4 and ei.value.first.file == "t.xml"


# ----------------------------------------------------------------------------- property tests

_SAMPLE = filters_doc(
    filt(conds=cond("IP_REMOTE_PORT", "RANGE", "FWP_RANGE_TYPE",
                    "<rangeValue><valueLow><type>FWP_UINT16</type><uint16>1</uint16></valueLow>"
                    "<valueHigh><type>FWP_UINT16</type><uint16>2</uint16></valueHigh></rangeValue>")
         + cond("ALE_USER_ID", "EQUAL", "FWP_SECURITY_DESCRIPTOR_TYPE", "<sd>D:(A;;CC;;;LS)</sd>")),
    filt(key="{21111111-2222-3333-4444-555555555555}", action="FWP_ACTION_CALLOUT_TERMINATING",
         filter_type="{aaaaaaaa-0000-0000-0000-000000000001}", filter_id=5),
)


def _only_input_errors(data: bytes) -> None:
    try:
        parse_netsh(data, "fuzz.xml")
    except InputError as e:
        assert e.diagnostics and all(d.file == "fuzz.xml" for d in e.diagnostics)


@given(st.binary(max_size=400))
def test_random_bytes_never_crash(data: bytes) -> None:
    _only_input_errors(data)


@given(st.data())
def test_mutated_dump_never_crashes(data: st.DataObject) -> None:
    doc = bytearray(_SAMPLE)
    for _ in range(data.draw(st.integers(1, 6))):
        kind = data.draw(st.sampled_from(["flip", "delete", "insert", "dup"]))
        pos = data.draw(st.integers(0, len(doc) - 1))
        if kind == "flip":
            doc[pos] = data.draw(st.sampled_from(b"<>/&;\"'x0-9 .:{}\x00\xff"))
        elif kind == "delete":
            n = data.draw(st.integers(1, 40))
            del doc[pos : pos + n]
        elif kind == "insert":
            doc[pos:pos] = data.draw(st.sampled_from([b"<x>", b"</item>", b"&lol;", b"<!DOCTYPE a>", b"999999999999999999999", b"::", b"S-1-"]))
        else:
            n = data.draw(st.integers(1, 200))
            doc[pos:pos] = doc[pos : pos + n]
        if not doc:
            break
    _only_input_errors(bytes(doc))


_TEXT_SLOTS = ["1", "0", "-1", "x", "", "10.0.0.1", "::1", "S-1-5-19", "D:(A;;CC;;;LS)", "FWP_UINT8", "FWP_RANGE_TYPE",
               "FWP_MATCH_RANGE", "FWP_ACTION_CALLOUT_INSPECTION", "FWPM_LAYER_ALE_AUTH_CONNECT_V6", "ff", "\u00e9"]


@given(st.lists(st.sampled_from(_TEXT_SLOTS), min_size=1, max_size=12), st.randoms(use_true_random=False))
def test_mutated_element_texts_never_crash(texts: list[str], rnd) -> None:  # type: ignore[no-untyped-def]
    """Replace element text content (well-formed XML, wrong values): only InputError or warnings."""
    import re

    doc = _SAMPLE.decode("utf-8-sig")
    spans = [m.span(1) for m in re.finditer(r">([^<>]+)<", doc)]
    for t in texts:
        a, b = spans[rnd.randrange(len(spans))]
        doc = doc[:a] + t + doc[b:]
        spans = [m.span(1) for m in re.finditer(r">([^<>]+)<", doc)]
    _only_input_errors(doc.encode())


def test_unknown_encoding_is_an_input_error() -> None:
    with pytest.raises(InputError, match="cannot decode"):
        parse_netsh(b'<?xml version="1.0" encoding="TF-8"?><wfpdiag/>', "enc.xml")


def test_num_items_mismatch_warns() -> None:
    data = filters_doc(filt(conds=cond("IP_PROTOCOL", "EQUAL", "FWP_UINT8", "<uint8>6</uint8>")))
    data = data.replace(b"<filterCondition>", b'<filterCondition numItems="2">')
    res, _ = one(data)
    assert any('numItems="2"> holds 1 items' in w.message for w in res.warnings)


@pytest.mark.parametrize("name", ['say "hi" \\ there', "tab\there", "line1\nline2", "caf\u00e9 \u2713", "del\x7fchar",
                                  "it's \\path\\x", "@{Microsoft.Windows.Photos_2024.1}"])
def test_odd_names_round_trip_through_the_policy_file(name: str) -> None:
    from xml.sax.saxutils import escape

    from wfptui.io.netsh_xml import policy_toml
    from wfptui.io.policy_file import parse_policy

    res, f = one(filters_doc(filt(name=escape(name))))
    assert f.name == name
    loaded = parse_policy(policy_toml(res), "odd.toml")
    assert loaded.filters == res.policy.filters
    assert loaded.filters[0].name == name


def test_state_dump_policy_file_round_trip_with_unregistered_builtin() -> None:
    """A built-in callout the state dump shows unregistered is overridden in the file."""
    from wfptui.io.netsh_xml import policy_toml
    from wfptui.io.policy_file import parse_policy

    f = filt(layer="FWPM_LAYER_INBOUND_TRANSPORT_V4_DISCARD", action="FWP_ACTION_CALLOUT_TERMINATING",
             filter_type="FWPM_CALLOUT_WFP_TRANSPORT_LAYER_V4_SILENT_DROP")
    res = parse_netsh(state_doc(layer_item("FWPM_LAYER_INBOUND_TRANSPORT_V4_DISCARD", "", f)), "s.xml")
    c = res.policy.callouts["WFP_TRANSPORT_LAYER_V4_SILENT_DROP"]
    assert c.builtin and c.returns == "unregistered" and c.silent
    text = policy_toml(res)
    assert 'key = "WFP_TRANSPORT_LAYER_V4_SILENT_DROP"' in text and "UNREGISTERED" in text
    loaded = parse_policy(text, "s.toml")
    assert loaded.callouts == res.policy.callouts and loaded.filters == res.policy.filters


def test_overlong_sddl_falls_back_to_the_sids_it_grants(monkeypatch: pytest.MonkeyPatch) -> None:
    """If the policy loader cannot take an SDDL string (too long), the allow-only SD is
    written as its SID list: the same access check (§4.2), noted in the filter's comment."""
    from wfptui.core import value_scalars as values  # where the loader's text limit lives
    from wfptui.io.netsh_xml import policy_toml
    from wfptui.io.policy_file import parse_policy

    sddl_text = "D:(A;NP;CC;;;S-1-5-80-1-2-3-4-5)(A;NP;CC;;;S-1-5-19)"
    monkeypatch.setattr(values, "_MAX_TEXT", len(sddl_text) - 1)
    res, f = one(filters_doc(filt(conds=cond("ALE_USER_ID", "EQUAL", "FWP_SECURITY_DESCRIPTOR_TYPE",
                                             f"<sd>{sddl_text}</sd>"))))
    sd = f.conditions[0].value
    assert isinstance(sd, SecurityDescriptor) and sd.dacl is not None
    assert [a.sid for a in sd.dacl] == ["S-1-5-80-1-2-3-4-5", "S-1-5-19"]
    assert any("SIDs it grants" in n for n in res.notes[f.key])
    assert parse_policy(policy_toml(res), "sd.toml").filters == res.policy.filters
    # A descriptor with a deny ACE has no such equivalent: the filter is reported, not imported.
    res2 = parse_netsh(filters_doc(filt(conds=cond("ALE_USER_ID", "EQUAL", "FWP_SECURITY_DESCRIPTOR_TYPE",
                                                   "<sd>D:(D;;CC;;;S-1-5-19)(A;;CC;;;WD)(A;;CC;;;S-1-5-80-1-2-3-4-5)</sd>"))), "t.xml")
    assert not res2.filters and "cannot be written" in res2.warnings[0].message
