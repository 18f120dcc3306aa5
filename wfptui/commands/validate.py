"""``wfptui validate FILE``: check a policy, scenario or recording (spec §2, §3, §4, §6).

What FILE is, is decided by its content, not only its name:

* a **recording** when the name ends in ``.wfpr`` or the first byte starts a msgpack map
  (0x80–0x8f, 0xde, 0xdf) → ``wfptui.io.recording.read_recording``;
* otherwise the file is read as TOML: a **scenario** when its top level has ``host``,
  ``step`` or ``expect`` → ``wfptui.io.scenario_file.load_scenario``; a **policy** when it
  has ``filter``, ``sublayer`` or ``callout`` (or is empty) → ``io.policy_file``.

Every problem is printed on stderr as ``file:line:col: message``, exit 2. A clean file
prints ``FILE: ok (N filters, M sublayers, K callouts)`` (a policy; counts are the file's
own sublayers and callouts, built-ins not counted), ``FILE: ok (scenario: H hosts, S
steps, E expectations, N filters)`` or ``FILE: ok (recording: N records, H policies)``
on stdout, exit 0.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from wfptui.io.errors import Diagnostic, InputError

_MSGPACK_MAP_FIRST = frozenset([*range(0x80, 0x90), 0xDE, 0xDF])
_SCENARIO_KEYS = ("host", "step", "expect")
_POLICY_KEYS = ("filter", "sublayer", "callout")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="a policy .toml, scenario .toml or recording .wfpr")


def _read(path: str) -> bytes:
    from wfptui.io.stdio import read_input

    return read_input(path, "file")  # `-` = standard input (spec §8)


def _is_recording(path: str, data: bytes) -> bool:
    if path.lower().endswith(".wfpr"):
        return True
    return bool(data) and data[0] in _MSGPACK_MAP_FIRST


def _validate_recording(path: str, data: bytes) -> str:
    try:
        from wfptui.io.recording import decode_recording
    except ImportError as exc:
        raise InputError(
            [Diagnostic(path, 0, 0, f"cannot check recordings: wfptui.io.recording is not available ({exc})")]
        ) from None
    rec = decode_recording(data, path)
    return f"recording: {rec.count} records, {len(rec.policies)} policies"


def _validate_scenario(path: str, text: str, base: Path) -> str:
    try:
        from wfptui.io.scenario_file import parse_scenario
    except ImportError as exc:
        raise InputError(
            [
                Diagnostic(
                    path, 0, 0, f"cannot check scenarios: wfptui.io.scenario_file is not available ({exc})"
                )
            ]
        ) from None
    scen: Any = parse_scenario(text, path, base)
    hosts = getattr(scen, "hosts", ())
    steps = getattr(scen, "steps", ())
    expects = getattr(scen, "expects", ())
    filters = 0
    for h in hosts:
        pol = getattr(h, "policy", None)
        filters += len(getattr(pol, "filters", ()))
    return f"scenario: {len(hosts)} hosts, {len(steps)} steps, {len(expects)} expectations, {filters} filters"


def _validate_policy(path: str, text: str) -> str:
    from wfptui.io.policy_file import parse_policy

    pol = parse_policy(text, path)
    subs = sum(1 for s in pol.sublayers.values() if not s.builtin or s.loc is not None)
    callouts = sum(1 for c in pol.callouts.values() if not c.builtin or c.loc is not None)
    return f"{len(pol.filters)} filters, {subs} sublayers, {callouts} callouts"


def validate(path: str) -> str:
    """Check ``path``; the summary for a clean file, InputError otherwise."""
    from wfptui.io.stdio import display_name, is_stdin

    data = _read(path)
    base = Path(".") if is_stdin(path) else Path(path).parent
    path = display_name(path)
    if _is_recording(path, data):
        return _validate_recording(path, data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            [Diagnostic(path, line, 0, "not UTF-8 text (and not a msgpack recording)")]
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    from wfptui.io.tomlpos import parse_toml

    doc, _ = parse_toml(text, path)
    if any(k in doc for k in _SCENARIO_KEYS):
        return _validate_scenario(path, text, base)
    if any(k in doc for k in _POLICY_KEYS) or not doc:
        return _validate_policy(path, text)
    keys = ", ".join(sorted(doc))
    raise InputError(
        [
            Diagnostic(
                path,
                1,
                1,
                f"cannot tell what this file is: a policy has [[filter]]/[[sublayer]]/[[callout]], "
                f"a scenario [[host]]/[[step]]; found only: {keys}",
            )
        ]
    )


def run(args: argparse.Namespace) -> int:
    path = os.fspath(args.file)
    try:
        summary = validate(path)
    except InputError as exc:
        for d in exc.diagnostics:
            print(d, file=sys.stderr)
        return 2
    from wfptui.io.stdio import display_name

    print(f"{display_name(path)}: ok ({summary})")
    return 0
