"""Hypothesis strategies for networks, data, targets, parameters and whole problems.

Everything numeric is drawn as an exact rational, so that the same example can be
evaluated in every tier. Arguments with defaults are keyword-only; sizes follow
Hypothesis' naming (``min_size`` / ``max_size``).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Sequence

from hypothesis import strategies as st

from .errors import InputError
from .problem.activations import ACTIVATIONS
from .problem.network import Network
from .problem.problem import Data, Init, Problem, Target

__all__ = ["activations", "networks", "rationals", "datasets", "polynomial_targets", "parameters", "initializations",
           "step_sizes", "problems", "instances"]


def _check_range(name_lo: str, lo: int, name_hi: str, hi: int, *, minimum: int) -> None:
    if lo < minimum:
        raise InputError(name_lo, lo, f"must be at least {minimum}")
    if hi < lo:
        raise InputError(name_hi, hi, f"must be at least {name_lo} = {lo}")


def activations(*, smooth_only: bool = False, exclude: Sequence[str] = ()) -> st.SearchStrategy[str]:
    """Activation names; ``smooth_only`` keeps the real-analytic ones."""
    names = [n for n, info in ACTIVATIONS.items() if n not in exclude and (info.analytic or not smooth_only)]
    if not names:
        raise InputError("exclude", list(exclude), "leaves no activation to draw from")
    return st.sampled_from(names)


def rationals(*, min_value: Fraction | int = -2, max_value: Fraction | int = 2,
              max_denominator: int = 16) -> st.SearchStrategy[Fraction]:
    """Rationals p/q in [min_value, max_value] with q <= max_denominator."""
    lo, hi = Fraction(min_value), Fraction(max_value)
    if hi < lo:
        raise InputError("max_value", str(hi), f"must be at least min_value = {lo}")
    if max_denominator < 1:
        raise InputError("max_denominator", max_denominator, "must be a positive integer")

    @st.composite
    def draw(draw_: st.DrawFn) -> Fraction:
        q = draw_(st.integers(1, max_denominator))
        p = draw_(st.integers(int(lo * q) - 1, int(hi * q) + 1))
        return min(max(Fraction(p, q), lo), hi)

    return draw()


@st.composite
def networks(draw: st.DrawFn, *, min_depth: int = 1, max_depth: int = 2, max_width: int = 3,
             input_dims: Sequence[int] = (1,), output_dims: Sequence[int] = (1,),
             activation: st.SearchStrategy[str] | None = None,
             biases: st.SearchStrategy[bool] | None = None,
             output_activation: st.SearchStrategy[bool] | None = None) -> Network:
    """Networks with ``min_depth .. max_depth`` hidden layers of width 1 .. ``max_width``."""
    _check_range("min_depth", min_depth, "max_depth", max_depth, minimum=0)
    if max_width < 1:
        raise InputError("max_width", max_width, "must be at least 1")
    depth = draw(st.integers(min_depth, max_depth))
    hidden = [draw(st.integers(1, max_width)) for _ in range(depth)]
    widths = (draw(st.sampled_from(list(input_dims))), *hidden, draw(st.sampled_from(list(output_dims))))
    act = draw(activation if activation is not None else activations())
    slope = draw(rationals(min_value=0, max_value=Fraction(1, 2), max_denominator=10))
    return Network(widths=widths, activation=act, slope=slope,
                   biases=draw(biases if biases is not None else st.booleans()),
                   output_activation=draw(output_activation if output_activation is not None else st.just(False)))


@st.composite
def datasets(draw: st.DrawFn, *, dim: int = 1, min_size: int = 1, max_size: int = 6,
             min_value: Fraction | int = -1, max_value: Fraction | int = 1) -> Data:
    """Finite data sets of ``min_size .. max_size`` distinct rational points in a box."""
    _check_range("min_size", min_size, "max_size", max_size, minimum=1)
    pts = draw(st.lists(st.tuples(*[rationals(min_value=min_value, max_value=max_value)] * dim),
                        min_size=min_size, max_size=max_size, unique=True))
    return Data.from_points([list(p) for p in pts])


@st.composite
def polynomial_targets(draw: st.DrawFn, *, dim: int = 1, max_degree: int = 3, outputs: int = 1) -> Target:
    """Polynomial targets with small rational coefficients, as SymPy text."""
    if max_degree < 0:
        raise InputError("max_degree", max_degree, "must be at least 0")
    syms = ["x"] if dim == 1 else [f"x{i}" for i in range(1, dim + 1)]
    exprs = []
    for _ in range(outputs):
        terms = []
        for deg in range(max_degree + 1):
            c = draw(rationals(min_value=-2, max_value=2, max_denominator=4))
            if c == 0:
                continue
            var = draw(st.sampled_from(syms))
            terms.append(f"({c})*{var}**{deg}" if deg else f"({c})")
        exprs.append(" + ".join(terms) if terms else "0")
    return Target(exprs=tuple(exprs), dim=dim)


def parameters(network: Network, *, min_value: Fraction | int = -2, max_value: Fraction | int = 2,
               max_denominator: int = 16) -> st.SearchStrategy[tuple[Fraction, ...]]:
    """Exact parameter vectors theta of the network's length."""
    return st.tuples(*[rationals(min_value=min_value, max_value=max_value, max_denominator=max_denominator)]
                     * network.n_params)


@st.composite
def problems(draw: st.DrawFn, *, network: st.SearchStrategy[Network] | None = None,
             min_size: int = 1, max_size: int = 5, max_degree: int = 2) -> Problem:
    """Whole problems with point data, a polynomial target and explicit exact initial parameters."""
    net = draw(network if network is not None else networks())
    data = draw(datasets(dim=net.input_dim, min_size=min_size, max_size=max_size))
    target = draw(polynomial_targets(dim=net.input_dim, max_degree=max_degree, outputs=net.output_dim))
    factor = draw(st.sampled_from([Fraction(1), Fraction(1, 2), Fraction(3)]))
    theta = draw(parameters(net))
    return Problem(network=net, data=data, target=target, factor=factor,
                   init=Init(scheme="explicit", theta=theta), name="hypothesis")


@st.composite
def initializations(draw: st.DrawFn, network: Network, *, schemes: Sequence[str] = ("explicit", "normal", "uniform",
                                                                                      "xavier_uniform"),
                    max_ensemble: int = 1) -> Init:
    """Initializations of ``network``: explicit exact theta, or a seeded scheme (normal, uniform,
    xavier_uniform) with a small scale and ``1 .. max_ensemble`` members."""
    if not schemes:
        raise InputError("schemes", list(schemes), "give at least one of explicit, normal, uniform, xavier_uniform")
    unknown = [s for s in schemes if s not in ("explicit", "normal", "uniform", "xavier_uniform")]
    if unknown:
        raise InputError("schemes", unknown[0], "use explicit, normal, uniform or xavier_uniform")
    if max_ensemble < 1:
        raise InputError("max_ensemble", max_ensemble, "must be at least 1")
    scheme: Any = draw(st.sampled_from(list(schemes)))
    if scheme == "explicit":
        return Init(scheme="explicit", theta=draw(parameters(network)))
    seed = draw(st.integers(0, 2**16))
    ensemble = draw(st.integers(1, max_ensemble))
    if scheme == "xavier_uniform":
        return Init(scheme=scheme, seed=seed, ensemble=ensemble)
    scale = draw(st.sampled_from([Fraction(1, 10), Fraction(1, 2), Fraction(1)]))
    return Init(scheme=scheme, scale=scale, seed=seed, ensemble=ensemble)


def step_sizes(*, min_value: Fraction | int | str = Fraction(1, 1000), max_value: Fraction | int | str = 1,
               max_denominator: int = 1000) -> st.SearchStrategy[Fraction]:
    """Exact positive step sizes eta in [min_value, max_value]."""
    lo, hi = Fraction(min_value), Fraction(max_value)
    if lo <= 0:
        raise InputError("min_value", str(lo), "a step size must be positive: e.g. 1/1000")
    return rationals(min_value=lo, max_value=hi, max_denominator=max_denominator)   # >= lo > 0


@st.composite
def instances(draw: st.DrawFn, *, problem: st.SearchStrategy[Problem] | None = None,
              step_size: st.SearchStrategy[Fraction] | None = None) -> Any:
    """Claim instances (``verify.Instance``) from whole problems: theta0 is the problem's
    explicit initialization; with ``step_size`` the instance carries ``params["step_size"]``."""
    from .claims.engine import Instance

    prob = draw(problem if problem is not None else problems())
    theta0 = prob.initial_exact(0)
    params = {} if step_size is None else {"step_size": str(draw(step_size))}
    return Instance(prob, theta0, params)
