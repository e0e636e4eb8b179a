import io

import numpy as np
import pytest
from PIL import Image

from viz.images import ImageLoadError, load_image, squash
from viz.overlay import attention_overlay, figure_png, upsample_map, word_grid_figure


def png_bytes(arr, fmt="PNG", **kw):
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt, **kw)
    return buf.getvalue()


def test_overlay_has_the_image_size_for_non_square_images():
    image = np.full((320, 640, 3), 128, np.uint8)
    alpha = np.random.default_rng(0).random((14, 14))
    out = attention_overlay(image, alpha / alpha.sum())
    assert out.shape == (320, 640, 3) and out.dtype == np.uint8


def test_map_is_stretched_over_the_whole_image_not_squashed():
    # attention on the top-right cell of a 14x14 grid lands in the top-right of a wide image
    alpha = np.zeros((14, 14))
    alpha[0, 13] = 1
    heat = upsample_map(alpha, 320, 640)
    y, x = np.unravel_index(heat.argmax(), heat.shape)
    assert x > 640 * 12 / 14 and y < 320 * 2 / 14
    assert heat.max() == pytest.approx(1.0) and heat.min() == pytest.approx(0.0)


def test_overlay_colours_where_the_model_looked():
    image = np.full((100, 200, 3), 255, np.uint8)
    alpha = np.zeros((7, 7))
    alpha[3, 0] = 1  # left middle
    out = attention_overlay(image, alpha).astype(int)
    left, right = out[50, 5], out[50, 195]
    assert np.abs(left - 255).sum() > np.abs(right - 255).sum() + 60


def test_uniform_map_does_not_crash_and_barely_tints():
    out = attention_overlay(np.zeros((30, 40, 3), np.uint8), np.full((4, 4), 1 / 16))
    assert out.shape == (30, 40, 3)


def test_word_grid_figure_has_one_panel_per_word_plus_image():
    image = np.zeros((120, 200, 3), np.uint8)
    words = ["a", "dog", "runs"]
    fig = word_grid_figure(image, words, np.random.default_rng(0).random((3, 14, 14)))
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["(image)", "a", "dog", "runs"]
    png = figure_png(fig)
    assert Image.open(io.BytesIO(png)).format == "PNG"
    with pytest.raises(ValueError, match="2 words but 3"):
        word_grid_figure(image, words[:2], np.zeros((3, 14, 14)))


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
