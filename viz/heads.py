"""Every attention head of a Transformer: head view, model view and one matrix large.

Pure functions: weight arrays (numpy or nested lists) and token lists in, pictures out.

- ``head_view_html``: two columns of words, a line from each word on the left (the queries) to each
  word on the right it attends to (the keys), one colour per head, line opacity = weight. Hovering a
  word keeps only its lines, as bertviz's head view does. Plotly cannot run code on hover inside
  Streamlit (st.plotly_chart reports clicks and selections, not hovers), so this view is a small
  self-contained SVG page for ``st.iframe``: no library, nothing fetched, the
  words put in with ``textContent`` (never parsed as HTML).
- ``model_view``: every layer x head as a small matrix in one Plotly grid; each cell carries its
  (layer, head) so a click can open it large.
- ``attention_matrix``: one matrix with every word labelled (``viz.alignment``'s heatmap, so repeated
  words keep their own row and the hover says 2nd "my").
"""
import json
from dataclasses import dataclass

import numpy as np

from viz.alignment import Frame, alignment_heatmap, occurrence_labels, short

# one colour per head (Tableau 10, then two more): heads keep their colour in every view
HEAD_COLOURS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
                "#9c755f", "#bab0ac", "#17becf", "#8c564b")
MIN_LINE = 0.01   # weights below this draw no line (invisible anyway; keeps the page light)
ROW_PX = 24       # one word of the head view
LABEL_PX = 8      # width of one label character
LINES_PX = 220    # room between the two columns for the lines
CELL_PX = 120     # side of one small matrix of the model view


def head_colour(head: int) -> str:
    return HEAD_COLOURS[head % len(HEAD_COLOURS)]


def check_heads(weights, query_tokens: list[str], key_tokens: list[str]) -> np.ndarray:
    """heads x queries x keys as float, or a ValueError saying why not."""
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 3 or w.shape[1:] != (len(query_tokens), len(key_tokens)):
        raise ValueError(f"attention of shape {w.shape} does not match heads x {len(query_tokens)} queries "
                         f"x {len(key_tokens)} keys")
    return w


@dataclass(frozen=True)
class HeadView:
    html: str
    height: int  # px the frame needs


def head_view_data(weights, query_tokens: list[str], key_tokens: list[str], heads: list[int] | None = None,
                   titles: tuple[str, str] = ("query", "key")) -> dict:
    """What the head view draws: labels, hover names, and one line [head, query, key, weight] per
    weight of at least MIN_LINE among the ``heads`` shown (default: all), in head order."""
    w = check_heads(weights, query_tokens, key_tokens)
    heads = list(range(w.shape[0])) if heads is None else list(heads)
    if not heads or any(not 0 <= h < w.shape[0] for h in heads):
        raise ValueError(f"heads {heads} are not among the {w.shape[0]} heads of this layer")
    links = [[h, int(i), int(j), round(float(w[h, i, j]), 4)]
             for h in heads for i, j in zip(*np.nonzero(w[h] >= MIN_LINE))]
    longest = max(len(short(t)) for t in [*query_tokens, *key_tokens])
    return {"left": [short(t) for t in query_tokens], "right": [short(t) for t in key_tokens],
            "left_names": occurrence_labels(query_tokens), "right_names": occurrence_labels(key_tokens),
            "titles": list(titles), "heads": heads, "colours": [head_colour(h) for h in range(w.shape[0])],
            "links": links, "row": ROW_PX, "label": longest * LABEL_PX + 16, "gap": LINES_PX,
            # with one head the hover also writes the weights beside the other column
            "single": w[heads[0]].round(3).tolist() if len(heads) == 1 else None}


def head_view_html(weights, query_tokens: list[str], key_tokens: list[str], heads: list[int] | None = None,
                   titles: tuple[str, str] = ("query", "key")) -> HeadView:
    """The head view of one layer (``weights``: heads x queries x keys) as a self-contained page."""
    data = head_view_data(weights, query_tokens, key_tokens, heads, titles)
    # inside <script>, "<", ">" and "&" as \u escapes: no word can close the script or open a tag
    blob = json.dumps(data).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    rows = max(len(query_tokens), len(key_tokens))
    return HeadView(_PAGE.replace("__DATA__", blob), height=64 + rows * ROW_PX + 16)


_PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>
body { margin: 0; font: 14px "Source Sans Pro", "Source Sans 3", sans-serif; color: #31333f; }
#legend { display: flex; gap: 10px; flex-wrap: wrap; height: 24px; align-items: center; }
#legend span { display: inline-flex; align-items: center; gap: 4px; }
#legend i { width: 12px; height: 12px; border-radius: 2px; display: inline-block; }
.tok rect { fill: transparent; } .tok.on rect { fill: #dde6f7; } .tok { cursor: default; }
.title { font-weight: 600; fill: #808495; } .wt { fill: #808495; font-size: 12px; }
</style></head><body><div id="legend"></div><svg id="view"></svg><script>
const D = __DATA__, NS = "http://www.w3.org/2000/svg", svg = document.getElementById("view");
const top0 = 26, lx = D.label, rx = D.label + D.gap, y = i => top0 + (i + 0.5) * D.row;
svg.setAttribute("width", rx + Math.max(D.label + 50, 8 * D.titles[1].length + 16));
svg.setAttribute("height", top0 + Math.max(D.left.length, D.right.length) * D.row + 8);
function el(tag, attrs, parent) {
  const e = document.createElementNS(NS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  parent.appendChild(e);
  return e;
}
for (const h of D.heads) {
  const s = document.createElement("span"), chip = document.createElement("i");
  chip.style.background = D.colours[h];
  s.append(chip, "head " + (h + 1));
  document.getElementById("legend").appendChild(s);
}
el("text", {x: 2, y: 16, class: "title"}, svg).textContent = D.titles[0];  // may run on over the lines
el("text", {x: rx + 8, y: 16, class: "title"}, svg).textContent = D.titles[1];
const links = D.links.map(([h, i, j, w]) => el("line", {x1: lx, y1: y(i), x2: rx, y2: y(j), stroke: D.colours[h],
  "stroke-opacity": w, "stroke-width": 2, class: "link", "data-h": h, "data-q": i, "data-k": j}, svg));
const toks = [], weights = {q: [], k: []};
function column(words, names, side) {
  words.forEach((word, i) => {
    const g = el("g", {class: "tok", "data-side": side, "data-i": i}, svg);
    const left = side === "q";
    el("rect", {x: left ? 0 : rx, y: top0 + i * D.row, width: lx, height: D.row, rx: 3}, g);
    const t = el("text", {x: left ? lx - 8 : rx + 8, y: y(i) + 5, "text-anchor": left ? "end" : "start"}, g);
    t.textContent = word;
    el("title", {}, g).textContent = names[i];
    const wt = el("text", {x: left ? 2 : rx + lx + 4, y: y(i) + 5, class: "wt"}, svg);
    weights[side].push(wt);
    g.addEventListener("mouseenter", () => isolate(side, i, g));
    g.addEventListener("mouseleave", () => isolate(null, -1, null));
    toks.push(g);
  });
}
column(D.left, D.left_names, "q");
column(D.right, D.right_names, "k");
function isolate(side, i, g) {
  for (const l of links) l.style.display = side === null || +l.dataset[side] === i ? "" : "none";
  for (const t of toks) t.classList.toggle("on", t === g);
  const other = side === "q" ? "k" : "q";
  for (const s of ["q", "k"]) weights[s].forEach((wt, j) => {
    wt.textContent = D.single && s === other ? (side === "q" ? D.single[i][j] : D.single[j][i]).toFixed(2) : "";
  });
}
</script></body></html>"""


def model_view(attention, query_tokens: list[str], key_tokens: list[str], chosen: tuple[int, int] | None = None):
    """Every layer x head of one kind of attention (layers x heads x queries x keys) as small matrices
    in a grid: a row per layer, a column per head, the ``chosen`` (layer, head) framed.

    Each small matrix is a heatmap under a scatter of transparent cell-sized markers (heatmaps cannot
    be selected in Plotly); the markers carry customdata [layer, head, query, key, weight] and the hover, so a
    click on any cell reports which matrix it was (``cell_of``)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    a = np.asarray(attention, dtype=np.float64)
    if a.ndim != 4 or a.shape[2:] != (len(query_tokens), len(key_tokens)):
        raise ValueError(f"attention of shape {a.shape} does not match layers x heads x {len(query_tokens)} "
                         f"x {len(key_tokens)}")
    layers, heads, nq, nk = a.shape
    fig = make_subplots(rows=layers, cols=heads, horizontal_spacing=0.12 / heads, vertical_spacing=0.12 / layers,
                        column_titles=[f"head {h + 1}" for h in range(heads)],
                        row_titles=[f"layer {l + 1}" for l in range(layers)])
    qn, kn = occurrence_labels(query_tokens), occurrence_labels(key_tokens)
    jj, ii = np.meshgrid(np.arange(nk), np.arange(nq))
    marker = CELL_PX / max(nq, nk)
    for l in range(layers):
        for h in range(heads):
            fig.add_trace(go.Heatmap(z=a[l, h], zmin=0, zmax=1, colorscale="Blues", showscale=False,
                                     hoverinfo="skip"), row=l + 1, col=h + 1)
            cells = [[l + 1, h + 1, qn[i], kn[j], a[l, h, i, j]] for i, j in zip(ii.ravel(), jj.ravel())]
            fig.add_trace(go.Scatter(
                x=jj.ravel(), y=ii.ravel(), mode="markers", customdata=cells,
                marker=dict(symbol="square", size=marker, color="rgba(0,0,0,0)"),
                selected=dict(marker=dict(opacity=1)), unselected=dict(marker=dict(opacity=1)),
                hovertemplate="layer %{customdata[0]}, head %{customdata[1]}<br>%{customdata[2]} → "
                              "%{customdata[3]}: %{customdata[4]:.3f}<extra>click to open</extra>"),
                row=l + 1, col=h + 1)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, fixedrange=True, range=[-0.5, nk - 0.5])
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, fixedrange=True,
                     range=[nq - 0.5, -0.5])
    if chosen is not None:
        l, h = chosen
        fig.add_shape(type="rect", x0=-0.5, x1=nk - 0.5, y0=-0.5, y1=nq - 0.5, line=dict(color="#ff4b4b", width=3),
                      row=l + 1, col=h + 1)
    fig.update_layout(width=60 + heads * (CELL_PX + 16), height=50 + layers * (CELL_PX + 16),
                      margin=dict(l=10, r=40, t=40, b=10), showlegend=False, plot_bgcolor="white",
                      clickmode="event+select", dragmode=False, hovermode="closest")
    return fig


def cell_of(point: dict) -> tuple[int, int] | None:
    """(layer, head), from 0, of a point a click selected in ``model_view``; None if it is not one."""
    data = point.get("customdata")
    if isinstance(data, (list, tuple)) and len(data) >= 2:
        return int(data[0]) - 1, int(data[1]) - 1
    return None


def attention_matrix(weights, query_tokens: list[str], key_tokens: list[str], query_name: str = "query",
                     key_name: str = "key", frame: Frame | None = None):
    """One attention matrix large (queries x keys, rows summing to 1), every word on its axis."""
    fig = alignment_heatmap(weights, key_tokens, query_tokens, frame)
    fig.update_traces(hovertemplate=f"{query_name} %{{customdata[0]}}<br>{key_name} %{{customdata[1]}}"
                                    "<br>weight %{z:.3f}<extra></extra>")
    fig.update_layout(xaxis_title_text=key_name, yaxis_title_text=query_name)
    return fig
