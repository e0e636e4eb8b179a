"""Show, Attend and Tell decoder (Xu et al., 2015) with soft or hard attention.

Reading order: config, the decoder (initial state, one step, teacher-forced
forward), then the REINFORCE pieces that train hard attention.

Per step t, with annotations a_i (the 14×14 encoder grid) and state h_{t-1}:
    alpha_t = softmax(score(h_{t-1}, a))                 attention weights
    z_t     = beta_t * sum_i alpha_ti a_i (soft)  or  beta_t * a_{s_t}, s_t ~ alpha_t (hard)
    beta_t  = sigmoid(f_beta(h_{t-1}))                   gating scalar (section 4.2.1)
    h_t     = LSTM([E y_{t-1}; z_t], h_{t-1})
    p(y_t)  = softmax(L_o tanh(E y_{t-1} + L_h h_t + L_z z_t))   deep output layer
"""
import warnings
from dataclasses import dataclass, replace

import torch
import torch.nn as nn
import torch.nn.functional as F

from model.caption.encoder import FEATURE_DIM, PREPROCESSING, Encoder, EncoderTop, Preprocessing
from model.core.attention import Attention, AttentionConfig, entropy, hard_attention, soft_attention
from model.core.checkpoint import Checkpoint, config_from, load_weights


@dataclass
class CaptionerConfig:
    vocab_size: int = 2600
    feature_dim: int = FEATURE_DIM
    grid: int = 14  # annotations form a grid×grid map
    embed_dim: int = 256
    hidden_dim: int = 512
    attn_dim: int = 256
    score: str = "additive"
    attention: str = "soft"  # "soft" or "hard"
    dropout: float = 0.5
    max_len: int = 30  # decoding always stops after this many words
    # 0: the encoder is the weight package's, frozen. n: the model carries its own fine-tuned copy of
    # the encoder from block n up (``top``), run on the package's blocks below n (model.caption.pipeline).
    finetune_from: int = 0
    # Inference precision of the matrices read at every step, applied at load (with_precision);
    # training is always fp32 and the file's weights are the same whatever this says.
    precision: str = "fp32"


@dataclass
class StepOut:
    logits: torch.Tensor  # (B, V)
    alpha: torch.Tensor  # (B, N): the distribution over locations
    weights: torch.Tensor  # (B, N): what was used: alpha (soft/expected) or one-hot (hard)
    beta: torch.Tensor  # (B,)
    loc_log_prob: torch.Tensor | None  # (B,) log p(s_t) when a location was sampled


class Captioner(nn.Module):
    def __init__(self, config: CaptionerConfig, pre: Preprocessing = PREPROCESSING):
        super().__init__()
        if config.attention not in ("soft", "hard"):
            raise ValueError(f"attention must be 'soft' or 'hard', got {config.attention!r}")
        if config.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {config.precision!r}")
        self.config = config
        d, h, e = config.feature_dim, config.hidden_dim, config.embed_dim
        # stride-16 and head features have different scales; a learned norm evens them out
        self.norm = nn.LayerNorm(d)
        self.embed = nn.Embedding(config.vocab_size, e)
        self.init_h = nn.Linear(d, h)
        self.init_c = nn.Linear(d, h)
        self.attend = Attention(AttentionConfig(config.score, query_dim=h, key_dim=d, attn_dim=config.attn_dim))
        self.f_beta = nn.Linear(h, 1)
        self.lstm = nn.LSTMCell(e + d, h)
        self.L_h = nn.Linear(h, e)
        self.L_z = nn.Linear(d, e)
        self.L_o = nn.Linear(e, config.vocab_size)
        self.drop = nn.Dropout(config.dropout)
        # the architecture only: training copies the package's weights in, loading the checkpoint's
        self.top = EncoderTop(Encoder(pre, pretrained=False), config.finetune_from) if config.finetune_from else None

    def prepare(self, annotations: torch.Tensor):
        """Per-image work done once: normalised keys, their projection, the initial state."""
        keys = self.norm(annotations)
        mean = keys.mean(1)
        state = (torch.tanh(self.init_h(mean)), torch.tanh(self.init_c(mean)))
        return keys, self.attend.precompute(keys), state

    def step(self, prev_word, state, keys, projected, *, location: str = "expected",
             generator: torch.Generator | None = None, temperature: float = 1.0):
        """One decoding step. ``location``: 'expected' (soft), 'sample' or 'argmax' (hard)."""
        h, c = state
        scores = self.attend.scores(h, keys, projected=projected)
        loc_log_prob = None
        if location == "expected":
            z, alpha = soft_attention(scores, keys)
            weights = alpha
        elif location in ("sample", "argmax"):
            hard = hard_attention(scores, keys, sample=location == "sample", temperature=temperature,
                                  generator=generator)
            z, alpha, weights, loc_log_prob = hard.context, hard.probs, hard.weights, hard.log_prob
        else:
            raise ValueError(f"location must be 'expected', 'sample' or 'argmax', got {location!r}")
        beta = torch.sigmoid(self.f_beta(h))
        z = beta * z
        emb = self.embed(prev_word)
        h, c = self.lstm(torch.cat([emb, z], dim=1), (h, c))
        logits = self.L_o(self.drop(torch.tanh(emb + self.L_h(self.drop(h)) + self.L_z(z))))
        return (h, c), StepOut(logits, alpha, weights, beta.squeeze(1), loc_log_prob)

    def forward(self, annotations, ids, *, generator=None, semi_sampling: float = 0.5):
        """Teacher-forced pass over captions ``ids`` (B, T) that start with <start>.

        Returns logits (B, T-1, V), alphas (B, T-1, N), betas (B, T-1) and, for
        the hard model, the per-step log-probability of the sampled locations
        (0 at steps that used the expected context: semi-sampling, section 4.1).
        """
        keys, projected, state = self.prepare(annotations)
        logits, alphas, betas, loc_lp = [], [], [], []
        for t in range(ids.size(1) - 1):
            location = "expected"
            if self.config.attention == "hard":
                coin = torch.rand((), generator=generator, device=generator.device) if generator else torch.rand(())
                location = "expected" if coin < semi_sampling else "sample"
            state, out = self.step(ids[:, t], state, keys, projected, location=location, generator=generator)
            logits.append(out.logits)
            alphas.append(out.alpha)
            betas.append(out.beta)
            loc_lp.append(out.loc_log_prob if out.loc_log_prob is not None else out.beta.new_zeros(ids.size(0)))
        return torch.stack(logits, 1), torch.stack(alphas, 1), torch.stack(betas, 1), torch.stack(loc_lp, 1)


# Decoding reads the gate matrices of the LSTM (16.9 MB in fp32), the deep output layer and the
# attention query once per step, for a few hypotheses: it is bound by memory, not arithmetic. These
# are the matrices a lower precision applies to; everything else (the state, the attention weights,
# the softmax) stays fp32, and so do the per-image layers (norm, init, key projection).
STEP_LAYERS = ("lstm", "L_h", "L_z", "L_o", "attend.W_s")
LOW = {"bf16": torch.bfloat16, "fp16": torch.float16}
PRECISIONS = ("fp32", *LOW, "int8")  # int8: dynamic quantisation (torch.ao), CPU only


class LowLinear(nn.Module):
    """An nn.Linear whose weight is kept in bf16/fp16; it takes and returns fp32."""

    def __init__(self, linear: nn.Linear, dtype: torch.dtype):
        super().__init__()
        self.register_buffer("weight", linear.weight.detach().to(dtype))
        self.register_buffer("bias", None if linear.bias is None else linear.bias.detach().float())

    def forward(self, x):
        y = F.linear(x.to(self.weight.dtype), self.weight).float()
        return y if self.bias is None else y + self.bias


class LowLSTMCell(nn.Module):
    """An nn.LSTMCell with [W_ih W_hh] as one bf16/fp16 matrix (one read per step); gates and state in fp32."""

    def __init__(self, cell: nn.LSTMCell, dtype: torch.dtype):
        super().__init__()
        self.register_buffer("weight", torch.cat([cell.weight_ih, cell.weight_hh], 1).detach().to(dtype))
        self.register_buffer("bias", (cell.bias_ih + cell.bias_hh).detach().float())

    def forward(self, x, state):
        h, c = state
        gates = F.linear(torch.cat([x, h], 1).to(self.weight.dtype), self.weight).float() + self.bias
        i, f, g, o = gates.chunk(4, 1)  # nn.LSTMCell's order
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c


def with_precision(model: Captioner, precision: str) -> Captioner:
    """``model`` (eval only) with its STEP_LAYERS in ``precision``; fp32 leaves it as trained."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    model.config = replace(model.config, precision=precision)
    modules = dict(model.named_modules())
    layers = [n for n in STEP_LAYERS if n in modules]  # W_s: the additive score's query projection
    if precision == "int8":
        with warnings.catch_warnings():  # torch.ao's deprecation notices, on every load otherwise
            warnings.simplefilter("ignore")
            from torch.ao.quantization import quantize_dynamic
            return quantize_dynamic(model.eval(), set(layers), dtype=torch.qint8, inplace=True)
    if precision in LOW:
        for name in layers:
            parent, _, leaf = name.rpartition(".")
            old, dtype = modules[name], LOW[precision]
            setattr(model.get_submodule(parent), leaf,
                    LowLSTMCell(old, dtype) if isinstance(old, nn.LSTMCell) else LowLinear(old, dtype))
    return model.eval()


def from_checkpoint(ckpt: Checkpoint) -> tuple[Captioner, Preprocessing]:
    """The decoder a captioner checkpoint holds, at the precision its config names, and the encoder
    preprocessing it was trained with (model.core.loader calls this for kind 'captioner')."""
    pre = Preprocessing.from_dict(ckpt.preprocessing)
    model = load_weights(Captioner(config_from(CaptionerConfig, ckpt), pre), ckpt)
    return with_precision(model, model.config.precision), pre


def doubly_stochastic(alphas: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """sum_i (1 - sum_t alpha_ti)^2 per caption: pushes the model to look at every location once.

    Xu et al. eq. 14 has the target 1 (tau/L with tau = L); ``mask`` (B, T) drops padded steps.
    """
    coverage = (alphas * mask.unsqueeze(-1)).sum(1)
    return ((1 - coverage) ** 2).sum(-1)


class MovingBaseline:
    """b_k = decay * b_{k-1} + (1 - decay) * mean reward: the REINFORCE baseline of Xu et al."""

    def __init__(self, decay: float = 0.9, value: float = 0.0):
        self.decay, self.value, self.started = decay, value, False

    def update(self, reward: torch.Tensor) -> float:
        r = reward.detach().mean().item()
        self.value = r if not self.started else self.decay * self.value + (1 - self.decay) * r
        self.started = True
        return self.value


def reinforce_loss(loc_log_prob: torch.Tensor, reward: torch.Tensor, baseline: float,
                   probs: torch.Tensor | None = None, mask: torch.Tensor | None = None,
                   entropy_weight: float = 0.0) -> torch.Tensor:
    """Surrogate loss whose gradient is -(R - b) * d log p(s) - lambda_e * d H(alpha).

    ``loc_log_prob`` (B, T): log p of each sampled location; ``reward`` (B,):
    log p(y | s, a) of the caption, treated as a constant.
    """
    mask = torch.ones_like(loc_log_prob) if mask is None else mask
    advantage = (reward.detach() - baseline).unsqueeze(1)
    loss = -(advantage * loc_log_prob * mask).sum(1).mean()
    if probs is not None and entropy_weight:
        loss = loss - entropy_weight * (entropy(probs) * mask).sum(1).mean()
    return loss
