"""The Caption page in a real browser: it opens on a captioned photo, a clicked word changes the large
overlays, an upload is captioned by both models, the downloads are real files, and leaving the page
and coming back loses nothing. Screenshots at 1400×1000 go to artifacts/e2e/."""
import io

import pytest
from PIL import Image

from bench.browser import SAMPLES, VIEWPORT
from e2e_helpers import download, headlines, no_traceback, png_image, shot
from viz.caption_views import SCALE_H

pytestmark = pytest.mark.e2e

PHOTO = SAMPLES / "grace_hopper.jpg"  # portrait (512×600): the large overlay must fit the window's height
ROW = '[data-testid="stMain"] [data-testid="stButtonGroup"]'  # each caption's row of word pills


def large(app) -> dict[str, dict]:
    """Model -> its large overlay (src, caption, on-screen box), once every picture has loaded."""
    app.idle()
    app.page.wait_for_function("""row => { const imgs = [...document.querySelectorAll('[data-testid="stImage"]')];
        const models = document.querySelectorAll(row).length;  // one word row per caption, one overlay each
        return models > 0 && imgs.filter(e => / word \\d+: /.test(e.innerText)).length >= models
            && imgs.every(e => e.querySelector('img').complete && e.querySelector('img').naturalWidth > 0); }""",
                               arg=ROW)
    found = app.page.evaluate("""() => [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stImage"]')]
        .map(e => ({caption: e.querySelector('[data-testid="stImageCaption"]')?.innerText.trim() ?? '',
                    src: e.querySelector('img').src, box: e.querySelector('img').getBoundingClientRect().toJSON(),
                    width: e.querySelector('img').naturalWidth, height: e.querySelector('img').naturalHeight}))
        .filter(i => / word \\d+: /.test(i.caption))""")
    return {i["caption"].split(",")[0]: i for i in found}


def selected(app, row: int) -> str:
    """The highlighted word of a caption's word row."""
    return app.page.locator(ROW).nth(row).locator('[role="radio"][aria-checked="true"]').inner_text()


def main_size(app) -> dict:
    return app.page.evaluate("""() => { const e = document.querySelector('[data-testid="stMain"]');
        return {height: e.scrollHeight, width: e.scrollWidth, client: e.clientWidth}; }""")


def test_opens_on_a_result_and_a_clicked_word_changes_the_overlays(new_app):
    app = new_app()
    no_traceback(app)
    soft, hard = headlines(app)  # soft and hard, with no input: the opening photo is captioned
    assert soft.strip() and hard.strip()
    overlays = large(app)
    assert set(overlays) == {"soft", "hard"}
    assert app.page.locator(ROW).count() == 2
    size = main_size(app)
    assert size["width"] <= size["client"], "the default view scrolls sideways"
    assert size["height"] <= 2 * VIEWPORT["height"], f"the default view is {size['height']} px tall"
    shot(app, "caption_opening")

    words = soft.split()
    word = next(w for w in words if w != selected(app, 0) and words.count(w) == 1)
    app.act(lambda: app.page.locator(ROW).nth(0).get_by_role("radio", name=word, exact=True).click(), quiet_s=0)
    after = large(app)
    assert after["soft"]["src"] != overlays["soft"]["src"]
    assert after["soft"]["caption"].endswith(f": {word}") and selected(app, 0) == word
    if word in hard.split():  # the hard side follows to the same word, else to its nearest, labelled
        assert after["hard"]["caption"].endswith(f": {word}") and selected(app, 1) == word
    else:
        assert "nearest word" in after["hard"]["caption"]
    no_traceback(app)
    shot(app, "caption_word_clicked")


def test_upload_both_models_downloads_and_coming_back(new_app, reference):
    app = new_app()
    opening = headlines(app)[0]
    app.caption_upload(PHOTO)
    app.page.wait_for_function("""old => [...document.querySelectorAll(
        '[data-testid="stMain"] [data-testid="stMarkdown"] h3')].some(h => h.innerText !== old)""", arg=opening)
    app.idle()
    no_traceback(app)
    soft, hard = headlines(app)
    assert soft == reference.caption(PHOTO.read_bytes()).replace("<unk>", "(unknown word)")
    overlays = large(app)
    for o in overlays.values():  # a portrait photo fits the window, side by side, and is not squashed
        assert o["box"]["height"] <= 0.5 * VIEWPORT["height"]
        assert o["width"] / (o["height"] - SCALE_H) == pytest.approx(512 / 600, rel=0.02)  # above its colour scale
    shot(app, "caption_upload_both")

    app.choose("most likely location (argmax)")
    argmax = large(app)["hard"]["src"]
    assert argmax != overlays["hard"]["src"] and large(app)["soft"]["src"] == overlays["soft"]["src"]
    shot(app, "caption_hard_argmax")

    grid = png_image(download(app, "Download the per-word grid (PNG)", "grace_hopper_caption_words.png"), 20_000)
    assert grid.height > grid.width  # two columns of panels, one row per word
    gif = Image.open(io.BytesIO(download(app, "Download the soft caption being written (GIF)")))
    assert gif.format == "GIF" and gif.n_frames == app.page.locator(ROW).nth(0).get_by_role("radio").count()

    app.open("Translate")
    app.open("Caption")
    no_traceback(app)
    assert headlines(app)[0] == soft  # the upload and its caption are still there
    assert large(app)["hard"]["src"] == argmax  # and the hard setting
    app.choose("soft")
    assert len(headlines(app)) == 1 and set(large(app)) == {"soft"}
    shot(app, "caption_soft_only")
