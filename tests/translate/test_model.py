"""Translator model, decoding, training loop and command line, on tiny synthetic data."""
import json
import random

import pytest
import torch

from model.core import assets
from model.core.attention import SCORES
from model.core.assets import ASSETS_ENV
from model.core.checkpoint import load_checkpoint, save_checkpoint
from model.core.loader import load
from model.core.vocab import END, SPECIALS, START
from model.translate.__main__ import main
from model.translate.decode import beam_search, greedy, greedy_many
from model.translate.pipeline import TranslateOptions, max_input_tokens, translate
from model.translate.rnn import Memory, Translator, TranslatorConfig
from tests.translate.tiny_translators import padded_batch, write_eng_fra
from train.translate.data import encode_batch, load_ours
from train.translate.train import parse_args, train, with_fresh_score
from ui.translate_results import budget

START_ID, END_ID = SPECIALS.index(START), SPECIALS.index(END)  # every vocabulary starts with SPECIALS

WORDS = [f"w{i}" for i in range(12)]


def untrained(score="additive", vocab=30, cutoffs=(), seed=0):
    torch.manual_seed(seed)
    return Translator(TranslatorConfig(vocab, vocab, 16, 24, 20, score, 0.0, 8, softmax_cutoffs=cutoffs)).eval()



@pytest.mark.parametrize("score", SCORES)
def test_alignment_rows_sum_to_one_and_padding_gets_zero(score):
    model = untrained(score)
    src, lengths = padded_batch([6, 3, 1, 4])
    tin = torch.randint(4, 30, (4, 5))
    features, weights = model(src, lengths, tin)
    assert features.shape == (4, 5, 24) and weights.shape == (4, 5, 6)
    torch.testing.assert_close(weights.sum(-1), torch.ones(4, 5))
    pad = torch.arange(6)[None, :] >= lengths[:, None]
    assert (weights.permute(1, 0, 2)[:, pad] == 0).all()
    for d, n in zip(greedy(model, src, lengths, START_ID, END_ID), lengths.tolist()):
        assert d.alignment.shape == (len(d.ids), n)  # only real source positions, <end> included
        torch.testing.assert_close(d.alignment.sum(-1), torch.ones(len(d.ids)))


def test_adaptive_softmax_gives_normalised_log_probs_and_the_matching_loss():
    model = untrained(vocab=40, cutoffs=(12, 25))
    src, lengths = padded_batch([5, 3], vocab=40)
    tin, tout = torch.randint(4, 40, (2, 4)), torch.randint(4, 40, (2, 4))
    tout[1, 3] = 0  # padding is left out of the loss
    features, _ = model(src, lengths, tin)
    log_probs = model.log_probs(features)
    torch.testing.assert_close(log_probs.exp().sum(-1), torch.ones(2, 4))
    nll = -log_probs.gather(-1, tout.clamp_min(0).unsqueeze(-1)).squeeze(-1)[tout != 0].mean()
    torch.testing.assert_close(model.loss(features, tout), nll)


@pytest.mark.parametrize("score", SCORES)
def test_beam_of_one_is_greedy(score):
    model = untrained(score, seed=3)
    for seed in range(4):
        src, lengths = padded_batch([2 + seed * 2], seed=seed)
        g = greedy(model, src, lengths, START_ID, END_ID)[0]
        b = beam_search(model, src, lengths, START_ID, END_ID, beam=1)
        assert g.ids == b.ids
        torch.testing.assert_close(g.alignment, b.alignment)
        assert g.log_prob == pytest.approx(b.log_prob, abs=1e-4)


@pytest.mark.parametrize("beam", [1, 2, 5, 10])
def test_beam_always_ends_even_if_the_model_never_says_end(beam):
    model = untrained(seed=1)
    with torch.no_grad():
        model.out.bias[END_ID] = -1e4  # <end> is never chosen: only the length cap can stop it
    src, lengths = padded_batch([5])
    d = beam_search(model, src, lengths, START_ID, END_ID, beam=beam, max_steps=9)
    assert len(d.ids) == 9 and END_ID not in d.ids
    torch.testing.assert_close(d.alignment.sum(-1), torch.ones(9))
    assert len(greedy(model, src, lengths, START_ID, END_ID, max_steps=7)[0].ids) == 7
    with pytest.raises(ValueError, match="beam must be between 1 and 10"):
        beam_search(model, src, lengths, START_ID, END_ID, beam=11)


@pytest.mark.parametrize("beam", [1, 4])
def test_beam_output_matches_a_teacher_forced_rescoring_of_itself(beam):
    model = untrained("concat", seed=2)
    src, lengths = padded_batch([6], seed=5)
    d = beam_search(model, src, lengths, START_ID, END_ID, beam=beam, max_steps=12)
    tin = torch.tensor([[1] + d.ids[:-1]])
    with torch.no_grad():
        features, weights = model(src, lengths, tin)
        log_probs = model.log_probs(features)[0].gather(-1, torch.tensor(d.ids)[:, None]).sum()
    assert d.log_prob == pytest.approx(float(log_probs), abs=1e-4)
    torch.testing.assert_close(d.alignment, weights[0])


@pytest.fixture(scope="module")
def reverse_run(tmp_path_factory):
    """A small model trained with the real training loop to reverse sequences of words."""
    tmp = tmp_path_factory.mktemp("reverse")
    rng = random.Random(0)
    french = [[rng.choice(WORDS) for _ in range(rng.randint(2, 6))] for _ in range(2500)]
    write_eng_fra(tmp, [(" ".join(w[::-1]), " ".join(w)) for w in french])  # English = reversed French
    common = ["--data", str(tmp), "--emb", "32", "--hidden", "64", "--dropout", "0", "--batch", "64",
              "--lr", "3e-3", "--runs", str(tmp / "runs"), "--name", "rev"]
    train(parse_args(common + ["--epochs", "5"]))
    best = train(parse_args(common + ["--epochs", "7", "--resume"]))  # goes on from epoch 5
    return tmp, best


def test_training_lowers_the_loss_and_resumes(reverse_run):
    _, best = reverse_run
    last = load_checkpoint(best.parent / "last.pt")
    history = last.extra["history"]
    assert [h["epoch"] for h in history] == list(range(1, 8))
    assert history[-1]["val_loss"] < 0.5 * history[0]["val_loss"]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert load_checkpoint(best).metrics["val_loss"] == min(h["val_loss"] for h in history)


def test_init_from_a_shipped_style_checkpoint_continues_its_epochs_and_history(reverse_run, tmp_path):
    tmp, best = reverse_run
    shipped = tmp_path / "shipped.pt"
    save_checkpoint(shipped, load_checkpoint(best), half=True)  # what assets/ holds: fp16, no optimizer
    before = load_checkpoint(best)
    out = train(parse_args(["--data", str(tmp), "--batch", "64", "--lr", "1e-3", "--runs", str(tmp_path),
                            "--name", "more", "--init", str(shipped), "--epochs", "1"]))
    after = load_checkpoint(out.parent / "last.pt")
    assert after.metrics["epochs"] == before.metrics["epochs"] + 1  # --epochs counts this run only
    assert [h["epoch"] for h in after.extra["history"]] == [h["epoch"] for h in before.extra["history"]] + [
        before.metrics["epochs"] + 1]
    assert after.metrics["val_loss"] < 2 * before.metrics["val_loss"]  # went on from the trained weights


def test_a_fresh_score_function_starts_from_every_other_weight_of_the_base(reverse_run, tmp_path):
    tmp, best = reverse_run
    base = load_checkpoint(best)
    _, _, model = with_fresh_score(base, "general", "cpu")
    state = model.state_dict()
    assert model.config.score == "general" and "step.attention.W.weight" in state
    for name, weight in base.state_dict.items():
        if ".attention." not in name:  # the additive scorer's weights are dropped, all others carried over
            torch.testing.assert_close(state[name], weight.float())
    out = train(parse_args(["--data", str(tmp), "--batch", "64", "--runs", str(tmp_path), "--name", "general",
                            "--init", str(best), "--fresh-score", "--score", "general", "--epochs", "1"]))
    after = load_checkpoint(out.parent / "last.pt")
    assert after.config["score"] == "general" and after.metrics["shared_epochs"] == base.metrics["epochs"]
    assert [h["score"] for h in after.extra["history"]] == ["additive"] * base.metrics["epochs"] + ["general"]
    assert budget(after.metrics).startswith(f"{base.metrics['epochs']} shared + 1 own epochs")
    more = train(parse_args(["--data", str(tmp), "--batch", "64", "--runs", str(tmp_path), "--name", "general",
                             "--score", "general", "--epochs", "2", "--resume"]))  # no --fresh-score needed
    assert load_checkpoint(more.parent / "last.pt").metrics["shared_epochs"] == base.metrics["epochs"]


def test_trained_reverse_model_attends_to_the_mirrored_source_position(reverse_run):
    tmp, best = reverse_run
    t = load(best, "cpu")
    test = load_ours(tmp)[0]["test"]
    src, lengths, _, _ = encode_batch(test, t.vocab["src"], t.vocab["tgt"])
    hits = total = correct = 0
    for (s, ref), d in zip(test, greedy(t.model, src, lengths, START_ID, END_ID)):
        n = len(s)
        correct += [t.vocab["tgt"].itos[i] for i in d.ids[:-1]] == ref
        for j in range(min(n, len(d.ids))):  # target word j is source word n-1-j
            hits += int(d.alignment[j].argmax()) == n - 1 - j
            total += 1
    assert correct / len(test) > 0.8
    assert hits / total > 0.8


def test_command_line_prints_the_json_the_app_needs(reverse_run, capsys):
    _, best = reverse_run
    assert main(["W1 w2 w3 w4 zzz", "--checkpoint", str(best), "--beam", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"translation", "source_tokens", "target_tokens", "alignment", "unknown_words"}
    assert out["source_tokens"] == ["w1", "w2", "w3", "w4", "zzz", "<end>"]
    assert out["unknown_words"] == ["zzz"]
    assert len(out["alignment"]) == len(out["target_tokens"])
    assert all(len(r) == 6 and abs(sum(r) - 1) < 1e-3 for r in out["alignment"])
    assert main(["?!", "--checkpoint", str(best)]) == 2 and "no words" in capsys.readouterr().err
    assert main(["w1", "--checkpoint", str(best.parent / "missing.pt")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_long_input_is_truncated_and_flagged(reverse_run):
    _, best = reverse_run
    t = load(best, "cpu")
    r = translate(t, " ".join(["w1"] * 500))
    assert r.truncated and len(r.source_tokens) == max_input_tokens(t) + 1


SENTENCES = {"je suis très fatigué.": "tired", "il fait froid.": "cold", "où est la gare ?": "station",
             "j'aime les chats.": "cats"}


@pytest.mark.parametrize("score", SCORES)
def test_shipped_checkpoint_translates_sensibly(score):
    path = assets.SHIPPED / assets.translator(score).name
    if not path.is_file():
        pytest.skip(f"{path.name} is not shipped in assets/ (train and ship it with train.translate.evaluate)")
    t = load(path, "cpu")
    assert t.preprocessing.protocol == "ours" and t.metrics["test_bleu_greedy"] > 10  # far above a broken model's ~0
    results = {sentence: translate(t, sentence, TranslateOptions(beam=5)) for sentence in SENTENCES}
    for r in results.values():
        assert len(r.alignment) == len(r.target_tokens) and r.target_tokens[-1] == "<end>"
        assert all(abs(sum(row) - 1) < 1e-3 for row in r.alignment)
    # the weakest shipped model (general, about 1 epoch) gets one of these wrong ("i like dogs.")
    hits = [s for s, r in results.items() if SENTENCES[s] in r.target_tokens]
    assert len(hits) >= 3, {s: r.translation for s, r in results.items()}
    assert translate(t, "je suis xyzzyq.").unknown_words == ["xyzzyq"]


def test_ship_scores_the_fp16_file_it_ships(reverse_run, tmp_path, monkeypatch):
    tmp, best = reverse_run
    from train.translate import evaluate as ev
    run = tmp_path / "runs" / "translator_fr-en_additive"
    run.mkdir(parents=True)
    for name in ("best.pt", "last.pt"):
        (run / name).write_bytes((best.parent / name).read_bytes())
    monkeypatch.setenv(ASSETS_ENV, str(tmp_path / "assets"))
    (tmp_path / "assets").mkdir()
    scored = []
    monkeypatch.setattr(ev, "load_bundle", lambda path, kind: scored.append(path) or load(path, "cpu", kind=kind))
    ev.main(["--data", str(tmp), "--models", "additive", "--beam", "1", "--timing", "2", "--ship",
             "--runs", str(tmp_path / "runs")])
    shipped = tmp_path / "assets" / "translator_fr-en_additive.pt"
    assert scored == [shipped]
    ckpt = load_checkpoint(shipped)
    assert all(v.dtype == torch.float16 for v in ckpt.state_dict.values() if v.is_floating_point())
    assert ckpt.metrics["test_bleu_greedy"] > 50 and ckpt.metrics["run_steps"] > 0
    assert "test_bleu_greedy" in (tmp_path / "assets" / "translator_fr-en_additive.card.md").read_text()


def test_greedy_takes_the_argmax_of_the_full_distribution_without_computing_it_when_it_can():
    """best_next reads the adaptive softmax's head alone when a frequent word wins; when a rare word
    wins, it computes everything. Row by row, it always picks what log_probs(...).max() picks."""
    model = untrained(vocab=40, cutoffs=(12, 25), seed=4)
    with torch.no_grad():
        model.out.head.weight[12:] *= 6  # make the two clusters win often enough
        features = torch.randn(200, 24)
        full = model.log_probs(features).max(-1)
        for row, want, value in zip(features, full.indices, full.values):
            got = model.best_next(row[None])
            assert int(got[1]) == int(want) and float(got[0]) == pytest.approx(float(value), abs=1e-6)
    rare = full.indices >= model.out.shortlist_size
    assert 0 < int(rare.sum()) < len(rare)  # both paths ran


def test_greedy_many_gives_each_sentence_what_greedy_gives_it_alone():
    model = untrained(seed=5)
    sources = [padded_batch([n], seed=n)[0][0].tolist() for n in (3, 7, 1, 5, 7, 2, 4)]
    batched = greedy_many(model, sources, START_ID, END_ID, batch_size=3)
    for s, d in zip(sources, batched):
        alone = greedy(model, torch.tensor([s]), torch.tensor([len(s)]), START_ID, END_ID)[0]
        assert d.ids == alone.ids and len(d.ids) <= 2 * len(s) + 5
        torch.testing.assert_close(d.alignment, alone.alignment)
        assert d.log_prob == pytest.approx(alone.log_prob, abs=1e-4)


def test_shipped_greedy_is_the_full_distribution_decoding_of_a_packed_source():
    """The fast greedy (no packing for one sentence, no mask, head-only argmax) translates exactly as the
    plain algorithm: packed encoder, masked attention, every word's log-probability at every step."""
    path = assets.SHIPPED / assets.translator("additive").name
    if not path.is_file():
        pytest.skip(f"{path.name} is not shipped in assets/")
    t = load(path, "cpu")
    src_vocab, tgt = t.vocab["src"], t.vocab["tgt"]
    sentences = list(SENTENCES) + ["tom ne veut pas que marie parte .", "nous avons mangé des pommes hier soir ."]
    for sentence in sentences:
        src = torch.tensor([src_vocab.encode(t.preprocessing.tokenize(sentence)) + [src_vocab.end]])
        lengths = torch.tensor([src.size(1)])
        fast = greedy(t.model, src, lengths, tgt.start, tgt.end)[0]
        with torch.no_grad():
            keys, state = t.model.encoder(src, lengths, padded=True)
            memory = Memory(keys, t.model.step.attention.precompute(keys), torch.ones_like(src, dtype=torch.bool),
                            state)
            prev, context, ids, total = torch.tensor([tgt.start]), torch.zeros_like(state), [], 0.0
            while len(ids) < 2 * src.size(1) + 5 and tgt.end not in ids:
                features, state, context, _ = t.model.step(prev, state, context, memory)
                best, prev = t.model.log_probs(features).max(-1)
                ids.append(int(prev))
                total += float(best)
        assert fast.ids == ids, sentence
        assert fast.log_prob == pytest.approx(total, abs=1e-4)


def test_attention_peak_is_one_when_a_single_source_word_takes_all_the_weight():
    from types import SimpleNamespace

    from train.translate.evaluate import attention_peak
    one_hot = SimpleNamespace(alignment=torch.eye(3, 4))
    spread = SimpleNamespace(alignment=torch.full((2, 4), 0.25))
    assert attention_peak({"a": one_hot}) == 1.0 and attention_peak({"b": spread}) == 0.25
    assert attention_peak({"a": one_hot, "b": spread}) == pytest.approx((3 * 1.0 + 2 * 0.25) / 5, abs=1e-3)
