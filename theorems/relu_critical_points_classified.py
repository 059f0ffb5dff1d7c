r"""The critical points and critical values of the integral loss of shallow ReLU networks.

Statement (Cheridito, Jentzen, Rossmannek, J. Nonlinear Sci. 32 (2022), the classification
behind arXiv:2208.02083; theorems.md section 2, in our own derivation). For a network
N(x) = c + sum_j v_j s(w_j x + b_j) with N hidden neurons and the loss
L = int_a^b (N(x) - alpha x - beta)^2 dx:

* ReLU: the critical values are 0 and alpha^2 (b - a)^3 / (12 (k + 1)^4) for even
  0 <= k <= N. k = 0 is the constant fit f((a + b)/2) (a non-global local minimum when all
  neurons are strictly dead); even k >= 2 is the zig-zag (continuous, piecewise linear, knots
  a + i (b - a)/(k + 1), interpolating f at the midpoints of its pieces), a strict saddle.
  Local minima lie only at the values 0 and alpha^2 (b - a)^3 / 12.
* leaky ReLU: no non-global local minima; the constant fit (all hidden parameters 0) is a
  critical point with value alpha^2 (b - a)^3 / 12. (The guide gives no classification of the
  other leaky-ReLU saddle values: the ones the search finds are reported, not judged.)

The experiment (``experiment``, the same in every tier; ``tier`` is float64 in the search and
``dps``, ``2 dps`` digits in the confirmation):

1. **The classified points.** ``verify.relu_zigzag_point`` (every even k <= N) and
   ``verify.relu_constant_fit_point`` are built with rational coordinates and judged like every
   other point (below), in the tier's arithmetic at the exact point. They are also certified, once
   per problem, by ``verify.certify_critical_point`` in ball arithmetic at 30 digits (the exact
   gradient is 0, a critical manifold of the proved dimension passes through a box around the
   point, the loss is enclosed, the Hessian's inertia is proved): the constant fit and the
   zig-zag k = 2 (the ball model of the integral loss, built by SymPy, takes about 1 s for k = 2
   and 5 s for k = 4, so larger k are judged but not certified); the certificates are the
   instance's certificate. (A leaky-relu constant fit, w = b = v = 0, is not twice
   differentiable and not certified.)
2. **An independent search** (``_relu_common.structured_starts``): for every k = 1..N (odd k
   too) and every one of the 2^k orientation patterns, a start with k knots near
   a + i (b - a)/(k + 1) (jittered by 10% of the spacing), the output layer fitted by least
   squares; and N(0, I) starts. No critical value enters the search: it finds what its starts
   lead to. (Random starts alone found no zig-zag value on any of the 15 ``quick`` instances;
   with these starts every zig-zag value was found on every relu instance, N = 2..4, of the
   ``quick`` (13) and ``ci`` (29) searches. N >= 2 is drawn: N = 1 has no saddle value.)
   Levenberg-Marquardt on grad L (float64, vectorized) brings them to critical points; the end
   points are balanced (|(w_j, b_j)| = |v_j|, an exact symmetry). This float64 stage is the same
   in every tier (same starts, same iterations).
3. **The deciding points.** Every converged point gets its float64 margin (below); the
   ``DECIDING`` = 3 points of smallest margin and one point of every distinct value found are
   refined in the tier's arithmetic (Levenberg-Marquardt with mu = |g| |H| until |grad L| <=
   tol(1e-10) |H| |theta|; a point that does not get there is not a critical point at that
   precision and is left out) and judged there. The margin is the smallest margin of the
   classified points and the deciding points, in every tier.

Margins (each >= 0 when the statement holds for that point, continuous in the point):

* value (relu; leaky relu only for the classified points): 1 - dist(L, listed values) /
  (tol(1e-8) alpha^2 (b - a)^3): negative when a critical value lies farther than the
  tolerance from every listed value (for leaky relu the list is incomplete, so a search point's
  value is reported, not judged);
* kind: at a critical point with L > 0 where no local minimum may lie (relu: values other than 0
  and the constant fit; leaky relu: any L > 0) and where L is twice differentiable:
  (-lambda_min / |lambda|_max) / tol(1e-6) - 1, negative when the Hessian has no negative
  eigenvalue beyond the tolerance (a local minimum where the classification allows none);
* critical (classified points): 1 - |grad L| / (tol(1e-10) |H| |theta|) at the exact point, in
  the tier (negative when a point the classification describes is not critical).

``tol`` is ``tier.tol``: the float64 tolerance scaled to the tier's digits. A network with more
than 6 hidden neurons is beyond this method's reach (2^k patterns): undecided, inconclusive.

A user's conjecture subclasses the claim and overrides ``critical_values`` (the listed values),
``minimum_values`` (where local minima may lie) or ``values_complete``; the planted false
variants of ``tests/quality/planted_relu.py`` do.
"""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any

import numpy as np

from verify import (
    Certificate,
    Claim,
    Instance,
    Judgement,
    Profile,
    Tier,
    certify_critical_point,
    relu_constant_fit_point,
    relu_critical_values,
    relu_setting,
    relu_zigzag_point,
)

from ._relu_common import (
    CRIT_GTOL,
    DECIDING,
    EIG_TOL,
    MAX_SEARCH_HIDDEN,
    TINY,
    deciding,
    float64_points,
    nonsmooth_reason,
    refine,
    relu_instances,
    scale_of,
    seed_of,
    setting_of,
)

#: relative tolerance (of alpha^2 (b - a)^3) at which a value matches a listed one (float64)
VALUE_TOL = 1e-8

#: digits of the ball arithmetic that certifies the classified points
CERT_DPS = 30
#: the zig-zag points certified (the ball model of the integral loss is built by SymPy: about 1 s for
#: k = 2, 5 s for k = 4 on this machine; larger k are judged in the tier and not certified)
CERT_MAX_K = 2

_CERT_CACHE: dict[str, list[tuple[str, tuple[Fraction, ...], Certificate]]] = {}


def constructed_points(problem: Any) -> list[tuple[str, tuple[Fraction, ...]]]:
    """(label, exact theta) of every classified point built for ``problem``."""
    s = setting_of(problem)
    out = [("constant fit (k = 0)", relu_constant_fit_point(problem))]
    if s.activation == "relu":
        for k in range(2, s.n_hidden + 1, 2):
            out.append((f"zig-zag k = {k}", relu_zigzag_point(problem, k)))
    return out


def _certifiable(label: str) -> bool:
    return not label.startswith("zig-zag") or int(label.split("=")[1]) <= CERT_MAX_K


def certified_points(problem: Any, points: list[tuple[str, tuple[Fraction, ...]]] | None = None
                     ) -> list[tuple[str, tuple[Fraction, ...], Certificate]]:
    """The classified points (default ``constructed_points``) with their certificates
    (``verify.certify_critical_point`` at ``CERT_DPS`` digits: exact gradient, a critical manifold
    through a box, the loss enclosed, the Hessian's inertia proved), cached per problem."""
    points = constructed_points(problem) if points is None else points
    key = json.dumps([problem.to_dict(), [(label, [str(v) for v in th]) for label, th in points]], sort_keys=True,
                     default=str)
    hit = _CERT_CACHE.get(key)
    if hit is None:
        hit = [(label, theta, certify_critical_point(problem, theta, dps=CERT_DPS) if _certifiable(label) else
                Certificate(False, f"not attempted: zig-zag points with k > {CERT_MAX_K} are judged in the tier and "
                                   "not certified in this experiment (the ball model takes seconds); re-check with "
                                   "verify.certify_critical_point", tuple(str(v) for v in theta)))
               for label, theta in points]
        if len(_CERT_CACHE) > 64:
            _CERT_CACHE.clear()
        _CERT_CACHE[key] = hit
    return hit


class ReluCriticalPointsClassified(Claim):
    title = "The critical values of shallow ReLU / leaky ReLU networks on an interval are the classified ones"
    statement = (r"For $\mathcal N(x) = c + \sum_{j=1}^N v_j s(w_j x + b_j)$, $L = \int_a^b (\mathcal N - \alpha x "
                 r"- \beta)^2\,dx$: for ReLU the critical values are $0$ and $\alpha^2 (b-a)^3 / (12 (k+1)^4)$, $k$ "
                 r"even, $0 \le k \le N$ (zig-zag points, strict saddles for $k \ge 2$; non-global minima only at "
                 r"the constant fit $k = 0$); for leaky ReLU there are no non-global local minima.")
    source = ("Cheridito, Jentzen, Rossmannek, J. Nonlinear Sci. 32 (2022) (classification), as derived in "
              "theorems.md section 2 for arXiv:2208.02083")
    hypotheses = (
        "a [1, N, 1] network with biases and an affine output layer, N >= 1",
        "activation relu or leaky_relu",
        "the integral loss (factor 1) on an interval [a, b]",
        "an affine target alpha x + beta with rational coefficients",
    )
    method = ("The same experiment in every tier. The zig-zag points (every even k <= N) and the constant fit are "
              "built with rational coordinates and judged in the tier; the constant fit and the zig-zag k = 2 are "
              "certified in ball arithmetic (certify_critical_point, 30 digits: exact zero gradient, a critical "
              "manifold, the loss enclosed, the inertia proved): the certificate. Search: for "
              "k = 1..N and all 2^k orientation patterns a start with jittered knots a + i (b-a)/(k+1) and a "
              "least-squares output layer, plus 8 * horizon N(0, I) starts; float64 Levenberg-Marquardt on grad L "
              "(the same in every tier); the 3 points of smallest margin and one per value found refined in the "
              "tier (|grad L| <= tol(1e-10) |H| |theta|). Margins: value 1 - dist(L, listed) / (tol(1e-8) "
              "alpha^2 (b-a)^3) (relu); kind (-lambda_min/|lambda|_max)/tol(1e-6) - 1 where no minimum may lie "
              "(relu: L not in {0, alpha^2 (b-a)^3/12}; leaky: L > 0), at smooth points; the smallest of these. "
              "tol = the float64 tolerance scaled to the tier. N > 6: beyond this method's reach.")

    # -- the statement, overridable by a conjecture ----------------------------------------
    def critical_values(self, problem: Any) -> tuple[Fraction, ...]:
        """The listed critical values (exact)."""
        return relu_critical_values(problem)

    def minimum_values(self, problem: Any) -> tuple[Fraction, ...]:
        """The values at which a local minimum may lie: relu 0 and the constant fit; leaky relu 0."""
        s = setting_of(problem)
        return (Fraction(0), scale_of(problem) / 12) if s.activation == "relu" else (Fraction(0),)

    def classified_points(self, problem: Any) -> list[tuple[str, tuple[Fraction, ...]]]:
        """(label, exact theta) of the points the classification describes (``constructed_points``)."""
        return constructed_points(problem)

    def values_complete(self, problem: Any) -> bool:
        """Whether ``critical_values`` lists every critical value (relu: yes; leaky relu: no)."""
        return setting_of(problem).activation == "relu"

    # -- the claim ----------------------------------------------------------------------------
    def instances(self, profile: Profile) -> Any:
        # N >= 2: with N = 1 the classification has no saddle value to find
        return relu_instances(min_hidden=2, max_hidden=4 if profile.name != "quick" else 3)

    def check_hypotheses(self, instance: Instance) -> str | None:
        s = relu_setting(instance.source)
        return s if isinstance(s, str) else None

    def experiment(self, instance: Instance, profile: Profile, tier: Tier) -> Judgement:
        prob = instance.source
        s = setting_of(prob)
        if s.n_hidden > MAX_SEARCH_HIDDEN:
            return Judgement(None, f"beyond this method's reach: N = {s.n_hidden} hidden neurons; the structured "
                                   f"search enumerates 2^k orientation patterns for k <= N and is run for "
                                   f"N <= {MAX_SEARCH_HIDDEN}")
        scale = scale_of(prob)
        listed = tuple(sorted(set(self.critical_values(prob))))
        minima = tuple(self.minimum_values(prob))
        complete = self.values_complete(prob)
        tol = _Tols(tier, scale)
        land = tier.landscape(prob)
        components: list[dict[str, Any]] = []

        # (1) the classified points: built exactly, judged in the tier, certified in balls
        certs = certified_points(prob, self.classified_points(prob))
        exact_rows = []
        for label, theta, cert in certs:
            comps, rec = self._point(tier, land, prob, tier.vector(theta), listed, minima, True, tol)
            g = land.grad(tier.vector(theta) if tier.is_float64 else list(tier.vector(theta)))
            gnorm = tier.norm(g)
            comps.append({"point": "", "test": "critical", "margin": 1 - gnorm / (tol.crit * _size(tier, land, theta)),
                          "detail": f"|grad L| = {tier.text(gnorm)} at the exact point"})
            for c in comps:
                c["point"] = label
            components += comps
            rec.update({"point": label, "theta": [str(v) for v in theta], "certified": cert.certified,
                        "certificate": cert.reason, "inertia": list(cert.inertia) if cert.inertia else None,
                        "kind": cert.kind, "loss_enclosure": list(cert.loss_enclosure) if cert.loss_enclosure
                        else None, "grad_zero": cert.exact_gradient_zero})
            exact_rows.append(rec)

        # (2) the search: the float64 stage, the same in every tier
        reps = max(1, round(profile.horizon))
        normal = max(4, int(8 * profile.horizon))
        stage = float64_points(prob, seed_of(instance), reps=reps, normal=normal)
        pts = stage["points"]
        f64 = Tier.float64()
        land64 = stage["land"]
        f64_margins = []
        for p in pts:
            comps, _ = self._point(f64, land64, prob, p, listed, minima, complete, _Tols(f64, scale))
            f64_margins.append(min((c["margin"] for c in comps), default=np.inf))
        values64 = [float(v) for v in land64.loss(pts)] if len(pts) else []
        chosen = set(deciding(f64_margins, DECIDING))
        smooth64 = [nonsmooth_reason(prob, p, 1e-6) is None for p in pts]
        for rep in _one_per_value(values64, smooth64, float(scale)):
            chosen.add(rep)
        # (3) the deciding points in the tier
        found = []
        dropped = 0
        for i in sorted(chosen):
            th, gnorm, ok, its = refine(tier, land, pts[i], gtol=tol.crit)
            if not ok:
                dropped += 1
                found.append({"float64_value": values64[i], "refined": False, "gnorm": tier.text(gnorm)})
                continue
            comps, rec = self._point(tier, land, prob, th, listed, minima, complete, tol)
            for c in comps:
                c["point"] = f"search point {i}"
            components += comps
            rec.update({"float64_value": values64[i], "refined": True, "iterations": its, "index": i,
                        "margin": tier.text(min((c["margin"] for c in comps), default=None))
                        if comps else None})
            found.append(rec)
        worst = min(components, key=lambda c: c["margin"])
        margin = worst["margin"]
        rel_values = sorted({round(v / float(scale), 10) for v in values64})
        hits = {str(c): sum(abs(v - float(c)) <= 1e-6 * float(scale) for v in values64) for c in listed}
        summary = (f"N={s.n_hidden} {s.activation} ({tier}): {sum(c.certified for _, _, c in certs)} of "
                   f"{len(certs)} classified points certified; search "
                   f"{stage['converged']} of {stage['starts']} starts converged, values / (alpha^2 (b-a)^3) "
                   f"{rel_values}; {len(found) - dropped} deciding points refined"
                   + (f", {dropped} not critical at this precision" if dropped else "")
                   + f"; worst: {worst['point']} {worst['test']} margin {tier.text(margin)} ({worst['detail']})")
        unlisted = [r["value"] for r in found if r.get("refined") and not r.get("listed")]
        certificate = _certificate(certs)
        evidence = {"outcome": ("violation" if margin < 0 else "all classified"),
                    "listed_values": [str(v) for v in listed], "exact_checks": exact_rows,
                    "found_values_relative": rel_values, "listed_value_hits": hits, "deciding_points": found,
                    "unlisted_values": unlisted, "starts": stage["starts"], "converged": stage["converged"],
                    "tier": tier.name, "worst": {k: v for k, v in worst.items() if k != "margin"}}
        return Judgement(margin, summary, evidence, certificate=certificate)

    def _point(self, tier: Tier, land: Any, prob: Any, theta: Any, listed: tuple[Fraction, ...],
               minima: tuple[Fraction, ...], complete: bool, tol: _Tols) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The margins of one critical point, in this tier."""
        th = theta if tier.is_float64 else list(theta)
        value = land.loss(th)
        scale = tol.scale
        dists = [abs(value - tier.num(c)) for c in listed]
        near = min(range(len(listed)), key=lambda j: dists[j])
        rec: dict[str, Any] = {"value": tier.text(value, 15), "relative_value": float(value) / float(scale),
                               "nearest_listed": str(listed[near]), "listed": bool(dists[near] <= tol.value * tier.num(
                                   scale))}
        comps: list[dict[str, Any]] = []
        if complete:
            comps.append({"point": "", "test": "value", "margin": 1 - dists[near] / (tol.value * tier.num(scale)),
                          "detail": f"L = {tier.text(value, 12)}, nearest listed {listed[near]}"})
        smooth = nonsmooth_reason(prob, [float(v) for v in th], float(tol.tiny))
        rec["nonsmooth"] = smooth
        positive = value > tol.value * tier.num(scale)
        if positive and smooth is None and not any(abs(value - tier.num(c)) <= tol.value * tier.num(scale)
                                                   for c in minima):
            ratio = _min_ratio(tier, land.hessian(th))
            rec["hessian_min_ratio"] = tier.text(ratio)
            comps.append({"point": "", "test": "kind", "margin": -ratio / tol.eig - 1,
                          "detail": f"L = {tier.text(value, 12)}, lambda_min / |lambda|_max = {tier.text(ratio)}"})
        return comps, rec


class _Tols:
    """The float64 tolerances of the module, scaled to a tier."""

    def __init__(self, tier: Tier, scale: Fraction) -> None:
        self.value = tier.tol(VALUE_TOL)
        self.eig = tier.tol(EIG_TOL)
        self.crit = tier.tol(CRIT_GTOL)
        self.tiny = tier.tol(TINY)
        self.scale = scale


def _size(tier: Tier, land: Any, theta: tuple[Fraction, ...]) -> Any:
    """max(1, |H|_max) max(1, |theta|_inf) at an exact point, in the tier."""
    th = tier.vector(theta)
    H = land.hessian(th if tier.is_float64 else list(th))
    return max(1, max(abs(x) for row in H for x in row)) * max(1, max(abs(x) for x in th))


def _min_ratio(tier: Tier, H: Any) -> Any:
    lam = tier.eigvalsh(H)
    top = max(abs(x) for x in lam)
    return lam[0] / top if top else lam[0] * 0


def _one_per_value(values: list[float], smooth: list[bool], scale: float) -> list[int]:
    """One index per distinct value (relative 1e-6 of the scale): the first smooth point found
    (L twice differentiable there: refinement converges fast), else the first."""
    reps: list[int] = []
    for i in sorted(range(len(values)), key=lambda i: (not smooth[i], i)):
        if not any(abs(values[i] - values[j]) <= 1e-6 * scale for j in reps):
            reps.append(i)
    return sorted(reps)


def _certificate(certs: list[tuple[str, tuple[Fraction, ...], Certificate]]) -> dict[str, Any] | None:
    """The certificates of the classified points as one record (None when none was certified); the
    re-check calls take the exact rational points."""
    done = [(label, theta, c.record("instance.source")) for label, theta, c in certs if c.certified]
    if not done:
        return None
    missed = [f"{label} ({c.reason})" for label, _, c in certs if not c.certified]
    statement = "; ".join(f"{label}: {rec['statement']}" for label, _, rec in done if rec is not None)
    if missed:
        statement += "; not certified: " + "; ".join(missed)
    calls = [f"verify.certify_critical_point(instance.source, {[str(v) for v in theta]!r}, dps={CERT_DPS})"
             for _, theta, _ in done]
    points = []
    for (label, theta, rec), call in zip(done, calls):
        assert rec is not None
        points.append({"point": label, "theta_exact": [str(v) for v in theta], "kind": rec["kind"],
                       "manifold_dim": rec["manifold_dim"], "loss_enclosure": rec["loss_enclosure"],
                       "inertia": rec["inertia"], "box_radius": rec["box_radius"], "recheck": call})
    return {"kind": "critical manifolds" if any(p["manifold_dim"] for p in points) else "critical points",
            "statement": statement, "points": points, "recheck": "; ".join(calls)}


__all__ = ["ReluCriticalPointsClassified", "constructed_points", "certified_points"]
