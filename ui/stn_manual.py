"""Manual mode of the Spatial transformer page: θ from five sliders, applied to any picture.

The picture is first shrunk to the display size (WORK on its longer side): the sampling, the drawn
grid and the output are all that size, whatever was uploaded.
"""
import streamlit as st

from ui.common import remember

WORK = 640  # px: the longer side the picture is transformed and shown at
SLIDERS = {  # key: (label, min, max, default, step, help)
    "stn_rotation": ("rotation °", -180, 180, 0, 1, "Turns the sampling grid; the output turns the other way."),
    "stn_scale": ("scale", 0.2, 3.0, 1.0, 0.05, "Size of the grid: below 1 zooms in, above 1 zooms out."),
    "stn_tx": ("shift x", -1.0, 1.0, 0.0, 0.05, "Moves the grid right, in half-widths of the picture."),
    "stn_ty": ("shift y", -1.0, 1.0, 0.0, 0.05, "Moves the grid down, in half-heights of the picture."),
    "stn_shear": ("shear", -1.0, 1.0, 0.0, 0.05, "Slants the grid."),
}


def reset():
    for key, (*_, default, _step, _help) in SLIDERS.items():
        st.session_state[key] = default


def manual(image, name: str):
    from model.core.device import safe_device
    from model.stn.net import theta_from_params
    from model.stn.pipeline import resample
    from ui.common import escape
    from ui.stn_page import explain_theta
    from viz.grid import draw_grid, fit

    h, w = image.shape[:2]
    small = fit(image, WORK)
    sh, sw = small.shape[:2]
    controls, pictures = st.columns([1, 3.2])
    values = {}
    with controls:
        for key, (label, lo, hi, default, step, help_) in SLIDERS.items():
            values[key] = st.slider(label, lo, hi, step=step, key=remember(key, default), help=help_)
        st.button("Reset", on_click=reset, key="stn_reset", help="Back to the identity: the output equals the input.")
    theta = theta_from_params(values["stn_rotation"], values["stn_scale"], values["stn_scale"], values["stn_shear"],
                              values["stn_tx"], values["stn_ty"], in_hw=(sh, sw))
    out = resample(small, theta, safe_device())
    shown = f"{escape(name)}, {w}×{h}" + (f" (shown at {sw}×{sh})" if (sw, sh) != (w, h) else "")
    left, right = pictures.columns(2)
    left.image(draw_grid(small, theta.numpy(), (sh, sw), lattice=9, min_side=1, max_side=WORK),
               caption=f"{shown} with the sampling grid: red = the output's border, yellow = its top edge; "
                       "grey squares = outside the picture (read as black)")
    right.image(out, caption=f"output {sw}×{sh}: each pixel read from the grid point over it")
    numbers, words = pictures.columns([1, 1.3])
    explain_theta(numbers, words, theta.numpy())
