"""Policy files: ``action = "pend"`` rules (issue 15; core.pend) -- ``complete_after`` and
``then``, where they may be used, errors at file:line:col (exit 2 through the CLI), written
back by ``dump_policy`` and read again to the same policy (Hypothesis)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wfptui.core.model import CalloutRule
from wfptui.io.errors import InputError
from wfptui.io.policy_file import dump_policy, parse_policy

CALLOUT = """\
[[callout]]
key = "approver"
default = "continue"

[[callout.rule]]
condition = [{{ field = "IP_REMOTE_PORT", value = 443 }}]
action = "pend"
complete_after = {after}
{then}
"""

FILTER = """
[[filter]]
key = "approve"
layer = "{layer}"
action = "{action}"
callout = "approver"
"""


def policy(after: str = "0.25", then: str = 'then = "block"', layer: str = "ALE_AUTH_CONNECT_V4",
           action: str = "callout_terminating") -> str:
    return CALLOUT.format(after=after, then=then) + FILTER.format(layer=layer, action=action)


def errors_of(text: str) -> list[str]:
    with pytest.raises(InputError) as ei:
        parse_policy(text, "p.toml")
    return [str(d) for d in ei.value.diagnostics]


def test_a_pend_rule_parses_with_its_completion() -> None:
    p = parse_policy(policy(), "p.toml")
    (rule,) = p.callouts["approver"].rules
    assert (rule.action, rule.complete_after, rule.then) == ("pend", 0.25, "block")
    (rule,) = parse_policy(policy(after="2", then=""), "p.toml").callouts["approver"].rules
    assert (rule.complete_after, rule.then) == (2.0, "permit")  # then defaults to permit


def test_pend_errors_each_at_its_place() -> None:
    assert errors_of(policy(after='"soon"')) == [
        "p.toml:8:18: complete_after must be seconds from 0 to 86400, not the string 'soon'"]
    assert errors_of(policy(after="-1")) == [
        "p.toml:8:18: complete_after must be seconds from 0 to 86400, not the integer -1"]
    assert errors_of(policy(then='then = "drop_connection"')) == [
        "p.toml:9:8: then of a pend rule must be permit or block, not 'drop_connection'"]
    # without complete_after the pend waits for a `complete` step
    (rule,) = parse_policy(policy().replace("complete_after = 0.25\n", ""), "p.toml").callouts["approver"].rules
    assert (rule.action, rule.complete_after, rule.then) == ("pend", None, "block")
    text = policy().replace('action = "pend"', 'action = "block"')
    assert errors_of(text) == [
        'p.toml:8:1: complete_after is only for a pend rule (action = "pend")',
        "p.toml:9:1: then is only for a permit_bytes or a pend rule"]


def test_pend_only_where_windows_pends_with_a_terminating_filter() -> None:
    errs = errors_of(policy(layer="ALE_AUTH_LISTEN_V4"))
    assert errs[0] == (
        "p.toml:5:1: callout 'approver' rule 1: pend (FwpsPendOperation0) is modelled at "
        "FWPM_LAYER_ALE_AUTH_CONNECT and FWPM_LAYER_ALE_AUTH_RECV_ACCEPT only, not at FWPM_LAYER_ALE_AUTH_LISTEN_V4, "
        "where filter 'approve' uses the callout")
    assert len(errs) == 2 and errs[1].startswith("p.toml:6:14: field IP_REMOTE_PORT (callout 'approver' rule 1) is not available")
    assert errors_of(policy(layer="ALE_AUTH_RECV_ACCEPT_V6", action="callout_inspection")) == [
        "p.toml:5:1: callout 'approver' rule 1: pend needs a terminating callout filter (the pended classification "
        "is FWP_ACTION_BLOCK), not callout_inspection (filter 'approve')"]


def test_validate_exits_2_with_the_place(tmp_path: Path) -> None:
    f = tmp_path / "p.toml"
    f.write_text(policy(after="[1]"), encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "wfptui", "validate", str(f)], capture_output=True, text=True,
                       check=False)
    assert r.returncode == 2 and f"{f}:8:18: complete_after must be seconds" in r.stderr
    assert "Traceback" not in r.stderr


def test_dump_writes_a_pend_rule_back() -> None:
    text = dump_policy(parse_policy(policy(), "p.toml"))
    assert 'action = "pend"\ncomplete_after = 0.25\nthen = "block"\n' in text


@given(st.floats(0, 86400, allow_nan=False), st.sampled_from(["permit", "block"]),
       st.sampled_from(["ALE_AUTH_CONNECT_V4", "ALE_AUTH_CONNECT_V6", "ALE_AUTH_RECV_ACCEPT_V4",
                        "ALE_AUTH_RECV_ACCEPT_V6"]))
def test_parse_dump_parse_is_identity(after: float, then: str, layer: str) -> None:
    p = parse_policy(policy(after=json.dumps(after) if after != int(after) else repr(after), then=f'then = "{then}"',
                            layer=layer), "p.toml")
    assert p.callouts["approver"].rules[0] == CalloutRule(p.callouts["approver"].rules[0].conditions, "pend", None,
                                                          then=then, complete_after=after)
    q = parse_policy(dump_policy(p), "dumped.toml")
    assert (q.callouts, q.filters) == (p.callouts, p.filters)


@given(st.one_of(st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=4), st.booleans(),
                 st.integers(-(2**40), -1), st.integers(86401, 2**40)))
def test_bad_complete_after_is_one_message(value: object) -> None:
    errs = errors_of(policy(after=json.dumps(value, ensure_ascii=False)))
    assert len(errs) == 1 and errs[0].startswith("p.toml:8:18: complete_after must be seconds from 0 to 86400")


def test_complete_step_names_a_callout_of_the_host() -> None:
    from wfptui.io.scenario_file import parse_scenario

    base = ('name = "s"\n[[host]]\nname = "h"\naddress = ["10.0.0.1"]\n[host.policy]\n'
            + CALLOUT.format(after="1", then="").replace("[[callout", "[[host.policy.callout")
            + '[[step]]\nhost = "h"\ndo = "complete"\n')
    parse_scenario(base + 'callout = "approver"\n', "s.toml")  # fine
    for extra, want in [("", "s.toml:15:1: a 'complete' step needs `callout`: the callout whose pended "
                             "classifications complete (FwpsCompleteOperation0)"),
                        ('callout = "aprover"\n', "s.toml:18:11: host 'h' has no callout 'aprover' "
                                                   "(did you mean 'approver'?)")]:
        with pytest.raises(InputError) as ei:
            parse_scenario(base + extra, "s.toml")
        assert [str(d) for d in ei.value.diagnostics] == [want]
