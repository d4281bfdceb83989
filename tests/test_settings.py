import copy
from pathlib import Path

import pytest
import yaml

from mnist_oip import settings

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"
DEFAULT = yaml.safe_load((ROOT / "config.yaml").read_text())


def edited(path, value):
    config = copy.deepcopy(DEFAULT)
    *parents, key = path.split(".")
    node = config
    for parent in parents:
        node = node[parent]
    node[key] = value
    return config


def test_default_config_is_valid():
    settings.validate(DEFAULT, SCHEMA)
    assert settings.map_indices(DEFAULT) == list(range(128))
    assert settings.check_precursor(DEFAULT["precursor"]) == 19683


@pytest.mark.parametrize(
    "path, value, message",
    [
        ("training.epochs", "ten", r"training.epochs: 'ten' is not of type 'integer'"),
        ("precursor.levels", [0.2, 1.5], r"precursor.levels.1: 1.5 is greater than the maximum of 1"),
        ("precursor.levels", [-0.1, 0.5], r"precursor.levels.0: -0.1 is less than the minimum of 0"),
        ("precursor.levels", [0.2, 0.2, 0.8], r"precursor.levels: .* has non-unique elements"),
        ("precursor.grid", 0, r"precursor.grid: 0 is less than the minimum of 1"),
        ("dataset.source", "web", r"dataset.source: 'web' is not allowed; allowed values: embedded, keras, idx"),
        ("maps.indices", "some", r"maps.indices: 'some' is neither 'all' nor a list of distinct map indices"),
        ("oip.stepz", 3, r"oip: Additional properties are not allowed \('stepz' was unexpected\); allowed keys: steps"),
    ],
)
def test_schema_errors_name_key_and_allowed(path, value, message):
    with pytest.raises(settings.ConfigError, match=message):
        settings.validate(edited(path, value), SCHEMA)


def test_unknown_top_level_key():
    with pytest.raises(settings.ConfigError, match=r"'precurser' was unexpected"):
        settings.validate(DEFAULT | {"precurser": {}}, SCHEMA)


def test_map_beyond_layer_and_non_conv_layer():
    with pytest.raises(
        settings.ConfigError, match=r"maps.indices: \[128, 300\] beyond layer conv3, which has maps 0..127"
    ):
        settings.map_indices(edited("maps.indices", [0, 128, 300]))
    with pytest.raises(
        settings.ConfigError, match=r"maps.layer: 'dense' is not a conv layer of the CNN; allowed: conv1"
    ):
        settings.map_indices(edited("maps.layer", "dense"))
    assert settings.map_indices(edited("maps.layer", "conv1")) == list(range(32))


def test_pattern_count_too_large_is_refused_with_count_and_hint():
    precursor = DEFAULT["precursor"] | {"grid": 7, "levels": [0.1, 0.3, 0.5, 0.7, 0.9]}
    with pytest.raises(settings.ConfigError, match=r"5 levels on a 7x7 grid make 1.776e\+34 patterns.*smaller grid"):
        settings.check_precursor(precursor)
    with pytest.raises(settings.ConfigError, match=r"precursor.keep: 20 seeds asked for, but only 16 of the 16"):
        settings.check_precursor(DEFAULT["precursor"] | {"grid": 2, "levels": [0.2, 0.8], "keep": 20})


def test_halving_must_leave_enough_seeds():
    halving = DEFAULT["precursor"] | {"strategy": "halving", "halving_steps": [2, 4], "halving_keep": 0.2}
    assert settings.check_precursor(halving) == 19683
    with pytest.raises(settings.ConfigError, match=r"only 2 of the 19683 patterns reach the last round"):
        settings.check_precursor(halving | {"halving_steps": [1, 1, 1, 1], "halving_keep": 0.1, "keep": 8})


def test_conda_environment_pins_match_requirements():
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    env = yaml.safe_load((ROOT / "envs/oip.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert len(pip) >= 8
    for requirement in pip:
        name, version = requirement.split("==")
        assert pins[name.lower().replace("_", "-")] == version, requirement
