"""Property tests for the scenario reader: whatever the text, the loader either returns a
Scenario or raises InputError with file:line:col diagnostics — never another exception."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from wfptui.core.scenario import Scenario
from wfptui.io.errors import InputError
from wfptui.io.scenario_file import parse_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SEED = (SCENARIOS / "tcp-reauth-block.toml").read_text(encoding="utf-8")


def _load(text: str) -> Scenario | None:
    try:
        return parse_scenario(text, "fuzz.toml", base_dir=SCENARIOS)
    except InputError as exc:
        assert exc.diagnostics, "an InputError must carry at least one diagnostic"
        for diag in exc.diagnostics:
            assert diag.file == "fuzz.toml" or diag.file.endswith(".toml")
            assert diag.message
        return None


@given(st.text(max_size=400))
def test_random_text_is_an_input_error_or_a_scenario(text: str) -> None:
    _load(text)


@given(st.data())
def test_mutated_real_scenario_never_crashes(data: st.DataObject) -> None:
    lines = SEED.splitlines()
    ops = data.draw(st.lists(st.tuples(st.integers(0, len(lines) - 1), st.sampled_from(
        ["drop", "dup", "swap-value", "garble"])), min_size=1, max_size=4))
    for index, op in ops:
        index %= max(1, len(lines))
        if op == "drop" and len(lines) > 1:
            del lines[index]
        elif op == "dup":
            lines.insert(index, lines[index])
        elif op == "swap-value" and "=" in lines[index]:
            key = lines[index].split("=", 1)[0]
            value = data.draw(st.sampled_from(
                ['"x"', "-1", "70000", "[1, 2]", "{ a = 1 }", "true", '"10.0.0.300"', '"[fd00::2]:99999"',
                 '"nohost:80"', '"ALE_AUTH_NOPE_V4"', "1.5", '""']))
            lines[index] = f"{key}= {value}"
        elif op == "garble":
            lines[index] = re.sub(r"[a-z]", "q", lines[index], count=2)
    _load("\n".join(lines) + "\n")


def test_the_seed_itself_loads() -> None:
    assert _load(SEED) is not None


# ----------------------------------------------------------------------------- hostile classes (issue 12)

_NUMBERS = st.sampled_from(["nan", "+nan", "-nan", "inf", "-inf", "1e14", "1e308", "-1"]) | st.integers(
    min_value=25, max_value=5000).map(lambda n: "9" * n)


def _errors(text: str) -> list[tuple[int, str]]:
    try:
        parse_scenario(text, "fuzz.toml", base_dir=SCENARIOS)
    except InputError as exc:
        return [(d.line, d.message) for d in exc.diagnostics if d.file == "fuzz.toml"]
    return []


@given(number=_NUMBERS, key=st.sampled_from(["at", "seconds", "bytes", "port"]))
def test_hostile_numbers_refused_with_their_line(number: str, key: str) -> None:
    extra = {"at": 'do = "close"\nsocket = "rr"\n', "seconds": 'do = "wait"\n',
             "bytes": 'do = "send"\nsocket = "rr"\n', "port": 'do = "close"\nsocket = "rr"\n'}[key]
    n = SEED.count("\n") + (0 if SEED.endswith("\n") else 1)
    text = SEED.rstrip("\n") + "\n[[step]]\n" + extra + f"{key} = {number}\n"
    line = n + 2 + extra.count("\n")
    assert any(ln == line for ln, _ in _errors(text)), (line, _errors(text))


@given(depth=st.integers(min_value=1, max_value=3000), inline=st.booleans())
def test_deep_nesting_is_an_input_error(depth: int, inline: bool) -> None:
    opener, closer = ("{a=", "}") if inline else ("[", "]")
    assert _errors('name = "x"\nhost = ' + opener * depth + "1" + closer * depth + "\n")


@given(path=st.sampled_from(["web.exe", "srv/web.exe", "./a.exe", "..\\a.exe", "%NOPE%\\a.exe", " "]))
def test_non_absolute_app_paths_refused_at_load(path: str) -> None:
    text = SEED.replace("'C:\\srv\\web.exe'", repr(path).replace("\\\\", "\\"), 1)
    if text == SEED:
        text = re.sub(r"path = '[^']*'", f"path = '{path}'", SEED, count=1)
    errs = _errors(text)
    assert any("application path" in m or "empty" in m for _, m in errs), errs
