"""Tests for the static WFP catalogue: layers, condition fields, flags, built-ins.

Expected values are quoted from wfp-model.md (§1.2, §1.4, §3.8, §4.4-§4.7) and the
Windows 11 dump; the catalogue itself must not read either at run time.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from wfptui.core.builtins import (
    BUILTIN_CALLOUTS,
    BUILTIN_SUBLAYERS,
    PROVIDERS,
    get_callout,
    get_provider,
    get_sublayer,
    provider_name,
)
from wfptui.core.datatypes import DataType, WinVersion
from wfptui.core.fields import (
    CONDITION_FIELDS,
    FIELD_ALIASES,
    FLAG_ENUMS,
    IP_PROTOCOL_NAMES,
    IP_PROTOCOLS,
    ConditionFlag,
    Direction,
    ReauthorizeReason,
    SocketPropertyFlag,
    UnknownNameError,
    field_by_guid,
    get_field,
    parse_flag,
)
from wfptui.core.layers import LAYERS, Layer, LayerField, get_layer, layer_by_id

REPO = Path(__file__).resolve().parents[2]
DUMP = Path(__file__).resolve().parents[1] / "data" / "wfp" / "wfpstate-win11.xml"
REFERENCE = Path(__file__).resolve().parents[1] / "data" / "reference" / "wfp-model.md"

# -- layers -------------------------------------------------------------------------------


def test_99_layers_with_contiguous_unique_ids() -> None:
    assert len(LAYERS) == 99
    assert [layer.layer_id for layer in LAYERS] == list(range(99))
    assert len({layer.name for layer in LAYERS}) == 99
    assert len({layer.guid for layer in LAYERS}) == 99


@pytest.mark.parametrize("layer", LAYERS, ids=lambda layer: layer.name)
def test_every_layer_resolves_by_every_spelling(layer: Layer) -> None:
    assert get_layer(layer.fwpm_name) is layer
    assert get_layer(layer.fwps_name) is layer
    assert get_layer(layer.name.lower()) is layer
    assert get_layer(layer.name.swapcase().title()) is layer  # odd case
    assert get_layer(layer.guid) is layer
    assert get_layer("{" + layer.guid.upper() + "}") is layer
    assert get_layer(layer.layer_id) is layer
    assert get_layer(str(layer.layer_id)) is layer
    assert get_layer(f" {layer.layer_id} ") is layer
    assert layer_by_id(layer.layer_id) is layer


def test_layer_guids_are_lower_case_without_braces() -> None:
    for layer in LAYERS:
        assert layer.guid == layer.guid.lower().strip("{}")
        assert len(layer.guid) == 36


def test_unknown_layer_raises_with_suggestion() -> None:
    with pytest.raises(UnknownNameError) as info:
        get_layer("ALE_AUTH_CONECT_V4")
    err = info.value
    assert isinstance(err, KeyError)
    assert err.kind == "layer"
    assert err.suggestions[0] == "ALE_AUTH_CONNECT_V4"
    assert "did you mean ALE_AUTH_CONNECT_V4" in str(err)


@pytest.mark.parametrize("key", [99, -1, "99", "00000000-0000-0000-0000-000000000000", "", True])
def test_unknown_layer_keys(key: str | int) -> None:
    with pytest.raises(UnknownNameError):
        get_layer(key)


def test_ale_auth_recv_accept_v4_spot_check() -> None:
    layer = get_layer("FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4")
    assert layer.layer_id == 44
    assert layer.guid == "e1cd9fe7-f4b5-4273-96c0-592e487b8650"
    assert layer.discard_twin == "ALE_AUTH_RECV_ACCEPT_V4_DISCARD"
    twin = get_layer(layer.discard_twin)
    assert twin.layer_id == 45 and twin.is_discard and twin.discard_twin == layer.name
    assert layer.is_ale and not layer.is_discard
    assert layer.direction == "inbound"
    assert layer.since is WinVersion.VISTA
    assert layer.ip_version == 4
    assert len(layer.fields) == 40
    assert layer.display_name == "ALE Receive/Accept v4 Layer"
    assert not layer.user_mode


def test_ale_bind_redirect_v4_is_win7_without_twin() -> None:
    layer = get_layer("ALE_BIND_REDIRECT_V4")
    assert layer.layer_id == 68
    assert layer.guid == "66978cad-c704-42ac-86ac-7c1a231bd253"
    assert layer.since is WinVersion.WIN7
    assert layer.discard_twin is None
    assert layer.is_ale
    assert layer.direction == "none"


def test_stream_v4_fields_exactly_as_reference() -> None:
    # §4.7: IP_LOCAL_ADDRESS:u32@, IP_LOCAL_ADDRESS_TYPE:u8, IP_REMOTE_ADDRESS:u32@,
    # IP_LOCAL_PORT:u16, IP_REMOTE_PORT:u16, DIRECTION:u32, FLAGS:u32*, COMPARTMENT_ID:u32
    assert get_layer("STREAM_V4").fields == (
        LayerField("IP_LOCAL_ADDRESS", DataType.FWP_UINT32, "ip_address"),
        LayerField("IP_LOCAL_ADDRESS_TYPE", DataType.FWP_UINT8, "raw"),
        LayerField("IP_REMOTE_ADDRESS", DataType.FWP_UINT32, "ip_address"),
        LayerField("IP_LOCAL_PORT", DataType.FWP_UINT16, "raw"),
        LayerField("IP_REMOTE_PORT", DataType.FWP_UINT16, "raw"),
        LayerField("DIRECTION", DataType.FWP_UINT32, "raw"),
        LayerField("FLAGS", DataType.FWP_UINT32, "flags"),
        LayerField("COMPARTMENT_ID", DataType.FWP_UINT32, "raw"),
    )


def test_v6_address_fields_are_byte_array16() -> None:
    checked = 0
    for layer in LAYERS:
        for f in layer.fields:
            if f.kind == "ip_address" and f.name in ("IP_LOCAL_ADDRESS", "IP_REMOTE_ADDRESS"):
                expected = DataType.FWP_BYTE_ARRAY16_TYPE if layer.ip_version == 6 else DataType.FWP_UINT32
                assert f.dtype is expected, (layer.name, f.name)
                checked += 1
    assert checked > 80
    assert get_layer("ALE_AUTH_CONNECT_V6").field("IP_REMOTE_ADDRESS") == LayerField(
        "IP_REMOTE_ADDRESS", DataType.FWP_BYTE_ARRAY16_TYPE, "ip_address"
    )


def test_recv_accept_v6_discard_lacks_reserved_fields() -> None:
    discard = get_layer("ALE_AUTH_RECV_ACCEPT_V6_DISCARD")
    assert discard.layer_id == 47
    assert len(discard.fields) == 36
    for name in ("RESERVED0", "RESERVED1", "RESERVED2", "RESERVED3"):
        assert not discard.has_field(name)
        assert get_layer("ALE_AUTH_RECV_ACCEPT_V6").has_field(name)


def test_field_counts_match_reference_table() -> None:
    # The "F" column of §1.2 (Win11 dump).
    expected = {0: 10, 8: 15, 12: 15, 16: 16, 20: 8, 24: 14, 28: 22, 32: 14, 36: 19, 40: 15, 44: 40, 47: 36,
                48: 42, 52: 25, 60: 5, 62: 12, 64: 14, 66: 15, 68: 11, 70: 12, 78: 0, 85: 14}
    for layer_id, count in expected.items():
        assert len(layer_by_id(layer_id).fields) == count, layer_by_id(layer_id).name


def test_discard_twins_pair_the_vista_layers() -> None:
    for layer in LAYERS:
        if layer.layer_id <= 55:
            partner = layer.layer_id + 1 if layer.layer_id % 2 == 0 else layer.layer_id - 1
            assert layer.discard_twin == layer_by_id(partner).name
            assert layer.is_discard == (layer.layer_id % 2 == 1)
        else:
            assert layer.discard_twin is None and not layer.is_discard


def test_directions_versions_and_modes() -> None:
    assert get_layer("ALE_AUTH_LISTEN_V6").direction == "inbound"
    assert get_layer("ALE_AUTH_CONNECT_V6_DISCARD").direction == "outbound"
    assert get_layer("ALE_CONNECT_REDIRECT_V4").direction == "outbound"
    assert get_layer("ALE_FLOW_ESTABLISHED_V4").direction == "both"
    assert get_layer("IPFORWARD_V6").direction == "forward"
    for name in ("ALE_RESOURCE_ASSIGNMENT_V4", "ALE_RESOURCE_RELEASE_V6", "ALE_ENDPOINT_CLOSURE_V4"):
        assert get_layer(name).direction == "none"
    assert {layer.direction for layer in LAYERS} <= {"inbound", "outbound", "both", "forward", "none"}
    assert get_layer("INBOUND_MAC_FRAME_ETHERNET").since is WinVersion.WIN8
    assert get_layer("INBOUND_TRANSPORT_FAST").since is WinVersion.WIN8_1
    assert get_layer("INBOUND_RESERVED2").since is WinVersion.WIN10
    assert get_layer("OUTBOUND_NETWORK_CONNECTION_POLICY_V4").since is WinVersion.WIN11
    assert get_layer("KM_AUTHORIZATION").since is WinVersion.WIN7
    assert [layer.layer_id for layer in LAYERS if layer.user_mode] == list(range(87, 99))
    assert get_layer("STREAM_PACKET_V6").ip_version == 6
    assert get_layer("RPC_UM").ip_version is None


def test_unnamed_accept_redirect_layers() -> None:
    v4 = get_layer(83)
    assert v4.name == "ALE_ACCEPT_REDIRECT_V4"
    assert v4.guid == "29243af8-ecaf-4436-a44e-f9fb7070aa04"
    assert get_layer("{c9809347-218f-4b7f-a742-b281a3f631b4}").name == "ALE_ACCEPT_REDIRECT_V6"


def test_layer_field_lookup_resolves_aliases() -> None:
    icmp = get_layer("OUTBOUND_ICMP_ERROR_V4")
    assert icmp.field("ICMP_TYPE") is icmp.field("IP_LOCAL_PORT") is not None
    assert icmp.has_field("ICMP_CODE")
    assert icmp.field("NO_SUCH_FIELD") is None
    assert icmp.field_names[0] == "IP_LOCAL_ADDRESS"
    # A Layer built outside the catalogue still answers from its own fields.
    fake = Layer("X", "0" * 8 + "-0000-0000-0000-" + "0" * 12, 5, 4, "none", False, None, False,
                 WinVersion.VISTA, False, "x", (LayerField("FLAGS", DataType.FWP_UINT32, "flags"),))
    assert fake.has_field("FLAGS") and not fake.has_field("IP_LOCAL_ADDRESS")


def test_every_layer_field_exists_in_condition_fields() -> None:
    for layer in LAYERS:
        for f in layer.fields:
            assert f.name in CONDITION_FIELDS, (layer.name, f.name)
            assert f.kind in ("raw", "ip_address", "flags")


# -- condition fields -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "guid"),
    [
        ("IP_LOCAL_ADDRESS", "d9ee00de-c1ef-4617-bfe3-ffd8f5a08957"),
        ("IP_REMOTE_PORT", "c35a604d-d22b-4e1a-91b4-68f674ee674b"),
        ("IP_PROTOCOL", "3971ef2b-623e-4f9a-8cb1-6e79b806b9a7"),
        ("ALE_APP_ID", "d78e1e87-8644-4ea5-9437-d809ecefc971"),
        ("FLAGS", "632ce23b-5167-435c-86d7-e903684aa80c"),
        ("ALE_REAUTH_REASON", "b482d227-1979-4a98-8044-18bbe6237542"),
        ("REAUTHORIZE_REASON", "11205e8c-11ae-457a-8a44-477026dd764a"),
        ("COMPARTMENT_ID", "35a791ab-04ac-4ff2-a6bb-da6cfac71806"),
        ("EMBEDDED_LOCAL_ADDRESS_TYPE", "4672a468-8a0a-4202-abb4-849e92e66809"),
        ("IP_REMOTE_ADDRESS_V6", "246e1d8c-8bee-4018-9b98-31d4582f3361"),
        ("L2_FLAGS", "7bc43cbf-37ba-45f1-b74a-82ff518eeb10"),
        # Not in §4.4: from fwpmu.h copies.
        ("ALE_PACKAGE_FAMILY_NAME", "81bc78fb-f28d-4886-a604-6acc261f261b"),
        ("IPSEC_SECURITY_REALM_ID", "37a57700-5884-4964-92b8-3e704688b0ad"),
        ("RESERVED0", "678f4deb-45af-4882-93fe-19d4729d9834"),
    ],
)
def test_field_guids(name: str, guid: str) -> None:
    f = get_field(name)
    assert f.guid == guid
    assert get_field("FWPM_CONDITION_" + name.lower()) is f
    assert get_field("{" + guid.upper() + "}") is f
    assert field_by_guid(guid) is f


def test_condition_fields_cover_reference_rows_and_have_unique_guids() -> None:
    for name in ("ALE_REAUTH_REASON", "IP_LOCAL_ADDRESS_V4", "IP_SOURCE_PORT", "ALE_EFFECTIVE_NAME",
                 "SOURCE_INTERFACE_INDEX", "NEXTHOP_INTERFACE_PROFILE_ID", "L2_FLAGS", "PEER_NAME"):
        assert name in CONDITION_FIELDS
    guids = [f.guid for f in CONDITION_FIELDS.values()]
    assert None not in guids
    assert len(set(guids)) == len(guids)
    for f in CONDITION_FIELDS.values():
        assert f.kind in ("raw", "ip_address", "flags") and f.doc
        assert f.fwpm_name == "FWPM_CONDITION_" + f.name


def test_usual_dtypes() -> None:
    assert CONDITION_FIELDS["IP_REMOTE_ADDRESS"].dtype is DataType.FWP_UINT32
    assert CONDITION_FIELDS["IP_REMOTE_ADDRESS"].kind == "ip_address"
    assert CONDITION_FIELDS["IP_LOCAL_PORT"].dtype is DataType.FWP_UINT16
    assert CONDITION_FIELDS["IP_PROTOCOL"].dtype is DataType.FWP_UINT8
    assert CONDITION_FIELDS["ALE_USER_ID"].dtype is DataType.FWP_TOKEN_ACCESS_INFORMATION_TYPE
    assert CONDITION_FIELDS["ALE_PACKAGE_ID"].dtype is DataType.FWP_SID
    assert CONDITION_FIELDS["FLAGS"].kind == "flags"


def test_field_aliases() -> None:
    assert FIELD_ALIASES["ICMP_TYPE"] == "IP_LOCAL_PORT"
    assert FIELD_ALIASES["ICMP_CODE"] == "IP_REMOTE_PORT"
    assert get_field("FWPM_CONDITION_ICMP_TYPE").name == "IP_LOCAL_PORT"
    assert get_field("icmp_code").name == "IP_REMOTE_PORT"
    assert get_field("LOCAL_INTERFACE_INDEX").name == "INTERFACE_INDEX"
    # ALE_REAUTH_REASON has its own GUID: a real field, not an alias.
    assert "ALE_REAUTH_REASON" not in FIELD_ALIASES
    assert get_field("ALE_REAUTH_REASON").guid != get_field("REAUTHORIZE_REASON").guid
    for target in FIELD_ALIASES.values():
        assert target in CONDITION_FIELDS


def test_unknown_field_message() -> None:
    with pytest.raises(UnknownNameError) as info:
        get_field("IP_LOCL_PORT")
    assert info.value.kind == "field"
    assert info.value.suggestions[0] == "IP_LOCAL_PORT"
    assert str(info.value).startswith("unknown field 'IP_LOCL_PORT' (did you mean IP_LOCAL_PORT")
    with pytest.raises(KeyError):
        get_field("{00000000-0000-0000-0000-000000000000}")
    assert field_by_guid("not a guid") is None


# -- flags and enums -------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["is_loopback", "FWP_CONDITION_FLAG_IS_LOOPBACK", "IS_LOOPBACK", 1, "0x1", "1"])
def test_parse_flag_spellings(token: str | int) -> None:
    assert parse_flag("FLAGS", token) == 1


def test_parse_flag_values_and_combinations() -> None:
    assert int(ConditionFlag.IS_HONORING_POLICY_AUTHORIZE) == 0x2000000
    assert int(ConditionFlag.IS_NAME_APP_SPECIFIED) == 0x4000
    assert parse_flag("FWPM_CONDITION_FLAGS", "is_outbound_pass_thru|IS_INBOUND_PASS_THRU") == 786432
    assert parse_flag("flags", "is_loopback, is_ipsec_secured") == 3
    assert parse_flag("REAUTHORIZE_REASON", "policy_change") == int(ReauthorizeReason.POLICY_CHANGE) == 1
    assert parse_flag("ALE_REAUTH_REASON", "FWP_CONDITION_REAUTHORIZE_REASON_EDP_POLICY_CHANGED") == 0x200
    assert parse_flag("ALE_SIO_FIREWALL_SYSTEM_PORT", "allow_edge_traffic") == SocketPropertyFlag.ALLOW_EDGE_TRAFFIC
    assert parse_flag("L2_FLAGS", "FWP_CONDITION_L2_IS_WIFI") == 2
    assert set(FLAG_ENUMS) >= {"FLAGS", "REAUTHORIZE_REASON", "ALE_REAUTH_REASON", "ALE_SIO_FIREWALL_SYSTEM_PORT"}


def test_parse_flag_errors() -> None:
    with pytest.raises(UnknownNameError) as info:
        parse_flag("FLAGS", "is_lopback")
    assert info.value.suggestions == ["IS_LOOPBACK"]
    with pytest.raises(UnknownNameError):
        parse_flag("IP_LOCAL_PORT", "is_loopback")  # not a flags field
    with pytest.raises(UnknownNameError):
        parse_flag("NO_FIELD", 1)
    with pytest.raises(UnknownNameError):
        parse_flag("FLAGS", "")
    with pytest.raises(ValueError):
        parse_flag("FLAGS", "0x1ffffffff")
    with pytest.raises(ValueError):
        parse_flag("FLAGS", -1)
    with pytest.raises(ValueError):
        parse_flag("FLAGS", "12abc")


def test_direction_and_protocols() -> None:
    assert int(Direction.OUTBOUND) == 0 and int(Direction.INBOUND) == 1
    assert IP_PROTOCOLS["tcp"] == 6 and IP_PROTOCOLS["udp"] == 17 and IP_PROTOCOLS["icmpv6"] == 58
    assert IP_PROTOCOLS["icmp"] == 1 and IP_PROTOCOLS["igmp"] == 2 and IP_PROTOCOLS["gre"] == 47
    assert IP_PROTOCOL_NAMES[6] == "tcp"


# -- built-ins -----------------------------------------------------------------------------


def test_builtin_sublayers() -> None:
    universal = get_sublayer("FWPM_SUBLAYER_UNIVERSAL")
    assert universal is not None and universal.weight == 32768
    assert universal.guid == "eebecc03-ced4-4380-819a-2734397b2b74"
    assert get_sublayer("mpssvc_wf") is get_sublayer("{B3CDD441-AF90-41BA-A745-7C6008FF2301}")
    wf = get_sublayer("MPSSVC_WF")
    assert wf is not None and wf.weight == 2
    wsh = get_sublayer("MPSSVC_WSH")
    assert wsh is not None and wsh.weight == 3
    assert get_sublayer("EDGE_TRAVERSAL") is get_sublayer("TEREDO")
    assert get_sublayer("nope") is None
    assert len(BUILTIN_SUBLAYERS) == len({s.guid for s in BUILTIN_SUBLAYERS}) == len({s.name for s in BUILTIN_SUBLAYERS})
    assert all(0 <= s.weight <= 0xFFFF for s in BUILTIN_SUBLAYERS)


def test_builtin_callouts() -> None:
    drop4 = get_callout("FWPM_CALLOUT_WFP_TRANSPORT_LAYER_V4_SILENT_DROP")
    assert drop4 is not None
    assert drop4.guid == "eda08606-2494-4d78-89bc-67837c03b969"
    assert drop4.returns == "block" and drop4.hard and drop4.silent
    assert drop4.layers == ("INBOUND_TRANSPORT_V4_DISCARD",)
    drop6 = get_callout("{8693CC74-A075-4156-B476-9286EECE814E}")
    assert drop6 is not None and drop6.name == "WFP_TRANSPORT_LAYER_V6_SILENT_DROP"
    opts = get_callout("set_options_auth_connect_layer_v4")
    assert opts is not None and opts.returns == "continue" and opts.layers == ("ALE_AUTH_CONNECT_V4",)
    assert get_callout("EDGE_TRAVERSAL_ALE_LISTEN_V6") is get_callout("TEREDO_ALE_LISTEN_V6")
    assert get_callout("nope") is None
    assert len({c.guid for c in BUILTIN_CALLOUTS}) == len(BUILTIN_CALLOUTS)
    for c in BUILTIN_CALLOUTS:
        assert c.returns in ("permit", "block", "continue")
        for name in c.layers:
            assert get_layer(name).name == name


def test_providers() -> None:
    assert PROVIDERS["MPSSVC_WF"] == "decc16ca-3f33-4346-be1e-8fb4ae0f3d62"
    assert get_provider("FWPM_PROVIDER_MPSSVC_WSH") == "4b153735-1049-4480-aab4-d1b9bdc03710"
    assert provider_name("{DECC16CA-3F33-4346-BE1E-8FB4AE0F3D62}") == "MPSSVC_WF"
    assert get_provider("nope") is None


# -- the generator and the no-files rule ---------------------------------------------------


def test_generated_catalogue_is_current() -> None:
    result = subprocess.run([sys.executable, str(REPO / "tools" / "gen_catalog.py"), "--check",
                             "--dump", str(DUMP), "--reference", str(REFERENCE)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_catalogue_modules_read_no_files() -> None:
    # The core imports only these standard modules and other core modules, and never opens a file.
    allowed = {"__future__", "collections.abc", "dataclasses", "difflib", "enum", "re"}
    for module in ("layers", "fields", "builtins", "catalog/records", "catalog/layer_table", "catalog/field_table"):
        tree = ast.parse((REPO / "wfptui" / "core" / f"{module}.py").read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                    assert node.func.id != "open", module
                continue
            for name in names:
                assert name in allowed or name.startswith("wfptui.core."), (module, name)
