"""Decoding uploads (model.core.images): every mode shown upright in RGB, bad files refused plainly."""
import io

import numpy as np
import pytest
from PIL import Image

from model.core.images import ImageLoadError, load_image, squash


def png_bytes(arr, fmt="PNG", **kw):
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt, **kw)
    return buf.getvalue()


def test_load_image_handles_modes_and_orientation():
    rgba = np.zeros((10, 20, 4), np.uint8)
    rgba[..., 3] = 0  # fully transparent: shown as white
    assert load_image(png_bytes(rgba)).tolist() == np.full((10, 20, 3), 255).tolist()
    grey16 = (np.arange(200, dtype=np.uint16).reshape(10, 20) * 300)
    out = load_image(png_bytes(grey16))
    assert out.shape == (10, 20, 3) and out.max() == 255 and out.min() == 0
    cmyk = Image.new("CMYK", (8, 6), (0, 255, 255, 0))  # red in CMYK
    buf = io.BytesIO()
    cmyk.save(buf, format="JPEG")
    red = load_image(buf.getvalue())
    assert red.shape == (6, 8, 3) and red[..., 0].mean() > 200 and red[..., 1].mean() < 60
    # EXIF orientation 6 (rotate 90° clockwise to show): a 40x20 file is shown 20 wide, 40 tall
    img = Image.new("RGB", (40, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif)
    assert load_image(buf.getvalue()).shape == (40, 20, 3)


@pytest.mark.parametrize("data,message", [
    (b"", "empty"),
    (b"hello, I am a text file", "not an image"),
])
def test_bad_uploads_get_plain_messages(data, message):
    with pytest.raises(ImageLoadError, match=message):
        load_image(data)


def test_truncated_and_huge_images_are_refused_plainly():
    jpeg = png_bytes(np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8), "JPEG")
    with pytest.raises(ImageLoadError, match="damaged or truncated"):
        load_image(jpeg[: len(jpeg) // 3])
    big = png_bytes(np.zeros((300, 400, 3), np.uint8))
    with pytest.raises(ImageLoadError, match="400×300 pixels"):
        load_image(big, max_pixels=100_000)


def test_squash_ignores_aspect_ratio():
    assert squash(np.zeros((320, 640, 3), np.uint8), 224).shape == (224, 224, 3)


def test_thin_strips_are_refused_from_the_header_and_20_to_1_is_accepted():
    assert load_image(png_bytes(np.zeros((10, 200, 3), np.uint8))).shape == (10, 200, 3)
    for shape in [(10, 201, 3), (201, 10, 3)]:
        with pytest.raises(ImageLoadError, match="up to 20:1"):
            load_image(png_bytes(np.zeros(shape, np.uint8)))


def test_a_png_keeps_its_pixels_when_its_text_chunks_are_dropped():
    from PIL import PngImagePlugin
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "x" * 5000, zip=True)
    arr = np.random.default_rng(1).integers(0, 255, (12, 16, 3), dtype=np.uint8)
    assert np.array_equal(load_image(png_bytes(arr, pnginfo=info)), arr)
    cut = png_bytes(arr, pnginfo=info)
    with pytest.raises(ImageLoadError, match="damaged or truncated"):  # a cut file stays cut
        load_image(cut[: len(cut) - 40])
