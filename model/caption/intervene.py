"""Move a caption's attention and decode again: what would the model say had it looked elsewhere?

A ``Force`` sets the weights of one step. The words before the first forced step are the
original caption's (teacher-forced); from that step on the caption is decoded again, greedily or
with beam search, by model.caption.decode's own functions, run on ``_Forced``: the captioner with
its steps counted and the forced ones' weights replaced. How a step's weights are replaced:

hard (location 'argmax')    one-hot on ``cell`` (Xu et al.'s s_t set by hand); a region: its most likely cell
soft (location 'expected')  w = mass * onehot(cell) + (1 - mass) * alpha: most of the weight on the cell;
                            a region: alpha kept inside it (or suppressed there) and renormalised
"""
import re
import time
from dataclasses import dataclass

import torch

from model.caption.decode import Decoded, beam_search, default_location, greedy
from model.caption.decoder import Captioner, StepOut
from model.caption.override import read, weights_for
from model.caption.pipeline import Caption, CaptionOptions
from model.core.decoding import CAPTION_ALPHA, CAPTION_NO_REPEAT, banned_next


@dataclass(frozen=True)
class Force:
    step: int  # counts the caption's tokens from 0
    cell: int | None = None  # row * grid + col
    region: tuple[int, ...] = ()  # cells to keep (keep=True) or to suppress, when no cell is given
    keep: bool = True
    mass: float = 0.9  # soft: the share of the weight put on the cell

    def check(self, n: int, max_len: int) -> None:
        if not 0 <= self.step < max_len:
            raise ValueError(f"step must be between 0 and {max_len - 1}, got {self.step}")
        if (self.cell is None) == (not self.region):
            raise ValueError("give a cell or a region, not both")
        cells = [self.cell] if self.cell is not None else list(self.region)
        if any(not 0 <= c < n for c in cells):
            raise ValueError(f"cells must be between 0 and {n - 1}, got {cells}")
        if not self.keep and len(set(self.region)) >= n:
            raise ValueError("suppressing every cell leaves nothing to look at")
        if not 0 < self.mass <= 1:
            raise ValueError(f"mass must be in (0, 1], got {self.mass}")


def forced_weights(alpha: torch.Tensor, force: Force, location: str) -> torch.Tensor:
    """The weights (B, N) a forced step reads the annotations with, from its alpha (B, N)."""
    n = alpha.size(-1)
    if force.cell is not None:
        one = torch.nn.functional.one_hot(torch.tensor(force.cell, device=alpha.device), n).to(alpha.dtype)
        return one.expand_as(alpha).clone() if location == "argmax" else force.mass * one + (1 - force.mass) * alpha
    inside = torch.zeros(n, dtype=torch.bool, device=alpha.device)
    inside[list(force.region)] = True
    w = alpha * (inside if force.keep else ~inside)
    w = w / w.sum(-1, keepdim=True).clamp_min(1e-30)
    return weights_for(w.clamp_min(1e-30).log(), location)


class _Forced:
    """A Captioner for decode.greedy / decode.beam_search that starts after a teacher-forced prefix
    (its ``prepare`` returns the state there, its first step reads the prefix's last word) and
    replaces the weights of the forced steps."""

    def __init__(self, model: Captioner, prepared, first_input: int, first: int, forces: dict[int, Force],
                 prefix: list[int], no_repeat: int):
        self.model, self.config = model, model.config
        self.prepared, self.first_input, self.t, self.forces = prepared, first_input, first, forces
        self.started = False
        # decode's repeat blocking sees only the words it chose; while one hypothesis is decoded (greedy,
        # or a beam before it widens) the kept prefix's n-grams are blocked here too
        self.history, self.no_repeat = list(prefix), no_repeat

    def prepare(self, annotations):
        return self.prepared

    def step(self, prev, state, keys, projected, *, location="expected", generator=None, temperature=1.0):
        if not self.started:
            prev, self.started = torch.full_like(prev, self.first_input), True
        elif self.history is not None:
            self.history = self.history + [int(prev[0])] if prev.size(0) == 1 else None
        scores = self.model.attend.scores(state[0], keys, projected=projected)
        alpha = torch.softmax(scores, -1)
        force = self.forces.get(self.t)
        w = forced_weights(alpha, force, location) if force else weights_for(scores, location)
        state, logits, beta = read(self.model, prev, state, torch.bmm(w[:, None], keys)[:, 0])
        if self.history is not None and prev.size(0) == 1:
            banned = banned_next(self.history, self.no_repeat)
            if banned:
                logits[0, list(banned)] = float("-inf")
        self.t += 1
        return state, StepOut(logits, alpha, w, beta, None)


@torch.no_grad()
def force(model: Captioner, annotations: torch.Tensor, tokens: list[int], forces: list[Force], start: int,
          end: int, *, location: str | None = None, beam: int = 1, length_alpha: float = CAPTION_ALPHA,
          no_repeat: int = CAPTION_NO_REPEAT) -> Decoded:
    """The caption of annotations (1, N, D) decoded again with ``forces``; ``tokens`` is the original
    caption (without <start>/<end>), whose words before the first forced step are kept."""
    location = default_location(model, location)
    if location == "sample":
        raise ValueError("forcing attention needs a deterministic location: 'expected' or 'argmax'")
    if not forces:
        raise ValueError("no step to force")
    by_step = {f.step: f for f in forces}
    if len(by_step) < len(forces):
        raise ValueError("each step can be forced once")
    for f in forces:
        f.check(annotations.size(1), model.config.max_len)
    first = min(by_step)
    if first > len(tokens):
        raise ValueError(f"step {first} is past the caption's end (it has {len(tokens)} words, then <end>)")
    keys, projected, state = model.prepare(annotations)
    prev, weights, betas, log_prob = start, [], [], 0.0
    for word in tokens[:first]:  # the original's words, as the caption made them
        state, out = model.step(torch.tensor([prev], device=annotations.device), state, keys, projected,
                                location=location)
        log_prob += float(torch.log_softmax(out.logits, -1)[0, word])
        weights.append(out.weights)
        betas.append(out.beta)
        prev = word
    forced = _Forced(model, (keys, projected, state), prev, first, by_step, tokens[:first], no_repeat)
    rest_len = model.config.max_len - first
    if beam == 1:
        rest = greedy(forced, annotations, start, end, location=location, max_len=rest_len, no_repeat=no_repeat)[0]
    else:
        rest = beam_search(forced, annotations, start, end, beam, location=location, max_len=rest_len,
                           length_alpha=length_alpha, no_repeat=no_repeat)
    n = annotations.size(1)
    head_w = torch.cat(weights).cpu() if weights else torch.zeros(0, n)
    head_b = torch.cat(betas).cpu() if betas else torch.zeros(0)
    return Decoded(tokens[:first] + rest.tokens, torch.cat([head_w, rest.alphas]), torch.cat([head_b, rest.betas]),
                   log_prob + rest.log_prob)


def parse_force(text: str) -> tuple[int, int, int]:
    """'STEP:ROW,COL' -> (step, row, col); ValueError with the expected form otherwise."""
    match = re.fullmatch(r"\s*(\d+)\s*:\s*(\d+)\s*,\s*(\d+)\s*", text)
    if not match:
        raise ValueError(f"--force takes STEP:ROW,COL (e.g. 2:7,3), got {text!r}")
    return tuple(int(g) for g in match.groups())


def force_caption(bundle, feats: torch.Tensor, original: Caption, forces: list[Force],
                  options: CaptionOptions = CaptionOptions()) -> Caption:
    """``original`` (from model.caption.pipeline.caption with ``bundle``) decoded again with ``forces``,
    under the same decoding ``options``; ``feats`` (1, N, D) are the image's annotations."""
    model, vocab = bundle.model, bundle.vocab["words"]
    t0 = time.perf_counter()
    d = force(model, feats, original.tokens, forces, vocab.start, vocab.end,
              location=default_location(model, options.location), beam=options.beam,
              length_alpha=options.length_alpha, no_repeat=options.no_repeat)
    ms = 1000 * (time.perf_counter() - t0)
    words = vocab.decode(d.tokens, strip=False)
    g = model.config.grid
    return Caption(" ".join(words), words, d.tokens, d.alphas.numpy().reshape(-1, g, g), d.betas.numpy(),
                   d.log_prob, ms)


def grid_force(step: int, row: int, col: int, grid: int, **kw) -> Force:
    """A force on cell (row, col) of a grid × grid map."""
    if not (0 <= row < grid and 0 <= col < grid):
        raise ValueError(f"ROW and COL must be between 0 and {grid - 1}, got {row},{col}")
    return Force(step, cell=row * grid + col, **kw)
