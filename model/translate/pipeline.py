"""Translate a sentence with a translator bundle: the one function the page and the CLI call.

``translate`` returns ``translation``, ``source_tokens`` and ``target_tokens`` (both ending with
<end>, the axes of the alignment), ``alignment`` (one row per target token, each summing to 1),
``unknown_words`` (source words the model never saw; it read them as <unk>) and ``truncated``
(input longer than the cap).
"""
from dataclasses import dataclass

import torch

from model.core import assets
from model.core.decoding import TRANSLATE_ALPHA, check_beam
from model.core.loader import Bundle, load
from model.core.vocab import END
from model.translate.decode import beam_search, greedy
from model.translate.text import detokenize

DIRECTIONS = ("fr-en", "en-fr")
INPUT_CAP = 2  # at most INPUT_CAP x the longest training sentence is read; the rest is cut


@dataclass(frozen=True)
class TranslateOptions:
    beam: int = 1  # 1 = greedy
    length_alpha: float = TRANSLATE_ALPHA  # ranking of finished beams (model.core.decoding)

    def __post_init__(self):
        check_beam(self.beam)
        if self.length_alpha < 0:
            raise ValueError(f"length_alpha must be 0 or more, got {self.length_alpha}")


@dataclass
class Translation:
    translation: str
    source_tokens: list[str]  # the words as read (unknown ones included), then <end>
    target_tokens: list[str]  # the words produced, then <end> when the model ended the sentence
    alignment: list[list[float]]  # len(target_tokens) rows x len(source_tokens) columns
    unknown_words: list[str]
    truncated: bool = False


def load_translator(score: str = "additive", direction: str = "fr-en", device=None) -> Bundle:
    """A shipped translator by its score function and direction."""
    return load(assets.translator(score, direction), device, kind="translator")


def max_input_tokens(bundle: Bundle) -> int:
    return INPUT_CAP * bundle.model.config.max_len


def translate(bundle: Bundle, text: str, options: TranslateOptions = TranslateOptions()) -> Translation:
    """One sentence; raises ValueError when it has no word to translate."""
    src_vocab, tgt_vocab = bundle.vocab["src"], bundle.vocab["tgt"]
    words = bundle.preprocessing.tokenize(text)
    cap = max_input_tokens(bundle)
    truncated = len(words) > cap
    words = words[:cap]
    if not any(c.isalnum() for w in words for c in w):
        raise ValueError("the text has no words, only spaces, punctuation or symbols")
    src = torch.tensor([src_vocab.encode(words) + [src_vocab.end]], device=bundle.device)
    lengths = torch.tensor([src.size(1)])
    start, end = tgt_vocab.start, tgt_vocab.end
    if options.beam == 1:
        out = greedy(bundle.model, src, lengths, start, end)[0]
    else:
        out = beam_search(bundle.model, src, lengths, start, end, options.beam, options.length_alpha)
    target = [tgt_vocab.itos[i] for i in out.ids]
    words_out = target[:-1] if target and target[-1] == END else target
    return Translation(detokenize(words_out), words + [END], target,
                       [[round(float(x), 5) for x in row] for row in out.alignment],
                       list(dict.fromkeys(src_vocab.unknown(words))), truncated)

