"""Loading inputs at I/O speed (issue 14 item 4; benchmarks/README.md, "## load").

Generates, into a temporary folder, a policy file of ``--filters`` filters (default 1,000:
every condition kind a real policy has -- application ids, address masks, port ranges,
protocols, user SDDL, flags, names, descriptions, own sublayers and callouts) and a scenario
of ``--steps`` steps (default 16,000: listen / connect / send / close cycles between two
hosts, with ``at`` times and a few ``policy`` steps adding filters). Then, each in a fresh
interpreter (cold: imports and first-use caches included, as a user's command pays them):

* **tomllib**: ``tomllib.loads`` of the file's text (the standard library parser);
* **tomli**: ``tomli.loads`` (the parser the loaders use: TOML 1.1);
* **load**: ``load_policy(path)`` / ``load_scenario(path)`` -- the whole loader, every value
  checked, the objects built; ``import`` = importing the loader module (before the clock).

Reported: seconds (best of ``--repeat`` fresh processes, wall clock) and load / tomllib.
Targets: policy ~0.1 s, scenario <= 0.3 s. ``--write`` replaces the ``## load`` section of
benchmarks/README.md (other sections are left alone).

Usage: ``python benchmarks/load.py [--filters N] [--steps N] [--repeat N] [--write]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "benchmarks" / "README.md"
WIN11 = ROOT / "scenarios" / "win11" / "win11-policy.toml"  # `wfptui import` of a real Windows 11 dump

LAYERS = ("ALE_AUTH_RECV_ACCEPT_V4", "ALE_AUTH_CONNECT_V4", "ALE_AUTH_LISTEN_V4", "ALE_AUTH_RECV_ACCEPT_V6",
          "ALE_AUTH_CONNECT_V6", "ALE_RESOURCE_ASSIGNMENT_V4", "INBOUND_TRANSPORT_V4", "OUTBOUND_TRANSPORT_V4")
APPS = (r"C:\Program Files\Browser\browser.exe", r"C:\Windows\System32\svchost.exe",
        r"C:\Program Files (x86)\Steam\steam.exe", r"C:\srv\web.exe")


def policy_text(n: int) -> str:
    """A policy of ``n`` filters over every common condition kind."""
    out = ['[[sublayer]]\nkey = "{7a2c4f10-0000-4000-8000-000000000001}"\nname = "Vendor firewall"\nweight = 900\n',
           '[[sublayer]]\nkey = "vendor-low"\nweight = 10\n',
           '[[callout]]\nkey = "vendor-inspect"\nreturns = "continue"\nassumed = true\n']
    for i in range(n):
        layer = LAYERS[i % len(LAYERS)]
        v6 = layer.endswith("V6")
        conds: list[str] = []
        if layer.startswith("ALE"):
            conds.append(f"{{ field = \"ALE_APP_ID\", value = '{APPS[i % len(APPS)]}' }}")
        if layer.startswith("ALE_AUTH_RECV") or layer.startswith("ALE_AUTH_CONNECT") or "TRANSPORT" in layer:
            conds.append('{ field = "IP_PROTOCOL", value = "tcp" }' if i % 3 else
                         '{ field = "IP_PROTOCOL", value = "udp" }')
            if v6:
                conds.append(f'{{ field = "IP_REMOTE_ADDRESS", value = "fd00:{i % 97:x}::/48" }}')
            else:
                conds.append(f'{{ field = "IP_REMOTE_ADDRESS", value = "10.{i % 200}.{i % 7}.0/24" }}')
            conds.append(f'{{ field = "IP_LOCAL_PORT", match = "range", value = [{1024 + i}, {2048 + i}] }}')
        if layer.startswith("ALE_AUTH_RECV") and i % 5 == 0:
            conds.append('{ field = "ALE_USER_ID", value = "O:LSD:(A;;CC;;;S-1-5-19)(A;;CC;;;S-1-5-21-1-2-3-1001)" }')
        action = ("block", "permit", "callout_inspection")[i % 3] if layer.startswith("ALE") else \
            ("block", "permit")[i % 2]
        lines = ["[[filter]]", f'key = "filter-{i}"', f'name = "Rule {i} for {layer.lower()}"',
                 f'description = "generated rule number {i}"', f'layer = "{layer}"', f'action = "{action}"',
                 f"weight = {i % 16}"]
        if action == "callout_inspection":
            lines.append('callout = "vendor-inspect"')
        if i % 4 == 0:
            lines.append('sublayer = "{7a2c4f10-0000-4000-8000-000000000001}"')
        elif i % 4 == 1:
            lines.append('sublayer = "vendor-low"')
        if i % 9 == 0 and action != "callout_inspection":
            lines.append('flags = ["clear_action_right"]')
        lines.append(f"id = {100000 + i}")
        lines.append("condition = [\n  " + ",\n  ".join(conds) + ",\n]" if conds else "condition = []")
        out.append("\n".join(lines) + "\n")
    return "\n".join(out)


SCENARIO_HEAD = """name = "load benchmark"

[[host]]
name = "client"
address = ["10.0.0.1", "fd00::1"]
app = [ { name = "browser", path = 'C:\\Program Files\\Browser\\browser.exe', user = "S-1-5-21-1-2-3-1001" } ]

[[host]]
name = "server"
address = ["10.0.0.2", "fd00::2"]
app = [ { name = "web", path = 'C:\\srv\\web.exe' } ]

[host.policy]
[[host.policy.filter]]
key = "allow-web"
layer = "ALE_AUTH_RECV_ACCEPT_V4"
action = "permit"
condition = [ { field = "IP_LOCAL_PORT", match = "range", value = [8000, 8099] } ]
"""


def scenario_text(n: int) -> str:
    """A scenario of about ``n`` steps: listens, then connect / send / send / close cycles."""
    out = [SCENARIO_HEAD]
    ports = 10
    for p in range(ports):
        out.append(f'[[step]]\nhost = "server"\ndo = "listen"\napp = "web"\nport = {8000 + p}\nsocket = "l{p}"\n')
    i = 0
    t = 0.0
    while len(out) - 1 < n:
        port = 8000 + i % ports
        sock = f"c{i}"
        t += 0.001
        out.append(f'[[step]]\nhost = "client"\ndo = "connect"\napp = "browser"\nto = "server:{port}"\n'
                   f'socket = "{sock}"\nat = {t:.3f}\n')
        out.append(f'[[step]]\ndo = "send"\nsocket = "{sock}"\nbytes = {100 + i % 1400}\n')
        out.append(f'[[step]]\ndo = "send"\nsocket = "l{i % ports}"\nbytes = 4000\npackets = 3\n')
        out.append(f'[[step]]\ndo = "close"\nsocket = "{sock}"\n')
        if i % 500 == 499:
            out.append(f'[[step]]\nhost = "server"\ndo = "policy"\nadd = [ {{ key = "extra-{i}", '
                       f'layer = "ALE_AUTH_RECV_ACCEPT_V4", action = "block", condition = [ '
                       f'{{ field = "IP_REMOTE_ADDRESS", value = "192.168.{i % 250}.0/24" }} ] }} ]\n')
        i += 1
    out.append('[[expect]]\nhost = "server"\nlayer = "ALE_AUTH_RECV_ACCEPT_V4"\naction = "permit"\n')
    return "\n".join(out)


PROBE = """
import sys, time, json
kind, path = sys.argv[1], sys.argv[2]
text = open(path, encoding="utf-8").read()
if kind == "tomllib":
    import tomllib
    t0 = time.perf_counter(); tomllib.loads(text); t = time.perf_counter() - t0
elif kind == "tomli":
    import tomli
    t0 = time.perf_counter(); tomli.loads(text); t = time.perf_counter() - t0
elif kind == "policy":
    t0 = time.perf_counter()
    from wfptui.io.policy_file import load_policy
    t1 = time.perf_counter(); r = load_policy(path); t = time.perf_counter() - t1
    assert len(r.filters) > 0
else:
    t0 = time.perf_counter()
    from wfptui.io.scenario_file import load_scenario
    t1 = time.perf_counter(); r = load_scenario(path); t = time.perf_counter() - t1
    assert len(r.steps) > 0
print(json.dumps([t, t1 - t0 if kind in ("policy", "scenario") else 0.0]))
"""


def cold(kind: str, path: Path, repeat: int) -> tuple[float, float]:
    """Best of ``repeat`` fresh interpreters: seconds of one ``kind`` load of ``path``, and of
    importing the loader module before it (0 for the parsers)."""
    best, imp = float("inf"), float("inf")
    for _ in range(repeat):
        proc = subprocess.run([sys.executable, "-c", PROBE, kind, str(path)], cwd=ROOT, capture_output=True,
                              text=True, check=True, timeout=300)
        t, t_import = json.loads(proc.stdout.splitlines()[-1])
        best, imp = min(best, float(t)), min(imp, float(t_import))
    return best, imp


def write_section(body: str) -> None:
    text = README.read_text(encoding="utf-8")
    section = "## load\n\n" + body.strip() + "\n"
    m = re.search(r"^## load\n.*?(?=^## |\Z)", text, re.S | re.M)
    if m:
        text = text[: m.start()] + section + ("\n" if m.end() < len(text) else "") + text[m.end():]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    README.write_text(text, encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--filters", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=16000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--write", action="store_true", help="replace the ## load section of benchmarks/README.md")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        pol = Path(tmp) / "policy.toml"
        pol.write_text(policy_text(args.filters), encoding="utf-8")
        scen = Path(tmp) / "scenario.toml"
        scen.write_text(scenario_text(args.steps), encoding="utf-8")
        inputs = [("policy", pol, f"policy, {args.filters:,} filters"),
                  ("policy", WIN11, "scenarios/win11/win11-policy.toml (990 real filters)"),
                  ("scenario", scen, f"scenario, {args.steps:,} steps")]
        for kind, path, what in inputs:
            base, _ = cold("tomllib", path, args.repeat)
            tomli_s, _ = cold("tomli", path, args.repeat)
            load, imp = cold(kind, path, args.repeat)
            kb = os.path.getsize(path) / 1024
            rows.append(f"| {what} | {kb:,.0f} | {base:.3f} | {tomli_s:.3f} | {load:.3f} | {load / base:.2f} "
                        f"| {imp:.3f} |")
            print(rows[-1], flush=True)
    load_avg = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    body = "\n".join([
        "`python benchmarks/load.py [--filters N] [--steps N] [--repeat N] [--write]` — loading a policy file",
        "and a scenario file, cold (each figure in a fresh interpreter), against the TOML parser alone on",
        "the same text. Generated inputs: a 1,000-filter policy (application ids, address masks, port",
        "ranges, protocols, user SDDL, flags, own sublayers and callouts) and a 16,000-step scenario",
        "(listen / connect / send / close cycles, `at` times, a `policy` step every 2,000); and the",
        "committed import of a real Windows 11 dump (`scenarios/win11/win11-policy.toml`). **tomllib** =",
        "`tomllib.loads` of the text; **tomli** = `tomli.loads` (what the loaders use, TOML 1.1);",
        "**load** = `load_policy(path)` / `load_scenario(path)`: every value checked, the objects built;",
        "**import** = importing the loader module first (not in **load**; a command pays it once).",
        "Positions (file:line:col) are found only when a message needs one (`io.tomlpos` scans lazily).",
        "Targets: policy ~0.1 s, scenario <= 0.3 s. Best of "
        f"{args.repeat} processes, wall seconds.",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()} "
        f"({platform.system()}), load average {load_avg:.1f} at the end of the run; "
        f"{time.strftime('%Y-%m-%d')}.",
        "",
        "| input | KiB | tomllib s | tomli s | load s | load / tomllib | import s |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *rows,
    ])
    print(body)
    if args.write:
        write_section(body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
