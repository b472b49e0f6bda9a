"""The model: one step is one day; each night is simulated event by event.

``ChannelModel`` ties the coast, the weather, the camps, the networks, the
boats, the patrols, the surveillance and the maritime units together. It knows
nothing of files: it takes a validated :class:`~sim.scenario.Scenario` and a
seed, and hands back its results as pandas tables and a summary dict.

Each day at noon (model time *d* for day *d - 1*) people arrive at the camps,
networks send for vans, and, when the sea allows, commit boats for the night.
Everything else happens in events inside the night. A day with no launch costs
one step and nothing more.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from mesa import DataCollector, Model

from sim.geography import Coast, Sectors, build_grid, load_coast
from sim.maritime import MaritimeCommand
from sim.migrants import Camp, seasonal_inflow
from sim.networks import SmugglingNetwork
from sim.outcomes import BOAT_COLUMNS, Outcome, summarise
from sim.patrols import Gendarmerie
from sim.scenario import Scenario
from sim.surveillance import Surveillance
from sim.weather import day_of_year, night_hours, sea_states

class ChannelModel(Model):
    """Small-boat operations on the French coast for a number of days.

    Args:
        params: the validated scenario.
        seed: the run's seed (all randomness comes from ``self.rng``).
        coast: the strip map (the shipped one when None).

    Attributes:
        params: the scenario.
        coast: the strip map.
        grid: the Mesa grid with the coast's property layers.
        waves: wave height of every simulated day (m).
    """

    def __init__(self, params: Scenario, seed: int = 0, coast: Coast | None = None):
        super().__init__(rng=seed)
        self.params = params
        self.seed = seed
        self.coast = coast or load_coast()
        self.grid = build_grid(self.coast, self.random)
        days = params.days
        self.dates = [params.start_date + dt.timedelta(days=i) for i in range(days)]
        doy = day_of_year(params.start_date, days)
        self.night_hours = night_hours(doy)
        self.waves = sea_states(params.weather, doy, self.rng)
        c = params.camps
        self.inflow = seasonal_inflow(c.inflow_per_day, c.inflow_seasonality, c.peak_inflow_day_of_year, doy)
        self.day_index = -1
        self.wave_today = float("nan")
        w = params.gendarmerie.sector_weights
        self.sectors = Sectors(len(w), self.coast.length_km, tuple(w))

        loon, calais = self.coast.camps
        self.camps = [
            Camp(self, self.grid[(loon.col, loon.row)], loon.name, c.dunkirk_share),
            Camp(self, self.grid[(calais.col, calais.row)], calais.name, 1.0 - c.dunkirk_share),
        ]
        for camp in self.camps:
            camp.people = int(round(c.initial_people * camp.share))
        self.gendarmerie = Gendarmerie(self, self.coast, self.sectors)
        self.surveillance = Surveillance(self, self.coast, self.sectors, self.gendarmerie.units_per_sector)
        self.maritime = MaritimeCommand(self, self.coast, self.sectors)
        n = params.networks
        self.networks = [
            SmugglingNetwork(self, km, self.camps[0] if km < n.camp_for_km_below else self.camps[1],
                             self.coast, params.policy.barrages)
            for km in n.home_km
        ]
        self._records: list[tuple] = []
        self._committed_today = 0
        self._waiting_at_noon = 0
        self.datacollector = DataCollector(model_reporters={
            "wave_m": lambda m: m.wave_today,
            "night_hours": lambda m: float(m.night_hours[m.day_index]),
            "camp_people": lambda m: m._waiting_at_noon,
            "boats_in_stock": lambda m: sum(net.boats for net in m.networks),
            "boats_committed": lambda m: m._committed_today,
        })

    # -- one day ----------------------------------------------------------------------
    def step(self) -> None:
        """One day: arrivals, supply, and the night's commitments."""
        d = int(round(self.time)) - 1
        self.day_index = d
        self.wave_today = float(self.waves[d])
        now = self.time
        for camp in self.camps:
            camp.receive(self.inflow[d])
        self._waiting_at_noon = sum(camp.people for camp in self.camps)
        self.gendarmerie.release_all(now)
        self.maritime.stand_down(now)
        for net in self.networks:
            net.resupply()
        hours = float(self.night_hours[d])
        dusk = now + (12.0 - hours / 2.0) / 24.0
        dawn = now + (12.0 + hours / 2.0) / 24.0
        self._committed_today = 0
        if self.wave_today <= self.params.networks.max_launch_wave_m:
            self.surveillance.start_night(hours)
            ready_fraction = self.params.camps.ready_fraction
            ready = {id(camp): camp.people * ready_fraction for camp in self.camps}
            sharing = {id(camp): sum(1 for n in self.networks if n.camp is camp) for camp in self.camps}
            for i in self.rng.permutation(len(self.networks)):
                net = self.networks[i]
                share = ready[id(net.camp)] / max(1, sharing[id(net.camp)])
                self._committed_today += net.plan_night(share, self.wave_today, dusk, dawn)
            self.schedule_event(self.surveillance.end_night, at=dawn)
        self.datacollector.collect(self)

    def run(self) -> ChannelModel:
        """Run every day of the scenario, including the last night."""
        self.run_for(self.params.days)
        self.run_until(self.time + 0.999)
        return self

    # -- results --------------------------------------------------------------------------
    def record_boat(self, boat, outcome: Outcome, people: int, deaths: int, rescued: int) -> None:
        """Record a finished boat attempt (called by the boat)."""
        hour = ((boat.plan.launch - int(boat.plan.launch)) * 24.0 + 12.0) % 24.0
        self._records.append((
            boat.unique_id, boat.day, self.dates[boat.day], boat.network.unique_id, boat.kind.value,
            boat.site.name, boat.site.km, boat.waterway.name if boat.waterway else "", people,
            outcome.value, deaths, rescued, boat.detected, boat.sea_intervention, boat.measure,
            boat.lives_at_risk, boat.injuries, boat.wave, round(hour, 3),
        ))

    def boats_frame(self) -> pd.DataFrame:
        """One row per boat attempt (columns ``sim.outcomes.BOAT_COLUMNS``), by boat id."""
        df = pd.DataFrame(self._records, columns=list(BOAT_COLUMNS))
        df = df.astype({"boat_id": "int64", "day": "int64", "network": "int64", "launch_km": "float64",
                        "people": "int64", "deaths": "int64", "rescued": "int64", "detected": "bool",
                        "sea_intervention": "int64", "lives_at_risk": "int64", "officer_injuries": "int64",
                        "wave_m": "float64", "launch_hour": "float64"})
        df["date"] = pd.to_datetime(df["date"])
        return df.sort_values("boat_id").reset_index(drop=True)

    def daily_frame(self) -> pd.DataFrame:
        """One row per day: date, sea state, people waiting at noon, boats in stock, and the day's counts."""
        state = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        state.insert(0, "date", pd.to_datetime(self.dates[: len(state)]))
        state.insert(0, "day", np.arange(len(state)))
        boats = self.boats_frame()
        counts = pd.DataFrame({"day": boats["day"], "boats_attempted": 1})
        for o in Outcome:
            counts[f"boats_{o.value}"] = (boats["outcome"] == o.value).astype(int)
        counts["people_attempted"] = boats["people"]
        counts["people_crossed"] = np.where(boats["outcome"] == Outcome.CROSSED.value, boats["people"] - boats["deaths"], 0)
        counts["deaths"] = boats["deaths"]
        per_day = counts.groupby("day").sum()
        daily = state.merge(per_day, left_on="day", right_index=True, how="left")
        cols = per_day.columns
        daily[cols] = daily[cols].fillna(0).astype("int64")
        return daily

    def summary(self) -> dict:
        """The run's summary (keys ``sim.outcomes.SUMMARY_KEYS``)."""
        return summarise(self.boats_frame(), days=self.params.days, seed=self.seed, scenario=self.params.name)


def run(params: Scenario, seed: int = 0) -> ChannelModel:
    """Build and run a model; the finished model holds the results."""
    return ChannelModel(params, seed).run()
