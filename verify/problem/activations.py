"""The one description of the activations, shared by the three tiers.

Each tier implements the functions itself (SymPy expressions, mpmath, numpy); what is
shared is the name, the parameter, and the mathematical properties the theorems ask
about. Convention at a kink (relu, leaky_relu, elu, softsign at z = 0): derivatives are
those of the left branch z < 0, so relu'(0) = 0 as in PyTorch.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ..errors import InputError

__all__ = ["ActivationInfo", "ACTIVATIONS", "activation_info"]


@dataclass(frozen=True)
class ActivationInfo:
    """Properties of an activation function s.

    Attributes
    ----------
    name : str
        Registry name, e.g. ``"tanh"``.
    analytic : bool
        s is real analytic on the whole line (the (A) of SAD).
    sublinear : bool
        limsup |s(t)| / t < inf along rays (the (S) of SAD).
    kink : bool
        s is not analytic at z = 0 (piecewise defined there).
    piecewise_linear : bool
        s is piecewise linear (relu, leaky_relu, identity): exact integral losses.
    polynomial : bool
        s is a polynomial (identity, square): gradient systems are polynomial.
    odd : bool
        s(-z) = -s(z): hidden neurons have a sign-flip symmetry.
    c1 : bool
        s is continuously differentiable.
    """

    name: str
    analytic: bool
    sublinear: bool
    kink: bool
    piecewise_linear: bool
    polynomial: bool
    odd: bool
    c1: bool

    @property
    def sad(self) -> bool:
        """Sublinear, analytic (and definable): the SAD class of Kranz et al. 2025."""
        return self.analytic and self.sublinear and not self.polynomial


def _info(name: str, *, analytic: bool, sublinear: bool = True, kink: bool = False,
          piecewise_linear: bool = False, polynomial: bool = False, odd: bool = False,
          c1: bool = True) -> ActivationInfo:
    return ActivationInfo(name, analytic, sublinear, kink, piecewise_linear, polynomial, odd, c1)


ACTIVATIONS: dict[str, ActivationInfo] = {
    a.name: a
    for a in (
        _info("logistic", analytic=True),
        _info("tanh", analytic=True, odd=True),
        _info("softplus", analytic=True),
        _info("gelu", analytic=True),
        _info("swish", analytic=True),
        _info("mish", analytic=True),
        _info("elu", analytic=False, kink=True),
        _info("softsign", analytic=False, kink=True, odd=True),
        _info("relu", analytic=False, kink=True, piecewise_linear=True, c1=False),
        _info("leaky_relu", analytic=False, kink=True, piecewise_linear=True, c1=False),
        _info("identity", analytic=True, piecewise_linear=True, polynomial=True, odd=True),
        _info("square", analytic=True, sublinear=False, polynomial=True),
    )
}


def activation_info(name: object, field: str = "network.activation") -> ActivationInfo:
    """Look up an activation by name, with an error that lists the known ones."""
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise InputError(field, name, "unknown activation: use one of " + ", ".join(ACTIVATIONS))
    return ACTIVATIONS[name]


DEFAULT_SLOPE = Fraction(1, 100)
