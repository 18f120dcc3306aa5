"""Regenerate the README's screenshot (docs/screenshot.svg) from the real app.

The TUI is run headless through Textual's Pilot on a scenario of this repository, the
cursor put on its first block (``b``, as a user would), and the screen exported with
``App.export_screenshot``: the picture is what a user sees, not a mock-up. The theme is
the default (a fresh config folder: the user's remembered theme is not used); animations
and the cursor blink are off, so the same code makes the same picture.

Usage: ``python tools/screenshot.py [--scenario scenarios/spec-example.toml]
[--size 160x45] [-o docs/screenshot.svg]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Seconds the app is given to show its run.
LIMIT = 30.0


async def shoot(scenario: Path, size: tuple[int, int], keys: list[str]) -> str:
    """The SVG of the app on ``scenario`` at ``size`` after pressing ``keys``."""
    from wfptui.tui.app import WfpApp
    from wfptui.tui.backend import Backend

    app = WfpApp(Backend().open(scenario), watch=False)
    async with app.run_test(size=size) as pilot:
        waited = 0.0
        while app.view is None or not app.view.indexed:
            if waited > LIMIT:
                raise SystemExit(f"screenshot: {scenario}: the run did not show within {LIMIT:.0f} s")
            await pilot.pause(0.05)
            waited += 0.05
        await pilot.press(*keys)
        await pilot.pause(0.2)
        app.clear_notifications()
        await pilot.pause()
        return app.export_screenshot(title="wfptui")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "spec-example.toml")
    parser.add_argument("--size", default="160x45", help="columns x rows (default 160x45)")
    parser.add_argument("--keys", default="b", help="keys to press first, space-separated (default: b)")
    parser.add_argument("-o", "--out", type=Path, default=ROOT / "docs" / "screenshot.svg")
    args = parser.parse_args(argv)
    try:
        cols, rows = (int(n) for n in args.size.lower().split("x"))
    except ValueError:
        parser.error(f"--size {args.size!r}: expected COLUMNSxROWS, e.g. 160x45")
    os.environ["TEXTUAL_ANIMATIONS"] = "none"
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory() as config:
        os.environ["WFPTUI_CONFIG_DIR"] = config  # the default theme, not the user's
        svg = asyncio.run(shoot(args.scenario, (cols, rows), args.keys.split()))
    from wfptui.io.atomic import atomic_write_text

    atomic_write_text(args.out, svg)
    print(f"wrote {args.out} ({cols}x{rows}, {len(svg):,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
