"""The attention lab's inputs: numbers typed as text, presets, and state that survives page switches.

q is one line of numbers; K, V and the score function's matrices are one row per line. Numbers are
separated by commas or spaces; brackets are ignored, so a pasted ``[0.1, 0.2]`` works too.
"""
import re

import streamlit as st

PREFIX = "lab_"  # every widget of the lab has a key starting with this
SAVED = "labsaved"  # a plain (non-widget) copy of those values, which Streamlit never drops
MAX_KEYS = 16  # more rows than this are refused: the bars and tables stop being readable
MAX_SIZE = 16  # the same for the length of a vector


def parse_row(what: str, text: str) -> list[float]:
    """One row of numbers; a ValueError naming the first thing that is not a number."""
    numbers = []
    for token in re.split(r"[,;\s]+", re.sub(r"[\[\]()]", " ", text).strip()):
        if not token:
            continue
        try:
            numbers.append(float(token))
        except ValueError:
            raise ValueError(f"{what}: “{token}” is not a number. Type numbers separated by commas, "
                             f"e.g. 0.5, -1, 2.") from None
    if len(numbers) > MAX_SIZE:
        raise ValueError(f"{what} has {len(numbers)} numbers; the lab takes at most {MAX_SIZE} per row.")
    return numbers


def parse_rows(what: str, row: str, text: str) -> list[list[float]]:
    """One row per non-empty line ("row 2" in messages counts those lines)."""
    lines = [line for line in text.splitlines() if line.strip(" \t,;[]()")]
    if len(lines) > MAX_KEYS:
        raise ValueError(f"{what} has {len(lines)} rows; the lab takes at most {MAX_KEYS}.")
    return [parse_row(f"{what}, {row} {i + 1}", line) for i, line in enumerate(lines)]


def count_rows(text: str) -> int:
    return len([line for line in text.splitlines() if line.strip(" \t,;[]()")])


def fmt(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 1e4 else f"{x:.4g}"


def row_text(row) -> str:
    return ", ".join(fmt(float(x)) for x in row)


def rows_text(rows) -> str:
    return "\n".join(row_text(r) for r in rows)


def load_preset(name: str | None = None) -> None:
    """Put a preset's numbers in the widgets (a callback: runs before the widgets are drawn).

    ``name=None`` reloads the preset chosen in the picker: the reset button.
    """
    from model.core.lab import PRESETS

    name = name or st.session_state.get(f"{PREFIX}preset") or next(iter(PRESETS))
    preset = PRESETS[name]
    for key in [k for k in st.session_state if str(k).startswith((f"{PREFIX}mask_", f"{PREFIX}p_", "labgen_"))]:
        del st.session_state[key]  # masks off, matrices drawn again from the seed
    st.session_state.pop(SAVED, None)  # or restore() would bring them back
    st.session_state.update({
        f"{PREFIX}preset": name, f"{PREFIX}q": row_text(preset.query), f"{PREFIX}K": rows_text(preset.keys),
        f"{PREFIX}V": rows_text(preset.values), f"{PREFIX}score": preset.score, f"{PREFIX}T": 1.0,
        f"{PREFIX}a": 3, f"{PREFIX}seed": 0})


def restore() -> None:
    """Bring back the lab's widget values after a visit to another page.

    Streamlit forgets a widget's value once a run does not draw it, so ``save`` keeps a plain copy
    and this puts it back before the widgets are drawn again.
    """
    for key, value in st.session_state.get(SAVED, {}).items():
        if key not in st.session_state:
            st.session_state[key] = value
    if f"{PREFIX}q" not in st.session_state:
        load_preset()


def save() -> None:
    st.session_state[SAVED] = {k: v for k, v in st.session_state.items() if str(k).startswith((PREFIX, "labgen_"))}


def matrices(score: str, query_dim: int, key_dim: int) -> dict[str, list[list[float]]]:
    """The score function's matrices as text areas, drawn from the seed whenever their shape changes.

    A matrix is redrawn when the query size, key size, hidden size a or the seed changes; a matrix
    the user typed in the wrong shape is left alone (``run`` then says which shape it needs).
    """
    from model.core.lab import init_params, param_shapes

    left, right, _ = st.columns([1, 1, 2])
    attn_dim = left.number_input("hidden size a", 1, 8, key=f"{PREFIX}a", disabled=score == "general",
                                 help="Rows of W (concat) or of W_s and W_h (additive), and the length of v.")
    seed = right.number_input("seed", 0, 10_000, key=f"{PREFIX}seed",
                              help="The matrices start as the attention module's own initialisation, drawn "
                                   "with this seed and rounded to 2 decimals. Change it for new ones.")
    shapes = param_shapes(score, query_dim, key_dim, attn_dim)
    drawn = init_params(score, query_dim, key_dim, attn_dim, seed)
    params = {}
    for column, (name, shape) in zip(st.columns(len(shapes)), shapes.items()):
        key, made_for = f"{PREFIX}p_{score}_{name}", f"labgen_{score}_{name}"
        if st.session_state.get(made_for) != (shape, seed):
            st.session_state[key] = rows_text(drawn[name])
            st.session_state[made_for] = (shape, seed)
        text = column.text_area(f"{name} ({shape[0]} × {shape[1]})", key=key, height=38 + 24 * min(shape[0], 6))
        params[name] = parse_rows(f"The matrix {name}", "row", text)
    return params
