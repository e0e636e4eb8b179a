"""Hostile inputs through the real browser: odd files on the Caption page, odd text on the Translate page.

Each must end in a plain message or a correct result, never a Python traceback,
and the session must keep working afterwards. The files are made here, not shipped.
"""
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from bench.browser import SAMPLES, tree_rss_mb
from e2e_helpers import encode, headlines, image_starting, messages, no_traceback, photo, shot
from ui.translate_page import MAX_CHARS

pytestmark = pytest.mark.e2e

JPEG, PNG, GIF = "image/jpeg", "image/png", "image/gif"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def huge_png_header(w=20_000, h=20_000) -> bytes:
    """A PNG whose header says w×h RGB but whose pixel data is a few bytes: nothing big is ever allocated here."""
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + png_chunk(b"IEND", b""))


def exif_rotated_jpeg() -> bytes:
    """Stored 240×160 (landscape) with EXIF orientation 6: a viewer shows it 160×240, upright."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(photo(240, 160), "JPEG", exif=exif)


def animated_gif() -> bytes:
    """Three frames; the first unlike the palette GIF, so the page cannot answer from its last result."""
    frames = [photo(200, 200).rotate(a) for a in (10, 30, 50)]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def hostile_files() -> dict[str, tuple[str, str, bytes]]:
    """What a user might hand the uploader: case name -> (file name, MIME type, bytes)."""
    rgba = photo().convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(rgba.size))
    grey16 = Image.fromarray((np.linspace(0, 65535, 160 * 240).reshape(160, 240)).astype(np.uint16))
    return {
        "zero_bytes": ("empty.jpg", JPEG, b""),
        "text_as_jpg": ("notes.jpg", JPEG, b"Dear diary, this is not a picture.\n" * 20),
        "truncated_jpeg": ("cut.jpg", JPEG, encode(photo(), "JPEG")[:1500]),
        "png_16bit": ("grey16.png", PNG, encode(grey16, "PNG")),
        "cmyk_jpeg": ("cmyk.jpg", JPEG, encode(photo().convert("CMYK"), "JPEG")),
        "rgba_png": ("transparent.png", PNG, encode(rgba, "PNG")),
        "palette_gif": ("palette.gif", GIF, encode(photo().convert("P", palette=Image.ADAPTIVE), "GIF")),
        "animated_gif": ("animated.gif", GIF, animated_gif()),
        "one_pixel": ("dot.png", PNG, encode(Image.new("RGB", (1, 1), (200, 30, 30)), "PNG")),
        "huge_header": ("huge.png", PNG, huge_png_header()),
        "exif_rotated": ("rotated.jpg", JPEG, exif_rotated_jpeg()),
        "svg": ("drawing.svg", "image/svg+xml",
                b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'),
    }


CAPTION = "a caption"  # the expected outcome of a file the page should simply caption
OUTCOMES = {  # case -> CAPTION, or words of the plain message it must show
    "zero_bytes": "The file is empty", "text_as_jpg": "not an image we can read",
    "truncated_jpeg": "damaged or truncated", "png_16bit": CAPTION, "cmyk_jpeg": CAPTION, "rgba_png": CAPTION,
    "palette_gif": CAPTION, "animated_gif": CAPTION, "one_pixel": CAPTION, "huge_header": "megapixels",
    "exif_rotated": CAPTION, "svg": "not an image we can read",
}
TEXTS = {  # case -> (text, words of the message it must show, whether a translation is shown)
    "empty": ("", "Type a sentence", False),
    "whitespace": ("   \n\t  ", "Type a sentence", False),
    "5000_chars": (("je suis fatigué et il fait froid . " * 150)[:5000], "5,000 characters", True),
    "emoji_only": ("😀🙈🎉", "Nothing to translate", False),
    "emoji_in_words": ("je suis content 😀 !", "😀", True),
    "korean": ("안녕하세요 저는 학생입니다", "None of the words is in its vocabulary", True),
    "html": ('<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1"> le chat', "script", True),
}


def upload(app, file_name: str, mime: str, data: bytes, outcome: str) -> None:
    """Upload and wait for this file's own outcome: its caption, or a message naming it."""
    old = [t["src"] for t in app.thumbs()]
    app.set_file({"name": file_name, "mimeType": mime, "buffer": data})
    if outcome == CAPTION:
        app.wait_new_thumbs(old)
        return
    said = app.page.locator('[data-testid="stAlert"]').filter(has_text=file_name).filter(has_text=outcome)
    said.or_(app.page.locator('[data-testid="stFileChipIconError"]')).first.wait_for()  # or refused in the browser
    app.idle()


def test_hostile_files_on_the_caption_page(new_app, server, reference):
    app = new_app()
    app.slide("Beam size (1 = greedy)", "Home")  # greedy: the cheapest run, the same code paths
    beam = app.page.get_by_role("slider", name="Beam size (1 = greedy)")
    for case, (file_name, mime, data) in hostile_files().items():
        rss_before = tree_rss_mb(server.proc.pid)
        upload(app, file_name, mime, data, OUTCOMES[case])
        no_traceback(app)
        shot(app, f"hostile_{case}")
        assert beam.get_attribute("aria-valuetext") == "1", f"{case}: the upload reset the beam setting"
        if OUTCOMES[case] == CAPTION:
            assert headlines(app) == [reference.caption(data, beam=1)], case
            assert "Could not use" not in messages(app), case
        if case == "huge_header":  # refused from the header: 20000×20000 RGB would be 1.2 GB decoded
            assert "Please upload a smaller image" in messages(app)
            assert tree_rss_mb(server.proc.pid) - rss_before < 100
        if case == "exif_rotated":  # stored 240×160, shown upright at 160×240
            shown = image_starting(app, "Your image, 160×240")
            assert shown["width"] < shown["height"]
            assert all(t["width"] < t["height"] for t in app.thumbs())

    # and the session still captions a good photo
    photo = (SAMPLES / "grace_hopper.jpg").read_bytes()
    upload(app, "grace_hopper.jpg", JPEG, photo, CAPTION)
    assert headlines(app) == [reference.caption(photo, beam=1)] and not messages(app)
    no_traceback(app)


def test_hostile_text_on_the_translate_page(new_app, reference):
    app = new_app()
    app.open("Translate")
    box = app.page.get_by_role("textbox", name="Sentence")
    for case, (text, message, translated) in TEXTS.items():
        app.act(lambda: (box.fill(text), box.press("Control+Enter")), quiet_s=0)
        no_traceback(app)
        shot(app, f"hostile_text_{case}")
        assert message in messages(app), (case, messages(app))
        expected = [reference.translate(text[:MAX_CHARS]).translation] if translated else []
        assert headlines(app) == expected, case
        assert box.input_value() == text  # the box keeps exactly what was typed, tags included, as text
    # the markup stayed text: nothing ran, no element was made from it
    assert not app.page.evaluate("window.__pwned")
    assert app.page.locator('[data-testid="stMain"] img[src="x"], [data-testid="stMain"] script').count() == 0
    assert "<, script, >" in messages(app)

    app.act(lambda: (box.fill("il fait froid ."), box.press("Control+Enter")), quiet_s=0)
    assert headlines(app) == [reference.translate("il fait froid .").translation] and not messages(app)
