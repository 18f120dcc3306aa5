"""Mermaid export: lanes per host, packets as messages, blocks as -x and notes, safe text."""

from __future__ import annotations

import io
import re

from wfptui.core.model import Terminating
from wfptui.core.trace import ClassifyRecord, ExpectRecord, PolicyRecord, StackRecord
from wfptui.io.export import export, mermaid_escape, to_mermaid

HOSTS = [{"name": "client", "addresses": ["10.0.0.1"]}, {"name": "server", "addresses": ["10.0.0.2"]}]


def _c(seq: int, host: str, layer: str, packet: str | None, direction: str | None, remote: str | None,
       action: str = "none", filt: str | None = None, op: str | None = None, reauth: bool = False) -> ClassifyRecord:
    term = (Terminating(filt, 1, "s", action, False),) if filt else ()
    fields = {"IP_REMOTE_ADDRESS": remote} if remote else {}
    return ClassifyRecord(seq, 0.0, host, layer, 1, packet, op, direction, 1, reauth, action, filt,
                          1 if filt else None, "s" if filt else None, term, False, fields)


def test_escape() -> None:
    assert mermaid_escape("a;b#c:d") == "a#59;b#35;c#58;d"
    assert mermaid_escape("x<y>{z}\n") == "x#lt;y#gt;#123;z#125; "


def test_sequence_diagram() -> None:
    recs = [
        _c(1, "client", "ALE_AUTH_CONNECT_V4", None, "outbound", "10.0.0.2", op="connect"),
        _c(2, "client", "OUTBOUND_TRANSPORT_V4", "SYN", "outbound", "10.0.0.2"),
        _c(3, "server", "INBOUND_TRANSPORT_V4", "SYN", "inbound", "10.0.0.1"),
        _c(4, "server", "ALE_AUTH_RECV_ACCEPT_V4", "SYN", "inbound", "10.0.0.1", "block", "no-web"),
        StackRecord(5, 0.0, "server", "rst-sent", None, "to 10.0.0.1:49152"),
        _c(6, "client", "OUTBOUND_TRANSPORT_V4", "DATA", "outbound", "8.8.8.8"),
        PolicyRecord(7, 0.0, "server", ("no-web",), ()),
        ExpectRecord(8, False, {"host": "server", "action": "block"}, 0, "no match; expected"),
    ]
    out = to_mermaid(recs, HOSTS, title="t: x")
    lines = out.splitlines()
    assert lines[0] == "sequenceDiagram"
    assert "    %% t#58; x" in lines
    assert "    participant client as client 10.0.0.1" in lines
    assert "    participant server as server 10.0.0.2" in lines
    assert "    participant network as network" in lines
    assert "    Note over client: connect at ALE_AUTH_CONNECT_V4" in lines
    syn = [ln for ln in lines if "SYN" in ln]
    assert syn == ["    client-xserver: SYN<br/>client#58; OUTBOUND_TRANSPORT_V4<br/>server#58; INBOUND_TRANSPORT_V4, "
                   "ALE_AUTH_RECV_ACCEPT_V4"]
    assert "    Note over server: BLOCK at ALE_AUTH_RECV_ACCEPT_V4 by no-web" in lines
    assert "    Note over server: rst-sent (to 10.0.0.1#58;49152)" in lines
    assert any(ln.startswith("    client->>network: DATA") for ln in lines)
    assert "    Note over server: policy change +no-web" in lines
    assert any(ln.startswith("    Note over client,network: expect") and "FAILED" in ln for ln in lines)
    for ln in lines[1:]:
        if ln.startswith("    %%"):
            continue
        text = ln.split(": ", 1)[1] if ": " in ln else ""
        assert not set(re.sub(r"#\w+;|<br/>", "", text)) & set(";#:"), ln


def test_odd_host_names_become_safe_ids() -> None:
    recs = [_c(1, "end", "OUTBOUND_TRANSPORT_V4", "SYN", "outbound", "10.0.0.2"),
            _c(2, "my host", "INBOUND_TRANSPORT_V4", "SYN", "inbound", "10.0.0.1")]
    hosts = [{"name": "end", "addresses": ["10.0.0.1"]}, {"name": "my host", "addresses": ["10.0.0.2"]}]
    out = to_mermaid(recs, hosts)
    assert "participant h_end as end 10.0.0.1" in out
    assert "participant my_host as my host 10.0.0.2" in out
    assert "h_end->>my_host: SYN" in out


def test_other_formats_use_the_trace_writer() -> None:
    recs = [_c(1, "client", "OUTBOUND_TRANSPORT_V4", "SYN", "outbound", "10.0.0.2")]
    buf = io.StringIO()
    export(recs, "jsonl", buf)
    assert buf.getvalue().count("\n") == 2 and '"kind": "classify"' in buf.getvalue()
    assert buf.getvalue().startswith('{"kind": "header", "format": "wfptui-trace"')
