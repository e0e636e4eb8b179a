"""Speed of the per-word explanations: python -m bench.explain [--threads 2] [--repeats 7]

Captioner: gradient importance, the deletion test (top / bottom / random at every k of the curve)
and the rank correlation for every word of a 12-word caption, teacher-forced on each sample photo's
annotations (the encoder run not included: the page has them already), soft, hard at its argmax
locations and hard at the expected context. Translator: leave-one-out, gradient × input,
permutations and uniform attention for every target word of a sentence, per shipped score function.
Median (min–max) ms over ``--repeats`` runs: wall time, and the process's CPU time, which on one thread
is what the wall time would be on an idle core (this machine's CPU is shared: the table prints the load).
"""
import argparse
import os
import time

import torch

from bench.timing import spread, timed_runs


def cpu_runs(fn, repeats: int) -> list[float]:
    """CPU seconds of the process for each of ``repeats`` calls, after one untimed call."""
    fn()
    runs = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        runs.append(time.process_time() - start)
    return runs
from model.caption.explain import explain as explain_caption
from model.caption.pipeline import Captioners
from model.core import assets
from model.core.attention import SCORES
from model.core.images import load_image
from model.translate.explain import explain as explain_translation
from model.translate.pipeline import load_translator, translate

CAPTION = "a man in a red shirt rides a bike down the street"  # 12 words
SENTENCE = "je ne comprends pas ce que tu dis ."


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", 2)))
    p.add_argument("--repeats", type=int, default=7)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device("cpu")
    captioners = Captioners.load(device=device)
    photos = sorted(assets.SAMPLES.glob("*.jpg"))
    feats = captioners.encode([captioners.pre.squash(load_image(f.read_bytes())) for f in photos[:3]])
    print(f"Explanations on the CPU, {args.threads} thread(s), median (min–max) of {args.repeats} runs, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")
    print("| captioner | words | wall ms per caption | CPU ms per caption | CPU ms per word |\n|---|---|---|---|---|")
    for name, location in (("soft", "expected"), ("hard", "argmax"), ("hard", "expected")):
        bundle = captioners.bundles.get(name)
        if bundle is None:
            continue
        vocab = bundle.vocab["words"]
        tokens = vocab.encode(CAPTION.split())
        wall, cpu = [], []
        for i in range(feats.size(0)):
            call = lambda: explain_caption(bundle.model, feats[i:i + 1], tokens, vocab.start, location)  # noqa: E731
            wall += [1000 * r for r in timed_runs(call, device, args.repeats)]
            cpu += [1000 * r for r in cpu_runs(call, args.repeats)]
        print(f"| {name}, {location} | {len(tokens)} | {spread(wall)} | {spread(cpu)} | "
              f"{spread([m / len(tokens) for m in cpu])} |")
    print("\n| translator | target tokens | source tokens | wall ms per sentence | CPU ms per sentence |\n"
          "|---|---|---|---|---|")
    for score in SCORES:
        if not assets.translator(score, "fr-en").is_file():
            continue
        bundle = load_translator(score, device=device)
        result = translate(bundle, SENTENCE)
        src_vocab, tgt_vocab = bundle.vocab["src"], bundle.vocab["tgt"]
        src = torch.tensor([src_vocab.encode(result.source_tokens[:-1]) + [src_vocab.end]])
        ids = tgt_vocab.encode(result.target_tokens)
        call = lambda: explain_translation(bundle.model, src, ids, tgt_vocab.start)  # noqa: E731
        wall = [1000 * r for r in timed_runs(call, device, args.repeats)]
        cpu = [1000 * r for r in cpu_runs(call, args.repeats)]
        print(f"| {score} | {len(ids)} | {src.size(1)} | {spread(wall)} | {spread(cpu)} |")


if __name__ == "__main__":
    main()
