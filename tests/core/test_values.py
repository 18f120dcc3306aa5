"""core.values: parsing and formatting condition/packet values by FWP type (wfp-model.md §4)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wfptui.core.datatypes import DataType as D
from wfptui.core.fields import UnknownNameError
from wfptui.core.layers import get_layer
from wfptui.core.model import EMPTY, AddrMask, Blob, MatchType, Range, SecurityDescriptor, Token
from wfptui.core.values import (
    ValueParseError,
    format_address,
    format_value,
    json_value,
    normalize_app_id,
    parse_address,
    parse_packet_value,
    parse_value,
    toml_value,
)

M = MatchType
EQ = M.FWP_MATCH_EQUAL
V4 = get_layer("ALE_AUTH_CONNECT_V4")
V6 = get_layer("ALE_AUTH_CONNECT_V6")
RECV4 = get_layer("ALE_AUTH_RECV_ACCEPT_V4")
FLOW4 = get_layer("ALE_FLOW_ESTABLISHED_V4")
LISTEN4 = get_layer("ALE_AUTH_LISTEN_V4")


def err(field: str, layer: object, match: MatchType | None, raw: object) -> str:
    with pytest.raises(ValueParseError) as ei:
        parse_value(field, layer, match, raw)  # type: ignore[arg-type]
    return str(ei.value)


# ----------------------------------------------------------------------------- integers


def test_uint16_port() -> None:
    assert parse_value("IP_LOCAL_PORT", V4, EQ, 445) == (445, D.FWP_UINT16)
    assert parse_value("FWPM_CONDITION_IP_LOCAL_PORT", V4, EQ, "0x1F") == (31, D.FWP_UINT16)
    assert parse_value("ip_local_port", V4, EQ, "80") == (80, D.FWP_UINT16)


@pytest.mark.parametrize(
    ("field", "raw", "msg"),
    [
        ("IP_LOCAL_PORT", 70000, "value 70000 does not fit FWP_UINT16 (0..65535)"),
        ("IP_LOCAL_PORT", -1, "value -1 does not fit FWP_UINT16 (0..65535)"),
        ("IP_PROTOCOL", 256, "value 256 does not fit FWP_UINT8 (0..255)"),
        ("IP_LOCAL_INTERFACE", 1 << 64, "does not fit FWP_UINT64"),
    ],
)
def test_integer_out_of_range(field: str, raw: int, msg: str) -> None:
    assert msg in err(field, V4, EQ, raw)


def test_bool_rejected() -> None:
    assert "boolean" in err("IP_LOCAL_PORT", V4, EQ, True)


def test_uint64_above_int64_as_string() -> None:
    v, t = parse_value("IP_LOCAL_INTERFACE", V4, EQ, "0xffffffffffffffff")
    assert (v, t) == ((1 << 64) - 1, D.FWP_UINT64)
    assert parse_value("IP_LOCAL_INTERFACE", V4, EQ, {"uint64": "18446744073709551615"}) == (v, t)


def test_ip_protocol_names() -> None:
    for name, num in (("tcp", 6), ("UDP", 17), ("icmp", 1), ("icmpv6", 58), ("IPPROTO_TCP", 6)):
        assert parse_value("IP_PROTOCOL", V4, EQ, name) == (num, D.FWP_UINT8)
    assert "unknown protocol" in err("IP_PROTOCOL", V4, EQ, "tcpp")


def test_direction_names() -> None:
    assert parse_value("DIRECTION", FLOW4, EQ, "inbound") == (1, D.FWP_UINT32)
    assert parse_value("DIRECTION", FLOW4, EQ, "FWP_DIRECTION_OUTBOUND") == (0, D.FWP_UINT32)
    assert parse_value("DIRECTION", FLOW4, EQ, 1) == (1, D.FWP_UINT32)
    assert "unknown direction" in err("DIRECTION", FLOW4, EQ, "sideways")


# ----------------------------------------------------------------------------- flags


@pytest.mark.parametrize(
    "raw",
    ["is_loopback", "IS_LOOPBACK", "FWP_CONDITION_FLAG_IS_LOOPBACK", 1, "0x1", ["is_loopback"]],
)
def test_flag_spellings(raw: object) -> None:
    assert parse_value("FLAGS", V4, M.FWP_MATCH_FLAGS_ALL_SET, raw) == (1, D.FWP_UINT32)


def test_flag_lists_and_pipes_are_ored() -> None:
    want = (0x5, D.FWP_UINT32)
    assert parse_value("FLAGS", V4, M.FWP_MATCH_FLAGS_ANY_SET, ["is_loopback", "is_reauthorize"]) == want
    assert parse_value("FLAGS", V4, M.FWP_MATCH_FLAGS_ANY_SET, "is_loopback|is_reauthorize") == want


def test_unknown_flag_suggests() -> None:
    msg = err("FLAGS", V4, M.FWP_MATCH_FLAGS_ALL_SET, "is_lopback")
    assert "unknown flag" in msg and "IS_LOOPBACK" in msg


def test_reauthorize_reason_and_socket_property_flags() -> None:
    assert parse_value("REAUTHORIZE_REASON", V4, M.FWP_MATCH_FLAGS_ANY_SET, "policy_change") == (
        1,
        D.FWP_UINT32,
    )
    assert parse_value("ALE_SIO_FIREWALL_SYSTEM_PORT", LISTEN4, EQ, "is_system_port_rpc") == (1, D.FWP_UINT32)


def test_flags_match_only_on_unsigned() -> None:
    assert "unsigned integer" in err("ALE_APP_ID", V4, M.FWP_MATCH_FLAGS_ALL_SET, "System")


# ----------------------------------------------------------------------------- addresses


def test_ipv4_address_and_mask() -> None:
    assert parse_value("IP_REMOTE_ADDRESS", V4, EQ, "10.0.0.1") == (0x0A000001, D.FWP_UINT32)
    assert parse_value("IP_REMOTE_ADDRESS", V4, EQ, 0x0A000001) == (0x0A000001, D.FWP_UINT32)
    assert parse_value("IP_REMOTE_ADDRESS", V4, EQ, "10.0.0.0/8") == (
        AddrMask(0x0A000000, 8, 32),
        D.FWP_V4_ADDR_MASK,
    )


def test_ipv6_address_and_mask() -> None:
    v, t = parse_value("IP_REMOTE_ADDRESS", V6, EQ, "fd00::1")
    assert (v, t) == ((0xFD << 120) | 1, D.FWP_BYTE_ARRAY16_TYPE)
    assert parse_value("IP_REMOTE_ADDRESS", V6, EQ, "fd00::/8") == (
        AddrMask(0xFD << 120, 8, 128),
        D.FWP_V6_ADDR_MASK,
    )


def test_wrong_family_is_clear() -> None:
    msg = err("IP_REMOTE_ADDRESS", V4, EQ, "fd00::1")
    assert "IPv4" in msg and "IPv6" in msg
    assert "IPv6 address at this layer" in err("IP_REMOTE_ADDRESS", V6, EQ, "10.0.0.1")
    assert "IPv4 address at this layer" in err("IP_REMOTE_ADDRESS", V4, EQ, "fd00::/8")


def test_without_layer_either_family() -> None:
    assert parse_value("IP_REMOTE_ADDRESS", None, EQ, "fd00::1")[1] == D.FWP_BYTE_ARRAY16_TYPE
    assert parse_value("IP_REMOTE_ADDRESS", None, EQ, "10.0.0.1")[1] == D.FWP_UINT32


def test_bad_address() -> None:
    assert "not an IP address" in err("IP_REMOTE_ADDRESS", V4, EQ, "10.0.0.300")
    assert "prefix length" in err("IP_REMOTE_ADDRESS", V4, EQ, "10.0.0.0/33")


def test_mask_not_allowed_with_greater() -> None:
    assert "mask" in err("IP_REMOTE_ADDRESS", V4, M.FWP_MATCH_GREATER, "10.0.0.0/8")


def test_parse_and_format_address() -> None:
    assert parse_address("10.0.0.1") == (0x0A000001, 32)
    assert parse_address("fd00::1") == ((0xFD << 120) | 1, 128)
    assert format_address(0x0A000001, 32) == "10.0.0.1"
    assert format_address(1, 128) == "::1"
    with pytest.raises(ValueParseError):
        parse_address("nope")


@given(st.integers(0, (1 << 32) - 1))
def test_ipv4_round_trip(n: int) -> None:
    assert parse_address(format_address(n, 32)) == (n, 32)


@given(st.integers(0, (1 << 128) - 1))
def test_ipv6_round_trip(n: int) -> None:
    assert parse_address(format_address(n, 128)) == (n, 128)


# ----------------------------------------------------------------------------- ranges


def test_range() -> None:
    assert parse_value("IP_REMOTE_PORT", V4, M.FWP_MATCH_RANGE, [1024, 65535]) == (
        Range(1024, 65535),
        D.FWP_RANGE_TYPE,
    )
    v, t = parse_value("IP_REMOTE_ADDRESS", V4, M.FWP_MATCH_RANGE, ["10.0.0.1", "10.0.0.255"])
    assert v == Range(0x0A000001, 0x0A0000FF) and t == D.FWP_RANGE_TYPE


def test_range_errors() -> None:
    assert "low 2000 is above high 1000" in err("IP_REMOTE_PORT", V4, M.FWP_MATCH_RANGE, [2000, 1000])
    assert "[low, high]" in err("IP_REMOTE_PORT", V4, M.FWP_MATCH_RANGE, 80)
    assert "[low, high]" in err("IP_REMOTE_PORT", V4, M.FWP_MATCH_RANGE, [1, 2, 3])
    assert "does not fit FWP_UINT16" in err("IP_REMOTE_PORT", V4, M.FWP_MATCH_RANGE, [1, 70000])
    # a 2-list with another match type
    assert 'write match = "range"' in err("IP_REMOTE_PORT", V4, EQ, [1024, 65535])
    assert "one value" in err("IP_REMOTE_PORT", V4, EQ, [1, 2, 3])


def test_range_not_on_sid_or_sd() -> None:
    assert "sortable" in err("ALE_PACKAGE_ID", V4, M.FWP_MATCH_RANGE, ["S-1-0-0", "S-1-5-18"])


# ----------------------------------------------------------------------------- app ids


@pytest.mark.parametrize(
    ("path", "want"),
    [
        (r"C:\Windows\System32\svchost.exe", r"\device\harddiskvolume3\windows\system32\svchost.exe"),
        ("C:/Program Files/App/app.exe", r"\device\harddiskvolume3\program files\app\app.exe"),
        (r"D:\x.exe", r"\device\harddiskvolume4\x.exe"),
        (r"A:\x.exe", r"\device\harddiskvolume1\x.exe"),
        (r"\Device\HarddiskVolume7\X.EXE", r"\device\harddiskvolume7\x.exe"),
        (r"\\?\C:\x.exe", r"\device\harddiskvolume3\x.exe"),
        (r"\\server\share\x.exe", r"\device\mup\server\share\x.exe"),
        (r"%SystemRoot%\system32\svchost.exe", r"\device\harddiskvolume3\windows\system32\svchost.exe"),
        ("System", "System"),
        ("system", "System"),
    ],
)
def test_normalize_app_id(path: str, want: str) -> None:
    assert normalize_app_id(path) == want
    assert normalize_app_id(want) == want  # idempotent


def test_app_id_real_dump_volume() -> None:
    # filters-win11.xml shows C: as \device\harddiskvolume3.
    assert normalize_app_id(r"C:\Windows\system32\svchost.exe").startswith("\\device\\harddiskvolume3\\")


def test_app_id_relative_rejected() -> None:
    with pytest.raises(ValueParseError, match="not absolute"):
        normalize_app_id("browser.exe")
    with pytest.raises(ValueParseError, match="environment variable"):
        normalize_app_id(r"%NOPE%\x.exe")


def test_app_id_condition() -> None:
    v, t = parse_value("ALE_APP_ID", V4, EQ, r"C:\Program Files\Browser\browser.exe")
    assert v == r"\device\harddiskvolume3\program files\browser\browser.exe" and t == D.FWP_BYTE_BLOB_TYPE
    # PREFIX is Windows' suffix test: a tail stays a tail, lower-cased
    assert parse_value("ALE_APP_ID", V4, M.FWP_MATCH_PREFIX, r"\Browser.exe") == (
        r"\browser.exe",
        D.FWP_BYTE_BLOB_TYPE,
    )


# ----------------------------------------------------------------------------- SIDs, SDs, tokens


def test_sid_field() -> None:
    assert parse_value("ALE_PACKAGE_ID", V4, M.FWP_MATCH_NOT_EQUAL, "s-1-0-0") == ("S-1-0-0", D.FWP_SID)
    assert parse_value("ALE_PACKAGE_ID", V4, EQ, "AC") == ("S-1-15-2-1", D.FWP_SID)
    assert "not a SID" in err("ALE_PACKAGE_ID", V4, EQ, "S-1-x")


def test_sd_condition_from_sddl() -> None:
    v, t = parse_value("ALE_USER_ID", V4, EQ, "O:LSD:(A;;CC;;;S-1-5-19)")
    assert isinstance(v, SecurityDescriptor) and t == D.FWP_SECURITY_DESCRIPTOR_TYPE
    assert v.owner == "S-1-5-19" and v.dacl is not None and v.dacl[0].sid == "S-1-5-19"


def test_sd_condition_convenience_sids() -> None:
    v, t = parse_value("ALE_USER_ID", V4, EQ, "S-1-5-21-1-2-3-1001")
    assert t == D.FWP_SECURITY_DESCRIPTOR_TYPE and isinstance(v, SecurityDescriptor)
    assert v.sddl == "D:(A;;CC;;;S-1-5-21-1-2-3-1001)"
    v2, _ = parse_value("ALE_USER_ID", V4, EQ, ["S-1-5-18", "LS"])
    assert isinstance(v2, SecurityDescriptor) and v2.sddl == "D:(A;;CC;;;S-1-5-18)(A;;CC;;;S-1-5-19)"


def test_sd_only_equal_not_equal() -> None:
    assert (
        parse_value("ALE_USER_ID", V4, M.FWP_MATCH_NOT_EQUAL, "S-1-5-18")[1] == D.FWP_SECURITY_DESCRIPTOR_TYPE
    )
    assert "sortable" in err("ALE_USER_ID", V4, M.FWP_MATCH_GREATER, "S-1-5-18")


def test_bad_sddl() -> None:
    assert "unsupported ACE type" in err("ALE_USER_ID", V4, EQ, "D:(AU;;CC;;;WD)")


def test_packet_token() -> None:
    assert parse_packet_value("ALE_USER_ID", V4, "S-1-5-21-1-2-3-1001") == (
        Token("S-1-5-21-1-2-3-1001"),
        D.FWP_TOKEN_ACCESS_INFORMATION_TYPE,
    )
    v, _ = parse_packet_value("ALE_USER_ID", V4, {"user": "S-1-5-18", "groups": ["BA"]})
    assert v == Token("S-1-5-18", frozenset({"S-1-5-32-544"}))


def test_packet_values() -> None:
    assert parse_packet_value("FLAGS", V4, "is_loopback|is_reauthorize") == (5, D.FWP_UINT32)
    assert parse_packet_value("IP_LOCAL_PORT", V4, "FWP_EMPTY") == (EMPTY, D.FWP_EMPTY)
    with pytest.raises(ValueParseError):
        parse_packet_value("IP_REMOTE_ADDRESS", V4, "10.0.0.0/8")


# ----------------------------------------------------------------------------- empty and typed


def test_empty() -> None:
    assert parse_value("IP_LOCAL_PORT", V4, EQ, {"empty": True}) == (EMPTY, D.FWP_EMPTY)
    assert "only works with match" in err("IP_LOCAL_PORT", V4, M.FWP_MATCH_NOT_EQUAL, {"empty": True})
    assert "empty = true" in err("IP_LOCAL_PORT", V4, EQ, {"empty": False})


def test_typed_tables() -> None:
    assert parse_value("IP_LOCAL_PORT", V4, EQ, {"uint16": 80}) == (80, D.FWP_UINT16)
    assert parse_value("IP_LOCAL_PORT", V4, EQ, {"FWP_UINT16": 80}) == (80, D.FWP_UINT16)
    assert "does not fit IP_LOCAL_PORT" in err("IP_LOCAL_PORT", V4, EQ, {"uint32": 80})
    assert "unknown value type" in err("IP_LOCAL_PORT", V4, EQ, {"uint17": 80})
    assert parse_value("IP_REMOTE_ADDRESS", V4, EQ, {"v4_addr_mask": "10.0.0.0/8"})[1] == D.FWP_V4_ADDR_MASK
    assert parse_value("ALE_APP_ID", V4, EQ, {"blob": "0102ff"}) == (
        Blob(b"\x01\x02\xff"),
        D.FWP_BYTE_BLOB_TYPE,
    )
    assert parse_value("ALE_PACKAGE_ID", V4, EQ, {"sid": "S-1-0-0"}) == ("S-1-0-0", D.FWP_SID)
    assert parse_value("IP_REMOTE_PORT", V4, M.FWP_MATCH_RANGE, {"range": [1, 2]}) == (
        Range(1, 2),
        D.FWP_RANGE_TYPE,
    )
    assert "one key" in err("IP_LOCAL_PORT", V4, EQ, {"uint16": 1, "uint8": 2})


def test_match_rules() -> None:
    assert "FWP_UNICODE_STRING_TYPE" in err("ALE_APP_ID", V4, M.FWP_MATCH_EQUAL_CASE_INSENSITIVE, "System")
    assert "strings and blobs" in err("IP_LOCAL_PORT", V4, M.FWP_MATCH_PREFIX, 80)
    assert parse_value("IP_LOCAL_PORT", V4, M.FWP_MATCH_GREATER, 1023) == (1023, D.FWP_UINT16)
    assert parse_value("IP_LOCAL_PORT", V4, M.FWP_MATCH_NOT_EQUAL, 80) == (80, D.FWP_UINT16)
    assert "not a match type" in err("IP_LOCAL_PORT", V4, M.FWP_MATCH_TYPE_MAX, 80)


def test_unknown_field_is_unknown_name_error() -> None:
    with pytest.raises(UnknownNameError):
        parse_value("IP_LOCAL_PROT", V4, EQ, 80)


# ----------------------------------------------------------------------------- formatting


def test_format_value() -> None:
    assert format_value(0x0A000001, D.FWP_UINT32, "IP_REMOTE_ADDRESS") == "10.0.0.1"
    assert format_value((0xFD << 120) | 1, D.FWP_BYTE_ARRAY16_TYPE, "IP_REMOTE_ADDRESS") == "fd00::1"
    assert format_value(5, D.FWP_UINT32, "FLAGS") == "IS_LOOPBACK|IS_REAUTHORIZE"
    assert format_value(Range(1024, 65535), D.FWP_RANGE_TYPE, "IP_REMOTE_PORT") == "1024..65535"
    assert format_value(AddrMask(0x0A000000, 8, 32), D.FWP_V4_ADDR_MASK, "IP_REMOTE_ADDRESS") == "10.0.0.0/8"
    assert format_value(6, D.FWP_UINT8, "IP_PROTOCOL") == "tcp"
    assert format_value(EMPTY) == "FWP_EMPTY"
    assert format_value(80) == "80"
    assert format_value(Token("S-1-5-18")) == "S-1-5-18"


def test_json_value() -> None:
    assert json_value(0x0A000001, D.FWP_UINT32, "IP_REMOTE_ADDRESS") == "10.0.0.1"
    assert json_value(5, D.FWP_UINT32, "FLAGS") == 5
    assert json_value(Range(1, 2), D.FWP_RANGE_TYPE, "IP_REMOTE_PORT") == [1, 2]
    assert json_value(EMPTY) is None
    assert json_value(Token("S-1-5-18")) == "S-1-5-18"
    sd, _ = parse_value("ALE_USER_ID", V4, EQ, "O:LSD:(A;;CC;;;S-1-5-19)")
    assert json_value(sd) == "O:LSD:(A;;CC;;;S-1-5-19)"


# ----------------------------------------------------------------------------- toml round trip

_CASES: list[tuple[str, object, MatchType, object]] = [
    ("IP_LOCAL_PORT", V4, EQ, 80),
    ("IP_REMOTE_ADDRESS", V4, EQ, "10.1.2.3"),
    ("IP_REMOTE_ADDRESS", V6, EQ, "::1"),
    ("IP_REMOTE_ADDRESS", V6, M.FWP_MATCH_RANGE, ["::1", "::ff"]),
    ("IP_REMOTE_ADDRESS", V4, EQ, "10.0.0.0/8"),
    ("FLAGS", V4, M.FWP_MATCH_FLAGS_ALL_SET, 0x80000000 | 1),
    ("FLAGS", V4, M.FWP_MATCH_FLAGS_ALL_SET, ["is_loopback", "is_reauthorize"]),
    ("IP_LOCAL_INTERFACE", V4, EQ, "0xffffffffffffffff"),
    ("ALE_APP_ID", V4, EQ, "C:\\x.exe"),
    ("ALE_USER_ID", V4, EQ, "O:LSD:(A;;CC;;;S-1-5-19)"),
    ("ALE_PACKAGE_ID", V4, M.FWP_MATCH_NOT_EQUAL, "S-1-0-0"),
    ("IP_LOCAL_PORT", V4, EQ, {"empty": True}),
    ("ALE_APP_ID", V4, EQ, {"blob": "00ff"}),
    ("IP_PROTOCOL", V4, EQ, "udp"),
    ("IP_PROTOCOL", V4, EQ, 47),
]


@pytest.mark.parametrize(("field", "layer", "match", "raw"), _CASES)
def test_toml_value_round_trip(field: str, layer: object, match: MatchType, raw: object) -> None:
    v, t = parse_value(field, layer, match, raw)  # type: ignore[arg-type]
    assert parse_value(field, layer, match, toml_value(v, t, field, layer)) == (v, t)  # type: ignore[arg-type]


@given(st.integers(0, 65535), st.integers(0, 65535))
def test_port_range_property(a: int, b: int) -> None:
    lo, hi = min(a, b), max(a, b)
    v, t = parse_value("IP_LOCAL_PORT", V4, M.FWP_MATCH_RANGE, [lo, hi])
    assert v == Range(lo, hi)
    assert format_value(v, t, "IP_LOCAL_PORT") == f"{lo}..{hi}"


@given(st.one_of(st.text(max_size=30), st.integers(), st.lists(st.integers(), max_size=3), st.booleans()))
def test_never_crashes(raw: object) -> None:
    for field, layer in (("IP_REMOTE_ADDRESS", V4), ("ALE_APP_ID", V4), ("FLAGS", V4), ("ALE_USER_ID", V4)):
        for match in (EQ, M.FWP_MATCH_RANGE, M.FWP_MATCH_FLAGS_ANY_SET):
            try:
                parse_value(field, layer, match, raw)
            except ValueParseError as exc:
                assert str(exc)
                assert not re.search(r"Traceback", str(exc))


_ALL_LAYERS = [
    get_layer(n)
    for n in (
        "ALE_AUTH_CONNECT_V4",
        "ALE_AUTH_LISTEN_V6",
        "INBOUND_TRANSPORT_V4",
        "ALE_FLOW_ESTABLISHED_V6",
        "INBOUND_MAC_FRAME_ETHERNET",
        "IPFORWARD_V4",
    )
]
_raws = st.one_of(
    st.text(max_size=20),
    st.integers(-(2**70), 2**70),
    st.booleans(),
    st.lists(st.one_of(st.integers(-5, 2**33), st.text(max_size=5)), max_size=3),
    st.dictionaries(
        st.sampled_from(["uint8", "uint64", "sid", "sd", "blob", "empty", "range", "x", "user"]),
        st.one_of(st.integers(-5, 2**65), st.text(max_size=8), st.booleans()),
        max_size=2,
    ),
)


@given(st.sampled_from(_ALL_LAYERS), st.data(), st.sampled_from(list(MatchType) + [None]), _raws)
def test_every_field_never_crashes(
    layer: object, data: st.DataObject, match: MatchType | None, raw: object
) -> None:
    lf = data.draw(st.sampled_from(layer.fields))  # type: ignore[attr-defined]
    try:
        value, dtype = parse_value(lf.name, layer, match, raw)  # type: ignore[arg-type]
    except ValueParseError as exc:
        assert str(exc)
        return
    format_value(value, dtype, lf.name)
    json_value(value, dtype, lf.name)
    # whatever parses can be written back (dump_policy) and reads back the same
    back = parse_value(lf.name, layer, match, toml_value(value, dtype, lf.name, layer))  # type: ignore[arg-type]
    assert back == (value, dtype)


def test_format_ipv6_range_with_layer() -> None:
    v, t = parse_value("IP_REMOTE_ADDRESS", V6, M.FWP_MATCH_RANGE, ["::1", "::ff"])
    assert format_value(v, t, "IP_REMOTE_ADDRESS", V6) == "::1..::ff"
    assert json_value(v, t, "IP_REMOTE_ADDRESS", V6) == ["::1", "::ff"]
    v4, t4 = parse_value("IP_REMOTE_ADDRESS", V4, M.FWP_MATCH_RANGE, ["0.0.0.1", "0.0.0.255"])
    assert format_value(v4, t4, "IP_REMOTE_ADDRESS", V4) == "0.0.0.1..0.0.0.255"
