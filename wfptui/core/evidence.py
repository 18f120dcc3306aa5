"""Evidence from real machines: one observed WFP event, normalised (spec §9, issue 11).

Readers in ``wfptui.io.evidence`` turn netsh net events (``wfpdiag.xml``,
``netevents.xml``) and Security audit events 5152–5159 into :class:`Observation`
objects; ``wfptui.core.triage`` simulates and compares them. This module is the contract
between the two and holds no logic beyond small derived properties.

A value of ``None`` means *the evidence does not carry it* (unknown), never "empty":
the triage two-world rule depends on that distinction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Where an observation came from.
SOURCE_NETEVENT = "netevent"
SOURCE_AUDIT = "audit"

#: Observed verdicts.
OBS_PERMIT = "permit"
OBS_BLOCK = "block"


@dataclass(frozen=True, slots=True)
class ObservedTerminating:
    """One ``internalFields/terminatingFiltersInfo/item`` of a net event."""

    filter_id: int
    sublayer: str  # as written, e.g. FWPP_SUBLAYER_INTERNAL_FIREWALL_WF or a GUID
    action: str  # FWP_ACTION_PERMIT / FWP_ACTION_BLOCK / ... as written


@dataclass(slots=True)  # immutable by convention; frozen __init__ costs 2x per event read
class Observation:
    """One event read from a capture, a netevents dump or the Security log.

    Addresses are integers (IPv4 32-bit, IPv6 128-bit) with ``ip_version`` saying which;
    ``local``/``remote`` are from the captured machine's point of view (net events
    say so directly; for audit events see ``wfptui.io.evidence.audit`` for the
    Source/Dest rule and its citation).
    """

    index: int  # 1-based, in file order (explain --event --index N)
    source: str  # SOURCE_NETEVENT | SOURCE_AUDIT
    line: int  # line in the file where the event starts (for messages)
    type: str  # "CLASSIFY_DROP", "CLASSIFY_ALLOW", "CAPABILITY_DROP", ... or "5157" etc.
    time: str | None  # ISO-8601 UTC at the evidence's precision, e.g. 2026-03-02T08:15:04.120Z
    time_ns: int | None  # nanoseconds since the Unix epoch (for ordering and offsets)
    ip_version: int | None  # 4 | 6
    protocol: int | None  # IP protocol number (6, 17, 1, 58, ...)
    local_addr: int | None
    remote_addr: int | None
    local_port: int | None
    remote_port: int | None
    scope_id: int | None
    app_id: str | None  # NT path as WFP compares it (lower-cased), "system" for the kernel
    app_id_from: str | None  # "data" (UTF-16 decoded) | "asString" | "Application" (audit)
    user_id: str | None  # SID text
    package_sid: str | None  # SID text; S-1-0-0 = not an AppContainer
    capabilities: tuple[str, ...] | None  # capability SIDs (S-1-15-3-...) the token holds
    layer_id: int | None  # run-time layer id (layerId / LayerRTID)
    filter_id: int | None  # observed deciding filter (filterId / FilterRTID); None when 0/absent
    action: str | None  # OBS_PERMIT | OBS_BLOCK | None (not a classification)
    direction: str | None  # "inbound" | "outbound" (msFwpDirection / Direction)
    reauth_reason: int | None
    original_profile: int | None
    current_profile: int | None
    is_loopback: bool | None
    interface_index: int | None
    filter_origin: str | None
    flags: int | None  # header flags (FWPM_NET_EVENT_FLAG_*)
    terminating: tuple[ObservedTerminating, ...] = ()
    effective_name: str | None = None  # header effectiveName (a filter or rule name), if any
    icmp_type: int | None = None
    icmp_code: int | None = None
    #: Everything else the reader kept, as text, keyed by element / EventData name.
    extra: tuple[tuple[str, str], ...] = field(default=())

    @property
    def simulated(self) -> bool:
        """True when the event is a layer classification wfptui can re-run."""
        return self.action is not None and self.layer_id is not None

    # -- JSON form (recordings: the ``event`` of an ``observe`` step) ---------------

    def to_dict(self) -> dict[str, object]:
        """JSON-able and msgpack-able form; :meth:`from_dict` inverts it exactly.

        Addresses are written as decimal strings (an IPv6 address does not fit msgpack's
        64-bit integers); ``extra`` and ``terminating`` as lists."""
        d: dict[str, object] = {}
        for name in _OBS_FIELDS:
            v = getattr(self, name)
            if name in _ADDR_FIELDS and v is not None:
                v = str(v)
            elif name == "capabilities" and v is not None:
                v = list(v)
            elif name == "terminating":
                v = [{"filter_id": t.filter_id, "sublayer": t.sublayer, "action": t.action} for t in v]
            elif name == "extra":
                v = [[k, x] for k, x in v]
            d[name] = v
        return d

    @classmethod
    def from_dict(cls, d: object) -> Observation:
        """From :meth:`to_dict`'s form; ValueError naming the key for anything else."""
        if not isinstance(d, dict):
            raise ValueError("event is not a map")
        unknown = sorted(str(k) for k in d if k not in _OBS_FIELDS)
        if unknown:
            raise ValueError(f"event: unknown key {unknown[0]!r}")
        kw: dict[str, object] = {}
        for name in _OBS_FIELDS:
            kw[name] = _obs_value(name, d.get(name, _OBS_DEFAULTS.get(name)) if name in _OBS_DEFAULTS
                                  else _required(d, name))
        return cls(**kw)  # type: ignore[arg-type]


def _required(d: dict[object, object], name: str) -> object:
    if name not in d:
        raise ValueError(f"event: missing key {name!r}")
    return d[name]


_OBS_FIELDS = tuple(Observation.__dataclass_fields__)
_ADDR_FIELDS = frozenset({"local_addr", "remote_addr"})
_OBS_DEFAULTS: dict[str, object] = {"terminating": [], "effective_name": None, "icmp_type": None,
                                    "icmp_code": None, "extra": []}
_STR_FIELDS = frozenset({"source", "type"})
_OPT_STR_FIELDS = frozenset({"time", "app_id", "app_id_from", "user_id", "package_sid", "action", "direction",
                             "filter_origin", "effective_name"})
_INT_FIELDS = frozenset({"index", "line"})
_OPT_INT_FIELDS = frozenset({"time_ns", "ip_version", "protocol", "local_port", "remote_port", "scope_id",
                             "layer_id", "filter_id", "reauth_reason", "original_profile", "current_profile",
                             "interface_index", "flags", "icmp_type", "icmp_code"})
#: A value beyond this is not from any reader (64-bit fields; 128-bit addresses).
_INT_LIMIT = 1 << 64


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _obs_value(name: str, v: object) -> object:
    """One checked field of an event dict (``name`` is named in the error)."""
    bad = ValueError(f"event: bad value for {name!r}: {v!r:.80}")
    if name in _STR_FIELDS:
        if not isinstance(v, str):
            raise bad
        return v
    if name in _OPT_STR_FIELDS:
        if v is not None and not isinstance(v, str):
            raise bad
        return v
    if name in _INT_FIELDS or name in _OPT_INT_FIELDS:
        if v is None and name in _OPT_INT_FIELDS:
            return None
        if not _is_int(v) or not -_INT_LIMIT < v < _INT_LIMIT:  # type: ignore[operator]
            raise bad
        return v
    if name in _ADDR_FIELDS:
        if v is None:
            return None
        if not isinstance(v, str) or not v.isdigit() or not v.isascii() or len(v) > 39 \
                or (len(v) > 1 and v[0] == "0") or int(v) >= 1 << 128:
            raise bad
        return int(v)
    if name == "is_loopback":
        if v is not None and not isinstance(v, bool):
            raise bad
        return v
    if name == "capabilities":
        if v is None:
            return None
        if not isinstance(v, (list, tuple)) or not all(isinstance(x, str) for x in v):
            raise bad
        return tuple(v)
    if name == "extra":
        if not isinstance(v, (list, tuple)) or not all(
                isinstance(p, (list, tuple)) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in v):
            raise bad
        return tuple((str(p[0]), str(p[1])) for p in v)
    if name == "terminating":
        if not isinstance(v, (list, tuple)):
            raise bad
        out = []
        for t in v:
            if not isinstance(t, dict) or set(t) != {"filter_id", "sublayer", "action"} \
                    or not _is_int(t["filter_id"]) or not 0 <= t["filter_id"] < _INT_LIMIT \
                    or not isinstance(t["sublayer"], str) or not isinstance(t["action"], str):
                raise bad
            out.append(ObservedTerminating(t["filter_id"], t["sublayer"], t["action"]))
        return tuple(out)
    raise bad  # pragma: no cover - every field is listed above
