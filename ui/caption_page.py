"""Caption page: Show, Attend and Tell on your image, with soft and hard attention word by word.

The captioners (one encoder, the soft and/or hard decoders) are loaded once per process and
shared read-only; everything per user lives in st.session_state. The last result is kept there,
keyed by (image hash, settings), so stepping through the words never runs the model again.
"""
import hashlib
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import streamlit as st

from model.caption.pipeline import ATTENTIONS, CaptionOptions, Captioners, caption
from model.core import assets
from model.core.checkpoint import CheckpointError
from model.core.decoding import CAPTION_ALPHA
from ui.common import image_input, load_bundle, missing_model
from viz.caption_views import aligned_figure, caption_gif, fit
from viz.overlay import attention_overlay, figure_png, word_grid_figure

ARGMAX = "most likely location (argmax, beam)"
EXPECTED = "all locations, weighted (expected context, beam: how the paper scores it)"
SAMPLED = "sampled locations (seed, temperature, n samples; keep most probable)"
HARD_HOW = {ARGMAX: "argmax", EXPECTED: "expected", SAMPLED: "sample"}
HARD_LABEL = {"argmax": "most likely location", "expected": "weighted sum of locations", "sample": "sampled locations"}
MODES = {"soft": "soft", "hard": "hard", "both": "both, side by side"}
LARGE, THUMB, EXPORT = 1024, 320, 480  # longest side (px) of the big overlay, the word thumbnails, PNG/GIF
PER_ROW = 5  # word thumbnails per row for one model


@st.cache_resource(show_spinner="Loading the captioner…", max_entries=2)
def get_captioners(files: tuple[tuple[str, str, int], ...]) -> Captioners:
    """One encoder per set of decoder files and process, shared by every session.

    ``files`` holds (attention, path, mtime) so a re-shipped checkpoint is loaded without a restart.
    """
    return Captioners({name: load_bundle(Path(path)) for name, path, _ in files})


@dataclass(frozen=True)
class Settings:
    models: tuple[str, ...]
    beam: int
    per_word: bool  # rank finished beams by log-probability per word, not in total
    hard_how: str  # hard attention looks at: "argmax", "expected" (weighted sum) or "sample" (drawn locations)
    seed: int
    temperature: float
    samples: int

    @property
    def options(self) -> CaptionOptions:
        alpha = CAPTION_ALPHA if self.per_word else 0.0
        return CaptionOptions(self.beam, alpha, self.hard_how, self.samples, self.seed, self.temperature)


def _controls(available: list[str]) -> Settings:
    modes = available + (["both"] if len(available) == 2 else [])
    left, right = st.columns(2)
    mode = left.radio("Attention", modes, format_func=MODES.get, horizontal=True, key="cap_mode",
                      help="Soft: a weighted average over all locations. Hard: one location per word.")
    beam = right.slider("Beam size (1 = greedy)", 1, 10, 3, key="cap_beam",
                        help="How many partial captions are kept at each step.")
    per_word = right.checkbox("Rank finished captions per word", True, key="cap_per_word", disabled=beam == 1,
                              help="Beam search keeps the most probable partial captions; of the finished ones "
                                   "it returns the best per word. Off: the best in total, which favours short "
                                   "captions (every word lowers the total).")
    models = tuple(available) if mode == "both" else (mode,)
    hard_how, seed, temperature, samples = "argmax", 0, 1.0, 5
    if "hard" in models:
        how = st.radio("Hard attention looks at", list(HARD_HOW), horizontal=True, key="cap_hard_how",
                       help="The model was trained with sampled locations (half the steps used the weighted "
                            "sum). The argmax is its most likely choice; Xu et al.'s evaluation code decodes "
                            "hard models with the weighted sum, which writes better captions.")
        hard_how = HARD_HOW[how]
        if hard_how == "sample":
            a, b, c = st.columns(3)
            seed = int(a.number_input("Seed", 0, 2**31 - 1, 0, key="cap_seed"))
            temperature = b.slider("Temperature", 0.1, 3.0, 1.0, 0.1, key="cap_temperature",
                                   help="Of the location distribution: low is close to the argmax, high to uniform.")
            samples = c.slider("Samples", 1, 20, 5, key="cap_samples",
                               help="Location sequences drawn; the caption the model finds most probable is kept.")
    return Settings(models, beam, per_word, hard_how, seed, temperature, samples)


def grid_png(image: np.ndarray, caps: dict) -> bytes:
    """The per-word grid: one model's words in rows, or two models aligned word by word."""
    said = {name: c for name, c in caps.items() if c.words}
    if len(said) == 2:
        return figure_png(aligned_figure(image, {n: (c.words, c.alphas) for n, c in said.items()}))
    (name, c), = said.items()
    return figure_png(word_grid_figure(image, c.words, c.alphas, title=f"{name} attention: {c.caption}"))


def _run(captioners: Captioners, image: np.ndarray, s: Settings) -> dict:
    """Caption with every chosen model (one shared encoder run); draw the thumbnails and coverage maps once."""
    run = caption(captioners, image, s.models, s.options)
    caps = run.captions
    thumb, large = fit(image, THUMB), fit(image, LARGE)
    return {"run": run, "captions": caps, "hard_how": s.hard_how,
            "thumbs": {n: [attention_overlay(thumb, a) for a in c.alphas] for n, c in caps.items()},
            "coverage": {n: attention_overlay(large, c.coverage) for n, c in caps.items() if c.words}}


def _result(captioners, files, image: np.ndarray, s: Settings) -> dict | None:
    key = (hashlib.sha1(image.tobytes()).hexdigest(), image.shape, s, files)
    last = st.session_state.get("cap_result")
    if last is not None and last[0] == key:
        return last[1]
    try:
        with st.spinner("Captioning…"):
            result = _run(captioners, image, s)
    except (RuntimeError, ValueError) as e:
        st.error(f"The captioner failed on this image ({e}). Try another image or other settings.")
        return None
    st.session_state["cap_result"] = (key, result)
    return result


def _text(words) -> str:
    """Markdown-safe caption: <unk> and friends must show, not vanish as HTML tags."""
    return " ".join(words).replace("<", "\\<") or "(no words)"


def _word_view(large: np.ndarray, caps: dict):
    """A word slider and, per model, the chosen word's overlay at a large size with its β and entropy."""
    n = max(len(c.words) for c in caps.values())
    if n > 1:
        st.session_state["cap_word"] = min(st.session_state.get("cap_word", 1), n)  # a new caption may be shorter
        k = st.slider("Word", 1, n, key="cap_word", help="Step through the caption word by word.") - 1
    else:
        k = 0
    for column, (name, c) in zip(st.columns(len(caps)), caps.items()):
        with column:
            if k >= len(c.words):
                st.caption(f"The {name} caption has only {len(c.words)} words.")
                continue
            word, cells = c.words[k], c.alphas[k].size
            st.image(attention_overlay(large, c.alphas[k]), caption=f"{name}, word {k + 1}: {word}")
            st.caption(f"β = {c.betas[k]:.2f} (how much the image is let in) · attention entropy "
                       f"{c.entropy[k]:.2f} nats, {c.entropy_fraction[k]:.0%} of the maximum log {cells}")
            if c.near_uniform()[k]:
                st.warning(f"The map for “{word}” is nearly uniform: the model looked nowhere in particular "
                           "(common for words like “a” or “of”, which the language model writes on its own).")


def _word_table(c):
    st.dataframe({"word": c.words, "β": np.round(c.betas, 3), "entropy (nats)": np.round(c.entropy, 2),
                  "entropy / log N": np.round(c.entropy_fraction, 2), "nearly uniform": c.near_uniform()},
                 hide_index=True)


def _all_words(caps: dict, thumbs: dict):
    """Every word's overlay: one model in rows of thumbnails, two models aligned word by word."""
    if len(caps) == 1:
        (name, c), = caps.items()
        for start in range(0, len(c.words), PER_ROW):
            for column, i in zip(st.columns(PER_ROW), range(start, min(start + PER_ROW, len(c.words)))):
                column.image(thumbs[name][i], caption=f"{i + 1}. {c.words[i]}")
        return
    for column, name in zip(st.columns(len(caps)), caps):
        column.markdown(f"**{name}**")
    for i in range(max(len(c.words) for c in caps.values())):
        for column, (name, c) in zip(st.columns(len(caps)), caps.items()):
            if i < len(c.words):
                column.image(thumbs[name][i], caption=f"{i + 1}. {c.words[i]}")


def _show(image: np.ndarray, name: str, result: dict):
    caps = result["captions"]
    for column, (model, c) in zip(st.columns(len(caps)), caps.items()):
        with column:
            st.markdown(f"**{model} attention**"
                        + (f" · {HARD_LABEL[result['hard_how']]}" if model == "hard" else ""))
            st.markdown(f"### {_text(c.words)}")
            st.caption(f"log p = {c.log_prob:.2f} · decoder {c.decoder_ms:.0f} ms")
    run = result["run"]
    st.caption(f"Encoder (shared by the models): {run.encoder_ms:.0f} ms on {run.device}.")
    if not any(c.words for c in caps.values()):
        st.warning("The model ended the caption before writing a word; there are no maps to show.")
        return
    large = fit(image, LARGE)
    _word_view(large, caps)

    st.subheader("Every word")
    _all_words(caps, result["thumbs"])
    # the files are drawn only when asked for: a figure of 30 panels costs more than the captioning
    stem, export = Path(name).stem or "image", fit(image, EXPORT)
    left, right = st.columns(2)
    left.download_button("Download the per-word grid (PNG)", partial(grid_png, export, caps),
                         file_name=f"{stem}_caption_words.png", mime="image/png", key="cap_png",
                         on_click="ignore")
    for model, c in caps.items():
        if c.words:
            right.download_button(f"Download the {model} caption being written (GIF)",
                                  partial(caption_gif, export, c.words, c.alphas),
                                  file_name=f"{stem}_caption_{model}.gif", mime="image/gif", key=f"cap_gif_{model}",
                                  on_click="ignore")

    st.subheader("β and attention entropy per word")
    for column, (model, c) in zip(st.columns(len(caps)), caps.items()):
        with column:
            _word_table(c)

    st.subheader("Coverage: Σₜ α, all the attention each region got")
    seen = run.seen
    columns = st.columns(len(caps) + 2)
    columns[0].image(large, caption=f"Your image, {image.shape[1]}×{image.shape[0]}")
    columns[1].image(seen, caption=f"What the model saw: squashed to {seen.shape[1]}×{seen.shape[0]}")
    for column, (model, overlay) in zip(columns[2:], result["coverage"].items()):
        total = caps[model].coverage
        column.image(overlay, caption=f"{model}: Σₜ α from {total.min():.2f} to {total.max():.2f} per cell")
    st.caption("Training pushes Σₜ α towards 1 everywhere (the doubly stochastic penalty), so that every part "
               "of the image is looked at once over the caption. Hard attention counts the visits per cell.")


def render():
    st.header("Caption: Show, Attend and Tell")
    st.caption("A CNN turns the image into a 14×14 grid of features; an LSTM writes the caption and, for each "
               "word, a map of where it looked. The image is squashed to a square, as in training; the maps "
               "are stretched back over your image.")
    image, name = image_input("caption")
    paths = {a: assets.captioner(a) for a in ATTENTIONS}
    for model, path in paths.items():
        missing_model(f"{model}-attention captioner", [path])
    available = [model for model, path in paths.items() if path.is_file()]
    if not available:
        return
    settings = _controls(available)
    if image is None:
        st.info("Upload an image or pick a sample.")
        return
    files = tuple((model, str(paths[model]), paths[model].stat().st_mtime_ns) for model in available)
    try:
        captioners = get_captioners(files)
    except (CheckpointError, RuntimeError, ValueError) as e:
        st.error(f"The captioner could not be loaded: {e}")
        return
    with st.expander("About the loaded models"):
        for model, b in captioners.bundles.items():
            st.markdown(f"**{model}**: `{Path(b.path).name}`, {len(b.vocab['words']):,} words, "
                        f"LSTM {b.model.config.hidden_dim}, {b.model.config.score} scores")
            if b.metrics:
                st.json(b.metrics, expanded=False)
    result = _result(captioners, files, image, settings)
    if result is not None:
        _show(image, name, result)
