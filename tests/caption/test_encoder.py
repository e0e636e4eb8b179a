"""The captioner's image encoders: the packaged ImageNet weights load into the right layers."""
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from model.caption.encoder import ARCHS, Encoder, Preprocessing, annotations

GRACE_HOPPER = Path(__file__).resolve().parents[2] / "assets" / "samples" / "grace_hopper.jpg"
MILITARY_UNIFORM = 652  # ImageNet class of this photo


@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_encoder_recognises_imagenet_photo_and_gives_a_14x14_grid(arch):
    pre = Preprocessing(arch=arch)
    encoder = Encoder(pre)
    x = pre.image_tensor(np.asarray(Image.open(GRACE_HOPPER).convert("RGB")))[None]
    assert encoder.imagenet_logits(x).argmax().item() == MILITARY_UNIFORM
    with torch.no_grad():
        ann = annotations(*encoder(x))
    assert ann.shape == (1, pre.grid ** 2, pre.feature_dim)
