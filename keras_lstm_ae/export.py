"""SavedModel export: a model that plain TensorFlow loads without this package.

The SavedModel contains the signatures of `signatures.py`, and
`assets/keras_lstm_ae.json` records the task, shapes, signatures,
hyperparameters and versions. Export writes to a hidden folder and renames it
when complete, so an interrupted export leaves no half-written model.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Optional

from keras_lstm_ae import runs, tasks
from keras_lstm_ae.errors import UsageError

logger = logging.getLogger(__name__)

METADATA_ASSET = "keras_lstm_ae.json"


def infer_task(model) -> str:
    """Return the task whose outputs a model has."""
    outputs = set(model.output)
    if tasks.CLASSIFICATION in outputs:
        return "classify"
    if tasks.PREDICTION in outputs:
        return "predict"
    return "reconstruct"


def _spec_description(spec) -> dict:
    return {"dtype": spec.dtype.name, "shape": spec.shape.as_list()}


def build_metadata(model, config: dict, signature_functions: dict) -> dict:
    """Describe a model and its signatures for the programs that load its SavedModel."""
    import keras
    import tensorflow as tf

    from keras_lstm_ae import __version__

    signatures = {}
    for name, (function, input_signature) in signature_functions.items():
        concrete = function.get_concrete_function(*input_signature)
        signatures[name] = {
            "inputs": {spec.name: _spec_description(spec) for spec in input_signature},
            "outputs": {key: _spec_description(spec)
                        for key, spec in concrete.structured_outputs.items()},
        }
    return {
        "format": "keras-lstm-ae SavedModel",
        "task": config.get("task"),
        "data": config.get("data"),
        "sequence_length": model.input.shape[1],
        "input": {"name": "sequences", "dtype": "float32", "shape": list(model.input.shape)},
        "outputs": {name: list(tensor.shape) for name, tensor in model.output.items()},
        "signatures": signatures,
        "preprocessing": config.get("preprocessing"),
        "hyperparameters": {
            key: config.get(key)
            for key in ("hidden_size", "learning_rate", "clip_norm", "epochs", "batch_size",
                        "seed", "mnist_mode", "seq_len")
            if key in config
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

    Args:
        model: A model from `build_model`, with stock or fast layers.
        export_dir: Destination folder.
        config: The training options, which choose the task's and the data
            set's signatures and are recorded in the metadata asset. Without
            them the task is inferred from the model's outputs.
        overwrite: Replace an existing SavedModel in `export_dir`.

    Returns:
        `export_dir`.

    Raises:
        UsageError: `export_dir` contains files and `overwrite` is false.
    """
    import keras

    from keras_lstm_ae.model import plain_copy
    from keras_lstm_ae.signatures import build_endpoints

    # Trace the stock layers: the graph then holds only their operations,
    # which converters such as tf2onnx know.
    model = plain_copy(model)
    config = dict(config or {})
    config.setdefault("task", infer_task(model))
    export_dir = Path(export_dir)
    runs.check_destination(export_dir, overwrite, option="--export-dir")
    staging = export_dir.parent / f".{export_dir.name}.partial"
    if staging.exists():
        shutil.rmtree(staging)
    export_dir.parent.mkdir(parents=True, exist_ok=True)

    archive = keras.export.ExportArchive()
    archive.track(model)
    functions = {}
    for name, (function, input_signature) in build_endpoints(model, config).items():
        functions[name] = (archive.add_endpoint(name, function, input_signature=input_signature),
                           input_signature)
    try:
        archive.write_out(str(staging), verbose=False)
        assets = staging / "assets"
        assets.mkdir(exist_ok=True)
        metadata = build_metadata(model, config, functions)
        (assets / METADATA_ASSET).write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
        runs.publish(staging, export_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    logger.info("Exported SavedModel with signatures %s to %s", ", ".join(functions), export_dir)
    return export_dir


def read_metadata(export_dir: Path) -> dict:
    """Read the metadata asset of an exported SavedModel.

    Raises:
        UsageError: the folder contains no keras-lstm-ae metadata.
    """
    path = Path(export_dir) / "assets" / METADATA_ASSET
    if not path.is_file():
        raise UsageError(f"{export_dir} has no assets/{METADATA_ASSET}; "
                         "pass a SavedModel exported by keras-lstm-ae.")
    return json.loads(path.read_text())
