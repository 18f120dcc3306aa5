"""Record the start-up's dataclass methods and regular expressions into wfptui/_codecache_table.py.

    python tools/gen_codecache.py           # (re)write the table   (make codecache)
    python tools/gen_codecache.py --check   # exit 1 when wfptui's own entries are missing

It starts wfptui's TUI headless on the built-in scenario up to its first frame, and
imports every wfptui module, with ``dataclasses`` and ``re`` watched: each dataclass
method's source text (exactly what ``dataclasses`` passes to ``exec``) and each regular
expression's compiled code (exactly what ``re``'s compiler hands to ``_sre.compile``)
is written out. The table's bytecode then holds them compiled; see wfptui/codecache.py.
Run it again after changing a dataclass or a pattern on the start-up path, or with
another Python or Textual version (the tests say when wfptui's own entries are stale).
"""

from __future__ import annotations

import os
import sys

# Nothing may compile a dataclass or a pattern before the recorders are in place.
os.environ["WFPTUI_NO_CODECACHE"] = "1"  # wfptui.codecache.DISABLE_ENV

import dataclasses  # noqa: E402
import re._compiler as re_compiler  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "wfptui" / "_codecache_table.py"
sys.path.insert(0, str(ROOT))

from wfptui.codecache import fn_text, runtime_key  # noqa: E402

functions: dict[str, str] = {}  # source text -> defining module
patterns: dict[tuple[type, Any, int], tuple[Any, ...]] = {}
pattern_modules: dict[tuple[type, Any, int], str] = {}
_executed: list[str] = []


def _caller_module() -> str:
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if name not in ("dataclasses", "re", "re._compiler", "__main__", "functools", "enum") and \
                not name.startswith("importlib"):
            return str(name)
        frame = frame.f_back  # type: ignore[assignment]
    return "?"


def _record_exec(source: Any, globals_: Any = None, locals_: Any = None) -> None:
    _executed.append(source)
    exec(source, globals_, locals_)  # noqa: S102 - dataclasses' own exec, recorded


_create_fn = dataclasses._create_fn  # type: ignore[attr-defined]
RUNTIME = runtime_key()  # of the untouched interpreter, before the recorders go in


def recording_create_fn(name: str, args: list[str], body: list[str], *, globals: Any = None,  # noqa: A002
                        locals: Any = None, return_type: Any = dataclasses.MISSING) -> Any:  # noqa: A002
    text = fn_text(name, args, body, locals or (), return_type is not dataclasses.MISSING)
    del _executed[:]
    fn = _create_fn(name, args, body, globals=globals, locals=locals, return_type=return_type)
    if _executed != [text]:  # our text must be exactly what dataclasses exec'd
        raise SystemExit(f"dataclasses built other text than wfptui.codecache.fn_text:\n{_executed}\n{text}")
    functions.setdefault(text, _caller_module())
    return fn


_compile = re_compiler.compile
_sre = re_compiler._sre  # type: ignore[attr-defined]
_sre_args: list[tuple[Any, ...]] = []


class _SreRecorder:
    """``re._compiler``'s view of ``_sre``: records the arguments of ``compile``."""

    def __getattr__(self, name: str) -> Any:
        return getattr(_sre, name)

    @staticmethod
    def compile(*args: Any) -> Any:
        _sre_args.append(args)
        return _sre.compile(*args)


def recording_compile(p: Any, flags: int = 0) -> Any:
    del _sre_args[:]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compiled = _compile(p, flags)
    for w in caught:  # shown as usual; a pattern that warns is not cached (the cache would not warn)
        warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    if isinstance(p, (str, bytes)) and not caught and len(_sre_args) == 1:
        pattern, final_flags, code, groups, groupindex, indexgroup = _sre_args[0]
        if pattern is p:
            key = (type(p), p, flags)
            patterns[key] = (int(final_flags), tuple(int(c) for c in code), int(groups), dict(groupindex),
                             tuple(indexgroup))
            pattern_modules.setdefault(key, _caller_module())
    return compiled


def record() -> None:
    """Start the TUI to its first frame, then import every module of wfptui."""
    dataclasses._create_fn = recording_create_fn  # type: ignore[attr-defined]
    dataclasses.exec = _record_exec  # type: ignore[attr-defined]
    re_compiler.compile = recording_compile
    re_compiler._sre = _SreRecorder()  # type: ignore[attr-defined]
    os.environ["WFPTUI_HEADLESS"] = "1"
    os.environ["WFPTUI_BENCH_EXIT_AFTER_FIRST_FRAME"] = "1"
    import contextlib
    import io

    from wfptui.cli import main

    real_stderr, sys.__stderr__ = sys.__stderr__, io.StringIO()  # the first-frame report too
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            code = main([])
    finally:
        sys.__stderr__ = real_stderr
    if code != 0:
        raise SystemExit(f"the TUI did not start (exit {code})")
    import importlib
    import pkgutil

    import wfptui

    for info in pkgutil.walk_packages(wfptui.__path__, "wfptui."):
        if info.name != "wfptui._codecache_table" and not info.name.endswith("__main__"):
            importlib.import_module(info.name)


def render() -> str:
    out = [
        '"""Generated by tools/gen_codecache.py (`make codecache`); do not edit. See wfptui/codecache.py.',
        "",
        "DATACLASS: each dataclass method's source text (as dataclasses execs it) -> that text, compiled.",
        "REGEX: (type, pattern, flags) -> what re's compiler passes to _sre.compile.",
        '"""',
        "# ruff: noqa",
        "# mypy: ignore-errors",
        "# No `from __future__ import annotations` here: dataclasses' exec has no future flags.",
        "",
        f"RUNTIME = {RUNTIME!r}",
        "",
        "DATACLASS = {}",
        "",
    ]
    for text, module in sorted(functions.items(), key=lambda kv: (kv[1], kv[0])):
        out += [f"# {module}", text, f"DATACLASS[{text!r}] = __create_fn__.__code__", ""]
    out += ["del __create_fn__", "", "REGEX = {"]
    for key, entry in sorted(patterns.items(), key=lambda kv: (pattern_modules[kv[0]], repr(kv[0]))):
        kind, p, flags = key
        out.append(f"    ({kind.__name__}, {p!r}, {flags!r}): {entry!r},  # {pattern_modules[key]}")
    out += ["}", ""]
    return "\n".join(out)


def main() -> int:
    check = "--check" in sys.argv[1:]
    record()
    if check:
        table: Any = __import__("wfptui._codecache_table", fromlist=["DATACLASS"])
        missing = [m for t, m in functions.items() if m.startswith("wfptui") and t not in table.DATACLASS]
        missing += [m for k, m in pattern_modules.items() if m.startswith("wfptui") and k not in table.REGEX]
        if table.RUNTIME != RUNTIME:
            print("the table was made with another Python: run `make codecache`", file=sys.stderr)
            return 1
        if missing:
            print(f"{len(missing)} of wfptui's own entries are missing (from {sorted(set(missing))}): "
                  "run `make codecache`", file=sys.stderr)
            return 1
        return 0
    TABLE.write_text(render(), encoding="utf-8")
    print(f"{TABLE.relative_to(ROOT)}: {len(functions)} dataclass methods, {len(patterns)} patterns")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
