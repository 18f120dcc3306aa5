"""The simulated verdict of an observed event, the comparison, and triage cases (spec §9).

One definition, used by ``wfptui triage``, ``explain --event``, the ``observe`` step of
recordings imported from captures, and the TUI:

* :func:`packet_of` builds the packet of an event at the event's layer by one table,
  :data:`FIELD_TABLE` (event field -> WFP condition field). A layer field the table does
  not fill is **unknown**, not empty.
* :class:`Simulator` classifies that packet with the compiled policy in two worlds: every
  condition on an unknown field holds (world T) / none holds (world F). When the two
  worlds end in different actions (``none`` counts as permit) the simulated action is
  unknown and the unknown fields that mattered are named; when they agree on the action
  but not on the deciding filter, the filter is unknown.
* ALE_USER_ID security descriptors are checked as Windows checks an AppContainer token:
  twice, once against the user and group SIDs and once against the package SID, ALL
  APPLICATION PACKAGES and the capability SIDs; both must grant (Microsoft, "AppContainer
  isolation" and "Implementing an AppContainer": "the access check ... is performed twice
  ... both must succeed"). Group SIDs of the token are not in the evidence: where a group
  could change the answer, the condition is unknown.
* :func:`compare` gives ``agree`` / ``other_filter`` / ``differ`` / ``unknown`` /
  ``not_simulated``; filters are compared by identity (key), never by run-time id.
* :func:`triage` groups events into cases and orders them (spec §9).

Decisions and the tables are in docs/decisions-triage.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from wfptui.core.arbitration import CompiledLayer, CompiledPolicy
from wfptui.core.evidence import OBS_BLOCK, Observation
from wfptui.core.layers import Layer, get_layer, layer_by_id
from wfptui.core.match import PacketTest, compile_filter, condition_matches
from wfptui.core.model import (
    BLOCK,
    EMPTY,
    NONE,
    PERMIT,
    ClassifyResult,
    Condition,
    Filter,
    Policy,
    SecurityDescriptor,
    Token,
    Value,
)
from wfptui.core.sddl import access_check
from wfptui.core.stack import user_token

#: Verdicts, in the order cases are listed (spec §9).
DIFFER, UNKNOWN, OTHER_FILTER, AGREE, NOT_SIMULATED = "differ", "unknown", "other_filter", "agree", "not_simulated"
VERDICT_ORDER = (DIFFER, UNKNOWN, OTHER_FILTER, AGREE, NOT_SIMULATED)

#: FWP_CONDITION_FLAG_* bits the evidence can tell (wfp-model.md §4.5).
F_LOOPBACK = 0x1
F_REAUTHORIZE = 0x4
F_NON_APPCONTAINER_LOOPBACK = 0x800000
PACKAGE_NONE = "S-1-0-0"
ALL_APPLICATION_PACKAGES = "S-1-15-2-1"
NLAT_UNICAST = 1

#: The one table: WFP condition field <- where its value comes from in the evidence.
#: Every layer field not listed is unknown for an event (docs/decisions-triage.md).
FIELD_TABLE: tuple[tuple[str, str], ...] = (
    ("IP_PROTOCOL", "header ipProtocol / audit Protocol"),
    ("IP_LOCAL_ADDRESS", "header localAddrV4/V6 / audit SourceAddress (the local end)"),
    ("IP_REMOTE_ADDRESS", "header remoteAddrV4/V6 / audit DestAddress"),
    ("IP_LOCAL_PORT", "header localPort / audit SourcePort (ICMP: the type)"),
    ("IP_REMOTE_PORT", "header remotePort / audit DestPort (ICMP: the code)"),
    ("ALE_APP_ID", "header appId / audit Application (NT path, lower case; System)"),
    ("ALE_USER_ID", "header userId + packageSid + internalFields capabilities (token; groups unknown)"),
    ("ALE_PACKAGE_ID", "header packageSid (S-1-0-0: not an AppContainer)"),
    ("ORIGINAL_PROFILE_ID", "classifyDrop/classifyAllow originalProfile"),
    ("CURRENT_PROFILE_ID", "classifyDrop/classifyAllow currentProfile"),
    ("REAUTHORIZE_REASON", "classifyDrop/classifyAllow reauthReason"),
    ("FLAGS", "IS_LOOPBACK from isLoopback (else derived: remote 127/8, ::1 or the local address), "
              "IS_REAUTHORIZE from reauthReason != 0, IS_NON_APPCONTAINER_LOOPBACK from loopback + packageSid"),
    ("DIRECTION", "msFwpDirection / audit Direction"),
    ("INTERFACE_INDEX", "internalFields interfaceIndex / audit InterfaceIndex"),
    ("IP_LOCAL_ADDRESS_TYPE", "derived: unicast for a unicast local address"),
    ("IP_DESTINATION_ADDRESS_TYPE", "derived: unicast for a unicast remote address"),
)
_TABLE_FIELDS = frozenset(f for f, _ in FIELD_TABLE)

#: Sublayer names in captures (terminatingFiltersInfo) -> the FWPM_SUBLAYER_* they are
#: (wfp-model.md §5.7; D-UWP, D-QUAR show the internal names beside filters in these sublayers).
CAPTURE_SUBLAYERS: dict[str, str] = {
    "FWPP_SUBLAYER_INTERNAL_FIREWALL_WSH": "FWPM_SUBLAYER_MPSSVC_WSH",
    "FWPP_SUBLAYER_INTERNAL_FIREWALL_WF": "FWPM_SUBLAYER_MPSSVC_WF",
    "FWPP_SUBLAYER_INTERNAL_FIREWALL_QUARANTINE": "FWPM_SUBLAYER_MPSSVC_QUARANTINE",
}

#: Layer families whose direction is fixed (spec §9): the socket's side.
_OUTBOUND_FAMILIES = ("ALE_RESOURCE_ASSIGNMENT", "ALE_AUTH_LISTEN", "ALE_AUTH_CONNECT",
                      "ALE_BIND_REDIRECT", "ALE_CONNECT_REDIRECT", "ALE_RESOURCE_RELEASE",
                      "ALE_ENDPOINT_CLOSURE")
_INBOUND_FAMILIES = ("ALE_AUTH_RECV_ACCEPT",)
#: Layers with no remote end (spec §9: ``remote`` is null for bind and listen).
_LOCAL_ONLY_FAMILIES = ("ALE_RESOURCE_ASSIGNMENT", "ALE_AUTH_LISTEN", "ALE_BIND_REDIRECT",
                        "ALE_RESOURCE_RELEASE")
ICMP_PROTOCOLS = (1, 58)


def capture_sublayer(name: str) -> str:
    """A capture's sublayer name as the FWPM_SUBLAYER_* it is (other names unchanged)."""
    return CAPTURE_SUBLAYERS.get(name, name)


def family(layer: Layer) -> str:
    name = layer.name.removesuffix("_DISCARD")
    return name[:-3] if name.endswith(("_V4", "_V6")) else name


def event_layer(obs: Observation) -> Layer | None:
    if obs.layer_id is None:
        return None
    try:
        return layer_by_id(obs.layer_id)
    except (KeyError, ValueError, IndexError):
        return None


def event_direction(obs: Observation, layer: Layer | None) -> str | None:
    """outbound at connect/bind/listen-side ALE layers, inbound at receive-accept layers,
    else the event's own direction (spec §9)."""
    if layer is not None:
        fam = family(layer)
        if fam in _OUTBOUND_FAMILIES:
            return "outbound"
        if fam in _INBOUND_FAMILIES:
            return "inbound"
    return obs.direction


# ----------------------------------------------------------------------------- the packet


@dataclass(frozen=True, slots=True)
class UserEvidence:
    """What the evidence says of the token (ALE_USER_ID): None = unknown."""

    user: str | None
    package: str | None
    capabilities: tuple[str, ...] | None

    @property
    def appcontainer(self) -> bool | None:
        if self.package is None:
            return None
        return self.package != PACKAGE_NONE


def _is_unicast(addr: int, bits: int) -> bool:
    if bits == 32:
        return not (addr >> 28 == 0xE or addr == 0xFFFFFFFF)
    return addr >> 120 != 0xFF


def packet_of(obs: Observation, layer: Layer) -> tuple[dict[str, Value], frozenset[str]]:
    """The event's packet at ``layer``: (known values, unknown field names)."""
    vals: dict[str, Value] = {}
    bits = 128 if (layer.ip_version == 6 or obs.ip_version == 6) else 32
    icmp = obs.protocol in ICMP_PROTOCOLS
    local_port = obs.icmp_type if icmp and obs.icmp_type is not None else obs.local_port
    remote_port = obs.icmp_code if icmp and obs.icmp_code is not None else obs.remote_port
    src: dict[str, Value | None] = {
        "IP_PROTOCOL": obs.protocol,
        "IP_LOCAL_ADDRESS": obs.local_addr,
        "IP_REMOTE_ADDRESS": obs.remote_addr,
        "IP_LOCAL_PORT": local_port,
        "IP_REMOTE_PORT": remote_port,
        "ALE_APP_ID": _app_value(obs.app_id),
        "ALE_PACKAGE_ID": obs.package_sid,
        "ORIGINAL_PROFILE_ID": obs.original_profile,
        "CURRENT_PROFILE_ID": obs.current_profile,
        "REAUTHORIZE_REASON": obs.reauth_reason,
        "INTERFACE_INDEX": obs.interface_index,
    }
    direction = event_direction(obs, layer)
    if direction is not None:
        src["DIRECTION"] = 1 if direction == "inbound" else 0
    if obs.local_addr is not None:
        src["IP_LOCAL_ADDRESS_TYPE"] = NLAT_UNICAST if _is_unicast(obs.local_addr, bits) else None
    if obs.remote_addr is not None:
        src["IP_DESTINATION_ADDRESS_TYPE"] = NLAT_UNICAST if _is_unicast(obs.remote_addr, bits) else None
    loopback = obs.is_loopback if obs.is_loopback is not None else _derived_loopback(obs, bits)
    if loopback is not None:
        flags = 0
        if loopback:
            flags |= F_LOOPBACK
            if obs.package_sid == PACKAGE_NONE:
                flags |= F_NON_APPCONTAINER_LOOPBACK
            elif obs.package_sid is None:
                src["FLAGS"] = None  # whether the non-AppContainer bit is set is unknown
        if obs.reauth_reason:
            flags |= F_REAUTHORIZE
        src.setdefault("FLAGS", flags)
    unknown: list[str] = []
    for lf in layer.fields:
        name = lf.name
        if name == "ALE_USER_ID":
            continue  # evaluated from UserEvidence (see Simulator)
        v = src.get(name)
        if v is None:
            unknown.append(name)
        else:
            vals[name] = v
    return vals, frozenset(unknown)


def _derived_loopback(obs: Observation, bits: int) -> bool | None:
    """Loopback when the evidence does not say: traffic to 127.0.0.0/8, ::1 or the host's own
    address never leaves the host (wfp-model.md §2.8); anything else is not loopback."""
    if obs.remote_addr is None or obs.local_addr is None:
        return None
    if bits == 32:
        return obs.remote_addr >> 24 == 127 or obs.remote_addr == obs.local_addr
    return obs.remote_addr == 1 or obs.remote_addr == obs.local_addr


def _app_value(app: str | None) -> str | None:
    if app is None:
        return None
    return "System" if app.lower() == "system" else app  # values.normalize_app_id's spelling


# ----------------------------------------------------------------------------- three-valued matching


def user_matches(cond: Condition, user: UserEvidence, assumed: set[str] | None = None) -> bool | None:
    """One ALE_USER_ID condition against the token the evidence describes (None = unknown).

    The user pass uses the token the engine gives its own apps (``core.stack.user_token``:
    the user SID with Everyone, Authenticated Users and Users, or Administrators for
    LocalSystem). Other groups — service SIDs above all, which every Windows Firewall
    service-restriction filter tests — are not in the evidence and are taken as not held;
    when holding one would change the answer, "ALE_USER_ID" is added to ``assumed`` so the
    output can say so (docs/decisions-triage.md §3)."""
    sd = cond.value
    if not isinstance(sd, SecurityDescriptor) or user.user is None:
        return None  # a token compared by equality, or nothing known of the user
    token = user_token(user.user)
    first = access_check(sd, token)
    if assumed is not None:
        others = frozenset(a.sid for a in sd.dacl or () if not a.sid.startswith("S-1-15-")) - token.sids
        if others and access_check(sd, Token(token.user, token.groups | others)) != first:
            assumed.add("ALE_USER_ID")
    container = user.appcontainer
    result: bool | None
    if container is None:
        result = False if not first else None  # not known whether the AppContainer pass happens
    elif not container:
        result = first
    else:
        assert user.package is not None
        ac_sids = {user.package, ALL_APPLICATION_PACKAGES}
        if user.capabilities is not None:
            ac_sids.update(user.capabilities)
        # The AppContainer pass counts only these SIDs: no Everyone (implicit_groups=False).
        low = access_check(sd, Token(user.package, frozenset(ac_sids)), implicit_groups=False)
        second: bool | None = low
        if user.capabilities is None:
            caps = frozenset(a.sid for a in sd.dacl or () if a.sid.startswith("S-1-15-3-"))
            high = access_check(sd, Token(user.package, frozenset(ac_sids) | caps), implicit_groups=False)
            second = low if low == high else None
        if not first or second is False:
            result = False
        elif second is None:
            result = None
        else:
            result = True
    if cond.match.name.endswith("NOT_EQUAL") and result is not None:
        return not result
    return result


def _cond3(cond: Condition, values: Mapping[str, Value], unknown: frozenset[str],
           user: UserEvidence, assumed: set[str] | None) -> bool | None:
    if cond.field == "ALE_USER_ID":
        return user_matches(cond, user, assumed)
    if cond.field in unknown:
        return None
    return condition_matches(cond, values.get(cond.field, EMPTY))


def filter_matches3(flt: Filter, values: Mapping[str, Value], unknown: frozenset[str],
                    user: UserEvidence, assumed: set[str] | None = None) -> bool | None:
    """AND across fields, OR within a field (§4.1), in three values (None = unknown).
    Assumptions that a filter's answer rests on are added to ``assumed``."""
    groups: dict[str, list[Condition]] = {}
    for c in flt.conditions:
        groups.setdefault(c.field, []).append(c)
    result: bool | None = True
    mine: set[str] | None = set() if assumed is not None else None
    for conds in groups.values():
        g: bool | None = False
        for c in conds:
            r = _cond3(c, values, unknown, user, mine)
            if r is True:
                g = True
                break
            if r is None:
                g = None
        if g is False:
            return False  # another field already rules it out: no assumption needed
        if g is None:
            result = None
    if assumed is not None and mine:
        assumed |= mine
    return result


def unknown_fields_of(flt: Filter, unknown: frozenset[str], user: UserEvidence) -> set[str]:
    """The fields of ``flt`` whose value the evidence lacks."""
    out = {c.field for c in flt.conditions if c.field in unknown}
    if any(c.field == "ALE_USER_ID" for c in flt.conditions) and (
            user.user is None or user.package is None or (user.appcontainer and user.capabilities is None)):
        out.add("ALE_USER_ID")
    return out


# ----------------------------------------------------------------------------- simulation


@dataclass(frozen=True, slots=True)
class Simulated:
    """The simulated verdict of one event (None action = unknown)."""

    action: str | None  # permit | block | none | None (the two worlds differ)
    filter: Filter | None  # the deciding filter, when both worlds name the same one
    result: ClassifyResult  # world F's full arbitration (for explain and the trace)
    result_t: ClassifyResult  # world T's
    unknown_fields: tuple[str, ...]  # unknown fields that changed the outcome
    values: Mapping[str, Value]
    unknown: frozenset[str]  # every field of the layer the evidence does not give
    assumed: tuple[str, ...] = ()  # fields settled by an assumption (ALE_USER_ID groups: §3)

    @property
    def permitted(self) -> bool | None:
        if self.action is None:
            return None
        return self.action != BLOCK


#: A filter touching an open field: (position, test of its other conditions, its open conditions).
_Open = tuple[int, PacketTest, Filter]


def _same_action(a: str, b: str) -> bool:
    return (a == BLOCK) == (b == BLOCK)  # none counts as permit


class Simulator:
    """Simulates events against one policy (compiled once; results memoised per packet)."""

    def __init__(self, policy: Policy, compiled: CompiledPolicy | None = None) -> None:
        self.policy = policy
        self.compiled = compiled if compiled is not None else CompiledPolicy(policy)
        self._touching: dict[tuple[int, frozenset[str]], tuple[_Open, ...]] = {}
        self._memo: dict[object, Simulated] = {}
        self._by_id: dict[tuple[int, int], Filter] = {}
        self._by_key: dict[str, Filter] = {}
        self._by_name: dict[tuple[str, str], list[Filter]] = {}
        for f in policy.filters:
            self._by_id[(get_layer(f.layer).layer_id, f.filter_id)] = f
            self._by_key[f.key.lower()] = f
            if f.name:
                self._by_name.setdefault((f.layer, f.name.lower()), []).append(f)

    def _touching_positions(self, cl: CompiledLayer, layer: Layer, unknown: frozenset[str]) -> tuple[_Open, ...]:
        """The filters with a condition on an unknown field or on ALE_USER_ID, each split into
        a compiled test of its other conditions and its open ones (checked only when the
        rest holds: most filters fail on a known field first)."""
        key = (layer.layer_id, unknown)
        hit = self._touching.get(key)
        if hit is None:
            items = []
            for p, f in enumerate(cl.filters):
                if not any(c.field in unknown or c.field == "ALE_USER_ID" for c in f.conditions):
                    continue
                rest = tuple(c for c in f.conditions if c.field not in unknown and c.field != "ALE_USER_ID")
                open_ = replace(f, conditions=tuple(c for c in f.conditions if c not in rest))
                items.append((p, compile_filter(replace(f, conditions=rest)), open_))
            hit = self._touching[key] = tuple(items)
        return hit

    def simulate(self, obs: Observation) -> Simulated | None:
        """The event's classification at its layer, or None when it is not one."""
        layer = event_layer(obs)
        if layer is None or obs.action is None:
            return None
        values, unknown = packet_of(obs, layer)
        user = UserEvidence(obs.user_id, obs.package_sid, obs.capabilities)
        key = (layer.layer_id, tuple(values.items()), unknown, user)
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        sim = self._simulate(layer, values, unknown, user)
        if len(self._memo) >= 1 << 18:
            self._memo.clear()
        self._memo[key] = sim
        return sim

    def _simulate(self, layer: Layer, values: dict[str, Value], unknown: frozenset[str],
                  user: UserEvidence) -> Simulated:
        cl = self.compiled.layer(layer)
        touching = self._touching_positions(cl, layer, unknown)
        if not touching:
            res = cl.classify(values)
            return Simulated(res.action, res.filter, res, res, (), values, unknown)
        tset = {t[0] for t in touching}
        sure = [p for p in cl.matched(values) if p not in tset]
        # A filter the index files under a known field is a candidate only if that field's
        # value fits: the others need not be looked at.
        cands = set(cl.candidates(values))
        index_fields = cl.index_fields
        maybe: list[int] = []
        maybe_fields: set[str] = set()
        assumed: set[str] = set()
        for p, rest_holds, open_part in touching:
            fld = index_fields[p]
            if p not in cands and fld is not None and fld not in unknown and fld != "ALE_USER_ID":
                continue
            if not rest_holds(values):
                continue
            r = filter_matches3(open_part, values, unknown, user, assumed)
            if r is True:
                sure.append(p)
            elif r is None:
                maybe.append(p)
                maybe_fields |= unknown_fields_of(open_part, unknown, user)
        world_f = cl.decide(tuple(sorted(sure)))
        world_t = cl.decide(tuple(sorted(sure + maybe))) if maybe else world_f
        notes = tuple(sorted(assumed))
        if not _same_action(world_f.action, world_t.action):
            return Simulated(None, None, world_f, world_t, tuple(sorted(maybe_fields)), values, unknown, notes)
        flt = world_f.filter if _same_filter(world_f.filter, world_t.filter) else None
        fields = () if flt is not None or world_f.filter is None else tuple(sorted(maybe_fields))
        return Simulated(world_f.action, flt, world_f, world_t, fields, values, unknown, notes)

    # -- identity ------------------------------------------------------------

    def resolve(self, obs: Observation) -> tuple[Filter | None, str | None]:
        """The policy filter the event names, and how it was found (spec §9 matched_by)."""
        layer = event_layer(obs)
        if obs.filter_id is not None and layer is not None:
            f = self._by_id.get((layer.layer_id, obs.filter_id))
            if f is not None:
                return f, "id"  # run-time ids are per boot: only at the event's own layer
        for k, v in obs.extra:
            if k.endswith("filterKey") and v.strip().lower() in self._by_key:
                return self._by_key[v.strip().lower()], "key"
        if obs.effective_name and layer is not None:
            named = self._by_name.get((layer.name, obs.effective_name.lower()), [])
            if len(named) == 1:
                return named[0], "name"
        return None, None


def _same_filter(a: Filter | None, b: Filter | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.key == b.key


# ----------------------------------------------------------------------------- comparison


@dataclass(frozen=True, slots=True)
class EventVerdict:
    """One event, observed and simulated (and under --what-if)."""

    obs: Observation
    layer: Layer | None
    direction: str | None
    observed_filter: Filter | None
    matched_by: str | None
    sim: Simulated | None
    verdict: str
    what_if: Simulated | None = None


def compare(obs: Observation, sim: Simulated | None, observed: Filter | None) -> str:
    """agree / other_filter / differ / unknown / not_simulated (spec §9)."""
    if sim is None or obs.action is None:
        return NOT_SIMULATED
    if sim.action is None:
        return UNKNOWN
    if obs.filter_id is not None and observed is None:
        return UNKNOWN  # the observed filter is not in the policy
    obs_action = BLOCK if obs.action == OBS_BLOCK else PERMIT
    if not _same_action(obs_action, sim.action):
        return DIFFER
    if observed is not None:
        if sim.filter is None:
            return UNKNOWN if sim.result.filter is not None else AGREE
        return AGREE if observed.key == sim.filter.key else OTHER_FILTER
    return AGREE


def judge(obs: Observation, sim: Simulator, what_if: Simulator | None = None) -> EventVerdict:
    layer = event_layer(obs)
    s = sim.simulate(obs)
    observed, how = sim.resolve(obs)
    w = what_if.simulate(obs) if what_if is not None else None
    return EventVerdict(obs, layer, event_direction(obs, layer), observed, how, s, compare(obs, s, observed), w)


# ----------------------------------------------------------------------------- cases


def _addr_text(addr: int | None, version: int | None, port: int | None, scope: int | None = None) -> str | None:
    if addr is None:
        return None
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


def case_key(ev: EventVerdict) -> tuple[object, ...]:
    o = ev.obs
    local, remote = endpoints(ev)
    return (ev.direction, o.protocol, o.layer_id, local, remote, o.app_id, o.user_id, o.package_sid,
            o.action, o.type if o.action is None else None, o.filter_id,
            o.icmp_type if o.protocol in ICMP_PROTOCOLS else None,
            o.icmp_code if o.protocol in ICMP_PROTOCOLS else None)


@dataclass
class Case:
    events: list[EventVerdict] = field(default_factory=list)

    @property
    def first(self) -> EventVerdict:
        return self.events[0]

    @property
    def last(self) -> EventVerdict:
        return self.events[-1]

    @property
    def representative(self) -> EventVerdict:
        """The event whose verdict the case shows: the worst one (VERDICT_ORDER), first seen."""
        rank = {v: i for i, v in enumerate(VERDICT_ORDER)}
        return min(self.events, key=lambda e: (rank[e.verdict], e.obs.index))

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
    events = [judge(o, policy, what_if) for o in observations]
    groups: dict[tuple[object, ...], Case] = {}
    for ev in events:
        groups.setdefault(case_key(ev), Case()).events.append(ev)
    rank = {v: i for i, v in enumerate(VERDICT_ORDER)}
    cases = sorted(groups.values(), key=lambda c: (rank[c.verdict], _time_key(c.events[0])))
    index = {id(c): i for i, c in enumerate(cases)}
    case_of = [0] * len(events)
    pos = {id(ev): i for i, ev in enumerate(events)}
    for c in cases:
        for ev in c.events:
            case_of[pos[id(ev)]] = index[id(c)]
    return TriageResult(events, cases, case_of, what_if is not None)


def first_drop(observations: Sequence[Observation]) -> int:
    """The 1-based index of the first dropped event (explain --event's default), else 1."""
    for o in observations:
        if o.action == OBS_BLOCK:
            return o.index
    return 1


__all__ = [
    "AGREE", "CAPTURE_SUBLAYERS", "DIFFER", "FIELD_TABLE", "NONE", "NOT_SIMULATED", "OTHER_FILTER", "UNKNOWN",
    "VERDICT_ORDER", "Case", "EventVerdict", "Simulated", "Simulator", "TriageResult", "UserEvidence",
    "capture_sublayer", "change", "compare", "endpoints", "event_direction", "event_layer", "filter_matches3",
    "first_drop", "judge", "packet_of", "triage", "user_matches",
]
