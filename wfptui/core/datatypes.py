"""FWP data types and Windows versions: the enums every other core module builds on.

Values are Windows' own (wfp-model.md §4.3, fwptypes.h).
"""

from __future__ import annotations

from enum import IntEnum


class DataType(IntEnum):
    """FWP_DATA_TYPE (fwptypes.h), wfp-model.md §4.3."""

    FWP_EMPTY = 0
    FWP_UINT8 = 1
    FWP_UINT16 = 2
    FWP_UINT32 = 3
    FWP_UINT64 = 4
    FWP_INT8 = 5
    FWP_INT16 = 6
    FWP_INT32 = 7
    FWP_INT64 = 8
    FWP_FLOAT = 9
    FWP_DOUBLE = 10
    FWP_BYTE_ARRAY16_TYPE = 11
    FWP_BYTE_BLOB_TYPE = 12
    FWP_SID = 13
    FWP_SECURITY_DESCRIPTOR_TYPE = 14
    FWP_TOKEN_INFORMATION_TYPE = 15
    FWP_TOKEN_ACCESS_INFORMATION_TYPE = 16
    FWP_UNICODE_STRING_TYPE = 17
    FWP_BYTE_ARRAY6_TYPE = 18
    FWP_BITMAP_INDEX_TYPE = 19
    FWP_BITMAP_ARRAY64_TYPE = 20
    FWP_V4_ADDR_MASK = 0x100
    FWP_V6_ADDR_MASK = 0x101
    FWP_RANGE_TYPE = 0x102


#: Unsigned integer types and their bit widths.
UINT_BITS: dict[DataType, int] = {
    DataType.FWP_UINT8: 8,
    DataType.FWP_UINT16: 16,
    DataType.FWP_UINT32: 32,
    DataType.FWP_UINT64: 64,
}

#: Signed integer types and their bit widths.
INT_BITS: dict[DataType, int] = {
    DataType.FWP_INT8: 8,
    DataType.FWP_INT16: 16,
    DataType.FWP_INT32: 32,
    DataType.FWP_INT64: 64,
}


class WinVersion(IntEnum):
    """Windows releases that changed the set of WFP layers (wfp-model.md §1)."""

    VISTA = 0
    WIN7 = 1
    WIN8 = 2
    WIN8_1 = 3
    WIN10 = 4
    WIN11 = 5

    @classmethod
    def parse(cls, text: str) -> WinVersion:
        """Parse ``vista | win7 | win8 | win8.1 | win10 | win11`` (any case)."""
        key = text.strip().lower().replace(".", "_").replace("-", "_")
        try:
            return cls[key.upper()]
        except KeyError:
            raise ValueError(
                f"unknown Windows version {text!r} (expected vista, win7, win8, win8.1, win10 or win11)"
            ) from None

    @property
    def label(self) -> str:
        """The spelling used in scenario files."""
        return self.name.lower().replace("_", ".")
