"""Translate a sentence with a shipped checkpoint, from Python or the command line.

    python -m model.translate "je suis très fatigué ." --score additive --beam 5 --json

prints ``translation``, ``source_tokens`` and ``target_tokens`` (both ending
with <end>, the axes of the alignment), ``alignment`` (one row per target
token, each summing to 1), ``unknown_words`` (source words the model never
saw; it read them as <unk>) and ``truncated`` (input longer than the cap).
"""
import argparse
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from model.checkpoint import config_from, load_checkpoint, load_weights, pick_device
from model.text import detokenize, tokenize, tutorial_normalize
from model.translate_decode import beam_search, greedy
from model.translator import Translator, TranslatorConfig
from model.vocab import END, Vocab

ASSETS = Path(__file__).resolve().parent.parent / "assets"
INPUT_CAP = 2  # at most INPUT_CAP x the longest training sentence is read; the rest is cut


def asset_name(direction: str = "fr-en", score: str = "additive") -> str:
    return f"translator_{direction}_{score}.pt"


@dataclass
class LoadedTranslator:
    model: Translator
    src_vocab: Vocab
    tgt_vocab: Vocab
    protocol: str  # which tokenizer the model was trained with
    path: str
    metrics: dict = field(default_factory=dict)

    @property
    def max_input_tokens(self) -> int:
        return INPUT_CAP * self.model.config.max_len

    def tokenize(self, text: str) -> list[str]:
        return tutorial_normalize(text).split() if self.protocol == "tutorial" else tokenize(text)


def load_translator(path, device=None) -> LoadedTranslator:
    """Build the model a checkpoint describes and load its weights (errors name the file)."""
    device = device or pick_device()
    ckpt = load_checkpoint(path, kind="translator")
    model = load_weights(Translator(config_from(TranslatorConfig, ckpt)), ckpt).to(device).eval()
    return LoadedTranslator(model, Vocab(ckpt.vocab["src"]), Vocab(ckpt.vocab["tgt"]),
                            ckpt.preprocessing.get("protocol", "ours"), str(path), ckpt.metrics)


@dataclass
class Translation:
    translation: str
    source_tokens: list[str]  # the words as read (unknown ones included), then <end>
    target_tokens: list[str]  # the words produced, then <end> when the model ended the sentence
    alignment: list[list[float]]  # len(target_tokens) rows x len(source_tokens) columns
    unknown_words: list[str]
    truncated: bool = False


def translate(t: LoadedTranslator, text: str, beam: int = 1, alpha: float = 0.7) -> Translation:
    """One sentence; raises ValueError when it has no word to translate."""
    words = t.tokenize(text)
    truncated = len(words) > t.max_input_tokens
    words = words[:t.max_input_tokens]
    if not any(c.isalnum() for w in words for c in w):
        raise ValueError("the text has no words, only spaces, punctuation or symbols")
    device = next(t.model.parameters()).device
    src = torch.tensor([t.src_vocab.encode(words) + [t.src_vocab.end]], device=device)
    lengths = torch.tensor([src.size(1)])
    out = greedy(t.model, src, lengths)[0] if beam == 1 else beam_search(t.model, src, lengths, beam, alpha)
    target = [t.tgt_vocab.itos[i] for i in out.ids]
    words_out = target[:-1] if target and target[-1] == END else target
    return Translation(detokenize(words_out), words + [END], target,
                       [[round(float(x), 5) for x in row] for row in out.alignment],
                       list(dict.fromkeys(t.src_vocab.unknown(words))), truncated)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Translate one sentence and show its attention alignment.")
    p.add_argument("text")
    p.add_argument("--score", default="additive", choices=["dot", "general", "concat", "additive"])
    p.add_argument("--direction", default="fr-en", choices=["fr-en", "en-fr"])
    p.add_argument("--beam", type=int, default=1, help="1 = greedy; up to 10")
    p.add_argument("--checkpoint", help="a checkpoint file instead of assets/translator_<direction>_<score>.pt")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = p.parse_args(argv)
    path = Path(args.checkpoint) if args.checkpoint else ASSETS / asset_name(args.direction, args.score)
    try:
        result = translate(load_translator(path), args.text, beam=args.beam)
    except (ValueError, RuntimeError) as e:  # CheckpointError is a RuntimeError
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(asdict(result), ensure_ascii=False))
        return 0
    print(result.translation)
    if result.unknown_words:
        print(f"(unknown words, read as <unk>: {', '.join(result.unknown_words)})")
    if result.truncated:
        print(f"(input cut to its first {len(result.source_tokens) - 1} tokens)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
