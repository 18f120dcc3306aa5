"""Watch policy files for saves from any editor, including write-and-rename saves.

A watch on a single file goes deaf after the first save that replaces the file
(vim, ``sed -i``, atomic writers: write a temp file, then ``rename`` it over the
target), so :func:`watch_files` watches each file's *parent directory*
(non-recursively) and keeps only events on the exact resolved paths. An atomic
save arrives as ``added``, an in-place write as ``modified``: both count as a
change. ``deleted`` alone is ignored (the file is missing for a moment; the last
good state stays).

``watchfiles`` is imported inside the generator, so importing this module costs
nothing at start-up.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

#: Milliseconds of quiet after the first event before a batch is delivered.
DEFAULT_STEP_MS = 30
#: Longest a batch may gather events, in milliseconds.
DEFAULT_DEBOUNCE_MS = 300


def _resolved(path: str | os.PathLike[str]) -> Path:
    return Path(path).expanduser().resolve()


async def watch_files(
    paths: Iterable[str | os.PathLike[str]],
    *,
    step_ms: int = DEFAULT_STEP_MS,
    debounce_ms: int = DEFAULT_DEBOUNCE_MS,
    stop_event: Any = None,
    force_polling: bool | None = None,
) -> AsyncIterator[set[Path]]:
    """Yield the set of watched files that changed, one set per batch of saves.

    ``paths`` are files (they need not exist yet, but their folders must). Each
    yielded path is one of the given paths, resolved. Ends when ``stop_event``
    (an asyncio/anyio Event) is set or the consuming task is cancelled.
    """
    from watchfiles import Change, awatch

    targets = {_resolved(p) for p in paths}
    if not targets:
        return
    folders = sorted({str(t.parent) for t in targets})
    wanted = (Change.added, Change.modified)

    def keep(change: Change, raw: str) -> bool:
        return change in wanted and _resolved(raw) in targets

    async for batch in awatch(
        *folders,
        watch_filter=keep,
        step=step_ms,
        debounce=debounce_ms,
        stop_event=stop_event,
        recursive=False,
        force_polling=force_polling,
    ):
        changed = {_resolved(raw) for change, raw in batch if change in wanted} & targets
        if changed:
            yield changed
