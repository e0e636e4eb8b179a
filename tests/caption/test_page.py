"""The Caption page as a user meets it, on tiny throw-away captioners (conftest's ``tiny_dir``)
and on the shipped ones when present."""
import io

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from model.caption.pipeline import Caption
from model.core import assets
from model.core.assets import ASSETS_ENV
from tests.conftest import WORDS
from ui.caption_page import ARGMAX, EXPECTED, SAMPLED, grid_png


def png(w=96, h=40):
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (h, w, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def open_caption_page(folder=None):
    with pytest.MonkeyPatch.context() as mp:  # the app reads the variable on every run; set it for each
        if folder is not None:
            mp.setenv(ASSETS_ENV, str(folder))
        at = AppTest.from_file("../../app.py", default_timeout=120)
        at.run()
        at.sidebar.radio(key="page").set_value("Caption").run()
    return at


def rerun(at, folder, action):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(ASSETS_ENV, str(folder))
        action(at).run()
    assert not at.exception, at.exception
    return at


def captions(at) -> list[str]:
    return [m.value[4:] for m in at.markdown if m.value.startswith("### ")]


def large_overlays(at) -> dict[str, str]:
    """Model name -> URL of its big overlay (the image whose caption names the word index)."""
    return {img.captions[0].split(",")[0]: img.value[0] for img in at.image if ", word " in img.captions[0]}


@pytest.fixture(scope="module")
def at(tiny_dir):
    at = open_caption_page(tiny_dir)
    assert not at.exception, at.exception
    return rerun(at, tiny_dir, lambda at: at.file_uploader(key="caption_upload").set_value(
        ("wide.png", png(), "image/png")))


def shipped_paths() -> dict:
    return {a: assets.captioner(a) for a in ("soft", "hard")}


def test_checkpoint_paths_follow_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(ASSETS_ENV, raising=False)
    assert shipped_paths() == {a: assets.SHIPPED / f"captioner_{a}.pt" for a in ("soft", "hard")}
    monkeypatch.setenv(ASSETS_ENV, str(tmp_path))
    assert shipped_paths() == {"soft": tmp_path / "captioner_soft.pt", "hard": tmp_path / "captioner_hard.pt"}


def fake_caption(words):
    alphas = np.random.default_rng(len(words)).random((len(words), 14, 14))
    return Caption(" ".join(words), words, list(range(len(words))), alphas / alphas.sum((1, 2), keepdims=True),
                   np.full(len(words), 0.5), -1.0, 1.0)


@pytest.mark.parametrize("models", [("soft",), ("soft", "hard")])
def test_the_png_download_is_the_word_grid_or_the_aligned_figure(models):
    caps = {m: fake_caption(["a", "dog", "runs"][:3 - i]) for i, m in enumerate(models)}
    image = Image.open(io.BytesIO(grid_png(np.zeros((60, 60, 3), np.uint8), caps)))
    assert image.format == "PNG"
    assert (image.height > image.width) == (len(models) == 2)  # aligned: a tall figure of word rows


@pytest.mark.parametrize("mode", ["soft", "hard", "both"])
def test_each_attention_mode_captions_a_non_square_upload(at, tiny_dir, mode):
    rerun(at, tiny_dir, lambda at: at.radio(key="cap_mode").set_value(mode))
    n = 2 if mode == "both" else 1
    assert not at.error
    assert len(captions(at)) == n and all(len(c.split()) == WORDS for c in captions(at))
    assert len(large_overlays(at)) == n
    thumbs = [img for img in at.image if img.captions[0].split(". ")[0].isdigit()]
    assert len(thumbs) == n * WORDS
    labels = [b.label for b in at.get("download_button")]
    assert any("PNG" in b for b in labels) and sum("GIF" in b for b in labels) == n
    assert len(at.dataframe) == n


def test_the_word_slider_changes_the_large_overlay_without_recaptioning(at, tiny_dir):
    rerun(at, tiny_dir, lambda at: at.radio(key="cap_mode").set_value("soft"))
    result = at.session_state["cap_result"]
    before = large_overlays(at)["soft"]
    rerun(at, tiny_dir, lambda at: at.slider(key="cap_word").set_value(WORDS))
    assert large_overlays(at)["soft"] != before
    assert at.session_state["cap_result"] is result  # same key: the model did not run again


def test_hard_sampled_locations_use_seed_temperature_and_samples(at, tiny_dir):
    rerun(at, tiny_dir, lambda at: at.radio(key="cap_mode").set_value("hard"))
    rerun(at, tiny_dir, lambda at: at.radio(key="cap_hard_how").set_value(SAMPLED))
    rerun(at, tiny_dir, lambda at: at.slider(key="cap_temperature").set_value(2.0))
    rerun(at, tiny_dir, lambda at: at.number_input(key="cap_seed").set_value(7))
    assert not at.error and len(captions(at)) == 1 and len(large_overlays(at)) == 1
    assert at.session_state["cap_result"][0][2].seed == 7


def test_a_non_image_upload_shows_an_error_and_the_page_keeps_working(at, tiny_dir):
    rerun(at, tiny_dir, lambda at: at.file_uploader(key="caption_upload").set_value(
        ("notes.png", b"not a picture at all", "image/png")))
    assert any("not an image" in e.value for e in at.error)
    assert not captions(at)
    rerun(at, tiny_dir, lambda at: at.file_uploader(key="caption_upload").set_value(
        ("tall.png", png(30, 80), "image/png")))
    assert not at.error and captions(at)


def test_with_only_one_checkpoint_the_toggle_offers_what_exists(tiny_dir, tmp_path):
    (tmp_path / "captioner_soft.pt").write_bytes((tiny_dir / "captioner_soft.pt").read_bytes())
    at = open_caption_page(tmp_path)
    assert not at.exception, at.exception
    assert at.radio(key="cap_mode").options == ["soft"]
    assert any("hard-attention captioner" in i.value and "captioner_hard.pt" in i.value for i in at.info)
    rerun(at, tmp_path, lambda at: at.selectbox(key="caption_sample").set_value("chelsea.jpg"))
    assert not at.error and len(captions(at)) == 1


def test_a_corrupt_checkpoint_is_a_plain_error_not_a_traceback(tmp_path):
    (tmp_path / "captioner_soft.pt").write_bytes(b"garbage")
    at = open_caption_page(tmp_path)
    rerun(at, tmp_path, lambda at: at.selectbox(key="caption_sample").set_value("chelsea.jpg"))
    assert any("could not be loaded" in e.value and "captioner_soft.pt" in e.value for e in at.error)


@pytest.mark.skipif(not all((assets.SHIPPED / f"captioner_{a}.pt").is_file() for a in ("soft", "hard")),
                    reason="assets/captioner_soft.pt and captioner_hard.pt are not shipped yet")
def test_the_shipped_captioners_caption_every_sample(monkeypatch):
    monkeypatch.delenv(ASSETS_ENV, raising=False)  # the files in assets/, whatever the caller's environment
    at = open_caption_page()
    assert not at.exception, at.exception
    at.radio(key="cap_mode").set_value("both").run()
    samples = [o for o in at.selectbox(key="caption_sample").options if o != "(none)"]
    assert samples
    for sample in samples:
        at.selectbox(key="caption_sample").set_value(sample).run()
        assert not at.exception and not at.error, (sample, at.exception, at.error)
        assert len(captions(at)) == 2 and all(c.strip() and c != "(no words)" for c in captions(at)), sample


def test_hard_weighted_sum_mode_spreads_the_maps_and_says_so(at, tiny_dir):
    rerun(at, tiny_dir, lambda at: at.radio(key="cap_mode").set_value("hard"))
    rerun(at, tiny_dir, lambda at: at.radio(key="cap_hard_how").set_value(EXPECTED))
    alphas = at.session_state["cap_result"][1]["captions"]["hard"].alphas.reshape(WORDS, -1)
    assert (alphas.max(1) < 1).all()  # the argmax and sampled modes give one-hot maps
    assert any("weighted sum of locations" in m.value for m in at.markdown)
    rerun(at, tiny_dir, lambda at: at.radio(key="cap_hard_how").set_value(ARGMAX))
    assert (at.session_state["cap_result"][1]["captions"]["hard"].alphas.reshape(WORDS, -1).max(1) == 1).all()


def test_beam_ranking_per_word_or_in_total_is_the_users_choice(at, tiny_dir):
    rerun(at, tiny_dir, lambda at: at.radio(key="cap_mode").set_value("both"))
    assert at.session_state["cap_result"][0][2].per_word  # the default, as the shipped scores are measured
    rerun(at, tiny_dir, lambda at: at.checkbox(key="cap_per_word").uncheck())
    assert not at.session_state["cap_result"][0][2].per_word  # captioned again, ranked by the total
    assert not at.error and len(captions(at)) == 2
    rerun(at, tiny_dir, lambda at: at.slider(key="cap_beam").set_value(1))
    assert at.checkbox(key="cap_per_word").disabled  # greedy keeps one caption: nothing to rank


@pytest.mark.parametrize("mode", ["soft", "hard"])
def test_page_and_command_line_give_the_same_caption(at, tiny_dir, tmp_path, monkeypatch, capsys, mode):
    """One pipeline serves both: the page's caption and maps are the CLI's for the same image and settings."""
    import json

    from model.caption.__main__ import main
    rerun(at, tiny_dir, lambda at: at.radio(key="cap_mode").set_value(mode))
    rerun(at, tiny_dir, lambda at: at.slider(key="cap_beam").set_value(3))
    rerun(at, tiny_dir, lambda at: at.checkbox(key="cap_per_word").check())
    if mode == "hard":
        rerun(at, tiny_dir, lambda at: at.radio(key="cap_hard_how").set_value(ARGMAX))
    data = png(70, 50)
    rerun(at, tiny_dir, lambda at: at.file_uploader(key="caption_upload").set_value(("photo.png", data, "image/png")))
    (tmp_path / "photo.png").write_bytes(data)
    monkeypatch.setenv(ASSETS_ENV, str(tiny_dir))
    assert main([str(tmp_path / "photo.png"), "--attention", mode, "--beam", "3", "--json", "--device", "cpu"]) == 0
    cli = json.loads(capsys.readouterr().out)
    page = at.session_state["cap_result"][1]["captions"][mode]
    assert captions(at) == [cli["caption"]] and page.words == cli["tokens"]
    np.testing.assert_allclose(page.alphas, cli["alphas"], atol=1e-4)
