"""run --record → replay --check / diff / export, through the CLI (spec §2, §6)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import msgpack
import pytest

from wfptui.cli import main
from wfptui.io.jsonout import wide_to_str
from wfptui.io.recording import read_recording, write_recording

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
TCP = SCENARIOS / "tcp-connect.toml"
REAUTH = SCENARIOS / "tcp-reauth-block.toml"

CHANGED_POLICY = """
[[filter]]
key = "allow-web"
name = "Allow inbound HTTP"
layer = "ALE_AUTH_RECV_ACCEPT_V4"
action = "block"
weight = 10
condition = [ { field = "IP_LOCAL_PORT", match = "equal", value = 80 } ]
"""


def _record(tmp_path: Path, scenario: Path, name: str = "a.wfpr", *extra: str) -> Path:
    out = tmp_path / name
    assert main(["run", str(scenario), "--record", str(out), "--format", "jsonl", *extra]) in (0, 1)
    assert out.is_file()
    return out


def test_run_record_replay_check_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = _record(tmp_path, TCP)
    capsys.readouterr()
    assert main(["replay", str(rec), "--check"]) == 0
    assert "same" in capsys.readouterr().out


def test_changed_filter_fails_check_and_names_layer_and_filter(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = _record(tmp_path, TCP)
    pol = tmp_path / "server.toml"
    pol.write_text(CHANGED_POLICY, encoding="utf-8")
    capsys.readouterr()
    assert main(["replay", str(rec), "--policy", f"server={pol}", "--check"]) == 1
    out = capsys.readouterr().out
    assert "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4" in out
    assert "allow-web" in out
    assert "first divergence" in out
    assert main(["replay", str(rec), "--policy", f"server={pol}", "--check", "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["same"] is False
    change = doc["verdict_changes"][0]
    assert change["layer"] == "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4"
    assert change["a"] == {"action": "permit", "filter": "allow-web"}
    assert change["b"]["action"] == "block"


def test_edited_recording_fails_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Edit the policy embedded in the file (as a user would) and replay it against its trace."""
    from wfptui.io.policy_file import parse_policy

    rec_path = _record(tmp_path, TCP)
    rec = read_recording(rec_path)
    policies = dict(rec.policies)
    policies["server"] = parse_policy(CHANGED_POLICY, "edited.toml")
    edited = tmp_path / "edited.wfpr"
    write_recording(edited, scenario=rec.scenario, policies=policies, inputs=rec.inputs, records=list(rec.records))
    capsys.readouterr()
    assert main(["replay", str(edited), "--check"]) == 1
    out = capsys.readouterr().out
    assert "ALE_AUTH_RECV_ACCEPT_V4" in out and "allow-web" in out
    # --update accepts the new behaviour; then the check passes
    assert main(["replay", str(edited), "--check", "--update"]) == 0
    capsys.readouterr()
    assert main(["replay", str(edited), "--check"]) == 0


def test_replay_prints_the_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = _record(tmp_path, TCP)
    run_out = capsys.readouterr().out
    assert main(["replay", str(rec), "--format", "jsonl"]) == 0
    replay_out = capsys.readouterr().out
    assert replay_out.splitlines() == [ln for ln in run_out.splitlines() if '"kind": "expect"' not in ln]


def test_replay_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.wfpr"
    bad.write_bytes(b"not msgpack at all")
    assert main(["replay", str(bad), "--check"]) == 2
    assert "not a wfptui recording" in capsys.readouterr().err
    rec = _record(tmp_path, TCP)
    data = rec.read_bytes()
    (tmp_path / "cut.wfpr").write_bytes(data[: len(data) // 2])
    capsys.readouterr()
    assert main(["replay", str(tmp_path / "cut.wfpr")]) == 2
    assert "truncated after" in capsys.readouterr().err
    assert main(["replay", str(rec), "--policy", "nohost=x.toml"]) == 2
    assert main(["replay", str(rec), "--policy", "server"]) == 2


def test_diff_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _record(tmp_path, TCP, "a.wfpr")
    b = _record(tmp_path, TCP, "b.wfpr")
    pol = tmp_path / "server.toml"
    pol.write_text(CHANGED_POLICY, encoding="utf-8")
    c = _record(tmp_path, TCP, "c.wfpr", "--policy", f"server={pol}")
    capsys.readouterr()
    assert main(["diff", str(a), str(b)]) == 0
    assert main(["diff", str(a), str(c)]) == 1
    out = capsys.readouterr().out
    assert "allow-web" in out and "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4" in out and "only in A" in out
    assert main(["diff", str(a), str(c), "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["filters"][0]["filter"] == "allow-web"
    assert doc["only_a"]
    (tmp_path / "x.wfpr").write_bytes(b"")
    assert main(["diff", str(a), str(tmp_path / "x.wfpr")]) == 2


_ENTITY = re.compile(r"#(?:\d+|[a-z]+);")


def test_export_mermaid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = _record(tmp_path, REAUTH)
    capsys.readouterr()
    assert main(["export", str(rec), "--format", "mermaid"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "sequenceDiagram"
    assert "    participant client as client 10.0.0.1" in lines
    assert "    participant server as server 10.0.0.2" in lines
    assert any(re.match(r"    client-xserver: DATA", ln) for ln in lines)
    assert "    Note over server: BLOCK at ALE_AUTH_RECV_ACCEPT_V4 by no-web (reauth)" in lines
    for ln in lines[1:]:
        # statements: participant / Note over X: text / A->>B: text / A-xB: text / title
        assert re.match(r"    (participant \w+ as |Note over [\w,]+: |\w+(->>|-x)\w+: |%% )", ln), ln
        text = ln.split(": ", 1)[1] if ": " in ln else ""
        bare = _ENTITY.sub("", text).replace("<br/>", "")
        assert not set(bare) & set(";#:{}\"<>"), ln
    out_file = tmp_path / "d.mmd"
    assert main(["export", str(rec), "-o", str(out_file)]) == 0
    assert out_file.read_text(encoding="utf-8") == out


def test_export_jsonl_and_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = _record(tmp_path, TCP)
    capsys.readouterr()
    assert main(["export", str(rec), "--format", "jsonl"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert rows[0]["kind"] == "header" and rows[0]["format"] == "wfptui-trace"
    assert rows[1:] == [wide_to_str(r.to_dict()) for r in read_recording(rec).records]
    assert main(["export", str(rec), "--format", "text"]) == 0
    assert "ALE_AUTH_RECV_ACCEPT_V4" in capsys.readouterr().out


def test_recording_is_self_contained(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The policy files the scenario named are not needed to replay."""
    import shutil

    work = tmp_path / "s"
    shutil.copytree(SCENARIOS, work)
    rec = _record(tmp_path, work / "tcp-connect.toml")
    shutil.rmtree(work)
    capsys.readouterr()
    assert main(["replay", str(rec), "--check"]) == 0
    header = next(iter(msgpack.Unpacker(open(rec, "rb"), raw=False)))  # noqa: SIM115
    assert "allow-web" in header["policies"]["server"]
    assert header["scenario"]["data"]["name"] == "TCP connect, data, close"


@pytest.mark.parametrize("name", ["tcp-connect", "three-hosts", "ipv6-tcp", "ping", "tcp-reauth-block"])
def test_redact_replays_and_hides(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    rec = _record(tmp_path, SCENARIOS / f"{name}.toml")
    out = tmp_path / "red.wfpr"
    capsys.readouterr()
    assert main(["redact", str(rec), "-o", str(out)]) == 0, capsys.readouterr().err
    assert main(["replay", str(out), "--check"]) == 0
    original = read_recording(rec)
    redacted = read_recording(out)
    assert len(redacted.records) == len(original.records)
    blob = out.read_bytes()
    for h in original.scenario.hosts:
        for addr in h.addresses:
            assert addr.encode() not in blob, addr
        for app in h.apps:
            leaf = app.path.rsplit("\\", 1)[-1].lower()
            if leaf not in ("ping.exe", "svchost.exe"):
                assert leaf.encode() not in blob.lower(), leaf
    assert [h.name for h in redacted.scenario.hosts] == [f"host{i + 1}" for i in range(len(original.scenario.hosts))]
    assert {r.host for r in redacted.records if hasattr(r, "host")} <= {h.name for h in redacted.scenario.hosts}
    assert redacted.scenario_source is None


def test_redact_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.wfpr"
    bad.write_bytes(b"\x93\x01\x02\x03")
    assert main(["redact", str(bad), "-o", str(tmp_path / "o.wfpr")]) == 2
    assert "not a wfptui recording" in capsys.readouterr().err
    assert not (tmp_path / "o.wfpr").exists()
