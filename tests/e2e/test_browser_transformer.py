"""The Transformer page in a real browser: the head view isolates a hovered word's lines, a click on a
small matrix of the model view opens it large, the RNN and Transformer matrices line up row for row.

It runs on the shipped Transformer and additive RNN when both are there, else on tiny random ones
(tests/translate/tiny_translators.py) served from their own folder: the checks are about the page,
not about the words.
"""
import pytest

from bench.browser import VIEWPORT, App, serving
from e2e_helpers import no_traceback, plots, shot
from model.core import assets
from model.core.assets import ASSETS_ENV
from model.translate.text import tokenize
from tests.translate.tiny_translators import save_tiny_translators
from ui.transformer_page import EXAMPLES

pytestmark = pytest.mark.e2e

LINKS_JS = """() => [...document.querySelectorAll('line.link')].filter(l => l.style.display !== 'none')
    .map(l => [+l.dataset.h, +l.dataset.q, +l.dataset.k])"""


@pytest.fixture(scope="module")
def url(request, tmp_path_factory):
    if assets.translator("transformer").is_file() and assets.translator("additive").is_file():
        yield request.getfixturevalue("server").url
        return
    folder = tmp_path_factory.mktemp("tiny_translators")
    save_tiny_translators(folder)
    with serving(folder / "streamlit.log", {"MALLOC_ARENA_MAX": "2", ASSETS_ENV: str(folder),
                                            "ATTENTION_LENS_WARM_UP": "0"}) as server:
        yield server.url


@pytest.fixture
def app(browser, url):
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(60_000)
    app = App(context.new_page(), url)
    app.open("Transformer")
    no_traceback(app)
    drawn(app)
    yield app
    context.close()


def drawn(app, charts: int = 5) -> None:
    """Wait until Plotly has drawn the page's charts (model view, large matrix, rollout, RNN, Transformer);
    Streamlit draws them after the run that made them has ended."""
    app.page.wait_for_function("""n => [...document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot')]
        .filter(p => p._fullLayout).length >= n""", arg=charts)


def head_view(app):
    """The head view's frame, once its script has drawn the lines."""
    frame = app.page.locator('[data-testid="stMain"] iframe').first.element_handle().content_frame()
    frame.wait_for_selector("line.link", state="attached")
    return frame



def test_the_page_opens_with_a_result_and_hovering_a_word_keeps_only_its_lines(app):
    words = tokenize(EXAMPLES[0]) + ["<end>"]
    frame = head_view(app)
    assert frame.locator('g.tok[data-side="q"] text').all_text_contents() == words  # encoder: French on both sides
    assert frame.locator('g.tok[data-side="k"] text').all_text_contents() == words
    everything = frame.evaluate(LINKS_JS)
    heads = {h for h, _, _ in everything}
    assert len(heads) >= 2  # all heads shown by default, each its own colour
    colours = frame.evaluate("() => [...document.querySelectorAll('line.link')].map(l => l.getAttribute('stroke'))")
    assert len(set(colours)) == len(heads)

    frame.locator('g.tok[data-side="q"][data-i="1"]').hover()
    only = frame.evaluate(LINKS_JS)
    assert only and all(q == 1 for _, q, _ in only)
    assert sorted(only) == sorted(link for link in everything if link[1] == 1)
    shot(app, "transformer_head_view_hover")

    frame.locator('g.tok[data-side="k"][data-i="0"]').hover()  # a key: the lines that come into it
    into = frame.evaluate(LINKS_JS)
    assert into and all(k == 0 for _, _, k in into) and {q for _, q, _ in into} != {1}
    app.page.mouse.move(5, 5)
    assert sorted(frame.evaluate(LINKS_JS)) == sorted(everything)
    no_traceback(app)


def test_clicking_a_small_matrix_of_the_model_view_opens_it_large(app):
    grid = app.page.locator('[data-testid="stMain"] .js-plotly-plot').first
    layers, heads = app.page.evaluate("""() => {
        const p = document.querySelector('[data-testid="stMain"] .js-plotly-plot');
        return [p._fullLayout.annotations.filter(a => a.text.startsWith('layer')).length,
                p._fullLayout.annotations.filter(a => a.text.startsWith('head')).length];
    }""")
    assert layers >= 2 and heads >= 2
    n = (layers - 1) * heads + 2  # the last layer, second head
    grid.scroll_into_view_if_needed()  # the mouse clicks only inside the window
    area = grid.locator(f'.nsewdrag[data-subplot="x{n}y{n}"]').bounding_box()
    x, y = area["x"] + area["width"] * 0.3, area["y"] + area["height"] * 0.4

    def click():
        app.page.mouse.move(x, y)
        app.page.wait_for_timeout(300)  # Plotly picks the point under the mouse on move
        app.page.mouse.click(x, y)
    app.act(click, quiet_s=0)
    no_traceback(app)
    drawn(app)
    title = f"layer {layers}, head 2"
    assert app.page.locator('[data-testid="stMain"] [data-testid="stMarkdown"]').filter(has_text=title).count() == 1
    frame = head_view(app)  # the head view follows: one head, its colour only
    assert {h for h, _, _ in frame.evaluate(LINKS_JS)} == {1}
    shot(app, "transformer_model_view_click")


def test_rnn_and_transformer_rows_line_up(app):
    drawn = plots(app, 2)
    rnn, transformer = drawn[-2], drawn[-1]
    assert rnn["xticks"] == transformer["xticks"]  # the same source axis
    assert rnn["y"] == pytest.approx(transformer["y"]) and rnn["height"] == pytest.approx(transformer["height"])
    assert rnn["rows"] == transformer["rows"]  # as many rows: the i-th rows sit at the same height
    shot(app, "transformer_page")
