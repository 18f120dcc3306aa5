"""One hand-built ``Observation`` for core tests (triage, the observe step): an outbound TCP
CLASSIFY_DROP at ALE_AUTH_CONNECT_V4 from an unpackaged app, every field given; override any."""

from __future__ import annotations

from wfptui.core.evidence import Observation
from wfptui.core.layers import get_layer

CONNECT_V4 = get_layer("ALE_AUTH_CONNECT_V4")


def make_observation(**kw: object) -> Observation:
    base: dict[str, object] = dict(
        index=1, source="netevent", line=1, type="CLASSIFY_DROP", time="2026-03-02T08:15:04.120Z",
        time_ns=1772439304120000000, ip_version=4, protocol=6, local_addr=0x0A000005, remote_addr=0x0A07011E,
        local_port=50000, remote_port=443, scope_id=0, app_id="\\device\\harddiskvolume3\\app.exe",
        app_id_from="data", user_id="S-1-5-21-1-2-3-1001", package_sid="S-1-0-0", capabilities=(),
        layer_id=CONNECT_V4.layer_id, filter_id=None, action="block", direction="outbound", reauth_reason=0,
        original_profile=1, current_profile=1, is_loopback=False, interface_index=None, filter_origin=None,
        flags=0)
    base.update(kw)
    return Observation(**base)  # type: ignore[arg-type]
