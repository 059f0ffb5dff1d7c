"""The worked examples of Craciun-Ghoshdastidar (arXiv 2510.24466) and arXiv 2402.13108, shared by
the claims on GD maps, stability of minima and periodic orbits.

Loss normalization of the two-parameter ReLU example: L = (1/m) sum_i (1/2)(f(x_i) - y_i)^2
(``factor = 1/2`` with the mean), i.e. L = 1.765 (1 - theta_1 theta_2)^2 on the positive quadrant.
The paper's captions print 3.53 (1 - theta_1 theta_2)^2, but its figures are reproduced only with
1.765 (with 3.53 every minimum is GD-unstable for eta > 0.1416).
"""

from __future__ import annotations

from fractions import Fraction

from verify import ExprLandscape, Problem, parse_problem

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


def figure1() -> ExprLandscape:
    """Figure 1: L = 0.5 t^4 - 3 t^2 + 8 on [-2, 2], t^2 outside (C^1, piecewise analytic)."""
    return ExprLandscape(FIGURE1, ["t"], name="figure1")


def two_cycle(k: float) -> tuple[float, float, float, float]:
    """The 2-cycle of the diagonal map x -> (1 + k) x - k x^3, k = 2 C eta (hand derivation, see
    tests/test_descent.py): points p, q = (sqrt(1 + 3/k) +- sqrt(1 - 1/k)) / 2 (k > 1) and the
    multipliers 9 - 2 (1 + k)^2 (along the diagonal) and 3 - 2 k (across)."""
    sigma, root = (1 + 3 / k) ** 0.5, (1 - 1 / k) ** 0.5
    return (sigma + root) / 2, (sigma - root) / 2, 9 - 2 * (1 + k) ** 2, 3 - 2 * k
