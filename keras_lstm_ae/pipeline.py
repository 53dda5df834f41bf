"""The `tf.data` input pipeline of training.

Each epoch visits the training split in an order drawn from `(seed, epoch)`
alone, so a run resumed at epoch k gets exactly the batches that an
uninterrupted run would have seen from epoch k on.
"""

from __future__ import annotations

import math

import numpy as np


def steps_per_epoch(num_sequences: int, batch_size: int) -> int:
    """Return the number of batches of one epoch; the last one may be smaller."""
    return math.ceil(num_sequences / batch_size)


def epoch_order(num_sequences: int, seed: int, epoch: int):
    """Return the shuffled indices of one epoch as a tensor of shape `(num_sequences,)`."""
    import tensorflow as tf

    stateless_seed = tf.stack([tf.constant(seed, tf.int64), tf.cast(epoch, tf.int64)])
    return tf.random.experimental.stateless_shuffle(
        tf.range(num_sequences, dtype=tf.int64), seed=stateless_seed
    )


def training_dataset(inputs: np.ndarray, targets: dict, batch_size: int, seed: int,
                     initial_epoch: int, epochs: int):
    """Build the batches of epochs `initial_epoch` to `epochs - 1` (counted from 0).

    Args:
        inputs: Model inputs, shape `(batch, time, features)`.
        targets: One target array per output name, same first dimension.
        batch_size: Sequences per batch.
        seed: Seed of the per-epoch shuffles.
        initial_epoch: First epoch to produce.
        epochs: Epoch count at which the data ends.

    Returns:
        A `tf.data.Dataset` of `(inputs, targets)` batches, one epoch after the
        other, to pass to `Model.fit` with `steps_per_epoch`.
    """
    import tensorflow as tf

    num_sequences = len(inputs)
    inputs = tf.constant(inputs)
    targets = {name: tf.constant(values) for name, values in targets.items()}

    def batches_of_epoch(epoch):
        order = epoch_order(num_sequences, seed, epoch)
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size)

    def gather(indices):
        return (tf.gather(inputs, indices),
                {name: tf.gather(values, indices) for name, values in targets.items()})

    dataset = tf.data.Dataset.range(initial_epoch, epochs).flat_map(batches_of_epoch)
    return dataset.map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
