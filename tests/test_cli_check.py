"""``replay --check`` and ``diff`` find a difference at the first, a middle and the last record.

Both stream the two traces and run the semantic diff from the first difference on
(core/diff.py; tests/core/test_diff_prefix.py checks that is the whole diff); here, through
the real commands, on recordings whose trace was changed at those places, the output is
exactly the whole diff's. A recording that holds expect records is compared with the new
trace and its expect records.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.core.test_diff_prefix import _edit, _whole
from wfptui.cli import main
from wfptui.core.trace import TraceRecord

SAMPLE = str(Path(__file__).resolve().parent.parent / "recordings" / "tcp-connect.wfpr")

def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().out


def _record(tmp_path: Path, name: str, records: list[TraceRecord]) -> str:
    """A recording of tcp-connect.wfpr's inputs with ``records`` as its trace."""
    from wfptui.io.recording import read_recording, write_recording

    rec = read_recording(SAMPLE)
    path = str(tmp_path / name)
    write_recording(path, scenario=rec.scenario, policies=rec.policies, inputs=rec.inputs, records=records,
                    source=rec.scenario_source)
    return path


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_replay_check_and_diff_find_a_difference_at(where: str, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from wfptui.io.recording import read_recording

    good = list(read_recording(SAMPLE).records)
    i = {"first": 0, "middle": len(good) // 2, "last": len(good) - 1}[where]
    bad = _record(tmp_path, "bad.wfpr", _edit(good, i, "time"))
    code, out = _cli(["replay", bad, "--check"], capsys)
    assert code == 1
    assert out == _whole(_edit(good, i, "time"), good).to_text(f"{bad} (recorded)", "replay")
    assert f"first divergence: A#{good[i].seq} B#{good[i].seq}" in out
    code, out = _cli(["diff", SAMPLE, bad, "--format", "json"], capsys)
    assert code == 1
    doc = json.loads(out)
    assert doc["first_divergence"]["seq_a"] == good[i].seq
    ref = _whole(good, _edit(good, i, "time"))
    assert doc["summary"] == ref.summary()
    code, out = _cli(["replay", SAMPLE, "--check"], capsys)
    assert (code, out) == (0, f"traces are the same ({len(good)} records)\n")


def test_replay_check_with_expect_records(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A recording that holds expect records is compared with the new trace and its
    expect records (and one that does not, without)."""
    from wfptui.core.engine import run_scenario
    from wfptui.io.recording import read_recording

    rec = read_recording(SAMPLE)
    result = run_scenario(rec.scenario, policies=dict(rec.policies))
    path = _record(tmp_path, "with-expects.wfpr", result.all_records)
    code, out = _cli(["replay", path, "--check"], capsys)
    assert (code, out) == (0, f"traces are the same ({len(result.all_records)} records)\n")
    code, out = _cli(["replay", path, "--check", "--format", "json"], capsys)
    assert code == 0 and json.loads(out)["same"] is True
