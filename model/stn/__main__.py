"""Run a shipped spatial transformer on a picture from the command line.

    python -m model.stn IMAGE [IMAGE ...] [--model rts|cluttered] [--json] [--out DIR]

prints θ, the prediction and the probabilities per image (with --json one JSON object per line) and
writes nothing unless --out DIR is given: then DIR/<name>_grid.png (the model's input with the sampling
grid drawn) and DIR/<name>_stn.png (what the transformer hands the classifier, enlarged).
An image that cannot be used is named on stderr and skipped; the exit status is then 2.
"""
import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from model.core.checkpoint import CheckpointError
from model.core.cli import (BAD_INPUT, UsageError, common_args, fail, out_dir, print_json, read_images,
                            setup_output)
from model.core.device import pick_device
from model.stn.pipeline import MODELS, load_variant, transform
from viz.grid import draw_grid, enlarge


def main(argv=None) -> int:
    setup_output()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("images", nargs="+", type=Path, help="JPEG, PNG, WebP, BMP or GIF files")
    p.add_argument("--model", choices=MODELS, default="rts")
    common_args(p)
    args = p.parse_args(argv)
    try:
        out = out_dir(args.out)
        model, baseline = load_variant(args.model, pick_device(args.device))
    except (UsageError, CheckpointError, ValueError) as e:
        return fail(str(e))
    status = 0
    for path, stem, rgb in read_images(args.images):
        if rgb is None:
            status = BAD_INPUT
            continue
        result = transform(model, baseline, rgb)
        if out:
            s = model.model.cfg.output_size
            grid = draw_grid(result.prepared.input, result.reading.theta, (s, s))
            Image.fromarray(grid).save(out / f"{stem}_grid.png")
            Image.fromarray(enlarge(result.reading.output, 336)).save(out / f"{stem}_stn.png")
        if args.json:
            print_json({"image": str(path), "model": args.model, **result.to_json()})
        else:
            report(path, result)
    return status


def report(path: Path, result) -> None:
    reading, plain = result.reading, result.baseline
    print(f"{path}: prediction {reading.prediction} ({reading.probabilities.max():.1%})"
          + (" (low confidence)" if result.low_confidence else ""), flush=True)
    print("theta", np.array2string(reading.theta, precision=3))
    if plain:
        print(f"without the transformer (CNN baseline): {plain.prediction} ({plain.probabilities.max():.1%})")


if __name__ == "__main__":
    sys.exit(main())
