"""The start-up code cache (wfptui.codecache): every entry is exactly what the uncached
path builds, a cached class behaves as an uncached one, the table covers wfptui's own
dataclasses and patterns, and nothing is cached on an interpreter the table does not fit."""

from __future__ import annotations

import dataclasses
import os
import re
import re._compiler as re_compiler
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wfptui import _codecache_table as table
from wfptui import codecache

ROOT = Path(__file__).resolve().parent.parent
RUNTIME = codecache.runtime_key()
FITS = RUNTIME == table.RUNTIME
needs_fit = pytest.mark.skipif(not FITS, reason="the table was made with another Python: `make codecache`")
# Each half on its own: this Python's re, or its dataclasses, may be the table's while the other is not.
needs_re_fit = pytest.mark.skipif(RUNTIME["re"] != table.RUNTIME["re"], reason="another Python's re")
needs_dataclass_fit = pytest.mark.skipif(RUNTIME["dataclass"] != table.RUNTIME["dataclass"],
                                         reason="another Python's dataclasses")


@pytest.fixture(autouse=True)
def _uncached() -> Iterator[None]:
    codecache.uninstall()
    yield
    codecache.uninstall()


def _same_code(a: types.CodeType, b: types.CodeType) -> None:
    """Equal bytecode, names and constants (nested code too); file and lines may differ."""
    for attr in ("co_code", "co_names", "co_varnames", "co_freevars", "co_cellvars", "co_argcount",
                 "co_kwonlyargcount", "co_posonlyargcount", "co_flags", "co_name"):
        assert getattr(a, attr) == getattr(b, attr), attr
    assert len(a.co_consts) == len(b.co_consts)
    for x, y in zip(a.co_consts, b.co_consts, strict=True):
        if isinstance(x, types.CodeType):
            _same_code(x, y)
        else:
            assert type(x) is type(y) and x == y


def _factory_code(text: str, filename: str = "<string>") -> types.CodeType:
    # dont_inherit: dataclasses' exec runs without this file's `from __future__ import annotations`
    module = compile(text, filename, "exec", dont_inherit=True)
    return next(c for c in module.co_consts if isinstance(c, types.CodeType))


@needs_dataclass_fit
def test_every_dataclass_entry_is_its_text_compiled() -> None:
    assert len(table.DATACLASS) > 300
    for text, code in table.DATACLASS.items():
        _same_code(code, _factory_code(text))


@needs_re_fit
def test_every_pattern_entry_is_what_re_compiles() -> None:
    assert len(table.REGEX) > 50
    sre_compile = re_compiler._sre.compile  # type: ignore[attr-defined]
    for (kind, pattern, flags), (final, code, groups, groupindex, indexgroup) in table.REGEX.items():
        assert type(pattern) is kind
        fresh = re_compiler.compile(pattern, flags)
        cached = sre_compile(pattern, final, list(code), groups, dict(groupindex), indexgroup)
        assert cached == fresh  # Pattern equality: pattern, flags and the compiled code
        assert (cached.groups, cached.groupindex) == (fresh.groups, fresh.groupindex)


def _recorded_texts(build: Any) -> list[str]:
    """The source texts dataclasses execs while ``build()`` runs."""
    texts: list[str] = []
    original = dataclasses._create_fn  # type: ignore[attr-defined]

    def recorder(name: str, args: list[str], body: list[str], **kw: Any) -> Any:
        has_return = kw.get("return_type", dataclasses.MISSING) is not dataclasses.MISSING
        texts.append(codecache.fn_text(name, args, body, kw.get("locals") or (), has_return))
        return original(name, args, body, **kw)

    dataclasses._create_fn = recorder  # type: ignore[attr-defined]
    try:
        build()
    finally:
        dataclasses._create_fn = original  # type: ignore[attr-defined]
    return texts


def _make(flags: dict[str, bool], fields: list[tuple[str, int | None]]) -> type:
    namespace: dict[str, Any] = {"__annotations__": {name: "int" for name, _ in fields},
                                 "__module__": __name__}
    for name, default in fields:
        if default is not None:
            namespace[name] = default
    return dataclasses.dataclass(**flags)(type("Rec", (), namespace))  # type: ignore[call-overload,no-any-return]


names = st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), unique=True, max_size=4)
defaults = st.lists(st.one_of(st.none(), st.integers(-3, 3)), min_size=4, max_size=4)
flag_sets = st.fixed_dictionaries({"frozen": st.booleans(), "slots": st.booleans(), "eq": st.booleans(),
                                   "order": st.booleans(), "kw_only": st.booleans()})


@needs_dataclass_fit
@given(names, defaults, flag_sets)
@settings(max_examples=60, deadline=None)
def test_a_cached_class_is_the_uncached_class(field_names: list[str], dflt: list[int | None],
                                              flags: dict[str, bool]) -> None:
    if flags["order"] and not flags["eq"]:
        return  # dataclasses refuses it either way
    # defaults only at the end (else dataclasses refuses), unless keyword-only
    fields: list[tuple[str, int | None]] = []
    seen_default = False
    for name, d in zip(field_names, dflt, strict=False):
        if seen_default and d is None and not flags["kw_only"]:
            d = 0
        seen_default = seen_default or d is not None
        fields.append((name, d))
    plain = _make(flags, fields)
    texts = _recorded_texts(lambda: _make(flags, fields))
    # this interpreter's key; entries compiled under a marker file name to see them used
    fake = types.SimpleNamespace(RUNTIME=codecache.runtime_key(), REGEX={},
                                 DATACLASS={t: _factory_code(t, "<cached>") for t in texts})
    assert codecache.install(fake)
    cached = _make(flags, fields)
    codecache.uninstall()
    assert cached.__init__.__code__.co_filename == "<cached>"  # type: ignore[misc]
    assert plain.__init__.__code__.co_filename == "<string>"  # type: ignore[misc]
    kwargs = {name: i + 10 for i, (name, d) in enumerate(fields) if d is None}
    for other in ({}, {name: 99 for name, _ in fields}):
        args = {**kwargs, **other}
        p, c = plain(**args), cached(**args)
        assert repr(p) == repr(c)
        assert dataclasses.astuple(p) == dataclasses.astuple(c)
        if flags["eq"]:
            assert c == cached(**args) and (c != cached(**kwargs)) == (p != plain(**kwargs))
        if flags["frozen"] and fields:
            with pytest.raises(dataclasses.FrozenInstanceError):
                setattr(c, fields[0][0], 1)
            assert hash(p) == hash(c) or not flags["eq"]
        if flags["order"]:
            assert (c < cached(**kwargs)) == (p < plain(**kwargs))
        assert dataclasses.replace(c, **other) == c or not flags["eq"] or not other


def test_a_pattern_not_in_the_table_compiles_as_usual() -> None:
    fake = types.SimpleNamespace(RUNTIME=codecache.runtime_key(), DATACLASS={},
                                 REGEX={(str, "a+b", 0): (32, (1, 2), 0, {}, (None,))})
    assert codecache.install(fake)
    try:
        assert re_compiler.compile("x(y)z", 0).groups == 1  # a miss: re's own compiler
        with pytest.raises(re.error):
            re_compiler.compile("(unclosed", 0)
    finally:
        codecache.uninstall()


@needs_fit
def test_cached_patterns_match_as_usual() -> None:
    assert codecache.install(table)
    try:
        for (_kind, pattern, flags) in list(table.REGEX)[:40]:
            cached = re_compiler.compile(pattern, flags)
            codecache.uninstall()
            assert cached == re_compiler.compile(pattern, flags)
            assert codecache.install(table)
    finally:
        codecache.uninstall()


def test_nothing_is_cached_where_the_table_does_not_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    def hooks() -> tuple[object, object]:  # (3.13 has no dataclasses._create_fn: None there)
        return getattr(dataclasses, "_create_fn", None), re_compiler.compile

    before = hooks()
    other = types.SimpleNamespace(RUNTIME={"re": {"python": (2, 7)}, "dataclass": {"python": (2, 7)}},
                                  DATACLASS=table.DATACLASS, REGEX=table.REGEX)
    assert codecache.install(other) is False
    assert hooks() == before
    monkeypatch.setenv(codecache.DISABLE_ENV, "1")
    assert codecache.install(table) is False
    assert hooks() == before


def test_the_table_is_used_only_from_bytecode(tmp_path: Path) -> None:
    assert not codecache._table_compiled(str(tmp_path))
    (tmp_path / "_codecache_table.py").write_text("RUNTIME = {}\n")
    assert not codecache._table_compiled(str(tmp_path))
    pyc = tmp_path / "__pycache__" / f"_codecache_table.{sys.implementation.cache_tag}.pyc"
    pyc.parent.mkdir()
    pyc.write_bytes(b"")
    os.utime(tmp_path / "_codecache_table.py", (1_000_000, 1_000_000))
    assert codecache._table_compiled(str(tmp_path))
    os.utime(pyc, (0, 0))  # older than its source: stale
    assert not codecache._table_compiled(str(tmp_path))


@needs_fit
def test_the_table_covers_wfptuis_own_start_up() -> None:
    """`tools/gen_codecache.py --check` starts the TUI and imports every module: wfptui's
    own dataclass methods and patterns must all be in the table (else: `make codecache`)."""
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_codecache.py"), "--check"],
                         capture_output=True, text=True, timeout=300, cwd=ROOT, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
