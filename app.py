"""attention-lens: see where neural networks look. Run: streamlit run app.py"""
import streamlit as st

from ui import about, caption_page, common, stn_page, translate_page

st.set_page_config(page_title="attention-lens", page_icon="👁", layout="wide")

PAGES = {
    "Caption": caption_page.render,
    "Translate": translate_page.render,
    "Spatial transformer": stn_page.render,
    "About": about.render,
}

st.sidebar.title("attention-lens")
page = st.sidebar.radio("Page", list(PAGES), key="page")
st.sidebar.caption(f"Device: **{common.device_label()}**")
PAGES[page]()
