"""Running a scenario: the virtual clock, the step driver and the run's result (spec §4, §5).

``arun_scenario`` is a coroutine: it builds the hosts (core.sim), then runs the steps
in order on a virtual clock. Every host/socket action (a packet arriving, a SYN
retransmission timer, a flow's idle timer, a ``send`` of many segments) is an event on
the virtual-time queue (``core.sim.clock.VirtualClock``); the driver pops events in time order and
gives way every few thousand events (``asyncio.sleep(0)`` under an event loop, a bare yield
under :func:`drive`) so a UI loop stays responsive. No
real sleeping happens anywhere: the same inputs give the same trace, byte for byte.

Step timing: a step with ``at`` runs when the clock reaches ``at`` (events due before
then run first; a time already past runs at once). A step without ``at`` runs when the
previous steps have settled — no packet in flight and no retransmission pending (flow
idle timers do not count). ``wait`` advances the clock by ``seconds`` (idle timers that
fall due fire). After the last step the run settles the same way; idle timers further
in the future never fire. Wire latency: 0.5 ms between hosts, 0.05 ms on loopback.

Extra steps (``extra_steps``: the TUI's live policy changes) are not appended: one with
``at = t`` runs when the clock reaches t, wherever the scenario is — after every event
due at or before t and every scenario step that starts at or before t, before anything
later (so traffic in flight at t meets the new policy from t on). One without ``at``
runs after the scenario's steps. ``RunResult.inputs`` lists all steps in the order they
ran, so running the inputs as a plain scenario gives the same trace (an extra step there
is a step with ``at`` placed after the last step that started before it).
"""

from __future__ import annotations

import gc
import types
from collections.abc import Awaitable, Callable, Coroutine, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from wfptui.core.expect import check_expects
from wfptui.core.model import ClassifyResult, Policy
from wfptui.core.scenario import Scenario, Step
from wfptui.core.sim import Network
from wfptui.core.trace import ExpectRecord, TraceRecord

#: Events between two yields to the asyncio loop.
YIELD_EVERY = 4096

#: How a run gives way to its caller: a zero-argument callable returning an awaitable.
Pause = Callable[[], Awaitable[None]]


@types.coroutine
def bare_yield() -> Generator[None, None, None]:
    """Give way once to :func:`drive`, which sends into the coroutine again at once. The
    synchronous paths use it instead of ``asyncio.sleep(0)`` so the headless commands need not
    import asyncio (~18 ms of their start); :func:`arun_scenario` awaits ``asyncio.sleep(0)``."""
    yield


@dataclass
class RunResult:
    """Everything a run produced (the TUI, recordings and ``run`` read it)."""

    records: Sequence[TraceRecord]  # a core.trace.Trace: record i has seq i + 1
    results: Mapping[int, ClassifyResult]  # classify record seq → the full arbitration result
    expects: list[ExpectRecord]
    ok: bool
    hosts: list[str]
    layer_order: dict[str, list[str]]  # per host: layers crossed, first-crossing order
    inputs: list[Step] = field(default_factory=list)  # the steps as executed

    @property
    def all_records(self) -> list[TraceRecord]:
        """Trace records followed by the expect records."""
        return [*self.records, *self.expects]


class _Driver:
    """Runs the clock for the step loop; fires pending extra steps (sorted by ``at``)
    when the clock would pass their time."""

    def __init__(self, net: Network, timed: Sequence[Step], fire: Callable[[Step], None], pause: Pause) -> None:
        self.net = net
        self.timed = list(timed)  # extra steps with ``at``, by time (stable)
        self.fire = fire
        self.pause = pause

    async def settle(self) -> None:
        """Run events until no activity (packets, retransmissions) is pending."""
        clock = self.net.clock
        timed = self.timed
        while clock.activity > 0:
            if timed:
                x = timed[0].at
                assert x is not None
                nt = clock.next_time()
                if nt is not None and nt > x:  # everything due by x has run: the extra step now
                    await self._until(x)
                    self.fire(timed.pop(0))
                    continue
                n = clock.run_active_until(x, YIELD_EVERY)
            else:
                n = clock.run_active(YIELD_EVERY)
            if n == YIELD_EVERY:
                await self.pause()

    async def run_until(self, t: float, *, inclusive: bool = False) -> None:
        """Run every event due at or before ``t``, then move the clock to ``t``; extra
        steps due before ``t`` (at ``t`` too when ``inclusive``) fire on the way."""
        timed = self.timed
        while timed:
            x = timed[0].at
            assert x is not None
            if x > t or (x == t and not inclusive):
                break
            await self._until(x)
            self.fire(timed.pop(0))
        await self._until(t)

    async def _until(self, t: float) -> None:
        clock = self.net.clock
        while True:
            if clock.run_due(t, YIELD_EVERY) < YIELD_EVERY:
                break
            await self.pause()
        if t > clock.now:
            clock.now = round(t, 6)


#: Called after each step with (steps done, steps in all): lets a command draw a progress bar.
ProgressFn = Callable[[int, int], None]


async def arun_scenario(scenario: Scenario, policies: Mapping[str, Policy] | None = None,
                        extra_steps: Sequence[Step] = (), progress: ProgressFn | None = None) -> RunResult:
    """Run ``scenario`` (host policies replaced by ``policies`` where given), then
    ``extra_steps``; check the expectations. Gives way to the event loop with
    ``asyncio.sleep(0)``."""
    import asyncio  # here, not at the top: the synchronous paths do without it

    net = Network(scenario, policies)
    return await run_network(net, scenario, extra_steps, progress, pause=lambda: asyncio.sleep(0))


async def run_network(net: Network, scenario: Scenario, extra_steps: Sequence[Step] = (),
                      progress: ProgressFn | None = None, pause: Pause = bare_yield) -> RunResult:
    """Run ``scenario`` on an already built ``Network`` (benchmarks set ``net.capture``);
    ``pause`` is how it gives way (:func:`bare_yield`: for :func:`drive`).

    The cyclic garbage collector is paused while the run builds its trace: the records
    hold no reference cycles, and full collections over a growing trace cost a third of
    the run time on big scenarios. It is re-enabled (if it was on) when the run ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return await _run(net, scenario, extra_steps, progress, pause)
    finally:
        if was_enabled:
            gc.enable()


async def _run(net: Network, scenario: Scenario, extra_steps: Sequence[Step],
               progress: ProgressFn | None, pause: Pause) -> RunResult:
    executed: list[Step] = []
    total = len(scenario.steps) + len(extra_steps)

    def execute(step: Step) -> None:
        net.execute(step)
        executed.append(step)
        if progress is not None:
            progress(len(executed), total)

    timed = sorted((s for s in extra_steps if s.at is not None), key=lambda s: s.at or 0.0)
    driver = _Driver(net, timed, execute, pause)
    for step in (*scenario.steps, *(s for s in extra_steps if s.at is None)):
        if step.at is not None:
            await driver.run_until(step.at)
        else:
            await driver.settle()
        if step.do == "wait":
            await driver.settle()
            await driver.run_until(net.clock.now + (step.seconds or 0.0))
            executed.append(step)
            if progress is not None:
                progress(len(executed), total)
        else:
            execute(step)
        await pause()
    await driver.settle()
    while driver.timed:  # extra steps after the scenario went quiet: the clock moves on to them
        at = driver.timed[0].at
        assert at is not None
        await driver.run_until(at, inclusive=True)
        await driver.settle()
    expects = check_expects(scenario.expects, net.records, net.seq + 1) if scenario.expects else []
    return RunResult(records=net.records, results=net.results, expects=expects,
                     ok=all(e.ok for e in expects), hosts=[h.name for h in scenario.hosts],
                     layer_order=net.layer_order, inputs=executed)


def drive(coro: Coroutine[Any, Any, RunResult]) -> RunResult:
    """Run the coroutine to completion without an event loop: it only ever awaits
    :func:`bare_yield`, so stepping it by hand is exact and works even when called from
    inside a running loop (the TUI)."""
    try:
        while True:
            coro.send(None)
    except StopIteration as stop:
        result: RunResult = stop.value
        return result


def run_scenario(scenario: Scenario, policies: Mapping[str, Policy] | None = None,
                 extra_steps: Sequence[Step] = (), progress: ProgressFn | None = None) -> RunResult:
    """Synchronous ``arun_scenario``."""
    return drive(run_network(Network(scenario, policies), scenario, extra_steps, progress))
