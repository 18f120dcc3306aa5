"""``io.heap.long_lived``: the collector off while a command builds its data, on (with
that data frozen) after ``keep()``, and everything as it was at the end — also when the
command fails, and whether or not the collector was on before."""

from __future__ import annotations

import gc

import pytest

from wfptui.io.heap import long_lived


@pytest.mark.parametrize("enabled", [True, False])
def test_off_then_kept_then_as_before(enabled: bool) -> None:
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        with long_lived() as keep:
            assert not gc.isenabled()
            assert gc.get_freeze_count() == 0
            data = [[i] for i in range(1000)]
            keep()
            assert gc.isenabled() is enabled
            assert gc.get_freeze_count() >= len(data)
        assert gc.isenabled() is enabled
        assert gc.get_freeze_count() == 0
    finally:
        (gc.enable if was else gc.disable)()


def test_a_failing_command_leaves_the_collector_as_it_was() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), long_lived() as keep:
        keep()
        raise RuntimeError("the command failed")
    assert gc.isenabled() and gc.get_freeze_count() == 0
    with pytest.raises(RuntimeError), long_lived():
        raise RuntimeError("before keep")
    assert gc.isenabled() and gc.get_freeze_count() == 0
