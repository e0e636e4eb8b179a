import io

import numpy as np
import pytest
from PIL import Image

from viz.caption_views import SCALE_H, aligned_figure, caption_gif, fit, with_scale


def maps(t=4, g=14, seed=0):
    a = np.random.default_rng(seed).random((t, g, g)) ** 4
    return a / a.sum((1, 2), keepdims=True)


def peaked(g=14, at=(3, 9)):
    a = np.full((g, g), 1e-4)
    a[at] = 1
    return a / a.sum()


@pytest.fixture
def image():  # non-square, so a squashed or transposed result would show
    return np.random.default_rng(1).integers(0, 255, (60, 100, 3), dtype=np.uint8)


def test_gif_has_one_frame_per_word_at_the_image_size_and_loops(image):
    words = ["a", "dog", "runs", "on", "grass"]
    gif = Image.open(io.BytesIO(caption_gif(image, words, maps(len(words)))))
    assert gif.format == "GIF" and gif.size == (100, 60)
    assert gif.n_frames == len(words)
    assert gif.info.get("loop") == 0


def test_gif_frames_differ_as_the_caption_is_written(image):
    words = ["a", "dog", "runs"]
    alphas = np.stack([peaked(at=(0, 0)), peaked(at=(13, 13)), peaked(at=(7, 7))])
    gif = Image.open(io.BytesIO(caption_gif(image, words, alphas)))
    frames = []
    for i in range(gif.n_frames):
        gif.seek(i)
        frames.append(np.asarray(gif.convert("RGB"), dtype=np.int16))
    assert all(np.abs(a - b).mean() > 1 for a, b in zip(frames, frames[1:]))


def test_gif_refuses_mismatched_or_empty_captions(image):
    with pytest.raises(ValueError, match="2 words but 3"):
        caption_gif(image, ["a", "dog"], maps(3))
    with pytest.raises(ValueError, match="no words"):
        caption_gif(image, [], maps(0))


def test_fit_shrinks_large_images_keeping_the_aspect_ratio(image):
    assert fit(image, 50).shape == (30, 50, 3)
    assert fit(image, 500) is image


def test_aligned_figure_has_a_panel_per_word_for_each_model(image):
    soft = (["a", "dog", "runs", "fast"], maps(4))
    hard = (["a", "dog", "runs"], maps(3, seed=2))
    fig = aligned_figure(image, {"soft": soft, "hard": hard})
    axes = np.array(fig.axes).reshape(4, 2)
    drawn = [[bool(ax.images) for ax in row] for row in axes]
    assert drawn == [[True, True], [True, True], [True, True], [True, False]]  # aligned by word index
    assert axes[1, 0].get_title() == "2. dog" and axes[0, 1].get_title().startswith("hard")


def test_fit_bounds_a_portrait_photo_by_its_height():
    portrait = np.zeros((600, 512, 3), np.uint8)
    assert fit(portrait, 540, 430).shape == (430, 367, 3)
    assert fit(np.zeros((100, 400, 3), np.uint8), 540, 430).shape == (100, 400, 3)  # already fits


def test_the_colour_scale_sits_under_the_overlay_at_its_width(image):
    out = with_scale(image, "0", "α 0.21", "colour: α")
    assert out.shape == (60 + SCALE_H, 100, 3)
    assert (out[:60] == image).all()
