"""The Translate page's results: per model its name, training budget and test BLEU, the translation,
notes on unknown or over-long input, then one alignment matrix per sentence.

Side by side, each sentence's two matrices sit in one row of columns drawn with one shared
``viz.alignment.Frame``: same row height, same number of rows, same margins, so rows line up.
"""
from dataclasses import dataclass

import streamlit as st

from ui.common import escape
from ui.translate_state import cached_result

CELL_PX = 46  # width of a source column when one model fills the page
PAGE_PX = 900  # about the width of the page's main column at 1400 px


@dataclass
class Run:
    """One sentence through one model: the Translation, or why there is none."""
    result: object = None  # model.translate.pipeline.Translation
    error: str = ""


def budget(metrics: dict) -> str:
    """"14 epochs (93 min), test BLEU 52.1", from what the checkpoint measured; a model continued from a
    shared base says so: "14 shared + 1 own epochs (108 min)"."""
    parts = []
    if "epochs" in metrics:
        minutes = f" ({metrics['train_minutes']:.0f} min)" if "train_minutes" in metrics else ""
        shared = metrics.get("shared_epochs")
        epochs = f"{shared:g} shared + {metrics['epochs'] - shared:g} own" if shared else f"{metrics['epochs']:g}"
        parts.append(f"{epochs} epochs{minutes}")
    if "test_bleu_greedy" in metrics:
        parts.append(f"test BLEU {metrics['test_bleu_greedy']:.1f}")
    return ", ".join(parts)


def _run(bundle, path, beam: int, sentence: str) -> Run:
    from model.translate.pipeline import TranslateOptions, translate

    def compute():
        try:
            return Run(translate(bundle, sentence, TranslateOptions(beam)))
        except ValueError as e:
            return Run(error=str(e))
    return cached_result(("run", str(path), path.stat().st_mtime_ns, beam, sentence), compute)


def _labels(r) -> list[str]:
    return [f"{w} (unk)" if w in r.unknown_words else w for w in r.source_tokens[:-1]] + r.source_tokens[-1:]


def _joined(runs: list[Run]) -> str:
    return " ".join(r.result.translation for r in runs if r.result) or "(empty translation)"


def _model_notes(where, runs: list[Run], direction: str) -> None:
    """Unknown words of one model's runs, each shown as typed (no markdown)."""
    results = [r.result for r in runs if r.result]
    unknown = list(dict.fromkeys(w for r in results for w in r.unknown_words))
    if not unknown:
        return
    words = sum(len(r.source_tokens) - 1 for r in results)
    known = words - sum(w in unknown for r in results for w in r.source_tokens[:-1])
    msg = f"Unknown to the model, read as `<unk>`: {', '.join(escape(w) for w in unknown)}."
    if known == 0:
        msg += f" None of the words is in its vocabulary: is this {direction.split('-')[0].upper()} text?"
    where.warning(msg)


def _length_notes(bundle, runs: list[Run], many: bool) -> None:
    """A note for each sentence longer than the model learnt on, and for one cut at the input cap."""
    from model.translate.pipeline import max_input_tokens
    learnt = bundle.preprocessing.max_len
    for k, run in enumerate(runs):
        if not run.result:
            continue
        n = len(run.result.source_tokens) - 1
        which = f"Sentence {k + 1}" if many else "This sentence"
        if run.result.truncated:
            st.warning(f"{which} is too long: only its first {max_input_tokens(bundle)} tokens were translated. "
                       f"The model learnt on sentences of up to {learnt} tokens: split it with full stops.")
        elif n > learnt:
            st.warning(f"{which} has {n} tokens; the model learnt on sentences of up to {learnt}, so expect "
                       "repeated or missing words. Splitting it with full stops helps.")


def _matrix(where, direction: str, name: str, beam: int, r, frame, k: int, many: bool, width: float) -> None:
    from viz.alignment import alignment_heatmap, alignment_png

    labels = _labels(r)
    fig = alignment_heatmap(r.alignment, labels, r.target_tokens, frame)
    area = where.columns([width, max(1e-3, 1 - width)])[0] if width < 1 else where
    area.plotly_chart(fig, key=f"tr_chart_{name}_{k}", config={"displayModeBar": False})
    title = f"{name} attention, {'greedy' if beam == 1 else f'beam {beam}'}"
    png = cached_result(("png", direction, name, beam, tuple(labels), tuple(r.target_tokens)),
                        lambda: alignment_png(r.alignment, labels, r.target_tokens, title))
    where.download_button("Download the matrix (PNG)" if not many else f"Download matrix {k + 1} (PNG)", png,
                          file_name=f"alignment_{direction}_{name}{f'_{k + 1}' if many else ''}.png",
                          mime="image/png", key=f"tr_png_{name}_{k}")


def show(direction: str, names: list[str], beam: int, sentences: list[str]) -> None:
    from model.core import assets
    from model.core.checkpoint import CheckpointError
    from ui.common import load_bundle
    from viz.alignment import frame_for

    bundles = {}
    for name in names:
        path = assets.translator(name, direction)
        try:
            bundles[name] = (load_bundle(path), path)
        except CheckpointError as e:
            st.error(f"Could not load the {name} model: {e.reason} ({e.path})")
    if not bundles:
        return
    runs = {name: [_run(b, path, beam, s) for s in sentences] for name, (b, path) in bundles.items()}
    if not any(r.result for rs in runs.values() for r in rs):
        error = next(r.error for rs in runs.values() for r in rs)
        st.warning(f"Nothing to translate: {error}. Type a sentence with words in it.")
        return
    names, many = list(bundles), len(sentences) > 1
    pair = len(names) > 1  # side by side: no colour bars but one note, so each column keeps its room
    _length_notes(next(iter(bundles.values()))[0], next(iter(runs.values())), many)
    for col, name in zip(st.columns(len(names)), names):
        col.markdown(f"**{name}** — {budget(bundles[name][0].metrics)}".removesuffix(" — "))
        col.markdown("### " + escape(_joined(runs[name])))
        _model_notes(col, runs[name], direction)
    if pair:
        st.caption("Colour: the attention weight, from 0 (white) to 1 (dark blue).")
    for k, sentence in enumerate(sentences):
        if not any(runs[n][k].result for n in names):
            continue
        if many:
            st.markdown(f"**{k + 1}.** {escape(sentence)}")
            for col, name in zip(st.columns(len(names)), names):
                r = runs[name][k].result
                col.markdown(f"→ {escape(r.translation) if r else '(nothing to translate)'}")
        done = [runs[n][k].result for n in names if runs[n][k].result]
        frame = frame_for([_labels(r) for r in done], [r.target_tokens for r in done],
                          PAGE_PX // len(names), colorbar=not pair)
        width = 1.0 if pair else min(1.0, (frame.left + CELL_PX * len(done[0].source_tokens) + 110) / PAGE_PX)
        for col, name in zip(st.columns(len(names)), names):
            r = runs[name][k].result
            if r:
                _matrix(col, direction, name, beam, r, frame, k, many, width)
        if any(r.target_tokens[-1:] != ["<end>"] for r in done):
            st.caption("The decoder hit its length cap before ending the sentence.")
    explain({n: b for n, (b, _) in bundles.items()}, runs, sentences)


def explain(bundles: dict, runs: dict[str, list[Run]], sentences: list[str]) -> None:
    """Whether one row of an alignment explains its word, measured, and that word's attention moved
    (ui.explain_translate). Off by default: it differentiates and decodes again."""
    from ui.common import remember
    if not st.toggle("Measure a word: does its alignment row explain it?", key=remember("tr_explain_on", False),
                     help="An alignment row looks like the reason for a word; this tests it: leave each source "
                          "word out, follow the gradient, shuffle or flatten the row, or point it at another "
                          "word and translate again."):
        return
    from ui.explain_translate import render
    names = [n for n in bundles if any(r.result for r in runs[n])]
    left, mid, right = st.columns(3)
    name = left.selectbox("Model", names, key="tr_explain_model") if len(names) > 1 else names[0]
    done = [k for k, r in enumerate(runs[name]) if r.result]
    k = done[0] if len(done) == 1 else mid.selectbox(
        "Sentence", done, key="tr_explain_sentence", format_func=lambda k: f"{k + 1}. {sentences[k][:40]}")
    result = runs[name][k].result
    words = result.target_tokens
    word = right.selectbox("Target word", range(len(words)), key=f"tr_explain_word_{name}_{k}",
                           format_func=lambda t: f"{t + 1}. {words[t]}")
    render(bundles[name], result, word, key=f"tr_explain_{name}_{k}")
