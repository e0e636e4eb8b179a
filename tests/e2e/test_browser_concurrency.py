"""Ten people at once: each browser session captions its own image, translates its own sentence and
goes back to its caption, which is still there (upload, caption and settings kept across pages).

Sync Playwright drives one thing at a time, so the sessions are interleaved: every
upload (or sentence) is handed over first, then each session is waited for, while
the server works on all of them together. Each must show exactly its own result,
as computed here with the same models and defaults.
"""
import io

import pytest
from PIL import Image

from bench.browser import SAMPLES
from e2e_helpers import headlines, image_starting, no_traceback, photo, shot
from tests.hostile import encode

pytestmark = pytest.mark.e2e

SESSIONS = 10
SENTENCES = [
    "je suis très fatigué .", "elle est plus grande que moi .", "nous allons à la plage demain .",
    "il ne sait pas nager .", "j'ai oublié mon parapluie dans le train .", "est-ce que tu parles français ?",
    "il fait froid aujourd'hui .", "où est la gare ?", "j'aime les chats .", "tom a acheté une voiture .",
]


def images() -> list[tuple[str, bytes]]:
    """The five sample photos and five drawn pictures: ten sizes, so each session's image is recognisable."""
    files = [(p.name, p.read_bytes()) for p in sorted(SAMPLES.glob("*.jpg"))]
    for w, h in [(300, 200), (200, 300), (320, 240), (400, 250), (256, 256)]:
        files.append((f"drawn_{w}x{h}.png", encode(photo(w, h), "PNG")))
    return files


def test_ten_sessions_each_get_their_own_caption_and_translation(new_app, reference):
    files = images()
    assert len(files) == len(SENTENCES) == SESSIONS
    sizes = [Image.open(io.BytesIO(data)).size for _, data in files]
    assert len(set(sizes)) == SESSIONS
    apps = [new_app(wait=False) for _ in range(SESSIONS)]
    for app in apps:
        app.settle(0)

    # The page opens with a captioned sample (chelsea.jpg): the session that uploads that same photo gets
    # the same overlays back, so only the others wait for new ones.
    opening = [[] if name == "chelsea.jpg" else [t["src"] for t in app.thumbs()] for app, (name, _) in zip(apps, files)]
    for app, (name, data) in zip(apps, files):
        mime = "image/png" if name.endswith(".png") else "image/jpeg"
        app.set_file({"name": name, "mimeType": mime, "buffer": data})
    for app, old in zip(apps, opening):
        app.wait_new_thumbs(old)
    for i, (app, (name, data), (w, h)) in enumerate(zip(apps, files, sizes)):
        no_traceback(app)
        assert app.page.locator('[data-testid="stFileChipName"]').inner_text() == name
        image_starting(app, f"Your image, {w}×{h}")
        assert headlines(app)[:1] == [reference.caption(data)], f"session {i} ({name})"  # soft first, then hard
    shot(apps[-1], "concurrency_caption_session_10")
    captioned = [headlines(app) for app in apps]

    go_to(apps, "Translate")
    before = [app.runs for app in apps]
    for app, sentence in zip(apps, SENTENCES):
        box = app.page.get_by_role("textbox", name="Sentence")
        box.fill(sentence)
        box.press("Control+Enter")
    for app, runs in zip(apps, before):
        app.settle(runs, quiet_s=0)
    for i, (app, sentence) in enumerate(zip(apps, SENTENCES)):
        no_traceback(app)
        assert app.page.get_by_role("textbox", name="Sentence").input_value() == sentence
        assert headlines(app) == [reference.translate(sentence).translation], f"session {i} ({sentence})"
    shot(apps[-1], "concurrency_translate_session_10")

    go_to(apps, "Caption")  # and back: each session finds its own upload and caption as it left them
    for i, (app, (name, _)) in enumerate(zip(apps, files)):
        no_traceback(app)
        # Streamlit empties an uploader while its page is hidden; the page keeps the photo and says so
        assert f"Still showing your upload {name}" in app.page.locator('[data-testid="stMain"]').inner_text(), \
            f"session {i}"
        assert headlines(app) == captioned[i], f"session {i} ({name})"
    shot(apps[-1], "concurrency_caption_again_session_10")


def go_to(apps, page: str) -> None:
    """Every session clicks the page in the sidebar at once; then each is waited for."""
    before = [app.runs for app in apps]
    for app in apps:
        app.page.locator('[data-testid="stSidebar"] label').filter(has_text=page).click()
    for app, runs in zip(apps, before):
        app.settle(runs, quiet_s=0)
