"""ST-CNN (Jaderberg et al. 2015) and its plain CNN baseline, the θ helpers both the models and
the app use, and the preprocessing every STN checkpoint carries.

The transformer reads the raw image, pixels in [0, 1] with background 0: grid_sample pads
with zeros, so a point sampled outside the image looks like background. Normalising first
(x - mean) / std would make the padding darker than the background and teach the
transformer to zoom out; the classifier's batch norm does the normalising after sampling.

    image (S×S) -> Localiser -> θ (2×3) -> affine_grid + grid_sample -> (s×s) -> Classifier
"""
import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from model.core.checkpoint import Checkpoint, config_from, load_weights

ALIGN_CORNERS = False  # -1 and +1 are the outer edges of the edge pixels, so identity θ returns the input
IDENTITY = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


@dataclass
class STNConfig:
    input_size: int = 42        # side of the square input (28 for r/p/e, 42 rts, 60 cluttered)
    output_size: int = 28       # side of the transformer's output, the classifier's input
    transformer: bool = True    # False: the CNN baseline, the same classifier on the whole input
    loc_downsample: int = 2     # the localiser sees an average-pooled copy: enough to find and frame a digit
    loc_channels: int = 20
    loc_hidden: int = 64
    channels: int = 16          # classifier widths c, 2c, 2c: small, to train on a shared CPU
    hidden: int = 128
    dropout: float = 0.3
    n_classes: int = 10


@dataclass(frozen=True)
class Preprocessing:
    """What the model's input is, and how a photo is made to look like it (model.stn.pipeline.prepare).

    Input: input_size × input_size grey, pixels/255 in [0, 1], white ink on a black background of
    ``background`` (the value grid_sample pads with). A photo is made grey, inverted when its border
    is light, stretched so its background goes to 0 and its ``ink_percentile`` level to 1, padded to a
    square (with a margin when the ink would fill more than ``max_ink`` of the side, as no training
    digit does) and resized by area averaging. No mean/std normalisation before the transformer: the
    classifier's batch norm does it after sampling.
    """
    input_size: int = 42
    background: float = 0.0
    ink_percentile: float = 99.5
    max_ink: float = 0.6  # upright RTS digits fill 0.33-0.57 of the side

    @classmethod
    def from_dict(cls, d: dict, input_size: int) -> "Preprocessing":
        if "input_size" not in d:  # files written before this class describe the same steps in prose
            return cls(input_size=input_size, background=d.get("background", cls.background))
        return cls(**d)

    def to_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------------------- θ helpers

def sample(images: torch.Tensor, theta: torch.Tensor, out_hw: tuple[int, int]) -> torch.Tensor:
    """Resample (N, C, H, W) images on the grid θ (N, 2, 3) lays over them; out (N, C, *out_hw)."""
    grid = F.affine_grid(theta, (images.shape[0], images.shape[1], *out_hw), align_corners=ALIGN_CORNERS)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=ALIGN_CORNERS)


def theta_from_params(rotation_deg=0.0, scale_x=1.0, scale_y=1.0, shear=0.0, tx=0.0, ty=0.0,
                      in_hw=(1, 1), out_hw=None) -> torch.Tensor:
    """θ (2, 3) from a transform written in pixels, so a rotation stays a rotation on a wide image.

    The map from output to input pixels (both relative to the image centre) is
    A = R(rotation) · [[1, shear], [0, 1]] · diag(scale_x, scale_y); scales above 1 sample a larger
    area (zoom out). θ is A seen in normalised coordinates: diag(2/W_in, 2/H_in) A diag(W_out/2, H_out/2).
    tx, ty shift the sampled area by that fraction of the input's half-width and half-height.
    """
    out_hw = out_hw or in_hw
    a = math.radians(rotation_deg)
    d = lambda x, y: torch.diag(torch.tensor([x, y], dtype=torch.float64))
    rot = torch.tensor([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]], dtype=torch.float64)
    shear_m = torch.tensor([[1.0, shear], [0.0, 1.0]], dtype=torch.float64)
    lin = d(1 / in_hw[1], 1 / in_hw[0]) @ rot @ shear_m @ d(scale_x, scale_y) @ d(out_hw[1], out_hw[0])
    return torch.cat([lin, torch.tensor([[tx], [ty]], dtype=torch.float64)], 1).float()


# ---------------------------------------------------------------------------- the networks

class Localiser(nn.Module):
    """Image -> θ. The last layer starts at zero weights and identity bias: training begins
    from "look at the whole image" and the classifier gets a sensible input from step one."""

    def __init__(self, cfg: STNConfig):
        super().__init__()
        c = cfg.loc_channels
        self.features = nn.Sequential(
            nn.AvgPool2d(cfg.loc_downsample),
            nn.Conv2d(1, c, 5, padding=2), nn.MaxPool2d(2), nn.ReLU(),
            nn.Conv2d(c, c, 5, padding=2), nn.MaxPool2d(2), nn.ReLU(),
            nn.Flatten())
        n = self.features(torch.zeros(1, 1, cfg.input_size, cfg.input_size)).shape[1]
        self.head = nn.Sequential(nn.Linear(n, cfg.loc_hidden), nn.ReLU(), nn.Linear(cfg.loc_hidden, 6))
        nn.init.zeros_(self.head[-1].weight)
        with torch.no_grad():
            self.head[-1].bias.copy_(torch.tensor(IDENTITY))

    def forward(self, x):
        return self.head(self.features(x)).view(-1, 2, 3)


def conv_block(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class Classifier(nn.Module):
    """Three conv blocks and two linear layers. The adaptive pool makes the weights independent
    of the input size, so the baseline runs the very same network on the whole input."""

    def __init__(self, cfg: STNConfig):
        super().__init__()
        c = cfg.channels
        self.features = nn.Sequential(
            conv_block(1, c), nn.MaxPool2d(2),
            conv_block(c, 2 * c), nn.MaxPool2d(2),
            conv_block(2 * c, 2 * c), nn.AdaptiveMaxPool2d(3), nn.Flatten())
        self.head = nn.Sequential(nn.Dropout(cfg.dropout), nn.Linear(2 * c * 9, cfg.hidden), nn.ReLU(),
                                  nn.Dropout(cfg.dropout), nn.Linear(cfg.hidden, cfg.n_classes))

    def forward(self, x):
        return self.head(self.features(x))


class STCNN(nn.Module):
    """With cfg.transformer the ST-CNN; without it the CNN baseline (no localiser at all)."""

    def __init__(self, cfg: STNConfig):
        super().__init__()
        self.cfg = cfg
        self.localiser = Localiser(cfg) if cfg.transformer else None
        self.classifier = Classifier(cfg)

    def transform(self, x):
        """(N, 1, S, S) raw images -> (θ (N, 2, 3), transformed (N, 1, s, s)). The baseline:
        identity θ and the input itself."""
        if self.localiser is None:
            return torch.tensor(IDENTITY, device=x.device).view(1, 2, 3).expand(len(x), 2, 3), x
        theta = self.localiser(x)
        return theta, sample(x, theta, (self.cfg.output_size, self.cfg.output_size))

    def forward(self, x):
        return self.classifier(self.transform(x)[1])


def weights(model: nn.Module) -> dict:
    """The state dict to save: without batch norm's num_batches_tracked counters, which these
    layers never read (their momentum is fixed) and whose 0-d tensors the checkpoint hash
    cannot take. load_state_dict fills them back in."""
    return {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}


def from_checkpoint(ckpt: Checkpoint) -> tuple[STCNN, Preprocessing]:
    """The ST-CNN (or baseline) an STN checkpoint holds and its input preprocessing
    (model.core.loader calls this for kind 'stn')."""
    cfg = config_from(STNConfig, ckpt)
    return load_weights(STCNN(cfg), ckpt), Preprocessing.from_dict(ckpt.preprocessing, cfg.input_size)
