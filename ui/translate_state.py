"""The translations the Translate and Transformer pages keep in st.session_state: going back to the
page, or toggling side by side, shows them without running the models again (widget values are kept
by ui.common.remember)."""
from collections import OrderedDict

import streamlit as st

KEPT = 64  # translations kept per session (sentence, model, beam); the oldest go first


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
