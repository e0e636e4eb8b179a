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
MAX_ASPECT = 20  # long side / short side: a wide phone panorama is ~ 8:1; thinner strips are refused
MAX_BYTES = 50 * 1024 * 1024
FORMATS = ("JPEG", "MPO", "PNG", "WEBP", "BMP", "GIF")  # MPO: a camera JPEG with extra frames
ACCEPTED = "JPEG, PNG, WebP, BMP or GIF"  # FORMATS, as a person reads them
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# how files of FORMATS begin: one that does but cannot be opened is damaged, not of another kind
MAGIC = (b"\xff\xd8\xff", PNG_SIGNATURE, b"GIF87a", b"GIF89a", b"BM")
# PNG chunks that carry text or a colour profile, not pixels: dropped before decoding. Pillow refuses
# the whole file when one inflates past its 1 MB limit, though the picture is good; the app shows
# neither (colours are taken as sRGB, as for every format here).
PNG_METADATA = {b"tEXt", b"zTXt", b"iTXt", b"iCCP"}


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
    img = _open(data, max_pixels)
    if img.format not in FORMATS:
        raise ImageLoadError(f"{img.format} files are not supported; use {ACCEPTED}.")
    w, h = img.size
    if w * h > max_pixels:  # checked from the header, before any pixel is decoded
        raise ImageLoadError(f"The image is {w}×{h} pixels; the limit is {max_pixels / 1e6:.0f} megapixels. "
                             "Please upload a smaller image.")
    if max(w, h) > MAX_ASPECT * min(w, h):  # every later step would work at the long side for nothing
        raise ImageLoadError(f"The image is {w}×{h} pixels, a strip too thin to show or caption; pictures up to "
                             f"{MAX_ASPECT}:1 are accepted. Please crop it.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img.seek(0)  # animated GIF/WebP, MPO: the first frame
            img = ImageOps.exif_transpose(img)
            rgb = _to_rgb(img)
    except (OSError, SyntaxError, ValueError) as e:
        raise _damaged(e) from None
    return np.asarray(rgb, dtype=np.uint8).copy()


def _open(data: bytes, max_pixels: int) -> Image.Image:
    """Pillow's lazy open (the header only), its errors in plain words."""
    if data.startswith(PNG_SIGNATURE):
        data = _without_png_metadata(data)
    try:
        return Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        if data.startswith(MAGIC) or data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            raise _damaged("its header is broken") from None
        raise ImageLoadError(f"This file is not an image we can read ({ACCEPTED}).") from None
    except Image.DecompressionBombError:  # PIL's own header check, for images far beyond ours
        raise ImageLoadError(f"The image has hundreds of megapixels; the limit is {max_pixels / 1e6:.0f} "
                             "megapixels. Please upload a smaller image.") from None
    except (OSError, ValueError, SyntaxError) as e:  # e.g. a WebP cut in half
        raise _damaged(e) from None


def _damaged(why) -> ImageLoadError:
    return ImageLoadError(f"The image file is damaged or truncated and cannot be decoded ({why}).")


def _without_png_metadata(data: bytes) -> bytes:
    """The PNG without its PNG_METADATA chunks (walked by their length fields; a cut file stays cut)."""
    out, at = [data[:8]], 8
    while at + 8 <= len(data):
        n = int.from_bytes(data[at:at + 4], "big")
        end = at + 12 + n
        if data[at + 4:at + 8] not in PNG_METADATA:
            out.append(data[at:end])
        at = end
    return b"".join(out)


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
