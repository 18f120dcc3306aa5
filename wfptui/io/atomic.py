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
``.<name>.<random>.tmp`` and is removed if anything fails before the rename. The
target's permission bits are kept when it already exists.

Watchers (the TUI's live reload) see one create/move event for the target and never a
half-written file.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_write_bytes", "atomic_write_text", "atomic_writer", "fsync_dir"]

PathLike = str | os.PathLike[str]


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
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
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
