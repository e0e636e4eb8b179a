"""Encoder-decoder Transformer translator (Vaswani et al. 2017), pre-norm, every weight visible.

Reading order: config, positions, multi-head attention, encoder layer, decoder layer, the model
(training forward, encoder, one incremental decoder step), loading.
Decoding (greedy and beam search) lives in ``model.translate.transformer_decode``.

attention  MultiHead(Q, K, V) = Concat(head_1..head_h) W^O, head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V),
           with Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V computed by
           ``model.core.attention.scaled_dot_product``, which returns the weights this project shows,
           in training too: torch's fused ``scaled_dot_product_attention`` was no faster here (at
           ~10 tokens a sentence the attention products are ~3 % of a training step; the linear
           layers and the output softmax are the rest), so there is one path. Dropout on the
           weights in training (attention dropout, as in nanoGPT and the reference tensor2tensor).
layers     pre-norm (Xiong et al. 2020): x + Dropout(Sublayer(LayerNorm(x))), and a final LayerNorm,
           which trains without the original's long warm-up sensitivity.
positions  sinusoidal, PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(...): no
           parameters, no length limit; embeddings are scaled by sqrt(d_model) as in the paper.
output     the decoder's input embedding, transposed (tied weights, Press & Wolf 2017).

Token ids and the source's trailing <end> are those of the RNN translators (model.translate.rnn),
so both families read the same vocabularies and the same preprocessing.
"""
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from model.core.attention import scaled_dot_product
from model.core.checkpoint import Checkpoint, config_from, load_weights
from model.core.vocab import PAD, SPECIALS
from model.translate.text import Preprocessing

PAD_ID = SPECIALS.index(PAD)
KIND = "transformer_translator"  # the checkpoint kind (model.core.loader.KINDS); the RNNs' is "translator"


@dataclass
class TransformerConfig:
    src_vocab_size: int = 1000
    tgt_vocab_size: int = 1000
    d_model: int = 256
    heads: int = 4
    encoder_layers: int = 3
    decoder_layers: int = 3
    ffn_dim: int = 1024
    dropout: float = 0.1
    max_len: int = 15  # tokens per side seen in training (model.translate cuts inputs at twice this)

    def __post_init__(self):
        if self.d_model % self.heads:
            raise ValueError(f"d_model ({self.d_model}) must be a multiple of heads ({self.heads})")


def sinusoids(length: int, dim: int, device=None) -> torch.Tensor:
    """(length, dim) sinusoidal position encodings (Vaswani et al. 2017, section 3.5)."""
    pos = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    rate = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    pe = torch.zeros(length, dim, device=device)
    pe[:, 0::2], pe[:, 1::2] = torch.sin(pos * rate), torch.cos(pos * rate)
    return pe


class MultiHeadAttention(nn.Module):
    def __init__(self, c: TransformerConfig):
        super().__init__()
        self.heads, self.d_head = c.heads, c.d_model // c.heads
        self.q, self.k, self.v = (nn.Linear(c.d_model, c.d_model) for _ in range(3))
        self.o = nn.Linear(c.d_model, c.d_model)
        self.drop_p = c.dropout

    def split(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, d_model) -> (B, heads, T, d_head)."""
        return x.view(x.size(0), x.size(1), self.heads, self.d_head).transpose(1, 2)

    def keys_values(self, memory: torch.Tensor):
        """Key and value heads of ``memory`` (cached once per sentence for cross-attention)."""
        return self.split(self.k(memory)), self.split(self.v(memory))

    def forward(self, x, kv, mask):
        """x (B, T, d) queries; kv = keys_values(...); mask broadcasts to (B, H, T, S), True = may look.

        Returns (output (B, T, d), weights (B, H, T, S))."""
        q, (k, v) = self.split(self.q(x)), kv
        context, weights = scaled_dot_product(q, k, v, mask)
        if self.training and self.drop_p > 0:
            context = F.dropout(weights, self.drop_p) @ v
        context = context.transpose(1, 2).reshape(x.size(0), x.size(1), -1)
        return self.o(context), weights


class FeedForward(nn.Sequential):
    def __init__(self, c: TransformerConfig):
        super().__init__(nn.Linear(c.d_model, c.ffn_dim), nn.ReLU(), nn.Dropout(c.dropout),
                         nn.Linear(c.ffn_dim, c.d_model))


class EncoderLayer(nn.Module):
    def __init__(self, c: TransformerConfig):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(c.d_model), nn.LayerNorm(c.d_model)
        self.attn, self.ffn, self.drop = MultiHeadAttention(c), FeedForward(c), nn.Dropout(c.dropout)

    def forward(self, x, mask):
        h = self.norm1(x)
        a, weights = self.attn(h, self.attn.keys_values(h), mask)
        x = x + self.drop(a)
        return x + self.drop(self.ffn(self.norm2(x))), weights


class DecoderLayer(nn.Module):
    """Causal self-attention over the words so far, cross-attention over the source, feed-forward."""

    def __init__(self, c: TransformerConfig):
        super().__init__()
        self.norm1, self.norm2, self.norm3 = (nn.LayerNorm(c.d_model) for _ in range(3))
        self.self_attn, self.cross_attn = MultiHeadAttention(c), MultiHeadAttention(c)
        self.ffn, self.drop = FeedForward(c), nn.Dropout(c.dropout)

    def forward(self, x, past, self_mask, cross_kv, cross_mask):
        """``past``: cached keys/values of the earlier target positions (None: x holds them all).

        Returns (output, keys/values of every position so far, self-attention, cross-attention)."""
        h = self.norm1(x)
        k, v = self.self_attn.keys_values(h)
        if past is not None:  # the new positions' keys and values join those of the words before them
            k, v = torch.cat([past[0], k], 2), torch.cat([past[1], v], 2)
        a, w_self = self.self_attn(h, (k, v), self_mask)
        x = x + self.drop(a)
        a, w_cross = self.cross_attn(self.norm2(x), cross_kv, cross_mask)
        x = x + self.drop(a)
        return x + self.drop(self.ffn(self.norm3(x))), (k, v), w_self, w_cross


@dataclass
class Memory:
    """What the decoder reads, computed once per source batch."""
    states: torch.Tensor  # (B, S, d) encoder output
    mask: torch.Tensor  # (B, S) True at real source positions
    cross_kv: list  # per decoder layer: (keys, values) heads of the encoder output
    encoder_attention: torch.Tensor | None  # (B, layers, heads, S, S) or None when not asked for

    def repeat(self, index: torch.Tensor) -> "Memory":
        """Rows picked (and repeated) by ``index``: beams of one sentence share its memory."""
        enc = None if self.encoder_attention is None else self.encoder_attention[index]
        return Memory(self.states[index], self.mask[index], [(k[index], v[index]) for k, v in self.cross_kv], enc)


class TransformerTranslator(nn.Module):
    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.config = c = config
        self.src_embed = nn.Embedding(c.src_vocab_size, c.d_model, padding_idx=PAD_ID)
        self.tgt_embed = nn.Embedding(c.tgt_vocab_size, c.d_model, padding_idx=PAD_ID)
        for emb in (self.src_embed, self.tgt_embed):  # N(0, d^-1/2): unit scale after the sqrt(d) factor
            nn.init.normal_(emb.weight, std=c.d_model ** -0.5)
            with torch.no_grad():
                emb.weight[PAD_ID].zero_()
        self.encoder = nn.ModuleList(EncoderLayer(c) for _ in range(c.encoder_layers))
        self.decoder = nn.ModuleList(DecoderLayer(c) for _ in range(c.decoder_layers))
        self.enc_norm, self.dec_norm = nn.LayerNorm(c.d_model), nn.LayerNorm(c.d_model)
        self.drop = nn.Dropout(c.dropout)

    def embed(self, table: nn.Embedding, ids: torch.Tensor, offset: int = 0) -> torch.Tensor:
        x = table(ids) * math.sqrt(self.config.d_model)
        return self.drop(x + sinusoids(offset + ids.size(1), self.config.d_model, ids.device)[offset:])

    def encode(self, src: torch.Tensor, lengths: torch.Tensor, need_weights: bool = False) -> Memory:
        """Encoder states of a padded batch src (B, S) with its real ``lengths``."""
        mask = torch.arange(src.size(1), device=src.device)[None, :] < lengths.to(src.device)[:, None]
        key_mask = mask[:, None, None, :]  # (B, 1, 1, S): no query looks at padding
        x, weights = self.embed(self.src_embed, src), []
        for layer in self.encoder:
            x, w = layer(x, key_mask)
            weights.append(w)
        x = self.enc_norm(x)
        cross_kv = [layer.cross_attn.keys_values(x) for layer in self.decoder]
        return Memory(x, mask, cross_kv, torch.stack(weights, 1) if need_weights else None)

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        """Next-word scores from decoder features, through the tied target embedding."""
        return features @ self.tgt_embed.weight.t()

    def log_probs(self, features: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(self.logits(features), dim=-1)

    def decode(self, tgt_in: torch.Tensor, memory: Memory, need_weights: bool = False):
        """Teacher-forced decoder over a whole target prefix (B, T): features (B, T, d) and, with
        ``need_weights``, self-attention (B, layers, heads, T, T) and cross-attention (B, layers, heads, T, S)."""
        T = tgt_in.size(1)
        causal = torch.ones(T, T, dtype=torch.bool, device=tgt_in.device).tril()
        cross_mask = memory.mask[:, None, None, :]
        x, w_self, w_cross = self.embed(self.tgt_embed, tgt_in), [], []
        for layer, kv in zip(self.decoder, memory.cross_kv):
            x, _, ws, wc = layer(x, None, causal, kv, cross_mask)
            w_self.append(ws)
            w_cross.append(wc)
        if not need_weights:
            return self.dec_norm(x), None, None
        return self.dec_norm(x), torch.stack(w_self, 1), torch.stack(w_cross, 1)

    def step(self, prev: torch.Tensor, cache: list | None, memory: Memory):
        """One incremental decoder step for the newest words prev (B,), keys and values of the
        earlier ones in ``cache`` (None at the first step). Returns features (B, d), the new cache,
        self-attention (B, layers, heads, t) over the t words so far and cross-attention (B, layers, heads, S)."""
        offset = 0 if cache is None else cache[0][0].size(2)
        x = self.embed(self.tgt_embed, prev[:, None], offset)
        cross_mask = memory.mask[:, None, None, :]
        new_cache, w_self, w_cross = [], [], []
        for i, (layer, kv) in enumerate(zip(self.decoder, memory.cross_kv)):
            x, past, ws, wc = layer(x, None if cache is None else cache[i], None, kv, cross_mask)
            new_cache.append(past)
            w_self.append(ws[:, :, 0])
            w_cross.append(wc[:, :, 0])
        return self.dec_norm(x)[:, 0], new_cache, torch.stack(w_self, 1), torch.stack(w_cross, 1)

    def forward(self, src, lengths, tgt_in):
        """Training forward: decoder features (B, T, d) for the target prefix ``tgt_in``."""
        return self.decode(tgt_in, self.encode(src, lengths))[0]

    def loss(self, features: torch.Tensor, targets: torch.Tensor, smoothing: float = 0.0) -> torch.Tensor:
        """Mean cross-entropy over the real (non-pad) target positions, with label smoothing."""
        real = targets != PAD_ID
        return F.cross_entropy(self.logits(features[real]), targets[real], label_smoothing=smoothing)


def from_checkpoint(ckpt: Checkpoint) -> tuple[TransformerTranslator, Preprocessing]:
    """The model a Transformer translator checkpoint holds and how its input is tokenized."""
    model = load_weights(TransformerTranslator(config_from(TransformerConfig, ckpt)), ckpt)
    return model, Preprocessing.from_dict(ckpt.preprocessing)
