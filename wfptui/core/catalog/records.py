"""The record types of the WFP catalogue: condition fields and layers (hand-written).

The generated tables ``layer_table.py`` / ``field_table.py`` are built from these types, so
they live here rather than in ``wfptui.core.layers`` / ``wfptui.core.fields`` (which import
those tables and re-export these names). ``FIELD_ALIASES`` is here because ``Layer.field``
resolves aliases.

This module reads no files and imports only the standard library and ``wfptui.core``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from wfptui.core.datatypes import DataType, WinVersion

__all__ = ["FIELD_ALIASES", "ConditionField", "Layer", "LayerField", "index_layers"]


#: Names that fwpmu.h only ``#define``s to another field (same GUID), short form.
#: ALE_REAUTH_REASON is *not* here: it has its own GUID (§4.4) and is a real field.
FIELD_ALIASES: dict[str, str] = {
    "ICMP_TYPE": "IP_LOCAL_PORT",  # §2.4
    "ICMP_CODE": "IP_REMOTE_PORT",  # §2.4
    "LOCAL_INTERFACE_INDEX": "INTERFACE_INDEX",
    "ARRIVAL_SUB_INTERFACE_INDEX": "SUB_INTERFACE_INDEX",
    "LOCAL_INTERFACE_TYPE": "INTERFACE_TYPE",
    "LOCAL_TUNNEL_TYPE": "TUNNEL_TYPE",
    "INTERFACE": "IP_LOCAL_INTERFACE",
    "VSWITCH_ICMP_TYPE": "IP_SOURCE_PORT",
    "VSWITCH_ICMP_CODE": "IP_DESTINATION_PORT",
    "ALE_SIO_FIREWALL_SOCKET_PROPERTY": "ALE_SIO_FIREWALL_SYSTEM_PORT",
}


@dataclass(frozen=True, slots=True)
class ConditionField:
    """One FWPM_CONDITION_* field (wfp-model.md §4.4).

    ``dtype`` is the usual classified type; for address fields it is the IPv4 flavour
    (FWP_UINT32) -- the per-layer type is ``LayerField.dtype`` (V6 layers: BYTE_ARRAY16).
    ``kind`` is the FWPM_FIELD_TYPE the dump reports: "raw", "ip_address" or "flags".
    ``guid`` is lower case without braces (None would mean "not in public headers read";
    every field currently has one).
    """

    name: str
    guid: str | None
    dtype: DataType
    kind: str
    doc: str

    @property
    def fwpm_name(self) -> str:
        """``FWPM_CONDITION_`` + name."""
        return "FWPM_CONDITION_" + self.name


@dataclass(frozen=True, slots=True)
class LayerField:
    """A condition field as classified at one layer (one ``<field>`` item of the dump).

    ``dtype`` is the type at this layer (V6 addresses are FWP_BYTE_ARRAY16_TYPE);
    ``kind`` is FWPM_FIELD_RAW_DATA / _IP_ADDRESS / _FLAGS as "raw" / "ip_address" / "flags".
    """

    name: str
    dtype: DataType
    kind: str


@dataclass(frozen=True, slots=True)
class Layer:
    """One built-in layer (wfp-model.md §1.2, §1.4; fields §4.7).

    ``discard_twin``: for a normal layer, the short name of its ``_DISCARD`` layer if there
    is one (every Vista packet/ALE layer 0-55); for a discard layer, the layer it mirrors.
    ``direction`` is "inbound", "outbound", "both", "forward" or "none" (bind, release,
    closure, name cache, user-mode layers).
    """

    name: str
    guid: str
    layer_id: int
    ip_version: int | None
    direction: str
    is_discard: bool
    discard_twin: str | None
    is_ale: bool
    since: WinVersion
    user_mode: bool
    display_name: str
    fields: tuple[LayerField, ...]

    @property
    def fwpm_name(self) -> str:
        """``FWPM_LAYER_`` + name (management identifier, a GUID in fwpmu.h)."""
        return "FWPM_LAYER_" + self.name

    @property
    def fwps_name(self) -> str:
        """``FWPS_LAYER_`` + name (run-time identifier, FWPS_BUILTIN_LAYERS)."""
        return "FWPS_LAYER_" + self.name

    @property
    def field_names(self) -> tuple[str, ...]:
        """The names of ``fields``, in dump order."""
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> LayerField | None:
        """The field ``name`` at this layer, or None. ``#define`` aliases (ICMP_TYPE ...) resolve."""
        cached = _FIELD_INDEX.get(self.layer_id)
        if cached is not None and cached[0] is self:
            index = cached[1]
        else:
            # A Layer built outside the catalogue (tests, imports): index it on the fly.
            index = {f.name: f for f in self.fields}
        found = index.get(name)
        if found is None and name in FIELD_ALIASES:
            found = index.get(FIELD_ALIASES[name])
        return found

    def has_field(self, name: str) -> bool:
        """Whether ``name`` (or the field it is an alias of) is classifiable at this layer."""
        return self.field(name) is not None


# Layer.field's per-layer indexes, keyed by run-time id; filled for the catalogue's layers by
# ``index_layers`` (called once by wfptui.core.layers when it loads the table).
_FIELD_INDEX: dict[int, tuple[Layer, dict[str, LayerField]]] = {}


def index_layers(layers: Iterable[Layer]) -> None:
    """Build ``Layer.field``'s lookup index for ``layers`` (others are indexed on each call)."""
    for layer in layers:
        _FIELD_INDEX[layer.layer_id] = (layer, {f.name: f for f in layer.fields})
