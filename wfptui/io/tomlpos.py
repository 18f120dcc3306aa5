"""Line and column of keys, values and array items in TOML source text.

``tomllib`` parses TOML but keeps no positions, and every loader must name
``file:line:col`` for each problem (spec §2, §3, §4). :class:`TomlLocator` scans the
same text once more with a small tolerant scanner and maps *key paths* to positions.

Key paths are tuples of ``str`` (table keys) and ``int`` (0-based array indexes), exactly
as in the dict tomllib returns: ``("filter", 2, "condition", 1, "value")`` is the key
``value`` of the second inline table in the ``condition`` array of the third
``[[filter]]``. Positions are 1-based ``(line, col)``, columns counted in characters, as
tomllib counts them in its own error messages.

- ``locator.key_pos(path)``: where the key's text starts (for an ``int`` step: where the
  array item starts; for an ``[[array.of.tables]]`` element: where its ``[[`` header
  starts), or None.
- ``locator.value_pos(path)``: where the value starts, or None.
- ``locator.locate(path)`` / ``locator.locate_value(path)``: as above, falling back to the
  nearest parent path that is known (so a missing key points at its table).
- ``locator.diagnostic(path, message, value=False)``: a :class:`Diagnostic` there.
- ``parse_toml(text, filename) -> (dict, TomlLocator)``: tomllib plus a locator;
  a ``TOMLDecodeError`` (including duplicate keys, "Cannot overwrite a value") becomes
  an :class:`InputError` naming ``file:line:col``.

Handled: ``[table]``, ``[[array.of.tables]]`` (nested, per parent element), dotted and
quoted keys, inline tables, arrays (multi-line, with comments), all four string forms,
comments. The scanner never raises; on text it does not understand it stops and keeps
what it found (tomllib has already judged validity).
"""

from __future__ import annotations

import bisect
import contextlib
import re
import threading
from typing import Any

import tomli as tomllib  # TOML 1.1: multi-line inline tables, as spec §4 writes them

from wfptui.io.errors import Diagnostic, InputError

PathStep = str | int
KeyPath = tuple[PathStep, ...]

_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\", "e": "\x1b"}


_BASIC_RE = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
_ESCAPE_RE = re.compile(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)", re.DOTALL)
_WS_RE = re.compile(r"[ \t]*")
_BARE_RE = re.compile(r"[A-Za-z0-9_-]+")
_SCALAR_RE = re.compile(r"[^,\]}#\r\n]+")


def _unescape(m: re.Match[str]) -> str:
    e = m.group(1)
    if e[0] in "uU" and len(e) > 1:
        try:
            return chr(int(e[1:], 16))
        except ValueError:
            return "?"
    return _ESCAPES.get(e, e)


class _Stop(Exception):
    """The scanner met text it does not understand."""


class TomlLocator:
    """Positions of keys and values in one TOML text (see the module docstring)."""

    def __init__(self, text: str, filename: str = "") -> None:
        self.text = text
        self.filename = filename
        self._line_starts: list[int] | None = None  # built at the first position asked for
        self._keys: dict[KeyPath, int] = {}
        self._values: dict[KeyPath, int] = {}
        self._aot: dict[KeyPath, int] = {}
        self._i = 0
        self._scanned = False  # the scan runs at the first query: valid files may need none
        self._lock = threading.Lock()  # a TUI worker thread may ask first

    def _ensure(self) -> None:
        if not self._scanned:
            with self._lock:
                if not self._scanned:
                    with contextlib.suppress(_Stop, IndexError, RecursionError):
                        self._scan()
                    self._scanned = True

    # ------------------------------------------------------------------ queries
    def pos(self, offset: int) -> tuple[int, int]:
        """1-based (line, col) of a character offset."""
        starts = self._line_starts
        if starts is None:  # a valid file never asks: not built at load
            starts = self._line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]
        line = bisect.bisect_right(starts, offset) - 1
        return line + 1, offset - starts[line] + 1

    def key_pos(self, path: KeyPath) -> tuple[int, int] | None:
        self._ensure()
        off = self._keys.get(tuple(path))
        return None if off is None else self.pos(off)

    def value_pos(self, path: KeyPath) -> tuple[int, int] | None:
        self._ensure()
        off = self._values.get(tuple(path))
        return None if off is None else self.pos(off)

    def locate(self, path: KeyPath) -> tuple[int, int]:
        """The key's position, or the nearest known parent's; (1, 1) for the root."""
        self._ensure()
        p = tuple(path)
        while p:
            off = self._keys.get(p)
            if off is not None:
                return self.pos(off)
            p = p[:-1]
        return (1, 1)

    def locate_value(self, path: KeyPath) -> tuple[int, int]:
        """The value's position, else the key's, else the nearest known parent's."""
        self._ensure()
        off = self._values.get(tuple(path))
        if off is not None:
            return self.pos(off)
        return self.locate(path)

    def diagnostic(self, path: KeyPath, message: str, *, value: bool = False) -> Diagnostic:
        line, col = self.locate_value(path) if value else self.locate(path)
        return Diagnostic(self.filename, line, col, message)

    def paths(self) -> list[KeyPath]:
        """Every key path found (for tests and tools)."""
        self._ensure()
        return list(self._keys)

    # ------------------------------------------------------------------ scanner
    def _peek(self, n: int = 1) -> str:
        return self.text[self._i : self._i + n]

    def _skip_ws(self) -> None:
        m = _WS_RE.match(self.text, self._i)
        if m is not None:
            self._i = m.end()

    def _skip_comment(self) -> None:
        t = self.text
        if self._i < len(t) and t[self._i] == "#":
            while self._i < len(t) and t[self._i] != "\n":
                self._i += 1

    def _skip_ws_nl_comments(self) -> None:
        t = self.text
        while self._i < len(t):
            c = t[self._i]
            if c in " \t\r\n":
                self._i += 1
            elif c == "#":
                self._skip_comment()
            else:
                return

    def _skip_to_eol(self) -> None:
        t = self.text
        while self._i < len(t) and t[self._i] != "\n":
            self._i += 1

    def _scan(self) -> None:
        t = self.text
        prefix: KeyPath = ()
        while self._i < len(t):
            self._skip_ws_nl_comments()
            if self._i >= len(t):
                return
            start = self._i
            if t.startswith("[[", self._i):
                self._i += 2
                segs = self._key()
                self._skip_ws()
                if not t.startswith("]]", self._i):
                    raise _Stop
                self._i += 2
                prefix = self._header(segs, start, array=True)
            elif t[self._i] == "[":
                self._i += 1
                segs = self._key()
                self._skip_ws()
                if t[self._i : self._i + 1] != "]":
                    raise _Stop
                self._i += 1
                prefix = self._header(segs, start, array=False)
            else:
                self._keyval(prefix)
            self._skip_ws()
            self._skip_comment()
            if self._i < len(t) and t[self._i] not in "\r\n":
                raise _Stop

    def _header(self, segs: list[tuple[str, int]], start: int, *, array: bool) -> KeyPath:
        resolved: KeyPath = ()
        last = len(segs) - 1
        for n, (name, off) in enumerate(segs):
            resolved = (*resolved, name)
            self._keys.setdefault(resolved, off)
            if array and n == last:
                count = self._aot.get(resolved, 0)
                self._aot[resolved] = count + 1
                resolved = (*resolved, count)
                self._keys.setdefault(resolved, start)
            elif resolved in self._aot:
                resolved = (*resolved, self._aot[resolved] - 1)
        if not array:
            self._values.setdefault(resolved, start)
        return resolved

    def _keyval(self, prefix: KeyPath) -> None:
        segs = self._key()
        path = prefix
        for name, off in segs:
            path = (*path, name)
            self._keys.setdefault(path, off)
        self._skip_ws()
        if self._peek() != "=":
            raise _Stop
        self._i += 1
        self._skip_ws()
        self._value(path)

    def _key(self) -> list[tuple[str, int]]:
        t = self.text
        segs: list[tuple[str, int]] = []
        while True:
            self._skip_ws()
            off = self._i
            c = self._peek()
            if c == '"':
                name = self._basic_string()
            elif c == "'":
                name = self._literal_string()
            else:
                m = _BARE_RE.match(t, self._i)
                if m is None:
                    raise _Stop
                name = m.group(0)
                self._i = m.end()
            segs.append((name, off))
            self._skip_ws()
            if self._peek() == ".":
                self._i += 1
                continue
            return segs

    def _basic_string(self) -> str:
        m = _BASIC_RE.match(self.text, self._i)
        if m is None:
            raise _Stop
        self._i = m.end()
        body = m.group(1)
        if "\\" not in body:
            return body
        return _ESCAPE_RE.sub(_unescape, body)

    def _literal_string(self) -> str:
        t = self.text
        end = t.find("'", self._i + 1)
        nl = t.find("\n", self._i + 1)
        if end < 0 or (0 <= nl < end):
            raise _Stop
        s = t[self._i + 1 : end]
        self._i = end + 1
        return s

    def _ml_string(self, quote: str) -> None:
        t = self.text
        self._i += 3
        while self._i < len(t):
            c = t[self._i]
            if quote == '"' and c == "\\":
                self._i += 2
                continue
            if c == quote:
                n = 0
                while self._i + n < len(t) and t[self._i + n] == quote:
                    n += 1
                self._i += n
                if n >= 3:
                    return
                continue
            self._i += 1
        raise _Stop

    def _value(self, path: KeyPath, depth: int = 0) -> None:
        if depth > 200:
            raise _Stop
        t = self.text
        self._values.setdefault(path, self._i)
        c = self._peek()
        if t.startswith('"""', self._i):
            self._ml_string('"')
        elif t.startswith("'''", self._i):
            self._ml_string("'")
        elif c == '"':
            self._basic_string()
        elif c == "'":
            self._literal_string()
        elif c == "[":
            self._i += 1
            idx = 0
            while True:
                self._skip_ws_nl_comments()
                if self._peek() == "]":
                    self._i += 1
                    return
                if self._i >= len(t):
                    raise _Stop
                item = (*path, idx)
                self._keys.setdefault(item, self._i)
                self._value(item, depth + 1)
                idx += 1
                self._skip_ws_nl_comments()
                if self._peek() == ",":
                    self._i += 1
                elif self._peek() != "]":
                    raise _Stop
        elif c == "{":
            self._i += 1
            while True:
                self._skip_ws_nl_comments()
                if self._peek() == "}":
                    self._i += 1
                    return
                if self._i >= len(t):
                    raise _Stop
                segs = self._key()
                sub = path
                for name, off in segs:
                    sub = (*sub, name)
                    self._keys.setdefault(sub, off)
                self._skip_ws()
                if self._peek() != "=":
                    raise _Stop
                self._i += 1
                self._skip_ws()
                self._value(sub, depth + 1)
                self._skip_ws_nl_comments()
                if self._peek() == ",":
                    self._i += 1
                elif self._peek() != "}":
                    raise _Stop
        else:
            m = _SCALAR_RE.match(t, self._i)
            if m is None:
                raise _Stop
            self._i = m.end()


_AT_RE = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_END_RE = re.compile(r"\s*\(at end of document\)\s*$")


def decode_error_diagnostic(exc: tomllib.TOMLDecodeError, text: str, filename: str) -> Diagnostic:
    """A tomllib error as ``file:line:col: message`` (tomllib puts the place in the text)."""
    msg = str(exc.args[0]) if exc.args else str(exc)
    line = getattr(exc, "lineno", 0) or 0
    col = getattr(exc, "colno", 0) or 0
    m = _AT_RE.search(msg)
    if m:
        line, col = int(m.group(1)), int(m.group(2))
        msg = msg[: m.start()]
    else:
        m2 = _END_RE.search(msg)
        if m2:
            msg = msg[: m2.start()]
            lines = text.split("\n")
            line, col = len(lines), len(lines[-1]) + 1
    if msg.startswith("Cannot overwrite a value") or msg.startswith("Cannot declare"):
        msg = f"duplicate key: {msg[0].lower()}{msg[1:]}"
    else:
        msg = f"invalid TOML: {msg[0].lower()}{msg[1:]}" if msg else "invalid TOML"
    return Diagnostic(filename, line, col, msg)


def parse_toml(text: str, filename: str) -> tuple[dict[str, Any], TomlLocator]:
    """Parse TOML text; errors become an InputError naming file:line:col."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError([decode_error_diagnostic(exc, text, filename)]) from None
    except ValueError:  # an integer beyond Python's int_max_str_digits (issue 12)
        m = re.search(r"[0-9_]{4300,}", text)
        start = m.start() if m else 0
        line = text.count("\n", 0, start) + 1
        col = start - (text.rfind("\n", 0, start) + 1) + 1
        raise InputError([Diagnostic(filename, line, col, "invalid TOML: a number of more than 4300 digits")]) from None
    except RecursionError:  # inline arrays/tables nested hundreds deep (issue 12)
        line, col = _deepest_place(text)
        raise InputError([Diagnostic(filename, line, col, "invalid TOML: arrays or inline tables nested too "
                                                          "deeply")]) from None
    return doc, TomlLocator(text, filename)


def _deepest_place(text: str) -> tuple[int, int]:
    """1-based line and column of the first ``[``/``{`` past 100 levels of nesting (strings
    are not skipped: this only points at a place for the message)."""
    depth = 0
    line, col = 1, 0
    for ch in text:
        col += 1
        if ch == "\n":
            line, col = line + 1, 0
        elif ch in "[{":
            depth += 1
            if depth > 100:
                return line, col
        elif ch in "]}":
            depth = max(depth - 1, 0)
    return 1, 1
