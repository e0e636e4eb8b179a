import io

import numpy as np
import pytest
from PIL import Image

from viz.overlay import attention_overlay, figure_png, upsample_map, word_grid_figure


def test_overlay_has_the_image_size_for_non_square_images():
    image = np.full((320, 640, 3), 128, np.uint8)
    alpha = np.zeros((14, 14))
    alpha[7, 3] = 1  # one cell left of centre: its colour lands there on the wide image, not elsewhere
    out = attention_overlay(image, alpha)
    assert out.shape == (320, 640, 3) and out.dtype == np.uint8
    change = np.abs(out.astype(int) - 128).sum(2)
    y, x = np.unravel_index(change.argmax(), change.shape)
    assert abs(x - 640 * 3.5 / 14) < 640 / 14 and abs(y - 320 * 7.5 / 14) < 320 / 14


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
    image = np.full((30, 40, 3), 128, np.uint8)
    out = attention_overlay(image, np.full((4, 4), 1 / 16)).astype(int)
    assert out.shape == (30, 40, 3)
    assert (out == out[0, 0]).all()  # the same faint tint everywhere: no place stands out
    assert np.abs(out - 128).max() < 40  # and the photo still shows through


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
