"""``wfptui lint`` through the real entry point: exit codes, JSON shape, the real Win11 policy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WIN11 = ROOT / "scenarios" / "win11" / "win11-policy.toml"


def lint(*args: str | Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wfptui", "lint", *map(str, args)], capture_output=True,
                          text=True, input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL,
                          timeout=120, cwd=ROOT)


SHADOW = """
[[filter]]
key = "all-tcp"
layer = "ALE_AUTH_CONNECT_V4"
action = "permit"
weight = 5
condition = [ { field = "IP_PROTOCOL", value = "tcp" } ]

[[filter]]
key = "web"
layer = "ALE_AUTH_CONNECT_V4"
action = "block"
weight = 1
condition = [ { field = "IP_PROTOCOL", value = "tcp" }, { field = "IP_REMOTE_PORT", value = 80 } ]
"""


def test_clean_policy_exits_0() -> None:
    r = lint("scenarios/policies/reference.toml")
    assert r.returncode == 0, r.stderr
    assert "no findings" in r.stdout


def test_findings_exit_1_text_and_json(tmp_path: Path) -> None:
    pol = tmp_path / "p.toml"
    pol.write_text(SHADOW, encoding="utf-8")
    r = lint(pol)
    assert r.returncode == 1
    assert "[shadowed] FWPM_LAYER_ALE_AUTH_CONNECT_V4, sublayer UNIVERSAL" in r.stdout
    assert "shadowed: web (filterId 70002" in r.stdout and "shadowing: all-tcp (filterId 70001" in r.stdout
    j = lint(pol, "--format", "json")
    assert j.returncode == 1
    doc = json.loads(j.stdout)
    assert (doc["format"], doc["version"], doc["filters"]) == ("wfptui-lint", 1, 2)
    assert list(doc)[:2] == ["format", "version"]
    assert doc["summary"] == {"shadowed": 1, "duplicate": 0, "overridden": 0, "never-holds": 0,
                              "unregistered-callout": 0, "total": 1}
    (f,) = doc["findings"]
    assert f["kind"] == "shadowed" and f["layer"] == "FWPM_LAYER_ALE_AUTH_CONNECT_V4"
    assert [(x["role"], x["key"], x["filter_id"]) for x in f["filters"]] == [
        ("shadowed", "web", "70002"), ("shadowing", "all-tcp", "70001")]
    assert all(isinstance(x["effective_weight"], str) for x in f["filters"])


def test_policy_from_stdin() -> None:
    r = lint("-", stdin=SHADOW)
    assert r.returncode == 1 and "<stdin>" in r.stdout


def test_bad_input_exits_2(tmp_path: Path) -> None:
    r = lint(tmp_path / "missing.toml")
    assert r.returncode == 2 and "missing.toml" in r.stderr and "Traceback" not in r.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text('[[filter]]\nkey = "x"\nlayer = "NOPE"\naction = "block"\n', encoding="utf-8")
    r = lint(bad)
    assert r.returncode == 2 and "bad.toml:3:" in r.stderr and "Traceback" not in r.stderr
    xml = tmp_path / "bad.xml"
    xml.write_text("<wfpdiag><filters><item>", encoding="utf-8")
    r = lint(xml)
    assert r.returncode == 2 and "bad.xml" in r.stderr and "Traceback" not in r.stderr
    r = lint(WIN11, "--format", "yaml")
    assert r.returncode == 2


#: The real Win11 dump's findings, judged by hand (docs/decisions.md, "lint"):
#: (shadowed filter id, shadowing filter id).
WIN11_SHADOWED = {
    # AppContainerLoopback blocks (port 137 / an SD) under the max-weight permit of all
    # loopback traffic (FLAGS IS_LOOPBACK): 67109/67110 tie on weight (filterId order),
    # 67115/67116 are one below it.
    (67109, 67107), (67115, 67107), (67110, 67108), (67116, 67108),
    # WMI / WinRM listen permits whose identical copy sits in weight range 9 while they are in 4.
    (130276, 130270), (130246, 130240), (130267, 130261), (130257, 130249), (130259, 130251),
}


def test_the_real_win11_policy() -> None:
    r = lint(WIN11, "--format", "json")
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    assert doc["filters"] == 990
    assert doc["summary"] == {"shadowed": 9, "duplicate": 51, "overridden": 0, "never-holds": 0,
                              "unregistered-callout": 0, "total": 60}
    shadowed = {(int(f["filters"][0]["filter_id"]), int(f["filters"][1]["filter_id"]))
                for f in doc["findings"] if f["kind"] == "shadowed"}
    assert shadowed == WIN11_SHADOWED
    tie = [f for f in doc["findings"] if f["filters"][0]["filter_id"] == "67109"]
    assert "Windows leaves ties unspecified" in tie[0]["reason"]
    # Duplicates: Windows Firewall rules that compile to the same filter (WMI and Hyper-V WMI rules ...).
    dups = {tuple(x["filter_id"] for x in f["filters"]) for f in doc["findings"] if f["kind"] == "duplicate"}
    assert ("130270", "130273", "130511", "130539", "130560") in dups
    assert ("66214", "66218") in dups
    assert all(len(d) >= 2 for d in dups)


def wfptui(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wfptui", *map(str, args)], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120, cwd=ROOT)


COVER_POLICY = """
[[filter]]
key = "allow-web"
layer = "ALE_AUTH_RECV_ACCEPT_V4"
action = "permit"
weight = 10
condition = [ { field = "IP_LOCAL_PORT", value = 80 } ]

[[filter]]
key = "never-v6"
layer = "ALE_AUTH_RECV_ACCEPT_V6"
action = "block"
"""


def test_run_and_replay_coverage(tmp_path: Path) -> None:
    pol = tmp_path / "server.toml"
    pol.write_text(COVER_POLICY, encoding="utf-8")
    rec = tmp_path / "r.wfpr"
    r = wfptui("run", "scenarios/tcp-connect.toml", "--policy", f"server={pol}", "--coverage", "--record", rec)
    assert r.returncode == 0, r.stderr
    assert "coverage: " in r.stderr and "never reached: server/never-v6" in r.stderr
    assert "coverage" not in r.stdout
    j = wfptui("run", "scenarios/tcp-connect.toml", "--policy", f"server={pol}", "--coverage", "--format", "json")
    cov = json.loads(j.stdout)["coverage"]
    rows = {c["filter"]: (c["decided"], c["terminated"], c["matched"]) for c in cov["filters"]}
    assert rows == {"allow-web": (1, 1, 1), "never-v6": (0, 0, 0)}
    assert cov["unreached"] == [{"host": "server", "filter": "never-v6", "filter_id": "70002"}]
    lines = wfptui("run", "scenarios/tcp-connect.toml", "--coverage", "--format", "jsonl").stdout.splitlines()
    assert json.loads(lines[-1])["kind"] == "coverage"
    # replay: the same counts from the recording's embedded policy
    rj = wfptui("replay", rec, "--coverage", "--format", "json")
    assert rj.returncode == 0, rj.stderr
    assert json.loads(rj.stdout)["coverage"] == cov
    rc = wfptui("replay", rec, "--check", "--coverage")
    assert rc.returncode == 0 and "never reached: server/never-v6" in rc.stderr


STATE = ROOT / "tests" / "data" / "wfp" / "wfpstate-win11.xml"


@pytest.mark.skipif(not STATE.exists(), reason="tests/data/wfp/wfpstate-win11.xml not present")
def test_the_real_win11_state_dump() -> None:
    r = lint(STATE, "--format", "json")
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    assert doc["filters"] == 1050
    assert doc["summary"]["total"] == 75 and doc["summary"]["shadowed"] == 19 and doc["summary"]["duplicate"] == 56
    shadowed = {(int(f["filters"][0]["filter_id"]), int(f["filters"][1]["filter_id"]))
                for f in doc["findings"] if f["kind"] == "shadowed"}
    assert shadowed >= WIN11_SHADOWED
    # The rest: "Boot Time Filter"s (weight range 0/1) under the state dump's static "Query User"
    # catch-all blocks (weight range 3): five with FWPM_FILTER_FLAG_BOOTTIME (the reason says they
    # act before BFE adds Query User), five PERSISTENT copies (shadowed at run time, no note).
    boot = [f for f in doc["findings"] if f["kind"] == "shadowed"
            and (int(f["filters"][0]["filter_id"]), int(f["filters"][1]["filter_id"])) not in WIN11_SHADOWED]
    assert len(boot) == 10
    assert all(f["filters"][0]["name"] == "Boot Time Filter" and f["filters"][1]["name"] == "Query User"
               for f in boot)
    assert sum("FWPM_FILTER_FLAG_BOOTTIME" in f["reason"] for f in boot) == 5
