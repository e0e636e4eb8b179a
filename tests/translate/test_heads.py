"""Seeing a Transformer's heads: attention rollout, the head view, the model view, one matrix large,
and the Transformer page in Streamlit's test client on tiny random translators."""
import base64
import json

import numpy as np
import pytest

from model.core.assets import ASSETS_ENV
from model.translate.rollout import layer_matrices, rollout, through_encoder
from tests.conftest import open_page
from tests.translate.tiny_translators import HEADS, LAYERS, save_tiny_translators
from viz.heads import HEAD_COLOURS, attention_matrix, cell_of, head_view_data, head_view_html, model_view

WORDS = ["mon", "père", "et", "mon", "frère", "<end>"]


def random_attention(layers=3, heads=4, n=6, m=None, seed=0) -> np.ndarray:
    w = np.random.default_rng(seed).random((layers, heads, n, m or n)) ** 3
    return w / w.sum(-1, keepdims=True)


def everyone_looks_at(k: int, n: int) -> np.ndarray:
    w = np.zeros((n, n))
    w[:, k] = 1
    return w


# ---------------------------------------------------------------------------- rollout

def test_rollout_rows_sum_to_one_and_it_is_square():
    r = rollout(random_attention())
    assert r.shape == (6, 6) and (r >= 0).all()
    np.testing.assert_allclose(r.sum(-1), 1)


def test_layers_that_attend_only_to_themselves_roll_out_to_the_identity():
    np.testing.assert_allclose(rollout(np.tile(np.eye(5), (3, 2, 1, 1))), np.eye(5))


def test_each_layer_averages_its_heads_and_keeps_half_for_the_residual():
    heads = np.stack([everyone_looks_at(0, 4), everyone_looks_at(2, 4)])[None]  # one layer, two heads
    a = layer_matrices(heads)[0]
    np.testing.assert_allclose(a[1], [0.25, 0.5, 0.25, 0])  # 1/4 each head's word, 1/2 itself
    np.testing.assert_allclose(rollout(heads), a)


def test_the_later_layer_mixes_what_the_earlier_layer_mixed():
    # layer 1: every word gathers from the first word; layer 2: from the last word, which holds half of
    # the first word already. So the first word ends with 1/2, the last and the word itself 1/4 each.
    n = 5
    attention = np.stack([everyone_looks_at(0, n)[None], everyone_looks_at(n - 1, n)[None]])
    r = rollout(attention)
    np.testing.assert_allclose(r[2], [0.5, 0, 0.25, 0, 0.25])
    np.testing.assert_allclose(r[n - 1], [0.5, 0, 0, 0, 0.5])


def test_cross_attention_through_the_encoder():
    cross = random_attention(1, 1, 4, 6)[0, 0]
    np.testing.assert_allclose(through_encoder(cross, np.tile(np.eye(6), (2, 2, 1, 1))), cross)
    moved = through_encoder(cross, random_attention())
    assert moved.shape == (4, 6)
    np.testing.assert_allclose(moved.sum(-1), 1)
    with pytest.raises(ValueError, match="5 source positions"):
        through_encoder(cross, random_attention(n=5))


def test_rollout_refuses_what_is_not_layers_x_heads_x_n_x_n():
    with pytest.raises(ValueError, match="layers x heads x N x N"):
        rollout(random_attention(n=3, m=4))


# ---------------------------------------------------------------------------- the pictures

def test_head_view_labels_every_word_and_draws_one_line_per_weight_in_its_heads_colour():
    w = random_attention(1, 3, 6)[0]
    data = head_view_data(w, WORDS, WORDS)
    assert data["left"] == WORDS and data["right"] == WORDS  # repeated words as typed, no "·2"
    assert data["left_names"][3] == '2nd "mon"'
    assert data["heads"] == [0, 1, 2] and len(set(data["colours"])) == 3
    drawn = {(h, i, j): weight for h, i, j, weight in data["links"]}
    expected = {(h, i, j): w[h, i, j] for h in range(3) for i in range(6) for j in range(6) if w[h, i, j] >= 0.01}
    assert drawn.keys() == expected.keys()
    assert all(drawn[k] == pytest.approx(expected[k], abs=1e-4) for k in drawn)  # opacity = weight
    one = head_view_data(w, WORDS, WORDS, heads=[2])
    assert {h for h, *_ in one["links"]} == {2} and np.allclose(one["single"], w[2], atol=1e-3)
    with pytest.raises(ValueError, match="heads"):
        head_view_data(w, WORDS, WORDS, heads=[3])


def test_head_view_page_carries_words_as_data_that_cannot_break_out_of_its_script():
    words = ["</script><img src=x onerror=alert(1)>", "a&b", "<end>"]
    view = head_view_html(random_attention(1, 2, 3)[0], words, words)
    assert view.html.count("</script>") == 1 and "<img" not in view.html
    blob = view.html.split("const D = ", 1)[1].split(", NS = ", 1)[0]
    assert json.loads(blob)["left_names"] == words  # the words themselves, whole
    assert "http" not in view.html.replace("http://www.w3.org/2000/svg", "")  # nothing fetched
    assert view.height > 3 * 24


def test_model_view_has_every_layer_and_head_labelled_and_a_click_names_its_matrix():
    a = random_attention(3, 4, 6, 5)
    fig = model_view(a, WORDS, WORDS[:5], chosen=(2, 1))
    titles = {ann.text for ann in fig.layout.annotations}
    assert {f"layer {i}" for i in (1, 2, 3)} | {f"head {i}" for i in (1, 2, 3, 4)} <= titles
    maps = [t for t in fig.data if t.type == "heatmap"]
    assert len(maps) == 12 and np.allclose(maps[4 * 2 + 1].z, a[2, 1])
    cells = [t for t in fig.data if t.type == "scatter"]
    assert all(len(t.customdata) == 6 * 5 for t in cells)
    point = {"customdata": list(cells[4 * 1 + 3].customdata[7])}
    assert cell_of(point) == (1, 3) and cell_of({}) is None
    assert point["customdata"][2:4] == ["père", "et"] and point["customdata"][4] == pytest.approx(a[1, 3, 1, 2])
    frame = fig.layout.shapes[0]
    assert (frame.xref, frame.yref) == ("x10", "y10")  # layer 3, head 2 is the 10th subplot


def test_a_large_matrix_labels_every_word_and_names_repeated_ones_in_the_hover():
    fig = attention_matrix(random_attention(1, 1, 6)[0, 0], WORDS, WORDS, "French word", "looks at")
    assert list(fig.layout.xaxis.ticktext) == WORDS and list(fig.layout.yaxis.ticktext) == WORDS
    assert fig.data[0].customdata[3][0] == ['2nd "mon"', '1st "mon"']
    assert fig.layout.xaxis.title.text == "looks at" and "French word" in fig.data[0].hovertemplate


# ---------------------------------------------------------------------------- the page

def charts(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def z(chart: dict, trace: int = 0) -> np.ndarray:
    """A trace's z as drawn: Plotly sends numpy arrays as base64 ("bdata"), lists as they are."""
    v = chart["data"][trace]["z"]
    if isinstance(v, dict):
        shape = [int(n) for n in str(v["shape"]).split(",")]
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"]).reshape(shape)
    return np.asarray(v, dtype=np.float64)


def head_view_shown(at) -> dict:
    html = at.get("iframe")[0].proto.srcdoc
    return json.loads(html.split("const D = ", 1)[1].split(", NS = ", 1)[0])


def open_transformer(monkeypatch, folder):
    monkeypatch.setenv(ASSETS_ENV, str(folder))
    monkeypatch.setenv("ATTENTION_LENS_WARM_UP", "0")
    return open_page("Transformer", timeout=240)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny_translators")
    save_tiny_translators(folder)
    return folder


@pytest.fixture
def page(tiny, monkeypatch):
    return open_transformer(monkeypatch, tiny)


def reference(tiny, text: str, beam: int):
    from model.translate.pipeline import TranslateOptions, load_translator, translate
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(ASSETS_ENV, str(tiny))
        return translate(load_translator("transformer", device="cpu"), text, TranslateOptions(beam))


def test_the_page_opens_with_the_example_run_and_every_view(page, tiny):
    r = reference(tiny, page.text_input(key="tf_text").value, page.slider(key="tf_beam").value)
    assert page.header[0].value.startswith("Transformer")
    assert not page.error and not page.warning
    shown = head_view_shown(page)  # encoder self-attention, layer 1, all heads
    assert shown["left"] == r.source_tokens and shown["heads"] == list(range(HEADS))
    grid, large, roll, rnn, tf = charts(page)
    assert len([t for t in grid["data"] if t["type"] == "heatmap"]) == LAYERS * HEADS
    np.testing.assert_allclose(z(large), np.mean(r.attention["encoder"][0], 0), atol=1e-9)
    np.testing.assert_allclose(z(roll).sum(-1), 1, atol=1e-4)  # of weights rounded to 5 decimals
    # side by side: same source axis, row height, rows and margins, so rows line up
    assert rnn["layout"]["xaxis"]["ticktext"] == tf["layout"]["xaxis"]["ticktext"]
    for key in ("height", "margin"):
        assert rnn["layout"][key] == tf["layout"][key]
    assert rnn["layout"]["yaxis"]["range"] == tf["layout"]["yaxis"]["range"]
    np.testing.assert_allclose(z(tf), np.mean(r.attention["cross"][-1], 0), atol=1e-9)


def test_switching_kind_layer_and_head_redraws_the_views(page, tiny):
    r = reference(tiny, page.text_input(key="tf_text").value, page.slider(key="tf_beam").value)
    page.button_group(key="tf_kind").set_value("cross").run()
    page.button_group(key="tf_layer").set_value(1).run()
    page.button_group(key="tf_head").set_value(1).run()
    assert not page.exception
    shown = head_view_shown(page)
    assert shown["left"] == r.target_tokens and shown["right"] == r.source_tokens and shown["heads"] == [1]
    large = charts(page)[1]
    np.testing.assert_allclose(z(large), r.attention["cross"][1][1], atol=1e-9)
    assert large["layout"]["yaxis"]["ticktext"] == r.target_tokens
    page.button_group(key="tf_kind").set_value("decoder").run()
    causal = z(charts(page)[1])
    assert causal.shape == (len(r.decoder_tokens),) * 2 and (np.triu(causal, 1) == 0).all()
    page.button_group(key="tf_cmp_rows").set_value("rollout").run()
    np.testing.assert_allclose(z(charts(page)[-1]).sum(-1), 1, atol=1e-4)  # of weights rounded to 5 decimals


def test_text_and_choices_survive_a_visit_to_another_page_and_bad_text_gets_a_message(page):
    page.text_input(key="tf_text").set_value("mon père et mon frère aiment mon chat.").run()
    page.button_group(key="tf_kind").set_value("cross").run()
    page.sidebar.radio(key="page").set_value("About").run()
    page.sidebar.radio(key="page").set_value("Transformer").run()
    assert page.text_input(key="tf_text").value == "mon père et mon frère aiment mon chat."
    assert page.button_group(key="tf_kind").value == "cross"
    assert head_view_shown(page)["right"].count("mon") == 3
    page.text_input(key="tf_text").set_value("**!!** ...").run()
    assert not page.exception and "Nothing to translate" in page.warning[0].value
    page.text_input(key="tf_text").set_value("   ").run()
    assert "Type a sentence" in page.info[0].value


def test_without_a_shipped_transformer_the_page_says_so_and_the_app_works(tmp_path, monkeypatch):
    save_tiny_translators(tmp_path, transformer=False)
    at = open_transformer(monkeypatch, tmp_path)
    assert "Transformer translator model is not available yet" in at.info[0].value
    assert "translator_fr-en_transformer.pt" in at.info[0].value and not at.get("plotly_chart")
    at.sidebar.radio(key="page").set_value("Translate").run()
    assert not at.exception and at.get("plotly_chart")
