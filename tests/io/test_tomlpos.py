"""io.tomlpos: key paths → line:col in TOML text, and tomllib errors as diagnostics."""

from __future__ import annotations

import random
import re
import tomllib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wfptui.io.errors import Diagnostic, InputError
from wfptui.io.tomlpos import TomlLocator, parse_toml

SAMPLE = """\
# a policy
name = "x"  # trailing comment
[[filter]]
key = "a"
condition = [
  { field = "IP_LOCAL_PORT", match = "equal", value = 445 },  # c
  { field = 'X', "match" = "range", value = [1, 2] },
]
[[filter]]
key = \"\"\"
multi\"\"\"
a.b . "c d" = 1
[[host]]
[host.policy]
[[host.policy.filter]]
key = "z"
[[host]]
[[host.policy.filter]]
x = 1
"""


def test_sample_positions() -> None:
    loc = TomlLocator(SAMPLE, "f.toml")
    assert loc.key_pos(("name",)) == (2, 1)
    assert loc.value_pos(("name",)) == (2, 8)
    assert loc.key_pos(("filter", 0)) == (3, 1)
    assert loc.key_pos(("filter", 0, "condition", 1)) == (7, 3)
    assert loc.key_pos(("filter", 0, "condition", 1, "match")) == (7, 18)
    assert loc.value_pos(("filter", 0, "condition", 0, "value")) == (6, 55)
    assert loc.key_pos(("filter", 0, "condition", 1, "value", 1)) == (7, 49)
    assert loc.key_pos(("filter", 1)) == (9, 1)
    assert loc.key_pos(("filter", 1, "a", "b", "c d")) == (12, 7)
    assert loc.key_pos(("host", 0, "policy", "filter", 0, "key")) == (16, 1)
    assert loc.key_pos(("host", 1, "policy", "filter", 0, "x")) == (19, 1)


def test_unknown_path_falls_back_to_parent() -> None:
    loc = TomlLocator(SAMPLE)
    assert loc.key_pos(("filter", 1, "nope")) is None
    assert loc.locate(("filter", 1, "nope")) == (9, 1)
    assert loc.locate(("nope",)) == (1, 1)
    assert loc.locate_value(("filter", 0, "condition", 0, "nope")) == (6, 3)


def test_diagnostic() -> None:
    loc = TomlLocator(SAMPLE, "f.toml")
    d = loc.diagnostic(("filter", 0, "key"), "bad key", value=True)
    assert str(d) == "f.toml:4:7: bad key"


def test_crlf_and_tabs() -> None:
    text = "a = 1\r\n[t]\r\n\tb = 'x'\r\n"
    loc = TomlLocator(text)
    assert loc.key_pos(("t", "b")) == (3, 2)
    assert loc.value_pos(("t", "b")) == (3, 6)


def test_decode_error_names_place() -> None:
    with pytest.raises(InputError) as ei:
        parse_toml('a = 1\nb = "unterminated\n', "x.toml")
    d = ei.value.diagnostics[0]
    assert (d.file, d.line) == ("x.toml", 2)
    assert d.col > 0 and "invalid TOML" in d.message
    assert re.match(r"x\.toml:2:\d+: ", str(ei.value))


def test_duplicate_key_names_place() -> None:
    with pytest.raises(InputError) as ei:
        parse_toml("[[filter]]\nkey = 'a'\nkey = 'b'\n", "p.toml")
    d = ei.value.diagnostics[0]
    assert (d.line, d.col) == (3, 10) or d.line == 3
    assert "duplicate key" in d.message
    assert str(d).startswith("p.toml:3:")


def test_end_of_document_error() -> None:
    with pytest.raises(InputError) as ei:
        parse_toml("a = [1,\n", "e.toml")
    assert ei.value.diagnostics[0].line >= 1


def test_diagnostic_str_omits_zero() -> None:
    assert str(Diagnostic("f", 0, 0, "m")) == "f: m"
    assert str(Diagnostic("f", 3, 0, "m")) == "f:3: m"
    assert str(Diagnostic("f", 3, 4, "m")) == "f:3:4: m"
    assert str(InputError([Diagnostic("f", 1, 2, "a"), Diagnostic("f", 3, 4, "b")])) == "f:1:2: a\nf:3:4: b"


# ----------------------------------------------------------------------------- property test
# Random nested data, serialised here in random TOML styles; every leaf key must be
# located where its text is written, and every array item where it starts.

_KEY_CHARS = "abcXYZ019_- .#'\"="
_keys = st.text(alphabet=_KEY_CHARS, min_size=1, max_size=6)
_scalars = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.booleans(),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12),
)


def _tables(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.dictionaries(_keys, children, max_size=4)


_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), _tables(inner)),
    max_leaves=12,
)
_docs = st.dictionaries(
    _keys,
    st.one_of(_values, st.lists(_tables(_values), min_size=1, max_size=3)),
    max_size=5,
)


def _enc_key(k: str, rnd: random.Random) -> str:
    if re.fullmatch(r"[A-Za-z0-9_-]+", k) and rnd.random() < 0.7:
        return k
    if "'" not in k and rnd.random() < 0.5:
        return f"'{k}'"
    return _basic(k)


def _basic(s: str) -> str:
    out = []
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


class _Writer:
    """Writes TOML into one buffer, remembering the offset of every key and array item."""

    def __init__(self, rnd: random.Random) -> None:
        self.rnd = rnd
        self.buf: list[str] = []
        self.size = 0
        self.expect: list[tuple[tuple[Any, ...], str, int]] = []  # path, text, offset

    def put(self, text: str) -> None:
        self.buf.append(text)
        self.size += len(text)

    def mark(self, path: tuple[Any, ...], text: str) -> None:
        self.expect.append((path, text, self.size))

    def string(self, v: str) -> None:
        r = self.rnd.random()
        simple = v.isprintable() and "\n" not in v and "\r" not in v
        if simple and "'" not in v and r < 0.3:
            self.put(f"'{v}'")
        elif simple and "'" not in v and r < 0.45:
            self.put(f"'''{v}'''")
        elif r < 0.6 and "\r" not in v and "\\" not in v:
            body = _basic(v)[1:-1].replace("\\n", "\n")
            # a newline right after the opening quotes is trimmed by TOML
            self.put('"""\n' + body + '"""')
        else:
            self.put(_basic(v))

    def value(self, v: Any, path: tuple[Any, ...]) -> None:
        if isinstance(v, bool):
            self.put("true" if v else "false")
        elif isinstance(v, int):
            self.put(hex(v) if v >= 0 and self.rnd.random() < 0.2 else str(v))
        elif isinstance(v, str):
            self.string(v)
        elif isinstance(v, list):
            multi = self.rnd.random() < 0.4
            self.put("[")
            for i, item in enumerate(v):
                if multi:
                    self.put("\n    ")
                    if self.rnd.random() < 0.3:
                        self.put("# item\n    ")
                self.mark((*path, i), "")
                self.value(item, (*path, i))
                last = i == len(v) - 1
                if not last:
                    self.put(",  # c" if multi and self.rnd.random() < 0.3 else ",")
                elif multi and self.rnd.random() < 0.5:
                    self.put(",")
            if multi:
                self.put("\n")
            self.put("]")
        elif isinstance(v, dict):
            self.put("{ ")
            for i, (k, item) in enumerate(v.items()):
                if i:
                    self.put(", ")
                ek = _enc_key(k, self.rnd)
                self.mark((*path, k), ek)
                self.put(f"{ek} = ")
                self.value(item, (*path, k))
            self.put(" }")

    def keyval(self, prefix: tuple[Any, ...], k: str, v: Any) -> None:
        self.put(self.rnd.choice(["", "  ", "\t"]))
        ek = _enc_key(k, self.rnd)
        self.mark((*prefix, k), ek)
        self.put(f"{ek} = ")
        self.value(v, (*prefix, k))
        if self.rnd.random() < 0.3:
            self.put("  # note")
        self.put("\n")

    def table_body(self, d: dict[str, Any], prefix: tuple[Any, ...], header: str) -> None:
        """Scalars and inline values first, then sub-tables as headers."""
        later: list[tuple[str, Any]] = []
        for k, v in d.items():
            as_header = isinstance(v, dict) and bool(v)
            as_header |= isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)
            if as_header and self.rnd.random() < 0.5:
                later.append((k, v))
            else:
                self.keyval(prefix, k, v)
            if self.rnd.random() < 0.2:
                self.put("# comment line\n")
            if self.rnd.random() < 0.2:
                self.put("\n")
        for k, v in later:
            ek = _enc_key(k, self.rnd)
            name = f"{header}.{ek}" if header else ek
            if isinstance(v, dict):
                self.put(f"[{name}]\n")
                self.table_body(v, (*prefix, k), name)
            else:
                for i, item in enumerate(v):
                    self.mark((*prefix, k, i), "[[")
                    self.put(f"[[{name}]]\n")
                    self.table_body(item, (*prefix, k, i), name)


@given(_docs, st.randoms(use_true_random=False))
def test_random_documents_locate_every_key(doc: dict[str, Any], rnd: random.Random) -> None:
    w = _Writer(rnd)
    w.table_body(doc, (), "")
    text = "".join(w.buf)
    assert tomllib.loads(text) == doc  # the serializer is right
    loc = TomlLocator(text)
    for path, key_text, offset in w.expect:
        got = loc.key_pos(path)
        assert got == loc.pos(offset), (path, got, loc.pos(offset), text)
        assert text[offset:].startswith(key_text)
        line, col = got
        assert text.split("\n")[line - 1][col - 1 :].startswith(key_text)


@given(st.text(max_size=200))
def test_locator_never_raises(text: str) -> None:
    loc = TomlLocator(text)
    loc.locate(("a", 0, "b"))
    try:
        parse_toml(text, "r.toml")
    except InputError as exc:
        assert exc.diagnostics[0].file == "r.toml"
