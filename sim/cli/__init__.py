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
  (``sim.analysis.report``);
* ``channel-sim app [SCENARIO | RUN_FOLDER | --replay BATCH --run KEY]``: the model, or a stored
  run, night by night in a browser page served on this machine (``sim.app``, the ``app`` extra).

Bad input (a scenario with an unknown key or a wrong type, a missing file, an
output folder that exists) gets one line on stderr and exit status 2.
"""

from __future__ import annotations

import signal
import sys

# Only light modules here: a batch on local workers starts their fork server
# first (sim.runs.workers), and imports the rest while the server imports the model.
from sim.cli.commands import _POOL_COMMANDS, COMMANDS, _where
from sim.cli.parser import EXIT_BAD_INPUT, build_parser, version
from sim.runs.workers import start_server

__all__ = ["COMMANDS", "EXIT_BAD_INPUT", "build_parser", "main", "version"]


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
