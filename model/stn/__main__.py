"""Run a shipped spatial transformer on a picture from the command line.

    python -m model.stn IMAGE [--model rts|cluttered] [--json] [--out DIR]

prints θ, the prediction and the probabilities (with --json as one JSON object) and writes
nothing unless --out DIR is given: then DIR/<name>_grid.png (the model's input with the sampling
grid drawn) and DIR/<name>_stn.png (what the transformer hands the classifier, enlarged).
"""
import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from model.core.checkpoint import CheckpointError
from model.core.cli import UsageError, common_args, fail, out_dir, print_json, read_input, setup_output
from model.core.device import pick_device
from model.core.images import ImageLoadError, load_image
from model.stn.pipeline import MODELS, load_variant, transform
from viz.grid import draw_grid, enlarge


def main(argv=None) -> int:
    setup_output()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("image", type=Path, help="a JPEG, PNG, WebP, BMP or GIF")
    p.add_argument("--model", choices=MODELS, default="rts")
    common_args(p)
    args = p.parse_args(argv)
    try:
        out = out_dir(args.out)
        rgb = load_image(read_input(args.image))
        model, baseline = load_variant(args.model, pick_device(args.device))
    except (ImageLoadError, UsageError, CheckpointError, ValueError) as e:
        return fail(f"{args.image}: {e}" if isinstance(e, ImageLoadError) else str(e))
    result = transform(model, baseline, rgb)
    reading, plain = result.reading, result.baseline
    if out:
        stem, s = args.image.stem or "input", model.model.cfg.output_size
        Image.fromarray(draw_grid(result.prepared.input, reading.theta, (s, s))).save(out / f"{stem}_grid.png")
        Image.fromarray(enlarge(reading.output, 336)).save(out / f"{stem}_stn.png")
    if args.json:
        print_json({"model": args.model, **result.to_json()})
        return 0
    print(f"prediction {reading.prediction} ({reading.probabilities.max():.1%})"
          + (" (low confidence)" if result.low_confidence else ""))
    print("theta", np.array2string(reading.theta, precision=3))
    if plain:
        print(f"without the transformer (CNN baseline): {plain.prediction} ({plain.probabilities.max():.1%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
