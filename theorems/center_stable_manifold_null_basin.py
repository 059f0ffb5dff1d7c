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

The experiment (``experiment``, the same in every tier; the pattern of ``_relu_common``):
M = 400 * horizon starts uniform in [-R, R]^d (R = 1.2 sqrt(|b|/c), seeded; float64 values,
exact binary rationals), K = 1000 * horizon GD steps with the exact step size (diverged at
|theta| >= 1e6). The margin of a start is

    m = log10(|theta_K| / tol(1e-8))          (capped at +-50; +50 for a diverged run)

negative when the orbit is within tol(1e-8) of the fixed point after K steps: it landed in the
basin, at the resolution of the tier (``tol`` scales the float64 tolerance to the tier's
digits, so a float64 orbit that lands only because rounding put it on the stable set {y = 0}
does not land at higher precision). All M starts are run in float64; the 3 starts of smallest
float64 margin decide: the instance margin is their smallest margin in the tier (at ``dps``
digits: the three orbits recomputed from their exact starts with the exact step size, for the
same K steps). A negative margin says that a random start landed in the basin, which happens
with probability 0 when the theorem holds; the planted variant of
``tests/quality/planted_relu.py``, which drops the hypothesis of a repelling direction (the
origin a minimum), is refuted.

Both sides are shown in the evidence (float64, the same in every tier): starts on {y = 0}
(|1 - eta a| < 1) land; for d = 1 the exact preimage y* is checked in SymPy; for d = 2 a
25 x 25 grid of starts is classified (for plots); the count of random starts that land, with
Wilson's 95% upper bound on the basin's measure fraction. Hypotheses are checked exactly: the
origin is a fixed point with an eigenvalue of modulus > 1, and det DG is not identically zero.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import sympy
from hypothesis import strategies as st

from verify import Claim, Events, ExprLandscape, Instance, Judgement, Profile, Tier, run_descent, wilson_upper

from ._relu_common import DECIDING, deciding, log_term

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


def _map_info(instance: Instance, *, hypotheses: bool = True) -> dict[str, Any] | str:
    """The GD map G, det DG, the eigenvalues of DG(0) and the singular set; or the reason why the
    instance is not a GD map of a formula (with ``hypotheses``: or why a hypothesis fails)."""
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
    if hypotheses and any(g.xreplace(origin) != 0 for g in grad):
        return "the origin is not a fixed point of the GD map (grad L(0) != 0)"
    eig = DG.xreplace(origin).eigenvals()
    if hypotheses and not any(abs(lam) > 1 for lam in eig):
        return (f"DG(0) has no eigenvalue of modulus > 1 (eigenvalues {sorted(eig, key=float)}): "
                "not a repelling direction")
    det = sympy.expand(DG.det())
    if hypotheses and det == 0:
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
    method = ("The same experiment in every tier: 400 * horizon random starts in [-R, R]^d, R = 1.2 sqrt(|b|/c) "
              "(exact binary rationals), 1000 * horizon GD steps; start margin log10(|theta_K| / tol(1e-8)) (negative: "
              "landed at the fixed point); all starts in float64, the 3 of smallest margin recomputed in the tier "
              "decide. tol = the float64 tolerance scaled to the tier. Evidence: stable-set starts (y = 0; for d = 1 "
              "the exact preimage sqrt((1 + eta b)/(eta c)) in SymPy) land; 25 x 25 grid of outcomes for d = 2; Wilson "
              "95% bound on the basin fraction. Hypotheses checked exactly in SymPy.")

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
        """b and c of the family (L = ... - b y^2/2 + c y^4/4 in the last variable y); 0 where a formula
        has no such term."""
        expr = instance.source.expr
        y = instance.source.symbols[-1]
        try:
            poly = sympy.Poly(expr, *instance.source.symbols)
            return {"b": -2 * float(poly.coeff_monomial(y ** 2)), "c": 4 * float(poly.coeff_monomial(y ** 4))}
        except sympy.PolynomialError:
            return {"b": 0.0, "c": 0.0}

    def starts(self, instance: Instance, profile: Profile) -> np.ndarray:
        """M random starts uniform in [-R, R]^d, float64 (exact binary rationals), seeded."""
        k = self._coeffs(instance)
        R = 1.2 * (abs(k["b"]) / k["c"]) ** 0.5 if k["c"] > 0 and k["b"] != 0 else 1.0
        rng = np.random.default_rng(int(instance.params.get("seed", "0")) % 2 ** 32)
        return rng.uniform(-R, R, size=(max(50, int(400 * profile.horizon)), instance.source.n_params))

    def _steps(self, profile: Profile) -> int:
        return max(250, int(1000 * profile.horizon))

    def _run(self, instance: Instance, profile: Profile, starts: np.ndarray, steps: int | None = None) -> Any:
        land = instance.source.np()
        eta = float(instance.param("step_size"))
        return run_descent(land, starts, step_size=np.full(len(starts), eta),
                           steps=self._steps(profile) if steps is None else steps, checkpoints=4,
                           events=Events(gtol=1e-300, radius=1e6))

    def experiment(self, instance: Instance, profile: Profile, tier: Tier) -> Judgement:
        info = _map_info(instance, hypotheses=False)
        if isinstance(info, str):
            return Judgement(None, f"not a GD map of a formula: {info}")
        d = instance.source.n_params
        starts = self.starts(instance, profile)
        m = len(starts)
        steps = self._steps(profile)
        # the float64 screen (the same in every tier)
        res = self._run(instance, profile, starts)
        f64 = Tier.float64()
        screened = [start_margin(f64, t.theta, _status(t)) for t in res.members]
        chosen = deciding(screened, DECIDING)
        decided = []
        for i in chosen:
            if tier.is_float64:
                margin, theta_end = screened[i], res.members[i].theta
            else:
                traj = tier.descent(tier.landscape(instance.source), [Fraction(float(v)) for v in starts[i]],
                                    step_size=instance.param("step_size"), steps=steps,
                                    events=Events(gtol=1e-300, radius=1e6), checkpoints=4)
                margin, theta_end = start_margin(tier, traj.theta, _status(traj)), traj.theta
            decided.append({"start": i, "theta0": [float(v) for v in starts[i]], "margin": margin,
                            "theta_end": [tier.text(v) for v in theta_end], "float64_margin": screened[i]})
        worst = min(decided, key=lambda r: r["margin"])
        ends = np.array([np.asarray(t.theta, dtype=float) for t in res.members])
        landed = [i for i, v in enumerate(screened) if v < 0]
        upper = wilson_upper(len(landed), m)
        outcomes = [_outcome(t) for t in ends]
        extra = self._both_sides(instance, profile, info)
        hist = {o: outcomes.count(o) for o in sorted(set(outcomes))}
        summary = (f"{tier}: d={d}, eta={info['eta']}: {len(landed)} of {m} random starts land at the fixed point "
                   f"in float64 (Wilson 95% upper bound on the basin fraction {upper:.3g}); deciding start "
                   f"{worst['start']}: "
                   f"margin {worst['margin']:.3g} (|theta_K| against tol(1e-8) = {tier.text(tier.tol(LAND_TOL))}); "
                   f"{extra['stable_set_landed']} of {extra['stable_set_starts']} stable-set starts land; det DG = 0 "
                   f"on {info['singular_set'] or 'no real set'}")
        evidence = {"outcome": "landed" if worst["margin"] < 0 else "none landed", "outcome_histogram": hist,
                    "random_starts": m, "steps": steps, "landed": landed[:10], "wilson_upper": upper,
                    "confidence": 0.95, "deciding_starts": decided, "tier": tier.name, "det_DG": str(info["det"]),
                    "singular_set_y": info["singular_set"], "eigenvalues_DG0": info["eigenvalues"], **extra}
        return Judgement(worst["margin"], summary, evidence)

    def _both_sides(self, instance: Instance, profile: Profile, info: dict[str, Any]) -> dict[str, Any]:
        """The stable set {y = 0} (float64), the exact preimage (d = 1) or the basin grid (d = 2)."""
        d = instance.source.n_params
        k = self._coeffs(instance)
        R = 1.2 * (abs(k["b"]) / k["c"]) ** 0.5 if k["c"] > 0 and k["b"] != 0 else 1.0
        rng = np.random.default_rng(int(instance.params.get("seed", "0")) % 2 ** 32 + 1)
        stable = np.zeros((8, d))
        if d == 2:
            stable[:, 0] = rng.uniform(-R, R, size=8)
        s_res = self._run(instance, profile, stable)
        s_land = sum(float(np.linalg.norm(np.asarray(t.theta, dtype=float))) <= LAND_TOL for t in s_res.members)
        extra: dict[str, Any] = {"stable_set_starts": 8, "stable_set_landed": int(s_land)}
        eta = info["eta"]
        yv = info["syms"][-1]
        if d == 1 and k["b"] > 0:
            b_, c_ = sympy.Rational(str(k["b"])), sympy.Rational(str(k["c"]))
            ystar = sympy.sqrt((1 + eta * b_) / (eta * c_))
            image = sympy.simplify(info["G"][0].xreplace({yv: ystar}))
            f_res = self._run(instance, profile, np.array([[float(ystar)]]))
            extra["exact_preimage"] = {"y_star": str(ystar), "G(y_star)_exact": str(image),
                                       "float64_run_from_y_star_ends_at": float(f_res.members[0].theta[0])}
        elif d == 2:
            grid = np.linspace(-R, R, 25)
            pts = np.array([[gx, gy] for gy in grid for gx in grid])
            g_res = self._run(instance, profile, pts, steps=400)
            extra["basin_grid"] = {"x": grid.tolist(), "y": grid.tolist(), "steps": 400,
                                   "outcome": [_outcome(np.asarray(t.theta, dtype=float)) for t in g_res.members]}
        return extra


def start_margin(tier: Tier, theta: Any, status: str) -> float:
    """log10(|theta_K| / tol(1e-8)), capped; +50 for a diverged orbit (module notes)."""
    if status == "diverged":
        return 50.0
    return log_term(tier.norm(theta if tier.is_float64 else list(theta)), float(tier.tol(LAND_TOL)))


def _status(traj: Any) -> str:
    return str(getattr(traj.status, "value", traj.status))


def _outcome(theta: np.ndarray) -> str:
    if not np.all(np.isfinite(theta)) or float(np.abs(theta).max()) > 1e5:
        return "diverged"
    if float(np.linalg.norm(theta)) <= LAND_TOL:
        return "fixed point (origin)"
    if abs(float(theta[-1])) < 1e-3:
        return "near y = 0 (not landed)"
    return "y > 0" if theta[-1] > 0 else "y < 0"


__all__ = ["CenterStableManifoldNullBasin", "gd_map_instance"]
