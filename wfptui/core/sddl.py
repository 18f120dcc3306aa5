"""SDDL security descriptors and the access check behind SD conditions (wfp-model.md §4.2).

A condition on ALE_USER_ID, ALE_REMOTE_USER_ID, ALE_REMOTE_MACHINE_ID or
ALE_PACKAGE_FAMILY_NAME carries a security descriptor; the condition is *true* when an
access check of the traffic's token against it grants FWP_ACTRL_MATCH_FILTER (0x1, SDDL
right ``CC``) -- it never allows or denies traffic by itself (§4.2).

``parse_sddl(text) -> SecurityDescriptor`` reads ``O:``, ``G:``, ``D:`` (flags ``P``, ``AI``,
``AR``, ``NO_ACCESS_CONTROL``) and ``S:`` (parsed for syntax, then ignored: a SACL audits,
it does not grant). ACEs: ``A`` allow, ``D`` deny, ``OA``/``OD`` with no object GUIDs (then
they are plain allow/deny), and the conditional callback ACEs ``XA``/``XD`` that real
Windows 11 dumps carry (``(XA;;CC;;;WD;(WIN://SYSAPPID Contains "..."))``, §5.5). Other
ACE types in a DACL (audit, alarm, label, object ACEs with GUIDs, ...) are rejected with
"unsupported ACE type". Rights: hex (``0x1``), decimal, or two-letter codes (``CC`` = 0x1,
``RC``, ``GA`` ...); SIDs: ``S-1-...`` (canonical upper-case ``S-``) or the usual two-letter
aliases (``WD``, ``SY``, ``LS``, ``AC`` ... see ``SID_ALIASES``; domain-relative aliases such
as ``DA`` need a domain and are rejected). Inherit-only (``IO``) ACEs do not apply to the
object and are left out of ``dacl``. Errors raise :class:`SddlError` (a ValueError).

``access_check(sd, token, right) -> bool`` follows Windows' DACL rules:

* no DACL (no ``D:`` part, or ``D:NO_ACCESS_CONTROL``) grants everything;
* an empty DACL (``D:`` with no ACEs) denies everything;
* ACEs are walked in order; an ACE applies when its SID is one of the token's SIDs
  (``token.sids`` plus the implicit Everyone ``S-1-1-0`` and, unless the user is Anonymous
  ``S-1-5-7``, Authenticated Users ``S-1-5-11``); a deny ACE that denies any requested bit
  not yet granted ends the check with "denied"; allow ACEs accumulate granted bits; the
  check grants as soon as every requested bit has been granted, and denies at the end.
* Generic rights: ``GA`` (GENERIC_ALL) grants every right. ``GR``/``GW``/``GX`` are
  *not* mapped to FWP_ACTRL_MATCH_FILTER (the simulator does not model the FWPM generic
  mapping); Windows Firewall SDs use ``CC``.
* Conditional ACEs: the simulated token carries no claims or attributes, so a condition
  evaluates to UNKNOWN; as in Windows, an allow callback ACE then does not apply and a
  deny callback ACE does.

``sd_granting(sids) -> SecurityDescriptor``: ``D:(A;;CC;;;sid)...`` -- the descriptor a
bare SID (or list of SIDs) in a policy file stands for (core.values).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from wfptui.core.model import FWP_ACTRL_MATCH_FILTER, Ace, SecurityDescriptor, Token

__all__ = [
    "ACCESS_RIGHTS",
    "SID_ALIASES",
    "SddlError",
    "access_check",
    "canonical_sid",
    "parse_sddl",
    "parse_sid",
    "sd_granting",
    "token_sids",
]


class SddlError(ValueError):
    """An SDDL string or SID that cannot be read."""


#: Well-known SID aliases of SDDL (sddl.h) that need no domain.
SID_ALIASES: dict[str, str] = {
    "AA": "S-1-5-32-579",  # access control assistance operators
    "AC": "S-1-15-2-1",  # ALL APPLICATION PACKAGES
    "AN": "S-1-5-7",  # anonymous logon
    "AO": "S-1-5-32-548",  # account operators
    "AU": "S-1-5-11",  # authenticated users
    "BA": "S-1-5-32-544",  # builtin administrators
    "BG": "S-1-5-32-546",  # builtin guests
    "BO": "S-1-5-32-551",  # backup operators
    "BU": "S-1-5-32-545",  # builtin users
    "CD": "S-1-5-32-574",  # certificate service DCOM access
    "CG": "S-1-3-1",  # creator group
    "CO": "S-1-3-0",  # creator owner
    "CY": "S-1-5-32-569",  # crypto operators
    "ED": "S-1-5-9",  # enterprise domain controllers
    "ER": "S-1-5-32-573",  # event log readers
    "HA": "S-1-5-32-578",  # Hyper-V administrators
    "HI": "S-1-16-12288",  # high integrity
    "IS": "S-1-5-32-568",  # IIS users
    "IU": "S-1-5-4",  # interactive
    "LS": "S-1-5-19",  # local service
    "LU": "S-1-5-32-559",  # performance log users
    "LW": "S-1-16-4096",  # low integrity
    "ME": "S-1-16-8192",  # medium integrity
    "MP": "S-1-16-8448",  # medium-plus integrity
    "MU": "S-1-5-32-558",  # performance monitor users
    "NO": "S-1-5-32-556",  # network configuration operators
    "NS": "S-1-5-20",  # network service
    "NU": "S-1-5-2",  # network logon
    "OW": "S-1-3-4",  # owner rights
    "PO": "S-1-5-32-550",  # printer operators
    "PS": "S-1-5-10",  # principal self
    "PU": "S-1-5-32-547",  # power users
    "RA": "S-1-5-32-575",  # RDS remote access servers
    "RC": "S-1-5-12",  # restricted code
    "RD": "S-1-5-32-555",  # remote desktop users
    "RE": "S-1-5-32-552",  # replicator
    "RM": "S-1-5-32-580",  # remote management users
    "RU": "S-1-5-32-554",  # pre-Windows 2000 compatible access
    "SI": "S-1-16-16384",  # system integrity
    "SO": "S-1-5-32-549",  # server operators
    "SS": "S-1-18-2",  # service asserted identity
    "SU": "S-1-5-6",  # service logon
    "SY": "S-1-5-18",  # local system
    "WD": "S-1-1-0",  # everyone
    "WR": "S-1-5-33",  # write restricted code
}

#: Aliases that stand for a SID relative to a domain the simulator does not have.
_DOMAIN_ALIASES = frozenset(
    {
        "CA",
        "CN",
        "DA",
        "DC",
        "DD",
        "DG",
        "DU",
        "EA",
        "LA",
        "LG",
        "PA",
        "RO",
        "RS",
        "SA",
        "AP",
        "KA",
        "EK",
        "UD",
    }
)

#: Two-letter access-right codes of SDDL and their bits.
ACCESS_RIGHTS: dict[str, int] = {
    # generic
    "GA": 0x10000000,
    "GX": 0x20000000,
    "GW": 0x40000000,
    "GR": 0x80000000,
    # standard
    "RC": 0x00020000,
    "SD": 0x00010000,
    "WD": 0x00040000,
    "WO": 0x00080000,
    # directory-service (object-specific bits; CC = 0x1 = FWP_ACTRL_MATCH_FILTER)
    "CC": 0x00000001,
    "DC": 0x00000002,
    "LC": 0x00000004,
    "SW": 0x00000008,
    "RP": 0x00000010,
    "WP": 0x00000020,
    "DT": 0x00000040,
    "LO": 0x00000080,
    "CR": 0x00000100,
    # file / registry shorthands
    "FA": 0x001F01FF,
    "FR": 0x00120089,
    "FW": 0x00120116,
    "FX": 0x001200A0,
    "KA": 0x000F003F,
    "KR": 0x00020019,
    "KW": 0x00020006,
    "KX": 0x00020019,
    # mandatory label
    "NR": 0x00000002,
    "NW": 0x00000001,
    "NX": 0x00000004,
}
_GENERIC_ALL = 0x10000000
_ALL_RIGHTS = 0xFFFFFFFF

_ACE_FLAGS = frozenset({"CI", "OI", "NP", "IO", "ID", "SA", "FA", "TP", "CR"})
_DACL_FLAGS = ("NO_ACCESS_CONTROL", "AI", "AR", "P")
_SID_RE = re.compile(r"S-1-(\d+)(-\d+)*", re.IGNORECASE)
_SID_FULL_RE = re.compile(r"^S-1-(\d+)((?:-\d+)*)$", re.IGNORECASE)

EVERYONE = "S-1-1-0"
AUTHENTICATED_USERS = "S-1-5-11"
ANONYMOUS = "S-1-5-7"


def canonical_sid(text: str) -> str:
    """``S-1-...`` with an upper-case ``S``; each sub-authority a decimal 32-bit number.

    The identifier authority (the number after ``S-1-``) may be up to 48 bits.
    Raises SddlError for anything else.
    """
    t = text.strip()
    m = _SID_FULL_RE.match(t)
    if not m:
        raise SddlError(f"not a SID: {text!r} (expected S-1-<authority>-<sub>-..., e.g. S-1-5-18)")
    auth = int(m.group(1))
    if auth >= 1 << 48:
        raise SddlError(f"SID identifier authority too large in {text!r}")
    subs = [int(s) for s in m.group(2).split("-")[1:]]
    if len(subs) > 15:
        raise SddlError(f"SID {text!r} has more than 15 sub-authorities")
    for s in subs:
        if s > 0xFFFFFFFF:
            raise SddlError(f"SID sub-authority {s} in {text!r} does not fit 32 bits")
    return "S-1-" + "-".join([str(auth), *(str(s) for s in subs)])


def parse_sid(text: str) -> str:
    """A string SID or a two-letter SDDL alias (``SY``, ``WD`` ...) as a canonical SID."""
    t = text.strip()
    alias = t.upper()
    if alias in SID_ALIASES:
        return SID_ALIASES[alias]
    if alias in _DOMAIN_ALIASES:
        raise SddlError(f"SID alias {t!r} is relative to a domain; write the full S-1-5-21-... SID")
    return canonical_sid(t)


def _parse_rights(text: str, ace: str) -> int:
    t = text.strip()
    if not t:
        raise SddlError(f"ACE {ace} grants no rights")
    if t.lower().startswith("0x"):
        try:
            v = int(t, 16)
        except ValueError:
            raise SddlError(f"bad access mask {t!r} in ACE {ace}") from None
    elif t.isdigit():
        v = int(t)
    else:
        if len(t) % 2:
            raise SddlError(f"bad access rights {t!r} in ACE {ace}")
        v = 0
        for k in range(0, len(t), 2):
            code = t[k : k + 2].upper()
            if code not in ACCESS_RIGHTS:
                raise SddlError(f"unknown access right {code!r} in ACE {ace}")
            v |= ACCESS_RIGHTS[code]
    if not 0 <= v <= 0xFFFFFFFF:
        raise SddlError(f"access mask {t!r} does not fit 32 bits in ACE {ace}")
    return v


def _ace_end(text: str, start: int) -> int:
    """Index just past the ``)`` closing the ACE that opens at ``start``."""
    depth = 0
    i = start
    in_str = False
    while i < len(text):
        c = text[i]
        if in_str:
            if c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise SddlError(f"unterminated ACE at {text[start : start + 40]!r}")


def _parse_ace(body: str, in_dacl: bool) -> Ace | None:
    """``body`` is the text between the ACE's parentheses. None = not for the object."""
    ace = f"({body})"
    parts = body.split(";", 6)
    if len(parts) < 6:
        raise SddlError(f"ACE {ace} needs 6 fields: type;flags;rights;object;inherit object;sid")
    atype, aflags, rights, obj, iobj, sid = (p.strip() for p in parts[:6])
    rest = parts[6].strip() if len(parts) > 6 else None
    atype = atype.upper()
    if not in_dacl:
        return None  # SACL entries are syntax-checked only loosely: audit ACEs are not access rules
    condition: str | None = None
    if atype in ("A", "D"):
        allow = atype == "A"
        if rest:
            raise SddlError(f"unexpected text after the SID in ACE {ace}")
    elif atype in ("OA", "OD"):
        if obj or iobj:
            raise SddlError(f"unsupported ACE type {atype} with an object GUID in {ace}")
        allow = atype == "OA"
    elif atype in ("XA", "XD"):
        allow = atype == "XA"
        if not rest or not (rest.startswith("(") and rest.endswith(")")):
            raise SddlError(f"conditional ACE {ace} needs a (condition) after the SID")
        condition = rest[1:-1].strip()
    else:
        raise SddlError(f"unsupported ACE type {atype!r} in {ace} (supported: A, D, OA, OD, XA, XD)")
    flags = aflags.upper()
    if len(flags) % 2:
        raise SddlError(f"bad ACE flags {aflags!r} in {ace}")
    flag_set = {flags[k : k + 2] for k in range(0, len(flags), 2)}
    bad = flag_set - _ACE_FLAGS
    if bad:
        raise SddlError(f"unknown ACE flag {sorted(bad)[0]!r} in {ace}")
    mask = _parse_rights(rights, ace)
    if not sid:
        raise SddlError(f"ACE {ace} names no SID")
    canonical = parse_sid(sid)
    if "IO" in flag_set:
        return None  # inherit-only: applies to children, not to this object
    return Ace(allow=allow, mask=mask, sid=canonical, condition=condition)


def _parse_acl(text: str, in_dacl: bool) -> tuple[bool, tuple[Ace, ...]]:
    """(present, aces) for the part after ``D:``/``S:``. present False = NO_ACCESS_CONTROL."""
    i = 0
    null = False
    upper = text.upper()
    while i < len(text) and text[i] != "(":
        for flag in _DACL_FLAGS:
            if upper.startswith(flag, i):
                if flag == "NO_ACCESS_CONTROL":
                    null = True
                i += len(flag)
                break
        else:
            raise SddlError(f"unknown ACL flag at {text[i : i + 20]!r}")
    aces: list[Ace] = []
    while i < len(text):
        if text[i] != "(":
            raise SddlError(f"expected '(' to start an ACE at {text[i : i + 20]!r}")
        end = _ace_end(text, i)
        ace = _parse_ace(text[i + 1 : end - 1], in_dacl)
        if ace is not None:
            aces.append(ace)
        i = end
    if null and aces:
        raise SddlError("NO_ACCESS_CONTROL with ACEs")
    return (not null), tuple(aces)


def _split_sections(text: str) -> list[tuple[str, str]]:
    """Split ``O:..G:..D:..S:..`` into (tag, body) pairs at top level (outside ACEs)."""
    out: list[tuple[str, str]] = []
    i = 0
    depth = 0
    in_str = False
    tag: str | None = None
    start = 0
    while i < len(text):
        c = text[i]
        if in_str:
            if c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                raise SddlError(f"unbalanced ')' in SDDL {text!r}")
        elif (
            depth == 0
            and c.upper() in "OGDS"
            and text[i + 1 : i + 2] == ":"
            and _section_starts(text, i, tag)
        ):
            if tag is not None:
                out.append((tag, text[start:i]))
            tag = c.upper()
            i += 2
            start = i
            continue
        i += 1
    if in_str or depth:
        raise SddlError(f"unbalanced parentheses or quotes in SDDL {text!r}")
    if tag is None:
        raise SddlError(f"not an SDDL security descriptor: {text!r} (expected O:, G:, D: or S: parts)")
    out.append((tag, text[start:]))
    return out


def _section_starts(text: str, i: int, tag: str | None) -> bool:
    """Whether ``X:`` at ``i`` starts a new section (and is not part of an owner/group SID)."""
    if i == 0:
        return True
    if tag in ("O", "G"):
        # The owner/group SID before this: an alias (2 letters) or S-1-...; a section tag
        # can only follow a complete SID token.
        body = text[:i]
        m = re.search(r"[OG]:([A-Za-z]{2}|S-1-[0-9-]+)$", body, re.IGNORECASE)
        return m is not None
    return True


def parse_sddl(text: str) -> SecurityDescriptor:
    """Parse an SDDL string (see the module docstring). Raises SddlError."""
    if not isinstance(text, str):
        raise SddlError(f"SDDL must be a string, not {type(text).__name__}")
    sddl = text.strip()
    if not sddl:
        raise SddlError("empty SDDL string")
    owner: str | None = None
    group: str | None = None
    dacl: tuple[Ace, ...] | None = None
    seen: set[str] = set()
    for tag, body in _split_sections(sddl):
        if tag in seen:
            raise SddlError(f"SDDL part {tag}: given twice in {sddl!r}")
        seen.add(tag)
        body = body.strip()
        if tag == "O":
            owner = parse_sid(body)
        elif tag == "G":
            group = parse_sid(body)
        elif tag == "D":
            present, aces = _parse_acl(body, in_dacl=True)
            dacl = aces if present else None
        else:
            _parse_acl(body, in_dacl=False)
    return SecurityDescriptor(sddl=sddl, owner=owner, group=group, dacl=dacl)


def sd_granting(sids: Iterable[str]) -> SecurityDescriptor:
    """A descriptor whose DACL allows FWP_ACTRL_MATCH_FILTER (CC) to each SID (or alias)."""
    canon = [parse_sid(s) for s in sids]
    if not canon:
        raise SddlError("no SID given")
    text = "D:" + "".join(f"(A;;CC;;;{s})" for s in canon)
    return parse_sddl(text)


def token_sids(token: Token) -> frozenset[str]:
    """The SIDs an access check matches ACEs against (see the module docstring)."""
    sids = set(token.sids)
    sids.add(EVERYONE)
    if token.user != ANONYMOUS:
        sids.add(AUTHENTICATED_USERS)
    return frozenset(sids)


def access_check(sd: SecurityDescriptor, token: Token, right: int = FWP_ACTRL_MATCH_FILTER,
                 implicit_groups: bool = True) -> bool:
    """Whether ``sd`` grants ``right`` to ``token`` (Windows DACL order semantics).

    ``implicit_groups=False`` matches ACEs against the token's own SIDs only, without
    Everyone / Authenticated Users: the AppContainer pass of the dual access check, which
    considers only the package SID and capability SIDs ("AppContainer isolation")."""
    if sd.dacl is None:
        return True
    wanted = right & _ALL_RIGHTS
    if wanted == 0:
        return True
    sids = token_sids(token) if implicit_groups else token.sids
    granted = 0
    for ace in sd.dacl:
        if ace.sid not in sids:
            continue
        mask = _ALL_RIGHTS if ace.mask & _GENERIC_ALL else ace.mask
        if ace.condition is not None and ace.allow:
            continue  # condition UNKNOWN (no claims): an allow callback ACE does not apply
        if not ace.allow:
            if mask & wanted & ~granted:
                return False
            continue
        granted |= mask & wanted
        if granted == wanted:
            return True
    return False
