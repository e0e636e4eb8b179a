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


def translator(score: str, direction: str = "fr-en", protocol: str = "ours") -> Path:
    """``score``: one of model.core.attention.SCORES; the tutorial protocol's reproduction has a suffix."""
    return assets_dir() / f"translator_{direction}_{score}{'_tutorial' if protocol == 'tutorial' else ''}.pt"


def stn(variant: str, baseline: bool = False) -> Path:
    """The ST-CNN of a distorted-MNIST ``variant``, or (``baseline``) its plain CNN."""
    return assets_dir() / f"stn_{variant}{'_cnn' if baseline else ''}.pt"
