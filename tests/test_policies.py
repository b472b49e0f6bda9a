"""Each policy moves outcomes in the expected direction, over 20 paired replications.

Replication i of every scenario uses seed i (common random numbers), so the
differences are paired. A direction holds when the mean paired difference is
beyond two standard errors of that difference (the tolerance comes from the
spread across replications, not from one seed).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import values


def paired(replicates, scenario: str, key: str) -> tuple[float, float]:
    """Mean paired difference (scenario - baseline) and its standard error."""
    diff = values(replicates(scenario), key) - values(replicates("baseline"), key)
    return diff.mean(), diff.std(ddof=1) / np.sqrt(len(diff))


def test_before_pickup_lowers_taxi_boat_success(replicates):
    mean, se = paired(replicates, "shallow_water_before_pickup", "taxi_boat_success_rate")
    assert mean < -2 * se, (mean, se)


def test_before_pickup_puts_few_lives_at_risk(replicates):
    """Against empty taxi boats only the crew of one or two is at risk."""
    runs = replicates("shallow_water_before_pickup")
    interventions = values(runs, "sea_interventions")
    assert interventions.mean() > 0
    assert (values(runs, "lives_at_risk") <= 2 * interventions).all()


def test_300m_lowers_launch_success_further(replicates):
    mean, se = paired(replicates, "shallow_water_300m", "launch_success_rate")
    assert mean < -2 * se, (mean, se)
    diff = values(replicates("shallow_water_300m"), "launch_success_rate") - values(
        replicates("shallow_water_before_pickup"), "launch_success_rate")
    assert diff.mean() < -2 * diff.std(ddof=1) / np.sqrt(len(diff)), diff.mean()


def test_300m_puts_lives_at_risk_where_baseline_has_none(replicates):
    assert values(replicates("baseline"), "lives_at_risk").sum() == 0
    risk = values(replicates("shallow_water_300m"), "lives_at_risk")
    assert risk.mean() - 2 * risk.std(ddof=1) / np.sqrt(len(risk)) > 0
    # Loaded boats: far more lives at risk per intervention than before pickup.
    per_300 = risk.sum() / values(replicates("shallow_water_300m"), "sea_interventions").sum()
    before = replicates("shallow_water_before_pickup")
    per_before = values(before, "lives_at_risk").sum() / values(before, "sea_interventions").sum()
    assert per_300 > 5 * per_before


def test_doubling_drones_raises_people_prevented(replicates):
    mean, se = paired(replicates, "drones_doubled", "people_prevented")
    assert mean > 2 * se, (mean, se)


def test_barrages_move_taxi_boats_off_the_estuaries(replicates):
    mean, se = paired(replicates, "estuary_barrages", "taxi_boats_attempted")
    assert mean < -2 * se, (mean, se)


def test_van_intelligence_seizes_boats_that_networks_replace(replicates):
    """With the suppliers' capacity to spare (the default), networks buy what is seized."""
    assert values(replicates("van_intelligence"), "boats_seized_from_vans").min() > 0
    mean, se = paired(replicates, "van_intelligence", "boats_bought")
    assert mean > 2 * se, (mean, se)


#: Suppliers that can barely keep up: about 1.5 times what the average network loses a day.
TIGHT = {"supply": {"supplier_capacity_per_day": 0.6}}


def test_van_intelligence_cuts_launches_when_the_suppliers_cannot_keep_up(replicates):
    diff = (values(replicates("van_intelligence", **TIGHT), "boats_attempted")
            - values(replicates("baseline", **TIGHT), "boats_attempted"))
    assert diff.mean() < -2 * diff.std(ddof=1) / np.sqrt(len(diff)), diff.mean()


def test_warehouse_raids_seize_stock_that_networks_replace(replicates):
    assert values(replicates("warehouse_raids"), "boats_seized_in_raids").min() > 0
    mean, se = paired(replicates, "warehouse_raids", "boats_bought")
    assert mean > 2 * se, (mean, se)


def test_train_station_intelligence_raises_people_prevented(replicates):
    mean, se = paired(replicates, "train_station_intel", "people_prevented")
    assert mean > 2 * se, (mean, se)


def test_uk_liaison_raises_people_prevented(replicates):
    mean, se = paired(replicates, "uk_liaison", "people_prevented")
    assert mean > 2 * se, (mean, se)


def test_returns_deter_only_through_the_response_of_arrivals(replicates):
    """Returns lower the route's record (a share of those who crossed are sent back), and arrivals with it, as far
    as the response's elasticity says: with none, no fewer come; with an elasticity of 1, fewer do."""
    ret, base = replicates("returns"), replicates("baseline")
    assert values(ret, "people_returned").min() > 0 and values(base, "people_returned").max() == 0
    none = {"camps": {"response_elasticity": 0.0}}
    same = values(replicates("returns", **none), "people_came_to_camps") - values(
        replicates("baseline", **none), "people_came_to_camps")
    assert (same == 0).all()  # the camps' own streams: the same arrivals, draw for draw
    from sim.model.migrants import RouteResponse
    from sim.scenario import CampsParams

    def factor(elasticity: float, returned: int) -> float:
        response = RouteResponse(CampsParams(response_elasticity=elasticity))
        for _ in range(1000):  # long past the record's memory (60 days)
            response.update(crossed=110, waiting=2000, returned=returned)
        return response.factor()

    assert factor(0.0, 20) == factor(0.0, 0) == 1.0
    assert factor(1.0, 20) < factor(1.0, 0)
    assert factor(1.0, 20) / factor(1.0, 0) == pytest.approx(1 - 20 / 110, rel=0.02)  # the share returned, at elasticity 1


def test_union_refusal_leaves_the_doctrine_without_effect(replicates):
    refusal = replicates("union_refusal")
    assert values(refusal, "sea_interventions").sum() == 0
    diff = values(refusal, "taxi_boat_success_rate") - values(replicates("shallow_water_before_pickup"), "taxi_boat_success_rate")
    assert diff.mean() > 2 * diff.std(ddof=1) / np.sqrt(len(diff))


def test_combined_package_lowers_launch_success_most(replicates):
    combined = values(replicates("combined_package"), "launch_success_rate")
    for single in ("shallow_water_before_pickup", "drones_doubled", "train_station_intel", "uk_liaison"):
        diff = combined - values(replicates(single), "launch_success_rate")
        assert diff.mean() < -2 * diff.std(ddof=1) / np.sqrt(len(diff)), single


def test_every_switch_has_one_policy_unit_and_the_schedule_takes_the_same_keys():
    from sim.model.policies import UNITS
    from sim.scenario import Policy, PolicyPatch, Scenario

    switches = [unit.switch for unit in UNITS]
    assert sorted(switches) == sorted(Policy.model_fields) and len(set(switches)) == len(switches)
    assert list(PolicyPatch.model_fields) == list(Policy.model_fields)
    for name, field in PolicyPatch.model_fields.items():
        assert field.default is None and field.description == Policy.model_fields[name].description
    sections = Scenario.model_fields
    assert all(unit.section is None or unit.section in sections for unit in UNITS)


def test_a_dated_switch_reaches_its_unit_at_noon_on_its_date():
    from sim.model import ChannelModel
    from sim.scenario import from_dict

    scenario = from_dict({"days": 12, "schedule": [{"date": "2025-01-06", "policy": {
        "uk_liaison": True, "barrages": ["canche", "authie"]}}]})
    model = ChannelModel(scenario, 0)
    model.run_for(5)
    assert not model.policies.uk_liaison.on and model.policies.in_force() == []
    before = {net.unique_id: len(net.taxi_options) for net in model.networks}
    model.run_for(1)
    assert model.policies.uk_liaison.on and set(model.policies.in_force()) == {"uk_liaison", "barrages"}
    after = {net.unique_id: len(net.taxi_options) for net in model.networks}
    assert all(after[k] <= before[k] for k in before) and after != before  # taxi routes from closed estuaries gone
    for net in model.networks:
        assert all(w.name not in ("canche", "authie") for _, w in net.taxi_options)


def test_the_schema_knows_the_waterways_of_the_coast():
    from sim.model.geography import load_coast
    from sim.scenario import waterway_names

    assert waterway_names() == tuple(w.name for w in load_coast().waterways)


def test_the_dated_patch_keeps_the_limits_of_each_key():
    from pydantic import Field

    from sim.scenario import Section, _patch_of

    class Example(Section):
        level: int = Field(3, ge=0, le=5, description="an example limit")

    patch = _patch_of(Example)
    assert patch().level is None and patch(level=4).level == 4
    assert patch.model_fields["level"].description == "an example limit"
    with pytest.raises(ValueError):
        patch(level=9)


def test_weekly_clearances_move_more_people_and_more_leave_the_coast(replicates):
    mean, se = paired(replicates, "clearances_weekly", "people_cleared")
    assert mean > 2 * se, (mean, se)
    mean, se = paired(replicates, "clearances_weekly", "people_left_coast")
    assert mean > 2 * se, (mean, se)


def test_crossings_rise_without_land_enforcement_and_fall_with_twice_as_much(replicates):
    """People stopped may give up, and a route that works draws more people: enforcement changes who crosses."""
    mean, se = paired(replicates, "structure/no_land_enforcement", "people_crossed")
    assert mean > 2 * se, (mean, se)
    assert values(replicates("structure/no_land_enforcement"), "people_prevented").max() == 0
    mean, se = paired(replicates, "structure/land_enforcement_doubled", "people_crossed")
    assert mean < -2 * se, (mean, se)
