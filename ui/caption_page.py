"""Caption page: Show, Attend and Tell on your image, with soft and hard attention word by word.

The page opens on a sample photo already captioned by both models, drawn from the shipped opening
result (ui.caption_data), so the first screen needs neither torch nor a model. Any other photo or
setting runs the captioners, loaded once per process and shared read-only; everything per user
lives in st.session_state: the result, keyed by (image hash, settings), so clicking words never
runs the model again, and a copy of every input, so leaving the page and coming back loses nothing.
"""
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from ui import caption_panels, caption_words
from ui.caption_data import DEFAULT_OPTIONS, View, from_run, opening, opening_data

EXPECTED = "all locations, weighted by α (expected context)"
ARGMAX = "most likely location (argmax)"
SAMPLED = "sampled locations (seed, temperature, samples)"
HARD_HOW = {EXPECTED: "expected", ARGMAX: "argmax", SAMPLED: "sample"}  # the first is the default
MODES = {"soft": "soft", "hard": "hard", "both": "both, side by side"}
# every input of the page, with its default; the widgets take their values from here
DEFAULTS = {"cap_mode": "both", "cap_beam": DEFAULT_OPTIONS["beam"], "cap_per_word": DEFAULT_OPTIONS["per_word"],
            "cap_hard_how": next(k for k, v in HARD_HOW.items() if v == DEFAULT_OPTIONS["hard_how"]),
            "cap_seed": 0, "cap_temperature": 1.0, "cap_samples": 5, "cap_opacity": 0.6,
            "cap_explain_on": False, "caption_sample": None}  # None: the opening photo
KEPT = "cap_kept"  # copies of the inputs above, which Streamlit drops while another page is shown


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
    def decoding(self) -> dict:
        """The settings that change a caption, as DEFAULT_OPTIONS spells them (sampling aside)."""
        return {"beam": self.beam, "per_word": self.per_word, "hard_how": self.hard_how}


@st.cache_resource(show_spinner="Loading the captioner…", max_entries=2)
def get_captioners(files: tuple[tuple[str, str, int], ...]):
    """One encoder per set of decoder files and process, shared by every session.

    ``files`` holds (attention, path, mtime) so a re-shipped checkpoint is loaded without a restart.
    """
    from model.caption.pipeline import Captioners  # torch: only once a photo needs the models
    from ui.common import load_bundle
    return Captioners({name: load_bundle(Path(path)) for name, path, _ in files})


def restore_inputs():
    """Put back the inputs Streamlit dropped while another page was shown, or the defaults on a first visit."""
    kept = st.session_state.setdefault(KEPT, {})
    for key, default in DEFAULTS.items():
        if key not in st.session_state:
            value = kept.get(key, default)
            if key == "caption_sample" and value is None:
                value = (opening_data() or {}).get("image", "(none)")
            st.session_state[key] = value


def keep_inputs():
    st.session_state[KEPT] = {key: st.session_state[key] for key in DEFAULTS if key in st.session_state}


def controls(available: list[str]) -> Settings:
    modes = available + (["both"] if len(available) == 2 else [])
    if st.session_state["cap_mode"] not in modes:
        st.session_state["cap_mode"] = modes[0]
    left, middle, right = st.columns(3)
    mode = left.radio("Attention", modes, format_func=MODES.get, horizontal=True, key="cap_mode",
                      help="Soft: a weighted average over all locations. Hard: one location per word.")
    left.slider("Overlay opacity", 0.0, 1.0, step=0.05, key="cap_opacity",
                help="How strongly the attention colours cover the photo.")
    beam = middle.slider("Beam size (1 = greedy)", 1, 10, key="cap_beam",
                         help="How many partial captions are kept at each step.")
    per_word = middle.checkbox("Rank finished captions per word", key="cap_per_word", disabled=beam == 1,
                               help="Of the finished captions, return the best per word. Off: the best in "
                                    "total, which favours short captions (every word lowers the total).")
    models = tuple(available) if mode == "both" else (mode,)
    # the hard settings are kept while hidden, so the soft-only view of the opening photo is the shipped one too
    hard_how, seed, temperature, samples = HARD_HOW[st.session_state["cap_hard_how"]], 0, 1.0, 5
    if "hard" in models:
        how = right.radio("Hard attention looks at", list(HARD_HOW), key="cap_hard_how",
                          help="Trained with one sampled location per word (half the steps used the weighted "
                               "sum). The weighted sum writes its best captions; the argmax shows the one cell "
                               "it would choose.")
        hard_how = HARD_HOW[how]
        if hard_how == "sample":
            a, b, c = right.columns(3)
            seed = int(a.number_input("Seed", 0, 2**31 - 1, key="cap_seed"))
            temperature = b.slider("Temperature", 0.1, 3.0, step=0.1, key="cap_temperature",
                                   help="Of the location distribution: low is close to the argmax, high to uniform.")
            samples = c.slider("Samples", 1, 20, key="cap_samples",
                               help="Location sequences drawn; the caption the model finds most probable is kept.")
    return Settings(models, beam, per_word, hard_how, seed, temperature, samples)


def _options(s: Settings):
    """The model.caption.pipeline.CaptionOptions these settings decode with."""
    from model.caption.pipeline import CaptionOptions
    from model.core.decoding import CAPTION_ALPHA
    return CaptionOptions(s.beam, CAPTION_ALPHA if s.per_word else 0.0, s.hard_how, s.samples, s.seed, s.temperature)


def _run(files, image: np.ndarray, s: Settings) -> View:
    from model.caption.pipeline import caption
    captioners = get_captioners(files)
    return from_run(caption(captioners, image, s.models, _options(s)), captioners.bundles)


def explain(files, image: np.ndarray, view: View, s: Settings, opacity: float):
    """Whether the selected word's map explains it, measured, and the word's attention moved (ui.explain_caption).
    Off by default: it differentiates and decodes again, a few seconds on a CPU."""
    on = st.toggle("Measure the selected word: does its map explain it?", key="cap_explain_on",
                   help="Attention maps are often read as explanations; this tests the selected word's: gradient "
                        "importance, a deletion test, and moving its attention by hand to decode the rest again.")
    if not on:
        return
    from ui import explain_caption
    from ui.caption_data import shown_word
    if not any(s.words for s in view.captions.values()):
        st.info("No caption has words to explain.")
        return
    model, k = caption_words.selected(view)
    st.caption(f"{model} attention, word {k + 1}: “{shown_word(view.captions[model].words[k])}” "
               "(click another word above to explain it)")
    explain_caption.render(get_captioners(files), image, model, view.captions[model], k, _options(s), opacity)


def _shipped(name: str, s: Settings, paths: dict) -> View | None:
    """The opening result when it answers this photo and these settings (any subset of its models)."""
    view = opening(name, s.decoding, paths)
    if view is None or not set(s.models) <= set(view.captions):
        return None
    view.captions = {m: view.captions[m] for m in s.models}
    return view


def result(files, paths, image: np.ndarray, name: str, is_sample: bool, s: Settings) -> View | None:
    key = (hashlib.sha1(image.tobytes()).hexdigest(), image.shape, s, files)
    last = st.session_state.get("cap_result")
    if last is not None and last[0] == key:
        return last[1]
    view = _shipped(name, s, paths) if is_sample else None
    if view is None:
        from model.core.checkpoint import CheckpointError
        try:
            with st.spinner("Captioning…"):
                view = _run(files, image, s)
        except CheckpointError as e:
            st.error(f"The captioner could not be loaded: {e}")
            return None
        except (RuntimeError, ValueError) as e:
            st.error(f"The captioner failed on this image ({e}). Try another image or other settings.")
            return None
    if st.session_state.get("cap_result") and st.session_state["cap_result"][0][0] != key[0]:
        st.session_state.pop(caption_words.SELECTED, None)  # a new photo opens on its own best word
    st.session_state["cap_result"] = (key, view)
    return view


def photo(image_input, escape) -> tuple[np.ndarray | None, str, bool]:
    """The photo to caption: (image, name, whether it is a sample).

    Streamlit empties the uploader while another page is shown; the upload then comes back from the
    session and stays until the user uploads another photo or picks another sample.
    """
    returning = "caption_upload" not in st.session_state  # the uploader was dropped: back from another page
    image, name = image_input("caption")
    upload, sample = st.session_state.get("caption_upload"), st.session_state.get("caption_sample")
    kept = st.session_state.get("cap_photo")
    if upload is not None:
        if image is not None:
            st.session_state["cap_photo"] = {"image": image, "name": name, "sample": sample, "restored": False}
        return image, name, False
    if kept is not None and (returning or kept["restored"]) and kept["sample"] == sample:
        kept["restored"] = True
        st.caption(f"Still showing your upload {escape(kept['name'])}; upload or pick another photo to change it.")
        return kept["image"], kept["name"], False
    st.session_state.pop("cap_photo", None)  # the user removed the upload, or chose a sample
    return image, name, image is not None


def render():
    st.header("Caption: Show, Attend and Tell")
    st.caption("A CNN turns the photo into a 14×14 grid of features; an LSTM writes the caption and, for each "
               "word, a map of where it looked. Click a word to see its map.")
    from model.core import assets
    from ui.common import escape, image_input, missing_model
    restore_inputs()
    image, name, is_sample = photo(image_input, escape)
    paths = {a: assets.captioner(a) for a in ("soft", "hard")}
    for model, path in paths.items():
        missing_model(f"{model}-attention captioner", [path])
    available = [model for model, path in paths.items() if path.is_file()]
    if not available:
        return
    settings = controls(available)
    keep_inputs()
    if image is None:
        st.info("Upload an image or pick a sample.")
        return
    files = tuple((model, str(paths[model]), paths[model].stat().st_mtime_ns) for model in available)
    view = result(files, {m: paths[m] for m in available}, image, name, is_sample, settings)
    if view is None:
        return
    opacity = st.session_state["cap_opacity"]
    caption_words.columns(image, view, opacity, settings.hard_how)
    st.info(caption_panels.domain_line(view), icon=":material/menu_book:")
    caption_panels.strip(image, view, opacity)
    caption_panels.downloads(image, name, view)
    explain(files, image, view, settings, opacity)
    caption_panels.how_to_read(expanded=False)
    caption_panels.knows(view)
    caption_panels.advanced(image, view, opacity)
