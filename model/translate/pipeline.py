"""Translate with a translator bundle (GRU or Transformer): the functions the page and the CLI call.

``translate`` returns ``translation``, ``source_tokens`` and ``target_tokens`` (both ending with
<end>, the axes of the alignment), ``alignment`` (one row per target token, each summing to 1),
``unknown_words`` (source words the model never saw; it read them as <unk>), ``truncated``
(input longer than the cap) and, for the Transformer only, ``attention``: every weight of every
layer and head (see ``Translation``). ``translate_many`` does a list of sentences in batches.
"""
from dataclasses import dataclass

import torch

from model.core import assets
from model.core.decoding import TRANSLATE_ALPHA, check_beam
from model.core.loader import Bundle, load
from model.core.checkpoint import CheckpointError
from model.core.vocab import END, START
from model.translate import decode, transformer_decode
from model.translate.text import detokenize
from model.translate.transformer import KIND as TRANSFORMER

DIRECTIONS = ("fr-en", "en-fr")
INPUT_CAP = 2  # at most INPUT_CAP x the longest training sentence is read; the rest is cut
KINDS = ("translator", TRANSFORMER)  # the checkpoint kinds of the GRU translators and of the Transformer
BATCH = 64  # sentences decoded together by translate_many


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
    """One translated sentence.

    ``alignment`` is the GRU decoder's attention; for the Transformer it is the cross-attention of
    its last decoder layer averaged over the heads (the layer closest to the output word).
    ``attention`` is None for the GRU models; for the Transformer it holds nested lists
    ``encoder`` (layers x heads x S x S, rows and columns: source_tokens), ``decoder`` (layers x heads
    x T x T, causal: row t looks at the decoder inputs <start> + target_tokens[:t], 0 above the
    diagonal) and ``cross`` (layers x heads x T x S: target_tokens x source_tokens). Every row sums
    to 1 (to rounding).
    """
    translation: str
    source_tokens: list[str]  # the words as read (unknown ones included), then <end>
    target_tokens: list[str]  # the words produced, then <end> when the model ended the sentence
    alignment: list[list[float]]  # len(target_tokens) rows x len(source_tokens) columns
    unknown_words: list[str]
    truncated: bool = False
    attention: dict | None = None

    @property
    def decoder_tokens(self) -> list[str]:
        """The Transformer decoder's input positions, the axes of ``attention['decoder']``."""
        return [START] + self.target_tokens[:-1]


def load_translator(name: str = "additive", direction: str = "fr-en", device=None) -> Bundle:
    """A shipped translator by name (model.core.assets.TRANSLATORS) and direction."""
    return check_translator(load(assets.translator(name, direction), device))


def check_translator(bundle: Bundle) -> Bundle:
    if bundle.kind not in KINDS:
        raise CheckpointError(bundle.path, f"holds a {bundle.kind!r} model, expected a translator")
    return bundle


def is_transformer(bundle: Bundle) -> bool:
    return bundle.kind == TRANSFORMER


def max_input_tokens(bundle: Bundle) -> int:
    return INPUT_CAP * bundle.model.config.max_len


def _read(bundle: Bundle, text: str) -> tuple[list[str], bool]:
    """The source words (cut at the cap) and whether they were cut; ValueError when none is a word."""
    words = bundle.preprocessing.tokenize(text)
    cap = max_input_tokens(bundle)
    truncated = len(words) > cap
    words = words[:cap]
    if not any(c.isalnum() for w in words for c in w):
        raise ValueError("the text has no words, only spaces, punctuation or symbols")
    return words, truncated


def _source(bundle: Bundle, sentences: list[list[str]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded ids (B, S) of the sentences, each followed by <end>, and their lengths."""
    vocab = bundle.vocab["src"]
    ids = [vocab.encode(words) + [vocab.end] for words in sentences]
    src = torch.full((len(ids), max(map(len, ids))), vocab.pad, dtype=torch.long)
    for i, row in enumerate(ids):
        src[i, :len(row)] = torch.tensor(row)
    return src.to(bundle.device), torch.tensor([len(row) for row in ids])


def _rounded(x: torch.Tensor) -> list:
    return torch.round(x.double(), decimals=5).tolist()  # float64: prints as 0.36052, not 0.36052000522


def _result(bundle: Bundle, words: list[str], truncated: bool, out) -> Translation:
    """A Translation from either family's decoded output."""
    src_vocab, tgt_vocab = bundle.vocab["src"], bundle.vocab["tgt"]
    target = [tgt_vocab.itos[i] for i in out.ids]
    words_out = target[:-1] if target and target[-1] == END else target
    attention = None
    if isinstance(out, transformer_decode.Decoded):
        attention = {"encoder": _rounded(out.encoder), "decoder": _rounded(out.decoder),
                     "cross": _rounded(out.cross)}
    return Translation(detokenize(words_out), words + [END], target, _rounded(out.alignment),
                       list(dict.fromkeys(src_vocab.unknown(words))), truncated, attention)


def decoders_of(bundle: Bundle):
    """The decoding module (greedy, beam_search) of the bundle's family."""
    return transformer_decode if is_transformer(bundle) else decode


def translate(bundle: Bundle, text: str, options: TranslateOptions = TranslateOptions()) -> Translation:
    """One sentence; raises ValueError when it has no word to translate."""
    words, truncated = _read(bundle, text)
    src, lengths = _source(bundle, [words])
    start, end = bundle.vocab["tgt"].start, bundle.vocab["tgt"].end
    decoders = decoders_of(bundle)
    if options.beam == 1:
        out = decoders.greedy(bundle.model, src, lengths, start, end)[0]
    else:
        out = decoders.beam_search(bundle.model, src, lengths, start, end, options.beam, options.length_alpha)
    return _result(bundle, words, truncated, out)


def translate_many(bundle: Bundle, texts: list[str], options: TranslateOptions = TranslateOptions(),
                   batch: int = BATCH, progress=None) -> list[Translation | ValueError]:
    """Many sentences, in order: each a Translation, or the ValueError ``translate`` would raise for it.

    Greedy decoding runs ``batch`` sentences of similar length at once (encoder and decoder steps
    batched: padding is masked, so each result equals ``translate``'s to float rounding); beam
    search goes one sentence at a time. ``progress(n)`` is called after every n sentences done.
    """
    results: list = [None] * len(texts)
    todo = []
    for i, text in enumerate(texts):
        try:
            todo.append((i, *_read(bundle, text)))
        except ValueError as e:
            results[i] = e
    todo.sort(key=lambda item: len(item[1]))  # similar lengths together: little padding
    start, end = bundle.vocab["tgt"].start, bundle.vocab["tgt"].end
    decoders = decoders_of(bundle)
    step = batch if options.beam == 1 else 1
    for k in range(0, len(todo), step):
        chunk = todo[k:k + step]
        src, lengths = _source(bundle, [words for _, words, _ in chunk])
        if options.beam == 1:
            outs = decoders.greedy(bundle.model, src, lengths, start, end)
        else:
            outs = [decoders.beam_search(bundle.model, src, lengths, start, end, options.beam, options.length_alpha)]
        for (i, words, truncated), out in zip(chunk, outs):
            results[i] = _result(bundle, words, truncated, out)
        if progress:
            progress(len(chunk))
    return results
