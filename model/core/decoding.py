"""Rules every beam search in attention-lens follows.

Beam search keeps the hypotheses with the highest total log-probability; when it is done, the
finished ones are ranked by a length-normalised score, because every word costs probability and a
plain total favours short outputs:

    score = log p(tokens) / n ** alpha,   n = tokens scored (the final <end> included)

alpha = 1 is the mean log-probability per token (Xu et al.'s arctic-captions ``-n`` option, the
captioner's default); alpha = 0.7 is the softer penalty of Wu et al. (2016, GNMT), the translator's
default, where the mean per token over-rewards long, rambling sentences; alpha = 0 ranks by the total.
Special token ids always come from the model's vocabulary (model.core.vocab), never from literals.
"""
MAX_BEAM = 10
CAPTION_ALPHA = 1.0
TRANSLATE_ALPHA = 0.7


def check_beam(beam: int) -> int:
    if not 1 <= beam <= MAX_BEAM:
        raise ValueError(f"beam must be between 1 and {MAX_BEAM}, got {beam}")
    return beam


def normalised(log_prob: float, scored: int, alpha: float) -> float:
    """The ranking score of a finished hypothesis of ``scored`` tokens (see the module docstring)."""
    return log_prob / max(scored, 1) ** alpha
