"""Issue 13 item 5: screens are handed their data and post messages; no screen imports the app.

Every import counts, ``if TYPE_CHECKING:`` ones and function-local ones included: an
import of the app from a screen is the app <-> screen loop the issue names.
"""

from __future__ import annotations

import ast
from pathlib import Path

SCREENS = Path(__file__).resolve().parents[2] / "wfptui" / "tui" / "screens"


def _imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, relative imports resolved against its package."""
    package = ["wfptui", "tui", "screens"]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def test_the_screens_folder_has_screens() -> None:
    assert {p.name for p in SCREENS.glob("*.py")} >= {"main.py", "editor.py", "dialogs.py"}


def test_no_screen_imports_the_app() -> None:
    bad = [f"{path.name} imports {name}" for path in sorted(SCREENS.rglob("*.py"))
           for name in sorted(_imported_modules(path))
           if name == "wfptui.tui.app" or name.startswith("wfptui.tui.app.")]
    assert bad == []


def test_the_check_sees_a_type_checking_import(tmp_path: Path) -> None:
    """The check is not vacuous: the import the editor had before counts."""
    sample = tmp_path / "sample.py"
    sample.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from wfptui.tui.app import WfpApp\n"
                      "def f():\n    from ..app import WfpApp\n", encoding="utf-8")
    assert "wfptui.tui.app" in _imported_modules(sample)
    assert "wfptui.tui.app.WfpApp" in _imported_modules(sample)
