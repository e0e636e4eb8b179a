"""Force a translation's attention onto one source word at a step and decode the rest again.

The target words before the first forced step are the original's (teacher-forced); from there
model.translate.decode's own greedy or beam search continues, run on ``_Forced``: the translator
whose memory starts at the prefix's state, with its steps counted and the forced steps reading the
encoder state of the chosen source position alone (weights one-hot on it).
"""
from dataclasses import dataclass

import torch

from model.core.decoding import TRANSLATE_ALPHA
from model.core.vocab import END
from model.translate.decode import Decoded, beam_search, default_max_steps, greedy
from model.translate.override import query, readout
from model.translate.pipeline import Translation
from model.translate.rnn import Memory, Translator
from model.translate.text import detokenize


@dataclass(frozen=True)
class Force:
    step: int  # counts the target tokens from 0
    position: int  # the source position (its words, then <end>) the step reads


class _Forced:
    """A Translator for decode.greedy / decode.beam_search that starts after a teacher-forced prefix."""
    training = False

    def __init__(self, model: Translator, memory: Memory, first_input: int, context, first: int, forces: dict):
        self.model, self.memory, self.first_input, self.context = model, memory, first_input, context
        self.t, self.forces, self.started = first, forces, False

    def encode(self, src, lengths):
        return self.memory

    def step(self, prev, state, context, memory):
        if not self.started:
            prev, context, self.started = torch.full_like(prev, self.first_input), self.context.expand_as(context), True
        state, alpha = query(self.model, prev, state, context, memory)
        if self.t in self.forces:
            alpha = torch.nn.functional.one_hot(torch.full_like(prev, self.forces[self.t]), alpha.size(-1)).to(alpha)
        features, context = readout(self.model, state, alpha, memory.keys)
        self.t += 1
        return features, state, context, alpha

    def best_next(self, features):
        return self.model.best_next(features)

    def log_probs(self, features):
        return self.model.log_probs(features)


@torch.no_grad()
def force(model: Translator, src: torch.Tensor, ids: list[int], forces: list[Force], start: int, end: int, *,
          beam: int = 1, length_alpha: float = TRANSLATE_ALPHA) -> Decoded:
    """The translation of ``src`` (1, S) decoded again with ``forces``; ``ids`` is the original translation."""
    if not isinstance(model, Translator):
        raise ValueError(f"moving the attention is implemented for the GRU translators, not {type(model).__name__}")
    s = src.size(1)
    cap = default_max_steps(s)
    by_step = {f.step: f.position for f in forces}
    if not forces or len(by_step) < len(forces):
        raise ValueError("give each forced step once")
    for f in forces:
        if not 0 <= f.position < s:
            raise ValueError(f"source position must be between 0 and {s - 1}, got {f.position}")
        if not 0 <= f.step < cap:
            raise ValueError(f"step must be between 0 and {cap - 1}, got {f.step}")
    first = min(by_step)
    if first >= len(ids) + (not ids or ids[-1] != end):
        raise ValueError(f"step {first} is past the translation's end ({len(ids)} tokens)")
    memory = model.encode(src, torch.tensor([s]))
    prev, state, context = start, memory.state, torch.zeros_like(memory.state)
    rows, log_prob = [], 0.0
    for word in ids[:first]:
        state, alpha = query(model, torch.tensor([prev], device=src.device), state, context, memory)
        features, context = readout(model, state, alpha, memory.keys)
        log_prob += float(model.log_probs(features)[0, word])
        rows.append(alpha[0].cpu())
        prev = word
    forced = _Forced(model, Memory(memory.keys, memory.projected, memory.mask, state), prev, context, first, by_step)
    lengths = torch.tensor([s])
    if beam == 1:
        rest = greedy(forced, src, lengths, start, end, max_steps=cap - first)[0]
    else:
        rest = beam_search(forced, src, lengths, start, end, beam, length_alpha, max_steps=cap - first)
    head = torch.stack(rows) if rows else torch.zeros(0, s)
    return Decoded(ids[:first] + rest.ids, torch.cat([head, rest.alignment.cpu()]), log_prob + rest.log_prob)


def retranslate(bundle, translation: Translation, forces: list[Force], beam: int = 1,
                length_alpha: float = TRANSLATE_ALPHA) -> Translation:
    """``translation`` (from model.translate.pipeline.translate with ``bundle``) decoded again with ``forces``."""
    src_vocab, tgt_vocab = bundle.vocab["src"], bundle.vocab["tgt"]
    src = torch.tensor([src_vocab.encode(translation.source_tokens[:-1]) + [src_vocab.end]], device=bundle.device)
    out = force(bundle.model, src, tgt_vocab.encode(translation.target_tokens), forces, tgt_vocab.start,
                tgt_vocab.end, beam=beam, length_alpha=length_alpha)
    target = [tgt_vocab.itos[i] for i in out.ids]
    words = target[:-1] if target and target[-1] == END else target
    return Translation(detokenize(words), translation.source_tokens, target,
                       [[round(float(x), 5) for x in row] for row in out.alignment],
                       translation.unknown_words, translation.truncated)
