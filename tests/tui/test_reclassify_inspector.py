"""The inspector tells a reclassified bind / listen (IS_RECLASSIFY) from a reauthorized flow."""

from __future__ import annotations

from tests.core._scen import classify, run, two_hosts
from tests.core.test_reclassify import _BLOCK_LISTEN, _LISTEN
from wfptui.tui.widgets.inspector import inspect_text


def test_inspector_names_a_reclassification() -> None:
    r = run(two_hosts(_LISTEN.format(to="server:80", addr="10.0.0.2") + _BLOCK_LISTEN.format(v=4, to="server:80")))
    rec = classify(r, host="server", layer="ALE_AUTH_LISTEN_V4", reauth=True)[0]
    assert "↻ reclassification (IS_RECLASSIFY)" in inspect_text(rec, r.results[rec.seq]).plain
    flow = run(two_hosts(_LISTEN.format(to="server:80", addr="10.0.0.2") + '''
[[step]]
do = "policy"
host = "server"
add = [ { key = "x", layer = "ALE_AUTH_RECV_ACCEPT_V4", action = "permit" } ]

[[step]]
do = "send"
socket = "c1"
'''))
    re = classify(flow, host="server", layer="ALE_AUTH_RECV_ACCEPT_V4", reauth=True)[0]
    assert "↻ reauthorization" in inspect_text(re, flow.results[re.seq]).plain
