"""The recording writer's shortcuts give the same bytes as the plain way.

* A ``core.trace.Trace``'s rows are encoded in full once each (``Encoder.encode_row``): every
  later record of a row is its first wire record with its own time, the seq and the
  encoder's memory of the last fields dict per host and layer kept as ``encode_record``
  keeps them.
* An input that is one of the scenario's ``Step`` objects is written as its index without
  comparing maps (``Encoder.set_steps`` with the objects).

For random engine runs (blocks, policy changes, reauthorization, stack events): the bytes
of a recording written from the Trace and the scenario object equal those written from a
list of the records and the scenario's map.
"""

from __future__ import annotations

from hypothesis import given, settings

from tests.core._scen import scenario
from tests.core.test_trace_rows import _scenarios
from wfptui.core.engine import run_scenario
from wfptui.core.trace import Trace
from wfptui.io.recording import decode_recording, encode_recording


@settings(max_examples=30, deadline=None)
@given(_scenarios())
def test_rows_and_step_objects_write_the_same_bytes(text: str) -> None:
    sc = scenario(text)
    result = run_scenario(sc)
    assert isinstance(result.records, Trace)
    fast = encode_recording(scenario=sc, policies={}, inputs=result.inputs, records=result.records,
                            created="2026-12-05T00:00:00Z")
    plain = encode_recording(scenario=sc.to_dict(), policies={}, inputs=[s.to_dict() for s in result.inputs],
                             records=list(result.records), created="2026-12-05T00:00:00Z")
    assert fast == plain
    back = decode_recording(fast)
    assert list(back.records) == list(result.records)
    assert [s.to_dict() for s in back.inputs] == [s.to_dict() for s in result.inputs]


def _interleaved(connections: int, sends: int) -> str:
    """Connections to two ports sending in rounds: rows repeat while new fields dicts of the
    same layers keep coming (what makes the last-fields memory matter)."""
    out = ['name = "rounds"',
           '[[host]]\nname = "client"\naddress = ["10.0.0.1"]\napp = [ { name = "app", path = \'C:\\\\app.exe\' } ]',
           '[[host]]\nname = "server"\naddress = ["10.0.0.2"]\napp = [ { name = "srv", path = \'C:\\\\srv.exe\' } ]']
    for i, port in enumerate((80, 443)):
        out.append(f'[[step]]\nhost = "server"\ndo = "listen"\napp = "srv"\nport = {port}\nsocket = "l{i}"')
    for c in range(connections):
        out.append(f'[[step]]\nhost = "client"\ndo = "connect"\napp = "app"\nto = "10.0.0.2:{(80, 443)[c % 2]}"\n'
                   f'socket = "c{c}"')
        for _ in range(sends):  # the earlier connections send again between the new ones
            for d in reversed(range(c + 1)):  # the oldest last
                out.append(f'[[step]]\ndo = "send"\nsocket = "c{d}"\nbytes = 100')
    return "\n".join(out) + "\n"


def test_interleaved_flows_write_the_same_bytes() -> None:
    sc = scenario(_interleaved(5, 2))
    result = run_scenario(sc)
    fast = encode_recording(scenario=sc, policies={}, inputs=result.inputs, records=result.records,
                            created="2026-12-05T00:00:00Z")
    plain = encode_recording(scenario=sc.to_dict(), policies={}, inputs=[s.to_dict() for s in result.inputs],
                             records=list(result.records), created="2026-12-05T00:00:00Z")
    assert fast == plain
