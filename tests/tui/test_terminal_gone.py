"""The TUI leaves when its terminal is gone (tui.startup.terminal_gone): Textual's input loop
would otherwise spin on a hung-up pty when no SIGHUP reaches the process (``make run``)."""

from __future__ import annotations

import os

import pytest

from wfptui.tui import startup


@pytest.mark.skipif(os.name == "nt", reason="POSIX ttys only")
def test_terminal_gone_follows_isatty_of_standard_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(startup.os, "isatty", lambda fd: True)
    assert startup.terminal_gone() is False
    monkeypatch.setattr(startup.os, "isatty", lambda fd: False)
    assert startup.terminal_gone() is True

    def closed(fd: int) -> bool:
        raise OSError("EIO")

    monkeypatch.setattr(startup.os, "isatty", closed)
    assert startup.terminal_gone() is True


def test_never_gone_on_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(startup.os, "name", "nt")
    monkeypatch.setattr(startup.os, "isatty", lambda fd: False)
    assert startup.terminal_gone() is False
