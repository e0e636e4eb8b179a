"""Widgets and helpers every page uses: image input, device label, asset checks, model loading."""
import numpy as np
import streamlit as st

from model.core import assets
from model.core.checkpoint import CheckpointError
from model.core.device import pick_device, safe_device
from model.core.images import ACCEPTED, MAX_BYTES, ImageLoadError, load_image
from model.core.loader import Bundle, load

SAMPLES = assets.SAMPLES


def device_label() -> str:
    try:
        d = pick_device()
    except ValueError as e:  # a bad ATTENTION_LENS_DEVICE: say so, run on the CPU
        return f"cpu ({e})"
    if d.type == "cuda":
        import torch
        return f"{d} ({torch.cuda.get_device_name(d)})"
    return str(d)


@st.cache_resource(show_spinner="Loading the model…", max_entries=16)
def _cached(path: str, mtime_ns: int) -> Bundle:
    return load(path, safe_device())


def load_bundle(path) -> Bundle:
    """One load per checkpoint file and process, shared read-only by every session; a re-shipped
    file (new mtime) is loaded again without a restart. Errors are CheckpointError, naming the file."""
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        raise CheckpointError(path, "file not found") from None
    return _cached(str(path), mtime)


def escape(text: str) -> str:
    """User text for st.markdown/st.error: shown as typed, never read as markdown, HTML or LaTeX."""
    return "".join("\\" + c if c in "\\`*_{}[]()#+-.!|<>$~:" else c for c in text)


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
