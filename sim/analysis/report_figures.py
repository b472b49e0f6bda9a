"""The figures of the policy comparison report (``sim.analysis.report``).

Every scenario keeps one colour and one marker in every figure (:func:`styles`);
counts are for the period of a run (a year in the shipped scenarios), said on
each axis; legends sit outside the data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from sim.analysis.findings import RANKED, period
from sim.outcomes import MEASURES

_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p", "d", "8")


def styles(labels) -> dict[str, tuple]:
    """A distinct (colour, marker) for each label: 18 colours (no grey), and a marker that changes with each label.

    The report makes it once, from every label of the batch, and hands it to each figure.
    """
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("tab20")
    order = [0, 2, 4, 6, 8, 10, 12, 16, 18, 1, 3, 5, 7, 9, 11, 13, 17, 19]  # the greys (14, 15) are the baseline's
    return {label: (cmap(order[i % len(order)]), _MARKERS[i % len(_MARKERS)]) for i, label in enumerate(labels)}


def fig_tradeoff(rank: pd.DataFrame, days: int, style: dict | None = None):
    """Crossings averted against extra deaths, and against extra lives at risk; each point numbered as ranked.

    The vertical axes are linear near zero and logarithmic beyond (symlog), so that a policy with a
    large effect does not crush the others into one spot; labels are moved apart where points crowd.
    """
    import matplotlib.pyplot as plt

    style = style or styles(list(rank["scenario"]))
    fig, axes = plt.subplots(1, 2, figsize=(12.5, 5.4), constrained_layout=True)
    when = period(days)
    for ax, key in zip(axes, ("deaths", "lives_at_risk")):
        points = []
        for i, r in rank.iterrows():
            x, y = r["people_crossed"], r[key]
            color, marker = style[r["scenario"]]
            ax.errorbar(x.mean, y.mean, xerr=_err(x), yerr=_err(y), fmt=marker, color=color, ms=7, capsize=2,
                        elinewidth=0.8, label=f"{i + 1} {r['scenario']}" if key == "deaths" else None)
            points.append((x.mean, y.mean, str(i + 1)))
        spread = max([abs(p[1]) for p in points] + [1.0])
        ax.set_yscale("symlog", linthresh=max(1.0, 10 ** np.floor(np.log10(spread / 10))) if spread > 10 else 1.0)
        ax.axhline(0, color="grey", lw=0.8)
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_xlabel(f"crossings averted {when} (people; more is to the right)")
        head = dict((k, h) for k, h, _ in RANKED)[key]
        ax.set_ylabel(f"{head} {when} (people; symlog scale)")
        ax.grid(alpha=0.3)
        _label_points(ax, fig, points)
    axes[0].set_title("crossings averted against extra deaths (mean, 95 % interval)", fontsize=10)
    axes[1].set_title("crossings averted against extra lives at risk in interventions at sea", fontsize=10)
    fig.legend(loc="outside right center", fontsize=8, title="as ranked", title_fontsize=8, frameon=False)
    return fig


def _label_points(ax, fig, points, gap: float = 13.0) -> None:
    """Number each point, the labels pushed apart (in screen points) where they would overlap, with a leader line."""
    fig.canvas.draw()
    to_px = ax.transData.transform
    scale = fig.dpi / 72.0
    anchors = np.array([to_px((x, y)) for x, y, _ in points]) / scale if points else np.zeros((0, 2))
    pos = anchors + np.array([7.0, 7.0])
    rng = np.random.default_rng(0)
    for _ in range(200):
        moved = False
        for i in range(len(pos)):
            for j in range(i + 1, len(pos)):
                d = pos[i] - pos[j]
                dist = float(np.hypot(*d))
                if dist < gap:
                    push = (d / dist if dist > 1e-9 else rng.normal(size=2)) * (gap - dist) / 2
                    pos[i] += push
                    pos[j] -= push
                    moved = True
        if not moved:
            break
    for (x, y, text), a, p in zip(points, anchors, pos):
        offset = p - a
        far = np.hypot(*offset) > 14
        ax.annotate(text, (x, y), xytext=tuple(offset), textcoords="offset points", fontsize=8, color="#222",
                    ha="center", va="center",
                    arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "#777"} if far else None)


def _err(e) -> list:
    if not (np.isfinite(e.low) and np.isfinite(e.high)):
        return None
    return [[max(0.0, e.mean - e.low)], [max(0.0, e.high - e.mean)]]


#: The panels of the differences figure, left to right.
DIFFERENCE_KEYS = ("people_crossed", "deaths", "lives_at_risk", "people_prevented", "launch_success_rate",
                   "taxi_boat_success_rate")


def fig_differences(diffs: pd.DataFrame, order: list[str], days: int, style: dict | None = None):
    """Paired differences against the baseline with 95 % intervals, the scenarios in ranking order."""
    import matplotlib.pyplot as plt

    style = style or styles(order)
    n = len(order)
    fig, axes = plt.subplots(1, len(DIFFERENCE_KEYS), figsize=(2.3 * len(DIFFERENCE_KEYS) + 2.2, 0.32 * n + 1.8),
                             sharey=True, constrained_layout=True)
    y = np.arange(n)
    when = period(days)
    for ax, key in zip(axes, DIFFERENCE_KEYS):
        t = diffs[diffs["outcome"] == key].set_index("scenario").reindex(order)
        share = MEASURES[key].share
        scale = 100.0 if share else 1.0
        for yi, label in zip(y, order):
            r = t.loc[label]
            color, marker = style[label]
            err = [[(r["mean"] - r["ci_low"]) * scale], [(r["ci_high"] - r["mean"]) * scale]]
            ax.errorbar(r["mean"] * scale, yi, xerr=None if np.isnan(err[0][0]) else err, fmt=marker, color=color,
                        capsize=2, ms=6, elinewidth=0.9)
        ax.axvline(0, color="grey", lw=1)
        unit = "percentage points" if share else f"people {when}"
        ax.set_title(f"{MEASURES[key].label}\n({unit})", fontsize=9)
        ax.grid(axis="x", alpha=0.3)
        ax.tick_params(axis="x", labelsize=7, labelrotation=30)
    axes[0].set_yticks(y, order, fontsize=8)
    axes[0].invert_yaxis()
    fig.suptitle("difference from the baseline (paired, mean and 95 % interval), most crossings averted at the top",
                 fontsize=10)
    return fig


def _terrain_palette():
    from sim.model.geography import Terrain

    return {Terrain.SEA: "#1f4e79", Terrain.SHALLOW: "#6fa8dc", Terrain.BEACH: "#f6e3a1",
            Terrain.DUNES: "#e0c068", Terrain.WOODS: "#38761d", Terrain.URBAN: "#999999",
            Terrain.FARMLAND: "#b6d7a8", Terrain.WATERWAY: "#0b5394", Terrain.CLIFF: "#7f6000"}


#: What the map counts, per 5 km of shore: (title, boat outcomes).
MAP_KINDS = (("boats launched", ("failed_at_sea", "crossed")),
             ("boats prevented on land", ("prevented_on_land",)),
             ("boats intercepted at sea", ("intercepted_at_sea",)))


def fig_map(boats: pd.DataFrame, summaries: pd.DataFrame, labels: list[str], days: int):
    """The coast, then where boats launch, are prevented on land and are intercepted, per scenario and 5 km."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    from sim.model.geography import Terrain, load_coast

    coast = load_coast()
    palette = _terrain_palette()
    runs = summaries.groupby("scenario")["run"].nunique()
    bins = np.arange(0, coast.length_km + 5, 5)
    n = len(labels)
    fig = plt.figure(figsize=(13, 3.4 + 0.26 * n * len(MAP_KINDS)), constrained_layout=True)
    grid = fig.add_gridspec(1 + len(MAP_KINDS), 2, width_ratios=[1, 0.015],
                            height_ratios=[2.6] + [0.26 * n + 0.6] * len(MAP_KINDS))
    ax = fig.add_subplot(grid[0, 0])
    terrain = coast.layers["terrain"].T
    ax.imshow(terrain, origin="upper", aspect="auto", cmap=ListedColormap([palette[t] for t in Terrain]), vmin=0,
              vmax=len(Terrain) - 1, extent=(0, coast.length_km, coast.n_rows, 0), interpolation="nearest")
    ax.set_yticks([])
    ax.set_xlim(0, coast.length_km)
    ax.set_title("the coast from the Belgian border (left) to the Bay of Somme (right), sea at the top; "
                 "launch places named below", fontsize=9)
    ax.set_xticks(np.arange(0, coast.length_km + 1, 10))
    ax.tick_params(axis="x", labelsize=7)
    for i, s in enumerate(sorted(coast.sites, key=lambda s: s.km)):
        ax.annotate(s.name, (s.km, coast.n_rows), xytext=(0, -14 - 11 * (i % 3)), textcoords="offset points",
                    fontsize=6.5, ha="center", va="top", arrowprops={"arrowstyle": "-", "lw": 0.4, "color": "#555"},
                    annotation_clip=False)
    present = sorted({Terrain(int(v)) for v in np.unique(terrain)}, key=int)
    ax.legend(handles=[Patch(color=palette[t], label=t.name.lower()) for t in present], loc="upper left",
              bbox_to_anchor=(1.005, 1.0), fontsize=7, frameon=False, title="terrain", title_fontsize=7)
    when = period(days)
    for k, (title, outcomes) in enumerate(MAP_KINDS):
        ax = fig.add_subplot(grid[1 + k, 0])
        counts = np.zeros((n, len(bins) - 1))
        for row, label in enumerate(labels):
            b = boats[(boats["scenario"] == label) & boats["outcome"].isin(outcomes)]
            counts[row], _ = np.histogram(b["launch_km"], bins=bins)
            counts[row] /= max(1, int(runs.get(label, 1)))
        image = ax.imshow(counts, aspect="auto", cmap="viridis", interpolation="nearest",
                          extent=(0, coast.length_km, n, 0))
        ax.set_yticks(np.arange(n) + 0.5, labels, fontsize=7)
        ax.set_xlim(0, coast.length_km)
        ax.set_xticks(np.arange(0, coast.length_km + 1, 10))
        ax.tick_params(axis="x", labelsize=7)
        ax.set_title(f"{title} {when}, per 5 km of shore (mean of the runs)", fontsize=9, loc="left")
        bar = fig.colorbar(image, cax=fig.add_subplot(grid[1 + k, 1]))
        bar.set_label(f"boats {when}", fontsize=7)
        bar.ax.tick_params(labelsize=7)
        if k == len(MAP_KINDS) - 1:
            ax.set_xlabel("km along the shore from the Belgian border")
    return fig


def fig_daily(daily: pd.DataFrame, labels: list[str], baseline: str | None, style: dict | None = None):
    """People crossing a day (7-day mean), one panel per scenario with the baseline behind it in grey."""
    import matplotlib.pyplot as plt

    others = [label for label in labels if label != baseline] or labels
    style = style or styles(labels)
    cols = min(4, len(others))
    rows = -(-len(others) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.3 * cols + 0.6, 2.2 * rows + 1.0), sharex=True, sharey=True,
                             constrained_layout=True, squeeze=False)

    def series(label):
        d = daily[daily["scenario"] == label]
        wide = d.pivot_table(index="date", columns="run", values="people_crossed", aggfunc="sum")
        smooth = wide.rolling(7, min_periods=1).mean()
        return smooth.index, smooth.mean(axis=1), smooth.quantile(0.25, axis=1), smooth.quantile(0.75, axis=1)

    base = series(baseline) if baseline in labels else None
    for ax, label in zip(axes.flat, others):
        if base is not None and label != baseline:
            x, m, lo, hi = base
            ax.fill_between(x, lo, hi, color="grey", alpha=0.25, lw=0)
            ax.plot(x, m, color="grey", lw=1.0)
        x, m, lo, hi = series(label)
        color, _ = style[label]
        ax.fill_between(x, lo, hi, color=color, alpha=0.3, lw=0)
        ax.plot(x, m, color=color, lw=1.3)
        ax.set_title(label, fontsize=8, loc="left")
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
        for tick in ax.get_xticklabels():
            tick.set_rotation(30)
    for k, ax in enumerate(axes.flat):
        if k >= len(others):
            ax.set_visible(False)
        elif k + cols >= len(others):  # nothing drawn below it: its dates are shown
            ax.xaxis.set_tick_params(labelbottom=True)
    for ax in axes[:, 0]:
        ax.set_ylabel("people crossed a day\n(7-day mean)", fontsize=8)
    grey = f"; {baseline} in grey behind each" if base is not None else ""
    fig.suptitle(f"people crossed a day through the run: mean of the runs, band from the 25th to the 75th "
                 f"percentile{grey}", fontsize=10)
    return fig


def fig_deployments(found: dict, style: dict | None = None):
    """Patrol units and drones in each sector (north to south), one line a scenario (``sim.analysis.deployments``)."""
    import matplotlib.pyplot as plt

    names = list(found)
    style = style or styles(names)
    n = len(next(iter(found.values())).units)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), constrained_layout=True)
    x = np.arange(1, n + 1)
    for ax, part, title in ((axes[0], "units", "patrol units a night"), (axes[1], "drones", "drones")):
        for name in names:
            color, marker = ("0.35", "o") if name == names[0] else style.get(name, ("grey", "o"))
            ax.plot(x, getattr(found[name], part), marker=marker, color=color, lw=2.2 if name == names[0] else 1.3,
                    label=name, alpha=0.95)
        ax.set_title(title, fontsize=10)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xticks(x)
        ax.set_xlabel("sector (1 = the Belgian border, north, to the Bay of Somme, south)", fontsize=8)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.suptitle(f"where each deployment puts its units and drones ({names[0]} in grey, bold)", fontsize=10)
    return fig
