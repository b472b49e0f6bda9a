"""The coast: a stylised strip map from the Belgian border to the Bay of Somme.

The map is built from a small data file (``sim/data/coast.yaml``) of coast
segments, waterways, named beaches and camps, positioned in kilometres along
the shore as given in ``channel-facts.md``. Columns of the grid run along the
shore (km 0 at the Belgian border); rows run from the seaward edge (row 0)
inland. It is a straightened coast, honest about being one: good to a few km.

All geometry that agents need during a night (hiding cover of a beach, how
long a patrol takes to walk from the road to the water, distance to UK
waters) is precomputed here once with numpy, so that nothing is searched on
the grid while the model runs.
"""

from __future__ import annotations

import functools
import gc
from dataclasses import dataclass
from enum import IntEnum
from importlib import resources
from pathlib import Path

import numpy as np
import yaml


class Terrain(IntEnum):
    """Terrain classes of the strip map."""

    SEA = 0
    SHALLOW = 1
    BEACH = 2
    DUNES = 3
    WOODS = 4
    URBAN = 5
    FARMLAND = 6
    WATERWAY = 7
    CLIFF = 8


#: Cover of WW2 bunkers, where people and kit are hidden (seed 002). Assumption.
BUNKER_COVER = 0.95


@dataclass(frozen=True)
class Site:
    """A named beach used as a launch point or a taxi-boat pickup point.

    Attributes:
        index: position in ``Coast.sites``.
        name: place name.
        km: position along the shore, km from the Belgian border.
        col: grid column.
        beach: boats can be assembled and launched here.
        pickup: taxi boats pick people up in the surf here.
        hide_row: grid row of the hiding place behind the beach.
        hide_cover: cover of the hiding place (0 open .. 1 hidden).
        road_to_hide_min: minutes from the road at the inland edge to the
            hiding place, by buggy as far as buggies go, then on foot.
        road_to_water_min: minutes from the road to the water's edge.
        uk_waters_km: distance by sea from the surf line to UK waters.
    """

    index: int
    name: str
    km: float
    col: int
    beach: bool
    pickup: bool
    hide_row: int
    hide_cover: float
    road_to_hide_min: float
    road_to_water_min: float
    uk_waters_km: float


@dataclass(frozen=True)
class Waterway:
    """A canal or estuary from which taxi boats are put in (seeds 000, 003, 004)."""

    name: str
    label: str
    km: float
    col: int
    inland_km: float


@dataclass(frozen=True)
class CampPlace:
    """Where a migrant camp stands on the map."""

    name: str
    km: float
    col: int
    row: int


@dataclass(frozen=True)
class Coast:
    """The strip map: terrain layers and named places.

    Layers are numpy arrays of shape ``(n_cols, n_rows)``, indexed ``[col, row]``
    like Mesa's grid.
    """

    cell_km: float
    n_cols: int
    n_rows: int
    shore_row: int
    layers: dict[str, np.ndarray]
    sites: tuple[Site, ...]
    waterways: tuple[Waterway, ...]
    camps: tuple[CampPlace, ...]

    @property
    def length_km(self) -> float:
        """Length of the strip along the shore."""
        return self.n_cols * self.cell_km

    def col_of(self, km: float) -> int:
        """Grid column of a position along the shore."""
        return int(min(self.n_cols - 1, max(0, km / self.cell_km)))

    def site(self, name: str) -> Site:
        """The site with this name."""
        for s in self.sites:
            if s.name == name:
                return s
        raise KeyError(name)


@dataclass(frozen=True)
class Sectors:
    """Equal stretches of coast over which patrols and drones are deployed.

    Args:
        n: number of sectors.
        total_km: length of the coast they divide.
        weights: relative deployment in each sector.
    """

    n: int
    total_km: float
    weights: tuple[float, ...]

    @property
    def length_km(self) -> float:
        """Length of one sector."""
        return self.total_km / self.n

    def of(self, km):
        """Sector index of positions along the shore (scalar or array)."""
        return np.clip((np.asarray(km) / self.length_km).astype(int), 0, self.n - 1)

    def centre_km(self, sector: int) -> float:
        """Middle of a sector."""
        return (sector + 0.5) * self.length_km

    def allocate(self, count: int) -> list[int]:
        """Sector of each of ``count`` assets, in proportion to the weights.

        Largest-remainder rounding, so the split is deterministic.
        """
        w = np.asarray(self.weights, dtype=float)
        share = count * w / w.sum()
        n = np.floor(share).astype(int)
        for i in np.argsort(-(share - n), kind="stable")[: count - n.sum()]:
            n[i] += 1
        return [s for s in range(self.n) for _ in range(n[s])]

    def counts(self, count: int) -> list[int]:
        """How many of ``count`` assets each sector gets (:meth:`allocate`, counted)."""
        return np.bincount(self.allocate(count), minlength=self.n).astype(int).tolist() if count else [0] * self.n


def default_coast_file() -> Path:
    """Path of the coast data file shipped with the package."""
    return Path(str(resources.files("sim") / "data" / "coast.yaml"))


@functools.cache
def load_coast() -> Coast:
    """Build the strip map from the shipped data file (cached per process).

    Returns:
        The immutable ``Coast``.
    """
    data = yaml.safe_load(default_coast_file().read_text(encoding="utf-8"))
    return _build(data)


def _rows(metres: float, cell_m: float) -> int:
    return max(1, round(metres / cell_m))


def _build(data: dict) -> Coast:
    cell_m = float(data["cell_m"])
    cell_km = cell_m / 1000.0
    n_cols = round(data["length_km"] / cell_km)
    sea_rows = _rows(data["sea_km"] * 1000, cell_m)
    shallow_rows = _rows(data["shallow_km"] * 1000, cell_m)
    land_rows = _rows(data["land_km"] * 1000, cell_m)
    shore_row = sea_rows + shallow_rows
    n_rows = shore_row + land_rows

    terrain = np.full((n_cols, n_rows), Terrain.SEA, dtype=np.int8)
    terrain[:, sea_rows:shore_row] = Terrain.SHALLOW
    col_km = (np.arange(n_cols) + 0.5) * cell_km
    for seg in data["segments"]:
        cols = (col_km >= seg["from_km"]) & (col_km < seg["to_km"])
        beach = _rows(seg["beach_m"], cell_m)
        back = _rows(seg["backshore_m"], cell_m)
        r0, r1 = shore_row, shore_row + beach
        terrain[cols, r0:r1] = Terrain.BEACH
        terrain[cols, r1 : r1 + back] = Terrain[seg["backshore"].upper()]
        terrain[cols, r1 + back :] = Terrain[seg["inland"].upper()]

    waterways = []
    for w in data["waterways"]:
        col = int(w["km"] / cell_km)
        reach = shore_row + _rows(w["inland_km"] * 1000, cell_m)
        terrain[col, sea_rows : min(reach, n_rows)] = Terrain.WATERWAY
        waterways.append(Waterway(w["name"], w["label"], float(w["km"]), col, float(w["inland_km"])))

    props = data["terrain"]
    lut = {k: np.zeros(len(Terrain)) for k in ("cover", "foot_kmh", "buggy_kmh")}
    for t in Terrain:
        for k in lut:
            lut[k][t] = props[t.name.lower()][k]
    cover = lut["cover"][terrain]
    foot = lut["foot_kmh"][terrain]
    buggy = lut["buggy_kmh"][terrain]

    anchors = np.asarray(data["crossing_km"], dtype=float)
    crossing = np.interp(col_km, anchors[:, 0], anchors[:, 1])
    # UK waters begin at the median line, half the crossing (assumption);
    # cells at sea are that much nearer, cells inland that much further.
    offshore_km = (shore_row - 0.5 - np.arange(n_rows)) * cell_km
    uk_waters = 0.5 * crossing[:, None] - offshore_km[None, :]

    layers = {
        "terrain": terrain,
        "cover": cover,
        "foot_kmh": foot,
        "buggy_kmh": buggy,
        "uk_waters_km": uk_waters,
    }

    sites = []
    for i, s in enumerate(data["sites"]):
        col = int(s["km"] / cell_km)
        sites.append(_site(i, s, col, terrain[col], cover[col], foot[col], buggy[col],
                           shore_row, cell_km, float(uk_waters[col, shore_row - 1])))
    camps = [
        CampPlace(c["name"], float(c["km"]), int(c["km"] / cell_km),
                  min(n_rows - 1, shore_row + _rows(c["inland_km"] * 1000, cell_m)))
        for c in data["camps"]
    ]
    return Coast(cell_km, n_cols, n_rows, shore_row, layers, tuple(sites), tuple(waterways), tuple(camps))


def _site(i, s, col, terrain_col, cover_col, foot_col, buggy_col, shore_row, cell_km, uk_km) -> Site:
    land = np.arange(shore_row, len(terrain_col))
    behind_beach = land[terrain_col[land] != Terrain.BEACH]
    if s.get("bunkers"):
        hide_row, hide_cover = int(behind_beach[0]), BUNKER_COVER
    else:
        best = behind_beach[np.argmax(cover_col[behind_beach])]
        hide_row, hide_cover = int(best), float(cover_col[best])
    return Site(
        index=i,
        name=s["name"],
        km=float(s["km"]),
        col=col,
        beach="beach" in s["modes"],
        pickup="pickup" in s["modes"],
        hide_row=hide_row,
        hide_cover=hide_cover,
        road_to_hide_min=_approach_minutes(foot_col, buggy_col, cell_km, hide_row),
        road_to_water_min=_approach_minutes(foot_col, buggy_col, cell_km, shore_row),
        uk_waters_km=uk_km,
    )


def _approach_minutes(foot_col: np.ndarray, buggy_col: np.ndarray, cell_km: float,
                      target_row: int, last_on_foot: int = 1) -> float:
    """Minutes from the road at the inland edge of one column to ``target_row``.

    A patrol drives its buggy seaward while the terrain allows, but covers the
    last ``last_on_foot`` cells on foot, and stays on foot once it has left the
    buggy (seed 002: buggies get close, "the last stretch ... must be covered
    on foot"; the one-cell (250 m) last stretch is an assumption).
    """
    t = 0.0
    on_foot = False
    for row in range(len(foot_col) - 1, target_row, -1):
        if not on_foot and (buggy_col[row] <= 0 or row - target_row <= last_on_foot):
            on_foot = True
        speed = foot_col[row] if on_foot else buggy_col[row]
        t += 60.0 * cell_km / speed if speed > 0 else np.inf
    return t


def build_grid(coast: Coast, random):
    """A Mesa grid of the strip with the coast's property layers.

    Args:
        coast: the strip map.
        random: the model's ``random.Random`` (Mesa's grid wants one).

    Returns:
        A :class:`StripGrid` (an ``OrthogonalVonNeumannGrid``) whose property layers are the coast's.
    """
    from mesa.discrete_space import PropertyLayer

    from sim.model.mesa_compat import reuse_grid, strip_grid_class  # Mesa is imported only to build a grid

    for i, (spare_coast, grid) in enumerate(_SPARE_GRIDS):
        if spare_coast is coast:
            del _SPARE_GRIDS[i]
            reuse_grid(grid, random)
            return grid
    was_enabled = gc.isenabled()
    gc.disable()  # building makes 14,400 cells and no garbage: nothing for the collector to find
    try:
        grid = strip_grid_class()((coast.n_cols, coast.n_rows), torus=False, random=random)
        for name, data in coast.layers.items():
            grid.add_property_layer(PropertyLayer.from_data(name, data.astype(float)))
    finally:
        if was_enabled:
            gc.enable()
    return grid


# Grids handed back by finished models, empty, for the next model of the same coast in this process.
_SPARE_GRIDS: list = []


def hand_back_grid(coast: Coast, grid) -> None:
    """Keep an emptied grid for the next model built on ``coast`` in this process.

    The caller guarantees that no agent is left on the grid and that nothing
    will use it again (see ``ChannelModel.close``). One spare is kept.
    """
    if not grid.empty.data.all():
        raise ValueError("a grid handed back must be empty")
    _SPARE_GRIDS[:] = [(coast, grid)]
