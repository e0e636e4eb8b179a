"""Measuring an explanation in a real browser: on the Caption page the selected word's map beside its
gradient importance and deletion curve, then its attention moved to another cell; on the Translate page
a word's importance bars and numbers, then its attention pointed at another source word."""
import pytest

from bench.browser import WAIT_MS
from e2e_helpers import image_starting, no_traceback, plots, shot

pytestmark = pytest.mark.e2e


def metrics(app) -> dict[str, str]:
    """Each metric on the page: label -> value, as drawn."""
    return dict(app.page.evaluate("""() => [...document.querySelectorAll('[data-testid="stMetric"]')].map(m =>
        [m.querySelector('[data-testid="stMetricLabel"]').innerText.trim(),
         m.querySelector('[data-testid="stMetricValue"]').innerText.trim()])"""))


def switch_on(app, label: str) -> None:
    """Switch the measuring on and wait for its numbers (the run that computes them can follow a short
    interrupted one, which alone would satisfy app.act)."""
    toggle = app.page.locator('[data-testid="stMain"] label').filter(has_text=label)
    app.act(toggle.click, quiet_s=0)
    if not toggle.locator("input").is_checked():  # a click that landed while the page was redrawn
        app.act(toggle.click, quiet_s=0)
    assert toggle.locator("input").is_checked()
    app.page.wait_for_selector('[data-testid="stMain"] [data-testid="stMetric"]', timeout=WAIT_MS)
    app.idle()


def both_texts(app) -> list[str]:
    """The original and the new output, side by side, once both are drawn."""
    texts = app.page.locator('[data-testid="stMain"] [data-testid="stText"]')
    app.page.wait_for_function("""() => document.querySelectorAll(
        '[data-testid="stMain"] [data-testid="stText"]').length == 2""", timeout=WAIT_MS)
    app.idle()
    return texts.all_inner_texts()


def test_caption_word_measured_then_its_attention_moved(new_app):
    app = new_app()
    assert not metrics(app)  # nothing is computed until the user asks
    switch_on(app, "Measure the selected word: does its map explain it?")
    no_traceback(app)
    shown = metrics(app)
    tau = shown["Kendall τ (α, gradient)"]
    assert tau == "n/a" or -1 <= float(tau.replace("−", "-")) <= 1
    assert image_starting(app, "attention α") and image_starting(app, "gradient importance")
    assert len(plots(app, 1)) == 1  # the deletion curve
    shot(app, "explain_caption")

    app.act(lambda: app.page.get_by_role("button", name="Decode again with the attention here").click(), quiet_s=0)
    no_traceback(app)
    original, moved = both_texts(app)
    assert original.strip() and moved.strip()
    shot(app, "explain_caption_moved")


def test_translate_word_measured_then_its_attention_moved(new_app):
    app = new_app()
    app.open("Translate")
    switch_on(app, "Measure a word: does its alignment row explain it?")
    no_traceback(app)
    assert {"τ (α, leave-one-out)", "τ (α, gradient × input)", "TVD, row permuted"} <= set(metrics(app))
    alignment, bars = plots(app, 2)
    assert bars["xticks"][0].startswith("0: ")  # one group of bars per source word, numbered
    shot(app, "explain_translate")

    app.act(lambda: app.page.get_by_role("button", name="Translate again with the attention here").click(),
            quiet_s=0)
    no_traceback(app)
    original, moved = both_texts(app)
    assert original.strip() and moved.strip()
    shot(app, "explain_translate_moved")
