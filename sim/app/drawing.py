"""The page's figures, with matplotlib: the coast map of one night, and the daily charts.

Both take plain data (a :class:`MapView`, a daily table), so a live model
(``sim.app.live``) and a replay of a run folder (``sim.app.replay``) draw the same
figures. Figures are made with ``matplotlib.figure.Figure`` (no pyplot, no GUI
backend): Solara sends them to the browser as PNG images.

The strip map is 150 km long and 6 km deep; it is drawn in three panels of
50 km, the sea at the top, the land below, its depth stretched for legibility.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sim.model.geography import Coast, Terrain

#: Terrain colours, in the order of ``Terrain``.
TERRAIN_COLOURS = {
    Terrain.SEA: "#7fb2d9",
    Terrain.SHALLOW: "#c4def2",
    Terrain.BEACH: "#f5e6b3",
    Terrain.DUNES: "#dcc27a",
    Terrain.WOODS: "#7fae72",
    Terrain.URBAN: "#b9b6b1",
    Terrain.FARMLAND: "#e4ecc4",
    Terrain.WATERWAY: "#2f6fb0",
    Terrain.CLIFF: "#8c6d46",
}

#: How each kind of agent is drawn: (legend label, marker, face colour, edge colour, size).
STYLES = {
    "hiding": ("boat group hiding", "o", "none", "#e66101", 36),
    "assembling": ("dinghy assembling on the beach", "o", "#e66101", "black", 44),
    "taxi on waterway": ("taxi boat on a waterway", "D", "none", "#7b3294", 36),
    "taxi waiting in the surf": ("taxi boat waiting in the surf", "D", "#7b3294", "black", 40),
    "at sea": ("boat launched, at sea", "^", "#d7191c", "black", 52),
    "prevented_on_land": ("stopped on land", "X", "#f4a582", "black", 52),
    "intercepted_at_sea": ("stopped at sea", "s", "#92c5de", "black", 44),
    "failed_at_sea": ("failed at sea (rescued or dead)", "X", "black", "white", 60),
    "crossed": ("crossed to UK waters", "*", "#1a9850", "black", 110),
    "patrol": ("gendarmerie unit on patrol", "P", "#253494", "#253494", 40),
    "patrol busy": ("gendarmerie unit responding or engaged", "P", "#253494", "#d7191c", 70),
    "drone": ("thermal drone over its sector", "v", "#404040", "white", 30),
    "patrol boat": ("patrol boat on station", "s", "#08306b", "white", 40),
    "lifeboat": ("lifeboat on station", "p", "#fdae61", "#08306b", 55),
    "vessel busy": ("vessel called out", "s", "none", "#d7191c", 110),
    "camp": ("camp (people waiting)", "H", "#8e0152", "white", 150),
}

#: Where the night's outcomes are drawn, in rows of the grid (0 = seaward edge) relative to the shore.
_OUTCOME_ROW = {"crossed": 2.3, "failed_at_sea": 4.5, "intercepted_at_sea": -2.0, "prevented_on_land": None}

PANEL_KM = 50.0


@dataclass
class MapView:
    """What the map shows of one night.

    Attributes:
        title: the line above the map (date, sea state, night length).
        boats: boats as they stood at the snapshot: ``(col, row, state)`` with a state of ``STYLES``.
        outcomes: the night's finished boats: a table with ``launch_km`` and ``outcome`` (the boats table's columns).
        patrols: patrol units ``(col, row, state)`` (state ``on patrol``, ``responding``, ``engaged``).
        drones: drones ``(col, row)``.
        vessels: ``(col, row, kind)`` with kind ``patrol boat`` or ``lifeboat``, `` (called out)`` added when busy.
        camps: ``(name, col, row, people)``.
        aircraft: aircraft on duty.
        note: a line under the title (what the snapshot is, or what a replay lacks).
    """

    title: str
    boats: list = field(default_factory=list)
    outcomes: pd.DataFrame | None = None
    patrols: list = field(default_factory=list)
    drones: list = field(default_factory=list)
    vessels: list = field(default_factory=list)
    camps: list = field(default_factory=list)
    aircraft: int = 0
    note: str = ""


def _style(ax, key, xs, ys, zorder=5):
    label, marker, face, edge, size = STYLES[key]
    if len(xs):
        ax.scatter(xs, ys, marker=marker, s=size, c=face if face != "none" else "none",
                   edgecolors=edge, linewidths=1.0 if face != "none" else 1.6, zorder=zorder, clip_on=True)


def _legend_handle(key):
    label, marker, face, edge, size = STYLES[key]
    return Line2D([], [], linestyle="none", marker=marker, markersize=np.sqrt(size),
                  markerfacecolor=face, markeredgecolor=edge, markeredgewidth=1.2, label=label)


def draw_map(coast: Coast, view: MapView, fig: Figure | None = None) -> Figure:
    """The strip map with the night's agents, in three panels, with its legend below them."""
    fig = fig or Figure(figsize=(12, 12.5), dpi=90)
    fig.clear()
    km_per_row = coast.cell_km
    depth_km = coast.n_rows * km_per_row
    n_panels = int(np.ceil(coast.length_km / PANEL_KM))
    grid = fig.add_gridspec(n_panels + 1, 1, height_ratios=[1] * n_panels + [0.62],
                            left=0.055, right=0.985, top=0.92, bottom=0.0, hspace=0.62)
    cmap = ListedColormap([TERRAIN_COLOURS[t] for t in Terrain])
    terrain = coast.layers["terrain"]

    def x(col):
        return (np.asarray(col, dtype=float) + 0.5) * coast.cell_km

    def y(row):
        return (np.asarray(row, dtype=float) + 0.5) * km_per_row

    shore_y = coast.shore_row * km_per_row
    outcomes = view.outcomes if view.outcomes is not None else pd.DataFrame(columns=["launch_km", "outcome"])
    for p in range(n_panels):
        ax = fig.add_subplot(grid[p])
        lo, hi = p * PANEL_KM, min(coast.length_km, (p + 1) * PANEL_KM)
        ax.imshow(terrain.T, cmap=cmap, vmin=-0.5, vmax=len(Terrain) - 0.5, interpolation="nearest",
                  extent=(0, coast.length_km, depth_km, 0), aspect="auto")
        ax.axhline(shore_y, color="#5b7fa3", linewidth=0.6)
        ax.set_xlim(lo, hi)
        ax.set_ylim(depth_km, 0)
        ax.set_yticks([])
        ax.set_xticks(np.arange(lo, hi + 0.1, 10))
        ax.set_xticklabels([f"{k:.0f} km" for k in np.arange(lo, hi + 0.1, 10)], fontsize=7, color="#555555")
        ax.tick_params(axis="x", direction="out", pad=1, length=3, top=True, bottom=False,
                       labeltop=True, labelbottom=False)
        # Named places: launch sites under the panel, waterways above it, camps inside.
        for site in coast.sites:
            if lo <= site.km < hi:
                ax.plot([site.km], [shore_y + 0.5 * km_per_row], marker="|", color="black", markersize=7, zorder=3)
                ax.annotate(site.name + (" (pickup)" if site.pickup else ""), (site.km, depth_km),
                            xytext=(0, -3), textcoords="offset points", rotation=32, ha="right", va="top",
                            fontsize=7.5, annotation_clip=False)
        for w in coast.waterways:
            if lo <= w.km < hi:
                ax.annotate(w.label, (w.km, 0.12), xytext=(3, 0), textcoords="offset points", ha="left", va="top",
                            fontsize=7.5, style="italic", color="#0b3560", zorder=3,
                            bbox=dict(facecolor="white", alpha=0.55, edgecolor="none", pad=0.8))
        for name, col, row, people in view.camps:
            if lo <= x(col) < hi:
                _style(ax, "camp", [x(col)], [y(row)], zorder=6)
                right = x(col) > hi - 12
                ax.annotate(f"{name} camp: {people:,} waiting", (x(col), y(row)), xytext=(-9 if right else 9, 7),
                            ha="right" if right else "left", textcoords="offset points", fontsize=8, fontweight="bold", color="#8e0152", va="center",
                            bbox=dict(facecolor="white", alpha=0.75, edgecolor="none", pad=1), zorder=7)
        # The night: vessels, patrols, drones, then the boats and their outcomes on top.
        for key in ("patrol boat", "lifeboat"):
            pts = [(c, r) for c, r, kind in view.vessels if kind.startswith(key)]
            _style(ax, key, x([c for c, _ in pts]), y([r for _, r in pts]), zorder=4)
        busy = [(c, r) for c, r, kind in view.vessels if kind.endswith("(called out)")]
        _style(ax, "vessel busy", x([c for c, _ in busy]), y([r for _, r in busy]), zorder=4)
        for key, which in (("patrol", lambda s: s == "on patrol"), ("patrol busy", lambda s: s != "on patrol")):
            pts = [(c, r) for c, r, s in view.patrols if which(s)]
            _style(ax, key, x([c for c, _ in pts]), y([r for _, r in pts]) - 0.15, zorder=4)
        _style(ax, "drone", x([c for c, _ in view.drones]), y([r for _, r in view.drones]), zorder=4)
        for state in ("hiding", "assembling", "taxi on waterway", "taxi waiting in the surf", "at sea"):
            pts = [(c, r) for c, r, s in view.boats if s == state]
            xs = x([c for c, _ in pts]) + _spread(len(pts), [c for c, _ in pts])
            _style(ax, state, xs, y([r for _, r in pts]), zorder=8)
        for outcome, row in _OUTCOME_ROW.items():
            rows = outcomes[outcomes["outcome"] == outcome]
            kms = rows["launch_km"].to_numpy(dtype=float)
            if row is None:
                ys = np.full(len(kms), shore_y + 0.6 * (depth_km - shore_y))
            else:
                ys = np.full(len(kms), (row if row > 0 else coast.shore_row + row) * km_per_row)
            _style(ax, outcome, kms + _spread(len(kms), np.round(kms)), ys, zorder=9)
    fig.suptitle(view.title, fontsize=12, fontweight="bold", x=0.015, ha="left", y=0.998)
    if view.note:
        fig.text(0.015, 0.972, view.note, fontsize=8.5, color="#444444", ha="left", va="top", wrap=True)
    # The legend has its own row below the panels: nothing of the map is under it.
    leg_ax = fig.add_subplot(grid[n_panels])
    leg_ax.axis("off")
    agents = [_legend_handle(k) for k in STYLES]
    terrain_patches = [Patch(facecolor=TERRAIN_COLOURS[t], edgecolor="#666666", label=t.name.lower())
                       for t in Terrain]
    first = leg_ax.legend(handles=agents, loc="upper left", ncol=4, fontsize=7.5, frameon=False,
                          title="agents (boats: as at the snapshot; outcomes: the night's boats, at their launch site)",
                          title_fontsize=8, alignment="left", borderaxespad=0, columnspacing=1.2, handletextpad=0.3)
    leg_ax.add_artist(first)
    leg_ax.legend(handles=terrain_patches, loc="lower left", ncol=9, fontsize=7.5, frameon=False, title="terrain",
                  title_fontsize=8, alignment="left", borderaxespad=0, columnspacing=1.2, handletextpad=0.4)
    return fig


def _spread(n: int, keys) -> np.ndarray:
    """Offsets (km) that set marks at the same place side by side instead of on top of each other."""
    out = np.zeros(n)
    seen: dict = {}
    for i, k in enumerate(keys):
        j = seen.get(k, 0)
        seen[k] = j + 1
        out[i] = 0.35 * ((j + 1) // 2) * (1 if j % 2 else -1)
    return out


#: The daily charts: (column, label, colour) per line, grouped by panel.
CHARTS = (
    ("boats a night", (("boats_attempted", "attempts", "#333333"), ("boats_crossed", "crossed", "#1a9850"),
                       ("boats_stopped", "prevented (on land or at sea)", "#d6604d"))),
    ("people waiting at the coast", (("camp_people", "waiting at noon", "#8e0152"),)),
    ("deaths", (("deaths", "a night", "black"), ("deaths_total", "since the start", "#999999"))),
)


def chart_columns(daily: pd.DataFrame) -> pd.DataFrame:
    """The daily table with the charts' derived columns (prevented boats, deaths so far)."""
    out = daily.copy()
    out["boats_stopped"] = out["boats_prevented_on_land"] + out["boats_intercepted_at_sea"]
    out["deaths_total"] = out["deaths"].cumsum()
    return out


def draw_charts(daily: pd.DataFrame, days: int, start, fig: Figure | None = None) -> Figure:
    """The daily series against the date, from the daily table's rows so far.

    Args:
        daily: the daily table (``sim.outcomes.DayRecord`` columns), its rows so far.
        days: the run's length, to keep the date axis still as the run goes on.
        start: the first date.
    """
    fig = fig or Figure(figsize=(12, 6.2), dpi=90)
    fig.clear()
    data = chart_columns(daily)
    dates = pd.to_datetime(data["date"])
    axes = fig.subplots(len(CHARTS), 1, sharex=True, gridspec_kw=dict(hspace=0.35, left=0.07, right=0.8,
                                                                       top=0.95, bottom=0.07))
    end = pd.Timestamp(start) + pd.Timedelta(days=max(1, days - 1))
    for ax, (title, lines) in zip(axes, CHARTS):
        for column, label, colour in lines:
            values = data[column].to_numpy()
            if column == "deaths_total":
                twin = ax.twinx()
                twin.plot(dates, values, color=colour, linewidth=1.2, linestyle="--", label=label)
                twin.set_ylabel("since the start", fontsize=8, color="#777777")
                twin.tick_params(labelsize=7)
                twin.set_ylim(bottom=0)
                handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
                ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.07, 1), fontsize=8, frameon=False)
                continue
            ax.plot(dates, values, color=colour, linewidth=1.2, label=label, marker="." if len(values) < 40 else None)
        if not any(c == "deaths_total" for c, _, _ in lines):
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
        ax.set_title(title, fontsize=9, loc="left")
        ax.tick_params(labelsize=7)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    axes[-1].set_xlim(pd.Timestamp(start), end)
    return fig


def map_title(date, day: int, days: int, wave_m: float, night_hours: float) -> str:
    """The map's title: the date, the sea state and the night's length."""
    return (f"{pd.Timestamp(date):%a %d %b %Y} (day {day + 1} of {days})   sea {wave_m:.1f} m   "
            f"night {night_hours:.1f} h")
