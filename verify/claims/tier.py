r"""Tiers: one experiment written once, run in float64, at any precision, or exactly.

A :class:`Tier` is the arithmetic an experiment runs in, in the manner of mpmath's contexts
(``fp``, ``mp``, ``iv``): the same function body, written against ``tier``, runs in float64 to
search for counterexamples (``Tier.float64()``), at ``dps`` digits to confirm them
(``Tier.mp(dps)``), or in exact rational arithmetic where the experiment is algebraic
(``Tier.exact()``). A claim's :meth:`~verify.Claim.experiment` receives one, so the float64
judgement and its higher-precision confirmations are the same experiment by construction: the
same horizon, the same criteria, the thresholds scaled to the precision (:meth:`Tier.tol`).

What a tier provides:

* numbers: :meth:`~Tier.num` and :meth:`~Tier.vector` take exact inputs (ints, Fractions,
  rational strings) and round them once to the tier; :meth:`~Tier.exact` turns a tier number
  back into a Fraction (its exact binary value);
* scalar math through ``tier.ctx`` (``mpmath.fp`` or a private ``MPContext``), and the vector
  helpers :meth:`~Tier.norm`, :meth:`~Tier.dot`, :meth:`~Tier.axpy`, :meth:`~Tier.eigvalsh`;
* the landscape of a problem or formula at this tier (:meth:`~Tier.landscape`);
* dynamics: :meth:`~Tier.flow` (gradient flow: ``solve_flow`` / ``solve_flow_mp``),
  :meth:`~Tier.descent` (GD with the same events in every tier) and :meth:`~Tier.classify`.

Thresholds: a float64 tolerance ``x`` is read as a power of float64's unit roundoff,
``x = eps64^a``, and scaled to ``eps^a`` of the tier (``Tier.mp(30).tol(1e-8)`` is about
``1e-15.2``, since 1e-8 is about eps64^(1/2)); exact tiers keep the float64 value, as a
Fraction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from typing import Any, Literal, Sequence

import mpmath
import numpy as np

from ..dynamics.trajectory import MESSAGES, Checkpoints, Costs, Events, Status, Trajectory, check_checkpoints
from ..errors import InputError
from ..problem.numbers import GUARD_DPS, check_dps, to_fraction

__all__ = ["Tier", "FLOAT64"]

_EPS64 = 2.0 ** -52


@dataclass(frozen=True)
class Tier:
    """The arithmetic of one run of an experiment.

    Build with :meth:`float64`, :meth:`mp` or :meth:`exact`.

    Attributes
    ----------
    kind : {"float64", "mp", "exact"}
    dps : int or None
        Decimal digits of the mp tier (None otherwise).
    """

    kind: Literal["float64", "mp", "exact"] = "float64"
    dps: int | None = None
    _cache: dict[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in ("float64", "mp", "exact"):
            raise InputError("tier", self.kind, "use Tier.float64(), Tier.mp(dps) or Tier.exact()")
        if self.kind == "mp":
            check_dps(self.dps)
        elif self.dps is not None:
            raise InputError("dps", self.dps, f"the {self.kind} tier takes no dps")

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def float64(cls) -> Tier:
        """IEEE double precision, vectorized with numpy."""
        return FLOAT64

    @classmethod
    def mp(cls, dps: int) -> Tier:
        """mpmath at ``dps`` significant digits (plus guard digits), in a private context."""
        return cls("mp", check_dps(dps))

    @classmethod
    def exact(cls) -> Tier:
        """Exact rational arithmetic (Fractions; landscapes through SymPy)."""
        return cls("exact")

    # -- description -------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """``float64``, ``30 digits`` or ``exact``."""
        return f"{self.dps} digits" if self.kind == "mp" else self.kind

    @property
    def is_float64(self) -> bool:
        return self.kind == "float64"

    @property
    def digits(self) -> float:
        """Decimal digits of the arithmetic (15.95 for float64, inf for exact)."""
        if self.kind == "float64":
            return -math.log10(_EPS64)
        return math.inf if self.kind == "exact" else float(self.dps)  # type: ignore[arg-type]

    def __str__(self) -> str:
        return self.name

    # -- scalars -------------------------------------------------------------------------------
    @cached_property
    def ctx(self) -> Any:
        """``mpmath.fp`` (float64), a private ``MPContext`` at dps + guard digits (mp), or the
        mpmath context at 50 digits for the transcendental functions of the exact tier."""
        if self.kind == "float64":
            return mpmath.fp
        ctx = mpmath.MPContext()
        ctx.dps = (self.dps if self.kind == "mp" else 50) + GUARD_DPS  # type: ignore[operator]
        return ctx

    @property
    def eps(self) -> Any:
        """Unit roundoff: 2^-52, 10^-dps, or 0 (exact)."""
        if self.kind == "float64":
            return _EPS64
        if self.kind == "exact":
            return Fraction(0)
        return self.ctx.mpf(10) ** (-self.dps)  # type: ignore[operator]

    def tol(self, float64_value: float) -> Any:
        """A float64 tolerance scaled to this tier: eps64^a -> eps^a (see the module notes)."""
        if not float64_value > 0:
            raise InputError("tol", float64_value, "give a positive float64 tolerance such as 1e-8")
        if self.kind == "float64":
            return float(float64_value)
        if self.kind == "exact":
            return to_fraction(float64_value, "tol")
        a = math.log(float64_value) / math.log(_EPS64)
        return self.ctx.power(10, -a * self.dps)  # type: ignore[operator]

    def num(self, value: object) -> Any:
        """An exact number (int, Fraction, rational string, float at its binary value) in this
        tier, rounded once."""
        if self.kind == "float64":
            if isinstance(value, float):
                return value
            return float(to_fraction(value, "value"))
        q = value if isinstance(value, Fraction) else to_fraction(value, "value")
        if self.kind == "exact":
            return q
        return self.ctx.mpf(q.numerator) / q.denominator

    def vector(self, values: Sequence[object]) -> Any:
        """A vector of exact numbers in this tier: a float64 array, a list of mpf, a tuple of
        Fractions."""
        if self.kind == "float64":
            return np.array([self.num(v) for v in values], dtype=np.float64)
        if self.kind == "exact":
            return tuple(self.num(v) for v in values)
        return [self.num(v) for v in values]

    def exact_of(self, value: Any) -> Fraction:
        """The exact rational value of a tier number (a float or mpf at its binary value)."""
        return to_fraction(value, "value")

    def to_float(self, value: Any) -> float:
        """A tier number as a float (for steering and plots; +-inf past float64's range)."""
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf

    def text(self, value: Any, digits: int = 6) -> str:
        """A number for summaries: ``digits`` significant digits."""
        if value is None:
            return "n/a"
        if isinstance(value, Fraction):
            return str(value) if value.denominator < 10**6 else f"{float(value):.{digits}g}"
        if self.kind == "float64" or isinstance(value, (int, float)):
            return f"{float(value):.{digits}g}"
        return mpmath.nstr(value, digits)

    # -- vectors -------------------------------------------------------------------------------
    def norm(self, v: Any) -> Any:
        """Euclidean norm."""
        if self.kind == "float64":
            return float(np.linalg.norm(np.asarray(v, dtype=np.float64)))
        if self.kind == "exact":
            return self.ctx.sqrt(sum(self.ctx.mpf(x.numerator) / x.denominator * x for x in v))
        return self.ctx.sqrt(self.ctx.fsum(x * x for x in v))

    def dot(self, u: Any, v: Any) -> Any:
        if self.kind == "float64":
            return float(np.dot(np.asarray(u, dtype=np.float64), np.asarray(v, dtype=np.float64)))
        if self.kind == "exact":
            return sum((a * b for a, b in zip(u, v)), Fraction(0))
        return self.ctx.fdot(u, v)

    def axpy(self, a: Any, x: Any, y: Any) -> Any:
        """a x + y."""
        if self.kind == "float64":
            return a * np.asarray(x, dtype=np.float64) + np.asarray(y, dtype=np.float64)
        out = [a * xi + yi for xi, yi in zip(x, y)]
        return tuple(out) if self.kind == "exact" else out

    def eigvalsh(self, H: Any) -> list[Any]:
        """Eigenvalues (ascending) of a symmetric matrix given as rows."""
        if self.kind == "float64":
            A = np.asarray(H, dtype=np.float64)
            return [float(e) for e in np.linalg.eigvalsh((A + A.T) / 2)]
        ctx = self.ctx
        M = ctx.matrix([[ctx.mpf(x) if not isinstance(x, Fraction) else ctx.mpf(x.numerator) / x.denominator
                         for x in row] for row in H])
        return sorted(ctx.eigsy((M + M.T) / 2, eigvals_only=True))

    # -- landscapes and dynamics -------------------------------------------------------------
    def landscape(self, source: Any) -> Any:
        """The landscape of a problem or formula in this tier (cached per source)."""
        from ..landscapes.formula import ExprLandscape

        hit = self._cache.get("land")
        if hit is not None and hit[0] is source:      # the last source only: searches draw many
            return hit[1]
        if isinstance(source, ExprLandscape):
            land = source.np() if self.kind == "float64" else _ExactView(source.exact()) if self.kind == "exact" \
                else source.mp(self.dps)  # type: ignore[arg-type]
        else:
            from ..landscapes.base import landscape as make

            if self.kind == "mp":
                land = make(source, tier="mp", dps=int(self.dps))  # type: ignore[arg-type]
            else:
                land = make(source, tier="np") if self.kind == "float64" else _ExactView(make(source, tier="exact"))
        self._cache["land"] = (source, land)
        return land

    def flow(self, land: Any, theta0: Sequence[object], *, t1: float, checkpoints: int = 32,
             stiff: bool = True, rtol: float = 1e-10, max_steps: int = 1_000_000,
             events: Events | None = None) -> Trajectory:
        """The gradient flow from exact ``theta0`` to ``t1`` at this tier.

        float64: ``solve_flow`` with ``Rodas4`` (``stiff=True``) or ``Dop853`` and relative
        tolerance ``rtol``; mp: ``solve_flow_mp`` with the tolerance ``tol(rtol)`` scaled to the
        digits. The same horizon, checkpoints and events in both.
        """
        check_checkpoints(checkpoints)
        events = Events() if events is None else events
        if self.kind == "float64":
            from ..dynamics.flow import Dop853, Rodas4, solve_flow
            from ..dynamics.trajectory import StepControl

            solver = Rodas4() if stiff else Dop853()
            res = solve_flow(land, self.vector(theta0), t1=t1, solver=solver, events=events,
                             control=StepControl(rtol=rtol, atol=rtol / 100, max_steps=max_steps),
                             checkpoints=checkpoints)
            return res.members[0]
        if self.kind == "exact":
            raise InputError("tier", "exact", "a gradient flow has no exact tier: use Tier.mp(dps)")
        from ..dynamics.mpflow import solve_flow_mp

        return solve_flow_mp(land, [to_fraction(v, "theta0") if not hasattr(v, "_mpf_") else v for v in theta0],
                             t1=t1, rtol=self.tol(rtol), events=events, checkpoints=checkpoints,
                             max_steps=max_steps)

    def follow(self, land: Any, theta0: Sequence[object], *, t_max: float, max_steps: int,
               seconds: float | None = None, per_decade: int = 8, confirm: int = 3) -> Any:
        """The gradient flow from exact ``theta0`` followed until decided (``verify.follow_flow``).

        The same decision rule, flow-time and step budget in every tier: float64 with
        ``solver="auto"`` (rtol 1e-8, atol 1e-10: on the SAD pair flows to t = 1e12, 1e-10
        decides the same way at about three times the cost), mp with the tier's solver choice at
        the tolerance ``tol(1e-8)`` scaled to its digits. ``seconds`` bounds the wall time of the
        mp tier only (high precision is slow): a float64 run is bounded by flow time and steps,
        so it is reproducible on any machine. Returns the one :class:`~verify.FollowedFlow`.
        """
        from ..dynamics.follow import Budget, follow_flow

        if self.kind == "exact":
            raise InputError("tier", "exact", "a gradient flow has no exact tier: use Tier.mp(dps)")
        if self.kind == "float64":
            from ..dynamics.trajectory import StepControl

            budget = Budget(seconds=None, t_max=t_max, max_steps=max_steps)
            res = follow_flow(land, self.vector(theta0), budget=budget,
                              control=StepControl(rtol=1e-8, atol=1e-10, max_steps=max_steps),
                              per_decade=per_decade, confirm=confirm)
        else:
            start = [to_fraction(v, "theta0") if not hasattr(v, "_mpf_") else v for v in theta0]
            res = follow_flow(land, start, budget=Budget(seconds=seconds, t_max=t_max, max_steps=max_steps),
                              per_decade=per_decade, confirm=confirm, dps_rtol=self.tol(1e-8))
        return res.members[0]

    def classify(self, land: Any, trajectory: Trajectory, **kwargs: Any) -> Any:
        """``verify.classify`` (the same criteria; tolerances of the trajectory's tier)."""
        from ..dynamics.outcome import classify

        return classify(land, trajectory, **kwargs)

    def descent(self, land: Any, theta0: Sequence[object], *, step_size: object, steps: int,
                events: Events | None = None, checkpoints: int = 32, keep_last: int = 0) -> Trajectory:
        """Gradient descent theta_{k+1} = theta_k - eta grad L(theta_k) for ``steps`` steps.

        float64: ``run_descent``; mp: the same loop in this tier's arithmetic, with
        the same events (``stationary``, ``diverged``, ``loss_below``) and log-spaced checkpoints.
        """
        events = Events() if events is None else events
        if self.kind == "exact":
            raise InputError("tier", "exact", "descent has no exact tier (the rationals grow without bound): "
                                              "use Tier.mp(dps)")
        if self.kind == "float64":
            from ..dynamics.descent import run_descent

            res = run_descent(land, self.vector(theta0)[None, :], step_size=float(self.num(step_size)),
                              steps=steps, events=events, checkpoints=checkpoints, keep_last=keep_last)
            return res.members[0]
        return _descent_loop(self, land, theta0, step_size, steps, events, checkpoints, keep_last)


FLOAT64 = Tier("float64")
"""The float64 tier."""


def _fraction_or_expr(value: Any) -> Any:
    """A rational SymPy number as a Fraction; anything else (sqrt(2), tanh(1/2), ...) as is."""
    if getattr(value, "is_Rational", False):
        return Fraction(int(value.p), int(value.q))
    return value


class _ExactView:
    """The exact tier of a landscape with rational values as Fractions (others stay SymPy)."""

    tier = "exact"

    def __init__(self, land: Any) -> None:
        self.land = land
        self.n_params = land.n_params if hasattr(land, "n_params") else land.problem.n_params

    def loss(self, theta: Sequence[object]) -> Any:
        return _fraction_or_expr(self.land.loss(theta))

    def grad(self, theta: Sequence[object]) -> tuple[Any, ...]:
        return tuple(_fraction_or_expr(g) for g in self.land.grad(theta))

    def loss_and_grad(self, theta: Sequence[object]) -> tuple[Any, tuple[Any, ...]]:
        return self.loss(theta), self.grad(theta)

    def hessian(self, theta: Sequence[object]) -> list[list[Any]]:
        H = self.land.hessian(theta)
        d = self.n_params
        return [[_fraction_or_expr(H[i, j]) for j in range(d)] for i in range(d)]


def _descent_loop(tier: Tier, land: Any, theta0: Sequence[object], step_size: object, steps: int,
                  events: Events, checkpoints: int, keep_last: int) -> Trajectory:
    from ..dynamics.trajectory import checkpoint_times

    check_checkpoints(checkpoints)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise InputError("steps", steps, "must be a positive integer")
    eta = tier.num(step_size)
    theta: Any = tier.vector(theta0)
    marks = {round(float(t)) for t in checkpoint_times(0.0, float(steps), checkpoints)}
    ck_t: list[Any] = []
    ck_loss: list[Any] = []
    ck_norm: list[Any] = []
    ck_grad: list[Any] = []
    last: list[tuple[Any, ...]] = []
    radius = tier.num(Fraction(events.radius))
    gtol = tier.num(Fraction(events.gtol))
    below = None if events.loss_below is None else tier.num(Fraction(events.loss_below))
    status, k, n_grad = Status.T1_REACHED, 0, 0

    def record(step: int, loss: Any, norm: Any, gnorm: Any) -> None:
        ck_t.append(step)
        ck_loss.append(loss)
        ck_norm.append(norm)
        ck_grad.append(gnorm)

    loss, grad = land.loss_and_grad(list(theta))
    n_grad += 1
    while True:
        norm, gnorm = tier.norm(theta), tier.norm(grad)
        if k == 0 or k in marks:
            record(k, loss, norm, gnorm)
        finite = all(tier.ctx.isfinite(x) for x in (loss, norm, gnorm))
        if not finite or norm >= radius:
            status = Status.DIVERGED
        elif gnorm <= gtol:
            status = Status.STATIONARY
        elif below is not None and loss <= below:
            status = Status.LOSS_BELOW
        elif k >= steps:
            status = Status.T1_REACHED
        else:
            if keep_last:
                last.append(tuple(theta))
                del last[:-keep_last]
            theta = tier.axpy(-eta, grad, theta)
            loss, grad = land.loss_and_grad(list(theta))
            n_grad += 1
            k += 1
            continue
        break
    if not ck_t or ck_t[-1] != k:
        record(k, loss, norm, gnorm)
    return Trajectory(status, MESSAGES[status], k, loss, norm, gnorm, tuple(theta),
                      Checkpoints(tuple(ck_t), tuple(ck_loss), tuple(ck_norm), tuple(ck_grad)),
                      Costs(steps=k, n_grad=n_grad), tier=tier.kind if tier.kind != "float64" else "np",
                      dps=tier.dps, extra={"last": tuple(last)} if keep_last else {})
