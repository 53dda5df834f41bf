"""Epoch time of the synthetic reference model: this package, stock Keras and PyTorch.

Each measurement runs in its own subprocess, so thread settings and peak
memory belong to one implementation. Every implementation trains the same
model on the same data. The model is an LSTM encoder whose last hidden
state is repeated T times, an LSTM decoder and a per-step linear head. The
training uses MSE and Adam with learning rate 0.001, clipping gradients by
global norm 1.

Usage:
    python benchmarks/epoch_time.py                     # hidden sizes 30, 60, 120
    python benchmarks/epoch_time.py --hidden-sizes 60 --epochs 3
    python benchmarks/epoch_time.py --ablation 60      # also each optimization off

The table is printed and replaces this script's section of
benchmarks/RESULTS.md (`--output`); the rest of the file is kept.
PyTorch rows are skipped with a message when torch is not installed
(`pip install torch==2.13.0` gives a CPU build).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from results_file import replace_section

IMPLEMENTATIONS = ("keras_lstm_ae", "stock_keras", "pytorch")
# The package with one optimization turned off at a time: option -> TrainConfig fields.
# Worker name -> (the command-line option it stands for, its TrainConfig fields).
ABLATIONS = {
    "defaults": ("(none: the defaults)", {}),
    "no_xla": ("`--no-xla`", {"xla_lstm": False}),
    "one_shard": ("`--lstm-shards 1`", {"lstm_shards": 1}),
    "no_flat_heads": ("`--no-flat-heads`", {"flat_heads": False}),
    "no_fused_lstm": ("`--no-fused-lstm`", {"fused_lstm": False}),
}
LEARNING_RATE = 0.001
CLIP_NORM = 1.0


def make_data(num_sequences: int, seq_len: int, seed: int = 0):
    import numpy as np

    return np.random.default_rng(seed).uniform(size=(num_sequences, seq_len, 1)).astype("float32")


def configure_tensorflow(threads: int) -> None:
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)


def epoch_timer():
    """Return a Keras callback that stores each epoch's wall time in `.seconds`."""
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.started)

    return EpochTimer()


def run_package(hidden_size, epochs, num_sequences, seq_len, batch_size, threads,
                options=None):
    # The package sets its own threads: one per operation, one scheduler
    # thread per core, and one batch shard per core.
    from keras_lstm_ae import TrainConfig, training
    from keras_lstm_ae.data import SequenceData, Split

    x = make_data(num_sequences, seq_len)
    data = SequenceData("synthetic", Split(x), Split(x[:batch_size]), Split(x[:batch_size]))
    config = TrainConfig(hidden_size=hidden_size, epochs=epochs, batch_size=batch_size,
                         validate_every=1, learning_rate=LEARNING_RATE,
                         clip_norm=CLIP_NORM, verbose=0, **(options or {})).resolved()
    training.prepare_tensorflow(config)
    model = training.build_and_compile(config, data)
    timer = epoch_timer()
    training.fit(model, config, data, callbacks=[timer])
    return timer.seconds


def run_stock_keras(hidden_size, epochs, num_sequences, seq_len, batch_size, threads):
    configure_tensorflow(threads)
    import keras
    from keras import layers

    x = make_data(num_sequences, seq_len)
    inputs = keras.Input((seq_len, 1))
    context = layers.LSTM(hidden_size)(inputs)
    decoded = layers.LSTM(hidden_size, return_sequences=True)(layers.RepeatVector(seq_len)(context))
    model = keras.Model(inputs, layers.TimeDistributed(layers.Dense(1))(decoded))
    model.compile(keras.optimizers.Adam(LEARNING_RATE, global_clipnorm=CLIP_NORM), "mse")
    timer = epoch_timer()
    model.fit(x, x, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=0,
              validation_data=(x[:batch_size], x[:batch_size]), callbacks=[timer])
    return timer.seconds


def run_pytorch(hidden_size, epochs, num_sequences, seq_len, batch_size, threads):
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    torch.manual_seed(0)

    class Autoencoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.LSTM(1, hidden_size, batch_first=True)
            self.decoder = nn.LSTM(hidden_size, hidden_size, batch_first=True)
            self.head = nn.Linear(hidden_size, 1)

        def forward(self, x):
            _, (hidden, _) = self.encoder(x)
            repeated = hidden[-1].unsqueeze(1).repeat(1, x.shape[1], 1)
            decoded, _ = self.decoder(repeated)
            return self.head(decoded)

    x = torch.from_numpy(make_data(num_sequences, seq_len))
    model = Autoencoder()
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    loss_function = nn.MSELoss()
    seconds = []
    for _ in range(epochs):
        started = time.perf_counter()
        for batch in x[torch.randperm(num_sequences)].split(batch_size):
            optimizer.zero_grad()
            loss = loss_function(model(batch), batch)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), CLIP_NORM)
            optimizer.step()
        with torch.no_grad():
            loss_function(model(x[:batch_size]), x[:batch_size]).item()
        seconds.append(time.perf_counter() - started)
    return seconds


RUNNERS = {"keras_lstm_ae": run_package, "stock_keras": run_stock_keras,
           "pytorch": run_pytorch}


def measure(implementation, hidden_size, args) -> dict:
    """Run one implementation in a subprocess and return its epoch times and peak memory."""
    command = [sys.executable, __file__, "--worker", implementation, str(hidden_size),
               "--epochs", str(args.epochs), "--num-sequences", str(args.num_sequences),
               "--seq-len", str(args.seq_len), "--batch-size", str(args.batch_size),
               "--threads", str(args.threads)]
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    completed = subprocess.run(command, capture_output=True, text=True, env=environment)
    if completed.returncode != 0:
        return {"error": completed.stderr.strip().splitlines()[-1]}
    return json.loads(completed.stdout.strip().splitlines()[-1])


def machine_description(threads: int) -> str:
    model = platform.processor() or "unknown processor"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{model}, {os.cpu_count()} logical CPUs, {threads} threads per framework, "
            f"Python {platform.python_version()}, {platform.system()} {platform.release()}")


def versions() -> str:
    import importlib.metadata as metadata

    found = []
    for package in ("tensorflow", "keras", "torch"):
        try:
            found.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            found.append(f"{package} not installed")
    return ", ".join(found)


def ablation_lines(args) -> list[str]:
    """Time the package with each optimization off and return the table's lines."""
    lines = ["", f"The package at hidden size {args.ablation} with one optimization turned off "
             "(median epoch time, same data and epochs):", "",
             "| option | epoch (s) | / defaults |", "| --- | --- | --- |"]
    baseline = None
    for worker, (option, _) in ABLATIONS.items():
        result = measure(worker, args.ablation, args)
        if "error" in result:
            print(f"{option}: failed: {result['error']}", file=sys.stderr)
            continue
        seconds = statistics.median(result["seconds"][1:] or result["seconds"])
        baseline = baseline or seconds
        print(f"ablation {option}: median {seconds:.3f} s an epoch", flush=True)
        lines.append(f"| {option} | {seconds:.3f} | {seconds / baseline:.2f} |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden-sizes", type=int, nargs="+", default=[30, 60, 120])
    parser.add_argument("--epochs", type=int, default=4,
                        help="epochs per run; the first is a warm-up and is not timed "
                             "(default: %(default)s)")
    parser.add_argument("--num-sequences", type=int, default=6000,
                        help="training sequences (default: %(default)s)")
    parser.add_argument("--seq-len", type=int, default=50, help="time steps (default: 50)")
    parser.add_argument("--batch-size", type=int, default=128, help="default: 128")
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="threads of each framework (default: the CPU count)")
    parser.add_argument("--ablation", type=int, default=None, metavar="HIDDEN",
                        help="also time the package at this hidden size with each of its "
                             "optimizations turned off in turn (default: no)")
    parser.add_argument("--output", default=str(Path(__file__).with_name("RESULTS.md")))
    parser.add_argument("--worker", nargs=2, metavar=("IMPLEMENTATION", "HIDDEN"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        implementation, hidden_size = args.worker[0], int(args.worker[1])
        run_arguments = (hidden_size, args.epochs, args.num_sequences, args.seq_len,
                         args.batch_size, args.threads)
        if implementation in ABLATIONS:
            seconds = run_package(*run_arguments, options=ABLATIONS[implementation][1])
        else:
            seconds = RUNNERS[implementation](*run_arguments)
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"seconds": seconds, "peak_mib": peak_mib}))
        return 0

    implementations = IMPLEMENTATIONS
    if importlib.util.find_spec("torch") is None:
        print("torch is not installed: PyTorch rows are skipped "
              "(pip install torch==2.13.0 gives a CPU build).", file=sys.stderr)
        implementations = IMPLEMENTATIONS[:2]

    rows = []
    for hidden_size in args.hidden_sizes:
        results = {}
        for implementation in implementations:
            result = measure(implementation, hidden_size, args)
            if "error" in result:
                print(f"{implementation}, hidden {hidden_size}: failed: {result['error']}",
                      file=sys.stderr)
                continue
            timed = result["seconds"][1:] or result["seconds"]
            results[implementation] = (statistics.median(timed), result["peak_mib"])
            print(f"hidden {hidden_size} {implementation}: median {results[implementation][0]:.3f}"
                  f" s an epoch, peak {result['peak_mib']:.0f} MiB", flush=True)
        rows.append((hidden_size, results))

    lines = [
        "## Epoch time: keras-lstm-ae, stock Keras and PyTorch",
        "",
        f"Command: `python benchmarks/epoch_time.py --hidden-sizes "
        f"{' '.join(map(str, args.hidden_sizes))} --epochs {args.epochs} --threads {args.threads}"
        f"{f' --ablation {args.ablation}' if args.ablation else ''}`",
        "",
        f"Machine: {machine_description(args.threads)}. Versions: {versions()}. "
        "The package sets its own threads (one per operation, one scheduler thread per "
        "core); `--threads` applies to stock Keras and PyTorch.",
        "",
        f"Data: {args.num_sequences} training sequences of {args.seq_len} steps, batch "
        f"{args.batch_size}. Each value is the median of epochs 2 to {args.epochs} of one "
        "run; epoch 1 is a warm-up. Peak memory is the resident set of the run's process.",
        "",
        "| hidden | keras-lstm-ae (s) | stock Keras fit (s) | PyTorch (s) | "
        "keras-lstm-ae / PyTorch | stock Keras / PyTorch | peak MiB (package, Keras, PyTorch) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for hidden_size, results in rows:
        def cell(name):
            return f"{results[name][0]:.3f}" if name in results else "n/a"

        def ratio(name):
            if name in results and "pytorch" in results:
                return f"{results[name][0] / results['pytorch'][0]:.2f}"
            return "n/a"

        peaks = ", ".join(f"{results[name][1]:.0f}" if name in results else "n/a"
                          for name in IMPLEMENTATIONS)
        lines.append(f"| {hidden_size} | {cell('keras_lstm_ae')} | {cell('stock_keras')} | "
                     f"{cell('pytorch')} | {ratio('keras_lstm_ae')} | {ratio('stock_keras')} | "
                     f"{peaks} |")
    if args.ablation:
        lines += ablation_lines(args)
    text = "\n".join(lines) + "\n"
    print(text)
    replace_section(Path(args.output), "epoch_time.py", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
