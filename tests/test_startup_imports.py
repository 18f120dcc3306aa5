"""What the headless commands must not import at start-up (harlequin's import test, for wfptui).

Start-up is kept fast by importing at the command boundary only what the chosen command
needs: ``wfptui run`` never loads Textual. Each case runs in a fresh interpreter:
``import wfptui.cli`` and the command's module, then the command itself on a file from
the repository, and lists the third-party packages that came into ``sys.modules``.
msgpack is allowed only where the command reads or writes recordings (.wfpr).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Never at the start of a headless command: the TUI's packages and the folder watcher.
NEVER = ("textual", "rich", "watchfiles", "tree_sitter")
#: Only where recordings are read or written.
RECORDINGS = ("msgpack", "ormsgpack")
#: Standard-library packages no headless command needs (asyncio: ~18 ms; the engine's
#: synchronous driver gives way with a bare yield, core/engine.bare_yield).
STDLIB_NEVER = ("asyncio",)

PROBE = """
import contextlib, io, json, sys
import importlib
import wfptui.cli
importlib.import_module("wfptui.commands." + wfptui.cli.COMMANDS[sys.argv[1]][0])
at_import = sorted({m.split(".")[0] for m in sys.modules})
out = io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
    code = wfptui.cli.main(sys.argv[1:])
after_run = sorted({m.split(".")[0] for m in sys.modules})
print(json.dumps({"code": code, "at_import": at_import, "after_run": after_run, "out": out.getvalue()}))
"""

POLICY = "scenarios/policies/tcp-connect-server.toml"

#: (argv, needs recordings)
CASES: list[tuple[list[str], bool]] = [
    (["run", "scenarios/tcp-connect.toml"], False),
    (["replay", "recordings/ping.wfpr", "--check"], True),
    (["explain", "--policy", POLICY, "--layer", "ALE_AUTH_RECV_ACCEPT_V4", "IP_LOCAL_PORT=80",
      "IP_PROTOCOL=tcp"], False),
    (["validate", "scenarios/tcp-connect.toml"], False),
    (["validate", "recordings/ping.wfpr"], True),
    (["triage", "tests/data/evidence/wfpdiag-case-1.xml"], False),
    (["lint", POLICY], False),
]


def _probe(argv: list[str]) -> dict[str, object]:
    proc = subprocess.run([sys.executable, "-c", PROBE, *argv], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result: dict[str, object] = json.loads(proc.stdout.splitlines()[-1])
    return result


def _loaded(modules: object, names: tuple[str, ...]) -> list[str]:
    assert isinstance(modules, list)
    return [name for name in names if name in modules]


def test_importing_the_cli_loads_no_ui_watcher_or_recording_packages() -> None:
    code = ("import sys, wfptui.cli\n"
            "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          check=True, timeout=60)
    loaded = proc.stdout.split()
    assert _loaded(loaded, NEVER + RECORDINGS) == []


@pytest.mark.parametrize(("argv", "recordings"), CASES, ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_a_headless_command_loads_no_ui_or_watcher(argv: list[str], recordings: bool) -> None:
    result = _probe(argv)
    assert result["code"] in (0, 1), result["out"]  # it really ran (1: a finding or a difference)
    assert _loaded(result["at_import"], NEVER + RECORDINGS) == [], "at import"
    assert _loaded(result["after_run"], NEVER + STDLIB_NEVER) == [], "after the run"
    if not recordings:
        assert _loaded(result["after_run"], RECORDINGS) == [], "no recording was read or written"


@pytest.mark.parametrize("planted", ["textual", "msgpack"])
def test_the_probe_sees_a_package_the_command_imports(planted: str, tmp_path: Path) -> None:
    """The check can fail: a command run after importing a package reports it."""
    code = PROBE.replace("import wfptui.cli\n", f"import wfptui.cli, {planted}\n", 1)
    proc = subprocess.run([sys.executable, "-c", code, "validate", "scenarios/tcp-connect.toml"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    result = json.loads(proc.stdout.splitlines()[-1])
    assert planted in _loaded(result["at_import"], NEVER + RECORDINGS)
