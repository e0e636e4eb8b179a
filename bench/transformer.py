"""Transformer vs additive GRU translator speed: python -m bench.transformer [--threads 1] [--repeats 5]

On the same French sentences (bench.translate's), per model: median ms to translate one sentence
alone through the pipeline, greedy (which also returns every attention weight for the
Transformer) and beam 5, and sentences per second with batched greedy decoding
(``translate_many``, 64 sentences a batch). A pass times every sentence once; the models take
turns pass by pass, so a busy machine slows both alike. Cells: median (min-max) over the passes of
the mean ms per sentence. No data set needed; ``--transformer`` times a run's checkpoint before
one is shipped.
"""
import argparse
import os
from pathlib import Path

import torch

from bench.timing import spread, timed_runs
from bench.translate import SENTENCES
from model.core import assets
from model.core.device import pick_device
from model.translate.pipeline import TranslateOptions, check_translator, translate, translate_many
from model.core.loader import load


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--device", default=None)
    p.add_argument("--transformer", type=Path, default=None, help="checkpoint (default: the shipped one)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    paths = {"additive": assets.translator("additive"), "transformer": args.transformer or assets.translator("transformer")}
    models = {}
    for name, path in paths.items():
        if path.is_file():
            models[name] = check_translator(load(path, device))
        else:
            print(f"skipping {name}: {path} not found")
    batch_texts = SENTENCES * 8  # 128 sentences for the batched rate
    cells = {name: {"greedy": [], "beam5": [], "batched": []} for name in models}
    greedy, beam5 = TranslateOptions(beam=1), TranslateOptions(beam=5)
    for _ in range(args.repeats):
        for name, bundle in models.items():  # take turns, pass by pass
            for key, options in (("greedy", greedy), ("beam5", beam5)):
                run = timed_runs(lambda: [translate(bundle, s, options) for s in SENTENCES], device, 1)
                cells[name][key].append(1000 * run[0] / len(SENTENCES))
            run = timed_runs(lambda: translate_many(bundle, batch_texts), device, 1)
            cells[name]["batched"].append(len(batch_texts) / run[0])
    print(f"\n### Transformer vs GRU translator ({device}, {args.threads} thread(s), load "
          f"{os.getloadavg()[0]:.1f}, {len(SENTENCES)} sentences, {args.repeats} passes)\n")
    print("| model | parameters | greedy ms/sentence | beam 5 ms/sentence | batched greedy sentences/s |")
    print("|---|---|---|---|---|")
    for name, bundle in models.items():
        n = sum(p.numel() for p in bundle.model.parameters())
        c = cells[name]
        print(f"| {name} | {n / 1e6:.1f} M | {spread(c['greedy'])} | {spread(c['beam5'])} | {spread(c['batched'], 0)} |")


if __name__ == "__main__":
    main()
