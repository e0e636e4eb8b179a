"""The Translate page as a user meets it, hostile inputs included (needs the shipped fr-en models)."""
import pytest
from streamlit.testing.v1 import AppTest

from model.core import assets

pytestmark = pytest.mark.skipif(
    not assets.translator("additive", "fr-en").is_file(),
    reason="assets/translator_fr-en_additive.pt is not shipped; the page then only says so (test_app covers that)")


@pytest.fixture(scope="module")
def at():
    at = AppTest.from_file("../../app.py", default_timeout=120)
    at.run()
    at.sidebar.radio(key="page").set_value("Translate").run()
    assert not at.exception, at.exception
    return at


def translations(at) -> list[str]:
    return [m.value[4:] for m in at.markdown if m.value.startswith("### ")]


def enter(at, text: str):
    at.text_area(key="tr_text").set_value(text).run()
    assert not at.exception, at.exception
    return at


def test_page_opens_with_an_example_translated_and_a_heatmap(at):
    assert at.header[0].value.startswith("Translate")
    assert at.text_area(key="tr_text").value and translations(at)
    assert not at.error and not at.warning
    assert len(at.get("plotly_chart")) == 1 and len(at.get("download_button")) == 1


def test_example_picker_fills_the_box_and_translates(at):
    example = at.selectbox(key="tr_example").options[3]
    at.selectbox(key="tr_example").set_value(example).run()
    assert not at.exception
    assert at.text_area(key="tr_text").value == example
    assert len(translations(at)) == 1


def test_side_by_side_runs_two_score_functions_on_one_sentence(at):
    enter(at, "il fait froid.")
    at.toggle(key="tr_side").set_value(True).run()
    assert not at.exception
    heads = [s.value for s in at.subheader]
    assert len(heads) == 2 and heads[0] != heads[1]
    assert len(translations(at)) == 2 and len(at.get("plotly_chart")) == 2
    at.toggle(key="tr_side").set_value(False).run()
    assert len(translations(at)) == 1


def test_beam_width_and_score_selector(at):
    at.slider(key="tr_beam").set_value(1).run()
    for score in at.selectbox(key="tr_score").options:
        at.selectbox(key="tr_score").set_value(score).run()
        assert not at.exception and at.subheader[0].value.startswith(score)
        assert translations(at)


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


def test_a_5000_character_paste_is_cut_with_a_visible_note(at):
    enter(at, ("je suis fatigué et il fait froid . " * 150)[:5000])
    warnings = " ".join(w.value for w in at.warning)
    assert "5,000 characters" in warnings and "only its first" in warnings
    assert len(translations(at)) == 1


def test_markup_and_mathtext_in_the_input_are_harmless(at):
    enter(at, "<script>alert(1)</script> $x^2$ le chat **gras**")
    assert len(translations(at)) == 1 and not at.error


def test_page_and_command_line_give_the_same_translation(at, capsys):
    """One pipeline serves both: the page's default (additive, beam 5) equals the CLI's output."""
    import json

    from model.translate.__main__ import main
    sentence = "nous allons à la plage demain."
    at.selectbox(key="tr_score").set_value("additive").run()
    at.slider(key="tr_beam").set_value(5).run()
    enter(at, sentence)
    assert main([sentence, "--model", "additive", "--beam", "5", "--json", "--device", "cpu"]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert translations(at) == [cli["translation"]]
