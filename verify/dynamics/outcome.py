r"""Where did a trajectory go: to a critical point (of which kind), off to infinity, onto a cycle.

``classify`` reads one :class:`~verify.dynamics.trajectory.Trajectory` (a gradient flow from
``solve_flow`` / ``solve_flow_mp`` or a descent run from ``run_descent``) together with the
landscape it was computed with, and returns an :class:`Outcome`: ``converged`` (with the
Newton-refined limit and its Hessian spectrum), ``diverging`` (with growth fits, an
extrapolated limit loss and the criticality |theta| |grad L|), ``periodic`` (gradient descent
only) or ``undecided`` (with what would decide it).

The verdicts are evidence from one finite run at one precision, not proofs. In particular a
flow is called ``diverging`` on the signature that Theorem 2.8 of Kranz-Gallon-Dereich-Jentzen
(arXiv 2505.09572) predicts for case (b): |theta| grows monotonically, the loss falls and
|theta| |grad L| falls. Divergence can be extremely slow and is never seen as a blow-up.

Tolerances
----------
All defaults derive from the precision of the tier: eps = 2^-52 in float64 (``np``),
eps = 10^-dps in the ``mp`` tier (``dps`` of the landscape; the arithmetic runs in the
landscape's own context, with its guard digits).

``zero_tol`` (default sqrt(eps))
    A Hessian eigenvalue lambda is numerically zero when
    |lambda| <= zero_tol * max(1, max_i |lambda_i|). Newton's method does not step along such
    directions (pseudo-inverse), and they are counted in ``null_dim``.
``newton_tol`` (default eps^(3/4))
    Newton's iterate is accepted as a critical point when
    |grad L| <= newton_tol * max(1, max_i |lambda_i|) * max(1, |theta|). Newton keeps
    polishing past it until the gradient stops falling (at most ``NEWTON_MAX_ITER`` steps).
``DIST_REL`` (1e-3)
    The Newton limit must lie within DIST_REL * max(1, |theta_T|) of the final state theta_T.
``eps^(1/4)`` (settling)
    At the horizon, |theta| is settled when its relative change over the last
    ``SETTLE_WINDOW`` checkpoints is at most eps^(1/4).

Rules
-----
converged
    The trajectory stopped ``stationary`` (|grad L| <= gtol), or reached its horizon
    (``t1_reached`` / ``loss_below``) with |theta| settled; Newton's method on grad L = 0 from
    the final state (least squares where the Hessian is singular) converges within
    DIST_REL; and the late checkpoints do not show the growth signature below (if they do,
    the verdict is ``undecided``: conflicting evidence). The Hessian at the limit gives the
    kind: ``minimum`` when no eigenvalue is below -tol (``null_dim`` counts the flat
    directions: critical sets of networks are often not isolated), except that a minimum
    with flat directions is reported ``degenerate`` when probing +-h along a flat
    eigenvector (h = eps^(1/4) max(1, |theta*|)) finds a lower loss; ``saddle`` (with
    ``index`` = number of negative eigenvalues) when there are eigenvalues below -tol and
    above +tol; ``maximum`` when all are below -tol; ``degenerate`` when some are below -tol,
    some are zero and none is positive. For gradient descent a fixed point found by
    ``find_cycle`` (period 1) is a critical point and goes the same way.
diverging
    The trajectory stopped ``diverged`` (|theta| reached the divergence radius or a value
    overflowed); or, at the horizon (or stopped ``stationary`` at a point Newton does not
    confirm), its *tail* shows the growth signature. The tail is the checkpoints of the last
    decade of flow time (t >= t_end / ``TAIL_SPAN``), at least ``TAIL_POINTS`` of them where
    recorded (the signature needs ``MIN_WINDOW``), so that a transient before it (a dip of
    |theta|, a plateau left behind) does not count. The signature: |theta| strictly
    increasing, the loss strictly decreasing (above its rounding level), |theta| |grad L|
    falling (a negative least-squares slope of its logarithm against ln t, and lower at the end
    than at the start of the tail), and the growth past its initial ballistic phase: the
    exponent gamma of d|theta| / d(ln t) ~ t^gamma lies in ``GROWTH_EXPONENT`` = [-0.25, 0.75]
    (log growth has gamma = 0, growth like t^p has gamma = p; a gradient flow with
    |theta| |grad L| -> 0 grows like o(t^(1/2)); a flow that has barely started moves
    linearly, gamma = 1; convergence like t^-q has gamma = -q), on the whole tail and on its
    second half, with the two halves within ``GAMMA_DRIFT`` of each other (an exponential
    approach to a far critical point sweeps gamma from 1 to large negative values within a
    decade). It is not ``diverging`` when the run also meets the rule for ``converged``
    (``undecided``, conflicting evidence; a gradient below Newton's tolerance at a state where
    |theta| has not settled does not count, as along a flat escape direction the gradient is
    tiny, not zero), when Newton's method from the final state reaches a critical point and
    lowers |grad L| below ``NEWTON_GAIN`` times its value there (the flow may be settling), or
    when |grad L| falls faster than t^-(1 + ``PATH_MARGIN``) on the tail: as |theta'| =
    |grad L| along a gradient flow, the path left is then finite and the flow converges (a log
    growth has |grad L| ~ 1/t, a growth like t^p has |grad L| ~ t^(p - 1)). Reported:
    ``growth``, least-squares fits over the tail of |theta| = a + b ln t (linear in ln t) and
    |theta| = c t^p (linear in ln |theta| against ln t), their RMS residuals in |theta| and
    which is smaller, and gamma on the tail and its halves; ``loss_fit`` (see ``_loss_fit``),
    the loss's approach fitted by L_inf + C t^-alpha and by L_inf + C e^(-lambda t), the
    better of the two with ``loss_limit`` = L_inf and ``loss_limit_error`` its error bar (None,
    with the reason saying why, when the loss decays slower than any power);
    ``criticality``, |theta| |grad L| on the tail, and ``criticality_exponent`` its slope.
periodic
    ``kind="descent"``: ``find_cycle`` on ``trajectory.extra["last"]`` at
    ``extra["step_size"]`` finds an orbit of period >= 2: its refined points (``orbit``),
    its multipliers and stability.
undecided
    Anything else: ``max_steps`` and ``step_underflow`` runs, horizons too short to show
    either signature, precision exhausted (|theta| still grows while the loss has stopped
    changing at the resolution of the tier), conflicting evidence. The reason says what was
    seen and what to change.

Evidence that decides nothing
-----------------------------
path left (``Outcome.path_left``)
    Where the landscape declares a floor of its loss (``loss_floor``: 0 for the network
    landscapes, whose loss is a mean of squares; formula landscapes declare none) and, at a
    state where Newton's method finds a critical point, the loss's excess over the floor
    falls like t^-alpha with alpha > 1 + ``PATH_MARGIN`` on the tail (and on both its halves),
    the reason and ``path_left`` give sqrt(T (L(T) - floor)) / (1 - 2^((1 - alpha) / 2)): by
    Cauchy-Schwarz the most a gradient flow can still move if the loss keeps falling at that
    rate. Slow approaches to degenerate minima show it; so do flows resting on one step of a
    staircase before the next (the loss falls by plateaus while |theta| jumps between them),
    and a flow whose loss decays like that for a while may still leave. So the bound is
    reported, never used to decide: a ``converged`` verdict still needs |theta| settled
    (above), and ``follow_flow`` the same point on two classifications.

References
----------
K. Kurdyka, P. Orro, S. Simon, "Semialgebraic Sard theorem for generalized critical values",
J. Differential Geom. 56 (2000) (asymptotic critical values).
S. Kranz, D. Gallon, S. Dereich, A. Jentzen, "SAD neural networks", arXiv 2505.09572,
Theorem 2.8.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from itertools import pairwise
from typing import Any, Literal, Sequence

import mpmath
import numpy as np

from ..errors import InputError
from .trajectory import Status, Trajectory

__all__ = ["Outcome", "classify", "KINDS", "POINT_KINDS"]

KINDS = ("converged", "diverging", "periodic", "undecided")
POINT_KINDS = ("minimum", "saddle", "maximum", "degenerate")

#: the Newton limit must lie within this * max(1, |theta_T|) of the final state
DIST_REL = 1e-3
#: Newton iterations at most
NEWTON_MAX_ITER = 60
#: the tail: the checkpoints with t >= t_end / TAIL_SPAN (the last decade), at least TAIL_POINTS of them
#: (where recorded); the signature needs at least MIN_WINDOW
TAIL_SPAN = 10.0
TAIL_POINTS = 6
MIN_WINDOW = 4
#: the exponent gamma of d|theta|/d(ln t) ~ t^gamma that counts as growth past the initial phase
GROWTH_EXPONENT = (-0.25, 0.75)
#: gamma on the first and on the second half of the tail may differ by at most this much
GAMMA_DRIFT = 0.5
#: checkpoints over which |theta| must have settled at the horizon
SETTLE_WINDOW = 3
#: the loss fit is not trusted below this power-law rate (slower than any power: no limit)
MIN_RATE = 0.02
#: the error bar of an extrapolated limit is at least this fraction of the distance extrapolated
EXTRAPOLATION_TRUST = 0.1
#: the loss is fitted on the tail, or on the last LOSS_POINTS checkpoints where the tail has fewer
LOSS_POINTS = 8
#: the error bar of the loss limit covers this many times the drift of the estimate across windows
DRIFT_FACTOR = 4.0
#: a tail on which |grad L| ~ t^-p with p > 1 + PATH_MARGIN has a finite path left: it is not diverging
PATH_MARGIN = 0.1
#: a diverging tail conflicts with a Newton limit that lowers |grad L| below this fraction of its value
NEWTON_GAIN = 1e-3
#: at most this many flat eigenvectors are probed for a lower loss
MAX_PROBES = 16


# ---------------------------------------------------------------------------------------
# The result
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    """Where one trajectory went, with the evidence.

    Attributes
    ----------
    kind : {"converged", "diverging", "periodic", "undecided"}
    reason : str
        What was seen; for ``undecided`` also what would decide it.
    limit : tuple or None
        converged: the Newton-refined critical point (floats, or mpf in the mp tier).
    limit_grad_norm, limit_loss
        |grad L| and L there.
    point_kind : {"minimum", "saddle", "maximum", "degenerate"} or None
    index : int or None
        Number of Hessian eigenvalues below -tol.
    null_dim : int or None
        Number of numerically zero Hessian eigenvalues.
    eigenvalues : tuple or None
        Hessian eigenvalues at the limit, ascending.
    growth : dict or None
        diverging: fits of |theta| against ln t and against t^p (see the module notes).
    loss_limit, loss_limit_error
        diverging: extrapolated limit of the loss and its error bar (spread of estimates).
    criticality : tuple or None
        diverging: |theta| |grad L| at the late checkpoints.
    period : int or None
        periodic: the minimal period of the GD orbit.
    multipliers : tuple of complex or None
        periodic: eigenvalues of the monodromy DG(theta_{k-1}) ... DG(theta_0).
    stable : bool or None
        periodic: linear stability of the orbit.
    loss_fit : dict or None
        diverging: the loss's approach to its limit fitted on the tail, L = L_inf + C t^-alpha
        (``power``) or L_inf + C e^(-lambda t) (``exponential``), the model with the smaller
        residual: ``model``, ``limit``, ``error`` (leave-one-out spread), ``rate``,
        ``rms_residual`` and the other model's figures (``alternative``).
    criticality_exponent : float or None
        diverging: kappa of |theta| |grad L| ~ t^kappa on the tail (negative: falling).
    orbit : tuple or None
        periodic: the refined points theta_0, ..., theta_{k-1} of the cycle.
    path_left : optional
        converged and undecided flows whose loss falls to its floor (the landscape's
        ``loss_floor``: 0 for networks) faster than 1/t on the tail: the most the flow can
        still move *if the loss keeps that rate* (see ``_path_left``). An extrapolation
        reported as evidence, never used to decide; None where the rule does not apply.
    escape_radius : optional
        Reserved for the certified tier: a radius R such that L(theta(t)) < l(R), a
        certified lower bound of L on the ball |theta| <= R, so the flow has left that ball
        for good. None where not computed.
    """

    kind: Literal["converged", "diverging", "periodic", "undecided"]
    reason: str
    limit: tuple | None = None
    limit_grad_norm: Any = None
    limit_loss: Any = None
    point_kind: str | None = None
    index: int | None = None
    null_dim: int | None = None
    eigenvalues: tuple | None = None
    growth: dict | None = None
    loss_limit: Any = None
    loss_limit_error: Any = None
    criticality: tuple | None = None
    period: int | None = None
    multipliers: tuple | None = None
    stable: bool | None = None
    loss_fit: dict | None = None
    criticality_exponent: float | None = None
    orbit: tuple | None = None
    path_left: Any = None
    escape_radius: Any = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InputError("kind", self.kind, f"use one of {', '.join(KINDS)}")
        if self.point_kind is not None and self.point_kind not in POINT_KINDS:
            raise InputError("point_kind", self.point_kind, f"use one of {', '.join(POINT_KINDS)} or None")

    def to_json(self) -> dict:
        """A JSON-ready dict: mpf as decimal strings (all their digits), complex as
        ``{"re": ..., "im": ...}``, non-finite floats as strings ("inf", "nan")."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}


def _jsonable(x: Any) -> Any:
    if x is None or isinstance(x, (bool, str)):
        return x
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        v = float(x)
        return v if math.isfinite(v) else str(v)
    if hasattr(x, "_mpf_"):
        return str(x)
    if hasattr(x, "_mpc_"):
        return {"re": str(x.real), "im": str(x.imag)}
    if isinstance(x, (complex, np.complexfloating)):
        return {"re": _jsonable(float(x.real)), "im": _jsonable(float(x.imag))}
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in x]
    return str(x)


def _fmt(x: Any, digits: int = 4) -> str:
    """A short decimal for reasons."""
    if x is None:
        return "n/a"
    if hasattr(x, "_mpf_"):
        return mpmath.nstr(mpmath.mpf(x), digits) if x != 0 else "0"
    return f"{float(x):.{digits}g}"


# ---------------------------------------------------------------------------------------
# Arithmetic of the two tiers
# ---------------------------------------------------------------------------------------

class _NpOps:
    """float64: vectors are arrays of shape (d,), numbers floats."""

    tier = "np"

    def __init__(self, landscape: Any) -> None:
        self.land = landscape
        self.eps = float(np.finfo(np.float64).eps)
        self.digits = 15

    def num(self, x: Any) -> float:
        return float(x)

    def vec(self, theta: Sequence[Any]) -> np.ndarray:
        return np.array([float(v) for v in theta], dtype=np.float64)

    def tup(self, v: np.ndarray) -> tuple:
        return tuple(float(a) for a in v)

    def root(self, k: float) -> float:
        return self.eps ** (1.0 / k)

    def loss(self, v: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            return float(np.asarray(self.land.loss(v)).reshape(()))

    def grad(self, v: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.asarray(self.land.grad(v), dtype=np.float64).reshape(-1)

    def eig(self, v: np.ndarray) -> tuple[list[float], list[np.ndarray]] | None:
        with np.errstate(all="ignore"):
            H = np.asarray(self.land.hessian(v), dtype=np.float64).reshape(v.size, v.size)
        if not np.all(np.isfinite(H)):
            return None
        lam, Q = np.linalg.eigh(0.5 * (H + H.T))
        return [float(a) for a in lam], [Q[:, i].copy() for i in range(v.size)]

    def norm(self, v: np.ndarray) -> float:
        return float(np.linalg.norm(v))

    def dot(self, a: np.ndarray, b: np.ndarray) -> float:
        return float(a @ b)

    def axpy(self, a: Any, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return y + a * x

    def sub(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a - b

    def zeros(self, d: int) -> np.ndarray:
        return np.zeros(d)

    def finite(self, x: Any) -> bool:
        return bool(np.all(np.isfinite(x)))

    def log(self, x: Any) -> float:
        return math.log(x)


class _MpOps:
    """The landscape's mpmath context: vectors are lists of mpf, numbers mpf."""

    tier = "mp"

    def __init__(self, landscape: Any) -> None:
        self.land = landscape
        self.ctx = landscape.ctx
        self.digits = int(landscape.dps)
        self.eps = self.ctx.mpf(10) ** (-self.digits)

    def num(self, x: Any) -> Any:
        return self.ctx.mpf(x)

    def vec(self, theta: Sequence[Any]) -> list:
        return [self.ctx.mpf(v) for v in theta]

    def tup(self, v: list) -> tuple:
        return tuple(v)

    def root(self, k: float) -> Any:
        return self.ctx.mpf(10) ** (-self.ctx.mpf(self.digits) / k)

    def loss(self, v: list) -> Any:
        return self.ctx.mpf(self.land.loss(v))

    def grad(self, v: list) -> list:
        return [self.ctx.mpf(a) for a in self.land.grad(v)]

    def eig(self, v: list) -> tuple[list, list] | None:
        ctx = self.ctx
        H = self.land.hessian(v)
        d = len(v)
        if not all(ctx.isfinite(H[i][j]) for i in range(d) for j in range(d)):
            return None
        A = ctx.matrix(d, d)
        for i in range(d):
            for j in range(d):
                A[i, j] = (ctx.mpf(H[i][j]) + ctx.mpf(H[j][i])) / 2
        try:
            E, Q = ctx.eigsy(A)
        except (ZeroDivisionError, ValueError, ArithmeticError):  # pragma: no cover - no convergence
            return None
        pairs = sorted(((E[i], [Q[j, i] for j in range(d)]) for i in range(d)), key=lambda p: p[0])
        return [p[0] for p in pairs], [p[1] for p in pairs]

    def norm(self, v: list) -> Any:
        return self.ctx.sqrt(self.ctx.fdot(v, v))

    def dot(self, a: list, b: list) -> Any:
        return self.ctx.fdot(a, b)

    def axpy(self, a: Any, x: list, y: list) -> list:
        return [yi + a * xi for xi, yi in zip(x, y)]

    def sub(self, a: list, b: list) -> list:
        return [x - y for x, y in zip(a, b)]

    def zeros(self, d: int) -> list:
        return [self.ctx.zero] * d

    def finite(self, x: Any) -> bool:
        if isinstance(x, (list, tuple)):
            return all(self.ctx.isfinite(a) for a in x)
        return bool(self.ctx.isfinite(x))

    def log(self, x: Any) -> Any:
        return self.ctx.log(x)


# ---------------------------------------------------------------------------------------
# Newton's method and the Hessian at the limit
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Critical:
    theta: Any
    grad_norm: Any
    distance: Any
    confirmed: bool
    why: str
    eig: tuple[list, list] | None


def _newton(ops: Any, start: Any, *, zero_tol: Any, newton_tol: Any, max_dist: Any) -> _Critical:
    """Newton on grad L = 0 from ``start`` with the pseudo-inverse of the symmetric Hessian."""
    theta = start
    best: tuple[Any, Any, Any] | None = None   # (grad norm, theta, eig)
    why = "Newton's method did not converge"
    polish = 0
    for _ in range(NEWTON_MAX_ITER):
        g = ops.grad(theta)
        gn = ops.norm(g)
        if not (ops.finite(g) and ops.finite(theta)):
            why = "Newton's method met a non-finite gradient"
            break
        eig = ops.eig(theta)
        if eig is None:
            why = "the Hessian is not finite on Newton's path"
            break
        lam, vecs = eig
        if best is None or gn < best[0]:
            best = (gn, theta, eig)
        elif gn > 4 * best[0] and polish:
            break  # rounding level reached: the last step made things worse
        hscale = max(1, max(abs(v) for v in lam))
        tscale = max(1, ops.norm(theta))
        if gn <= newton_tol * hscale * tscale:
            polish += 1
            if polish >= 3 or gn == 0:
                break
        ztol = zero_tol * hscale
        step = ops.zeros(len(lam))
        moved = False
        for lv, q in zip(lam, vecs):
            if abs(lv) > ztol:
                step = ops.axpy(-ops.dot(q, g) / lv, q, step)
                moved = True
        if not moved or ops.norm(step) == 0:
            why = "the gradient lies in the Hessian's null space: Newton cannot move"
            break
        theta = ops.axpy(1, step, theta)
        if ops.norm(ops.sub(theta, start)) > max_dist:
            why = (f"Newton's method left the ball of radius {_fmt(max_dist)} around the final state "
                   "(no critical point close by)")
            break
    if best is None:
        return _Critical(start, None, None, False, why, None)
    gn, theta, eig = best
    lam = eig[0]
    hscale = max(1, max(abs(v) for v in lam))
    tscale = max(1, ops.norm(theta))
    dist = ops.norm(ops.sub(theta, start))
    ok = gn <= newton_tol * hscale * tscale and dist <= max_dist
    if ok:
        why = f"Newton's method converged to |grad L| = {_fmt(gn)} at distance {_fmt(dist)}"
    elif gn <= newton_tol * hscale * tscale:
        why = f"Newton's method converged, but at distance {_fmt(dist)} > {_fmt(max_dist)}"
    return _Critical(theta, gn, dist, ok, why, eig)


def _kind_of_point(ops: Any, crit: _Critical, zero_tol: Any) -> tuple[str, int, int, str]:
    """(point_kind, index, null_dim, note) from the Hessian spectrum at the critical point."""
    assert crit.eig is not None
    lam, vecs = crit.eig
    tol = zero_tol * max(1, max(abs(v) for v in lam))
    neg = sum(1 for v in lam if v < -tol)
    pos = sum(1 for v in lam if v > tol)
    null = len(lam) - neg - pos
    if neg and pos:
        return "saddle", neg, null, ""
    if neg:
        return ("maximum", neg, null, "") if null == 0 else ("degenerate", neg, null, "")
    if null == 0:
        return "minimum", 0, 0, ""
    # no negative eigenvalue, some flat directions: probe them for a lower loss
    theta = crit.theta
    L0 = ops.loss(theta)
    h = ops.root(4) * max(1, ops.norm(theta))
    flat = [q for v, q in zip(lam, vecs) if abs(v) <= tol][:MAX_PROBES]
    values = []
    for q in flat:
        for s in (h, -h):
            values.append(ops.loss(ops.axpy(s, q, theta)))
    values = [v for v in values if ops.finite(v)]
    if values:
        level = 64 * ops.eps * max(abs(L0), max(abs(v) for v in values))
        lower = min(values)
        if lower < L0 - level:
            return "degenerate", 0, null, (f"; along a flat direction the loss falls to {_fmt(lower)} "
                                           f"< {_fmt(L0)} at distance {_fmt(h)}: not a minimum")
    return "minimum", 0, null, (f"; {null} flat direction(s), no lower loss found at distance {_fmt(h)} "
                                "along them")


# ---------------------------------------------------------------------------------------
# Reading the checkpoints
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Late:
    """The late checkpoints (t > 0, finite values) in the tier's numbers."""

    t: list
    loss: list
    theta_norm: list
    grad_norm: list


def _late(ops: Any, traj: Trajectory) -> _Late:
    ck = traj.checkpoints
    rows: list[list[Any]] = []
    for t, L, tn, gn in zip(ck.t, ck.loss, ck.theta_norm, ck.grad_norm):
        vals = [ops.num(t), ops.num(L), ops.num(tn), ops.num(gn)]
        if all(ops.finite(v) for v in vals) and vals[0] > 0:
            if rows and not vals[0] > rows[-1][0]:
                continue
            rows.append(vals)
    cols = list(zip(*rows)) if rows else [(), (), (), ()]
    return _Late(*(list(c) for c in cols))


def _lstsq_line(x: np.ndarray, y: np.ndarray) -> tuple[float, float, np.ndarray]:
    """y ~ a + b x by least squares: (a, b, residuals y - fit)."""
    A = np.stack([np.ones_like(x), x], axis=1)
    (a, b), *_ = np.linalg.lstsq(A, y, rcond=None)
    return float(a), float(b), y - (a + b * x)


@dataclass(frozen=True)
class _Signature:
    growing: bool          # |theta| strictly increasing over the tail
    loss_falls: bool       # loss strictly decreasing above its rounding level
    loss_flat: bool        # some loss differences at the rounding level
    crit_falls: bool       # |theta||grad L| falling: negative trend and lower at the end
    gamma: float | None    # exponent of d|theta|/d ln t ~ t^gamma over the tail
    n: int                 # checkpoints in the tail
    gamma_early: float | None = None  # gamma on the first half of the tail
    gamma_late: float | None = None   # and on the second half
    crit_slope: float | None = None   # kappa of |theta||grad L| ~ t^kappa
    grad_slope: float | None = None   # -p of |grad L| ~ t^-p

    @property
    def settled_growth(self) -> bool:
        """gamma in GROWTH_EXPONENT, also on the second half, and not drifting across the tail."""
        lo, hi = GROWTH_EXPONENT
        if self.gamma is None or not lo <= self.gamma <= hi:
            return False
        if self.gamma_late is None or self.gamma_early is None:
            return True
        return lo <= self.gamma_late <= hi and abs(self.gamma_late - self.gamma_early) <= GAMMA_DRIFT

    @property
    def finite_length(self) -> bool:
        """|grad L| ~ t^-p with p > 1 + PATH_MARGIN on the tail: for a gradient flow |theta'| =
        |grad L|, so the path left, int_t^inf |grad L|, is finite and the flow converges."""
        return self.grad_slope is not None and self.grad_slope < -(1 + PATH_MARGIN)

    @property
    def diverging(self) -> bool:
        return (self.n >= MIN_WINDOW and self.growing and self.loss_falls and self.crit_falls
                and self.settled_growth and not self.finite_length)


def _tail_size(late: _Late) -> int:
    """Checkpoints in the tail: those with t >= t_end / TAIL_SPAN, at least TAIL_POINTS (if recorded)."""
    if not late.t:
        return 0
    t_end = late.t[-1]
    n = sum(1 for s in late.t if s * TAIL_SPAN >= t_end)
    return min(len(late.t), max(n, TAIL_POINTS))


def _velocity_exponent(ops: Any, t: Sequence[Any], tn: Sequence[Any]) -> float | None:
    """gamma of D = d|theta| / d ln t ~ t^gamma: least squares of ln D against ln t over the
    consecutive differences (None when some difference is not positive)."""
    if len(t) < 3:
        return None
    D = [float((b - a) / ops.log(tb / ta)) for a, b, ta, tb in zip(tn, tn[1:], t, t[1:])]
    tm = [0.5 * float(ops.log(ta) + ops.log(tb)) for ta, tb in pairwise(t)]
    if not all(v > 0 and math.isfinite(v) for v in D):
        return None
    _, gamma, _ = _lstsq_line(np.array(tm), np.log(np.array(D)))
    return gamma


def _signature(ops: Any, late: _Late) -> _Signature:
    n = _tail_size(late)
    if n < 2:
        return _Signature(False, False, False, False, None, n)
    t, L, tn, gn = (late.t[-n:], late.loss[-n:], late.theta_norm[-n:], late.grad_norm[-n:])
    growing = all(b > a for a, b in pairwise(tn))
    level = [8 * ops.eps * max(abs(a), abs(b)) for a, b in pairwise(L)]
    loss_falls = all(a - b > lv for a, b, lv in zip(L, L[1:], level))
    loss_flat = any(abs(a - b) <= lv for a, b, lv in zip(L, L[1:], level))
    crit = [a * b for a, b in zip(tn, gn)]
    crit_slope = None
    if all(c > 0 for c in crit):
        _, crit_slope, _ = _lstsq_line(np.array([float(ops.log(s)) for s in t]),
                                       np.array([float(ops.log(c)) for c in crit]))
    crit_falls = crit_slope is not None and crit_slope < 0 and crit[-1] < crit[0]
    grad_slope = None
    if all(g > 0 for g in gn):
        _, grad_slope, _ = _lstsq_line(np.array([float(ops.log(s)) for s in t]),
                                       np.array([float(ops.log(g)) for g in gn]))
    gamma = gamma_early = gamma_late = None
    if growing and n >= 3:
        gamma = _velocity_exponent(ops, t, tn)
        if n >= 6:
            half = n // 2
            gamma_early = _velocity_exponent(ops, t[:half + 1], tn[:half + 1])
            gamma_late = _velocity_exponent(ops, t[half:], tn[half:])
    return _Signature(growing, loss_falls, loss_flat, crit_falls, gamma, n, gamma_early, gamma_late, crit_slope,
                      grad_slope)


def _growth_fits(ops: Any, late: _Late, n: int | None = None) -> dict | None:
    """Fits of |theta| ~ a + b ln t and |theta| ~ c t^p over the tail (n checkpoints)."""
    m = _tail_size(late) if n is None else n
    m = max(3, m)
    if len(late.t) < 3:
        return None
    t, tn = late.t[-m:], late.theta_norm[-m:]
    ref = tn[0]
    if not ref > 0:
        return None
    x = np.array([float(ops.log(s)) for s in t])
    # offsets computed in the tier's precision, then fitted in float64
    y = np.array([float(v - ref) for v in tn])
    z = np.array([float(ops.log(v / ref)) for v in tn])
    a, b, r_log = _lstsq_line(x, y)
    lc, p, _ = _lstsq_line(x, z)
    zfit = lc + p * x
    r_pow = np.array([float(ref) * math.exp(zk) * math.expm1(zf - zk) for zk, zf in zip(z, zfit)])
    rms_log = float(np.sqrt(np.mean(r_log ** 2)))
    rms_pow = float(np.sqrt(np.mean(r_pow ** 2)))
    return {
        "t_first": float(t[0]), "t_last": float(t[-1]), "n_points": len(t),
        "log": {"a": float(ref) + a, "b": b, "rms_residual": rms_log},
        "power": {"c": float(ref) * math.exp(lc), "p": p, "rms_residual": rms_pow},
        "better": "log" if rms_log <= rms_pow else "power",
    }


def _fit_limit(x_of: Any, t: np.ndarray, d: np.ndarray, rates: np.ndarray) -> tuple[float, float, float, float]:
    """min over the rate r of the RMS residual of d ~ a + C x_of(t, r) (linear least squares in a, C):
    (rms, r, a, C), refined by golden-section search around the best grid rate."""
    def fit(r: float) -> tuple[float, float, float]:
        with np.errstate(all="ignore"):
            x = x_of(t, r)
        if not np.all(np.isfinite(x)):
            return math.inf, math.nan, math.nan
        A = np.stack([np.ones_like(x), x], axis=1)
        sol, *_ = np.linalg.lstsq(A, d, rcond=None)
        res = d - A @ sol
        return float(np.sqrt(np.mean(res * res))), float(sol[0]), float(sol[1])

    vals = [fit(float(r))[0] for r in rates]
    k = int(np.argmin(vals))
    lo, hi = float(rates[max(k - 1, 0)]), float(rates[min(k + 1, len(rates) - 1)])
    g = (math.sqrt(5) - 1) / 2
    a, b = math.log(lo), math.log(hi)
    for _ in range(60):
        c1, c2 = b - g * (b - a), a + g * (b - a)
        if fit(math.exp(c1))[0] <= fit(math.exp(c2))[0]:
            b = c2
        else:
            a = c1
    r = math.exp(0.5 * (a + b))
    rms, a0, c0 = fit(r)
    if vals[k] < rms:
        r = float(rates[k])
        rms, a0, c0 = fit(r)
    return rms, r, a0, c0


def _loss_fit(ops: Any, late: _Late, n: int | None = None) -> tuple[Any, Any, str, dict | None]:
    """(limit, error bar, note, fit) of the loss on the tail: L = L_inf + C t^-alpha or L_inf + C e^(-lambda t).

    Each model is fitted by least squares over the tail (linear in L_inf and C for a fixed
    rate, the rate by a grid and a golden-section search); the model with the smaller RMS
    residual is reported. The error bar is the largest of: the RMS residual, the change of
    L_inf when one checkpoint is left out, and ``DRIFT_FACTOR`` times its change when the
    window loses its first or its last two checkpoints (a limit estimated from a window that
    moves along a flow whose approach is not exactly one power or exponential drifts; if the
    neglected correction decays by a factor r per two checkpoints, the bias left is about
    r / (1 - r) times that drift: 4 covers r <= 0.8, e.g. corrections t^-a with a >= 0.4 at 8
    checkpoints per decade; slower, logarithmic corrections are not covered), and at least
    ``EXTRAPOLATION_TRUST`` = 10% of the distance from the last loss to the limit (an
    extrapolation is not trusted beyond that) and the rounding level of the loss. The values
    enter as offsets from the last loss, computed in the tier's precision.
    """
    m = _tail_size(late) if n is None else n
    m = min(len(late.t), max(m, LOSS_POINTS))
    if m < 4:
        return None, None, "too few checkpoints to fit the loss", None
    t = np.array([float(s) for s in late.t[-m:]])
    Ls = late.loss[-m:]
    base = Ls[-1]
    d = np.array([float(v - base) for v in Ls])
    scale = float(np.max(np.abs(d)))
    if not scale > 0:
        return None, None, "the loss did not change over the tail", None
    d = d / scale
    t0 = t[-1]
    models = {
        "power": (lambda tt, r: (tt / t0) ** (-r), np.geomspace(1e-3, 20.0, 60)),
        "exponential": (lambda tt, r: np.exp(-r * (tt - t0) / t0), np.geomspace(1e-3, 50.0, 60)),
    }
    fits = {}
    for name, (x_of, rates) in models.items():
        rms, rate, a0, _ = _fit_limit(x_of, t, d, rates)
        if not math.isfinite(rms):
            continue
        near = np.array([rate * 0.5, rate, rate * 2.0])
        loo = []
        for k in range(m):
            keep = np.arange(m) != k
            _, _, a_k, _ = _fit_limit(x_of, t[keep], d[keep], near)
            if math.isfinite(a_k):
                loo.append(abs(a_k - a0))
        drift = []
        if m >= 6:
            for sl in (slice(0, m - 2), slice(2, m)):
                _, _, a_s, _ = _fit_limit(x_of, t[sl], d[sl], near)
                if math.isfinite(a_s):
                    drift.append(DRIFT_FACTOR * abs(a_s - a0))
        err = max([rms, *loo, *drift]) * scale
        fits[name] = {"limit_offset": a0 * scale, "error": err, "rate": rate / t0 if name == "exponential"
                      else rate, "rms_residual": rms * scale}
    if not fits:
        return None, None, "no fit of the loss converged", None
    best = min(fits, key=lambda k: fits[k]["rms_residual"])
    f = fits[best]
    floor = max(float(8 * ops.eps * abs(base)), EXTRAPOLATION_TRUST * abs(f["limit_offset"]))
    err = max(f["error"], floor)
    limit = base + ops.num(f["limit_offset"])
    out = {"model": best, "limit": limit, "error": err, "rate": f["rate"], "rms_residual": f["rms_residual"],
           "n_points": m, "t_first": float(t[0]), "t_last": float(t[-1])}
    other = [k for k in fits if k != best]
    if other:
        o = fits[other[0]]
        out["alternative"] = {"model": other[0], "limit": base + ops.num(o["limit_offset"]), "error": o["error"],
                              "rate": o["rate"], "rms_residual": o["rms_residual"]}
    if best == "power" and f["rate"] < MIN_RATE:
        return None, None, (f"the loss decays slower than any power of t over the tail (alpha = {f['rate']:.3g}): "
                            f"no extrapolation (lim L <= {_fmt(Ls[-1])})"), out
    law = (f"{_fmt(limit)} + C t^-{f['rate']:.3g}" if best == "power" else
           f"{_fmt(limit)} + C e^(-{f['rate']:.3g} t)")
    return limit, ops.num(err), f"L ~ {law} fits the last {m} checkpoints best", out


def _criticality(late: _Late, n: int) -> tuple:
    return tuple(a * b for a, b in zip(late.theta_norm[-n:], late.grad_norm[-n:]))


def _path_left(ops: Any, late: _Late, n: int, floor: Any) -> tuple[Any, float] | None:
    """(bound, alpha) where the loss's excess over its floor falls like t^-alpha with alpha > 1 +
    PATH_MARGIN on the tail (alpha: the smallest slope of ln(L - floor) against ln t over the tail and
    its halves, so that a decay that slows down counts at its slower rate); None where the rule does
    not apply (no floor known, too few checkpoints, a slower decay).

    If L(t) - floor <= (L(T) - floor) (t / T)^-alpha for all t >= T, the path left is at most
    sqrt(T (L(T) - floor)) / (1 - 2^((1 - alpha) / 2)): along a gradient flow |theta'| = |grad L| and
    |grad L|^2 = -dL/dt, so by Cauchy-Schwarz the path over [T 2^j, T 2^(j+1)] is at most
    sqrt(T 2^j (L(T 2^j) - floor)), a geometric series for alpha > 1. The premise is an
    extrapolation (a flow that will leave a plateau breaks it), so the bound is evidence only."""
    if floor is None or n < MIN_WINDOW or len(late.t) < n:
        return None
    t, L = late.t[-n:], late.loss[-n:]
    excess = [v - floor for v in L]
    if not all(e > 0 for e in excess):
        return None
    x = np.array([float(ops.log(s)) for s in t])
    y = np.array([float(ops.log(e)) for e in excess])
    spans = [slice(0, n)]
    if n >= 6:
        spans += [slice(0, n // 2 + 1), slice(n // 2, n)]
    alpha = min(-_lstsq_line(x[sp], y[sp])[1] for sp in spans)
    if not alpha > 1 + PATH_MARGIN:
        return None
    bound = ops.num((t[-1] * excess[-1]) ** 0.5 / (1 - 2 ** ((1 - alpha) / 2)))   # in the tier's numbers
    return bound, alpha


def _settled(ops: Any, late: _Late) -> tuple[bool, Any]:
    n = min(SETTLE_WINDOW, len(late.t))
    if n < 2:
        return False, None   # nothing to compare: not settled as far as anyone can tell
    tn = late.theta_norm[-n:]
    change = (max(tn) - min(tn)) / max(1, tn[-1])
    return change <= ops.root(4), change


# ---------------------------------------------------------------------------------------
# The classifier
# ---------------------------------------------------------------------------------------

def _ops_for(landscape: Any, trajectory: Trajectory) -> Any:
    if not isinstance(trajectory, Trajectory):
        raise InputError("trajectory", type(trajectory).__name__,
                         "give a Trajectory (a member of solve_flow(...).members, solve_flow_mp(...) "
                         "or run_descent(...).members)")
    for name in ("n_params", "grad", "hessian", "loss"):
        if not hasattr(landscape, name):
            raise InputError("landscape", type(landscape).__name__,
                             f"has no {name!r}: give the landscape the trajectory was computed with "
                             "(NpLandscape, ExprLandscape(...).np(), MpLandscape, ExprLandscape(...).mp(dps))")
    is_mp = hasattr(landscape, "ctx") and hasattr(landscape, "dps")
    tier = "mp" if is_mp else "np"
    if trajectory.tier != tier:
        raise InputError("landscape", type(landscape).__name__,
                         f"is a {tier}-tier landscape but the trajectory is {trajectory.tier}-tier: "
                         "classify with the landscape the trajectory was computed with")
    if len(trajectory.theta) != landscape.n_params:
        raise InputError("trajectory", f"theta of length {len(trajectory.theta)}",
                         f"does not fit the landscape's {landscape.n_params} parameters")
    return _MpOps(landscape) if is_mp else _NpOps(landscape)


def _tolerance(ops: Any, value: Any, name: str, default: Any) -> Any:
    if value is None:
        return default
    if isinstance(value, bool) or not (isinstance(value, (int, float)) or hasattr(value, "_mpf_")) \
            or not value > 0 or not value < 1:
        raise InputError(name, value, "must be a number in (0, 1), relative to the scales "
                                      "(see verify.dynamics.outcome), or None for the default")
    return ops.num(value)


def classify(landscape: Any, trajectory: Trajectory, *, kind: str = "flow", zero_tol: Any = None,
             newton_tol: Any = None) -> Outcome:
    """Where did the trajectory go? (The rules and tolerances are in the module notes.)

    Parameters
    ----------
    landscape
        The landscape the trajectory was computed with: float64 (``NpLandscape``,
        ``ExprLandscape(...).np()``) for an ``np`` trajectory, mpmath (``MpLandscape``,
        ``ExprLandscape(...).mp(dps)``, with ``ctx`` and ``dps``) for an ``mp`` one.
    trajectory : Trajectory
        One member of a ``solve_flow`` / ``run_descent`` result, or a ``solve_flow_mp``
        result.
    kind : {"flow", "descent"}, keyword-only
        ``descent`` for gradient descent runs: then a periodic orbit is looked for in
        ``trajectory.extra["last"]`` (``find_cycle``) and checkpoint "times" are step indices.
    zero_tol : float, keyword-only
        Relative level of a numerically zero Hessian eigenvalue; default sqrt(eps).
    newton_tol : float, keyword-only
        Relative gradient level at which Newton's iterate counts as critical; default
        eps^(3/4).

    Returns
    -------
    Outcome
        ``converged``, ``diverging``, ``periodic`` or ``undecided``, with the evidence and an
        honest one-sentence reason.
    """
    if kind not in ("flow", "descent"):
        raise InputError("kind", kind, "use \"flow\" (gradient flow) or \"descent\" (gradient descent)")
    ops = _ops_for(landscape, trajectory)
    zero_tol = _tolerance(ops, zero_tol, "zero_tol", ops.root(2))
    newton_tol = _tolerance(ops, newton_tol, "newton_tol", ops.eps ** (ops.num(3) / 4))
    horizon = "steps" if kind == "descent" else "t1"
    tname = "step" if kind == "descent" else "t"
    status = trajectory.status
    t_end = trajectory.t
    where = f"step {_fmt(t_end)}" if kind == "descent" else f"t = {_fmt(t_end)}"

    if status is Status.MAX_STEPS:
        return Outcome("undecided", f"MAX_STEPS: the step budget ran out at {where} before the horizon "
                                    f"(|grad L| = {_fmt(trajectory.grad_norm)}, |theta| = "
                                    f"{_fmt(trajectory.theta_norm)}): raise max_steps (or use the stiff "
                                    "solver Rodas4 if many steps were rejected) and classify again")
    if status is Status.STEP_UNDERFLOW:
        return Outcome("undecided", f"STEP_UNDERFLOW: the step size underflowed at {where} "
                                    f"(|grad L| = {_fmt(trajectory.grad_norm)}): the flow is too stiff for "
                                    "this solver at this precision; use Rodas4, or the mp tier")

    late = _late(ops, trajectory)
    theta_T = ops.vec(trajectory.theta)
    final_finite = ops.finite(theta_T) and ops.finite(ops.num(trajectory.loss))

    # -- gradient descent: a periodic orbit or a fixed point -----------------------------
    cycle_note = ""
    start = theta_T
    if kind == "descent" and status is not Status.DIVERGED and final_finite:
        cycle, cycle_note = _find_cycle(ops, trajectory)
        if cycle is not None and cycle.period >= 2:
            mods = ", ".join(_fmt(abs(z)) for z in cycle.multipliers)
            pts = "; ".join("(" + ", ".join(_fmt(v, 8) for v in p[:6]) + (", ..." if len(p) > 6 else "") + ")"
                            for p in cycle.points[:4]) + ("; ..." if cycle.period > 4 else "")
            return Outcome(
                "periodic",
                f"the last GD iterates approach an orbit of period {cycle.period}, {pts} (refined by Newton's "
                f"method to residual {_fmt(cycle.residual)}), with multipliers of modulus {mods}: "
                f"{'linearly stable' if cycle.stable else 'linearly unstable'}",
                period=cycle.period, multipliers=tuple(cycle.multipliers), stable=bool(cycle.stable),
                orbit=tuple(tuple(p) for p in cycle.points))
        if cycle is not None:
            start = ops.vec(cycle.points[0])

    if status is Status.DIVERGED:
        return _diverged(ops, trajectory, late, where)

    # -- converged, diverging, or neither ----------------------------------------------------
    max_dist = DIST_REL * max(1, ops.norm(theta_T))
    crit = _newton(ops, start, zero_tol=zero_tol, newton_tol=newton_tol, max_dist=max_dist)
    settled, change = _settled(ops, late)
    sig = _signature(ops, late)
    stopped = {Status.STATIONARY: f"stopped stationary at {where}",
               Status.T1_REACHED: f"reached the horizon {where}",
               Status.STOPPED: f"was followed to {where}",
               Status.OUT_OF_TIME: f"ran out of wall time at {where}",
               Status.LOSS_BELOW: f"stopped with the loss below its level at {where}"}[status]
    conv = crit.confirmed and (status is Status.STATIONARY or settled)
    if conv and sig.diverging:
        return Outcome("undecided", f"conflicting evidence: the run {stopped} and {crit.why}, yet over the last "
                                    f"{sig.n} checkpoints |theta| grew steadily (d|theta|/d ln t ~ t^"
                                    f"{sig.gamma:.3g}) while the loss and |theta||grad L| fell: a flat critical "
                                    f"point and slow divergence cannot be told apart here; follow it further"
                                    f"{' at high precision (the mp tier)' if ops.tier == 'np' else ' at more dps'}")
    floor = getattr(landscape, "loss_floor", None) if kind == "flow" else None
    path = _path_left(ops, late, sig.n, floor) if crit.confirmed and sig.loss_falls and not sig.diverging else None
    path_note = "" if path is None else (
        f"; on the tail the loss falls to its floor {_fmt(floor)} like t^-{path[1]:.3g}: if it keeps that rate, the "
        f"flow moves at most {_fmt(path[0])} further (an extrapolation, not a decision)")
    if conv:
        return _converged(ops, crit, zero_tol, f"the run {stopped}; {crit.why}{cycle_note}{path_note}",
                          path_left=None if path is None else path[0])
    g_T = ops.num(trajectory.grad_norm)
    if sig.diverging and crit.confirmed and crit.distance is not None and crit.distance > 0 \
            and crit.grad_norm <= NEWTON_GAIN * g_T:
        return Outcome("undecided", f"conflicting evidence: on the tail |theta| grew while the loss and "
                                    f"|theta||grad L| fell, yet Newton's method finds a critical point at distance "
                                    f"{_fmt(crit.distance)} from the state at {where} (|grad L| {_fmt(g_T)} -> "
                                    f"{_fmt(crit.grad_norm)}): the flow may be settling there; raise {horizon}")
    if sig.diverging:
        note = ""
        if crit.confirmed:
            note = (f" (|grad L| = {_fmt(crit.grad_norm)} there is below Newton's tolerance, but |theta| has not "
                    f"settled: it changed by {_fmt(change)} (relative) over the last checkpoints)")
        return _diverging(ops, late, sig, stopped + note)
    # -- undecided -------------------------------------------------------------------------------
    g_last = ops.num(trajectory.grad_norm)
    if sig.n >= MIN_WINDOW and sig.growing and sig.loss_flat:
        where_to = ("follow it at high precision (the mp tier)" if ops.tier == "np"
                    else "follow it at more digits (raise dps)")
        return Outcome("undecided", f"precision exhausted: at {where} the loss stopped changing at the "
                                    f"{'float64' if ops.tier == 'np' else f'{ops.digits}-digit'} resolution "
                                    f"while |theta| = {_fmt(trajectory.theta_norm)} still grows: {where_to}")
    if crit.confirmed and not settled:
        if change is None:
            return Outcome("undecided", f"too few checkpoints: {crit.why}, but with fewer than 2 checkpoints "
                                        f"at {tname} > 0 it cannot be seen whether |theta| settled; record more "
                                        "checkpoints")
        return Outcome("undecided", f"horizon too short: at {where} |theta| still changed by {_fmt(change)} "
                                    f"(relative) over the last checkpoints; {crit.why}{path_note}; raise {horizon}",
                       path_left=None if path is None else path[0])
    falling = len(late.grad_norm) >= 2 and late.grad_norm[-1] < late.grad_norm[-2]
    if sig.growing and sig.gamma is not None and sig.gamma > GROWTH_EXPONENT[1]:
        seen = (f"|theta| still grows like in its initial phase (d|theta|/d ln t ~ t^{sig.gamma:.3g}) "
                f"with |grad L| = {_fmt(g_last)}")
    elif sig.growing and sig.loss_falls and sig.finite_length:
        seen = (f"|theta| grows, but |grad L| falls like t^{sig.grad_slope:.3g} on the tail: the path left, "
                f"int |grad L| dt, is finite, so the flow converges (slowly; a degenerate critical point or a flat "
                f"valley?) rather than diverges")
    elif sig.growing and sig.loss_falls and sig.gamma is not None and not sig.settled_growth:
        seen = (f"|theta| grows but its growth has not settled (d|theta|/d ln t ~ t^{sig.gamma:.3g} on the tail, "
                f"t^{_fmt(sig.gamma_early, 3)} on its first half, t^{_fmt(sig.gamma_late, 3)} on its second)")
    elif falling:
        seen = f"|grad L| = {_fmt(g_last)} still falling"
    else:
        seen = f"|grad L| = {_fmt(g_last)}, |theta| = {_fmt(trajectory.theta_norm)}"
    extra = "" if crit.confirmed else f" ({crit.why})"
    if sig.n < MIN_WINDOW:
        extra += f"; only {sig.n} checkpoints with {tname} > 0: record more checkpoints"
    return Outcome("undecided", f"horizon too short: {seen} at {where}, neither settled at a critical point nor "
                                f"showing the divergence signature{extra}; raise {horizon}")


def _find_cycle(ops: Any, trajectory: Trajectory) -> tuple[Any, str]:
    last = trajectory.extra.get("last")
    eta = trajectory.extra.get("step_size")
    if ops.tier != "np":
        return None, " (no cycle search: find_cycle is float64 only)"
    if not last or len(last) < 2 or eta is None:
        return None, " (no GD iterates kept: run_descent(keep_last=...) enables the cycle search)"
    from .descent import find_cycle

    tol = 1e-8
    return find_cycle(ops.land, float(eta), last, tol=tol), ""


def _converged(ops: Any, crit: _Critical, zero_tol: Any, reason: str, path_left: Any = None) -> Outcome:
    point_kind, index, null, note = _kind_of_point(ops, crit, zero_tol)
    lam = crit.eig[0] if crit.eig is not None else []
    spectrum = ", ".join(_fmt(v) for v in lam[:6]) + (", ..." if len(lam) > 6 else "")
    caveat = ""
    if point_kind != "minimum":
        caveat = " (a flow near such a point may still leave it along a descent direction)"
    if point_kind == "saddle":
        desc = f"a saddle of index {index}"
    elif point_kind == "minimum":
        desc = "a minimum" if null == 0 else f"a minimum with {null} flat direction(s)"
    else:
        desc = f"a {point_kind} critical point"
    return Outcome(
        "converged", f"{reason}: {desc}, Hessian eigenvalues {spectrum}{note}{caveat}",
        limit=ops.tup(crit.theta), limit_grad_norm=crit.grad_norm, limit_loss=ops.loss(crit.theta),
        point_kind=point_kind, index=index, null_dim=null, eigenvalues=tuple(lam), path_left=path_left)


def _growth_text(growth: dict | None) -> str:
    if growth is None:
        return ""
    g = growth[growth["better"]]
    return (f"; |theta| ~ {g['a']:.4g} + {g['b']:.4g} ln t fits best" if growth["better"] == "log"
            else f"; |theta| ~ {g['c']:.4g} t^{g['p']:.4g} fits best")


def _diverging(ops: Any, late: _Late, sig: _Signature, stopped: str) -> Outcome:
    growth = _growth_fits(ops, late, sig.n)
    if growth is not None:
        growth["velocity_exponent"] = sig.gamma
        growth["velocity_exponent_halves"] = [sig.gamma_early, sig.gamma_late]
    est, err, note, fit = _loss_fit(ops, late, sig.n)
    crit = _criticality(late, sig.n)
    lim = (f"; on the tail the loss extrapolates to {_fmt(est)} +- {_fmt(err)} ({note})" if est is not None
           else f"; {note}")
    span = f"t = {_fmt(late.t[-sig.n])} .. {_fmt(late.t[-1])}"
    kappa = f" (like t^{sig.crit_slope:.3g})" if sig.crit_slope is not None else ""
    return Outcome(
        "diverging",
        f"evidence of divergence, not a proof: the run {stopped} and on its tail ({sig.n} checkpoints, {span}) "
        f"|theta| grew (to {_fmt(late.theta_norm[-1])}, d|theta|/d ln t ~ t^{sig.gamma:.3g}) while the loss fell "
        f"and |theta||grad L| fell to {_fmt(crit[-1])}{kappa}{_growth_text(growth)}{lim}",
        growth=growth, loss_limit=est, loss_limit_error=err, criticality=crit, loss_fit=fit,
        criticality_exponent=sig.crit_slope)


def _diverged(ops: Any, trajectory: Trajectory, late: _Late, where: str) -> Outcome:
    finite = ops.finite(ops.num(trajectory.loss)) and ops.finite(ops.vec(trajectory.theta))
    sig = _signature(ops, late)
    growth = _growth_fits(ops, late, sig.n)
    if growth is not None:
        growth["velocity_exponent"] = sig.gamma
    crit = _criticality(late, max(sig.n, 1)) if late.t else None
    L = late.loss
    fell = len(L) >= 2 and all(b <= a for a, b in pairwise(L))
    if fell and finite:
        est, err, note, fit = _loss_fit(ops, late, sig.n)
        lim = (f"; on the tail the loss extrapolates to {_fmt(est)} +- {_fmt(err)} ({note})" if est is not None
               else f"; {note}")
        crit_note = ("and |theta||grad L| fell" if sig.crit_falls else
                     "but |theta||grad L| did not fall")
        reason = (f"|theta| reached the divergence radius at {where} (|theta| = {_fmt(trajectory.theta_norm)}) "
                  f"while the loss fell to {_fmt(trajectory.loss)} {crit_note}{lim}")
        return Outcome("diverging", reason, growth=growth, loss_limit=est, loss_limit_error=err, criticality=crit,
                       loss_fit=fit, criticality_exponent=sig.crit_slope)
    what = ("a value stopped being finite" if not finite else "|theta| reached the divergence radius")
    reason = (f"{what} at {where} (|theta| = {_fmt(trajectory.theta_norm)}, loss = {_fmt(trajectory.loss)}) "
              f"and the loss did not fall monotonically: a blow-up (for gradient descent, a step size "
              f"too large), not a slow divergence to an asymptotic critical value")
    return Outcome("diverging", reason, growth=growth, criticality=crit)
