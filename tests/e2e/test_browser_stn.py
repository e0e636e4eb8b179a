"""The Spatial transformer page in a real browser: the learned transformer on a digit and a photo, manual θ."""
import io

import numpy as np
import pytest
from PIL import Image

from bench.browser import SAMPLES
from e2e_helpers import image_starting, messages, no_traceback, shot

pytestmark = pytest.mark.e2e

PHOTO = SAMPLES / "coffee.jpg"


def theta(app) -> str:
    return app.page.locator('[data-testid="stMain"] .katex-mathml').last.inner_text()


def test_learned_and_manual_modes(new_app):
    app = new_app()
    app.open("Spatial transformer")
    # learned mode opens on a distorted MNIST digit: the grid on the input, the output, both predictions
    image_starting(app, "model input 42×42")
    image_starting(app, "input with the sampling grid")
    output = image_starting(app, "transformed output")
    assert output["width"] == output["height"] > 0
    prediction = app.page.locator('[data-testid="stMarkdownContainer"] p').filter(
        has_text="With the transformer (ST-CNN):").inner_text()
    assert "Without (CNN baseline):" in prediction
    no_traceback(app)
    shot(app, "stn_learned_digit")

    app.choose("Manual")
    assert "Upload an image or pick a sample" in messages(app)
    app.upload(PHOTO)
    w, h = Image.open(PHOTO).size
    before = image_starting(app, f"output {w}×{h}")
    assert (before["width"], before["height"]) == (w, h)  # resampled at the photo's own size
    identity = theta(app)
    shot(app, "stn_manual_identity")

    app.slide("rotation °", "End")  # -> 180°
    after = image_starting(app, f"output {w}×{h}")
    assert after["src"] != before["src"] and theta(app) != identity
    assert app.page.get_by_role("slider", name="rotation °").get_attribute("aria-valuetext") == "180"
    shown = Image.open(io.BytesIO(app.page.request.get(after["src"]).body())).convert("RGB")
    upside_down = np.asarray(Image.open(PHOTO).convert("RGB"))[::-1, ::-1]
    error = np.abs(np.asarray(shown, float) - upside_down).mean()
    assert error < 3, error  # the photo turned by 180°, up to JPEG and resampling noise
    no_traceback(app)
    shot(app, "stn_manual_rotated")

    app.choose("Learned")  # the same photo through the trained transformer: a result and a plain caveat
    image_starting(app, "transformed output")
    assert "Low confidence" in messages(app)
    no_traceback(app)
    shot(app, "stn_learned_photo")
