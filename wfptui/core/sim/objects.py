"""The simulated hosts' state: constants, sockets, packets, hosts (wfp-model.md §2).

Nothing here classifies: a ``Host`` holds its compiled policy, its resolved layer
sequences (``core.sim.sequences``) and its sockets, ports, connections and flows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from wfptui.core.arbitration import CompiledLayer, CompiledPolicy, compile_policy
from wfptui.core.flowctx import flow_layer_ids
from wfptui.core.layers import Layer, get_layer
from wfptui.core.match import same_field_ored
from wfptui.core.model import Policy, Token
from wfptui.core.redirect import binds_redirect
from wfptui.core.scenario import AppSpec, HostSpec, InterfaceSpec
from wfptui.core.sim.sequences import Key, Stage, stages
from wfptui.core.values import normalize_app_id, parse_address

if TYPE_CHECKING:
    from wfptui.core.sim.clock import Timer
    from wfptui.core.sim.endpoint import Ctx, Plan
    from wfptui.core.sim.flows import Flow

TCP, UDP, ICMP4, ICMP6 = 6, 17, 1, 58

F_LOOPBACK = 0x1  # FWP_CONDITION_FLAG_IS_LOOPBACK (§4.5)
#: FWP_CONDITION_FLAG_IS_NON_APPCONTAINER_LOOPBACK (Win8+, §2.8): loopback between apps that are
#: not AppContainers. Every simulated app is unpackaged (ALE_PACKAGE_ID S-1-0-0), so Win8+
#: loopback carries this bit beside IS_LOOPBACK; Windows Firewall's AppContainer loopback
#: filters test it (FLAGS_ALL_SET 0x800000).
F_NON_APPCONTAINER_LOOPBACK = 0x800000
F_REAUTHORIZE = 0x4  # FWP_CONDITION_FLAG_IS_REAUTHORIZE
F_WILDCARD_BIND = 0x8  # FWP_CONDITION_FLAG_IS_WILDCARD_BIND
F_IMPLICIT_BIND = 0x200  # FWP_CONDITION_FLAG_IS_IMPLICIT_BIND (Vista only, §4.5)
#: FWP_CONDITION_FLAG_IS_RECLASSIFY (Win7+, §4.5): "the filter engine is reclassifying an earlier
#: bind or listen request" (Filtering Condition Flags), at ALE_RESOURCE_ASSIGNMENT / ALE_AUTH_LISTEN.
F_RECLASSIFY = 0x20000
REASON_POLICY_CHANGE = 0x1  # FWP_CONDITION_REAUTHORIZE_REASON_POLICY_CHANGE (§4.6)
REASON_CLASSIFY_COMPLETION = 0x10  # FWP_CONDITION_REAUTHORIZE_REASON_CLASSIFY_COMPLETION (§4.6): a pend completed


def reauth_reason(reauth: bool | int) -> int:
    """The REAUTHORIZE_REASON of a walk's ``reauth``: False none, True a policy change (the
    usual case), else the reason bits themselves (a completed pend: REASON_CLASSIFY_COMPLETION)."""
    if reauth is True:
        return REASON_POLICY_CHANGE
    return int(reauth)
OUTBOUND, INBOUND = 0, 1  # FWP_DIRECTION
NLAT_UNICAST = 1  # NL_ADDRESS_TYPE NlatUnicast
COMPARTMENT_DEFAULT = 1
PACKAGE_ID_NONE = "S-1-0-0"  # ALE_PACKAGE_ID of a non-packaged app

#: Virtual timing (seconds). One-way wire latency between hosts, and on loopback.
LATENCY = 0.0005
LOOPBACK_LATENCY = 0.00005
#: Spacing of consecutive segments/datagrams of one ``send``.
PACKET_GAP = 0.00001
#: Idle timeout of unicast UDP and ICMP flows (§2.6).
IDLE_TIMEOUT = 60.0
#: TCP SYN retransmissions (TcpMaxConnectRetransmissions = 2) and initial RTO: 3 s
#: before Windows 8, 1 s from Windows 8 on.
MAX_SYN_RETRANSMITS = 2
#: ping.exe's default timeout, and how long a probe waits for an answer.
PING_TIMEOUT = 4.0
PROBE_TIMEOUT = 2.0
EPHEMERAL_FIRST = 49152  # Windows dynamic port range 49152-65535 (§2.11, Q6)

#: Layer families where IS_LOOPBACK is set for loopback traffic (union of the SDK and
#: WDK lists, Q1), discard twins included.
LOOPBACK_FAMILIES = frozenset({
    "INBOUND_IPPACKET", "OUTBOUND_IPPACKET", "INBOUND_TRANSPORT", "OUTBOUND_TRANSPORT", "STREAM",
    "DATAGRAM_DATA", "INBOUND_ICMP_ERROR", "OUTBOUND_ICMP_ERROR", "ALE_AUTH_RECV_ACCEPT",
    "ALE_AUTH_CONNECT", "ALE_FLOW_ESTABLISHED",
})
EVENT_PERMIT_FAMILIES = frozenset({
    "ALE_RESOURCE_ASSIGNMENT", "ALE_AUTH_LISTEN", "ALE_AUTH_CONNECT", "ALE_AUTH_RECV_ACCEPT",
})
REAUTH_FAMILIES = frozenset({"ALE_AUTH_CONNECT", "ALE_AUTH_RECV_ACCEPT"})
#: Where an existing bind / listen is reclassified (IS_RECLASSIFY) after a policy change.
RECLASSIFY_FAMILIES = frozenset({"ALE_RESOURCE_ASSIGNMENT", "ALE_AUTH_LISTEN"})
EVENT_PERMIT_IDS = frozenset(get_layer(f"{fam}_V{v}").layer_id for fam in EVENT_PERMIT_FAMILIES for v in (4, 6))

#: The app that answers ICMP echo requests: the kernel ("System", LocalSystem).
SYSTEM_APP = AppSpec(name="System", path="System", user="S-1-5-18")
#: The app a ``ping`` step uses when it names none.
PING_APP = AppSpec(name="ping", path="C:\\Windows\\System32\\PING.EXE")
#: The app of a ``connect``/``bind``/``listen`` step that names none.
DEFAULT_APP = AppSpec(name="app", path="C:\\Windows\\System32\\svchost.exe")

_GROUPS_USER = frozenset({"S-1-1-0", "S-1-5-11", "S-1-5-32-545"})  # Everyone, Authenticated Users, Users
_GROUPS_SYSTEM = frozenset({"S-1-1-0", "S-1-5-11", "S-1-5-32-544"})  # ... Administrators


#: The IPv4-mapped IPv6 prefix ::ffff:0:0/96 (RFC 4291 §2.5.5.2): how a dual-stack socket
#: names its IPv4 peers, and the addresses the V6 ALE layers carry for its IPv4 traffic.
V4_MAPPED = 0xFFFF << 32


def v4_mapped(addr: int) -> int:
    """``10.0.0.2`` → ``::ffff:10.0.0.2`` (as an int)."""
    return V4_MAPPED | addr


def is_v4_mapped(addr: int, bits: int) -> bool:
    return bits == 128 and addr >> 32 == 0xFFFF


def is_loopback_address(addr: int, bits: int) -> bool:
    """127.0.0.0/8 or ::1: present on every Windows host on the software-loopback interface
    (IF_TYPE_SOFTWARE_LOOPBACK, 24), whether or not a scenario lists it (RFC 1122 §3.2.1.3,
    RFC 4291 §2.5.3)."""
    return (addr >> 24) == 127 if bits == 32 else addr == 1


def user_token(sid: str) -> Token:
    """ALE_USER_ID: the app's user SID with the usual well-known groups."""
    return Token(user=sid, groups=_GROUPS_SYSTEM if sid == "S-1-5-18" else _GROUPS_USER)



class Sock:
    """A socket: a TCP listener, a TCP connection (connected or accepted) or a UDP socket."""

    __slots__ = ("name", "host", "kind", "app", "bits", "laddr", "lport", "wildcard", "implicit", "assigned",
                 "bind_ctx", "state", "flow", "raddr", "rport", "flows", "accepted", "last_peer",
                 "listener", "authorized", "syn_tries", "default_remote", "conn_key", "timer", "data_pkt",
                 "ra_indicated", "auth", "dual", "redirect_record")

    def __init__(self, name: str | None, host: Host, kind: str, app: AppSpec, bits: int) -> None:
        self.name = name
        self.host = host
        self.kind = kind  # tcp-listen | tcp | udp
        self.app = app
        self.bits = bits
        self.laddr: int | None = None
        self.lport = 0
        self.wildcard = False
        self.implicit = False
        self.assigned = False  # RESOURCE_ASSIGNMENT permitted: RESOURCE_RELEASE on close
        self.bind_ctx: Ctx | None = None
        self.state = "new"
        self.flow: Flow | None = None
        self.raddr: int | None = None
        self.rport: int | None = None
        self.flows: dict[tuple[int, int], Flow] = {}
        self.accepted: list[Sock] = []
        self.last_peer: tuple[int, int] | None = None
        self.listener: Sock | None = None
        self.authorized = False  # an AUTH_CONNECT/RECV_ACCEPT indication: ENDPOINT_CLOSURE on close
        self.syn_tries = 0
        self.default_remote: tuple[int, int] | None = None
        self.conn_key: tuple[int, int, int, int, int] | None = None
        self.timer: Timer | None = None
        self.data_pkt: Pkt | None = None  # the last DATA segment sent (packets are immutable)
        #: ALE endpoint lifetime (ale-endpoint-lifetime-management, Win7+): RESOURCE_RELEASE
        #: answers every RESOURCE_ASSIGNMENT indication, permitted or blocked; ENDPOINT_CLOSURE
        #: every AUTH_CONNECT / RECV_ACCEPT indication of a TCP connection (``auth``: its
        #: endpoint and flow id), whatever happened in between.
        self.ra_indicated = False
        self.auth: tuple[Ctx, int] | None = None
        #: A dual-stack socket (AF_INET6, IPV6_V6ONLY = 0): its port is taken in both families,
        #: its ALE classifications are V6 (docs/decisions-engine.md "Dual-stack sockets").
        self.dual = False
        #: A connect redirect (core.redirect): the redirect record and context the connection
        #: carries -- the callout that redirected it and the original destination (address, bits,
        #: port); an accepted socket of a local proxy gets its client's.
        self.redirect_record: tuple[str, int, int, int] | None = None

    @property
    def ale_bits(self) -> int:
        """The IP version of the socket's ALE layers: V6 for a dual-stack socket."""
        return 128 if self.dual else self.bits

    def port_families(self) -> tuple[int, ...]:
        """The port spaces the socket's port is taken in: both for a dual-stack socket."""
        return (32, 128) if self.dual else (self.bits,)

    def segment(self, kind: str, nbytes: int = 0) -> Pkt:
        """A TCP segment from this connected socket's local end to its remote end."""
        assert self.laddr is not None and self.raddr is not None and self.rport is not None
        return Pkt(TCP, self.bits, self.laddr, self.raddr, self.lport, self.rport, kind, nbytes)


class Pkt:
    """A packet on the simulated wire."""

    __slots__ = ("proto", "bits", "src", "dst", "sport", "dport", "kind", "nbytes", "icmp_type", "icmp_code",
                 "ident", "probe", "embedded", "seq", "ckey", "hop")

    def __init__(self, proto: int, bits: int, src: int, dst: int, sport: int, dport: int, kind: str,
                 nbytes: int = 0, icmp_type: int = 0, icmp_code: int = 0, ident: int = 0,
                 probe: bool = False, embedded: tuple[int, int, int, int, int] | None = None, seq: int = 0):
        self.proto = proto
        self.bits = bits
        self.src = src
        self.dst = dst
        self.sport = sport
        self.dport = dport
        self.kind = kind  # SYN SYN-ACK ACK DATA RST DATAGRAM ICMP ICMP-ERROR
        self.nbytes = nbytes
        self.icmp_type = icmp_type
        self.icmp_code = icmp_code
        self.ident = ident
        self.probe = probe
        self.embedded = embedded  # (protocol, src, sport, dst, dport) of the quoted packet
        self.seq = seq
        #: The receiver's ``Host.conns`` key (a reused DATA segment looks it up often).
        self.ckey = (bits, dst, dport, src, sport)
        #: (delay, handler, args) of its delivery, set by ``Network.wire`` on first send.
        self.hop: tuple[float, Callable[..., None], tuple[Any, ...]] | None = None


class Host:
    """One simulated Windows machine and its stack state."""

    def __init__(self, spec: HostSpec, policy: Policy) -> None:
        self.spec = spec
        self.name = spec.name
        self.windows = spec.windows
        self.iface = spec.interface
        self.addrs: list[tuple[int, int]] = [parse_address(a) for a in spec.addresses]  # (value, bits)
        #: The interface of each local address that is not on the first one (a VPN tunnel ...).
        self.iface_of: dict[tuple[int, int], InterfaceSpec] = {
            parse_address(a): i for i in spec.more_interfaces for a in i.addresses}
        self.policy = policy
        self._compiled: CompiledPolicy = compile_policy(policy, ored=same_field_ored(spec.windows))
        self._cl: dict[int, CompiledLayer] = {}
        #: Layer ids whose classifications read a flow's callout state (issue 15), or None.
        self.flow_layers = flow_layer_ids(policy)
        #: Some callout rule redirects binds (core.redirect): a bind walks BIND_REDIRECT on its own.
        self.bind_redirects = binds_redirect(policy)
        #: Identifies the policy generation: a new object at every policy change, so a
        #: View's cached classification is valid while its token is this one.
        self.policy_token = object()
        #: The layer sequences (core.sim.sequences) on this Windows version, per IP version.
        self.S4 = stages(spec.windows, 32)
        self.S6 = stages(spec.windows, 128)
        self._twins: dict[int, Stage | None] = {}
        self._splits: dict[Stage, tuple[Stage, Stage]] = {}
        self._app_ids: dict[str, str] = {}
        self.next_port = EPHEMERAL_FIRST
        self.next_icmp_id = 1
        self.ports: set[tuple[int, int, int]] = set()  # (proto, bits, port) in use
        #: Sockets whose bind was permitted, in bind order: the endpoints a policy change at
        #: RESOURCE_ASSIGNMENT / AUTH_LISTEN reclassifies (core.sim.flows.Flows.reclassify).
        self.bound: dict[Sock, None] = {}
        self.listeners: dict[tuple[int, int], list[Sock]] = {}
        self.udp: dict[tuple[int, int], list[Sock]] = {}
        self.conns: dict[tuple[int, int, int, int, int], Sock] = {}
        #: Inbound connections whose ALE_AUTH_RECV_ACCEPT a callout pended (core.pend): their
        #: 5-tuple -> the completion timer (a retransmitted SYN meanwhile is not classified).
        self.pended_accepts: dict[tuple[int, int, int, int, int], Timer | None] = {}
        #: Pended classifications waiting for a ``complete`` step: (callout, completion, its args).
        self.pended_ops: list[tuple[str, Callable[..., None], tuple[Any, ...]]] = []
        self.icmp_flows: dict[tuple[str, int, int, int, int], Flow] = {}
        self.flows: dict[int, Flow] = {}
        self.probes: dict[tuple[int, int, int, int, int], Timer] = {}
        self.pings: dict[tuple[int, int], Timer] = {}
        self.seen: set[int] = set()  # layer ids crossed (for Network.layer_order)
        #: Ctx._plan results by (layer id, direction, reauth, loopback, wildcard, implicit,
        #: lport / raddr / rport / app known).
        self.plans: dict[tuple[int | None | bool, ...], Plan] = {}

    # -- helpers ----------------------------------------------------------------
    def stage(self, bits: int, key: Key) -> Stage:
        """The layers of event ``key`` (protocol, event, direction) for an IP version."""
        return (self.S4 if bits == 32 else self.S6)[key]

    def stage_split(self, bits: int, key: Key) -> tuple[Stage, Stage]:
        """Stage ``key`` cut after its first layer (a bind: ALE_BIND_REDIRECT, then the rest), the
        two halves kept so that the endpoints' path caches hold them."""
        whole = self.stage(bits, key)
        hit = self._splits.get(whole)
        if hit is None:
            hit = self._splits[whole] = (Stage(whole.key, whole.layers[:1]), Stage(whole.key, whole.layers[1:]))
        return hit

    def app_id(self, app: AppSpec) -> str:
        hit = self._app_ids.get(app.path)
        if hit is None:
            hit = normalize_app_id(app.path)
            self._app_ids[app.path] = hit
        return hit

    def local_addr(self, bits: int) -> int | None:
        for v, b in self.addrs:
            if b == bits:
                return v
        return None

    def owns(self, bits: int, addr: int) -> bool:
        """A listed address, or loopback (which every host has, listed or not)."""
        return (addr, bits) in self.addrs or is_loopback_address(addr, bits)

    def cl(self, layer: Layer) -> CompiledLayer:
        c = self._cl.get(layer.layer_id)
        if c is None:
            c = self._compiled.layer(layer)
            self._cl[layer.layer_id] = c
        return c

    def twin(self, layer: Layer) -> Stage | None:
        """The discard twin of ``layer`` as a one-layer stage (None: none, or a discard layer)."""
        if layer.layer_id not in self._twins:
            name = layer.discard_twin
            self._twins[layer.layer_id] = (Stage(("discard", name, None), (get_layer(name),))
                                           if (name and not layer.is_discard) else None)
        return self._twins[layer.layer_id]

    def set_policy(self, policy: Policy) -> None:
        self.policy = policy
        self._compiled = compile_policy(policy, ored=same_field_ored(self.windows))
        self._cl.clear()
        self.flow_layers = flow_layer_ids(policy)
        self.bind_redirects = binds_redirect(policy)
        self.policy_token = object()

    def alloc_port(self, proto: int, bits: int, also: int | None = None) -> int:
        """The next free ephemeral port for ``bits`` (and ``also``: a dual-stack socket's
        port must be free in both families)."""
        while (proto, bits, self.next_port) in self.ports or (
                also is not None and (proto, also, self.next_port) in self.ports):
            self.next_port += 1
        port = self.next_port
        self.next_port += 1
        return port
