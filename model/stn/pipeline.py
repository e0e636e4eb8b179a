"""Run a shipped spatial transformer on a picture: the one function the page and the CLI call.

``transform`` prepares the picture as the checkpoint's preprocessing says, runs the ST-CNN and its
CNN baseline, and says whether to trust the answer; ``resample`` applies a hand-made θ (the page's
manual mode).
"""
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from model.core import assets
from model.core.loader import Bundle, load
from model.stn.net import Preprocessing, sample

MODELS = ("rts", "cluttered")  # the shipped variants
WORK = 16  # prepare works at most at WORK × the model's input side (672 px for RTS): never at a photo's long side
CONFIDENT = 0.8  # below this top probability, or when the picture does not look like a digit: "low confidence"


def load_variant(variant: str, device=None) -> tuple[Bundle, Bundle | None]:
    """A shipped variant's ST-CNN and, when shipped, its CNN baseline."""
    baseline = assets.stn(variant, baseline=True)
    return (load(assets.stn(variant), device, kind="stn"),
            load(baseline, device, kind="stn") if baseline.is_file() else None)


# ---------------------------------------------------------------------------- preprocessing

@dataclass
class Prepared:
    grey: np.ndarray        # (H, W) uint8, the photo in grey
    inverted: bool          # the background was light, so ink and paper were swapped
    levels: np.ndarray      # (H, W) float in [0, 1]: background 0, ink towards 1
    input: np.ndarray       # (S, S) float32 in [0, 1], padded to square and resized: what the model sees
    digit_like: bool        # a plain background with a modest amount of ink


def prepare(rgb: np.ndarray, pre: Preprocessing) -> Prepared:
    """A photo of a digit made to look like the training data: white ink on black, S×S.

    The background level is the median of the border; it goes to ``pre.background`` (also the value
    the transformer pads with) and the brightest ink to 1. The picture is padded to a square, with
    more margin if the ink would be larger than the training digits ever are, then resized. A
    picture already of the model's input size (a distorted MNIST digit) is taken as it is; a large
    one is first shrunk to WORK × that size, so the work and the padded square are bounded by the
    model, not by the upload (a 20:1 panorama would otherwise be padded to a square of its long side).
    """
    size = pre.input_size
    grey = cv2.cvtColor(np.asarray(rgb, np.uint8), cv2.COLOR_RGB2GRAY)
    k = WORK * size / max(grey.shape)
    if k < 1:
        h, w = grey.shape
        grey = cv2.resize(grey, (max(1, round(w * k)), max(1, round(h * k))), interpolation=cv2.INTER_AREA)
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]]).astype(np.float32)
    inverted = bool(np.median(border) > 127)
    g = 255 - grey.astype(np.float32) if inverted else grey.astype(np.float32)
    bg = float(np.median(255 - border if inverted else border))
    ink = max(float(np.percentile(g, pre.ink_percentile)), bg + 1)
    levels = np.clip((g - bg) / (ink - bg), 0, 1)
    h, w = levels.shape
    rows, cols = np.nonzero(levels > 0.5)
    extent = max(np.ptp(rows), np.ptp(cols)) + 1 if len(rows) and (h, w) != (size, size) else 0
    side = max(h, w, int(np.ceil(extent / pre.max_ink)))  # a close-up gets a margin, as MNIST digits have
    square = np.zeros((side, side), np.float32)  # background 0, as the transformer pads
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

    def to_json(self) -> dict:
        return {"theta": self.theta.astype(float).round(4), "prediction": self.prediction,
                "probabilities": self.probabilities.astype(float).round(4)}


@torch.no_grad()
def read(model, image: np.ndarray) -> Reading:
    """One (S, S) float image in [0, 1] through a model (ST-CNN or baseline)."""
    device = next(model.parameters()).device
    x = torch.as_tensor(image, dtype=torch.float32, device=device)[None, None]
    theta, out = model.transform(x)
    probs = model.classifier(out).softmax(1)
    return Reading(theta[0].cpu().numpy(), out[0, 0].clamp(0, 1).cpu().numpy(), probs[0].cpu().numpy())


@dataclass
class Transformed:
    prepared: Prepared
    reading: Reading            # the ST-CNN
    baseline: Reading | None    # the CNN without a transformer, when shipped
    doubt: str                  # why the answer is low-confidence, or "" when it is not

    @property
    def low_confidence(self) -> bool:
        return bool(self.doubt)

    def to_json(self) -> dict:
        out = {**self.reading.to_json(), "low_confidence": self.low_confidence}
        if self.baseline:
            b = self.baseline.to_json()
            out.update(cnn_prediction=b["prediction"], cnn_probabilities=b["probabilities"])
        return out


def doubt(prepared: Prepared, *readings: Reading) -> str:
    """The softmax alone is overconfident on things that are not digits; also ask whether the
    picture looks like one and whether the models agree. Empty when there is no doubt."""
    if not prepared.digit_like:
        return "the picture does not look like a single digit on a plain background"
    if min(r.probabilities.max() for r in readings) < CONFIDENT or len({r.prediction for r in readings}) > 1:
        return "the models are unsure or disagree"
    return ""


def transform(model: Bundle, baseline: Bundle | None, image: np.ndarray) -> Transformed:
    """An (H, W, 3) uint8 picture through the ST-CNN ``model`` and its ``baseline``."""
    prepared = prepare(image, model.preprocessing)
    reading = read(model.model, prepared.input)
    plain = read(baseline.model, prepared.input) if baseline else None
    return Transformed(prepared, reading, plain, doubt(prepared, *[r for r in (reading, plain) if r]))


@torch.no_grad()
def resample(image: np.ndarray, theta: torch.Tensor, device="cpu") -> np.ndarray:
    """Apply θ (2, 3) to an (H, W, 3) uint8 image at its own size, on its own pixels."""
    h, w = image.shape[:2]
    x = torch.from_numpy(np.ascontiguousarray(image)).to(device).permute(2, 0, 1)[None].float() / 255
    out = sample(x, theta[None].to(device), (h, w))[0].permute(1, 2, 0).clamp(0, 1).mul(255).round()
    return out.to(torch.uint8).cpu().numpy()
