"""The notebooks run end to end on a small batch."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")


@pytest.fixture(scope="module")
def small_batch(tmp_path_factory):
    from sim.runs.batch import plan_batch, run_batch
    from sim.scenario import load_scenario

    folder = tmp_path_factory.mktemp("nb") / "batch"
    names = ["baseline", "shallow_water_300m"]
    plan = plan_batch([load_scenario(ROOT / "scenarios" / f"{n}.yaml") for n in names], replications=3, days=60)
    run_batch(folder, plan, workers=2, progress=False)
    return folder


@pytest.mark.parametrize("name", ["explore_results", "policy_comparison"])
def test_notebook_runs(name, small_batch, monkeypatch):
    monkeypatch.setenv("CHANNEL_SIM_RESULTS", str(small_batch))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(ROOT / "notebooks")}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    assert any(o.output_type in ("display_data", "execute_result") for c in nb.cells if c.cell_type == "code"
               for o in c.get("outputs", []))
