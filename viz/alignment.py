"""Alignment matrices (target x source attention weights) as figures and PNGs.

Pure functions: a matrix and its two token lists in, a figure or bytes out.
Plotly for the interactive page, matplotlib for the static PNG download.

Both axes are numeric (cell i, j at x = j, y = i) with the words as tick text, so repeated words
keep their own row and column without renaming them ("the", "the·2"), and every word gets a label
at any sentence length. Two matrices drawn with the same ``Frame`` have the same row height, the
same room for labels and the same number of rows, so they line up side by side.
"""
import io
import warnings
from dataclasses import dataclass

import matplotlib
import numpy as np

matplotlib.use("Agg")  # no display on servers
from matplotlib.figure import Figure  # noqa: E402

ROW_PX = 26        # height of one target row on the page
CHAR_PX = 7        # width of one character of a 12-px tick label
MAX_LABEL = 16     # longer words are cut on the axis (the hover has them whole)
FLAT_BUDGET = 420  # px of labels that still fit side by side horizontally in half the page


def check_alignment(alignment, source_tokens: list[str], target_tokens: list[str]) -> np.ndarray:
    """The matrix as a float array of shape (len(target), len(source)), or a ValueError saying why not."""
    a = np.asarray(alignment, dtype=np.float64)
    if a.ndim != 2 or a.shape != (len(target_tokens), len(source_tokens)):
        raise ValueError(f"alignment of shape {a.shape} does not match {len(target_tokens)} target "
                         f"x {len(source_tokens)} source tokens")
    return a


def short(token: str) -> str:
    """The word as an axis label: cut to MAX_LABEL characters."""
    return token if len(token) <= MAX_LABEL else token[:MAX_LABEL - 1] + "…"


def ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def occurrence_labels(tokens: list[str]) -> list[str]:
    """How the hover names each token: the word itself, or '2nd "my"' when it occurs more than once."""
    total = {t: tokens.count(t) for t in set(tokens)}
    seen: dict[str, int] = {}
    out = []
    for t in tokens:
        seen[t] = seen.get(t, 0) + 1
        out.append(t if total[t] == 1 else f'{ordinal(seen[t])} "{t}"')
    return out


@dataclass(frozen=True)
class Frame:
    """The geometry two matrices share so that their rows line up: rows drawn, label angle and font
    size, margins (px), and whether each draws its colour bar."""
    rows: int
    angle: int
    top: int
    left: int
    font: int = 12
    colorbar: bool = True

    @property
    def height(self) -> int:
        return self.top + self.rows * ROW_PX + 12


def frame_for(sources: list[list[str]], targets: list[list[str]], width: int = 900, colorbar: bool = True) -> Frame:
    """One frame for matrices of these source and target token lists (one list per matrix), each
    about ``width`` px wide: labels turn when they do not fit flat, and get smaller when even turned
    they would touch (a 30-word sentence in half the page)."""
    words = [short(t) for s in sources for t in s] or [""]
    longest = max(len(w) for w in words)
    columns = max(len(s) for s in sources)
    flat = max(len(w) * CHAR_PX + 10 for w in words) * columns <= min(FLAT_BUDGET, width - 150)
    angle = 0 if flat else -90 if columns > 12 else -50
    left = max(len(short(t)) for tg in targets for t in tg) * CHAR_PX + 36
    per_column = (width - left - (90 if colorbar else 15)) / columns
    font = 12 if angle == 0 or per_column >= 16 else max(8, int(per_column * 0.8))
    rise = {0: 14, -50: 0.77 * longest * CHAR_PX, -90: longest * CHAR_PX}[angle] * font / 12
    return Frame(max(len(t) for t in targets), angle, int(rise) + 48, left, font, colorbar)


def alignment_heatmap(alignment, source_tokens: list[str], target_tokens: list[str], frame: Frame | None = None):
    """Interactive Plotly heatmap: source tokens on x (top), target tokens on y, hover shows both words
    and the weight. Rows past the target's own length (to match ``frame``) are left blank."""
    import plotly.graph_objects as go

    a = check_alignment(alignment, source_tokens, target_tokens)
    frame = frame or frame_for([source_tokens], [target_tokens])
    n_tgt, n_src = a.shape
    names_t, names_s = occurrence_labels(target_tokens), occurrence_labels(source_tokens)
    words = [[[names_t[i], names_s[j]] for j in range(n_src)] for i in range(n_tgt)]
    fig = go.Figure(go.Heatmap(
        z=a, x=list(range(n_src)), y=list(range(n_tgt)), zmin=0, zmax=1, customdata=words,
        colorscale="Blues", xgap=1, ygap=1, showscale=frame.colorbar,
        colorbar=dict(title=dict(text="weight", side="right"), thickness=12, len=min(1.0, 220 / frame.height + 0.3)),
        hovertemplate="target %{customdata[0]}<br>source %{customdata[1]}<br>weight %{z:.3f}<extra></extra>"))
    axis = dict(tickmode="array", showgrid=False, zeroline=False, fixedrange=True, automargin=False,
                tickfont=dict(size=frame.font), ticks="")
    fig.update_layout(
        xaxis=dict(axis, title=dict(text="source", standoff=4), side="top", range=[-0.5, n_src - 0.5],
                   tickvals=list(range(n_src)), ticktext=[short(t) for t in source_tokens], tickangle=frame.angle),
        yaxis=dict(axis, title=dict(text="target", standoff=4), range=[frame.rows - 0.5, -0.5],
                   tickvals=list(range(n_tgt)), ticktext=[short(t) for t in target_tokens]),
        height=frame.height, margin=dict(l=frame.left, r=10, t=frame.top, b=12),
        dragmode=False, plot_bgcolor="white")
    return fig


def alignment_figure(alignment, source_tokens: list[str], target_tokens: list[str], title: str = "") -> Figure:
    """The same matrix as a static matplotlib figure, the numbers written in strong cells."""
    a = check_alignment(alignment, source_tokens, target_tokens)
    n_tgt, n_src = a.shape
    longest = max((len(short(t)) for t in source_tokens), default=1)
    fig = Figure(figsize=(1.6 + 0.42 * max(n_src, 3), 1.4 + 0.1 * longest + 0.38 * max(n_tgt, 2)), dpi=120)
    ax = fig.add_subplot()
    ax.imshow(a, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(n_src), [_plain(short(t)) for t in source_tokens], rotation=90)
    ax.set_yticks(range(n_tgt), [_plain(short(t)) for t in target_tokens])
    ax.xaxis.tick_top()
    for (i, j), w in np.ndenumerate(a):
        if w >= 0.3:  # write only the weights worth reading
            ax.text(j, i, f"{w:.2f}", ha="center", va="center", fontsize=7, color="white" if w > 0.6 else "black")
    if title:
        fig.suptitle(_plain(title), fontsize=10)
    fig.tight_layout()
    return fig


def _plain(text: str) -> str:
    """Escape $ so matplotlib never reads a user's word as mathtext."""
    return text.replace("$", r"\$")


def alignment_png(alignment, source_tokens: list[str], target_tokens: list[str], title: str = "") -> bytes:
    """PNG bytes of ``alignment_figure``, for a download button."""
    buf = io.BytesIO()
    with warnings.catch_warnings():  # emoji or CJK words are drawn as boxes; that is not worth a warning
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        alignment_figure(alignment, source_tokens, target_tokens, title).savefig(buf, format="png")
    return buf.getvalue()
