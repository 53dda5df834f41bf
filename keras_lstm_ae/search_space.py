"""Grid search spaces, read from TOML files.

A grid file has one table, `[hyperparameters]`, that maps each tuned
`TrainConfig` field to the list of values to try:

    [hyperparameters]
    learning_rate = [0.001, 0.01]
    clip_norm = [1.0, "none"]   # "none" (or 0) turns gradient clipping off
    hidden_size = [30, 60, 120]

The grid is the Cartesian product of the lists, in file order with the last
name changing fastest. Nothing here imports TensorFlow, so a bad grid file is
rejected before that import.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import tomllib
from pathlib import Path
from typing import Iterator, Mapping

from keras_lstm_ae.errors import UsageError

TABLE = "hyperparameters"

# Folder of the grids shipped with the project, `tuner/<data>.toml`, beside
# the package folder.
# NOTE: only a source checkout or an editable install has this folder;
# other installs need --grid FILE.
GRID_DIR = Path(__file__).resolve().parents[1] / "tuner"


def _check_learning_rate(value, source: str):
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value <= 0:
        raise UsageError(f"{source}: learning_rate must be a number greater than 0, "
                         f"got {value!r}.")
    return float(value)


def _check_clip_norm(value, source: str):
    if isinstance(value, str) and value.lower() == "none":
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value < 0:
        raise UsageError(f"{source}: clip_norm must be a positive number, or \"none\" or 0 "
                         f"for no clipping, got {value!r}.")
    return float(value)


def _check_positive_int(name: str):
    def check(value, source: str):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise UsageError(f"{source}: {name} must be a positive whole number, got {value!r}.")
        return value

    return check


# The `TrainConfig` fields a grid may tune, each with the check that returns
# its value in the form `TrainConfig` stores.
CHECKS = {
    "learning_rate": _check_learning_rate,
    "clip_norm": _check_clip_norm,
    "hidden_size": _check_positive_int("hidden_size"),
    "batch_size": _check_positive_int("batch_size"),
}


@dataclasses.dataclass(frozen=True)
class Grid:
    """A grid of hyperparameter values.

    Attributes:
        values: For each tuned `TrainConfig` field, the values to try, in
            order. `clip_norm` 0 means no clipping.
        source: File the grid was read from, for messages.
    """

    values: Mapping[str, tuple]
    source: str = "grid"

    @property
    def names(self) -> list[str]:
        return list(self.values)

    @property
    def size(self) -> int:
        """Number of grid points, the product of the list lengths."""
        return math.prod(len(values) for values in self.values.values())

    def points(self) -> Iterator[dict]:
        """Yield each grid point as a dict from field name to value, in grid order."""
        for combination in itertools.product(*self.values.values()):
            yield dict(zip(self.values, combination))

    def to_dict(self) -> dict:
        return {name: list(values) for name, values in self.values.items()}


def check_hyperparameters(values: Mapping, source: str) -> dict:
    """Check one set of hyperparameter values, such as a best-hyperparameters file's.

    Args:
        values: Mapping from `TrainConfig` field name to one value.
        source: File or option the values came from, for messages.

    Returns:
        The values as `TrainConfig` stores them (`clip_norm` "none" becomes 0.0).

    Raises:
        UsageError: an unknown name or an invalid value.
    """
    checked = {}
    for name, value in values.items():
        if name not in CHECKS:
            raise UsageError(f"{source}: unknown hyperparameter {name!r}; "
                             f"use one of {', '.join(CHECKS)}.")
        checked[name] = CHECKS[name](value, source)
    return checked


def parse_grid(document: Mapping, source: str = "grid") -> Grid:
    """Check a parsed grid document and return its `Grid`.

    Args:
        document: The parsed TOML, with a `[hyperparameters]` table.
        source: File name for messages.

    Raises:
        UsageError: other top-level keys, an empty grid, an unknown name, an
            empty list, a repeated value or an invalid value.
    """
    unknown = [key for key in document if key != TABLE]
    if unknown:
        raise UsageError(f"{source}: unknown key {unknown[0]!r}; a grid file contains only a "
                         f"[{TABLE}] table.")
    table = document.get(TABLE)
    if not isinstance(table, Mapping) or not table:
        raise UsageError(f"{source}: the grid is empty; list values under [{TABLE}], "
                         f"for example hidden_size = [30, 60].")

    values = {}
    for name, raw in table.items():
        if name not in CHECKS:
            raise UsageError(f"{source}: unknown hyperparameter {name!r}; "
                             f"use one of {', '.join(CHECKS)}.")
        items = raw if isinstance(raw, list) else [raw]
        if not items:
            raise UsageError(f"{source}: {name} has an empty list; give at least one value.")
        checked = tuple(CHECKS[name](item, source) for item in items)
        if len(set(checked)) != len(checked):
            raise UsageError(f"{source}: {name} lists a value twice, got {raw!r}; "
                             f"list each value once.")
        values[name] = checked
    return Grid(values, source)


def load_grid(path) -> Grid:
    """Read and check a grid file.

    Args:
        path: TOML file with a `[hyperparameters]` table.

    Returns:
        The `Grid`.

    Raises:
        UsageError: the file is missing, unreadable, not TOML or not a valid grid.
    """
    path = Path(path)
    source = f"--grid {path}"
    if not path.exists():
        raise UsageError(f"{source} not found; name an existing TOML grid file.")
    if not path.is_file():
        raise UsageError(f"{source} is not a file; name a TOML grid file.")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise UsageError(f"{source} cannot be read ({reason}); check the file and its "
                         f"permissions.") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"{source} is not valid TOML ({error}); fix the file.") from None
    return parse_grid(document, source)


def default_grid_path(data: str) -> Path:
    """Return the grid file shipped for a data set, `tuner/<data>.toml`."""
    return GRID_DIR / f"{data}.toml"
