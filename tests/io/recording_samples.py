"""Synthetic trace records and inputs for the recording tests (no engine needed)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from wfptui.core.model import Terminating
from wfptui.core.trace import (
    AuditRecord,
    ClassifyRecord,
    ExpectRecord,
    NetEventRecord,
    PolicyRecord,
    StackRecord,
    TraceRecord,
)

LAYERS = [("ALE_AUTH_CONNECT_V4", 48, "outbound"), ("OUTBOUND_TRANSPORT_V4", 20, "outbound"),
          ("INBOUND_TRANSPORT_V4", 12, "inbound"), ("ALE_AUTH_RECV_ACCEPT_V4", 44, "inbound"),
          ("ALE_FLOW_ESTABLISHED_V4", 52, "inbound"), ("INBOUND_IPPACKET_V4", 2, "inbound")]
PACKETS = ["SYN", "SYN-ACK", "ACK", "DATA", "DATA", "DATA", "ACK"]


def synthetic_records(n: int, seed: int = 1, *, flows: int = 50) -> list[TraceRecord]:
    """``n`` plausible trace records: mostly classifications, some stack/net/audit/policy/expect."""
    rnd = random.Random(seed)
    out: list[TraceRecord] = []
    t = 0.0
    for seq in range(n):
        t += rnd.choice([0.0, 0.000001, 0.000125, 0.001])
        host = rnd.choice(["client", "server"])
        flow = rnd.randrange(1, flows + 1)
        r = rnd.random()
        if r < 0.9:
            layer, layer_id, direction = rnd.choice(LAYERS)
            blocked = rnd.random() < 0.1
            term = (Terminating("no-web", 70001, "corp", "block", True),) if blocked else ()
            fields = {"IP_PROTOCOL": 6, "IP_LOCAL_ADDRESS": "10.0.0.2" if host == "server" else "10.0.0.1",
                      "IP_REMOTE_ADDRESS": "10.0.0.1" if host == "server" else "10.0.0.2",
                      "IP_LOCAL_PORT": 80 if host == "server" else 49152 + flow,
                      "IP_REMOTE_PORT": 49152 + flow if host == "server" else 80,
                      "FLAGS": rnd.choice([0, 0, 0x40]), "INTERFACE_INDEX": 2,
                      "ALE_APP_ID": "\\device\\harddiskvolume3\\srv\\web.exe"}
            out.append(ClassifyRecord(
                seq=seq, t=t, host=host, layer=layer, layer_id=layer_id, packet=rnd.choice(PACKETS), op=None,
                direction=direction, flow=flow, reauth=rnd.random() < 0.05,
                action="block" if blocked else rnd.choice(["permit", "none"]),
                filter="no-web" if blocked else None, filter_id=70001 if blocked else None,
                sublayer="corp" if blocked else None, terminating=term, veto=False, fields=fields))
        elif r < 0.95:
            out.append(StackRecord(seq=seq, t=t, host=host, event=rnd.choice(["rst-sent", "data-delivered"]),
                                   flow=flow, detail="1200 bytes", data={"bytes": 1200}))
        elif r < 0.97:
            out.append(NetEventRecord(seq=seq, t=t, host=host, type="CLASSIFY_DROP", filter_id=70001,
                                      layer_id=44, direction="MS_FWP_DIRECTION_IN", flow=flow,
                                      data={"remoteAddress": "10.0.0.1", "remotePort": 49152 + flow}))
        elif r < 0.99:
            out.append(AuditRecord(seq=seq, t=t, host=host, event_id=5157, filter_id=70001, layer_id=44,
                                   flow=flow, data={"Application": "\\device\\harddiskvolume3\\srv\\web.exe",
                                                    "SourcePort": 80, "Nested": [1, {"a": [2, 3]}]}))
        else:
            out.append(PolicyRecord(seq=seq, t=t, host=host, added=("no-web",), removed=(),
                                    reauth_layers=("ALE_AUTH_RECV_ACCEPT_V4",)))
    out.append(ExpectRecord(seq=n, ok=True, expect={"host": "server", "action": "block"}, matched=2,
                            message="2 records match"))
    return out


def sample_inputs() -> list[dict[str, Any]]:
    return [{"index": 0, "do": "listen", "host": "server", "app": "web", "proto": "tcp", "port": 80,
             "socket": "srv"},
            {"index": 1, "do": "connect", "host": "client", "app": "browser", "to": "server:80", "socket": "c1"}]


RECORDINGS = Path(__file__).resolve().parents[2] / "recordings"


def real_recording_bytes(name: str = "tcp-reauth-block") -> bytes | None:
    """A committed recording made by the engine from a real scenario (None if absent)."""
    path = RECORDINGS / f"{name}.wfpr"
    return path.read_bytes() if path.is_file() else None
