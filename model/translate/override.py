"""An RNN translator decoder step whose attention weights the caller decides.

``DecoderStep.forward`` reads the previous word and context, queries the encoder states and mixes
them with alpha. Explanations (model.translate.explain) and interventions (model.translate.intervene)
need the same step with other weights; these functions reuse the model's own layers, split where
the weights are chosen (tests/translate/test_explain.py checks they give ``DecoderStep``'s result):

    query(prev, state, context)    s_t = GRU([E y_{t-1}; c_{t-1}], s_{t-1});  alpha_t = softmax(score(s_t, h))
    readout(s_t, weights, keys)    c_t = sum_j w_tj h_j;  f_t = tanh(W [s_t; c_t])  (then model.log_probs)
"""
import torch

from model.translate.rnn import Memory, Translator


def query(model: Translator, prev: torch.Tensor, state: torch.Tensor, context: torch.Tensor, memory: Memory):
    """The decoder's new state (B, H) and its attention distribution alpha (B, S)."""
    s = model.step
    state = s.rnn(torch.cat([s.drop(s.embed(prev)), context], dim=-1), state)
    scores = s.attention.scores(state, memory.keys, mask=memory.mask, projected=memory.projected)
    return state, torch.softmax(scores, -1)


def readout(model: Translator, state: torch.Tensor, weights: torch.Tensor, keys: torch.Tensor):
    """Features (B, H) and context (B, H) of a step whose keys (B, S, H) are read with ``weights`` (B, S)."""
    context = torch.bmm(weights[:, None], keys)[:, 0]
    return torch.tanh(model.step.combine(torch.cat([state, context], dim=-1))), context


def teacher_forced(model: Translator, memory: Memory, ids: list[int], start: int):
    """Run the target ``ids`` through the decoder (one sentence, memory of batch 1).

    Returns per step t: the query state s_t (T, H), alpha_t (T, S), the features (T, H), and the
    input of step t: previous word (T,), previous state (T, H), previous context (T, H).
    """
    prev = torch.tensor([start, *ids[:-1]], device=memory.keys.device)
    state, context = memory.state, torch.zeros_like(memory.state)
    out = {k: [] for k in ("query", "alpha", "features", "state_in", "context_in")}
    for t in range(len(ids)):
        out["state_in"].append(state)
        out["context_in"].append(context)
        state, alpha = query(model, prev[t:t + 1], state, context, memory)
        features, context = readout(model, state, alpha, memory.keys)
        out["query"].append(state)
        out["alpha"].append(alpha)
        out["features"].append(features)
    return {k: torch.cat(v) for k, v in out.items()} | {"prev": prev}
