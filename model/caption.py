"""Caption images from the command line.

    python -m model.caption photo.jpg [more.jpg ...] --attention soft|hard --beam 3 --json [--out DIR]

Prints one JSON object per image (caption, tokens, alphas T×H×W, betas), or
one line per image without --json. --out also writes the per-word overlay grid
as DIR/<image>_<attention>.png.
"""
import argparse
import json
import sys
from pathlib import Path

from model.caption_decode import LOCATIONS
from model.caption_pipeline import CHECKPOINTS, DECODINGS, CaptionPipeline
from model.checkpoint import CheckpointError, pick_device
from viz.images import ImageLoadError, load_image
from viz.overlay import figure_png, word_grid_figure


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Caption images with Show, Attend and Tell.")
    p.add_argument("images", nargs="+", type=Path)
    p.add_argument("--attention", choices=("soft", "hard"), default="soft")
    p.add_argument("--decoding", choices=DECODINGS, default="beam",
                   help="beam search, greedy, or (hard only) sampled locations")
    p.add_argument("--beam", type=int, default=3, help="beam size, 1-10")
    p.add_argument("--location", choices=tuple(LOCATIONS), default="argmax",
                   help="hard, beam or greedy: one location per word (argmax) or all of them weighted by "
                        "alpha (expected: how Xu et al.'s code scores hard models)")
    p.add_argument("--seed", type=int, default=0, help="hard sampling seed")
    p.add_argument("--temperature", type=float, default=1.0, help="hard sampling temperature")
    p.add_argument("--samples", type=int, default=5, help="hard sampling: draws to keep the best of")
    p.add_argument("--checkpoint", type=Path, help="captioner checkpoint (default: the shipped one)")
    p.add_argument("--json", action="store_true", help="print JSON (one object per line)")
    p.add_argument("--out", type=Path, help="also write the per-word overlay grid PNGs here")
    args = p.parse_args(argv)
    if not 1 <= args.beam <= 10:
        p.error("--beam must be between 1 and 10")
    try:
        pipe = CaptionPipeline({args.attention: args.checkpoint or CHECKPOINTS[args.attention]}, pick_device())
    except (CheckpointError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    status = 0
    for path in args.images:
        try:
            image = load_image(path.read_bytes())
        except (OSError, ImageLoadError) as e:
            print(f"error: {path}: {e}", file=sys.stderr)
            status = 1
            continue
        c = pipe.caption(image, args.attention, args.decoding, args.beam, args.seed, args.temperature, args.samples,
                         args.location)
        if args.json:
            print(json.dumps({"image": str(path), "attention": args.attention, **c.to_json()}))
        else:
            print(f"{path}: {c.caption}")
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            fig = word_grid_figure(image, c.words, c.alphas, title=f"{args.attention}: {c.caption}")
            (args.out / f"{path.stem}_{args.attention}.png").write_bytes(figure_png(fig))
    return status


if __name__ == "__main__":
    sys.exit(main())
