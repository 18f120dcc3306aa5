"""Atomic saves: a writer killed at any moment leaves the old recording or the new one, whole."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.io.recording_samples import synthetic_records
from wfptui.io.atomic import atomic_write_bytes, atomic_write_text, atomic_writer
from wfptui.io.recording import read_recording, write_recording

ROOT = Path(__file__).resolve().parents[2]

WRITER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {root!r})
    from tests.io.recording_samples import synthetic_records
    from wfptui.io.recording import write_recording
    path = sys.argv[1]
    small = synthetic_records(500, seed=2)
    big = synthetic_records(60000, seed=3)
    scen = {{"name": "kill", "hosts": []}}
    print("ready", flush=True)
    i = 0
    while True:
        recs = big if i % 2 == 0 else small
        write_recording(path, scenario=scen, policies={{}}, inputs=[], records=recs)
        i += 1
""")


def test_killed_writer_leaves_a_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "rec.wfpr"
    write_recording(target, scenario={"name": "kill", "hosts": []}, policies={}, inputs=[],
                    records=synthetic_records(500, seed=2))
    valid_counts = {501, 60001}
    script = tmp_path / "writer.py"
    script.write_text(WRITER.format(root=str(ROOT)), encoding="utf-8")
    rnd = random.Random(7)
    runs = 12
    for _ in range(runs):
        proc = subprocess.Popen([sys.executable, str(script), str(target)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == b"ready", proc.stderr.read() if proc.stderr else b""
        # One write cycle (60,000 records, then 500) takes ~0.15 s here: a kill anywhere in
        # the first two cycles lands at a random phase of a write as well as a longer wait would.
        time.sleep(rnd.uniform(0.0, 0.3))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        rec = read_recording(target)  # raises on a half file
        assert len(rec.records) + len(rec.inputs) in valid_counts
        assert rec.count in valid_counts
        for r in rec.records[:50]:
            r.to_dict()


def test_atomic_write_helpers(tmp_path: Path) -> None:
    p = tmp_path / "f.txt"
    atomic_write_text(p, "one\r\ntwo\n")
    assert p.read_bytes() == b"one\r\ntwo\n"
    os.chmod(p, 0o640)
    atomic_write_bytes(p, b"new")
    assert p.read_bytes() == b"new"
    assert (os.stat(p).st_mode & 0o777) == 0o640
    with pytest.raises(RuntimeError), atomic_writer(p) as f:
        f.write(b"half")
        raise RuntimeError("boom")
    assert p.read_bytes() == b"new"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["f.txt"]
