"""Quadrature rules for the integral loss (float64; the mp tier has its own)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..problem.problem import Problem

__all__ = ["gauss_legendre", "polynomial_nodes", "NONPOLY_PANELS", "NONPOLY_NODES"]

#: composite rule for non-polynomial integrands in float64: panels x nodes per panel
NONPOLY_PANELS = 16
NONPOLY_NODES = 16
#: nodes per piece for piecewise-linear networks against a non-polynomial target
NONPOLY_PIECE_NODES = 48


@lru_cache(maxsize=64)
def gauss_legendre(m: int) -> tuple[np.ndarray, np.ndarray]:
    """m-point Gauss-Legendre nodes and weights on [0, 1] (exact for degree 2m - 1)."""
    x, w = np.polynomial.legendre.leggauss(m)
    return (x + 1.0) / 2.0, w / 2.0


def integrand_degree(problem: Problem) -> int | None:
    """Degree in x of (N - f)^2 on each linear piece, or None if not polynomial."""
    net = problem.network
    deg_f = problem.target.degree
    if deg_f is None:
        return None
    if net.activation == "square":
        activated = sum(1 for k in range(net.depth) if net.activated(k))
        deg_n = 2 ** activated
    elif net.info.piecewise_linear:
        deg_n = 1
    else:
        return None
    return 2 * max(deg_n, deg_f, 1)


def polynomial_nodes(degree: int) -> int:
    """Fewest Gauss-Legendre nodes that integrate a polynomial of this degree exactly."""
    return degree // 2 + 1
