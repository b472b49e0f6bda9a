"""Adaptive networks, the supply chain, dated policies and the risk of interventions."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

import multiprocessing

import numpy as np
import pandas as pd
import pytest

from sim.model import ChannelModel
from sim.model.networks import PRIOR_SITE_RISK, stopped_value
from sim.outcomes import BoatKind, Outcome
from sim.scenario import Scenario, load_scenario
from tests.conftest import SCENARIOS

#: Much heavier patrols and drones on km 15-45 (Gravelines, Oye-Plage, Marck), lighter elsewhere.
HEAVY = [1.0, 8.0, 8.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.6, 0.4]
SWITCH_DAY, DAYS = 60, 150
#: Spring and summer: every window compared has launches (a winter's rough spell can last weeks).
START = "2025-04-01"
#: The displacement runs: the change in the busy season, when outcomes (and so learning) come every calm night.
DISPLACEMENT_START = "2025-06-01"


def _displacement_run(args):
    seed, heavy = args
    m = ChannelModel(Scenario(start_date=DISPLACEMENT_START, days=DAYS), seed)
    m.run_for(SWITCH_DAY)
    if heavy:
        m.redeploy(HEAVY)
    m.run_for(DAYS - SWITCH_DAY)
    m.run_until(m.time + 0.999)
    b = m.boats_frame()
    b = b[b["day"] >= SWITCH_DAY]
    stretch = b["launch_km"].between(15, 45)
    early, late = b["day"] < SWITCH_DAY + 10, b["day"] >= DAYS - 40  # the first ten days, the last forty
    return len(b), int(stretch.sum()), stretch[early].mean(), stretch[late].mean()


@pytest.fixture(scope="module")
def displacement():
    seeds = range(12)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as ex:
        control = np.array(list(ex.map(_displacement_run, [(s, False) for s in seeds])), dtype=float)
        heavy = np.array(list(ex.map(_displacement_run, [(s, True) for s in seeds])), dtype=float)
    return control, heavy


def _below(diff: np.ndarray) -> bool:
    """Mean of paired differences below zero by more than two standard errors."""
    return diff.mean() < -2 * diff.std(ddof=1) / np.sqrt(len(diff))


def test_heavier_patrols_displace_launches_over_the_following_weeks(displacement):
    control, heavy = displacement
    # The stretch's share of launches falls in the weeks after the change, relative to the control.
    drift = (heavy[:, 3] - heavy[:, 2]) - (control[:, 3] - control[:, 2])
    assert _below(drift), drift
    assert _below(heavy[:, 3] - control[:, 3])


def test_total_launches_fall_by_less_than_the_stretch_loses(displacement):
    control, heavy = displacement
    stretch_loss = control[:, 1] - heavy[:, 1]
    total_loss = control[:, 0] - heavy[:, 0]
    assert stretch_loss.mean() > 0
    assert _below(total_loss - stretch_loss)


def test_hearsay_moves_every_other_network_as_its_own_learning_would_at_the_hearsay_weight():
    params = Scenario(days=1)
    heard, expected = ChannelModel(params, 0), ChannelModel(params, 0)
    site = heard.networks[0].beach_sites[0].index
    n = params.networks
    for _ in range(3):  # from the prior and from moved estimates
        heard.beliefs.hear(0, site, BoatKind.TAXI, stopped_value(Outcome.INTERCEPTED_AT_SEA),
                           n.site_learning_rate * n.hearsay_weight)
        for net in expected.networks[1:]:
            net.learn(site, BoatKind.TAXI, Outcome.INTERCEPTED_AT_SEA, weight=n.hearsay_weight)
    assert np.array_equal(heard.beliefs.site, expected.beliefs.site)
    assert np.array_equal(heard.beliefs.mode, expected.beliefs.mode)
    assert (heard.beliefs.site[0] == PRIOR_SITE_RISK).all()  # the teller learns from its own outcome instead
    assert heard.networks[1].mode_risk[BoatKind.TAXI] > PRIOR_SITE_RISK == heard.networks[1].mode_risk[BoatKind.BEACH]


def test_networks_learn_from_their_own_outcomes_and_less_from_hearsay():
    m = ChannelModel(Scenario(days=1), 0)
    a, b = m.networks[0], m.networks[1]
    site = a.beach_sites[0].index
    a.learn(site, BoatKind.BEACH, Outcome.PREVENTED_ON_LAND, weight=1.0)
    b.learn(site, BoatKind.BEACH, Outcome.PREVENTED_ON_LAND, weight=m.inputs.networks.hearsay_weight)
    assert a.site_risk[site] > b.site_risk[site] > PRIOR_SITE_RISK
    assert a.mode_risk[BoatKind.BEACH] > PRIOR_SITE_RISK == a.mode_risk[BoatKind.TAXI]
    before = a.site_risk[site]
    for _ in range(30):
        m.beliefs.forget(m.inputs.networks.forgetting_per_day)  # what each day's step does
    assert PRIOR_SITE_RISK < a.site_risk[site] < before  # forgetting pulls back towards the prior


def test_under_pressure_networks_send_fuller_boats(replicates):
    from tests.conftest import values

    diff = values(replicates("drones_doubled"), "mean_people_per_boat") - values(replicates("baseline"), "mean_people_per_boat")
    assert diff.mean() > 2 * diff.std(ddof=1) / np.sqrt(len(diff))


def test_a_stock_out_stops_launches():
    s = Scenario(start_date=START, days=120).with_overrides(supply={"warehouse_boats": 0, "supplier_capacity_per_day": 0.0},
                                          networks={"initial_boats": 4})
    m = ChannelModel(s, 2).run()
    boats = m.boats_frame()
    n_nets = len(m.networks)
    used = len(boats) - ((boats["kind"] == "taxi") & (boats["outcome"] == "prevented_on_land")).sum()
    assert used == 4 * n_nets  # every boat there was, and no more
    daily = m.daily_frame()
    assert daily["boats_in_stock"].iloc[-1] == 0
    last_launch = boats["day"].max()
    calm_after = daily[(daily["day"] > last_launch) & (daily["wave_m"] < 0.3)]
    assert len(calm_after) > 5  # calm nights came, and nobody could launch
    assert m.summary()["boats_attempted"] < ChannelModel(Scenario(start_date=START, days=120), 2).run().summary()[
        "boats_attempted"]


def test_dated_policy_changes_on_its_date_and_not_before():
    scenario = load_scenario(SCENARIOS / "doctrine_from_november.yaml")
    change = pd.Timestamp("2025-11-25")
    after = 0
    for seed in range(4):
        m = ChannelModel(scenario, seed).run()
        boats = m.boats_frame()
        hit = boats[boats["sea_intervention"] == 1]
        assert (hit["date"] >= change).all()
        after += len(hit)
        daily = m.daily_frame()
        assert (daily.loc[daily["date"] < change, "interception"] == "none").all()
        assert (daily.loc[daily["date"] >= change, "interception"] == "before_pickup").all()
        assert m.policy_changes == [("2025-11-25", {"shallow_water_interception": "before_pickup"})]
    assert after > 0


def test_barrage_from_a_date_moves_taxi_boats(tmp_path):
    s = Scenario(days=200).with_overrides(schedule=[{"date": "2025-04-01", "policy": {"barrages": ["canche", "authie", "somme"]}}])
    for seed in range(3):
        boats = ChannelModel(s, seed).run().boats_frame()
        late = boats[boats["date"] >= pd.Timestamp("2025-04-01")]
        assert not late["waterway"].isin(["canche", "authie", "somme"]).any()


def test_intervention_risk_grows_with_load_sea_and_distance():
    m = ChannelModel(Scenario(days=1), 0)
    mar = m.maritime
    rng = np.random.default_rng(1)

    def death_rate(aboard, wave, metres):
        deaths = sum(mar.intervene(rng, aboard, wave, metres).deaths for _ in range(4000))
        return deaths / (4000 * aboard)

    base = death_rate(40, 0.2, 0)
    assert death_rate(90, 0.2, 0) > 1.5 * base
    assert death_rate(40, 0.8, 0) > 1.5 * base
    assert death_rate(40, 0.2, 300) > 1.5 * base
    assert death_rate(2, 0.2, 100) < base


def test_deaths_are_attributed(replicates):
    for name in ("baseline", "shallow_water_300m"):
        for s in replicates(name):
            assert s["deaths"] == s["deaths_intervention"] + s["deaths_crossing"]
    from tests.conftest import values

    assert values(replicates("baseline"), "deaths_intervention").sum() == 0
    assert values(replicates("shallow_water_300m"), "deaths_intervention").mean() > 0
