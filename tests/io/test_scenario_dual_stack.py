"""The ``dual_stack`` step key (issue 15 item 3): what the loader accepts and refuses.

Bad input is one message naming file:line:col (exit 2 from the CLI); good input round-trips
through ``Step.to_dict`` / ``Step.from_dict`` (recordings) and leaves the key out when false.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wfptui.cli import main
from wfptui.core.scenario import Step
from wfptui.io.errors import InputError
from wfptui.io.scenario_file import parse_scenario

HEAD = '''name = "t"
[[host]]
name = "server"
address = ["10.0.0.2", "fd00::2"]

[[host]]
name = "client"
address = ["10.0.0.1"]

[[step]]
host = "server"
'''
# the step starts at line 10: `host` is line 11, `do` line 12, the keys below from line 13 on


def _errors(text: str) -> list[str]:
    try:
        parse_scenario(text, "s.toml")
    except InputError as exc:
        return [str(d) for d in exc.diagnostics]
    return []


_TOML_VALUES = st.one_of(
    st.integers(-10**6, 10**6).map(str),
    st.text(st.characters(min_codepoint=32, max_codepoint=126, exclude_characters='"\\'), max_size=8).map(lambda s: f'"{s}"'),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.lists(st.integers(0, 9), max_size=3).map(lambda xs: "[" + ", ".join(map(str, xs)) + "]"),
)


@given(_TOML_VALUES, st.sampled_from(["listen", "bind", "connect"]))
def test_non_boolean_is_refused_at_its_place(value: str, do: str) -> None:
    extra = 'to = "client:80"\n' if do == "connect" else ""
    text = HEAD + f'do = "{do}"\n{extra}dual_stack = {value}\n'
    line = 14 if extra else 13
    errs = _errors(text)
    assert errs == [f"s.toml:{line}:14: dual_stack must be true or false, not {parse_value(value)!r}"]


def parse_value(value: str) -> object:
    import tomllib
    return tomllib.loads(f"v = {value}")["v"]


@given(st.sampled_from(["send", "close", "probe", "ping", "policy", "wait"]), st.booleans())
def test_other_steps_do_not_take_it(do: str, flag: bool) -> None:
    errs = _errors(HEAD + f'do = "{do}"\ndual_stack = {str(flag).lower()}\n')
    assert f"s.toml:13:1: unknown key 'dual_stack' in a '{do}' step" in errs


@given(st.sampled_from(["listen", "bind"]), st.sampled_from(["10.0.0.2", "0.0.0.0", "fd00::2", "::1"]))
def test_address_must_be_unspecified_or_mapped(do: str, address: str) -> None:
    errs = _errors(HEAD + f'do = "{do}"\ndual_stack = true\naddress = "{address}"\n')
    assert errs == [f"s.toml:14:11: a dual_stack socket is an IPv6 socket: its address is '::' or an IPv4-mapped "
                    f"address (::ffff:a.b.c.d), not {address!r}"]


def test_mapped_address_must_be_the_hosts() -> None:
    errs = _errors(HEAD + 'do = "listen"\ndual_stack = true\naddress = "::ffff:10.0.0.9"\n')
    assert errs == ["s.toml:14:11: host 'server' has no address '::ffff:10.0.0.9'"]
    assert _errors(HEAD + 'do = "listen"\ndual_stack = true\naddress = "::ffff:10.0.0.2"\n') == []
    assert _errors(HEAD + 'do = "listen"\ndual_stack = true\naddress = "::"\n') == []


def test_connect_to_a_mapped_address_needs_an_ipv4_address() -> None:
    """A dual-stack socket reaching ::ffff:a.b.c.d sends IPv4: the host needs an IPv4 address."""
    text = HEAD.replace('address = ["10.0.0.1"]', 'address = ["fd00::1"]').replace(
        'host = "server"\n', 'host = "client"\n', 1) + 'do = "connect"\nto = "[::ffff:10.0.0.2]:80"\ndual_stack = true\n'
    assert _errors(text) == ["s.toml:13:6: host 'client' has no IPv4 address to reach '[::ffff:10.0.0.2]:80' from"]


@given(st.sampled_from(["listen", "bind", "connect"]), st.booleans())
def test_round_trip(do: str, flag: bool) -> None:
    extra = 'to = "client:80"\n' if do == "connect" else ""
    sc = parse_scenario(HEAD + f'do = "{do}"\n{extra}dual_stack = {str(flag).lower()}\n', "s.toml")
    step = sc.steps[0]
    assert step.dual_stack is flag
    d = step.to_dict()
    assert ("dual_stack" in d) is flag  # false is left out: other recordings stay byte-identical
    assert Step.from_dict(json.loads(json.dumps(d))) == step


def test_cli_exit_code_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "bad.toml"
    p.write_text(HEAD + 'do = "listen"\ndual_stack = "yes"\n', encoding="utf-8")
    assert main(["run", str(p)]) == 2
    err = capsys.readouterr().err
    assert f"{p}:13:14: dual_stack must be true or false, not 'yes'" in err
    assert "Traceback" not in err


def test_ipv4_address_at_a_v6_layer_hints_at_the_mapped_form() -> None:
    from wfptui.io.policy_file import parse_policy  # noqa: PLC0415

    text = ('[[filter]]\nkey = "x"\nlayer = "ALE_AUTH_RECV_ACCEPT_V6"\naction = "block"\n'
            'condition = [ { field = "IP_REMOTE_ADDRESS", match = "equal", value = "10.0.0.1" } ]\n')
    with pytest.raises(InputError) as exc:
        parse_policy(text, "p.toml")
    assert [str(d) for d in exc.value.diagnostics] == [
        "p.toml:5:71: IP_REMOTE_ADDRESS is an IPv6 address at this layer; '10.0.0.1' is an IPv4 address "
        "(use the _V4 layer, or ::ffff:10.0.0.1 for the IPv4 traffic of a dual-stack socket)"]


def test_mapped_local_address_reaches_ipv4_only() -> None:
    text = HEAD.replace('address = ["10.0.0.1"]', 'address = ["10.0.0.1", "fd00::1"]') + (
        'do = "connect"\nto = "[fd00::1]:80"\ndual_stack = true\naddress = "::ffff:10.0.0.2"\n')
    assert _errors(text) == ["s.toml:13:6: a dual_stack socket bound to '::ffff:10.0.0.2' reaches IPv4 peers only, "
                             "not '[fd00::1]:80'"]
