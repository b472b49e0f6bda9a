"""The model itself: determinism, conservation, the coast and the weather."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.model.geography import Terrain, load_coast
from sim.model import ChannelModel
from sim.outcomes import BOAT_COLUMNS, SUMMARY_KEYS, Outcome
from sim.scenario import Scenario, load_scenario
from tests.conftest import SCENARIOS


@pytest.fixture(scope="module")
def year():
    """One baseline year, seed 7."""
    return ChannelModel(load_scenario(SCENARIOS / "baseline.yaml"), seed=7).run()


def test_same_seed_same_results():
    scenario = Scenario(name="t", days=60)
    a = ChannelModel(scenario, seed=11).run()
    b = ChannelModel(scenario, seed=11).run()
    pd.testing.assert_frame_equal(a.boats_frame(), b.boats_frame())
    pd.testing.assert_frame_equal(a.daily_frame(), b.daily_frame())
    assert a.summary() == b.summary()


def test_different_seeds_differ():
    scenario = Scenario(name="t", days=60)
    a = ChannelModel(scenario, seed=1).run().boats_frame()
    b = ChannelModel(scenario, seed=2).run().boats_frame()
    assert not a.equals(b)


def test_every_boat_attempt_ends_in_exactly_one_outcome(year):
    boats = year.boats_frame()
    assert list(boats.columns) == list(BOAT_COLUMNS)
    assert boats["boat_id"].is_unique
    assert set(boats["outcome"]) <= {o.value for o in Outcome}
    s = year.summary()
    assert s["boats_attempted"] == len(boats) == (
        s["boats_prevented_on_land"] + s["boats_intercepted_at_sea"] + s["boats_failed_at_sea"] + s["boats_crossed"])


def test_every_person_attempt_ends_in_exactly_one_outcome(year):
    s = year.summary()
    assert s["people_attempted"] == s["people_prevented"] + s["people_rescued"] + s["people_crossed"] + s["deaths"]
    boats = year.boats_frame()
    # Deaths and rescues only where the outcome allows them.
    assert (boats.loc[boats["outcome"] != "failed_at_sea", "rescued"] == 0).all()
    assert (boats.loc[boats["outcome"] == "crossed", "deaths"] == 0).all()
    assert (boats["deaths"] + boats["rescued"] <= boats["people"]).all()


def test_nobody_is_lost_between_camps_and_outcomes(year):
    """Everyone who came to the camps is still there (or moved away by a clearance), left the coast, crossed, or died."""
    c = year.inputs.camps
    arrived = sum(camp.arrived for camp in year.camps)
    initial = sum(int(round(c.initial_people * camp.share)) for camp in year.camps)
    waiting = sum(camp.people + camp.away for camp in year.camps)
    s = year.summary()
    assert s["people_left_coast"] > 0 and s["people_cleared"] > 0
    assert initial + arrived == waiting + s["people_left_coast"] + s["people_crossed"] + s["deaths"]
    daily = year.daily_frame()
    assert daily["people_left_coast"].sum() == s["people_left_coast"]
    assert daily["people_came_to_camps"].sum() == s["people_came_to_camps"] == arrived


def test_no_agent_left_mid_attempt(year):
    from sim.model.boats import Boat
    from sim.model.migrants import MigrantGroup

    assert Boat not in year.agents_by_type or len(year.agents_by_type[Boat]) == 0
    assert MigrantGroup not in year.agents_by_type or len(year.agents_by_type[MigrantGroup]) == 0


def test_summary_has_the_documented_keys(year):
    assert tuple(year.summary()) == SUMMARY_KEYS


def test_daily_series_one_row_per_day(year):
    daily = year.daily_frame()
    assert len(daily) == 365
    assert daily["date"].iloc[0] == pd.Timestamp("2025-01-01")
    assert daily["date"].is_monotonic_increasing
    assert daily["boats_attempted"].sum() == len(year.boats_frame())
    assert {"wave_m", "camp_people", "people_crossed", "deaths"} <= set(daily.columns)


def test_no_launch_in_rough_seas(year):
    boats = year.boats_frame()
    assert boats["wave_m"].max() <= year.inputs.networks.max_launch_wave_m
    # Launches are rare above 0.5 m (Times analysis): most boats go in calmer seas.
    assert (boats["wave_m"] <= 0.5).mean() > 0.8


def test_launches_happen_at_night(year):
    hours = year.boats_frame()["launch_hour"]
    assert ((hours >= 16) | (hours <= 8)).all()


def test_people_wait_through_rough_spells_and_surge_on_calm_days(year):
    daily = year.daily_frame()
    boats = daily["boats_attempted"].to_numpy()
    waiting = daily["camp_people"].to_numpy()
    rough = (daily["wave_m"] > year.inputs.networks.max_launch_wave_m).to_numpy()
    assert boats[rough].sum() == 0
    # People keep arriving while no boat leaves: the camps are fuller on the
    # first launch day after three or more days without launches ...
    launch = boats > 0
    quiet_before = np.array([i >= 3 and not launch[i - 3:i].any() for i in range(len(boats))])
    after_launch = np.r_[False, launch[:-1]]
    assert waiting[launch & quiet_before].mean() > 1.3 * waiting[launch & after_launch].mean()
    # ... and fuller camps send more boats.
    assert np.corrcoef(waiting[launch], boats[launch])[0, 1] > 0.2


def test_coast_has_the_documented_places():
    coast = load_coast()
    assert coast.length_km == pytest.approx(150)
    terrain = coast.layers["terrain"]
    for t in (Terrain.SEA, Terrain.SHALLOW, Terrain.BEACH, Terrain.DUNES, Terrain.WOODS,
              Terrain.URBAN, Terrain.FARMLAND, Terrain.WATERWAY):
        assert (terrain == t).any(), t
    assert {w.name for w in coast.waterways} == {"dunkirk_canal", "aa_canal", "canche", "authie", "somme"}
    assert [c.name for c in coast.camps] == ["Loon-Plage", "Calais"]
    # Crossing from Calais is short, from the Bay of Somme long (channel-facts.md).
    assert coast.site("Blériot-Plage").uk_waters_km < coast.site("Le Crotoy").uk_waters_km / 2


def test_grid_carries_the_coast_layers(year):
    for name in ("terrain", "cover", "foot_kmh", "buggy_kmh", "uk_waters_km"):
        np.testing.assert_array_equal(getattr(year.grid, name).data, year.coast.layers[name])


def test_drones_see_through_trees_aircraft_do_not():
    base = Scenario(name="t", days=1)
    drones_only = base.with_overrides(surveillance={"aircraft": 0}, gendarmerie={"audible_detection_per_unit_hour": 0.0})
    planes_only = base.with_overrides(surveillance={"drones": 0}, gendarmerie={"audible_detection_per_unit_hour": 0.0})
    m_d, m_a = ChannelModel(drones_only, 0), ChannelModel(planes_only, 0)
    for m in (m_d, m_a):
        m.surveillance.start_night(10.0)
    coast = m_d.coast
    woods = coast.site("Hardelot").index   # hidden in woods
    dunes = coast.site("Gravelines").index  # hidden in dunes
    ratio_d = m_d.surveillance.hidden_per_h[woods] / m_d.surveillance.open_per_h[woods]
    ratio_a = m_a.surveillance.hidden_per_h[woods] / m_a.surveillance.open_per_h[woods]
    assert ratio_d > 3 * ratio_a
    assert m_a.surveillance.hidden_per_h[woods] < m_a.surveillance.hidden_per_h[dunes]


def test_calm_days_match_the_reported_share():
    """About 190 favourable days a year (Home Office), over 20 seeds."""
    from sim.model.weather import day_of_year, sea_states

    params = Scenario().weather
    doy = day_of_year(Scenario().start_date, 365)
    calm = [(sea_states(params, doy, np.random.default_rng(s)) <= 0.5).sum() for s in range(20)]
    mean, se = np.mean(calm), np.std(calm, ddof=1) / np.sqrt(len(calm))
    assert abs(mean - 190) < max(25, 3 * se)


def test_night_is_longer_in_december():
    from sim.model.weather import night_hours

    assert night_hours(np.array([172]))[0] == pytest.approx(7.0, abs=0.1)
    assert night_hours(np.array([355]))[0] == pytest.approx(16.0, abs=0.1)


@pytest.mark.parametrize("name", ["shallow_water_before_pickup", "shallow_water_300m"])
def test_conservation_holds_with_interventions_at_sea(name):
    model = ChannelModel(load_scenario(SCENARIOS / f"{name}.yaml").with_overrides(days=150), seed=3).run()
    s = model.summary()
    boats = model.boats_frame()
    assert s["sea_interventions"] > 0
    assert s["people_attempted"] == s["people_prevented"] + s["people_rescued"] + s["people_crossed"] + s["deaths"]
    arrived = sum(camp.arrived for camp in model.camps)
    initial = sum(int(round(model.inputs.camps.initial_people * camp.share)) for camp in model.camps)
    assert initial + arrived == (sum(camp.people + camp.away for camp in model.camps) + s["people_left_coast"]
                                 + s["people_crossed"] + s["deaths"])
    # Every intervention names its measure and puts someone at risk; none without one.
    hit = boats["sea_intervention"] == 1
    assert (boats.loc[hit, "lives_at_risk"] > 0).all()
    assert set(boats.loc[hit, "intervention_measure"]) <= {"order_to_stop", "immobilisation", "rerouting", "none_effective"}
    assert (boats.loc[~hit, "lives_at_risk"] == 0).all() and (boats.loc[~hit, "intervention_measure"] == "").all()
    assert (boats.loc[boats["outcome"] == "intercepted_at_sea", "sea_intervention"] == 1).all()
    if name == "shallow_water_before_pickup":
        # Only empty taxi boats: the crew of one or two.
        assert (boats.loc[hit, "kind"] == "taxi").all()
        assert (boats.loc[hit, "lives_at_risk"] <= 2).all()


def test_strip_grid_is_mesas_grid_with_the_same_connections():
    import random

    from mesa.discrete_space import OrthogonalVonNeumannGrid

    from sim.model.geography import build_grid

    coast = load_coast()
    ours = build_grid(coast, random.Random(1))
    mesa = OrthogonalVonNeumannGrid((coast.n_cols, coast.n_rows), torus=False, random=random.Random(1))
    assert isinstance(ours, OrthogonalVonNeumannGrid)
    assert ours._cells.keys() == mesa._cells.keys()
    for coord, cell in mesa._cells.items():
        got = ours._cells[coord].connections
        assert list(got) == list(cell.connections)  # same neighbours, in the same order
        assert [c.coordinate for c in got.values()] == [c.coordinate for c in cell.connections.values()]
    assert {c.coordinate for c in ours[(0, 0)].neighborhood} == {(1, 0), (0, 1)}


def test_models_leave_nothing_behind_when_collected():
    import gc

    scenario = Scenario(name="t", days=20)

    def grid_classes():
        gc.collect()
        gc.collect()
        return sum(1 for o in gc.get_objects() if isinstance(o, type) and o.__name__ == "GridCell")

    ChannelModel(scenario, 0).run()
    before = grid_classes()
    for seed in range(5):
        ChannelModel(scenario, seed).run()
    assert grid_classes() <= before  # a process running many models does not keep their grids' classes


def test_a_model_on_a_handed_back_grid_gives_the_same_results():
    scenario = Scenario(name="t", days=60)
    fresh = ChannelModel(scenario, 5).run()
    first = ChannelModel(scenario, 4).run()
    grid = first.grid
    expected = first.summary()
    first.close()
    assert first.grid is None and first.summary() == expected  # results stay readable
    reused = ChannelModel(scenario, 5)
    assert reused.grid is grid  # the grid was taken over...
    on_grid = sum(len(cell.agents) for cell in grid.all_cells)
    assert on_grid == sum(1 for a in reused.agents if getattr(a, "cell", None) is not None)  # ...with only its agents
    reused.run()
    pd.testing.assert_frame_equal(reused.boats_frame(), fresh.boats_frame())
    assert reused.summary() == fresh.summary()


def test_scheduled_events_run_in_time_order_and_can_be_cancelled():
    model = ChannelModel(Scenario(name="t", days=5), 0)
    seen = []

    class Probe:
        def __init__(self, label):
            self.label = label

        def fire(self):
            seen.append((self.label, model.time))

    probes = [Probe(label) for label in "abcd"]
    model.schedule_event(probes[0].fire, at=2.5)
    model.schedule_event(probes[1].fire, after=0.25)
    cancelled = model.schedule_event(probes[2].fire, at=1.5)
    model.schedule_event(probes[3].fire, at=2.5)  # same time as "a": after it
    cancelled.cancel()
    with pytest.raises(ValueError):
        model.schedule_event(probes[0].fire, at=-1.0)
    with pytest.raises(ValueError):
        model.schedule_event(probes[0].fire, at=1.0, after=1.0)
    model.run_until(3.0)
    assert seen == [("b", 0.25), ("a", 2.5), ("d", 2.5)]

    # An event holds its callback until it fires or is cancelled, and no longer.
    import gc
    import weakref

    held, dropped = Probe("e"), Probe("f")
    model.schedule_event(held.fire, at=3.5)
    gone = weakref.ref(dropped)
    model.schedule_event(dropped.fire, at=3.5).cancel()
    del held, dropped
    gc.collect()
    assert gone() is None
    model.run_until(4.0)
    assert seen[-1] == ("e", 3.5)


def test_tuple_event_list_orders_and_cancels_as_mesas_own():
    from mesa.time import Event, Priority
    from mesa.time.events import EventList

    from sim.model.mesa_compat import TupleEventList

    rng = np.random.default_rng(3)

    def noop():
        pass

    priorities = list(Priority)
    events = [Event(float(rng.integers(0, 20)) / 4, noop, priority=priorities[rng.integers(len(priorities))])
              for _ in range(300)]
    for e in events[::7]:
        e.cancel()
    mesa_list, ours = EventList(), TupleEventList(events[:50])
    for e in events[:50]:
        mesa_list.add_event(e)
    for e in events[50:]:
        mesa_list.add_event(e)
        ours.add_event(e)
    assert len(ours) == len(mesa_list) == sum(not e.CANCELED for e in events)
    assert ours.peek_ahead(5) == mesa_list.peek_ahead(5)
    assert (events[1] in ours) and (events[0] not in ours)  # events[0] is cancelled
    popped = [ours.pop_event() for _ in range(len(ours))]
    assert popped == [mesa_list.pop_event() for _ in range(len(mesa_list))]
    with pytest.raises(IndexError):
        ours.pop_event()


def test_a_mesa_outside_the_supported_range_is_refused_in_one_line():
    from importlib import metadata

    from sim.errors import UnsupportedDependency
    from sim.model.mesa_compat import SUPPORTED_MESA, check_mesa

    check_mesa()  # the installed one is supported
    check_mesa("3.5.0")
    for version in ("3.4.2", "3.6.0", "4.0.0a1", "3.10.1"):
        with pytest.raises(UnsupportedDependency, match=r"supports mesa>=3\.5,<3\.6") as err:
            check_mesa(version)
        assert version in str(err.value) and "\n" not in str(err.value)
    # The range pinned in pyproject.toml is the one checked.
    pinned = [r for r in metadata.requires("channel-sim") if r.replace(" ", "").lower().startswith("mesa")]
    low, high = SUPPORTED_MESA
    assert pinned and f">={low[0]}.{low[1]}" in pinned[0] and f"<{high[0]}.{high[1]}" in pinned[0]


def _paired(key_of, scenario_a: Scenario, scenario_b: Scenario, seeds=range(8)) -> tuple[float, float]:
    """Mean paired difference (b - a) of a run's quantity over seeds, and its standard error."""
    diff = np.array([key_of(ChannelModel(scenario_b, s).run()) - key_of(ChannelModel(scenario_a, s).run())
                     for s in seeds], dtype=float)
    return diff.mean(), diff.std(ddof=1) / np.sqrt(len(diff))


def _launch_day_share(model) -> float:
    return float((model.daily_frame()["boats_committed"] > 0).mean())


def test_a_perfect_forecast_is_the_sea_itself():
    model = ChannelModel(Scenario(name="t", days=30, weather={"forecast_error": 0.0}), seed=3)
    assert np.array_equal(model.forecast, model.waves)
    noisy = ChannelModel(Scenario(name="t", days=30), seed=3)
    assert np.array_equal(noisy.waves, model.waves) and not np.array_equal(noisy.forecast, noisy.waves)


def test_networks_that_decide_together_launch_on_fewer_nights():
    """One reading of the forecast for the coast: the same boats go on fewer nights, in bigger surges."""
    alone = Scenario(name="t", days=180, networks={"decide_together": 0.0})
    together = Scenario(name="t", days=180, networks={"decide_together": 1.0})
    mean, se = _paired(_launch_day_share, alone, together)
    assert mean < -2 * se, (mean, se)


def test_boats_are_fuller_when_more_wait_at_the_waterline():
    """Crowding adds to the loads the people ready beyond what the boats take at their planned load, in part."""
    def load(model) -> float:
        return model.summary()["mean_people_per_boat"]
    calm = Scenario(name="t", days=180, networks={"boarding_crowding": 0.0})
    crowded = Scenario(name="t", days=180, networks={"boarding_crowding": 0.5})
    mean, se = _paired(load, calm, crowded)
    assert mean > 2 * se, (mean, se)
    assert ChannelModel(crowded, 1).run().boats_frame()["people"].max() <= crowded.networks.people_per_boat_max
