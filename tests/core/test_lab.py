"""The query-key-value lab computes what the lecture notes compute, with the attention core's code."""
import numpy as np
import pytest

from model.core.lab import PRESETS, SCORES, LabInputError, init_params, param_shapes, run

WORKED = PRESETS["Worked example (lecture notes)"]
SEQ2SEQ = PRESETS["Seq2seq: decoder state over encoder states"]


def softmax(x):
    e = np.exp(x - np.max(x))
    return e / e.sum()


def test_the_worked_example_reproduces_the_notes_by_hand():
    q, K, V = (np.array(a, float) for a in (WORKED.query, WORKED.keys, WORKED.values))
    r = run(WORKED.query, WORKED.keys, WORKED.values, "dot")
    np.testing.assert_allclose(r.scores, [0.148302, 0.120681, 0.995247, 0.120681], atol=1e-6)  # q . k_i
    np.testing.assert_allclose(r.scores, K @ q)
    np.testing.assert_allclose(r.weights, softmax(K @ q))
    np.testing.assert_allclose(r.context, r.weights @ V)
    assert r.weights.argmax() == 2  # k3 points the way q does


def test_the_seq2seq_preset_attends_where_the_decoder_state_points():
    r = run(SEQ2SEQ.query, SEQ2SEQ.keys, SEQ2SEQ.values, "dot")
    K = np.array(SEQ2SEQ.keys)
    np.testing.assert_allclose(r.weights, softmax(K @ np.array(SEQ2SEQ.query)))
    np.testing.assert_allclose(r.context, r.weights @ K)  # values are the encoder states themselves
    assert r.weights.argmax() == 1  # h2 = (0.1, 0.9, 0.0) shares q's large second entry


def test_scaled_dot_divides_the_scores_by_the_square_root_of_the_key_size():
    dot = run(WORKED.query, WORKED.keys, WORKED.values, "dot")
    scaled = run(WORKED.query, WORKED.keys, WORKED.values, "scaled dot")
    np.testing.assert_allclose(scaled.scores, dot.scores / np.sqrt(3))
    np.testing.assert_allclose(scaled.weights, softmax(dot.scores / np.sqrt(3)))
    # ... which is what a temperature of sqrt(d) does to the plain dot product
    np.testing.assert_allclose(scaled.weights, run(WORKED.query, WORKED.keys, WORKED.values, "dot",
                                                   temperature=np.sqrt(3)).weights)


@pytest.mark.parametrize("score", SCORES)
def test_temperature_divides_the_scores_and_flattens_the_weights(score):
    params = init_params(score, 3, 3, 3)
    cold, warm, hot = (run(WORKED.query, WORKED.keys, WORKED.values, score, params, t) for t in (0.2, 1.0, 5.0))
    np.testing.assert_allclose(cold.scores, hot.scores)  # T acts after the score function
    np.testing.assert_allclose(hot.weights, softmax(warm.scores / 5.0))
    spread = [w.max() - w.min() for w in (cold.weights, warm.weights, hot.weights)]
    assert spread[0] > spread[1] > spread[2]
    assert hot.weights.max() - hot.weights.min() < 0.2 * (cold.weights.max() - cold.weights.min())


@pytest.mark.parametrize("score", SCORES)
def test_a_masked_key_gets_weight_zero_and_the_rest_still_sum_to_one(score):
    params = init_params(score, 3, 3, 3)
    full = run(WORKED.query, WORKED.keys, WORKED.values, score, params)
    r = run(WORKED.query, WORKED.keys, WORKED.values, score, params, masked=[False, False, True, False])
    assert r.weights[2] == 0
    assert r.weights.sum() == pytest.approx(1)
    np.testing.assert_allclose(r.scores, full.scores)  # the score is still computed and shown
    keep = [0, 1, 3]
    np.testing.assert_allclose(r.weights[keep], softmax(full.scores[keep]))
    np.testing.assert_allclose(r.context, r.weights @ np.array(WORKED.values, float))


def test_general_scores_with_the_given_matrix():
    q, K = np.array([1.0, 2.0]), np.array([[1.0, 0.0, 2.0], [0.5, -1.0, 0.0]])  # query and keys of other sizes
    V = [[1.0], [2.0]]
    W = np.array([[0.5, -1.0, 0.0], [2.0, 0.0, 1.0]])
    np.testing.assert_allclose(run(q, K, V, "general", {"W": W}).scores, q @ W @ K.T)
    W2 = W.copy()
    W2[1, 2] += 1.0  # only the term q_2 * W[1, 2] * k_3 changes: by q_2 * k_3 = 2 * k_3
    changed = run(q, K, V, "general", {"W": W2}).scores
    np.testing.assert_allclose(changed - q @ W @ K.T, 2.0 * K[:, 2])


def test_concat_and_additive_score_with_the_given_matrices():
    rng = np.random.default_rng(0)
    q, K = rng.normal(size=2), rng.normal(size=(4, 3))
    V = rng.normal(size=(4, 2))
    W, v = rng.normal(size=(5, 5)), rng.normal(size=(1, 5))
    concat = run(q, K, V, "concat", {"W": W, "v": v})
    expected = np.array([v[0] @ np.tanh(W @ np.concatenate([q, k])) for k in K])
    np.testing.assert_allclose(concat.scores, expected)
    np.testing.assert_allclose(run(q, K, V, "concat", {"W": W, "v": 2 * v}).scores, 2 * expected)

    W_s, W_h = rng.normal(size=(5, 2)), rng.normal(size=(5, 3))
    additive = run(q, K, V, "additive", {"W_s": W_s, "W_h": W_h, "v": v})
    expected = np.array([v[0] @ np.tanh(W_s @ q + W_h @ k) for k in K])
    np.testing.assert_allclose(additive.scores, expected)
    W_h2 = W_h.copy()
    W_h2[0] = 0.0  # hidden unit 1 no longer sees the key: it adds v_1 tanh((W_s q)_1) to every score
    zeroed = run(q, K, V, "additive", {"W_s": W_s, "W_h": W_h2, "v": v}).scores
    np.testing.assert_allclose(zeroed, [v[0] @ np.tanh(W_s @ q + W_h2 @ k) for k in K])
    assert not np.allclose(zeroed, expected)


def test_seeded_matrices_have_the_formula_shapes_and_repeat():
    for score in ("general", "concat", "additive"):
        params = init_params(score, 3, 2, 4, seed=7)
        assert {n: p.shape for n, p in params.items()} == param_shapes(score, 3, 2, 4)
        assert all(np.array_equal(params[n], init_params(score, 3, 2, 4, seed=7)[n]) for n in params)
        assert any(not np.array_equal(params[n], init_params(score, 3, 2, 4, seed=8)[n]) for n in params)


@pytest.mark.parametrize("change, message", [
    (dict(keys=[]), "empty"),
    (dict(keys=[[1, 2, 3], [1, 2]] * 2), "key 1 has 3 and key 2 has 2"),
    (dict(values=[[1, 2]] * 3), "4 keys but 3 values"),
    (dict(query=[1, "x", 3]), "not a number"),
    (dict(query=[1, float("inf"), 3]), "not a finite number"),
    (dict(masked=[True] * 4), "Every key is masked"),
    (dict(keys=[[1, 2]] * 4), "q has 3 numbers, each key has 2"),
    (dict(temperature=0.0), "positive"),
    (dict(query=[1e308, 1e308, 1e308], keys=[[1, 1, 1]] * 4), "too large"),
    (dict(score="additive", params={"W_s": [[1, 2, 3]], "W_h": [[1, 2]], "v": [[1]]}), "W_h must be 1 × 3"),
    (dict(score="general", params={}), "needs the matrices W"),
])
def test_bad_input_is_refused_with_a_plain_sentence(change, message):
    args = dict(query=WORKED.query, keys=WORKED.keys, values=WORKED.values) | change
    with pytest.raises(LabInputError, match=message):
        run(**args)


def test_the_context_chart_stacks_each_keys_share_up_to_the_context():
    from viz.qkv import context_bars
    masked = [False, True, False, False]
    r = run(WORKED.query, WORKED.keys, WORKED.values, masked=masked)
    fig = context_bars(["k1", "k2", "k3", "k4"], r.weights, WORKED.values, masked, "context")
    stacks = [t for t in fig.data if t.type == "bar"]
    assert [t.name for t in stacks] == ["k1", "k3", "k4"]  # the masked key has no share
    np.testing.assert_allclose(np.sum([t.y for t in stacks], axis=0), r.context)
    assert [t.text for t in fig.data if t.type == "scatter"][0] == tuple(f"{c:.3f}" for c in r.context)
