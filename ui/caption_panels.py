"""The Caption page's panels below the large overlays: every word at a glance, the downloads, what the
model knows, how to read the maps, and the advanced numbers (β, entropy, coverage)."""
from functools import partial
from pathlib import Path

import numpy as np
import streamlit as st

from ui.caption_data import UNK, View, rare, shown_word
from viz.caption_views import aligned_figure, caption_gif, fit
from viz.overlay import attention_overlay, figure_png, word_grid_figure

THUMB, EXPORT = 120, 480  # longest side (px) of the word thumbnails, and of the PNG grid and GIF frames
PER_ROW = 10  # word thumbnails per row

HOW_TO_READ = """
- **Click a word** of a caption: the large picture shows where the model looked while writing it.
  Colour marks attention, brightest where it was strongest; places left in their own colours got almost none.
- **Soft** attention looks at every place at once, a little or a lot (α, the weights, sum to 1).
  **Hard** attention picks one of the 14×14 cells; its outlined square is that cell.
- The model saw the photo squashed to a 224×224 square; each map is stretched back over your photo.
- Words like “a”, “is”, “with” often have flat maps: the sentence, not the image, decides them.
- A wrong word is often a **data** limit, not an attention one: see “What this model knows”.
"""


def strip(image: np.ndarray, view: View, opacity: float):
    """Every word of every caption as a small overlay, in reading order; the photo first."""
    thumb = fit(image, THUMB)
    left, right = st.columns([1, 9])
    left.image(thumb, caption=f"Your image, {image.shape[1]}×{image.shape[0]}")
    with right:
        for name, s in view.captions.items():
            if not s.words:
                continue
            if len(view.captions) > 1:
                st.caption(f"{name} attention")
            for start in range(0, len(s.words), PER_ROW):  # one st.image per word: each its own element
                for column, i in zip(st.columns(PER_ROW), range(start, min(start + PER_ROW, len(s.words)))):
                    column.image(attention_overlay(thumb, s.alphas[i], opacity=opacity, mark=name == "hard"),
                                 caption=f"{i + 1}. {shown_word(s.words[i])}")


def grid_png(image: np.ndarray, caps: dict) -> bytes:
    """The per-word grid: one model's words in rows, or two models aligned word by word."""
    said = {name: c for name, c in caps.items() if c.words}
    if len(said) == 2:
        return figure_png(aligned_figure(image, {n: (c.words, c.alphas) for n, c in said.items()}))
    (name, c), = said.items()
    return figure_png(word_grid_figure(image, c.words, c.alphas, title=f"{name} attention: {c.caption}"))


def downloads(image: np.ndarray, name: str, view: View):
    """The PNG grid and one GIF per model; each file is drawn only when its button is pressed."""
    stem, export = Path(name).stem or "image", fit(image, EXPORT)
    caps = {n: s for n, s in view.captions.items() if s.words}
    buttons = st.columns(1 + len(caps))
    buttons[0].download_button("Download the per-word grid (PNG)", partial(grid_png, export, caps),
                               file_name=f"{stem}_caption_words.png", mime="image/png", key="cap_png",
                               on_click="ignore")
    for column, (model, s) in zip(buttons[1:], caps.items()):
        column.download_button(f"Download the {model} caption being written (GIF)",
                               partial(caption_gif, export, [shown_word(w) for w in s.words], s.alphas),
                               file_name=f"{stem}_caption_{model}.gif", mime="image/gif", key=f"cap_gif_{model}",
                               on_click="ignore")


def domain_line(view: View) -> str:
    """One sentence on the training data, with the counts that explain the commonest mistake."""
    total, c = view.training_captions, view.contrast
    if not total or "dog" not in c or "cat" not in c:
        return ("Trained on Flickr8k: 6,000 photos of people, dogs and outdoor scenes, 5 captions each. "
                "It can only say what those captions said.")
    return (f"Trained on Flickr8k: {total:,} captions of people, dogs and outdoor scenes. “dog” is in "
            f"{c['dog']:,} of them, “cat” in {c['cat']:,}: a model that rarely read “cat” calls most animals "
            "dogs. Data limits, not attention, explain many of its mistakes.")


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """A Markdown table of model words and numbers (a dataframe would import pandas on the first page run,
    ~1 s; the words come from the vocabulary, so they hold no Markdown). "(unknown word)" keeps its brackets."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def knows(view: View):
    """What this model knows: its training data, and how often it saw each word it wrote."""
    with st.expander("What this model knows"):
        st.markdown(domain_line(view) + " Research data: the photos belong to their Flickr owners.")
        if view.contrast:
            st.caption("Training captions containing… " + " · ".join(f"“{w}” {n:,}" for w, n in view.contrast.items()))
        total = view.training_captions
        for column, (name, s) in zip(st.columns(len(view.captions)), view.captions.items()):
            with column:
                if not s.words:
                    continue
                if s.counts is None:
                    st.caption(f"{name}: this checkpoint does not record how often training saw each word.")
                    continue
                words = list(dict.fromkeys(s.words))  # each word once, in caption order
                count = dict(zip(s.words, s.counts))
                st.markdown(table(("word", "training captions", "rare"),
                                  [(shown_word(w), f"{count[w]:,}", "yes" if rare(count[w], total) and w != UNK else "")
                                   for w in words]))
                scarce = [w for w in words if rare(count[w], total) and w != UNK]
                if scarce:
                    st.warning(f"{name}: " + ", ".join(f"“{w}” is in only {count[w]:,}" for w in scarce)
                               + f" of the {total:,} training captions: too few to learn it well.")
                if UNK in words:
                    st.info(f"{name}: “(unknown word)” stands for <unk>, any word seen in fewer than 5 training "
                            f"captions ({count[UNK]:,} captions had one); the model cannot spell those words.")


def how_to_read(expanded: bool):
    with st.expander("How to read this", expanded=expanded):
        st.markdown(HOW_TO_READ)


def advanced(image: np.ndarray, view: View, opacity: float):
    """β, attention entropy and coverage per word, each with one line on how to read it."""
    with st.expander("Advanced: β, entropy, coverage"):
        st.markdown("- **β** (0–1): the gate on the image; how much of what the model looked at reaches the "
                    "word. Low β: the word came from the sentence so far.\n"
                    "- **Entropy** (nats) of α: 0 when all attention is on one cell, log 196 = 5.28 when spread "
                    "evenly; *entropy / log N* puts it on 0–1.\n"
                    "- **Coverage** Σₜ α: all the attention each place got over the whole caption. Training "
                    "pushes it towards 1 everywhere, so that every part of the photo is looked at once.")
        caps = {n: s for n, s in view.captions.items() if s.words}
        for column, (name, s) in zip(st.columns(max(len(caps), 1)), caps.items()):
            with column:
                st.markdown(table(("word", "β", "entropy (nats)", "entropy / log N", "nearly uniform"),
                                  [(shown_word(w), f"{b:.3f}", f"{e:.2f}", f"{f:.2f}", "yes" if u else "")
                                   for w, b, e, f, u in zip(s.words, s.betas, s.entropy, s.entropy_fraction,
                                                            s.near_uniform)]))
                cover = s.coverage
                st.image(attention_overlay(fit(image, 360), cover, opacity=opacity),
                         caption=f"{name} coverage: Σₜ α from {cover.min():.2f} to {cover.max():.2f} per cell")
        st.caption(f"Encoder (shared by the models): {view.encoder_ms:.0f} ms on {view.device}; decoders "
                   + ", ".join(f"{n} {s.decoder_ms:.0f} ms" for n, s in view.captions.items())
                   + (" (measured when the opening result was made)" if view.cached else "") + ".")
