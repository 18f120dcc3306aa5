"""A capture in the TUI: the full verdict of one observed event, on demand.

The engine's ``observe`` steps leave two records per event: the classification (world F's
arbitration, ``core.triage``) and an ``observed`` record with the verdict. The inspector
wants more (the observed filter's key and name, whether the simulated action itself is
unknown, world F's full arbitration): :class:`CaptureJudge` recomputes one event with
``core.triage.judge`` — the same definition the engine used — from the event the
scenario's step carries and the policy the run used. One Simulator per policy; results
are kept per event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from wfptui.core.model import Policy
from wfptui.core.scenario import OBSERVE, Step
from wfptui.core.trace import ObservedRecord, TraceRecord

__all__ = ["CaptureJudge", "sim_unknown_rows"]


class CaptureJudge:
    """``judge(record)``: the ``core.triage.EventVerdict`` of an ``observed`` record (or None)."""

    def __init__(self, steps: Sequence[Step], policies: Mapping[str, Policy]) -> None:
        self._events: dict[tuple[str, int], dict[str, Any]] = {}
        for s in steps:
            if s.do == OBSERVE and s.event is not None and s.host is not None:
                index = s.event.get("index")
                if isinstance(index, int):
                    self._events[(s.host, index)] = s.event
        self._policies = dict(policies)
        self._simulators: dict[str, Any] = {}
        self._memo: dict[tuple[str, int], Any] = {}

    def __bool__(self) -> bool:
        return bool(self._events)

    def __call__(self, record: TraceRecord) -> Any:
        if not isinstance(record, ObservedRecord):
            return None
        key = (record.host, record.event)
        if key in self._memo:
            return self._memo[key]
        event = self._events.get(key)
        policy = self._policies.get(record.host)
        if event is None or policy is None:
            return None
        from wfptui.core.evidence import Observation
        from wfptui.core.triage import Simulator, judge

        sim = self._simulators.get(record.host)
        if sim is None:
            sim = self._simulators[record.host] = Simulator(policy)
        verdict = self._memo[key] = judge(Observation.from_dict(event), sim)
        return verdict


def sim_unknown_rows(records: Sequence[TraceRecord], observed_rows: Sequence[int], judge: CaptureJudge) -> set[int]:
    """Observed rows whose *simulated action* is unknown (not just its filter): only the
    ``unknown`` verdicts with unknown fields need looking at."""
    out = set()
    for i in observed_rows:
        r = records[i]
        if isinstance(r, ObservedRecord) and r.verdict == "unknown" and r.unknown_fields:
            ev = judge(r)
            if ev is not None and ev.sim is not None and ev.sim.action is None:
                out.add(i)
    return out
