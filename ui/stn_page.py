"""Spatial transformer page: where an STN's sampling grid lands, what comes out, and how the
classifier does with and without it.

Learned mode runs the shipped ST-CNN (and its CNN baseline) on a digit; manual mode builds θ
from sliders and resamples any image at full resolution, no model needed.
"""
import cv2
import numpy as np
import plotly.graph_objects as go
import streamlit as st

from model.core import assets
from model.core.checkpoint import CheckpointError
from model.core.device import safe_device
from model.core.images import load_image
from model.stn.net import theta_from_params
from model.stn.pipeline import MODELS, resample, transform
from ui.common import SAMPLES, escape, image_input, load_bundle, missing_model
from viz.grid import draw_grid, enlarge

DIGITS = SAMPLES / "digits"
MAX_SIDE = 2048  # manual mode: larger images are shrunk first, so a rerun stays interactive
LABELS = {"rts": "RTS: rotated, scaled, moved in 42×42", "cluttered": "cluttered: 60×60 with clutter"}


def models(name: str):
    """(ST-CNN, CNN baseline or None) of a shipped variant, loaded once per process."""
    baseline = assets.stn(name, baseline=True)
    return load_bundle(assets.stn(name)), load_bundle(baseline) if baseline.is_file() else None


def theta_latex(theta) -> str:
    rows = [" & ".join(f"{v:+.3f}" for v in row) for row in np.asarray(theta)]
    return r"\theta = \begin{bmatrix}" + r" \\ ".join(rows) + r"\end{bmatrix}"


def render():
    st.header("Spatial transformer: the sampling grid on your image")
    mode = st.radio("Mode", ["Learned", "Manual"], horizontal=True, key="stn_mode",
                    help="Learned: the trained network picks θ for a digit. Manual: you set θ with sliders.")
    image, name = image_input("stn", "Upload a photo of a handwritten digit, or any image")
    if mode == "Learned":
        learned(image, name)
    else:
        manual(image, name)


# ---------------------------------------------------------------------------- learned mode

def learned(image, name):
    if missing_model("spatial transformer", [assets.stn("rts")]):
        return
    available = [m for m in MODELS if assets.stn(m).is_file()]
    digits = sorted((p.name for p in DIGITS.glob("*.png")), key=lambda n: (not n.startswith("rts_"), n))
    left, right = st.columns(2)
    digit = left.selectbox("…or a distorted MNIST test digit", ["(none)"] + digits, index=min(1, len(digits)),
                           key="stn_digit", help="Made by train/stn/evaluate.py from the fixed test sets.")
    if image is None and not name and digit != "(none)":
        image, name = load_image((DIGITS / digit).read_bytes()), digit
    from_sample = name == digit and digit.split("_")[0] in available
    choice = right.selectbox("Model", available, format_func=LABELS.get, key="stn_model", disabled=from_sample,
                             help="A digit sample uses the model of the set it comes from.")
    if image is None:
        st.info("Upload a photo of a digit, or pick a sample.")
        return
    used = digit.split("_")[0] if from_sample else choice
    try:
        model, baseline = models(used)
    except CheckpointError as e:
        st.error(f"The spatial transformer could not be loaded: {e}")
        return

    result = transform(model, baseline, image)
    prepared, with_st, without = result.prepared, result.reading, result.baseline
    size, out_size = model.preprocessing.input_size, model.model.cfg.output_size

    st.subheader("1. Preprocessing")
    steps = st.columns(4)
    steps[0].image(image, caption=f"{escape(name)} — {image.shape[1]}×{image.shape[0]}")
    steps[1].image(prepared.grey, caption="grayscale")
    steps[2].image(prepared.levels, clamp=True,
                   caption="inverted (light background), background → 0" if prepared.inverted
                   else "not inverted (dark background), background → 0")
    steps[3].image(enlarge(prepared.input, 168), caption=f"model input {size}×{size}")

    st.subheader(f"2. The transformer ({LABELS[used]})")
    cols = st.columns([2, 2, 3])
    cols[0].image(draw_grid(prepared.input, with_st.theta, (out_size, out_size)),
                  caption="input with the sampling grid: red outline = the output's border, yellow = its top edge, "
                          "blue dots = sampled points")
    cols[1].image(enlarge(with_st.output, 336), caption=f"transformed output {out_size}×{out_size}")
    cols[2].latex(theta_latex(with_st.theta))
    cols[2].caption("θ maps output to input positions, both in [-1, 1]: (x_in, y_in) = θ·(x_out, y_out, 1). "
                    "A scale below 1 zooms in.")

    st.subheader("3. Classification with and without the transformer")
    text = f"**With the transformer (ST-CNN):** {with_st.prediction} ({with_st.probabilities.max():.0%})"
    if without:
        text += f" · **Without (CNN baseline):** {without.prediction} ({without.probabilities.max():.0%})"
    st.markdown(text)
    if result.low_confidence:
        st.warning(f"Low confidence: {result.doubt}. The grid and output above are still what the network did.")
    fig = go.Figure()
    fig.add_bar(x=list(range(10)), y=with_st.probabilities, name="with transformer (ST-CNN)")
    if without:
        fig.add_bar(x=list(range(10)), y=without.probabilities, name="without (CNN baseline)")
    fig.update_layout(barmode="group", height=300, margin=dict(l=10, r=10, t=30, b=10),
                      xaxis=dict(title="class", dtick=1), yaxis=dict(title="probability", range=[0, 1]))
    st.plotly_chart(fig, key="stn_probabilities")


# ---------------------------------------------------------------------------- manual mode

def manual(image, name):
    if image is None:
        st.info("Upload an image or pick a sample: you set θ with the sliders and see the grid and the output.")
        return
    h, w = image.shape[:2]
    if max(h, w) > MAX_SIDE:
        k = MAX_SIDE / max(h, w)
        image = cv2.resize(image, (max(1, round(w * k)), max(1, round(h * k))), interpolation=cv2.INTER_AREA)
        st.caption(f"The image is {w}×{h}; it is shown and transformed at {image.shape[1]}×{image.shape[0]} "
                   f"(longest side {MAX_SIDE}).")
        h, w = image.shape[:2]
    c = st.columns(6)
    rotation = c[0].slider("rotation °", -180, 180, 0, key="stn_rotation")
    scale_x = c[1].slider("scale x", 0.2, 3.0, 1.0, 0.05, key="stn_scale_x", help="above 1 zooms out")
    scale_y = c[2].slider("scale y", 0.2, 3.0, 1.0, 0.05, key="stn_scale_y")
    shear = c[3].slider("shear", -1.0, 1.0, 0.0, 0.05, key="stn_shear")
    tx = c[4].slider("shift x", -1.0, 1.0, 0.0, 0.05, key="stn_tx", help="in half-widths of the image")
    ty = c[5].slider("shift y", -1.0, 1.0, 0.0, 0.05, key="stn_ty", help="in half-heights of the image")
    theta = theta_from_params(rotation, scale_x, scale_y, shear, tx, ty, in_hw=(h, w))
    out = resample(image, theta, safe_device())  # on the original pixels, output the same size as the input
    left, right = st.columns(2)
    left.image(draw_grid(image, theta.numpy(), (h, w), lattice=9),
               caption=f"{escape(name)} with the sampling grid (red outline, yellow top edge, blue sampled points)")
    right.image(out, caption=f"output {w}×{h}: grid_sample on the original pixels")
    st.latex(theta_latex(theta.numpy()))
