"""Kendall's rank correlation, batched: how far two importance scores order the same positions alike.

tau_b = (C - D) / sqrt((n0 - n1)(n0 - n2))  (Kendall 1945): C and D count the concordant and
discordant pairs, n0 all pairs, n1 and n2 the pairs tied in x and in y. With every pair compared at
once it costs O(N^2) per row, a few milliseconds for the 196 cells of a caption map. Faithfulness
studies (Jain & Wallace 2019) use it to ask whether attention ranks the inputs as their effect does.
"""
import torch


def kendall_tau(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """tau_b between each row of ``x`` and ``y`` (..., N); NaN where either row is constant."""
    x, y = torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(y, dtype=torch.float64)
    sx = torch.sign(x[..., :, None] - x[..., None, :])
    sy = torch.sign(y[..., :, None] - y[..., None, :])
    both = (sx * sy).sum((-1, -2))
    pairs = ((sx != 0).sum((-1, -2)) * (sy != 0).sum((-1, -2))).double()
    return torch.where(pairs > 0, both / pairs.clamp_min(1).sqrt(), torch.full_like(both, float("nan")))
