"""Alignment matrices (target x source attention weights) as figures and PNGs.

Pure functions: a matrix and its two token lists in, a figure or bytes out.
Plotly for the interactive page, matplotlib for the static PNG download.
"""
import io
import warnings

import matplotlib
import numpy as np

matplotlib.use("Agg")  # no display on servers
from matplotlib.figure import Figure  # noqa: E402


def check_alignment(alignment, source_tokens: list[str], target_tokens: list[str]) -> np.ndarray:
    """The matrix as a float array of shape (len(target), len(source)), or a ValueError saying why not."""
    a = np.asarray(alignment, dtype=np.float64)
    if a.ndim != 2 or a.shape != (len(target_tokens), len(source_tokens)):
        raise ValueError(f"alignment of shape {a.shape} does not match {len(target_tokens)} target "
                         f"x {len(source_tokens)} source tokens")
    return a


def unique_labels(tokens: list[str]) -> list[str]:
    """Plotly merges equal category labels; number repeated tokens ("le", "le·2") to keep every row."""
    seen: dict[str, int] = {}
    out = []
    for t in tokens:
        seen[t] = seen.get(t, 0) + 1
        out.append(t if seen[t] == 1 else f"{t}·{seen[t]}")
    return out


def alignment_heatmap(alignment, source_tokens: list[str], target_tokens: list[str], title: str = ""):
    """Interactive Plotly heatmap: source tokens on x, target tokens on y, hover shows the weight."""
    import plotly.graph_objects as go

    a = check_alignment(alignment, source_tokens, target_tokens)
    fig = go.Figure(go.Heatmap(
        z=a, x=unique_labels(source_tokens), y=unique_labels(target_tokens), zmin=0, zmax=1,
        colorscale="Blues", colorbar=dict(title="weight"),
        hovertemplate="target %{y}<br>source %{x}<br>weight %{z:.3f}<extra></extra>"))
    fig.update_layout(title=title, xaxis=dict(title="source", side="top", type="category"),
                      yaxis=dict(title="target", autorange="reversed", type="category"),
                      height=180 + 28 * len(target_tokens), margin=dict(l=10, r=10, t=90, b=10))
    return fig


def alignment_figure(alignment, source_tokens: list[str], target_tokens: list[str], title: str = "") -> Figure:
    """The same matrix as a static matplotlib figure, the numbers written in strong cells."""
    a = check_alignment(alignment, source_tokens, target_tokens)
    fig = Figure(figsize=(1.0 + 0.55 * max(len(source_tokens), 2), 1.0 + 0.45 * max(len(target_tokens), 2)),
                 dpi=120)
    ax = fig.add_subplot()
    ax.imshow(a, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(source_tokens)), [_plain(t) for t in source_tokens], rotation=60, ha="left")
    ax.set_yticks(range(len(target_tokens)), [_plain(t) for t in target_tokens])
    ax.xaxis.tick_top()
    for (i, j), w in np.ndenumerate(a):
        if w >= 0.3:  # write only the weights worth reading
            ax.text(j, i, f"{w:.2f}", ha="center", va="center", fontsize=7, color="white" if w > 0.6 else "black")
    if title:
        ax.set_title(title, fontsize=9, pad=40)
    fig.tight_layout()
    return fig


def _plain(token: str) -> str:
    """Escape $ so matplotlib never reads a user's word as mathtext."""
    return token.replace("$", r"\$")


def alignment_png(alignment, source_tokens: list[str], target_tokens: list[str], title: str = "") -> bytes:
    """PNG bytes of ``alignment_figure``, for a download button."""
    buf = io.BytesIO()
    with warnings.catch_warnings():  # emoji or CJK words are drawn as boxes; that is not worth a warning
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        alignment_figure(alignment, source_tokens, target_tokens, title).savefig(buf, format="png")
    return buf.getvalue()
