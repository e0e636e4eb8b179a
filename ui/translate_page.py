"""Translate page (placeholder until the translator ships)."""
import streamlit as st

from ui.common import missing_model


def render():
    st.header("Translate: attention alignments")
    missing_model("translator", ["translator_fr-en_additive.pt"])
