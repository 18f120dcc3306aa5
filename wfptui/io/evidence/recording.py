"""Captures as recordings (issue 11 item 5): ``wfptui import CAPTURE -o OUT.wfpr``.

A capture becomes a scenario with one host (the captured machine, default ``captured``;
remote addresses are not hosts) whose policy is the capture's own filters or ``--policy``,
and whose steps are one ``observe`` step per event, in file order, ``at`` = the event's
time offset from the first timed event (seconds; an event without a time keeps the previous
offset). :func:`observations_from_recording` is the inverse, for ``wfptui triage OUT.wfpr``.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wfptui.core.engine import RunResult, run_scenario
from wfptui.core.evidence import Observation
from wfptui.core.model import Policy
from wfptui.core.scenario import OBSERVE, HostSpec, Scenario, Step
from wfptui.io.errors import Diagnostic, InputError
from wfptui.io.evidence import Evidence, read_evidence

__all__ = ["DEFAULT_HOST", "CaptureRun", "observations_from_recording", "record_capture",
           "scenario_from_observations"]

DEFAULT_HOST = "captured"


def _addr_text(addr: int, version: int | None) -> str | None:
    try:
        return str(ipaddress.IPv4Address(addr) if version == 4 else ipaddress.IPv6Address(addr))
    except ValueError:
        return None


def scenario_from_observations(observations: Sequence[Observation], policy: Policy, *, name: str,
                               host: str = DEFAULT_HOST, source: str | None = None) -> Scenario:
    """The scenario of a capture (see the module docstring)."""
    first: int | None = None
    at = 0.0
    steps: list[Step] = []
    local: list[str] = []
    for i, obs in enumerate(observations, 1):
        if obs.time_ns is not None:
            if first is None:
                first = obs.time_ns
            # µs resolution, never backwards (events are replayed in file order)
            at = max(at, round((obs.time_ns - first) / 1e9, 6))
        if obs.local_addr is not None and obs.ip_version in (4, 6):
            text = _addr_text(obs.local_addr, obs.ip_version)
            if text is not None and text not in local:
                local.append(text)
        steps.append(Step(index=i, do=OBSERVE, host=host, at=at, event=obs.to_dict()))
    hs = HostSpec(name=host, addresses=tuple(local), policy=policy)
    return Scenario(name=name, hosts=(hs,), steps=tuple(steps), source=source)


@dataclass(frozen=True)
class CaptureRun:
    """A capture run as ``observe`` steps: what ``import`` writes as a recording."""

    evidence: Evidence
    scenario: Scenario
    policy: Policy
    result: RunResult
    #: Notes for the user (the reader's, and "--policy over the capture's own filters").
    notes: tuple[str, ...]


def record_capture(path: str, policy: Policy | None = None, *, policy_name: str | None = None,
                   host: str = DEFAULT_HOST) -> CaptureRun:
    """Read the capture at ``path`` and run it (InputError on bad input; a netevents or audit
    file without ``policy`` is one). ``policy``: overrides the capture's own filters."""
    ev = read_evidence(path)
    notes = list(ev.notes)
    if policy is not None:
        if ev.policy is not None:
            notes.append(f"using {policy_name or 'the given policy'} instead of the capture's own "
                         f"{len(ev.policy.filters)} filters")
    elif ev.policy is not None:
        policy = ev.policy.policy
    else:
        raise InputError([Diagnostic(path, 0, 0, f"this {ev.kind} file carries no filters: give the policy the "
                                     "machine had with --policy (a policy .toml or a `netsh wfp show "
                                     "filters`/`state` XML)")])
    scenario = scenario_from_observations(ev.observations, policy, name=os.path.basename(path), host=host)
    result = run_scenario(scenario, {host: policy})
    return CaptureRun(ev, scenario, policy, result, tuple(notes))


def observations_from_recording(rec: Any) -> tuple[list[Observation], Policy, list[str]]:
    """The events and the policy of a recording made by ``wfptui import CAPTURE``
    (InputError when the recording holds no observed events)."""
    steps = list(rec.inputs) if rec.inputs else list(rec.scenario.steps)
    observe = [s for s in steps if s.do == OBSERVE and s.event is not None]
    if not observe:
        raise InputError([Diagnostic(str(rec.path) if hasattr(rec, "path") else "<recording>", 0, 0,
                                     "this recording holds no captured events (make one with "
                                     "`wfptui import CAPTURE -o OUT.wfpr`)")])
    host = observe[0].host or DEFAULT_HOST
    try:
        observations = [Observation.from_dict(s.event) for s in observe]
    except ValueError as exc:
        raise InputError([Diagnostic("<recording>", 0, 0, f"bad observe step: {exc}")]) from None
    policy = rec.policies.get(host)
    if policy is None:
        hs = rec.scenario.host(host)
        policy = hs.policy if hs is not None else Policy(sublayers={}, callouts={}, filters=())
    return observations, policy, []  # the same notes as triage of the capture itself
