"""The TUI's only door to the engine and to files: run, parse, read, write, diff.

Every call here may block, so the app calls them from thread workers. Imports of the
engine and the file formats are deferred to the first call, which keeps them off the
start-up path. Tests can pass a different :class:`Backend` to the app.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wfptui.core.model import Filter, Policy
from wfptui.core.scenario import Scenario, Step
from wfptui.core.trace import TraceRecord
from wfptui.tui.runview import RunView


@dataclass
class Source:
    """What the TUI was opened on: a scenario (file or built-in), a recording or a capture."""

    kind: str  # "scenario" | "builtin" | "recording" | "capture"
    scenario: Scenario
    path: Path | None = None
    recording: Any = None  # io.recording.Recording when kind == "recording"
    policies: dict[str, Policy] = field(default_factory=dict)  # each host's policy at the start
    notes: list[str] = field(default_factory=list)  # what opening it found (a capture's policy file ...)

    @property
    def label(self) -> str:
        if self.kind == "builtin":
            return f"built-in: {self.scenario.name}"
        return f"{self.path.name if self.path else self.kind}: {self.scenario.name}"


def policy_path(scenario: Scenario, host: str, base_dir: Path | None) -> Path | None:
    """Where ``host``'s policy file is (relative paths resolve against the scenario's folder)."""
    spec = scenario.host(host)
    if spec is None or not spec.policy_file:
        return None
    path = Path(spec.policy_file)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return path.resolve()


def policy_change_step(host: str, t: float, old: Policy, new: Policy, index: int) -> Step | None:
    """A ``policy`` step turning ``old`` into ``new`` at virtual time ``t``.

    None when the change is not expressible as filters added and removed (sublayers or
    callouts changed): then the caller re-runs from the start.
    """
    if old.sublayers != new.sublayers or old.callouts != new.callouts:
        return None
    before = old.by_key()
    after = new.by_key()
    removed = tuple(k for k, f in before.items() if after.get(k) != f)
    added = tuple(f for k, f in after.items() if before.get(k) != f)
    raw: dict[str, Any] = {"do": "policy", "host": host, "at": t, "remove": list(removed),
                           "add": _filter_tables(added)}
    return Step(index=index, do="policy", host=host, at=t, add=added, remove=removed, raw=raw)


def _filter_tables(filters: tuple[Filter, ...]) -> list[dict[str, Any]]:
    """The filters as policy-file tables (what a recording stores for a ``policy`` step)."""
    if not filters:
        return []
    import tomllib

    from wfptui.io.policy_file import dump_policy

    text = dump_policy(Policy(sublayers={}, callouts={}, filters=filters))
    tables: list[dict[str, Any]] = tomllib.loads(text).get("filter", [])
    return tables


class Backend:
    """Real engine and file formats. Every method may block: call from a thread."""

    def load_builtin(self) -> Scenario:
        """``io.scenario_file.load_builtin_scenario()``, reading the file by its path when it
        is one: ``importlib.resources`` (and the zipfile and tempfile it imports) cost ~10 ms
        of the TUI's start-up."""
        import wfptui.data
        from wfptui.io.scenario_file import load_builtin_scenario, parse_scenario

        try:
            text = Path(wfptui.data.__file__).with_name("builtin.toml").read_text(encoding="utf-8")
        except OSError:  # not a plain file (a zipped install): the resources way
            return load_builtin_scenario()
        scenario: Scenario = parse_scenario(text, "<builtin>/builtin.toml", None)
        return scenario

    def load_scenario(self, path: Path) -> Scenario:
        from wfptui.io.scenario_file import load_scenario

        scenario: Scenario = load_scenario(path)
        return scenario

    def read_recording(self, path: Path) -> Any:
        from wfptui.io.recording import read_recording

        return read_recording(path)

    def open(self, path: Path | None, policy: Path | None = None) -> Source:
        """Load what ``wfptui [FILE] [--policy P]`` names; InputError when it is bad.

        A capture (``io.evidence.sniff_evidence``) opens as a scenario of ``observe`` steps
        whose policy is a file beside it (``io.capture_session``); ``policy`` is for captures only.
        """
        if path is not None and path.suffix.lower() != ".wfpr":
            from wfptui.io.evidence import sniff_evidence

            if sniff_evidence(path) is not None:
                from wfptui.io.capture_session import open_capture

                cap = open_capture(path, policy)
                return Source("capture", cap.scenario, path, policies={cap.host: cap.policy}, notes=list(cap.notes))
        if policy is not None:
            from wfptui.io.errors import Diagnostic, InputError

            raise InputError([Diagnostic(str(path or "wfptui"), 0, 0, "--policy is for captures (wfpdiag.xml, "
                                         "netevents.xml, audit events): this is not one")])
        if path is None:
            scenario = self.load_builtin()
            return Source("builtin", scenario, None, policies={h.name: h.policy for h in scenario.hosts})
        if path.suffix.lower() == ".wfpr":
            rec = self.read_recording(path)
            scenario = rec.scenario
            if scenario is None:  # a recording without its scenario: hosts from the header
                from wfptui.core.scenario import HostSpec

                names = [str(h.get("name")) for h in rec.header.get("hosts", ()) if isinstance(h, dict)]
                scenario = Scenario(name=path.name, hosts=tuple(HostSpec(n) for n in names))
            policies = dict(rec.policies or {h.name: h.policy for h in scenario.hosts})
            return Source("recording", scenario, path, rec, policies)
        scenario = self.load_scenario(path)
        return Source("scenario", scenario, path, policies={h.name: h.policy for h in scenario.hosts})

    def run(self, scenario: Scenario, policies: Mapping[str, Policy] | None = None,
            extra_steps: Sequence[Step] = (), progress: Callable[[int, int], None] | None = None) -> RunView:
        """Run the engine and index the result for the panes and the timeline.

        ``extra_steps`` are live policy changes, each with its virtual time ``at``: the
        engine applies each when its clock reaches that time, wherever the scenario is
        (core/engine.py), so traffic from then on meets the new policy and live flows
        reauthorize. The view keeps the steps in the order they ran (``inputs``): saved as
        a recording's inputs, they replay to the same trace.
        """
        from wfptui.core.engine import run_scenario

        pols = dict(policies) if policies else None
        result = run_scenario(scenario, policies=pols, extra_steps=extra_steps, progress=progress)
        view = RunView.build(result.records, result.hosts, result.layer_order, result.results,
                             ok=getattr(result, "ok", None))
        view.inputs = list(result.inputs)
        if view.is_capture:
            self.judge_capture(view, scenario.steps, pols or {h.name: h.policy for h in scenario.hosts})
        return view

    def judge_capture(self, view: RunView, steps: Sequence[Step], policies: Mapping[str, Policy]) -> None:
        """Give a capture's view its per-event detail (``tui.capture``)."""
        from wfptui.tui.capture import CaptureJudge, sim_unknown_rows

        judge = CaptureJudge(steps, policies)
        if judge:
            view.judge = judge
            view.sim_unknown = sim_unknown_rows(view.records, view.observed_rows, judge)

    def recording_view(self, recording: Any) -> RunView:
        """Index a recording's own trace (no engine run)."""
        hosts = [h.name for h in recording.scenario.hosts] if recording.scenario is not None else []
        if hasattr(recording.records, "iter_groups"):  # io.recording.LazyRecords
            view = RunView.build_lazy(recording.records, hosts)
        else:
            view = RunView.build(recording.records, hosts)
        if view.is_capture and recording.scenario is not None:  # imported from a capture
            steps = list(recording.inputs) if recording.inputs else list(recording.scenario.steps)
            self.judge_capture(view, steps, recording.policies or {h.name: h.policy for h in recording.scenario.hosts})
        return view

    def read_text(self, path: Path) -> str:
        return path.read_text(encoding="utf-8")

    def write_text(self, path: Path, text: str) -> None:
        from wfptui.io.atomic import atomic_write_text

        atomic_write_text(path, text)

    def parse_policy(self, text: str, filename: str) -> Policy:
        """Parse a policy file's text; InputError with diagnostics when it is bad."""
        from wfptui.io.policy_file import parse_policy

        return parse_policy(text, filename)

    def dump_policy(self, policy: Policy) -> str:
        from wfptui.io.policy_file import dump_policy

        return dump_policy(policy)

    def write_recording(self, path: Path, scenario: Scenario, policies: Mapping[str, Policy],
                        inputs: Any, records: Sequence[TraceRecord]) -> None:
        from wfptui.io.recording import write_recording

        write_recording(path, scenario=scenario, policies=dict(policies), inputs=inputs, records=list(records))

    def diff(self, a: Sequence[TraceRecord], b: Sequence[TraceRecord]) -> TraceComparison:
        """Semantic diff (core.diff): first divergence and the records that differ on each side."""
        from wfptui.core.diff import diff_traces

        d = diff_traces(a, b)
        if d.first is None:
            return TraceComparison(None, None, d.summary(), set(), set())
        marked_a = {c.index_a for c in d.changes} | {i for i, _ in d.only_a}
        marked_b = {c.index_b for c in d.changes} | {i for i, _ in d.only_b}
        ia = d.first.index_a if d.first.index_a >= 0 else None
        ib = d.first.index_b if d.first.index_b >= 0 else None
        return TraceComparison(ia, ib, f"{d.summary()} — first divergence: {d.first.message}", marked_a, marked_b)


@dataclass
class TraceComparison:
    """What the diff screen shows: where the traces part ways and what differs."""

    index_a: int | None
    index_b: int | None
    summary: str
    marked_a: set[int]
    marked_b: set[int]


def env_flag(name: str) -> bool:
    """An environment switch is on (anything but empty, 0, false, no)."""
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")
