"""verify: a symbolic-numeric verification suite for theorems about how neural networks train."""

from ._activations import ACTIVATIONS, ActivationInfo
from ._errors import InputError
from ._network import Network
from ._problem import Data, Init, Problem, Target, load_problem, parse_problem

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "ActivationInfo",
    "Data",
    "Init",
    "InputError",
    "Network",
    "Problem",
    "Target",
    "load_problem",
    "parse_problem",
    "__version__",
]
