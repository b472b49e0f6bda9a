"""Figures of a scenario's runs beside a year of the observed record (``sim.analysis.patterns``).

Each takes a :class:`~sim.analysis.patterns.PatternComparison` and returns a
matplotlib figure: the judged patterns, the daily series, monthly totals, the
distribution of people and boats per arrival day, and weekly preventions.
The observed record is black or grey throughout; the runs are blue, their
median a line and their 90 % interval (5th to 95th percentile across runs) a
band.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd

from sim.analysis.patterns import MONTH_NAMES, PATTERN_BY_KEY, PatternComparison

OBSERVED = "0.25"
SIMULATED = "tab:blue"
RESULT_COLOURS = {"pass": "tab:green", "near": "tab:orange", "FAIL": "tab:red", "n/a": "0.5"}


def _band(wide: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median, 5th and 95th percentiles across the columns (runs) of a wide table."""
    values = wide.to_numpy(dtype=float)
    return (np.median(values, axis=1), np.quantile(values, 0.05, axis=1), np.quantile(values, 0.95, axis=1))


def _wide(cmp: PatternComparison, column: str) -> pd.DataFrame:
    """The runs' daily ``column`` of the year: dates down, runs across."""
    return cmp.simulated_daily.pivot_table(index="date", columns="run", values=column, aggfunc="sum")


def fig_patterns(cmp: PatternComparison):
    """Every judged pattern: the runs' 99 % interval (thin), 90 % interval (thick), median, and the record."""
    import matplotlib.pyplot as plt

    table = cmp.table
    from matplotlib.ticker import FuncFormatter

    fig, axes = plt.subplots(len(table), 1, figsize=(11, 0.62 * len(table) + 1.4), constrained_layout=True)
    axes = np.atleast_1d(axes)
    for ax, (_, r) in zip(axes, table.iterrows()):
        share = PATTERN_BY_KEY[r["pattern"]].share
        scale = 100.0 if share else 1.0
        lo = np.nanmin([r["low99"], r["observed"]]) * scale
        hi = np.nanmax([r["high99"], r["observed"]]) * scale
        pad = 0.12 * (hi - lo) if hi > lo else max(1.0, abs(hi) * 0.1)
        if np.isfinite(r["low99"]):
            ax.plot([r["low99"] * scale, r["high99"] * scale], [0, 0], color=SIMULATED, lw=1.5, alpha=0.6)
            ax.plot([r["low90"] * scale, r["high90"] * scale], [0, 0], color=SIMULATED, lw=7, alpha=0.45,
                    solid_capstyle="butt")
            ax.plot([r["median"] * scale], [0], "|", color=SIMULATED, ms=14, mew=2)
        ax.plot([r["observed"] * scale], [0], "D", color=RESULT_COLOURS[r["result"]], ms=7, mec="k", mew=0.6)
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_ylim(-1, 1)
        ax.set_yticks([])
        unit = "%" if share else r["unit"]
        label = textwrap.fill(f"{r['label']} ({unit})", 34)
        ax.set_ylabel(f"{label}\n{r['result']}", rotation=0, ha="right", va="center", fontsize=7.5)
        ax.tick_params(axis="x", labelsize=7)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if abs(v) >= 1000 else f"{v:g}"))
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_title(f"the record of {cmp.year} (diamond: green pass, orange near, red FAIL) against {cmp.runs} runs\n"
                      "runs: median (|), 90 % interval (thick), 99 % interval (thin)", fontsize=9)
    return fig


def _legend_above(ax) -> None:
    """The legend in one row above the axes, right-aligned, clear of the data."""
    ax.legend(fontsize=8, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=3, frameon=False, borderaxespad=0.2)


def fig_daily(cmp: PatternComparison):
    """People arriving a day and a week: the record's bars, the runs' median and 90 % band."""
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    obs = cmp.observed_daily.set_index("date")["people_arrived"]
    wide = _wide(cmp, "people_arrived").reindex(obs.index, fill_value=0)
    fig, axes = plt.subplots(2, 1, figsize=(12, 7.5), sharex=True, constrained_layout=True)
    ax = axes[0]
    median, low, high = _band(wide)
    ax.fill_between(wide.index, low, high, color=SIMULATED, alpha=0.25, lw=0, step="mid", zorder=1,
                    label="runs, 90 % interval of each day")
    ax.bar(obs.index, obs.to_numpy(), width=1.0, color=OBSERVED, zorder=2, label=f"record {cmp.year}")
    ax.plot(wide.index, median, color=SIMULATED, lw=1, drawstyle="steps-mid", zorder=3,
            label="runs, median of each day")
    ax.set_ylabel("people arriving a day")
    ax.set_title("people arriving each day", fontsize=10, loc="left")
    ax = axes[1]
    weeks = obs.resample("W-SUN").sum()  # labelled by the Sunday each week ends on
    wide_weeks = wide.resample("W-SUN").sum()
    median, low, high = _band(wide_weeks)
    centre = weeks.index - pd.Timedelta(days=3)
    ax.fill_between(centre, low, high, color=SIMULATED, alpha=0.25, lw=0, zorder=1, label="runs, 90 % interval")
    ax.bar(centre, weeks.to_numpy(), width=6.0, color=OBSERVED, alpha=0.9, zorder=2, label=f"record {cmp.year}")
    ax.plot(centre, median, color=SIMULATED, lw=1.5, marker="o", ms=3, zorder=3, label="runs, median")
    ax.set_ylabel("people arriving a week")
    ax.set_title("each week, Monday to Sunday (the first and last are cut by the year)", fontsize=10, loc="left")
    ax.xaxis.set_major_locator(mdates.MonthLocator())
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b"))
    for ax in axes:
        ax.grid(axis="y", alpha=0.3)
        ax.set_ylim(bottom=0)
        _legend_above(ax)
    axes[1].set_xlim(obs.index.min() - pd.Timedelta(days=4), obs.index.max() + pd.Timedelta(days=4))
    return fig


def fig_monthly(cmp: PatternComparison):
    """People and boats arriving each month: the record's bars, the runs' median and 90 % interval."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4), constrained_layout=True)
    x = np.arange(12)
    for ax, column, unit in zip(axes, ("people_arrived", "boats_arrived"), ("people", "boats")):
        obs = cmp.observed_daily.groupby(cmp.observed_daily["date"].dt.month)[column].sum().reindex(
            range(1, 13), fill_value=0)
        wide = _wide(cmp, column)
        monthly = wide.groupby(wide.index.month).sum().reindex(range(1, 13), fill_value=0)
        median, low, high = _band(monthly)
        ax.bar(x, obs.to_numpy(), width=0.6, color=OBSERVED, label=f"record {cmp.year}")
        ax.errorbar(x, median, yerr=[median - low, high - median], fmt="o", color=SIMULATED, ecolor=SIMULATED,
                    capsize=4, lw=1.5, label="runs, median and 90 % interval")
        ax.set_xticks(x, MONTH_NAMES)
        ax.set_ylabel(f"{unit} arriving a month")
        ax.set_title(f"{unit} arriving each month", fontsize=10, loc="left")
        ax.grid(axis="y", alpha=0.3)
        ax.set_ylim(bottom=0)
        _legend_above(ax)
    return fig


def _ecdf(values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Share of ``values`` at or below each point of ``grid``."""
    values = np.sort(np.asarray(values, dtype=float))
    if not len(values):
        return np.full(len(grid), np.nan)
    return np.searchsorted(values, grid, side="right") / len(values)


def fig_per_day(cmp: PatternComparison):
    """The distribution of people and of boats per arrival day: the record's against the runs' (cumulative)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4), constrained_layout=True)
    for ax, column, unit in zip(axes, ("people_arrived", "boats_arrived"), ("people", "boats")):
        obs = cmp.observed_daily.loc[cmp.observed_daily["people_arrived"] > 0, column].to_numpy()
        runs = [d.loc[d["people_arrived"] > 0, column].to_numpy()
                for _, d in cmp.simulated_daily.groupby("run", sort=False)]
        top = max([obs.max() if len(obs) else 0] + [r.max() for r in runs if len(r)])
        grid = np.linspace(0, top, 400) if unit == "people" else np.arange(0, top + 1)
        curves = np.array([_ecdf(r, grid) for r in runs])
        ax.fill_between(grid, np.nanquantile(curves, 0.05, axis=0), np.nanquantile(curves, 0.95, axis=0),
                        color=SIMULATED, alpha=0.25, lw=0, step="post" if unit == "boats" else None,
                        label=f"runs, 90 % interval ({len(runs)} runs)")
        ax.plot(grid, np.nanmedian(curves, axis=0), color=SIMULATED, lw=1.5,
                drawstyle="steps-post" if unit == "boats" else "default", label="runs, median")
        ax.step(np.concatenate([[0], np.sort(obs)]), np.concatenate([[0], np.arange(1, len(obs) + 1) / len(obs)]),
                where="post", color="k", lw=1.5, label=f"record {cmp.year} ({len(obs)} arrival days)")
        ax.set_xlabel(f"{unit} arriving on a day with arrivals")
        ax.set_ylabel("share of arrival days at or below")
        ax.set_title(f"{unit} per arrival day", fontsize=10, loc="left")
        ax.set_ylim(0, 1.02)
        ax.set_xlim(0, top * 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right", framealpha=0.9)
    return fig


def fig_prevented(cmp: PatternComparison):
    """People and events prevented by France each week: the record against the runs (None without weeks)."""
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    if not len(cmp.weeks):
        return None
    fig, axes = plt.subplots(2, 1, figsize=(12, 7), sharex=True, constrained_layout=True)
    ends = cmp.weeks["week_ending"]
    every = pd.date_range(ends.min(), ends.max(), freq="7D")  # a week the record lacks is a gap
    centre = every - pd.Timedelta(days=3)
    for ax, column, unit in zip(axes, ("people_prevented", "events_prevented"), ("people", "events")):
        wide = cmp.simulated_weekly.pivot_table(index="week_ending", columns="run", values=column,
                                                aggfunc="sum").reindex(every)
        median, low, high = _band(wide)
        obs = cmp.weeks.set_index("week_ending")[column].reindex(every)
        ax.fill_between(centre, low, high, color=SIMULATED, alpha=0.25, lw=0, zorder=1, label="runs, 90 % interval")
        ax.bar(centre, obs.to_numpy(dtype=float), width=6.0, color=OBSERVED, alpha=0.9, zorder=2,
               label=f"record {cmp.year}")
        ax.plot(centre, median, color=SIMULATED, lw=1.5, marker="o", ms=3, zorder=3, label="runs, median")
        ax.set_ylabel(f"{unit} prevented a week")
        ax.set_title(f"{unit} prevented by France each week judged", fontsize=10, loc="left")
        ax.grid(axis="y", alpha=0.3)
        ax.set_ylim(bottom=0)
        _legend_above(ax)
    axes[-1].xaxis.set_major_locator(mdates.MonthLocator())
    axes[-1].xaxis.set_major_formatter(mdates.DateFormatter("%b"))
    return fig


#: Figure name -> (title, function), in the order they are shown.
FIGURES = {
    "patterns": ("Patterns of the record against the runs", fig_patterns),
    "patterns_daily": ("Arrivals each day and each week", fig_daily),
    "patterns_monthly": ("Arrivals each month", fig_monthly),
    "patterns_per_day": ("People and boats per arrival day", fig_per_day),
    "patterns_prevented": ("Preventions each week", fig_prevented),
}


def pattern_figures(cmp: PatternComparison) -> dict:
    """Figure name -> (title, figure) for every figure that applies (no preventions: no prevention figure)."""
    out = {}
    for name, (title, make) in FIGURES.items():
        fig = make(cmp)
        if fig is not None:
            out[name] = (f"{title}, {cmp.year}", fig)
    return out

