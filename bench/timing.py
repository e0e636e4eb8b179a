"""The one timing loop every bench script uses: wall seconds of a call, GPU work included."""
import statistics
import time

import torch


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_runs(fn, device: torch.device, repeats: int, warmup: int = 1) -> list[float]:
    """Seconds taken by each of ``repeats`` calls of ``fn``, after ``warmup`` untimed calls
    (allocator, cuDNN algorithm choice, caches)."""
    runs = []
    for r in range(warmup + repeats):
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
        if r >= warmup:
            runs.append(time.perf_counter() - start)
    return runs


def spread(values: list[float], digits: int = 1) -> str:
    """'median (min–max)' for a table cell: the median is the number, the range says how much to trust it."""
    return f"{statistics.median(values):,.{digits}f} ({min(values):,.{digits}f}–{max(values):,.{digits}f})"
