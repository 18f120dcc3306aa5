"""One Security-log ``<Event>`` (audit events 5152–5159) → :class:`Observation`.

Field names are those of the EventData in Microsoft's event pages
(MicrosoftDocs/windows-itpro-docs, ``windows/security/threat-protection/auditing/``
``event-5152.md`` … ``event-5159.md``).

**Source / Dest rule.** The pages describe *Source Address* / *Source Port* as the local
end ("local IP address on which application received the connection", "port number on
which application received the connection") and *Destination Address* / *Destination Port*
as the other machine ("IP address *from* which connection was received or initiated",
"port number which was used from remote machine to initiate connection"), whatever the
Direction — event-5156.md and event-5157.md say so in their field descriptions, and the
5156 sample agrees (inbound, LayerRTID 44 = ALE_AUTH_RECV_ACCEPT_V4, SourcePort 3333 the
listener, DestPort 49278 the peer's ephemeral port). So Source → local, Dest → remote, in
both directions; ``core.events.audit_data`` writes the engine's audits by the same rule.
5154/5155/5158/5159 (listen, bind) carry only Source (the local end).

Actions: 5152, 5153, 5155, 5157, 5159 are failures → ``block``; 5154, 5156, 5158 →
``permit``. Any other event id is kept and counted with ``action = None``.
Direction: ``%%14592`` inbound, ``%%14593`` outbound (the rendered words are accepted too).
A FilterRTID of 0 means no filter (``filter_id = None``).
"""

from __future__ import annotations

from typing import Any

from wfptui.core.evidence import OBS_BLOCK, OBS_PERMIT, SOURCE_AUDIT, Observation
from wfptui.io.evidence.fields import FieldError, app_id, parse_addr, parse_time, parse_uint
from wfptui.io.netsh_xml import XmlNode

BLOCK_IDS = frozenset({5152, 5153, 5155, 5157, 5159})
PERMIT_IDS = frozenset({5154, 5156, 5158})
_DIRECTIONS = {"%%14592": "inbound", "%%14593": "outbound", "inbound": "inbound", "outbound": "outbound"}


def read_audit(node: XmlNode, index: int) -> Observation:
    """Convert one ``<Event>``. Raises :class:`FieldError` for an unreadable field."""
    system = node.child("System")
    data = node.child("EventData")
    if system is None:
        raise FieldError(node, "System", "the event has no <System>")
    eid_node = system.child("EventID")
    if eid_node is None or not eid_node.text.strip():
        raise FieldError(system, "System/EventID", "missing")
    eid = parse_uint(eid_node, "System/EventID", eid_node.text, 32)
    v: dict[str, Any] = {}
    extra: list[tuple[str, str]] = []
    tc = system.child("TimeCreated")
    if tc is not None and tc.attrs.get("SystemTime", "").strip():
        v["time"], v["time_ns"] = parse_time(tc, "System/TimeCreated/@SystemTime", tc.attrs["SystemTime"])
    comp = system.child_text("Computer")
    if comp:
        extra.append(("System/Computer", comp))
    values: list[tuple[XmlNode, str, str]] = []
    if data is not None:
        for d in data.children:
            name = d.attrs.get("Name", d.tag)
            values.append((d, name, d.text.strip()))
    addrs: dict[str, tuple[XmlNode, str]] = {}
    for d, name, text in values:
        field = f"EventData/{name}"
        key = name.lower()
        if key == "application":
            if text:
                v["app_id"] = app_id(d, field, text)
                v["app_id_from"] = "Application"
        elif key == "direction":
            if text:
                dirn = _DIRECTIONS.get(text.lower() if not text.startswith("%%") else text)
                if dirn is None:
                    raise FieldError(d, field, f"unknown direction {text!r}")
                v["direction"] = dirn
        elif key in ("sourceaddress", "destaddress"):
            if text:
                addrs[key] = (d, text)
        elif key in ("sourceport", "destport"):
            if text:
                v["local_port" if key == "sourceport" else "remote_port"] = parse_uint(d, field, text, 16)
        elif key == "protocol":
            if text:
                v["protocol"] = parse_uint(d, field, text, 8)
        elif key == "filterrtid":
            if text:
                v["filter_id"] = parse_uint(d, field, text, 64) or None
        elif key == "layerrtid":
            if text:
                v["layer_id"] = parse_uint(d, field, text, 16)
        elif key == "interfaceindex":
            if text:
                v["interface_index"] = parse_uint(d, field, text, 32)
        elif key == "filterorigin":
            if text:
                v["filter_origin"] = text
        elif text:  # ProcessId/ProcessID, LayerName, RemoteUserID, RemoteMachineID, ...
            extra.append((name, text))
    for key, side in (("sourceaddress", "local_addr"), ("destaddress", "remote_addr")):
        if key in addrs:
            d, text = addrs[key]
            ver, addr = parse_addr(d, f"EventData/{d.attrs.get('Name', key)}", text, v.get("ip_version"))
            v[side] = addr
            v["ip_version"] = ver
    action = OBS_BLOCK if eid in BLOCK_IDS else OBS_PERMIT if eid in PERMIT_IDS else None
    return Observation(
        index=index, source=SOURCE_AUDIT, line=node.line, type=str(eid),
        time=v.get("time"), time_ns=v.get("time_ns"), ip_version=v.get("ip_version"),
        protocol=v.get("protocol"), local_addr=v.get("local_addr"), remote_addr=v.get("remote_addr"),
        local_port=v.get("local_port"), remote_port=v.get("remote_port"), scope_id=None,
        app_id=v.get("app_id"), app_id_from=v.get("app_id_from"), user_id=None, package_sid=None,
        capabilities=None, layer_id=v.get("layer_id"), filter_id=v.get("filter_id"), action=action,
        direction=v.get("direction"), reauth_reason=None, original_profile=None, current_profile=None,
        is_loopback=None, interface_index=v.get("interface_index"), filter_origin=v.get("filter_origin"),
        flags=None, extra=tuple(extra),
    )
