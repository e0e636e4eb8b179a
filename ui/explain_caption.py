"""The Caption page's "Explain" view for the selected word, and moving that word's attention.

``render(captioners, image, model, said, word, options)`` draws, side by side: where the word looked
(α), what its probability is sensitive to (gradient norm per cell) and the deletion curve, each with
its number; then a cell picker that decodes the caption again with the word's attention forced
there (model.caption.intervene), the new caption beside the original. Results are kept in
st.session_state per photo, model, caption and word, so reruns and page switches cost nothing.
"""
import hashlib

import numpy as np
import streamlit as st

from viz.caption_views import fit
from viz.explain import deletion_curve
from viz.overlay import attention_overlay

SIDE = 300  # longest side of each small map
HOW = ("**How to read it.** If attention explains the word, the cells it weights most should be the ones the "
       "word's probability is most sensitive to (high τ), and deleting them should hurt the word far more than "
       "deleting as many random cells (red line well below grey). Δ log p < 0: the word became less likely.")


def _image_key(image: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest()[:16]


def _annotations(captioners, image: np.ndarray):
    """The photo's annotations (1, N, D), encoded once per photo and kept in the session."""
    key = ("explain_feats", _image_key(image), id(captioners))
    store = st.session_state.setdefault("explain_cache", {})
    if key not in store:
        for k in [k for k in store if k[0] == "explain_feats"]:
            store.pop(k)  # one photo's annotations at a time
        store[key] = captioners.encode([captioners.pre.squash(image)])
    return store[key]


def _explanation(captioners, image, model: str, said, options):
    from model.caption.explain import explain_caption
    key = ("explain", _image_key(image), model, tuple(said.tokens), options.location)
    store = st.session_state.setdefault("explain_cache", {})
    if key not in store:
        while len(store) > 8:  # a few captions' explanations, the oldest dropped first
            store.pop(next(iter(store)))
        with st.spinner("Explaining every word…"):
            store[key] = explain_caption(captioners.bundles[model], _annotations(captioners, image), said, options)
    return store[key]


def maps(image, said, e, word: int, opacity: float):
    """Attention | gradient importance | deletion curve for word ``word``."""
    from model.caption.explain import K
    g = said.alphas.shape[-1]
    small = fit(image, SIDE)
    d = e.deletion(K)
    cols = st.columns(3)
    with cols[0]:
        st.image(attention_overlay(small, e.alphas[word].reshape(g, g), opacity), caption="attention α")
        st.metric("largest α", f"{e.alphas[word].max():.3f}")
        st.caption("Where the word looked: the map the page shows (for a hard model, the distribution its "
                   "location is drawn from).")
    with cols[1]:
        st.image(attention_overlay(small, e.saliency[word].reshape(g, g), opacity), caption="gradient importance")
        tau = e.rank_corr[word]
        st.metric("Kendall τ (α, gradient)", "n/a" if not np.isfinite(tau) else f"{tau:+.2f}")
        st.caption("How much log p(word) changes for a small change of each cell's features (‖∂ log p / ∂ a‖). "
                   "τ = 1: same ranking as α; 0: unrelated.")
    with cols[2]:
        curves = {"top": e.top[word], "random": e.random[word], "bottom": e.bottom[word]}
        st.plotly_chart(deletion_curve(e.ks, curves, K), width="stretch", key=f"explain_curve_{word}")
        st.metric(f"Δ log p, top {K:.0%} deleted", f"{d['top'][word]:+.3f}",
                  delta=f"{d['top'][word] - d['random'][word]:+.3f} vs random", delta_color="off")
        st.caption("The word's log-probability after the most attended, random or least attended cells are "
                   "replaced by the image's mean features at this word's step.")
    st.markdown(HOW)


def intervene(captioners, image, model: str, said, word: int, options, opacity: float, key: str):
    """Pick a cell for this word's step and decode the rest of the caption again."""
    from model.caption.intervene import force_caption, grid_force
    g = said.alphas.shape[-1]
    hard = captioners.bundles[model].model.config.attention == "hard" and options.location == "argmax"
    at = divmod(int(np.asarray(said.alphas[word]).argmax()), g)
    st.markdown(f"**Move the attention of “{said.words[word]}”.** Choose a cell; the words before it stay, the "
                + ("word reads that one cell" if hard else "word puts 90 % of its attention there")
                + " and the rest of the caption is decoded again.")
    a, b, c = st.columns([1, 1, 2])
    row = a.number_input("Row", 0, g - 1, at[0], key=f"{key}_row_{word}")
    col = b.number_input("Column", 0, g - 1, at[1], key=f"{key}_col_{word}")
    target = np.zeros((g, g), np.float32)
    target[row, col] = 1
    c.image(attention_overlay(fit(image, 200), target, opacity), caption=f"cell ({row}, {col})")
    request = (_image_key(image), model, tuple(said.tokens), word, int(row), int(col), options)
    if st.button("Decode again with the attention here", key=f"{key}_go"):
        try:
            forced = force_caption(captioners.bundles[model], _annotations(captioners, image), said,
                                   [grid_force(word, int(row), int(col), g)], options)
        except ValueError as e:
            st.error(f"Cannot force this step: {e}")
            return
        st.session_state[f"{key}_forced"] = (request, forced)
    done = st.session_state.get(f"{key}_forced")
    if not done or done[0] != request:
        return
    forced = done[1]
    left, right = st.columns(2)
    small = fit(image, SIDE)
    with left:
        st.markdown("**Original**")
        st.text(" ".join(said.words))
        st.image(attention_overlay(small, np.asarray(said.alphas[word], np.float32), opacity),
                 caption=f"“{said.words[word]}” (step {word})")
    with right:
        st.markdown("**With the attention moved**")
        st.text(forced.caption or "(empty caption)")
        if word < len(forced.words):
            st.image(attention_overlay(small, forced.alphas[word], opacity),
                     caption=f"“{forced.words[word]}” (step {word}), log p {forced.log_prob:.2f}")
        else:
            st.caption("The caption ended at this step.")


def render(captioners, image: np.ndarray, model: str, said, word: int, options, opacity: float = 0.6,
           key: str = "cap_explain") -> None:
    """The Explain view of word ``word`` of ``said`` (model ``model``'s caption of ``image``, decoded with
    ``options``: a model.caption.pipeline.CaptionOptions), then the intervention."""
    if not said.tokens:
        st.info("The caption is empty: there is no word to explain.")
        return
    if model in captioners.bundles and options.location == "sample" \
            and captioners.bundles[model].model.config.attention == "hard":
        st.info("Sampled locations are random at every step; choose the argmax location or all locations, "
                "weighted, to explain a word.")
        return
    word = min(max(word, 0), len(said.tokens) - 1)
    e = _explanation(captioners, image, model, said, options)
    maps(image, said, e, word, opacity)
    intervene(captioners, image, model, said, word, options, opacity, key)
