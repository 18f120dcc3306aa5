"""Issue 13 item 3: one explanation model (core.explain) rendered by the inspector, ``explain``
text and ``explain`` JSON; the hard/soft/veto sentence is written once (Decision.sentence)."""

from __future__ import annotations

from pathlib import Path

from tests.tui.conftest import SERVER_POLICY_BLOCK, make_source
from wfptui.core.explain import Decision, explain, explain_json, explain_text
from wfptui.core.model import ClassifyResult
from wfptui.core.trace import ClassifyRecord
from wfptui.tui.backend import Backend
from wfptui.tui.runview import RunView
from wfptui.tui.widgets.inspector import decision_of, inspect_text


def run(tmp_path: Path, policy: str) -> RunView:
    source = make_source(tmp_path, policy)
    return Backend().run(source.scenario, source.policies)


def classified(view: RunView) -> list[tuple[ClassifyRecord, ClassifyResult]]:
    out = []
    for record in view.records:
        if isinstance(record, ClassifyRecord):
            result = view.result_for(record)
            assert isinstance(result, ClassifyResult)
            out.append((record, result))
    return out


def test_every_rendering_says_the_same_sentence(tmp_path: Path) -> None:
    view = run(tmp_path, SERVER_POLICY_BLOCK)
    pairs = classified(view)
    assert any(r.action == "block" for r, _ in pairs) and any(r.action == "none" for r, _ in pairs)
    for record, result in pairs:
        sentence = Decision.of(result).sentence()
        assert explain_text(result, {}).splitlines()[-1] == f"Final: {sentence}"
        assert explain_json(result, {})["explanation"] == f"Final: {sentence}"
        assert f"Why       {sentence}" in inspect_text(record, result).plain


def test_the_sentence_words(tmp_path: Path) -> None:
    view = run(tmp_path, SERVER_POLICY_BLOCK)
    block = next(res for rec, res in classified(view) if rec.action == "block")
    assert Decision.of(block).sentence() == (
        "BLOCK by filter 'no-web' in sublayer 'corp' (hard block; lower sublayers cannot override)")
    assert Decision("none").sentence() == "nothing decided: permitted by default (action none)"
    veto = Decision("block", "'callout-block'", "low", True, True, vetoed="'allow-all'")
    assert veto.reason() == "veto: a callout block overrode the hard permit of filter 'allow-all'; audit 5153"
    silent = Decision("block", "'stealth'", "s", True, silent=True)
    assert silent.reason().endswith("; silent drop: no RST or ICMP error, no net event, no audit")


def test_a_recorded_verdict_gives_the_same_sentence_as_the_full_arbitration(tmp_path: Path) -> None:
    """The inspector without the arbitration (a recording's verdicts only) words it the same."""
    view = run(tmp_path, SERVER_POLICY_BLOCK)
    for record, result in classified(view):
        assert decision_of(record, None).sentence() == decision_of(record, result).sentence()
        assert f"Why       {Decision.of(result).sentence()}" in inspect_text(record, None).plain


def test_the_model_holds_what_the_renderings_show(tmp_path: Path) -> None:
    view = run(tmp_path, SERVER_POLICY_BLOCK)
    record, result = next((rec, res) for rec, res in classified(view) if rec.action == "block")
    ex = explain(result, {"IP_LOCAL_PORT": 80})
    assert [s.result for s in ex.sublayers] == list(result.sublayers)
    (step,) = ex.sublayers
    assert [fs.filter.key for fs in step.filters] == ["no-web"]
    (ends,) = [fs for fs in step.filters if fs.ends]
    assert ends.eval is step.result.deciding
    assert [(c.condition.field, c.held, c.text) for c in ends.conditions] == [("IP_LOCAL_PORT", True, "80")]
    assert step.effect_text == "decided: the first decision at this layer"
    assert ex.decision == Decision.of(result) and ex.near is None
    assert explain(result).sublayers[0].filters[0].conditions == ()  # values unknown: no checks
