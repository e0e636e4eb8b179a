"""The device every model runs on: one rule for the app, the command lines and training."""
import os

import torch

DEVICE_ENV = "ATTENTION_LENS_DEVICE"


def pick_device(requested: str | None = None) -> torch.device:
    """``requested`` (a CLI's --device), else $ATTENTION_LENS_DEVICE, else CUDA when available, else CPU.

    A name that is not a device, or CUDA on a machine without it, raises ValueError naming the setting.
    """
    source = "--device" if requested else DEVICE_ENV
    wanted = (requested or os.environ.get(DEVICE_ENV, "")).strip()
    if not wanted:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(wanted)
    except RuntimeError:
        raise ValueError(f"{source}={wanted!r} is not a device name (try 'cpu' or 'cuda')") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"{source}={wanted!r} but CUDA is not available on this machine")
    return device


def safe_device() -> torch.device:
    """The app's device: a bad $ATTENTION_LENS_DEVICE falls back to the CPU (the sidebar says why)."""
    try:
        return pick_device()
    except ValueError:
        return torch.device("cpu")
