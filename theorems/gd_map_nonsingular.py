r"""Non-singular GD maps (Craciun and Ghoshdastidar, arXiv 2510.24466, Theorem 1 and Proposition 11).

Statement. Theorem 1: for networks of fully connected, convolutional or attention layers with
piecewise analytic activations, any data and any analytic loss, for almost all step sizes eta
every (S)GD map G_eta(theta) = theta - eta grad L(theta) is non-singular (preimages of null sets
are null). Proposition 11: if L is analytic on a connected open set, then for almost all eta the
map is non-singular: if the Hessian H is constant, every eta outside {1 / lambda_i(H)} works;
otherwise theta -> det(I - eta H(theta)) is a non-constant analytic function whose zero set is
null (and Lemma 10: a smooth map whose critical set is null is non-singular). Figure 1: for the
C^1 loss L = 0.5 theta^4 - 3 theta^2 + 8 on [-2, 2] and theta^2 outside, eta = 0.5 makes G
singular (the whole exterior maps to 0), eta = 0.25 does not.

Checked form, per instance (a formula landscape and a step size). By Lemma 10 and Sard's theorem
G_eta is singular exactly when its critical set {det(I - eta H) = 0} has positive measure, and for
a piecewise analytic L that happens exactly when det(I - eta H) vanishes identically on a piece of
positive measure: for finitely many eta (1/eta an eigenvalue of H(theta) at every theta of the
piece). The prediction: singular iff the exact determinant (SymPy, piece by piece) is identically 0
on a piece that holds sampled points; the experiment observes the critical set and, in 1-D, the
map itself.

The experiment (one body for every tier: float64 to search, ``dps`` and ``2 dps`` digits to
confirm). 64 x horizon seeded theta uniform in [-4, 4]^d (exact multiples of 2^-40); in the tier
the relative determinant r(theta) = prod_i |1 - eta h_i| / (1 + eta |h_i|) over the Hessian
eigenvalues h_i. 1-D formulas also get the measure of the preimage G^{-1}([c - r, c + r]) inside
[-4, 4] for r = 1e-3 and 1e-6 (a grid of 2000 cells, every crossing of c -+ r refined by bisection
in the tier), c = G at a sample (on an identically-singular piece where there is one: a regular
value otherwise, almost surely).

Margin (how far from violating the conclusion), the least of:

* predicted non-singular: log10(q / tol(1e-10)), q the k-th smallest relative determinant,
  k = max(2, samples / 16) (4 of 64): negative when a sixteenth of the samples sit on the critical set (a critical set
  of positive measure, which a null one is hit with probability 0);
* predicted singular: log10(tol(1e-10) / max r) over the samples on the identically-singular
  pieces: negative when one of them is not critical;
* 1-D: with rho the preimage measure ratio (r = 1e-6 against 1e-3; 1e-3 for a non-singular map
  at a regular value, 10^-1.5 at a fold, near 1 for a singular one), log10(10^-0.5 / rho) / 2.5
  when predicted non-singular, its negative when predicted singular: negative when the preimage
  of a point keeps (or loses) its measure against the prediction.

``predicted_singular`` is the hook a variant of the claim overrides (the planted false claim
"G_eta is non-singular for every eta" in ``tests/quality/`` does: Figure 1 at eta = 1/2 refutes it).
Formula landscapes only: a network problem, or a loss with Abs/Max/Min/sign/Heaviside (pieces
not given explicitly), is beyond this method's reach (inconclusive), not outside the theorem.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np
import sympy
from hypothesis import strategies as st

from verify import Claim, ExprLandscape, Instance, Judgement, Profile, Tier
from verify import strategies as vst

from ._stability_examples import deep_linear_expr, figure1, paper_quadrant

#: relative determinants below tol(_VANISH) count as vanishing
_VANISH = 1e-10
#: the preimage measure ratio separating "collapses" (r_min / r_max = 1e-3 at a regular value, 10^-1.5 at a
#: fold, 10^-1 at an inflection) from "stays" (about 1: a piece mapped to the point)
_RATIO = 10 ** -0.5
_RADII = (Fraction(1, 1000), Fraction(1, 1_000_000))
_CELLS = 2000
_BOX = (Fraction(-4), Fraction(4))
_UNSUPPORTED = (sympy.Abs, sympy.sign, sympy.Max, sympy.Min, sympy.Heaviside)


def _quadratic(a: Fraction, b: Fraction, rotate: bool) -> ExprLandscape:
    """1/2 theta^T R diag(a, b) R^T theta, R the rotation with cos = 3/5, sin = 4/5 (or the identity)."""
    if rotate:
        c, s = Fraction(3, 5), Fraction(4, 5)
        A11, A12, A22 = a * c * c + b * s * s, (a - b) * c * s, a * s * s + b * c * c
    else:
        A11, A12, A22 = a, Fraction(0), b
    return ExprLandscape(f"(({A11})*x**2 + 2*({A12})*x*y + ({A22})*y**2)/2", ["x", "y"], name="quadratic")


def _tanh_neuron() -> ExprLandscape:
    """One tanh neuron v tanh(w x) on the data (1, 1/2), (2, 1): L = (1/2) mean (v tanh(w x) - y)^2."""
    return ExprLandscape("((v*tanh(w) - 1/2)**2 + (v*tanh(2*w) - 1)**2)/4", ["w", "v"], name="tanh-neuron")


def _identically_zero(expr: sympy.Expr, symbols: tuple[sympy.Symbol, ...]) -> bool:
    """Whether an expression vanishes identically: nonzero at a rational point (40 digits) proves it does
    not; otherwise expansion (polynomials) or SymPy's simplification decides."""
    e = sympy.expand(expr)
    if e == 0:
        return True
    if e.is_polynomial(*symbols):
        return bool(sympy.Poly(e, *symbols).is_zero)
    for k in range(3):
        point = {s: sympy.Rational(3 + 2 * i + 5 * k, 7 + k) for i, s in enumerate(symbols)}
        try:
            value = sympy.N(e.xreplace(point), 40)
        except (TypeError, ValueError):
            continue
        if value.is_number and abs(value) > 1e-25:
            return False
    return bool(sympy.simplify(e) == 0)


@lru_cache(maxsize=64)
def _det_pieces(expr: sympy.Expr, symbols: tuple[sympy.Symbol, ...],
                eta: Fraction) -> tuple[tuple[Any, str, bool], ...]:
    """det(I - eta H) piece by piece: (condition, determinant as text, identically zero), exact (SymPy)."""
    H = sympy.Matrix([[sympy.diff(expr, a, b) for b in symbols] for a in symbols])
    e = sympy.Rational(eta.numerator, eta.denominator)
    det = (sympy.eye(len(symbols)) - e * H).det(method="berkowitz")
    folded = sympy.piecewise_fold(det)
    pieces = folded.args if isinstance(folded, sympy.Piecewise) else ((folded, sympy.true),)
    return tuple((cond, str(sympy.expand(piece)) if len(str(piece)) < 400 else str(piece)[:400] + " ...",
                  _identically_zero(piece, symbols)) for piece, cond in pieces)


def _piece_of(pieces: tuple[tuple[Any, str, bool], ...], symbols: tuple[sympy.Symbol, ...],
              theta: list[Fraction]) -> int:
    """The index of the first piece whose condition holds at theta (exact)."""
    at = {s: sympy.Rational(v.numerator, v.denominator) for s, v in zip(symbols, theta)}
    for i, (cond, _, _) in enumerate(pieces):
        if cond is sympy.true or bool(cond.xreplace(at)):
            return i
    return len(pieces) - 1


def _condition_text(cond: Any, pieces: int) -> str:
    return str(cond) if cond is not sympy.true else "everywhere" if pieces == 1 else "everywhere else"


def _samples(d: int, count: int) -> list[list[Fraction]]:
    raw = np.random.default_rng(0).uniform(float(_BOX[0]), float(_BOX[1]), size=(count, d))
    return [[Fraction(int(v), 2**40) for v in row] for row in np.round(raw * 2.0**40)]


def _rel_det(tier: Tier, land: Any, theta: list[Fraction], eta: Any) -> Any:
    """prod_i |1 - eta h_i| / (1 + eta |h_i|) over the Hessian eigenvalues at theta, in the tier."""
    x = tier.vector(theta) if tier.is_float64 else list(theta)
    H = land.hessian(x)
    rows = np.asarray(H, dtype=np.float64) if tier.is_float64 else [list(r) for r in H]
    out = tier.num(1)
    for h in tier.eigvalsh(rows):
        out = out * abs(1 - eta * h) / (1 + eta * abs(h))
    return out


def _gd_map_1d(tier: Tier, land: Any, eta: Any, ts: list[Fraction]) -> list[Any]:
    """G(t) = t - eta L'(t) at exact points t, in the tier (float64: vectorized)."""
    if tier.is_float64:
        arr = np.array([[float(t)] for t in ts])
        g = np.asarray(land.grad(arr), dtype=np.float64)[:, 0]
        return [float(v) for v in arr[:, 0] - eta * g]
    return [tier.num(t) - eta * land.grad([t])[0] for t in ts]


def _preimage_measure(tier: Tier, land: Any, eta: Any, c: Any, radius: Fraction) -> Any:
    """The measure of {t in [-4, 4] : |G(t) - c| <= r} on a grid of _CELLS cells; every crossing of c -+ r
    inside a cell is refined by bisection in the tier (to tol(1e-12) of the box)."""
    lo, hi = _BOX
    ts = [lo + (hi - lo) * Fraction(i, _CELLS) for i in range(_CELLS + 1)]
    gs = _gd_map_1d(tier, land, eta, ts)
    r = tier.num(radius)
    width = tier.tol(1e-12) * tier.num(hi - lo)
    total = tier.num(0)
    levels = (c + r, c - r)

    def value(t: Any) -> Any:
        if tier.is_float64:
            return float(t - eta * float(land.grad(np.array([t]))[0]))
        return t - eta * land.grad([t])[0]

    def root(a: Any, b: Any, fa: Any, level: Any) -> Any:
        while b - a > width:
            m = (a + b) / 2
            fm = value(m) - level
            if (fm > 0) == (fa > 0):
                a, fa = m, fm
            else:
                b = m
        return (a + b) / 2

    def inside(g: Any) -> bool:
        return bool(abs(g - c) <= r)

    for i in range(_CELLS):
        a, b = tier.num(ts[i]), tier.num(ts[i + 1])
        ga, gb = gs[i], gs[i + 1]
        cuts = []
        for level in levels:
            fa, fb = ga - level, gb - level
            if (fa > 0) != (fb > 0):
                cuts.append(root(a, b, fa, level))
        if not cuts:
            if inside(ga) and inside(gb):
                total += b - a
            continue
        edges = [a, *sorted(cuts), b]
        for x0, x1 in itertools.pairwise(edges):
            if x1 > x0 and inside(value((x0 + x1) / 2)):
                total += x1 - x0
    return total


class GdMapNonsingular(Claim):
    title = "For all but finitely many step sizes, det(I - eta H) vanishes only on a null set and G_eta is non-singular"
    statement = (r"For $L$ analytic on a connected open set, $\theta \mapsto \det(I - \eta H(\theta))$ vanishes "
                 r"identically only for $\eta \in \{1/\lambda_i(H)\}$ with $H$ constant; otherwise its zero set is "
                 r"null and $G_\eta$ is non-singular (Proposition 11, Lemma 10). For piecewise analytic $L$ "
                 r"(Theorem 1, Figure 1) the same holds piece by piece: $G_\eta$ is singular only for the finitely "
                 r"many $\eta$ at which $\det(I - \eta H)$ vanishes identically on a piece of positive measure.")
    source = ("Craciun, Ghoshdastidar 2025 (arXiv 2510.24466), Theorem 1, Proposition 11, Lemma 10, Figure 1")
    hypotheses = ("L is piecewise analytic", "step_size > 0")
    method = ("Prediction (exact, SymPy): singular iff det(I - eta H) vanishes identically on a piece holding sampled "
              "points. One experiment in every tier (float64 to search, dps and 2 dps digits to confirm): 64 x "
              "horizon seeded theta in [-4, 4]^d (multiples of 2^-40), relative determinants r = prod |1 - eta h| / "
              "(1 + eta |h|) in the tier; 1-D: the measure of G^{-1}([c - r, c + r]) in [-4, 4] for r = 1e-3, 1e-6 "
              "(2000-cell grid, crossings refined by bisection in the tier). Margin: the least of log10(q / "
              "tol(1e-10)) with q the k-th smallest r, k = max(2, samples / 16) (predicted non-singular) or "
              "log10(tol(1e-10) / max r) over the samples on identically-singular pieces (predicted singular), and in "
              "1-D +-log10(10^-0.5 / rho) / 2.5 with rho the preimage measure ratio (+ predicted non-singular, - "
              "singular).")

    def instances(self, profile: Profile) -> Any:
        pos = vst.rationals(min_value=Fraction(1, 4), max_value=4, max_denominator=4)
        eta = vst.rationals(min_value=Fraction(1, 100), max_value=1, max_denominator=100)

        @st.composite
        def quadratic(draw: Any) -> Instance:
            a, b = draw(pos), draw(pos)
            rotate = draw(st.booleans())
            e = draw(st.one_of(eta, st.sampled_from([1 / a, 1 / b])))   # the exceptional step sizes too
            return Instance(_quadratic(a, b, rotate), None, {"step_size": e})

        analytic = st.builds(lambda land, e: Instance(land, None, {"step_size": e}),
                             st.sampled_from([paper_quadrant(), deep_linear_expr(2), deep_linear_expr(3),
                                              _tanh_neuron()]), eta)
        fig = st.builds(lambda e: Instance(figure1(), None, {"step_size": e}),
                        st.one_of(st.sampled_from([Fraction(1, 4), Fraction(1, 2)]), eta))
        return st.one_of(quadratic(), analytic, fig)

    def check_hypotheses(self, instance: Instance) -> str | None:
        if "step_size" not in instance.params:
            return "no step size: give [instance] params = { step_size = \"1/2\" }"
        if instance.param("step_size") <= 0:
            return "step_size is not positive"
        return None

    def _reach(self, instance: Instance) -> str | None:
        if not isinstance(instance.source, ExprLandscape):
            return ("beyond this method's reach: the exact determinant needs a formula landscape (an [expression] "
                    "file), not a network problem")
        bad = [f for f in _UNSUPPORTED if instance.source.expr.has(f)]
        if bad:
            return (f"beyond this method's reach: the loss uses {bad[0].__name__}; give its pieces explicitly with "
                    "Piecewise")
        return None

    # -- the hook a variant of the claim may override ---------------------------------------------
    def predicted_singular(self, instance: Instance, singular_pieces: list[str]) -> bool:
        """The conclusion under test: G_eta is singular iff det(I - eta H) = 0 identically on a piece of
        positive measure (``singular_pieces``: the conditions of those that hold sampled points)."""
        return bool(singular_pieces)

    # -- the experiment ---------------------------------------------------------------------------
    def experiment(self, instance: Instance, profile: Profile, tier: Tier) -> Judgement:
        beyond = self._reach(instance)
        if beyond:
            return Judgement(None, beyond)
        src: ExprLandscape = instance.source
        eta_q = instance.param("step_size")
        symbols = tuple(src.symbols)
        pieces = _det_pieces(src.expr, symbols, eta_q)
        land = tier.landscape(src)
        eta = tier.num(eta_q)
        d = src.n_params
        samples = _samples(d, max(16, int(64 * profile.horizon)))
        where = [_piece_of(pieces, symbols, s) for s in samples]
        zero_idx = [i for i, (_, _, z) in enumerate(pieces) if z]
        on_zero = [j for j, w in enumerate(where) if w in zero_idx]
        singular_pieces = sorted({_condition_text(pieces[where[j]][0], len(pieces)) for j in on_zero})
        singular = self.predicted_singular(instance, singular_pieces)
        rel = [_rel_det(tier, land, s, eta) for s in samples]
        delta = tier.tol(_VANISH)
        margins: list[Any] = []
        notes: list[str] = []
        ev: dict[str, Any] = {"pieces": [{"condition": _condition_text(c, len(pieces)), "det": t, "identically_zero": z}
                                         for c, t, z in pieces],
                              "samples": len(samples), "on_singular_pieces": len(on_zero),
                              "predicted_singular": singular, "tier": str(tier),
                              "relative_det_min": tier.to_float(min(rel))}
        off = [rel[j] for j in range(len(samples)) if not (singular and j in on_zero)]
        k = max(2, math.ceil(len(samples) / 16))
        tiny = tier.eps ** 2
        if len(off) >= k:
            q = sorted(off)[k - 1]
            m = tier.ctx.log10(max(q, tiny) / delta)
            margins.append(m)
            vanishing = sum(1 for v in off if v <= delta)
            notes.append(f"{vanishing}/{len(off)} samples {'off the singular pieces ' if singular else ''}critical "
                         f"(relative det {tier.text(q, 3)} at rank {k})")
            ev["kth_smallest_relative_det"] = tier.to_float(q)
        if singular:
            if on_zero:
                worst = max(rel[j] for j in on_zero)
                margins.append(tier.ctx.log10(delta / max(worst, tiny)))
                notes.append(f"det = 0 identically ({'; '.join(singular_pieces)}: {len(on_zero)} samples, "
                             f"largest relative det {tier.text(worst, 3)})")
            else:
                notes.append("predicted singular, but no sample lies on an identically-singular piece")
        elif on_zero:
            notes.append(f"det = 0 identically ({'; '.join(singular_pieces)}), yet predicted non-singular")
        H = sympy.Matrix(src.hessian_exprs)
        if not H.free_symbols and not src.expr.has(sympy.Piecewise):
            eig = sorted(H.eigenvals(), key=lambda v: float(v))
            ev["constant_hessian_eigenvalues"] = [str(v) for v in eig]
            notes.append(f"constant H, eigenvalues {[str(v) for v in eig]}: eta in {{1/lambda}} is exceptional")
        if d == 1:
            anchor = samples[on_zero[0]] if on_zero else samples[0]
            c = _gd_map_1d(tier, land, eta, [anchor[0]])[0]
            big, small = (_preimage_measure(tier, land, eta, c, r) for r in _RADII)
            if tier.to_float(big) > 0:
                rho = small / big
                m = tier.ctx.log10(max(rho, tiny) / _RATIO) / 2.5
                margins.append(m if singular else -m)
                ev["preimage"] = {"center": tier.to_float(c), "radii": [float(r) for r in _RADII],
                                  "measures": [tier.to_float(big), tier.to_float(small)], "ratio": tier.to_float(rho)}
                ev["outcome"] = "stays" if tier.to_float(rho) > _RATIO else "collapses"
                notes.append(f"preimage of [c - r, c + r], c = {tier.text(c, 4)}: measure {tier.text(big, 4)} -> "
                             f"{tier.text(small, 4)} from r = 1e-3 to 1e-6 (ratio {tier.text(rho, 3)})")
        margin = min(margins, key=tier.to_float) if margins else None
        if margin is not None and tier.is_float64:
            margin = float(margin)
        ev.setdefault("outcome", "singular predicted" if singular else "non-singular predicted")
        return Judgement(margin, f"eta = {eta_q} ({tier}): " + "; ".join(notes), ev)

