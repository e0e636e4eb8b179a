"""The query-key-value lab: one query attends over a few keys, every number of every step kept.

The lab calls the attention core the models use (``Attention`` for dot, general, concat and
additive scores, ``scaled_dot_product`` for the Transformer's scaled dot product, ``mask_scores``
and ``soft_attention``), on a batch of one, so what a student edits here is what runs inside the
translators:

    e_i     = score(q, k_i)                 (before temperature and masking)
    alpha   = softmax(e / T), masked keys at exactly 0
    context = sum_i alpha_i v_i

Inputs are plain nested lists of numbers (as a page or a notebook has them); anything that cannot
be computed raises ``LabInputError`` with a sentence a student can act on.
"""
import math
from dataclasses import dataclass

import numpy as np
import torch

from model.core.attention import Attention, AttentionConfig, mask_scores, scaled_dot_product, soft_attention

SCORES = ("dot", "scaled dot", "general", "concat", "additive")
FORMULAS = {  # LaTeX of e_i for each score function, as the page shows it
    "dot": r"e_i = q \cdot k_i",
    "scaled dot": r"e_i = \frac{q \cdot k_i}{\sqrt{d_k}}",
    "general": r"e_i = q^\top W k_i",
    "concat": r"e_i = v^\top \tanh(W [q; k_i])",
    "additive": r"e_i = v^\top \tanh(W_s q + W_h k_i)",
}


class LabInputError(ValueError):
    """Input the lab cannot compute with; the message says what to change."""


@dataclass(frozen=True)
class Preset:
    about: str
    query: list[float]
    keys: list[list[float]]
    values: list[list[float]]
    score: str = "dot"


_ENCODER_STATES = [[0.1, 0.0, 0.8], [0.1, 0.9, 0.0], [0.0, 0.1, 0.8], [0.2, 0.1, 0.6], [0.9, 0.0, 0.1]]
PRESETS = {
    "Worked example (lecture notes)": Preset(
        "The notes' worked example: a query, four keys with their values; plain dot-product scores.",
        [0.990, 0.099, 0.099],
        [[0.050, 0.000, 0.998], [0.020, 0.020, 0.999], [0.976, 0.098, 0.195], [0.020, 0.999, 0.020]],
        [[1, 2, 5], [1, 1, 5], [3, 2, 4], [6, 1, 2]]),
    "Seq2seq: decoder state over encoder states": Preset(
        "The notes' seq2seq example: the decoder state is the query; the five encoder states are both "
        "the keys and the values, as in an RNN translator.",
        [0.2, 0.9, 0.0], _ENCODER_STATES, _ENCODER_STATES),
}


@dataclass(frozen=True)
class LabResult:
    scores: np.ndarray  # (N,) e_i from the score function, before temperature and masking
    weights: np.ndarray  # (N,) softmax(e / T); masked keys exactly 0, the rest sum to 1
    context: np.ndarray  # (Dv,) sum_i weights_i v_i


def param_shapes(score: str, query_dim: int, key_dim: int, attn_dim: int) -> dict[str, tuple[int, int]]:
    """The matrices a score function learns, as (rows, columns) in the formula's orientation.

    v is a row (1 x a). Biases are not part of the lab: they are set to 0, so the formula is exactly
    the one shown.
    """
    return {
        "general": {"W": (query_dim, key_dim)},
        "concat": {"W": (attn_dim, query_dim + key_dim), "v": (1, attn_dim)},
        "additive": {"W_s": (attn_dim, query_dim), "W_h": (attn_dim, key_dim), "v": (1, attn_dim)},
    }.get(score, {})


def init_params(score: str, query_dim: int, key_dim: int, attn_dim: int, seed: int = 0) -> dict[str, np.ndarray]:
    """The module's own initialisation under a fixed seed, rounded to 2 decimals so it reads as typed."""
    if score not in ("general", "concat", "additive"):
        return {}
    with torch.random.fork_rng(devices=[]):  # leaves the caller's random stream alone
        torch.manual_seed(seed)
        att = Attention(AttentionConfig(score, query_dim, key_dim, attn_dim))
    return {name: np.round(getattr(att, name).weight.detach().double().numpy(), 2) + 0.0  # no -0.0
            for name in param_shapes(score, query_dim, key_dim, attn_dim)}


def run(query, keys, values, score: str = "dot", params: dict | None = None, temperature: float = 1.0,
        masked=None) -> LabResult:
    """Scores, weights and context of one query over N keys.

    query (Dq,), keys (N, Dk), values (N, Dv); ``params`` the matrices of ``param_shapes`` for
    general/concat/additive; ``masked`` (N,) True for a key the query may not look at. The
    temperature divides every score function's scores before the softmax.
    """
    q = _vector("q (the query)", query)
    K = _matrix("K (the keys)", "key", keys)
    V = _matrix("V (the values)", "value", values)
    if len(V) != len(K):
        raise LabInputError(f"There are {len(K)} keys but {len(V)} values: each key needs exactly one value.")
    hidden = np.zeros(len(K), bool) if masked is None else np.asarray(masked, bool)
    if hidden.shape != (len(K),):
        raise LabInputError(f"The mask has {hidden.size} entries for {len(K)} keys.")
    if hidden.all():
        raise LabInputError("Every key is masked, so there is nothing to attend to: unmask at least one key.")
    if not (isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature > 0):
        raise LabInputError(f"The temperature must be a positive number, got {temperature}.")
    if score not in SCORES:
        raise LabInputError(f"Unknown score function {score!r}: choose one of {', '.join(SCORES)}.")
    if score in ("dot", "scaled dot") and len(q) != K.shape[1]:
        raise LabInputError(
            f"A dot product needs the query and the keys to have the same size: q has {len(q)} numbers, "
            f"each key has {K.shape[1]}. Make them the same size, or pick general, concat or additive, "
            f"whose matrices connect a query and keys of different sizes.")

    query_t, keys_t, values_t = (torch.from_numpy(a)[None] for a in (q, K, V))  # a batch of one
    keep = torch.from_numpy(~hidden)[None]
    with torch.no_grad():
        if score == "scaled dot":
            att = Attention(AttentionConfig("dot", len(q), K.shape[1])).double()
            scores = att.scores(query_t, keys_t) / math.sqrt(K.shape[1])
            context, weights = scaled_dot_product(query_t[:, None], keys_t, values_t, keep[:, None], temperature)
            context, weights = context[:, 0], weights[:, 0]
        else:
            att = _attention(score, params or {}, len(q), K.shape[1])
            scores = att.scores(query_t, keys_t)
            context, weights = soft_attention(mask_scores(scores, keep) / temperature, values_t)
    result = LabResult(scores[0].numpy(), weights[0].numpy(), context[0].numpy())
    if not all(np.isfinite(a).all() for a in (result.scores, result.weights, result.context)):
        raise LabInputError("The numbers are too large: a score or the context overflows. Use smaller numbers.")
    return result


def _attention(score: str, params: dict, query_dim: int, key_dim: int) -> Attention:
    """An ``Attention`` module holding exactly the given matrices (biases 0), in float64."""
    names = param_shapes(score, 1, 1, 1)
    missing = [n for n in names if n not in params]
    if missing:
        raise LabInputError(f"The {score} score needs the matrices {', '.join(names)}; {', '.join(missing)} is missing.")
    given = {n: _matrix(f"The matrix {n}", "row", params[n]) for n in names}
    attn_dim = given["v"].shape[1] if "v" in given else 1  # the hidden size a is v's length
    for name, shape in param_shapes(score, query_dim, key_dim, attn_dim).items():
        if given[name].shape != shape:
            rows, cols = given[name].shape
            raise LabInputError(f"For {score} with a query of size {query_dim}, keys of size {key_dim} and v of "
                                f"size {attn_dim}, {name} must be {shape[0]} × {shape[1]}; it is {rows} × {cols}.")
    att = Attention(AttentionConfig(score, query_dim, key_dim, attn_dim)).double()
    with torch.no_grad():
        for name, m in given.items():
            layer = getattr(att, name)  # the names of the formula are the module's attributes
            layer.weight.copy_(torch.from_numpy(m))
            if layer.bias is not None:
                layer.bias.zero_()
    return att


def _vector(what: str, numbers) -> np.ndarray:
    v = _numbers(what, numbers)
    if v.ndim != 1:
        raise LabInputError(f"{what} must be one row of numbers.")
    if v.size == 0:
        raise LabInputError(f"{what} is empty: type its numbers, separated by commas.")
    return v


def _matrix(what: str, row: str, rows) -> np.ndarray:
    rows = list(rows)
    if not rows:
        raise LabInputError(f"{what} is empty: add at least one {row}.")
    sizes = [len(r) for r in rows]
    if 0 in sizes:
        raise LabInputError(f"{what}: {row} {sizes.index(0) + 1} is empty.")
    if len(set(sizes)) > 1:
        odd = next(i for i, s in enumerate(sizes) if s != sizes[0])
        raise LabInputError(f"{what}: every {row} needs the same number of entries, but {row} 1 has {sizes[0]} "
                            f"and {row} {odd + 1} has {sizes[odd]}.")
    return _numbers(what, rows)


def _numbers(what: str, numbers) -> np.ndarray:
    try:
        a = np.asarray(numbers, dtype=np.float64)
    except (TypeError, ValueError):
        raise LabInputError(f"{what} holds something that is not a number.") from None
    if not np.isfinite(a).all():
        raise LabInputError(f"{what} holds a value that is not a finite number (inf or nan).")
    return a
