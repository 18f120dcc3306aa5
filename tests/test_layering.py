"""Dependencies point tui -> io -> core: the core loads no Textual, msgpack or watchfiles,
imports nothing from io/tui/cli, and io never imports Textual or tui."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "wfptui"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _check(package: str, forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for path in sorted((PKG / package).rglob("*.py")):
        for name in _imports(path):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                bad.append(f"{path.relative_to(PKG.parent)} imports {name}")
    return bad


def test_core_imports_only_stdlib_and_core() -> None:
    forbidden = ("textual", "rich", "msgpack", "watchfiles", "ormsgpack", "wfptui.io", "wfptui.tui",
                 "wfptui.cli", "wfptui.commands")
    assert _check("core", forbidden) == []


def test_io_never_imports_the_tui() -> None:
    assert _check("io", ("textual", "rich", "wfptui.tui", "wfptui.cli", "wfptui.commands")) == []


@pytest.mark.parametrize("module", ["wfptui.core", "wfptui.core.model", "wfptui.core.trace"])
def test_importing_core_loads_no_ui_or_io_packages(module: str) -> None:
    # A fresh interpreter: what the import really pulls in, transitively.
    code = (
        f"import sys, importlib, pkgutil, wfptui.core as c\n"
        f"importlib.import_module({module!r})\n"
        "for m in pkgutil.iter_modules(c.__path__):\n"
        "    importlib.import_module('wfptui.core.' + m.name)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'msgpack', 'watchfiles')]\n"
        "print(','.join(sorted(bad)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
