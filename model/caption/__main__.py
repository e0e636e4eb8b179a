"""Caption images from the command line.

    python -m model.caption photo.jpg [more.jpg ...] --attention soft|hard --beam 3 --json [--out DIR]
    python -m model.caption photo.jpg --explain --force 2:7,3 --json

Prints one JSON object per image (caption, tokens, alphas T×H×W, betas), or one line per image
without --json. --explain adds per token saliency (H×W), deletion ({top, random, bottom}: Δ log p)
and rank_corr (model.caption.explain); --force STEP:ROW,COL (repeatable) decodes the caption again
with that step's attention on that cell (model.caption.intervene) and prints that caption. --out DIR also writes each image's per-word overlay grid as DIR/<image>_<attention>.png.
An image that cannot be used is named on stderr and skipped; the exit status is then 2.
"""
import argparse
import sys
from pathlib import Path

from model.caption.explain import explain_caption
from model.caption.intervene import force_caption, grid_force, parse_force
from model.caption.pipeline import ATTENTIONS, LOCATIONS, CaptionOptions, Captioners, caption
from model.core import assets
from model.core.checkpoint import CheckpointError
from model.core.cli import (BAD_INPUT, UsageError, common_args, fail, out_dir, print_json, read_images,
                            setup_output)
from model.core.device import pick_device
from model.core.decoding import CAPTION_ALPHA, MAX_BEAM
from viz.caption_views import fit
from viz.overlay import figure_png, word_grid_figure

EXPORT = 480  # longest side (px) of the image under the --out grid: the panels are small anyway
PANEL = 2.4  # inches per panel across; a tall image's panels are narrowed so none is over 2 × PANEL high


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Caption images with Show, Attend and Tell.")
    p.add_argument("images", nargs="+", type=Path)
    p.add_argument("--attention", choices=ATTENTIONS, default="soft")
    p.add_argument("--beam", type=int, default=3, help=f"beam size, 1 (greedy) to {MAX_BEAM}")
    p.add_argument("--length-alpha", type=float, default=CAPTION_ALPHA,
                   help="rank finished beams by log p / words**alpha: 1 per word (default), 0 by the total")
    p.add_argument("--location", choices=LOCATIONS, default="argmax",
                   help="hard model: one location per word (argmax), all of them weighted by alpha (expected: "
                        "how Xu et al.'s code scores hard models), or sampled per word (sample)")
    p.add_argument("--seed", type=int, default=0, help="--location sample: the seed")
    p.add_argument("--temperature", type=float, default=1.0, help="--location sample: the temperature")
    p.add_argument("--samples", type=int, default=5, help="--location sample: draws to keep the best of")
    p.add_argument("--checkpoint", type=Path, help="captioner checkpoint (default: the shipped one)")
    p.add_argument("--explain", action="store_true", help="add per-word gradient importance, deletion test, "
                                                          "rank correlation (JSON: saliency, deletion, rank_corr)")
    p.add_argument("--force", action="append", default=[], metavar="STEP:ROW,COL",
                   help="decode again with the attention of token STEP on grid cell ROW,COL (repeatable)")
    common_args(p)
    return p, p.parse_args(argv)


def grid_png(image, c, attention: str) -> bytes:
    """The per-word grid at a bounded size, whatever the image's size and shape."""
    h, w = image.shape[:2]
    panel = PANEL * min(1.0, 2 * w / h)
    fig = word_grid_figure(fit(image, EXPORT), c.words, c.alphas, panel_inches=panel,
                           title=f"{attention}: {c.caption}")
    return figure_png(fig)


def main(argv=None) -> int:
    setup_output()
    p, args = parse_args(argv)
    try:
        options = CaptionOptions(args.beam, args.length_alpha, args.location, args.samples, args.seed,
                                 args.temperature)
    except ValueError as e:
        p.error(str(e))
    try:
        forces = [parse_force(f) for f in args.force]
        out = out_dir(args.out)
        captioners = Captioners.load({args.attention: args.checkpoint or assets.captioner(args.attention)},
                                     pick_device(args.device))
    except (CheckpointError, UsageError, ValueError) as e:
        return fail(str(e))
    status = 0
    for path, stem, image in read_images(args.images):
        if image is None:
            status = BAD_INPUT
            continue
        run = caption(captioners, image, (args.attention,), options)
        c, extra = run.captions[args.attention], {}
        if forces or args.explain:
            bundle, feats = captioners.bundles[args.attention], captioners.encode([run.seen])
            grid = bundle.model.config.grid
            try:
                if forces:
                    extra["original"] = c.caption
                    c = force_caption(bundle, feats, c, [grid_force(*f, grid) for f in forces], options)
                if args.explain:
                    extra.update(explain_caption(bundle, feats, c, options).to_json(grid))
            except ValueError as e:
                status = fail(f"{path}: {e}")
                continue
        if args.json:
            print_json({"image": str(path), "attention": args.attention, **c.to_json(), **extra})
        else:
            print(f"{path}: {c.caption}", flush=True)
        if out:
            (out / f"{stem}_{args.attention}.png").write_bytes(grid_png(image, c, args.attention))
    return status


if __name__ == "__main__":
    sys.exit(main())
