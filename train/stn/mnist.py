"""MNIST from its IDX files, and the distorted variants of Jaderberg et al. 2015 (section 4.1).

Every generator takes uint8 digits (N, 28, 28) and a ``numpy.random.Generator``
and returns uint8 images (N, S, S), white ink on a black (0) background. The
same seed always gives the same images, which is what makes the test sets fixed:

    r          28×28, rotated uniformly in ±90°
    rts        42×42, rotated in ±45°, scaled 0.7-1.2, placed at a random position
    p          28×28, a random projective warp (the four corners moved at random)
    e          28×28, an elastic warp (Simard et al. 2003: smoothed random displacements)
    cluttered  60×60, the digit at a random place plus 6 random 6×6 crops of other digits
"""
import gzip
import struct
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

VARIANTS = ("r", "rts", "p", "e", "cluttered")
SIZES = {"r": 28, "rts": 42, "p": 28, "e": 28, "cluttered": 60}
TEST_SEED = 2015  # the fixed test sets: distortion of the 10,000 MNIST test digits with this seed
VAL_SEED = 2016   # the fixed validation set, made from the last training digits
CHUNK = 4096      # digits warped at once: bounds memory, not results


# ---------------------------------------------------------------------------- IDX files

def read_idx(path) -> np.ndarray:
    """An IDX file (gzipped or not) as a uint8 array: (N,) labels or (N, rows, cols) images."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, count = struct.unpack(">II", data[:8])
    if magic == 2049:
        return np.frombuffer(data, np.uint8, count, offset=8).copy()
    if magic == 2051:
        rows, cols = struct.unpack(">II", data[8:16])
        return np.frombuffer(data, np.uint8, count * rows * cols, offset=16).reshape(count, rows, cols).copy()
    raise ValueError(f"{path}: not an MNIST IDX file (magic number {magic})")


def load_mnist(root, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 28, 28) uint8, labels (N,) uint8) for split 'train' or 't10k'."""
    root = Path(root)
    def find(name):
        for candidate in (root / f"{name}.gz", root / name):
            if candidate.is_file():
                return candidate
        raise FileNotFoundError(f"{root}: no {name}(.gz); see README.md, section Data")
    return read_idx(find(f"{split}-images-idx3-ubyte")), read_idx(find(f"{split}-labels-idx1-ubyte"))


# ---------------------------------------------------------------------------- warping helpers

def _warp(digits: np.ndarray, grids: torch.Tensor) -> np.ndarray:
    """Bilinear sampling of 28×28 digits at normalised grid points, zeros outside, back to uint8."""
    x = torch.from_numpy(digits).float().unsqueeze(1)
    out = F.grid_sample(x, grids.float(), mode="bilinear", padding_mode="zeros", align_corners=False)
    return out.squeeze(1).round().clamp(0, 255).to(torch.uint8).numpy()


def _affine(digits, rotation_deg, scale, shift, size: int) -> np.ndarray:
    """Place each digit rotated, scaled and shifted (in canvas pixels from the centre) in a size×size canvas.

    grid_sample wants, for every canvas pixel, where to read in the digit: the inverse
    map q = Rᵀ(p - c) / s, written in each image's normalised coordinates.
    """
    a = np.deg2rad(rotation_deg)
    cos, sin = np.cos(a), np.sin(a)
    rt = np.stack([np.stack([cos, sin], -1), np.stack([-sin, cos], -1)], -2)  # Rᵀ, (N, 2, 2)
    half_in, half_out = 28 / 2, size / 2
    lin = rt * (half_out / (half_in * scale))[:, None, None]
    offset = -np.einsum("nij,nj->ni", rt, shift) / (half_in * scale)[:, None]
    theta = torch.from_numpy(np.concatenate([lin, offset[:, :, None]], 2))
    out = []
    for i in range(0, len(digits), CHUNK):
        grids = F.affine_grid(theta[i:i + CHUNK], (len(theta[i:i + CHUNK]), 1, size, size), align_corners=False)
        out.append(_warp(digits[i:i + CHUNK], grids))
    return np.concatenate(out) if out else np.zeros((0, size, size), np.uint8)


# ---------------------------------------------------------------------------- the variants

def rotated(digits, rng) -> np.ndarray:
    n = len(digits)
    return _affine(digits, rng.uniform(-90, 90, n), np.ones(n), np.zeros((n, 2)), 28)


def rts(digits, rng) -> np.ndarray:
    n = len(digits)
    angle, scale = rng.uniform(-45, 45, n), rng.uniform(0.7, 1.2, n)
    # MNIST ink sits in the central 20×20 box: keep that box, as rotated and scaled, inside the canvas
    a = np.deg2rad(angle)
    half_box = 10 * scale * (np.abs(np.cos(a)) + np.abs(np.sin(a)))
    room = np.maximum(21 - half_box, 0)
    shift = rng.uniform(-1, 1, (n, 2)) * room[:, None]
    return _affine(digits, angle, scale, shift, 42)


def projective(digits, rng, shrink: float = 0.8, corner_sigma: float = 3.0) -> np.ndarray:
    """Shrink the frame by ``shrink`` so the warp keeps the digit inside, then move each corner
    by Gaussian noise of ``corner_sigma`` pixels."""
    src = np.float32([[0, 0], [28, 0], [28, 28], [0, 28]])
    dst = (src - 14) * shrink + 14 + rng.normal(0, corner_sigma, (len(digits), 4, 2)).astype(np.float32)
    out = np.empty_like(digits)
    for i, d in enumerate(digits):  # cv2 has no batched perspective warp; 60,000 take ~1 s
        h = cv2.getPerspectiveTransform(src, dst[i])
        out[i] = cv2.warpPerspective(d, h, (28, 28), flags=cv2.INTER_LINEAR, borderValue=0)
    return out


def elastic(digits, rng, alpha: float = 34.0, sigma: float = 4.0) -> np.ndarray:
    """Simard et al.'s elastic distortion with their MNIST settings: uniform(-1, 1) displacement
    fields, Gaussian-smoothed with ``sigma`` pixels, scaled by ``alpha`` pixels."""
    r = int(3 * sigma)
    k = torch.exp(-torch.arange(-r, r + 1, dtype=torch.float32) ** 2 / (2 * sigma ** 2))
    k = k / k.sum()
    out = []
    for i in range(0, len(digits), CHUNK):  # one draw per chunk, in order: the same stream as one big draw
        chunk = digits[i:i + CHUNK]
        n = len(chunk)
        field = torch.from_numpy(rng.uniform(-1, 1, (n, 2, 28, 28)).astype(np.float32))
        field = F.conv2d(field.reshape(-1, 1, 28, 28), k.view(1, 1, 1, -1), padding=(0, r))  # separable blur
        field = F.conv2d(field, k.view(1, 1, -1, 1), padding=(r, 0)).reshape(n, 2, 28, 28)
        base = F.affine_grid(torch.eye(2, 3).expand(n, 2, 3), (n, 1, 28, 28), align_corners=False)
        out.append(_warp(chunk, base + field.permute(0, 2, 3, 1) * alpha * (2 / 28)))  # pixels to normalised
    return np.concatenate(out) if out else np.zeros((0, 28, 28), np.uint8)


def cluttered(digits, rng, size: int = 60, pieces: int = 6, piece: int = 6) -> np.ndarray:
    """The digit at a random place in a size×size canvas, over ``pieces`` random crops of other
    digits (taken from their inked middle, so a crop is rarely empty); pixels combine by max."""
    n = len(digits)
    canvas = np.zeros((n, size, size), np.uint8)
    rows = np.arange(n)[:, None, None]

    def paste(patches, y, x):
        h = patches.shape[1]
        ys, xs = y[:, None, None] + np.arange(h)[None, :, None], x[:, None, None] + np.arange(h)[None, None, :]
        canvas[rows, ys, xs] = np.maximum(canvas[rows, ys, xs], patches)

    for _ in range(pieces):
        other = (np.arange(n) + rng.integers(1, max(n, 2), n)) % n  # never the digit itself (for n > 1)
        cy, cx = rng.integers(4, 28 - 4 - piece + 1, (2, n))
        crop = digits[other[:, None, None], cy[:, None, None] + np.arange(piece)[None, :, None],
                      cx[:, None, None] + np.arange(piece)[None, None, :]]
        paste(crop, *rng.integers(0, size - piece + 1, (2, n)))
    paste(digits, *rng.integers(0, size - 28 + 1, (2, n)))
    return canvas


GENERATORS = {"r": rotated, "rts": rts, "p": projective, "e": elastic, "cluttered": cluttered}


def distort(digits: np.ndarray, variant: str, rng: np.random.Generator) -> np.ndarray:
    if variant not in GENERATORS:
        raise ValueError(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")
    digits = np.asarray(digits, np.uint8)
    if digits.ndim != 3 or digits.shape[1:] != (28, 28):
        raise ValueError(f"digits must be (N, 28, 28) uint8, got {digits.shape}")
    return GENERATORS[variant](digits, rng)


def fixed_set(digits, variant: str, seed: int) -> np.ndarray:
    """A test or validation set: the same images for the same digits, variant and seed."""
    return distort(digits, variant, np.random.default_rng([seed, VARIANTS.index(variant)]))
