"""Translate a sentence from the command line and show its attention alignment.

    python -m model.translate "je suis très fatigué ." --model additive --beam 5 --json [--out DIR]

prints the translation (with --json one object: translation, source_tokens, target_tokens,
alignment, unknown_words, truncated; see model.translate.pipeline). --out DIR also writes the
alignment matrix as DIR/alignment_<direction>_<model>.png. Text with no word in it exits 2.
"""
import argparse
import sys
from dataclasses import asdict
from pathlib import Path

from model.core import assets
from model.core.attention import SCORES
from model.core.checkpoint import CheckpointError
from model.core.cli import UsageError, common_args, fail, out_dir, print_json, setup_output
from model.core.decoding import MAX_BEAM, TRANSLATE_ALPHA
from model.core.device import pick_device
from model.core.loader import load
from model.translate.pipeline import DIRECTIONS, TranslateOptions, translate
from viz.alignment import alignment_png


def main(argv=None) -> int:
    setup_output()
    p = argparse.ArgumentParser(description="Translate one sentence and show its attention alignment.")
    p.add_argument("text")
    p.add_argument("--model", "--score", dest="model", default="additive", choices=SCORES,
                   help="the shipped translator, named by its attention score function")
    p.add_argument("--direction", default="fr-en", choices=DIRECTIONS)
    p.add_argument("--beam", type=int, default=1, help=f"1 = greedy; up to {MAX_BEAM}")
    p.add_argument("--length-alpha", type=float, default=TRANSLATE_ALPHA,
                   help="rank finished beams by log p / length**alpha (0: by the total)")
    p.add_argument("--checkpoint", type=Path, help="a checkpoint file instead of the shipped one")
    common_args(p)
    args = p.parse_args(argv)
    try:
        options = TranslateOptions(args.beam, args.length_alpha)
    except ValueError as e:
        p.error(str(e))
    try:
        out = out_dir(args.out)
        bundle = load(args.checkpoint or assets.translator(args.model, args.direction), pick_device(args.device),
                      kind="translator")
        result = translate(bundle, args.text, options)
    except (CheckpointError, UsageError, ValueError) as e:
        return fail(str(e))
    if out:
        title = f"{bundle.name}: {result.translation}"
        png = alignment_png(result.alignment, result.source_tokens, result.target_tokens, title)
        (out / f"alignment_{args.direction}_{args.model}.png").write_bytes(png)
    if args.json:
        print_json(asdict(result))
        return 0
    print(result.translation)
    if result.unknown_words:
        print(f"(unknown words, read as <unk>: {', '.join(result.unknown_words)})")
    if result.truncated:
        print(f"(input cut to its first {len(result.source_tokens) - 1} tokens)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
