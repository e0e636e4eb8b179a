"""Captioner decoder precision: python -m bench.precision --data ../shared/data/flickr8k [--split val]

Decodes every image of a Flickr8k split (beam 3, as the page and the evaluator) with each shipped
captioner's decoder in fp32, bf16 and int8 (dynamic quantisation), the hard model with both of its
deterministic decodings (argmax locations, expected context), and prints per precision: the decoder
time relative to fp32 (median over ``--repeats`` interleaved passes over ``--timed`` images, one
thread), BLEU-4 (coco-caption) and its change against fp32, and the share of captions unchanged.
A precision is worth shipping when the decoder takes x0.5 of the fp32 time or less, BLEU-4 moves by
0.2 or less and 95 % of the captions stay the same (RULE); the chosen one is recorded in the
checkpoint's config (``precision``) and applied when it is loaded (model.caption.decoder).

The split is encoded once (fp32 annotations, the pipeline's own encoder and preprocessing) into
cache/flickr8k-<split>-<encoder>-annotations.pt and reused by later runs.
"""
import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from model.caption.decode import LOCATION_NAMES, beam_search
from model.caption.decoder import PRECISIONS, with_precision
from model.caption.encoder import Encoder, annotations
from model.core import assets
from model.core.checkpoint import load_checkpoint
from model.core.loader import build
from train.caption.data import read_captions, read_splits
from train.caption.metrics import caption_scores

RULE = {"time_ratio": 0.5, "bleu_drop": 0.2, "unchanged": 0.95}


def encoded(data: Path, split: str, pre) -> tuple[list[str], torch.Tensor, torch.Tensor]:
    """Names and (fine, coarse) encoder maps of every image of ``split``, cached after the first run."""
    names = read_splits(data)[split]
    path = Path("cache") / f"flickr8k-{split}-{pre.arch}-annotations.pt"
    if path.is_file():
        blob = torch.load(path, weights_only=True)
        if blob["names"] == names and blob["preprocessing"] == pre.to_dict():
            return names, blob["fine"], blob["coarse"]
    encoder, fine, coarse = Encoder(pre), [], []
    for n in tqdm(names, desc=f"encoding {split}", mininterval=5):
        image = np.asarray(Image.open(data / "images" / n).convert("RGB"))
        with torch.no_grad():
            f, c = encoder(pre.image_tensor(image)[None])
        fine.append(f[0])
        coarse.append(c[0])
    fine, coarse = torch.stack(fine), torch.stack(coarse)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"names": names, "preprocessing": pre.to_dict(), "fine": fine, "coarse": coarse}, path)
    return names, fine, coarse


def decoder(path, precision: str):
    """A shipped captioner built on the CPU at ``precision``, whatever its file records."""
    ckpt = load_checkpoint(path, kind="captioner")
    ckpt.config = {**ckpt.config, "precision": "fp32"}
    bundle = build(ckpt, "cpu")
    return with_precision(bundle.model, precision), bundle.vocab["words"]


def run(models: dict, names, ann, beam: int, location: str) -> tuple[dict, dict]:
    """Captions of every image per precision, and one pass's decoder seconds per precision.

    Precisions take turns on each image (interleaved), so a busy machine slows them alike.
    """
    hyps = {p: {} for p in models}
    seconds = {p: 0.0 for p in models}
    for i, n in enumerate(tqdm(names, desc=f"{location} beam {beam}", mininterval=10)):
        for p, (model, vocab) in models.items():
            start = time.perf_counter()
            d = beam_search(model, ann(i), vocab.start, vocab.end, beam=beam, location=location)
            seconds[p] += time.perf_counter() - start
            hyps[p][n] = " ".join(vocab.decode(d.tokens))
    return hyps, seconds


def timing(models: dict, ann, count: int, beam: int, location: str, repeats: int) -> dict:
    """Per precision: ms per image of each of ``repeats`` interleaved passes over ``count`` images."""
    passes = [run(models, [str(i) for i in range(count)], ann, beam, location)[1] for _ in range(repeats)]
    return {p: [1000 * s[p] / count for s in passes] for p in models}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=Path("../shared/data/flickr8k"))
    p.add_argument("--split", default="val", choices=("val", "test"))
    p.add_argument("--beam", type=int, default=3)
    p.add_argument("--precisions", nargs="+", default=["fp32", "bf16", "int8"], choices=PRECISIONS)
    p.add_argument("--models", nargs="+", default=["soft", "hard"], choices=("soft", "hard"))
    p.add_argument("--locations", nargs="+", default=["argmax", "expected"], choices=("argmax", "expected"),
                   help="the hard model's decodings")
    p.add_argument("--limit", type=int, default=0, help="only the first N images of the split")
    p.add_argument("--timed", type=int, default=30, help="images in each timing pass")
    p.add_argument("--repeats", type=int, default=5, help="timing passes")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    precisions = ["fp32"] + [q for q in args.precisions if q != "fp32"]
    paths = {a: assets.captioner(a) for a in args.models}
    pre = build(load_checkpoint(next(iter(paths.values())), kind="captioner"), "cpu").preprocessing
    names, fine, coarse = encoded(args.data, args.split, pre)
    names = names[:args.limit] if args.limit else names
    ann = lambda i: annotations(fine[i:i + 1], coarse[i:i + 1])
    refs = read_captions(args.data)
    print(f"Flickr8k {args.split}, {len(names)} images, beam {args.beam} per word; time: median of {args.repeats} "
          f"interleaved passes over {args.timed} images, {torch.get_num_threads()} thread(s), "
          f"load average {os.getloadavg()[0]:.1f} at start")
    print("| model | decoding | precision | decoder ms/image | time vs fp32 | BLEU-4 | Δ BLEU-4 | captions unchanged |")
    print("|---|---|---|---|---|---|---|---|")
    verdicts, ratios = {}, {}
    with torch.inference_mode():
        for name, path in paths.items():
            models = {q: decoder(path, q) for q in precisions}
            for location in (("expected",) if name == "soft" else args.locations):
                ms = timing(models, ann, min(args.timed, len(names)), args.beam, location, args.repeats)
                hyps, _ = run(models, names, ann, args.beam, location)
                bleu = {q: caption_scores({n: refs[n] for n in names}, hyps[q], meteor=False)["BLEU-4"]
                        for q in precisions}
                for q in precisions:
                    ratio = statistics.median(a / b for a, b in zip(ms[q], ms["fp32"]))
                    same = sum(hyps[q][n] == hyps["fp32"][n] for n in names) / len(names)
                    ok = (ratio <= RULE["time_ratio"] and bleu["fp32"] - bleu[q] <= RULE["bleu_drop"]
                          and same >= RULE["unchanged"])
                    verdicts.setdefault((name, q), []).append(ok)
                    ratios.setdefault((name, q), []).append(ratio)
                    how = "soft" if name == "soft" else f"hard, {LOCATION_NAMES[location]}"
                    print(f"| {name} | {how} | {q} | {statistics.median(ms[q]):.1f} | ×{ratio:.2f} | "
                          f"{bleu[q]:.2f} | {bleu[q] - bleu['fp32']:+.2f} | {100 * same:.1f} % |", flush=True)
    print(f"\nRule: time ×{RULE['time_ratio']} or better, BLEU-4 within {RULE['bleu_drop']}, "
          f"≥ {100 * RULE['unchanged']:.0f} % captions unchanged (every decoding of the model)")
    for name in paths:
        passing = sorted((max(ratios[(name, q)]), q) for q in precisions[1:] if all(verdicts[(name, q)]))
        print(f"- {name}: {passing[0][1] if passing else 'fp32'}"
              f"{'' if passing else ' (no lower precision meets the rule)'}")


if __name__ == "__main__":
    main()
