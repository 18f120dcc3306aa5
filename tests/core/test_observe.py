"""The ``observe`` step (a captured event replayed by the engine), ``Observation.to_dict`` /
``from_dict`` (hostile dicts included) and the recording round trip of observe inputs."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.core.observations import make_observation
from wfptui.core.engine import run_scenario
from wfptui.core.evidence import Observation, ObservedTerminating
from wfptui.core.layers import get_layer
from wfptui.core.scenario import HostSpec, Scenario, Step
from wfptui.core.sim import observe_packet_op
from wfptui.core.trace import ClassifyRecord, ObservedRecord, record_from_dict
from wfptui.io.policy_file import parse_policy
from wfptui.io.recording import decode_recording, encode_recording

CONNECT_V4 = get_layer("ALE_AUTH_CONNECT_V4")

BLOCK_443 = """
[[filter]]
key = "block-443"
layer = "ALE_AUTH_CONNECT_V4"
action = "block"
filter_id = 71204
condition = [ { field = "IP_REMOTE_PORT", match = "equal", value = 443 } ]

[[filter]]
key = "by-type"
layer = "ALE_AUTH_CONNECT_V4"
action = "permit"
weight = 15
filter_id = 71205
condition = [ { field = "INTERFACE_TYPE", match = "equal", value = 6 } ]
"""


def obs(**kw: object) -> Observation:
    return make_observation(**{"filter_id": 71204, **kw})


def run(*events: Observation, policy: str = BLOCK_443) -> list[Any]:
    pol = parse_policy(policy, "p.toml")
    steps = tuple(Step(index=i, do="observe", host="captured", at=float(i), event=e.to_dict())
                  for i, e in enumerate(events, 1))
    scen = Scenario(name="cap", hosts=(HostSpec(name="captured", policy=pol),), steps=steps)
    return list(run_scenario(scen, {"captured": pol}).records)


def test_a_classification_event_gives_a_classify_and_an_observed_record() -> None:
    cl, ob = run(obs(remote_port=80, filter_id=None, action="permit", type="CLASSIFY_ALLOW"))
    assert isinstance(cl, ClassifyRecord) and isinstance(ob, ObservedRecord)
    assert (cl.host, cl.layer, cl.layer_id, cl.packet, cl.op, cl.direction, cl.reauth) == (
        "captured", "ALE_AUTH_CONNECT_V4", 48, "SYN", "connect", "outbound", False)
    # INTERFACE_TYPE is unknown: the two worlds differ (permit by-type, or nothing decides)
    assert ob.to_dict() == {"kind": "observed", "seq": 2, "t": 1.0, "host": "captured", "event": 1,
                            "type": "CLASSIFY_ALLOW", "action": "permit", "filter_id": None, "matched_by": None,
                            "verdict": "agree", "unknown_fields": []}
    assert cl.fields["IP_REMOTE_ADDRESS"] == "10.7.1.30" and cl.fields["IP_REMOTE_PORT"] == 80
    assert "INTERFACE_TYPE" not in cl.fields  # unknown fields are not rendered


def test_the_deciding_filter_and_verdict() -> None:
    only_block = BLOCK_443.split("[[filter]]\nkey = \"by-type\"")[0]
    cl, ob = run(obs(), policy=only_block)
    assert (cl.action, cl.filter, cl.filter_id) == ("block", "block-443", 71204)
    assert (ob.verdict, ob.matched_by, ob.filter_id, ob.unknown_fields) == ("agree", "id", 71204, ())


def test_an_unknown_field_that_decides_is_named_and_the_record_shows_world_f() -> None:
    cl, ob = run(obs())  # by-type (INTERFACE_TYPE, not in the event) would permit over block-443
    assert (cl.action, cl.filter) == ("block", "block-443")
    assert (ob.verdict, ob.unknown_fields) == ("unknown", ("INTERFACE_TYPE",))


def test_events_that_are_not_classifications_give_only_an_observed_record() -> None:
    (ob,) = run(obs(type="CAPABILITY_DROP", action=None, layer_id=None, filter_id=None))
    assert isinstance(ob, ObservedRecord) and ob.verdict == "not_simulated" and ob.action is None


def test_replay_is_deterministic() -> None:
    events = [obs(index=i, remote_port=440 + i) for i in range(1, 6)]
    a = [r.to_dict() for r in run(*events)]
    assert a == [r.to_dict() for r in run(*events)]
    assert [record_from_dict(d).to_dict() for d in a] == a


@pytest.mark.parametrize(("layer", "proto", "want"), [
    ("ALE_AUTH_CONNECT_V4", 6, ("SYN", "connect")), ("ALE_AUTH_RECV_ACCEPT_V6", 17, ("DATAGRAM", None)),
    ("ALE_AUTH_LISTEN_V4", 6, (None, "listen")), ("ALE_RESOURCE_ASSIGNMENT_V4", 17, (None, "bind")),
    ("INBOUND_TRANSPORT_V4", 6, (None, None)), ("INBOUND_TRANSPORT_V4_DISCARD", 1, ("ICMP", None)),
    ("ALE_AUTH_CONNECT_V6", 58, ("ICMP", "connect")),
])
def test_packet_and_op_by_layer(layer: str, proto: int, want: tuple[str | None, str | None]) -> None:
    assert observe_packet_op(layer, proto) == want


# -- Observation.to_dict / from_dict ---------------------------------------------------------

u64 = st.integers(0, (1 << 64) - 1)
opt_str = st.none() | st.text(max_size=20)
opt_int = st.none() | u64


@st.composite
def observations(draw: st.DrawFn) -> Observation:
    v = draw(st.sampled_from([4, 6]))
    addr = st.none() | st.integers(0, (1 << (32 if v == 4 else 128)) - 1)
    return Observation(
        index=draw(st.integers(1, 10**6)), source=draw(st.sampled_from(["netevent", "audit"])),
        line=draw(st.integers(0, 10**6)), type=draw(st.text(max_size=10)), time=draw(opt_str),
        time_ns=draw(opt_int), ip_version=v, protocol=draw(opt_int), local_addr=draw(addr),
        remote_addr=draw(addr), local_port=draw(opt_int), remote_port=draw(opt_int), scope_id=draw(opt_int),
        app_id=draw(opt_str), app_id_from=draw(opt_str), user_id=draw(opt_str), package_sid=draw(opt_str),
        capabilities=draw(st.none() | st.tuples(st.text(max_size=8))), layer_id=draw(opt_int),
        filter_id=draw(opt_int), action=draw(st.sampled_from([None, "permit", "block"])),
        direction=draw(opt_str), reauth_reason=draw(opt_int), original_profile=draw(opt_int),
        current_profile=draw(opt_int), is_loopback=draw(st.none() | st.booleans()),
        interface_index=draw(opt_int), filter_origin=draw(opt_str), flags=draw(opt_int),
        terminating=tuple(draw(st.lists(st.builds(ObservedTerminating, u64, st.text(max_size=8),
                                                  st.text(max_size=8)), max_size=3))),
        effective_name=draw(opt_str), icmp_type=draw(opt_int), icmp_code=draw(opt_int),
        extra=tuple(draw(st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8)), max_size=3))))


@settings(max_examples=200, deadline=None)
@given(observations())
def test_to_dict_round_trips_exactly(o: Observation) -> None:
    assert Observation.from_dict(o.to_dict()) == o


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                           lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
                           max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_hostile_dicts_are_value_errors_naming_the_key(data: st.DataObject) -> None:
    good = obs().to_dict()
    key = data.draw(st.sampled_from(sorted(good)))
    bad = dict(good)
    bad[key] = data.draw(json_values)
    try:
        got = Observation.from_dict(bad)
    except ValueError as exc:
        assert repr(key) in str(exc)
    else:  # an acceptable value: it round-trips
        assert Observation.from_dict(got.to_dict()) == got


@given(json_values)
def test_anything_else_is_a_value_error(value: object) -> None:
    with contextlib.suppress(ValueError):  # anything but ValueError fails the test
        Observation.from_dict(value)


def test_missing_and_unknown_keys() -> None:
    d = obs().to_dict()
    del d["layer_id"]
    with pytest.raises(ValueError, match="'layer_id'"):
        Observation.from_dict(d)
    with pytest.raises(ValueError, match="'nope'"):
        Observation.from_dict({**obs().to_dict(), "nope": 1})
    with pytest.raises(ValueError, match="'local_addr'"):
        Observation.from_dict({**obs().to_dict(), "local_addr": str(1 << 128)})


# -- the recording round trip of observe inputs ------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(observations(), min_size=1, max_size=4), st.lists(st.floats(0, 1e6), min_size=4, max_size=4))
def test_observe_inputs_round_trip_through_a_recording(events: list[Observation], ats: list[float]) -> None:
    steps = [Step(index=i, do="observe", host="captured", at=ats[i], event=e.to_dict())
             for i, e in enumerate(events)]
    rec = ObservedRecord(1, 0.5, "captured", 3, "CLASSIFY_DROP", "block", (1 << 64) - 1, "id", "unknown",
                         ("INTERFACE_TYPE",))
    scen = Scenario(name="cap", hosts=(HostSpec(name="captured"),), steps=())
    back = decode_recording(encode_recording(scenario=scen, policies={}, inputs=steps, records=[rec]))
    assert list(back.inputs) == steps
    assert [Observation.from_dict(s.event) for s in back.inputs] == events
    assert list(back.records) == [rec]
