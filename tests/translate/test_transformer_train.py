"""Training the Transformer translator: the loss falls, a stopped run resumes where it stopped."""
import random

import pytest

from model.core.checkpoint import load_checkpoint
from model.core.loader import load
from model.translate.transformer import KIND
from tests.translate.tiny_translators import write_eng_fra
from train.translate.data import batches, load_ours
from train.translate.transformer import lr_at, parse_args, train

WORDS = [f"w{i}" for i in range(10)]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("copy")
    rng = random.Random(0)
    french = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 5))) for _ in range(400)]
    write_eng_fra(tmp, [(s, s) for s in french])  # English = French: a copy task
    return tmp


def args(data, tmp_path, *more):
    return parse_args(["--data", str(data), "--runs", str(tmp_path), "--name", "t", "--vocab-from", "",
                       "--d-model", "16", "--heads", "2", "--layers", "1", "--ffn", "32", "--dropout", "0",
                       "--batch", "32", "--lr", "3e-3", "--warmup", "5", "--save-every", "2", *more])


def test_a_stopped_run_resumes_at_its_step_and_batch_and_finishes_the_epoch(data, tmp_path):
    train(args(data, tmp_path, "--steps", "3", "--epochs", "1"))
    last = load_checkpoint(tmp_path / "t" / "last.pt", kind=KIND)
    assert (last.extra["step"], last.extra["batch"], last.extra["epoch"]) == (3, 3, 0)
    n_batches = len(batches(load_ours(data)[0]["train"], 32, random.Random(0)))
    assert [h["epoch"] for h in last.extra["history"]] == [round(3 / n_batches, 2)]  # the cut epoch is validated
    adam_steps = int(next(iter(last.extra["optimizer"]["state"].values()))["step"])
    assert adam_steps == 3

    best = train(args(data, tmp_path, "--resume", "--epochs", "1"))
    last = load_checkpoint(tmp_path / "t" / "last.pt", kind=KIND)
    assert last.extra["step"] == n_batches  # 3 before the stop + the rest of the epoch, none twice
    assert [h["epoch"] for h in last.extra["history"]] == [round(3 / n_batches, 2), 1]
    assert int(next(iter(last.extra["optimizer"]["state"].values()))["step"]) == n_batches
    assert load(best, "cpu").kind == KIND


def test_training_lowers_the_validation_loss(data, tmp_path):
    best = train(args(data, tmp_path, "--epochs", "10", "--d-model", "32", "--ffn", "64", "--batch", "16"))
    history = load_checkpoint(tmp_path / "t" / "last.pt").extra["history"]
    assert [h["epoch"] for h in history] == list(range(1, 11))
    assert history[-1]["val_loss"] < 0.5 * history[0]["val_loss"]
    assert load_checkpoint(best).metrics["val_loss"] == min(h["val_loss"] for h in history)


def test_learning_rate_warms_up_then_decays():
    a = parse_args(["--data", "x", "--lr", "1e-3", "--warmup", "10"])
    assert lr_at(0, 0.0, a) == pytest.approx(1e-4)
    assert lr_at(9, 0.0, a) == pytest.approx(1e-3)
    assert lr_at(100, 0.5, a) == pytest.approx(1e-3 * (0.05 + 0.95 * 0.5))
    assert lr_at(100, 1.0, a) == pytest.approx(5e-5)


def test_ship_writes_an_fp16_transformer_with_its_scores_and_card(data, tmp_path, monkeypatch):
    from model.core.assets import ASSETS_ENV
    from train.translate import evaluate

    runs, shipped = tmp_path / "runs", tmp_path / "assets"
    shipped.mkdir()
    monkeypatch.setenv(ASSETS_ENV, str(shipped))
    a = args(data, runs, "--epochs", "1")
    a.name = "translator_fr-en_transformer"
    train(a)
    evaluate.main(["--data", str(data), "--models", "transformer", "--ship", "--runs", str(runs),
                   "--beam", "2", "--timing", "2"])
    ckpt = load_checkpoint(shipped / "translator_fr-en_transformer.pt", kind=KIND)
    assert all(t.dtype.is_floating_point is False or t.dtype.itemsize == 2 for t in ckpt.state_dict.values())
    assert {"test_bleu_greedy", "test_bleu_beam2", "epochs", "train_minutes", "threads", "device"} <= set(ckpt.metrics)
    card = (shipped / "translator_fr-en_transformer.card.md").read_text()
    assert "Transformer" in card and "Training budget: 1" in card


def test_a_run_killed_mid_epoch_is_validated_when_resumed_with_its_time_spent(data, tmp_path):
    train(args(data, tmp_path, "--steps", "3"))
    path = tmp_path / "t" / "last.pt"
    ckpt = load_checkpoint(path, kind=KIND)
    ckpt.extra.update(step=5, batch=5, history=[], validated_step=3)  # as if killed after a save at step 5
    from model.core.checkpoint import save_checkpoint
    save_checkpoint(path, ckpt)
    train(args(data, tmp_path, "--resume", "--steps", "5"))  # no step left to train: validates step 5
    history = load_checkpoint(path, kind=KIND).extra["history"]
    assert [h["step"] for h in history] == [5] and history[0]["train_loss"] is None
