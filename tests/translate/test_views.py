"""Alignment figures: pure functions, matrix and tokens in, figure or PNG out."""
import io

import numpy as np
import pytest
from PIL import Image

from viz.alignment import alignment_heatmap, alignment_png, check_alignment, unique_labels

SRC, TGT = ["le", "chat", "le", "$x$", "<end>"], ["the", "cat", "the", "<end>"]


def matrix(rows=4, cols=5, seed=0):
    a = np.random.default_rng(seed).random((rows, cols))
    return a / a.sum(1, keepdims=True)


def test_heatmap_puts_source_on_x_target_on_y_and_keeps_repeated_tokens():
    fig = alignment_heatmap(matrix(), SRC, TGT, "t")
    heat = fig.data[0]
    assert list(heat.x) == ["le", "chat", "le·2", "$x$", "<end>"] and list(heat.y) == ["the", "cat", "the·2", "<end>"]
    np.testing.assert_allclose(np.asarray(heat.z), matrix())
    assert "weight" in heat.hovertemplate


def test_png_is_an_image_of_a_matrix_even_with_mathtext_and_cjk_tokens():
    png = alignment_png(matrix(), ["日本", "$x$", "a$b", "💥", "<end>"], TGT, "additive")
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.width > 100 and image.height > 100


def test_a_matrix_of_the_wrong_shape_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="does not match 4 target x 5 source"):
        check_alignment(matrix(3, 5), SRC, TGT)
    assert unique_labels(["a", "a", "a"]) == ["a", "a·2", "a·3"]
