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

The experiment (one body for every tier: float64 to search, ``dps`` and ``2 dps`` digits to
confirm). GD from the instance's start for 1500 x horizon steps; the smallest period k <= 8 that
the last iterates repeat (to 1e-3) is refined by Newton's method on G^k - id in the tier, and for
the paper's example with 2 C eta > 1 the closed-form diagonal 2-cycle is refined the same way
(GD does not stay on it when it is unstable). For each orbit: the multipliers (eigenvalues of the
monodromy product of I - eta H in the tier; those within tol(1e-8) of 1 are neutral, directions
along a manifold of fixed points), rho their largest modulus, and the prediction "stable iff
rho < 1" (taken from the Krawczyk certificate of the cycle when it decides). The observation: the
orbit's first point perturbed by 1e-7 in a fixed random direction is iterated through G^k for 60
periods (stopping when the per-period displacement leaves 1e-2 |theta| or falls to tol(1e-13));
c = (last displacement / first)^(1 / periods) is the observed contraction per period.

Margin (how far from violating the conclusion), the least of:

* ``1 - c`` for an orbit predicted stable and ``c - 1`` for one predicted unstable: negative when
  the perturbation grows near an orbit the multipliers call stable, or shrinks near one they call
  unstable; orbits with |rho - 1| < 0.01 are not judged;
* ``log10(tol(1e-6) / err)`` where closed-form multipliers exist (1 and 1 - 2 C eta |theta|^2 at a
  minimum of the paper's example, 9 - 2(1 + k)^2 and 3 - 2k on its diagonal 2-cycle, 1 - eta
  (3 w^2 - 1) at a fixed point of the cubic map): negative when the computed multipliers differ
  from the closed forms by more than the tolerance.

``predicted_stable`` and ``closed_form`` are the hooks a variant of the claim overrides (the
planted false claims in ``tests/quality/`` do). Sources: formula landscapes and network problems
(``tier.landscape``); the start is the instance's theta0, else the problem's ``[init] theta``.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import sympy
from hypothesis import strategies as st

from verify import Claim, ExprLandscape, Instance, Judgement, Profile, Tier, certify_cycle
from verify import strategies as vst

from . import _stability_examples as la
from ._stability_examples import PAPER_START, C, is_paper, paper_quadrant

ETA_MIN_UNSTABLE = 1 / (2 * float(C))
ETA_CYCLE_UNSTABLE = (math.sqrt(5) - 1) / (2 * float(C))
#: spectral radii within this of 1 are not judged against direct iteration
_NEAR_ONE = 1e-2
#: a period k is tried when the last iterates repeat after k steps to this (relative)
_DETECT = 1e-3
#: the perturbation of an orbit point (relative to max(1, |theta|)) and the periods it is iterated
_DELTA = 1e-7
_PERIODS = 60
_MAX_PERIOD = 8


def _is_cubic(source: Any) -> bool:
    """Whether the source is the cubic map's loss (w^2 - 1)^2 / 4 in one parameter, whatever it is named."""
    if not isinstance(source, ExprLandscape) or len(source.symbols) != 1:
        return False
    w = sympy.Symbol("w")
    return sympy.expand(source.expr.xreplace({source.symbols[0]: w}) - (w**2 - 1) ** 2 / 4) == 0


def _cubic() -> ExprLandscape:
    """L = (w^2 - 1)^2 / 4: G(w) = (1 + eta) w - eta w^3, the same cubic map as the paper's diagonal."""
    return ExprLandscape("(w**2 - 1)**2/4", ["w"], name="cubic-map")


def _start(instance: Instance) -> tuple[Fraction, ...] | None:
    if instance.theta0 is not None:
        return instance.theta0
    init = getattr(instance.source, "init", None)
    if init is not None and getattr(init, "scheme", None) == "explicit":
        return tuple(instance.source.initial_exact(0))
    return None


def _direction(d: int) -> list[Fraction]:
    """The fixed perturbation direction (seeded, exact binary numbers, unit length in float64)."""
    u = np.random.default_rng(7).standard_normal(d)
    u /= np.linalg.norm(u)
    return [Fraction(float(v)) for v in u]


def _certify(instance: Instance, tier: Tier, p: Any, k: int, eta: Fraction, *, neutral_dirs: int) -> Any:
    """``certify_cycle`` at the orbit point p, or an uncertified stand-in when the orbit is not isolated or the
    proved cycle is not within 1e-8 max(1, |p|) of p."""
    from verify import CycleCertificate

    def none(reason: str) -> Any:
        return CycleCertificate(False, reason, (), None, None, None, k, str(eta), 30)

    if neutral_dirs:
        return none(f"{neutral_dirs} neutral multiplier(s): the orbit lies on a manifold of cycles, not isolated")
    cert = certify_cycle(instance.source, [tier.exact_of(v) for v in p], step_size=eta, period=k)
    if cert.certified:
        scale = max(1.0, tier.to_float(tier.norm(p)))
        gap = math.sqrt(sum((float(a) - tier.to_float(b)) ** 2 for a, b in zip(cert.points[0], p)))
        if gap > 1e-8 * scale:
            return none(f"the certified cycle lies {gap:.3g} away from this orbit (another cycle)")
    return cert


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
    method = ("One experiment in every tier (float64 to search, dps and 2 dps digits to confirm): GD from the start "
              "for 1500 x horizon steps; the period k <= 8 the last iterates repeat (to 1e-3) is refined by Newton "
              "on G^k - id in the tier (for the paper example with k = 2 C eta > 1 also the closed-form diagonal "
              "2-cycle). Multipliers: eigenvalues of prod (I - eta H) in the tier (within tol(1e-8) of 1: neutral); "
              "prediction stable iff rho < 1 (from the Krawczyk certificate when it decides); observation: a 1e-7 "
              "perturbation iterated through G^k for 60 periods, c = observed contraction per period. Margin: the "
              "least of 1 - c (predicted stable) or c - 1 (predicted unstable), orbits with |rho - 1| < 0.01 not "
              "judged, and log10(tol(1e-6) / err) against the closed-form multipliers (1 - 2 C eta |theta|^2 at a "
              "minimum; 9 - 2(1 + k)^2, 3 - 2k on the 2-cycle; 1 - eta (3 w^2 - 1) for the cubic map). Loss "
              "normalization L = (1/m) sum (1/2)(f - y)^2 (coefficient 1.765).")

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
        if "step_size" not in instance.params:
            return "no step size: give [instance] params = { step_size = \"13/40\" }"
        if instance.param("step_size") <= 0:
            return "step_size is not positive"
        start = _start(instance)
        if start is None:
            return "no start: give [instance] theta0 = [...] or an explicit [init] theta"
        if is_paper(instance.source) and not all(v > 0 for v in start):
            return "the start is not in the positive quadrant, where the ReLU loss is the polynomial"
        return None

    # -- hooks a variant of the claim may override ----------------------------------------------
    def predicted_stable(self, instance: Instance, rho: float, certified: bool | None) -> bool | None:
        """The conclusion under test: the orbit is linearly stable iff rho < 1, as the certificate proves it
        when it decides (None: rho within 0.01 of 1, too close to call against a finite iteration)."""
        if abs(rho - 1) < _NEAR_ONE:
            return None
        return certified if certified is not None else rho < 1

    def closed_form(self, instance: Instance, tier: Tier, period: int, points: list[Any]) -> list[Any] | None:
        """The multipliers the paper's algebra predicts for this orbit (ascending, real), or None."""
        eta = tier.num(instance.param("step_size"))
        if is_paper(instance.source) and all(tier.to_float(v) > 0 for p in points for v in p):
            k = 2 * tier.num(C) * eta
            if period == 1:
                r2 = tier.dot(points[0], points[0])
                return sorted([1 - k * r2, tier.num(1)])
            p = points[0]
            if period == 2 and tier.to_float(k) > 1 and abs(tier.to_float(p[0] - p[1])) < 1e-6:
                return sorted([9 - 2 * (1 + k) ** 2, 3 - 2 * k])
        if _is_cubic(instance.source) and period == 1:
            w = points[0][0]
            return [1 - eta * (3 * w * w - 1)]
        return None

    # -- the experiment ---------------------------------------------------------------------------
    def _orbits(self, instance: Instance, profile: Profile, tier: Tier, land: Any,
                eta: Any) -> tuple[list[tuple[str, int, Any]], dict[str, Any]]:
        """(label, period, refined first point) of the orbits to judge."""
        start = _start(instance)
        assert start is not None
        steps = max(500, int(1500 * profile.horizon))
        status, taken, last = la.gd_iterates(tier, land, eta, la.vec(tier, start), steps, keep=2 * _MAX_PERIOD + 1)
        ev: dict[str, Any] = {"gd_status": status, "gd_steps": taken}
        out: list[tuple[str, int, Any]] = []
        if status != "diverged" and len(last) >= 2:
            x = last[-1]
            scale = max(1, tier.to_float(tier.norm(x)))
            for k in range(1, min(_MAX_PERIOD, len(last) - 1) + 1):
                if tier.to_float(la.diff_norm(tier, x, last[-1 - k])) > _DETECT * scale:
                    continue
                p, res = la.newton_cycle(tier, land, eta, x, k)
                if res is None or tier.to_float(res) > tier.to_float(tier.tol(1e-10)) * scale:
                    continue
                for j in range(1, k):      # the minimal period divides k
                    if k % j == 0:
                        y = p
                        for _ in range(j):
                            y = la.gd_step(tier, land, eta, y)
                        if tier.to_float(la.diff_norm(tier, y, p)) <= tier.to_float(tier.tol(1e-9)) * scale:
                            k = j
                            break
                out.append(("gd", k, p))
                break
        if is_paper(instance.source):
            kk = 2 * C * instance.param("step_size")
            ev.update({"k": float(kk), "eta_minimum_loses_stability": ETA_MIN_UNSTABLE,
                       "eta_two_cycle_loses_stability": ETA_CYCLE_UNSTABLE})
            if kk > 1:
                kt = tier.num(kk)
                sigma, root = tier.ctx.sqrt(1 + 3 / kt), tier.ctx.sqrt(1 - 1 / kt)
                p0 = (sigma + root) / 2
                seed = la.vec(tier, [tier.exact_of(p0)] * 2) if tier.is_float64 else [p0, p0]
                p, res = la.newton_cycle(tier, land, eta, seed, 2)
                scale = max(1, tier.to_float(tier.norm(p)))
                if res is not None and tier.to_float(res) <= tier.to_float(tier.tol(1e-10)) * scale:
                    out.append(("closed-form 2-cycle", 2, p))
        return out, ev

    def experiment(self, instance: Instance, profile: Profile, tier: Tier) -> Judgement:
        land = tier.landscape(instance.source)
        eta_q = instance.param("step_size")
        eta = tier.num(eta_q)
        orbits, ev = self._orbits(instance, profile, tier, land, eta)
        margins: list[Any] = []
        notes: list[str] = []
        found: list[dict[str, Any]] = []
        proof: dict[str, Any] | None = None
        for label, k, p in orbits:
            d = len(p)
            points = [p]
            M = la.eye(tier, d)
            for _ in range(k):
                M = la.matmul(tier, la.eye(tier, d) - eta * la.hessian(tier, land, points[-1]), M)
                points.append(la.gd_step(tier, land, eta, points[-1]))
            points = points[:k]
            mult = la.eigvals(tier, M)
            neutral = tier.to_float(tier.tol(1e-8))
            decisive = [abs(z) for z in mult if tier.to_float(abs(z - 1)) > neutral]
            rho = max(decisive) if decisive else tier.num(0)
            rho_f = tier.to_float(rho)
            # the orbit proved in ball arithmetic (Krawczyk on G^k - id), with enclosed multipliers; an orbit with a
            # neutral multiplier lies on a manifold of cycles (not isolated, nothing to prove), and a certificate for
            # a cycle away from this one (its Newton refinement may wander) is not this orbit's
            cert = _certify(instance, tier, p, k, eta_q, neutral_dirs=len(mult) - len(decisive))
            if cert.certified and proof is None:
                proof = {"kind": "GD cycle", "statement": cert.reason, "points": [list(q) for q in cert.points],
                         "box_radius": cert.box_radius, "multipliers": [list(m) for m in cert.multipliers or ()],
                         "stable": cert.stable,
                         "recheck": (f"verify.certify_cycle(instance.source, {list(cert.points[0])}, "
                                     f"step_size={str(eta_q)!r}, period={k})")}
            stable = self.predicted_stable(instance, rho_f, cert.stable if cert.certified else None)
            record: dict[str, Any] = {"source": label, "period": k,
                                      "points": [[tier.to_float(v) for v in q] for q in points],
                                      "multipliers": [[float(complex(z).real), float(complex(z).imag)] for z in mult],
                                      "rho": rho_f, "predicted_stable": stable, "certified": cert.certified,
                                      "certified_stable": cert.stable}
            text = f"{label}: period {k}, rho {rho_f:.4g}"
            if stable is not None:
                contraction = self._contraction(tier, land, eta, p, k)
                m = (1 - contraction) if stable else (contraction - 1)
                margins.append(m)
                record["contraction"] = tier.to_float(contraction)
                text += (f", perturbation contracts by {tier.text(contraction, 4)} per period"
                         f" ({'stable' if stable else 'unstable'} predicted)")
            else:
                text += " (too close to 1 to judge)"
            closed = self.closed_form(instance, tier, k, points)
            if closed is not None:
                got = sorted(complex(z).real if tier.is_float64 else tier.ctx.re(z) for z in mult)
                if len(got) == len(closed):
                    err = max(abs(a - b) for a, b in zip(got, closed))
                    tol = tier.tol(1e-6)
                    margins.append(tier.ctx.log10(tol / max(err, tier.eps ** 2)))
                    record["closed_form"] = [tier.to_float(v) for v in closed]
                    record["closed_form_error"] = tier.to_float(err)
                    if tier.to_float(err) > tier.to_float(tol):
                        text += f" (multipliers differ from the closed form by {tier.text(err, 3)})"
            if cert.certified:
                text += ", certified"
            found.append(record)
            notes.append(text)
        ev["orbits"] = found
        periods_found = sorted({o["period"] for o in found if o["source"] == "gd"})
        ev["outcome"] = f"period {periods_found[0]}" if periods_found else "no orbit judged"
        margin = min(margins, key=tier.to_float) if margins else None
        if not notes:
            notes.append(f"GD {ev['gd_status']}; no cycle of period <= {_MAX_PERIOD} found")
        return Judgement(margin, f"eta = {float(eta_q):.4g} ({tier}): " + "; ".join(notes), ev,
                         proof if margin is not None else None)

    def _contraction(self, tier: Tier, land: Any, eta: Any, p: Any, k: int) -> Any:
        """(last / first displacement per period)^(1 / periods) of a perturbed orbit point under G^k."""
        scale = max(1, tier.to_float(tier.norm(p)))
        u = _direction(len(p))
        x = tier.axpy(tier.num(Fraction(_DELTA)) * scale, la.vec(tier, u), p)
        first = None
        disp = None
        floor = tier.to_float(tier.tol(1e-13)) * scale
        periods = 0
        for j in range(_PERIODS):
            y = x
            for _ in range(k):
                y = la.gd_step(tier, land, eta, y)
            disp = la.diff_norm(tier, y, x)
            x = y
            if first is None:
                first = disp
                if tier.to_float(first) == 0:
                    return tier.num(0)
                continue
            periods = j
            dval = tier.to_float(disp)
            if not math.isfinite(dval) or dval > 1e-2 * scale or dval <= floor:
                break
        assert first is not None and disp is not None
        if periods == 0:
            return tier.num(1)
        if not math.isfinite(tier.to_float(disp)):
            return tier.ctx.inf
        ratio = disp / first
        return ratio ** (tier.num(1) / periods) if tier.to_float(ratio) > 0 else tier.num(0)
