"""The policy object model: match types, actions, filter flags, values, conditions,
filters, sublayers, callouts, policies, and the result of one classification.

Everything here is plain, immutable data. Parsing text into these objects lives in
``core.values`` (values) and ``io.policy_file`` (TOML); deciding lives in
``core.arbitration``. Names and numbers are Windows' own (wfp-model.md §3, §4).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from dataclasses import field as dc_field
from enum import IntEnum, IntFlag
from typing import TYPE_CHECKING, Union

from wfptui.core.datatypes import DataType
from wfptui.core.pend import Pend
from wfptui.core.redirect import Redirect, Target

if TYPE_CHECKING:
    from wfptui.core.layers import Layer


class MatchType(IntEnum):
    """FWP_MATCH_TYPE (fwptypes.h), wfp-model.md §4.2."""

    FWP_MATCH_EQUAL = 0
    FWP_MATCH_GREATER = 1
    FWP_MATCH_LESS = 2
    FWP_MATCH_GREATER_OR_EQUAL = 3
    FWP_MATCH_LESS_OR_EQUAL = 4
    FWP_MATCH_RANGE = 5
    FWP_MATCH_FLAGS_ALL_SET = 6
    FWP_MATCH_FLAGS_ANY_SET = 7
    FWP_MATCH_FLAGS_NONE_SET = 8
    FWP_MATCH_EQUAL_CASE_INSENSITIVE = 9
    FWP_MATCH_NOT_EQUAL = 10
    FWP_MATCH_PREFIX = 11
    FWP_MATCH_NOT_PREFIX = 12
    FWP_MATCH_TYPE_MAX = 13

    @property
    def short(self) -> str:
        """``equal``, ``range``, ``flags_all_set`` ... as written in policy files."""
        return self.name.removeprefix("FWP_MATCH_").lower()


class ActionType(IntEnum):
    """FWP_ACTION_TYPE (fwptypes.h), wfp-model.md §3.1."""

    FWP_ACTION_BLOCK = 0x00001001
    FWP_ACTION_PERMIT = 0x00001002
    FWP_ACTION_CALLOUT_TERMINATING = 0x00005003
    FWP_ACTION_CALLOUT_INSPECTION = 0x00006004
    FWP_ACTION_CALLOUT_UNKNOWN = 0x00004005
    FWP_ACTION_CONTINUE = 0x00002006
    FWP_ACTION_NONE = 0x00000007
    FWP_ACTION_NONE_NO_MATCH = 0x00000008

    @property
    def short(self) -> str:
        """``block``, ``permit``, ``callout_terminating`` ... as written in policy files."""
        return self.name.removeprefix("FWP_ACTION_").lower()

    @property
    def is_callout(self) -> bool:
        """FWP_ACTION_FLAG_CALLOUT (0x4000) is set."""
        return bool(self.value & 0x4000)


#: FWP_ACTION_FLAG_* bits (§3.1).
FWP_ACTION_FLAG_TERMINATING = 0x00001000
FWP_ACTION_FLAG_NON_TERMINATING = 0x00002000
FWP_ACTION_FLAG_CALLOUT = 0x00004000


class FilterFlag(IntFlag):
    """FWPM_FILTER_FLAG_* (fwpmtypes.h), wfp-model.md §3.7. Member names drop the prefix."""

    NONE = 0x0
    PERSISTENT = 0x1
    BOOTTIME = 0x2
    HAS_PROVIDER_CONTEXT = 0x4
    CLEAR_ACTION_RIGHT = 0x8
    PERMIT_IF_CALLOUT_UNREGISTERED = 0x10
    DISABLED = 0x20
    INDEXED = 0x40
    HAS_SECURITY_REALM_PROVIDER_CONTEXT = 0x80
    SYSTEMOS_ONLY = 0x100
    GAMEOS_ONLY = 0x200
    SILENT_MODE = 0x400
    IPSEC_NO_ACQUIRE_INITIATE = 0x800
    RESERVED0 = 0x1000
    RESERVED1 = 0x2000
    RESERVED2 = 0x4000


#: FWPM_AUTO_WEIGHT_BITS (fwpmtypes.h, §3.2): a UINT8 weight range sits above these bits.
FWPM_AUTO_WEIGHT_BITS = 60
#: FWPM_AUTO_WEIGHT_MAX = MAXUINT64 >> 4.
FWPM_AUTO_WEIGHT_MAX = (1 << 60) - 1
#: FWPM_WEIGHT_RANGE_MAX (ranges are 0..15).
FWPM_WEIGHT_RANGE_MAX = 15
#: FWP_ACTRL_MATCH_FILTER: the right a security-descriptor condition checks for (§4.2).
FWP_ACTRL_MATCH_FILTER = 0x00000001


# ----------------------------------------------------------------------------- values


class _Empty:
    """FWP_EMPTY: the value of a field that is unknown for this classification (§2.5, §4.1)."""

    _instance: _Empty | None = None

    def __new__(cls) -> _Empty:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "EMPTY"

    def __reduce__(self) -> str:
        return "EMPTY"


#: The one FWP_EMPTY value.
EMPTY = _Empty()


@dataclass(frozen=True, slots=True)
class AddrMask:
    """FWP_V4_ADDR_MASK / FWP_V6_ADDR_MASK: an address with a prefix length.

    ``addr`` is the address as an integer (32 or 128 bits); matching is
    ``(value ^ addr) >> (bits - prefix) == 0`` (CIDR semantics, §4.2).
    """

    addr: int
    prefix: int
    bits: int  # 32 for IPv4, 128 for IPv6

    @property
    def dtype(self) -> DataType:
        return DataType.FWP_V4_ADDR_MASK if self.bits == 32 else DataType.FWP_V6_ADDR_MASK

    def contains(self, value: int) -> bool:
        shift = self.bits - self.prefix
        return (value ^ self.addr) >> shift == 0


@dataclass(frozen=True, slots=True)
class Range:
    """FWP_RANGE_TYPE {valueLow, valueHigh}; bounds are inclusive (§4.2)."""

    low: Value
    high: Value


@dataclass(frozen=True, slots=True)
class Ace:
    """One access-control entry of a DACL (SDDL ``(A;;CC;;;SID)``)."""

    allow: bool  # A = allow, D = deny
    mask: int  # access rights; CC = 0x1 = FWP_ACTRL_MATCH_FILTER
    sid: str  # canonical string SID (aliases such as ``LS`` expanded)
    #: Conditional (callback) ACE ``XA``/``XD``: the condition text, e.g.
    #: ``WIN://SYSAPPID Contains "Microsoft.WindowsStore_8wekyb3d8bbwe"`` (core.sddl).
    condition: str | None = None


@dataclass(frozen=True, slots=True)
class SecurityDescriptor:
    """FWP_SECURITY_DESCRIPTOR_TYPE: an SDDL string, parsed (§4.2).

    A condition on ALE_USER_ID and friends is true when an access check of the
    traffic's token against this descriptor grants FWP_ACTRL_MATCH_FILTER.
    """

    sddl: str
    owner: str | None
    group: str | None
    dacl: tuple[Ace, ...] | None  # None = no DACL (grants everything)


@dataclass(frozen=True, slots=True)
class Token:
    """FWP_TOKEN_ACCESS_INFORMATION_TYPE: who the traffic runs as (user SID and groups)."""

    user: str
    groups: frozenset[str] = frozenset()

    @property
    def sids(self) -> frozenset[str]:
        return self.groups | {self.user}


@dataclass(frozen=True, slots=True)
class Blob:
    """FWP_BYTE_BLOB_TYPE that does not hold a string (raw bytes, shown as hex)."""

    data: bytes


#: A condition or classified value. Integers cover every integer type, IPv4 (FWP_UINT32)
#: and IPv6 (FWP_BYTE_ARRAY16_TYPE, as a 128-bit integer) addresses and MAC addresses.
#: ``str`` covers string blobs (ALE_APP_ID: the lower-cased NT path), unicode strings
#: and SIDs (FWP_SID, canonical ``S-1-...`` form).
Value = Union[int, str, Blob, AddrMask, Range, SecurityDescriptor, Token, _Empty]


class SourceLoc:
    """Where something was written: file, 1-based line and column.

    Immutable. ``line`` and ``col`` may be given as a ``where`` callable instead, asked
    once when first read: a loader then pays for positions (a second scan of a big TOML
    file) only when something shows one — an error, the TUI inspector."""

    __slots__ = ("file", "_line", "_col", "_where")
    file: str
    _line: int
    _col: int
    _where: Callable[[], tuple[int, int]] | None

    def __init__(self, file: str, line: int = 0, col: int = 0,
                 where: Callable[[], tuple[int, int]] | None = None) -> None:
        object.__setattr__(self, "file", file)
        object.__setattr__(self, "_line", line)
        object.__setattr__(self, "_col", col)
        object.__setattr__(self, "_where", where)

    def _resolve(self) -> None:
        where = self._where
        if where is not None:
            line, col = where()
            object.__setattr__(self, "_line", line)
            object.__setattr__(self, "_col", col)
            object.__setattr__(self, "_where", None)

    @property
    def line(self) -> int:
        self._resolve()
        return self._line

    @property
    def col(self) -> int:
        self._resolve()
        return self._col

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"SourceLoc is immutable (cannot set {name!r})")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SourceLoc):
            return NotImplemented
        return (self.file, self.line, self.col) == (other.file, other.line, other.col)

    def __hash__(self) -> int:
        return hash((self.file, self.line, self.col))

    def __repr__(self) -> str:
        return f"SourceLoc(file={self.file!r}, line={self.line}, col={self.col})"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True, slots=True)
class Condition:
    """FWPM_FILTER_CONDITION0: field, match type and value (§4.1)."""

    field: str  # canonical short condition name, e.g. "IP_REMOTE_PORT"
    match: MatchType
    value: Value
    dtype: DataType  # the condition value's FWP data type (e.g. FWP_V4_ADDR_MASK, FWP_RANGE_TYPE)
    loc: SourceLoc | None = dc_field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Weight:
    """FWPM_FILTER0.weight as given: FWP_EMPTY, FWP_UINT8 (range 0..15) or FWP_UINT64 (§3.2)."""

    type: DataType  # FWP_EMPTY | FWP_UINT8 | FWP_UINT64
    value: int | None = None

    def __str__(self) -> str:
        if self.type == DataType.FWP_EMPTY:
            return "FWP_EMPTY"
        if self.type == DataType.FWP_UINT8:
            return f"FWP_UINT8 {self.value}"
        return f"FWP_UINT64 {self.value:#018x}" if self.value is not None else "FWP_UINT64"


@dataclass(frozen=True, slots=True)
class Sublayer:
    """FWPM_SUBLAYER0: a named container evaluated in every layer, by weight (§3.1)."""

    key: str  # the name used in policy files ("corp", or a built-in short name "MPSSVC_WF")
    weight: int  # UINT16; higher = evaluated first
    guid: str | None = None
    name: str = ""
    builtin: bool = False
    loc: SourceLoc | None = dc_field(default=None, compare=False)


#: What a callout's classifyFn may return in wfptui's model (issue 15): FWP_ACTION_PERMIT,
#: FWP_ACTION_BLOCK, FWP_ACTION_CONTINUE, or ``absorb`` = FWP_ACTION_BLOCK with
#: FWPS_CLASSIFY_OUT_FLAG_ABSORB (dropped silently: no net event, no audit).
CALLOUT_ACTIONS = ("permit", "block", "continue", "absorb")


@dataclass(frozen=True, slots=True)
class CalloutRule:
    """One rule of a declared callout (issue 15): when ``conditions`` hold for the classified
    values (core.match: ORed within a field, ANDed across fields; none = always), the
    callout's classifyFn returns ``action`` (one of CALLOUT_ACTIONS).

    ``hard``: the callout clears FWPS_RIGHT_ACTION_WRITE with its permit/block (the
    "clear-write-right" of the issue); None = as the callout's ``hard``.

    Flow context (issue 15; docs/decisions-engine.md "Flow context and stream inspection"):
    ``flow_context``: at ALE_FLOW_ESTABLISHED the callout associates this context label with
    the flow (FwpsFlowAssociateContext0) for callout ``flow_context_callout`` (None: itself);
    ``when_flow_context``: the rule holds only on a flow carrying that label for this callout;
    ``permit_bytes``: at STREAM, the first N bytes of the flow (per direction) are permitted
    (``action`` is then ``permit``), later ones get ``then`` (``block`` or
    ``drop_connection`` = FWPS_STREAM_ACTION_DROP_CONNECTION).

    Pending (issue 15; core.pend): ``action = "pend"`` suspends an ALE_AUTH_CONNECT /
    ALE_AUTH_RECV_ACCEPT classification and completes it ``complete_after`` virtual seconds
    later; the reauthorization that follows gets ``then`` (``permit`` or ``block``).

    Redirection (issue 15; core.redirect): ``action = "redirect"`` with ``target``: at
    ALE_CONNECT_REDIRECT the new remote address and port (``to``), at ALE_BIND_REDIRECT the new
    local address (and port) (``local``).
    """

    conditions: tuple[Condition, ...]
    action: str
    hard: bool | None = None
    loc: SourceLoc | None = dc_field(default=None, compare=False)
    flow_context: str | None = None
    flow_context_callout: str | None = None
    when_flow_context: str | None = None
    permit_bytes: int | None = None
    then: str | None = None
    complete_after: float | None = None
    target: Target | None = None


@dataclass(frozen=True, slots=True)
class Callout:
    """A callout as the simulator models it: what its classifyFn returns (§3.4).

    ``returns`` is ``permit``, ``block``, ``continue``, ``absorb`` or ``unregistered``; with
    ``rules`` it is the *default*, returned when no rule's conditions hold (the first rule
    that holds decides). ``hard``: its permit/block clears FWPS_RIGHT_ACTION_WRITE.
    ``silent``: its block drops without RST, ICMP error, net event or audit (the transport
    silent-drop callouts, §2.4; ``absorb`` is always silent).
    ``assumed``: the behaviour was not known and was assumed (imported policies).
    ``conditional_on_flow``: FWP_CALLOUT_FLAG_CONDITIONAL_ON_FLOW -- its classifyFn is called
    only for flows that carry a context for it (its filters are skipped otherwise).
    """

    key: str
    returns: str = "continue"
    hard: bool = False
    silent: bool = False
    guid: str | None = None
    name: str = ""
    assumed: bool = False
    builtin: bool = False
    loc: SourceLoc | None = dc_field(default=None, compare=False)
    rules: tuple[CalloutRule, ...] = ()
    conditional_on_flow: bool = False


@dataclass(frozen=True, slots=True)
class Filter:
    """FWPM_FILTER0 as loaded: everything arbitration and explanation need (§3.1).

    ``effective_weight`` is the UINT64 the engine sorts by: the real one for imported
    filters, otherwise computed from ``weight`` (core.weights).
    """

    key: str
    layer: str  # canonical short layer name
    action: ActionType
    sublayer: str = "UNIVERSAL"  # sublayer key
    weight: Weight = Weight(DataType.FWP_EMPTY)
    effective_weight: int = 0
    conditions: tuple[Condition, ...] = ()
    flags: int = 0  # FilterFlag bits
    callout: str | None = None  # callout key, with callout actions
    filter_id: int = 0
    name: str = ""
    description: str = ""
    provider: str | None = None
    guid: str | None = None  # filterKey, when it is a GUID
    loc: SourceLoc | None = dc_field(default=None, compare=False)

    @property
    def hard_permit(self) -> bool:
        return bool(self.flags & FilterFlag.CLEAR_ACTION_RIGHT)

    @property
    def disabled(self) -> bool:
        return bool(self.flags & FilterFlag.DISABLED)

    @property
    def label(self) -> str:
        """The key, plus the display name when it says something more."""
        if self.name and self.name != self.key:
            return f"{self.key} ({self.name})"
        return self.key


@dataclass(frozen=True)
class Policy:
    """One host's policy: its sublayers, callouts and filters.

    Built-in sublayers and callouts are always present (core.builtins); a policy
    file adds its own. ``version`` increases with every change so compiled indexes
    can be cached per version.
    """

    sublayers: dict[str, Sublayer]
    callouts: dict[str, Callout]
    filters: tuple[Filter, ...]
    source: str | None = None
    version: int = 0

    def by_key(self) -> dict[str, Filter]:
        return {f.key: f for f in self.filters}

    def filters_at(self, layer: str) -> tuple[Filter, ...]:
        return tuple(f for f in self.filters if f.layer == layer and not f.disabled)

    def replace_filters(self, filters: tuple[Filter, ...]) -> Policy:
        """A new policy version with another filter list (a policy change)."""
        return replace(self, filters=filters, version=self.version + 1)


# ----------------------------------------------------------------------------- results

#: Final or per-sublayer decision words, as in the trace (spec §5).
PERMIT = "permit"
BLOCK = "block"
NONE = "none"
CONTINUE = "continue"
SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class FilterEval:
    """One matching filter, as evaluated inside its sublayer."""

    filter: Filter
    outcome: str  # permit | block | continue | skipped
    hard: bool  # for permit/block: the write right was cleared
    note: str = ""  # why, in words ("callout 'x' returned continue", "callout unregistered: block")
    tie: bool = False  # another matching filter in this sublayer has the same effective weight


@dataclass(frozen=True, slots=True)
class SublayerResult:
    """What one sublayer did (§3.3) and how it entered the layer's decision (§3.4)."""

    sublayer: Sublayer
    evaluated: tuple[FilterEval, ...]  # matching filters in evaluation order, up to the one that ended it
    unreached: tuple[Filter, ...]  # matching filters after the terminating one (never evaluated)
    action: str  # permit | block | none
    hard: bool
    deciding: FilterEval | None  # the filter that ended this sublayer
    effect: str  # decided | overrode | kept | veto | none  (see core.arbitration)


@dataclass(frozen=True, slots=True)
class Terminating:
    """One entry of terminatingFiltersInfo: a sublayer's terminating filter (§5.7)."""

    filter: str
    filter_id: int
    sublayer: str
    action: str
    hard: bool


class ClassifyResult:
    """Everything one classification at one layer decided, and why (§3.4–§3.6).

    ``action`` is ``permit``, ``block`` or ``none`` (nothing decided: the engine
    permits, §3.5). ``filter`` is the filter whose decision stood.

    ``sublayers`` (every sublayer's part: the explanation) may be given as a function that
    builds it: the decision is what nearly every reader needs, so the classifier builds the
    explanation only when something reads it (issue 14: decide fast, explain lazily). Either
    way the value is the same; two results are equal when every attribute is. Immutable by
    convention (slots, no setters).
    """

    __slots__ = ("_explain", "_sublayers", "absorbed", "action", "filter", "hard", "layer", "pended", "redirected",
                 "silent", "sublayer", "terminating", "veto")

    def __init__(self, layer: Layer, action: str, filter: Filter | None, sublayer: Sublayer | None,  # noqa: A002
                 hard: bool, veto: bool, silent: bool,
                 sublayers: tuple[SublayerResult, ...] | Callable[[], tuple[SublayerResult, ...]],
                 terminating: tuple[Terminating, ...], absorbed: bool = False, pended: Pend | None = None,
                 redirected: Redirect | None = None) -> None:
        self.layer = layer
        self.action = action
        self.filter = filter
        self.sublayer = sublayer
        self.hard = hard
        self.veto = veto
        self.silent = silent  # the standing block came from a silent-drop callout
        #: ... that returned FWPS_CLASSIFY_OUT_FLAG_ABSORB: the packet reaches no discard layer
        #: ("Types of Callouts", learn.microsoft.com/windows-hardware/drivers/network/types-of-callouts)
        self.absorbed = absorbed
        #: ... because a callout pended the classification (a ``core.pend.Pend``: what it asked for)
        self.pended = pended
        #: A callout redirected (core.redirect: the rewritten remote or local end), the layer not blocking
        self.redirected = redirected
        self.terminating = terminating
        if callable(sublayers):
            self._sublayers: tuple[SublayerResult, ...] | None = None
            self._explain: Callable[[], tuple[SublayerResult, ...]] | None = sublayers
        else:
            self._sublayers, self._explain = sublayers, None

    @property
    def sublayers(self) -> tuple[SublayerResult, ...]:
        """Every sublayer that has filters at the layer, and what it did (built on first read)."""
        s = self._sublayers
        if s is None:
            assert self._explain is not None
            s = self._sublayers = self._explain()
            self._explain = None
        return s

    def _decision(self) -> tuple[object, ...]:
        return (self.layer, self.action, self.filter, self.sublayer, self.hard, self.veto, self.silent,
                self.terminating, self.absorbed, self.pended, self.redirected)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ClassifyResult):
            return NotImplemented
        return self is other or (self._decision() == other._decision() and self.sublayers == other.sublayers)

    def __hash__(self) -> int:
        return hash(self._decision())  # equal results have equal decisions

    def __repr__(self) -> str:
        return (f"ClassifyResult(layer={self.layer.name!r}, action={self.action!r}, "
                f"filter={self.filter.key if self.filter else None!r}, hard={self.hard}, veto={self.veto}, "
                f"silent={self.silent}, terminating={self.terminating!r})")

    @property
    def blocked(self) -> bool:
        return self.action == BLOCK

    @property
    def permitted(self) -> bool:
        """``permit`` or ``none`` (nothing decided permits)."""
        return self.action != BLOCK
