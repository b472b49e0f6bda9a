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


def _execute(name: str):
    """Run a notebook (a copy of it: the file keeps its cleared outputs) and return the outputs of its cells."""
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(ROOT / "notebooks")}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any(o.output_type in ("display_data", "execute_result") for o in outputs)
    return outputs


@pytest.mark.parametrize("name", ["explore_results", "policy_comparison"])
def test_notebook_runs(name, small_batch, monkeypatch):
    monkeypatch.setenv("CHANNEL_SIM_RESULTS", str(small_batch))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    _execute(name)


def test_deployment_and_discovery_runs(tmp_path, monkeypatch):
    """Without the README's batch and study, the notebook says so and makes small ones in a temporary folder."""
    pytest.importorskip("ema_workbench")
    pytest.importorskip("optuna")
    missing = {"CHANNEL_SIM_DISCOVERY": tmp_path / "doctrine", "CHANNEL_SIM_OPTIMISE": tmp_path / "optimise-baseline"}
    for key, folder in missing.items():
        monkeypatch.setenv(key, str(folder))
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the kernel's temporary folders
    monkeypatch.setenv("MPLBACKEND", "Agg")
    outputs = _execute("deployment_and_discovery")
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    for folder in missing.values():
        assert f"No batch in {folder}" in text or f"No finished study in {folder}" in text
        assert not folder.exists()
    made = {p.name.rsplit("-", 1)[0] for p in tmp_path.iterdir()}
    assert {"channel-sim-discovery", "channel-sim-discover", "channel-sim-optimise"} <= made
    shown = [o for o in outputs if o.output_type == "display_data"]
    assert sum("image/png" in o.get("data", {}) for o in shown) >= 6  # the figures
    assert sum("text/markdown" in o.get("data", {}) for o in shown) >= 8  # the prose computed from the results
