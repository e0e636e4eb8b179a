"""The hostile uploads of the README's "Hostile inputs" table, made on the fly: nothing large is
committed, and the decompression bomb is a header only, never allocated.

Streamlit's test client (tests/test_hostile_inputs.py) and Chromium's real file input
(tests/e2e/test_browser_hostile.py) upload the same files; tests/test_readme.py keeps the
README table and HOSTILE in step.
"""
import io
import struct
import zlib

import numpy as np
from PIL import Image


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


# Text on the Translate page: name -> (text, what the user sees: "message: …" or "translation")
HOSTILE_TEXT = {
    "empty text": ("", "message: Type a sentence"),
    "whitespace only": (" \n\t  ", "message: Type a sentence"),
    "5,000 characters": (("il fait froid et je suis fatigué . " * 150)[:5000], "translation"),
    "emoji only": ("😀🙈🎉", "message: Nothing to translate"),
    "Korean": ("나는 학생입니다", "translation"),
    "HTML/script tags": ('<script>alert(1)</script><img src=x onerror="alert(2)"> le chat', "translation"),
}
