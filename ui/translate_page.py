"""Translate page: a sentence in; its translation and alignment matrix out, for one or two score functions."""
import streamlit as st

from model.core import assets
from model.core.attention import SCORES as ATTENTION_SCORES
from model.core.checkpoint import CheckpointError
from model.translate.pipeline import TranslateOptions, max_input_tokens, translate
from ui.common import escape, load_bundle, missing_model
from viz.alignment import alignment_heatmap, alignment_png

SCORES = ("additive",) + tuple(s for s in ATTENTION_SCORES if s != "additive")  # the best-trained first
DIRECTIONS = {"fr-en": "French → English", "en-fr": "English → French"}
MAX_CHARS = 1000  # a longer paste is cut before tokenizing; the model reads far fewer words anyway
EXAMPLES = {
    "fr-en": ["je suis très fatigué.", "elle est plus grande que moi.", "nous allons à la plage demain.",
              "il ne sait pas nager.", "j'ai oublié mon parapluie dans le train.", "est-ce que tu parles français ?"],
    "en-fr": ["i am very tired.", "she is taller than me.", "we are going to the beach tomorrow.",
              "he can't swim.", "i forgot my umbrella on the train.", "do you speak french?"],
}
OWN = "(type your own)"


def _available(direction: str) -> list[str]:
    return [s for s in SCORES if assets.translator(s, direction).is_file()]


def _use_example():
    if st.session_state["tr_example"] != OWN:
        st.session_state["tr_text"] = st.session_state["tr_example"]


def _controls():
    directions = [d for d in DIRECTIONS if _available(d)]
    left, mid, right = st.columns([2, 2, 1])
    direction = left.selectbox("Direction", directions, format_func=DIRECTIONS.get, key="tr_direction")
    scores = _available(direction)
    side_by_side = right.toggle("Side by side", key="tr_side", disabled=len(scores) < 2,
                                help="Run two score functions on the same sentence")
    if side_by_side and len(scores) >= 2:
        a, b = mid.columns(2)
        first = a.selectbox("Score", scores, key="tr_score")
        second = b.selectbox("…versus", [s for s in scores if s != first], key="tr_score_b")
        chosen = [first, second]
    else:
        chosen = [mid.selectbox("Score function", scores, key="tr_score")]
    beam = st.slider("Beam width (1 = greedy)", 1, 10, 5, key="tr_beam")
    return direction, chosen, beam


def _show(direction: str, score: str, text: str, beam: int):
    st.subheader(f"{score} attention")
    try:
        translator = load_bundle(assets.translator(score, direction))
    except CheckpointError as e:
        st.error(f"Could not load the {score} model: {e.reason} (`{e.path}`)")
        return
    try:
        r = translate(translator, text, TranslateOptions(beam))
    except ValueError as e:
        st.warning(f"Nothing to translate: {e}. Type a sentence with words in it.")
        return
    if r.truncated:
        st.warning(f"Long input: only its first {max_input_tokens(translator)} tokens were translated "
                   f"(the model learnt on sentences of up to {translator.model.config.max_len}).")
    words = r.source_tokens[:-1]
    if r.unknown_words:
        known = len(words) - sum(w in r.unknown_words for w in words)
        msg = f"Unknown to the model, read as `<unk>`: {', '.join(f'**{escape(w)}**' for w in r.unknown_words)}."
        if known == 0:
            msg += f" None of the words is in its vocabulary: is this {DIRECTIONS[direction].split(' ')[0]}?"
        st.warning(msg)
    st.markdown(f"### {r.translation or '(empty translation)'}")
    if r.target_tokens[-1:] != ["<end>"]:
        st.caption("The decoder hit its length cap before ending the sentence.")
    title = f"{score} attention, {'greedy' if beam == 1 else f'beam {beam}'}"
    labels = [f"{w} (unk)" if w in r.unknown_words else w for w in words] + r.source_tokens[-1:]
    st.plotly_chart(alignment_heatmap(r.alignment, labels, r.target_tokens, title), key=f"tr_chart_{score}")
    st.download_button("Download the matrix (PNG)", alignment_png(r.alignment, labels, r.target_tokens, title),
                       file_name=f"alignment_{direction}_{score}.png", mime="image/png", key=f"tr_png_{score}")


def render():
    st.header("Translate: attention alignments")
    st.caption("A GRU encoder-decoder translates your sentence; each row of the matrix shows which source "
               "words the decoder attended to while writing one target word. Rows sum to 1.")
    if missing_model("translator", [assets.translator("additive", "fr-en")]):
        return
    direction, scores, beam = _controls()
    st.selectbox("Example sentences", [OWN] + EXAMPLES[direction], key="tr_example", on_change=_use_example)
    st.session_state.setdefault("tr_text", EXAMPLES[direction][0])
    text = st.text_area("Sentence", key="tr_text", max_chars=None, height=80)
    if not text.strip():
        st.info("Type a sentence or pick an example.")
        return
    if len(text) > MAX_CHARS:
        st.warning(f"Your text has {len(text):,} characters; only the first {MAX_CHARS:,} are read.")
        text = text[:MAX_CHARS]
    for column, score in zip(st.columns(len(scores)), scores):
        with column:
            _show(direction, score, text, beam)
