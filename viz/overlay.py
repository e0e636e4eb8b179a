"""Attention maps drawn over images.

A map is an (h, w) grid of weights over the region the model saw. Because the
models see the whole image squashed to a square, each map is stretched back
over the whole image: the overlay has the image's own size and aspect ratio.

Colour goes only where the model looked: each pixel's colour opacity is the
map's weight there relative to the map's largest, so unattended areas keep the
photo's own colours. A map that puts all its weight on one cell (hard
attention's chosen location) is drawn as that cell, crisp and outlined, not as
a blurred blob. Draw at display size: the cost is per output pixel.
"""
import io
from functools import cache
from typing import TYPE_CHECKING

import cv2
import matplotlib
import numpy as np

matplotlib.use("Agg")  # no display on servers

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CMAP = "inferno"  # dark (low) to bright yellow (high); unattended areas are not tinted at all
SUB = 8  # smoothing canvas: pixels per grid cell
UNDER = 0.35  # opacity of the faint α drawn beneath a hard model's chosen cell, relative to the overlay's


def upsample_map(alpha: np.ndarray, height: int, width: int, blur: bool = True) -> np.ndarray:
    """(h, w) weights to an (height, width) float32 map in [0, 1], scaled by the map's maximum
    (0 = no weight, 1 = the most attended place).

    Smoothed on a small canvas (SUB pixels per grid cell: bilinear, then a Gaussian blur of a third
    of a cell, which hides the blocky cell edges without moving the peak), then stretched to the
    output size: the blur costs the same for a thumbnail and a 12-megapixel photo.
    """
    alpha = np.asarray(alpha, dtype=np.float32)
    if alpha.ndim != 2:
        raise ValueError(f"an attention map must be 2-D (h, w), got shape {alpha.shape}")
    small = cv2.resize(alpha, (alpha.shape[1] * SUB, alpha.shape[0] * SUB), interpolation=cv2.INTER_LINEAR)
    if blur:
        small = cv2.GaussianBlur(small, (0, 0), sigmaX=SUB / 3, sigmaY=SUB / 3)
    hi = float(small.max())  # scaled here, on the small canvas: bilinear stretching adds no new maximum
    if hi <= 1e-12:
        return np.zeros((height, width), np.float32)
    return np.clip(cv2.resize(small * np.float32(1 / hi), (width, height), interpolation=cv2.INTER_LINEAR), 0, 1)


@cache
def colour_table(cmap: str = CMAP) -> np.ndarray:
    """(256, 3) uint8 colours of a matplotlib colour map, built once per map and process."""
    table = (matplotlib.colormaps[cmap](np.linspace(0, 1, 256))[:, :3] * 255 + 0.5).astype(np.uint8)
    table.flags.writeable = False
    return table


def colorize(heat: np.ndarray, cmap: str = CMAP) -> np.ndarray:
    """[0, 1] map to uint8 RGB through the colour map's 256-entry table (cv2.LUT: vectorised)."""
    level = cv2.convertScaleAbs(np.asarray(heat, np.float32), alpha=255)  # rounds and saturates to 0..255
    return cv2.LUT(cv2.cvtColor(level, cv2.COLOR_GRAY2RGB), colour_table(cmap)[:, None, :])


def colour_bar(width: int = 256, height: int = 12, cmap: str = CMAP) -> np.ndarray:
    """The colour scale, low on the left: (height, width, 3) uint8, to show next to an overlay."""
    return np.repeat(colour_table(cmap)[np.linspace(0, 255, width).astype(np.uint8)][None], height, 0)


def _blend(image: np.ndarray, heat: np.ndarray, opacity: float, cmap: str) -> np.ndarray:
    """image·(1 − a) + colour·a with a = opacity·heat per pixel (cv2.blendLinear: uint8 in and out)."""
    a = heat * np.float32(opacity)
    return cv2.blendLinear(np.ascontiguousarray(image), colorize(heat, cmap), 1 - a, a)


def one_cell(alpha: np.ndarray) -> tuple[int, int] | None:
    """The (row, column) that holds all of a map's weight, or None for a spread-out map."""
    alpha = np.asarray(alpha)
    flat = int(alpha.argmax())
    return divmod(flat, alpha.shape[1]) if alpha.flat[flat] > 0.999 * alpha.sum() else None


def cell_box(cell: tuple[int, int], grid: tuple[int, int], height: int, width: int) -> tuple[int, int, int, int]:
    """Pixel box (x0, y0, x1, y1), inclusive, of grid cell ``cell`` stretched over a height × width image."""
    (r, c), (gh, gw) = cell, grid
    # Clamped so an image smaller than the grid (a 1×1 upload) still gets a one-pixel box, never an empty one.
    x1 = min(max(round((c + 1) * width / gw) - 1, 0), width - 1)
    y1 = min(max(round((r + 1) * height / gh) - 1, 0), height - 1)
    return min(round(c * width / gw), x1), min(round(r * height / gh), y1), x1, y1


def outline(image: np.ndarray, box: tuple[int, int, int, int], thickness: int = 0) -> np.ndarray:
    """Draw a white square with a dark rim around ``box`` (visible on light and dark photos), in place."""
    t = thickness or max(1, round(min(image.shape[:2]) / 150))
    x0, y0, x1, y1 = box
    cv2.rectangle(image, (x0, y0), (x1, y1), (20, 20, 20), 3 * t)
    cv2.rectangle(image, (x0, y0), (x1, y1), (255, 255, 255), t)
    return image


def attention_overlay(image: np.ndarray, alpha: np.ndarray, opacity: float = 0.6, cmap: str = CMAP,
                      blur: bool = True, under: np.ndarray | None = None, mark: bool = False) -> np.ndarray:
    """Blend a colour-mapped attention map onto an (H, W, 3) uint8 image; same size out.

    A one-cell map (hard attention's chosen location) fills that cell crisply (nearest neighbour)
    and outlines it; ``under``, the α the location was chosen from, is then drawn faintly beneath.
    ``mark`` outlines the most attended cell of a spread-out map too (a hard model decoded with
    the expected context: the cell it would pick).
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be (H, W, 3) uint8, got {image.shape} {image.dtype}")
    alpha = np.asarray(alpha, dtype=np.float32)
    h, w = image.shape[:2]
    cell = one_cell(alpha) if alpha.ndim == 2 and alpha.size > 1 else None
    if cell is None:
        out = _blend(image, upsample_map(alpha, h, w, blur), opacity, cmap)
        if mark and alpha.size > 1:
            outline(out, cell_box(divmod(int(alpha.argmax()), alpha.shape[1]), alpha.shape, h, w))
        return out
    out = image if under is None else _blend(image, upsample_map(under, h, w, blur), opacity * UNDER, cmap)
    x0, y0, x1, y1 = cell_box(cell, alpha.shape, h, w)
    out = out.copy()
    patch = out[y0:y1 + 1, x0:x1 + 1]
    patch[:] = _blend(patch, np.ones(patch.shape[:2], np.float32), opacity, cmap)
    return outline(out, (x0, y0, x1, y1))


def word_grid_figure(image: np.ndarray, words: list[str], alphas: np.ndarray, ncols: int = 5,
                     panel_inches: float = 2.4, title: str | None = None) -> "Figure":
    """The image, then one overlay panel per word with the word as its label."""
    if len(words) != len(alphas):
        raise ValueError(f"{len(words)} words but {len(alphas)} attention maps")
    n = len(words) + 1
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    h, w = image.shape[:2]
    from matplotlib.figure import Figure  # ~1 s to import: only when a figure is drawn
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


def figure_png(fig: "Figure", dpi: int = 100) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
