"""Transformer translator: every attention weight, masks, decoding and its checkpoint, on tiny random models."""
import pytest
import torch

from model.core.checkpoint import Checkpoint, save_checkpoint
from model.core.loader import load
from model.core.vocab import END, SPECIALS, START
from model.translate.text import Preprocessing
from model.translate.transformer import KIND, TransformerConfig, TransformerTranslator
from model.translate.transformer_decode import beam_search, greedy
from tests.translate.tiny_translators import padded_batch

START_ID, END_ID = SPECIALS.index(START), SPECIALS.index(END)
LAYERS, HEADS = 2, 2


def untrained(vocab=30, seed=0, decoder_layers=3):
    torch.manual_seed(seed)
    config = TransformerConfig(vocab, vocab, d_model=16, heads=HEADS, encoder_layers=LAYERS,
                               decoder_layers=decoder_layers, ffn_dim=32, dropout=0.0, max_len=8)
    return TransformerTranslator(config).eval()



def check_rows(weights: torch.Tensor):
    torch.testing.assert_close(weights.sum(-1), torch.ones(weights.shape[:-1]))


def test_teacher_forced_weights_have_their_shapes_masks_and_row_sums():
    model = untrained()
    src, lengths = padded_batch([6, 3, 1, 4])
    tin = torch.randint(4, 30, (4, 5))
    memory = model.encode(src, lengths, need_weights=True)
    features, w_self, w_cross = model.decode(tin, memory, need_weights=True)
    assert features.shape == (4, 5, 16)
    assert memory.encoder_attention.shape == (4, LAYERS, HEADS, 6, 6)
    assert w_self.shape == (4, 3, HEADS, 5, 5) and w_cross.shape == (4, 3, HEADS, 5, 6)
    for w in (memory.encoder_attention, w_self, w_cross):
        check_rows(w)
    pad = torch.arange(6)[None, :] >= lengths[:, None]  # (B, S) padded source positions
    for b in range(4):  # no query, in the encoder or the decoder, looks at padding
        assert (memory.encoder_attention[b][..., pad[b]] == 0).all()
        assert (w_cross[b][..., pad[b]] == 0).all()
    above = torch.ones(5, 5, dtype=torch.bool).triu(1)
    assert (w_self[..., above] == 0).all()  # causal: nothing looks at a later word


def test_greedy_returns_every_weight_and_equals_the_teacher_forced_pass_over_its_output():
    model = untrained()
    src, lengths = padded_batch([6, 3, 4])
    for b, d in enumerate(greedy(model, src, lengths, START_ID, END_ID)):
        S, T = int(lengths[b]), len(d.ids)
        assert d.encoder.shape == (LAYERS, HEADS, S, S)
        assert d.decoder.shape == (3, HEADS, T, T) and d.cross.shape == (3, HEADS, T, S)
        for w in (d.encoder, d.decoder, d.cross):
            check_rows(w)
        assert (d.decoder[..., torch.ones(T, T, dtype=torch.bool).triu(1)] == 0).all()
        # the incremental (cached) decoder gives the weights of a full pass over the same words
        one = src[b:b + 1, :S]
        memory = model.encode(one, lengths[b:b + 1], need_weights=True)
        _, w_self, w_cross = model.decode(torch.tensor([[START_ID] + d.ids[:-1]]), memory, need_weights=True)
        torch.testing.assert_close(w_self[0], d.decoder)
        torch.testing.assert_close(w_cross[0], d.cross)
        torch.testing.assert_close(memory.encoder_attention[0], d.encoder)


def test_a_sentence_decodes_the_same_alone_and_in_a_padded_batch():
    model = untrained(seed=3)
    src, lengths = padded_batch([7, 2, 5], seed=1)
    batch = greedy(model, src, lengths, START_ID, END_ID)
    for b in range(3):
        alone = greedy(model, src[b:b + 1, :int(lengths[b])], lengths[b:b + 1], START_ID, END_ID)[0]
        assert alone.ids == batch[b].ids
        torch.testing.assert_close(alone.cross, batch[b].cross)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_beam_of_one_is_greedy(seed):
    model = untrained(seed=seed)
    src, lengths = padded_batch([5], seed=seed)
    g = greedy(model, src, lengths, START_ID, END_ID)[0]
    b = beam_search(model, src, lengths, START_ID, END_ID, beam=1)
    assert b.ids == g.ids
    assert b.log_prob == pytest.approx(g.log_prob, abs=1e-4)
    for name in ("encoder", "decoder", "cross"):
        torch.testing.assert_close(getattr(b, name), getattr(g, name))


@pytest.mark.parametrize("beam", [2, 5])
def test_beam_weights_belong_to_the_chosen_hypothesis(beam):
    model = untrained(seed=4)
    src, lengths = padded_batch([6], seed=2)
    d = beam_search(model, src, lengths, START_ID, END_ID, beam=beam)
    assert len(d.ids) <= 2 * 6 + 5  # the length cap ends it even without <end>
    with torch.no_grad():
        memory = model.encode(src, lengths, need_weights=True)
        features, w_self, w_cross = model.decode(torch.tensor([[START_ID] + d.ids[:-1]]), memory, need_weights=True)
        rescored = model.log_probs(features)[0].gather(1, torch.tensor(d.ids)[:, None]).sum()
    torch.testing.assert_close(w_self[0], d.decoder)
    torch.testing.assert_close(w_cross[0], d.cross)
    assert float(rescored) == pytest.approx(d.log_prob, abs=1e-4)


def test_checkpoint_round_trip_through_the_loader(tmp_path):
    model = untrained(vocab=len(SPECIALS) + 3)
    words = list(SPECIALS) + ["a", "b", "c"]
    path = tmp_path / "t.pt"
    save_checkpoint(path, Checkpoint(KIND, model.config, model.state_dict(), {"src": words, "tgt": words},
                                     Preprocessing(max_len=8).to_dict()))
    bundle = load(path, "cpu")
    assert bundle.kind == KIND and isinstance(bundle.model, TransformerTranslator)
    assert bundle.model.config == model.config and bundle.preprocessing.max_len == 8
    assert not bundle.model.training
    for name, t in model.state_dict().items():
        torch.testing.assert_close(bundle.model.state_dict()[name], t)
    src, lengths = padded_batch([4], vocab=len(words))
    assert greedy(bundle.model, src, lengths, START_ID, END_ID)[0].ids == greedy(model, src, lengths, START_ID, END_ID)[0].ids


def test_heads_must_divide_the_model_size():
    with pytest.raises(ValueError, match="multiple of heads"):
        TransformerConfig(d_model=30, heads=4)


def test_the_output_layer_is_the_target_embedding():
    model = untrained()
    assert model.logits(torch.eye(16)[:1]).shape == (1, 30)
    torch.testing.assert_close(model.logits(torch.eye(16)), model.tgt_embed.weight.t())
