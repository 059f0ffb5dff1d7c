"""The network description shared by all tiers, and the parameter layout."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property

from ..errors import InputError
from .activations import DEFAULT_SLOPE, ActivationInfo, activation_info
from .limits import MAX_LAYERS, MAX_PARAMS
from .numbers import to_fraction

__all__ = ["Network", "LayerSlices"]


@dataclass(frozen=True)
class LayerSlices:
    """Where layer k's parameters sit in the flat vector theta.

    ``weight`` is the slice of W_k (shape ``(fan_out, fan_in)``, row-major) and ``bias``
    the slice of b_k, or ``None`` for a network without biases.
    """

    fan_in: int
    fan_out: int
    weight: slice
    bias: slice | None


@dataclass(frozen=True)
class Network:
    """A fully connected feed-forward network.

    Realization N(x) = W_L s(... s(W_1 x + b_1) ...) + b_L; the last layer is affine unless
    ``output_activation`` is true. theta = (W_1, b_1, ..., W_L, b_L), each W_k of shape
    (l_k, l_{k-1}) stored row-major, then b_k.

    Parameters
    ----------
    widths : tuple of int
        (l_0, ..., l_L): input width, hidden widths, output width. At least two entries.
    activation : str
        A name from ``verify.ACTIVATIONS``.
    slope : Fraction
        The negative-side slope gamma of ``leaky_relu`` (s(z) = max(z, gamma z)); ignored
        otherwise.
    biases : bool
        Whether the layers have biases.
    output_activation : bool
        Whether s is applied to the last layer too.
    """

    widths: tuple[int, ...]
    activation: str = "tanh"
    slope: Fraction = DEFAULT_SLOPE
    biases: bool = True
    output_activation: bool = False

    def __post_init__(self) -> None:
        widths = self.widths
        if not isinstance(widths, tuple):
            try:
                widths = tuple(widths)
            except TypeError:
                raise InputError("network.widths", widths,
                                 "give a list of positive integers such as [1, 2, 1]") from None
            object.__setattr__(self, "widths", widths)
        if len(widths) < 2:
            raise InputError("network.widths", list(widths),
                             "needs at least an input and an output width, e.g. [1, 2, 1]")
        for w in widths:
            if isinstance(w, bool) or not isinstance(w, int) or w < 1:
                raise InputError("network.widths", list(widths), "every width must be a positive integer")
        if len(widths) > MAX_LAYERS + 1:
            raise InputError("network.widths", f"{len(widths)} widths", f"at most {MAX_LAYERS} layers")
        if self.n_params > MAX_PARAMS:
            raise InputError("network.widths", list(widths), f"the network has {self.n_params} parameters; the "
                                                             f"suite handles at most {MAX_PARAMS}: use smaller widths")
        activation_info(self.activation)
        slope = to_fraction(self.slope, "network.slope")
        if self.activation == "leaky_relu" and not (0 <= slope < 1):
            raise InputError("network.slope", str(slope), "leaky_relu needs 0 <= slope < 1, e.g. \"1/10\"")
        object.__setattr__(self, "slope", slope)
        if not isinstance(self.biases, bool):
            raise InputError("network.biases", self.biases, "must be true or false")
        if not isinstance(self.output_activation, bool):
            raise InputError("network.output_activation", self.output_activation, "must be true or false")

    @property
    def info(self) -> ActivationInfo:
        """Properties of the activation."""
        return activation_info(self.activation)

    @property
    def left_slope(self) -> Fraction:
        """Slope of the left branch of a piecewise-linear activation: gamma for leaky_relu, 0 for relu."""
        if self.activation == "leaky_relu":
            return self.slope
        return Fraction(0) if self.activation == "relu" else Fraction(1)

    @property
    def depth(self) -> int:
        """Number of affine layers L."""
        return len(self.widths) - 1

    @property
    def input_dim(self) -> int:
        return self.widths[0]

    @property
    def output_dim(self) -> int:
        return self.widths[-1]

    @property
    def n_params(self) -> int:
        """d = sum_k l_k (l_{k-1} + 1) with biases, sum_k l_k l_{k-1} without."""
        extra = 1 if self.biases else 0
        return sum(b * (a + extra) for a, b in zip(self.widths[:-1], self.widths[1:]))

    @cached_property
    def layers(self) -> tuple[LayerSlices, ...]:
        """Slices of theta for each layer, in order."""
        out = []
        pos = 0
        for a, b in zip(self.widths[:-1], self.widths[1:]):
            w = slice(pos, pos + a * b)
            pos += a * b
            bias = None
            if self.biases:
                bias = slice(pos, pos + b)
                pos += b
            out.append(LayerSlices(a, b, w, bias))
        return tuple(out)

    def activated(self, k: int) -> bool:
        """Whether the activation is applied after layer k (0-based)."""
        return k < self.depth - 1 or self.output_activation

    def param_names(self) -> tuple[str, ...]:
        """Readable names, e.g. ``W1[0,0]``, ``b1[0]``, in the order of theta."""
        names: list[str] = []
        for k, layer in enumerate(self.layers, start=1):
            names += [f"W{k}[{i},{j}]" for i in range(layer.fan_out) for j in range(layer.fan_in)]
            if layer.bias is not None:
                names += [f"b{k}[{i}]" for i in range(layer.fan_out)]
        return tuple(names)

    def describe(self) -> str:
        """A one-line description such as ``1-2-1 tanh``."""
        text = "-".join(str(w) for w in self.widths) + " " + self.activation
        if self.activation == "leaky_relu":
            text += f"(slope {self.slope})"
        if not self.biases:
            text += ", no biases"
        if self.output_activation:
            text += ", activated output"
        return text
