"""Sentence pairs for the translator: reading, splitting, filtering, batching.

Two data protocols:

* ``ours`` (default): our tokenizer (``model.translate.text``, keeps accents), a 90/5/5
  train/val/test split by an md5 of the normalised *source* sentence, so every
  translation of one source sentence sits in one split, and at most
  ``max_len`` tokens per side (15 by default).
* ``tutorial``: the PyTorch seq2seq tutorial's own data, to compare with it:
  its ASCII normaliser, fewer than 10 words per side, English side starting with
  "i am", "he is", ...; test = md5(French) % 20 == 0, training on all the rest.
"""
import gzip
import hashlib
import random
from pathlib import Path

import torch

from model.translate.text import tokenize, tutorial_normalize
from model.core.vocab import Vocab

DATA_FILE = "eng-fra.txt.gz"
ATTRIBUTION = ("Sentence pairs from the Tatoeba Project (tatoeba.org), CC-BY 2.0 FR, "
               "via www.manythings.org/anki")
TUTORIAL_PREFIXES = ("i am ", "i m ", "he is", "he s ", "she is", "she s ", "you are", "you re ",
                     "we are", "we re ", "they are", "they re ")  # the tutorial's eng_prefixes, spaces included


def data_file(path) -> Path:
    """Accept the data directory or the file itself (.txt or .txt.gz)."""
    path = Path(path)
    if path.is_dir():
        for name in (DATA_FILE, "eng-fra.txt"):
            if (path / name).is_file():
                return path / name
        raise FileNotFoundError(f"no {DATA_FILE} or eng-fra.txt in {path}")
    if not path.is_file():
        raise FileNotFoundError(f"data file {path} not found")
    return path


def read_pairs(path) -> list[tuple[str, str]]:
    """(English, French) pairs from the tab-separated Tatoeba/manythings file."""
    path = data_file(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    return [(r[0], r[1]) for r in rows if len(r) >= 2]


def split_of(src_tokens: list[str]) -> str:
    """90/5/5 by a hash of the normalised source, the same on every machine and Python."""
    bucket = int(hashlib.md5(" ".join(src_tokens).encode()).hexdigest(), 16) % 100
    return "train" if bucket < 90 else "val" if bucket < 95 else "test"


def load_ours(path, direction: str = "fr-en", max_len: int = 15):
    """{'train'|'val'|'test': [(src_tokens, tgt_tokens)]} and a description for the model card."""
    if direction not in ("fr-en", "en-fr"):
        raise ValueError(f"direction must be 'fr-en' or 'en-fr', got {direction!r}")
    raw = read_pairs(path)
    splits = {"train": [], "val": [], "test": []}
    for en, fr in raw:
        src, tgt = (tokenize(fr), tokenize(en)) if direction == "fr-en" else (tokenize(en), tokenize(fr))
        if 0 < len(src) <= max_len and 0 < len(tgt) <= max_len:
            splits[split_of(src)].append((src, tgt))
    sizes = ", ".join(f"{k} {len(v):,}" for k, v in splits.items())
    return splits, {
        "source": f"{data_file(path).name}: {len(raw):,} English-French pairs (Tatoeba)",
        "license": ATTRIBUTION, "direction": direction, "protocol": "ours",
        "filter": f"1..{max_len} tokens per side after model.translate.text.tokenize",
        "split": f"90/5/5 by md5(normalised source sentence) % 100 (<90 train, <95 val, else test): {sizes}",
    }


def load_tutorial(path):
    """The PyTorch tutorial's fr->en data; 'val' is a 5% slice of its training pairs for early stopping."""
    pairs = [(tutorial_normalize(fr), tutorial_normalize(en)) for en, fr in read_pairs(path)]
    pairs = [(fr, en) for fr, en in pairs
             if len(fr.split(" ")) < 10 and len(en.split(" ")) < 10 and en.startswith(TUTORIAL_PREFIXES)]
    test = [(fr.split(" "), en.split(" ")) for fr, en in pairs if _md5(fr) % 20 == 0]
    rest = [(fr.split(" "), en.split(" ")) for fr, en in pairs if _md5(fr) % 20 != 0]
    splits = {"train": rest, "val": [p for p in rest if _md5(" ".join(p[0])) % 20 == 1], "test": test}
    return splits, {
        "source": f"{data_file(path).name}, PyTorch seq2seq tutorial protocol: {len(pairs):,} pairs",
        "license": ATTRIBUTION, "direction": "fr-en", "protocol": "tutorial",
        "filter": "tutorial normalizeString (lower, strip accents, keep [a-zA-Z!?]), < 10 words per side, "
                  "English starts with one of the tutorial's eng_prefixes",
        "split": f"test = int(md5(French).hexdigest(), 16) % 20 == 0 ({len(test):,} pairs); "
                 f"train = all other {len(rest):,} (val = the train pairs with md5 % 20 == 1, only to pick epochs)",
    }


def _md5(s: str) -> int:
    return int(hashlib.md5(s.encode()).hexdigest(), 16)


def load(path, protocol: str = "ours", direction: str = "fr-en", max_len: int = 15):
    if protocol == "tutorial":
        return load_tutorial(path)
    if protocol == "ours":
        return load_ours(path, direction, max_len)
    raise ValueError(f"protocol must be 'ours' or 'tutorial', got {protocol!r}")


def encode_batch(pairs, src_vocab: Vocab, tgt_vocab: Vocab, device="cpu"):
    """Padded tensors: src = x <end>; tgt_in = <start> y; tgt_out = y <end>."""
    src = [src_vocab.encode(s) + [src_vocab.end] for s, _ in pairs]
    tgt = [tgt_vocab.encode(t) for _, t in pairs]
    S, T = max(map(len, src)), max(map(len, tgt)) + 1
    src_t = torch.full((len(pairs), S), src_vocab.pad, dtype=torch.long)
    tin = torch.full((len(pairs), T), tgt_vocab.pad, dtype=torch.long)
    tout = torch.full((len(pairs), T), tgt_vocab.pad, dtype=torch.long)
    for i, (s, t) in enumerate(zip(src, tgt)):
        src_t[i, :len(s)] = torch.tensor(s)
        tin[i, :len(t) + 1] = torch.tensor([tgt_vocab.start] + t)
        tout[i, :len(t) + 1] = torch.tensor(t + [tgt_vocab.end])
    lengths = torch.tensor([len(s) for s in src])
    return src_t.to(device), lengths, tin.to(device), tout.to(device)


def batches(pairs, batch_size: int, rng: random.Random | None = None):
    """Lists of pairs of similar source length (less padding, faster RNNs).

    With ``rng``: shuffle, sort within pools of 50 batches, shuffle the batches;
    without: in order of length, for evaluation.
    """
    if rng is None:
        order = sorted(range(len(pairs)), key=lambda i: (len(pairs[i][0]), len(pairs[i][1])))
        return [[pairs[i] for i in order[k:k + batch_size]] for k in range(0, len(order), batch_size)]
    idx = list(range(len(pairs)))
    rng.shuffle(idx)
    pool = batch_size * 50
    out = []
    for k in range(0, len(idx), pool):
        chunk = sorted(idx[k:k + pool], key=lambda i: (len(pairs[i][0]), len(pairs[i][1])))
        out += [[pairs[i] for i in chunk[j:j + batch_size]] for j in range(0, len(chunk), batch_size)]
    rng.shuffle(out)
    return out


@torch.no_grad()
def evaluate_loss(model, pairs, src_vocab: Vocab, tgt_vocab: Vocab, device, batch_size: int = 256) -> float:
    """Mean per-token cross-entropy (no smoothing) with the true previous words, for either family:
    the RNN's forward returns (features, weights), the Transformer's its features alone."""
    model.eval()
    total, count = 0.0, 0
    for batch in batches(pairs, batch_size):
        src, lengths, tin, tout = encode_batch(batch, src_vocab, tgt_vocab, device)
        features = model(src, lengths, tin)
        features = features[0] if isinstance(features, tuple) else features
        real = int((tout != tgt_vocab.pad).sum())
        total += model.loss(features, tout).item() * real
        count += real
    return total / max(count, 1)
