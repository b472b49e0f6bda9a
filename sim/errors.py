"""The one family of errors a user is shown: one line, exit status 2, no traceback.

Every problem with what a user gave (a scenario, a targets or parameters file,
a results folder, an output path, a missing optional extra) raises a
:class:`UserError` whose message is one line naming the file, the key or the
problem, and what was expected. The command line prints it and exits 2.
"""

from __future__ import annotations

import importlib
from types import ModuleType


class UserError(Exception):
    """A problem with the user's input or set-up; the message is one line for the user."""


class ScenarioError(UserError):
    """A scenario, targets or parameters file could not be used."""


class StoreError(UserError):
    """A batch results folder cannot be used as asked."""


class RunDirError(UserError):
    """A run's output folder cannot be used."""


class UnsupportedDependency(UserError, ImportError):
    """An installed library is outside the versions channel-sim supports (an ImportError too: it stops an import)."""


class RecordError(UserError):
    """The observed record cannot be used as asked: a malformed file, or a year that it or the runs do not cover."""


class PlanError(UserError):
    """A batch that cannot be planned as asked (too many runs, say)."""


class MissingExtra(UserError):
    """An optional extra that a command needs is not installed."""


def require_extra(module: str, extra: str, purpose: str) -> ModuleType:
    """Import an optional dependency, or say which extra to install.

    Args:
        module: the module to import, e.g. ``"SALib"``.
        extra: the channel-sim extra that brings it, e.g. ``"sensitivity"``.
        purpose: what needs it, e.g. ``"sensitivity analysis"``.

    Raises:
        MissingExtra: the module cannot be imported.
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(f"{purpose} needs {module}: pip install 'channel-sim[{extra}]'") from None
