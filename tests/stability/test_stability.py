"""mu, lambda, non-singularity and preimages against closed forms, exact SymPy values and direct GD/SGD runs;
the `verify stability` command; the four claims of the non-singularity paper under the quick profile."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

from verify import (
    ExprLandscape,
    InputError,
    check,
    gd_nonsingularity,
    gd_stability,
    load_claims,
    minimum_stability,
    preimage_measure,
    preimage_measure_exact,
    run_near_minimum,
    sgd_lyapunov,
)
from verify.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from theorems._stability_examples import deep_linear_problem, figure1, paper_problem

PAPER_TOML = """
name = "paper"
[network]
widths = [1, 1, 1]
activation = "relu"
biases = false
output_activation = true
[data]
points = ["9/10", "5/2"]
[target]
expr = "x"
[loss]
factor = "1/2"
[init]
theta = ["37/25", "1"]
"""


# --------------------------------------------------------------------------------------
# mu: closed forms
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("depth", [2, 3, 4])
def test_deep_linear_mu_changes_sign_at_two_over_depth(depth: int) -> None:
    """On M the non-zero Hessian eigenvalue is sum 1/w_i^2 (= D at the balanced point): mu = log|1 - eta D|."""
    prob = deep_linear_problem(depth)
    ones = ["1"] * depth
    for eta in (0.9 * 2 / depth, 1.1 * 2 / depth):
        mu, vals = gd_stability(prob, ones, step_size=eta)
        assert len(vals) == 1 and vals[0] == pytest.approx(depth, rel=1e-12)
        assert mu == pytest.approx(math.log(abs(1 - eta * depth)), rel=1e-12)
        assert (mu < 0) == (eta < 2 / depth)
    w = ([0.5, 1.25] + [1.0] * (depth - 2))[:depth - 1]
    w.append(1 / math.prod(w))
    _, vals = gd_stability(prob, w, step_size=0.1)
    assert vals[0] == pytest.approx(sum(1 / v**2 for v in w), rel=1e-12)
    assert vals[0] >= depth
    # mp tier at 40 digits agrees
    mu_mp, _ = gd_stability(prob, ["2", "1/2"] + ["1"] * (depth - 2), step_size="3/10", dps=40)
    # sum 1/w_i^2 = 1/4 + 4 + (D - 2)
    assert float(mu_mp) == pytest.approx(math.log(abs(1 - 0.3 * (0.25 + 4 + depth - 2))), rel=1e-14)


def test_paper_mu_and_lambda_closed_forms() -> None:
    """Normal eigenvalue 2C|theta|^2 (C = 1.765), data Hessians x_i^2 |theta|^2 on the 1-D normal space:
    lambda = p log|1 - eta 0.81 r^2| + (1 - p) log|1 - eta 6.25 r^2| exactly."""
    prob = paper_problem()
    s = 1.3
    theta = [s, 1 / s]
    r2 = s * s + 1 / (s * s)
    for eta, p in [(0.15, 0.5), (0.3, 0.58), (0.2, 0.3)]:
        ms = minimum_stability(prob, theta, step_size=eta, weights=[p, 1 - p], steps=40_000)
        assert ms.normal_dim == 1
        assert ms.mu == pytest.approx(math.log(abs(1 - eta * 3.53 * r2)), rel=1e-10)
        exact = p * math.log(abs(1 - eta * 0.81 * r2)) + (1 - p) * math.log(abs(1 - eta * 6.25 * r2))
        ly = ms.lyapunov
        assert ly is not None and ly.low <= exact <= ly.high
        assert ly.high - ly.low < 0.05


def test_full_batch_lambda_is_mu() -> None:
    prob = paper_problem()
    ly = sgd_lyapunov(prob, [1.1, 1 / 1.1], step_size=0.2, batch=2, steps=200, blocks=4)
    mu, _ = gd_stability(prob, [1.1, 1 / 1.1], step_size=0.2)
    assert ly.estimate == pytest.approx(mu, rel=1e-12)
    assert ly.high - ly.low < 1e-12


def test_commuting_data_hessians_lambda_is_max_of_expected_logs() -> None:
    """Linear model w.x on x = e_1, e_2 (no bias): data Hessians diag(1, 0), diag(0, 1) (factor 1/2): with
    batch 1 uniform, lambda = max_j E log|1 - eta h_j| = (1/2) log|1 - eta| (the other draw leaves it)."""
    from verify import parse_problem

    prob = parse_problem("""
[network]
widths = [2, 1]
activation = "identity"
biases = false
[data]
points = [["1", "0"], ["0", "1"]]
[target]
expr = "x1 + x2"
[loss]
factor = "1/2"
[init]
theta = ["1", "1"]
""")
    for eta in (0.5, 2.5):
        ly = sgd_lyapunov(prob, [1, 1], step_size=eta, batch=1, steps=40_000)
        exact = 0.5 * math.log(abs(1 - eta))
        assert ly.low - 0.01 <= exact <= ly.high + 0.01


# --------------------------------------------------------------------------------------
# direct GD / SGD runs agree with the sign of the exponents
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("eta", "p"), [(0.15, 0.5), (0.3, 0.58)])
def test_runs_follow_the_exponents(eta: float, p: float) -> None:
    prob = paper_problem()
    theta = ["13/10", "10/13"]
    ms = minimum_stability(prob, theta, step_size=eta, weights=[p, 1 - p])
    assert ms.gd_stable is not None and ms.sgd_stable is not None
    gd = run_near_minimum(prob, theta, step_size=eta, steps=3000)
    sgd = run_near_minimum(prob, theta, step_size=eta, steps=6000, batch=1, weights=[p, 1 - p], seed=1)
    assert (gd.outcome == "converged") == ms.gd_stable and gd.outcome != "undecided"
    assert (sgd.outcome == "converged") == ms.sgd_stable and sgd.outcome != "undecided"
    mp = run_near_minimum(prob, theta, step_size=str(eta), steps=300, dps=30)
    assert mp.outcome == ("left" if not ms.gd_stable else mp.outcome)


# --------------------------------------------------------------------------------------
# non-singularity and preimages
# --------------------------------------------------------------------------------------
def test_constant_hessian_exceptional_step_sizes() -> None:
    quad = ExprLandscape("(2*x**2 + 4*y**2)/2", ["x", "y"])
    for eta in ("1/2", "1/4"):
        ns = gd_nonsingularity(quad, step_size=eta, samples=20)
        assert ns.identically_zero_piece and ns.vanishing == 20
        assert [round(e, 12) for e, _ in ns.exceptional] == [0.25, 0.5]
    ns = gd_nonsingularity(quad, step_size="1/3", samples=20)
    assert not ns.identically_zero_piece and ns.vanishing == 0
    assert ns.min_rel_det == pytest.approx(abs((1 - 2 / 3) * (1 - 4 / 3)) / ((1 + 2 / 3) * (1 + 4 / 3)), rel=1e-12)
    ns_mp = gd_nonsingularity(quad, step_size="1/2", samples=4, dps=30)
    assert ns_mp.vanishing == 4


def test_nonconstant_hessian_det_not_identically_zero() -> None:
    land = ExprLandscape("(x*y - 1)**2/2", ["x", "y"])
    ns = gd_nonsingularity(land, step_size="1/2", samples=32)
    assert ns.vanishing == 0 and not ns.identically_zero_piece and ns.exceptional == ()
    # by hand: H = [[y^2, 2xy - 1], [2xy - 1, x^2]], det(I - H/2) = (1 - y^2/2)(1 - x^2/2) - (2xy - 1)^2/4
    import sympy

    x, y = sympy.symbols("x y", real=True)
    hand = (1 - y**2 / 2) * (1 - x**2 / 2) - (2 * x * y - 1) ** 2 / 4
    [(_, text, zero)] = ns.symbolic
    assert sympy.expand(sympy.sympify(text, locals={"x": x, "y": y}) - hand) == 0 and not zero


def test_figure1_preimages() -> None:
    """eta = 1/2 maps |t| > 2 to 0 (measure 4 in [-4, 4] stays); eta = 1/4: G = 2.5 t - t^3/2 near 0,
    so the preimage of [-r, r] is about [-r/2.5, r/2.5] (measure 0.8 r)."""
    f = figure1()
    half = preimage_measure(f, step_size="1/2", samples=400_000)
    quarter = preimage_measure(f, step_size="1/4", samples=400_000)
    assert all(m >= 4.0 - 1e-4 for m in half.measures)
    assert quarter.measures[0] == pytest.approx(0.08, rel=0.01) and quarter.ratio() < 0.002
    exact = preimage_measure_exact(f, step_size="1/4")
    for r, m in zip(exact.radii, exact.measures):
        assert float(m) == pytest.approx(0.8 * r, rel=1e-3)
    exact_half = preimage_measure_exact(f, step_size="1/2", radii=["1/1000"])
    # exterior (4) + near 0 (G = 4t - t^3, slope 4): 2r/4, + inside next to +-2 (slope -8, one-sided): 2 r/8
    assert float(exact_half.measures[0]) == pytest.approx(4 + 0.75e-3, rel=1e-7)
    for grid, ex in zip(quarter.measures, exact.measures):
        assert grid == pytest.approx(float(ex), abs=3 * quarter.resolution)


def test_bad_input() -> None:
    prob = paper_problem()
    with pytest.raises(InputError):
        gd_stability(prob, [1, 1], step_size=-1)
    with pytest.raises(InputError):
        sgd_lyapunov(prob, [1, 1], step_size=0.1, batch=3)
    with pytest.raises(InputError):
        sgd_lyapunov(prob, [1, 1], step_size=0.1, weights=[1])
    with pytest.raises(InputError):
        sgd_lyapunov(ExprLandscape("x**2", ["x"]), [1], step_size=0.1)


# --------------------------------------------------------------------------------------
# the command
# --------------------------------------------------------------------------------------
def test_cli_stability(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "paper.toml"
    f.write_text(PAPER_TOML, encoding="utf-8")
    png = tmp_path / "s.png"
    rc = main(["stability", str(f), "--step-size", "3/20", "--weights", "1,1", "--starts", "8", "--steps", "2000",
               "--json", "--plot", str(png)])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"step_size", "batch", "weights", "points", "summary"}
    assert out["points"] and set(out["points"][0]) >= {"theta", "mu", "lambda", "gd_stable", "sgd_stable",
                                                       "normal_eigenvalues"}
    for p in out["points"]:
        r2 = sum(v * v for v in p["theta"])
        assert p["mu"] == pytest.approx(math.log(abs(1 - 0.15 * 3.53 * r2)), rel=1e-8)
    assert png.stat().st_size > 1000
    assert main(["stability", str(f), "--step-size", "3/20"]) == 0
    assert "GD:" in capsys.readouterr().out
    for bad in (["--step-size", "0"], ["--step-size", "1/10", "--weights", "1,2,3"], ["--step-size", "1/10",
                                                                                       "--batch", "5"]):
        assert main(["stability", str(f), *bad]) == 2
    assert main(["stability", str(tmp_path / "missing.toml"), "--step-size", "1"]) == 2


# --------------------------------------------------------------------------------------
# the claims
# --------------------------------------------------------------------------------------
# (the claims under the ci profile, and planted false variants of them: tests/quality/test_stability_refuted.py)
def test_claims_on_given_instances() -> None:
    """One instance each, judged in float64 and confirmed by the same experiment at 30 digits."""
    from fractions import Fraction

    from verify import Instance, Tier, get_profile

    profile = get_profile("quick")
    cases = {
        "gd_map_nonsingular": Instance(figure1(), None, {"step_size": "1/2"}),
        "minima_stability_gd_sgd": Instance(paper_problem(), (Fraction(1), Fraction(1)),
                                            {"step_size": "3/10", "p": "1/2", "batch": 1}),
        "gd_periodic_orbits": Instance(paper_problem(), (Fraction(37, 25), Fraction(19, 25)), {"step_size": "13/40"}),
        "large_step_gd_avoids_minima": Instance(deep_linear_problem(3), None, {"step_size": "7/10", "seed": 1}),
    }
    for claim_id, inst in cases.items():
        [claim] = load_claims(claim_id)
        assert claim.check_hypotheses(inst) is None
        judged = [claim.experiment(inst, profile, tier) for tier in (Tier.float64(), Tier.mp(30))]
        assert all(j.decided and not j.violated for j in judged), (claim_id, [j.summary for j in judged])
        # the same experiment: the two margins agree in sign and, for these smooth ones, in value
        assert float(judged[0].margin) == pytest.approx(float(judged[1].margin), rel=0.2, abs=1e-3) \
            or claim_id in ("gd_map_nonsingular", "large_step_gd_avoids_minima")


def test_claims_not_applicable() -> None:
    from fractions import Fraction

    from verify import Instance

    [claim] = load_claims("minima_stability_gd_sgd")
    off = Instance(paper_problem(), (Fraction(1), Fraction(2)), {"step_size": "1/10", "p": "1/2", "batch": 1})
    res = check(claim, instance=off)
    assert res.verdict.value == "not_applicable" and "not a global minimum" in res.reason
    [claim] = load_claims("large_step_gd_avoids_minima")
    res = check(claim, instance=Instance(deep_linear_problem(2), None, {"step_size": "1/2", "seed": 0}))
    assert res.verdict.value == "not_applicable" and "2/D" in res.reason
    # a method's limit is undecided, not a violated hypothesis
    [claim] = load_claims("gd_map_nonsingular")
    res = check(claim, instance=Instance(ExprLandscape("Abs(x)", ["x"]), None, {"step_size": "1/2"}))
    assert res.verdict.value == "inconclusive" and "beyond this method's reach" in res.evidence[0]["summary"]
    res = check(claim, instance=Instance(paper_problem(), None, {"step_size": "1/2"}))
    assert res.verdict.value == "inconclusive" and "formula landscape" in res.evidence[0]["summary"]
    res = check(claim, instance=Instance(figure1(), None, {"step_size": "-1/2"}))
    assert res.verdict.value == "not_applicable"
