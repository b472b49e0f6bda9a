"""The tracks of a run: where its agents went, night by night (the tracks table, ``sim.outcomes.MoveRecord``).

Written as the run goes, at the moments the model decides something anyway: a
patrol unit's dispatch gives its three waypoints (off to the group, there, free
again), a vessels' call-out gives theirs, a boat's end gives the moves of its
night (from its plan and how and when it ended), each noon gives the camps'
people, and a deployment (at the start, or a redeployment) gives every post,
station and drone. Nothing here draws a random number or changes the model, so
a run gives the same boats, daily table and summary with or without them.

A run records some 7,000 waypoints a year, so recording is kept to appending
one tuple of numbers to a list (a boat's night, a dispatch and a noon are one
record each; tuples of numbers only are soon left alone by the garbage
collector, and taking numbers into an ``array`` costs more than this), and the
records are turned into waypoints all at once when the table is made, and only
when it is asked for: ``benchmarks/tracks_cost.py`` measures what it adds to a
batch.
"""

from __future__ import annotations

from itertools import chain

import numpy as np
import pandas as pd
import pyarrow as pa

from sim.outcomes import MOVING_STATES, TRACK_STATES, Outcome

_HOURS = 24.0
#: The tracks table's agents and states, in the order of their categorical codes.
AGENTS = tuple(TRACK_STATES)
STATES = tuple(dict.fromkeys(str(state) for states in TRACK_STATES.values() for state in states))
AGENT = {name: float(i) for i, name in enumerate(AGENTS)}
STATE = {name: float(i) for i, name in enumerate(STATES)}
_AGENT_NAMES = pa.array(AGENTS)
_STATE_NAMES = pa.array(STATES)
_OUTCOME_CODE = {o: STATE[o.value] for o in Outcome}

_BOAT, _PATROL = AGENT["boat"], AGENT["patrol unit"]
assert _BOAT == 0.0, "Tracks.table puts the boats' rows first"
_HIDING, _WATERWAY, _ASSEMBLING, _SURF, _AT_SEA = (STATE[s] for s in (
    "hiding", "taxi on waterway", "assembling", "taxi waiting in the surf", "at sea"))
_CROSSED, _FAILED = STATE[Outcome.CROSSED.value], STATE[Outcome.FAILED_AT_SEA.value]
_PREVENTED = STATE[Outcome.PREVENTED_ON_LAND.value]
_RESPONDING, _ENGAGED, _ON_PATROL = STATE["responding"], STATE["engaged"], STATE["on patrol"]

_WAYPOINT = 7   # time, agent, id, col, row, state, people
_NIGHT = 11     # id, the plan (hide, exposed, launch, put_in), end, outcome, site index, waterway col (-1: none),
#                people, km where vessels met it (nan: none)
_NAN = float("nan")
_DISPATCH = 8   # id, sent, arrived, free, post col, post row, col, row


def _numbers(records: list[tuple], width: int) -> np.ndarray:
    """Records of ``width`` numbers as the rows of an array."""
    return np.fromiter(chain.from_iterable(records), float, width * len(records)).reshape(-1, width)


class Tracks:
    """Where agents go: waypoints, boats' nights, dispatches and the camps at noon, kept as records of numbers.

    Args:
        coast: the run's coast (where its sites are).
        speed_kmh: the boats' speed at sea (``crossing.speed_kmh``).
        camps: the camps' grid cells, in the model's order.
    """

    def __init__(self, coast=None, speed_kmh: float = 1.0, camps: tuple = ()):
        self._waypoints: list[tuple] = []   # _WAYPOINT numbers each
        self._nights: list[tuple] = []      # _NIGHT numbers each, by end time
        self._dispatches: list[tuple] = []  # _DISPATCH numbers each
        self._noons: list[tuple] = []       # time, then the people in each camp
        self._camps = tuple(camps)
        sites = coast.sites if coast is not None else ()
        self._site_col = np.array([s.col for s in sites], dtype=float)
        self._site_hide = np.array([s.hide_row for s in sites], dtype=float)
        self._site_sea_h = np.array([s.uk_waters_km / speed_kmh for s in sites], dtype=float)
        self._shore = float(coast.shore_row) if coast is not None else 0.0
        self._cell_km, self._n_cols = (coast.cell_km, coast.n_cols) if coast is not None else (1.0, 1)

    def add(self, time: float, agent: str, agent_id: int, col: float, row: float, state: str, people: int = 0) -> None:
        """From model time ``time`` on, the agent is at (col, row) doing ``state`` (names of ``TRACK_STATES``)."""
        self._waypoints.append((time, AGENT[agent], agent_id, col, row, STATE[state], people))

    def noon(self, time: float, people) -> None:
        """The people waiting in each camp at noon (model time ``time``), in the order of ``camps``."""
        self._noons.append((time, *people))

    def dispatch(self, unit: int, sent: float, arrived: float, free: float, post: tuple, place: tuple) -> None:
        """A patrol unit sent from its post at ``sent``, at ``place`` from ``arrived``, back on patrol at ``free``."""
        self._dispatches.append((unit, sent, arrived, free, post[0], post[1], place[0], place[1]))

    def boat_night(self, boat, outcome: Outcome, end: float) -> None:
        """A finished boat's night: its plan, and how and when (model time ``end``) it ended.

        A loaded boat stopped at sea is stopped as it launches, by vessels that meet it in its first
        300 m; it is drawn at sea until they do.
        """
        if outcome is Outcome.INTERCEPTED_AT_SEA and boat.met_at is not None:
            end = max(end, boat.met_at)
        hide, exposed, launch, put_in = boat.plan
        waterway, met = boat.waterway, boat.met_km
        self._nights.append((boat.unique_id, hide, exposed, launch, put_in, end, _OUTCOME_CODE[outcome],
                             boat.site.index, -1.0 if waterway is None else waterway.col, boat.group.people,
                             _NAN if met is None else met))

    def _noon_rows(self) -> np.ndarray:
        width = 1 + len(self._camps)
        n = _numbers(self._noons, width)
        rows = [np.stack([n[:, 0], np.full(len(n), AGENT["camp"]), np.full(len(n), float(i)),
                          np.full(len(n), float(col)), np.full(len(n), float(row)), np.full(len(n), STATE["waiting"]),
                          n[:, 1 + i]], axis=1) for i, (col, row) in enumerate(self._camps)]
        return np.concatenate(rows) if rows else np.zeros((0, _WAYPOINT))

    def _boat_rows(self) -> np.ndarray:
        """Every boat's waypoints (rows of seven numbers), by boat id, from the nights recorded.

        One mark for a boat and its group, as the app draws it: hiding from ``hide``; a taxi boat on its
        waterway from ``put_in`` (put in before the group leaves cover; from then on it runs to the pickup),
        waiting in the surf from ``exposed``; a dinghy assembling on the sand from ``exposed``; at sea from
        ``launch``; then its end. A crossed boat is at sea for its passage to UK waters (its last waypoint
        is there); one that failed at sea, for its first hour (when it failed is not modelled); one stopped
        on land ends where its group was (in hiding or on the beach), one stopped at sea where the
        vessels met it, when it was stopped.
        """
        n = _numbers(self._nights, _NIGHT)
        n = n[np.argsort(n[:, 0], kind="stable")]  # by boat id (nights come by end time)
        bid, hide, exposed, launch, put_in, end, outcome, site, w_col, people, met_km = n.T
        site = site.astype(int)
        col, hide_row, sea_h = self._site_col[site], self._site_hide[site], self._site_sea_h[site]
        taxi = w_col >= 0
        w_col = np.where(taxi, w_col, col)
        shore = np.full_like(bid, self._shore)
        surf = shore - 1
        met = np.where(np.isnan(met_km), np.nan, np.clip(np.floor(met_km / self._cell_km), 0, self._n_cols - 1))
        launched = (outcome == _CROSSED) | (outcome == _FAILED) | (end >= launch)
        on_waterway = taxi & (put_in < exposed) & (put_in < end)
        hiding = (hide < np.where(on_waterway, put_in, exposed)) & (hide < end)
        left_cover = (exposed < end) | launched
        gone = np.where(outcome == _CROSSED, launch + sea_h / _HOURS,
                        np.where(outcome == _FAILED, launch + 1.0 / _HOURS, end))
        # Stopped on land: where the group was (in hiding, or on the beach); at sea: where the vessels met it.
        on_land = outcome == _PREVENTED
        last_col = np.where(on_land | launched | left_cover, col, np.where(on_waterway, w_col, col))
        last_col = np.where(np.isnan(met) | on_land, last_col, met)
        last_row = np.where(on_land, np.where(left_cover, shore, hide_row),
                            np.where(launched | on_waterway, surf, np.where(left_cover, np.where(taxi, surf, shore),
                                                                            hide_row)))
        end_row = np.where(outcome == _CROSSED, 0.0, np.where(outcome == _FAILED, np.maximum(0, surf - 4), last_row))
        ones = np.ones_like(bid)
        steps = [  # (included, time, col, row, state), in time order for every boat
            (hiding, hide, col, hide_row, _HIDING * ones),
            (on_waterway, put_in, w_col, surf, _WATERWAY * ones),
            (left_cover, exposed, col, np.where(taxi, surf, shore), np.where(taxi, _SURF, _ASSEMBLING)),
            (launched, launch, col, surf, _AT_SEA * ones),
            (ones > 0, gone, last_col, end_row, outcome),
        ]
        block = np.stack([np.stack([t, _BOAT * ones, bid, c, r, s, people], axis=1) for _, t, c, r, s in steps], axis=1)
        keep = np.stack([k for k, *_ in steps], axis=1)
        return block[keep]

    def _dispatch_rows(self) -> np.ndarray:
        d = _numbers(self._dispatches, _DISPATCH)
        unit, sent, arrived, free, post_col, post_row, col, row = d.T
        ones, zeros = np.ones_like(unit), np.zeros_like(unit)
        rows = [(sent, post_col, post_row, _RESPONDING), (arrived, col, row, _ENGAGED),
                (free, post_col, post_row, _ON_PATROL)]
        return np.stack([np.stack([t, _PATROL * ones, unit, c, r, s * ones, zeros], axis=1) for t, c, r, s in rows],
                        axis=1).reshape(-1, _WAYPOINT)

    def table(self) -> pa.Table:
        """The tracks table as Arrow (what the store writes), by agent, id and time (see :meth:`frame`).

        The boats come first (theirs is the first agent code), already in order: by id, and each boat's
        waypoints in time order; only the other agents' few rows are sorted.
        """
        others = np.concatenate([
            _numbers(self._waypoints, _WAYPOINT), self._dispatch_rows(), self._noon_rows()])
        others = others[np.lexsort((others[:, 0], others[:, 2], others[:, 1]))]
        values = np.concatenate([self._boat_rows(), others])
        t = values[:, 0]
        whole = np.floor(t)
        return pa.table({
            "day": (whole - 1).astype("int32"), "hour": ((t - whole) * _HOURS).astype("float32"),
            "agent": pa.DictionaryArray.from_arrays(values[:, 1].astype("int8"), _AGENT_NAMES),
            "agent_id": values[:, 2].astype("int32"), "col": values[:, 3].astype("float32"),
            "row": values[:, 4].astype("float32"),
            "state": pa.DictionaryArray.from_arrays(values[:, 5].astype("int8"), _STATE_NAMES),
            "people": values[:, 6].astype("int32")})

    def frame(self) -> pd.DataFrame:
        """The tracks table (``sim.outcomes.MoveRecord``), by agent, id and time; ``agent`` and ``state`` categorical.

        Model time ``t`` (days) is the night of day ``floor(t) - 1``, ``(t - floor(t)) * 24`` hours after its
        noon (noon of day ``d`` is time ``d + 1``); hours, columns and rows are kept as 32-bit floats (to a
        few milliseconds), ids and counts as 32-bit integers.
        """
        return self.table().to_pandas()


class NoTracks(Tracks):
    """A recorder that keeps nothing: for runs whose tracks nobody reads (calibration, sensitivity)."""

    def add(self, time, agent, agent_id, col, row, state, people=0) -> None:  # noqa: D102
        pass

    def dispatch(self, unit, sent, arrived, free, post, place) -> None:  # noqa: D102
        pass

    def boat_night(self, boat, outcome, end) -> None:  # noqa: D102
        pass

    def noon(self, time, people) -> None:  # noqa: D102
        pass


def record_deployment(model) -> None:
    """Every patrol unit's post, vessel's station and drone's place, as they stand now."""
    tracks, now = model.tracks, model.time
    for i, unit in enumerate(model.gendarmerie.units):
        tracks.add(now, "patrol unit", i, *unit.post.coordinate, "on patrol")
    for kind, vessels in (("patrol boat", model.maritime.boats), ("lifeboat", model.maritime.lifeboats)):
        for i, vessel in enumerate(vessels):
            tracks.add(now, kind, i, *vessel.cell.coordinate, "on station")
    for i, (col, row) in enumerate(drone_places(model)):
        tracks.add(now, "drone", i, col, row, "searching")


def drone_places(model) -> list[tuple[float, float]]:
    """Where the map puts each drone: over the shore, spread evenly along the sector it searches."""
    sectors, coast = model.sectors, model.coast
    drones = model.surveillance.drones
    per_sector: dict[int, int] = {}
    for d in drones:
        per_sector[d.sector] = per_sector.get(d.sector, 0) + 1
    seen: dict[int, int] = {}
    places = []
    for d in drones:
        i = seen.get(d.sector, 0)
        seen[d.sector] = i + 1
        km = (d.sector + (i + 0.5) / per_sector[d.sector]) * sectors.length_km
        places.append((float(coast.col_of(km)), coast.shore_row - 0.5))
    return places


def model_time(tracks: pd.DataFrame) -> np.ndarray:
    """Each waypoint's model time (days): noon of day ``d`` is ``d + 1``."""
    return tracks["day"].to_numpy(dtype=float) + 1.0 + tracks["hour"].to_numpy(dtype=float) / _HOURS


class TrackIndex:
    """A tracks table made ready for asking where everything was at a time (:meth:`at`), many times over.

    Args:
        tracks: a tracks table (``Tracks.frame``, or a run's ``tracks.parquet``), in any order.
    """

    def __init__(self, tracks: pd.DataFrame):
        agent = pd.Categorical(tracks["agent"], categories=AGENTS).codes.astype(np.int64)
        state = pd.Categorical(tracks["state"], categories=STATES).codes
        if (agent < 0).any() or (state < 0).any():
            raise ValueError("tracks with an agent or a state not in sim.outcomes.TRACK_STATES")
        ids = tracks["agent_id"].to_numpy(dtype=np.int64)
        t = model_time(tracks)
        order = np.lexsort((t, ids, agent))
        self.time, self.agent, self.ids, self.state = t[order], agent[order], ids[order], state[order]
        self.col = tracks["col"].to_numpy(dtype=float)[order]
        self.row = tracks["row"].to_numpy(dtype=float)[order]
        self.people = tracks["people"].to_numpy(dtype=np.int64)[order]
        same = np.zeros(len(t), dtype=bool)
        same[:-1] = (self.agent[1:] == self.agent[:-1]) & (self.ids[1:] == self.ids[:-1])
        self._same_next = same
        self._moving = np.isin(self.state, [STATES.index(s) for s in MOVING_STATES]) & same

    def at(self, time: float, agents: tuple[str, ...] | None = None) -> pd.DataFrame:
        """Where every agent is at model time ``time`` (days; noon of day ``d`` is ``d + 1``).

        Returns:
            One row per agent (of ``agents``, or all) with a waypoint by then: ``agent``, ``agent_id``,
            ``col``, ``row``, ``state``, ``people``. An agent in a moving state is placed on the straight
            line to its next waypoint, by the share of the way its time has run. A boat whose state is its
            outcome has ended.
        """
        due = self.time <= time
        next_due = np.zeros(len(due), dtype=bool)
        next_due[:-1] = due[1:]
        now = due & ~(self._same_next & next_due)
        if agents is not None:
            now &= np.isin(self.agent, [AGENTS.index(a) for a in agents])
        now = np.flatnonzero(now)
        moving = self._moving[now]
        nxt = np.where(moving, now + 1, now)
        span = self.time[nxt] - self.time[now]
        share = np.where(moving & (span > 0), (time - self.time[now]) / np.where(span > 0, span, 1.0), 0.0)
        share = share.clip(0.0, 1.0)
        return pd.DataFrame({
            "agent": np.asarray(AGENTS, dtype=object)[self.agent[now]], "agent_id": self.ids[now],
            "col": self.col[now] + share * (self.col[nxt] - self.col[now]),
            "row": self.row[now] + share * (self.row[nxt] - self.row[now]),
            "state": np.asarray(STATES, dtype=object)[self.state[now]], "people": self.people[now]})


def positions_at(tracks: pd.DataFrame, time: float) -> pd.DataFrame:
    """Where every agent of a tracks table is at model time ``time``: ``TrackIndex(tracks).at(time)``."""
    return TrackIndex(tracks).at(time)
