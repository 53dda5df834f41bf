"""The fast layers compute what the stock Keras layers compute, forward and backward."""

import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from keras_lstm_ae import threads  # noqa: E402
from keras_lstm_ae.layers import FlatTimeDistributed, FusedLSTM  # noqa: E402
from keras_lstm_ae.model import build_model, plain_copy  # noqa: E402
from keras_lstm_ae.training import make_optimizer  # noqa: E402

TOLERANCE = 1e-5

MODELS = {
    "reconstruct": dict(seq_len=15, input_size=1, hidden_size=12),
    "classify": dict(seq_len=9, input_size=5, hidden_size=10, num_classes=4),
    "predict": dict(seq_len=14, input_size=2, hidden_size=7, predict_next=True),
}


def _inputs(batch, model_options, seed=0):
    shape = (batch, model_options["seq_len"], model_options["input_size"])
    return tf.constant(np.random.default_rng(seed).uniform(size=shape).astype("float32"))


def _loss(outputs, x):
    total = tf.reduce_mean((outputs["reconstruction"] - x) ** 2)
    for name in ("classification", "prediction"):
        if name in outputs:
            total += tf.reduce_mean(tf.sin(outputs[name]))
    return total


def _outputs_and_gradients(model, x, traced=True):
    """Return a model's outputs and its loss gradients by weight, computed in a
    `tf.function` as Keras's `fit` does (where the fused loops use XLA) or eagerly."""
    def compute(x):
        with tf.GradientTape() as tape:
            outputs = model(x, training=True)
            loss = _loss(outputs, x)
        return outputs, tape.gradient(loss, model.trainable_weights)

    outputs, gradients = (tf.function(compute) if traced else compute)(x)
    return outputs, dict(zip([w.path.split("/", 1)[0] + "/" + w.name for w in
                              model.trainable_weights], gradients))


def _max_difference(first, second):
    return float(np.max(np.abs(np.asarray(first) - np.asarray(second))))


@pytest.mark.parametrize("task", sorted(MODELS))
@pytest.mark.parametrize("shards, traced", [(1, True), (2, True), (3, True), (2, False)])
def test_fast_model_matches_stock_layers_forward_and_backward(task, shards, traced):
    keras.utils.set_random_seed(4)
    fast = build_model(**MODELS[task], lstm_shards=shards)
    stock = plain_copy(fast)
    assert {type(layer).__name__ for layer in stock.layers} >= {"LSTM", "TimeDistributed"}
    for batch in (1, 7):
        x = _inputs(batch, MODELS[task], seed=batch)
        fast_outputs, fast_gradients = _outputs_and_gradients(fast, x, traced)
        stock_outputs, stock_gradients = _outputs_and_gradients(stock, x)
        assert set(fast_outputs) == set(stock_outputs)
        for name in fast_outputs:
            assert _max_difference(fast_outputs[name], stock_outputs[name]) < TOLERANCE
        assert fast_gradients.keys() == stock_gradients.keys()
        for name, gradient in fast_gradients.items():
            assert float(tf.reduce_max(tf.abs(gradient))) > 0, name
            assert _max_difference(gradient, stock_gradients[name]) < TOLERANCE, name


def test_each_optimization_alone_matches_stock_layers():
    keras.utils.set_random_seed(5)
    stock = build_model(**MODELS["predict"], fused_lstm=False, flat_heads=False)
    x = _inputs(6, MODELS["predict"])
    expected, expected_gradients = _outputs_and_gradients(stock, x)
    for options in (dict(fused_lstm=True, flat_heads=False, lstm_xla=False),
                    dict(fused_lstm=True, flat_heads=False, lstm_xla=True),
                    dict(fused_lstm=False, flat_heads=True),
                    dict(fused_lstm=True, flat_heads=True, lstm_shards=2)):
        model = build_model(**MODELS["predict"], **options)
        model.set_weights(stock.get_weights())
        outputs, gradients = _outputs_and_gradients(model, x)
        for name in expected:
            assert _max_difference(outputs[name], expected[name]) < TOLERANCE, options
        for name in expected_gradients:
            assert _max_difference(gradients[name], expected_gradients[name]) < TOLERANCE


def test_long_sequences_match_as_in_pixel_mode():
    options = dict(seq_len=300, input_size=1, hidden_size=6, num_classes=3)
    keras.utils.set_random_seed(6)
    fast = build_model(**options, lstm_shards=2)
    stock = plain_copy(fast)
    x = _inputs(5, options)
    fast_outputs, fast_gradients = _outputs_and_gradients(fast, x)
    stock_outputs, stock_gradients = _outputs_and_gradients(stock, x)
    for name in fast_outputs:
        assert _max_difference(fast_outputs[name], stock_outputs[name]) < TOLERANCE
    for name in fast_gradients:
        assert _max_difference(fast_gradients[name], stock_gradients[name]) < TOLERANCE


def test_training_steps_give_the_same_weights_as_stock_layers():
    keras.utils.set_random_seed(7)
    fast = build_model(**MODELS["reconstruct"], lstm_shards=2)
    stock = plain_copy(fast)
    x = np.random.default_rng(1).uniform(size=(64, 15, 1)).astype("float32")
    for model in (fast, stock):
        model.compile(optimizer=make_optimizer(0.01, 1.0), loss={"reconstruction": "mse"})
        model.fit(x, {"reconstruction": x}, batch_size=16, epochs=2, shuffle=False, verbose=0)
    for fast_weight, stock_weight in zip(fast.get_weights(), stock.get_weights()):
        assert _max_difference(fast_weight, stock_weight) < 1e-4
    first_weights = build_model(**MODELS["reconstruct"]).get_weights()
    assert max(_max_difference(a, b) for a, b in zip(first_weights, fast.get_weights())) > 1e-3


@pytest.mark.parametrize("options", [
    dict(go_backwards=True),
    dict(activation="relu"),
    dict(use_bias=False),
])
def test_fused_lstm_falls_back_to_stock_loop_where_fused_loops_do_not_apply(options):
    keras.utils.set_random_seed(8)
    x = _inputs(4, dict(seq_len=6, input_size=3))
    fused = FusedLSTM(5, return_sequences=True, **options)
    stock = keras.layers.LSTM(5, return_sequences=True, **options)
    fused.build(x.shape)
    stock.build(x.shape)
    stock.set_weights(fused.get_weights())
    assert _max_difference(fused(x), stock(x)) < TOLERANCE


def test_fused_lstm_with_mask_matches_stock_layer():
    keras.utils.set_random_seed(9)
    x = _inputs(3, dict(seq_len=6, input_size=2)).numpy()
    x[:, 4:] = 0.0
    layers = [FusedLSTM(4), keras.layers.LSTM(4)]
    outputs = []
    for layer in layers:
        inputs = keras.Input((6, 2))
        model = keras.Model(inputs, layer(keras.layers.Masking(0.0)(inputs)))
        if outputs:
            layer.set_weights(layers[0].get_weights())
        outputs.append(model(x))
    assert _max_difference(outputs[0], outputs[1]) < TOLERANCE


def test_fast_model_saves_and_loads_in_safe_mode(tmp_path):
    keras.utils.set_random_seed(10)
    model = build_model(**MODELS["classify"], lstm_shards=2)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded.get_layer("decoder"), FusedLSTM)
    assert loaded.get_layer("decoder").constant_input
    assert loaded.get_layer("encoder").shards == 2
    x = _inputs(3, MODELS["classify"])
    for name, value in model(x).items():
        assert _max_difference(value, loaded(x)[name]) < 1e-6


def test_flat_time_distributed_keeps_static_shapes():
    layer = FlatTimeDistributed(keras.layers.Dense(3))
    inputs = keras.Input((11, 4))
    assert tuple(layer(inputs).shape) == (None, 11, 3)


def test_default_shards_stay_within_limits():
    assert threads.default_shards(1) == 1
    assert 1 <= threads.default_shards(128) <= min(threads.MAX_SHARDS, threads.available_cpus())
    assert threads.default_shards(128) <= 128 // threads.MIN_SHARD_ROWS


def _layer_classes(run_dir):
    model = keras.saving.load_model(run_dir / "model.keras", safe_mode=True)
    return {layer.name: type(layer).__name__ for layer in model.layers}


def test_training_uses_fast_layers_by_default(small_run):
    classes = _layer_classes(small_run.run_dir)
    assert classes["encoder"] == classes["decoder"] == "FusedLSTM"
    assert classes["reconstruction"] == "FlatTimeDistributed"


def test_command_line_switches_turn_each_optimization_off(tmp_path):
    from conftest import run_cli

    completed = run_cli("train", "--epochs", "1", "--num-sequences", "40", "--seq-len", "6",
                        "--hidden-size", "4", "--verbose", "0", "--no-export",
                        "--output-dir", "run", "--no-fused-lstm", "--no-flat-heads",
                        "--no-xla", "--lstm-shards", "1", "--keep-threads", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr[-2000:]
    classes = _layer_classes(tmp_path / "run")
    assert classes["encoder"] == classes["decoder"] == "LSTM"
    assert classes["reconstruction"] == "TimeDistributed"
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["fused_lstm"] is False and config["flat_heads"] is False
    assert config["xla_lstm"] is False and config["set_threads"] is False
    assert config["lstm_shards"] == 1


def test_thread_settings_apply_before_tensorflow_starts_and_are_skipped_after():
    import subprocess
    import sys

    code = ("from keras_lstm_ae import threads\n"
            "import tensorflow as tf\n"
            "first = threads.configure(2)\n"
            "tf.constant(1.0) + 1.0\n"
            "second = threads.configure(3)\n"
            "print(first, second, tf.config.threading.get_intra_op_parallelism_threads(),\n"
            "      tf.config.threading.get_inter_op_parallelism_threads())\n")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               timeout=120)
    assert completed.returncode == 0, completed.stderr[-2000:]
    first, second, intra, inter = completed.stdout.split()[-4:]
    assert (first, second, intra) == ("True", "False", "1")
    assert int(inter) == max(2, threads.available_cpus())
