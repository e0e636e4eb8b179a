"""Caption page (placeholder until the captioner ships)."""
import streamlit as st

from ui.common import image_input, missing_model


def render():
    st.header("Caption: Show, Attend and Tell")
    image, name = image_input("caption")
    if image is not None:
        st.image(image, caption=f"{name} — {image.shape[1]}×{image.shape[0]}")
    missing_model("captioner", ["captioner_soft.pt", "captioner_hard.pt"])
