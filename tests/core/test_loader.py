"""One loader for every checkpoint kind (model.core.loader): what a bundle carries, and how it fails."""
import pytest
import torch

from model.caption.encoder import Preprocessing as CaptionPreprocessing
from model.core import assets
from model.core.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from model.core.loader import load
from model.stn.net import Preprocessing as STNPreprocessing
from model.translate.text import Preprocessing as TranslatePreprocessing

SHIPPED = {"captioner": assets.SHIPPED / "captioner_soft.pt",
           "translator": assets.SHIPPED / "translator_fr-en_additive.pt",
           "stn": assets.SHIPPED / "stn_rts.pt"}


@pytest.mark.parametrize("kind", SHIPPED)
def test_every_shipped_kind_loads_into_a_ready_bundle(kind):
    bundle = load(SHIPPED[kind], "cpu")
    assert bundle.kind == kind and bundle.device == torch.device("cpu")
    assert not bundle.model.training  # ready to run: eval mode
    assert bundle.metrics == load_checkpoint(SHIPPED[kind]).metrics and bundle.name == SHIPPED[kind].stem
    if kind == "captioner":
        assert isinstance(bundle.preprocessing, CaptionPreprocessing) and bundle.preprocessing.image_size == 224
        assert len(bundle.vocab["words"]) == bundle.model.config.vocab_size
    elif kind == "translator":
        assert isinstance(bundle.preprocessing, TranslatePreprocessing)
        assert bundle.preprocessing.tokenize("J'ai faim.") == ["j'", "ai", "faim", "."]
        assert len(bundle.vocab["src"]) == bundle.model.config.src_vocab_size
    else:  # the STN's preprocessing is data too, read from the file (older files: from their config)
        assert isinstance(bundle.preprocessing, STNPreprocessing)
        assert bundle.preprocessing.input_size == bundle.model.cfg.input_size == 42 and bundle.vocab == {}


def test_a_kind_no_family_knows_and_the_wrong_kind_are_named(tmp_path):
    path = tmp_path / "odd.pt"
    save_checkpoint(path, Checkpoint(kind="toaster", config={}, state_dict={"w": torch.zeros(2)}))
    with pytest.raises(CheckpointError, match=r"odd\.pt.*'toaster'.*captioner"):
        load(path, "cpu")
    with pytest.raises(CheckpointError, match="expected 'stn'"):
        load(SHIPPED["translator"], "cpu", kind="stn")


def test_a_preprocessing_this_code_does_not_understand_is_a_checkpoint_error(tmp_path):
    ckpt = load_checkpoint(SHIPPED["stn"])
    ckpt.preprocessing = {"input_size": 42, "colour": "purple"}
    save_checkpoint(tmp_path / "stn.pt", ckpt)
    with pytest.raises(CheckpointError, match=r"stn\.pt: preprocessing not understood"):
        load(tmp_path / "stn.pt", "cpu")


def test_the_assets_folder_can_be_moved_by_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(assets.ASSETS_ENV, raising=False)
    assert assets.translator("dot") == assets.SHIPPED / "translator_fr-en_dot.pt"
    monkeypatch.setenv(assets.ASSETS_ENV, str(tmp_path))
    assert assets.captioner("hard") == tmp_path / "captioner_hard.pt"
    assert assets.stn("rts", baseline=True) == tmp_path / "stn_rts_cnn.pt"
    assert assets.translator("additive", protocol="tutorial") == tmp_path / "translator_fr-en_additive_tutorial.pt"
