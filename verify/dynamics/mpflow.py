r"""Gradient flow at high precision: theta' = -grad L(theta) integrated at ``dps`` digits.

One driver (``solve_flow_mp``) joins the landscape (the vector field), an integrator (the
Taylor method of ``verify.dynamics.taylor``, the Gragg-Bulirsch-Stoer extrapolation below, or, once the
flow turns stiff, the Radau IIA method of ``verify.dynamics.radau``: see ``solve_flow_mp(method=...)``),
the stopping events of :class:`verify.dynamics.trajectory.Events` (located in time to the
tolerance), and checkpoints hit exactly. Every number is an ``mpf`` of the landscape's own
context; global mpmath precision is never read or changed.

The method
----------
One step of size H from y_0 (f = -grad L):

1. For rows j = 1, 2, ..., k run Gragg's modified midpoint rule with n_j = 2j substeps
   of size h_j = H / n_j,

   .. math:: y_1 = y_0 + h f(y_0),\qquad y_{m+1} = y_{m-1} + 2 h f(y_m),

   and set T_{j,1} = y_{n_j}. Its error has an expansion in even powers of h_j (Gragg
   1965), so
2. the Aitken-Neville tableau in h^2,

   .. math:: T_{j,i+1} = T_{j,i} + \frac{T_{j,i} - T_{j-1,i}}{(n_j / n_{j-i})^2 - 1},

   gives T_{k,k} of order 2k, and err_k = max_i |T_{k,k} - T_{k,k-1}|_i / (1 + |y_i|) / rtol
   estimates the error of T_{k,k-1}; T_{k,k} is kept.
3. Order and step size follow ODEX (HNW I, II.9): a convergence monitor accepts in row
   k - 1, k or k + 1 of the order window (or gives up early when convergence by row k + 1
   is not to be expected), the step of row j is H_j = H 0.94 (0.65 / err_j)^{1/(2j-1)},
   and the next k minimises the work per unit step A_j / H_j, where
   A_j = 1 + sum_{i<=j} (n_i - 1) counts gradient evaluations. A row whose error grows
   with the order halves the step.

The order has no fixed table: on the benchmark flow (30 digits, largest Hessian eigenvalue
about 3.6) the control settles on orders 28-36 and steps of 0.4-0.9 in flow time. The
largest row follows from the landscape's guard digits (``ctx.dps - dps``): the
extrapolation amplifies rounding errors by about 10^(0.35 k) (its Lebesgue constant),
which must stay below the guard; with ``MpLandscape``'s 10 guard digits that is 24 rows
(order 48), so beyond about 40 digits more guard digits make the flow faster.

Checkpoints are hit by shortening the step that would pass one; such a step climbs the
rows from the first and stops at the first converged one, and does not change the order
or step of the steps after it. An event (|theta| >= radius, |grad L| <= gtol,
L <= loss_below) seen at the end of a step is located by an Illinois (modified regula
falsi) search on the step length, each trial being one extrapolation step from the start
of the step with the accepted number of rows.

Why this method (figures from ``bench/bench_mpflow.py``): among methods that only call
``loss_and_grad`` at the working precision, extrapolation reaches high orders with few
rejected steps and a cost that grows gently with the digits (more rows, not more steps).
On the benchmark flow (1-2-1 tanh, 8 points, 30 digits, t1 = 5, 32 checkpoints) it takes
about 3600 gradient evaluations (1.1-1.9 s on a shared 2-core machine, 30.8 digits agreeing
with odefun), against 7.4 s for ``mpmath.odefun``, whose Taylor coefficients are finite
differences of F at (degree + 1) times the precision: 1152 calls of F at up to 2100 digits.
Neither that nor jet arithmetic through the network is available through the landscape
interface; both would need the problem's structure.

References
----------
W. B. Gragg, "On extrapolation algorithms for ordinary initial value problems",
SIAM J. Numer. Anal. 2 (1965).
R. Bulirsch, J. Stoer, "Numerical treatment of ordinary differential equations by
extrapolation methods", Numer. Math. 8 (1966).
P. Deuflhard, "Order and stepsize control in extrapolation methods", Numer. Math. 41 (1983).
E. Hairer, S. P. Norsett, G. Wanner, Solving Ordinary Differential Equations I (2nd ed.),
Springer 1993, II.9 (ODEX).
"""

from __future__ import annotations

import functools
import math
import time
from fractions import Fraction
from typing import Any, Callable, Sequence

import numpy as np
from gmpy2 import mpz
from mpmath import libmp

from ..errors import InputError
from ..problem.numbers import to_fraction
from .trajectory import (
    MAX_CHECKPOINTS,
    MESSAGES,
    Checkpoints,
    Costs,
    Events,
    Status,
    Trajectory,
    check_checkpoints,
    checkpoint_times,
)

__all__ = ["solve_flow_mp", "METHODS"]

Mpf = Any   # an mpf of the landscape's context (mpmath has no type stubs)
Vec = list[Any]

METHODS = ("auto", "gbs", "taylor", "radau")
"""Accepted values of ``method``: ``taylor`` (Taylor series through the network, for an
``MpLandscape`` with point data and an activation of ``verify.dynamics.taylor.SUPPORTED``), ``gbs``
(Gragg-Bulirsch-Stoer extrapolation, for any landscape), ``auto`` (``taylor`` where it applies,
else ``gbs``)."""

SAFE1 = 0.65      # ODEX: aim the error estimate at 0.65 of the tolerance
SAFE2 = 0.94      # ODEX: safety factor on the new step
FAC1 = 0.02       # ODEX: the step of row j changes by a factor in [FAC1^(1/(2j-1)) / FAC2, FAC1^(-1/(2j-1))]
FAC2 = 4.0
FAC3 = 0.8        # ODEX: lower the order if W_{k-1} < FAC3 W_k
FAC4 = 0.9        # ODEX: raise the order if W_k < FAC4 W_{k-1}
MIN_ROWS = 8      # the order window always reaches order 16
MAX_ROWS = 60     # and never beyond order 120
LEBESGUE_DIGITS = 0.35  # log10 of the growth per row of the extrapolation's Lebesgue constant
PROGRESS_EVERY = 0.5    # seconds between progress calls
_RAW = libmp.round_nearest


# ---------------------------------------------------------------------------------------
# Input
# ---------------------------------------------------------------------------------------

def _exact_mpf(ctx: Any, value: object, field: str) -> Mpf:
    """``value`` rounded once (to nearest) to the precision of ``ctx``, never via a float.

    int, Fraction and ratio strings ("-1/3") go through ``from_rational``, so "1/3" and
    Fraction(1, 3) give the same number; other strings through ``ctx.mpf`` (which reads a
    decimal exactly, then rounds); a Python float at its exact binary value; an mpmath
    number is rounded to ``ctx``.
    """
    if isinstance(value, bool):
        raise InputError(field, value, "give a number such as 1, \"1/2\" or \"0.25\", not a boolean")
    if hasattr(value, "_mpf_"):
        out = ctx.mpf(value)
    elif isinstance(value, str) and "/" not in value:
        try:
            out = ctx.mpf(value.strip().replace("_", ""))
        except (ValueError, TypeError):
            to_fraction(value, field)  # raises the InputError that names the field
            raise  # pragma: no cover - to_fraction accepted what mpmath did not
    elif isinstance(value, float):
        out = ctx.mpf(value)  # the exact binary value (rounded only if prec < 53)
    else:
        q = value if isinstance(value, Fraction) else to_fraction(value, field)
        out = ctx.make_mpf(libmp.from_rational(q.numerator, q.denominator, ctx.prec, _RAW))
    if not ctx.isfinite(out):
        raise InputError(field, value, "must be finite: give a finite number such as \"1/2\"")
    return out


def _check_landscape(landscape: Any) -> tuple[Any, int, int]:
    for name in ("ctx", "dps", "n_params", "loss_and_grad"):
        if not hasattr(landscape, name):
            raise InputError("landscape", type(landscape).__name__,
                             f"has no attribute {name!r}: give an MpLandscape or an object with ctx, dps, "
                             "n_params and loss_and_grad(theta)")
    dps, d = landscape.dps, landscape.n_params
    if isinstance(dps, bool) or not isinstance(dps, int) or dps < 1:
        raise InputError("landscape.dps", dps, "must be a positive integer")
    if isinstance(d, bool) or not isinstance(d, int) or d < 1:
        raise InputError("landscape.n_params", d, "must be a positive integer")
    return landscape.ctx, dps, d


def _max_rows(ctx: Any, dps: int) -> int:
    """Largest tableau row: rounding amplified by 10^(0.35 k) must stay below the guard digits."""
    guard = ctx.dps - dps
    return max(MIN_ROWS, min(MAX_ROWS, int((guard - 1.5) / LEBESGUE_DIGITS)))


# ---------------------------------------------------------------------------------------
# Checkpoints, records and events (shared by both methods)
# ---------------------------------------------------------------------------------------

class _Monitor:
    """The checkpoint times, the record of states, the stopping events, and the result."""

    def __init__(self, ctx: Any, t_end: Mpf, events: Events, n_checkpoints: int | Sequence[Any],
                 until: Callable[[Trajectory], bool] | None = None, deadline: float | None = None,
                 dps: int | None = None) -> None:
        self.ctx = ctx
        self.radius = ctx.mpf(events.radius)
        self.gtol = ctx.mpf(events.gtol)
        self.loss_below = None if events.loss_below is None else ctx.mpf(events.loss_below)
        # checkpoint times as exact binary numbers; the last is t1 itself
        if isinstance(n_checkpoints, int):
            times = [ctx.mpf(float(s)) for s in checkpoint_times(0.0, float(t_end), n_checkpoints)]
        else:
            times = [_exact_mpf(ctx, s, "checkpoints") for s in n_checkpoints]
        self.times = [s for s in times if 0 < s < t_end * (1 - ctx.ldexp(ctx.one, -40))] + [t_end]
        self.rec: dict[str, list[Mpf]] = {"t": [], "loss": [], "theta_norm": [], "grad_norm": []}
        self.until = until
        self.deadline = deadline
        self.dps = dps

    def out_of_time(self) -> bool:
        """The wall-time budget is spent."""
        return self.deadline is not None and time.perf_counter() > self.deadline

    def spent(self, steps: int, max_steps: int) -> Status | None:
        """``MAX_STEPS`` when ``steps`` (accepted plus rejected) reached ``max_steps``,
        ``OUT_OF_TIME`` past the wall-time budget, else None (checked before every step)."""
        if steps >= max_steps:
            return Status.MAX_STEPS
        return Status.OUT_OF_TIME if self.out_of_time() else None

    def stop_here(self, t: Mpf, loss: Mpf, y_norm: Mpf, g_norm: Mpf, theta: Callable[[], Vec], costs: Costs,
                  extra: dict[str, Any]) -> bool:
        """The caller's ``until`` test on the trajectory so far (at a checkpoint just recorded)."""
        if self.until is None:
            return False
        rec = self.rec
        traj = Trajectory(status=Status.STOPPED, message="running", t=t, loss=loss, theta_norm=y_norm,
                          grad_norm=g_norm, theta=tuple(theta()),
                          checkpoints=Checkpoints(*(tuple(rec[key]) for key in ("t", "loss", "theta_norm",
                                                                                "grad_norm"))),
                          costs=costs, tier="mp", dps=self.dps, extra=dict(extra))
        return bool(self.until(traj))

    def norm(self, v: Vec) -> Mpf:
        return self.ctx.sqrt(self.ctx.fdot(v, v))

    def record(self, t: Mpf, loss: Mpf, yv: Vec, gv: Vec) -> None:
        self.record_n(t, loss, self.norm(yv), self.norm(gv))

    def finite(self, loss: Mpf, yv: Vec, gv: Vec) -> bool:
        isfinite = self.ctx.isfinite
        return bool(isfinite(loss)) and all(isfinite(x) for x in yv) and all(isfinite(x) for x in gv)

    def event_values(self, loss: Mpf, yv: Vec, gv: Vec) -> dict[Status, Mpf]:
        """Per event a value that is >= 0 when the event holds."""
        return self.event_values_n(loss, self.norm(yv), self.norm(gv))

    def event_values_n(self, loss: Mpf, y_norm: Mpf, g_norm: Mpf) -> dict[Status, Mpf]:
        """``event_values`` from the loss and the norms of theta and of the gradient."""
        out = {Status.DIVERGED: y_norm - self.radius, Status.STATIONARY: self.gtol - g_norm}
        if self.loss_below is not None:
            out[Status.LOSS_BELOW] = self.loss_below - loss
        return out

    def triggered(self, loss: Mpf, yv: Vec, gv: Vec) -> Status | None:
        if not self.finite(loss, yv, gv):
            return Status.DIVERGED
        return self.triggered_n(loss, self.norm(yv), self.norm(gv))

    def triggered_n(self, loss: Mpf, y_norm: Mpf, g_norm: Mpf) -> Status | None:
        """``triggered`` from the loss and the norms (all finite)."""
        for status, value in self.event_values_n(loss, y_norm, g_norm).items():
            if value >= 0:
                return status
        return None

    def record_n(self, t: Mpf, loss: Mpf, y_norm: Mpf, g_norm: Mpf) -> None:
        rec = self.rec
        rec["t"].append(t)
        rec["loss"].append(loss)
        rec["theta_norm"].append(y_norm)
        rec["grad_norm"].append(g_norm)

    def result(self, status: Status, t: Mpf, t_end: Mpf, loss: Mpf, y: Vec, g: Vec | None, costs: Costs, dps: int,
               extra: dict[str, Any], g_norm: Mpf | None = None) -> Trajectory:
        ctx, rec = self.ctx, self.rec
        message = MESSAGES[status]
        if status in (Status.MAX_STEPS, Status.STEP_UNDERFLOW, Status.OUT_OF_TIME, Status.STOPPED):
            message += (f" ({costs.steps} accepted, {costs.rejected} rejected steps, reached t = {ctx.nstr(t, 8)} "
                        f"of {ctx.nstr(t_end, 8)})")
        elif status is not Status.T1_REACHED:
            message += f" (at t = {ctx.nstr(t, 15)})"
        return Trajectory(
            status=status, message=message, t=t, loss=loss, theta_norm=self.norm(y),
            grad_norm=self.norm(g) if g is not None else g_norm,
            theta=tuple(y), checkpoints=Checkpoints(*(tuple(rec[key]) for key in ("t", "loss", "theta_norm",
                                                                                   "grad_norm"))),
            costs=costs, tier="mp", dps=dps, extra=extra)


def _earliest_crossing(ctx: Any, before: dict[Status, Mpf], after: dict[Status, Mpf], s_end: Mpf, close: Mpf,
                       trial: Callable[[Mpf], tuple[dict[Status, Mpf], Any]]) -> tuple[Status, Mpf, Any] | None:
    """The earliest crossing in (0, s_end] of the events that hold at s_end (value >= 0) but not at 0.

    Illinois search per event on s (the step length, or a scaled time): ``trial(s)`` returns the
    event values at s and a payload (the state there). The bracket is closed to ``close``; a search
    stops early once it cannot beat a crossing already found. Returns (event, s, payload at s), with
    payload None when the crossing is s_end itself (the caller's end state), or None when no event
    changes sign.
    """
    best: tuple[Status, Mpf, Any] | None = None
    best_s = s_end + s_end   # nothing located yet
    for event, f_end in after.items():
        f_start = before[event]
        if f_end < 0 or f_start >= 0:
            continue
        a, fa, b, fb = ctx.zero, f_start, s_end, f_end
        payload = None
        side = 0
        for _ in range(200):
            if b - a <= close or fb == 0 or a >= best_s:
                break
            s = b - fb * (b - a) / (fb - fa)
            if not a < s < b:
                s = (a + b) / 2
            values, at_s = trial(s)
            fs = values[event]
            if fs >= 0:
                b, fb, payload = s, fs, at_s
                if side == 1:
                    fa /= 2
                side = 1
            else:
                a, fa = s, fs
                if side == -1:
                    fb /= 2
                side = -1
        if b < best_s:   # the earliest crossing wins
            best_s = b
            best = (event, b, payload)
    return best


# ---------------------------------------------------------------------------------------
# Stiffness: when an explicit method hands the flow over to the Radau method
# ---------------------------------------------------------------------------------------

STIFF_HRHO = 4.0
"""An explicit step h with h rho >= STIFF_HRHO (rho the largest Hessian eigenvalue) is limited by the
stiff direction rather than by the flow's own motion..."""
SLOW_FLOW = 1000.0
"""...when also t >= SLOW_FLOW h: the steps are tiny against the flow time already covered (a slow
flow, whose time scale grows with t, is then followed at steps fixed by rho)."""
STIFF_CHECK_EVERY = 20
"""The largest Hessian eigenvalue is computed every this many accepted steps."""


class _StiffnessProbe:
    """Decides, every ``STIFF_CHECK_EVERY`` accepted explicit steps, whether the flow has turned stiff."""

    def __init__(self, landscape: Any) -> None:
        self.hessian = getattr(landscape, "hessian", None)
        self.count = 0
        self.n_hess = 0
        self.rho: float | None = None

    def stiff(self, t: Mpf, h: Mpf, theta: Callable[[], Vec]) -> bool:
        if self.hessian is None:
            return False
        self.count += 1
        if self.count % STIFF_CHECK_EVERY or not t >= SLOW_FLOW * h:
            return False
        H = self.hessian(theta())
        self.n_hess += 1
        try:
            Hf = np.array([[float(v) for v in row] for row in H], dtype=np.float64)
            self.rho = float(np.max(np.linalg.eigvalsh(0.5 * (Hf + Hf.T))))
        except (ValueError, OverflowError, np.linalg.LinAlgError):
            return False
        return bool(float(h) * self.rho >= STIFF_HRHO)


class _Handover:
    """An explicit method stopped where the flow turned stiff: the state and the work so far."""

    def __init__(self, t: Mpf, y: Vec, h: Mpf, costs: Costs, extra: dict[str, Any]) -> None:
        self.t, self.y, self.h, self.costs, self.extra = t, y, h, costs, extra


# ---------------------------------------------------------------------------------------
# The extrapolation kernel
# ---------------------------------------------------------------------------------------

class _Field:
    """Counted gradient evaluations of a landscape."""

    def __init__(self, landscape: Any) -> None:
        self._loss_and_grad = landscape.loss_and_grad
        self.n_grad = 0

    def __call__(self, y: Vec) -> tuple[Mpf, Vec]:
        self.n_grad += 1
        loss, grad = self._loss_and_grad(y)
        return loss, list(grad)


def _midpoint(field: _Field, y0: Vec, g0: Vec, H: Mpf, n: int) -> Vec:
    """Gragg's modified midpoint rule: n steps of size H / n for y' = -g(y); returns y_n.

    ``g0`` is the gradient at ``y0``; n - 1 further gradients are evaluated.
    """
    h = H / n
    h2 = 2 * h
    y_prev = y0
    y = [a - h * b for a, b in zip(y0, g0)]
    for _ in range(n - 1):
        _, g = field(y)
        y_prev, y = y, [a - h2 * b for a, b in zip(y_prev, g)]
    return y


class _Tableau:
    """Constants of the extrapolation with the harmonic sequence n_j = 2j (rows 0-based here)."""

    def __init__(self, ctx: Any, rows: int) -> None:
        self.n = [2 * (j + 1) for j in range(rows + 1)]
        # work[j]: gradient evaluations of a step accepted in row j, counting the one at its end
        self.work: list[float] = []
        acc = 1
        for m in self.n:
            acc += m - 1
            self.work.append(float(acc))
        # coef[j][i] = 1 / ((n_j / n_{j-i-1})^2 - 1), rounded once
        self.coef: list[list[Mpf]] = [
            [ctx.make_mpf(libmp.from_rational(self.n[j - i - 1] ** 2, self.n[j] ** 2 - self.n[j - i - 1] ** 2,
                                              ctx.prec, _RAW)) for i in range(j)]
            for j in range(rows + 1)]


class _Attempt:
    """Outcome of one step attempt: the tableau and, per 1-based row j >= 2, the error
    estimate, the step factor H_j / H and the work per unit step A_j / H_j."""

    def __init__(self, rows: int) -> None:
        self.T: list[list[Vec]] = []
        self.err = [math.inf] * (rows + 2)
        self.fac = [0.0] * (rows + 2)
        self.work = [0.0] * (rows + 2)
        self.accepted = 0        # the accepted row (0: rejected)
        self.unstable = False    # the error grew with the order, or a value is not finite

    @property
    def last(self) -> int:
        """The last row built."""
        return len(self.T)


class _GBS:
    """One extrapolation integration of one flow."""

    def __init__(self, ctx: Any, dps: int, tol: Mpf, landscape: Any) -> None:
        self.ctx = ctx
        self.dps = dps
        self.tol = tol
        self.field = _Field(landscape)
        self.rows = _max_rows(ctx, dps)
        self.tab = _Tableau(ctx, self.rows)
        self.eps = ctx.ldexp(ctx.one, 1 - ctx.prec)
        self.max_order = 0
        self.event_searches = 0

    name = "gbs"

    # -- one step ---------------------------------------------------------------------------

    def _row(self, y0: Vec, g0: Vec, H: Mpf, j: int, T: list[list[Vec]]) -> None:
        """Append tableau row j (0-based) for the step H."""
        row = [_midpoint(self.field, y0, g0, H, self.tab.n[j])]
        coef = self.tab.coef[j]
        for i in range(j):
            c = coef[i]
            row.append([a + (a - b) * c for a, b in zip(row[i], T[j - 1][i])])
        T.append(row)

    def _err(self, y0: Vec, row: list[Vec]) -> float:
        """max_i |T_{j,j} - T_{j,j-1}|_i / (1 + |y_i|) / rtol (inf when not finite)."""
        one = self.ctx.one
        worst = self.ctx.zero
        for a, b, c in zip(row[-1], row[-2], y0):
            e = abs(a - b) / (one + max(abs(a), abs(c)))
            if not e <= worst:
                if e != e:
                    return math.inf
                worst = e
        value = float(worst / self.tol)
        return value if value == value else math.inf

    @staticmethod
    def _factor(err: float, j: int) -> float:
        """ODEX step factor H_j / H from the error estimate of row j (1-based; order 2j - 1)."""
        expo = 1.0 / (2 * j - 1)
        facmin = FAC1 ** expo
        if err == math.inf:
            return facmin / FAC2
        return 1.0 / min(FAC2 / facmin, max(facmin, (err / SAFE1) ** expo / SAFE2))

    def _attempt(self, y0: Vec, g0: Vec, H: Mpf, k: int, climb: bool, after_reject: bool) -> _Attempt:
        """One step of size H in the order window k - 1, k, k + 1 (1-based rows), as ODEX.

        ``climb`` (the first step, and steps shortened to land on a checkpoint) builds rows
        1, 2, ... and accepts in the first converged row >= 2, up to k + 1. Otherwise the
        convergence monitor looks at rows k - 1, k and k + 1.
        """
        n = self.tab.n
        at = _Attempt(self.rows)
        err_old = math.inf

        def build(j: int) -> float | None:
            """Row j (1-based) and its error estimate; None when it signals instability."""
            nonlocal err_old
            self._row(y0, g0, H, j - 1, at.T)
            if j == 1:
                return math.inf
            err = self._err(y0, at.T[-1])
            if err == math.inf or (j > 2 and err >= err_old and err > 1):
                at.unstable = True
                return None
            err_old = max(4 * err, 1.0)
            at.err[j] = err
            at.fac[j] = self._factor(err, j)
            at.work[j] = self.tab.work[j - 1] / at.fac[j]
            return err

        def accept_if(j: int, err: float | None) -> _Attempt:
            if err is not None and err <= 1:
                at.accepted = j
            return at

        if climb:
            for j in range(1, k + 1):
                err = build(j)
                if err is None or (j > 1 and err <= 1):
                    return accept_if(j, err)
                if j == k - 1 and j > 1 and err > (n[k] * n[k - 1] / 4.0) ** 2:
                    return at   # the monitor of row k - 1: no convergence expected by row k + 1
        else:
            for j in range(1, k):
                if build(j) is None:
                    return at
            if not (k == 2 or after_reject):
                if at.err[k - 1] <= 1:
                    return accept_if(k - 1, at.err[k - 1])
                if at.err[k - 1] > (n[k] * n[k - 1] / 4.0) ** 2:
                    return at
            err = build(k)
            if err is None or err <= 1:
                return accept_if(k, err)
        # hope for convergence in row k + 1
        if at.err[k] > (n[k] / 2.0) ** 2:
            return at
        return accept_if(k + 1, build(k + 1))

    def _next_order(self, at: _Attempt, k: int, after_reject: bool) -> int:
        """ODEX: the order window for the next step after a step accepted in row kc."""
        kc, work, km = at.accepted, at.work, self.rows
        if kc == 2:
            return 2 if after_reject else min(3, km - 1)
        if kc <= k:
            kopt = kc
            if work[kc - 1] < FAC3 * work[kc]:
                kopt = kc - 1
            if work[kc] < FAC4 * work[kc - 1]:
                kopt = min(kc + 1, km - 1)
            return kopt
        kopt = kc - 1
        if kc > 3 and work[kc - 2] < FAC3 * work[kc - 1]:
            kopt = kc - 2
        if work[kc] < FAC4 * work[kopt]:
            kopt = min(kc, km - 1)
        return kopt

    def _step_to(self, y0: Vec, g0: Vec, H: Mpf, k: int) -> Vec:
        """T_{k,k} for the step H (k rows): a step known to converge (used by event search)."""
        T: list[list[Vec]] = []
        for j in range(k):
            self._row(y0, g0, H, j, T)
        return T[-1][-1]

    # -- the loop ---------------------------------------------------------------------------

    def run(self, y: Vec, t_end: Mpf, mon: _Monitor, max_steps: int,
            progress: Callable[[float, float], None] | None, t_start: float,
            probe: _StiffnessProbe | None = None) -> Trajectory | _Handover:
        ctx, tab, field, km = self.ctx, self.tab, self.field, self.rows
        times, rec, record = mon.times, mon.rec, mon.record
        finite, event_values, triggered = mon.finite, mon.event_values, mon.triggered

        t = ctx.zero
        loss, g = field(y)
        record(t, loss, y, g)
        status = triggered(loss, y, g)
        steps = rejected = ck = 0
        # first order window from the tolerance (ODEX), first step from the size of the field
        digits = -float(ctx.log10(self.tol))
        k = max(2, min(km - 1, int(0.6 * digits + 1.5)))
        # (a step that moves theta by about half its size, but not so small that the precision
        # alone would end the flow before the error control has tried it)
        scale = ctx.mpf(0.5) * (1 + max(abs(v) for v in y))
        gmax = max(abs(v) for v in g)
        H = min(t_end, scale / gmax) if gmax else t_end
        H = max(H, 1000 * 16 * self.eps)
        reject = False
        first = True
        last_report = time.perf_counter()
        while status is None:
            status = mon.spent(steps + rejected, max_steps)
            if status is not None:
                break
            if H <= 16 * self.eps * max(ctx.one, abs(t)):
                status = Status.STEP_UNDERFLOW
                break
            target = times[ck]
            lands = H >= target - t
            h_try = target - t if lands else H
            shortened = lands and h_try < H
            at = self._attempt(y, g, h_try, k, first or shortened, reject)
            if at.accepted:
                y_new = at.T[-1][-1]
                loss_new, g_new = field(y_new)
                if not finite(loss_new, y_new, g_new):
                    at.accepted, at.unstable = 0, True
            if not at.accepted:
                rejected += 1
                reject, first = True, False
                k = max(2, min(k, at.last, km - 1))
                if at.unstable:
                    H = h_try / 2
                    continue
                if k > 2 and at.work[k - 1] < FAC3 * at.work[k]:
                    k -= 1
                H = h_try * ctx.mpf(at.fac[k])
                continue
            # -- accepted --
            kc = at.accepted
            self.max_order = max(self.max_order, 2 * kc)
            t_old, y_old, g_old, loss_old = t, y, g, loss
            t = target if lands else t + h_try
            y, g, loss = y_new, g_new, loss_new
            steps += 1
            kopt = self._next_order(at, k, reject)
            if shortened and not reject:
                pass  # a step cut short to land on a checkpoint leaves order and step as they were
            elif reject:
                k = max(2, min(kopt, kc))
                H = min(h_try, h_try * ctx.mpf(at.fac[k]))
            else:
                if kopt <= kc:
                    H = h_try * ctx.mpf(at.fac[kopt])
                elif kc < k and at.work[kc] < FAC4 * at.work[kc - 1]:
                    H = h_try * ctx.mpf(at.fac[kc] * tab.work[kopt] / tab.work[kc - 1])
                else:
                    H = h_try * ctx.mpf(at.fac[kc] * tab.work[kopt - 1] / tab.work[kc - 1])
                k = kopt
            reject = first = False
            status = triggered(loss, y, g)
            if status is not None:
                t, y, g, loss, status = self._locate(t_old, y_old, g_old, loss_old, kc, t, y, g, loss,
                                                     event_values, status)
                lands = lands and t == target
            if status is None and t < t_end and probe is not None and probe.stiff(t, h_try, functools.partial(list, y)):
                if lands:
                    record(t, loss, y, g)
                return _Handover(t, y, H, Costs(steps=steps, rejected=rejected, n_grad=field.n_grad,
                                                n_hess=probe.n_hess),
                                 {"method": "gbs", "max_order": self.max_order, "rho_at_switch": probe.rho})
            if lands:
                record(t, loss, y, g)
                ck += 1
                if ck == len(times) and status is None:
                    status = Status.T1_REACHED
                elif status is None and mon.stop_here(
                        t, loss, rec["theta_norm"][-1], rec["grad_norm"][-1], functools.partial(list, y),
                        Costs(steps=steps, rejected=rejected, n_grad=field.n_grad), {"method": self.name}):
                    status = Status.STOPPED
            if progress is not None and time.perf_counter() - last_report > PROGRESS_EVERY:
                progress(float(t), float(t_end))
                last_report = time.perf_counter()
        if rec["t"][-1] != t:
            record(t, loss, y, g)
        if progress is not None:
            progress(float(t), float(t_end))
        return mon.result(status, t, t_end, loss, y, g, Costs(steps=steps, rejected=rejected, n_grad=field.n_grad,
                                                               n_hess=0), self.dps,
                          {"method": self.name, "max_order": self.max_order, "max_rows": km,
                           "event_searches": self.event_searches, "wall_s": time.perf_counter() - t_start})

    # -- event location ---------------------------------------------------------------------

    def _locate(self, t0: Mpf, y0: Vec, g0: Vec, loss0: Mpf, k: int, t1: Mpf, y1: Vec, g1: Vec, loss1: Mpf,
                event_values: Callable[[Mpf, Vec, Vec], dict[Status, Mpf]], status: Status
                ) -> tuple[Mpf, Vec, Vec, Mpf, Status]:
        """The earliest crossing in (t0, t1] of the events that hold at t1.

        Illinois search on the step length s in (0, t1 - t0]: each trial is an
        extrapolation step of size s from (t0, y0) with the k rows of the accepted step (so
        its error is at most that step's). The bracket is closed to 4 rtol max(1, |t1|);
        the state returned is at its right end, where the event holds. Not finite values
        (status ``diverged`` without a crossing) are returned as they are.
        """
        ctx = self.ctx
        after = event_values(loss1, y1, g1)
        if not all(ctx.isfinite(v) for v in after.values()):
            return t1, y1, g1, loss1, status

        def trial(s: Mpf) -> tuple[dict[Status, Mpf], Any]:
            self.event_searches += 1
            ys = self._step_to(y0, g0, s, k)
            ls, gs = self.field(ys)
            return event_values(ls, ys, gs), (t0 + s, ys, gs, ls)

        found = _earliest_crossing(ctx, event_values(loss0, y0, g0), after, t1 - t0,
                                   4 * self.tol * max(ctx.one, abs(t1)), trial)
        if found is None:
            return t1, y1, g1, loss1, status
        event, _, state = found
        t, y, g, loss = (t1, y1, g1, loss1) if state is None else state
        return t, y, g, loss, event


# ---------------------------------------------------------------------------------------
# The Taylor method (networks with analytic activations on point data)
# ---------------------------------------------------------------------------------------

ORDER_PER_BIT = 0.44
"""Taylor order K + 1 = ORDER_PER_BIT * log2(1 / rtol) (44 at 30 digits), at least 8 and at most 121."""
FLOAT_EPS_BITS = 52
"""A coefficient computed in float64 is taken to carry a relative error 2^-52 (2^-53 per
operation; rounding errors of the sums and recurrences mostly cancel: on the benchmark
flow the float64 orders' error is 2^-55 times the size of the term of the first of them)."""
FLOAT_MARGIN_BITS = 3
"""The float64 orders may add at most rtol / 2^3 to a step."""
FLOAT_LEAD = 1
"""Orders kept in fixed point beyond the prediction from the previous step."""
SIGMA_MAX = 4.0
"""A step is at most 4 times the previous one (the scale of the series)."""


class _Taylor:
    """One Taylor integration of one flow (see ``verify.dynamics.taylor`` and ``solve_flow_mp``).

    A state is (loss, |theta|, |grad L|) with theta in fixed point; the norms and the loss
    are exact sums of squares of the fixed-point numbers, rounded once, so they keep their
    relative precision when they are small.
    """

    def __init__(self, ctx: Any, dps: int, tol: Mpf, landscape: Any) -> None:
        from .taylor import NetworkJet

        self.ctx = ctx
        self.dps = dps
        self.tol = tol
        self.land = landscape
        self.bits = max(1.0, -float(ctx.log(tol, 2)))
        self.K = K = max(7, min(120, math.ceil(ORDER_PER_BIT * self.bits) - 1))
        self.jet = NetworkJet.of(landscape, K)
        self.eps = ctx.ldexp(ctx.one, 1 - ctx.prec)
        self.n_grad = 0
        self.expansions = 0
        self.event_searches = 0
        self.float_from: list[int] = []

    # -- the jet and its values -------------------------------------------------------------

    def _expand(self, theta: list[Any], H: Any, k_float: int) -> Any:
        self.n_grad += self.K + 1
        self.expansions += 1
        self.float_from.append(k_float)
        return self.jet.expand(theta, H, k_float)

    def _square_root(self, total: Any, shift: int) -> Mpf:
        """sqrt(total 2^-shift) for an exact integer total (rounded once, then the root)."""
        ctx = self.ctx
        return ctx.sqrt(ctx.make_mpf(libmp.from_man_exp(int(total), -shift, ctx.prec + 10, _RAW)))

    def _state(self, theta: Any, grad: Any, resid: Any) -> tuple[Mpf, Mpf, Mpf]:
        """(loss, |theta|, |grad L|) from fixed-point theta, raw gradient and residuals."""
        jet, ctx = self.jet, self.ctx
        P = jet.P
        r2 = np.dot(resid, resid)
        loss = jet.loss_mult * ctx.make_mpf(libmp.from_man_exp(int(r2), -2 * P, ctx.prec, _RAW))
        y_norm = self._square_root(np.dot(theta, theta), 2 * P)
        g_norm = jet.to_mpf(jet.grad_mult) * self._square_root(np.dot(grad, grad), 2 * P)
        return loss, y_norm, g_norm

    def _at(self, J: Any, sigma: Any) -> tuple[Any, tuple[Mpf, Mpf, Mpf]]:
        """theta (fixed point) and the state at scaled time sigma (fixed point)."""
        theta, grad, resid = self.jet.dense(J, sigma)
        return theta, self._state(theta, grad, resid)

    def _theta_mpf(self, theta: Any) -> Vec:
        return [self.jet.to_mpf(v) for v in theta]

    def _origin(self, J: Any) -> tuple[Mpf, Mpf, Mpf]:
        jet = self.jet
        S = J.S
        return self._state(S[jet.rows_theta(), 0], S[jet.rows_grad(), 0], S[jet.resid_rows, 0])

    def _exact(self, y: Vec) -> tuple[tuple[Mpf, Mpf, Mpf], Vec]:
        """The state at theta = y from the landscape (one gradient evaluation)."""
        self.n_grad += 1
        loss, g = self.land.loss_and_grad(y)
        ctx = self.ctx
        return (loss, ctx.sqrt(ctx.fdot(y, y)), ctx.sqrt(ctx.fdot(g, g))), list(g)

    def _first_scale(self, theta: list[Any]) -> Callable[[Any], Any]:
        """H for the first expansion, from the order-0 gradient: a step moving theta by
        about a tenth of 1 + its size."""
        jet = self.jet
        P = jet.P

        def scale(raw_grad: Any) -> Any:
            g = max(abs(int(v)) for v in raw_grad) * float(jet.grad_mult) * 2.0 ** (-2 * P)
            y = max(abs(int(v)) for v in theta) * 2.0 ** -P
            h = 0.1 * (1 + y) / g if g > 0 else 1.0
            h = min(max(h, 2.0 ** -60), 2.0 ** 20)
            return mpz(int(h * 2 ** 53)) << (P - 53)
        return scale

    def _log2_row(self, J: Any, k: int) -> Any:
        """log2 |theta_k h^k| per component (-inf for 0)."""
        jet = self.jet
        d = jet.d
        if k >= J.k_float:
            with np.errstate(divide="ignore"):
                return np.log2(np.abs(J.F[:d, k]))
        return np.array([math.log2(abs(int(v))) - jet.P if v else -math.inf for v in J.S[:d, k]])

    def _control(self, J: Any, theta: list[Any]) -> tuple[float, bool, int]:
        """Step (scaled: sigma, as a float), whether the float64 orders are accurate enough
        for it, and the first float64 order for the next expansion.

        sigma = min over j = K, K + 1 of min_i (rtol (1 + |theta_i|) / |theta_{j,i} h^j|)^(1/j)
        (the last two terms of the series held to the tolerance; Jorba & Zou 2005), at most
        ``SIGMA_MAX``. A float64 order k adds an error of about 2^-FLOAT_EPS_BITS
        |theta_{k} h^k| sigma^k, which must stay below rtol (1 + |theta_i|) / 2^FLOAT_MARGIN_BITS;
        the next expansion keeps the orders up to the last one that would not, plus
        ``FLOAT_LEAD``, in fixed point.
        """
        jet, K = self.jet, self.K
        P = jet.P
        kf = J.k_float
        allow = np.log2(1.0 + np.abs(np.array(theta, dtype=object).astype(float)) * 2.0 ** -P) - self.bits
        log_sigma = math.log2(SIGMA_MAX)
        for j in (K, K + 1):
            row = self._log2_row(J, j)
            if np.isnan(row).any() or np.isposinf(row).any():
                return 0.0, False, K + 2
            finite = row > -np.inf
            if finite.any():
                log_sigma = min(log_sigma, float(np.min((allow[finite] - row[finite]) / j)))
        limit = FLOAT_EPS_BITS - FLOAT_MARGIN_BITS
        if J.F is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                mags = np.log2(np.abs(J.F[:jet.d, kf:K + 2]))
            if not np.all(np.isfinite(mags) | (mags == -np.inf)):
                return 2.0 ** log_sigma, False, K + 2
            excess = np.max(mags - allow[:, None], axis=0) + np.arange(kf, K + 2) * log_sigma
            bad = np.nonzero(excess > limit)[0]
            if bad.size:
                return 2.0 ** log_sigma, False, min(K + 2, kf + int(bad[-1]) + 1 + FLOAT_LEAD)
        # the highest order that must stay in fixed point at this step
        k = min(kf, K + 2) - 1
        while k >= 1 and float(np.max(self._log2_row(J, k) - allow)) + k * log_sigma <= limit:
            k -= 1
        return 2.0 ** log_sigma, True, min(K + 2, k + 1 + FLOAT_LEAD)

    # -- the loop ---------------------------------------------------------------------------

    def run(self, y: Vec, t_end: Mpf, mon: _Monitor, max_steps: int,
            progress: Callable[[float, float], None] | None, t_start: float,
            probe: _StiffnessProbe | None = None) -> Trajectory | _Handover:
        ctx, jet, K = self.ctx, self.jet, self.K
        P = jet.P
        times, rec = mon.times, mon.rec
        theta = [jet.fixed(v) for v in y]
        # first float64 order: where 2^-FLOAT_EPS_BITS times the term of order k of a step
        # near the optimum (about rtol^(k / (K + 1))) stays below the margin
        k_float = min(K + 2, math.ceil((K + 1) * (1 - (FLOAT_EPS_BITS - FLOAT_MARGIN_BITS) / self.bits)) + 2)
        J = self._expand(theta, self._first_scale(theta), max(1, k_float))
        t = ctx.zero
        state = self._origin(J)
        mon.record_n(t, *state)
        status = mon.triggered_n(*state)
        final: Vec | None = y                     # theta as mpf where it is known
        g_final: Vec | None = None
        steps = rejected = ck = 0
        last_report = time.perf_counter()
        while status is None:
            status = mon.spent(steps + rejected, max_steps)
            if status is not None:
                break
            sigma, ok, k_next = self._control(J, theta)
            if not ok:
                # the float64 orders were not accurate enough for this step: again, with the
                # scale of this step and more orders in fixed point
                rejected += 1
                H = max(mpz(1), mpz(int(int(J.H) * sigma)) if sigma > 0 else J.H >> 1)
                J = self._expand(theta, H, max(k_next, J.k_float + 2))
                continue
            H_mpf = jet.to_mpf(J.H)
            h = H_mpf * sigma
            if h <= 16 * self.eps * max(ctx.one, abs(t)):
                status = Status.STEP_UNDERFLOW
                break
            lands = t + h >= t_end
            if lands:
                sig = jet.fixed((t_end - t) / H_mpf)
                t_new = t_end
            else:
                sig = jet.fixed(sigma)
                t_new = t + jet.to_mpf((J.H * sig) >> P)
            theta_new = list(jet.evaluate(J, jet.rows_theta(), sig))
            J_new = None
            if lands:
                y_new = [jet.to_mpf(v) for v in theta_new]
                new, g_new = self._exact(y_new)
                status = mon.triggered(new[0], y_new, g_new)
            else:
                y_new, g_new = None, None
                J_new = self._expand(theta_new, (J.H * sig) >> P, k_next)
                new = self._origin(J_new)
                status = mon.triggered_n(*new)
            steps += 1
            t_stop, stop = t_new, new
            if status is not None:
                if y_new is None:
                    y_new = [jet.to_mpf(v) for v in theta_new]
                t_stop, stop, y_new, g_new, status = self._locate(J, t, H_mpf, state, sig, t_new, new, y_new,
                                                                  g_new, mon, status)
            while ck < len(times) and times[ck] <= t_stop:
                tc = times[ck]
                if tc == t_stop:
                    th_c, st_c = theta_new, stop
                else:
                    th_c, st_c = self._at(J, jet.fixed((tc - t) / H_mpf))
                mon.record_n(tc, *st_c)
                ck += 1
                if status is None and ck < len(times) and mon.stop_here(
                        tc, *st_c, functools.partial(self._theta_mpf, th_c),
                        Costs(steps=steps, rejected=rejected, n_grad=self.n_grad), {"method": "taylor"}):
                    # stopped by the caller at this checkpoint: it is the final state
                    status = Status.STOPPED
                    t_stop, stop = tc, st_c
                    y_new = [jet.to_mpf(v) for v in th_c] if (tc != t_new or y_new is None) else y_new
                    g_new = None if tc != t_new else g_new
                    break
            t, state = t_stop, stop
            final, g_final = y_new, g_new
            if status is None:
                if lands:
                    status = Status.T1_REACHED
                else:
                    theta, J = theta_new, J_new
                    if probe is not None and probe.stiff(t, h, functools.partial(self._theta_mpf, theta)):
                        return _Handover(t, self._theta_mpf(theta), h,
                                         Costs(steps=steps, rejected=rejected, n_grad=self.n_grad, n_hess=probe.n_hess),
                                         {"method": "taylor", "max_order": K + 1, "expansions": self.expansions,
                                          "rho_at_switch": probe.rho})
            if progress is not None and time.perf_counter() - last_report > PROGRESS_EVERY:
                progress(float(t), float(t_end))
                last_report = time.perf_counter()
        if final is None:
            final = [jet.to_mpf(v) for v in theta]
        if rec["t"][-1] != t:
            mon.record_n(t, *state)
        if progress is not None:
            progress(float(t), float(t_end))
        return mon.result(status, t, t_end, state[0], final, g_final,
                          Costs(steps=steps, rejected=rejected, n_grad=self.n_grad, n_hess=0), self.dps,
                          {"method": "taylor", "max_order": K + 1, "order": K + 1, "expansions": self.expansions,
                           "float_from": min(self.float_from), "event_searches": self.event_searches,
                           "wall_s": time.perf_counter() - t_start}, g_norm=state[2])

    def _locate(self, J: Any, t0: Mpf, H: Mpf, start: tuple[Mpf, Mpf, Mpf], s_end: Any, t1: Mpf,
                end: tuple[Mpf, Mpf, Mpf], y_end: Vec, g_end: Vec | None, mon: _Monitor, status: Status
                ) -> tuple[Mpf, tuple[Mpf, Mpf, Mpf], Vec, Vec | None, Status]:
        """The earliest crossing in (t0, t1] of the events that hold at t1 (as ``_GBS._locate``).

        Illinois search on the scaled time s in (0, s_end]; each trial state is the Taylor
        polynomial at s, with the loss and gradient evaluated there by the landscape, so the
        state returned satisfies the event with the landscape's own values.
        """
        ctx, jet = self.ctx, self.jet
        after = mon.event_values_n(*end)
        if not all(ctx.isfinite(v) for v in after.values()):
            return t1, end, y_end, g_end, status

        def trial(s: Mpf) -> tuple[dict[Status, Mpf], Any]:
            self.event_searches += 1
            ys = [jet.to_mpf(v) for v in jet.evaluate(J, jet.rows_theta(), jet.fixed(s))]
            st, gs = self._exact(ys)
            return mon.event_values_n(*st), (st, ys, gs)

        found = _earliest_crossing(ctx, mon.event_values_n(*start), after, jet.to_mpf(s_end),
                                   4 * self.tol * max(ctx.one, abs(t1)) / H, trial)
        if found is None:
            return t1, end, y_end, g_end, status
        event, s, state = found
        if state is None:
            return t1, end, y_end, g_end, event
        return t0 + s * H, state[0], state[1], state[2], event


# ---------------------------------------------------------------------------------------
# The public driver
# ---------------------------------------------------------------------------------------

def solve_flow_mp(landscape: Any, theta0: Sequence[Any], *, t1: Any, rtol: Any = None,
                  events: Events = Events(),  # noqa: B008 - a frozen dataclass: an immutable default
                  checkpoints: int | Sequence[Any] = 32, max_steps: int = 100_000, method: str = "auto",
                  progress: Callable[[float, float], None] | None = None,
                  until: Callable[[Trajectory], bool] | None = None, max_seconds: float | None = None
                  ) -> Trajectory:
    r"""Follow the gradient flow theta' = -grad L(theta) from theta0 to flow time t1 at high precision.

    Parameters
    ----------
    landscape
        A :class:`verify.MpLandscape`, or any object with ``ctx`` (an mpmath context at
        the working precision, which should carry guard digits beyond ``dps`` as
        ``MpLandscape`` does), ``dps`` (int, the digits wanted), ``n_params`` (d) and
        ``loss_and_grad(theta) -> (mpf, d mpf)``. All arithmetic is done in ``ctx``.
    theta0 : sequence of d numbers
        The start, read exactly and rounded once to the working precision: int,
        ``Fraction``, strings (``"-1/3"``, ``"0.25"``, ``"1e-3"``), mpmath numbers, and
        Python floats *at their exact binary value* (``0.1`` is
        0.1000000000000000055511151231257827..., not 1/10: write ``"0.1"`` for 1/10).
        ``"1/3"`` and ``Fraction(1, 3)`` give the same number.
    t1 : number, keyword-only
        The horizon (> 0), read exactly like theta0.
    rtol : number or None, keyword-only
        Local error tolerance per step, relative to 1 + |theta_i| (so absolute for small
        components). Default ``10**-dps``: the results then carry about ``dps`` correct
        digits (a few fewer over long horizons, as local errors add up). At least 100
        units in the last place of ``ctx``.
    events : Events, keyword-only
        Stop as ``stationary`` (|grad L| <= gtol), ``diverged`` (|theta| >= radius, or a
        value stopped being finite) or ``loss_below`` (L <= loss_below). A crossing inside
        a step is located in time to about rtol max(1, t); the state returned is the first
        one found at or just past it. An event that holds at theta0 stops at t = 0.
    checkpoints : int or sequence of numbers, keyword-only
        Number of log-spaced checkpoint times in (0, t1] (``checkpoint_times``, rounded to
        the working precision; the last is t1 exactly), or the times themselves (increasing,
        in (0, t1], read exactly like t1). The initial state (t = 0) and the final state are
        recorded too.
    max_steps : int, keyword-only
        Step budget (accepted plus rejected steps); status ``max_steps`` when it runs out.
    method : str, keyword-only
        ``"taylor"``: the Taylor method (``verify.dynamics.taylor``; networks on point data with
        tanh, logistic, softplus, swish, identity or square). ``"gbs"``:
        Gragg-Bulirsch-Stoer extrapolation of the modified midpoint rule (harmonic sequence
        n_j = 2j) with ODEX order and step-size control, for any landscape; see the module
        docstring. ``"radau"``: Radau IIA collocation with the exact Hessian
        (``verify.dynamics.radau``), for stiff flows. ``"auto"`` (default): ``taylor`` where it
        applies, else ``gbs``, and from the point where the flow turns stiff (every 20
        steps: h rho >= 4 for the largest Hessian eigenvalue rho, and t >= 1000 h) the
        ``radau`` method to the end (``extra["method"]`` then reads e.g. ``taylor+radau``
        and ``extra["radau_from"]`` gives the flow time of the switch).
    progress : callable(t_now, t1) or None, keyword-only
        Called with two floats at most about every 0.5 s of wall time, and once at the end.
    until : callable(trajectory) -> bool, keyword-only
        Called at each checkpoint before t1 with the trajectory so far (status
        ``stopped`` as a placeholder); True stops the flow there, status ``stopped``
        (``follow_flow`` stops a flow once its outcome is decided).
    max_seconds : float or None, keyword-only
        Wall-time budget: the flow stops with status ``out_of_time`` when it is spent.

    Returns
    -------
    Trajectory
        ``tier="mp"``, ``dps`` the landscape's digits; ``t``, ``loss``, ``theta_norm``,
        ``grad_norm``, ``theta`` (d numbers) and the checkpoints as ``ctx.mpf``;
        ``costs.n_grad`` counts gradient evaluations (including those of an event
        search), ``costs.steps`` accepted and ``costs.rejected`` rejected steps;
        ``extra`` holds ``method``, ``max_order`` (the highest order used), ``max_rows``,
        ``event_searches`` (trial steps spent locating an event) and ``wall_s``; after a switch
        to the Radau method also ``radau_from``, ``rho_at_switch``, ``stages`` and
        ``newton_iterations``; ``costs.n_hess`` counts Hessians.

    Raises
    ------
    InputError
        For a bad argument (named in the error): t1 <= 0, rtol <= 0 or below the working
        precision, checkpoints < 1, max_steps < 1, theta0 of the wrong length or with a
        non-number, an unknown method, a landscape without the interface.

    Notes
    -----
    Numerical failures are results, not exceptions: ``max_steps`` (budget),
    ``step_underflow`` (the step fell below what the precision resolves at t: a flow too
    stiff for an explicit method), ``diverged`` (also when a value stopped being finite).

    References
    ----------
    E. Hairer, S. P. Norsett, G. Wanner, Solving Ordinary Differential Equations I (2nd
    ed.), Springer 1993, II.9.

    Examples
    --------
    >>> from verify import MpLandscape, parse_problem
    >>> problem = parse_problem('''
    ... [network]
    ... widths = [1, 2, 1]
    ... activation = "tanh"
    ... [data]
    ... points = [["-1"], ["0"], ["1"]]
    ... [target]
    ... expr = "x**2"
    ... ''')
    >>> land = MpLandscape(problem, dps=20)
    >>> flow = solve_flow_mp(land, ["1/2", "-1", "1/4", "0", "1", "-1/2", "0"], t1=1)
    >>> str(flow.status), flow.t == 1
    ('t1_reached', True)
    """
    t_start = time.perf_counter()
    ctx, dps, d = _check_landscape(landscape)
    if not isinstance(events, Events):
        raise InputError("events", events, "give verify Events(gtol=..., radius=..., loss_below=...)")
    if isinstance(checkpoints, int) and not isinstance(checkpoints, bool):
        check_checkpoints(checkpoints)
    elif not isinstance(checkpoints, (list, tuple)) or len(checkpoints) > MAX_CHECKPOINTS:
        raise InputError("checkpoints", checkpoints, f"give an integer from 1 to {MAX_CHECKPOINTS}, e.g. 32, or a "
                                                     f"list of at most {MAX_CHECKPOINTS} times")
    if until is not None and not callable(until):
        raise InputError("until", until, "give a function until(trajectory) -> bool, or None")
    if max_seconds is not None and (isinstance(max_seconds, bool) or not isinstance(max_seconds, (int, float))
                                    or not max_seconds > 0):
        raise InputError("max_seconds", max_seconds, "must be a positive number of seconds, or None")
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
        raise InputError("max_steps", max_steps, "must be a positive integer, e.g. 100000")
    if method not in METHODS:
        raise InputError("method", method, f"use one of {', '.join(METHODS)}")
    if progress is not None and not callable(progress):
        raise InputError("progress", progress, "give a function progress(t_now, t1), or None")
    t_end = _exact_mpf(ctx, t1, "t1")
    if not 0 < t_end < 1e300:
        raise InputError("t1", t1, "must be a positive flow time below 1e300")
    floor = 100 * ctx.ldexp(ctx.one, 1 - ctx.prec)
    if rtol is None:
        tol = max(ctx.mpf(10) ** (-dps), floor)
    else:
        tol = _exact_mpf(ctx, rtol, "rtol")
        if not tol > 0:
            raise InputError("rtol", rtol, "must be positive, e.g. \"1e-30\" (default 10**-dps)")
        if tol < floor:
            raise InputError("rtol", rtol, f"is below the working precision ({ctx.dps} digits): use at least "
                                           f"{ctx.nstr(floor, 3)}, or raise the landscape's dps")
    if isinstance(theta0, (str, bytes)):
        raise InputError("theta0", theta0, f"give a sequence of {d} numbers")
    try:
        count = len(theta0)
    except TypeError:
        raise InputError("theta0", theta0, f"give a sequence of {d} numbers") from None
    if count != d:
        raise InputError("theta0", f"{count} values", f"give exactly {d} values (the landscape has {d} parameters)")
    y = [_exact_mpf(ctx, v, f"theta0[{i}]") for i, v in enumerate(theta0)]
    mon = _Monitor(ctx, t_end, events, checkpoints, until=until,
                   deadline=None if max_seconds is None else t_start + float(max_seconds), dps=dps)
    if not isinstance(checkpoints, int):
        bad = [s for s in mon.times if not 0 < s <= t_end]
        if len(mon.times) < 1 or bad or any(b <= a for a, b in zip(mon.times, mon.times[1:])):
            raise InputError("checkpoints", f"{len(checkpoints)} times", "give increasing times in (0, t1]")
    if method == "radau":
        from .radau import Radau

        return Radau(ctx, dps, tol, landscape).run(y, t_end, mon, max_steps, progress, t_start)
    probe = _StiffnessProbe(landscape) if method == "auto" else None
    out: Trajectory | _Handover
    reason: str | None = None
    if method != "gbs":
        from .taylor import taylor_support

        reason = taylor_support(landscape)
        if reason is None:
            out = _Taylor(ctx, dps, tol, landscape).run(y, t_end, mon, max_steps, progress, t_start, probe)
        elif method == "taylor":
            raise InputError("method", method, f"the Taylor method does not apply: {reason}; use \"gbs\" or \"auto\"")
    if method == "gbs" or (method == "auto" and reason is not None):
        out = _GBS(ctx, dps, tol, landscape).run(y, t_end, mon, max_steps, progress, t_start, probe)
    if isinstance(out, Trajectory):
        return out
    # the flow turned stiff: the Radau method takes it from here (explicit steps would stay near 1 / rho)
    from .radau import Radau

    left = max(1, max_steps - out.costs.steps - out.costs.rejected)
    return Radau(ctx, dps, tol, landscape).run(out.y, t_end, mon, left, progress, t_start, t0=out.t, h0=4 * out.h,
                                               costs=out.costs, extra=out.extra)
