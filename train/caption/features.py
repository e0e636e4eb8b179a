"""Cache the frozen encoder's features for every Flickr8k image (resumable).

    python -m train.caption.features --data ../shared/data/flickr8k --arch efficientnet-lite2
"""
import argparse
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from model.caption.encoder import ARCHS, PREPROCESSING, Encoder, Preprocessing
from model.core.device import pick_device
from train.caption.data import default_cache


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="Flickr8k folder with images/")
    p.add_argument("--arch", choices=tuple(ARCHS), default=PREPROCESSING.arch)
    p.add_argument("--features", help="cache folder (default cache/flickr8k-<arch>)")
    p.add_argument("--batch", type=int, default=16)
    args = p.parse_args(argv)

    images = Path(args.data) / "images"
    names = sorted(f.name for f in images.iterdir() if f.suffix.lower() in (".jpg", ".jpeg", ".png"))
    pre = Preprocessing(arch=args.arch)
    out = Path(args.features) if args.features else default_cache(args.arch)
    out.mkdir(parents=True, exist_ok=True)
    progress = out / "progress.json"
    done = 0
    same = (progress.is_file() and json.loads((out / "names.json").read_text()) == names
            and json.loads((out / "preprocessing.json").read_text()) == pre.to_dict())
    if same:  # resume
        done = json.loads(progress.read_text())["done"]
        mode = "r+"
    else:
        (out / "names.json").write_text(json.dumps(names))
        mode = "w+"
    n = len(names)
    fine_dim, coarse_dim = pre.feature_dims
    fine = np.lib.format.open_memmap(out / "fine.npy", mode, np.float16, (n, pre.grid ** 2, fine_dim))
    coarse = np.lib.format.open_memmap(out / "coarse.npy", mode, np.float16, (n, (pre.grid // 2) ** 2, coarse_dim))
    (out / "preprocessing.json").write_text(json.dumps(pre.to_dict(), indent=1))

    device = pick_device()
    encoder = Encoder(pre).to(device)
    with tqdm(total=n, initial=done, desc="encoding", unit="img") as bar:
        for start in range(done, n, args.batch):
            batch = names[start:start + args.batch]
            x = torch.stack([pre.image_tensor(np.asarray(Image.open(images / b).convert("RGB")))
                             for b in batch]).to(device)
            with torch.no_grad():
                f, c = encoder(x)
            fine[start:start + len(batch)] = f.flatten(2).transpose(1, 2).half().cpu().numpy()
            coarse[start:start + len(batch)] = c.flatten(2).transpose(1, 2).half().cpu().numpy()
            if (start // args.batch) % 20 == 0 or start + len(batch) >= n:
                fine.flush(), coarse.flush()
                progress.write_text(json.dumps({"done": start + len(batch)}))
            bar.update(len(batch))
    fine.flush(), coarse.flush()
    progress.write_text(json.dumps({"done": n}))


if __name__ == "__main__":
    main()
