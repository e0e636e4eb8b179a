"""The Transformer page's sections: notes on the input, head view, model view with one matrix large,
encoder rollout, and the cross-attention beside the additive RNN's alignment.

Each takes the page's ``Translation`` (with ``attention``) and the viewer's choices; the pictures
come from viz.heads and viz.alignment.
"""
import numpy as np
import streamlit as st

from ui.transformer_page import KINDS, source_labels, translation
from ui.common import remember

NO_TOOLBAR = {"displayModeBar": False}
GRID_KEY = "tf_grid"


def axes(r, kind: str) -> tuple[list[str], list[str], tuple[str, str]]:
    """(query tokens, key tokens, their names) of one kind of attention."""
    src = source_labels(r)
    return {"encoder": (src, src, ("French word", "French word it looks at")),
            "decoder": (r.decoder_tokens, r.decoder_tokens, ("decoder input", "earlier input it looks at")),
            "cross": (r.target_tokens, src, ("English word", "French word it looks at"))}[kind]


def notes(r) -> None:
    from ui.common import escape
    if r.unknown_words:
        st.warning(f"Unknown to the model, read as `<unk>`: {', '.join(escape(w) for w in r.unknown_words)}.")
    if r.truncated:
        st.warning("The sentence is too long: only its first tokens were translated.")
    if r.target_tokens[-1:] != ["<end>"]:
        st.caption("The decoder hit its length cap before ending the sentence.")


def _which(layer: int, head: int | None) -> str:
    return f"layer {layer + 1}, " + ("all heads averaged" if head is None else f"head {head + 1}")


def head_view(r, kind: str, layer: int, head: int | None) -> None:
    from viz.heads import head_view_html

    st.subheader("Head view")
    st.caption(f"{KINDS[kind]}, layer {layer + 1}: a line from each word on the left to each "
               "word on the right it attends to, one colour per head, darker = more weight. **Hover a word** to "
               "see only its lines" + (" and its weights." if head is not None else "."))
    queries, keys, names = axes(r, kind)
    view = head_view_html(r.attention[kind][layer], queries, keys, None if head is None else [head], names)
    st.iframe(view.html, height=view.height)


def _open_cell():
    """A click on a small matrix of the model view: show that layer and head (large, and in the head view)."""
    from viz.heads import cell_of
    state = st.session_state.get(GRID_KEY)
    points = state["selection"]["points"] if state else []
    cell = cell_of(points[0]) if points else None
    if cell is not None:
        st.session_state["tf_layer"], st.session_state["tf_head"] = cell


def model_view(r, kind: str, layer: int, head: int | None) -> None:
    from viz.alignment import frame_for
    from viz.heads import attention_matrix, model_view as grid

    st.subheader("Model view")
    st.caption(f"{KINDS[kind]}: every layer (rows) and head (columns). **Click a matrix** to open it large.")
    queries, keys, names = axes(r, kind)
    weights = np.asarray(r.attention[kind], dtype=np.float64)
    left, right = st.columns([1, 1.1])
    left.plotly_chart(grid(weights, queries, keys, (layer, head) if head is not None else None), key=GRID_KEY,
                      on_select=_open_cell, selection_mode="points", config=NO_TOOLBAR, width="content")
    matrix = weights[layer].mean(0) if head is None else weights[layer, head]
    right.markdown(f"**{KINDS[kind]}, {_which(layer, head)}**")
    right.plotly_chart(attention_matrix(matrix, queries, keys, *names, frame_for([keys], [queries])),
                       key="tf_large", config=NO_TOOLBAR)


def rollout(r) -> None:
    from model.translate.rollout import rollout as roll
    from viz.alignment import frame_for
    from viz.heads import attention_matrix

    st.subheader("Encoder rollout")
    st.caption("How much each French word, after the last encoder layer, draws on each input word through all "
               "the layers: each layer's heads averaged, the identity added for the residual connection "
               "(A = ½ W + ½ I), multiplied through the layers (Abnar & Zuidema 2020). Rows sum to 1.")
    src = source_labels(r)
    left, _ = st.columns([1.2, 1])
    left.plotly_chart(attention_matrix(roll(r.attention["encoder"]), src, src, "French word after the encoder",
                                       "input word", frame_for([src], [src])), key="tf_rollout", config=NO_TOOLBAR)


def _transformer_rows(r, layer: int, choice) -> np.ndarray:
    """The Transformer's T x S matrix for the comparison: one head, the layer's average, or the average
    carried back to the input words through the encoder (model.translate.rollout.through_encoder)."""
    from model.translate.rollout import through_encoder
    cross = np.asarray(r.attention["cross"][layer], dtype=np.float64)
    if choice == "average":
        return cross.mean(0)
    if choice == "rollout":
        return through_encoder(cross.mean(0), r.attention["encoder"])
    return cross[choice]


CHOICES = {"average": "heads averaged", "rollout": "through the encoder"}


def side_by_side(r, beam: int, sentence: str) -> None:
    from model.core import assets
    from ui.common import missing_model
    from ui.common import escape
    from viz.alignment import alignment_heatmap, frame_for

    st.subheader("Side by side with the RNN")
    st.caption("The same sentence through the additive (Bahdanau) RNN translator. Left: its alignment. Right: the "
               "Transformer's cross-attention: one head, the layer's heads averaged, or that average taken back "
               "through the encoder's rollout to the input words. Both have the same French words on the same "
               "axis and the same row height, so rows line up.")
    if missing_model("additive RNN translator", [assets.translator("additive")]):
        return
    rnn, error = translation("additive", beam, sentence)
    if rnn is None:
        st.warning(escape(error))
        return
    layers, heads = len(r.attention["cross"]), len(r.attention["cross"][0])
    c1, c2 = st.columns([1, 2])
    layer = c1.segmented_control("Cross-attention layer", list(range(layers)), format_func=lambda i: str(i + 1),
                                 required=True, key=remember("tf_cmp_layer", layers - 1, list(range(layers))))
    options = ["average", *range(heads), "rollout"]
    choice = c2.segmented_control("Transformer rows", options, required=True,
                                  format_func=lambda c: CHOICES.get(c) or f"head {c + 1}",
                                  key=remember("tf_cmp_rows", "average", options))
    src = source_labels(r)
    frame = frame_for([source_labels(rnn), src], [rnn.target_tokens, r.target_tokens])
    left, right = st.columns(2)
    left.markdown(f"**additive RNN** → {escape(rnn.translation)}")
    left.plotly_chart(alignment_heatmap(rnn.alignment, source_labels(rnn), rnn.target_tokens, frame),
                      key="tf_cmp_rnn", config=NO_TOOLBAR)
    which = {"average": "heads averaged", "rollout": "heads averaged, taken back through the encoder rollout"}.get(
        choice) or f"head {choice + 1}"
    right.markdown(f"**Transformer**, layer {layer + 1}, {which} → {escape(r.translation)}")
    right.plotly_chart(alignment_heatmap(_transformer_rows(r, layer, choice), src, r.target_tokens, frame),
                       key="tf_cmp_tf", config=NO_TOOLBAR)
