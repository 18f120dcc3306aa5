"""Triage cases (spec §9): judged events grouped by what a person would call "the same
connection attempt", ordered differences first (``core.triage`` judges each event).

A case key is direction, protocol, layer, local and remote end (the service port kept, the
ephemeral one dropped), app, user, package, observed action and filter (and ICMP type/code);
a case shows its worst verdict (VERDICT_ORDER), its count and its first and last times.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from wfptui.core.evidence import OBS_BLOCK, Observation
from wfptui.core.model import BLOCK
from wfptui.core.triage import (
    _LOCAL_ONLY_FAMILIES,
    ICMP_PROTOCOLS,
    NOT_SIMULATED,
    UNKNOWN,
    VERDICT_ORDER,
    EventVerdict,
    Simulator,
    family,
    judge,
)

__all__ = ["Case", "TriageResult", "case_key", "change", "endpoints", "first_drop", "triage"]


# ----------------------------------------------------------------------------- cases


def _addr_text(addr: int | None, version: int | None, port: int | None, scope: int | None = None) -> str | None:
    if addr is None:
        return None
    key = (addr, version, port, scope)
    hit = _ADDR_TEXT.get(key)
    if hit is None:
        hit = _addr_text_of(addr, version, port, scope)
        if len(_ADDR_TEXT) >= 1 << 16:
            _ADDR_TEXT.clear()
        _ADDR_TEXT[key] = hit
    return hit


#: Formatted endpoints (captures repeat their peers).
_ADDR_TEXT: dict[tuple[int, int | None, int | None, int | None], str] = {}


def _addr_text_of(addr: int, version: int | None, port: int | None, scope: int | None) -> str:
    if version == 6:
        from ipaddress import IPv6Address

        text = str(IPv6Address(addr))
        if scope:
            text += f"%{scope}"
        return f"[{text}]:{port}" if port is not None else text
    from ipaddress import IPv4Address

    text = str(IPv4Address(addr & 0xFFFFFFFF))
    return f"{text}:{port}" if port is not None else text


def endpoints(ev: EventVerdict) -> tuple[str | None, str | None]:
    """(local, remote) as spec §9 prints them: the service port kept, the ephemeral dropped."""
    o = ev.obs
    icmp = o.protocol in ICMP_PROTOCOLS
    fam = family(ev.layer) if ev.layer is not None else ""
    if fam in _LOCAL_ONLY_FAMILIES:
        return _addr_text(o.local_addr, o.ip_version, None if icmp else o.local_port, o.scope_id), None
    inbound = ev.direction == "inbound"
    lport = None if icmp or not inbound else o.local_port
    rport = None if icmp or inbound else o.remote_port
    return (_addr_text(o.local_addr, o.ip_version, lport, o.scope_id),
            _addr_text(o.remote_addr, o.ip_version, rport, o.scope_id))


def _end(addr: int | None, version: int | None, port: int | None, scope: int | None) -> object:
    """What ``_addr_text`` shows of an end, unformatted: equal exactly when the texts are."""
    if addr is None:
        return None
    if version == 6:
        return (6, addr, port, scope or None)
    return (4, addr & 0xFFFFFFFF, port)


def case_key(ev: EventVerdict) -> tuple[object, ...]:
    """The grouping key (spec §9): the ends as ``endpoints`` shows them (compared before
    formatting: only a case's representative is ever formatted)."""
    o = ev.obs
    icmp = o.protocol in ICMP_PROTOCOLS
    if (family(ev.layer) if ev.layer is not None else "") in _LOCAL_ONLY_FAMILIES:
        local, remote = _end(o.local_addr, o.ip_version, None if icmp else o.local_port, o.scope_id), None
    else:
        inbound = ev.direction == "inbound"
        local = _end(o.local_addr, o.ip_version, None if icmp or not inbound else o.local_port, o.scope_id)
        remote = _end(o.remote_addr, o.ip_version, None if icmp or inbound else o.remote_port, o.scope_id)
    return (ev.direction, o.protocol, o.layer_id, local, remote, o.app_id, o.user_id, o.package_sid,
            o.action, o.type if o.action is None else None, o.filter_id,
            o.icmp_type if o.protocol in ICMP_PROTOCOLS else None,
            o.icmp_code if o.protocol in ICMP_PROTOCOLS else None)


#: VERDICT_ORDER as ranks (worst first).
_RANK = {v: i for i, v in enumerate(VERDICT_ORDER)}


@dataclass
class Case:
    events: list[EventVerdict] = field(default_factory=list)

    @property
    def first(self) -> EventVerdict:
        return self.events[0]

    @property
    def last(self) -> EventVerdict:
        return self.events[-1]

    rep: EventVerdict | None = None  # the representative, once computed

    @property
    def representative(self) -> EventVerdict:
        """The event whose verdict the case shows: the worst one (VERDICT_ORDER), first seen.
        (Computed on first read, once the case is complete: ``triage`` builds every case before
        anything reads one.)"""
        rep = self.rep
        if rep is None:
            rep = self.rep = min(self.events, key=lambda e: (_RANK[e.verdict], e.obs.index))
        return rep

    @property
    def verdict(self) -> str:
        return self.representative.verdict


def _time_key(ev: EventVerdict) -> tuple[int, int, int]:
    t = ev.obs.time_ns
    return (0 if t is not None else 1, t or 0, ev.obs.index)


def change(ev: EventVerdict) -> str | None:
    """``fixed`` (blocked today, permitted under P2), ``regressed`` (permitted today, blocked
    under P2) or None. Today = the simulated action (the observed one where it is unknown)."""
    if ev.what_if is None or ev.what_if.action is None:
        return None
    if ev.sim is not None and ev.sim.action is not None:
        today_blocked = ev.sim.action == BLOCK
    elif ev.obs.action is not None:
        today_blocked = ev.obs.action == OBS_BLOCK
    else:
        return None
    after_blocked = ev.what_if.action == BLOCK
    if today_blocked and not after_blocked:
        return "fixed"
    if after_blocked and not today_blocked:
        return "regressed"
    return None


@dataclass
class TriageResult:
    events: list[EventVerdict]
    cases: list[Case]
    case_of: list[int]  # per event (in ``events`` order): index into ``cases``
    what_if: bool

    def summary(self) -> dict[str, int]:
        out = {"events": len(self.events), "cases": len(self.cases), "checked": 0}
        for v in VERDICT_ORDER:
            out[v] = 0
        for c in self.cases:
            out[c.verdict] += 1
        out["checked"] = sum(1 for c in self.cases if c.verdict not in (UNKNOWN, NOT_SIMULATED))
        if self.what_if:
            changes = [change(c.representative) for c in self.cases]
            out["fixed"] = changes.count("fixed")
            out["regressed"] = changes.count("regressed")
        return out


def triage(observations: Iterable[Observation], policy: Simulator, what_if: Simulator | None = None) -> TriageResult:
    """Judge every event and group the events into ordered cases (spec §9)."""
    events: list[EventVerdict] = []
    event_case: list[Case] = []
    groups: dict[tuple[object, ...], Case] = {}
    for o in observations:
        ev = judge(o, policy, what_if)
        events.append(ev)
        key = case_key(ev)
        case = groups.get(key)
        if case is None:
            case = groups[key] = Case()
        case.events.append(ev)
        event_case.append(case)
    cases = sorted(groups.values(), key=lambda c: (_RANK[c.verdict], _time_key(c.events[0])))
    index = {id(c): i for i, c in enumerate(cases)}
    case_of = [index[id(c)] for c in event_case]
    return TriageResult(events, cases, case_of, what_if is not None)


def first_drop(observations: Sequence[Observation]) -> int:
    """The 1-based index of the first dropped event (explain --event's default), else 1."""
    for o in observations:
        if o.action == OBS_BLOCK:
            return o.index
    return 1
