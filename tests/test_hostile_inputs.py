"""Hostile inputs, one table: each gets a plain message or a correct result, never a traceback,
and the page handles the next input as if nothing had happened.

HOSTILE and HOSTILE_TEXT (tests/hostile.py) are the README's "Hostile inputs" table; tests/e2e
uploads the same files through Chromium's real file input, tests/test_cli_json.py hands them to
every command line.
"""
import io

import numpy as np
import pytest
from PIL import Image

from model.core.images import ImageLoadError, load_image
from tests.caption.test_page import captions, open_caption_page, png, rerun
from tests.hostile import (EXIF_SHOW, HOSTILE, HOSTILE_TEXT, encode, exif_quadrants, inflating, noise,
                           png_with_chunk, quadrants, rgba_png, top_down_bmp)
from tests.stn.test_page import open_stn

# How user text could turn into markup if a page let markdown read it.
MARKUP = ["**grasse**", "_penchée_", "`code`", "](javascript:", "$$x^2$$", "$\\frac", "<script>", "<img"]
CRAFTED_NAME = "**bold** [x](javascript:alert(1)) $$x$$ ![i](http://example.com/a.png) <b>b</b> \u202egpj.exe"


@pytest.mark.parametrize("name", HOSTILE)
def test_load_image_gives_a_plain_message_or_an_upright_rgb_image(name):
    _, make, expected = HOSTILE[name]
    if isinstance(expected, str):
        with pytest.raises(ImageLoadError, match=expected):
            load_image(make())
    else:
        image = load_image(make())
        assert image.shape == (*expected, 3) and image.dtype == np.uint8


def quadrant_colours(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    return np.array([[image[:h // 2, :w // 2].mean((0, 1)), image[:h // 2, w // 2:].mean((0, 1))],
                     [image[h // 2:, :w // 2].mean((0, 1)), image[h // 2:, w // 2:].mean((0, 1))]])


@pytest.mark.parametrize("orientation", sorted(EXIF_SHOW))
def test_every_exif_orientation_is_shown_as_a_viewer_shows_it(orientation):
    stored = np.asarray(quadrants())
    shown = np.asarray(Image.fromarray(stored).transpose(EXIF_SHOW[orientation]))
    image = load_image(exif_quadrants(orientation))
    assert image.shape == shown.shape
    assert np.abs(quadrant_colours(image) - quadrant_colours(shown)).max() < 12  # JPEG noise, not a turn


def test_transparent_pixels_show_as_white_and_opaque_ones_keep_their_colour():
    image = load_image(rgba_png())
    assert image[:, 40].tolist() == [[255, 255, 255]] * 30
    assert image[:, 5].tolist() == [[200, 0, 0]] * 30


def test_a_top_down_bmp_and_a_png_with_a_huge_text_chunk_keep_their_pixels():
    truth = np.asarray(noise(40, 30))
    assert np.array_equal(load_image(top_down_bmp()), truth)
    for kind, data in [(b"zTXt", b"Comment\0\0" + inflating(2**21)), (b"iCCP", b"icc\0\0" + inflating(2**21))]:
        assert np.array_equal(load_image(png_with_chunk(kind, data)), truth)
    assert np.array_equal(load_image(encode(Image.fromarray(truth), "PNG")), truth)


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


@pytest.mark.parametrize("mode", ["Learned", "Manual"])
def test_every_hostile_upload_on_the_stn_page_then_a_good_one(mode):
    at = open_stn(mode)
    for name, (filename, make, expected) in HOSTILE.items():
        at.file_uploader(key="stn_upload").set_value((filename, make(), "application/octet-stream")).run()
        assert not at.exception, (name, at.exception)
        errors = " ".join(e.value for e in at.error)
        if isinstance(expected, str):
            assert expected in errors, name
        else:
            assert not errors and at.image, name  # the picture, its grid and the output are drawn
    at.file_uploader(key="stn_upload").set_value(("fine.png", png(), "image/png")).run()
    assert not at.exception and not at.error and at.image


@pytest.mark.parametrize("page,key", [("caption", "caption_upload"), ("stn", "stn_upload")])
def test_a_crafted_file_name_is_shown_as_typed_never_as_markup(tiny_dir, page, key):
    at = open_caption_page(tiny_dir) if page == "caption" else open_stn()
    at.file_uploader(key=key).set_value((CRAFTED_NAME, b"not a picture", "image/jpeg")).run()
    assert not at.exception
    (error,) = at.error
    assert "not an image" in error.value
    assert not any(m in error.value for m in ["**bold**", "](", "$$x$$", "![", "<b>", "\u202e"]), error.value
    assert "U\\+202E" in error.value  # the right-to-left override is named, not applied to the message


def shown_text(at) -> list[str]:
    """Every string the page hands to an element that reads markdown."""
    return [e.value for group in (at.markdown, at.info, at.warning, at.error, at.caption) for e in group]


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
def test_hostile_text_gets_a_message_or_a_translation_never_markup(translate_page, name):
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
    for value in shown_text(at):  # the user's markup reaches no element as markup
        assert not any(m in value for m in MARKUP), (name, value)
    at.text_area(key="tr_text").set_value("je suis très fatigué .").run()  # the page keeps working
    assert [m.value for m in at.markdown if m.value.startswith("### ")], name



def test_stn_preparation_is_sized_by_the_model_not_by_the_picture(monkeypatch):
    from model.stn import pipeline
    from model.stn.net import Preprocessing
    pre = Preprocessing(input_size=42)
    panorama = np.full((300, 6000, 3), 230, np.uint8)  # 20:1, the thinnest accepted
    panorama[20:280, 2000:3500] = 20  # a dark block of ink
    small = pipeline.prepare(panorama, pre)
    assert max(small.levels.shape) <= pipeline.WORK * 42 and small.input.shape == (42, 42)
    monkeypatch.setattr(pipeline, "WORK", 10**6)  # the old way: everything at the long side
    full = pipeline.prepare(panorama, pre)
    assert full.levels.shape == (300, 6000)
    assert np.abs(small.input - full.input).max() < 0.05 and small.input.max() > 0.5  # the model sees the same
