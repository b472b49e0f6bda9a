"""channel-sim optimise: budgets, common random numbers, resuming after kill -9, plan files, bad inputs."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("optuna")

from sim.analysis import optimisation as opt  # noqa: E402
from sim.analysis.optimisation_outputs import write_outputs  # noqa: E402
from sim.analysis.optimisation_runs import check_timeline  # noqa: E402
from sim.analysis.optimisation_space import make_space, plan_of  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402
from tests.conftest import ROOT, SCENARIOS  # noqa: E402

EXE = Path(sys.executable).with_name("channel-sim")
BASELINE = SCENARIOS / "baseline.yaml"
#: A tiny study: 40-day runs from 1 June (launches every calm night), the plan from day 10, scored from day 20.
TINY = ["--days", "40", "--settle", "10", "--warmup", "10", "--seeds", "2", "--fresh-seeds", "3", "--plans", "2"]


def cli(*args, cwd=None):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([str(EXE), *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


@pytest.fixture(scope="module")
def summer(tmp_path_factory) -> Path:
    """The baseline from 1 June, so that a short run has launches to learn from."""
    path = tmp_path_factory.mktemp("scenario") / "summer.yaml"
    path.write_text(f"extends: {BASELINE}\nstart_date: 2025-06-01\n")
    return path


@pytest.fixture(scope="module")
def study(summer, tmp_path_factory):
    """A tiny study with every lever and a budget below the scenario's, run in this process."""
    scenario = load_scenario(summer)
    space = make_space(scenario, "patrols,drones,interception=none/before_pickup,lifeboats=1-4", 900, 8)
    settings = opt.Settings(scenario, summer, space, ("people_crossed", "lives_at_risk"), ("deaths",), 2,
                            check_timeline(40, 10, 10), seed=4)  # a seed whose 8 trials have feasible plans
    folder = tmp_path_factory.mktemp("opt") / "study"
    opt.search(folder, settings, 8, progress=False)
    result = opt.reevaluate(folder, settings, 2, 3, progress=False)
    write_outputs(result)
    _, loaded = opt.open_study(folder, settings)
    return settings, result, loaded


def _complete(study):
    from optuna.trial import TrialState

    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


def test_no_trial_exceeds_the_budgets(study):
    settings, _, loaded = study
    scenario = settings.scenario
    g = scenario.gendarmerie
    units_budget = int(900 * g.night_coast_share // g.officers_per_unit)
    trials = _complete(loaded)
    assert len(trials) >= 8
    for trial in trials:
        plan = plan_of(trial.params, settings.space)
        assert plan.personnel <= 900 <= g.personnel_per_day and plan.drones <= 8 <= scenario.surveillance.drones
        assert sum(plan.units_per_sector(scenario)) <= units_budget
        assert sum(plan.drones_per_sector(scenario)) <= 8
        assert 1 <= plan.lifeboats <= 4 and plan.interception in ("none", "before_pickup")


def test_a_study_run_again_from_scratch_proposes_the_same_plans(summer, tmp_path):
    scenario = load_scenario(summer)
    space = make_space(scenario, "patrols,drones", None, None)
    settings = opt.Settings(scenario, summer, space, ("people_crossed",), (), 1, check_timeline(40, 10, 10), seed=5)
    proposed = []
    for name in ("a", "b"):
        opt.search(tmp_path / name, settings, 4, progress=False)
        _, loaded = opt.open_study(tmp_path / name, settings)
        proposed.append([t.params for t in _complete(loaded)])
    assert len(proposed[0]) == 4 and proposed[0] == proposed[1]
    assert len({tuple(sorted(p.items())) for p in proposed[0]}) == 4  # four plans, not one proposed four times


def test_every_trial_runs_on_the_same_seeds_and_the_fresh_ones_are_new(study):
    settings, result, loaded = study
    seeds = settings.search_seeds()
    assert len(seeds) == 2
    for trial in _complete(loaded):
        assert trial.user_attrs["seeds"] == seeds
    assert result.fresh_seeds and not set(result.fresh_seeds) & set(seeds)
    assert len(loaded.user_attrs[opt._reference_key(seeds)]) == len(seeds)  # today's deployment on the same seeds


def test_the_chosen_plans_are_the_feasible_front(study):
    settings, result, loaded = study
    trials = result.trials
    chosen = {c.trial for c in result.chosen}
    assert chosen <= set(trials.loc[trials["front"], "trial"])
    assert trials.loc[trials["front"], "feasible"].all()
    front = trials[trials["front"]][list(settings.objectives)].to_numpy()
    for row in trials[trials["feasible"]][list(settings.objectives)].to_numpy():  # none dominates a front member
        assert not any(np.all(row <= f) and np.any(row < f) for f in front)


def test_plan_files_pass_check_and_deploy_as_the_trial(study, tmp_path):
    from sim.model import ChannelModel

    settings, result, loaded = study
    assert result.chosen, "no plan chosen"
    files = [c.file for c in result.chosen]
    checked = cli("check", *files)
    assert checked.returncode == 0, checked.stderr
    by_number = {t.number: t for t in _complete(loaded)}
    for c in result.chosen:
        plan = plan_of(by_number[c.trial].params, settings.space)
        s = load_scenario(c.file)
        assert tuple(s.gendarmerie.sector_weights) == plan.patrols
        assert tuple(s.surveillance.drone_sector_weights) == plan.drone_split
        assert s.policy.shallow_water_interception == plan.interception and s.maritime.lifeboats == plan.lifeboats
        assert s.gendarmerie.personnel_per_day == 900 and s.surveillance.drones == 8
        model = ChannelModel(s.with_overrides(days=1), seed=0)
        assert model.gendarmerie.units_per_sector.tolist() == plan.units_per_sector(settings.scenario)
        drones = np.bincount([d.sector for d in model.surveillance.drones], minlength=settings.space.sectors)
        assert drones.tolist() == plan.drones_per_sector(settings.scenario)
    batch = cli("batch", files[0], "-n", "1", "--days", "3", "--quiet", "--out", tmp_path / "b")
    assert batch.returncode == 0, batch.stderr
    for name in ("pareto.md", "pareto.png", "trials.csv"):
        assert (result.folder / name).stat().st_size > 0
    assert all(f"plans/{c.name}.yaml" in (result.folder / "pareto.md").read_text() for c in result.chosen)


def test_a_study_killed_mid_way_resumes(summer, tmp_path):
    """kill -9 in the middle of a study; the same command again keeps its trials and completes the count."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    from optuna.trial import TrialState

    out = tmp_path / "study"
    args = ["optimise", summer, *TINY, "--trials", "24", "--workers", "1", "--quiet", "--out", out]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([str(EXE), *map(str, args)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def trials():
        storage = JournalStorage(JournalFileBackend(str(out / "study.log")))
        return optuna.load_study(study_name=opt.STUDY, storage=storage).get_trials(deepcopy=False)

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if (out / "study.log").exists():
            try:
                found = trials()
            except KeyError:  # the study is being created
                found = []
            if sum(t.state == TrialState.COMPLETE for t in found) >= 3:
                break
        time.sleep(0.2)
    assert proc.poll() is None, f"the study ended before it could be killed: {proc.stderr.read().decode()}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = trials()
    done_before = {t.number: t.values for t in before if t.state == TrialState.COMPLETE}
    running = [t.number for t in before if t.state == TrialState.RUNNING]
    assert 3 <= len(done_before) < 24

    again = cli(*args)
    assert again.returncode == 0, again.stderr
    after = {t.number: t for t in trials()}
    assert all(after[n].state == TrialState.COMPLETE and after[n].values == v for n, v in done_before.items())
    assert sum(t.state == TrialState.COMPLETE for t in after.values()) >= 24
    assert not any(t.state == TrialState.RUNNING for t in after.values())
    for number in running:  # left running by the killed process: failed, and its whole plan tried again
        assert after[number].state == TrialState.FAIL
        retry = [t for t in after.values() if t.user_attrs.get("requeued_from") == number]
        if len(after[number].params) == 20:  # killed once its plan was drawn (patrols and drones, 10 sectors each)
            assert retry and retry[0].params == after[number].params and retry[0].state == TrialState.COMPLETE
        else:  # killed while drawing it: nothing to try again
            assert not retry
    assert (out / "pareto.md").is_file() and (out / "pareto.png").is_file()


@pytest.mark.parametrize("extra, expected", [
    (["--levers", "patrols,radar"], "unknown lever 'radar'"),
    (["--objectives", "people_crosed"], "did you mean 'people_crossed'?"),
    (["--no-worse", "happiness"], "--no-worse: unknown objective 'happiness'"),
    (["--levers", "patrols,lifeboats=4-2"], "an empty range"),
    (["--levers", "interception=none"], "fewer than two modes"),
    (["--drones", "0"], "--drones: expected a number >= 1"),
    (["--personnel", "10"], "no patrol unit"),
    (["--drones", "99"], "more than the scenario's 12"),
    (["--settle", "150", "--warmup", "60"], "no day left to score"),
    (["--fresh-seeds", "1"], "--fresh-seeds 1: expected at least 2"),
    (["--out", "{file}"], "is a file"),
    (["--out", "{other}"], "holds no study"),
])
def test_bad_inputs_are_one_line_and_exit_2(tmp_path, extra, expected):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    extra = [e.format(file=tmp_path / "afile", other=tmp_path / "other") for e in extra]
    args = ["optimise", BASELINE, "--days", "200", "--trials", "1", "--workers", "1", "--quiet"] + extra
    if "--out" not in extra:
        args += ["--out", tmp_path / "o"]
    from sim.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            status = main([str(a) for a in args])
        except SystemExit as exc:  # the parser's own refusals
            status = exc.code
    stderr = err.getvalue()
    lines = stderr.strip().splitlines()
    assert status == 2 and len(lines) == 1 and expected in lines[0] and "Traceback" not in stderr, stderr
    assert not (tmp_path / "o").exists()


def test_a_folder_holding_another_study_is_refused(summer, tmp_path):
    out = tmp_path / "study"
    first = cli("optimise", summer, *TINY, "--trials", "2", "--workers", "1", "--quiet", "--out", out)
    assert first.returncode == 0, first.stderr
    other = cli("optimise", summer, *TINY, "--trials", "2", "--seed", "9", "--quiet", "--out", out)
    assert other.returncode == 2 and "holds a different study (seed differ)" in other.stderr
    assert len(other.stderr.strip().splitlines()) == 1


def test_drone_weights_for_other_sectors_are_one_line(tmp_path):
    path = tmp_path / "drones.yaml"
    path.write_text("surveillance:\n  drone_sector_weights: [1, 2]\n")
    result = cli("check", path)
    assert result.returncode == 2
    assert "surveillance.drone_sector_weights: 2 weights for the 10 sectors" in result.stderr


def test_a_study_on_a_dask_cluster_gives_the_trials_of_one_worker(summer, tmp_path):
    distributed = pytest.importorskip("distributed")
    scenario = load_scenario(summer)
    space = make_space(scenario, "patrols,drones", None, None)
    settings = opt.Settings(scenario, summer, space, ("people_crossed", "deaths"), (), 2, check_timeline(40, 10, 10),
                            seed=6)

    def trials(folder):
        _, loaded = opt.open_study(folder, settings)
        return sorted((t.number, tuple(sorted(t.params.items())), tuple(t.values)) for t in _complete(loaded))

    opt.search(tmp_path / "one", settings, 5, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        opt.search(tmp_path / "dask", settings, 5, scheduler=cluster.scheduler_address, progress=False)
    one = trials(tmp_path / "one")
    assert len(one) == 5 and trials(tmp_path / "dask") == one
