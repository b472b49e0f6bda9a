"""The files of a deployment study (``channel-sim optimise``): the plans as scenarios, ``pareto.md``, the tables.

From the outcome of :func:`sim.analysis.optimisation.reevaluate`: each chosen
plan as a scenario file that ``extends:`` the source (``plans/``), the Markdown
of the chosen plans and of whether their effect survives adaptation
(``pareto.md``), the trials (``trials.csv``), the figures (``outcome.json``),
and the figure of :mod:`sim.analysis.optimisation_figures` (``pareto.png``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from sim.analysis.optimisation import Chosen, OptimisationResult
from sim.analysis.optimisation_runs import FIRST_MONTH
from sim.analysis.optimisation_space import Plan
from sim.outcomes import MEASURES
from sim.scenario import set_keys


def write_plans(outcome: OptimisationResult) -> list[Path]:
    """Each chosen plan as a scenario file that ``extends:`` the source scenario (``plans/<name>.yaml``).

    The folder holds the plans of the study's last pass only: files of plans no longer chosen are removed.
    """
    import yaml

    settings = outcome.settings
    folder = outcome.folder / "plans"
    folder.mkdir(exist_ok=True)
    keep = set()
    for c in outcome.chosen:
        path = folder / f"{c.name}.yaml"
        parent = os.path.relpath(settings.source.resolve(), folder.resolve())
        data = set_keys({}, c.plan.keys(settings.scenario))
        objectives = ", ".join(f"{MEASURES[k].label.lower()} {c.fresh[k]:,.1f}" for k in settings.objectives)
        text = (f"# channel-sim optimise: trial {c.trial} of {outcome.folder}; on {len(outcome.fresh_seeds)} fresh "
                f"seeds, over days {settings.timeline.scored[0]}-{settings.timeline.scored[1] - 1} of each run: "
                f"{objectives}\n"
                + yaml.safe_dump({"extends": parent, "name": c.name,
                                  "description": f"deployment found by channel-sim optimise (trial {c.trial}) for "
                                                 f"{settings.scenario.name}"}, sort_keys=False)
                + yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=200))
        path.write_text(text, encoding="utf-8")
        c.file = path
        keep.add(path.name)
    for old in folder.glob("*.yaml"):
        if old.name not in keep:
            old.unlink()
    return [c.file for c in outcome.chosen]


def _cell(value: float) -> str:
    return f"{value:,.1f}"


def format_interval(triple, percent: bool = False) -> str:
    """``mean [low, high]`` of a paired difference (signed; as a percentage with ``percent``), or n/a."""
    m, lo, hi = triple
    if not np.isfinite(m):
        return "n/a"
    if percent:
        return f"{m:+.1%} [{lo:+.1%}, {hi:+.1%}]"
    return f"{m:+,.1f} [{lo:+,.1f}, {hi:+,.1f}]"


def beats(c: Chosen, key: str) -> bool:
    """The plan's paired interval against the scenario's deployment lies wholly below zero on ``key``."""
    m, lo, hi = c.difference[key]
    return bool(np.isfinite(hi) and hi < 0)


def survival(c: Chosen, key: str) -> float:
    """Share of the first month's reduction of ``key`` still there once the networks have adapted.

    NaN when the first month shows no reduction outside its paired interval (a share of noise means nothing).
    """
    first, _, high = c.first_month[key]
    adapted = c.adapted[key][0]
    return adapted / first if np.isfinite(high) and high < 0 else float("nan")


def markdown(outcome: OptimisationResult) -> str:
    """``pareto.md``: the chosen plans, their splits and their figures in search and on fresh seeds."""
    s = outcome.settings
    scenario, t = s.scenario, s.timeline
    keys = tuple(dict.fromkeys((*s.objectives, *s.no_worse)))
    label = {k: MEASURES[k].label.lower() for k in keys}
    lines = [f"# Deployments of {scenario.name}: {', '.join(label[k] for k in s.objectives)}", "",
             f"{len(outcome.trials)} trials, each on the same {s.seeds} seeds; runs of {t.days} days from "
             f"{scenario.start_date}: the scenario's deployment for {t.settle} days, then the plan; its first "
             f"{t.warmup} days do not count (the networks learn it), the objectives are summed over days "
             f"{t.scored[0]}-{t.scored[1] - 1}. Budgets: {s.space.personnel:,} personnel a day, {s.space.drones} "
             f"drones; levers: {', '.join(s.space.levers)}"
             + (f"; no worse than the scenario's deployment on {', '.join(label[k] for k in s.no_worse)}"
                if s.no_worse else "") + ".", "",
             f"Chosen plans (the front, {len(outcome.chosen)} of its "
             f"{int(outcome.trials['front'].sum()) if len(outcome.trials) else 0}) run again on "
             f"{len(outcome.fresh_seeds)} fresh seeds beside the scenario's deployment on the same seeds; "
             "differences are paired by seed, with 95 % intervals.", ""]
    head = ["plan", "patrol units by sector", "drones by sector", *(["interception"] if "interception" in s.space.levers
                                                                    else []),
            *(["lifeboats"] if "lifeboats" in s.space.levers else [])]
    head += [f"{label[k]} in search" for k in keys] + [f"{label[k]} fresh seeds" for k in keys]
    head += [f"{label[k]} vs deployment today (fresh)" for k in keys]
    rows = []
    base_units = Plan(scenario.gendarmerie.personnel_per_day, scenario.surveillance.drones)
    ref = ["scenario's deployment", " ".join(map(str, base_units.units_per_sector(scenario))),
           " ".join(map(str, base_units.drones_per_sector(scenario)))]
    ref += ([scenario.policy.shallow_water_interception] if "interception" in s.space.levers else [])
    ref += ([str(scenario.maritime.lifeboats)] if "lifeboats" in s.space.levers else [])
    ref += [_cell(outcome.reference_in_search[k]) for k in keys] + [_cell(outcome.reference_fresh[k]) for k in keys]
    ref += ["" for _ in keys]
    rows.append(ref)
    for c in outcome.chosen:
        row = [f"[{c.name}](plans/{c.name}.yaml)", " ".join(map(str, c.plan.units_per_sector(scenario))),
               " ".join(map(str, c.plan.drones_per_sector(scenario)))]
        row += ([c.plan.interception] if "interception" in s.space.levers else [])
        row += ([str(c.plan.lifeboats)] if "lifeboats" in s.space.levers else [])
        row += [_cell(c.in_search[k]) for k in keys] + [_cell(c.fresh[k]) for k in keys]
        row += [format_interval(c.difference[k]) + (" **beats**" if beats(c, k) else "") for k in keys]
        rows.append(row)
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(r) + " |" for r in rows]
    first = s.objectives[0]
    lines += ["", f"## Does the effect survive adaptation? ({label[first]})", "",
              f"Relative effect against the scenario's deployment on the fresh seeds, in the plan's first "
              f"{FIRST_MONTH} days (days {t.first_month[0]}-{t.first_month[1] - 1}: the networks still expect "
              f"the old deployment) and after the warm-up (days {t.scored[0]}-{t.scored[1] - 1}).", "",
              "| plan | first month | after warm-up | share that survives |", "|---|---|---|---|"]
    for c in outcome.chosen:
        share = survival(c, first)
        lines.append(f"| {c.name} | {format_interval(c.first_month[first], True)} | "
                     f"{format_interval(c.adapted[first], True)} | "
                     f"{'n/a (no first-month reduction outside its interval)' if not np.isfinite(share) else f'{share:.0%}'} |")
    lines += ["", "Sectors run from the Belgian border (first) to the Bay of Somme (last), "
              f"{150 / s.space.sectors:g} km each. Each plan file extends the scenario; `channel-sim batch` runs "
              "it (from its first day, with no warm-up).", ""]
    return "\n".join(lines)


def write_outputs(outcome: OptimisationResult) -> dict:
    """``pareto.md``, ``pareto.png``, ``trials.csv`` and ``plans/`` in the study's folder."""
    from sim.analysis.optimisation_figures import pareto_figure

    folder = outcome.folder
    files = {"plans": write_plans(outcome)}
    files["md"] = folder / "pareto.md"
    files["md"].write_text(markdown(outcome), encoding="utf-8")
    files["csv"] = folder / "trials.csv"
    outcome.trials.to_csv(files["csv"], index=False)
    files["png"] = pareto_figure(outcome, folder / "pareto.png")
    (folder / "outcome.json").write_text(json.dumps({
        "fresh_seeds": outcome.fresh_seeds, "reference_fresh": outcome.reference_fresh,
        "reference_in_search": outcome.reference_in_search,
        "chosen": [{"name": c.name, "trial": c.trial, "keys": c.plan.keys(outcome.settings.scenario),
                    "in_search": c.in_search, "fresh": c.fresh, "difference": c.difference,
                    "first_month": c.first_month, "adapted": c.adapted} for c in outcome.chosen]},
        indent=1, default=float), encoding="utf-8")
    outcome.files = files
    return files
