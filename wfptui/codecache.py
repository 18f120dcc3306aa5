"""Start-up code cache: dataclass methods and regular expressions compiled once, at build time.

Opening the TUI compiles ~380 small functions (every ``@dataclass`` in wfptui, Textual
and Rich gets its ``__init__``, ``__repr__``, ``__eq__``... from source text passed to
``exec``) and ~90 regular expressions (parsed and compiled in pure Python by ``re``).
On a 2-core machine that is ~110 ms of a ~600 ms start, every time, for the same
results. ``tools/gen_codecache.py`` records both once (``make codecache``) into
``wfptui/_codecache_table.py``, whose bytecode holds them compiled; :func:`install`
makes ``dataclasses`` and ``re`` look there first.

Exact by construction, never a guess:

- a dataclass method is looked up by the *whole source text* ``dataclasses`` builds for
  it, and the cached code object was compiled from that same text; anything not in the
  table (another Textual version, a changed class) is compiled as before;
- a regular expression is looked up by (type, pattern, flags) and rebuilt with
  ``_sre.compile`` from the code ``re``'s own compiler produced for it;
- :func:`install` does nothing unless the running Python is the one the table was made
  with: same minor version, same ``_sre.MAGIC`` and code size, and the same bytecode of
  ``re._compiler.compile`` (for patterns) and ``dataclasses._create_fn`` (for
  methods): 3.13's rewritten dataclasses, for one, simply run uncached.

``tests/test_codecache.py`` checks that every entry equals what the uncached path
builds, and that the table covers wfptui's own dataclasses and patterns.
Only the command line installs it (``wfptui.cli``); importing wfptui as a library
changes nothing.
"""

from __future__ import annotations

import os
import sys
import types
import zlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

#: set (to anything) to run without the cache, as ``tools/gen_codecache.py`` does
DISABLE_ENV = "WFPTUI_NO_CODECACHE"

#: (dataclasses._create_fn or None, re._compiler.compile or None) before install()
_originals: tuple[Callable[..., Any] | None, Callable[..., Any] | None] | None = None


def code_digest(fn: Callable[..., Any]) -> int:
    """A fingerprint of a function's bytecode and constants (the table is valid only for these)."""
    return _code_crc(fn.__code__, 0)


def _code_crc(code: types.CodeType, crc: int) -> int:
    crc = zlib.crc32(code.co_code, crc)
    for const in code.co_consts:  # nested code (a genexpr) by its own bytes: its repr has an address
        crc = _code_crc(const, crc) if isinstance(const, types.CodeType) else zlib.crc32(repr(const).encode(), crc)
    return crc


def fn_text(name: str, args: Iterable[str], body: Iterable[str], local_names: Iterable[str],
            has_return: bool) -> str:
    """The source text CPython 3.11's ``dataclasses._create_fn`` execs (same layout): its
    locals' names, plus ``_return_type`` when there is a return annotation."""
    local_names = list(local_names)
    if has_return and "_return_type" not in local_names:
        local_names.append("_return_type")
    annotation = "->_return_type" if has_return else ""
    inner = f" def {name}({','.join(args)}){annotation}:\n" + "\n".join(f"  {b}" for b in body)
    return f"def __create_fn__({', '.join(local_names)}):\n{inner}\n return {name}"


def _table_compiled(here: str = os.path.dirname(os.path.abspath(__file__))) -> bool:
    """Whether the table's bytecode is on disk and up to date (``make run`` writes it)."""
    source = os.path.join(here, "_codecache_table.py")
    compiled = os.path.join(here, "__pycache__", f"_codecache_table.{sys.implementation.cache_tag}.pyc")
    try:
        return os.stat(compiled).st_mtime >= os.stat(source).st_mtime
    except OSError:
        return False


def _re_key() -> dict[str, Any]:
    import _sre
    import re._compiler as re_compiler

    return {"python": tuple(sys.version_info[:2]), "sre_magic": _sre.MAGIC,
            "sre_codesize": _sre.CODESIZE, "re_compile": code_digest(re_compiler.compile)}


def _dataclass_key() -> dict[str, Any]:
    import dataclasses

    create_fn = getattr(dataclasses, "_create_fn", None)
    return {"python": tuple(sys.version_info[:2]),
            "create_fn": code_digest(create_fn) if callable(create_fn) else None}


def runtime_key() -> dict[str, Any]:
    """What the table depends on, for the running interpreter."""
    return {"re": _re_key(), "dataclass": _dataclass_key()}


def install(table: Any = None) -> bool:
    """Make ``re`` and ``dataclasses`` use the table, each only where it fits this
    interpreter; False when neither does (or the table is missing). Idempotent."""
    global _originals
    if _originals is not None:
        return True
    if os.environ.get(DISABLE_ENV):
        return False
    if table is None:
        if sys.dont_write_bytecode and not _table_compiled():
            return False  # compiling the table's source each start would cost more than it saves
        try:
            from wfptui import _codecache_table as table
        except ImportError:  # a checkout without the generated table: all compiled as usual
            return False
    runtime = getattr(table, "RUNTIME", None) or {}
    compile_re = _install_re(table.REGEX) if runtime.get("re") == _re_key() else None
    # after re's: importing dataclasses (inspect, tokenize...) compiles patterns too
    dataclass_key = _dataclass_key()
    fits = runtime.get("dataclass") == dataclass_key and dataclass_key["create_fn"] is not None
    create_fn = _install_dataclass(table.DATACLASS) if fits else None
    if create_fn is None and compile_re is None:
        return False
    _originals = (create_fn, compile_re)
    return True


def _install_re(patterns: Mapping[tuple[type, Any, int], tuple[Any, ...]]) -> Callable[..., Any]:
    import _sre
    import re._compiler as re_compiler

    compile_re: Callable[..., Any] = re_compiler.compile
    sre_compile = _sre.compile

    def cached_compile(p: Any, flags: int = 0) -> Any:
        entry = patterns.get((type(p), p, flags)) if isinstance(p, (str, bytes)) else None
        if entry is None:
            return compile_re(p, flags)
        final_flags, code, groups, groupindex, indexgroup = entry
        return sre_compile(p, final_flags, list(code), groups, dict(groupindex), indexgroup)

    re_compiler.compile = cached_compile
    return compile_re


def _install_dataclass(functions: Mapping[str, types.CodeType]) -> Callable[..., Any]:
    import dataclasses

    create_fn: Callable[..., Any] = dataclasses._create_fn  # type: ignore[attr-defined]
    missing = dataclasses.MISSING
    function_type = types.FunctionType

    def cached_create_fn(name: str, args: list[str], body: list[str], *,
                         globals: dict[str, Any] | None = None,  # noqa: A002 - dataclasses' own names
                         locals: dict[str, Any] | None = None,  # noqa: A002
                         return_type: Any = missing) -> Any:
        has_return = return_type is not missing
        code = functions.get(fn_text(name, args, body, locals or (), has_return))
        if code is None or globals is None or "__builtins__" not in globals:
            return create_fn(name, args, body, globals=globals, locals=locals, return_type=return_type)
        values = dict(locals or {})
        if has_return:
            values["_return_type"] = return_type
        return function_type(code, globals)(**values)

    dataclasses._create_fn = cached_create_fn  # type: ignore[attr-defined]
    return create_fn


def uninstall() -> None:
    """Put ``dataclasses`` and ``re`` back as they were (tests)."""
    global _originals
    if _originals is None:
        return
    create_fn, compile_re = _originals
    if create_fn is not None:
        import dataclasses

        dataclasses._create_fn = create_fn  # type: ignore[attr-defined]
    if compile_re is not None:
        import re._compiler as re_compiler

        re_compiler.compile = compile_re
    _originals = None


__all__ = ["DISABLE_ENV", "code_digest", "fn_text", "install", "runtime_key", "uninstall"]
