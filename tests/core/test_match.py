"""Condition semantics (wfp-model.md §4.1, §4.2): the reference and the compiled closures."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wfptui.core.datatypes import DataType
from wfptui.core.match import compile_filter, compile_group, condition_matches, filter_matches
from wfptui.core.model import (
    EMPTY,
    ActionType,
    AddrMask,
    Blob,
    Condition,
    Filter,
    MatchType,
    Range,
    Token,
    Value,
)

M = MatchType
U16 = DataType.FWP_UINT16


def c(match: MatchType, value: Value, dtype: DataType = U16, fld: str = "IP_LOCAL_PORT") -> Condition:
    return Condition(fld, match, value, dtype)


def check(cond: Condition, value: Value, expected: bool) -> None:
    """Reference and compiled agree with the expected outcome."""
    assert condition_matches(cond, value) is expected
    assert compile_group([cond])(value) is expected


@pytest.mark.parametrize(
    ("match", "cond", "value", "expected"),
    [
        (M.FWP_MATCH_EQUAL, 80, 80, True),
        (M.FWP_MATCH_EQUAL, 80, 81, False),
        (M.FWP_MATCH_NOT_EQUAL, 80, 81, True),
        (M.FWP_MATCH_NOT_EQUAL, 80, 80, False),
        (M.FWP_MATCH_GREATER, 80, 81, True),
        (M.FWP_MATCH_GREATER, 80, 80, False),
        (M.FWP_MATCH_LESS, 80, 79, True),
        (M.FWP_MATCH_LESS, 80, 80, False),
        (M.FWP_MATCH_GREATER_OR_EQUAL, 80, 80, True),
        (M.FWP_MATCH_GREATER_OR_EQUAL, 80, 79, False),
        (M.FWP_MATCH_LESS_OR_EQUAL, 80, 80, True),
        (M.FWP_MATCH_LESS_OR_EQUAL, 80, 81, False),
        (M.FWP_MATCH_FLAGS_ALL_SET, 0b101, 0b111, True),
        (M.FWP_MATCH_FLAGS_ALL_SET, 0b101, 0b100, False),
        (M.FWP_MATCH_FLAGS_ANY_SET, 0b101, 0b100, True),
        (M.FWP_MATCH_FLAGS_ANY_SET, 0b101, 0b010, False),
        (M.FWP_MATCH_FLAGS_NONE_SET, 0b101, 0b010, True),
        (M.FWP_MATCH_FLAGS_NONE_SET, 0b101, 0b001, False),
        (M.FWP_MATCH_TYPE_MAX, 80, 80, False),
    ],
)
def test_integer_match_types(match: MatchType, cond: int, value: int, expected: bool) -> None:
    check(c(match, cond), value, expected)


def test_range_is_inclusive_and_same_kind() -> None:
    rng = c(M.FWP_MATCH_RANGE, Range(1024, 65535), DataType.FWP_RANGE_TYPE)
    for value, expected in [(1023, False), (1024, True), (50000, True), (65535, True), (65536, False)]:
        check(rng, value, expected)
    check(rng, "1024", False)  # no implicit conversion
    strings = c(M.FWP_MATCH_RANGE, Range("b", "d"), DataType.FWP_RANGE_TYPE, "ALE_APP_ID")
    check(strings, "c", True)
    check(strings, "e", False)
    check(strings, 3, False)


def test_windows_firewall_icmp_ranges_exclude_4_and_13() -> None:
    # §4.2: RANGE 0..3 / 5..12 / 14..255 ORed on one field exclude exactly 4 and 13.
    conds = [c(M.FWP_MATCH_RANGE, Range(lo, hi), DataType.FWP_RANGE_TYPE, "IP_REMOTE_PORT")
             for lo, hi in [(0, 3), (5, 12), (14, 255)]]
    f = Filter("icmp", "ALE_AUTH_RECV_ACCEPT_V4", ActionType.FWP_ACTION_PERMIT, conditions=tuple(conds))
    compiled = compile_filter(f)
    for code in range(256):
        expected = code not in (4, 13)
        assert filter_matches(f, {"IP_REMOTE_PORT": code}) is expected
        assert compiled({"IP_REMOTE_PORT": code}) is expected


def test_prefix_is_a_suffix_test() -> None:
    app = "\\device\\harddiskvolume3\\windows\\system32\\svchost.exe"
    pre = c(M.FWP_MATCH_PREFIX, "svchost.exe", DataType.FWP_BYTE_BLOB_TYPE, "ALE_APP_ID")
    check(pre, app, True)
    check(pre, "\\device\\x\\svchost.exe.bak", False)
    check(c(M.FWP_MATCH_PREFIX, "\\device", DataType.FWP_BYTE_BLOB_TYPE, "ALE_APP_ID"), app, False)
    notpre = c(M.FWP_MATCH_NOT_PREFIX, "svchost.exe", DataType.FWP_BYTE_BLOB_TYPE, "ALE_APP_ID")
    check(notpre, app, False)
    check(notpre, "\\device\\x\\other.exe", True)
    check(notpre, 5, False)
    blob = c(M.FWP_MATCH_PREFIX, Blob(b"\x02\x03"), DataType.FWP_BYTE_BLOB_TYPE, "X")
    check(blob, Blob(b"\x01\x02\x03"), True)
    check(blob, Blob(b"\x02\x03\x01"), False)


def test_string_equality_and_case_insensitive() -> None:
    eq = c(M.FWP_MATCH_EQUAL, "\\device\\a.exe", DataType.FWP_BYTE_BLOB_TYPE, "ALE_APP_ID")
    check(eq, "\\device\\a.exe", True)
    check(eq, "\\DEVICE\\A.EXE", False)
    ci = c(M.FWP_MATCH_EQUAL_CASE_INSENSITIVE, "Host.Example", DataType.FWP_UNICODE_STRING_TYPE, "PEER_NAME")
    check(ci, "host.EXAMPLE", True)
    check(ci, "other", False)
    check(ci, 1, False)
    check(c(M.FWP_MATCH_GREATER, "b", DataType.FWP_UNICODE_STRING_TYPE, "PEER_NAME"), "c", True)
    check(c(M.FWP_MATCH_LESS, "b", DataType.FWP_UNICODE_STRING_TYPE, "PEER_NAME"), "c", False)


def test_address_masks() -> None:
    net = c(M.FWP_MATCH_EQUAL, AddrMask(0x0A000000, 8, 32), DataType.FWP_V4_ADDR_MASK, "IP_REMOTE_ADDRESS")
    check(net, 0x0A0B0C0D, True)
    check(net, 0x0B000000, False)
    check(net, "10.0.0.1", False)
    check(c(M.FWP_MATCH_NOT_EQUAL, AddrMask(0x0A000000, 8, 32), DataType.FWP_V4_ADDR_MASK), 0x0B000000, True)
    check(c(M.FWP_MATCH_NOT_EQUAL, AddrMask(0x0A000000, 8, 32), DataType.FWP_V4_ADDR_MASK), 0x0A000001, False)
    any4 = c(M.FWP_MATCH_EQUAL, AddrMask(0, 0, 32), DataType.FWP_V4_ADDR_MASK)
    check(any4, 0xFFFFFFFF, True)
    v6 = c(M.FWP_MATCH_EQUAL, AddrMask(0xFD00 << 112, 8, 128), DataType.FWP_V6_ADDR_MASK)
    check(v6, (0xFD00 << 112) | 1, True)
    check(v6, (0xFE80 << 112) | 1, False)


def test_empty_value_matches_only_equal_empty() -> None:
    check(c(M.FWP_MATCH_EQUAL, EMPTY, DataType.FWP_EMPTY), EMPTY, True)
    for match in M:
        if match != M.FWP_MATCH_EQUAL:
            check(c(match, 80), EMPTY, False)
        check(c(match, Range(0, 65535), DataType.FWP_RANGE_TYPE), EMPTY, False)
    check(c(M.FWP_MATCH_EQUAL, 0), EMPTY, False)
    check(c(M.FWP_MATCH_NOT_EQUAL, EMPTY, DataType.FWP_EMPTY), EMPTY, False)
    # A known value never equals "unknown", and is not-equal to it.
    check(c(M.FWP_MATCH_EQUAL, EMPTY, DataType.FWP_EMPTY), 0, False)
    check(c(M.FWP_MATCH_NOT_EQUAL, EMPTY, DataType.FWP_EMPTY), 0, True)


def test_missing_field_is_empty() -> None:
    f = Filter("f", "L", ActionType.FWP_ACTION_BLOCK,
               conditions=(c(M.FWP_MATCH_NOT_EQUAL, 80),))
    assert not filter_matches(f, {})
    assert not compile_filter(f)({})
    g = Filter("g", "L", ActionType.FWP_ACTION_BLOCK,
               conditions=(c(M.FWP_MATCH_EQUAL, EMPTY, DataType.FWP_EMPTY),))
    assert filter_matches(g, {}) and compile_filter(g)({})
    assert not filter_matches(g, {"IP_LOCAL_PORT": 1})


def test_no_implicit_conversion() -> None:
    check(c(M.FWP_MATCH_EQUAL, 80), "80", False)
    check(c(M.FWP_MATCH_NOT_EQUAL, 80), "80", False)
    check(c(M.FWP_MATCH_FLAGS_ANY_SET, 1), "1", False)
    check(c(M.FWP_MATCH_EQUAL, "80", DataType.FWP_UNICODE_STRING_TYPE), 80, False)


def test_sid_conditions_case_insensitive() -> None:
    sid = c(M.FWP_MATCH_EQUAL, "S-1-0-0", DataType.FWP_SID, "ALE_PACKAGE_ID")
    check(sid, "s-1-0-0", True)
    check(sid, "S-1-15-2-1", False)
    not_null = c(M.FWP_MATCH_NOT_EQUAL, "S-1-0-0", DataType.FWP_SID, "ALE_PACKAGE_ID")
    check(not_null, "S-1-15-2-1", True)
    check(not_null, "S-1-0-0", False)
    check(not_null, EMPTY, False)
    token = Token("S-1-5-21-1-2-3-1001", frozenset({"S-1-5-32-545"}))
    check(c(M.FWP_MATCH_EQUAL, "s-1-5-32-545", DataType.FWP_SID, "ALE_USER_ID"), token, True)
    check(c(M.FWP_MATCH_EQUAL, "S-1-5-18", DataType.FWP_SID, "ALE_USER_ID"), token, False)


def test_security_descriptor_conditions_use_access_check() -> None:
    sddl = pytest.importorskip("wfptui.core.sddl")
    sd = sddl.parse_sddl("O:LSD:(A;;CC;;;S-1-5-21-1-2-3-1001)")
    alice = Token("S-1-5-21-1-2-3-1001")
    bob = Token("S-1-5-21-1-2-3-1002")
    eq = c(M.FWP_MATCH_EQUAL, sd, DataType.FWP_SECURITY_DESCRIPTOR_TYPE, "ALE_USER_ID")
    ne = c(M.FWP_MATCH_NOT_EQUAL, sd, DataType.FWP_SECURITY_DESCRIPTOR_TYPE, "ALE_USER_ID")
    check(eq, alice, True)
    check(eq, bob, False)
    check(ne, alice, False)
    check(ne, bob, True)
    check(eq, EMPTY, False)
    check(eq, "S-1-5-21-1-2-3-1001", False)


def test_and_across_fields_or_within_field_any_order() -> None:
    conds = (
        c(M.FWP_MATCH_EQUAL, 80),
        Condition("IP_PROTOCOL", M.FWP_MATCH_EQUAL, 6, DataType.FWP_UINT8),
        c(M.FWP_MATCH_EQUAL, 443),  # not adjacent to the other port: still ORed (Q12)
    )
    f = Filter("f", "L", ActionType.FWP_ACTION_BLOCK, conditions=conds)
    for values, expected in [
        ({"IP_LOCAL_PORT": 80, "IP_PROTOCOL": 6}, True),
        ({"IP_LOCAL_PORT": 443, "IP_PROTOCOL": 6}, True),
        ({"IP_LOCAL_PORT": 443, "IP_PROTOCOL": 17}, False),
        ({"IP_LOCAL_PORT": 22, "IP_PROTOCOL": 6}, False),
    ]:
        assert filter_matches(f, values) is expected
        assert compile_filter(f)(values) is expected
    assert filter_matches(Filter("all", "L", ActionType.FWP_ACTION_BLOCK), {})
    assert compile_filter(Filter("all", "L", ActionType.FWP_ACTION_BLOCK))({})


def test_not_equal_inside_or_group_is_literal() -> None:
    # §4.1 [derived]: "A != x OR A != y" is always true for a known value.
    conds = (c(M.FWP_MATCH_NOT_EQUAL, 1), c(M.FWP_MATCH_NOT_EQUAL, 2))
    f = Filter("f", "L", ActionType.FWP_ACTION_BLOCK, conditions=conds)
    assert all(filter_matches(f, {"IP_LOCAL_PORT": v}) for v in (1, 2, 3))
    assert not filter_matches(f, {})


def test_skip_field_leaves_out_one_group() -> None:
    conds = (c(M.FWP_MATCH_EQUAL, 80), Condition("IP_PROTOCOL", M.FWP_MATCH_EQUAL, 6, DataType.FWP_UINT8))
    f = Filter("f", "L", ActionType.FWP_ACTION_BLOCK, conditions=conds)
    assert compile_filter(f, skip_field="IP_LOCAL_PORT")({"IP_LOCAL_PORT": 1, "IP_PROTOCOL": 6})


# -- compiled closures agree with the reference on every match type and value kind

_values = st.one_of(
    st.integers(0, 8), st.sampled_from(["a", "b", "ab", "B", "S-1-0-0", "s-1-0-0"]),
    st.just(EMPTY), st.sampled_from([Blob(b"a"), Blob(b"ba")]),
)


@st.composite
def any_condition(draw: st.DrawFn) -> Condition:
    match = draw(st.sampled_from(list(M)))
    value: Value
    kind = draw(st.sampled_from(["plain", "range", "mask", "sid"]))
    if kind == "range":
        lo, hi = sorted([draw(st.integers(0, 8)), draw(st.integers(0, 8))])
        value, dtype = Range(lo, hi), DataType.FWP_RANGE_TYPE
    elif kind == "mask":
        value, dtype = AddrMask(draw(st.integers(0, 8)), draw(st.integers(28, 32)), 32), DataType.FWP_V4_ADDR_MASK
    elif kind == "sid":
        value, dtype = draw(st.sampled_from(["S-1-0-0", "s-1-0-0", "S-1-5"])), DataType.FWP_SID
    else:
        value, dtype = draw(_values), U16
    return Condition("X", match, value, dtype)


@given(st.lists(any_condition(), min_size=1, max_size=3), _values)
def test_compiled_group_agrees_with_reference(conds: list[Condition], value: Value) -> None:
    expected = any(condition_matches(cond, value) for cond in conds)
    assert compile_group(conds)(value) is expected
