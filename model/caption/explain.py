"""Does a caption's attention explain its words? Gradient importance and the deletion test, per word.

For word t of a caption, its own prefix y_<t teacher-forced, the model's state h_{t-1} fixed:

gradient importance   g_ti = || d log p(y_t) / d a_i ||  over the 14×14 annotations a_i the step reads,
                      and gradient × input  sum_d (d log p(y_t) / d a_id) a_id (signed);
deletion              replace the annotations of a set of cells by the image's mean annotation, read
                      them again at step t, and report Δ log p(y_t) (negative: the word got less
                      likely) for the top-k % cells by alpha_t, k % random cells (the mean over
                      ``draws`` seeded draws) and the bottom-k % cells, k in ``ks``;
agreement             Kendall's tau_b between alpha_t and g_t (model.core.ranking).

Only step t reads the changed annotations: the prefix, the initial state and the gate stay as the
caption made them, so each number measures what word t takes through its own attention. For a hard
model the cells are ranked by alpha_t, the distribution its location is drawn from; at 'argmax' the
step reads the most likely cell after the change (one-hot), so its gradient lies on that one cell.

Every word and every deleted set is one row of a single batched step (the mean annotation enters as
an extra cell, so a deleted cell costs a score, not a copy of the 196×1392 annotations); the
gradients of all words come from one batched backward pass (bench/explain.py times it).
"""
from dataclasses import dataclass

import numpy as np
import torch

from model.caption.decode import default_location
from model.caption.decoder import Captioner
from model.caption.override import read, teacher_forced, weights_for
from model.core.ranking import kendall_tau

KS = (0.05, 0.1, 0.2, 0.5)  # fractions of the cells deleted along the curve
K = 0.1  # the fraction reported per word
DRAWS = 3  # random sets per word and fraction


@dataclass
class Explanation:
    alphas: np.ndarray  # (T, N) alpha of each word (hard: the distribution its location is drawn from)
    log_prob: np.ndarray  # (T,) log p of each word, teacher-forced
    saliency: np.ndarray  # (T, N) gradient norm per cell
    grad_input: np.ndarray  # (T, N) gradient × input per cell
    rank_corr: np.ndarray  # (T,) Kendall tau_b between alpha and saliency (NaN where one is flat)
    ks: tuple  # fractions of the cells deleted
    top: np.ndarray  # (T, len(ks)) Δ log p when the top-k % cells by alpha are deleted
    random: np.ndarray  # (T, len(ks)) the same for random cells, mean over the draws
    bottom: np.ndarray  # (T, len(ks)) the same for the bottom-k % cells

    def deletion(self, k: float = K) -> dict[str, np.ndarray]:
        """Δ log p per word for one fraction ``k`` of ``ks``: {'top', 'random', 'bottom'} -> (T,)."""
        if k not in self.ks:
            raise ValueError(f"k must be one of {self.ks}, got {k}")
        i = self.ks.index(k)
        return {"top": self.top[:, i], "random": self.random[:, i], "bottom": self.bottom[:, i]}

    def to_json(self, grid: int, k: float = K) -> dict:
        """The CLI's per-token lists: saliency (grid × grid each), deletion ({top, random, bottom}), rank_corr."""
        d = self.deletion(k)
        return {"saliency": np.round(self.saliency.reshape(-1, grid, grid), 6),
                "deletion": [{name: round(float(d[name][t]), 4) for name in d} for t in range(len(self.log_prob))],
                "rank_corr": np.round(self.rank_corr, 4), "deletion_k": k}


def deletion_masks(alphas: torch.Tensor, ks=KS, draws: int = DRAWS, seed: int = 0) -> torch.Tensor:
    """(T, C, N) bool, True = delete: no cell, then per k the top, the bottom and ``draws`` random sets."""
    t, n = alphas.shape
    order = alphas.argsort(-1, descending=True)
    generator = torch.Generator().manual_seed(seed)
    masks = [torch.zeros(t, n, dtype=torch.bool)]
    for k in ks:
        m = max(1, round(k * n))
        chosen = [order[:, :m], order[:, n - m:]]
        chosen += [torch.rand(t, n, generator=generator).argsort(-1)[:, :m] for _ in range(draws)]
        masks += [torch.zeros(t, n, dtype=torch.bool).scatter_(1, c.cpu(), True) for c in chosen]
    return torch.stack(masks, 1).to(alphas.device)


@torch.no_grad()
def _deleted(model, annotations, keys, state, prev, tokens, masks, location):
    """log p of each word (T, C) with each mask's cells read as the mean annotation at its step."""
    t, c, n = masks.shape
    mean_key = model.norm(annotations.mean(1))  # (1, D): the mean annotation, normalised like a cell
    cells = torch.cat([keys, mean_key[:, None]], 1)  # (1, N + 1, D)
    scores = model.attend.scores(state[0], cells.expand(t, -1, -1),
                                 projected=model.attend.precompute(cells).expand(t, -1, -1))
    scores = torch.where(masks, scores[:, None, n:], scores[:, None, :n])  # (T, C, N)
    w = weights_for(scores, location)
    context = (w * ~masks) @ keys[0] + (w * masks).sum(-1, keepdim=True) * mean_key  # (T, C, D)
    rep = lambda x: x.repeat_interleave(c, 0)  # noqa: E731  (row t*c + j: word t, mask j)
    _, logits, _ = read(model, rep(prev), (rep(state[0]), rep(state[1])), context.reshape(t * c, -1))
    words = torch.tensor(tokens, device=logits.device).repeat_interleave(c)
    return torch.log_softmax(logits, -1).gather(1, words[:, None]).view(t, c)


def _gradients(model, annotations, state, prev, tokens, location):
    """d log p(y_t) / d a (T, N, D): word t's row of a batch holds its own copy of the annotations."""
    t = len(tokens)
    with torch.enable_grad():
        a = annotations.detach().expand(t, -1, -1).clone().requires_grad_(True)
        keys = model.norm(a)
        scores = model.attend.scores(state[0], keys, projected=model.attend.precompute(keys))
        w = weights_for(scores, location).detach() if location == "argmax" else weights_for(scores, location)
        _, logits, _ = read(model, prev, state, torch.bmm(w[:, None], keys)[:, 0])
        logp = torch.log_softmax(logits, -1).gather(1, torch.tensor(tokens, device=a.device)[:, None]).sum()
        (grad,) = torch.autograd.grad(logp, a)
    return grad


def explain(model: Captioner, annotations: torch.Tensor, tokens: list[int], start: int, location: str = "expected",
            ks=KS, draws: int = DRAWS, seed: int = 0) -> Explanation:
    """Per-word explanation of the caption ``tokens`` (without <start>/<end>) of annotations (1, N, D)."""
    if K not in ks:
        raise ValueError(f"ks must include {K}, got {ks}")
    n = annotations.size(1)
    if not tokens:
        empty = np.zeros((0, n))
        return Explanation(empty, np.zeros(0), empty, empty, np.zeros(0), tuple(ks), *[np.zeros((0, len(ks)))] * 3)
    with torch.no_grad():
        state, prev, alphas, logp, keys, _ = teacher_forced(model, annotations, tokens, start, location)
    masks = deletion_masks(alphas, ks, draws, seed)
    delta = (_deleted(model, annotations, keys, state, prev, tokens, masks, location) - logp[:, None]).cpu()
    grad = _gradients(model, annotations, state, prev, tokens, location)
    saliency = grad.norm(dim=-1)
    per_k = delta[:, 1:].view(len(tokens), len(ks), 2 + draws)
    return Explanation(alphas.cpu().numpy(), logp.cpu().numpy(), saliency.cpu().numpy(),
                       (grad * annotations).sum(-1).cpu().numpy(), kendall_tau(alphas.cpu(), saliency.cpu()).numpy(),
                       tuple(ks), per_k[..., 0].numpy(), per_k[..., 2:].mean(-1).numpy(), per_k[..., 1].numpy())


def explain_caption(bundle, feats: torch.Tensor, caption, options=None) -> Explanation:
    """``explain`` for a Caption of model.caption.pipeline made by ``bundle`` from annotations ``feats``
    (1, N, D), at the location its decoding used (``options.location`` for a hard model)."""
    location = default_location(bundle.model, options.location if options else None)
    return explain(bundle.model, feats, caption.tokens, bundle.vocab["words"].start, location)
