"""The Spatial transformer page's picture: one upload shared by both modes and one sample picker per mode.

While an upload is in use the mode's picker says so instead of showing a sample. The upload is
kept in st.session_state, so a visit to another page (which empties Streamlit's file widget)
comes back to the same picture; "Use a sample instead" lets it go.
"""
from pathlib import Path

import streamlit as st

from ui.common import remember

UPLOAD = "stn_upload"
SAVED = "_stn_saved_upload"    # (file id, name, bytes) of the upload in use
RESTORED = "_stn_upload_restored"  # the upload came back from a page switch, not from the widget
SETS = {"rts": "RTS", "cluttered": "cluttered", "r": "rotated", "p": "projective", "e": "elastic"}


def samples() -> tuple[Path, list[str], list[str]]:
    """(sample folder, distorted MNIST digits with the RTS set first, photos)."""
    from model.core import assets
    digits = sorted((p.name for p in (assets.SAMPLES / "digits").glob("*.png")),
                    key=lambda n: (n.split("_")[0] != "rts", n.split("_")[0] != "cluttered", n))
    photos = sorted(p.name for p in assets.SAMPLES.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    return assets.SAMPLES, digits, photos


def sample_label(name: str) -> str:
    """"rts_0003_label0.png" -> "digit 0 · RTS test set #3"; a photo by its file name."""
    parts = name.removesuffix(".png").split("_")
    if len(parts) == 3 and parts[0] in SETS and parts[2].startswith("label"):
        return f"digit {parts[2][5:]} · {SETS[parts[0]]} test set #{int(parts[1])}"
    return f"photo · {name}"


def _forget_upload():
    st.session_state.pop(SAVED, None)
    st.session_state[RESTORED] = False


def _upload():
    """(name, bytes) of the upload in use, or None."""
    alive = UPLOAD in st.session_state  # False after a visit to another page
    file = st.file_uploader("Upload a photo of a digit, or any image", key=UPLOAD,
                            help="JPEG, PNG, WebP, BMP or GIF, up to 50 MB. A digit on plain paper works best.")
    saved = st.session_state.get(SAVED)
    if file is not None:
        if not saved or saved[0] != file.file_id:
            st.session_state[SAVED] = saved = (file.file_id, file.name, file.getvalue())
        st.session_state[RESTORED] = False
    elif saved and (st.session_state.get(RESTORED) or not alive):
        st.session_state[RESTORED] = True
    else:  # never uploaded, or the user removed the file
        _forget_upload()
        return None
    return saved[1], saved[2]


def pick(mode: str):
    """The picture for ``mode`` ("Learned" or "Manual"): (RGB array or None, name, sample name or "").

    An upload that cannot be read shows a plain error and gives (None, name, "")."""
    from model.core.images import ImageLoadError, load_image
    from ui.common import escape

    folder, digits, photos = samples()
    left, right = st.columns([3, 2])
    with left:
        upload = _upload()
    if upload is not None:
        name, data = upload
        right.selectbox("…or pick a sample", [f"your upload: {name}"], disabled=True, key="stn_sample_off",
                        help="Remove the upload to pick a sample again.")
        if st.session_state.get(RESTORED):
            right.button("Use a sample instead", on_click=_forget_upload, key="stn_forget")
        try:
            return load_image(data), name, ""
        except ImageLoadError as e:
            st.error(f"Could not use {escape(name)}: {e}")
            return None, name, ""
    options = digits + photos if mode == "Learned" else photos + digits
    key = remember("stn_digit" if mode == "Learned" else "stn_photo", options[0], options)
    choice = right.selectbox("…or pick a sample", options, key=key, format_func=sample_label,
                             help="Distorted MNIST test digits (made by train/stn/evaluate.py) and photos.")
    path = folder / "digits" / choice if choice in digits else folder / choice
    return load_image(path.read_bytes()), sample_label(choice), choice
