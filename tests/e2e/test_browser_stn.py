"""The Spatial transformer page in a real browser: the opening digit, manual θ with its reset, the
learned transformer on a photo."""
import io

import numpy as np
import pytest
from PIL import Image

from bench.browser import SAMPLES
from e2e_helpers import image_starting, messages, no_traceback, shot
from ui.stn_manual import WORK
from viz.grid import fit

pytestmark = pytest.mark.e2e

PHOTO = SAMPLES / "coffee.jpg"


def theta(app) -> str:
    return app.page.locator('[data-testid="stMain"] .katex-mathml').first.inner_text()


def pixels(app, image: dict) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(app.page.request.get(image["src"]).body())).convert("RGB"), float)


def test_learned_and_manual_modes(new_app):
    app = new_app()
    app.open("Spatial transformer")
    # the page opens on a distorted MNIST digit already read: grid on the input, output, both predictions
    model_input = image_starting(app, "model input 42×42")
    assert model_input["width"] == 210  # 5 screen pixels per input pixel, its pixel grid drawn
    grid = image_starting(app, "input with the sampling grid")
    output = image_starting(app, "transformed output")
    assert output["width"] == output["height"] == grid["width"] == 280
    prediction = app.page.locator('[data-testid="stMarkdownContainer"] p').filter(
        has_text="With the transformer (ST-CNN):").inner_text()
    assert "Without (CNN baseline):" in prediction
    app.page.wait_for_selector('[data-testid="stMain"] .js-plotly-plot .bars')  # the probabilities, drawn
    assert app.page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollWidth "
                             "<= document.querySelector('[data-testid=\"stMain\"]').clientWidth")
    no_traceback(app)
    shot(app, "stn_learned_digit")

    app.choose("Manual")
    app.upload(PHOTO)
    photo = np.asarray(Image.open(PHOTO).convert("RGB"))
    small = fit(photo, WORK)
    h, w = small.shape[:2]
    before = image_starting(app, f"output {w}×{h}")
    assert (before["width"], before["height"]) == (w, h)  # resampled at display size, not the photo's
    identity = theta(app)
    shot(app, "stn_manual_identity")

    app.slide("rotation °", "End")  # -> 180°
    after = image_starting(app, f"output {w}×{h}")
    assert after["src"] != before["src"] and theta(app) != identity
    assert app.page.get_by_role("slider", name="rotation °").get_attribute("aria-valuetext") == "180"
    error = np.abs(pixels(app, after) - small[::-1, ::-1]).mean()
    assert error < 3, error  # the photo turned by 180°, up to JPEG and resampling noise
    no_traceback(app)
    shot(app, "stn_manual_rotated")

    app.act(lambda: app.page.get_by_role("button", name="Reset").click(), quiet_s=0)
    assert app.page.get_by_role("slider", name="rotation °").get_attribute("aria-valuetext") == "0"
    assert theta(app) == identity
    assert np.abs(pixels(app, image_starting(app, f"output {w}×{h}")) - small).mean() < 3
    no_traceback(app)

    app.choose("Learned")  # the same photo through the trained transformer: a result and a plain caveat
    image_starting(app, "transformed output")
    assert "Low confidence" in messages(app)
    no_traceback(app)
    shot(app, "stn_learned_photo")


def test_the_grid_outline_stays_on_the_canvas_when_it_reaches_outside(new_app):
    app = new_app()
    app.open("Spatial transformer")
    app.choose("Manual")
    for _ in range(20):  # scale 1.0 -> 2.0: the grid is twice the photo
        app.slide("scale", "ArrowRight")
    app.slide("rotation °", "PageUp")
    shown = image_starting(app, "photo · ")
    canvas = pixels(app, shown)
    red = (canvas[..., 0] > 200) & (canvas[..., 1] < 110) & (canvas[..., 2] < 110)
    assert red.any() and not red[:, :2].any() and not red[:, -2:].any() and not red[:2].any() and not red[-2:].any()
    no_traceback(app)
    shot(app, "stn_manual_outside")
