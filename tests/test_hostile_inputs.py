"""Hostile uploads, one table: each gets a plain message or a correct result, never a traceback,
and the page captions the next good image as if nothing had happened.

HOSTILE (tests/hostile.py) is the README's "Hostile inputs" table; tests/e2e uploads the same
files through Chromium's real file input.
"""
import numpy as np
import pytest

from tests.hostile import HOSTILE, HOSTILE_TEXT, rgba_png
from tests.caption.test_page import captions, open_caption_page, png, rerun
from model.core.images import ImageLoadError, load_image


@pytest.mark.parametrize("name", HOSTILE)
def test_load_image_gives_a_plain_message_or_an_upright_rgb_image(name):
    _, make, expected = HOSTILE[name]
    if isinstance(expected, str):
        with pytest.raises(ImageLoadError, match=expected):
            load_image(make())
    else:
        image = load_image(make())
        assert image.shape == (*expected, 3) and image.dtype == np.uint8


def test_transparent_pixels_show_as_white_and_opaque_ones_keep_their_colour():
    image = load_image(rgba_png())
    assert image[:, 40].tolist() == [[255, 255, 255]] * 30
    assert image[:, 5].tolist() == [[200, 0, 0]] * 30


def test_every_hostile_upload_on_the_caption_page_then_a_good_one(tiny_dir):
    at = open_caption_page(tiny_dir)
    rerun(at, tiny_dir, lambda at: at.radio(key="cap_mode").set_value("both"))
    def upload(at, filename, data):
        return at.file_uploader(key="caption_upload").set_value((filename, data, "application/octet-stream"))

    for name, (filename, make, expected) in HOSTILE.items():
        rerun(at, tiny_dir, lambda at: upload(at, filename, make()))
        errors = " ".join(e.value for e in at.error)
        if isinstance(expected, str):
            assert expected in errors and not captions(at), name
        else:
            assert not errors and len(captions(at)) == 2, name  # soft and hard
    rerun(at, tiny_dir, lambda at: upload(at, "fine.png", png()))
    assert not at.error and len(captions(at)) == 2


@pytest.fixture(scope="module")
def translate_page():
    from streamlit.testing.v1 import AppTest

    from model.core import assets
    if not assets.translator("additive", "fr-en").is_file():
        pytest.skip("the fr-en translator is not shipped")
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.run()
    at.sidebar.radio(key="page").set_value("Translate").run()
    return at


@pytest.mark.parametrize("name", HOSTILE_TEXT)
def test_hostile_text_gets_a_message_or_a_translation_with_unknown_words_flagged(translate_page, name):
    text, expected = HOSTILE_TEXT[name]
    at = translate_page
    at.text_area(key="tr_text").set_value(text).run()
    assert not at.exception and not at.error, (at.exception, at.error)
    shown = [m.value[4:] for m in at.markdown if m.value.startswith("### ")]
    notes = " ".join(m.value for m in [*at.info, *at.warning])
    if expected == "translation":
        assert len(shown) == 1 and shown[0].strip(), name
    else:
        assert expected.removeprefix("message: ") in notes and not shown, name
    if name == "Korean":
        assert "<unk>" in notes and "나는" in notes  # the unknown words are named back to the user
    if name == "HTML/script tags":  # shown to the user as text: the tags are escaped, not markup
        assert not any("<script>" in m.value for m in at.markdown if not m.value.startswith("### "))
    at.text_area(key="tr_text").set_value("je suis très fatigué .").run()  # the page keeps working
    assert [m.value for m in at.markdown if m.value.startswith("### ")], name
