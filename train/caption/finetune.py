"""Fine-tuning the encoder's upper blocks with the decoder, on the CPU.

The blocks below the first fine-tuned one (``--finetune-from N``) stay the weight package's, so their
output, the input of block N, is computed once per image and kept on disk in fp16 with a second copy
for the horizontally flipped image (augmentation that costs nothing per epoch). Training then runs
only blocks N.. + head (``Captioner.top``, batch-norm statistics frozen) and the decoder. For Lite0 and
N = 8: 80 × 14 × 14 values per image and copy, 2 × 31 KB; 6,000 training + 1,000 validation images
are ~440 MB (validation needs no flipped copy but keeps the layout).

    acts.npy (N, 2, C, S, S) fp16: [image, flipped image]; names.json; meta.json (preprocessing, block);
    progress.json {"done": k} after each chunk, so an interrupted cache build continues where it stopped.
"""
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from model.caption.encoder import Encoder, Preprocessing, annotations


def default_activations(arch: str, block: int) -> Path:
    return Path("cache") / f"flickr8k-{arch}-below{block}"


class ActivationCache:
    """The input of block ``block`` for every image of ``names`` and its mirror image, built on first use."""

    def __init__(self, root, data_dir, names: list[str], pre: Preprocessing, block: int, chunk: int = 32):
        self.root, self.block = Path(root), block
        self.root.mkdir(parents=True, exist_ok=True)
        meta = {"preprocessing": pre.to_dict(), "block": block}
        if (self.root / "names.json").is_file():
            if json.loads((self.root / "names.json").read_text()) != names or \
                    json.loads((self.root / "meta.json").read_text()) != meta:
                raise SystemExit(f"{self.root} holds other images or another encoder cut; remove it or pick "
                                 "another --activations folder")
        else:
            (self.root / "names.json").write_text(json.dumps(names))
            (self.root / "meta.json").write_text(json.dumps(meta))
        self.names, self.index = names, {n: i for i, n in enumerate(names)}
        progress = self.root / "progress.json"
        done = json.loads(progress.read_text())["done"] if progress.is_file() else 0
        if done < len(names):
            self._build(data_dir, pre, done, chunk)
        self.acts = np.load(self.root / "acts.npy", mmap_mode="r")

    @torch.no_grad()
    def _build(self, data_dir, pre: Preprocessing, done: int, chunk: int):
        encoder = Encoder(pre)
        shape = encoder.lower(torch.zeros(1, 3, pre.image_size, pre.image_size), self.block).shape[1:]
        path = self.root / "acts.npy"
        acts = (np.lib.format.open_memmap(path, mode="r+") if done else
                np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=(len(self.names), 2, *shape)))
        bar = tqdm(total=len(self.names), initial=done, desc=f"activations below block {self.block}", mininterval=10)
        for i in range(done, len(self.names), chunk):
            x = torch.stack([pre.image_tensor(np.asarray(Image.open(Path(data_dir) / "images" / n).convert("RGB")))
                             for n in self.names[i:i + chunk]])
            both = encoder.lower(torch.stack([x, x.flip(-1)], 1).flatten(0, 1), self.block)
            acts[i:i + len(x)] = both.unflatten(0, (len(x), 2)).half().numpy()
            acts.flush()
            (self.root / "progress.json").write_text(json.dumps({"done": i + len(x)}))
            bar.update(len(x))
        bar.close()
        del acts

    def load(self, names: list[str], flip: torch.Tensor | None = None) -> torch.Tensor:
        """(B, C, S, S) fp16 activations; ``flip`` (B,) bool picks the mirror image's copy."""
        rows = np.array([self.index[n] for n in names])
        copy = np.zeros(len(rows), dtype=int) if flip is None else flip.numpy().astype(int)
        return torch.from_numpy(np.ascontiguousarray(self.acts[rows, copy]))


def top_features(model, acts: torch.Tensor, device) -> torch.Tensor:
    """Annotations (B, N, D) from cached activations through the model's own upper blocks."""
    return annotations(*model.top(acts.to(device).float()))
