"""Filter tables (``[[filter]]``, a ``policy`` step's ``add`` list) → :class:`~wfptui.core.model.Filter`.

The rules are those of ``io.policy_file`` (its docstring describes every key); this module
holds the filter half of the loader: weights, flags, conditions (values parsed by
``core.values.parse_value``), ids, and the checks that tie them together (callout actions,
built-in callout layers, fields available at the layer).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from wfptui.core.builtins import get_callout
from wfptui.core.datatypes import DataType
from wfptui.core.events import layer_family
from wfptui.core.fields import UnknownNameError, get_field, normalize_guid
from wfptui.core.flowctx import (
    DROP_CONNECTION,
    FLOW_LAYER_FAMILIES,
    REINJECT,
    REINJECT_FAMILIES,
    STREAM_FAMILIES,
    flow_aware,
)
from wfptui.core.layers import Layer, get_layer
from wfptui.core.model import (
    ActionType,
    Callout,
    Condition,
    Filter,
    FilterFlag,
    MatchType,
    Policy,
    Sublayer,
    Weight,
)
from wfptui.core.outcome import target_text
from wfptui.core.pend import PEND, PEND_FAMILIES
from wfptui.core.redirect import CONNECT, REDIRECT, REDIRECT_FAMILIES
from wfptui.core.values import ValueParseError, parse_value
from wfptui.core.weights import effective_weight as compute_effective_weight
from wfptui.io.errors import Diagnostic, InputError
from wfptui.io.policy_tables import (
    CONDITION_KEYS,
    FILTER_KEYS,
    FIRST_FILTER_ID,
    UINT64_MAX,
    TableContext,
    builtin_objects,
    check_keys,
    describe,
    did_you_mean,
    get_str,
    parse_action,
    parse_filter_flag,
    parse_match,
    resolve_callout,
    resolve_sublayer,
    suggest,
    uint_from,
)
from wfptui.io.policy_writer import condition_toml
from wfptui.io.tomlpos import KeyPath, TomlLocator

__all__ = ["filter_id_of", "parse_condition", "parse_filter", "parse_filter_table", "parse_filter_tables"]


def _parse_weight(ctx: TableContext, raw: object, path: KeyPath) -> Weight | None:
    wpath = (*path, "weight")
    if isinstance(raw, bool):
        ctx.error(wpath, f"weight must be 0..15 or {{ uint64 = ... }}, not {describe(raw)}")
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
            n = uint_from(v, 15)
            if n is None:
                ctx.error((*wpath, k), f"FWP_UINT8 weight must be a range index 0..15, not {describe(v)}")
                return None
            return Weight(DataType.FWP_UINT8, n)
        if kk == "uint64":
            n = uint_from(v, UINT64_MAX)
            if n is None:
                ctx.error((*wpath, k), f"FWP_UINT64 weight must be 0..0xffffffffffffffff, not {describe(v)}")
                return None
            return Weight(DataType.FWP_UINT64, n)
        if kk == "empty":
            if v is not True:
                ctx.error((*wpath, k), "write an FWP_EMPTY weight as { empty = true } (or leave weight out)")
                return None
            return Weight(DataType.FWP_EMPTY)
        ctx.error(
            (*wpath, k),
            f"unknown weight type {k!r} (uint8, uint64 or empty){did_you_mean(str(k), ['uint8', 'uint64', 'empty'])}",
            value=False,
        )
        return None
    ctx.error(wpath, f"weight must be 0..15 or {{ uint64 = ... }}, not {describe(raw)}")
    return None


def _parse_flags(ctx: TableContext, raw: object, path: KeyPath) -> int:
    fpath = (*path, "flags")
    if isinstance(raw, bool):
        ctx.error(fpath, f"flags must be a list of flag names, not {describe(raw)}")
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
        ctx.error(fpath, f"flags must be a list of flag names, not {describe(raw)}")
        return 0
    value = 0
    for item, p in zip(items, paths, strict=True):
        if isinstance(item, int) and not isinstance(item, bool) and 0 <= item <= 0xFFFFFFFF:
            value |= item
            continue
        if not isinstance(item, str):
            ctx.error(p, f'a filter flag is a name like "clear_action_right", not {describe(item)}')
            continue
        try:
            value |= parse_filter_flag(item)
        except UnknownNameError as exc:
            ctx.error(p, str(exc))
    return value


def _typed(raw: object) -> object | None:
    """A hashable key that tells ``raw`` from every other raw value (``1``, ``True`` and
    ``"1"`` apart), for the value memo; None for tables and nested lists (not memoized)."""
    if isinstance(raw, str | int):  # bool is an int: the type keeps them apart
        return (type(raw), raw)
    if isinstance(raw, list) and all(isinstance(x, str | int) for x in raw):
        return (list, tuple((type(x), x) for x in raw))
    return None


def parse_condition(ctx: TableContext, item: object, path: KeyPath, layer: Layer | None) -> Condition | None:
    if not isinstance(item, dict):
        ctx.error(
            path, f"a condition is a table {{ field = ..., match = ..., value = ... }}, not {describe(item)}"
        )
        return None
    check_keys(ctx, item, CONDITION_KEYS, "condition", path)
    field_text = get_str(ctx, item, "field", path, required=True)
    match = MatchType.FWP_MATCH_EQUAL
    match_ok = True
    if "match" in item:
        m = item["match"]
        if not isinstance(m, str):
            ctx.error((*path, "match"), f'match must be a match type name like "equal", not {describe(m)}')
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
    raw = item["value"]
    typed = _typed(raw)
    memo_key = (cf.name, layer.name if layer is not None else None, match, typed) if typed is not None else None
    hit = ctx.values.get(memo_key) if memo_key is not None else None
    if hit is not None:
        value, dtype = hit
    else:
        try:
            value, dtype = parse_value(cf.name, layer, match, raw)
        except (ValueParseError, UnknownNameError) as exc:
            ctx.error((*path, "value"), f"{cf.name}: {exc}" if not str(exc).startswith(cf.name) else str(exc))
            return None
        if memo_key is not None:
            ctx.values[memo_key] = (value, dtype)
    return Condition(field=cf.name, match=match, value=value, dtype=dtype, loc=ctx.loc(path))


def filter_id_of(ctx: TableContext, table: Mapping[str, Any], path: KeyPath) -> int | None:
    """The explicit id of a filter table, or None (errors reported)."""
    keys = [k for k in ("id", "filter_id") if k in table]
    if not keys:
        return None
    if len(keys) == 2:
        ctx.error((*path, "filter_id"), "give either id or filter_id, not both", value=False)
    raw = table[keys[0]]
    n = uint_from(raw, UINT64_MAX)
    if n is None or n == 0:
        ctx.error((*path, keys[0]), f"filter id must be a number 1..2**64-1, not {describe(raw)}")
        return None
    return n


def parse_filter(
    ctx: TableContext,
    table: Mapping[str, Any],
    path: KeyPath,
    sublayers: Mapping[str, Sublayer],
    callouts: Mapping[str, Callout],
    next_id: int,
) -> Filter | None:
    start = len(ctx.diags)
    if not isinstance(table, dict):
        ctx.error(path, f"a filter is a table, not {describe(table)}")
        return None
    check_keys(ctx, table, FILTER_KEYS, "[[filter]]", path)
    key = get_str(ctx, table, "key", path, required=True)
    name = get_str(ctx, table, "name", path) or ""
    description = get_str(ctx, table, "description", path) or ""
    provider = get_str(ctx, table, "provider", path)
    guid_text = get_str(ctx, table, "guid", path)
    guid: str | None = None
    if guid_text is not None:
        guid = normalize_guid(guid_text)
        if guid is None:
            ctx.error((*path, "guid"), f"not a GUID: {guid_text!r}")
    elif key is not None:
        guid = normalize_guid(key)

    layer: Layer | None = None
    layer_text = get_str(ctx, table, "layer", path, required=True)
    if layer_text is not None:
        try:
            layer = get_layer(layer_text)
        except UnknownNameError as exc:
            ctx.error((*path, "layer"), str(exc))

    action: ActionType | None = None
    action_text = get_str(ctx, table, "action", path, required=True)
    if action_text is not None:
        try:
            action = parse_action(action_text)
        except UnknownNameError as exc:
            ctx.error((*path, "action"), str(exc))

    sublayer = "UNIVERSAL"
    sub_text = get_str(ctx, table, "sublayer", path)
    if sub_text is not None:
        found = resolve_sublayer(sub_text, sublayers)
        if found is None:
            ctx.error(
                (*path, "sublayer"), f"unknown sublayer {sub_text!r}{suggest(sub_text, list(sublayers))}"
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
    callout_text = get_str(ctx, table, "callout", path)
    if callout_text is not None:
        found_c = resolve_callout(callout_text, callouts)
        if found_c is None:
            ctx.error(
                (*path, "callout"),
                f"unknown callout {callout_text!r}{suggest(callout_text, list(callouts))}",
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

    if known is not None and known.rules and layer is not None and action is not None and action.is_callout:
        _check_rule_fields(ctx, known, layer, key, path)
    if (known is not None and layer is not None and action is not None and action.is_callout
            and (flow_aware(known) or any(r.action in (PEND, REDIRECT) for r in known.rules))):
        _check_flow_features(ctx, known, layer, action, key, path)

    conditions: list[Condition] = []
    if "condition" in table:
        raw_conds = table["condition"]
        if isinstance(raw_conds, dict):
            ctx.error(
                (*path, "condition"),
                "condition must be a list of tables: condition = [ { field = ... }, ... ]",
            )
        elif not isinstance(raw_conds, list):
            ctx.error((*path, "condition"), f"condition must be a list of tables, not {describe(raw_conds)}")
        else:
            # Without a known layer the field check is skipped, but values still parse.
            for i, item in enumerate(raw_conds):
                c = parse_condition(ctx, item, (*path, "condition", i), layer if layer_text else None)
                if c is not None:
                    conditions.append(c)

    filter_id = filter_id_of(ctx, table, path)

    eff: int | None = None
    if "effective_weight" in table:
        raw_eff = table["effective_weight"]
        eff = uint_from(raw_eff, UINT64_MAX)
        if eff is None:
            ctx.error(
                (*path, "effective_weight"),
                f'effective_weight must be a UINT64 (int or "0x..."), not {describe(raw_eff)}',
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


#: Rule actions that need a terminating callout filter, and why.
_TERMINATING_RULES = {PEND: "the pended classification is FWP_ACTION_BLOCK",
                      REDIRECT: "a redirecting callout returns FWP_ACTION_PERMIT"}


def _check_flow_features(ctx: TableContext, callout: Callout, layer: Layer, action: ActionType, key: str | None,
                         path: KeyPath) -> None:
    """Flow context and byte counts only where Windows has them (issue 15): a flow handle
    (FWPS_METADATA_FIELD_FLOW_HANDLE, "Metadata fields at each filtering layer") for
    ``conditional_on_flow`` and ``when_flow_context``; ALE_FLOW_ESTABLISHED for
    ``flow_context`` (what wfptui models); STREAM for ``permit_bytes``;
    FWP_ACTION_CALLOUT_UNKNOWN for ``then = "drop_connection"`` (FWPS_STREAM_CALLOUT_IO_PACKET0:
    "should only set the streamAction member to this value if ... FWP_ACTION_CALLOUT_UNKNOWN")."""
    fam = layer_family(layer.name)
    where = f"at {layer.fwpm_name}, where filter {key!r} uses the callout"
    if callout.conditional_on_flow and fam not in FLOW_LAYER_FAMILIES:
        ctx.error((*path, "callout"), f"callout {callout.key!r} is conditional_on_flow "
                  f"(FWP_CALLOUT_FLAG_CONDITIONAL_ON_FLOW) but {layer.fwpm_name} carries no data flow", value=False)
    for i, rule in enumerate(callout.rules, 1):
        problems: list[str] = []
        if rule.flow_context is not None and layer.name not in ("ALE_FLOW_ESTABLISHED_V4", "ALE_FLOW_ESTABLISHED_V6"):
            problems.append("flow_context (FwpsFlowAssociateContext0) is modelled at FWPM_LAYER_ALE_FLOW_ESTABLISHED "
                            "only, not " + where)
        if rule.when_flow_context is not None and fam not in FLOW_LAYER_FAMILIES:
            problems.append(f"when_flow_context needs a layer with a data flow, not {where}")
        if rule.permit_bytes is not None and fam not in STREAM_FAMILIES:
            problems.append(f"permit_bytes counts stream data: FWPM_LAYER_STREAM_V4/V6 only, not {where}")
        if rule.action == REINJECT and fam not in REINJECT_FAMILIES:
            problems.append("reinject (clone, absorb, FwpsInjectTransportSendAsync0 / ReceiveAsync0) works at "
                            f"the transport and datagram-data layers, not {where}")
        if rule.action == REINJECT and action == ActionType.FWP_ACTION_CALLOUT_INSPECTION:
            problems.append(f"reinject needs a terminating callout filter (\"Types of Callouts\": "
                            f"FWP_ACTION_CALLOUT_TERMINATING), not callout_inspection (filter {key!r})")
        if rule.action == PEND and fam not in PEND_FAMILIES:
            # core.pend: FwpsPendOperation0 / FwpsCompleteOperation0 at the connect and accept authorizations
            problems.append("pend (FwpsPendOperation0) is modelled at FWPM_LAYER_ALE_AUTH_CONNECT and "
                            f"FWPM_LAYER_ALE_AUTH_RECV_ACCEPT only, not {where}")
        if rule.action in _TERMINATING_RULES:  # pend and redirect: what their callout must be
            if action == ActionType.FWP_ACTION_CALLOUT_INSPECTION:
                problems.append(f"{rule.action} needs a terminating callout filter ({_TERMINATING_RULES[rule.action]}), "
                                f"not callout_inspection (filter {key!r})")
            if flow_aware(callout):
                problems.append(f"{rule.action} is not modelled in a callout that also uses flow contexts, byte "
                                "counts or reinjection")
        if rule.action == REDIRECT and rule.target is not None:
            # core.redirect: "Layers Used for Redirection" (using-bind-or-connect-redirection)
            t = rule.target
            want = REDIRECT_FAMILIES[t.kind]
            key_word = "to" if t.kind == CONNECT else "local"
            if fam != want:
                problems.append(f"redirect {key_word} = ... rewrites at FWPM_LAYER_{want}_V4/V6 only, not {where}")
            elif (t.bits == 32) != layer.name.endswith("_V4"):
                problems.append(f"redirect {key_word} = {target_text(t)}: an IPv{4 if t.bits == 32 else 6} address "
                                f"{where}")
        if rule.then == DROP_CONNECTION and action != ActionType.FWP_ACTION_CALLOUT_UNKNOWN:
            problems.append(f"then = \"drop_connection\" (FWPS_STREAM_ACTION_DROP_CONNECTION) needs a "
                            f"callout_unknown filter, not {action.short} (filter {key!r})")
        for why in problems:
            msg = f"callout {callout.key!r} rule {i}: {why}"
            if rule.loc is not None and rule.loc.line:
                d = Diagnostic(rule.loc.file, rule.loc.line, rule.loc.col, msg)
                if d not in ctx.diags:
                    ctx.diags.append(d)
            else:
                ctx.error((*path, "callout"), msg, value=False)


def _check_rule_fields(ctx: TableContext, callout: Callout, layer: Layer, key: str | None, path: KeyPath) -> None:
    """Every field a rule of ``callout`` tests must exist at ``layer``, where filter ``key``
    uses it (issue 15): reported at the rule's condition (else at the filter's callout)."""
    for i, rule in enumerate(callout.rules, 1):
        for c in rule.conditions:
            if not layer.has_field(c.field):
                msg = (f"field {c.field} (callout {callout.key!r} rule {i}) is not available at {layer.fwpm_name}, "
                       f"where filter {key!r} uses the callout")
            else:
                # The rule was parsed without a layer: its value must also be one of this layer's
                # (an IPv4 address is not one at a _V6 layer), the same value the filter parser gives.
                try:
                    exact = parse_value(c.field, layer, c.match, condition_toml(c.field, None, c.match, c.value, c.dtype))
                except (ValueParseError, UnknownNameError) as exc:
                    exact = None
                    why = str(exc)
                else:
                    why = "it means something else there"
                if exact is not None and exact[0] == c.value:
                    continue
                msg = (f"callout {callout.key!r} rule {i}: {why}, at {layer.fwpm_name} where filter {key!r} uses "
                       f"the callout")
            if c.loc is not None and c.loc.line:
                d = Diagnostic(c.loc.file, c.loc.line, c.loc.col, msg)
                if d not in ctx.diags:
                    ctx.diags.append(d)
            else:
                ctx.error((*path, "callout"), msg)


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
    ctx = TableContext(filename, locator)
    f = parse_filter(ctx, table, tuple(path_prefix), sublayers, callouts, next_id)
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
    ctx = TableContext(filename, locator)
    prefix = tuple(path_prefix)
    scratch = TableContext(filename, locator)
    taken = {f.filter_id for f in policy.filters}
    for i, t in enumerate(tables):
        n = filter_id_of(scratch, t, (*prefix, i)) if isinstance(t, Mapping) else None
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
            ctx.error(path, f"a filter is a table, not {describe(t)}")
            continue
        key = t.get("key")
        if isinstance(key, str):
            if key in seen:
                line, _ = ctx.pos(seen[key])
                ctx.error((*path, "key"), f"duplicate filter key {key!r} (first at line {line})")
            else:
                seen[key] = path
        has_id = filter_id_of(scratch, t, path) is not None
        f = parse_filter(ctx, t, path, sublayers, callouts, next_id)
        if not has_id:
            next_id += 1
        if f is not None:
            out.append(f)
    ctx.raise_if_any()
    return tuple(out)
