"""Alignment figures: pure functions, matrix and tokens in, figure or PNG out."""
import io

import numpy as np
import pytest
from PIL import Image

from viz.alignment import (MAX_LABEL, ROW_PX, alignment_heatmap, alignment_png, check_alignment, frame_for,
                           occurrence_labels)

SRC, TGT = ["le", "chat", "le", "$x$", "<end>"], ["the", "cat", "the", "<end>"]


def matrix(rows=4, cols=5, seed=0):
    a = np.random.default_rng(seed).random((rows, cols))
    return a / a.sum(1, keepdims=True)


def test_heatmap_labels_every_word_once_and_keeps_repeated_words_as_typed():
    fig = alignment_heatmap(matrix(), SRC, TGT)
    heat, layout = fig.data[0], fig.layout
    assert list(layout.xaxis.ticktext) == SRC and list(layout.xaxis.tickvals) == list(range(5))
    assert list(layout.yaxis.ticktext) == TGT and list(layout.yaxis.tickvals) == list(range(4))
    np.testing.assert_allclose(np.asarray(heat.z), matrix())
    assert list(heat.customdata[2][0]) == ['2nd "the"', '1st "le"'] and list(heat.customdata[1][1]) == ["cat", "chat"]
    assert "weight" in heat.hovertemplate and layout.dragmode is False


def test_occurrence_labels_name_only_repeated_words_by_their_rank():
    assert occurrence_labels(["my", "dog", "my", "my"]) == ['1st "my"', "dog", '2nd "my"', '3rd "my"']
    assert occurrence_labels(["a"] * 12)[10:] == ['11th "a"', '12th "a"']


def test_a_long_sentence_gets_every_label_turned_and_room_for_it():
    src = [f"mot{i}" for i in range(30)] + ["<end>"]
    fig = alignment_heatmap(matrix(6, 31), src, ["w"] * 5 + ["<end>"])
    assert len(fig.layout.xaxis.ticktext) == 31 and fig.layout.xaxis.tickangle == -90
    assert fig.layout.margin.t >= 5 * 7  # the turned labels fit above the plot
    short = alignment_heatmap(matrix(), SRC, TGT)
    assert short.layout.xaxis.tickangle == 0
    huge = "x" * 100_000  # a 100 kB word is cut on the axis, whole in the hover
    fig = alignment_heatmap(matrix(1, 2), [huge, "<end>"], ["<end>"])
    assert len(fig.layout.xaxis.ticktext[0]) == MAX_LABEL and fig.data[0].customdata[0][0][1] == huge


def test_matrices_of_one_frame_line_up_row_for_row():
    short_src, long_src = ["a", "b", "<end>"], ["un", "très", "long", "mot", "<end>"]
    frame = frame_for([short_src, long_src], [["x", "<end>"], ["x", "y", "z", "<end>"]])
    a = alignment_heatmap(matrix(2, 3), short_src, ["x", "<end>"], frame)
    b = alignment_heatmap(matrix(4, 5), long_src, ["x", "y", "z", "<end>"], frame)
    assert a.layout.height == b.layout.height == frame.top + 4 * ROW_PX + 12
    assert a.layout.margin == b.layout.margin and tuple(a.layout.yaxis.range) == tuple(b.layout.yaxis.range) == (3.5, -0.5)


def test_a_30_word_sentence_in_half_the_page_gets_smaller_labels_and_no_colour_bar():
    src = [f"mot{i}" for i in range(30)] + ["<end>"]
    full, half = frame_for([src], [["w", "<end>"]]), frame_for([src], [["w", "<end>"]], 450, colorbar=False)
    assert full.font == 12 and 8 <= half.font < 12 and half.top < full.top
    fig = alignment_heatmap(matrix(2, 31), src, ["w", "<end>"], half)
    assert fig.data[0].showscale is False and fig.layout.xaxis.tickfont.size == half.font


def test_png_is_an_image_of_a_matrix_even_with_mathtext_and_cjk_tokens():
    png = alignment_png(matrix(), ["日本", "$x$", "a$b", "💥", "<end>"], TGT, "additive")
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.width > 100 and image.height > 100


def test_the_png_grows_with_the_sentence():
    small = Image.open(io.BytesIO(alignment_png(matrix(), SRC, TGT)))
    src = [f"mot{i}" for i in range(25)] + ["<end>"]
    big = Image.open(io.BytesIO(alignment_png(matrix(4, 26), src, TGT)))
    assert big.width > 2.5 * small.width


def test_a_matrix_of_the_wrong_shape_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="does not match 4 target x 5 source"):
        check_alignment(matrix(3, 5), SRC, TGT)
