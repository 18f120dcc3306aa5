"""``wfptui [FILE]``: open the TUI on a scenario (.toml), a recording (.wfpr) or the built-in scenario.

The file is loaded *before* Textual starts, so a bad file ends with the CLI's usual
message (each diagnostic on stderr, exit 2) and never a half-drawn screen. Textual
itself is imported only after that (it costs most of the start-up time).

Environment: ``WFPTUI_HEADLESS=1`` runs without a terminal (benchmarks, smoke tests);
``WFPTUI_BENCH_EXIT_AFTER_FIRST_FRAME=1`` prints ``WFPTUI_FIRST_FRAME <unix time>`` on
stderr once the first run is on screen, then exits.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", type=Path, metavar="FILE",
                        help="scenario .toml or recording .wfpr (default: the built-in scenario)")
    parser.add_argument("--no-watch", action="store_true", help="do not reload policy files when they change")


def run(args: argparse.Namespace) -> int:
    from wfptui.io.errors import InputError
    from wfptui.tui.backend import Backend, env_flag

    backend = Backend()
    path: Path | None = args.file
    if path is not None and not path.exists():
        print(f"{path}: no such file", file=sys.stderr)
        return 2
    try:
        source = backend.open(path)
    except InputError as exc:
        for diag in exc.diagnostics:
            print(diag, file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"{path}: {exc.strerror or exc}", file=sys.stderr)
        return 2

    from wfptui.tui.app import WfpApp

    app = WfpApp(source, backend=backend, watch=not args.no_watch)
    result = app.run(headless=env_flag("WFPTUI_HEADLESS"))
    return int(result or 0)
