"""Where a spatial transformer's sampling grid lands on its input.

θ (2×3) maps each output pixel's normalised position to a normalised position in the
input. These functions redo that map in numpy (no torch), in the convention of
``affine_grid(..., align_corners=False)``: -1 and +1 are the outer edges of the edge pixels.
Points come back in input pixel coordinates, pixel centres at integers (x right, y down).
"""
import cv2
import numpy as np

OUTLINE = (255, 60, 60)    # the output's border, as sampled
TOP_EDGE = (255, 220, 0)   # the output's top edge, so rotations and flips are visible
LATTICE = (0, 220, 255)


def sample_points(theta, out_hw, in_hw) -> np.ndarray:
    """(H_out, W_out, 2): the input pixel (x, y) each output pixel is read from."""
    theta = np.asarray(theta, np.float64).reshape(2, 3)
    (ho, wo), (hi, wi) = out_hw, in_hw
    xs, ys = (2 * np.arange(wo) + 1) / wo - 1, (2 * np.arange(ho) + 1) / ho - 1  # output pixel centres
    gx, gy = np.meshgrid(xs, ys)
    norm = np.stack([gx, gy, np.ones_like(gx)], -1) @ theta.T  # normalised input (x, y)
    return np.stack([((norm[..., 0] + 1) * wi - 1) / 2, ((norm[..., 1] + 1) * hi - 1) / 2], -1)


def corners(theta, out_hw, in_hw) -> np.ndarray:
    """(4, 2) input pixels of the output's corner pixels: top-left, top-right, bottom-right, bottom-left."""
    p = sample_points(theta, out_hw, in_hw)
    return np.stack([p[0, 0], p[0, -1], p[-1, -1], p[-1, 0]])


def to_rgb(image) -> np.ndarray:
    """Grey or RGB, float in [0, 1] or uint8, to (H, W, 3) uint8."""
    a = np.asarray(image)
    if a.dtype != np.uint8:
        a = (np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, 2)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"expected a grey or RGB image, got shape {a.shape}")
    return a


def enlarge(image, min_side: int) -> np.ndarray:
    """Nearest-neighbour upscale by a whole factor until the shorter side is at least min_side,
    so a 28×28 digit shows its pixels instead of a blur."""
    image = to_rgb(image)
    k = max(1, -(-min_side // min(image.shape[:2])))
    return np.repeat(np.repeat(image, k, 0), k, 1) if k > 1 else image


def draw_grid(image, theta, out_hw, lattice: int = 7, min_side: int = 336) -> np.ndarray:
    """The image (enlarged if small) with the output's outline and a lattice×lattice set of
    its sampled points drawn on; what falls outside the image is drawn only as far as it shows."""
    base = to_rgb(image)
    big = enlarge(base, min_side).copy()
    k = big.shape[0] / base.shape[0]
    pts = sample_points(theta, out_hw, base.shape[:2])
    to_big = lambda p: (p + 0.5) * k - 0.5  # pixel centres of the enlarged image
    shift = 4  # cv2 draws at 1/16 pixel precision with fixed-point coordinates
    fix = lambda p: np.round(to_big(p) * (1 << shift)).astype(np.int32)
    width = max(1, round(min(big.shape[:2]) / 250))
    quad = fix(corners(theta, out_hw, base.shape[:2]))
    cv2.polylines(big, [quad.reshape(-1, 1, 2)], True, OUTLINE, width, cv2.LINE_AA, shift)
    cv2.line(big, tuple(quad[0]), tuple(quad[1]), TOP_EDGE, width + 1, cv2.LINE_AA, shift)
    rows = np.linspace(0, out_hw[0] - 1, lattice).round().astype(int)
    cols = np.linspace(0, out_hw[1] - 1, lattice).round().astype(int)
    for p in fix(pts[np.ix_(rows, cols)].reshape(-1, 2)):
        cv2.circle(big, tuple(p), (width + 1) << shift, LATTICE, -1, cv2.LINE_AA, shift)
    return big
