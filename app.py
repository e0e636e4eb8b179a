"""attention-lens: see where neural networks look. Run: streamlit run app.py

Pages are imported when shown (importlib), so the first page is drawn without importing torch or
the other pages; once it is drawn, ui.common.warm_up loads torch and every page's models in the
background, once per process.
"""
import importlib

import streamlit as st

from ui import common

st.set_page_config(page_title="attention-lens", page_icon=":material/visibility:", layout="wide")

PAGES = {  # page name -> its module, which has render() and may have warm() (load its models)
    "Caption": "ui.caption_page",
    "Translate": "ui.translate_page",
    "Transformer": "ui.transformer_page",
    "Spatial transformer": "ui.stn_page",
    "Attention lab": "ui.lab_page",
    "About": "ui.about",
}

st.sidebar.title("attention-lens")
page = st.sidebar.radio("Page", list(PAGES), key="page")
common.sidebar_device()
importlib.import_module(PAGES[page]).render()
common.warm_up(tuple(PAGES.values()))
