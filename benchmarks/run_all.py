"""Run every benchmark in one go and write benchmarks/RESULTS.md.

In order: the synthetic epoch times against stock Keras and PyTorch at
hidden sizes 30, 60 and 120 with the ablation at 60 (`epoch_time.py`), ten
epochs of MNIST classification against PyTorch (`mnist_epochs.py`), and the
step times of MNIST in row and pixel mode (`mnist_step_time.py`). Each
writes its own section of RESULTS.md; text outside the sections is kept.

    python benchmarks/run_all.py --mnist-data ../shared/data/mnist.npz

Run it on an otherwise idle machine: the numbers are wall-clock times.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from results_file import replace_section

HERE = Path(__file__).resolve().parent


def run(script: str, *arguments: str) -> str:
    command = [sys.executable, str(HERE / script), *arguments]
    print("$", " ".join(command[1:]), flush=True)
    completed = subprocess.run(command, stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    print(completed.stdout, flush=True)
    if completed.returncode != 0:
        raise SystemExit(f"{script} failed with exit status {completed.returncode}")
    return completed.stdout


def step_time_section(data_path: str, steps: int, output: Path) -> None:
    lines = ["## MNIST step time", "",
             "`python benchmarks/mnist_step_time.py --data-path mnist.npz --mode MODE "
             f"--steps {steps}`: the classifier at hidden size 120, batch 128. The first step "
             "also builds the graph and compiles the loops. The full-epoch time is an "
             "estimate: 391 steps times the median of the later steps.", "",
             "| mode | time steps | first step (s) | median later step (s) | "
             "estimated epoch (s) |", "| --- | --- | --- | --- | --- |"]
    for mode in ("row", "pixel"):
        text = run("mnist_step_time.py", "--data-path", data_path, "--mode", mode,
                   "--steps", str(steps))
        result = json.loads(text[text.index("{"):])
        lines.append(f"| {mode} | {result['sequence_shape'][0]} | "
                     f"{result['first_step_seconds']} | {result['median_step_seconds']} | "
                     f"{result['estimated_full_epoch_seconds']} |")
    replace_section(output, "mnist_step_time.py", "\n".join(lines) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist-data", required=True, help="MNIST .npz file or IDX folder")
    parser.add_argument("--epochs", type=int, default=6,
                        help="epochs of each synthetic run, the first untimed "
                             "(default: %(default)s)")
    parser.add_argument("--mnist-epochs", type=int, default=10,
                        help="epochs of the MNIST comparison (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=6,
                        help="MNIST steps timed per mode (default: %(default)s)")
    parser.add_argument("--output", default=str(HERE / "RESULTS.md"))
    args = parser.parse_args()

    threads = str(os.cpu_count())
    run("epoch_time.py", "--hidden-sizes", "30", "60", "120", "--epochs", str(args.epochs),
        "--threads", threads, "--ablation", "60", "--output", args.output)
    run("mnist_epochs.py", "--data-path", args.mnist_data, "--epochs", str(args.mnist_epochs),
        "--threads", threads, "--output", args.output)
    step_time_section(args.mnist_data, args.steps, Path(args.output))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
