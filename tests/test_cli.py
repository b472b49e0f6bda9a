"""The command line end to end, as a user runs it."""

from __future__ import annotations

import glob
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.outcomes import BOAT_COLUMNS, SUMMARY_KEYS
from sim.runs.store import load_results
from tests.conftest import ROOT, SCENARIOS

EXE = Path(sys.executable).parent / "channel-sim"


def cli(*args, cwd=None):
    return subprocess.run([str(EXE), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "base30"
    result = cli("run", SCENARIOS / "baseline.yaml", "--seed", 5, "--days", 30, "--out", out)
    return result, out


def test_run_writes_the_run_folder(short_run):
    result, out = short_run
    assert result.returncode == 0, result.stderr
    assert {p.name for p in out.iterdir()} == {"scenario.yaml", "summary.json", "boats.parquet", "daily.parquet", "tracks.parquet",
                                               "provenance.json", "summary.md"}
    summary = json.loads((out / "summary.json").read_text())
    assert set(SUMMARY_KEYS) <= set(summary)
    assert summary["days"] == 30 and summary["seed"] == 5 and summary["scenario"] == "baseline"
    boats = pd.read_parquet(out / "boats.parquet")
    assert list(boats.columns) == list(BOAT_COLUMNS)
    assert len(boats) == summary["boats_attempted"]
    assert set(boats["kind"]) <= {"beach", "taxi"}
    daily = pd.read_parquet(out / "daily.parquet")
    assert len(daily) == 30 and {"date", "wave_m", "boats_attempted"} <= set(daily.columns)
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["seed"] == 5 and len(prov["scenario_hash"]) == 16


def test_run_prints_a_table(short_run):
    result, out = short_run
    assert "taxi-boat success rate" in result.stdout and str(out) in result.stdout


def test_resolved_scenario_reruns_identically(short_run, tmp_path):
    _, out = short_run
    again = tmp_path / "again"
    result = cli("run", out / "scenario.yaml", "--seed", 5, "--out", again)
    assert result.returncode == 0, result.stderr
    a = pd.read_parquet(out / "boats.parquet")
    b = pd.read_parquet(again / "boats.parquet")
    pd.testing.assert_frame_equal(a, b)


def test_existing_folder_is_never_overwritten(short_run):
    _, out = short_run
    before = (out / "summary.json").read_text()
    result = cli("run", SCENARIOS / "baseline.yaml", "--days", 5, "--out", out)
    assert result.returncode == 2
    assert "already exists" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert (out / "summary.json").read_text() == before


def test_default_folder_is_new_each_time(tmp_path):
    shutil.copytree(SCENARIOS, tmp_path / "scenarios")
    for _ in range(2):
        assert cli("run", "scenarios/baseline.yaml", "--days", 3, "--quiet", cwd=tmp_path).returncode == 0
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == ["baseline-seed0", "baseline-seed0-2"]


@pytest.mark.parametrize("content, expected", [
    ("networks:\n  taxi_preferance: 0.5\n", "did you mean 'taxi_preference'"),
    ("days: many\n", "days"),
    ("extends: missing.yaml\n", "file not found"),
])
def test_bad_scenario_is_one_line_exit_2(tmp_path, content, expected):
    bad = tmp_path / "bad.yaml"
    bad.write_text(content)
    for command in (["run", bad, "--out", tmp_path / "out"], ["check", bad],
                    ["batch", bad, "-n", 2, "-j", 2, "--out", tmp_path / "out"]):
        result = cli(*command)
        assert result.returncode == 2
        assert "Traceback" not in result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "bad.yaml" in lines[0] and expected in lines[0]
    assert not (tmp_path / "out").exists()


def test_batch_on_two_workers_gives_what_one_gives(tmp_path):
    """The console script on two workers (its fork server started before the
    command line's own imports) writes the runs one worker writes."""
    for workers in (1, 2):
        result = cli("batch", SCENARIOS / "baseline.yaml", "-n", 3, "--days", 30, "-j", workers,
                     "--out", tmp_path / f"j{workers}", "--quiet")
        assert result.returncode == 0, result.stderr
    one, two = (load_results(tmp_path / f"j{w}")["summaries"].drop(columns=["started", "seconds"])
                .sort_values("run").reset_index(drop=True) for w in (1, 2))
    assert len(one) == 3
    pd.testing.assert_frame_equal(one, two)


def test_command_line_starts_light():
    """Importing the command line leaves the heavy libraries for later, so a
    batch can start its workers' fork server before importing them."""
    code = "import sys, sim.cli; print(sorted(m for m in ('pandas', 'mesa', 'pydantic', 'pyarrow') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_bad_arguments_exit_2(tmp_path):
    result = cli("run", SCENARIOS / "baseline.yaml", "--days", 0)
    assert result.returncode == 2 and "--days" in result.stderr and "Traceback" not in result.stderr


def test_check_accepts_the_shipped_scenarios():
    files = sorted(SCENARIOS.glob("*.yaml")) + sorted(SCENARIOS.glob("structure/*.yaml"))
    result = cli("check", *files)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": ok") == len(files)


def test_readme_commands_run(tmp_path):
    """Every `channel-sim` command shown in the README works as written (lines ending in \\ go on).

    The sensitivity, calibration, discovery and optimisation examples (minutes of runs) are covered by
    their own tests on small designs, and are skipped here with what depends on them;
    a batch of more than 60 year-long runs is parsed and its scenarios checked, not run.
    """
    from sim.cli import build_parser

    lines = (ROOT / "README.md").read_text().replace("\\\n", " ").splitlines()
    commands = [" ".join(line.strip().removeprefix("$ ").split()) for line in lines
                if line.strip().removeprefix("$ ").startswith("channel-sim ")]
    commands = [c for c in commands if c.split()[1] not in ("sensitivity", "calibrate", "discover", "optimise")
                and "calibrate-" not in c and "optimise-" not in c]
    assert commands, "the README shows no channel-sim command"
    shutil.copytree(SCENARIOS, tmp_path / "scenarios")
    shutil.copytree(ROOT / "sim" / "data", tmp_path / "sim" / "data")
    for command in commands:
        args = [match for word in command.split()[1:]  # a pattern expands as a shell expands it
                for match in (sorted(glob.glob(word, root_dir=tmp_path)) or [word] if "*" in word else [word])]
        parsed = build_parser().parse_args(args)
        if parsed.command == "app":  # serves until stopped (tests/test_app*.py run it): parsed, its scenario checked
            if parsed.scenario is not None and parsed.scenario.suffix == ".yaml":
                check = cli("check", parsed.scenario, cwd=tmp_path)
                assert check.returncode == 0, f"{command}: {check.stderr}"
            continue
        if parsed.command == "batch":
            years = (parsed.days or 365) / 365
            runs = len(parsed.scenarios) * parsed.replications * (parsed.draws or (10 if parsed.posterior else 1))
            if runs * years > 60:
                check = cli("check", *parsed.scenarios, cwd=tmp_path)
                assert check.returncode == 0, f"{command}: {check.stderr}"
                continue
        result = cli(*args, cwd=tmp_path)
        if "--observed" in args and result.returncode == 1:  # a verdict on the model, not a broken command
            assert "FAIL" in result.stdout and "Traceback" not in result.stderr, f"{command}: {result.stderr}"
            continue
        assert result.returncode == 0, f"{command}: {result.stderr}"


def test_readme_make_targets_exist():
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    for target in ("run", "test"):
        dry = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True)
        assert dry.returncode == 0, dry.stderr


@pytest.mark.parametrize("args, expected", [
    (["batch", SCENARIOS / "baseline.yaml", "-n", "1", "--days", "5", "--sweep", "policy.barrages=[canche"], "--sweep"),
    (["run", SCENARIOS / "baseline.yaml", "--days", "5", "--out", "{file}/sub"], "expected a folder"),
    (["batch", SCENARIOS / "baseline.yaml", "-n", "1", "--days", "5", "--out", "{file}/sub"], "expected a folder"),
    (["report", "{damaged}"], "damaged manifest"),
])
def test_bad_paths_and_options_are_one_line(tmp_path, args, expected):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "dm").mkdir()
    (tmp_path / "dm" / "manifest.json").write_text("[]")
    args = [str(a).format(file=tmp_path / "afile", damaged=tmp_path / "dm") for a in args]
    if "--out" not in args and args[0] == "batch":
        args += ["--out", str(tmp_path / "o")]
    result = cli(*args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and "Traceback" not in result.stderr


def test_every_command_reads_the_shipped_targets_unless_given_others(tmp_path, monkeypatch, capsys):
    """validate and the report of a batch read sim/data/targets.yaml wherever the scenario and the user are
    (a targets.yaml beside the scenario is not read), and --targets FILE when it is given."""
    from sim.cli import main

    here = tmp_path / "mine"
    here.mkdir()
    shutil.copy(SCENARIOS / "baseline.yaml", here / "baseline.yaml")
    shipped = (ROOT / "sim" / "data" / "targets.yaml").read_text()
    (here / "targets.yaml").write_text(shipped.replace("reported: 41472", "reported: 40111"))
    (tmp_path / "other.yaml").write_text(shipped.replace("reported: 41472", "reported: 41999"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    scenario = str(here / "baseline.yaml")
    assert main(["batch", scenario, "-n", "2", "--days", "10", "-j", "1", "--out", str(tmp_path / "b"),
                 "--report", "--quiet"]) == 0
    md = (tmp_path / "b" / "report.md").read_text()
    assert "41,472" in md and "40,111" not in md
    assert main(["report", str(tmp_path / "b"), "--targets", str(tmp_path / "other.yaml")]) == 0
    assert "41,999" in (tmp_path / "b" / "report.md").read_text()
    assert main(["validate", scenario, "-n", "2", "--days", "10", "-j", "1", "--out", str(tmp_path / "v"),
                 "--quiet"]) in (0, 1)
    assert "41,472" in (tmp_path / "v" / "validation.md").read_text()
    assert main(["validate", scenario, "-n", "2", "--days", "10", "-j", "1", "--out", str(tmp_path / "v"),
                 "--targets", str(tmp_path / "other.yaml"), "--quiet"]) in (0, 1)
    assert "41,999" in (tmp_path / "v" / "validation.md").read_text()
    capsys.readouterr()
    assert main(["validate", scenario, "-n", "2", "--days", "10", "--targets", str(tmp_path / "none.yaml"),
                 "--out", str(tmp_path / "w")]) == 2
    err = capsys.readouterr().err
    assert "none.yaml: file not found" in err and len(err.strip().splitlines()) == 1


def test_validate_finds_the_targets_of_a_run_folder(tmp_path):
    """The resolved scenario.yaml that `channel-sim run` writes validates as it is."""
    assert cli("run", SCENARIOS / "baseline.yaml", "--days", 10, "--out", tmp_path / "r", "--quiet").returncode == 0
    result = cli("validate", tmp_path / "r" / "scenario.yaml", "-n", 2, "--days", 10, "-j", 1, "--quiet",
                 "--out", tmp_path / "v")
    assert result.returncode in (0, 1), result.stderr
    assert "targets passed" in result.stdout and "Traceback" not in result.stderr


def test_check_replications_without_check_top_is_one_line(tmp_path):
    result = cli("calibrate", SCENARIOS / "baseline.yaml", "--check-replications", 5, "--out", tmp_path / "c")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == ("channel-sim: error: --check-replications: given without --check-top K; "
                                     "expected --check-top with the number of particles to check")
    assert not (tmp_path / "c").exists()
