"""Captioner model, decoding and training behaviour on tiny data of our own."""
import copy

import pytest
import torch

from model.caption.decode import beam_search, greedy, sample_best
from model.caption.decoder import (Captioner, CaptionerConfig, LowLSTMCell, MovingBaseline, doubly_stochastic,
                                   reinforce_loss, with_precision)
from model.core.checkpoint import Checkpoint, save_checkpoint
from model.core.loader import load
from model.core.vocab import SPECIALS

V, N, D = 12, 16, 24  # vocabulary, locations (4x4 grid), feature size
START, END = 1, 2


def tiny(attention="soft", seed=0, **kw):
    torch.manual_seed(seed)
    cfg = CaptionerConfig(vocab_size=V, feature_dim=D, grid=4, embed_dim=16, hidden_dim=32, attn_dim=16,
                          attention=attention, dropout=0.0, max_len=8, **kw)
    return Captioner(cfg).eval()


def test_soft_alpha_sums_to_one_and_hard_is_one_hot():
    ann = torch.randn(3, N, D)
    for attention, location in [("soft", "expected"), ("hard", "argmax"), ("hard", "sample")]:
        out = greedy(tiny(attention), ann, START, END, location=location,
                     generator=torch.Generator().manual_seed(0))
        for d in out:
            assert d.alphas.shape == (len(d.tokens), N) and d.betas.shape == (len(d.tokens),)
            torch.testing.assert_close(d.alphas.sum(-1), torch.ones(len(d.tokens)))
            if attention == "hard":
                assert set(d.alphas.unique().tolist()) <= {0.0, 1.0}
            else:
                assert (d.alphas < 1).all()
            assert ((d.betas > 0) & (d.betas < 1)).all()


def test_beam_one_equals_greedy():
    for seed in range(4):
        model, ann = tiny(seed=seed), torch.randn(1, N, D)
        g = greedy(model, ann, START, END)[0]
        b = beam_search(model, ann, START, END, beam=1)
        assert g.tokens == b.tokens
        torch.testing.assert_close(g.alphas, b.alphas)
        assert abs(g.log_prob - b.log_prob) < 1e-4


def test_beam_ends_on_an_untrained_model_and_is_no_worse_than_greedy():
    model, ann = tiny(seed=3), torch.randn(1, N, D)
    for beam in (1, 3, 10):
        d = beam_search(model, ann, START, END, beam=beam)
        assert len(d.tokens) <= model.config.max_len and END not in d.tokens
    g = greedy(model, ann, START, END)[0]
    assert beam_search(model, ann, START, END, beam=5, length_alpha=0).log_prob >= g.log_prob - 1e-5


def test_beam_ranks_finished_captions_per_word_unless_asked_for_the_total():
    per_word = lambda d: d.log_prob / (len(d.tokens) + 1)  # + <end>
    differ = 0
    for seed in range(8):
        model, ann = tiny(seed=seed), torch.randn(1, N, D)
        norm = beam_search(model, ann, START, END, beam=4)
        total = beam_search(model, ann, START, END, beam=4, length_alpha=0)
        if model.config.max_len in (len(norm.tokens), len(total.tokens)):
            continue  # unfinished at the cap: no <end> scored
        assert per_word(norm) >= per_word(total) - 1e-6 and total.log_prob >= norm.log_prob - 1e-6
        differ += norm.tokens != total.tokens
    assert differ  # per word, longer captions win some


def test_hard_sampling_is_reproducible_per_seed():
    model, ann = tiny("hard", seed=1), torch.randn(1, N, D)
    a = sample_best(model, ann, START, END, samples=4, seed=7)
    b = sample_best(model, ann, START, END, samples=4, seed=7)
    assert a.tokens == b.tokens and torch.equal(a.alphas, b.alphas)
    runs = {tuple(sample_best(model, ann, START, END, samples=1, seed=s).alphas.argmax(-1).tolist())
            for s in range(6)}
    assert len(runs) > 1  # different seeds look at different places


def make_task(n=32, seed=0):
    """Each image has one 'hot' location; the caption names it: <start> w <end>."""
    g = torch.Generator().manual_seed(seed)
    ann = torch.randn(n, N, D, generator=g) * 0.1
    loc = torch.randint(0, 8, (n,), generator=g)
    ann[torch.arange(n), loc] += 3.0
    ann[torch.arange(n), loc, :8] += torch.nn.functional.one_hot(loc, 8).float() * 3
    ids = torch.stack([torch.full((n,), START), 4 + loc, torch.full((n,), END)], 1)
    return ann, ids, loc


def train_steps(model, ann, ids, steps, hard=False):
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    baseline, gen, losses = MovingBaseline(), torch.Generator().manual_seed(0), []
    model.train()
    for _ in range(steps):
        logits, alphas, _, loc_lp = model(ann, ids, generator=gen)
        nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), ids[:, 1:], reduction="none")
        loss = nll.mean() + 0.01 * doubly_stochastic(alphas, torch.ones(ids.shape[0], 2)).mean()
        if hard:
            reward = -nll.sum(1)
            loss = loss + reinforce_loss(loc_lp, reward, baseline.update(reward), probs=alphas, entropy_weight=1e-3)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(nll.mean().item())
    return losses


def test_the_loss_falls_on_a_tiny_set_for_soft_and_hard():
    ann, ids, loc = make_task()
    for attention in ("soft", "hard"):
        model = tiny(attention)
        losses = train_steps(model, ann, ids, 100, hard=attention == "hard")
        assert sum(losses[-5:]) / 5 < 0.5 * sum(losses[:5]) / 5, (attention, losses[:5], losses[-5:])
        model.eval()
        words = [d.tokens[0] for d in greedy(model, ann, START, END)]
        assert (torch.tensor(words) == 4 + loc).float().mean() > 0.8


def test_reinforce_gradient_has_the_right_sign():
    # one step, 4 locations; the reward is high only when location 2 is sampled
    scores = torch.zeros(256, 4, requires_grad=True)
    probs = torch.softmax(scores, -1)
    loc = torch.multinomial(probs.detach(), 1, generator=torch.Generator().manual_seed(0)).squeeze(1)
    log_prob = torch.log(probs[torch.arange(256), loc]).unsqueeze(1)
    reward = (loc == 2).float()
    reinforce_loss(log_prob, reward, baseline=float(reward.mean())).backward(retain_graph=True)
    step = -scores.grad.mean(0)  # gradient descent direction on the shared scores
    assert step[2] > 0 and (step[[0, 1, 3]] < 0).all()
    # with no advantage (reward == baseline) there is nothing to learn
    scores.grad = None
    reinforce_loss(log_prob, torch.ones(256), baseline=1.0).backward()
    assert scores.grad.abs().max() == 0


def test_doubly_stochastic_is_zero_when_every_location_is_seen_once():
    alphas = torch.eye(4).unsqueeze(0)  # step t looks only at location t
    assert float(doubly_stochastic(alphas, torch.ones(1, 4))) == 0
    assert float(doubly_stochastic(torch.full((1, 4, 4), 0.25).index_fill(1, torch.tensor([3]), 0),
                                   torch.ones(1, 4))) > 0


def test_baseline_tracks_the_reward():
    b = MovingBaseline(decay=0.5)
    for _ in range(20):
        b.update(torch.tensor([4.0, 6.0]))
    assert abs(b.value - 5.0) < 1e-3


def test_the_merged_gate_matrix_computes_the_lstm_cell():
    """LowLSTMCell's one [W_ih W_hh] product and gate order give nn.LSTMCell's state (checked in fp32)."""
    torch.manual_seed(0)
    cell = torch.nn.LSTMCell(10, 6)
    x, h, c = torch.randn(3, 10), torch.randn(3, 6), torch.randn(3, 6)
    with torch.no_grad():
        for got, want in zip(LowLSTMCell(cell, torch.float32)(x, (h, c)), cell(x, (h, c))):
            torch.testing.assert_close(got, want)


@pytest.mark.parametrize("precision", ["bf16", "fp16", "int8"])
def test_a_lower_precision_decoder_keeps_its_outputs_and_nearly_its_scores(precision):
    model = tiny("hard", seed=2)
    fp32 = copy.deepcopy(model)
    low = with_precision(model, precision)
    assert low.config.precision == precision
    ann = torch.randn(1, N, D)
    for location in ("argmax", "expected"):
        d = beam_search(low, ann, START, END, beam=3, location=location)
        assert d.alphas.dtype == torch.float32 and d.alphas.shape == (len(d.tokens), N)
        torch.testing.assert_close(d.alphas.sum(-1), torch.ones(len(d.tokens)))
    with torch.no_grad():  # one step from the same state: the word scores move by rounding only
        keys, projected, state = fp32.prepare(ann)
        want = fp32.step(torch.tensor([START]), state, keys, projected)[1].logits
        got = low.step(torch.tensor([START]), state, keys, projected)[1].logits
    assert got.dtype == torch.float32 and 0 < (got - want).abs().max() < 0.05


def test_the_checkpoint_names_the_precision_it_loads_at_and_its_weights_stay_as_trained(tmp_path):
    model = tiny()
    words = {"words": list(SPECIALS) + [f"w{i}" for i in range(V - len(SPECIALS))]}
    for precision, cell in (("bf16", LowLSTMCell), ("fp32", torch.nn.LSTMCell)):
        config = {**model.config.__dict__, "precision": precision}
        path = save_checkpoint(tmp_path / f"{precision}.pt", Checkpoint("captioner", config, model.state_dict(),
                                                                         vocab=words))
        loaded = load(tmp_path / f"{precision}.pt", "cpu")
        assert isinstance(loaded.model.lstm, cell) and loaded.model.config.precision == precision
        assert path == save_checkpoint(tmp_path / "again.pt", Checkpoint("captioner", model.config,
                                                                          model.state_dict()))  # same weights sha
    old = {k: v for k, v in model.config.__dict__.items() if k != "precision"}  # written before the field
    save_checkpoint(tmp_path / "old.pt", Checkpoint("captioner", old, model.state_dict(), vocab=words))
    assert isinstance(load(tmp_path / "old.pt", "cpu").model.lstm, torch.nn.LSTMCell)
    with pytest.raises(ValueError, match="precision must be one of"):
        with_precision(tiny(), "fp8")
