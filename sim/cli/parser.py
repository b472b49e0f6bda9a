"""What the command line accepts: the parser of every command, its argument types, help and examples.

Errors in the arguments are one line and exit status 2 (:class:`_Parser`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

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


def _port(text: str) -> int:
    value = _whole(text, 1, "a port")
    if value > 65535:
        raise argparse.ArgumentTypeError(f"expected a port of at most 65535, got {value}")
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
    batch.add_argument("--no-tracks", action="store_true", help="store no tracks (where agents went, for "
                       "channel-sim app's replay): 65 KB a run-year less")
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

    app = _command(sub, "app", "watch the model night by night in a browser page served on this machine "
                   "(the app extra: pip install -e '.[app]')",
                   "channel-sim app scenarios/shallow_water_before_pickup.yaml --port 8800",
                   "channel-sim app --replay results/demo --run baseline/0")
    app.add_argument("scenario", type=Path, nargs="?",
                     help="scenario YAML file (default scenarios/baseline.yaml), or a folder written by "
                          "channel-sim run to replay")
    app.add_argument("--replay", type=Path, metavar="BATCH", help="replay one run of a batch folder (with --run)")
    app.add_argument("--run", metavar="KEY", help="the run of --replay to show (channel-sim app --replay BATCH "
                                                  "lists the keys)")
    app.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    app.add_argument("--port", type=_port, default=8765, help="port to listen on (default 8765)")

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
    _discover_parser(sub)
    _optimise_parser(sub)
    return parser


def _number(text: str) -> float:
    """A finite number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text}")
    return value


def _coverage(text: str) -> float:
    """A share above 0, up to 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number above 0 and up to 1, got {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number above 0 and up to 1, got {text}")
    return value


def _discover_parser(sub) -> None:
    """``channel-sim discover``: scenario discovery with PRIM (``sim.analysis.discovery``)."""
    disc = _command(sub, "discover", "find the region of the uncertain parameters where a policy fails to cut an "
                    "outcome by N percent against the baseline (PRIM; the discover extra: pip install -e '.[discover]')",
                    "channel-sim discover results/doctrine --policy shallow_water_before_pickup --cut 10",
                    "channel-sim discover results/doctrine-lhs --latin-hypercube 200 --scenarios "
                    "scenarios/baseline.yaml scenarios/shallow_water_before_pickup.yaml "
                    "--policy shallow_water_before_pickup --days 120")
    disc.add_argument("folder", type=Path, help="a batch folder whose runs share parameter draws and seeds "
                      "(channel-sim batch ... --posterior FILE --draws K), or the folder --latin-hypercube runs into")
    disc.add_argument("--policy", required=True, metavar="NAME", help="the scenario whose failures are looked for")
    disc.add_argument("--baseline", default="baseline", metavar="NAME",
                      help="the scenario it is compared with, run by run (default: baseline)")
    disc.add_argument("--outcome", default="people_crossed", metavar="KEY",
                      help="summary key the policy should cut (default: people_crossed)")
    disc.add_argument("--cut", type=_number, default=10.0, metavar="N",
                      help="a parameter set fails when the policy cuts the outcome by less than N %% (default 10)")
    disc.add_argument("--only", metavar="KEYS", help="comma-separated parameters to search (default: every one "
                      "that varies between the runs)")
    disc.add_argument("--per-pair", action="store_true",
                      help="each pair of runs is a point (default: each parameter set, its replications averaged)")
    disc.add_argument("--min-coverage", type=_coverage, default=0.8, metavar="Q",
                      help="choose the densest box whose coverage is at least Q (default 0.8)")
    disc.add_argument("--box", type=_count, metavar="I", help="choose box I of the peeling trajectory instead "
                      "(peeling.csv of an earlier discovery)")
    disc.add_argument("--no-prune", action="store_true",
                      help="keep the box's limits whose quasi-p-values are above 0.05")
    disc.add_argument("--resamples", type=_count, default=50, help="bootstrap resamples of the stability check "
                      "(default 50, 0 to skip)")
    disc.add_argument("--seed", type=_seed, default=0, help="seed of the resamples and of --latin-hypercube's "
                      "design and runs (default 0)")
    disc.add_argument("--partial", action="store_true", help="use the runs there even if the batch is not finished")
    disc.add_argument("--out", type=Path, help="folder to write (default: FOLDER/discover-<policy>, -2, -3... "
                      "rather than over an earlier one)")
    disc.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    design = disc.add_argument_group("running the batch first, on a Latin hypercube over parameter ranges")
    design.add_argument("--latin-hypercube", type=_positive, metavar="N",
                        help="run --scenarios at N points of a Latin hypercube over --parameters into FOLDER "
                             "(created, or resumed), then discover")
    design.add_argument("--scenarios", type=Path, nargs="+", metavar="FILE",
                        help="with --latin-hypercube: the scenario files (the policy and the baseline among them)")
    design.add_argument("--parameters", type=Path, metavar="FILE", help="with --latin-hypercube: uncertain "
                        "parameters and ranges (default: the shipped sim/data/uncertain.yaml)")
    design.add_argument("--replications", "-n", type=_positive, help="with --latin-hypercube: seeds per point "
                        "(default 1)")
    design.add_argument("--days", type=_days, help="with --latin-hypercube: days per run (default: the scenarios')")
    _executor_options(design)


def _optimise_parser(sub) -> None:
    """``channel-sim optimise``: a search for deployments of a scenario's patrols and drones (the optimise extra)."""
    opt = _command(sub, "optimise", "search deployments of a scenario's patrol units and drones over the sectors of "
                   "the coast, judged after the networks have learned them (the optimise extra: "
                   "pip install -e '.[optimise]')",
                   "channel-sim optimise scenarios/baseline.yaml --objectives people_crossed,deaths --no-worse deaths "
                   "--trials 40 --seeds 4 --workers 1",
                   "channel-sim optimise scenarios/shallow_water_before_pickup.yaml --levers patrols,drones,lifeboats=0-6 "
                   "--objectives people_crossed,lives_at_risk --trials 80")
    _scenario_or_baseline(opt)
    opt.add_argument("--levers", default="patrols,drones", metavar="LEVER,...",
                     help="what a plan may change: patrols (their split over the sectors), drones (their split), "
                          "interception (the mode at sea; interception=none/before_pickup to choose among some), "
                          "lifeboats (lifeboats=LOW-HIGH; default 0 to the scenario's) (default: patrols,drones)")
    opt.add_argument("--objectives", default="people_crossed,deaths", metavar="KEY,...",
                     help="summary keys to make small, several for a Pareto front: people_crossed, deaths, "
                          "deaths_crossing, deaths_intervention, lives_at_risk, officer_injuries "
                          "(default: people_crossed,deaths)")
    opt.add_argument("--no-worse", metavar="KEY,...",
                     help="plans must do no worse than the scenario's deployment on these keys, on the search seeds "
                          "(e.g. deaths)")
    opt.add_argument("--personnel", type=_positive, metavar="N",
                     help="personnel budget a day (default and most: the scenario's gendarmerie.personnel_per_day)")
    opt.add_argument("--drones", type=_positive, metavar="N",
                     help="drone budget (default and most: the scenario's surveillance.drones)")
    opt.add_argument("--trials", type=_positive, default=40, help="plans tried in all (default 40; a rerun with more "
                     "goes on)")
    opt.add_argument("--seeds", type=_positive, default=4, help="seeds every plan runs on (default 4)")
    opt.add_argument("--fresh-seeds", type=_positive, default=10, metavar="M",
                     help="new seeds the chosen plans and the scenario's deployment run on afterwards (default 10)")
    opt.add_argument("--plans", type=_positive, default=3, help="plans chosen along the front (default 3)")
    opt.add_argument("--days", type=_days, help="days of each run (default: the scenario's)")
    opt.add_argument("--settle", type=_count, default=90,
                     help="days under the scenario's deployment before the plan starts (default 90)")
    opt.add_argument("--warmup", type=_count, default=90,
                     help="days of the plan that do not count while the networks learn it (default 90)")
    opt.add_argument("--seed", type=_seed, default=0, help="entropy of the seed sequence (default 0)")
    _executor_options(opt)
    opt.add_argument("--out", type=Path, help="study folder (created, or resumed; default: results/optimise-<scenario>, "
                     "or the next free name when that holds another study)")
    opt.add_argument("--quiet", action="store_true", help="no progress bar")
