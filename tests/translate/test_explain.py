"""Explanations and interventions of the RNN translator on tiny models with known answers."""
import numpy as np
import pytest
import torch

from model.translate.decode import greedy
from model.translate.explain import explain
from model.translate.intervene import Force, force
from model.translate.override import teacher_forced
from model.translate.rnn import Translator, TranslatorConfig

START, END = 1, 2


def tiny(score="additive", seed=0) -> Translator:
    torch.manual_seed(seed)
    return Translator(TranslatorConfig(src_vocab_size=12, tgt_vocab_size=10, emb_dim=8, hidden_dim=8, attn_dim=8,
                                       score=score, dropout=0.0, softmax_cutoffs=())).eval()


SRC = torch.tensor([[5, 7, 9, 4, END]])


@pytest.mark.parametrize("score", ["dot", "general", "concat", "additive"])
def test_teacher_forced_steps_are_the_models_own(score):
    m = tiny(score)
    d = greedy(m, SRC, torch.tensor([5]), START, END)[0]
    forced = teacher_forced(m, m.encode(SRC, torch.tensor([5])), d.ids, START)
    features, weights = m(SRC, torch.tensor([5]), torch.tensor([[START, *d.ids[:-1]]]))
    assert torch.allclose(forced["features"], features[0], atol=1e-6)
    assert torch.allclose(forced["alpha"], d.alignment, atol=1e-6)


def test_a_model_that_ignores_attention_is_unmoved_by_any_row():
    m = tiny()
    with torch.no_grad():
        m.step.combine.weight[:, 8:] = 0  # features = tanh(W_s s_t): the context is never read
        m.step.rnn.weight_ih[:, 8:] = 0  # nor fed to the next step
    ids = greedy(m, SRC, torch.tensor([5]), START, END)[0].ids
    e = explain(m, SRC, ids, START)
    assert np.allclose(e.permuted_tvd, 0, atol=1e-6) and np.allclose(e.uniform_tvd, 0, atol=1e-6)
    assert not e.uniform_flip.any() and not e.permuted_flip.any()
    assert np.allclose(e.loo, 0, atol=1e-5)


def test_leaving_out_a_position_matters_as_much_as_its_weight():
    m = tiny("general")
    with torch.no_grad():  # scores 300 times larger: each step reads one position, the others get ~0 weight
        m.step.attention.W.weight *= 300
    ids = greedy(m, SRC, torch.tensor([5]), START, END)[0].ids
    e = explain(m, SRC, ids, START)
    assert e.loo.shape == e.grad.shape == (len(ids), 5) and e.tau_loo.shape == (len(ids),)
    unread = e.attention < 1e-4
    assert unread.any() and np.abs(e.loo[unread]).max() < 1e-3  # without a position it never read: no change
    assert np.abs(e.loo[e.attention > 0.5]).min() > 1e-3  # without the one it read: a change


def test_uniform_attention_on_a_uniform_model_changes_nothing():
    m = tiny("dot")
    with torch.no_grad():
        m.encoder.to_keys.weight.zero_()  # every key is the same bias: dot scores are equal, alpha uniform
    ids = greedy(m, SRC, torch.tensor([5]), START, END)[0].ids
    e = explain(m, SRC, ids, START)
    assert np.allclose(e.attention, 0.2, atol=1e-6)
    assert np.allclose(e.uniform_tvd, 0, atol=1e-6) and np.allclose(e.permuted_tvd, 0, atol=1e-6)


@pytest.mark.parametrize("beam", [1, 3])
def test_forcing_a_source_word_keeps_the_prefix_and_its_row_is_one_hot(beam):
    m = tiny(seed=2)
    original = greedy(m, SRC, torch.tensor([5]), START, END, max_steps=8)[0]
    assert len(original.ids) >= 2
    d = force(m, SRC, original.ids, [Force(1, 3)], START, END, beam=beam)
    assert d.ids[:1] == original.ids[:1]
    assert torch.allclose(d.alignment[0], original.alignment[0], atol=1e-6)
    assert d.alignment[1].tolist() == [0.0, 0.0, 0.0, 1.0, 0.0]


def test_forcing_where_the_model_looks_anyway_with_one_hot_attention_keeps_the_translation():
    m = tiny(seed=2)
    original = greedy(m, SRC, torch.tensor([5]), START, END)[0]
    at0 = int(original.alignment[0].argmax())
    d = force(m, SRC, original.ids, [Force(0, at0)], START, END)
    assert d.alignment[0, at0] == 1.0 and len(d.ids) >= 1


@pytest.mark.parametrize("bad", [[Force(0, 5)], [Force(0, -1)], [Force(99, 0)], [], [Force(0, 1), Force(0, 2)]])
def test_bad_forces_are_refused(bad):
    m = tiny()
    with pytest.raises(ValueError):
        force(m, SRC, [3, END], bad, START, END)


def tiny_transformer():
    from model.translate.transformer import TransformerConfig, TransformerTranslator
    torch.manual_seed(0)
    return TransformerTranslator(TransformerConfig(src_vocab_size=12, tgt_vocab_size=10, d_model=16, heads=2,
                                                   encoder_layers=2, decoder_layers=2, ffn_dim=32, dropout=0.0)).eval()


def test_transformer_reader_reproduces_the_model_and_its_alignment_row():
    from model.translate.explain import edits, reader_for
    m, ids = tiny_transformer(), [4, 6, 3, END]
    reader = reader_for(m, SRC, ids, START)
    tgt_in = torch.tensor([[START, *ids[:-1]]])
    features, _, cross = m.decode(tgt_in, m.encode(SRC, torch.tensor([5])), need_weights=True)
    logp = reader.log_probs(edits(len(ids), 5))
    assert torch.allclose(logp[:, 0], m.log_probs(features[0]), atol=1e-5)  # the unedited row: the model itself
    assert torch.allclose(reader.alphas, cross[0, -1].mean(0))
    e = explain(m, SRC, ids, START)
    assert e.loo.shape == e.grad.shape == (4, 5) and np.all(np.isfinite(e.grad))


def test_a_transformer_that_ignores_the_source_is_unmoved_by_any_row():
    m = tiny_transformer()
    with torch.no_grad():
        for layer in m.decoder:
            layer.cross_attn.o.weight.zero_()
            layer.cross_attn.o.bias.zero_()
    e = explain(m, SRC, [4, 6, END], START)
    assert np.allclose(e.permuted_tvd, 0, atol=1e-6) and np.allclose(e.uniform_tvd, 0, atol=1e-6)
    assert np.allclose(e.loo, 0, atol=1e-5) and np.allclose(e.grad, 0, atol=1e-6)
