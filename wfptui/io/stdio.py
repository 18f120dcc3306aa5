"""``-`` for standard input and output, and output paths that are safe to write (spec §8).

* :func:`read_input`: the bytes of an input file; ``-`` reads standard input (binary).
* :func:`check_output`: before any work, an output path that cannot be written (a
  missing folder, a folder, ...) or that names one of the command's own input files is
  bad input (InputError, exit 2). Only ``replay --update`` writes over its input, and it
  does not call this.
* :func:`write_output`: write bytes atomically (``io.atomic``), or to standard output for
  ``-`` (binary: a recording on stdout is msgpack bytes, not text); OSError → InputError.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable

from wfptui.io.errors import Diagnostic, InputError

STDIO = "-"
#: How standard input is named in messages.
STDIN_NAME = "<stdin>"


def display_name(name: str) -> str:
    """The name to print for an input argument (``-`` → ``<stdin>``)."""
    return STDIN_NAME if name == STDIO else name


def read_input(name: str, what: str = "file") -> bytes:
    """The bytes of input ``name`` (``-`` = standard input); unreadable → InputError."""
    if name == STDIO:
        return sys.stdin.buffer.read()
    try:
        with open(name, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise InputError([Diagnostic(name, 0, 0, f"cannot read {what}: {exc.strerror or exc}")]) from None


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
