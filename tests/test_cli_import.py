"""``wfptui import`` (spec §2): exit codes, warnings on stderr, atomic output that validates,
hostile input refused with one clear message, and the progress bar (io/progress.py)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from wfptui.cli import main
from wfptui.io.policy_file import load_policy
from wfptui.io.progress import Progress

DATA = Path(__file__).resolve().parent / "data" / "wfp"  # copies, see its README

FILTER = (
    "<item><filterKey>{11111111-2222-3333-4444-555555555555}</filterKey><displayData><name>Block SMB</name>"
    "<description/></displayData><flags/><providerKey/><providerData/>"
    "<layerKey>FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4</layerKey><subLayerKey>FWPM_SUBLAYER_UNIVERSAL</subLayerKey>"
    "<weight><type>FWP_UINT8</type><uint8>10</uint8></weight><filterCondition numItems=\"1\"><item>"
    "<fieldKey>FWPM_CONDITION_IP_LOCAL_PORT</fieldKey><matchType>FWP_MATCH_EQUAL</matchType>"
    "<conditionValue><type>FWP_UINT16</type><uint16>445</uint16></conditionValue></item></filterCondition>"
    "<action><type>FWP_ACTION_BLOCK</type><filterType/></action><rawContext>0</rawContext><reserved/>"
    "<filterId>4242</filterId><effectiveWeight><type>FWP_UINT64</type><uint64>11529215046068469761</uint64>"
    "</effectiveWeight>{extra}</item>"
)


def _doc(extra: str = "") -> str:
    return "\ufeff<?xml version=\"1.0\"?>\n<wfpdiag>\n<filters>\n" + FILTER.replace("{extra}", extra) + "\n</filters>\n</wfpdiag>\n"


def test_import_writes_a_valid_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "filters.xml"
    src.write_text(_doc(), encoding="utf-8")
    out = tmp_path / "policy.toml"
    assert main(["import", str(src), "-o", str(out), "--check"]) == 0
    err = capsys.readouterr().err
    assert "imported 1 of 1 filters" in err and "0 warnings" in err
    policy = load_policy(out)
    (f,) = policy.filters
    assert (f.key, f.filter_id, f.effective_weight) == ("block-smb-4242", 4242, 11529215046068469761)
    assert main(["validate", str(out)]) == 0


def test_import_to_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "filters.xml"
    src.write_text(_doc(), encoding="utf-8")
    assert main(["import", str(src)]) == 0
    captured = capsys.readouterr()
    assert 'key = "block-smb-4242"' in captured.out
    assert "\r" not in captured.err  # no progress bar when not on a terminal


def test_warnings_printed_counted_and_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "filters.xml"
    src.write_text(_doc("<futureElement>1</futureElement>"), encoding="utf-8")
    out = tmp_path / "policy.toml"
    assert main(["import", str(src), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"{src}:4:" in err and "warning: unknown element <futureElement>" in err
    assert "1 warning" in err
    assert main(["import", str(src), "-o", str(out), "--strict", "-q"]) == 2
    err = capsys.readouterr().err
    assert "futureElement" not in err and "--strict" in err


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ('<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "b">]>\n<wfpdiag/>', ":2:"),
        ("<wfpdiag>\n<filters>\n<item>\n</filters>", ":4:"),
        ("", "no element found"),
    ],
)
def test_bad_input_exit_2_one_message(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expect: str) -> None:
    src = tmp_path / "bad.xml"
    src.write_text(text, encoding="utf-8")
    out = tmp_path / "policy.toml"
    assert main(["import", str(src), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(src) in err and expect in err and "Traceback" not in err
    assert not out.exists()  # nothing written on bad input


def test_missing_file_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(tmp_path / "nope.xml"), "-o", str(tmp_path / "p.toml")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_existing_output_untouched_on_bad_input(tmp_path: Path) -> None:
    src = tmp_path / "bad.xml"
    src.write_text("<wfpdiag>", encoding="utf-8")
    out = tmp_path / "policy.toml"
    out.write_text("# mine\n", encoding="utf-8")
    assert main(["import", str(src), "-o", str(out)]) == 2
    assert out.read_text(encoding="utf-8") == "# mine\n"


def test_real_state_dump_then_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "state.toml"
    assert main(["import", str(DATA / "wfpstate-win11.xml"), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "`netsh wfp show state` dump: imported 1050 of 1050 filters" in err
    assert main(["validate", str(out)]) == 0


# ----------------------------------------------------------------------------- progress bar


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_on_terminal_and_erases() -> None:
    s = _Tty()
    with Progress(100, "import x", stream=s, enabled=True, min_interval=0) as bar:
        bar.advance(50)
        assert "import x [" in s.getvalue() and " 50%" in s.getvalue()
        bar.advance(50)
        assert "100%" in s.getvalue()
    assert s.getvalue().endswith("\r")


def test_progress_silent_when_not_a_terminal() -> None:
    s = io.StringIO()
    with Progress(100, "x", stream=s) as bar:
        bar.advance(100)
    assert s.getvalue() == ""
    with Progress(100, "x", stream=_Tty(), enabled=False) as bar:
        bar.advance(10)
        assert bar.render().endswith(" 10%")


def test_progress_delay_hides_short_work() -> None:
    """``delay``: nothing drawn before it passes (the TUI's pre-run of a short scenario)."""
    import time

    s = _Tty()
    with Progress(10, "run", stream=s, enabled=True, min_interval=0, delay=60) as bar:
        bar.advance(5)
        assert s.getvalue() == ""
    assert s.getvalue() == ""
    with Progress(10, "run", stream=s, enabled=True, min_interval=0, delay=0.01) as bar:
        time.sleep(0.02)
        bar.advance(5)
        assert " 50%" in s.getvalue()
