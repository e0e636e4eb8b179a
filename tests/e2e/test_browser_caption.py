"""The Caption page in a real browser: upload a photo, read its caption, switch attention, download."""
import io

import pytest
from PIL import Image

from bench.browser import SAMPLES
from e2e_helpers import download, headlines, no_traceback, png_image, shot

pytestmark = pytest.mark.e2e

PHOTO = SAMPLES / "chelsea.jpg"  # 451×300: not square, so a stretched or cropped overlay would show


def headline_captions(app) -> dict[str, str]:
    """Model -> the caption shown under its "<model> attention" heading."""
    heads = app.page.locator('[data-testid="stMarkdownContainer"] p strong').filter(has_text=" attention")
    return {h.split()[0]: w for h, w in zip(heads.all_inner_texts(), headlines(app))}


def by_model(thumbs) -> set[str]:
    return {t["src"] for t in thumbs}


def test_upload_caption_switch_attention_and_download(new_app):
    app = new_app()
    thumbs = app.caption_upload(PHOTO)
    no_traceback(app)
    soft = headline_captions(app)
    assert list(soft) == ["soft"] and soft["soft"].strip()
    words = soft["soft"].split()
    assert [t["caption"] for t in thumbs] == [f"{i}. {w}" for i, w in enumerate(words, 1)]
    w, h = Image.open(PHOTO).size
    for t in thumbs:  # each map is stretched over the whole photo: the thumbnail keeps its aspect ratio
        assert t["width"] / t["height"] == pytest.approx(w / h, rel=0.02)
    shot(app, "caption_soft")

    app.choose("hard")
    hard_thumbs = app.wait_new_thumbs(old=[])
    hard = headline_captions(app)
    assert list(hard) == ["hard"] and hard["hard"].strip()
    assert len(hard_thumbs) == len(hard["hard"].split())
    assert not by_model(hard_thumbs) & by_model(thumbs), "the hard overlays are the soft ones"
    shot(app, "caption_hard")

    app.choose("both, side by side")
    both_thumbs = app.wait_new_thumbs(old=[])
    assert headline_captions(app) == {**soft, **hard}
    # the same encoder run and decoders: both views are the two single views, side by side
    assert by_model(both_thumbs) == by_model(thumbs) | by_model(hard_thumbs)
    no_traceback(app)
    shot(app, "caption_both")

    grid = png_image(download(app, "Download the per-word grid (PNG)", "chelsea_caption_words.png"), 20_000)
    assert grid.height > grid.width  # two columns of panels, one row per word

    gif = Image.open(io.BytesIO(download(app, "Download the soft caption being written (GIF)")))
    assert gif.format == "GIF" and gif.n_frames == len(soft["soft"].split())
    no_traceback(app)
