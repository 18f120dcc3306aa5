"""Import ``netsh wfp show filters`` / ``netsh wfp show state`` XML (wfp-model.md §5.7).

Two shapes are recognised and told apart by their root element:

* ``<wfpdiag><filters><item>…`` — ``netsh wfp show filters`` (kind ``"filters"``);
* ``<wfpstate>…<layers><item>{layer, callouts, filters}…<subLayers>…</wfpstate>`` —
  ``netsh wfp show state`` (kind ``"state"``), which carries a second root element
  ``<firewallState>`` after ``</wfpstate>`` (§5.7): that element is accepted, parsed for
  well-formedness and ignored (dynamic keyword addresses are not filter policy).

Every filter keeps its filterKey (``guid``), filterId, name, description, provider, layer,
sublayer, weight, real ``effectiveWeight`` (§3.2), flags (§3.7), conditions (every value
type of §5.7: integers, IPv4 addresses printed dotted in ``uint32``, ``byteArray16``
IPv6, ``v4AddrMask`` / ``v6AddrMask``, ``rangeValue``, ``byteBlob`` with its
``asString``, ``sid``, ``sd`` as SDDL, ``byteArray6``, ``unicodeString``) and its action
with the callout it calls. A state dump adds its sublayers with their weights and the
callouts registered per layer.

API: :func:`import_netsh` (a file) / :func:`parse_netsh` (bytes) → :class:`ImportResult`
(the :class:`~wfptui.core.model.Policy`, with the built-ins, plus warnings, counts and
comment notes); ``ImportResult.toml()`` / :func:`policy_toml` → the policy file text
(spec §3), written by the one policy writer (``io.policy_writer.dump_policy``, with the
import's header and notes); :func:`read_xml` is the safe reader on its own.

Modules: ``io.safe_xml`` (the hardened expat reader, shared with ``io.evidence``),
``io.netsh_values`` (value elements, diagnostics), ``io.netsh_dump`` (the walk over the dump's
structure), ``io.netsh_import`` (→ :class:`ImportResult`); this module is their public face.

Decisions (here and in the generated file's comments):

* **Keys.** A filter's policy key is ``<slug of its name>-<filterId>`` (e.g.
  ``query-user-130205``): readable, unique in a dump, and the filterId is what net events
  and audits report. The filterKey GUID is kept in ``guid``; the real ``effectiveWeight``
  in ``effective_weight``; the filterId in ``id``.
* **Callouts (§3.4, §2.4).** Built-in callouts that ``core.builtins`` models (the
  transport silent-drop callouts, the edge-traversal ones …) keep their built-in
  behaviour. Every other callout becomes a ``[[callout]]`` keyed by its GUID with
  ``returns = "continue"``, ``assumed = true`` and a comment saying so: the simulator
  cannot know what a driver's classifyFn does, and ``continue`` makes its filters act as
  if they were absent, so the static filters decide. The user edits it to permit/block.
* **Unregistered callouts.** A ``show filters`` dump says nothing about registration, so
  every callout is assumed registered (and the comment says so). In a ``show state`` dump
  a callout is registered when some layer's ``<callouts>`` list has it *with*
  ``FWPM_CALLOUT_FLAG_REGISTERED``; a callout listed without that flag, or referenced by a
  filter but absent from every list, is written as ``returns = "unregistered"`` with a
  comment (§3.4: CALLOUT_TERMINATING/UNKNOWN filters then block, or permit with
  PERMIT_IF_CALLOUT_UNREGISTERED; inspection filters are ignored). A built-in callout that
  the dump shows unregistered is overridden the same way.
* **Sublayers.** Built-in sublayers are referred to by their short names; a state dump's
  other sublayers become ``[[sublayer]]`` entries keyed by their GUID with their real
  weight (a built-in whose dumped weight differs from the model is overridden). A ``show
  filters`` dump has no sublayer weights: unknown sublayers get weight 0 (evaluated last)
  and an "ASSUMED" comment.
* **Round trip.** Each condition is written as the policy writer writes it
  (``io.policy_writer.condition_toml``) and read back with ``core.values.parse_value``; it
  must come back as the same value and FWP type, else the filter is not imported
  (warning). The writer's one fallback: an allow-only security descriptor whose SDDL is
  longer than the policy loader accepts (``core.values`` bounds string values; the Windows
  Service Hardening default blocks reach ~4,300 characters) is written as the list of SIDs
  it grants — the same access check (§4.2). ``FWPM_FILTER_FLAG_HAS_FILTER_ORIGIN`` (no public value, no effect on
  classification) is not written; the header and the filter's comment say so.

Safety: the XML is parsed by expat with handlers that *refuse* any DOCTYPE, entity
declaration or external entity (so no billion laughs, no XXE), files over
:data:`MAX_BYTES` are refused before reading, nesting is bounded (:data:`MAX_DEPTH`).
Malformed XML or malformed values raise :class:`InputError` naming ``file:line:col``.
Anything well-formed that the importer does not understand (an unknown element, value
type, flag or match type) is reported as a *warning* with its line — never silently
dropped.
"""

from __future__ import annotations

from wfptui.io.netsh_import import ImportResult, import_netsh, import_tree, parse_netsh
from wfptui.io.netsh_values import norm_guid, slug
from wfptui.io.safe_xml import (
    BYTES_PER_ELEMENT,
    ELEMENT_SLACK,
    MAX_BYTES,
    MAX_DEPTH,
    XmlNode,
    XmlRefused,
    harden_parser,
    read_xml,
)

__all__ = [
    "BYTES_PER_ELEMENT",
    "MAX_BYTES",
    "MAX_DEPTH",
    "ImportResult",
    "XmlNode",
    "XmlRefused",
    "harden_parser",
    "import_netsh",
    "import_tree",
    "norm_guid",
    "parse_netsh",
    "policy_toml",
    "read_xml",
    "slug",
]

#: The old private name (tests/test_hostile.py reads it).
_ELEMENT_SLACK = ELEMENT_SLACK


def policy_toml(result: ImportResult) -> str:
    """The policy file (spec §3) for an import: ``result.toml()`` -- ``dump_policy`` with the
    import's header comment and notes."""
    return result.toml()
