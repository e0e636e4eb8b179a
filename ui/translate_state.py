"""What the Translate page keeps in st.session_state between reruns and page switches.

Streamlit forgets the value of a widget that a run does not draw (another page was shown), so
each widget's value is also kept under a second key and put back when the page is drawn again.
Translations are kept per session too: going back to the page, or toggling side by side, shows
them without running the models again.
"""
from collections import OrderedDict

import streamlit as st

KEPT = 64  # translations kept per session (sentence, model, beam); the oldest go first


def remember(key: str, default, options=None) -> str:
    """Call right before drawing the widget ``key``: its value survives a visit to another page.
    A kept value no longer among ``options`` falls back to ``default``. Returns the key."""
    shadow = f"_kept_{key}"
    if key in st.session_state:
        st.session_state[shadow] = st.session_state[key]
    else:
        st.session_state[key] = st.session_state.get(shadow, default)
    if options is not None and st.session_state[key] not in options:
        st.session_state[key] = default
    return key


def cached_result(key: tuple, compute):
    """``compute()``'s value, computed once per session for ``key`` (the KEPT most recent)."""
    store = st.session_state.setdefault("_tr_results", OrderedDict())
    if key in store:
        store.move_to_end(key)
        return store[key]
    value = store[key] = compute()
    while len(store) > KEPT:
        store.popitem(last=False)
    return value
