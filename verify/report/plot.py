"""Figures (matplotlib is an optional extra: ``pip install verify[plot]``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from ..errors import InputError

MAX_LINES = 50


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - depends on the environment
        raise InputError("--plot", "matplotlib", "is not installed: pip install 'verify[plot]'") from None
    return plt


def plot_trajectories(members: Sequence[Any], path: str | Path, *, title: str, xlabel: str = "flow time t") -> Path:
    """Loss, |theta| and |grad L| against time on log axes, one line per member (at most 50).

    Checkpoints at t = 0 are left out of the log axis.
    """
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), constrained_layout=True)
    keys = [("loss", "loss L"), ("theta_norm", "|theta|"), ("grad_norm", "|grad L|")]
    for m in list(members)[:MAX_LINES]:
        ck = m.checkpoints
        ts = [float(t) for t in ck.t]
        for ax, (key, _) in zip(axes, keys):
            vals = [float(v) for v in getattr(ck, key)]
            pts = [(t, v) for t, v in zip(ts, vals) if t > 0 and v > 0]
            if pts:
                ax.plot(*zip(*pts), lw=0.9, alpha=0.8)
    for ax, (_, label) in zip(axes, keys):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_title(label)
        ax.grid(True, which="both", alpha=0.3)
    shown = min(len(members), MAX_LINES)
    fig.suptitle(f"{title}" + (f" (first {shown} of {len(members)} members)" if len(members) > shown else ""))
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
