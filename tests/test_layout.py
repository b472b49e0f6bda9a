"""The house's layout: the floors' dependencies point one way, and nothing imports in a circle.

The contracts are import-linter's, declared in ``pyproject.toml``; these tests
run them on the package, and on a copy of it with a deliberately wrong import,
to show they catch one.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

LINT = Path(sys.executable).with_name("lint-imports")
pytestmark = pytest.mark.skipif(not LINT.exists(), reason="import-linter is in the test extra")


def _lint(tree: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([str(LINT), "--no-cache", "--config", str(tree / "pyproject.toml")], cwd=tree,
                          env=env, capture_output=True, text=True, timeout=300)


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "sim", tmp_path / "sim", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_import_contracts_hold():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


@pytest.mark.parametrize("module, wrong, contract, shown", [
    ("model/boats.py", "\nfrom sim.runs import store  # noqa: E402,F401  (the wrong way)\n",
     "Dependencies point one way", "sim.model.boats -> sim.runs.store"),
    ("model/geography.py", "\n\ndef _back():\n    from sim.model import boats  # noqa: F401  (boats imports geography)\n",
     "No import cycle", ".geography -> .boats"),
    ("model/patrols.py", "\nfrom sim.model.surveillance import Drone  # noqa: E402,F401\n",
     "know nothing of each other", "sim.model.patrols -> sim.model.surveillance"),
    ("scenario.py", "\nfrom sim.model import geography  # noqa: E402,F401\n",
     "Dependencies point one way", "sim.scenario -> sim.model.geography"),
])
def test_a_wrong_import_breaks_its_contract(tmp_path, module, wrong, contract, shown):
    tree = _copy(tmp_path)
    with open(tree / "sim" / module, "a") as fh:
        fh.write(wrong)
    result = _lint(tree)
    assert result.returncode != 0
    text = " ".join(result.stdout.split())  # contract names wrap across lines
    verdict = re.search(re.escape(contract) + r"[^.]*? (KEPT|BROKEN)", text)
    assert verdict and verdict.group(1) == "BROKEN" and shown in text, result.stdout


def test_mesa_internals_are_reached_only_from_mesa_compat():
    private = re.compile(r"\._event_list\b|\._celllist\b|\bcell_klass\b|\._connect_cells_2d\b|Event\._ids\b|\._cells\b")
    offenders = [f"{path.relative_to(ROOT)}:{i}" for path in sorted((ROOT / "sim").rglob("*.py"))
                 if path.name != "mesa_compat.py"
                 for i, line in enumerate(path.read_text().splitlines(), 1) if private.search(line)]
    assert offenders == []
