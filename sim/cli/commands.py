"""What each command does: one function per command, called with the parsed arguments.

Each imports what it needs when it runs, so that ``channel-sim --help`` and a batch's
fork server start without the model's heavy libraries (``sim.runs.workers``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

from sim.cli.parser import EXIT_BAD_INPUT
from sim.runs.workers import default_workers

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


def _where(args) -> tuple[int, str | None]:
    """Workers and scheduler address from the options and the environment (a warning beyond the cores)."""
    scheduler = args.scheduler or (None if args.workers else os.environ.get("DASK_SCHEDULER_ADDRESS"))
    cores = default_workers()
    if args.workers and args.workers > cores and not scheduler and not getattr(args, "_warned", False):
        print(f"channel-sim: warning: --workers {args.workers}: this machine has {cores} core(s) for this "
              "process; the workers will share them (at most one per run is started)", file=sys.stderr)
        args._warned = True
    return args.workers or cores, scheduler


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
                    next_free=None if args.out else f"{scenario.name}-seed{args.seed}", tracks=model.tracks_frame())
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
                       progress=not args.quiet, tracks=not args.no_tracks,
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


def cmd_app(args) -> int:
    """``channel-sim app``: check the scenario (or the run to replay) and the port, then serve the page."""
    from sim.app.serve import check_extra, check_port, serve
    from sim.errors import UserError

    if args.run and not args.replay:
        raise UserError(f"--run {args.run}: given without --replay BATCH; expected --replay with the batch folder "
                        "the run is in")
    if args.replay:
        if args.scenario:
            raise UserError(f"{args.scenario}: given with --replay; expected either a scenario or run folder, "
                            "or --replay BATCH --run KEY")
        from sim.app.replay import check_replay

        env = check_replay(args.replay, args.run)
        what = f"run {env['CHANNEL_SIM_APP_RUN']} of {args.replay}"
    elif args.scenario is not None and args.scenario.is_dir():
        from sim.app.replay import check_replay

        env = check_replay(args.scenario, None)
        what = f"the run in {args.scenario}"
    else:
        from sim.scenario import load_scenario

        path = args.scenario or Path("scenarios/baseline.yaml")
        scenario = load_scenario(path)
        env = {"CHANNEL_SIM_APP_SCENARIO": str(path.resolve())}
        what = f"scenario {scenario.name} ({path})"
    check_port(args.host, args.port)
    check_extra()

    def announce(url: str) -> None:
        print(f"channel-sim app: {what} at {url} (Ctrl-C stops it)", flush=True)

    serve(args.host, args.port, env, announce)
    return 0


# Commands whose runs go to sim.runs.batch's local process pool when there is more than one worker.
_POOL_COMMANDS = ("batch", "validate", "sensitivity")

COMMANDS = {"run": cmd_run, "check": cmd_check, "scenarios": cmd_scenarios, "batch": cmd_batch, "report": cmd_report, "validate": cmd_validate,
            "sensitivity": cmd_sensitivity, "calibrate": cmd_calibrate, "app": cmd_app}


def cmd_discover(args) -> int:
    """``channel-sim discover``: PRIM's box of the parameter sets where a policy fails (``sim.analysis.discovery``)."""
    from sim.analysis.discovery import Question, analyse_folder
    from sim.errors import UserError

    design_only = [name for name, given in (("--scenarios", args.scenarios), ("--parameters", args.parameters),
                                            ("--replications", args.replications), ("--days", args.days))
                   if given is not None]
    if args.latin_hypercube is None and design_only:
        raise UserError(f"{design_only[0]}: given without --latin-hypercube N; expected --latin-hypercube with the "
                        "number of points to run (or a batch folder alone)")
    only = [k.strip() for k in args.only.split(",") if k.strip()] if args.only is not None else None
    if only is not None and not only:
        raise UserError(f"--only {args.only!r}: no parameter named; expected comma-separated parameter keys")
    question = Question(args.policy, args.baseline, args.outcome, args.cut)
    if args.latin_hypercube is not None:
        workers, scheduler = _where(args)
        if workers > 1 and not scheduler:  # as for the commands of _POOL_COMMANDS: the fork server first
            from sim.runs.workers import start_server

            start_server()
        from sim.analysis.discovery import run_design
        from sim.analysis.sensitivity import load_parameters
        from sim.scenario import load_scenario

        if not args.scenarios:
            raise UserError("--latin-hypercube: given without --scenarios; expected the scenario files to run "
                            "(the policy and the baseline among them)")
        scenarios = [load_scenario(p) for p in args.scenarios]
        names = [s.name for s in scenarios]
        for option, name in (("--policy", args.policy), ("--baseline", args.baseline)):
            if name not in names:
                raise UserError(f"{option} {name}: not among the --scenarios ({', '.join(names)}); expected the "
                                "name of one of them")
        from sim.analysis.discovery import check_outcome
        from sim.outcomes import SUMMARY_KEYS

        check_outcome(args.outcome, SUMMARY_KEYS)  # before the runs, not after them
        uncertain = load_parameters(args.parameters, scenarios[0])
        if not args.quiet:
            print(f"discover: {len(scenarios)} scenario(s) x {args.latin_hypercube} Latin hypercube point(s) over "
                  f"{len(uncertain)} parameter(s) x {args.replications or 1} replication(s) -> {args.folder}")
        run_design(args.folder, scenarios, uncertain, args.latin_hypercube, replications=args.replications or 1,
                   days=args.days, seed=args.seed, workers=workers, scheduler=scheduler, progress=not args.quiet,
                   sources={s.name: str(p.resolve()) for s, p in zip(scenarios, args.scenarios)})
    res = analyse_folder(args.folder, question, per_pair=args.per_pair, only=only, min_coverage=args.min_coverage,
                         box=args.box, resamples=args.resamples, seed=args.seed, prune=not args.no_prune,
                         out=args.out, partial=args.partial, progress=not args.quiet)
    if not args.quiet:
        print(res.summary())
    return 0


COMMANDS["discover"] = cmd_discover


def cmd_optimise(args) -> int:
    """``channel-sim optimise``: search, re-evaluate the chosen plans on fresh seeds, write the front and the plans."""
    from sim.analysis import optimisation as opt
    from sim.analysis.optimisation_outputs import beats, format_interval, write_outputs
    from sim.analysis.optimisation_runs import check_timeline
    from sim.analysis.optimisation_space import make_space, parse_objectives
    from sim.errors import require_extra
    from sim.outcomes import MEASURES
    from sim.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    space = make_space(scenario, args.levers, args.personnel, args.drones)
    objectives = parse_objectives(args.objectives)
    no_worse = parse_objectives(args.no_worse, "--no-worse") if args.no_worse is not None else ()
    timeline = check_timeline(args.days or scenario.days, args.settle, args.warmup)
    opt.check_fresh(args.fresh_seeds, args.plans)
    require_extra("optuna", "optimise", "channel-sim optimise")
    settings = opt.Settings(scenario, args.scenario, space, objectives, no_worse, args.seeds, timeline, args.seed)
    folder = opt.study_folder(args.out, settings)
    workers, scheduler = _where(args)
    where = f"Dask scheduler {scheduler}" if scheduler else f"{workers} worker process{'es' if workers > 1 else ''}"
    if not args.quiet:
        print(f"optimise: {scenario.name}, levers {', '.join(space.levers)}; {args.trials} trials x {args.seeds} "
              f"seeds of {timeline.days} days on {where} -> {folder}")
    found = opt.search(folder, settings, args.trials, workers=workers, scheduler=scheduler, progress=not args.quiet)
    result = opt.reevaluate(folder, settings, args.plans, args.fresh_seeds, workers=workers, scheduler=scheduler,
                            progress=not args.quiet)
    files = write_outputs(result)
    if not args.quiet:
        again = f", {found.requeued} stopped trial(s) queued again" if found.requeued else ""
        print(f"{found.ran} trial(s) run here, {found.trials} in the study{again}, in {found.seconds:.0f} s")
        first = objectives[0]
        label = {k: MEASURES[k].label for k in dict.fromkeys((*objectives, *no_worse))}
        for c in result.chosen:
            parts = [f"{label[k]} {format_interval(c.difference[k])}" + (" (beats)" if beats(c, k) else "")
                     for k in label]
            print(f"  {c.name}: against today's deployment on {len(result.fresh_seeds)} fresh seeds: "
                  + "; ".join(parts) + f"; first month {format_interval(c.first_month[first], True)}, after warm-up "
                  f"{format_interval(c.adapted[first], True)}")
        if not result.chosen:
            print("  no plan met the constraints")
        print(f"front: {files['md']} and {files['png'].name}; plans: {folder / 'plans'}")
    return 0


_POOL_COMMANDS += ("optimise",)
COMMANDS["optimise"] = cmd_optimise
