"""Run a shipped spatial transformer on a picture: preprocessing, θ, output, class probabilities.

    python -m model.stn IMAGE [--model rts|cluttered] [--json] [--out DIR]

prints θ, the prediction and the probabilities (with --json as one JSON object) and writes
nothing unless --out is given: then DIR/<name>_grid.png (the model's input with the sampling
grid drawn) and DIR/<name>_stn.png (what the transformer hands the classifier, enlarged).
"""
import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

from model.checkpoint import CheckpointError, config_from, load_checkpoint, load_weights, pick_device
from model.stn_net import STCNN, STNConfig
from viz.grid import draw_grid, enlarge
from viz.images import ImageLoadError, load_image

ASSETS = Path(__file__).resolve().parent.parent / "assets"
MODELS = ("rts", "cluttered")
MAX_INK = 0.6    # a photo's ink may fill at most this share of the input's side (upright RTS digits: 0.33-0.57)
CONFIDENT = 0.8  # below this top probability, or when the picture does not look like a digit: "low confidence"


def files(name: str) -> tuple[str, str]:
    """The ST-CNN and its CNN baseline for one variant."""
    return f"stn_{name}.pt", f"stn_{name}_cnn.pt"


def load_model(path, device="cpu") -> STCNN:
    ckpt = load_checkpoint(path, kind="stn")
    return load_weights(STCNN(config_from(STNConfig, ckpt)), ckpt).to(device).eval()


# ---------------------------------------------------------------------------- preprocessing

@dataclass
class Prepared:
    grey: np.ndarray        # (H, W) uint8, the photo in grey
    inverted: bool          # the background was light, so ink and paper were swapped
    levels: np.ndarray      # (H, W) float in [0, 1]: background 0, ink towards 1
    input: np.ndarray       # (S, S) float32 in [0, 1], padded to square and resized: what the model sees
    digit_like: bool        # a plain background with a modest amount of ink


def prepare(rgb: np.ndarray, size: int) -> Prepared:
    """A photo of a digit made to look like the training data: white ink on black, S×S.

    The background level is the median of the border; it goes to 0 (also the value the
    transformer pads with) and the brightest ink to 1. The picture is padded to a square, with
    more margin if the ink would be larger than the training digits ever are, then resized. A
    picture already of the model's input size (a distorted MNIST digit) is taken as it is.
    """
    grey = cv2.cvtColor(np.asarray(rgb, np.uint8), cv2.COLOR_RGB2GRAY)
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]]).astype(np.float32)
    inverted = bool(np.median(border) > 127)
    g = 255 - grey.astype(np.float32) if inverted else grey.astype(np.float32)
    bg = float(np.median(255 - border if inverted else border))
    ink = max(float(np.percentile(g, 99.5)), bg + 1)
    levels = np.clip((g - bg) / (ink - bg), 0, 1)
    h, w = levels.shape
    rows, cols = np.nonzero(levels > 0.5)
    extent = max(np.ptp(rows), np.ptp(cols)) + 1 if len(rows) and (h, w) != (size, size) else 0
    side = max(h, w, int(np.ceil(extent / MAX_INK)))  # a close-up gets a margin, as MNIST digits have
    square = np.zeros((side, side), np.float32)
    square[(side - h) // 2:(side - h) // 2 + h, (side - w) // 2:(side - w) // 2 + w] = levels
    small = np.clip(cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA), 0, 1)
    edge = np.concatenate([levels[0], levels[-1], levels[:, 0], levels[:, -1]])
    ink_share = float((levels > 0.5).mean())
    digit_like = bool(edge.mean() < 0.1 and 0.005 < ink_share < 0.35)
    return Prepared(grey, inverted, levels, small.astype(np.float32), digit_like)


# ---------------------------------------------------------------------------- running the models

@dataclass
class Reading:
    theta: np.ndarray          # (2, 3)
    output: np.ndarray         # (s, s) float in [0, 1], the transformer's output
    probabilities: np.ndarray  # (10,)

    @property
    def prediction(self) -> int:
        return int(self.probabilities.argmax())


@torch.no_grad()
def read(model: STCNN, image: np.ndarray) -> Reading:
    """One (S, S) float image in [0, 1] through a model (ST-CNN or baseline)."""
    device = next(model.parameters()).device
    x = torch.as_tensor(image, dtype=torch.float32, device=device)[None, None]
    theta, out = model.transform(x)
    probs = model.classifier(out).softmax(1)
    return Reading(theta[0].cpu().numpy(), out[0, 0].clamp(0, 1).cpu().numpy(), probs[0].cpu().numpy())


def low_confidence(prepared: Prepared, *readings: Reading) -> bool:
    """The softmax alone is overconfident on things that are not digits; also ask whether the
    picture looks like one and whether the models agree."""
    return (not prepared.digit_like or min(r.probabilities.max() for r in readings) < CONFIDENT
            or len({r.prediction for r in readings}) > 1)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("image", help="a JPEG, PNG, WebP, BMP or GIF")
    p.add_argument("--model", choices=MODELS, default="rts")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--out", help="write the input with its grid and the transformed output here")
    args = p.parse_args(argv)
    try:
        rgb = load_image(Path(args.image).read_bytes())
        device = pick_device()
        st_path, cnn_path = (ASSETS / f for f in files(args.model))
        model = load_model(st_path, device)
        baseline = load_model(cnn_path, device) if cnn_path.is_file() else None
    except (OSError, ImageLoadError, CheckpointError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    prepared = prepare(rgb, model.cfg.input_size)
    reading = read(model, prepared.input)
    plain = read(baseline, prepared.input) if baseline else None
    rounded = lambda a: a.astype(float).round(4).tolist()
    result = {"model": args.model, "theta": rounded(reading.theta), "prediction": reading.prediction,
              "probabilities": rounded(reading.probabilities),
              "low_confidence": low_confidence(prepared, *[r for r in (reading, plain) if r])}
    if plain:
        result.update(cnn_prediction=plain.prediction, cnn_probabilities=rounded(plain.probabilities))
    if args.out:
        out, stem = Path(args.out), Path(args.image).stem
        out.mkdir(parents=True, exist_ok=True)
        s = model.cfg.output_size
        Image.fromarray(draw_grid(prepared.input, reading.theta, (s, s))).save(out / f"{stem}_grid.png")
        Image.fromarray(enlarge(reading.output, 336)).save(out / f"{stem}_stn.png")
    if args.json:
        print(json.dumps(result))
    else:
        print(f"prediction {result['prediction']} ({reading.probabilities.max():.1%})"
              + (" (low confidence)" if result["low_confidence"] else ""))
        print("theta", np.array2string(reading.theta, precision=3))
        if plain:
            print(f"without the transformer (CNN baseline): {plain.prediction} ({plain.probabilities.max():.1%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
