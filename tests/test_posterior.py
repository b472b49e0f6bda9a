"""Batches under parameter draws from a posterior: two levels of common random numbers, and intervals that
hold parameter uncertainty as well as chance."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis.report import paired_differences
from sim.analysis.stats import interval
from sim.model import ChannelModel
from sim.runs.batch import plan_batch, run_batch
from sim.runs.posterior import SHIPPED, load_posterior
from sim.runs.store import load_results
from sim.scenario import Scenario, load_scenario, set_keys
from tests.conftest import SCENARIOS

EXE = Path(sys.executable).with_name("channel-sim")
SHORT = {"start_date": "2025-06-01", "days": 40}


def _posterior(tmp_path: Path) -> Path:
    path = tmp_path / "posterior.csv"
    pd.DataFrame({"camps.inflow_per_day": [90.0, 130.0, 110.0, 150.0],
                  "camps.leave_after_failure": [0.05, 0.2, 0.1, 0.15],
                  "weight": [0.2, 0.3, 0.4, 0.1]}).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    """baseline, a twin of it under another name, and drones_doubled: 3 draws x 2 seeds."""
    tmp = tmp_path_factory.mktemp("drawn")
    twin = tmp / "twin.yaml"
    twin.write_text(f"extends: {SCENARIOS / 'baseline.yaml'}\nname: twin\n")
    scenarios = [load_scenario(SCENARIOS / "baseline.yaml"), load_scenario(twin),
                 load_scenario(SCENARIOS / "drones_doubled.yaml")]
    scenarios = [s.with_overrides(**SHORT) for s in scenarios]
    posterior = load_posterior(_posterior(tmp))
    plan = plan_batch(scenarios, 2, posterior=posterior, draws=3, base_seed=4)
    run_batch(tmp / "out", plan, workers=1, progress=False)
    return tmp / "out", plan, posterior


def test_the_same_draw_and_seed_give_the_same_run_in_every_scenario(drawn):
    folder, _, _ = drawn
    s = load_results(folder)["summaries"]
    assert s["draw"].nunique() == 3 and s["seed"].nunique() == 2
    outcomes = ["people_crossed", "people_prevented", "boats_attempted", "people_left_coast", "deaths"]
    base = s[s["scenario"] == "baseline"].set_index(["draw", "seed"])[outcomes].sort_index()
    twin = s[s["scenario"] == "twin"].set_index(["draw", "seed"])[outcomes].sort_index()
    pd.testing.assert_frame_equal(base, twin)
    # Each draw's seeds are the same seeds in every draw and scenario; the draws themselves differ.
    assert s.groupby("draw")["seed"].apply(frozenset).nunique() == 1
    assert base.groupby("draw")["people_crossed"].mean().nunique() == 3


def test_a_run_under_a_draw_is_the_scenario_with_the_draw_applied(drawn):
    folder, plan, posterior = drawn
    s = load_results(folder)["summaries"]
    row = s[(s["scenario"] == "drones_doubled")].iloc[0]
    point = {k: row[f"draw.{k}"] for k in posterior.keys}
    assert point == posterior.particles.iloc[int(row["draw"])].to_dict()
    scenario = load_scenario(SCENARIOS / "drones_doubled.yaml").with_overrides(**SHORT)
    again = ChannelModel(Scenario.model_validate(set_keys(scenario.model_dump(), point)), int(row["seed"])).run()
    assert again.summary()["people_crossed"] == row["people_crossed"]


def test_a_scenario_keeps_its_own_value_of_a_drawn_parameter(tmp_path):
    own = load_scenario(SCENARIOS / "baseline_2024.yaml").with_overrides(**SHORT)
    assert own.camps.inflow_per_day != Scenario().camps.inflow_per_day
    plan = plan_batch([own], 1, posterior=load_posterior(_posterior(tmp_path)), draws=2)
    for spec in plan.runs:
        assert spec.content["camps"]["inflow_per_day"] == own.camps.inflow_per_day
        assert "camps.inflow_per_day" not in spec.parameters and "camps.leave_after_failure" in spec.parameters


def test_draws_are_by_weight_distinct_and_reproducible(tmp_path):
    posterior = load_posterior(_posterior(tmp_path))
    first = [d["draw"] for d in posterior.draw(3, seed=0)]
    assert first == [d["draw"] for d in posterior.draw(3, seed=0)] and len(set(first)) == 3
    counts = np.bincount([d["draw"] for seed in range(400) for d in posterior.draw(1, seed)], minlength=4) / 400
    se = np.sqrt(posterior.weights * (1 - posterior.weights) / 400)
    assert (np.abs(counts - posterior.weights) < 4 * se).all(), counts


def test_the_shipped_posterior_holds_the_fitted_parameters_inside_their_priors():
    """sim/data/posterior.csv: a particle per row for the parameters of sim/data/fitted.yaml, inside their priors,
    of which the shipped defaults are one point."""
    import yaml

    posterior = load_posterior(SHIPPED)
    assert len(posterior.particles) >= 100
    priors = {p["key"]: (p["low"], p["high"]) for p in yaml.safe_load(
        (SHIPPED.parent / "fitted.yaml").read_text())["parameters"]}
    assert set(posterior.keys) == set(priors)
    defaults = Scenario().model_dump()
    for key, (low, high) in priors.items():
        values = posterior.particles[key]
        assert low <= values.min() and values.max() <= high, key
        section, name = key.split(".")
        assert low <= defaults[section][name] <= high, key
        assert values.max() - values.min() > 0.5 * (high - low), key  # a wide posterior: the record informs little


def test_the_interval_splits_parameter_uncertainty_from_chance():
    """Synthetic draws with a known spread between draws (sd 3) and within them (sd 10)."""
    rng = np.random.default_rng(1)
    k, r = 400, 8
    effects = rng.normal(5.0, 3.0, k)
    values = (effects[:, None] + rng.normal(0, 10.0, (k, r))).ravel()
    draws = np.repeat(np.arange(k), r)
    found = interval(values, draws)
    assert found.draws == k and found.n == k * r
    assert abs(found.sd_parametric - 3.0) < 0.5, found
    assert abs(found.se_chance - 10.0 / np.sqrt(k * r)) < 0.02, found
    expected_share = 9 * (1 + 1 / k) / (9 * (1 + 1 / k) + 100 / (k * r))
    assert abs(found.parametric_share - expected_share) < 0.02
    # The interval is about mean +- 1.97 * sqrt(9 (1 + 1/k) + 100 / (k r)): wider than chance alone.
    assert found.low < 5.0 < found.high
    assert abs((found.high - found.low) / 2 - 1.966 * np.sqrt(9 * (1 + 1 / k) + 100 / (k * r))) < 1.0
    # No spread between draws: what is found between them is of the size of a draw's chance (sd 10 / sqrt(8)), no more.
    flat = interval(rng.normal(5.0, 10.0, k * r), draws)
    assert flat.sd_parametric < 0.5 * 10.0 / np.sqrt(r) and flat.low < 5.0 < flat.high
    # One draw: the t-interval of the mean, with no parametric part.
    one = interval(values[:r], None)
    assert one.draws == 1 and np.isnan(one.parametric_share)


def test_paired_differences_pair_by_draw_and_seed(drawn):
    folder, _, _ = drawn
    s = load_results(folder)["summaries"]
    diffs = paired_differences(s[s["scenario"] != "drones_doubled"], "baseline").set_index("outcome")
    assert diffs.loc["people_crossed", "n"] == 6  # 3 draws x 2 seeds, each matched once
    assert diffs.loc["people_crossed", "mean"] == 0 and diffs.loc["people_crossed", "ci_high"] == 0


def test_batch_with_a_posterior_from_the_command_line_reports_what_the_intervals_hold(tmp_path):
    out = tmp_path / "cmp"
    done = subprocess.run([str(EXE), "batch", str(SCENARIOS / "baseline.yaml"), str(SCENARIOS / "drones_doubled.yaml"),
                           "-n", "2", "--days", "20", "--posterior", str(_posterior(tmp_path)), "--draws", "3",
                           "-j", "1", "--quiet", "--out", str(out), "--report"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    report = (out / "report.md").read_text()
    assert "3 parameter draws" in report and "What the intervals hold" in report
    assert "people crossed: parametric share" in report
