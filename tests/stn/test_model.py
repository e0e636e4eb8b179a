"""The shipped spatial transformers: accuracy on fixed RTS test digits, the command line, photo preprocessing."""
import json

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from model.core import assets
from model.core.checkpoint import load_checkpoint
from model.core.loader import load
from model.stn import pipeline as stn
from model.stn.__main__ import main
from model.stn.net import Preprocessing
from train.stn.train import error_rate

ASSETS = assets.SHIPPED
RTS = Preprocessing(input_size=42)


@pytest.fixture(scope="module")
def rts_test500():
    data = np.load(ASSETS / "stn_rts_test500.npz")
    return data["images"], data["labels"]


@pytest.fixture(scope="module")
def rts_model():
    return load(ASSETS / "stn_rts.pt", "cpu", kind="stn").model


def test_the_500_fixed_rts_digits_are_what_the_generator_makes(rts_test500):
    images, labels = rts_test500
    assert images.shape == (500, 42, 42) and images.dtype == np.uint8 and labels.shape == (500,)
    assert sorted(np.unique(labels)) == list(range(10))


def test_shipped_rts_st_cnn_reaches_98_percent(rts_test500, rts_model):
    images, labels = rts_test500
    assert error_rate(rts_model, images, labels, "cpu") <= 2.0


@pytest.mark.parametrize("name", stn.MODELS)
def test_shipped_checkpoints_carry_their_preprocessing_and_baseline(name):
    for file in (f"stn_{name}.pt", f"stn_{name}_cnn.pt"):
        ckpt = load_checkpoint(ASSETS / file, kind="stn")
        assert ckpt.preprocessing["background"] == 0.0
        assert ckpt.config["transformer"] == (not file.endswith("_cnn.pt"))
        assert 0 <= ckpt.metrics["test_error_%"] < 100
        assert f"{ckpt.metrics['test_error_%']:.2f} %" in (ASSETS / file.replace(".pt", ".card.md")).read_text()


def test_command_line_json_and_outputs(rts_test500, tmp_path, capsys):
    images, labels = rts_test500
    right = 0
    for i in range(5):
        Image.fromarray(images[i]).save(tmp_path / f"d{i}.png")
        assert main([str(tmp_path / f"d{i}.png"), "--model", "rts", "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert np.array(out["theta"]).shape == (2, 3)
        assert len(out["probabilities"]) == 10 and sum(out["probabilities"]) == pytest.approx(1, abs=1e-3)
        assert out["prediction"] == int(np.argmax(out["probabilities"]))
        right += out["prediction"] == labels[i]
    assert right >= 4
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"d{i}.png" for i in range(5)]  # wrote nothing

    assert main([str(tmp_path / "d0.png"), "--out", str(tmp_path / "out")]) == 0
    assert "prediction" in capsys.readouterr().out
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["d0_grid.png", "d0_stn.png"]
    assert np.asarray(Image.open(tmp_path / "out" / "d0_stn.png")).shape[:2] == (336, 336)


def test_command_line_explains_a_bad_file(tmp_path, capsys):
    (tmp_path / "x.png").write_bytes(b"not an image")
    assert main([str(tmp_path / "x.png")]) == 2
    assert "not an image" in capsys.readouterr().err


def paper_photo(digit: str = "7", dark_ink: bool = True) -> np.ndarray:
    """A phone-photo-like digit: dark ink on slightly uneven light paper, 300×400."""
    rng = np.random.default_rng(0)
    paper = np.linspace(200, 235, 400)[None, :] + rng.normal(0, 3, (300, 400))
    img = np.clip(paper, 0, 255).astype(np.uint8)
    cv2.putText(img, digit, (140, 230), cv2.FONT_HERSHEY_SIMPLEX, 6, 40, 18, cv2.LINE_AA)
    return cv2.cvtColor(img if dark_ink else 255 - img, cv2.COLOR_GRAY2RGB)


def test_a_photo_of_dark_ink_on_paper_is_inverted_to_white_on_black():
    prepared = stn.prepare(paper_photo(), RTS)
    assert prepared.inverted and prepared.digit_like
    assert prepared.input.shape == (42, 42) and prepared.input.dtype == np.float32
    corner = np.concatenate([prepared.input[:5, :5].ravel(), prepared.input[-5:, -5:].ravel()])
    assert corner.max() < 0.1 and prepared.input.max() > 0.8  # background 0, as the transformer pads
    assert not stn.prepare(paper_photo(dark_ink=False), RTS).inverted


def test_a_noise_picture_is_not_digit_like_and_reads_as_low_confidence(rts_model):
    noise = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    prepared = stn.prepare(noise, RTS)
    assert not prepared.digit_like
    assert stn.doubt(prepared, stn.read(rts_model, prepared.input))


def test_reading_a_digit_matches_the_model_forward(rts_test500, rts_model):
    images, _ = rts_test500
    x = images[0].astype(np.float32) / 255
    r = stn.read(rts_model, x)
    with torch.no_grad():
        logits = rts_model(torch.from_numpy(x)[None, None])
    assert np.allclose(r.probabilities, logits.softmax(1)[0].numpy(), atol=1e-5)
    assert r.theta.shape == (2, 3) and r.output.shape == (28, 28)
