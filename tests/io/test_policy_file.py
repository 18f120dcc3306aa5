"""io.policy_file: policy TOML ⇄ Policy (spec §3), errors with file:line:col, and `wfptui validate`."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from wfptui.commands import validate
from wfptui.core.datatypes import DataType as D
from wfptui.core.model import (
    ActionType,
    AddrMask,
    Callout,
    FilterFlag,
    MatchType,
    Policy,
    Range,
    SecurityDescriptor,
    Weight,
)
from wfptui.core.weights import effective_weight
from wfptui.io.errors import InputError
from wfptui.io.policy_file import (
    FIRST_FILTER_ID,
    dump_policy,
    load_policy,
    parse_filter_table,
    parse_filter_tables,
    parse_policy,
    policy_from_tables,
)
from wfptui.io.tomlpos import parse_toml

SPEC_EXAMPLE = """\
[[sublayer]]
key = "corp"                    # a name or a GUID; built-in FWPM_SUBLAYER_* exist already
weight = 0x8000                 # uint16

[[callout]]
key = "inspect-dns"             # built-in callouts (e.g. ..._SILENT_DROP) exist already
returns = "continue"            # permit | block | continue; or "unregistered"
# hard = true                   # its permit/block clears the write right (default: soft)

[[filter]]
key = "block-smb-in"            # unique; name or GUID
name = "Block inbound SMB"
layer = "ALE_AUTH_RECV_ACCEPT_V4"
sublayer = "corp"               # default FWPM_SUBLAYER_UNIVERSAL
weight = 10                     # 0..15 = FWP_UINT8 weight range; {uint64 = "0x..."} exact; omitted = FWP_EMPTY
action = "block"                # permit | block | continue | callout_terminating | callout_inspection | callout_unknown
# callout = "inspect-dns"       # with callout actions
# flags = ["clear_action_right", "permit_if_callout_unregistered"]
condition = [
  { field = "IP_LOCAL_PORT", match = "equal", value = 445 },
  { field = "IP_REMOTE_ADDRESS", match = "equal", value = "10.0.0.0/8" },   # CIDR = address mask
  { field = "IP_REMOTE_PORT", match = "range", value = [1024, 65535] },
]
"""


def errors_of(text: str, name: str = "p.toml") -> list[str]:
    with pytest.raises(InputError) as ei:
        parse_policy(text, name)
    return [str(d) for d in ei.value.diagnostics]


def one_filter(body: str) -> str:
    return '[[filter]]\nkey = "f"\nlayer = "ALE_AUTH_CONNECT_V4"\naction = "block"\n' + body


# ----------------------------------------------------------------------------- the spec example


def test_spec_example() -> None:
    p = parse_policy(SPEC_EXAMPLE, "p.toml")
    assert p.sublayers["corp"].weight == 0x8000 and not p.sublayers["corp"].builtin
    assert p.callouts["inspect-dns"] == Callout(key="inspect-dns", returns="continue")
    (f,) = p.filters
    assert f.key == "block-smb-in" and f.name == "Block inbound SMB"
    assert f.layer == "ALE_AUTH_RECV_ACCEPT_V4" and f.sublayer == "corp"
    assert f.action == ActionType.FWP_ACTION_BLOCK
    assert f.weight == Weight(D.FWP_UINT8, 10)
    assert f.effective_weight == effective_weight(f.weight, f.conditions)
    assert f.effective_weight >> 60 == 10
    assert f.filter_id == FIRST_FILTER_ID == 70001
    c0, c1, c2 = f.conditions
    assert (c0.field, c0.match, c0.value, c0.dtype) == (
        "IP_LOCAL_PORT",
        MatchType.FWP_MATCH_EQUAL,
        445,
        D.FWP_UINT16,
    )
    assert c1.value == AddrMask(0x0A000000, 8, 32) and c1.dtype == D.FWP_V4_ADDR_MASK
    assert c2.value == Range(1024, 65535) and c2.dtype == D.FWP_RANGE_TYPE
    assert f.loc is not None and (f.loc.line, f.loc.col) == (10, 1)
    assert c2.loc is not None and (c2.loc.line, c2.loc.col) == (22, 3)
    assert p.source == "p.toml"


def test_builtins_always_present() -> None:
    p = parse_policy("", "empty.toml")
    assert p.filters == ()
    u = p.sublayers["UNIVERSAL"]
    assert u.builtin and u.weight == 32768 and u.guid == "eebecc03-ced4-4380-819a-2734397b2b74"
    assert p.sublayers["MPSSVC_WF"].weight == 2
    assert any(c.builtin and c.silent for c in p.callouts.values())


def test_names_full_short_any_case() -> None:
    p = parse_policy(
        """
[[filter]]
key = "a"
layer = "FWPM_LAYER_ALE_AUTH_CONNECT_V4"
action = "FWP_ACTION_PERMIT"
sublayer = "FWPM_SUBLAYER_MPSSVC_WF"
flags = ["FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT", "Indexed"]
condition = [ { field = "FWPM_CONDITION_IP_REMOTE_PORT", match = "FWP_MATCH_RANGE", value = [1, 2] },
              { field = "ip_protocol", match = "EQUAL", value = "tcp" } ]
[[filter]]
key = "b"
layer = "ale_auth_connect_v6"
action = "Block"
sublayer = "universal"
""",
        "p.toml",
    )
    a, b = p.filters
    assert a.layer == "ALE_AUTH_CONNECT_V4" and a.action == ActionType.FWP_ACTION_PERMIT
    assert a.sublayer == "MPSSVC_WF"
    assert a.flags == FilterFlag.CLEAR_ACTION_RIGHT | FilterFlag.INDEXED
    assert a.conditions[0].field == "IP_REMOTE_PORT" and a.conditions[0].match == MatchType.FWP_MATCH_RANGE
    assert a.conditions[1].value == 6
    assert b.layer == "ALE_AUTH_CONNECT_V6" and b.sublayer == "UNIVERSAL"


def test_sublayer_by_guid_and_default_match() -> None:
    p = parse_policy(
        one_filter(
            'sublayer = "{B3CDD441-AF90-41BA-A745-7C6008FF2301}"\ncondition = [ { field = "IP_LOCAL_PORT", value = 80 } ]\n'
        ),
        "p.toml",
    )
    assert p.filters[0].sublayer == "MPSSVC_WF"
    assert p.filters[0].conditions[0].match == MatchType.FWP_MATCH_EQUAL


def test_condition_as_array_of_tables() -> None:
    p = parse_policy(
        one_filter('[[filter.condition]]\nfield = "IP_LOCAL_PORT"\nmatch = "equal"\nvalue = 80\n'), "p.toml"
    )
    assert p.filters[0].conditions[0].value == 80


def test_values_of_every_kind() -> None:
    p = parse_policy(
        one_filter(
            """condition = [
  { field = "ALE_APP_ID", match = "equal", value = 'C:\\Program Files\\Browser\\browser.exe' },
  { field = "ALE_USER_ID", match = "equal", value = "O:LSD:(A;;CC;;;S-1-5-19)" },
  { field = "ALE_PACKAGE_ID", match = "not_equal", value = "S-1-0-0" },
  { field = "FLAGS", match = "flags_none_set", value = ["is_loopback", "is_reauthorize"] },
  { field = "IP_LOCAL_INTERFACE", match = "equal", value = { uint64 = "0xffffffffffffffff" } },
  { field = "IP_REMOTE_PORT", match = "equal", value = { empty = true } },
]
"""
        ),
        "p.toml",
    )
    c = p.filters[0].conditions
    assert c[0].value == r"\device\harddiskvolume3\program files\browser\browser.exe"
    assert isinstance(c[1].value, SecurityDescriptor)
    assert c[2].value == "S-1-0-0" and c[2].dtype == D.FWP_SID
    assert c[3].value == 5
    assert c[4].value == (1 << 64) - 1
    assert c[5].dtype == D.FWP_EMPTY


# ----------------------------------------------------------------------------- weights and ids


def test_weights() -> None:
    p = parse_policy(
        """
[[filter]]
key = "u8"
layer = "ALE_AUTH_CONNECT_V4"
action = "block"
weight = { uint8 = 3 }
[[filter]]
key = "u64"
layer = "ALE_AUTH_CONNECT_V4"
action = "block"
weight = { uint64 = "0xfffffffffffffffd" }
[[filter]]
key = "u64int"
layer = "ALE_AUTH_CONNECT_V4"
action = "block"
weight = { uint64 = 12345 }
[[filter]]
key = "empty"
layer = "ALE_AUTH_CONNECT_V4"
action = "block"
[[filter]]
key = "real"
layer = "ALE_AUTH_CONNECT_V4"
action = "block"
weight = 2
effective_weight = "0x2000000000000123"
""",
        "p.toml",
    )
    u8, u64, u64int, empty, real = p.filters
    assert u8.weight == Weight(D.FWP_UINT8, 3) and u8.effective_weight >> 60 == 3
    assert (
        u64.weight == Weight(D.FWP_UINT64, 0xFFFFFFFFFFFFFFFD) and u64.effective_weight == 0xFFFFFFFFFFFFFFFD
    )
    assert u64int.effective_weight == 12345
    assert empty.weight == Weight(D.FWP_EMPTY) and empty.effective_weight == 0
    assert real.effective_weight == 0x2000000000000123


def test_weight_errors() -> None:
    errs = errors_of(one_filter("weight = 16\n"))
    assert errs == [
        "p.toml:5:10: weight 16 is not a weight range 0..15 (FWP_UINT8); write { uint64 = 16 } for an exact weight"
    ]
    assert "p.toml:5:21:" in errors_of(one_filter('weight = { uint64 = "0x1ffffffffffffffff" }\n'))[0]
    assert "unknown weight type" in errors_of(one_filter("weight = { uint32 = 1 }\n"))[0]


def test_ids_assigned_in_order_skipping_taken() -> None:
    text = ""
    for k, extra in (("a", ""), ("b", "id = 70002\n"), ("c", ""), ("d", "filter_id = 5\n"), ("e", "")):
        text += f'[[filter]]\nkey = "{k}"\nlayer = "ALE_AUTH_CONNECT_V4"\naction = "permit"\n{extra}'
    ids = [f.filter_id for f in parse_policy(text, "p.toml").filters]
    assert ids == [70001, 70002, 70003, 5, 70004]


def test_duplicate_ids() -> None:
    text = (
        one_filter("id = 9\n")
        + '[[filter]]\nkey = "g"\nlayer = "ALE_AUTH_CONNECT_V4"\naction = "block"\nid = 9\n'
    )
    assert errors_of(text) == ["p.toml:10:6: duplicate filter id 9 (also at line 1)"]


# ----------------------------------------------------------------------------- errors, exact places


def test_unknown_names_with_suggestions() -> None:
    errs = errors_of(
        """[[filter]]
key = "a"
layer = "ALE_AUTH_CONECT_V4"
action = "blok"
sublayer = "univeral"
flags = ["clear_actoin_right"]
"""
    )
    assert errs[0].startswith(
        "p.toml:3:9: unknown layer 'ALE_AUTH_CONECT_V4' (did you mean ALE_AUTH_CONNECT_V4"
    )
    assert errs[1] == "p.toml:4:10: unknown action 'blok' (did you mean block?)"
    assert errs[2] == "p.toml:5:12: unknown sublayer 'univeral' (did you mean UNIVERSAL?)"
    assert (
        errs[3] == "p.toml:6:10: unknown filter flag 'clear_actoin_right' (did you mean clear_action_right?)"
    )


def test_condition_errors_exact_places() -> None:
    errs = errors_of(
        """[[filter]]
key = "a"
layer = "ALE_AUTH_LISTEN_V4"
action = "block"
condition = [
  { field = "IP_REMOTE_PORT", match = "equal", value = 445 },
  { field = "IP_LOCAL_PORT", match = "equal", value = 70000 },
  { field = "IP_LOCAL_ADRESS", value = 1 },
  { field = "IP_LOCAL_PORT", match = "rnage", value = [1, 2] },
  { field = "IP_LOCAL_ADDRESS", value = "fd00::1" },
  { field = "IP_LOCAL_PORT", value = 1, extra = 2 },
  { field = "IP_LOCAL_PORT" },
]
"""
    )
    assert errs == [
        "p.toml:6:13: field IP_REMOTE_PORT is not available at FWPM_LAYER_ALE_AUTH_LISTEN_V4",
        "p.toml:7:55: IP_LOCAL_PORT: value 70000 does not fit FWP_UINT16 (0..65535)",
        "p.toml:8:13: unknown field 'IP_LOCAL_ADRESS' (did you mean IP_LOCAL_ADDRESS, IP_LOCAL_ADDRESS_V6 or "
        "IP_LOCAL_ADDRESS_V4?)",
        "p.toml:9:38: unknown match type 'rnage' (did you mean range?)",
        "p.toml:10:41: IP_LOCAL_ADDRESS is an IPv4 address at this layer; 'fd00::1' is an IPv6 address "
        "(use the _V6 layer)",
        "p.toml:11:41: unknown key 'extra' in condition",
        "p.toml:12:3: missing required key 'value' (write { empty = true } for FWP_EMPTY)",
    ]


def test_wrong_value_type() -> None:
    errs = errors_of(one_filter('condition = [ { field = "IP_LOCAL_PORT", value = "http" } ]\n'))
    assert errs == ["p.toml:5:50: IP_LOCAL_PORT takes a number (FWP_UINT16), not the string 'http'"]


def test_unknown_keys() -> None:
    errs = errors_of(one_filter("wieght = 3\n") + '[[sublayer]]\nkey = "s"\nweight = 1\nnmae = "x"\n')
    assert errs == [
        "p.toml:5:1: unknown key 'wieght' in [[filter]] (did you mean weight?)",
        "p.toml:9:1: unknown key 'nmae' in [[sublayer]] (did you mean name?)",
    ]
    assert errors_of("[[filters]]\nkey = 1\n") == [
        "p.toml:1:3: unknown key 'filters' in a policy file (did you mean filter?)"
    ]


def test_table_instead_of_array() -> None:
    assert errors_of('[filter]\nkey = "a"\n') == [
        "p.toml:1:2: filter must be an array of tables: write [[filter]], not [filter]"
    ]


def test_duplicate_keys() -> None:
    dup_toml = errors_of(one_filter('key = "g"\n'))
    assert dup_toml[0].startswith("p.toml:5:") and "duplicate key" in dup_toml[0]
    dup_filter = errors_of(one_filter("") + one_filter(""))
    assert dup_filter == ["p.toml:6:7: duplicate filter key 'f' (first at line 1)"]
    dup_sub = errors_of('[[sublayer]]\nkey = "s"\nweight = 1\n[[sublayer]]\nkey = "S"\nweight = 2\n')
    assert dup_sub == ["p.toml:5:7: duplicate sublayer key 'S'"]


def test_sublayer_weight_range() -> None:
    assert errors_of('[[sublayer]]\nkey = "s"\nweight = 70000\n') == [
        "p.toml:3:10: sublayer weight must be a UINT16 0..65535, not the integer 70000"
    ]
    assert errors_of('[[sublayer]]\nkey = "s"\nweight = -1\n')[0].startswith("p.toml:3:10:")
    assert errors_of('[[sublayer]]\nkey = "s"\n')[0].startswith("p.toml:1:1: missing required key 'weight'")


def test_callout_rules() -> None:
    base = '[[callout]]\nkey = "c"\nreturns = "block"\n'
    assert errors_of(
        base + '[[filter]]\nkey = "f"\nlayer = "ALE_AUTH_CONNECT_V4"\naction = "callout_terminating"\n'
    ) == ['p.toml:4:1: action callout_terminating needs callout = "<callout key>"']
    assert errors_of(base + one_filter('callout = "c"\n')) == [
        "p.toml:8:1: callout is only for callout actions (callout_terminating, callout_inspection, callout_unknown), "
        "not block"
    ]
    assert errors_of(base + one_filter('flags = ["permit_if_callout_unregistered"]\n')) == [
        "p.toml:8:9: flag permit_if_callout_unregistered only works with callout_terminating or callout_unknown, "
        "not block"
    ]
    assert errors_of(
        base
        + '[[filter]]\nkey = "f"\nlayer = "ALE_AUTH_CONNECT_V4"\naction = "callout_unknown"\ncallout = "cc"\n'
    ) == ["p.toml:8:11: unknown callout 'cc' (did you mean c?)"]
    assert "callout returns must be" in errors_of('[[callout]]\nkey = "c"\nreturns = "allow"\n')[0]
    p = parse_policy(
        base
        + '[[filter]]\nkey = "f"\nlayer = "ALE_AUTH_CONNECT_V4"\naction = "callout_terminating"\ncallout = "c"\n'
        'flags = ["permit_if_callout_unregistered"]\n',
        "p.toml",
    )
    assert p.filters[0].callout == "c" and p.callouts["c"].returns == "block"


def test_builtin_callout_and_sublayer_changed() -> None:
    p = parse_policy(
        '[[sublayer]]\nkey = "FWPM_SUBLAYER_MPSSVC_WF"\nweight = 40000\n'
        '[[callout]]\nkey = "WFP_TRANSPORT_LAYER_V4_SILENT_DROP"\nreturns = "continue"\n',
        "p.toml",
    )
    assert p.sublayers["MPSSVC_WF"].weight == 40000 and p.sublayers["MPSSVC_WF"].builtin
    c = p.callouts["WFP_TRANSPORT_LAYER_V4_SILENT_DROP"]
    assert c.builtin and c.returns == "continue" and c.silent


def test_all_errors_collected_in_line_order() -> None:
    errs = errors_of(
        '[[filter]]\nkey = "a"\nlayer = "nope"\naction = "nope"\n[[filter]]\nlayer = "ALE_AUTH_CONNECT_V4"\n'
    )
    assert [e.split(":")[1] for e in errs] == ["3", "4", "5", "5"]
    assert "missing required key 'key'" in errs[2] or "missing required key 'key'" in errs[3]


def test_non_string_types() -> None:
    errs = errors_of('[[filter]]\nkey = 1\nlayer = ["x"]\naction = true\n')
    assert errs == [
        "p.toml:2:7: key must be a string, not the integer 1",
        "p.toml:3:9: layer must be a string, not a list",
        "p.toml:4:10: action must be a string, not the boolean true",
    ]


# ----------------------------------------------------------------------------- load


def test_load_policy_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError) as ei:
        load_policy(tmp_path / "missing.toml")
    assert str(ei.value).startswith(str(tmp_path / "missing.toml") + ": cannot read policy file")
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b'a = "x"\n\xff\xfe\n')
    with pytest.raises(InputError, match="not UTF-8"):
        load_policy(bad)
    good = tmp_path / "good.toml"
    good.write_text("\ufeff" + SPEC_EXAMPLE, encoding="utf-8")
    assert len(load_policy(good).filters) == 1


# ----------------------------------------------------------------------------- inline tables (scenario files)

SCENARIO = """\
name = "x"
[[host]]
name = "server"
[host.policy]
[[host.policy.filter]]
key = "a"
layer = "ALE_AUTH_RECV_ACCEPT_V4"
action = "block"
condition = [ { field = "IP_LOCAL_PORT", value = 99999 } ]

[[step]]
host = "server"
do = "policy"
add = [
  { key = "no-web", layer = "ALE_AUTH_RECV_ACCEPT_V4", action = "block", condition = [ { field = "IP_LOCAL_PORT", value = 80 } ] },
  { key = "bad", layer = "ALE_AUTH_RECV_ACCEPT_V4", action = "blcok" },
]
"""


def test_policy_from_tables_positions() -> None:
    doc, loc = parse_toml(SCENARIO, "s.toml")
    with pytest.raises(InputError) as ei:
        policy_from_tables(doc["host"][0]["policy"], "s.toml", loc, ("host", 0, "policy"))
    assert [str(d) for d in ei.value.diagnostics] == [
        "s.toml:9:50: IP_LOCAL_PORT: value 99999 does not fit FWP_UINT16 (0..65535)"
    ]


def test_parse_filter_table_and_tables() -> None:
    doc, loc = parse_toml(SCENARIO, "s.toml")
    base = parse_policy("", "x")
    add = doc["step"][0]["add"]
    f = parse_filter_table(
        add[0],
        filename="s.toml",
        locator=loc,
        path_prefix=("step", 0, "add", 0),
        sublayers=base.sublayers,
        callouts=base.callouts,
        next_id=70010,
    )
    assert f.key == "no-web" and f.filter_id == 70010 and f.conditions[0].value == 80
    assert f.loc is not None and (f.loc.line, f.loc.col) == (15, 3)
    with pytest.raises(InputError) as ei:
        parse_filter_tables(add, base, "s.toml", locator=loc, path_prefix=("step", 0, "add"))
    assert [str(d) for d in ei.value.diagnostics] == [
        "s.toml:16:62: unknown action 'blcok' (did you mean block?)"
    ]
    pol = parse_policy(SPEC_EXAMPLE, "p.toml")
    (g,) = parse_filter_tables([add[0]], pol, "<recording>")
    assert g.filter_id == 70002  # after the policy's own 70001


# ----------------------------------------------------------------------------- dump


def test_dump_round_trip_spec_example() -> None:
    p = parse_policy(SPEC_EXAMPLE, "p.toml")
    text = dump_policy(p, header_comment="made by a test\nsecond line")
    assert text.startswith("# made by a test\n# second line\n")
    q = parse_policy(text, "q.toml")
    assert q.filters == p.filters and q.sublayers == p.sublayers and q.callouts == p.callouts
    assert "MPSSVC_WF" not in text  # built-ins are not written unless changed


def test_dump_assumed_callout_comment() -> None:
    base = parse_policy("", "x")
    callouts = dict(base.callouts)
    callouts["x"] = Callout(
        key="x", returns="continue", assumed=True, guid="0b4b4ad8-3f6e-4b5c-9d2e-1f2a3b4c5d6e"
    )
    text = dump_policy(Policy(sublayers=base.sublayers, callouts=callouts, filters=()))
    assert "# behaviour assumed: the simulator cannot know what this callout does; edit returns" in text
    assert parse_policy(text, "q").callouts == callouts


def test_dump_readable_values() -> None:
    p = parse_policy(
        one_filter(
            """condition = [
  { field = "ALE_APP_ID", value = 'C:\\x.exe' },
  { field = "FLAGS", match = "flags_all_set", value = 5 },
  { field = "IP_REMOTE_ADDRESS", value = 167772161 },
  { field = "ALE_USER_ID", value = "S-1-5-18" },
]
flags = 8
"""
        ),
        "p.toml",
    )
    text = dump_policy(p)
    assert "value = '\\device\\harddiskvolume3\\x.exe'" in text  # a literal string: no escapes
    assert 'value = ["is_loopback", "is_reauthorize"]' in text
    assert 'value = "10.0.0.1"' in text
    assert 'value = "D:(A;;CC;;;S-1-5-18)"' in text
    assert 'flags = ["clear_action_right"]' in text
    assert parse_policy(text, "q").filters == p.filters


# ----------------------------------------------------------------------------- validate command


def _run_validate(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = validate.run(argparse.Namespace(file=str(path)))
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_policy_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "p.toml"
    f.write_text(SPEC_EXAMPLE, encoding="utf-8")
    code, out, err = _run_validate(f, capsys)
    assert (code, err) == (0, "")
    assert out == f"{f}: ok (1 filters, 1 sublayers, 1 callouts)\n"


def test_validate_policy_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "p.toml"
    f.write_text(one_filter("wieght = 1\n") + 'condition = [ { field = "IP_LOCAL_PORT", value = -5 } ]\n')
    code, out, err = _run_validate(f, capsys)
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"{f}:5:1: unknown key 'wieght' in [[filter]] (did you mean weight?)",
        f"{f}:6:50: IP_LOCAL_PORT: value -5 does not fit FWP_UINT16 (0..65535)",
    ]


def test_validate_toml_syntax_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "p.toml"
    f.write_text("[[filter]]\nkey = \n")
    code, _, err = _run_validate(f, capsys)
    assert code == 2 and err.startswith(f"{f}:2:")


def test_validate_unknown_kind_and_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "p.toml"
    f.write_text("foo = 1\n")
    code, _, err = _run_validate(f, capsys)
    assert code == 2 and "cannot tell what this file is" in err
    code, _, err = _run_validate(tmp_path / "none.toml", capsys)
    assert code == 2 and "cannot read" in err


def test_validate_broken_recording(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "r.wfpr"
    f.write_bytes(b"\x81\xa1a\x01garbage")
    code, out, err = _run_validate(f, capsys)
    assert code == 2 and out == "" and err.strip()
    assert "Traceback" not in err


def test_validate_scenario(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("wfptui.io.scenario_file")
    f = tmp_path / "s.toml"
    f.write_text('name = "x"\n[[host]]\nname = "a"\naddress = ["10.0.0.1"]\n')
    code, out, err = _run_validate(f, capsys)
    assert code == 0, err
    assert out.startswith(f"{f}: ok (scenario: 1 hosts")


def test_builtin_callout_layer_checked() -> None:
    errs = errors_of(
        '[[filter]]\nkey = "f"\nlayer = "INBOUND_TRANSPORT_V4"\naction = "callout_terminating"\n'
        'callout = "WFP_TRANSPORT_LAYER_V4_SILENT_DROP"\n'
    )
    assert errs == [
        "p.toml:5:11: built-in callout WFP_TRANSPORT_LAYER_V4_SILENT_DROP is registered at "
        "INBOUND_TRANSPORT_V4_DISCARD, not at INBOUND_TRANSPORT_V4"
    ]


REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "path", sorted((REPO / "scenarios" / "policies").glob("*.toml")), ids=lambda p: p.name
)
def test_example_policies_load_and_round_trip(path: Path) -> None:
    p = load_policy(path)
    q = parse_policy(dump_policy(p), "again.toml")
    assert q.filters == p.filters and q.sublayers == p.sublayers and q.callouts == p.callouts


def test_reference_policy() -> None:
    p = load_policy(REPO / "scenarios" / "policies" / "reference.toml")
    by = p.by_key()
    assert by["browser-out"].filter_id == 80001
    assert (
        by["browser-out"].conditions[0].value == r"\device\harddiskvolume3\program files\browser\browser.exe"
    )
    assert by["vpn-kill-switch"].flags == FilterFlag.PERMIT_IF_CALLOUT_UNREGISTERED
    assert p.sublayers["MPSSVC_WF"].weight == 2 and p.sublayers["MPSSVC_WF"].builtin


def test_positions_are_found_only_when_read() -> None:
    """A valid file is not scanned for positions at load; the first position read scans
    it, and every filter then knows its line (the TUI inspector shows them)."""
    from wfptui.core.model import SourceLoc
    from wfptui.io import tomlpos

    scans = []
    real_scan = tomlpos.TomlLocator._scan

    def counting_scan(self: tomlpos.TomlLocator) -> None:
        scans.append(1)
        real_scan(self)

    text = "".join(f'[[filter]]\nkey = "f{i}"\nlayer = "STREAM_V4"\naction = "block"\n\n' for i in range(5))
    tomlpos.TomlLocator._scan = counting_scan  # type: ignore[method-assign]
    try:
        policy = parse_policy(text, "p.toml")
        assert scans == []
        assert [(f.loc.line, f.loc.col) for f in policy.filters if f.loc] == [(1 + 5 * i, 1) for i in range(5)]
        assert scans == [1]
    finally:
        tomlpos.TomlLocator._scan = real_scan  # type: ignore[method-assign]
    loc = policy.filters[2].loc
    assert loc == SourceLoc("p.toml", 11, 1) and hash(loc) == hash(SourceLoc("p.toml", 11, 1))
    assert str(loc) == "p.toml:11:1" and repr(loc) == "SourceLoc(file='p.toml', line=11, col=1)"
    with pytest.raises(AttributeError):
        loc.line = 3  # type: ignore[misc]
