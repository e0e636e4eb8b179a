"""The training command line runs, checkpoints and resumes on a tiny data set."""
import numpy as np
import torch
from PIL import Image

from model.caption.pipeline import Captioners, caption
from model.core.checkpoint import load_checkpoint
from train.caption import evaluate as evaluate_captioner
from train.caption import features as caption_features
from train.caption import train as train_captioner
from train.caption.data import tokenize


def test_tokenizer_keeps_words_and_drops_punctuation():
    assert tokenize("A dog's ball , 2 cats !") == ["a", "dog's", "ball", "2", "cats"]


def test_train_checkpoint_and_resume(tiny_flickr, tmp_path, monkeypatch):
    monkeypatch.setenv("ATTENTION_LENS_DEVICE", "cpu")
    out, feats = tmp_path / "run", tmp_path / "feats"
    common = ["--data", str(tiny_flickr), "--features", str(feats), "--runs", str(tmp_path), "--name", "run",
              "--batch", "8",
              "--hidden", "32", "--embed", "16", "--attn-dim", "16", "--val-images", "2", "--min-count", "1",
              "--lr-decay", "0.5"]
    train_captioner.main(common + ["--epochs", "2", "--max-steps", "3"])  # stops mid-epoch 0
    mid = load_checkpoint(out / "last.pt", kind="captioner")
    assert mid.extra["global_step"] == 3 and mid.extra["epoch"] == 0
    train_captioner.main(common + ["--epochs", "2"])  # resumes and finishes both epochs
    last = load_checkpoint(out / "last.pt", kind="captioner")
    assert last.extra["epoch"] == 2 and last.extra["global_step"] == 10  # 40 captions / 8 = 5 per epoch
    best = load_checkpoint(out / "best.pt", kind="captioner")
    assert "val BLEU-4 (beam 3 per word, no repeated bigram)" in best.metrics and "optim" not in best.extra  # the test's decoding
    assert last.extra["optim"]["param_groups"][0]["lr"] == 4e-4 * 0.5  # the resumed run kept the decay
    assert "red" in best.vocab["words"] and best.preprocessing["image_size"] == 224
    assert not torch.equal(mid.state_dict["L_o.weight"], last.state_dict["L_o.weight"])


def test_hard_model_trains_from_the_soft_one(tiny_flickr, tmp_path, monkeypatch):
    monkeypatch.setenv("ATTENTION_LENS_DEVICE", "cpu")
    feats = tmp_path / "feats"
    common = ["--data", str(tiny_flickr), "--features", str(feats), "--batch", "8", "--hidden", "32",
              "--embed", "16", "--attn-dim", "16", "--val-images", "2", "--min-count", "1", "--epochs", "1"]
    common += ["--runs", str(tmp_path)]
    train_captioner.main(common + ["--name", "soft"])
    train_captioner.main(common + ["--name", "hard", "--attention", "hard",
                                   "--init", str(tmp_path / "soft" / "best.pt")])
    hard = load_checkpoint(tmp_path / "hard" / "best.pt", kind="captioner")
    assert hard.config["attention"] == "hard" and hard.extra["baseline"] != 0
    assert hard.extra["epoch"] == 2 and len(hard.extra["history"]) == 2  # the soft epoch, then its own
    assert hard.extra["history"][-1]["val decoding"] == "beam 3 per word, no repeated bigram, expected context"
    assert "val BLEU-4 (beam 3 per word, no repeated bigram, expected context)" in hard.metrics


def test_a_lite2_model_keeps_its_encoder_from_training_to_evaluation_and_the_app(tiny_flickr, tmp_path, monkeypatch):
    monkeypatch.setenv("ATTENTION_LENS_DEVICE", "cpu")
    run = tmp_path / "run"
    train_captioner.main(["--data", str(tiny_flickr), "--arch", "efficientnet-lite2", "--features",
                          str(tmp_path / "lite2"), "--runs", str(tmp_path), "--name", "run", "--batch", "8",
                          "--hidden", "32", "--embed",
                          "16", "--attn-dim", "16", "--val-images", "2", "--min-count", "1", "--epochs", "1"])
    ckpt = load_checkpoint(run / "best.pt", kind="captioner")
    assert ckpt.preprocessing["arch"] == "efficientnet-lite2" and ckpt.config["feature_dim"] == 120 + 1280
    # A cache of the other encoder is not used for it (its features would not fit): the images are encoded.
    caption_features.main(["--data", str(tiny_flickr), "--arch", "efficientnet-lite0", "--features",
                           str(tmp_path / "lite0")])
    evaluate_captioner.main(["--data", str(tiny_flickr), "--features", str(tmp_path / "lite0"), "--split", "test",
                             "--soft", str(run / "best.pt"), "--hard", str(tmp_path / "none.pt"),
                             "--save-scores", str(tmp_path / "scores.json")])
    assert "BLEU-4" in (tmp_path / "scores.json").read_text()
    image = np.asarray(Image.open(next((tiny_flickr / "images").iterdir())).convert("RGB"))
    c = caption(Captioners.load({"soft": run / "best.pt"}, "cpu"), image).captions["soft"]
    assert c.alphas.shape[1:] == (14, 14) and len(c.alphas) == len(c.tokens)
