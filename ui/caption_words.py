"""The caption as clickable words, and the large overlay of the selected word for each model.

One word is selected at a time, in either caption. The other caption shows the same word when it
has it (its occurrence nearest in relative position), else its own word nearest in relative
position, labelled as such: the two captions are never paired word by word.
"""
from functools import partial

import numpy as np
import streamlit as st

from ui.caption_data import UNK, Said, View, rare, shown_word
from viz.caption_views import fit, with_scale
from viz.overlay import attention_overlay, one_cell

PICK = "cap_pick_{}"  # widget key of each model's word row
SELECTED = "cap_selected"  # (model, word index) the user last clicked
LARGE = {1: (680, 470), 2: (540, 430)}  # (longest side, height) of the big overlay for one or two models
HARD_LABEL = {"argmax": "its most likely location per word", "expected": "all locations, weighted by α",
              "sample": "sampled locations"}


def relative(k: int, n_from: int, n_to: int) -> float:
    """Word k of an n_from-word caption, placed on an n_to-word one by relative position."""
    return k * (n_to - 1) / (n_from - 1) if n_from > 1 else 0.0


def counterpart(src: list[str], k: int, dst: list[str]) -> tuple[int, bool]:
    """Which word of ``dst`` to show when word k of ``src`` is selected, and whether it is the same word."""
    at = relative(k, len(src), len(dst))
    same = [i for i, w in enumerate(dst) if w == src[k]]
    if same:
        return min(same, key=lambda i: abs(i - at)), True
    return min(round(at), len(dst) - 1), False


def default_selection(view: View) -> tuple[str, int]:
    """Open on the most focused word (lowest attention entropy) of the first caption with words: a map worth
    looking at."""
    name, s = next(((n, s) for n, s in view.captions.items() if s.words), next(iter(view.captions.items())))
    return name, int(np.argmin(s.entropy_fraction)) if s.words else 0


def selected(view: View) -> tuple[str, int]:
    """(model, word index) of the word the user selected, or the opening selection."""
    caps = {n: s for n, s in view.captions.items() if s.words}
    model, k = st.session_state.get(SELECTED) or default_selection(view)
    if model not in caps or k >= len(caps[model].words):
        model, k = default_selection(view)
    return model, k


def shown(view: View) -> dict[str, tuple[int, bool]]:
    """Per model: the word index shown and whether it is the selected word itself (or its nearest)."""
    caps = {n: s for n, s in view.captions.items() if s.words}
    model, k = selected(view)
    out = {}
    for name, s in caps.items():
        out[name] = (k, True) if name == model else counterpart(caps[model].words, k, s.words)
    return out


def _picked(name: str):
    """A click in ``name``'s word row: that word becomes the selection."""
    st.session_state[SELECTED] = (name, st.session_state[PICK.format(name)])


def pill_labels(words: list[str]) -> list[str]:
    """Each word as written, made unique with invisible zero-width spaces: the browser reports a click by
    the pill's label, so the second "a" of a caption must not read as the first."""
    seen: dict[str, int] = {}
    labels = []
    for w in words:
        labels.append(shown_word(w) + "\u200b" * seen.get(w, 0))
        seen[w] = seen.get(w, 0) + 1
    return labels


def word_row(name: str, s: Said, k: int):
    """The caption's words as pills, word ``k`` highlighted."""
    st.session_state[PICK.format(name)] = k  # set before the widget: the highlight follows the selection
    labels = pill_labels(s.words)
    st.pills(f"Words of the {name} caption", list(range(len(s.words))), format_func=labels.__getitem__,
             key=PICK.format(name), on_change=partial(_picked, name), label_visibility="collapsed",
             required=True, wrap=True)  # required: a click on the selected word keeps it selected


def overlay(image: np.ndarray, s: Said, k: int, opacity: float, hard: bool) -> np.ndarray:
    """Word k's map over ``image`` (already at display size) with its colour scale beneath."""
    a = s.alphas[k]
    if one_cell(a) is not None:
        note, high = "filled and outlined: the one cell it looked at", "all"
    elif hard:
        note, high = "colour: α · outlined: its most likely cell", f"α {a.max():.2f}"
    else:
        note, high = "colour: α, the share of attention", f"α {a.max():.2f}"
    drawn = attention_overlay(image, a, opacity=opacity, mark=hard)
    return with_scale(drawn, "0", high, note)


def word_facts(s: Said, k: int, total: int | None, exact: bool, selected: str) -> str:
    """One line on word k: how often training saw it, and the gate β."""
    word = s.words[k]
    parts = [f"“{shown_word(word)}”" if exact else f"nearest word “{shown_word(word)}” (no “{shown_word(selected)}” "
                                                   "in this caption)"]
    if s.counts is not None and word != UNK:
        n = s.counts[k]
        parts.append(f"in {n:,} of {total:,} training captions" if total else f"in {n:,} training captions")
    parts.append(f"β {s.betas[k]:.2f}")
    return " · ".join(parts)


def hard_note(metrics: dict, how: str) -> str:
    """One sentence: which decoding the hard column shows and why, from the model card's test scores."""
    score = {loc: next((v for key, v in metrics.items() if key.startswith("test BLEU-4") and loc in key), None)
             for loc in ("argmax locations", "expected context")}
    arg, exp = score["argmax locations"], score["expected context"]
    numbers = (f" (Flickr8k test BLEU-4 {exp:.1f} weighted vs {arg:.1f} from its single most likely location, "
               "beam 3)") if arg is not None and exp is not None else ""
    if how == "expected":
        return (f"Shown with all locations weighted by α, the hard model's better decoding{numbers}; pick "
                "“most likely location” to see the one cell it chooses per word.")
    if how == "argmax":
        return f"Shown at its single most likely location per word: what hard attention is, at a cost{numbers}."
    return "Shown with a location drawn at random per word, as in training; the most probable caption is kept."


def columns(image: np.ndarray, view: View, opacity: float, hard_how: str):
    """Per model, side by side: its label, caption, word row, large overlay and the selected word's facts."""
    caps = {n: s for n, s in view.captions.items() if s.words}
    picks = shown(view)
    selected_model = next((n for n, (_, exact) in picks.items() if exact), None)
    selected = caps[selected_model].words[picks[selected_model][0]] if selected_model else ""
    box = LARGE[min(len(caps), 2)]
    large = fit(image, *box)
    for column, (name, s) in zip(st.columns(len(view.captions)), view.captions.items()):
        with column:
            label = f"**{name} attention**" + (f" · {HARD_LABEL[hard_how]}" if name == "hard" else "")
            st.markdown(label)
            st.markdown("### " + (" ".join(shown_word(w) for w in s.words).replace("<", "\\<") or "(no words)"))
            if not s.words:
                st.warning("The model ended the caption before writing a word; there is no map to show.")
                continue
            k, exact = picks[name]
            word_row(name, s, k)
            where = "" if exact else "nearest "
            st.image(overlay(large, s, k, opacity, name == "hard"),
                     caption=f"{name}, {where}word {k + 1}: {shown_word(s.words[k])}")
            st.caption(word_facts(s, k, view.training_captions, exact, selected))
            if s.words[k] == UNK:
                st.caption("(unknown word): the model wrote <unk>, its token for any word seen in fewer than 5 "
                           "training captions, which it cannot spell.")
            elif rare(s.counts[k] if s.counts else None, view.training_captions):
                st.caption(f"“{s.words[k]}” is rare in the training data: the model had little to learn it from.")
            if s.near_uniform[k]:
                st.caption(f"The map for “{shown_word(s.words[k])}” is nearly flat: the model looked nowhere in "
                           "particular, as for words the sentence alone decides (“a”, “is”, “with”).")
            if name == "hard":
                st.caption(hard_note(view.metrics.get("hard", {}), hard_how))
