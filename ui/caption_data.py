"""What the Caption page shows, from a live run of the models or from the shipped opening result.

``Said`` is one model's caption with everything the page draws from it; ``View`` is a photo's
captions. Both come either from ``model.caption.pipeline`` (``from_run``) or from
assets/samples/opening_caption.json (``opening``, made by ``python -m train.caption.opening``),
which lets the page open on a captioned photo without importing torch or loading a model.
Nothing here imports torch at module level.
"""
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import streamlit as st

SAMPLES = Path(__file__).resolve().parents[1] / "assets" / "samples"
OPENING = SAMPLES / "opening_caption.json"
UNK = "<unk>"
CONTRAST = ("dog", "man", "woman", "people", "boy", "girl", "cat", "bird", "car")  # words that show the domain


@dataclass
class Said:
    """One model's caption and its per-word numbers (as model.caption.pipeline.Caption measures them)."""
    words: list[str]
    tokens: list[int]
    alphas: np.ndarray  # (T, grid, grid): the weights used for each word
    betas: np.ndarray  # (T,)
    log_prob: float
    decoder_ms: float
    entropy: np.ndarray  # (T,) nats
    entropy_fraction: np.ndarray  # (T,) of log N
    near_uniform: np.ndarray  # (T,) bool
    counts: list[int] | None = None  # per word: training captions that contain it (None: not in the file)

    @property
    def caption(self) -> str:
        return " ".join(self.words)

    @property
    def coverage(self) -> np.ndarray:
        """Σ_t α_t per location: all the attention each place got over the caption."""
        return self.alphas.astype(np.float64).sum(0)


@dataclass
class View:
    captions: dict[str, Said]  # per model, in the order shown
    encoder_ms: float
    device: str
    training_captions: int | None = None  # how many captions the models were trained on
    contrast: dict[str, int] = field(default_factory=dict)  # word -> training captions, for the domain line
    metrics: dict[str, dict] = field(default_factory=dict)  # per model, from its checkpoint
    cached: bool = False  # drawn from the shipped opening result


def said_from_caption(c, counts: list[int] | None) -> Said:
    return Said(c.words, list(c.tokens), np.asarray(c.alphas, np.float32), np.asarray(c.betas), c.log_prob,
                c.decoder_ms, np.asarray(c.entropy), np.asarray(c.entropy_fraction), np.asarray(c.near_uniform()),
                [counts[t] for t in c.tokens] if counts else None)


def from_run(run, bundles: dict) -> View:
    """A pipeline CaptionRun and the bundles that made it (for word counts and metrics)."""
    counts = {name: b.data.get("word_counts") for name, b in bundles.items()}
    first = next(iter(bundles.values()))
    wc, vocab = counts[next(iter(bundles))], first.vocab["words"]
    return View({n: said_from_caption(c, counts[n]) for n, c in run.captions.items()}, run.encoder_ms, run.device,
                wc[vocab.start] if wc else None,
                {w: wc[vocab.stoi[w]] for w in CONTRAST if wc and w in vocab.stoi},
                {n: b.metrics for n, b in bundles.items()})


@st.cache_data(show_spinner=False, max_entries=8)
def _sha256(path: str, mtime_ns: int, size: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_sha256(path: Path) -> str | None:
    """Hashed once per file version and process (~30 ms for a 16 MB checkpoint)."""
    try:
        s = path.stat()
    except OSError:
        return None
    return _sha256(str(path), s.st_mtime_ns, s.st_size)


@st.cache_data(show_spinner=False, max_entries=1)
def _read_opening(path: str, mtime_ns: int) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def opening_data() -> dict | None:
    """The shipped opening result, or None when there is none (or it cannot be read)."""
    try:
        return _read_opening(str(OPENING), OPENING.stat().st_mtime_ns)
    except (OSError, ValueError):
        return None


def opening(image_name: str, options: dict, files: dict[str, Path]) -> View | None:
    """The shipped result for this sample photo and these settings, if it was made from exactly the
    photo and checkpoint files there now; None otherwise (the page then runs the models)."""
    data = opening_data()
    if (data is None or data["image"] != image_name or data["options"] != options
            or set(data["files"]) != set(files)
            or file_sha256(SAMPLES / image_name) != data["image_sha256"]
            or any(file_sha256(path) != data["files"][name] for name, path in files.items())):
        return None
    caps = {n: Said(c["words"], c["tokens"], np.asarray(c["alphas"], np.float32), np.asarray(c["betas"]),
                    c["log_prob"], c["decoder_ms"], np.asarray(c["entropy"]), np.asarray(c["entropy_fraction"]),
                    np.asarray(c["near_uniform"]), c["counts"])
            for n, c in data["captions"].items()}
    return View(caps, data["encoder_ms"], data["device"], data["training_captions"], data["contrast"],
                data["metrics"], cached=True)


def shown_word(word: str) -> str:
    """How a caption word is written on the page: <unk> is not a word a user should read."""
    return "(unknown word)" if word == UNK else word


def rare(count: int | None, total: int | None) -> bool:
    """Seen in fewer than 1 in 300 training captions (100 of Flickr8k's 30,000): too few to learn it well."""
    return count is not None and total is not None and count < total / 300


# The page's default settings, which the shipped opening result is made with (train.caption.opening):
# beam 3 ranked per word, as the models are scored; the hard model with the expected context, its better
# decoding by the numbers (caption_words.hard_note quotes them).
DEFAULT_OPTIONS = {"beam": 3, "per_word": True, "hard_how": "expected"}
