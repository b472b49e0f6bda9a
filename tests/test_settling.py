"""The coast's camps are open: over five years the number of people waiting settles in every shipped scenario.

People come to the camps, cross, die, or leave the coast (after a failed
attempt, with a weekly hazard, or moved by a clearance and not back), and the
arrivals respond to the route's record. None of that fixes the camps' size;
this checks that, run for five years, it stops growing or shrinking: year 5's
mean, over replications, within 15 % of year 4's.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import SCENARIOS

YEARS = 5
REPLICATIONS = 10
SHIPPED = sorted(str(p.relative_to(SCENARIOS).with_suffix("")) for p in SCENARIOS.rglob("*.yaml") if p.stem != "targets")


def _yearly_waiting(args):
    from sim.model import ChannelModel
    from sim.scenario import load_scenario

    name, seed = args
    scenario = load_scenario(SCENARIOS / f"{name}.yaml").with_overrides(days=365 * YEARS)
    daily = ChannelModel(scenario, seed).run().daily_frame()
    return daily["camp_people"].to_numpy().reshape(YEARS, 365).mean(axis=1)


@pytest.fixture(scope="module")
def waiting(replicates):
    return {name: np.array(replicates.map(_yearly_waiting, [(name, s) for s in range(REPLICATIONS)]))
            for name in SHIPPED}


@pytest.mark.parametrize("name", SHIPPED)
def test_people_waiting_settle_within_five_years(waiting, name):
    years = waiting[name]
    year4, year5 = years[:, 3].mean(), years[:, 4].mean()
    assert abs(year5 / year4 - 1) < 0.15, (name, years.mean(axis=0).round())
    # Not a camp that empties either: people still wait in year 5.
    assert year5 > 100, name
