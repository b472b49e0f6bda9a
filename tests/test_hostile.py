"""Bad input as a hostile user gives it: one line, exit 2, no traceback, nothing lost."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sim.errors import ScenarioError
from tests.conftest import SCENARIOS

EXE = Path(sys.executable).parent / "channel-sim"
BASELINE = str(SCENARIOS / "baseline.yaml")


def cli(*args, cwd=None, env=None):
    return subprocess.run([str(EXE), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300,
                          env={**os.environ, **(env or {})})


def one_line(result, expected: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [ln for ln in result.stderr.strip().splitlines() if not ln.startswith("runs:")]
    assert len(lines) == 1 and expected in lines[0], result.stderr


TARGET = "targets:\n  - name: x\n    reported: 1\n    source: s\n"


@pytest.mark.parametrize("entry, expected", [
    ("    band: [0, 2]\n    formula: people_crossed / 0\n", "divides by zero"),
    ("    band: [.nan, 2]\n    key: people_crossed\n", "targets.0.band.0: Input should be a finite number"),
    ("    band: [0, .inf]\n    key: people_crossed\n", "targets.0.band.1: Input should be a finite number"),
    ("    band: [0, 2]\n    key: scenario\n", "'scenario' is not a number of the summary"),
    ("    band: [0, 2]\n    formula: " + "+".join(["deaths"] * 30000) + "\n", "expected at most 500"),
])
def test_bad_targets_are_refused_before_any_run(tmp_path, entry, expected):
    targets = tmp_path / "targets.yaml"
    targets.write_text(TARGET + entry)
    one_line(cli("validate", BASELINE, "--targets", targets, "-n", 1, "--days", 5, "--out", tmp_path / "v"), expected)
    assert not (tmp_path / "v").exists()


@pytest.mark.parametrize("entry, expected", [
    ("{key: crossing.load_exponent, low: 1, high: .inf}", "parameters.0.high: Input should be a finite number"),
    ("{key: camps.ready_fraction, low: 0.5, high: 2}", "parameters.0.high: 2.0 is not a value of camps.ready_fraction"),
])
@pytest.mark.parametrize("command", ["sensitivity", "calibrate"])
def test_bad_parameter_ranges_are_refused_and_leave_nothing(tmp_path, entry, expected, command):
    params = tmp_path / "uncertain.yaml"
    params.write_text(f"parameters:\n  - {entry}\n")
    one_line(cli(command, BASELINE, "--parameters", params, "--days", 5, "--out", tmp_path / "o"), expected)
    assert not (tmp_path / "o").exists()


def test_a_loop_of_symbolic_links_is_one_line(tmp_path):
    (tmp_path / "a.yaml").symlink_to(tmp_path / "b.yaml")
    (tmp_path / "b.yaml").symlink_to(tmp_path / "a.yaml")
    one_line(cli("check", tmp_path / "a.yaml"), "a loop of symbolic links")


@pytest.mark.parametrize("manifest, expected", [
    ('{"batches": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
    ('{"batches": [{"definition": {"scenarios": {"a": "x"}}}], "scenarios": {}}', "damaged manifest"),
])
def test_a_damaged_manifest_is_one_line(tmp_path, manifest, expected):
    folder = tmp_path / "b"
    (folder / "runs").mkdir(parents=True)
    (folder / "manifest.json").write_text(manifest)
    one_line(cli("report", folder), expected)
    one_line(cli("batch", BASELINE, "-n", 1, "--days", 5, "--out", folder), expected)


@pytest.mark.parametrize("option, env", [(["--scheduler", "tcp://::::bad"], {}),
                                         ([], {"DASK_SCHEDULER_ADDRESS": "nonsense"})])
def test_a_malformed_scheduler_address_is_one_line(tmp_path, option, env):
    pytest.importorskip("distributed")
    one_line(cli("batch", BASELINE, "-n", 1, "--days", 5, "--out", tmp_path / "b", "--quiet", *option, env=env),
             "not a scheduler address")


@pytest.mark.parametrize("text, expected", [
    ("operations:\n  hide_hours_max: 1e300\n", "operations.hide_hours_max: input should be less than or equal to 24"),
    ("crossing:\n  load_exponent: 5000\n", "crossing.load_exponent: input should be less than or equal to 10"),
    ("operations:\n  taxi_speed_kmh: 1e-300\n", "operations.taxi_speed_kmh: input should be greater than or equal"),
])
def test_values_that_would_break_a_run_are_refused(tmp_path, text, expected):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    one_line(cli("run", path, "--days", 5, "--out", tmp_path / "r"), expected)


def test_the_slowest_taxi_runs_allowed_still_run(tmp_path):
    from sim.model import ChannelModel
    from sim.scenario import from_dict

    scenario = from_dict({"days": 40, "operations": {"taxi_speed_kmh": 0.5, "taxi_max_run_km": 150},
                          "crossing": {"load_exponent": 10, "wave_factor_per_m": 10}})
    summary = ChannelModel(scenario, 1).run().summary()
    assert summary["boats_attempted"] > 0


@pytest.mark.parametrize("args, expected", [
    (["run", BASELINE, "--days", "1000000000"], "--days: expected at most 36500 days"),
    (["sensitivity", BASELINE, "--sobol-samples", "-4"], "--sobol-samples: expected a number >= 0"),
])
def test_out_of_range_options_are_one_line(args, expected):
    one_line(cli(*args), expected)


def test_validate_does_not_advise_an_option_it_does_not_have(tmp_path):
    out = tmp_path / "v"
    assert cli("validate", BASELINE, "-n", 1, "--days", 5, "--out", out, "--quiet").returncode in (0, 1)
    again = cli("validate", BASELINE, "-n", 2, "--days", 5, "--out", out, "--quiet")
    one_line(again, "holds a different batch")
    assert "--append" not in again.stderr


def test_two_runs_without_out_at_once_both_land(tmp_path):
    procs = [subprocess.Popen([str(EXE), "run", BASELINE, "--days", "20", "--quiet"], cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == ["baseline-seed0", "baseline-seed0-2"]


def test_a_run_folder_has_the_usual_permissions(tmp_path):
    out = tmp_path / "r"
    assert cli("run", BASELINE, "--days", 5, "--out", out, "--quiet").returncode == 0
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o777 & ~mask


def test_a_manifest_that_cannot_be_written_leaves_no_temporary_file(tmp_path, monkeypatch):
    from sim.runs import store

    def full(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(OSError):
        store.write_manifest(tmp_path, {"batches": []})
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_names_the_folder(tmp_path, monkeypatch, capsys):
    from sim import cli as command_line

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("sim.runs.rundir.write_run", full)
    assert command_line.main(["run", BASELINE, "--days", "5", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert f"error: {tmp_path / 'r'}: No space left on device" in err


def test_scenario_error_is_a_user_error():
    from sim.errors import UserError

    assert issubclass(ScenarioError, UserError)


def test_every_hostile_input_of_the_script_is_one_line_exit_2():
    """tests/hostile_inputs.py: at least 40 cases across every command (its table is in the README)."""
    sys.path.insert(0, str(Path(__file__).parent))
    import hostile_inputs

    rows = hostile_inputs.run_all()
    assert len(rows) >= 40
    commands = {row["case"].split(":")[0] for row in rows}
    assert {"check", "run", "batch", "report", "validate", "sensitivity", "calibrate", "discover", "optimise",
            "app"} <= commands
    assert [row for row in rows if not hostile_inputs.behaves(row)] == []


def test_what_was_valid_before_stays_valid(tmp_path):
    """Merge keys with overrides, formulas whose divisor is a difference, per-day rates, dates with a zero time."""
    from sim.analysis.validation import load_targets
    from sim.scenario import load_scenario

    scenario = tmp_path / "s.yaml"
    scenario.write_text("surveillance: &assets\n  drones: 6\n  aircraft: 2\n"
                        "schedule:\n  - date: 2025-11-25 00:00:00\n    policy: {returns: true}\n")
    s = load_scenario(scenario)
    assert s.surveillance.drones == 6 and s.schedule[0].date.isoformat() == "2025-11-25"
    targets = tmp_path / "targets.yaml"
    targets.write_text("targets:\n"
                       "  - &first {name: a, reported: 1, band: [0, 2], source: s,\n"
                       "            formula: people_prevented / (boats_attempted - taxi_boats_attempted)}\n"
                       "  - {<<: *first, name: b, formula: people_crossed / days, band: [0, 500]}\n")
    assert [t.name for t in load_targets(targets)] == ["a", "b"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("targets:\n  - {name: c, reported: 1, band: [0, 2], source: s, formula: deaths / (2 - 2)}\n")
    with pytest.raises(ScenarioError, match="divides by zero"):
        load_targets(bad)


def test_a_sweep_value_reads_as_in_a_scenario_file():
    from sim.runs.batch import parse_sweep

    assert parse_sweep("crossing.failure_per_hour=1e-2,2e-2") == ("crossing.failure_per_hour", [0.01, 0.02])


def test_parameter_ranges_are_checked_against_the_scenario_given(tmp_path):
    from sim.analysis.sensitivity import load_parameters
    from sim.scenario import from_dict

    params = tmp_path / "u.yaml"
    params.write_text("parameters:\n  - {key: operations.hide_hours_max, low: 0.5, high: 2}\n")
    with pytest.raises(ScenarioError, match="hide_hours_min"):
        load_parameters(params)  # the default hide_hours_min (1.0) is above 0.5
    assert len(load_parameters(params, from_dict({"operations": {"hide_hours_min": 0.25}}))) == 1


def test_an_old_folder_with_appended_batches_is_complete(tmp_path):
    """Manifests from before planned runs were recorded: appended batches sharing runs are not counted twice."""
    import json

    from sim.analysis.report import write_report
    from sim.runs.batch import plan_batch, run_batch
    from sim.scenario import load_scenario

    folder = tmp_path / "b"
    base = load_scenario(SCENARIOS / "baseline.yaml")
    run_batch(folder, plan_batch([base], replications=2, days=5), progress=False)
    run_batch(folder, plan_batch([base], replications=3, days=5), progress=False, append=True)
    manifest = json.loads((folder / "manifest.json").read_text())
    for entry in manifest["batches"]:
        entry.pop("planned")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    write_report(folder)  # 3 runs, not 5 missing 2
    assert (folder / "report.md").is_file()
