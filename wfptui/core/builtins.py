"""Built-in sublayers, callouts and providers that every Windows host has.

Sublayers are wfp-model.md §3.8: GUIDs from fwpmu.h, weights *observed* in two Windows 11
``netsh wfp show state`` dumps -- Microsoft documents no weights (open question Q11; a
public code comment claiming MPSSVC_WSH = 0xFFFF and TEREDO = 0xFFFE contradicts both
dumps, which show 3 and 1). The non-public Windows Defender sublayer (weight 4096) has
no known GUID and is left out.

Callouts are the FWPM_CALLOUT_* GUIDs of public fwpmu.h copies; ``layers`` are the
``applicableLayer`` the Win11 dump registers them at (or, when the dump does not register
one, the layer its name states). Only the silent-drop callouts are simulated for real
(§2.4): every other built-in callout is modelled as returning "continue" (or, for the
edge-traversal ones the Windows Firewall uses in allow rules, "permit") and its ``note``
says so.

This module reads no files and imports only the standard library and ``wfptui.core``.
"""

from __future__ import annotations

from dataclasses import dataclass

from wfptui.core.fields import normalize_guid

__all__ = [
    "BUILTIN_CALLOUTS",
    "BUILTIN_SUBLAYERS",
    "CALLOUT_ALIASES",
    "PROVIDERS",
    "SUBLAYER_ALIASES",
    "BuiltinCallout",
    "BuiltinSublayer",
    "get_callout",
    "get_provider",
    "get_sublayer",
    "provider_name",
]


@dataclass(frozen=True, slots=True)
class BuiltinSublayer:
    """A built-in sublayer (wfp-model.md §3.8). ``weight`` is the observed UINT16 weight."""

    name: str  # short: "UNIVERSAL", "MPSSVC_WF" ...
    guid: str  # lower case, no braces
    weight: int
    since: str  # as the reference gives it ("Vista", "Win8", "newer SDKs" ...)
    note: str

    @property
    def fwpm_name(self) -> str:
        """``FWPM_SUBLAYER_`` + name."""
        return "FWPM_SUBLAYER_" + self.name


@dataclass(frozen=True, slots=True)
class BuiltinCallout:
    """A built-in callout and how the simulator models it.

    ``returns`` is "permit", "block" or "continue"; ``hard`` means the callout clears
    FWPS_RIGHT_ACTION_WRITE with its decision (§3.4); ``silent`` means it drops without a
    TCP RST / ICMP error and without a drop net event (§2.4).
    """

    name: str  # short: "WFP_TRANSPORT_LAYER_V4_SILENT_DROP" ...
    guid: str
    layers: tuple[str, ...]  # short layer names (wfptui.core.layers)
    returns: str
    hard: bool
    silent: bool
    note: str

    @property
    def fwpm_name(self) -> str:
        """``FWPM_CALLOUT_`` + name."""
        return "FWPM_CALLOUT_" + self.name


_OBSERVED = "weight observed in Win11 dumps (undocumented, Q11)"

BUILTIN_SUBLAYERS: tuple[BuiltinSublayer, ...] = (
    BuiltinSublayer("INSPECTION", "877519e1-e6a9-41a5-81b4-8c4f118e4a60", 0, "Vista",
                    f"lowest; for inspection-only filters; {_OBSERVED}"),
    BuiltinSublayer("TEREDO", "ba69dc66-5176-4979-9c89-26a7b46a8327", 1, "Vista",
                    f"edge traversal (alias EDGE_TRAVERSAL); {_OBSERVED}"),
    BuiltinSublayer("MPSSVC_WF", "b3cdd441-af90-41ba-a745-7c6008ff2301", 2, "newer SDKs (NTDDI_WIN8 block)",
                    f"Windows Firewall rules; {_OBSERVED}"),
    BuiltinSublayer("MPSSVC_WSH", "b3cdd441-af90-41ba-a745-7c6008ff2300", 3, "newer SDKs (NTDDI_WIN8 block)",
                    f"Windows Service Hardening; {_OBSERVED}"),
    BuiltinSublayer("MPSSVC_QUARANTINE", "b3cdd441-af90-41ba-a745-7c6008ff2302", 4, "newer SDKs",
                    f"interface quarantine; {_OBSERVED}"),
    BuiltinSublayer("MPSSVC_EDP", "09a47e38-fa97-471b-b123-18bcd7e65071", 5, "newer SDKs",
                    f"enterprise data protection; {_OBSERVED}"),
    BuiltinSublayer("MPSSVC_TENANT_RESTRICTIONS", "1ec6c7e1-fdd9-478a-b55f-ff8ba1d2c17d", 6, "newer SDKs",
                    f"tenant restrictions; {_OBSERVED}"),
    BuiltinSublayer("MPSSVC_APP_ISOLATION", "ffe221c3-92a8-4564-a59f-dafb70756020", 7, "newer SDKs",
                    f"AppContainer/UWP isolation; {_OBSERVED}"),
    # Not in public headers: §3.8 knows only the name (from third-party code); the GUID and
    # weight are the dump's "Edge traversal Teredo Authorization Sublayer" [observed].
    BuiltinSublayer("EDGE_TRAVERSAL_TEREDO_AUTHORIZATION", "7b6b11f6-cbb5-433c-ae06-6a4f0076e49e", 8, "?",
                    f"non-public; GUID from wfpstate-win11.xml; {_OBSERVED}"),
    BuiltinSublayer("TCP_CHIMNEY_OFFLOAD", "337608b9-b7d5-4d5f-82f9-3618618bc058", 8192, "Vista", _OBSERVED),
    BuiltinSublayer("TCP_TEMPLATES", "24421dcf-0ac5-4caa-9e14-50f6e3636af0", 8704, "Win8", _OBSERVED),
    BuiltinSublayer("IPSEC_SECURITY_REALM", "37a57701-5884-4964-92b8-3e704688b0ad", 12288, "Win10 TH", _OBSERVED),
    BuiltinSublayer("SECURE_SOCKET", "15a66e17-3f3c-4f7b-aa6c-812aa613dd82", 16384, "Vista", _OBSERVED),
    BuiltinSublayer("LIPS", "1b75c0ce-ff60-4711-a70f-b4958cc3b2d0", 32767, "Vista",
                    f"legacy IPsec; {_OBSERVED}"),
    BuiltinSublayer("UNIVERSAL", "eebecc03-ced4-4380-819a-2734397b2b74", 32768, "Vista",
                    "default sublayer of every layer (null sublayer key); built-in IPsec/ALE enforcement "
                    f"and NAT callouts; {_OBSERVED}"),
    BuiltinSublayer("IPSEC_DOSP", "e076d572-5d3d-48ef-802b-909eddb098bd", 34816, "Win7",
                    f"IPsec DoS protection; {_OBSERVED}"),
    BuiltinSublayer("IPSEC_FORWARD_OUTBOUND_TUNNEL", "a5082e73-8f71-4559-8a9a-101cea04ef87", 36864, "Vista SP1",
                    _OBSERVED),
    BuiltinSublayer("IPSEC_TUNNEL", "83f299ed-9ff4-4967-aff4-c309f4dab827", 40960, "Vista", _OBSERVED),
    BuiltinSublayer("RPC_AUDIT", "758c84f4-fb48-4de9-9aeb-3ed9551ab1fd", 49152, "Vista", _OBSERVED),
)

#: Other spellings of sublayer names (short form).
SUBLAYER_ALIASES: dict[str, str] = {"EDGE_TRAVERSAL": "TEREDO"}

_IPSEC = "IPsec enforcement; the real behaviour (SA lookup, dropping unsecured traffic) is not simulated"
_NOT_SIMULATED = "real behaviour not simulated; modelled as continue"
_EDGE = (
    "edge-traversal authorization used by Windows Firewall allow rules (TEREDO sublayer, CALLOUT_TERMINATING); "
    "really it permits or blocks depending on the socket's edge-traversal setting -- modelled as a soft permit"
)


def _continue(name: str, guid: str, layers: tuple[str, ...], note: str) -> BuiltinCallout:
    return BuiltinCallout(name, guid, layers, "continue", False, False, note)


BUILTIN_CALLOUTS: tuple[BuiltinCallout, ...] = (
    # Stealth: the only built-ins with a simulated effect (§2.4, D-PORTSCAN). Used by the
    # Windows Firewall "Port Scanning Prevention Filter" at INBOUND_TRANSPORT_V{4,6}_DISCARD.
    BuiltinCallout("WFP_TRANSPORT_LAYER_V4_SILENT_DROP", "eda08606-2494-4d78-89bc-67837c03b969",
                   ("INBOUND_TRANSPORT_V4_DISCARD",), "block", True, True,
                   "drops the discarded segment silently: no TCP RST is sent (stealth mode)"),
    BuiltinCallout("WFP_TRANSPORT_LAYER_V6_SILENT_DROP", "8693cc74-a075-4156-b476-9286eece814e",
                   ("INBOUND_TRANSPORT_V6_DISCARD",), "block", True, True,
                   "drops the discarded segment silently: no TCP RST is sent (stealth mode)"),
    # IPsec (UNIVERSAL sublayer).
    _continue("IPSEC_INBOUND_TRANSPORT_V4", "5132900d-5e84-4b5f-80e4-01741e81ff10", ("INBOUND_TRANSPORT_V4",), _IPSEC),
    _continue("IPSEC_INBOUND_TRANSPORT_V6", "49d3ac92-2a6c-4dcf-955f-1c3be009dd99", ("INBOUND_TRANSPORT_V6",), _IPSEC),
    _continue("IPSEC_OUTBOUND_TRANSPORT_V4", "4b46bf0a-4523-4e57-aa38-a87987c910d9", ("OUTBOUND_TRANSPORT_V4",), _IPSEC),
    _continue("IPSEC_OUTBOUND_TRANSPORT_V6", "38d87722-ad83-4f11-a91f-df0fb077225b", ("OUTBOUND_TRANSPORT_V6",), _IPSEC),
    _continue("IPSEC_INBOUND_TUNNEL_V4", "191a8a46-0bf8-46cf-b045-4b45dfa6a324", ("INBOUND_TRANSPORT_V4",), _IPSEC),
    _continue("IPSEC_INBOUND_TUNNEL_V6", "80c342e3-1e53-4d6f-9b44-03df5aeee154", ("INBOUND_TRANSPORT_V6",), _IPSEC),
    _continue("IPSEC_OUTBOUND_TUNNEL_V4", "70a4196c-835b-4fb0-98e8-075f4d977d46", ("OUTBOUND_TRANSPORT_V4",), _IPSEC),
    _continue("IPSEC_OUTBOUND_TUNNEL_V6", "f1835363-a6a5-4e62-b180-23db789d8da6", ("OUTBOUND_TRANSPORT_V6",), _IPSEC),
    _continue("IPSEC_FORWARD_INBOUND_TUNNEL_V4", "28829633-c4f0-4e66-873f-844db2a899c7", ("IPFORWARD_V4",), _IPSEC),
    _continue("IPSEC_FORWARD_INBOUND_TUNNEL_V6", "af50bec2-c686-429a-884d-b74443e7b0b4", ("IPFORWARD_V6",), _IPSEC),
    _continue("IPSEC_FORWARD_OUTBOUND_TUNNEL_V4", "fb532136-15cb-440b-937c-1717ca320c40", ("IPFORWARD_V4",), _IPSEC),
    _continue("IPSEC_FORWARD_OUTBOUND_TUNNEL_V6", "dae640cc-e021-4bee-9eb6-a48b275c8c1d", ("IPFORWARD_V6",), _IPSEC),
    _continue("IPSEC_INBOUND_INITIATE_SECURE_V4", "7dff309b-ba7d-4aba-91aa-ae5c6640c944",
              ("ALE_AUTH_RECV_ACCEPT_V4",), _IPSEC),
    _continue("IPSEC_INBOUND_INITIATE_SECURE_V6", "a9a0d6d9-c58c-474e-8aeb-3cfe99d6d53d",
              ("ALE_AUTH_RECV_ACCEPT_V6",), _IPSEC),
    _continue("IPSEC_INBOUND_TUNNEL_ALE_ACCEPT_V4", "3df6e7de-fd20-48f2-9f26-f854444cba79",
              ("ALE_AUTH_RECV_ACCEPT_V4",), _IPSEC),
    _continue("IPSEC_INBOUND_TUNNEL_ALE_ACCEPT_V6", "a1e392d3-72ac-47bb-87a7-0122c69434ab",
              ("ALE_AUTH_RECV_ACCEPT_V6",), _IPSEC),
    _continue("IPSEC_ALE_CONNECT_V4", "6ac141fc-f75d-4203-b9c8-48e6149c2712", ("ALE_AUTH_CONNECT_V4",), _IPSEC),
    _continue("IPSEC_ALE_CONNECT_V6", "4c0dda05-e31f-4666-90b0-b3dfad34129a", ("ALE_AUTH_CONNECT_V6",), _IPSEC),
    # Not registered in the Win11 dump; layer from the name.
    _continue("IPSEC_DOSP_FORWARD_V4", "2fcb56ec-cd37-4b4f-b108-62c2b1850a0c", ("IPFORWARD_V4",),
              f"IPsec DoS protection (Win7); {_NOT_SIMULATED}"),
    _continue("IPSEC_DOSP_FORWARD_V6", "6d08a342-db9e-4fbe-9ed2-57374ce89f79", ("IPFORWARD_V6",),
              f"IPsec DoS protection (Win7); {_NOT_SIMULATED}"),
    # TCP chimney offload (unregistered in the dump: offload is gone) and TCP templates.
    _continue("TCP_CHIMNEY_CONNECT_LAYER_V4", "f3e10ab3-2c25-4279-ac36-c30fc181bec4", ("ALE_AUTH_CONNECT_V4",),
              f"TCP chimney offload control; {_NOT_SIMULATED}"),
    _continue("TCP_CHIMNEY_CONNECT_LAYER_V6", "39e22085-a341-42fc-a279-aec94e689c56", ("ALE_AUTH_CONNECT_V6",),
              f"TCP chimney offload control; {_NOT_SIMULATED}"),
    _continue("TCP_CHIMNEY_ACCEPT_LAYER_V4", "e183ecb2-3a7f-4b54-8ad9-76050ed880ca", ("ALE_AUTH_RECV_ACCEPT_V4",),
              f"TCP chimney offload control; {_NOT_SIMULATED}"),
    _continue("TCP_CHIMNEY_ACCEPT_LAYER_V6", "0378cf41-bf98-4603-81f2-7f12586079f6", ("ALE_AUTH_RECV_ACCEPT_V6",),
              f"TCP chimney offload control; {_NOT_SIMULATED}"),
    _continue("TCP_TEMPLATES_CONNECT_LAYER_V4", "215a0b39-4b7e-4eda-8ce4-179679df6224", ("ALE_AUTH_CONNECT_V4",),
              f"applies TCP setting templates (Win8); {_NOT_SIMULATED}"),
    _continue("TCP_TEMPLATES_CONNECT_LAYER_V6", "838b37a1-5c12-4d34-8b38-078728b2d25c", ("ALE_AUTH_CONNECT_V6",),
              f"applies TCP setting templates (Win8); {_NOT_SIMULATED}"),
    _continue("TCP_TEMPLATES_ACCEPT_LAYER_V4", "2f23f5d0-40c4-4c41-a254-46d8dba8957c", ("ALE_AUTH_RECV_ACCEPT_V4",),
              f"applies TCP setting templates (Win8); {_NOT_SIMULATED}"),
    _continue("TCP_TEMPLATES_ACCEPT_LAYER_V6", "b25152f0-991c-4f53-bbe7-d24b45fe632c", ("ALE_AUTH_RECV_ACCEPT_V6",),
              f"applies TCP setting templates (Win8); {_NOT_SIMULATED}"),
    # Classify options (§2.6).
    _continue("SET_OPTIONS_AUTH_CONNECT_LAYER_V4", "bc582280-1677-41e9-94ab-c2fcb15c2eeb", ("ALE_AUTH_CONNECT_V4",),
              "inspection: sets classify options from the filter's provider context -- the source of the 4 s "
              "outbound multicast/broadcast flow (§2.6); no verdict"),
    _continue("SET_OPTIONS_AUTH_CONNECT_LAYER_V6", "98e5373c-b884-490f-b65f-2f6a4a575195", ("ALE_AUTH_CONNECT_V6",),
              "inspection: sets classify options from the filter's provider context -- the source of the 4 s "
              "outbound multicast/broadcast flow (§2.6); no verdict"),
    _continue("SET_OPTIONS_AUTH_RECV_ACCEPT_LAYER_V4", "2d55f008-0c01-4f92-b26e-a08a94569b8d",
              ("ALE_AUTH_RECV_ACCEPT_V4",),
              "inspection: sets classify options (Win8; e.g. the TermServiceLOM filter); no verdict"),
    _continue("SET_OPTIONS_AUTH_RECV_ACCEPT_LAYER_V6", "63018537-f281-4dc4-83d3-8dec18b7ade2",
              ("ALE_AUTH_RECV_ACCEPT_V6",),
              "inspection: sets classify options (Win8; e.g. the TermServiceLOM filter); no verdict"),
    _continue("RESERVED_AUTH_CONNECT_LAYER_V4", "288b524d-0566-4e19-b612-8f441a2e5949", ("ALE_AUTH_CONNECT_V4",),
              f"reserved; used as CALLOUT_INSPECTION by the AppContainerLoopback filter; {_NOT_SIMULATED}"),
    _continue("RESERVED_AUTH_CONNECT_LAYER_V6", "00b84b92-2b5e-4b71-ab0e-aaca43e387e6", ("ALE_AUTH_CONNECT_V6",),
              f"reserved; used as CALLOUT_INSPECTION by the AppContainerLoopback filter; {_NOT_SIMULATED}"),
    # Edge traversal (Teredo): CALLOUT_TERMINATING in Windows Firewall allow rules.
    BuiltinCallout("TEREDO_ALE_RESOURCE_ASSIGNMENT_V6", "31b95392-066e-42a2-b7db-92f8acdd56f9",
                   ("ALE_RESOURCE_ASSIGNMENT_V6",), "permit", False, False, _EDGE),
    BuiltinCallout("EDGE_TRAVERSAL_ALE_RESOURCE_ASSIGNMENT_V4", "079b1010-f1c5-4fcd-ae05-da41107abd0b",
                   ("ALE_RESOURCE_ASSIGNMENT_V4",), "permit", False, False, _EDGE),
    BuiltinCallout("TEREDO_ALE_LISTEN_V6", "81a434e7-f60c-4378-bab8-c625a30f0197",
                   ("ALE_AUTH_LISTEN_V6",), "permit", False, False, _EDGE),
    BuiltinCallout("EDGE_TRAVERSAL_ALE_LISTEN_V4", "33486ab5-6d5e-4e65-a00b-a7afed0ba9a1",
                   ("ALE_AUTH_LISTEN_V4",), "permit", False, False, _EDGE),
    # Newer built-ins (Win10 RS2 .. Win11).
    _continue("POLICY_SILENT_MODE_AUTH_CONNECT_LAYER_V4", "5fbfc31d-a51c-44dc-acb6-0624a030a700",
              ("ALE_AUTH_CONNECT_V4",), f"policy silent mode (Win10 RS2); {_NOT_SIMULATED}"),
    _continue("POLICY_SILENT_MODE_AUTH_CONNECT_LAYER_V6", "5fbfc31d-a51c-44dc-acb6-0624a030a701",
              ("ALE_AUTH_CONNECT_V6",), f"policy silent mode (Win10 RS2); {_NOT_SIMULATED}"),
    _continue("POLICY_SILENT_MODE_AUTH_RECV_ACCEPT_LAYER_V4", "5fbfc31d-a51c-44dc-acb6-0624a030a702",
              ("ALE_AUTH_RECV_ACCEPT_V4",), f"policy silent mode (Win10 RS2); {_NOT_SIMULATED}"),
    _continue("POLICY_SILENT_MODE_AUTH_RECV_ACCEPT_LAYER_V6", "5fbfc31d-a51c-44dc-acb6-0624a030a703",
              ("ALE_AUTH_RECV_ACCEPT_V6",), f"policy silent mode (Win10 RS2); {_NOT_SIMULATED}"),
    _continue("HTTP_TEMPLATE_SSL_HANDSHAKE", "b3423249-8d09-4858-9210-95c7fda8e30f", (),
              f"Win10 RS3; applicable layer not in the dump or the headers read; {_NOT_SIMULATED}"),
    _continue("OUTBOUND_NETWORK_CONNECTION_POLICY_LAYER_V4", "103090d4-8e28-4fd6-9894-d1d67d6b10c9",
              ("OUTBOUND_NETWORK_CONNECTION_POLICY_V4",), f"Win11 22H2 (NTDDI_WIN10_NI); {_NOT_SIMULATED}"),
    _continue("OUTBOUND_NETWORK_CONNECTION_POLICY_LAYER_V6", "4ed3446d-8dc7-459b-b09f-c1cb7a8f8689",
              ("OUTBOUND_NETWORK_CONNECTION_POLICY_V6",), f"Win11 22H2 (NTDDI_WIN10_NI); {_NOT_SIMULATED}"),
    # "Private built-in callouts" (fwpmu.h, NTDDI_WIN10_FE); purposes from the dump's display names.
    _continue("BUILT_IN_RESERVED_1", "779719a4-e695-47b6-a199-7999fec9163b", ("ALE_ACCEPT_REDIRECT_V4",),
              f"dump: 'Proxy Connection ALE Accept Redirect v4 Layer Callout'; {_NOT_SIMULATED}"),
    _continue("BUILT_IN_RESERVED_2", "ef9661b6-7c5e-48fd-a130-96678ceacc41", ("ALE_ACCEPT_REDIRECT_V6",),
              f"dump: 'Proxy Connection ALE Accept Redirect v6 Layer Callout'; {_NOT_SIMULATED}"),
    _continue("BUILT_IN_RESERVED_3", "18729c7a-2f62-4be0-966f-974b21b86df1", ("ALE_AUTH_CONNECT_V4",),
              f"dump: 'Accept Redirect Proxy Tag ALE Connect v4 Layer Callout'; {_NOT_SIMULATED}"),
    _continue("BUILT_IN_RESERVED_4", "6c3fb801-daff-40e9-91e6-f7ff7e52f7d9", ("ALE_AUTH_CONNECT_V6",),
              f"dump: 'Accept Redirect Proxy Tag ALE Connect v6 Layer Callout'; {_NOT_SIMULATED}"),
)

#: fwpmu.h ``#define``s of callout names (short form).
CALLOUT_ALIASES: dict[str, str] = {
    "EDGE_TRAVERSAL_ALE_RESOURCE_ASSIGNMENT_V6": "TEREDO_ALE_RESOURCE_ASSIGNMENT_V6",
    "EDGE_TRAVERSAL_ALE_LISTEN_V6": "TEREDO_ALE_LISTEN_V6",
}

#: Well-known FWPM_PROVIDER_* GUIDs by short name (fwpmu.h).
PROVIDERS: dict[str, str] = {
    "IKEEXT": "10ad9216-ccde-456c-8b16-e9f04e60a90b",
    "IPSEC_DOSP_CONFIG": "3c6c05a9-c05c-4bb9-8338-2327814ce8bf",
    "TCP_CHIMNEY_OFFLOAD": "896aa19e-9a34-4bcb-ae79-beb9127c84b9",
    "TCP_TEMPLATES": "76cfcd30-3394-432d-bed3-441ae50e63c3",
    "MPSSVC_WSH": "4b153735-1049-4480-aab4-d1b9bdc03710",
    "MPSSVC_WF": "decc16ca-3f33-4346-be1e-8fb4ae0f3d62",
    "MPSSVC_EDP": "a90296f7-46b8-4457-8f84-b05e05d3c622",
    "MPSSVC_TENANT_RESTRICTIONS": "d0718ff9-44da-4f50-9dc2-c963a4247613",
    "MPSSVC_APP_ISOLATION": "3cc2631f-2d5d-43a0-b174-614837d863a1",
}

_SUBLAYER_BY_NAME = {s.name: s for s in BUILTIN_SUBLAYERS}
_SUBLAYER_BY_GUID = {s.guid: s for s in BUILTIN_SUBLAYERS}
_CALLOUT_BY_NAME = {c.name: c for c in BUILTIN_CALLOUTS}
_CALLOUT_BY_GUID = {c.guid: c for c in BUILTIN_CALLOUTS}
_PROVIDER_BY_GUID = {guid: name for name, guid in PROVIDERS.items()}


def _short(key: str, prefix: str, aliases: dict[str, str]) -> str:
    name = key.strip().upper().removeprefix(prefix)
    return aliases.get(name, name)


def get_sublayer(key: str) -> BuiltinSublayer | None:
    """A built-in sublayer by ``FWPM_SUBLAYER_X``, ``X`` (any case) or GUID (braces optional)."""
    guid = normalize_guid(key)
    if guid is not None:
        return _SUBLAYER_BY_GUID.get(guid)
    return _SUBLAYER_BY_NAME.get(_short(key, "FWPM_SUBLAYER_", SUBLAYER_ALIASES))


def get_callout(key: str) -> BuiltinCallout | None:
    """A built-in callout by ``FWPM_CALLOUT_X``, ``X`` (any case) or GUID (braces optional)."""
    guid = normalize_guid(key)
    if guid is not None:
        return _CALLOUT_BY_GUID.get(guid)
    return _CALLOUT_BY_NAME.get(_short(key, "FWPM_CALLOUT_", CALLOUT_ALIASES))


def get_provider(key: str) -> str | None:
    """A well-known provider's GUID by ``FWPM_PROVIDER_X``, ``X`` (any case) or its GUID."""
    guid = normalize_guid(key)
    if guid is not None:
        return guid if guid in _PROVIDER_BY_GUID else None
    return PROVIDERS.get(_short(key, "FWPM_PROVIDER_", {}))


def provider_name(guid: str) -> str | None:
    """The short name of a well-known provider GUID, or None."""
    key = normalize_guid(guid)
    return _PROVIDER_BY_GUID.get(key) if key is not None else None
