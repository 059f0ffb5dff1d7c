"""The four shallow-ReLU claims can say "false": each planted false variant (``planted_relu.py``) is
refuted under ``ci`` with a counterexample that is shrunk and confirmed at 30 and 60 digits, for the
reason the variant is false; the true claims stay consistent under ``ci``.

The oracles are the closed forms of the setting: the zig-zag value alpha^2 (b-a)^3 / (12 (k+1)^4),
the constant fit alpha^2 (b-a)^3 / 12 (exact rationals, not computed by the claims), and GD on the
invariant set {w = b = v = 0}, c -> c - 2 eta (b - a)(c - f((a+b)/2)).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from verify import Verdict, check, load_claims, relu_setting

from .planted_relu import (
    GdFromZeroHiddenLayerAvoidsSaddles,
    NoZigzagSaddles,
    NullBasinWithoutRepellingDirection,
    ReluNoSpuriousMinima,
    ThresholdAboveConstantFit,
    ZigzagValueCubed,
)


def _refuted(claim: Any, tmp_path: Path) -> Any:
    result = check(claim, profile="ci", out_dir=tmp_path)
    assert result.verdict is Verdict.COUNTEREXAMPLE, result.reason
    cx = result.counterexample
    assert cx is not None and cx.confirmed and cx.file is not None
    assert [d for d, _ in cx.confirmations] == [30, 60]
    assert all(j.violated for _, j in cx.confirmations)
    assert "shrunk, and confirmed at 30 and 60 digits" in result.reason
    return cx


def _scale(problem: Any) -> Fraction:
    s = relu_setting(problem)
    assert not isinstance(s, str)
    return s.alpha ** 2 * s.length ** 3


@pytest.mark.parametrize("claim", [ZigzagValueCubed(), NoZigzagSaddles()], ids=lambda c: c.id)
def test_wrong_critical_values_are_refuted_by_the_zigzag_value(claim: Any, tmp_path: Path) -> None:
    cx = _refuted(claim, tmp_path)
    prob = cx.instance.source
    assert prob.network.activation == "relu" and prob.network.widths[1] == 2    # shrunk: the smallest N drawn
    zigzag = _scale(prob) / (12 * 3 ** 4)                                        # the closed form, k = 2
    for _, j in cx.confirmations:
        ev = j.evidence
        worst = ev["worst"]
        assert worst["test"] == "value"
        # a critical point the claim does not list, at the zig-zag value (to the confirmation's digits)
        bad = [p for p in ev["deciding_points"] if p.get("refined") and not p["listed"]]
        assert any(abs(Fraction(p["value"]) - zigzag) < Fraction(1, 10**12) for p in bad)
    if isinstance(claim, NoZigzagSaddles):
        # the conjecture describes no zig-zag point: only the independent search could find it
        assert cx.confirmations[0][1].evidence["worst"]["point"].startswith("search point")
        assert all(not r["point"].startswith("zig-zag") for r in cx.judgement.evidence["exact_checks"])


def test_no_spurious_relu_minima_is_refuted_by_dead_neurons(tmp_path: Path) -> None:
    cx = _refuted(ReluNoSpuriousMinima(), tmp_path)
    prob = cx.instance.source
    assert prob.network.activation == "relu" and prob.network.widths[1] == 2    # the smallest N drawn
    for _, j in cx.confirmations:
        worst = j.evidence["worst"]
        assert worst["test"] == "kind"
        # the constant fit with a dead neuron: value alpha^2 (b-a)^3 / 12, a certified minimum
        fit = next(r for r in j.evidence["exact_checks"] if r["point"].startswith("constant fit"))
        lo, hi = (Fraction(v) for v in fit["loss_enclosure"])
        assert lo <= _scale(prob) / 12 <= hi and fit["kind"] == "minimum" and fit["certified"]


def test_gd_from_a_zero_hidden_layer_is_refuted_by_the_constant_fit_saddle(tmp_path: Path) -> None:
    cx = _refuted(GdFromZeroHiddenLayerAvoidsSaddles(), tmp_path)
    prob = cx.instance.source
    s = relu_setting(prob)
    assert prob.network.widths[1] == 1
    fit = float(s.target((s.a + s.b) / 2))
    for _, j in cx.confirmations:
        runs = j.evidence["deciding_runs"]
        assert all(r["kind"] == "saddle (w = b = 0)" and r["margin"] < 0 for r in runs)
    # the float64 run ends where the closed form says: c = f((a + b)/2), the hidden layer 0
    stable = cx.judgement.evidence["stable_set"]["constant_fit_saddle"]
    assert stable["invariant"] and stable["converged"]
    assert fit == pytest.approx(float(s.alpha) * float(s.a + s.b) / 2 + float(s.beta))


def test_a_threshold_above_the_constant_fit_is_refuted(tmp_path: Path) -> None:
    cx = _refuted(ThresholdAboveConstantFit(), tmp_path)
    prob = cx.instance.source
    assert prob.network.activation == "relu" and prob.network.widths[1] == 1
    fit = _scale(prob) / 12
    for _, j in cx.confirmations:
        worst = min(j.evidence["deciding_runs"], key=lambda r: r["margin"])
        assert worst["kind"] == "stationary above zero"
        assert abs(Fraction(worst["loss"]) - fit) < Fraction(1, 10**5) * fit     # stuck at the constant fit


def test_a_null_basin_without_a_repelling_direction_is_refuted(tmp_path: Path) -> None:
    cx = _refuted(NullBasinWithoutRepellingDirection(), tmp_path)
    for _, j in cx.confirmations:
        assert j.evidence["outcome"] == "landed"
        assert all(r["margin"] < 0 for r in j.evidence["deciding_starts"])
    # the theorem's own hypothesis check rejects the instance (no eigenvalue of modulus > 1)
    true_claim = load_claims("center_stable_manifold_null_basin")[0]
    assert "modulus > 1" in (true_claim.check_hypotheses(cx.instance) or "")


@pytest.mark.parametrize("cid", ["relu_critical_points_classified", "gd_avoids_relu_saddles",
                                 "relu_threshold_implies_global_minimum", "center_stable_manifold_null_basin"])
def test_the_true_claims_stay_consistent(cid: str, tmp_path: Path) -> None:
    result = check(load_claims(cid)[0], profile="ci", out_dir=tmp_path)
    assert result.verdict is Verdict.CONSISTENT, result.reason
    assert result.instances - result.undecided >= 30 and result.counterexample is None
    assert not (tmp_path / "counterexamples").exists()
