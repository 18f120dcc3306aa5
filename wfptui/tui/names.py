"""Short WFP layer names for narrow columns: one table, applied in steps, never cut mid-word.

The host panes and the timeline's narrow layout show layer names in the width they
have. :func:`short_layer` tries the full name, then each step of :data:`ABBREVIATIONS`
in order (each step applies to the result of the ones before), and keeps the first
form that fits. When even the last form is too long, whole words are dropped from the
middle and replaced by ``…`` (the first and last words stay: ``_V4`` / ``_DISCARD``
tell layers apart). A word is never cut. docs/decisions.md lists the table.
"""

from __future__ import annotations

#: Steps, each a list of (what, replacement) applied to ``_``-separated words. Step one
#: drops the ``FWPM_LAYER_`` prefix; the next ones use the abbreviations WFP people use.
ABBREVIATIONS: tuple[tuple[tuple[str, str], ...], ...] = (
    (("FWPM_LAYER_", ""),),
    (("ALE_AUTH_", ""), ("ALE_", "")),
    (("INBOUND_", "IN_"), ("OUTBOUND_", "OUT_")),
    (("TRANSPORT", "TRANS"), ("REDIRECT", "REDIR"), ("RESOURCE_ASSIGNMENT", "RES_ASSIGN"),
     ("RESOURCE_RELEASE", "RES_REL"), ("ESTABLISHED", "ESTAB"), ("IPPACKET", "IPPKT"),
     ("IPFORWARD", "IPFWD"), ("CONNECT", "CONN"), ("ACCEPT", "ACC"), ("DISCARD", "DISC"),
     ("ENDPOINT_CLOSURE", "EP_CLOSE"), ("STREAM_PACKET", "STREAM_PKT"), ("DATAGRAM_DATA", "DGRAM")),
)


def _apply(name: str, step: tuple[tuple[str, str], ...]) -> str:
    # Whole words only: pad with "_" so a pattern matches at word boundaries.
    padded = f"_{name}_"
    for what, short in step:
        key = what.rstrip("_")
        repl = short.rstrip("_")
        if what.endswith("_") and padded.startswith(f"_{what}"):  # a prefix
            padded = "_" + (short + padded[len(what) + 1:] if short else padded[len(what) + 1:])
        elif not what.endswith("_"):
            padded = padded.replace(f"_{key}_", f"_{repl}_")
        elif padded.find(f"_{what}") > 0:  # a word group anywhere
            padded = padded.replace(f"_{what}", f"_{short}")
    return padded.strip("_")


def layer_forms(name: str) -> list[str]:
    """``name`` and each shorter form from the table, in order (duplicates dropped)."""
    forms = [name]
    current = name
    for step in ABBREVIATIONS:
        current = _apply(current, step)
        if current and current != forms[-1]:
            forms.append(current)
    return forms


def short_layer(name: str, width: int) -> str:
    """The longest table form of ``name`` that fits ``width``; else words dropped for ``…``."""
    forms = layer_forms(name)
    for form in forms:
        if len(form) <= width:
            return form
    words = forms[-1].split("_")
    # keep the first k words and the last one: "IN_TRANS…V4_DISC" style, whole words only
    for tail in (2, 1):
        if len(words) <= tail:
            continue
        for k in range(len(words) - tail - 1, 0, -1):
            text = "_".join(words[:k]) + "…" + "_".join(words[-tail:])
            if len(text) <= width:
                return text
    if len(words[0]) + 1 <= width:
        return words[0] + "…"
    return "…" if width >= 1 else ""
