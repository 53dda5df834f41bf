"""Time the training steps of the MNIST classifier in row or pixel mode.

Trains the `classify` model of `keras-lstm-ae train --data mnist` for a few
batches and times every training step with a Keras callback, so validation and
evaluation are left out. The first step also traces the TensorFlow graph and
is reported apart. The full-epoch time is an estimate: the steps of one epoch
over the 50,000 training images times the median step time.

    python benchmarks/mnist_step_time.py --data-path mnist.npz --mode pixel --steps 6
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time

from keras_lstm_ae import TrainConfig
from keras_lstm_ae.data import mnist

FULL_TRAIN_IMAGES = 50_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-path", required=True, help="MNIST .npz file or IDX folder")
    parser.add_argument("--mode", choices=mnist.MODES, default="row",
                        help="sequence mode (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=6,
                        help="training steps to time, the first included (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=128,
                        help="images per step (default: %(default)s)")
    args = parser.parse_args()

    import keras

    from keras_lstm_ae import tasks
    from keras_lstm_ae.training import build_and_compile, prepare_tensorflow

    config = TrainConfig(data="mnist", task="classify", mnist_mode=args.mode,
                         data_path=args.data_path, batch_size=args.batch_size).resolved()
    data = mnist.load(args.data_path, mode=args.mode, seed=config.seed)
    data = data.truncated(args.steps * args.batch_size)
    prepare_tensorflow(config)
    model = build_and_compile(config, data)
    arrays = tasks.make_arrays("classify", data.train)

    class StepTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_train_batch_begin(self, batch, logs=None):
            self.started = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.seconds.append(time.perf_counter() - self.started)

    timer = StepTimer()
    model.fit(arrays.inputs, arrays.targets, batch_size=args.batch_size, epochs=1,
              shuffle=False, verbose=0, callbacks=[timer])

    later = timer.seconds[1:] or timer.seconds
    median = statistics.median(later)
    steps_per_epoch = math.ceil(FULL_TRAIN_IMAGES / args.batch_size)
    print(json.dumps({
        "mode": args.mode,
        "hidden_size": config.hidden_size,
        "batch_size": args.batch_size,
        "sequence_shape": list(data.train.x.shape[1:]),
        "first_step_seconds": round(timer.seconds[0], 2),
        "later_step_seconds": [round(value, 2) for value in later],
        "median_step_seconds": round(median, 3),
        "steps_per_full_epoch": steps_per_epoch,
        "estimated_full_epoch_seconds": round(steps_per_epoch * median),
    }, indent=2), flush=True)


if __name__ == "__main__":
    main()
