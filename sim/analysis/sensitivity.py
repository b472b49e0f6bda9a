"""Global sensitivity analysis: Morris screening, then Sobol indices (SALib).

The uncertain parameters are those the ODD marks as assumptions, each with a
range (``sim/data/uncertain.yaml``, or a file of the same form). Morris
elementary effects screen all of them for the chosen outcomes; the most
influential go on to a Sobol design (first-order and total indices). Every
design point is a run (or several, averaged, with common seeds) on the batch
machinery, so the analysis runs in parallel or on Dask and resumes where it
stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim.analysis.output import save_csv, save_figure
from sim.errors import RunDirError, ScenarioError, require_extra
from sim.outcomes import MEASURES, SENSITIVITY_OUTCOMES
from sim.runs.batch import plan_points, run_batch
from sim.scenario import Scenario, from_dict, get_key, set_keys



class Uncertain(BaseModel):
    """One uncertain parameter and its range."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    key: str
    low: float
    high: float


class UncertainFile(BaseModel):
    """A file of uncertain parameters."""

    model_config = ConfigDict(extra="forbid")

    parameters: list[Uncertain] = Field(min_length=1)


def default_parameters_file() -> Path:
    """The shipped list of uncertain parameters."""
    return Path(str(resources.files("sim") / "data" / "uncertain.yaml"))


def load_parameters(path: str | Path | None = None, scenario: Scenario | None = None) -> list[Uncertain]:
    """Read and check a file of uncertain parameters against the scenario schema.

    Each end of each range must be a value the schema accepts in ``scenario``
    (the defaults when None), the other keys as they are there.

    Raises:
        ScenarioError: one line naming the file, the entry and the problem.
    """
    path = Path(path or default_parameters_file())
    if not path.is_file():
        raise ScenarioError(f"{path}: file not found; expected a YAML list of uncertain parameters")
    from sim.analysis.validation import describe, read_yaml_mapping

    data = read_yaml_mapping(path, "a mapping with a list of {key, low, high} under 'parameters'")
    try:
        uncertain = UncertainFile.model_validate(data).parameters
    except ValidationError as exc:
        raise ScenarioError(f"{path}: {describe(exc)}") from None
    defaults = (scenario or Scenario()).model_dump()
    for i, p in enumerate(uncertain):
        try:
            node = get_key(defaults, p.key)
        except KeyError:
            raise ScenarioError(f"{path}: parameters.{i}.key: {p.key!r} is not a scenario key") from None
        if not isinstance(node, (int, float)) or isinstance(node, bool):
            raise ScenarioError(f"{path}: parameters.{i}.key: {p.key!r} is not a number")
        if not p.low < p.high:
            raise ScenarioError(f"{path}: parameters.{i}: expected low < high, got {p.low} and {p.high}")
        for end in ("low", "high"):  # both ends of the range must be values the schema accepts
            value = getattr(p, end)
            try:
                from_dict(set_keys(defaults, {p.key: int(round(value)) if isinstance(node, int) else value}))
            except ScenarioError as exc:
                problem = str(exc).split(": ", 1)[-1]
                raise ScenarioError(f"{path}: parameters.{i}.{end}: {value} is not a value of {p.key} "
                                    f"({problem})") from None
    return uncertain


def _problem(uncertain: list[Uncertain]) -> dict:
    return {"num_vars": len(uncertain), "names": [p.key for p in uncertain], "bounds": [[p.low, p.high] for p in uncertain]}


def typed_point(scenario: Scenario, keys: list[str], values) -> dict:
    """Parameter values as a point of dotted keys; integer parameters are rounded."""
    defaults = scenario.model_dump()
    return {k: int(round(v)) if isinstance(get_key(defaults, k), int) else float(v) for k, v in zip(keys, values)}


def _points(uncertain: list[Uncertain], X: np.ndarray, scenario: Scenario) -> list[dict]:
    """Design rows as parameter points."""
    keys = [p.key for p in uncertain]
    return [typed_point(scenario, keys, row) for row in X]


def _outputs(summaries: pd.DataFrame, plan, outcomes: list[str]) -> np.ndarray:
    """Outcome of each design point, averaged over its replications (rows in plan order)."""
    reps = max(r.replication for r in plan.runs) + 1
    values = summaries[list(outcomes)].to_numpy(dtype=float)
    return values.reshape(-1, reps, len(outcomes)).mean(axis=1)


@dataclass
class SensitivityResult:
    """Tables and files of a sensitivity analysis."""

    morris: pd.DataFrame
    sobol: pd.DataFrame | None
    influential: list[str]
    files: dict


def run_sensitivity(out: str | Path, scenario: Scenario, uncertain: list[Uncertain], *, outcomes=SENSITIVITY_OUTCOMES,
                    trajectories: int = 10, sobol_samples: int = 64, top: int = 4, replications: int = 1,
                    days: int | None = None, seed: int = 0, workers: int = 1, scheduler: str | None = None,
                    progress: bool = True) -> SensitivityResult:
    """Morris screening of ``uncertain``, then Sobol indices for the ``top`` most influential.

    Writes ``morris.csv``, ``sobol.csv`` and ``morris.png``, ``sobol.png`` into ``out``;
    the runs go to ``out/morris`` and ``out/sobol`` (resumable batch folders).
    """
    require_extra("SALib", "sensitivity", "sensitivity analysis")
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    out = Path(out)
    ours = (out / "morris" / "manifest.json").is_file()
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not ours)):
        raise RunDirError(f"{out}: exists and is not a sensitivity folder (no morris/manifest.json); expected a new "
                          "folder, or one an earlier channel-sim sensitivity wrote (which it resumes)")
    outcomes = list(outcomes)
    unknown = [o for o in outcomes if o not in scenario_summary_keys()]
    if unknown:
        raise ScenarioError(f"--outcomes: {', '.join(unknown)}: not numeric summary keys; expected some of "
                            f"{', '.join(scenario_summary_keys())}")
    problem = _problem(uncertain)
    X = morris_sample.sample(problem, N=trajectories, num_levels=4, seed=seed)
    plan = plan_points(scenario, _points(uncertain, X, scenario), replications, days, seed, label="morris")
    batch = run_batch(out / "morris", plan, workers=workers, scheduler=scheduler, progress=progress, append_hint="")
    Y = _outputs(batch.summaries, plan, outcomes)
    rows = []
    for j, outcome in enumerate(outcomes):
        res = morris_analyze.analyze(problem, X, Y[:, j], num_levels=4, seed=seed)
        scale = np.std(Y[:, j]) or 1.0
        for i, name in enumerate(problem["names"]):
            rows.append({"outcome": outcome, "parameter": name, "mu_star": float(res["mu_star"][i]),
                         "mu_star_conf": float(res["mu_star_conf"][i]), "sigma": float(res["sigma"][i]),
                         "mu_star_scaled": float(res["mu_star"][i] / scale)})
    morris = pd.DataFrame(rows)
    influential = list(ranking(morris).index[:top])
    save_csv(morris, out / "morris.csv")
    files = {"morris_csv": out / "morris.csv", "morris_png": _fig_morris(morris, out / "morris.png")}

    sobol = None
    if influential and sobol_samples > 0:
        sub = [p for p in uncertain if p.key in influential]
        problem2 = _problem(sub)
        X2 = sobol_sample.sample(problem2, sobol_samples, calc_second_order=False, seed=seed)
        plan2 = plan_points(scenario, _points(sub, X2, scenario), replications, days, seed, label="sobol")
        batch2 = run_batch(out / "sobol", plan2, workers=workers, scheduler=scheduler, progress=progress,
                           append_hint="")
        Y2 = _outputs(batch2.summaries, plan2, outcomes)
        rows = []
        for j, outcome in enumerate(outcomes):
            res = sobol_analyze.analyze(problem2, Y2[:, j], calc_second_order=False, seed=seed)
            for i, name in enumerate(problem2["names"]):
                rows.append({"outcome": outcome, "parameter": name, "S1": float(res["S1"][i]),
                             "S1_conf": float(res["S1_conf"][i]), "ST": float(res["ST"][i]),
                             "ST_conf": float(res["ST_conf"][i])})
        sobol = pd.DataFrame(rows)
        save_csv(sobol, out / "sobol.csv")
        files.update(sobol_csv=out / "sobol.csv", sobol_png=_fig_sobol(sobol, out / "sobol.png"))
    return SensitivityResult(morris, sobol, influential, files)


def ranking(morris: pd.DataFrame) -> pd.Series:
    """Each parameter's largest scaled mu* over the outcomes, largest first: the order Sobol and calibration take."""
    return morris.groupby("parameter")["mu_star_scaled"].max().sort_values(ascending=False)


def top_parameters(folder: str | Path, uncertain: list[Uncertain], top: int) -> list[Uncertain]:
    """The ``top`` parameters of a sensitivity folder's Morris screening (largest scaled mu* over its outcomes).

    Raises:
        ScenarioError: no readable ``morris.csv`` there, or none of its top parameters is in ``uncertain``.
    """
    morris = Path(folder) / "morris.csv"
    try:
        order = ranking(pd.read_csv(morris))
    except (OSError, ValueError, KeyError, pd.errors.EmptyDataError):
        raise ScenarioError(f"{morris}: missing or damaged; expected the morris.csv of a channel-sim "
                            "sensitivity run") from None
    chosen = list(order.index[:top])
    kept = [p for p in uncertain if p.key in chosen]
    if not kept:
        raise ScenarioError(f"{morris}: its top parameters ({', '.join(chosen)}) are not in the parameters "
                            "file; expected the list the sensitivity run used (--parameters)")
    return kept


def scenario_summary_keys() -> tuple[str, ...]:
    """Numeric summary keys an analysis can look at (those ``sim.outcomes.MEASURES`` labels)."""
    return tuple(MEASURES)


def _fig_morris(morris: pd.DataFrame, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outcomes = list(dict.fromkeys(morris["outcome"]))
    fig, axes = plt.subplots(1, len(outcomes), figsize=(4.2 * len(outcomes), 4), constrained_layout=True)
    for ax, outcome in zip(np.atleast_1d(axes), outcomes):
        m = morris[morris["outcome"] == outcome]
        ax.scatter(m["mu_star"], m["sigma"], s=18)
        for _, r in m.nlargest(4, "mu_star").iterrows():
            ax.annotate(r["parameter"].split(".")[-1], (r["mu_star"], r["sigma"]), fontsize=7)
        ax.set_xlabel("mu* (mean |elementary effect|)")
        ax.set_ylabel("sigma")
        ax.set_title(MEASURES[outcome].label, fontsize=9)
        ax.grid(alpha=0.3)
    fig.suptitle("Morris screening", fontsize=10)
    save_figure(fig, path)
    plt.close(fig)
    return path


def _fig_sobol(sobol: pd.DataFrame, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outcomes = list(dict.fromkeys(sobol["outcome"]))
    fig, axes = plt.subplots(1, len(outcomes), figsize=(4.2 * len(outcomes), 4), constrained_layout=True, sharey=True)
    for ax, outcome in zip(np.atleast_1d(axes), outcomes):
        s = sobol[sobol["outcome"] == outcome]
        y = np.arange(len(s))
        ax.barh(y - 0.2, s["S1"], height=0.4, xerr=s["S1_conf"], label="first order S1")
        ax.barh(y + 0.2, s["ST"], height=0.4, xerr=s["ST_conf"], label="total ST")
        ax.set_yticks(y, [p.split(".")[-1] for p in s["parameter"]])
        ax.set_title(MEASURES[outcome].label, fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.suptitle("Sobol indices", fontsize=10)
    save_figure(fig, path)
    plt.close(fig)
    return path


def apply_point(scenario: Scenario, point: dict, name: str | None = None) -> Scenario:
    """A copy of ``scenario`` with dotted keys set (validated)."""
    data = set_keys(scenario.model_dump(), point)
    if name:
        data["name"] = name
    return from_dict(data, name or scenario.name)
