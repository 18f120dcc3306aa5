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

from bisect import bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from wfptui.core.arbitration import CompiledLayer, CompiledPolicy
from wfptui.core.decision import FieldMask, position, positions
from wfptui.core.evidence import OBS_BLOCK, Observation
from wfptui.core.layers import Layer, get_layer, layer_by_id
from wfptui.core.match import condition_matches
from wfptui.core.model import (
    BLOCK,
    EMPTY,
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
from wfptui.core.sim import user_token

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
    """The layer's name without _DISCARD and _V4/_V6 (memoised: called per event)."""
    hit = _FAMILY.get(layer.name)
    if hit is None:
        name = layer.name.removesuffix("_DISCARD")
        hit = _FAMILY[layer.name] = name[:-3] if name.endswith(("_V4", "_V6")) else name
    return hit


_FAMILY: dict[str, str] = {}


def event_layer(obs: Observation) -> Layer | None:
    """The layer the event's run-time layer id names (None: no id, or not a layer)."""
    lid = obs.layer_id
    try:
        return _LAYER_OF[lid]
    except KeyError:
        pass
    try:
        layer: Layer | None = layer_by_id(lid) if lid is not None else None
    except (KeyError, ValueError, IndexError):
        layer = None
    if len(_LAYER_OF) < 4096:  # ids are 16-bit; the bound only guards hostile input
        _LAYER_OF[lid] = layer
    return layer


_LAYER_OF: dict[int | None, Layer | None] = {}


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
    fields = _LAYER_FIELDS.get(layer.layer_id)
    if fields is None:  # ALE_USER_ID is evaluated from UserEvidence (see Simulator)
        names = frozenset(lf.name for lf in layer.fields if lf.name != "ALE_USER_ID")
        fields = _LAYER_FIELDS[layer.layer_id] = (
            names, tuple(lf.name for lf in layer.fields if lf.name in _FILLED))
    names, fillable = fields
    for name in fillable:  # in the layer's field order (explain prints them so)
        v = src.get(name)
        if v is not None:
            vals[name] = v
    return vals, names.difference(vals)


#: Every field packet_of can fill.
_FILLED = frozenset({
    "IP_PROTOCOL", "IP_LOCAL_ADDRESS", "IP_REMOTE_ADDRESS", "IP_LOCAL_PORT", "IP_REMOTE_PORT", "ALE_APP_ID",
    "ALE_PACKAGE_ID", "ORIGINAL_PROFILE_ID", "CURRENT_PROFILE_ID", "REAUTHORIZE_REASON", "INTERFACE_INDEX",
    "DIRECTION", "IP_LOCAL_ADDRESS_TYPE", "IP_DESTINATION_ADDRESS_TYPE", "FLAGS"})
#: Per layer id: (its fields but ALE_USER_ID, those packet_of can fill in layer order).
_LAYER_FIELDS: dict[int, tuple[frozenset[str], tuple[str, ...]]] = {}


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


def evidence_held(obs: Observation) -> Callable[[Condition], bool | None]:
    """For ``core.explain``: how an event's ALE_USER_ID conditions were decided — by the access
    check of the evidence's token (``user_matches``; unknown counts as not holding, as in
    world F) — and None for every other condition (decided by the values)."""
    user = UserEvidence(obs.user_id, obs.package_sid, obs.capabilities)

    def held(c: Condition) -> bool | None:
        if c.field != "ALE_USER_ID":
            return None
        return user_matches(c, user) is True

    return held


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


@dataclass(slots=True)  # not frozen: one per distinct event, and frozen __init__ costs 2x
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


#: Simulator._plan: (every filter, ((field, bounds, segs, table), ...) of the known fields,
#: filters free of every unknown field, the ALE_USER_ID table or None).
_Plan = tuple[int, tuple[tuple[str, "list[int] | None", "list[int]", FieldMask], ...], int, "FieldMask | None"]


def _same_action(a: str, b: str) -> bool:
    return (a == BLOCK) == (b == BLOCK)  # none counts as permit


class Simulator:
    """Simulates events against one policy (compiled once; results memoised per packet)."""

    def __init__(self, policy: Policy, compiled: CompiledPolicy | None = None) -> None:
        self.policy = policy
        self.compiled = compiled if compiled is not None else CompiledPolicy(policy)
        self._users: dict[tuple[int, UserEvidence], tuple[int, int, int]] = {}
        self._memo: dict[tuple[object, ...], Simulated] = {}
        self._plans: dict[tuple[int, frozenset[str]], _Plan] = {}
        self._open: dict[tuple[int, int, frozenset[str], bool], tuple[str, ...]] = {}
        self._by_id: dict[tuple[int, int], Filter] = {}
        self._by_key: dict[str, Filter] = {}
        self._by_name: dict[tuple[str, str], list[Filter]] = {}
        for f in policy.filters:
            self._by_id[(get_layer(f.layer).layer_id, f.filter_id)] = f
            self._by_key[f.key.lower()] = f
            if f.name:
                self._by_name.setdefault((f.layer, f.name.lower()), []).append(f)

    def simulate(self, obs: Observation) -> Simulated | None:
        """The event's classification at its layer, or None when it is not one."""
        if obs.action is None:
            return None
        # Memoised on everything packet_of and UserEvidence read, before building the packet:
        # captures repeat the same connection attempt many times.
        raw = (obs.layer_id, obs.protocol, obs.local_addr, obs.remote_addr, obs.local_port, obs.remote_port,
               obs.icmp_type, obs.icmp_code, obs.app_id, obs.package_sid, obs.original_profile,
               obs.current_profile, obs.reauth_reason, obs.interface_index, obs.direction, obs.is_loopback,
               obs.ip_version, obs.user_id, obs.capabilities)
        memo = self._memo
        try:
            return memo[raw]
        except KeyError:
            pass
        layer = event_layer(obs)
        if layer is None:
            return None
        values, unknown = packet_of(obs, layer)
        user = UserEvidence(obs.user_id, obs.package_sid, obs.capabilities)
        sim = self._simulate(layer, values, unknown, user)
        if len(memo) >= 1 << 18:
            memo.clear()
        memo[raw] = sim
        return sim

    def _user_masks(self, cl: CompiledLayer, table: FieldMask, user: UserEvidence) -> tuple[int, int, int]:
        """For the ALE_USER_ID table of ``cl``: (filters whose user conditions surely hold,
        ... may hold, ... whose answer rests on the group assumption of ``user_matches``),
        as bitmasks; the filters without a user condition are in the first two."""
        key = (id(cl), user)
        hit = self._users.get(key)
        if hit is None:
            sure = maybe = table.free
            assumes = 0
            for bit, _test in table.tests:
                flt = cl.filters[position(bit, len(cl.filters))]
                mine: set[str] = set()
                g: bool | None = False
                for c in flt.conditions:  # OR within the field, first True ends it (filter_matches3)
                    if c.field != "ALE_USER_ID":
                        continue
                    r = user_matches(c, user, mine)
                    if r is True:
                        g = True
                        break
                    if r is None:
                        g = None
                if g is True:
                    sure |= bit
                if g is not False:
                    maybe |= bit
                if mine:
                    assumes |= bit
            hit = self._users[key] = (sure, maybe, assumes)
        return hit

    def _plan(self, cl: CompiledLayer, unknown: frozenset[str]) -> _Plan:
        """For a layer and the fields the evidence lacks: (every filter, the known fields'
        tables, the filters with no condition on any unknown field, the ALE_USER_ID table)."""
        key = (id(cl), unknown)
        hit = self._plans.get(key)
        if hit is None:
            every, tables = cl.mask_tables()
            plan = []
            unknown_free = every
            user_table = None
            for t in tables:
                if t.field == "ALE_USER_ID":
                    user_table = t
                elif t.field in unknown:
                    unknown_free &= t.free
                else:
                    plan.append((t.field, t.bounds, t.segs, t))
            hit = self._plans[key] = (every, tuple(plan), unknown_free, user_table)
        return hit

    def _simulate(self, layer: Layer, values: dict[str, Value], unknown: frozenset[str],
                  user: UserEvidence) -> Simulated:
        """Both worlds as bitmasks over the layer's filters (``CompiledLayer.match_mask``):
        world F (sure) takes every condition on an unknown field as failing, world T (maybe)
        as holding; ALE_USER_ID is three-valued from the evidence (``user_matches``)."""
        cl = self.compiled.layer(layer)
        every, plan, unknown_free, user_table = self._plan(cl, unknown)
        get = values.get
        known = every
        for fld, bounds, segs, table in plan:
            v = get(fld, EMPTY)
            known &= segs[bisect_right(bounds, v)] if bounds is not None and type(v) is int else table.mask(v)
            if not known:
                break
        sure, maybe, assumes = known & unknown_free, known, 0
        if user_table is not None and known:
            s_bits, m_bits, assumes = self._user_masks(cl, user_table, user)
            sure &= s_bits
            maybe &= m_bits
        # values: read only by declared callout rules (issue 15); an unknown field is FWP_EMPTY there
        world_f = cl.decide_mask(sure, values)
        world_t = cl.decide_mask(maybe, values) if maybe != sure else world_f
        notes = ("ALE_USER_ID",) if assumes & maybe else ()
        if not _same_action(world_f.action, world_t.action):
            return Simulated(None, None, world_f, world_t, self._open_fields(cl, maybe & ~sure, unknown, user),
                             values, unknown, notes)
        flt = world_f.filter if _same_filter(world_f.filter, world_t.filter) else None
        fields = () if flt is not None or world_f.filter is None else self._open_fields(
            cl, maybe & ~sure, unknown, user)
        return Simulated(world_f.action, flt, world_f, world_t, fields, values, unknown, notes)

    def _open_fields(self, cl: CompiledLayer, open_bits: int, unknown: frozenset[str],
                     user: UserEvidence) -> tuple[str, ...]:
        """The unknown fields of the filters that match in world T only (memoised: events
        of one kind leave the same filters open)."""
        user_open = user.user is None or user.package is None or bool(user.appcontainer and user.capabilities is None)
        key = (id(cl), open_bits, unknown, user_open)
        hit = self._open.get(key)
        if hit is None:
            out: set[str] = set()
            for p in positions(open_bits, len(cl.filters)):
                out |= unknown_fields_of(cl.filters[p], unknown, user)
            hit = self._open[key] = tuple(sorted(out))
            if len(self._open) >= 1 << 14:
                self._open.clear()
        return hit

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


@dataclass(slots=True)  # not frozen: built once per event, and frozen __init__ costs 2x
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


__all__ = [
    "AGREE", "CAPTURE_SUBLAYERS", "DIFFER", "FIELD_TABLE", "NOT_SIMULATED", "OTHER_FILTER", "UNKNOWN",
    "VERDICT_ORDER", "EventVerdict", "Simulated", "Simulator", "UserEvidence",
    "capture_sublayer", "compare", "event_direction", "event_layer", "filter_matches3",
    "judge", "packet_of", "user_matches",
]
