"""Pictures of the faithfulness tests: the deletion curve of a caption word, the importance bars of
a target word. Pure functions: arrays and labels in, Plotly figures out (maps over photos are
viz.overlay.attention_overlay's, given the gradient norm instead of alpha).
"""
import numpy as np

HEIGHT = 280
LINES = (("top", "top-k % by α", "#d62728"), ("random", "k % random", "#7f7f7f"), ("bottom", "bottom-k % by α", "#1f77b4"))


def _layout(fig, title: str, x_title: str, y_title: str):
    fig.update_layout(title=dict(text=title, font=dict(size=14)), height=HEIGHT, margin=dict(l=10, r=10, t=40, b=10),
                      xaxis=dict(title=x_title), yaxis=dict(title=y_title, zeroline=True),
                      legend=dict(orientation="h", y=-0.3))
    return fig


def deletion_curve(ks, curves: dict, marked: float | None = 0.1):
    """Δ log p of a word (y) against the share of cells deleted (x), one line per ``LINES`` name in
    ``curves`` (name -> values per k); a dotted line at ``marked``, the k the numbers quote."""
    import plotly.graph_objects as go

    x = [100 * k for k in ks]
    fig = go.Figure([go.Scatter(x=x, y=np.asarray(curves[name], float), name=label, mode="lines+markers",
                                line=dict(color=colour), hovertemplate=f"{label}, %{{x:.0f}} %: Δ log p %{{y:+.3f}}<extra></extra>")
                     for name, label, colour in LINES if name in curves])
    if marked is not None:
        fig.add_vline(x=100 * marked, line_dash="dot", line_color="#999")
    fig = _layout(fig, "Deletion curve", "cells deleted (%)", "Δ log p(word)")
    return fig.update_layout(height=HEIGHT + 60, legend=dict(orientation="h", y=-0.45))


def importance_bars(source_tokens: list[str], attention, loo, grad):
    """Per source token: attention, leave-one-out importance (-Δ log p) and |gradient × input|, each
    scaled to its largest value so the three orderings can be compared by eye."""
    import plotly.graph_objects as go

    def scaled(v):
        v = np.asarray(v, float)
        top = np.abs(v).max() if v.size else 0
        return v / top if top > 0 else v

    labels = [f"{i}: {t}" for i, t in enumerate(source_tokens)]  # repeated words stay apart
    series = (("attention α", attention, "#ff7f0e"), ("leave-one-out −Δ log p", -np.asarray(loo, float), "#d62728"),
              ("|gradient × input|", np.abs(np.asarray(grad, float)), "#1f77b4"))
    fig = go.Figure([go.Bar(x=labels, y=scaled(v), name=name, marker_color=colour, customdata=np.asarray(v, float),
                            hovertemplate=f"{name} %{{x}}: %{{customdata:.4f}}<extra></extra>")
                     for name, v, colour in series])
    fig.update_layout(barmode="group")
    fig.update_xaxes(type="category")
    return _layout(fig, "Which source words matter for this word", "source token", "share of the largest")
