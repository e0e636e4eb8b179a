"""Greedy and beam-search decoding for ``model.translate.transformer.TransformerTranslator``.

Every attention weight of the chosen translation comes back, for a source of S positions (its
words, then <end>) and T target ids (ending with <end> unless the length cap cut the sentence):

    encoder  (layers, heads, S, S)  source position -> source position
    decoder  (layers, heads, T, T)  causal: row t looks at the decoder inputs 0..t, which are
                                    <start> and the first t target ids; above the diagonal is 0
    cross    (layers, heads, T, S)  row t is where the decoder looked while writing target id t

Every row sums to 1 and padded positions never appear. Decoding is incremental: each step
runs the decoder on the newest word only, with the keys and values of the earlier ones cached
(the same numbers as running it on the whole prefix, without the quadratic repeat).
The length cap and the beam rules are those of the RNN decoders (model.translate.decode,
model.core.decoding).
"""
from dataclasses import dataclass

import torch

from model.core.decoding import TRANSLATE_ALPHA, beam_step, check_beam, normalised
from model.translate.transformer import TransformerTranslator


@dataclass
class Decoded:
    ids: list[int]  # target ids, <end> included when the model produced it
    encoder: torch.Tensor  # (layers, heads, S, S)
    decoder: torch.Tensor  # (layers, heads, T, T)
    cross: torch.Tensor  # (layers, heads, T, S)
    log_prob: float  # sum of the chosen words' log-probabilities

    @property
    def alignment(self) -> torch.Tensor:
        """(T, S): the last decoder layer's cross-attention averaged over its heads, the RNNs' counterpart."""
        return self.cross[-1].mean(0)


def default_max_steps(source_length):
    """Room for a translation twice as long as its source, plus a few words (an int, or per row of a tensor)."""
    return 2 * source_length + 5


def _square(rows: list[torch.Tensor]) -> torch.Tensor:
    """Causal self-attention rows (layers, heads, t + 1) for t = 0..T-1 -> (layers, heads, T, T), 0 above the diagonal."""
    T = len(rows)
    out = rows[-1].new_zeros(*rows[-1].shape[:2], T, T)
    for t, row in enumerate(rows):
        out[:, :, t, :t + 1] = row
    return out


@torch.no_grad()
def greedy(model: TransformerTranslator, src: torch.Tensor, lengths: torch.Tensor, start: int, end: int,
           max_steps: int | None = None) -> list[Decoded]:
    """The most likely next word at every step, for a padded batch (B, S) at once.

    Each sentence stops at its <end> or at ``max_steps`` (default: its own default_max_steps), so a
    sentence gets the same translation in a batch as alone (padding is masked everywhere).
    """
    if model.training:
        model.eval()
    memory = model.encode(src, lengths, need_weights=True)
    B = src.size(0)
    prev = torch.full((B,), start, dtype=torch.long, device=src.device)
    caps = default_max_steps(lengths.cpu()) if max_steps is None else torch.full((B,), max_steps)
    caps_here = caps.to(src.device)
    cache, ids, selfs, crosses, log_probs = None, [], [], [], []
    done = torch.zeros(B, dtype=torch.bool, device=src.device)
    for t in range(int(caps.max())):
        features, cache, w_self, w_cross = model.step(prev, cache, memory)
        best, prev = model.log_probs(features).max(dim=-1)
        ids.append(prev)
        selfs.append(w_self.cpu())
        crosses.append(w_cross.cpu())
        log_probs.append(best.masked_fill(done, 0.0))  # nothing is added after a sentence's <end>
        done |= (prev == end) | (caps_here <= t + 1)
        if bool(done.all()):
            break
    ids = torch.stack(ids, 1).cpu()
    cross = torch.stack(crosses, 3)  # (B, layers, heads, T, S)
    total = torch.stack(log_probs, 1).sum(1).cpu()
    encoder = memory.encoder_attention.cpu()
    out = []
    for i in range(B):
        row, n_src = ids[i, :int(caps[i])].tolist(), int(lengths[i])
        n = row.index(end) + 1 if end in row else len(row)
        out.append(Decoded(row[:n], encoder[i, :, :, :n_src, :n_src], _square([w[i] for w in selfs[:n]]),
                           cross[i, :, :, :n, :n_src], float(total[i])))
    return out


@torch.no_grad()
def beam_search(model: TransformerTranslator, src: torch.Tensor, lengths: torch.Tensor, start: int, end: int,
                beam: int = 5, length_alpha: float = TRANSLATE_ALPHA, max_steps: int | None = None) -> Decoded:
    """Beam search for one sentence (src (1, S)); the weights returned are the chosen hypothesis's.

    Finished hypotheses are ranked by log p / length**alpha (model.core.decoding). A hypothesis
    that emits <end> is finished; the search stops when ``beam`` hypotheses are finished or at the
    length cap, where the live ones are finished as they are. With beam=1 this is greedy decoding.
    """
    check_beam(beam)
    if src.size(0) != 1:
        raise ValueError(f"beam_search decodes one sentence at a time, got a batch of {src.size(0)}")
    if model.training:
        model.eval()
    memory = model.encode(src, lengths, need_weights=True)
    n_src = int(lengths[0])
    encoder = memory.encoder_attention[0, :, :, :n_src, :n_src].cpu()
    max_steps = max_steps or default_max_steps(n_src)
    prev = torch.full((1,), start, dtype=torch.long, device=src.device)
    scores = torch.zeros(1, device=src.device)
    cache = None
    hyps = [([], [], [])]  # per live hypothesis: ids, self-attention rows, cross-attention rows

    def done(h, tok, score):
        ids, s, c = h
        return Decoded(ids + [tok], encoder, _square(s), torch.stack(c, 2)[:, :, :, :n_src], score)

    finished = []
    for _ in range(max_steps):
        mem = memory.repeat(torch.zeros(len(hyps), dtype=torch.long, device=src.device))
        features, cache, w_self, w_cross = model.step(prev, cache, mem)
        ended, keep = beam_step(scores, model.log_probs(features), beam, end)
        w_self, w_cross = w_self.cpu(), w_cross.cpu()
        grown = [(ids, s + [w_self[h]], c + [w_cross[h]]) for h, (ids, s, c) in enumerate(hyps)]
        finished += [done(grown[h], end, score) for h, score in ended]
        if len(finished) >= beam or not keep:
            break
        index = torch.tensor([h for h, _, _ in keep], device=src.device)
        hyps = [(grown[h][0] + [tok], grown[h][1], grown[h][2]) for h, tok, _ in keep]
        cache = [(k[index], v[index]) for k, v in cache]
        prev = torch.tensor([tok for _, tok, _ in keep], device=src.device)
        scores = torch.tensor([s for _, _, s in keep], device=src.device)
    else:  # length cap: the live hypotheses end here, without <end>
        finished += [Decoded(ids, encoder, _square(s), torch.stack(c, 2)[:, :, :, :n_src], float(score))
                     for (ids, s, c), score in zip(hyps, scores.tolist())]
    return max(finished, key=lambda d: normalised(d.log_prob, len(d.ids), length_alpha))
