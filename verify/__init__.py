"""verify: a symbolic-numeric verification suite for theorems about how neural networks train."""

from ._activations import ACTIVATIONS, ActivationInfo
from ._bounds import EscapeRadius, LowerBound, escape_radius, loss_lower_bound, loss_upper_bound
from ._certgd import CycleCertificate, StabilityCertificate, certify_cycle, certify_gd_stability
from ._certify import Certificate, certify_critical_point
from ._claims import (
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
from ._conjecture import Case, conjecture
from ._critical import CriticalPoint, CriticalSet, CriticalValue, find_critical_points
from ._descent import GD, SGD, Adam, Cycle, DescentResult, find_cycle, run_descent
from ._errors import InputError
from ._exact import ExactLandscape
from ._expr import ExprLandscape
from ._flow import SOLVERS, Auto, Dop853, Dopri5, FlowResult, Rodas4, solve_flow
from ._follow import Budget, FollowedFlow, FollowResult, follow_flow
from ._landscape import LandscapePoint, evaluate, landscape
from ._mp import MpLandscape
from ._mpflow import solve_flow_mp
from ._network import Network
from ._np import NpLandscape
from ._outcome import Outcome, classify
from ._problem import Data, Init, Problem, Target, load_problem, parse_problem
from ._relu import (
    ReluSetting,
    relu_constant_fit_point,
    relu_critical_values,
    relu_problem,
    relu_setting,
    relu_zigzag_point,
    wilson_upper,
)
from ._stability import (
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
from ._tier import Tier
from ._trajectory import Checkpoints, Costs, Events, Status, StepControl, Trajectory

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
