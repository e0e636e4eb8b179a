"""The Transformer through the pipeline and the command line: --model, --json keys, --file, beside the GRUs."""
import json

import pytest
import torch

from model.core.assets import ASSETS_ENV
from model.core.checkpoint import Checkpoint, save_checkpoint
from model.core.vocab import SPECIALS
from model.translate.__main__ import main
from model.translate.pipeline import TranslateOptions, load_translator, translate, translate_many
from model.translate.rnn import Translator, TranslatorConfig
from model.translate.text import Preprocessing
from model.translate.transformer import KIND, TransformerConfig, TransformerTranslator

SRC = list(SPECIALS) + "je suis très fatigué . il fait beau".split()
TGT = list(SPECIALS) + "i am very tired . it is nice".split()
RNN_KEYS = {"translation", "source_tokens", "target_tokens", "alignment", "unknown_words", "truncated"}


@pytest.fixture(scope="module")
def tiny_assets(tmp_path_factory):
    """A folder with a tiny random Transformer and a tiny random GRU under their shipped names."""
    d = tmp_path_factory.mktemp("translators")
    torch.manual_seed(0)
    t = TransformerTranslator(TransformerConfig(len(SRC), len(TGT), d_model=16, heads=2, encoder_layers=2,
                                                decoder_layers=2, ffn_dim=32, max_len=8))
    save_checkpoint(d / "translator_fr-en_transformer.pt", Checkpoint(
        KIND, t.config, t.state_dict(), {"src": SRC, "tgt": TGT}, Preprocessing(max_len=8).to_dict()), half=True)
    r = Translator(TranslatorConfig(len(SRC), len(TGT), 16, 24, 20, "dot", 0.0, 8, softmax_cutoffs=()))
    save_checkpoint(d / "translator_fr-en_dot.pt", Checkpoint(
        "translator", r.config, r.state_dict(), {"src": SRC, "tgt": TGT}, Preprocessing(max_len=8).to_dict()))
    return d


@pytest.fixture
def assets_env(tiny_assets, monkeypatch):
    monkeypatch.setenv(ASSETS_ENV, str(tiny_assets))
    return tiny_assets


def run(argv, capsys):
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def shape(nested) -> tuple:
    dims = []
    while isinstance(nested, list):
        dims.append(len(nested))
        nested = nested[0]
    return tuple(dims)


def test_transformer_json_has_the_rnn_keys_plus_every_attention(assets_env, capsys):
    status, out, _ = run(["je suis très fatigué .", "--model", "transformer", "--json"], capsys)
    assert status == 0
    d = json.loads(out)
    assert set(d) == RNN_KEYS | {"attention"}
    S, T = len(d["source_tokens"]), len(d["target_tokens"])
    assert d["source_tokens"] == ["je", "suis", "très", "fatigué", ".", "<end>"]
    assert set(d["attention"]) == {"encoder", "decoder", "cross"}
    assert shape(d["attention"]["encoder"]) == (2, 2, S, S)
    assert shape(d["attention"]["decoder"]) == (2, 2, T, T)
    assert shape(d["attention"]["cross"]) == (2, 2, T, S)
    for w in d["attention"].values():
        assert torch.allclose(torch.tensor(w).sum(-1), torch.ones(1), atol=1e-4)
    # the alignment is the last layer's cross-attention, averaged over its heads
    assert torch.allclose(torch.tensor(d["alignment"]), torch.tensor(d["attention"]["cross"][-1]).mean(0), atol=1e-4)


def test_rnn_json_adds_nothing_and_score_is_an_alias_of_model(assets_env, capsys):
    _, by_model, _ = run(["il fait beau", "--model", "dot", "--json"], capsys)
    _, by_score, _ = run(["il fait beau", "--score", "dot", "--json"], capsys)
    assert by_model == by_score and set(json.loads(by_model)) == RNN_KEYS
    assert translate(load_translator("dot", device="cpu"), "il fait beau").attention is None


def test_score_does_not_name_the_transformer(assets_env, capsys):
    with pytest.raises(SystemExit) as e:
        main(["il fait beau", "--score", "transformer"])
    assert e.value.code == 2


@pytest.mark.parametrize("model", ["transformer", "dot"])
def test_a_file_gives_one_object_per_line_and_bad_lines_an_error(assets_env, tmp_path, capsys, model):
    f = tmp_path / "sentences.txt"
    f.write_bytes("je suis fatigué .\n\n\xa0 \n".encode() + b"\xff\xfe garbled\n" + "!!\nil fait beau\n".encode())
    status, out, err = run(["--file", str(f), "--model", model, "--json"], capsys)
    assert status == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["line"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert [("error" in r) for r in rows] == [False, True, True, True, True, False]
    assert "UTF-8" in rows[3]["error"] and rows[1]["error"] == "empty line"
    assert ("attention" in rows[0]) == (model == "transformer")
    # each line's translation is what the one-sentence command gives
    _, alone, _ = run(["il fait beau", "--model", model, "--json"], capsys)
    assert {k: v for k, v in rows[5].items() if k != "line"} == json.loads(alone)


def test_a_file_in_plain_text_keeps_one_output_line_per_input_line(assets_env, tmp_path, capsys):
    f = tmp_path / "s.txt"
    f.write_text("je suis fatigué .\n\nil fait beau\n")
    status, out, err = run(["--file", str(f), "--model", "transformer"], capsys)
    assert status == 0 and len(out.splitlines()) == 3 and out.splitlines()[1] == ""
    assert "line 2: empty line" in err


@pytest.mark.parametrize("make", ["missing", "folder", "fifo"])
def test_a_file_that_cannot_be_read_is_one_line_and_exit_2(assets_env, tmp_path, capsys, make):
    path = tmp_path / "x.txt"
    if make == "folder":
        path.mkdir()
    elif make == "fifo":
        import os
        os.mkfifo(path)
    status, out, err = run(["--file", str(path), "--json"], capsys)
    assert status == 2 and out == "" and len(err.strip().splitlines()) == 1 and str(path) in err


def test_text_and_file_together_or_neither_is_a_usage_error(assets_env, tmp_path):
    for argv in (["je suis", "--file", str(tmp_path / "f")], []):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 2


@pytest.mark.parametrize("name", ["transformer", "dot"])
def test_translate_many_equals_one_at_a_time(assets_env, name):
    bundle = load_translator(name, device="cpu")
    texts = ["je suis très fatigué .", "il", "...", "il fait beau . je suis fatigué", "très beau"]
    many = translate_many(bundle, texts, batch=3)
    assert isinstance(many[2], ValueError)
    for text, result in zip(texts, many):
        if not isinstance(result, ValueError):
            one = translate(bundle, text)
            assert result.target_tokens == one.target_tokens
            assert torch.allclose(torch.tensor(result.alignment), torch.tensor(one.alignment), atol=1e-4)
    beams = translate_many(bundle, texts[:2], TranslateOptions(beam=3))
    assert [b.target_tokens for b in beams] == [translate(bundle, t, TranslateOptions(beam=3)).target_tokens
                                               for t in texts[:2]]
