"""A captioner decoder step whose attention weights the caller decides.

``Captioner.step`` computes alpha from the state and reads the annotations with it; explanations
(delete cells, model.caption.explain) and interventions (force a cell, model.caption.intervene) need
the same step with other weights or other annotations. These functions reuse the model's own layers,
split where the weights are chosen, so the equations stay those of model.caption.decoder:

    scores(h_{t-1})                       e_ti = score(h_{t-1}, a_i)
    read(prev, state, context)            z_t = beta_t * context;  h_t = LSTM([E y_{t-1}; z_t], h_{t-1});
                                          logits = L_o tanh(E y_{t-1} + L_h h_t + L_z z_t)

tests/caption/test_explain.py checks that ``read`` with alpha's own context gives ``Captioner.step``'s logits.
"""
import torch

from model.caption.decoder import Captioner


def weights_for(scores: torch.Tensor, location: str) -> torch.Tensor:
    """The weights a step reads the annotations with: alpha ('expected') or one-hot on its argmax ('argmax')."""
    alpha = torch.softmax(scores, -1)
    if location == "expected":
        return alpha
    if location == "argmax":
        return torch.nn.functional.one_hot(alpha.argmax(-1), alpha.size(-1)).to(alpha.dtype)
    raise ValueError(f"explanations and interventions need a deterministic location ('expected' or 'argmax'), "
                     f"got {location!r}")


def read(model: Captioner, prev: torch.Tensor, state, context: torch.Tensor):
    """The rest of ``Captioner.step`` once the context (B, D) is chosen: new state, logits (B, V), beta (B,)."""
    h, c = state
    beta = torch.sigmoid(model.f_beta(h))
    z = beta * context
    emb = model.embed(prev)
    h, c = model.lstm(torch.cat([emb, z], dim=1), (h, c))
    logits = model.L_o(model.drop(torch.tanh(emb + model.L_h(model.drop(h)) + model.L_z(z))))
    return (h, c), logits, beta.squeeze(1)


def teacher_forced(model: Captioner, annotations: torch.Tensor, tokens: list[int], start: int, location: str):
    """Run the caption ``tokens`` through the model from <start> (annotations (1, N, D)).

    Returns the states before each word ((T, H), (T, H)), the inputs of each step (T,), the
    attention distributions alpha (T, N) and log p of each word (T,), plus the prepared keys and
    projection; with ``location`` 'argmax' the step read the argmax cell of alpha.
    """
    keys, projected, state = model.prepare(annotations)
    prev = torch.tensor([start, *tokens[:-1]], device=annotations.device)
    hs, cs, alphas, logps = [], [], [], []
    for t in range(len(tokens)):
        hs.append(state[0])
        cs.append(state[1])
        scores = model.attend.scores(state[0], keys, projected=projected)
        weights = weights_for(scores, location)
        state, logits, _ = read(model, prev[t:t + 1], state, torch.bmm(weights[:, None], keys)[:, 0])
        alphas.append(torch.softmax(scores, -1))
        logps.append(torch.log_softmax(logits, -1)[:, tokens[t]])
    return (torch.cat(hs), torch.cat(cs)), prev, torch.cat(alphas), torch.cat(logps), keys, projected
