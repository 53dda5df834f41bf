import numpy as np

from keras_lstm_ae.model import build_for_task, build_model


def test_model_layers_and_names():
    model = build_model(seq_len=50, input_size=1, hidden_size=60)
    names = [layer.name for layer in model.layers]
    assert names == ["sequences", "encoder", "repeat_context", "decoder", "reconstruction"]
    assert model.get_layer("encoder").units == 60
    assert model.get_layer("decoder").return_sequences
    assert not model.get_layer("encoder").return_sequences
    assert model.get_layer("repeat_context").n == 50
    assert not any(type(layer).__name__ == "Lambda" for layer in model.layers)


def test_model_output_shapes():
    model = build_model(seq_len=50, input_size=1, hidden_size=30)
    outputs = model(np.zeros((4, 50, 1), dtype="float32"))
    assert set(outputs) == {"reconstruction"}
    assert tuple(outputs["reconstruction"].shape) == (4, 50, 1)


def test_model_with_classifier_and_prediction_heads():
    model = build_model(seq_len=28, input_size=28, hidden_size=16, num_classes=10,
                        predict_next=True)
    outputs = model(np.zeros((3, 28, 28), dtype="float32"))
    assert set(outputs) == {"reconstruction", "prediction", "classification"}
    assert tuple(outputs["classification"].shape) == (3, 10)
    assert tuple(outputs["prediction"].shape) == (3, 28, 28)


def test_build_for_predict_shortens_input():
    model = build_for_task("predict", seq_len=20, num_features=1, hidden_size=8)
    assert tuple(model.input.shape) == (None, 19, 1)
    assert set(model.output) == {"reconstruction", "prediction"}


def test_output_size_differs_from_input_size():
    model = build_model(seq_len=10, input_size=3, hidden_size=8, output_size=2)
    outputs = model(np.zeros((2, 10, 3), dtype="float32"))
    assert tuple(outputs["reconstruction"].shape) == (2, 10, 2)
