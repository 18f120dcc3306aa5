"""The virtual clock: an event queue in virtual seconds (docs/decisions-engine.md, "Engine,
timing, determinism").

Events are ordered by (time, insertion number); times are rounded to 1 µs (``round_us``) so
a trace's 6-decimal ``t`` round-trips exactly. ``activity`` events (packets in flight,
retransmission and reply timers) keep a step busy; background events (flow idle timers)
do not. No real time passes anywhere.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

__all__ = ["Timer", "VirtualClock", "round_us"]


class Timer:
    """A cancellable event handle; a cancelled activity timer stops counting at once."""

    __slots__ = ("clock", "activity", "cancelled")

    def __init__(self, clock: VirtualClock, activity: bool) -> None:
        self.clock = clock
        self.activity = activity
        self.cancelled = False

    def cancel(self) -> None:
        if not self.cancelled:
            self.cancelled = True
            if self.activity:
                self.clock.activity -= 1


class VirtualClock:
    """A virtual-time event queue. ``activity`` events keep a step "busy" (packets in
    flight, retransmission timers); background events (flow idle timers) do not."""

    def __init__(self) -> None:
        self.now = 0.0
        self._heap: list[tuple[float, int, Timer | None, bool, Callable[..., None], tuple[Any, ...]]] = []
        self._n = 0
        self.activity = 0

    def call_at(self, t: float, fn: Callable[..., None], *args: Any, activity: bool = True) -> None:
        self._n += 1
        heapq.heappush(self._heap, (max(t, self.now), self._n, None, activity, fn, args))
        if activity:
            self.activity += 1

    def call_later(self, dt: float, fn: Callable[..., None], *args: Any, activity: bool = True) -> None:
        self.call_at(self.now + dt, fn, *args, activity=activity)

    def call_series(self, n: int, gap: float, fn: Callable[..., None], args: tuple[Any, ...]) -> None:
        """``call_later(i * gap, fn, *args)`` for i in 0..n-1 (activity events)."""
        heap = self._heap
        push = heapq.heappush
        now = self.now
        k = self._n
        for i in range(n):
            k += 1
            push(heap, (now + i * gap, k, None, True, fn, args))
        self._n = k
        self.activity += n

    def post(self, hop: tuple[float, Callable[..., None], tuple[Any, ...]]) -> None:
        """``call_later(delay, fn, *args)`` for a ``hop = (delay >= 0, fn, args)`` (an
        activity event): a packet's delivery (``Network.wire``) is its kept hop."""
        delay, fn, args = hop
        self._n = n = self._n + 1
        heapq.heappush(self._heap, (self.now + delay, n, None, True, fn, args))
        self.activity += 1

    def timer(self, dt: float, fn: Callable[..., None], *args: Any) -> Timer:
        """An activity event that can be cancelled (retransmission and reply timeouts)."""
        handle = Timer(self, True)
        self._n += 1
        heapq.heappush(self._heap, (self.now + dt, self._n, handle, True, fn, args))
        self.activity += 1
        return handle

    def next_time(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def run_one(self) -> None:
        t, _, handle, activity, fn, args = heapq.heappop(self._heap)
        if handle is not None:
            if handle.cancelled:
                return
            handle.cancelled = True
        if activity:
            self.activity -= 1
        if t > self.now:
            self.now = round_us(t)  # µs resolution: times survive the trace's rounding exactly
        fn(*args)

    def run_active(self, limit: int) -> int:
        """``run_one`` while activity is pending, at most ``limit`` events; returns how
        many ran (one loop here instead of one call per event from the driver)."""
        heap = self._heap
        pop = heapq.heappop
        n = 0
        while self.activity > 0 and n < limit:
            n += 1
            t, _, handle, activity, fn, args = pop(heap)
            if handle is not None:
                if handle.cancelled:
                    continue
                handle.cancelled = True
            if activity:
                self.activity -= 1
            if t > self.now:
                # round_us(t), inlined
                x = t * 1e6
                k = round(x)
                self.now = k / 1e6 if (x < 1e12 and -0.4 < x - k < 0.4) else round(t, 6)
            fn(*args)
        return n

    def run_active_until(self, until: float, limit: int) -> int:
        """``run_active`` that also stops before the first event due after ``until``."""
        heap = self._heap
        n = 0
        while self.activity > 0 and n < limit and heap and heap[0][0] <= until:
            n += 1
            self.run_one()
        return n

    def run_due(self, until: float, limit: int) -> int:
        """``run_one`` for the events due at or before ``until``, at most ``limit``."""
        heap = self._heap
        n = 0
        while heap and heap[0][0] <= until and n < limit:
            n += 1
            self.run_one()
        return n


def round_us(t: float) -> float:
    """``round(t, 6)``, bit for bit, at a fraction of its cost (it formats and parses a
    decimal string). ``k / 1e6`` is the double nearest to k µs, as ``round`` returns;
    k = the nearest integer to t·10⁶ is the correctly rounded µs count unless t·10⁶ is
    within the multiplication's error (< 1.2e-4 below 10¹² µs) of a half — those few,
    and huge times, go to ``round``."""
    x = t * 1e6
    k = round(x)
    if x < 1e12 and -0.4 < x - k < 0.4:
        return k / 1e6
    return round(t, 6)
