"""tools/gen_capture.py writes captures io.evidence reads: deterministic, resolvable, mixed."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from wfptui.core.layers import get_layer
from wfptui.io.evidence import read_evidence

TOOL = Path(__file__).resolve().parents[2] / "tools" / "gen_capture.py"


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_capture", TOOL)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["gen_capture"] = mod
    spec.loader.exec_module(mod)
    return mod


GEN = _tool()


def test_deterministic_by_seed(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.xml", tmp_path / "b.xml", tmp_path / "c.xml"
    GEN.main(["--events", "60", "--out", str(a), "--seed", "5"])
    GEN.main(["--events", "60", "--out", str(b), "--seed", "5"])
    GEN.main(["--events", "60", "--out", str(c), "--seed", "6"])
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()


@pytest.mark.parametrize("kind", ["netevents", "wfpdiag"])
def test_generated_capture_reads_back(tmp_path: Path, kind: str) -> None:
    out = tmp_path / "cap.xml"
    GEN.main(["--events", "400", "--out", str(out), "--kind", kind, "--seed", "1"])
    e = read_evidence(out, progress=False)
    assert e.kind == kind and not e.truncated
    assert sum(e.type_counts.values()) == 400 == len(e.observations)
    assert {"CLASSIFY_DROP", "CLASSIFY_ALLOW"} <= set(e.type_counts)
    assert set(e.type_counts) - {"CLASSIFY_DROP", "CLASSIFY_ALLOW"}  # some not simulated
    obs = e.observations
    assert any(o.ip_version == 6 for o in obs) and any(o.protocol == 17 for o in obs)
    drops = [o for o in obs if o.type == "CLASSIFY_DROP"]
    assert {o.layer_id for o in drops} <= {44, 46} and {o.direction for o in drops} == {"inbound"}
    assert {o.layer_id for o in obs if o.type == "CLASSIFY_ALLOW"} <= {48, 50}
    # half distinct connection attempts, the rest repeats
    key = [(o.type, o.local_addr, o.local_port, o.remote_addr, o.remote_port, o.protocol, o.app_id) for o in obs]
    assert len(set(key)) == 200
    assert [o.time_ns for o in obs] == sorted(o.time_ns or 0 for o in obs)
    if kind == "wfpdiag":
        assert e.policy is not None and len(e.policy.filters) == 990
        by_id = {f.filter_id: f for f in e.policy.filters}
        for o in obs:
            if o.simulated:
                f = by_id[o.filter_id or 0]
                assert get_layer(f.layer).layer_id == o.layer_id
                assert o.terminating[0].filter_id == o.filter_id
