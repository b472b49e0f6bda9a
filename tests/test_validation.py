"""Validation against the reported rates: the targets file and `channel-sim validate`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim.errors import ScenarioError
from sim.analysis.validation import evaluate, load_targets
from tests.conftest import ROOT, SCENARIOS

EXE = Path(sys.executable).parent / "channel-sim"
TARGETS = ROOT / "sim" / "data" / "targets.yaml"


def test_targets_file_names_its_sources():
    targets = load_targets(TARGETS)
    names = {t.name for t in targets}
    assert {"taxi_boat_success_rate", "people_crossed", "people_prevented", "mean_people_per_boat", "taxi_share"} <= names
    for t in targets:
        assert t.band[0] <= t.reported <= t.band[1], t.name
        assert "seed" in t.source or "channel-facts" in t.source or "derived" in t.source, t.name


def test_formula_is_evaluated_over_summary_keys():
    assert evaluate("taxi_boats_attempted / boats_attempted", {"taxi_boats_attempted": 45, "boats_attempted": 100}) == 0.45
    with pytest.raises(ValueError):
        evaluate("__import__('os')", {})


@pytest.mark.parametrize("entry, message", [
    ({"name": "x", "reported": 1, "band": [0, 2], "key": "not_a_key", "source": "s"}, "not a summary key"),
    ({"name": "x", "reported": 1, "band": [0, 2], "source": "s"}, "exactly one of key or formula"),
    ({"name": "x", "reported": 1, "band": [2, 0], "key": "deaths", "source": "s"}, "low end above high end"),
])
def test_bad_targets_are_one_clear_line(tmp_path, entry, message):
    p = tmp_path / "targets.yaml"
    p.write_text(yaml.safe_dump({"targets": [entry]}))
    with pytest.raises(ScenarioError) as info:
        load_targets(p)
    assert message in str(info.value) and "targets.yaml" in str(info.value) and "\n" not in str(info.value)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("validate")
    shutil.copytree(SCENARIOS, d / "scenarios")
    return d


def _validate(workdir, *extra):
    return subprocess.run([str(EXE), "validate", "scenarios/baseline.yaml", "-n", "4", "--quiet", *extra],
                          capture_output=True, text=True, cwd=workdir, timeout=600)


def test_validate_passes_on_the_baseline(workdir):
    result = _validate(workdir, "--out", "results/v")
    assert result.returncode == 0, result.stdout + result.stderr
    out = workdir / "results" / "v"
    table = pd.read_csv(out / "validation.csv")
    assert table["passed"].all()
    assert (table["ci_low"] <= table["mean"]).all() and (table["mean"] <= table["ci_high"]).all()
    assert (out / "validation.png").is_file() and "taxi_boat_success_rate" in (out / "validation.md").read_text()
    assert "8 of 8 targets passed" in result.stdout


def test_validate_fails_when_a_target_is_moved_out_of_reach(workdir):
    moved = yaml.safe_load(TARGETS.read_text())
    for t in moved["targets"]:
        if t["name"] == "taxi_boat_success_rate":
            t["reported"], t["band"] = 0.5, [0.45, 0.55]
    (workdir / "moved.yaml").write_text(yaml.safe_dump(moved))
    result = _validate(workdir, "--out", "results/v", "--targets", "moved.yaml")  # the same runs, reused
    assert result.returncode == 1
    table = pd.read_csv(workdir / "results" / "v" / "validation.csv")
    assert list(table.loc[~table["passed"], "target"]) == ["taxi_boat_success_rate"]
    assert "FAIL" in result.stdout
