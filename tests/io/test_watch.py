"""io.watch: folder watch + exact-path filter survives write-and-rename saves."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from wfptui.io.watch import watch_files


async def _collect(paths: list[Path], actions: list[tuple[str, Path, str]], expect: int,
                   wait: float = 3) -> list[set[Path]]:
    """Run the watcher, perform ``actions`` one batch at a time, return the batches seen
    (waiting at most ``wait`` seconds after the last action for ``expect`` batches)."""
    stop = asyncio.Event()
    seen: list[set[Path]] = []

    async def consume() -> None:
        async for changed in watch_files(paths, step_ms=20, debounce_ms=200, stop_event=stop):
            seen.append(changed)
            if len(seen) >= expect:
                stop.set()

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.3)  # the watch is up
    for kind, path, text in actions:
        if kind == "replace":
            tmp = path.with_name(f".{path.name}.tmp-save")
            tmp.write_text(text)
            os.replace(tmp, path)
        elif kind == "write":
            path.write_text(text)
        elif kind == "delete":
            path.unlink()
        await asyncio.sleep(0.3)
    try:
        await asyncio.wait_for(task, timeout=wait)
    except TimeoutError:
        stop.set()
        task.cancel()
    return seen


async def test_every_rename_save_is_seen(tmp_path: Path) -> None:
    target = tmp_path / "policy.toml"
    target.write_text("a")
    seen = await _collect([target], [("replace", target, "b"), ("replace", target, "c"),
                                     ("replace", target, "d")], expect=3)
    assert seen == [{target.resolve()}] * 3


async def test_in_place_write_is_seen_and_other_files_are_not(tmp_path: Path) -> None:
    target = tmp_path / "policy.toml"
    other = tmp_path / "other.toml"
    target.write_text("a")
    other.write_text("a")
    seen = await _collect([target], [("write", other, "x"), ("write", target, "b")], expect=1)
    assert seen == [{target.resolve()}]


async def test_delete_alone_is_not_a_change(tmp_path: Path) -> None:
    target = tmp_path / "policy.toml"
    target.write_text("a")
    # Nothing may come: 0.3 s after the delete plus 1 s is 6 debounce windows (200 ms) and
    # 65 polling steps; waiting the full 3 s for a batch that must not exist only costs time.
    seen = await _collect([target], [("delete", target, "")], expect=1, wait=1)
    assert seen == []


async def test_files_in_two_folders(tmp_path: Path) -> None:
    a_dir, b_dir = tmp_path / "a", tmp_path / "b"
    a_dir.mkdir()
    b_dir.mkdir()
    a, b = a_dir / "client.toml", b_dir / "server.toml"
    a.write_text("1")
    b.write_text("1")
    seen = await _collect([a, b], [("replace", b, "2"), ("replace", a, "2")], expect=2)
    assert seen == [{b.resolve()}, {a.resolve()}]


async def test_no_paths_yields_nothing() -> None:
    assert [c async for c in watch_files([])] == []
