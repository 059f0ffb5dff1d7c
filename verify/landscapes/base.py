"""One entry point over the three tiers: ``landscape`` builds one, ``evaluate`` reports a point."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Literal, Sequence, Union

import mpmath
import numpy as np

from ..errors import InputError
from ..problem.numbers import GUARD_DPS, MIN_DPS, check_dps
from ..problem.problem import Problem

__all__ = ["Tier", "LandscapePoint", "landscape", "evaluate", "TIERS", "MIN_DPS"]

Tier = Literal["exact", "mp", "np"]
TIERS: tuple[str, ...] = ("exact", "mp", "np")

Number = Union[str, float]


def _check_tier(tier: object) -> str:
    if tier not in TIERS:
        raise InputError("tier", tier, "use one of exact, mp, np")
    return str(tier)


def landscape(problem: Problem, *, tier: Tier = "np", dps: int = 30) -> Any:
    """The loss landscape of ``problem`` in one tier.

    Parameters
    ----------
    problem : Problem
    tier : {"exact", "mp", "np"}, keyword-only
        ``exact``: SymPy, exact at rational parameters (``ExactLandscape``); ``mp``: mpmath
        at ``dps`` digits plus guard digits (``MpLandscape``); ``np``: float64 ensembles
        (``NpLandscape``).
    dps : int, keyword-only
        Decimal digits of the mp tier (ignored by the others).
    """
    tier = _check_tier(tier)  # type: ignore[assignment]
    if tier == "np":
        from .np import NpLandscape

        return NpLandscape(problem)
    if tier == "mp":
        from .mp import MpLandscape

        return MpLandscape(problem, dps=check_dps(dps))
    from .exact import ExactLandscape

    return ExactLandscape(problem)


@dataclass(frozen=True)
class LandscapePoint:
    """Loss, gradient and Hessian spectrum at one parameter vector.

    In the ``mp`` and ``exact`` tiers numbers are decimal strings with ``dps`` significant
    digits; in the ``np`` tier they are floats. ``hessian_eigenvalues`` are ascending.
    """

    tier: str
    dps: int | None
    n_params: int
    theta: tuple[str, ...]
    loss: Number
    grad: tuple[Number, ...]
    grad_norm: Number
    hessian_eigenvalues: tuple[Number, ...]

    def to_json(self) -> dict[str, Any]:
        """The JSON object printed by ``verify landscape --json``."""
        return {
            "tier": self.tier,
            "dps": self.dps,
            "n_params": self.n_params,
            "theta": list(self.theta),
            "loss": self.loss,
            "grad": list(self.grad),
            "grad_norm": self.grad_norm,
            "hessian_eigenvalues": list(self.hessian_eigenvalues),
        }


def _mp_strings(ctx: Any, values: Sequence[Any], dps: int) -> tuple[str, ...]:
    return tuple(ctx.nstr(v, dps, strip_zeros=False, min_fixed=-4, max_fixed=6) for v in values)


def evaluate(problem: Problem, theta: Sequence[object] | None = None, *, tier: Tier = "np",
             dps: int = 30, member: int = 0, progress: Callable[[str, float], None] | None = None) -> LandscapePoint:
    """Evaluate the landscape at ``theta`` (default: the problem's initial parameters).

    Parameters
    ----------
    problem : Problem
    theta : sequence of d exact numbers, optional
        Defaults to member ``member`` of the problem's initial ensemble, taken exactly.
    tier : {"exact", "mp", "np"}, keyword-only
    dps : int, keyword-only
        Significant digits of the reported numbers in the mp and exact tiers.
    member : int, keyword-only
        Which ensemble member to evaluate when ``theta`` is not given.
    progress : callable, keyword-only
        Called with (phase, fraction done) as the mp and exact tiers pass their phases (loss and
        gradient, Hessian, eigenvalues), which at thousands of digits take seconds to minutes.
    """
    report = progress if progress is not None else (lambda phase, f: None)
    tier = _check_tier(tier)  # type: ignore[assignment]
    dps = check_dps(dps)
    if theta is None:
        exact_theta: tuple[Fraction, ...] = problem.initial_exact(member)
    else:
        exact_theta = problem.with_theta(theta).initial_exact(0)
    d = problem.n_params
    theta_str = tuple(str(c) for c in exact_theta)
    if tier == "np":
        land = landscape(problem, tier="np")
        th = np.array([float(c) for c in exact_theta])
        loss, grad = land.loss_and_grad(th)
        hess = land.hessian(th)
        eig = np.linalg.eigvalsh((hess + hess.T) / 2.0) if np.all(np.isfinite(hess)) else np.full(d, np.nan)
        return LandscapePoint("np", None, d, theta_str, float(loss), tuple(float(g) for g in grad),
                              float(np.linalg.norm(grad)), tuple(float(e) for e in eig))
    ctx = mpmath.MPContext()
    ctx.dps = dps + GUARD_DPS
    if tier == "mp":
        mland = landscape(problem, tier="mp", dps=dps)
        report("loss and gradient", 0.0)
        loss_v, grad_v = mland.loss_and_grad(exact_theta)
        report("Hessian", 0.15)
        hess_v = mland.hessian(exact_theta)
        ctx = mland.ctx
        loss_m = loss_v
        grad_m = list(grad_v)
        H = ctx.matrix(hess_v)
    else:
        eland = landscape(problem, tier="exact")
        report("exact loss, gradient and Hessian", 0.0)
        loss_e, grad_e, hess_e = eland.evaluate(exact_theta, dps)
        loss_m = ctx.mpf(str(loss_e))
        grad_m = [ctx.mpf(str(g)) for g in grad_e]
        H = ctx.matrix([[ctx.mpf(str(hess_e[i, j])) for j in range(d)] for i in range(d)])
    Hs = (H + H.T) / 2
    report("Hessian eigenvalues", 0.5)
    eig_m = sorted(ctx.eigsy(Hs, eigvals_only=True)) if d > 0 else []
    report("done", 1.0)
    gnorm = ctx.sqrt(ctx.fsum(g * g for g in grad_m))
    return LandscapePoint(str(tier), dps, d, theta_str, _mp_strings(ctx, [loss_m], dps)[0],
                          _mp_strings(ctx, grad_m, dps), _mp_strings(ctx, [gnorm], dps)[0],
                          _mp_strings(ctx, eig_m, dps))
