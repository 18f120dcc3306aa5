"""Policy files: ``action = "redirect"`` rules (issue 15; core.redirect) -- ``to`` at
ALE_CONNECT_REDIRECT, ``local`` at ALE_BIND_REDIRECT, errors at file:line:col (exit 2 through
the CLI), written back by ``dump_policy`` and read again to the same policy (Hypothesis)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wfptui.core.redirect import CONNECT, LOCAL, Target, parse_target
from wfptui.io.errors import InputError
from wfptui.io.policy_file import dump_policy, parse_policy

RULE = """\
[[callout]]
key = "proxy"
default = "continue"

[[callout.rule]]
condition = [{{ field = "IP_LOCAL_PORT", value = 1 }}]
action = "redirect"
{target}

[[filter]]
key = "r"
layer = "{layer}"
action = "{action}"
callout = "proxy"
"""


def policy(target: str = 'to = "127.0.0.1:8080"', layer: str = "ALE_CONNECT_REDIRECT_V4",
           action: str = "callout_terminating") -> str:
    return RULE.format(target=target, layer=layer, action=action)


def errors_of(text: str) -> list[str]:
    with pytest.raises(InputError) as ei:
        parse_policy(text, "p.toml")
    return [str(d) for d in ei.value.diagnostics]


def test_targets_parse() -> None:
    (rule,) = parse_policy(policy(), "p.toml").callouts["proxy"].rules
    assert rule.target == Target(CONNECT, 0x7F000001, 32, 8080)
    (rule,) = parse_policy(policy('to = "[::1]:8443"', "ALE_CONNECT_REDIRECT_V6"), "p.toml").callouts["proxy"].rules
    assert rule.target == Target(CONNECT, 1, 128, 8443)
    (rule,) = parse_policy(policy('local = "10.8.0.2"', "ALE_BIND_REDIRECT_V4"), "p.toml").callouts["proxy"].rules
    assert rule.target == Target(LOCAL, 0x0A080002, 32, None)


def test_redirect_errors_each_at_its_place() -> None:
    assert errors_of(policy('to = "127.0.0.1"')) == [
        "p.toml:8:6: to: '127.0.0.1': a connect redirect needs the new remote port (address:port)"]
    assert errors_of(policy('to = "proxy:8080"')) == ["p.toml:8:6: to: 'proxy:8080': not an IP address"]
    assert errors_of(policy("to = 8080")) == [
        'p.toml:8:6: to must be a string such as "127.0.0.1:8080", not the integer 8080']
    assert errors_of(policy("")) == [
        'p.toml:5:1: a redirect rule gives either to = "address:port" (ALE_CONNECT_REDIRECT: the new remote end) '
        'or local = "address" (ALE_BIND_REDIRECT: the new local end)']
    text = policy().replace('action = "redirect"', 'action = "permit"')
    assert errors_of(text) == ['p.toml:8:1: to is only for a redirect rule (action = "redirect")']


def test_redirect_only_at_its_layer_family_and_ip_version() -> None:
    assert errors_of(policy(layer="ALE_BIND_REDIRECT_V4")) == [
        "p.toml:5:1: callout 'proxy' rule 1: redirect to = ... rewrites at FWPM_LAYER_ALE_CONNECT_REDIRECT_V4/V6 "
        "only, not at FWPM_LAYER_ALE_BIND_REDIRECT_V4, where filter 'r' uses the callout"]
    assert errors_of(policy(layer="ALE_CONNECT_REDIRECT_V6")) == [
        "p.toml:5:1: callout 'proxy' rule 1: redirect to = 127.0.0.1:8080: an IPv4 address at "
        "FWPM_LAYER_ALE_CONNECT_REDIRECT_V6, where filter 'r' uses the callout"]
    assert errors_of(policy(action="callout_inspection")) == [
        "p.toml:5:1: callout 'proxy' rule 1: redirect needs a terminating callout filter (a redirecting callout "
        "returns FWP_ACTION_PERMIT), not callout_inspection (filter 'r')"]


def test_validate_exits_2_with_the_place(tmp_path: Path) -> None:
    f = tmp_path / "p.toml"
    f.write_text(policy('to = "127.0.0.1:99999"'), encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "wfptui", "validate", str(f)], capture_output=True, text=True,
                       check=False)
    assert r.returncode == 2 and f"{f}:8:6: to: '127.0.0.1:99999': the port must be 0..65535" in r.stderr
    assert "Traceback" not in r.stderr


addresses = st.one_of(st.integers(1, 2**32 - 1).map(lambda a: (a, 32)), st.integers(1, 2**128 - 1).map(lambda a: (a, 128)))


@given(addresses, st.integers(1, 65535), st.booleans())
def test_parse_dump_parse_is_identity(addr: tuple[int, int], port: int, connect: bool) -> None:
    from wfptui.core.outcome import target_text

    v, bits = addr
    target = Target(CONNECT if connect else LOCAL, v, bits, port)
    family = "CONNECT" if connect else "BIND"
    text = policy(f'{"to" if connect else "local"} = "{target_text(target)}"',
                  f"ALE_{family}_REDIRECT_V{4 if bits == 32 else 6}")
    p = parse_policy(text, "p.toml")
    assert p.callouts["proxy"].rules[0].target == target
    q = parse_policy(dump_policy(p), "dumped.toml")
    assert (q.callouts, q.filters) == (p.callouts, p.filters)


@given(st.text(max_size=30))
def test_parse_target_refuses_or_reads_any_text(text: str) -> None:
    for kind in (CONNECT, LOCAL):
        try:
            t = parse_target(kind, text)
        except ValueError as exc:
            assert str(exc).startswith(repr(text))
        else:
            assert t.kind == kind and t.bits in (32, 128) and (t.port is None or 0 < t.port <= 65535)


SCEN = """\
name = "s"
[[host]]
name = "laptop"
address = ["192.168.1.10"]
app = [ {{ name = "proxy", path = 'C:\\\\p.exe' }} ]
[[host]]
name = "other"
address = ["192.168.1.20"]
app = [ {{ name = "proxy", path = 'C:\\\\p.exe' }} ]
[[step]]
host = "other"
do = "listen"
app = "proxy"
port = 8080
socket = "l"
[[step]]
host = "laptop"
do = "connect"
app = "proxy"
{records}
"""


def scenario_errors(records: str) -> list[str]:
    from wfptui.io.scenario_file import parse_scenario

    with pytest.raises(InputError) as ei:
        parse_scenario(SCEN.format(records=records), "s.toml")
    return [str(d) for d in ei.value.diagnostics]


def test_redirect_records_name_an_accepted_socket_of_the_same_host() -> None:
    assert scenario_errors('redirect_records = "nosuch#1"') == [
        's.toml:20:20: redirect_records names the accepted socket of a proxy ("listener#1"), and no earlier step '
        "creates 'nosuch#1'"]
    assert scenario_errors('redirect_records = "l"') == [
        "s.toml:20:20: socket 'l' is the proxy's listener: name the connection it accepted, 'l#1'"]
    assert scenario_errors('redirect_records = "l#1"') == [
        "s.toml:20:20: socket 'l#1' belongs to host 'other': redirect records are set on a socket of the same host"]
    assert scenario_errors("redirect_records = 3") == ["s.toml:20:20: redirect_records must be a string, not int"]
    assert scenario_errors("") == ["s.toml:16:1: a 'connect' step needs `to`"]
