"""The 99 built-in WFP layers of Windows 11, with the fields classifiable at each.

Sources (wfp-model.md §1): run-time ids, display names and per-layer field lists are the
``<layers>`` section of a real Windows 11 ``netsh wfp show state`` dump (authoritative:
e.g. ALE_AUTH_RECV_ACCEPT_V6_DISCARD lacks RESERVED0-3, §4.7); GUIDs, first Windows version
and direction are the §1.2 / §1.4 tables. The ``LAYERS`` tuple is the whole generated module
``wfptui/core/catalog/layer_table.py``, written by ``tools/gen_catalog.py`` (do not edit it
by hand); the ``Layer`` / ``LayerField`` records are in ``wfptui/core/catalog/records.py``.

Naming (§1.1): ``FWPM_LAYER_<NAME>`` is the management GUID, ``FWPS_LAYER_<NAME>`` the
run-time id; this module keys layers by the shared short ``<NAME>``. Run-time ids 83/84,
"ALE Accept Redirect v4/v6", have no public FWPM name: they are called
``ALE_ACCEPT_REDIRECT_V4`` / ``_V6`` here (their ``fwpm_name`` is therefore not a real
header symbol).

Derived values (marked [derived] in the reference sense):

* ``direction``: §1.2 "Dir" column; for the §1.4 layers it is read from the name
  (INBOUND/INGRESS/ACCEPT_REDIRECT -> inbound, OUTBOUND/EGRESS -> outbound, else none).
* ``since`` for the two Accept Redirect layers is unknown in the reference ("?"); WIN11 is
  used because their built-in callouts are guarded by NTDDI_WIN10_FE (Win11-era SDK).
* ``is_ale``: the name starts with ``ALE_`` (so the Accept Redirect layers count as ALE).
* ``ip_version``: the ``_V4`` / ``_V6`` suffix; None for MAC, vSwitch Ethernet, the *_FAST
  layers, RPC and KM_AUTHORIZATION (INBOUND_TRANSPORT_FAST's display name says "v4" but its
  name does not, and it has no fields).
* ``user_mode``: the dump's layer flags lack FWPM_LAYER_FLAG_KERNEL (IPsec, IKE, RPC,
  KM_AUTHORIZATION; §1.1).

This module reads no files and imports only the standard library and ``wfptui.core``.
"""

from __future__ import annotations

import re

from wfptui.core.catalog.layer_table import LAYERS
from wfptui.core.catalog.records import Layer, LayerField, index_layers
from wfptui.core.fields import UnknownNameError, normalize_guid, suggest

__all__ = ["LAYERS", "Layer", "LayerField", "UnknownNameError", "get_layer", "layer_by_id"]



# Lookup tables, built once at import.
index_layers(LAYERS)
_BY_NAME: dict[str, Layer] = {layer.name: layer for layer in LAYERS}
_BY_GUID: dict[str, Layer] = {layer.guid: layer for layer in LAYERS}
_DECIMAL = re.compile(r"^[0-9]+$")


def layer_by_id(layer_id: int) -> Layer:
    """The layer with this run-time id (0..98); UnknownNameError otherwise."""
    if 0 <= layer_id < len(LAYERS):
        return LAYERS[layer_id]
    raise UnknownNameError("layer", str(layer_id))


def get_layer(key: str | int) -> Layer:
    """Find a layer by any of its spellings.

    Accepts ``FWPM_LAYER_X``, ``FWPS_LAYER_X`` or ``X`` in any case, the management GUID
    with or without braces, or the run-time id as an int or a decimal string. Raises
    UnknownNameError (a KeyError) with close names as ``suggestions``.
    """
    if isinstance(key, bool):  # bool is an int subclass; True is not layer 1
        raise UnknownNameError("layer", repr(key))
    if isinstance(key, int):
        return layer_by_id(key)
    text = key.strip()
    if _DECIMAL.match(text):
        return layer_by_id(int(text))
    guid = normalize_guid(text)
    if guid is not None:
        found = _BY_GUID.get(guid)
        if found is None:
            raise UnknownNameError("layer", key)
        return found
    name = text.upper()
    for prefix in ("FWPM_LAYER_", "FWPS_LAYER_"):
        name = name.removeprefix(prefix)
    found = _BY_NAME.get(name)
    if found is None:
        raise UnknownNameError("layer", key, suggest(name, _BY_NAME))
    return found
