"""Widgets and helpers every page uses: image input, device label, asset checks."""
from pathlib import Path

import numpy as np
import streamlit as st

from model.checkpoint import pick_device
from viz.images import ACCEPTED, MAX_BYTES, ImageLoadError, load_image

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"
SAMPLES = ASSETS / "samples"


@st.cache_resource
def device():
    return pick_device()


def device_label() -> str:
    try:
        d = device()
    except ValueError as e:  # a bad ATTENTION_LENS_DEVICE: say so, run on the CPU
        return f"cpu ({e})"
    if d.type == "cuda":
        import torch
        return f"{d} ({torch.cuda.get_device_name(d)})"
    return str(d)


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
            st.error(f"Could not use **{upload.name}**: {e}")
            return None, upload.name
    if sample != "(none)":
        return load_image((SAMPLES / sample).read_bytes()), sample
    return None, ""


def missing_model(what: str, files: list[str]) -> bool:
    """True (and a plain message) when a page's model files are not in assets/ yet."""
    missing = [f for f in files if not (ASSETS / f).is_file()]
    if missing:
        st.info(f"The {what} model is not available yet: {', '.join(f'`assets/{m}`' for m in missing)} "
                "has not been trained and shipped. The other pages work.")
    return bool(missing)
