"""The Translate page in a real browser: type a sentence, read the translation, hover the alignment, download."""

import pytest

from e2e_helpers import download, headlines, no_traceback, png_image, shot
from viz.alignment import unique_labels

pytestmark = pytest.mark.e2e

SENTENCE = "je suis très fatigué ."


def enter(app, text: str) -> None:
    """Type into the sentence box and commit it (Ctrl+Enter), as a user does."""
    box = app.page.get_by_role("textbox", name="Sentence")
    app.act(lambda: (box.fill(text), box.press("Control+Enter")), quiet_s=0)


def test_translate_hover_the_alignment_and_download(new_app, reference):
    app = new_app()
    app.open("Translate")
    enter(app, SENTENCE)
    no_traceback(app)
    expected = reference.translate(SENTENCE)
    assert headlines(app) == [expected.translation]

    # hover the cell (target row i, source column j): the plot area is split evenly between the categories
    i, j = 1, 2
    plot = app.page.locator(".js-plotly-plot .nsewdrag").first
    box = plot.bounding_box()
    rows, cols = len(expected.target_tokens), len(expected.source_tokens)
    app.page.mouse.move(box["x"] + (j + 0.5) * box["width"] / cols, box["y"] + (i + 0.5) * box["height"] / rows)
    label = app.page.locator(".js-plotly-plot .hoverlayer .hovertext").first
    label.wait_for()
    text = label.text_content()
    source, target = unique_labels(expected.source_tokens), unique_labels(expected.target_tokens)
    assert f"target {target[i]}" in text and f"source {source[j]}" in text, text
    assert f"weight {expected.alignment[i][j]:.3f}" in text, text
    shot(app, "translate_hover")

    matrix = png_image(download(app, "Download the matrix (PNG)", "alignment_fr-en_additive.png"), 5_000)
    assert matrix.size > (200, 200)
    no_traceback(app)
