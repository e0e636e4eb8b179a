"""The hostile inputs of the README's "Hostile inputs" table, made on the fly: nothing binary is
committed, and the decompression bombs are headers only, never allocated.

Streamlit's test client (tests/test_hostile_inputs.py), Chromium's real file input
(tests/e2e/test_browser_hostile.py) and every command line (tests/test_cli_json.py) use the same
files; tests/test_readme.py keeps the README table and HOSTILE / HOSTILE_TEXT in step.
"""
import io
import struct
import zipfile
import zlib

import numpy as np
from PIL import Image, ImageCms

MAX_ASPECT = 20  # model.core.images.MAX_ASPECT, spelled out so the table reads on its own


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def noise(w: int, h: int, seed: int = 0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8))


def frames(n: int, w: int = 40, h: int = 30) -> list[Image.Image]:
    return [Image.new("RGB", (w, h), ((i * 40) % 256, 90, 200)) for i in range(n)]


# ---------------------------------------------------------------------------- PNG chunks by hand

def chunk(kind: bytes, data: bytes, crc: int | None = None) -> bytes:
    crc = zlib.crc32(kind + data) if crc is None else crc
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_header_only(w: int, h: int) -> bytes:
    """A PNG that claims w×h pixels but holds almost no data: a decompression bomb's header,
    made without allocating the image."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def png_with_chunk(kind: bytes, data: bytes) -> bytes:
    """A good 40×30 PNG with one extra chunk before its pixels."""
    png = encode(noise(40, 30), "PNG")
    at = 8 + 25  # after the signature and IHDR
    return png[:at] + chunk(kind, data) + png[at:]


def inflating(n: int) -> bytes:
    """n bytes that compress to a few kB: past Pillow's 1 MB limit for a text or ICC chunk."""
    return zlib.compress(b"A" * n, 9)


def bad_crc_png() -> bytes:
    png = encode(noise(40, 30), "PNG")
    return png[:29] + bytes([png[29] ^ 0xFF]) + png[30:]  # IHDR's checksum, one byte flipped


def solid_png(w: int, h: int) -> bytes:
    """A real w×h image (grey, one colour: the file stays small)."""
    return encode(Image.new("L", (w, h), 128), "PNG")


# ---------------------------------------------------------------------------- other files

def exif_oriented(orientation: int, w: int = 60, h: int = 30) -> bytes:
    """A w×h JPEG whose EXIF tag says how to turn it to show it (1–8)."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(noise(w, h), "JPEG", exif=exif)


# what a viewer does to show a file with EXIF orientation 2..8 (applied to the stored pixels)
EXIF_SHOW = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
             5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
             8: Image.Transpose.ROTATE_90}


def quadrants(w: int = 64, h: int = 32) -> Image.Image:
    """Four flat colours, so any flip or turn is visible after JPEG compression."""
    a = np.zeros((h, w, 3), np.uint8)
    a[:h // 2, :w // 2], a[:h // 2, w // 2:] = (230, 30, 30), (30, 200, 40)
    a[h // 2:, :w // 2], a[h // 2:, w // 2:] = (30, 40, 220), (240, 240, 240)
    return Image.fromarray(a)


def exif_quadrants(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(quadrants(), "JPEG", exif=exif, quality=95)


def animated_gif(n: int = 4) -> bytes:
    f = [Image.new("P", (40, 30), (i * 40) % 256) for i in range(n)]
    return encode(f[0], "GIF", save_all=True, append_images=f[1:], duration=100, loop=0)


def rgba_png() -> bytes:
    a = np.zeros((30, 50, 4), np.uint8)
    a[:, :25] = (200, 0, 0, 255)  # left half opaque red, right half transparent
    return encode(Image.fromarray(a, "RGBA"), "PNG")


def palette_transparent_png() -> bytes:
    img = noise(40, 30).convert("P")
    return encode(img, "PNG", transparency=0)


def top_down_bmp() -> bytes:
    """A BMP with a negative height: rows stored top first (what some tools write)."""
    bmp = bytearray(encode(noise(40, 30), "BMP"))  # bottom-up, rows of 40 * 3 = 120 bytes
    offset, = struct.unpack_from("<I", bmp, 10)
    rows = [bmp[offset + i * 120: offset + (i + 1) * 120] for i in range(30)]
    struct.pack_into("<i", bmp, 22, -30)
    return bytes(bmp[:offset]) + b"".join(reversed(rows))


def cmyk_icc_jpeg() -> bytes:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return encode(Image.new("CMYK", (40, 20), (0, 255, 255, 0)), "JPEG", icc_profile=icc)


def multipage_tiff() -> bytes:
    f = frames(3)
    return encode(f[0], "TIFF", save_all=True, append_images=f[1:])


def zip_file() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("photo.jpg", encode(noise(20, 20), "JPEG"))
    return buf.getvalue()


def mpo() -> bytes:
    f = frames(2)
    return encode(f[0], "MPO", save_all=True, append_images=f[1:])


UNREADABLE = "not an image"
DAMAGED = "damaged or truncated"
NOT_SUPPORTED = "files are not supported"
TOO_THIN = f"up to {MAX_ASPECT}:1"

# name -> (file name, bytes maker, expected: an error message fragment, or a shape (H, W) the image loads as)
HOSTILE = {
    "zero-byte file": ("empty.jpg", lambda: b"", "The file is empty"),
    "text file named .jpg": ("notes.jpg", lambda: b"Dear diary, today I uploaded a text file.", UNREADABLE),
    "truncated JPEG": ("cut.jpg", lambda: encode(noise(200, 200), "JPEG")[:3000], DAMAGED),
    "16-bit PNG": ("deep.png", lambda: encode(Image.fromarray((np.arange(1200, dtype=np.uint16)
                                                                .reshape(30, 40) * 50)), "PNG"), (30, 40)),
    "CMYK JPEG": ("print.jpg", lambda: encode(Image.new("CMYK", (40, 20), (0, 255, 255, 0)), "JPEG"), (20, 40)),
    "RGBA PNG with transparency": ("alpha.png", rgba_png, (30, 50)),
    "palette GIF": ("palette.gif", lambda: encode(noise(40, 30).convert("P"), "GIF"), (30, 40)),
    "animated GIF": ("anim.gif", animated_gif, (30, 40)),
    "1×1 image": ("dot.png", lambda: encode(noise(1, 1), "PNG"), (1, 1)),
    "20,000×20,000 image": ("bomb.png", lambda: png_header_only(20_000, 20_000), "the limit is 40 megapixels"),
    "EXIF-rotated JPEG": ("phone.jpg", lambda: exif_oriented(6), (60, 30)),
    "SVG": ("drawing.svg", lambda: b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            UNREADABLE),
    # the second round (issue 21)
    "EXIF orientation 5 (transposed)": ("transposed.jpg", lambda: exif_oriented(5), (60, 30)),
    "EXIF orientation 3 (upside down)": ("upside.jpg", lambda: exif_oriented(3), (30, 60)),
    "progressive JPEG": ("progressive.jpg", lambda: encode(noise(64, 48), "JPEG", progressive=True), (48, 64)),
    "MPO (camera JPEG with extra frames)": ("camera.jpg", mpo, (30, 40)),
    "1×20,000 strip": ("tall.png", lambda: solid_png(1, 20_000), TOO_THIN),
    "20,000×1 strip": ("wide.png", lambda: solid_png(20_000, 1), TOO_THIN),
    "1×39,999,999 PNG header": ("needle.png", lambda: png_header_only(1, 39_999_999), TOO_THIN),
    "panorama at 20:1": ("pano.png", lambda: solid_png(2000, 100), (100, 2000)),
    "just under the pixel limit": ("big.png", lambda: solid_png(8000, 5000), (5000, 8000)),
    "just over the pixel limit": ("bigger.png", lambda: png_header_only(8000, 5001), "the limit is 40 megapixels"),
    "multi-page TIFF": ("pages.tif", multipage_tiff, NOT_SUPPORTED),
    "float TIFF": ("float.tif", lambda: encode(Image.new("F", (16, 16), 0.5), "TIFF"), NOT_SUPPORTED),
    "ICO": ("favicon.ico", lambda: encode(Image.new("RGB", (16, 16), (255, 0, 0)), "ICO"), NOT_SUPPORTED),
    "APNG": ("anim.png", lambda: encode(frames(3)[0], "PNG", save_all=True, append_images=frames(3)[1:]), (30, 40)),
    "animated WebP": ("anim.webp", lambda: encode(frames(3)[0], "WEBP", save_all=True, append_images=frames(3)[1:]),
                      (30, 40)),
    "WebP cut in half": ("cut.webp", lambda: (lambda d: d[:len(d) // 2])(encode(noise(64, 64), "WEBP")), DAMAGED),
    "GIF with 1,000 frames": ("long.gif", lambda: animated_gif(1000), (30, 40)),
    "PNG with a 2 MB zTXt chunk": ("ztxt.png", lambda: png_with_chunk(b"zTXt", b"Comment\0\0" + inflating(2**21)),
                                   (30, 40)),
    "PNG with a 2 MB iTXt chunk": ("itxt.png", lambda: png_with_chunk(
        b"iTXt", b"Comment\0\x01\0\0\0" + inflating(2**21)), (30, 40)),
    "PNG with a 2 MB iCCP chunk": ("iccp.png", lambda: png_with_chunk(b"iCCP", b"icc\0\0" + inflating(2**21)),
                                   (30, 40)),
    "PNG with a bad CRC": ("crc.png", bad_crc_png, DAMAGED),
    "BMP with negative height": ("topdown.bmp", top_down_bmp, (30, 40)),
    "LA PNG (grey + alpha)": ("la.png", lambda: encode(Image.new("LA", (40, 30), (90, 128)), "PNG"), (30, 40)),
    "palette PNG with transparency": ("ptrns.png", palette_transparent_png, (30, 40)),
    "1-bit PNG": ("bits.png", lambda: encode(noise(40, 30).convert("1"), "PNG"), (30, 40)),
    "CMYK JPEG with an ICC profile": ("icc.jpg", cmyk_icc_jpeg, (20, 40)),
    "zip named .jpg": ("archive.jpg", zip_file, UNREADABLE),
    "HTML named .jpg": ("page.jpg", lambda: b"<!doctype html><html><body><script>alert(1)</script></body></html>",
                        UNREADABLE),
}


# Text on the Translate page: name -> (text, what the user sees: "message: …" or "translation")
HOSTILE_TEXT = {
    "empty text": ("", "message: Type a sentence"),
    "whitespace only": (" \n\t  ", "message: Type a sentence"),
    "5,000 characters": (("il fait froid et je suis fatigué . " * 150)[:5000], "translation"),
    "emoji only": ("😀🙈🎉", "message: Nothing to translate"),
    "Korean": ("나는 학생입니다", "translation"),
    "HTML/script tags": ('<script>alert(1)</script><img src=x onerror="alert(2)"> le chat', "translation"),
    # the second round (issue 21)
    "markdown": ("**grasse** _penchée_ `code` # titre > citation le chat", "translation"),
    "markdown link to javascript": ("[clique](javascript:alert(1)) le chat", "translation"),
    "LaTeX": ("$$x^2$$ et $\\frac{a}{b}$ le chat", "translation"),
    "right-to-left override": ("le \u202echat\u202c noir", "translation"),
    "zero-width characters": ("le\u200b chat\u200d\ufeff noir", "translation"),
    "500 combining characters": ("le chat" + "\u0301" * 500, "translation"),
    "100 kB single word": ("a" * 100_000, "translation"),
    "NUL bytes": ("le\0 chat\0", "translation"),
    "CRLF and tabs": ("le chat\r\n\test\tnoir\r\n", "translation"),
    "only digits": ("1234567890", "translation"),
    "only punctuation": ("?!... ;:", "message: Nothing to translate"),
    "mixed scripts": ("le chat кошка 猫 قطة", "translation"),
}
