"""The translators' faithfulness figures (python -m train.evaluate_faithfulness translate) for every
family: an RNN and the Transformer on tiny data, as JSON with every figure in its range."""
import json
import random

import pytest

from model.core.assets import ASSETS_ENV
from model.translate.text import tokenize
from tests.translate.tiny_translators import save_tiny_translators, write_eng_fra
from train.evaluate_faithfulness import main
from ui.transformer_page import EXAMPLES


@pytest.fixture
def data(tmp_path):
    words = sorted({w for s in EXAMPLES for w in tokenize(s)} - {"."})
    rng = random.Random(0)
    french = [" ".join(rng.choice(words) for _ in range(rng.randint(2, 6))) for _ in range(600)]
    write_eng_fra(tmp_path, [("i am tired .", f"{s} .") for s in french])
    return tmp_path


def test_rnn_and_transformer_get_every_figure_in_range(data, tmp_path, monkeypatch, capsys):
    save_tiny_translators(tmp_path)
    monkeypatch.setenv(ASSETS_ENV, str(tmp_path))
    assert main(["translate", "--data", str(data), "--models", "additive", "transformer", "--limit", "4",
                 "--json", "--save", str(tmp_path / "f.json")]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed == json.loads((tmp_path / "f.json").read_text())
    models = printed["models"]
    assert set(models) == {"additive", "transformer"} and printed["sentences"] == 4
    for m in models.values():
        assert m["words"] >= 4  # at least one token (<end>) per sentence
        assert -1 <= m["tau_loo"] <= 1 and -1 <= m["tau_grad"] <= 1
        assert 0 <= m["permuted_tvd"] <= 1 and 0 <= m["uniform_tvd"] <= 1
        assert 0 <= m["permuted_flip"] <= 1 and 0 <= m["uniform_flip"] <= 1
