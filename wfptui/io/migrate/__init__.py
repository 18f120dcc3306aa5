"""The migration ladder: older recording format versions are upgraded step by step.

``UPGRADES[n]`` turns a format-``n`` recording into a format-``n+1`` one. It receives the
header map (already decoded, lists not tuples) and an iterator over the raw body objects
(msgpack-decoded with ``use_list=False``, so arrays are tuples) and returns the new header
and a new body iterator; the reader (``wfptui.io.recording.reader``) applies upgrades
until the version is current and then reads the body as if the file had been written by
this version. Upgrades stream: they never hold the whole body.

**Every rung is frozen**: it decodes version N and produces exactly what version N+1 was,
forever. So a rung never calls the recording package (whose writer follows the *current*
format) and carries its own copy of what it needs (``format2.py`` for the 1 -> 2 rung).
This package imports nothing from ``wfptui.io.recording`` (the reader imports it, not the
other way round). ``tests/io/test_migrate.py`` checks each rung's output byte for byte
against ``tests/data/recordings-migration/``.

History:

* **1** (first draft): body objects were maps — ``{"input": step}``,
  ``{"record": TraceRecord.to_dict()}``, ``{"end": count}``; the header's ``scenario``
  was ``Scenario.to_dict()`` directly. No checksum.
* **2**: arrays with kind tags and interning tables, end record with a CRC-32
  (see ``docs/recording-format.md``).
* **3**: adds the ``observe`` input (a step with its ``event``) and the
  ``observed`` trace record (tag 6). A format-2 file holds neither, so its body is a
  valid format-3 body as it is.
* **4** (current): the header's steps may be compact (None values, defaults and a
  ``raw`` table the step's own entries imply left out). A format-3 header's steps are
  written in full, which format 4 reads as they are: only the version changes.

Rungs that change the header alone (:data:`HEADER_ONLY`) let the reader read an older
file's body with the current format's fast path (``upgrade_header``).

When the format changes: bump ``recording.layout.CURRENT_FORMAT_VERSION``, add
``UPGRADES[old] = upgrade_old_to_new`` here (with a frozen copy of whatever encoding it
needs, never the current writer), commit a fixture for the old version in
``tests/data/recordings/``, the rung's expected output in
``tests/data/recordings-migration/``, and make sure ``tests/io/test_migrate.py`` loads them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from wfptui.io.migrate import format2

__all__ = ["HEADER_ONLY", "UPGRADES", "upgrade", "upgrade_1_to_2", "upgrade_2_to_3", "upgrade_3_to_4", "upgrade_header"]

Body = Iterable[Any]
Upgrade = Callable[[dict[str, Any], Body], tuple[dict[str, Any], Body]]


def upgrade_1_to_2(header: dict[str, Any], body: Body) -> tuple[dict[str, Any], Body]:
    """Format 1 (maps) → format 2 (tagged arrays with interning), with format 2's frozen
    encoder (``format2.Encoder``). Inputs are written in full, and the end record has no
    checksum (format 1 had none to carry over)."""
    new = dict(header)
    scenario = header.get("scenario")
    new["scenario"] = {"data": scenario, "source": header.get("scenario_source")}
    new.pop("scenario_source", None)
    new["format_version"] = 2
    new.setdefault("clock", "t_us")
    new.setdefault("hosts", format2.hosts(scenario))
    new.setdefault("created", header.get("created_at", ""))

    def objects() -> Iterator[Any]:
        enc = format2.Encoder()
        for obj in body:
            if type(obj) is not dict or len(obj) != 1:
                raise ValueError("format 1 record is not a one-key map")
            ((key, value),) = obj.items()
            if key == "input":
                yield from enc.encode_input(format2.thaw(value))
            elif key == "record":
                yield from enc.encode_record(format2.thaw(value))
            elif key == "end":
                yield (format2.K_END, value, None)
            else:
                raise ValueError(f"unknown format 1 record {key!r}")

    return new, objects()


def upgrade_2_to_3(header: dict[str, Any], body: Body) -> tuple[dict[str, Any], Body]:
    """Format 2 → format 3. Frozen: format 3 only added an input key (``event``) and a
    record tag (6) that a format-2 file cannot hold, so the body passes through unchanged
    (tags, atoms, tables and the end record's count are the same) and the header says 3.
    The end record's CRC covers the original bytes; the reader checks it before the ladder
    for the current version only, so the old CRC stays what it was."""
    new = dict(header)
    new["format_version"] = 3
    return new, body


def upgrade_3_to_4(header: dict[str, Any], body: Body) -> tuple[dict[str, Any], Body]:
    """Format 3 → format 4. Frozen: format 4 lets a header's steps leave out None values,
    defaults and an implied ``raw``; a format-3 header holds its steps in full, each with
    its ``raw``, which is a valid format-4 header as it is. The body passes through."""
    new = dict(header)
    new["format_version"] = 4
    return new, body


#: from-version → upgrade to from-version + 1
UPGRADES: dict[int, Upgrade] = {1: upgrade_1_to_2, 2: upgrade_2_to_3, 3: upgrade_3_to_4}
#: The rungs whose body passes through unchanged (only the header is upgraded).
HEADER_ONLY = frozenset({2, 3})


def upgrade_header(header: dict[str, Any], *, target: int) -> dict[str, Any] | None:
    """The header upgraded to ``target`` when every rung on the way changes the header
    alone (the body is then a valid ``target`` body as it is), else None."""
    version = int(header["format_version"])
    if not all(v in HEADER_ONLY for v in range(version, target)):
        return None
    return upgrade(header, (), target=target)[0]


def upgrade(header: dict[str, Any], body: Body, *, target: int) -> tuple[dict[str, Any], Body]:
    """Apply the ladder from ``header["format_version"]`` up to ``target`` (the reader
    passes its current version)."""
    version = int(header["format_version"])
    while version < target:
        step = UPGRADES.get(version)
        if step is None:
            raise ValueError(f"no upgrade from recording format {version}")
        header, body = step(header, body)
        version += 1
        header["format_version"] = version
    return header, body
