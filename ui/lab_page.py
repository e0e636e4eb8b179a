"""Attention lab page: one query over a few keys and values, every number of every step on screen.

The numbers come from ``model.core.lab.run``, which calls the attention core the translators use.
torch is imported only when the page is drawn (inside ``render``), not when the app starts.
"""
import numpy as np
import pandas as pd
import streamlit as st

from ui.common import escape
from ui.lab_inputs import PREFIX, count_rows, load_preset, matrices, parse_row, parse_rows, restore, save
from viz.qkv import context_bars, key_bars

READ_SCORES = {
    "dot": "A plain dot product: large when q and kᵢ point the same way and are long.",
    "scaled dot": "The dot product divided by √dₖ (the Transformer's score), so that longer vectors do not "
                  "push the softmax to all-or-nothing.",
    "general": "q is compared with W kᵢ: the matrix W (learned in a model) decides which directions of the "
               "key matter to the query, and lets the two have different sizes.",
    "concat": "A one-layer network reads q and kᵢ side by side and outputs one number.",
    "additive": "Bahdanau's score: q and kᵢ are projected (W_s, W_h), added, squashed by tanh and read out "
                "by v.",
}
NO_TOOLBAR = {"displayModeBar": False}  # the charts are small; a toolbar would cover their titles
TRY = """
- **Temperature**: slide T to 5 and the weights flatten towards 1/N, so the context moves towards the plain
  average of the values; at 0.1 nearly all the weight goes to the best key (close to *hard* attention).
- **Mask the best key** (k3 in the worked example): its weight drops to exactly 0 and the others share the 1.
- **Ask another question**: set q to `0, 1, 0`; now k4 matches best and the context moves towards v4 = (6, 1, 2).
- **Scaled dot**: the scores shrink by √3 and the weights flatten, as with T = √3.
- **Add a key**: a new line in K *and* in V; a copy of k3 makes two keys share k3's attention.
- **general / concat / additive**: change one number of a matrix and see which scores move.
- **Seq2seq preset**: which encoder state does the decoder state attend to, and why?
"""


def render():
    from model.core.lab import FORMULAS, PRESETS, SCORES, run  # torch comes with it: not at app start

    restore()
    st.header("Attention lab: a query, keys and values")
    st.caption("Attention answers a question (the query q) by comparing it with every key kᵢ, turning the "
               "scores into weights that sum to 1, and returning the weighted average of the values vᵢ. "
               "Every number below is computed by the same attention code the translators run.")
    top = st.columns([2.6, 5, 0.8], vertical_alignment="bottom")
    preset = top[0].selectbox("Preset", list(PRESETS), key=f"{PREFIX}preset", on_change=load_preset)
    score = top[1].radio("Score function", SCORES, horizontal=True, key=f"{PREFIX}score")
    top[2].button("Reset", on_click=load_preset, help="Back to the preset's numbers, masks off, matrices redrawn.")
    st.caption(PRESETS[preset].about + " Numbers are separated by commas; K and V have one row per line, "
               "in the same order.")

    query_col, keys_col, values_col = st.columns([1.2, 1.3, 1])
    q_text = query_col.text_input("Query q: what this position is looking for", key=f"{PREFIX}q")
    k_text = keys_col.text_area("Keys K: what each position offers to be matched", key=f"{PREFIX}K", height=150)
    v_text = values_col.text_area("Values V: what each position passes on", key=f"{PREFIX}V", height=150)
    temperature = query_col.slider("Temperature T", 0.05, 5.0, step=0.05, key=f"{PREFIX}T",
                                   help="Scores are divided by T before the softmax.")
    masked = _mask_boxes(query_col, count_rows(k_text))
    try:
        q = parse_row("q (the query)", q_text)
        K = parse_rows("K (the keys)", "key", k_text)
        V = parse_rows("V (the values)", "value", v_text)
        params = {}
        if score in ("general", "concat", "additive") and q and K and len({len(k) for k in K}) == 1:
            with st.expander(f"The matrices of the {score} score (editable)", expanded=True):
                params = matrices(score, len(q), len(K[0]))
        result = run(q, K, V, score, params, temperature, masked)
    except ValueError as e:  # parse errors and LabInputError: a sentence saying what to change
        st.error(escape(str(e)))
        _what_to_try()
        save()
        return
    _steps(FORMULAS[score], READ_SCORES[score], result, np.asarray(V, float), masked, temperature)
    _what_to_try()
    save()


def warm():
    """Import the lab's model side (and torch) and run the worked example once, before a user opens the page."""
    from model.core.lab import PRESETS, run
    preset = next(iter(PRESETS.values()))
    run(preset.query, preset.keys, preset.values, preset.score)


def _mask_boxes(column, n: int) -> list[bool]:
    """A checkbox per key (four to a row): checked keys are hidden from the query."""
    if not n:
        return []
    column.caption("Mask keys: a checked key is hidden from the query (weight 0).")
    per_row = 4
    masked = []
    for start in range(0, n, per_row):
        boxes = column.columns(per_row)
        for i in range(start, min(start + per_row, n)):
            masked.append(boxes[i - start].checkbox(f"k{i + 1}", key=f"{PREFIX}mask_{i}"))
    return masked


def _table(rows: dict[str, list[float]], index: list[str]) -> pd.DataFrame:
    def cell(x: float) -> str:
        return f"{x:.3f}" if np.isfinite(x) else "−∞"
    return pd.DataFrame({name: [cell(x) for x in col] for name, col in rows.items()}, index=index)


def _steps(formula: str, reading: str, result, V: np.ndarray, masked: list[bool], temperature: float):
    labels = [f"k{i + 1}" + (" (masked)" if m else "") for i, m in enumerate(masked)]
    short = [f"k{i + 1}" for i in range(len(masked))]
    scores_col, weights_col, context_col = st.columns(3, gap="medium")
    with scores_col:
        st.subheader("1. Scores")
        st.latex(formula)
        st.markdown(f"How well each key matches the query: one number per key, larger is a better match. {reading}")
        st.table(_table({"score eᵢ": result.scores}, labels))
        st.plotly_chart(key_bars(short, result.scores, masked, "scores eᵢ", "score"), key="lab_chart_scores",
                        config=NO_TOOLBAR)
    with weights_col:
        st.subheader("2. Weights")
        st.latex(r"\alpha_i = \frac{\exp(e_i / T)}{\sum_j \exp(e_j / T)}")
        st.markdown("The softmax makes the scores positive and divides by their sum, so the weights **sum to 1**: "
                    "a share of attention per key. T < 1 sharpens them towards the best key, T > 1 flattens "
                    "them; a masked key's score counts as −∞, so its weight is exactly 0.")
        scaled = np.where(masked, -np.inf, result.scores / temperature)
        table = _table({"eᵢ / T": scaled, "weight αᵢ": result.weights}, labels)
        table.loc["sum"] = ["", f"{result.weights.sum():.3f}"]
        st.table(table)
        st.plotly_chart(key_bars(short, result.weights, masked, f"weights αᵢ (T = {temperature:g})", "weight",
                                 unit_range=True), key="lab_chart_weights", config=NO_TOOLBAR)
    with context_col:
        st.subheader("3. Context")
        st.latex(r"c = \sum_i \alpha_i v_i")
        st.markdown("The answer to the query: the values averaged with the weights. Each row below is one "
                    "key's share αᵢ vᵢ; their sum is the context, which a model passes on to its next layer.")
        shares = result.weights[:, None] * V
        dims = [f"c{j + 1}" for j in range(V.shape[1])]
        table = _table(dict(zip(dims, shares.T)), [f"α{i + 1} · v{i + 1}" for i in range(len(masked))])
        table.loc["c = Σ"] = [f"{c:.3f}" for c in result.context]
        st.table(table)
        st.plotly_chart(context_bars(short, result.weights, V, masked, "context c, stacked by key"),
                        key="lab_chart_context", config=NO_TOOLBAR)


def _what_to_try():
    with st.expander("What to try", expanded=True):
        st.markdown(TRY)
