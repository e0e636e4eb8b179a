"""About page: what the app shows, where the models and data come from."""
import streamlit as st

from model.core import assets


def render():
    st.header("About attention-lens")
    st.markdown("""
attention-lens shows **where neural networks look**, on your own images and sentences:

- **Caption** — Show, Attend and Tell (Xu et al., 2015): a CNN feature grid, an LSTM decoder and a
  per-word attention map, with *soft* (weighted sum) and *hard* (one sampled location, trained
  with REINFORCE) attention side by side.
- **Translate** — a sequence-to-sequence GRU with Bahdanau/Luong attention (dot, general, concat,
  additive scores) and its source–target alignment matrix.
- **Spatial transformer** — Jaderberg et al., 2015: a localisation net predicts an affine
  transform; the sampling grid is drawn on your image next to the transformed output.

Models run on the GPU when there is one, on the CPU otherwise (see the sidebar).
""")
    cards = sorted(assets.assets_dir().glob("*.card.md"))
    st.subheader("Shipped models")
    if not cards:
        st.write("No trained model has been shipped yet.")
    for card in cards:
        with st.expander(card.name.removesuffix(".card.md")):
            st.markdown(card.read_text())
    licenses = assets.SAMPLES / "LICENSES.md"
    if licenses.is_file():
        with st.expander("Sample images and their licenses"):
            st.markdown(licenses.read_text())
