"""Sensitivity analysis finds the parameter built to dominate an outcome."""

from __future__ import annotations

import pytest
import yaml

pytest.importorskip("SALib")

from sim.errors import ScenarioError  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402
from sim.analysis.sensitivity import load_parameters, run_sensitivity  # noqa: E402
from tests.conftest import SCENARIOS  # noqa: E402

INFLOW = "camps.inflow_per_day"


@pytest.fixture(scope="module")
def analysis(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sens")
    params_file = folder / "params.yaml"
    # Arrivals at the camps set how many can cross; the other two barely matter for that.
    params_file.write_text(yaml.safe_dump({"parameters": [
        {"key": INFLOW, "low": 50, "high": 250},
        {"key": "weather.persistence", "low": 0.5, "high": 0.8},
        {"key": "networks.hearsay_weight", "low": 0.1, "high": 0.5},
    ]}))
    params = load_parameters(params_file)
    # 60 days of summer: a winter's rough spell can hold every launch for weeks
    summer = load_scenario(SCENARIOS / "baseline.yaml").with_overrides(start_date="2025-06-01")
    result = run_sensitivity(folder / "out", summer, params,
                             outcomes=["people_crossed"], trajectories=4, sobol_samples=8, top=2,
                             days=60, workers=2, progress=False)
    return folder / "out", result


def test_morris_ranks_the_dominant_parameter_first(analysis):
    _, res = analysis
    m = res.morris.set_index("parameter")["mu_star"]
    assert m.idxmax() == INFLOW
    assert m[INFLOW] > 5 * m.drop(INFLOW).max()
    assert res.influential[0] == INFLOW


def test_sobol_gives_it_the_largest_total_index(analysis):
    _, res = analysis
    st = res.sobol.set_index("parameter")["ST"]
    assert st.idxmax() == INFLOW
    assert st[INFLOW] > 0.5 and st.drop(INFLOW).max() < 0.2


def test_tables_and_figures_are_written(analysis):
    out, res = analysis
    for name in ("morris.csv", "sobol.csv", "morris.png", "sobol.png"):
        assert (out / name).is_file()
    assert (out / "morris" / "manifest.json").is_file()  # runs went through the batch machinery


def test_bad_parameter_file(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text(yaml.safe_dump({"parameters": [{"key": "surveillance.dronez", "low": 1, "high": 2}]}))
    with pytest.raises(ScenarioError, match="not a scenario key"):
        load_parameters(p)
    p.write_text(yaml.safe_dump({"parameters": [{"key": "surveillance.drones", "low": 5, "high": 2}]}))
    with pytest.raises(ScenarioError, match="low < high"):
        load_parameters(p)


def test_the_shipped_parameters_are_valid():
    assert len(load_parameters()) >= 10


def test_a_folder_it_does_not_own_is_left_alone(tmp_path):
    from sim.errors import RunDirError

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "morris.csv").write_text("my own table\n")
    with pytest.raises(RunDirError, match="not a sensitivity folder"):
        run_sensitivity(mine, load_scenario(SCENARIOS / "baseline.yaml"), load_parameters(), trajectories=2,
                        sobol_samples=0, days=5, progress=False)
    assert (mine / "morris.csv").read_text() == "my own table\n"
