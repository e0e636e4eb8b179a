"""Score the shipped ST-CNNs and CNN baselines on the fixed test sets, next to the paper.

    python -m train.stn.evaluate --data ../shared/data/mnist          # the table
    python -m train.stn.evaluate --data ../shared/data/mnist --export # + the test assets

prints one Markdown table: variant × (ST-CNN error %, CNN error %) measured here, and the
paper's Table 1 (ST-CNN Aff, CNN) and its cluttered MNIST numbers. A variant without shipped
weights shows "—". --export also writes what the tests and the app use without MNIST:
assets/stn_rts_test500.npz (the first 500 fixed RTS test digits) and assets/samples/digits/.
"""
import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from model.core import assets
from model.core.device import pick_device
from model.core.loader import load
from train.stn.mnist import TEST_SEED, VARIANTS, fixed_set, load_mnist
from train.stn.train import PAPER, error_rate, shipped

SAMPLES = {"rts": 6, "cluttered": 4, "r": 1, "p": 1, "e": 1}  # digit PNGs per variant for the app


def export(variant_sets: dict, labels: np.ndarray, folder: Path) -> None:
    rts = variant_sets["rts"]
    np.savez_compressed(folder / "stn_rts_test500.npz", images=rts[:500], labels=labels[:500],
                        note=np.array(f"MNIST t10k digits 0-499, rts distortion, seed {TEST_SEED}; "
                                      "MNIST is CC BY-SA 3.0 (LeCun, Cortes, Burges)"))
    out = folder / "samples" / "digits"
    out.mkdir(parents=True, exist_ok=True)
    for variant, count in SAMPLES.items():
        # spread over the test set, one index per digit class where possible
        picks = [int(np.flatnonzero(labels == (i * 3) % 10)[i]) for i in range(count)]
        for i in picks:
            Image.fromarray(variant_sets[variant][i]).save(out / f"{variant}_{i:04d}_label{labels[i]}.png")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/data/mnist")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--export", action="store_true", help="also write the 500-digit RTS test file and app samples")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = pick_device()
    images, labels = load_mnist(args.data, "t10k")
    sets = {v: fixed_set(images, v, TEST_SEED) for v in VARIANTS}
    if args.export:
        export(sets, labels, assets.assets_dir())

    def measured(variant, kind):
        path = shipped(variant, kind)
        if not path.is_file():
            return "—"
        return f"{error_rate(load(path, device, kind='stn').model, sets[variant], labels, device):.2f}"

    print(f"Test error % on the fixed 10,000-digit test sets (seed {TEST_SEED}); paper: Jaderberg et al. 2015\n")
    print("| variant | ST-CNN (here) | CNN (here) | ST-CNN Aff (paper) | CNN (paper) |")
    print("|---|---:|---:|---:|---:|")
    for v in VARIANTS:
        print(f"| {v.upper() if v != 'cluttered' else 'translated cluttered'} | {measured(v, 'st')} | "
              f"{measured(v, 'cnn')} | {PAPER[v][0]} | {PAPER[v][1]} |")


if __name__ == "__main__":
    main()
