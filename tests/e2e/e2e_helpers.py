"""What the e2e tests look at on a page (screenshots, tracebacks, messages, images) and the pictures they upload."""
import io
from pathlib import Path

import numpy as np
from PIL import Image

from bench.browser import ROOT, WAIT_MS, App

ARTIFACTS = ROOT / "artifacts" / "e2e"
MAX_SHOT_PX = 12_000  # a full-page screenshot taller than this is cut (Chromium's own limit is ~16k)


def shot(app: App, name: str) -> Path:
    """Save the whole page to artifacts/e2e/<name>.png.

    Streamlit scrolls inside its main block, not the document, so Playwright's
    full_page alone would stop at the window: the window is stretched to the content
    for the picture, then put back.
    """
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page, path = app.page, ARTIFACTS / f"{name}.png"
    height = page.evaluate("""() => Math.max(...[...document.querySelectorAll(
        '[data-testid="stMain"], [data-testid="stSidebarContent"]')].map(e => e.scrollHeight))""")
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": min(max(size["height"], height + 100), MAX_SHOT_PX)})
    page.wait_for_timeout(300)  # let the layout and lazy images catch up with the new size
    page.screenshot(path=path, full_page=True)
    page.set_viewport_size(size)
    return path


def no_traceback(app: App) -> None:
    """Streamlit draws an uncaught exception as an stException element; none may be on the page."""
    exceptions = app.page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, exceptions.first.inner_text()


def messages(app: App) -> str:
    """The text of every st.error / st.warning / st.info on the page."""
    return " | ".join(app.page.locator('[data-testid="stMain"] [data-testid="stAlert"]').all_inner_texts())


def headlines(app: App) -> list[str]:
    """The ``### `` lines a page writes with st.markdown (captions, translations); not its subheaders."""
    return app.page.locator('[data-testid="stMain"] [data-testid="stMarkdown"] h3').all_inner_texts()


def plots(app: App, count: int) -> list[dict]:
    """The Plotly charts in the main panel once ``count`` of them are drawn (Plotly draws after the
    script has finished): each one's plot area on screen, its y range, x tick labels and title."""
    app.page.wait_for_function("""n => {
        const charts = [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stPlotlyChart"]')];
        return charts.length >= n && charts.every(c => {
            const p = c.querySelector('.js-plotly-plot');
            return p && p._fullLayout && p.querySelector('.nsewdrag');
        });
    }""", arg=count, timeout=WAIT_MS)
    return app.page.evaluate("""() => [...document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot')].map(p => {
        const r = p.querySelector('.nsewdrag').getBoundingClientRect();
        return {x: r.x, y: r.y, width: r.width, height: r.height, rows: p._fullLayout.yaxis.range,
                xticks: [...p.querySelectorAll('.xtick text')].map(t => t.textContent),
                title: p.querySelector('.gtitle') ? p.querySelector('.gtitle').textContent : null};
    })""")


def images(app: App) -> list[dict]:
    """Every st.image on the page: caption, src and natural size (0 until the picture has loaded)."""
    return app.page.evaluate("""() =>
        [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stImage"]')].map(e => {
            const img = e.querySelector('img'), loaded = img.complete;
            return {caption: e.querySelector('[data-testid="stImageCaption"]')?.innerText.trim() ?? '',
                    src: img.src, width: loaded ? img.naturalWidth : 0, height: loaded ? img.naturalHeight : 0};
        })""")


def image_starting(app: App, prefix: str) -> dict:
    """The one image whose caption starts with ``prefix``, once its picture has loaded."""
    app.page.wait_for_function("""prefix => [...document.querySelectorAll('[data-testid="stImage"]')].some(e =>
        (e.querySelector('[data-testid="stImageCaption"]')?.innerText ?? '').trim().startsWith(prefix)
        && e.querySelector('img').complete && e.querySelector('img').naturalWidth > 0)""", arg=prefix)
    found = [i for i in images(app) if i["caption"].startswith(prefix)]
    assert len(found) == 1, f"{len(found)} images captioned {prefix!r}…"
    return found[0]


def photo(w=240, h=160) -> Image.Image:
    """A picture with something to look at: a bright disc on a gradient."""
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([x * 255 // w, y * 255 // h, np.full_like(x, 90)], -1)
    rgb[(x - w // 2) ** 2 + (y - h // 2) ** 2 < (min(w, h) // 4) ** 2] = (250, 240, 60)
    return Image.fromarray(rgb.astype(np.uint8))


def download(app: App, button: str, filename: str | None = None) -> bytes:
    """Click a download button; the file's bytes (and its suggested name checked, when given)."""
    with app.page.expect_download() as d:
        app.page.get_by_role("button", name=button).click()
    if filename is not None:
        assert d.value.suggested_filename == filename
    return d.value.path().read_bytes()


def png_image(data: bytes, min_bytes: int) -> Image.Image:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > min_bytes
    return Image.open(io.BytesIO(data))
