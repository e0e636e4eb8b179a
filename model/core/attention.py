"""Attention core shared by every model in attention-lens.

Reading order: score functions (how well each key matches a query), masking,
then the two ways of turning scores into a context vector:

* soft attention: a deterministic, differentiable weighted sum of all values;
* hard attention: one location sampled (or the argmax) from the same
  distribution, with the log-probability REINFORCE needs to train it.

Shapes: query (B, Dq), keys (B, N, Dk), values (B, N, Dv), mask (B, N) with
True where a position is real and False where it is padding.
"""
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

SCORES = ("dot", "general", "concat", "additive")


@dataclass
class AttentionConfig:
    score: str = "additive"  # one of SCORES
    query_dim: int = 512  # decoder state size
    key_dim: int = 512  # encoder annotation size
    attn_dim: int = 512  # hidden size of the concat / additive MLP


class Attention(nn.Module):
    """Scores keys against a query with one of four classic score functions.

    dot      (Luong):    s^T h
    general  (Luong):    s^T W h
    concat   (Luong):    v^T tanh(W [s; h])
    additive (Bahdanau): v^T tanh(W_s s + W_h h)

    concat and additive span the same function family; they are kept apart
    because that is how the papers compute them: concat runs one layer on the
    concatenated pair, additive projects the keys once per sequence
    (``precompute``) so each decoder step only adds the projected query.
    """

    def __init__(self, config: AttentionConfig):
        super().__init__()
        if config.score not in SCORES:
            raise ValueError(f"unknown attention score {config.score!r}; choose one of {', '.join(SCORES)}")
        if config.score == "dot":
            _check_dot_sizes(config.query_dim, config.key_dim)
        self.config = config
        q, k, a = config.query_dim, config.key_dim, config.attn_dim
        if config.score == "general":
            self.W = nn.Linear(k, q, bias=False)
        elif config.score == "concat":
            self.W = nn.Linear(q + k, a)
            self.v = nn.Linear(a, 1, bias=False)
        elif config.score == "additive":
            self.W_s = nn.Linear(q, a)
            self.W_h = nn.Linear(k, a, bias=False)
            self.v = nn.Linear(a, 1, bias=False)

    def precompute(self, keys: torch.Tensor) -> torch.Tensor:
        """Key-side work that does not depend on the query; do it once per sequence."""
        if self.config.score == "general":
            return self.W(keys)  # (B, N, Dq)
        if self.config.score == "additive":
            return self.W_h(keys)  # (B, N, A)
        return keys

    def scores(self, query: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor | None = None,
               projected: torch.Tensor | None = None) -> torch.Tensor:
        """Unnormalised scores (B, N); padded positions get -inf.

        ``projected`` is ``precompute(keys)`` when the caller cached it.
        """
        score = self.config.score
        if projected is None:
            projected = self.precompute(keys)
        if score in ("dot", "general"):
            _check_dot_sizes(query.size(-1), projected.size(-1))
            e = torch.bmm(projected, query.unsqueeze(-1)).squeeze(-1)
        elif score == "concat":
            pair = torch.cat([query.unsqueeze(1).expand(-1, keys.size(1), -1), keys], dim=-1)
            e = self.v(torch.tanh(self.W(pair))).squeeze(-1)
        else:
            e = self.v(torch.tanh(projected + self.W_s(query).unsqueeze(1))).squeeze(-1)
        return mask_scores(e, mask)

    def forward(self, query, keys, values=None, mask=None, projected=None):
        """Soft attention: returns (context (B, Dv), weights (B, N))."""
        return soft_attention(self.scores(query, keys, mask, projected), keys if values is None else values)


def _check_dot_sizes(query_dim: int, key_dim: int) -> None:
    if query_dim != key_dim:
        raise ValueError(
            f"dot attention needs query and key of the same size, got query size {query_dim} "
            f"and key size {key_dim}; use 'general', 'concat' or 'additive' instead")


def mask_scores(scores: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """-inf at padded positions, so softmax gives them a weight of exactly 0."""
    if mask is None:
        return scores
    if not bool(mask.any(dim=-1).all()):
        raise ValueError("every row of the attention mask needs at least one real position")
    return scores.masked_fill(~mask, float("-inf"))


def soft_attention(scores: torch.Tensor, values: torch.Tensor):
    """Deterministic attention: context = sum_i alpha_i v_i with alpha = softmax(scores)."""
    weights = torch.softmax(scores, dim=-1)
    context = torch.bmm(weights.unsqueeze(1), values).squeeze(1)
    return context, weights


@dataclass
class HardAttention:
    context: torch.Tensor  # (B, Dv): the value at the chosen location
    weights: torch.Tensor  # (B, N): one-hot on the chosen location
    index: torch.Tensor  # (B,): the chosen location
    log_prob: torch.Tensor  # (B,): log p(index) under the distribution sampled from
    probs: torch.Tensor  # (B, N): that distribution (for entropy bonuses and display)


def hard_attention(scores: torch.Tensor, values: torch.Tensor, *, sample: bool = True,
                   temperature: float = 1.0, generator: torch.Generator | None = None) -> HardAttention:
    """Stochastic attention (Xu et al. 2015, section 4.1): attend to one location.

    ``sample=True`` draws the location from softmax(scores / temperature);
    ``sample=False`` takes the argmax. The context is not differentiable with
    respect to the scores; ``log_prob`` is, and carries the REINFORCE gradient.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    log_probs = torch.log_softmax(scores / temperature, dim=-1)
    probs = log_probs.exp()
    if sample:
        index = torch.multinomial(probs.detach(), 1, generator=generator).squeeze(1)
    else:
        index = probs.argmax(dim=-1)
    one_hot = F.one_hot(index, scores.size(-1)).to(values.dtype)
    context = values[torch.arange(values.size(0), device=values.device), index]
    log_prob = log_probs.gather(1, index.unsqueeze(1)).squeeze(1)
    return HardAttention(context, one_hot, index, log_prob, probs)


def entropy(probs: torch.Tensor) -> torch.Tensor:
    """Entropy (nats) of each attention distribution; masked zeros contribute 0."""
    return -(probs * probs.clamp_min(1e-12).log()).sum(-1)


def scaled_dot_product(query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
                       mask: torch.Tensor | None = None, temperature: float = 1.0):
    """Scaled dot-product attention (Vaswani et al. 2017, eq. 1), weights returned.

    softmax(Q K^T / (sqrt(d_k) * temperature)) V for any leading dims: query (..., T, d_k),
    keys (..., S, d_k), values (..., S, d_v); ``mask`` broadcasts to (..., T, S), True where a
    query may look. Returns (context (..., T, d_v), weights (..., T, S)); each row of the weights
    sums to 1 and masked positions get exactly 0. The Transformer and the query-key-value lab both
    call this one function; ``torch.nn.functional.scaled_dot_product_attention`` is faster but
    does not return the weights, which are what this project shows.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    scores = query @ keys.transpose(-2, -1) / (query.size(-1) ** 0.5 * temperature)
    if mask is not None:
        mask = mask.expand_as(scores)
        if not bool(mask.any(dim=-1).all()):
            raise ValueError("every row of the attention mask needs at least one real position")
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ values, weights
