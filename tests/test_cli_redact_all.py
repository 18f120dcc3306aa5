"""Redaction that leaks nothing and still replays (issue 12 item 6), through the real entry point.

* ``run S --record a.wfpr``, ``redact a.wfpr -o b.wfpr``, ``replay b.wfpr --check`` → 0 for
  every scenario in ``scenarios/`` (``win11/`` too) and every sample in ``recordings/``.
* Every string of the redacted file (the whole file msgpack-decoded: header, embedded
  policies, trace) is free of each secret of ``tests/data/redact/secrets.toml``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack
import pytest

from wfptui.cli import main

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted(p for p in (*(ROOT / "scenarios").glob("*.toml"), *(ROOT / "scenarios" / "win11").glob("*.toml"))
                   if "[[host]]" in p.read_text(encoding="utf-8"))  # win11-policy.toml is a policy
RECORDINGS = sorted((ROOT / "recordings").glob("*.wfpr"))
SECRETS = ROOT / "tests" / "data" / "redact" / "secrets.toml"


def _redact_and_check(rec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    out = tmp_path / "b.wfpr"
    capsys.readouterr()
    assert main(["redact", str(rec), "-o", str(out)]) == 0, capsys.readouterr().err
    assert main(["replay", str(out), "--check"]) == 0, capsys.readouterr()
    return out


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: str(p.relative_to(ROOT / "scenarios")))
def test_redacted_scenario_recording_replays(scenario: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    rec = tmp_path / "a.wfpr"
    assert main(["run", str(scenario), "--record", str(rec)]) in (0, 1)
    _redact_and_check(rec, tmp_path, capsys)


@pytest.mark.parametrize("rec", RECORDINGS, ids=lambda p: p.name)
def test_redacted_sample_recording_replays(rec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _redact_and_check(rec, tmp_path, capsys)


def test_win11_scenarios_are_covered() -> None:
    assert any(p.parent.name == "win11" for p in SCENARIOS)


def _strings(obj: Any) -> Iterator[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, bytes):
        yield obj.decode("utf-8", "replace")
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _strings(v)


def _decoded_text(path: Path) -> str:
    unpacker = msgpack.Unpacker(io.BytesIO(path.read_bytes()), raw=False, strict_map_key=False)
    return "\n".join(s for obj in unpacker for s in _strings(obj)).lower()


SECRET_STRINGS = [
    "alicepc", "fileserver", "alice",  # host names (in sockets, keys, text) and a user name
    "10.0.0.5", "10-0-0-5", "10.0.0.9", "10.0.0.0",  # addresses in any spelling, a CIDR mask
    "secret", "tool.exe", "srv.exe", "share", "docs", "notes",  # path components (drive, UNC, /)
    "1111111111", "2222222222", "444444444",  # an Azure AD SID
    "s-1-5-21-111-222-333", "1104",  # a lower-case domain SID
]


def test_nothing_leaks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = tmp_path / "a.wfpr"
    assert main(["run", str(SECRETS), "--record", str(rec)]) == 0, capsys.readouterr()
    before = _decoded_text(rec)
    for secret in SECRET_STRINGS:
        assert secret in before, secret  # the test data holds every secret ...
    out = _redact_and_check(rec, tmp_path, capsys)
    after = _decoded_text(out)
    for secret in SECRET_STRINGS:
        assert secret not in after, secret  # ... and the redacted file none
    # WFP's own names and well-known SIDs stay.
    for kept in ("s-1-5-18", "ale_auth_recv_accept_v4", "allow-192-0-2-"):
        assert kept in after, kept
    assert main(["export", str(out), "--format", "jsonl"]) == 0
    assert '"action": "permit"' in capsys.readouterr().out


def test_recording_that_does_not_replay_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from wfptui.core.trace import record_from_dict
    from wfptui.io.recording import read_recording, write_recording

    rec = read_recording(ROOT / "recordings" / "tcp-connect.wfpr")
    records = [r.to_dict() for r in rec.records]
    i = next(i for i, d in enumerate(records) if d.get("kind") == "classify" and d.get("action") == "permit")
    records[i]["action"] = "block"  # a trace the engine would not produce
    bad = tmp_path / "bad.wfpr"
    write_recording(bad, scenario=rec.scenario, policies=rec.policies, inputs=rec.inputs,
                    records=[record_from_dict(d) for d in records])
    capsys.readouterr()
    assert main(["redact", str(bad), "-o", str(tmp_path / "out.wfpr")]) == 2
    assert "does not replay to its own trace" in capsys.readouterr().err
    assert not (tmp_path / "out.wfpr").exists()
