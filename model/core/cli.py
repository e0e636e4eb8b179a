"""What every command line of attention-lens shares: its common flags, JSON output and failures.

The contract: ``--json`` prints valid JSON built from plain Python types (numpy and torch values
are converted here, once), ``--out DIR`` is where pictures go, ``--device`` picks the device; bad
input exits 2 with one line on stderr naming the input and what to do, never a traceback.
"""
import argparse
import codecs
import json
import math
import stat
import sys
from pathlib import Path

import numpy as np
import torch

from model.core.images import MAX_BYTES, ImageLoadError, check_size, load_image

BAD_INPUT = 2


class UsageError(Exception):
    """Bad input from the person at the command line: shown as one line, exit 2."""


def setup_output() -> None:
    """Text that the terminal's encoding cannot show (a lone surrogate from a mis-decoded argument)
    is written as a backslash escape instead of raising UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def argument_text(arg: str) -> str:
    """A command-line argument meant as text (not a path), as the person typed it.

    Python reads argv bytes that are not UTF-8 as lone surrogates ("café" from a Latin-1 terminal
    arrives as "caf\\udce9"), which a tokenizer would split into two words and JSON cannot carry as
    UTF-8. The bytes are decoded again: as UTF-8 where they are, each other byte as Latin-1 (where
    every byte is a character). A path must stay as it is: its surrogates name the file's real bytes.
    """
    try:
        raw = arg.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that no byte made (an in-process caller): U+FFFD, visibly
        return arg.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return raw.decode("utf-8", LATIN1)


def _as_latin1(e: UnicodeDecodeError) -> tuple[str, int]:
    return e.object[e.start:e.end].decode("latin-1"), e.end


LATIN1 = "attention-lens-latin1"
codecs.register_error(LATIN1, _as_latin1)


def common_args(p: argparse.ArgumentParser, *, out: bool = True) -> None:
    p.add_argument("--json", action="store_true", help="print JSON (one object per input, one per line)")
    if out:
        p.add_argument("--out", type=Path, metavar="DIR", help="also write pictures into this folder")
    p.add_argument("--device", help="cpu, cuda or cuda:N (default: $ATTENTION_LENS_DEVICE, else CUDA if present)")


def plain(value):
    """``value`` with numpy/torch scalars and arrays turned into Python numbers and lists, NaN into None."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, torch.Tensor):
        return plain(value.detach().cpu().numpy())
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biu" or value.dtype.kind == "f" and np.isfinite(value).all():
            return value.astype(np.float64 if value.dtype.kind == "f" else value.dtype).tolist()  # Python values
        return plain(value.tolist())  # NaN or infinity to find, or objects: element by element
    if isinstance(value, np.generic):
        return plain(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dumps(value) -> str:
    """One line of JSON; text that cannot be encoded (lone surrogates) is escaped, never a crash."""
    return json.dumps(plain(value), ensure_ascii=True, allow_nan=False)


def print_json(value) -> None:
    print(dumps(value), flush=True)


def fail(message: str) -> int:
    """One line on stderr; the exit status for bad input."""
    print(f"error: {' '.join(str(message).split())}", file=sys.stderr)
    return BAD_INPUT


def read_input(path: Path, max_bytes: int = MAX_BYTES) -> bytes:
    """A file's bytes, after checking it is a regular file of at most ``max_bytes`` (a FIFO or a
    device would hang or never end; a huge file would be read whole before being refused)."""
    try:
        info = path.stat()
    except OSError as e:
        raise UsageError(f"{path}: cannot read it ({e.strerror or e})") from None
    if not stat.S_ISREG(info.st_mode):
        raise UsageError(f"{path}: not a regular file")
    check_size(info.st_size, max_bytes)
    try:
        return path.read_bytes()
    except OSError as e:
        raise UsageError(f"{path}: cannot read it ({e.strerror or e})") from None


def out_dir(path: Path | None) -> Path | None:
    """Create the --out folder, or say in one line why it cannot be one."""
    if path is None:
        return None
    if path.exists() and not path.is_dir():
        raise UsageError(f"--out {path}: exists and is not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"--out {path}: cannot create it ({e.strerror or e})") from None
    return path


def unique_stems(paths: list[Path]) -> list[str]:
    """File stems for --out pictures, numbered where two inputs share one so nothing is overwritten."""
    seen: dict[str, int] = {}
    stems = []
    for p in paths:
        stem = p.stem or "input"
        seen[stem] = seen.get(stem, 0) + 1
        stems.append(stem if seen[stem] == 1 else f"{stem}-{seen[stem]}")
    return stems


def read_images(paths: list[Path]):
    """(path, --out stem, image) for each image argument in turn; one that cannot be read or decoded
    is reported on stderr (fail) and comes with image None, so the command goes on to the next."""
    for path, stem in zip(paths, unique_stems(paths)):
        try:
            yield path, stem, load_image(read_input(path))
        except (ImageLoadError, UsageError) as e:
            fail(f"{path}: {e}")
            yield path, stem, None
