"""The policy comparison report of a batch folder.

``write_report(folder)`` writes ``report.md`` with its figures as PNG files in
``figures/``, ``report.html`` (a single self-contained file, figures embedded,
that opens from disk in a browser) and ``ranking.txt``. The report opens with
what the batch concludes: a paragraph made from the results and the ranking of
the policies by crossings averted, with the deaths, lives at risk and officer
injuries each adds (``sim.analysis.findings``). Then the trade-off and the
paired differences against the baseline (every scenario runs under the same
seeds, and parameter draws when the batch has them, so differences are
paired); what the intervals hold; every outcome per scenario; the baseline
against the reported rates and the observed record; where along the coast
boats launch and are stopped; the daily series; and how to read it all
(method, assumptions, glossary).
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis import findings
from sim.analysis.deployments import deployment_markdown, resplit
from sim.analysis.observed import Record, load_record
from sim.analysis.output import figure_bytes, write_atomic
from sim.analysis.patterns import compare_record, covered_years
from sim.analysis.stats import bounded, interval, label_frame
from sim.analysis.validation import compare, fig_validation, load_targets, markdown_table
from sim.errors import StoreError, UserError
from sim.outcomes import MEASURES, REPORT_OUTCOMES
from sim.runs.store import completeness, load_results, read_manifest

#: The scenario the reported rates and the observed record describe: the calibrated status quo.
VALIDATED = "baseline"


class UnknownBaseline(UserError):
    """The scenario named to compare the others with is not in the batch."""

    def __init__(self, baseline: str, folder: Path, names):
        super().__init__(f"--baseline {baseline}: no scenario of that name in {folder}; expected one of "
                         f"{', '.join(dict.fromkeys(names))}")


def _draws(df: pd.DataFrame) -> np.ndarray | None:
    """The parameter draw of each run, when the batch drew parameters from a posterior."""
    return df["draw"].to_numpy() if "draw" in df.columns else None


def _sweep_cols(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if c.startswith("sweep.")]


def scenario_table(summaries: pd.DataFrame) -> pd.DataFrame:
    """One row per scenario (and sweep point) and outcome: n, mean, ci_low, ci_high and the interval's make-up.

    With parameter draws the interval holds their uncertainty (``stats.interval``). Each
    interval is made on a scale where it respects the outcome's bounds (``stats.bounded``):
    a count's stays above zero, a rate's inside 0 to 100 %.
    """
    df = summaries.assign(label=label_frame(summaries))
    rows = []
    for label, g in df.groupby("label", sort=False):
        for key in REPORT_OUTCOMES:
            found = bounded(interval(g[key].to_numpy(), _draws(g)), MEASURES[key].share)
            rows.append(_row(label, key, found))
    return pd.DataFrame(rows)


def _row(label: str, key: str, found, against: str | None = None) -> dict:
    row = {"scenario": label, "outcome": key, "n": found.n, "mean": found.mean, "ci_low": found.low,
           "ci_high": found.high, "draws": found.draws, "parametric_share": found.parametric_share,
           "sd_parametric": found.sd_parametric, "se_chance": found.se_chance}
    if against is not None:
        row["against"] = against
    return row


def paired_differences(summaries: pd.DataFrame, baseline: str = "baseline") -> pd.DataFrame:
    """Scenario minus baseline, paired by parameter draw (if any) and seed (common random numbers).

    In a batch that sweeps keys, each scenario is compared with the baseline at the same sweep
    point, and each other sweep point of the baseline with the baseline's first point; the
    ``against`` column names what each row is compared with. A difference of rates is kept
    inside -100 to +100 percentage points.
    """
    columns = ["scenario", "against", "outcome", "n", "mean", "ci_low", "ci_high"]
    base = summaries[summaries["scenario"] == baseline]
    if base.empty:
        return pd.DataFrame(columns=columns)
    sweep = _sweep_cols(summaries)
    df = summaries.assign(label=label_frame(summaries))
    base = df[df["scenario"] == baseline]
    keys = ["seed"] + (["draw"] if "draw" in summaries.columns else [])
    first = tuple(base[sweep].iloc[0]) if sweep else ()
    rows = []
    for label, g in df.groupby("label", sort=False):
        point = tuple(g[sweep].iloc[0]) if sweep else ()
        if g["scenario"].iloc[0] != baseline:
            ref = base[(base[sweep] == list(point)).all(axis=1)] if sweep else base
        elif sweep and point != first:
            ref = base[(base[sweep] == list(first)).all(axis=1)]
        else:
            continue
        if ref.empty:
            continue
        merged = g.merge(ref, on=keys, suffixes=("", "_base"))
        against = ref["label"].iloc[0]
        for key in REPORT_OUTCOMES:
            diff = merged[key].to_numpy(dtype=float) - merged[f"{key}_base"].to_numpy(dtype=float)
            found = interval(diff, _draws(merged))
            if MEASURES[key].share:
                found = replace(found, low=max(-1.0, found.low), high=min(1.0, found.high))
            rows.append(_row(label, key, found, against))
    return pd.DataFrame(rows, columns=None if rows else columns)


#: The effects whose intervals the report breaks down into parameter uncertainty and chance.
DECOMPOSED = ("people_crossed", "deaths", "lives_at_risk")


def uncertainty_markdown(diffs: pd.DataFrame, order: list[str]) -> str:
    """Each policy's effect on crossings, deaths and lives at risk, and the share of its interval that is parametric."""
    header = ["scenario"] + [f"{MEASURES[k].label}: effect" for k in DECOMPOSED] + [
        f"{MEASURES[k].label}: parametric share" for k in DECOMPOSED]
    rows = []
    for label in order:
        by = diffs[diffs["scenario"] == label].set_index("outcome")
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


#: The per-scenario tables, each a few outcomes wide so that a table fits the page.
OUTCOME_GROUPS = (("Success rates and loads", ("launch_success_rate", "crossing_success_rate",
                                               "taxi_boat_success_rate", "mean_people_per_boat")),
                  ("People", ("people_crossed", "people_prevented", "deaths", "lives_at_risk", "officer_injuries")),
                  ("Boats and the camps", ("boats_attempted", "sea_interventions", "people_waiting_mean",
                                           "people_left_coast")))


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(c.replace("|", "/") for c in r) + " |" for r in rows]
    return "\n".join(lines)


def outcome_tables(table: pd.DataFrame, order: list[str], days: int, signed: bool = False) -> str:
    """Scenarios down, outcomes across, ``mean [low, high]``, one table per group of :data:`OUTCOME_GROUPS`."""
    t = table.set_index(["scenario", "outcome"])
    when = findings.period(days)
    parts = []
    for title, keys in OUTCOME_GROUPS:
        keys = [k for k in keys if k in REPORT_OUTCOMES]
        header = ["scenario"] + [f"{MEASURES[k].label} ({'pp' if signed and MEASURES[k].share else _unit(k, when)})"
                                 for k in keys]
        rows = []
        for label in order:
            cells = [label]
            for k in keys:
                r = t.loc[(label, k)]
                cells.append(MEASURES[k].interval(r["mean"], r["ci_low"], r["ci_high"], signed=signed))
            rows.append(cells)
        parts.append(f"**{title}**\n\n" + _md_table(header, rows))
    return "\n\n".join(parts)


def _unit(key: str, when: str) -> str:
    m = MEASURES[key]
    if m.share:
        return "%"
    if key == "people_waiting_mean":
        return "people, mean of the days"
    if key == "mean_people_per_boat":
        return "mean of the boats"
    return f"{m.unit} {when}"


def scenario_descriptions(manifest: dict) -> dict[str, str]:
    """Each scenario's one-line ``description`` from its YAML, as the batch's manifest recorded it."""
    out = {}
    for entry in manifest.get("scenarios", {}).values():
        if isinstance(entry, dict) and isinstance(entry.get("content"), dict):
            out[entry.get("name", "")] = " ".join(str(entry["content"].get("description") or "").split())
    return out


def provenance(manifest: dict) -> str:
    """Which code made the runs: version, commit, Python and Mesa of each batch in the folder."""
    from importlib.metadata import PackageNotFoundError, version

    made = []
    for b in manifest.get("batches", []):
        commit = (b.get("git_commit") or "unknown")[:10]
        made.append(f"channel-sim {b.get('package_version', '?')} (commit {commit}), Python {b.get('python', '?')}, "
                    f"Mesa {b.get('mesa', '?')}, started {str(b.get('started', '?'))[:16].replace('T', ' ')} UTC")
    try:
        now = version("channel-sim")
    except PackageNotFoundError:  # run from a source tree that is not installed
        now = "?"
    runs = "; ".join(dict.fromkeys(made)) or "unknown"
    return f"Runs made by {runs}. Report written by channel-sim {now}."


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



def _predictive(n_draws: int) -> str:
    """What a check of runs under several parameter draws is."""
    if n_draws <= 1:
        return ""
    return (f" The runs pool {n_draws} parameter draws from the posterior, so this is a check of the posterior's "
            "predictions, wider than that of the calibrated point (channel-sim validate checks the point).")


def describe_batch(summaries: pd.DataFrame, days: int) -> str:
    """What the batch holds: scenarios, sweep points, parameter draws and replications, and how they pair."""
    sweep = _sweep_cols(summaries)
    names = list(dict.fromkeys(summaries["scenario"]))
    parts = [f"{len(names)} scenario{'s' if len(names) != 1 else ''}"]
    if sweep:
        values = "; ".join(f"{c.removeprefix('sweep.')} = {', '.join(map(str, dict.fromkeys(summaries[c])))}"
                           for c in sweep)
        points = len(summaries[sweep].drop_duplicates())
        parts.append(f"{points} sweep points ({values})")
    n_draws = int(summaries["draw"].nunique()) if "draw" in summaries.columns else 1
    if n_draws > 1:
        parts.append(f"{n_draws} parameter draws from the posterior")
    reps = int(summaries.groupby(["scenario"] + sweep + (["draw"] if n_draws > 1 else []))["seed"].nunique().max())
    parts.append(f"{reps} seed{'s' if reps != 1 else ''}")
    paired = "draw and seed" if n_draws > 1 else "seed"
    return (f"{len(summaries):,} runs of {days} days: {' x '.join(parts)}. Every scenario runs under the same "
            f"{'draws and ' if n_draws > 1 else ''}seeds, so each difference from the baseline is paired by "
            f"{paired}{' and sweep point' if sweep else ''}.")


def method_markdown(n_draws: int) -> str:
    """How the intervals are made, and the assumptions and limits of what the report shows."""
    spread = ("the spread between parameter draws (net of chance) and the spread between seeds, as a "
              "random-effects split: where the expected value lies for a parameter set of the posterior"
              if n_draws > 1 else "the spread between seeds (a t-interval): chance alone, the parameters fixed")
    return "\n\n".join([
        f"**Intervals.** Every interval is a 95 % interval made from {spread}. A scenario's interval is made on "
        "the log scale for a count and the logit scale for a rate (the half-width carried there by the delta "
        "method), so it never leaves the possible values: a count stays above zero, a rate between 0 and 100 %. "
        "A difference from the baseline is made on its own scale, a difference of rates kept within 100 "
        "percentage points either way. An effect is *clear* when its interval leaves out zero.",
        "**What is an input.** The baseline's parameters are calibrated to 2025: to the year's reported rates and "
        "to the daily record of arrivals and preventions (see the README's calibration sections). People crossed "
        "is an outcome of the flow towards the coast, the hazards of leaving it and what the networks and patrols "
        "do, not a figure set to match. The record checks the baseline alone: what a policy does is the model's "
        "answer, the policy being what its scenario file describes (its description is in the ranking).",
        "**Limits.** A run is a year, and the networks learn within it (they move from sites where boats are "
        "stopped); what they would learn over several years is not in these figures. Crossings averted in a year "
        "are people who gave up and left the coast, or were still waiting at its end: the model does not follow "
        "them further. Deaths are rare events (tens a year), so their intervals are wide. The reported rates and "
        "the observed record check the baseline alone.",
    ])


GLOSSARY = (
    ("attempt", "a boat committed by a network to a launch, or a person in one; it ends prevented on land, "
                "intercepted at sea, failed at sea or crossed. A person stopped twice is two attempts."),
    ("people prevented", "people in attempts stopped on land or taken back from the water: attempts, not people, "
                         "since most try again."),
    ("people crossed", "people whose boat reached UK waters and was brought ashore."),
    ("crossings averted", "the baseline's people crossed minus the scenario's, paired by seed (and draw)."),
    ("launch success rate", "boats that put to sea with people aboard and got clear of the coast, over boat attempts."),
    ("crossing success rate", "boats that crossed, over boat attempts."),
    ("taxi boat", "a boat put in on a waterway that picks people up from the surf off a beach."),
    ("taxi-boat success rate", "taxi boats that picked people up and got clear of the coast, over taxi-boat attempts."),
    ("lives at risk", "people (migrants and crew) aboard a boat at the moment of an intervention at sea."),
    ("deaths", "deaths in interventions at sea and on the crossing itself, together."),
    ("officer injuries", "officers hurt by missiles thrown on the beach."),
    ("people waiting at the coast", "people in the camps of the coast, the mean over the days of the run."),
    ("people who left the coast", "people who gave up: after a failed attempt, with the weekly hazard, or moved "
                                  "in a clearance and not coming back."),
    ("parametric share", "the part of an interval's variance that is uncertainty about the calibrated parameters."),
)


def glossary_markdown() -> str:
    """The words the report uses, one line each."""
    return "\n".join(f"- **{term}**: {meaning}" for term, meaning in GLOSSARY)


def write_report(folder: str | Path, baseline: str = "baseline", targets: str | Path | None = None,
                 partial: bool = False, record: Record | None = None, progress: bool = False) -> dict[str, Path]:
    """Write ``report.md``, ``report.html``, ``ranking.txt`` and ``figures/*.png`` into a batch folder.

    The scenarios are ranked by crossings averted against ``baseline``. With ``targets``
    (a targets file, see ``sim.analysis.validation``), the runs of :data:`VALIDATED`
    (the calibrated status quo, whatever ``baseline`` is) are compared with the reported
    rates; when they cover a whole year of the observed record (``record``, or the copy
    shipped with the package), with the latest such year, pattern by pattern
    (``sim.analysis.patterns``). The folder is compared with what its manifest planned
    first: a batch with runs missing or damaged, or one still writing, is refused unless
    ``partial``, and a partial report says so at its top. Figures an earlier report left
    in ``figures/`` that this one does not make are removed.

    Returns:
        Paths of what was written (``md``, ``html``, ``ranking``, and one per figure).

    Raises:
        StoreError: the folder holds no complete run, or the batch is not finished and ``partial`` is False.
        UnknownBaseline: no scenario of the batch is named ``baseline``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from tqdm import tqdm

    from sim.analysis import report_figures as rf

    folder = Path(folder)
    manifest = (read_manifest(folder) if folder.is_dir() else None) or {}
    planned = [e.get("name") for e in manifest.get("scenarios", {}).values() if isinstance(e, dict)]
    if planned and baseline not in planned:  # before the runs are read
        raise UnknownBaseline(baseline, folder, planned)
    resplit_found = resplit(manifest, baseline)  # scenarios that split the patrols or drones otherwise
    # on a terminal only (None: off when stderr is not one), so that a refusal stays one line in a log
    steps = tqdm(total=11 + bool(resplit_found), desc="report: checking the runs", unit="step",
                 disable=None if progress else True,
                 leave=False)
    try:
        status = completeness(folder)
        if not status.complete and not partial:
            raise StoreError(f"{folder}: {status.describe()}; expected a finished batch (run the same channel-sim "
                             "batch again to finish it, or channel-sim report --partial)")
        steps.update()
        steps.set_description("report: reading the runs")
        res = load_results(folder, status)
        raw, boats, daily = res["summaries"], res["boats"], res["daily"]
        if raw.empty:
            raise StoreError(f"{folder}: no complete run to report on; expected a batch folder with runs")
        names = list(dict.fromkeys(raw["scenario"]))
        if baseline not in names:
            raise UnknownBaseline(baseline, folder, names)
        if raw.groupby("scenario")["days"].nunique().max() > 1:
            raise StoreError(f"{folder}: holds runs of different lengths for one scenario (batches added with "
                             "--append); expected one batch definition per report (write the batches to separate "
                             "folders)")
    except BaseException:
        steps.close()
        raise
    steps.update()
    steps.set_description("report: tables and figures")
    summaries = raw.assign(scenario=label_frame(raw))
    labelled = summaries[["run", "scenario"]]
    boats_l = boats.merge(labelled, on="run", suffixes=("_raw", ""))
    daily_l = daily.merge(labelled, on="run", suffixes=("_raw", ""))
    days = int(summaries["days"].max())
    n_draws = int(raw["draw"].nunique()) if "draw" in raw.columns else 1
    table = scenario_table(raw)
    diffs = paired_differences(raw, baseline)
    rank = findings.ranking(diffs, scenario_descriptions(manifest))
    steps.update()

    order = list(rank["scenario"])
    base_labels = [lb for lb in dict.fromkeys(table["scenario"]) if lb not in order]
    all_labels = base_labels + order
    figdir = folder / "figures"
    figdir.mkdir(exist_ok=True)
    figures = {}
    style = rf.styles(all_labels)

    def make(name, caption, build):
        fig = build()
        if fig is not None:
            figures[name] = (caption, figure_bytes(fig))
            plt.close(fig)
        steps.update()

    if len(rank):
        make("tradeoff", "Crossings averted against extra deaths and lives at risk",
             lambda: rf.fig_tradeoff(rank, days, style))
        make("differences", f"Paired differences against {baseline}", lambda: rf.fig_differences(diffs, order, days, style))
    target_list = load_targets(targets) if targets is not None else []
    validation_md, no_validation = None, None
    validated = raw[raw["scenario"] == VALIDATED]
    sweep = _sweep_cols(raw)
    if target_list and not validated.empty:
        if sweep and len(validated[sweep].drop_duplicates()) > 1:
            no_validation = (f"The runs of {VALIDATED} sweep parameters: they are not compared with the reported "
                             "rates, which describe one set of parameters.")
        else:
            vtable = compare(validated, target_list)
            validation_md = markdown_table(vtable)
            make("validation", f"{VALIDATED} against the reported rates",
                 lambda: fig_validation(vtable, f"{VALIDATED}: simulated mean (95 % interval) against the "
                                                f"reported value (dashed) and band ({days}-day runs)"))
    cmp, no_record = record_comparison(record if record is not None else load_record(), raw, daily, boats, VALIDATED)
    pattern_names = []
    if cmp is not None:
        from sim.analysis.pattern_figures import pattern_figures

        for name, (caption, fig) in pattern_figures(cmp).items():
            figures[name] = (caption, figure_bytes(fig))
            plt.close(fig)
            pattern_names.append(name)
    steps.update()
    if resplit_found:
        make("deployments", "Patrol units and drones by sector",
             lambda: rf.fig_deployments(resplit_found, style))
    make("map", "Where boats launch and are stopped", lambda: rf.fig_map(boats_l, summaries, all_labels, days))
    make("daily", "Through the run", lambda: rf.fig_daily(daily_l, all_labels, baseline, style))

    written: dict[str, Path] = {}
    for name, (_, png) in figures.items():
        written[name] = write_atomic(figdir / f"{name}.png", png)
    for old in figdir.glob("*.png"):
        if old.stem not in figures:
            old.unlink()
    steps.update()

    intro = describe_batch(raw, days)
    if not status.complete:
        intro = (f"PARTIAL REPORT: {status.describe(limit=10)}. The figures below are of the {status.sound} "
                 f"runs there, not of the whole batch. " + intro)
    base_row = table[table["scenario"] == (base_labels[0] if base_labels else baseline)].set_index("outcome")
    shares = diffs[diffs["outcome"] == "people_crossed"]["parametric_share"] if len(diffs) else pd.Series(dtype=float)
    summary = findings.summary_paragraph(
        rank, baseline, MEASURES["people_crossed"].format(base_row.loc["people_crossed", "mean"]),
        MEASURES["deaths"].format(base_row.loc["deaths", "mean"]), days, n_draws,
        float(shares.mean()) if shares.notna().any() else None)
    when = findings.period(days)
    sections = [("Summary", summary, None)]
    if len(rank):
        sections.append((f"Ranking: effects {when} against {baseline}",
                         findings.ranking_markdown(rank, days) + "\n\nMean [95 % interval] of each effect, "
                         "the policies sorted by crossings averted (a negative number of crossings averted is more "
                         "crossings). An effect is clear when its interval leaves out zero.", "tradeoff"))
        sections.append((figures["differences"][0], "", "differences"))
    if len(rank) and n_draws > 1:
        sections.append(("What the intervals hold", uncertainty_markdown(diffs, order), None))
    if resplit_found:
        sections.append(("Deployments by sector", deployment_markdown(resplit_found, rank, baseline, days),
                         "deployments"))
    sections.append((f"Outcomes per scenario, {when} (mean [95 % interval])",
                     outcome_tables(table, all_labels, days), None))
    if len(diffs):
        sections.append((f"Differences from {baseline}, {when} (mean [95 % interval])",
                         outcome_tables(diffs, order, days, signed=True), None))
    if validation_md is not None:
        sections.append((figures["validation"][0], f"The {len(validated)} runs of {VALIDATED} against the rates "
                         f"the source documents report ({Path(targets).name}).{_predictive(n_draws)}"
                         f"\n\n{validation_md}", "validation"))
    elif no_validation:
        sections.append((f"{VALIDATED} against the reported rates", no_validation, None))
    if cmp is not None:
        sections.append((f"{VALIDATED} against the observed record of {cmp.year}",
                         f"The {cmp.runs} runs of {VALIDATED} against the Home Office's daily record of {cmp.year} "
                         f"({cmp.record.daily_file.name}), pattern by pattern.{_predictive(n_draws)}"
                         f"\n\n{cmp.markdown()}",
                         pattern_names[0]))
        for name in pattern_names[1:]:
            sections.append((figures[name][0], "", name))
    elif no_record:
        sections.append(("Against the observed record", no_record, None))
    for name in ("map", "daily"):
        sections.append((figures[name][0], "", name))
    sections.append(("How to read this report", method_markdown(n_draws), None))
    sections.append(("Glossary", glossary_markdown(), None))

    generated = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    made = provenance(manifest)
    title = f"Policy comparison against {baseline}"
    md = [f"# {title}", "", f"`{folder}` · {intro}", "", f"Generated {generated}. {made}", ""]
    for heading, body, fig in sections:
        md += [f"## {heading}", ""]
        if body:
            md += [body, ""]
        if fig in written:
            md += [f"![{figures[fig][0]}](figures/{fig}.png)", ""]
    written["md"] = write_atomic(folder / "report.md", "\n".join(md))
    pngs = {name: png for name, (_, png) in figures.items()}
    written["html"] = write_atomic(folder / "report.html",
                                   _html(title, f"{folder} · {intro}", f"Generated {generated}. {made}", sections,
                                         pngs, {name: caption for name, (caption, _) in figures.items()}))
    text = findings.ranking_text(rank, days, baseline) if len(rank) else summary
    written["ranking"] = write_atomic(folder / "ranking.txt", text + "\n")
    steps.update(steps.total - steps.n)
    steps.close()
    return written


_INTERVAL = re.compile(r"^([+-]?[\d,.]+%?|n/a) (\[[^\]]*\])$")
_INLINE = re.compile(r"\*\*([^*]+)\*\*|\*([^*]+)\*|`([^`]+)`")


def _inline(text: str) -> str:
    """Escaped text with Markdown's bold, italics and code."""
    out, last = [], 0
    for m in _INLINE.finditer(text):
        out.append(html.escape(text[last:m.start()]))
        bold, italic, code = m.groups()
        out.append(f"<strong>{html.escape(bold)}</strong>" if bold else f"<em>{html.escape(italic)}</em>" if italic
                   else f"<code>{html.escape(code)}</code>")
        last = m.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


def _cell(text: str, tag: str, inline: bool = False) -> str:
    """A table cell; ``mean [low, high]`` shows the interval smaller, on a second line unless ``inline``.

    A cell of words (not a number) is aligned left.
    """
    m = _INTERVAL.match(text)
    if tag == "td" and m:
        gap = " " if inline else "<br>"
        return f"<td>{html.escape(m.group(1))}{gap}<span class='ci'>{html.escape(m.group(2))}</span></td>"
    words = tag == "td" and not re.match(r"^[+-]?[\d,.]+%?$|^n/a$", text)
    return f"<{tag}{' class=\'text\'' if words else ''}>{_inline(text)}</{tag}>"


def _md_to_html(body: str) -> str:
    """A section's body in HTML: tables, bullet lists and paragraphs."""
    parts = []
    for block in (b.strip() for b in body.split("\n\n")):
        lines = block.splitlines()
        if len(lines) >= 2 and all(ln.startswith("|") for ln in lines):
            cells = [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in lines]
            inline = len(cells[0]) <= 7  # a narrow table keeps each interval beside its mean
            head = "".join(_cell(c, "th") for c in cells[0])
            rows = "".join("<tr>" + "".join(_cell(c, "td", inline) for c in r) + "</tr>" for r in cells[2:])
            parts.append(f"<div class='table'><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>")
        elif lines and all(ln.startswith("- ") for ln in lines):
            parts.append("<ul>" + "".join(f"<li>{_inline(ln[2:])}</li>" for ln in lines) + "</ul>")
        elif block:
            parts.append(f"<p>{_inline(block)}</p>")
    return "\n".join(parts)


_STYLE = ("body{font-family:system-ui,sans-serif;max-width:1320px;margin:1.5em auto;padding:0 1em;color:#222;"
          "line-height:1.45}h1{font-size:1.45em;margin:0.2em 0}h2{margin-top:1.3em;font-size:1.2em}"
          ".meta{color:#555;font-size:0.85em;margin:0.3em 0}.table{overflow-x:auto}"
          "table{border-collapse:collapse;font-size:0.85em;margin:0.8em 0}td,th{border:1px solid #ccc;"
          "padding:3px 7px;text-align:right;vertical-align:top}th{text-align:left}"
          "th{background:#f3f3f3;font-weight:600}.ci{color:#666;font-size:0.88em;white-space:nowrap}"
          "td.text{text-align:left}img{max-width:100%;border:1px solid #eee}"
          "#summary p{font-size:0.98em;background:#f7f9fc;border-left:4px solid #4a78b5;padding:0.6em 0.9em}")


def _html(title: str, intro: str, generated: str, sections, pngs: dict[str, bytes], captions: dict[str, str]) -> str:
    parts = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
             f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
             f"<h1>{html.escape(title)}</h1><p class='meta'>{_inline(intro)}</p>"
             f"<p class='meta'>{html.escape(generated)}</p>"]
    for heading, body, fig in sections:
        anchor = "summary" if heading == "Summary" else re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-")
        parts.append(f"<section id='{anchor}'><h2>{html.escape(heading)}</h2>")
        parts.append(_md_to_html(body))
        if fig in pngs:
            data = base64.b64encode(pngs[fig]).decode()
            parts.append(f"<img alt='{html.escape(captions[fig])}' src='data:image/png;base64,{data}'>")
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)
