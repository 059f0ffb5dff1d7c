"""Shallow ReLU claims (theorems.md section 2): exact oracles for the classified points and the claims' verdicts."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import sympy

from verify import (
    ExprLandscape,
    InputError,
    Instance,
    NpLandscape,
    check,
    landscape,
    load_claims,
    parse_problem,
    relu_constant_fit_point,
    relu_critical_values,
    relu_problem,
    relu_setting,
    relu_zigzag_point,
    wilson_upper,
)


def _quadrature_loss(problem, theta) -> float:
    """An independent oracle: the integral of (N(x) - f(x))^2 by the composite trapezoid rule on
    a fine grid, with N evaluated directly from theta (not through any landscape)."""
    s = relu_setting(problem)
    n = s.n_hidden
    th = np.array([float(v) for v in theta])
    w, b, v, c = th[:n], th[n:2 * n], th[2 * n:3 * n], th[-1]
    x = np.linspace(float(s.a), float(s.b), 400_001)
    z = np.outer(x, w) + b
    act = np.where(z > 0, z, float(s.slope) * z)
    err = act @ v + c - (float(s.alpha) * x + float(s.beta))
    return float(np.trapezoid(err ** 2, x)) if hasattr(np, "trapezoid") else float(np.trapz(err ** 2, x))


@pytest.mark.parametrize("k", [2, 4])
def test_zigzag_is_exactly_critical_with_the_classified_value(k: int) -> None:
    prob = relu_problem(k, alpha=2, beta=1)
    theta = relu_zigzag_point(prob, k)
    exact = landscape(prob, tier="exact")
    assert all(g == 0 for g in exact.grad(theta))
    assert exact.loss(theta) == sympy.Rational(4, 12 * (k + 1) ** 4)
    assert _quadrature_loss(prob, theta) == pytest.approx(4 / (12 * (k + 1) ** 4), rel=1e-8)
    # the knots are at i/(k+1) and the realization interpolates f at the piece midpoints
    n = k
    knots = sorted(-theta[n + j] / theta[j] for j in range(n))
    assert knots == [Fraction(i, k + 1) for i in range(1, k + 1)]
    # the slopes alternate alpha k/(k+1), alpha (k+2)/(k+1) (float64 oracle on the midpoints)
    npl = NpLandscape(prob)
    mids = np.array([(i + 0.5) / (k + 1) for i in range(k + 1)])
    out = npl.realization(np.array([float(v) for v in theta]), mids.reshape(-1, 1)).ravel()
    assert out == pytest.approx(2 * mids + 1, abs=1e-13)


def test_zigzag_is_the_example_file_point() -> None:
    from verify import load_problem

    from .conftest import EXAMPLES

    prob = load_problem(EXAMPLES / "relu-zigzag.toml")
    assert relu_zigzag_point(prob, 2) == prob.initial_exact()


def test_values_scale_by_the_cube_of_the_length_and_dead_neurons_do_not_matter() -> None:
    prob = relu_problem(3, alpha="-3/2", beta="1/3", interval=("-1/2", "3/2"))   # b - a = 2
    alpha2_len3 = Fraction(9, 4) * 8
    theta = relu_zigzag_point(prob, 2)              # one strictly dead neuron
    exact = landscape(prob, tier="exact")
    assert exact.loss(theta) == sympy.Rational(alpha2_len3 / (12 * 81)) and all(g == 0 for g in exact.grad(theta))
    assert _quadrature_loss(prob, theta) == pytest.approx(float(alpha2_len3 / (12 * 81)), rel=1e-7)
    fit = relu_constant_fit_point(prob)
    assert fit[-1] == Fraction(-3, 2) * Fraction(1, 2) + Fraction(1, 3)      # f((a + b)/2)
    assert exact.loss(fit) == sympy.Rational(alpha2_len3 / 12) and all(g == 0 for g in exact.grad(fit))
    assert relu_critical_values(prob) == (0, alpha2_len3 / 1 / (12 * 81), alpha2_len3 / 12)


def test_leaky_constant_fit_is_critical_and_the_zigzag_is_relu_only() -> None:
    prob = relu_problem(2, alpha=2, beta=1, activation="leaky_relu", slope="1/4")
    fit = relu_constant_fit_point(prob)
    assert fit == (0, 0, 0, 0, 0, 0, 2)
    exact = landscape(prob, tier="exact")
    assert exact.loss(fit) == sympy.Rational(1, 3) and all(g == 0 for g in exact.grad(fit))
    assert _quadrature_loss(prob, fit) == pytest.approx(1 / 3, rel=1e-9)
    with pytest.raises(InputError, match="relu networks"):
        relu_zigzag_point(prob, 2)
    with pytest.raises(InputError, match=r"^k = 3"):
        relu_zigzag_point(relu_problem(3), 3)
    with pytest.raises(InputError, match=r"^k = 4"):
        relu_zigzag_point(relu_problem(3), 4)


def test_zigzag_is_a_strict_saddle_by_exact_inertia() -> None:
    from theorems.relu_critical_points_classified import exact_checks

    rows = exact_checks(relu_problem(2, alpha=2, beta=1), inertia=True)
    zz = [r for r in rows if r["point"].startswith("zig-zag")]
    assert zz[0]["inertia"] == [2, 2, 3] and zz[0]["kind"] == "saddle"
    fit = next(r for r in rows if r["point"].startswith("constant"))
    assert fit["inertia"] == [0, 6, 1]       # dead neurons: a flat, non-global local minimum


def test_wilson_upper_bound() -> None:
    z2 = 1.959963984540054 ** 2
    assert wilson_upper(0, 100) == pytest.approx(z2 / (100 + z2), rel=1e-12)
    # 5 of 20 at 95%: the textbook interval (0.1119, 0.4687)
    assert wilson_upper(5, 20) == pytest.approx(0.4687, abs=1e-4)
    with pytest.raises(InputError, match=r"^successes"):
        wilson_upper(3, 2)


def test_setting_reasons() -> None:
    tanh = parse_problem('[network]\nwidths = [1, 2, 1]\nactivation = "tanh"\n[data]\ninterval = ["0", "1"]\n'
                         '[target]\nexpr = "x"\n')
    assert "tanh" in relu_setting(tanh)
    square = parse_problem('[network]\nwidths = [1, 2, 1]\nactivation = "relu"\n[data]\ninterval = ["0", "1"]\n'
                           '[target]\nexpr = "x**2"\n')
    assert "not affine" in relu_setting(square)
    two_in = parse_problem('[network]\nwidths = [2, 2, 1]\nactivation = "relu"\n[data]\n'
                           'points = [["0", "1"], ["1", "0"]]\n[target]\nexpr = "x1 + x2"\n')
    assert "2 inputs" in relu_setting(two_in)
    with pytest.raises(InputError, match=r"^problem"):
        relu_constant_fit_point(tanh)


# ---------------------------------------------------------------------------------------
# The claims
# ---------------------------------------------------------------------------------------

CLAIMS = ["relu_critical_points_classified", "gd_avoids_relu_saddles", "relu_threshold_implies_global_minimum"]


@pytest.mark.parametrize("cid", CLAIMS)
def test_relu_claims_are_not_applicable_outside_their_hypotheses(cid: str) -> None:
    claim = load_claims(cid)[0]
    smooth = parse_problem('[network]\nwidths = [1, 2, 1]\nactivation = "tanh"\n[data]\ninterval = ["0", "1"]\n'
                           '[target]\nexpr = "x"\n')
    res = check(claim, instance=Instance(smooth, None, {"seed": 0}))
    assert res.verdict == "not_applicable" and "tanh" in res.reason
    assert claim.check_hypotheses(Instance(relu_problem(2), None, {"seed": 0})) is None
    assert "not affine" in claim.check_hypotheses(Instance(parse_problem(
        '[network]\nwidths = [1, 2, 1]\nactivation = "relu"\n[data]\ninterval = ["0", "1"]\n[target]\nexpr = "x**2"\n'),
        None, {"seed": 0}))


def test_critical_points_claim_on_given_instances() -> None:
    claim = load_claims("relu_critical_points_classified")[0]
    for prob in (relu_problem(2, alpha=2, beta=1), relu_problem(2, activation="leaky_relu", slope="1/4")):
        res = check(claim, profile="quick", instance=Instance(prob, None, {"seed": 3}))
        assert res.verdict == "consistent", res.reason
        ev = res.evidence[0]["evidence"]
        assert all(r["grad_zero"] and r["loss_matches"] for r in ev["exact_checks"])
        assert any(r["relative_value"] < 1e-12 for r in ev["found"])     # the global minimum is found


def test_gd_claim_quick_search_and_both_sides() -> None:
    res = check(load_claims("gd_avoids_relu_saddles")[0], profile="quick")
    assert res.verdict == "consistent", res.reason
    ev = res.evidence[0]["evidence"]
    assert ev["ended_at_saddle"] == 0 and 0 < ev["wilson_upper"] < 0.1
    assert sum(ev["outcome_histogram"].values()) == ev["runs"]
    assert ev["stable_set"]["constant_fit_saddle"]["invariant_exact"] is True
    assert ev["stable_set"]["constant_fit_saddle"]["converged"] is True


def test_threshold_claim_given_instances() -> None:
    claim = load_claims("relu_threshold_implies_global_minimum")[0]
    res = check(claim, profile="quick", instance=Instance(relu_problem(2), None, {"seed": 1}))
    assert res.verdict == "consistent", res.reason
    ev = res.evidence[0]["evidence"]
    assert ev["threshold"] == pytest.approx(4 / 972) and ev["crossed"] > 0


def test_null_basin_claim_quick_search_and_hypotheses() -> None:
    from theorems.center_stable_manifold_null_basin import gd_map_instance

    claim = load_claims("center_stable_manifold_null_basin")[0]
    res = check(claim, profile="quick")
    assert res.verdict == "consistent", res.reason
    one = check(claim, instance=gd_map_instance(1, 1, 1, 0, "1/2", dim=1))
    ev = one.evidence[0]["evidence"]
    # y* = sqrt((1 + eta b)/(eta c)) = sqrt(3) is mapped to 0 exactly; float64 cannot start there
    assert ev["exact_preimage"]["y_star"] == "sqrt(3)" and ev["exact_preimage"]["G(y_star)_exact"] == "0"
    assert abs(ev["exact_preimage"]["float64_run_from_y_star_ends_at"]) == pytest.approx(1.0)
    assert ev["stable_set_landed"] == ev["stable_set_starts"] and ev["landed"] == []
    # det DG = 0 identically (eta a = 1, e = 0): not applicable; a minimum (no repelling direction): not applicable
    assert check(claim, instance=gd_map_instance(1, 1, 1, 0, 1)).verdict == "not_applicable"
    bowl = Instance(ExprLandscape("x**2 + y**2", ["x", "y"]), None, {"step_size": "1/10"})
    res = check(claim, instance=bowl)
    assert res.verdict == "not_applicable" and "modulus > 1" in res.reason
    assert check(claim, instance=Instance(relu_problem(1), None, {"step_size": "1/10"})).verdict == "not_applicable"
