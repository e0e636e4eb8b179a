"""Write the Caption page's opening result: python -m train.caption.opening [--image chelsea.jpg]

The page opens on a sample photo already captioned by both models, drawn from this small JSON file
(assets/samples/opening_caption.json) so that the first screen needs neither torch nor a model load.
It holds what the page shows: both captions with their words, ids, α maps, β, entropies, the
training-caption count of each word, the models' test metrics, and the sha256 of the checkpoint
files and of the photo it was made from. The page uses it only while those still match and the
settings are the page's defaults (beam 3 ranked per word; hard: expected context); otherwise it
runs the models. Run this again after shipping new captioner files (a test says when it is stale).
"""
import argparse
import json
import sys

import numpy as np

from model.caption.pipeline import ATTENTIONS, CaptionOptions, Captioners, caption
from model.core import assets
from model.core.checkpoint import file_sha256
from model.core.images import load_image
from ui.caption_data import CONTRAST, DEFAULT_OPTIONS as OPTIONS, OPENING

DIGITS = 4  # α and β rounded to 4 decimals: the maps look the same and the file stays ~30 kB


def caption_json(c, counts: list[int] | None) -> dict:
    r = lambda a: np.round(np.asarray(a, np.float64), DIGITS).tolist()
    return {"words": c.words, "tokens": c.tokens, "alphas": r(c.alphas), "betas": r(c.betas),
            "log_prob": round(c.log_prob, 4), "decoder_ms": round(c.decoder_ms, 1), "entropy": r(c.entropy),
            "entropy_fraction": r(c.entropy_fraction), "near_uniform": c.near_uniform().tolist(),
            "counts": [counts[t] for t in c.tokens] if counts else None}


def opening(image_name: str, device: str = "cpu") -> dict:
    paths = {a: assets.captioner(a) for a in ATTENTIONS}
    captioners = Captioners.load(paths, device)
    photo = assets.SAMPLES / image_name
    options = CaptionOptions(beam=OPTIONS["beam"], location=OPTIONS["hard_how"])
    image = load_image(photo.read_bytes())
    caption(captioners, image, ATTENTIONS, options)  # warm-up: the timings shown are a warm run's
    run = caption(captioners, image, ATTENTIONS, options)
    bundles = captioners.bundles
    counts = {a: b.data.get("word_counts") for a, b in bundles.items()}
    soft_vocab, soft_counts = bundles["soft"].vocab["words"], counts["soft"] or []
    return {
        "image": image_name, "image_sha256": file_sha256(photo), "options": OPTIONS,
        "files": {a: file_sha256(p) for a, p in paths.items()},
        "encoder_ms": round(run.encoder_ms, 1), "device": run.device,
        "captions": {a: caption_json(c, counts[a]) for a, c in run.captions.items()},
        "metrics": {a: b.metrics for a, b in bundles.items()},
        "training_captions": soft_counts[soft_vocab.start] if soft_counts else None,
        "contrast": {w: soft_counts[soft_vocab.stoi[w]] for w in CONTRAST if soft_counts and w in soft_vocab.stoi},
    }


def main(argv=None):
    p = argparse.ArgumentParser(description="Write the Caption page's opening result (a small JSON file).")
    p.add_argument("--image", default="chelsea.jpg", help="a photo in assets/samples")
    p.add_argument("--out", default=str(OPENING))
    args = p.parse_args(argv)
    data = opening(args.image)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(data, f, separators=(",", ":"))
    said = "; ".join(f"{a}: {' '.join(c['words'])}" for a, c in data["captions"].items())
    print(f"{args.out}: {args.image} ({said})", file=sys.stderr)


if __name__ == "__main__":
    main()
