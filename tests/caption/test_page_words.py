"""What the Caption page tells about words: unknown words, how often training saw each word, and which
word of the other caption is shown for a selected one."""
import pytest
import torch

from model.caption.decoder import Captioner, CaptionerConfig
from model.caption.encoder import PREPROCESSING
from model.core.checkpoint import Checkpoint, save_checkpoint
from model.core.vocab import SPECIALS, Vocab
from tests.caption.test_page import captions, open_caption_page, png, rerun
from tests.conftest import WORDS
from ui.caption_words import counterpart, pill_labels


def captioner_file(path, attention="soft", favour: str | None = None, counts: list[int] | None = None):
    """A tiny captioner like conftest's, that can be made to write one word (``favour``) and to carry
    training-caption counts."""
    torch.manual_seed(0)
    vocab = Vocab(SPECIALS + ("a", "dog", "runs"))
    cfg = CaptionerConfig(vocab_size=len(vocab), attention=attention, embed_dim=16, hidden_dim=32, attn_dim=16,
                          dropout=0.0, max_len=WORDS)
    m = Captioner(cfg)
    with torch.no_grad():
        m.L_o.bias[:len(SPECIALS)] = -30
        if favour:
            m.L_o.bias[vocab.stoi[favour]] = 100  # outweighs any random input
    save_checkpoint(path, Checkpoint(kind="captioner", config=cfg, state_dict=m.state_dict(),
                                     vocab={"words": vocab.itos}, preprocessing=PREPROCESSING.to_dict(),
                                     data={"word_counts": counts} if counts else {}))


def test_the_other_caption_shows_the_same_word_or_its_nearest_by_position():
    soft, hard = "a brown dog runs on the grass".split(), "a dog is running on grass".split()
    assert counterpart(soft, 2, hard) == (1, True)  # "dog": the same word, wherever it is
    assert counterpart(soft, 6, hard) == (5, True)
    assert counterpart(soft, 1, hard) == (1, False)  # "brown" is not there: the word at the same relative place
    assert counterpart(soft, 0, "a dog and a cat".split()) == (0, True)  # of two "a", the nearer
    assert counterpart(soft, 5, "a dog and a cat".split()) == (3, False)


def test_repeated_words_get_distinct_pills_that_read_the_same():
    labels = pill_labels(["a", "dog", "and", "a", "<unk>"])
    assert len(set(labels)) == 5 and [w.replace("\u200b", "") for w in labels] == [
        "a", "dog", "and", "a", "(unknown word)"]


def test_unknown_words_are_named_so_and_explained(tmp_path):
    captioner_file(tmp_path / "captioner_soft.pt", favour="<unk>")
    at = open_caption_page(tmp_path)
    rerun(at, tmp_path, lambda at: at.file_uploader(key="caption_upload").set_value(("p.png", png(), "image/png")))
    (said,) = captions(at)  # mostly <unk> (decoding may block a repeated phrase)
    assert said.startswith("(unknown word)") and "<unk>" not in said
    assert at.button_group(key="cap_pick_soft").options[0] == "(unknown word)"
    assert any("the model wrote <unk>" in c.value for c in at.caption)
    assert not any("<unk>" in m.value for m in at.markdown if m.value.startswith("###"))


def test_each_word_says_how_often_training_saw_it_and_rare_words_are_flagged(tmp_path):
    counts = [0, 30_000, 30_000, 12, 24_000, 41, 900]  # specials, then a, dog, runs; <start>: all captions
    captioner_file(tmp_path / "captioner_soft.pt", favour="dog", counts=counts)
    at = open_caption_page(tmp_path)
    rerun(at, tmp_path, lambda at: at.file_uploader(key="caption_upload").set_value(("p.png", png(), "image/png")))
    assert captions(at)[0].startswith("dog")
    rerun(at, tmp_path, lambda at: at.button_group(key="cap_pick_soft").set_value(0))
    assert any("in 41 of 30,000 training captions" in c.value for c in at.caption)
    assert any("“dog” is rare" in c.value for c in at.caption)
    assert any("“dog” is in only 41 of the 30,000" in w.value for w in at.warning)
