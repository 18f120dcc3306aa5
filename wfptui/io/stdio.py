"""``-`` for standard input and output, and output paths that are safe to write (spec §8).

* :func:`read_input`: the bytes of an input file; ``-`` (or ``/dev/stdin``) reads standard
  input (binary). Every read is capped at :data:`MAX_INPUT_BYTES` and only regular files are
  opened, so ``/dev/zero``, a FIFO or a folder is bad input rather than a hang (issue 12).
* :func:`open_regular`: the same checks, for readers that read only a head of the file.
* :func:`check_output`: before any work, an output path that cannot be written (a
  missing folder, a folder, ...) or that names one of the command's own input files is
  bad input (InputError, exit 2). Only ``replay --update`` writes over its input, and it
  does not call this.
* :func:`write_output`: write bytes atomically (``io.atomic``), or to standard output for
  ``-`` (binary: a recording on stdout is msgpack bytes, not text); OSError → InputError.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterable
from typing import BinaryIO

from wfptui.io.errors import Diagnostic, InputError

STDIO = "-"
#: How standard input is named in messages.
STDIN_NAME = "<stdin>"


def display_name(name: str) -> str:
    """The name to print for an input argument (``-`` → ``<stdin>``)."""
    return STDIN_NAME if name == STDIO else name


#: The largest input read (bytes). The real Win11 netsh dump is ~1 MB as a policy file;
#: 256 MiB leaves room for large recordings while bounding memory.
MAX_INPUT_BYTES = 256 * 1024 * 1024

_STDIN_PATHS = frozenset([STDIO, "/dev/stdin"])


def is_stdin(name: str) -> bool:
    """Whether input argument ``name`` means standard input (``-`` or ``/dev/stdin``); such
    input has no folder of its own (relative paths in it are relative to the working folder)."""
    return name in _STDIN_PATHS


def _too_big(name: str, what: str, limit: int) -> InputError:
    return InputError([Diagnostic(display_name(name), 0, 0,
                                  f"{what} is larger than {limit} bytes; refused")])


def open_regular(name: str, what: str = "file") -> BinaryIO:
    """Open ``name`` for binary reading if it is a regular file; else InputError.

    Checked with ``stat`` *before* opening, because opening a FIFO blocks until a writer
    appears; checked again on the open descriptor (the path may have changed in between).
    The open itself is non-blocking where the platform has ``O_NONBLOCK``.
    """
    def refuse(reason: str) -> InputError:
        return InputError([Diagnostic(name, 0, 0, f"cannot read {what}: {reason}")])

    try:
        st = os.stat(name)
    except OSError as exc:
        raise refuse(str(exc.strerror or exc)) from None
    if stat.S_ISDIR(st.st_mode):
        raise refuse("is a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise refuse("not a regular file (a device, FIFO or socket); use `-` for standard input")
    try:
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise refuse(str(exc.strerror or exc)) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise refuse("not a regular file")
    return os.fdopen(fd, "rb")


def read_input(name: str, what: str = "file", limit: int | None = None) -> bytes:
    """The bytes of input ``name`` (``-`` or ``/dev/stdin`` = standard input), at most
    ``limit`` (default :data:`MAX_INPUT_BYTES`) bytes; unreadable, not a regular file or
    larger → InputError."""
    cap = MAX_INPUT_BYTES if limit is None else limit
    if name in _STDIN_PATHS:
        data = sys.stdin.buffer.read(cap + 1)
    else:
        try:
            with open_regular(name, what) as fh:
                data = fh.read(cap + 1)
        except OSError as exc:
            raise InputError([Diagnostic(name, 0, 0, f"cannot read {what}: {exc.strerror or exc}")]) from None
    if len(data) > cap:
        raise _too_big(name, what, cap)
    return data


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one does not exist (yet): compare the resolved paths
        return os.path.realpath(a) == os.path.realpath(b)


def check_output(path: str, inputs: Iterable[str | os.PathLike[str] | None] = (), option: str = "-o") -> None:
    """Raise InputError unless ``path`` (given with ``option``) can be written and is none
    of ``inputs``. ``-`` (standard output) is always fine."""
    if path == STDIO:
        return
    for inp in inputs:
        if inp is None or os.fspath(inp) == STDIO:
            continue
        if _same_file(path, os.fspath(inp)):
            raise InputError([Diagnostic(path, 0, 0, f"{option} would write over the input file "
                                                     f"{os.fspath(inp)}; choose another output path")])
    if os.path.isdir(path):
        raise InputError([Diagnostic(path, 0, 0, f"{option}: is a folder, not a file")])
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        raise InputError([Diagnostic(path, 0, 0, f"{option}: cannot write: folder {folder} does not exist")])
    if not os.access(folder, os.W_OK):
        raise InputError([Diagnostic(path, 0, 0, f"{option}: cannot write: folder {folder} is not writable")])


def write_output(path: str, data: bytes, option: str = "-o") -> None:
    """Write ``data`` to ``path`` atomically, or to standard output for ``-``."""
    if path == STDIO:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    from wfptui.io.atomic import atomic_write_bytes

    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise InputError([Diagnostic(path, 0, 0, f"{option}: cannot write: {exc.strerror or exc}")]) from None
