"""Policy files (TOML) ⇄ :class:`~wfptui.core.model.Policy` (spec §3; wfp-model.md §3.1, §3.2, §3.7, §3.8, §4).

One file holds one host's policy: ``[[sublayer]]``, ``[[callout]]`` and ``[[filter]]``
tables. Names take the full WFP spelling or the short one, in any case (layers via
``core.layers.get_layer``, fields via ``core.fields.get_field``, match types
``FWP_MATCH_RANGE``/``range``, actions ``FWP_ACTION_BLOCK``/``block``, flags
``FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT``/``clear_action_right``, sublayers and callouts by
their key, or built-ins by name or GUID: ``FWPM_SUBLAYER_UNIVERSAL``/``universal``).
Condition values are parsed by ``core.values.parse_value`` (see there for every spelling).

Tables and keys (anything else is an error, with "did you mean"):

* ``[[sublayer]]``: ``key`` (required; a name or GUID), ``weight`` (required, UINT16
  0..65535), ``name``, ``guid``, ``description``. A key naming a built-in sublayer
  (``MPSSVC_WF``, ``FWPM_SUBLAYER_UNIVERSAL``, its GUID) changes that built-in.
* ``[[callout]]``: ``key`` (required), ``returns`` (``permit | block | continue |
  unregistered``; default ``continue``), ``hard``, ``silent`` (booleans, default false),
  ``name``, ``guid``, ``assumed`` (the behaviour was guessed, e.g. by ``wfptui import``),
  ``description``. A built-in callout's key changes that built-in.
* ``[[filter]]``: ``key`` (required, unique; name or GUID -- a GUID key also fills
  ``guid``), ``layer`` and ``action`` (required), ``name``, ``description``, ``sublayer``
  (default ``UNIVERSAL``), ``weight`` (``0..15`` = FWP_UINT8 weight range; ``{ uint64 =
  "0x..." }`` or ``{ uint64 = n }`` exact -- a string because TOML integers stop at 2**63-1;
  ``{ uint8 = n }``; ``{ empty = true }`` or omitted = FWP_EMPTY), ``effective_weight`` (the
  real UINT64 effectiveWeight of an imported filter, int or ``"0x..."``; default: computed
  by ``core.weights.effective_weight``), ``callout`` (with callout actions only), ``flags``
  (a list of names, one name, or an int), ``condition`` (a list of ``{ field, match
  (default equal), value }`` tables, or ``[[filter.condition]]``), ``id`` (alias
  ``filter_id``: the run-time filter id), ``provider``, ``guid``.

Filter ids: a filter without ``id`` gets the next free id counting from 70001 in file
order, skipping every id another filter of the file gives explicitly (so adding an ``id``
to one filter never renumbers the others before it). The built-in sublayers and callouts
(``core.builtins``) are always in the resulting Policy (``builtin=True``, keyed by short
name: ``UNIVERSAL``, ``MPSSVC_WF`` ...), next to the file's own.

Checks beyond the value types: a layer must carry every condition field ("field
IP_REMOTE_PORT is not available at FWPM_LAYER_ALE_AUTH_LISTEN_V4"); callout actions need
``callout`` and other actions must not have one; ``permit_if_callout_unregistered`` only
with ``callout_terminating``/``callout_unknown`` (§3.7); a built-in callout only at the
layers Windows registers it at (``core.builtins``); filter keys and ids are unique.

Every problem is collected (not just the first) and raised together as an
:class:`~wfptui.io.errors.InputError`, each with ``file:line:col``.

API (used by ``io.scenario_file`` for inline ``[host.policy]`` tables and ``policy`` steps):

* ``parse_policy(text: str, filename: str) -> Policy``
* ``load_policy(path: str | os.PathLike[str]) -> Policy`` (read errors → InputError)
* ``policy_from_tables(doc: Mapping[str, Any], filename: str, locator: TomlLocator | None,
  path_prefix: tuple[str | int, ...] = ()) -> Policy`` -- ``doc`` is the already parsed
  table (e.g. ``scenario["host"][0]["policy"]``), ``path_prefix`` its key path in the
  file (``("host", 0, "policy")``) so positions come out right.
* ``parse_filter_table(table: Mapping[str, Any], *, filename: str, locator: TomlLocator |
  None, path_prefix: tuple[str | int, ...], sublayers: Mapping[str, Sublayer], callouts:
  Mapping[str, Callout], next_id: int) -> Filter`` -- one filter table at ``path_prefix``
  (e.g. ``("step", 3, "add", 0)``); ``sublayers``/``callouts`` are those it may name
  (a Policy's dicts); ``next_id`` is its id when the table gives none. Raises InputError
  with all of that table's problems.
* ``parse_filter_tables(tables: Sequence[Mapping[str, Any]], policy: Policy, filename: str,
  *, locator: TomlLocator | None = None, path_prefix: tuple[str | int, ...] = ()) ->
  tuple[Filter, ...]`` -- a ``policy`` step's ``add`` list; matches
  ``core.scenario.FilterParser``; ids continue after the policy's highest.
* ``builtin_objects() -> (dict[str, Sublayer], dict[str, Callout])``
* ``dump_policy(policy: Policy, *, header_comment: str = "") -> str`` -- a policy file
  that ``parse_policy`` reads back to equal sublayers, callouts and filters (built-ins are
  written only when changed; assumed callouts get a comment saying so).
* ``FIRST_FILTER_ID = 70001``
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from wfptui.core.builtins import (
    BUILTIN_CALLOUTS,
    BUILTIN_SUBLAYERS,
    BuiltinCallout,
    BuiltinSublayer,
    get_callout,
    get_sublayer,
)
from wfptui.core.datatypes import DataType
from wfptui.core.fields import UnknownNameError, get_field, normalize_guid
from wfptui.core.layers import Layer, get_layer
from wfptui.core.model import (
    ActionType,
    Callout,
    Condition,
    Filter,
    FilterFlag,
    MatchType,
    Policy,
    SourceLoc,
    Sublayer,
    Weight,
)
from wfptui.core.values import ValueParseError, parse_value, toml_value
from wfptui.core.weights import effective_weight as compute_effective_weight
from wfptui.io.errors import Diagnostic, InputError
from wfptui.io.tomlpos import KeyPath, TomlLocator, parse_toml

__all__ = [
    "FIRST_FILTER_ID",
    "builtin_objects",
    "dump_policy",
    "load_policy",
    "parse_filter_table",
    "parse_filter_tables",
    "parse_policy",
    "policy_from_tables",
    "resolve_callout",
    "resolve_sublayer",
]

#: The first id given to filters that do not set ``id``.
FIRST_FILTER_ID = 70001
UINT64_MAX = (1 << 64) - 1
INT64_MAX = (1 << 63) - 1

TOP_KEYS = ("sublayer", "callout", "filter")
SUBLAYER_KEYS = ("key", "weight", "name", "guid", "description")
CALLOUT_KEYS = ("key", "returns", "hard", "silent", "name", "guid", "assumed", "description")
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
CALLOUT_RETURNS = ("permit", "block", "continue", "unregistered")
FILTER_ACTIONS = (
    ActionType.FWP_ACTION_BLOCK,
    ActionType.FWP_ACTION_PERMIT,
    ActionType.FWP_ACTION_CONTINUE,
    ActionType.FWP_ACTION_CALLOUT_TERMINATING,
    ActionType.FWP_ACTION_CALLOUT_INSPECTION,
    ActionType.FWP_ACTION_CALLOUT_UNKNOWN,
)


# ----------------------------------------------------------------------------- context


class _Ctx:
    """Filename, locator and the diagnostics collected so far."""

    def __init__(self, filename: str, locator: TomlLocator | None) -> None:
        self.filename = filename
        self.locator = locator
        self.diags: list[Diagnostic] = []

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


def _did_you_mean(word: str, choices: tuple[str, ...] | list[str]) -> str:
    import difflib  # only when a name is wrong: not on the start-up path
    hits = difflib.get_close_matches(word.lower(), [c.lower() for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {hits[0]}?)" if hits else ""


def _check_keys(
    ctx: _Ctx, table: Mapping[str, Any], allowed: tuple[str, ...], where: str, path: KeyPath
) -> None:
    for k in table:
        if k not in allowed:
            ctx.error(
                (*path, k), f"unknown key {k!r} in {where}{_did_you_mean(str(k), allowed)}", value=False
            )


def _describe(raw: object) -> str:
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


def _get_str(
    ctx: _Ctx, table: Mapping[str, Any], key: str, path: KeyPath, *, required: bool = False
) -> str | None:
    if key not in table:
        if required:
            ctx.error(path, f"missing required key {key!r}", value=False)
        return None
    v = table[key]
    if not isinstance(v, str):
        ctx.error((*path, key), f"{key} must be a string, not {_describe(v)}")
        return None
    if required and not v.strip():
        ctx.error((*path, key), f"{key} must not be empty")
        return None
    return v


def _get_bool(ctx: _Ctx, table: Mapping[str, Any], key: str, path: KeyPath) -> bool:
    v = table.get(key, False)
    if not isinstance(v, bool):
        ctx.error((*path, key), f"{key} must be true or false, not {_describe(v)}")
        return False
    return v


def _uint_from(raw: object, limit: int) -> int | None:
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


def _suggest(text: str, keys: list[str]) -> str:
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


# ----------------------------------------------------------------------------- sublayers, callouts


def _parse_sublayer(
    ctx: _Ctx, table: Mapping[str, Any], path: KeyPath, sublayers: dict[str, Sublayer]
) -> None:
    _check_keys(ctx, table, SUBLAYER_KEYS, "[[sublayer]]", path)
    key = _get_str(ctx, table, "key", path, required=True)
    name = _get_str(ctx, table, "name", path)
    guid_text = _get_str(ctx, table, "guid", path)
    _get_str(ctx, table, "description", path)
    weight: int | None = None
    if "weight" not in table:
        ctx.error(
            path, "missing required key 'weight' (a UINT16, 0..65535; higher is evaluated first)", value=False
        )
    else:
        raw = table["weight"]
        weight = _uint_from(raw, 0xFFFF)
        if weight is None:
            ctx.error((*path, "weight"), f"sublayer weight must be a UINT16 0..65535, not {_describe(raw)}")
    guid: str | None = None
    if guid_text is not None:
        guid = normalize_guid(guid_text)
        if guid is None:
            ctx.error((*path, "guid"), f"not a GUID: {guid_text!r}")
    if key is None:
        return
    if weight is None:
        weight = 0  # already reported; keep the key so filters naming it do not cascade
    b = get_sublayer(key)
    if b is not None:
        if b.name in sublayers and not sublayers[b.name].builtin:
            ctx.error((*path, "key"), f"duplicate sublayer {b.name!r}")
            return
        sublayers[b.name] = Sublayer(
            key=b.name,
            weight=weight,
            guid=b.guid,
            name=name if name is not None else b.fwpm_name,
            builtin=True,
            loc=ctx.loc(path),
        )
        return
    if resolve_sublayer(key, {k: s for k, s in sublayers.items() if not s.builtin}) is not None:
        ctx.error((*path, "key"), f"duplicate sublayer key {key!r}")
        return
    if guid is None:
        guid = normalize_guid(key)
    sublayers[key] = Sublayer(
        key=key, weight=weight, guid=guid, name=name or "", builtin=False, loc=ctx.loc(path)
    )


def _parse_callout(ctx: _Ctx, table: Mapping[str, Any], path: KeyPath, callouts: dict[str, Callout]) -> None:
    _check_keys(ctx, table, CALLOUT_KEYS, "[[callout]]", path)
    key = _get_str(ctx, table, "key", path, required=True)
    name = _get_str(ctx, table, "name", path)
    guid_text = _get_str(ctx, table, "guid", path)
    _get_str(ctx, table, "description", path)
    returns = "continue"
    if "returns" in table:
        r = table["returns"]
        if not isinstance(r, str) or r.strip().lower().removeprefix("fwp_action_") not in CALLOUT_RETURNS:
            shown = r if isinstance(r, str) else _describe(r)
            hint = _did_you_mean(r, CALLOUT_RETURNS) if isinstance(r, str) else ""
            ctx.error(
                (*path, "returns"),
                f"callout returns must be permit, block, continue or unregistered, not {shown!r}{hint}",
            )
        else:
            returns = r.strip().lower().removeprefix("fwp_action_")
    hard = _get_bool(ctx, table, "hard", path)
    silent = _get_bool(ctx, table, "silent", path)
    assumed = _get_bool(ctx, table, "assumed", path)
    guid: str | None = None
    if guid_text is not None:
        guid = normalize_guid(guid_text)
        if guid is None:
            ctx.error((*path, "guid"), f"not a GUID: {guid_text!r}")
    if key is None:
        return
    b = get_callout(key)
    if b is not None:
        if b.name in callouts and not callouts[b.name].builtin:
            ctx.error((*path, "key"), f"duplicate callout {b.name!r}")
            return
        callouts[b.name] = Callout(
            key=b.name,
            returns=returns if "returns" in table else b.returns,
            hard=hard if "hard" in table else b.hard,
            silent=silent if "silent" in table else b.silent,
            guid=b.guid,
            name=name if name is not None else b.fwpm_name,
            assumed=assumed,
            builtin=True,
            loc=ctx.loc(path),
        )
        return
    if resolve_callout(key, {k: c for k, c in callouts.items() if not c.builtin}) is not None:
        ctx.error((*path, "key"), f"duplicate callout key {key!r}")
        return
    if guid is None:
        guid = normalize_guid(key)
    callouts[key] = Callout(
        key=key,
        returns=returns,
        hard=hard,
        silent=silent,
        guid=guid,
        name=name or "",
        assumed=assumed,
        builtin=False,
        loc=ctx.loc(path),
    )


# ----------------------------------------------------------------------------- filters


def _parse_weight(ctx: _Ctx, raw: object, path: KeyPath) -> Weight | None:
    wpath = (*path, "weight")
    if isinstance(raw, bool):
        ctx.error(wpath, f"weight must be 0..15 or {{ uint64 = ... }}, not {_describe(raw)}")
        return None
    if isinstance(raw, int):
        if 0 <= raw <= 15:
            return Weight(DataType.FWP_UINT8, raw)
        ctx.error(
            wpath,
            f"weight {raw} is not a weight range 0..15 (FWP_UINT8); write {{ uint64 = {raw} }} for an exact weight",
        )
        return None
    if isinstance(raw, dict):
        if len(raw) != 1:
            ctx.error(
                wpath,
                'a typed weight is one of { uint8 = 0..15 }, { uint64 = n | "0x..." }, { empty = true }',
            )
            return None
        ((k, v),) = raw.items()
        kk = str(k).strip().lower().removeprefix("fwp_")
        if kk == "uint8":
            n = _uint_from(v, 15)
            if n is None:
                ctx.error((*wpath, k), f"FWP_UINT8 weight must be a range index 0..15, not {_describe(v)}")
                return None
            return Weight(DataType.FWP_UINT8, n)
        if kk == "uint64":
            n = _uint_from(v, UINT64_MAX)
            if n is None:
                ctx.error((*wpath, k), f"FWP_UINT64 weight must be 0..0xffffffffffffffff, not {_describe(v)}")
                return None
            return Weight(DataType.FWP_UINT64, n)
        if kk == "empty":
            if v is not True:
                ctx.error((*wpath, k), "write an FWP_EMPTY weight as { empty = true } (or leave weight out)")
                return None
            return Weight(DataType.FWP_EMPTY)
        ctx.error(
            (*wpath, k),
            f"unknown weight type {k!r} (uint8, uint64 or empty){_did_you_mean(str(k), ['uint8', 'uint64', 'empty'])}",
            value=False,
        )
        return None
    ctx.error(wpath, f"weight must be 0..15 or {{ uint64 = ... }}, not {_describe(raw)}")
    return None


def _parse_flags(ctx: _Ctx, raw: object, path: KeyPath) -> int:
    fpath = (*path, "flags")
    if isinstance(raw, bool):
        ctx.error(fpath, f"flags must be a list of flag names, not {_describe(raw)}")
        return 0
    if isinstance(raw, int):
        if 0 <= raw <= 0xFFFFFFFF:
            return raw
        ctx.error(fpath, f"flags value {raw} does not fit UINT32")
        return 0
    items: list[Any]
    if isinstance(raw, str):
        items = [p for p in re.split(r"[|,]", raw) if p.strip()]
        paths: list[KeyPath] = [fpath] * len(items)
    elif isinstance(raw, list):
        items = raw
        paths = [(*fpath, i) for i in range(len(raw))]
    else:
        ctx.error(fpath, f"flags must be a list of flag names, not {_describe(raw)}")
        return 0
    value = 0
    for item, p in zip(items, paths, strict=True):
        if isinstance(item, int) and not isinstance(item, bool) and 0 <= item <= 0xFFFFFFFF:
            value |= item
            continue
        if not isinstance(item, str):
            ctx.error(p, f'a filter flag is a name like "clear_action_right", not {_describe(item)}')
            continue
        try:
            value |= parse_filter_flag(item)
        except UnknownNameError as exc:
            ctx.error(p, str(exc))
    return value


def _parse_condition(ctx: _Ctx, item: object, path: KeyPath, layer: Layer | None) -> Condition | None:
    if not isinstance(item, dict):
        ctx.error(
            path, f"a condition is a table {{ field = ..., match = ..., value = ... }}, not {_describe(item)}"
        )
        return None
    _check_keys(ctx, item, CONDITION_KEYS, "condition", path)
    field_text = _get_str(ctx, item, "field", path, required=True)
    match = MatchType.FWP_MATCH_EQUAL
    match_ok = True
    if "match" in item:
        m = item["match"]
        if not isinstance(m, str):
            ctx.error((*path, "match"), f'match must be a match type name like "equal", not {_describe(m)}')
            match_ok = False
        else:
            try:
                match = parse_match(m)
            except UnknownNameError as exc:
                ctx.error((*path, "match"), str(exc))
                match_ok = False
    if "value" not in item:
        ctx.error(path, "missing required key 'value' (write { empty = true } for FWP_EMPTY)", value=False)
        return None
    if field_text is None:
        return None
    try:
        cf = get_field(field_text)
    except UnknownNameError as exc:
        ctx.error((*path, "field"), str(exc))
        return None
    if layer is not None and not layer.has_field(cf.name):
        ctx.error((*path, "field"), f"field {cf.name} is not available at {layer.fwpm_name}")
        return None
    if not match_ok:
        return None
    try:
        value, dtype = parse_value(cf.name, layer, match, item["value"])
    except (ValueParseError, UnknownNameError) as exc:
        ctx.error((*path, "value"), f"{cf.name}: {exc}" if not str(exc).startswith(cf.name) else str(exc))
        return None
    return Condition(field=cf.name, match=match, value=value, dtype=dtype, loc=ctx.loc(path))


def _filter_id_of(ctx: _Ctx, table: Mapping[str, Any], path: KeyPath) -> int | None:
    """The explicit id of a filter table, or None (errors reported)."""
    keys = [k for k in ("id", "filter_id") if k in table]
    if not keys:
        return None
    if len(keys) == 2:
        ctx.error((*path, "filter_id"), "give either id or filter_id, not both", value=False)
    raw = table[keys[0]]
    n = _uint_from(raw, UINT64_MAX)
    if n is None or n == 0:
        ctx.error((*path, keys[0]), f"filter id must be a number 1..2**64-1, not {_describe(raw)}")
        return None
    return n


def _parse_filter(
    ctx: _Ctx,
    table: Mapping[str, Any],
    path: KeyPath,
    sublayers: Mapping[str, Sublayer],
    callouts: Mapping[str, Callout],
    next_id: int,
) -> Filter | None:
    start = len(ctx.diags)
    if not isinstance(table, dict):
        ctx.error(path, f"a filter is a table, not {_describe(table)}")
        return None
    _check_keys(ctx, table, FILTER_KEYS, "[[filter]]", path)
    key = _get_str(ctx, table, "key", path, required=True)
    name = _get_str(ctx, table, "name", path) or ""
    description = _get_str(ctx, table, "description", path) or ""
    provider = _get_str(ctx, table, "provider", path)
    guid_text = _get_str(ctx, table, "guid", path)
    guid: str | None = None
    if guid_text is not None:
        guid = normalize_guid(guid_text)
        if guid is None:
            ctx.error((*path, "guid"), f"not a GUID: {guid_text!r}")
    elif key is not None:
        guid = normalize_guid(key)

    layer: Layer | None = None
    layer_text = _get_str(ctx, table, "layer", path, required=True)
    if layer_text is not None:
        try:
            layer = get_layer(layer_text)
        except UnknownNameError as exc:
            ctx.error((*path, "layer"), str(exc))

    action: ActionType | None = None
    action_text = _get_str(ctx, table, "action", path, required=True)
    if action_text is not None:
        try:
            action = parse_action(action_text)
        except UnknownNameError as exc:
            ctx.error((*path, "action"), str(exc))

    sublayer = "UNIVERSAL"
    sub_text = _get_str(ctx, table, "sublayer", path)
    if sub_text is not None:
        found = resolve_sublayer(sub_text, sublayers)
        if found is None:
            ctx.error(
                (*path, "sublayer"), f"unknown sublayer {sub_text!r}{_suggest(sub_text, list(sublayers))}"
            )
        else:
            sublayer = found

    weight = Weight(DataType.FWP_EMPTY)
    if "weight" in table:
        w = _parse_weight(ctx, table["weight"], path)
        if w is not None:
            weight = w

    flags = _parse_flags(ctx, table["flags"], path) if "flags" in table else 0

    callout: str | None = None
    callout_text = _get_str(ctx, table, "callout", path)
    if callout_text is not None:
        found_c = resolve_callout(callout_text, callouts)
        if found_c is None:
            ctx.error(
                (*path, "callout"),
                f"unknown callout {callout_text!r}{_suggest(callout_text, list(callouts))}",
            )
        else:
            callout = found_c
    if action is not None:
        if action.is_callout and callout_text is None:
            ctx.error(path, f'action {action.short} needs callout = "<callout key>"', value=False)
        if not action.is_callout and callout_text is not None:
            ctx.error(
                (*path, "callout"),
                f"callout is only for callout actions (callout_terminating, callout_inspection, callout_unknown), "
                f"not {action.short}",
                value=False,
            )
        if flags & FilterFlag.PERMIT_IF_CALLOUT_UNREGISTERED and action not in (
            ActionType.FWP_ACTION_CALLOUT_TERMINATING,
            ActionType.FWP_ACTION_CALLOUT_UNKNOWN,
        ):
            ctx.error(
                (*path, "flags"),
                f"flag permit_if_callout_unregistered only works with callout_terminating or callout_unknown, "
                f"not {action.short}",
            )

    known = callouts.get(callout) if callout is not None else None
    if callout is not None and layer is not None and (known is None or known.builtin):
        b = get_callout(callout)
        if b is not None and b.layers and layer.name not in b.layers:
            ctx.error(
                (*path, "callout"),
                f"built-in callout {b.name} is registered at {', '.join(b.layers)}, not at {layer.name}",
            )

    conditions: list[Condition] = []
    if "condition" in table:
        raw_conds = table["condition"]
        if isinstance(raw_conds, dict):
            ctx.error(
                (*path, "condition"),
                "condition must be a list of tables: condition = [ { field = ... }, ... ]",
            )
        elif not isinstance(raw_conds, list):
            ctx.error((*path, "condition"), f"condition must be a list of tables, not {_describe(raw_conds)}")
        else:
            # Without a known layer the field check is skipped, but values still parse.
            for i, item in enumerate(raw_conds):
                c = _parse_condition(ctx, item, (*path, "condition", i), layer if layer_text else None)
                if c is not None:
                    conditions.append(c)

    filter_id = _filter_id_of(ctx, table, path)

    eff: int | None = None
    if "effective_weight" in table:
        raw_eff = table["effective_weight"]
        eff = _uint_from(raw_eff, UINT64_MAX)
        if eff is None:
            ctx.error(
                (*path, "effective_weight"),
                f'effective_weight must be a UINT64 (int or "0x..."), not {_describe(raw_eff)}',
            )

    if len(ctx.diags) > start or key is None or layer is None or action is None:
        return None
    conds = tuple(conditions)
    if eff is None:
        try:
            eff = compute_effective_weight(weight, conds)
        except ValueError as exc:
            ctx.error((*path, "weight"), str(exc))
            return None
    return Filter(
        key=key,
        layer=layer.name,
        action=action,
        sublayer=sublayer,
        weight=weight,
        effective_weight=eff,
        conditions=conds,
        flags=flags,
        callout=callout,
        filter_id=filter_id if filter_id is not None else next_id,
        name=name,
        description=description,
        provider=provider,
        guid=guid,
        loc=ctx.loc(path),
    )


def parse_filter_table(
    table: Mapping[str, Any],
    *,
    filename: str,
    locator: TomlLocator | None,
    path_prefix: KeyPath,
    sublayers: Mapping[str, Sublayer],
    callouts: Mapping[str, Callout],
    next_id: int,
) -> Filter:
    """One ``[[filter]]``-style table at ``path_prefix`` (see the module docstring)."""
    ctx = _Ctx(filename, locator)
    f = _parse_filter(ctx, table, tuple(path_prefix), sublayers, callouts, next_id)
    ctx.raise_if_any()
    if f is None:  # pragma: no cover - every None path records a diagnostic
        raise InputError([Diagnostic(filename, *ctx.pos(tuple(path_prefix)), "invalid filter")])
    return f


def parse_filter_tables(
    tables: Sequence[Mapping[str, Any]],
    policy: Policy,
    filename: str,
    *,
    locator: TomlLocator | None = None,
    path_prefix: KeyPath = (),
) -> tuple[Filter, ...]:
    """Filters added at run time (a ``policy`` step's ``add`` list) against ``policy``.

    The signature matches ``core.scenario.FilterParser``. Table ``i`` sits at
    ``(*path_prefix, i)``. Filters without ``id`` get ids after every id already used by
    ``policy`` and by the tables (at least FIRST_FILTER_ID); a key given twice in
    ``tables`` is an error. All problems raise together as one InputError.
    """
    ctx = _Ctx(filename, locator)
    prefix = tuple(path_prefix)
    scratch = _Ctx(filename, locator)
    taken = {f.filter_id for f in policy.filters}
    for i, t in enumerate(tables):
        n = _filter_id_of(scratch, t, (*prefix, i)) if isinstance(t, Mapping) else None
        if n is not None:
            taken.add(n)
    next_id = max([FIRST_FILTER_ID - 1, *(x for x in taken if x < (1 << 63))]) + 1
    sublayers = dict(policy.sublayers) or builtin_objects()[0]
    callouts = dict(policy.callouts) or builtin_objects()[1]
    out: list[Filter] = []
    seen: dict[str, KeyPath] = {}
    for i, t in enumerate(tables):
        path = (*prefix, i)
        if not isinstance(t, Mapping):
            ctx.error(path, f"a filter is a table, not {_describe(t)}")
            continue
        key = t.get("key")
        if isinstance(key, str):
            if key in seen:
                line, _ = ctx.pos(seen[key])
                ctx.error((*path, "key"), f"duplicate filter key {key!r} (first at line {line})")
            else:
                seen[key] = path
        has_id = _filter_id_of(scratch, t, path) is not None
        f = _parse_filter(ctx, t, path, sublayers, callouts, next_id)
        if not has_id:
            next_id += 1
        if f is not None:
            out.append(f)
    ctx.raise_if_any()
    return tuple(out)


def _array_of_tables(
    ctx: _Ctx, doc: Mapping[str, Any], key: str, prefix: KeyPath
) -> list[tuple[KeyPath, Any]]:
    if key not in doc:
        return []
    raw = doc[key]
    if isinstance(raw, dict):
        ctx.error(
            (*prefix, key), f"{key} must be an array of tables: write [[{key}]], not [{key}]", value=False
        )
        return []
    if not isinstance(raw, list):
        ctx.error(
            (*prefix, key), f"{key} must be an array of tables ([[{key}]]), not {_describe(raw)}", value=False
        )
        return []
    out: list[tuple[KeyPath, Any]] = []
    for i, item in enumerate(raw):
        path = (*prefix, key, i)
        if not isinstance(item, dict):
            ctx.error(path, f"each {key} must be a table, not {_describe(item)}")
            continue
        out.append((path, item))
    return out


def _build_policy(ctx: _Ctx, doc: Mapping[str, Any], prefix: KeyPath) -> Policy:
    if not isinstance(doc, Mapping):
        ctx.error(prefix, f"a policy is a table, not {_describe(doc)}")
        ctx.raise_if_any()
    where = "the policy" if prefix else "a policy file"
    for k in doc:
        if k not in TOP_KEYS:
            ctx.error(
                (*prefix, k), f"unknown key {k!r} in {where}{_did_you_mean(str(k), TOP_KEYS)}", value=False
            )
    sublayers, callouts = builtin_objects()
    for path, table in _array_of_tables(ctx, doc, "sublayer", prefix):
        _parse_sublayer(ctx, table, path, sublayers)
    for path, table in _array_of_tables(ctx, doc, "callout", prefix):
        _parse_callout(ctx, table, path, callouts)

    tables = _array_of_tables(ctx, doc, "filter", prefix)
    explicit: dict[int, KeyPath] = {}
    scratch = _Ctx(ctx.filename, ctx.locator)
    for path, table in tables:
        n = _filter_id_of(scratch, table, path)
        if n is not None:
            if n in explicit:
                line, _ = ctx.pos(explicit[n])
                ctx.error(
                    (*path, "id" if "id" in table else "filter_id"),
                    f"duplicate filter id {n} (also at line {line})",
                )
            else:
                explicit[n] = path
    next_id = FIRST_FILTER_ID
    filters: list[Filter] = []
    seen_keys: dict[str, KeyPath] = {}
    for path, table in tables:
        own_id = _filter_id_of(scratch, table, path)
        if own_id is None:
            while next_id in explicit:
                next_id += 1
            assigned = next_id
            next_id += 1
        else:
            assigned = own_id
        key = table.get("key")
        if isinstance(key, str):
            if key in seen_keys:
                line, _ = ctx.pos(seen_keys[key])
                ctx.error((*path, "key"), f"duplicate filter key {key!r} (first at line {line})")
            else:
                seen_keys[key] = path
        f = _parse_filter(ctx, table, path, sublayers, callouts, assigned)
        if f is not None:
            filters.append(f)
    ctx.raise_if_any()
    return Policy(sublayers=sublayers, callouts=callouts, filters=tuple(filters), source=ctx.filename or None)


def policy_from_tables(
    doc: Mapping[str, Any], filename: str, locator: TomlLocator | None, path_prefix: KeyPath = ()
) -> Policy:
    """A Policy from an already parsed table at ``path_prefix`` (module docstring)."""
    return _build_policy(_Ctx(filename, locator), doc, tuple(path_prefix))


def parse_policy(text: str, filename: str) -> Policy:
    """Parse policy TOML text; every problem raises together as an InputError."""
    if text.startswith("\ufeff"):
        text = text[1:]
    doc, locator = parse_toml(text, filename)
    return _build_policy(_Ctx(filename, locator), doc, ())


def load_policy(path: str | os.PathLike[str]) -> Policy:
    """Read and parse a policy file; unreadable files raise InputError naming the path."""
    from wfptui.io.stdio import display_name, read_input

    data = read_input(os.fspath(path), "policy file")  # `-` = standard input (spec §8)
    name = display_name(os.fspath(path))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError([Diagnostic(name, line, 0, "policy file is not UTF-8 text")]) from None
    return parse_policy(text, name)


# ----------------------------------------------------------------------------- writing

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_str(text: str) -> str:
    """A TOML string: '...' for Windows paths and SDDL (readable, no escapes needed), else "..."."""
    if "\\" in text and "'" not in text and not any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
        return f"'{text}'"
    out = ['"']
    for ch in text:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\u{o:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


_toml_str = toml_str


def _toml_key(k: str) -> str:
    return k if _BARE_KEY.match(k) else _toml_str(k)


def toml_literal(v: object) -> str:
    """One TOML value (inline form) for str, int, bool, list, dict."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        if not -(1 << 63) <= v <= INT64_MAX:
            return _toml_str(hex(v))
        return str(v)
    if isinstance(v, str):
        return _toml_str(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(toml_literal(x) for x in v) + "]"
    if isinstance(v, dict):
        if not v:
            return "{}"
        return "{ " + ", ".join(f"{_toml_key(str(k))} = {toml_literal(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def _comment(text: str) -> list[str]:
    return [("# " + line).rstrip() for line in text.splitlines()] or ["#"]


def _weight_toml(w: Weight) -> object | None:
    if w.type == DataType.FWP_EMPTY:
        return None
    if w.type == DataType.FWP_UINT8:
        return w.value
    v = w.value or 0
    return {"uint64": f"0x{v:016x}"}


def _flag_names(flags: int) -> list[str] | int:
    names: list[str] = []
    rest = flags
    for m in FilterFlag:
        if m.value and flags & m.value == m.value:
            names.append(str(m.name).lower())
            rest &= ~m.value
    if rest:
        return flags
    return names


def dump_policy(policy: Policy, *, header_comment: str = "") -> str:
    """A policy file that ``parse_policy`` reads back to the same objects (module docstring)."""
    lines: list[str] = []
    if header_comment:
        lines += _comment(header_comment)
        lines.append("")
    default_subs, default_callouts = builtin_objects()

    for s in policy.sublayers.values():
        if s.builtin and default_subs.get(s.key) == s:
            continue
        lines.append("[[sublayer]]")
        lines.append(f"key = {toml_literal(s.key)}")
        lines.append(f"weight = {s.weight}")
        base = default_subs.get(s.key) if s.builtin else None
        if base is not None:
            if s.name != base.name:
                lines.append(f"name = {toml_literal(s.name)}")
        else:
            if s.name:
                lines.append(f"name = {toml_literal(s.name)}")
            if s.guid and s.guid != normalize_guid(s.key):
                lines.append(f"guid = {toml_literal(s.guid)}")
        lines.append("")

    for c in policy.callouts.values():
        if c.builtin and default_callouts.get(c.key) == c:
            continue
        if c.assumed:
            lines.append(
                "# behaviour assumed: the simulator cannot know what this callout does; edit returns"
            )
        lines.append("[[callout]]")
        lines.append(f"key = {toml_literal(c.key)}")
        lines.append(f"returns = {toml_literal(c.returns)}")
        if c.hard:
            lines.append("hard = true")
        elif c.builtin:
            lines.append("hard = false")
        if c.silent:
            lines.append("silent = true")
        elif c.builtin:
            lines.append("silent = false")
        if c.assumed:
            lines.append("assumed = true")
        if c.builtin:
            cbase = default_callouts.get(c.key)
            if cbase is not None and c.name != cbase.name:
                lines.append(f"name = {toml_literal(c.name)}")
        else:
            if c.name:
                lines.append(f"name = {toml_literal(c.name)}")
            if c.guid and c.guid != normalize_guid(c.key):
                lines.append(f"guid = {toml_literal(c.guid)}")
        lines.append("")

    for f in policy.filters:
        lines += _dump_filter(f)
        lines.append("")
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


def _dump_filter(f: Filter) -> list[str]:
    out = ["[[filter]]", f"key = {toml_literal(f.key)}"]
    if f.name:
        out.append(f"name = {toml_literal(f.name)}")
    if f.description:
        out.append(f"description = {toml_literal(f.description)}")
    out.append(f"layer = {toml_literal(f.layer)}")
    if f.sublayer != "UNIVERSAL":
        out.append(f"sublayer = {toml_literal(f.sublayer)}")
    w = _weight_toml(f.weight)
    if w is not None:
        out.append(f"weight = {toml_literal(w)}")
    try:
        computed: int | None = compute_effective_weight(f.weight, f.conditions)
    except ValueError:
        computed = None
    if computed != f.effective_weight:
        out.append(f"effective_weight = {toml_literal(f'0x{f.effective_weight:016x}')}")
    out.append(f"action = {toml_literal(f.action.short)}")
    if f.callout is not None:
        out.append(f"callout = {toml_literal(f.callout)}")
    if f.flags:
        out.append(f"flags = {toml_literal(_flag_names(f.flags))}")
    out.append(f"id = {toml_literal(f.filter_id)}")
    if f.provider is not None:
        out.append(f"provider = {toml_literal(f.provider)}")
    if f.guid is not None and f.guid != normalize_guid(f.key):
        out.append(f"guid = {toml_literal(f.guid)}")
    if f.conditions:
        try:
            layer: Layer | None = get_layer(f.layer)
        except KeyError:
            layer = None
        out.append("condition = [")
        for c in f.conditions:
            value = toml_value(c.value, c.dtype, c.field, layer)
            out.append(
                f"  {{ field = {toml_literal(c.field)}, match = {toml_literal(c.match.short)}, "
                f"value = {toml_literal(value)} }},"
            )
        out.append("]")
    return out
