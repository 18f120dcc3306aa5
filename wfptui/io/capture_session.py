"""A capture opened in the TUI (issue 11 item 7): its events, its policy, and the policy file to watch.

``wfptui CAPTURE [--policy P]`` shows a capture's events as a run of ``observe`` steps
(``io.evidence.recording.scenario_from_observations``). So that editing a filter
re-triages live, the policy must be a file the TUI can watch:

* ``--policy P.toml``: that file;
* a policy that came from XML (the capture's own filters, or ``--policy P.xml``): it is
  written as TOML (``ImportResult.toml()``: the one writer, ``io.policy_writer.dump_policy``,
  with the import's notes as comments) beside the capture, as
  ``CAPTURE-STEM.policy.toml`` (the capture's filters) or ``P-STEM.policy.toml``
  (``--policy P.xml``). An existing file of that name is never overwritten: when it holds
  the same text it is simply used; when it differs it is taken as the user's edited
  policy (and the notes say so); when it does not parse, that is bad input.
* When the folder cannot be written, the policy is used from memory and live re-triage
  is off (the notes say so).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from wfptui.core.model import Policy
from wfptui.core.scenario import Scenario
from wfptui.io.errors import Diagnostic, InputError

__all__ = ["CaptureSession", "open_capture", "policy_file_name", "shown"]


def shown(path: Path) -> str:
    """A path as messages show it: relative to the working folder when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class CaptureSession:
    """What the TUI opens for a capture."""

    scenario: Scenario  # one host (the captured machine), one observe step per event
    host: str
    policy: Policy
    policy_file: Path | None  # the TOML file the TUI watches (None: not watched)
    notes: tuple[str, ...]


def policy_file_name(capture: Path, policy_path: Path | None) -> Path:
    """Where a policy that came from XML is written: beside the capture."""
    stem = policy_path.stem if policy_path is not None else capture.stem
    return capture.parent / f"{stem}.policy.toml"


def _is_xml(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
    except OSError as exc:
        raise InputError([Diagnostic(str(path), 0, 0, f"cannot read: {exc.strerror or exc}")]) from None
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def _settle(target: Path, text: str, xml_policy: Policy, notes: list[str]) -> tuple[Policy, Path | None]:
    """Write ``text`` to ``target`` unless a file is there (see the module docstring)."""
    from wfptui.io.atomic import atomic_write_text
    from wfptui.io.policy_file import parse_policy

    try:
        existing = target.read_text(encoding="utf-8") if target.exists() else None
    except (OSError, UnicodeError) as exc:
        raise InputError([Diagnostic(str(target), 0, 0, f"cannot read: {exc}")]) from None
    if existing is None:
        try:
            atomic_write_text(target, text)
        except OSError as exc:
            notes.append(f"cannot write the policy to {shown(target)}: {exc.strerror or exc}; live re-triage is off")
            return xml_policy, None
        notes.append(f"policy written to {shown(target)}: edit it to re-triage")
        return xml_policy, target
    if existing == text:
        notes.append(f"policy: {shown(target)}")
        return xml_policy, target
    notes.append(f"{shown(target)} exists and differs from the XML policy: using it as your edited policy")
    return parse_policy(existing, str(target)), target


def open_capture(path: str | os.PathLike[str], policy_path: str | os.PathLike[str] | None = None) -> CaptureSession:
    """Read a capture and settle its policy file (InputError on bad input)."""
    from wfptui.io.evidence import read_evidence
    from wfptui.io.evidence.recording import DEFAULT_HOST, scenario_from_observations
    from wfptui.io.netsh_xml import import_netsh
    from wfptui.io.policy_file import load_policy

    capture = Path(path).resolve()
    ev = read_evidence(capture, progress=False)
    notes = list(ev.notes)
    pol_file: Path | None
    if policy_path is not None:
        given = Path(policy_path).resolve()
        if ev.policy is not None:
            notes.append(f"policy: {given.name} (instead of the capture's own {len(ev.policy.filters)} filters)")
        if _is_xml(given):
            imported = import_netsh(given, progress=False)
            policy, pol_file = _settle(policy_file_name(capture, given), imported.toml(), imported.policy, notes)
        else:
            policy, pol_file = load_policy(given), given
            notes.append(f"policy: {shown(given)}")
    elif ev.policy is not None:
        policy, pol_file = _settle(policy_file_name(capture, None), ev.policy.toml(), ev.policy.policy, notes)
    else:
        raise InputError([Diagnostic(str(path), 0, 0, f"a {ev.kind} file carries no filters: give the policy the "
                                     "machine had with --policy (a policy .toml or a `netsh wfp show "
                                     "state` / `show filters` XML dump)")])
    scenario = scenario_from_observations(ev.observations, policy, name=capture.name, host=DEFAULT_HOST,
                                          source=str(capture))
    if pol_file is not None:
        scenario = replace(scenario, hosts=tuple(replace(h, policy_file=str(pol_file)) for h in scenario.hosts))
    return CaptureSession(scenario, DEFAULT_HOST, policy, pol_file, tuple(notes))
