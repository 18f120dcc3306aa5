"""Every committed recording in recordings/ replays to its own trace (``replay --check``).

A failure here means the engine's behaviour changed. If the change is intended, regenerate
the samples with ``make recordings`` (tools/make_recordings.py) and review them with
``wfptui diff``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from wfptui.cli import main

RECORDINGS = sorted((Path(__file__).resolve().parent.parent / "recordings").glob("*.wfpr"))


def test_there_are_recordings() -> None:
    assert RECORDINGS, "recordings/ is empty: run `make recordings`"


@pytest.mark.parametrize("path", RECORDINGS, ids=[p.stem for p in RECORDINGS])
def test_replay_check(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["replay", str(path), "--check"])
    captured = capsys.readouterr()
    assert code == 0, f"{path.name} no longer replays to its recorded trace:\n{captured.out}{captured.err}"
