"""The Runge-Kutta tableaux kept in verify/_tableaux.py, against the order conditions.

Oracle: the order conditions of Butcher trees (independent of any implementation): with
c_i = sum_j a_ij, the weights b of an order-p method satisfy sum_i b_i c_i^(k-1) = 1/k for
k <= p and sum_ij b_i a_ij c_j^(k-2) = 1/(k(k-1)) (and more; the bushy and tall trees checked here
are the ones every method of order p must satisfy); each error estimate's weights sum to zero
(they compare two consistent formulas); and the stages are explicit (A strictly lower).
"""

from __future__ import annotations

from math import factorial

import numpy as np
import pytest

from verify.dynamics import tableaux as tab


@pytest.mark.parametrize("A, b, c, order", [(tab.DOPRI5_A, tab.DOPRI5_B, tab.DOPRI5_C, 5),
                                            (tab.DOP853_A, tab.DOP853_B, tab.DOP853_C, 8)], ids=["dopri5", "dop853"])
def test_order_conditions(A: np.ndarray, b: np.ndarray, c: np.ndarray, order: int) -> None:
    assert np.allclose(np.triu(A), 0)                              # explicit
    assert np.allclose(A.sum(axis=1), c, atol=1e-14)              # row sums are the nodes
    for k in range(1, order + 1):                                  # bushy trees: sum b c^(k-1) = 1/k
        assert abs(b @ c ** (k - 1) - 1 / k) < 1e-13, k
    for k in range(2, order + 1):                                  # tall trees: b A^(k-1) 1 = 1/k!
        v = np.ones_like(c)
        for _ in range(k - 1):
            v = A @ v
        assert abs(b @ v - 1 / factorial(k)) < 1e-13, k
    for k in range(3, order + 1):                                  # sum b_i a_ij c_j^(k-2) = 1/(k (k-1))
        assert abs(b @ (A @ c ** (k - 2)) - 1 / (k * (k - 1))) < 1e-13, k


def test_error_estimates_compare_consistent_formulas() -> None:
    assert abs(tab.DOPRI5_E.sum()) < 1e-15 and tab.DOPRI5_E.shape == (7,)
    for e in (tab.DOP853_E3, tab.DOP853_E5):
        assert abs(e.sum()) < 1e-15 and e.shape == (13,)
    # DOP853's embedded 3rd-order estimator: the weights b - E3 (over the 12 stages) satisfy the
    # bushy conditions up to order 3
    b3 = np.append(tab.DOP853_B, 0.0) - tab.DOP853_E3
    c = np.append(tab.DOP853_C, 1.0)
    for k in range(1, 4):
        assert abs(b3 @ c ** (k - 1) - 1 / k) < 1e-13, k
