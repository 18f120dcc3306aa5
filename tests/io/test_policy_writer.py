"""io.policy_writer: the one policy TOML writer (issue 13 item 3), and the loader's value memo.

* ``dump_policy(..., notes=...)`` writes each note above its object and still reads back
  equal (Hypothesis, on the random policies of test_policy_fuzz);
* ``wfptui import`` text is exactly ``dump_policy`` of the imported policy with the import's
  header and notes (no second writer);
* a filter without a filterId (id 0) is written without ``id``;
* the loader's memo of parsed condition values never changes a result: ``1``, ``true`` and
  ``"1"`` stay apart, and an error in a repeated value is reported at each place.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.io.test_policy_fuzz import _policy
from wfptui.core.model import Policy
from wfptui.io.errors import InputError
from wfptui.io.netsh_xml import parse_netsh, policy_toml
from wfptui.io.policy_file import dump_policy, parse_policy
from wfptui.io.policy_writer import condition_toml, granted_sids

_note_lines = st.lists(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]),
                               max_size=20), min_size=1, max_size=3)


@given(_policy(), st.data())
def test_notes_are_comments_and_the_file_reads_back_equal(p: Policy, data: st.DataObject) -> None:
    keys = [*p.sublayers, *p.callouts, *(f.key for f in p.filters)]
    chosen = data.draw(st.lists(st.booleans(), min_size=len(keys), max_size=len(keys)))
    notes = {k: data.draw(_note_lines) for k, yes in zip(keys, chosen, strict=True) if yes}
    text = dump_policy(p, header_comment="header\nsecond", notes=notes)
    q = parse_policy(text, "notes.toml")
    assert (q.filters, q.sublayers, q.callouts) == (p.filters, p.sublayers, p.callouts), text
    assert text.startswith("# header\n# second\n")
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line == "[[filter]]"]
    assert len(starts) == len(p.filters)
    for f, at in zip(p.filters, starts, strict=True):
        if f.key in notes:  # the note's lines come right before the filter's [[filter]] line
            want = [("# " + part).rstrip() for line in notes[f.key] for part in line.splitlines() or [""]]
            assert lines[at - len(want):at] == want


FILTER = (
    "<item><filterKey>{11111111-2222-3333-4444-555555555555}</filterKey><displayData><name>Block SMB</name>"
    "</displayData><layerKey>FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4</layerKey>"
    "<subLayerKey>{aaaaaaaa-2222-3333-4444-555555555555}</subLayerKey>"
    "<weight><type>FWP_UINT8</type><uint8>10</uint8></weight><filterCondition numItems=\"1\"><item>"
    "<fieldKey>FWPM_CONDITION_IP_LOCAL_PORT</fieldKey><matchType>FWP_MATCH_EQUAL</matchType>"
    "<conditionValue><type>FWP_UINT16</type><uint16>445</uint16></conditionValue></item></filterCondition>"
    "<action><type>FWP_ACTION_CALLOUT_TERMINATING</type><filterType>{bbbbbbbb-2222-3333-4444-555555555555}"
    "</filterType></action>{id}</item>"
)


def _dump(filter_id: str) -> bytes:
    item = FILTER.replace("{id}", filter_id)
    return f"<wfpdiag><filters>{item}</filters></wfpdiag>".encode()


def test_import_text_is_the_one_writer_with_header_and_notes() -> None:
    res = parse_netsh(_dump("<filterId>4242</filterId>"), "one.xml")
    text = policy_toml(res)
    assert text == dump_policy(res.policy, header_comment="\n".join(res.header), notes=res.notes)
    assert text == res.toml()
    assert text.startswith("# Imported by `wfptui import` from one.xml")
    assert "# ASSUMED weight 0" in text and "# ASSUMED behaviour" in text
    # the assumed callout's notes replace the writer's generic line (said once, not twice)
    assert "behaviour assumed" not in text
    q = parse_policy(text, "one.toml")
    assert (q.filters, q.sublayers, q.callouts) == (res.policy.filters, res.policy.sublayers, res.policy.callouts)


def test_a_filter_without_filter_id_is_written_without_id() -> None:
    res = parse_netsh(_dump(""), "noid.xml")
    (f,) = res.filters
    assert f.filter_id == 0
    text = res.toml()
    assert "\nid = " not in text
    (g,) = parse_policy(text, "noid.toml").filters
    assert g.filter_id == 70001 and g.key == f.key  # the loader's first free id


def test_condition_toml_sid_fallback_only_for_allow_only_descriptors() -> None:
    from wfptui.core.datatypes import DataType
    from wfptui.core.model import MatchType
    from wfptui.core.sddl import parse_sddl

    allow = parse_sddl("D:(A;;CC;;;S-1-5-19)(A;;CC;;;S-1-5-18)(A;;RC;;;S-1-5-20)")
    deny = parse_sddl("D:(D;;CC;;;S-1-5-19)(A;;CC;;;WD)")
    assert granted_sids(allow) == ["S-1-5-19", "S-1-5-18"]
    assert granted_sids(deny) is None
    # short enough for the loader: the SDDL itself
    sd_t = DataType.FWP_SECURITY_DESCRIPTOR_TYPE
    assert condition_toml("ALE_USER_ID", None, MatchType.FWP_MATCH_EQUAL, allow, sd_t) == allow.sddl


# ----------------------------------------------------------------------------- the loader's value memo

_RAWS: list[Any] = [80, True, "80", "http", [80, 81], ["80", 81], "0x50", 0, False, "", 70000, -1]


def _filter(i: int, raw: Any) -> str:
    from wfptui.io.policy_writer import toml_literal

    return (f'[[filter]]\nkey = "f{i}"\nlayer = "ALE_AUTH_RECV_ACCEPT_V4"\naction = "block"\n'
            f'condition = [ {{ field = "IP_LOCAL_PORT", match = "{"range" if isinstance(raw, list) else "equal"}", '
            f"value = {toml_literal(raw)} }} ]\n")


def _alone(raw: Any) -> tuple[object, str | None]:
    """The condition value (or the error message) of a one-filter file."""
    try:
        (f,) = parse_policy(_filter(0, raw), "one.toml").filters
    except InputError as exc:
        (d,) = exc.diagnostics
        return None, d.message
    return (f.conditions[0].value, f.conditions[0].dtype), None


@given(st.lists(st.sampled_from(range(len(_RAWS))), min_size=1, max_size=12))
def test_value_memo_never_changes_a_result(order: list[int]) -> None:
    text = "\n".join(_filter(i, _RAWS[n]) for i, n in enumerate(order))
    expected = [_alone(_RAWS[n]) for n in order]
    try:
        filters = parse_policy(text, "many.toml").filters
    except InputError as exc:
        # every bad value is reported, each at its own line (the memo keeps no errors)
        bad = [i for i, (_, err) in enumerate(expected) if err is not None]
        assert [d.message for d in exc.diagnostics] == [expected[i][1] for i in bad]
        assert [d.line for d in exc.diagnostics] == [6 * i + 5 for i in bad]
        return
    assert all(err is None for _, err in expected)
    assert [(f.conditions[0].value, f.conditions[0].dtype) for f in filters] == [v for v, _ in expected]


@given(st.text())
def test_toml_str_reads_back_as_the_same_text(text: str) -> None:
    """Every string, written by the one writer's quoting rule, reads back unchanged."""
    import tomllib

    from wfptui.io.policy_writer import toml_str

    assert tomllib.loads(f"x = {toml_str(text)}")["x"] == text
