"""The report's section on deployments: where each scenario puts its patrol units and drones.

Shown when a batch holds scenarios that split the coast's patrol units or drones
over its sectors otherwise than the baseline does, as the plans ``channel-sim
optimise`` writes do (``plans/*.yaml``): one row per such scenario and one for
the baseline, with the units and drones of each sector (north to south), from
the scenario's resolved content as the batch's manifest recorded it, and the
scenario's effects from the ranking.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from sim.model.geography import Sectors
from sim.model.patrols import patrol_units
from sim.scenario import Scenario


@dataclass(frozen=True)
class Deployment:
    """Patrol units and drones in each sector, north to south, and the weights they come from."""

    units: tuple[int, ...]
    drones: tuple[int, ...]
    weights: tuple[tuple[float, ...], tuple[float, ...]]


def deployment_of(scenario: Scenario) -> Deployment:
    """The scenario's deployment at its start, as the model makes it (``Gendarmerie.post``, ``Surveillance.deploy``)."""
    g, s = scenario.gendarmerie, scenario.surveillance
    patrols = tuple(g.sector_weights)
    drones = tuple(s.drone_sector_weights or patrols)
    return Deployment(tuple(Sectors(len(patrols), 1.0, patrols).counts(patrol_units(g))),
                      tuple(Sectors(len(drones), 1.0, drones).counts(s.drones)), (patrols, drones))


def deployments(manifest: dict) -> dict[str, Deployment]:
    """Each scenario of a batch's manifest, by name, with its deployment."""
    out = {}
    for entry in manifest.get("scenarios", {}).values():
        if isinstance(entry, dict) and isinstance(entry.get("content"), dict):
            out[entry.get("name", "")] = deployment_of(Scenario.model_validate(entry["content"]))
    return out


def resplit(manifest: dict, baseline: str) -> dict[str, Deployment]:
    """The baseline and the scenarios that split their units or drones otherwise (empty when none does)."""
    found = deployments(manifest)
    base = found.get(baseline)
    if base is None:
        return {}
    others = {name: d for name, d in found.items() if name != baseline and d.weights != base.weights}
    return {baseline: base, **others} if others else {}


def deployment_markdown(found: dict[str, Deployment], rank: pd.DataFrame, baseline: str, days: int) -> str:
    """The section: a row a scenario, its units and drones by sector and its effects against the baseline."""
    from sim.analysis.findings import period

    effects = {str(r["scenario"]).split(" [")[0]: r for _, r in rank.iterrows()}
    when = period(days)
    header = ["scenario", "patrol units by sector (north to south)", "drones by sector",
              f"crossings averted {when}", f"extra deaths {when}"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, d in found.items():
        r = effects.get(name)
        cells = [name, " ".join(map(str, d.units)) + f" ({sum(d.units)})", " ".join(map(str, d.drones))
                 + f" ({sum(d.drones)})", r["people_crossed"].text("people_crossed") if r is not None else "",
                 r["deaths"].text("deaths") if r is not None else ""]
        lines.append("| " + " | ".join(cells) + " |")
    n = len(found) - 1
    return (f"{n} scenario{'s' if n != 1 else ''} of this batch deploy{'s' if n == 1 else ''} the coast's patrol "
            f"units or drones over its {len(next(iter(found.values())).units)} sectors otherwise than {baseline} "
            "(as the plans channel-sim optimise writes do). Their effects are paired against "
            f"{baseline} as in the ranking, over the whole run: a plan holds from a run's first day, so they "
            "include the weeks in which the networks learn it (channel-sim optimise scores a plan only after "
            "its warm-up).\n\n" + "\n".join(lines))
