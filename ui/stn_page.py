"""Spatial transformer page: where an STN's sampling grid lands, what comes out, and how the
classifier does with and without it.

Learned mode runs the shipped ST-CNN (and its CNN baseline) on a digit; manual mode builds θ
from sliders and resamples any image at full resolution, no model needed.
"""
import cv2
import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from model.checkpoint import CheckpointError
from model.stn import MODELS, files, load_model, low_confidence, prepare, read
from model.stn_net import sample, theta_from_params
from ui.common import ASSETS, SAMPLES, device, image_input, missing_model
from viz.grid import draw_grid, enlarge
from viz.images import load_image

DIGITS = SAMPLES / "digits"
MAX_SIDE = 2048  # manual mode: larger images are shrunk first, so a rerun stays interactive
LABELS = {"rts": "RTS: rotated, scaled, moved in 42×42", "cluttered": "cluttered: 60×60 with clutter"}


def run_device() -> torch.device:
    try:
        return device()
    except ValueError:  # a bad ATTENTION_LENS_DEVICE; the sidebar already says so
        return torch.device("cpu")


@st.cache_resource
def models(name: str):
    """(ST-CNN, CNN baseline or None), loaded once per process."""
    st_file, cnn_file = files(name)
    d = run_device()
    baseline = load_model(ASSETS / cnn_file, d) if (ASSETS / cnn_file).is_file() else None
    return load_model(ASSETS / st_file, d), baseline


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
    if missing_model("spatial transformer", [files("rts")[0]]):
        return
    available = [m for m in MODELS if (ASSETS / files(m)[0]).is_file()]
    digits = sorted((p.name for p in DIGITS.glob("*.png")), key=lambda n: (not n.startswith("rts_"), n))
    left, right = st.columns(2)
    digit = left.selectbox("…or a distorted MNIST test digit", ["(none)"] + digits, index=min(1, len(digits)),
                           key="stn_digit", help="Made by train/evaluate_stn.py from the fixed test sets.")
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

    size, out_size = model.cfg.input_size, model.cfg.output_size
    prepared = prepare(image, size)
    with_st = read(model, prepared.input)
    without = read(baseline, prepared.input) if baseline else None

    st.subheader("1. Preprocessing")
    steps = st.columns(4)
    steps[0].image(image, caption=f"{name} — {image.shape[1]}×{image.shape[0]}")
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
    if low_confidence(prepared, *[r for r in (with_st, without) if r]):
        why = ("the picture does not look like a single digit on a plain background" if not prepared.digit_like
               else "the models are unsure or disagree")
        st.warning(f"Low confidence: {why}. The grid and output above are still what the network did.")
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
    d = run_device()
    x = torch.from_numpy(image).to(d).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():  # on the original pixels, output the same size as the input
        out = sample(x, theta[None].to(d), (h, w))[0].permute(1, 2, 0).clamp(0, 1).mul(255).round()
    left, right = st.columns(2)
    left.image(draw_grid(image, theta.numpy(), (h, w), lattice=9),
               caption=f"{name} with the sampling grid (red outline, yellow top edge, blue sampled points)")
    right.image(out.to(torch.uint8).cpu().numpy(), caption=f"output {w}×{h}: grid_sample on the original pixels")
    st.latex(theta_latex(theta.numpy()))
