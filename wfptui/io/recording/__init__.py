"""Recordings (``.wfpr``): write and read a run as a stream of standard msgpack objects.

The format is described in full in ``docs/recording-format.md``; in short:

* The file is a plain sequence of msgpack objects, first byte to last; any msgpack
  library reads it (no ext types, no pickles). The first object is the **header map**
  (format name and version, app version, creation time, the scenario, the policies as
  policy-file TOML, the hosts).
* Then one **array** per record, the first element an integer kind tag: trace records
  (kinds 0–6), inputs (8: the executed ``Step``), and small *define* records (10–13) that
  add a value, a "where", a "decision" or a ``fields`` dict to a table the first time it
  is used, so writing streams and a classification record is a handful of small integers.
* The last object is the **end record**: the number of event records and the CRC-32 of
  every byte before it.

Modules (the package's public names are re-exported here):

* :mod:`~wfptui.io.recording.layout` — tags, field order of every record kind (the single
  source: the writer builds records with its builders, the reader finds fields through it),
  the built-in atom table;
* :mod:`~wfptui.io.recording.writer` — the interning encoder, the header, the streaming
  :class:`RecordingWriter`, :func:`write_recording` (atomic) and :func:`encode_recording`;
* :mod:`~wfptui.io.recording.reader` — :func:`read_recording` / :func:`decode_recording`:
  bounded, one pass, every problem one :class:`RecordingError` (exit 2 in the CLI);
* :mod:`~wfptui.io.recording.records` — :class:`Recording`, :class:`LazyRecords` (records
  built when indexed, and an index API: ``kind(i)``, ``host(i)``, ``layer(i)``,
  ``action(i)``, ``group(i)``, ``iter_groups()``) and :class:`RecordingError`;
* :mod:`~wfptui.io.recording.tables` — the reader's tables and record building;
* :mod:`~wfptui.io.recording.values` — interning keys, thawing, type checks.

Older format versions are upgraded by ``wfptui.io.migrate`` (frozen rungs that import
nothing from here).
"""

from __future__ import annotations

from wfptui.io.recording.layout import (
    CURRENT_FORMAT_VERSION,
    FIRST_SEQ,
    FORMAT_NAME,
    K_AUDIT,
    K_CLASSIFY,
    K_DEF_ATOM,
    K_DEF_DECISION,
    K_DEF_FIELDS,
    K_DEF_WHERE,
    K_END,
    K_EXPECT,
    K_INPUT,
    K_NET_EVENT,
    K_OBSERVED,
    K_POLICY,
    K_SEQ,
    K_STACK,
    K_TRACE_LIMIT,
    STATIC_ATOMS,
)
from wfptui.io.recording.reader import MAX_RECORDING_BYTES, decode_recording, read_recording
from wfptui.io.recording.records import LazyRecords, Recording, RecordingError
from wfptui.io.recording.writer import RecordingWriter, encode_recording, make_header, write_recording

__all__ = [
    "CURRENT_FORMAT_VERSION",
    "FIRST_SEQ",
    "FORMAT_NAME",
    "K_AUDIT",
    "K_CLASSIFY",
    "K_DEF_ATOM",
    "K_DEF_DECISION",
    "K_DEF_FIELDS",
    "K_DEF_WHERE",
    "K_END",
    "K_EXPECT",
    "K_INPUT",
    "K_NET_EVENT",
    "K_OBSERVED",
    "K_POLICY",
    "K_SEQ",
    "K_STACK",
    "K_TRACE_LIMIT",
    "MAX_RECORDING_BYTES",
    "STATIC_ATOMS",
    "LazyRecords",
    "Recording",
    "RecordingError",
    "RecordingWriter",
    "decode_recording",
    "encode_recording",
    "make_header",
    "read_recording",
    "write_recording",
]
