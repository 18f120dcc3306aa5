"""The cyclic garbage collector around a command's big, long-lived data.

Reading a recording of a million records and replaying it builds millions of small
objects (the steps, the trace's rows and outcomes, the reader's tables) that live to the
end of the command and make no reference cycles. The cyclic collector would walk them at
every pass of its oldest generation, and once more in one long pass when it is switched
back on (~0.4 s of a 1M ``replay --check``; benchmarks/README.md "cli"). So a command
builds them with the collector off, then *keeps* them: ``gc.freeze()`` moves everything
alive into the permanent generation, which no collection walks, and the collector comes
back on for what the command does next (comparing, writing), where it walks only the new
objects. At the end the permanent generation is handed back (``gc.unfreeze()``), so a
process that goes on (the tests call commands in process) collects as before.
Reference counting frees whatever dies meanwhile, frozen or not.

When the process itself ends (:func:`process_ends`, called by the ``wfptui`` entry point
after the command returned), everything still alive is frozen once more: the
interpreter's last collection at exit would otherwise walk it all, though the operating
system takes the memory back anyway. The engine's objects (a network, its hosts, sockets
and flows) refer to each other, so after a 1M-record command about a million of them are
still there for that collection: ~0.6 s of its end (benchmarks/README.md "cli", session 8).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator

__all__ = ["long_lived", "paused", "process_ends"]


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """The collector off for a while (reading or writing a recording: only acyclic data,
    millions of objects that the collector's passes would walk again and again), then as
    it was."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextlib.contextmanager
def long_lived() -> Iterator[Callable[[], None]]:
    """The collector off until ``keep()`` (the value of the ``with``) is called, then on,
    with everything built so far frozen; unfrozen and as it was at the end."""
    was_enabled = gc.isenabled()
    gc.disable()

    def keep() -> None:
        gc.freeze()
        if was_enabled:
            gc.enable()

    try:
        yield keep
    finally:
        gc.unfreeze()
        if was_enabled:
            gc.enable()


def process_ends() -> None:
    """The process exits next: freeze everything alive, so the interpreter's final
    collection walks none of it (module docstring). Only for the process's own end: code
    that goes on (the tests call ``cli.main`` in process) must not call it."""
    gc.freeze()
