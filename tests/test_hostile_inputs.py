"""Hostile uploads, one table: each gets a plain message or a correct result, never a traceback,
and the page captions the next good image as if nothing had happened.

HOSTILE is the README's "Hostile inputs" table (tests/test_readme.py keeps them in step).
The real-browser run of the same files is in tests/e2e.
"""
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from viz.images import ImageLoadError, load_image
from tests.test_caption_page import captions, open_caption_page, png, rerun, tiny_dir  # noqa: F401 (fixture)


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def noise(w: int, h: int, seed: int = 0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8))


def png_header_only(w: int, h: int) -> bytes:
    """A PNG that claims w×h pixels but holds almost no data: a decompression bomb's header,
    made without allocating the image."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def exif_rotated() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to show": the 60×30 file is shown 30 wide, 60 tall
    return encode(noise(60, 30), "JPEG", exif=exif)


def animated_gif() -> bytes:
    frames = [Image.new("P", (40, 30), i * 40) for i in range(4)]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def rgba_png() -> bytes:
    a = np.zeros((30, 50, 4), np.uint8)
    a[:, :25] = (200, 0, 0, 255)  # left half opaque red, right half transparent
    return encode(Image.fromarray(a, "RGBA"), "PNG")


# name -> (file name, bytes maker, expected: an error message fragment, or a shape (H, W) the image loads as)
HOSTILE = {
    "zero-byte file": ("empty.jpg", lambda: b"", "The file is empty"),
    "text file named .jpg": ("notes.jpg", lambda: b"Dear diary, today I uploaded a text file.", "not an image"),
    "truncated JPEG": ("cut.jpg", lambda: encode(noise(200, 200), "JPEG")[:3000], "damaged or truncated"),
    "16-bit PNG": ("deep.png", lambda: encode(Image.fromarray((np.arange(1200, dtype=np.uint16)
                                                                .reshape(30, 40) * 50)), "PNG"), (30, 40)),
    "CMYK JPEG": ("print.jpg", lambda: encode(Image.new("CMYK", (40, 20), (0, 255, 255, 0)), "JPEG"), (20, 40)),
    "RGBA PNG with transparency": ("alpha.png", rgba_png, (30, 50)),
    "palette GIF": ("palette.gif", lambda: encode(noise(40, 30).convert("P"), "GIF"), (30, 40)),
    "animated GIF": ("anim.gif", animated_gif, (30, 40)),
    "1×1 image": ("dot.png", lambda: encode(noise(1, 1), "PNG"), (1, 1)),
    "20,000×20,000 image": ("bomb.png", lambda: png_header_only(20_000, 20_000), "the limit is 40 megapixels"),
    "EXIF-rotated JPEG": ("phone.jpg", exif_rotated, (60, 30)),
    "SVG": ("drawing.svg", lambda: b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "not an image"),
}


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


def test_every_hostile_upload_on_the_caption_page_then_a_good_one(tiny_dir):  # noqa: F811
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


# Text on the Translate page: name -> (text, what the user sees: "message: …" or "translation")
HOSTILE_TEXT = {
    "empty text": ("", "message: Type a sentence"),
    "whitespace only": (" \n\t  ", "message: Type a sentence"),
    "5,000 characters": (("il fait froid et je suis fatigué . " * 150)[:5000], "translation"),
    "emoji only": ("😀🙈🎉", "message: Nothing to translate"),
    "Korean": ("나는 학생입니다", "translation"),
    "HTML/script tags": ('<script>alert(1)</script><img src=x onerror="alert(2)"> le chat', "translation"),
}


@pytest.fixture(scope="module")
def translate_page():
    from streamlit.testing.v1 import AppTest

    from model.translate import asset_name
    from ui.common import ASSETS
    if not (ASSETS / asset_name("fr-en", "additive")).is_file():
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
