"""Is a translation's attention an explanation? The Jain & Wallace (2019) tests, per target word.

For target word t, its prefix y_<t teacher-forced and the decoder state before the step fixed:

leave-one-out      Δ log p(y_t) when step t cannot read source position j (its weight is set to 0
                   and the row renormalised); negative: the word got less likely without j;
gradient × input   sum_e (d log p(y_t) / d x_je) x_je over the source word embeddings x_j, through
                   the whole encoder and decoder prefix (signed);
agreement          Kendall's tau_b between the attention row and each importance (-Δ, |g × x|);
permuted, uniform  the row randomly permuted (``draws`` seeded permutations) or made uniform at step
                   t: total variation distance between the output distributions and whether the
                   argmax word changes (Wiegreffe & Pinter 2019 add the uniform baseline).

Every change of a row is one ``Edit`` of the attention distribution p over the S source positions,
w = renormalise(keep * (1 if flat else p[perm])), applied by a family's reader to the rows its
step reads: the RNNs' alpha here (``RnnReader``); the Transformer's reader
(model.translate.explain_transformer) applies it to every cross-attention head of every layer at
step t. ``explain`` only calls a reader's ``alphas``, ``log_probs`` and ``grad_input``.
All edits of all words go through one batched step.
"""
from dataclasses import dataclass

import numpy as np
import torch

from model.core.ranking import kendall_tau
from model.translate.override import query, readout, teacher_forced
from model.translate.rnn import Memory, Translator

DRAWS = 5  # permutations per row


@dataclass
class Edit:
    """A batch of attention edits (T, C, S): gather by ``perm``, or 1 where ``flat``; then keep and renormalise."""
    perm: torch.Tensor  # (T, C, S) long
    keep: torch.Tensor  # (T, C, S) bool
    flat: torch.Tensor  # (T, C) bool

    def apply(self, p: torch.Tensor) -> torch.Tensor:
        """Edited rows of distributions ``p``: (T, S) -> (T, C, S); (T, C, ..., S) (e.g. heads) keeps its shape."""
        p = p.unsqueeze(1).expand(self.perm.shape) if p.dim() == 2 else p
        mid = (1,) * (p.dim() - 3)  # dims between (T, C) and S share the edit of their row
        t, c, s = self.perm.shape
        perm, keep = self.perm.view(t, c, *mid, s).expand(p.shape), self.keep.view(t, c, *mid, s)
        w = torch.where(self.flat.view(t, c, *mid, 1), torch.ones_like(p), p.gather(-1, perm)) * keep
        return w / w.sum(-1, keepdim=True).clamp_min(1e-30)


class RnnReader:
    """The RNN translator's step, teacher-forced on ``ids`` for source ``src`` (1, S)."""

    def __init__(self, model: Translator, src: torch.Tensor, ids: list[int], start: int):
        self.model, self.src, self.ids, self.start = model, src, ids, start
        with torch.no_grad():
            self.memory = model.encode(src, torch.tensor([src.size(1)]))
            self.forced = teacher_forced(model, self.memory, ids, start)
        self.alphas = self.forced["alpha"]  # (T, S)

    @torch.no_grad()
    def log_probs(self, edit: Edit) -> torch.Tensor:
        """(T, C, V): log p of the next word at step t when it reads the source with edit [t, c]."""
        t, c, s = edit.perm.shape
        w = edit.apply(self.alphas).reshape(t * c, s)
        state = self.forced["query"].repeat_interleave(c, 0)
        features, _ = readout(self.model, state, w, self.memory.keys.expand(t * c, -1, -1))
        return self.model.log_probs(features).view(t, c, -1)

    def grad_input(self) -> torch.Tensor:
        """(T, S) gradient × input of log p(y_t) over the source embeddings; row t holds word t's copy."""
        model, enc, t = self.model, self.model.encoder, len(self.ids)
        with torch.enable_grad():
            x = enc.embed(self.src).detach().expand(t, -1, -1).clone().requires_grad_(True)
            out, last = enc.rnn(enc.drop(x))
            keys = enc.to_keys(enc.drop(out))
            state = torch.tanh(enc.to_state(torch.cat([last[0], last[1]], dim=-1)))
            memory = Memory(keys, model.step.attention.precompute(keys), None, state)
            context, prev = torch.zeros_like(state), self.forced["prev"]
            picked = []
            for step in range(t):  # row r keeps the features of its own word r
                state, alpha = query(model, prev[step].expand(t), state, context, memory)
                features, context = readout(model, state, alpha, keys)
                picked.append(features[step])
            (grad,) = torch.autograd.grad(target_log_prob(model, torch.stack(picked), self.ids).sum(), x)
        return (grad * x.detach()).sum(-1)


def target_log_prob(model: Translator, features: torch.Tensor, ids: list[int]) -> torch.Tensor:
    """log p(ids[t]) (T,) from features (T, H), computing only the target's softmax cluster."""
    target = torch.tensor(ids, device=features.device)
    if isinstance(model.out, torch.nn.Linear):
        return model.log_probs(features).gather(1, target[:, None]).squeeze(1)
    return model.out(model.drop(features), target).output


def reader_for(model, src: torch.Tensor, ids: list[int], start: int):
    """The reader of ``model``'s family."""
    if isinstance(model, Translator):
        return RnnReader(model, src, ids, start)
    from model.translate.explain_transformer import TransformerReader, TransformerTranslator
    if isinstance(model, TransformerTranslator):
        return TransformerReader(model, src, ids, start)
    raise ValueError(f"no explanation reader for {type(model).__name__}")


@dataclass
class Explanation:
    attention: np.ndarray  # (T, S) the attention rows
    log_prob: np.ndarray  # (T,) log p(y_t), teacher-forced
    loo: np.ndarray  # (T, S) Δ log p(y_t) without source position j
    grad: np.ndarray  # (T, S) gradient × input
    tau_loo: np.ndarray  # (T,) tau_b(attention, -loo)
    tau_grad: np.ndarray  # (T,) tau_b(attention, |grad|)
    permuted_tvd: np.ndarray  # (T,) mean TVD over the permutations
    permuted_flip: np.ndarray  # (T,) share of permutations that change the argmax word
    uniform_tvd: np.ndarray  # (T,)
    uniform_flip: np.ndarray  # (T,) bool

    def to_json(self) -> dict:
        """The CLI's per-target-token lists: loo, grad (S each), tau ({loo, grad}), permuted_tvd, and the rest."""
        r = lambda a, d=4: np.round(a.astype(np.float64), d)  # noqa: E731
        return {"loo": r(self.loo), "grad": r(self.grad, 6),
                "tau": [{"loo": a, "grad": b} for a, b in zip(r(self.tau_loo).tolist(), r(self.tau_grad).tolist())],
                "permuted_tvd": r(self.permuted_tvd), "permuted_flip": r(self.permuted_flip),
                "uniform_tvd": r(self.uniform_tvd), "uniform_flip": self.uniform_flip.tolist()}


def edits(t: int, s: int, draws: int = DRAWS, seed: int = 0, device=None) -> Edit:
    """Per word: the row as it is, each position left out, ``draws`` permutations, uniform."""
    g = torch.Generator().manual_seed(seed)
    ident = torch.arange(s).expand(t, 1, s)
    perms = torch.stack([torch.randperm(s, generator=g) for _ in range(t * draws)]).view(t, draws, s)
    perm = torch.cat([ident, ident.expand(t, s, s), perms, ident], 1)
    keep = torch.ones(t, 1 + s + draws + 1, s, dtype=torch.bool)
    keep[:, 1:1 + s] = ~torch.eye(s, dtype=torch.bool)
    if s == 1:  # nothing is left to read without the only position: leave it (Δ 0)
        keep[:, 1:2] = True
    flat = torch.zeros(t, 1 + s + draws + 1, dtype=torch.bool)
    flat[:, -1] = True
    return Edit(perm.to(device), keep.to(device), flat.to(device))


def explain(model, src: torch.Tensor, ids: list[int], start: int, draws: int = DRAWS, seed: int = 0) -> Explanation:
    """Per-target-word explanation of the translation ``ids`` (<end> included) of source ``src`` (1, S)."""
    s = src.size(1)
    if not ids:
        z, e = np.zeros((0, s)), np.zeros(0)
        return Explanation(z, e, z, z, e, e, e, e, e, np.zeros(0, bool))
    reader = reader_for(model, src, ids, start)
    t = len(ids)
    logp = reader.log_probs(edits(t, s, draws, seed, src.device)).cpu()  # (T, C, V)
    word = logp[:, 0].gather(1, torch.tensor(ids)[:, None]).squeeze(1)
    loo = logp[:, 1:1 + s].gather(2, torch.tensor(ids)[:, None, None].expand(t, s, 1)).squeeze(2) - word[:, None]
    p = logp.exp()
    tvd = 0.5 * (p - p[:, :1]).abs().sum(-1)  # (T, C)
    flip = logp.argmax(-1) != logp[:, :1].argmax(-1)
    grad = reader.grad_input().detach().cpu()
    alphas = reader.alphas.cpu()
    perm = slice(1 + s, 1 + s + draws)
    return Explanation(alphas.numpy(), word.numpy(), loo.numpy(), grad.numpy(),
                       kendall_tau(alphas, -loo).numpy(), kendall_tau(alphas, grad.abs()).numpy(),
                       tvd[:, perm].mean(1).numpy(), flip[:, perm].float().mean(1).numpy(),
                       tvd[:, -1].numpy(), flip[:, -1].numpy())


def explain_translation(bundle, translation) -> Explanation:
    """``explain`` for a Translation of model.translate.pipeline made by ``bundle``: every target token."""
    src_vocab, tgt_vocab = bundle.vocab["src"], bundle.vocab["tgt"]
    src = torch.tensor([src_vocab.encode(translation.source_tokens[:-1]) + [src_vocab.end]], device=bundle.device)
    return explain(bundle.model, src, tgt_vocab.encode(translation.target_tokens), tgt_vocab.start)
