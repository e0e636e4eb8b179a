"""Explanations and interventions of the captioner on tiny models with known answers."""
import numpy as np
import pytest
import torch

from model.caption.decode import greedy
from model.caption.decoder import Captioner, CaptionerConfig
from model.caption.explain import explain
from model.caption.intervene import Force, force
from model.caption.override import teacher_forced
from model.core.ranking import kendall_tau
from model.core.vocab import SPECIALS

DOG = len(SPECIALS) + 1  # vocabulary: specials, "a", "dog", "runs"
CELL = 4  # the one cell the word depends on (centre of a 3×3 grid)


def one_cell_model(attention: str) -> Captioner:
    """Attention peaks on the cell whose feature 0 is high; "dog" is said only when the context has it.

    The score is 5 tanh(5 k_0) for every query (W_s = 0), the output logit of "dog" is 10 tanh(3 z_0)
    and every other word's 0 (specials -30), so p(dog) is high exactly while the step reads CELL.
    """
    torch.manual_seed(0)
    m = Captioner(CaptionerConfig(vocab_size=len(SPECIALS) + 3, feature_dim=8, grid=3, embed_dim=4, hidden_dim=8,
                                  attn_dim=4, attention=attention, dropout=0.0, max_len=4)).eval()
    with torch.no_grad():
        for layer in (m.attend.W_s, m.attend.W_h, m.attend.v, m.L_z, m.L_o, m.L_h, m.embed):
            layer.weight.zero_()
            if getattr(layer, "bias", None) is not None:
                layer.bias.zero_()
        m.attend.W_h.weight[0, 0], m.attend.v.weight[0, 0] = 5.0, 5.0
        m.L_z.weight[0, 0], m.L_o.weight[DOG, 0] = 3.0, 10.0
        m.L_o.bias[:len(SPECIALS)] = -30
    return m


def annotations() -> torch.Tensor:
    a = torch.randn(1, 9, 8, generator=torch.Generator().manual_seed(1)) * 0.1
    a[0, :, 0] = -10.0
    a[0, CELL, 0] = 10.0
    return a


@pytest.mark.parametrize("attention,location", [("soft", "expected"), ("hard", "argmax")])
def test_deleting_the_one_cell_the_word_reads_hurts_most(attention, location):
    m, a = one_cell_model(attention), annotations()
    e = explain(m, a, [DOG, DOG], SPECIALS.index("<start>"), location)
    d = e.deletion(0.1)  # one cell of nine: the top one is CELL
    assert (e.alphas.argmax(1) == CELL).all()
    assert (d["top"] < -5).all()  # "dog" becomes unlikely
    assert (np.abs(d["bottom"]) < 1e-3).all()
    assert (d["top"] < d["random"]).all() and (d["random"] <= 1e-4).all()
    assert (e.saliency.argmax(1) == CELL).all()


def test_gradient_is_zero_on_cells_a_hard_word_cannot_read():
    e = explain(one_cell_model("hard"), annotations(), [DOG], SPECIALS.index("<start>"), "argmax")
    others = np.delete(e.saliency[0], CELL)
    assert e.saliency[0, CELL] > 0 and np.all(others == 0) and np.all(np.delete(e.grad_input[0], CELL) == 0)


@pytest.mark.parametrize("attention", ["soft", "hard"])
def test_teacher_forced_prefix_reproduces_the_decoded_caption(attention):
    torch.manual_seed(3)
    m = Captioner(CaptionerConfig(vocab_size=9, feature_dim=8, grid=3, embed_dim=4, hidden_dim=8, attn_dim=4,
                                  attention=attention, dropout=0.0, max_len=5)).eval()
    a, start, end = torch.randn(1, 9, 8), 1, 2
    location = "expected" if attention == "soft" else "argmax"
    d = greedy(m, a, start, end, location=location)[0]
    ids = d.tokens + ([end] if len(d.tokens) < 5 else [])
    _, _, alphas, logp, _, _ = teacher_forced(m, a, ids, start, location)
    assert logp.sum().item() == pytest.approx(d.log_prob, abs=1e-4)
    e = explain(m, a, d.tokens, start, location)
    assert e.saliency.shape == e.alphas.shape == (len(d.tokens), 9) and len(e.rank_corr) == len(d.tokens)
    assert np.all(np.abs(e.deletion()["top"]) < 50)


def test_kendall_tau_known_values():
    x = torch.tensor([[1.0, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]])
    y = torch.tensor([[2.0, 4, 6, 8], [4, 3, 2, 1], [1, 3, 2, 4], [5, 5, 5, 5]])
    tau = kendall_tau(x, y)
    assert tau[:3].tolist() == pytest.approx([1.0, -1.0, 4 / 6])  # one discordant pair of six
    assert torch.isnan(tau[3])
    ties = kendall_tau(torch.tensor([1.0, 1, 2]), torch.tensor([1.0, 2, 3]))  # tau_b: 2 / sqrt(2 * 3)
    assert float(ties) == pytest.approx(2 / 6 ** 0.5)


@pytest.mark.parametrize("attention,location", [("soft", "expected"), ("hard", "argmax")])
def test_forcing_a_cell_keeps_the_prefix_and_puts_the_map_there(attention, location):
    torch.manual_seed(4)
    m = Captioner(CaptionerConfig(vocab_size=9, feature_dim=8, grid=3, embed_dim=4, hidden_dim=8, attn_dim=4,
                                  attention=attention, dropout=0.0, max_len=6)).eval()
    with torch.no_grad():
        m.L_o.bias[:len(SPECIALS)] = -30  # six words, never <end>
    a = torch.randn(1, 9, 8)
    original = greedy(m, a, 1, 2, location=location)[0]
    for beam in (1, 3):
        d = force(m, a, original.tokens, [Force(2, cell=7)], 1, 2, location=location, beam=beam)
        assert d.tokens[:2] == original.tokens[:2]
        assert torch.allclose(d.alphas[:2], original.alphas[:2])
        assert int(d.alphas[2].argmax()) == 7
        if attention == "hard":
            assert d.alphas[2].tolist() == [0.0] * 7 + [1.0, 0.0]
        else:
            assert float(d.alphas[2, 7]) >= 0.9


def test_forcing_the_cell_the_model_reads_anyway_changes_nothing():
    m, a = one_cell_model("hard"), annotations()
    original = greedy(m, a, 1, 2, location="argmax", no_repeat=0)[0]
    again = force(m, a, original.tokens, [Force(1, cell=CELL)], 1, 2, location="argmax", no_repeat=0)
    assert again.tokens == original.tokens and again.log_prob == pytest.approx(original.log_prob, abs=1e-5)
    blocked = greedy(m, a, 1, 2, location="argmax")[0]  # no bigram twice: the kept prefix counts too
    assert force(m, a, blocked.tokens, [Force(1, cell=CELL)], 1, 2, location="argmax").tokens == blocked.tokens
    moved = force(m, a, original.tokens, [Force(1, cell=0)], 1, 2, location="argmax")
    assert moved.tokens[1] != DOG  # reading another cell, the model no longer says "dog"


@pytest.mark.parametrize("bad", [Force(9, cell=0), Force(0, cell=9), Force(0), Force(0, cell=1, region=(2,)),
                                 Force(0, region=tuple(range(9)), keep=False)])
def test_bad_forces_are_refused(bad):
    m, a = one_cell_model("soft"), annotations()
    with pytest.raises(ValueError):
        force(m, a, [DOG], [bad], 1, 2)
