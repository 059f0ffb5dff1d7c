r"""Flows followed until decided: continue a gradient flow in log-time segments, classify after each.

``follow_flow`` integrates theta' = -grad L(theta) with log-spaced checkpoints (``per_decade``
of them per decade of flow time) up to the budget's flow time, and at the end of every decade
(t = 10, 100, 1000, ... from ``first_decision`` on) classifies the trajectory so far with
:func:`verify.classify`. It stops as soon as the outcome is decided, or when a budget is spent:
flow time (``Budget.t_max``), steps (``Budget.max_steps``, accepted plus rejected) or wall time
(``Budget.seconds``). The integration is one continuous run (the solver's step size and, under
``solver="auto"``, its choice between the explicit pair and Rodas4 carry over from segment to
segment); the segments only mark where the classifier looks.

Decided means:

* ``converged`` to a strict minimum (Newton-refined, no flat direction; ``verify.classify``'s
  rules);
* ``converged`` to a minimum with flat directions, a saddle, a maximum or a degenerate point
  on two consecutive classifications, at the same point (to 1e-6 relative): a flow that only
  passes close to a saddle leaves it within a decade or so of flow time, in float64, and one
  that drifts slowly along flat directions (where float64 cannot tell a valley of minima from a
  slow escape) moves between two decades; one that converges, as to a saddle on an invariant
  subspace of a symmetric network, stays;
* ``diverging``: the growth signature on the tail (see :mod:`verify.dynamics.outcome`) on ``confirm``
  (default 3) consecutive classifications, i.e. on that many disjoint decades of flow time (a
  transient, such as a flow crossing from one plateau to the next, shows it on one or two);
* a trajectory stopped by an event (``diverged``: the divergence radius or an overflow;
  ``stationary``) is classified once at the end.

Anything else is ``undecided`` with the classifier's reason and the budget that ran out. The
certified escape radius (a radius R with L(theta(t)) < l(R), a certified lower bound of L on
the ball |theta| <= R, so that the flow has left that ball for good) is not computed here:
``Outcome.escape_radius`` is left None for the certified tier to fill.

Both tiers: an ``np`` landscape (float64, ``solve_flow``, ensembles of members followed
together, each stopped when decided) and an ``mp`` landscape (``solve_flow_mp`` at the
landscape's digits, one member).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import InputError
from .outcome import TAIL_SPAN, Outcome, classify
from .trajectory import Events, Status, StepControl, Trajectory

__all__ = ["Budget", "FollowedFlow", "FollowResult", "follow_flow"]


@dataclass(frozen=True)
class Budget:
    """What a followed flow may spend before it is reported undecided.

    Parameters
    ----------
    seconds : float or None
        Wall time of the whole call (all members together); None: no limit. Wall time
        depends on the machine: for reproducible results give a flow-time or step budget.
    t_max : float
        Flow time.
    max_steps : int
        Steps per member (accepted plus rejected).
    """

    seconds: float | None = 60.0
    t_max: float = 1e12
    max_steps: int = 2_000_000

    def __post_init__(self) -> None:
        if self.seconds is not None and (isinstance(self.seconds, bool) or not isinstance(self.seconds, (int, float))
                                         or not self.seconds > 0 or not math.isfinite(self.seconds)):
            raise InputError("budget.seconds", self.seconds, "must be a positive number of seconds, or None")
        if isinstance(self.t_max, bool) or not isinstance(self.t_max, (int, float)) or not self.t_max > 0 \
                or not math.isfinite(self.t_max) or self.t_max > 1e300:
            raise InputError("budget.t_max", self.t_max, "must be a positive, finite flow time, e.g. 1e12")
        if isinstance(self.max_steps, bool) or not isinstance(self.max_steps, int) or self.max_steps < 1:
            raise InputError("budget.max_steps", self.max_steps, "must be a positive integer")

    def to_json(self) -> dict[str, Any]:
        return {"seconds": self.seconds, "t_max": self.t_max, "max_steps": self.max_steps}


@dataclass(frozen=True)
class FollowedFlow:
    """One flow followed until decided.

    Attributes
    ----------
    trajectory : Trajectory
        The whole run (checkpoints from t = 0); status ``stopped`` when it was stopped because
        its outcome was decided.
    outcome : Outcome
        The decision (or the last classification, ``undecided``, with why).
    decided : bool
        True for ``converged`` / ``diverging`` / ``periodic`` outcomes.
    decided_at : float or None
        Flow time of the classification that decided.
    why_stopped : str
        ``decided``, or which budget ran out (``flow time``, ``steps``, ``wall time``), or the
        event that stopped the run.
    segments : tuple of dict
        Every classification: ``t``, ``kind``, ``point_kind``, ``reason``.
    """

    trajectory: Trajectory
    outcome: Outcome
    decided: bool
    decided_at: Any
    why_stopped: str
    segments: tuple[dict[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"decided": self.decided, "decided_at": None if self.decided_at is None else float(self.decided_at),
                "why_stopped": self.why_stopped, "outcome": self.outcome.to_json(),
                "segments": [dict(s) for s in self.segments]}


@dataclass(frozen=True)
class FollowResult:
    """All members of a followed ensemble."""

    members: tuple[FollowedFlow, ...]
    tier: str
    budget: Budget
    wall_time: float
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def decided(self) -> int:
        """How many members were decided."""
        return sum(m.decided for m in self.members)


def decision_times(first: float, t_max: float) -> list[float]:
    """Where the classifier looks: 10^j for first <= 10^j < t_max, and t_max."""
    out = []
    j = math.ceil(math.log10(first) - 1e-12)
    while 10.0 ** j < t_max * (1 - 1e-12):
        out.append(10.0 ** j)
        j += 1
    return out + [float(t_max)]


def _checkpoints(per_decade: int, t_max: float, first: float) -> np.ndarray:
    """Log-spaced checkpoints 10^(k / per_decade) from 1e-3 to t_max, and the decision times."""
    lo = math.floor(-3 * per_decade)
    hi = math.floor(per_decade * math.log10(t_max) + 1e-9)
    times = 10.0 ** (np.arange(lo, hi + 1) / per_decade)
    times = times[times < t_max * (1 - 1e-12)]
    times = np.union1d(times, decision_times(first, t_max))
    return times[times > 0]


def _strict_minimum(out: Outcome) -> bool:
    """A minimum without flat directions: a flow that reaches it stays (no confirmation needed)."""
    return out.point_kind == "minimum" and not out.null_dim


def _same_point(a: Outcome, b: Outcome) -> bool:
    if a.limit is None or b.limit is None:
        return False
    x = np.array([float(v) for v in a.limit])
    y = np.array([float(v) for v in b.limit])
    return bool(np.linalg.norm(x - y) <= 1e-6 * max(1.0, float(np.linalg.norm(y))))


class _Judge:
    """The classifications of one member along its run, and when it counts as decided."""

    def __init__(self, landscape: Any, decide_at: Sequence[float], confirm: int = 3) -> None:
        self.landscape = landscape
        self.confirm = confirm
        self.diverging_run = 0            # consecutive classifications with the divergence signature
        self.decide_at = list(decide_at)
        self.next = 0
        self.segments: list[dict[str, Any]] = []
        self.last: Outcome | None = None
        self.before_last: Outcome | None = None
        self.last_t: float | None = None
        self.before_last_t: float | None = None
        self.decided: Outcome | None = None
        self.decided_at: Any = None

    def due(self, t: float) -> bool:
        hit = False
        while self.next < len(self.decide_at) and t >= self.decide_at[self.next] * (1 - 1e-12):
            self.next += 1
            hit = True
        return hit

    def look(self, traj: Trajectory) -> bool:
        """Classify; True when the outcome is decided."""
        out = classify(self.landscape, traj)
        self.segments.append({"t": float(traj.t), "kind": out.kind, "point_kind": out.point_kind,
                              "reason": out.reason})
        prev, self.last = self.last, out
        self.before_last = prev
        self.before_last_t, self.last_t = self.last_t, float(traj.t)
        decided = False
        self.diverging_run = self.diverging_run + 1 if out.kind == "diverging" else 0
        if out.kind == "diverging":
            decided = self.diverging_run >= self.confirm
            if not decided:
                self.segments[-1]["note"] = (f"the divergence signature on {self.diverging_run} consecutive decade(s): "
                                             f"decided at {self.confirm}")
        elif out.kind == "converged":
            if _strict_minimum(out):
                decided = True
            elif prev is not None and prev.kind == "converged" and prev.point_kind == out.point_kind \
                    and _same_point(prev, out):
                decided = True
            else:
                self.segments[-1]["note"] = ("a critical point that is not a strict minimum: decided only if the flow "
                                             "is still there at the next classification")
        if decided:
            self.decided, self.decided_at = out, traj.t
        return decided


def _why(traj: Trajectory, budget: Budget, t_max: Any) -> str:
    st = traj.status
    if st is Status.STOPPED:
        return "decided"
    if st is Status.OUT_OF_TIME:
        return f"wall time budget ({budget.seconds:g} s) spent"
    if st is Status.MAX_STEPS:
        return f"step budget ({budget.max_steps} steps) spent"
    if st is Status.T1_REACHED:
        return f"flow time budget (t = {float(t_max):g}) spent"
    return f"the run stopped: {traj.status.value} ({traj.message})"


def _history(segments: Sequence[dict[str, Any]], confirm: int) -> str:
    """What the classifications of an undecided member saw on the way (staircases show the
    divergence signature on decades that are not consecutive, with near-critical plateaus between)."""
    def times(kind: str) -> str:
        return ", ".join(f"{s['t']:.3g}" for s in segments if s["kind"] == kind)

    parts = []
    if div := times("diverging"):
        parts.append(f"the divergence signature at t = {div} (deciding needs it on {confirm} consecutive decades)")
    if crit := times("converged"):
        parts.append(f"a critical point at t = {crit} (deciding needs a strict minimum, or the same point on two "
                     "consecutive classifications)")
    return "" if not parts else "; on the way: " + "; ".join(parts)


def _finish(judge: _Judge, traj: Trajectory, budget: Budget, t_max: Any) -> FollowedFlow:
    """The member's result: its decision, or a last classification of where it ended."""
    segments = judge.segments
    if judge.decided is not None:
        return FollowedFlow(traj, judge.decided, True, judge.decided_at, "decided", tuple(segments))
    why = _why(traj, budget, t_max)
    prev, prev_t = judge.last, judge.last_t
    looked_at_end = prev is not None and bool(segments) and segments[-1]["t"] == float(traj.t)
    out: Outcome
    if looked_at_end and prev is not None:
        out, prev, prev_t = prev, judge.before_last, judge.before_last_t
    else:
        out = classify(judge.landscape, traj)
        segments.append({"t": float(traj.t), "kind": out.kind, "point_kind": out.point_kind, "reason": out.reason})
    decided = out.kind in ("converged", "diverging", "periodic")
    if out.kind == "converged" and not _strict_minimum(out) and traj.status is not Status.STATIONARY \
            and not (prev is not None and prev.kind == "converged" and _same_point(prev, out)):
        decided = False
        out = replace(out, kind="undecided", reason=(
            f"{out.reason}; seen at one classification only, so it is not known whether the flow stays at this "
            f"point or passes it (or drifts along its flat directions)"))
    elif out.kind == "diverging" and traj.status is not Status.DIVERGED:
        # the last look counts towards the confirmation only where its tail does not overlap the
        # previous classification's (the run stopped between two decades)
        disjoint = prev_t is None or prev_t * TAIL_SPAN <= float(traj.t) * (1 + 1e-9)
        run = judge.diverging_run if looked_at_end else (
            judge.diverging_run + 1 if disjoint else judge.diverging_run)
        if run < judge.confirm:
            decided = False
            out = replace(out, kind="undecided", reason=(
                f"{out.reason}; the divergence signature on {run} consecutive decade(s) of flow time, not yet on "
                f"{judge.confirm}"))
    if not decided:
        out = replace(out, reason=f"{why}: {out.reason}{_history(segments, judge.confirm)}")
    return FollowedFlow(traj, out, decided, traj.t if decided else None, "decided" if decided else why,
                        tuple(segments))


def follow_flow(landscape: Any, theta0: Any, *, budget: Budget | None = None, solver: Any = "auto",
                control: StepControl | None = None, events: Events | None = None, per_decade: int = 8,
                first_decision: float = 10.0, confirm: int = 3, dps_rtol: Any = None,
                progress: Callable[[float], None] | None = None) -> FollowResult:
    """Follow gradient flows until their outcome is decided or a budget is spent.

    Parameters
    ----------
    landscape
        ``np`` tier: ``NpLandscape`` or ``ExprLandscape(...).np()`` (members followed together
        with ``solve_flow``); ``mp`` tier: ``MpLandscape`` or ``ExprLandscape(...).mp(dps)``
        (one member, ``solve_flow_mp``; its method chooses Taylor, extrapolation or the stiff
        Rosenbrock extrapolation automatically).
    theta0
        np: shape (E, d) or (d,); mp: d exact numbers (strings, Fractions, ints, mpf).
    budget : Budget, keyword-only
        Wall seconds (of the whole call), flow time and steps per member. Default
        ``Budget()``: 60 s, t = 1e12, 2e6 steps.
    solver : keyword-only
        np tier: ``"auto"`` (default) or any solver of ``solve_flow``. Ignored in the mp tier.
    control : StepControl, keyword-only
        np tier tolerances; default rtol 1e-8, atol 1e-10 (the defaults of ``solve_flow``; on
        the SAD flows of ``bench/bench_decide.py`` 1e-10 gives the same states to 7 digits at
        up to 6 times the cost).
    events : Events, keyword-only
        Stopping events; default ``Events(gtol=1e-300)``: the divergence radius 1e8, and no
        stop for a small gradient (a slow divergence has a tiny gradient too: the classifier,
        not a threshold, tells a critical point from a drift).
    per_decade : int, keyword-only
        Checkpoints per decade of flow time (default 8); the classifier's tail fits use them.
    first_decision : float, keyword-only
        The first classification is at the first power of ten >= this flow time (default 10).
    confirm : int, keyword-only
        A divergence is decided when this many consecutive classifications (disjoint decades of
        flow time) show its signature (default 3: on the problems of ``bench/bench_decide.py``
        a slow approach to a valley of exact fits showed it on two decades before it bent).
    dps_rtol : keyword-only
        mp tier: the local tolerance of ``solve_flow_mp`` (default 10^-dps).
    progress : callable(fraction) or None, keyword-only
        Called with the fraction of the budget spent (the largest of wall time, log flow time).

    Returns
    -------
    FollowResult
        One :class:`FollowedFlow` per member: the trajectory, the outcome, whether and when
        it was decided, why the run stopped, and every classification on the way.

    Examples
    --------
    >>> from verify import ExprLandscape, follow_flow, Budget
    >>> res = follow_flow(ExprLandscape("log(1 + exp(-w))", ["w"]).np(), [0.0], budget=Budget(seconds=20))
    >>> m = res.members[0]
    >>> m.decided, m.outcome.kind
    (True, 'diverging')
    """
    budget = Budget() if budget is None else budget
    if not isinstance(budget, Budget):
        raise InputError("budget", budget, "give verify.Budget(seconds=..., t_max=..., max_steps=...)")
    if isinstance(per_decade, bool) or not isinstance(per_decade, int) or not 2 <= per_decade <= 64:
        raise InputError("per_decade", per_decade, "must be an integer in [2, 64], e.g. 8")
    if isinstance(first_decision, bool) or not isinstance(first_decision, (int, float)) or not first_decision > 0:
        raise InputError("first_decision", first_decision, "must be a positive flow time, e.g. 10")
    if isinstance(confirm, bool) or not isinstance(confirm, int) or confirm < 1:
        raise InputError("confirm", confirm, "must be a positive integer, e.g. 3")
    events = Events(gtol=1e-300) if events is None else events
    t_start = time.perf_counter()
    is_mp = hasattr(landscape, "ctx") and hasattr(landscape, "dps")
    t_max = float(budget.t_max)
    decide_at = decision_times(min(first_decision, t_max), t_max)
    times = _checkpoints(per_decade, t_max, min(first_decision, t_max))

    def report(frac_t: float) -> None:
        if progress is None:
            return
        wall = 0.0 if budget.seconds is None else (time.perf_counter() - t_start) / budget.seconds
        progress(min(1.0, max(frac_t, wall)))

    if is_mp:
        return _follow_mp(landscape, theta0, budget, events, times, decide_at, confirm, dps_rtol, report, t_start)
    from .flow import solve_flow

    control = StepControl(rtol=1e-8, atol=1e-10, max_steps=budget.max_steps) if control is None \
        else replace(control, max_steps=min(control.max_steps, budget.max_steps))
    theta = np.array(theta0, dtype=np.float64)
    E = 1 if theta.ndim == 1 else theta.shape[0]
    judges = [_Judge(landscape, decide_at, confirm) for _ in range(E)]

    def until(e: int, traj: Trajectory) -> bool:
        judge = judges[e]
        return judge.due(float(traj.t)) and judge.look(traj)

    res = solve_flow(landscape, theta, t1=t_max, solver=solver, control=control, events=events, checkpoints=times,
                     until=until, max_seconds=budget.seconds,
                     progress=None if progress is None else report)
    members = tuple(_finish(judges[e], m, budget, t_max) for e, m in enumerate(res.members))
    if progress is not None:
        progress(1.0)
    return FollowResult(members, "np", budget, time.perf_counter() - t_start,
                        {"solver": res.solver, "rtol": control.rtol, "atol": control.atol, "per_decade": per_decade})


def _follow_mp(landscape: Any, theta0: Any, budget: Budget, events: Events, times: np.ndarray,
               decide_at: list[float], confirm: int, rtol: Any, report: Callable[[float], None],
               t_start: float) -> FollowResult:
    from .mpflow import solve_flow_mp

    judge = _Judge(landscape, decide_at, confirm)

    def until(traj: Trajectory) -> bool:
        return judge.due(float(traj.t)) and judge.look(traj)

    def prog(t: float, t1: float) -> None:
        report(math.log1p(t) / math.log1p(t1))

    traj = solve_flow_mp(landscape, theta0, t1=budget.t_max, rtol=rtol, events=events,
                         checkpoints=[float(v) for v in times], max_steps=budget.max_steps, until=until,
                         max_seconds=budget.seconds, progress=prog)
    member = _finish(judge, traj, budget, budget.t_max)
    report(1.0)
    return FollowResult((member,), "mp", budget, time.perf_counter() - t_start,
                        {"dps": landscape.dps, "method": traj.extra.get("method")})
