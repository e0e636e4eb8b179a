"""End-to-end fixtures: one Streamlit server and one headless Chromium for the whole session.

Every test module here is marked ``e2e`` (deselect with ``-m "not e2e"``). They need Playwright
and Chromium; when either is missing they fail with a message saying so, rather
than skip, so that a CI run without a browser cannot pass by testing nothing.
"""
from functools import cached_property
from pathlib import Path

import pytest

from bench.browser import CHROMIUM, VIEWPORT, App, launch_chromium, start_server, stop_server
from model.caption.pipeline import CaptionOptions, Captioners, caption
from model.core.images import load_image
from model.translate.pipeline import TranslateOptions, Translation, load_translator, translate


# Streamlit runs every rerun on a new thread, and glibc gives threads their own malloc arenas (up to 8 per
# core): freed memory then sits in many arenas and the server's RSS creeps up by ~0.5 MB a request under
# mixed caption + translate use, though Python frees everything (each page alone stays flat). Two arenas
# keep it flat, so the memory test sees leaks of the app, not of the allocator. A deployment should do the same.
SERVER_ENV = {"MALLOC_ARENA_MAX": "2"}


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("streamlit") / "streamlit.log", SERVER_ENV)
    try:
        yield server
    finally:
        stop_server(server)


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the e2e tests need Playwright for Python: pip install -r requirements-dev.txt "
                    "(or deselect them with -m 'not e2e')", pytrace=False)
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"the e2e tests need Chromium at {CHROMIUM}: apt-get install chromium "
                    "(or deselect them with -m 'not e2e')", pytrace=False)
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        yield browser
        browser.close()


@pytest.fixture
def new_app(browser, server):
    """Open the app in a fresh browser context (a new Streamlit session) per call; closed after the test."""
    contexts = []

    def new_app(wait: bool = True) -> App:
        context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
        context.set_default_timeout(60_000)
        contexts.append(context)
        return App(context.new_page(), server.url, wait)

    yield new_app
    for context in contexts:
        context.close()


class Reference:
    """What the pages should show, computed in this process with the models and defaults the pages use:
    Caption: soft attention, beam 3; Translate: French → English, additive scores, beam 5."""

    @cached_property
    def translator(self):
        return load_translator("additive", "fr-en")

    def translate(self, text: str, beam: int = 5) -> Translation:
        return translate(self.translator, text, TranslateOptions(beam))

    @cached_property
    def captioner(self) -> Captioners:
        return Captioners.load()

    def caption(self, data: bytes, beam: int = 3) -> str:
        run = caption(self.captioner, load_image(data), ("soft",), CaptionOptions(beam=beam))
        return " ".join("(unknown word)" if w == "<unk>" else w for w in run.captions["soft"].words)  # as the page shows it


@pytest.fixture(scope="session")
def reference() -> Reference:
    return Reference()
