"""Token <-> id tables shared by the captioner and the translator."""
from collections import Counter
from collections.abc import Iterable

PAD, START, END, UNK = "<pad>", "<start>", "<end>", "<unk>"
SPECIALS = (PAD, START, END, UNK)  # fixed ids 0..3 in every vocabulary


class Vocab:
    def __init__(self, tokens: Iterable[str]):
        self.itos = list(tokens)
        if tuple(self.itos[:len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"a vocabulary must start with {SPECIALS}")
        self.stoi = {t: i for i, t in enumerate(self.itos)}
        self.pad, self.start, self.end, self.unk = (self.stoi[t] for t in SPECIALS)

    @classmethod
    def build(cls, sentences: Iterable[list[str]], min_count: int = 1) -> "Vocab":
        """Words seen at least ``min_count`` times, most frequent first (ties alphabetical)."""
        counts = Counter(w for s in sentences for w in s)
        words = sorted((w for w, c in counts.items() if c >= min_count and w not in SPECIALS),
                       key=lambda w: (-counts[w], w))
        return cls(SPECIALS + tuple(words))

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, tokens: list[str]) -> list[int]:
        return [self.stoi.get(t, self.unk) for t in tokens]

    def unknown(self, tokens: list[str]) -> list[str]:
        return [t for t in tokens if t not in self.stoi]

    def decode(self, ids: Iterable[int], strip: bool = True) -> list[str]:
        """Ids to words; ``strip`` drops <start>/<pad> and stops at <end>."""
        words = []
        for i in ids:
            w = self.itos[int(i)]
            if strip and w == END:
                break
            if strip and w in (PAD, START):
                continue
            words.append(w)
        return words
