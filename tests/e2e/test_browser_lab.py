"""The Attention lab in a real browser: the worked example's numbers, an edit that updates them, bad input."""
import pytest

from e2e_helpers import messages, no_traceback, shot
from model.core.lab import PRESETS, run

pytestmark = pytest.mark.e2e

WORKED = PRESETS["Worked example (lecture notes)"]


def tables(app, expected: int = 3) -> list[list[list[str]]]:
    """Every st.table on the page, as rows of cell texts (header row first), once ``expected`` are drawn."""
    app.page.wait_for_function("""n => document.querySelectorAll(
        '[data-testid="stMain"] [data-testid="stTable"] table').length === n""", arg=expected)
    return app.page.evaluate("""() => [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stTable"] table')]
        .map(t => [...t.querySelectorAll('tr')].map(r => [...r.querySelectorAll('th, td')].map(c => c.innerText.trim())))""")


def weights(app) -> list[str]:
    """The weight column of the weights table, without its "sum" row."""
    rows = tables(app)[1]
    return [row[-1] for row in rows[1:] if row[0] != "sum"]


def bars(app) -> list[dict]:
    """Each chart's title and bar heights, as Plotly drew them."""
    return app.page.evaluate("""() => [...document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot')].map(p => ({
        title: p.querySelector('.gtitle')?.textContent, ys: p._fullData.filter(t => t.type === 'bar').map(t => [...t.y])}))""")


def type_into(app, label: str, text: str, submit: str) -> None:
    box = app.page.get_by_role("textbox", name=label)
    app.act(lambda: (box.fill(text), box.press(submit)), quiet_s=0)


def test_the_lab_shows_the_worked_example_and_follows_an_edit(new_app):
    app = new_app()
    app.open("Attention lab")
    no_traceback(app)
    expected = run(WORKED.query, WORKED.keys, WORKED.values)
    assert [row[1] for row in tables(app)[0][1:]] == ["0.148", "0.121", "0.995", "0.121"]
    assert weights(app) == [f"{w:.3f}" for w in expected.weights]
    assert tables(app)[2][-1] == ["c = Σ"] + [f"{c:.3f}" for c in expected.context]
    charts = bars(app)
    assert [c["title"] for c in charts][:2] == ["scores eᵢ", "weights αᵢ (T = 1)"]
    assert charts[1]["ys"][0] == pytest.approx(expected.weights, abs=1e-9)
    assert not messages(app)
    shot(app, "lab_worked_example")

    type_into(app, "Query q: what this position is looking for", "0, 1, 0", "Enter")
    moved = run([0, 1, 0], WORKED.keys, WORKED.values)
    assert weights(app) == [f"{w:.3f}" for w in moved.weights] and moved.weights.argmax() == 3
    assert bars(app)[1]["ys"][0] == pytest.approx(moved.weights, abs=1e-9)
    no_traceback(app)

    app.act(app.page.locator('[data-testid="stMain"] label').filter(has_text="k4").first.click, quiet_s=0)  # mask k4
    masked = run([0, 1, 0], WORKED.keys, WORKED.values, masked=[False, False, False, True])
    assert weights(app) == [f"{w:.3f}" for w in masked.weights] and weights(app)[3] == "0.000"
    app.choose("additive")
    assert len(tables(app)) == 3 and not messages(app)
    no_traceback(app)
    shot(app, "lab_additive_masked")

    type_into(app, "Values V: what each position passes on", "1, 2, 5\n1, 1, 5", "Control+Enter")
    assert "4 keys but 2 values" in messages(app) and not tables(app, 0)
    no_traceback(app)
    shot(app, "lab_bad_values")
