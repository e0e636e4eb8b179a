"""Translate page: text in; for each sentence its translation and alignment matrix, for one model or
two side by side. Widgets, input checks and state only; ui.translate_results draws the results.

Nothing heavy is imported until the page is drawn, so the app starts fast.
"""
import streamlit as st

from ui.common import remember

DIRECTIONS = {"fr-en": "French → English", "en-fr": "English → French"}
PREFERRED = ("additive", "concat", "dot", "general")  # GRUs by score function, best-trained first; others after
MAX_CHARS = 1000  # a longer paste is cut before it is split into sentences
MAX_SENTENCES = 8  # sentences translated from one text; the rest is named in a note
EXAMPLES = {
    "fr-en": ["je suis très fatigué.", "Il pleut depuis ce matin. Je reste à la maison avec mon chat.",
              "elle est plus grande que moi.", "nous allons à la plage demain.", "il ne sait pas nager.",
              "j'ai oublié mon parapluie dans le train.", "est-ce que tu parles français ?"],
    "en-fr": ["i am very tired.", "It has been raining since this morning. I am staying home with my cat.",
              "she is taller than me.", "we are going to the beach tomorrow.", "he can't swim.",
              "i forgot my umbrella on the train.", "do you speak french?"],
}
OWN = "(type your own)"


def available(direction: str) -> list[str]:
    """Names of the shipped translators for a direction (model.core.assets.TRANSLATORS), best-trained first."""
    from model.core import assets
    names = sorted(assets.TRANSLATORS, key=lambda n: PREFERRED.index(n) if n in PREFERRED else len(PREFERRED))
    return [n for n in names if assets.translator(n, direction).is_file()]


def _use_example():
    if st.session_state["tr_example"] != OWN:
        st.session_state["tr_text"] = st.session_state["tr_example"]


def _controls() -> tuple[str, list[str], int]:
    directions = [d for d in DIRECTIONS if available(d)]
    left, mid, side, right = st.columns([1.3, 1.6, 0.9, 1.6])
    direction = left.selectbox("Direction", directions, format_func=DIRECTIONS.get,
                               key=remember("tr_direction", directions[0], directions))
    names = available(direction)
    pair = side.toggle("Side by side", key=remember("tr_side", False), disabled=len(names) < 2,
                       help="Run two models on the same text; their matrices line up row by row.")
    first = mid.selectbox("Model", names, key=remember("tr_score", names[0], names),
                          help="The GRUs are named by their attention score: dot, general, concat (Luong), "
                               "additive (Bahdanau).")
    chosen = [first]
    if pair and len(names) >= 2:
        others = [n for n in names if n != first]
        chosen.append(mid.selectbox("…versus", others, key=remember("tr_score_b", others[0], others)))
    beam = right.slider("Beam width (1 = greedy)", 1, 10, key=remember("tr_beam", 5),
                        help="How many partial translations the decoder keeps at each step.")
    return direction, chosen, beam


def _text(direction: str) -> str:
    examples = EXAMPLES[direction]
    st.selectbox("Example sentences", [OWN] + examples, key=remember("tr_example", examples[0], [OWN] + examples),
                 on_change=_use_example)
    remember("tr_text", examples[0])
    return st.text_area("Sentence", key="tr_text", height=80,
                        help="French (or English) text: one sentence or a short paragraph. "
                             "Each sentence is translated on its own.")


def sentences_of(text: str) -> tuple[list[str], list[str]]:
    """(the sentences the page translates, notes on what was cut) for a typed text."""
    from model.translate.text import split_sentences
    notes = []
    if len(text) > MAX_CHARS:
        notes.append(f"Your text has {len(text):,} characters; only the first {MAX_CHARS:,} are read.")
        text = text[:MAX_CHARS]
    sentences = split_sentences(text)
    if len(sentences) > MAX_SENTENCES:
        notes.append(f"Your text has {len(sentences)} sentences; the first {MAX_SENTENCES} are translated.")
        sentences = sentences[:MAX_SENTENCES]
    return sentences, notes


def render():
    from model.core import assets
    from ui.common import missing_model
    from ui.translate_results import show

    st.header("Translate: attention alignments")
    st.caption("An encoder-decoder (a GRU with one of four attention scores, or a Transformer) translates your text "
               "one sentence at a time. In each matrix, a row is one word it wrote and shows which source words it "
               "attended to while writing it (each row sums to 1).")
    if missing_model("translator", [assets.translator("additive", "fr-en")]):
        return
    direction, names, beam = _controls()
    text = _text(direction)
    if not text.strip():
        st.info("Type a sentence or pick an example.")
        return
    sentences, notes = sentences_of(text)
    for note in notes:
        st.warning(note)
    show(direction, names, beam, sentences)


def warm():
    """Import what the opening view needs and load its model (ui.common.warm_up, in the background)."""
    import plotly.graph_objects  # noqa: F401
    import model.translate.pipeline  # noqa: F401
    import ui.translate_results  # noqa: F401
    import viz.alignment  # noqa: F401
    from model.core import assets
    from ui.common import load_bundle
    if assets.translator("additive", "fr-en").is_file():
        load_bundle(assets.translator("additive", "fr-en"))
