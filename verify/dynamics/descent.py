"""Gradient descent, SGD and Adam for ensembles in float64, vectorized over members and step sizes.

One driver loop (``run_descent``) joins swappable parts: the landscape, an optimizer
(``GD``, ``SGD``, ``Adam``), the events (``Events``) and log-spaced checkpoints. Every member
has its own step size and status; a member that stops (or overflows) is frozen and never
touches the others. A step-size sweep is an ensemble: tile one initialization over the step
sizes (``theta0`` of shape (d,) with ``step_size`` of shape (E,) does that).

``find_cycle`` recognizes where a GD run ended up: a fixed point or a periodic orbit
{theta_0, ..., theta_{k-1}}, G(theta_j) = theta_{j+1 mod k}, G(theta) = theta - eta grad L(theta),
refined by Newton's method, with its multipliers (the eigenvalues of
DG(theta_{k-1}) ... DG(theta_0), DG = I - eta H) and linear stability.

References
----------
D. P. Kingma, J. Ba, Adam: A Method for Stochastic Optimization, ICLR 2015; the update as
implemented by ``torch.optim.Adam`` (no weight decay, ``amsgrad=False``).
C. Craciun, D. Ghoshdastidar, arXiv 2510.24466, Section 5 and Appendix C (GD on
ReLU(theta_2 ReLU(theta_1 x)): convergence to a minimum for eta = 0.25, to a period-2 orbit
for eta = 0.325).
"""

from __future__ import annotations

import abc
import time
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

import numpy as np

from ..errors import InputError
from .trajectory import MESSAGES, Checkpoints, Costs, Events, Status, Trajectory, check_checkpoints, count_statuses

__all__ = ["Optimizer", "GD", "SGD", "Adam", "DescentResult", "run_descent", "Cycle", "find_cycle"]

Array = np.ndarray
_ACTIVE = -1
_STATUS_CODES = list(Status)

#: above this many parameters the sharpness comes from power iteration with Hessian-vector products
DENSE_HESSIAN_MAX = 200
_POWER_MAX_ITER = 2000
_POWER_RTOL = 1e-9
#: |theta_{K-1} - theta_{K-1-k}| <= this * max(1, |theta_{K-1}|) makes k a candidate period
_DETECT = 1e-3
#: multipliers this close to 1 are neutral (directions along a manifold of fixed points or cycles)
_NEUTRAL = 1e-8
#: relative cut-off of singular values in Newton's least-squares steps
_RCOND = 1e-10


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _int_at_least(name: str, value: object, minimum: int) -> int:
    if not _is_int(value) or int(value) < minimum:  # type: ignore[call-overload]
        raise InputError(name, value, f"must be an integer >= {minimum}")
    return int(value)  # type: ignore[call-overload]


def _bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InputError(name, value, "must be True or False")
    return value


def _batch_field(value: object, *, allow_none: bool) -> None:
    if value is None and allow_none:
        return
    if not _is_int(value) or int(value) < 1:  # type: ignore[call-overload]
        raise InputError("batch", value, "must be a positive integer (the mini-batch size)"
                         + (", or None for full batches" if allow_none else ""))


def _seed_field(value: object) -> None:
    if not _is_int(value) or int(value) < 0:  # type: ignore[call-overload]
        raise InputError("seed", value, "must be a non-negative integer")


# --------------------------------------------------------------------------------------
# optimizers
# --------------------------------------------------------------------------------------
class Optimizer(abc.ABC):
    """An update rule theta <- U(theta, g) for many members at once, with per-member state."""

    name: ClassVar[str]

    def minibatch(self) -> int | None:
        """The mini-batch size, or None when every step uses the full-batch gradient."""
        return None

    def init_state(self, members: int, n_params: int) -> dict[str, Array]:
        """Per-member optimizer state (arrays with a leading member axis)."""
        return {}

    @abc.abstractmethod
    def update(self, theta: Array, grad: Array, step_size: Array, state: dict[str, Array], idx: Array,
               k: int) -> Array:
        """The new parameters of members ``idx`` at step ``k`` (1-based).

        ``theta`` and ``grad`` have shape (m, d), ``step_size`` shape (m,); ``state`` holds
        the arrays of all members (rows ``idx`` are updated in place).
        """


@dataclass(frozen=True)
class GD(Optimizer):
    """Gradient descent: theta <- theta - eta grad L(theta) (full batch)."""

    name: ClassVar[str] = "gd"

    def update(self, theta: Array, grad: Array, step_size: Array, state: dict[str, Array], idx: Array,
               k: int) -> Array:
        return theta - step_size[:, None] * grad


@dataclass(frozen=True)
class SGD(Optimizer):
    """Stochastic gradient descent: theta <- theta - eta grad L_xi(theta) on a mini-batch xi.

    Parameters
    ----------
    batch : int
        Data points per step (at most n).
    replacement : bool
        Draw the indices with replacement (``Generator.integers``), or without: a fresh
        permutation per epoch of n // batch steps (a shuffled loader with ``drop_last``).
    seed : int
        Seed of ``np.random.default_rng``; the same seed gives the same run.
    shared_batches : bool
        One batch for all members per step (index shape (B,)) instead of one per member.
    """

    name: ClassVar[str] = "sgd"
    batch: int
    replacement: bool = False
    seed: int = 0
    shared_batches: bool = False

    def __post_init__(self) -> None:
        _batch_field(self.batch, allow_none=False)
        _bool("replacement", self.replacement)
        _seed_field(self.seed)
        _bool("shared_batches", self.shared_batches)

    def minibatch(self) -> int | None:
        return int(self.batch)

    def update(self, theta: Array, grad: Array, step_size: Array, state: dict[str, Array], idx: Array,
               k: int) -> Array:
        return theta - step_size[:, None] * grad


@dataclass(frozen=True)
class Adam(Optimizer):
    """Adam as ``torch.optim.Adam`` (no weight decay, ``amsgrad=False``); the step size is the lr.

    m <- b1 m + (1 - b1) g, v <- b2 v + (1 - b2) g^2,
    theta <- theta - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps) at step t = 1, 2, ...

    Parameters
    ----------
    betas : (float, float)
        b1, b2 in [0, 1).
    eps : float
        Added to the denominator.
    batch : int or None
        Mini-batch size (sampled as in ``SGD``); None: full-batch gradients.
    replacement, seed, shared_batches
        As in ``SGD`` (used only with a batch).
    """

    name: ClassVar[str] = "adam"
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    batch: int | None = None
    replacement: bool = False
    seed: int = 0
    shared_batches: bool = False

    def __post_init__(self) -> None:
        b = self.betas
        if (not isinstance(b, (tuple, list)) or len(b) != 2
                or not all(isinstance(x, (int, float)) and not isinstance(x, bool) and 0 <= x < 1 for x in b)):
            raise InputError("betas", b, "give two numbers in [0, 1), e.g. (0.9, 0.999)")
        object.__setattr__(self, "betas", (float(b[0]), float(b[1])))
        if isinstance(self.eps, bool) or not isinstance(self.eps, (int, float)) or not self.eps > 0 \
                or not np.isfinite(self.eps):
            raise InputError("eps", self.eps, "must be a positive number such as 1e-8")
        _batch_field(self.batch, allow_none=True)
        _bool("replacement", self.replacement)
        _seed_field(self.seed)
        _bool("shared_batches", self.shared_batches)

    def minibatch(self) -> int | None:
        return None if self.batch is None else int(self.batch)

    def init_state(self, members: int, n_params: int) -> dict[str, Array]:
        return {"m": np.zeros((members, n_params)), "v": np.zeros((members, n_params))}

    def update(self, theta: Array, grad: Array, step_size: Array, state: dict[str, Array], idx: Array,
               k: int) -> Array:
        b1, b2 = self.betas
        m = b1 * state["m"][idx] + (1.0 - b1) * grad
        v = b2 * state["v"][idx] + (1.0 - b2) * (grad * grad)
        state["m"][idx] = m
        state["v"][idx] = v
        bc1 = 1.0 - b1 ** k
        bc2_sqrt = np.sqrt(1.0 - b2 ** k)
        denom = np.sqrt(v) / bc2_sqrt + self.eps
        return theta - (step_size / bc1)[:, None] * (m / denom)


# --------------------------------------------------------------------------------------
# mini-batches
# --------------------------------------------------------------------------------------
class _Batches:
    """Mini-batch indices from ``np.random.default_rng(seed)``, drawn for all members every step.

    With replacement: ``rng.integers(0, n, size=(E, B))`` per step (``size=B`` when shared).
    Without: at the start of each epoch ``rng.permuted(np.tile(np.arange(n), (E, 1)), axis=1)``
    (``rng.permutation(n)`` when shared); step j of the epoch takes columns j B .. (j + 1) B - 1,
    and an epoch has n // B steps. Batches are drawn for frozen members too, so a member's
    batches do not depend on when the others stop.
    """

    def __init__(self, n: int, batch: int, members: int, *, replacement: bool, shared: bool, seed: int) -> None:
        self.n, self.batch, self.members = n, batch, members
        self.replacement, self.shared = replacement, shared
        self.rng = np.random.default_rng(seed)
        self.per_epoch = n // batch
        self.pos = self.per_epoch
        self.perm: Array | None = None

    def draw(self) -> Array:
        """Indices of shape (B,) (shared) or (E, B)."""
        B = self.batch
        if self.replacement:
            return self.rng.integers(0, self.n, size=B if self.shared else (self.members, B))
        if self.pos == self.per_epoch:
            if self.shared:
                self.perm = self.rng.permutation(self.n)
            else:
                self.perm = self.rng.permuted(np.tile(np.arange(self.n), (self.members, 1)), axis=1)
            self.pos = 0
        assert self.perm is not None
        out = self.perm[..., self.pos * B:(self.pos + 1) * B]
        self.pos += 1
        return out


# --------------------------------------------------------------------------------------
# checkpoints and sharpness
# --------------------------------------------------------------------------------------
def _checkpoint_steps(steps: int, n: int) -> Array:
    """``min(n, steps)`` distinct step indices in 1 .. steps, about log-spaced, ending at ``steps``."""
    if n >= steps:
        return np.arange(1, steps + 1)
    if n == 1:
        return np.array([steps])
    out = [1]
    k = 1
    for r in range(n - 1, 0, -1):  # r picks left, this one included
        nxt = round(k * (steps / k) ** (1.0 / r))
        nxt = min(max(k + 1, nxt), steps - (r - 1))
        out.append(nxt)
        k = nxt
    return np.array(out)


def _top_eigenvalue(landscape: Any, theta: Array) -> tuple[Array, int]:
    """Largest Hessian eigenvalue per member (nan where not finite) and the Hessian work done.

    d <= ``DENSE_HESSIAN_MAX``: ``eigvalsh`` of the symmetrized Hessian (work 1). Otherwise power
    iteration with Hessian-vector products (work = their number): first on H, which gives the
    spectral radius rho; where the dominant eigenvalue is not a converged positive one, again on
    H + rho I. The Rayleigh quotient never exceeds the top eigenvalue.
    """
    m, d = theta.shape
    out = np.full(m, np.nan)
    ok = np.all(np.isfinite(theta), axis=1)
    if not np.any(ok):
        return out, 0
    th = theta[ok]
    if d <= DENSE_HESSIAN_MAX:
        H = landscape.hessian(th)
        H = 0.5 * (H + np.swapaxes(H, 1, 2))
        fin = np.all(np.isfinite(H), axis=(1, 2))
        vals = np.full(th.shape[0], np.nan)
        if np.any(fin):
            vals[fin] = np.linalg.eigvalsh(H[fin])[:, -1]
        out[ok] = vals
        return out, 1
    rng = np.random.default_rng(0)
    v0 = rng.standard_normal((th.shape[0], d))
    mu, rho, conv, work = _power(landscape, th, v0 / np.linalg.norm(v0, axis=1, keepdims=True),
                                 np.zeros(th.shape[0]))
    redo = ~(conv & (mu > 0)) & np.isfinite(rho)
    if np.any(redo):
        shift = 1.01 * rho[redo] + 1e-300
        mu2, _, _, work2 = _power(landscape, th[redo], v0[redo] / np.linalg.norm(v0[redo], axis=1, keepdims=True),
                                  shift)
        mu[redo] = mu2 - shift
        work += work2
    out[ok] = mu
    return out, work


def _power(landscape: Any, theta: Array, v: Array, shift: Array) -> tuple[Array, Array, Array, int]:
    """Power iteration on H + shift I: Rayleigh quotient, max |Hv| seen, converged flags, work."""
    m = theta.shape[0]
    mu = np.full(m, np.nan)
    rho = np.zeros(m)
    conv = np.zeros(m, dtype=bool)
    live = np.arange(m)
    work = 0
    for _ in range(_POWER_MAX_ITER):
        if live.size == 0:
            break
        w = landscape.hvp(theta[live], v[live]) + shift[live, None] * v[live]
        work += 1
        q = np.sum(v[live] * w, axis=1)
        nw = np.linalg.norm(w, axis=1)
        mu[live] = q
        rho[live] = np.maximum(rho[live], nw)
        resid = np.linalg.norm(w - q[:, None] * v[live], axis=1)
        bad = ~np.isfinite(nw) | (nw == 0)
        done = (resid <= _POWER_RTOL * np.maximum(nw, 1e-300)) | bad
        conv[live[done & ~bad]] = True
        keep = ~done
        v[live[keep]] = w[keep] / nw[keep, None]
        live = live[keep]
    return mu, rho, conv, work


# --------------------------------------------------------------------------------------
# the driver
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DescentResult:
    """Trajectories of all members of an ensemble descent.

    ``extra`` holds the ``events`` and the optimizer object (``options``).
    """

    members: tuple[Trajectory, ...]
    optimizer: str
    step_size: tuple[float, ...]
    steps: int
    wall_time: float
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def statuses(self) -> dict[str, int]:
        """How many members ended with each status."""
        return count_statuses(self.members)


def _check_landscape(landscape: Any, *, sharpness: bool) -> int:
    if getattr(landscape, "tier", "np") != "np" or not hasattr(landscape, "loss_and_grad") \
            or not hasattr(landscape, "n_params"):
        raise InputError("landscape", type(landscape).__name__,
                         "give a float64 landscape: NpLandscape(problem) or ExprLandscape(...).np()")
    d = landscape.n_params
    if sharpness and not hasattr(landscape, "hessian" if d <= DENSE_HESSIAN_MAX else "hvp"):
        raise InputError("sharpness", True, "the landscape has no Hessian: use sharpness=False")
    return int(d)


def _data_size(landscape: Any, optimizer: Optimizer) -> int | None:
    """n for a mini-batch optimizer (validated), None for full batches."""
    batch = optimizer.minibatch()
    if batch is None:
        return None
    problem = getattr(landscape, "problem", None)
    data = getattr(problem, "data", None)
    if not hasattr(landscape, "loss_and_grad_batch") or data is None or data.interval is not None:
        raise InputError("optimizer", optimizer,
                         "mini-batches need an NpLandscape of a problem with point data (points, grid or "
                         "sample); use GD() or Adam(batch=None) for formula losses and interval data")
    n = int(data.n)
    if batch > n:
        raise InputError("batch", batch, f"must be at most the number of data points n = {n}")
    return n


def _initial(theta0: Any, step_size: Any, d: int) -> tuple[Array, Array]:
    try:
        theta = np.array(theta0, dtype=np.float64, copy=True)
    except (TypeError, ValueError):
        raise InputError("theta0", theta0, f"give numbers of shape (E, {d}) or ({d},)") from None
    if theta.ndim not in (1, 2) or theta.shape[-1] != d or theta.size == 0:
        raise InputError("theta0", f"array of shape {theta.shape}", f"give shape (E, {d}) or ({d},)")
    if not np.all(np.isfinite(theta)):
        raise InputError("theta0", "non-finite values", "give finite initial parameters")
    if isinstance(step_size, bool) or isinstance(step_size, (str, bytes)):
        raise InputError("step_size", step_size, "give a positive number or an array of shape (E,)")
    try:
        eta = np.array(step_size, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError("step_size", step_size, "give a positive number or an array of shape (E,)") from None
    if eta.ndim == 0:
        if theta.ndim == 1:
            theta = theta[None, :]
        eta = np.full(theta.shape[0], float(eta))
    elif eta.ndim == 1 and eta.size > 0:
        if theta.ndim == 1:
            theta = np.tile(theta, (eta.size, 1))
        if eta.size != theta.shape[0]:
            raise InputError("step_size", f"array of shape {eta.shape}",
                             f"give one step size per member: shape ({theta.shape[0]},), or a single number")
    else:
        raise InputError("step_size", f"array of shape {eta.shape}",
                         "give a positive number or an array of shape (E,)")
    if not np.all(np.isfinite(eta) & (eta > 0)):
        raise InputError("step_size", step_size, "every step size must be positive and finite")
    return theta, eta


def run_descent(landscape: Any, theta0: Any, *, step_size: Any, steps: int, optimizer: Optimizer | None = None,
                events: Events | None = None, checkpoints: int = 32, sharpness: bool = False,
                keep_last: int = 16, progress: Callable[[float], None] | None = None) -> DescentResult:
    """Run GD, SGD or Adam on every member for ``steps`` steps (or until an event stops it).

    Parameters
    ----------
    landscape
        A float64 landscape: ``NpLandscape`` or ``ExprLandscape(...).np()`` (``n_params``,
        ``loss_and_grad(theta (m, d))``; ``loss_and_grad_batch`` for mini-batches,
        ``hessian`` / ``hvp`` for the sharpness).
    theta0 : array_like, shape (E, d) or (d,)
        Initial parameters; shape (d,) with ``step_size`` of shape (E,) runs E copies.
    step_size : float or array_like of shape (E,), keyword-only
        eta (the learning rate for Adam), one for all members or one per member.
    steps : int, keyword-only
        Number of steps.
    optimizer : Optimizer, keyword-only
        ``GD()`` (default), ``SGD(batch=...)`` or ``Adam(...)``.
    events : Events, keyword-only
        Stationary (|grad L| <= gtol, the full-batch gradient), diverged (|theta| >= radius
        or a non-finite value: a result, never an exception) and loss-below levels. With
        mini-batches the full-batch loss and gradient exist only at checkpoints: stationary and
        loss-below are checked there, divergence after every step.
    checkpoints : int, keyword-only
        About this many log-spaced step indices in 1 .. steps (``steps`` included) at which
        the step index, full-batch loss, |theta|, |grad L| (and the sharpness) are recorded,
        besides step 0 and the step where a member stops.
    sharpness : bool, keyword-only
        Also record the largest Hessian eigenvalue (``eigvalsh`` for d <= 200, else power
        iteration with Hessian-vector products) in ``Checkpoints.sharpness``.
    keep_last : int, keyword-only
        GD only: keep each member's last ``keep_last`` iterates (oldest first; the final
        state last) in ``Trajectory.extra["last"]`` for ``find_cycle``.
    progress : callable, keyword-only
        Called with the fraction of steps done at most about twice a second.

    Returns
    -------
    DescentResult
        One ``Trajectory`` per member: status (``t1_reached`` when all steps were taken),
        ``t`` = steps taken, final state, checkpoints, costs (``n_grad`` counts full-batch and
        mini-batch gradients alike; ``n_hess`` counts Hessians or, with power iteration,
        Hessian-vector products) and ``extra["step_size"]``.
    """
    optimizer = GD() if optimizer is None else optimizer
    events = Events() if events is None else events
    if not isinstance(optimizer, Optimizer):
        raise InputError("optimizer", optimizer, "use GD(), SGD(batch=...) or Adam()")
    if not isinstance(events, Events):
        raise InputError("events", events, "use Events(gtol=..., radius=..., loss_below=...)")
    steps = _int_at_least("steps", steps, 1)
    checkpoints = check_checkpoints(checkpoints)
    keep_last = _int_at_least("keep_last", keep_last, 0)
    sharpness = _bool("sharpness", sharpness)
    if progress is not None and not callable(progress):
        raise InputError("progress", progress, "give a function of the fraction done, or None")
    d = _check_landscape(landscape, sharpness=sharpness)
    theta, eta = _initial(theta0, step_size, d)
    n_data = _data_size(landscape, optimizer)
    t_start = time.perf_counter()
    E = theta.shape[0]
    batches = None
    if n_data is not None:
        batch = optimizer.minibatch()
        assert batch is not None
        batches = _Batches(n_data, batch, E, replacement=bool(getattr(optimizer, "replacement", False)),
                           shared=bool(getattr(optimizer, "shared_batches", False)),
                           seed=int(getattr(optimizer, "seed", 0)))
    shared = batches is not None and batches.shared
    is_gd = isinstance(optimizer, GD)
    state = optimizer.init_state(E, d)

    ck = np.zeros(steps + 1, dtype=bool)
    ck[_checkpoint_steps(steps, checkpoints)] = True
    n_slots = int(ck.sum()) + 2
    keys = ("t", "loss", "theta_norm", "grad_norm") + (("sharpness",) if sharpness else ())
    rec = {k: np.full((E, n_slots), np.nan) for k in keys}
    n_rec = np.zeros(E, dtype=np.int64)
    keep = keep_last if is_gd else 0
    ring = np.full((E, keep, d), np.nan)
    n_kept = np.zeros(E, dtype=np.int64)

    status = np.full(E, _ACTIVE, dtype=np.int64)
    taken = np.zeros(E, dtype=np.int64)
    n_grad = np.ones(E, dtype=np.int64)
    n_hess = np.zeros(E, dtype=np.int64)
    code = {s: _STATUS_CODES.index(s) for s in Status}

    def full(idx: Array) -> None:
        loss[idx], grad[idx] = landscape.loss_and_grad(theta[idx])
        n_grad[idx] += 1

    def record(idx: Array) -> None:
        if idx.size == 0:
            return
        j = n_rec[idx]
        rec["t"][idx, j] = taken[idx]
        rec["loss"][idx, j] = loss[idx]
        rec["theta_norm"][idx, j] = np.linalg.norm(theta[idx], axis=1)
        rec["grad_norm"][idx, j] = np.linalg.norm(grad[idx], axis=1)
        if sharpness:
            top, work = _top_eigenvalue(landscape, theta[idx])
            rec["sharpness"][idx, j] = top
            n_hess[idx] += work
        n_rec[idx] += 1

    def check_full(idx: Array, k: int) -> None:
        th, ls, gr = theta[idx], loss[idx], grad[idx]
        finite = np.isfinite(ls) & np.all(np.isfinite(th), axis=1) & np.all(np.isfinite(gr), axis=1)
        tn = np.linalg.norm(th, axis=1)
        gn = np.linalg.norm(gr, axis=1)
        new = np.full(idx.size, _ACTIVE)
        if events.loss_below is not None:
            new = np.where(ls <= events.loss_below, code[Status.LOSS_BELOW], new)
        new = np.where(gn <= events.gtol, code[Status.STATIONARY], new)
        new = np.where(~finite | (tn >= events.radius), code[Status.DIVERGED], new)
        if k >= steps:
            new = np.where(new == _ACTIVE, code[Status.T1_REACHED], new)
        status[idx] = new

    def check_diverged(idx: Array) -> None:
        th = theta[idx]
        bad = ~np.all(np.isfinite(th), axis=1) | (np.linalg.norm(th, axis=1) >= events.radius)
        status[idx[bad]] = code[Status.DIVERGED]

    def push(idx: Array) -> None:
        if keep == 0 or idx.size == 0:
            return
        ring[idx, n_kept[idx] % keep] = theta[idx]
        n_kept[idx] += 1

    all_idx = np.arange(E)
    last_report = time.perf_counter()
    with np.errstate(all="ignore"):
        loss, grad = landscape.loss_and_grad(theta)
        loss = np.array(loss, dtype=np.float64)
        grad = np.array(grad, dtype=np.float64)
        record(all_idx)
        check_full(all_idx, 0)
        push(all_idx)
        for k in range(1, steps + 1):
            index = batches.draw() if batches is not None else None
            idx = np.flatnonzero(status == _ACTIVE)
            if idx.size == 0:
                break
            if index is not None:
                _, g = landscape.loss_and_grad_batch(theta[idx], index if shared else index[idx])
            else:
                g = grad[idx]
            theta[idx] = optimizer.update(theta[idx], g, eta[idx], state, idx, k)
            taken[idx] = k
            push(idx)
            if index is None:
                full(idx)  # the gradient of the next step, and the events
                check_full(idx, k)
                stopped = idx[status[idx] != _ACTIVE]
            else:
                n_grad[idx] += 1
                if ck[k]:
                    full(idx)
                    check_full(idx, k)
                    stopped = idx[status[idx] != _ACTIVE]
                else:
                    check_diverged(idx)
                    stopped = idx[status[idx] != _ACTIVE]
                    if stopped.size:
                        full(stopped)  # the final state is reported with its full-batch loss
            record(idx if ck[k] else stopped)
            if progress is not None and time.perf_counter() - last_report > 0.5:
                progress(k / steps)
                last_report = time.perf_counter()
    if progress is not None:
        progress(1.0)
    wall = time.perf_counter() - t_start

    members = []
    with np.errstate(all="ignore"):
        theta_norm = np.linalg.norm(theta, axis=1)
        grad_norm = np.linalg.norm(grad, axis=1)
    for e in range(E):
        k = int(n_rec[e])
        st = _STATUS_CODES[int(status[e])]
        message = MESSAGES[st]
        if st is Status.T1_REACHED:
            message += f" ({steps} steps)"
        elif st is Status.DIVERGED:
            message += f" after {int(taken[e])} steps at step size {eta[e]:.6g}"
        extra: dict[str, Any] = {"step_size": float(eta[e])}
        if is_gd:
            cnt = int(min(n_kept[e], keep))
            order = [(int(n_kept[e]) - cnt + j) % keep for j in range(cnt)] if keep else []
            extra["last"] = tuple(tuple(float(v) for v in ring[e, j]) for j in order)
        ckp = Checkpoints(
            t=tuple(int(v) for v in rec["t"][e, :k]),
            loss=tuple(float(v) for v in rec["loss"][e, :k]),
            theta_norm=tuple(float(v) for v in rec["theta_norm"][e, :k]),
            grad_norm=tuple(float(v) for v in rec["grad_norm"][e, :k]),
            sharpness=tuple(float(v) for v in rec["sharpness"][e, :k]) if sharpness else None)
        members.append(Trajectory(
            status=st, message=message, t=int(taken[e]), loss=float(loss[e]),
            theta_norm=float(theta_norm[e]), grad_norm=float(grad_norm[e]),
            theta=tuple(float(v) for v in theta[e]), checkpoints=ckp,
            costs=Costs(steps=int(taken[e]), n_grad=int(n_grad[e]), n_hess=int(n_hess[e])),
            tier="np", extra=extra))
    return DescentResult(tuple(members), optimizer.name, tuple(float(v) for v in eta), steps, wall,
                         {"events": events, "options": optimizer})


# --------------------------------------------------------------------------------------
# periodic orbits of GD
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Cycle:
    """A periodic orbit of the GD map G(theta) = theta - eta grad L(theta).

    Attributes
    ----------
    period : int
        The minimal period k (1: a fixed point, i.e. a critical point of L).
    points : tuple of k tuples
        theta_0, ..., theta_{k-1} with G(theta_j) = theta_{j+1 mod k}; theta_0 is the refined
        point nearest the last iterate given.
    multipliers : tuple of complex
        Eigenvalues of DG(theta_{k-1}) ... DG(theta_0), DG = I - eta H, by decreasing modulus.
    stable : bool
        Linear stability: every multiplier has modulus < 1, where multipliers within 1e-8 of 1
        are ignored as neutral (directions along a manifold of fixed points or cycles, such as
        a manifold of global minima: then stability is that of the normal directions, as in
        Craciun-Ghoshdastidar, Corollary 13).
    residual : float
        |G^k(theta_0) - theta_0|.
    """

    period: int
    points: tuple[tuple[float, ...], ...]
    multipliers: tuple[complex, ...]
    stable: bool
    residual: float


def _orbit(landscape: Any, eta: float, theta: Array, k: int) -> Array:
    """theta, G(theta), ..., G^k(theta): shape (k + 1, d)."""
    out = np.empty((k + 1, theta.size))
    out[0] = theta
    for j in range(k):
        out[j + 1] = out[j] - eta * np.asarray(landscape.grad(out[j]), dtype=np.float64)
    return out


def _monodromy(landscape: Any, eta: float, orbit: Array) -> Array:
    """DG(theta_{k-1}) ... DG(theta_0) for the orbit points theta_0 .. theta_{k-1}."""
    H = np.asarray(landscape.hessian(orbit), dtype=np.float64)
    H = 0.5 * (H + np.swapaxes(H, 1, 2))
    d = orbit.shape[1]
    M = np.eye(d)
    for j in range(orbit.shape[0]):
        M = (np.eye(d) - eta * H[j]) @ M
    return M


def _refine(landscape: Any, eta: float, start: Array, k: int, tol: float) -> tuple[Array, float] | None:
    """Newton's method on G^k(theta) - theta from ``start`` (least-squares steps where singular)."""
    p = start.copy()
    scale = max(1.0, float(np.linalg.norm(start)))
    best: tuple[Array, float] | None = None
    polish = 0
    for _ in range(60):
        orb = _orbit(landscape, eta, p, k)
        F = orb[k] - p
        res = float(np.linalg.norm(F))
        if not np.isfinite(res):
            break
        if best is None or res < best[1]:
            best = (p.copy(), res)
        if res <= tol * scale:
            polish += 1
            if polish > 3 or res == 0.0:
                break
        J = _monodromy(landscape, eta, orb[:k]) - np.eye(p.size)
        if not np.all(np.isfinite(J)):
            break
        # singular values below 1e-10 of the largest are null directions (a manifold of solutions):
        # no step along them
        delta = np.linalg.lstsq(J, -F, rcond=_RCOND)[0]
        p = p + delta
    if best is None or best[1] > tol * scale or np.linalg.norm(best[0] - start) > scale:
        return None
    return best


def find_cycle(landscape: Any, step_size: float, thetas: Any, *, max_period: int = 8,
               tol: float = 1e-8) -> Cycle | None:
    """The fixed point or periodic orbit of GD that the iterates ``thetas`` approach, if any.

    Parameters
    ----------
    landscape
        A float64 landscape with ``grad`` and ``hessian`` (``NpLandscape`` or
        ``ExprLandscape(...).np()``).
    step_size : float
        eta of the GD map G(theta) = theta - eta grad L(theta).
    thetas : array_like, shape (K, d), K >= 2
        Recent GD iterates, oldest first (``Trajectory.extra["last"]``).
    max_period : int, keyword-only
        Largest period tried.
    tol : float, keyword-only
        Newton's method stops at |G^k(theta) - theta| <= tol max(1, |theta|).

    Returns
    -------
    Cycle or None
        For the smallest k with |theta_{K-1} - theta_{K-1-k}| <= 1e-3 max(1, |theta_{K-1}|) for
        which Newton's method on G^k(theta) - theta (Jacobian DG^k - I, DG = I - eta H along
        the orbit) converges near theta_{K-1}, the refined orbit reduced to its minimal period;
        None when no period qualifies (no cycle detected, or Newton did not converge).
    """
    if isinstance(step_size, bool) or not isinstance(step_size, (int, float, np.floating)) \
            or not step_size > 0 or not np.isfinite(step_size):
        raise InputError("step_size", step_size, "must be a positive number")
    max_period = _int_at_least("max_period", max_period, 1)
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol > 0:
        raise InputError("tol", tol, "must be a positive number such as 1e-8")
    if not hasattr(landscape, "grad") or not hasattr(landscape, "hessian"):
        raise InputError("landscape", type(landscape).__name__,
                         "give a float64 landscape with a Hessian: NpLandscape or ExprLandscape(...).np()")
    d = int(landscape.n_params)
    try:
        th = np.array(thetas, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError("thetas", thetas, f"give iterates of shape (K, {d})") from None
    if th.ndim != 2 or th.shape[1] != d or th.shape[0] < 2:
        raise InputError("thetas", f"array of shape {th.shape}", f"give at least 2 iterates: shape (K, {d})")
    eta = float(step_size)
    if not np.all(np.isfinite(th)):
        return None
    last = th[-1]
    scale = max(1.0, float(np.linalg.norm(last)))
    with np.errstate(all="ignore"):
        for k in range(1, min(max_period, th.shape[0] - 1) + 1):
            if np.linalg.norm(last - th[-1 - k]) > _DETECT * scale:
                continue
            found = _refine(landscape, eta, last, k, tol)
            if found is None:
                continue
            p, res = found
            for j in range(1, k):  # the minimal period divides k
                if k % j == 0 and np.linalg.norm(_orbit(landscape, eta, p, j)[j] - p) <= 10 * tol * scale:
                    sub = _refine(landscape, eta, p, j, tol)
                    if sub is not None:
                        k, (p, res) = j, sub
                        break
            return _cycle(landscape, eta, p, k, res)
    return None


def _cycle(landscape: Any, eta: float, p: Array, k: int, res: float) -> Cycle:
    orb = _orbit(landscape, eta, p, k)
    M = _monodromy(landscape, eta, orb[:k])
    mult = np.linalg.eigvals(M)
    mult = mult[np.argsort(-np.abs(mult), kind="stable")]
    decisive = np.abs(mult - 1.0) > _NEUTRAL
    stable = bool(np.all(np.abs(mult[decisive]) < 1.0))
    return Cycle(period=k, points=tuple(tuple(float(v) for v in row) for row in orb[:k]),
                 multipliers=tuple(complex(z) for z in mult), stable=stable, residual=float(res))
