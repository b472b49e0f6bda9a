"""The model: one step is one day; each night is simulated event by event.

``ChannelModel`` ties the coast, the weather, the camps, the networks, the
boats, the patrols, the surveillance and the maritime units together. It knows
nothing of files: it takes a validated :class:`~sim.scenario.Scenario` and a
seed, and hands back its results as pandas tables and a summary dict.

Each day at noon (model time *d* for day *d - 1*) people arrive at the camps
(as many as the route's record draws), some leave them, the police may clear
one, networks order boats and send for vans, and, when the sea allows, commit
boats for the night.
Everything else happens in events inside the night. A day with no launch costs
one step and nothing more.
"""

from __future__ import annotations

import datetime as dt
from operator import itemgetter

import numpy as np
import pandas as pd
from mesa import Model
from mesa.time import Event, Priority

from sim.model.draws import uniform
from sim.model.mesa_compat import install_event_list, schedule_held
from sim.model.geography import Sectors, build_grid, hand_back_grid, load_coast
from sim.model.maritime import MaritimeCommand
from sim.model.migrants import Camp, RouteResponse, seasonal_inflow
from sim.model.networks import Beliefs, SmugglingNetwork, stopped_value
from sim.outcomes import BoatRecord, DayRecord, Outcome, frame, summarise
from sim.model.patrols import Gendarmerie
from sim.model.policies import Policies
from sim.scenario import Scenario
from sim.model.surveillance import Surveillance
from sim.model.tracks import NoTracks, Tracks, record_deployment
from sim.model.weather import day_of_year, forecasts, night_hours, sea_states

class ChannelModel(Model):
    """Small-boat operations on the French coast for a number of days.

    Args:
        scenario: the validated scenario.
        seed: the run's seed (all randomness comes from it: ``self.rng``, and the streams of the camps and of returns).
        tracks: record where the agents go (``tracks_frame``, for a replay); False keeps none, which
            changes nothing else.

    Attributes:
        inputs: the scenario the run is given (Mesa's ``Model.scenario`` is Mesa's own); each
            agent's and policy's ``params`` is its own section of it.
        coast: the strip map.
        grid: the Mesa grid with the coast's property layers.
        waves: wave height of every simulated day (m).
    """

    def __init__(self, scenario: Scenario, seed: int = 0, tracks: bool = True):
        super().__init__(rng=seed)
        self.seed = seed
        install_event_list(self)  # the same order, compared in C
        self.inputs = scenario  # not self.scenario: Mesa's Model keeps its own Scenario there
        self.policy = scenario.policy  # the policy in force (dated changes replace it: see _apply_schedule)
        self.policies = Policies(self)
        self._schedule = sorted(scenario.schedule, key=lambda change: change.date)
        self.policy_changes: list[tuple[str, dict]] = []
        self.coast = load_coast()
        self.grid = build_grid(self.coast, self.random)
        days = scenario.days
        self.dates = [scenario.start_date + dt.timedelta(days=i) for i in range(days)]
        doy = day_of_year(scenario.start_date, days)
        self.night_hours = night_hours(doy)
        self.waves = sea_states(scenario.weather, doy, self.rng)
        self.forecast = forecasts(self.waves, scenario.weather.forecast_error, self.rng)
        camp_params = scenario.camps
        self.inflow = seasonal_inflow(camp_params.inflow_per_day, camp_params.inflow_seasonality,
                                      camp_params.peak_inflow_day_of_year, doy)
        self.day_index = -1
        self.wave_today = float("nan")
        weights = scenario.gendarmerie.sector_weights
        self.sectors = Sectors(len(weights), self.coast.length_km, tuple(weights))

        loon, calais = self.coast.camps
        streams = {name: np.random.default_rng([int(seed), offset]) for name, offset in Camp.STREAMS.items()}
        self.camps = [
            Camp(self, self.grid[(loon.col, loon.row)], loon.name, camp_params.dunkirk_share, streams),
            Camp(self, self.grid[(calais.col, calais.row)], calais.name, 1.0 - camp_params.dunkirk_share, streams),
        ]
        for camp in self.camps:
            camp.people = int(round(camp_params.initial_people * camp.share))
        self.response = RouteResponse(camp_params)
        self.gendarmerie = Gendarmerie(self, self.coast, self.sectors)
        self.surveillance = Surveillance(self, self.coast, self.sectors, self.gendarmerie.units_per_sector)
        self.maritime = MaritimeCommand(self, self.coast, self.sectors)
        network_params = scenario.networks
        self.beliefs = Beliefs(len(network_params.home_km), len(self.coast.sites))
        self.networks = [
            SmugglingNetwork(self, km, self.camps[0] if km < network_params.camp_for_km_below else self.camps[1],
                             self.coast, self.beliefs, row)
            for row, km in enumerate(network_params.home_km)
        ]
        self._sharing = {id(camp): sum(1 for net in self.networks if net.camp is camp) for camp in self.camps}
        self._records: list[BoatRecord] = []
        self._boats_cache: tuple[int, pd.DataFrame] | None = None
        self._crossed_total = 0
        self._committed_today = 0
        self._waiting_at_noon = sum(camp.people for camp in self.camps)
        self._crossed_seen = 0
        self._camp_counts = (0, 0, 0)  # arrived, left, cleared: the camps' totals at the last noon
        self._day_counts = (0, 0, 0)   # the same, over the last day
        self._days: list[DayRecord] = []  # the state of each day; its counts come from the boats
        self.tracks = (Tracks if tracks else NoTracks)(self.coast, scenario.crossing.speed_kmh,
                                                       tuple(camp.cell.coordinate for camp in self.camps))
        record_deployment(self)
        self.tracks.noon(self.time, [camp.people for camp in self.camps])

    # -- one day ----------------------------------------------------------------------
    def step(self) -> None:
        """One day: arrivals, supply, and the night's commitments."""
        d = int(round(self.time)) - 1
        self.day_index = d
        self.wave_today = float(self.waves[d])
        now = self.time
        self._apply_schedule(self.dates[d])
        returns = self.policies.returns
        returns.daily(self._crossed_total)
        self.response.update(self._crossed_total - self._crossed_seen, self._waiting_at_noon, returns.returned_today)
        self._crossed_seen = self._crossed_total
        inflow = self.inflow[d] * self.response.factor()
        for camp in self.camps:
            camp.receive(inflow)
            camp.daily(self.inputs)
        self._waiting_at_noon = sum(camp.people for camp in self.camps)
        self.tracks.noon(now, [camp.people for camp in self.camps])
        totals = tuple(sum(getattr(camp, k) for camp in self.camps) for k in ("arrived", "left", "cleared"))
        self._day_counts = tuple(now_ - before for now_, before in zip(totals, self._camp_counts))
        self._camp_counts = totals
        self.gendarmerie.release_all(now)
        self.beliefs.forget(self.inputs.networks.forgetting_per_day)
        for net in self.networks:
            net.daily()
        hours = float(self.night_hours[d])
        dusk = now + (12.0 - hours / 2.0) / 24.0
        dawn = now + (12.0 + hours / 2.0) / 24.0
        self._committed_today = 0
        network_params = self.inputs.networks
        forecast = float(self.forecast[d])
        if self.wave_today <= network_params.max_launch_wave_m and forecast <= network_params.max_launch_wave_m:
            self.surveillance.start_night(hours)
            ready_fraction = self.inputs.camps.ready_fraction
            ready = {id(camp): camp.people * ready_fraction for camp in self.camps}
            sharing = self._sharing
            windows = {id(camp): self._surge_window(camp, ready[id(camp)] / max(1, sharing[id(camp)]), dusk, dawn)
                       for camp in self.camps}
            rng = self.rng
            chance = self.networks[0].launch_probability(forecast) if self.networks else 0.0
            coast_goes = rng.random() < chance  # the coast's reading of the forecast
            together = network_params.decide_together
            for i in rng.permutation(len(self.networks)):
                net = self.networks[i]
                share = ready[id(net.camp)] / max(1, sharing[id(net.camp)])
                goes = coast_goes if rng.random() < together else rng.random() < chance
                self._committed_today += net.plan_night(share, goes, dusk, dawn, windows[id(net.camp)])
        self._record_day(hours)

    def _record_day(self, night_hours: float) -> None:
        """The day's row of the daily table (its state; ``daily_frame`` counts its boats).

        Kept as a plain list of records: Mesa's ``DataCollector`` deep-copies every
        value it collects, which cost more than the rest of a quiet day.
        """
        d = self.day_index
        self._days.append(DayRecord(
            day=d, date=self.dates[d], wave_m=self.wave_today, night_hours=night_hours,
            camp_people=self._waiting_at_noon, boats_in_stock=sum(net.boats for net in self.networks),
            boats_committed=self._committed_today, people_returned=self.policies.returns.returned_today,
            people_came_to_camps=self._day_counts[0], people_left_coast=self._day_counts[1],
            people_cleared=self._day_counts[2],
            interception=self.policies.shallow_water_interception.label(),
        ))

    # -- policies and people over time ---------------------------------------------------
    def _apply_schedule(self, today: dt.date) -> None:
        """Dated policy changes take effect at noon on their date."""
        while self._schedule and self._schedule[0].date <= today:
            change = self._schedule.pop(0)
            patch = {k: v for k, v in change.policy.model_dump().items() if v is not None}
            barrages_before = self.policy.barrages
            self.policy = self.policy.model_copy(update=patch)
            self.policy_changes.append((today.isoformat(), patch))
            self.policies.barrages.changed(barrages_before)

    def _surge_window(self, camp, share: float, dusk: float, dawn: float):
        """On a calm night with full camps, the networks of a camp may launch together (seed 003)."""
        network_params = self.inputs.networks
        calm = self.forecast[self.day_index] <= network_params.launch_wave_m - network_params.launch_wave_spread_m
        if (not calm or share < 2 * network_params.people_per_boat_mean
                or self.rng.random() >= network_params.surge_coordination):
            return None
        ops = self.inputs.operations
        first = dusk + (ops.earliest_start_h + ops.hide_hours_min) / 24.0
        last = dawn - (ops.last_launch_before_dawn_h + network_params.surge_window_h) / 24.0
        if last <= first:
            return None
        start = uniform(self.rng, first, last)
        return (start, start + network_params.surge_window_h / 24.0)

    def hear(self, boat, outcome: Outcome) -> None:
        """Other networks hear of an outcome and learn from it, more weakly than from their own."""
        if outcome is Outcome.CROSSED:
            self._crossed_total += boat.group.people - boat.intervention_deaths
        weight = self.inputs.networks.hearsay_weight
        if weight <= 0:
            return
        self.beliefs.hear(boat.network.row, boat.site.index, boat.kind, stopped_value(outcome),
                          self.inputs.networks.site_learning_rate * weight)

    def redeploy(self, sector_weights: list[float], drone_sector_weights: list[float] | None = None) -> None:
        """Move patrol units and drones to a new split over the sectors (e.g. to police one stretch harder).

        The drones go to ``drone_sector_weights`` (one weight per sector), or follow the patrols when None.

        Raises:
            ValueError: no weights, a negative weight, weights that sum to zero, or drone weights for other sectors.
        """
        for weights in (sector_weights, drone_sector_weights):
            if weights is not None and (not weights or min(weights) < 0 or sum(weights) <= 0):
                raise ValueError(f"sector weights must be >= 0 with a positive sum, got {weights}")
        if drone_sector_weights is not None and len(drone_sector_weights) != len(sector_weights):
            raise ValueError(f"{len(drone_sector_weights)} drone weights for {len(sector_weights)} sectors")
        self.sectors = Sectors(len(sector_weights), self.coast.length_km, tuple(sector_weights))
        self.gendarmerie.post(self.sectors)
        self.surveillance.deploy(self.sectors, self.gendarmerie.units_per_sector,
                                 None if drone_sector_weights is None else tuple(drone_sector_weights))
        record_deployment(self)

    def schedule_event(self, function, *, at: float | None = None, after: float | None = None,
                       priority: Priority = Priority.DEFAULT) -> Event:
        """Mesa's ``Model.schedule_event``, with an event that holds its callback (``mesa_compat.schedule_held``).

        Scheduling and firing events was a tenth of a run's time, most of it in
        making and calling Mesa's weak references to the callbacks.
        """
        return schedule_held(self, function, at=at, after=after, priority=priority)

    def run(self) -> ChannelModel:
        """Run every day of the scenario, including the last night."""
        self.run_for(self.inputs.days)
        self.run_until(self.time + 0.999)
        return self

    def close(self) -> None:
        """Remove the agents and hand the grid to the next model built in this process.

        For processes that run one model after another (a batch's workers):
        building the grid is a sizeable part of a short run. The results
        (``boats_frame``, ``daily_frame``, ``summary``) stay readable; the
        model cannot be run further and its ``grid`` is None.
        """
        if self.grid is None:
            return
        self.remove_all_agents()
        hand_back_grid(self.coast, self.grid)
        self.grid = None

    # -- results --------------------------------------------------------------------------
    def record_boat(self, boat, outcome: Outcome, people: int, deaths: int, rescued: int, crossing_deaths: int) -> None:
        """Record a finished boat attempt (called by the boat), and its night's moves in the tracks."""
        self.tracks.boat_night(boat, outcome, self.time)
        hour = ((boat.plan.launch - int(boat.plan.launch)) * 24.0 + 12.0) % 24.0
        self._records.append(BoatRecord(
            boat_id=boat.unique_id, day=boat.day, date=self.dates[boat.day], network=boat.network.unique_id,
            kind=boat.kind.value, launch_site=boat.site.name, launch_km=boat.site.km,
            waterway=boat.waterway.name if boat.waterway else "", people=people, outcome=outcome.value,
            deaths=deaths, rescued=rescued, detected=boat.detected, sea_intervention=boat.sea_intervention,
            intervention_measure=boat.measure, lives_at_risk=boat.lives_at_risk, officer_injuries=boat.injuries,
            wave_m=boat.wave, launch_hour=round(hour, 3), deaths_intervention=boat.intervention_deaths,
            deaths_crossing=crossing_deaths, injuries_intervention=boat.intervention_injuries,
            landed_day=boat.landed_day, prevention_events=self._prevention_events(outcome, people),
        ))

    def _prevention_events(self, outcome: Outcome, people: int) -> int:
        """Prevention events of an attempt, as the French count them (``operations.party_size``)."""
        if outcome is Outcome.PREVENTED_ON_LAND:
            return max(1, -(-people // max(1, round(self.inputs.operations.party_size))))  # its parties
        return int(outcome is Outcome.INTERCEPTED_AT_SEA)

    def tracks_frame(self) -> pd.DataFrame:
        """Where the run's agents went, as waypoints (``sim.outcomes.MoveRecord``; see ``sim.model.tracks``)."""
        return self.tracks.frame()

    def boats_frame(self) -> pd.DataFrame:
        """One row per boat attempt (``sim.outcomes.BoatRecord``), by boat id."""
        return self._boats().copy()

    def _boats(self) -> pd.DataFrame:
        """The boats table, built once for the records so far (the daily table and the summary share it)."""
        if self._boats_cache is not None and self._boats_cache[0] == len(self._records):
            return self._boats_cache[1]
        records = sorted(self._records, key=itemgetter(0))  # by boat id (records come by end time)
        df = frame(BoatRecord, records)
        self._boats_cache = (len(self._records), df)
        return df

    def daily_frame(self) -> pd.DataFrame:
        """One row per day (``sim.outcomes.DayRecord``): the day's state and its boats by outcome."""
        n = len(self._days)
        boats = self._boats()
        day = boats["day"].to_numpy()
        outcome = boats["outcome"].to_numpy()
        people = boats["people"].to_numpy()
        deaths = boats["deaths"].to_numpy()

        def per_day(weights=None, on=day) -> np.ndarray:
            return np.bincount(on, weights, minlength=n)[:n].astype("int64")

        counts = {"boats_attempted": per_day()}
        for o in Outcome:
            counts[f"boats_{o.value}"] = per_day(outcome == o.value)
        counts["people_attempted"] = per_day(people)
        counts["people_crossed"] = per_day(np.where(outcome == Outcome.CROSSED.value, people - deaths, 0))
        counts["deaths"] = per_day(deaths)
        landed = boats["landed_day"].to_numpy()
        ashore = (landed >= 0) & (landed < n)
        counts["boats_arrived"] = per_day(on=landed[ashore])
        counts["people_arrived"] = per_day((people - deaths)[ashore], on=landed[ashore])
        return frame(DayRecord, self._days, counts)

    def summary(self) -> dict:
        """The run's summary (keys ``sim.outcomes.SUMMARY_KEYS``)."""
        counters = {"people_returned": self.policies.returns.returned}
        for key, attr in (("people_came_to_camps", "arrived"), ("people_left_coast", "left"),
                          ("people_cleared", "cleared")):
            counters[key] = sum(getattr(camp, attr) for camp in self.camps)
        counters["people_waiting_mean"] = (sum(day.camp_people for day in self._days) / len(self._days)
                                           if self._days else float("nan"))
        counters["boats_seized_from_vans"] = sum(n.seized_from_vans for n in self.networks)
        counters["boats_seized_in_raids"] = sum(n.seized_in_raids for n in self.networks)
        counters["boats_bought"] = sum(n.bought for n in self.networks)
        return summarise(self._boats(), days=self.inputs.days, seed=self.seed, scenario=self.inputs.name,
                         counters=counters)
