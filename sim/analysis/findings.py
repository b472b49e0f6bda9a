"""What a policy comparison concludes: the ranking of the policies and the paragraph that sums it up.

Both are made from the paired differences against the baseline
(``report.paired_differences``): for each policy, the crossings it averts, the
deaths, lives at risk and officer injuries it adds, each with its 95 % interval.
An effect is *clear* when its interval leaves out zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.outcomes import MEASURES

#: The ranking's columns: (summary key, heading, sign). A sign of -1 turns a difference into
#: what is averted (fewer crossings is a positive number of crossings averted).
RANKED = (("people_crossed", "crossings averted", -1), ("deaths", "extra deaths", 1),
          ("lives_at_risk", "extra lives at risk", 1), ("officer_injuries", "extra officer injuries", 1))


@dataclass(frozen=True)
class Effect:
    """One policy's effect on one outcome, signed as the ranking shows it."""

    mean: float
    low: float
    high: float

    @property
    def clear(self) -> int:
        """+1 when the interval lies above zero, -1 below, 0 when it holds zero (or there is none)."""
        if not (np.isfinite(self.low) and np.isfinite(self.high)):
            return 0
        return 1 if self.low > 0 else -1 if self.high < 0 else 0

    def text(self, key: str) -> str:
        """``mean [low, high]`` in the outcome's format, with a sign."""
        return MEASURES[key].interval(self.mean, self.low, self.high, signed=True)


def period(days: int) -> str:
    """The period a run's counts are for: "a year" for a run of a year, else "in N days"."""
    return "a year" if days in (365, 366) else f"in {days} days"


def ranking(diffs: pd.DataFrame, descriptions: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per policy (and sweep point), sorted by crossings averted, most first.

    Columns: ``scenario``, ``against``, ``description``, and for each of :data:`RANKED` an
    :class:`Effect` under its summary key.
    """
    descriptions = descriptions or {}
    rows = []
    for label, g in diffs.groupby("scenario", sort=False):
        by = g.set_index("outcome")
        row = {"scenario": label, "against": by["against"].iloc[0] if "against" in by else "",
               "description": descriptions.get(label.split(" [")[0], "")}
        for key, _, sign in RANKED:
            r = by.loc[key]
            lo, hi = sorted((sign * r["ci_low"], sign * r["ci_high"]))
            row[key] = Effect(sign * r["mean"], lo, hi)
        rows.append(row)
    if not rows:
        return pd.DataFrame(columns=["scenario", "against", "description"] + [k for k, _, _ in RANKED])
    table = pd.DataFrame(rows)
    order = np.argsort([-e.mean for e in table["people_crossed"]], kind="stable")
    return table.iloc[order].reset_index(drop=True)


def ranking_markdown(table: pd.DataFrame, days: int) -> str:
    """The ranking as a Markdown table (each effect ``mean [95 % interval]``, for the period of a run)."""
    header = ["#", "scenario"] + [f"{head} {period(days)}" for _, head, _ in RANKED] + ["what it changes"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for i, r in table.iterrows():
        cells = [str(i + 1), _name(r)] + [r[key].text(key) for key, _, _ in RANKED] + [r["description"]]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def ranking_text(table: pd.DataFrame, days: int, baseline: str = "baseline", width: int = 30) -> str:
    """The ranking as a fixed-width table for a terminal."""
    heads = ["scenario"] + [head for _, head, _ in RANKED]
    rows = [[_name(r)[:width]] + [r[key].text(key) for key, _, _ in RANKED] for _, r in table.iterrows()]
    widths = [max(len(x) for x in col) for col in zip(heads, *rows)]
    out = [f"effects {period(days)} against {baseline}, mean [95 % interval], most crossings averted first:"]
    out.append("  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(heads, widths))))
    for row in rows:
        out.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
    return "\n".join(out)


def _name(row) -> str:
    against = row.get("against", "")
    return f"{row['scenario']} (against {against})" if against and against != "baseline" else row["scenario"]


def _listing(rows, key: str, unsigned: bool = False) -> str:
    items = [f"{r['scenario']} ({_shown(r[key], key, unsigned)})" for r in rows]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _shown(effect: Effect, key: str, unsigned: bool) -> str:
    return MEASURES[key].interval(effect.mean, effect.low, effect.high) if unsigned else effect.text(key)


def summary_paragraph(table: pd.DataFrame, baseline: str, baseline_crossed: str, baseline_deaths: str,
                      days: int, draws: int, parametric_share: float | None = None) -> str:
    """What the policies do to crossings, deaths and lives at risk, in words, and which effects are clear.

    Args:
        table: :func:`ranking`.
        baseline_crossed, baseline_deaths: the baseline's people crossed and deaths, as shown.
        draws: parameter draws in the batch (1: the parameters are fixed).
        parametric_share: the mean share of the crossings effects' interval that is parameter uncertainty.
    """
    when = period(days)
    rows = [r for _, r in table.iterrows()]
    n = len(rows)
    if not n:
        return f"The batch holds {baseline} alone: nothing to compare it with."
    cut = [r for r in rows if r["people_crossed"].clear > 0]
    more = [r for r in rows if r["people_crossed"].clear < 0]
    dead = {r["scenario"] for r in rows if r["deaths"].clear > 0}
    fewer_dead = {r["scenario"] for r in rows if r["deaths"].clear < 0}
    risk = [r for r in rows if r["lives_at_risk"].clear > 0]
    cut_names = {r["scenario"] for r in cut}
    more_names = {r["scenario"] for r in more}
    policies = "policy" if n == 1 else "policies"
    text = [f"Against {baseline} ({baseline_crossed} people crossed {when}, {baseline_deaths} deaths), "
            f"{len(cut)} of {n} {policies} cut crossings clearly (the 95 % interval of the cut leaves out zero)."]
    safe = [r for r in cut if r["scenario"] not in dead]
    if safe:
        text.append(f"Without a clear rise in deaths: {_listing(safe, 'people_crossed', True)} crossings averted "
                    f"{when}.")
    for r in (r for r in cut if r["scenario"] in dead):
        text.append(f"At the cost of more deaths: {r['scenario']}, "
                    f"{_shown(r['people_crossed'], 'people_crossed', True)} crossings averted and "
                    f"{_shown(r['deaths'], 'deaths', True)} more deaths {when}.")
    deadly = [r for r in rows if r["scenario"] in dead and r["scenario"] not in cut_names]
    if deadly:
        text.append(f"More deaths with no clear cut in crossings: {_listing(deadly, 'deaths', True)}.")
    if more:
        text.append(f"More crossings: {_listing(more, 'people_crossed')} crossings averted (a negative number).")
    saving = [r for r in rows if r["scenario"] in fewer_dead]
    if saving:
        text.append(f"Fewer deaths: {_listing(saving, 'deaths')}.")
    if risk:
        text.append(f"Lives at risk in interventions at sea rise clearly under {_listing(risk, 'lives_at_risk', True)}.")
    quiet = [r["scenario"] for r in rows if r["scenario"] not in cut_names | more_names | dead | fewer_dead]
    if quiet:
        text.append(f"No clear effect on crossings or deaths: {', '.join(quiet)}.")
    if draws > 1 and parametric_share is not None and np.isfinite(parametric_share):
        text.append(f"The intervals hold the uncertainty of the calibrated parameters ({draws} draws) as well as "
                    f"chance: {parametric_share:.0%} of an effect's interval on crossings is parametric on average, "
                    f"which more seeds would not narrow.")
    elif draws <= 1:
        text.append("The intervals hold chance alone, the parameters fixed at the calibrated point (run the batch "
                    "with --posterior to include what is not known about them).")
    return " ".join(text)
