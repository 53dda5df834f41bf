"""Ten epochs of MNIST classification: keras-lstm-ae against PyTorch on the same model and data.

Both train the row-mode classifier of `keras-lstm-ae train --data mnist
--task classify`: an LSTM encoder over 28 rows of 28 pixels, its last hidden
state z repeated 28 times into an LSTM decoder with a per-row linear head
(reconstruction), and a linear layer from z to 10 class scores. The loss is
(MSE + cross-entropy) / 2, optimized by Adam (learning rate 0.001, gradients
clipped to global norm 1) on batches of 128 of the same 50,000 training
images, with a validation pass every 5 epochs and after the last. Each runs
in its own subprocess. The time is the training time, validation included;
the test accuracy is measured after it.

    python benchmarks/mnist_epochs.py --data-path ../shared/data/mnist.npz

PyTorch is skipped with a message when torch is not installed
(`pip install torch==2.13.0` gives a CPU build). The table is printed and
replaces this script's section of benchmarks/RESULTS.md unless `--no-write`
is given.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results_file import replace_section

HIDDEN_SIZE = 120
BATCH_SIZE = 128
LEARNING_RATE = 0.001
CLIP_NORM = 1.0
VALIDATE_EVERY = 5


def run_package(data_path: str, epochs: int, threads: int) -> dict:
    from keras_lstm_ae import TrainConfig, train

    with tempfile.TemporaryDirectory() as folder:
        result = train(TrainConfig(
            data="mnist", task="classify", data_path=data_path, epochs=epochs,
            hidden_size=HIDDEN_SIZE, batch_size=BATCH_SIZE, learning_rate=LEARNING_RATE,
            clip_norm=CLIP_NORM, validate_every=VALIDATE_EVERY, export=False, verbose=0,
            output_dir=str(Path(folder) / "run")))
    return {"seconds": result.metrics["train_seconds"],
            "test_accuracy": result.metrics["test_accuracy"]}


def run_pytorch(data_path: str, epochs: int, threads: int) -> dict:
    import numpy as np
    import torch
    from torch import nn

    from keras_lstm_ae.data import mnist

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    data = mnist.load(data_path, mode="row", seed=0)
    train_x = torch.from_numpy(data.train.x)
    train_y = torch.from_numpy(data.train.labels.astype(np.int64))

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.LSTM(28, HIDDEN_SIZE, batch_first=True)
            self.decoder = nn.LSTM(HIDDEN_SIZE, HIDDEN_SIZE, batch_first=True)
            self.reconstruction = nn.Linear(HIDDEN_SIZE, 28)
            self.classification = nn.Linear(HIDDEN_SIZE, 10)

        def forward(self, x):
            _, (hidden, _) = self.encoder(x)
            context = hidden[-1]
            decoded, _ = self.decoder(context.unsqueeze(1).repeat(1, x.shape[1], 1))
            return self.reconstruction(decoded), self.classification(context)

    def loss_of(model, x, y):
        reconstruction, scores = model(x)
        return (nn.functional.mse_loss(reconstruction, x)
                + nn.functional.cross_entropy(scores, y)) / 2

    def evaluate(model, split):
        with torch.no_grad():
            x = torch.from_numpy(split.x)
            y = torch.from_numpy(split.labels.astype(np.int64))
            correct, loss = 0, 0.0
            for start in range(0, len(x), 512):
                batch_x, batch_y = x[start:start + 512], y[start:start + 512]
                loss += loss_of(model, batch_x, batch_y).item() * len(batch_x)
                correct += (model(batch_x)[1].argmax(1) == batch_y).sum().item()
        return loss / len(x), correct / len(x)

    model = Classifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        order = torch.randperm(len(train_x))
        for start in range(0, len(order), BATCH_SIZE):
            index = order[start:start + BATCH_SIZE]
            optimizer.zero_grad()
            loss_of(model, train_x[index], train_y[index]).backward()
            nn.utils.clip_grad_norm_(model.parameters(), CLIP_NORM)
            optimizer.step()
        if epoch % VALIDATE_EVERY == 0 or epoch == epochs:
            evaluate(model, data.validation)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "test_accuracy": evaluate(model, data.test)[1]}


RUNNERS = {"keras_lstm_ae": run_package, "pytorch": run_pytorch}


def measure(implementation: str, args) -> dict:
    command = [sys.executable, __file__, "--worker", implementation, "--data-path",
               args.data_path, "--epochs", str(args.epochs), "--threads", str(args.threads)]
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    completed = subprocess.run(command, capture_output=True, text=True, env=environment)
    if completed.returncode != 0:
        return {"error": (completed.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-path", required=True, help="MNIST .npz file or IDX folder")
    parser.add_argument("--epochs", type=int, default=10, help="epochs (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="PyTorch threads; the package sets its own (default: CPU count)")
    parser.add_argument("--output", default=str(Path(__file__).with_name("RESULTS.md")))
    parser.add_argument("--no-write", action="store_true", help="only print the table")
    parser.add_argument("--worker", choices=sorted(RUNNERS), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        result = RUNNERS[args.worker](args.data_path, args.epochs, args.threads)
        result["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return 0

    implementations = list(RUNNERS)
    if importlib.util.find_spec("torch") is None:
        print("torch is not installed: the PyTorch row is skipped "
              "(pip install torch==2.13.0 gives a CPU build).", file=sys.stderr)
        implementations.remove("pytorch")
    results = {}
    for implementation in implementations:
        result = measure(implementation, args)
        if "error" in result:
            print(f"{implementation}: failed: {result['error']}", file=sys.stderr)
            continue
        results[implementation] = result
        print(f"{implementation}: {result['seconds']:.1f} s, test accuracy "
              f"{result['test_accuracy']:.4f}, peak {result['peak_mib']:.0f} MiB", flush=True)

    lines = [
        f"## MNIST classification, {args.epochs} epochs",
        "",
        f"Command: `python benchmarks/mnist_epochs.py --data-path mnist.npz --epochs "
        f"{args.epochs} --threads {args.threads}`",
        "",
        f"Row mode, hidden size {HIDDEN_SIZE}, batch {BATCH_SIZE}, 50,000 training images, "
        f"validation every {VALIDATE_EVERY} epochs. Time: training with its validation passes.",
        "",
        "| implementation | training time (s) | test accuracy | peak MiB |",
        "| --- | --- | --- | --- |",
    ]
    for implementation, result in results.items():
        lines.append(f"| {implementation} | {result['seconds']:.1f} | "
                     f"{result['test_accuracy']:.4f} | {result['peak_mib']:.0f} |")
    if len(results) == 2:
        ratio = results["keras_lstm_ae"]["seconds"] / results["pytorch"]["seconds"]
        lines += ["", f"keras-lstm-ae / PyTorch training time: {ratio:.2f}"]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        replace_section(Path(args.output), "mnist_epochs.py", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
