"""Atomic file saves: a crash at any moment leaves either the old file or the new one, whole.

Every file wfptui writes for the user (recordings, policy files saved from the editor,
exports) goes through here::

    atomic_write_bytes(path, data)
    atomic_write_text(path, text)
    with atomic_writer(path) as f:      # streaming: f is a binary file object
        f.write(chunk)

How: the data goes to a temporary file *in the same folder* (so the final rename
never crosses a file system), which is flushed and ``fsync``-ed, then
``os.replace``-d over the target (atomic on POSIX and on Windows/NTFS), then the folder
is ``fsync``-ed so the rename itself survives a power cut. The temporary file is named
``.<name>.wfptui-<pid>.<random>.tmp`` and is removed if anything fails before the rename.
The target's permission bits are kept when it already exists.

A save that was killed leaves its temporary file behind; the next save to the same folder
removes such orphans: names of that pattern older than :data:`ORPHAN_AGE` seconds whose
writer process no longer exists (issue 12).

Watchers (the TUI's live reload) see one create/move event for the target and never a
half-written file.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_write_bytes", "atomic_write_text", "atomic_writer", "fsync_dir", "remove_orphans"]

PathLike = str | os.PathLike[str]


#: A temporary file older than this (seconds) whose writer is gone is an orphan.
ORPHAN_AGE = 3600.0
_TMP_RE = re.compile(r"^\..+\.wfptui-(\d+)\.[^.]+\.tmp$")


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (unsure → True, so nothing is removed wrongly)."""
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: it exists, owned by someone else
        return True
    return True


def remove_orphans(folder: PathLike, now: float | None = None) -> list[str]:
    """Remove orphaned temporary files of killed saves in ``folder``; the names removed."""
    removed: list[str] = []
    t = time.time() if now is None else now
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for e in entries:
        m = _TMP_RE.match(e.name)
        if m is None:
            continue
        try:
            st = e.stat(follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode) or t - st.st_mtime < ORPHAN_AGE or _pid_alive(int(m.group(1))):
                continue
            os.unlink(e.path)
            removed.append(e.name)
        except OSError:  # gone meanwhile, or not ours to remove
            continue
    return removed


def fsync_dir(folder: PathLike) -> None:
    """``fsync`` a folder so a rename inside it is durable (a no-op where unsupported)."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        fd = os.open(folder, flags)
    except OSError:  # Windows cannot open folders; NTFS renames are journaled anyway
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_writer(path: PathLike) -> Iterator[BinaryIO]:
    """Yield a binary file; on a clean exit it atomically replaces ``path``.

    If the ``with`` body raises, the temporary file is deleted and ``path`` is untouched.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    mode: int | None = None
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        mode = None
    remove_orphans(folder)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.wfptui-{os.getpid()}.", suffix=".tmp", dir=folder)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            with contextlib.suppress(OSError):
                os.chmod(tmp, mode)
        else:
            umask = os.umask(0)
            os.umask(umask)
            with contextlib.suppress(OSError):
                os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(folder)


def atomic_write_bytes(path: PathLike, data: bytes | bytearray | memoryview) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, fsync, rename)."""
    with atomic_writer(path) as f:
        f.write(data)


def atomic_write_text(path: PathLike, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically. Newlines are written as given (no translation)."""
    atomic_write_bytes(path, text.encode(encoding))
