"""Tiny random translators under the shipped file names, for page tests that must not depend on the
shipped models: a 2-layer, 2-head Transformer and an additive GRU, both knowing the words of the
Transformer page's examples (so no example reads as <unk>). They translate into junk of the right shape.
Also what the translator tests feed them: padded source batches and tiny eng-fra files."""
import gzip

import torch

from model.core.checkpoint import Checkpoint, save_checkpoint
from model.core.vocab import END, SPECIALS
from model.translate.rnn import Translator, TranslatorConfig
from model.translate.text import Preprocessing, tokenize
from model.translate.transformer import KIND, TransformerConfig, TransformerTranslator
from ui.transformer_page import EXAMPLES

LAYERS, HEADS = 2, 2


def save_tiny_translators(folder, transformer: bool = True, rnn: bool = True) -> None:
    words = sorted({w for s in EXAMPLES for w in tokenize(s)})
    src, tgt = list(SPECIALS) + words, list(SPECIALS) + "i am very tired . my father and cat".split()
    vocab, prep = {"src": src, "tgt": tgt}, Preprocessing().to_dict()
    torch.manual_seed(0)
    if transformer:
        m = TransformerTranslator(TransformerConfig(len(src), len(tgt), d_model=16, heads=HEADS, encoder_layers=LAYERS,
                                                    decoder_layers=LAYERS, ffn_dim=32, dropout=0.0))
        save_checkpoint(folder / "translator_fr-en_transformer.pt",
                        Checkpoint(KIND, m.config, m.state_dict(), vocab, prep), half=True)
    if rnn:
        g = Translator(TranslatorConfig(len(src), len(tgt), 16, 24, 20, "additive", 0.0, 15, softmax_cutoffs=()))
        save_checkpoint(folder / "translator_fr-en_additive.pt",
                        Checkpoint("translator", g.config, g.state_dict(), vocab, prep), half=True)


def padded_batch(lengths, vocab=30, seed=0):
    """Random source ids (len(lengths), max(lengths)), each row ending in <end> at its length, zero-padded."""
    g = torch.Generator().manual_seed(seed)
    src = torch.zeros(len(lengths), max(lengths), dtype=torch.long)
    for i, n in enumerate(lengths):
        src[i, :n - 1] = torch.randint(4, vocab, (n - 1,), generator=g)
        src[i, n - 1] = SPECIALS.index(END)
    return src, torch.tensor(lengths)


def write_eng_fra(folder, pairs) -> None:
    """A tiny eng-fra.txt.gz in ``folder`` from (English, French) pairs, as the training data reader expects."""
    with gzip.open(folder / "eng-fra.txt.gz", "wt") as f:
        f.writelines(f"{english}\t{french}\n" for english, french in pairs)
