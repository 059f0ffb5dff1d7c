"""The worked examples of Craciun-Ghoshdastidar (arXiv 2510.24466) and arXiv 2402.13108, shared by
the claims on GD maps, stability of minima and periodic orbits.

Loss normalization of the two-parameter ReLU example: L = (1/m) sum_i (1/2)(f(x_i) - y_i)^2
(``factor = 1/2`` with the mean), i.e. L = 1.765 (1 - theta_1 theta_2)^2 on the positive quadrant.
The paper's captions print 3.53 (1 - theta_1 theta_2)^2, but its figures are reproduced only with
1.765 (with 3.53 every minimum is GD-unstable for eta > 0.1416).

``is_paper`` and ``deep_linear_depth`` recognize the examples by their loss (not their name), and
the small linear algebra at the end (GD steps, matrices, eigenvalues, Newton's method on G^k - id)
is written once for every tier, so that a claim's float64 search and its confirmations at higher
precision run the same steps.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Sequence

import numpy as np
import sympy

from verify import ExprLandscape, Problem, Tier, parse_problem

#: the coefficient of (1 - theta_1 theta_2)^2 on the positive quadrant: ((9/10)^2 + (5/2)^2) / 4
C = Fraction(1765, 1000)
#: the paper's data points (x_i = y_i)
DATA = (Fraction(9, 10), Fraction(5, 2))
#: the paper's GD start in Figure 3
PAPER_START = (Fraction(148, 100), Fraction(100, 148) + Fraction(1, 10))

FIGURE1 = "Piecewise((t**4/2 - 3*t**2 + 8, (t >= -2) & (t <= 2)), (t**2, True))"


def paper_problem() -> Problem:
    """f(x) = relu(theta_2 relu(theta_1 x)) on (9/10, 9/10), (5/2, 5/2); L = (1/2) mean (f - y)^2."""
    return parse_problem("""
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
""", name="craciun-relu")


def paper_quadrant() -> ExprLandscape:
    """The same loss on the positive quadrant as a polynomial: 1.765 (t1 t2 - 1)^2."""
    return ExprLandscape(f"({C})*(t1*t2 - 1)**2", ["t1", "t2"], name="craciun-quadrant")


def deep_linear_problem(depth: int) -> Problem:
    """The scalar deep linear network: L(w) = (1/2)(w_D ... w_1 - 1)^2 (one datum x = 1, y = 1)."""
    widths = ", ".join(["1"] * (depth + 1))
    return parse_problem(f"""
[network]
widths = [{widths}]
activation = "identity"
biases = false
[data]
points = ["1"]
[target]
expr = "1 + 0*x"
[loss]
factor = "1/2"
[init]
theta = [{", ".join(['"1"'] * depth)}]
""", name=f"deep-linear-{depth}")


def deep_linear_expr(depth: int) -> ExprLandscape:
    names = [f"w{i + 1}" for i in range(depth)]
    return ExprLandscape(f"({'*'.join(names)} - 1)**2/2", names, name=f"deep-linear-{depth}")


def is_paper(source: Any) -> bool:
    """Whether the source is the paper's example (its quadrant polynomial, or its ReLU network and data),
    whatever it is named: there the closed forms hold on the positive quadrant."""
    if isinstance(source, ExprLandscape):
        ref = paper_quadrant()
        return [s.name for s in source.symbols] == [s.name for s in ref.symbols] and \
            sympy.expand(source.expr.xreplace(dict(zip(source.symbols, ref.symbols))) - ref.expr) == 0
    if isinstance(source, Problem):
        mine, ref = source.to_dict(), paper_problem().to_dict()
        return all(mine.get(key) == ref.get(key) for key in ("network", "data", "target", "loss"))
    return False


def deep_linear_depth(source: Any) -> int | None:
    """D when the source is the scalar deep linear network L(w) = (1/2)(w_D ... w_1 - 1)^2 (one datum x = y = 1,
    identity activation, no biases), whatever it is named; else None."""
    if not isinstance(source, Problem):
        return None
    net = source.network
    if net.activation != "identity" or net.biases or any(w != 1 for w in net.widths) or len(net.widths) < 3:
        return None
    if source.data.kind != "points" or source.data.n != 1 or source.factor != Fraction(1, 2):
        return None
    x = source.data.points[0]
    if list(x) != [1] or list(source.target.exact(x)) != [1]:
        return None
    return len(net.widths) - 1


def figure1() -> ExprLandscape:
    """Figure 1: L = 0.5 t^4 - 3 t^2 + 8 on [-2, 2], t^2 outside (C^1, piecewise analytic)."""
    return ExprLandscape(FIGURE1, ["t"], name="figure1")


def two_cycle(k: float) -> tuple[float, float, float, float]:
    """The 2-cycle of the diagonal map x -> (1 + k) x - k x^3, k = 2 C eta (hand derivation, see
    tests/test_descent.py): points p, q = (sqrt(1 + 3/k) +- sqrt(1 - 1/k)) / 2 (k > 1) and the
    multipliers 9 - 2 (1 + k)^2 (along the diagonal) and 3 - 2 k (across)."""
    sigma, root = (1 + 3 / k) ** 0.5, (1 - 1 / k) ** 0.5
    return (sigma + root) / 2, (sigma - root) / 2, 9 - 2 * (1 + k) ** 2, 3 - 2 * k


# ---------------------------------------------------------------------------------------
# Small linear algebra written once for every tier (float64: numpy; mp: the tier's context).
# The claims' experiments use these so that the float64 search and the mp confirmation run
# the same arithmetic steps.
# ---------------------------------------------------------------------------------------

def vec(tier: Tier, values: Sequence[object]) -> Any:
    """Exact numbers (Fractions, ints, floats at their binary value) as a tier vector."""
    return tier.vector(list(values))


def grad(tier: Tier, land: Any, x: Any) -> Any:
    """grad L(x) as a tier vector."""
    g = land.grad(x)
    return np.asarray(g, dtype=np.float64) if tier.is_float64 else list(g)


def gd_step(tier: Tier, land: Any, eta: Any, x: Any) -> Any:
    """G(x) = x - eta grad L(x)."""
    return tier.axpy(-eta, grad(tier, land, x), x)


def diff_norm(tier: Tier, a: Any, b: Any) -> Any:
    """|a - b|."""
    return tier.norm(tier.axpy(-1, b, a))


def matrix(tier: Tier, rows: Any) -> Any:
    """A tier matrix (numpy array or mpmath matrix) from rows."""
    if tier.is_float64:
        return np.asarray(rows, dtype=np.float64)
    ctx = tier.ctx
    return ctx.matrix([[x if hasattr(x, "_mpf_") else tier.num(x) for x in row] for row in rows])


def eye(tier: Tier, d: int) -> Any:
    return np.eye(d) if tier.is_float64 else tier.ctx.eye(d)


def matmul(tier: Tier, a: Any, b: Any) -> Any:
    return a @ b if tier.is_float64 else a * b


def matvec(tier: Tier, a: Any, x: Any) -> Any:
    if tier.is_float64:
        return a @ np.asarray(x, dtype=np.float64)
    y = a * tier.ctx.matrix(list(x))
    return [y[i] for i in range(a.rows)]


def transpose(tier: Tier, a: Any) -> Any:
    return a.T


def solve(tier: Tier, a: Any, b: Any) -> Any:
    """a^-1 b for a square non-singular a (LU)."""
    if tier.is_float64:
        return np.linalg.solve(a, np.asarray(b, dtype=np.float64))
    y = tier.ctx.lu_solve(a, tier.ctx.matrix(list(b)))
    return [y[i] for i in range(a.rows)]


def fro2(tier: Tier, a: Any) -> Any:
    """Squared Frobenius norm."""
    if tier.is_float64:
        return float(np.sum(a * a))
    return tier.ctx.fsum(a[i, j] ** 2 for i in range(a.rows) for j in range(a.cols))


def eigvals(tier: Tier, a: Any) -> list[Any]:
    """Eigenvalues of a general square matrix (complex where they are)."""
    if tier.is_float64:
        return [complex(z) for z in np.linalg.eigvals(a)]
    if a.rows == 1:
        return [a[0, 0]]
    return list(tier.ctx.eig(a, left=False, right=False))


def eigh(tier: Tier, rows: Any) -> tuple[list[Any], list[Any]]:
    """Eigenvalues (ascending) and unit eigenvectors (as tier vectors) of a symmetric matrix."""
    if tier.is_float64:
        a = np.asarray(rows, dtype=np.float64)
        vals, vecs = np.linalg.eigh(0.5 * (a + a.T))
        return [float(v) for v in vals], [vecs[:, i].copy() for i in range(vals.size)]
    m = rows if hasattr(rows, "rows") else matrix(tier, rows)
    E, Q = tier.ctx.eigsy((m + m.T) / 2)
    order = sorted(range(m.rows), key=lambda i: E[i])
    return [E[i] for i in order], [[Q[j, i] for j in range(m.rows)] for i in order]


def hessian(tier: Tier, land: Any, x: Any) -> Any:
    """The symmetrized Hessian at x as a tier matrix."""
    h = land.hessian(x)
    m = matrix(tier, h if not tier.is_float64 else np.asarray(h, dtype=np.float64))
    return 0.5 * (m + m.T) if tier.is_float64 else (m + m.T) / 2


def newton_cycle(tier: Tier, land: Any, eta: Any, x: Any, period: int, *, iterations: int = 40) -> tuple[Any, Any]:
    """Newton's method on F(x) = G^k(x) - x, with the regularized normal equations
    (J^T J + lam I) dx = -J^T F, J = DG^k - I, lam = tol(1e-8) (1 + |J|^2), so that a direction of
    fixed points (a manifold of minima) does not stall it. Returns (x, |F(x)|) at the best x."""
    d = len(x)
    scale = max(1, tier.to_float(tier.norm(x)))
    best = (x, None)
    done = tier.tol(1e-12) * scale
    for _ in range(iterations):
        pts = [x]
        J = eye(tier, d)
        for _ in range(period):
            H = hessian(tier, land, pts[-1])
            J = matmul(tier, eye(tier, d) - eta * H, J)
            pts.append(gd_step(tier, land, eta, pts[-1]))
        F = tier.axpy(-1, x, pts[-1])
        res = tier.norm(F)
        if not math.isfinite(tier.to_float(res)):
            break
        if best[1] is None or res < best[1]:
            best = (x, res)
        if res <= done:
            break
        J = J - eye(tier, d)
        JT = transpose(tier, J)
        lam = tier.tol(1e-8) * (1 + fro2(tier, J))
        step = solve(tier, matmul(tier, JT, J) + lam * eye(tier, d), matvec(tier, JT, F))
        x = tier.axpy(-1, step, x)
    return best


def gd_iterates(tier: Tier, land: Any, eta: Any, x: Any, steps: int, *, keep: int,
                radius: float = 1e8) -> tuple[str, int, list[Any]]:
    """GD x <- x - eta grad L(x) for ``steps`` steps, the same loop in every tier; stops as "diverged" when
    |x| >= radius or a value is not finite. Returns (status, steps taken, the last ``keep`` iterates)."""
    last: list[Any] = [x]
    for k in range(1, steps + 1):
        x = gd_step(tier, land, eta, x)
        last.append(x)
        if len(last) > keep:
            del last[0]
        n = tier.to_float(tier.norm(x))
        if not math.isfinite(n) or n >= radius:
            return "diverged", k, last
    return "t1_reached", steps, last
