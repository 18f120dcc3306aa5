"""The ``wfptui`` router through the real entry point: help, version, the default TUI
command on a bad file, and usage errors — each with its exit code (spec §2)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from wfptui import __version__
from wfptui.cli import COMMANDS


def wfptui(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wfptui", *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120)


def test_version_and_help_exit_0() -> None:
    out = wfptui("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"wfptui {__version__}"
    out = wfptui("--help")
    assert out.returncode == 0
    for name in COMMANDS:
        assert f"    {name} " in out.stdout or f"    {name}\n" in out.stdout


def test_every_command_has_help() -> None:
    for name in COMMANDS:
        out = wfptui(name, "--help")
        assert out.returncode == 0, (name, out.stderr)
        assert out.stdout.startswith(f"usage: wfptui {name}")


def test_bad_file_for_the_tui_is_a_clear_error_not_a_tui(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[[host]]\nname = 3\n', encoding="utf-8")
    out = wfptui(str(bad))
    assert out.returncode == 2
    assert f"{bad}:3:" in out.stderr and "Traceback" not in out.stderr
    out = wfptui(str(tmp_path / "missing.wfpr"))
    assert out.returncode == 2 and "missing.wfpr" in out.stderr


def test_usage_errors_exit_2() -> None:
    out = wfptui("run")  # missing SCENARIO
    assert out.returncode == 2 and "usage: wfptui run" in out.stderr
    out = wfptui("run", "scenarios/tcp-connect.toml", "--format", "xml")
    assert out.returncode == 2 and "invalid choice" in out.stderr
