"""``wfptui [FILE] [--policy P]``: open the TUI on a scenario (.toml), a recording (.wfpr), a
capture (wfpdiag.xml, netevents.xml, audit events: each event's observed verdict beside the
simulated one; ``--policy`` gives or overrides its policy, see ``io.capture_session``) or the
built-in scenario.

The file is loaded *before* Textual starts, so a bad file ends with the CLI's usual
message (each diagnostic on stderr, exit 2) and never a half-drawn screen; a scenario
is run then too, so the first frame shows the run. Textual itself is imported only
after that (it costs most of the start-up time). The garbage collector is paused until
the first frame (``tui.startup``).

Without a terminal on standard input and output it says so and exits 2 (spec §8).
Environment: ``WFPTUI_HEADLESS=1`` runs without a terminal (benchmarks, smoke tests);
``WFPTUI_BENCH_EXIT_AFTER_FIRST_FRAME=1`` prints ``WFPTUI_FIRST_FRAME <unix time>`` on
stderr once the first run is on screen, then exits.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wfptui.tui.backend import Backend, Source
    from wfptui.tui.runview import RunView


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", type=Path, metavar="FILE",
                        help="scenario .toml, recording .wfpr, or a capture (wfpdiag.xml, netevents.xml, "
                             "audit events XML) (default: the built-in scenario)")
    parser.add_argument("--policy", type=Path, metavar="P",
                        help="a capture's policy: a policy .toml, or a netsh filters/state XML (written as "
                             "a .toml beside the capture and watched)")
    parser.add_argument("--no-watch", action="store_true", help="do not reload policy files when they change")


def run(args: argparse.Namespace) -> int:
    from wfptui.tui.startup import pause_gc, resume_gc

    pause_gc()  # until the first frame (the app resumes it): see tui.startup
    try:
        return _run(args)
    finally:
        resume_gc()


def _run(args: argparse.Namespace) -> int:
    from wfptui.io.errors import InputError
    from wfptui.tui.backend import Backend, env_flag

    backend = Backend()
    path: Path | None = args.file
    if path is not None and not path.exists():
        print(f"{path}: no such file", file=sys.stderr)
        return 2
    try:
        source = backend.open(path, getattr(args, "policy", None))
    except InputError as exc:
        for diag in exc.diagnostics:
            print(diag, file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"{path}: {exc.strerror or exc}", file=sys.stderr)
        return 2

    headless = env_flag("WFPTUI_HEADLESS")
    if not headless and not (sys.stdin.isatty() and sys.stdout.isatty()):
        # Drawing into a pipe would fill it with escape codes forever (spec §8).
        print("wfptui: the TUI needs a terminal (standard input and output are not one); "
              "for a pipe or CI use `wfptui run`, `wfptui replay` or `wfptui export`", file=sys.stderr)
        return 2

    view = _first_run(backend, source) if source.kind != "recording" else None

    from wfptui.tui.app import WfpApp

    app = WfpApp(source, backend=backend, watch=not args.no_watch, view=view)
    # Headless, Textual's console would guess 80x25 while its driver says 80x24: two extra
    # full layouts at start that a terminal never pays. Give both the same size.
    result = app.run(headless=headless, size=(80, 24) if headless else None)
    return int(result or 0)


def _first_run(backend: Backend, source: Source) -> RunView | None:
    """Run the scenario now, so the TUI's first frame shows the run.

    A thread would not overlap with Textual's start (both need the GIL) and the screen
    would be laid out and drawn twice. None when the run fails: the app runs it again
    in its worker and shows the error on screen, as for any later run.
    """
    from wfptui.io.progress import Progress

    # a long scenario shows the CLI's progress bar before the screen opens (none for short ones)
    try:
        with Progress(total=len(source.scenario.steps), label="running the scenario", delay=0.3) as bar:
            return backend.run(source.scenario, source.policies, progress=lambda done, _all: bar.update(done))
    except Exception:  # noqa: BLE001 - shown by the app's own run
        return None
