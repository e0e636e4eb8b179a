"""Where shipped checkpoints live, and the one place that names their files.

The folder is ``assets/`` next to the code, or $ATTENTION_LENS_ASSETS (for a folder of freshly
trained models, or a test's tiny ones); the app, the command lines and the evaluators all ask here.
"""
import os
from pathlib import Path

ASSETS_ENV = "ATTENTION_LENS_ASSETS"
ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "assets"  # where the repository keeps its shipped models, cards and samples
SAMPLES = SHIPPED / "samples"


def assets_dir() -> Path:
    folder = os.environ.get(ASSETS_ENV, "").strip()
    return Path(folder).expanduser() if folder else SHIPPED


def captioner(attention: str) -> Path:
    """``attention``: soft or hard."""
    return assets_dir() / f"captioner_{attention}.pt"


# Every translator that can be shipped, by name: the GRU models by their attention score function
# (model.core.attention.SCORES), then the Transformer (model.translate.transformer).
TRANSLATORS = ("dot", "general", "concat", "additive", "transformer")


def translator(name: str, direction: str = "fr-en", protocol: str = "ours") -> Path:
    """``name``: one of TRANSLATORS; the tutorial protocol's reproduction has a suffix."""
    if name not in TRANSLATORS:
        raise ValueError(f"unknown translator {name!r}; choose one of {', '.join(TRANSLATORS)}")
    return assets_dir() / f"translator_{direction}_{name}{'_tutorial' if protocol == 'tutorial' else ''}.pt"


def stn(variant: str, baseline: bool = False) -> Path:
    """The ST-CNN of a distorted-MNIST ``variant``, or (``baseline``) its plain CNN."""
    return assets_dir() / f"stn_{variant}{'_cnn' if baseline else ''}.pt"
