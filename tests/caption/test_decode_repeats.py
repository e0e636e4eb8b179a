"""No repeated phrases: decoding blocks a word n-gram that is already in the caption."""
import pytest
import torch

from model.caption.decode import beam_search, greedy, sample_best
from model.caption.decoder import Captioner, CaptionerConfig
from model.caption.pipeline import CaptionOptions
from model.core.decoding import CAPTION_NO_REPEAT, banned_next, repeats_ngram

V, N, D = 12, 16, 24
START, END = 1, 2
A, B = 5, 6  # the loop the looping model is stuck in: A B A B ...


def looping(attention="soft"):
    """A decoder that ignores the image and says B after A and A after anything else, with <end>
    unlikely: unconstrained, its caption repeats the bigram 'A B' until the length cap."""
    torch.manual_seed(0)
    cfg = CaptionerConfig(vocab_size=V, feature_dim=D, grid=4, embed_dim=16, hidden_dim=32, attn_dim=16,
                          attention=attention, dropout=0.0, max_len=8)
    m = Captioner(cfg).eval()
    with torch.no_grad():
        for layer in (m.L_h, m.L_z):
            layer.weight.zero_()
            layer.bias.zero_()
        m.embed.weight.copy_(3 * torch.eye(V, 16))
        m.L_o.weight.zero_()
        m.L_o.bias.copy_(torch.linspace(0, 1, V))  # a fixed order among the other words
        m.L_o.bias[END] = -5
        m.L_o.weight[A, :].fill_(2.0)
        m.L_o.weight[A, A] = -10.0  # after A, not A again ...
        m.L_o.weight[B, A] = 20.0  # ... but B
    return m


def test_banned_words_are_those_that_would_repeat_an_ngram():
    words = "a man in a black shirt and a black".split()
    ids = {w: i for i, w in enumerate(dict.fromkeys(words + ["jacket"]))}
    tokens = [ids[w] for w in words]
    assert banned_next(tokens, 2) == {ids["shirt"]}  # 'black shirt' is there: 'black jacket' is not banned
    assert banned_next(tokens, 3) == {ids["shirt"]}  # 'a black shirt'
    assert banned_next(tokens, 0) == set() and banned_next([], 2) == set()
    assert repeats_ngram("a man in a black jacket and a black jacket".split())
    assert not repeats_ngram("a man in a black jacket and a red hat".split())
    assert repeats_ngram("two men in a red race race race".split())  # 'race race' twice, overlapping
    assert not repeats_ngram("a man in a black jacket and a black hat".split(), 3)


def test_an_unconstrained_looping_model_repeats_and_the_blocked_one_never_does():
    model, ann = looping(), torch.randn(1, N, D)
    for decode in (lambda **kw: greedy(model, ann, START, END, **kw)[0],
                   lambda **kw: beam_search(model, ann, START, END, beam=3, **kw)):
        free = decode(no_repeat=0)
        assert free.tokens[:4] == [A, B, A, B] and repeats_ngram(free.tokens)
        blocked = decode(no_repeat=2)
        assert not repeats_ngram(blocked.tokens) and len(blocked.tokens) >= 4
        assert decode().tokens == blocked.tokens  # blocking bigrams is the default
        trigram = decode(no_repeat=3)
        assert not repeats_ngram(trigram.tokens, 3) and repeats_ngram(trigram.tokens, 2)


def test_blocking_off_gives_the_unblocked_search_and_on_never_repeats_on_random_models():
    changed = 0
    for seed in range(12):
        torch.manual_seed(seed)
        cfg = CaptionerConfig(vocab_size=V, feature_dim=D, grid=4, embed_dim=16, hidden_dim=32, attn_dim=16,
                              dropout=0.0, max_len=8)
        model, ann = Captioner(cfg).eval(), torch.randn(1, N, D)
        with torch.no_grad():
            model.L_o.bias[END] = -3  # long captions, where repeats happen
        free, blocked = (beam_search(model, ann, START, END, beam=3, no_repeat=n) for n in (0, 2))
        assert not repeats_ngram(blocked.tokens)
        if not repeats_ngram(free.tokens):
            assert blocked.tokens == free.tokens  # nothing to block on the winning path: the same caption
        changed += blocked.tokens != free.tokens
    assert changed  # some random models do repeat


def test_sampled_hard_attention_is_blocked_too():
    model, ann = looping("hard"), torch.randn(1, N, D)
    assert repeats_ngram(sample_best(model, ann, START, END, samples=3, no_repeat=0).tokens)
    assert not repeats_ngram(sample_best(model, ann, START, END, samples=3).tokens)


def test_caption_options_block_bigrams_by_default_and_check_the_size():
    assert CaptionOptions().no_repeat == CAPTION_NO_REPEAT == 2
    assert CaptionOptions(no_repeat=0).no_repeat == 0
    for bad in (1, 5, -1):
        with pytest.raises(ValueError, match="no_repeat"):
            CaptionOptions(no_repeat=bad)
