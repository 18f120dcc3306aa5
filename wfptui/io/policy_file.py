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
* ``[[callout]]``: ``key`` (required), ``returns`` (``permit | block | continue | absorb |
  unregistered``; default ``continue``), ``hard``, ``silent`` (booleans, default false),
  ``name``, ``guid``, ``assumed`` (the behaviour was guessed, e.g. by ``wfptui import``),
  ``description``, and (issue 15) ``[[callout.rule]]`` tables -- ``condition`` (exactly a
  filter's condition list; each field and value must fit every layer a filter uses the
  callout at), ``action`` (``permit | block | continue | absorb``), ``hard`` (clears
  FWPS_RIGHT_ACTION_WRITE; default: the callout's ``hard``), ``description``: the first rule
  whose conditions hold decides; none: ``default`` (another name for ``returns``, without
  ``unregistered``). A built-in callout's key changes that built-in. Flow context and stream
  inspection (issue 15, docs/decisions-engine.md): ``conditional_on_flow`` on the callout
  (FWP_CALLOUT_FLAG_CONDITIONAL_ON_FLOW); on a rule ``flow_context`` (+ ``flow_context_callout``,
  a callout of this file: associate at ALE_FLOW_ESTABLISHED), ``when_flow_context``,
  ``permit_bytes`` + ``then`` (``block | drop_connection``; instead of ``action``, STREAM only),
  and ``action = "reinject"`` (clone, absorb, inject back; transport / datagram-data layers).
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
* ``dump_policy(policy: Policy, *, header_comment: str = "", notes: Mapping[str,
  Sequence[str]] | None = None) -> str`` -- the one policy writer (``io.policy_writer``): a
  policy file that ``parse_policy`` reads back to equal sublayers, callouts and filters
  (built-ins are written only when changed; ``notes[key]`` as comments above that object).
* ``FIRST_FILTER_ID = 70001``

Modules: this one reads whole files, sublayers and callouts; ``io.policy_filters`` filter
tables; ``io.policy_tables`` the shared keys, names and diagnostics context;
``io.policy_writer`` writes. Import the names above from here.

Speed: a valid file costs the TOML parse plus the checks -- positions are looked up only
for a message (``io.tomlpos`` scans the text at the first query; ``SourceLoc`` resolves
lazily), and each distinct condition value is parsed once per file.
"""


from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, NamedTuple

from wfptui.core.builtins import get_callout, get_sublayer
from wfptui.core.fields import normalize_guid
from wfptui.core.flowctx import REINJECT, THEN_ACTIONS
from wfptui.core.model import Callout, CalloutRule, Condition, Filter, Policy, Sublayer
from wfptui.core.pend import PEND, PEND_THEN
from wfptui.core.redirect import CONNECT, LOCAL, REDIRECT, Target, parse_target
from wfptui.io.errors import Diagnostic, InputError
from wfptui.io.policy_filters import (
    filter_id_of,
    parse_condition,
    parse_filter,
    parse_filter_table,
    parse_filter_tables,
)
from wfptui.io.policy_tables import (
    CALLOUT_KEYS,
    CALLOUT_RETURNS,
    CONDITION_KEYS,
    FILTER_KEYS,
    FIRST_FILTER_ID,
    RULE_ACTIONS,
    RULE_KEYS,
    SUBLAYER_KEYS,
    TOP_KEYS,
    TableContext,
    builtin_objects,
    check_keys,
    describe,
    did_you_mean,
    get_bool,
    get_str,
    parse_action,
    parse_filter_flag,
    parse_match,
    resolve_callout,
    resolve_sublayer,
    uint_from,
)
from wfptui.io.policy_writer import dump_policy, toml_literal, toml_str
from wfptui.io.tomlpos import KeyPath, TomlLocator, parse_toml

__all__ = [
    "CALLOUT_KEYS",
    "CALLOUT_RETURNS",
    "CONDITION_KEYS",
    "FILTER_KEYS",
    "FIRST_FILTER_ID",
    "RULE_ACTIONS",
    "RULE_KEYS",
    "SUBLAYER_KEYS",
    "TOP_KEYS",
    "builtin_objects",
    "dump_policy",
    "load_policy",
    "parse_action",
    "parse_filter_flag",
    "parse_filter_table",
    "parse_filter_tables",
    "parse_match",
    "parse_policy",
    "policy_from_tables",
    "resolve_callout",
    "resolve_sublayer",
    "toml_literal",
    "toml_str",
]

# ----------------------------------------------------------------------------- sublayers, callouts


def _parse_sublayer(
    ctx: TableContext, table: Mapping[str, Any], path: KeyPath, sublayers: dict[str, Sublayer]
) -> None:
    check_keys(ctx, table, SUBLAYER_KEYS, "[[sublayer]]", path)
    key = get_str(ctx, table, "key", path, required=True)
    name = get_str(ctx, table, "name", path)
    guid_text = get_str(ctx, table, "guid", path)
    get_str(ctx, table, "description", path)
    weight: int | None = None
    if "weight" not in table:
        ctx.error(
            path, "missing required key 'weight' (a UINT16, 0..65535; higher is evaluated first)", value=False
        )
    else:
        raw = table["weight"]
        weight = uint_from(raw, 0xFFFF)
        if weight is None:
            ctx.error((*path, "weight"), f"sublayer weight must be a UINT16 0..65535, not {describe(raw)}")
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


def _parse_callout(ctx: TableContext, table: Mapping[str, Any], path: KeyPath, callouts: dict[str, Callout]) -> None:
    check_keys(ctx, table, CALLOUT_KEYS, "[[callout]]", path)
    key = get_str(ctx, table, "key", path, required=True)
    name = get_str(ctx, table, "name", path)
    guid_text = get_str(ctx, table, "guid", path)
    get_str(ctx, table, "description", path)
    returns = "continue"
    if "returns" in table and "default" in table:
        ctx.error((*path, "default"), "give either returns or default (the same thing), not both", value=False)
    elif "returns" in table:
        r = table["returns"]
        if not isinstance(r, str) or r.strip().lower().removeprefix("fwp_action_") not in CALLOUT_RETURNS:
            shown = r if isinstance(r, str) else describe(r)
            hint = did_you_mean(r, CALLOUT_RETURNS) if isinstance(r, str) else ""
            ctx.error(
                (*path, "returns"),
                f"callout returns must be permit, block, continue, absorb or unregistered, not {shown!r}{hint}",
            )
        else:
            returns = r.strip().lower().removeprefix("fwp_action_")
    elif "default" in table:
        returns = _rule_action(ctx, table["default"], (*path, "default"), "callout default") or returns
    rules = tuple(_parse_rules(ctx, table, path))
    hard = get_bool(ctx, table, "hard", path)
    silent = get_bool(ctx, table, "silent", path)
    assumed = get_bool(ctx, table, "assumed", path)
    conditional = get_bool(ctx, table, "conditional_on_flow", path)
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
            returns=returns if "returns" in table or "default" in table else b.returns,
            hard=hard if "hard" in table else b.hard,
            silent=silent if "silent" in table else b.silent,
            guid=b.guid,
            name=name if name is not None else b.fwpm_name,
            assumed=assumed,
            builtin=True,
            loc=ctx.loc(path),
            rules=rules,
            conditional_on_flow=conditional,
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
        rules=rules,
        conditional_on_flow=conditional,
    )


def _rule_action(ctx: TableContext, raw: object, path: KeyPath, what: str,
                 allowed: tuple[str, ...] = RULE_ACTIONS) -> str | None:
    """A rule's ``action`` (permit, block, continue, absorb or reinject) or a callout's
    ``default`` (the same without reinject)."""
    if isinstance(raw, str):
        word = raw.strip().lower().removeprefix("fwp_action_")
        if word in allowed:
            return word
    shown = repr(raw) if isinstance(raw, str) else describe(raw)
    hint = did_you_mean(raw, allowed) if isinstance(raw, str) else ""
    ctx.error(path, f"{what} must be {', '.join(allowed[:-1])} or {allowed[-1]}, not {shown}{hint}")
    return None


def _parse_rules(ctx: TableContext, table: Mapping[str, Any], path: KeyPath) -> list[CalloutRule]:
    """``[[callout.rule]]`` (issue 15): conditions exactly as a filter's (``parse_condition``;
    the fields are checked against each layer a filter uses the callout at), an action and
    ``hard``."""
    if "rule" not in table:
        return []
    raw = table["rule"]
    if isinstance(raw, dict):
        ctx.error((*path, "rule"), "rule must be an array of tables: write [[callout.rule]], not [callout.rule]",
                  value=False)
        return []
    if not isinstance(raw, list):
        ctx.error((*path, "rule"), f"rule must be an array of tables ([[callout.rule]]), not {describe(raw)}")
        return []
    out: list[CalloutRule] = []
    for i, item in enumerate(raw):
        rpath = (*path, "rule", i)
        if not isinstance(item, dict):
            ctx.error(rpath, f"each rule must be a table, not {describe(item)}")
            continue
        check_keys(ctx, item, RULE_KEYS, "[[callout.rule]]", rpath)
        get_str(ctx, item, "description", rpath)
        flow = _rule_flow_keys(ctx, item, rpath)
        action: str | None = None
        if "permit_bytes" in item:
            # stream inspection by byte count: permit within the count, ``then`` past it
            action = "permit" if flow.permit_bytes is not None else None
            if "action" in item:
                ctx.error((*rpath, "action"), "give either action or permit_bytes (which permits the first N bytes, "
                          "then does `then`), not both", value=False)
        elif "action" not in item:
            ctx.error(rpath, "missing required key 'action' (permit, block, continue or absorb)", value=False)
        else:
            action = _rule_action(ctx, item["action"], (*rpath, "action"), "rule action",
                                  (*RULE_ACTIONS, REINJECT, PEND, REDIRECT))
        pend_then, after = _rule_pend_keys(ctx, item, rpath, action)
        target = _rule_redirect_keys(ctx, item, rpath, action)
        if "then" in item and "permit_bytes" not in item and action != PEND and "action" in item:
            ctx.error((*rpath, "then"), "then is only for a permit_bytes or a pend rule", value=False)
        hard = get_bool(ctx, item, "hard", rpath) if "hard" in item else None
        conditions: list[Condition] = []
        raw_conds = item.get("condition", [])
        if not isinstance(raw_conds, list):
            ctx.error((*rpath, "condition"), f"condition must be a list of tables, not {describe(raw_conds)}")
        else:
            for j, c_item in enumerate(raw_conds):
                c = parse_condition(ctx, c_item, (*rpath, "condition", j), None)
                if c is not None:
                    conditions.append(c)
        if action is not None:
            out.append(CalloutRule(tuple(conditions), action, hard, loc=ctx.loc(rpath), flow_context=flow.flow_context,
                                   flow_context_callout=flow.flow_context_callout,
                                   when_flow_context=flow.when_flow_context, permit_bytes=flow.permit_bytes,
                                   then=pend_then if action == PEND else flow.then, complete_after=after,
                                   target=target))
    return out


def _rule_redirect_keys(ctx: TableContext, item: Mapping[str, Any], path: KeyPath,
                        action: str | None) -> Target | None:
    """A ``redirect`` rule's target (core.redirect): ``to = "address:port"`` (at
    ALE_CONNECT_REDIRECT: the new remote end) or ``local = "address[:port]"`` (at
    ALE_BIND_REDIRECT: the new local end); exactly one."""
    given = [k for k in ("to", "local") if k in item]
    if action != REDIRECT:
        for k in given:
            ctx.error((*path, k), f"{k} is only for a redirect rule (action = \"redirect\")", value=False)
        return None
    if len(given) != 1:
        where = (*path, given[1]) if len(given) > 1 else path
        ctx.error(where, "a redirect rule gives either to = \"address:port\" (ALE_CONNECT_REDIRECT: the new remote "
                  "end) or local = \"address\" (ALE_BIND_REDIRECT: the new local end)", value=False)
        return None
    key = given[0]
    raw = item[key]
    if not isinstance(raw, str):
        ctx.error((*path, key), f"{key} must be a string such as \"127.0.0.1:8080\", not {describe(raw)}")
        return None
    try:
        return parse_target(CONNECT if key == "to" else LOCAL, raw)
    except ValueError as exc:
        ctx.error((*path, key), f"{key}: {exc}")
        return None


def _rule_pend_keys(ctx: TableContext, item: Mapping[str, Any], path: KeyPath,
                    action: str | None) -> tuple[str | None, float | None]:
    """A ``pend`` rule's ``complete_after`` (virtual seconds, required) and ``then`` (permit or
    block: the answer when the completion classifies again; default permit) -- core.pend."""
    if action != PEND:
        if "complete_after" in item:
            ctx.error((*path, "complete_after"), "complete_after is only for a pend rule (action = \"pend\")",
                      value=False)
        return None, None
    after: float | None = None  # absent: the pend completes on a `complete` step naming the callout
    if "complete_after" in item:
        raw = item["complete_after"]
        ok = isinstance(raw, int | float) and not isinstance(raw, bool) and 0 <= raw <= 86400 and raw == raw
        if not ok:
            ctx.error((*path, "complete_after"), f"complete_after must be seconds from 0 to 86400, not {describe(raw)}")
        else:
            after = float(raw)
    then = "permit"
    if "then" in item:
        then = _word(ctx, item["then"], (*path, "then"), PEND_THEN, "then of a pend rule") or then
    return then, after


def _word(ctx: TableContext, raw: object, path: KeyPath, allowed: tuple[str, ...], what: str) -> str | None:
    """One of ``allowed`` (any case, spaces around ignored), else an error naming them: None."""
    word = raw.strip().lower() if isinstance(raw, str) else None
    if word in allowed:
        return word
    shown = repr(raw) if isinstance(raw, str) else describe(raw)
    hint = did_you_mean(raw, allowed) if isinstance(raw, str) else ""
    ctx.error(path, f"{what} must be {', '.join(allowed[:-1])} or {allowed[-1]}, not {shown}{hint}")
    return None


class _FlowKeys(NamedTuple):
    flow_context: str | None
    flow_context_callout: str | None
    when_flow_context: str | None
    permit_bytes: int | None
    then: str | None


def _label(ctx: TableContext, item: Mapping[str, Any], key: str, path: KeyPath) -> str | None:
    """A flow context label or callout name: a non-empty string."""
    raw = item.get(key)
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw.strip():
        ctx.error((*path, key), f"{key} must be a non-empty string, not {describe(raw)}")
        return None
    return raw.strip()


def _rule_flow_keys(ctx: TableContext, item: Mapping[str, Any], path: KeyPath) -> _FlowKeys:
    """A rule's flow-context and byte-count keys (issue 15; their layers are checked where a
    filter uses the callout, ``io.policy_filters``)."""
    flow_context = _label(ctx, item, "flow_context", path)
    target = _label(ctx, item, "flow_context_callout", path)
    if target is not None and "flow_context" not in item:
        ctx.error((*path, "flow_context_callout"), "flow_context_callout names the callout a flow_context is for: "
                  "give flow_context too", value=False)
    when = _label(ctx, item, "when_flow_context", path)
    permit_bytes: int | None = None
    if "permit_bytes" in item:
        raw = item["permit_bytes"]
        permit_bytes = raw if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw <= 2**63 - 1 else None
        if permit_bytes is None:
            ctx.error((*path, "permit_bytes"), f"permit_bytes must be a byte count (an integer >= 0), not {describe(raw)}")
    then: str | None = None
    if "then" in item and "permit_bytes" in item:
        then = _word(ctx, item["then"], (*path, "then"), THEN_ACTIONS, "then")
    if permit_bytes is not None and then is None and "then" not in item:
        then = "block"
    return _FlowKeys(flow_context, target, when, permit_bytes, then)


def _check_flow_targets(ctx: TableContext, tables: list[tuple[KeyPath, Any]], callouts: dict[str, Callout]) -> None:
    """Each ``flow_context_callout`` names a callout of the policy (the calloutId of
    FwpsFlowAssociateContext0); rewritten to its key."""
    for path, table in tables:
        rules = table.get("rule")
        if not isinstance(rules, list):
            continue
        for i, item in enumerate(rules):
            name = item.get("flow_context_callout") if isinstance(item, dict) else None
            if isinstance(name, str) and name.strip() and resolve_callout(name, callouts) is None:
                ctx.error((*path, "rule", i, "flow_context_callout"),
                          f"flow_context_callout names no callout of this policy: {name!r}"
                          f"{did_you_mean(name, [k for k, c in callouts.items() if not c.builtin])}")
    for key, c in list(callouts.items()):
        if not any(r.flow_context_callout for r in c.rules):
            continue
        rules = tuple(
            replace(r, flow_context_callout=resolve_callout(r.flow_context_callout, callouts) or r.flow_context_callout)
            if r.flow_context_callout else r for r in c.rules)
        callouts[key] = replace(c, rules=rules)



def _array_of_tables(
    ctx: TableContext, doc: Mapping[str, Any], key: str, prefix: KeyPath
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
            (*prefix, key), f"{key} must be an array of tables ([[{key}]]), not {describe(raw)}", value=False
        )
        return []
    out: list[tuple[KeyPath, Any]] = []
    for i, item in enumerate(raw):
        path = (*prefix, key, i)
        if not isinstance(item, dict):
            ctx.error(path, f"each {key} must be a table, not {describe(item)}")
            continue
        out.append((path, item))
    return out


def _build_policy(ctx: TableContext, doc: Mapping[str, Any], prefix: KeyPath) -> Policy:
    if not isinstance(doc, Mapping):
        ctx.error(prefix, f"a policy is a table, not {describe(doc)}")
        ctx.raise_if_any()
    where = "the policy" if prefix else "a policy file"
    for k in doc:
        if k not in TOP_KEYS:
            ctx.error(
                (*prefix, k), f"unknown key {k!r} in {where}{did_you_mean(str(k), TOP_KEYS)}", value=False
            )
    sublayers, callouts = builtin_objects()
    for path, table in _array_of_tables(ctx, doc, "sublayer", prefix):
        _parse_sublayer(ctx, table, path, sublayers)
    callout_tables = _array_of_tables(ctx, doc, "callout", prefix)
    for path, table in callout_tables:
        _parse_callout(ctx, table, path, callouts)
    _check_flow_targets(ctx, callout_tables, callouts)

    tables = _array_of_tables(ctx, doc, "filter", prefix)
    explicit: dict[int, KeyPath] = {}
    scratch = TableContext(ctx.filename, ctx.locator)
    for path, table in tables:
        n = filter_id_of(scratch, table, path)
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
        own_id = filter_id_of(scratch, table, path)
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
        f = parse_filter(ctx, table, path, sublayers, callouts, assigned)
        if f is not None:
            filters.append(f)
    ctx.raise_if_any()
    return Policy(sublayers=sublayers, callouts=callouts, filters=tuple(filters), source=ctx.filename or None)


def policy_from_tables(
    doc: Mapping[str, Any], filename: str, locator: TomlLocator | None, path_prefix: KeyPath = ()
) -> Policy:
    """A Policy from an already parsed table at ``path_prefix`` (module docstring)."""
    return _build_policy(TableContext(filename, locator), doc, tuple(path_prefix))


def parse_policy(text: str, filename: str) -> Policy:
    """Parse policy TOML text; every problem raises together as an InputError."""
    if text.startswith("\ufeff"):
        text = text[1:]
    doc, locator = parse_toml(text, filename)
    return _build_policy(TableContext(filename, locator), doc, ())


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
