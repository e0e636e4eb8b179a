"""The Spatial transformer page as a user drives it: learned mode on digits and photos, manual mode."""
import io
import re

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from model.stn.net import theta_from_params
from ui.stn_page import DIGITS


def open_stn(mode="Learned"):
    at = AppTest.from_file("../../app.py", default_timeout=120)
    at.run()
    at.sidebar.radio(key="page").set_value("Spatial transformer").run()
    if mode != "Learned":
        at.radio(key="stn_mode").set_value(mode).run()
    assert not at.exception, at.exception
    return at


def theta_shown(at) -> np.ndarray:
    values = [float(v) for v in re.findall(r"[+-]\d+\.\d+", at.latex[0].value)]
    return np.array(values).reshape(2, 3)


def captions(at) -> str:
    return " ".join(c for img in at.image for c in img.captions) + " " + " ".join(c.value for c in at.caption)


@pytest.mark.parametrize("variant", ["rts", "cluttered"])
def test_learned_mode_on_a_built_in_digit(variant):
    at = open_stn()
    sample = sorted(p.name for p in DIGITS.glob(f"{variant}_*.png"))[0]
    at.selectbox(key="stn_digit").set_value(sample).run()
    assert not at.exception and not at.error
    size = 42 if variant == "rts" else 60
    assert f"model input {size}×{size}" in captions(at) and "sampling grid" in captions(at)
    assert len(at.image) >= 6  # photo, grey, levels, input, input with grid, output
    assert theta_shown(at).shape == (2, 3)
    label = int(re.search(r"label(\d)", sample).group(1))
    text = " ".join(m.value for m in at.markdown)
    assert f"**With the transformer (ST-CNN):** {label}" in text and "Without (CNN baseline)" in text


def test_learned_mode_marks_a_non_digit_photo_as_low_confidence():
    at = open_stn()
    at.selectbox(key="stn_sample").set_value("chelsea.jpg").run()
    assert not at.exception and not at.error
    assert any(w.value.startswith("Low confidence") for w in at.warning)
    assert "sampling grid" in captions(at) and "transformed output" in captions(at)


def test_manual_mode_sliders_build_theta_on_the_full_image():
    at = open_stn("Manual")
    at.selectbox(key="stn_sample").set_value("chelsea.jpg").run()
    assert np.allclose(theta_shown(at), [[1, 0, 0], [0, 1, 0]], atol=1e-3)
    w, h = Image.open(DIGITS.parent / "chelsea.jpg").size
    assert f"output {w}×{h}" in captions(at)
    at.slider(key="stn_rotation").set_value(90).run()
    at.slider(key="stn_scale_x").set_value(0.5).run()
    at.slider(key="stn_tx").set_value(0.25).run()
    assert not at.exception
    expected = theta_from_params(90, 0.5, 1.0, 0.0, 0.25, 0.0, in_hw=(h, w)).numpy()
    assert np.allclose(theta_shown(at), expected, atol=1e-3)


def test_manual_mode_caps_a_huge_upload():
    buf = io.BytesIO()
    Image.fromarray(np.full((1200, 3000, 3), 200, np.uint8)).save(buf, "PNG")
    at = open_stn("Manual")
    at.file_uploader(key="stn_upload").set_value(("wide.png", buf.getvalue(), "image/png")).run()
    assert not at.exception and not at.error
    assert "transformed at 2048×819" in captions(at) and "output 2048×819" in captions(at)


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
