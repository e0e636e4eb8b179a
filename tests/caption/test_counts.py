"""Training-caption word counts: counted per caption, written by training, added to old files in place."""
import pytest

from model.core.checkpoint import load_checkpoint, weights_sha256
from model.core.vocab import Vocab
from tests.caption.test_page_words import captioner_file
from train.caption import counts as caption_counts
from train.caption.data import build_vocab, read_captions, read_splits, word_counts


def test_a_word_counts_once_per_caption_that_holds_it_and_start_counts_every_caption():
    captions = {"x.jpg": ["A dog and a dog .", "A cat ."], "y.jpg": ["Two dogs ."]}
    vocab = Vocab(("<pad>", "<start>", "<end>", "<unk>", "a", "dog"))
    counts = dict(zip(vocab.itos, word_counts(captions, ["x.jpg", "y.jpg"], vocab)))
    assert counts == {"<pad>": 0, "<start>": 3, "<end>": 3, "<unk>": 3, "a": 2, "dog": 1}  # and, cat, two dogs: <unk>


def test_the_command_adds_counts_without_touching_the_weights(tiny_flickr, tmp_path):
    captions, splits = read_captions(tiny_flickr), read_splits(tiny_flickr)
    vocab = build_vocab(captions, splits["train"], 1)
    path = tmp_path / "model.pt"
    captioner_file(path)
    before = load_checkpoint(path)
    with pytest.raises(SystemExit, match="vocabulary"):  # the tiny captioner's words are not Flickr's
        caption_counts.main(["--data", str(tiny_flickr), "--min-count", "1", str(path)])
    expected = word_counts(captions, splits["train"], vocab)
    caption_counts.add_counts(path, lambda ckpt: expected[:len(ckpt.vocab["words"])])
    after = load_checkpoint(path)
    assert after.data["word_counts"] == expected[:len(before.vocab["words"])]
    assert weights_sha256(after.state_dict) == weights_sha256(before.state_dict)
    assert (after.config, after.vocab, after.metrics, after.preprocessing) == (
        before.config, before.vocab, before.metrics, before.preprocessing)


def test_training_stores_the_counts_in_its_checkpoints(tiny_flickr, tmp_path, monkeypatch):
    from train.caption import train as train_captioner
    monkeypatch.setenv("ATTENTION_LENS_DEVICE", "cpu")
    train_captioner.main(["--data", str(tiny_flickr), "--features", str(tmp_path / "feats"), "--runs", str(tmp_path),
                          "--name", "run", "--batch", "8", "--hidden", "32", "--embed", "16", "--attn-dim", "16",
                          "--val-images", "2", "--min-count", "1", "--epochs", "1"])
    ckpt = load_checkpoint(tmp_path / "run" / "best.pt")
    counts = dict(zip(ckpt.vocab["words"], ckpt.data["word_counts"]))
    assert counts["<start>"] == 40 and counts["square"] == 40 and counts["red"] == 15  # 8 images × 5 captions
