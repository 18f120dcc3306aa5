"""Property tests for io.policy_file: random input never crashes (only InputError), and
random valid policies survive dump_policy → parse_policy unchanged."""

from __future__ import annotations

import string
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from wfptui.core.builtins import get_callout, get_sublayer
from wfptui.core.datatypes import DataType as D
from wfptui.core.fields import normalize_guid
from wfptui.core.layers import get_layer
from wfptui.core.model import (
    ActionType,
    Callout,
    Condition,
    Filter,
    FilterFlag,
    MatchType,
    Policy,
    Sublayer,
    Weight,
)
from wfptui.core.values import ValueParseError, parse_value
from wfptui.core.weights import effective_weight
from wfptui.io.errors import InputError
from wfptui.io.policy_file import builtin_objects, dump_policy, parse_policy

M = MatchType

# ----------------------------------------------------------------------------- never crash


@given(st.binary(max_size=400))
def test_random_bytes_never_crash(data: bytes) -> None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return
    try:
        parse_policy(text, "r.toml")
    except InputError as exc:
        assert exc.diagnostics and all(d.file == "r.toml" for d in exc.diagnostics)


_names = st.sampled_from(
    [
        "filter",
        "sublayer",
        "callout",
        "key",
        "layer",
        "action",
        "weight",
        "condition",
        "field",
        "match",
        "value",
        "flags",
        "id",
        "callout",
        "effective_weight",
        "sublayer",
        "returns",
        "hard",
        "guid",
        "x",
    ]
)
_atoms = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.booleans(),
    st.sampled_from(
        [
            "ALE_AUTH_CONNECT_V4",
            "ALE_AUTH_RECV_ACCEPT_V6",
            "block",
            "permit",
            "callout_terminating",
            "IP_LOCAL_PORT",
            "IP_REMOTE_ADDRESS",
            "FLAGS",
            "ALE_APP_ID",
            "ALE_USER_ID",
            "range",
            "equal",
            "flags_all_set",
            "10.0.0.0/8",
            "fd00::1",
            "is_loopback",
            "C:\\x.exe",
            "S-1-5-18",
            "D:(A;;CC;;;WD)",
            "0xffffffffffffffff",
            "UNIVERSAL",
            "clear_action_right",
            "continue",
        ]
    ),
    st.text(max_size=8),
)


def _value(depth: int = 0) -> st.SearchStrategy[Any]:
    if depth > 2:
        return _atoms
    return st.one_of(
        _atoms,
        st.lists(st.deferred(lambda: _value(depth + 1)), max_size=3),
        st.dictionaries(_names, st.deferred(lambda: _value(depth + 1)), max_size=4),
    )


def _toml_lit(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return '"' + "".join(c if c.isprintable() and c not in '"\\' else f"\\u{ord(c):04x}" for c in v) + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml_lit(x) for x in v) + "]"
    return "{ " + ", ".join(f"{k} = {_toml_lit(x)}" for k, x in v.items()) + " }"


@given(
    st.dictionaries(
        st.sampled_from(["filter", "sublayer", "callout", "nope"]),
        st.lists(st.dictionaries(_names, _value(), max_size=8), max_size=3),
        max_size=3,
    )
)
def test_random_structures_never_crash(doc: dict[str, list[dict[str, Any]]]) -> None:
    lines = []
    for top, tables in doc.items():
        for t in tables:
            lines.append(f"[[{top}]]")
            lines += [f"{k} = {_toml_lit(v)}" for k, v in t.items()]
    text = "\n".join(lines) + "\n"
    try:
        p = parse_policy(text, "r.toml")
    except InputError as exc:
        for d in exc.diagnostics:
            assert d.file == "r.toml" and d.message
        return
    assert parse_policy(dump_policy(p), "again.toml").filters == p.filters


# ----------------------------------------------------------------------------- round trip

LAYERS = ["ALE_AUTH_CONNECT_V4", "ALE_AUTH_CONNECT_V6", "ALE_AUTH_RECV_ACCEPT_V4", "ALE_AUTH_RECV_ACCEPT_V6"]
_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
_sids = st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=5).map(
    lambda subs: "S-1-5-" + "-".join(map(str, subs))
)
_u64 = st.integers(0, 2**64 - 1)


@st.composite
def _condition(draw: st.DrawFn, layer: str) -> Condition:
    v6 = layer.endswith("V6")
    addr = st.integers(0, 2**128 - 1) if v6 else st.integers(0, 2**32 - 1)
    bits = 128 if v6 else 32
    kind = draw(
        st.sampled_from(
            [
                "port",
                "port_range",
                "addr",
                "mask",
                "addr_range",
                "proto",
                "flags",
                "app",
                "sd",
                "sid",
                "iface",
                "empty",
                "port_cmp",
            ]
        )
    )
    field: str
    match = M.FWP_MATCH_EQUAL
    raw: Any
    if kind == "port":
        field, raw = draw(st.sampled_from(["IP_LOCAL_PORT", "IP_REMOTE_PORT"])), draw(st.integers(0, 65535))
        match = draw(st.sampled_from([M.FWP_MATCH_EQUAL, M.FWP_MATCH_NOT_EQUAL, M.FWP_MATCH_FLAGS_ANY_SET]))
    elif kind == "port_cmp":
        field, raw = "IP_LOCAL_PORT", draw(st.integers(0, 65535))
        match = draw(st.sampled_from([M.FWP_MATCH_GREATER, M.FWP_MATCH_LESS_OR_EQUAL]))
    elif kind == "port_range":
        a, b = sorted((draw(st.integers(0, 65535)), draw(st.integers(0, 65535))))
        field, raw, match = "IP_REMOTE_PORT", [a, b], M.FWP_MATCH_RANGE
    elif kind == "addr":
        field, raw = "IP_REMOTE_ADDRESS", draw(addr)
    elif kind == "mask":
        from wfptui.core.values import format_address

        field = "IP_LOCAL_ADDRESS"
        raw = f"{format_address(draw(addr), bits)}/{draw(st.integers(0, bits))}"
    elif kind == "addr_range":
        a, b = sorted((draw(addr), draw(addr)))
        field, raw, match = "IP_REMOTE_ADDRESS", [a, b], M.FWP_MATCH_RANGE
    elif kind == "proto":
        field, raw = "IP_PROTOCOL", draw(st.integers(0, 255))
    elif kind == "flags":
        field, raw = "FLAGS", draw(st.integers(0, 2**32 - 1))
        match = draw(
            st.sampled_from([M.FWP_MATCH_FLAGS_ALL_SET, M.FWP_MATCH_FLAGS_NONE_SET, M.FWP_MATCH_EQUAL])
        )
    elif kind == "app":
        field = "ALE_APP_ID"
        raw = draw(st.one_of(st.just("System"), _text.map(lambda t: "C:\\" + t)))
    elif kind == "sd":
        field = "ALE_USER_ID"
        raw = draw(
            st.one_of(
                _sids,
                st.lists(_sids, min_size=1, max_size=3),
                st.sampled_from(
                    [
                        "O:LSD:(A;;CC;;;S-1-15-3-1)(A;;CC;;;WD)(A;;CC;;;AN)",
                        'O:SYG:SYD:(XA;;CC;;;WD;(WIN://SYSAPPID Contains "x_y"))',
                    ]
                ),
            )
        )
        match = draw(st.sampled_from([M.FWP_MATCH_EQUAL, M.FWP_MATCH_NOT_EQUAL]))
    elif kind == "sid":
        field, raw = "ALE_PACKAGE_ID", draw(_sids)
        match = draw(st.sampled_from([M.FWP_MATCH_EQUAL, M.FWP_MATCH_NOT_EQUAL]))
    elif kind == "iface":
        field, raw = "IP_LOCAL_INTERFACE", {"uint64": str(draw(_u64))}
    else:
        field, raw = (
            draw(st.sampled_from(["IP_LOCAL_PORT", "ALE_APP_ID", "ALE_USER_ID", "IP_REMOTE_ADDRESS"])),
            {"empty": True},
        )
    try:
        value, dtype = parse_value(field, get_layer(layer), match, raw)
    except ValueParseError:
        assume(False)
        raise
    return Condition(field, match, value, dtype)


def _key(reserved: Any) -> st.SearchStrategy[str]:
    return st.text(
        alphabet=string.ascii_letters + string.digits + "-_ .é\"'\\", min_size=1, max_size=10
    ).filter(lambda k: k.strip() == k and reserved(k) is None and normalize_guid(k) is None)


@st.composite
def _policy(draw: st.DrawFn) -> Policy:
    sublayers, callouts = builtin_objects()
    for key in draw(st.lists(_key(get_sublayer), max_size=3, unique_by=str.lower)):
        sublayers[key] = Sublayer(
            key=key,
            weight=draw(st.integers(0, 65535)),
            name=draw(_text),
            guid=draw(st.one_of(st.none(), st.uuids().map(str))),
        )
    if draw(st.booleans()):
        sublayers["MPSSVC_WF"] = Sublayer(
            key="MPSSVC_WF",
            weight=draw(st.integers(0, 65535)),
            guid=sublayers["MPSSVC_WF"].guid,
            name=sublayers["MPSSVC_WF"].name,
            builtin=True,
        )
    custom_callouts = draw(st.lists(_key(get_callout), max_size=3, unique_by=str.lower))
    for key in custom_callouts:
        callouts[key] = Callout(
            key=key,
            returns=draw(st.sampled_from(["permit", "block", "continue", "unregistered"])),
            hard=draw(st.booleans()),
            silent=draw(st.booleans()),
            name=draw(_text),
            assumed=draw(st.booleans()),
        )
    filters: list[Filter] = []
    keys = draw(
        st.lists(st.text(min_size=1, max_size=10).filter(lambda k: k.strip() != ""), max_size=5, unique=True)
    )
    ids = draw(st.lists(st.integers(1, 2**64 - 1), min_size=len(keys), max_size=len(keys), unique=True))
    for key, fid in zip(keys, ids, strict=True):
        layer = draw(st.sampled_from(LAYERS))
        conds = tuple(draw(st.lists(_condition(layer), max_size=4)))
        weight = draw(
            st.one_of(
                st.just(Weight(D.FWP_EMPTY)),
                st.integers(0, 15).map(lambda n: Weight(D.FWP_UINT8, n)),
                _u64.map(lambda n: Weight(D.FWP_UINT64, n)),
            )
        )
        eff = draw(st.one_of(st.just(effective_weight(weight, conds)), _u64))
        builtin_here = {
            "ALE_AUTH_CONNECT_V4": "BUILT_IN_RESERVED_3",
            "ALE_AUTH_CONNECT_V6": "BUILT_IN_RESERVED_4",
        }
        callout_keys = [k for k, c in callouts.items() if not c.builtin] + (
            [builtin_here[layer]] if layer in builtin_here else []
        )
        assume(callout_keys)
        action = draw(st.sampled_from(list(ActionType)[:6]))
        callout = draw(st.sampled_from(callout_keys)) if action.is_callout else None
        flags = draw(
            st.sampled_from(
                [0, FilterFlag.CLEAR_ACTION_RIGHT, FilterFlag.INDEXED | FilterFlag.PERSISTENT, 0x80000]
            )
        )
        if action in (ActionType.FWP_ACTION_CALLOUT_TERMINATING, ActionType.FWP_ACTION_CALLOUT_UNKNOWN):
            flags |= draw(st.sampled_from([0, FilterFlag.PERMIT_IF_CALLOUT_UNREGISTERED]))
        filters.append(
            Filter(
                key=key,
                layer=layer,
                action=action,
                sublayer=draw(st.sampled_from(list(sublayers))),
                weight=weight,
                effective_weight=eff,
                conditions=conds,
                flags=int(flags),
                callout=callout,
                filter_id=fid,
                name=draw(_text),
                description=draw(_text),
                provider=draw(st.one_of(st.none(), _text)),
                guid=draw(st.one_of(st.none(), st.uuids().map(str))),
            )
        )
    return Policy(sublayers=sublayers, callouts=callouts, filters=tuple(filters))


@given(_policy())
def test_dump_parse_round_trip(p: Policy) -> None:
    text = dump_policy(p, header_comment="round trip")
    q = parse_policy(text, "rt.toml")
    assert q.filters == p.filters, text
    assert q.sublayers == p.sublayers, text
    assert q.callouts == p.callouts, text
    # and dumping again is stable
    assert dump_policy(q, header_comment="round trip") == text


@given(st.binary(max_size=300))
def test_random_files_only_input_error(data: bytes) -> None:
    import tempfile
    from pathlib import Path

    from wfptui.commands.validate import validate
    from wfptui.io.policy_file import load_policy

    with tempfile.TemporaryDirectory() as d:
        for name in ("p.toml", "r.wfpr"):
            path = Path(d) / name
            path.write_bytes(data)
            try:
                load_policy(path)
            except InputError as exc:
                assert exc.diagnostics
            try:
                validate(str(path))
            except InputError as exc:
                assert exc.diagnostics


# ----------------------------------------------------------------------------- hostile classes (issue 12)

_NUMBER_HOSTILE = st.sampled_from(["nan", "+nan", "-nan", "inf", "-inf", "1e14", "1e308", "0.5"]) | st.integers(
    min_value=10, max_value=5000).map(lambda n: "9" * n)


@given(depth=st.integers(min_value=1, max_value=3000), inline=st.booleans(),
       key=st.sampled_from(["name", "weight", "value", "action", "layer"]))
def test_deep_nesting_is_an_input_error(depth: int, inline: bool, key: str) -> None:
    opener, closer = ("{a=", "}") if inline else ("[", "]")
    text = f"[[filter]]\n{key} = " + opener * depth + "1" + closer * depth + "\n"
    try:
        parse_policy(text, "deep.toml")
    except InputError as exc:
        assert exc.diagnostics and all(d.file == "deep.toml" and d.line >= 1 for d in exc.diagnostics)
    else:  # pragma: no cover - a nested value is never a valid filter field
        raise AssertionError("nested value accepted")


@given(number=_NUMBER_HOSTILE, key=st.sampled_from(["weight", "id", "filter_id", "value", "port"]))
def test_hostile_numbers_are_input_errors(number: str, key: str) -> None:
    text = ('[[filter]]\nkey = "f"\nlayer = "ALE_AUTH_CONNECT_V4"\naction = "block"\n'
            f"{key} = {number}\n")
    try:
        parse_policy(text, "num.toml")
    except InputError as exc:
        assert all(d.file == "num.toml" for d in exc.diagnostics)
        assert any(d.line == 5 for d in exc.diagnostics), exc.diagnostics
