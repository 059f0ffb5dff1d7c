r"""Periodic orbits of GD and their stability (Craciun and Ghoshdastidar, arXiv 2510.24466, Section 5).

Statement. G_eta^k is non-singular too, so the stability analysis extends to k-cycles: an orbit
{theta_0, ..., theta_{k-1}} with G(theta_j) = theta_{j+1 mod k} is linearly stable iff the spectral
radius of DG(theta_{k-1}) ... DG(theta_0), DG = I - eta H, is below 1 (unstable if above).
Worked example: f(x) = relu(theta_2 relu(theta_1 x)) on (0.9, 0.9), (2.5, 2.5) with
L = (1/m) sum (1/2)(f - y)^2 = C (theta_1 theta_2 - 1)^2, C = 1.765, on the positive quadrant.
GD from (1.48, 1/1.48 + 0.1) converges to a minimum for eta = 0.25 and to a period-2 orbit for
eta = 0.325 (Figure 3). Derived: with k = 2 C eta the balanced minimum (1, 1) (the last minimum to
lose stability: the normal eigenvalue 2C |theta|^2 is smallest there) is stable iff k < 1, i.e.
eta < 1/(2C) = 0.28329; for k > 1 the 2-cycle on the diagonal has multipliers 9 - 2(1 + k)^2 and
3 - 2k and is stable iff 1 < k < sqrt(5) - 1, i.e. up to eta = (sqrt(5) - 1)/(2C) = 0.35014.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
from hypothesis import strategies as st

from verify import Claim, Events, ExprLandscape, Instance, Judgement, Profile, certify_cycle, find_cycle, run_descent
from verify import strategies as vst

from ._stability_examples import PAPER_START, C, paper_quadrant, two_cycle

ETA_MIN_UNSTABLE = 1 / (2 * float(C))
ETA_CYCLE_UNSTABLE = (math.sqrt(5) - 1) / (2 * float(C))
_NO_STOP = Events(gtol=1e-300)
#: spectral radii within this of 1 are not judged against direct iteration
_NEAR_ONE = 1e-2


def _cubic() -> ExprLandscape:
    """L = (w^2 - 1)^2 / 4: G(w) = (1 + eta) w - eta w^3, the same cubic map as the paper's diagonal."""
    return ExprLandscape("(w**2 - 1)**2/4", ["w"], name="cubic-map")


def _iterate(land: Any, eta: Any, x: Any, k: int, periods: int, dist: Any) -> list[Any]:
    out = []
    for _ in range(periods):
        for _ in range(k):
            g = land.grad(x)
            x = [a - eta * b for a, b in zip(x, g)]
        out.append(dist(x))
    return out


class GdPeriodicOrbits(Claim):
    title = "A GD k-cycle attracts nearby iterates iff its multipliers lie inside the unit circle"
    statement = (r"A $k$-cycle $\{\theta_0, \dots, \theta_{k-1}\}$ of "
                 r"$G_\eta(\theta) = \theta - \eta \nabla L(\theta)$ "
                 r"is linearly stable iff $\rho(DG(\theta_{k-1}) \cdots DG(\theta_0)) < 1$, $DG = I - \eta H$; for "
                 r"the paper's ReLU example the balanced minimum loses stability at $\eta = 1/(2C)$, where a stable "
                 r"2-cycle appears, which loses stability at $\eta = (\sqrt5 - 1)/(2C)$ ($C = 1.765$).")
    source = "Craciun, Ghoshdastidar 2025 (arXiv 2510.24466), Section 5 and Appendix C (periodic orbits, Figure 3)"
    hypotheses = ("L is C^2 near the orbit", "step_size > 0",
                  "the paper's example: theta in the positive quadrant, where L = 1.765 (theta_1 theta_2 - 1)^2")
    method = ("GD in float64 (4000 x horizon steps) from the instance's start; verify.find_cycle (Newton on "
              "G^k - id, periods <= 8) on the last iterates gives the orbit and its multipliers. For the paper "
              "example with k = 2 C eta > 1 the closed-form diagonal 2-cycle is refined the same way even when GD "
              "does not stay on it (unstable). Each orbit is checked against direct iteration: a perturbation of "
              "size 1e-7 (random direction) is iterated through G^k; it must shrink iff the spectral radius rho < 1 "
              "(orbits with |rho - 1| < 0.01 are not judged), and the orbit's multipliers must match the closed forms "
              "(1 - 2 C eta |theta|^2 at a minimum; 9 - 2(1 + k)^2, 3 - 2k on the 2-cycle) to 1e-6. The loss "
              "normalization is L = (1/m) sum (1/2)(f - y)^2 (coefficient 1.765). Confirmation: the multipliers "
              "(products of I - eta H) and the direct iteration in the mp tier at dps digits.")

    def instances(self, profile: Profile) -> Any:
        eta = vst.rationals(min_value=Fraction(1, 5), max_value=Fraction(2, 5), max_denominator=200)
        shift = vst.rationals(min_value=Fraction(-1, 10), max_value=Fraction(1, 10), max_denominator=20)
        paper = st.builds(lambda e, a, b: Instance(paper_quadrant(), (PAPER_START[0] + a, PAPER_START[1] + b),
                                                   {"step_size": e}), eta, shift, shift)
        eta_c = vst.rationals(min_value=Fraction(1, 2), max_value=Fraction(13, 10), max_denominator=100)
        w0 = vst.rationals(min_value=Fraction(1, 4), max_value=Fraction(3, 2), max_denominator=16)
        cubic = st.builds(lambda e, w: Instance(_cubic(), (w,), {"step_size": e}), eta_c, w0)
        return st.one_of(paper, cubic)

    def check_hypotheses(self, instance: Instance) -> str | None:
        if instance.param("step_size") <= 0:
            return "step_size is not positive"
        if instance.theta0 is None:
            return "no start theta0 given"
        if instance.source.name == "craciun-quadrant" and not all(v > 0 for v in instance.theta0):
            return "the start is not in the positive quadrant, where the ReLU loss is the polynomial"
        return None

    def _orbits(self, instance: Instance, profile: Profile) -> tuple[list[tuple[str, Any]], dict[str, Any]]:
        land = instance.source.np()
        eta = float(instance.param("step_size"))
        steps = max(1000, int(4000 * profile.horizon))
        res = run_descent(land, [float(v) for v in instance.theta0], step_size=eta, steps=steps, events=_NO_STOP)
        m = res.members[0]
        ev: dict[str, Any] = {"gd_status": m.status.value}
        orbits: list[tuple[str, Any]] = []
        if m.status.value != "diverged":
            last = list(m.extra["last"]) or [tuple(m.theta)]
            if len(last) < 2:  # stopped at step 0: the start is a critical point
                last = [last[-1], last[-1]]
            cyc = find_cycle(land, eta, last)
            if cyc is not None:
                orbits.append(("gd", cyc))
        if instance.source.name == "craciun-quadrant":
            k = 2 * float(C) * eta
            ev.update({"k": k, "eta_minimum_loses_stability": ETA_MIN_UNSTABLE,
                       "eta_two_cycle_loses_stability": ETA_CYCLE_UNSTABLE})
            if k > 1.0 + 1e-6:
                p, q, _, _ = two_cycle(k)
                seeded = find_cycle(land, eta, np.array([[p, p], [q, q], [p, p], [q, q]]) + 1e-9)
                if seeded is not None:
                    orbits.append(("closed-form 2-cycle", seeded))
        return orbits, ev

    def _closed_form(self, instance: Instance, cyc: Any) -> list[float] | None:
        eta = float(instance.param("step_size"))
        if instance.source.name == "craciun-quadrant":
            k = 2 * float(C) * eta
            if cyc.period == 1:
                r2 = sum(v * v for v in cyc.points[0])
                return sorted([1.0, 1 - k * r2])
            if cyc.period == 2 and k > 1 and abs(cyc.points[0][0] - cyc.points[0][1]) < 1e-8:
                _, _, a, b = two_cycle(k)
                return sorted([a, b])
        if instance.source.name == "cubic-map" and cyc.period == 1:
            w = cyc.points[0][0]
            return [1 - eta * (3 * w * w - 1)]
        return None

    def _check(self, instance: Instance, profile: Profile, dps: int | None) -> Judgement:
        orbits, ev = self._orbits(instance, profile)
        eta_q = instance.param("step_size")
        notes: list[str] = []
        agree = disagree = 0
        found = []
        proof: dict[str, Any] | None = None
        rng = np.random.default_rng(7)
        for label, cyc in orbits:
            k = cyc.period
            decisive_f = [abs(z) for z in cyc.multipliers if abs(z - 1) > 1e-8]
            rho_f = max(decisive_f) if decisive_f else 0.0
            u = rng.standard_normal(len(cyc.points[0]))
            u /= np.linalg.norm(u)
            if dps is None:
                land: Any = instance.source.np()
                base = np.array(cyc.points[0])
                eta: Any = float(eta_q)
                x: Any = base + 1e-7 * u
                rho = rho_f

                def dist(y: Any, base: Any = base) -> float:
                    return float(np.linalg.norm(np.asarray(y) - base))

                def gd(y: Any, land: Any = land, eta: Any = eta) -> Any:
                    return np.asarray(y) - eta * land.grad(np.asarray(y))
            else:
                land = instance.source.mp(dps)
                ctx = land.ctx
                eta = ctx.mpf(eta_q.numerator) / eta_q.denominator
                base_mp = [ctx.mpf(v) for v in cyc.points[0]]
                # refine the orbit point at dps digits by fixed-point iteration is not possible for unstable orbits:
                # use the float64 point (error ~1e-15, far below the perturbation 1e-7)
                x = [b + ctx.mpf(1e-7) * ctx.mpf(float(c)) for b, c in zip(base_mp, u)]
                M = ctx.eye(len(base_mp))
                y = list(base_mp)
                for _ in range(k):
                    H = land.hessian(y)
                    M = (ctx.eye(len(y)) - eta * ctx.matrix(H)) * M
                    g = land.grad(y)
                    y = [a - eta * b for a, b in zip(y, g)]
                E = ctx.eig(M)[0]
                decisive = [abs(z) for z in E if abs(z - 1) > 1e-8]
                rho = float(max(decisive)) if decisive else 0.0

                def dist(y: Any, ctx: Any = ctx, base_mp: Any = base_mp) -> float:
                    return float(ctx.sqrt(ctx.fsum((a - b) ** 2 for a, b in zip(y, base_mp))))
            if abs(rho - 1) < _NEAR_ONE:
                notes.append(f"{label}: period {k}, rho {rho:.4g} too close to 1 to judge")
                continue
            periods = int(min(3000 // k, math.ceil(math.log(1e3) / abs(math.log(max(rho, 1e-300)))) + 2))
            if dps is None:
                ds = [dist(x)]
                for _ in range(periods):
                    for _ in range(k):
                        x = gd(x)
                    ds.append(dist(x))
                    if not math.isfinite(ds[-1]) or ds[-1] > 1e-2:
                        break
            else:
                ds = [dist(x)]
                for dk in _iterate(land, eta, x, k, periods, dist):
                    ds.append(dk)
                    if dk > 1e-2:
                        break
            grew = ds[-1] > ds[0]
            ok = grew == (rho > 1)
            closed = self._closed_form(instance, cyc)
            closed_ok = True
            if closed is not None:
                got = sorted(z.real for z in cyc.multipliers)
                closed_ok = len(got) == len(closed) and all(abs(a - b) <= 1e-6 * max(1, abs(b))
                                                            for a, b in zip(got, closed))
            # the orbit proved in ball arithmetic (Krawczyk on G^k - id), with enclosed multipliers
            cert = certify_cycle(instance.source, [float(v) for v in cyc.points[0]], step_size=eta_q, period=k)
            cert_ok = not cert.certified or cert.stable is None or cert.stable == (rho < 1)
            if cert.certified and proof is None:
                proof = {"kind": "GD cycle", "statement": cert.reason, "points": [list(p) for p in cert.points],
                         "box_radius": cert.box_radius, "multipliers": [list(m) for m in cert.multipliers or ()],
                         "stable": cert.stable,
                         "recheck": (f"verify.certify_cycle(instance.source, {list(cert.points[0])}, "
                                     f"step_size={str(eta_q)!r}, period={k})")}
            agree += ok and closed_ok and cert_ok
            disagree += not (ok and closed_ok and cert_ok)
            found.append({"source": label, "period": k, "points": [list(p) for p in cyc.points],
                          "multipliers": [[z.real, z.imag] for z in cyc.multipliers], "rho": rho,
                          "stable": rho < 1, "perturbation": [ds[0], ds[-1]], "closed_form": closed,
                          "closed_form_ok": closed_ok, "certified": cert.certified,
                          "certified_stable": cert.stable})
            notes.append(f"{label}: period {k}, rho {rho:.4g}, perturbation {ds[0]:.1e} -> {ds[-1]:.1e}"
                         + ("" if closed_ok else " (multipliers differ from the closed form)")
                         + (", certified" if cert.certified else "")
                         + ("" if cert_ok else " (the certified multipliers say otherwise)"))
        ev["orbits"] = found
        periods_found = sorted({o["period"] for o in found if o["source"] == "gd"})
        ev["outcome"] = f"period {periods_found[0]}" if periods_found else "no orbit judged"
        margin = -1.0 if disagree else 1.0 if agree else None
        if not notes:
            notes.append(f"GD {ev['gd_status']}; no cycle of period <= 8 found")
        return Judgement(margin, f"eta = {float(eta_q):.4g}: " + "; ".join(notes), ev,
                         proof if margin is not None else None)

    def judge(self, instance: Instance, profile: Profile) -> Judgement:
        return self._check(instance, profile, None)

    def confirm(self, instance: Instance, profile: Profile, dps: int) -> Judgement:
        return self._check(instance, profile, dps)
