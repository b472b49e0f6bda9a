"""Scenarios: the typed parameter schema, YAML loading with ``extends``, validation.

A scenario is a YAML file. Every key is optional: an absent key takes the
default given here, the one source of defaults shared by the CLI, the notebooks
and the tests. A scenario may ``extends:`` another file (a path relative to its
own folder) and override any key; mappings merge key by key, lists are
replaced whole.

Every default below cites its source: a seed document (by its number, e.g.
seed 003), a source listed in ``channel-facts.md``, or the word "assumption".

Each parameter section of a scenario is a class named after its key
(``camps``: ``CampsParams``; the switches are ``Policy``, dated changes
``PolicyChange``), so that no section shares a name with a class of the model
(``sim.model.patrols.Gendarmerie`` reads ``GendarmerieParams``); in the model,
``params`` always means the section an agent or a policy reads, and the whole
scenario is ``ChannelModel.inputs``.

Errors in a scenario (an unknown key, a wrong type, an out-of-range value, a
missing file, a circular ``extends``) raise :class:`ScenarioError` whose
message is one line naming the file, the key path and what was expected.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import functools
import hashlib
import json
import re
import typing
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator, model_validator

from sim.errors import ScenarioError

InterceptionMode = Literal["none", "before_pickup", "up_to_300m"]


@functools.cache
def waterway_names() -> tuple[str, ...]:
    """Names of the waterways on the shipped coast (``sim/data/coast.yaml``), which barrages may close."""
    data = yaml.safe_load((resources.files("sim") / "data" / "coast.yaml").read_text(encoding="utf-8"))
    return tuple(w["name"] for w in data["waterways"])


class Section(BaseModel):
    """Base of every scenario section: strict types, unknown keys rejected, every ``X_min`` at most its ``X_max``."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)

    @model_validator(mode="after")
    def _min_at_most_max(self):
        for name in type(self).model_fields:
            partner = name.removesuffix("_min") + "_max"
            if name.endswith("_min") and partner in type(self).model_fields:
                low, high = getattr(self, name), getattr(self, partner)
                if low is not None and high is not None and low > high:
                    raise ValueError(f"{name} ({low}) is above {partner} ({high}); expected {name} <= {partner}")
        return self


#: The dates a scenario may start on or change policy on (the calendar the model's nights are built for).
FIRST_DATE, LAST_DATE = dt.date(1900, 1, 1), dt.date(2200, 12, 31)


def _a_date(value: Any) -> Any:
    """A date given as a date (YAML reads 2025-11-25 as one) or as text YYYY-MM-DD; not a number."""
    if isinstance(value, dt.datetime):
        if value.time() != dt.time(0) or value.tzinfo is not None:
            raise ValueError("expected a date YYYY-MM-DD, not a date and time")
        value = value.date()
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError("expected a date YYYY-MM-DD") from None
    if not isinstance(value, dt.date):
        raise ValueError("expected a date YYYY-MM-DD")
    if not FIRST_DATE <= value <= LAST_DATE:
        raise ValueError(f"expected a date from {FIRST_DATE} to {LAST_DATE}")
    return value


class WeatherParams(Section):
    """Daily sea state (see ``sim.model.weather``)."""

    median_wave_m: float = Field(0.5, gt=0, description="median nearshore wave height; assumption tuned to ~190 favourable days a year (Home Office, channel-facts.md)")
    seasonal_amplitude: float = Field(0.563, ge=0, le=2, description="winter/summer swing of log wave height; fitted with the 2025 daily record (channel-sim calibrate --observed 2025, docs/ODD.md); prior 0.3-0.8, an assumption (the daily record: January and February bring 5 % of 2025's arrivals, 6 % of 2024's)")
    roughest_day_of_year: int = Field(15, ge=1, le=366, description="mid-January; assumption")
    persistence: float = Field(0.898, ge=0, lt=1, description="day-to-day AR(1) coefficient of log wave height: spells of rough and calm days; fitted with the 2025 daily record (channel-sim calibrate --observed 2025, docs/ODD.md); prior 0.6-0.9, an assumption")
    volatility: float = Field(0.55, gt=0, le=3, description="sd of log wave height; assumption tuned to ~120 rough days (Prémar)")
    forecast_error: float = Field(0.308, ge=0, le=2, description="sd of the log error of the forecast of a night's sea state, on which networks commit boats; fitted with the 2025 daily record (channel-sim calibrate --observed 2025, docs/ODD.md); prior 0-0.4, an assumption (0: a perfect forecast)")


class CampsParams(Section):
    """The camps at Loon-Plage (Dunkirk) and Calais and the people arriving there."""

    initial_people: int = Field(1500, ge=0, le=1000000, description="people waiting in the camps on the start date; assumption")
    inflow_per_day: float = Field(140.3, ge=0, le=100000, description="mean people a day coming to the camps of the northern French coast while the route does as its reference (reference_crossing_rate); the flow towards the coast, before the route's response; fitted with the 2025 daily record (channel-sim calibrate --observed 2025, sim/data/open_camps.yaml, docs/ODD.md), so the year's crossings are an outcome of it and of the hazards of leaving, not an input; prior 60-220, an assumption")
    inflow_seasonality: float = Field(0.536, ge=0, lt=1, description="relative summer/winter swing of arrivals; fitted with the 2025 daily record (channel-sim calibrate --observed 2025, docs/ODD.md); prior 0-0.6, an assumption")
    peak_inflow_day_of_year: int = Field(213, ge=1, le=366, description="August; assumption")
    dunkirk_share: float = Field(0.6, ge=0, le=1, description="share of arrivals at Loon-Plage rather than Calais; assumption")
    ready_fraction: float = Field(0.65, gt=0, le=1, description="share of a camp's people who can be brought to the coast in one night, split evenly among the networks drawing on that camp; fitted with the 2025 daily record (channel-sim calibrate --observed 2025, docs/ODD.md); prior 0.3-0.8, an assumption")
    leave_after_failure: float = Field(0.0155, ge=0, le=1, description="chance that a person whose attempt failed (stopped on land, taken back from the water, rescued at sea) leaves the coast rather than wait to try again: gives up, claims asylum in France or moves to another route; fitted with the 2025 daily record (channel-sim calibrate --observed 2025, sim/data/open_camps.yaml, docs/ODD.md), prior 0-0.3, an assumption (aid organisations describe people dispersing and coming back, channel-facts.md)")
    leave_per_week: float = Field(0.0985, ge=0, le=1, description="chance a week that a person waiting at the coast leaves it, however their attempts went; fitted with the 2025 daily record (channel-sim calibrate --observed 2025, sim/data/open_camps.yaml, docs/ODD.md), prior 0-0.1, an assumption")
    response_elasticity: float = Field(0.066, ge=0, le=5, description="elasticity of arrivals at the camps to the route's recent record (people crossed a week per person waiting, less the share returned): 0 = arrivals do not respond; fitted with the 2025 daily record (channel-sim calibrate --observed 2025, sim/data/open_camps.yaml, docs/ODD.md), prior 0-1, an assumption")
    response_memory_days: float = Field(60.0, ge=1, le=3650, description="how far back the route's record weighs in the response of arrivals (mean age of an exponentially weighted average); assumption, range 30-120 days (news and word of mouth travel along the route in weeks)")
    reference_crossing_rate: float = Field(0.3, gt=0, le=7, description="people crossed a week per person waiting at which arrivals are inflow_per_day; assumption, about 2025's (41,472 crossed in the year, channel-facts.md, over about 2,500 waiting: the press counts of the camps, channel-facts.md)")
    max_response: float = Field(3.0, ge=1, le=100, description="arrivals are at most this multiple of inflow_per_day however well the route does; assumption")


class ClearancesParams(Section):
    """Police clearances of the camps (dispersals)."""

    per_month: float = Field(1.0, ge=0, le=31, description="clearances of each camp a month; assumption, range 0-4 (aid organisations describe clearances as frequent, their frequency is not quantified: channel-facts.md)")
    share_moved: float = Field(0.5, ge=0, le=1, description="share of a camp's people moved in one clearance; assumption, range 0.2-0.9 (Loon-Plage, October 2023: about 2,000 evicted, channel-facts.md)")
    leave_share: float = Field(0.1, ge=0, le=1, description="share of the people moved who leave the coast (taken to shelters elsewhere in France and staying); assumption, range 0-0.3 (5 buses to shelters for 2,000 evicted, October 2023, channel-facts.md)")
    return_days: float = Field(10.0, gt=0, le=365, description="mean days before a person moved in a clearance is back at the camp and can be brought to the coast; assumption, range 3-30")


class NetworksParams(Section):
    """Smuggling networks: where they work, their stock of boats, their choices."""

    home_km: list[float] = Field(default_factory=lambda: [12.0, 22.0, 30.0, 45.0, 55.0, 78.0, 95.0, 118.0],
                                 description="centre of each network's stretch of coast, km from the Belgian border; one network per entry; assumption")
    range_km: float = Field(60.0, gt=0, description="farthest a network will move its launches from its centre (seed 003: estuaries up to 60 km from the Strait)")
    distance_scale_km: float = Field(15.0, gt=0, description="a beach this much further from a network's centre is e times less attractive, other things equal; assumption")
    camp_for_km_below: float = Field(35.0, description="networks centred north of this km draw on Loon-Plage, the others on Calais; assumption")
    initial_boats: int = Field(8, ge=0, le=10000, description="boats (with engines) in stock at the start; assumption")
    van_boats: int = Field(8, ge=1, description="boats and engines a van brings from Germany; assumption")
    reorder_below: int = Field(6, ge=0, description="a van is sent for when stock falls below this; assumption")
    van_hours: float = Field(4.0, gt=0, description="van drive from the warehouses in Germany (seed 003: up to about 4 hours)")
    max_boats_per_night: int = Field(6, ge=1, description="boats one network can run in one night; assumption")
    people_per_boat_mean: float = Field(62.0, gt=0, description="2025 average 62 (Home Office), 63 (Prémar), channel-facts.md")
    people_per_boat_sd: float = Field(13.0, ge=0, description="spread of the load; assumption, with 'often up to 100' (seed 003)")
    people_per_boat_max: int = Field(100, ge=1, description="seed 003: 'often up to 100'")
    people_per_boat_min: int = Field(40, ge=1, description="a network does not launch a boat for fewer; assumption (loads of 40-100 are the norm, seeds 001, 003)")
    taxi_load_factor: float = Field(1.1, gt=0, description="taxi boats carry this much more than beach-launched dinghies; assumption")
    taxi_preference: float = Field(0.32, ge=0, le=1, description="chance a network with a waterway in range runs a taxi boat rather than a beach launch, before it has learned the risks of each; assumption tuned to a 45 % taxi share (Prémar 2025)")
    launch_wave_m: float = Field(0.337, gt=0, description="forecast wave height at which half of networks still launch (Times analysis: rarely above 0.5 m); fitted with the 2025 daily record (channel-sim calibrate --observed 2025, docs/ODD.md); prior 0.3-0.5")
    launch_wave_spread_m: float = Field(0.05, gt=0, description="steepness of the launch decision around launch_wave_m; assumption")
    max_launch_wave_m: float = Field(1.0, gt=0, description="no launches above (Times analysis: none for days above 1 m)")
    site_learning_rate: float = Field(0.15, ge=0, le=1, description="weight of the newest outcome in a network's estimate of a site's risk (and of a mode's); assumption")
    hearsay_weight: float = Field(0.3, ge=0, le=1, description="weight of what a network hears of other networks' outcomes, relative to its own; assumption")
    forgetting_per_day: float = Field(0.01, ge=0, le=1, description="daily pull of every risk estimate back towards the prior; assumption")
    site_risk_aversion: float = Field(6.0, ge=0, description="how strongly networks avoid sites they think risky; assumption")
    mode_risk_aversion: float = Field(3.0, ge=0, description="how strongly the learned risk of beach launches against taxi boats shifts the choice of mode; assumption")
    fuller_under_pressure: float = Field(1.0, ge=0, description="relative rise of the load per unit rise of a network's recent stop rate above the prior (seed 003: fewer, fuller boats to evade detection); strength an assumption")
    surge_coordination: float = Field(0.5, ge=0, le=1, description="chance that networks sharing a camp launch together within surge_window_h on a calm night with full camps (seed 003: crossings surge on calm days); assumption")
    surge_window_h: float = Field(2.0, gt=0, description="length of a coordinated launch window; assumption")
    boarding_crowding: float = Field(0.081, ge=0, le=1, description="share of the people ready beyond what the night's boats take at their planned load who push aboard (the remainder of the division into boats on ordinary nights, the whole excess when the night's maximum or the stock of boats is reached; Home Office daily record, 2025: 55 people a boat on days of 1-2 boats, 65 on days of 10 or more); strength fitted with the 2025 daily record (channel-sim calibrate --observed 2025, docs/ODD.md); prior 0-0.5, an assumption")
    decide_together: float = Field(0.792, ge=0, le=1, description="chance that a network takes the night's go or no-go on the coast's common reading of the forecast (every network watches the same forecast) rather than on its own; fitted with the 2025 daily record (channel-sim calibrate --observed 2025, docs/ODD.md); prior 0-1, an assumption (seed 003: crossings surge on calm days; the daily record: boats arrive on 38 % of the days of 2025, in surges)")


class OperationsParams(Section):
    """How a night's operation unfolds on land (minutes and hours)."""

    earliest_start_h: float = Field(1.0, ge=0, le=24, description="hours after dusk before the first group moves; assumption")
    last_launch_before_dawn_h: float = Field(1.0, ge=0, le=24, description="launches happen at least this long before dawn; assumption")
    hide_hours_min: float = Field(1.0, ge=0, le=24, description="shortest wait in hiding near the beach; assumption (seed 002: hiding in dunes, woods, bunkers)")
    hide_hours_max: float = Field(4.0, ge=0, le=24, description="longest wait in hiding; assumption")
    party_size: float = Field(30.0, gt=0, le=1000, description="people travel to the coast and wait in hiding in parties of about this many (seed 002: dunes, woods, bunkers); a launch stopped on land is one prevention event per party, as the French count stops (Home Office weekly table, 2025: 21,906 people prevented in 832 events, 26 an event); chosen so that the 2025 events are matched (with 30, a boat of 61-90 people is three events), so the 2025 events prevented are an input, not a fit; range 10-40")
    assembly_min_min: float = Field(10.0, gt=0, le=600, description="fastest assembly of a dinghy on the sand (seed 003: 'in minutes')")
    assembly_min_max: float = Field(30.0, gt=0, le=600, description="slowest assembly; assumption")
    wade_min_min: float = Field(10.0, gt=0, le=600, description="time from leaving cover to being in the surf for a taxi pickup; assumption")
    wade_min_max: float = Field(25.0, gt=0, le=600, description="assumption")
    taxi_speed_kmh: float = Field(10.0, ge=0.5, le=100, description="taxi boat speed down a waterway and along the shallows; assumption")
    taxi_max_run_km: float = Field(20.0, gt=0, le=150, description="longest run along the shallows from a waterway to a pickup beach; assumption")


class CrossingParams(Section):
    """The crossing from the surf line to UK waters."""

    speed_kmh: float = Field(7.0, gt=0, description="speed of a loaded dinghy; assumption (about 4 knots)")
    endurance_hours: float = Field(3.75, gt=0, description="overloaded dinghies began flooding or failing 3.5-4 h out (MAIB, BBC)")
    failure_per_hour: float = Field(0.018, ge=0, description="hazard of engine failure or flooding per hour at the reference load and calm sea; assumption tuned to ~16 % of launched boats not arriving (Prémar 2025: 49,966 left, Home Office: 41,472 arrived)")
    failure_per_hour_after_endurance: float = Field(0.1, ge=0, description="hazard once past endurance; assumption")
    reference_load: float = Field(62.0, gt=0, description="load at which failure_per_hour holds (2025 average, channel-facts.md)")
    load_exponent: float = Field(1.5, ge=0, le=10, description="failure hazard grows as (people/reference_load)^exponent; assumption")
    wave_factor_per_m: float = Field(1.5, ge=0, le=10, description="failure hazard multiplies by exp(factor * wave height); assumption")
    death_rate_on_failure: float = Field(0.005, ge=0, le=1, description="chance each person aboard a failed boat dies; assumption")
    landing_hours: float = Field(1.5, ge=0, le=24, description="from reaching UK waters to being brought ashore and counted by the Home Office (Border Force picks boats up mid-Channel and lands them at Dover); assumption, range 0.5-3 h")


class GendarmerieParams(Section):
    """Patrol units from the personnel budget."""

    personnel_per_day: int = Field(1200, ge=0, le=100000, description="security personnel deployable daily on the coast (seed 003)")
    night_coast_share: float = Field(0.4, ge=0, le=1, description="share of personnel on coastal patrol at night; assumption")
    officers_per_unit: int = Field(6, ge=1, description="officers in one patrol unit with its buggy; assumption")
    reaction_min: float = Field(5.0, ge=0, description="minutes from a detection to a unit moving; assumption")
    dispatch_share: float = Field(0.9, ge=0, le=1, description="share of detections that reach a patrol unit in time to act on; assumption")
    road_speed_kmh: float = Field(45.0, gt=0, description="speed along the coast roads; assumption")
    engaged_hours: float = Field(1.5, gt=0, description="a unit is busy this long after reaching a group; assumption")
    cover_muffles: float = Field(0.5, ge=0, le=1, description="share of a hiding place's cover that also hides a group from patrols on the ground; assumption")
    audible_detection_per_unit_hour: float = Field(0.010, ge=0, description="chance per hour that one unit in a 10 km stretch hears or sees a hidden group; assumption")
    holdoff_probability: float = Field(0.3, ge=0, le=1, description="chance that people hold a patrol off with missiles until launch (seed 003); assumption")
    injury_probability: float = Field(0.15, ge=0, le=1, description="chance that an officer is injured when missiles are thrown; assumption")
    sector_weights: list[float] = Field(default_factory=lambda: [1.0, 1.5, 2.0, 2.0, 1.5, 1.5, 1.5, 1.0, 0.6, 0.4],
                                        min_length=1,
                                        description="relative deployment over equal sectors from north to south, one weight per sector; assumption (the main strip Equihen-Gravelines is 60 km, 2020 report)")

    @field_validator("sector_weights")
    @classmethod
    def _some_weight(cls, value: list[float]) -> list[float]:
        if any(w < 0 for w in value) or sum(value) <= 0:
            raise ValueError("expected weights >= 0 with a positive sum")
        return value


class SurveillanceParams(Section):
    """Thermal drones and aircraft; their detections go to the patrols."""

    drones: int = Field(12, ge=0, le=1000, description="thermal drones on duty on a night, each flying drone_endurance_h out of every drone_endurance_h + drone_turnaround_h; assumption (76 airborne cameras allowed at once, 2023 French order)")
    drone_endurance_h: float = Field(1.5, gt=0, description="flight time per battery; assumption")
    drone_turnaround_h: float = Field(0.5, ge=0, description="time to land and change battery; assumption")
    drone_sweep_km_per_h: float = Field(0.9, ge=0, description="km of coast one flying drone searches per hour; a group in the open is then seen with rate multiplied by open_exposure, a hidden one with the share of cover a thermal camera defeats; assumption")
    drone_cover_penetration: float = Field(0.8, ge=0, le=1, description="thermal cameras see through tree cover (seed 002): share of cover they defeat; assumption")
    aircraft: int = Field(1, ge=0, le=50, description="aircraft with thermal cameras flying on a night (seed 003: 'in the air most days'); assumption")
    aircraft_hours: float = Field(4.0, ge=0, description="hours each aircraft flies a night; assumption")
    aircraft_sweep_km_per_h: float = Field(20.0, ge=0, description="km of coast an aircraft searches per hour; assumption")
    kit_exposure: float = Field(2.5, ge=1, description="a group hiding with a dinghy and engine for a beach launch is this much easier to find than people alone; assumption (seed 003: the aim is to stop migrants, dinghies and engines coming together)")
    open_exposure: float = Field(6.0, ge=1, description="how much easier a group assembling a boat or wading on the open beach is to see than a hidden one; assumption")
    drone_sector_weights: list[float] | None = Field(None, min_length=1,
                                                     description="relative deployment of the drones over the sectors of gendarmerie.sector_weights, one weight per sector; none: the drones follow the patrols' split, as in 2025 (assumption); a deployment of its own, e.g. one written by channel-sim optimise")

    @field_validator("drone_sector_weights")
    @classmethod
    def _some_drone_weight(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and (any(w < 0 for w in value) or sum(value) <= 0):
            raise ValueError("expected weights >= 0 with a positive sum (or none: the drones follow the patrols)")
        return value


class MaritimeParams(Section):
    """Patrol boats and lifeboats, used only when the policy allows interception at sea."""

    patrol_boats: int = Field(6, ge=0, le=200, description="plans spoke of six patrol boats (channel-facts.md, with the UK's 300 m demand of seed 004)")
    lifeboats: int = Field(3, ge=0, le=200, description="a lifeboat accompanies every intervention, limiting their number (seed 004); count is an assumption")
    speed_kmh: float = Field(30.0, gt=0, description="patrol boat speed; assumption")
    intervention_hours: float = Field(2.5, gt=0, description="a patrol boat and its lifeboat are busy this long per intervention; assumption")
    window_300m_min: float = Field(15.0, ge=0, description="minutes a loaded boat takes to get 300 m out through the surf; assumption")
    stop_order_success: float = Field(0.3, ge=0, le=1, description="chance an order to stop is obeyed (graduated measures, seed 004); assumption")
    immobilisation_success: float = Field(0.6, ge=0, le=1, description="chance nets on the propeller stop the boat (seed 004); assumption")
    rerouting_success: float = Field(0.3, ge=0, le=1, description="chance a boat is rerouted to shore (seed 004); assumption")
    risk_order_to_stop: float = Field(0.0003, ge=0, le=1, description="chance each person aboard dies when an order to stop is given, at the reference load, in calm water at the surf line (seed 001: 'drownings can easily happen'); assumption")
    risk_immobilisation: float = Field(0.003, ge=0, le=1, description="same when nets are put on the propeller (seed 004); assumption")
    risk_rerouting: float = Field(0.0015, ge=0, le=1, description="same when a boat is forced to change course (seeds 001, 004); assumption")
    risk_reference_load: float = Field(62.0, gt=0, description="load at which the risks above hold (2025 average, channel-facts.md)")
    risk_load_exponent: float = Field(1.5, ge=0, le=10, description="risk grows as (people aboard/reference)^exponent: 'if there are 80 people on an overcrowded boat ... extremely dangerous' (seed 001); exponent an assumption")
    risk_wave_factor_per_m: float = Field(2.0, ge=0, le=10, description="risk multiplies by exp(factor * wave height); assumption")
    risk_per_100m_out: float = Field(0.3, ge=0, le=100, description="relative rise of the risk per 100 m from the surf line; assumption")
    injury_rate: float = Field(0.01, ge=0, le=1, description="chance each unhurt person aboard is injured at each measure tried, at the reference load and calm sea; assumption")


class SupplyParams(Section):
    """Warehouses in Germany and the vans that bring boats and engines (seed 003)."""

    warehouse_boats: int = Field(30, ge=0, le=100000, description="boats and engines in each network's warehouse at the start; assumption")
    warehouse_capacity: int = Field(40, ge=0, le=100000, description="most a warehouse holds; assumption")
    initial_use_per_day: float = Field(0.4, ge=0, le=1000, description="a network's estimate, on the start date, of the boats it loses a day (launched, seized or abandoned), on which its orders are based; assumption (about 1,100 boats used a year by 8 networks, 2025)")
    use_memory_days: float = Field(30.0, ge=1, le=3650, description="how far back a network's estimate of its losses looks (mean age of an exponentially weighted average); assumption, range 10-90 days")
    lead_time_days: float = Field(14.0, ge=0, le=365, description="days from a network's order of boats and engines to their arrival in its warehouse (via Bulgaria and Turkey, seed 003); assumption, range 7-30")
    order_cover_days: float = Field(30.0, ge=0, le=3650, description="a network orders to keep its warehouse and the boats on order at its estimated losses over the lead time and this many days more; assumption, range 10-60")
    supplier_capacity_per_day: float = Field(1.5, ge=0, le=10000, description="most boats and engines a day the suppliers deliver to one network, however much it orders; assumption, range 0.7-3 (about four times the average network's use)")
    van_intel_probability: float = Field(0.3, ge=0, le=1, description="chance the UK National Crime Agency learns of a van (seed 003); assumption")
    intel_lead_hours_mean: float = Field(2.5, gt=0, description="mean warning the gendarmes get before a van arrives (exponential, at most the drive itself); assumption")
    seizure_hours_needed: float = Field(1.5, ge=0, description="warning needed to stop a van and seize its cargo (seed 003); assumption")
    raid_probability_per_week: float = Field(0.1, ge=0, le=1, description="chance a network's warehouse is raided in a week once facilitation is a crime in Germany (seed 003); assumption")
    raid_seizure_share: float = Field(0.9, ge=0, le=1, description="share of a raided warehouse's stock seized; assumption")


class StationIntelParams(Section):
    """Intelligence from train stations on groups moving to the coast (seed 003)."""

    share_by_train: float = Field(0.5, ge=0, le=1, description="share of groups that travel to the coast by train; assumption")
    flag_probability: float = Field(0.5, ge=0, le=1, description="chance a group on a train is noticed; assumption")
    site_accuracy: float = Field(0.6, ge=0, le=1, description="chance the warning names the right beach; assumption")
    warning_hours: float = Field(1.5, ge=0, description="how long before the group reaches its hiding place the warning comes; assumption")


class LiaisonParams(Section):
    """UK liaison officers in French command centres (seed 002)."""

    reaction_factor: float = Field(0.6, gt=0, le=1, description="dispatch reaction time is multiplied by this (information shared at once, seed 002); assumption")
    approach_factor: float = Field(0.85, gt=0, le=1, description="travel time of a dispatched unit is multiplied by this (better-directed resources, seed 002); assumption")
    dispatch_share: float = Field(1.0, ge=0, le=1, description="share of detections acted on with liaison officers in the command centres, replacing gendarmerie.dispatch_share (seed 002); assumption")


class ReturnsParams(Section):
    """Returns to France under "one in, one out" (seed 004)."""

    per_day: float = Field(1.7, ge=0, le=10000, description="people returned a day: 153 returned from September to late November 2025, about 90 days (seed 004)")
    retry_probability: float = Field(0.5, ge=0, le=1, description="chance a returned person goes back to the camps to try again (seed 004: one man returned on a small boat within weeks); assumption")


class Policy(Section):
    """The policy toggles (each can change on a date: see ``schedule``)."""

    shallow_water_interception: InterceptionMode = Field("none", description="none: the 2025 posture (seed 004); before_pickup: the French doctrine (seed 004); up_to_300m: the UK demand (seed 004)")
    barrages: list[str] = Field(default_factory=list, description="waterways closed to taxi boats by barrages or floating dams (seed 003; facts: Canche and Authie 2023)")

    van_intelligence: bool = Field(False, description="intelligence on vans from Germany leads to seizures (seed 003); parameters in supply")
    warehouse_raids: bool = Field(False, description="warehouses in Germany are raided once facilitation is a crime there (seed 003); parameters in supply")
    train_station_intel: bool = Field(False, description="groups moving to the coast are reported from train stations and patrols pre-positioned (seed 003)")
    uk_liaison: bool = Field(False, description="UK officers in French command centres: faster, better-directed dispatch (seed 002)")
    returns: bool = Field(False, description="returns to France under one in, one out (seed 004); parameters in returns")
    union_refusal: bool = Field(False, description="the doctrine exists but no officer intervenes at sea (seed 001)")

    @field_validator("barrages")
    @classmethod
    def _known_waterways(cls, value: list[str] | None) -> list[str] | None:
        known = waterway_names()
        for name in value or ():
            if name not in known:
                hint = difflib.get_close_matches(name, known, n=1)
                raise ValueError(f"unknown waterway {name!r}, expected one of {', '.join(known)}"
                                 + (f" (did you mean {hint[0]!r}?)" if hint else ""))
        return value


def _patch_of(section: type[Section]) -> type[Section]:
    """The section's keys, each optional with no default: what a dated change may set.

    Derived from the section itself, so each switch is declared once (in
    ``Policy``): the patch keeps each key's description and limits, and the
    section's validators still check the values given.
    """
    fields = {}
    for name, field in section.model_fields.items():
        optional = copy.copy(field)  # its description and limits (ge, le...) kept
        optional.default, optional.default_factory = None, None
        optional.annotation = typing.Optional[field.annotation]
        fields[name] = (optional.annotation, optional)
    return create_model(f"{section.__name__}Patch", __base__=section, __doc__=(
        f"{section.__name__} keys to change on a date; keys not given keep their value."), **fields)


PolicyPatch = _patch_of(Policy)


class PolicyChange(Section):
    """A change of policy that takes effect at noon on ``date``."""

    date: dt.date = Field(strict=False, description="first day (YYYY-MM-DD) under the new policy")

    _date_is_a_date = field_validator("date", mode="before")(_a_date)
    policy: PolicyPatch


class Scenario(Section):
    """A whole scenario."""

    name: str = Field("unnamed", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100,
                      description="letters, digits, '_', '.', '-' (it names result folders)")
    description: str = ""
    start_date: dt.date = Field(dt.date(2025, 1, 1), strict=False, description="first simulated day (YYYY-MM-DD)")

    _start_is_a_date = field_validator("start_date", mode="before")(_a_date)
    days: int = Field(365, ge=1, le=36500)
    weather: WeatherParams = WeatherParams()
    camps: CampsParams = CampsParams()
    clearances: ClearancesParams = ClearancesParams()
    networks: NetworksParams = NetworksParams()
    operations: OperationsParams = OperationsParams()
    crossing: CrossingParams = CrossingParams()
    gendarmerie: GendarmerieParams = GendarmerieParams()
    surveillance: SurveillanceParams = SurveillanceParams()
    maritime: MaritimeParams = MaritimeParams()
    supply: SupplyParams = SupplyParams()
    station_intel: StationIntelParams = StationIntelParams()
    liaison: LiaisonParams = LiaisonParams()
    returns: ReturnsParams = ReturnsParams()
    policy: Policy = Policy()
    schedule: list[PolicyChange] = Field(default_factory=list, description="dated policy changes, e.g. the doctrine from 25 November 2025 (seed 004)")

    @model_validator(mode="after")
    def _a_drone_weight_per_sector(self):
        drones, sectors = self.surveillance.drone_sector_weights, self.gendarmerie.sector_weights
        if drones is not None and len(drones) != len(sectors):
            raise ValueError(f"surveillance.drone_sector_weights: {len(drones)} weights for the {len(sectors)} sectors "
                             "of gendarmerie.sector_weights; expected one weight per sector")
        return self

    def to_dict(self) -> dict[str, Any]:
        """The resolved scenario as plain YAML-friendly data.

        ``surveillance.drone_sector_weights`` is left out when it is none (the drones follow the
        patrols), so that a scenario that does not set it has the content, and the hash, it had
        before the key existed: batch folders written then still resume.
        """
        data = self.model_dump(mode="json")
        if data["surveillance"]["drone_sector_weights"] is None:
            del data["surveillance"]["drone_sector_weights"]
        return data

    def content_hash(self) -> str:
        """A short hash of the resolved content (for naming and provenance)."""
        blob = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def with_overrides(self, **sections: Any) -> Scenario:
        """A copy with some keys changed, validated (e.g. ``days=30``)."""
        return from_dict(deep_merge(self.model_dump(), sections), "<overrides>")


def deep_merge(base: dict, override: dict) -> dict:
    """Merge ``override`` into a copy of ``base``: mappings key by key, the rest replaced."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def set_keys(data: dict, point: dict) -> dict:
    """A copy of scenario data with dotted keys set, e.g. ``{"surveillance.drones": 24}``."""
    for key, value in point.items():
        for part in reversed(key.split(".")):
            value = {part: value}
        data = deep_merge(data, value)
    return data


def get_key(data: dict, key: str):
    """The value at a dotted key of scenario data.

    Raises:
        KeyError: there is no such key.
    """
    node = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(key)
        node = node[part]
    return node


#: The largest YAML file read (scenarios, targets and parameter files are a few KB).
MAX_YAML_BYTES = 1_000_000
#: The most values a YAML file may hold once its aliases are expanded.
MAX_YAML_VALUES = 100_000
#: Numbers in exponent form without a dot (YAML 1.2's floats, e.g. 1e-2), which YAML 1.1 reads as text.
_EXPONENT_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses duplicate keys and reads ``1e-2`` as a number."""


def _mapping_without_duplicates(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    first: dict = {}
    for key_node, _ in node.value:  # the keys written here: those merged in with << may be overridden
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=deep)
        if key in first:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {excerpt(key)} (first given on line {first[key] + 1})", key_node.start_mark)
        first[key] = key_node.start_mark.line
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


def _date_or_text(loader: _Loader, node: yaml.ScalarNode):
    """A YAML date, or its text when it is no date (2025-02-30): the schema then names the key."""
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:map", _mapping_without_duplicates)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _date_or_text)
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+0123456789"))


class _TooLarge(Exception):
    pass


def _values(node: yaml.Node, memo: dict) -> int:
    """How many values ``node`` holds with every alias expanded (each node counted once per use)."""
    found = memo.get(id(node))
    if found is not None:
        return found
    if isinstance(node, yaml.SequenceNode):
        count = 1 + sum(_values(child, memo) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        count = 1 + sum(_values(k, memo) + _values(v, memo) for k, v in node.value)
    else:
        count = 1
    if count > MAX_YAML_VALUES:
        raise _TooLarge
    memo[id(node)] = count
    return count


def parse_value(text: str):
    """One value written as in a scenario file (``1e-2`` a number, ``true`` a boolean, ``[a, b]`` a list).

    Raises:
        yaml.YAMLError, ValueError: not a value.
    """
    loader = _Loader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def excerpt(value: Any, limit: int = 60) -> str:
    """A value as an error message shows it: its repr, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 5] + " ...)" if text[:1] in "([{" else text[: limit - 4] + " ..."


def read_yaml_file(path: Path, expected: str):
    """The data of a YAML file, or one clear line: too large, aliases that expand too far, nested too
    deeply, duplicate keys, not YAML, or not readable.

    Raises:
        ScenarioError: naming the file (and the line, where YAML gives one) and what was expected.
    """
    try:
        size = path.stat().st_size
        if size > MAX_YAML_BYTES:
            raise ScenarioError(f"{path}: {size:,} bytes; expected {expected} of at most {MAX_YAML_BYTES:,} bytes")
        text = path.read_text(encoding="utf-8")
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            _values(node, {})
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except _TooLarge:
        raise ScenarioError(f"{path}: its aliases expand to more than {MAX_YAML_VALUES:,} values; expected "
                            f"{expected} without alias bombs") from None
    except RecursionError:
        raise ScenarioError(f"{path}: nested too deeply; expected {expected}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError(f"{path}{where}: not valid YAML ({problem})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot be read ({exc}); expected {expected}") from None
    except ValueError as exc:  # YAML that looks like a date but is not one, e.g. 2025-02-30
        raise ScenarioError(f"{path}: {exc}; expected dates as YYYY-MM-DD") from None


def _read_yaml(path: Path, chain: tuple[Path, ...]) -> dict:
    """Read one file and the files it extends; ``chain`` holds the files that extend it."""
    try:
        real = path.resolve()
    except (RuntimeError, OSError):  # a loop of symbolic links (RuntimeError before Python 3.13)
        where = f"{chain[-1]}: extends: " if chain else ""
        raise ScenarioError(f"{where}{path}: a loop of symbolic links; expected a scenario YAML file") from None
    if real in (p.resolve() for p in chain):
        names = " -> ".join(p.name for p in (*chain, path))
        raise ScenarioError(f"{chain[-1]}: extends: circular extends ({names}); expected a chain that ends")
    if not path.is_file():
        where = f"{chain[-1]}: extends: " if chain else ""
        problem = ("is a folder" if path.is_dir() else "is not a regular file" if path.exists()
                   else "file not found")
        raise ScenarioError(f"{where}{path}: {problem}; expected a scenario YAML file")
    data = read_yaml_file(path, "a scenario YAML file")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: expected a mapping of scenario keys at the top level, got {type(data).__name__}")
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ScenarioError(f"{path}: extends: expected a file name, got {excerpt(parent)}")
    base = _read_yaml(path.parent / parent, (*chain, path))
    base.pop("name", None)  # a scenario is named by its own file, not its parent's
    return deep_merge(base, data)


def load_scenario(path: str | Path) -> Scenario:
    """Load, resolve (``extends``) and validate a scenario file.

    Args:
        path: the scenario YAML file.

    Returns:
        The validated scenario.

    Raises:
        ScenarioError: with a one-line message naming file, key and expectation.
    """
    path = Path(path)
    data = _read_yaml(path, ())
    data.setdefault("name", path.stem)
    return from_dict(data, str(path))


def from_dict(data: dict, source: str = "<dict>") -> Scenario:
    """Validate a scenario given as a mapping (as read from YAML)."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"{source}: {_describe(exc)}") from None


def _describe(exc: ValidationError) -> str:
    errors = exc.errors()
    first = errors[0]
    loc = [p for p in first["loc"]]
    key = ".".join(str(p) for p in loc) or "(top level)"
    named = re.match(r"^Value error, ([a-z_]+\.[a-z_]+): (.*)$", first["msg"])
    if not loc and named:  # a check across sections names its key itself
        key, first = named.group(1), {**first, "msg": named.group(2)}
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    if first["type"] == "extra_forbidden":
        valid = _valid_keys(loc[:-1])
        hint = difflib.get_close_matches(str(loc[-1]), valid, n=1, cutoff=0.5)
        suggestion = f"did you mean {hint[0]!r}?" if hint else f"expected one of {', '.join(valid)}"
        return f"{key}: unknown key ({suggestion}){more}"
    msg = first["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    got = first.get("input")
    shown = "" if isinstance(got, dict) else f", got {excerpt(got)}"
    return f"{key}: {msg[0].lower() + msg[1:]}{shown}{more}"


def _model_of(annotation: Any):
    """The pydantic model inside an annotation (``X``, ``list[X]``, ``X | None``), or None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _valid_keys(loc: list) -> list[str]:
    model: Any = Scenario
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        model = _model_of(field.annotation) if field is not None else None
        if model is None:
            return []
    keys = list(model.model_fields)
    return keys + (["extends"] if model is Scenario else [])
