"""The translator's --explain flag and the Explain view, on the shipped additive translator."""
import json

import pytest
from streamlit.testing.v1 import AppTest

from model.core import assets
from model.translate.__main__ import main

pytestmark = pytest.mark.skipif(not assets.translator("additive").is_file(), reason="no shipped translator")


def test_explain_json_has_one_entry_per_target_token(capsys):
    assert main(["je suis très fatigué .", "--explain", "--json", "--device", "cpu"]) == 0
    d = json.loads(capsys.readouterr().out)
    t, s = len(d["target_tokens"]), len(d["source_tokens"])
    assert len(d["loo"]) == len(d["grad"]) == len(d["tau"]) == len(d["permuted_tvd"]) == len(d["alignment"]) == t
    assert all(len(row) == s for row in d["loo"] + d["grad"])
    assert all(set(x) == {"loo", "grad"} for x in d["tau"])
    assert all(0 <= v <= 1 for v in d["permuted_tvd"])


def test_explain_with_a_file_exits_2_with_one_line(tmp_path, capsys):
    f = tmp_path / "s.txt"
    f.write_text("je suis .\n")
    with pytest.raises(SystemExit) as e:
        main(["--file", str(f), "--explain"])
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and len(err.splitlines()) == 1


VIEW = """
from model.translate.pipeline import load_translator, translate
from ui import explain_translate
bundle = load_translator("additive", device="cpu")
explain_translate.render(bundle, translate(bundle, "je suis très fatigué ."), 1)
"""


def test_view_shows_the_numbers_and_retranslates_on_request():
    at = AppTest.from_string(VIEW, default_timeout=120).run()
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert "τ (α, leave-one-out)" in labels and "TVD, row permuted" in labels
    at.selectbox[0].set_value(0)
    at.button[0].click().run()
    assert not at.exception
    texts = [t.value for t in at.text]
    assert len(texts) == 2 and texts[0] != "" and texts[1].split()[:1] == texts[0].split()[:1]
