"""Greedy and beam-search decoding for ``model.translate.rnn.Translator``.

Both return, per sentence, the target ids (ending with <end> unless the
length cap cut the sentence) and the alignment matrix: one row per target id,
one column per real source position (its words, then <end>); every row is an
attention distribution, so it sums to 1 and padded positions never appear.

The length cap (``max_steps``) guarantees that decoding ends even with an
untrained model that never says <end>. ``start`` and ``end`` are the target vocabulary's ids;
finished beams are ranked by model.core.decoding's length rule.
"""
from dataclasses import dataclass

import torch

from model.core.decoding import TRANSLATE_ALPHA, beam_step, check_beam, normalised
from model.translate.rnn import PAD_ID, Memory, Translator


@dataclass
class Decoded:
    ids: list[int]  # target ids, <end> included when the model produced it
    alignment: torch.Tensor  # (len(ids), source length incl. <end>)
    log_prob: float  # sum of the chosen words' log-probabilities


def default_max_steps(source_length):
    """Room for a translation twice as long as its source, plus a few words (an int, or per row of a tensor)."""
    return 2 * source_length + 5


def _start(memory: Memory, n: int, start: int):
    state = memory.state
    return torch.full((n,), start, dtype=torch.long, device=state.device), state, torch.zeros_like(state)


def _eval(model: Translator) -> Translator:
    """Decoding never drops out; a model left in training mode is switched once, not on every call."""
    return model.eval() if model.training else model


@torch.no_grad()
def greedy(model: Translator, src: torch.Tensor, lengths: torch.Tensor, start: int, end: int,
           max_steps: int | None = None) -> list[Decoded]:
    """The most likely next word at every step, for a padded batch (B, S) at once.

    Each sentence stops at its <end> or at ``max_steps`` (default: its own default_max_steps),
    so a sentence gets the same translation in a batch as alone.
    """
    _eval(model)
    memory = model.encode(src, lengths)
    prev, state, context = _start(memory, src.size(0), start)
    caps = default_max_steps(lengths) if max_steps is None else torch.full_like(lengths, max_steps)
    ids, weights, log_probs = [], [], []
    ended = torch.zeros(src.size(0), dtype=torch.bool, device=src.device)
    for _ in range(int(caps.max())):  # a row past its own cap goes on with the others and is cut below
        features, state, context, w = model.step(prev, state, context, memory)
        best, prev = model.best_next(features)  # argmax only: not every word's probability
        ids.append(prev)
        weights.append(w)
        log_probs.append(best)
        ended |= prev == end
        if bool(ended.all()):
            break
    ids, weights, log_probs = (torch.stack(x, 1).cpu() for x in (ids, weights, log_probs))
    rows = [ids[i, :int(caps[i])].tolist() for i in range(src.size(0))]
    kept = torch.tensor([row.index(end) + 1 if end in row else len(row) for row in rows])
    # nothing is added after a sentence's <end> or its cap
    total = log_probs.masked_fill(torch.arange(log_probs.size(1))[None, :] >= kept[:, None], 0.0).sum(1)
    return [Decoded(row[:n], weights[i, :n, :int(lengths[i])], float(total[i]))
            for i, (row, n) in enumerate(zip(rows, kept.tolist()))]


def greedy_many(model: Translator, sources: list[list[int]], start: int, end: int,
                batch_size: int = 64) -> list[Decoded]:
    """Greedy translations of many encoded sentences (each ending with the source <end>), in their order.

    Sentences are decoded ``batch_size`` at a time, sorted by length so a batch holds similar
    lengths (little padding, few steps wasted on finished rows); each result is what ``greedy`` gives
    the sentence alone, up to float rounding in the batched matrix products.
    """
    if any(not s for s in sources):
        raise ValueError("every source needs at least one token (its <end>)")
    device = next(model.parameters()).device
    order = sorted(range(len(sources)), key=lambda i: -len(sources[i]))
    out: list[Decoded | None] = [None] * len(sources)
    for k in range(0, len(order), batch_size):
        chunk = order[k:k + batch_size]
        rows = [torch.tensor(sources[i]) for i in chunk]
        src = torch.nn.utils.rnn.pad_sequence(rows, batch_first=True, padding_value=PAD_ID).to(device)
        for i, d in zip(chunk, greedy(model, src, torch.tensor([len(r) for r in rows]), start, end)):
            out[i] = d
    return out


@torch.no_grad()
def beam_search(model: Translator, src: torch.Tensor, lengths: torch.Tensor, start: int, end: int, beam: int = 5,
                length_alpha: float = TRANSLATE_ALPHA, max_steps: int | None = None) -> Decoded:
    """Beam search for one sentence (src (1, S)).

    Finished hypotheses are ranked by log p / length**alpha (model.core.decoding: without it,
    short translations win because every word costs probability). A hypothesis that emits <end>
    is finished; the search stops when ``beam`` hypotheses are finished or at the length cap,
    where the live ones are finished as they are. With beam=1 this is exactly greedy decoding.
    """
    check_beam(beam)
    if src.size(0) != 1:
        raise ValueError(f"beam_search decodes one sentence at a time, got a batch of {src.size(0)}")
    _eval(model)
    memory = model.encode(src, lengths)
    source_length = int(lengths[0])
    max_steps = max_steps or default_max_steps(source_length)
    prev, state, context = _start(memory, 1, start)
    scores = torch.zeros(1, device=src.device)
    tokens, aligns = [[]], [[]]  # per live hypothesis: ids so far, attention rows so far
    finished = []
    for _ in range(max_steps):
        mem = memory.repeat(torch.zeros(len(tokens), dtype=torch.long, device=src.device))
        features, state, context, w = model.step(prev, state, context, mem)
        ended, keep = beam_step(scores, model.log_probs(features), beam, end)
        w = w[:, :source_length].cpu()
        finished += [Decoded(tokens[h] + [end], torch.stack(aligns[h] + [w[h]]), score) for h, score in ended]
        if len(finished) >= beam or not keep:
            break
        index = torch.tensor([h for h, _, _ in keep], device=src.device)
        tokens = [tokens[h] + [tok] for h, tok, _ in keep]
        aligns = [aligns[h] + [w[h]] for h, _, _ in keep]
        prev = torch.tensor([tok for _, tok, _ in keep], device=src.device)
        scores = torch.tensor([s for _, _, s in keep], device=src.device)
        state, context = state[index], context[index]
    else:  # length cap: the live hypotheses end here, without <end>
        finished += [Decoded(t, torch.stack(a), float(s)) for t, a, s in zip(tokens, aligns, scores.tolist())]
    return max(finished, key=lambda d: normalised(d.log_prob, len(d.ids), length_alpha))
