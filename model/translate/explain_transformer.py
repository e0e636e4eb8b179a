"""The Transformer translator's reader for model.translate.explain: the same edits, every head.

Its attention row for target word t is what the page's alignment shows: the cross-attention of the
last decoder layer, averaged over the heads. An ``Edit`` of step t (leave a source position out,
permute, flatten) is applied to the cross-attention distribution of every head in every decoder
layer at query position t, so no path from the source to word t escapes it; positions before t,
and the self-attention, stay as the translation made them. The model runs its own ``encode`` and
``decode``; forward hooks swap in the edited cross-attention (recomputed with the module's own
projections and model.core.attention.scaled_dot_product) and the source embeddings to differentiate.
"""
import threading
from contextlib import contextmanager

import torch

from model.core.attention import scaled_dot_product
from model.translate.transformer import TransformerTranslator


@contextmanager
def _hooks(modules, hook):
    """``hook`` on ``modules`` while the block runs, for calls from this thread only: the app shares one
    model between sessions, and another session's translation must not see the edit."""
    me = threading.get_ident()

    def only_here(module, args, output):
        return hook(module, args, output) if threading.get_ident() == me else None

    handles = [m.register_forward_hook(only_here) for m in modules]
    try:
        yield
    finally:
        for h in handles:
            h.remove()


class TransformerReader:
    """The Transformer teacher-forced on ``ids`` for source ``src`` (1, S)."""

    def __init__(self, model: TransformerTranslator, src: torch.Tensor, ids: list[int], start: int):
        self.model, self.src, self.ids = model, src, ids
        self.lengths = torch.tensor([src.size(1)])
        self.tgt_in = torch.tensor([[start, *ids[:-1]]], device=src.device)
        with torch.no_grad():
            self.memory = model.encode(src, self.lengths)
            _, _, cross = model.decode(self.tgt_in, self.memory, need_weights=True)
        self.alphas = cross[0, -1].mean(0)  # (T, S): last layer, mean over heads

    @torch.no_grad()
    def log_probs(self, edit) -> torch.Tensor:
        """(T, C, V): log p of the next word at step t when every head reads the source with edit [t, c]."""
        t, c, _ = edit.perm.shape
        rows, index = t * c, torch.arange(t * c)
        pos = torch.arange(t).repeat_interleave(c)  # row t*c + j edits query position t

        def edited(module, args, output):
            x, (k, v), mask = args[:3]
            _, w = scaled_dot_product(module.split(module.q(x)), k, v, mask)  # (rows, H, T, S)
            w = w.clone()
            w[index, :, pos] = edit.apply(w[index, :, pos].view(t, c, w.size(1), -1)).flatten(0, 1)
            context = (w @ v).transpose(1, 2).reshape(x.size(0), x.size(1), -1)
            return module.o(context), w

        memory = self.memory.repeat(torch.zeros(rows, dtype=torch.long, device=self.src.device))
        with _hooks([layer.cross_attn for layer in self.model.decoder], edited):
            features = self.model.decode(self.tgt_in.expand(rows, -1), memory)[0]
        return self.model.log_probs(features[index, pos]).view(t, c, -1)

    def grad_input(self) -> torch.Tensor:
        """(T, S) gradient × input of log p(y_t) over the source token embeddings; row t holds word t's copy."""
        m, t = self.model, len(self.ids)
        src = self.src.expand(t, -1)
        with torch.enable_grad():
            e = m.src_embed(src).detach().requires_grad_(True)
            with _hooks([m.src_embed], lambda module, args, output: e):
                memory = m.encode(src, self.lengths.expand(t))
            features = m.decode(self.tgt_in.expand(t, -1), memory)[0][torch.arange(t), torch.arange(t)]
            logp = m.log_probs(features).gather(1, torch.tensor(self.ids, device=e.device)[:, None])
            (grad,) = torch.autograd.grad(logp.sum(), e)
        return (grad * e.detach()).sum(-1)
