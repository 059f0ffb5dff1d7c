"""The stability claims can say "false": planted false variants are refuted under ``ci`` with a
shrunk counterexample confirmed at 30 and 60 digits, and the true claims stay consistent.

Each counterexample is checked against an oracle the claim's experiment did not compute: the
exact preimage measure (SymPy root isolation), closed-form Hessian eigenvalues, the library's
float64 cycle finder, the closed-form sharpness of the deep linear network.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import pytest

from verify import CheckResult, Verdict, check, find_cycle, gd_stability, load_claims, preimage_measure_exact
from verify.cli import main

from .planted_stability import (
    LargeStepFromOneOverD,
    NonsingularForEveryStep,
    StableBelowThreeOverSharpness,
    WrongTwoCycleMultipliers,
)

PLANTED = Path(__file__).with_name("planted_stability.py")


def assert_refuted(result: CheckResult) -> None:
    """A counterexample found, shrunk (the first candidate confirmed) and confirmed at 30 and 60 digits."""
    assert result.verdict is Verdict.COUNTEREXAMPLE, result.reason
    cx = result.counterexample
    assert cx is not None and cx.confirmed
    assert [d for d, _ in cx.confirmations] == [30, 60]
    assert all(j.violated for _, j in cx.confirmations)
    assert cx.judgement.violated and "shrunk, and confirmed at 30 and 60 digits" in result.reason


def test_nonsingular_for_every_step_is_refuted_by_a_singular_map(tmp_path: Path, capsys) -> None:
    result = check(NonsingularForEveryStep(), profile="ci", out_dir=tmp_path,
                   claim_ref=f"{PLANTED}::nonsingular_for_every_step")
    assert_refuted(result)
    cx = result.counterexample
    assert cx is not None and cx.file is not None
    eta = cx.instance.param("step_size")
    src = cx.instance.source
    if src.name == "figure1":
        # the oracle: exact root isolation; at eta = 1/2 the exterior of [-2, 2] maps to 0 (measure 4 stays)
        assert eta == Fraction(1, 2)
        exact = preimage_measure_exact(src, step_size=eta, radii=["1/1000", "1/1000000"])
        assert all(float(m) >= 4 for m in exact.measures)
    else:   # a quadratic at eta = 1/lambda: det(I - eta H) = 0 everywhere
        import sympy

        H = sympy.Matrix(src.hessian_exprs)
        assert any(sympy.Rational(eta.numerator, eta.denominator) * v == 1 for v in H.eigenvals())
    # the written instance replays: exit 1
    argv = cx.replay.split()[1:] + ["--out", str(tmp_path / "replay"), "--json"]
    assert main(argv) == 1
    assert json.loads(capsys.readouterr().out)["verdict"] == "counterexample"


def test_stability_bound_three_over_sharpness_is_refuted(tmp_path: Path) -> None:
    result = check(StableBelowThreeOverSharpness(), profile="ci", out_dir=tmp_path)
    assert_refuted(result)
    cx = result.counterexample
    assert cx is not None
    eta = cx.instance.param("step_size")
    mu, eigenvalues = gd_stability(cx.instance.source, list(cx.instance.theta0), step_size=eta, dps=40)
    # the oracle (mpmath eigenvalues at 40 digits): the variant said stable (eta h < 3), the minimum is not (mu > 0)
    assert 2 < float(eta) * float(max(eigenvalues)) < 3 and mu > 0
    if cx.instance.source.name.startswith("deep-linear"):      # closed form: h = sum 1 / w_i^2
        assert float(max(eigenvalues)) == pytest.approx(sum(1 / float(w) ** 2 for w in cx.instance.theta0))


def test_wrong_two_cycle_multipliers_are_refuted(tmp_path: Path) -> None:
    result = check(WrongTwoCycleMultipliers(), profile="ci", out_dir=tmp_path)
    assert_refuted(result)
    cx = result.counterexample
    assert cx is not None
    eta = float(cx.instance.param("step_size"))
    k = 2 * 1.765 * eta
    assert k > 1
    # the oracle: the library's float64 cycle finder from the closed-form points p, q on the diagonal
    sigma, root = math.sqrt(1 + 3 / k), math.sqrt(1 - 1 / k)
    p, q = (sigma + root) / 2, (sigma - root) / 2
    cyc = find_cycle(cx.instance.source.np(), eta, [[p, p], [q, q], [p, p], [q, q]])
    assert cyc is not None and cyc.period == 2
    got = sorted(z.real for z in cyc.multipliers)
    assert got == pytest.approx(sorted([9 - 2 * (1 + k) ** 2, 3 - 2 * k]), rel=1e-9)
    assert got != pytest.approx(sorted([9 - (1 + k) ** 2, 3 - 2 * k]), rel=1e-3)
    assert any(o["closed_form_error"] > 1 for o in cx.judgement.evidence["orbits"] if "closed_form_error" in o)


def test_large_step_bound_one_over_depth_is_refuted(tmp_path: Path) -> None:
    result = check(LargeStepFromOneOverD(), profile="ci", out_dir=tmp_path)
    assert_refuted(result)
    cx = result.counterexample
    assert cx is not None
    depth = len(cx.instance.source.network.widths) - 1
    eta = cx.instance.param("step_size")
    assert Fraction(1, depth) < eta <= Fraction(2, depth)
    # the oracle: the balanced minimum has normal eigenvalue D (closed form), so it is GD-stable: mu < 0
    mu, eigenvalues = gd_stability(cx.instance.source, [1] * depth, step_size=eta)
    assert max(eigenvalues) == pytest.approx(depth) and mu < 0
    assert cx.judgement.evidence["converged"] > 0


@pytest.mark.parametrize("claim_id", ["gd_map_nonsingular", "minima_stability_gd_sgd", "gd_periodic_orbits",
                                      "large_step_gd_avoids_minima"])
def test_the_true_claims_stay_consistent_under_ci(claim_id: str, tmp_path: Path) -> None:
    [claim] = load_claims(claim_id)
    result = check(claim, profile="ci", out_dir=tmp_path)
    assert result.verdict is Verdict.CONSISTENT, result.reason
    assert result.counterexample is None and result.instances - result.undecided >= 15
    margins = [float(e["margin"]) for e in result.evidence if e["margin"] is not None]
    assert len(set(margins)) > len(margins) // 2          # continuous margins, not a constant for "it ran"
    if claim_id in ("minima_stability_gd_sgd", "gd_periodic_orbits"):
        # exact-Hessian minima get a certified mu, found cycles a Krawczyk certificate with enclosed multipliers
        assert result.certified > 0 and f"{result.certified} with certificates" in result.reason
