"""The outcome vocabulary, one meaning everywhere (see ``docs/ODD.md``).

A boat *attempt* starts when a network commits a boat to a launch and ends in
exactly one :class:`Outcome`. People are counted the same way: each person in
an attempt ends prevented (stopped on land or taken back from the water),
rescued (their boat failed at sea), crossed, or dead.

Derived rates:

* launch success rate: boats that put to sea with people aboard and got clear
  of the coast (outcome ``failed_at_sea`` or ``crossed``) / boat attempts;
* crossing success rate: boats ``crossed`` / boat attempts;
* taxi-boat success rate: taxi boats that picked people up and got clear of
  the coast / taxi-boat attempts (the "success" of seed 004's leaked document);
* mean people per boat: mean load of the boats that put to sea with people
  aboard (what the Home Office and Prémar average);
* lives at risk: people (migrants and crew) aboard boats at the moment of an
  intervention at sea;
* deaths are attributed to interventions at sea (``deaths_intervention``) or
  to the crossing itself (``deaths_crossing``); ``deaths`` is their sum.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import pandas as pd


class Outcome(StrEnum):
    """How a boat attempt ended."""

    PREVENTED_ON_LAND = "prevented_on_land"
    INTERCEPTED_AT_SEA = "intercepted_at_sea"
    FAILED_AT_SEA = "failed_at_sea"
    CROSSED = "crossed"


class BoatKind(StrEnum):
    """How a boat is put to sea."""

    BEACH = "beach"
    TAXI = "taxi"


#: Columns of the per-boat event table, in order.
BOAT_COLUMNS = (
    "boat_id", "day", "date", "network", "kind", "launch_site", "launch_km", "waterway",
    "people", "outcome", "deaths", "rescued", "detected", "sea_intervention",
    "intervention_measure", "lives_at_risk", "officer_injuries", "wave_m", "launch_hour",
    "deaths_intervention", "deaths_crossing", "injuries_intervention",
)

#: Keys of ``summary.json``, in order.
SUMMARY_KEYS = (
    "days", "seed", "scenario", "boats_attempted", "boats_prevented_on_land",
    "boats_intercepted_at_sea", "boats_failed_at_sea", "boats_crossed",
    "taxi_boats_attempted", "taxi_boats_crossed", "people_attempted", "people_prevented",
    "people_crossed", "people_rescued", "deaths", "launch_success_rate",
    "crossing_success_rate", "taxi_boat_success_rate", "mean_people_per_boat",
    "sea_interventions", "lives_at_risk", "officer_injuries",
    "deaths_intervention", "deaths_crossing", "injuries_intervention",
    "people_returned", "boats_seized_from_vans", "boats_seized_in_raids",
)

#: Summary keys that come from the model's counters rather than the boat table.
COUNTER_KEYS = ("people_returned", "boats_seized_from_vans", "boats_seized_in_raids")

_AT_SEA = (Outcome.FAILED_AT_SEA.value, Outcome.CROSSED.value)


def _rate(num: float, den: float) -> float:
    return float(num) / float(den) if den else float("nan")


def summarise(boats: pd.DataFrame, *, days: int, seed: int, scenario: str, counters: dict | None = None) -> dict:
    """The run's summary from its per-boat table and the model's counters.

    Args:
        boats: one row per boat attempt, columns ``BOAT_COLUMNS``.
        days: days simulated.
        seed: the run's seed.
        scenario: the scenario's name.
        counters: values of ``COUNTER_KEYS`` (0 when absent).

    Returns:
        A dict with the keys ``SUMMARY_KEYS`` (and these only).
    """
    out = boats["outcome"].to_numpy()
    kind = boats["kind"].to_numpy()
    people = boats["people"].to_numpy()
    deaths = boats["deaths"].to_numpy()
    rescued = boats["rescued"].to_numpy()
    at_sea = np.isin(out, _AT_SEA)
    taxi = kind == BoatKind.TAXI.value
    stopped = np.isin(out, (Outcome.PREVENTED_ON_LAND.value, Outcome.INTERCEPTED_AT_SEA.value))
    n = len(boats)
    summary = {
        "days": int(days),
        "seed": int(seed),
        "scenario": scenario,
        "boats_attempted": n,
        "boats_prevented_on_land": int((out == Outcome.PREVENTED_ON_LAND.value).sum()),
        "boats_intercepted_at_sea": int((out == Outcome.INTERCEPTED_AT_SEA.value).sum()),
        "boats_failed_at_sea": int((out == Outcome.FAILED_AT_SEA.value).sum()),
        "boats_crossed": int((out == Outcome.CROSSED.value).sum()),
        "taxi_boats_attempted": int(taxi.sum()),
        "taxi_boats_crossed": int((taxi & (out == Outcome.CROSSED.value)).sum()),
        "people_attempted": int(people.sum()),
        "people_prevented": int((people[stopped] - deaths[stopped]).sum()),
        "people_crossed": int((people - deaths)[out == Outcome.CROSSED.value].sum()),
        "people_rescued": int(rescued.sum()),
        "deaths": int(deaths.sum()),
        "launch_success_rate": _rate(at_sea.sum(), n),
        "crossing_success_rate": _rate((out == Outcome.CROSSED.value).sum(), n),
        "taxi_boat_success_rate": _rate((taxi & at_sea).sum(), taxi.sum()),
        "mean_people_per_boat": float(people[at_sea].mean()) if at_sea.any() else float("nan"),
        "sea_interventions": int(boats["sea_intervention"].to_numpy().sum()),
        "lives_at_risk": int(boats["lives_at_risk"].to_numpy().sum()),
        "officer_injuries": int(boats["officer_injuries"].to_numpy().sum()),
        "deaths_intervention": int(boats["deaths_intervention"].to_numpy().sum()),
        "deaths_crossing": int(boats["deaths_crossing"].to_numpy().sum()),
        "injuries_intervention": int(boats["injuries_intervention"].to_numpy().sum()),
    }
    for key in COUNTER_KEYS:
        summary[key] = int((counters or {}).get(key, 0))
    return summary
