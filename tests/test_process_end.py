"""The entry point ends the process with everything frozen (``io.heap.process_ends``), so
the interpreter's last collection walks nothing a command built; ``cli.main`` itself, which
the tests call in process, leaves the collector as it was."""

from __future__ import annotations

import gc
import subprocess
import sys

from wfptui.cli import main

PROBE = """
import atexit, gc, sys
atexit.register(lambda: print("frozen", gc.get_freeze_count() > 0, "enabled", gc.isenabled()))
sys.argv = ["wfptui", *sys.argv[1:]]
import runpy
runpy.run_module("wfptui", run_name="__main__")
"""


def test_python_m_wfptui_ends_frozen_with_the_commands_exit_code(tmp_path) -> None:
    bad = tmp_path / "bad.wfpr"
    bad.write_bytes(b"\x81\xa1x\x01")
    ok = subprocess.run([sys.executable, "-c", PROBE, "--version"], capture_output=True, text=True, check=False)
    assert ok.returncode == 0
    assert ok.stdout.splitlines()[-1] == "frozen True enabled True"
    refused = subprocess.run([sys.executable, "-c", PROBE, "replay", str(bad), "--check"], capture_output=True,
                             text=True, check=False)
    assert refused.returncode == 2
    assert "not a wfptui recording" in refused.stderr
    assert refused.stdout.splitlines()[-1] == "frozen True enabled True"


def test_main_in_process_leaves_nothing_frozen(capsys) -> None:
    before = gc.get_freeze_count()
    assert main(["--version"]) == 0
    assert gc.get_freeze_count() == before
    assert capsys.readouterr().out.startswith("wfptui ")
