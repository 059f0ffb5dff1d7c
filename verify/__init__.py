"""verify: a symbolic-numeric verification suite for theorems about how neural networks train."""

from ._activations import ACTIVATIONS, ActivationInfo
from ._errors import InputError
from ._exact import ExactLandscape
from ._landscape import LandscapePoint, evaluate, landscape
from ._mp import MpLandscape
from ._network import Network
from ._np import NpLandscape
from ._problem import Data, Init, Problem, Target, load_problem, parse_problem

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
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
    "__version__",
]
