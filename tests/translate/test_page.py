"""The Translate page as a user meets it, hostile inputs included (needs the shipped fr-en models)."""
import base64
import json
import re

import numpy as np
import pytest

from model.core import assets
from model.translate.text import split_sentences
from tests.conftest import open_page

pytestmark = pytest.mark.skipif(
    not assets.translator("additive", "fr-en").is_file(),
    reason="assets/translator_fr-en_additive.pt is not shipped; the page then only says so (test_app covers that)")

PARAGRAPH = "Il pleut depuis ce matin. Je reste à la maison avec mon chat."


@pytest.fixture(scope="module")
def at():
    return open_page("Translate")


def unescape(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown)


def translations(at) -> list[str]:
    """The headline of each model: its whole translation."""
    return [unescape(m.value[4:]) for m in at.markdown if m.value.startswith("### ")]


def models(at) -> list[str]:
    """The line above each model's translation: its name, training budget and test BLEU."""
    return [m.value for m in at.markdown if m.value.startswith("**") and " — " in m.value]


def charts(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def plotted(values) -> np.ndarray:
    """An array as Plotly's JSON holds it: a list, or base64 of a typed array."""
    if isinstance(values, dict):
        data = np.frombuffer(base64.b64decode(values["bdata"]), np.dtype(values["dtype"]))
        return data.reshape([int(n) for n in str(values.get("shape", len(data))).split(",")])
    return np.asarray(values, float)


def enter(at, text: str):
    at.text_area(key="tr_text").set_value(text).run()
    assert not at.exception, at.exception
    return at


def test_page_opens_with_an_example_translated_and_a_heatmap(at):
    assert at.header[0].value.startswith("Translate")
    assert at.text_area(key="tr_text").value and translations(at)
    assert not at.error and not at.warning
    assert len(charts(at)) == 1 and len(at.get("download_button")) == 1


def test_each_model_is_shown_with_its_training_budget_and_test_bleu(at):
    from ui.common import load_bundle
    metrics = load_bundle(assets.translator("additive", "fr-en")).metrics
    head, shared = models(at)[0], metrics.get("shared_epochs")
    epochs = f"{shared:g} shared + {metrics['epochs'] - shared:g} own" if shared else f"{metrics['epochs']:g}"
    assert head.startswith("**additive**") and f"{epochs} epochs" in head
    assert f"test BLEU {metrics['test_bleu_greedy']:.1f}" in head


def test_example_picker_fills_the_box_and_translates(at):
    example = at.selectbox(key="tr_example").options[3]
    at.selectbox(key="tr_example").set_value(example).run()
    assert not at.exception
    assert at.text_area(key="tr_text").value == example
    assert len(translations(at)) == 1


def test_a_paragraph_gets_one_matrix_per_sentence_each_translated_on_its_own(at):
    from model.translate.pipeline import TranslateOptions, translate
    from ui.common import load_bundle
    enter(at, PARAGRAPH)
    bundle = load_bundle(assets.translator("additive", "fr-en"))
    beam = at.slider(key="tr_beam").value
    alone = [translate(bundle, s, TranslateOptions(beam)).translation for s in split_sentences(PARAGRAPH)]
    assert len(alone) == 2 and translations(at) == [" ".join(alone)]
    assert len(charts(at)) == 2 and len(at.get("download_button")) == 2
    assert not at.warning  # two short sentences: nothing to warn about


def test_only_an_over_long_sentence_gets_a_warning(at):
    long = "hier soir mon frère et moi sommes allés au cinéma pour voir un très long film avec nos amis"
    enter(at, f"Il fait froid. {long}.")
    warnings = [w.value for w in at.warning]
    assert len(warnings) == 1 and warnings[0].startswith("Sentence 2 has") and "up to 15" in warnings[0]


def test_side_by_side_matrices_share_rows_height_and_margins(at):
    enter(at, PARAGRAPH)
    at.toggle(key="tr_side").set_value(True).run()
    assert not at.exception
    heads = models(at)
    assert len(heads) == 2 and heads[0].split()[0] != heads[1].split()[0]
    assert len(translations(at)) == 2
    specs = charts(at)
    assert len(specs) == 4  # two sentences, two models
    for a, b in (specs[0:2], specs[2:4]):  # each sentence's pair
        la, lb = a["layout"], b["layout"]
        assert la["height"] == lb["height"] and la["margin"] == lb["margin"]
        assert la["yaxis"]["range"] == lb["yaxis"]["range"]  # same number of rows, padded if need be
        assert la["xaxis"]["ticktext"] == lb["xaxis"]["ticktext"]  # same source axis
    at.toggle(key="tr_side").set_value(False).run()
    assert len(translations(at)) == 1


def test_repeated_words_keep_their_own_rows_without_renamed_labels(at):
    enter(at, "mon père et mon frère aiment mon chat.")
    spec = charts(at)[0]
    ticks = spec["layout"]["xaxis"]["ticktext"]
    assert ticks.count("mon") == 3 and not any("·" in t for t in ticks)
    hover = [cell[1] for cell in spec["data"][0]["customdata"][0]]
    assert ['1st "mon"', '2nd "mon"', '3rd "mon"'] == [h for h in hover if "mon" in h]


def test_beam_width_and_model_selector(at):
    enter(at, "il fait froid.")
    at.slider(key="tr_beam").set_value(1).run()
    for score in at.selectbox(key="tr_score").options:
        at.selectbox(key="tr_score").set_value(score).run()
        assert not at.exception and models(at)[0].startswith(f"**{score}**")
        assert translations(at)


def test_inputs_and_results_survive_a_visit_to_another_page(at):
    enter(at, PARAGRAPH)
    at.slider(key="tr_beam").set_value(3).run()
    at.toggle(key="tr_side").set_value(True).run()
    before = translations(at)
    at.sidebar.radio(key="page").set_value("About").run()
    at.sidebar.radio(key="page").set_value("Translate").run()
    assert not at.exception
    assert at.text_area(key="tr_text").value == PARAGRAPH and at.slider(key="tr_beam").value == 3
    assert at.toggle(key="tr_side").value and translations(at) == before
    at.toggle(key="tr_side").set_value(False).run()


@pytest.mark.parametrize("text, expected", [
    ("", "Type a sentence"),
    ("   \n  ", "Type a sentence"),
    ("?!... ;;", "Nothing to translate"),
    ("😀🙈🎉", "Nothing to translate"),
])
def test_inputs_with_nothing_to_translate_get_a_message(at, text, expected):
    enter(at, text)
    messages = [m.value for m in at.info] + [m.value for m in at.warning]
    assert any(expected in m for m in messages), messages
    assert not translations(at)


def test_non_latin_text_is_translated_with_unknown_words_flagged(at):
    enter(at, "日本語 la maison Москва")
    assert any("<unk>" in w.value and "日本語" in w.value and "москва" in w.value for w in at.warning)
    assert len(translations(at)) == 1


def test_unknown_words_are_shown_as_typed_not_as_markdown(at):
    enter(at, r"le chat zzzq **zzzr** a\b")
    warning = next(w.value for w in at.warning if "<unk>" in w.value)
    # the tokenizer reads "*" and "\" as words of their own: escaped, the page shows them as typed
    assert "zzzq, \\*, zzzr" in warning and r", \\" in warning and "**" not in warning


def test_a_5000_character_paste_is_cut_with_a_visible_note(at):
    enter(at, ("je suis fatigué et il fait froid . " * 150)[:5000])
    warnings = " ".join(w.value for w in at.warning)
    assert "5,000 characters" in warnings and "the first 8 are translated" in warnings
    assert len(translations(at)) == 1 and len(charts(at)) == 8


def test_markup_and_mathtext_in_the_input_are_harmless(at):
    enter(at, "<script>alert(1)</script> $x^2$ le chat **gras**")
    assert len(translations(at)) == 1 and not at.error


def test_page_and_command_line_give_the_same_translation(at, capsys):
    """One pipeline serves both: the page's default (additive, beam 5) equals the CLI's output."""
    from model.translate.__main__ import main
    sentence = "nous allons à la plage demain."
    at.selectbox(key="tr_score").set_value("additive").run()
    at.slider(key="tr_beam").set_value(5).run()
    enter(at, sentence)
    assert main([sentence, "--model", "additive", "--beam", "5", "--json", "--device", "cpu"]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert translations(at) == [cli["translation"]]


def test_a_translated_word_can_be_measured_and_its_attention_moved(at):
    enter(at, "je suis très fatigué .")
    assert len(charts(at)) == 1  # off by default: one alignment, no explanation
    try:
        at.toggle(key="tr_explain_on").set_value(True).run()
        labels = [m.label for m in at.metric]
        assert "τ (α, leave-one-out)" in labels and "TVD, row permuted" in labels
        assert len(charts(at)) == 2  # the alignment and the word's importance bars
        words = at.selectbox(key="tr_explain_word_additive_0")
        words.set_value(1).run()
        assert not at.exception
        alignment, bars = charts(at)
        attention = bars["data"][0]  # the selected word's alignment row, beside its leave-one-out and gradient
        assert attention["x"] == [f"{j}: {w}" for j, w in enumerate(["je", "suis", "très", "fatigué", ".", "<end>"])]
        row = plotted(alignment["data"][0]["z"])[1]
        assert plotted(attention["y"]) == pytest.approx(row / row.max(), abs=1e-4)  # the heatmap is rounded
        at.selectbox(key="tr_explain_additive_0_src_1").set_value(0).run()
        at.button(key="tr_explain_additive_0_go").click().run()
        assert not at.exception and len(at.text) == 2  # the original translation and the new one
    finally:
        at.toggle(key="tr_explain_on").set_value(False).run()
    assert len(charts(at)) == 1
