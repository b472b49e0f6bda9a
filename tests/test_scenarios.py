"""Scenario files: the shipped ones validate; every kind of bad input is one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.errors import ScenarioError
from sim.scenario import load_scenario
from tests.conftest import SCENARIOS

SHIPPED = ["baseline", "shallow_water_before_pickup", "shallow_water_300m", "drones_doubled", "estuary_barrages", "van_intelligence", "warehouse_raids", "train_station_intel", "uk_liaison", "returns", "union_refusal", "doctrine_from_november", "combined_package"]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenarios_validate(name):
    s = load_scenario(SCENARIOS / f"{name}.yaml")
    assert s.name == name


def test_extends_overrides_keys_and_keeps_the_rest():
    base = load_scenario(SCENARIOS / "baseline.yaml")
    s300 = load_scenario(SCENARIOS / "shallow_water_300m.yaml")  # extends before_pickup, which extends baseline
    assert s300.policy.shallow_water_interception == "up_to_300m"
    assert s300.maritime.patrol_boats == 6
    assert s300.gendarmerie == base.gendarmerie
    assert s300.content_hash() != base.content_hash()


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def _error(path: Path) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_unknown_key_names_file_path_and_nearest_key(tmp_path):
    p = _write(tmp_path, "typo.yaml", "surveillance:\n  drons: 3\n")
    m = _error(p)
    assert "typo.yaml" in m and "surveillance.drons" in m and "did you mean 'drones'" in m


def test_unknown_top_level_key(tmp_path):
    m = _error(_write(tmp_path, "top.yaml", "polcy:\n  barrages: []\n"))
    assert "polcy" in m and "did you mean 'policy'" in m


def test_wrong_type(tmp_path):
    m = _error(_write(tmp_path, "t.yaml", "surveillance:\n  drones: ten\n"))
    assert "surveillance.drones" in m and "integer" in m and "'ten'" in m


def test_out_of_range(tmp_path):
    m = _error(_write(tmp_path, "r.yaml", "gendarmerie:\n  night_coast_share: 1.5\n"))
    assert "gendarmerie.night_coast_share" in m and "less than or equal to 1" in m


def test_unknown_policy_mode(tmp_path):
    m = _error(_write(tmp_path, "m.yaml", "policy:\n  shallow_water_interception: always\n"))
    assert "policy.shallow_water_interception" in m and "before_pickup" in m


def test_unknown_waterway(tmp_path):
    m = _error(_write(tmp_path, "w.yaml", "policy:\n  barrages: [canch]\n"))
    assert "policy.barrages" in m and "did you mean 'canche'" in m


def test_missing_file(tmp_path):
    m = _error(tmp_path / "nowhere.yaml")
    assert "nowhere.yaml" in m and "file not found" in m


def test_missing_parent(tmp_path):
    m = _error(_write(tmp_path, "child.yaml", "extends: parent.yaml\n"))
    assert "child.yaml" in m and "parent.yaml" in m and "file not found" in m


def test_circular_extends(tmp_path):
    _write(tmp_path, "a.yaml", "extends: b.yaml\n")
    _write(tmp_path, "b.yaml", "extends: a.yaml\n")
    m = _error(tmp_path / "a.yaml")
    assert "circular" in m and "a.yaml -> b.yaml -> a.yaml" in m


def test_invalid_yaml(tmp_path):
    m = _error(_write(tmp_path, "bad.yaml", "days: [\n"))
    assert "bad.yaml:" in m and "not valid YAML" in m


def test_not_a_mapping(tmp_path):
    m = _error(_write(tmp_path, "list.yaml", "- 1\n- 2\n"))
    assert "list.yaml" in m and "mapping" in m


@pytest.mark.parametrize("content, expected", [
    ("schedule:\n  - date: 2025-02-30\n    policy: {returns: true}\n", "YYYY-MM-DD"),
    ("networks:\n  people_per_boat_mean: .inf\n", "finite number"),
    ("surveillance:\n  drones: 1000000000\n", "less than or equal to 1000"),
    ("name: ../../escape\n", "name"),
    ("schedule:\n  - date: 2025-06-01\n    policy: {barage: [canche]}\n", "did you mean 'barrages'"),
])
def test_more_bad_input_is_one_clear_line(tmp_path, content, expected):
    m = _error(_write(tmp_path, "bad.yaml", content))
    assert "bad.yaml" in m and expected in m


def test_a_folder_is_not_a_scenario(tmp_path):
    assert "is a folder" in _error(tmp_path)


def _alias_bomb(levels: int = 8, width: int = 9, under: str = "description") -> str:
    lines = ["a0: &a0 [" + ", ".join(["x"] * width) + "]"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + f"\n{under}: *a{levels}\n"


@pytest.mark.parametrize("text, expected", [
    (_alias_bomb(), "aliases expand to more than 100,000 values"),
    (_alias_bomb(under="gendarmerie:\n  sector_weights"), "aliases expand to more than 100,000 values"),
    ("surveillance:\n  drones: 24\nsurveillance:\n  drones: 12\n", "duplicate key 'surveillance' (first given on line 1)"),
    ("surveillance:\n  drones: 24\n  drones: 12\n", "duplicate key 'drones' (first given on line 2)"),
    ("description: " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
    ("description: '" + "x" * 1_100_000 + "'\n", "expected a scenario YAML file of at most 1,000,000 bytes"),
])
def test_hostile_yaml_is_one_short_line(tmp_path, text, expected):
    message = _error(_write(tmp_path, "s.yaml", text))
    assert expected in message and len(message) < 300


def test_a_long_bad_value_is_shown_as_an_excerpt(tmp_path):
    text = "gendarmerie:\n  sector_weights: [" + ", ".join(["'x'"] * 10000) + "]\n"
    message = _error(_write(tmp_path, "s.yaml", text))
    assert "sector_weights.0" in message and len(message) < 300


def test_a_number_in_exponent_form_is_a_number(tmp_path):
    s = load_scenario(_write(tmp_path, "s.yaml", "crossing:\n  failure_per_hour: 1e-2\n  speed_kmh: 7E0\n"))
    assert s.crossing.failure_per_hour == 0.01 and s.crossing.speed_kmh == 7.0


def test_extends_of_something_that_is_not_a_file_says_so(tmp_path):
    message = _error(_write(tmp_path, "s.yaml", "extends: /dev/zero\n"))
    assert "/dev/zero: is not a regular file" in message


def test_a_targets_file_gets_the_same_bounds(tmp_path):
    from sim.analysis.validation import load_targets

    with pytest.raises(ScenarioError, match="aliases expand"):
        load_targets(_write(tmp_path, "targets.yaml", _alias_bomb(under="targets")))


@pytest.mark.parametrize("text, expected", [
    ("start_date: 0\n", "start_date: expected a date YYYY-MM-DD, got 0"),
    ("start_date: 9999-06-01\n", "start_date: expected a date from 1900-01-01 to 2200-12-31"),
    ("start_date: '2025-1-5'\n", "start_date: expected a date YYYY-MM-DD"),
    ("schedule:\n  - {date: 12, policy: {returns: true}}\n", "schedule.0.date: expected a date YYYY-MM-DD, got 12"),
    ("operations:\n  hide_hours_min: 5\n", "hide_hours_min (5.0) is above hide_hours_max (4.0)"),
    ("operations:\n  assembly_min_min: 40\n", "assembly_min_min (40.0) is above assembly_min_max (30.0)"),
    ("operations:\n  wade_min_max: 5\n", "wade_min_min (10.0) is above wade_min_max (5.0)"),
    ("networks:\n  people_per_boat_min: 120\n", "people_per_boat_min (120) is above people_per_boat_max (100)"),
])
def test_silent_misconfigurations_are_refused(tmp_path, text, expected):
    assert expected in _error(_write(tmp_path, "s.yaml", text))


def test_every_min_and_max_pair_is_checked():
    """Each pair X_min, X_max of the schema (minutes also end in _min: reaction_min has no partner)."""
    from sim.scenario import Scenario, from_dict

    pairs = [(section, name, name.removesuffix("_min") + "_max") for section, field in Scenario.model_fields.items()
             for name in getattr(field.annotation, "model_fields", {})
             if name.endswith("_min") and name.removesuffix("_min") + "_max" in field.annotation.model_fields]
    assert {name for _, name, _ in pairs} == {"hide_hours_min", "assembly_min_min", "wade_min_min", "people_per_boat_min"}
    for section, low, high in pairs:
        defaults = getattr(Scenario(), section)
        inverted = {low: getattr(defaults, high) + 1, high: getattr(defaults, high)}
        with pytest.raises(ScenarioError, match=f"{low} .* is above {high}"):
            from_dict({section: inverted})


def test_an_impossible_date_names_its_key(tmp_path):
    assert "start_date: expected a date YYYY-MM-DD, got '2025-02-30'" in _error(
        _write(tmp_path, "s.yaml", "start_date: 2025-02-30\n"))
