r"""Claims, verdicts, and the search for counterexamples.

A :class:`Claim` is a mathematical statement with hypotheses, checked on many instances:

* ``instances(profile)`` -- a Hypothesis strategy of :class:`Instance` (a landscape: a
  :class:`~verify.Problem` or an :class:`~verify.ExprLandscape`; initial parameters; named
  exact parameters such as a step size);
* ``check_hypotheses(instance)`` -- ``None``, or the hypothesis the instance violates;
* ``judge(instance, profile)`` -- the cheap (float64) judgement: a :class:`Judgement` whose
  signed ``margin`` is >= 0 when the conclusion held (``None``: this instance did not decide);
* ``confirm(instance, profile, dps)`` -- the same judgement at ``dps`` digits (or exactly).

:func:`check` runs one claim. Without a given instance it searches with Hypothesis in the
cheap tier, steering with ``hypothesis.target`` towards negative margins; a violation is
shrunk by Hypothesis, and only the shrunk candidate is confirmed, at ``profile.dps`` and at
twice that. The verdicts, worded honestly:

``consistent``
    No counterexample among N judged instances (N, the profile and the seed are reported).
    This does not prove the claim: it says that the search did not find a counterexample.
``counterexample``
    A violation that was found, shrunk, and confirmed at both higher precisions.
``inconclusive``
    Undecided, with the reason: a violation that did not survive the higher precision (never
    a counterexample), no instance that decided, or a judge that failed.
``not_applicable``
    The one given instance violates a hypothesis of the claim (named in the reason).

Every check appends one JSON line (a :class:`CheckResult` record) to a run file, from which
reports are rendered.
"""

from __future__ import annotations

import abc
import hashlib
import importlib
import importlib.util
import json
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, ClassVar, Sequence

from ..errors import InputError
from ..problem.numbers import jsonable as _jsonable
from ..problem.numbers import to_fraction
from .tier import Tier

__all__ = [
    "PROFILES", "Profile", "get_profile", "Instance", "Judgement", "Claim", "Verdict", "CheckResult",
    "Counterexample", "check", "load_claims", "list_claims", "EXIT_CODES",
]

Source = Any   # a Problem or an ExprLandscape


# ---------------------------------------------------------------------------------------
# Profiles
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Profile:
    """Settings of a check, by name.

    Attributes
    ----------
    name : str
    max_examples : int
        Instances the search judges (Hypothesis' ``max_examples``).
    horizon : float
        Multiplier for flow horizons and step counts that claims apply to their defaults.
    dps : int
        Digits of the first confirmation; the second runs at twice as many.
    derandomize : bool
        Without an explicit seed the search is derandomized (the same instances every run).
    shrink_seconds : float
        Wall-clock budget for shrinking a violation (judgements already made are reused
        past it, so the shrunk candidate is always a real violation).
    max_evidence : int
        Per-instance evidence records kept in the result.
    confirm_attempts : int
        Violating instances the engine tries to confirm (the shrunk one first, then the others
        by most negative margin) before it settles for ``inconclusive``.
    confirm_seconds : float
        Wall-clock budget for those attempts (an attempt under way is finished).
    flow_time : float
        Flow time to which claims follow a gradient flow until it is decided (``Tier.follow``).
    flow_steps : int
        Steps per followed flow (float64 and high precision alike).
    flow_seconds : float
        Wall seconds a high-precision followed flow may take (float64 flows are bounded by
        flow time and steps only, so that the search is reproducible).
    search_parts : int
        The search is split into this many independent Hypothesis searches (each with
        ``max_examples / search_parts`` instances and a seed derived from the run's seed and the
        part's index), run one after the other or on as many workers (``--workers``): the same
        seed gives the same instances either way.
    """

    name: str
    max_examples: int
    horizon: float
    dps: int
    derandomize: bool
    shrink_seconds: float
    max_evidence: int
    confirm_attempts: int = 4
    confirm_seconds: float = 300.0
    search_parts: int = 1
    flow_time: float = 1e12
    flow_steps: int = 60_000
    flow_seconds: float = 60.0

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "max_examples": self.max_examples, "horizon": self.horizon, "dps": self.dps,
                "derandomize": self.derandomize, "shrink_seconds": self.shrink_seconds,
                "max_evidence": self.max_evidence, "confirm_attempts": self.confirm_attempts,
                "confirm_seconds": self.confirm_seconds, "search_parts": self.search_parts,
                "flow_time": self.flow_time, "flow_steps": self.flow_steps, "flow_seconds": self.flow_seconds}


PROFILES: dict[str, Profile] = {
    "quick": Profile("quick", max_examples=15, horizon=0.5, dps=25, derandomize=True, shrink_seconds=20.0,
                     max_evidence=50, confirm_attempts=3, confirm_seconds=120.0, flow_time=1e8,
                     flow_steps=20_000, flow_seconds=20.0),
    "ci": Profile("ci", max_examples=40, horizon=1.0, dps=30, derandomize=True, shrink_seconds=60.0,
                  max_evidence=100, confirm_attempts=4, confirm_seconds=300.0, search_parts=2,
                  flow_time=1e12, flow_steps=60_000, flow_seconds=60.0),
    "thorough": Profile("thorough", max_examples=400, horizon=10.0, dps=50, derandomize=False,
                        shrink_seconds=600.0, max_evidence=400, confirm_attempts=8, confirm_seconds=1800.0,
                        search_parts=8, flow_time=1e14, flow_steps=200_000, flow_seconds=600.0),
}
"""The named profiles: ``quick`` (a look), ``ci`` (the CI and ``tox -e verify`` setting,
derandomized), ``thorough`` (more instances, longer horizons, more digits)."""

PROFILE_ENV = "VERIFY_PROFILE"


def get_profile(name: str | Profile | None = None) -> Profile:
    """The profile ``name``; ``None``: ``$VERIFY_PROFILE``, else ``quick``."""
    if isinstance(name, Profile):
        return name
    if name is None:
        name = os.environ.get(PROFILE_ENV) or "quick"
    if name not in PROFILES:
        raise InputError("profile", name, f"choose one of {', '.join(PROFILES)}")
    return PROFILES[name]


# ---------------------------------------------------------------------------------------
# Instances and judgements
# ---------------------------------------------------------------------------------------

def _exact_text(v: Any, name: str) -> str:
    return str(to_fraction(v, name))


def _param_names(source: Any) -> str:
    """The first parameter names of a landscape, for error messages."""
    if hasattr(source, "network"):
        names = source.network.param_names()
    else:
        names = [s.name for s in getattr(source, "symbols", ())]
    return ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")


@dataclass(frozen=True)
class Instance:
    """One instance of a claim: a landscape, initial parameters, named exact parameters.

    Attributes
    ----------
    source : Problem or ExprLandscape
        The loss landscape.
    theta0 : tuple of Fraction or None
        Initial parameters (exact), or None (the problem's own initialization, or none needed).
    params : mapping of str to str
        Further exact parameters, e.g. ``{"step_size": "3/10"}``, as rational text.
    """

    source: Source
    theta0: tuple[Fraction, ...] | None = None
    params: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.theta0 is not None:
            if isinstance(self.theta0, (str, bytes)) or not hasattr(self.theta0, "__len__"):
                raise InputError("instance.theta0", self.theta0,
                                 "give a list of exact numbers such as [\"1/2\", \"-1\"]")
            d = getattr(self.source, "n_params", None)
            if d is not None and len(self.theta0) != d:
                names = _param_names(self.source)
                raise InputError("instance.theta0", f"{len(self.theta0)} values",
                                 f"the landscape has {d} parameters ({names}): give exactly {d}")
            object.__setattr__(self, "theta0", tuple(to_fraction(v, f"instance.theta0[{i}]")
                                                     for i, v in enumerate(self.theta0)))
        if not isinstance(self.params, Mapping):
            raise InputError("instance.params", self.params, "give a table such as { step_size = \"1/10\" }")
        object.__setattr__(self, "params", {str(k): _exact_text(v, f"instance.params.{k}")
                                            for k, v in self.params.items()})

    def param(self, name: str) -> Fraction:
        """A named parameter as an exact Fraction."""
        if name not in self.params:
            example = {"step_size": "13/40", "batch": "4", "seed": "0"}.get(name, "1/2")
            raise InputError(f"params.{name}", None,
                             f"this instance has no {name!r} (it has {sorted(self.params) or 'none'}): give it in the "
                             f"instance file as [instance] params = {{ {name} = \"{example}\" }} (an exact number)")
        return Fraction(self.params[name])

    @property
    def name(self) -> str:
        return str(getattr(self.source, "name", "instance"))

    def to_dict(self) -> dict[str, Any]:
        """A TOML/JSON-ready dict: the problem's tables or an [expression] table, and [instance]."""
        from ..landscapes.formula import ExprLandscape

        if isinstance(self.source, ExprLandscape):
            doc: dict[str, Any] = {"name": self.source.name,
                                   "expression": {"loss": str(self.source.expr),
                                                  "params": [s.name for s in self.source.symbols]}}
        else:
            doc = self.source.to_dict()
        inst: dict[str, Any] = {}
        if self.theta0 is not None:
            inst["theta0"] = [str(v) for v in self.theta0]
        if self.params:
            inst["params"] = dict(self.params)
        if inst:
            doc["instance"] = inst
        return doc

    def to_toml(self) -> str:
        from ..problem.problem import _dump_toml

        return _dump_toml(self.to_dict())

    def describe(self) -> dict[str, Any]:
        """A short JSON description (for evidence records)."""
        from ..landscapes.formula import ExprLandscape

        out: dict[str, Any] = {"name": self.name}
        if isinstance(self.source, ExprLandscape):
            out["loss"] = str(self.source.expr)
            out["params_names"] = [s.name for s in self.source.symbols]
        else:
            net = self.source.network
            out["network"] = {"widths": list(net.widths), "activation": net.activation}
            out["data"] = dict(self.source.data.spec)
            out["target"] = list(self.source.target.exprs)
        if self.theta0 is not None:
            out["theta0"] = [str(v) for v in self.theta0]
        if self.params:
            out["params"] = dict(self.params)
        return out

    def key(self) -> str:
        """A stable identity (for caching judgements and naming files)."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True, default=str).encode()).hexdigest()[:12]

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], *, name: str = "instance") -> Instance:
        from ..landscapes.formula import expression_from_doc
        from ..problem.problem import problem_from_dict

        doc = dict(doc)
        inst = doc.pop("instance", {}) or {}
        if not isinstance(inst, dict):
            raise InputError("[instance]", inst, "must be a table with theta0 = [...] and/or params = {...}")
        unknown = sorted(set(inst) - {"theta0", "params"})
        if unknown:
            raise InputError(f"instance.{unknown[0]}", inst[unknown[0]], "unknown key; [instance] takes theta0, params")
        source: Source
        if "expression" in doc:
            source = expression_from_doc(doc, name=name)
        else:
            source = problem_from_dict(doc, name=name)
        theta0 = inst.get("theta0")
        if theta0 is not None and (not isinstance(theta0, list)):
            raise InputError("instance.theta0", theta0, "give a list of exact numbers such as [\"1/2\", \"-1\"]")
        init = doc.get("init")
        if theta0 is None and isinstance(init, dict) and "theta" in init and hasattr(source, "initial_exact"):
            theta0 = list(source.initial_exact(0))   # a problem file's [init] theta is the start
        params = inst.get("params", {})
        if not isinstance(params, dict):
            raise InputError("instance.params", params, "give a table such as { step_size = \"1/10\" }")
        return cls(source, None if theta0 is None else tuple(theta0), params)

    @classmethod
    def load(cls, path: str | Path, *, field: str = "--problem") -> Instance:
        """Read an instance file (a problem or formula file, with an optional [instance] table)."""
        from ..problem.problem import read_toml

        p = Path(path)
        doc = read_toml(p, field=field, what="problem or instance file")
        return cls.from_dict(doc, name=p.stem)


@dataclass(frozen=True)
class Judgement:
    """What a claim saw on one instance.

    Attributes
    ----------
    margin : float, Fraction, mpf or None
        >= 0: the conclusion held (by that much); < 0: violated; None: this instance did not
        decide (e.g. a flow whose outcome is undecided at the horizon).
    summary : str
        One line for tables.
    evidence : mapping
        JSON-serializable figures: numbers (mp numbers as decimal strings), and optionally
        ``series`` (``{"t": [...], "loss": [...], "theta_norm": [...], "grad_norm": [...]}``),
        ``spectrum`` (Hessian eigenvalues), ``outcome`` (a category for histograms), which
        reports draw.
    restart : tuple of Fraction or None
        A late state of the experiment (e.g. a flow's state at the last checkpoint), exact. For a
        claim that quantifies over all starts (``Claim.restartable``), the engine may confirm a
        violation on the instance that starts there, when the full experiment from the original
        start cannot be replayed at higher precision; the record says so.
    restart_note : str
        Where the restart state comes from ("the float64 flow's state at t = 1e6").
    certificate : mapping or None
        A per-instance proof, when the judgement rests on one (JSON-serializable): ``kind``,
        ``statement`` (what is proved), the enclosures (box, bounds, inertia) and ``recheck``
        (the call that re-checks it). Results count the decided instances that carry one.
    """

    margin: Any
    summary: str = ""
    evidence: Mapping[str, Any] = field(default_factory=dict)
    certificate: Mapping[str, Any] | None = None
    restart: tuple[Fraction, ...] | None = None
    restart_note: str = ""

    @property
    def decided(self) -> bool:
        return self.margin is not None

    @property
    def violated(self) -> bool:
        return self.margin is not None and self.margin < 0

    def margin_text(self) -> str | None:
        if self.margin is None:
            return None
        if isinstance(self.margin, float):
            return repr(float(self.margin))
        if hasattr(self.margin, "_mpf_"):
            import mpmath

            return mpmath.nstr(self.margin, 15)
        return str(self.margin)

    def margin_float(self) -> float:
        """The margin as a float for steering (sign kept: tiny mp margins become +-1e-300)."""
        m = self.margin
        if m is None:
            return 0.0
        try:
            f = float(m)
        except (TypeError, ValueError, OverflowError):
            f = math.inf if m > 0 else -math.inf
        if f == 0 and m != 0:
            f = 1e-300 if m > 0 else -1e-300
        return f

    def to_json(self) -> dict[str, Any]:
        out = {"margin": self.margin_text(), "summary": self.summary, "evidence": _jsonable(dict(self.evidence))}
        if self.restart is not None:
            out["restart_note"] = self.restart_note
        if self.certificate is not None:
            out["certificate"] = _jsonable(dict(self.certificate))
        return out


# ---------------------------------------------------------------------------------------
# Claims
# ---------------------------------------------------------------------------------------

class Claim(abc.ABC):
    """A claim: a statement, its hypotheses, how to draw instances, judge one and confirm it.

    Subclasses set the class attributes, implement ``instances``, and state the experiment
    that judges one instance **once**, as :meth:`experiment` (instance, profile, tier): the
    engine runs it in ``Tier.float64()`` to search and at ``Tier.mp(profile.dps)`` and
    ``Tier.mp(2 * profile.dps)`` (or ``Tier.exact()`` when ``exact = True``) to confirm a
    violation, so the confirmation replays the same experiment. ``check_hypotheses``
    (default: all hold) is optional.

    The older form, a float64 :meth:`judge` and a separate :meth:`confirm`, keeps working: a
    claim that overrides ``judge`` is judged by it, and confirmed by its own ``confirm`` (or,
    without one, a violation stays ``inconclusive``).

    Attributes
    ----------
    id : str
        The claim's id: the module name in ``theorems/`` (set by the loader when empty).
    title : str
        One line.
    statement : str
        The statement, with LaTeX where it helps.
    source : str
        Paper and theorem number, e.g. ``"Kranz, Gallon, Dereich, Jentzen 2025, Theorem 2.8"``.
    hypotheses : tuple of str
        The hypotheses an instance must satisfy.
    method : str
        How an instance is judged and confirmed, with tolerances (for reports).
    exact : bool
        The experiment is algebraic: confirm it once in ``Tier.exact()`` instead of at two
        precisions.
    restartable : bool
        The claim quantifies over all starts theta0 of its landscapes, so an instance that
        starts at a late state of another instance's experiment (``Judgement.restart``) is an
        instance too (see :func:`check`).
    """

    id: ClassVar[str] = ""
    title: ClassVar[str] = ""
    statement: ClassVar[str] = ""
    source: ClassVar[str] = ""
    hypotheses: ClassVar[tuple[str, ...]] = ()
    method: ClassVar[str] = ""
    exact: ClassVar[bool] = False
    restartable: ClassVar[bool] = False

    @abc.abstractmethod
    def instances(self, profile: Profile) -> Any:
        """A Hypothesis strategy of ``Instance`` satisfying the hypotheses."""

    def check_hypotheses(self, instance: Instance) -> str | None:
        """None when the instance satisfies the hypotheses, else which one it violates and why."""
        return None

    def experiment(self, instance: Instance, profile: Profile, tier: Tier) -> Judgement:
        """The judgement of one instance, written once for every tier (see the class notes)."""
        raise NotImplementedError

    @property
    def tier_neutral(self) -> bool:
        """Whether the claim states its experiment once (overrides :meth:`experiment`)."""
        return type(self).experiment is not Claim.experiment

    def judge(self, instance: Instance, profile: Profile) -> Judgement:
        """The cheap (float64) judgement of one instance: the experiment in float64."""
        if not self.tier_neutral:
            raise NotImplementedError(f"{type(self).__name__} defines neither experiment() nor judge()")
        return self.experiment(instance, profile, Tier.float64())

    def confirm(self, instance: Instance, profile: Profile, dps: int) -> Judgement:
        """The judgement at ``dps`` digits: the experiment in ``Tier.mp(dps)`` (``Tier.exact()``
        for an exact claim); not available for a claim with only a float64 ``judge``."""
        if not self.tier_neutral:
            raise NotImplementedError
        return self.experiment(instance, profile, Tier.exact() if self.exact else Tier.mp(dps))

    def describe(self) -> dict[str, Any]:
        return {"id": self.id or type(self).__name__, "title": self.title, "statement": self.statement,
                "source": self.source, "hypotheses": list(self.hypotheses), "method": self.method}


class Verdict(str, Enum):
    """The verdict of a check (see the module notes for the wording)."""

    CONSISTENT = "consistent"
    COUNTEREXAMPLE = "counterexample"
    INCONCLUSIVE = "inconclusive"
    NOT_APPLICABLE = "not_applicable"

    def __str__(self) -> str:
        return self.value


EXIT_CODES = {Verdict.CONSISTENT: 0, Verdict.COUNTEREXAMPLE: 1, Verdict.INCONCLUSIVE: 3,
              Verdict.NOT_APPLICABLE: 4}
"""Exit codes of ``verify check``: 0 consistent, 1 counterexample, 3 inconclusive, 4 not
applicable (2 is bad usage or input)."""


@dataclass(frozen=True)
class Counterexample:
    """A confirmed (or unconfirmed) violation: the shrunk instance and its judgements.

    ``file`` and ``replay`` are set when the instance was written out: ``replay`` is the one-line
    command that judges that instance again. ``attempts`` lists every candidate the engine tried
    to confirm and why each failed; ``note`` says when the instance is a restart from a late
    state of the experiment on another instance. Confirmations at dps 0 are exact.
    """

    instance: Instance
    judgement: Judgement
    confirmations: tuple[tuple[int, Judgement], ...]
    confirmed: bool
    file: str | None = None
    replay: str | None = None
    attempts: tuple[Mapping[str, Any], ...] = ()
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"instance": self.instance.describe(), "instance_toml": self.instance.to_toml(),
                "judgement": self.judgement.to_json(),
                "confirmations": [{"dps": d, **j.to_json()} for d, j in self.confirmations],
                "confirmed": self.confirmed, "file": self.file, "replay": self.replay,
                "attempts": [dict(a) for a in self.attempts], "note": self.note}


@dataclass(frozen=True)
class CheckResult:
    """The outcome of checking one claim.

    Attributes
    ----------
    claim : dict
        The claim's description (id, title, statement, source, hypotheses, method).
    verdict : Verdict
    reason : str
        The verdict in words, with N, the profile and the seed.
    instances : int
        Instances judged (all judgements, including those made while shrinking).
    undecided : int
        Judged instances that did not decide.
    rejected : int
        Drawn instances that violated a hypothesis (skipped).
    evidence : tuple of dict
        Per-instance records (at most ``profile.max_evidence``): instance, margin, summary,
        figures.
    counterexample : Counterexample or None
    profile : Profile
    seed : int or None
        None: derandomized.
    wall_s : float
    certified : int
        Decided instances whose judgement carries a certificate (a per-instance proof).
    """

    claim: Mapping[str, Any]
    verdict: Verdict
    reason: str
    instances: int
    undecided: int
    rejected: int
    evidence: tuple[Mapping[str, Any], ...]
    counterexample: Counterexample | None
    profile: Profile
    seed: int | None
    wall_s: float
    certified: int = 0

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]

    def to_json(self) -> dict[str, Any]:
        """``{"claim", "verdict", "instances", "evidence", "counterexample", ...}``."""
        return {"claim": self.claim["id"], "verdict": self.verdict.value, "reason": self.reason,
                "instances": self.instances, "undecided": self.undecided, "rejected": self.rejected,
                "evidence": list(self.evidence),
                "counterexample": None if self.counterexample is None else self.counterexample.to_json(),
                "profile": self.profile.name, "seed": self.seed, "wall_s": round(self.wall_s, 3),
                "certified": self.certified}

    def record(self) -> dict[str, Any]:
        """The run-record line: the result, the claim's description, the profile and provenance."""
        out = self.to_json()
        out["schema"] = 1
        out["claim_info"] = dict(self.claim)
        out["profile"] = self.profile.to_json()
        out["provenance"] = provenance()
        return out


def provenance() -> dict[str, Any]:
    """Package versions, Python, platform and the git commit of the working tree (if any)."""
    import hypothesis
    import mpmath
    import numpy
    import scipy
    import sympy

    from .. import __version__

    commit = None
    try:
        root = Path(__file__).resolve().parents[1]
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, check=False)
        if out.returncode == 0:
            commit = out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return {"verify": __version__, "python": platform.python_version(), "platform": platform.platform(),
            "numpy": numpy.__version__, "scipy": scipy.__version__, "sympy": sympy.__version__,
            "mpmath": mpmath.__version__, "hypothesis": hypothesis.__version__, "git_commit": commit}


# ---------------------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------------------

class _Violation(Exception):
    def __init__(self, instance: Instance, judgement: Judgement) -> None:
        super().__init__(judgement.summary)
        self.instance = instance
        self.judgement = judgement


class _JudgeFailed(Exception):
    def __init__(self, instance: Any, error: BaseException) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.instance = instance
        self.error = error


class _Search:
    """The bookkeeping of one search: judgements cached by instance, evidence, counters."""

    def __init__(self, claim: Claim, profile: Profile, progress: Callable[[int, int], None] | None) -> None:
        self.claim = claim
        self.profile = profile
        self.progress = progress
        self.cache: dict[str, Judgement | BaseException] = {}
        self.evidence: list[dict[str, Any]] = []
        self.judged = 0
        self.undecided = 0
        self.certified = 0
        self.rejected = 0
        self.first_violation: float | None = None
        #: every violating instance judged (key -> (instance, judgement)), in the order found
        self.violations: dict[str, tuple[Instance, Judgement]] = {}

    def judge(self, instance: Instance) -> Judgement:
        key = instance.key()
        hit = self.cache.get(key)
        if hit is None:
            past_budget = (self.first_violation is not None
                           and time.perf_counter() - self.first_violation > self.profile.shrink_seconds)
            if past_budget:
                # shrinking ran out of time: new candidates are not judged (not interesting)
                return Judgement(None, "not judged: the shrinking budget is spent")
            began = time.perf_counter()
            try:
                hit = self.claim.judge(instance, self.profile)
                if not isinstance(hit, Judgement):
                    raise TypeError(f"judge returned {type(hit).__name__}, not a Judgement")
            except Exception as exc:   # a failing judge is reported, not raised through Hypothesis
                hit = exc
            self.cache[key] = hit
            self.judged += 1
            if isinstance(hit, Judgement):
                if not hit.decided:
                    self.undecided += 1
                elif hit.certificate is not None:
                    self.certified += 1
                if len(self.evidence) < self.profile.max_evidence:
                    self.evidence.append({"instance": instance.describe(), **hit.to_json(),
                                          "cost_s": round(time.perf_counter() - began, 4)})
            if self.progress is not None:
                self.progress(self.judged, self.profile.max_examples)
        if isinstance(hit, BaseException):
            raise _JudgeFailed(instance, hit)
        if hit.violated:
            if self.first_violation is None:
                self.first_violation = time.perf_counter()
            self.violations.setdefault(key, (instance, hit))
        return hit


@dataclass(frozen=True)
class SearchPart:
    """What one part of a search saw: plain data, so that it can come back from a worker.

    Attributes
    ----------
    part : int
        The part's index (0 .. profile.search_parts - 1).
    judged, undecided, rejected, certified : int
        Counters as in :class:`CheckResult`.
    evidence : tuple of dict
        Per-instance records, in the order judged.
    violations : tuple of (Instance, Judgement)
        Every violating instance judged, in the order found.
    shrunk : (Instance, Judgement) or None
        The violation Hypothesis shrank to, if any.
    failed : (str, str) or None
        An instance whose judgement raised, and the error.
    unsatisfiable : bool
        No drawn instance satisfied the hypotheses.
    wall_s : float
    """

    part: int
    judged: int
    undecided: int
    rejected: int
    certified: int
    evidence: tuple[Mapping[str, Any], ...]
    violations: tuple[tuple[Instance, Judgement], ...]
    shrunk: tuple[Instance, Judgement] | None
    failed: tuple[str, str] | None
    unsatisfiable: bool
    wall_s: float


def search_part(claim: Claim, profile: Profile, seed: int | None, part: int,
                progress: Callable[[int, int], None] | None = None) -> SearchPart:
    """Run part ``part`` of a claim's search (see ``Profile.search_parts``)."""
    from hypothesis.errors import Unsatisfiable

    began = time.perf_counter()
    state, failure = _search(claim, profile, seed, progress, part=part)
    failed = None
    if isinstance(failure, _JudgeFailed):
        bad = failure.instance
        failed = (json.dumps(bad.describe(), sort_keys=True) if isinstance(bad, Instance) else repr(bad), str(failure))
    return SearchPart(part, state.judged, state.undecided, state.rejected, state.certified, tuple(state.evidence),
                      tuple(state.violations.values()),
                      (failure.instance, failure.judgement) if isinstance(failure, _Violation) else None,
                      failed, isinstance(failure, Unsatisfiable), time.perf_counter() - began)


class _Unsatisfied(Exception):
    """No part drew an instance that satisfied the hypotheses."""


def _merge(claim: Claim, profile: Profile, parts: Sequence[SearchPart],
           progress: Callable[[int, int], None] | None) -> tuple[_Search, BaseException | None]:
    """One search state from its parts (in part order): counters add up, evidence and violations
    are concatenated; the failure is the first part's shrunk violation, else a failed judgement."""
    state = _Search(claim, profile, progress)
    for p in sorted(parts, key=lambda p: p.part):
        state.judged += p.judged
        state.undecided += p.undecided
        state.rejected += p.rejected
        state.certified += p.certified
        state.evidence.extend(dict(e) for e in p.evidence)
        for inst, j in p.violations:
            state.violations.setdefault(inst.key(), (inst, j))
            state.cache.setdefault(inst.key(), j)
    del state.evidence[profile.max_evidence:]
    ordered = sorted(parts, key=lambda p: p.part)
    shrunk = next((p.shrunk for p in ordered if p.shrunk is not None), None)
    if shrunk is not None:
        return state, _Violation(*shrunk)
    failed = next((p.failed for p in ordered if p.failed is not None), None)
    if failed is not None:
        return state, _JudgeFailed(failed[0], RuntimeError(failed[1]))
    if ordered and all(p.unsatisfiable for p in ordered):
        return state, _Unsatisfied()
    return state, None


def _database_key(claim: Claim) -> bytes:
    return f"verify-counterexamples:{claim.id or type(claim).__name__}".encode()


def _replay_database(claim: Claim, state: _Search, database: Any) -> _Violation | None:
    """Judge the counterexamples kept for this claim; the first still violated is the candidate.
    Entries that no longer parse, no longer satisfy the hypotheses or hold now are dropped."""
    key = _database_key(claim)
    found = None
    for raw in sorted(database.fetch(key)):
        try:
            from ..problem.problem import parse_toml

            inst = Instance.from_dict(parse_toml(raw.decode("utf-8"), field="database entry"), name="replayed")
        except (InputError, UnicodeDecodeError):
            database.delete(key, raw)
            continue
        if claim.check_hypotheses(inst) is not None:
            database.delete(key, raw)
            continue
        try:
            j = state.judge(inst)
        except _JudgeFailed:
            continue
        if j.violated:
            found = found or _Violation(inst, j)
        else:
            database.delete(key, raw)
    return found


def _derandomized_seed(claim: Claim) -> int:
    name = claim.id or type(claim).__name__
    return int(hashlib.sha256(f"verify derandomized search: {name}".encode()).hexdigest()[:8], 16)


def _part_seed(claim: Claim, profile: Profile, seed: int | None, part: int | None) -> int:
    """The seed of one part of a search: the run's seed (or the claim's derandomized seed), and
    for a search in several parts one derived from it and the part's index."""
    base = _derandomized_seed(claim) if seed is None and profile.derandomize else (seed or 0)
    if part is None or profile.search_parts == 1:
        return base
    return int(hashlib.sha256(f"{base}:part {part} of {profile.search_parts}".encode()).hexdigest()[:8], 16)


def _part_examples(profile: Profile, part: int | None) -> int:
    if part is None:
        return profile.max_examples
    k, r = divmod(profile.max_examples, profile.search_parts)
    return max(1, k + (1 if part < r else 0))


def _search(claim: Claim, profile: Profile, seed: int | None, progress: Callable[[int, int], None] | None,
            state: _Search | None = None, exclude: frozenset[str] = frozenset(),
            part: int | None = None) -> tuple[_Search, BaseException | None]:
    """One Hypothesis search (of one part, when ``part`` is given). ``exclude``: keys of
    violating instances whose confirmation failed; they count as non-violating, so the search
    (and its shrinker) goes on to others."""
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings, target
    from hypothesis import seed as hseed
    from hypothesis.errors import Unsatisfiable

    state = _Search(claim, profile, progress) if state is None else state
    state.first_violation = None
    strategy = claim.instances(profile)

    def probe(instance: Instance) -> None:
        if not isinstance(instance, Instance):
            raise _JudgeFailed(instance, TypeError(f"instances() drew a {type(instance).__name__}, not an Instance"))
        reason = claim.check_hypotheses(instance)
        if reason is not None:
            state.rejected += 1
            from hypothesis import reject

            reject()
        j = state.judge(instance)
        if exclude and instance.key() in exclude:
            return
        if j.decided:
            target(max(-1e300, min(1e300, -j.margin_float())), label="violation")
        if j.violated:
            raise _Violation(instance, j)

    test = settings(max_examples=_part_examples(profile, part), deadline=None, database=None, derandomize=False,
                    report_multiple_bugs=False, suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet,
                    print_blob=False, phases=(Phase.explicit, Phase.generate, Phase.target, Phase.shrink),
                    )(given(strategy)(probe))
    # derandomized: a seed derived from the claim's id alone (Hypothesis' own derandomization hashes
    # the test function's source, so an edit of this engine would change every claim's instances)
    test = hseed(_part_seed(claim, profile, seed, part))(test)
    failure: BaseException | None = None
    try:
        test()
    except (_Violation, _JudgeFailed) as exc:
        failure = exc
    except Unsatisfiable as exc:
        failure = exc
    return state, failure


def _confirm(claim: Claim, instance: Instance, profile: Profile) -> tuple[tuple[tuple[int, Judgement], ...], str]:
    """Judgements at profile.dps and twice that (once, dps 0, for an exact claim); the second
    item explains a failure."""
    out: list[tuple[int, Judgement]] = []
    levels = (0,) if (claim.tier_neutral and claim.exact) else (profile.dps, 2 * profile.dps)
    for dps in levels:
        try:
            j = claim.confirm(instance, profile, dps or profile.dps)
        except NotImplementedError:
            return tuple(out), "the claim has no higher-precision check"
        except Exception as exc:
            where = "in exact arithmetic" if dps == 0 else f"at {dps} digits"
            return tuple(out), f"the confirmation {where} failed ({type(exc).__name__}: {exc})"
        if not isinstance(j, Judgement):
            return tuple(out), f"the confirmation returned {type(j).__name__}, not a Judgement"
        out.append((dps, j))
    return tuple(out), ""


def _levels_text(confirmations: Sequence[tuple[int, Judgement]]) -> str:
    if [d for d, _ in confirmations] == [0]:
        return "in exact arithmetic"
    return "at " + " and ".join(str(d) for d, _ in confirmations) + " digits"


@dataclass(frozen=True)
class _Attempt:
    """One try at confirming a violation."""

    instance: Instance
    judgement: Judgement
    confirmations: tuple[tuple[int, Judgement], ...]
    confirmed: bool
    why: str
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"instance": self.instance.describe(), "float64_margin": self.judgement.margin_text(),
                "summary": self.judgement.summary, "confirmed": self.confirmed, "why": self.why,
                "note": self.note,
                "confirmations": [{"dps": d, "margin": j.margin_text(), "summary": j.summary}
                                  for d, j in self.confirmations]}


def _attempt(claim: Claim, state: _Search, instance: Instance, judgement: Judgement,
             profile: Profile) -> list[_Attempt]:
    """Confirm one violation; where that is undecided and the claim is restartable, also the
    instance that starts at the judgement's late state (one or two attempts)."""
    confirmations, why = _confirm(claim, instance, profile)
    confirmed = not why and all(j.violated for _, j in confirmations)
    if not confirmed and not why:
        held = [f"{'exact' if d == 0 else f'{d} digits'}: margin {j.margin_text()} ({j.summary})"
                for d, j in confirmations if not j.violated]
        why = "it did not survive the higher precision (" + "; ".join(held) + ")"
    out = [_Attempt(instance, judgement, confirmations, confirmed, why)]
    undecided = any(not j.decided for _, j in confirmations)
    if confirmed or not claim.restartable or judgement.restart is None or not (undecided or why.startswith("the "
                                                                                                       "conf")):
        return out
    try:
        restarted = replace(instance, theta0=judgement.restart)
    except InputError:
        return out
    if claim.check_hypotheses(restarted) is not None:
        return out
    try:
        j2 = state.judge(restarted)
    except _JudgeFailed:
        return out
    note = (f"restarted from {judgement.restart_note or 'a late state of the float64 experiment'} of the "
            f"instance found: an instance of the claim too, since it quantifies over all starts")
    if not j2.violated:
        out.append(_Attempt(restarted, j2, (), False, "the restarted instance is not violated in float64", note))
        return out
    c2, why2 = _confirm(claim, restarted, profile)
    ok2 = not why2 and all(j.violated for _, j in c2)
    if not ok2 and not why2:
        why2 = "it did not survive the higher precision (" + "; ".join(
            f"{d} digits: margin {j.margin_text()}" for d, j in c2 if not j.violated) + ")"
    out.append(_Attempt(restarted, j2, c2, ok2, why2, note))
    return out


def _confirm_some(claim: Claim, state: _Search, shrunk: _Violation, profile: Profile, seed: int | None,
                  progress: Callable[[int, int], None] | None) -> list[_Attempt]:
    """Try the shrunk violation, then the other violating instances seen, by most negative
    margin; when none is left, search again with the failed ones counted as non-violating (so
    the shrinker goes on to another violation). Stops at the first confirmed one, or when the
    profile's attempts or seconds are spent."""
    began = time.perf_counter()
    attempts: list[_Attempt] = []
    tried: set[str] = set()
    queue: list[tuple[Instance, Judgement]] = [(shrunk.instance, shrunk.judgement)]
    while True:
        seen = {shrunk.instance.key()} | tried
        queue += sorted((v for k, v in state.violations.items() if k not in seen and v not in queue),
                        key=lambda v: v[1].margin_float())
        while queue:
            if len(attempts) >= profile.confirm_attempts or time.perf_counter() - began > profile.confirm_seconds:
                return attempts
            inst, j = queue.pop(0)
            if inst.key() in tried:
                continue
            tried.add(inst.key())
            attempts += _attempt(claim, state, inst, j, profile)
            tried.update(a.instance.key() for a in attempts)
            if attempts[-1].confirmed:
                return attempts
        if len(attempts) >= profile.confirm_attempts or time.perf_counter() - began > profile.confirm_seconds:
            return attempts
        _, again = _search(claim, profile, seed, progress, state=state, exclude=frozenset(tried))
        if not isinstance(again, _Violation):
            return attempts
        shrunk = again
        queue = [(again.instance, again.judgement)]


def _write_counterexample(claim: Claim, cx: Counterexample, out_dir: Path | None, claim_ref: str) -> Counterexample:
    if out_dir is None:
        return cx
    # confirmed counterexamples, and candidates that did not survive the confirmation
    folder = out_dir / ("counterexamples" if cx.confirmed else "candidates")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{claim.id or 'claim'}-{cx.instance.key()}.toml"
    what = "counterexample to" if cx.confirmed else "unconfirmed candidate against"
    header = (f"# {what} {claim.id}: {claim.title}\n# {cx.judgement.summary}\n"
              f"# replay: verify check {claim_ref} --problem {path}\n")
    path.write_text(header + cx.instance.to_toml(), encoding="utf-8")
    return replace(cx, file=str(path), replay=f"verify check {claim_ref} --problem {path}")


def check(claim: Claim, *, profile: str | Profile | None = None, seed: int | None = None,
          instance: Instance | None = None, out_dir: str | Path | None = None, record: str | Path | None = None,
          claim_ref: str | None = None, progress: Callable[[int, int], None] | None = None,
          database: Any = None, parts: Sequence[SearchPart] | None = None) -> CheckResult:
    """Check one claim: search for a counterexample, or judge one given instance.

    Parameters
    ----------
    claim : Claim
    profile : str or Profile, keyword-only
        ``quick``, ``ci`` or ``thorough``; default ``$VERIFY_PROFILE`` or ``quick``.
    seed : int or None, keyword-only
        Seed of the search; None: derandomized where the profile says so (else seed 0).
    instance : Instance, keyword-only
        Judge only this instance (``not_applicable`` when it violates a hypothesis).
    out_dir : path, keyword-only
        Where a counterexample file is written (under ``counterexamples/``); None: not written.
    record : path, keyword-only
        A run file (JSON lines) to append the result's record to; None: not recorded.
    claim_ref : str, keyword-only
        How the replay command names the claim (default its id).
    progress : callable, keyword-only
        Called with (instances judged, instances planned).
    database : hypothesis.database.ExampleDatabase, keyword-only
        Where confirmed counterexamples are kept (as instance-file text, never pickled) under a
        key of the claim's id: a later check judges them first, before any new search. None
        (the default, and what ``verify check`` and ``verify run`` use): nothing is kept, so a
        run depends on its seed alone.
    parts : sequence of SearchPart, keyword-only
        The parts of the search, already run (on workers: see :mod:`verify.claims.execute`); None:
        run them here, one after the other.

    Returns
    -------
    CheckResult
    """
    if not isinstance(claim, Claim):
        raise InputError("claim", type(claim).__name__, "give an instance of verify.Claim")
    prof = get_profile(profile)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise InputError("seed", seed, "must be a non-negative integer, e.g. 0")
    ref = claim_ref or claim.id or type(claim).__name__
    out = None if out_dir is None else Path(out_dir)
    start = time.perf_counter()
    seed_text = "derandomized" if (seed is None and prof.derandomize) else f"seed {0 if seed is None else seed}"
    where = f"profile {prof.name}, {seed_text}"
    failure: BaseException | None = None
    if instance is not None:
        if not isinstance(instance, Instance):
            raise InputError("instance", type(instance).__name__, "give a verify.Instance")
        state = _Search(claim, prof, progress)
        reason = claim.check_hypotheses(instance)
        if reason is not None:
            result = CheckResult(claim.describe(), Verdict.NOT_APPLICABLE,
                                 f"the instance violates a hypothesis: {reason}", 0, 0, 1, (), None, prof, seed,
                                 time.perf_counter() - start)
            return _finish(result, record)
        try:
            j = state.judge(instance)
            if j.violated:
                failure = _Violation(instance, j)
        except _JudgeFailed as exc:
            failure = exc
        where = f"the given instance {instance.name}, profile {prof.name}"
    else:
        state = _Search(claim, prof, progress)
        failure = _replay_database(claim, state, database) if database is not None else None
        if failure is not None:
            where = f"replayed from the example database, profile {prof.name}"
        else:
            if parts is None:
                parts = [search_part(claim, prof, seed, k, progress) for k in range(prof.search_parts)]
            else:       # run elsewhere: the claim's time is its parts' and the rest
                start -= sum(p.wall_s for p in parts)
            state, failure = _merge(claim, prof, parts, progress)
    n = state.judged
    decided = n - state.undecided
    cx = None
    if isinstance(failure, _Violation):
        attempts = _confirm_some(claim, state, failure, prof, seed if instance is None else None,
                                 progress) if instance is None else _attempt(claim, state, failure.instance,
                                                                             failure.judgement, prof)
        n, decided = state.judged, state.judged - state.undecided
        won = next((a for a in attempts if a.confirmed), None)
        shown = won if won is not None else attempts[0]
        cx = _write_counterexample(claim, Counterexample(
            shown.instance, shown.judgement, shown.confirmations, shown.confirmed,
            attempts=tuple(a.to_json() for a in attempts), note=shown.note), out, ref)
        tried = f"; {len(attempts)} candidates tried" if len(attempts) > 1 else ""
        if won is not None:
            verdict = Verdict.COUNTEREXAMPLE
            how = "shrunk, and confirmed" if won is attempts[0] else "and confirmed (the shrunk candidate was not)"
            restarted = f" ({won.note})" if won.note else ""
            reason = (f"counterexample found among {n} instances ({where}{tried}), {how} "
                      f"{_levels_text(won.confirmations)}{restarted}: {won.judgement.summary}")
        else:
            verdict = Verdict.INCONCLUSIVE
            first = attempts[0]
            more = (f"; {len(attempts) - 1} more candidate(s) tried, none confirmed ("
                    + "; ".join(a.why for a in attempts[1:]) + ")") if len(attempts) > 1 else ""
            reason = (f"a violation in the float64 judgement ({first.judgement.summary}) is not a "
                      f"counterexample: {first.why}{more}")
    elif isinstance(failure, _JudgeFailed):
        verdict = Verdict.INCONCLUSIVE
        bad = failure.instance
        reason = f"the judgement failed on instance {bad.describe() if isinstance(bad, Instance) else bad}: {failure}"
    elif failure is not None:   # no instance satisfied the hypotheses
        verdict = Verdict.INCONCLUSIVE
        reason = f"no drawn instance satisfied the hypotheses ({state.rejected} rejected; {where})"
    elif decided == 0:
        verdict = Verdict.INCONCLUSIVE
        reason = f"none of the {n} instances judged decided the claim ({where})"
        if instance is not None and state.evidence:      # the one judgement says why
            reason += f": {state.evidence[0].get('summary', '')}"
    else:
        verdict = Verdict.CONSISTENT
        extra = f"; {state.undecided} more did not decide" if state.undecided else ""
        if state.certified:
            extra = f", {state.certified} with certificates{extra}"
        reason = (f"no counterexample found in {decided} decided instances{extra} ({where}). This does not "
                  "prove the claim, only that the search did not find a counterexample")
        if instance is None and not _target_fixed():
            reason += (" (note: this Hypothesis release predates 6.170's fix of target() for large budgets, "
                       "so the steering towards violations is weaker; Python >= 3.11 gets the fixed release)")
    if database is not None and cx is not None and cx.confirmed:
        database.save(_database_key(claim), cx.instance.to_toml().encode("utf-8"))
    result = CheckResult(claim.describe(), verdict, reason, n, state.undecided, state.rejected,
                         tuple(state.evidence), cx, prof, seed, time.perf_counter() - start, state.certified)
    return _finish(result, record)


def _target_fixed() -> bool:
    """Whether the installed Hypothesis has the large-budget ``target()`` fix (6.170)."""
    import hypothesis

    major, minor = (int(x) for x in hypothesis.__version__.split(".")[:2])
    return (major, minor) >= (6, 170)


def _finish(result: CheckResult, record: str | Path | None) -> CheckResult:
    if record is not None:
        path = Path(record)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(result.record(), sort_keys=True) + "\n")
    return result


# ---------------------------------------------------------------------------------------
# Finding claims
# ---------------------------------------------------------------------------------------

def _claims_of_module(module: Any) -> list[Claim]:
    """The claims a module defines: its Claim instances, then its concrete Claim subclasses;
    names starting with an underscore are private helpers, not claims."""
    found: list[Claim] = []
    seen: set[type] = set()
    public = {k: v for k, v in vars(module).items() if not k.startswith("_")}
    for value in public.values():
        if isinstance(value, Claim) and type(value) not in seen:
            found.append(value)
            seen.add(type(value))
    for value in public.values():
        if (isinstance(value, type) and issubclass(value, Claim) and value is not Claim
                and value.__module__ == module.__name__ and not getattr(value, "__abstractmethods__", None)
                and value not in seen):
            found.append(value())
            seen.add(value)
    return found


def _with_id(claim: Claim, default: str) -> Claim:
    if not claim.id:
        type(claim).id = default
    return claim


def load_claims(ref: str) -> list[Claim]:
    """The claims named by ``ref``: a claim id (a module of ``theorems/``), a path to a Python
    file (every claim defined in it), or ``FILE.py::ID`` (one of them)."""
    if not isinstance(ref, str) or not ref:
        raise InputError("CLAIM", ref, "give a claim id (see `verify list`) or a path to a .py file")
    path_part, _, wanted = ref.partition("::")
    if path_part.endswith(".py") or os.sep in path_part or "/" in path_part:
        path = Path(path_part)
        if not path.is_file():
            raise InputError("CLAIM", ref, "no such file: give the path of a Python file that defines claims")
        name = f"verify_user_claims_{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:10]}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise InputError("CLAIM", ref, "cannot be imported as a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[name]
            raise InputError("CLAIM", ref, f"importing it failed ({type(exc).__name__}: {exc}): fix the file") from None
        claims = [_with_id(c, type(c).__name__) for c in _claims_of_module(module)]
        if not claims:
            raise InputError("CLAIM", ref, "defines no claim: subclass verify.Claim in it")
        if wanted:
            claims = [c for c in claims if c.id == wanted]
            if not claims:
                raise InputError("CLAIM", ref, f"has no claim with id {wanted!r}")
        return claims
    ids = list_claims()
    if ref not in ids:
        raise InputError("CLAIM", ref, f"unknown claim id: choose one of {', '.join(ids) or '(none yet)'}, "
                                       "or give a path to a .py file")
    module = importlib.import_module(f"theorems.{ref}")
    claims = [_with_id(c, ref) for c in _claims_of_module(module)]
    if len(claims) != 1:
        raise InputError("CLAIM", ref, f"the module defines {len(claims)} claims; a theorem module defines one")
    return claims


def list_claims() -> list[str]:
    """The ids of the claims in ``theorems/`` (module names), sorted."""
    try:
        package = importlib.import_module("theorems")
    except ImportError:
        return []
    folders = [Path(p) for p in getattr(package, "__path__", [])]
    ids = sorted({p.stem for folder in folders for p in folder.glob("*.py") if not p.stem.startswith("_")})
    return ids


def describe_claims(ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """id, source and title of each claim of ``theorems/``."""
    out = []
    for cid in (ids if ids is not None else list_claims()):
        claim = load_claims(cid)[0]
        out.append(claim.describe())
    return out
