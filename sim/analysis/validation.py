"""Validation: the reported rates a scenario is held to, the observed record, and how a batch compares.

Targets live in a YAML file (the shipped ``sim/data/targets.yaml``, or one given with ``--targets``): each has a reported
value, an acceptance band for the mean over replications, a summary key or a
formula over summary keys, and its source. A target passes when the mean of
the simulated values lies inside its band; the 95 % interval of that mean is
shown beside it.

With ``observed=YEAR``, the runs are also compared with that year of the
Home Office's daily record, pattern by pattern (``sim.analysis.patterns``):
each pattern passes inside the runs' 90 % predictive interval.
"""

from __future__ import annotations

import ast
import datetime as dt
import operator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.analysis.observed import Record, load_record
from sim.analysis.output import save_csv, save_figure, write_atomic
from sim.analysis.patterns import PatternComparison, compare_record
from sim.analysis.stats import Interval, bounded, mean_ci
from sim.errors import RecordError, ScenarioError
from sim.outcomes import MEASURES, SUMMARY_KEYS
from sim.scenario import excerpt, read_yaml_file


class Target(BaseModel):
    """One reported rate."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str
    description: str = ""
    reported: float
    band: tuple[float, float]
    key: str | None = None
    formula: str | None = None
    annual: bool = False
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _one_definition(self) -> Target:
        if (self.key is None) == (self.formula is None):
            raise ValueError("give exactly one of key or formula")
        if self.band[0] > self.band[1]:
            raise ValueError(f"band {list(self.band)}: low end above high end")
        expr = self.formula if self.formula is not None else self.key
        if len(expr) > MAX_FORMULA:
            raise ValueError(f"a formula of {len(expr):,} characters; expected at most {MAX_FORMULA}")
        for name in _names(expr):
            if name not in SUMMARY_KEYS:
                raise ValueError(f"{name!r} is not a summary key")
            if name == "scenario":
                raise ValueError(f"{name!r} is not a number of the summary; expected one of the numeric keys")
        try:
            evaluate(expr, {name: 1.0 for name in _names(expr)})  # only + - * / are allowed
        except ZeroDivisionError:
            pass  # with these values only: the runs' values decide
        _no_literal_zero_divisor(expr)
        return self


class Targets(BaseModel):
    """The file of targets."""

    model_config = ConfigDict(extra="forbid")

    targets: list[Target] = Field(min_length=1)


def _no_literal_zero_divisor(expr: str) -> None:
    """Refuse a division by a constant that is zero (``x / 0``, ``x / (2 - 2)``)."""
    for node in ast.walk(ast.parse(expr, mode="eval")):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            if not any(isinstance(n, ast.Name) for n in ast.walk(node.right)):
                try:
                    divisor = evaluate(ast.unparse(node.right), {})
                except ZeroDivisionError:
                    divisor = 0
                if divisor == 0:
                    raise ValueError(f"{excerpt(expr)} divides by zero")


#: The longest formula a target may have.
MAX_FORMULA = 500


def _names(expr: str) -> list[str]:
    try:
        tree = ast.parse(expr, mode="eval")
    except (SyntaxError, RecursionError, MemoryError):
        raise ValueError(f"{excerpt(expr)} is not a formula of + - * / over summary keys") from None
    return [n.id for n in ast.walk(tree) if isinstance(n, ast.Name)]


_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def evaluate(expr: str, values: dict):
    """Evaluate a formula of + - * / over summary keys (columns or scalars)."""
    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -ev(node.operand)
        if isinstance(node, ast.Name):
            return values[node.id]
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return node.value
        raise ValueError(f"{expr!r}: only + - * / over summary keys and numbers are allowed")
    return ev(ast.parse(expr, mode="eval"))


#: The shipped targets file: the one every command uses unless given ``--targets FILE``.
TARGETS_FILE = Path(__file__).resolve().parent.parent / "data" / "targets.yaml"


def default_targets(scenario_file: str | Path | None = None) -> Path:
    """The targets file every command uses when none is given: the shipped ``sim/data/targets.yaml``.

    Args:
        scenario_file: ignored (the rule is one for every scenario and every folder); accepted so
            that callers written when the targets were looked for beside the scenario keep working.
    """
    return TARGETS_FILE


def load_targets(path: str | Path) -> list[Target]:
    """Read and check a targets file.

    Raises:
        ScenarioError: one line naming the file, the entry and the problem.
    """
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(f"{path}: file not found; expected a targets YAML file")
    data = read_yaml_mapping(path, "a mapping with a list of targets under 'targets'")
    try:
        return Targets.model_validate(data).targets
    except ValidationError as exc:
        raise ScenarioError(f"{path}: {describe(exc)}") from None


def read_yaml_mapping(path: Path, expected: str) -> dict:
    """A YAML file whose top level is a mapping, or one clear error (``sim.scenario.read_yaml_file``'s bounds)."""
    data = read_yaml_file(path, expected)
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: expected {expected}, got {type(data).__name__}")
    return data


def describe(exc: ValidationError) -> str:
    """The first validation error as ``key.path: message``."""
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "(top level)"
    return f"{where}: {err['msg'].removeprefix('Value error, ')}"


def simulated(summaries: pd.DataFrame, target: Target) -> pd.Series:
    """The target's quantity in each run."""
    expr = target.formula if target.formula is not None else target.key
    values = evaluate(expr, {k: summaries[k].astype(float) for k in _names(expr)})
    values = pd.Series(values, index=summaries.index, dtype=float)
    if target.annual:
        values = values * 365.0 / summaries["days"].astype(float)
    return values


def _target_unit(t: Target) -> str:
    """What a target counts, when it is one summary key (a formula's unit is in its description)."""
    if t.key is None or t.key not in MEASURES:
        return "a year" if t.annual else ""
    m = MEASURES[t.key]
    return "share" if m.share else f"{m.unit}{' a year' if t.annual else ''}"


def compare(summaries: pd.DataFrame, targets: list[Target]) -> pd.DataFrame:
    """One row per target: reported value and band, simulated mean and 95 % interval, pass or fail.

    The interval is a t-interval across the runs made on the log or logit scale (``stats.bounded``)
    when the quantity cannot be negative, so that it respects the bounds of a count or a rate.
    """
    rows = []
    for t in targets:
        values = simulated(summaries, t).to_numpy()
        m, lo, hi = mean_ci(values)
        if len(values) and np.nanmin(values) >= 0:  # a count, or a rate when every value lies in [0, 1]
            share = bool(np.nanmax(values) <= 1 and t.reported <= 1)
            found = bounded(Interval(m, lo, hi, len(values)), share)
            lo, hi = found.low, found.high
        rows.append({"target": t.name, "reported": t.reported, "band_low": t.band[0], "band_high": t.band[1],
                     "mean": m, "ci_low": lo, "ci_high": hi, "n": len(summaries),
                     "passed": bool(t.band[0] <= m <= t.band[1]), "source": t.source, "unit": _target_unit(t)})
    return pd.DataFrame(rows)


def fig_validation(table: pd.DataFrame, title: str = ""):
    """Simulated means with 95 % intervals against the reported bands, one panel per target."""
    import matplotlib.pyplot as plt

    n = len(table)
    fig, axes = plt.subplots(n, 1, figsize=(8, 0.9 * n + 0.8), constrained_layout=True)
    axes = np.atleast_1d(axes)
    for ax, (_, r) in zip(axes, table.iterrows()):
        width = r["band_high"] - r["band_low"]
        lo = min(r["band_low"], r["ci_low"] if np.isfinite(r["ci_low"]) else r["mean"]) - 0.3 * width
        hi = max(r["band_high"], r["ci_high"] if np.isfinite(r["ci_high"]) else r["mean"]) + 0.3 * width
        ax.axvspan(r["band_low"], r["band_high"], color="tab:green" if r["passed"] else "tab:red", alpha=0.15)
        ax.axvline(r["reported"], color="k", ls="--", lw=1)
        err = [[r["mean"] - r["ci_low"]], [r["ci_high"] - r["mean"]]] if np.isfinite(r["ci_low"]) else None
        ax.errorbar([r["mean"]], [0], xerr=err, fmt="o", color="tab:blue", capsize=4)
        ax.set_xlim(lo, hi)
        ax.set_yticks([])
        unit = r.get("unit") or ""
        ax.set_ylabel(f"{r['target']}\n({unit})" if unit else r["target"], rotation=0, ha="right", va="center",
                      fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
    axes[0].set_title(title or "simulated mean (95 % CI, blue) against the reported value (dashed) and band", fontsize=9)
    return fig


def markdown_table(table: pd.DataFrame) -> str:
    """The comparison as a Markdown table."""
    def f(v):
        return f"{v:,.3f}" if abs(v) < 10 else f"{v:,.1f}" if abs(v) < 1000 else f"{v:,.0f}"
    lines = ["| target | reported | band | simulated mean [95 % CI] | result | source |", "|---|---|---|---|---|---|"]
    for _, r in table.iterrows():
        ci = f"[{f(r['ci_low'])}, {f(r['ci_high'])}]" if np.isfinite(r["ci_low"]) else ""
        lines.append(f"| {r['target']} | {f(r['reported'])} | {f(r['band_low'])}-{f(r['band_high'])} | "
                     f"{f(r['mean'])} {ci} | {'pass' if r['passed'] else 'FAIL'} | {r['source']} |")
    return "\n".join(lines)


@dataclass
class ValidationResult:
    """A scenario's replications against the reported rates (and the observed record, when asked)."""

    table: pd.DataFrame   # one row per target (see ``compare``)
    markdown: str         # the table in Markdown
    files: dict           # csv, md, png (and the patterns' files)
    failed: int           # targets whose band the mean missed
    patterns: PatternComparison | None = None  # the runs against a year of the record

    @property
    def passed(self) -> bool:
        """Every target met and, with the record, its patterns passed as a whole."""
        return not self.failed and (self.patterns is None or self.patterns.verdict.passed)


def check_covers(scenario, source: str | Path, days: int | None, year: int) -> None:
    """Refuse, before any run, a scenario whose runs would not cover the whole of ``year``.

    Raises:
        RecordError: one line naming the scenario, the dates it covers and the year asked.
    """
    start = scenario.start_date
    end = start + dt.timedelta(days=(days or scenario.days) - 1)
    if start > dt.date(year, 1, 1) or end < dt.date(year, 12, 31):
        given = f" (with --days {days})" if days else ""
        raise RecordError(f"{source}: scenario {scenario.name} covers {start}..{end}{given}; --observed {year} "
                          f"needs a run covering {year} (start_date {year}-01-01 or earlier, and days enough to "
                          f"reach {year}-12-31)")


def write_patterns(cmp: PatternComparison, out: str | Path, title: str) -> dict[str, Path]:
    """Write ``patterns.csv``, ``patterns_runs.csv``, ``patterns.md`` and the pattern figures into ``out``.

    Returns:
        Name -> path of each file written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim.analysis.pattern_figures import pattern_figures

    out = Path(out)
    files = {"patterns_csv": save_csv(cmp.table.assign(year=cmp.year), out / "patterns.csv")}
    record_row = pd.DataFrame([{"run": "record", **cmp.observed}])
    files["patterns_runs_csv"] = save_csv(pd.concat([record_row, cmp.simulated], ignore_index=True),
                                          out / "patterns_runs.csv")
    links = []
    for name, (caption, fig) in pattern_figures(cmp).items():
        files[name] = save_figure(fig, out / f"{name}.png")
        plt.close(fig)
        links.append(f"![{caption}]({name}.png)")
    files["patterns_md"] = write_atomic(out / "patterns.md", f"# {title}\n\n{cmp.markdown()}\n\n"
                                        + "\n\n".join(links) + "\n")
    return files


def run_validation(out: str | Path, scenario, source: str | Path, targets: list[Target], *, replications: int = 20,
                   days: int | None = None, seed: int = 0, workers: int = 1, scheduler: str | None = None,
                   progress: bool = True, observed: int | None = None,
                   record: Record | None = None) -> ValidationResult:
    """Run a scenario's replications into ``out`` and compare them with ``targets`` (and the record).

    Writes ``validation.csv``, ``validation.md`` and ``validation.png`` beside the runs
    (``out`` is a resumable batch folder); with ``observed``, the year of the
    observed record to compare the runs with (``record``, or the shipped copy),
    also ``patterns.csv``, ``patterns_runs.csv``, ``patterns.md`` and the
    ``patterns*.png`` figures (see :func:`write_patterns`).

    Raises:
        RecordError: the record or the scenario's runs do not cover ``observed`` (before any run),
            or fewer than 2 replications are asked for with it.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim.runs.batch import plan_batch, run_batch
    from sim.runs.store import load_results

    out = Path(out)
    if observed is not None:
        record = record if record is not None else load_record()
        record.check_year(observed)
        check_covers(scenario, source, days, observed)
        if replications < 2:
            raise RecordError(f"--observed {observed}: 1 replication; expected at least 2 to compare with the "
                              "record (20 or more for intervals worth the name)")
    plan = plan_batch([scenario], replications, days, None, seed)
    summaries = run_batch(out, plan, workers=workers, scheduler=scheduler, progress=progress,
                          sources={scenario.name: str(Path(source).resolve())}, append_hint="").summaries
    table = compare(summaries, targets)
    files = {"csv": out / "validation.csv", "md": out / "validation.md", "png": out / "validation.png"}
    save_csv(table, files["csv"])
    md = markdown_table(table)
    write_atomic(files["md"], f"# Validation of {scenario.name}\n\n{len(summaries)} replications of "
                              f"{int(summaries['days'].max())} days.\n\n{md}\n\n![validation](validation.png)\n")
    fig = fig_validation(table, f"{scenario.name}: simulated mean (95 % CI) against the reported band")
    save_figure(fig, files["png"])
    plt.close(fig)
    cmp = None
    if observed is not None:
        results = load_results(out)
        runs = set(summaries["run"])
        cmp = compare_record(record, results["daily"][results["daily"]["run"].isin(runs)],
                             results["boats"][results["boats"]["run"].isin(runs)], observed)
        files.update(write_patterns(cmp, out, f"{scenario.name} against the observed record of {observed}"))
    return ValidationResult(table, md, files, int((~table["passed"]).sum()), cmp)
