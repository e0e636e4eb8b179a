"""Spatial transformer page (placeholder until the STN ships)."""
import streamlit as st

from ui.common import image_input, missing_model


def render():
    st.header("Spatial transformer")
    image, name = image_input("stn")
    if image is not None:
        st.image(image, caption=name)
    missing_model("spatial transformer", ["stn_rts.pt"])
