"""The TUI's "flipped verdict" pairs classifications as ``wfptui diff`` does (issue 13 item 3).

One function, ``core.diff.record_identity``: host, layer, packet, op, direction, reauth and
the 5-tuple, not the flow id (docs/decisions-engine.md, "One identity for a flip").
"""

from __future__ import annotations

from wfptui.core.diff import diff_traces
from wfptui.core.trace import ClassifyRecord
from wfptui.tui.runview import find_flips


def _c(seq: int, port: int, action: str, flow: int) -> ClassifyRecord:
    return ClassifyRecord(seq=seq, t=0.0, host="server", layer="STREAM_V4", layer_id=20, packet="DATA", op=None,
                          direction="inbound", flow=flow, reauth=False, action=action,
                          filter="f" if action == "block" else None, filter_id=None, sublayer=None,
                          terminating=(), veto=False,
                          fields={"IP_LOCAL_PORT": port, "IP_REMOTE_PORT": 50000 + port, "IP_PROTOCOL": 6})


def test_a_renumbered_flow_still_pairs_and_its_flip_is_found() -> None:
    # before: connections on ports 80 (flow 1) and 81 (flow 2, blocked); after the edit the
    # port-80 connection never gets a flow, so port 81's is flow 1 now, and permitted
    old = [_c(1, 80, "permit", 1), _c(2, 81, "block", 2)]
    new = [_c(1, 81, "permit", 1)]
    assert find_flips(old, new) == {0}
    d = diff_traces(old, new)
    assert [(c.index_a, c.index_b) for c in d.changes] == [(1, 0)]
    assert d.verdicts and d.verdicts[0].action_a == "block" and d.verdicts[0].action_b == "permit"


def test_flow_numbering_alone_flips_nothing() -> None:
    old = [_c(1, 80, "permit", 1), _c(2, 81, "block", 2)]
    new = [_c(1, 80, "permit", 7), _c(2, 81, "block", 9)]
    assert find_flips(old, new) == set()
