"""The server's memory stays flat under use: resident memory after 200 requests within 10 % of after 20.

A request is one caption of an upload or one translation, made in the browser.
Two tabs (two sessions) share the server: one captions, one translates, both
greedy (beam 1) to keep the run short. Each round is one caption and, while it
runs, nine translations; inputs cycle so that each request differs from the one
before it (an unchanged input would be answered from the session's cache).
"""
import itertools

import pytest

from bench.browser import SAMPLES, tree_rss_mb
from e2e_helpers import ARTIFACTS, headlines, no_traceback

pytestmark = pytest.mark.e2e

FIRST, LAST, PER_ROUND = 20, 200, 10  # requests; one caption per round, the rest translations
SENTENCES = [
    "je suis très fatigué .", "elle est plus grande que moi .", "nous allons à la plage demain .",
    "il ne sait pas nager .", "j'ai oublié mon parapluie dans le train .", "est-ce que tu parles français ?",
    "il fait froid aujourd'hui .", "où est la gare ?", "j'aime les chats .", "tom a acheté une voiture .",
    "ma sœur travaille dans un hôpital .",
]


def test_server_memory_after_200_requests_is_within_10_percent_of_after_20(new_app, server, reference):
    photos = sorted(SAMPLES.glob("*.jpg"))
    captions = {p: reference.caption(p.read_bytes(), beam=1) for p in photos}
    translations = {s: reference.translate(s, beam=1).translation for s in SENTENCES}

    captioner, translator = new_app(), new_app()
    captioner.slide("Beam size (1 = greedy)", "Home")
    translator.open("Translate")
    translator.slide("Beam width (1 = greedy)", "Home")
    box = translator.page.get_by_role("textbox", name="Sentence")
    next_photo, next_sentence = itertools.cycle(photos), itertools.cycle(SENTENCES)

    rss = {}
    for done in range(PER_ROUND, LAST + 1, PER_ROUND):  # one round: a caption, and translations meanwhile
        photo, old = next(next_photo), [t["src"] for t in captioner.thumbs()]
        captioner.set_file(photo)
        for _ in range(PER_ROUND - 1):
            sentence = next(next_sentence)
            translator.act(lambda: (box.fill(sentence), box.press("Control+Enter")), quiet_s=0)
            assert headlines(translator) == [translations[sentence]], (done, sentence)
        captioner.wait_new_thumbs(old)
        assert headlines(captioner)[:1] == [captions[photo]], (done, photo.name)  # soft, then hard
        if done in (FIRST, LAST):
            rss[done] = tree_rss_mb(server.proc.pid)
    no_traceback(captioner)
    no_traceback(translator)

    report = (f"streamlit server RSS: {rss[FIRST]:.0f} MiB after {FIRST} requests, "
              f"{rss[LAST]:.0f} MiB after {LAST} ({100 * (rss[LAST] / rss[FIRST] - 1):+.1f} %)")
    print("\n" + report)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "memory.txt").write_text(report + "\n")  # kept with the screenshots for CI
    assert abs(rss[LAST] - rss[FIRST]) <= 0.10 * rss[FIRST], rss
