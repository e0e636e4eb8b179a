"""From an image to captions with per-word attention maps: the one function the page and the CLI call.

``Captioners`` holds the soft and/or hard decoders (bundles from model.core.loader) and the one
encoder they share; ``caption`` squashes the image once, encodes it once and decodes it with each
chosen model. The model sees the image squashed to 224×224 (as Flickr8k was), so its 14×14 maps
are to be stretched back over the whole image.
"""
import time
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

from model.caption.decode import Decoded, beam_search, default_location, greedy, sample_best
from model.caption.encoder import Encoder, annotations
from model.core import assets
from model.core.attention import entropy
from model.core.decoding import CAPTION_ALPHA, CAPTION_NO_REPEAT, check_beam
from model.core.loader import Bundle, load

ATTENTIONS = ("soft", "hard")
# Where a hard model looks while decoding: its most likely location, every location weighted by
# alpha (how the authors' code decodes hard models to score them), or a location sampled per step.
LOCATIONS = ("argmax", "expected", "sample")


@dataclass(frozen=True)
class CaptionOptions:
    """How to decode, checked once here. A soft model always uses the expected context;
    ``location`` and the sampling settings apply to the hard model."""
    beam: int = 3  # 1 = greedy
    length_alpha: float = CAPTION_ALPHA  # ranking of finished beams (model.core.decoding): 1 per word, 0 total
    location: str = "argmax"  # one of LOCATIONS
    samples: int = 5  # location "sample": location sequences drawn; the most probable caption is kept
    seed: int = 0
    temperature: float = 1.0  # of the location distribution when sampling
    no_repeat: int = CAPTION_NO_REPEAT  # no word n-gram of this size twice in a caption; 0 allows repeats

    def __post_init__(self):
        check_beam(self.beam)
        if self.location not in LOCATIONS:
            raise ValueError(f"location must be one of {', '.join(LOCATIONS)}, got {self.location!r}")
        if self.length_alpha < 0:
            raise ValueError(f"length_alpha must be 0 or more, got {self.length_alpha}")
        if not 1 <= self.samples <= 50:
            raise ValueError(f"samples must be between 1 and 50, got {self.samples}")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be positive, got {self.temperature}")
        if self.no_repeat not in (0, 2, 3, 4):
            raise ValueError(f"no_repeat must be 0 (off), 2, 3 or 4, got {self.no_repeat}")


@dataclass
class Caption:
    caption: str
    words: list[str]
    tokens: list[int]
    alphas: np.ndarray  # (T, grid, grid): the weights used for each word, each map sums to 1
    betas: np.ndarray  # (T,): the gate, how much of the image each word let in
    log_prob: float
    decoder_ms: float

    @cached_property  # the page reads it, its fraction and near_uniform for every word on every rerun
    def entropy(self) -> np.ndarray:
        """(T,) entropy of each map in nats: 0 for one location, log N for a flat map."""
        p = torch.from_numpy(np.asarray(self.alphas, np.float64).reshape(len(self.alphas), -1))
        return entropy(p).clamp_min(0).numpy()  # a one-hot map gives 0, not -0

    @property
    def entropy_fraction(self) -> np.ndarray:
        """Entropy as a fraction of its maximum log N, so maps of any grid size compare."""
        n = self.alphas[0].size if len(self.alphas) else 1
        return self.entropy / np.log(n) if n > 1 else np.zeros(len(self.alphas))

    def near_uniform(self, fraction: float = 0.95) -> np.ndarray:
        """True per word whose map is nearly flat: the model looked nowhere in particular.

        Flat means entropy above ``fraction`` of log N, or no location holding even twice
        its uniform share 1/N (a map can be spread out yet peakless).
        """
        p = self.alphas.reshape(len(self.alphas), -1)
        return (self.entropy_fraction > fraction) | (p.max(1, initial=0) < 2 / max(p.shape[1], 1))

    @property
    def coverage(self) -> np.ndarray:
        """Σ_t α_t (grid, grid): all the attention each location got over the caption; the doubly
        stochastic regulariser of Xu et al. pushes it towards 1 everywhere."""
        return self.alphas.astype(np.float64).sum(0)

    def to_json(self) -> dict:
        return {"caption": self.caption, "tokens": self.words, "token_ids": self.tokens,
                "alphas": np.round(self.alphas, 5), "betas": np.round(self.betas, 5),
                "log_prob": round(self.log_prob, 4)}


@dataclass
class CaptionRun:
    captions: dict[str, Caption]  # per attention, in the order asked for
    seen: np.ndarray  # the squashed image the models saw
    encoder_ms: float
    device: str


class Captioners:
    """Captioner bundles that share one encoder (they must have been trained on the same one); a
    fine-tuned model shares its frozen lower blocks and runs its own upper ones."""

    def __init__(self, bundles: dict[str, Bundle]):
        if not bundles:
            raise ValueError("no captioner to load")
        pres = {b.preprocessing for b in bundles.values()}
        if len(pres) > 1:
            raise ValueError("the captioners were trained on different encoders; they cannot share one")
        self.bundles = bundles
        self.pre = pres.pop()
        self.device = next(iter(bundles.values())).device
        self.encoder = Encoder(self.pre).to(self.device)

    @classmethod
    def load(cls, paths: dict | None = None, device=None) -> "Captioners":
        """``paths``: attention -> checkpoint; default the shipped soft and hard files that exist."""
        if paths is None:
            paths = {a: assets.captioner(a) for a in ATTENTIONS if assets.captioner(a).is_file()}
        return cls({a: load(p, device, kind="captioner") for a, p in paths.items()})

    @torch.no_grad()
    def encode(self, seen: list[np.ndarray], name: str | None = None) -> torch.Tensor:
        """Squashed images -> (B, grid*grid, D) annotations for model ``name`` (default: the first loaded)."""
        name = name or next(iter(self.bundles))
        return self.encode_all(seen, [name])[name]

    @torch.no_grad()
    def encode_all(self, seen: list[np.ndarray], names) -> dict[str, torch.Tensor]:
        """Annotations per model: the package's blocks run once up to the lowest fine-tuned block; the
        frozen models share the package's upper blocks, each fine-tuned model runs its own (``top``)."""
        x = torch.stack([self.pre.normalise(im) for im in seen]).to(self.device)
        cuts = {n: self.bundles[n].model.config.finetune_from for n in names}
        start = min([c for c in cuts.values() if c], default=0)
        if not start:
            shared = annotations(*self.encoder(x))
            return {n: shared for n in names}
        below = self.encoder.lower(x, start)
        shared = annotations(*self.encoder.upper(below, start)) if not all(cuts.values()) else None
        return {n: annotations(*self.bundles[n].model.top(self.encoder.lower(below, c, start))) if c else shared
                for n, c in cuts.items()}


def decode(bundle: Bundle, feats: torch.Tensor, options: CaptionOptions) -> Decoded:
    """One model's caption of encoded images ``feats`` (1, N, D) under ``options``."""
    model, vocab = bundle.model, bundle.vocab["words"]
    start, end = vocab.start, vocab.end
    location = default_location(model, options.location)
    if location == "sample":
        return sample_best(model, feats, start, end, samples=options.samples, seed=options.seed,
                           temperature=options.temperature, no_repeat=options.no_repeat)
    if options.beam == 1:
        return greedy(model, feats, start, end, location=location, no_repeat=options.no_repeat)[0]
    return beam_search(model, feats, start, end, beam=options.beam, location=location,
                       length_alpha=options.length_alpha, no_repeat=options.no_repeat)


def caption(captioners: Captioners, image: np.ndarray, attentions=("soft",),
            options: CaptionOptions = CaptionOptions()) -> CaptionRun:
    """Caption one (H, W, 3) uint8 image with each of ``attentions`` (one shared encoder run)."""
    missing = [a for a in attentions if a not in captioners.bundles]
    if missing:
        raise ValueError(f"no {', '.join(missing)} captioner loaded (have: {', '.join(captioners.bundles)})")
    t0 = time.perf_counter()
    seen = captioners.pre.squash(image)
    feats = captioners.encode_all([seen], attentions)
    encoder_ms = 1000 * (time.perf_counter() - t0)
    out = {}
    for name in attentions:
        bundle = captioners.bundles[name]
        t1 = time.perf_counter()
        d = decode(bundle, feats[name], options)
        decoder_ms = 1000 * (time.perf_counter() - t1)
        words = bundle.vocab["words"].decode(d.tokens, strip=False)
        g = bundle.model.config.grid
        out[name] = Caption(" ".join(words), words, d.tokens, d.alphas.numpy().reshape(-1, g, g), d.betas.numpy(),
                            d.log_prob, decoder_ms)
    return CaptionRun(out, seen, encoder_ms, str(captioners.device))
