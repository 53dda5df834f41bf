"""An LSTM layer whose whole sequence, forward and backward, runs as two TensorFlow loops.

The stock Keras LSTM on a CPU computes the input projection inside its loop,
one small matrix product per step, and lets TensorFlow differentiate the
loop. `FusedLSTM` keeps the same weights, gates and outputs, and changes
only how they are computed:

- the input projection `x W + b` is one matrix product for all steps before
  the loop, or one product per sequence when the input is the same at every
  step (the decoder reads z repeated by `RepeatVector`);
- the backward pass is written out: a reverse loop carries only the hidden
  and cell gradients, and the weight gradients are single matrix products
  over all steps after it;
- when training, each loop is compiled with XLA, which fuses a step's small
  operations: on tensors this small, TensorFlow spends more time starting
  each operation than computing it;
- the batch can be cut into shards that run their loops side by side, one
  per CPU core, which suits the small matrices of these models better than
  splitting each product across threads.
"""

from __future__ import annotations

import functools

import keras
import tensorflow as tf

GATES = 4  # input, forget, cell candidate, output: the order of Keras's LSTM weights


def _forward_loop(scaled_input, scaled_kernel, h0, c0, steps, constant_input):
    """Run the steps; return the hidden states and what the backward loop reads, as TensorArrays."""
    dtype = scaled_kernel.dtype
    if not constant_input:
        inputs = tf.TensorArray(dtype, size=steps).unstack(scaled_input)
    arrays = [tf.TensorArray(dtype, size=steps) for _ in range(4)]

    def step(t, h, c, hiddens, gates, cells, previous_cells):
        x = scaled_input if constant_input else inputs.read(t)
        s = tf.sigmoid(x + tf.matmul(h, scaled_kernel))
        i, f, g, o = tf.split(s, GATES, axis=-1)
        previous_cells = previous_cells.write(t, c)
        c = f * c + i * (2.0 * g - 1.0)
        h = o * tf.tanh(c)
        return (t + 1, h, c, hiddens.write(t, h), gates.write(t, s), cells.write(t, c),
                previous_cells)

    _, _, last_cell, hiddens, gates, cells, previous_cells = tf.while_loop(
        lambda t, *_: t < steps, step, (0, h0, c0, *arrays))
    return hiddens, last_cell, gates, cells, previous_cells


def _backward_loop(d_hidden, d_last_cell, recurrent_kernel, derivative_scale, h0, hidden,
                   gates, cells, previous_cells, steps, constant_input):
    """Return the gradients of `lstm_sequence`'s inputs from those of its outputs."""
    units = recurrent_kernel.shape[0]
    d_hiddens = tf.TensorArray(recurrent_kernel.dtype, size=steps).unstack(d_hidden)
    d_gates = tf.TensorArray(recurrent_kernel.dtype, size=steps)
    kernel_t = tf.transpose(recurrent_kernel)

    def back(t, dh_next, dc_next, d_gates):
        s = gates.read(t)
        i, f, g, o = tf.split(s, GATES, axis=-1)
        tanh_c = tf.tanh(cells.read(t))
        dh = d_hiddens.read(t) + dh_next
        dc = dc_next + dh * o * (1.0 - tanh_c * tanh_c)
        d_activations = tf.concat(
            [dc * (2.0 * g - 1.0), dc * previous_cells.read(t), dc * i, dh * tanh_c], -1)
        dz = d_activations * (s * (1.0 - s) * derivative_scale)
        return t - 1, tf.matmul(dz, kernel_t), dc * f, d_gates.write(t, dz)

    _, dh0, dc0, d_gates = tf.while_loop(
        lambda t, *_: t >= 0, back, (steps - 1, tf.zeros_like(h0), d_last_cell, d_gates))
    dz_all = d_gates.stack()
    h_previous = tf.concat([h0[None], hidden[:-1]], axis=0)
    d_kernel = tf.matmul(tf.reshape(h_previous, [-1, units]),
                         tf.reshape(dz_all, [-1, GATES * units]), transpose_a=True)
    d_projected = tf.reduce_sum(dz_all, axis=0) if constant_input else dz_all
    return d_projected, d_kernel, dh0, dc0


def _gate_scale(units: int, dtype):
    # tanh(x) = 2 sigmoid(2x) - 1, so one sigmoid over all four gates serves
    # the cell candidate too once its columns are scaled by 2.
    return tf.constant([1.0] * (2 * units) + [2.0] * units + [1.0] * units, dtype=dtype)


def _forward(projected, recurrent_kernel, h0, c0, steps, constant_input):
    scale = _gate_scale(recurrent_kernel.shape[0], recurrent_kernel.dtype)
    return _forward_loop(projected * scale, recurrent_kernel * scale, h0, c0, steps,
                         constant_input)


def _backward(d_hidden, d_last_cell, recurrent_kernel, h0, hidden, gates, cells,
              previous_cells, steps, constant_input):
    scale = _gate_scale(recurrent_kernel.shape[0], recurrent_kernel.dtype)
    return _backward_loop(d_hidden, d_last_cell, recurrent_kernel, scale * scale, h0, hidden,
                          gates, cells, previous_cells, steps, constant_input)


@functools.lru_cache(maxsize=None)
def _compiled_loops(steps: int, constant_input: bool):
    """Return the XLA-compiled forward and backward loops for sequences of `steps` steps.

    One pair of functions per process and length, so models of the same
    shapes reuse the compiled code instead of compiling again.
    """
    def forward(projected, recurrent_kernel, h0, c0):
        hiddens, last_cell, *saved = _forward(projected, recurrent_kernel, h0, c0, steps,
                                              constant_input)
        return (hiddens.stack(), last_cell, *(array.stack() for array in saved))

    def backward(d_hidden, d_last_cell, recurrent_kernel, h0, hidden, *saved):
        arrays = [tf.TensorArray(value.dtype, size=steps).unstack(value) for value in saved]
        return _backward(d_hidden, d_last_cell, recurrent_kernel, h0, hidden, *arrays, steps,
                         constant_input)

    return (tf.function(forward, jit_compile=True),
            tf.function(backward, jit_compile=True))


def lstm_sequence(projected, recurrent_kernel, h0, c0, constant_input: bool, steps,
                  xla: bool = True):
    """Run LSTM steps over inputs already multiplied by the kernel and offset by the bias.

    Args:
        projected: `x W + b`, time-major `(steps, batch, 4 * units)`, or
            `(batch, 4 * units)` when `constant_input` is true.
        recurrent_kernel: `(units, 4 * units)`, gates in Keras's order.
        h0, c0: Initial hidden and cell states, `(batch, units)`.
        constant_input: Whether the same projected input feeds every step.
        steps: Number of time steps.
        xla: Compile the forward and the backward loop with XLA, which fuses
            each step's small operations, when called inside a `tf.function`
            (as Keras's `fit` does) with `steps` a Python int. Otherwise the
            loops run uncompiled.

    Returns:
        `(hidden, last_cell)`: hidden states `(steps, batch, units)` and the
        cell state after the last step.
    """
    # Eager calls would compile at every call, so only traced graphs use XLA.
    compiled = xla and isinstance(steps, int) and not tf.executing_eagerly()
    if compiled:
        compiled_forward, compiled_backward = _compiled_loops(steps, constant_input)

    @tf.custom_gradient
    def run(projected, recurrent_kernel, h0, c0):
        if compiled:
            hidden, last_cell, *saved = compiled_forward(projected, recurrent_kernel, h0, c0)
        else:
            hiddens, last_cell, *saved = _forward(projected, recurrent_kernel, h0, c0, steps,
                                                  constant_input)
            hidden = hiddens.stack()

        def gradient(d_hidden, d_last_cell):
            if d_last_cell is None:
                d_last_cell = tf.zeros_like(c0)
            if compiled:
                return compiled_backward(d_hidden, d_last_cell, recurrent_kernel, h0, hidden,
                                         *saved)
            return _backward(d_hidden, d_last_cell, recurrent_kernel, h0, hidden, *saved, steps,
                             constant_input)

        return (hidden, last_cell), gradient

    return run(projected, recurrent_kernel, h0, c0)


def _shard_sizes(batch, shards: int):
    base = batch // shards
    return tf.stack([base] * (shards - 1) + [batch - base * (shards - 1)])


@keras.saving.register_keras_serializable(package="keras_lstm_ae")
class FusedLSTM(keras.layers.LSTM):
    """`keras.layers.LSTM` with the fused loops of `lstm_sequence`.

    Same weights, configuration and outputs as `keras.layers.LSTM`, so
    weights move between the two with `set_weights`. Configurations the fused
    loops do not cover (masking, dropout, `go_backwards`, other activations,
    no bias) run the stock implementation.

    Args:
        units: Hidden size.
        constant_input: Promise that every time step of the input is the
            same, as after `RepeatVector`. The input projection is then
            computed once per sequence from step 0. Outputs are wrong if the
            promise is broken.
        shards: Number of parts the batch is cut into; the parts run their
            loops in parallel on TensorFlow's inter-op threads. 1 runs one
            loop.
        xla: Compile the loops with XLA when training (see `lstm_sequence`).
            Inference runs them uncompiled, which saves compiling for the
            shapes of validation and prediction batches.
        **kwargs: Further `keras.layers.LSTM` arguments.
    """

    def __init__(self, units, constant_input: bool = False, shards: int = 1, xla: bool = True,
                 **kwargs):
        super().__init__(units, **kwargs)
        self.constant_input = constant_input
        self.shards = shards
        self.xla = xla

    def get_config(self):
        return {**super().get_config(), "constant_input": self.constant_input,
                "shards": self.shards, "xla": self.xla}

    def _fused_loops_apply(self, mask, training) -> bool:
        cell = self.cell
        return (mask is None and not self.go_backwards and cell.use_bias
                and not (training and (cell.dropout or cell.recurrent_dropout))
                and cell.activation is keras.activations.tanh
                and cell.recurrent_activation is keras.activations.sigmoid)

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if not self._fused_loops_apply(mask, training):
            return super().inner_loop(sequences, initial_state, mask, training=training)
        h0, c0 = initial_state
        steps = sequences.shape[1] or tf.shape(sequences)[1]
        xla = self.xla and bool(training)
        kernel = tf.convert_to_tensor(self.cell.kernel)
        recurrent_kernel = tf.convert_to_tensor(self.cell.recurrent_kernel)
        bias = tf.convert_to_tensor(self.cell.bias)
        if self.constant_input:
            projected = tf.matmul(sequences[:, 0, :], kernel) + bias
            batch_axis = 0
        else:
            time_major = tf.transpose(sequences, [1, 0, 2])
            projected = tf.einsum("tbi,ij->tbj", time_major, kernel) + bias
            batch_axis = 1

        if self.shards == 1:
            hidden, last_cell = lstm_sequence(projected, recurrent_kernel, h0, c0,
                                              self.constant_input, steps, xla)
        else:
            sizes = _shard_sizes(tf.shape(h0)[0], self.shards)
            parts = [
                lstm_sequence(p, recurrent_kernel, h, c, self.constant_input, steps, xla)
                for p, h, c in zip(tf.split(projected, sizes, axis=batch_axis),
                                   tf.split(h0, sizes), tf.split(c0, sizes))
            ]
            hidden = tf.concat([part[0] for part in parts], axis=1)
            last_cell = tf.concat([part[1] for part in parts], axis=0)
        last_hidden = hidden[-1]
        return last_hidden, tf.transpose(hidden, [1, 0, 2]), [last_hidden, last_cell]
