"""Calibration (ABC-SMC) recovers a known parameter on a small problem."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

pytest.importorskip("pyabc")

from sim.analysis.calibration import MONTHLY, run_calibration  # noqa: E402
from sim.model import ChannelModel  # noqa: E402
from sim.scenario import Scenario, load_scenario  # noqa: E402
from sim.analysis.sensitivity import Uncertain  # noqa: E402
from sim.analysis.validation import load_targets  # noqa: E402

TRUE_INFLOW = 150.0
DAYS = 60


@pytest.fixture(scope="module")
def calibration(tmp_path_factory):
    folder = tmp_path_factory.mktemp("abc")
    base = Scenario(name="small", start_date="2025-06-01", days=DAYS)  # summer: launches on many nights
    truth = base.with_overrides(camps={"inflow_per_day": TRUE_INFLOW})
    crossed = [ChannelModel(truth, seed).run().summary()["people_crossed"] for seed in range(6)]
    observed = float(np.mean(crossed))
    half = float(max(4 * np.std(crossed), 0.05 * observed))
    (folder / "targets.yaml").write_text(yaml.safe_dump({"targets": [{
        "name": "people_crossed", "reported": observed, "band": [observed - half, observed + half],
        "key": "people_crossed", "source": "synthetic: the model at inflow 150"}]}))
    (folder / "small.yaml").write_text(yaml.safe_dump({"name": "small", "start_date": "2025-06-01", "days": DAYS}))
    scenario = load_scenario(folder / "small.yaml")
    params = [Uncertain(key="camps.inflow_per_day", low=50.0, high=250.0)]
    result = run_calibration(folder / "out", scenario, folder / "small.yaml", params,
                             load_targets(folder / "targets.yaml"), folder / "targets.yaml",
                             population=20, generations=3, seed=1, workers=1)
    return folder, result


def test_posterior_recovers_the_known_parameter(calibration):
    _, res = calibration
    s = res.summary["camps.inflow_per_day"]
    assert abs(s["median"] - TRUE_INFLOW) < 20, s
    assert s["q05"] < TRUE_INFLOW < s["q95"]
    assert s["q95"] - s["q05"] < 0.75 * (250 - 50)  # narrower than the prior


def test_calibrated_scenario_extends_the_original_and_passes_validation(calibration):
    folder, res = calibration
    calibrated = load_scenario(res.calibrated)
    assert calibrated.days == DAYS and calibrated.name == "small_calibrated"
    assert abs(calibrated.camps.inflow_per_day - TRUE_INFLOW) < 20
    import subprocess
    import sys
    from pathlib import Path

    exe = Path(sys.executable).parent / "channel-sim"
    # the targets the fit used are kept beside it; validate reads the shipped ones unless told (as calibrate's hint says)
    result = subprocess.run([str(exe), "validate", str(res.calibrated), "-n", "6", "--quiet",
                             "--targets", str(res.calibrated.parent / "targets.yaml"),
                             "--out", str(folder / "validate")], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


def test_posterior_files(calibration):
    _, res = calibration
    for key in ("posterior_csv", "posterior_json", "posterior_png", "db"):
        assert res.files[key].is_file()
    assert res.posterior["weight"].sum() == pytest.approx(1.0)


def test_the_patterns_of_a_record_recover_a_known_parameter(tmp_path):
    """Fitted to a year of a record the model made with networks that decide alone, ABC finds them out."""
    from sim.analysis.observed import load_record
    from sim.analysis.patterns import weekly_prevented

    truth = 0.1  # networks that mostly decide alone: launches on many more nights (prior 0 to 1)
    base = Scenario(name="year", start_date="2025-01-01", days=365)
    made = ChannelModel(base.with_overrides(networks={"decide_together": truth}), seed=5).run()
    daily = made.daily_frame()
    daily[["date", "people_arrived", "boats_arrived"]].assign(date=daily["date"].dt.date).to_csv(
        tmp_path / "daily.csv", index=False)
    sundays = pd.date_range("2025-01-05", "2025-12-28", freq="7D")
    weekly = weekly_prevented(made.boats_frame(), sundays)
    weekly.assign(week_ending=weekly["week_ending"].dt.date, people_arrived=0, boats_arrived=0)[
        ["week_ending", "people_arrived", "boats_arrived", "people_prevented", "events_prevented"]].to_csv(
        tmp_path / "weekly.csv", index=False)
    record = load_record(daily=tmp_path / "daily.csv", weekly=tmp_path / "weekly.csv")
    (tmp_path / "year.yaml").write_text(yaml.safe_dump({"name": "year", "start_date": "2025-01-01", "days": 365}))
    targets = tmp_path / "targets.yaml"
    targets.write_text(yaml.safe_dump({"targets": [{
        "name": "people_crossed", "reported": float(made.summary()["people_crossed"]), "band": [0.0, 1e6],
        "key": "people_crossed", "source": "synthetic"}]}))
    res = run_calibration(tmp_path / "out", load_scenario(tmp_path / "year.yaml"), tmp_path / "year.yaml",
                          [Uncertain(key="networks.decide_together", low=0.0, high=1.0)], load_targets(targets), targets,
                          population=20, generations=3, seed=2, workers=1, observed_year=2025, record=record)
    s = res.summary["networks.decide_together"]
    # One year of a record is one draw of its weather: the posterior is near the truth, not on it.
    # With people leaving the coast, a year's patterns say less of this parameter than they did: the
    # posterior leans towards the truth (below the prior's median, 0.5) without ruling out the rest.
    assert s["q05"] <= truth < s["q95"] and s["median"] < 0.45, s
    stats = json.loads(res.files["posterior_json"].read_text())["statistics"]
    assert stats["pattern.arrival_day_share"] == pytest.approx((daily["people_arrived"] > 0).mean())
    assert stats["pattern.monthly_profile_distance"] == 0.0
    assert stats["people_crossed"] == float(made.summary()["people_crossed"])  # the target keeps its own name


class _Noisy:
    """A stand-in simulator: one statistic, the particle's value plus a seed's noise."""

    def __call__(self, particle: dict, seed: int) -> dict:
        noise = np.random.default_rng(seed).normal(0.0, 0.05)
        return {"x": particle["p0"] + noise, MONTHLY: abs(particle["p0"] - 0.5)}


def test_the_check_takes_the_particle_whose_replications_reproduce_the_observed_value():
    from sim.analysis.calibration import check_particles

    posterior = pd.DataFrame({"a": [0.1, 0.5, 0.9, 0.3], "weight": [0.4, 0.3, 0.2, 0.1]})
    chosen, table = check_particles(_Noisy(), posterior, ["a"], {"x": 0.5, MONTHLY: 0.0},
                                    top=3, replications=8)
    assert chosen == 1  # 0.5, not the heaviest particle (0.1)
    assert table["particle"].tolist()[0] == 1 and set(table["particle"]) == {0, 1, 2}  # the 3 heaviest only
    assert table.loc[table["particle"] == 1, "inside_90"].item() == 1
    assert table.loc[table["particle"] == 0, "inside_90"].item() == 0


def test_one_generation_is_rejection_abc_with_particles_of_equal_weight(calibration, tmp_path):
    """--generations 1 --acceptance Q: prior draws, the closest share Q kept, all of the same weight."""
    folder, _ = calibration
    scenario = load_scenario(folder / "small.yaml")
    params = [Uncertain(key="camps.inflow_per_day", low=50.0, high=250.0)]
    res = run_calibration(tmp_path / "out", scenario, folder / "small.yaml", params,
                          load_targets(folder / "targets.yaml"), folder / "targets.yaml",
                          population=12, generations=1, acceptance=0.3, seed=2, workers=1)
    weights = res.posterior["weight"].to_numpy()
    assert len(weights) == 12 and np.allclose(weights, 1 / 12)
    info = json.loads(res.files["posterior_json"].read_text())
    assert info["acceptance"] == 0.3 and info["effective_sample_size"] == pytest.approx(12)
    assert info["simulations"] > 12 / 0.3 * 0.5  # about 40 prior draws for 12 kept (and the calibration sample)
