"""Policy files: ``[[callout.rule]]`` (issue 15) -- parsed with the filters' condition parser,
errors with file:line:col (exit 2 through the CLI), written back by ``dump_policy`` and read
again to the same policy (Hypothesis)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wfptui.commands import validate
from wfptui.core.datatypes import DataType
from wfptui.core.model import AddrMask, CalloutRule, Condition, MatchType
from wfptui.io.errors import InputError
from wfptui.io.policy_file import dump_policy, parse_policy

GUARD = """\
[[callout]]
key = "proxy-guard"
default = "continue"

[[callout.rule]]
condition = [{ field = "IP_REMOTE_PORT", match = "equal", value = 443 },
             { field = "IP_REMOTE_ADDRESS", value = "10.1.0.0/16" }]
action = "block"
hard = true

[[callout.rule]]
action = "absorb"
"""

FILTER = """
[[filter]]
key = "guard"
layer = "{layer}"
action = "callout_terminating"
callout = "proxy-guard"
"""


def errors_of(text: str, name: str = "p.toml") -> list[str]:
    with pytest.raises(InputError) as ei:
        parse_policy(text, name)
    return [str(d) for d in ei.value.diagnostics]


def test_rules_parse_in_order_with_the_filter_condition_syntax() -> None:
    p = parse_policy(GUARD + FILTER.format(layer="ALE_AUTH_CONNECT_V4"), "p.toml")
    co = p.callouts["proxy-guard"]
    assert co.returns == "continue" and not co.hard
    assert co.rules == (
        CalloutRule((Condition("IP_REMOTE_PORT", MatchType.FWP_MATCH_EQUAL, 443, DataType.FWP_UINT16),
                     Condition("IP_REMOTE_ADDRESS", MatchType.FWP_MATCH_EQUAL, AddrMask(0x0A010000, 16, 32),
                               DataType.FWP_V4_ADDR_MASK)), "block", True),
        CalloutRule((), "absorb", None),
    )
    assert (co.rules[0].loc.line if co.rules[0].loc else 0) == 5


def test_returns_is_the_default_and_existing_files_keep_their_meaning() -> None:
    p = parse_policy('[[callout]]\nkey = "c"\nreturns = "block"\n', "p.toml")
    assert (p.callouts["c"].returns, p.callouts["c"].rules) == ("block", ())
    assert 'returns = "block"' in dump_policy(p)


def test_rule_field_must_exist_where_the_callout_is_used() -> None:
    assert errors_of(GUARD + FILTER.format(layer="ALE_AUTH_LISTEN_V4")) == [
        "p.toml:6:14: field IP_REMOTE_PORT (callout 'proxy-guard' rule 1) is not available at "
        "FWPM_LAYER_ALE_AUTH_LISTEN_V4, where filter 'guard' uses the callout",
        "p.toml:7:14: field IP_REMOTE_ADDRESS (callout 'proxy-guard' rule 1) is not available at "
        "FWPM_LAYER_ALE_AUTH_LISTEN_V4, where filter 'guard' uses the callout",
    ]


def test_rule_errors_exact_places() -> None:
    text = """\
[[callout]]
key = "c"
returns = "permit"
default = "block"

[[callout.rule]]
condition = [{ field = "IP_REMOTE_PORTT", value = 1 }]
action = "drop"
colour = 1

[[callout.rule]]
hard = "yes"
"""
    errs = errors_of(text)
    assert errs[0] == "p.toml:4:1: give either returns or default (the same thing), not both"
    assert errs[1].startswith("p.toml:7:24: unknown field 'IP_REMOTE_PORTT' (did you mean IP_REMOTE_PORT")
    assert errs[2:] == [
        "p.toml:8:10: rule action must be permit, block, continue, absorb, reinject, pend or redirect, not 'drop'",
        "p.toml:9:1: unknown key 'colour' in [[callout.rule]]",
        "p.toml:11:1: missing required key 'action' (permit, block, continue or absorb)",
        "p.toml:12:8: hard must be true or false, not the string 'yes'",
    ]


def test_bad_default_and_rule_shape() -> None:
    assert errors_of('[[callout]]\nkey = "c"\ndefault = "unregistered"\n') == [
        "p.toml:3:11: callout default must be permit, block, continue or absorb, not 'unregistered'"]
    assert errors_of('[callout]\nkey = "c"\n')[0].startswith("p.toml:1:")
    assert errors_of('[[callout]]\nkey = "c"\nrule = 3\n') == [
        "p.toml:3:8: rule must be an array of tables ([[callout.rule]]), not the integer 3"]


def test_cli_validate_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "p.toml"
    f.write_text(GUARD + FILTER.format(layer="ALE_AUTH_LISTEN_V4"), encoding="utf-8")
    assert validate.run(argparse.Namespace(file=str(f))) == 2
    err = capsys.readouterr().err
    assert f"{f}:6:14: field IP_REMOTE_PORT" in err and "Traceback" not in err


def test_dump_writes_rules_back() -> None:
    p = parse_policy(GUARD + FILTER.format(layer="ALE_AUTH_CONNECT_V4"), "p.toml")
    text = dump_policy(p)
    assert text.startswith(
        '[[callout]]\nkey = "proxy-guard"\ndefault = "continue"\n\n[[callout.rule]]\ncondition = [\n'
        '  { field = "IP_REMOTE_PORT", match = "equal", value = 443 },\n'
        '  { field = "IP_REMOTE_ADDRESS", match = "equal", value = "10.1.0.0/16" },\n]\n'
        'action = "block"\nhard = true\n\n[[callout.rule]]\naction = "absorb"\n\n[[filter]]\n')
    q = parse_policy(text, "again.toml")
    assert (q.callouts, q.filters) == (p.callouts, p.filters)


# ----------------------------------------------------------------------------- round trip

_CONDS = [
    '{ field = "IP_REMOTE_PORT", value = %d }',
    '{ field = "IP_REMOTE_PORT", match = "range", value = [%d, 70000] }',
    '{ field = "IP_REMOTE_ADDRESS", value = "10.%d.0.0/16" }',
    '{ field = "IP_PROTOCOL", match = "not_equal", value = %d }',
    '{ field = "ALE_APP_ID", value = \'C:\\\\app%d.exe\' }',
]


@st.composite
def rule_text(draw: st.DrawFn) -> str:
    conds = [draw(st.sampled_from(_CONDS)) % draw(st.integers(0, 200))
             for _ in range(draw(st.integers(0, 3)))]
    conds = [c.replace("70000", "65535") for c in conds]
    out = "[[callout.rule]]\n"
    if conds:
        out += "condition = [" + ", ".join(conds) + "]\n"
    out += f'action = "{draw(st.sampled_from(["permit", "block", "continue", "absorb"]))}"\n'
    hard = draw(st.sampled_from([None, True, False]))
    if hard is not None:
        out += f"hard = {str(hard).lower()}\n"
    return out


@st.composite
def policy_text(draw: st.DrawFn) -> str:
    out = []
    for i in range(draw(st.integers(1, 3))):
        key = "returns" if draw(st.booleans()) else "default"
        ret = draw(st.sampled_from(["permit", "block", "continue", "absorb"]))
        out.append(f'[[callout]]\nkey = "c{i}"\n{key} = "{ret}"\nhard = {str(draw(st.booleans())).lower()}\n')
        out += [draw(rule_text()) for _ in range(draw(st.integers(0, 3)))]
        out.append(f'[[filter]]\nkey = "f{i}"\nlayer = "ALE_AUTH_CONNECT_V4"\naction = "callout_unknown"\n'
                   f'callout = "c{i}"\n')
    return "\n".join(out)


@given(policy_text())
def test_parse_dump_parse_is_identity(text: str) -> None:
    p = parse_policy(text, "p.toml")
    q = parse_policy(dump_policy(p), "dumped.toml")
    assert (q.callouts, q.filters, q.sublayers) == (p.callouts, p.filters, p.sublayers)
    assert dump_policy(q) == dump_policy(p)


# ----------------------------------------------------------------------------- the scenario

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "callout-rules.toml"


def test_scenario_layer_sequence_verdicts_and_deciding_filters() -> None:
    from wfptui.core.engine import run_scenario
    from wfptui.core.explain import explain_text
    from wfptui.core.trace import ClassifyRecord
    from wfptui.io.scenario_file import load_scenario

    res = run_scenario(load_scenario(SCENARIO))
    assert res.ok
    laptop = [(r.layer, r.packet or r.op, r.action, r.filter, r.sublayer,
               tuple((t.filter, t.action, t.hard) for t in r.terminating))
              for r in res.records if isinstance(r, ClassifyRecord) and r.host == "laptop"]
    bind = [("ALE_BIND_REDIRECT_V4", "bind", "none", None, None, ()),
            ("ALE_RESOURCE_ASSIGNMENT_V4", "bind", "none", None, None, ())]
    connect = [("ALE_CONNECT_REDIRECT_V4", "connect", "none", None, None, ())]
    handshake = [("OUTBOUND_TRANSPORT_V4", "SYN", "none", None, None, ()),
                 ("OUTBOUND_IPPACKET_V4", "SYN", "none", None, None, ()),
                 ("INBOUND_IPPACKET_V4", "SYN-ACK", "none", None, None, ()),
                 ("INBOUND_TRANSPORT_V4", "SYN-ACK", "none", None, None, ()),
                 ("ALE_FLOW_ESTABLISHED_V4", "ACK", "none", None, None, ()),
                 ("OUTBOUND_TRANSPORT_V4", "ACK", "none", None, None, ()),
                 ("OUTBOUND_IPPACKET_V4", "ACK", "none", None, None, ())]
    assert laptop == [
        # corp:443 -- rule 1, hard block; its discard twin, then connect-failed
        *bind, *connect,
        ("ALE_AUTH_CONNECT_V4", "connect", "block", "guard-connect", "guard", (("guard-connect", "block", True),)),
        ("ALE_AUTH_CONNECT_V4_DISCARD", "connect", "none", None, None, ()),
        # public:443 -- the default, a soft permit
        *bind, *connect,
        ("ALE_AUTH_CONNECT_V4", "connect", "permit", "guard-connect", "guard", (("guard-connect", "permit", False),)),
        *handshake,
        # corp:8443 -- rule 2, hard permit; corp-it's static block is kept out
        *bind, *connect,
        ("ALE_AUTH_CONNECT_V4", "connect", "permit", "guard-connect", "guard",
         (("guard-connect", "permit", True), ("it-block-8443", "block", True))),
        *handshake,
    ]
    stack = [r.event for r in res.records if getattr(r, "kind", "") == "stack" and r.host == "laptop"]
    assert stack[0] == "connect-failed"
    # the explanation names the rule that decided each connect
    texts = [explain_text(res.results[r.seq], {}) for r in res.records
             if isinstance(r, ClassifyRecord) and r.host == "laptop" and r.layer == "ALE_AUTH_CONNECT_V4"]
    assert ["=> block (callout 'proxy-guard' rule 1 (IP_REMOTE_PORT = 443 and IP_REMOTE_ADDRESS = 10.1.0.0/16): "
            "block, hard)" in t for t in texts] == [True, False, False]
    assert "=> permit (callout 'proxy-guard' default (no rule matched): permit, soft)" in texts[1]
    assert "=> permit (callout 'proxy-guard' rule 2 (IP_REMOTE_PORT = 8443): permit, hard)" in texts[2]
    assert "Effect: kept: the permit of 'guard-connect' (Proxy guard (callout)) is hard" in texts[2]


def test_rule_value_must_fit_the_layer_where_the_callout_is_used() -> None:
    """Rules are parsed without a layer; an IPv4 network is refused where a _V6 filter uses the callout."""
    assert errors_of(GUARD + FILTER.format(layer="ALE_AUTH_CONNECT_V6")) == [
        "p.toml:7:14: callout 'proxy-guard' rule 1: IP_REMOTE_ADDRESS is an IPv6 address at this layer; "
        "'10.1.0.0/16' is an IPv4 address (use the _V4 layer), at FWPM_LAYER_ALE_AUTH_CONNECT_V6 where filter "
        "'guard' uses the callout",
    ]


ABSORB_SCENARIO = """\
name = "absorb reaches no discard layer"
[[host]]
name = "laptop"
address = ["192.168.1.10"]
app = [ { name = "browser", path = 'C:\\\\b.exe' } ]
[host.policy]
[[host.policy.callout]]
key = "swallow"
default = "continue"
[[host.policy.callout.rule]]
condition = [{ field = "IP_REMOTE_PORT", value = 443 }]
action = "absorb"
[[host.policy.callout.rule]]
condition = [{ field = "IP_REMOTE_PORT", value = 80 }]
action = "block"
[[host.policy.filter]]
key = "swallow-connect"
layer = "ALE_AUTH_CONNECT_V4"
action = "callout_terminating"
callout = "swallow"
[[host]]
name = "web"
address = ["10.0.0.5"]
app = [ { name = "srv", path = 'C:\\\\srv.exe' } ]
[[step]]
host = "laptop"
do = "connect"
app = "browser"
to = "web:443"
[[step]]
host = "laptop"
do = "connect"
app = "browser"
to = "web:80"
"""


def test_an_absorbed_block_reaches_no_discard_layer_and_logs_nothing(tmp_path: Path) -> None:
    """FWPS_CLASSIFY_OUT_FLAG_ABSORB: "the packet will not hit any of the WFP discard layers, nor
    will it cause audit events" ("Types of Callouts"); a plain callout block goes on to the
    discard twin and logs its drop."""
    from wfptui.core.engine import run_scenario
    from wfptui.core.trace import ClassifyRecord
    from wfptui.io.scenario_file import load_scenario

    path = tmp_path / "s.toml"
    path.write_text(ABSORB_SCENARIO)
    res = run_scenario(load_scenario(path))
    rows = [(r.kind, getattr(r, "layer", None) or getattr(r, "event", None) or getattr(r, "type", None),
             getattr(r, "action", None))
            for r in res.records if r.host == "laptop" and not (isinstance(r, ClassifyRecord) and r.action == "none"
                                                               and not r.layer.endswith("_DISCARD"))]
    assert rows == [
        ("classify", "ALE_AUTH_CONNECT_V4", "block"),  # 443: absorbed -- no discard layer, no event
        ("stack", "connect-failed", None),
        ("classify", "ALE_AUTH_CONNECT_V4", "block"),  # 80: a plain block
        ("net_event", "CLASSIFY_DROP", None),
        ("audit", None, None),
        ("classify", "ALE_AUTH_CONNECT_V4_DISCARD", "none"),
        ("stack", "connect-failed", None),
    ]
    from wfptui.core.explain import explain_text

    absorbed = next(r for r in res.records if isinstance(r, ClassifyRecord) and r.action == "block")
    assert explain_text(res.results[absorbed.seq], {}).rstrip().endswith(
        "; absorbed (FWPS_CLASSIFY_OUT_FLAG_ABSORB): no discard layer, no net event, no audit)")
