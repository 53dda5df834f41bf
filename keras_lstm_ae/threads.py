"""CPU thread settings for training with batch shards.

The fused LSTM cuts each batch into shards whose loops run side by side.
That works best with one thread per operation (`intra_op`) and one
scheduler thread per core (`inter_op`): the products in these models are too
small to gain from being split across threads, while whole loops are not.
"""

from __future__ import annotations

import logging
import os

logger = logging.getLogger(__name__)

# Rows per shard below which a shard's matrix products become inefficient.
MIN_SHARD_ROWS = 16
# Shards measured to help; more cores than this are left to TensorFlow.
MAX_SHARDS = 8


def available_cpus() -> int:
    """Return the CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_shards(batch_size: int) -> int:
    """Return the shards for a batch: one per available core, within the limits above."""
    return max(1, min(available_cpus(), MAX_SHARDS, batch_size // MIN_SHARD_ROWS))


def configure(shards: int) -> bool:
    """Give TensorFlow one thread per operation and one scheduler thread per core.

    Does nothing for one shard. TensorFlow accepts thread settings only
    before it starts its runtime; after that this logs why and returns False,
    and training runs with the threads already set.
    """
    if shards <= 1:
        return True
    import tensorflow as tf

    inter_op = max(shards, available_cpus())
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(inter_op)
    except RuntimeError as error:
        logger.info("Thread settings left as they are (%s)", error)
        return False
    return True
