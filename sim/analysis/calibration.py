"""Calibration: fit uncertain parameters to the reported rates with ABC-SMC (pyabc).

Approximate Bayesian computation by sequential Monte Carlo is the standard
likelihood-free method for stochastic simulators: particles (parameter
values) are drawn from uniform priors over the parameters' ranges, the model is
run once per particle, and particles are kept when the simulated targets are
close enough to the reported ones, with a tolerance that shrinks from one
generation to the next. The distance is Euclidean over the targets, each
scaled by half the width of its acceptance band, so a particle at distance 1
sits on the edge of a band on one target.

With an observed year (``--observed 2025``), the simulated side of every
particle also has the year's patterns of the daily record
(``sim.analysis.patterns``: how many days have arrivals, the size of the
largest days, the dispersion, the spells without arrivals, the July-December
share, the French preventions) and the total-variation distance of its
monthly profile from the record's (whose observed value is 0). The targets
and the patterns are then weighed by pyabc's adaptive distance
(``AdaptivePNormDistance``): each statistic scaled by the median absolute
deviation of the simulated values in each generation, so that statistics in
people, boats, days and shares count alike.

The result is a weighted sample of the posterior (``posterior.csv``), its
summary (``posterior.json``), a figure (``posterior.png``) and a scenario file
(``calibrated.yaml``) that extends the original with the posterior medians,
which ``channel-sim validate`` then checks. pyabc is an optional extra
(``pip install 'channel-sim[calibrate]'``).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sim.analysis.sensitivity import Uncertain, apply_point, typed_point
from sim.analysis.validation import Target
from sim.errors import RunDirError, require_extra
from sim.runs.executors import dask_client
from sim.scenario import Scenario, set_keys


class _Simulator:
    """Picklable model function for pyabc: parameters in, simulated targets (and patterns) out."""

    def __init__(self, scenario: Scenario, uncertain: list[Uncertain], targets: list[Target], days: int | None,
                 observed: _Observed | None = None):
        self.content = scenario.model_dump()
        if days is not None:
            self.content["days"] = days
        self.keys = [p.key for p in uncertain]
        self.targets = targets
        self.observed = observed

    def __call__(self, particle: dict, seed: int | None = None) -> dict:
        from sim.model import ChannelModel
        from sim.analysis.validation import simulated

        base = Scenario.model_validate(self.content)
        point = typed_point(base, self.keys, [particle[f"p{i}"] for i in range(len(self.keys))])
        scenario = apply_point(base, point)
        if seed is None:
            seed = int(np.random.randint(0, 2**31 - 1))  # pyabc seeds numpy in each worker
        model = ChannelModel(scenario, seed, tracks=False).run()  # no one reads its tracks
        row = pd.DataFrame([model.summary()])
        stats = {t.name: float(simulated(row, t).iloc[0]) for t in self.targets}
        if self.observed is not None:
            stats.update(self.observed.of_run(model.daily_frame(), model.boats_frame()))
        return {k: v if np.isfinite(v) else 1e6 for k, v in stats.items()}  # undefined (e.g. no boat): far off


@dataclass
class _Observed:
    """The patterns of a year of the record that a calibration fits, and how a run's are computed."""

    year: int
    weeks: list             # the prevention weeks' endings
    values: dict            # pattern key -> observed value
    profile: np.ndarray     # the observed monthly shares

    @classmethod
    def of_record(cls, record, year: int) -> _Observed:
        from sim.analysis.patterns import MONTH_KEYS, record_patterns

        weeks, values = record_patterns(record, year)
        profile = np.array([values[k] for k in MONTH_KEYS])
        fitted = {PATTERN + k: v for k, v in values.items() if k not in MONTH_KEYS}
        fitted[MONTHLY] = 0.0
        return cls(year, list(weeks["week_ending"]), fitted, profile)

    def of_run(self, daily: pd.DataFrame, boats: pd.DataFrame) -> dict:
        from sim.analysis.patterns import MONTH_KEYS, patterns, total_variation, weekly_prevented

        prevented = weekly_prevented(boats, self.weeks) if self.weeks else None
        values = patterns(daily, self.year, prevented)
        shares = np.array([values[k] for k in MONTH_KEYS])
        out = {k: values[k.removeprefix(PATTERN)] for k in self.values if k != MONTHLY}
        out[MONTHLY] = total_variation(shares, self.profile) if np.isfinite(shares).all() else 1.0
        return out


#: Prefix of the patterns' statistics, so that none takes the place of a target of the same name
#: (the annual ``people_prevented`` target and the record's ``people_prevented`` over its weeks).
PATTERN = "pattern."

#: The statistic that carries the monthly profile: its total-variation distance from the record's.
MONTHLY = PATTERN + "monthly_profile_distance"


class _Distance:
    """Euclidean distance over targets, each scaled by half its band's width."""

    def __init__(self, targets: list[Target]):
        self.scale = {t.name: max((t.band[1] - t.band[0]) / 2.0, 1e-12) for t in targets}

    def __call__(self, x: dict, x0: dict) -> float:
        d = float(np.sqrt(sum(((x[k] - x0[k]) / s) ** 2 for k, s in self.scale.items())))
        return d if np.isfinite(d) else 1e6  # a target undefined in this run (e.g. no taxi boat) is far off


@dataclass
class CalibrationResult:
    """What a calibration produced."""

    posterior: pd.DataFrame      # one row per particle: parameters and weight
    summary: dict                # per parameter: mean, median, q05, q95
    calibrated: Path             # scenario file with the posterior medians
    files: dict


def _replicate(job) -> tuple[int, dict]:
    simulator, candidate, particle, seed = job
    return candidate, simulator(particle, seed)


def check_particles(simulator: _Simulator, posterior: pd.DataFrame, keys: list[str], observed: dict, top: int,
                    replications: int, workers: int = 1, distances: pd.Series | None = None) -> tuple[int, pd.DataFrame]:
    """The particle of the posterior whose replications best reproduce the observed statistics.

    A posterior point, chosen by a predictive check rather than as the medians
    of the marginals (which, for a wide posterior with correlated parameters,
    need not be a point the posterior favours): the ``top`` particles of the
    highest weight (of the smallest ABC distance among equal weights, when
    ``distances`` are given: a posterior of one generation is equally weighted) are each run for seeds 0 to ``replications`` - 1 (the same
    seeds for all: common random numbers), and the chosen one has the most
    statistics whose observed value lies inside its 90 % predictive interval,
    ties broken by the smallest mean distance of the replications' medians
    from the observed values, each scaled by the spread of all candidates'
    replications. The monthly profile's distance (observed 0) only enters the
    tie-break.

    Returns:
        The index of the chosen particle in ``posterior``, and one row per candidate
        (its index, weight, statistics inside their interval, of how many, mean scaled distance).
    """
    from concurrent.futures import ProcessPoolExecutor

    from sim.analysis.patterns import QUANTILES, classify

    order = posterior.assign(_distance=distances if distances is not None else 0.0)
    candidates = order.sort_values(["weight", "_distance"], ascending=[False, True]).head(top).index.tolist()
    particles = {i: {f"p{j}": float(posterior.loc[i, k]) for j, k in enumerate(keys)} for i in candidates}
    jobs = [(simulator, i, particles[i], seed) for i in candidates for seed in range(replications)]
    if workers > 1:
        from sim.runs.workers import context, worker_init

        with ProcessPoolExecutor(max_workers=workers, mp_context=context(), initializer=worker_init,
                                 initargs=(os.getpid(),)) as pool:
            results = list(pool.map(_replicate, jobs))
    else:
        results = [_replicate(job) for job in jobs]
    runs = pd.DataFrame([{"candidate": i, **stats} for i, stats in results])
    names = [k for k in observed if k in runs.columns]
    spread = runs[names].std(ddof=1).replace(0.0, 1.0).fillna(1.0)
    rows = []
    for i in candidates:
        mine = runs.loc[runs["candidate"] == i, names]
        low99, low90, mid, high90, high99 = (mine.quantile(q) for q in QUANTILES)  # the patterns' intervals
        judged = [k for k in names if k != MONTHLY]
        inside = sum(classify(observed[k], low90[k], high90[k], low99[k], high99[k]) == "pass" for k in judged)
        error = float(np.mean([abs(mid[k] - observed[k]) / spread[k] for k in names]))
        rows.append({"particle": int(i), "weight": float(posterior.loc[i, "weight"]), "inside_90": inside,
                     "statistics": len(judged), "mean_scaled_distance": error})
    table = pd.DataFrame(rows).sort_values(["inside_90", "mean_scaled_distance"], ascending=[False, True])
    return int(table["particle"].iloc[0]), table.reset_index(drop=True)


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values)
    v, w = values[order], weights[order]
    cum = np.cumsum(w) / w.sum()
    return float(np.interp(q, cum, v))


def run_calibration(out: str | Path, scenario: Scenario, scenario_path: str | Path, uncertain: list[Uncertain],
                    targets: list[Target], targets_path: str | Path, *, population: int = 40,
                    generations: int = 4, days: int | None = None, seed: int = 0, workers: int = 1,
                    scheduler: str | None = None, observed_year: int | None = None,
                    record=None, check_top: int = 0, check_replications: int = 20,
                    acceptance: float = 0.5) -> CalibrationResult:
    """Fit ``uncertain`` to ``targets`` by ABC-SMC and write the posterior and a calibrated scenario.

    Args:
        out: results folder (created).
        scenario: the scenario to calibrate.
        scenario_path: its file (the calibrated scenario extends it).
        uncertain: parameters to fit, with the ranges of their uniform priors.
        targets: the reported rates.
        targets_path: their file (copied beside the calibrated scenario).
        population: particles per generation.
        generations: ABC-SMC generations.
        days: days per run (the scenario's when None).
        seed: seed of numpy's global generator, which pyabc uses; the posterior is
            reproducible from it with one worker (pyabc's parallel samplers reseed
            their processes from the operating system).
        workers: local processes.
        scheduler: Dask scheduler address (pyabc's Dask sampler).
        observed_year: also fit the patterns of this year of the daily record (the
            scenario's runs must cover the year).
        record: the observed record (``sim.analysis.observed.load_record``; the
            shipped copy when None).
        acceptance: the quantile of the previous distances each generation accepts below (pyabc's
            ``QuantileEpsilon`` alpha). With one generation, that is rejection ABC: particles drawn
            from the prior, the ``acceptance`` share of them closest to the observed values kept, all
            of equal weight.
        check_top: when above 0, the calibrated scenario takes the particle that
            :func:`check_particles` chooses among the ``check_top`` of highest weight,
            each run ``check_replications`` times, rather than the posterior medians.
    """
    pyabc = require_extra("pyabc", "calibrate", "calibration")

    observed = None
    if observed_year is not None:
        from sim.analysis.observed import load_record
        from sim.analysis.validation import check_covers

        check_covers(scenario, scenario_path, days, observed_year)
        observed = _Observed.of_record(record if record is not None else load_record(), observed_year)
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise RunDirError(f"{out}: already exists and is not empty; expected a new folder for the calibration")
    out.mkdir(parents=True, exist_ok=True)
    np.random.seed(seed)
    prior = pyabc.Distribution(**{f"p{i}": pyabc.RV("uniform", p.low, p.high - p.low) for i, p in enumerate(uncertain)})
    if scheduler:
        sampler = pyabc.sampler.DaskDistributedSampler(dask_client=dask_client(scheduler))
    elif workers > 1:
        sampler = pyabc.sampler.MulticoreEvalParallelSampler(n_procs=workers)
    else:
        sampler = pyabc.sampler.SingleCoreSampler()
    observed_values = {t.name: float(t.reported) for t in targets}
    if observed is not None:
        observed_values.update(observed.values)
        distance = pyabc.AdaptivePNormDistance(p=2, scale_function=pyabc.distance.scale.mad)
    else:
        distance = _Distance(targets)
    simulator = _Simulator(scenario, uncertain, targets, days, observed)
    abc = pyabc.ABCSMC(simulator, prior, distance, population_size=population, sampler=sampler,
                       eps=pyabc.epsilon.QuantileEpsilon(alpha=acceptance))
    db = out / "abc.db"
    abc.new(f"sqlite:///{db}", observed_values)
    history = abc.run(max_nr_populations=generations)
    particles = history.get_population().particles
    w = np.array([particle.weight for particle in particles], dtype=float)
    posterior = pd.DataFrame({p.key: [float(particle.parameter[f"p{i}"]) for particle in particles]
                              for i, p in enumerate(uncertain)})
    posterior["weight"] = w / w.sum()
    posterior.to_csv(out / "posterior.csv", index=False)
    distances = pd.Series([float(particle.distance) for particle in particles], index=posterior.index)
    summary = {}
    for p in uncertain:
        v = posterior[p.key].to_numpy()
        summary[p.key] = {"mean": float(np.sum(v * posterior["weight"])),
                          "median": _weighted_quantile(v, posterior["weight"].to_numpy(), 0.5),
                          "q05": _weighted_quantile(v, posterior["weight"].to_numpy(), 0.05),
                          "q95": _weighted_quantile(v, posterior["weight"].to_numpy(), 0.95),
                          "prior": [p.low, p.high]}
    pops = history.get_all_populations()
    info = {"parameters": summary, "generations": int(history.max_t + 1), "population": population,
            "epsilons": [float(e) for e in pops["epsilon"].tolist()[1:]], "seed": seed, "workers": workers,
            "simulations": int(history.total_nr_simulations), "days": days or scenario.days,
            "acceptance": acceptance, "effective_sample_size": float(1.0 / np.sum((w / w.sum()) ** 2)),
            "observed_year": observed_year, "statistics": observed_values}
    point = {k: v["median"] for k, v in summary.items()}
    how = "posterior medians"
    if check_top > 0:
        keys = [p.key for p in uncertain]
        chosen, checked = check_particles(simulator, posterior, keys, observed_values, check_top,
                                          check_replications, workers if not scheduler else 1, distances)
        checked.to_csv(out / "checked.csv", index=False)
        point = {k: float(posterior.loc[chosen, k]) for k in keys}
        best = checked.iloc[0]
        how = (f"the particle of the posterior that best reproduces the observed statistics over "
               f"{check_replications} replications ({int(best['inside_90'])} of {int(best['statistics'])} inside "
               f"their 90 % interval; checked.csv)")
        info["point"] = {"method": "check", "particle": chosen, "top": check_top,
                         "replications": check_replications, "values": point,
                         "inside_90": int(best["inside_90"]), "statistics": int(best["statistics"])}
    else:
        info["point"] = {"method": "median", "values": point}
    (out / "posterior.json").write_text(json.dumps(info, indent=2) + "\n")
    calibrated = _write_calibrated(out, scenario, scenario_path, point, how, targets_path)
    fig_path = _fig_posterior(posterior, uncertain, out / "posterior.png")
    return CalibrationResult(posterior, summary, calibrated,
                             {"posterior_csv": out / "posterior.csv", "posterior_json": out / "posterior.json",
                              "posterior_png": fig_path, "calibrated": calibrated, "db": db})


def _write_calibrated(out: Path, scenario: Scenario, scenario_path, point: dict, how: str, targets_path) -> Path:
    data: dict = {"extends": os.path.relpath(Path(scenario_path).resolve(), out.resolve()),
                  "name": f"{scenario.name}_calibrated",
                  "description": f"{scenario.name} with {how.split(' (')[0]} of an ABC-SMC calibration "
                                 "(posterior.json beside this file)"}
    values = typed_point(scenario, list(point), list(point.values()))
    data = set_keys(data, {k: v if isinstance(v, int) else round(v, 6) for k, v in values.items()})
    path = out / "calibrated.yaml"
    path.write_text(f"# Written by channel-sim calibrate: {how} (see posterior.json).\n"
                    + yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    if Path(targets_path).resolve() != (out / "targets.yaml").resolve():
        shutil.copyfile(targets_path, out / "targets.yaml")  # kept beside the fit: `validate --targets` takes it
    return path


def _fig_posterior(posterior: pd.DataFrame, uncertain: list[Uncertain], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(4, len(uncertain))  # rows of four panels at most
    rows = -(-len(uncertain) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.0 * rows + 0.4), constrained_layout=True,
                             squeeze=False)
    for ax in axes.flat[len(uncertain):]:
        ax.set_visible(False)
    for ax, p in zip(axes.flat, uncertain):
        ax.hist(posterior[p.key], bins=15, range=(p.low, p.high), weights=posterior["weight"], color="tab:blue",
                alpha=0.7, density=True, label="posterior")
        ax.axhline(1.0 / (p.high - p.low), color="grey", ls="--", label="prior")
        ax.set_title(p.key, fontsize=8)
        ax.set_xlim(p.low, p.high)
    axes.flat[0].legend(fontsize=7)
    fig.suptitle("ABC posterior (the particles of the last generation, by weight)", fontsize=9)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
