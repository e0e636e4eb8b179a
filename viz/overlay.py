"""Attention maps drawn over images.

A map is an (h, w) grid of weights over the region the model saw. Because the
models see the whole image squashed to a square, each map is stretched back
over the whole image: the overlay has the image's own size and aspect ratio.
"""
import io

import cv2
import matplotlib
import numpy as np

matplotlib.use("Agg")  # no display on servers
from matplotlib.figure import Figure  # noqa: E402


def upsample_map(alpha: np.ndarray, height: int, width: int, blur: bool = True) -> np.ndarray:
    """(h, w) weights to an (height, width) map in [0, 1]: bilinear, then a Gaussian blur.

    The blur's sigma is a third of one grid cell, which hides the blocky cell
    edges without moving the peak.
    """
    alpha = np.asarray(alpha, dtype=np.float32)
    if alpha.ndim != 2:
        raise ValueError(f"an attention map must be 2-D (h, w), got shape {alpha.shape}")
    up = cv2.resize(alpha, (width, height), interpolation=cv2.INTER_LINEAR)
    if blur:
        sy, sx = height / alpha.shape[0] / 3, width / alpha.shape[1] / 3
        up = cv2.GaussianBlur(up, (0, 0), sigmaX=max(sx, 0.1), sigmaY=max(sy, 0.1))
    lo, hi = float(up.min()), float(up.max())
    return (up - lo) / (hi - lo) if hi - lo > 1e-12 else np.zeros_like(up)


def colorize(heat: np.ndarray, cmap: str = "jet") -> np.ndarray:
    """[0, 1] map to uint8 RGB with a matplotlib colour map (via a 256-entry table: 2x faster)."""
    table = (matplotlib.colormaps[cmap](np.linspace(0, 1, 256))[:, :3] * 255).astype(np.uint8)
    return table[(np.clip(heat, 0, 1) * 255 + 0.5).astype(np.uint8)]


def attention_overlay(image: np.ndarray, alpha: np.ndarray, opacity: float = 0.55, cmap: str = "jet",
                      blur: bool = True) -> np.ndarray:
    """Blend a colour-mapped attention map onto an (H, W, 3) uint8 image; same size out.

    Where attention is low the image shows through: the colour's opacity
    scales with the weight, so the eye goes to where the model looked.
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be (H, W, 3) uint8, got {image.shape} {image.dtype}")
    h, w = image.shape[:2]
    heat = upsample_map(alpha, h, w, blur)
    a = (opacity * (0.25 + 0.75 * heat))[..., None]
    out = image.astype(np.float32) * (1 - a) + colorize(heat, cmap).astype(np.float32) * a
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def word_grid_figure(image: np.ndarray, words: list[str], alphas: np.ndarray, ncols: int = 5,
                     panel_inches: float = 2.4, title: str | None = None) -> Figure:
    """The image, then one overlay panel per word with the word as its label."""
    if len(words) != len(alphas):
        raise ValueError(f"{len(words)} words but {len(alphas)} attention maps")
    n = len(words) + 1
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    h, w = image.shape[:2]
    fig = Figure(figsize=(ncols * panel_inches, nrows * panel_inches * h / w + 0.3 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    panels = [(image, "(image)")] + [(attention_overlay(image, a), wd) for wd, a in zip(words, alphas)]
    for ax, (img, label) in zip(axes, panels):
        ax.imshow(img)
        ax.set_title(label, fontsize=11)
    for ax in axes:
        ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def figure_png(fig: Figure, dpi: int = 100) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
