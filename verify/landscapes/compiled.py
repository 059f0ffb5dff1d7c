"""The compiled float64 path: when it applies, and a typed wrapper around its kernels.

``NpLandscape`` (``verify.landscapes.np``) is the reference implementation of the float64 tier, in
numpy. For the common case, a fully connected network with a smooth activation on fixed
data (points, a grid, a sample, or an interval with fixed quadrature nodes), the same
quantities are computed by compiled kernels (``verify.landscapes.compiled_nb``, numba) one member at
a time with no temporaries: loss, gradient, Hessian-vector products, and the stages of an
explicit Runge-Kutta step of the gradient flow. numba is optional (``pip install
verify[fast]``); without it, or with ``VERIFY_COMPILED=0`` in the environment, everything
runs in numpy, with the same results up to rounding.

The kernels are compiled on first use and cached on disk by numba (next to the package,
or in numba's user cache directory where that is not writable); a first call in a new
process loads them from there.
"""

from __future__ import annotations

import importlib
import os
import warnings
from typing import Any, Callable

import numpy as np

__all__ = ["ACT_CODES", "CompiledNet", "available", "unavailable_reason"]

Array = np.ndarray

#: activations with a compiled kernel (codes of ``verify.landscapes.compiled_nb``); others use numpy
ACT_CODES = {"identity": 0, "tanh": 1, "logistic": 2, "softplus": 3, "swish": 4, "square": 5, "gelu": 6}

_STATE: dict[str, Any] = {}
#: (kernel, kind, activation) compiled (or loaded from the cache) in this process
_READY: set[tuple[str, tuple[int, ...], tuple[int, ...]]] = set()

#: float64 values of one block's working set (members per block = this / values per member)
_BLOCK_VALUES = 1 << 18
#: float64 values of one block of Hessian-vector products (directions and results)
_HVP_VALUES = 1 << 21
#: float64 values of one block's Runge-Kutta stages
_STAGE_VALUES = 1 << 16


def _load() -> Any:
    """The kernel module, or None (the reason in ``unavailable_reason()``)."""
    if "module" in _STATE:
        return _STATE["module"]
    module = None
    if os.environ.get("VERIFY_COMPILED", "1").strip().lower() in ("0", "false", "no", "off"):
        _STATE["reason"] = "switched off by VERIFY_COMPILED=0"
    else:
        try:
            module = importlib.import_module("verify.landscapes.compiled_nb")
        except ImportError as exc:  # numba is optional
            _STATE["reason"] = f"numba is not installed ({exc}): pip install 'verify[fast]'"
            module = None
    _STATE["module"] = module
    return module


def available() -> bool:
    """Whether the compiled kernels can be used (numba installed and not switched off)."""
    return _load() is not None


def unavailable_reason() -> str | None:
    """Why the compiled kernels are not used, or None when they are."""
    _load()
    return _STATE.get("reason")


class CompiledNet:
    """Compiled loss, gradient, HVP and explicit RK stages of one network on fixed data.

    Parameters
    ----------
    network : verify.Network
    x : array, shape (n, l0)
        Inputs (data points or quadrature nodes).
    y : array, shape (n, m)
        Targets at ``x``.
    w : array, shape (n,)
        Weights of the points in the loss (factor / n, or quadrature weights times the factor):
        L = sum_i w_i |N(x_i) - y_i|^2.

    Use ``CompiledNet.supports(network)`` first; the kernels need numba (``available()``).
    """

    def __init__(self, network: Any, x: Array, y: Array, w: Array) -> None:
        module = _load()
        if module is None or not self.supports(network):
            raise ValueError("the compiled kernels do not apply here")  # pragma: no cover - callers check
        self._nb = module
        self.n_params = int(network.n_params)
        self._widths = np.asarray(network.widths, dtype=np.int64)
        self._w_off = np.array([layer.weight.start for layer in network.layers], dtype=np.int64)
        self._b_off = np.array([-1 if layer.bias is None else layer.bias.start for layer in network.layers],
                               dtype=np.int64)
        self._act = (0,) * int(ACT_CODES[network.activation])  # the kernels' tag
        self._out_act = bool(network.output_activation)
        # the kernels' kind: (0,) one hidden layer and an affine output (fused), () any network
        self._kind = (0,) if network.depth == 2 and not network.output_activation else ()
        self._x = np.ascontiguousarray(x, dtype=np.float64)
        self._y = np.ascontiguousarray(np.asarray(y, dtype=np.float64).reshape(self._x.shape[0], -1))
        self._w = np.ascontiguousarray(w, dtype=np.float64)
        # members per block: parameters, gradient and a few values per neuron stay in the caches
        per_member = 3 * self.n_params + 8 * int(sum(network.widths[1:])) + 4 * int(max(network.widths))
        self._block = int(min(1024, max(64, (_BLOCK_VALUES // per_member) // 8 * 8)))

    @staticmethod
    def supports(network: Any) -> bool:
        """Whether the kernels cover this network (a smooth activation with a kernel)."""
        return network.activation in ACT_CODES

    def _call(self, name: str, *args: Any) -> None:
        """Run kernel ``name``. Its first call in a process compiles it (or loads it from numba's
        disk cache); numba's inliner then emits NumbaIRAssumptionWarning, an internal "pedantic
        check" about variable scopes after inlining, which is silenced there. (The tests hold every
        kernel equal to the numpy reference and to finite differences.)"""
        kernel: Callable[..., None] = getattr(self._nb, name)
        key = (name, self._kind, self._act)
        if key in _READY:
            kernel(*args)
            return
        from numba.core.errors import NumbaIRAssumptionWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NumbaIRAssumptionWarning)
            kernel(*args)
        _READY.add(key)

    def _net(self) -> tuple[Any, ...]:
        return (self._widths, self._w_off, self._b_off, self._act, self._out_act, self._x, self._y, self._w,
                self._block)

    def loss_and_grad(self, theta: Array, want_grad: bool = True) -> tuple[Array, Array]:
        """Losses (E,) and gradients (E, d) (zeros when not ``want_grad``) of theta (E, d)."""
        th = np.ascontiguousarray(theta, dtype=np.float64)
        E = th.shape[0]
        loss = np.empty(E)
        grad = np.empty((E, self.n_params)) if want_grad else np.empty((E, 0))
        w, wo, bo, act, oa, x, y, wts, block = self._net()
        self._call("loss_grad", self._kind, th, w, wo, bo, act, oa, x, y, wts, block, want_grad, loss, grad)
        return loss, grad

    def hvp(self, theta: Array, V: Array | None) -> Array:
        """H(theta) V for V (E, K, d): (E, K, d); with V None the Hessians (E, d, d)."""
        th = np.ascontiguousarray(theta, dtype=np.float64)
        E, d = th.shape
        if V is None:
            out = np.empty((E, d, d))
            dirs = np.empty((1, 1, d))
            unit = True
        else:
            dirs = np.ascontiguousarray(V, dtype=np.float64)
            out = np.empty(dirs.shape)
            unit = False
        w, wo, bo, act, oa, x, y, wts, block = self._net()
        # a block holds its directions and results, 2 K d values per member: bounded like the numpy path
        K = out.shape[1]
        block = int(max(1, min(block, _HVP_VALUES // (2 * K * d + 10 * int(sum(self._widths[1:]))))))
        self._call("hvp", th, dirs, unit, w, wo, bo, act, oa, x, y, wts, block, out)
        return out

    def explicit_stages(self, a_coef: Array, b_coef: Array, theta: Array, grad: Array,
                        h: Array) -> tuple[Array, Array, Array, Array]:
        """K (S + 1, m, d), y_new (m, d), loss_new (m,), grad_new (m, d) of one explicit RK step
        with the Butcher coefficients ``a_coef`` (S, S) and ``b_coef`` (S,); see
        ``verify.landscapes.compiled_nb.explicit_stages``."""
        th = np.ascontiguousarray(theta, dtype=np.float64)
        g = np.ascontiguousarray(grad, dtype=np.float64)
        hh = np.ascontiguousarray(h, dtype=np.float64)
        m, d = th.shape
        S = a_coef.shape[0]
        K = np.empty((S + 1, m, d))
        y_new = np.empty((m, d))
        loss_new = np.empty(m)
        g_new = np.empty((m, d))
        w, wo, bo, act, oa, x, y, wts, block = self._net()
        # the stages (S + 1 rows of d per member) of a block stay in the second-level cache
        block = int(min(block, max(16, (_STAGE_VALUES // ((S + 3) * d)) // 8 * 8)))
        self._call("explicit_stages", self._kind, th, g, hh, np.ascontiguousarray(a_coef, dtype=np.float64),
                                 np.ascontiguousarray(b_coef, dtype=np.float64), w, wo, bo, act, oa, x, y, wts, block,
                                 K, y_new, loss_new, g_new)
        return K, y_new, loss_new, g_new

    def explicit_advance(self, a_coef: Array, b_coef: Array, e_coef: Array, dop853: bool, exponent: float,
                         idx: Array, theta: Array, grad: Array, loss: Array, t: Array, h: Array, target: Array,
                         steps: Array, rejected: Array, n_grad: Array, control: tuple[float, ...],
                         events: tuple[float, float, float], max_attempts: int, stiff: tuple[Any, ...] | None = None
                         ) -> Array:
        """Adaptive steps of an explicit pair for members ``idx`` until each lands on ``target``
        (arrays updated in place); the outcome per member (``verify.landscapes.compiled_nb.explicit_advance``).
        ``stiff`` = (count, calm, needed, (boundary, horizon, ahead_steps)) turns the stiffness test on."""
        outcome = np.empty(idx.size, dtype=np.int64)
        d = self.n_params
        S = a_coef.shape[0]
        w, wo, bo, act, oa, x, y, wts, block = self._net()
        block = int(min(block, max(16, (_STAGE_VALUES // ((S + 3) * d)) // 8 * 8)))
        self._call("explicit_advance", self._kind, np.ascontiguousarray(idx, dtype=np.int64), theta, grad, loss, t,
                   h, target, steps, rejected, n_grad, outcome, np.ascontiguousarray(a_coef, dtype=np.float64),
                   np.ascontiguousarray(b_coef, dtype=np.float64), np.ascontiguousarray(e_coef, dtype=np.float64),
                   bool(dop853), float(exponent), np.asarray(control, dtype=np.float64),
                   np.asarray(events, dtype=np.float64), int(max_attempts), w, wo, bo, act, oa, x, y, wts, block,
                   *self._stiff_args(stiff, theta.shape[0]))
        return outcome

    @staticmethod
    def _stiff_args(stiff: tuple[Any, ...] | None, E: int) -> tuple[Array, Array, Array, Array]:
        if stiff is None:
            zeros = np.zeros(E, dtype=np.int64)
            return zeros, zeros.copy(), zeros.copy(), np.zeros(3)
        count, calm, needed, params = stiff
        return count, calm, np.ascontiguousarray(needed, dtype=np.int64), np.asarray(params, dtype=np.float64)
