"""The policy comparison report of a batch folder.

``write_report(folder)`` writes ``report.md`` with its figures as PNG files in
``figures/`` and ``report.html``, a single self-contained file (figures
embedded) that opens from disk in a browser. It shows, per scenario, the mean
and 95 % confidence interval of the main outcomes; paired differences against
the baseline (replication *i* of every scenario shares its seed, so the
differences are paired); the rates the source documents report beside the
simulated ones; where along the coast launches, preventions and interceptions
happen; daily series with bands across replications; and the trade-off
between attempts prevented and lives put at risk.
"""

from __future__ import annotations

import base64
import textwrap
import datetime as dt
import html
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.observed import Record, load_record
from sim.analysis.output import figure_bytes, write_atomic
from sim.analysis.patterns import compare_record, covered_years
from sim.analysis.stats import interval, label_frame
from sim.analysis.validation import compare, fig_validation, load_targets, markdown_table
from sim.errors import StoreError
from sim.outcomes import MEASURES, REPORT_OUTCOMES
from sim.runs.store import completeness, load_results, read_manifest

def _draws(df: pd.DataFrame) -> np.ndarray | None:
    """The parameter draw of each run, when the batch drew parameters from a posterior."""
    return df["draw"].to_numpy() if "draw" in df.columns else None


def scenario_table(summaries: pd.DataFrame) -> pd.DataFrame:
    """One row per scenario (and sweep point) and outcome: n, mean, ci_low, ci_high and the interval's make-up.

    With parameter draws the interval holds their uncertainty (``stats.interval``).
    """
    df = summaries.assign(label=label_frame(summaries))
    rows = []
    for label, g in df.groupby("label", sort=False):
        for key in REPORT_OUTCOMES:
            rows.append(_row(label, key, interval(g[key].to_numpy(), _draws(g))))
    return pd.DataFrame(rows)


def _row(label: str, key: str, found) -> dict:
    return {"scenario": label, "outcome": key, "n": found.n, "mean": found.mean, "ci_low": found.low,
            "ci_high": found.high, "draws": found.draws, "parametric_share": found.parametric_share,
            "sd_parametric": found.sd_parametric, "se_chance": found.se_chance}


def paired_differences(summaries: pd.DataFrame, baseline: str = "baseline") -> pd.DataFrame:
    """Scenario minus baseline, paired by parameter draw (if any), seed (common random numbers) and sweep point."""
    sweep_cols = [c for c in summaries.columns if c.startswith("sweep.")]
    base = summaries[summaries["scenario"] == baseline]
    if base.empty:
        return pd.DataFrame(columns=["scenario", "outcome", "n", "mean", "ci_low", "ci_high"])
    df = summaries.assign(label=label_frame(summaries))
    keys = ["seed"] + (["draw"] if "draw" in summaries.columns else []) + sweep_cols
    rows = []
    for label, g in df[df["scenario"] != baseline].groupby("label", sort=False):
        merged = g.merge(base, on=keys, suffixes=("", "_base"))
        for key in REPORT_OUTCOMES:
            diff = merged[key].to_numpy(dtype=float) - merged[f"{key}_base"].to_numpy(dtype=float)
            rows.append(_row(label, key, interval(diff, _draws(merged))))
    return pd.DataFrame(rows)


# -- figures ------------------------------------------------------------------------------


#: The effects whose intervals the report breaks down into parameter uncertainty and chance.
DECOMPOSED = ("people_crossed", "deaths", "lives_at_risk")


def uncertainty_markdown(diffs: pd.DataFrame, baseline: str) -> str:
    """Each policy's effect on crossings, deaths and lives at risk, and the share of its interval that is parametric."""
    header = ["scenario"] + [f"{MEASURES[k].label} - {baseline}" for k in DECOMPOSED] + [
        f"parametric share: {MEASURES[k].label}" for k in DECOMPOSED]
    rows = []
    for label, g in diffs.groupby("scenario", sort=False):
        by = g.set_index("outcome")
        cells = [label]
        cells += [MEASURES[k].interval(by.loc[k, "mean"], by.loc[k, "ci_low"], by.loc[k, "ci_high"]) for k in DECOMPOSED]
        cells += ["n/a" if by.loc[k, "parametric_share"] != by.loc[k, "parametric_share"]
                  else f"{by.loc[k, 'parametric_share']:.0%}" for k in DECOMPOSED]
        rows.append(cells)
    draws = int(diffs["draws"].max())
    return (f"Each effect's interval (95 %) holds two kinds of uncertainty. **Parametric**: the calibrated "
            f"parameters are not known, only their posterior; the {draws} draws from it give different effects "
            f"(their spread, net of chance). **Chance**: each draw's effect is estimated from a few seeds. The "
            f"parametric share is the part of the interval's variance that is parameter uncertainty; the rest is "
            f"chance, which more replications (-n) shrink and more draws do not.\n\n" + _md_table(header, rows))


def _colors(labels):
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("tab10")
    return {label: cmap(i % 10) for i, label in enumerate(labels)}


def reported_targets(targets: list, table: pd.DataFrame) -> list:
    """The targets that are one summary key shown in the scenario table (the rest need a formula)."""
    shown = set(table["outcome"])
    return [t for t in targets if t.key is not None and t.key in shown]


def fig_reported(table: pd.DataFrame, days: int, targets: list):
    """Simulated means (95 % CI) beside the reported figures (``reported_targets`` of the targets file)."""
    import matplotlib.pyplot as plt

    reported = {t.key: t for t in reported_targets(targets, table)}
    keys = list(reported)
    fig, axes = plt.subplots(1, len(keys), figsize=(4.4 * len(keys), 4.4), constrained_layout=True, squeeze=False)
    axes = axes[0]
    labels = list(dict.fromkeys(table["scenario"]))
    colors = _colors(labels)
    for ax, key in zip(axes, keys):
        t = table[table["outcome"] == key].set_index("scenario").loc[labels]
        y = np.arange(len(labels))
        err = np.vstack([t["mean"] - t["ci_low"], t["ci_high"] - t["mean"]])
        ax.errorbar(t["mean"], y, xerr=np.nan_to_num(err), fmt="o", color="k", ecolor="k", capsize=3)
        for yi, label in zip(y, labels):
            ax.plot(t.loc[label, "mean"], yi, "o", color=colors[label])
        value, source = reported[key].reported, reported[key].source
        scale = days / 365.0 if reported[key].annual else 1.0
        ax.axvline(value * scale, color="tab:red", ls="--", lw=1.5, label="reported")
        ax.set_yticks(y, labels if ax is axes[0] else [""] * len(labels))
        wrapped = textwrap.fill(f"reported {MEASURES[key].format(value)}: {source}", 52)
        ax.set_title(f"{MEASURES[key].label}\n{wrapped}", fontsize=8)
        ax.invert_yaxis()
        ax.grid(axis="x", alpha=0.3)
    axes[0].legend(loc="lower right", fontsize=8)
    return fig


def fig_differences(diffs: pd.DataFrame):
    """Paired differences against the baseline with 95 % CIs."""
    import matplotlib.pyplot as plt

    keys = ["launch_success_rate", "taxi_boat_success_rate", "people_prevented", "lives_at_risk"]
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 0.6 * max(1, diffs["scenario"].nunique()) + 1.6),
                             constrained_layout=True)
    labels = list(dict.fromkeys(diffs["scenario"]))
    for ax, key in zip(axes, keys):
        t = diffs[diffs["outcome"] == key].set_index("scenario").reindex(labels)
        scale = 100.0 if MEASURES[key].share else 1.0
        y = np.arange(len(labels))
        err = np.vstack([t["mean"] - t["ci_low"], t["ci_high"] - t["mean"]]) * scale
        ax.errorbar(t["mean"] * scale, y, xerr=np.nan_to_num(err), fmt="o", capsize=3, color="tab:blue")
        ax.axvline(0, color="grey", lw=1)
        ax.set_yticks(y, labels if ax is axes[0] else [""] * len(labels))
        ax.set_title(MEASURES[key].label + (" (pp)" if scale == 100 else ""), fontsize=9)
        ax.invert_yaxis()
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle("difference from baseline (paired, 95 % CI)", fontsize=10)
    return fig


def fig_map(boats: pd.DataFrame, summaries: pd.DataFrame):
    """Where along the coast launches, preventions and interceptions happen, per scenario."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    from sim.model.geography import Terrain, load_coast

    coast = load_coast()
    labels = list(dict.fromkeys(summaries["scenario"]))
    reps = summaries.groupby("scenario")["replication"].nunique()
    palette = {Terrain.SEA: "#1f4e79", Terrain.SHALLOW: "#6fa8dc", Terrain.BEACH: "#f6e3a1",
               Terrain.DUNES: "#e0c068", Terrain.WOODS: "#38761d", Terrain.URBAN: "#999999",
               Terrain.FARMLAND: "#b6d7a8", Terrain.WATERWAY: "#0b5394", Terrain.CLIFF: "#7f6000"}
    cmap = ListedColormap([palette[t] for t in Terrain])
    fig, axes = plt.subplots(len(labels) + 1, 1, figsize=(12, 1.2 + 1.7 * len(labels)), sharex=True,
                             constrained_layout=True, gridspec_kw={"height_ratios": [0.7] + [1] * len(labels)})
    axes[0].imshow(coast.layers["terrain"].T, origin="upper", aspect="auto", cmap=cmap, vmin=0, vmax=len(Terrain) - 1,
                   extent=(0, coast.length_km, coast.n_rows, 0), interpolation="nearest")
    axes[0].set_yticks([])
    axes[0].set_title("the coast, Belgian border (left) to the Bay of Somme (right); sea at the top", fontsize=9)
    for s in coast.sites:
        axes[0].text(s.km, coast.n_rows - 1, s.name, rotation=90, fontsize=6, va="bottom", ha="center")
    bins = np.arange(0, coast.length_km + 5, 5)
    kinds = [("launched", ("failed_at_sea", "crossed"), "tab:blue"),
             ("prevented on land", ("prevented_on_land",), "tab:orange"),
             ("intercepted at sea", ("intercepted_at_sea",), "tab:red")]
    for ax, label in zip(axes[1:], labels):
        b = boats[boats["scenario"] == label]
        n = max(1, int(reps.get(label, 1)))
        bottom = np.zeros(len(bins) - 1)
        for name, outcomes, color in kinds:
            h, _ = np.histogram(b.loc[b["outcome"].isin(outcomes), "launch_km"], bins=bins)
            ax.bar(bins[:-1], h / n, width=5, bottom=bottom, align="edge", color=color, label=name)
            bottom += h / n
        ax.set_ylabel("boats a run", fontsize=8)
        ax.set_title(label, fontsize=9, loc="left")
        ax.grid(axis="y", alpha=0.3)
    axes[1].legend(fontsize=8, ncol=3, loc="upper right")
    axes[-1].set_xlabel("km along the shore from the Belgian border")
    return fig


def fig_daily(daily: pd.DataFrame, summaries: pd.DataFrame):
    """People crossing and attempting per day (7-day mean): mean across replications, interquartile band."""
    import matplotlib.pyplot as plt

    labels = list(dict.fromkeys(summaries["scenario"]))
    colors = _colors(labels)
    fig, axes = plt.subplots(2, 1, figsize=(12, 6.5), sharex=True, constrained_layout=True)
    for label in labels:
        d = daily[daily["scenario"] == label]
        for ax, col in zip(axes, ("people_crossed", "people_attempted")):
            wide = d.pivot_table(index="date", columns="replication", values=col, aggfunc="sum")
            smooth = wide.rolling(7, min_periods=1).mean()
            ax.plot(smooth.index, smooth.mean(axis=1), color=colors[label], lw=1.4, label=label)
            ax.fill_between(smooth.index, smooth.quantile(0.25, axis=1), smooth.quantile(0.75, axis=1),
                            color=colors[label], alpha=0.12, lw=0)
    axes[0].set_ylabel("people crossed a day\n(7-day mean)")
    axes[1].set_ylabel("people attempting a day\n(7-day mean)")
    axes[0].legend(fontsize=8, ncol=3)
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[0].set_title("daily series: mean across replications, band from the 25th to the 75th percentile", fontsize=10)
    return fig


def fig_tradeoff(table: pd.DataFrame):
    """People prevented against lives put at risk by interventions, per policy."""
    import matplotlib.pyplot as plt

    labels = list(dict.fromkeys(table["scenario"]))
    colors = _colors(labels)
    fig, ax = plt.subplots(figsize=(7.5, 5), constrained_layout=True)
    t = table.set_index(["scenario", "outcome"])
    for label in labels:
        x, y = t.loc[(label, "people_prevented")], t.loc[(label, "lives_at_risk")]
        ax.errorbar(x["mean"], y["mean"], xerr=[[x["mean"] - x["ci_low"]], [x["ci_high"] - x["mean"]]],
                    yerr=[[y["mean"] - y["ci_low"]], [y["ci_high"] - y["mean"]]], fmt="o", capsize=3,
                    color=colors[label], label=label)
    ax.set_xlabel("people prevented a run (attempts)")
    ax.set_ylabel("lives put at risk by interventions at sea")
    ax.set_title("what a policy stops, against the lives it puts at risk (95 % CI)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


# -- writing ------------------------------------------------------------------------------


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _table_rows(table: pd.DataFrame, suffix: str = "") -> tuple[list[str], list[list[str]]]:
    """Outcomes down, scenarios across: ``mean [low, high]`` (``suffix`` after each scenario's name)."""
    labels = list(dict.fromkeys(table["scenario"]))
    header = ["outcome"] + [f"{label}{suffix}" for label in labels]
    t = table.set_index(["scenario", "outcome"])
    rows = []
    for key in REPORT_OUTCOMES:
        measure = MEASURES[key]
        row = [measure.label]
        for label in labels:
            r = t.loc[(label, key)]
            row.append(measure.interval(r["mean"], r["ci_low"], r["ci_high"]))
        rows.append(row)
    return header, rows


def baseline_source(folder: str | Path, baseline: str = "baseline") -> Path | None:
    """The scenario file the batch in ``folder`` read ``baseline`` from (its manifest says), if it names one."""
    manifest = read_manifest(Path(folder)) if Path(folder).is_dir() else None
    for entry in (manifest or {}).get("scenarios", {}).values():
        if isinstance(entry, dict) and entry.get("name") == baseline and entry.get("source"):
            return Path(entry["source"])
    return None


def record_comparison(record: Record, summaries: pd.DataFrame, daily: pd.DataFrame, boats: pd.DataFrame,
                      baseline: str):
    """The baseline's runs against the latest year of the record they all cover in full.

    Returns:
        ``(comparison, None)``; ``(None, why not)`` when there is nothing to compare (a
        sweep, fewer than 2 runs, no whole year of the record); ``(None, None)`` when the
        folder has no runs of ``baseline`` (the report says so elsewhere).
    """
    base = summaries[summaries["scenario"] == baseline]
    if base.empty:
        return None, None
    sweep_cols = [c for c in base.columns if c.startswith("sweep.")]
    if sweep_cols and len(base[sweep_cols].drop_duplicates()) > 1:
        return None, f"The runs of {baseline} sweep parameters: no comparison with the observed record."
    runs = set(base["run"])
    base_daily = daily[daily["run"].isin(runs)]
    years = [y for y in covered_years(base_daily) if y in record.years()]
    if not years:
        have = record.years()
        return None, (f"The runs of {baseline} cover no whole year of the observed record "
                      f"({have[0]} to {have[-1]}): no comparison with it.")
    if len(runs) < 2:
        return None, f"One run of {baseline}: at least 2 are needed to compare with the observed record."
    return compare_record(record, base_daily, boats[boats["run"].isin(runs)], years[-1]), None


def write_report(folder: str | Path, baseline: str = "baseline", targets: str | Path | None = None,
                 partial: bool = False, record: Record | None = None) -> dict[str, Path]:
    """Write ``report.md``, ``figures/*.png`` and ``report.html`` into a batch folder.

    With ``targets`` (a targets file, see ``sim.analysis.validation``), the baseline's
    replications are also compared with the reported rates. When the baseline's
    runs cover a whole year of the observed record (``record``, or the copy
    shipped with the package), they are compared with the latest such year,
    pattern by pattern (``sim.analysis.patterns``). The folder is
    compared with what its manifest planned first: a batch with runs missing or
    damaged, or one still writing, is refused unless ``partial``, and a partial
    report says so at its top.

    Returns:
        Paths of what was written (``md``, ``html``, and one per figure).

    Raises:
        StoreError: the folder holds no complete run, or the batch is not finished and ``partial`` is False.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(folder)
    status = completeness(folder)
    if not status.complete and not partial:
        raise StoreError(f"{folder}: {status.describe()}; expected a finished batch (run the same channel-sim "
                         "batch again to finish it, or channel-sim report --partial)")
    res = load_results(folder, status)
    summaries, boats, daily = res["summaries"], res["boats"], res["daily"]
    if summaries.empty:
        raise StoreError(f"{folder}: no complete run to report on; expected a batch folder with runs")
    if summaries.groupby("scenario")["days"].nunique().max() > 1:
        raise StoreError(f"{folder}: holds runs of different lengths for one scenario (batches added with "
                         "--append); expected one batch definition per report (write the batches to separate folders)")
    labels = label_frame(summaries)
    summaries = summaries.assign(scenario=labels)
    key_cols = ["run"]
    boats = boats.merge(summaries[key_cols + ["scenario"]], on="run", suffixes=("_raw", ""))
    daily = daily.merge(summaries[key_cols + ["scenario"]], on="run", suffixes=("_raw", ""))
    raw = res["summaries"]
    table = scenario_table(raw)
    diffs = paired_differences(raw, baseline)
    days = int(summaries["days"].max())

    figdir = folder / "figures"
    figdir.mkdir(exist_ok=True)
    target_list = load_targets(targets) if targets is not None else []
    reported = reported_targets(target_list, table)
    figures = {
        "reported": ("Simulated against reported", fig_reported(table, days, target_list) if reported else None),
        "differences": ("Paired differences against the baseline", fig_differences(diffs) if len(diffs) else None),
        "map": ("Where boats launch and are stopped", fig_map(boats, summaries)),
        "daily": ("Through the year", fig_daily(daily, summaries)),
        "tradeoff": ("Attempts prevented against lives at risk", fig_tradeoff(table)),
    }
    validation_md = None
    if target_list and baseline in set(raw["scenario"]):
        vtable = compare(raw[raw["scenario"] == baseline], target_list)
        validation_md = markdown_table(vtable)
        figures["validation"] = (f"Validation of {baseline} against the reported rates",
                                 fig_validation(vtable, f"{baseline}: simulated mean (95 % CI) against the reported band"))
    cmp, no_record = record_comparison(record if record is not None else load_record(), raw, res["daily"],
                                       res["boats"], baseline)
    pattern_names = []
    if cmp is not None:
        from sim.analysis.pattern_figures import pattern_figures

        for name, (caption, fig) in pattern_figures(cmp).items():
            figures[name] = (caption, fig)
            pattern_names.append(name)
    written: dict[str, Path] = {}
    pngs: dict[str, bytes] = {}
    for name, (_, fig) in figures.items():
        if fig is None:
            continue
        pngs[name] = figure_bytes(fig)
        plt.close(fig)
        written[name] = write_atomic(figdir / f"{name}.png", pngs[name])

    n_runs = len(summaries)
    reps = summaries.groupby("scenario")["replication"].nunique()
    n_draws = int(raw["draw"].nunique()) if "draw" in raw.columns else 1
    if n_draws > 1:
        intro = (f"{n_runs} runs: {len(reps)} scenario(s) x {n_draws} parameter draws from the posterior x "
                 f"{int(reps.max())} replication(s) of {days} days. Every scenario runs under the same draws, and "
                 f"replication i uses the same seed in every scenario and draw, so differences are paired by draw "
                 f"and seed. Intervals are 95 % intervals that hold the uncertainty of the parameters (the spread "
                 f"between draws) as well as chance (the spread between seeds): see \"What the intervals hold\".")
    else:
        intro = (f"{n_runs} runs: {len(reps)} scenario(s) x {int(reps.max())} replication(s) of {days} days. "
                 f"Replication i uses the same seed in every scenario, so differences are paired. "
                 f"Intervals are 95 % t-intervals across replications: chance only, with the parameters fixed.")
    if not status.complete:
        intro = (f"PARTIAL REPORT: {status.describe(limit=10)}. The figures below are of the {status.sound} "
                 f"runs there, not of the whole batch. " + intro)
    header, rows = _table_rows(table)
    sections = [("Outcomes per scenario (mean [95 % CI])", _md_table(header, rows), None)]
    if len(diffs):
        dh, dr = _table_rows(diffs, suffix=f" - {baseline}")
        sections.append((f"Paired differences against {baseline} (mean [95 % CI])", _md_table(dh, dr), "differences"))
    elif baseline not in set(raw["scenario"]):
        sections.append(("Paired differences", f"No scenario named {baseline!r} in this batch: no differences.", None))
    if len(diffs) and n_draws > 1:
        sections.append(("What the intervals hold", uncertainty_markdown(diffs, baseline), None))
    if reported:
        reported_rows = [[MEASURES[t.key].label, f"{MEASURES[t.key].format(t.reported)}: {t.source}"]
                         for t in reported]
        sections.append(("Reported rates", _md_table(["quantity", "reported"], reported_rows), "reported"))
    if validation_md is not None:
        sections.append((figures["validation"][0], validation_md, "validation"))
    if cmp is not None:
        sections.append((f"Validation of {baseline} against the observed record of {cmp.year}",
                         f"The {cmp.runs} runs of {baseline} against the Home Office's daily record of {cmp.year} "
                         f"({cmp.record.daily_file.name}), pattern by pattern.\n\n{cmp.markdown()}", pattern_names[0]))
        for name in pattern_names[1:]:
            sections.append((figures[name][0], "", name))
    elif no_record:
        sections.append(("Validation against the observed record", no_record, None))
    for name in ("map", "daily", "tradeoff"):
        sections.append((figures[name][0], "", name))

    generated = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    md = [f"# Policy comparison: {folder.name}", "", intro, "", f"Generated {generated}.", ""]
    for title, body, fig in sections:
        md += [f"## {title}", ""]
        if body:
            md += [body, ""]
        if fig in written:
            md += [f"![{title}](figures/{fig}.png)", ""]
    md_path = folder / "report.md"
    write_atomic(md_path, "\n".join(md))
    written["md"] = md_path

    html_path = folder / "report.html"
    write_atomic(html_path, _html(folder.name, intro, generated, sections, pngs))
    written["html"] = html_path
    return written


def _md_to_html_table(body: str) -> str:
    """A section's body in HTML: each block of ``|`` lines a table, each other paragraph a ``<p>``."""
    parts = []
    for block in (b.strip() for b in body.split("\n\n")):
        lines = block.splitlines()
        if len(lines) >= 2 and all(ln.startswith("|") for ln in lines):
            cells = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines]
            head = "".join(f"<th>{html.escape(c)}</th>" for c in cells[0])
            rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in cells[2:])
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif block:
            parts.append(f"<p>{html.escape(block)}</p>")
    return "\n".join(parts)


def _html(name: str, intro: str, generated: str, sections, pngs: dict[str, bytes]) -> str:
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Policy comparison: {html.escape(name)}</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}"
        "table{border-collapse:collapse;font-size:0.85em;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;"
        "text-align:right}td:first-child,th:first-child{text-align:left}th{background:#f3f3f3}"
        "img{max-width:100%;border:1px solid #eee}</style></head><body>",
        f"<h1>Policy comparison: {html.escape(name)}</h1><p>{html.escape(intro)}</p>"
        f"<p><small>Generated {html.escape(generated)}.</small></p>",
    ]
    for title, body, fig in sections:
        parts.append(f"<h2>{html.escape(title)}</h2>")
        parts.append(_md_to_html_table(body))
        if fig in pngs:
            data = base64.b64encode(pngs[fig]).decode()
            parts.append(f"<img alt='{html.escape(title)}' src='data:image/png;base64,{data}'>")
    parts.append("</body></html>")
    return "\n".join(parts)
