"""Policy files: flow context and stream byte counts on callouts (issue 15) --
``conditional_on_flow``, a rule's ``flow_context`` / ``flow_context_callout`` /
``when_flow_context`` / ``permit_bytes`` / ``then``: parsed, refused with file:line:col where
Windows has no flow (exit 2 through the CLI), written back by ``dump_policy`` and read again to
the same policy (Hypothesis)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wfptui.commands import validate
from wfptui.core.model import CalloutRule
from wfptui.io.errors import InputError
from wfptui.io.policy_file import dump_policy, parse_policy

GOOD = """\
[[callout]]
key = "tagger"
default = "continue"

[[callout.rule]]
condition = [ { field = "IP_REMOTE_PORT", value = 80 } ]
action = "continue"
flow_context = "http"
flow_context_callout = "meter"

[[callout]]
key = "meter"
conditional_on_flow = true
default = "continue"

[[callout.rule]]
when_flow_context = "http"
permit_bytes = 1000
then = "drop_connection"

[[filter]]
key = "tag"
layer = "ALE_FLOW_ESTABLISHED_V4"
action = "callout_inspection"
callout = "tagger"

[[filter]]
key = "meter"
layer = "STREAM_V4"
action = "callout_unknown"
callout = "meter"
"""


def errors_of(text: str, name: str = "p.toml") -> list[str]:
    with pytest.raises(InputError) as ei:
        parse_policy(text, name)
    return [str(d) for d in ei.value.diagnostics]


def test_flow_keys_parse() -> None:
    p = parse_policy(GOOD, "p.toml")
    tagger, meter = p.callouts["tagger"], p.callouts["meter"]
    assert not tagger.conditional_on_flow and meter.conditional_on_flow
    assert tagger.rules[0].flow_context == "http" and tagger.rules[0].flow_context_callout == "meter"
    assert meter.rules == (CalloutRule((), "permit", None, when_flow_context="http", permit_bytes=1000,
                                       then="drop_connection"),)


def test_then_defaults_to_block() -> None:
    p = parse_policy(GOOD.replace('then = "drop_connection"\n', ""), "p.toml")
    assert p.callouts["meter"].rules[0].then == "block"


def test_bad_values_each_with_its_place() -> None:
    text = """\
[[callout]]
key = "tag"
conditional_on_flow = "yes"

[[callout.rule]]
action = "continue"
flow_context = ""
flow_context_callout = "nobody"

[[callout.rule]]
permit_bytes = -5
then = "reset"

[[callout.rule]]
action = "block"
permit_bytes = 10

[[callout.rule]]
action = "block"
then = "block"

[[callout.rule]]
flow_context_callout = "tag"
action = "block"
"""
    assert errors_of(text) == [
        "p.toml:3:23: conditional_on_flow must be true or false, not the string 'yes'",
        "p.toml:7:16: flow_context must be a non-empty string, not the string ''",
        "p.toml:8:24: flow_context_callout names no callout of this policy: 'nobody'",
        "p.toml:11:16: permit_bytes must be a byte count (an integer >= 0), not the integer -5",
        "p.toml:12:8: then must be block or drop_connection, not 'reset'",
        "p.toml:15:1: give either action or permit_bytes (which permits the first N bytes, then does `then`), "
        "not both",
        "p.toml:20:1: then is only for a permit_bytes or a pend rule",
        "p.toml:23:1: flow_context_callout names the callout a flow_context is for: give flow_context too",
    ]


BAD_LAYERS = """\
[[callout]]
key = "c"
conditional_on_flow = true

[[callout.rule]]
action = "continue"
flow_context = "x"

[[callout.rule]]
permit_bytes = 10
then = "drop_connection"

[[callout.rule]]
when_flow_context = "x"
action = "block"

[[filter]]
key = "at-ippacket"
layer = "INBOUND_IPPACKET_V4"
action = "callout_terminating"
callout = "c"
"""


def test_features_refused_where_windows_has_no_flow_or_stream() -> None:
    where = "at FWPM_LAYER_INBOUND_IPPACKET_V4, where filter 'at-ippacket' uses the callout"
    assert errors_of(BAD_LAYERS) == [
        f"p.toml:5:1: callout 'c' rule 1: flow_context (FwpsFlowAssociateContext0) is modelled at "
        f"FWPM_LAYER_ALE_FLOW_ESTABLISHED only, not {where}",
        f"p.toml:9:1: callout 'c' rule 2: permit_bytes counts stream data: FWPM_LAYER_STREAM_V4/V6 only, not {where}",
        "p.toml:9:1: callout 'c' rule 2: then = \"drop_connection\" (FWPS_STREAM_ACTION_DROP_CONNECTION) needs a "
        "callout_unknown filter, not callout_terminating (filter 'at-ippacket')",
        f"p.toml:13:1: callout 'c' rule 3: when_flow_context needs a layer with a data flow, not {where}",
        "p.toml:21:1: callout 'c' is conditional_on_flow (FWP_CALLOUT_FLAG_CONDITIONAL_ON_FLOW) but "
        "FWPM_LAYER_INBOUND_IPPACKET_V4 carries no data flow",
    ]


def test_cli_validate_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "p.toml"
    f.write_text(BAD_LAYERS, encoding="utf-8")
    assert validate.run(argparse.Namespace(file=str(f))) == 2
    err = capsys.readouterr().err
    assert f"{f}:21:1: callout 'c' is conditional_on_flow" in err and "Traceback" not in err


def test_dump_writes_flow_keys_back() -> None:
    p = parse_policy(GOOD, "p.toml")
    text = dump_policy(p)
    assert ('[[callout.rule]]\ncondition = [\n  { field = "IP_REMOTE_PORT", match = "equal", value = 80 },\n]\n'
            'action = "continue"\nflow_context = "http"\nflow_context_callout = "meter"\n') in text
    assert ('key = "meter"\ndefault = "continue"\nconditional_on_flow = true\n\n[[callout.rule]]\n'
            'permit_bytes = 1000\nthen = "drop_connection"\nwhen_flow_context = "http"\n') in text
    q = parse_policy(text, "again.toml")
    assert (q.callouts, q.filters) == (p.callouts, p.filters)


# ----------------------------------------------------------------------------- round trip

_LABELS = st.text(alphabet="abcxyz-_ 1", min_size=1, max_size=6).filter(lambda s: s.strip() == s)


@st.composite
def flow_policy(draw: st.DrawFn) -> str:
    """Two callouts: one tagging at FLOW_ESTABLISHED, one at STREAM (callout_unknown, so every
    ``then`` is allowed), with random flow keys."""
    out = ['[[callout]]\nkey = "tag"\ndefault = "continue"\n']
    for _ in range(draw(st.integers(0, 3))):
        rule = f'[[callout.rule]]\naction = "{draw(st.sampled_from(["continue", "permit", "block"]))}"\n'
        if draw(st.booleans()):
            rule += f"flow_context = {draw(_LABELS)!r}\n".replace("'", '"')
            if draw(st.booleans()):
                rule += 'flow_context_callout = "meter"\n'
        out.append(rule)
    cond = str(draw(st.booleans())).lower()
    out.append(f'[[callout]]\nkey = "meter"\nconditional_on_flow = {cond}\ndefault = "permit"\n')
    for _ in range(draw(st.integers(0, 3))):
        rule = "[[callout.rule]]\n"
        if draw(st.booleans()):
            rule += f"permit_bytes = {draw(st.integers(0, 2**40))}\n"
            then = draw(st.sampled_from([None, "block", "drop_connection"]))
            if then is not None:
                rule += f'then = "{then}"\n'
        else:
            rule += f'action = "{draw(st.sampled_from(["permit", "block", "continue", "absorb"]))}"\n'
        if draw(st.booleans()):
            rule += f"when_flow_context = {draw(_LABELS)!r}\n".replace("'", '"')
        if draw(st.booleans()):
            rule += f"hard = {str(draw(st.booleans())).lower()}\n"
        out.append(rule)
    out.append('[[filter]]\nkey = "t"\nlayer = "ALE_FLOW_ESTABLISHED_V4"\naction = "callout_inspection"\n'
               'callout = "tag"\n')
    out.append('[[filter]]\nkey = "m"\nlayer = "STREAM_V6"\naction = "callout_unknown"\ncallout = "meter"\n')
    return "\n".join(out)


@given(flow_policy())
def test_parse_dump_parse_is_identity(text: str) -> None:
    p = parse_policy(text, "p.toml")
    q = parse_policy(dump_policy(p), "dumped.toml")
    assert (q.callouts, q.filters, q.sublayers) == (p.callouts, p.filters, p.sublayers)
    assert dump_policy(q) == dump_policy(p)


@given(st.one_of(st.integers(-(2**62), -1), st.booleans(), st.floats(allow_nan=False, allow_infinity=False),
                 st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=5)))  # TOML strings: no controls
def test_bad_permit_bytes_is_one_message_at_its_place(value: object) -> None:
    shown = json.dumps(value, ensure_ascii=False)  # a TOML value of the same type (JSON strings, ints, floats, booleans are TOML)
    if isinstance(value, float) and "." not in shown and "e" not in shown:
        shown += ".0"
    errs = errors_of(f'[[callout]]\nkey = "c"\n\n[[callout.rule]]\npermit_bytes = {shown}\n')
    assert len(errs) == 1 and errs[0].startswith("p.toml:5:16: permit_bytes must be a byte count"), errs


# ----------------------------------------------------------------------------- inject-after-absorb

REINJECT = """\
[[callout]]
key = "dpi"
default = "continue"

[[callout.rule]]
condition = [ {{ field = "IP_REMOTE_PORT", value = 53 }} ]
action = "reinject"

[[filter]]
key = "f"
layer = "{layer}"
action = "{action}"
callout = "dpi"
"""


def test_reinject_parses_and_writes_back() -> None:
    p = parse_policy(REINJECT.format(layer="OUTBOUND_TRANSPORT_V4", action="callout_terminating"), "p.toml")
    assert p.callouts["dpi"].rules[0].action == "reinject"
    text = dump_policy(p)
    assert 'action = "reinject"\n' in text
    q = parse_policy(text, "again.toml")
    assert (q.callouts, q.filters) == (p.callouts, p.filters)


def test_reinject_refused_off_the_transport_layers_and_under_inspection() -> None:
    assert errors_of(REINJECT.format(layer="STREAM_V4", action="callout_terminating")) == [
        "p.toml:5:1: callout 'dpi' rule 1: reinject (clone, absorb, FwpsInjectTransportSendAsync0 / ReceiveAsync0) "
        "works at the transport and datagram-data layers, not at FWPM_LAYER_STREAM_V4, where filter 'f' uses the "
        "callout"]
    assert errors_of(REINJECT.format(layer="DATAGRAM_DATA_V6", action="callout_inspection")) == [
        "p.toml:5:1: callout 'dpi' rule 1: reinject needs a terminating callout filter (\"Types of Callouts\": "
        "FWP_ACTION_CALLOUT_TERMINATING), not callout_inspection (filter 'f')"]
    # a callout's default cannot be reinject (only a rule's action)
    assert errors_of('[[callout]]\nkey = "c"\ndefault = "reinject"\n') == [
        "p.toml:3:11: callout default must be permit, block, continue or absorb, not 'reinject'"]
