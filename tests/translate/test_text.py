"""Translator tokenizer and data protocols, on tiny pair files of our own (no shared data)."""
import gzip
import random
import unicodedata

import pytest

from model.translate.text import detokenize, split_sentences, tokenize, tutorial_normalize
from model.core.vocab import Vocab
from train.translate.data import batches, encode_batch, load_ours, load_tutorial, split_of


def write_pairs(path, pairs):
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.writelines(f"{en}\t{fr}\n" for en, fr in pairs)
    return path


def test_tokenize_keeps_accents_and_apostrophes_and_splits_elisions():
    assert tokenize("Je suis très fatigué.") == ["je", "suis", "très", "fatigué", "."]
    assert tokenize("L’homme qu'il a vu n'est pas là !") == \
        ["l'", "homme", "qu'", "il", "a", "vu", "n'", "est", "pas", "là", "!"]
    assert tokenize("Ça, c'est-à-dire aujourd'hui ?") == ["ça", ",", "c'", "est-à-dire", "aujourd'hui", "?"]
    assert tokenize("I don't know Tom's car...") == ["i", "don't", "know", "tom's", "car", "..."]


def test_tokenize_treats_decomposed_accents_and_french_spaces_like_typed_ones():
    decomposed = unicodedata.normalize("NFD", "Il a été là\u202f!")
    assert decomposed != "Il a été là !"
    assert tokenize(decomposed) == tokenize("Il a été là !") == ["il", "a", "été", "là", "!"]


@pytest.mark.parametrize("sentence", ["je suis très fatigué.", "l'homme qu'il a vu n'est pas là!",
                                      "i don't know, really... (maybe)", "est-ce que tu viens?"])
def test_detokenize_undoes_tokenize_on_normalised_text(sentence):
    assert detokenize(tokenize(sentence)) == sentence


def test_tutorial_normalize_is_ascii_letters_and_bang_question_only():
    assert tutorial_normalize("Je suis très fatigué.") == "je suis tres fatigue"
    assert tutorial_normalize("Qu'est-ce que c'est ?!") == "qu est ce que c est ? !"


def test_split_is_by_source_so_one_source_never_sits_in_two_splits(tmp_path):
    # 600 French sentences, each with three English translations
    pairs = [(f"translation {k} of sentence {i}", f"phrase numéro {i} .") for i in range(600) for k in range(3)]
    splits, desc = load_ours(write_pairs(tmp_path / "p.txt.gz", pairs))
    sides = {}
    for name, rows in splits.items():
        for src, _ in rows:
            sides.setdefault(tuple(src), set()).add(name)
    assert len(sides) == 600 and all(len(s) == 1 for s in sides.values())
    counts = {k: len(v) / 1800 for k, v in splits.items()}
    assert 0.85 < counts["train"] < 0.95 and 0.02 < counts["val"] < 0.08 and 0.02 < counts["test"] < 0.08
    assert split_of(["phrase", "numéro", "7", "."]) == split_of(tokenize("Phrase numéro 7."))
    assert "90/5/5" in desc["split"] and "CC-BY 2.0 FR" in desc["license"]


def test_length_filter_default_15_and_configurable(tmp_path):
    path = write_pairs(tmp_path / "p.txt.gz", [("a " * n, "b " * n) for n in range(1, 25)])
    for max_len, expected in ((15, 15), (5, 5)):
        splits, _ = load_ours(path, max_len=max_len) if max_len != 15 else load_ours(path)
        rows = [r for rs in splits.values() for r in rs]
        assert len(rows) == expected and max(len(s) for s, _ in rows) == max_len


def test_direction_swaps_the_sides(tmp_path):
    path = write_pairs(tmp_path / "p.txt.gz", [("I am tired.", "Je suis fatigué.")] * 3)
    fr_en = [r for rs in load_ours(path)[0].values() for r in rs]
    en_fr = [r for rs in load_ours(path, direction="en-fr")[0].values() for r in rs]
    assert fr_en[0] == (["je", "suis", "fatigué", "."], ["i", "am", "tired", "."])
    assert en_fr[0] == fr_en[0][::-1]


def test_tutorial_protocol_filters_by_prefix_and_length(tmp_path):
    pairs = [("I am cold.", "J'ai froid."), ("I'm sleepy.", "J'ai sommeil."), ("Tom is here.", "Tom est là."),
             ("He is a very very very very very very nice man.", "C'est un homme très très très très gentil."),
             ("They're back!", "Ils sont de retour !")]
    splits, desc = load_tutorial(write_pairs(tmp_path / "p.txt.gz", pairs))
    kept = sorted(" ".join(en) for _, en in splits["train"] + splits["test"])
    assert kept == ["i am cold", "i m sleepy", "they re back !"]
    assert "tutorial" in desc["source"]


def test_batches_cover_every_pair_once_and_pad_with_masks():
    pairs = [([f"w{i}"] * (1 + i % 5), [f"v{i}"] * (1 + i % 3)) for i in range(50)]
    got = [p for b in batches(pairs, 8, random.Random(0)) for p in b]
    assert sorted(map(str, got)) == sorted(map(str, pairs))
    vocab_s, vocab_t = Vocab.build(s for s, _ in pairs), Vocab.build(t for _, t in pairs)
    src, lengths, tin, tout = encode_batch(pairs[:5], vocab_s, vocab_t)
    assert lengths.tolist() == [2, 3, 4, 5, 6]  # words + <end>
    assert (src[0, 2:] == vocab_s.pad).all() and src[0, 1] == vocab_s.end
    assert tin[0, 0] == vocab_t.start and tout[0, 1] == vocab_t.end and (tout[0, 2:] == vocab_t.pad).all()


@pytest.mark.parametrize("text, sentences", [
    ("je suis fatigué. il fait froid.", ["je suis fatigué.", "il fait froid."]),  # lower case, as people type
    ("Tu viens ? Non ! Tant pis…", ["Tu viens ?", "Non !", "Tant pis…"]),
    ("Première ligne\nDeuxième ligne\r\n\r\n  Troisième ligne  ", ["Première ligne", "Deuxième ligne",
                                                                "Troisième ligne"]),
    ("« Bonjour. » Il part.", ["« Bonjour. »", "Il part."]),  # the closing quote stays with its sentence
])
def test_split_sentences_at_stops_and_line_breaks(text, sentences):
    assert split_sentences(text) == sentences


@pytest.mark.parametrize("text", [
    "M. Dupont et Mme Martin sont arrivés.",
    "J. K. Rowling a écrit ce livre.",
    "Il pèse 3.5 kg, soit 3,5 kilos.",
    "Rome fut fondée en 753 av. J.-C. selon la légende.",
    "Des pommes, des poires, etc. et des fraises.",
    "Je sais... mais je ne veux pas.",
])
def test_abbreviations_initials_decimals_and_pauses_do_not_end_a_sentence(text):
    assert split_sentences(text) == [text]


def test_split_sentences_keeps_every_word_and_leaves_no_wordless_piece():
    text = "Vraiment ?!! 😀\n\n... Oui. Pommes, etc. Fin."
    parts = split_sentences(text)
    assert parts == ["Vraiment ?!! 😀 ...", "Oui.", "Pommes, etc.", "Fin."]
    assert tokenize(" ".join(parts)) == tokenize(text)
    assert split_sentences("") == split_sentences(" \n\t ") == []
    assert split_sentences("?!... ;;") == ["?!... ;;"]  # nothing to translate: the page says so
