"""Condition fields (FWPM_CONDITION_*), their flag enums, and name lookup.

``CONDITION_FIELDS`` holds every field that any layer of the Windows 11 dump lists, plus
every row of wfp-model.md §4.4. GUIDs come from public copies of the Windows SDK
``fwpmu.h`` (cross-checked with tailscale/wf ``zguids.go`` and §4.4); the table itself is
the whole generated module ``wfptui/core/catalog/field_table.py``, written by
``tools/gen_catalog.py`` (do not edit it by hand), and the ``ConditionField`` record is in
``wfptui/core/catalog/records.py``. Flag values are §4.5 (FWP_CONDITION_FLAG_*) and §4.6
(reauthorize reasons).

This module reads no files and imports nothing outside the standard library,
``wfptui.core.catalog`` and ``wfptui.core.datatypes``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import IntEnum, IntFlag

from wfptui.core.catalog.field_table import FIELDS
from wfptui.core.catalog.records import FIELD_ALIASES, ConditionField
from wfptui.core.datatypes import WinVersion

__all__ = [
    "CONDITION_FIELDS",
    "FIELD_ALIASES",
    "FLAG_ENUMS",
    "IP_PROTOCOLS",
    "IP_PROTOCOL_NAMES",
    "FIELD_SINCE",
    "ConditionField",
    "ConditionFlag",
    "Direction",
    "L2Flag",
    "ReauthorizeReason",
    "SocketPropertyFlag",
    "UnknownNameError",
    "field_by_guid",
    "field_since",
    "get_field",
    "normalize_guid",
    "parse_flag",
    "suggest",
]


class UnknownNameError(KeyError):
    """An unknown layer, field, sublayer, callout or flag name.

    A ``KeyError`` so ``except KeyError`` keeps working; ``kind`` says what was looked up
    ("layer", "field", "flag" ...), ``name`` is the text as given, and ``suggestions`` are
    close known names (difflib), best first.
    """

    def __init__(self, kind: str, name: str, suggestions: Iterable[str] = ()) -> None:
        self.kind = kind
        self.name = name
        self.suggestions: list[str] = list(suggestions)
        super().__init__(str(self))

    def __str__(self) -> str:
        # KeyError.__str__ would repr() the message; give the plain sentence instead.
        text = f"unknown {self.kind} {self.name!r}"
        if self.suggestions:
            if len(self.suggestions) == 1:
                choices = self.suggestions[0]
            else:
                choices = ", ".join(self.suggestions[:-1]) + " or " + self.suggestions[-1]
            text += f" (did you mean {choices}?)"
        return text


def suggest(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Up to ``n`` candidates close to ``name`` (case-insensitive), best first."""
    by_upper = {c.upper(): c for c in candidates}
    import difflib  # only when a name is wrong: not on the start-up path
    hits = difflib.get_close_matches(name.strip().upper(), list(by_upper), n=n, cutoff=0.6)
    return [by_upper[h] for h in hits]


_GUID_RE = re.compile(r"^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$")


def normalize_guid(text: str) -> str | None:
    """``text`` as a lower-case GUID without braces, or None if it is not a GUID."""
    m = _GUID_RE.match(text.strip())
    return m.group(1).lower() if m else None


#: Every known condition field by short name, in the order the dump first lists them.
CONDITION_FIELDS: dict[str, ConditionField] = {f.name: f for f in FIELDS}

_BY_GUID: dict[str, ConditionField] = {f.guid: f for f in FIELDS if f.guid is not None}


def field_by_guid(guid: str) -> ConditionField | None:
    """The field with this GUID (braces and case ignored), or None."""
    key = normalize_guid(guid)
    return _BY_GUID.get(key) if key is not None else None


def get_field(key: str) -> ConditionField:
    """Look a field up by ``FWPM_CONDITION_X``, ``X``, an alias, or its GUID (any case).

    Raises UnknownNameError (a KeyError) with close names as suggestions.
    """
    text = key.strip()
    if normalize_guid(text) is not None:
        found = field_by_guid(text)
        if found is None:
            raise UnknownNameError("field", key)
        return found
    name = text.upper().removeprefix("FWPM_CONDITION_")
    name = FIELD_ALIASES.get(name, name)
    try:
        return CONDITION_FIELDS[name]
    except KeyError:
        raise UnknownNameError("field", key, suggest(name, [*CONDITION_FIELDS, *FIELD_ALIASES])) from None


class ConditionFlag(IntFlag):
    """FWP_CONDITION_FLAG_* -- bits of the FLAGS field (wfp-model.md §4.5)."""

    IS_LOOPBACK = 0x00000001
    IS_IPSEC_SECURED = 0x00000002
    IS_REAUTHORIZE = 0x00000004
    IS_WILDCARD_BIND = 0x00000008
    IS_RAW_ENDPOINT = 0x00000010
    IS_FRAGMENT = 0x00000020
    IS_FRAGMENT_GROUP = 0x00000040
    IS_IPSEC_NATT_RECLASSIFY = 0x00000080
    REQUIRES_ALE_CLASSIFY = 0x00000100
    IS_IMPLICIT_BIND = 0x00000200
    IS_REASSEMBLED = 0x00000400
    IS_NAME_APP_SPECIFIED = 0x00004000
    IS_PROMISCUOUS = 0x00008000
    IS_AUTH_FW = 0x00010000
    IS_RECLASSIFY = 0x00020000
    IS_OUTBOUND_PASS_THRU = 0x00040000
    IS_INBOUND_PASS_THRU = 0x00080000
    IS_CONNECTION_REDIRECTED = 0x00100000
    IS_PROXY_CONNECTION = 0x00200000
    IS_APPCONTAINER_LOOPBACK = 0x00400000
    IS_NON_APPCONTAINER_LOOPBACK = 0x00800000
    IS_RESERVED = 0x01000000
    IS_HONORING_POLICY_AUTHORIZE = 0x02000000


class ReauthorizeReason(IntFlag):
    """FWP_CONDITION_REAUTHORIZE_REASON_* -- bits of REAUTHORIZE_REASON (wfp-model.md §4.6).

    The last two are the "later builds" values from public fwptypes.h copies; some
    third-party code also lists PRECLASSIFY_* bits 0x400-0x2000/0x8000, which the headers
    read do not define, so they are left out.
    """

    POLICY_CHANGE = 0x00000001
    NEW_ARRIVAL_INTERFACE = 0x00000002
    NEW_NEXTHOP_INTERFACE = 0x00000004
    PROFILE_CROSSING = 0x00000008
    CLASSIFY_COMPLETION = 0x00000010
    IPSEC_PROPERTIES_CHANGED = 0x00000020
    MID_STREAM_INSPECTION = 0x00000040
    SOCKET_PROPERTY_CHANGED = 0x00000080
    NEW_INBOUND_MCAST_BCAST_PACKET = 0x00000100
    EDP_POLICY_CHANGED = 0x00000200
    PROXY_HANDLE_CHANGED = 0x00004000
    CHECK_OFFLOAD = 0x00010000


class SocketPropertyFlag(IntFlag):
    """FWP_CONDITION_SOCKET_PROPERTY_FLAG_* -- bits of ALE_SIO_FIREWALL_SYSTEM_PORT (§4.5)."""

    IS_SYSTEM_PORT_RPC = 0x1
    ALLOW_EDGE_TRAFFIC = 0x2
    DENY_EDGE_TRAFFIC = 0x4


class L2Flag(IntFlag):
    """FWP_CONDITION_L2_* -- bits of L2_FLAGS at the MAC/vSwitch layers (Win8; §4.5, fwptypes.h)."""

    IS_NATIVE_ETHERNET = 0x01
    IS_WIFI = 0x02
    IS_MOBILE_BROADBAND = 0x04
    IS_WIFI_DIRECT_DATA = 0x08
    IS_VM2VM = 0x10
    IS_MALFORMED_PACKET = 0x20
    IS_IP_FRAGMENT_GROUP = 0x40
    IF_CONNECTOR_PRESENT = 0x80


#: Which flag enum names the bits of a flags-valued field.
FLAG_ENUMS: dict[str, type[IntFlag]] = {
    "FLAGS": ConditionFlag,
    "REAUTHORIZE_REASON": ReauthorizeReason,
    "ALE_REAUTH_REASON": ReauthorizeReason,
    "ALE_SIO_FIREWALL_SYSTEM_PORT": SocketPropertyFlag,
    "L2_FLAGS": L2Flag,
}

# The C prefix of each enum's members, stripped when parsing "FWP_CONDITION_FLAG_IS_LOOPBACK".
_FLAG_PREFIXES: dict[type[IntFlag], str] = {
    ConditionFlag: "FWP_CONDITION_FLAG_",
    ReauthorizeReason: "FWP_CONDITION_REAUTHORIZE_REASON_",
    SocketPropertyFlag: "FWP_CONDITION_SOCKET_PROPERTY_FLAG_",
    L2Flag: "FWP_CONDITION_L2_",
}

_UINT32_MAX = 0xFFFFFFFF


def parse_flag(field: str, token: str | int) -> int:
    """The integer value of ``token`` for the flags field ``field``.

    ``token`` may be an int, a number string ("1", "0x1"), a member name with or without
    its C prefix in any case ("is_loopback", "FWP_CONDITION_FLAG_IS_LOOPBACK"), or several
    of these joined by ``|`` or ``,``. Raises UnknownNameError for an unknown field, a
    field that is not flags-valued, or an unknown member; ValueError for a number outside
    0..2**32-1.
    """
    fname = get_field(field).name
    enum = FLAG_ENUMS.get(fname)
    if enum is None:
        raise UnknownNameError("flags field", field, suggest(fname, FLAG_ENUMS))
    if isinstance(token, bool):  # bool is an int, but True is not a flag value
        raise ValueError(f"not a flag value: {token!r}")
    if isinstance(token, int):
        return _check_range(token)
    value = 0
    for part in re.split(r"[|,]", token):
        value |= _parse_one(enum, part.strip(), token)
    return value


def _check_range(value: int) -> int:
    if not 0 <= value <= _UINT32_MAX:
        raise ValueError(f"flag value {value} is outside 0..0xFFFFFFFF")
    return value


def _parse_one(enum: type[IntFlag], part: str, whole: str) -> int:
    if not part:
        raise UnknownNameError("flag", whole)
    if part[0].isdigit():  # a number: 1, 0x1, 0b1 (names never start with a digit)
        try:
            number = int(part, 0)
        except ValueError:
            raise ValueError(f"bad flag number {part!r}") from None
        return _check_range(number)
    name = part.upper().removeprefix(_FLAG_PREFIXES[enum])
    member = enum.__members__.get(name)
    if member is None:
        raise UnknownNameError("flag", part, suggest(name, enum.__members__))
    return int(member)


class Direction(IntEnum):
    """FWP_DIRECTION -- value of the DIRECTION field (wfp-model.md §1.2, §4.6)."""

    OUTBOUND = 0
    INBOUND = 1


#: IANA protocol numbers by common lower-case name (value of IP_PROTOCOL; §4.4).
IP_PROTOCOLS: dict[str, int] = {
    "hopopt": 0,
    "icmp": 1,
    "igmp": 2,
    "ipv4": 4,
    "tcp": 6,
    "egp": 8,
    "udp": 17,
    "ipv6": 41,
    "ipv6-route": 43,
    "ipv6-frag": 44,
    "rsvp": 46,
    "gre": 47,
    "esp": 50,
    "ah": 51,
    "icmpv6": 58,
    "ipv6-nonxt": 59,
    "ipv6-opts": 60,
    "ospf": 89,
    "pim": 103,
    "vrrp": 112,
    "l2tp": 115,
    "sctp": 132,
    "udplite": 136,
}

#: Protocol number -> name (the first name for each number above).
IP_PROTOCOL_NAMES: dict[int, str] = {num: name for name, num in reversed(IP_PROTOCOLS.items())}


# ----------------------------------------------------------------------------- versions

_WIN8_FIELDS = (
    "INTERFACE_MAC_ADDRESS", "MAC_LOCAL_ADDRESS", "MAC_REMOTE_ADDRESS", "ETHER_TYPE", "VLAN_ID",
    "VSWITCH_TENANT_NETWORK_ID", "NDIS_PORT", "NDIS_MEDIA_TYPE", "NDIS_PHYSICAL_MEDIA_TYPE", "L2_FLAGS",
    "MAC_LOCAL_ADDRESS_TYPE", "MAC_REMOTE_ADDRESS_TYPE", "MAC_SOURCE_ADDRESS", "MAC_DESTINATION_ADDRESS",
    "MAC_SOURCE_ADDRESS_TYPE", "MAC_DESTINATION_ADDRESS_TYPE", "IP_SOURCE_PORT", "VSWITCH_ICMP_TYPE",
    "IP_DESTINATION_PORT", "VSWITCH_ICMP_CODE", "VSWITCH_ID", "VSWITCH_NETWORK_TYPE",
    "VSWITCH_SOURCE_INTERFACE_ID", "VSWITCH_DESTINATION_INTERFACE_ID", "VSWITCH_SOURCE_VM_ID",
    "VSWITCH_DESTINATION_VM_ID", "VSWITCH_SOURCE_INTERFACE_TYPE", "VSWITCH_DESTINATION_INTERFACE_TYPE",
    "ALE_PACKAGE_ID", "ALE_ORIGINAL_APP_ID",
)
_WIN7_FIELDS = (
    "IP_NEXTHOP_ADDRESS", "IP_NEXTHOP_INTERFACE", "NEXTHOP_INTERFACE_TYPE", "NEXTHOP_TUNNEL_TYPE",
    "NEXTHOP_INTERFACE_INDEX", "NEXTHOP_SUB_INTERFACE_INDEX", "ORIGINAL_PROFILE_ID", "CURRENT_PROFILE_ID",
    "LOCAL_INTERFACE_PROFILE_ID", "ARRIVAL_INTERFACE_PROFILE_ID", "NEXTHOP_INTERFACE_PROFILE_ID",
    "REAUTHORIZE_REASON", "ALE_REAUTH_REASON", "ORIGINAL_ICMP_TYPE", "IP_PHYSICAL_ARRIVAL_INTERFACE",
    "IP_PHYSICAL_NEXTHOP_INTERFACE", "INTERFACE_QUARANTINE_EPOCH",
)

#: The first Windows version that has a condition field; a field not listed is in Windows
#: Vista (Vista SP1 counts as Vista here: WinVersion has no service packs). Source: the
#: tables "Conditions available for Windows 8 and Windows Server 2012" and "... for Windows
#: 7, Windows Server 2008 R2, and later" of "Filtering Condition Identifiers"
#: (learn.microsoft.com/windows/win32/fwp/filtering-condition-identifiers-, fwpmu.h).
#: COMPARTMENT_ID is not on that page; wfp-model.md §4.4 gives Windows 10 RS2 (fwpmu.h),
#: kept here as WIN10 (the catalogue's nearest version). The page's newer #define names of
#: older fields (FWPM_CONDITION_INTERFACE = IP_LOCAL_INTERFACE, ALE_SIO_FIREWALL_SOCKET_PROPERTY
#: = ALE_SIO_FIREWALL_SYSTEM_PORT) are FIELD_ALIASES and take the field's version.
FIELD_SINCE: dict[str, WinVersion] = {
    **dict.fromkeys(_WIN7_FIELDS, WinVersion.WIN7),
    **dict.fromkeys(_WIN8_FIELDS, WinVersion.WIN8),
    "COMPARTMENT_ID": WinVersion.WIN10,
}


def field_since(name: str) -> WinVersion:
    """The first Windows version that has field ``name`` (FIELD_SINCE; default Vista)."""
    return FIELD_SINCE.get(FIELD_ALIASES.get(name, name), WinVersion.VISTA)
