"""One loader for every checkpoint kind: ``load(path, device)`` gives a ``Bundle``.

A bundle is what torchvision's ``Weights`` carries, read from the file itself: the built model
(in eval mode, on its device), the preprocessing its inputs need, its vocabularies and its
metadata. Each family says how to build its model in a ``from_checkpoint(ckpt)`` function that
returns (module, preprocessing); ``KINDS`` names the module that holds it, imported only when a
checkpoint of that kind is loaded, so the core depends on no family.
"""
import importlib
from dataclasses import dataclass, field
from pathlib import Path

import torch

from model.core.checkpoint import Checkpoint, CheckpointError, load_checkpoint
from model.core.device import pick_device
from model.core.vocab import Vocab

KINDS = {"captioner": "model.caption.decoder", "translator": "model.translate.rnn",
         "transformer_translator": "model.translate.transformer", "stn": "model.stn.net"}


@dataclass
class Bundle:
    kind: str
    model: torch.nn.Module
    preprocessing: object  # the family's Preprocessing dataclass
    vocab: dict[str, Vocab] = field(default_factory=dict)  # captioner: words; translator: src, tgt
    path: str = ""
    config: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def name(self) -> str:
        return Path(self.path).stem


def build(ckpt: Checkpoint, device: torch.device | str = "cpu") -> Bundle:
    """The bundle of an already-read checkpoint."""
    if ckpt.kind not in KINDS:
        raise CheckpointError(ckpt.path, f"holds a {ckpt.kind!r} model, which no family here can load "
                                         f"(known: {', '.join(KINDS)})")
    try:
        module, preprocessing = importlib.import_module(KINDS[ckpt.kind]).from_checkpoint(ckpt)
    except (TypeError, ValueError) as e:  # a preprocessing this code does not understand
        raise CheckpointError(ckpt.path, f"preprocessing not understood: {e}") from None
    vocab = {name: Vocab(tokens) for name, tokens in (ckpt.vocab or {}).items()}
    return Bundle(ckpt.kind, module.to(device).eval(), preprocessing, vocab, ckpt.path, ckpt.config,
                  ckpt.metrics, ckpt.data)


def load(path, device: torch.device | str | None = None, kind: str | None = None) -> Bundle:
    """Read, check and build the checkpoint at ``path`` (``kind``: refuse any other kind).

    Every failure is a ``CheckpointError`` naming the file and what is wrong.
    """
    return build(load_checkpoint(path, kind=kind), pick_device() if device is None else device)
