r"""Certified gradient-descent cycles and certified stability exponents of minima.

``certify_cycle`` proves that the GD map G(theta) = theta - eta grad L(theta) has exactly one
k-periodic point in a box (a k-cycle through it) by Krawczyk's test on

.. math:: F(\theta) = G^k(\theta) - \theta, \qquad DF = \prod_{j=k-1}^{0} (I - \eta H(\theta_j)) - I,

with the iterates theta_j = G^j(theta) enclosed in ball arithmetic (``verify.critical.arb``), and
encloses the cycle's multipliers, the eigenvalues of the monodromy matrix prod (I - eta H),
with Arb's rigorous eigenvalue enclosures (``acb_mat.eig``, Rump's method): the cycle is
proved linearly stable when every multiplier has modulus < 1, unstable when one has modulus > 1.

``certify_gd_stability`` encloses mu(theta) = log max |1 - eta h| over the Hessian eigenvalues
h on the normal space of the minimum set (Craciun-Ghoshdastidar, Corollary 13) where the
Hessian at theta is exact (a rational point on a piece with rational second derivatives:
polynomial formulas, identity / square / relu / leaky_relu networks): the exact
characteristic polynomial (FLINT ``fmpq_mat``), the multiplicity of the eigenvalue 0 read
from it (the tangent directions of the minimum set where it is a Morse-Bott manifold), and the
other eigenvalues isolated rigorously (``fmpq_poly.complex_roots``).

References
----------
R. Krawczyk (1969), R. E. Moore (1977): see ``verify.critical.certify``. S. M. Rump, "Computational
error bounds for multiple or nearly multiple eigenvalues", Linear Algebra Appl. 324 (2001).
G. Craciun, D. Ghoshdastidar, arXiv 2510.24466 (stability of minima and periodic orbits).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Sequence

import numpy as np
from flint import acb_mat, arb, arb_mat, fmpq, fmpq_mat, fmpq_poly

from ..errors import InputError
from ..problem.numbers import check_dps, to_fraction
from .arb import ball, dec_lower, dec_upper, precision
from .certify import _exact_theta, _Model, enclosure_model, krawczyk, smooth_piece

__all__ = ["CycleCertificate", "certify_cycle", "StabilityCertificate", "certify_gd_stability"]


def _eye(n: int) -> arb_mat:
    return arb_mat([[1 if i == j else 0 for j in range(n)] for i in range(n)])


@dataclass(frozen=True)
class CycleCertificate:
    """What ball arithmetic proved about a GD k-cycle.

    Attributes
    ----------
    certified : bool
        True when a box around ``points[0]`` was proved to hold exactly one zero of
        G^k(theta) - theta (a point of a cycle of period dividing k).
    reason : str
    points : tuple of tuple of str
        The k points of the cycle (centres of the enclosures, decimal strings).
    box_radius : str or None
        Half-width of the box around ``points[0]``.
    multipliers : tuple of (str, str, str, str) or None
        Enclosures (re_lo, re_hi, im_lo, im_hi) of the eigenvalues of the monodromy matrix.
    stable : bool or None
        True: every multiplier proved inside the unit circle; False: one proved outside; None:
        not decided.
    period : int
    step_size : str
    dps : int
    """

    certified: bool
    reason: str
    points: tuple[tuple[str, ...], ...]
    box_radius: str | None
    multipliers: tuple[tuple[str, str, str, str], ...] | None
    stable: bool | None
    period: int
    step_size: str
    dps: int

    def to_json(self) -> dict[str, Any]:
        return {"certified": self.certified, "reason": self.reason, "points": [list(p) for p in self.points],
                "box_radius": self.box_radius,
                "multipliers": None if self.multipliers is None else [list(m) for m in self.multipliers],
                "stable": self.stable, "period": self.period, "step_size": self.step_size, "dps": self.dps}


def _models_along(source: Any, theta: Sequence[Fraction], eta: Fraction, k: int) -> list[_Model] | str:
    """One ball model per cycle point (the pieces of relu-type losses may differ between points)."""
    models: list[_Model] = []
    th = list(theta)
    for _ in range(k):
        m = enclosure_model(source, th)
        if isinstance(m, str):
            return m
        models.append(m)
        with precision(60):
            g = m([ball(v) for v in th], 1)[1]
            assert g is not None
            th = [th[i] - eta * Fraction(str(g[i, 0].mid().str(40, radius=False))) for i in range(len(th))]
    return models


#: how far (relative to |theta|) Newton's refinement may move the given point of a cycle
NEWTON_REACH = 1e-3


def certify_cycle(source: Any, theta: Sequence[object], *, step_size: object, period: int = 2, dps: int = 30,
                  max_radius: object = None, newton_steps: int = 40) -> CycleCertificate:
    """Prove that GD with step ``step_size`` has a ``period``-cycle through a box around ``theta``.

    Parameters
    ----------
    source : Problem or ExprLandscape
        As for ``certify_critical_point``.
    theta : sequence of d numbers
        A point near the cycle (e.g. from ``find_cycle``); it is first refined by Newton's
        method on G^k(theta) - theta at the working precision.
    step_size : number, keyword-only
        eta, exact (e.g. "13/40").
    period : int, keyword-only
        k.
    dps : int, keyword-only
        Digits of the ball arithmetic.
    max_radius : number, keyword-only
        Largest box half-width; default 10^(-dps/2) max(1, |theta|_inf).

    Returns
    -------
    CycleCertificate
        A failed proof is a result with the reason, never an exception.
    """
    dps = check_dps(dps)
    eta = to_fraction(step_size, "step_size")
    if eta <= 0:
        raise InputError("step_size", step_size, "must be positive")
    if isinstance(period, bool) or not isinstance(period, int) or period < 1:
        raise InputError("period", period, "must be a positive integer")
    values = list(_exact_theta(source, theta))
    d = len(values)
    with precision(dps):
        models = _models_along(source, values, eta, period)
        if isinstance(models, str):
            return CycleCertificate(False, f"no ball model of L near the cycle: {models}", (), None, None, None,
                                    period, str(eta), dps)
        e = ball(eta)
        eye = _eye(d)

        def iterate(X: list[arb], jac: bool) -> tuple[list[list[arb]], arb_mat | None, str | None]:
            pts = [X]
            J = eye if jac else None
            for j in range(period):
                _, g, H, off = models[j](pts[-1], 2 if jac else 1)
                if off is not None:
                    return pts, None, off
                assert g is not None
                if jac:
                    assert H is not None and J is not None
                    J = (eye - e * H) * J
                pts.append([pts[-1][i] - e * g[i, 0] for i in range(d)])
            return pts, J, None

        # Newton refinement on F(theta) = G^k(theta) - theta at the working precision (midpoints)
        th = values
        for _ in range(newton_steps):
            pts, J, _ = iterate([ball(v) for v in th], True)
            if J is None:
                break
            F = np.array([float((pts[-1][i] - pts[0][i]).mid()) for i in range(d)])
            Fm = arb_mat([[(pts[-1][i] - pts[0][i]).mid()] for i in range(d)])
            try:
                step = (J - eye).mid().solve(Fm)
            except (ZeroDivisionError, ValueError):
                break
            th = [th[i] - _frac(step[i, 0].mid()) for i in range(d)]
            if not np.any(np.abs(F) > 0) or max(abs(float(step[i, 0].mid())) for i in range(d)) < 10.0 ** (-dps - 5):
                break
        th = [Fraction(_round(v, dps + 8)) for v in th]
        scale = max(1.0, max(abs(float(v)) for v in th))
        moved = max(abs(float(a - b)) for a, b in zip(th, values))
        if moved > NEWTON_REACH * max(1.0, max(abs(float(v)) for v in values)):
            # Newton went elsewhere: a certificate would be about another cycle than the one given
            return CycleCertificate(False, f"Newton's refinement moved {moved:.3g} away from the given point (more "
                                    f"than {NEWTON_REACH:g} of its size): no cycle was found near it", (), None,
                                    None, None, period, str(eta), dps)
        r_max = 10.0 ** (-dps / 2) * scale if max_radius is None else float(to_fraction(max_radius, "max_radius"))
        m = [ball(v) for v in th]

        def f_at(X: list[arb]) -> arb_mat:
            pts, _, _ = iterate(X, False)
            return arb_mat([[pts[-1][i] - pts[0][i]] for i in range(d)])

        def jac(X: list[arb]) -> tuple[arb_mat | None, str | None]:
            _, J, off = iterate(X, True)
            return (None, off) if J is None else (J - eye, None)

        res = krawczyk(f_at, jac, m, max_radius=r_max)
        pts, J, _ = iterate(m, True)
        shown = tuple(tuple(_nstr(p, dps) for p in pt) for pt in pts[:period])
        if res.radius is None or res.jacobian is None:
            return CycleCertificate(False, f"{res.reason} (Newton's step {res.newton_step:.3g}, largest radius "
                                    f"{r_max:.3g})", shown, None, None, None, period, str(eta), dps)
        monodromy = res.jacobian + eye
        mult, stable, note = _multipliers(monodromy)
        what = {True: "linearly stable: every multiplier lies inside the unit circle",
                False: "unstable: a multiplier lies outside the unit circle", None: "stability not decided"}[stable]
        reason = (f"Krawczyk's test proves exactly one point of G^{period}(theta) = theta in the box of radius "
                  f"{res.radius:.3g} around the first point: a GD cycle of period dividing {period} at eta = {eta}; "
                  f"{what}{note}")
        return CycleCertificate(True, reason, shown, dec_upper(arb(res.radius), 6), mult, stable, period, str(eta),
                                dps)


def _frac(x: arb) -> Fraction:
    man, exp = x.man_exp()
    m, e = int(man), int(exp)
    return Fraction(m * 2 ** e) if e >= 0 else Fraction(m, 2 ** (-e))


def _round(q: Fraction, digits: int) -> Fraction:
    scale = 10 ** digits
    return Fraction(round(q * scale), scale)


def _nstr(x: arb, dps: int) -> str:
    return x.mid().str(dps, radius=False)


def _multipliers(M: arb_mat) -> tuple[tuple[tuple[str, str, str, str], ...] | None, bool | None, str]:
    try:
        eigs = acb_mat(M).eig(algorithm="rump")
    except ValueError:
        return None, None, "; the multipliers could not be isolated (Arb)"
    out = []
    moduli = []
    for z in eigs:
        re, im = z.real, z.imag
        out.append((dec_lower(re, 12), dec_upper(re, 12), dec_lower(im, 12), dec_upper(im, 12)))
        moduli.append(abs(z))
    stable: bool | None = None
    if all(mod < 1 for mod in moduli):
        stable = True
    elif any(mod > 1 for mod in moduli):
        stable = False
    return tuple(out), stable, ""


# ---------------------------------------------------------------------------------------
# Certified mu of a minimum where the Hessian is exact
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StabilityCertificate:
    """mu(theta) = log max |1 - eta h| enclosed, from the exact Hessian at a rational minimum.

    Attributes
    ----------
    certified : bool
    reason : str
    mu : (str, str) or None
        Lower and upper bound of mu (natural log); ("-inf", "-inf") when no normal eigenvalue.
    eigenvalues : tuple of (str, str)
        Enclosures of the nonzero Hessian eigenvalues (the normal space), ascending.
    null_dim : int
        Exact multiplicity of the eigenvalue 0 (the tangent space of the minimum set).
    stable : bool or None
        True: mu < 0 proved (GD-stable); False: mu > 0 proved; None: not decided.
    step_size : str
    """

    certified: bool
    reason: str
    mu: tuple[str, str] | None
    eigenvalues: tuple[tuple[str, str], ...]
    null_dim: int
    stable: bool | None
    step_size: str

    def to_json(self) -> dict[str, Any]:
        return {"certified": self.certified, "reason": self.reason, "mu": None if self.mu is None else list(self.mu),
                "eigenvalues": [list(e) for e in self.eigenvalues], "null_dim": self.null_dim,
                "stable": self.stable, "step_size": self.step_size}


def certify_gd_stability(source: Any, theta: Sequence[object], *, step_size: object,
                         dps: int = 30) -> StabilityCertificate:
    """Enclose mu(theta) = log max |1 - eta h| over the normal-space Hessian eigenvalues, exactly.

    Parameters
    ----------
    source : Problem or ExprLandscape
    theta : sequence of d exact numbers
        A critical point (checked exactly: grad L(theta) = 0) on a piece whose Hessian is
        rational there.
    step_size : number, keyword-only
        eta (exact).
    dps : int, keyword-only
        Digits of the enclosures.

    Returns
    -------
    StabilityCertificate
        ``certified`` False with the reason when the Hessian is not exact at theta, or theta is
        not exactly critical.
    """
    import sympy

    dps = check_dps(dps)
    eta = to_fraction(step_size, "step_size")
    if eta <= 0:
        raise InputError("step_size", step_size, "must be positive")
    values = _exact_theta(source, theta)
    piece = smooth_piece(source, values)
    if isinstance(piece, str):
        return StabilityCertificate(False, f"no exact model of L at theta: {piece}", None, (), 0, None, str(eta))
    at = {s: sympy.Rational(v.numerator, v.denominator) for s, v in zip(piece.symbols, values)}
    grads = [sympy.diff(piece.expr, s) for s in piece.symbols]
    g = [e.xreplace(at) for e in grads]
    if not all(v.is_Rational for v in g):
        return StabilityCertificate(False, "the gradient is not rational at theta: the Hessian is not exact here",
                                    None, (), 0, None, str(eta))
    if any(v != 0 for v in g):
        return StabilityCertificate(False, "grad L(theta) != 0 exactly: theta is not a critical point", None, (), 0,
                                    None, str(eta))
    H = [[sympy.diff(e, s).xreplace(at) for s in piece.symbols] for e in grads]
    if not all(v.is_Rational for row in H for v in row):
        return StabilityCertificate(False, "the Hessian is not rational at theta", None, (), 0, None, str(eta))
    M = fmpq_mat([[fmpq(int(v.p), int(v.q)) for v in row] for row in H])
    p = M.charpoly()
    coeffs = list(p.coeffs())      # lowest degree first
    null = 0
    while null < len(coeffs) and coeffs[null] == 0:
        null += 1
    q = fmpq_poly(coeffs[null:])
    with precision(dps):
        roots: list[Any] = [] if q.degree() < 1 else list(q.complex_roots())
        eig: list[arb] = []
        for z, mult in roots:
            if not z.imag.contains(0):
                return StabilityCertificate(False, "a Hessian eigenvalue enclosure is not real (internal)", None, (),
                                            null, None, str(eta))
            eig += [z.real] * int(mult)
        eig.sort(key=lambda b: float(b.mid()))
        e = ball(eta)
        if not eig:
            return StabilityCertificate(True, f"every Hessian eigenvalue is 0 (null_dim = {null}): mu = -inf",
                                        ("-inf", "-inf"), (), null, True, str(eta))
        amps = [abs(1 - e * h) for h in eig]
        top = amps[0]
        for a in amps[1:]:
            top = top.max(a)
        if top.contains(0):
            return StabilityCertificate(False, "1 - eta h may vanish: mu is not bounded below here", None,
                                        tuple((dec_lower(h, dps), dec_upper(h, dps)) for h in eig), null, None,
                                        str(eta))
        mu = top.log()
        stable = True if mu < 0 else False if mu > 0 else None
        verdict = {True: "mu < 0: GD-stable (Corollary 13)", False: "mu > 0: GD-unstable (Corollary 13)",
                   None: "the sign of mu is not decided"}[stable]
        reason = (f"exact Hessian: {null} zero eigenvalue(s) (the tangent space of the minimum set), {len(eig)} "
                  f"normal eigenvalue(s) enclosed; mu in [{dec_lower(mu, 10)}, {dec_upper(mu, 10)}]: {verdict}")
        return StabilityCertificate(True, reason, (dec_lower(mu, dps), dec_upper(mu, dps)),
                                    tuple((dec_lower(h, dps), dec_upper(h, dps)) for h in eig), null, stable,
                                    str(eta))

