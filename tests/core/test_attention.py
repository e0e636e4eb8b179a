import pytest
import torch

from model.core.attention import SCORES, Attention, AttentionConfig, entropy, hard_attention, soft_attention


def make(score, q=8, k=8, a=16):
    torch.manual_seed(0)
    return Attention(AttentionConfig(score=score, query_dim=q, key_dim=k, attn_dim=a))


@pytest.mark.parametrize("score", SCORES)
def test_soft_weights_sum_to_one_and_masked_positions_get_zero(score):
    att = make(score)
    query, keys = torch.randn(3, 8), torch.randn(3, 5, 8)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], dtype=torch.bool)
    context, weights = att(query, keys, mask=mask)
    assert context.shape == (3, 8)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3))
    assert (weights[~mask] == 0).all()
    assert weights[2, 0] == 1  # one real position takes all the weight


@pytest.mark.parametrize("score", SCORES)
def test_gradient_flows_through_soft_attention_to_scores_and_values(score):
    att = make(score)
    query = torch.randn(2, 8, requires_grad=True)
    keys = torch.randn(2, 4, 8, requires_grad=True)
    context, _ = att(query, keys)
    context.square().sum().backward()
    assert query.grad.abs().sum() > 0 and keys.grad.abs().sum() > 0
    for p in att.parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0


def test_scores_differ_between_score_functions():
    query, keys = torch.randn(2, 8), torch.randn(2, 6, 8)
    outs = [make(s).scores(query, keys) for s in SCORES]
    for i in range(len(outs)):
        for j in range(i + 1, len(outs)):
            assert not torch.allclose(outs[i], outs[j])


def test_dot_with_mismatched_sizes_names_both_sizes():
    with pytest.raises(ValueError, match=r"query size 8.*key size 6"):
        make("dot", q=8, k=6)
    with pytest.raises(ValueError, match=r"query size 5.*key size 8"):
        make("dot").scores(torch.randn(1, 5), torch.randn(1, 3, 8))


def test_unknown_score_is_rejected_by_name():
    with pytest.raises(ValueError, match="bilinear"):
        make("bilinear")


def test_mask_with_no_real_position_is_rejected():
    with pytest.raises(ValueError, match="at least one"):
        make("dot")(torch.randn(1, 8), torch.randn(1, 3, 8), mask=torch.zeros(1, 3, dtype=torch.bool))


def test_precomputed_keys_give_the_same_scores():
    att = make("additive")
    query, keys = torch.randn(2, 8), torch.randn(2, 6, 8)
    torch.testing.assert_close(att.scores(query, keys), att.scores(query, keys, projected=att.precompute(keys)))


def test_hard_samples_follow_the_weights_for_a_fixed_generator():
    probs = torch.tensor([0.1, 0.2, 0.3, 0.4])
    scores = probs.log().expand(4000, 4)
    values = torch.eye(4).expand(4000, 4, 4)
    gen = torch.Generator().manual_seed(123)
    out = hard_attention(scores, values, generator=gen)
    freq = torch.bincount(out.index, minlength=4).float() / 4000
    torch.testing.assert_close(freq, probs, atol=0.03, rtol=0)
    again = hard_attention(scores, values, generator=torch.Generator().manual_seed(123))
    assert torch.equal(out.index, again.index)  # same seed, same draws


def test_hard_output_is_one_hot_with_context_of_chosen_location():
    scores, values = torch.randn(5, 7), torch.randn(5, 7, 3)
    out = hard_attention(scores, values, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out.weights.sum(-1), torch.ones(5))
    assert set(out.weights.unique().tolist()) <= {0.0, 1.0}
    for b in range(5):
        torch.testing.assert_close(out.context[b], values[b, out.index[b]])
    torch.testing.assert_close(out.log_prob, torch.log_softmax(scores, -1)[torch.arange(5), out.index])


def test_hard_argmax_and_masking():
    scores = torch.tensor([[0.0, 5.0, 1.0], [0.0, 5.0, 1.0]])
    mask = torch.tensor([[1, 1, 1], [1, 0, 1]], dtype=torch.bool)
    from model.core.attention import mask_scores
    out = hard_attention(mask_scores(scores, mask), torch.randn(2, 3, 4), sample=False)
    assert out.index.tolist() == [1, 2]
    sampled = hard_attention(mask_scores(scores, mask).expand(2, 3).repeat(200, 1), torch.randn(400, 3, 2),
                             generator=torch.Generator().manual_seed(1))
    assert not (sampled.index.view(200, 2)[:, 1] == 1).any()  # a masked location is never drawn


def test_temperature_sharpens_sampling():
    scores = torch.tensor([[1.0, 2.0, 3.0]]).expand(3000, 3)
    values = torch.randn(3000, 3, 2)
    cold = hard_attention(scores, values, temperature=0.2, generator=torch.Generator().manual_seed(0))
    hot = hard_attention(scores, values, temperature=5.0, generator=torch.Generator().manual_seed(0))
    assert (cold.index == 2).float().mean() > 0.95 > (hot.index == 2).float().mean()
    assert entropy(cold.probs).mean() < entropy(hot.probs).mean()


def test_log_prob_carries_the_gradient():
    scores = torch.randn(4, 5, requires_grad=True)
    out = hard_attention(scores, torch.randn(4, 5, 2), generator=torch.Generator().manual_seed(0))
    out.log_prob.sum().backward()
    assert scores.grad.abs().sum() > 0


def test_soft_attention_is_weighted_sum():
    scores, values = torch.randn(2, 4), torch.randn(2, 4, 3)
    context, w = soft_attention(scores, values)
    torch.testing.assert_close(context, (w.unsqueeze(-1) * values).sum(1))


def test_scaled_dot_product_matches_the_formula_and_masks_to_zero():
    from model.core.attention import scaled_dot_product
    torch.manual_seed(0)
    q, k, v = torch.randn(2, 4, 3, 8), torch.randn(2, 4, 5, 8), torch.randn(2, 4, 5, 6)
    causal = torch.ones(3, 5, dtype=torch.bool).tril()
    context, weights = scaled_dot_product(q, k, v, causal)
    expected = torch.softmax((q @ k.transpose(-2, -1) / 8 ** 0.5).masked_fill(~causal, -1e9), -1)
    torch.testing.assert_close(weights, expected)
    torch.testing.assert_close(context, expected @ v)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 4, 3))
    assert (weights[..., ~causal] == 0).all()
    # A higher temperature flattens the distribution.
    _, flat = scaled_dot_product(q, k, v, temperature=10.0)
    assert entropy(flat).mean() > entropy(scaled_dot_product(q, k, v)[1]).mean()
