"""Caption metrics with the coco-caption definitions (pycocoevalcap): BLEU-1..4, METEOR, CIDEr.

Captions are tokenized by ``train.caption.data.tokenize`` (lower case, no
punctuation) before scoring, for references and hypotheses alike, which is
what coco-caption's PTB tokenizer does in effect; it needs no Java, while
METEOR does (it runs the bundled meteor-1.5.jar).
"""
import shutil

from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider

from train.caption.data import tokenize


def caption_scores(references: dict[str, list[str]], hypotheses: dict[str, str], meteor: bool = True) -> dict:
    """Corpus scores in percent, e.g. {'BLEU-4': 21.3, 'METEOR': 20.3, 'CIDEr': 55.0}."""
    gts = {k: [" ".join(tokenize(r)) for r in refs] for k, refs in references.items()}
    res = {k: [" ".join(tokenize(hypotheses[k])) or "<empty>"] for k in gts}
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    out = {f"BLEU-{n + 1}": 100 * b for n, b in enumerate(bleu)}
    out["CIDEr"] = 100 * Cider().compute_score(gts, res)[0]
    if meteor and shutil.which("java"):
        from pycocoevalcap.meteor.meteor import Meteor
        scorer = Meteor()
        out["METEOR"] = 100 * scorer.compute_score(gts, res)[0]
        del scorer  # its __del__ stops the Java process
    return {k: round(float(v), 2) for k, v in out.items()}  # plain floats: checkpoints hold them
