"""Net events and Security audit events for one classification (wfp-model.md §6, §3.4).

What is logged, and where (decisions where the docs are silent are in
docs/decisions-engine.md, "Events"):

* **CLASSIFY_DROP** net event (FWPM_NET_EVENT_TYPE_CLASSIFY_DROP) for every block that a
  filter decided at a non-discard layer, with the standing filter's ``filter_id``, the
  run-time ``layer_id`` and ``MS_FWP_DIRECTION_IN``/``_OUT`` (§6: drops are logged by
  default). A block at a *discard* layer is logged only when the stack itself discarded
  (no listener) and a non-silent filter blocked there (stealth by a plain block filter);
  otherwise the drop was already logged at the layer that blocked.
* **CLASSIFY_ALLOW** net event for a permit that a filter decided at ALE_AUTH_CONNECT /
  ALE_AUTH_RECV_ACCEPT (as with the FWPM_NET_EVENT_KEYWORD_CLASSIFY_ALLOW keyword on);
  data-path permits are not logged (Windows does not, §6).
* Security audit events (§6 layer mapping): 5158/5159 at RESOURCE_ASSIGNMENT, 5154/5155
  at AUTH_LISTEN, 5156/5157 at AUTH_CONNECT / AUTH_RECV_ACCEPT (initial and
  reauthorization), 5152 for blocks at every other layer, 5153 when a callout vetoed a
  hard permit (§3.4), 5031 in addition to 5157 when the standing block at
  AUTH_RECV_ACCEPT is Windows Firewall's "Query User" catch-all (recognised by the
  filter's key or name containing "query user"). Success audits (5154/5156/5158) are
  emitted when a filter decided permit; "none" (nothing decided, the engine permits,
  §3.5) logs nothing — on real Windows some filter always decides.
* A block from a silent-drop callout (``ClassifyResult.silent``) logs nothing (§3.4
  FWPS_CLASSIFY_OUT_FLAG_ABSORB, §2.4).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wfptui.core.datatypes import WinVersion
from wfptui.core.model import BLOCK, ClassifyResult

JsonDict = dict[str, Any]

#: LayerName strings of the audit events (§6; 14611 is inferred there, Q18).
_LAYER_NAME = {
    "ALE_RESOURCE_ASSIGNMENT": "%%14608",
    "ALE_AUTH_LISTEN": "%%14609",
    "ALE_AUTH_RECV_ACCEPT": "%%14610",
    "ALE_AUTH_CONNECT": "%%14611",
}

DIR_IN = "MS_FWP_DIRECTION_IN"
DIR_OUT = "MS_FWP_DIRECTION_OUT"


def layer_family(name: str) -> str:
    """``ALE_AUTH_CONNECT_V4_DISCARD`` → ``ALE_AUTH_CONNECT``."""
    base = name.removesuffix("_DISCARD")
    return base[:-3] if base.endswith(("_V4", "_V6")) else base


def _is_query_user(result: ClassifyResult) -> bool:
    f = result.filter
    if f is None:
        return False
    text = f"{f.key} {f.name}".lower().replace("-", " ").replace("_", " ")
    return "query user" in text


def audit_ids(family: str, result: ClassifyResult, *, is_discard: bool, stack_discard: bool) -> list[int]:
    """Security event ids for one classification (see the module docstring)."""
    blocked = result.action == BLOCK
    if blocked and result.silent:
        return []
    if is_discard:
        return [5152] if (blocked and stack_discard and result.filter is not None) else []
    ids: list[int] = []
    if family == "ALE_RESOURCE_ASSIGNMENT":
        ids.append(5159 if blocked else 5158)
    elif family == "ALE_AUTH_LISTEN":
        ids.append(5155 if blocked else 5154)
    elif family in ("ALE_AUTH_CONNECT", "ALE_AUTH_RECV_ACCEPT"):
        ids.append(5157 if blocked else 5156)
        if blocked and family == "ALE_AUTH_RECV_ACCEPT" and _is_query_user(result):
            ids.append(5031)
    elif blocked:
        ids.append(5152)
    if blocked and result.veto:
        ids.append(5153)
    return ids


#: The first Windows version of each FWPM_NET_EVENT_TYPE the engine may emit or a user may
#: meet (FWPM_NET_EVENT_TYPE, learn.microsoft.com/windows/win32/api/fwpmtypes/
#: ne-fwpmtypes-fwpm_net_event_type: IPSEC_DOSP_DROP "Available only in Windows 7 ... and
#: later"; CLASSIFY_ALLOW, CAPABILITY_DROP/ALLOW, CLASSIFY_DROP_MAC "Available only in Windows 8
#: and Windows Server 2012" — read as "and later", as every later version has them).
NET_EVENT_SINCE: dict[str, WinVersion] = {
    "CLASSIFY_DROP": WinVersion.VISTA,
    "IPSEC_DOSP_DROP": WinVersion.WIN7,
    "CLASSIFY_ALLOW": WinVersion.WIN8,
    "CAPABILITY_DROP": WinVersion.WIN8,
    "CAPABILITY_ALLOW": WinVersion.WIN8,
    "CLASSIFY_DROP_MAC": WinVersion.WIN8,
}


def net_event_type(family: str, result: ClassifyResult, *, is_discard: bool, stack_discard: bool,
                   windows: WinVersion = WinVersion.WIN11) -> str | None:
    """CLASSIFY_DROP / CLASSIFY_ALLOW / None for one classification on a host of ``windows``
    (an event type newer than the host is never emitted: NET_EVENT_SINCE)."""
    ne = _net_event_type(family, result, is_discard=is_discard, stack_discard=stack_discard)
    if ne is not None and NET_EVENT_SINCE.get(ne, WinVersion.VISTA) > windows:
        return None
    return ne


def _net_event_type(family: str, result: ClassifyResult, *, is_discard: bool, stack_discard: bool) -> str | None:
    if result.action == BLOCK:
        if result.silent or result.filter is None:
            return None
        if is_discard and not stack_discard:
            return None
        return "CLASSIFY_DROP"
    if (result.filter is not None and not is_discard
            and family in ("ALE_AUTH_CONNECT", "ALE_AUTH_RECV_ACCEPT")):
        return "CLASSIFY_ALLOW"
    return None


def audit_data(event_id: int, family: str, layer_id: int, direction: str | None,
               info: Mapping[str, Any], filter_id: int | None) -> JsonDict:
    """The event's fields as Windows names them (§6)."""
    inbound = direction == "inbound"
    d: JsonDict = {"Application": info.get("app")}
    if event_id in (5158, 5159, 5154, 5155):
        d["SourceAddress"] = info.get("local_address")
        d["SourcePort"] = info.get("local_port")
    else:
        d["Direction"] = "%%14592" if inbound else "%%14593"
        # Source is the local end in both directions (event-5156.md / event-5157.md field
        # descriptions; io.evidence.audit reads audits by the same rule).
        d["SourceAddress"], d["SourcePort"] = info.get("local_address"), info.get("local_port")
        d["DestAddress"], d["DestPort"] = info.get("remote_address"), info.get("remote_port")
    d["Protocol"] = info.get("protocol")
    d["FilterRTID"] = filter_id
    d["LayerName"] = _LAYER_NAME.get(family, family)
    d["LayerRTID"] = layer_id
    return d


def net_event_data(info: Mapping[str, Any], reauth: int) -> JsonDict:
    """Header fields of a net event (FWPM_NET_EVENT_HEADER-like)."""
    return {"localAddr": info.get("local_address"), "remoteAddr": info.get("remote_address"),
            "localPort": info.get("local_port"), "remotePort": info.get("remote_port"),
            "ipProtocol": info.get("protocol"), "appId": info.get("app"),
            "isLoopback": bool(info.get("loopback")), "reauthReason": reauth}


def direction_word(direction: str | None, family: str) -> str:
    """MS_FWP_DIRECTION_IN / _OUT; socket operations: listen is IN, the others OUT."""
    if direction == "inbound" or (direction is None and family == "ALE_AUTH_LISTEN"):
        return DIR_IN
    return DIR_OUT
