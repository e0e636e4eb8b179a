"""Rules every beam search in attention-lens follows.

Beam search keeps the hypotheses with the highest total log-probability; when it is done, the
finished ones are ranked by a length-normalised score, because every word costs probability and a
plain total favours short outputs:

    score = log p(tokens) / n ** alpha,   n = tokens scored (the final <end> included)

alpha = 1 is the mean log-probability per token (Xu et al.'s arctic-captions ``-n`` option, the
captioner's default); alpha = 0.7 is the softer penalty of Wu et al. (2016, GNMT), the translator's
default, where the mean per token over-rewards long, rambling sentences; alpha = 0 ranks by the total.
Special token ids always come from the model's vocabulary (model.core.vocab), never from literals.

Repeats: a caption may not contain the same word n-gram twice (``no_repeat`` n, 0 = allowed). At each
step the words that would complete an n-gram already in the hypothesis get log-probability -inf
(``banned_next``), in beam search and greedy alike; <end> is never banned, so every hypothesis can stop.
"""
MAX_BEAM = 10
CAPTION_ALPHA = 1.0
TRANSLATE_ALPHA = 0.7
CAPTION_NO_REPEAT = 2  # no word bigram twice in a caption (README: to be confirmed on validation)


def check_beam(beam: int) -> int:
    if not 1 <= beam <= MAX_BEAM:
        raise ValueError(f"beam must be between 1 and {MAX_BEAM}, got {beam}")
    return beam


def normalised(log_prob: float, scored: int, alpha: float) -> float:
    """The ranking score of a finished hypothesis of ``scored`` tokens (see the module docstring)."""
    return log_prob / max(scored, 1) ** alpha


def beam_step(scores, log_probs, beam: int, end: int) -> tuple[list[tuple[int, float]], list[tuple[int, int, float]]]:
    """One step of a translator's beam search: live hypotheses' totals ``scores`` (H,) and next-token
    ``log_probs`` (H, V) in; out, of the best 2·beam continuations, those that end ((hypothesis, score),
    emitting ``end``) and the ``beam`` best that go on ((hypothesis, token, score)). An ending counts
    only while it ranks above the beam-th live continuation."""
    vocab = log_probs.size(-1)
    total = (scores[:, None] + log_probs).view(-1)
    top = total.topk(min(2 * beam, total.numel()))
    ended, keep = [], []
    for score, flat in zip(top.values.tolist(), top.indices.tolist()):
        h, tok = divmod(flat, vocab)
        if tok == end:
            ended.append((h, score))
        else:
            keep.append((h, tok, score))
            if len(keep) == beam:
                break
    return ended, keep


def banned_next(tokens: list[int], n: int) -> set[int]:
    """The words that, appended to ``tokens``, would repeat one of its n-grams (n = 0: none)."""
    if n < 1 or len(tokens) < n - 1:
        return set()
    prefix = tokens[len(tokens) - n + 1:]
    return {tokens[i + n - 1] for i in range(len(tokens) - n + 1) if tokens[i:i + n - 1] == prefix}


def repeats_ngram(tokens: list, n: int = 2) -> bool:
    """True when some word n-gram occurs twice in ``tokens`` (overlaps count: 'a a a' repeats 'a a')."""
    grams = [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
    return len(grams) != len(set(grams))
