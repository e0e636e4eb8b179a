"""`python -m model.caption` as a user runs it, on the tiny captioners of conftest's ``tiny_dir``."""
import json

import numpy as np
from PIL import Image

from model.caption.__main__ import main
from tests.conftest import WORDS


def photo(path):
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (50, 80, 3), dtype=np.uint8)).save(path)
    return str(path)


def run_json(capsys, *argv) -> list[dict]:
    assert main(list(argv) + ["--json"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_json_has_caption_tokens_and_one_map_per_word(tiny_dir, tmp_path, capsys):
    image = photo(tmp_path / "cat.png")
    out, = run_json(capsys, image, "--checkpoint", str(tiny_dir / "captioner_soft.pt"), "--beam", "3")
    alphas = np.array(out["alphas"])
    assert out["caption"] == " ".join(out["tokens"]) and len(out["tokens"]) == WORDS
    assert alphas.shape == (WORDS, 14, 14) and len(out["betas"]) == WORDS
    assert np.allclose(alphas.sum((1, 2)), 1, atol=1e-3)


def test_hard_looks_at_one_location_or_at_all_of_them_weighted(tiny_dir, tmp_path, capsys):
    image, hard = photo(tmp_path / "cat.png"), str(tiny_dir / "captioner_hard.pt")
    argmax, = run_json(capsys, image, "--attention", "hard", "--checkpoint", hard)
    expected, = run_json(capsys, image, "--attention", "hard", "--checkpoint", hard, "--location", "expected")
    one_hot = np.array(argmax["alphas"]).reshape(WORDS, -1)
    weighted = np.array(expected["alphas"]).reshape(WORDS, -1)
    assert (one_hot.max(1) == 1).all() and ((one_hot == 0) | (one_hot == 1)).all()
    assert (weighted.max(1) < 1).all() and np.allclose(weighted.sum(1), 1, atol=1e-3)


def test_out_writes_the_word_grid_and_a_bad_file_is_a_message(tiny_dir, tmp_path, capsys):
    good, bad = photo(tmp_path / "cat.png"), tmp_path / "notes.png"
    bad.write_bytes(b"not a picture")
    status = main([good, str(bad), "--checkpoint", str(tiny_dir / "captioner_soft.pt"), "--out", str(tmp_path / "o")])
    captured = capsys.readouterr()
    assert status == 2 and "notes.png" in captured.err and "Traceback" not in captured.err
    assert "cat.png:" in captured.out
    assert Image.open(tmp_path / "o" / "cat_soft.png").size[0] > 100
