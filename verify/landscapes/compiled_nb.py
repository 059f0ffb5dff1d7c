"""numba kernels of the compiled float64 path (imported only when numba is installed).

Fully connected networks on fixed data (points or fixed quadrature nodes): loss, gradient,
Hessian-vector products (R-operator) and the stages of an explicit Runge-Kutta step of the
gradient flow, for the members of an ensemble in one compiled call. The reference
implementation is the numpy code of ``verify.landscapes.np``; ``verify.landscapes.compiled`` decides when these
kernels apply, and the tests hold them equal to it, to finite differences and to the mp tier.

Layout. Members are processed in blocks of ``eb``; inside a block every quantity is a row
of ``eb`` values, one per member (parameters: the rows of ``thB`` (d, eb), the transpose
of theta; activations: one row per neuron). Every inner loop runs over the members of the
block with unit stride, so LLVM vectorizes it (8 members per AVX-512 instruction), and the
work of one neuron at one data point is fused into one loop (pre-activation, activation,
output, and in the backward pass all gradient contributions). The network is described by
``widths`` (L + 1,), the offsets ``w_off`` (L,) of W_k (shape (l_k, l_{k-1}), row-major)
and ``b_off`` (L,) of b_k in theta (-1: no bias), the activation code ``act`` and whether
the output layer is activated. Data: ``x`` (n, l_0), ``y`` (n, m), weights ``wts`` (n,)
(the loss factor / n, or quadrature weights): L = sum_j wts_j |N(x_j) - y_j|^2.

The activation is passed as ``tag``, a tuple of ``code`` zeros: its length is a compile-time
constant, so each activation gets its own specialization (compiled on first use and cached)
in which the activation is inlined into the fused loops and the other branches fold away.

tanh and the logistic function are evaluated by a branch-free formula that vectorizes (the
libm calls cost about 15 ns each here, against numpy's 1.7 ns SIMD tanh): exp(-v) for
v >= 0 by the reduction v = k ln 2 + r, |r| <= ln(2) / 2, a degree-13 Taylor polynomial of
exp(-r) (truncation below 5e-18) and 2^-k built from its exponent bits (Cody and Waite's
reduction; J.-M. Muller, Elementary Functions, 3rd ed., 2016, ch. 11). tanh |x| is
-m / (2 + m) with m = expm1(-2 |x|) = (2^-k - 1) + 2^-k (exp(-r) - 1), which has no
cancellation for small |x|, and the logistic function is 1 / (1 + e) or e / (1 + e) with
e = exp(-|x|). The tests compare them with mpmath at 40 digits (within 2 ulp, about 1 ns
per value against 1.7 ns for numpy's tanh).
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
from llvmlite import ir
from numba.core import types
from numba.core.extending import intrinsic, overload

Array = np.ndarray

_FM = {"contract"}     # fused multiply-add only: no reassociation, inf and nan kept


def _jit(**extra: Any) -> Any:
    """numba.njit with numpy's error model (a division by zero gives inf, as in numpy, and
    divisions vectorize), contraction to FMA, cached on disk."""
    return numba.njit(fastmath=_FM, error_model="numpy", cache=True, **extra)


_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_INV_SQRT_2PI = 0.3989422804014327
_SQRT1_2 = 0.7071067811865476

ACT_IDENTITY = 0
ACT_TANH = 1
ACT_LOGISTIC = 2
ACT_SOFTPLUS = 3
ACT_SWISH = 4
ACT_SQUARE = 5
ACT_GELU = 6


# --------------------------------------------------------------------------------------
# scalar activations (inlined into the loops)
# --------------------------------------------------------------------------------------
def _bits_to_float_typing(typingctx: Any, bits: Any) -> Any:
    """The float64 whose bits are the int64 ``bits`` (a register move)."""
    sig = types.float64(types.int64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.bitcast(args[0], ir.DoubleType())

    return sig, codegen


_bits_to_float: Any = intrinsic(_bits_to_float_typing)


@_jit(inline="always")
def _exp_neg(v: float) -> float:
    """exp(-v) for v >= 0 (nan for nan); 0 beyond v = 708, where exp(-v) < 3.3e-308."""
    vc = min(v, 708.0)
    k = math.floor(vc * _LOG2E + 0.5)
    r = (vc - k * _LN2_HI) - k * _LN2_LO
    q = -r
    p = 1.0 / 6227020800.0
    p = p * q + 1.0 / 479001600.0
    p = p * q + 1.0 / 39916800.0
    p = p * q + 1.0 / 3628800.0
    p = p * q + 1.0 / 362880.0
    p = p * q + 1.0 / 40320.0
    p = p * q + 1.0 / 5040.0
    p = p * q + 1.0 / 720.0
    p = p * q + 1.0 / 120.0
    p = p * q + 1.0 / 24.0
    p = p * q + 1.0 / 6.0
    p = p * q + 0.5
    p = p * q + 1.0
    p = p * q + 1.0
    bits = (1023 - np.int64(k)) << 52 if v <= 708.0 else np.int64(0)
    e = p * _bits_to_float(bits)
    return e if v == v else v


@_jit(inline="always")
def _tanh(x: float) -> float:
    """tanh x = -m / (2 + m) with m = expm1(-2 |x|), the sign of x (|x| > 20: +-1 exactly)."""
    a = abs(x)
    v = 2.0 * min(a, 20.0)
    k = math.floor(v * _LOG2E + 0.5)
    r = (v - k * _LN2_HI) - k * _LN2_LO
    q = -r
    # exp(q) = 1 + q P(q) with P(q) = sum_i q^i / (i + 1)!, i <= 12
    p = 1.0 / 6227020800.0
    p = p * q + 1.0 / 479001600.0
    p = p * q + 1.0 / 39916800.0
    p = p * q + 1.0 / 3628800.0
    p = p * q + 1.0 / 362880.0
    p = p * q + 1.0 / 40320.0
    p = p * q + 1.0 / 5040.0
    p = p * q + 1.0 / 720.0
    p = p * q + 1.0 / 120.0
    p = p * q + 1.0 / 24.0
    p = p * q + 1.0 / 6.0
    p = p * q + 0.5
    p = p * q + 1.0
    s = _bits_to_float((1023 - np.int64(k)) << 52)     # 2^-k, 0 <= k <= 58
    m = (s - 1.0) + s * (q * p)                        # expm1(-v): exact cancellation-free for k = 0
    t = math.copysign(-m / (2.0 + m), x)
    return t if x == x else x


@_jit(inline="always")
def _logistic(x: float) -> float:
    e = _exp_neg(abs(x))
    num = 1.0 if x >= 0.0 else e
    s = num / (1.0 + e)
    return s if x == x else x


def _act(act: tuple[int, ...], z: float) -> float:
    """s(z) for the activation whose code is len(act) (known when the kernel is compiled)."""
    raise NotImplementedError  # pragma: no cover - replaced by its numba overload


def _d1(act: tuple[int, ...], z: float, a: float) -> float:
    """s'(z), given a = s(z)."""
    raise NotImplementedError  # pragma: no cover - replaced by its numba overload


def _d2(act: tuple[int, ...], z: float, a: float) -> float:
    """s''(z), given a = s(z)."""
    raise NotImplementedError  # pragma: no cover - replaced by its numba overload


def _code(tag: Any) -> int:
    """The activation code at typing time: the length of the tuple type ``tag``."""
    if not isinstance(tag, types.BaseTuple):
        raise numba.errors.TypingError("the activation is given as a tuple of code zeros")
    typ: Any = tag
    return len(typ.types)


@overload(_act, inline="always", jit_options={"fastmath": _FM, "error_model": "numpy"})
def _act_impl(act, z):  # type: ignore[no-untyped-def]  # numba compares the signatures
    code = _code(act)
    if code == ACT_TANH:
        return lambda act, z: _tanh(z)
    if code == ACT_LOGISTIC:
        return lambda act, z: _logistic(z)
    if code == ACT_SQUARE:
        return lambda act, z: z * z
    if code == ACT_SOFTPLUS:
        return lambda act, z: max(z, 0.0) + math.log1p(_exp_neg(abs(z)))
    if code == ACT_SWISH:
        return lambda act, z: z * _logistic(z)
    if code == ACT_GELU:
        return lambda act, z: z * 0.5 * math.erfc(-z * _SQRT1_2)
    return lambda act, z: z


def _swish_d1(z: float) -> float:
    g = _logistic(z)
    return g * (1.0 + z * (1.0 - g))


def _softplus_d2(z: float) -> float:
    g = _logistic(z)
    return g * (1.0 - g)


def _swish_d2(z: float) -> float:
    g = _logistic(z)
    return g * (1.0 - g) * (2.0 + z * (1.0 - 2.0 * g))


@overload(_d1, inline="always", jit_options={"fastmath": _FM, "error_model": "numpy"})
def _d1_impl(act, z, a):  # type: ignore[no-untyped-def]
    code = _code(act)
    if code == ACT_TANH:
        return lambda act, z, a: 1.0 - a * a
    if code == ACT_LOGISTIC:
        return lambda act, z, a: a * (1.0 - a)
    if code == ACT_SQUARE:
        return lambda act, z, a: 2.0 * z
    if code == ACT_SOFTPLUS:
        return lambda act, z, a: _logistic(z)
    if code == ACT_SWISH:
        return lambda act, z, a: _swish_d1_jit(z)
    if code == ACT_GELU:
        return lambda act, z, a: 0.5 * math.erfc(-z * _SQRT1_2) + z * _INV_SQRT_2PI * math.exp(-0.5 * z * z)
    return lambda act, z, a: 1.0


@overload(_d2, inline="always", jit_options={"fastmath": _FM, "error_model": "numpy"})
def _d2_impl(act, z, a):  # type: ignore[no-untyped-def]
    code = _code(act)
    if code == ACT_TANH:
        return lambda act, z, a: -2.0 * a * (1.0 - a * a)
    if code == ACT_LOGISTIC:
        return lambda act, z, a: a * (1.0 - a) * (1.0 - 2.0 * a)
    if code == ACT_SQUARE:
        return lambda act, z, a: 2.0
    if code == ACT_SOFTPLUS:
        return lambda act, z, a: _softplus_d2_jit(z)
    if code == ACT_SWISH:
        return lambda act, z, a: _swish_d2_jit(z)
    if code == ACT_GELU:
        return lambda act, z, a: _INV_SQRT_2PI * math.exp(-0.5 * z * z) * (2.0 - z * z)
    return lambda act, z, a: 0.0


_swish_d1_jit = _jit(inline="always")(_swish_d1)
_softplus_d2_jit = _jit(inline="always")(_softplus_d2)
_swish_d2_jit = _jit(inline="always")(_swish_d2)


@_jit()
def activate(tag: tuple[int, ...], z: Array, out: Array) -> None:
    """out = s(z) elementwise (1-d arrays): the scalar activations, for the tests."""
    act = tag
    for j in range(z.size):
        out[j] = _act(act, z[j])


# --------------------------------------------------------------------------------------
# a block of members: rows of eb values
# --------------------------------------------------------------------------------------
@_jit()
def _row_offsets(widths: Array) -> Array:
    """roff[k]: the first row of layer k + 1 in the per-layer buffers; roff[L] rows in all."""
    L = widths.size - 1
    roff = np.zeros(L + 1, dtype=np.int64)
    for k in range(L):
        roff[k + 1] = roff[k] + widths[k + 1]
    return roff


@_jit()
def _widest(widths: Array) -> int:
    wmax = 1
    for k in range(widths.size):
        wmax = max(wmax, widths[k])
    return wmax


@_jit()
def _transpose_in(theta: Array, e0: int, eb: int, out: Array) -> None:
    """out (d, eb) = theta[e0: e0 + eb].T."""
    d = theta.shape[1]
    for e in range(eb):
        for p in range(d):
            out[p, e] = theta[e0 + e, p]


@_jit()
def _transpose_out(src: Array, e0: int, eb: int, out: Array) -> None:
    """out[e0: e0 + eb] = src (d, eb).T."""
    d = out.shape[1]
    for e in range(eb):
        for p in range(d):
            out[e0 + e, p] = src[p, e]


@_jit()
def _shallow_block(thB: Array, eb: int, widths: Array, w_off: Array, b_off: Array, tag: tuple[int, ...], x: Array,
                   y: Array, wts: Array, want_grad: bool, lossB: Array, gB: Array) -> None:
    """Loss and gradient of a network with one hidden layer and an affine output, fused:
    per data point and hidden neuron one loop computes z = W1 x + b1, s(z) and its share of
    the outputs, and one loop its share of every gradient entry."""
    act = tag
    l0 = widths[0]
    H = widths[1]
    m = widths[2]
    n = x.shape[0]
    w1, b1, w2, b2 = w_off[0], b_off[0], w_off[1], b_off[1]
    ZH = np.empty((H, eb))
    AH = np.empty((H, eb))
    OUT = np.empty((m, eb))
    G = np.empty((m, eb))
    GZ = np.empty(eb)
    zero = np.zeros(eb)
    for e in range(eb):
        lossB[e] = 0.0
    if want_grad:
        gB[:, :] = 0.0
    for j in range(n):
        for o in range(m):
            out = OUT[o]
            bo = thB[b2 + o] if b2 >= 0 else zero
            for e in range(eb):
                out[e] = bo[e]
        for h in range(H):
            zh = ZH[h]
            ah = AH[h]
            bh = thB[b1 + h] if b1 >= 0 else zero
            if l0 == 1:
                xv = x[j, 0]
                wh = thB[w1 + h]
                for e in range(eb):
                    zh[e] = bh[e] + wh[e] * xv
            else:
                for e in range(eb):
                    zh[e] = bh[e]
                for i in range(l0):
                    xv = x[j, i]
                    wh = thB[w1 + h * l0 + i]
                    for e in range(eb):
                        zh[e] += wh[e] * xv
            if m == 1:
                out = OUT[0]
                vh = thB[w2 + h]
                for e in range(eb):
                    a = _act(act, zh[e])
                    ah[e] = a
                    out[e] += vh[e] * a
            else:
                for e in range(eb):
                    ah[e] = _act(act, zh[e])
                for o in range(m):
                    out = OUT[o]
                    vh = thB[w2 + o * H + h]
                    for e in range(eb):
                        out[e] += vh[e] * ah[e]
        wj = wts[j]
        for o in range(m):
            out = OUT[o]
            go = G[o]
            yv = y[j, o]
            for e in range(eb):
                r = out[e] - yv
                lossB[e] += wj * r * r
                go[e] = 2.0 * wj * r
            if want_grad and b2 >= 0:
                gb = gB[b2 + o]
                for e in range(eb):
                    gb[e] += go[e]
        if want_grad:
            for h in range(H):
                zh = ZH[h]
                ah = AH[h]
                if m == 1 and l0 == 1:
                    g0 = G[0]
                    vh = thB[w2 + h]
                    gv = gB[w2 + h]
                    gw = gB[w1 + h]
                    gb = gB[b1 + h] if b1 >= 0 else GZ
                    xv = x[j, 0]
                    for e in range(eb):
                        a = ah[e]
                        gv[e] += g0[e] * a
                        gz = g0[e] * vh[e] * _d1(act, zh[e], a)
                        gb[e] += gz
                        gw[e] += gz * xv
                else:
                    for e in range(eb):
                        GZ[e] = 0.0
                    for o in range(m):
                        go = G[o]
                        vh = thB[w2 + o * H + h]
                        gv = gB[w2 + o * H + h]
                        for e in range(eb):
                            gv[e] += go[e] * ah[e]
                            GZ[e] += go[e] * vh[e]
                    for e in range(eb):
                        GZ[e] *= _d1(act, zh[e], ah[e])
                    if b1 >= 0:
                        gb = gB[b1 + h]
                        for e in range(eb):
                            gb[e] += GZ[e]
                    for i in range(l0):
                        xv = x[j, i]
                        gw = gB[w1 + h * l0 + i]
                        for e in range(eb):
                            gw[e] += GZ[e] * xv


@_jit()
def _forward(thB: Array, eb: int, widths: Array, w_off: Array, b_off: Array, tag: tuple[int, ...], out_act: bool,
             x: Array, j: int, roff: Array, Z: Array, A: Array) -> None:
    """Pre-activations Z and activations A (rows roff[k] .. of layer k + 1) at the point x[j]."""
    act = tag
    L = widths.size - 1
    for k in range(L):
        fi = widths[k]
        fo = widths[k + 1]
        activated = k < L - 1 or out_act
        for o in range(fo):
            r = roff[k] + o
            zr = Z[r]
            ar = A[r]
            if b_off[k] >= 0:
                br = thB[b_off[k] + o]
                for e in range(eb):
                    zr[e] = br[e]
            else:
                for e in range(eb):
                    zr[e] = 0.0
            for i in range(fi):
                wr = thB[w_off[k] + o * fi + i]
                if k == 0:
                    xv = x[j, i]
                    for e in range(eb):
                        zr[e] += wr[e] * xv
                else:
                    pr = A[roff[k - 1] + i]
                    for e in range(eb):
                        zr[e] += wr[e] * pr[e]
            if activated:
                for e in range(eb):
                    ar[e] = _act(act, zr[e])
            else:
                for e in range(eb):
                    ar[e] = zr[e]


@_jit()
def _general_block(thB: Array, eb: int, widths: Array, w_off: Array, b_off: Array, tag: tuple[int, ...],
                   out_act: bool, x: Array, y: Array, wts: Array, want_grad: bool, lossB: Array, gB: Array) -> None:
    """Loss and gradient of any fully connected network, one layer at a time."""
    act = tag
    L = widths.size - 1
    n = x.shape[0]
    m = widths[L]
    roff = _row_offsets(widths)
    rows = roff[L]
    wmax = _widest(widths)
    Z = np.empty((rows, eb))
    A = np.empty((rows, eb))
    G0 = np.empty((wmax, eb))
    G1 = np.empty((wmax, eb))
    for e in range(eb):
        lossB[e] = 0.0
    if want_grad:
        gB[:, :] = 0.0
    for j in range(n):
        _forward(thB, eb, widths, w_off, b_off, tag, out_act, x, j, roff, Z, A)
        wj = wts[j]
        for o in range(m):
            ar = A[roff[L - 1] + o]
            gr = G0[o]
            yv = y[j, o]
            for e in range(eb):
                res = ar[e] - yv
                lossB[e] += wj * res * res
                gr[e] = 2.0 * wj * res
        if not want_grad:
            continue
        Gc = G0          # dL/dA_k, then dL/dZ_k, of the current layer
        Gn = G1          # dL/dA_{k-1}
        for k in range(L - 1, -1, -1):
            fi = widths[k]
            fo = widths[k + 1]
            activated = k < L - 1 or out_act
            if k > 0:
                Gn[:fi, :] = 0.0
            for o in range(fo):
                r = roff[k] + o
                gr = Gc[o]
                if activated:
                    zr = Z[r]
                    ar = A[r]
                    for e in range(eb):
                        gr[e] *= _d1(act, zr[e], ar[e])
                if b_off[k] >= 0:
                    gp = gB[b_off[k] + o]
                    for e in range(eb):
                        gp[e] += gr[e]
                for i in range(fi):
                    p = w_off[k] + o * fi + i
                    gp = gB[p]
                    if k == 0:
                        xv = x[j, i]
                        for e in range(eb):
                            gp[e] += gr[e] * xv
                    else:
                        pr = A[roff[k - 1] + i]
                        wr = thB[p]
                        nr = Gn[i]
                        for e in range(eb):
                            gp[e] += gr[e] * pr[e]
                            nr[e] += wr[e] * gr[e]
            Gc, Gn = Gn, Gc


def _block_loss_grad(kind: tuple[int, ...], thB: Array, eb: int, widths: Array, w_off: Array, b_off: Array,
                     tag: tuple[int, ...], out_act: bool, x: Array, y: Array, wts: Array, want_grad: bool,
                     lossB: Array, gB: Array) -> None:
    """lossB (eb,) = L and, when ``want_grad``, gB (d, eb) = grad L of the members thB (d, eb);
    ``kind`` (0,): one hidden layer and an affine output (``_shallow_block``), (): any network."""
    raise NotImplementedError  # pragma: no cover - replaced by its numba overload


@overload(_block_loss_grad, jit_options={"fastmath": _FM, "error_model": "numpy"})
def _block_loss_grad_impl(kind, thB, eb, widths, w_off, b_off, tag, out_act, x, y, wts,  # type: ignore[no-untyped-def]
                          want_grad, lossB, gB):
    if _code(kind) == 1:
        return lambda kind, thB, eb, widths, w_off, b_off, tag, out_act, x, y, wts, want_grad, lossB, gB: \
            _shallow_block(thB, eb, widths, w_off, b_off, tag, x, y, wts, want_grad, lossB, gB)
    return lambda kind, thB, eb, widths, w_off, b_off, tag, out_act, x, y, wts, want_grad, lossB, gB: \
        _general_block(thB, eb, widths, w_off, b_off, tag, out_act, x, y, wts, want_grad, lossB, gB)


# --------------------------------------------------------------------------------------
# ensembles (the entry points; ``tag`` = (0,) * activation code)
# --------------------------------------------------------------------------------------
@_jit()
def loss_grad(kind: tuple[int, ...], theta: Array, widths: Array, w_off: Array, b_off: Array, tag: tuple[int, ...],
              out_act: bool, x: Array,
              y: Array, wts: Array, block: int, want_grad: bool, loss: Array, grad: Array) -> None:
    """loss[e] = L(theta[e]) and grad[e] = grad L(theta[e]) (when ``want_grad``; grad is (E, d)),
    ``block`` members at a time."""
    E, d = theta.shape
    for e0 in range(0, E, block):
        eb = min(block, E - e0)
        thB = np.empty((d, eb))
        gB = np.empty((d, eb))
        _transpose_in(theta, e0, eb, thB)
        _block_loss_grad(kind, thB, eb, widths, w_off, b_off, tag, out_act, x, y, wts, want_grad, loss[e0: e0 + eb], gB)
        if want_grad:
            _transpose_out(gB, e0, eb, grad)


@_jit()
def _block_stages(kind: tuple[int, ...], thB: Array, hB: Array, eb: int, a_coef: Array, b_coef: Array,
                  widths: Array, w_off: Array, b_off: Array, tag: tuple[int, ...], out_act: bool, x: Array, y: Array,
                  wts: Array, KB: Array, yB: Array, gB: Array, lossB: Array) -> None:
    """The stages of one explicit Runge-Kutta step for a block (rows of eb members): on entry KB[0]
    holds -grad L(thB); on exit KB[1 .. S], yB the new point, gB and lossB its gradient and loss."""
    d = thB.shape[0]
    S = a_coef.shape[0]
    for s in range(1, S + 1):
        coef = a_coef[s] if s < S else b_coef
        for p in range(d):
            yr = yB[p, :eb]
            tr = thB[p, :eb]
            for e in range(eb):
                yr[e] = 0.0
            for q in range(s):
                c = coef[q]
                if c != 0.0:
                    kr = KB[q, p, :eb]
                    for e in range(eb):
                        yr[e] += c * kr[e]
            for e in range(eb):
                yr[e] = tr[e] + hB[e] * yr[e]
        _block_loss_grad(kind, yB, eb, widths, w_off, b_off, tag, out_act, x, y, wts, True, lossB, gB)
        for p in range(d):
            for e in range(eb):
                KB[s, p, e] = -gB[p, e]


@_jit()
def explicit_stages(kind: tuple[int, ...], theta: Array, grad: Array, h: Array, a_coef: Array, b_coef: Array,
                    widths: Array, w_off: Array, b_off: Array, tag: tuple[int, ...], out_act: bool, x: Array,
                    y: Array, wts: Array, block: int, K: Array, y_new: Array, loss_new: Array, g_new: Array) -> None:
    """The stages of an explicit Runge-Kutta step of theta' = -grad L for every member.

    K[0] = -grad; K[s] = -grad L(theta + h sum_{q<s} a_coef[s, q] K[q]) for s = 1 .. S - 1;
    y_new = theta + h sum_q b_coef[q] K[q]; K[S] = -grad L(y_new) (first same as last).
    ``K`` has shape (S + 1, m, d), like the numpy stage loop of ``verify.dynamics.flow``.
    """
    E, d = theta.shape
    S = a_coef.shape[0]
    for e0 in range(0, E, block):
        eb = min(block, E - e0)
        thB = np.empty((d, eb))
        yB = np.empty((d, eb))
        gB = np.empty((d, eb))
        KB = np.empty((S + 1, d, eb))
        lossB = np.empty(eb)
        _transpose_in(theta, e0, eb, thB)
        _transpose_in(grad, e0, eb, gB)
        for p in range(d):
            for e in range(eb):
                KB[0, p, e] = -gB[p, e]
        _block_stages(kind, thB, h[e0: e0 + eb], eb, a_coef, b_coef, widths, w_off, b_off, tag, out_act, x, y, wts,
                      KB, yB, gB, lossB)
        _transpose_out(yB, e0, eb, y_new)
        _transpose_out(gB, e0, eb, g_new)
        for e in range(eb):
            loss_new[e0 + e] = lossB[e]
        for s in range(S + 1):
            _transpose_out(KB[s], e0, eb, K[s])


#: outcomes of ``explicit_advance`` per member
ADV_LANDED = 0        # reached its target time exactly
ADV_STOPPED = 1       # an accepted step met an event (the caller's check_events says which)
ADV_BUDGET = 2        # steps + rejected reached max_steps
ADV_UNDERFLOW = 3     # the step size fell below what float64 resolves at t
ADV_PAUSED = 4        # used its attempts for this call (the caller calls again)
ADV_STIFF = 5         # Hairer's stiffness test asks for the stiff solver (solver="auto")


@_jit()
def explicit_advance(kind: tuple[int, ...], idx: Array, theta: Array, grad: Array, loss: Array, t: Array, h: Array,
                     target: Array, steps: Array, rejected: Array, n_grad: Array, outcome: Array, a_coef: Array,
                     b_coef: Array, e_coef: Array, dop853: bool, exponent: float, control: Array, events: Array,
                     max_attempts: int, widths: Array, w_off: Array, b_off: Array, tag: tuple[int, ...],
                     out_act: bool, x: Array, y: Array, wts: Array, block: int, stiff_count: Array,
                     stiff_calm: Array, stiff_needed: Array, stiff_params: Array) -> None:
    """Adaptive steps of an explicit pair for the members ``idx`` until each lands on its target.

    The same step-size control and error norms as ``verify.dynamics.flow.solve_flow`` with ``Dopri5``
    (``e_coef`` (1, S + 1): the error weights E) or ``Dop853`` (``e_coef`` (2, S + 1): E5, E3),
    one attempt at a time for all members still going (compacted, ``block`` per call of the
    stage kernel). ``control`` = (rtol, atol, safety, min_factor, max_factor, max_steps);
    ``events`` = (gtol, radius, loss_below or nan). A member stops after the accepted step that
    lands on ``target`` (``ADV_LANDED``), after an accepted step whose state meets an event
    (``ADV_STOPPED``: non-finite values, |theta| >= radius, |grad| <= gtol, loss <= loss_below),
    when steps + rejected reaches max_steps or the step underflows, or after ``max_attempts``
    attempts in this call (``ADV_PAUSED``). theta, grad, loss, t, h and the counters of those
    members are updated in place; ``target[i]`` and ``outcome[i]`` belong to member idx[i].

    Stiffness (``solver="auto"``, as ``verify.dynamics.flow._Switching``): where ``stiff_needed[e] > 0``,
    every accepted step applies Hairer's test h |f(y_new) - f(Y_s)| / |y_new - Y_s| >
    ``stiff_params[0]`` (the pair's stability boundary); a stiff verdict adds one to
    ``stiff_count[e]``, six calm steps in a row reset it; when it reaches ``stiff_needed[e]`` and at
    least ``stiff_params[2]`` steps of this size remain before ``stiff_params[1]`` (the horizon),
    the member stops with ``ADV_STIFF`` for the caller to hand it to the stiff solver.
    """
    boundary, horizon, ahead_steps = stiff_params[0], stiff_params[1], stiff_params[2]
    rtol, atol, safety, min_factor, max_factor = control[0], control[1], control[2], control[3], control[4]
    max_steps = control[5]
    gtol, radius, loss_below = events[0], events[1], events[2]
    d = theta.shape[1]
    S = a_coef.shape[0]
    n_act = idx.size
    live = idx.copy()              # members still going (compacted)
    pos = np.arange(n_act)         # their positions in idx / outcome
    attempts = 0
    blk = min(block, max(n_act, 1))
    thB = np.empty((d, blk))
    yB = np.empty((d, blk))
    gB = np.empty((d, blk))
    KB = np.empty((S + 1, d, blk))
    lossB = np.empty(blk)
    hB = np.empty(blk)
    while n_act > 0:
        if attempts >= max_attempts:
            for i in range(n_act):
                outcome[pos[i]] = ADV_PAUSED
            break
        attempts += 1
        keep = 0
        for b0 in range(0, n_act, blk):
            eb = min(blk, n_act - b0)
            # budget and step size; members that stop here are removed below (hB = 0 marks them)
            for i in range(eb):
                e = live[b0 + i]
                if steps[e] + rejected[e] >= max_steps:
                    outcome[pos[b0 + i]] = ADV_BUDGET
                    hB[i] = 0.0
                    continue
                hi = min(h[e], target[pos[b0 + i]] - t[e])
                if hi <= 1e-14 * max(1.0, abs(t[e])):
                    outcome[pos[b0 + i]] = ADV_UNDERFLOW
                    hB[i] = 0.0
                    continue
                hB[i] = hi
                for p in range(d):
                    thB[p, i] = theta[e, p]
                    KB[0, p, i] = -grad[e, p]
            _block_stages(kind, thB, hB, eb, a_coef, b_coef, widths, w_off, b_off, tag, out_act, x, y, wts,
                          KB, yB, gB, lossB)
            for i in range(eb):
                e = live[b0 + i]
                hi = hB[i]
                if hi == 0.0:
                    continue
                n_grad[e] += S
                # the error norm (as in verify.dynamics.flow)
                if dop853:
                    n5 = 0.0
                    n3 = 0.0
                    for p in range(d):
                        sc = atol + rtol * max(abs(thB[p, i]), abs(yB[p, i]))
                        a5 = 0.0
                        a3 = 0.0
                        for q in range(S + 1):
                            a5 += e_coef[0, q] * KB[q, p, i]
                            a3 += e_coef[1, q] * KB[q, p, i]
                        a5 /= sc
                        a3 /= sc
                        n5 += a5 * a5
                        n3 += a3 * a3
                    denom = math.sqrt((n5 + 0.01 * n3) * d)
                    err = 0.0 if n5 == 0.0 else abs(hi) * n5 / (denom if denom != 0.0 else 1.0)
                else:
                    acc = 0.0
                    for p in range(d):
                        sc = atol + rtol * max(abs(thB[p, i]), abs(yB[p, i]))
                        a1 = 0.0
                        for q in range(S + 1):
                            a1 += e_coef[0, q] * KB[q, p, i]
                        a1 = hi * a1 / sc
                        acc += a1 * a1
                    err = math.sqrt(acc / d)
                if not math.isfinite(err):
                    err = math.inf
                ok = err <= 1.0
                if err == 0.0:
                    factor = max_factor
                elif math.isfinite(err):
                    factor = min(max(safety * err ** (-1.0 / exponent), min_factor), max_factor)
                else:
                    factor = min_factor
                if not ok:
                    factor = min(factor, 1.0)
                    rejected[e] += 1
                    h[e] = hi * factor
                    live[keep] = e
                    pos[keep] = pos[b0 + i]
                    keep += 1
                    continue
                tg = target[pos[b0 + i]]
                landed = hi >= tg - t[e]
                t[e] = tg if landed else t[e] + hi
                grown = hi * factor
                h[e] = max(h[e], grown) if landed else grown
                steps[e] += 1
                loss[e] = lossB[i]
                tn = 0.0
                gn = 0.0
                finite = math.isfinite(lossB[i])
                for p in range(d):
                    theta[e, p] = yB[p, i]
                    grad[e, p] = gB[p, i]
                    tn += yB[p, i] * yB[p, i]
                    gn += gB[p, i] * gB[p, i]
                    finite = finite and math.isfinite(yB[p, i]) and math.isfinite(gB[p, i])
                event = (not finite) or math.sqrt(tn) >= radius or math.sqrt(gn) <= gtol or lossB[i] <= loss_below
                to_stiff = False
                if stiff_needed[e] > 0 and not event:
                    num = 0.0
                    den = 0.0
                    for p in range(d):
                        ys = 0.0
                        for q in range(S - 1):
                            ys += a_coef[S - 1, q] * KB[q, p, i]
                        dk = KB[S, p, i] - KB[S - 1, p, i]
                        dy = yB[p, i] - (thB[p, i] + hi * ys)
                        num += dk * dk
                        den += dy * dy
                    hr = abs(hi) * math.sqrt(num / den) if den > 0.0 else 0.0
                    if not math.isfinite(hr) or hr > boundary:
                        stiff_count[e] += 1
                        stiff_calm[e] = 0
                    else:
                        stiff_calm[e] += 1
                        if stiff_calm[e] >= 6:
                            stiff_count[e] = 0
                    to_stiff = stiff_count[e] >= stiff_needed[e] and horizon - t[e] >= ahead_steps * h[e]
                if event:
                    outcome[pos[b0 + i]] = ADV_STOPPED
                elif to_stiff:
                    outcome[pos[b0 + i]] = ADV_STIFF
                elif landed:
                    outcome[pos[b0 + i]] = ADV_LANDED
                else:
                    live[keep] = e
                    pos[keep] = pos[b0 + i]
                    keep += 1
        n_act = keep


@_jit()
def hvp(theta: Array, V: Array, unit: bool, widths: Array, w_off: Array, b_off: Array, tag: tuple[int, ...],
        out_act: bool,
        x: Array, y: Array, wts: Array, block: int, out: Array) -> None:
    """out[e, q] = H(theta[e]) V[e, q] by the R-operator (forward over reverse; Pearlmutter 1994).

    With ``unit`` the directions are the unit vectors e_q, q < out.shape[1] (``V`` is not
    read): the rows of the Hessian. Per layer k, with G_k = dL/dA_k and GZ_k = G_k s'(Z_k):
    R(Z_k) = dW_k A_{k-1} + W_k R(A_{k-1}) + db_k, R(A_k) = s'(Z_k) R(Z_k);
    R(GZ_k) = R(G_k) s'(Z_k) + G_k s''(Z_k) R(Z_k), R(G_{k-1}) = W_k^T R(GZ_k) + dW_k^T GZ_k;
    H v holds R(GZ_k) A_{k-1}^T + GZ_k R(A_{k-1})^T for W_k and the sums of R(GZ_k) for b_k.
    """
    act = tag
    L = widths.size - 1
    E, d = theta.shape
    Kd = out.shape[1]
    n = x.shape[0]
    m = widths[L]
    roff = _row_offsets(widths)
    rows = roff[L]
    wmax = _widest(widths)
    for e0 in range(0, E, block):
        eb = min(block, E - e0)
        thB = np.empty((d, eb))
        Z, A, D1, D2 = np.empty((rows, eb)), np.empty((rows, eb)), np.empty((rows, eb)), np.empty((rows, eb))
        GA, GZ, RZ, RA = np.empty((rows, eb)), np.empty((rows, eb)), np.empty((rows, eb)), np.empty((rows, eb))
        G, RG, RGZ = np.empty((wmax, eb)), np.empty((wmax, eb)), np.empty((wmax, eb))
        VB = np.zeros((Kd, d, eb))
        OB = np.zeros((Kd, d, eb))
        _transpose_in(theta, e0, eb, thB)
        for q in range(Kd):
            if unit:
                for e in range(eb):
                    VB[q, q, e] = 1.0
            else:
                for e in range(eb):
                    for p in range(d):
                        VB[q, p, e] = V[e0 + e, q, p]
        for j in range(n):
            wj = wts[j]
            _forward(thB, eb, widths, w_off, b_off, tag, out_act, x, j, roff, Z, A)
            for k in range(L):
                activated = k < L - 1 or out_act
                for r in range(roff[k], roff[k + 1]):
                    zr, ar, d1r, d2r = Z[r], A[r], D1[r], D2[r]
                    if activated:
                        for e in range(eb):
                            d1r[e] = _d1(act, zr[e], ar[e])
                            d2r[e] = _d2(act, zr[e], ar[e])
                    else:
                        for e in range(eb):
                            d1r[e] = 1.0
                            d2r[e] = 0.0
            # the backward pass, kept per layer: GA = dL/dA_k, GZ = dL/dZ_k
            for o in range(m):
                ar = A[roff[L - 1] + o]
                gr = G[o]
                yv = y[j, o]
                for e in range(eb):
                    gr[e] = 2.0 * wj * (ar[e] - yv)
            for k in range(L - 1, -1, -1):
                fi = widths[k]
                fo = widths[k + 1]
                for o in range(fo):
                    r = roff[k] + o
                    ga, gz, d1r, gr = GA[r], GZ[r], D1[r], G[o]
                    for e in range(eb):
                        ga[e] = gr[e]
                        gz[e] = gr[e] * d1r[e]
                if k > 0:
                    G[:fi, :] = 0.0
                    for o in range(fo):
                        gz = GZ[roff[k] + o]
                        for i in range(fi):
                            wr = thB[w_off[k] + o * fi + i]
                            nr = G[i]
                            for e in range(eb):
                                nr[e] += wr[e] * gz[e]
            for q in range(Kd):
                vq = VB[q]
                oq = OB[q]
                # forward tangents
                for k in range(L):
                    fi = widths[k]
                    fo = widths[k + 1]
                    for o in range(fo):
                        r = roff[k] + o
                        rz = RZ[r]
                        if b_off[k] >= 0:
                            dbr = vq[b_off[k] + o]
                            for e in range(eb):
                                rz[e] = dbr[e]
                        else:
                            for e in range(eb):
                                rz[e] = 0.0
                        for i in range(fi):
                            p = w_off[k] + o * fi + i
                            dwr = vq[p]
                            if k == 0:
                                xv = x[j, i]
                                for e in range(eb):
                                    rz[e] += dwr[e] * xv
                            else:
                                wr = thB[p]
                                pr = A[roff[k - 1] + i]
                                rpr = RA[roff[k - 1] + i]
                                for e in range(eb):
                                    rz[e] += dwr[e] * pr[e] + wr[e] * rpr[e]
                        ra, d1r = RA[r], D1[r]
                        for e in range(eb):
                            ra[e] = d1r[e] * rz[e]
                # backward tangent: RG = R(dL/dA_k), RGZ = R(dL/dZ_k)
                for o in range(m):
                    ra = RA[roff[L - 1] + o]
                    rg = RG[o]
                    for e in range(eb):
                        rg[e] = 2.0 * wj * ra[e]
                for k in range(L - 1, -1, -1):
                    fi = widths[k]
                    fo = widths[k + 1]
                    for o in range(fo):
                        r = roff[k] + o
                        rgz, rg, d1r, d2r, ga, rz = RGZ[o], RG[o], D1[r], D2[r], GA[r], RZ[r]
                        for e in range(eb):
                            rgz[e] = rg[e] * d1r[e] + ga[e] * d2r[e] * rz[e]
                    if k > 0:
                        RG[:fi, :] = 0.0
                    for o in range(fo):
                        rgz = RGZ[o]
                        gz = GZ[roff[k] + o]
                        if b_off[k] >= 0:
                            op = oq[b_off[k] + o]
                            for e in range(eb):
                                op[e] += rgz[e]
                        for i in range(fi):
                            p = w_off[k] + o * fi + i
                            op = oq[p]
                            if k == 0:
                                xv = x[j, i]
                                for e in range(eb):
                                    op[e] += rgz[e] * xv
                            else:
                                pr = A[roff[k - 1] + i]
                                rpr = RA[roff[k - 1] + i]
                                wr = thB[p]
                                dwr = vq[p]
                                rg = RG[i]
                                for e in range(eb):
                                    op[e] += rgz[e] * pr[e] + gz[e] * rpr[e]
                                    rg[e] += wr[e] * rgz[e] + dwr[e] * gz[e]
        for q in range(Kd):
            _transpose_out(OB[q], e0, eb, out[:, q, :])
