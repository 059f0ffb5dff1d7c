"""Test configuration: Hypothesis profiles and mpmath hygiene."""

from __future__ import annotations

import os
from pathlib import Path

import mpmath
import pytest
from hypothesis import HealthCheck, settings

# SymPy and mpmath work is slow compared with Hypothesis' default deadline: no deadlines.
settings.register_profile("ci", derandomize=True, deadline=None, max_examples=25, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", deadline=None, max_examples=300,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


@pytest.fixture(autouse=True)
def _mpmath_precision_restored():
    """No test may leak a change of mpmath's global precision into another."""
    before = mpmath.mp.prec
    yield
    after = mpmath.mp.prec
    mpmath.mp.prec = before
    assert after == before, f"mpmath.mp.prec changed from {before} to {after}"

pytest_plugins = ["pytester"]
