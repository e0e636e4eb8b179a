"""Transformer page: one French sentence through the Transformer translator, and every one of its
attention heads: head view, model view (click a small matrix to open it large), encoder rollout,
and its cross-attention beside the additive RNN's alignment for the same sentence.

Widgets, input checks and state only; ui.transformer_views draws the sections. Nothing heavy (torch,
the models) is imported until the page is drawn, so the app starts fast.
"""
import streamlit as st

from ui.common import remember
from ui.translate_state import cached_result

KINDS = {"encoder": "Encoder self-attention", "decoder": "Decoder self-attention (causal)",
         "cross": "Cross-attention"}
EXAMPLES = ["je suis très fatigué.", "mon père et mon frère aiment mon chat.", "elle est plus grande que moi.",
            "il ne sait pas nager.", "j'ai oublié mon parapluie dans le train.", "est-ce que tu parles français ?"]
OWN = "(type your own)"
MAX_CHARS = 1000  # a longer paste is cut before its first sentence is taken
HOW_TO_READ = """
**Query, key, value.** Every word is turned into three vectors. Its *query* says what it is looking for,
its *key* what it offers to be matched, its *value* what it passes on. A word's new representation is the
average of the values of all the words it may look at, weighted by softmax(q · k / √d): that weight is
what every line and every cell here shows.

**Rows sum to 1.** The weights are a softmax over the words a query may look at, so each query (a row of a
matrix, a word on the left of the head view) spreads exactly 1 over the keys.

**Heads.** A layer runs several attentions side by side, each with its own query, key and value
projections; one such attention is a *head*. Heads learn different habits: the previous word, the same
word, the end of the sentence, the word being translated. Their outputs are concatenated and mixed.

**Three kinds.** *Encoder self-attention*: each French word looks at every French word. *Decoder
self-attention*: each position of the English being written looks at the English written so far; the
**causal mask** sets every later position to 0 (the upper triangle is empty), because the decoder cannot
read words it has not written yet. The decoder's positions are its inputs: `<start>` and then the words
written so far, so row t is the step that writes English word t. *Cross-attention*: each English word being
written looks at the encoder's output for every French word, the Transformer's counterpart of the RNN's
alignment.

**Rollout.** A layer mixes what the layers below it already mixed, so one layer's weights do not say which
*words* a position draws on. Rollout (Abnar & Zuidema 2020) multiplies the layers' head-averaged matrices,
each with the identity added for the residual connection.
"""


def _use_example():
    if st.session_state["tf_example"] != OWN:
        st.session_state["tf_text"] = st.session_state["tf_example"]


def _sentence() -> tuple[str, int]:
    """The typed text and the beam width, both kept in the session."""
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    options = [OWN] + EXAMPLES
    left.selectbox("Example sentences", options, key=remember("tf_example", EXAMPLES[0], options),
                   on_change=_use_example)
    beam = right.slider("Beam width (1 = greedy)", 1, 10, key=remember("tf_beam", 5),
                        help="How many partial translations each decoder keeps at each step; the weights shown "
                             "are those of the translation it picked.")
    remember("tf_text", EXAMPLES[0])
    text = st.text_input("French sentence", key="tf_text", max_chars=MAX_CHARS,
                         help="One sentence; of a longer text only the first sentence is shown here "
                              "(the Translate page does paragraphs).")
    return text, beam


def translation(name: str, beam: int, sentence: str):
    """(Translation, "") of ``sentence`` by the shipped translator ``name``, or (None, why not); kept per
    session, so a visit to another page or a change of view does not run the model again."""
    from model.core import assets
    from model.core.checkpoint import CheckpointError
    from model.translate.pipeline import TranslateOptions, translate
    from ui.common import load_bundle

    path = assets.translator(name)
    try:
        bundle = load_bundle(path)
    except CheckpointError as e:
        return None, f"Could not load the {name} model: {e.reason} ({e.path.name})."

    def compute():
        try:
            return translate(bundle, sentence, TranslateOptions(beam)), ""
        except ValueError as e:
            return None, f"Nothing to translate: {e}. Type a sentence with words in it."
    return cached_result(("transformer page", str(path), path.stat().st_mtime_ns, beam, sentence), compute)


def source_labels(r) -> list[str]:
    """The source words as read, unknown ones marked, then <end>."""
    return [f"{w} (unk)" if w in r.unknown_words else w for w in r.source_tokens[:-1]] + r.source_tokens[-1:]


def _controls(r) -> tuple[str, int, int | None]:
    """Which attention, which layer, which head (None: all) to show; kept in the session."""
    kind = st.segmented_control("Attention", list(KINDS), format_func=KINDS.get, required=True,
                                      key=remember("tf_kind", "encoder", list(KINDS)))
    layers, heads = len(r.attention[kind]), len(r.attention[kind][0])
    layer_col, head_col = st.columns([1, 2])
    layer = layer_col.segmented_control("Layer", list(range(layers)), format_func=lambda i: str(i + 1),
                                        required=True, key=remember("tf_layer", 0, list(range(layers))))
    choices = ["all"] + list(range(heads))
    head = head_col.segmented_control("Heads", choices, required=True,
                                      format_func=lambda h: "all" if h == "all" else f"head {h + 1}",
                                      key=remember("tf_head", "all", choices))
    return kind, layer, None if head == "all" else head


def render():
    from model.core import assets
    from model.translate.text import split_sentences
    from ui.common import missing_model
    from ui.common import escape
    from ui import transformer_views as views

    st.header("Transformer: every attention head")
    st.caption("A Transformer translates your French sentence; below is every attention weight it used: which "
               "words each word looked at, in each layer and each head, and how that compares with the "
               "alignment of the RNN translator on the same sentence.")
    if missing_model("Transformer translator", [assets.translator("transformer")]):
        return
    text, beam = _sentence()
    sentences = split_sentences(text[:MAX_CHARS])
    if not sentences:
        st.info("Type a sentence or pick an example.")
        return
    if len(sentences) > 1:
        st.caption(f"Only the first of your {len(sentences)} sentences is shown here; the Translate page "
                   "translates each of them.")
    r, error = translation("transformer", beam, sentences[0])
    if r is None:
        st.warning(escape(error))
        return
    st.markdown("### " + escape(r.translation or "(empty translation)"))
    views.notes(r)
    with st.expander("How to read this"):
        st.markdown(HOW_TO_READ)
    kind, layer, head = _controls(r)
    views.head_view(r, kind, layer, head)
    views.model_view(r, kind, layer, head)
    views.rollout(r)
    views.side_by_side(r, beam, sentences[0])


def warm():
    """Load the Transformer (and the RNN it is compared with) before a user opens the page."""
    from model.core import assets
    from ui.common import load_bundle
    for name in ("transformer", "additive"):
        if assets.translator(name).is_file():
            load_bundle(assets.translator(name))
