"""Hostile inputs through the real browser: odd files on the Caption page, odd text on the Translate page.

Each must end in a plain message or a correct result, never a Python traceback,
and the session must keep working afterwards. The files are tests/hostile.py's, the README's table.
"""
import mimetypes
import re

import pytest

from bench.browser import SAMPLES, tree_rss_mb
from e2e_helpers import headlines, image_starting, messages, no_traceback, shot
from tests.hostile import HOSTILE
from ui.translate_page import sentences_of

pytestmark = pytest.mark.e2e

CAPTION = "a caption"  # upload() waits for new overlays rather than for a message

TEXTS = {  # case -> (text, words of the message it must show, whether a translation is shown)
    "empty": ("", "Type a sentence", False),
    "whitespace": ("   \n\t  ", "Type a sentence", False),
    "5000_chars": (("je suis fatigué et il fait froid . " * 150)[:5000], "5,000 characters", True),
    "emoji_only": ("😀🙈🎉", "Nothing to translate", False),
    "emoji_in_words": ("je suis content 😀 !", "😀", True),
    "korean": ("안녕하세요 저는 학생입니다", "None of the words is in its vocabulary", True),
    "html": ('<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1"> le chat', "script", True),
}


def upload(app, file_name: str, mime: str, data: bytes, outcome: str) -> None:
    """Upload and wait for this file's own outcome: its caption, or a message naming it."""
    file = {"name": file_name, "mimeType": mime, "buffer": data}
    if outcome == CAPTION:
        # Settle, not "wait for new overlays": several cases decode to the same pixels as the one before
        # (a PNG with a huge text chunk, then the same PNG with another chunk), so their overlays are too.
        app.upload(file)
        app.wait_new_thumbs([])
        return
    app.set_file(file)
    said = app.page.locator('[data-testid="stAlert"]').filter(has_text=file_name).filter(has_text=outcome)
    said.or_(app.page.locator('[data-testid="stFileChipIconError"]')).first.wait_for()  # or refused in the browser
    app.idle()


def test_hostile_files_on_the_caption_page(new_app, server, reference):
    """Every file of the README's hostile-inputs table (tests/hostile.py), one after another."""
    app = new_app()
    app.slide("Beam size (1 = greedy)", "Home")  # greedy: the cheapest run, the same code paths
    beam = app.page.get_by_role("slider", name="Beam size (1 = greedy)")
    for case, (file_name, make, expected) in HOSTILE.items():
        data, captioned = make(), not isinstance(expected, str)
        mime = mimetypes.guess_type(file_name)[0] or "application/octet-stream"
        rss_before = tree_rss_mb(server.proc.pid)
        upload(app, file_name, mime, data, CAPTION if captioned else expected)
        no_traceback(app)
        shot(app, "hostile_" + re.sub(r"\W+", "_", case))
        assert beam.get_attribute("aria-valuetext") == "1", f"{case}: the upload reset the beam setting"
        if captioned:
            assert headlines(app)[:1] == [reference.caption(data, beam=1)], case  # soft, then hard
            assert "Could not use" not in messages(app), case
        if case == "20,000×20,000 image":  # refused from the header: 20000×20000 RGB would be 1.2 GB decoded
            assert "Please upload a smaller image" in messages(app)
            assert tree_rss_mb(server.proc.pid) - rss_before < 100
        if case == "EXIF-rotated JPEG":  # stored landscape, shown upright (portrait)
            h, w = expected
            shown = image_starting(app, f"Your image, {w}×{h}")
            assert shown["width"] < shown["height"]
            assert all(t["width"] < t["height"] for t in app.thumbs())

    # and the session still captions a good photo
    photo = (SAMPLES / "grace_hopper.jpg").read_bytes()
    upload(app, "grace_hopper.jpg", "image/jpeg", photo, CAPTION)
    assert headlines(app)[:1] == [reference.caption(photo, beam=1)]
    assert "Could not use" not in messages(app)  # (the page's own notes, e.g. on its training data, stay)
    no_traceback(app)


def test_hostile_text_on_the_translate_page(new_app, reference):
    app = new_app()
    app.open("Translate")
    box = app.page.get_by_role("textbox", name="Sentence")
    for case, (text, message, translated) in TEXTS.items():
        app.act(lambda: (box.fill(text), box.press("Control+Enter")), quiet_s=0)
        no_traceback(app)
        shot(app, f"hostile_text_{case}")
        assert message in messages(app), (case, messages(app))
        # the page translates sentence by sentence and shows the joined translation as its headline
        expected = [" ".join(reference.translate(s).translation for s in sentences_of(text)[0])] if translated else []
        assert headlines(app) == expected, case
        assert box.input_value() == text  # the box keeps exactly what was typed, tags included, as text
    # the markup stayed text: nothing ran, no element was made from it
    assert not app.page.evaluate("window.__pwned")
    assert app.page.locator('[data-testid="stMain"] img[src="x"], [data-testid="stMain"] script').count() == 0
    assert "<, script, >" in messages(app)

    app.act(lambda: (box.fill("il fait froid ."), box.press("Control+Enter")), quiet_s=0)
    assert headlines(app) == [reference.translate("il fait froid .").translation] and not messages(app)


MARKUP_NAME = "**bold** [x](javascript:window.__pwned=1) $$x^2$$ <b>b</b>.jpg"


def test_markup_in_text_and_file_names_is_shown_as_typed(new_app):
    """Markdown, links and LaTeX typed by a user (tests/hostile.py) make no element: no bold, no link, no formula."""
    from tests.hostile import HOSTILE_TEXT
    app = new_app()
    main = app.page.locator('[data-testid="stMain"]')
    upload(app, MARKUP_NAME, "image/jpeg", b"not a picture", "not an image")
    no_traceback(app)
    assert "**bold**" in messages(app) and "$$x^2$$" in messages(app)  # the name as typed
    app.open("Translate")
    box = app.page.get_by_role("textbox", name="Sentence")
    for case in ("markdown", "markdown link to javascript", "LaTeX", "right-to-left override"):
        text = HOSTILE_TEXT[case][0]
        app.act(lambda: (box.fill(text), box.press("Control+Enter")), quiet_s=0)
        no_traceback(app)
        shot(app, "hostile_markup_" + re.sub(r"\W+", "_", case))
        assert box.input_value() == text
        assert main.locator('a[href^="javascript"], .katex, strong:text-is("grasse"), em:text-is("penchée")'
                            ).count() == 0, case
        assert len(headlines(app)) == 1, case  # and it was translated
    assert not app.page.evaluate("window.__pwned")
