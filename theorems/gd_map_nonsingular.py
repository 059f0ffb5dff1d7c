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

Checked form, per instance (a formula landscape and a step size): on every analytic piece,
det(I - eta H) vanishes identically only if the Hessian is constant on that piece and eta is the
reciprocal of one of its eigenvalues; otherwise the sampled theta where det vanishes are a null
fraction; and G_eta is singular (the preimage of a small interval does not shrink with it) exactly
when det vanishes identically on a piece of positive measure.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import sympy
from hypothesis import strategies as st

from verify import (
    Claim,
    ExprLandscape,
    Instance,
    Judgement,
    Profile,
    gd_nonsingularity,
    preimage_measure,
    preimage_measure_exact,
)
from verify import strategies as vst

from ._stability_examples import deep_linear_expr, figure1, paper_quadrant

#: a non-singular 1-D map: the preimage measure at r = 1e-4 is below this fraction of that at r = 1e-1
_COLLAPSE = 0.05
_ANALYTIC_FUNCS = (sympy.Piecewise, sympy.Abs, sympy.sign, sympy.Max, sympy.Min, sympy.Heaviside)


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


def _constant_hessian(land: ExprLandscape) -> sympy.Matrix | None:
    H = sympy.Matrix(land.hessian_exprs)
    return H if not H.free_symbols else None


class GdMapNonsingular(Claim):
    title = "For all but finitely many step sizes, det(I - eta H) vanishes only on a null set and G_eta is non-singular"
    statement = (r"For $L$ analytic on a connected open set, $\theta \mapsto \det(I - \eta H(\theta))$ vanishes "
                 r"identically only for $\eta \in \{1/\lambda_i(H)\}$ with $H$ constant; otherwise its zero set is "
                 r"null and $G_\eta$ is non-singular (Proposition 11, Lemma 10). For piecewise analytic $L$ "
                 r"(Theorem 1, Figure 1) the same holds piece by piece: $G_\eta$ is singular only for the finitely "
                 r"many $\eta$ at which $\det(I - \eta H)$ vanishes identically on a piece of positive measure.")
    source = ("Craciun, Ghoshdastidar 2025 (arXiv 2510.24466), Theorem 1, Proposition 11, Lemma 10, Figure 1")
    hypotheses = ("L is a formula (ExprLandscape), analytic on each piece of a Piecewise expression",
                  "step_size > 0")
    method = ("Exact: det(I - eta H(theta)) at the instance's eta as a SymPy expression, folded into its pieces "
              "(piecewise_fold) and simplified; a piece identically 0 must have a constant Hessian with 1/eta among "
              "its eigenvalues (SymPy eigenvalues). Sampled: 64 x horizon theta uniform in [-4, 4]^d (float64; "
              "confirmation: the mp tier at dps digits, rounded to 2^-40), |det| / prod(1 + eta |h_i|) <= 1e-10 "
              "(10^-(dps/2)) counts as vanishing; with no identically-zero piece no sample may vanish. 1-D "
              "formulas: the measure of G^{-1}([-r, r]) in [-4, 4] for r = 1e-1 .. 1e-4 on a grid of 2e6 cells "
              "(confirmation: exactly, SymPy solveset per piece); G is singular iff some piece of positive "
              "measure has det = 0 identically, and then the measure must not shrink (ratio >= 0.05), else it "
              "must (ratio < 0.05).")

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
        if not isinstance(instance.source, ExprLandscape):
            return "the source is not a formula landscape (the symbolic determinant needs an ExprLandscape)"
        if instance.param("step_size") <= 0:
            return "step_size is not positive"
        expr = instance.source.expr
        bad = [f for f in (sympy.Abs, sympy.sign, sympy.Max, sympy.Min, sympy.Heaviside) if expr.has(f)]
        if bad:
            return f"the loss uses {bad[0].__name__}: give the pieces explicitly with Piecewise"
        return None

    def _judge(self, instance: Instance, profile: Profile, dps: int | None) -> Judgement:
        land = instance.source
        eta = instance.param("step_size")
        samples = max(16, int(64 * profile.horizon))
        ns = gd_nonsingularity(land, step_size=eta, samples=samples, dps=dps, box=(-4.0, 4.0))
        ev: dict[str, Any] = {"nonsingularity": ns.to_json(), "outcome": "det not identically 0"}
        zero_pieces = [(c, e) for c, e, z in (ns.symbolic or ()) if z]
        problems: list[str] = []
        notes: list[str] = []
        H = _constant_hessian(land) if not land.expr.has(sympy.Piecewise) else None
        if zero_pieces:
            ev["outcome"] = "det identically 0 on a piece"
            if land.expr.has(sympy.Piecewise):
                notes.append(f"det = 0 identically where {zero_pieces[0][0]}")
            else:
                if H is None:
                    problems.append("det(I - eta H) = 0 identically although H is not constant")
                else:
                    eig = [sympy.nsimplify(v) for v in H.eigenvals()]
                    e = sympy.Rational(eta.numerator, eta.denominator)
                    if not any(sympy.simplify(e * v - 1) == 0 for v in eig):
                        problems.append(f"det = 0 identically but 1/eta is not an eigenvalue of H ({eig})")
                    notes.append(f"constant H with eigenvalues {eig}: eta = 1/lambda is exceptional")
                if ns.vanishing != ns.samples:
                    problems.append(f"det = 0 identically but only {ns.vanishing}/{ns.samples} samples vanish")
        else:
            if ns.vanishing:
                problems.append(f"det vanishes at {ns.vanishing}/{ns.samples} sampled theta although no piece "
                                "is identically 0")
            notes.append(f"det(I - eta H) not identically 0; 0/{ns.samples} samples vanish "
                         f"(min relative |det| {ns.min_rel_det:.3g})")
        if land.n_params == 1:
            singular = bool(zero_pieces)
            if dps is None:
                pm = preimage_measure(land, step_size=eta, samples=2_000_000)
                ratio = pm.ratio()
            else:
                pm = preimage_measure_exact(land, step_size=eta)
                big, small = (sympy.Float(m, 30) for m in (pm.measures[0], pm.measures[-1]))
                ratio = 1.0 if big == 0 else float(small / big)
            ev["preimage"] = pm.to_json()
            collapses = ratio < _COLLAPSE
            notes.append(f"preimage of [-r, r]: measure ratio {ratio:.3g} from r = 1e-1 to 1e-4 "
                         f"({'collapses' if collapses else 'does not collapse'})")
            ev["outcome"] = "singular" if not collapses else "non-singular"
            if collapses == singular:
                problems.append("the preimage measure " + ("collapses although det = 0 identically on a piece"
                                                           if singular else "does not collapse although det = 0 "
                                                           "identically on no piece"))
        ev["exceptional_candidates"] = [list(e) for e in ns.exceptional]
        margin = -1.0 if problems else 1.0
        return Judgement(margin, f"eta = {eta}: " + "; ".join(problems or notes), ev)

    def judge(self, instance: Instance, profile: Profile) -> Judgement:
        return self._judge(instance, profile, None)

    def confirm(self, instance: Instance, profile: Profile, dps: int) -> Judgement:
        return self._judge(instance, profile, dps)
