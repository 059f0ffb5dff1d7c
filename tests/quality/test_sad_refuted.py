"""Theorems 3.4 and 3.5 (SAD networks, polynomial targets) can say "false": planted false variants
are refuted under ``ci`` with a shrunk counterexample confirmed at 30 and 60 digits, and the
true claims stay consistent.

Oracles the experiments did not compute: the forward-difference error expansion (L = O(h^2),
so the fitted rate is 2), and the loss of the confirmed exact fit evaluated exactly (SymPy at
80 digits) rather than in ball arithmetic.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sympy

from theorems import _sad
from verify import Tier, Verdict, check, load_claims

from .planted_sad import FiniteDifferencesConvergeLikeH4, NoExactFitOnAnyData
from .test_stability_refuted import assert_refuted


def test_a_faster_finite_difference_rate_is_refuted(tmp_path: Path) -> None:
    result = check(FiniteDifferencesConvergeLikeH4(), profile="ci", out_dir=tmp_path)
    assert_refuted(result)
    cx = result.counterexample
    assert cx is not None
    # forward differences: h^-j Delta_h^j s(b + h x) = s^(j)(b) x^j + O(h), so L = O(h^2): the fitted rate is 2
    for _, j in cx.confirmations:
        assert float(j.margin) == pytest.approx(2 - 4, abs=0.05)
    assert cx.judgement.evidence["loss_rate"] == pytest.approx(2, abs=0.05)


def test_no_exact_fit_on_any_data_is_refuted_by_too_little_data(tmp_path: Path) -> None:
    result = check(NoExactFitOnAnyData(), profile="ci", out_dir=tmp_path)
    assert_refuted(result)
    cx = result.counterexample
    assert cx is not None
    prob = cx.instance.source
    assert prob.data.n <= prob.n_params        # only the dropped hypothesis makes this instance possible
    # the oracle: the fit refined at 60 digits, its loss evaluated exactly (SymPy) at that rational point
    theta = _sad.refine_fit(prob, cx.judgement.evidence["best_theta"], 60)
    exact = Tier.exact().landscape(prob).loss(list(theta))
    assert float(sympy.N(exact, 80)) < 1e-50


@pytest.mark.parametrize("claim_id", ["polynomial_target_infimum_zero",
                                      pytest.param("polynomial_target_not_fit_exactly", marks=pytest.mark.slow)])
def test_the_true_claims_stay_consistent_under_ci(claim_id: str, tmp_path: Path) -> None:
    [claim] = load_claims(claim_id)
    result = check(claim, profile="ci", out_dir=tmp_path)
    assert result.verdict is Verdict.CONSISTENT, result.reason
    assert result.counterexample is None and result.instances - result.undecided >= 15
    margins = [float(e["margin"]) for e in result.evidence if e["margin"] is not None]
    assert len(set(margins)) > len(margins) // 2          # continuous margins, not a constant for "it ran"
    assert result.certified > 0
