"""Scenario discovery: in which region of the assumptions does a policy fail?

A batch that runs a policy and its baseline under many parameter sets (draws
of the calibration's posterior, ``channel-sim batch --posterior ... --draws
K``, or a Latin hypercube over the ranges of ``sim/data/uncertain.yaml``,
:func:`run_design`) pairs every policy run with the baseline run of the same
parameter set and seed. For each parameter set (a *point*) the policy's cut
of an outcome is the mean paired difference over its replications, as a share
of the baseline's mean:

    cut % = -100 * mean(policy - baseline) / mean(baseline)

and the point *fails* when the cut is below ``N`` % (the policy did not cut
crossings by at least ``N`` %). PRIM, the patient rule induction method
(Friedman and Fisher 1999, as used for scenario discovery by Bryant and
Lempert 2010), then looks for a box of parameter ranges that holds most of
the failing points (*coverage*: the share of all failures inside the box) and
mostly failing points (*density*: the share of the box's points that fail).
It peels slices off the box one at a time; the peeling trajectory trades
coverage for density, and the box chosen is the densest one whose coverage is
still at least ``min_coverage`` (or one the user picks by its index).

Each limit of the chosen box has a quasi-p-value (Bryant and Lempert 2010): a
one-sided binomial test of whether the box is denser in failures than the
same box with that limit removed; a small value says the limit matters. The
stability check runs PRIM again on bootstrap resamples of the points, takes
the box of each whose coverage is closest to the chosen box's, and reports
how often each parameter is restricted again and how much each resampled
box overlaps the chosen one (Jaccard index of the points inside both).

PRIM is EMA Workbench's (``ema_workbench.analysis.prim``, the ``discover``
extra), used as it is: it works with this project's pandas (3.x); the one
deprecation it warns of (``DataFrame.drop(inplace=True)``) is silenced where
it is called.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import StoreError, UserError, require_extra
from sim.outcomes import MEASURES

#: The share of all failures a chosen box must hold, unless the user picks a box.
MIN_COVERAGE = 0.8

#: Bootstrap resamples of the stability check.
RESAMPLES = 50

#: A resampled box whose points overlap the chosen box's by at least this Jaccard index finds it again.
FOUND_AGAIN = 0.5

#: A limit whose quasi-p-value is below this is called significant.
SIGNIFICANT = 0.05


# -- the paired differences ------------------------------------------------------------------

def parameter_columns(summaries: pd.DataFrame) -> list[str]:
    """The columns that hold a run's uncertain parameters: ``draw.<key>`` and ``sweep.<key>``."""
    return [c for c in summaries.columns if c.startswith(("draw.", "sweep."))]


def point_columns(summaries: pd.DataFrame) -> list[str]:
    """The columns that name a parameter set: the posterior draw (if any) and the sweep point."""
    return (["draw"] if "draw" in summaries.columns else []) + [c for c in summaries.columns if c.startswith("sweep.")]


def paired_runs(summaries: pd.DataFrame, policy: str, baseline: str, outcome: str) -> pd.DataFrame:
    """One row per pair of runs: the policy's and the baseline's at the same parameter set and seed.

    Returns:
        The point columns (``draw``, ``sweep.*``), ``replication``, ``seed``, ``baseline``, ``policy``
        (the outcome of each run), ``difference`` (policy minus baseline), and the runs' keys.
    """
    keys = point_columns(summaries) + ["replication", "seed"]
    columns = keys + [outcome, "run"]
    base = summaries.loc[summaries["scenario"] == baseline, columns]
    pol = summaries.loc[summaries["scenario"] == policy, columns]
    pairs = pol.merge(base, on=keys, suffixes=("_policy", "_baseline"), validate="one_to_one")
    pairs = pairs.rename(columns={f"{outcome}_policy": "policy", f"{outcome}_baseline": "baseline"})
    pairs["policy"] = pairs["policy"].astype(float)
    pairs["baseline"] = pairs["baseline"].astype(float)
    pairs["difference"] = pairs["policy"] - pairs["baseline"]
    return pairs.sort_values(keys).reset_index(drop=True)[
        keys + ["baseline", "policy", "difference", "run_baseline", "run_policy"]]


def parameter_values(summaries: pd.DataFrame, policy: str, baseline: str) -> pd.DataFrame:
    """Each parameter set's values, one row per point, one column per varying parameter (by its dotted key).

    A value is the baseline run's, or the policy run's where the baseline sets that key to a
    value of its own (a draw is not applied over a scenario's own value). Parameters that do
    not vary between the points are left out.
    """
    keys = point_columns(summaries)
    params = parameter_columns(summaries)
    both = summaries[summaries["scenario"].isin([baseline, policy])]
    first = {name: g.groupby(keys, sort=True)[params].first()
             for name, g in both.groupby("scenario", sort=False)}
    values = first[baseline].combine_first(first[policy]) if policy in first else first[baseline]
    values.columns = [c.split(".", 1)[1] for c in values.columns]
    values = values.loc[:, ~values.columns.duplicated()]
    varying = [c for c in values.columns if values[c].nunique(dropna=True) > 1 and values[c].notna().all()]
    return values[varying]


def point_cuts(pairs: pd.DataFrame, cut: float, per_pair: bool = False) -> pd.DataFrame:
    """Each point's baseline and policy means, mean paired difference, cut (%) and whether it fails.

    Args:
        pairs: from :func:`paired_runs`.
        cut: the cut (%) the policy must reach; a point whose cut is below it fails.
        per_pair: each pair of runs its own point (the seed's chance then decides some failures).

    A point whose baseline mean is not positive has no cut (NaN) and neither fails nor passes.
    """
    keys = [c for c in pairs.columns if c == "draw" or c.startswith("sweep.")]
    if per_pair:
        keys = keys + ["replication"]
    g = pairs.groupby(keys, sort=True)
    points = pd.DataFrame({"pairs": g.size(), "baseline": g["baseline"].mean(), "policy": g["policy"].mean(),
                           "difference": g["difference"].mean()})
    base = points["baseline"].where(points["baseline"] > 0)
    points["cut"] = -100.0 * points["difference"] / base
    points["fails"] = points["cut"] < cut
    return points


# -- PRIM ----------------------------------------------------------------------------------

def _prim_module():
    """EMA Workbench's PRIM, imported without the notices of its optional parts.

    Its interactive inspection needs altair, which it imports when it can (2 s here); PRIM
    itself does not, so altair is kept out while it is imported, unless it is imported already
    (and can be imported afterwards as usual).
    """
    import sys

    keep_out = "altair" not in sys.modules
    if keep_out:
        sys.modules["altair"] = None  # import altair raises ImportError: EMA Workbench goes without it
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ipyparallel, altair: optional parts of EMA Workbench this does not use
            return require_extra("ema_workbench.analysis.prim", "discover", "scenario discovery")
    finally:
        if keep_out and sys.modules.get("altair", 0) is None:
            del sys.modules["altair"]


def _find_box(prim, x: pd.DataFrame, y: np.ndarray, peel_alpha: float, paste_alpha: float, mass_min: float):
    """One PRIM box (peeling and pasting) of ``x`` for the cases ``y``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # pandas 3 on its drop(inplace=True)
        return prim.Prim(x, y, peel_alpha=peel_alpha, paste_alpha=paste_alpha, mass_min=mass_min).find_box()


def _trajectory(box, prim_steps: int | None = None) -> pd.DataFrame:
    """The trajectory as a table; entries past ``prim_steps`` are boxes pruned from an earlier one."""
    t = box.peeling_trajectory
    steps = len(t) if prim_steps is None else prim_steps
    return pd.DataFrame({"box": t["id"].astype(int), "coverage": t["coverage"].astype(float),
                         "density": t["density"].astype(float), "mass": t["mass"].astype(float),
                         "restricted": t["res_dim"].astype(int), "points": t["n"].astype(int),
                         "failing": t["k"].astype(int),
                         "step": ["prim" if i < steps else "pruned" for i in range(len(t))]})


def _significance(qp: dict) -> dict[str, float]:
    """Each restricted parameter's smallest quasi-p-value over its restricted sides."""
    return {name: min((v for v in sides if v is not None and v >= 0), default=1.0) for name, sides in qp.items()}


def _prune(box, i: int) -> int:
    """Drop, one at a time and least significant first, the restrictions of box ``i`` whose quasi-p-values
    are all above :data:`SIGNIFICANT` (keeping at least one); each pruned box is added to the trajectory.

    Returns:
        The index of the last box (``i`` when nothing was dropped).
    """
    while True:
        significance = _significance(box.p_values[i])
        if len(significance) < 2:
            return i
        name, worst = max(significance.items(), key=lambda kv: kv[1])
        if worst <= SIGNIFICANT:
            return i
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            box.drop_restriction(name, i)
        i = len(box.peeling_trajectory) - 1


def _densest(trajectory: pd.DataFrame, min_coverage: float) -> int:
    """The densest box whose coverage is at least ``min_coverage`` (the one of most coverage among equals)."""
    ok = trajectory[trajectory["coverage"] >= min_coverage - 1e-12]
    return int(ok["density"].idxmax())


def _closest(trajectory: pd.DataFrame, coverage: float) -> int:
    """The box whose coverage is closest to ``coverage`` (the densest of those)."""
    gap = (trajectory["coverage"] - coverage).abs()
    near = trajectory[gap <= gap.min() + 1e-12]
    return int(near["density"].idxmax())


def _restricted(lims: pd.DataFrame, full: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """The box's limits on the parameters it restricts: name -> (low, high)."""
    return {c: (float(lims[c].iloc[0]), float(lims[c].iloc[1])) for c in lims.columns
            if lims[c].iloc[0] > full[c].iloc[0] or lims[c].iloc[1] < full[c].iloc[1]}


def inside(x: pd.DataFrame, limits: dict[str, tuple[float, float]]) -> np.ndarray:
    """Which rows of ``x`` lie inside a box given by its restricted limits (ends included)."""
    keep = np.ones(len(x), dtype=bool)
    for name, (low, high) in limits.items():
        v = x[name].to_numpy(dtype=float)
        keep &= (v >= low) & (v <= high)
    return keep


@dataclass
class Discovery:
    """A PRIM box and what backs it.

    Attributes:
        trajectory: the peeling trajectory: ``box``, ``coverage``, ``density``, ``mass``,
            ``restricted`` (parameters), ``points`` and ``failing`` (points in the box), and ``step``
            (``prim`` for PRIM's peeling and pasting, ``pruned`` for a box pruned from one of them).
        chosen: the index of the chosen box on the trajectory.
        limits: one row per restricted parameter: ``parameter``, ``low``, ``high`` (the box),
            ``data_low``, ``data_high`` (the points' range), ``qp_low``, ``qp_high`` (quasi-p-values
            of each limit, NaN on a side not restricted), ``recurs`` (share of resamples that
            restrict it), ``resampled_low``, ``resampled_high`` (median limits there).
        inside: for each point, whether it lies in the chosen box.
        resamples: one row per bootstrap resample: its box's ``coverage``, ``density`` and ``mass``
            on all the points, ``jaccard`` (overlap with the chosen box) and ``restricted``.
        base_rate: the share of all points that fail.
    """

    trajectory: pd.DataFrame
    chosen: int
    limits: pd.DataFrame
    inside: np.ndarray
    resamples: pd.DataFrame
    base_rate: float
    rule: str = ""
    recurrence: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    picked: int = -1              # PRIM's box the chosen one was pruned from (the chosen one when not pruned)

    @property
    def coverage(self) -> float:
        return float(self.trajectory.loc[self.chosen, "coverage"])

    @property
    def density(self) -> float:
        return float(self.trajectory.loc[self.chosen, "density"])

    @property
    def mass(self) -> float:
        return float(self.trajectory.loc[self.chosen, "mass"])

    @property
    def found_again(self) -> float:
        """The share of resamples whose box restricts every parameter the chosen one does and overlaps it
        by a Jaccard index of at least :data:`FOUND_AGAIN` (of the points inside either, the share inside both)."""
        if self.resamples.empty:
            return float("nan")
        r = self.resamples
        return float(((r["jaccard"] >= FOUND_AGAIN) & r["same_parameters"].astype(bool)).mean())


def discover(x: pd.DataFrame, fails: np.ndarray, *, min_coverage: float = MIN_COVERAGE, box: int | None = None,
             resamples: int = RESAMPLES, seed: int = 0, prune: bool = True, peel_alpha: float = 0.05,
             paste_alpha: float = 0.05, mass_min: float = 0.05, progress: bool = False) -> Discovery:
    """PRIM's box of the points that fail, with the significance of its limits and a bootstrap check.

    Args:
        x: one row per point, one column per parameter.
        fails: for each point, whether it fails.
        min_coverage: the chosen box is the densest whose coverage is at least this.
        box: choose this box of the trajectory instead (its index, as ``peeling.csv`` gives it).
        prune: then drop the box's limits that are not significant (:func:`_prune`).
        resamples: bootstrap resamples for the stability check (0: none).
        seed: seed of the resampling.
        peel_alpha, paste_alpha, mass_min: PRIM's own settings (EMA Workbench's defaults).
        progress: a progress bar for the resamples (on a terminal only).

    Raises:
        UserError: every point fails, or none does (there is no region to find), or ``box`` is not
            on the trajectory.
    """
    from tqdm import tqdm

    prim = _prim_module()
    x = x.reset_index(drop=True)
    y = np.asarray(fails, dtype=bool)
    found = _find_box(prim, x, y, peel_alpha, paste_alpha, mass_min)
    steps = len(found.peeling_trajectory)
    if box is None:
        picked = _densest(_trajectory(found), min_coverage)
        rule = f"the densest box whose coverage is at least {min_coverage:g}"
    elif 0 <= box < steps:
        picked, rule = int(box), f"box {box}, as chosen (--box)"
    else:
        raise UserError(f"--box {box}: not on the peeling trajectory; expected a box from 0 to {steps - 1} "
                        "(peeling.csv)")
    chosen = _prune(found, picked) if prune else picked
    if chosen != picked:
        rule += f", then pruned of its limits whose quasi-p-values are above {SIGNIFICANT:g}"
    trajectory = _trajectory(found, steps)
    full = found.box_lims[0]
    limits = _restricted(found.box_lims[chosen], full)
    qp = found.p_values[chosen]
    in_box = inside(x, limits)
    target = float(trajectory.loc[picked, "coverage"])

    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x9217]))
    rows, restricted_again, bounds = [], {}, {}
    for _ in tqdm(range(resamples), desc="discover: resampling", unit="resample", disable=None if progress else True,
                  leave=False):
        idx = rng.integers(0, len(x), size=len(x))
        xs, ys = x.iloc[idx].reset_index(drop=True), y[idx]
        if ys.all() or not ys.any():
            continue
        again = _find_box(prim, xs, ys, peel_alpha, paste_alpha, mass_min)
        j = _closest(_trajectory(again), target)
        j = _prune(again, j) if prune else j
        lims = _restricted(again.box_lims[j], again.box_lims[0])
        ins = inside(x, lims)
        hit = ins & y
        union = (ins | in_box).sum()
        rows.append({"coverage": hit.sum() / y.sum(), "density": hit.sum() / max(ins.sum(), 1),
                     "mass": ins.mean(), "jaccard": (ins & in_box).sum() / union if union else 1.0,
                     "same_parameters": set(limits) <= set(lims), "restricted": ", ".join(lims)})
        for name, (low, high) in lims.items():
            restricted_again[name] = restricted_again.get(name, 0) + 1
            bounds.setdefault(name, []).append((low, high))
    done = len(rows)
    recurrence = pd.Series({c: restricted_again.get(c, 0) / done if done else np.nan for c in x.columns},
                           dtype=float).sort_values(ascending=False)

    def qp_of(name: str, side: int) -> float:
        v = qp.get(name, [-1, -1])[side]
        return float(v) if v is not None and v >= 0 else float("nan")

    table = pd.DataFrame([{
        "parameter": name, "low": low, "high": high,
        "data_low": float(full[name].iloc[0]), "data_high": float(full[name].iloc[1]),
        "qp_low": qp_of(name, 0), "qp_high": qp_of(name, 1),
        "recurs": recurrence.get(name, np.nan),
        "resampled_low": float(np.median([b[0] for b in bounds[name]])) if name in bounds else np.nan,
        "resampled_high": float(np.median([b[1] for b in bounds[name]])) if name in bounds else np.nan,
    } for name, (low, high) in limits.items()],
        columns=["parameter", "low", "high", "data_low", "data_high", "qp_low", "qp_high", "recurs",
                 "resampled_low", "resampled_high"])
    if len(table):  # most significant first
        table = table.assign(_q=table[["qp_low", "qp_high"]].min(axis=1)).sort_values("_q").drop(columns="_q")
    return Discovery(trajectory, chosen, table.reset_index(drop=True), in_box,
                     pd.DataFrame(rows, columns=["coverage", "density", "mass", "jaccard", "same_parameters", "restricted"]),
                     float(y.mean()), rule, recurrence, picked)


# -- a Latin hypercube of runs -----------------------------------------------------------------

def check_outcome(outcome: str, columns) -> None:
    """``outcome`` is a numeric summary key among ``columns`` (a batch's summaries, or every summary key).

    Raises:
        UserError: it is not, in one line naming the keys there are.
    """
    if outcome not in MEASURES or outcome not in columns:
        raise UserError(f"--outcome {outcome}: not a numeric summary key of the runs; expected one of "
                        f"{', '.join(k for k in MEASURES if k in columns)}")


def run_design(folder: str | Path, scenarios: list, uncertain: list, samples: int, *, replications: int = 1,
               days: int | None = None, seed: int = 0, workers: int = 1, scheduler: str | None = None,
               progress: bool = True, sources: dict | None = None):
    """Run every scenario at ``samples`` points of a Latin hypercube over the ranges of ``uncertain``.

    Each point is run by every scenario with the same seeds (common random numbers), so the
    policy's runs pair with the baseline's; the points' values are the runs' ``sweep.<key>``
    columns. The batch folder is created, or resumed when it holds the same design.

    Returns:
        The batch's :class:`sim.runs.batch.BatchResult`.

    Raises:
        ScenarioError: a point the schema rejects; StoreError: the folder holds another batch.
    """
    from scipy.stats import qmc

    from sim.analysis.sensitivity import typed_point
    from sim.runs.batch import BatchPlan, plan_points, run_batch
    from sim.runs.store import run_hash

    keys = [p.key for p in uncertain]
    unit = qmc.LatinHypercube(d=len(keys), seed=np.random.default_rng(np.random.SeedSequence([int(seed), 0x1A7]))
                              ).random(samples)
    lows, highs = np.array([p.low for p in uncertain]), np.array([p.high for p in uncertain])
    points = [typed_point(scenarios[0], keys, row) for row in qmc.scale(unit, lows, highs)]
    plans = [plan_points(s, points, replications, days, seed, label="latin_hypercube") for s in scenarios]
    definition = {**plans[0].definition,
                  "scenarios": {k: v for p in plans for k, v in p.definition["scenarios"].items()},
                  "latin_hypercube": {"count": samples, "parameters": {p.key: [p.low, p.high] for p in uncertain},
                                      "hash": run_hash({"points": [sorted(p.items()) for p in points]}, seed)}}
    plan = BatchPlan(definition, [r for p in plans for r in p.runs], {k: v for p in plans for k, v in p.scenarios.items()})
    return run_batch(folder, plan, workers=workers, scheduler=scheduler, progress=progress, sources=sources,
                     append_hint=", or the same --latin-hypercube, --scenarios and --parameters")


# -- a batch folder ------------------------------------------------------------------------

@dataclass(frozen=True)
class Question:
    """Where does ``policy`` fail to cut ``outcome`` by at least ``cut`` % against ``baseline``?"""

    policy: str
    baseline: str = "baseline"
    outcome: str = "people_crossed"
    cut: float = 10.0

    def describe(self) -> str:
        label = MEASURES[self.outcome].label.lower() if self.outcome in MEASURES else self.outcome
        return f"{self.policy} cuts {label} by less than {self.cut:g} % against {self.baseline}"


def read_summaries(folder: str | Path, partial: bool = False) -> pd.DataFrame:
    """The summary rows of a batch folder's runs (without their boat and daily tables).

    Raises:
        StoreError: the folder holds no batch, its batch is unfinished (unless ``partial``), or no run.
    """
    from sim.runs.store import completeness

    folder = Path(folder)
    status = completeness(folder)
    if not status.complete and not partial:
        raise StoreError(f"{folder}: {status.describe()}; expected a finished batch (run the same channel-sim "
                         "batch again to finish it, or channel-sim discover --partial)")
    if not status.summaries:
        raise StoreError(f"{folder}: no complete run here; expected a batch folder with runs")
    summaries = pd.concat([t.to_pandas() for t in status.summaries.values()], ignore_index=True)
    summaries["scenario"] = summaries["scenario"].astype(str)
    return summaries


def check_question(summaries: pd.DataFrame, question: Question, folder: Path,
                   only: list[str] | None = None) -> None:
    """Refuse a question the batch cannot answer, in one line.

    Raises:
        UserError: the policy or the baseline is not a scenario of the batch (or they are one), the
            outcome is not a numeric summary key, the batch varies no parameter, or ``only`` names a
            parameter the batch does not vary.
    """
    names = list(dict.fromkeys(summaries["scenario"]))
    for option, name in (("--policy", question.policy), ("--baseline", question.baseline)):
        if name not in names:
            raise UserError(f"{option} {name}: no scenario of that name in {folder}; expected one of "
                            f"{', '.join(names)}")
    if question.policy == question.baseline:
        raise UserError(f"--policy {question.policy}: the same scenario as --baseline; expected another scenario "
                        "of the batch to compare with it")
    check_outcome(question.outcome, summaries.columns)
    if not parameter_columns(summaries):
        raise UserError(f"{folder}: its runs have no parameter draws or sweep; expected a batch made with "
                        "--posterior FILE --draws K (or --sweep, or channel-sim discover --latin-hypercube N)")
    if only:
        varying = list(parameter_values(summaries, question.policy, question.baseline).columns)
        unknown = [k for k in only if k not in varying]
        if unknown:
            raise UserError(f"--only {', '.join(unknown)}: not a parameter that varies in {folder}; expected "
                            f"some of {', '.join(varying)}")


@dataclass
class DiscoveryResult:
    """What ``channel-sim discover`` found and wrote."""

    question: Question
    pairs: pd.DataFrame
    points: pd.DataFrame          # one row per point: its parameters, cut, fails, inside
    parameters: list[str]
    discovery: Discovery
    out: Path
    files: dict
    undefined: int = 0            # points without a cut (a baseline mean of 0)
    per_pair: bool = False        # each pair of runs a point, rather than each parameter set

    def summary(self) -> str:
        """A few lines for the terminal."""
        d = self.discovery
        n = len(self.points)
        lines = [f"{self.question.describe()}: {int(self.points['fails'].sum())} of {n} parameter sets "
                 f"({100 * d.base_rate:.0f} %)",
                 f"box {d.chosen} of {len(d.trajectory)} ({d.rule}): coverage {d.coverage:.2f}, density "
                 f"{d.density:.2f}, mass {d.mass:.2f}"]
        if d.limits.empty:
            lines.append("  no parameter restricted: the failures are spread over the whole space")
        for r in d.limits.itertuples():
            q = np.nanmin([r.qp_low, r.qp_high])
            recurs = f", restricted again in {100 * r.recurs:.0f} % of resamples" if np.isfinite(r.recurs) else ""
            lines.append(f"  {r.parameter:44s} {_fmt(r.low):>9} to {_fmt(r.high):<9} (data {_fmt(r.data_low)} to "
                         f"{_fmt(r.data_high)}; quasi-p {q:.2g}{recurs})")
        if len(d.resamples):
            lines.append(f"found again in {100 * d.found_again:.0f} % of {len(d.resamples)} bootstrap resamples "
                         f"(the same parameters restricted, Jaccard overlap >= {FOUND_AGAIN})")
        lines.append(f"table and figures: {self.files['md']}")
        return "\n".join(lines)


def _fmt(v: float) -> str:
    return f"{v:.3g}" if abs(v) < 1e4 else f"{v:,.0f}"


def analyse_folder(folder: str | Path, question: Question, *, per_pair: bool = False, only: list[str] | None = None,
                   min_coverage: float = MIN_COVERAGE, box: int | None = None, resamples: int = RESAMPLES,
                   seed: int = 0, prune: bool = True, out: str | Path | None = None, partial: bool = False,
                   progress: bool = False) -> DiscoveryResult:
    """Scenario discovery on a batch folder: pair the runs, find the box, write its tables and figures.

    Writes into ``out`` (default ``FOLDER/discover-<policy>``, with ``-2``, ``-3``... rather than
    over an earlier one; a given ``out`` that exists is refused): ``discovery.md``, ``peeling.png``,
    ``box.png``, ``scatter.png``, and the tables ``points.csv``, ``pairs.csv``, ``peeling.csv``,
    ``box.csv`` and ``resamples.csv``.

    Raises:
        UserError: see :func:`read_summaries`, :func:`check_question` and :func:`discover`.
    """
    from sim.runs.rundir import check_new, free_name

    folder = Path(folder)
    if out is not None:
        out = Path(out)
        check_new(out)  # before any work
    summaries = read_summaries(folder, partial)
    check_question(summaries, question, folder, only)
    _prim_module()  # before any work: a missing extra is said first
    pairs = paired_runs(summaries, question.policy, question.baseline, question.outcome)
    if pairs.empty:
        raise UserError(f"{folder}: no run of {question.policy} has a run of {question.baseline} at the same "
                        "parameter set and seed; expected a batch that ran both with the same draws and seeds")
    values = parameter_values(summaries, question.policy, question.baseline)
    if only:
        values = values[list(only)]
    if values.empty:
        raise UserError(f"{folder}: no parameter varies between the runs; expected a batch made with --posterior "
                        "FILE --draws K (K > 1) or a sweep")
    points = point_cuts(pairs, question.cut, per_pair)
    keys = [c for c in points.index.names if c != "replication"]
    points = points.join(values, on=keys if len(keys) > 1 else keys[0])
    undefined = int(points["cut"].isna().sum())
    points = points[points["cut"].notna()]
    failing = int(points["fails"].sum())
    if failing == 0 or failing == len(points):
        every = "every one" if failing else "none"
        hint = "a smaller" if failing else "a larger"
        raise UserError(f"--cut {question.cut:g}: {every} of the {len(points)} parameter sets fails "
                        f"({question.describe()}); expected some that fail and some that do not: try {hint} --cut")
    parameters = list(values.columns)
    found = discover(points[parameters], points["fails"].to_numpy(), min_coverage=min_coverage, box=box,
                     resamples=resamples, seed=seed, prune=prune, progress=progress)
    points = points.assign(inside=found.inside)

    if out is None:
        out = free_name(folder, f"discover-{question.policy}")
    else:
        check_new(out)  # still free
    out.mkdir(parents=True)
    result = DiscoveryResult(question, pairs, points.reset_index(), parameters, found, out, {}, undefined, per_pair)
    result.files = write_discovery(result, folder)
    return result


def write_discovery(result: DiscoveryResult, folder: Path) -> dict[str, Path]:
    """The tables, figures and ``discovery.md`` of a discovery, in its folder."""
    from sim.analysis import discovery_figures as figs
    from sim.analysis.output import save_csv, write_atomic

    out, d = result.out, result.discovery
    files = {
        "points": save_csv(result.points, out / "points.csv"),
        "pairs": save_csv(result.pairs, out / "pairs.csv"),
        "peeling": save_csv(d.trajectory, out / "peeling.csv"),
        "box": save_csv(d.limits, out / "box.csv"),
        "resamples": save_csv(d.resamples, out / "resamples.csv"),
        "peeling_png": figs.peeling_figure(d, out / "peeling.png"),
        "box_png": figs.box_figure(d, result.question, out / "box.png"),
        "scatter_png": figs.scatter_figure(result, out / "scatter.png"),
    }
    files["md"] = write_atomic(out / "discovery.md", discovery_markdown(result, folder))
    return files


def _qp(v: float) -> str:
    if not np.isfinite(v):
        return "–"
    mark = " *" if v < SIGNIFICANT else ""
    return f"{v:.2g}{mark}"


def discovery_markdown(result: DiscoveryResult, folder: Path) -> str:
    """``discovery.md``: the question, the data, the box and its limits, the stability check, the figures."""
    q, d, pts = result.question, result.discovery, result.points
    measure = MEASURES[q.outcome]
    unit = "pair of runs" if result.per_pair else "parameter set (its pairs averaged)"
    reps = int(result.pairs["replication"].nunique())
    lines = [f"# Where {q.policy} fails: {measure.label.lower()} cut by less than {q.cut:g} %", "",
             f"Batch: `{folder}`. {len(result.pairs)} pairs of runs ({q.policy} and {q.baseline} at the same "
             f"parameter set and seed; {reps} replication(s)), {len(pts)} points, one per {unit}. "
             f"A point's cut is -100 x its mean paired difference ({q.policy} minus {q.baseline}) / its mean "
             f"{q.baseline} {measure.label.lower()}; it **fails** when the cut is below {q.cut:g} %.",
             "",
             f"- failing points: {int(pts['fails'].sum())} of {len(pts)} ({100 * d.base_rate:.0f} %); "
             f"cut over the points: median {pts['cut'].median():.1f} %, from {pts['cut'].min():.1f} to "
             f"{pts['cut'].max():.1f} %",
             f"- parameters searched: {len(result.parameters)} ({', '.join(f'`{p}`' for p in result.parameters)})"]
    if result.undefined:
        lines.append(f"- {result.undefined} point(s) left out: their {q.baseline} mean is 0, so no cut")
    lines += ["", "## The box", "",
              f"Box {d.chosen} of the {len(d.trajectory)} on PRIM's peeling trajectory ({d.rule}):", "",
              "| coverage | density | mass | points in the box | failing there | restricted parameters |",
              "|---|---|---|---|---|---|",
              f"| {d.coverage:.2f} | {d.density:.2f} | {d.mass:.2f} | {int(d.trajectory.loc[d.chosen, 'points'])} | "
              f"{int(d.trajectory.loc[d.chosen, 'failing'])} | {len(d.limits)} |", "",
              "Coverage: the share of all failing points that lie in the box. Density: the share of the box's "
              "points that fail (the whole space: "
              f"{d.base_rate:.2f}). Mass: the share of all points in the box.", ""]
    if d.limits.empty:
        lines += ["The box restricts no parameter: the failures are not confined to a region of these ranges.", ""]
    else:
        lines += ["| parameter | box | range of the points | quasi-p, low limit | quasi-p, high limit | "
                  "restricted again in resamples | median limits there |", "|---|---|---|---|---|---|---|"]
        for r in d.limits.itertuples():
            again = f"{100 * r.recurs:.0f} %" if np.isfinite(r.recurs) else "–"
            median = (f"{_fmt(r.resampled_low)} to {_fmt(r.resampled_high)}" if np.isfinite(r.resampled_low)
                      else "–")
            lines.append(f"| `{r.parameter}` | {_fmt(r.low)} to {_fmt(r.high)} | {_fmt(r.data_low)} to "
                         f"{_fmt(r.data_high)} | {_qp(r.qp_low)} | {_qp(r.qp_high)} | {again} | {median} |")
        lines += ["", f"A quasi-p-value (Bryant and Lempert 2010) tests, one-sided and binomial, whether the box is "
                  "denser in failures than the same box without that limit; * marks those below "
                  f"{SIGNIFICANT:g}. – : that side is not restricted.", ""]
    lines += ["## Stability", ""]
    if d.resamples.empty:
        lines += ["No resamples were drawn (--resamples 0).", ""]
    else:
        r = d.resamples
        lines += [f"PRIM was run again on {len(r)} bootstrap resamples of the points, taking on each trajectory "
                  "the box whose coverage is closest to the chosen box's. Measured on all the points:", "",
                  "| | median | 10th to 90th percentile |", "|---|---|---|"]
        for col, label in (("coverage", "coverage"), ("density", "density"), ("jaccard", "overlap with the box "
                                                                                          "(Jaccard)")):
            lines.append(f"| {label} | {r[col].median():.2f} | {r[col].quantile(0.1):.2f} to "
                         f"{r[col].quantile(0.9):.2f} |")
        lines += ["", "The box is found again (the resampled box restricts every parameter this one does, and "
                  f"of the points inside either box at least {FOUND_AGAIN:g} are inside both, a Jaccard index) in "
                  f"**{100 * d.found_again:.0f} %** of the resamples. How often each parameter is restricted there:",
                  "", "| parameter | restricted in resamples |", "|---|---|"]
        for name, share in d.recurrence.items():
            if share > 0:
                lines.append(f"| `{name}` | {100 * share:.0f} % |")
        lines.append("")
    lines += ["## Figures", "",
              "![The peeling trajectory](peeling.png)", "",
              "Each point is a box on PRIM's peeling trajectory: peeling raises the density (more of the box "
              "fails) and lowers the coverage (fewer of all failures are in it); the colour is the number of "
              "restricted parameters; the ringed point is the chosen box.", "",
              "![The chosen box](box.png)", "",
              "Each restricted parameter's range over the points (grey) and the box's limits (colour), with the "
              "quasi-p-value of each limit.", "",
              "![The points and the box](scatter.png)", "",
              "The points on the box's two most significant parameters (or its one, against the cut), failing "
              "points in red, with the box's limits.", "",
              "Tables: `points.csv` (each point's parameters, means, cut, whether it fails and lies in the box), "
              "`pairs.csv` (each pair of runs), `peeling.csv`, `box.csv`, `resamples.csv`.", ""]
    return "\n".join(lines)
