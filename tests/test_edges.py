"""Windows consoles, pipes and CI formats through the real entry point (spec §8, issue 12).

Every test runs ``python -m wfptui`` in a subprocess: encodings (cp1252 / cp437 / cp850),
``-`` for standard input and output, output paths that cannot be written or that are an
input, no TUI without a terminal, unknown commands, ``--version`` anywhere, shell
completion, the JSON format header and 64-bit values as strings, JUnit against Jenkins'
junit-10.xsd, and records named by ``seq``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wfptui import __version__
from wfptui.cli import COMMANDS
from wfptui.core.trace import ExpectRecord
from wfptui.io.jsonout import wide_to_str
from wfptui.io.trace_output import JunitSuite, junit_xml

ROOT = Path(__file__).resolve().parent.parent
SC = ROOT / "scenarios"
REC = ROOT / "recordings"
XSD = Path(__file__).parent / "data" / "junit" / "junit-10.xsd"


def wfptui(*args: str, env: dict[str, str] | None = None, stdin: bytes | None = None,
           cwd: Path = ROOT) -> subprocess.CompletedProcess[bytes]:
    full_env = {**os.environ, **(env or {})}
    full_env.pop("WFPTUI_HEADLESS", None)
    return subprocess.run([sys.executable, "-m", "wfptui", *args], capture_output=True, env=full_env,
                          input=stdin if stdin is not None else b"", cwd=cwd, timeout=120)


def _err(p: subprocess.CompletedProcess[bytes]) -> str:
    return p.stderr.decode("utf-8", "replace")


# ----------------------------------------------------------------------------- 1. encodings


@pytest.fixture(scope="module")
def rec_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("recs")
    a, b = d / "a.wfpr", d / "b.wfpr"
    assert wfptui("run", str(SC / "tcp-connect.toml"), "--record", str(a)).returncode == 0
    deny = d / "deny.toml"
    deny.write_text('[[filter]]\nkey = "deny"\nlayer = "ALE_AUTH_RECV_ACCEPT_V4"\naction = "block"\nweight = 15\n')
    assert wfptui("run", str(SC / "tcp-connect.toml"), "--policy", f"server={deny}",
                  "--record", str(b)).returncode == 1
    return a, b


@pytest.mark.parametrize("encoding", ["cp1252", "cp437", "cp850", "utf-8"])
def test_every_command_prints_in_a_windows_code_page(encoding: str, rec_pair: tuple[Path, Path],
                                                     tmp_path: Path) -> None:
    a, b = rec_pair
    xml = ROOT / "tests" / "data" / "wfp"
    xml_files = sorted(xml.glob("*.xml")) if xml.is_dir() else []
    cases: list[tuple[list[str], int]] = [
        (["run", str(SC / "tcp-stealth.toml"), "--format", "text"], 0),
        (["run", str(SC / "tcp-connect.toml"), "--format", "text"], 0),
        (["replay", str(a)], 0),
        (["replay", str(b), "--policy", f"server={SC / 'policies' / 'tcp-connect-server.toml'}", "--check"], 1),
        (["export", str(a), "--format", "text"], 0),
        (["export", str(a), "--format", "mermaid"], 0),
        (["diff", str(a), str(b)], 1),
        (["validate", str(SC / "tcp-connect.toml")], 0),
        (["explain", "--policy", str(SC / "policies" / "tcp-connect-server.toml"), "--layer",
          "ALE_AUTH_RECV_ACCEPT_V4", "IP_LOCAL_PORT=80", "IP_PROTOCOL=tcp"], 0),
    ]
    if xml_files:
        cases.append((["import", str(xml_files[0])], 0))
    for args, code in cases:
        p = wfptui(*args, env={"PYTHONIOENCODING": encoding})
        assert p.returncode == code, (args, _err(p))
        assert b"Traceback" not in p.stderr, args
        p.stdout.decode(encoding)  # decodes in that code page
        p.stderr.decode(encoding)


def test_symbols_fall_back_to_ascii_only_where_the_encoding_lacks_them() -> None:
    p = wfptui("run", str(SC / "tcp-stealth.toml"), env={"PYTHONIOENCODING": "cp437"})
    text = p.stdout.decode("cp437")
    assert "x block" in text and "✗" not in text
    u = wfptui("run", str(SC / "tcp-stealth.toml"), env={"PYTHONIOENCODING": "utf-8"})
    assert "✗ block" in u.stdout.decode("utf-8")


def test_user_strings_outside_the_code_page_do_not_fail(tmp_path: Path) -> None:
    scen = (SC / "tcp-connect.toml").read_text(encoding="utf-8")
    scen = scen.replace('name = "TCP connect, data, close"', 'name = "TCP 接続 ✓ → Ω"')
    scen = scen.replace('policy = "policies/tcp-connect-server.toml"',
                        f"policy = '{SC / 'policies' / 'tcp-connect-server.toml'}'")
    f = tmp_path / "s.toml"
    f.write_text(scen, encoding="utf-8")
    p = wfptui("run", str(f), "--format", "json", env={"PYTHONIOENCODING": "cp1252"})
    assert p.returncode == 0, _err(p)
    # JSON escapes what the code page lacks: nothing is lost
    assert json.loads(p.stdout.decode("cp1252"))["scenario"] == "TCP 接続 ✓ → Ω"
    t = wfptui("run", str(f), "--format", "text", env={"PYTHONIOENCODING": "cp1252"})
    assert t.returncode == 0 and "✓" not in t.stdout.decode("cp1252")


def test_windows_paths_in_files_and_messages(tmp_path: Path) -> None:
    scen = (SC / "tcp-connect.toml").read_text(encoding="utf-8")
    scen = scen.replace(r"'C:\srv\web.exe'", r"'\\server\share\srv\web.exe'")
    scen = scen.replace('policy = "policies/tcp-connect-server.toml"',
                        f"policy = '{SC / 'policies' / 'tcp-connect-server.toml'}'")
    f = tmp_path / "unc.toml"
    f.write_text(scen, encoding="utf-8")
    p = wfptui("run", str(f), "--format", "jsonl", env={"PYTHONIOENCODING": "cp1252"})
    assert p.returncode == 0, _err(p)
    apps = {json.loads(x)["fields"].get("ALE_APP_ID") for x in p.stdout.decode("cp1252").splitlines()
            if '"classify"' in x}
    assert any(a and "server" in a and "share" in a for a in apps)
    # A backslash path in a message is printed as it is.
    p2 = wfptui("validate", r"C:\no\such\file.toml", env={"PYTHONIOENCODING": "cp437"})
    assert p2.returncode == 2 and p2.stderr.decode("cp437").startswith("C:\\no\\such\\file.toml")


# ----------------------------------------------------------------------------- 2. `-`


def test_dash_reads_standard_input_and_writes_standard_output(tmp_path: Path) -> None:
    rec = (REC / "ping.wfpr").read_bytes()
    p = wfptui("replay", "-", "--check", stdin=rec)
    assert p.returncode == 0 and b"traces are the same" in p.stdout
    p = wfptui("validate", "-", stdin=(SC / "policies" / "tcp-connect-server.toml").read_bytes())
    assert p.returncode == 0 and p.stdout.startswith(b"<stdin>: ok (2 filters")
    p = wfptui("run", "-", "--format", "text", stdin=(SC / "tcp-stealth.toml").read_bytes(), cwd=SC)
    assert p.returncode == 0 and b"expect PASS" in p.stdout
    # A recording on standard output is bytes, and reads back.
    red = wfptui("redact", str(REC / "ping.wfpr"), "-o", "-")
    assert red.returncode == 0, _err(red)
    assert red.stdout[:1] in (bytes([b]) for b in range(0x80, 0x90))
    back = wfptui("replay", "-", "--check", stdin=red.stdout)
    assert back.returncode == 0, _err(back)
    exp = wfptui("export", "-", "--format", "text", "-o", "-", stdin=rec)
    assert exp.returncode == 0 and b"ALE_AUTH_CONNECT_V4" in exp.stdout


# ----------------------------------------------------------------------------- 3. output paths


def test_unwritable_output_paths_are_bad_input(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such"
    cases = [
        ["run", str(SC / "tcp-connect.toml"), "--junit", str(missing / "x.xml")],
        ["run", str(SC / "tcp-connect.toml"), "--record", str(missing / "x.wfpr")],
        ["export", str(REC / "ping.wfpr"), "-o", str(missing / "x.md")],
        ["redact", str(REC / "ping.wfpr"), "-o", str(missing / "x.wfpr")],
        ["import", str(ROOT / "tests" / "data" / "wfp" / "filters-win11.xml"), "-o", str(missing / "x.toml")],
        ["export", str(REC / "ping.wfpr"), "-o", str(tmp_path)],
    ]
    for args in cases:
        p = wfptui(*args)
        assert p.returncode == 2, (args, _err(p))
        err = _err(p)
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, (args, err)


def test_no_command_writes_over_its_input(tmp_path: Path) -> None:
    scen = tmp_path / "s.toml"
    text = (SC / "tcp-stealth.toml").read_text(encoding="utf-8")
    scen.write_text(text, encoding="utf-8")
    rec = tmp_path / "r.wfpr"
    shutil.copy(REC / "ping.wfpr", rec)
    rec_bytes = rec.read_bytes()
    xml = tmp_path / "f.xml"
    xml.write_text("<wfpdiag><filters/></wfpdiag>", encoding="utf-8")
    cases = [
        ["run", str(scen), "--record", str(scen)],
        ["run", str(scen), "--junit", str(scen)],
        ["run", str(scen), "--junit", str(tmp_path / "." / "s.toml")],
        ["import", str(xml), "-o", str(xml)],
        ["redact", str(rec), "-o", str(rec)],
        ["export", str(rec), "-o", str(rec)],
    ]
    for args in cases:
        p = wfptui(*args)
        assert p.returncode == 2 and "write over the input" in _err(p), (args, _err(p))
    assert scen.read_text(encoding="utf-8") == text and rec.read_bytes() == rec_bytes
    assert xml.read_text(encoding="utf-8") == "<wfpdiag><filters/></wfpdiag>"


# ----------------------------------------------------------------------------- 4, 5. TUI, typos, version


def test_the_tui_needs_a_terminal() -> None:
    p = wfptui(str(SC / "tcp-connect.toml"))
    assert p.returncode == 2 and "needs a terminal" in _err(p) and p.stdout == b""
    assert wfptui().returncode == 2


def test_unknown_command_did_you_mean() -> None:
    p = wfptui("valdate", "x.toml")
    assert p.returncode == 2 and "unknown command 'valdate' (did you mean 'validate'?)" in _err(p)
    p = wfptui("frobnicate")
    assert p.returncode == 2 and "unknown command 'frobnicate'" in _err(p) and "did you mean" not in _err(p)
    # a file name is still the TUI's argument (which then says the file is missing)
    p = wfptui("missing.toml")
    assert p.returncode == 2 and "unknown command" not in _err(p)


def test_run_given_a_recording_points_at_replay() -> None:
    p = wfptui("run", str(REC / "ping.wfpr"))
    assert p.returncode == 2 and "wfptui replay" in _err(p) and "UTF-8" not in _err(p)


@pytest.mark.parametrize("args", [["--version"], ["run", "--version"], ["replay", "x.wfpr", "--version"],
                                  ["diff", "--version"]])
def test_version_anywhere(args: list[str]) -> None:
    p = wfptui(*args)
    assert p.returncode == 0 and p.stdout.decode().strip() == f"wfptui {__version__}"


# ----------------------------------------------------------------------------- 6. completion


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish", "powershell"])
def test_completion_scripts_name_every_command(shell: str, tmp_path: Path) -> None:
    p = wfptui("completion", shell)
    assert p.returncode == 0, _err(p)
    text = p.stdout.decode("utf-8")
    for name in COMMANDS:
        assert name in text, (shell, name)
    assert "--junit" in text and "--format" in text
    script = tmp_path / f"wfptui.{shell}"
    script.write_bytes(p.stdout)
    checker = {"bash": ["bash", "-n"], "zsh": ["zsh", "-n"], "fish": ["fish", "--no-execute"]}.get(shell)
    if checker and shutil.which(checker[0]):
        r = subprocess.run([*checker, str(script)], capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr


def test_completion_of_an_unknown_shell_is_usage() -> None:
    assert wfptui("completion", "cmd.exe").returncode == 2


# ----------------------------------------------------------------------------- 7. JSON


def test_json_outputs_carry_format_and_version_and_64_bit_strings(rec_pair: tuple[Path, Path]) -> None:
    a, b = rec_pair
    jl = wfptui("run", str(SC / "tcp-connect.toml"), "--format", "jsonl")
    rows = [json.loads(x) for x in jl.stdout.splitlines()]
    assert rows[0] == {"kind": "header", "format": "wfptui-trace", "version": 2, "app_version": __version__}
    ids = [r["filter_id"] for r in rows[1:] if r.get("filter_id") is not None]
    assert ids and all(isinstance(i, str) and i.isdigit() for i in ids)
    assert all(isinstance(t["filter_id"], str) for r in rows if r.get("kind") == "classify"
               for t in r["terminating"])
    assert all(isinstance(r["FilterRTID"], str) for r in rows if "FilterRTID" in r)
    doc = json.loads(wfptui("run", str(SC / "tcp-connect.toml"), "--format", "json").stdout)
    assert list(doc)[:2] == ["format", "version"] and doc["format"] == "wfptui-trace"
    rp = json.loads(wfptui("replay", str(a), "--format", "json").stdout)
    assert rp["format"] == "wfptui-trace"
    d = wfptui("diff", str(a), str(b), "--format", "json")
    dj = json.loads(d.stdout)
    assert d.returncode == 1 and list(dj)[:2] == ["format", "version"] and dj["format"] == "wfptui-diff"
    text = d.stdout.decode()
    assert "['" not in text and "{'" not in text  # no Python reprs
    for ch in dj["changes"]:
        assert isinstance(ch["seq_a"], int) and isinstance(ch["seq_b"], int)
        for side in ("a", "b"):
            if ch[side].get("filter_id") is not None:
                assert isinstance(ch[side]["filter_id"], str)
    chk = json.loads(wfptui("replay", str(b), "--policy", f"server={SC / 'policies' / 'tcp-connect-server.toml'}",
                            "--check", "--format", "json").stdout)
    assert chk["format"] == "wfptui-diff"


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda kids: st.lists(kids, max_size=3)
                    | st.dictionaries(st.sampled_from(["filter_id", "FilterRTID", "x", "fields", "IP_LOCAL_PORT"]),
                                      kids, max_size=4), max_leaves=12))
def test_wide_to_str_only_turns_64_bit_ints_into_strings(value: Any) -> None:
    out = wide_to_str(value)

    def walk(v: Any, w: Any, key: str | None, in_fields: bool) -> None:
        # inside "fields" a value is wide by its condition field's type, not by these keys
        wide = key in ("filter_id", "FilterRTID") and not in_fields
        if type(v) is int and wide:
            assert w == str(v)
        elif isinstance(v, dict):
            assert isinstance(w, dict) and list(w) == list(v)
            for k in v:
                walk(v[k], w[k], k, key == "fields" and not in_fields)
        elif isinstance(v, (list, tuple)):
            assert len(w) == len(v)
            for x, y in zip(v, w, strict=True):
                walk(x, y, None, False)
        else:
            assert w == v

    walk(value, out, None, False)
    json.dumps(out)


def test_a_uint64_condition_field_is_a_string_by_its_type() -> None:
    rec = {"kind": "classify", "fields": {"IP_LOCAL_INTERFACE": 2**63 + 5, "IP_LOCAL_PORT": 80}}
    assert wide_to_str(rec)["fields"] == {"IP_LOCAL_INTERFACE": str(2**63 + 5), "IP_LOCAL_PORT": 80}


# ----------------------------------------------------------------------------- 8. JUnit


@cache
def _junit_schema() -> Any:
    """Jenkins' JUnit schema, built once (building it costs more than a validation)."""
    import xmlschema

    return xmlschema.XMLSchema(str(XSD))


def _valid(xml: bytes) -> None:
    _junit_schema().validate(xml.decode("utf-8"))


def test_junit_is_schema_valid_with_one_suite_per_file(tmp_path: Path, rec_pair: tuple[Path, Path]) -> None:
    import xml.etree.ElementTree as ET

    out = tmp_path / "out.xml"
    p = wfptui("run", str(SC / "tcp-connect.toml"), str(SC / "udp-stealth.toml"), "--junit", str(out))
    assert p.returncode == 0, _err(p)
    _valid(out.read_bytes())
    root = ET.fromstring(out.read_bytes())
    suites = root.findall("testsuite")
    assert [s.get("file") for s in suites] == [str(SC / "tcp-connect.toml"), str(SC / "udp-stealth.toml")]
    assert [len(s.findall("testcase")) for s in suites] == [5, 4]
    for s in suites:
        assert {k: s.get(k) for k in ("failures", "errors", "skipped")} == {"failures": "0", "errors": "0",
                                                                            "skipped": "0"}
        assert s.get("time") is not None
    # replay --check: one suite per recording, the trace check a testcase of its own
    a, b = rec_pair
    out2 = tmp_path / "r.xml"
    p = wfptui("replay", str(a), str(b), "--check", "--junit", str(out2))
    assert p.returncode == 0, _err(p)
    _valid(out2.read_bytes())
    assert len(ET.fromstring(out2.read_bytes()).findall("testsuite")) == 2


def test_junit_is_written_on_bad_input_and_on_failure(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[[host]]\nname = 3\n', encoding="utf-8")
    out = tmp_path / "out.xml"
    p = wfptui("run", str(bad), "--junit", str(out))
    assert p.returncode == 2
    _valid(out.read_bytes())
    suite = ET.fromstring(out.read_bytes()).find("testsuite")
    assert suite is not None and suite.get("errors") == "1" and suite.get("tests") == "1"
    err = suite.find("testcase/error")
    assert err is not None and str(bad) in (err.get("message") or "")
    deny = tmp_path / "deny.toml"
    deny.write_text('[[filter]]\nkey = "deny"\nlayer = "ALE_AUTH_RECV_ACCEPT_V4"\naction = "block"\nweight = 15\n')
    p = wfptui("run", str(SC / "tcp-connect.toml"), "--policy", f"server={deny}", "--junit", str(out))
    assert p.returncode == 1
    _valid(out.read_bytes())
    suite = ET.fromstring(out.read_bytes()).find("testsuite")
    assert suite is not None and suite.get("errors") == "0"
    assert suite.get("failures") == str(len(suite.findall("testcase/failure"))) != "0"


def test_several_files_refuse_record_and_update(tmp_path: Path) -> None:
    p = wfptui("run", str(SC / "tcp-connect.toml"), str(SC / "udp-stealth.toml"), "--record", str(tmp_path / "x.wfpr"))
    assert p.returncode == 2 and "--record" in _err(p)
    p = wfptui("replay", str(REC / "ping.wfpr"), str(REC / "ping.wfpr"), "--update")
    assert p.returncode == 2 and "--update" in _err(p)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=30), st.text(max_size=30), st.booleans())
def test_junit_with_any_names_is_valid(name: str, message: str, ok: bool) -> None:
    e = ExpectRecord(seq=3, ok=ok, expect={"host": name}, matched=0, message=message)
    xml = junit_xml([JunitSuite(name, name, [e], 0.5), JunitSuite(name, name, error=message)])
    _valid(xml.encode("utf-8"))


# ----------------------------------------------------------------------------- 9. seq


def test_replay_check_and_diff_name_records_by_seq(rec_pair: tuple[Path, Path]) -> None:
    a, b = rec_pair
    from wfptui.io.recording import read_recording

    recs = {r.seq: r for r in read_recording(a).records}
    d = wfptui("diff", str(a), str(b))
    text = d.stdout.decode()
    first = next(line for line in text.splitlines() if line.startswith("first divergence:"))
    seq = int(first.split("A#")[1].split()[0])
    rec = recs[seq]
    assert getattr(rec, "layer", None) == "ALE_AUTH_RECV_ACCEPT_V4" and getattr(rec, "host", None) == "server"
    dj = json.loads(wfptui("diff", str(a), str(b), "--format", "json").stdout)
    assert dj["first_divergence"]["seq_a"] == seq and "index_a" not in json.dumps(dj)


def test_nearest_record_prefers_the_expected_layer(tmp_path: Path) -> None:
    scen = (SC / "tcp-connect.toml").read_text(encoding="utf-8")
    scen = scen.replace('policy = "policies/tcp-connect-server.toml"',
                        f"policy = '{SC / 'policies' / 'tcp-connect-server.toml'}'")
    # host, packet and action match many records elsewhere; only the layer points at the one meant
    scen += '\n[[expect]]\nhost = "server"\nlayer = "ALE_AUTH_RECV_ACCEPT_V4"\npacket = "SYN"\naction = "block"\n'
    f = tmp_path / "s.toml"
    f.write_text(scen, encoding="utf-8")
    p = wfptui("run", str(f), "--format", "jsonl")
    assert p.returncode == 1
    msg = next(line for line in _err(p).splitlines() if "expectation failed" in line)
    assert "nearest: #" in msg and "ALE_AUTH_RECV_ACCEPT_V4" in msg.split("nearest:")[1]
