r"""The stiff method of the mp tier: Radau IIA collocation with the exact Hessian, at any precision.

A gradient flow theta' = f(theta) = -grad L(theta) whose Hessian has eigenvalues far larger than
the rate at which the flow moves (a slow drift to infinity, a slow approach to a degenerate
minimum) is stiff: the explicit methods of ``solve_flow_mp`` (the Taylor method, extrapolation)
must keep h rho bounded, rho the largest eigenvalue, however slowly the flow moves. This module
integrates such flows with the s-stage Radau IIA method (collocation at the right Radau points
c_1 < ... < c_s = 1 of [0, 1]): L-stable, stiffly accurate, of order 2s - 1 (stage order s),
for any s; the digits decide s (``stages``).

One step of size h from y_0 solves the collocation equations

.. math:: Z_i = h \sum_j a_{ij} f(y_0 + Z_j),\qquad y_1 = y_0 + Z_s,

by simplified Newton iterations with the Hessian at y_0. The residuals are computed at the
working precision; the corrections only need to contract the error, and are computed in
float64 (mixed-precision iterative refinement: a float64 correction of relative accuracy
1e-16 kappa still contracts the error by that factor per iteration, and the converged stages
are as accurate as the residual). As the Hessian is symmetric, H = Q diag(mu) Q^T, the
(s d) x (s d) Newton system splits into d systems of size s, (I + h mu_m A) w = r, one per
eigenvalue, solved with their float64 inverses. The iteration starts from the previous step's
collocation polynomial, extrapolated, and stops when the predicted remaining correction is
below ``NEWTON_KAPPA`` times the tolerance (Hairer and Wanner's test on the contraction rate);
it rejects the step (halving it) when the iteration diverges or is too slow.

The local error is estimated with an embedded formula of order s: weight b0 = 1/s at the node 0
(the derivative at y_0) and weights at c_1, ..., c_s that make the quadrature exact for
polynomials of degree s - 1, filtered like RADAU5's estimate by (I + h b0 H)^(-1), which damps
the stiff components it would otherwise overstate; the step-size control uses its order s. Checkpoints are hit by
shortening the step that would pass one; events (``radius``, ``gtol``, ``loss_below``) are
located by an Illinois search on the step length, each trial a Radau step.

References
----------
E. Hairer, G. Wanner, Solving Ordinary Differential Equations II (2nd ed.), Springer 1996,
IV.5 (collocation, Radau IIA), IV.8 (implementation: simplified Newton, error estimate).
E. Hairer, G. Wanner, "Stiff differential equations solved by Radau methods", J. Comput. Appl.
Math. 111 (1999) (RADAU: variable order, the same machinery for any number of stages).
"""

from __future__ import annotations

import functools
import math
import time
from math import comb
from typing import Any, Callable

import mpmath
import numpy as np

from ..errors import InputError
from .mpflow import _earliest_crossing, _Monitor
from .trajectory import Costs, Status, Trajectory

Mpf = Any
Vec = list[Any]

NEWTON_KAPPA = 0.01
"""Newton stops when theta / (1 - theta) |dZ| <= NEWTON_KAPPA tol (theta: the contraction rate)."""
NEWTON_MAX_ITER = 40
SAFETY = 0.9
MIN_FACTOR = 0.2
MAX_FACTOR = 4.0
PROGRESS_EVERY = 0.5


def stages(dps: int) -> int:
    """Stages for ``dps`` digits: about dps / 2.5, between 5 and 16 (order 2s - 1)."""
    return max(5, min(16, round(dps / 2.5)))


class Tableau:
    """The s-stage Radau IIA method at the precision of ``ctx``: nodes c, matrix A, the embedded
    weights (b0 at 0, bh at c)."""

    def __init__(self, ctx: Any, s: int) -> None:
        if s < 2:
            raise InputError("stages", s, "must be at least 2")
        self.s = s
        self.c: list[Any] = []
        self.A: list[list[Any]] = []
        self.b0: Any = None
        self.bh: list[Any] = []
        # computed in a private context with 60 more bits, then rounded once to the working precision
        work = mpmath.MPContext()
        work.prec = ctx.prec + 60
        self._build(work, s)
        self.c = [ctx.mpf(v) for v in self.c]
        self.A = [[ctx.mpf(v) for v in row] for row in self.A]
        self.b0 = ctx.mpf(self.b0)
        self.bh = [ctx.mpf(v) for v in self.bh]
        self.c_f = np.array([float(v) for v in self.c])
        self.A_f = np.array([[float(v) for v in row] for row in self.A])

    def _build(self, ctx: Any, s: int) -> None:
        # nodes: the zeros of P_s(2x - 1) - P_{s-1}(2x - 1) (c_s = 1)
        def shifted_legendre(n: int) -> list[Any]:
            # coefficients (ascending in x) of P_n(2x - 1) = sum_k (-1)^(n+k) C(n,k) C(n+k,k) x^k
            return [ctx.mpf((-1) ** (n + k) * comb(n, k) * comb(n + k, k)) for k in range(n + 1)]

        p = shifted_legendre(s)
        q = shifted_legendre(s - 1) + [ctx.zero]
        poly = [a - b for a, b in zip(p, q)]
        roots = ctx.polyroots(list(reversed(poly)), maxsteps=400, extraprec=2 * ctx.prec)
        c = sorted(ctx.re(r) for r in roots)
        c[-1] = ctx.one
        self.c = c
        # A_ij = int_0^{c_i} l_j(t) dt, l_j the Lagrange basis on c
        A = [[ctx.zero] * s for _ in range(s)]
        for j in range(s):
            coef = [ctx.one]
            den = ctx.one
            for m in range(s):
                if m == j:
                    continue
                coef = [ctx.zero, *coef]
                for k in range(len(coef) - 1):
                    coef[k] -= c[m] * coef[k + 1]
                den *= c[j] - c[m]
            integral = [ctx.zero] + [a / (k + 1) for k, a in enumerate(coef)]
            for i in range(s):
                A[i][j] = ctx.fsum(a * c[i] ** k for k, a in enumerate(integral)) / den
        self.A = A
        # embedded weights: b0 = 1 / s at the node 0 and bh at c_1, ..., c_s such that the
        # quadrature is exact for polynomials of degree s - 1 (a formula of order s, as RADAU5's)
        self.b0 = ctx.one / s
        V = ctx.matrix([[x ** q for x in c] for q in range(s)])
        rhs = ctx.matrix([ctx.one / (q + 1) - (self.b0 if q == 0 else 0) for q in range(s)])
        w = ctx.lu_solve(V, rhs)
        self.bh = [w[i] for i in range(s)]


def _extrapolate(tab: Tableau, Z: np.ndarray, ratio: float) -> np.ndarray:
    """The collocation polynomial u (u(0) = 0, u(c_j) = Z_j) of the last step at 1 + ratio c_i,
    minus u(1) = Z_s: the start of Newton's iteration for the next step (ratio = h_new / h_old).
    In float64: it is only a starting guess. Z has shape (s, d)."""
    nodes = np.concatenate([[0.0], tab.c_f])
    x = 1.0 + ratio * tab.c_f
    W = np.ones((tab.s, tab.s))
    for j in range(1, tab.s + 1):
        for m in range(tab.s + 1):
            if m != j:
                W[:, j - 1] *= (x - nodes[m]) / (nodes[j] - nodes[m])
    return W @ Z - Z[-1]


class Radau:
    """One Radau IIA integration of one flow (the driver is ``solve_flow_mp``)."""

    name = "radau"

    def __init__(self, ctx: Any, dps: int, tol: Mpf, landscape: Any, *, n_stages: int | None = None) -> None:
        if not hasattr(landscape, "hessian"):
            raise InputError("landscape", type(landscape).__name__,
                             "has no hessian(theta): the Radau method needs the exact Hessian (MpLandscape, "
                             "ExprLandscape(...).mp(dps))")
        self.ctx = ctx
        self.dps = dps
        self.tol = tol
        self.land = landscape
        self.d = int(landscape.n_params)
        self.tab = Tableau(ctx, stages(dps) if n_stages is None else n_stages)
        self.eps = ctx.ldexp(ctx.one, 1 - ctx.prec)
        self.n_grad = 0
        self.n_hess = 0
        self.newton_iters = 0
        self.event_searches = 0
        self._eig_at: Vec | None = None
        self._mu = np.zeros(0)
        self._Q = np.zeros((0, 0))
        self._inv = np.zeros((0, 0, 0))
        self._inv_h: float | None = None

    # -- the linear algebra of one step -------------------------------------------------------

    def _grad(self, y: Vec) -> tuple[Mpf, Vec]:
        self.n_grad += 1
        loss, g = self.land.loss_and_grad(y)
        return loss, list(g)

    def _eigen(self, y0: Vec) -> None:
        """The Hessian at y0 (working precision), its float64 eigendecomposition."""
        if self._eig_at is y0:
            return
        H = self.land.hessian(y0)
        self.n_hess += 1
        Hf = np.array([[float(v) for v in row] for row in H], dtype=np.float64)
        self._mu, self._Q = np.linalg.eigh(0.5 * (Hf + Hf.T))
        self._eig_at = y0
        self._inv_h = None

    def _inverses(self, h: float) -> np.ndarray | None:
        """(I + h mu_m A)^(-1) for every eigenvalue mu_m, shape (d, s, s), float64."""
        if self._inv_h != h:
            s = self.tab.s
            M = np.eye(s)[None] + h * self._mu[:, None, None] * self.tab.A_f[None]
            with np.errstate(all="ignore"):
                try:
                    inv = np.linalg.inv(M)
                except np.linalg.LinAlgError:
                    return None
            if not np.all(np.isfinite(inv)):
                return None
            self._inv, self._inv_h = inv, h
        return self._inv

    def _solve(self, y0: Vec, h: Mpf, Z: list[Vec]) -> tuple[list[Vec], list[Vec]] | None:
        """Newton's iteration for the stages: (Z, the gradients at the last iterate but one)."""
        ctx, tab, d = self.ctx, self.tab, self.d
        s, A = tab.s, tab.A
        hf = float(h)
        inv = self._inverses(hf)
        if inv is None:
            return None
        Q = self._Q
        scale = 1.0 + np.abs(np.array([float(v) for v in y0]))
        tol = float(self.tol)
        prev = None
        G: list[Vec] = []
        for it in range(NEWTON_MAX_ITER):
            self.newton_iters += 1
            G = [self._grad([a + b for a, b in zip(y0, Z[i])])[1] for i in range(s)]
            # the residual R_i = Z_i - h sum_j a_ij f(Y_j), f = -grad, at the working precision
            R = np.empty((s, d))
            for k in range(d):
                col = [G[j][k] for j in range(s)]
                for i in range(s):
                    R[i, k] = float(Z[i][k] + h * ctx.fdot(A[i], col))
            # the correction in float64, decoupled along the Hessian's eigenvectors
            Rt = R @ Q                                        # (s, d): component m of stage i
            dZt = -np.einsum("mij,jm->im", inv, Rt)
            dZ = dZt @ Q.T
            size = float(np.max(np.abs(dZ) / scale))
            if not math.isfinite(size):
                return None
            Z = [[a + ctx.mpf(float(b)) for a, b in zip(Z[i], dZ[i])] for i in range(s)]
            if size <= 16 * float(self.eps):
                break
            if prev is not None:
                rate = size / prev
                if rate >= 1:
                    return None
                if rate / (1 - rate) * size <= NEWTON_KAPPA * tol:
                    break
                left = NEWTON_MAX_ITER - it - 1
                if rate > 0.5 and rate ** left / (1 - rate) * size > NEWTON_KAPPA * tol:
                    return None   # the iterations left will not reach the tolerance
            prev = size
        else:
            return None
        return Z, G

    def _error(self, y0: Vec, g0: Vec, y1: Vec, G: list[Vec], h: Mpf) -> float:
        """The filtered embedded error estimate, relative to the tolerance (float64 suffices)."""
        ctx, tab, d = self.ctx, self.tab, self.d
        s = tab.s
        b = tab.A[-1]
        weights = [bh - bj for bh, bj in zip(tab.bh, b)]
        raw = np.array([float(-h * (tab.b0 * g0[k] + ctx.fdot(weights, [G[j][k] for j in range(s)])))
                        for k in range(d)])
        damp = 1.0 + float(h) * float(tab.b0) * self._mu
        comp = self._Q.T @ raw
        comp = np.where(damp > 1.0, comp / np.where(damp > 1.0, damp, 1.0), comp)
        err = self._Q @ comp
        value = float(np.max(np.abs(err) / (1.0 + np.abs([float(v) for v in y1]))) / float(self.tol))
        return value if math.isfinite(value) else math.inf

    def _step(self, y0: Vec, g0: Vec, h: Mpf, Z0: np.ndarray | None
              ) -> tuple[Vec, Vec, Mpf, list[Vec], float] | None:
        """One attempt: (y1, its gradient, its loss, the stages Z, the error estimate) or None."""
        self._eigen(y0)
        ctx, s, d = self.ctx, self.tab.s, self.d
        if Z0 is None or not np.all(np.isfinite(Z0)):
            Z = [[ctx.zero] * d for _ in range(s)]
        else:
            Z = [[ctx.mpf(float(v)) for v in row] for row in Z0]
        out = self._solve(y0, h, Z)
        if out is None:
            return None
        Z, G = out
        y1 = [a + b for a, b in zip(y0, Z[-1])]
        err = self._error(y0, g0, y1, G, h)
        loss1, g1 = self._grad(y1)
        return y1, g1, loss1, Z, err

    # -- the loop ------------------------------------------------------------------------------

    def run(self, y: Vec, t_end: Mpf, mon: _Monitor, max_steps: int,
            progress: Callable[[float, float], None] | None, t_start: float, *,
            t0: Mpf | None = None, h0: Mpf | None = None, costs: Costs | None = None,
            extra: dict[str, Any] | None = None) -> Trajectory:
        """Integrate from (t0, y) (default t = 0, recorded) to t_end; ``costs`` and ``extra``
        carry over from an explicit method that handed the flow over."""
        ctx = self.ctx
        times, rec, record = mon.times, mon.rec, mon.record
        base = costs or Costs()
        t = ctx.zero if t0 is None else t0
        loss, g = self._grad(y)
        if t0 is None:
            record(t, loss, y, g)
        status = mon.triggered(loss, y, g)
        steps = rejected = 0
        ck = 0
        while ck < len(times) and times[ck] <= t:
            ck += 1
        if h0 is None:
            scale = ctx.mpf(0.5) * (1 + max(abs(v) for v in y))
            gmax = max(abs(v) for v in g)
            h = min(t_end, scale / gmax / 10) if gmax else t_end
        else:
            h = h0
        Z_prev: list[Vec] | None = None
        h_prev = None
        last_report = time.perf_counter()
        order = self.tab.s + 1
        while status is None:
            status = mon.spent(steps + rejected, max_steps)
            if status is not None:
                break
            if h <= 16 * self.eps * max(ctx.one, abs(t)):
                status = Status.STEP_UNDERFLOW
                break
            target = times[ck]
            lands = h >= target - t
            h_try = target - t if lands else h
            Z0 = None if Z_prev is None or h_prev is None else _extrapolate(
                self.tab, np.array([[float(v) for v in row] for row in Z_prev]), float(h_try / h_prev))
            att = self._step(y, g, h_try, Z0)
            if att is None:
                rejected += 1
                Z_prev = None
                h = h_try / 2
                continue
            y_new, g_new, loss_new, Z, err = att
            if not (err <= 1 and mon.finite(loss_new, y_new, g_new)):
                rejected += 1
                fac = MIN_FACTOR if not math.isfinite(err) else max(MIN_FACTOR, SAFETY * err ** (-1.0 / order))
                h = h_try * ctx.mpf(min(fac, 1.0))
                continue
            steps += 1
            t_old, y_old, g_old, loss_old = t, y, g, loss
            t = target if lands else t + h_try
            y, g, loss = y_new, g_new, loss_new
            Z_prev, h_prev = Z, h_try
            fac = MAX_FACTOR if err == 0 else min(MAX_FACTOR, max(MIN_FACTOR, SAFETY * err ** (-1.0 / order)))
            h_next = h_try * ctx.mpf(fac)
            h = max(h, h_next) if lands else h_next   # a step cut short for a checkpoint does not shrink h
            status = mon.triggered(loss, y, g)
            if status is not None:
                t, y, g, loss, status = self._locate(t_old, y_old, g_old, loss_old, t, y, g, loss, mon, status)
                lands = lands and t == target
            if lands:
                record(t, loss, y, g)
                ck += 1
                if ck == len(times) and status is None:
                    status = Status.T1_REACHED
                elif status is None and mon.stop_here(
                        t, loss, rec["theta_norm"][-1], rec["grad_norm"][-1], functools.partial(list, y),
                        self._costs(base, steps, rejected), {"method": self.name}):
                    status = Status.STOPPED
            if progress is not None and time.perf_counter() - last_report > PROGRESS_EVERY:
                progress(float(t), float(t_end))
                last_report = time.perf_counter()
        if rec["t"][-1] != t:
            record(t, loss, y, g)
        if progress is not None:
            progress(float(t), float(t_end))
        info = dict(extra or {})
        info.update({"method": info.get("method", self.name) if t0 is None else f"{info.get('method')}+radau",
                     "stages": self.tab.s, "order": 2 * self.tab.s - 1, "newton_iterations": self.newton_iters,
                     "event_searches": self.event_searches, "wall_s": time.perf_counter() - t_start})
        if t0 is not None:
            info["radau_from"] = float(t0)
        return mon.result(status, t, t_end, loss, y, g, self._costs(base, steps, rejected), self.dps, info)

    def _costs(self, base: Costs, steps: int, rejected: int) -> Costs:
        return Costs(steps=base.steps + steps, rejected=base.rejected + rejected, n_grad=base.n_grad + self.n_grad,
                     n_hess=base.n_hess + self.n_hess)

    def _locate(self, t0: Mpf, y0: Vec, g0: Vec, loss0: Mpf, t1: Mpf, y1: Vec, g1: Vec, loss1: Mpf,
                mon: _Monitor, status: Status) -> tuple[Mpf, Vec, Vec, Mpf, Status]:
        """The earliest crossing in (t0, t1] of the events that hold at t1 (Illinois search on the
        step length, each trial a Radau step from t0); the state returned satisfies the event."""
        ctx = self.ctx
        after = mon.event_values(loss1, y1, g1)
        if not all(ctx.isfinite(v) for v in after.values()):
            return t1, y1, g1, loss1, status

        def trial(s: Mpf) -> tuple[dict[Status, Mpf], Any]:
            self.event_searches += 1
            att = self._step(y0, g0, s, None)
            if att is None:
                return mon.event_values(loss1, y1, g1), (t1, y1, g1, loss1)
            ys, gs, ls = att[0], att[1], att[2]
            return mon.event_values(ls, ys, gs), (t0 + s, ys, gs, ls)

        found = _earliest_crossing(ctx, mon.event_values(loss0, y0, g0), after, t1 - t0,
                                   4 * self.tol * max(ctx.one, abs(t1)), trial)
        if found is None:
            return t1, y1, g1, loss1, status
        event, _, state = found
        t, y, g, loss = (t1, y1, g1, loss1) if state is None else state
        return t, y, g, loss, event
