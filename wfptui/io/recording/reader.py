"""The recording reader: bounded decoding of untrusted ``.wfpr`` bytes into a :class:`Recording`.

One pass with the C unpacker over the file: a trace record (a fixarray whose kind byte is
below ``K_TRACE_LIMIT``, the common case) is skipped and only its start offset is kept;
define, input, seq and end records are decoded and applied; then the count and the CRC
are checked (docs/recording-format.md §2). Older format versions go through the migration
ladder (``wfptui.io.migrate``) and are read object by object.
"""

from __future__ import annotations

import io
import operator
import os
import zlib
from array import array
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, BinaryIO

import msgpack

from wfptui.core.trace import TraceRecord
from wfptui.io.errors import InputError
from wfptui.io.heap import paused
from wfptui.io.recording import layout as L
from wfptui.io.recording.layout import (
    CURRENT_FORMAT_VERSION,
    FORMAT_NAME,
    K_DEF_ATOM,
    K_DEF_FIELDS,
    K_END,
    K_INPUT,
    K_SEQ,
    K_TRACE_LIMIT,
)
from wfptui.io.recording.records import (
    DECODE_ERRORS,
    MAX_ARRAY_LEN,
    MAX_MAP_LEN,
    MAX_OBJECT_BYTES,
    READ_SIZE,
    LazyRecords,
    OffsetRaws,
    Recording,
    RecordingError,
    why,
)
from wfptui.io.recording.tables import Tables, define
from wfptui.io.recording.values import SCALARS, all_dicts, all_ints, as_int, checked, thaw

__all__ = ["MAX_RECORDING_BYTES", "decode_recording", "read_recording"]

_ADDS = operator.methodcaller("get", "add")

#: The first format whose header's steps may be compact (``values.header_step``).
_COMPACT_STEPS = 4

#: The largest recording read (about 100 M classifications at the compact encoding).
MAX_RECORDING_BYTES = 2 * 1024 * 1024 * 1024

_STEP_AT = L.INPUT.at("step")
_NEXT_SEQ_AT = L.SEQ.at("next_seq")
_ATOM_AT = L.DEF_ATOM.at("value")
_COUNT_AT = L.END.at("count")
_CRC_AT = L.END.at("crc32")


#: The limits of every decode of untrusted bytes (docs/recording-format.md §2).
_LIMITS: dict[str, Any] = {
    "raw": False, "strict_map_key": True, "max_str_len": MAX_OBJECT_BYTES, "max_bin_len": MAX_OBJECT_BYTES,
    "max_array_len": MAX_ARRAY_LEN, "max_map_len": MAX_MAP_LEN, "max_ext_len": 0}


def _unpacker(f: BinaryIO) -> msgpack.Unpacker:
    return msgpack.Unpacker(f, read_size=READ_SIZE, use_list=False, max_buffer_size=MAX_OBJECT_BYTES, **_LIMITS)


def read_recording(path: str | os.PathLike[str]) -> Recording:
    """Read a ``.wfpr`` file. Raises :class:`RecordingError` (exit 2 in the CLI) on any problem."""
    from wfptui.io.stdio import is_stdin, read_input

    name = str(path)
    try:
        # Regular files only, capped: /dev/zero or a FIFO must not hang a command (spec §8).
        data = read_input(name, "recording", limit=MAX_RECORDING_BYTES)
    except InputError as exc:
        raise RecordingError(exc.diagnostics[0].message, name) from None
    return decode_recording(data, "<stdin>" if is_stdin(name) else name)


def decode_recording(data: bytes, name: str = "<recording>") -> Recording:
    """Decode the bytes of a recording (see :func:`read_recording`). The collector is paused:
    a read makes only acyclic data (the header's maps, the steps), and its passes over a long
    recording's hundreds of thousands of them cost more than building them."""
    with paused():
        return _decode(data, name)


def _decode(data: bytes, name: str) -> Recording:
    size = len(data)
    stream = io.BytesIO(data)
    unpacker = _unpacker(stream)
    # 1. The header: skipped by the stream's unpacker, decoded with lists (its final form,
    # no copy to thaw; checked as thaw checks) from its bytes.
    try:
        unpacker.skip()
        header_end = unpacker.tell()
        header = msgpack.unpackb(memoryview(data)[:header_end], use_list=True, **_LIMITS)
    except msgpack.OutOfData:
        if FORMAT_NAME.encode() in data[:256]:
            raise RecordingError("truncated after 0 records (inside the header)", name) from None
        raise RecordingError("not a wfptui recording", name) from None
    except DECODE_ERRORS:
        raise RecordingError("not a wfptui recording", name) from None
    if type(header) is not dict or header.get("format") != FORMAT_NAME:
        raise RecordingError("not a wfptui recording", name)
    version = header.get("format_version")
    if type(version) is not int or version < 1:
        raise RecordingError(f"corrupted header: bad format_version {version!r}", name)
    if version > CURRENT_FORMAT_VERSION:
        raise RecordingError(
            f"made by a newer format version ({version} > {CURRENT_FORMAT_VERSION}); upgrade wfptui", name)
    try:
        header = checked(header)
    except (ValueError, RecursionError) as exc:
        raise RecordingError(f"corrupted header: {exc}", name) from None
    if version == CURRENT_FORMAT_VERSION:
        return _read_current(header, unpacker, data, size, header_end, name)
    from wfptui.io.migrate import upgrade, upgrade_header

    try:
        upgraded = upgrade_header(header, target=CURRENT_FORMAT_VERSION)
    except (ValueError, KeyError, TypeError) as exc:
        raise RecordingError(f"cannot upgrade format version {version}: {exc}", name) from None
    if upgraded is not None:  # the body is a current one as it is: the fast path, its checks
        return _read_current(upgraded, unpacker, data, size, header_end, name, version)

    try:
        header, body = upgrade(header, unpacker, target=CURRENT_FORMAT_VERSION)
    except (ValueError, KeyError, TypeError) as exc:
        raise RecordingError(f"cannot upgrade format version {version}: {exc}", name) from None
    return _read_body(header, body, unpacker, data, size, header_end, name, version)


def _read_current(header: dict[str, Any], unpacker: msgpack.Unpacker, data: bytes, size: int,
                  header_end: int, name: str, version: int = CURRENT_FORMAT_VERSION) -> Recording:
    """The reader's fast path for the current format: one pass that skips over each trace
    record (noting where it starts) and decodes only the define, input and end records."""
    tables = Tables()
    steps = _header_steps(header)
    starts = array("q")
    add = starts.append
    others: list[int] = []
    inputs_raw: list[Any] = []
    seq_marks: list[tuple[int, int]] = []
    end: Any = None
    error: str | None = None
    skip = unpacker.skip
    unpack = unpacker.unpack
    tell = unpacker.tell
    limit = K_TRACE_LIMIT
    input_size = L.INPUT.size
    n_steps = len(steps) if isinstance(steps, list) else 0
    off = header_end
    while True:
        try:
            b0 = data[off]
            # the common case: a fixarray (1..15 elements) whose kind is a positive fixint < 8:
            # note where it starts and skip it (it is decoded when the record is built)
            if 0x90 < b0 < 0xA0 and data[off + 1] < limit:
                skip()
                add(off)
                off = tell()
                continue
            o = unpack()
        except (msgpack.OutOfData, IndexError):  # end of the data
            break
        except DECODE_ERRORS as exc:
            error = why(exc)
            break
        try:
            kind = o[0]
            if kind < limit:
                add(off)
                off = tell()
                continue
            others.append(off)
            if kind == K_DEF_FIELDS:
                tables.fields_raw.append(o)
            elif kind == K_INPUT:
                if len(o) != input_size:
                    raise ValueError("bad input record")
                step = o[_STEP_AT]
                # the common case inline: the index of one of the header's steps (else _input)
                inputs_raw.append(step if type(step) is int and 0 <= step < n_steps else _input(step, steps))
            elif kind == K_SEQ:
                seq_marks.append((len(starts), as_int(o[_NEXT_SEQ_AT])))
            elif kind == K_END:
                end = o
                break
            else:
                define(tables, o)
        except DECODE_ERRORS as exc:
            error = why(exc)
            break
        off = tell()
    others.append(off)
    raws = OffsetRaws(data, starts, others)
    n_events = len(raws) + len(inputs_raw)
    if error is None and end is not None:
        error = _check_end(end, n_events, tell(), size, data, off, version)
    return _finish(header, raws, tables, seq_marks, inputs_raw, end, error, n_events, name,
                   version)


def _read_body(header: dict[str, Any], body: Iterable[Any], unpacker: msgpack.Unpacker, data: bytes,
               size: int, header_end: int, name: str, version: int) -> Recording:
    tables = Tables()
    steps = _header_steps(header)
    raws: list[Any] = []
    inputs_raw: list[Any] = []
    seq_marks: list[tuple[int, int]] = []
    end: tuple[Any, ...] | None = None
    error: str | None = None
    append = raws.append
    fields_append = tables.fields_raw.append
    atoms_append = tables.atoms.append
    # (the GC is paused: decode_recording)
    it = iter(body)
    while True:
        try:
            for o in it:
                kind = o[0]
                if kind < K_TRACE_LIMIT:
                    append(o)
                    continue
                if kind == K_DEF_FIELDS:
                    fields_append(o)
                    continue
                if kind == K_DEF_ATOM:
                    if len(o) != L.DEF_ATOM.size:
                        raise ValueError("bad atom definition")
                    v = o[_ATOM_AT]
                    atoms_append(v if type(v) in SCALARS else thaw(v))
                    continue
                if kind == K_INPUT:
                    if len(o) != L.INPUT.size:
                        raise ValueError("bad input record")
                    inputs_raw.append(_input(o[_STEP_AT], steps))
                elif kind == K_SEQ:
                    seq_marks.append((len(raws), as_int(o[_NEXT_SEQ_AT])))
                elif kind == K_END:
                    end = o
                    break
                else:
                    define(tables, o)
            break
        except msgpack.OutOfData:
            break
        except DECODE_ERRORS as exc:
            error = why(exc)
            break
    n_events = len(raws) + len(inputs_raw)
    if error is None and end is not None:
        end_offset = unpacker.tell() - len(msgpack.packb(end))
        error = _check_end(end, n_events, unpacker.tell(), size, data, end_offset, version)
    return _finish(header, raws, tables, seq_marks, inputs_raw, end, error, n_events, name, version)


def _finish(header: dict[str, Any], raws: Sequence[Any], tables: Tables, seq_marks: list[tuple[int, int]],
            inputs_raw: list[Any], end: Any, error: str | None, n_events: int, name: str,
            version: int) -> Recording:
    if error is not None or end is None:
        partial = _partial(header, raws, tables, seq_marks, inputs_raw, name, version)
        if error is not None:
            n = len(partial.records) + len(partial.inputs)
            raise RecordingError(f"corrupted at record {n_events}: {error} (the {n} records read before can "
                                 "still be shown)", name, partial)
        n = partial.count
        raise RecordingError(f"truncated after {n} records (the {n} records read can still be shown)",
                             name, partial)
    scenario, policies, texts = _scenario_and_policies(header, name, version)
    inputs = _inputs(inputs_raw, name, policies, header, scenario, version)
    records = LazyRecords(raws, tables, seq_marks, name)
    return Recording(header=header, scenario=scenario, policies=policies, inputs=inputs, records=records,
                     count=n_events, path=name, format_version=version, policy_texts=texts)


def _header_steps(header: dict[str, Any]) -> Any:
    scen = header.get("scenario")
    data = scen.get("data") if isinstance(scen, dict) else None
    return data.get("steps") if isinstance(data, dict) else None


def _input(value: Any, steps: Any) -> Any:
    """An input record's step: the map itself, or (kept as the int) the index of a step of
    the header's scenario (``steps``: :func:`_header_steps`), checked."""
    if type(value) is int:
        if not isinstance(steps, list) or not 0 <= value < len(steps):
            raise ValueError(f"input refers to step {value}, which the scenario does not have")
        return value
    return thaw(value)


def _check_end(end: tuple[Any, ...], n_events: int, tell: int, size: int, data: bytes, end_offset: int,
               version: int) -> str | None:
    if len(end) != L.END.size or type(end[_COUNT_AT]) is not int:
        return "bad end record"
    if end[_COUNT_AT] != n_events:
        return f"the end record counts {end[_COUNT_AT]} records but {n_events} were read"
    if tell != size:
        return f"{size - tell} bytes of unexpected data after the end record"
    crc = end[_CRC_AT]
    if crc is not None and version >= 2:
        if type(crc) is not int:
            return "bad checksum in the end record"
        if zlib.crc32(memoryview(data)[:end_offset]) != crc:
            return "checksum mismatch (the file was altered or damaged)"
    return None


def _partial(header: dict[str, Any], raws: Sequence[Any], tables: Tables, seq_marks: list[tuple[int, int]],
             inputs_raw: list[Any], name: str, version: int) -> Recording:
    """What can be shown of a damaged file: every record up to the first bad one."""
    lazy = LazyRecords(raws, tables, seq_marks, name)
    good: list[TraceRecord] = []
    for i in range(len(raws)):
        try:
            good.append(lazy[i])
        except RecordingError:
            break
    try:
        scenario, policies, texts = _scenario_and_policies(header, name, version)
    except RecordingError:
        scenario, policies, texts = None, {}, {}
    try:
        inputs = _inputs(inputs_raw, name, policies, header, scenario, version)
    except RecordingError:
        inputs = []
    return Recording(header=header, scenario=scenario, policies=policies, inputs=inputs, records=good,
                     count=len(good) + len(inputs), path=name, format_version=version, policy_texts=texts)


def _filter_parser() -> Any:
    try:
        from wfptui.io.policy_file import parse_filter_tables
    except ImportError:  # pragma: no cover - before the policy module exists
        return None
    return parse_filter_tables


def _inputs(inputs_raw: list[Any], name: str, policies: Mapping[str, Any] | None = None,
            header: dict[str, Any] | None = None, scenario: Any = None,
            version: int = CURRENT_FORMAT_VERSION) -> list[Any]:
    """The input records' steps. An input that is step N of the header's scenario and adds
    no filters is the scenario's own ``Step`` (built once, from the same map: only added
    filters depend on the policy they are parsed against, which differs here). A header's
    step may be in the compact form (format 4, ``raw_implied``); an input record's own map
    is not: its ``raw``, when left out, is empty (``values.compact_step``)."""
    if not inputs_raw:
        return []
    steps_data = _header_steps(header or {})
    built = getattr(scenario, "steps", None)
    if not isinstance(built, tuple) or not isinstance(steps_data, list) or len(built) != len(steps_data):
        built = None
    elif (all_ints(map(type, inputs_raw)) and all_dicts(map(type, steps_data))
          and not any(map(_ADDS, steps_data))):
        # every input is a header step (its index checked by _input) and no step adds
        # filters: the scenario's own steps, picked in C (164,010 inputs at 1M)
        return list(map(built.__getitem__, inputs_raw))
    try:
        from wfptui.core.scenario import Step
    except ImportError:  # pragma: no cover - before the scenario model exists
        return [steps_data[d] if type(d) is int else d for d in inputs_raw]
    parser = _filter_parser()
    pols = policies or {}
    out = []
    for i, d in enumerate(inputs_raw):
        from_header = type(d) is int
        if from_header:
            d = steps_data[d]
            if built is not None and isinstance(d, dict) and not d.get("add"):
                out.append(built[inputs_raw[i]])
                continue
        try:
            if not isinstance(d, dict):
                raise ValueError("not a map")
            out.append(Step.from_dict(d, pols.get(str(d.get("host"))), parser,
                                      raw_implied=from_header and version >= _COMPACT_STEPS))
        except InputError as exc:
            raise RecordingError(f"corrupted input record {i}: {exc}", name) from None
        except Exception as exc:  # noqa: BLE001 - any problem in the step is a corrupted input
            raise RecordingError(f"corrupted input record {i}: {exc}", name) from None
    return out


def _scenario_and_policies(header: dict[str, Any], name: str,
                           version: int = CURRENT_FORMAT_VERSION) -> tuple[Any, dict[str, Any], dict[str, str]]:
    texts_raw = header.get("policies") or {}
    if not isinstance(texts_raw, dict):
        raise RecordingError("corrupted header: policies is not a map", name)
    texts: dict[str, str] = {}
    policies: dict[str, Any] = {}
    for host, text in texts_raw.items():
        if not isinstance(text, str):
            raise RecordingError(f"corrupted header: policy of host {host!r} is not text", name)
        texts[host] = text
        try:
            from wfptui.io.policy_file import parse_policy
        except ImportError:  # pragma: no cover
            policies[host] = text
            continue
        try:
            policies[host] = parse_policy(text, f"{name}[policy {host}]")
        except InputError as exc:
            raise RecordingError(f"embedded policy of host {host!r}: {exc}", name) from None
        except Exception as exc:  # noqa: BLE001
            raise RecordingError(f"embedded policy of host {host!r}: {exc}", name) from None
    scen = header.get("scenario")
    data = scen.get("data") if isinstance(scen, dict) else None
    scenario: Any = None
    if data is not None:
        try:
            from wfptui.core.scenario import Scenario
        except ImportError:  # pragma: no cover
            scenario = data
        else:
            try:
                if not isinstance(data, dict):
                    raise ValueError("not a map")
                scenario = Scenario.from_dict(data, policies=policies, filter_parser=_filter_parser(),
                                              raw_implied=version >= _COMPACT_STEPS)
            except Exception as exc:  # noqa: BLE001
                raise RecordingError(f"corrupted header: bad scenario: {exc}", name) from None
    return scenario, policies, texts
