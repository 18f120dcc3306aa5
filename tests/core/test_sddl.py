"""core.sddl: SDDL parsing and the DACL access check behind SD conditions (wfp-model.md §4.2)."""

from __future__ import annotations

import contextlib
import html
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wfptui.core.model import FWP_ACTRL_MATCH_FILTER, Ace, Token
from wfptui.core.sddl import (
    SddlError,
    access_check,
    canonical_sid,
    parse_sddl,
    parse_sid,
    sd_granting,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "wfp"
USER = "S-1-5-21-1-2-3-1001"


def _dump_sds() -> list[str]:
    out: set[str] = set()
    for name in ("filters-win11.xml", "wfpstate-win11.xml"):
        p = DATA / name
        if p.exists():
            out |= {
                html.unescape(s) for s in re.findall(r"<sd>([^<]*)</sd>", p.read_text(encoding="utf-8-sig"))
            }
    return sorted(out)


REAL_SDS = _dump_sds()


def test_every_real_dump_sd_parses() -> None:
    assert len(REAL_SDS) > 50
    for text in REAL_SDS:
        sd = parse_sddl(text)
        assert sd.sddl == text.strip()


def test_owner_group_dacl() -> None:
    sd = parse_sddl("O:SYG:SYD:(A;;CCRC;;;S-1-5-80-2009329905-444645132-2728249442-922493431-93864177)")
    assert sd.owner == "S-1-5-18" and sd.group == "S-1-5-18"
    assert sd.dacl == (Ace(True, 0x20001, "S-1-5-80-2009329905-444645132-2728249442-922493431-93864177"),)


def test_aliases_expand() -> None:
    sd = parse_sddl("O:LSD:(A;;CC;;;S-1-15-3-1)(A;;CC;;;WD)(A;;CC;;;AN)")
    assert sd.owner == "S-1-5-19"
    assert sd.dacl is not None
    assert [a.sid for a in sd.dacl] == ["S-1-15-3-1", "S-1-1-0", "S-1-5-7"]
    for alias, sid in (
        ("SY", "S-1-5-18"),
        ("LS", "S-1-5-19"),
        ("NS", "S-1-5-20"),
        ("BA", "S-1-5-32-544"),
        ("BU", "S-1-5-32-545"),
        ("AC", "S-1-15-2-1"),
        ("AU", "S-1-5-11"),
        ("IU", "S-1-5-4"),
    ):
        assert parse_sid(alias) == sid


def test_conditional_ace_from_real_dump() -> None:
    sd = parse_sddl(
        'O:SYG:SYD:(XA;;CC;;;WD;(WIN://SYSAPPID Contains "MSTeams_8wekyb3d8bbwe"))(A;;CC;;;S-1-15-3-1)'
    )
    assert sd.dacl is not None
    assert sd.dacl[0].condition == 'WIN://SYSAPPID Contains "MSTeams_8wekyb3d8bbwe"'
    # no claims in the simulated token: the allow callback ACE does not apply
    assert not access_check(sd, Token(USER), FWP_ACTRL_MATCH_FILTER)
    assert access_check(sd, Token(USER, frozenset({"S-1-15-3-1"})), FWP_ACTRL_MATCH_FILTER)


def test_conditional_deny_applies_when_unknown() -> None:
    sd = parse_sddl('D:(XD;;CC;;;WD;(WIN://SYSAPPID Contains "x"))(A;;CC;;;WD)')
    assert not access_check(sd, Token(USER))


def test_null_sacl_and_dacl_flags() -> None:
    sd = parse_sddl("D:P(A;NP;CC;;;WD)S:NO_ACCESS_CONTROL")
    assert sd.dacl is not None and len(sd.dacl) == 1
    assert parse_sddl("D:PAI(A;;CC;;;WD)").dacl is not None


def test_rights() -> None:
    assert parse_sddl("D:(A;;0x1;;;WD)").dacl == (Ace(True, 1, "S-1-1-0"),)
    assert parse_sddl("D:(A;;GA;;;WD)").dacl == (Ace(True, 0x10000000, "S-1-1-0"),)
    with pytest.raises(SddlError, match="unknown access right"):
        parse_sddl("D:(A;;ZZ;;;WD)")


@pytest.mark.parametrize(
    ("text", "msg"),
    [
        ("D:(AU;;CC;;;WD)", "unsupported ACE type"),
        ("D:(ML;;NW;;;LW)", "unsupported ACE type"),
        ("D:(OA;;CC;bf967aba-0de6-11d0-a285-00aa003049e2;;WD)", "unsupported ACE type"),
        ("D:(A;;CC;;;)", "names no SID"),
        ("D:(A;;CC;;;S-1-x)", "not a SID"),
        ("D:(A;;CC;;;DA)", "relative to a domain"),
        ("D:(A;;CC)", "6 fields"),
        ("D:(A;;CC;;;WD", "unbalanced"),
        ("hello", "not an SDDL"),
        ("", "empty"),
        ("O:SYO:SY", "given twice"),
        ("D:(A;QQ;CC;;;WD)", "unknown ACE flag"),
    ],
)
def test_errors(text: str, msg: str) -> None:
    with pytest.raises(SddlError, match=msg):
        parse_sddl(text)


def test_no_dacl_grants_empty_dacl_denies() -> None:
    assert access_check(parse_sddl("O:SY"), Token(USER))
    assert access_check(parse_sddl("D:NO_ACCESS_CONTROL"), Token(USER))
    assert not access_check(parse_sddl("D:"), Token(USER))


def test_order_semantics() -> None:
    deny_first = parse_sddl(f"D:(D;;CC;;;{USER})(A;;CC;;;WD)")
    allow_first = parse_sddl(f"D:(A;;CC;;;WD)(D;;CC;;;{USER})")
    assert not access_check(deny_first, Token(USER))
    assert access_check(allow_first, Token(USER))  # granted before the deny is reached
    assert access_check(deny_first, Token("S-1-5-18"))


def test_rights_accumulate() -> None:
    sd = parse_sddl("D:(A;;CC;;;WD)(A;;RC;;;BA)")
    both = 0x1 | 0x20000
    assert not access_check(sd, Token(USER), both)
    assert access_check(sd, Token(USER, frozenset({"S-1-5-32-544"})), both)


def test_other_rights_do_not_grant_match() -> None:
    assert not access_check(parse_sddl("D:(A;;RC;;;WD)"), Token(USER))
    assert not access_check(parse_sddl("D:(A;;GR;;;WD)"), Token(USER))
    assert access_check(parse_sddl("D:(A;;GA;;;WD)"), Token(USER))


def test_implicit_everyone_and_authenticated_users() -> None:
    assert access_check(parse_sddl("D:(A;;CC;;;AU)"), Token(USER))
    assert not access_check(parse_sddl("D:(A;;CC;;;AU)"), Token("S-1-5-7"))
    assert access_check(parse_sddl("D:(A;;CC;;;WD)"), Token("S-1-5-7"))


def test_inherit_only_ace_does_not_apply() -> None:
    sd = parse_sddl("D:(A;IO;CC;;;WD)")
    assert sd.dacl == ()
    assert not access_check(sd, Token(USER))


def test_sd_granting() -> None:
    sd = sd_granting(["S-1-5-18", "ls"])
    assert sd.sddl == "D:(A;;CC;;;S-1-5-18)(A;;CC;;;S-1-5-19)"
    assert access_check(sd, Token("S-1-5-19"))
    assert not access_check(sd, Token(USER))


def test_canonical_sid() -> None:
    assert canonical_sid("s-1-5-18") == "S-1-5-18"
    with pytest.raises(SddlError):
        canonical_sid("S-1-5-99999999999")


@given(st.lists(st.integers(0, 0xFFFFFFFF), min_size=1, max_size=6))
def test_sid_round_trip(subs: list[int]) -> None:
    sid = "S-1-5-" + "-".join(str(s) for s in subs)
    assert canonical_sid(sid.lower()) == sid
    sd = sd_granting([sid])
    assert access_check(sd, Token(sid))


@given(st.text(max_size=60))
def test_random_text_never_crashes(text: str) -> None:
    with contextlib.suppress(SddlError):
        parse_sddl(text)
