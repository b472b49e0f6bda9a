"""Surveillance: thermal drones and aircraft, and the patrols' own eyes and ears.

Detection is a hazard (a rate per hour) that depends on where a group is and
how well it is covered: thermal drones see through tree cover (seed 002),
aircraft cameras are defeated by trees (seed 002), and a group assembling a
boat or wading out on the open beach is far easier to see than one in hiding.
Patrol units on the ground also hear and see groups now and then (seed 002:
"it's not hard to hear a patrol" works both ways).

Drones fly in cycles of ``drone_endurance_h`` then ``drone_turnaround_h``
on the ground; their contribution is weighted by the share of the night they
are up. The hazards of every site are computed at once with numpy at the start
of each night, so that detection during a night costs one exponential draw.
"""

from __future__ import annotations

import numpy as np
from mesa import Agent
from mesa.discrete_space import CellAgent

from sim.model.geography import Coast, Sectors


class Drone(CellAgent):
    """A thermal drone assigned to one sector of the coast."""

    def __init__(self, model, cell, sector: int):
        """Create a drone over ``cell`` searching ``sector``."""
        super().__init__(model)
        self.cell = cell
        self.sector = sector


class Aircraft(Agent):
    """A plane or helicopter with a thermal camera covering the whole strip."""

    def __init__(self, model):
        """Create an aircraft."""
        super().__init__(model)


class Surveillance:
    """Detection hazards at every site, from the drones, aircraft and patrols.

    Args:
        model: the model (for agents and parameters).
        coast: the strip map.
        sectors: the deployment sectors.
        units_per_sector: patrol units deployed in each sector.
    """

    def __init__(self, model, coast: Coast, sectors: Sectors, units_per_sector: np.ndarray):
        params = model.inputs.surveillance
        self.params = params
        self.model = model
        self.coast = coast
        self.drones = [Drone(model, model.grid[(0, coast.shore_row)], 0) for _ in range(params.drones)]
        self.aircraft = [Aircraft(model) for _ in range(params.aircraft)]
        self.cover = np.array([s.hide_cover for s in coast.sites])
        self._muffle = model.inputs.gendarmerie.cover_muffles
        self._air_rate_per_flying_hour = len(self.aircraft) * params.aircraft_sweep_km_per_h / coast.length_km
        self.hidden_per_h = np.zeros(len(coast.sites))
        self.open_per_h = np.zeros(len(coast.sites))
        own = params.drone_sector_weights
        self.deploy(sectors, units_per_sector, None if own is None else tuple(own))

    def deploy(self, sectors: Sectors, units_per_sector: np.ndarray,
               drone_weights: tuple[float, ...] | None = None) -> None:
        """Assign drones to sectors in proportion to ``drone_weights`` (None: the patrols' weights); patrol units as posted."""
        params = self.params
        gendarmerie = self.model.inputs.gendarmerie
        coast = self.coast
        split = sectors if drone_weights is None else Sectors(sectors.n, sectors.total_km, tuple(drone_weights))
        for drone, s in zip(self.drones, split.allocate(len(self.drones))):
            drone.sector = s
            drone.cell = self.model.grid[(coast.col_of(split.centre_km(s)), coast.shore_row)]
        site_sector = sectors.of(np.array([s.km for s in coast.sites]))
        drones_per_sector = np.bincount([d.sector for d in self.drones], minlength=sectors.n)
        duty = params.drone_endurance_h / (params.drone_endurance_h + params.drone_turnaround_h)
        # Chance per hour that a flying drone's sweep passes over a given point.
        self._drone_rate = (drones_per_sector * duty * params.drone_sweep_km_per_h / sectors.length_km)[site_sector]
        # Patrol units in a sector hear or see groups: rate per unit per 10 km.
        rate = units_per_sector * gendarmerie.audible_detection_per_unit_hour * 10.0 / sectors.length_km
        self._patrol_rate = rate[site_sector]
        # The parts of the hazards that do not change from night to night.
        self._drone_hidden = self._drone_rate * (1.0 - self.cover * (1.0 - params.drone_cover_penetration))
        self._air_seen = 1.0 - self.cover
        self._patrol_hidden = self._patrol_rate * (1.0 - self._muffle * self.cover)
        self._hazards_air: float | None = None  # aircraft rate the hazards were last computed for

    def start_night(self, night_hours: float) -> None:
        """Compute this night's detection hazards at every site (aircraft fly at most ``aircraft_hours``)."""
        params = self.params
        air = self._air_rate_per_flying_hour * min(1.0, params.aircraft_hours / night_hours)
        if air == self._hazards_air:  # the same as last night's: the same hazards
            return
        self.hidden_per_h = self._drone_hidden + air * self._air_seen + self._patrol_hidden
        self.open_per_h = params.open_exposure * (self._drone_rate + air + self._patrol_rate)
        self._hazards_air = air

    def first_detection(self, rng: np.random.Generator, phases: list[tuple[float, float]]) -> float | None:
        """When (if ever) a target is first seen over consecutive phases.

        Args:
            rng: random generator.
            phases: ``(hours, rate_per_hour)`` for each phase in order.

        Returns:
            Hours since the first phase began, or None.
        """
        elapsed = 0.0
        for hours, rate in phases:
            if rate > 0 and hours > 0:
                wait = rng.exponential(1.0 / float(rate))  # numpy scalars take a slower path
                if wait < hours:
                    return elapsed + wait
            elapsed += hours
        return None
