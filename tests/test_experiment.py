"""Batches and the results store: seeds, executors, resume, lock, corruption, loading."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.runs.batch import parse_sweep, plan_batch, replication_seeds, run_batch
from sim.errors import ScenarioError
from sim.scenario import load_scenario
from sim.errors import StoreError
from sim.runs.store import BatchLock, load_results
from tests.conftest import SCENARIOS

EXE = Path(sys.executable).parent / "channel-sim"
VOLATILE = ["started", "seconds", "git_commit"]


def small_plan(replications=2, days=20, sweeps=None):
    scenarios = [load_scenario(SCENARIOS / "baseline.yaml"), load_scenario(SCENARIOS / "shallow_water_300m.yaml")]
    return plan_batch(scenarios, replications, days, sweeps)


def summaries(folder) -> pd.DataFrame:
    return load_results(folder)["summaries"].drop(columns=VOLATILE)


def test_common_random_numbers():
    plan = small_plan(replications=3)
    by_rep = {}
    for run in plan.runs:
        by_rep.setdefault(run.replication, set()).add(run.seed)
    assert all(len(seeds) == 1 for seeds in by_rep.values())
    assert len({next(iter(s)) for s in by_rep.values()}) == 3
    assert replication_seeds(0, 3) == replication_seeds(0, 5)[:3]
    assert len({r.key for r in plan.runs}) == len(plan.runs)


def test_sweep_expands_and_validates():
    key, values = parse_sweep("surveillance.drones=6,24")
    assert key == "surveillance.drones" and values == [6, 24]
    plan = small_plan(replications=2, sweeps=[(key, values)])
    assert len(plan.runs) == 2 * 2 * 2
    assert {r.content["surveillance"]["drones"] for r in plan.runs} == {6, 24}
    with pytest.raises(ScenarioError, match="surveillance.drones"):
        small_plan(sweeps=[("surveillance.drones", ["many"])])
    with pytest.raises(ScenarioError, match="KEY=V1,V2"):
        parse_sweep("surveillance.drones")


def test_same_results_serial_pool_and_dask(tmp_path):
    distributed = pytest.importorskip("distributed")
    plan = small_plan()
    run_batch(tmp_path / "serial", plan, workers=1, progress=False)
    run_batch(tmp_path / "pool", plan, workers=2, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        run_batch(tmp_path / "dask", plan, scheduler=cluster.scheduler_address, progress=False)
    serial = summaries(tmp_path / "serial")
    assert len(serial) == len(plan.runs)
    pd.testing.assert_frame_equal(serial, summaries(tmp_path / "pool"))
    pd.testing.assert_frame_equal(serial, summaries(tmp_path / "dask"))
    pd.testing.assert_frame_equal(load_results(tmp_path / "serial")["boats"], load_results(tmp_path / "dask")["boats"])


def test_results_are_tidy(tmp_path):
    plan = small_plan(sweeps=[("surveillance.drones", [6, 24])])
    run_batch(tmp_path, plan, workers=1, progress=False)
    res = load_results(tmp_path)
    s, b, d = res["summaries"], res["boats"], res["daily"]
    for df in (s, b, d):
        assert {"scenario", "replication", "seed", "run", "sweep.surveillance.drones"} <= set(df.columns)
    assert len(s) == 8 and set(s["scenario"]) == {"baseline", "shallow_water_300m"}
    assert len(d) == 8 * 20
    per_run = b.groupby("run").size().reindex(s["run"], fill_value=0)
    assert (per_run.to_numpy() == s["boats_attempted"].to_numpy()).all()
    assert s["scenario_hash"].nunique() == 4 and s["package_version"].notna().all()


def _batch_cmd(out, n=6, days=60):
    return [str(EXE), "batch", str(SCENARIOS / "baseline.yaml"), "-n", str(n), "--days", str(days),
            "--workers", "1", "--out", str(out), "--quiet"]


def test_resume_after_kill_9(tmp_path):
    out = tmp_path / "killed"
    proc = subprocess.Popen(_batch_cmd(out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((out / "runs").glob("*.summary.parquet"))) < 2:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(list((out / "runs").glob("*.summary.parquet")))
    assert 2 <= done < 6, "the kill should land mid-batch"
    again = subprocess.run(_batch_cmd(out), capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    runs = list((out / "runs").iterdir())
    assert len(runs) == 6 * 4 and not [p for p in runs if p.name.startswith(".")]  # boats, daily, tracks, summary
    s = load_results(out)["summaries"]
    assert sorted(s["replication"]) == list(range(6))
    subprocess.run(_batch_cmd(tmp_path / "whole"), check=True)
    pd.testing.assert_frame_equal(summaries(out), summaries(tmp_path / "whole"))


def test_second_batch_on_a_busy_folder_is_refused(tmp_path):
    with BatchLock(tmp_path):
        result = subprocess.run(_batch_cmd(tmp_path, n=1, days=5), capture_output=True, text=True)
    assert result.returncode == 2
    assert "another batch is writing here" in result.stderr and "Traceback" not in result.stderr
    assert subprocess.run(_batch_cmd(tmp_path, n=1, days=5)).returncode == 0


def test_different_definition_needs_append(tmp_path):
    assert subprocess.run(_batch_cmd(tmp_path, n=2, days=5)).returncode == 0
    other = subprocess.run(_batch_cmd(tmp_path, n=3, days=5), capture_output=True, text=True)
    assert other.returncode == 2 and "different batch" in other.stderr and "--append" in other.stderr
    assert len(load_results(tmp_path)["summaries"]) == 2
    appended = subprocess.run(_batch_cmd(tmp_path, n=3, days=5) + ["--append"], capture_output=True, text=True)
    assert appended.returncode == 0, appended.stderr
    s = load_results(tmp_path)["summaries"]
    assert len(s) == 3 and s["run"].is_unique  # replications 0 and 1 were not run twice


def test_damaged_file_is_detected_and_rerun(tmp_path):
    plan = small_plan()
    run_batch(tmp_path, plan, workers=1, progress=False)
    before = summaries(tmp_path)
    victim = sorted((tmp_path / "runs").glob("*.boats.parquet"))[0]
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    assert len(load_results(tmp_path)["summaries"]) == len(plan.runs) - 1
    result = run_batch(tmp_path, plan, workers=1, progress=False)
    assert result.ran == 1 and result.already_done == len(plan.runs) - 1
    pd.testing.assert_frame_equal(summaries(tmp_path), before)


def test_corrupt_manifest_is_one_clear_error(tmp_path):
    (tmp_path / "manifest.json").write_text("{not json")
    result = subprocess.run(_batch_cmd(tmp_path, n=1, days=5), capture_output=True, text=True)
    assert result.returncode == 2 and "manifest.json" in result.stderr and "Traceback" not in result.stderr
    with pytest.raises(StoreError, match="no batch results"):
        load_results(tmp_path / "nothing")


def test_a_missing_extra_is_one_kind_of_error_wherever_it_happens(monkeypatch, tmp_path):
    """Dask for a batch or a calibration, SALib for sensitivity: the same error, naming the extra."""
    from sim.analysis.sensitivity import load_parameters, run_sensitivity
    from sim.errors import MissingExtra, UserError
    from sim.runs.executors import dask_client, executor_for

    monkeypatch.setitem(sys.modules, "distributed", None)
    monkeypatch.setitem(sys.modules, "SALib", None)
    with pytest.raises(MissingExtra, match=r"channel-sim\[dask\]"):
        executor_for(2, "tcp://127.0.0.1:1")
    with pytest.raises(MissingExtra, match=r"channel-sim\[dask\]"):
        dask_client("tcp://127.0.0.1:1")
    with pytest.raises(MissingExtra, match=r"channel-sim\[sensitivity\]"):
        run_sensitivity(tmp_path, load_scenario(SCENARIOS / "baseline.yaml"), load_parameters())
    assert issubclass(MissingExtra, UserError)


def test_a_folder_that_is_not_a_batch_is_left_alone(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    result = subprocess.run(_batch_cmd(tmp_path, n=1, days=5), capture_output=True, text=True)
    assert result.returncode == 2 and "not a batch folder" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_damaged_run_is_named_and_redone(tmp_path):
    """A run whose data is damaged, or whose file has the wrong columns, is not counted: it is named and run again."""
    import pyarrow.parquet as pq

    folder = tmp_path / "b"
    plan = plan_batch([load_scenario(SCENARIOS / "baseline.yaml")], replications=3, days=20)
    run_batch(folder, plan, progress=False)
    before = load_results(folder)
    runs = folder / "runs"
    keys = [r.key for r in plan.runs]
    # A data page damaged on disk, the footer intact (the file still opens).
    boats = runs / f"{keys[0]}.boats.parquet"
    data = bytearray(boats.read_bytes())
    data[8:72] = bytes(64)  # just after the leading magic: the first data page, far from the footer
    boats.write_bytes(bytes(data))
    assert pq.read_metadata(boats).num_rows > 0
    # A readable file with the wrong columns.
    pd.DataFrame({"x": [1, 2]}).to_parquet(runs / f"{keys[1]}.daily.parquet")
    # A run written before checksums were kept (no metadata), with a boats file of the wrong columns.
    summary = runs / f"{keys[2]}.summary.parquet"
    pq.write_table(pq.read_table(summary).replace_schema_metadata(None), summary)
    pd.DataFrame({"y": [3]}).to_parquet(runs / f"{keys[2]}.boats.parquet")
    assert len(load_results(folder)["summaries"]) == 0  # none of them is counted

    result = run_batch(folder, plan, progress=False)
    assert result.ran == 3 and result.already_done == 0
    assert "checksum differs" in result.damaged[keys[0]] and keys[0] in result.damaged[keys[0]]
    assert "daily.parquet: checksum differs" in result.damaged[keys[1]]
    assert "boats.parquet: no column" in result.damaged[keys[2]]
    after = load_results(folder)
    for table in ("boats", "daily"):
        pd.testing.assert_frame_equal(before[table], after[table])
    volatile = ["started", "seconds"]
    pd.testing.assert_frame_equal(before["summaries"].drop(columns=volatile), after["summaries"].drop(columns=volatile))
    assert run_batch(folder, plan, progress=False).ran == 0  # sound now


def test_the_command_line_names_a_damaged_run(tmp_path):
    cmd = _batch_cmd(tmp_path / "out", n=1, days=5)
    assert subprocess.run(cmd, capture_output=True, text=True).returncode == 0
    (daily,) = (tmp_path / "out" / "runs").glob("*.daily.parquet")
    pd.DataFrame({"x": [1]}).to_parquet(daily)
    again = subprocess.run(cmd, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert f"run {daily.name.split('.')[0]} was damaged ({daily.name}: checksum differs" in again.stderr
    assert len(load_results(tmp_path / "out")["daily"]) == 5


def test_a_batch_too_large_is_refused_before_it_is_planned():
    from sim.errors import PlanError
    from sim.runs.batch import MAX_RUNS

    scenario = load_scenario(SCENARIOS / "baseline.yaml")
    with pytest.raises(PlanError, match=r"100,000,000 runs; expected at most"):
        plan_batch([scenario], replications=100_000_000, days=5)
    with pytest.raises(PlanError):
        plan_batch([scenario], replications=MAX_RUNS // 2 + 1, sweeps=[("surveillance.drones", [1, 2])])
    assert len(plan_batch([scenario], replications=3, sweeps=[("surveillance.drones", [1, 2])]).runs) == 6


def test_workers_are_capped_at_the_runs_and_warned_beyond_the_cores(tmp_path):
    result = subprocess.run([str(EXE), "batch", str(SCENARIOS / "baseline.yaml"), "-n", "2", "--days", "5",
                             "--workers", "1000", "--out", str(tmp_path / "b")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "2 runs on 2 worker processes" in result.stdout
    assert result.stderr.count("warning: --workers 1000") == 1


def test_a_sweep_value_given_twice_is_refused():
    with pytest.raises(ScenarioError, match="given more than once"):
        parse_sweep("surveillance.drones=1,1")


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (Linux /proc)."""
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads the process tree from /proc")
@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
def test_killing_a_batch_ends_its_workers(tmp_path, how):
    """kill -9 or SIGTERM of a 2-worker batch: its fork server and workers end too; SIGTERM is one line and exit 143."""
    out = tmp_path / "b"
    cmd = [str(EXE), "batch", str(SCENARIOS / "baseline.yaml"), "-n", "12", "--days", "120", "--workers", "2",
           "--out", str(out), "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not list((out / "runs").glob("*.summary.parquet")):
        time.sleep(0.05)
    tree = _descendants(proc.pid)
    assert tree, "the batch should have started its workers"
    os.kill(proc.pid, getattr(signal, how))
    _, stderr = proc.communicate(timeout=120)
    if how == "SIGTERM":
        assert proc.returncode == 143 and "terminated (SIGTERM)" in stderr and "Traceback" not in stderr
        assert len(stderr.strip().splitlines()) == 1
    deadline = time.time() + 30
    while time.time() < deadline and any(_alive(p) for p in tree):
        time.sleep(0.1)
    assert not [p for p in tree if _alive(p)]
    again = subprocess.run(cmd, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert len(load_results(out)["summaries"]) == 12


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads the process tree from /proc")
@pytest.mark.parametrize("moment", ["the fork server imports the model", "the workers start"])
def test_ctrl_c_while_the_batch_starts_is_one_line(tmp_path, moment):
    """Ctrl-C reaches the whole process group: the batch, its fork server importing the model, its workers starting."""
    out = tmp_path / "b"
    cmd = [str(EXE), "batch", str(SCENARIOS / "baseline.yaml"), "-n", "8", "--days", "120", "--workers", "2",
           "--out", str(out), "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    def server_importing() -> bool:  # the fork server has started (exec'd) and imports the model
        for pid in _descendants(proc.pid):
            try:
                if b"forkserver" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    return True
            except OSError:
                pass
        return False

    deadline = time.time() + 60
    while time.time() < deadline and not (server_importing() if moment.startswith("the fork") else
                                          (out / "runs").is_dir()):
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr  # stopped, not finished: the Ctrl-C was not lost
    assert stderr.strip() == "channel-sim: interrupted; runs already written are kept"
    assert subprocess.run(cmd, capture_output=True, text=True).returncode == 0  # and it resumes
    assert len(load_results(out)["summaries"]) == 8


@pytest.mark.skipif(sys.platform != "linux", reason="Linux keeps a blocked signal pending even while it is ignored")
def test_ctrl_c_while_the_fork_server_is_spawned_is_not_lost():
    """A Ctrl-C in the very moment the fork server is spawned stops the command once the server is up."""
    script = """
import os, signal
from multiprocessing import forkserver
from sim.runs import workers
spawn = forkserver.ensure_running
def spawn_with_ctrl_c():
    os.kill(os.getpid(), signal.SIGINT)  # arrives while the server is being spawned
    spawn()
forkserver.ensure_running = spawn_with_ctrl_c
try:
    workers.start_server()
    print("lost")
except KeyboardInterrupt:
    pid = forkserver._forkserver._forkserver_pid
    ignored = int(next(l for l in open(f"/proc/{pid}/status") if l.startswith("SigIgn")).split()[1], 16)
    print("handled", "server ignores it" if ignored & (1 << (signal.SIGINT - 1)) else "server does not ignore it")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "handled server ignores it", done.stderr


def test_a_real_dask_cluster_in_another_folder_takes_a_relative_out(tmp_path):
    """A scheduler and workers started as their own processes, in other folders, as on a cluster."""
    distributed = pytest.importorskip("distributed")
    from tests.conftest import free_port

    dask = Path(sys.executable).with_name("dask")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    for name in ("scheduler-home", "worker-home", "client"):
        (tmp_path / name).mkdir()
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], cwd=tmp_path / "scheduler-home", **quiet)]
    try:
        with distributed.Client(address, timeout="60s") as client:
            procs.append(subprocess.Popen([str(dask), "worker", address, "--nworkers", "2", "--nthreads", "1",
                                           "--no-dashboard"], cwd=tmp_path / "worker-home", **quiet))
            client.wait_for_workers(2, timeout=120)
        cmd = [str(EXE), "batch", str(SCENARIOS / "baseline.yaml"), "-n", "3", "--days", "10", "--quiet"]
        result = subprocess.run(cmd + ["--scheduler", address, "--out", "d1"], cwd=tmp_path / "client",
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            p.wait(timeout=60)
    assert not (tmp_path / "worker-home" / "d1").exists()
    serial = subprocess.run(cmd + ["--workers", "1", "--out", str(tmp_path / "serial")], capture_output=True, text=True)
    assert serial.returncode == 0, serial.stderr
    pd.testing.assert_frame_equal(summaries(tmp_path / "client" / "d1"), summaries(tmp_path / "serial"))
