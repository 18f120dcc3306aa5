"""The walk over a netsh XML dump: ``netsh wfp show filters`` / ``netsh wfp show state``
sections, filters, sublayers, callouts and their registration → model objects
(wfp-model.md §5.7).

:class:`DumpImporter` reads the structure; values and diagnostics come from
:class:`io.netsh_values.ValueReader`, the XML from ``io.safe_xml``. ``io.netsh_import`` drives it
and builds the :class:`ImportResult`; the decisions (keys, assumed callouts, unregistered
callouts, sublayer weights) are described in ``io.netsh_xml``, the public face of the importer.
Split from io/netsh_import.py (issue 13 item 1).
"""

from __future__ import annotations

from wfptui.core.datatypes import DataType
from wfptui.core.model import ActionType, Callout, Condition, Filter, SourceLoc, Sublayer, Weight
from wfptui.io.errors import Diagnostic, InputError
from wfptui.io.netsh_values import BadValue, Unsupported, ValueReader, ident_of, norm_guid, parse_int, slug
from wfptui.io.safe_xml import XmlNode

__all__ = ["DumpImporter"]

#: Children of elements the importer reads; anything else is reported.
_FILTER_CHILDREN = frozenset({"filterKey", "displayData", "flags", "providerKey", "providerData", "layerKey",
    "subLayerKey", "weight", "filterCondition", "action", "rawContext", "providerContextKey", "reserved",
    "filterId", "effectiveWeight"})
_CALLOUT_CHILDREN = frozenset({"calloutKey", "displayData", "flags", "providerKey", "providerData",
    "applicableLayer", "calloutId", "providerContextKey"})
_SUBLAYER_CHILDREN = frozenset({"subLayerKey", "displayData", "flags", "providerKey", "providerData", "weight"})
_LAYER_ITEM_CHILDREN = frozenset({"layer", "callouts", "filters"})
_LAYER_CHILDREN = frozenset({"layerKey", "displayData", "flags", "field", "defaultSubLayerKey", "layerId"})
_PROVIDER_CHILDREN = frozenset({"providerKey", "displayData", "flags", "providerData", "serviceName"})
#: ``<wfpstate>`` sections that are not filter policy: known, read no further.
_STATE_IGNORED = frozenset({"timeStamp", "sessions", "providerContexts", "subscriptions", "ipsecSaContexts",
    "aleConnectedEndpoints", "ipsecStatistics"})
_STATE_READ = frozenset({"layers", "subLayers", "providers"})
#: ``<wfpdiag>`` sections of ``show filters`` (and of ``wfpdiag.xml``) not read.
_WFPDIAG_IGNORED = frozenset({"netEvents", "wfpstate", "timeStamp"})
_WFPDIAG_READ = frozenset({"filters", "providers"})


# ----------------------------------------------------------------------------- importer


class DumpImporter(ValueReader):
    """The structure of a dump; values and diagnostics: :class:`ValueReader`."""

    def __init__(self, filename: str) -> None:
        super().__init__(filename)
        self.dropped: list[tuple[str, str]] = []
        self.notes: dict[str, list[str]] = {}
        self.sublayers: dict[str, Sublayer] = {}  # non-built-in, by key
        self.callouts: dict[str, Callout] = {}  # non-built-in, by key
        self.callout_names: dict[str, str] = {}  # guid/name -> display name (state)
        self.callout_layers: dict[str, set[str]] = {}
        self.registered: set[str] | None = None  # state: callout idents with REGISTERED
        self.listed: dict[str, None] | None = None  # state: callout idents listed at all (ordered)
        self.sublayer_info: dict[str, tuple[int, str, XmlNode]] = {}  # state: ident -> (weight, name, node)
        self.builtin_callouts_used: dict[str, int] = {}
        self.keys: set[str] = set()

    # -- top level

    def run(self, root: XmlNode, trailing: list[XmlNode]) -> tuple[str, list[tuple[XmlNode, str | None]]]:
        """Returns the kind and the filter items (with the layer of their state section)."""
        items: list[tuple[XmlNode, str | None]] = []
        if root.tag == "wfpdiag":
            kind = "filters"
            filters = root.child("filters")
            if filters is None:
                raise InputError(
                    Diagnostic(
                        self.filename,
                        root.line,
                        root.col,
                        "<wfpdiag> has no <filters>: not `netsh wfp show filters` output "
                        "(netevents / wfpdiag captures are not policy)",
                    )
                )
            for sec in root.children:
                if sec.tag == "providers":
                    self.read_providers(sec)
                elif sec.tag not in _WFPDIAG_READ and sec.tag not in _WFPDIAG_IGNORED:
                    self.warn(sec, f"unknown element <{sec.tag}> in <wfpdiag> ignored")
                elif sec.tag in _WFPDIAG_IGNORED:
                    self.warn(sec, f"<{sec.tag}> in <wfpdiag> is not filter policy: ignored")
            self.check_count(filters)
            for it in filters.children:
                if it.tag != "item":
                    self.warn(it, f"unknown element <{it.tag}> in <filters> ignored")
                    continue
                items.append((it, None))
        elif root.tag == "wfpstate":
            kind = "state"
            self.registered = set()
            self.listed = {}
            layers = root.child("layers")
            if layers is None:
                raise InputError(
                    Diagnostic(self.filename, root.line, root.col, "<wfpstate> has no <layers>: no filters to import")
                )
            for sec in root.children:
                if sec.tag in _STATE_IGNORED:
                    continue
                if sec.tag == "subLayers":
                    self.read_state_sublayers(sec)
                elif sec.tag == "providers":
                    self.read_providers(sec)
                elif sec.tag not in _STATE_READ:
                    self.warn(sec, f"unknown element <{sec.tag}> in <wfpstate> ignored")
            self.check_count(layers)
            for li in layers.children:
                if li.tag != "item":
                    self.warn(li, f"unknown element <{li.tag}> in <layers> ignored")
                    continue
                items.extend(self.read_state_layer(li))
            self.declare_state_objects()
            for t in trailing:
                for c in t.children:
                    if c.tag != "dynamicKeywordAddresses":
                        self.warn(c, f"unknown element <{c.tag}> in <firewallState> ignored")
                    elif c.children:
                        self.warn(c, "dynamic keyword addresses are not modelled: ignored")
        else:
            raise InputError(
                Diagnostic(
                    self.filename,
                    root.line,
                    root.col,
                    f"root element <{root.tag}> is neither <wfpdiag> (`netsh wfp show filters`) "
                    "nor <wfpstate> (`netsh wfp show state`)",
                )
            )
        return kind, items

    def read_providers(self, sec: XmlNode) -> None:
        for it in sec.children:
            if it.tag != "item":
                self.warn(it, f"unknown element <{it.tag}> in <providers> ignored")
                continue
            self.check_children(it, _PROVIDER_CHILDREN, "a provider")

    def read_state_sublayers(self, sec: XmlNode) -> None:
        self.check_count(sec)
        for it in sec.children:
            if it.tag != "item":
                self.warn(it, f"unknown element <{it.tag}> in <subLayers> ignored")
                continue
            self.check_children(it, _SUBLAYER_CHILDREN, "a sublayer")
            key = it.child_text("subLayerKey")
            wt = it.child("weight")
            if not key or wt is None:
                self.error(it, "sublayer item without <subLayerKey> or <weight>")
                continue
            try:
                weight = parse_int(wt, wt.text, 16)
            except BadValue as b:
                self.error(b.node, b.message)
                continue
            dd = it.child("displayData")
            name = (dd.child_text("name") or "") if dd is not None else ""
            self.sublayer_info[ident_of(key)] = (weight, name, it)

    def read_state_layer(self, li: XmlNode) -> list[tuple[XmlNode, str | None]]:
        self.check_children(li, _LAYER_ITEM_CHILDREN, "a layer item")
        layer = li.child("layer")
        layer_key = None
        if layer is not None:
            self.check_children(layer, _LAYER_CHILDREN, "a layer")
            layer_key = layer.child_text("layerKey")
        callouts = li.child("callouts")
        if callouts is not None:
            self.check_count(callouts)
            for c in callouts.children:
                if c.tag != "item":
                    self.warn(c, f"unknown element <{c.tag}> in <callouts> ignored")
                    continue
                self.check_children(c, _CALLOUT_CHILDREN, "a callout")
                ck = c.child_text("calloutKey")
                if not ck:
                    self.error(c, "callout item without <calloutKey>")
                    continue
                ident = ident_of(ck)
                assert self.listed is not None and self.registered is not None
                self.listed[ident] = None
                flags = c.child("flags")
                flag_names = [f.text.strip() for f in flags.children] if flags is not None else []
                if "FWPM_CALLOUT_FLAG_REGISTERED" in flag_names:
                    self.registered.add(ident)
                dd = c.child("displayData")
                if dd is not None:
                    self.callout_names[ident] = dd.child_text("name") or ""
                if layer_key:
                    self.callout_layers.setdefault(ident, set()).add(layer_key)
        out: list[tuple[XmlNode, str | None]] = []
        filters = li.child("filters")
        if filters is not None:
            self.check_count(filters)
            for it in filters.children:
                if it.tag != "item":
                    self.warn(it, f"unknown element <{it.tag}> in <filters> ignored")
                    continue
                out.append((it, layer_key))
        return out

    # -- sublayers and callouts

    def declare_state_objects(self) -> None:
        """A state dump's own sublayers (with weights) and every callout its layers list.

        Built-ins are only written when the dump disagrees with the built-in model: another
        sublayer weight, or a callout that is not registered."""
        from wfptui.core.builtins import get_callout, get_sublayer

        for ident, (weight, name, node) in self.sublayer_info.items():
            b = get_sublayer(ident)
            if b is not None:
                if weight != b.weight:
                    self.sublayers[b.name] = Sublayer(
                        key=b.name, weight=weight, guid=b.guid, name=b.fwpm_name, builtin=True
                    )
                    self.notes[b.name] = [
                        f"the state dump gives built-in sublayer {b.name} weight {weight} (the built-in model says {b.weight})"
                    ]
                continue
            self.sublayers[ident] = Sublayer(
                key=ident, weight=weight, guid=norm_guid(ident), name=name,
                loc=SourceLoc(self.filename, node.line, node.col),
            )
            self.notes[ident] = [f"from the state dump: weight {weight}"]
        assert self.listed is not None and self.registered is not None
        for ident in self.listed:
            bc = get_callout(ident)
            if bc is not None:
                if ident not in self.registered:
                    self._unregistered_builtin(bc.name, ident)
                continue
            self._new_callout(ident)

    def _unregistered_builtin(self, name: str, ident: str) -> None:
        from wfptui.io.policy_file import builtin_objects

        if name in self.callouts:
            return
        base = builtin_objects()[1][name]
        self.callouts[name] = Callout(
            key=name, returns="unregistered", hard=base.hard, silent=base.silent, guid=base.guid,
            name=base.name, builtin=True,
        )
        self.notes[name] = [
            f"built-in callout {name} is UNREGISTERED in the state dump ({self._why_unregistered(ident)}):",
            "its terminating/unknown filters block (or permit with permit_if_callout_unregistered), "
            "its inspection filters are ignored (§3.4)",
        ]

    def _why_unregistered(self, ident: str) -> str:
        assert self.listed is not None
        if ident in self.listed:
            return "listed without FWPM_CALLOUT_FLAG_REGISTERED"
        return "absent from every layer's <callouts> list"

    def _new_callout(self, ident: str) -> str:
        if ident in self.callouts:
            return ident
        name = self.callout_names.get(ident, "")
        registered = self.registered is None or ident in self.registered
        if registered:
            self.callouts[ident] = Callout(key=ident, returns="continue", guid=norm_guid(ident), name=name, assumed=True)
            self.notes[ident] = [
                "ASSUMED behaviour: the simulator cannot know what this callout's classifyFn does;",
                "\"continue\" makes its filters act as if absent. Edit returns = permit | block | continue.",
            ]
            if self.registered is None:
                self.notes[ident].append("registration unknown (`show filters` dump): assumed registered")
            else:
                layers = sorted(self.callout_layers.get(ident, ()))
                if layers:
                    self.notes[ident].append("registered at " + ", ".join(layers))
        else:
            self.callouts[ident] = Callout(
                key=ident, returns="unregistered", guid=norm_guid(ident), name=name, assumed=False
            )
            self.notes[ident] = [
                f"UNREGISTERED in the state dump ({self._why_unregistered(ident)}): its terminating/unknown",
                "filters block (or permit with permit_if_callout_unregistered); its inspection filters are ignored (§3.4)",
            ]
        return ident

    def sublayer_key(self, node: XmlNode, text: str) -> str:
        from wfptui.core.builtins import get_sublayer

        ident = ident_of(text)
        if not ident or ident == "00000000-0000-0000-0000-000000000000":
            return "UNIVERSAL"  # §3.1: an all-zero subLayerKey means the layer's default sublayer
        b = get_sublayer(ident)
        if b is not None:
            return b.name
        if ident in self.sublayers:
            return ident
        self.sublayers[ident] = Sublayer(key=ident, weight=0, guid=norm_guid(ident), name="")
        if self.registered is None:
            why = "a `show filters` dump has no sublayer weights"
        else:
            why = "this sublayer is not listed in the dump's <subLayers>"
        self.notes[ident] = [
            f"ASSUMED weight 0 (evaluated last): {why}; edit it, or import `netsh wfp show state` for the real weight"
        ]
        return ident

    def callout_key(self, node: XmlNode, text: str) -> str:
        from wfptui.core.builtins import get_callout

        ident = ident_of(text)
        b = get_callout(ident)
        if b is not None:
            self.builtin_callouts_used[b.name] = self.builtin_callouts_used.get(b.name, 0) + 1
            if self.registered is not None and ident not in self.registered:
                self._unregistered_builtin(b.name, ident)
            return b.name
        return self._new_callout(ident)

    def unique_key(self, base: str) -> str:
        key = base
        n = 2
        while key in self.keys:
            key = f"{base}-{n}"
            n += 1
        self.keys.add(key)
        return key

    def read_filter(self, it: XmlNode, section_layer: str | None) -> Filter | None:
        self.check_children(it, _FILTER_CHILDREN, "a filter")
        fkey_text = it.child_text("filterKey") or ""
        dd = it.child("displayData")
        name = description = ""
        if dd is not None:
            self.check_children(dd, frozenset({"name", "description"}), "displayData")
            n, d = dd.child("name"), dd.child("description")
            name = n.text if n is not None else ""
            description = d.text if d is not None else ""
        fid_node = it.child("filterId")
        filter_id = 0
        if fid_node is not None:
            filter_id = parse_int(fid_node, fid_node.text, 64)
        guid = norm_guid(fkey_text)
        base = slug(name) or "filter"
        if filter_id:
            base = f"{base}-{filter_id}"
        elif guid is not None:
            base = f"{base}-{guid[:8]}"
        key = self.unique_key(base)
        where = f"filter {key}"

        # layer
        layer_text = it.child_text("layerKey") or section_layer
        if not layer_text:
            raise BadValue(it, f"{where}: no <layerKey>")
        from wfptui.core.layers import get_layer

        try:
            layer = get_layer(layer_text)
        except KeyError:
            raise Unsupported(it.child("layerKey") or it, f"{where}: unknown layer {layer_text!r}") from None
        if section_layer and it.child_text("layerKey") and ident_of(section_layer) != ident_of(layer_text):
            self.warn(it, f"{where}: layerKey {layer_text} differs from its <layers> section {section_layer}")

        # sublayer
        sl_node = it.child("subLayerKey")
        sublayer = self.sublayer_key(sl_node or it, sl_node.text if sl_node is not None else "")

        # weight and effective weight
        weight = Weight(DataType.FWP_EMPTY)
        w = it.child("weight")
        if w is not None:
            weight = self.read_weight(w, where)
        eff: int | None = None  # None: computed below, once the conditions are known
        ew = it.child("effectiveWeight")
        if ew is not None:
            self.check_children(ew, frozenset({"type", "uint64"}), "effectiveWeight")
            v = ew.child("uint64")
            if v is not None:
                eff = parse_int(v, v.text, 64)
            else:
                raise BadValue(ew, f"{where}: <effectiveWeight> without <uint64>")
        else:
            self.warn(it, f"{where}: no <effectiveWeight>; computed from the weight (core.weights, approximate)")

        # flags
        flags = 0
        fl = it.child("flags")
        flag_notes: list[str] = []
        if fl is not None:
            self.check_count(fl)
            for f in fl.children:
                if f.tag != "item":
                    self.warn(f, f"unknown element <{f.tag}> in <flags> of {where} ignored")
                    continue
                flags |= self.read_filter_flag(f, where, flag_notes)

        # provider
        provider = None
        pk = it.child_text("providerKey")
        if pk:
            provider = ident_of(pk)
        pd = it.child("providerData")
        if pd is not None:
            self.check_children(pd, frozenset({"data", "asString"}), "providerData")

        # conditions
        conds: list[Condition] = []
        self.cond_notes = []
        fc = it.child("filterCondition")
        if fc is not None:
            self.check_count(fc)
            for ci in fc.children:
                if ci.tag != "item":
                    self.warn(ci, f"unknown element <{ci.tag}> in <filterCondition> of {where} ignored")
                    continue
                conds.append(self.read_condition(ci, layer, where))

        # action
        act = it.child("action")
        if act is None:
            raise BadValue(it, f"{where}: no <action>")
        self.check_children(act, frozenset({"type", "filterType", "calloutKey"}), "action")
        at = act.child_text("type") or ""
        try:
            action = ActionType[at.upper()] if at.upper().startswith("FWP_ACTION_") else ActionType["FWP_ACTION_" + at.upper()]
        except KeyError:
            raise Unsupported(act.child("type") or act, f"{where}: unknown action type {at!r}") from None
        callout = None
        ft_text = act.child_text("filterType") or act.child_text("calloutKey") or ""
        if action.is_callout:
            if not ft_text:
                raise BadValue(act, f"{where}: callout action {at} without a callout (<filterType>)")
            callout = self.callout_key(act, ft_text)
        elif ft_text:
            self.notes.setdefault(key, []).append(f"action filterType {ft_text} (not a callout action) not modelled")
            self.warn(act, f"{where}: filterType {ft_text} on a {at} action ignored")

        if eff is None:
            from wfptui.core.weights import effective_weight

            eff = effective_weight(weight, conds)
        if flag_notes or self.cond_notes:
            self.notes.setdefault(key, []).extend(flag_notes + self.cond_notes)
        return Filter(
            key=key,
            layer=layer.name,
            action=action,
            sublayer=sublayer,
            weight=weight,
            effective_weight=eff,
            conditions=tuple(conds),
            flags=flags,
            callout=callout,
            filter_id=filter_id,
            name=name,
            description=description,
            provider=provider,
            guid=guid,
            loc=SourceLoc(self.filename, it.line, it.col),
        )
