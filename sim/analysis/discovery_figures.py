"""The figures of a scenario discovery (``sim.analysis.discovery``): the peeling trajectory, the box, the points."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.analysis.output import save_figure
from sim.outcomes import MEASURES

FAIL = "#c0392b"
PASS = "#9aa5b1"
BOX = "#1f5f99"


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _short(name: str) -> str:
    return name.split(".", 1)[-1] if name.count(".") else name


def peeling_figure(d, path: Path) -> Path:
    """Coverage against density along the peeling trajectory, coloured by restricted parameters, the chosen box ringed."""
    plt = _plt()
    t = d.trajectory
    fig, ax = plt.subplots(figsize=(6.4, 4.8), constrained_layout=True)
    dims = t["restricted"].to_numpy()
    top = max(int(dims.max()), 1)
    cmap = plt.get_cmap("viridis", top + 1)
    prim = (t["step"] == "prim").to_numpy()
    style = {"c": dims, "cmap": cmap, "vmin": -0.5, "vmax": top + 0.5, "edgecolor": "white", "linewidth": 0.4,
             "zorder": 3}
    sc = ax.scatter(t["coverage"][prim], t["density"][prim], s=28, **{**style, "c": dims[prim]},
                    label="peeling and pasting")
    if (~prim).any():
        ax.scatter(t["coverage"][~prim], t["density"][~prim], s=34, marker="D", **{**style, "c": dims[~prim]},
                   label="pruned of a limit that is not significant")
        ax.legend(fontsize=7, loc="lower left")
    steps = t[prim]
    ax.plot(steps["coverage"], steps["density"], color="#888888", linewidth=0.7, zorder=2)
    if d.picked != d.chosen and d.picked >= 0:  # pruned from PRIM's box: an arrow from it
        p, c = t.loc[d.picked], t.loc[d.chosen]
        ax.annotate("", (c["coverage"], c["density"]), xytext=(p["coverage"], p["density"]),
                    arrowprops={"arrowstyle": "->", "color": FAIL, "linewidth": 1}, zorder=4)
    c = t.loc[d.chosen]
    ax.scatter([c["coverage"]], [c["density"]], s=190, facecolor="none", edgecolor=FAIL, linewidth=2, zorder=4)
    ax.annotate(f"box {d.chosen}: coverage {c['coverage']:.2f}, density {c['density']:.2f},\n"
                f"{int(c['restricted'])} parameter(s) restricted, {int(c['points'])} points",
                (c["coverage"], c["density"]), xytext=(-40, -90), textcoords="offset points", ha="right",
                va="top", fontsize=8, color=FAIL, arrowprops={"arrowstyle": "-", "color": FAIL, "linewidth": 0.6})
    ax.axhline(d.base_rate, color="#555555", linestyle=":", linewidth=1)
    ax.text(0.01, d.base_rate, f" share failing overall {d.base_rate:.2f}", va="bottom", fontsize=7, color="#555555",
            transform=ax.get_yaxis_transform())
    ax.set_xlim(-0.02, 1.05)
    ax.set_ylim(min(0.0, d.base_rate - 0.05), 1.05)
    ax.set_xlabel("coverage (share of all failing points in the box)")
    ax.set_ylabel("density (share of the box's points that fail)")
    ax.set_title("PRIM's peeling trajectory", fontsize=10)
    ax.grid(alpha=0.3)
    bar = fig.colorbar(sc, ax=ax, ticks=range(0, top + 1))
    bar.set_label("parameters restricted")
    save_figure(fig, path)
    plt.close(fig)
    return path


def box_figure(d, question, path: Path) -> Path:
    """Each restricted parameter: the points' range, the box's limits, and each limit's quasi-p-value."""
    plt = _plt()
    lim = d.limits
    n = max(len(lim), 1)
    fig, ax = plt.subplots(figsize=(7.2, 1.5 + 0.62 * n), constrained_layout=True)
    if lim.empty:
        ax.text(0.5, 0.5, "no parameter restricted: the failures are spread over every range",
                ha="center", va="center", fontsize=9)
        ax.set_axis_off()
    for i, r in enumerate(lim.itertuples()):
        y = n - 1 - i
        span = (r.data_high - r.data_low) or 1.0
        lo, hi = (r.low - r.data_low) / span, (r.high - r.data_low) / span
        ax.barh(y, 1.0, left=0.0, height=0.5, color="#e6e9ed", zorder=1)
        ax.barh(y, hi - lo, left=lo, height=0.5, color=BOX, alpha=0.85, zorder=2)
        for x, value, q, side in ((lo, r.low, r.qp_low, "left"), (hi, r.high, r.qp_high, "right")):
            if not np.isfinite(q):  # that side is not restricted
                continue
            inner = (x > 0.3) if side == "left" else (x > 0.7)  # the label inside the bar when there is room
            ax.text(x + (-0.01 if inner else 0.01), y, f"{value:.3g}\n(qp {q:.2g})", ha="right" if inner else "left",
                    va="center", fontsize=7, color="white" if inner else "black", zorder=3)
        ax.text(-0.03, y, f"{_short(r.parameter)}\n[{r.data_low:.3g}, {r.data_high:.3g}]", ha="right", va="center",
                fontsize=8)
        if np.isfinite(r.recurs):
            ax.text(1.03, y, f"{100 * r.recurs:.0f} %", ha="left", va="center", fontsize=8, color="#333333")
    if not lim.empty:
        ax.text(1.03, n - 0.45, "restricted in\nresamples", ha="left", va="bottom", fontsize=7, color="#333333")
        ax.set_xlim(-0.5, 1.2)
        ax.set_ylim(-0.6, n + 0.1)
        ax.set_axis_off()
    label = MEASURES[question.outcome].label.lower()
    ax.set_title(f"Where {question.policy} cuts {label} by less than {question.cut:g} %\n"
                 f"box {d.chosen}: coverage {d.coverage:.2f}, density {d.density:.2f}, mass {d.mass:.2f} "
                 "(the box's limits in blue, the points' range in grey)", fontsize=9)
    save_figure(fig, path)
    plt.close(fig)
    return path


def scatter_figure(result, path: Path) -> Path:
    """The points on the box's two most significant parameters (or its one, against the cut), with the box."""
    plt = _plt()
    d, pts, q = result.discovery, result.points, result.question
    fails = pts["fails"].to_numpy(dtype=bool)
    names = list(d.limits["parameter"][:2])
    fig, ax = plt.subplots(figsize=(6.0, 4.8), constrained_layout=True)
    if len(names) == 2:
        xs, ys = pts[names[0]].to_numpy(float), pts[names[1]].to_numpy(float)
        ylabel = names[1]
    else:
        name = names[0] if names else result.parameters[0]
        names = [name]
        xs, ys = pts[name].to_numpy(float), pts["cut"].to_numpy(float)
        ylabel = f"cut of {MEASURES[q.outcome].label.lower()} (%)"
        ax.axhline(q.cut, color=FAIL, linestyle="--", linewidth=1)
    ax.scatter(xs[~fails], ys[~fails], s=22, color=PASS, label=f"cut {q.cut:g} % or more", zorder=2)
    ax.scatter(xs[fails], ys[fails], s=22, color=FAIL, label=f"fails: cut below {q.cut:g} %", zorder=3)
    box = d.limits.set_index("parameter")
    if names and names[0] in box.index:
        x0, x1 = box.loc[names[0], "low"], box.loc[names[0], "high"]
        if len(names) == 2:
            y0, y1 = box.loc[names[1], "low"], box.loc[names[1], "high"]
        else:
            y0, y1 = ax.get_ylim()
        ax.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor=BOX, linewidth=1.6,
                                   zorder=4, label=f"box {d.chosen}" + (" (these two limits)" if len(d.limits) > 2
                                                                       else "")))
    ax.set_xlabel(names[0])
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    ax.set_title(f"{q.policy} against {q.baseline}: {len(pts)} points", fontsize=9)
    save_figure(fig, path)
    plt.close(fig)
    return path
