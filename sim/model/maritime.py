"""Maritime units: patrol boats with a lifeboat escort, for interception at sea.

Used only when the policy allows it (``policy.shallow_water_interception``, whose unit in
``sim.model.policies`` says when):

* ``none``: the 2025 posture, police powerless once a boat is in the water (seed 004);
* ``before_pickup``: the French doctrine, against taxi boats before they load,
  with "graduated and reversible" measures (order to stop, nets on the
  propeller, rerouting) and a lifeboat accompanying every intervention (seed 004);
* ``up_to_300m``: the UK demand, also against loaded boats up to 300 m out (seed 004).

Every intervention needs a free patrol boat and a free lifeboat, which limits
how many can happen in a night (seed 004). The people aboard at the moment of
an intervention are the lives it puts at risk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from mesa.discrete_space import CellAgent

from sim.model.geography import Coast, Sectors


class PatrolBoat(CellAgent):
    """A gendarmerie patrol boat on station off one stretch of coast."""

    def __init__(self, model, cell, station_km: float):
        """Create a patrol boat at its station."""
        super().__init__(model)
        self.cell = cell
        self.station_km = station_km


class Lifeboat(CellAgent):
    """A lifeboat that escorts every intervention (seed 004)."""

    def __init__(self, model, cell, station_km: float):
        """Create a lifeboat at its station."""
        super().__init__(model)
        self.cell = cell
        self.station_km = station_km


@dataclass(frozen=True)
class Intervention:
    """The result of one intervention at sea."""

    stopped: bool
    measure: str
    lives_at_risk: int
    deaths: int
    injuries: int


class MaritimeCommand:
    """Stations the vessels and decides whether an intervention can happen.

    Args:
        model: the model.
        coast: the strip map.
        sectors: deployment sectors (vessels follow the patrol weights).
    """

    def __init__(self, model, coast: Coast, sectors: Sectors):
        params = model.inputs.maritime
        self.params = params
        self.model = model
        row = max(0, coast.shore_row - 3)  # on station 750 m offshore; assumption
        self.boats = [PatrolBoat(model, model.grid[(coast.col_of(sectors.centre_km(s)), row)], sectors.centre_km(s))
                      for s in sectors.allocate(params.patrol_boats)]
        self.lifeboats = [Lifeboat(model, model.grid[(coast.col_of(sectors.centre_km(s)), row)], sectors.centre_km(s))
                          for s in sectors.allocate(params.lifeboats)]
        self._boat_km = np.array([b.station_km for b in self.boats])
        self._life_km = np.array([b.station_km for b in self.lifeboats])
        self._boat_free = np.zeros(len(self.boats))
        self._life_free = np.zeros(len(self.lifeboats))

    def reach(self, alerted: float, km: float, deadline: float, not_before: float | None = None) -> float | None:
        """Commit a patrol boat and a lifeboat that can both reach ``km`` by ``deadline``.

        Args:
            alerted: model time the vessels are alerted and set out.
            km: where along the shore the target will be.
            deadline: the last model time at which an intervention is possible.
            not_before: the intervention cannot happen before this time (a boat
                not yet launched); vessels that arrive early wait on station.

        Returns:
            The model time of the intervention, or None when nothing can reach it.
            Both vessels are busy from ``alerted`` until the intervention is over.
        """
        if not len(self.boats) or not len(self.lifeboats):
            return None
        speed = self.params.speed_kmh * 24.0  # km per day
        t_boat = np.where(self._boat_free <= alerted, alerted + np.abs(self._boat_km - km) / speed, np.inf)
        t_life = np.where(self._life_free <= alerted, alerted + np.abs(self._life_km - km) / speed, np.inf)
        i, j = int(t_boat.argmin()), int(t_life.argmin())
        when = max(t_boat[i], t_life[j])
        if when > deadline:
            return None
        if not_before is not None:
            when = max(when, not_before)
        done = when + self.params.intervention_hours / 24.0
        self._boat_free[i] = done
        self._life_free[j] = done
        tracks, coast = self.model.tracks, self.model.coast
        for kind, k, vessel in (("patrol boat", i, self.boats[i]), ("lifeboat", j, self.lifeboats[j])):
            station = vessel.cell.coordinate
            tracks.add(alerted, kind, k, *station, "called out")
            tracks.add(when, kind, k, coast.col_of(km), coast.shore_row - 1, "intervening")
            tracks.add(done, kind, k, *station, "on station")
        return when

    def intervene(self, rng: np.random.Generator, aboard: int, wave: float, metres_out: float) -> Intervention:
        """Apply the graduated measures to one boat (seed 004).

        An order to stop; if ignored, nets on the propeller; if that fails,
        rerouting. ``measure`` names the one that worked, or ``none_effective``
        when the boat went on. Every measure tried puts the people aboard at
        risk, more so with more aboard, rougher seas and further out (seed 001:
        "if there are 80 people on an overcrowded boat ... it is extremely
        dangerous"; "drownings can easily happen").
        """
        params = self.params
        scale = ((max(aboard, 1) / params.risk_reference_load) ** params.risk_load_exponent
                 * np.exp(params.risk_wave_factor_per_m * wave) * (1.0 + params.risk_per_100m_out * metres_out / 100.0))
        stopped, measure = False, "none_effective"
        unhurt, deaths, injuries = aboard, 0, 0  # each person dies or is hurt at most once
        for name, success, risk in (("order_to_stop", params.stop_order_success, params.risk_order_to_stop),
                                    ("immobilisation", params.immobilisation_success, params.risk_immobilisation),
                                    ("rerouting", params.rerouting_success, params.risk_rerouting)):
            died = int(rng.binomial(unhurt, min(1.0, risk * scale))) if unhurt else 0
            hurt = int(rng.binomial(unhurt - died, min(1.0, params.injury_rate * scale))) if unhurt > died else 0
            unhurt -= died + hurt
            deaths += died
            injuries += hurt
            if rng.random() < success:
                stopped, measure = True, name
                break
        return Intervention(stopped, measure, aboard, deaths, injuries)
