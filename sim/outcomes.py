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

import datetime as dt
import typing
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, NamedTuple

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


# -- the result tables, by name ---------------------------------------------------------
#
# Each table has one record type: its fields are the table's columns, in order,
# and each field's type carries the column's dtype (``Annotated[..., "int64"]``).
# Text columns are "str"; dates are "datetime64[s]". ``frame`` builds the table.


class BoatRecord(NamedTuple):
    """One row of the boats table: one boat attempt and how it ended."""

    boat_id: Annotated[int, "int64"]                  # Mesa's unique id of the boat agent
    day: Annotated[int, "int64"]                      # day index of the night it was committed (0 = start date)
    date: Annotated[dt.date, "datetime64[s]"]         # date of that day
    network: Annotated[int, "int64"]                  # unique id of the network that committed it
    kind: Annotated[str, "str"]                       # BoatKind: beach or taxi
    launch_site: Annotated[str, "str"]                # launch beach, or pickup beach of a taxi boat
    launch_km: Annotated[float, "float64"]            # its position, km from the Belgian border
    waterway: Annotated[str, "str"]                   # where a taxi boat was put in ("" for a beach launch)
    people: Annotated[int, "int64"]                   # migrants in the group
    outcome: Annotated[str, "str"]                    # Outcome
    deaths: Annotated[int, "int64"]                   # deaths_intervention + deaths_crossing
    rescued: Annotated[int, "int64"]                  # people rescued when the boat failed at sea
    detected: Annotated[bool, "bool"]                 # seen or reported before launch
    sea_intervention: Annotated[int, "int64"]         # 1 when maritime units intervened
    intervention_measure: Annotated[str, "str"]       # the measure that worked, none_effective, or ""
    lives_at_risk: Annotated[int, "int64"]            # people aboard at interventions
    officer_injuries: Annotated[int, "int64"]         # officers hurt by missiles on the beach
    wave_m: Annotated[float, "float64"]               # wave height of that day
    launch_hour: Annotated[float, "float64"]          # planned launch, hour of the clock
    deaths_intervention: Annotated[int, "int64"]      # deaths during interventions at sea
    deaths_crossing: Annotated[int, "int64"]          # deaths when the boat failed on the crossing
    injuries_intervention: Annotated[int, "int64"]    # migrants hurt during interventions at sea
    landed_day: Annotated[int, "int64"]               # day index of the UK date it was brought ashore (-1: not crossed)
    prevention_events: Annotated[int, "int64"]        # stops as the French count them: one per party stopped on land, one for a boat stopped at sea


class DayRecord(NamedTuple):
    """One row of the daily table: the state of the day at noon, and the day's boats by outcome.

    The model records the state fields each day; the counts (from
    ``boats_attempted`` on) are counted from the boats table when the table is
    made: by the day the boats were committed, but for ``boats_arrived`` and
    ``people_arrived``, counted by the UK date they were brought ashore, the
    way the Home Office's daily record counts (a night's boats that land after
    midnight count on the next date; those landing after the last day are in
    no row).
    """

    day: Annotated[int, "int64"]                      # day index (0 = start date)
    date: Annotated[dt.date, "datetime64[s]"]
    wave_m: Annotated[float, "float64"]               # significant wave height near the shore
    night_hours: Annotated[float, "float64"]          # length of the night
    camp_people: Annotated[int, "int64"]              # people waiting in the camps at noon, after the day's arrivals
    boats_in_stock: Annotated[int, "int64"]           # boats on the coast, all networks, after the night's commitments
    boats_committed: Annotated[int, "int64"]          # boats committed for the night
    people_returned: Annotated[int, "int64"]          # people returned to France that day
    people_came_to_camps: Annotated[int, "int64"]     # people who came to the camps that day
    people_left_coast: Annotated[int, "int64"]        # people who left the coast since the day before (after a failed attempt, with the weekly hazard, or moved in a clearance and not coming back)
    people_cleared: Annotated[int, "int64"]           # people moved in clearances of the camps that day
    interception: Annotated[str, "str"]               # the shallow-water interception in force
    boats_attempted: Annotated[int, "int64"] = 0
    boats_prevented_on_land: Annotated[int, "int64"] = 0
    boats_intercepted_at_sea: Annotated[int, "int64"] = 0
    boats_failed_at_sea: Annotated[int, "int64"] = 0
    boats_crossed: Annotated[int, "int64"] = 0
    people_attempted: Annotated[int, "int64"] = 0
    people_crossed: Annotated[int, "int64"] = 0
    deaths: Annotated[int, "int64"] = 0
    boats_arrived: Annotated[int, "int64"] = 0        # boats brought ashore in the UK on this date (as the Home Office counts)
    people_arrived: Annotated[int, "int64"] = 0       # people brought ashore in the UK on this date


class MoveRecord(NamedTuple):
    """One row of the tracks table: from ``hour`` of the night of ``day`` on, an agent is at a place, doing something.

    A run's tracks hold what its boats, patrol units, vessels, drones and camps did, as
    waypoints: an agent stays where its last waypoint put it until its next one, but
    for the moving states (``responding``, ``called out``, ``taxi on waterway``,
    ``at sea``), in which it goes in a straight line, at an even pace, to the place
    of its next waypoint. Places are cells of the coast's grid (``col`` from the
    Belgian border, 250 m each; ``row`` 0 out at sea, the shore row, the dunes, the
    road inland). What each agent's ``state`` can be (:data:`TRACK_STATES`):

    * ``boat`` (``agent_id`` its ``boat_id`` in the boats table): hiding, taxi on
      waterway, assembling, taxi waiting in the surf, at sea, and last how it ended
      (an :class:`Outcome` value: a crossed boat's last waypoint is in UK waters);
    * ``patrol unit``: on patrol (at its post on the road), responding, engaged;
    * ``patrol boat`` and ``lifeboat``: on station, called out, intervening;
    * ``drone``: over the sector it searches;
    * ``camp``: waiting, ``people`` the people waiting there at noon.

    Deployments (posts, stations, drones) are written when the run starts (day -1,
    hour 0: the noon before the first day) and again whenever they change.
    """

    day: Annotated[int, "int32"]                      # day index of the night (0 = start date); -1 before it
    hour: Annotated[float, "float32"]                 # hours after that day's noon (6 = 18:00, 18 = 06:00 next day)
    agent: Annotated[str, "category"]                 # boat, patrol unit, patrol boat, lifeboat, drone, camp
    agent_id: Annotated[int, "int32"]                 # boat_id for a boat; the agent's index among its kind otherwise
    col: Annotated[float, "float32"]                  # grid column (250 m cells from the Belgian border)
    row: Annotated[float, "float32"]                  # grid row (0 out at sea; the shore row; the road inland)
    state: Annotated[str, "category"]                 # what it does from then on (see TRACK_STATES)
    people: Annotated[int, "int32"]                   # people aboard a boat (its group), or waiting in a camp


#: What each agent of the tracks table can be doing.
TRACK_STATES = {
    "boat": ("hiding", "taxi on waterway", "assembling", "taxi waiting in the surf", "at sea", *Outcome),
    "patrol unit": ("on patrol", "responding", "engaged"),
    "patrol boat": ("on station", "called out", "intervening"),
    "lifeboat": ("on station", "called out", "intervening"),
    "drone": ("searching",),
    "camp": ("waiting",),
}

#: States in which an agent moves to the place of its next waypoint.
MOVING_STATES = frozenset({"responding", "called out", "taxi on waterway", "at sea"})

#: Columns of the boats table, in order.
BOAT_COLUMNS = BoatRecord._fields

#: Columns of the tracks table, in order.
TRACK_COLUMNS = MoveRecord._fields

#: Columns of the daily table, in order.
DAY_COLUMNS = DayRecord._fields

#: The daily table's columns counted from its boats (the rest are the day's state).
DAY_COUNT_COLUMNS = tuple(name for name in DAY_COLUMNS if name in DayRecord._field_defaults)


def dtypes(record: type[tuple]) -> dict[str, str]:
    """Column name -> dtype, as declared beside the fields of a record type."""
    hints = typing.get_type_hints(record, include_extras=True)
    return {name: hints[name].__metadata__[0] for name in record._fields}


def frame(record: type[tuple], rows: list[tuple], columns: dict | None = None) -> pd.DataFrame:
    """The table of ``rows`` of a record type, each column of its declared dtype.

    Args:
        record: ``BoatRecord`` or ``DayRecord``.
        rows: records (or tuples in the same field order).
        columns: values that replace whole columns (e.g. the daily counts), by name.
    """
    data = {}
    values_of = dict(zip(record._fields, zip(*rows))) if rows else {}
    for name, dtype in dtypes(record).items():
        values = columns[name] if columns and name in columns else values_of.get(name, ())
        if dtype == "str":  # an object array: pandas makes it its text type
            data[name] = np.empty(len(values), dtype=object)
            data[name][:] = values
        else:
            data[name] = np.array(values, dtype=dtype)
    return pd.DataFrame(data, copy=False)


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
    "boats_bought", "people_came_to_camps", "people_left_coast", "people_cleared", "people_waiting_mean",
)

#: Summary keys that come from the model's counters rather than the boat table.
COUNTER_KEYS = ("people_returned", "boats_seized_from_vans", "boats_seized_in_raids", "boats_bought", "people_came_to_camps",
                "people_left_coast", "people_cleared")

# -- labels and units of the outcomes -----------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """How a summary key is shown: its label, its unit, and whether it is a share.

    Attributes:
        label: words for it in tables and figures.
        unit: what it counts, per run (a run is a year in the shipped scenarios).
        share: a rate between 0 and 1 (shown as a percentage).
        part_of: the key it breaks down (e.g. boats crossed are part of boats attempted), if any.
    """

    label: str
    unit: str
    share: bool = False
    part_of: str | None = None

    def format(self, value: float, *alongside: float) -> str:
        """The value as a table shows it: a percentage for a share; for counts, whole numbers unless
        the value (or one shown beside it, e.g. its interval) is below 100 and not whole, then one decimal.

        A value that rounds to zero is shown without a sign; NaN is "n/a".
        """
        if value is None or value != value:  # NaN: no boat of that kind, or too few runs for an interval
            return "n/a"
        if self.share:
            text = f"{value:.1%}"
        else:
            shown = [v for v in (value, *alongside) if v is not None and v == v]
            fraction = any(not float(v).is_integer() for v in shown) and max(abs(v) for v in shown) < 100
            text = f"{value:,.1f}" if fraction else f"{value:,.0f}"
        return text[1:] if text.startswith("-") and not any(c in "123456789" for c in text) else text

    def interval(self, mean: float, low: float, high: float, signed: bool = False) -> str:
        """``mean [low, high]``, the three with the same number of decimals.

        With ``signed``, a mean shown above zero gets a ``+`` (a difference or an effect).
        """
        shown = self.format(mean, low, high)
        plus = "+" if signed and mean > 0 and any(c in "123456789" for c in shown) else ""
        return f"{plus}{shown} [{self.format(low, mean, high)}, {self.format(high, mean, low)}]"


#: Every numeric summary key, how it is labelled, and its unit: the one list the report, the
#: command line's table and sensitivity analysis take their words from.
MEASURES: dict[str, Measure] = {
    "boats_attempted": Measure("boat attempts", "boats"),
    "boats_prevented_on_land": Measure("boats prevented on land", "boats", part_of="boats_attempted"),
    "boats_intercepted_at_sea": Measure("boats intercepted at sea", "boats", part_of="boats_attempted"),
    "boats_failed_at_sea": Measure("boats failed at sea", "boats", part_of="boats_attempted"),
    "boats_crossed": Measure("boats crossed", "boats", part_of="boats_attempted"),
    "taxi_boats_attempted": Measure("taxi-boat attempts", "boats"),
    "taxi_boats_crossed": Measure("taxi boats crossed", "boats", part_of="taxi_boats_attempted"),
    "people_attempted": Measure("people attempting", "people"),
    "people_prevented": Measure("people prevented", "people (attempts)"),
    "people_crossed": Measure("people crossed", "people"),
    "people_rescued": Measure("people rescued", "people"),
    "deaths": Measure("deaths", "people"),
    "launch_success_rate": Measure("launch success rate", "share of boat attempts", share=True),
    "crossing_success_rate": Measure("crossing success rate", "share of boat attempts", share=True),
    "taxi_boat_success_rate": Measure("taxi-boat success rate", "share of taxi-boat attempts", share=True),
    "mean_people_per_boat": Measure("people per boat", "people per boat"),
    "sea_interventions": Measure("sea interventions", "interventions"),
    "lives_at_risk": Measure("lives at risk", "people aboard at interventions"),
    "officer_injuries": Measure("officer injuries", "officers"),
    "deaths_intervention": Measure("deaths in interventions", "people", part_of="deaths"),
    "deaths_crossing": Measure("deaths on the crossing", "people", part_of="deaths"),
    "injuries_intervention": Measure("injuries in interventions", "people"),
    "people_returned": Measure("people returned to France", "people"),
    "boats_seized_from_vans": Measure("boats seized from vans", "boats"),
    "boats_seized_in_raids": Measure("boats seized in raids", "boats"),
    "boats_bought": Measure("boats bought by the networks", "boats"),
    "people_came_to_camps": Measure("people who came to the camps", "people"),
    "people_left_coast": Measure("people who left the coast", "people"),
    "people_cleared": Measure("people moved in clearances", "people"),
    "people_waiting_mean": Measure("people waiting at the coast", "people (mean of the days)"),
}

#: The outcomes the policy report compares, in its order.
REPORT_OUTCOMES = ("launch_success_rate", "crossing_success_rate", "taxi_boat_success_rate", "people_crossed",
                   "people_prevented", "mean_people_per_boat", "boats_attempted", "deaths", "sea_interventions",
                   "lives_at_risk", "officer_injuries", "people_waiting_mean", "people_left_coast")

#: The table ``channel-sim run`` prints, in its order (a key's parts follow it, indented).
RUN_TABLE = ("boats_attempted", "boats_prevented_on_land", "boats_intercepted_at_sea", "boats_failed_at_sea",
             "boats_crossed", "taxi_boats_attempted", "people_attempted", "people_prevented", "people_crossed",
             "people_rescued", "deaths", "launch_success_rate", "crossing_success_rate", "taxi_boat_success_rate",
             "mean_people_per_boat", "sea_interventions", "lives_at_risk", "officer_injuries",
             "people_came_to_camps", "people_left_coast", "people_waiting_mean")

#: The outcomes sensitivity analysis looks at unless told otherwise.
SENSITIVITY_OUTCOMES = ("people_crossed", "people_prevented", "taxi_boat_success_rate", "launch_success_rate",
                        "mean_people_per_boat")


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
    summary["people_waiting_mean"] = float((counters or {}).get("people_waiting_mean", float("nan")))
    return summary
