"""The scenario loader's path for plain ``send`` / ``close`` steps (``_Loader.plain_step``)
gives what its general path gives: the same steps (``raw`` too) and the same messages, for
random scenarios of valid and invalid steps (unknown sockets and hosts, a socket of another
host, wrong types, out-of-range bytes and packets, extra keys)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wfptui.io.errors import InputError
from wfptui.io.scenario_file import _Loader, parse_scenario

HEAD = """name = "plain"
[[host]]
name = "a"
address = ["10.0.0.1"]
app = [ { name = "x", path = 'C:\\\\x.exe' } ]
[[host]]
name = "b"
address = ["10.0.0.2"]
app = [ { name = "y", path = 'C:\\\\y.exe' } ]
[[step]]
host = "b"
do = "listen"
app = "y"
port = 80
socket = "l"
[[step]]
host = "a"
do = "connect"
app = "x"
to = "10.0.0.2:80"
socket = "c"
"""

values = st.sampled_from(['"c"', '"l"', '"l#1"', '"nope"', '"a"', '"b"', '"zz"', "100", "0", "-1", "2147483649",
                          "true", "1.5", "3", "10000001", '"10.0.0.1:80"', "[1]"])
keys = st.sampled_from(["socket", "host", "bytes", "packets", "to", "at", "app", "count"])


@st.composite
def steps(draw: st.DrawFn) -> str:
    out = []
    for _ in range(draw(st.integers(1, 6))):
        lines = ["[[step]]", f'do = "{draw(st.sampled_from(["send", "close", "send"]))}"']
        if draw(st.booleans()):
            lines.append('socket = "c"')
        for key, value in draw(st.dictionaries(keys, values, max_size=3)).items():
            if key != "socket" or not any(line.startswith("socket") for line in lines):
                lines.append(f"{key} = {value}")
        out.append("\n".join(lines))
    return HEAD + "\n".join(out) + "\n"


def _load(text: str) -> Any:
    try:
        sc = parse_scenario(text, "plain.toml")
    except InputError as exc:
        return [str(d) for d in exc.diagnostics]
    return [(s, s.raw) for s in sc.steps]


@settings(max_examples=300, deadline=None)
@given(steps())
def test_plain_steps_load_as_the_general_path_loads_them(text: str) -> None:
    fast = _load(text)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_Loader, "plain_step", staticmethod(lambda *_args: None))
        general = _load(text)
    assert fast == general


def test_a_plain_send_takes_the_plain_path() -> None:
    text = HEAD + '[[step]]\ndo = "send"\nsocket = "c"\nbytes = 100\npackets = 2\n[[step]]\ndo = "close"\nsocket = "c"\n'
    seen: list[Any] = []
    plain = _Loader.plain_step

    def spy(*args: Any) -> Any:
        step = plain(*args)
        seen.append(step)
        return step

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_Loader, "plain_step", staticmethod(spy))
        sc = parse_scenario(text, "plain.toml")
    assert [s is not None for s in seen] == [False, False, True, True]
    assert (sc.steps[2].do, sc.steps[2].bytes, sc.steps[2].packets, sc.steps[3].do) == ("send", 100, 2, "close")


def test_a_superscript_accept_number_is_an_error_not_a_traceback() -> None:
    """``str.isdigit`` accepts "²", ``int`` does not (found by the session-7 helper)."""
    for step in ('[[step]]\ndo = "send"\nsocket = "l#²"\n',
                 '[[step]]\nhost = "a"\ndo = "connect"\nredirect_records = "l#²"\nsocket = "p"\n'):
        try:
            parse_scenario(HEAD + step, "plain.toml")
        except InputError as exc:
            assert "l#²" in str(exc.diagnostics[0])
        else:
            raise AssertionError("accepted")
