"""Effective weights (wfp-model.md §3.2) and the documented auto-weight rule."""

from __future__ import annotations

import pytest

from wfptui.core.datatypes import DataType
from wfptui.core.model import EMPTY, AddrMask, Condition, MatchType, Range, Weight
from wfptui.core.weights import UINT64_MAX, auto_weight, effective_weight

M = MatchType
EMPTY_W = Weight(DataType.FWP_EMPTY)


def eq(fld: str, value: object, dtype: DataType = DataType.FWP_UINT16) -> Condition:
    return Condition(fld, M.FWP_MATCH_EQUAL, value, dtype)  # type: ignore[arg-type]


def mask(addr: int, prefix: int, fld: str = "IP_REMOTE_ADDRESS") -> Condition:
    return Condition(fld, M.FWP_MATCH_EQUAL, AddrMask(addr, prefix, 32), DataType.FWP_V4_ADDR_MASK)


def test_uint64_is_exact() -> None:
    assert effective_weight(Weight(DataType.FWP_UINT64, 0), [eq("IP_LOCAL_PORT", 80)]) == 0
    assert effective_weight(Weight(DataType.FWP_UINT64, UINT64_MAX), []) == 2**64 - 1
    assert effective_weight(Weight(DataType.FWP_UINT64, 0xFFFFFFFFFFFFFFFD), []) == 0xFFFFFFFFFFFFFFFD


def test_uint8_is_a_range_index_in_the_top_four_bits() -> None:
    conds = [eq("IP_LOCAL_PORT", 80)]
    for index in range(16):
        w = effective_weight(Weight(DataType.FWP_UINT8, index), conds)
        assert w >> 60 == index
        assert w & ((1 << 60) - 1) == auto_weight(conds)
    assert effective_weight(Weight(DataType.FWP_UINT8, 3), []) == 3 << 60


def test_empty_weight_is_range_zero() -> None:
    assert effective_weight(EMPTY_W, []) == 0
    assert 0 < effective_weight(EMPTY_W, [eq("IP_LOCAL_PORT", 80)]) < 1 << 60


@pytest.mark.parametrize(
    "weight",
    [Weight(DataType.FWP_UINT8, 16), Weight(DataType.FWP_UINT8, -1), Weight(DataType.FWP_UINT8, None),
     Weight(DataType.FWP_UINT64, 2**64), Weight(DataType.FWP_UINT64, -1), Weight(DataType.FWP_UINT32, 1)],
)
def test_out_of_range_weights_raise(weight: Weight) -> None:
    with pytest.raises(ValueError):
        effective_weight(weight, [])


def test_auto_weight_exact_layout() -> None:
    # Two fields, both exact, no masks, no OR alternatives.
    assert auto_weight([eq("IP_LOCAL_PORT", 80), eq("IP_PROTOCOL", 6)]) == (2 << 52) | (2 << 44) | (255 << 28)
    # One /24 mask: a field, not exact, 24 prefix bits.
    assert auto_weight([mask(0x0A000000, 24)]) == (1 << 52) | (24 << 36) | (255 << 28)
    # A /32 mask is exact.
    assert auto_weight([mask(0x0A000001, 32)]) == (1 << 52) | (1 << 44) | (32 << 36) | (255 << 28)
    # Two ports ORed: one field, not exact, one extra alternative.
    assert auto_weight([eq("IP_LOCAL_PORT", 80), eq("IP_LOCAL_PORT", 443)]) == (1 << 52) | (254 << 28)
    # OR of masks counts its widest arm.
    assert auto_weight([mask(0x0A000000, 8), mask(0xC0A80000, 16)]) == (1 << 52) | (8 << 36) | (254 << 28)
    assert auto_weight([eq("X", EMPTY, DataType.FWP_EMPTY)]) == (1 << 52) | (1 << 44) | (255 << 28)


def test_more_specific_first() -> None:
    port = eq("IP_LOCAL_PORT", 80)
    proto = eq("IP_PROTOCOL", 6, DataType.FWP_UINT8)
    rng = Condition("IP_REMOTE_PORT", M.FWP_MATCH_RANGE, Range(1, 2), DataType.FWP_RANGE_TYPE)
    ranked = [
        auto_weight([port, proto, rng]),  # three fields
        auto_weight([port, proto]),  # two exact fields
        auto_weight([port, rng]),  # two fields, one exact
        auto_weight([port]),  # one exact field
        auto_weight([mask(0x0A000000, 24)]),  # one mask, /24
        auto_weight([mask(0x0A000000, 8)]),  # one mask, /8
        auto_weight([eq("IP_LOCAL_PORT", 80), eq("IP_LOCAL_PORT", 81), eq("IP_LOCAL_PORT", 82)]),  # OR of 3
        auto_weight([]),
    ]
    assert ranked == sorted(ranked, reverse=True)
    assert len(set(ranked)) == len(ranked)


def test_counters_saturate_below_bit_60() -> None:
    many = [eq(f"F{i}", i) for i in range(300)] + [mask(0, 32, f"A{i}") for i in range(20)]
    w = auto_weight(many)
    assert w < 1 << 60
    assert w >> 52 == 255
    assert (w >> 36) & 0xFF == 255


def test_condition_order_does_not_matter() -> None:
    a = [eq("IP_LOCAL_PORT", 80), mask(0x0A000000, 8), eq("IP_LOCAL_PORT", 81)]
    assert auto_weight(a) == auto_weight(list(reversed(a)))
