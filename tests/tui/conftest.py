"""Fixtures for the TUI tests: a small two-host scenario whose policies are real files.

The scenario is built in Python (core.scenario) so the tests depend on the engine and
the policy parser only. Snapshots need determinism: no cursor blink, no animations.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wfptui.core.scenario import AppSpec, HostSpec, Scenario, Step
from wfptui.io.policy_file import load_policy
from wfptui.tui.backend import Source

os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")

SERVER_POLICY = """\
[[sublayer]]
key = "corp"
weight = 0x8000

[[filter]]
key = "allow-web"
layer = "ALE_AUTH_RECV_ACCEPT_V4"
sublayer = "corp"
action = "permit"
condition = [ { field = "IP_LOCAL_PORT", match = "equal", value = 80 } ]
"""

#: The same policy, with a block of port 80 that outweighs the permit.
SERVER_POLICY_BLOCK = SERVER_POLICY + """
[[filter]]
key = "no-web"
layer = "ALE_AUTH_RECV_ACCEPT_V4"
sublayer = "corp"
weight = 15
action = "block"
condition = [ { field = "IP_LOCAL_PORT", match = "equal", value = 80 } ]
"""

#: Invalid: an unknown action, at line 12.
SERVER_POLICY_BAD = SERVER_POLICY + """
[[filter]]
key = "oops"
layer = "ALE_AUTH_RECV_ACCEPT_V4"
action = "explode"
"""

CLIENT_POLICY = "# the client has no filters of its own\n"


def build_scenario(folder: Path) -> Scenario:
    """client connects to server:80, sends, probes port 81, sends again."""
    client_file, server_file = folder / "client-policy.toml", folder / "server-policy.toml"
    hosts = (
        HostSpec("client", addresses=("10.0.0.1",), policy=load_policy(client_file),
                 policy_file=str(client_file), apps=(AppSpec("browser", r"C:\Program Files\Browser\browser.exe"),)),
        HostSpec("server", addresses=("10.0.0.2",), policy=load_policy(server_file),
                 policy_file=str(server_file), apps=(AppSpec("web", r"C:\srv\web.exe"),)),
    )
    steps = (
        Step(index=1, do="listen", host="server", app="web", proto="tcp", port=80, socket="srv"),
        Step(index=2, do="connect", host="client", app="browser", to="server:80", socket="c1"),
        Step(index=3, do="send", socket="c1", bytes=1200, packets=2),
        Step(index=4, do="probe", host="client", app="browser", proto="tcp", to="server:81"),
        Step(index=5, do="connect", host="client", app="browser", to="server:80", socket="c2"),
        Step(index=6, do="send", socket="c2", bytes=1200, packets=2),
    )
    return Scenario("two hosts, one web server", hosts, steps, source=str(folder / "scenario.toml"))


def make_source(folder: Path, server_policy: str = SERVER_POLICY) -> Source:
    (folder / "client-policy.toml").write_text(CLIENT_POLICY, encoding="utf-8")
    (folder / "server-policy.toml").write_text(server_policy, encoding="utf-8")
    scenario = build_scenario(folder)
    return Source("scenario", scenario, folder / "scenario.toml",
                  policies={h.name: h.policy for h in scenario.hosts})


@pytest.fixture
def source(tmp_path: Path) -> Source:
    return make_source(tmp_path)


@pytest.fixture(autouse=True)
def _own_config_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test has its own, empty config folder (tui.settings): none reads or writes the user's."""
    folder = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("WFPTUI_CONFIG_DIR", str(folder))
    return folder


@pytest.fixture(autouse=True)
def _no_blink(monkeypatch: pytest.MonkeyPatch) -> None:
    from textual.widgets import Input, TextArea

    monkeypatch.setattr(TextArea, "_toggle_cursor_blink_visible", lambda self: None, raising=False)
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None, raising=False)
