"""The recording writer: interning encoder, header, streaming writer and atomic save.

Records are made with the builders of :mod:`wfptui.io.recording.layout` (the one place
that knows the field order); the encoder decides what is interned and how times and
``fields`` dicts are written (docs/recording-format.md §1.3-§1.4).
"""

from __future__ import annotations

import datetime as _dt
import io
import os
import zlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import msgpack

from wfptui import __version__
from wfptui.core.trace import (
    AuditRecord,
    ClassifyRecord,
    ExpectRecord,
    NetEventRecord,
    ObservedRecord,
    PolicyRecord,
    StackRecord,
    Trace,
    TraceRecord,
    classify_row,
    stack_row,
)
from wfptui.io.atomic import atomic_writer
from wfptui.io.heap import paused
from wfptui.io.recording import layout as L
from wfptui.io.recording.layout import CURRENT_FORMAT_VERSION, FIRST_SEQ, FORMAT_NAME, STATIC_ATOMS
from wfptui.io.recording.values import MISSING, compact_step, freeze, header_step, plain

__all__ = ["Encoder", "RecordingWriter", "encode_recording", "make_header", "write_recording"]


class Encoder:
    """Turns inputs and trace records into wire tuples (the current format), interning as it goes.

    ``encode_*`` return the list of objects to write (define records first).
    """

    def __init__(self) -> None:
        self.atoms: dict[Any, int] = {freeze(v): i for i, v in enumerate(STATIC_ATOMS)}
        self.wheres: dict[tuple[Any, ...], int] = {}
        self.decisions: dict[tuple[Any, ...], int] = {}
        self.fields: dict[tuple[Any, ...], int] = {}
        self.field_frozen: list[dict[str, Any]] = []
        self.recent: list[int] = []
        self.steps: dict[Any, int] = {}
        self._header_steps: list[Any] = []
        self._frozen_steps = True
        self.step_objects: dict[int, tuple[int, Any]] = {}
        self.fast_fields: dict[Any, int] = {}
        self.decisions_fast: dict[Any, int] = {}
        self.last_fields: dict[tuple[str, str], int] = {}
        self.next_seq = FIRST_SEQ
        self.tick = 0
        self.prev_t: float | None = 0.0
        self.count = 0
        #: id(row) -> (the row, kept alive; its record's tag; its values after the time; the
        #: (host, layer) whose last fields dict it sets, or None): see :meth:`encode_row`.
        self.rows: dict[int, tuple[Any, int, tuple[Any, ...], tuple[str, str] | None]] = {}

    def t(self, t: float) -> int | float | None:
        """Time on the wire: nil when it equals the previous record's time exactly; else the
        delta in whole microseconds from the previous record when that is exact; else the
        absolute float seconds (which also resets the microsecond base)."""
        if t == self.prev_t and type(t) is type(self.prev_t):
            return None
        self.prev_t = t
        ticks = round(t * 1_000_000)
        delta = ticks - self.tick
        self.tick = ticks
        if ticks / 1_000_000 == t:
            return delta
        return float(t)

    def atom(self, value: Any, out: list[Any]) -> int:
        key = freeze(value)
        ref = self.atoms.get(key)
        if ref is None:
            ref = len(self.atoms)
            self.atoms[key] = ref
            out.append(L.def_atom(value=value))
        return ref

    def _data(self, data: Mapping[str, Any], out: list[Any]) -> list[int]:
        flat: list[int] = []
        for k, v in data.items():
            flat.append(self.atom(k, out))
            flat.append(self.atom(plain(v), out))
        return flat

    def _seq(self, seq: int, out: list[Any]) -> None:
        if seq != self.next_seq:
            out.append(L.seq(next_seq=seq))
        self.next_seq = seq + 1

    def _fval(self, v: Any, out: list[Any]) -> Any:
        """A fields value on the wire: small non-negative ints, None, booleans and floats as
        themselves; anything else (strings, big or negative ints, lists) as ``-(atom + 1)``."""
        tv = type(v)
        if (tv is int and 0 <= v < 65536) or v is None or tv is bool or tv is float:
            return v
        return -self.atom(v, out) - 1

    def _fields(self, host: str, layer: str, fields: Mapping[str, Any], out: list[Any]) -> int:
        try:  # fast path: a dict seen before (the types keep 1, 1.0 and True apart)
            fast: Any = (tuple(fields.items()), tuple(map(type, fields.values())))
            ref = self.fast_fields.get(fast)
        except TypeError:  # unhashable values (lists ...)
            fast, ref = None, None
        if ref is not None:
            self.last_fields[(host, layer)] = ref
            self.last_fields[("", layer)] = ref
            return ref
        ref = self._fields_slow(host, layer, fields, out)
        if fast is not None:
            self.fast_fields[fast] = ref
        return ref

    def _fields_slow(self, host: str, layer: str, fields: Mapping[str, Any], out: list[Any]) -> int:
        values = {str(k): plain(v) for k, v in fields.items()}
        frozen = {k: freeze(v) for k, v in values.items()}
        key = tuple(frozen.items())
        ref = self.fields.get(key)
        if ref is not None:
            self.last_fields[(host, layer)] = ref
            self.last_fields[("", layer)] = ref
            return ref
        # The cheapest base among: this host+layer's last dict, this layer's last dict on any
        # host, and the last few dicts defined.
        candidates = dict.fromkeys(
            c for c in (self.last_fields.get((host, layer)), self.last_fields.get(("", layer)),
                        *self.recent) if c is not None)
        best: int | None = None
        best_changes: list[str] = []
        best_removed: list[str] = []
        best_cost = len(values)
        for cand in candidates:
            base = self.field_frozen[cand]
            changes = [k for k, fv in frozen.items() if base.get(k, MISSING) != fv]
            removed = [k for k in base if k not in frozen]
            cost = len(changes) + len(removed)
            if cost >= best_cost:
                continue
            order = [k for k in base if k in frozen] + [k for k in frozen if k not in base]
            if order != list(frozen):
                continue  # applying the delta would change the key order
            best, best_changes, best_removed, best_cost = cand, changes, removed, cost
        flat: list[Any] = []
        if best is None:
            for k, v in values.items():
                flat.append(self.atom(k, out))
                flat.append(self._fval(v, out))
        else:
            for k in best_changes:
                flat.append(self.atom(k, out))
                flat.append(self._fval(values[k], out))
            for k in best_removed:
                flat.append(-self.atom(k, out) - 1)
        ref = len(self.field_frozen)
        self.fields[key] = ref
        self.field_frozen.append(frozen)
        self.recent = [ref, *self.recent[:3]]
        self.last_fields[(host, layer)] = ref
        self.last_fields[("", layer)] = ref
        out.append(L.def_fields(base=best, changes=flat))
        return ref

    def set_steps(self, steps: Any, objects: Sequence[Any] = ()) -> None:
        """The scenario's steps (from the header): inputs equal to one are written as its index.
        ``objects``: the ``Step`` objects the header's steps were made from, in order, when
        known: an input that *is* step i is then step i without comparing their maps (when
        every step's index is its own, no two steps have equal maps). The maps of the header's
        steps are frozen for comparison only when an input is not one of those objects."""
        self._header_steps = steps if isinstance(steps, list) else []
        self.steps = {}
        self._frozen_steps = False
        self.step_objects = {}
        if objects and isinstance(steps, list) and len(objects) == len(steps) \
                and len({getattr(o, "index", None) for o in objects}) == len(objects):
            self.step_objects = {id(o): (i, o) for i, o in enumerate(objects)}

    def _step_index(self, full: Any) -> int | None:
        """The index of the header's step equal to the step map ``full`` (``to_dict()`` form),
        compared in the header's form (``values.header_step``), or None."""
        if not self._frozen_steps:
            for i, d in enumerate(self._header_steps):
                self.steps.setdefault(freeze(d), i)
            self._frozen_steps = True
        return self.steps.get(freeze(header_step(full)))

    def encode_input(self, step: Any) -> list[Any]:
        self.count += 1
        known = self.step_objects.get(id(step))
        if known is not None and known[1] is step:
            return [L.input_(step=known[0])]
        full = plain(step if isinstance(step, dict) else step.to_dict())
        index = self._step_index(full)
        return [L.input_(step=compact_step(full) if index is None else index)]

    def encode_row(self, row: tuple[Any, ...], seq: int, t: float) -> list[Any]:
        """:meth:`encode_record` of the record a ``core.trace.Trace`` row builds at ``seq`` and
        ``t`` (a classification's or a stack event's), the same objects: the row's first
        record is built and encoded; every later one is the same wire record but for its time
        (everything else it refers to is interned by then), so only the time, the seq and the
        encoder's memory of the last fields dict per host and layer (what a new dict is
        written against) are done again."""
        known = self.rows.get(id(row))
        if known is None:
            first = self.encode_record(row[0](row, seq, t))
            wire = first[-1]
            where = (row[2], row[1].layer) if row[0] is classify_row else None
            self.rows[id(row)] = (row, wire[0], wire[L.T_AT + 1:], where)
            return first
        _row, tag, rest, where = known
        self.count += 1
        out: list[Any] = []
        self._seq(seq, out)
        if where is not None:
            f = rest[-1]
            self.last_fields[where] = f
            self.last_fields[("", where[1])] = f
        out.append((tag, self.t(t), *rest))
        return out

    def encode_record(self, rec: TraceRecord) -> list[Any]:
        out: list[Any] = []
        self.count += 1
        self._seq(rec.seq, out)
        if isinstance(rec, ClassifyRecord):
            wkey = (rec.host, rec.layer, rec.layer_id, rec.packet, rec.op, rec.direction, bool(rec.reauth))
            w = self.wheres.get(wkey)
            if w is None:
                w = len(self.wheres)
                self.wheres[wkey] = w
                out.append(L.def_where(host=self.atom(rec.host, out), layer=self.atom(rec.layer, out),
                                       layer_id=rec.layer_id, packet=self.atom(rec.packet, out),
                                       op=self.atom(rec.op, out), direction=self.atom(rec.direction, out),
                                       reauth=bool(rec.reauth)))
            dfast = (rec.action, rec.filter, rec.filter_id, rec.sublayer, rec.veto, rec.terminating)
            d = self.decisions_fast.get(dfast)
            if d is None:
                terms = tuple((t.filter, t.filter_id, t.sublayer, t.action, bool(t.hard)) for t in rec.terminating)
                dkey = (rec.action, rec.filter, rec.filter_id, rec.sublayer, bool(rec.veto), terms)
                d = self.decisions.get(dkey)
                if d is None:
                    d = len(self.decisions)
                    self.decisions[dkey] = d
                    flat: list[Any] = []
                    for t in terms:
                        flat += L.terminating(filter=self.atom(t[0], out), filter_id=t[1],
                                              sublayer=self.atom(t[2], out), action=self.atom(t[3], out),
                                              hard=t[4])
                    out.append(L.def_decision(action=self.atom(rec.action, out), filter=self.atom(rec.filter, out),
                                              filter_id=rec.filter_id, sublayer=self.atom(rec.sublayer, out),
                                              veto=bool(rec.veto), terminating=flat))
                self.decisions_fast[dfast] = d
            f = self._fields(rec.host, rec.layer, rec.fields, out)
            out.append(L.classify(t=self.t(rec.t), where=w, flow=rec.flow, decision=d, fields=f))
        elif isinstance(rec, StackRecord):
            flat_data = self._data(rec.data, out)
            out.append(L.stack(t=self.t(rec.t), host=self.atom(rec.host, out), event=self.atom(rec.event, out),
                               flow=rec.flow, detail=self.atom(rec.detail, out), data=flat_data))
        elif isinstance(rec, NetEventRecord):
            flat_data = self._data(rec.data, out)
            out.append(L.net_event(t=self.t(rec.t), host=self.atom(rec.host, out), type=self.atom(rec.type, out),
                                   filter_id=rec.filter_id, layer_id=rec.layer_id,
                                   direction=self.atom(rec.direction, out), flow=rec.flow, data=flat_data))
        elif isinstance(rec, AuditRecord):
            flat_data = self._data(rec.data, out)
            out.append(L.audit(t=self.t(rec.t), host=self.atom(rec.host, out), event_id=rec.event_id,
                               filter_id=rec.filter_id, layer_id=rec.layer_id, flow=rec.flow, data=flat_data))
        elif isinstance(rec, PolicyRecord):
            out.append(L.policy(t=self.t(rec.t), host=self.atom(rec.host, out),
                                added=[self.atom(a, out) for a in rec.added],
                                removed=[self.atom(r, out) for r in rec.removed],
                                reauth_layers=[self.atom(r, out) for r in rec.reauth_layers]))
        elif isinstance(rec, ObservedRecord):
            out.append(L.observed(t=self.t(rec.t), host=self.atom(rec.host, out), event=rec.event,
                                  type=self.atom(rec.type, out), action=self.atom(rec.action, out),
                                  filter_id=rec.filter_id, matched_by=self.atom(rec.matched_by, out),
                                  verdict=self.atom(rec.verdict, out),
                                  unknown_fields=[self.atom(u, out) for u in rec.unknown_fields]))
        elif isinstance(rec, ExpectRecord):
            out.append(L.expect(ok=bool(rec.ok), expect=plain(rec.expect), matched=rec.matched, message=rec.message))
        else:  # pragma: no cover - TraceRecord is a closed union
            raise TypeError(f"not a trace record: {rec!r}")
        return out


# ----------------------------------------------------------------------------- header


def _step_objects(scenario: Any) -> Sequence[Any]:
    """The Step objects a header's steps are made from (``_scenario_dict``), or none."""
    if scenario is None or isinstance(scenario, dict):
        return ()
    steps = getattr(scenario, "steps", ())
    return steps if isinstance(steps, tuple | list) else ()


def _scenario_dict(scenario: Any) -> Any:
    """The header's ``scenario.data``: the scenario's ``to_dict()`` (or that map itself),
    its steps in the header's compact form (``values.header_step``)."""
    data = plain(scenario if scenario is None or isinstance(scenario, dict) else scenario.to_dict())
    steps = data.get("steps") if isinstance(data, dict) else None
    if isinstance(steps, list):
        data["steps"] = [header_step(d) for d in steps]
    return data


def _scenario_source(scenario: Any) -> str | None:
    for attr in ("source_text", "source"):
        value = getattr(scenario, attr, None)
        if isinstance(value, str) and "\n" in value:
            return value
    path = getattr(scenario, "path", None)
    if isinstance(path, (str, os.PathLike)):
        try:
            return Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
    return None


def _source_or_none(data: Any, source: str | None) -> str | None:
    """The scenario text, unless ``Scenario.to_dict()`` already holds it (no second copy)."""
    if isinstance(data, dict) and data.get("source") == source:
        return None
    return source


def _hosts(scenario_data: Any) -> list[dict[str, Any]]:
    hosts: list[dict[str, Any]] = []
    items = scenario_data.get("hosts", scenario_data.get("host", [])) if isinstance(scenario_data, dict) else []
    for h in items or []:
        if isinstance(h, dict) and isinstance(h.get("name"), str):
            addrs = h.get("address", h.get("addresses", []))
            if isinstance(addrs, str):
                addrs = [addrs]
            hosts.append({"name": h["name"], "addresses": [str(a) for a in addrs or []]})
    return hosts


def _policy_text(policy: Any) -> str:
    if isinstance(policy, str):
        return policy
    from wfptui.io.policy_file import dump_policy

    return str(dump_policy(policy))


def make_header(*, scenario: Any, policies: Mapping[str, Any], source: str | None = None,
                created: str | None = None) -> dict[str, Any]:
    """The header map for a recording of ``scenario`` run with ``policies``."""
    data = _scenario_dict(scenario)
    if created is None:
        created = _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return {
        "format": FORMAT_NAME,
        "format_version": CURRENT_FORMAT_VERSION,
        "app_version": __version__,
        "created": created,
        "clock": "t_us",
        "scenario": {"data": data, "source": _source_or_none(data, source if source is not None
                                                             else _scenario_source(scenario))},
        "policies": {str(h): _policy_text(p) for h, p in policies.items()},
        "hosts": _hosts(data),
    }


# ----------------------------------------------------------------------------- writer


class RecordingWriter:
    """Streams a recording into ``out`` (a binary file): header, records, end record.

    ``write_recording`` wraps this in an atomic save; a live recorder can use it on an
    ``atomic_writer`` and call :meth:`close` when done.
    """

    def __init__(self, out: BinaryIO, header: Mapping[str, Any], steps: Sequence[Any] = ()) -> None:
        """``steps``: the ``Step`` objects of the header's scenario, when the caller has them
        (``Encoder.set_steps``)."""
        self._out = out
        self._packer = msgpack.Packer(use_bin_type=True, autoreset=False)
        self._enc = Encoder()
        scen = header.get("scenario")
        if isinstance(scen, dict) and isinstance(scen.get("data"), dict):
            self._enc.set_steps(scen["data"].get("steps"), steps)
        self._crc = 0
        self._closed = False
        self._packer.pack(dict(header))
        self._flush(force=True)

    def _flush(self, force: bool = False) -> None:
        buf = self._packer.getbuffer()
        if force or len(buf) >= 1 << 16:
            self._crc = zlib.crc32(buf, self._crc)
            self._out.write(buf)
            del buf
            self._packer.reset()

    def _write(self, objs: list[Any]) -> None:
        pack = self._packer.pack
        for o in objs:
            pack(o)
        self._flush()

    def add_input(self, step: Any) -> None:
        self._write(self._enc.encode_input(step))

    def add_record(self, record: TraceRecord) -> None:
        self._write(self._enc.encode_record(record))

    def add_records(self, records: Iterable[TraceRecord]) -> None:
        enc = self._enc.encode_record
        pack = self._packer.pack
        if isinstance(records, Trace):  # rows: each encoded in full once (Encoder.encode_row)
            row_enc = self._enc.encode_row
            times = records.times
            for i, item in enumerate(records.items):
                if type(item) is tuple and (item[0] is classify_row or item[0] is stack_row):
                    objs = row_enc(item, i + 1, times[i])
                else:
                    objs = enc(records[i])
                for o in objs:
                    pack(o)
                if i & 1023 == 1023:
                    self._flush()
            self._flush()
            return
        for i, rec in enumerate(records):
            for o in enc(rec):
                pack(o)
            if i & 1023 == 1023:
                self._flush()
        self._flush()

    @property
    def count(self) -> int:
        return self._enc.count

    def close(self) -> None:
        """Write the end record (count and CRC-32 of everything before it) and flush."""
        if self._closed:
            return
        self._flush(force=True)
        self._packer.pack(L.end(count=self._enc.count, crc32=self._crc))
        self._flush(force=True)
        self._out.flush()
        self._closed = True


def write_recording(path: str | os.PathLike[str], *, scenario: Any, policies: Mapping[str, Any],
                    inputs: Iterable[Any], records: Iterable[TraceRecord], source: str | None = None,
                    created: str | None = None) -> None:
    """Save a run as a recording at ``path``, atomically (io/atomic.py); ``-`` = stdout.

    ``scenario``: the ``Scenario`` (or its ``to_dict()``); ``policies``: host → ``Policy``
    (or policy TOML text); ``inputs``: the executed steps (``RunResult.inputs``);
    ``records``: the trace (``RunResult.records``). ``source``: the scenario's TOML text
    (default: taken from the scenario object when it carries it).
    """
    if os.fspath(path) == "-":  # standard output, as bytes (spec §8)
        from wfptui.io.stdio import write_output

        write_output("-", encode_recording(scenario=scenario, policies=policies, inputs=inputs, records=records,
                                           source=source, created=created))
        return
    with paused():  # only acyclic data: the collector would walk the header's maps again and again
        _write_file(path, scenario=scenario, policies=policies, inputs=inputs, records=records, source=source,
                    created=created)


def _write_file(path: str | os.PathLike[str], *, scenario: Any, policies: Mapping[str, Any],
                inputs: Iterable[Any], records: Iterable[TraceRecord], source: str | None,
                created: str | None) -> None:
    header = make_header(scenario=scenario, policies=policies, source=source, created=created)
    with atomic_writer(path) as f:
        buffered = io.BufferedWriter(_NoClose(f), buffer_size=1 << 20)
        writer = RecordingWriter(buffered, header, _step_objects(scenario))
        for step in inputs:
            writer.add_input(step)
        writer.add_records(records)
        writer.close()
        buffered.flush()


class _NoClose(io.RawIOBase):
    """A raw stream over ``f`` that leaves ``f`` open (so BufferedWriter can wrap it)."""

    def __init__(self, f: BinaryIO) -> None:
        self._f = f

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self._f.write(b)
        return len(b)

    def close(self) -> None:  # noqa: D401 - keep the underlying file open
        self.flush()


def encode_recording(*, scenario: Any, policies: Mapping[str, Any], inputs: Iterable[Any],
                     records: Iterable[TraceRecord], source: str | None = None,
                     created: str | None = None) -> bytes:
    """The bytes ``write_recording`` would write (tests, in-memory use)."""
    with paused():
        return _encode(scenario=scenario, policies=policies, inputs=inputs, records=records, source=source,
                       created=created)


def _encode(*, scenario: Any, policies: Mapping[str, Any], inputs: Iterable[Any], records: Iterable[TraceRecord],
            source: str | None, created: str | None) -> bytes:
    out = io.BytesIO()
    writer = RecordingWriter(out, make_header(scenario=scenario, policies=policies, source=source,
                                              created=created), _step_objects(scenario))
    for step in inputs:
        writer.add_input(step)
    writer.add_records(records)
    writer.close()
    return out.getvalue()


