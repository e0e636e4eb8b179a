"""Does the translators' attention explain their words? Dataset figures over the eng-fra test split.

    python -m train.evaluate_faithfulness translate --data ../shared/data/eng-fra [--every 7] [--json]

Each source sentence is translated greedily, as the app does; every target token of that translation
(<end> included) is explained (model.translate.explain; for the Transformer, its edits reach every
cross-attention head of every layer): Kendall's tau between the attention row and
leave-one-out and gradient × input importance, TVD between the output distributions with the row as it
is and randomly permuted (5 seeded permutations) or uniform, and the share of words whose argmax changes.
"""
import numpy as np
import torch
from tqdm import tqdm

from model.core import assets
from model.core.loader import load as load_bundle
from model.translate.explain import explain
from model.translate.pipeline import check_translator, decoders_of
from train.translate.data import load


def run(args, models: list[str], device) -> dict:
    pairs = load(args.data, "ours", args.direction)[0]["test"][::args.every]
    pairs = pairs[:args.limit] if args.limit else pairs
    out = {}
    for name in models:
        path = assets.translator(name, args.direction)
        if not path.is_file():
            print(f"skipping {name}: {path} not found")
            continue
        b = check_translator(load_bundle(path, device))
        src_vocab, tgt_vocab = b.vocab["src"], b.vocab["tgt"]
        cols = {k: [] for k in ("tau_loo", "tau_grad", "permuted_tvd", "permuted_flip", "uniform_tvd",
                                "uniform_flip")}
        greedy = decoders_of(b).greedy  # the RNN's or the Transformer's: the same call
        for src_words, _ in tqdm(pairs, desc=name, unit="sent", mininterval=5):
            src = torch.tensor([src_vocab.encode(src_words) + [src_vocab.end]], device=device)
            ids = greedy(b.model, src, torch.tensor([src.size(1)]), tgt_vocab.start, tgt_vocab.end)[0].ids
            e = explain(b.model, src, ids, tgt_vocab.start)
            for k in cols:
                cols[k].append(getattr(e, k))
        c = {k: np.concatenate(v).astype(np.float64) for k, v in cols.items()}
        out[name] = {"words": int(len(c["tau_loo"])), **{k: round(float(np.nanmean(v)), 4) for k, v in c.items()}}
    return {"split": "test", "sentences": len(pairs), "every": args.every, "models": out}


def table(result: dict) -> str:
    head = ("model", "target tokens", "τ (α, leave-one-out)", "τ (α, gradient × input)", "TVD permuted",
            "argmax changes, permuted", "TVD uniform", "argmax changes, uniform")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, m in result["models"].items():
        lines.append(f"| {name} | {m['words']:,} | {m['tau_loo']:.3f} | {m['tau_grad']:.3f} | {m['permuted_tvd']:.3f} | "
                     f"{100 * m['permuted_flip']:.1f} % | {m['uniform_tvd']:.3f} | {100 * m['uniform_flip']:.1f} % |")
    return "\n".join(lines)
