"""Widgets and helpers every page uses: image input, device label, asset checks, model loading.

Nothing here imports torch or a model when the module is imported: the first page is drawn before
torch is loaded (2–10 s of imports), and ``warm_up`` loads torch and every shipped model in a
background thread while the first user looks at it.
"""
import logging
import os
import threading

import numpy as np
import streamlit as st

from model.core import assets
from model.core.images import ACCEPTED, MAX_BYTES, ImageLoadError, load_image

SAMPLES = assets.SAMPLES
WARM_UP_ENV = "ATTENTION_LENS_WARM_UP"  # "0": load models on first use only, not in the background
THREADS_ENV = "ATTENTION_LENS_THREADS"  # torch threads per script run; default 1 (see the README: Serving)


def torch_threads() -> int:
    """One thread per run by default: Streamlit runs every session's script on its own thread, so N
    busy sessions with k torch threads each would ask for N × k cores (runs took 10× their minimum)."""
    try:
        return max(1, int(os.environ.get(THREADS_ENV, "1")))
    except ValueError:
        return 1


@st.cache_resource(show_spinner=False)
def _torch():
    """torch, imported once per process with the app's thread count."""
    import torch
    torch.set_num_threads(torch_threads())
    return torch


@st.cache_resource(show_spinner=False)
def device_label() -> str:
    from model.core.device import pick_device
    _torch()
    try:
        d = pick_device()
    except ValueError as e:  # a bad ATTENTION_LENS_DEVICE: say so, run on the CPU
        return f"cpu ({e})"
    if d.type == "cuda":
        return f"{d} ({_torch().cuda.get_device_name(d)})"
    return str(d)


@st.cache_resource(show_spinner="Loading the model…", max_entries=16)
def _cached(path: str, mtime_ns: int):
    from model.core.device import safe_device
    from model.core.loader import load
    _torch()
    return load(path, safe_device())


def load_bundle(path):
    """One load per checkpoint file and process, shared read-only by every session; a re-shipped
    file (new mtime) is loaded again without a restart. Errors are CheckpointError, naming the file."""
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        from model.core.checkpoint import CheckpointError
        raise CheckpointError(path, "file not found") from None
    return _cached(str(path), mtime)


# ---------------------------------------------------------------------------- loading in the background

_READY = threading.Event()  # set once the background loader is done, for every session of this process


@st.cache_resource(show_spinner=False)
def warm_up(pages: tuple[str, ...]) -> list[str]:
    """Once per process, after the first page is drawn: import torch and every page module, and call
    each page's ``warm()`` (which loads its models through the same caches its ``render`` uses), so
    that no user's first request pays for loading. Returns at once with the list the loading thread
    fills with errors (a page whose models are missing says so itself when drawn).
    """
    errors: list[str] = []
    if os.environ.get(WARM_UP_ENV, "1") == "0":  # e.g. a test process that loads only tiny models
        _READY.set()
        return errors

    def run():
        import importlib
        try:
            device_label()
            for name in pages:
                try:
                    warm = getattr(importlib.import_module(name), "warm", None)
                    if warm is not None:
                        warm()
                except Exception as e:  # logged; the page says what is missing when it is drawn
                    errors.append(f"{name}: {type(e).__name__}: {e}")
                    logging.getLogger(__name__).warning("warm-up of %s failed", name, exc_info=True)
        finally:
            _READY.set()

    threading.Thread(target=run, name="attention-lens-warm-up", daemon=True).start()
    return errors


def models_ready() -> bool:
    return _READY.is_set()


def sidebar_device() -> None:
    """The device in the sidebar, once torch is loaded (asking earlier would import it on the first run)."""
    label = device_label() if models_ready() else "loading the models…"
    st.sidebar.caption(f"Device: **{label}**")


# Invisible characters that reorder or hide the text around them (a right-to-left override in a file
# name would show the rest of the message backwards): named instead of applied.
INVISIBLE = {*map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A)), "\u200e", "\u200f", "\u061c",
             "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\0"}


def remember(key: str, default, options=None) -> str:
    """Call right before drawing the widget ``key``: its value survives a visit to another page.

    Streamlit forgets the value of a widget that a run does not draw (another page was shown), so the
    value is also kept under a second key and put back when the page is drawn again.
    A kept value no longer among ``options`` falls back to ``default``. Returns the key."""
    shadow = f"_kept_{key}"
    if key in st.session_state:
        st.session_state[shadow] = st.session_state[key]
    else:
        st.session_state[key] = st.session_state.get(shadow, default)
    if options is not None and st.session_state[key] not in options:
        st.session_state[key] = default
    return key


def escape(text: str) -> str:
    """User text for st.markdown/st.error: shown as typed, never read as markdown, HTML or LaTeX;
    invisible direction and width characters are shown by name (U+202E); ``&`` is escaped so that a
    typed "&amp;" is not read as an HTML entity."""
    return "".join("\\" + c if c in "\\`*_{}[]()#+-.!|<>$~:&" else f"U\\+{ord(c):04X}" if c in INVISIBLE else c
                   for c in text)


def sample_names() -> list[str]:
    return sorted(p.name for p in SAMPLES.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))


def image_input(key: str, label: str = "Upload an image") -> tuple[np.ndarray | None, str]:
    """An uploader plus a sample picker. Returns (RGB array or None, a name for it).

    A bad upload shows an error and returns None; the rest of the page and the
    session keep working.
    """
    left, right = st.columns([3, 2])
    # No extension filter: Streamlit would refuse other extensions with a traceback, and a renamed
    # file passes it anyway. load_image decides from the bytes and says why in plain words.
    upload = left.file_uploader(label, key=f"{key}_upload", help=f"{ACCEPTED}, up to {MAX_BYTES // 2**20} MB.")
    sample = right.selectbox("…or pick a sample", ["(none)"] + sample_names(), key=f"{key}_sample")
    if upload is not None:
        try:
            return load_image(upload.getvalue()), upload.name
        except ImageLoadError as e:
            st.error(f"Could not use **{escape(upload.name)}**: {e}")
            return None, upload.name
    if sample != "(none)":
        return load_image((SAMPLES / sample).read_bytes()), sample
    return None, ""


def missing_model(what: str, paths) -> bool:
    """True (and a plain message) when a page's model files are not there yet."""
    missing = [p for p in paths if not p.is_file()]
    if missing:
        st.info(f"The {what} model is not available yet: {', '.join(f'`{p.name}`' for p in missing)} "
                f"has not been trained and shipped to `{assets.assets_dir()}`. The other pages work.")
    return bool(missing)
