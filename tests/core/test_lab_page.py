"""The Attention lab page in Streamlit's test client: the worked example, edits, bad input, state kept."""
import numpy as np
import pytest

from model.core.lab import PRESETS, run
from tests.conftest import open_page

WORKED = PRESETS["Worked example (lecture notes)"]


@pytest.fixture
def lab():
    return open_page("Attention lab")


def column(at, table: int, name: str) -> list[str]:
    return list(at.table[table].value[name])


def shown_weights(at) -> np.ndarray:
    return np.array([float(w) for w in column(at, 1, "weight αᵢ")[:-1]])  # the last row is the sum


def test_opens_with_the_worked_example_numbers(lab):
    r = run(WORKED.query, WORKED.keys, WORKED.values, "dot")
    assert lab.header[0].value.startswith("Attention lab")
    assert column(lab, 0, "score eᵢ") == [f"{s:.3f}" for s in r.scores] == ["0.148", "0.121", "0.995", "0.121"]
    assert column(lab, 1, "weight αᵢ") == [f"{w:.3f}" for w in r.weights] + ["1.000"]
    assert list(lab.table[2].value.loc["c = Σ"]) == [f"{c:.3f}" for c in r.context]
    assert len(lab.get("plotly_chart")) == 3 and not lab.error


def test_editing_the_query_moves_the_weights(lab):
    lab.text_input(key="lab_q").set_value("0, 1, 0").run()
    weights = shown_weights(lab)
    assert weights.argmax() == 3  # k4 = (0.020, 0.999, 0.020) now matches best
    np.testing.assert_allclose(weights, run([0, 1, 0], WORKED.keys, WORKED.values).weights, atol=5e-4)


def test_masking_and_temperature_and_matrices(lab):
    lab.checkbox(key="lab_mask_2").check().run()
    weights = shown_weights(lab)
    assert weights[2] == 0 and weights.sum() == pytest.approx(1, abs=2e-3)
    assert column(lab, 0, "score eᵢ")[2] == "0.995"  # still computed and shown
    lab.slider(key="lab_T").set_value(5.0).run()
    assert np.ptp(shown_weights(lab)[[0, 1, 3]]) < np.ptp(weights[[0, 1, 3]])
    lab.radio(key="lab_score").set_value("general").run()
    before = shown_weights(lab)
    lab.text_area(key="lab_p_general_W").set_value("1, 0, 0\n0, 1, 0\n0, 0, 1").run()  # W = I: plain dot again
    np.testing.assert_allclose(shown_weights(lab), run(WORKED.query, WORKED.keys, WORKED.values, temperature=5.0,
                                                       masked=[False, False, True, False]).weights, atol=5e-4)
    assert not np.allclose(shown_weights(lab), before)


@pytest.mark.parametrize("key, text, message", [
    ("lab_q", "0.9, abc, 0.1", "is not a number"),
    ("lab_K", "0.05, 0, 0.998\n0.02, 0.02\n0.976, 0.098, 0.195\n0.02, 0.999, 0.02", "key 1 has 3 and key 2 has 2"),
    ("lab_K", "", "add at least one key"),
    ("lab_V", "1, 2, 5", "4 keys but 1 values"),
    ("lab_q", "0.9, 0.1", "q has 2 numbers, each key has 3"),
])
def test_bad_input_gives_a_message_and_the_page_recovers(lab, key, text, message):
    widget = lab.text_input(key=key) if key == "lab_q" else lab.text_area(key=key)
    good = widget.value
    widget.set_value(text).run()
    assert not lab.exception
    assert any(message in e.value.replace("\\", "") for e in lab.error), [e.value for e in lab.error]
    widget = lab.text_input(key=key) if key == "lab_q" else lab.text_area(key=key)
    widget.set_value(good).run()
    assert not lab.error and len(lab.table) == 3


def test_every_key_masked_is_explained(lab):
    for i in range(4):
        lab.checkbox(key=f"lab_mask_{i}").check()
    lab.run()
    assert any("Every key is masked" in e.value.replace("\\", "") for e in lab.error)


def test_settings_survive_a_visit_to_another_page_and_reset_restores_the_preset(lab):
    lab.text_input(key="lab_q").set_value("0, 1, 0").run()
    lab.radio(key="lab_score").set_value("additive").run()
    lab.text_area(key="lab_p_additive_v").set_value("1, -1, 0.5").run()
    lab.checkbox(key="lab_mask_0").check().run()
    shown = shown_weights(lab)
    lab.sidebar.radio(key="page").set_value("About").run()
    lab.sidebar.radio(key="page").set_value("Attention lab").run()
    assert lab.text_input(key="lab_q").value == "0, 1, 0" and lab.radio(key="lab_score").value == "additive"
    assert lab.text_area(key="lab_p_additive_v").value == "1, -1, 0.5" and lab.checkbox(key="lab_mask_0").value
    np.testing.assert_array_equal(shown_weights(lab), shown)

    lab.selectbox(key="lab_preset").set_value("Seq2seq: decoder state over encoder states").run()
    assert lab.text_input(key="lab_q").value == "0.2, 0.9, 0" and len(shown_weights(lab)) == 5
    assert not lab.checkbox(key="lab_mask_0").value and lab.radio(key="lab_score").value == "dot"
    lab.text_input(key="lab_q").set_value("1, 0, 0").run()
    lab.button[0].click().run()  # Reset: the chosen preset's numbers again
    assert lab.text_input(key="lab_q").value == "0.2, 0.9, 0"
