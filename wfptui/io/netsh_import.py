"""netsh XML → :class:`ImportResult`: the entry points of the importer of ``netsh wfp show
filters`` and ``netsh wfp show state`` dumps (wfp-model.md §5.7).

``io.netsh_dump`` walks the dump's structure (filters, sublayers, callouts, registration);
this module drives it, keeps the first of repeated filterIds, and builds the result and its
header. The decisions (keys, assumed callouts, unregistered callouts, sublayer weights) are
described in ``io.netsh_xml``, the public face of the importer; values are read by
``io.netsh_values``, the XML by ``io.safe_xml``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from wfptui.core.model import Filter, Policy
from wfptui.io.errors import Diagnostic, InputError
from wfptui.io.netsh_dump import DumpImporter
from wfptui.io.netsh_values import BadValue, Unsupported
from wfptui.io.progress import Progress
from wfptui.io.safe_xml import MAX_BYTES, XmlNode, read_xml

__all__ = ["ImportResult", "import_netsh", "import_tree", "parse_netsh"]


@dataclass
class ImportResult:
    """What :func:`import_netsh` produced.

    ``policy`` is exactly what ``io.policy_file`` loads from :meth:`toml`'s text (written by
    the one policy writer, ``io.policy_writer.dump_policy``): the filters, the built-in
    sublayers and callouts (``builtin=True``) and the dump's own (``own_sublayers`` /
    ``own_callouts``: written to the file, built-in overrides included) -- except that a
    filter without a filterId (id 0, which no file can say) loads with the next free id. ``kind`` is
    ``"filters"`` or ``"state"``. ``xml_filters`` counts the filter items in the XML;
    ``dropped`` lists ``(where, reason)`` for filters that could not be imported (each also
    has a warning). ``notes`` maps a filter / sublayer / callout key to comment lines;
    ``header`` is the file's header comment.
    """

    policy: Policy
    kind: str
    source: str
    xml_filters: int
    warnings: list[Diagnostic]
    dropped: list[tuple[str, str]]
    notes: dict[str, list[str]]
    header: list[str]
    registered_callouts: frozenset[str] | None = None  # state dumps: GUIDs/names registered
    #: keys of the sublayers / callouts the dump itself defines or changes (written to the file)
    own_sublayers: tuple[str, ...] = ()
    own_callouts: tuple[str, ...] = ()

    @property
    def filters(self) -> tuple[Filter, ...]:
        return self.policy.filters

    def toml(self) -> str:
        """The policy file (spec §3): the one writer, with the import's header and notes."""
        from wfptui.io.policy_writer import dump_policy

        return dump_policy(self.policy, header_comment="\n".join(self.header), notes=self.notes)


def _finish(imp: DumpImporter, kind: str, source: str, xml_count: int, filters: list[Filter]) -> ImportResult:
    header = [
        f"Imported by `wfptui import` from {os.path.basename(source) or source}"
        f" (`netsh wfp show {'filters' if kind == 'filters' else 'state'}` output).",
        f"{len(filters)} of {xml_count} filters imported"
        + (f"; {len(imp.dropped)} not imported (see warnings)." if imp.dropped else "."),
        "Effective weights are Windows' own (effective_weight, written where it differs from the one",
        "computed from weight and conditions); keys are <name>-<filterId>, with the filterKey GUID in `guid`.",
    ]
    if imp.callouts:
        assumed = sum(1 for c in imp.callouts.values() if c.assumed)
        unreg = sum(1 for c in imp.callouts.values() if c.returns == "unregistered")
        header.append(
            f"Callouts: {assumed} with ASSUMED behaviour (returns = \"continue\"), {unreg} unregistered;"
            " review the [[callout]] tables."
        )
    if imp.builtin_callouts_used:
        header.append(
            "Built-in callouts modelled by the simulator: " + ", ".join(sorted(imp.builtin_callouts_used)) + "."
        )
    for flag, n in sorted(imp.unmodelled_flags.items()):
        header.append(f"{flag} on {n} filters is not written (no effect on classification).")
    if imp.warnings:
        header.append(f"{len(imp.warnings)} warnings were reported on import.")
    from wfptui.io.policy_file import builtin_objects

    sublayers, callouts = builtin_objects()
    sublayers.update(imp.sublayers)
    callouts.update(imp.callouts)
    policy = Policy(sublayers=sublayers, callouts=callouts, filters=tuple(filters), source=source)
    return ImportResult(
        policy=policy,
        kind=kind,
        source=source,
        xml_filters=xml_count,
        warnings=imp.warnings,
        dropped=imp.dropped,
        notes=imp.notes,
        header=header,
        registered_callouts=frozenset(imp.registered) if imp.registered is not None else None,
        own_sublayers=tuple(imp.sublayers),
        own_callouts=tuple(imp.callouts),
    )


def parse_netsh(data: bytes, filename: str = "", progress: Progress | None = None) -> ImportResult:
    """Import netsh XML given as bytes. Raises :class:`InputError` for bad input.

    ``progress`` advances by the bytes parsed, then over whatever of its ``total`` is left
    while the filters are converted."""
    root, trailing = read_xml(data, filename, progress)
    return import_tree(root, trailing, filename, progress)


def import_tree(
    root: XmlNode, trailing: list[XmlNode], filename: str = "", progress: Progress | None = None
) -> ImportResult:
    """Import an already-read ``<wfpdiag>`` / ``<wfpstate>`` tree (``io.evidence`` hands the
    filters part of a ``wfpdiag.xml`` capture here). Raises :class:`InputError`."""
    imp = DumpImporter(filename)
    kind, items = imp.run(root, trailing)
    filters: list[Filter] = []
    # filterId -> line of its first filter: WFP ids are unique, and the policy loader refuses a
    # repeated one, so a repeated id (a hand-edited or concatenated dump) keeps the first filter
    # and warns naming both, rather than writing a file `validate` rejects (issue 12).
    first_line: dict[int, int] = {}
    half = progress.total - progress.done if progress is not None else 0
    for i, (it, section_layer) in enumerate(items):
        if progress is not None and i % 32 == 0:
            progress.update(progress.total - half + half * i // max(len(items), 1))
        try:
            f = imp.read_filter(it, section_layer)
        except BadValue as b:
            imp.error(b.node, b.message)
            continue
        except Unsupported as u:
            imp.warn(u.node, u.message + "; filter not imported")
            imp.dropped.append((f"line {it.line}", u.message))
            continue
        except (ValueError, KeyError, IndexError) as e:  # a value no reader above anticipated
            imp.error(it, f"cannot read this filter: {e}")
            continue
        if f is not None and f.filter_id and f.filter_id in first_line:
            msg = (f"filter {f.key}: filterId {f.filter_id} repeats the filter at line "
                   f"{first_line[f.filter_id]}; this one is not imported")
            imp.warn(it, msg)
            imp.dropped.append((f"line {it.line}", msg))
            continue
        if f is not None:
            if f.filter_id:
                first_line[f.filter_id] = it.line
            filters.append(f)
    if progress is not None:
        progress.update(progress.total)
    if imp.errors:
        raise InputError(sorted(imp.errors, key=lambda d: (d.line, d.col)))
    return _finish(imp, kind, filename, len(items), filters)


def import_netsh(path: str | os.PathLike[str], progress: bool | None = None) -> ImportResult:
    """Read and import a netsh XML file (``progress``: None = bar when on a terminal)."""
    name = os.fspath(path)
    try:
        size = os.stat(name).st_size
    except OSError as e:
        raise InputError(Diagnostic(name, 0, 0, f"cannot read: {e.strerror or e}")) from None
    if size > MAX_BYTES:
        raise InputError(
            Diagnostic(name, 0, 0, f"file is {size} bytes; files over {MAX_BYTES} bytes are refused")
        )
    from wfptui.io.stdio import open_regular  # a FIFO or /dev/zero must not hang (issue 12)

    try:
        with open_regular(name, "netsh XML") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as e:
        raise InputError(Diagnostic(name, 0, 0, f"cannot read: {e.strerror or e}")) from None
    # First half of the bar: parsing the bytes; second half: converting the filters.
    with Progress(2 * len(data), label=f"import {os.path.basename(name)}", enabled=progress) as bar:
        return parse_netsh(data, name, bar)
