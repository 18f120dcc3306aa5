"""``Step.from_dict``'s common-case path (a step as ``to_dict`` wrote it) gives what its
general path gives, for any map: the same step (``raw`` too, which equality skips) or the
same refusal. The general path is taken for any mapping that is not a plain dict."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from wfptui.core.scenario import Step

KEYS = (*Step._KEYS, "add", "remove", "raw")

scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 70000), st.floats(allow_nan=False),
                    st.sampled_from(["send", "connect", "c1", "server", "10.0.0.2:80", ""]))
values = st.one_of(scalars, st.lists(scalars, max_size=2), st.dictionaries(st.sampled_from(["do", "x"]), scalars,
                                                                           max_size=2))


def _written(step: Step) -> dict[str, Any]:
    return step.to_dict()


@st.composite
def step_maps(draw: st.DrawFn) -> dict[str, Any]:
    base = _written(Step(index=draw(st.integers(0, 10**6)), do=draw(st.sampled_from(["send", "connect", "close"])),
                         host=draw(st.sampled_from([None, "client"])), socket=draw(st.sampled_from([None, "c1"])),
                         bytes=draw(st.sampled_from([None, 100])), raw={"do": "send"}))
    for key in draw(st.lists(st.sampled_from([*KEYS, "dual_stack", "callout", "other"]), max_size=3)):
        if draw(st.booleans()):
            base[key] = draw(values)
        else:
            base.pop(key, None)
    return base


def _outcome(d: Any) -> Any:
    try:
        step = Step.from_dict(d)
    except Exception as exc:  # noqa: BLE001 - the refusal itself is compared
        return type(exc), str(exc)
    return step, step.raw


@settings(max_examples=400, deadline=None)
@given(step_maps())
def test_the_common_case_path_is_the_general_path(d: dict[str, Any]) -> None:
    assert _outcome(d) == _outcome(MappingProxyType(d))


def test_a_written_step_takes_the_common_case_path_and_comes_back_equal() -> None:
    step = Step(index=7, do="send", socket="c3", bytes=100, packets=2, raw={"do": "send", "socket": "c3"})
    d = step.to_dict()
    again = Step.from_dict(d)
    assert again == step and again.raw == step.raw and again.raw is not d["raw"]
