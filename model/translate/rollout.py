"""Attention rollout (Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers").

One layer's attention says which of the layer's *inputs* each position mixes; after a few layers
an input has already been mixed with its neighbours, so a single layer does not say which *words*
a position draws on. Rollout follows the mixing through every layer. For layer l, with the heads
averaged and the residual connection counted as attention to oneself:

    A_l = normalise_rows(0.5 * mean_h W_l,h + 0.5 * I)
    rollout = A_L · A_(L-1) · … · A_1            (rows: positions after layer L, columns: input words)

Every A_l is row-stochastic, so the product is too: each row still sums to 1. The 0.5 / 0.5 split
is the paper's (the residual adds the input to the sublayer's output at equal weight).

``through_encoder`` carries a cross-attention matrix, which looks at the encoder's *output*,
back to the input words the same way: cross (T x S) · encoder rollout (S x S).
Pure numpy on the nested lists ``model.translate.pipeline.Translation.attention`` holds.
"""
import numpy as np

RESIDUAL = 0.5  # weight of the identity (the residual path) in each layer's matrix


def _layers(attention) -> np.ndarray:
    """layers x heads x N x N as float, or a ValueError saying why it is not."""
    a = np.asarray(attention, dtype=np.float64)
    if a.ndim != 4 or a.shape[-1] != a.shape[-2] or a.shape[0] == 0:
        raise ValueError(f"self-attention must be layers x heads x N x N, got shape {a.shape}")
    return a


def layer_matrices(attention, residual: float = RESIDUAL) -> np.ndarray:
    """Each layer's A_l (layers x N x N): heads averaged, the identity added, rows renormalised."""
    a = _layers(attention).mean(axis=1)
    a = (1 - residual) * a + residual * np.eye(a.shape[-1])
    return a / a.sum(axis=-1, keepdims=True)


def rollout(attention, residual: float = RESIDUAL) -> np.ndarray:
    """N x N: row i is how much position i after the last layer draws on each input word."""
    out = np.eye(_layers(attention).shape[-1])
    for a in layer_matrices(attention, residual):
        out = a @ out  # the later layer mixes what the earlier ones already mixed
    return out


def through_encoder(cross, encoder, residual: float = RESIDUAL) -> np.ndarray:
    """T x S: cross-attention over the encoder's output, taken back to the input words.

    ``cross`` is one T x S matrix (e.g. a layer's heads averaged); ``encoder`` the encoder's
    self-attention (layers x heads x S x S). Rows sum to 1 when those of ``cross`` do.
    """
    c = np.asarray(cross, dtype=np.float64)
    r = rollout(encoder, residual)
    if c.ndim != 2 or c.shape[1] != r.shape[0]:
        raise ValueError(f"cross-attention of shape {c.shape} does not match {r.shape[0]} source positions")
    return c @ r
