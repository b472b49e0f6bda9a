"""The baseline reproduces the reported rates, over 20 one-year replications.

Bands from the issue of record, each tied to its source:
taxi-boat success 81 % (seed 004); more than 40,000 crossed (seed 001; Home
Office 2025: 41,472); 20,000-22,000 prevented (seeds 001, 004); 62 people per
boat (Home Office 2025); taxi boats 45 % of boats (Prémar 2025).
"""

from __future__ import annotations

import pytest

from tests.conftest import REPLICATIONS, values

BANDS = {
    "taxi_boat_success_rate": (0.76, 0.86),
    "people_crossed": (35_000, 48_000),
    "people_prevented": (16_000, 28_000),
    "mean_people_per_boat": (55, 70),
    "taxi_share": (0.35, 0.55),
}


@pytest.mark.parametrize("key", list(BANDS))
def test_baseline_mean_in_reported_band(replicates, key):
    runs = replicates("baseline")
    assert len(runs) == REPLICATIONS
    assert all(r["days"] == 365 for r in runs)
    v = values(runs, key)
    low, high = BANDS[key]
    assert low <= v.mean() <= high, f"{key}: mean {v.mean():.3f} (sd {v.std(ddof=1):.3f}) outside [{low}, {high}]"


def test_baseline_has_no_interventions_at_sea(replicates):
    runs = replicates("baseline")
    assert values(runs, "sea_interventions").sum() == 0
    assert values(runs, "lives_at_risk").sum() == 0
    assert values(runs, "boats_intercepted_at_sea").sum() == 0
