import json

import numpy as np
import pytest
from PIL import Image

COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (30, 40, 220)}


@pytest.fixture(scope="session")
def tiny_flickr(tmp_path_factory):
    """A Flickr8k-shaped folder: 12 images of coloured squares, 5 captions each, train/val/test split."""
    root = tmp_path_factory.mktemp("flickr")
    (root / "images").mkdir()
    rng = np.random.default_rng(0)
    rows, names = ["image\tindex\tcaption"], []
    for i in range(12):
        colour = list(COLOURS)[i % 3]
        img = np.full((64, 96, 3), 240, np.uint8)
        y, x = rng.integers(0, 32), rng.integers(0, 64)
        img[y:y + 32, x:x + 32] = COLOURS[colour]
        name = f"{i:04d}_tiny.jpg"
        Image.fromarray(img).save(root / "images" / name, quality=90)
        names.append(name)
        for k in range(5):
            rows.append(f"{name}\t{k}\tA {colour} square on a white wall .")
    (root / "captions.tsv").write_text("\n".join(rows) + "\n")
    (root / "splits.json").write_text(json.dumps({"train": names[:8], "val": names[8:10], "test": names[10:]}))
    return root
