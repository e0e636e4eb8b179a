"""Bar charts of the query-key-value lab's three steps: scores, weights, and the context as a sum.

Pure functions: arrays and labels in, Plotly figures out.
"""
import numpy as np

HEIGHT = 270
MASKED = "#c9c9c9"  # a masked key's bar: there, but out of the game
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")


def key_colour(i: int) -> str:
    """One colour per key, the same in every chart, so key 3's weight and its share of the context match."""
    return COLOURS[i % len(COLOURS)]


def _layout(fig, title: str, y_title: str):
    fig.update_layout(title=dict(text=title, font=dict(size=14)), height=HEIGHT, showlegend=False,
                      margin=dict(l=10, r=10, t=40, b=10), yaxis=dict(title=y_title, zeroline=True),
                      xaxis=dict(type="category"))
    return fig


def key_bars(labels: list[str], values, masked, title: str, y_title: str, unit_range: bool = False):
    """One bar per key, its value written on it; masked keys grey and labelled so."""
    import plotly.graph_objects as go

    values, masked = np.asarray(values, float), np.asarray(masked, bool)
    colours = [MASKED if m else key_colour(i) for i, m in enumerate(masked)]
    text = ["masked" if m else f"{v:.3f}" for v, m in zip(values, masked)]  # its number is in the table
    fig = go.Figure(go.Bar(x=labels, y=values, marker_color=colours, text=text, textposition="outside",
                           cliponaxis=False, constraintext="none",
                           hovertemplate="%{x}: %{y:.4f}<extra></extra>"))
    _layout(fig, title, y_title)
    if unit_range:
        fig.update_yaxes(range=[0, 1.12])
    return fig


def context_bars(labels: list[str], weights, values, masked, title: str):
    """The context c = sum_i alpha_i v_i per dimension, as a stack of each key's share alpha_i v_i.

    Positive and negative shares stack away from 0 (Plotly's "relative" mode); the total is written
    above each dimension.
    """
    import plotly.graph_objects as go

    weights, values = np.asarray(weights, float), np.asarray(values, float)
    dims = [f"c{j + 1}" for j in range(values.shape[1])]
    fig = go.Figure()
    for i, (label, w, v, m) in enumerate(zip(labels, weights, values, masked)):
        if m:
            continue  # weight 0: no share
        fig.add_trace(go.Bar(x=dims, y=w * v, name=label, marker_color=key_colour(i),
                             hovertemplate=f"{label}: %{{y:.4f}} = {w:.3f} × v<extra></extra>"))
    context = weights @ values
    shares = weights[:, None] * values
    top, bottom = np.maximum(shares, 0).sum(0), np.minimum(shares, 0).sum(0)  # the ends of each stack
    fig.add_trace(go.Scatter(x=dims, y=top, mode="text", text=[f"{c:.3f}" for c in context],
                             textposition="top center", hoverinfo="skip"))
    fig.update_layout(barmode="relative")
    _layout(fig, title, "αᵢ · vᵢ, stacked")
    span = max(float(top.max() - bottom.min()), 1e-9)
    fig.update_yaxes(range=[float(bottom.min()) - 0.05 * span, float(top.max()) + 0.15 * span])
    return fig
