"""Scenario files (spec §4): parsing and file:line:col diagnostics."""

from __future__ import annotations

from pathlib import Path

import pytest

from wfptui.core.datatypes import WinVersion
from wfptui.io.errors import InputError
from wfptui.io.scenario_file import load_builtin_scenario, load_scenario, parse_scenario

BASE = '''name = "t"
[[host]]
name = "client"
address = ["10.0.0.1", "fd00::1"]
app = [ { name = "browser", path = 'C:\\b.exe' } ]

[[host]]
name = "server"
windows = "vista"
address = "10.0.0.2"
interface = { index = 7, type = 6, profile_id = 2 }
'''


def _errors(text: str) -> list[str]:
    with pytest.raises(InputError) as exc:
        parse_scenario(text, "s.toml")
    return [str(d) for d in exc.value.diagnostics]


def test_parses_hosts_steps_expects() -> None:
    sc = parse_scenario(BASE + '''
[[step]]
host = "server"
do = "listen"
port = 80
socket = "srv"
[[step]]
host = "client"
do = "connect"
app = "browser"
to = "[fd00::2]:80"
socket = "c1"
at = 1.5
[[step]]
do = "send"
socket = "c1"
bytes = 10
[[step]]
do = "wait"
seconds = 3
[[expect]]
host = "server"
layer = "ALE_AUTH_LISTEN_V4"
count = 1
''', "s.toml")
    assert [h.name for h in sc.hosts] == ["client", "server"]
    server = sc.hosts[1]
    assert server.windows == WinVersion.VISTA and server.addresses == ("10.0.0.2",)
    assert server.interface.index == 7 and server.interface.profile_id == 2
    assert sc.hosts[0].apps[0].path == "C:\\b.exe"
    assert [s.do for s in sc.steps] == ["listen", "connect", "send", "wait"]
    assert sc.steps[1].at == 1.5 and sc.steps[1].to == "[fd00::2]:80"
    assert sc.steps[3].seconds == 3.0
    assert sc.expects[0].count == 1
    assert sc.source is not None and sc.source.startswith('name = "t"')


@pytest.mark.parametrize(("snippet", "where", "needle"), [
    ('[[step]]\nhost = "server"\ndo = "jump"\n', "s.toml:15:6", "unknown step kind 'jump'"),
    ('[[step]]\nhost = "nobody"\ndo = "listen"\nport = 1\n', "s.toml:14:8", "unknown host 'nobody'"),
    ('[[step]]\nhost = "client"\ndo = "connect"\napp = "edge"\nto = "server:80"\n', "s.toml:16:7",
     "has no app 'edge'"),
    ('[[step]]\ndo = "send"\nsocket = "nope"\n', "s.toml:15:10", "unknown socket 'nope'"),
    ('[[step]]\nhost = "client"\ndo = "connect"\nto = "10.0.0.999:80"\n', "s.toml:16:6", "bad address"),
    ('[[step]]\nhost = "client"\ndo = "connect"\nto = "server"\n', "s.toml:16:6", "needs a port"),
    ('[[step]]\nhost = "server"\ndo = "connect"\nto = "[fd00::1]:80"\n', "s.toml:16:6", "has no IPv6 address"),
    ('[[step]]\nhost = "server"\ndo = "listen"\nport = 70000\n', "s.toml:16:8", "out of range"),
    ('[[step]]\nhost = "server"\ndo = "listen"\nprot = 80\n', "s.toml:16:1", "unknown key 'prot'"),
    ('[[step]]\nhost = "server"\ndo = "listen"\naddress = "10.0.0.9"\n', "s.toml:16:11", "has no address"),
    ('[[expect]]\nlayer = "ALE_NOPE"\n', "s.toml:14:9", "unknown layer"),
    ('[[expect]]\npacket = "FIN"\n', "s.toml:14:10", "packet must be one of"),
    ('[[step]]\nhost = "server"\ndo = "policy"\nremove = ["ghost"]\n', "s.toml:16:11", "no filter 'ghost'"),
])
def test_errors_name_the_place(snippet: str, where: str, needle: str) -> None:
    errs = _errors(BASE + "\n" + snippet)
    assert any(e.startswith(where) and needle in e for e in errs), errs


def test_send_before_socket_exists_and_policy_filter_errors() -> None:
    errs = _errors(BASE + '''
[[step]]
do = "send"
socket = "c1"
[[step]]
host = "client"
do = "connect"
to = "server:80"
socket = "c1"
[[step]]
host = "server"
do = "policy"
add = [ { key = "x", layer = "ALE_AUTH_CONNECT_V4", action = "explode" } ]
''')
    assert any("s.toml:15:10" in e and "unknown socket 'c1'" in e for e in errs), errs
    assert any(e.startswith("s.toml:24:") and "explode" in e for e in errs), errs


def test_bad_toml_and_missing_policy_file(tmp_path: Path) -> None:
    errs = _errors('name = "x"\n[[host]\n')
    assert errs[0].startswith("s.toml:2:")
    p = tmp_path / "sc.toml"
    p.write_text(BASE.replace('windows = "vista"', 'windows = "vista"\npolicy = "missing.toml"'))
    with pytest.raises(InputError) as exc:
        load_scenario(p)
    assert "missing.toml" in str(exc.value) and f"{p}:10:" in str(exc.value)


def test_policy_file_relative_and_overrides(tmp_path: Path) -> None:
    (tmp_path / "pol").mkdir()
    (tmp_path / "pol" / "srv.toml").write_text('[[filter]]\nkey = "a"\nlayer = "ALE_AUTH_LISTEN_V4"\naction = "block"\n')
    (tmp_path / "other.toml").write_text('[[filter]]\nkey = "b"\nlayer = "ALE_AUTH_LISTEN_V4"\naction = "permit"\n')
    p = tmp_path / "sc.toml"
    p.write_text(BASE.replace('windows = "vista"', 'windows = "vista"\npolicy = "pol/srv.toml"'))
    sc = load_scenario(p)
    assert [f.key for f in sc.hosts[1].policy.filters] == ["a"]
    assert sc.hosts[1].policy_file == "pol/srv.toml"
    sc2 = load_scenario(p, {"server": tmp_path / "other.toml"})
    assert [f.key for f in sc2.hosts[1].policy.filters] == ["b"]
    with pytest.raises(InputError) as exc:
        load_scenario(p, {"nobody": tmp_path / "other.toml"})
    assert "unknown host 'nobody'" in str(exc.value)


def test_inline_policy_errors_have_positions() -> None:
    errs = _errors(BASE + '''
[host.policy]
[[host.policy.filter]]
key = "x"
layer = "ALE_AUTH_CONNECT_V4"
action = "block"
condition = [ { field = "IP_REMOTE_PORT", value = "eighty" } ]
''')
    assert any(e.startswith("s.toml:18:51") for e in errs), errs


def test_builtin_scenario_loads() -> None:
    sc = load_builtin_scenario()
    assert len(sc.hosts) == 2 and sc.expects
    assert {s.do for s in sc.steps} >= {"listen", "connect", "send", "close", "probe", "policy"}


def test_interface_lists_are_checked() -> None:
    text = '''
name = "x"
[[host]]
name = "laptop"
address = ["192.168.1.10", "10.66.66.2"]
interface = [
  { index = 12 },
  { index = 31, address = "10.9.9.9" },
  { index = 12, address = "10.66.66.2" },
  { index = 40 },
  { index = 41, type = "x", address = ["10.66.66.2"] },
]
'''
    assert _errors(text) == [
        "s.toml:8:27: 10.9.9.9 is not one of the host's addresses (192.168.1.10, 10.66.66.2)",
        "s.toml:9:3: interface index 12 is used twice (interfaces 1 and 3): give each interface its own `index`",
        "s.toml:10:3: a further interface needs `address`: the host addresses on it (the first interface carries "
        "the others)",
        "s.toml:11:24: type must be an integer, not 'x'",
        "s.toml:11:39: address 10.66.66.2 is on two interfaces",
    ]
    scalar = text.replace("interface = [", "interface = 5 #")
    assert _errors(scalar[: scalar.index("interface = 5") + 13] + "\n") == [
        "s.toml:6:13: interface must be a table { index, type, profile_id, luid, tunnel_type, quarantine_epoch } "
        "or a non-empty list of them"]


def test_connect_address_must_be_the_hosts() -> None:
    text = BASE + '''
[[step]]
host = "client"
do = "connect"
to = "server:80"
address = "10.9.9.9"
'''
    errors = _errors(text)
    assert len(errors) == 1 and errors[0].endswith("host 'client' has no address '10.9.9.9'")
