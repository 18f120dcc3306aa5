"""``wfptui run``: exit codes 0 / 1 / 2, formats, JUnit, --policy (spec §2, §5)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from wfptui import __version__

ROOT = Path(__file__).resolve().parent.parent
SC = ROOT / "scenarios"


def _run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wfptui", "run", *args], capture_output=True, text=True, cwd=cwd)


def test_exit_0_and_jsonl() -> None:
    p = _run(str(SC / "tcp-connect.toml"), "--format", "jsonl")
    assert p.returncode == 0, p.stderr
    lines = [json.loads(line) for line in p.stdout.splitlines()]
    assert lines[0] == {"kind": "header", "format": "wfptui-trace", "version": 2, "app_version": __version__}
    first = lines[1]
    assert list(first)[:6] == ["kind", "seq", "t", "host", "layer", "layer_id"]
    assert first["layer"].startswith("FWPM_LAYER_")
    assert lines[-1]["kind"] == "expect" and lines[-1]["ok"] is True
    assert p.stderr == ""


def test_json_and_text_formats() -> None:
    p = _run(str(SC / "tcp-stealth.toml"), "--format", "json")
    doc = json.loads(p.stdout)
    assert doc["scenario"] == "TCP stealth: no RST for a closed port" and doc["ok"] is True
    assert {r["kind"] for r in doc["records"]} >= {"classify", "stack", "expect"}
    t = _run(str(SC / "tcp-stealth.toml"))
    assert "INBOUND_TRANSPORT_V4_DISCARD" in t.stdout and "✗ block" in t.stdout and "expect PASS" in t.stdout


def test_exit_1_on_failed_expectation(tmp_path: Path) -> None:
    pol = tmp_path / "deny.toml"
    pol.write_text('[[filter]]\nkey = "deny"\nlayer = "ALE_AUTH_RECV_ACCEPT_V4"\naction = "block"\nweight = 15\n')
    junit = tmp_path / "out.xml"
    p = _run(str(SC / "tcp-connect.toml"), "--policy", f"server={pol}", "--junit", str(junit))
    assert p.returncode == 1
    assert "expectation failed" in p.stderr and "nearest" in p.stderr
    xml = junit.read_text()
    assert "<testcase" in xml and "<failure" in xml and 'failures="' in xml


def test_exit_2_on_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[[host]]\nname = "a"\naddress = "10.0.0.1"\n[[step]]\nhost = "a"\ndo = "fly"\n')
    p = _run(str(bad))
    assert p.returncode == 2
    assert f"{bad}:7:6:" in p.stderr and "unknown step kind" in p.stderr and "Traceback" not in p.stderr
    p2 = _run(str(SC / "tcp-connect.toml"), "--policy", f"nobody={SC / 'policies' / 'tcp-connect-server.toml'}")
    assert p2.returncode == 2 and "unknown host 'nobody'" in p2.stderr
    p3 = _run(str(tmp_path / "missing.toml"))
    assert p3.returncode == 2 and "not found" in p3.stderr
    p4 = _run(str(SC / "tcp-connect.toml"), "--policy", "server")
    assert p4.returncode == 2 and "HOST=FILE" in p4.stderr


def test_builtin_runs() -> None:
    p = _run("builtin", "--format", "jsonl")
    assert p.returncode == 0, p.stderr


def test_record(tmp_path: Path) -> None:
    out = tmp_path / "run.wfpr"
    p = _run(str(SC / "tcp-connect.toml"), "--record", str(out), "--format", "jsonl")
    assert p.returncode in (0, 2), p.stderr
    if p.returncode == 0:
        assert out.exists() and out.stat().st_size > 0
    else:
        assert "recordings not available" in p.stderr
