"""Image decoding and the resize models share: bytes in, an upright RGB array out.

Everything a user can upload goes through ``load_image``: it is the one place
that knows about EXIF rotation, 16-bit and CMYK files, transparency, animated
GIFs, multi-picture JPEGs and decompression bombs, and it answers in plain words.
"""
import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = 40_000_000  # ~ 6300 x 6300: larger is refused before decoding
MAX_BYTES = 50 * 1024 * 1024
FORMATS = ("JPEG", "MPO", "PNG", "WEBP", "BMP", "GIF")  # MPO: a camera JPEG with extra frames
ACCEPTED = "JPEG, PNG, WebP, BMP or GIF"  # FORMATS, as a person reads them


class ImageLoadError(ValueError):
    """A message meant for the person who uploaded the file."""


def check_size(n_bytes: int, max_bytes: int = MAX_BYTES) -> None:
    """Refuse a file over the size limit, from its size alone (a CLI checks before reading it)."""
    if n_bytes > max_bytes:
        raise ImageLoadError(f"The file is {n_bytes / 2**20:.0f} MB; the limit is {max_bytes // 2**20} MB.")


def load_image(data: bytes, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode an upload to an (H, W, 3) uint8 RGB array shown the right way up."""
    if not data:
        raise ImageLoadError("The file is empty.")
    check_size(len(data))
    try:
        img = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise ImageLoadError(f"This file is not an image we can read ({ACCEPTED}).") from None
    except Image.DecompressionBombError:  # PIL's own header check, for images far beyond ours
        raise ImageLoadError(f"The image has hundreds of megapixels; the limit is {max_pixels / 1e6:.0f} "
                             "megapixels. Please upload a smaller image.") from None
    except (OSError, ValueError, SyntaxError) as e:  # e.g. a text chunk past Pillow's limit, a cut WebP
        raise ImageLoadError(f"The image file is damaged or truncated and cannot be decoded ({e}).") from None
    if img.format not in FORMATS:
        raise ImageLoadError(f"{img.format} files are not supported; use {ACCEPTED}.")
    w, h = img.size
    if w * h > max_pixels:  # checked from the header, before any pixel is decoded
        raise ImageLoadError(f"The image is {w}×{h} pixels; the limit is {max_pixels / 1e6:.0f} megapixels. "
                             "Please upload a smaller image.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img.seek(0)  # animated GIF/WebP, MPO: the first frame
            img = ImageOps.exif_transpose(img)
            rgb = _to_rgb(img)
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageLoadError(f"The image file is damaged or truncated and cannot be decoded ({e}).") from None
    return np.asarray(rgb, dtype=np.uint8).copy()


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16/32-bit grey: scale, don't clip
        a = np.asarray(img, dtype=np.float64)
        a = (a - a.min()) / max(a.max() - a.min(), 1e-9) * 255
        return Image.fromarray(a.astype(np.uint8)).convert("RGB")
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):  # transparency: composite on white, as a viewer shows it
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, img).convert("RGB")
    return img.convert("RGB")  # L, CMYK, YCbCr, RGB


def squash(image: np.ndarray, size: int) -> np.ndarray:
    """Resize to size×size ignoring aspect ratio (how Flickr8k training images were made)."""
    return np.array(Image.fromarray(image).resize((size, size), Image.BICUBIC))
