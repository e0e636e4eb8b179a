"""The app shell as a user meets it: every page opens, uploads work or fail politely."""
import io

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

PAGES = {"Caption": "Caption", "Translate": "Translate", "Transformer": "Transformer",
         "Spatial transformer": "Spatial transformer", "Attention lab": "Attention lab",
         "About": "About attention-lens"}  # page -> start of its header


def png(w=64, h=32):
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (h, w, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def open_page(page):
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.run()
    at.sidebar.radio(key="page").set_value(page).run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("page", PAGES)
def test_every_page_opens_and_shows_the_device(page):
    at = open_page(page)
    assert at.header[0].value.startswith(PAGES[page])
    assert any("Device" in c.value for c in at.sidebar.caption)


@pytest.mark.parametrize("page", ["Caption", "Spatial transformer"])
def test_upload_a_png_and_a_non_image(page):
    at = open_page(page)
    key = "caption_upload" if page == "Caption" else "stn_upload"
    at.file_uploader(key=key).set_value(("wide.png", png(), "image/png")).run()
    assert not at.exception and not at.error
    at.file_uploader(key=key).set_value(("notes.jpg", b"this is not a picture", "image/jpeg")).run()
    assert not at.exception
    assert any("not an image" in e.value for e in at.error)
    at.sidebar.radio(key="page").set_value("About").run()  # the session keeps working
    assert not at.exception and at.header[0].value == "About attention-lens"
