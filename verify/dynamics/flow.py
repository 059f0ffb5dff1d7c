"""Gradient flow for ensembles in float64: theta' = -grad L(theta), E members at once.

One driver loop (``solve_flow``) joins swappable parts: the landscape (the vector field),
a solver (``Dopri5``, ``Dop853``, ``Rodas4``, or ``Auto``, the default, which switches each
member between Dop853 and Rodas4 as its flow turns stiff and back), step-size control
(``StepControl``) and events (``Events``). Every member has its own time, step size, solver
and status; a member that stops (or overflows) is frozen and never touches the others. Two
hooks let a caller stop members early: ``until`` (a test at each checkpoint) and
``max_seconds`` (a wall-time budget); ``follow_flow`` is built on them.

References
----------
E. Hairer, S. P. Norsett, G. Wanner, Solving Ordinary Differential Equations I (2nd ed.),
Springer 1993, II.4-II.5 (embedded pairs, step-size control, DOP853).
E. Hairer, G. Wanner, Solving Ordinary Differential Equations II (2nd ed.), Springer 1996,
IV.2 (stiffness detection), IV.7 (Rosenbrock methods; RODAS4 coefficients as in Hairer's RODAS
and Sandu's KPP).
"""

from __future__ import annotations

import abc
import time
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

import numpy as np

from ..errors import InputError
from . import tableaux as _tab
from .trajectory import (
    MAX_CHECKPOINTS,
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

__all__ = ["Solver", "Dopri5", "Dop853", "Rodas4", "Auto", "FlowResult", "solve_flow", "SOLVERS"]

Array = np.ndarray
_ACTIVE = -1
_STATUS_CODES = list(Status)

SAFETY = 0.9
MIN_FACTOR = 0.2
MAX_FACTOR = 10.0
#: under ``solver="auto"``, Rodas4 steps of the stiff members per pass of the compiled explicit loop
#: over the others (a pass costs a few array operations over the whole ensemble)
STIFF_BURST = 16


@dataclass(frozen=True)
class _Step:
    """Result of one attempted step for a subset of members."""

    theta: Array      # (m, d) proposed new state
    loss: Array       # (m,) loss at the proposed state
    grad: Array       # (m, d) gradient at the proposed state
    err: Array        # (m,) scaled error norm (<= 1: accept)
    n_grad: int | Array   # gradient evaluations per member (an array when solvers are mixed)
    n_hess: int | Array   # Hessian evaluations per member
    #: h rho per member, rho an estimate of the largest |eigenvalue| of the Hessian (NaN: none made)
    stiffness: Array | None = None
    #: the power-iteration directions after the step (Rodas4 with probes), shape (m, d)
    probe: Array | None = None


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

    #: the stability boundary on the negative real axis: h rho above it is stiff (Hairer's codes)
    stability_boundary: ClassVar[float]

    def _stages(self, landscape: Any, theta: Array, grad: Array, h: Array
                ) -> tuple[Array, Array, Array, Array, Array]:
        # a landscape with compiled kernels evaluates all stages in one call (NpLandscape._explicit_stages)
        fused = getattr(landscape, "_explicit_stages", None)
        done = fused(self.A, self.B, theta, grad, h) if fused is not None else None
        if done is not None:
            K, y_new, loss_new, g_new = done
            s = self.n_stages - 1       # the last stage point Y_s, rebuilt from the stages
            y_last = theta + h[:, None] * _combine(self.A[s, :s], K)
            return K, y_new, loss_new, g_new, self._stiffness(K, y_new, y_last, h)
        m, d = theta.shape
        K = np.empty((self.n_stages + 1, m, d))
        K[0] = -grad
        hh = h[:, None]
        y_last = theta
        for s in range(1, self.n_stages):
            y_last = theta + hh * _combine(self.A[s, :s], K)
            K[s] = -landscape.grad(y_last)
        y_new = theta + hh * _combine(self.B, K)
        loss_new, g_new = landscape.loss_and_grad(y_new)
        K[-1] = -g_new
        return K, y_new, loss_new, g_new, self._stiffness(K, y_new, y_last, h)

    @staticmethod
    def _stiffness(K: Array, y_new: Array, y_last: Array, h: Array) -> Array:
        """Hairer's test: h |f(y_new) - f(Y_s)| / |y_new - Y_s| for the last stage Y_s, which
        (like y_new) sits at c = 1: an estimate of h rho, rho the dominant eigenvalue of the
        Jacobian -H along the step (HNW II, IV.2; DOPRI5 and DOP853's ``HLAMB``)."""
        num = np.sum((K[-1] - K[-2]) ** 2, axis=-1)
        den = np.sum((y_new - y_last) ** 2, axis=-1)
        with np.errstate(all="ignore"):
            return np.where(den > 0, np.abs(h) * np.sqrt(num / np.where(den > 0, den, 1.0)), 0.0)


@dataclass(frozen=True)
class Dopri5(_ExplicitRK):
    """Dormand-Prince 5(4): explicit, 6 stages plus FSAL; for non-stiff flows."""

    name: ClassVar[str] = "dopri5"
    error_exponent: ClassVar[float] = 5.0
    A: ClassVar[Array] = _tab.DOPRI5_A
    B: ClassVar[Array] = _tab.DOPRI5_B
    E: ClassVar[Array] = _tab.DOPRI5_E
    n_stages: ClassVar[int] = 6
    stability_boundary: ClassVar[float] = 3.25

    def attempt(self, landscape: Any, theta: Array, grad: Array, h: Array, rtol: float, atol: float) -> _Step:
        K, y_new, loss_new, g_new, stiff = self._stages(landscape, theta, grad, h)
        err = h[:, None] * _combine(self.E, K)
        norm = _rms(err / _scale(theta, y_new, rtol, atol))
        return _Step(y_new, loss_new, g_new, norm, self.n_stages, 0, stiff)


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
    stability_boundary: ClassVar[float] = 6.1

    def attempt(self, landscape: Any, theta: Array, grad: Array, h: Array, rtol: float, atol: float) -> _Step:
        K, y_new, loss_new, g_new, stiff = self._stages(landscape, theta, grad, h)
        sc = _scale(theta, y_new, rtol, atol)
        e5 = _combine(self.E5, K) / sc
        e3 = _combine(self.E3, K) / sc
        n5, n3 = np.sum(e5 * e5, axis=-1), np.sum(e3 * e3, axis=-1)
        denom = np.sqrt((n5 + 0.01 * n3) * theta.shape[1])
        with np.errstate(invalid="ignore", divide="ignore"):
            norm = np.where(n5 == 0, 0.0, np.abs(h) * n5 / np.where(denom == 0, 1.0, denom))
        return _Step(y_new, loss_new, g_new, norm, self.n_stages, 0, stiff)


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

    def attempt(self, landscape: Any, theta: Array, grad: Array, h: Array, rtol: float, atol: float,
                probe: Array | None = None) -> _Step:
        """One step; with ``probe`` (m, d) also ``POWER_STEPS`` power iterations on the Hessian
        from those directions, giving ``stiffness`` = h |H v| / |v| (a lower bound of h rho)."""
        m, d = theta.shape
        H = landscape.hessian(theta)
        stiff = new_probe = None
        if probe is not None:
            stiff, new_probe = _power(H, probe, h)
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
        return _Step(y_new, loss_new, g_new, norm, 6, 1, stiff, new_probe)


#: power iterations per Rodas4 step of a member under automatic switching (warm-started)
POWER_STEPS = 3


def _power(H: Array, probe: Array, h: Array) -> tuple[Array, Array]:
    """h |H v_k| / |v_k| after ``POWER_STEPS`` power iterations v_{j+1} = H v_j / |H v_j| from
    ``probe`` (warm-started from step to step, so the estimate of the largest |eigenvalue|
    sharpens along the flow), and the new directions."""
    v = probe
    est = np.zeros(len(h))
    with np.errstate(all="ignore"):
        for _ in range(POWER_STEPS):
            w = np.einsum("mij,mj->mi", H, v)
            nw = np.linalg.norm(w, axis=1)
            est = nw / np.linalg.norm(v, axis=1)
            ok = np.isfinite(nw) & (nw > 0)
            v = np.where(ok[:, None], w / np.where(ok, nw, 1.0)[:, None], probe)
    est = np.where(np.isfinite(est), est, np.inf)
    return np.abs(h) * est, v


def _safe_inv(g: Array) -> Array:
    try:
        return np.linalg.inv(g)
    except np.linalg.LinAlgError:
        return np.full_like(g, np.nan)


@dataclass(frozen=True)
class Auto:
    """Automatic stiffness detection and switching, per member, between an explicit pair and Rodas4.

    Every member starts with the explicit pair. After each accepted explicit step Hairer's
    test (h |f(y_new) - f(Y_s)| / |y_new - Y_s| over the two evaluations at c = 1) estimates
    h rho, rho the dominant eigenvalue of the Jacobian -H; when it exceeds the pair's
    stability boundary (6.1 for DOP853, 3.25 for DOPRI5) on ``to_stiff`` accepted steps with
    fewer than 6 non-stiff steps in between (the rule of Hairer's DOP853), the step size is
    limited by stability rather than accuracy, and the member continues with ``Rodas4``
    unless fewer than ``ahead`` explicit steps of the current size remain to the horizon.
    While a member uses Rodas4, ``POWER_STEPS`` warm-started power iterations on the Hessian
    it has anyway estimate rho; when the next Rodas4 step h satisfies
    h rho <= ``nonstiff_factor`` x boundary x w on ``to_explicit`` consecutive accepted steps,
    with w = (6 + d) / stages the work of a Rodas4 step over an explicit one (in gradient
    evaluations, a Hessian counted as d), an explicit step of the same cost would be stable
    and the member switches back; the evidence it then needs to switch to Rodas4 again
    doubles (up to 16-fold), so a flow near the border of stiffness does not alternate on
    every step. This is the scheme of LSODA and of DifferentialEquations.jl's
    ``AutoTsit5(Rodas4())`` (stage-difference test one way, eigenvalue estimate times step
    the other). A trial of Rodas4 that does not pay costs about ``to_explicit`` x w explicit
    steps, a few per cent of the ``to_stiff`` stability-limited steps before it; a flow that
    really is stiff (a slow drift, a converging flow with a wide Hessian spectrum) needs
    orders of magnitude more explicit steps than that.

    Parameters
    ----------
    explicit : Dop853 or Dopri5
        The non-stiff solver (default ``Dop853()``).
    stiff : Rodas4
        The stiff solver.
    to_stiff : int
        Stiff verdicts before switching to Rodas4 (default 100; DOP853 asks for 15 in a row
        at tests 1000 steps apart).
    to_explicit : int
        Consecutive non-stiff verdicts before switching back (default 3).
    nonstiff_factor : float
        A Rodas4 step counts as non-stiff when h rho <= nonstiff_factor x boundary x w
        (default 0.9, a hysteresis against switching back and forth).
    ahead : int
        Explicit steps of the current size that must remain to the horizon for a switch to
        Rodas4 (default 1000). With compiled kernels an explicit step of one member costs a few
        microseconds inside the compiled loop, while a Rodas4 step of the few members that
        switched costs about 0.5 ms of array operations (measured on the 1-4-1 ensemble of
        ``bench/bench_flow.py``: a ratio of about 100); a switch pays when the explicit steps it
        saves exceed that ratio times the ten or more Rodas4 steps it takes. On that benchmark,
        ``ahead=100`` switched 4 of 1000 members 20 time units before the horizon and cost 12%
        over Dop853 alone; 1000 switches none there and still switches the drifting flows of
        ``auto_long_horizon`` at once.

    References
    ----------
    E. Hairer, G. Wanner, Solving Ordinary Differential Equations II, IV.2 (automatic
    stiffness detection). L. Petzold, "Automatic selection of methods for solving stiff and
    nonstiff systems of ordinary differential equations", SIAM J. Sci. Stat. Comput. 4 (1983)
    (LSODA). C. Rackauckas, Q. Nie, "DifferentialEquations.jl", J. Open Research Software 5
    (2017) (``AutoSwitch``).
    """

    explicit: Dop853 | Dopri5 = field(default_factory=Dop853)
    stiff: Rodas4 = field(default_factory=Rodas4)
    to_stiff: int = 100
    to_explicit: int = 3
    nonstiff_factor: float = 0.9
    ahead: int = 1000

    def __post_init__(self) -> None:
        if not isinstance(self.explicit, _ExplicitRK):
            raise InputError("explicit", self.explicit, "use Dop853() or Dopri5()")
        if not isinstance(self.stiff, Rodas4):
            raise InputError("stiff", self.stiff, "use Rodas4()")
        for key in ("to_stiff", "to_explicit", "ahead"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InputError(key, v, "must be a positive integer")
        f = self.nonstiff_factor
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0 < f <= 1:
            raise InputError("nonstiff_factor", f, "must be a number in (0, 1]")

    @property
    def name(self) -> str:
        return f"auto({self.explicit.name}/{self.stiff.name})"

    @property
    def error_exponent(self) -> float:
        return self.explicit.error_exponent


#: solver names accepted by ``solve_flow(solver=...)`` and ``verify flow --solver``
SOLVERS = ("auto", "dop853", "dopri5", "rodas4")


def _solver_from(solver: Any) -> Solver | Auto:
    if isinstance(solver, (Solver, Auto)):
        return solver
    named = {"auto": Auto, "dop853": Dop853, "dopri5": Dopri5, "rodas4": Rodas4}
    if isinstance(solver, str) and solver in named:
        return named[solver]()
    raise InputError("solver", solver, f"use one of {', '.join(repr(n) for n in SOLVERS)}, or Auto(), "
                                       "Dop853(), Dopri5(), Rodas4()")


#: a Hessian costs about this many gradient evaluations per parameter (d Hessian-vector products,
#: each a forward and a backward pass; measured 0.5 to 3.4 gradients each, from one member, where
#: call overheads dominate, to 1000 at once)
HESSIAN_GRADS = 1.0
#: the evidence needed for switching to Rodas4 doubles each time a member returns, up to this factor
MAX_BACKOFF = 16


class _Switching:
    """Per-member state of an ``Auto`` solve: which solver, and the counts towards a switch."""

    def __init__(self, auto: Auto, E: int, d: int) -> None:
        self.auto = auto
        self.mode = np.zeros(E, dtype=np.int8)          # 0: explicit, 1: Rodas4
        self.count = np.zeros(E, dtype=np.int64)        # verdicts towards a switch
        self.calm = np.zeros(E, dtype=np.int64)         # explicit: non-stiff steps since the last stiff one
        # power-iteration start: the same fixed direction for every member (members stay independent)
        start = 1.0 + 0.5 * np.sin(np.arange(1, d + 1) * 1.7)
        self.probe = np.tile(start / np.linalg.norm(start), (E, 1))
        self.switches = np.zeros(E, dtype=np.int64)
        self.stiff_steps = np.zeros(E, dtype=np.int64)
        self.boundary = auto.explicit.stability_boundary
        self.backoff = np.ones(E, dtype=np.int64)
        # work per step in gradient evaluations: the explicit pair's stages against Rodas4's six
        # gradients and a Hessian
        self.ratio = max(1.0, (6 + HESSIAN_GRADS * d) / auto.explicit.n_stages)

    def attempt(self, landscape: Any, idx: Array, theta: Array, grad: Array, h: Array, rtol: float,
                atol: float) -> tuple[_Step, Array]:
        """One step of every member in idx with its own solver; the merged step and the error exponents."""
        ex, st = self.auto.explicit, self.auto.stiff
        stiff = self.mode[idx] == 1
        if not stiff.any():
            return ex.attempt(landscape, theta, grad, h, rtol, atol), np.full(len(idx), ex.error_exponent)
        if stiff.all():
            step = st.attempt(landscape, theta, grad, h, rtol, atol, probe=self.probe[idx])
            if step.probe is not None:
                self.probe[idx] = step.probe
            return step, np.full(len(idx), st.error_exponent)
        parts = []
        for sel, solver in ((~stiff, ex), (stiff, st)):
            if isinstance(solver, Rodas4):
                part = solver.attempt(landscape, theta[sel], grad[sel], h[sel], rtol, atol,
                                      probe=self.probe[idx[sel]])
                if part.probe is not None:
                    self.probe[idx[sel]] = part.probe
            else:
                part = solver.attempt(landscape, theta[sel], grad[sel], h[sel], rtol, atol)
            parts.append((sel, part))
        m, d = theta.shape
        out = {"theta": np.empty((m, d)), "loss": np.empty(m), "grad": np.empty((m, d)), "err": np.empty(m),
               "stiffness": np.full(m, np.nan), "n_grad": np.empty(m, dtype=np.int64),
               "n_hess": np.empty(m, dtype=np.int64)}
        for sel, part in parts:
            for key in ("theta", "loss", "grad", "err", "n_grad", "n_hess"):
                out[key][sel] = getattr(part, key)
            if part.stiffness is not None:
                out["stiffness"][sel] = part.stiffness
        expo = np.where(stiff, st.error_exponent, ex.error_exponent)
        return _Step(out["theta"], out["loss"], out["grad"], out["err"], out["n_grad"], out["n_hess"],
                     out["stiffness"]), expo

    def update(self, acc: Array, stiffness: Array | None, h_used: Array, h_next: Array, left: Array) -> None:
        """After accepted steps of the members ``acc`` (``left``: flow time to the horizon):
        count the verdicts, switch where due."""
        if stiffness is None:
            return
        mode = self.mode[acc]
        self.stiff_steps[acc] += mode == 1
        with np.errstate(all="ignore"):
            hr = np.where(np.isfinite(stiffness), stiffness, np.inf)
            # explicit (Hairer): a stiff verdict counts; 6 calm steps in a row reset the count
            ex = mode == 0
            over = hr > self.boundary
            count, calm = self.count[acc], self.calm[acc]
            count = np.where(ex & over, count + 1, count)
            calm = np.where(ex & over, 0, np.where(ex, calm + 1, calm))
            count = np.where(ex & (calm >= 6), 0, count)
            # Rodas4: the next step h_next is within reach of a stable explicit step of the same
            # cost (h rho <= nonstiff_factor x boundary x cost ratio), on consecutive steps
            rho = hr / np.where(h_used > 0, h_used, np.inf)
            calm_stiff = (mode == 1) & (rho * h_next <= self.auto.nonstiff_factor * self.boundary * self.ratio)
            count = np.where(mode == 1, np.where(calm_stiff, count + 1, 0), count)
        # to Rodas4 only if at least `ahead` explicit steps of this size remain (else it cannot pay)
        ahead = left >= self.auto.ahead * h_next
        flip = np.where(ex, (count >= self.auto.to_stiff * self.backoff[acc]) & ahead, count >= self.auto.to_explicit)
        self.count[acc], self.calm[acc] = np.where(flip, 0, count), np.where(flip, 0, calm)
        if flip.any():
            who = acc[flip]
            back = who[self.mode[who] == 1]
            # a member that returns to the explicit pair needs twice the evidence next time
            self.backoff[back] = np.minimum(2 * self.backoff[back], MAX_BACKOFF)
            self.mode[who] = 1 - self.mode[who]
            self.switches[who] += 1

    def to_stiff(self, who: Array) -> None:
        """Members whose stiffness test (in the compiled loop) asks for Rodas4."""
        if who.size:
            self.mode[who] = 1
            self.count[who] = 0
            self.calm[who] = 0
            self.switches[who] += 1

    def extra(self, e: int) -> dict[str, Any]:
        names = (self.auto.explicit.name, self.auto.stiff.name)
        return {"solver": self.auto.name, "last_solver": names[int(self.mode[e])],
                "switches": int(self.switches[e]), "stiff_steps": int(self.stiff_steps[e])}


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


def _checkpoint_times(checkpoints: Any, t1: float) -> Array:
    """The checkpoint times in (0, t1] from a count or from given times (t1 added when missing)."""
    if isinstance(checkpoints, bool):
        raise InputError("checkpoints", checkpoints, "give a positive integer or increasing times in (0, t1]")
    if isinstance(checkpoints, (int, np.integer)):
        return checkpoint_times(0.0, t1, check_checkpoints(int(checkpoints)))
    try:
        times = np.array(checkpoints, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise InputError("checkpoints", checkpoints, "give a positive integer or increasing times in (0, t1]") from None
    if times.size > MAX_CHECKPOINTS:
        raise InputError("checkpoints", f"{times.size} times", f"give at most {MAX_CHECKPOINTS}")
    if times.size == 0 or not np.all(np.isfinite(times)) or np.any(times <= 0) or np.any(times > t1) \
            or np.any(np.diff(times) <= 0):
        raise InputError("checkpoints", f"{times.size} times", f"give increasing times in (0, t1 = {t1:g}]")
    return times if times[-1] == t1 else np.append(times, t1)


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


# outcomes of the compiled adaptive loop (verify.landscapes.compiled_nb.explicit_advance)
_ADV_LANDED, _ADV_STOPPED, _ADV_BUDGET, _ADV_UNDERFLOW, _ADV_STIFF = 0, 1, 2, 3, 5


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


def solve_flow(landscape: Any, theta0: Any, *, t1: float, solver: Solver | Auto | str = "auto",
               control: StepControl | None = None, events: Events | None = None, checkpoints: int | Any = 32,
               progress: Callable[[float], None] | None = None,
               until: Callable[[int, Trajectory], bool] | None = None,
               max_seconds: float | None = None) -> FlowResult:
    """Follow the gradient flow theta' = -grad L(theta) of every member up to flow time t1.

    Parameters
    ----------
    landscape
        A float64 landscape (``NpLandscape`` or any object with ``n_params``,
        ``loss_and_grad(theta)``, ``grad(theta)`` and, for ``Rodas4`` and ``Auto``,
        ``hessian(theta)``, all taking theta of shape (m, d)). An ``NpLandscape`` with compiled
        kernels (``verify.landscapes.compiled``) also runs the explicit pairs' stages and adaptive steps in
        them (under ``Auto`` with Hairer's stiffness test inside the loop).
    theta0 : array_like, shape (E, d) or (d,)
        Initial parameters.
    t1 : float, keyword-only
        The horizon.
    solver : Auto, Solver or str, keyword-only
        ``"auto"`` (default: ``Auto()``, per-member switching between ``Dop853`` and
        ``Rodas4`` where the flow turns stiff and back), ``Dop853()``, ``Dopri5()`` or
        ``Rodas4()`` (stiff), or one of the names in ``SOLVERS``.
    control : StepControl, keyword-only
        Tolerances, first step, step budget (per member).
    events : Events, keyword-only
        Stationary / diverged / loss-below levels.
    checkpoints : int or array_like, keyword-only
        Number of log-spaced checkpoint times in (0, t1], or the times themselves
        (increasing, in (0, t1]; t1 is added when missing); states are recorded there exactly
        (steps are shortened to land on them), plus the initial state at t = 0.
    progress : callable, keyword-only
        Called with the fraction done (in log time, averaged over members) at most about
        twice a second.
    until : callable(e, trajectory) -> bool, keyword-only
        Called for member e each time it lands on a checkpoint before t1, with its
        trajectory so far (status ``stopped`` as a placeholder); returning True stops
        the member there with status ``stopped``. ``follow_flow`` uses it to stop a flow
        once its outcome is decided.
    max_seconds : float or None, keyword-only
        Wall-time budget of the call: members still running when it is spent stop with
        status ``out_of_time`` (their last state recorded).

    Returns
    -------
    FlowResult
        One ``Trajectory`` per member: status, message, final state, checkpoints and costs.
        Under ``Auto`` each member's ``extra`` holds ``solver``, ``last_solver`` (the one in
        use at the end), ``switches`` and ``stiff_steps`` (accepted Rodas4 steps).
    """
    solver = _solver_from(solver)
    control = StepControl() if control is None else control
    events = Events() if events is None else events
    if isinstance(t1, bool) or not isinstance(t1, (int, float)) or not t1 > 0 or not np.isfinite(t1):
        raise InputError("t1", t1, "must be a positive, finite flow time")
    if max_seconds is not None and (isinstance(max_seconds, bool) or not isinstance(max_seconds, (int, float))
                                    or not max_seconds > 0):
        raise InputError("max_seconds", max_seconds, "must be a positive number of seconds, or None")
    if until is not None and not callable(until):
        raise InputError("until", until, "give a function until(member, trajectory) -> bool, or None")
    ck_times = _checkpoint_times(checkpoints, float(t1))
    theta = np.array(theta0, dtype=np.float64, copy=True)
    single = theta.ndim == 1
    if single:
        theta = theta[None, :]
    d = landscape.n_params
    if theta.ndim != 2 or theta.shape[1] != d:
        raise InputError("theta0", f"array of shape {np.shape(theta0)}", f"give shape (E, {d}) or ({d},)")
    t_start = time.perf_counter()
    E = theta.shape[0]
    switching = _Switching(solver, E, d) if isinstance(solver, Auto) else None
    rtol, atol = control.rtol, control.atol
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

    def member(e: int) -> Trajectory:
        """Member e as it stands (status ``stopped`` while it is still running)."""
        k = int(n_rec[e])
        code = Status.STOPPED if status[e] == _ACTIVE else _STATUS_CODES[int(status[e])]
        message = MESSAGES[code]
        if code in (Status.MAX_STEPS, Status.OUT_OF_TIME, Status.STOPPED):
            message += f" ({int(steps[e])} accepted, {int(rejected[e])} rejected steps, reached t = {t[e]:.6g})"
        return Trajectory(
            status=code, message=message, t=float(t[e]), loss=float(loss[e]),
            theta_norm=float(np.linalg.norm(theta[e])), grad_norm=float(np.linalg.norm(grad[e])),
            # plain Python floats by tolist() (the same values, many times faster than float() per entry)
            theta=tuple(theta[e].tolist()),
            checkpoints=Checkpoints(*(tuple(rec[key][e, :k].tolist())
                                      for key in ("t", "loss", "theta_norm", "grad_norm"))),
            costs=Costs(int(steps[e]), int(rejected[e]), int(n_grad[e]), int(n_hess[e])), tier="np",
            extra={} if switching is None else switching.extra(e))

    def after_moves(moved: Array, hit: Array) -> None:
        """Record the members that reached a checkpoint, check events, ask ``until`` at the
        checkpoints, and record the members that stopped elsewhere."""
        if hit.size:
            record(hit)
            ck_ptr[hit] += 1
        check_events(moved)
        if until is not None and hit.size:
            for e in hit[status[hit] == _ACTIVE]:
                if until(int(e), member(int(e))):
                    status[e] = _STATUS_CODES.index(Status.STOPPED)
        stopped = moved[(status[moved] != _ACTIVE)]
        stopped = stopped[~np.isin(stopped, hit)]
        if stopped.size:
            record(stopped)

    def report_progress(last: float) -> float:
        """Report the mean fraction of log flow time done, at most every half second."""
        if progress is None or time.perf_counter() - last <= 0.5:
            return last
        done = np.where(status == _ACTIVE, np.log1p(t) / log_t1, 1.0)
        progress(float(np.mean(done)))
        return time.perf_counter()

    def step_members(idx: Array) -> None:
        """One attempted step of the numpy solver (or of Auto's Rodas4) for the members ``idx``."""
        budget = (steps[idx] + rejected[idx]) >= control.max_steps
        if np.any(budget):
            status[idx[budget]] = _STATUS_CODES.index(Status.MAX_STEPS)
            idx = idx[~budget]
            if idx.size == 0:
                return
        target = ck_times[np.minimum(ck_ptr[idx], len(ck_times) - 1)]
        hi = np.minimum(h[idx], target - t[idx])
        lands = hi >= target - t[idx]  # this step ends exactly on the next checkpoint
        underflow = hi <= 1e-14 * np.maximum(1.0, np.abs(t[idx]))
        if np.any(underflow):
            status[idx[underflow]] = _STATUS_CODES.index(Status.STEP_UNDERFLOW)
            keep = ~underflow
            idx, hi, lands = idx[keep], hi[keep], lands[keep]
            if idx.size == 0:
                return
        with np.errstate(all="ignore"):
            if switching is None:
                assert isinstance(solver, Solver)
                st = solver.attempt(landscape, theta[idx], grad[idx], hi, rtol, atol)
                expo: Any = solver.error_exponent
            else:
                st, expo = switching.attempt(landscape, idx, theta[idx], grad[idx], hi, rtol, atol)
        n_grad[idx] += st.n_grad
        n_hess[idx] += st.n_hess
        err = np.where(np.isfinite(st.err), st.err, np.inf)
        ok = err <= 1.0
        with np.errstate(all="ignore"):
            factor = np.where(err == 0, MAX_FACTOR,
                              np.clip(SAFETY * err ** (-1.0 / expo), MIN_FACTOR, MAX_FACTOR))
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
            if switching is not None:
                switching.update(acc, None if st.stiffness is None else st.stiffness[ok], hi[ok], h[acc],
                                 float(t1) - t[acc])
            after_moves(acc, acc[landed])

    all_idx = np.arange(E)
    record(all_idx)
    check_events(all_idx)
    with np.errstate(all="ignore"):
        h = _initial_step(landscape, theta, grad, solver.error_exponent, rtol, atol, float(t1)) \
            if control.h0 is None else np.full(E, float(control.h0))
    n_grad += 1 if control.h0 is None else 0
    last_report = time.perf_counter()
    log_t1 = np.log1p(float(t1))
    # the compiled adaptive loop of the explicit pair (a fixed pair, or Auto's members on it: then with
    # Hairer's test inside the loop, which hands a member over to Rodas4 with the outcome _ADV_STIFF)
    advance = _compiled_advance(landscape, solver.explicit if isinstance(solver, Auto) else solver)
    while True:
        idx = np.flatnonzero(status == _ACTIVE)
        if idx.size == 0:
            break
        if max_seconds is not None and time.perf_counter() - t_start > max_seconds:
            status[idx] = _STATUS_CODES.index(Status.OUT_OF_TIME)
            record(idx)
            break
        if advance is not None:
            ex = idx if switching is None else idx[switching.mode[idx] == 0]
            if ex.size:
                target = ck_times[np.minimum(ck_ptr[ex], len(ck_times) - 1)]
                stiff_args = None if switching is None else (
                    switching.count, switching.calm, switching.auto.to_stiff * switching.backoff,
                    (switching.boundary, float(t1), switching.auto.ahead))
                outcome = advance(ex, theta, grad, loss, t, h, target, steps, rejected, n_grad,
                                  (rtol, atol, SAFETY, MIN_FACTOR, MAX_FACTOR, control.max_steps),
                                  (events.gtol, events.radius,
                                   np.nan if events.loss_below is None else events.loss_below), 64, stiff_args)
                status[ex[outcome == _ADV_BUDGET]] = _STATUS_CODES.index(Status.MAX_STEPS)
                status[ex[outcome == _ADV_UNDERFLOW]] = _STATUS_CODES.index(Status.STEP_UNDERFLOW)
                if switching is not None:
                    switching.to_stiff(ex[outcome == _ADV_STIFF])
                moved = ex[(outcome == _ADV_LANDED) | (outcome == _ADV_STOPPED) | (outcome == _ADV_STIFF)]
                after_moves(moved, moved[t[moved] == ck_times[np.minimum(ck_ptr[moved], len(ck_times) - 1)]])
            last_report = report_progress(last_report)
            if switching is None:
                continue
            idx = idx[(status[idx] == _ACTIVE) & (switching.mode[idx] == 1)]     # Auto's members on Rodas4
            if idx.size == 0:
                continue
        if switching is None:
            step_members(idx)
        else:
            for _burst in range(STIFF_BURST):
                step_members(idx)
                idx = idx[(status[idx] == _ACTIVE) & (switching.mode[idx] == 1)]
                if idx.size == 0:
                    break
        last_report = report_progress(last_report)
    if progress is not None:
        progress(1.0)
    wall = time.perf_counter() - t_start
    members = [member(e) for e in range(E)]
    return FlowResult(tuple(members), solver.name, control, events, float(t1), wall)
