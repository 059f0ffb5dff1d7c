"""Problems: a network, data, a target, a loss and initial parameters, read exactly from TOML."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, Sequence

import numpy as np
import sympy

from ..errors import InputError
from .limits import check_memory, ensemble_bytes
from .network import Network
from .numbers import to_fraction
from .safe_expr import parse_expression

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = ["Data", "Target", "Init", "Problem", "load_problem", "parse_problem"]

#: the most data points a problem may have (grids and samples included)
MAX_EXPLICIT_POINTS = 100_000


def _exact_list(values: object, field_name: str) -> tuple[Fraction, ...]:
    if not isinstance(values, (list, tuple)):
        raise InputError(field_name, values, "give a list of numbers such as [\"-1\", \"1/2\"]")
    return tuple(to_fraction(v, f"{field_name}[{i}]") for i, v in enumerate(values))


def _int(value: object, field_name: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(field_name, value, f"must be an integer >= {minimum}")
    return value


@dataclass(frozen=True)
class Data:
    """Training data: a finite point set (mean squared error) or an interval (integral loss).

    Attributes
    ----------
    points : tuple of tuple of Fraction
        Shape (n, d): the inputs, exact. Empty for an interval.
    interval : (Fraction, Fraction) or None
        [a, b] for the integral loss over Lebesgue measure (1-D input only).
    spec : dict
        How the data was given (for reports and for writing the problem back).
    """

    points: tuple[tuple[Fraction, ...], ...] = ()
    interval: tuple[Fraction, Fraction] | None = None
    spec: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def kind(self) -> Literal["points", "interval"]:
        return "interval" if self.interval is not None else "points"

    @property
    def n(self) -> int:
        return len(self.points)

    @property
    def dim(self) -> int:
        return 1 if self.interval is not None else len(self.points[0])

    @cached_property
    def array(self) -> np.ndarray:
        """float64 inputs of shape (n, d) (rounded from the exact values)."""
        return np.array([[float(c) for c in p] for p in self.points], dtype=np.float64).reshape(self.n, -1)

    @classmethod
    def from_points(cls, points: Sequence[object], *, field_name: str = "data.points") -> Data:
        if not isinstance(points, (list, tuple)) or len(points) == 0:
            raise InputError(field_name, points, "give a non-empty list of points")
        if len(points) > MAX_EXPLICIT_POINTS:
            raise InputError(field_name, f"{len(points)} points", f"at most {MAX_EXPLICIT_POINTS} points")
        rows: list[tuple[Fraction, ...]] = []
        for i, p in enumerate(points):
            if isinstance(p, (list, tuple)):
                rows.append(_exact_list(p, f"{field_name}[{i}]"))
            else:
                rows.append((to_fraction(p, f"{field_name}[{i}]"),))
        dims = {len(r) for r in rows}
        if len(dims) != 1 or 0 in dims:
            raise InputError(field_name, points, "every point must have the same non-zero number of coordinates")
        return cls(points=tuple(rows), spec={"points": [[str(c) for c in r] for r in rows]})

    @classmethod
    def from_interval(cls, a: object, b: object) -> Data:
        lo = to_fraction(a, "data.interval[0]")
        hi = to_fraction(b, "data.interval[1]")
        if not lo < hi:
            raise InputError("data.interval", [str(lo), str(hi)], "needs a < b, e.g. [\"0\", \"1\"]")
        return cls(interval=(lo, hi), spec={"interval": [str(lo), str(hi)]})

    @classmethod
    def from_grid(cls, start: object, stop: object, num: object, dim: int) -> Data:
        def per_axis(v: object, name: str) -> list[object]:
            if isinstance(v, (list, tuple)):
                if len(v) != dim:
                    raise InputError(f"data.grid.{name}", v, f"give one value or {dim} values (one per input axis)")
                return list(v)
            return [v] * dim

        starts = [to_fraction(v, "data.grid.start") for v in per_axis(start, "start")]
        stops = [to_fraction(v, "data.grid.stop") for v in per_axis(stop, "stop")]
        nums = [_int(v, "data.grid.num", minimum=1) for v in per_axis(num, "num")]
        total = 1
        for k in nums:
            total *= k
            if total > MAX_EXPLICIT_POINTS:
                raise InputError("data.grid.num", num, f"the grid on {dim} input axes has more than "
                                                       f"{MAX_EXPLICIT_POINTS} points: use fewer points per axis")
        axes = []
        for s0, s1, k in zip(starts, stops, nums):
            if k == 1:
                axes.append([s0])
            else:
                axes.append([s0 + (s1 - s0) * i / (k - 1) for i in range(k)])
        pts: list[tuple[Fraction, ...]] = [()]
        for axis in axes:
            pts = [p + (c,) for p in pts for c in axis]
        spec = {"grid": {"start": start if not isinstance(start, Fraction) else str(start),
                         "stop": stop if not isinstance(stop, Fraction) else str(stop), "num": num}}
        return cls(points=tuple(pts), spec=_stringify(spec))

    @classmethod
    def from_sample(cls, low: object, high: object, num: object, seed: object, dim: int) -> Data:
        lo = to_fraction(low, "data.sample.low")
        hi = to_fraction(high, "data.sample.high")
        if not lo < hi:
            raise InputError("data.sample", [str(lo), str(hi)], "needs low < high")
        k = _int(num, "data.sample.num", minimum=1)
        if k > MAX_EXPLICIT_POINTS:
            raise InputError("data.sample.num", k, f"at most {MAX_EXPLICIT_POINTS} points")
        s = _int(seed, "data.sample.seed", minimum=0)
        rng = np.random.default_rng(s)
        u = rng.uniform(float(lo), float(hi), size=(k, dim))
        pts = tuple(tuple(Fraction(float(c)) for c in row) for row in u)
        return cls(points=pts, spec={"sample": {"low": str(lo), "high": str(hi), "num": k, "seed": s}})


def _stringify(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _stringify(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_stringify(v) for v in obj]
    if isinstance(obj, Fraction):
        return str(obj)
    return obj


@dataclass(frozen=True)
class Target:
    """The target function f, one SymPy expression per output.

    Inputs are the symbols ``x`` (1-D input, also ``x1``) or ``x1 .. xd``.
    """

    exprs: tuple[str, ...]
    dim: int

    def __post_init__(self) -> None:
        self.sympy_exprs  # validate eagerly  # noqa: B018

    @cached_property
    def symbols(self) -> tuple[sympy.Symbol, ...]:
        if self.dim == 1:
            return (sympy.Symbol("x", real=True),)
        return tuple(sympy.Symbol(f"x{i}", real=True) for i in range(1, self.dim + 1))

    @cached_property
    def sympy_exprs(self) -> tuple[sympy.Expr, ...]:
        names = {s.name: s for s in self.symbols}
        if self.dim == 1:
            names["x1"] = self.symbols[0]
        out = []
        for i, text in enumerate(self.exprs):
            fname = "target.expr" if len(self.exprs) == 1 else f"target.expr[{i}]"
            expr = parse_expression(text, names, field=fname)
            unknown = sorted(str(s) for s in expr.free_symbols if s not in self.symbols)
            if unknown:
                allowed = "x" if self.dim == 1 else "x1 .. x" + str(self.dim)
                raise InputError(fname, text, f"uses unknown symbols {', '.join(unknown)}: only {allowed} may appear")
            out.append(expr)
        return tuple(out)

    @cached_property
    def polys(self) -> tuple[sympy.Poly, ...] | None:
        """The components as polynomials with rational coefficients, or None (computed once)."""
        try:
            polys = tuple(sympy.Poly(e, *self.symbols) for e in self.sympy_exprs)
        except sympy.PolynomialError:
            return None
        return polys if all(p.domain.is_QQ or p.domain.is_ZZ for p in polys) else None

    @cached_property
    def polynomial(self) -> bool:
        """Every component is a polynomial with rational coefficients."""
        return self.polys is not None

    @cached_property
    def terms(self) -> int | None:
        """Monomials of a polynomial target (summed over components), else None."""
        return None if self.polys is None else sum(len(p.terms()) for p in self.polys)

    @cached_property
    def degree(self) -> int | None:
        """Total degree when polynomial, else None."""
        if self.polys is None:
            return None
        return max(int(p.total_degree()) for p in self.polys)

    def polynomial_values(self, points: Sequence[Sequence[Fraction]]) -> list[list[Any]]:
        """Exact values of a polynomial target at many points: ``out[o][i]`` = f_o(points[i]) as a
        gmpy2 ``mpq`` (``float()`` of one is correctly rounded). Monomials are summed with the
        powers of each coordinate computed once per point; much faster than SymPy substitution."""
        import gmpy2

        if self.polys is None:
            raise InputError("target.expr", list(self.exprs), "is not a polynomial")
        polys = self.polys
        terms = [[(monom, gmpy2.mpq(int(c.p), int(c.q))) for monom, c in poly.terms()] for poly in polys]
        degree = [max((m[i] for tt in terms for m, _ in tt), default=0) for i in range(self.dim)]
        out: list[list[Any]] = [[] for _ in polys]
        for point in points:
            powers = []
            for i, c in enumerate(point):
                x = gmpy2.mpq(c.numerator, c.denominator)
                row = [gmpy2.mpq(1)]
                for _ in range(degree[i]):
                    row.append(row[-1] * x)
                powers.append(row)
            for o, tt in enumerate(terms):
                total = gmpy2.mpq(0)
                for monom, coeff in tt:
                    term = coeff
                    for i, e in enumerate(monom):
                        if e:
                            term = term * powers[i][e]
                    total += term
                out[o].append(total)
        return out

    def exact(self, point: Sequence[Fraction]) -> tuple[sympy.Expr, ...]:
        """Exact values f(point) as SymPy numbers (one per output)."""
        subs = {s: sympy.Rational(c.numerator, c.denominator) for s, c in zip(self.symbols, point)}
        return tuple(e.xreplace(subs) for e in self.sympy_exprs)


@dataclass(frozen=True)
class Init:
    """Initial parameters: explicit exact values, or a seeded scheme for an ensemble.

    ``scheme`` is ``"explicit"`` (``theta``), ``"normal"`` (every entry N(0, scale^2)),
    ``"uniform"`` (every entry U(-scale, scale)) or ``"xavier_uniform"`` (PyTorch's:
    weights U(+-sqrt(6 / (fan_in + fan_out))), zero biases).
    """

    scheme: Literal["explicit", "normal", "uniform", "xavier_uniform"] = "normal"
    theta: tuple[Fraction, ...] | None = None
    scale: Fraction = Fraction(1)
    seed: int = 0
    ensemble: int = 1

    def thetas(self, network: Network) -> np.ndarray:
        """float64 initial parameters of shape (E, d)."""
        if self.scheme == "explicit":
            assert self.theta is not None
            return np.array([[float(c) for c in self.theta]], dtype=np.float64)
        return self._draw(network)

    def _draw(self, network: Network) -> np.ndarray:
        d = network.n_params
        rng = np.random.default_rng(self.seed)
        if self.scheme == "normal":
            return rng.normal(0.0, float(self.scale), size=(self.ensemble, d))
        if self.scheme == "uniform":
            return rng.uniform(-float(self.scale), float(self.scale), size=(self.ensemble, d))
        arr = np.zeros((self.ensemble, d))
        for layer in network.layers:
            bound = (6.0 / (layer.fan_in + layer.fan_out)) ** 0.5
            n = layer.weight.stop - layer.weight.start
            arr[:, layer.weight] = rng.uniform(-bound, bound, size=(self.ensemble, n))
        return arr

    def exact_members(self, network: Network) -> tuple[tuple[Fraction, ...], ...]:
        """Exact initial parameters of every member (a float draw is taken at its exact value)."""
        if self.scheme == "explicit":
            assert self.theta is not None
            return (self.theta,)
        return tuple(tuple(Fraction(float(c)) for c in row) for row in self._draw(network))

    def exact_member(self, network: Network, member: int) -> tuple[Fraction, ...]:
        """Exact initial parameters of one member (without converting the others)."""
        if not 0 <= member < self.ensemble:
            raise InputError("member", member, f"choose a member in 0 .. {self.ensemble - 1}")
        if self.scheme == "explicit":
            assert self.theta is not None
            return self.theta
        return tuple(Fraction(float(c)) for c in self._draw(network)[member])

    def spec(self) -> dict[str, Any]:
        if self.scheme == "explicit":
            assert self.theta is not None
            return {"theta": [str(c) for c in self.theta]}
        out: dict[str, Any] = {"scheme": self.scheme, "seed": self.seed, "ensemble": self.ensemble}
        if self.scheme in ("normal", "uniform"):
            out["scale"] = str(self.scale)
        return out


@dataclass(frozen=True)
class Problem:
    """A complete problem: network, data, target, loss factor and initial parameters.

    The loss is ``L(theta) = factor * (1/n) sum_i |N(x_i) - f(x_i)|^2`` for point data and
    ``L(theta) = factor * integral_a^b (N(x) - f(x))^2 dx`` for an interval.
    """

    network: Network
    data: Data
    target: Target
    factor: Fraction = Fraction(1)
    init: Init = field(default_factory=lambda: Init(scheme="normal"))
    name: str = "problem"

    def __post_init__(self) -> None:
        net = self.network
        if self.data.dim != net.input_dim:
            raise InputError("data", f"{self.data.dim}-D inputs",
                             f"the network's input width is {net.input_dim}: make them agree")
        if self.target.dim != net.input_dim:
            raise InputError("target.expr", list(self.target.exprs),
                             f"the target must be a function of {net.input_dim} input(s)")
        if len(self.target.exprs) != net.output_dim:
            raise InputError("target.expr", list(self.target.exprs),
                             f"give {net.output_dim} expression(s), one per network output")
        factor = to_fraction(self.factor, "loss.factor")
        if factor <= 0:
            raise InputError("loss.factor", str(factor), "must be positive")
        object.__setattr__(self, "factor", factor)
        if self.data.interval is not None and net.info.piecewise_linear and net.activation != "identity":
            if net.depth != 2 or net.output_activation:
                raise InputError(
                    "network.widths", list(net.widths),
                    f"the integral loss with {net.activation} is supported for one hidden layer with an affine "
                    "output (widths [1, N, m]): use point data for deeper networks")
        if self.init.scheme == "explicit":
            if self.init.theta is None or len(self.init.theta) != net.n_params:
                got = None if self.init.theta is None else len(self.init.theta)
                raise InputError("init.theta", f"{got} values",
                                 f"the network {net.describe()} has {net.n_params} parameters "
                                 f"({', '.join(net.param_names()[:6])}{', ...' if net.n_params > 6 else ''}): "
                                 f"give exactly {net.n_params}")
        if self.init.scheme != "explicit":
            check_memory("init.ensemble", self.init.ensemble, ensemble_bytes(self.init.ensemble, net.n_params),
                         f"draw fewer members (d = {net.n_params})")
        # target values must be finite and real at the data (cheap check at 30 digits)
        self._check_target_finite()

    def _check_target_finite(self) -> None:
        if self.data.interval is not None:
            pts: Sequence[Sequence[Fraction]] = [(self.data.interval[0],), (self.data.interval[1],),
                                                 ((self.data.interval[0] + self.data.interval[1]) / 2,)]
        else:
            pts = self.data.points
        if self.target.polynomial:
            return
        sample = pts if len(pts) <= 64 else [pts[i] for i in np.linspace(0, len(pts) - 1, 64).astype(int)]
        for p in sample:
            for v in self.target.exact(p):
                val = sympy.N(v, 20)
                if not (val.is_real and val.is_finite) or val.is_infinite:
                    raise InputError("target.expr", list(self.target.exprs),
                                     f"is not finite and real at the data point {[str(c) for c in p]}: "
                                     "choose a target defined on all the data")

    @property
    def n_params(self) -> int:
        return self.network.n_params

    def initial_exact(self, member: int = 0) -> tuple[Fraction, ...]:
        """Exact initial parameters of one ensemble member."""
        return self.init.exact_member(self.network, member)

    def np(self) -> Any:
        """The float64 landscape (``NpLandscape``): the interface of ``ExprLandscape.np()``, so
        that code written for either kind of loss runs on both."""
        from ..landscapes.np import NpLandscape

        return NpLandscape(self)

    def mp(self, dps: int = 30) -> Any:
        """The landscape at ``dps`` digits (``MpLandscape``), as ``ExprLandscape.mp(dps)``."""
        from ..landscapes.mp import MpLandscape

        return MpLandscape(self, dps=dps)

    def exact(self) -> Any:
        """The exact landscape (``ExactLandscape``), as ``ExprLandscape.exact()``."""
        from ..landscapes.exact import ExactLandscape

        return ExactLandscape(self)

    def with_theta(self, theta: Sequence[object]) -> Problem:
        """The same problem started at explicit exact parameters."""
        exact = tuple(to_fraction(v, f"theta[{i}]") for i, v in enumerate(theta))
        return replace(self, init=Init(scheme="explicit", theta=exact, ensemble=1))

    def to_dict(self) -> dict[str, Any]:
        """The problem as a TOML-ready dict (all numbers as exact strings)."""
        net = self.network
        network: dict[str, Any] = {"widths": list(net.widths), "activation": net.activation}
        if net.activation == "leaky_relu":
            network["slope"] = str(net.slope)
        network["biases"] = net.biases
        network["output_activation"] = net.output_activation
        target: dict[str, Any] = {"expr": self.target.exprs[0] if len(self.target.exprs) == 1
                                  else list(self.target.exprs)}
        return {"name": self.name, "network": network, "data": dict(self.data.spec), "target": target,
                "loss": {"factor": str(self.factor)}, "init": self.init.spec()}

    def to_toml(self) -> str:
        """The problem as TOML text that ``parse_problem`` reads back to an equal problem."""
        return _dump_toml(self.to_dict())


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(type(v))


def _dump_toml(d: dict[str, Any]) -> str:
    lines = []
    for k, v in d.items():
        if not isinstance(v, dict):
            lines.append(f"{k} = {_toml_value(v)}")
    for k, v in d.items():
        if isinstance(v, dict):
            lines.append(f"\n[{k}]")
            for kk, vv in v.items():
                lines.append(f"{kk} = {_toml_value(vv)}")
    return "\n".join(lines) + "\n"


_KNOWN = {
    "network": {"widths", "activation", "slope", "biases", "output_activation"},
    "data": {"points", "grid", "sample", "interval"},
    "target": {"expr"},
    "loss": {"factor"},
    "init": {"theta", "scheme", "scale", "seed", "ensemble"},
}


def _table(doc: dict[str, Any], name: str, required: bool = True) -> dict[str, Any]:
    if name not in doc:
        if required:
            raise InputError(f"[{name}]", None, f"the problem file needs a [{name}] table")
        return {}
    t = doc[name]
    if not isinstance(t, dict):
        raise InputError(f"[{name}]", t, f"must be a table: write [{name}] on its own line")
    unknown = sorted(set(t) - _KNOWN[name])
    if unknown:
        raise InputError(f"{name}.{unknown[0]}", t[unknown[0]],
                         f"unknown key; [{name}] takes {', '.join(sorted(_KNOWN[name]))}")
    return t


def problem_from_dict(doc: dict[str, Any], *, name: str = "problem") -> Problem:
    """Build a problem from a dict with the layout of a problem file."""
    unknown = sorted(k for k in doc if k not in _KNOWN and k != "name")
    if unknown:
        raise InputError(unknown[0], doc[unknown[0]], f"unknown table; a problem has {', '.join(_KNOWN)}")
    n = _table(doc, "network")
    if "widths" not in n:
        raise InputError("network.widths", None, "give the layer widths, e.g. widths = [1, 2, 1]")
    if "activation" not in n:
        raise InputError("network.activation", None, "name an activation, e.g. activation = \"tanh\"")
    net_kwargs: dict[str, Any] = {"widths": n["widths"], "activation": n["activation"]}
    for key in ("slope", "biases", "output_activation"):
        if key in n:
            net_kwargs[key] = n[key]
    if not isinstance(n["widths"], list):
        raise InputError("network.widths", n["widths"], "give a list of positive integers such as [1, 2, 1]")
    network = Network(**{**net_kwargs, "widths": tuple(n["widths"])})
    dim = network.input_dim

    dt = _table(doc, "data")
    given = [k for k in ("points", "grid", "sample", "interval") if k in dt]
    if len(given) != 1:
        raise InputError("[data]", sorted(dt), "give exactly one of points, grid, sample, interval")
    kind = given[0]
    if kind == "points":
        data = Data.from_points(dt["points"])
    elif kind == "interval":
        iv = dt["interval"]
        if not isinstance(iv, list) or len(iv) != 2:
            raise InputError("data.interval", iv, "give two numbers, e.g. [\"0\", \"1\"]")
        data = Data.from_interval(iv[0], iv[1])
    elif kind == "grid":
        g = dt["grid"]
        if not isinstance(g, dict) or set(g) != {"start", "stop", "num"}:
            raise InputError("data.grid", g, "give { start = \"-1\", stop = \"1\", num = 16 }")
        data = Data.from_grid(g["start"], g["stop"], g["num"], dim)
    else:
        s = dt["sample"]
        keys = {"low", "high", "num", "seed"}
        if not isinstance(s, dict) or not {"low", "high", "num"} <= set(s) or not set(s) <= keys:
            raise InputError("data.sample", s, "give { low = \"-1\", high = \"1\", num = 100, seed = 0 }")
        data = Data.from_sample(s["low"], s["high"], s["num"], s.get("seed", 0), dim)

    tt = _table(doc, "target")
    if "expr" not in tt:
        raise InputError("target.expr", None, "give the target as a SymPy expression, e.g. expr = \"x**2\"")
    exprs = tt["expr"]
    target = Target(exprs=tuple(exprs) if isinstance(exprs, list) else (exprs,), dim=dim)

    lt = _table(doc, "loss", required=False)
    factor = to_fraction(lt.get("factor", 1), "loss.factor")

    it = _table(doc, "init", required=False)
    if "theta" in it:
        if set(it) - {"theta"}:
            raise InputError("init", sorted(it), "give either theta or a scheme, not both")
        init = Init(scheme="explicit", theta=_exact_list(it["theta"], "init.theta"), ensemble=1)
    else:
        scheme = it.get("scheme", "normal")
        if scheme not in ("normal", "uniform", "xavier_uniform"):
            raise InputError("init.scheme", scheme, "use normal, uniform or xavier_uniform (or give theta)")
        if scheme == "xavier_uniform" and "scale" in it:
            raise InputError("init.scale", it["scale"], "xavier_uniform takes no scale")
        scale = to_fraction(it.get("scale", 1), "init.scale")
        if scale <= 0:
            raise InputError("init.scale", str(scale), "must be positive")
        init = Init(scheme=scheme, scale=scale, seed=_int(it.get("seed", 0), "init.seed", minimum=0),
                    ensemble=_int(it.get("ensemble", 1), "init.ensemble", minimum=1))
    pname = doc.get("name", name)
    if not isinstance(pname, str):
        raise InputError("name", pname, "must be a string")
    return Problem(network=network, data=data, target=target, factor=factor, init=init, name=pname)


#: largest input file read (bytes)
MAX_FILE_BYTES = 50_000_000


def parse_toml(text: str, *, field: str = "problem file", name: str = "problem") -> dict[str, Any]:
    """TOML text to a dict; floats are kept as their decimal text (read exactly later)."""
    try:
        return tomllib.loads(text, parse_float=str)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(field, name, f"is not valid TOML ({exc}): fix the syntax") from None
    except RecursionError:
        raise InputError(field, name, "nests arrays or tables too deeply: flatten the file") from None
    except (ValueError, OverflowError, MemoryError) as exc:
        raise InputError(field, name, f"cannot be read as TOML ({type(exc).__name__}: {exc})") from None


def read_toml(path: str | Path, *, field: str = "FILE", what: str = "problem file") -> dict[str, Any]:
    """Read a TOML file as untrusted data: a missing or unreadable file, bytes that are not UTF-8,
    a file larger than ``MAX_FILE_BYTES`` or invalid TOML are an InputError naming ``field``."""
    p = Path(path)
    if not p.is_file():
        raise InputError(field, str(path), f"no such {what}: give the path of a .toml {what}")
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError(field, str(path), f"is {size} bytes; a {what} has at most {MAX_FILE_BYTES}")
        raw = p.read_bytes()
    except OSError as exc:
        raise InputError(field, str(path), f"cannot be read ({exc.__class__.__name__}): check the path") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(field, str(path), f"is not UTF-8 text (byte {exc.start}): save it as UTF-8") from None
    return parse_toml(text, field=field, name=str(path))


def parse_problem(text: str, *, name: str = "problem") -> Problem:
    """Read a problem from TOML text; numbers are read exactly (TOML floats at their decimal text)."""
    return problem_from_dict(parse_toml(text, name=name), name=name)


def load_problem(path: str | Path) -> Problem:
    """Read a problem file (TOML). See the README for the format."""
    return problem_from_dict(read_toml(path), name=Path(path).stem)
