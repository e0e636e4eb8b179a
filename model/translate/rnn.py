"""Sequence-to-sequence translator with attention (Bahdanau et al. 2015; Luong et al. 2015).

Reading order: config, encoder, one decoder step, the model (training forward), loading.
Decoding (greedy and beam search) lives in ``model.translate.decode``.

encoder   bidirectional GRU over the source words; its 2H states are projected
          to H so they are keys of the decoder's size (the 'dot' score needs it)
decoder   GRU cell; input = previous target word + previous context (input
          feeding: the decoder knows where it looked last, which helps it move on);
          its new state queries all encoder states with one of the four
          ``model.core.attention`` score functions, and tanh(W [state; context]) predicts
          the next word through an adaptive softmax.

Token ids: <pad> <start> <end> <unk> come first in both vocabularies (model.core.vocab); the
padding id is fixed at 0 because the embeddings are built with it, the others are read from the vocabulary.
The source ends with <end> (the model's end-of-sentence, written <eos> in papers),
so attention has somewhere to look when it emits the final <end>.
"""
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from model.core.attention import Attention, AttentionConfig
from model.core.checkpoint import Checkpoint, config_from, load_weights
from model.core.vocab import PAD, SPECIALS
from model.translate.text import Preprocessing

PAD_ID = SPECIALS.index(PAD)


@dataclass
class TranslatorConfig:
    src_vocab_size: int = 1000
    tgt_vocab_size: int = 1000
    emb_dim: int = 256  # word embedding size, both languages
    hidden_dim: int = 256  # decoder state, each encoder direction, attention keys
    attn_dim: int = 256  # hidden size of the concat / additive score MLP
    score: str = "additive"  # dot | general | concat | additive
    dropout: float = 0.2
    max_len: int = 15  # tokens per side seen in training (model.translate cuts inputs at twice this)
    # Adaptive softmax (Grave et al. 2017): an exact softmax whose rare words sit in smaller
    # clusters; the output layer is most of the CPU time, this makes training ~1.6x faster.
    softmax_cutoffs: tuple = (2000, 6000)


@dataclass
class Memory:
    """What the decoder attends to, computed once per source batch."""
    keys: torch.Tensor  # (B, S, H) projected encoder states
    projected: torch.Tensor  # attention.precompute(keys)
    mask: torch.Tensor | None  # (B, S) True at real source positions; None when no row is padded
    state: torch.Tensor  # (B, H) initial decoder state

    def repeat(self, index: torch.Tensor) -> "Memory":
        """Rows picked (and repeated) by ``index``: beams of one sentence share its memory."""
        mask = None if self.mask is None else self.mask[index]
        return Memory(self.keys[index], self.projected[index], mask, self.state[index])


class Encoder(nn.Module):
    def __init__(self, c: TranslatorConfig):
        super().__init__()
        self.embed = nn.Embedding(c.src_vocab_size, c.emb_dim, padding_idx=PAD_ID)
        self.rnn = nn.GRU(c.emb_dim, c.hidden_dim, batch_first=True, bidirectional=True)
        self.to_keys = nn.Linear(2 * c.hidden_dim, c.hidden_dim)
        self.to_state = nn.Linear(2 * c.hidden_dim, c.hidden_dim)
        self.drop = nn.Dropout(c.dropout)

    def forward(self, src: torch.Tensor, lengths: torch.Tensor, padded: bool = True):
        """``padded`` False: every row is ``src.size(1)`` long (one sentence alone), no packing needed."""
        x = self.drop(self.embed(src))
        if padded:  # packing keeps the backward GRU from reading padding before the real words
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            out, last = self.rnn(packed)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=src.size(1))
        else:
            out, last = self.rnn(x)
        keys = self.to_keys(self.drop(out))
        state = torch.tanh(self.to_state(torch.cat([last[0], last[1]], dim=-1)))
        return keys, state


class DecoderStep(nn.Module):
    """One target word: (previous word, state, previous context) -> features, state, context, weights."""

    def __init__(self, c: TranslatorConfig):
        super().__init__()
        self.embed = nn.Embedding(c.tgt_vocab_size, c.emb_dim, padding_idx=PAD_ID)
        self.rnn = nn.GRUCell(c.emb_dim + c.hidden_dim, c.hidden_dim)
        self.attention = Attention(AttentionConfig(score=c.score, query_dim=c.hidden_dim,
                                                   key_dim=c.hidden_dim, attn_dim=c.attn_dim))
        self.combine = nn.Linear(2 * c.hidden_dim, c.hidden_dim)
        self.drop = nn.Dropout(c.dropout)

    def forward(self, prev: torch.Tensor, state: torch.Tensor, context: torch.Tensor, memory: Memory):
        embedded = self.embed(prev)
        x = torch.cat([self.drop(embedded) if self.training else embedded, context], dim=-1)
        state = self.rnn(x, state)
        context, weights = self.attention(state, memory.keys, mask=memory.mask, projected=memory.projected)
        features = torch.tanh(self.combine(torch.cat([state, context], dim=-1)))
        return features, state, context, weights


class Translator(nn.Module):
    def __init__(self, config: TranslatorConfig):
        super().__init__()
        self.config = config
        self.encoder = Encoder(config)
        self.step = DecoderStep(config)
        self.drop = nn.Dropout(config.dropout)
        cutoffs = [c for c in config.softmax_cutoffs if c < config.tgt_vocab_size - 1]
        if cutoffs:  # vocabularies are sorted by frequency, as the adaptive softmax needs
            self.out = nn.AdaptiveLogSoftmaxWithLoss(config.hidden_dim, config.tgt_vocab_size, cutoffs, div_value=4.0)
        else:
            self.out = nn.Linear(config.hidden_dim, config.tgt_vocab_size)

    def encode(self, src: torch.Tensor, lengths: torch.Tensor) -> Memory:
        padded = bool((lengths < src.size(1)).any())
        keys, state = self.encoder(src, lengths, padded)
        mask = None  # without padding there is nothing to mask, and attention skips the check per step
        if padded:
            mask = torch.arange(src.size(1), device=src.device)[None, :] < lengths.to(src.device)[:, None]
        return Memory(keys, self.step.attention.precompute(keys), mask, state)

    def log_probs(self, features: torch.Tensor) -> torch.Tensor:
        """(..., H) decoder features to (..., V) log-probabilities of the next word."""
        x = self.drop(features)
        if isinstance(self.out, nn.Linear):
            return torch.log_softmax(self.out(x), dim=-1)
        return self.out.log_prob(x.reshape(-1, x.size(-1))).view(*x.shape[:-1], -1)

    def best_next(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, H) features to the most likely next word (B,) and its log-probability (B,):
        ``log_probs(features).max(-1)``, without every word's probability when it can be avoided.

        With the adaptive softmax, a word of a tail cluster is never likelier than its cluster, so when
        the head's best entry is a frequent word that word is the argmax over the whole vocabulary and
        its head log-probability is its log-probability (AdaptiveLogSoftmaxWithLoss.predict's reasoning).
        Only when some row's best head entry is a cluster is the full distribution computed.
        """
        if isinstance(self.out, nn.Linear):
            return self.log_probs(features).max(dim=-1)
        head = torch.log_softmax(self.out.head(self.drop(features) if self.training else features), dim=-1)
        best = head.max(dim=-1)
        if bool((best.indices >= self.out.shortlist_size).any()):
            return self.log_probs(features).max(dim=-1)
        return best

    def loss(self, features: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy over the real (non-pad) target positions."""
        real = targets != PAD_ID
        x, y = self.drop(features[real]), targets[real]
        if isinstance(self.out, nn.Linear):
            return F.cross_entropy(self.out(x), y)
        return self.out(x, y).loss

    def forward(self, src, lengths, tgt_in, teacher_forcing: float = 1.0):
        """Decoder features (B, T, H) and attention weights (B, T, S) for a target prefix ``tgt_in``.

        With ``teacher_forcing`` < 1 each step feeds, per sentence, the model's own
        previous argmax instead of the true word with probability 1 - ratio.
        """
        memory = self.encode(src, lengths)
        state = memory.state
        context = torch.zeros_like(state)
        prev = tgt_in[:, 0]
        features, weights = [], []
        for t in range(tgt_in.size(1)):
            f, state, context, w = self.step(prev, state, context, memory)
            features.append(f)
            weights.append(w)
            if t + 1 < tgt_in.size(1):
                prev = tgt_in[:, t + 1]
                if teacher_forcing < 1.0:
                    own = torch.rand(prev.shape, device=prev.device) >= teacher_forcing
                    prev = torch.where(own, self.log_probs(f.detach()).argmax(-1), prev)
        return torch.stack(features, 1), torch.stack(weights, 1)


def from_checkpoint(ckpt: Checkpoint) -> tuple[Translator, Preprocessing]:
    """The model a translator checkpoint holds and how its input is tokenized
    (model.core.loader calls this for kind 'translator')."""
    model = load_weights(Translator(config_from(TranslatorConfig, ckpt)), ckpt)
    return model, Preprocessing.from_dict(ckpt.preprocessing)
