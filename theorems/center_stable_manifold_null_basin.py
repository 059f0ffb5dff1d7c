r"""The basin of a repelling fixed point of a GD map is a null set (small maps, seen whole).

Statement (Cheridito, Jentzen, Rossmannek, arXiv:2208.02083, Theorem 1: a center-stable manifold
theorem with relaxed regularity). Let G: R^d -> R^d be C^1 with {det DG = 0} a null set, and S a
set of fixed points at each of which DG has an eigenvalue of modulus > 1. Then the set of
starting points whose iterates G^n(x) converge to S has Lebesgue measure zero. No local
diffeomorphism at the fixed point is required.

The maps checked are GD maps G(theta) = theta - eta grad L of
L(x, y) = a x^2/2 - b y^2/2 + c y^4/4 + e x^2 y^2/2 (d = 2) or L(y) = -b y^2/2 + c y^4/4 (d = 1),
with a, b, c > 0: the origin is a fixed point with DG(0) = diag(1 - eta a, 1 + eta b), an
eigenvalue 1 + eta b > 1. det DG vanishes on curves (a null set), where G is not a local
diffeomorphism (e.g. eta = 1, a = 1/2, b = c = 1, e = 0: G(x, y) = (x/2, 2y - y^3), det DG =
(2 - 3y^2)/2 = 0 on y = +-sqrt(2/3), and G is not injective near y = +-sqrt(2/3)). The stable
set is seen whole: {y = 0} is invariant (G(x, 0) = ((1 - eta a) x, 0)), and its preimages under
G: for d = 1, y* = sqrt((1 + eta b)/(eta c)) is mapped to 0 in one step, exactly (in algebraic
numbers) -- a point that float64 cannot represent, so a float run from it is repelled.

Method. M = 400 * horizon random starts uniform in [-R, R]^d (R = 1.2 sqrt(b/c), seeded),
K = 400 * horizon GD steps (``run_descent`` on the formula's float64 tier); a start lands when
|theta_K| <= 1e-8. margin = -landed (>= 0: none landed; then 1 - the Wilson 95% upper bound of
the basin's measure fraction). Both sides are shown: starts on {y = 0} (|1 - eta a| < 1) land;
for d = 1 the exact preimage y* is checked in SymPy; for d = 2 a 25 x 25 grid of starts is
classified (for plots). Hypotheses are checked exactly: the origin is a fixed point with an
eigenvalue of modulus > 1, and det DG is not identically zero. Confirmation: landed starts are
replayed at ``dps`` digits.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import sympy
from hypothesis import strategies as st

from verify import Claim, Events, ExprLandscape, Instance, Judgement, Profile, run_descent, wilson_upper

LAND_TOL = 1e-8


def gd_map_instance(a: object, b: object, c: object, e: object, step_size: object, *, dim: int = 2,
                    seed: int = 0) -> Instance:
    """The instance of L (module notes) with step size eta."""
    A, B, C, E = (Fraction(str(v)) for v in (a, b, c, e))
    if dim == 1:
        src = ExprLandscape(f"-({B})*y**2/2 + ({C})*y**4/4", ["y"], name="quartic-1d")
    else:
        src = ExprLandscape(f"({A})*x**2/2 - ({B})*y**2/2 + ({C})*y**4/4 + ({E})*x**2*y**2/2", ["x", "y"],
                            name="saddle-quartic-2d")
    return Instance(src, None, {"step_size": step_size, "seed": seed})


def _map_info(instance: Instance) -> dict[str, Any] | str:
    src = instance.source
    if not isinstance(src, ExprLandscape):
        return "the claim is checked on GD maps of formulas (ExprLandscape), not on network problems"
    if "step_size" not in instance.params:
        return "the instance has no step_size parameter"
    eta = sympy.Rational(str(instance.param("step_size")))
    if eta <= 0:
        return f"the step size {eta} is not positive"
    syms = src.symbols
    grad = [sympy.diff(src.expr, v) for v in syms]
    G = sympy.Matrix([v - eta * g for v, g in zip(syms, grad)])
    DG = G.jacobian(list(syms))
    origin = {v: 0 for v in syms}
    if any(g.xreplace(origin) != 0 for g in grad):
        return "the origin is not a fixed point of the GD map (grad L(0) != 0)"
    eig = DG.xreplace(origin).eigenvals()
    if not any(abs(lam) > 1 for lam in eig):
        return (f"DG(0) has no eigenvalue of modulus > 1 (eigenvalues {sorted(eig, key=float)}): "
                "not a repelling direction")
    det = sympy.expand(DG.det())
    if det == 0:
        return "det DG vanishes identically: the hypothesis {det DG = 0} is a null set fails"
    singular = sympy.solve(det, syms[-1]) if len(syms) <= 2 else []
    return {"eta": eta, "G": G, "det": det, "eigenvalues": [str(v) for v in eig],
            "singular_set": [str(s_) for s_ in singular], "syms": syms}


class CenterStableManifoldNullBasin(Claim):
    title = "The set of starts whose GD iterates converge to a repelling fixed point is a null set"
    statement = (r"If $\{\det DG = 0\}$ is a null set and $DG(\theta^*)$ has an eigenvalue of modulus $> 1$ at every "
                 r"$\theta^* \in S$, then $\{\theta_0 : G^n(\theta_0) \to S\}$ has Lebesgue measure zero.")
    source = "Cheridito, Jentzen, Rossmannek, arXiv:2208.02083 (2022), Theorem 1"
    hypotheses = (
        "G = theta - eta grad L, the GD map of a polynomial loss (an ExprLandscape), eta > 0",
        "the origin is a fixed point at which DG has an eigenvalue of modulus > 1",
        "det DG is not identically zero (its zero set is a null set)",
    )
    method = ("400 * horizon random starts in [-R, R]^d, R = 1.2 sqrt(b/c), 400 * horizon GD steps (float64); landed "
              f"when |theta_K| <= {LAND_TOL:g}; margin = -landed, else 1 - Wilson 95% upper bound. Stable-set starts "
              "(y = 0; for d = 1 the exact preimage sqrt((1 + eta b)/(eta c)) in SymPy) shown to land; 25 x 25 grid of "
              "outcomes for d = 2. Hypotheses checked exactly in SymPy. Confirmation: landed starts replayed at dps.")

    def instances(self, profile: Profile) -> Any:
        pos = st.builds(Fraction, st.integers(1, 8), st.integers(2, 4))

        @st.composite
        def draw(d: st.DrawFn) -> Instance:
            a, b, c = d(pos), d(pos), d(pos)
            e = d(st.sampled_from([Fraction(0), Fraction(1, 2), Fraction(1)]))
            eta = Fraction(d(st.integers(1, 9)), 10) / max(a, b)     # eta a < 1: the x-direction contracts
            return gd_map_instance(a, b, c, e, eta, dim=d(st.sampled_from([1, 2])), seed=d(st.integers(0, 10**6)))

        return draw()

    def check_hypotheses(self, instance: Instance) -> str | None:
        info = _map_info(instance)
        return info if isinstance(info, str) else None

    def _coeffs(self, instance: Instance) -> dict[str, float]:
        expr = instance.source.expr
        y = next(s for s in instance.source.symbols if s.name == "y")
        poly = sympy.Poly(expr, *instance.source.symbols)
        b = -2 * float(poly.coeff_monomial(y ** 2))
        c = 4 * float(poly.coeff_monomial(y ** 4))
        return {"b": b, "c": c}

    def _run(self, instance: Instance, profile: Profile, starts: np.ndarray) -> Any:
        land = instance.source.np()
        eta = float(instance.param("step_size"))
        steps = max(100, int(400 * profile.horizon))
        return run_descent(land, starts, step_size=np.full(len(starts), eta), steps=steps, checkpoints=4,
                           events=Events(gtol=1e-300, radius=1e6))

    def judge(self, instance: Instance, profile: Profile) -> Judgement:
        info = _map_info(instance)
        assert not isinstance(info, str)
        d = instance.source.n_params
        k = self._coeffs(instance)
        R = 1.2 * (k["b"] / k["c"]) ** 0.5
        rng = np.random.default_rng(int(instance.params.get("seed", "0")))
        m = max(50, int(400 * profile.horizon))
        starts = rng.uniform(-R, R, size=(m, d))
        res = self._run(instance, profile, starts)
        ends = np.array([np.asarray(t.theta, dtype=float) for t in res.members])
        norms = np.linalg.norm(np.where(np.isfinite(ends), ends, np.inf), axis=1)
        landed = [int(i) for i in np.flatnonzero(norms <= LAND_TOL)]
        upper = wilson_upper(len(landed), m)
        outcomes = [_outcome(t) for t in ends]
        # the stable set: {y = 0}
        stable = np.zeros((8, d))
        if d == 2:
            stable[:, 0] = rng.uniform(-R, R, size=8)
        s_res = self._run(instance, profile, stable)
        s_land = sum(float(np.linalg.norm(np.asarray(t.theta, dtype=float))) <= LAND_TOL for t in s_res.members)
        extra: dict[str, Any] = {}
        eta = info["eta"]
        yv = info["syms"][-1]
        if d == 1:
            b_, c_ = sympy.Rational(str(k["b"])), sympy.Rational(str(k["c"]))
            ystar = sympy.sqrt((1 + eta * b_) / (eta * c_))
            image = sympy.simplify(info["G"][0].xreplace({yv: ystar}))
            f_res = self._run(instance, profile, np.array([[float(ystar)]]))
            extra["exact_preimage"] = {"y_star": str(ystar), "G(y_star)_exact": str(image),
                                       "float64_run_from_y_star_ends_at": float(f_res.members[0].theta[0])}
        else:
            grid = np.linspace(-R, R, 25)
            pts = np.array([[gx, gy] for gy in grid for gx in grid])
            g_res = self._run(instance, profile, pts)
            extra["basin_grid"] = {"x": grid.tolist(), "y": grid.tolist(),
                                   "outcome": [_outcome(np.asarray(t.theta, dtype=float)) for t in g_res.members]}
        hist = {o: outcomes.count(o) for o in sorted(set(outcomes))}
        summary = (f"d={d}, eta={eta}: {len(landed)} of {m} random starts land at the repelling fixed point (Wilson "
                   f"95% upper bound on the basin fraction {upper:.3g}); {s_land} of 8 stable-set starts land; "
                   f"det DG = 0 on {info['singular_set'] or 'no real set'}")
        evidence = {"outcome": "landed" if landed else "none landed", "outcome_histogram": hist,
                    "random_starts": m, "landed": landed[:10], "wilson_upper": upper, "confidence": 0.95,
                    "stable_set_starts": 8, "stable_set_landed": int(s_land), "det_DG": str(info["det"]),
                    "singular_set_y": info["singular_set"], "eigenvalues_DG0": info["eigenvalues"], **extra}
        return Judgement(-float(len(landed)) if landed else 1.0 - upper, summary, evidence)

    def confirm(self, instance: Instance, profile: Profile, dps: int) -> Judgement:
        """Replay landed random starts (up to 5) at ``dps`` digits."""
        d = instance.source.n_params
        k = self._coeffs(instance)
        R = 1.2 * (k["b"] / k["c"]) ** 0.5
        rng = np.random.default_rng(int(instance.params.get("seed", "0")))
        m = max(50, int(400 * profile.horizon))
        starts = rng.uniform(-R, R, size=(m, d))
        res = self._run(instance, profile, starts)
        land = instance.source.mp(dps)
        ctx = land.ctx
        eta = ctx.mpf(instance.param("step_size").numerator) / instance.param("step_size").denominator
        still = 0
        idx = [i for i, t in enumerate(res.members) if np.linalg.norm(np.asarray(t.theta, dtype=float)) <= LAND_TOL]
        for i in idx[:5]:
            th = [ctx.mpf(float(v)) for v in starts[i]]
            for _ in range(int(res.members[i].t)):
                th = [t - eta * g for t, g in zip(th, land.grad(th))]
            if ctx.sqrt(sum(t * t for t in th)) <= LAND_TOL:
                still += 1
        return Judgement(-float(still) if still else 1.0,
                         f"{still} of {len(idx[:5])} landed starts land at {dps} digits")


def _outcome(theta: np.ndarray) -> str:
    if not np.all(np.isfinite(theta)) or float(np.abs(theta).max()) > 1e5:
        return "diverged"
    if float(np.linalg.norm(theta)) <= LAND_TOL:
        return "fixed point (origin)"
    if abs(float(theta[-1])) < 1e-3:
        return "near y = 0 (not landed)"
    return "y > 0" if theta[-1] > 0 else "y < 0"


__all__ = ["CenterStableManifoldNullBasin", "gd_map_instance"]
