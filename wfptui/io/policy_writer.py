"""The one policy TOML writer: :class:`~wfptui.core.model.Policy` → policy file text (spec §3).

Every policy file wfptui writes comes from :func:`dump_policy`: recordings' stored
policies (``io.recording``), the TUI's editor, ``wfptui import`` and the capture TUI's
``CAPTURE.policy.toml`` (``io.netsh_xml`` hands over the imported policy with its header
and per-object notes). ``io.policy_file.parse_policy`` reads the text back to equal
sublayers, callouts and filters.

Rules (one set for every caller):

* Built-in sublayers and callouts are written only when they differ from ``core.builtins``.
* A filter writes ``sublayer`` only when it is not ``UNIVERSAL``, ``effective_weight`` only
  when it differs from ``core.weights.effective_weight`` (an imported filter keeps Windows'
  own value that way), ``id`` when it has one (an imported filter without a filterId has
  id 0, which no file can say: it gets the next free id on load), ``guid`` when it is not
  the key itself.
* Condition values: :func:`condition_toml` -- ``core.values.toml_value``, except an
  allow-only security descriptor whose SDDL the loader refuses (longer than
  ``core.values`` accepts; the Windows Service Hardening defaults reach ~4,300 characters)
  is written as the list of SIDs it grants FWP_ACTRL_MATCH_FILTER to: the same access
  check (§4.2).
* Comments: ``header_comment`` first; ``notes[key]`` above the sublayer, callout or filter
  with that key; an assumed callout without notes gets a line saying its behaviour was
  assumed.

API: ``dump_policy(policy, *, header_comment="", notes=None) -> str``,
``condition_toml(field, layer, match, value, dtype) -> object``, ``toml_str(text)``,
``toml_literal(value)``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from wfptui.core.datatypes import DataType
from wfptui.core.fields import normalize_guid
from wfptui.core.layers import Layer, get_layer
from wfptui.core.model import (
    FWP_ACTRL_MATCH_FILTER,
    CalloutRule,
    Condition,
    Filter,
    FilterFlag,
    MatchType,
    Policy,
    SecurityDescriptor,
    Value,
    Weight,
)
from wfptui.core.outcome import target_text
from wfptui.core.values import ValueParseError, parse_value, toml_value
from wfptui.core.weights import effective_weight as compute_effective_weight
from wfptui.io.policy_tables import INT64_MAX, builtin_objects

__all__ = ["condition_toml", "dump_policy", "granted_sids", "toml_literal", "toml_str"]

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


#: Characters a basic TOML string must escape (the rest are written as they are).
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f\x7f]')
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def toml_str(text: str) -> str:
    """A TOML string: '...' for Windows paths and SDDL (readable, no escapes needed), else "..."."""
    if _NEEDS_ESCAPE.search(text) is None:  # most names and keys: nothing to escape
        return f'"{text}"'
    if "\\" in text and "'" not in text and _CONTROL.search(text) is None:
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


def _toml_key(k: str) -> str:
    return k if _BARE_KEY.match(k) else toml_str(k)


def toml_literal(v: object) -> str:
    """One TOML value (inline form) for str, int, float (finite), bool, list, dict."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        if not -(1 << 63) <= v <= INT64_MAX:
            return toml_str(hex(v))
        return str(v)
    if isinstance(v, str):
        return toml_str(v)
    if isinstance(v, float) and v == v and v not in (float("inf"), float("-inf")):
        return repr(v)  # Python's shortest repr reads back to the same float (1e-07 and 0.5 are TOML)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(toml_literal(x) for x in v) + "]"
    if isinstance(v, dict):
        if not v:
            return "{}"
        return "{ " + ", ".join(f"{_toml_key(str(k))} = {toml_literal(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def _comment(text: str | Sequence[str]) -> list[str]:
    lines = text.splitlines() if isinstance(text, str) else [p for line in text for p in line.splitlines() or [""]]
    return [("# " + line).rstrip() for line in lines] or ["#"]


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


def granted_sids(sd: SecurityDescriptor) -> list[str] | None:
    """The SIDs an allow-only descriptor grants FWP_ACTRL_MATCH_FILTER to (in DACL order), or
    None when it has a deny ACE, no DACL, or grants the right to no one: then no SID list
    gives the same access check (§4.2)."""
    if sd.dacl is None or not sd.dacl or not all(a.allow for a in sd.dacl):
        return None
    sids = list(dict.fromkeys(a.sid for a in sd.dacl if a.mask & FWP_ACTRL_MATCH_FILTER))
    return sids or None


def condition_toml(field: str, layer: Layer | None, match: MatchType, value: Value, dtype: DataType) -> object:
    """The TOML form of one condition value (module docstring). Raises ValueParseError for a
    value no spelling reproduces."""
    raw = toml_value(value, dtype, field, layer)
    if isinstance(value, SecurityDescriptor):
        try:  # the loader bounds string lengths: an SDDL it refuses is written as SIDs
            parse_value(field, layer, match, raw)
        except ValueParseError:
            sids = granted_sids(value)
            if sids is not None:
                return sids
    return raw


def dump_policy(
    policy: Policy, *, header_comment: str = "", notes: Mapping[str, Sequence[str]] | None = None
) -> str:
    """A policy file that ``parse_policy`` reads back to the same objects (module docstring).

    ``notes`` maps a sublayer, callout or filter key to comment lines written above it."""
    notes = notes or {}
    lines: list[str] = []
    if header_comment:
        lines += _comment(header_comment)
        lines.append("")
    default_subs, default_callouts = builtin_objects()

    for s in policy.sublayers.values():
        if s.builtin and default_subs.get(s.key) == s:
            continue
        if s.key in notes:
            lines += _comment(notes[s.key])
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
        if c.key in notes:
            lines += _comment(notes[c.key])
        elif c.assumed:
            lines.append(
                "# behaviour assumed: the simulator cannot know what this callout does; edit returns"
            )
        lines.append("[[callout]]")
        lines.append(f"key = {toml_literal(c.key)}")
        # with rules, returns is the default result (issue 15): written under that name
        lines.append(f"{'default' if c.rules else 'returns'} = {toml_literal(c.returns)}")
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
        if c.conditional_on_flow:
            lines.append("conditional_on_flow = true")
        if c.builtin:
            cbase = default_callouts.get(c.key)
            if cbase is not None and c.name != cbase.name:
                lines.append(f"name = {toml_literal(c.name)}")
        else:
            if c.name:
                lines.append(f"name = {toml_literal(c.name)}")
            if c.guid and c.guid != normalize_guid(c.key):
                lines.append(f"guid = {toml_literal(c.guid)}")
        for rule in c.rules:
            lines.append("")
            lines += _dump_rule(rule)
        lines.append("")

    for f in policy.filters:
        if f.key in notes:
            lines += _comment(notes[f.key])
        lines += _dump_filter(f)
        lines.append("")
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


def _conditions_toml(conditions: Sequence[Condition], layer: Layer | None) -> list[str]:
    out = ["condition = ["]
    for c in conditions:
        value = condition_toml(c.field, layer, c.match, c.value, c.dtype)
        out.append(
            f"  {{ field = {toml_literal(c.field)}, match = {toml_literal(c.match.short)}, "
            f"value = {toml_literal(value)} }},"
        )
    out.append("]")
    return out


def _dump_rule(rule: CalloutRule) -> list[str]:
    """One ``[[callout.rule]]`` (issue 15); its conditions as a filter's, parsed without a layer."""
    out = ["[[callout.rule]]"]
    if rule.conditions:
        out += _conditions_toml(rule.conditions, None)
    if rule.permit_bytes is not None:  # its action is implied (permit, then `then`)
        out.append(f"permit_bytes = {rule.permit_bytes}")
        out.append(f"then = {toml_literal(rule.then or 'block')}")
    else:
        out.append(f"action = {toml_literal(rule.action)}")
    if rule.target is not None:  # a redirect rule (core.redirect)
        out.append(f"{'to' if rule.target.kind == 'connect' else 'local'} = {toml_literal(target_text(rule.target))}")
    if rule.complete_after is not None:  # a pend rule (core.pend)
        out.append(f"complete_after = {toml_literal(rule.complete_after)}")
        out.append(f"then = {toml_literal(rule.then or 'permit')}")
    if rule.hard is not None:
        out.append(f"hard = {toml_literal(rule.hard)}")
    if rule.when_flow_context is not None:
        out.append(f"when_flow_context = {toml_literal(rule.when_flow_context)}")
    if rule.flow_context is not None:
        out.append(f"flow_context = {toml_literal(rule.flow_context)}")
    if rule.flow_context_callout is not None:
        out.append(f"flow_context_callout = {toml_literal(rule.flow_context_callout)}")
    return out


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
    if f.filter_id:
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
        out += _conditions_toml(f.conditions, layer)
    return out
