"""Boats: one boat attempt, from commitment to its outcome, event by event.

Two kinds (seeds 000, 003, 004):

* a beach-launch dinghy: the group hides near the beach, the kit arrives, the
  dinghy is assembled on the sand in minutes and launched;
* a taxi boat: one or two people put it in on a waterway; it runs down the
  waterway and along the shallows to a pickup beach, where the group, having
  hidden nearby, wades out into the surf and boards.

The night is simulated with scheduled events at minute resolution (model time
is in days; the step of day *d* runs at noon, so a night lies inside
``(d, d + 1)``). Detection on land, or a warning from train-station
intelligence, sends one patrol unit (see ``sim.model.patrols``);
a patrol that arrives while the group is still on land prevents the launch,
unless the people hold it off with missiles until they are away (seed 003).
Once in the water, a boat can only be stopped by a maritime unit, when policy
allows (``sim.model.maritime``). Then the crossing: distance to UK waters from the
launch point, speed, and a failure hazard that grows with load and sea state
and jumps once the boat is past its endurance (MAIB: flooding 3.5-4 h out).
"""

from __future__ import annotations

from enum import Enum, auto
from typing import NamedTuple

import numpy as np
from mesa.discrete_space import CellAgent

from sim.model.draws import uniform
from sim.model.geography import Site, Waterway
from sim.model.migrants import GroupState, MigrantGroup
from sim.outcomes import BoatKind, Outcome


class BoatState(Enum):
    """Where a boat attempt stands."""

    COMMITTED = auto()       # the network has committed it; kit on its way or hidden
    ON_WATERWAY = auto()     # taxi boat put in, running to the pickup
    ASSEMBLING = auto()      # dinghy being assembled on the sand
    AT_SEA = auto()          # loaded and under way
    PREVENTED = auto()       # stopped on land
    INTERCEPTED = auto()     # stopped at sea
    FAILED = auto()          # failed at sea: rescued or returned
    CROSSED = auto()         # reached UK waters


#: Where a boat and its group stand after each outcome.
_BOAT_END = {
    Outcome.PREVENTED_ON_LAND: BoatState.PREVENTED,
    Outcome.INTERCEPTED_AT_SEA: BoatState.INTERCEPTED,
    Outcome.FAILED_AT_SEA: BoatState.FAILED,
    Outcome.CROSSED: BoatState.CROSSED,
}
_GROUP_END = {
    Outcome.PREVENTED_ON_LAND: GroupState.DISPERSED,
    Outcome.INTERCEPTED_AT_SEA: GroupState.DISPERSED,
    Outcome.FAILED_AT_SEA: GroupState.RESCUED,
    Outcome.CROSSED: GroupState.ARRIVED,
}


class NightPlan(NamedTuple):
    """Times of one attempt, in model time (days)."""

    hide: float        # group reaches its hiding place
    exposed: float     # group leaves cover (assembly starts, or wading starts)
    launch: float      # dinghy launched, or taxi boat picks up
    put_in: float      # taxi boat put in on its waterway (== exposed for beach boats)


def plan_night(rng: np.random.Generator, ops, dusk: float, dawn: float, run_hours: float, kind: BoatKind,
               window: tuple[float, float] | None = None) -> NightPlan:
    """Draw the timeline of one attempt inside the night.

    Args:
        rng: random generator.
        ops: the scenario's ``operations`` section.
        dusk: model time of dusk.
        dawn: model time of dawn.
        run_hours: taxi boat's run from put-in to pickup (0 for beach launches).
        kind: beach or taxi.
        window: a coordinated launch window (model times) shared with other networks, or None.
    """
    hide_h = uniform(rng, ops.hide_hours_min, ops.hide_hours_max)
    if kind is BoatKind.BEACH:
        exposed_h = uniform(rng, ops.assembly_min_min, ops.assembly_min_max) / 60.0
    else:
        exposed_h = uniform(rng, ops.wade_min_min, ops.wade_min_max) / 60.0
    earliest = dusk + (ops.earliest_start_h + hide_h + exposed_h) / 24.0
    latest = dawn - ops.last_launch_before_dawn_h / 24.0
    if earliest > latest:  # short summer night: less time in hiding
        hide_h = max(0.0, hide_h - (earliest - latest) * 24.0)
        earliest = dusk + (ops.earliest_start_h + hide_h + exposed_h) / 24.0
    lo, hi = earliest, max(earliest, latest)
    if window is not None and max(lo, window[0]) <= min(hi, window[1]):
        lo, hi = max(lo, window[0]), min(hi, window[1])
    launch = uniform(rng, lo, hi)
    exposed = launch - exposed_h / 24.0
    hide = exposed - hide_h / 24.0
    put_in = launch - run_hours / 24.0 if kind is BoatKind.TAXI else exposed
    return NightPlan(hide=hide, exposed=exposed, launch=launch, put_in=put_in)


class Boat(CellAgent):
    """One boat attempt, with its group, driven by scheduled events.

    Args:
        model: the model.
        network: the smuggling network that committed it.
        group: the migrant group it is for.
        kind: beach launch or taxi boat.
        site: launch beach, or pickup beach for a taxi boat.
        waterway: where a taxi boat is put in (None for a beach launch).
        plan: the night's timeline.
    """

    def __init__(self, model, network, group: MigrantGroup, kind: BoatKind, site: Site,
                 waterway: Waterway | None, plan: NightPlan):
        super().__init__(model)
        self.network = network
        self.group = group
        self.kind = kind
        self.site = site
        self.waterway = waterway
        self.plan = plan
        self.day = model.day_index
        self.wave = model.wave_today
        self.state = BoatState.COMMITTED
        # Taxi crews are one or two of the group (seed 003: "one or two migrants get the craft quietly into the water").
        self.crew = min(group.people, int(model.rng.integers(1, 3))) if kind is BoatKind.TAXI else 0
        self.detected = False
        self.alerted_at: float | None = None
        self._patrol = None
        self.sea_intervention = 0
        self._vessels_called = False
        self.met_km: float | None = None
        self.met_at: float | None = None  # when the vessels meet it (model time; for its tracks)
        self.measure = ""
        self.lives_at_risk = 0
        self.intervention_deaths = 0
        self.intervention_injuries = 0
        self.injuries = 0
        self.landed_day = -1
        self._events = []
        self._transitions: list[tuple[float, int, object]] = []
        coast = model.coast
        if waterway is not None:
            self.cell = model.grid[(waterway.col, coast.n_rows - 1)]
        else:
            self.cell = model.grid[(site.col, site.hide_row)]

    # -- scheduling -----------------------------------------------------------------
    def _at(self, when: float, handler) -> None:
        self._events.append(self.model.schedule_event(handler, at=when))

    def _catch_up(self) -> None:
        """Make the timeline's moves (hide, leave cover, put in) that are due by now.

        Nothing outside a boat reads where its group stands, so these moves need
        no events of their own: every handler of the boat makes the due ones first,
        in time order (at equal times in the order they would have been scheduled),
        which is what events at those times would have done, for half the events.
        """
        now = self.model.time
        steps = self._transitions
        while steps and steps[0][0] <= now:
            steps.pop(0)[2]()

    def start(self) -> None:
        """Schedule the night's events (called once, by the network)."""
        rng = self.model.rng
        sv = self.model.surveillance
        plan = self.plan
        moves = [(plan.hide, 0, self._hide), (plan.exposed, 1, self._leave_cover)]
        if self.kind is BoatKind.TAXI:
            moves.append((plan.put_in, 2, self._put_in))
        self._transitions = sorted(moves, key=lambda m: m[:2])
        self._at(plan.launch, self._on_launch)
        i = self.site.index
        self._station_warning(rng)
        kit = self.model.inputs.surveillance.kit_exposure if self.kind is BoatKind.BEACH else 1.0
        seen = sv.first_detection(rng, [((plan.exposed - plan.hide) * 24.0, kit * sv.hidden_per_h[i]),
                                         ((plan.launch - plan.exposed) * 24.0, sv.open_per_h[i])])
        if seen is not None:
            self._at(plan.hide + seen / 24.0, self._on_detected)
        if self.kind is BoatKind.TAXI:
            run = sv.first_detection(rng, [((plan.launch - plan.put_in) * 24.0, sv.open_per_h[i])])
            if run is not None:
                # A run down a long waterway at a slow speed may have started before the night was planned
                # (never with the shipped values: runs take at most 2.3 h); it is seen from now on.
                self._at(max(self.model.time, plan.put_in + run / 24.0), self._on_taxi_sighted)

    def _station_warning(self, rng) -> None:
        """Intelligence from train stations: a warning names the beach, a patrol is pre-positioned (seed 003)."""
        when = self.model.policies.train_station_intel.warning_at(rng, self.model.time, self.plan.hide)
        if when is not None:
            self._at(when, self._on_station_warning)

    def _on_station_warning(self) -> None:
        self._catch_up()
        now = self.model.time
        self.detected = True
        self.alerted_at = now if self.alerted_at is None else self.alerted_at
        sent = self.model.gendarmerie.dispatch(now, self.site, to_water=False)
        if sent is not None:
            unit, arrival = sent
            arrival = max(arrival, self.plan.hide + 1.0 / 1440.0)  # waits for the group at the beach
            if arrival < self.plan.launch and self._patrol is None:
                self._patrol = unit
                self._at(arrival, self._on_patrol_arrives)

    def _cancel_pending(self) -> None:
        for ev in self._events:
            ev.cancel()
        self._events.clear()
        self._transitions.clear()

    # -- moves of the timeline (made by _catch_up) --------------------------------------
    def _hide(self) -> None:
        self.group.hide(self.model.grid[(self.site.col, self.site.hide_row)])

    def _leave_cover(self) -> None:
        self.group.go_to_beach(self.model.grid[(self.site.col, self.model.coast.shore_row)])
        if self.kind is BoatKind.BEACH:
            self.state = BoatState.ASSEMBLING
            self.cell = self.group.cell

    def _put_in(self) -> None:
        self.state = BoatState.ON_WATERWAY
        self.cell = self.model.grid[(self.waterway.col, self.model.coast.shore_row - 1)]

    # -- events -----------------------------------------------------------------------
    def _on_detected(self) -> None:
        self._catch_up()
        now = self.model.time
        self.detected = True
        self.alerted_at = now
        on_beach = self.group.state is GroupState.ON_BEACH
        sent = None if self._patrol is not None else self.model.gendarmerie.dispatch(now, self.site, to_water=on_beach)
        if sent is not None:
            unit, arrival = sent
            if arrival < self.plan.launch:
                self._patrol = unit
                self._at(arrival, self._on_patrol_arrives)
        if self.kind is BoatKind.TAXI and self.state is not BoatState.AT_SEA:
            self._try_sea_intervention(now, self.site.km, self.plan.launch, loaded=False)

    def _on_patrol_arrives(self) -> None:
        self._catch_up()
        unit = self._patrol
        unit.engage(self.group.cell)
        rng = self.model.rng
        gendarmerie = self.model.inputs.gendarmerie
        if self.group.state is GroupState.HIDING:
            self._end(Outcome.PREVENTED_ON_LAND)
            return
        if self.kind is BoatKind.TAXI:
            return  # people are in the surf: police are powerless in the water (seed 004)
        # On the beach with the dinghy: missiles to hold the patrol off (seed 003).
        self.injuries += int(rng.binomial(unit.officers, gendarmerie.injury_probability))
        if rng.random() >= gendarmerie.holdoff_probability:
            self._end(Outcome.PREVENTED_ON_LAND)

    def _on_taxi_sighted(self) -> None:
        self._catch_up()
        if self.state is BoatState.ON_WATERWAY:
            self.detected = True
            if self.alerted_at is None:
                self.alerted_at = self.model.time
            frac = (self.model.time - self.plan.put_in) / max(1e-9, self.plan.launch - self.plan.put_in)
            km = self.waterway.km + frac * (self.site.km - self.waterway.km)
            self._try_sea_intervention(self.model.time, km, self.plan.launch, loaded=False)

    def _try_sea_intervention(self, alerted: float, km: float, deadline: float, loaded: bool) -> bool:
        maritime = self.model.maritime
        if self._vessels_called or not self.model.policies.shallow_water_interception.allows(loaded):
            return False
        # An empty taxi boat can only be stopped once it is on the water.
        earliest = alerted if loaded else max(alerted, self.plan.put_in)
        # A loaded boat is met once it is in the water: vessels alerted earlier wait on station.
        when = maritime.reach(earliest, km, deadline, not_before=self.model.time if loaded else None)
        if when is None:
            return False
        self._vessels_called = True
        self.met_km, self.met_at = km, when  # where and when the vessels meet it (for its tracks)
        if loaded:
            self._intervene(loaded=True)
        else:
            self._at(when, self._on_intervention_before_pickup)
        return True

    def _on_intervention_before_pickup(self) -> None:
        self._catch_up()
        self._intervene(loaded=False)

    def _intervene(self, loaded: bool) -> None:
        rng = self.model.rng
        aboard = self.group.people - self.intervention_deaths if loaded else self.crew
        # Loaded boats are met somewhere in their first 300 m (seed 004: the UK's 300 m); empty taxi
        # boats in the shallows 50-200 m out (an assumption).
        metres_out = uniform(rng, 0.0, 300.0) if loaded else uniform(rng, 50.0, 200.0)
        result = self.model.maritime.intervene(rng, aboard, self.wave, metres_out)
        self.sea_intervention = 1
        self.measure = result.measure
        self.lives_at_risk += result.lives_at_risk
        self.intervention_deaths += result.deaths
        self.intervention_injuries += result.injuries
        if result.stopped:
            self._end(Outcome.INTERCEPTED_AT_SEA)

    def _on_launch(self) -> None:
        self._catch_up()
        if self.state in (BoatState.PREVENTED, BoatState.INTERCEPTED):
            return
        self.group.board()
        self.state = BoatState.AT_SEA
        self.cell = self.model.grid[(self.site.col, self.model.coast.shore_row - 1)]
        if self.model.policies.shallow_water_interception.allows(loaded=True):
            window_h = self.model.inputs.maritime.window_300m_min / 60.0
            rate = self.model.surveillance.open_per_h[self.site.index]
            now = self.model.time
            alerted = self.alerted_at
            if alerted is None and self.model.rng.random() < 1.0 - np.exp(-rate * window_h):
                alerted = now
            if alerted is not None and self._try_sea_intervention(alerted, self.site.km, now + window_h / 24.0, loaded=True):
                if self.state is BoatState.INTERCEPTED:
                    return
        self._cross()

    def _cross(self) -> None:
        crossing = self.model.inputs.crossing
        rng = self.model.rng
        people = self.group.people - self.intervention_deaths
        hours = self.site.uk_waters_km / crossing.speed_kmh
        scale = ((max(people, 1) / crossing.reference_load) ** crossing.load_exponent
                 * np.exp(crossing.wave_factor_per_m * self.wave))
        hazard = scale * (crossing.failure_per_hour * min(hours, crossing.endurance_hours)
                          + crossing.failure_per_hour_after_endurance * max(0.0, hours - crossing.endurance_hours))
        if rng.random() < 1.0 - np.exp(-hazard):
            self._end(Outcome.FAILED_AT_SEA, crossing_deaths=int(rng.binomial(people, crossing.death_rate_on_failure)))
        else:
            # Counted on the UK date it is brought ashore: model time t falls on day index floor(t - 0.5)
            # (noon of day d is time d + 1).
            ashore = self.model.time + (hours + crossing.landing_hours) / 24.0
            self.landed_day = int(np.floor(ashore - 0.5))
            self._end(Outcome.CROSSED)

    # -- the end ----------------------------------------------------------------------
    def _end(self, outcome: Outcome, crossing_deaths: int = 0) -> None:
        self._cancel_pending()
        deaths = self.intervention_deaths + crossing_deaths
        people = self.group.people
        self.state = _BOAT_END[outcome]
        rescued = people - deaths if outcome is Outcome.FAILED_AT_SEA else 0
        group_end = _GROUP_END[outcome]
        # A taxi boat whose group was dispersed on land goes home with its boat.
        self.network.outcome(self, outcome, boat_kept=(self.kind is BoatKind.TAXI and outcome is Outcome.PREVENTED_ON_LAND))
        self.model.hear(self, outcome)
        self.model.record_boat(self, outcome, people, deaths, rescued, crossing_deaths)
        self.group.end(group_end, deaths=deaths)
        self.remove()
