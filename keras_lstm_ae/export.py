"""SavedModel export: a model that plain TensorFlow loads without this package.

The SavedModel holds a `serving_default` signature that takes `sequences`,
float32 of shape `(batch, time, features)` with a dynamic batch size, and
returns every model output by name. `assets/keras_lstm_ae.json` records the
task, shapes, hyperparameters and versions.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Optional

from keras_lstm_ae import runs
from keras_lstm_ae.errors import UsageError

logger = logging.getLogger(__name__)

METADATA_ASSET = "keras_lstm_ae.json"


def build_metadata(model, config: Optional[dict] = None) -> dict:
    """Describe a model for the people and programs that load its SavedModel."""
    import keras
    import tensorflow as tf

    from keras_lstm_ae import __version__

    config = config or {}
    outputs = {name: list(tensor.shape) for name, tensor in model.output.items()}
    return {
        "format": "keras-lstm-ae SavedModel",
        "task": config.get("task"),
        "data": config.get("data"),
        "sequence_length": model.input.shape[1],
        "input": {"name": "sequences", "dtype": "float32", "shape": list(model.input.shape)},
        "outputs": outputs,
        "signatures": {"serving_default": sorted(outputs)},
        "hyperparameters": {
            key: config.get(key)
            for key in ("hidden_size", "learning_rate", "clip_norm", "epochs", "batch_size", "seed")
        },
        "versions": {
            "keras_lstm_ae": __version__,
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
        },
    }


def export_saved_model(model, export_dir: Path, config: Optional[dict] = None,
                       overwrite: bool = False) -> Path:
    """Write `model` as a TensorFlow SavedModel in `export_dir`, atomically.

    The SavedModel is written to a hidden folder beside `export_dir` and renamed
    when complete, so an interrupted export leaves no half-written model.

    Args:
        model: A model from `build_model`.
        export_dir: Destination folder.
        config: The training options, recorded in the metadata asset.
        overwrite: Replace an existing SavedModel in `export_dir`.

    Returns:
        `export_dir`.

    Raises:
        UsageError: `export_dir` holds files and `overwrite` is false.
    """
    import keras
    import tensorflow as tf

    export_dir = Path(export_dir)
    runs.check_destination(export_dir, overwrite, option="--export-dir")
    staging = export_dir.parent / f".{export_dir.name}.partial"
    if staging.exists():
        shutil.rmtree(staging)
    export_dir.parent.mkdir(parents=True, exist_ok=True)

    spec = tf.TensorSpec((None, *model.input.shape[1:]), tf.float32, name="sequences")

    def serve(sequences):
        return model(sequences, training=False)

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serving_default", serve, input_signature=[spec])
    try:
        archive.write_out(str(staging), verbose=False)
        assets = staging / "assets"
        assets.mkdir(exist_ok=True)
        metadata = build_metadata(model, config)
        (assets / METADATA_ASSET).write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
        runs.publish(staging, export_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    logger.info("Exported SavedModel to %s", export_dir)
    return export_dir


def read_metadata(export_dir: Path) -> dict:
    """Read the metadata asset of an exported SavedModel."""
    path = Path(export_dir) / "assets" / METADATA_ASSET
    if not path.is_file():
        raise UsageError(f"{export_dir} has no {METADATA_ASSET}; export it with keras-lstm-ae.")
    return json.loads(path.read_text())
