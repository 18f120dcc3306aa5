"""Hostile input through the real entry point (issue 12 item 5).

Each case must end with exit 2 and one message naming the file and the place, within a
subprocess timeout (a hang fails the test): relative app paths, deep TOML nesting, times
that are huge, ``nan`` or ``inf``, 5,000-digit numbers in netsh XML, ``/dev/zero`` and FIFOs
as inputs, XML made of millions of tiny elements, and orphaned temp files of killed saves.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wfptui.io.atomic import ORPHAN_AGE, atomic_write_bytes, remove_orphans

ROOT = Path(__file__).resolve().parent.parent
SC = ROOT / "scenarios"
TCP = (SC / "tcp-connect.toml").read_text(encoding="utf-8")
TIMEOUT = 60


def wfptui(*args: str, cwd: Path = ROOT, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ}
    env.pop("WFPTUI_HEADLESS", None)
    return subprocess.run([sys.executable, "-m", "wfptui", *args], capture_output=True, cwd=cwd, env=env,
                          input=None if stdin is None else stdin.decode(), text=True, timeout=TIMEOUT,
                          encoding="utf-8")


def refused(p: subprocess.CompletedProcess[str], name: str, place: str) -> None:
    """Exit 2, no traceback, and the message names ``name`` and ``place``."""
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert "Traceback" not in p.stderr, p.stderr
    assert f"{name}{place}" in p.stderr, p.stderr


def scenario(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    (tmp_path / "policies").mkdir(exist_ok=True)
    for f in (SC / "policies").iterdir():
        (tmp_path / "policies" / f.name).write_bytes(f.read_bytes())
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("command", ["validate", "run"])
def test_relative_app_path_refused_at_load(tmp_path: Path, command: str) -> None:
    s = scenario(tmp_path, TCP.replace("'C:\\srv\\web.exe'", "'srv/web.exe'"))
    p = wfptui(command, "s.toml", cwd=tmp_path)
    refused(p, "s.toml", ":13:32: application path 'srv/web.exe' is not absolute")
    assert p.stderr.count("s.toml:") == 1, p.stderr  # no follow-on "host has no app" message
    assert s.exists()


@pytest.mark.parametrize("value", ["1e14", "nan", "inf", "-inf", "1_000_001"])
@pytest.mark.parametrize("command", ["validate", "run"])
def test_step_time_out_of_range(tmp_path: Path, command: str, value: str) -> None:
    n = TCP.count("\n")
    scenario(tmp_path, TCP + f'[[step]]\nat = {value}\ndo = "close"\nsocket = "c1"\n')
    p = wfptui(command, "s.toml", cwd=tmp_path)
    refused(p, "s.toml", f":{n + 2}:6: at must be a number of seconds from 0 to 1e+06")


@pytest.mark.parametrize("value", ["nan", "inf", "1e3", "99999999999999999999999"])
def test_bytes_must_be_a_finite_integer(tmp_path: Path, value: str) -> None:
    scenario(tmp_path, TCP.replace("bytes = 1200", f"bytes = {value}"))
    p = wfptui("run", "s.toml", cwd=tmp_path)
    refused(p, "s.toml", ":32:9: bytes ")


@pytest.mark.parametrize("what", ["scenario", "policy"])
@pytest.mark.parametrize("opener,closer", [("[", "]"), ("{a=", "}")])
def test_deep_toml_nesting(tmp_path: Path, what: str, opener: str, closer: str) -> None:
    head = 'name = "x"\n' if what == "scenario" else "[[filter]]\n"
    path = tmp_path / "d.toml"
    path.write_text(head + "x = " + opener * 50_000 + "1" + closer * 50_000 + "\n", encoding="utf-8")
    p = wfptui("validate", str(path))
    refused(p, str(path), ":2:")
    assert "nested too deeply" in p.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
@pytest.mark.parametrize("command", ["validate", "run", "lint"])
def test_fifo_input_is_refused_not_read(tmp_path: Path, command: str) -> None:
    fifo = tmp_path / "f.toml"
    os.mkfifo(fifo)
    p = wfptui(command, str(fifo))
    refused(p, str(fifo), ": cannot read")
    assert "not a regular file" in p.stderr


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
@pytest.mark.parametrize("command", ["validate", "run", "lint", "import"])
def test_dev_zero_input_is_refused(command: str) -> None:
    refused(wfptui(command, "/dev/zero"), "/dev/zero", ": cannot read")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_scenario_policy_from_dev_zero_or_fifo(tmp_path: Path) -> None:
    scenario(tmp_path, TCP.replace("policies/tcp-connect-server.toml", "/dev/zero"))
    refused(wfptui("run", "s.toml", cwd=tmp_path), "s.toml", ":12:10: policy file '/dev/zero': cannot read policy file")
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "p.toml")
        scenario(tmp_path, TCP.replace("policies/tcp-connect-server.toml", "p.toml"))
        p = wfptui("run", "s.toml", cwd=tmp_path)
        refused(p, "s.toml", ":12:10: policy file 'p.toml': cannot read policy file: not a regular file")
        assert p.stderr.count("\n") == 1, p.stderr


def test_dev_stdin_still_works() -> None:
    p = wfptui("validate", "/dev/stdin", cwd=SC, stdin=TCP.encode())
    assert p.returncode == 0, p.stderr
    p = wfptui("validate", "-", cwd=SC, stdin=TCP.encode())
    assert p.returncode == 0, p.stderr


FILTER_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<wfpdiag>\n<filters>\n<item><filterKey>'
               "{11111111-2222-3333-4444-555555555555}</filterKey><displayData><name>F</name><description/>"
               "</displayData><flags/><providerKey/><providerData/>"
               "<layerKey>FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4</layerKey>"
               "<subLayerKey>FWPM_SUBLAYER_UNIVERSAL</subLayerKey><weight><type>FWP_EMPTY</type></weight>"
               "<filterCondition/><action><type>FWP_ACTION_BLOCK</type><filterType/></action>"
               "<rawContext>0</rawContext><reserved/>\n")


def test_five_thousand_digit_number_in_xml(tmp_path: Path) -> None:
    x = tmp_path / "big.xml"
    x.write_text(FILTER_HEAD + "<filterId>" + "9" * 5000 + "</filterId>"
                 "<effectiveWeight><type>FWP_EMPTY</type></effectiveWeight></item>\n</filters>\n</wfpdiag>\n",
                 encoding="utf-8")
    p = wfptui("import", str(x), "-o", str(tmp_path / "o.toml"))
    # A bad filter is skipped with a warning naming its place, or the file is refused.
    assert p.returncode in (0, 2), p.stderr
    assert "Traceback" not in p.stderr
    assert f"{x}:5:1: <filterId>: " in p.stderr and "5000 characters is out of range" in p.stderr, p.stderr


def test_millions_of_tiny_elements_refused(tmp_path: Path) -> None:
    x = tmp_path / "tiny.xml"
    x.write_bytes(b"<wfpdiag>" + b"<a/>" * 2_000_000 + b"</wfpdiag>")
    p = wfptui("import", str(x))
    refused(p, str(x), ":1:")
    assert "more than one element per 30 bytes" in p.stderr


def test_real_dumps_are_within_the_element_budget() -> None:
    from wfptui.io.netsh_xml import read_xml

    for name in ("filters-win11.xml", "wfpstate-win11.xml"):
        read_xml((ROOT / "tests" / "data" / "wfp" / name).read_bytes(), name)


def _dead_pid() -> int:
    p = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(p.stdout)


@pytest.mark.skipif(os.name == "nt", reason="liveness of a pid is not checked on Windows")
def test_orphaned_temp_files_removed_by_next_save(tmp_path: Path) -> None:
    old = time.time() - ORPHAN_AGE - 60
    dead, alive = _dead_pid(), os.getpid()
    orphan = tmp_path / f".x.toml.wfptui-{dead}.abc123.tmp"
    young = tmp_path / f".x.toml.wfptui-{dead}.def456.tmp"
    live = tmp_path / f".y.toml.wfptui-{alive}.ghi789.tmp"
    other = tmp_path / ".notours.tmp"
    for f in (orphan, young, live, other):
        f.write_bytes(b"partial")
    for f in (orphan, live, other):
        os.utime(f, (old, old))
    atomic_write_bytes(tmp_path / "z.toml", b"new")
    assert not orphan.exists()
    assert young.exists() and live.exists() and other.exists()
    assert (tmp_path / "z.toml").read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([young.name, live.name, other.name, "z.toml"])
    assert remove_orphans(tmp_path, now=time.time() + 2 * ORPHAN_AGE) == [young.name]


def test_temp_name_carries_writer_pid(tmp_path: Path) -> None:
    from wfptui.io.atomic import atomic_writer

    with atomic_writer(tmp_path / "a.bin") as f:
        f.write(b"x")
        names = [p.name for p in tmp_path.iterdir()]
    assert len(names) == 1 and f".wfptui-{os.getpid()}." in names[0], names


def test_import_repeated_filter_id_keeps_first_and_validates(tmp_path: Path) -> None:
    item = FILTER_HEAD.split("\n", 3)[3] + ("<filterId>7</filterId><effectiveWeight><type>FWP_UINT64</type><uint64>1</uint64>"
                                            "</effectiveWeight></item>\n")
    x = tmp_path / "dup.xml"
    x.write_text(FILTER_HEAD + "<filterId>7</filterId><effectiveWeight><type>FWP_UINT64</type><uint64>1</uint64>"
                 "</effectiveWeight></item>\n" + item + "</filters>\n</wfpdiag>\n", encoding="utf-8")
    out = tmp_path / "dup.toml"
    p = wfptui("import", str(x), "-o", str(out))
    assert p.returncode == 0, p.stderr
    assert f"{x}:6:1: warning: " in p.stderr and "filterId 7 repeats the filter at line 4" in p.stderr, p.stderr
    v = wfptui("validate", str(out))
    assert v.returncode == 0, v.stderr
    assert "(1 filters," in v.stdout


# ----------------------------------------------------------------------------- generated classes (Hypothesis)

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from wfptui.io.errors import InputError  # noqa: E402


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.integers(0, 4096), limit=st.integers(0, 4096))
def test_reads_are_capped(tmp_path: Path, size: int, limit: int) -> None:
    from wfptui.io.stdio import read_input

    f = tmp_path / "in.bin"
    f.write_bytes(b"x" * size)
    if size > limit:
        with pytest.raises(InputError) as e:
            read_input(str(f), "file", limit=limit)
        assert e.value.diagnostics[0].file == str(f)
    else:
        assert read_input(str(f), "file", limit=limit) == b"x" * size


@settings(max_examples=40)
@given(digits=st.integers(1, 6000), tag=st.sampled_from(["filterId", "uint8", "uint64"]))
def test_long_numbers_in_xml_are_refused_with_their_place(digits: int, tag: str) -> None:
    from wfptui.io.netsh_xml import parse_netsh

    number = "1" + "0" * (digits - 1)
    weight = f"<weight><type>FWP_UINT8</type><{tag}>{number}</{tag}></weight>" if tag != "filterId" else ""
    head = FILTER_HEAD.replace("<weight><type>FWP_EMPTY</type></weight>", weight) if weight else FILTER_HEAD
    doc = (head + ("<filterId>" + number + "</filterId>" if tag == "filterId" else "<filterId>5</filterId>")
           + "<effectiveWeight><type>FWP_UINT64</type><uint64>1</uint64></effectiveWeight></item>\n"
           "</filters>\n</wfpdiag>\n").encode()
    try:
        res = parse_netsh(doc, "n.xml")
    except InputError as e:
        assert all(d.file == "n.xml" and d.line >= 4 for d in e.diagnostics), e.diagnostics
    else:
        assert res.filters or res.warnings


@settings(max_examples=30)
@given(n=st.integers(0, 20_000), pad=st.integers(0, 40))
def test_element_budget(n: int, pad: int) -> None:
    from wfptui.io.netsh_xml import _ELEMENT_SLACK, BYTES_PER_ELEMENT, read_xml

    doc = b"<wfpdiag>" + (b"<a/>" + b" " * pad) * n + b"</wfpdiag>"
    within = n + 1 <= len(doc) // BYTES_PER_ELEMENT + _ELEMENT_SLACK
    try:
        read_xml(doc, "e.xml")
        assert within
    except InputError as e:
        assert not within and "element per" in e.diagnostics[0].message


@pytest.mark.skipif(os.name == "nt", reason="liveness of a pid is not checked on Windows")
@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.lists(st.tuples(st.integers(0, 3 * int(ORPHAN_AGE)), st.booleans()), max_size=6))
def test_orphans_removed_iff_old_and_dead(tmp_path: Path, files: list[tuple[int, bool]]) -> None:
    now = time.time()
    dead = _dead_pid()
    folder = tmp_path / f"d{len(list(tmp_path.iterdir()))}"
    folder.mkdir()
    expect_removed = set()
    for i, (age, alive) in enumerate(files):
        f = folder / f".t{i}.toml.wfptui-{os.getpid() if alive else dead}.r{i}.tmp"
        f.write_bytes(b"p")
        os.utime(f, (now - age, now - age))
        if age > ORPHAN_AGE + 5 and not alive:
            expect_removed.add(f.name)
        elif ORPHAN_AGE - 5 <= age <= ORPHAN_AGE + 5:
            f.unlink()  # too close to the boundary to assert either way
    assert set(remove_orphans(folder, now=now)) == expect_removed


def test_xml_tree_memory_bounded_at_the_element_budget() -> None:
    """The densest document the budget accepts: its tree takes at most ~10x the file."""
    import tracemalloc

    from wfptui.io.netsh_xml import BYTES_PER_ELEMENT, read_xml

    size = 2_000_000
    n = size // BYTES_PER_ELEMENT
    doc = b"<wfpdiag>" + b"<a/>" * n + b" " * (size - 4 * n) + b"</wfpdiag>"
    tracemalloc.start()
    try:
        tree = read_xml(doc, "m.xml")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(tree[0].children) == n
    assert peak <= 11 * len(doc), peak / len(doc)
