"""Greedy and beam-search decoding for ``model.translator.Translator``.

Both return, per sentence, the target ids (ending with <end> unless the
length cap cut the sentence) and the alignment matrix: one row per target id,
one column per real source position (its words, then <end>); every row is an
attention distribution, so it sums to 1 and padded positions never appear.

The length cap (``max_steps``) guarantees that decoding ends even with an
untrained model that never says <end>.
"""
from dataclasses import dataclass

import torch

from model.translator import Memory, Translator

START_ID, END_ID = 1, 2
MAX_BEAM = 10


@dataclass
class Decoded:
    ids: list[int]  # target ids, <end> included when the model produced it
    alignment: torch.Tensor  # (len(ids), source length incl. <end>)
    log_prob: float  # sum of the chosen words' log-probabilities


def default_max_steps(source_length: int) -> int:
    """Room for a translation twice as long as its source, plus a few words."""
    return 2 * source_length + 5


def _start(model: Translator, memory: Memory, n: int):
    state = memory.state
    return torch.full((n,), START_ID, dtype=torch.long, device=state.device), state, torch.zeros_like(state)


@torch.no_grad()
def greedy(model: Translator, src: torch.Tensor, lengths: torch.Tensor, max_steps: int | None = None) -> list[Decoded]:
    """The most likely next word at every step, for a padded batch (B, S) at once."""
    model.eval()
    memory = model.encode(src, lengths)
    prev, state, context = _start(model, memory, src.size(0))
    max_steps = max_steps or default_max_steps(int(lengths.max()))
    ids, weights, log_probs = [], [], []
    done = torch.zeros(src.size(0), dtype=torch.bool, device=src.device)
    for _ in range(max_steps):
        features, state, context, w = model.step(prev, state, context, memory)
        best, prev = model.log_probs(features).max(dim=-1)
        ids.append(prev)
        weights.append(w)
        log_probs.append(best.masked_fill(done, 0.0))  # nothing is added after a sentence's <end>
        done |= prev == END_ID
        if bool(done.all()):
            break
    ids, weights = torch.stack(ids, 1).cpu(), torch.stack(weights, 1).cpu()
    total = torch.stack(log_probs, 1).sum(1).cpu()
    out = []
    for i in range(src.size(0)):
        row = ids[i].tolist()
        n = row.index(END_ID) + 1 if END_ID in row else len(row)
        out.append(Decoded(row[:n], weights[i, :n, :int(lengths[i])], float(total[i])))
    return out


@torch.no_grad()
def beam_search(model: Translator, src: torch.Tensor, lengths: torch.Tensor, beam: int = 5,
                alpha: float = 0.7, max_steps: int | None = None) -> Decoded:
    """Beam search for one sentence (src (1, S)).

    Hypotheses are ranked by log p / length**alpha (length normalisation:
    without it, short translations win because every word costs probability).
    A hypothesis that emits <end> is finished; the search stops when ``beam``
    hypotheses are finished or at the length cap, where the live ones are
    finished as they are. With beam=1 this is exactly greedy decoding.
    """
    if not 1 <= beam <= MAX_BEAM:
        raise ValueError(f"beam must be between 1 and {MAX_BEAM}, got {beam}")
    if src.size(0) != 1:
        raise ValueError(f"beam_search decodes one sentence at a time, got a batch of {src.size(0)}")
    model.eval()
    memory = model.encode(src, lengths)
    source_length = int(lengths[0])
    max_steps = max_steps or default_max_steps(source_length)
    prev, state, context = _start(model, memory, 1)
    scores = torch.zeros(1, device=src.device)
    tokens, aligns = [[]], [[]]  # per live hypothesis: ids so far, attention rows so far
    finished = []
    for _ in range(max_steps):
        mem = memory.repeat(torch.zeros(len(tokens), dtype=torch.long, device=src.device))
        features, state, context, w = model.step(prev, state, context, mem)
        log_probs = model.log_probs(features)
        vocab = log_probs.size(-1)
        total = (scores[:, None] + log_probs).view(-1)
        top = total.topk(min(2 * beam, total.numel()))
        keep, w = [], w[:, :source_length].cpu()
        for score, flat in zip(top.values.tolist(), top.indices.tolist()):
            h, tok = divmod(flat, vocab)
            if tok == END_ID:  # counts only while it ranks above the beam-th live hypothesis
                finished.append(Decoded(tokens[h] + [tok], torch.stack(aligns[h] + [w[h]]), score))
            else:
                keep.append((h, tok, score))
                if len(keep) == beam:
                    break
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
    return max(finished, key=lambda d: d.log_prob / len(d.ids) ** alpha)
