"""Does the captioners' attention explain their words? Dataset figures over a Flickr8k split.

    python -m train.evaluate_faithfulness caption --data ../shared/data/flickr8k [--every 2] [--json]

Each image is captioned greedily (cheaper than the app's beam 3 on a shared CPU); every word of that caption is then
explained (model.caption.explain): Δ log p when the top / random / bottom 10 % cells by alpha are read
as the image's mean annotation, Kendall's tau between alpha and the gradient norm per cell, and the
share of words for which deleting the top cells hurts more than deleting random ones. Rows: soft,
hard at its argmax locations (what the page shows) and hard at the expected context.
"""
import numpy as np
from tqdm import tqdm

from model.caption.decode import greedy
from model.caption.explain import KS, explain
from model.core.loader import load
from train.caption.data import read_splits
from train.caption.evaluate import features

ROWS = (("soft", "expected"), ("hard", "argmax"), ("hard", "expected"))


def summarise(words: dict[str, list]) -> dict:
    """Means over every word of every image; Δ at k = 10 % and the curve over ``KS``."""
    top, rnd, bottom = (np.concatenate(words[k]) for k in ("top", "random", "bottom"))
    k = KS.index(0.1)
    tau = np.concatenate(words["tau"])
    return {"words": int(len(top)), "top": round(float(top[:, k].mean()), 4),
            "random": round(float(rnd[:, k].mean()), 4), "bottom": round(float(bottom[:, k].mean()), 4),
            "top_hurts_more": round(float((top[:, k] < rnd[:, k]).mean()), 4),
            "rank_corr": round(float(np.nanmean(tau)), 4), "rank_corr_defined": int(np.isfinite(tau).sum()),
            "curve": {"k": list(KS), **{name: [round(float(v), 4) for v in a.mean(0)]
                                         for name, a in (("top", top), ("random", rnd), ("bottom", bottom))}}}


def run(args, paths: dict[str, str], device) -> dict:
    names = read_splits(args.data)[args.split][::args.every]
    names = names[:args.limit] if args.limit else names
    bundles = {a: load(p, device, kind="captioner") for a, p in paths.items()}
    words = {f"{a}, {loc}": {k: [] for k in ("top", "random", "bottom", "tau")}
             for a, loc in ROWS if a in bundles}
    first = next(iter(bundles.values()))
    for _, ann in tqdm(features(names, args.data, args.features, first, device), total=len(names),
                       desc="explaining", unit="img", mininterval=5):
        for attention, location in ROWS:
            if attention not in bundles:
                continue
            b, vocab = bundles[attention], bundles[attention].vocab["words"]
            tokens = greedy(b.model, ann, vocab.start, vocab.end, location=location)[0].tokens
            if not tokens:
                continue
            e = explain(b.model, ann, tokens, vocab.start, location)
            w = words[f"{attention}, {location}"]
            w["top"].append(e.top), w["random"].append(e.random), w["bottom"].append(e.bottom)
            w["tau"].append(e.rank_corr)
    return {"split": args.split, "images": len(names), "every": args.every, "k": 0.1,
            "models": {name: summarise(w) for name, w in words.items() if w["top"]}}


def table(result: dict) -> str:
    head = ("model", "words", "Δ log p top 10 %", "random 10 %", "bottom 10 %", "top hurts more than random",
            "Kendall τ (α, gradient)")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, m in result["models"].items():
        lines.append(f"| {name} | {m['words']:,} | {m['top']:+.3f} | {m['random']:+.3f} | {m['bottom']:+.3f} | "
                     f"{100 * m['top_hurts_more']:.1f} % | {m['rank_corr']:.3f} |")
    return "\n".join(lines)
