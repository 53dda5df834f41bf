import pytest

from keras_lstm_ae import UsageError
from keras_lstm_ae.config import DATA_SETS
from keras_lstm_ae.search_space import check_hyperparameters, default_grid_path, load_grid, parse_grid


@pytest.mark.parametrize("data", DATA_SETS)
def test_shipped_grid_is_reference_grid(data):
    grid = load_grid(default_grid_path(data))
    assert grid.to_dict() == {"learning_rate": [0.001, 0.01], "clip_norm": [1.0, 0.0],
                              "hidden_size": [30, 60, 120]}
    assert grid.size == 12


def test_grid_points_vary_last_name_fastest():
    grid = parse_grid({"hyperparameters": {"learning_rate": [0.1, 0.2], "hidden_size": [4, 8]}})
    assert list(grid.points()) == [
        {"learning_rate": 0.1, "hidden_size": 4}, {"learning_rate": 0.1, "hidden_size": 8},
        {"learning_rate": 0.2, "hidden_size": 4}, {"learning_rate": 0.2, "hidden_size": 8},
    ]


def test_clip_none_maps_to_zero():
    grid = parse_grid({"hyperparameters": {"clip_norm": [1, "none"]}})
    assert grid.values["clip_norm"] == (1.0, 0.0)


def test_scalar_is_one_value_list():
    grid = parse_grid({"hyperparameters": {"hidden_size": 16}})
    assert grid.values["hidden_size"] == (16,)


@pytest.mark.parametrize(
    "document, expected",
    [
        ({"hyperparameters": {"dropout": [0.1]}}, "unknown hyperparameter 'dropout'"),
        ({"hyperparameters": {}}, "the grid is empty"),
        ({}, "the grid is empty"),
        ({"hyperparameters": {"hidden_size": [4]}, "epochs": 3}, "unknown key 'epochs'"),
        ({"hyperparameters": {"hidden_size": []}}, "hidden_size has an empty list"),
        ({"hyperparameters": {"hidden_size": [4, 4]}}, "hidden_size lists a value twice"),
        ({"hyperparameters": {"hidden_size": [0]}}, "hidden_size must be a positive whole number"),
        ({"hyperparameters": {"hidden_size": [2.5]}}, "hidden_size must be a positive whole"),
        ({"hyperparameters": {"hidden_size": [True]}}, "hidden_size must be a positive whole"),
        ({"hyperparameters": {"batch_size": ["64"]}}, "batch_size must be a positive whole"),
        ({"hyperparameters": {"learning_rate": [-0.1]}}, "learning_rate must be a number greater"),
        ({"hyperparameters": {"learning_rate": [float("nan")]}}, "learning_rate must be a number"),
        ({"hyperparameters": {"clip_norm": [-1]}}, "clip_norm must be a positive number"),
        ({"hyperparameters": {"clip_norm": ["off"]}}, "clip_norm must be a positive number"),
    ],
)
def test_parse_grid_rejects_bad_grid(document, expected):
    with pytest.raises(UsageError) as caught:
        parse_grid(document, "g.toml")
    message = str(caught.value)
    assert expected in message
    assert message.startswith("g.toml: ")
    assert "\n" not in message


def test_load_grid_rejects_missing_file(tmp_path):
    with pytest.raises(UsageError, match="not found"):
        load_grid(tmp_path / "missing.toml")


def test_load_grid_rejects_folder(tmp_path):
    with pytest.raises(UsageError, match="is not a file"):
        load_grid(tmp_path)


def test_load_grid_rejects_invalid_toml(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[hyperparameters]\nhidden_size = [4, \n")
    with pytest.raises(UsageError, match="is not valid TOML"):
        load_grid(path)


def test_load_grid_rejects_non_utf8(tmp_path):
    path = tmp_path / "binary.toml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(UsageError, match="cannot be read"):
        load_grid(path)


def test_check_hyperparameters_rejects_unknown_name():
    with pytest.raises(UsageError, match="unknown hyperparameter 'epochs'"):
        check_hyperparameters({"epochs": 3}, "best.json")
