"""Helpers for the stack/engine tests: build scenarios from TOML text, read sequences."""

from __future__ import annotations

from typing import Any

from wfptui.core.engine import RunResult, run_scenario
from wfptui.core.scenario import Scenario
from wfptui.core.trace import ClassifyRecord, StackRecord
from wfptui.io.scenario_file import parse_scenario


def two_hosts(steps: str, *, windows: str = "win11", server_windows: str | None = None,
              server_policy: str = "", client_policy: str = "", expects: str = "") -> str:
    sw = server_windows or windows
    return f'''
name = "test"
[[host]]
name = "client"
windows = "{windows}"
address = ["10.0.0.1", "fd00::1"]
app = [ {{ name = "browser", path = 'C:\\Program Files\\Browser\\browser.exe' }} ]
{client_policy}

[[host]]
name = "server"
windows = "{sw}"
address = ["10.0.0.2", "fd00::2"]
app = [ {{ name = "web", path = 'C:\\srv\\web.exe' }} ]
{server_policy}

{steps}
{expects}
'''


def scenario(text: str) -> Scenario:
    return parse_scenario(text, "test.toml")


def run(text: str) -> RunResult:
    return run_scenario(scenario(text))


def seq(result: RunResult, host: str, *, start: int = 0, end: int | None = None) -> list[str]:
    """``LAYER what`` for each classification of ``host`` (seq in [start, end))."""
    out = []
    for r in result.records:
        if isinstance(r, ClassifyRecord) and r.host == host and r.seq >= start and (end is None or r.seq < end):
            what = r.packet if r.packet is not None else r.op
            out.append(f"{r.layer} {what}" + (" reauth" if r.reauth else ""))
    return out


def classify(result: RunResult, **keys: Any) -> list[ClassifyRecord]:
    return [r for r in result.records if isinstance(r, ClassifyRecord)
            and all(getattr(r, k) == v for k, v in keys.items())]


def stack_events(result: RunResult, host: str | None = None) -> list[str]:
    return [r.event for r in result.records
            if isinstance(r, StackRecord) and (host is None or r.host == host)]


def v(names: list[str], ver: int) -> list[str]:
    """Expand ``X`` names with the IP version: ``STREAM DATA`` → ``STREAM_V4 DATA``."""
    out = []
    for n in names:
        layer, _, rest = n.partition(" ")
        if layer.endswith("_DISCARD"):
            layer = layer.removesuffix("_DISCARD") + f"_V{ver}_DISCARD"
        else:
            layer = f"{layer}_V{ver}"
        out.append(f"{layer} {rest}".strip())
    return out
