"""Where a spatial transformer's sampling grid lands on its input, drawn at display size.

θ (2×3) maps each output pixel's normalised position to a normalised position in the
input. These functions redo that map in numpy (no torch), in the convention of
``affine_grid(..., align_corners=False)``: -1 and +1 are the outer edges of the edge pixels.
Points come back in input pixel coordinates, pixel centres at integers (x right, y down).

Every picture here is sized by the display (``min_side``/``max_side``), never by the image's long
side: a 3×600 strip is drawn at most max_side pixels long, not enlarged until its short side fits.
"""
import cv2
import numpy as np

OUTLINE = (255, 60, 60)    # the output's border, as sampled
TOP_EDGE = (255, 220, 0)   # the output's top edge, so rotations and flips are visible
LATTICE = (0, 220, 255)
PIXEL_LINES = (70, 70, 70)
OUTSIDE = ((120, 120, 120), (150, 150, 150))  # checkerboard where the grid reads outside the image (zeros)
MAX_SIDE = 1024  # no drawing here is ever longer than this
REACH = 1.5  # the canvas shows at most this many image sizes around the image, however far θ reaches


def _points(theta, cols, rows, out_hw, in_hw) -> np.ndarray:
    """(len(rows), len(cols), 2) input pixels read by the output pixels at these rows and columns."""
    theta = np.asarray(theta, np.float64).reshape(2, 3)
    (ho, wo), (hi, wi) = out_hw, in_hw
    gx, gy = np.meshgrid((2 * np.asarray(cols) + 1) / wo - 1, (2 * np.asarray(rows) + 1) / ho - 1)
    norm = np.stack([gx, gy, np.ones_like(gx)], -1) @ theta.T  # normalised input (x, y)
    return np.stack([((norm[..., 0] + 1) * wi - 1) / 2, ((norm[..., 1] + 1) * hi - 1) / 2], -1)


def sample_points(theta, out_hw, in_hw) -> np.ndarray:
    """(H_out, W_out, 2): the input pixel (x, y) each output pixel is read from."""
    return _points(theta, np.arange(out_hw[1]), np.arange(out_hw[0]), out_hw, in_hw)


def corners(theta, out_hw, in_hw) -> np.ndarray:
    """(4, 2) input pixels of the output's corner pixels: top-left, top-right, bottom-right, bottom-left."""
    p = _points(theta, [0, out_hw[1] - 1], [0, out_hw[0] - 1], out_hw, in_hw)
    return np.stack([p[0, 0], p[0, 1], p[1, 1], p[1, 0]])


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


def fit(image, side: int) -> np.ndarray:
    """RGB uint8 with its longer side at most ``side``: shrunk by area averaging when larger (a small
    image is left as it is). A strip keeps at least one pixel across."""
    a = np.asarray(image)
    h, w = a.shape[:2]
    if max(h, w) <= side:
        return to_rgb(a)
    k = side / max(h, w)
    return to_rgb(cv2.resize(a, (max(1, round(w * k)), max(1, round(h * k))), interpolation=cv2.INTER_AREA))


def enlarge(image, min_side: int, max_side: int = MAX_SIDE, pixel_lines: bool = False) -> np.ndarray:
    """Nearest-neighbour upscale by a whole factor until the shorter side is at least min_side (a 28×28
    digit shows its pixels instead of a blur), but never past max_side on the longer side.
    ``pixel_lines`` draws the pixel borders when each pixel is at least 4 px wide."""
    image = to_rgb(image)
    h, w = image.shape[:2]
    k = max(1, min(-(-min_side // min(h, w)), max_side // max(h, w)))
    if k == 1:
        return image
    big = np.repeat(np.repeat(image, k, 0), k, 1)
    if pixel_lines and k >= 4:
        big[k - 1::k] = big[:, k - 1::k] = PIXEL_LINES
    return big


def letterbox(image, side: int, fill=(255, 255, 255)) -> np.ndarray:
    """The image scaled to fit a side×side square and centred on ``fill``, so panels line up whatever
    their shape: a small picture enlarged by a whole factor (its pixels stay square and crisp), a
    large one shrunk by area averaging."""
    a = to_rgb(image)
    h, w = a.shape[:2]
    k = side / max(h, w)
    if k >= 2:
        a = np.repeat(np.repeat(a, int(k), 0), int(k), 1)
    elif k < 1:
        a = cv2.resize(a, (max(1, min(side, round(w * k))), max(1, min(side, round(h * k)))),
                       interpolation=cv2.INTER_AREA)
    out = np.empty((side, side, 3), np.uint8)
    out[:] = fill
    y, x = (side - a.shape[0]) // 2, (side - a.shape[1]) // 2
    out[y:y + a.shape[0], x:x + a.shape[1]] = a
    return out


def _canvas_box(quad: np.ndarray, h: int, w: int) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) in input pixel edges: the image and the outline, as far as REACH allows."""
    m = 1 + 0.04 * max(h, w)  # room for the line and the dots on the outline
    x0, y0 = min(-0.5, quad[:, 0].min() - m), min(-0.5, quad[:, 1].min() - m)
    x1, y1 = max(w - 0.5, quad[:, 0].max() + m), max(h - 0.5, quad[:, 1].max() + m)
    return (max(x0, -0.5 - REACH * w), max(y0, -0.5 - REACH * h),
            min(x1, w - 0.5 + REACH * w), min(y1, h - 0.5 + REACH * h))


def draw_grid(image, theta, out_hw, lattice: int = 7, min_side: int = 336, max_side: int = MAX_SIDE,
              pixel_lines: bool = False) -> np.ndarray:
    """The image with the output's outline and a lattice×lattice set of its sampled points drawn on.

    The canvas grows around the image (a grey checkerboard: where the transformer reads zeros) so
    the whole outline shows even when θ reaches outside the image. Small images are enlarged by a
    whole factor until the short side reaches ``min_side``; nothing is drawn longer than ``max_side``.
    """
    base = to_rgb(image)
    h, w = base.shape[:2]
    quad = corners(theta, out_hw, (h, w))
    x0, y0, x1, y1 = _canvas_box(quad, h, w)
    padded = (x0, y0, x1, y1) != (-0.5, -0.5, w - 0.5, h - 0.5)
    cw, ch = x1 - x0, y1 - y0
    k = max(1, -(-min_side // min(h, w)))
    k = min(k, max_side / max(cw, ch))  # a whole factor when enlarging, a fraction when the canvas is big
    if k >= 1:
        k = int(k)
    W, H = max(1, int(round(cw * k))), max(1, int(round(ch * k)))
    picture = enlarge(base, min(h, w) * k, max_side, pixel_lines) if k >= 1 else cv2.resize(
        base, (max(1, round(w * k)), max(1, round(h * k))), interpolation=cv2.INTER_AREA)
    canvas = np.empty((H, W, 3), np.uint8)
    yy, xx = np.indices((H, W), sparse=True)
    canvas[:] = OUTSIDE[0]
    canvas[((yy // 12 + xx // 12) % 2).astype(bool)] = OUTSIDE[1]
    ox, oy = int(round((-0.5 - x0) * k)), int(round((-0.5 - y0) * k))
    ph, pw = min(picture.shape[0], H - oy), min(picture.shape[1], W - ox)
    canvas[oy:oy + ph, ox:ox + pw] = picture[:ph, :pw]
    shift = 4  # cv2 draws at 1/16 pixel precision with fixed-point coordinates
    fix = lambda p: np.round(((p - [x0, y0]) * k - 0.5) * (1 << shift)).astype(np.int32)
    width = max(1, round(min(H, W) / 250))
    if padded:  # where the image ends
        cv2.rectangle(canvas, (ox, oy), (ox + pw - 1, oy + ph - 1), (235, 235, 235), 1)
    q = fix(quad)
    cv2.polylines(canvas, [q.reshape(-1, 1, 2)], True, OUTLINE, width, cv2.LINE_AA, shift)
    cv2.line(canvas, tuple(q[0]), tuple(q[1]), TOP_EDGE, width + 1, cv2.LINE_AA, shift)
    rows = np.linspace(0, out_hw[0] - 1, lattice).round().astype(int)
    cols = np.linspace(0, out_hw[1] - 1, lattice).round().astype(int)
    for p in fix(_points(theta, cols, rows, out_hw, (h, w)).reshape(-1, 2)):
        cv2.circle(canvas, tuple(p), (width + 1) << shift, LATTICE, -1, cv2.LINE_AA, shift)
    return canvas


def mapping_diagram(theta, side: int = 150, n: int = 5) -> np.ndarray:
    """Two squares and an arrow: the output's regular n×n points (left) and the input points θ sends
    them to (right), each point in the same colour on both sides, the top edges in yellow. It shows
    why the output turns the opposite way from the drawn grid: θ says where each output pixel
    *reads from*; straightening the tilted grid straightens, and so counter-turns, the picture.
    The input square is drawn smaller, with room around it for points θ sends outside."""
    theta = np.asarray(theta, np.float64).reshape(2, 3)
    gap, pad = side // 3, side // 8
    canvas = np.full((side, 2 * side + gap, 3), 255, np.uint8)
    half_out, half_in = (side - 2 * pad) / 2, (side - 2 * pad) / 3  # px per normalised unit
    out_px = lambda x, y: (int(round(side / 2 + x * half_out)), int(round(side / 2 + y * half_out)))
    in_px = lambda x, y: (int(round(1.5 * side + gap + x * half_in)), int(round(side / 2 + y * half_in)))
    ticks = (2 * np.arange(n) + 1) / n - 1
    gx, gy = np.meshgrid(ticks, ticks)
    outputs = np.stack([gx.ravel(), gy.ravel()], -1)
    inputs = np.concatenate([outputs, np.ones((len(outputs), 1))], 1) @ theta.T
    hue = (np.arange(len(outputs)) * 150 // len(outputs)).astype(np.uint8)
    colours = cv2.cvtColor(np.stack([hue, np.full_like(hue, 200), np.full_like(hue, 220)], -1)[None],
                           cv2.COLOR_HSV2RGB)[0].tolist()
    cv2.rectangle(canvas, out_px(-1, -1), out_px(1, 1), (150, 150, 150), 1)
    cv2.rectangle(canvas, in_px(-1, -1), in_px(1, 1), (150, 150, 150), 1)
    corner = np.array([[-1, -1, 1], [1, -1, 1], [1, 1, 1], [-1, 1, 1]], np.float64) @ theta.T
    quad = np.array([in_px(*np.clip(c, -3, 3)) for c in corner], np.int32)
    cv2.polylines(canvas, [quad.reshape(-1, 1, 2)], True, OUTLINE, 1, cv2.LINE_AA)
    cv2.line(canvas, tuple(quad[0].tolist()), tuple(quad[1].tolist()), TOP_EDGE, 3, cv2.LINE_AA)
    cv2.line(canvas, out_px(-1, -1), out_px(1, -1), TOP_EDGE, 3, cv2.LINE_AA)
    r = max(2, side // 45)
    for (ox, oy), (ix, iy), c in zip(outputs, inputs, colours):
        cv2.circle(canvas, out_px(ox, oy), r, c, -1, cv2.LINE_AA)
        if abs(ix) < 3 and abs(iy) < 3:
            cv2.circle(canvas, in_px(ix, iy), r, c, -1, cv2.LINE_AA)
    cv2.arrowedLine(canvas, (side - pad // 2, side // 2), (side + gap // 2 + 4, side // 2), (60, 60, 60), 2,
                    cv2.LINE_AA, 0, 0.3)
    return canvas
