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
    Tier,
    check,
    get_profile,
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


def _scale(problem) -> Fraction:
    s = relu_setting(problem)
    return s.alpha ** 2 * s.length ** 3


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

    from ..conftest import EXAMPLES

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


def test_zigzag_is_a_certified_strict_saddle_and_the_fit_a_minimum() -> None:
    from theorems.relu_critical_points_classified import certified_points

    prob = relu_problem(2, alpha=2, beta=1)
    certs = {label: cert for label, _, cert in certified_points(prob)}
    zz, fit = certs["zig-zag k = 2"], certs["constant fit (k = 0)"]
    assert zz.certified and zz.inertia == (2, 2, 3) and zz.kind == "saddle" and zz.exact_gradient_zero
    assert fit.certified and fit.inertia == (0, 6, 1) and fit.kind == "minimum"   # dead neurons: non-global
    # independent oracle: the float64 Hessian's eigenvalue signs at the same exact points
    for label, theta, cert in certified_points(prob):
        lam = np.linalg.eigvalsh(NpLandscape(prob).hessian(np.array([float(v) for v in theta])))
        tol = 1e-9 * np.abs(lam).max()
        assert (int((lam < -tol).sum()), int((abs(lam) <= tol).sum()), int((lam > tol).sum())) == cert.inertia, label
    lo, hi = (Fraction(v) for v in zz.loss_enclosure)
    assert lo <= Fraction(4, 12 * 81) <= hi


def test_the_structured_search_reaches_every_zigzag_value() -> None:
    # the search's starts use no critical value; the oracle is the closed form 1/(12 (k+1)^4)
    from theorems._relu_common import float64_points

    for n, alpha, interval in ((2, "1", (0, 1)), (3, "-5/2", ("-1/2", "1")), (4, "3", ("1", "3"))):
        prob = relu_problem(n, alpha=alpha, beta="1/3", interval=interval)
        scale = float(_scale(prob))
        for seed in (0, 1):
            stage = float64_points(prob, seed, reps=1, normal=4)
            values = NpLandscape(prob).loss(stage["points"]) / scale
            for k in range(2, n + 1, 2):
                assert np.any(np.abs(values - 1 / (12 * (k + 1) ** 4)) < 1e-9), (n, seed, k)


def test_refinement_reaches_the_exact_zigzag_at_high_precision() -> None:
    from theorems._relu_common import refine

    prob = relu_problem(3, alpha=2, beta=1)
    exact = relu_zigzag_point(prob, 2)
    start = np.array([float(v) for v in exact]) + 1e-7 * np.random.default_rng(0).normal(size=prob.n_params)
    tier = Tier.mp(40)
    theta, gnorm, ok, its = refine(tier, tier.landscape(prob), start, gtol=tier.tol(1e-10))
    assert ok and its <= 10 and gnorm < 1e-25          # tol(1e-10) at 40 digits: 10^(-25.6)
    # on the critical manifold through the zig-zag: the value is the closed form to the working digits
    assert abs(tier.exact_of(tier.landscape(prob).loss(theta)) - Fraction(4, 12 * 81)) < Fraction(1, 10**35)


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
        assert all(r["grad_zero"] is not False for r in ev["exact_checks"])
        assert 0.0 in ev["found_values_relative"]                    # the global minimum is found
        if prob.network.activation == "relu":
            assert ev["listed_value_hits"]["1/243"] > 0              # and the zig-zag value
            assert res.certified == 1


def test_critical_points_margin_is_the_distance_to_the_listed_values() -> None:
    # the same instance judged against a list that misses the zig-zag value: the margin is
    # 1 - dist / (tol alpha^2 (b-a)^3), with dist = 1/243 (the zig-zag's value, nearest listed 0)
    from theorems.relu_critical_points_classified import VALUE_TOL, ReluCriticalPointsClassified

    class Missing(ReluCriticalPointsClassified):
        def critical_values(self, problem):
            return (Fraction(0), Fraction(1, 3))

    inst = Instance(relu_problem(2, alpha=2, beta=1), None, {"seed": 3})
    prof = get_profile("quick")
    for tier in (Tier.float64(), Tier.mp(25)):
        j = Missing().experiment(inst, prof, tier)
        expected = 1 - Fraction(1, 243) / 4 / tier.exact_of(tier.tol(VALUE_TOL))
        assert abs(tier.exact_of(j.margin) / expected - 1) < 1e-6
        assert ReluCriticalPointsClassified().experiment(inst, prof, tier).margin > 0.99


def test_beyond_the_search_is_inconclusive_not_inapplicable() -> None:
    claim = load_claims("relu_critical_points_classified")[0]
    res = check(claim, instance=Instance(relu_problem(7), None, {"seed": 0}))
    assert res.verdict == "inconclusive"
    assert "beyond this method's reach" in res.evidence[0]["summary"]


def test_gd_claim_both_sides_on_a_given_instance() -> None:
    res = check(load_claims("gd_avoids_relu_saddles")[0], profile="quick",
                instance=Instance(relu_problem(2, alpha=2, beta=1), None, {"seed": 3}))
    assert res.verdict == "consistent", res.reason
    ev = res.evidence[0]["evidence"]
    assert ev["ended_at_saddle"] == 0 and 0 < ev["wilson_upper"] < 0.1
    assert sum(ev["outcome_histogram"].values()) == ev["runs"]
    assert ev["stable_set"]["constant_fit_saddle"]["invariant"] is True
    assert ev["stable_set"]["constant_fit_saddle"]["converged"] is True
    assert len(ev["deciding_runs"]) == 3


def test_gd_run_margin_at_known_points() -> None:
    # oracles: the constant fit with a zero hidden layer is a (nonsmooth) saddle; the zig-zag is a
    # strict saddle (exact inertia (2, 2, 3)); the exact fit w = (1, 1), b = (0, -1/2)... is a global minimum
    from theorems.gd_avoids_relu_saddles import run_margin

    prob = relu_problem(2, alpha=2, beta=1)
    def margin(tier, theta):
        land = tier.landscape(prob)
        th = tier.vector(theta)
        x = th if tier.is_float64 else list(th)
        return run_margin(tier, land, prob, th, land.loss(x), tier.norm(land.grad(x)), "stationary")

    for tier in (Tier.float64(), Tier.mp(30)):
        m, kind, _ = margin(tier, [0, 0, 0, 0, 0, 0, 2])                 # N = f(1/2) = 2
        assert m < 0 and kind == "saddle (w = b = 0)"
        m, kind, _ = margin(tier, relu_zigzag_point(prob, 2))
        assert m < 0 and kind == "saddle"
        m, kind, _ = margin(tier, [1, 1, 0, "1/2", 2, 0, 1])             # 2 relu(x) + 0 + 1 = 2x + 1 on [0, 1]
        assert m > 0 and kind == "global minimum"
        m, kind, _ = margin(tier, [1, 1, -2, -2, 1, 1, 2])               # both neurons dead: a local minimum
        assert m > 0 and kind == "local minimum"


def test_threshold_claim_given_instances() -> None:
    claim = load_claims("relu_threshold_implies_global_minimum")[0]
    res = check(claim, profile="quick", instance=Instance(relu_problem(2), None, {"seed": 1}))
    assert res.verdict == "consistent", res.reason
    ev = res.evidence[0]["evidence"]
    assert ev["threshold"] == pytest.approx(4 / 972) and ev["counting"] > 0
    assert all(r["margin"] > 0 for r in ev["deciding_runs"])


def test_null_basin_claim_both_sides_and_hypotheses() -> None:
    from theorems.center_stable_manifold_null_basin import gd_map_instance

    claim = load_claims("center_stable_manifold_null_basin")[0]
    one = check(claim, instance=gd_map_instance(1, 1, 1, 0, "1/2", dim=1))
    assert one.verdict == "consistent", one.reason
    ev = one.evidence[0]["evidence"]
    # y* = sqrt((1 + eta b)/(eta c)) = sqrt(3) is mapped to 0 exactly; float64 cannot start there
    assert ev["exact_preimage"]["y_star"] == "sqrt(3)" and ev["exact_preimage"]["G(y_star)_exact"] == "0"
    assert abs(ev["exact_preimage"]["float64_run_from_y_star_ends_at"]) == pytest.approx(1.0)
    assert ev["stable_set_landed"] == ev["stable_set_starts"] and ev["landed"] == []
    # every orbit ends at a minimum y = +-1 of L = -y^2/2 + y^4/4: margin log10(1 / tol(1e-8)) = 8
    assert one.evidence[0]["margin"] == "8.0"
    # det DG = 0 identically (eta a = 1, e = 0): not applicable; a minimum (no repelling direction): not applicable
    assert check(claim, instance=gd_map_instance(1, 1, 1, 0, 1)).verdict == "not_applicable"
    bowl = Instance(ExprLandscape("x**2 + y**2", ["x", "y"]), None, {"step_size": "1/10"})
    res = check(claim, instance=bowl)
    assert res.verdict == "not_applicable" and "modulus > 1" in res.reason
    assert check(claim, instance=Instance(relu_problem(1), None, {"step_size": "1/10"})).verdict == "not_applicable"
