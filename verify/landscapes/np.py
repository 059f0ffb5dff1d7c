"""The float64 tier: loss, gradient, Hessian and Hessian-vector products for ensembles.

Hand-written forward and backward passes (no autodiff framework), vectorized over the
members of an ensemble: parameters of shape (E, d) give losses (E,), gradients (E, d),
Hessians (E, d, d). Hessian-vector products use the R-operator (forward-over-reverse
differentiation of the backward pass, Pearlmutter 1994); the Hessian is the HVP with the
d basis vectors. Memory is bounded by chunking the data (and, for Hessians, members).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.special as sc
import sympy

from ..errors import InputError
from ..problem.network import Network
from ..problem.problem import Problem
from . import compiled as _compiled
from .quadrature import (
    NONPOLY_NODES,
    NONPOLY_PANELS,
    NONPOLY_PIECE_NODES,
    gauss_legendre,
    integrand_degree,
    polynomial_nodes,
)

__all__ = ["NpLandscape"]

Array = np.ndarray
_SQRT1_2 = 0.7071067811865476
_INV_SQRT_2PI = 0.3989422804014327


# --------------------------------------------------------------------------------------
# activations: value, first and second derivative (left branch at a kink)
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Act:
    """s(z), s'(z) and s''(z) in float64; derivatives may reuse the value ``s``."""

    value: Callable[[Array], Array]
    d1: Callable[[Array, Array], Array]
    d2: Callable[[Array, Array, Array], Array]


def _softsign_d2(z: Array, s: Array, ds: Array) -> Array:
    return np.where(z > 0, -2.0, 2.0) * ds / (1.0 + np.abs(z))


def _mish(z: Array) -> Array:
    return z * np.tanh(np.logaddexp(0.0, z))


def _mish_d1(z: Array, s: Array) -> Array:
    t = np.tanh(np.logaddexp(0.0, z))
    return t + z * (1.0 - t * t) * sc.expit(z)


def _mish_d2(z: Array, s: Array, ds: Array) -> Array:
    t = np.tanh(np.logaddexp(0.0, z))
    g = sc.expit(z)
    sech2 = 1.0 - t * t
    return sech2 * g * (2.0 + z * (1.0 - g) - 2.0 * z * t * g)


def _gelu_phi(z: Array) -> Array:
    return _INV_SQRT_2PI * np.exp(-0.5 * z * z)


def _activation(net: Network) -> _Act:
    name = net.activation
    gamma = float(net.slope)
    if name == "tanh":
        return _Act(np.tanh, lambda z, s: 1.0 - s * s, lambda z, s, ds: -2.0 * s * ds)
    if name == "logistic":
        return _Act(sc.expit, lambda z, s: s * (1.0 - s), lambda z, s, ds: ds * (1.0 - 2.0 * s))
    if name == "softplus":
        return _Act(lambda z: np.logaddexp(0.0, z), lambda z, s: sc.expit(z),
                    lambda z, s, ds: ds * (1.0 - ds))
    if name == "gelu":
        return _Act(lambda z: z * sc.ndtr(z), lambda z, s: sc.ndtr(z) + z * _gelu_phi(z),
                    lambda z, s, ds: _gelu_phi(z) * (2.0 - z * z))
    if name == "swish":
        return _Act(lambda z: z * sc.expit(z),
                    lambda z, s: sc.expit(z) * (1.0 + z * (1.0 - sc.expit(z))),
                    lambda z, s, ds: _swish_d2(z))
    if name == "mish":
        return _Act(_mish, _mish_d1, _mish_d2)
    if name == "elu":
        return _Act(lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0.0))),
                    lambda z, s: np.where(z > 0, 1.0, np.exp(np.minimum(z, 0.0))),
                    lambda z, s, ds: np.where(z > 0, 0.0, ds))
    if name == "softsign":
        return _Act(lambda z: z / (1.0 + np.abs(z)), lambda z, s: 1.0 / (1.0 + np.abs(z)) ** 2, _softsign_d2)
    if name == "relu":
        return _Act(lambda z: np.maximum(z, 0.0), lambda z, s: (z > 0).astype(z.dtype),
                    lambda z, s, ds: np.zeros_like(z))
    if name == "leaky_relu":
        return _Act(lambda z: np.where(z > 0, z, gamma * z), lambda z, s: np.where(z > 0, 1.0, gamma),
                    lambda z, s, ds: np.zeros_like(z))
    if name == "identity":
        return _Act(lambda z: z, lambda z, s: np.ones_like(z), lambda z, s, ds: np.zeros_like(z))
    if name == "square":
        return _Act(lambda z: z * z, lambda z, s: 2.0 * z, lambda z, s, ds: np.full_like(z, 2.0))
    raise AssertionError(name)  # pragma: no cover - the registry is validated upstream


def _swish_d2(z: Array) -> Array:
    g = sc.expit(z)
    return g * (1.0 - g) * (2.0 + z * (1.0 - 2.0 * g))


# --------------------------------------------------------------------------------------
# the landscape
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Quad:
    """Data or quadrature nodes for one evaluation: x (n, l0) or (E, n, l0), y and weights."""

    x: Array
    y: Array
    w: Array  # (n,) or (E, n): includes the loss factor and 1/n (or quadrature weights)


#: data points x monomials up to which a polynomial target is evaluated exactly (then rounded)
EXACT_TARGET_WORK = 1_000_000


class NpLandscape:
    """The loss landscape of a problem in float64, vectorized over ensembles.

    Parameters
    ----------
    problem : Problem
        Network, data, target and loss factor.
    chunk_elements : int, keyword-only
        Upper bound on the elements of one intermediate array (members x points x width
        [x directions]); the data (and members) are processed in chunks below it.
    compiled : bool or None, keyword-only
        Use the compiled kernels (``verify.landscapes.compiled``: numba, optional) where they apply:
        a smooth activation (identity, tanh, logistic, softplus, swish, gelu, square) on
        fixed data. ``None`` (default): when numba is installed and ``VERIFY_COMPILED`` is
        not 0; ``True``: require them (``InputError`` without numba); ``False``: numpy only.
        The numpy code is the reference implementation; both give the same numbers up to
        rounding.

    Notes
    -----
    Every method accepts ``theta`` of shape (d,) or (E, d) and answers without or with the
    leading member axis accordingly. No exception is raised for large parameters: values
    that overflow come back as ``inf`` or ``nan`` for that member only, which the dynamics
    report as divergence.

    For the integral loss of a one-hidden-layer relu / leaky_relu network the interval is
    split at the breakpoints -b_j / w_j of each member and integrated exactly (polynomial
    targets); the Hessian then includes the terms from the moving breakpoints,
    2 factor (1 - gamma) r(beta_j) v_j / |w_j| u u^T with u = (beta_j, 1) on (w_j, b_j).
    """

    tier = "np"
    #: a lower bound of the loss (a factor times a mean of squares): used by ``classify``'s path bound
    loss_floor = 0.0

    def __init__(self, problem: Problem, *, chunk_elements: int = 1 << 16, compiled: bool | None = None) -> None:
        if isinstance(chunk_elements, bool) or not isinstance(chunk_elements, int) or chunk_elements < 1024:
            raise InputError("chunk_elements", chunk_elements, "use an integer of at least 1024")
        if compiled is not None and not isinstance(compiled, bool):
            raise InputError("compiled", compiled, "use True, False or None (automatic)")
        if compiled and not _compiled.available():
            raise InputError("compiled", compiled, f"the compiled kernels are not available: "
                             f"{_compiled.unavailable_reason()}; or pass compiled=None")
        self.problem = problem
        self.network = problem.network
        self.n_params = problem.network.n_params
        self.chunk_elements = chunk_elements
        #: the fused one-hidden-layer path reuses its (e, n, H) buffer; its (e, n) temporaries stay
        #: below the allocator's mmap threshold at this size, which avoids page faults on every call
        self.shallow_chunk_elements = max(chunk_elements, 1 << 18)
        self._act = _activation(problem.network)
        self._factor = float(problem.factor)
        self._target_np = self._lambdify_target()
        self._breakpoint_split = (problem.data.interval is not None and problem.network.info.piecewise_linear
                                  and problem.network.activation != "identity")
        self._fixed = None if self._breakpoint_split else self._fixed_quad()
        self._work: dict[tuple[int, int, int, str], Array] = {}
        #: use the fused one-hidden-layer kernel where it applies (tests switch it off to compare)
        self.fused = True
        #: use the compiled kernels where they apply (tests switch it off to compare)
        self.compiled = _compiled.available() if compiled is None else compiled
        self._net_kernel: _compiled.CompiledNet | None = None

    def _kernel(self) -> _compiled.CompiledNet | None:
        """The compiled kernels of this landscape, or None where the numpy code runs."""
        if not self.compiled or self._fixed is None or not _compiled.CompiledNet.supports(self.network):
            return None
        if self._net_kernel is None:
            q = self._fixed
            self._net_kernel = _compiled.CompiledNet(self.network, q.x, q.y, q.w)
        return self._net_kernel

    def _explicit_advance(self) -> Callable[..., Array] | None:
        """The compiled adaptive loop of the explicit pairs
        (``verify.landscapes.compiled.CompiledNet.explicit_advance``), or None where the kernels
        do not apply."""
        kernel = self._kernel()
        return None if kernel is None else kernel.explicit_advance

    def _explicit_stages(self, a_coef: Array, b_coef: Array, theta: Array, grad: Array,
                         h: Array) -> tuple[Array, Array, Array, Array] | None:
        """The stages of one explicit Runge-Kutta step of the gradient flow for every member, in one
        compiled call (``verify.landscapes.compiled_nb.explicit_stages``), or None where the kernels do not apply
        (the solver then evaluates the stages itself)."""
        kernel = self._kernel()
        if kernel is None:
            return None
        return kernel.explicit_stages(a_coef, b_coef, theta, grad, h)

    # ---- setup -----------------------------------------------------------------------
    def _lambdify_target(self) -> Callable[[Array], Array]:
        t = self.problem.target
        fns = [sympy.lambdify(t.symbols, e, modules="numpy") for e in t.sympy_exprs]

        def f(x: Array) -> Array:  # x (..., l0) -> (..., m)
            cols = [x[..., i] for i in range(x.shape[-1])]
            return np.stack([np.broadcast_to(np.asarray(fn(*cols), dtype=np.float64), x.shape[:-1])
                             for fn in fns], axis=-1)

        return f

    def _fixed_quad(self) -> _Quad:
        p = self.problem
        if p.data.interval is None:
            x = p.data.array
            if p.target.polynomial and p.data.n * (p.target.terms or 0) <= EXACT_TARGET_WORK:
                # exact values, rounded once (beyond this much work: float64 evaluation, below)
                y = np.array([[float(v) for v in col] for col in p.target.polynomial_values(p.data.points)]).T
            else:
                y = self._target_np(x)
            w = np.full(p.data.n, self._factor / p.data.n)
            return _Quad(x, y.reshape(p.data.n, -1), w)
        a, b = (float(v) for v in p.data.interval)
        deg = integrand_degree(p)
        if deg is not None:
            u, wu = gauss_legendre(polynomial_nodes(deg))
            x = a + (b - a) * u
            w = (b - a) * wu
        else:
            u, wu = gauss_legendre(NONPOLY_NODES)
            edges = np.linspace(a, b, NONPOLY_PANELS + 1)
            x = (edges[:-1, None] + np.diff(edges)[:, None] * u[None, :]).ravel()
            w = (np.diff(edges)[:, None] * wu[None, :]).ravel()
        x = x[:, None]
        return _Quad(x, self._target_np(x), self._factor * w)

    def _member_quad(self, theta: Array) -> _Quad:
        """Per-member nodes for the relu-type integral loss, split at the breakpoints."""
        p = self.problem
        a, b = (float(v) for v in p.data.interval)  # type: ignore[union-attr]
        layer = self.network.layers[0]
        wv = theta[:, layer.weight]  # (E, N)
        bv = theta[:, layer.bias] if layer.bias is not None else np.zeros_like(wv)
        with np.errstate(divide="ignore", invalid="ignore"):
            beta = np.where(wv != 0, -bv / np.where(wv != 0, wv, 1.0), a)
        beta = np.clip(np.nan_to_num(beta, nan=a, posinf=b, neginf=a), a, b)
        E = theta.shape[0]
        cuts = np.concatenate([np.full((E, 1), a), np.sort(beta, axis=1), np.full((E, 1), b)], axis=1)
        deg = integrand_degree(p)
        m = polynomial_nodes(deg) if deg is not None else NONPOLY_PIECE_NODES
        u, wu = gauss_legendre(m)
        lengths = np.diff(cuts, axis=1)  # (E, P)
        x = (cuts[:, :-1, None] + lengths[:, :, None] * u).reshape(E, -1, 1)
        w = (lengths[:, :, None] * wu).reshape(E, -1) * self._factor
        return _Quad(x, self._target_np(x), w)

    # ---- public API --------------------------------------------------------------------
    def _as_batch(self, theta: object) -> tuple[Array, bool]:
        arr = np.asarray(theta, dtype=np.float64)
        single = arr.ndim == 1
        if arr.ndim not in (1, 2) or arr.shape[-1] != self.n_params:
            raise InputError("theta", f"array of shape {arr.shape}",
                             f"give shape (d,) or (E, d) with d = {self.n_params} for {self.network.describe()}")
        return (arr[None, :] if single else arr), single

    def loss(self, theta: object) -> Array:
        """L(theta): shape (E,), or a 0-d array for theta of shape (d,)."""
        th, single = self._as_batch(theta)
        val = self._run(th, want_grad=False)[0]
        return val[0] if single else val

    def loss_and_grad(self, theta: object) -> tuple[Array, Array]:
        """L(theta) of shape (E,) and grad L(theta) of shape (E, d)."""
        th, single = self._as_batch(theta)
        val, g = self._run(th, want_grad=True)
        assert g is not None
        return (val[0], g[0]) if single else (val, g)

    def grad(self, theta: object) -> Array:
        """grad L(theta): shape (E, d) (or (d,))."""
        return self.loss_and_grad(theta)[1]

    def loss_and_grad_batch(self, theta: object, index: object) -> tuple[Array, Array]:
        """Loss and gradient of the mini-batch loss factor * (1/B) sum_{i in batch} |N(x_i) - f(x_i)|^2.

        ``index`` holds data indices: shape (B,) for one batch shared by all members, or
        (E, B) for a batch per member (repeats allowed: draws with replacement).
        """
        if self._fixed is None or self.problem.data.interval is not None:
            raise InputError("data", "an interval", "mini-batches need point data (points, grid or sample)")
        th, single = self._as_batch(theta)
        idx = np.asarray(index)
        n = self.problem.data.n
        if idx.dtype.kind not in "iu" or idx.ndim not in (1, 2) or idx.size == 0 or (
                idx.ndim == 2 and idx.shape[0] != th.shape[0]) or idx.min() < 0 or idx.max() >= n:
            raise InputError("index", f"array of shape {idx.shape}",
                             f"give data indices in 0 .. {n - 1}, shape (B,) or (E, B) with E = {th.shape[0]}")
        q = self._fixed
        w = np.full(idx.shape, self._factor / idx.shape[-1])
        quad = _Quad(q.x[idx], q.y[idx], w)
        val, g = self._run(th, want_grad=True, quad=quad)
        assert g is not None
        return (val[0], g[0]) if single else (val, g)

    def hvp(self, theta: object, v: object) -> Array:
        """Hessian-vector products H(theta) v.

        ``v`` has shape (E, d) (one direction per member, result (E, d)), or (E, K, d)
        (K directions per member, result (E, K, d)); with theta of shape (d,), ``v`` of
        shape (d,) or (K, d).
        """
        th, single = self._as_batch(theta)
        vv = np.asarray(v, dtype=np.float64)
        one_dir = vv.ndim == (1 if single else 2)
        if single:
            vv = vv[None]
        if one_dir:
            vv = vv[:, None, :]
        if vv.ndim != 3 or vv.shape[0] != th.shape[0] or vv.shape[2] != self.n_params:
            raise InputError("v", f"array of shape {np.asarray(v).shape}",
                             "give one direction per member, shape (E, d), or several, shape (E, K, d)")
        out = self._hvp(th, vv)
        if one_dir:
            out = out[:, 0]
        return out[0] if single else out

    def hessian(self, theta: object) -> Array:
        """The Hessian: shape (E, d, d) (or (d, d)). Not symmetrized (tests check symmetry)."""
        th, single = self._as_batch(theta)
        kernel = self._kernel()
        if kernel is not None:
            out = kernel.hvp(th, None)
            return out[0] if single else out
        eye = np.broadcast_to(np.eye(self.n_params), (th.shape[0], self.n_params, self.n_params))
        out = self._hvp(th, eye)
        return out[0] if single else out

    def realization(self, theta: object, x: object) -> Array:
        """N(x) for inputs x of shape (n, l0): result (E, n, m) (or (n, m))."""
        th, single = self._as_batch(theta)
        xx = np.asarray(x, dtype=np.float64).reshape(-1, self.network.input_dim)
        with np.errstate(all="ignore"):
            out = self._outputs(th, xx)
        return out[0] if single else out

    # ---- kernels -----------------------------------------------------------------------
    def _unpack(self, th: Array) -> list[tuple[Array, Array | None]]:
        E = th.shape[0]
        out = []
        for layer in self.network.layers:
            W = th[:, layer.weight].reshape(E, layer.fan_out, layer.fan_in)
            b = th[:, layer.bias] if layer.bias is not None else None
            out.append((W, b))
        return out

    def _augmented(self, th: Array) -> list[Array]:
        """Per layer [W_k^T; b_k] of shape (E, l_{k-1} + 1, l_k) (a zero row without biases)."""
        E = th.shape[0]
        out = []
        for layer in self.network.layers:
            Wa = np.zeros((E, layer.fan_in + 1, layer.fan_out))
            Wa[:, :-1, :] = th[:, layer.weight].reshape(E, layer.fan_out, layer.fan_in).transpose(0, 2, 1)
            if layer.bias is not None:
                Wa[:, -1, :] = th[:, layer.bias]
            out.append(Wa)
        return out

    def _forward_aug(self, Wa: list[Array], xa: Array) -> tuple[list[Array], list[Array]]:
        """Forward pass with inputs augmented by a column of ones.

        ``xa`` has shape (n, l0 + 1) or (E, n, l0 + 1). Returns the augmented activations
        A_0 .. A_{L-1} (shape (E, n, l_k + 1), last column 1), the output A_L (E, n, m) as
        the last entry, and the pre-activations Z_1 .. Z_L (E, n, l_k).
        """
        net = self.network
        acts: list[Array] = [xa]
        pre: list[Array] = []
        a = xa
        L = net.depth
        for k in range(L):
            z = np.matmul(a, Wa[k])
            pre.append(z)
            if k < L - 1:
                nxt = np.empty(z.shape[:-1] + (z.shape[-1] + 1,))
                nxt[..., -1] = 1.0
                if net.activated(k):
                    self._act_into(z, nxt[..., :-1])
                else:
                    nxt[..., :-1] = z
                a = nxt
            elif net.activated(k):
                a = np.empty_like(z)
                self._act_into(z, a)
            else:
                a = z
            acts.append(a)
        return acts, pre

    def _act_into(self, z: Array, out: Array) -> None:
        name = self.network.activation
        if name == "tanh":
            np.tanh(z, out=out)
        elif name == "logistic":
            sc.expit(z, out=out)
        else:
            out[...] = self._act.value(z)

    def _d1_into(self, z: Array, s: Array, out: Array) -> Array:
        """s'(z) written into ``out`` (``s`` is s(z), possibly a strided view)."""
        name = self.network.activation
        if name == "tanh":
            np.multiply(s, s, out=out)
            np.subtract(1.0, out, out=out)
        elif name == "logistic":
            np.subtract(1.0, s, out=out)
            np.multiply(out, s, out=out)
        else:
            out[...] = self._act.d1(z, s)
        return out

    def _outputs(self, th: Array, x: Array) -> Array:
        """N(x) for x of shape (n, l0) or (E, n, l0): result (E, n, m)."""
        return self._forward_aug(self._augmented(th), self._augment(x))[0][-1]

    def _xa(self, quad: _Quad) -> Array:
        return self._augment(quad.x)

    @staticmethod
    def _augment(x: Array) -> Array:
        xa = np.empty(x.shape[:-1] + (x.shape[-1] + 1,))
        xa[..., :-1] = x
        xa[..., -1] = 1.0
        return xa

    def _blocks(self, E: int, n: int, per_point: int, limit: int | None = None) -> list[tuple[slice, slice]]:
        """(members, points) blocks with about ``limit`` (default ``chunk_elements``) elements per array."""
        limit = self.chunk_elements if limit is None else limit
        nc = max(1, min(n, limit // max(1, per_point)))
        ec = max(1, min(E, limit // max(1, per_point * nc)))
        return [(slice(e, min(E, e + ec)), slice(i, min(n, i + nc)))
                for e in range(0, E, ec) for i in range(0, n, nc)]

    def _run(self, th: Array, *, want_grad: bool, quad: _Quad | None = None) -> tuple[Array, Array | None]:
        E = th.shape[0]
        if quad is None:
            kernel = self._kernel()
            if kernel is not None:
                return kernel.loss_and_grad(th, want_grad) if want_grad else (kernel.loss_and_grad(th, False)[0], None)
            quad = self._member_quad(th) if self._breakpoint_split else self._fixed
        assert quad is not None
        Wa = self._augmented(th)
        xa = self._xa(quad)
        n = quad.x.shape[-2]
        net = self.network
        total = np.zeros(E)
        grad = np.zeros((E, self.n_params)) if want_grad else None
        per_member = quad.x.ndim == 3
        shallow = (self.fused and not per_member and net.depth == 2 and net.output_dim == 1
                   and not net.output_activation)
        with np.errstate(all="ignore"):
            if shallow:
                for ms, ds in self._blocks(E, n, max(net.widths) + 1, self.shallow_chunk_elements):
                    self._shallow_block(Wa[0][ms], Wa[1][ms], xa[ds], quad.y[ds, 0], quad.w[ds],
                                        total[ms], None if grad is None else grad[ms])
                return total, grad
            for ms, ds in self._blocks(E, n, max(net.widths) + 1):
                x = xa[ms, ds] if per_member else xa[ds]
                y = quad.y[ms, ds] if per_member else quad.y[ds]
                w = quad.w[ms, ds] if per_member else quad.w[ds]
                Wb = [W[ms] for W in Wa]
                acts, pre = self._forward_aug(Wb, x)
                r = acts[-1] - y  # (e, n, m)
                wr = r * (w[..., None] if per_member else w[:, None])
                total[ms] += np.einsum("enm,enm->e", wr, r)
                if grad is not None:
                    g = np.multiply(wr, 2.0, out=wr)
                    self._backward(Wb, acts, pre, g, grad[ms])
        return total, grad

    def _workspace(self, n: int, e: int, h: int, tag: str = "z") -> Array:
        """A reusable (e, n, h) buffer (one per ``tag``): large temporaries are not reallocated
        on every call."""
        key = (e, n, h, tag)
        buf = self._work.get(key)
        if buf is None:
            if len(self._work) > 8:
                self._work.clear()
            buf = self._work[key] = np.empty(key[:3])
        return buf

    def _shallow_block(self, Wa1: Array, Wa2: Array, xa: Array, y: Array, w: Array, total: Array,
                       grad: Array | None) -> None:
        """Fused loss and gradient of a one-hidden-layer network with one affine output.

        With S = s(xa Wa1) of shape (e, n, H), N = S v + c and wr = w (N - y):
        dL/dv = 2 wr^T S, dL/dc = 2 sum wr, and dL/d[W1^T; b1] = 2 v * ((xa * wr)^T s'(Z)).
        For tanh, (xa * wr)^T s'(Z) = sum_n (xa * wr) - (xa * wr)^T S^2 saves a pass.
        """
        z = np.matmul(xa, Wa1, out=self._workspace(xa.shape[0], Wa1.shape[0], Wa1.shape[2]))  # (e, n, H)
        if self.network.activation == "tanh":
            S = np.tanh(z, out=z)
        else:
            S = np.empty_like(z)
            self._act_into(z, S)
        v = Wa2[:, :-1, :]  # (e, H, 1)
        out = np.matmul(S, v)[:, :, 0]  # (e, n)
        out += Wa2[:, -1, :]
        r = np.subtract(out, y, out=out)
        wr = r * w
        total += np.einsum("en,en->e", wr, r)
        if grad is None:
            return
        l1, l2 = self.network.layers
        e, n = wr.shape
        l0 = xa.shape[1] - 1
        wr *= 2.0
        # rows of xwT: wr * x_i for each input coordinate i, and wr itself (the bias row)
        # a reused buffer: a fresh (e, l0 + 1, n) array would be above glibc's mmap threshold and
        # page-fault on every call
        xwT = self._workspace(l0 + 1, e, n, "xw")
        for i in range(l0):
            np.multiply(wr, xa[:, i], out=xwT[:, i, :])
        xwT[:, l0, :] = wr
        gv = np.matmul(wr[:, None, :], S)[:, 0, :]  # (e, H)
        grad[:, l2.weight] += gv
        if l2.bias is not None:
            grad[:, l2.bias] += (wr @ np.ones(n))[:, None]
        if self.network.activation == "tanh":
            T = np.matmul(xwT, np.square(S, out=S))
            np.subtract(np.einsum("ein->ei", xwT)[:, :, None], T, out=T)
        else:
            T = np.matmul(xwT, self._d1_into(z, S, np.empty_like(z)))
        T *= v.transpose(0, 2, 1)  # (e, l0 + 1, H)
        grad[:, l1.weight] += T[:, :-1, :].transpose(0, 2, 1).reshape(e, -1)
        if l1.bias is not None:
            grad[:, l1.bias] += T[:, -1, :]

    def _backward(self, Wa: list[Array], acts: list[Array], pre: list[Array], g: Array, grad: Array) -> None:
        """Accumulate dL/dtheta into ``grad``; g = dL/dA_L of shape (E, n, m)."""
        net = self.network
        layers = net.layers
        e = grad.shape[0]
        for k in range(net.depth - 1, -1, -1):
            if net.activated(k):
                s = acts[k + 1] if k == net.depth - 1 else acts[k + 1][..., :-1]
                gz = self._d1_into(pre[k], s, np.empty_like(pre[k]))
                np.multiply(gz, g, out=gz)
            else:
                gz = g
            a_prev = acts[k]
            if a_prev.ndim == 2:
                ga = np.matmul(a_prev.T, gz)  # (e, l_{k-1} + 1, l_k)
            else:
                ga = np.matmul(a_prev.transpose(0, 2, 1), gz)
            layer = layers[k]
            grad[:, layer.weight] += ga[:, :-1, :].transpose(0, 2, 1).reshape(e, -1)
            if layer.bias is not None:
                grad[:, layer.bias] += ga[:, -1, :]
            if k > 0:
                g = np.matmul(gz, Wa[k][:, :-1, :].transpose(0, 2, 1))

    def _hvp(self, th: Array, V: Array) -> Array:
        """H(theta) V for V of shape (E, K, d), by the R-operator; result (E, K, d)."""
        kernel = self._kernel()
        if kernel is not None:
            return kernel.hvp(th, V)
        E, K, d = V.shape
        out = np.zeros((E, K, d))
        width = max(self.network.widths)
        # members per chunk so that one member's K directions over one point fit
        per_member = K * width
        mchunk = max(1, min(E, self.chunk_elements // max(1, per_member * 8)))
        with np.errstate(all="ignore"):
            for m0 in range(0, E, mchunk):
                ms = slice(m0, min(E, m0 + mchunk))
                out[ms] = self._hvp_members(th[ms], V[ms])
        return out

    def _hvp_members(self, th: Array, V: Array) -> Array:
        net = self.network
        layers = net.layers
        E, K, d = V.shape
        quad = self._member_quad(th) if self._breakpoint_split else self._fixed
        assert quad is not None
        params = self._unpack(th)
        Wa = self._augmented(th)
        dparams = []
        for layer in layers:
            dW = V[:, :, layer.weight].reshape(E, K, layer.fan_out, layer.fan_in)
            db = V[:, :, layer.bias] if layer.bias is not None else None
            dparams.append((dW, db))
        out = np.zeros((E, K, d))
        n = quad.x.shape[-2]
        width = max(net.widths)
        for _, sl in self._blocks(1, n, E * K * width):
            x = quad.x[..., sl, :]
            y = quad.y[..., sl, :]
            w = quad.w[..., sl]
            wb = (w[:, None, :, None] if w.ndim == 2 else w[None, None, :, None])  # (E|1, 1, n, 1)
            acts_aug, pre = self._forward_aug(Wa, self._augment(x))
            acts = [a[..., :-1] for a in acts_aug[:-1]] + [acts_aug[-1]]
            xe = x if x.ndim == 3 else np.broadcast_to(x, (E,) + x.shape)
            # forward tangents, shapes (E, K, n, l_k); forward quantities get a K axis of 1
            A = [xe[:, None]] + [a[:, None] for a in acts[1:]]
            Z = [z[:, None] for z in pre]
            d1 = [self._act.d1(Z[k], A[k + 1]) if net.activated(k) else None for k in range(net.depth)]
            RA: list[Array | None] = [None]
            RZ: list[Array] = []
            for k, ((W, _), (dW, db)) in enumerate(zip(params, dparams)):
                rz = np.matmul(A[k], dW.transpose(0, 1, 3, 2))
                ra_prev = RA[k]
                if ra_prev is not None:
                    rz = rz + np.matmul(ra_prev, W[:, None].transpose(0, 1, 3, 2))
                if db is not None:
                    rz = rz + db[:, :, None, :]
                RZ.append(rz)
                dk = d1[k]
                RA.append(rz * dk if dk is not None else rz)
            # backward and its tangent
            r = A[-1] - y[None] if y.ndim == 2 else A[-1] - y[:, None]
            g = 2.0 * wb * r  # (E, 1, n, m)
            ra_last = RA[-1]
            assert ra_last is not None
            rg = 2.0 * wb * ra_last  # (E, K, n, m)
            for k in range(net.depth - 1, -1, -1):
                W, _ = params[k]
                dW, _db = dparams[k]
                dk = d1[k]
                if dk is not None:
                    gz = g * dk
                    rgz = rg * dk + g * self._act.d2(Z[k], A[k + 1], dk) * RZ[k]
                else:
                    gz, rgz = g, rg
                a_prev = A[k]
                ra_prev = RA[k]
                rgw = np.matmul(rgz.transpose(0, 1, 3, 2), a_prev)
                if ra_prev is not None:
                    rgw = rgw + np.matmul(gz.transpose(0, 1, 3, 2), ra_prev)
                layer = layers[k]
                out[:, :, layer.weight] += rgw.reshape(E, K, -1)
                if layer.bias is not None:
                    out[:, :, layer.bias] += rgz.sum(axis=2)
                if k > 0:
                    rg = np.matmul(rgz, W[:, None]) + np.matmul(gz, dW)
                    g = np.matmul(gz, W[:, None])
        if self._breakpoint_split:
            out += self._breakpoint_terms(th, V)
        return out

    def _breakpoint_terms(self, th: Array, V: Array) -> Array:
        """Hessian terms from breakpoints moving inside the interval (relu-type, one hidden layer)."""
        p = self.problem
        a, b = (float(v) for v in p.data.interval)  # type: ignore[union-attr]
        l1, l2 = self.network.layers
        gamma = float(self.network.left_slope)
        E, K, d = V.shape
        N = l1.fan_out
        wv = th[:, l1.weight]
        bv = th[:, l1.bias] if l1.bias is not None else np.zeros_like(wv)
        vout = th[:, l2.weight].reshape(E, l2.fan_out, N)  # (E, m, N)
        safe_w = np.where(wv != 0, wv, 1.0)
        beta = -bv / safe_w
        inside = (wv != 0) & (beta > a) & (beta < b)
        beta_in = np.where(inside, beta, a)
        # residual at each breakpoint: N(beta_j) - f(beta_j), shape (E, N, m)
        xb = beta_in[:, :, None]  # (E, N, 1) as inputs
        res = self._outputs(th, xb) - self._target_np(xb)  # (E, N, m)
        coef = 2.0 * self._factor * (1.0 - gamma) * np.einsum("ejm,emj->ej", res, vout) / np.abs(safe_w)
        coef = np.where(inside, coef, 0.0)  # (E, N)
        out = np.zeros((E, K, d))
        wi = np.arange(l1.weight.start, l1.weight.stop)
        vw = V[:, :, wi]  # (E, K, N)
        if l1.bias is not None:
            bi = np.arange(l1.bias.start, l1.bias.stop)
            vb = V[:, :, bi]
            s = coef[:, None, :] * (beta_in[:, None, :] * vw + vb)  # (u . v) * coef
            out[:, :, wi] += s * beta_in[:, None, :]
            out[:, :, bi] += s
        else:
            out[:, :, wi] += coef[:, None, :] * beta_in[:, None, :] ** 2 * vw
        return out
