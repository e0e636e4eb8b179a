"""Spatial transformer page: where an STN's sampling grid lands, what comes out, and how the
classifier does with and without it.

Learned mode runs the shipped ST-CNN (and its CNN baseline) on a digit; manual mode (ui.stn_manual)
builds θ from sliders on any picture, no model needed. Every picture is drawn at panel size.
Nothing heavy is imported until the page is drawn, so the app starts fast.
"""
import numpy as np
import streamlit as st

from ui.stn_inputs import pick
from ui.common import remember

PANEL = 210  # px: every picture of step 1 is a square of this side (42 × 5: whole pixels for the RTS input)
BIG = 280    # px: the two pictures of step 2 (28 × 10)
LABELS = {"rts": "RTS: rotated, scaled, moved in 42×42", "cluttered": "cluttered: 60×60 with clutter"}
THETA_NOTE = ("θ maps each **output** pixel to the **input** point it reads from: "
              "(x_in, y_in) = θ·(x_out, y_out, 1), both in [-1, 1]. The grid is drawn on the input; straightening "
              "it out into the output square turns the picture the opposite way (a grid turned +30° gives an "
              "output turned −30°). Below, each output point (left) and where it reads (right), in the same colour.")


def theta_latex(theta) -> str:
    rows = [" & ".join(f"{v:+.3f}" for v in row) for row in np.asarray(theta)]
    return r"\theta = \begin{bmatrix}" + r" \\ ".join(rows) + r"\end{bmatrix}"


def explain_theta(numbers, words, theta) -> None:
    """θ as numbers (in ``numbers``), one sentence on what it means and the small diagram (in ``words``)."""
    from viz.grid import mapping_diagram
    numbers.latex(theta_latex(theta))
    words.caption(THETA_NOTE)
    words.image(mapping_diagram(theta, 120), caption="output points → where they read in the input")


def render():
    st.header("Spatial transformer: the sampling grid on your image")
    mode = st.radio("Mode", ["Learned", "Manual"], horizontal=True, key=remember("stn_mode", "Learned"),
                    help="Learned: the trained network picks θ for a digit. Manual: you set θ yourself.")
    image, name, sample = pick(mode)
    if image is None:
        return
    if mode == "Learned":
        learned(image, name, sample)
    else:
        from ui.stn_manual import manual
        manual(image, name)


def models(variant: str):
    """(ST-CNN, CNN baseline or None) of a shipped variant, loaded once per process."""
    from model.core import assets
    from ui.common import load_bundle
    baseline = assets.stn(variant, baseline=True)
    return load_bundle(assets.stn(variant)), load_bundle(baseline) if baseline.is_file() else None


def learned(image, name: str, sample: str):
    from model.core import assets
    from model.core.checkpoint import CheckpointError
    from model.stn.pipeline import MODELS, transform
    from ui.common import escape, missing_model
    from viz.grid import draw_grid, enlarge, letterbox

    if missing_model("spatial transformer", [assets.stn("rts")]):
        return
    available = [m for m in MODELS if assets.stn(m).is_file()]
    own = sample.split("_")[0] if sample.split("_")[0] in available else ""
    choice = st.columns(2)[0].selectbox("Model", available, format_func=LABELS.get, disabled=bool(own),
                          key=remember("stn_model", available[0], available),
                          help="A distorted MNIST sample uses the model of the set it comes from.")
    used = own or choice
    try:
        model, baseline = models(used)
    except CheckpointError as e:
        st.error(f"The spatial transformer could not be loaded: {e}")
        return
    result = transform(model, baseline, image)
    prepared, with_st, without = result.prepared, result.reading, result.baseline
    size, out_size = model.preprocessing.input_size, model.model.cfg.output_size
    h, w = image.shape[:2]

    st.subheader("1. What the network is given")
    steps = st.columns(4)
    steps[0].image(letterbox(image, PANEL), width=PANEL, caption=f"{escape(name)}, {w}×{h}")
    steps[1].image(letterbox(prepared.grey, PANEL), width=PANEL, caption="in grey")
    steps[2].image(letterbox(prepared.levels, PANEL), width=PANEL,
                   caption="inverted, background → 0" if prepared.inverted else "background → 0 (not inverted)")
    steps[3].image(letterbox(enlarge(prepared.input, PANEL, PANEL, pixel_lines=True), PANEL), width=PANEL,
                   caption=f"model input {size}×{size}, one square per pixel")

    st.subheader(f"2. Where it looks ({LABELS[used]})")
    cols = st.columns([1, 1, 1.25])
    grid = draw_grid(prepared.input, with_st.theta, (out_size, out_size), min_side=BIG, max_side=BIG)
    cols[0].image(letterbox(grid, BIG), width=BIG,
                  caption="input with the sampling grid: red = the output's border, yellow = its top edge, "
                          "blue = sampled points; grey squares = outside the input (read as 0)")
    cols[1].image(letterbox(enlarge(with_st.output, BIG, BIG, pixel_lines=True), BIG), width=BIG,
                  caption=f"transformed output {out_size}×{out_size}: what the classifier reads")
    explain_theta(cols[2], cols[2], with_st.theta)

    st.subheader("3. What it reads, with and without the transformer")
    text = f"**With the transformer (ST-CNN):** {with_st.prediction} ({with_st.probabilities.max():.0%})"
    if without:
        text += f" · **Without (CNN baseline):** {without.prediction} ({without.probabilities.max():.0%})"
    st.markdown(text)
    if result.low_confidence:
        st.warning(f"Low confidence: {result.doubt}. The grid and output above are still what the network did.")
    probabilities_chart(with_st, without)


def probabilities_chart(with_st, without) -> None:
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_bar(x=list(range(10)), y=with_st.probabilities, name="with transformer (ST-CNN)")
    if without:
        fig.add_bar(x=list(range(10)), y=without.probabilities, name="without (CNN baseline)")
    fig.update_layout(barmode="group", height=240, margin=dict(l=10, r=10, t=10, b=10),
                      legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
                      xaxis=dict(title="class", dtick=1, fixedrange=True),
                      yaxis=dict(title="probability", range=[0, 1], fixedrange=True))
    st.plotly_chart(fig, key="stn_probabilities", config={"displayModeBar": False})


def warm():
    """Import what the page needs and load the opening digit's models (ui.common.warm_up, in the background)."""
    import model.stn.pipeline  # noqa: F401
    import ui.stn_manual  # noqa: F401
    import viz.grid  # noqa: F401
    from model.core import assets
    if assets.stn("rts").is_file():
        models("rts")
