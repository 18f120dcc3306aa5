"""The header's compact steps (format 4, docs/recording-format.md §1.1): a step written by
``values.header_step`` and read by ``Step.from_dict(..., raw_implied=True)`` is the step it
was, ``raw`` included, value types and key order too; a scenario file's plain steps are
their values and index alone; input records keep their own form."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import msgpack
from hypothesis import given, settings
from hypothesis import strategies as st

from wfptui.cli import main
from wfptui.core.scenario import Step, implied_raw
from wfptui.io.recording import CURRENT_FORMAT_VERSION, read_recording
from wfptui.io.recording.values import compact_step, freeze, header_step, plain

_DO = st.sampled_from(["send", "close", "listen", "connect", "wait", "bind", "ping"])
_TEXT = st.sampled_from(["c1", "l0", "server", "10.0.0.2:80", "", "é", "app"])
_NUM = st.one_of(st.integers(-3, 70_000), st.sampled_from([1.0, 0.5, True, False]))
_VALUE = st.one_of(st.none(), _TEXT, _NUM)


@st.composite
def step_maps(draw: st.DrawFn) -> dict[str, Any]:
    """A ``Step.to_dict()``-shaped map: every key, random values (types mixed on purpose:
    1 and 1.0 and True must stay apart), and a raw table that is sometimes exactly the
    implied one, sometimes that in another order, with another type, or empty."""
    d: dict[str, Any] = {"index": draw(st.integers(0, 10**6)), "do": draw(_DO)}
    for key in Step._KEYS[2:]:
        d[key] = draw(_VALUE) if key not in ("packets", "count") else draw(st.sampled_from([1, 2, 1]))
    for key in ("at", "seconds"):  # what the plain paths leave to the general one
        d[key] = draw(st.sampled_from([None, None, 1.5, 2]))
    d["event"] = None
    d["add"] = []
    d["remove"] = draw(st.sampled_from([[], [], ["f1"]]))
    implied = implied_raw(compact_step({k: v for k, v in d.items()}))
    implied.pop("raw", None)
    raw = draw(st.sampled_from(["implied", "reversed", "retyped", "empty", "other"]))
    if raw == "implied":
        d["raw"] = implied
    elif raw == "reversed":
        d["raw"] = dict(reversed(list(implied.items())))
    elif raw == "retyped":
        d["raw"] = {k: (float(v) if type(v) is int else v) for k, v in implied.items()}
    elif raw == "empty":
        d["raw"] = {}
    else:
        d["raw"] = {**implied, "comment": draw(_TEXT)}
    return d


def _same(a: Any, b: Any) -> bool:
    """Equal with types and key order (what ``freeze`` keeps apart)."""
    return freeze(a) == freeze(b)


@settings(max_examples=300, deadline=None)
@given(step_maps())
def test_compact_header_step_reads_back_as_the_full_one(d: dict[str, Any]) -> None:
    full = Step.from_dict(d)
    compact = header_step(plain(d))
    back = Step.from_dict(compact, raw_implied=True)
    assert _same(back.to_dict(), full.to_dict())
    assert _same(back.raw, d["raw"])
    assert None not in compact.values()
    # raw is left out exactly where it is what the rest implies
    assert ("raw" in compact) == (not _same(d["raw"], implied_raw(compact)))


@settings(max_examples=100, deadline=None)
@given(step_maps())
def test_an_input_records_form_is_not_the_headers(d: dict[str, Any]) -> None:
    """An input record's map without raw (compact_step left an empty one out) reads as raw
    {} (``raw_implied`` is for the header's steps only)."""
    d["raw"] = {}
    assert Step.from_dict(compact_step(plain(d))).raw == {}


def test_a_scenario_files_steps_are_their_values_alone(tmp_path: Path, capsys: Any) -> None:
    scen = tmp_path / "s.toml"
    scen.write_text('name = "s"\n[[host]]\nname = "a"\naddress = ["10.0.0.1"]\n'
                    'app = [ { name = "x", path = \'C:\\x.exe\' } ]\n'
                    '[[host]]\nname = "b"\naddress = ["10.0.0.2"]\n'
                    'app = [ { name = "y", path = \'C:\\y.exe\' } ]\n'
                    '[[step]]\nhost = "b"\ndo = "listen"\napp = "y"\nport = 80\nsocket = "l"\n'
                    '[[step]]\nhost = "a"\ndo = "connect"\napp = "x"\nto = "10.0.0.2:80"\nsocket = "c"\n'
                    '[[step]]\ndo = "send"\nsocket = "c"\nbytes = 100\n'
                    '[[step]]\ndo = "send"\nsocket = "c"\nbytes = 100\npackets = 1\n', encoding="utf-8")
    rec_path = tmp_path / "s.wfpr"
    assert main(["run", str(scen), "--record", str(rec_path), "--format", "jsonl"]) == 0
    header = msgpack.Unpacker(io.BytesIO(rec_path.read_bytes()), raw=False).unpack()
    assert header["format_version"] == CURRENT_FORMAT_VERSION == 4
    steps = header["scenario"]["data"]["steps"]
    # listen and connect were written in another key order than Step's: their raw stays
    assert steps[0]["raw"] == {"host": "b", "do": "listen", "app": "y", "port": 80, "socket": "l"}
    assert steps[2] == {"index": 2, "do": "send", "socket": "c", "bytes": 100}
    # `packets = 1` written out is not implied by a map that leaves the default out
    assert steps[3]["raw"] == {"do": "send", "socket": "c", "bytes": 100, "packets": 1}
    rec = read_recording(rec_path)
    assert [s.raw for s in rec.scenario.steps][2:] == [{"do": "send", "socket": "c", "bytes": 100},
                                                      {"do": "send", "socket": "c", "bytes": 100, "packets": 1}]
    assert [s.to_dict() for s in rec.inputs] == [s.to_dict() for s in rec.scenario.steps]
    # inputs that are header steps adding no filters are the scenario's own Step objects
    assert all(a is b for a, b in zip(rec.inputs, rec.scenario.steps, strict=True))
    capsys.readouterr()
    assert main(["replay", str(rec_path), "--check"]) == 0
    assert capsys.readouterr().out.startswith("traces are the same")
