"""Gradient flow for ensembles in float64: theta' = -grad L(theta), E members at once.

One driver loop (``solve_flow``) joins swappable parts: the landscape (the vector field),
a solver (``Dopri5``, ``Dop853``, ``Rodas4``), step-size control (``StepControl``) and
events (``Events``). Every member has its own time, step size and status; a member that
stops (or overflows) is frozen and never touches the others.

References
----------
E. Hairer, S. P. Norsett, G. Wanner, Solving Ordinary Differential Equations I (2nd ed.),
Springer 1993, II.4-II.5 (embedded pairs, step-size control, DOP853).
E. Hairer, G. Wanner, Solving Ordinary Differential Equations II (2nd ed.), Springer 1996,
IV.7 (Rosenbrock methods; RODAS4 coefficients as in Hairer's RODAS and Sandu's KPP).
"""

from __future__ import annotations

import abc
import time
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

import numpy as np

from . import _tableaux as _tab
from ._errors import InputError
from ._trajectory import (
    MESSAGES,
    Checkpoints,
    Costs,
    Events,
    Status,
    StepControl,
    Trajectory,
    check_checkpoints,
    checkpoint_times,
    count_statuses,
)

__all__ = ["Solver", "Dopri5", "Dop853", "Rodas4", "FlowResult", "solve_flow"]

Array = np.ndarray
_ACTIVE = -1
_STATUS_CODES = list(Status)

SAFETY = 0.9
MIN_FACTOR = 0.2
MAX_FACTOR = 10.0


@dataclass(frozen=True)
class _Step:
    """Result of one attempted step for a subset of members."""

    theta: Array      # (m, d) proposed new state
    loss: Array       # (m,) loss at the proposed state
    grad: Array       # (m, d) gradient at the proposed state
    err: Array        # (m,) scaled error norm (<= 1: accept)
    n_grad: int       # gradient evaluations per member
    n_hess: int       # Hessian evaluations per member


class Solver(abc.ABC):
    """An integrator for theta' = -grad L(theta); one ``attempt`` of a step for many members."""

    name: ClassVar[str]
    #: the exponent of the error: the step factor is err ** (-1 / error_exponent)
    error_exponent: ClassVar[float]

    @abc.abstractmethod
    def attempt(self, landscape: Any, theta: Array, grad: Array, h: Array, rtol: float, atol: float) -> _Step:
        """Try a step of sizes ``h`` (m,) from ``theta`` (m, d) whose gradient is ``grad``."""


def _scale(y: Array, y_new: Array, rtol: float, atol: float) -> Array:
    return atol + rtol * np.maximum(np.abs(y), np.abs(y_new))


def _rms(x: Array) -> Array:
    return np.sqrt(np.mean(x * x, axis=-1))


def _combine(coef: Array, K: Array) -> Array:
    """sum_j coef[j] K[j] for K of shape (s, m, d): one matrix product."""
    s = coef.shape[0]
    return (coef @ K[:s].reshape(s, -1)).reshape(K.shape[1:])


class _ExplicitRK(Solver):
    """Explicit Runge-Kutta pair with the first-same-as-last property (FSAL)."""

    A: ClassVar[Array]
    B: ClassVar[Array]
    n_stages: ClassVar[int]

    def _stages(self, landscape: Any, theta: Array, grad: Array, h: Array) -> tuple[Array, Array, Array, Array]:
        # a landscape with compiled kernels evaluates all stages in one call (NpLandscape._explicit_stages)
        fused = getattr(landscape, "_explicit_stages", None)
        done = fused(self.A, self.B, theta, grad, h) if fused is not None else None
        if done is not None:
            return done
        m, d = theta.shape
        K = np.empty((self.n_stages + 1, m, d))
        K[0] = -grad
        hh = h[:, None]
        for s in range(1, self.n_stages):
            dy = _combine(self.A[s, :s], K)
            K[s] = -landscape.grad(theta + hh * dy)
        y_new = theta + hh * _combine(self.B, K)
        loss_new, g_new = landscape.loss_and_grad(y_new)
        K[-1] = -g_new
        return K, y_new, loss_new, g_new


@dataclass(frozen=True)
class Dopri5(_ExplicitRK):
    """Dormand-Prince 5(4): explicit, 6 stages plus FSAL; for non-stiff flows."""

    name: ClassVar[str] = "dopri5"
    error_exponent: ClassVar[float] = 5.0
    A: ClassVar[Array] = _tab.DOPRI5_A
    B: ClassVar[Array] = _tab.DOPRI5_B
    E: ClassVar[Array] = _tab.DOPRI5_E
    n_stages: ClassVar[int] = 6

    def attempt(self, landscape: Any, theta: Array, grad: Array, h: Array, rtol: float, atol: float) -> _Step:
        K, y_new, loss_new, g_new = self._stages(landscape, theta, grad, h)
        err = h[:, None] * _combine(self.E, K)
        norm = _rms(err / _scale(theta, y_new, rtol, atol))
        return _Step(y_new, loss_new, g_new, norm, self.n_stages, 0)


@dataclass(frozen=True)
class Dop853(_ExplicitRK):
    """Dormand-Prince 8(5,3) (DOP853): explicit, 12 stages plus FSAL; for tight tolerances."""

    name: ClassVar[str] = "dop853"
    error_exponent: ClassVar[float] = 8.0
    A: ClassVar[Array] = _tab.DOP853_A
    B: ClassVar[Array] = _tab.DOP853_B
    E3: ClassVar[Array] = _tab.DOP853_E3
    E5: ClassVar[Array] = _tab.DOP853_E5
    n_stages: ClassVar[int] = 12

    def attempt(self, landscape: Any, theta: Array, grad: Array, h: Array, rtol: float, atol: float) -> _Step:
        K, y_new, loss_new, g_new = self._stages(landscape, theta, grad, h)
        sc = _scale(theta, y_new, rtol, atol)
        e5 = _combine(self.E5, K) / sc
        e3 = _combine(self.E3, K) / sc
        n5, n3 = np.sum(e5 * e5, axis=-1), np.sum(e3 * e3, axis=-1)
        denom = np.sqrt((n5 + 0.01 * n3) * theta.shape[1])
        with np.errstate(invalid="ignore", divide="ignore"):
            norm = np.where(n5 == 0, 0.0, np.abs(h) * n5 / np.where(denom == 0, 1.0, denom))
        return _Step(y_new, loss_new, g_new, norm, self.n_stages, 0)


# RODAS4 in the form G K_i = F(Y_i) + sum_j C_ij / h K_j, G = I / (h gamma) - J,
# Y_i = y + sum_j A_ij K_j, y_new = y + sum_j M_j K_j, error K_6 (Hairer-Wanner IV.7).
_R4_GAMMA = 0.25
_R4_A = np.zeros((6, 6))
_R4_C = np.zeros((6, 6))
_R4_A[1, 0] = 1.544
_R4_A[2, :2] = [0.9466785280815826, 0.2557011698983284]
_R4_A[3, :3] = [3.314825187068521, 2.896124015972201, 0.9986419139977817]
_R4_A[4, :4] = [1.221224509226641, 6.019134481288629, 12.53708332932087, -0.6878860361058950]
_R4_A[5, :5] = [*_R4_A[4, :4], 1.0]
_R4_C[1, 0] = -5.6688
_R4_C[2, :2] = [-2.430093356833875, -0.2063599157091915]
_R4_C[3, :3] = [-0.1073529058151375, -9.594562251023355, -20.47028614809616]
_R4_C[4, :4] = [7.496443313967647, -10.24680431464352, -33.99990352819905, 11.70890893206160]
_R4_C[5, :5] = [8.083246795921522, -7.981132988064893, -31.52159432874371, 16.31930543123136, -6.058818238834054]
_R4_M = np.array([*_R4_A[4, :4], 1.0, 1.0])


@dataclass(frozen=True)
class Rodas4(Solver):
    """RODAS4: L-stable, stiffly accurate Rosenbrock method of order 4(3), 6 stages.

    Uses the exact Hessian as the Jacobian (J = -H) and one batched matrix inverse per
    step; for flows whose Hessian spread makes explicit steps collapse (long horizons,
    slow drift to infinity).
    """

    name: ClassVar[str] = "rodas4"
    error_exponent: ClassVar[float] = 4.0

    def attempt(self, landscape: Any, theta: Array, grad: Array, h: Array, rtol: float, atol: float) -> _Step:
        m, d = theta.shape
        H = landscape.hessian(theta)
        G = H + (1.0 / (h * _R4_GAMMA))[:, None, None] * np.eye(d)
        with np.errstate(all="ignore"):
            try:
                Ginv = np.linalg.inv(G)
            except np.linalg.LinAlgError:
                Ginv = np.stack([_safe_inv(g) for g in G])
        K = np.empty((6, m, d))
        hh = h[:, None]
        for s in range(6):
            f = -grad if s == 0 else -landscape.grad(theta + _combine(_R4_A[s, :s], K))
            if s:
                f = f + _combine(_R4_C[s, :s], K) / hh
            K[s] = np.einsum("mij,mj->mi", Ginv, f)
        y_new = theta + _combine(_R4_M, K)
        loss_new, g_new = landscape.loss_and_grad(y_new)
        norm = _rms(K[5] / _scale(theta, y_new, rtol, atol))
        return _Step(y_new, loss_new, g_new, norm, 6, 1)


def _safe_inv(g: Array) -> Array:
    try:
        return np.linalg.inv(g)
    except np.linalg.LinAlgError:
        return np.full_like(g, np.nan)


@dataclass(frozen=True)
class FlowResult:
    """Trajectories of all members of an ensemble gradient flow."""

    members: tuple[Trajectory, ...]
    solver: str
    control: StepControl
    events: Events
    t1: float
    wall_time: float
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def statuses(self) -> dict[str, int]:
        """How many members ended with each status."""
        return count_statuses(self.members)


def _initial_step(landscape: Any, theta: Array, grad: Array, order: float, rtol: float, atol: float,
                  t1: float) -> Array:
    """Hairer-Norsett-Wanner's starting step, per member."""
    sc = atol + rtol * np.abs(theta)
    d0 = _rms(theta / sc)
    d1 = _rms(grad / sc)
    with np.errstate(all="ignore"):
        h0 = np.where((d0 < 1e-5) | (d1 < 1e-5), 1e-6, 0.01 * d0 / d1)
        g1 = landscape.grad(theta - h0[:, None] * grad)
        d2 = _rms((g1 - grad) / sc) / h0
        dmax = np.maximum(d1, d2)
        h1 = np.where(dmax <= 1e-15, np.maximum(1e-6, h0 * 1e-3), (0.01 / dmax) ** (1.0 / order))
    h = np.minimum(100 * h0, h1)
    h = np.where(np.isfinite(h) & (h > 0), h, 1e-6)
    return np.minimum(h, t1)


# outcomes of the compiled adaptive loop (verify._compiled_nb.explicit_advance)
_ADV_LANDED, _ADV_STOPPED, _ADV_BUDGET, _ADV_UNDERFLOW = 0, 1, 2, 3


def _compiled_advance(landscape: Any, solver: Solver) -> Callable[..., Array] | None:
    """The compiled adaptive loop for an explicit pair on a landscape that has one
    (``NpLandscape._explicit_advance``), bound to the solver's coefficients; else None."""
    make = getattr(landscape, "_explicit_advance", None)
    kernel = make() if make is not None else None
    if kernel is None or not isinstance(solver, (Dopri5, Dop853)):
        return None
    if isinstance(solver, Dop853):
        e_coef, dop853 = np.stack([solver.E5, solver.E3]), True
    else:
        e_coef, dop853 = np.asarray(solver.E)[None, :], False

    def advance(*args: Any) -> Array:
        return kernel(solver.A, solver.B, e_coef, dop853, solver.error_exponent, *args)

    return advance


def solve_flow(landscape: Any, theta0: Any, *, t1: float, solver: Solver | None = None,
               control: StepControl | None = None, events: Events | None = None, checkpoints: int = 32,
               progress: Callable[[float], None] | None = None) -> FlowResult:
    """Follow the gradient flow theta' = -grad L(theta) of every member up to flow time t1.

    Parameters
    ----------
    landscape
        A float64 landscape (``NpLandscape`` or any object with ``n_params``,
        ``loss_and_grad(theta)``, ``grad(theta)`` and, for ``Rodas4``, ``hessian(theta)``,
        all taking theta of shape (m, d)). An ``NpLandscape`` with compiled kernels
        (``verify._compiled``) also runs the explicit pairs' stages and adaptive steps in them.
    theta0 : array_like, shape (E, d) or (d,)
        Initial parameters.
    t1 : float, keyword-only
        The horizon.
    solver : Solver, keyword-only
        ``Dop853()`` (default), ``Dopri5()`` or ``Rodas4()`` (stiff).
    control : StepControl, keyword-only
        Tolerances, first step, step budget (per member).
    events : Events, keyword-only
        Stationary / diverged / loss-below levels.
    checkpoints : int, keyword-only
        Number of log-spaced checkpoint times in (0, t1]; states are recorded there exactly
        (steps are shortened to land on them), plus the initial state at t = 0.
    progress : callable, keyword-only
        Called with the fraction done (in log time, averaged over members) at most about
        twice a second.

    Returns
    -------
    FlowResult
        One ``Trajectory`` per member: status, message, final state, checkpoints and costs.
    """
    solver = Dop853() if solver is None else solver
    control = StepControl() if control is None else control
    events = Events() if events is None else events
    if not isinstance(solver, Solver):
        raise InputError("solver", solver, "use Dopri5(), Dop853() or Rodas4()")
    if isinstance(t1, bool) or not isinstance(t1, (int, float)) or not t1 > 0 or not np.isfinite(t1):
        raise InputError("t1", t1, "must be a positive, finite flow time")
    check_checkpoints(checkpoints)
    theta = np.array(theta0, dtype=np.float64, copy=True)
    single = theta.ndim == 1
    if single:
        theta = theta[None, :]
    d = landscape.n_params
    if theta.ndim != 2 or theta.shape[1] != d:
        raise InputError("theta0", f"array of shape {np.shape(theta0)}", f"give shape (E, {d}) or ({d},)")
    t_start = time.perf_counter()
    E = theta.shape[0]
    rtol, atol = control.rtol, control.atol
    ck_times = checkpoint_times(0.0, float(t1), checkpoints)
    K = len(ck_times) + 1
    rec = {k: np.full((E, K), np.nan) for k in ("t", "loss", "theta_norm", "grad_norm")}
    n_rec = np.zeros(E, dtype=np.int64)
    ck_ptr = np.zeros(E, dtype=np.int64)

    with np.errstate(all="ignore"):
        loss, grad = landscape.loss_and_grad(theta)
    t = np.zeros(E)
    status = np.full(E, _ACTIVE, dtype=np.int64)
    steps = np.zeros(E, dtype=np.int64)
    rejected = np.zeros(E, dtype=np.int64)
    n_grad = np.ones(E, dtype=np.int64)
    n_hess = np.zeros(E, dtype=np.int64)

    def record(idx: Array) -> None:
        j = n_rec[idx]
        rec["t"][idx, j] = t[idx]
        rec["loss"][idx, j] = loss[idx]
        rec["theta_norm"][idx, j] = np.linalg.norm(theta[idx], axis=1)
        rec["grad_norm"][idx, j] = np.linalg.norm(grad[idx], axis=1)
        n_rec[idx] += 1

    def check_events(idx: Array) -> None:
        """Set the status of members in idx whose current state triggers an event."""
        th, ls, gr = theta[idx], loss[idx], grad[idx]
        finite = np.isfinite(ls) & np.all(np.isfinite(th), axis=1) & np.all(np.isfinite(gr), axis=1)
        tn = np.linalg.norm(th, axis=1)
        gn = np.linalg.norm(gr, axis=1)
        new = np.full(len(idx), _ACTIVE)
        if events.loss_below is not None:
            new = np.where(ls <= events.loss_below, _STATUS_CODES.index(Status.LOSS_BELOW), new)
        new = np.where(gn <= events.gtol, _STATUS_CODES.index(Status.STATIONARY), new)
        new = np.where(~finite | (tn >= events.radius), _STATUS_CODES.index(Status.DIVERGED), new)
        new = np.where((new == _ACTIVE) & (t[idx] >= t1), _STATUS_CODES.index(Status.T1_REACHED), new)
        status[idx] = new

    all_idx = np.arange(E)
    record(all_idx)
    check_events(all_idx)
    with np.errstate(all="ignore"):
        h = _initial_step(landscape, theta, grad, solver.error_exponent, rtol, atol, float(t1)) \
            if control.h0 is None else np.full(E, float(control.h0))
    n_grad += 1 if control.h0 is None else 0
    last_report = time.perf_counter()
    log_t1 = np.log1p(float(t1))
    advance = _compiled_advance(landscape, solver)
    while True:
        idx = np.flatnonzero(status == _ACTIVE)
        if idx.size == 0:
            break
        if advance is not None:
            # the compiled adaptive loop: every member steps until its next checkpoint (or an event, the
            # budget, an underflow, or a pause after a bounded number of attempts); the bookkeeping is below
            target = ck_times[np.minimum(ck_ptr[idx], len(ck_times) - 1)]
            outcome = advance(idx, theta, grad, loss, t, h, target, steps, rejected, n_grad,
                              (rtol, atol, SAFETY, MIN_FACTOR, MAX_FACTOR, control.max_steps),
                              (events.gtol, events.radius,
                               np.nan if events.loss_below is None else events.loss_below), 64)
            status[idx[outcome == _ADV_BUDGET]] = _STATUS_CODES.index(Status.MAX_STEPS)
            status[idx[outcome == _ADV_UNDERFLOW]] = _STATUS_CODES.index(Status.STEP_UNDERFLOW)
            moved = idx[(outcome == _ADV_LANDED) | (outcome == _ADV_STOPPED)]
            hit = moved[t[moved] == ck_times[np.minimum(ck_ptr[moved], len(ck_times) - 1)]]
            if hit.size:
                record(hit)
                ck_ptr[hit] += 1
            check_events(moved)
            stopped = moved[(status[moved] != _ACTIVE)]
            stopped = stopped[~np.isin(stopped, hit)]
            if stopped.size:
                record(stopped)
            if progress is not None and time.perf_counter() - last_report > 0.5:
                done = np.where(status == _ACTIVE, np.log1p(t) / log_t1, 1.0)
                progress(float(np.mean(done)))
                last_report = time.perf_counter()
            continue
        budget = (steps[idx] + rejected[idx]) >= control.max_steps
        if np.any(budget):
            status[idx[budget]] = _STATUS_CODES.index(Status.MAX_STEPS)
            idx = idx[~budget]
            if idx.size == 0:
                break
        target = ck_times[np.minimum(ck_ptr[idx], len(ck_times) - 1)]
        hi = np.minimum(h[idx], target - t[idx])
        lands = hi >= target - t[idx]  # this step ends exactly on the next checkpoint
        underflow = hi <= 1e-14 * np.maximum(1.0, np.abs(t[idx]))
        if np.any(underflow):
            status[idx[underflow]] = _STATUS_CODES.index(Status.STEP_UNDERFLOW)
            keep = ~underflow
            idx, hi, lands = idx[keep], hi[keep], lands[keep]
            if idx.size == 0:
                continue
        with np.errstate(all="ignore"):
            st = solver.attempt(landscape, theta[idx], grad[idx], hi, rtol, atol)
        n_grad[idx] += st.n_grad
        n_hess[idx] += st.n_hess
        err = np.where(np.isfinite(st.err), st.err, np.inf)
        ok = err <= 1.0
        with np.errstate(all="ignore"):
            factor = np.where(err == 0, MAX_FACTOR,
                              np.clip(SAFETY * err ** (-1.0 / solver.error_exponent), MIN_FACTOR, MAX_FACTOR))
        factor = np.where(ok, factor, np.minimum(factor, 1.0))
        factor = np.where(np.isfinite(err), factor, MIN_FACTOR)
        acc, rej = idx[ok], idx[~ok]
        rejected[rej] += 1
        h[rej] = hi[~ok] * factor[~ok]
        if acc.size:
            theta[acc] = st.theta[ok]
            loss[acc] = st.loss[ok]
            grad[acc] = st.grad[ok]
            steps[acc] += 1
            landed = lands[ok]
            t[acc] = np.where(landed, target[ok], t[acc] + hi[ok])
            # a step shortened to land on a checkpoint does not shrink the next one
            grown = hi[ok] * factor[ok]
            h[acc] = np.where(landed, np.maximum(h[acc], grown), grown)
            hit = acc[landed]
            if hit.size:
                record(hit)
                ck_ptr[hit] += 1
            check_events(acc)
            stopped = acc[(status[acc] != _ACTIVE)]
            stopped = stopped[~np.isin(stopped, hit)]
            if stopped.size:
                record(stopped)
        if progress is not None and time.perf_counter() - last_report > 0.5:
            done = np.where(status == _ACTIVE, np.log1p(t) / log_t1, 1.0)
            progress(float(np.mean(done)))
            last_report = time.perf_counter()
    if progress is not None:
        progress(1.0)
    wall = time.perf_counter() - t_start
    members = []
    # plain Python floats, row by row (tolist() is the same values, many times faster than float() per entry)
    theta_rows, rec_rows = theta.tolist(), {key: rec[key].tolist() for key in rec}
    for e in range(E):
        k = int(n_rec[e])
        code = _STATUS_CODES[int(status[e])]
        message = MESSAGES[code]
        if code is Status.MAX_STEPS:
            message += f" ({int(steps[e])} accepted, {int(rejected[e])} rejected steps, reached t = {t[e]:.6g})"
        members.append(Trajectory(
            status=code, message=message, t=float(t[e]), loss=float(loss[e]),
            theta_norm=float(np.linalg.norm(theta[e])), grad_norm=float(np.linalg.norm(grad[e])),
            theta=tuple(theta_rows[e]),
            checkpoints=Checkpoints(*(tuple(rec_rows[key][e][:k]) for key in ("t", "loss", "theta_norm", "grad_norm"))),
            costs=Costs(int(steps[e]), int(rejected[e]), int(n_grad[e]), int(n_hess[e])), tier="np"))
    return FlowResult(tuple(members), solver.name, control, events, float(t1), wall)
