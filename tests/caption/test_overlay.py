import io

import numpy as np
import pytest
from PIL import Image

from viz.overlay import (attention_overlay, cell_box, colour_bar, colour_table, figure_png, one_cell, upsample_map,
                         word_grid_figure)


def cell(grid=14, at=(7, 3)):
    alpha = np.zeros((grid, grid))
    alpha[at] = 1
    return alpha


def changed(out, image):
    return np.abs(out.astype(int) - image.astype(int)).sum(2) > 0


def test_a_hard_cell_is_drawn_crisp_where_it_is_on_a_non_square_image():
    image = np.full((320, 640, 3), 128, np.uint8)
    out = attention_overlay(image, cell(at=(7, 3)))
    assert out.shape == (320, 640, 3) and out.dtype == np.uint8
    ys, xs = np.nonzero(changed(out, image))
    x0, y0, x1, y1 = cell_box((7, 3), (14, 14), 320, 640)  # the cell stretched over the wide image
    assert (x0, y0, x1, y1) == (137, 160, 182, 182)
    pad = 4  # the outline's rim
    assert xs.min() >= x0 - pad and xs.max() <= x1 + pad and ys.min() >= y0 - pad and ys.max() <= y1 + pad
    inside = out[y0 + pad:y1 - pad, x0 + pad:x1 - pad].reshape(-1, 3)
    assert (inside == inside[0]).all() and (inside[0] != 128).any()  # one flat colour: no blur, no blob


def test_under_a_hard_cell_alpha_shows_faintly_and_the_cell_stays_strongest():
    image = np.full((140, 140, 3), 128, np.uint8)
    under = np.full((14, 14), 1e-4)
    under[2, 2] = 1
    out = attention_overlay(image, cell(at=(10, 10)), under=under / under.sum())
    alone = attention_overlay(image, cell(at=(10, 10)))
    assert changed(out, alone)[20:30, 20:30].all()  # α's peak, faint, far from the chosen cell
    faint = np.abs(out[25, 25].astype(int) - 128).sum()
    strong = np.abs(out[105, 105].astype(int) - 128).sum()
    assert 0 < faint < strong


def test_unattended_places_keep_the_photos_own_colours():
    image = np.random.default_rng(0).integers(0, 255, (100, 200, 3), dtype=np.uint8)
    alpha = np.zeros((7, 7))
    alpha[3, 0], alpha[3, 1] = 0.7, 0.3  # all on the left
    out = attention_overlay(image, alpha)
    assert changed(out, image)[35:65, :40].all()  # the middle row of cells, where it looked
    assert not changed(out, image)[:, 120:].any()  # the right is untouched: no tint over the whole photo


def test_uniform_map_tints_evenly_and_the_photo_shows_through():
    image = np.full((30, 40, 3), 128, np.uint8)
    out = attention_overlay(image, np.full((4, 4), 1 / 16), opacity=0.5).astype(int)
    assert (out == out[0, 0]).all()  # looked everywhere alike: no place stands out
    assert np.abs(out - 128).max() < 128


def test_opacity_zero_leaves_the_photo_and_more_opacity_tints_more():
    image = np.full((56, 56, 3), 128, np.uint8)
    alpha = np.random.default_rng(1).random((14, 14))
    assert (attention_overlay(image, alpha, opacity=0) == image).all()
    weak, strong = (np.abs(attention_overlay(image, alpha, opacity=o).astype(int) - 128).sum() for o in (0.3, 0.9))
    assert strong > weak


def test_mark_outlines_the_most_attended_cell_of_a_spread_map():
    image = np.full((140, 140, 3), 128, np.uint8)
    alpha = np.full((14, 14), 1.0)
    alpha[4, 9] = 3
    plain, marked = attention_overlay(image, alpha), attention_overlay(image, alpha, mark=True)
    ys, xs = np.nonzero(changed(marked, plain))
    assert 85 <= xs.min() and xs.max() <= 104 and 35 <= ys.min() and ys.max() <= 54  # around cell (4, 9)


def test_one_cell_tells_a_hard_choice_from_a_spread_map():
    assert one_cell(cell(at=(2, 5))) == (2, 5)
    assert one_cell(np.full((14, 14), 1 / 196)) is None


def test_map_is_stretched_over_the_whole_image_not_squashed():
    # attention on the top-right cell of a 14x14 grid lands in the top-right of a wide image
    heat = upsample_map(cell(at=(0, 13)), 320, 640)
    y, x = np.unravel_index(heat.argmax(), heat.shape)
    assert x > 640 * 12 / 14 and y < 320 * 2 / 14
    assert heat.max() == pytest.approx(1.0) and heat.min() == pytest.approx(0.0, abs=1e-3)


def test_the_colour_table_is_built_once_and_the_scale_runs_low_to_high():
    assert colour_table() is colour_table()
    bar = colour_bar(100, 8)
    assert bar.shape == (8, 100, 3) and bar[0, 0].sum() < bar[0, -1].sum()  # dark (little) to bright (most)


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
