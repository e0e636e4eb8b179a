"""The captioner's --explain / --force flags and the Explain view, on the tiny captioners."""
import json

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from model.caption.__main__ import main


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    path = tmp_path_factory.mktemp("photo") / "red.png"
    img = np.full((64, 96, 3), 230, np.uint8)
    img[10:40, 20:60] = (220, 30, 30)
    Image.fromarray(img).save(path)
    return path


@pytest.mark.parametrize("attention", ["soft", "hard"])
def test_explain_json_has_one_entry_per_token(tiny_dir, photo, capsys, attention):
    assert main([str(photo), "--attention", attention, "--checkpoint", str(tiny_dir / f"captioner_{attention}.pt"),
                 "--beam", "1", "--explain", "--json", "--device", "cpu"]) == 0
    d = json.loads(capsys.readouterr().out)
    n = len(d["tokens"])
    assert n > 0 and len(d["saliency"]) == len(d["deletion"]) == len(d["rank_corr"]) == len(d["alphas"]) == n
    assert np.asarray(d["saliency"]).shape == np.asarray(d["alphas"]).shape
    assert all(set(x) == {"top", "random", "bottom"} for x in d["deletion"])


@pytest.mark.parametrize("attention", ["soft", "hard"])
def test_force_keeps_the_prefix_and_puts_the_map_on_the_cell(tiny_dir, photo, capsys, attention):
    ckpt = str(tiny_dir / f"captioner_{attention}.pt")
    common = [str(photo), "--attention", attention, "--checkpoint", ckpt, "--beam", "1", "--json", "--device", "cpu"]
    assert main(common) == 0
    original = json.loads(capsys.readouterr().out)
    assert main(common + ["--force", "2:5,9"]) == 0
    forced = json.loads(capsys.readouterr().out)
    assert forced["tokens"][:2] == original["tokens"][:2] and forced["original"] == original["caption"]
    step = np.asarray(forced["alphas"][2])
    assert np.unravel_index(step.argmax(), step.shape) == (5, 9)
    if attention == "hard":
        assert step[5, 9] == 1 and step.sum() == 1
    else:
        assert step[5, 9] >= 0.9


@pytest.mark.parametrize("flag", ["2:5", "a:1,1", "2:14,0", "99:1,1", "-1:1,1"])
def test_bad_force_values_exit_2_with_one_line(tiny_dir, photo, capsys, flag):
    status = main([str(photo), "--checkpoint", str(tiny_dir / "captioner_soft.pt"), "--beam", "1",
                   f"--force={flag}", "--json", "--device", "cpu"])
    err = capsys.readouterr().err.strip()
    assert status == 2 and len(err.splitlines()) == 1 and "Traceback" not in err


def test_sampled_locations_cannot_be_explained(tiny_dir, photo, capsys):
    status = main([str(photo), "--attention", "hard", "--checkpoint", str(tiny_dir / "captioner_hard.pt"),
                   "--location", "sample", "--explain", "--device", "cpu"])
    err = capsys.readouterr().err.strip()
    assert status == 2 and len(err.splitlines()) == 1


VIEW = """
import os
import numpy as np
from model.caption.pipeline import CaptionOptions, Captioners, caption
from ui import explain_caption
cs = Captioners.load({"soft": os.environ["EXPLAIN_TINY"]}, "cpu")
img = np.full((64, 96, 3), 230, np.uint8)
img[10:40, 20:60] = (220, 30, 30)
options = CaptionOptions(beam=1)
explain_caption.render(cs, img, "soft", caption(cs, img, ("soft",), options).captions["soft"], 2, options)
"""


def test_view_shows_the_three_numbers_and_redecodes_on_request(tiny_dir, monkeypatch):
    monkeypatch.setenv("EXPLAIN_TINY", str(tiny_dir / "captioner_soft.pt"))
    at = AppTest.from_string(VIEW, default_timeout=120).run()
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert "Kendall τ (α, gradient)" in labels and any(label.startswith("Δ log p, top") for label in labels)
    assert len(at.get("plotly_chart")) == 1
    at.number_input[0].set_value(3)
    at.number_input[1].set_value(4)
    at.button[0].click().run()
    assert not at.exception
    texts = [t.value for t in at.text]
    assert len(texts) == 2  # the original caption and the new one, side by side
    assert texts[0].split()[:2] == texts[1].split()[:2]
