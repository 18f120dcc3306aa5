"""Shared test settings: a Hypothesis profile sized for CI on a 2-core machine, and
deterministic TUI runs (no animations, no real $HOME config)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# Property tests must finish well inside CI's budget; no per-example deadline on a shared,
# noisy machine (speed is measured by benchmarks/, never by tests).
settings.register_profile(
    "wfptui",
    max_examples=int(os.environ.get("WFPTUI_HYPOTHESIS_EXAMPLES", "100")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("wfptui")

os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
