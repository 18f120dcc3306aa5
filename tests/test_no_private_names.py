"""wfptui uses no private name of another project and monkeypatches nothing (issue 13, item 2).

Other projects' ``_underscore`` names (Textual's, Rich's, the standard library's) change
without notice between releases; replacing their functions changes them for everyone in
the process. This checker reads every module of ``wfptui/`` and reports:

- imports of private modules or names of other projects (``from textual._time import``,
  ``import re._compiler``, ``from dataclasses import _create_fn``);
- ``x._name`` where ``_name`` is not defined anywhere in wfptui (``compositor._dirty_regions``,
  ``dataclasses._create_fn``); wfptui's own ``_names`` are its business;
- in our subclasses of Textual's or Rich's classes, a ``def _x``, ``self._x`` or
  ``super()._x`` whose ``_x`` the Textual/Rich bases define (``dir()`` of the base, plus the
  ``self._x`` the base's source assigns): an override or a use of their internals;
- monkeypatching: assignment to (or ``del`` of) an attribute of an imported module or
  class of another project, and ``setattr``/``delattr`` on one.

The tests at the end plant each kind in a string, so the checker is seen to fail.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import textwrap
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "wfptui"
#: Packages whose classes we subclass; their private names are checked against the MRO.
FOREIGN_CLASS_PACKAGES = ("textual", "rich")


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _ours(module: str) -> bool:
    return module == "wfptui" or module.startswith("wfptui.")


def _imported_names(tree: ast.AST) -> dict[str, str]:
    """Local name -> what it names, for every import of another project (any scope)."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if not _ours(alias.name):
                    local = alias.asname or alias.name.split(".")[0]
                    names[local] = alias.name if alias.asname else alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and not _ours(node.module):
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def defined_private_names(trees: list[ast.AST]) -> set[str]:
    """Every ``_name`` wfptui itself defines (functions, classes, attributes, variables, arguments)."""
    names: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, ast.alias):
                names.add((node.asname or node.name).split(".")[-1])
    return {n for n in names if _private(n)}


def static_problems(source: str, own_private: set[str], where: str = "<string>") -> list[str]:
    """Private imports, foreign ``x._name`` and monkeypatching in one module's source."""
    tree = ast.parse(source)
    imported = _imported_names(tree)
    out: list[str] = []

    def report(node: ast.AST, text: str) -> None:
        out.append(f"{where}:{getattr(node, 'lineno', 0)}: {text}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if not _ours(alias.name) and any(_private(p) for p in alias.name.split(".")):
                    report(node, f"imports the private module {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and not _ours(node.module):
            if node.module != "__future__" and any(_private(p) for p in node.module.split(".")):
                report(node, f"imports from the private module {node.module}")
            for alias in node.names:
                if _private(alias.name):
                    report(node, f"imports the private name {node.module}.{alias.name}")
        elif isinstance(node, ast.Attribute) and _private(node.attr):
            base = node.value
            is_self = isinstance(base, ast.Name) and base.id in ("self", "cls")
            is_super = isinstance(base, ast.Call) and isinstance(base.func, ast.Name) and base.func.id == "super"
            if not is_self and not is_super and node.attr not in own_private:
                report(node, f"uses {ast.unparse(node)} (a private name that wfptui does not define)")
        # Monkeypatching: an attribute of another project's module or class is set or deleted.
        targets: list[ast.expr] = []
        if isinstance(node, (ast.Assign, ast.Delete)):
            targets = list(node.targets)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            for t in target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]:
                if isinstance(t, ast.Attribute):
                    root = t.value
                    while isinstance(root, ast.Attribute):
                        root = root.value
                    if isinstance(root, ast.Name) and root.id in imported:
                        report(node, f"monkeypatches {ast.unparse(t)} ({imported[root.id]})")
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("setattr", "delattr") and node.args):
            first = node.args[0]
            while isinstance(first, ast.Attribute):
                first = first.value
            if isinstance(first, ast.Name) and first.id in imported:
                report(node, f"monkeypatches with {ast.unparse(node)} ({imported[first.id]})")
    return out


@cache
def _foreign_private_names(base: type) -> frozenset[str]:
    """The private names a Textual/Rich class has: its ``dir()`` and the ``self._x`` its source sets."""
    names = {n for n in dir(base) if _private(n)}
    for klass in base.__mro__:
        if klass is object:
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError, SyntaxError):
            continue
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store)
                    and isinstance(node.value, ast.Name) and node.value.id == "self" and _private(node.attr)):
                names.add(node.attr)
    return frozenset(names)


def override_problems(source: str, namespace: dict[str, Any], where: str = "<string>") -> list[str]:
    """In each class of ``source`` (its object in ``namespace``) that subclasses a Textual or
    Rich class: the private names of those bases it defines or uses."""
    out: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ClassDef):
            continue
        cls = namespace.get(node.name)
        if not inspect.isclass(cls):
            continue
        bases = [b for b in cls.__mro__[1:] if b.__module__.split(".")[0] in FOREIGN_CLASS_PACKAGES]
        if not bases:
            continue
        theirs = frozenset().union(*(_foreign_private_names(b) for b in bases))
        for sub in ast.walk(node):
            name = None
            if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)) and sub.name in theirs:
                name, what = sub.name, "overrides"
            elif isinstance(sub, ast.Attribute) and sub.attr in theirs:
                base = sub.value
                if isinstance(base, ast.Name) and base.id == "self":
                    name, what = sub.attr, "uses"
                elif isinstance(base, ast.Call) and isinstance(base.func, ast.Name) and base.func.id == "super":
                    name, what = sub.attr, "calls"
            if name is not None:
                owner = next(b for b in bases if name in _foreign_private_names(b))
                out.append(f"{where}:{sub.lineno}: {node.name} {what} {owner.__module__}."
                           f"{owner.__qualname__}'s private {name}")
    return out


def _modules() -> Iterator[tuple[Path, str]]:
    for path in sorted(PKG.rglob("*.py")):
        yield path, ".".join(path.relative_to(ROOT).with_suffix("").parts)


@cache
def _own_private() -> frozenset[str]:
    return frozenset(defined_private_names([ast.parse(p.read_text(encoding="utf-8")) for p, _ in _modules()]))


# ---------------------------------------------------------------------------- wfptui itself


def test_wfptui_uses_no_private_name_of_another_project_and_patches_nothing() -> None:
    problems: list[str] = []
    own = set(_own_private())
    for path, _module in _modules():
        problems += static_problems(path.read_text(encoding="utf-8"), own, str(path.relative_to(ROOT)))
    assert problems == []


def test_no_textual_subclass_overrides_or_uses_a_private_name() -> None:
    problems: list[str] = []
    for path, module in _modules():
        source = path.read_text(encoding="utf-8")
        if "textual" not in source and "rich" not in source:
            continue
        namespace = vars(importlib.import_module(module))
        problems += override_problems(source, namespace, str(path.relative_to(ROOT)))
    assert problems == []


# ------------------------------------------------------------ the checker can fail (planted)

PLANTED_STATIC = {
    "from textual._time import get_time\n": "private module textual._time",
    "import re._compiler\n": "private module re._compiler",
    "from dataclasses import _create_fn\n": "private name dataclasses._create_fn",
    "import rich\nx = rich._console\n": "rich._console",
    "def f(compositor):\n    return compositor._dirty_regions\n": "compositor._dirty_regions",
    "import dataclasses\ndataclasses.fields = None\n": "monkeypatches dataclasses.fields",
    "import re\nsetattr(re, 'compile', None)\n": "monkeypatches with setattr(re",
    "from textual.screen import Screen\nScreen.refresh = None\n": "monkeypatches Screen.refresh",
    "import json\ndel json.dumps\n": "monkeypatches json.dumps",
}


@pytest.mark.parametrize("planted", list(PLANTED_STATIC))
def test_the_checker_finds_a_planted_private_name_or_patch(planted: str) -> None:
    problems = static_problems(planted, set())
    assert len(problems) >= 1 and PLANTED_STATIC[planted] in "\n".join(problems), problems


def test_the_checker_lets_our_own_private_names_and_public_api_be() -> None:
    source = ("import os\nfrom textual.screen import Screen\n"
              "class Clock:\n    def __init__(self):\n        self._n = 0\n"
              "def tick(clock):\n    clock._n += 1\n    os.environ['X'] = '1'\n"
              "    return Screen.refresh\n")
    own = defined_private_names([ast.parse(source)])
    assert static_problems(source, own) == []


PLANTED_CLASSES = """
from textual.screen import Screen
from textual.scroll_view import ScrollView
from textual.app import App

class Main(Screen):
    def _refresh_layout(self, size=None, scroll=False):
        super()._refresh_layout(size, scroll)

class Lines(ScrollView):
    def show(self):
        self._scroll_update(self.virtual_size)

class Dirty(Screen):
    def on_mount(self):
        self._repaint_required = False

class Fine(App):
    def _my_own(self):
        self._mine = 1
"""


def test_the_checker_finds_planted_overrides_and_uses_of_textual_internals() -> None:
    namespace: dict[str, Any] = {}
    exec(compile(PLANTED_CLASSES, "<planted>", "exec"), namespace)  # noqa: S102 - a fixed test string
    problems = "\n".join(override_problems(PLANTED_CLASSES, namespace))
    assert "Main overrides textual.screen.Screen's private _refresh_layout" in problems
    assert "Main calls textual.screen.Screen's private _refresh_layout" in problems
    assert "Lines uses" in problems and "_scroll_update" in problems
    assert "Dirty uses" in problems and "_repaint_required" in problems  # set in Widget.__init__
    assert "Fine" not in problems
