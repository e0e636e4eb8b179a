"""The Caption page as a user meets it, on tiny throw-away captioners (conftest's ``tiny_dir``)
and on the shipped ones when present."""
import io

import numpy as np
import pytest
from PIL import Image

from model.caption.pipeline import Caption
from model.core import assets
from model.core.assets import ASSETS_ENV
from tests.conftest import WORDS, open_page
from ui.caption_page import ARGMAX, EXPECTED, SAMPLED
from ui.caption_panels import grid_png
from ui.caption_words import counterpart

SHIPPED = all((assets.SHIPPED / f"captioner_{a}.pt").is_file() for a in ("soft", "hard"))
needs_shipped = pytest.mark.skipif(not SHIPPED, reason="assets/captioner_soft.pt and captioner_hard.pt are not there")


def png(w=96, h=40):
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (h, w, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def open_caption_page(folder=None):
    with pytest.MonkeyPatch.context() as mp:  # the app reads the variable on every run; set it for each
        if folder is not None:
            mp.setenv(ASSETS_ENV, str(folder))
        else:
            mp.delenv(ASSETS_ENV, raising=False)
        return open_page("Caption")


def rerun(at, folder, action):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(ASSETS_ENV, str(folder))
        action(at).run()
    assert not at.exception, at.exception
    return at


def captions(at) -> list[str]:
    return [m.value[4:] for m in at.markdown if m.value.startswith("### ")]


def large_overlays(at) -> dict[str, tuple[str, str]]:
    """Model name -> (caption, URL) of its big overlay (the image whose caption names the word index)."""
    return {img.captions[0].split(",")[0]: (img.captions[0], img.value[0])
            for img in at.image if " word " in img.captions[0]}


def view(at):
    return at.session_state["cap_result"][1]


@pytest.fixture(scope="module")
def at(tiny_dir):
    at = open_caption_page(tiny_dir)
    assert not at.exception, at.exception
    return rerun(at, tiny_dir, lambda at: at.file_uploader(key="caption_upload").set_value(
        ("wide.png", png(), "image/png")))


@needs_shipped
def test_the_page_opens_on_a_captioned_photo_from_the_shipped_result():
    at = open_caption_page()
    assert not at.exception and not at.error, (at.exception, at.error)
    assert len(captions(at)) == 2 and all(c.strip() for c in captions(at))  # soft and hard, without a click
    assert view(at).cached  # drawn from assets/samples/opening_caption.json: no model ran
    assert set(large_overlays(at)) == {"soft", "hard"}
    card = view(at).metrics["hard"]
    expected = next(v for k, v in card.items() if k.startswith("test BLEU-4") and "expected context" in k)
    assert any("Shown with all locations weighted by α" in c.value and f"{expected:.1f}" in c.value
               for c in at.caption)  # the default, with the card's number for it
    assert any("“cat” in 41" in i.value for i in at.info)  # what the model knows, said on the first screen
    at.radio(key="cap_mode").set_value("soft").run()  # a subset of the shipped result: still no model
    assert view(at).cached and len(captions(at)) == 1


@needs_shipped
def test_the_shipped_opening_result_is_what_the_models_say_now():
    """Fails when the checkpoints were re-shipped without `python -m train.caption.opening`."""
    from model.caption.pipeline import CaptionOptions, Captioners, caption
    from model.core.images import load_image
    from ui.caption_data import DEFAULT_OPTIONS, opening_data
    data = opening_data()
    image = load_image((assets.SAMPLES / data["image"]).read_bytes())
    run = caption(Captioners.load(device="cpu"), image, ("soft", "hard"),
                  CaptionOptions(DEFAULT_OPTIONS["beam"], location=DEFAULT_OPTIONS["hard_how"]))
    for name, c in run.captions.items():
        assert data["captions"][name]["words"] == c.words, "stale: run python -m train.caption.opening"
        np.testing.assert_allclose(data["captions"][name]["alphas"], c.alphas, atol=2e-4)


def test_a_clicked_word_shows_its_map_in_both_captions_without_recaptioning(at, tiny_dir):
    rerun(at, tiny_dir, lambda at: at.radio(key="cap_mode").set_value("both"))
    result, before = at.session_state["cap_result"], large_overlays(at)
    soft = view(at).captions["soft"].words
    k = next(i for i in range(len(soft)) if f"word {i + 1}:" not in before["soft"][0])
    rerun(at, tiny_dir, lambda at: at.button_group(key="cap_pick_soft").set_value(k))
    after = large_overlays(at)
    assert after["soft"][0] == f"soft, word {k + 1}: {soft[k]}" and after["soft"][1] != before["soft"][1]
    hard = view(at).captions["hard"].words
    j, same = counterpart(soft, k, hard)
    assert at.button_group(key="cap_pick_hard").value == j  # the other row highlights its counterpart
    assert after["hard"][0] == f"hard, {'' if same else 'nearest '}word {j + 1}: {hard[j]}"
    assert at.session_state["cap_result"] is result  # the model did not run again


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


def test_a_checkpoint_without_counts_says_so(at, tiny_dir):
    rerun(at, tiny_dir, lambda at: at.radio(key="cap_mode").set_value("soft"))
    assert any("does not record how often" in c.value for c in at.caption)


def test_inputs_and_result_survive_a_visit_to_another_page(tiny_dir):
    at = open_caption_page(tiny_dir)
    rerun(at, tiny_dir, lambda at: at.file_uploader(key="caption_upload").set_value(("mine.png", png(), "image/png")))
    rerun(at, tiny_dir, lambda at: at.slider(key="cap_beam").set_value(2))
    rerun(at, tiny_dir, lambda at: at.radio(key="cap_mode").set_value("hard"))
    rerun(at, tiny_dir, lambda at: at.radio(key="cap_hard_how").set_value(ARGMAX))
    before, result = captions(at), at.session_state["cap_result"]
    rerun(at, tiny_dir, lambda at: at.sidebar.radio(key="page").set_value("About"))
    rerun(at, tiny_dir, lambda at: at.sidebar.radio(key="page").set_value("Caption"))
    assert at.slider(key="cap_beam").value == 2 and at.radio(key="cap_mode").value == "hard"
    assert at.radio(key="cap_hard_how").value == ARGMAX
    assert captions(at) == before and at.session_state["cap_result"] is result  # same photo, not rerun
    assert any("Still showing your upload mine\\.png" in c.value for c in at.caption)
    rerun(at, tiny_dir, lambda at: at.button_group(key="cap_pick_hard").set_value(1))  # a click keeps it too
    assert captions(at) == before and at.session_state["cap_result"] is result
    rerun(at, tiny_dir, lambda at: at.selectbox(key="caption_sample").set_value("coffee.jpg"))
    assert not any("Still showing" in c.value for c in at.caption)  # a sample chosen: the upload is let go


@pytest.mark.parametrize("models", [("soft",), ("soft", "hard")])
def test_the_png_download_is_the_word_grid_or_the_aligned_figure(models):
    def fake(words):
        alphas = np.random.default_rng(len(words)).random((len(words), 14, 14))
        return Caption(" ".join(words), words, list(range(len(words))), alphas / alphas.sum((1, 2), keepdims=True),
                       np.full(len(words), 0.5), -1.0, 1.0)
    caps = {m: fake(["a", "dog", "runs"][:3 - i]) for i, m in enumerate(models)}
    image = Image.open(io.BytesIO(grid_png(np.zeros((60, 60, 3), np.uint8), caps)))
    assert image.format == "PNG"
    assert (image.height > image.width) == (len(models) == 2)  # aligned: a tall figure of word rows


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
    assert not at.error and len(captions(at)) == 1  # the opening photo, captioned by the one model there


def test_a_corrupt_checkpoint_is_a_plain_error_not_a_traceback(tmp_path):
    (tmp_path / "captioner_soft.pt").write_bytes(b"garbage")
    at = open_caption_page(tmp_path)
    assert not at.exception
    assert any("could not be loaded" in e.value and "captioner_soft.pt" in e.value for e in at.error)


@needs_shipped
def test_the_shipped_captioners_caption_every_sample():
    at = open_caption_page()
    assert not at.exception, at.exception
    samples = [o for o in at.selectbox(key="caption_sample").options if o != "(none)"]
    assert samples
    for sample in samples:
        at.selectbox(key="caption_sample").set_value(sample).run()
        assert not at.exception and not at.error, (sample, at.exception, at.error)
        assert len(captions(at)) == 2 and all(c.strip() and c != "(no words)" for c in captions(at)), sample


def test_hard_weighted_sum_is_the_default_and_argmax_gives_one_cell_per_word(at, tiny_dir):
    rerun(at, tiny_dir, lambda at: at.radio(key="cap_mode").set_value("hard"))
    rerun(at, tiny_dir, lambda at: at.radio(key="cap_hard_how").set_value(EXPECTED))
    assert at.radio(key="cap_hard_how").options[0] == EXPECTED
    alphas = view(at).captions["hard"].alphas.reshape(WORDS, -1)
    assert (alphas.max(1) < 1).all()  # spread: every location weighted
    assert any("all locations, weighted by α" in m.value for m in at.markdown)
    rerun(at, tiny_dir, lambda at: at.radio(key="cap_hard_how").set_value(ARGMAX))
    assert (view(at).captions["hard"].alphas.reshape(WORDS, -1).max(1) == 1).all()
    assert "the one cell it looked at" not in large_overlays(at)["hard"][0]  # that is drawn on the picture
    assert any("single most likely location" in c.value for c in at.caption)


def test_beam_ranking_per_word_or_in_total_is_the_users_choice(at, tiny_dir):
    rerun(at, tiny_dir, lambda at: at.radio(key="cap_mode").set_value("both"))
    rerun(at, tiny_dir, lambda at: at.slider(key="cap_beam").set_value(3))
    rerun(at, tiny_dir, lambda at: at.checkbox(key="cap_per_word").check())
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
    page = view(at).captions[mode]
    assert captions(at) == [cli["caption"]] and page.words == cli["tokens"]
    np.testing.assert_allclose(page.alphas, cli["alphas"], atol=1e-4)


def test_the_selected_word_can_be_measured_and_its_attention_moved(at, tiny_dir):
    rerun(at, tiny_dir, lambda at: at.radio(key="cap_mode").set_value("both"))
    assert not at.metric  # off by default: opening the page explains nothing
    try:
        rerun(at, tiny_dir, lambda at: at.toggle(key="cap_explain_on").set_value(True))
        k = at.button_group(key="cap_pick_soft").value
        assert "Kendall τ (α, gradient)" in [m.label for m in at.metric]
        assert any(c.value.startswith(f"soft attention, word {k + 1}:") for c in at.caption)
        j = (at.button_group(key="cap_pick_hard").value + 1) % len(view(at).captions["hard"].words)
        rerun(at, tiny_dir, lambda at: at.button_group(key="cap_pick_hard").set_value(j))  # the view follows
        assert any(c.value.startswith(f"hard attention, word {j + 1}:") for c in at.caption)
        rerun(at, tiny_dir, lambda at: at.button(key="cap_explain_go").click())
        assert len(at.text) == 2 and "With the attention moved" in [m.value.strip("*") for m in at.markdown]
    finally:
        rerun(at, tiny_dir, lambda at: at.toggle(key="cap_explain_on").set_value(False))
    assert not at.metric
