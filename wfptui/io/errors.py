"""User-facing input errors: every loader reports problems as diagnostics.

A :class:`Diagnostic` names the file, the 1-based line and column and the problem;
``str()`` renders it as ``file:line:col: message`` (line/column 0 = unknown, omitted).
:class:`InputError` carries one or more diagnostics; the CLI prints each on stderr and
exits 2 (spec §2: bad input → one clear message naming file, place and problem).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Diagnostic:
    """One problem in one input file, at ``line``:``col`` (1-based; 0 = unknown)."""

    file: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line > 0:
            where += f":{self.line}"
            if self.col > 0:
                where += f":{self.col}"
        return f"{where}: {self.message}" if where else self.message


class InputError(Exception):
    """Bad input: one or more diagnostics. ``str()`` joins them, one a line."""

    def __init__(self, diagnostics: Iterable[Diagnostic] | Diagnostic | str, file: str = "") -> None:
        if isinstance(diagnostics, Diagnostic):
            diags = [diagnostics]
        elif isinstance(diagnostics, str):
            diags = [Diagnostic(file, 0, 0, diagnostics)]
        else:
            diags = list(diagnostics)
        if not diags:
            diags = [Diagnostic(file, 0, 0, "invalid input")]
        self.diagnostics: list[Diagnostic] = diags
        super().__init__("\n".join(str(d) for d in diags))

    def __str__(self) -> str:
        return "\n".join(str(d) for d in self.diagnostics)

    @property
    def first(self) -> Diagnostic:
        return self.diagnostics[0]


class DiagnosticCollector:
    """Collects diagnostics while a loader keeps going, then raises them all at once."""

    def __init__(self) -> None:
        self.diagnostics: list[Diagnostic] = []

    def add(self, file: str, line: int, col: int, message: str) -> None:
        d = Diagnostic(file, line, col, message)
        if d not in self.diagnostics:
            self.diagnostics.append(d)

    def extend(self, diags: Iterable[Diagnostic]) -> None:
        for d in diags:
            if d not in self.diagnostics:
                self.diagnostics.append(d)

    def __bool__(self) -> bool:
        return bool(self.diagnostics)

    def raise_if_any(self) -> None:
        if self.diagnostics:
            raise InputError(sorted(self.diagnostics, key=lambda d: (d.file, d.line, d.col)))
