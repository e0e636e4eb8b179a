"""The captioners' faithfulness figures (python -m train.evaluate_faithfulness caption) on conftest's
tiny Flickr8k folder: soft and both hard rows, every figure in its range, the JSON saved as printed."""
import json

from model.core.assets import ASSETS_ENV
from train.evaluate_faithfulness import main


def test_soft_and_hard_rows_with_every_figure_in_range(tiny_flickr, tiny_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(ASSETS_ENV, str(tiny_dir))
    assert main(["caption", "--data", str(tiny_flickr), "--features", "", "--limit", "2", "--json",
                 "--save", str(tmp_path / "f.json")]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed == json.loads((tmp_path / "f.json").read_text()) and printed["images"] == 2
    assert {"soft, expected", "hard, argmax"} <= set(printed["models"])
    for m in printed["models"].values():
        assert m["words"] >= 2
        assert 0 <= m["top_hurts_more"] <= 1 and -1 <= m["rank_corr"] <= 1
