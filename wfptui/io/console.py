"""Output that never fails on a Windows console or redirect (spec §8), set up in one place.

A Windows console or a redirect (``wfptui run S.toml > o.txt``) may encode in cp1252,
cp437 or cp850, which lack our symbols (``✓ ✗ → ∅``, box drawing). :func:`setup_console`
(called first thing by ``wfptui.cli.main``) makes standard output and error encode with the
``wfptui-ascii`` error handler: a character the encoding lacks becomes its ASCII stand-in
from :data:`ASCII_STAND_INS`, anything else (a user's string in another script) ``?``.
The encoding itself is left as Python chose it (``PYTHONIOENCODING``, the console's code
page), so the output always decodes in that codec.
"""

from __future__ import annotations

import codecs
import io
import sys

ERRORS = "wfptui-ascii"

#: Our own symbols -> ASCII, used only where the output encoding lacks the symbol.
ASCII_STAND_INS: dict[str, str] = {
    "✓": "+", "✗": "x", "✔": "+", "✘": "x", "·": ".", "•": "*", "→": "->", "←": "<-", "↔": "<->",
    "⇒": "=>", "∅": "-", "…": "...", "—": "-", "–": "-", "×": "x", "≥": ">=", "≤": "<=", "≠": "!=",
    "▶": ">", "◀": "<", "▲": "^", "▼": "v", "█": "#", "▓": "#", "▒": ":", "░": ".", "µ": "u",
    "─": "-", "━": "-", "│": "|", "┃": "|", "┌": "+", "┐": "+", "└": "+", "┘": "+", "├": "+", "┤": "+",
    "┬": "+", "┴": "+", "┼": "+", "═": "=", "║": "|", "╔": "+", "╗": "+", "╚": "+", "╝": "+",
    "“": '"', "”": '"', "‘": "'", "’": "'",
}


def _stand_in(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    text = exc.object[exc.start:exc.end]
    return "".join(ASCII_STAND_INS.get(ch, "?") for ch in text), exc.end


def setup_console() -> None:
    """Make ``sys.stdout`` and ``sys.stderr`` fall back to ASCII stand-ins instead of raising
    UnicodeEncodeError (idempotent; streams that are not text files are left alone)."""
    try:
        codecs.lookup_error(ERRORS)
    except LookupError:
        codecs.register_error(ERRORS, _stand_in)
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors=ERRORS)
