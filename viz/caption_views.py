"""Views of one caption's attention: an animated GIF, soft vs hard word by word.

Pure functions: arrays in, images, figures or bytes out (the per-word statistics are measured by
model.caption.pipeline.Caption). ``alphas`` is
(T, h, w): one map per word, each summing to 1 over the grid the model saw.
Overlays are drawn with ``viz.overlay.attention_overlay``, so every map is
stretched over the whole image the user gave, whatever its aspect ratio.
"""
import io
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import matplotlib
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from viz.overlay import attention_overlay, colour_bar

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SCALE_H = 40  # px: the colour-scale band with_scale adds beneath an overlay
FONT = str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf")  # has α and Σ; PIL's default not


def fit(image: np.ndarray, max_side: int, max_height: int | None = None) -> np.ndarray:
    """Shrink so the longer side is at most ``max_side`` and the height at most ``max_height``
    (aspect ratio kept); smaller images are left alone.

    Overlays cost per pixel drawn, so they are drawn at the size they are shown; the height
    bound keeps a portrait photo inside the window.
    """
    h, w = image.shape[:2]
    scale = min(max_side / max(h, w), (max_height or h) / h)
    if scale >= 1:
        return image
    return cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


def with_scale(overlay: np.ndarray, low: str, high: str, note: str = "") -> np.ndarray:
    """The overlay with its colour scale in a band beneath: the colour bar from ``low`` to ``high``
    (e.g. "0" and "α 0.21"), ``note`` (what the colours mean) above it. Same width as the overlay."""
    w = overlay.shape[1]
    font = ImageFont.truetype(FONT, 13)
    band = Image.new("RGB", (w, SCALE_H), (255, 255, 255))
    draw = ImageDraw.Draw(band)
    left, right = draw.textlength(low, font=font) + 8, draw.textlength(high, font=font) + 8
    bar_w = max(int(w - left - right), 8)
    band.paste(Image.fromarray(colour_bar(bar_w, 10)), (int(left), 25))
    draw.text((2, 22), low, font=font, fill=(60, 60, 60))
    draw.text((int(left) + bar_w + 5, 22), high, font=font, fill=(60, 60, 60))
    draw.text((2, 3), note, font=font, fill=(90, 90, 90))
    return np.concatenate([overlay, np.asarray(band)], 0)


def _wrap(draw: ImageDraw.ImageDraw, words: list[str], font, width: int) -> list[list[int]]:
    """Greedy line breaking; returns the word indices on each line."""
    lines, line = [], []
    for i, word in enumerate(words):
        trial = " ".join(words[j] for j in line + [i])
        if line and draw.textlength(trial, font=font) > width:
            lines.append(line)
            line = []
        line.append(i)
    return lines + [line] if line else lines


def caption_frame(image: np.ndarray, words: list[str], alpha: np.ndarray, k: int) -> Image.Image:
    """The overlay of word k with words 0..k written in a band over the bottom of the image.

    The text sits on the image (not below it) so the frame keeps the image's size.
    The newest word is yellow, so the eye follows the caption as it is written.
    """
    frame = Image.fromarray(attention_overlay(image, alpha)).convert("RGBA")
    w, h = frame.size
    font = ImageFont.load_default(size=max(10, min(w, h) // 16))
    band = Image.new("RGBA", frame.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(band)
    pad, line_h = max(2, w // 60), font.size + max(2, font.size // 4)
    lines = _wrap(draw, words[:k + 1], font, w - 2 * pad)
    top = h - pad - line_h * len(lines)
    draw.rectangle([0, top - pad, w, h], fill=(0, 0, 0, 160))
    for n, line in enumerate(lines):
        x, y = pad, top + n * line_h
        for i in line:
            draw.text((x, y), words[i], font=font, fill=(255, 220, 0) if i == k else (255, 255, 255))
            x += draw.textlength(words[i] + " ", font=font)
    return Image.alpha_composite(frame, band).convert("RGB")


def caption_gif(image: np.ndarray, words: list[str], alphas: np.ndarray, ms_per_word: int = 800,
                hold_ms: int = 2500) -> bytes:
    """An animated GIF of the caption being written, one frame per word, looping forever."""
    if len(words) != len(alphas):
        raise ValueError(f"{len(words)} words but {len(alphas)} attention maps")
    if not words:
        raise ValueError("a caption with no words has no frames")
    frames = [caption_frame(image, words, a, k) for k, a in enumerate(alphas)]
    durations = [ms_per_word] * (len(frames) - 1) + [hold_ms]  # the finished caption stays up longer
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0,
                   disposal=1)
    return buf.getvalue()


def aligned_figure(image: np.ndarray, captions: dict[str, tuple[list[str], np.ndarray]],
                   panel_inches: float = 2.4) -> "Figure":
    """One column per model, one row per word position: word i of each caption side by side.

    ``captions`` maps a model name to (words, alphas). A shorter caption leaves its
    column blank at the end, so the rows stay aligned by word index.
    """
    for name, (words, alphas) in captions.items():
        if len(words) != len(alphas):
            raise ValueError(f"{name}: {len(words)} words but {len(alphas)} attention maps")
    rows = max((len(w) for w, _ in captions.values()), default=0)
    if rows == 0:
        raise ValueError("no words to draw")
    h, w = image.shape[:2]
    from matplotlib.figure import Figure  # ~1 s to import: only when a figure is drawn
    fig = Figure(figsize=(len(captions) * panel_inches, rows * (panel_inches * h / w + 0.35) + 0.4))
    axes = fig.subplots(rows, len(captions), squeeze=False)
    for col, (name, (words, alphas)) in enumerate(captions.items()):
        for row in range(rows):
            ax = axes[row, col]
            ax.axis("off")
            if row < len(words):
                ax.imshow(attention_overlay(image, alphas[row]))
                ax.set_title(f"{row + 1}. {words[row]}", fontsize=11)
        axes[0, col].set_title(f"{name}\n{axes[0, col].get_title()}", fontsize=11)
    fig.tight_layout()
    return fig
