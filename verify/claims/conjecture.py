r"""``@verify.conjecture``: a claim in a few lines.

A conjecture is a function of one *case* (an instance in one tier, with its flow or descent run
when asked for) that returns a margin: >= 0 when the conjectured conclusion held, < 0 when it
failed, None when the case does not decide. Its instances are given like Hypothesis' ``@given``.
The function is the claim's one experiment (:meth:`verify.Claim.experiment`): the engine runs it
in float64 to search and at ``profile.dps`` and twice that many digits to confirm, so it must be
written with the case's tier (``case.tier``) in mind, e.g. ``case.tier.norm(v)`` rather than
``numpy.linalg.norm(v)``. Numbers in a case are already in its tier.

>>> from verify import conjecture, strategies as vst
>>> @conjecture(vst.instances(), flow={"t1": 10})
... def norm_never_decreases(case):
...     "|theta| never decreases along a gradient flow (a guess)"
...     return case.run.theta_norm - case.tier.norm(case.theta0)

``verify conjecture FILE.py`` and the pytest plugin find such conjectures in a file like any
other claim (the decorator returns a :class:`verify.Claim`).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Mapping

from ..dynamics.trajectory import Trajectory
from ..errors import InputError
from .engine import Claim, Instance, Judgement, Profile
from .tier import Tier

__all__ = ["Case", "conjecture"]


@dataclass(frozen=True)
class Case:
    """One instance of a conjecture in one tier.

    Attributes
    ----------
    instance : Instance
        The instance (exact).
    tier : Tier
        The arithmetic of this run (float64 while searching, mp digits when confirming).
    landscape
        The instance's landscape in ``tier`` (``loss``, ``grad``, ``hessian``, ...).
    theta0
        The instance's start in ``tier`` (the problem's initialization when the instance gives
        none), or None for a formula without a start.
    run : Trajectory or None
        The gradient flow (``flow=``) or descent (``descent=``) from ``theta0``, in ``tier``.
    profile : Profile
    """

    instance: Instance
    tier: Tier
    landscape: Any
    theta0: Any
    run: Trajectory | None
    profile: Profile

    def param(self, name: str) -> Any:
        """A named exact parameter of the instance, in this tier."""
        return self.tier.num(self.instance.param(name))

    def loss(self, theta: Any = None) -> Any:
        """L(theta) in this tier (default: at theta0)."""
        return self.landscape.loss(self.theta0 if theta is None else theta)


def _start(instance: Instance) -> tuple[Fraction, ...] | None:
    if instance.theta0 is not None:
        return instance.theta0
    if hasattr(instance.source, "initial_exact"):
        return tuple(instance.source.initial_exact(0))
    return None


def _options(value: Mapping[str, Any] | None, name: str, allowed: set[str], required: set[str]) -> dict[str, Any]:
    if value is None:
        return {}
    example = ", ".join(f"{k!r}: ..." for k in sorted(required))
    if not isinstance(value, Mapping):
        raise InputError(name, value, f"give a dict such as {{{example}}}")
    unknown = set(value) - allowed
    missing = required - set(value)
    if unknown or missing:
        raise InputError(name, dict(value), f"takes {', '.join(sorted(allowed))} (required: {example})")
    return dict(value)


class _Conjecture(Claim):
    """A claim made by :func:`conjecture` (the function is the experiment)."""

    _fn: Callable[[Case], Any]
    _strategy: Any
    _flow: dict[str, Any]
    _descent: dict[str, Any]

    def instances(self, profile: Profile) -> Any:
        s = self._strategy
        return s(profile) if callable(s) and not hasattr(s, "example") else s

    def experiment(self, instance: Instance, profile: Profile, tier: Tier) -> Judgement:
        land = tier.landscape(instance.source)
        start = _start(instance)
        theta0 = None if start is None else (tier.vector(start) if tier.is_float64 else list(tier.vector(start)))
        run = None
        if self._flow or self._descent:
            if start is None:
                raise InputError("instance.theta0", None, "this conjecture follows a flow or descent: give a start")
            if self._flow:
                opts = dict(self._flow)
                run = tier.flow(land, start, **opts)
            else:
                opts = dict(self._descent)
                eta = opts.pop("step_size")
                if isinstance(eta, str) and eta.startswith("param:"):
                    eta = instance.param(eta[len("param:"):])
                run = tier.descent(land, start, step_size=eta, **opts)
        out = self._fn(Case(instance, tier, land, theta0, run, profile))
        if isinstance(out, Judgement):
            return out
        if isinstance(out, tuple) and len(out) == 2:
            margin, summary = out
            return Judgement(margin, str(summary))
        return Judgement(out, "undecided" if out is None else f"{type(self).__name__} = {tier.text(out)}")


def conjecture(instances: Any = None, *, flow: Mapping[str, Any] | None = None,
               descent: Mapping[str, Any] | None = None, title: str | None = None, statement: str = "",
               source: str = "a conjecture", hypotheses: tuple[str, ...] = (), exact: bool = False,
               restartable: bool = False, id: str | None = None) -> Callable[[Callable[[Case], Any]], Claim]:
    """Make a claim of a margin function.

    Parameters
    ----------
    instances : SearchStrategy of Instance, or callable(profile) -> strategy
        Where the search draws instances (default ``verify.strategies.instances()``).
    flow : dict, keyword-only
        Follow the gradient flow from each instance's start: the keywords of
        :meth:`verify.Tier.flow` (``t1`` required; ``checkpoints``, ``stiff``, ``rtol``,
        ``max_steps``, ``events``); ``case.run`` is the trajectory.
    descent : dict, keyword-only
        Run gradient descent instead: ``step_size`` (a number, or ``"param:NAME"`` for an
        instance parameter) and ``steps`` (required), ``events``, ``checkpoints``.
    title, statement, source, hypotheses : keyword-only
        For reports (the title defaults to the docstring's first line, else the name).
    exact : bool, keyword-only
        Confirm once in exact arithmetic (for algebraic conjectures without dynamics).
    restartable : bool, keyword-only
        The conjecture quantifies over all starts (see :class:`verify.Claim`).
    id : str, keyword-only
        The claim's id (default: the function's name).

    Returns
    -------
    callable
        A decorator; it returns the :class:`verify.Claim` (an instance, so a module that defines
        one is a conjecture file for ``verify conjecture``).
    """
    flow_opts = _options(flow, "flow", {"t1", "checkpoints", "stiff", "rtol", "max_steps", "events"}, {"t1"})
    descent_opts = _options(descent, "descent", {"step_size", "steps", "events", "checkpoints"},
                            {"step_size", "steps"})
    if flow_opts and descent_opts:
        raise InputError("descent", dict(descent or {}), "give flow= or descent=, not both")
    if exact and (flow_opts or descent_opts):
        raise InputError("exact", exact, "flows and descents have no exact tier: drop exact=True")

    def wrap(fn: Callable[[Case], Any]) -> Claim:
        if not callable(fn) or len(inspect.signature(fn).parameters) != 1:
            raise InputError("conjecture", fn, "decorate a function of one argument, the case")
        from .. import strategies as vst

        doc = inspect.getdoc(fn) or ""
        attrs = {
            "id": id or fn.__name__, "title": title or (doc.splitlines()[0] if doc else fn.__name__),
            "statement": statement or doc, "source": source, "hypotheses": tuple(hypotheses),
            "method": (f"the margin function {fn.__name__}"
                       + (f" on the gradient flow to t = {flow_opts['t1']}" if flow_opts else "")
                       + (f" on {descent_opts['steps']} GD steps" if descent_opts else "")
                       + ", in float64 to search, at dps and 2 dps digits (or exactly) to confirm"),
            "exact": exact, "restartable": restartable, "_fn": staticmethod(fn),
            "_strategy": instances if instances is not None else vst.instances(),
            "_flow": flow_opts, "_descent": descent_opts, "__module__": fn.__module__, "__doc__": doc,
        }
        cls = type(fn.__name__, (_Conjecture,), attrs)
        return cls()

    return wrap
