"""The Translate page's "Explain" view for the selected target word, and moving its attention.

``render(bundle, translation, word)`` shows for target word ``word`` its attention row beside
leave-one-out and gradient × input importance of each source word (with Kendall τ for each), and what
permuting or flattening the row does to the output; then a source word to force the step's
attention onto, and the translation decoded again from there (model.translate.intervene).
Results are kept in st.session_state per model, sentence and word.
"""
import numpy as np
import streamlit as st

from viz.explain import importance_bars

HOW = ("**How to read it.** If the attention row explains the word, the source words it weights most should "
       "also be the ones whose removal hurts the word most (τ with leave-one-out near 1) and whose embeddings "
       "the word is most sensitive to (τ with the gradient); and shuffling or flattening the row should change "
       "the output a lot (TVD near 1, argmax changed). τ near 0 and TVD near 0 mean the row is not what the "
       "word depends on.")


def _explanation(bundle, translation):
    from model.translate.explain import explain_translation
    key = ("explain_tr", bundle.path, tuple(translation.source_tokens), tuple(translation.target_tokens))
    store = st.session_state.setdefault("explain_cache", {})
    if key not in store:
        while len(store) > 8:
            store.pop(next(iter(store)))
        with st.spinner("Explaining every word…"):
            store[key] = explain_translation(bundle, translation)
    return store[key]


def numbers(e, word: int) -> None:
    a, b, c, d = st.columns(4)
    a.metric("τ (α, leave-one-out)", "n/a" if not np.isfinite(e.tau_loo[word]) else f"{e.tau_loo[word]:+.2f}")
    b.metric("τ (α, gradient × input)", "n/a" if not np.isfinite(e.tau_grad[word]) else f"{e.tau_grad[word]:+.2f}")
    c.metric("TVD, row permuted", f"{e.permuted_tvd[word]:.3f}",
             delta=f"argmax changed in {e.permuted_flip[word]:.0%} of 5", delta_color="off")
    d.metric("TVD, uniform row", f"{e.uniform_tvd[word]:.3f}",
             delta="argmax changed" if e.uniform_flip[word] else "argmax kept", delta_color="off")


def intervene(bundle, translation, word: int, key: str) -> None:
    from model.translate.intervene import Force, retranslate
    src = translation.source_tokens
    at = int(np.argmax(translation.alignment[word]))
    st.markdown(f"**Move the attention of “{translation.target_tokens[word]}”.** The words before it stay; "
                "it reads only the chosen source word, and the rest is translated again.")
    choice = st.selectbox("Source word to look at", range(len(src)), index=at, key=f"{key}_src_{word}",
                          format_func=lambda j: f"{j}: {src[j]}")
    request = (bundle.path, tuple(src), tuple(translation.target_tokens), word, int(choice))
    if st.button("Translate again with the attention here", key=f"{key}_go"):
        try:
            st.session_state[f"{key}_forced"] = (request, retranslate(bundle, translation, [Force(word, int(choice))]))
        except ValueError as e:
            st.error(f"Cannot force this step: {e}")
            return
    done = st.session_state.get(f"{key}_forced")
    if done and done[0] == request:
        left, right = st.columns(2)
        left.markdown("**Original**")
        left.text(translation.translation)
        right.markdown(f"**“{translation.target_tokens[word]}” reading “{src[int(choice)]}”**")
        right.text(done[1].translation or "(empty translation)")


def render(bundle, translation, word: int, key: str = "tr_explain") -> None:
    """The Explain view of target token ``word`` of ``translation`` (model.translate.pipeline.translate
    with ``bundle``), then the intervention. Models without an explanation reader are named, not explained."""
    if not translation.target_tokens:
        st.info("The translation is empty: there is no word to explain.")
        return
    word = min(max(word, 0), len(translation.target_tokens) - 1)
    try:
        e = _explanation(bundle, translation)
    except ValueError as err:
        st.info(f"No explanation for this model yet ({err}).")
        return
    st.plotly_chart(importance_bars(translation.source_tokens, e.attention[word], e.loo[word], e.grad[word]),
                    width="stretch", key=f"{key}_bars_{word}")
    numbers(e, word)
    st.markdown(HOW)
    intervene(bundle, translation, word, key)
