"""From an uploaded image to a caption with per-word attention maps.

``CaptionPipeline`` holds one shared encoder and the soft and/or hard decoders
loaded from checkpoints; ``caption`` runs one image through one of them. The
model sees the image squashed to 224×224 (as Flickr8k was), so its 14×14 maps
are to be stretched back over the whole uploaded image.
"""
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from model.caption_decode import LOCATIONS, Decoded, beam_search, default_location, greedy, sample_best
from model.captioner import Captioner, CaptionerConfig
from model.checkpoint import Checkpoint, config_from, load_checkpoint, load_weights
from model.encoder import Encoder, Preprocessing, annotations
from model.vocab import Vocab
from viz.images import squash

ASSETS = Path(__file__).resolve().parent.parent / "assets"
CHECKPOINTS = {"soft": ASSETS / "captioner_soft.pt", "hard": ASSETS / "captioner_hard.pt"}
DECODINGS = ("beam", "greedy", "sample")  # "sample": hard attention with sampled locations


@dataclass
class Caption:
    caption: str
    words: list[str]
    tokens: list[int]
    alphas: np.ndarray  # (T, grid, grid), each map sums to 1
    betas: np.ndarray  # (T,)
    log_prob: float
    seen: np.ndarray  # the 224×224 image the model saw
    timings_ms: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"caption": self.caption, "tokens": self.words, "token_ids": self.tokens,
                "alphas": np.round(self.alphas, 5).tolist(), "betas": np.round(self.betas, 5).tolist(),
                "log_prob": round(self.log_prob, 4)}


class CaptionModel:
    """One trained decoder with its vocabulary and preprocessing."""

    def __init__(self, ckpt: Checkpoint, device):
        self.config = config_from(CaptionerConfig, ckpt)
        self.decoder = load_weights(Captioner(self.config), ckpt).to(device).eval()
        self.vocab = Vocab(ckpt.vocab["words"])
        self.pre = Preprocessing.from_dict(ckpt.preprocessing)
        self.metrics, self.path = ckpt.metrics, ckpt.path


class CaptionPipeline:
    def __init__(self, paths: dict[str, Path] | None = None, device="cpu"):
        paths = CHECKPOINTS if paths is None else paths
        self.device = torch.device(device)
        self.models = {name: CaptionModel(load_checkpoint(p, kind="captioner", map_location="cpu"), self.device)
                       for name, p in paths.items()}
        pre = next(iter(self.models.values())).pre
        if any(m.pre != pre for m in self.models.values()):
            raise ValueError("the captioners were trained on different encoders; they cannot share one")
        self.pre = pre
        self.encoder = Encoder(pre).to(self.device)

    @torch.no_grad()
    def encode(self, images: list[np.ndarray]) -> torch.Tensor:
        """Images -> (B, grid*grid, D) annotations."""
        x = torch.stack([self.pre.image_tensor(im) for im in images]).to(self.device)
        return annotations(*self.encoder(x))

    def caption(self, image: np.ndarray, attention: str = "soft", decoding: str = "beam", beam: int = 3,
                seed: int = 0, temperature: float = 1.0, samples: int = 5, location: str = "argmax",
                feats: torch.Tensor | None = None, length_norm: bool = True) -> Caption:
        """Caption one (H, W, 3) uint8 image. Pass ``feats`` (from ``encode``) to share the encoder run.

        ``location`` (one of LOCATIONS) applies to the hard model's beam and greedy decoding; the soft
        model always uses the expected context. ``length_norm``: beam search returns the finished caption
        with the best log-probability per word (else in total, which favours short captions).
        """
        if attention not in self.models:
            raise ValueError(f"no {attention!r} captioner loaded (have: {', '.join(self.models)})")
        if decoding not in DECODINGS:
            raise ValueError(f"decoding must be one of {DECODINGS}, got {decoding!r}")
        if location not in LOCATIONS:
            raise ValueError(f"location must be one of {tuple(LOCATIONS)}, got {location!r}")
        m = self.models[attention]
        where = default_location(m.decoder, location)
        t0 = time.perf_counter()
        if feats is None:
            feats = self.encode([image])
        t1 = time.perf_counter()
        start, end = m.vocab.start, m.vocab.end
        if decoding == "sample":
            if m.config.attention != "hard":
                raise ValueError("sampled locations need the hard-attention model")
            d: Decoded = sample_best(m.decoder, feats, start, end, samples=samples, seed=seed,
                                     temperature=temperature)
        elif decoding == "greedy" or beam == 1:
            d = greedy(m.decoder, feats, start, end, location=where)[0]
        else:
            d = beam_search(m.decoder, feats, start, end, beam=beam, location=where, length_norm=length_norm)
        t2 = time.perf_counter()
        words = m.vocab.decode(d.tokens, strip=False)
        g = m.config.grid
        return Caption(caption=" ".join(words), words=words, tokens=d.tokens,
                       alphas=d.alphas.numpy().reshape(-1, g, g), betas=d.betas.numpy(), log_prob=d.log_prob,
                       seen=squash(image, self.pre.image_size),
                       timings_ms={"encoder": 1000 * (t1 - t0), "decoder": 1000 * (t2 - t1)})
