r"""Taylor coefficients of the gradient flow through a network (Taylor-mode differentiation).

For theta' = -grad L(theta), with L the loss of an :class:`verify.MpLandscape` on point
data and an analytic activation, :class:`NetworkJet` computes the Taylor coefficients of
theta(t), of grad L(theta(t)) and of the residuals around a time t0, to a fixed order, by
automatic differentiation in Taylor mode (Griewank & Walther, ch. 13): every intermediate
quantity of the forward pass (z = W a + b, a = s(z)), of the residual and of the
hand-written backward pass (as in ``_mp.py``) is a truncated power series, and its
coefficient of order k is computed from coefficients of order <= k of its inputs:

* products by convolution, (u v)_k = sum_j u_j v_{k-j};
* tanh: t' = (1 - t^2) z'; with nu = t^2 - 1: t_k = -(1/k) sum_{j=1}^k j z_j nu_{k-j};
* logistic: s' = v z' with v = s (1 - s): s_k = (1/k) sum_{j=1}^k j z_j v_{k-j};
* softplus: p' = sigma(z) z', sigma the logistic series;
* swish: z sigma(z), with derivative sigma + z v;
* identity and square: polynomials;

then theta_{k+1} = -g_k / (k + 1), where g_k, the coefficient of order k of
grad L(theta(t)), needs theta_0 .. theta_k only. Transcendental functions are evaluated
only for the coefficients of order 0 (in the landscape's mpmath context).

The tape
--------
All series are rows of one array (orders along the row). At construction the network is
turned into a list of operations (convolutions with a "post" step: shift, sign, 1/k, k;
the first layer as a matrix product with the data; sums; the activations' order-0 starts;
the theta update), and operations that do not depend on each other at the same order are
merged into one *level*: one gather of the left factors, one of the (reversed) right
factors, one row-wise dot product, one ``reduceat`` for sums over neurons or points, one
post step and one scatter. For the 1-2-1 tanh network of the benchmark an order is about
50 numpy calls, whatever the width.

Arithmetic: exact low orders, float64 high orders
-------------------------------------------------
Orders k < ``k_float`` are fixed point: a real v is the integer round(v 2^P) (a gmpy2
``mpz`` in a numpy object array), P = the landscape's working precision in bits plus
``EXTRA_BITS``; a sum of products is shifted once. ``mpz`` in object arrays multiply and
add faster than Python ints (about 55-75 ns against 80-90 ns per product and sum at 150 bits).

Orders k >= ``k_float`` are float64. The series are computed in a scaled time
tau = (t - t0) / h (h = H 2^-P, in practice the previous step), so coefficients of order k
have the size of the quantity times (h / radius)^k. Every term u_j v_{k-j} of a
convolution of order k is then of the size of the coefficient of order k, and computing it
with a relative error 2^-53 costs an absolute error that is 2^-53 times the size of the
term of order k in the step, which for k >= k_float is far below the tolerance. (The driver
chooses k_float from the previous step and checks the bound after each expansion; see
``verify.dynamics.mpflow``.) This cuts the work in big-integer products about threefold at 30 digits.

References
----------
A. Griewank, A. Walther, Evaluating Derivatives (2nd ed.), SIAM 2008, ch. 13.
A. Jorba, M. Zou, "A software package for the numerical integration of ODEs by means of
high-order Taylor methods", Experimental Mathematics 14 (2005).
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from typing import Any, Sequence

import numpy as np
from gmpy2 import mpz
from mpmath import libmp

__all__ = ["SUPPORTED", "EXTRA_BITS", "taylor_support", "NetworkJet", "Jet"]

SUPPORTED = ("tanh", "logistic", "softplus", "swish", "identity", "square")
"""Activations with a Taylor recurrence here (the analytic ones built from exp, and polynomials)."""

EXTRA_BITS = 24
"""Fixed-point bits beyond the landscape's working precision."""

_DENSE_FIRST = 4
"""First layers with at most this many neurons map theta to z with one matrix (see _Lin0)."""

_RND = libmp.round_nearest
_TO_MPZ = np.frompyfunc(mpz, 1, 1)   # float64 array -> object array of mpz (exact: floats are dyadic)
Arr = Any   # numpy array (object of mpz, or float64)
Index = Any  # slice or integer index array


def taylor_support(landscape: Any) -> str | None:
    """None when the Taylor path applies to ``landscape``, else the reason it does not."""
    from ..landscapes.mp import MpLandscape

    if type(landscape) is not MpLandscape:
        return f"the landscape is a {type(landscape).__name__}, not an MpLandscape"
    problem = landscape.problem
    if problem.data.interval is not None:
        return "the data is an interval (integral loss)"
    name = problem.network.activation
    if name not in SUPPORTED:
        return f"no Taylor recurrence for the activation {name!r}"
    return None


def _index(rows: Sequence[int]) -> Index:
    """A slice when the rows are consecutive (a view, not a gather), else an index array."""
    rows = [int(r) for r in rows]
    if rows and rows == list(range(rows[0], rows[0] + len(rows))):
        return slice(rows[0], rows[0] + len(rows))
    return np.array(rows, dtype=np.intp)


# ---------------------------------------------------------------------------------------
# Operations
# ---------------------------------------------------------------------------------------

class _Op:
    """One operation at one order: reads rows at that order, writes rows at that order."""

    reads: set[int]
    writes: list[int]

    def run_int(self, jet: NetworkJet, S: Arr, k: int) -> None:
        """Order k in fixed point (S: object array of mpz)."""
        raise NotImplementedError

    def run_float(self, jet: NetworkJet, F: Arr, k: int) -> None:
        """Order k in float64 (F: float array)."""
        raise NotImplementedError


class _Conv(_Op):
    """targets[t]_k = post(sum over pairs (a, b) of target t of sum_j a_j b_{k-j}) + bias_k.

    post: 'shift' (x 1), 'neg' (x -1), 'half' (x 2), 'divk' (x -1/k), 'divk_pos' (x 1/k),
    'zd' (x k; x 1 at order 0, so that the start of the activation sees z_0).
    ``copies``: rows that receive ``sign`` times the result too. ``minus_y``: subtract the
    targets (in (output, point) order) at order 0.
    """

    def __init__(self, targets: Sequence[int], pairs: Sequence[Sequence[tuple[int, int]]], post: str,
                 reads: set[int], bias: Sequence[int] | None = None, copies: tuple[Sequence[int], int] | None = None,
                 minus_y: bool = False) -> None:
        self.targets = list(targets)
        self.pairs = [list(p) for p in pairs]
        self.post = post
        self.reads = reads
        self.bias = None if bias is None else list(bias)
        self.copies = copies
        self.minus_y = minus_y
        self.writes = list(self.targets) + ([] if copies is None else list(copies[0]))


class _Lin0(_Op):
    """First layer: z[o, p]_k = sum_c W[o, c]_k X[c, p] + b[o]_k (theta rows to z rows).

    Narrow first layers (at most ``_DENSE_FIRST`` neurons) use one matrix M from the layer's
    theta block (a view) to all z rows; wider ones a (fan_out, fan_in + 1) gather and the
    data matrix (M would be mostly zeros)."""

    def __init__(self, jet: NetworkJet, block: slice, cols: Arr, targets: Arr, post: str, minus_y: bool) -> None:
        fo, N = targets.shape
        self.targets = _index(targets.ravel())
        self.post = post          # 'shift' or 'zd'
        self.reads = set()
        self.writes = [int(r) for r in targets.ravel()]
        self.y = jet.Y.ravel() if minus_y else None
        self.dense = fo <= _DENSE_FIRST
        if self.dense:
            self.block = block
            M = np.full((fo * N, block.stop - block.start), mpz(0), dtype=object)
            for o in range(fo):
                for c, col in enumerate(cols[o]):
                    M[o * N:(o + 1) * N, col - block.start] = jet.Xa[c]
            self.M = M
            self.Mk = [M * k for k in range(jet.K + 1)] if post == "zd" else None
            self.Mf = M.astype(float) * 2.0 ** -jet.P
        else:
            self.cols = cols

    def run_int(self, jet: NetworkJet, S: Arr, k: int) -> None:
        if self.dense:
            M = self.M if (self.Mk is None or k < 2) else self.Mk[k]
            z = M.dot(S[self.block, k]) >> jet.P
        else:
            z = S[self.cols, k].dot(jet.Xa)
            if self.post == "zd" and k > 1:
                z = z * k
            z = (z >> jet.P).ravel()
        if k == 0 and self.y is not None:
            z = z - self.y
        S[self.targets, k] = z

    def run_float(self, jet: NetworkJet, F: Arr, k: int) -> None:
        z = self.Mf @ F[self.block, k] if self.dense else (F[self.cols, k] @ jet.Xaf).ravel()
        if self.post == "zd":
            z *= k
        F[self.targets, k] = z


class _Lin0T(_Op):
    """First layer's gradient: g[o, c]_k = sum_p gz[o, p]_k X[c, p] (and sum_p gz for b)."""

    def __init__(self, jet: NetworkJet, lin0: _Lin0 | None, src: Arr, targets: Arr, block: slice | None) -> None:
        """``src`` (n, N) rows to ``targets`` (n, l_0 (+1)) rows; with ``lin0`` (dense) the
        transpose of its matrix, from the rows of the first layer's gz to the block of its
        gradient rows."""
        self.reads = {int(r) for r in src.ravel()}
        self.writes = [int(r) for r in targets.ravel()]
        self.dense = lin0 is not None and lin0.dense
        if lin0 is not None and self.dense:
            self.src = _index(src.ravel())
            self.block = block
            self.MT = np.ascontiguousarray(lin0.M.T)
            self.MTf = np.ascontiguousarray(lin0.Mf.T)
        else:
            self.src = src                  # (fo, N) rows
            self.targets = targets          # (fo, fi (+1)) rows

    def run_int(self, jet: NetworkJet, S: Arr, k: int) -> None:
        if self.dense:
            S[self.block, k] = self.MT.dot(S[self.src, k]) >> jet.P
        else:
            S[self.targets, k] = S[self.src, k].dot(jet.XaT) >> jet.P

    def run_float(self, jet: NetworkJet, F: Arr, k: int) -> None:
        if self.dense:
            F[self.block, k] = self.MTf @ F[self.src, k]
        else:
            F[self.targets, k] = F[self.src, k] @ jet.XaTf


class _Sum(_Op):
    """targets[o]_k = sum_p src[o, p]_k (bias gradients of deeper layers)."""

    def __init__(self, targets: Sequence[int], src: Arr) -> None:
        self.targets = _index(targets)
        self.shape = src.shape
        self.src = _index(src.ravel())
        self.reads = {int(r) for r in src.ravel()}
        self.writes = [int(t) for t in targets]

    def run_int(self, jet: NetworkJet, S: Arr, k: int) -> None:
        S[self.targets, k] = S[self.src, k].reshape(self.shape).sum(axis=1)

    def run_float(self, jet: NetworkJet, F: Arr, k: int) -> None:
        F[self.targets, k] = F[self.src, k].reshape(self.shape).sum(axis=1)


class _Scale(_Op):
    """targets_k = k src_k (the series k z_k of a layer that also needs z)."""

    def __init__(self, targets: Sequence[int], src: Sequence[int]) -> None:
        self.targets = _index(targets)
        self.src = _index(src)
        self.reads = {int(r) for r in src}
        self.writes = [int(t) for t in targets]

    def run_int(self, jet: NetworkJet, S: Arr, k: int) -> None:
        S[self.targets, k] = S[self.src, k] * k

    def run_float(self, jet: NetworkJet, F: Arr, k: int) -> None:
        F[self.targets, k] = F[self.src, k] * k


class _Copy(_Op):
    """targets_k = src_k, minus the data targets at order 0 (residual of an activated output)."""

    def __init__(self, targets: Sequence[int], src: Sequence[int]) -> None:
        self.targets = _index(targets)
        self.src = _index(src)
        self.reads = {int(r) for r in src}
        self.writes = [int(t) for t in targets]

    def run_int(self, jet: NetworkJet, S: Arr, k: int) -> None:
        v = S[self.src, k]
        S[self.targets, k] = v - jet.Y.ravel() if k == 0 else v

    def run_float(self, jet: NetworkJet, F: Arr, k: int) -> None:
        F[self.targets, k] = F[self.src, k]


class _Start(_Op):
    """Order 0 of a layer's activation series, from z_0 in the rows ``zrows``: the
    transcendental functions, in mpmath's raw arithmetic at P + 10 bits."""

    def __init__(self, zrows: Arr, outs: dict[str, Arr], reset: Arr | None) -> None:
        self.zrows = _index(zrows.ravel())
        self.outs = {name: _index(rows.ravel()) for name, rows in outs.items()}
        self.reset = None if reset is None else _index(reset.ravel())
        self.reads = {int(r) for r in zrows.ravel()}
        self.writes = [int(r) for rows in outs.values() for r in rows.ravel()]

    def run_int(self, jet: NetworkJet, S: Arr, k: int) -> None:
        if k == 0:
            jet._start(self, S)

    def run_float(self, jet: NetworkJet, F: Arr, k: int) -> None:
        pass


# ---------------------------------------------------------------------------------------
# Compiled levels
# ---------------------------------------------------------------------------------------

_FLOAT_FACTOR = {"shift": lambda k: 1.0, "neg": lambda k: -1.0, "half": lambda k: 2.0,
                 "divk": lambda k: -1.0 / k if k else 0.0, "divk_pos": lambda k: 1.0 / k if k else 0.0,
                 "zd": lambda k: 1.0}


class _Batch:
    """Convolutions merged into one level (see the module docstring)."""

    def __init__(self, ops: list[_Conv], jet: NetworkJet) -> None:
        P, K = jet.P, jet.K
        a: list[int] = []
        b: list[int] = []
        starts: list[int] = []
        targets: list[int] = []
        posts: list[str] = []
        bias: list[int] = []
        yv: list[Any] = []
        fy: list[float] = []
        copy_sel: list[int] = []
        copy_dst: list[int] = []
        copy_sign: list[int] = []
        any_bias = any(op.bias is not None for op in ops)
        any_y = any(op.minus_y for op in ops)
        for op in ops:
            for t, (target, pairs) in enumerate(zip(op.targets, op.pairs)):
                starts.append(len(a))
                for x, y in pairs:
                    a.append(x)
                    b.append(y)
                pos = len(targets)
                targets.append(target)
                posts.append(op.post)
                if any_bias:
                    bias.append(jet.zero_row if op.bias is None else op.bias[t])
                if any_y:
                    if op.minus_y:
                        o, p = divmod(t, jet.N)
                        yv.append(jet.Y[o, p])
                        fy.append(jet.Yf[o, p])
                    else:
                        yv.append(mpz(0))
                        fy.append(0.0)
                if op.copies is not None:
                    copy_sel.append(pos)
                    copy_dst.append(op.copies[0][t])
                    copy_sign.append(op.copies[1])
        self.a = _index(a)
        self.b = _index(b)
        self.a_rows = np.array(a, dtype=np.intp)
        self.b_rows = np.array(b, dtype=np.intp)
        self.reduce = None if len(starts) == len(a) else np.array(starts, dtype=np.intp)
        self.targets = _index(targets)
        self.bias = _index(bias) if any_bias else None
        self.y = np.array(yv, dtype=object) if any_y else None
        self.fy = np.array(fy) if any_y else None
        self.copy = None
        if copy_sel:
            signs = set(copy_sign)
            assert len(signs) == 1
            self.copy = (np.array(copy_sel, dtype=np.intp), _index(copy_dst), copy_sign[0])
        kinds = set(posts)
        one = mpz(1) << P
        self.plain = kinds == {"shift"}
        unit = {"shift": one, "zd": one, "neg": -one, "half": one >> 1, "divk": -one, "divk_pos": one}
        base = np.array([unit[p] for p in posts], dtype=object)
        by_k = np.array([p in ("divk", "divk_pos") for p in posts])
        zd = np.array([p == "zd" for p in posts])
        # per order k: integer divisors, multipliers (or None); float factors and multipliers (or None)
        self.div = [base * np.where(by_k, max(k, 1), 1).astype(object) for k in range(K + 1)]
        self.mult = [np.where(zd, k if k else 1, 1).astype(object) if zd.any() else None for k in range(K + 1)]
        ffac = np.array([_FLOAT_FACTOR[p](1) for p in posts])
        self.fac = [None if self.plain else np.where(by_k, ffac / max(k, 1), ffac) for k in range(K + 1)]
        self.fmult = [np.where(zd, float(k), 1.0) for k in range(K + 1)] if zd.any() else None

    def run(self, S: Arr, k: int, P: int) -> None:
        A = S[self.a, :k + 1]
        B = S[self.b, k::-1]
        C = np.matmul(A[:, None, :], B[:, :, None]).reshape(-1)
        if self.reduce is not None:
            C = np.add.reduceat(C, self.reduce)
        C = C >> P if self.plain else C // self.div[k]
        if self.bias is not None:
            C += S[self.bias, k]
        mult = self.mult[k]
        if mult is not None:
            C = C * mult
        if k == 0 and self.y is not None:
            C -= self.y
        S[self.targets, k] = C
        if self.copy is not None:
            sel, dst, sign = self.copy
            S[dst, k] = C[sel] if sign > 0 else -C[sel]

    def run_float(self, F: Arr, k: int) -> None:
        A = F[self.a, :k + 1]
        B = F[self.b, k::-1]
        C = np.matmul(A[:, None, :], B[:, :, None]).reshape(-1)
        if self.reduce is not None:
            C = np.add.reduceat(C, self.reduce)
        if self.fac[k] is not None:
            C *= self.fac[k]
        if self.bias is not None:
            C += F[self.bias, k]
        if self.fmult is not None:
            C *= self.fmult[k]
        if k == 0 and self.y is not None:
            C -= self.fy
        F[self.targets, k] = C
        if self.copy is not None:
            sel, dst, sign = self.copy
            F[dst, k] = C[sel] if sign > 0 else -C[sel]


class _Level:
    """The operations of one level: at most one merged batch of convolutions, and others."""

    def __init__(self, batch: _Batch | None, others: list[_Op]) -> None:
        self.batch = batch
        self.others = others


# ---------------------------------------------------------------------------------------
# The jet
# ---------------------------------------------------------------------------------------

class Jet:
    """Taylor coefficients in scaled time tau = (t - t0) / h around one state.

    Orders below ``k_float`` are fixed-point integers in ``S`` (value 2^P), the others
    float64 in ``F`` (same rows). Rows 0..d-1 hold theta (orders 0..K+1), rows d..2d-1
    the raw gradient (orders 0..K; times ``grad_mult`` it is grad L), ``resid_rows`` the
    residuals N_o(x_p) - f_o(x_p) (orders 0..K). All coefficients are multiplied by h^k.
    """

    __slots__ = ("F", "H", "S", "k_float")

    def __init__(self, S: Arr, F: Arr | None, k_float: int, H: Any) -> None:
        self.S, self.F, self.k_float, self.H = S, F, k_float, H


_CACHE: weakref.WeakKeyDictionary[Any, dict[int, NetworkJet]] = weakref.WeakKeyDictionary()


class NetworkJet:
    """Taylor expansions of the gradient flow of one ``MpLandscape`` (point data).

    Parameters
    ----------
    landscape : MpLandscape
        With point data and an activation from ``SUPPORTED`` (see ``taylor_support``).
    order : int
        K: the gradient's series is computed to order K, theta's to order K + 1.

    ``NetworkJet.of(landscape, order)`` returns a cached instance (the tape is compiled
    once per landscape and order).
    """

    @classmethod
    def of(cls, landscape: Any, order: int) -> NetworkJet:
        per = _CACHE.setdefault(landscape, {})
        jet = per.get(order)
        if jet is None:
            jet = per[order] = cls(landscape, order)
        return jet

    def __init__(self, landscape: Any, order: int) -> None:
        reason = taylor_support(landscape)
        if reason is not None:
            raise ValueError(f"no Taylor expansion: {reason}")
        if order < 1:
            raise ValueError("the order must be at least 1")
        self.ctx = ctx = landscape.ctx
        self.P = P = ctx.prec + EXTRA_BITS
        self.K = order
        net = landscape.problem.network
        self.activation = net.activation
        self.d = landscape.n_params
        self.m = net.output_dim
        fix = self.fixed
        X = np.array([[fix(v) for v in row] for row in landscape._X], dtype=object)   # (l_0, N)
        self.N = N = X.shape[1]
        self.Y = np.array([[fix(v) for v in row] for row in landscape._Y], dtype=object)   # (m, N)
        self.Yf = self.Y.astype(float) * 2.0 ** -P
        self.grad_mult = fix(landscape._grad_mult)
        self.loss_mult = landscape._loss_mult
        self.one = mpz(1) << P
        self._act = landscape._act
        Xa = np.vstack([X, np.full((1, N), self.one, dtype=object)]) if net.biases else X
        self.Xa = Xa                       # (l_0 (+1), N): the data, and ones for the bias
        self.XaT = np.ascontiguousarray(Xa.T)
        self.Xaf = Xa.astype(float) * 2.0 ** -P
        self.XaTf = np.ascontiguousarray(self.Xaf.T)
        self._build(landscape)

    # -- conversions ----------------------------------------------------------------------

    def fixed(self, x: Any) -> Any:
        """An mpf (or anything ``ctx.mpf`` takes) as a fixed-point mpz, rounded to nearest."""
        raw = x._mpf_ if hasattr(x, "_mpf_") else self.ctx.mpf(x)._mpf_
        return mpz(libmp.to_int(libmp.mpf_shift(raw, self.P), _RND))

    def to_mpf(self, v: Any) -> Any:
        """A fixed-point integer as an mpf of the landscape's context (rounded to nearest)."""
        ctx = self.ctx
        return ctx.make_mpf(libmp.from_man_exp(int(v), -self.P, ctx.prec, _RND))

    # -- the tape ---------------------------------------------------------------------------

    def _build(self, landscape: Any) -> None:
        d, N, name = self.d, self.N, self.activation
        count = [2 * d]

        def rows(*shape: int) -> Arr:
            n = int(np.prod(shape))
            out = np.arange(count[0], count[0] + n, dtype=np.intp).reshape(shape)
            count[0] += n
            return out

        def flat(r: Arr) -> list[int]:
            return [int(v) for v in r.ravel()]

        def elementwise(x: Arr, y: Arr) -> list[list[tuple[int, int]]]:
            return [[(int(a), int(b))] for a, b in zip(x.ravel(), y.ravel())]

        self.zero_row = int(rows(1)[0])
        layers = list(landscape._layers)           # (fan_in, fan_out, w0, b0, activated)
        n_layers = len(layers)
        fwd0: list[_Op] = []     # order 0
        fwd1: list[_Op] = []     # orders >= 1
        A_rows: list[Arr] = []   # the layer outputs (fo, N)
        DS: list[tuple[Arr, str] | None] = []   # (rows, post) of the backward product gz = ga * s'
        out_rows: Arr | None = None
        lin0: _Lin0 | None = None
        for ell, (fan_in, fan_out, w0, b0, activated) in enumerate(layers):
            last = ell == n_layers - 1
            act = name if activated else "identity"
            needs_z = act in ("identity", "square", "swish")
            needs_zd = act in ("tanh", "logistic", "softplus", "swish")
            # -- pre-activations: rows holding z (post 'shift') or k z_k (post 'zd')
            zrows = rows(fan_out, N)
            post = "zd" if (needs_zd and not needs_z) else "shift"
            minus_y = last and not activated
            op: _Op
            if ell == 0:
                cols = np.array([[w0 + o * fan_in + c for c in range(fan_in)] + ([b0 + o] if b0 is not None else [])
                                 for o in range(fan_out)], dtype=np.intp)
                end = (b0 + fan_out) if b0 is not None else (w0 + fan_in * fan_out)
                op = lin0 = _Lin0(self, slice(w0, end), cols, zrows, post, minus_y)
            else:
                prev = A_rows[-1]
                pairs = [[(w0 + o * fan_in + i, int(prev[i, p])) for i in range(fan_in)]
                         for o in range(fan_out) for p in range(N)]
                bias = None if b0 is None else [b0 + o for o in range(fan_out) for _ in range(N)]
                op = _Conv(flat(zrows), pairs, post, set(flat(prev)), bias=bias, minus_y=minus_y)
            fwd0.append(op)
            fwd1.append(op)
            zd = zrows
            if needs_z and needs_zd:
                zd = rows(fan_out, N)
                sc = _Scale(flat(zd), flat(zrows))
                fwd0.append(sc)
                fwd1.append(sc)
            if act == "identity":
                A_rows.append(zrows)
                DS.append(None)
            elif act == "square":
                a = rows(fan_out, N)
                sq = _Conv(flat(a), elementwise(zrows, zrows), "shift", set(flat(zrows)))
                fwd0.append(sq)
                fwd1.append(sq)
                A_rows.append(a)
                DS.append((zrows, "half"))
            elif act == "tanh":
                t, nu = rows(fan_out, N), rows(fan_out, N)
                fwd0.append(_Start(zd, {"t": t, "nu": nu}, zd))
                fwd1.append(_Conv(flat(t), elementwise(zd, nu), "divk", set(flat(zd))))
                fwd1.append(_Conv(flat(nu), elementwise(t, t), "shift", set(flat(t))))
                A_rows.append(t)
                DS.append((nu, "neg"))
            else:   # logistic, softplus, swish: sigma by the logistic recurrence
                sg, v, oms = rows(fan_out, N), rows(fan_out, N), rows(fan_out, N)
                outs = {"sigma": sg, "v": v, "oms": oms}
                fwd1.append(_Conv(flat(sg), elementwise(zd, v), "divk_pos", set(flat(zd)), copies=(flat(oms), -1)))
                fwd1.append(_Conv(flat(v), elementwise(sg, oms), "shift", set(flat(sg)) | set(flat(oms))))
                if act == "logistic":
                    A_rows.append(sg)
                    DS.append((v, "shift"))
                elif act == "softplus":
                    val = rows(fan_out, N)
                    outs["value"] = val
                    fwd1.append(_Conv(flat(val), elementwise(zd, sg), "divk_pos", set(flat(zd))))
                    A_rows.append(val)
                    DS.append((sg, "shift"))
                else:   # swish
                    val, ds = rows(fan_out, N), rows(fan_out, N)
                    outs["value"] = val
                    outs["ds"] = ds
                    fwd1.append(_Conv(flat(val), elementwise(zrows, sg), "shift", set(flat(sg))))
                    fwd1.append(_Conv(flat(ds), elementwise(zrows, v), "shift", set(flat(v)) | set(flat(sg)),
                                      bias=flat(sg)))
                    A_rows.append(val)
                    DS.append((ds, "shift"))
                fwd0.append(_Start(zrows if needs_z else zd, outs, None if needs_z else zd))
            if last:
                if activated:
                    out_rows = rows(fan_out, N)
                    cp = _Copy(flat(out_rows), flat(A_rows[-1]))
                    fwd0.append(cp)
                    fwd1.append(cp)
                else:
                    out_rows = zrows
        assert out_rows is not None and lin0 is not None
        self.resid_rows = _index(flat(out_rows))
        # -- backward
        bwd: list[_Op] = []
        ga = out_rows
        fi0 = layers[0][0] + (1 if layers[0][3] is not None else 0)
        for ell in range(n_layers - 1, -1, -1):
            fan_in, fan_out, w0, b0, activated = layers[ell]
            ds_ = DS[ell]
            if ell == 0:
                cols = np.array([[d + w0 + o * fan_in + c for c in range(fan_in)]
                                 + ([d + b0 + o] if b0 is not None else []) for o in range(fan_out)], dtype=np.intp)
                if ga is None:   # reordered (below): done
                    break
            if ds_ is None:
                gz = ga
            else:
                gz = rows(fan_out, N)
                bwd.append(_Conv(flat(gz), elementwise(ga, ds_[0]), ds_[1], set(flat(ga)) | set(flat(ds_[0]))))
            if ell == 0:
                end = (b0 + fan_out) if b0 is not None else (w0 + fan_in * fan_out)
                bwd.append(_Lin0T(self, lin0, gz, cols, slice(d + w0, d + end)))
                continue
            prev = A_rows[ell - 1]
            bwd.append(_Conv([d + w0 + o * fan_in + i for o in range(fan_out) for i in range(fan_in)],
                             [[(int(gz[o, p]), int(prev[i, p])) for p in range(N)]
                              for o in range(fan_out) for i in range(fan_in)], "shift",
                             set(flat(gz)) | set(flat(prev))))
            if b0 is not None:
                bwd.append(_Sum([d + b0 + o for o in range(fan_out)], gz))
            ds0 = DS[0]
            if ell == 1 and ds0 is not None and fan_out * fi0 < N:
                # the first layer's gradient reordered: with Q[o, i, p] = gz1[o, p] s'(z0)[i, p],
                # grad W0[i, c] = sum_o W1[o, i] * (sum_p Q[o, i, p] X[c, p]): the products
                # with W1 come after the sum over the data (fewer big-number products when
                # fan_out (fan_in0 + 1) < N; the bias is column c = fan_in0)
                n1 = fan_in
                q = rows(fan_out * n1, N)
                bwd.append(_Conv(flat(q), [[(int(gz[o, p]), int(ds0[0][i, p]))] for o in range(fan_out)
                                           for i in range(n1) for p in range(N)], ds0[1],
                                 set(flat(gz)) | set(flat(ds0[0]))))
                qx = rows(fan_out * n1, fi0)
                bwd.append(_Lin0T(self, None, q, qx, None))
                f0, _, v0, c0, _ = layers[0]
                gr0 = [d + v0 + i * f0 + c for i in range(n1) for c in range(f0)]
                pairs0 = [[(w0 + o * n1 + i, int(qx[o * n1 + i, c])) for o in range(fan_out)]
                          for i in range(n1) for c in range(f0)]
                if c0 is not None:
                    gr0 += [d + c0 + i for i in range(n1)]
                    pairs0 += [[(w0 + o * n1 + i, int(qx[o * n1 + i, f0])) for o in range(fan_out)] for i in range(n1)]
                bwd.append(_Conv(gr0, pairs0, "shift", set(flat(qx))))
                ga = None
                continue
            ga_new = rows(fan_in, N)
            bwd.append(_Conv(flat(ga_new), [[(w0 + o * fan_in + i, int(gz[o, p])) for o in range(fan_out)]
                                            for i in range(fan_in) for p in range(N)], "shift", set(flat(gz))))
            ga = ga_new
        self.n_rows = count[0]
        self.tape0 = self._schedule(fwd0 + bwd)
        self.tape1 = self._schedule(fwd1 + bwd)
        # the tapes as flat lists of calls f(S, k)
        self.calls0 = self._calls(self.tape0, False)
        self.calls1 = self._calls(self.tape1, False)
        self.calls1f = self._calls(self.tape1, True)
        # rows whose coefficients of lower orders a convolution reads (converted to float64
        # when the float64 orders start), and the rows of the dense output
        history = {self.zero_row} | set(range(d))
        for level in self.tape1:
            if level.batch is not None:
                history |= {int(r) for r in level.batch.a_rows} | {int(r) for r in level.batch.b_rows}
        self.history = np.array(sorted(history), dtype=np.intp)
        self.dense_rows = np.concatenate([np.arange(2 * d), np.arange(self.n_rows)[self.resid_rows]]).astype(np.intp)

    def _schedule(self, ops: list[_Op]) -> list[_Level]:
        """Levels: an operation runs one level after the last producer (at the same order)
        of a row it reads; the convolutions of a level are merged into one batch."""
        level_of: dict[int, int] = defaultdict(int)
        by_level: dict[int, list[_Op]] = defaultdict(list)
        for op in ops:
            lv = 1 + max((level_of[r] for r in op.reads), default=0)
            for w in op.writes:
                level_of[w] = lv
            by_level[lv].append(op)
        out = []
        for lv in sorted(by_level):
            convs = [op for op in by_level[lv] if isinstance(op, _Conv)]
            others = [op for op in by_level[lv] if not isinstance(op, _Conv)]
            out.append(_Level(_Batch(convs, self) if convs else None, others))
        return out

    def _calls(self, tape: list[_Level], floating: bool) -> list[Any]:
        out: list[Any] = []
        P = self.P
        for level in tape:
            if level.batch is not None:
                batch = level.batch
                out.append(batch.run_float if floating else (lambda S, k, b=batch: b.run(S, k, P)))
            for op in level.others:
                if isinstance(op, _Start):
                    if not floating:
                        out.append(lambda S, k, o=op: self._start(o, S) if k == 0 else None)
                    continue
                fn = op.run_float if floating else op.run_int
                out.append(lambda S, k, f=fn: f(self, S, k))
        return out

    # -- order 0 of the activations --------------------------------------------------------

    def _start(self, op: _Start, S: Arr) -> None:
        """Order-0 coefficients of an activation's series (transcendentals in mpmath's raw
        arithmetic at P + 10 bits; polynomial parts in fixed point)."""
        P, one = self.P, self.one
        wp = P + 10
        name = self.activation
        zs = S[op.zrows, 0]
        raw = [libmp.from_man_exp(int(z), -P, wp, _RND) for z in zs]

        def fixed(x: Any) -> Any:
            return mpz(libmp.to_int(libmp.mpf_shift(x, P), _RND))

        out = op.outs
        if name == "tanh":
            t = np.array([fixed(libmp.mpf_tanh(x, wp, _RND)) for x in raw], dtype=object)
            S[out["t"], 0] = t
            S[out["nu"], 0] = ((t * t) >> P) - one
        else:
            # logistic(z) = 1 / (1 + e^-z), from e^-|z| <= 1 (no overflow)
            sig = []
            for x in raw:
                e = libmp.mpf_exp(libmp.mpf_neg(libmp.mpf_abs(x)), wp, _RND)
                q = fixed(libmp.mpf_div(libmp.fone, libmp.mpf_add(libmp.fone, e, wp, _RND), wp, _RND))
                sig.append(q if x[0] == 0 else one - q)
            sg = np.array(sig, dtype=object)
            om = one - sg
            v = (sg * om) >> P
            S[out["sigma"], 0] = sg
            S[out["oms"], 0] = om
            S[out["v"], 0] = v
            if name == "softplus":
                # log(1 + e^z) = max(z, 0) + log(1 + e^-|z|)
                vals = []
                for x, z in zip(raw, zs):
                    e = libmp.mpf_exp(libmp.mpf_neg(libmp.mpf_abs(x)), wp, _RND)
                    lg = fixed(libmp.mpf_log(libmp.mpf_add(libmp.fone, e, wp, _RND), wp, _RND))
                    vals.append(lg + (z if z > 0 else 0))
                S[out["value"], 0] = np.array(vals, dtype=object)
            elif name == "swish":
                z = np.array(list(zs), dtype=object)
                S[out["value"], 0] = (z * sg) >> P
                S[out["ds"], 0] = sg + ((z * v) >> P)
        if op.reset is not None:
            S[op.reset, 0] = mpz(0)

    # -- the expansion ---------------------------------------------------------------------

    def expand(self, theta: Sequence[Any], H: Any, k_float: int | None = None) -> Jet:
        """The jet at theta (d fixed-point mpz) in scaled time with h = H 2^-P.

        Orders >= ``k_float`` (default: none) are computed in float64. ``H`` may be a
        callable: it is then called with the order-0 raw gradient (d mpz) and returns H.
        """
        P, K, d = self.P, self.K, self.d
        kf = K + 2 if k_float is None else max(1, min(K + 2, k_float))
        S = np.full((self.n_rows, K + 2), mpz(0), dtype=object)
        S[:d, 0] = list(theta)
        HG = mpz(0)
        theta_rows, grad_rows = slice(0, d), slice(d, 2 * d)
        for k in range(min(kf, K + 1)):
            for call in (self.calls0 if k == 0 else self.calls1):
                call(S, k)
            if k == 0:
                if callable(H):
                    H = H(S[grad_rows, 0])
                HG = (mpz(H) * self.grad_mult) >> P
            D = -(k + 1) << P
            S[theta_rows, k + 1] = [(g * HG) // D for g in S[grad_rows, k]]
        F = None
        if kf <= K + 1:
            F = np.zeros((self.n_rows, K + 2))
            hist = self.history
            F[hist, :kf] = S[hist, :kf].astype(float) * 2.0 ** -P
            F[:d, kf] = S[:d, kf].astype(float) * 2.0 ** -P   # theta's order kf came from order kf - 1
            hg = float(HG) * 2.0 ** -P
            calls = self.calls1f
            for k in range(kf, K + 1):
                for call in calls:
                    call(F, k)
                F[theta_rows, k + 1] = F[grad_rows, k] * (-hg / (k + 1))
        return Jet(S, F, kf, mpz(H))

    # -- reading a jet ---------------------------------------------------------------------

    def rows_theta(self) -> slice:
        return slice(0, self.d)

    def rows_grad(self) -> slice:
        return slice(self.d, 2 * self.d)

    def evaluate(self, jet: Jet, rows: Index, sigma: Any) -> Arr:
        """sum_k c_k sigma^k for the rows (fixed point; sigma a fixed-point mpz)."""
        P = self.P
        kf = jet.k_float
        top = self.K + 1
        n = min(kf, top + 1)
        pw = [self.one]
        for _ in range(n - 1):
            pw.append((pw[-1] * sigma) >> P)
        out = jet.S[rows, :n].dot(np.array(pw, dtype=object)) >> P
        if jet.F is not None:
            s = float(sigma) * 2.0 ** -P
            vals = jet.F[rows, kf:top + 1] @ (s ** np.arange(kf, top + 1, dtype=float))
            out = out + _TO_MPZ(vals * 2.0 ** P)
        return out

    def dense(self, jet: Jet, sigma: Any) -> tuple[Arr, Arr, Arr]:
        """theta, raw gradient and residuals at scaled time sigma (fixed point)."""
        d = self.d
        v = self.evaluate(jet, self.dense_rows, sigma)
        return v[:d], v[d:2 * d], v[2 * d:]
