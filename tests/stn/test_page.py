"""The Spatial transformer page as a user drives it: learned mode on digits and photos, manual mode,
and pictures whose shape would make a careless page allocate gigabytes."""
import io
import re
import tracemalloc

import numpy as np
import pytest
from PIL import Image

from model.core.assets import SAMPLES
from model.stn.net import theta_from_params
from tests.conftest import open_page
from ui.stn_manual import WORK
from viz.grid import draw_grid, enlarge, fit, letterbox

DIGITS = SAMPLES / "digits"


def open_stn(mode="Learned"):
    at = open_page("Spatial transformer")
    if mode != "Learned":
        at.radio(key="stn_mode").set_value(mode).run()
    assert not at.exception, at.exception
    return at


def png(array) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "PNG")
    return buf.getvalue()


def upload(at, name: str, data: bytes):
    at.file_uploader(key="stn_upload").set_value((name, data, "image/png")).run()
    assert not at.exception, at.exception
    return at


def theta_shown(at) -> np.ndarray:
    values = [float(v) for v in re.findall(r"[+-]\d+\.\d+", at.latex[0].value)]
    return np.array(values).reshape(2, 3)


def captions(at) -> str:
    return " ".join(c for img in at.image for c in img.captions) + " " + " ".join(c.value for c in at.caption)


def test_the_page_opens_on_a_digit_already_read():
    at = open_stn()
    assert at.selectbox(key="stn_digit").value.startswith("rts_")
    assert "model input 42×42" in captions(at) and "sampling grid" in captions(at)
    assert "**With the transformer (ST-CNN):**" in " ".join(m.value for m in at.markdown)
    assert len(at.get("file_uploader")) == 1 and len([s for s in at.selectbox if not s.disabled]) == 1


@pytest.mark.parametrize("variant", ["rts", "cluttered"])
def test_learned_mode_on_a_built_in_digit(variant):
    at = open_stn()
    sample = sorted(p.name for p in DIGITS.glob(f"{variant}_*.png"))[0]
    at.selectbox(key="stn_digit").set_value(sample).run()
    assert not at.exception and not at.error
    size = 42 if variant == "rts" else 60
    assert f"model input {size}×{size}" in captions(at) and "sampling grid" in captions(at)
    assert len(at.image) >= 7  # picture, grey, levels, input, input with grid, output, θ diagram
    assert theta_shown(at).shape == (2, 3)
    label = int(re.search(r"label(\d)", sample).group(1))
    text = " ".join(m.value for m in at.markdown)
    assert f"**With the transformer (ST-CNN):** {label}" in text and "Without (CNN baseline)" in text


def test_learned_mode_marks_a_non_digit_photo_as_low_confidence():
    at = open_stn()
    at.selectbox(key="stn_digit").set_value("chelsea.jpg").run()
    assert not at.exception and not at.error
    assert any(w.value.startswith("Low confidence") for w in at.warning)
    assert "sampling grid" in captions(at) and "transformed output" in captions(at)


def test_an_upload_replaces_the_sample_picker_and_survives_a_page_switch():
    at = open_stn()
    upload(at, "my*digit.png", png(np.full((80, 60, 3), 255, np.uint8)))
    assert "stn_digit" not in [s.key for s in at.selectbox]  # no digit shown while the upload is used
    assert at.selectbox(key="stn_sample_off").value == "your upload: my*digit.png"
    assert r"my\*digit\.png, 60×80" in captions(at)  # the file name is shown as typed, not as markdown
    at.sidebar.radio(key="page").set_value("About").run()
    at.sidebar.radio(key="page").set_value("Spatial transformer").run()
    assert r"my\*digit\.png, 60×80" in captions(at)
    at.button(key="stn_forget").click().run()
    assert at.selectbox(key="stn_digit").value.startswith("rts_") and "my" not in captions(at)


def test_manual_mode_sliders_build_theta_and_reset_goes_back_to_the_identity():
    at = open_stn("Manual")
    at.selectbox(key="stn_photo").set_value("chelsea.jpg").run()
    assert np.allclose(theta_shown(at), [[1, 0, 0], [0, 1, 0]], atol=1e-3)
    w, h = Image.open(SAMPLES / "chelsea.jpg").size
    sh, sw = fit(np.zeros((h, w, 3), np.uint8), WORK).shape[:2]
    assert f"output {sw}×{sh}" in captions(at)
    at.slider(key="stn_rotation").set_value(90).run()
    at.slider(key="stn_scale").set_value(0.5).run()
    at.slider(key="stn_tx").set_value(0.25).run()
    assert not at.exception
    expected = theta_from_params(90, 0.5, 0.5, 0.0, 0.25, 0.0, in_hw=(sh, sw)).numpy()
    assert np.allclose(theta_shown(at), expected, atol=1e-3)
    at.button(key="stn_reset").click().run()
    assert at.slider(key="stn_rotation").value == 0 and at.slider(key="stn_scale").value == 1.0
    assert np.allclose(theta_shown(at), [[1, 0, 0], [0, 1, 0]], atol=1e-3)


def test_manual_mode_works_at_display_size_on_a_large_upload():
    at = open_stn("Manual")
    upload(at, "wide.png", png(np.full((1200, 3000, 3), 200, np.uint8)))
    assert not at.error
    assert "3000×1200 (shown at 640×256)" in captions(at) and "output 640×256" in captions(at)


@pytest.mark.parametrize("shape", [(3, 600), (1, 20_000), (20_000, 1)])
def test_thin_strips_are_refused_plainly(shape):
    at = open_stn("Manual")
    upload(at, "strip.png", png(np.full((*shape, 3), 128, np.uint8)))
    assert any("strip" in e.value for e in at.error) and not at.image


@pytest.mark.parametrize("mode", ["Learned", "Manual"])
@pytest.mark.parametrize("shape", [(30, 600), (6000, 300)])
def test_a_strip_at_the_aspect_limit_costs_a_few_mb_beyond_its_pixels(mode, shape):
    at = open_stn(mode)
    data = png(np.random.default_rng(0).integers(0, 255, (*shape, 3), dtype=np.uint8))
    tracemalloc.start()
    try:
        upload(at, "strip.png", data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert not at.error and at.image
    decoded = shape[0] * shape[1] * 3  # held three times: the uploaded bytes (noise hardly compresses),
    # Pillow's decoded image and its array; everything the page computes comes on top of that
    assert peak - 3 * decoded < 8e6, f"{peak / 1e6:.1f} MB for a {decoded / 1e6:.1f} MB picture"


@pytest.mark.parametrize("shape", [(3, 600), (1, 20_000), (20_000, 1)])
def test_drawing_a_strip_is_bounded_by_the_display_not_its_long_side(shape):
    image = np.full((*shape, 3), 100, np.uint8)
    theta = theta_from_params(30, 2.0, 2.0, 0.3, 0.2, 0.1, in_hw=shape).numpy()
    tracemalloc.start()
    try:
        pictures = [draw_grid(image, theta, shape, lattice=9, min_side=336, max_side=720), enlarge(image, 336),
                    fit(image, 720), letterbox(image, 210)]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert all(max(p.shape[:2]) <= max(720, *shape) for p in pictures)
    assert peak < 4e6, f"{peak / 1e6:.1f} MB"


def test_page_and_command_line_read_a_digit_the_same_way(capsys):
    """One pipeline serves both: the page's prediction and θ are the CLI's for the same file."""
    import json

    from model.stn.__main__ import main
    sample = sorted(p.name for p in DIGITS.glob("rts_*.png"))[1]
    at = open_stn()
    at.selectbox(key="stn_digit").set_value(sample).run()
    assert main([str(DIGITS / sample), "--model", "rts", "--json", "--device", "cpu"]) == 0
    cli = json.loads(capsys.readouterr().out)
    text = " ".join(m.value for m in at.markdown)
    assert f"**With the transformer (ST-CNN):** {cli['prediction']} " in text
    assert f"**Without (CNN baseline):** {cli['cnn_prediction']} " in text
    assert np.allclose(theta_shown(at), cli["theta"], atol=1e-3)
