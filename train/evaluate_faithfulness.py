"""Faithfulness figures of the shipped models: does attention explain their words?

    python -m train.evaluate_faithfulness caption --data ../shared/data/flickr8k [--every 2] [--json]
    python -m train.evaluate_faithfulness translate --data ../shared/data/eng-fra [--every 7] [--json]

Prints a Markdown table (or, with --json, the figures as JSON) and writes the JSON to --save
(default runs/faithfulness_<family>.json). train.caption.faithfulness and
train.translate.faithfulness say what is measured.
"""
import argparse
import json
import sys
from pathlib import Path

import torch

from model.core import assets
from model.core.device import pick_device
from train.caption import faithfulness as caption
from train.translate import faithfulness as translate


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("family", choices=("caption", "translate"))
    p.add_argument("--data", help="data folder (default ../shared/data/flickr8k or ../shared/data/eng-fra)")
    p.add_argument("--every", type=int, default=1, help="every N-th image / sentence of the split")
    p.add_argument("--limit", type=int, default=0, help="at most N of them")
    p.add_argument("--split", default="test", choices=("train", "val", "test"), help="caption: the Flickr8k split")
    p.add_argument("--features", help="caption: feature cache (default: the training one if finished, else encode)")
    p.add_argument("--direction", default="fr-en", choices=("fr-en", "en-fr"), help="translate")
    p.add_argument("--models", nargs="*", default=list(assets.TRANSLATORS), choices=assets.TRANSLATORS,
                   help="translate: shipped translators")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device")
    p.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    p.add_argument("--save", type=Path, help="where to write the JSON (default runs/faithfulness_<family>.json)")
    args = p.parse_args(argv)
    if args.every < 1 or args.limit < 0:
        p.error("--every must be 1 or more and --limit 0 or more")
    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    if args.family == "caption":
        args.data = args.data or "../shared/data/flickr8k"
        paths = {a: str(assets.captioner(a)) for a in ("soft", "hard") if assets.captioner(a).is_file()}
        result, family = caption.run(args, paths, device), caption
    else:
        args.data = args.data or "../shared/data/eng-fra"
        result, family = translate.run(args, args.models, device), translate
    save = args.save or Path("runs") / f"faithfulness_{args.family}.json"
    save.parent.mkdir(parents=True, exist_ok=True)
    save.write_text(json.dumps(result, indent=1))
    print(json.dumps(result) if args.json else family.table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
