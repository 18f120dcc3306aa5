"""``wfptui explain`` end to end (spec §2): text and JSON output, exit codes, error messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

LAYER = "ALE_AUTH_RECV_ACCEPT_V4"

POLICY = """\
[[sublayer]]
key = "corp"
weight = 0x8000

[[sublayer]]
key = "vendor"
weight = 0xFFFF

[[callout]]
key = "ids"
returns = "block"

[[filter]]
key = "no-web"
name = "Block web"
layer = "ALE_AUTH_RECV_ACCEPT_V4"
sublayer = "corp"
weight = 10
action = "block"
id = 70001
condition = [
  { field = "IP_LOCAL_PORT", match = "equal", value = 80 },
  { field = "IP_LOCAL_PORT", match = "equal", value = 443 },
  { field = "IP_REMOTE_ADDRESS", match = "equal", value = "10.0.0.0/8" },
]

[[filter]]
key = "allow-all"
layer = "ALE_AUTH_RECV_ACCEPT_V4"
sublayer = "corp"
action = "permit"
id = 70002

[[filter]]
key = "wf-allow"
layer = "ALE_AUTH_RECV_ACCEPT_V4"
sublayer = "MPSSVC_WF"
action = "permit"
id = 70003

[[filter]]
key = "vendor-ssh"
layer = "ALE_AUTH_RECV_ACCEPT_V4"
sublayer = "vendor"
action = "permit"
flags = ["clear_action_right"]
id = 70004
condition = [ { field = "IP_LOCAL_PORT", value = 22 } ]

[[filter]]
key = "ids-ssh"
layer = "ALE_AUTH_RECV_ACCEPT_V4"
sublayer = "corp"
weight = 15
action = "callout_terminating"
callout = "ids"
id = 70005
condition = [ { field = "IP_LOCAL_PORT", value = 22 }, { field = "IP_PROTOCOL", value = "tcp" } ]
"""


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(POLICY)
    return path


def explain(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wfptui", "explain", *map(str, args)],
        capture_output=True, text=True, timeout=120, check=False,
    )


def test_text_block(policy_file: Path) -> None:
    proc = explain("--policy", policy_file, "--layer", LAYER, "IP_LOCAL_PORT=80", "IP_PROTOCOL=tcp",
                   "IP_REMOTE_ADDRESS=10.1.2.3")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith("Layer: ALE_AUTH_RECV_ACCEPT_V4 (layer id 44)\n")
    assert "  IP_REMOTE_ADDRESS = 10.1.2.3" in out
    assert "Phase 1: sublayer 'vendor', weight 65535 (0xffff)" in out
    assert "Phase 2: sublayer 'corp', weight 32768 (0x8000)" in out
    assert "      [x] IP_REMOTE_ADDRESS equal 10.0.0.0/8" in out
    assert "  unreached: filter 'allow-all' id 70002 (0x11172)" in out
    assert out.rstrip().splitlines()[-1] == (
        "Final: BLOCK by filter 'no-web' (Block web) in sublayer 'corp' (hard block; lower sublayers cannot override)")
    assert proc.stderr == ""


def test_json_permit_and_shape(policy_file: Path) -> None:
    proc = explain("--policy", policy_file, "--layer", "FWPM_LAYER_" + LAYER, "IP_LOCAL_PORT=443", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert {k: doc[k] for k in ("action", "filter", "filter_id", "sublayer", "hard", "veto", "layer_id")} == {
        "action": "permit", "filter": "allow-all", "filter_id": "70002", "sublayer": "corp", "hard": False,
        "veto": False, "layer_id": 44}  # 64-bit values as strings (spec §8)
    assert (doc["format"], doc["version"]) == ("wfptui-explain", 1)
    assert doc["values"] == {"IP_LOCAL_PORT": 443}
    # vendor: no match (port 22 only); corp: no-web needs an address (EMPTY here) -> allow-all.
    assert [(s["sublayer"], s["action"], s["effect"]) for s in doc["sublayers"]] == [
        ("vendor", "none", "none"), ("corp", "permit", "decided"), ("MPSSVC_WF", "permit", "kept")]
    assert [t["filter"] for t in doc["terminating"]] == ["allow-all", "wf-allow"]


def test_json_veto(policy_file: Path) -> None:
    proc = explain("--policy", policy_file, "--layer", LAYER, "IP_LOCAL_PORT=22", "IP_PROTOCOL=6", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert (doc["action"], doc["filter"], doc["veto"], doc["hard"]) == ("block", "ids-ssh", True, True)
    assert [s["effect"] for s in doc["sublayers"]] == ["decided", "veto", "kept"]
    assert "veto" in doc["explanation"]


def test_nothing_decided_other_layer(policy_file: Path) -> None:
    proc = explain("--policy", policy_file, "--layer", "ALE_AUTH_CONNECT_V4", "IP_REMOTE_PORT=80")
    assert proc.returncode == 0, proc.stderr
    assert "No filters at this layer." in proc.stdout
    assert proc.stdout.rstrip().endswith("Final: nothing decided: permitted by default (action none)")
    doc = json.loads(explain("--policy", policy_file, "--layer", "ALE_AUTH_CONNECT_V4", "--format", "json").stdout)
    assert (doc["action"], doc["filter"]) == ("none", None)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["IP_LOCAL_PORT=80", "IP_PROTOCOL=tcp", "IP_LOCL_PORT=80"],
         "explain: argument 3 'IP_LOCL_PORT=80': unknown field 'IP_LOCL_PORT'"),
        (["IP_LOCAL_PORT=70000"], "explain: argument 1 'IP_LOCAL_PORT=70000': value 70000 does not fit FWP_UINT16"),
        (["IP_LOCAL_PORT"], "explain: argument 1 'IP_LOCAL_PORT': expected FIELD=VALUE"),
        (["IP_LOCAL_PORT=1", "IP_LOCAL_PORT=2"], "explain: argument 2 'IP_LOCAL_PORT=2': field IP_LOCAL_PORT is given twice"),
        (["IP_FORWARD_INTERFACE=1"],
         "explain: argument 1 'IP_FORWARD_INTERFACE=1': field IP_FORWARD_INTERFACE is not classified at layer "
         "ALE_AUTH_RECV_ACCEPT_V4"),
        (["IP_REMOTE_ADDRESS=10.0.0.0/8"], "explain: argument 1 'IP_REMOTE_ADDRESS=10.0.0.0/8': "),
    ],
)
def test_bad_values_exit_2(policy_file: Path, args: list[str], message: str) -> None:
    proc = explain("--policy", policy_file, "--layer", LAYER, *args)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith(message), proc.stderr
    assert "Traceback" not in proc.stderr


def test_unknown_layer_exit_2(policy_file: Path) -> None:
    proc = explain("--policy", policy_file, "--layer", "ALE_AUTH_RECV_ACCEP", "IP_LOCAL_PORT=80")
    assert proc.returncode == 2
    assert proc.stderr.startswith("explain: --layer: unknown layer 'ALE_AUTH_RECV_ACCEP' (did you mean")


def test_missing_policy_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    proc = explain("--policy", missing, "--layer", LAYER)
    assert proc.returncode == 2
    assert proc.stderr.startswith(str(missing))
    assert "Traceback" not in proc.stderr


def test_invalid_policy_reports_file_line_col(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[filter]]\nkey = "x"\nlayer = "ALE_AUTH_RECV_ACCEPT_V4"\naction = "blok"\n')
    proc = explain("--policy", bad, "--layer", LAYER)
    assert proc.returncode == 2
    first = proc.stderr.splitlines()[0]
    assert first.startswith(f"{bad}:4:"), proc.stderr
    assert "blok" in first
    broken = tmp_path / "broken.toml"
    broken.write_text("[[filter]\n")
    proc = explain("--policy", broken, "--layer", LAYER)
    assert proc.returncode == 2 and proc.stderr.startswith(f"{broken}:1"), proc.stderr


def test_usage_error_exit_2(policy_file: Path) -> None:
    proc = explain("--layer", LAYER)  # --policy missing
    assert proc.returncode == 2
    assert "--policy" in proc.stderr


def test_near_misses_text_and_json(policy_file: Path) -> None:
    # port 81: no-web misses on IP_LOCAL_PORT only (80 or 443: one ORed group); vendor-ssh on
    # the port; ids-ssh misses on port and protocol (two fields): not listed
    args = ("--policy", policy_file, "--layer", LAYER, "IP_LOCAL_PORT=81", "IP_PROTOCOL=udp",
            "IP_REMOTE_ADDRESS=10.1.2.3")
    doc = json.loads(explain(*args, "--format", "json").stdout)
    assert doc["near_misses"] == [
        {"filter": "vendor-ssh", "sublayer": "vendor", "field": "IP_LOCAL_PORT", "wants": "22", "got": "81"},
        {"filter": "no-web", "sublayer": "corp", "field": "IP_LOCAL_PORT", "wants": "80 or 443", "got": "81"},
    ]
    out = explain(*args).stdout
    assert ("Near misses (filters at this layer that failed on exactly one field):\n"
            "  vendor-ssh: IP_LOCAL_PORT is 81, filter wants 22  [sublayer 'vendor']\n"
            "  no-web: IP_LOCAL_PORT is 81, filter wants 80 or 443  [sublayer 'corp']\n") in out
    assert out.rstrip().splitlines()[-1].startswith("Final: PERMIT")
