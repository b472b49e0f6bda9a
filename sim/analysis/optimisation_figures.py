"""The figure of a deployment search: the trials, the front, and the chosen plans on fresh seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.outcomes import MEASURES

#: Colours: trials, the front and the plans in search, the plans on fresh seeds, the scenario's deployment.
TRIAL, SEARCH, FRESH, TODAY = "#b8b8b8", "#1f5fa8", "#d9541e", "#222222"


def pareto_figure(outcome, path: Path) -> Path:
    """``pareto.png``: every trial in search, the front, and each chosen plan moved to its fresh-seed figures.

    On fresh seeds a plan is drawn at the scenario's deployment's fresh figure plus its paired
    difference, with the difference's 95 % interval as error bars: a bar that does not reach the
    deployment's line is a plan that beats it outside the interval.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = outcome.settings
    keys = s.objectives
    trials = outcome.trials
    t = s.timeline
    days = f"days {t.scored[0]}-{t.scored[1] - 1} of each run"
    label = {k: f"{MEASURES[k].label} (a run, {days})" for k in keys}
    fig, ax = plt.subplots(figsize=(8.5, 6.0), dpi=110)
    if len(keys) >= 2:
        x, y = keys[0], keys[1]
        feasible = trials[trials["feasible"]] if len(trials) else trials
        infeasible = trials[~trials["feasible"]] if len(trials) else trials
        ax.scatter(feasible[x], feasible[y], s=14, c=TRIAL, label="trial (search seeds)", zorder=1)
        if len(infeasible):
            ax.scatter(infeasible[x], infeasible[y], s=16, marker="x", c=TRIAL, linewidths=0.8,
                       label="trial worse than today on " + ", ".join(MEASURES[k].label.lower() for k in s.no_worse),
                       zorder=1)
        on = trials[trials["front"]].sort_values(x) if len(trials) else trials
        ax.plot(on[x], on[y], "-o", c=SEARCH, ms=4, lw=1, alpha=0.6, label="front (search seeds)", zorder=2)
        ax.scatter([outcome.reference_in_search[x]], [outcome.reference_in_search[y]], marker="*", s=180,
                   facecolors="none", edgecolors=TODAY, label="today's deployment (search seeds)", zorder=4)
        ax.scatter([outcome.reference_fresh[x]], [outcome.reference_fresh[y]], marker="*", s=180, c=TODAY,
                   label="today's deployment (fresh seeds)", zorder=4)
        ax.axvline(outcome.reference_fresh[x], c=TODAY, lw=0.6, ls=":")
        ax.axhline(outcome.reference_fresh[y], c=TODAY, lw=0.6, ls=":")
        for i, c in enumerate(outcome.chosen):
            sx, sy = c.in_search[x], c.in_search[y]
            fx = outcome.reference_fresh[x] + c.difference[x][0]
            fy = outcome.reference_fresh[y] + c.difference[y][0]
            ax.scatter([sx], [sy], s=60, facecolors="none", edgecolors=SEARCH, linewidths=1.5, zorder=5)
            err = [[[c.difference[k][0] - c.difference[k][1]], [c.difference[k][2] - c.difference[k][0]]]
                   for k in (x, y)]
            ax.errorbar([fx], [fy], xerr=err[0], yerr=err[1], fmt="s", c=FRESH, ms=6, capsize=3, lw=1, zorder=6,
                        label="chosen plan, fresh seeds (paired 95 % interval)" if i == 0 else None)
            ax.annotate("", xy=(fx, fy), xytext=(sx, sy),
                        arrowprops=dict(arrowstyle="->", color=FRESH, lw=0.8, alpha=0.7), zorder=5)
            ax.annotate(f"plan {c.trial}", (fx, fy), textcoords="offset points", xytext=(6, 6), fontsize=8, c=FRESH)
        ax.set_xlabel(label[x])
        ax.set_ylabel(label[y])
        title = f"{s.scenario.name}: {len(trials)} trials on {s.seeds} seeds, {len(outcome.chosen)} plans on " \
                f"{len(outcome.fresh_seeds)} fresh seeds"
        if len(keys) > 2:
            title += f"\n(front over {len(keys)} objectives; the first two drawn)"
    else:
        k = keys[0]
        order = trials.sort_values("trial") if len(trials) else trials
        ax.scatter(order["trial"], order[k], s=14, c=TRIAL, label="trial (search seeds)")
        if len(order):
            ax.plot(order["trial"], np.minimum.accumulate(order[k].to_numpy()), c=SEARCH, lw=1,
                    label="best so far (search seeds)")
        ax.axhline(outcome.reference_in_search[k], c=TODAY, lw=0.8, ls="--", label="today's deployment (search seeds)")
        ax.axhline(outcome.reference_fresh[k], c=TODAY, lw=0.8, ls=":", label="today's deployment (fresh seeds)")
        right = (order["trial"].max() if len(order) else 0) + 2
        for i, c in enumerate(outcome.chosen):
            m, lo, hi = c.difference[k]
            base = outcome.reference_fresh[k]
            ax.errorbar([right + i], [base + m], yerr=[[m - lo], [hi - m]], fmt="s", c=FRESH, capsize=3,
                        label="chosen plan, fresh seeds (paired 95 % interval)" if i == 0 else None)
            ax.annotate(f"plan {c.trial}", (right + i, base + m), textcoords="offset points", xytext=(5, 5),
                        fontsize=8, c=FRESH)
        ax.set_xlabel("trial")
        ax.set_ylabel(label[k])
        title = f"{s.scenario.name}: {len(trials)} trials on {s.seeds} seeds, {len(outcome.chosen)} plans on " \
                f"{len(outcome.fresh_seeds)} fresh seeds"
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.25)
    ax.legend(fontsize=7.5, loc="best", framealpha=0.85)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
