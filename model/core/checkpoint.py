"""One checkpoint format for every model.

A checkpoint is a plain dict that ``torch.load(weights_only=True)`` can read
(no pickled classes), so a shipped file can never run code on load:

    format         "attention-lens/1"
    kind           "captioner" | "translator" | "stn" | ...
    config         the model's config dataclass, as a dict
    state_dict     the weights (fp16 allowed; they are cast back on load)
    vocab          token lists (or None)
    preprocessing  what inputs must look like (sizes, normalisation, tokenizer)
    data           what it was trained on, and the terms of that data
    metrics        measured numbers
    extra          anything else the training run needs to resume (optimizer...)
    sha256         of the weights, checked on every load

Every failure raises ``CheckpointError`` naming the file and what is wrong.
"""
import dataclasses
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

FORMAT = "attention-lens/1"
REQUIRED = ("format", "kind", "config", "state_dict", "sha256")


class CheckpointError(RuntimeError):
    def __init__(self, path, reason: str):
        self.path, self.reason = str(path), reason
        super().__init__(f"checkpoint {self.path}: {reason}")


@dataclass
class Checkpoint:
    kind: str
    config: dict
    state_dict: dict
    vocab: dict | None = None
    preprocessing: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    path: str = ""


def weights_sha256(state_dict: dict) -> str:
    """Hash of names, dtypes, shapes and bytes, independent of how the file was written."""
    h = hashlib.sha256()
    for name in sorted(state_dict):
        t = state_dict[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")  # 0-d too
    return h.hexdigest()


def file_sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fp16(state_dict: dict) -> dict:
    """Floating-point weights in fp16, as shipped files hold them (half the size); loading casts them
    back to the model's fp32, so scoring ``fp16(weights)`` scores the file a user gets."""
    return {k: v.half() if v.is_floating_point() else v for k, v in state_dict.items()}


def save_checkpoint(path, ckpt: Checkpoint, *, half: bool = False) -> str:
    """Write atomically (temp file + rename) so a killed run never leaves half a file."""
    sd = {k: v.detach().cpu() for k, v in ckpt.state_dict.items()}
    if half:
        sd = fp16(sd)
    blob = {
        "format": FORMAT, "kind": ckpt.kind,
        "config": dataclasses.asdict(ckpt.config) if dataclasses.is_dataclass(ckpt.config) else dict(ckpt.config),
        "state_dict": sd, "vocab": ckpt.vocab, "preprocessing": ckpt.preprocessing,
        "data": ckpt.data, "metrics": ckpt.metrics, "extra": ckpt.extra,
        "sha256": weights_sha256(sd),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(blob, tmp)
    os.replace(tmp, path)
    return blob["sha256"]


def load_checkpoint(path, kind: str | None = None, map_location="cpu") -> Checkpoint:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "file not found")
    try:
        blob = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # zip/pickle errors differ by torch version; all mean "not readable"
        # torch's own message is pages of advice about weights_only; the type says enough
        raise CheckpointError(path, f"not a readable checkpoint (corrupt or truncated?), {type(e).__name__}; "
                                    "use a file written by attention-lens") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise CheckpointError(path, f"not an attention-lens checkpoint (expected format {FORMAT!r})")
    missing = [k for k in REQUIRED if k not in blob]
    if missing:
        raise CheckpointError(path, f"missing fields: {', '.join(missing)}")
    if kind is not None and blob["kind"] != kind:
        raise CheckpointError(path, f"holds a {blob['kind']!r} model, expected {kind!r}")
    if weights_sha256(blob["state_dict"]) != blob["sha256"]:
        raise CheckpointError(path, "weights do not match their recorded sha256 (file altered or damaged)")
    return Checkpoint(kind=blob["kind"], config=blob["config"], state_dict=blob["state_dict"],
                      vocab=blob.get("vocab"), preprocessing=blob.get("preprocessing") or {},
                      data=blob.get("data") or {}, metrics=blob.get("metrics") or {},
                      extra=blob.get("extra") or {}, path=str(path))


def load_weights(module: torch.nn.Module, ckpt: Checkpoint) -> torch.nn.Module:
    """Load a checkpoint's weights into a built module, in the module's own dtype."""
    own = module.state_dict()
    sd = {k: v.to(own[k].dtype) if k in own else v for k, v in ckpt.state_dict.items()}
    try:
        module.load_state_dict(sd)
    except RuntimeError as e:
        raise CheckpointError(ckpt.path, f"weights do not fit the model: {e}") from None
    return module


def config_from(cls, ckpt: Checkpoint):
    """Rebuild a config dataclass, naming unknown fields instead of a bare TypeError."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(ckpt.config) - names)
    if unknown:
        raise CheckpointError(ckpt.path, f"config has fields {cls.__name__} does not know: {', '.join(unknown)}")
    return cls(**ckpt.config)


def model_card(ckpt: Checkpoint, title: str, notes: str = "") -> str:
    """A Markdown model card from the checkpoint itself, so card and weights cannot drift."""
    def table(d):
        return "\n".join(f"| {k} | {v} |" for k, v in d.items()) or "| (none) | |"
    lines = [f"# {title}", "", notes, "",
             f"- file: `{Path(ckpt.path).name}`", f"- file sha256: `{file_sha256(ckpt.path)}`",
             f"- weights sha256: `{weights_sha256(ckpt.state_dict)}`",
             f"- parameters: {sum(t.numel() for t in ckpt.state_dict.values()):,}", "",
             "## Metrics", "", "| metric | value |", "|---|---|", table(ckpt.metrics), "",
             "## Data", "", "| | |", "|---|---|", table(ckpt.data), "",
             "## Preprocessing", "", "| | |", "|---|---|", table(ckpt.preprocessing), "",
             "## Config", "", "| | |", "|---|---|", table(ckpt.config), ""]
    if ckpt.vocab:
        lines += ["## Vocabulary", ""]
        for name, tokens in ckpt.vocab.items():
            lines.append(f"- {name}: {len(tokens)} tokens; first: {' '.join(map(str, tokens[:12]))}")
    return "\n".join(lines) + "\n"

