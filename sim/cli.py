"""The ``channel-sim`` command line.

Commands:

* ``channel-sim run SCENARIO [--seed N] [--days N] [--out DIR]``: run one
  scenario and write its folder (see ``sim.runs.rundir``);
* ``channel-sim check SCENARIO...``: check scenario files for unknown keys and wrong types,
  without running them;
* ``channel-sim scenarios [FOLDER]``: every scenario file of a folder and its subfolders, with
  its name and description;
* ``channel-sim batch SCENARIO... --replications N --out DIR``: scenarios x
  sweep points x replications into a resumable results folder (``sim.runs.batch``);
* ``channel-sim report DIR``: the policy comparison report of a batch folder
  (``sim.analysis.report``).

Bad input (a scenario with an unknown key or a wrong type, a missing file, an
output folder that exists) gets one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import sys
import time
from pathlib import Path

# Only light modules here: a batch on local workers starts their fork server
# first (sim.runs.workers), and imports the rest while the server imports the model.
from sim.runs.workers import default_workers, start_server

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit 2."""

    def error(self, message: str):  # noqa: D102
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def version() -> str:
    """``channel-sim 0.1.0 (Mesa 3.5.1, Python 3.12.3)``: the installed versions, read without importing Mesa."""
    import platform
    from importlib import metadata

    def installed(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "unknown"

    return f"channel-sim {installed('channel-sim')} (Mesa {installed('mesa')}, Python {platform.python_version()})"


class _Version(argparse.Action):
    """``--version``: the versions are looked up only when it is given."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        print(version())
        parser.exit()


def _examples(*lines: str) -> str:
    """The epilog of a command's help: example command lines, one a line."""
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def _command(sub, name: str, help: str, *examples: str) -> argparse.ArgumentParser:
    """A subcommand whose ``--help`` says what it does and ends with examples."""
    return sub.add_parser(name, help=help, description=help[0].upper() + help[1:] + ".",
                          epilog=_examples(*examples), formatter_class=argparse.RawDescriptionHelpFormatter)


def _whole(text: str, minimum: int, noun: str = "a number") -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected {noun} >= {minimum}, got {value}")
    return value


def _positive(text: str) -> int:
    return _whole(text, 1)


def _count(text: str) -> int:
    return _whole(text, 0)


def _share(text: str) -> float:
    """A share strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1 (exclusive), got {text}")
    return value


def _seed(text: str) -> int:
    return _whole(text, 0, "a seed")


def _days(text: str) -> int:
    """Days to simulate: 1 to 36,500 (a century, as the scenario schema allows)."""
    value = _positive(text)
    if value > 36500:
        raise argparse.ArgumentTypeError(f"expected at most 36500 days (a century), got {value}")
    return value


def _year(text: str) -> int:
    """A calendar year of the observed record (checked against the record itself later)."""
    value = _whole(text, 1900, "a year")
    if value > 2200:
        raise argparse.ArgumentTypeError(f"expected a year up to 2200, got {value}")
    return value


def _record_options(parser: argparse.ArgumentParser) -> None:
    """Where the observed record is read from: the shipped copy unless a newer download is given."""
    parser.add_argument("--record", type=Path, metavar="DIR",
                        help="folder with a newer download of the record: uk_small_boats_daily.csv and "
                             "uk_small_boats_weekly.csv (default: the copy shipped with channel-sim)")
    parser.add_argument("--daily", type=Path, metavar="FILE",
                        help="the daily table to use instead (date, people_arrived, boats_arrived)")
    parser.add_argument("--weekly", type=Path, metavar="FILE",
                        help="the weekly table to use instead (week_ending, people_arrived, boats_arrived, "
                             "people_prevented, events_prevented)")


def _load_record(args):
    """The observed record the options name (the shipped copy when they name none)."""
    from sim.analysis.observed import load_record

    return load_record(args.record, daily=args.daily, weekly=args.weekly)


def _observed_record(args):
    """The record ``--observed`` compares with, or None without ``--observed``.

    Raises:
        RecordError: a record option given without ``--observed``, or a record that cannot be read.
    """
    from sim.errors import RecordError

    if args.observed is not None:
        return _load_record(args)
    if args.record or args.daily or args.weekly:
        given = "--record" if args.record else "--daily" if args.daily else "--weekly"
        raise RecordError(f"{given}: given without --observed YEAR; expected --observed with the year of the "
                          "record to compare the runs with")
    return None


def _executor_options(parser: argparse.ArgumentParser) -> None:
    """``--workers`` or ``--scheduler``, for every command that runs batches."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", "-j", type=_positive, help="local worker processes (default: all cores)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="Dask scheduler, e.g. tcp://host:8786 (default: $DASK_SCHEDULER_ADDRESS if set)")


def _scenario_or_baseline(parser: argparse.ArgumentParser) -> None:
    """An optional scenario argument that defaults to the shipped baseline."""
    parser.add_argument("scenario", type=Path, nargs="?", default=Path("scenarios/baseline.yaml"),
                        help="scenario YAML file (default: scenarios/baseline.yaml)")


def _where(args) -> tuple[int, str | None]:
    """Workers and scheduler address from the options and the environment (a warning beyond the cores)."""
    scheduler = args.scheduler or (None if args.workers else os.environ.get("DASK_SCHEDULER_ADDRESS"))
    cores = default_workers()
    if args.workers and args.workers > cores and not scheduler and not getattr(args, "_warned", False):
        print(f"channel-sim: warning: --workers {args.workers}: this machine has {cores} core(s) for this "
              "process; the workers will share them (at most one per run is started)", file=sys.stderr)
        args._warned = True
    return args.workers or cores, scheduler


def build_parser() -> argparse.ArgumentParser:
    """The parser for all commands."""
    parser = _Parser(prog="channel-sim", description="Agent-based simulation of small-boat crossings of the English Channel.",
                     epilog=_examples("channel-sim run scenarios/baseline.yaml --seed 1 --days 90",
                                      "channel-sim batch scenarios/baseline.yaml scenarios/drones_doubled.yaml -n 3 "
                                      "--days 30 --out results/demo --report")
                     + "\n\nchannel-sim COMMAND --help says more about each command.",
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action=_Version, help="print the versions of channel-sim, Mesa and Python")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")

    run = _command(sub, "run", "run one scenario and write its results folder",
                   "channel-sim run scenarios/baseline.yaml --seed 1 --days 90",
                   "channel-sim run scenarios/returns.yaml --out results/returns-seed0")
    run.add_argument("scenario", type=Path, help="scenario YAML file")
    run.add_argument("--seed", type=_seed, default=0, help="random seed (default 0)")
    run.add_argument("--days", type=_days, help="days to simulate (default: the scenario's)")
    run.add_argument("--out", type=Path, help="results folder to create (default: results/<scenario>-seed<N>)")
    run.add_argument("--quiet", action="store_true", help="print nothing but errors")

    check = _command(sub, "check", "check scenario files for unknown keys and wrong types, without running them",
                     "channel-sim check scenarios/*.yaml scenarios/structure/*.yaml",
                     "channel-sim check scenarios/returns.yaml")
    check.add_argument("scenarios", type=Path, nargs="+", help="scenario YAML files")

    listing = _command(sub, "scenarios", "list the scenario files of a folder and its subfolders, with their "
                       "names and descriptions", "channel-sim scenarios", "channel-sim scenarios scenarios/structure")
    listing.add_argument("folder", type=Path, nargs="?", default=Path("scenarios"),
                         help="folder of scenario YAML files (default: scenarios, in the current folder)")

    batch = _command(sub, "batch", "run scenarios x sweep points x replications into a results folder",
                     "channel-sim batch scenarios/baseline.yaml scenarios/drones_doubled.yaml -n 3 --days 30 "
                     "--out results/demo --report",
                     "channel-sim batch scenarios/baseline.yaml scenarios/returns.yaml --posterior sim/data/posterior.csv "
                     "--draws 5 -n 4 --out results/returns-posterior")
    batch.add_argument("scenarios", type=Path, nargs="+", help="scenario YAML files")
    batch.add_argument("--replications", "-n", type=_positive, required=True, help="replications of each scenario")
    batch.add_argument("--days", type=_days, help="days per run (default: each scenario's)")
    batch.add_argument("--sweep", action="append", default=[], metavar="KEY=V1,V2,...",
                       help="sweep a scenario key over values, e.g. surveillance.drones=12,24 (repeat for a grid)")
    batch.add_argument("--seed", type=_seed, default=0,
                       help="entropy of the seed sequence and of the choice of draws (default 0)")
    batch.add_argument("--posterior", type=Path, metavar="FILE",
                       help="run every scenario under --draws parameter sets drawn from this posterior CSV "
                            "(e.g. sim/data/posterior.csv, the shipped calibration), each with the same seeds")
    batch.add_argument("--draws", type=_positive, metavar="K",
                       help="distinct particles drawn by weight from --posterior (default 10)")
    _executor_options(batch)
    batch.add_argument("--out", type=Path, required=True, help="results folder (created, or resumed)")
    batch.add_argument("--append", action="store_true", help="add a different batch definition to an existing folder")
    batch.add_argument("--report", action="store_true", help="write the report when the batch is done")
    batch.add_argument("--baseline", metavar="NAME",
                       help="with --report: the scenario the others are compared with (default: baseline)")
    batch.add_argument("--quiet", action="store_true", help="no progress bar or table")

    report = _command(sub, "report", "write the policy comparison report of a batch folder "
                      "(of one run's folder: print its summary)",
                      "channel-sim report results/demo",
                      "channel-sim report results/baseline-90d")
    report.add_argument("folder", type=Path, help="a folder written by channel-sim batch, or by channel-sim run "
                        "(its summary.md is printed, and written first if the folder lacks it)")
    report.add_argument("--baseline", default="baseline", help="scenario the others are compared with (default: baseline)")
    report.add_argument("--partial", action="store_true",
                        help="report on the runs there even if the batch is not finished (the report says so)")
    report.add_argument("--quiet", action="store_true", help="no progress bar, ranking or paths printed")
    report.add_argument("--targets", type=Path, metavar="FILE", help="reported rates to compare the baseline "
                        "with (default: the shipped sim/data/targets.yaml)")
    _record_options(report)

    validate = _command(sub, "validate", "compare a scenario's replications with the reported rates",
                        "channel-sim validate scenarios/baseline.yaml -n 20",
                        "channel-sim validate scenarios/baseline.yaml --observed 2025 -n 40")
    _scenario_or_baseline(validate)
    validate.add_argument("--replications", "-n", type=_positive, default=20, help="replications (default 20)")
    validate.add_argument("--days", type=_days, help="days per run (default: the scenario's)")
    validate.add_argument("--targets", type=Path, metavar="FILE",
                          help="reported rates to compare with (default: the shipped sim/data/targets.yaml)")
    validate.add_argument("--observed", type=_year, metavar="YEAR",
                          help="also compare the runs with this year of the Home Office's daily record, "
                               "pattern by pattern (the runs must cover the whole year)")
    _record_options(validate)
    validate.add_argument("--seed", type=_seed, default=0, help="entropy of the seed sequence (default 0)")
    _executor_options(validate)
    validate.add_argument("--out", type=Path, help="results folder (default: results/validate-<scenario>)")
    validate.add_argument("--quiet", action="store_true", help="no progress bar")

    sens = _command(sub, "sensitivity", "Morris screening, then Sobol indices, of the uncertain parameters",
                    "channel-sim sensitivity scenarios/baseline.yaml --trajectories 10 --sobol-samples 64",
                    "channel-sim sensitivity scenarios/baseline.yaml --trajectories 4 --sobol-samples 0 --days 90")
    _scenario_or_baseline(sens)
    sens.add_argument("--parameters", type=Path, help="uncertain parameters and ranges (default: the shipped list)")
    sens.add_argument("--outcomes", help="comma-separated summary keys (default: people_crossed, people_prevented, "
                      "taxi_boat_success_rate, launch_success_rate, mean_people_per_boat)")
    sens.add_argument("--trajectories", type=_positive, default=10, help="Morris trajectories (default 10)")
    sens.add_argument("--sobol-samples", type=_count, default=64, help="Sobol base samples N, 0 to skip (default 64)")
    sens.add_argument("--top", type=_positive, default=4, help="parameters carried to Sobol (default 4)")
    sens.add_argument("--replications", "-n", type=_positive, default=1, help="seeds averaged per point (default 1)")
    sens.add_argument("--days", type=_days, help="days per run (default: the scenario's)")
    sens.add_argument("--seed", type=_seed, default=0, help="seed of the designs and the runs (default 0)")
    _executor_options(sens)
    sens.add_argument("--out", type=Path, help="results folder (default: results/sensitivity-<scenario>)")
    sens.add_argument("--quiet", action="store_true", help="no progress bar")

    cal = _command(sub, "calibrate", "fit uncertain parameters to the reported rates (ABC-SMC, pyabc)",
                   "channel-sim calibrate scenarios/baseline.yaml --sensitivity results/sensitivity-baseline --top 3",
                   "channel-sim calibrate scenarios/baseline.yaml --observed 2025 --population 40 --generations 4")
    _scenario_or_baseline(cal)
    pick = cal.add_mutually_exclusive_group()
    pick.add_argument("--parameters", type=Path, help="parameters to fit and their prior ranges "
                      "(default: the shipped list, narrowed by --sensitivity)")
    pick.add_argument("--sensitivity", type=Path, metavar="DIR",
                      help="fit the --top parameters of a sensitivity folder's Morris screening")
    cal.add_argument("--top", type=_positive, default=3, help="parameters taken from --sensitivity (default 3)")
    cal.add_argument("--targets", type=Path, metavar="FILE",
                     help="reported rates to fit (default: the shipped sim/data/targets.yaml)")
    cal.add_argument("--observed", type=_year, metavar="YEAR",
                     help="also fit the patterns of this year of the Home Office's daily record "
                          "(the runs must cover the whole year)")
    _record_options(cal)
    cal.add_argument("--population", type=_positive, default=40, help="particles per generation (default 40)")
    cal.add_argument("--generations", type=_positive, default=4,
                     help="ABC-SMC generations (default 4; 1 is rejection ABC, its particles of equal weight)")
    cal.add_argument("--acceptance", type=_share, default=0.5, metavar="Q",
                     help="share of each generation's distances accepted below, e.g. 0.1 (default 0.5)")
    cal.add_argument("--check-top", type=_positive, metavar="K",
                     help="write the calibrated scenario with the one of the K particles of highest weight whose "
                          "replications best reproduce the observed values (default: the posterior medians)")
    cal.add_argument("--check-replications", type=_positive, metavar="R",
                     help="replications of each particle --check-top runs (default 20)")
    cal.add_argument("--days", type=_days, help="days per run (default: the scenario's)")
    cal.add_argument("--seed", type=_seed, default=0, help="seed (default 0)")
    _executor_options(cal)
    cal.add_argument("--out", type=Path, help="results folder (default: results/calibrate-<scenario>)")
    return parser


def _table(summary: dict) -> str:
    """The run's main outcomes (``sim.outcomes.RUN_TABLE``), a key's parts indented under it."""
    from sim.outcomes import MEASURES, RUN_TABLE

    rows = [(("  " if MEASURES[key].part_of else "") + MEASURES[key].label, MEASURES[key].format(summary[key]))
            for key in RUN_TABLE]
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{name:<{width}}  {value:>10}" for name, value in rows)


def cmd_run(args) -> int:
    """``channel-sim run``."""
    from sim.runs.rundir import check_new, free_name, provenance, write_run
    from sim.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    if args.days:
        scenario = scenario.with_overrides(days=args.days)
    out = args.out or free_name(Path("results"), f"{scenario.name}-seed{args.seed}")
    check_new(out)
    from sim.model import ChannelModel  # imported late: Mesa is slow to import

    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    model = ChannelModel(scenario, seed=args.seed).run()
    seconds = time.perf_counter() - t0
    finished = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    summary = model.summary()
    out = write_run(out, scenario, summary, model.boats_frame(), model.daily_frame(),
                    provenance(scenario, args.seed, started, finished),
                    next_free=None if args.out else f"{scenario.name}-seed{args.seed}")
    if not args.quiet:
        print(f"{scenario.name}: {scenario.days} days from {scenario.start_date}, seed {args.seed} ({seconds:.2f} s)")
        print(_table(summary))
        print(f"results: {out}")
    return 0


def cmd_check(args) -> int:
    """``channel-sim check``: every file is checked; the first bad one sets the exit status."""
    from sim.errors import ScenarioError
    from sim.scenario import load_scenario

    status = 0
    for path in args.scenarios:
        try:
            s = load_scenario(path)
        except ScenarioError as exc:
            print(f"channel-sim: error: {exc}", file=sys.stderr)
            status = EXIT_BAD_INPUT
        else:
            print(f"{path}: ok ({s.name}, {s.days} days from {s.start_date}, interception {s.policy.shallow_water_interception})")
    return status


def scenario_files(folder: Path) -> list[Path]:
    """The YAML files of a folder and its subfolders (not hidden ones), the folder's own first.

    Raises:
        UserError: the folder is not there, is a file, or holds no YAML file.
    """
    from sim.errors import UserError

    expected = "expected a folder of scenario YAML files, e.g. scenarios"
    if not folder.exists():
        raise UserError(f"{folder}: no such folder; {expected}")
    if not folder.is_dir():
        raise UserError(f"{folder}: not a folder; {expected}")
    found, unreadable = [], []
    for parent, dirs, files in os.walk(folder, onerror=unreadable.append):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(parent) / f for f in files if f.endswith((".yaml", ".yml")) and not f.startswith(".")]
    if unreadable:
        exc = unreadable[0]
        raise UserError(f"{exc.filename or folder}: cannot be read ({exc.strerror or exc}); {expected}")
    if not found:
        raise UserError(f"{folder}: no .yaml file here or in its subfolders; {expected}")
    def order(path: Path):  # the folder's own files, then each subfolder's, depth first
        rel = path.relative_to(folder)
        return bool(rel.parent.parts), rel.parent.parts, rel.name

    return sorted(found, key=order)


def cmd_scenarios(args) -> int:
    """``channel-sim scenarios``: one line a scenario file; a file that does not load gets its error on stderr."""
    from sim.errors import ScenarioError
    from sim.scenario import load_scenario

    rows, status = [], 0
    for path in scenario_files(args.folder):
        try:
            s = load_scenario(path)
        except ScenarioError as exc:
            rows.append((path, None, str(exc)))
            status = EXIT_BAD_INPUT
        else:
            rows.append((path, s.name, (s.description.strip().splitlines() or [""])[0]))
    width = max((len(str(path)) for path, name, _ in rows if name is not None), default=0)
    named = max((len(name) for _, name, _ in rows if name is not None), default=0)
    for path, name, text in rows:
        if name is None:
            sys.stdout.flush()
            print(f"channel-sim: error: {text}", file=sys.stderr)
            sys.stderr.flush()
        else:
            print(f"{str(path):<{width}}  {name:<{named}}  {text}".rstrip())
    return status


def cmd_batch(args) -> int:
    """``channel-sim batch``."""
    from sim.runs.batch import parse_sweep, plan_batch, run_batch
    from sim.scenario import load_scenario

    if args.baseline is not None and not args.report:
        from sim.errors import UserError

        raise UserError(f"--baseline {args.baseline}: given without --report; expected --report, the report "
                        "that compares the scenarios with it")
    scenarios = [load_scenario(p) for p in args.scenarios]
    if args.report and (args.baseline or "baseline") not in {s.name for s in scenarios} and not args.append:
        from sim.errors import UserError

        given = f"--baseline {args.baseline}" if args.baseline else "--report"
        raise UserError(f"{given}: no scenario named {args.baseline or 'baseline'!r} among "
                        f"{', '.join(s.name for s in scenarios)}; expected the name of one of them (--baseline NAME) "
                        "to compare the others with")
    sweeps = [parse_sweep(s) for s in args.sweep]
    if args.draws is not None and args.posterior is None:
        from sim.errors import UserError

        raise UserError("--draws: given without --posterior FILE; expected --posterior with the posterior to draw from")
    posterior = draws = None
    if args.posterior is not None:
        from sim.runs.posterior import load_posterior

        posterior, draws = load_posterior(args.posterior), args.draws or 10
    plan = plan_batch(scenarios, args.replications, args.days, sweeps, args.seed, posterior, draws or 0)
    workers, scheduler = _where(args)
    workers = min(workers, len(plan.runs))
    where = f"Dask scheduler {scheduler}" if scheduler else f"{workers} worker process{'es' if workers > 1 else ''}"
    if not args.quiet:
        per = len(plan.runs) // (len(scenarios) * args.replications * (draws or 1))
        drawn = f"{draws} parameter draw(s) x " if draws else ""
        print(f"batch: {len(scenarios)} scenario(s) x {drawn}{per} sweep point(s) x {args.replications} replication(s) "
              f"= {len(plan.runs)} runs on {where} -> {args.out}")
    result = run_batch(args.out, plan, workers=workers, scheduler=scheduler, append=args.append,
                       progress=not args.quiet,
                       sources={s.name: str(p.resolve()) for s, p in zip(scenarios, args.scenarios)})
    for key, problem in result.damaged.items():
        print(f"channel-sim: warning: run {key} was damaged ({problem}); it was run again", file=sys.stderr)
    if not args.quiet:
        print(f"{result.ran} run(s) done, {result.already_done} already present, in {result.seconds:.1f} s: {args.out}")
    if args.report:
        return cmd_report(argparse.Namespace(folder=args.out, baseline=args.baseline or "baseline", quiet=args.quiet))
    return 0


def cmd_report(args) -> int:
    """``channel-sim report``: of a batch folder, the report; of a run's folder, its summary.md."""
    from sim.runs.rundir import is_run_folder, run_summary

    if is_run_folder(args.folder):
        text, unwritten = run_summary(args.folder)
        if unwritten:
            print(f"channel-sim: warning: {args.folder / 'summary.md'}: not written ({unwritten}); "
                  "the summary is printed only", file=sys.stderr)
        print(text, end="")
        return 0
    from sim.analysis.report import write_report
    from sim.analysis.validation import default_targets

    targets = getattr(args, "targets", None) or default_targets()
    record = _load_record(args) if getattr(args, "record", None) or getattr(args, "daily", None) or \
        getattr(args, "weekly", None) else None
    quiet = getattr(args, "quiet", False)
    written = write_report(args.folder, baseline=args.baseline, targets=targets,
                           partial=getattr(args, "partial", False), record=record, progress=not quiet)
    if not quiet:
        print(written["ranking"].read_text(), end="")
        print(f"report: {written['html']} (and {written['md'].name}, figures in {written['md'].parent / 'figures'})")
    return 0


def cmd_validate(args) -> int:
    """``channel-sim validate``: exit 1 when a target fails, or (with ``--observed``) the patterns fail."""
    from sim.analysis.patterns import markdown_patterns
    from sim.analysis.validation import default_targets, load_targets, run_validation
    from sim.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    targets = load_targets(args.targets or default_targets())
    record = _observed_record(args)
    out = args.out or Path("results") / f"validate-{scenario.name}"
    workers, scheduler = _where(args)
    res = run_validation(out, scenario, args.scenario, targets, replications=args.replications, days=args.days,
                         seed=args.seed, workers=workers, scheduler=scheduler, progress=not args.quiet,
                         observed=args.observed, record=record)
    print(res.markdown)
    print(f"{len(res.table) - res.failed} of {len(res.table)} targets passed ({res.files['md']})")
    if res.patterns is not None:
        cmp = res.patterns
        print()
        print(f"{scenario.name} against the observed record of {cmp.year} ({cmp.runs} runs; "
              f"{cmp.record.daily_file}):")
        print(markdown_patterns(cmp.table, cmp.year))
        for note in cmp.notes()[1:]:  # the first explains the criterion, as the README does
            print(note)
        print(f"{cmp.verdict.describe()}; table and figures: {res.files['patterns_md']}")
    return 0 if res.passed else 1


def cmd_sensitivity(args) -> int:
    """``channel-sim sensitivity``."""
    from sim.analysis.sensitivity import load_parameters, ranking, run_sensitivity
    from sim.outcomes import SENSITIVITY_OUTCOMES
    from sim.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    uncertain = load_parameters(args.parameters, scenario)
    outcomes = [o.strip() for o in args.outcomes.split(",")] if args.outcomes else list(SENSITIVITY_OUTCOMES)
    out = args.out or Path("results") / f"sensitivity-{scenario.name}"
    workers, scheduler = _where(args)
    res = run_sensitivity(out, scenario, uncertain, outcomes=outcomes, trajectories=args.trajectories,
                          sobol_samples=args.sobol_samples, top=args.top, replications=args.replications,
                          days=args.days, seed=args.seed, workers=workers,
                          scheduler=scheduler, progress=not args.quiet)
    print("Morris screening, largest scaled mu* over the outcomes:")
    for name, v in ranking(res.morris).items():
        print(f"  {name:48s} {v:8.3f}{'  -> Sobol' if name in res.influential and res.sobol is not None else ''}")
    if res.sobol is not None:
        print("Sobol total indices (ST):")
        print(res.sobol.pivot(index="parameter", columns="outcome", values="ST").round(3).to_string())
    print(f"tables and figures: {out}")
    return 0


def cmd_calibrate(args) -> int:
    """``channel-sim calibrate``."""
    from sim.analysis.calibration import run_calibration
    from sim.analysis.sensitivity import load_parameters, top_parameters
    from sim.analysis.validation import check_covers, default_targets, load_targets
    from sim.runs.rundir import free_name
    from sim.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    targets_path = args.targets or default_targets()
    targets = load_targets(targets_path)
    uncertain = load_parameters(args.parameters, scenario)
    if args.sensitivity is not None:
        uncertain = top_parameters(args.sensitivity, uncertain, args.top)
    if args.check_replications is not None and args.check_top is None:
        from sim.errors import UserError

        raise UserError("--check-replications: given without --check-top K; expected --check-top with the "
                         "number of particles to check")
    record = _observed_record(args)
    if record is not None:
        check_covers(scenario, args.scenario, args.days, args.observed)
    out = args.out or free_name(Path("results"), f"calibrate-{scenario.name}")
    workers, scheduler = _where(args)
    fitted = f"{len(targets)} targets" + (f" and the {args.observed} patterns of the record" if record else "")
    print(f"calibrating {', '.join(p.key for p in uncertain)} of {scenario.name} to {fitted}: "
          f"{args.generations} generations of {args.population} particles")
    res = run_calibration(out, scenario, args.scenario, uncertain, targets, targets_path,
                          population=args.population, generations=args.generations, days=args.days,
                          seed=args.seed, workers=workers, scheduler=scheduler,
                          observed_year=args.observed, record=record, check_top=args.check_top or 0,
                          check_replications=args.check_replications or 20, acceptance=args.acceptance)
    for key, s in res.summary.items():
        print(f"  {key:48s} median {s['median']:.4g}  90 % [{s['q05']:.4g}, {s['q95']:.4g}]  prior {s['prior']}")
    point = json.loads(res.files["posterior_json"].read_text())["point"]
    if point["method"] == "check":
        print(f"calibrated scenario: particle {point['particle']}, {point['inside_90']} of {point['statistics']} "
              f"statistics inside their 90 % interval over {point['replications']} replications "
              f"(the {point['top']} of highest weight: {res.files['posterior_csv'].with_name('checked.csv')})")
    print(f"posterior: {res.files['posterior_csv']}; calibrated scenario: {res.calibrated}")
    given = f" --targets {res.calibrated.parent / 'targets.yaml'}" if args.targets else ""  # its copy of them
    print(f"check it with: channel-sim validate {res.calibrated}{given}")
    return 0


# Commands whose runs go to sim.runs.batch's local process pool when there is more than one worker.
_POOL_COMMANDS = ("batch", "validate", "sensitivity")

COMMANDS = {"run": cmd_run, "check": cmd_check, "scenarios": cmd_scenarios, "batch": cmd_batch, "report": cmd_report, "validate": cmd_validate,
            "sensitivity": cmd_sensitivity, "calibrate": cmd_calibrate}


class _Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C is: the batch stops cleanly and its folder stays consistent."""


def _on_sigterm(signum, frame):
    raise _Terminated


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``channel-sim`` console script."""
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        parser = build_parser()
        if not (sys.argv[1:] if argv is None else argv):  # no command: what there is to do
            parser.print_help()
            return 0
        args = parser.parse_args(argv)
        if args.command in _POOL_COMMANDS:
            workers, scheduler = _where(args)
            if workers > 1 and not scheduler:
                start_server()
        from sim.errors import UserError

        try:
            return COMMANDS[args.command](args)
        except UserError as exc:
            print(f"channel-sim: error: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except OSError as exc:  # an output path that cannot be made (a file in the way, no permission, a full disk)
            where = exc.filename or getattr(args, "out", None) or getattr(args, "folder", None)
            problem = ("a file is in the way of a folder" if isinstance(exc, (FileExistsError, NotADirectoryError))
                       else exc.strerror or " ".join(str(exc).split())[:200])
            print(f"channel-sim: error: {f'{where}: ' if where else ''}{problem}; expected a folder that can be "
                  "written", file=sys.stderr)
            return EXIT_BAD_INPUT
    except _Terminated:
        print("channel-sim: terminated (SIGTERM); runs already written are kept", file=sys.stderr)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print("channel-sim: interrupted; runs already written are kept", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
