"""The policy loader's shared parts: table keys, the diagnostics context, value helpers, and
WFP names (match types, actions, filter flags, sublayer and callout references, built-ins).

Used by ``io.policy_file`` (sublayers, callouts, whole files) and ``io.policy_filters``
(filter tables); see ``io.policy_file`` for the file format. Public for those two modules
and ``io.policy_writer``; other code imports from ``io.policy_file``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

from wfptui.core.builtins import (
    BUILTIN_CALLOUTS,
    BUILTIN_SUBLAYERS,
    BuiltinCallout,
    BuiltinSublayer,
    get_callout,
    get_sublayer,
)
from wfptui.core.fields import UnknownNameError, normalize_guid
from wfptui.core.model import ActionType, Callout, FilterFlag, MatchType, SourceLoc, Sublayer
from wfptui.io.errors import Diagnostic, InputError
from wfptui.io.tomlpos import KeyPath, TomlLocator

#: The first id given to filters that do not set ``id``.
FIRST_FILTER_ID = 70001
UINT64_MAX = (1 << 64) - 1
INT64_MAX = (1 << 63) - 1

TOP_KEYS = ("sublayer", "callout", "filter")
SUBLAYER_KEYS = ("key", "weight", "name", "guid", "description")
CALLOUT_KEYS = ("key", "returns", "default", "rule", "hard", "silent", "name", "guid", "assumed", "description",
                "conditional_on_flow")
#: Keys of a callout's ``[[callout.rule]]`` (issue 15): conditions as in a filter, an action, hardness;
#: flow context (associate, test) and stream inspection by byte count.
RULE_KEYS = ("condition", "action", "hard", "description", "flow_context", "flow_context_callout",
             "when_flow_context", "permit_bytes", "then", "complete_after", "to", "local")
#: What a rule (or a callout's ``default``) may return: core.model.CALLOUT_ACTIONS.
RULE_ACTIONS = ("permit", "block", "continue", "absorb")
FILTER_KEYS = (
    "key",
    "name",
    "description",
    "layer",
    "sublayer",
    "weight",
    "effective_weight",
    "action",
    "callout",
    "flags",
    "condition",
    "id",
    "filter_id",
    "provider",
    "guid",
)
CONDITION_KEYS = ("field", "match", "value")
CALLOUT_RETURNS = ("permit", "block", "continue", "absorb", "unregistered")
FILTER_ACTIONS = (
    ActionType.FWP_ACTION_BLOCK,
    ActionType.FWP_ACTION_PERMIT,
    ActionType.FWP_ACTION_CONTINUE,
    ActionType.FWP_ACTION_CALLOUT_TERMINATING,
    ActionType.FWP_ACTION_CALLOUT_INSPECTION,
    ActionType.FWP_ACTION_CALLOUT_UNKNOWN,
)


# ----------------------------------------------------------------------------- context


class TableContext:
    """Filename, locator and the diagnostics collected so far."""

    def __init__(self, filename: str, locator: TomlLocator | None) -> None:
        self.filename = filename
        self.locator = locator
        self.diags: list[Diagnostic] = []
        #: parsed condition values of this load, by (field, layer, match, typed raw value):
        #: real policies repeat the same values (one SDDL on hundreds of filters), and a
        #: parsed value is immutable
        self.values: dict[tuple[Any, ...], tuple[Any, Any]] = {}

    def pos(self, path: KeyPath, *, value: bool = False) -> tuple[int, int]:
        if self.locator is None:
            return (0, 0)
        return self.locator.locate_value(path) if value else self.locator.locate(path)

    def loc(self, path: KeyPath) -> SourceLoc:
        # resolved when first read: a valid file is not scanned for positions at load
        if self.locator is None:
            return SourceLoc(self.filename, 0, 0)
        locate = self.locator.locate
        return SourceLoc(self.filename, where=lambda: locate(path))

    def error(self, path: KeyPath, message: str, *, value: bool = True) -> None:
        line, col = self.pos(path, value=value)
        d = Diagnostic(self.filename, line, col, message)
        if d not in self.diags:
            self.diags.append(d)

    def raise_if_any(self, since: int = 0) -> None:
        if len(self.diags) > since:
            raise InputError(sorted(self.diags[since:], key=lambda d: (d.line, d.col)))


def did_you_mean(word: str, choices: tuple[str, ...] | list[str]) -> str:
    import difflib  # only when a name is wrong: not on the start-up path
    hits = difflib.get_close_matches(word.lower(), [c.lower() for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {hits[0]}?)" if hits else ""


def check_keys(
    ctx: TableContext, table: Mapping[str, Any], allowed: tuple[str, ...], where: str, path: KeyPath
) -> None:
    for k in table:
        if k not in allowed:
            ctx.error(
                (*path, k), f"unknown key {k!r} in {where}{did_you_mean(str(k), allowed)}", value=False
            )


def describe(raw: object) -> str:
    if isinstance(raw, bool):
        return f"the boolean {str(raw).lower()}"
    if isinstance(raw, int):
        return f"the integer {raw}"
    if isinstance(raw, str):
        return f"the string {raw!r}"
    if isinstance(raw, list):
        return "a list"
    if isinstance(raw, dict):
        return "a table"
    return type(raw).__name__


def get_str(
    ctx: TableContext, table: Mapping[str, Any], key: str, path: KeyPath, *, required: bool = False
) -> str | None:
    if key not in table:
        if required:
            ctx.error(path, f"missing required key {key!r}", value=False)
        return None
    v = table[key]
    if not isinstance(v, str):
        ctx.error((*path, key), f"{key} must be a string, not {describe(v)}")
        return None
    if required and not v.strip():
        ctx.error((*path, key), f"{key} must not be empty")
        return None
    return v


def get_bool(ctx: TableContext, table: Mapping[str, Any], key: str, path: KeyPath) -> bool:
    v = table.get(key, False)
    if not isinstance(v, bool):
        ctx.error((*path, key), f"{key} must be true or false, not {describe(v)}")
        return False
    return v


def uint_from(raw: object, limit: int) -> int | None:
    """An int, or a decimal / ``0x`` string, within 0..limit; None otherwise."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, str):
        t = raw.strip().replace("_", "")
        try:
            raw = int(t, 0)
        except ValueError:
            if re.fullmatch(r"[0-9]+", t):
                raw = int(t, 10)
            else:
                return None
    if isinstance(raw, int) and 0 <= raw <= limit:
        return raw
    return None


# ----------------------------------------------------------------------------- names


_E = TypeVar("_E", MatchType, ActionType, FilterFlag)


def _enum_name(text: str, prefix: str) -> str:
    return text.strip().upper().removeprefix(prefix).replace("-", "_").replace(" ", "_")


_MATCHES = {m.name.removeprefix("FWP_MATCH_"): m for m in MatchType if m != MatchType.FWP_MATCH_TYPE_MAX}
_ACTIONS = {a.name.removeprefix("FWP_ACTION_"): a for a in FILTER_ACTIONS}


def _lookup(text: str, prefix: str, members: Mapping[str, _E], kind: str) -> _E:
    """``PREFIX_NAME`` / ``name`` (any case) → the member; UnknownNameError with a suggestion."""
    name = _enum_name(text, prefix)
    if name in members:
        return members[name]
    import difflib  # only when a name is wrong: not on the start-up path
    hits = difflib.get_close_matches(name, list(members), n=1, cutoff=0.6)
    raise UnknownNameError(kind, text, [h.lower() for h in hits])


def parse_match(text: str) -> MatchType:
    """``FWP_MATCH_RANGE`` / ``range`` (any case) → MatchType; UnknownNameError otherwise."""
    return _lookup(text, "FWP_MATCH_", _MATCHES, "match type")


def parse_action(text: str) -> ActionType:
    """``FWP_ACTION_BLOCK`` / ``block`` (any case) → ActionType (filter actions only)."""
    return _lookup(text, "FWP_ACTION_", _ACTIONS, "action")


def parse_filter_flag(text: str) -> int:
    """``FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT`` / ``clear_action_right`` → the flag bit."""
    return int(_lookup(text, "FWPM_FILTER_FLAG_", FilterFlag.__members__, "filter flag"))


def _resolve(text: str, objects: Mapping[str, Sublayer] | Mapping[str, Callout],
             builtin: BuiltinSublayer | BuiltinCallout | None) -> str | None:
    """The key in ``objects`` that ``text`` names: its key (any case), the built-in it names,
    or its GUID; None when nothing fits."""
    t = text.strip()
    if t in objects:
        return t
    low = t.lower()
    for k in objects:
        if k.lower() == low:
            return k
    if builtin is not None and (builtin.name in objects or not any(o.builtin for o in objects.values())):
        return builtin.name  # built-ins exist on every host, even when the mapping leaves them out
    guid = normalize_guid(t)
    if guid is not None:
        for k, o in objects.items():
            if o.guid is not None and normalize_guid(o.guid) == guid:
                return k
    return None


def resolve_sublayer(text: str, sublayers: Mapping[str, Sublayer]) -> str | None:
    """The key in ``sublayers`` that ``text`` names (key, built-in name, or GUID), or None."""
    return _resolve(text, sublayers, get_sublayer(text.strip()))


def resolve_callout(text: str, callouts: Mapping[str, Callout]) -> str | None:
    """The key in ``callouts`` that ``text`` names (key, built-in name, or GUID), or None."""
    return _resolve(text, callouts, get_callout(text.strip()))


def suggest(text: str, keys: list[str]) -> str:
    import difflib  # only when a name is wrong: not on the start-up path
    hits = difflib.get_close_matches(text.strip().lower(), [k.lower() for k in keys], n=1, cutoff=0.6)
    if not hits:
        return ""
    orig = next(k for k in keys if k.lower() == hits[0])
    return f" (did you mean {orig}?)"


def builtin_objects() -> tuple[dict[str, Sublayer], dict[str, Callout]]:
    """The built-in sublayers and callouts as policy objects (``builtin=True``)."""
    sublayers = {
        b.name: Sublayer(key=b.name, weight=b.weight, guid=b.guid, name=b.fwpm_name, builtin=True)
        for b in BUILTIN_SUBLAYERS
    }
    callouts = {
        b.name: Callout(
            key=b.name,
            returns=b.returns,
            hard=b.hard,
            silent=b.silent,
            guid=b.guid,
            name=b.fwpm_name,
            builtin=True,
        )
        for b in BUILTIN_CALLOUTS
    }
    return sublayers, callouts
