"""Results of following a flow or a descent: a status with a message, checkpoints, costs.

A numerical failure is a result, never an exception: every member of an ensemble ends with
a ``Status`` and a message that says what to change where that helps.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ..errors import InputError

__all__ = ["Status", "Events", "StepControl", "Costs", "Checkpoints", "Trajectory", "checkpoint_times"]


class Status(str, enum.Enum):
    """Why a member stopped."""

    T1_REACHED = "t1_reached"          #: the horizon (flow time t1, or the step count) was reached
    STATIONARY = "stationary"          #: |grad L| <= gtol
    DIVERGED = "diverged"              #: |theta| >= radius, or a value stopped being finite
    LOSS_BELOW = "loss_below"          #: L <= the requested level
    MAX_STEPS = "max_steps"            #: the step budget ran out before t1
    STEP_UNDERFLOW = "step_underflow"  #: the step size fell below what the precision resolves
    STOPPED = "stopped"                #: the caller's ``until`` test said stop (e.g. the outcome was decided)
    OUT_OF_TIME = "out_of_time"        #: the wall-time budget (``max_seconds``) ran out before t1

    def __str__(self) -> str:
        return self.value


MESSAGES = {
    Status.T1_REACHED: "reached the horizon",
    Status.STATIONARY: "the gradient norm fell below gtol",
    Status.DIVERGED: "|theta| reached the divergence radius or a value overflowed",
    Status.LOSS_BELOW: "the loss fell below the requested level",
    Status.MAX_STEPS: "the step budget ran out before the horizon: raise max_steps, or use a stiff solver "
                      "if many steps were rejected",
    Status.STEP_UNDERFLOW: "the step size underflowed: the flow is too stiff for this solver at this precision; "
                           "use the stiff solver (np tier: Rodas4) or raise the precision",
    Status.STOPPED: "stopped by the caller's test (until)",
    Status.OUT_OF_TIME: "the wall-time budget ran out before the horizon: raise max_seconds",
}


def _positive(name: str, value: object, *, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or value != value:
        raise InputError(name, value, "must be a positive number")
    return float(value)


@dataclass(frozen=True)
class Events:
    """Per-member stopping events.

    Parameters
    ----------
    gtol : float
        Stop as ``stationary`` when |grad L| <= gtol.
    radius : float
        Stop as ``diverged`` when |theta| >= radius (or any value is not finite).
    loss_below : float or None
        Stop as ``loss_below`` when L <= loss_below.
    """

    gtol: float = 1e-12
    radius: float = 1e8
    loss_below: float | None = None

    def __post_init__(self) -> None:
        _positive("gtol", self.gtol)
        _positive("radius", self.radius)
        if self.loss_below is not None and (isinstance(self.loss_below, bool)
                                            or not isinstance(self.loss_below, (int, float))):
            raise InputError("loss_below", self.loss_below, "must be a number or None")


@dataclass(frozen=True)
class StepControl:
    """Error control of an adaptive integrator.

    Parameters
    ----------
    rtol, atol : float
        Relative and absolute local error tolerances (per member, in the RMS norm).
    h0 : float or None
        First step; None picks one from the local scales.
    max_steps : int
        Step budget per member (accepted plus rejected).
    """

    rtol: float = 1e-8
    atol: float = 1e-10
    h0: float | None = None
    max_steps: int = 1_000_000

    def __post_init__(self) -> None:
        _positive("rtol", self.rtol)
        _positive("atol", self.atol)
        _positive("h0", self.h0, allow_none=True)
        if isinstance(self.max_steps, bool) or not isinstance(self.max_steps, int) or self.max_steps < 1:
            raise InputError("max_steps", self.max_steps, "must be a positive integer")


@dataclass(frozen=True)
class Costs:
    """Work done for one member."""

    steps: int = 0
    rejected: int = 0
    n_grad: int = 0
    n_hess: int = 0

    def to_json(self) -> dict[str, int]:
        return {"steps": self.steps, "rejected": self.rejected, "n_grad": self.n_grad, "n_hess": self.n_hess}


@dataclass(frozen=True)
class Checkpoints:
    """Recorded states: flow time (or step index), loss, |theta| and |grad L| (same lengths).

    In the np tier the entries are floats; in the mp tier mpmath numbers.
    """

    t: tuple[Any, ...] = ()
    loss: tuple[Any, ...] = ()
    theta_norm: tuple[Any, ...] = ()
    grad_norm: tuple[Any, ...] = ()
    sharpness: tuple[Any, ...] | None = None

    def __len__(self) -> int:
        return len(self.t)


@dataclass(frozen=True)
class Trajectory:
    """Where one member went.

    Attributes
    ----------
    status : Status
    message : str
        What happened, and what to change where relevant.
    t : float or mpf
        Flow time reached (gradient flow) or steps taken (descent).
    loss, theta_norm, grad_norm : float or mpf
        At the final state.
    theta : tuple
        The final parameters.
    checkpoints : Checkpoints
    costs : Costs
    tier : str
        ``np`` or ``mp``.
    dps : int or None
        Decimal digits (mp tier).
    """

    status: Status
    message: str
    t: Any
    loss: Any
    theta_norm: Any
    grad_norm: Any
    theta: tuple[Any, ...]
    checkpoints: Checkpoints
    costs: Costs
    tier: str = "np"
    dps: int | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


def count_statuses(members: Sequence[Trajectory]) -> dict[str, int]:
    """How many trajectories ended with each status."""
    out: dict[str, int] = {}
    for m in members:
        out[m.status.value] = out.get(m.status.value, 0) + 1
    return out


#: the most checkpoints a run records
MAX_CHECKPOINTS = 100_000


def check_checkpoints(n: object) -> int:
    """Validate a number of checkpoints: an integer in 1 .. MAX_CHECKPOINTS."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_CHECKPOINTS:
        raise InputError("checkpoints", n, f"must be an integer from 1 to {MAX_CHECKPOINTS}, e.g. 32")
    return n


def checkpoint_times(t0: float, t1: float, n: int) -> np.ndarray:
    """Log-spaced checkpoint times in (t0, t1], dense near t0 and ending exactly at t1."""
    if n < 1:
        raise InputError("checkpoints", n, "must be at least 1")
    if t1 <= t0:
        return np.array([t1])
    first = min(1e-3 * (t1 - t0), 1e-2)
    ts = t0 + np.geomspace(first, t1 - t0, n)
    ts[-1] = t1
    return np.unique(ts)


def as_tuple(values: Sequence[Any] | np.ndarray) -> tuple[Any, ...]:
    """Plain Python numbers (floats) from an array, or the sequence as a tuple."""
    if isinstance(values, np.ndarray):
        return tuple(float(v) for v in values)
    return tuple(values)
