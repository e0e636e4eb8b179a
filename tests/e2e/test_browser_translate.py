"""The Translate page in a real browser: the opening result, a typed sentence, every source word
labelled on a long one, two models lined up row for row, the hover and the download."""

import pytest

from e2e_helpers import download, headlines, messages, no_traceback, plots, png_image, shot
from model.translate.text import tokenize
from viz.alignment import occurrence_labels

pytestmark = pytest.mark.e2e

SENTENCE = "mon père et mon frère sont très fatigués ."
LONG = ("hier soir , mon frère et moi sommes allés au cinéma du quartier pour voir un très long film "
        "avec nos amis d' école .")  # 25 tokens
PARAGRAPH = "Il pleut depuis ce matin. Je reste à la maison avec mon chat."


def enter(app, text: str) -> None:
    """Type into the sentence box and commit it (Ctrl+Enter), as a user does."""
    box = app.page.get_by_role("textbox", name="Sentence")
    app.act(lambda: (box.fill(text), box.press("Control+Enter")), quiet_s=0)



def test_the_page_opens_with_a_translated_example(new_app):
    app = new_app()
    app.open("Translate")
    no_traceback(app)
    assert headlines(app) and len(plots(app, 1)) == 1 and not messages(app)
    assert app.page.locator('[data-testid="stMain"] .modebar').count() == 0  # no toolbar over the chart
    shot(app, "translate_opening")


def test_translate_hover_the_alignment_and_download(new_app, reference):
    app = new_app()
    app.open("Translate")
    enter(app, SENTENCE)
    no_traceback(app)
    expected = reference.translate(SENTENCE)
    assert headlines(app) == [expected.translation]

    # hover the cell (target row i, source column j) of a repeated source word: the plot area is split evenly
    i, j = 1, 3
    plot = plots(app, 1)[0]
    rows, cols = len(expected.target_tokens), len(expected.source_tokens)
    assert plot["xticks"] == expected.source_tokens and plot["rows"] == [rows - 0.5, -0.5]
    app.page.mouse.move(plot["x"] + (j + 0.5) * plot["width"] / cols, plot["y"] + (i + 0.5) * plot["height"] / rows)
    label = app.page.locator(".js-plotly-plot .hoverlayer .hovertext").first
    label.wait_for()
    text = label.text_content()
    target = occurrence_labels(expected.target_tokens)[i]
    assert f"target {target}" in text and 'source 2nd "mon"' in text, text
    assert f"weight {expected.alignment[i][j]:.3f}" in text, text
    shot(app, "translate_hover")

    matrix = png_image(download(app, "Download the matrix (PNG)", "alignment_fr-en_additive.png"), 5_000)
    assert matrix.size > (200, 200)
    no_traceback(app)


def test_a_25_token_sentence_has_one_label_per_source_token(new_app, reference):
    tokens = tokenize(LONG)
    assert len(tokens) == 25
    app = new_app()
    app.open("Translate")
    enter(app, LONG)
    no_traceback(app)
    assert plots(app, 1)[0]["xticks"] == tokens + ["<end>"]  # every word, none skipped, none renamed
    assert "25 tokens" in messages(app) and "up to 15" in messages(app)
    assert app.page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollWidth "
                             "<= document.querySelector('[data-testid=\"stMain\"]').clientWidth")
    shot(app, "translate_long_sentence")


def test_side_by_side_matrices_line_up_row_for_row(new_app):
    app = new_app()
    app.open("Translate")
    enter(app, PARAGRAPH)
    app.act(lambda: app.page.get_by_text("Side by side").click(), quiet_s=0)
    no_traceback(app)
    assert len(headlines(app)) == 2
    shown = plots(app, 4)
    assert len(shown) == 4  # two sentences, two models
    for left, right in (shown[0:2], shown[2:4]):
        assert left["rows"] == right["rows"]  # same number of rows
        assert left["height"] == pytest.approx(right["height"], abs=0.5)  # same height, so the same row height
        assert left["y"] == pytest.approx(right["y"], abs=0.5)  # and side by side at the same height
        assert left["xticks"] == right["xticks"] and left["x"] < right["x"]
    assert app.page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollWidth "
                             "<= document.querySelector('[data-testid=\"stMain\"]').clientWidth")
    shot(app, "translate_side_by_side")

    enter(app, LONG)  # a long sentence in half the page: every word still labelled, rows still aligned
    left, right = plots(app, 2)
    assert left["xticks"] == right["xticks"] == tokenize(LONG) + ["<end>"]
    assert left["rows"] == right["rows"] and left["height"] == pytest.approx(right["height"], abs=0.5)
    no_traceback(app)
    shot(app, "translate_side_by_side_long")
