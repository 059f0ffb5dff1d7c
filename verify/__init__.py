"""verify: a symbolic-numeric verification suite for theorems about how neural networks train."""

from .claims.conjecture import Case, conjecture
from .claims.engine import (
    PROFILES,
    CheckResult,
    Claim,
    Counterexample,
    Instance,
    Judgement,
    Profile,
    Verdict,
    check,
    get_profile,
    load_claims,
)
from .claims.tier import Tier
from .critical.bounds import EscapeRadius, LowerBound, escape_radius, loss_lower_bound, loss_upper_bound
from .critical.certgd import CycleCertificate, StabilityCertificate, certify_cycle, certify_gd_stability
from .critical.certify import Certificate, certify_critical_point
from .critical.find import CriticalPoint, CriticalSet, CriticalValue, find_critical_points
from .dynamics.descent import GD, SGD, Adam, Cycle, DescentResult, find_cycle, run_descent
from .dynamics.flow import SOLVERS, Auto, Dop853, Dopri5, FlowResult, Rodas4, solve_flow
from .dynamics.follow import Budget, FollowedFlow, FollowResult, follow_flow
from .dynamics.mpflow import solve_flow_mp
from .dynamics.outcome import Outcome, classify
from .dynamics.trajectory import Checkpoints, Costs, Events, Status, StepControl, Trajectory
from .errors import InputError
from .landscapes.base import LandscapePoint, evaluate, landscape
from .landscapes.exact import ExactLandscape
from .landscapes.formula import ExprLandscape
from .landscapes.mp import MpLandscape
from .landscapes.np import NpLandscape
from .problem.activations import ACTIVATIONS, ActivationInfo
from .problem.network import Network
from .problem.problem import Data, Init, Problem, Target, load_problem, parse_problem
from .problem.relu import (
    ReluSetting,
    relu_constant_fit_point,
    relu_critical_values,
    relu_problem,
    relu_setting,
    relu_zigzag_point,
    wilson_upper,
)
from .stability.stability import (
    Lyapunov,
    MinimumStability,
    NearMinimumRun,
    Nonsingularity,
    PreimageMeasure,
    gd_nonsingularity,
    gd_stability,
    minimum_stability,
    preimage_measure,
    preimage_measure_exact,
    run_near_minimum,
    sample_minima,
    sgd_lyapunov,
)

__version__ = "0.1.0"

__all__ = [
    "PROFILES",
    "Case",
    "conjecture",
    "CheckResult",
    "Claim",
    "Counterexample",
    "Instance",
    "Judgement",
    "Profile",
    "Verdict",
    "check",
    "get_profile",
    "load_claims",
    "ACTIVATIONS",
    "GD",
    "SGD",
    "Adam",
    "Auto",
    "Budget",
    "FollowedFlow",
    "FollowResult",
    "follow_flow",
    "Certificate",
    "Checkpoints",
    "Costs",
    "CriticalPoint",
    "CriticalSet",
    "CriticalValue",
    "Cycle",
    "DescentResult",
    "Dop853",
    "Dopri5",
    "Events",
    "ExprLandscape",
    "FlowResult",
    "Outcome",
    "Rodas4",
    "SOLVERS",
    "Status",
    "StepControl",
    "Tier",
    "Trajectory",
    "certify_critical_point",
    "CycleCertificate",
    "EscapeRadius",
    "LowerBound",
    "StabilityCertificate",
    "certify_cycle",
    "certify_gd_stability",
    "escape_radius",
    "loss_lower_bound",
    "loss_upper_bound",
    "classify",
    "find_critical_points",
    "find_cycle",
    "run_descent",
    "solve_flow",
    "solve_flow_mp",
    "ActivationInfo",
    "Data",
    "ExactLandscape",
    "Init",
    "InputError",
    "LandscapePoint",
    "MpLandscape",
    "Network",
    "NpLandscape",
    "Problem",
    "Target",
    "evaluate",
    "landscape",
    "load_problem",
    "parse_problem",
    "ReluSetting",
    "relu_constant_fit_point",
    "relu_critical_values",
    "relu_problem",
    "relu_setting",
    "relu_zigzag_point",
    "wilson_upper",
    "Lyapunov",
    "MinimumStability",
    "NearMinimumRun",
    "Nonsingularity",
    "PreimageMeasure",
    "gd_nonsingularity",
    "gd_stability",
    "minimum_stability",
    "preimage_measure",
    "preimage_measure_exact",
    "run_near_minimum",
    "sample_minima",
    "sgd_lyapunov",
    "__version__",
]
