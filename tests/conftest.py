import json
import os

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from model.caption.decoder import Captioner, CaptionerConfig
from model.caption.encoder import PREPROCESSING
from model.core.checkpoint import Checkpoint, save_checkpoint
from model.core.vocab import SPECIALS, Vocab

# Tests load the models they need; the app's background warm-up would load every shipped model
# in each test process (and in each AppTest run) for nothing.
os.environ.setdefault("ATTENTION_LENS_WARM_UP", "0")


def open_page(name: str, timeout: int = 120) -> AppTest:
    """The app in Streamlit's test client, switched to page ``name``, with no exception drawn."""
    at = AppTest.from_file("../app.py", default_timeout=timeout)
    at.run()
    at.sidebar.radio(key="page").set_value(name).run()
    assert not at.exception, at.exception
    return at


WORDS = 6  # every caption of the tiny captioners has this many words
COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (30, 40, 220)}


@pytest.fixture(scope="session")
def tiny_flickr(tmp_path_factory):
    """A Flickr8k-shaped folder: 12 images of coloured squares, 5 captions each, train/val/test split."""
    root = tmp_path_factory.mktemp("flickr")
    (root / "images").mkdir()
    rng = np.random.default_rng(0)
    rows, names = ["image\tindex\tcaption"], []
    for i in range(12):
        colour = list(COLOURS)[i % 3]
        img = np.full((64, 96, 3), 240, np.uint8)
        y, x = rng.integers(0, 32), rng.integers(0, 64)
        img[y:y + 32, x:x + 32] = COLOURS[colour]
        name = f"{i:04d}_tiny.jpg"
        Image.fromarray(img).save(root / "images" / name, quality=90)
        names.append(name)
        for k in range(5):
            rows.append(f"{name}\t{k}\tA {colour} square on a white wall .")
    (root / "captions.tsv").write_text("\n".join(rows) + "\n")
    (root / "splits.json").write_text(json.dumps({"train": names[:8], "val": names[8:10], "test": names[10:]}))
    return root


def tiny_captioner(path, attention: str):
    torch.manual_seed(0 if attention == "soft" else 1)
    vocab = Vocab(SPECIALS + ("a", "dog", "runs"))
    cfg = CaptionerConfig(vocab_size=len(vocab), attention=attention, embed_dim=16, hidden_dim=32, attn_dim=16,
                          dropout=0.0, max_len=WORDS)
    m = Captioner(cfg)
    with torch.no_grad():
        m.L_o.bias[:len(SPECIALS)] = -30  # never <end>, <pad>, <start> or <unk>: WORDS real words
    save_checkpoint(path, Checkpoint(kind="captioner", config=cfg, state_dict=m.state_dict(),
                                     vocab={"words": vocab.itos}, preprocessing=PREPROCESSING.to_dict()))


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    """A folder with a tiny soft and hard captioner under the shipped file names. They use the real
    encoder and random decoders whose <end> (and other special tokens) are made impossible, so every
    caption has WORDS words."""
    d = tmp_path_factory.mktemp("captioners")
    for attention in ("soft", "hard"):
        tiny_captioner(d / f"captioner_{attention}.pt", attention)
    return d
