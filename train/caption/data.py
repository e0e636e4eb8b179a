"""Flickr8k for the captioner: captions, vocabulary, cached encoder features.

The encoder is frozen by default, so its features are computed once per image
(``python -m train.caption.features``) and training only runs the decoder.
"""
import csv
import json
import re
from pathlib import Path

import numpy as np
import torch

from model.caption.encoder import Preprocessing
from model.core.vocab import Vocab

MIN_COUNT = 5  # words seen fewer times in training captions become <unk> (Karpathy's threshold)
MAX_TOKENS = 30  # longer captions (0.2 % of Flickr8k) are cut


def tokenize(caption: str) -> list[str]:
    """Lower case, words and numbers only: 'A dog's ball .' -> ['a', "dog's", 'ball']."""
    return re.findall(r"[a-z0-9]+(?:'[a-z]+)?", caption.lower())


def read_captions(data_dir) -> dict[str, list[str]]:
    """image name -> its raw captions, from ``captions.tsv``."""
    out: dict[str, list[str]] = {}
    with open(Path(data_dir) / "captions.tsv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            out.setdefault(row["image"], []).append(row["caption"])
    return out


def read_splits(data_dir) -> dict[str, list[str]]:
    return json.loads((Path(data_dir) / "splits.json").read_text())


def build_vocab(captions: dict[str, list[str]], train_names: list[str], min_count: int = MIN_COUNT) -> Vocab:
    return Vocab.build((tokenize(c) for n in train_names for c in captions[n]), min_count)


def default_cache(arch: str) -> Path:
    """Where training and evaluation keep the features of one encoder unless told otherwise."""
    return Path("cache") / f"flickr8k-{arch}"


class FeatureCache:
    """Encoder features of every image, as two fp16 memory-mapped arrays.

    fine.npy (N, 196, fine_dim) and coarse.npy (N, 49, 1280), rows in ``names.json`` order;
    ``preprocessing.json`` says which encoder made them.
    """

    def __init__(self, root):
        self.root = Path(root)
        self.names = json.loads((self.root / "names.json").read_text())
        self.index = {n: i for i, n in enumerate(self.names)}
        done = json.loads((self.root / "progress.json").read_text())["done"]
        if done < len(self.names):
            raise RuntimeError(f"feature cache {self.root} is incomplete ({done}/{len(self.names)} images); "
                               "run python -m train.caption.features again to finish it")
        self.pre = Preprocessing.from_dict(json.loads((self.root / "preprocessing.json").read_text()))
        self.fine = np.load(self.root / "fine.npy", mmap_mode="r")
        self.coarse = np.load(self.root / "coarse.npy", mmap_mode="r")

    def load(self, names: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Features of ``names`` in RAM as (B, fine_dim, 14, 14) and (B, 1280, 7, 7) fp16 tensors."""
        rows = np.array([self.index[n] for n in names])
        fine = torch.from_numpy(np.ascontiguousarray(self.fine[rows]))
        coarse = torch.from_numpy(np.ascontiguousarray(self.coarse[rows]))
        b, g = len(rows), self.pre.grid
        return (fine.transpose(1, 2).reshape(b, -1, g, g),
                coarse.transpose(1, 2).reshape(b, -1, g // 2, g // 2))


class CaptionSet(torch.utils.data.Dataset):
    """(image row, caption ids) pairs: every image appears once per caption."""

    def __init__(self, names: list[str], captions: dict[str, list[str]], vocab: Vocab):
        self.names = names
        self.items = []
        for i, n in enumerate(names):
            for c in captions[n]:
                ids = vocab.encode(tokenize(c)[:MAX_TOKENS])
                self.items.append((i, [vocab.start] + ids + [vocab.end]))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, k):
        return self.items[k]


def collate(batch, pad: int):
    """Pad captions to the longest in the batch; returns image rows, ids (B, T), lengths."""
    rows = torch.tensor([r for r, _ in batch])
    lengths = torch.tensor([len(c) for _, c in batch])
    ids = torch.full((len(batch), int(lengths.max())), pad, dtype=torch.long)
    for k, (_, c) in enumerate(batch):
        ids[k, :len(c)] = torch.tensor(c)
    return rows, ids, lengths


def word_counts(captions: dict[str, list[str]], names: list[str], vocab: Vocab) -> list[int]:
    """For each vocabulary word, how many of the ``names`` images' captions contain it (rarer words
    count as <unk>), aligned with ``vocab.itos``: what the model had to learn each word from. Every
    caption has a <start> and an <end>, so their count is the number of captions."""
    counts = [0] * len(vocab)
    for n in names:
        for c in captions[n]:
            for i in {vocab.start, vocab.end, *vocab.encode(tokenize(c)[:MAX_TOKENS])}:
                counts[i] += 1
    return counts
